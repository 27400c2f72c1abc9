/* test_uselite.c: the USE-lite forward pass against the vectors its own
 * JavaScript runtime produced ($VS_DATA/golden/use-lite-vectors.jsonl):
 * every vector must have cosine > 0.9999 to ours. Skipped when the model
 * has not been fetched (scripts/get-model.sh use-lite). */
#include "test.h"
#include "vs_uselite.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static void model_dir(char *dir, size_t n)
{
    const char *md = getenv("VS_MODEL_DIR"), *home = getenv("HOME");
    if (md && *md)
        snprintf(dir, n, "%s/use-lite", md);
    else
        snprintf(dir, n, "%s/.cache/vecstore/models/use-lite", home ? home : ".");
}

static void test_missing(void)
{
    struct vs_uselite *m = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_uselite_open("/nonexistent-dir", &m, &d), VS_E_IO);
    CHECK(m == NULL);
    vs_uselite_free(NULL);
}

static void test_golden(void)
{
    char dir[1024], json_path[1100], golden[1024];
    model_dir(dir, sizeof dir);
    snprintf(json_path, sizeof json_path, "%s/model.json", dir);
    snprintf(golden, sizeof golden, "%s/golden/use-lite-vectors.jsonl", vs_test_data());
    if (access(json_path, R_OK) != 0)
        SKIP("no use-lite model (scripts/get-model.sh use-lite)");
    if (access(golden, R_OK) != 0)
        SKIP("no $VS_DATA/golden/use-lite-vectors.jsonl");
    struct vs_uselite *m = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_uselite_open(dir, &m, &d), VS_OK);
    if (!m) {
        printf("#   %s\n", d.detail);
        return;
    }
    FILE *fp = fopen(golden, "r");
    CHECK(fp != NULL);
    char line[1 << 16];
    int count = 0;
    double worst = 1;
    while (fp && fgets(line, sizeof line, fp)) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        json_t *t = json_object_get(o, "text"), *want = json_object_get(o, "vector");
        CHECK_EQ_INT(json_array_size(want), VS_USELITE_DIM);
        float v[VS_USELITE_DIM];
        CHECK_EQ_INT(vs_uselite_embed(m, json_string_value(t), json_string_length(t), v,
                                      NULL),
                     VS_OK);
        double dot = 0, na = 0, nb = 0;
        for (size_t i = 0; i < VS_USELITE_DIM && i < json_array_size(want); i++) {
            double w = json_real_value(json_array_get(want, i));
            dot += w * v[i];
            na += w * w;
            nb += (double)v[i] * v[i];
        }
        double c = dot / (sqrt(na) * sqrt(nb) + 1e-30);
        if (c <= 0.9999)
            printf("#   cosine %.6f for %s", c, line);
        if (c < worst)
            worst = c;
        json_decref(o);
        count++;
    }
    if (fp)
        fclose(fp);
    printf("#   worst cosine %.9f over %d texts\n", worst, count);
    CHECK_EQ_INT(count, 49);
    CHECK(worst > 0.9999);
    vs_uselite_free(m);
}

int main(void)
{
    RUN(test_missing);
    RUN(test_golden);
    return vs_test_done();
}
