/* test_uselite.c: the USE-lite forward pass against the vectors its own
 * JavaScript runtime produced ($VS_DATA/golden/use-lite-vectors.jsonl):
 * every vector must have cosine > 0.9999 to ours. Skipped when the model
 * has not been fetched (scripts/get-model.sh use-lite). */
#include "test.h"
#include "vs_sentencepiece.h"
#include "vs_uselite.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

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

/* A batch (packed groups spread over the threads) gives each text the
 * vector the one-text pass gives (to float rounding: the products run on
 * other matrix shapes), and the same bits at 1 and 2 threads. The golden
 * texts, each repeated with a longer variant so groups hold several
 * sequences and some hit the 128-token limit. */
static void test_batch(void)
{
    char dir[1024], path[1100], golden[1024];
    model_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/vocab.json", dir);
    snprintf(golden, sizeof golden, "%s/golden/use-lite-vectors.jsonl", vs_test_data());
    if (access(path, R_OK) != 0)
        SKIP("no use-lite model (scripts/get-model.sh use-lite)");
    if (access(golden, R_OK) != 0)
        SKIP("no $VS_DATA/golden/use-lite-vectors.jsonl");
    struct vs_uselite *m = NULL;
    struct vs_sentencepiece *sp = NULL;
    CHECK_EQ_INT(vs_uselite_open(dir, &m, NULL), VS_OK);
    CHECK_EQ_INT(vs_sentencepiece_open(path, &sp, NULL), VS_OK);
    FILE *fp = fopen(golden, "r");
    CHECK(fp != NULL);
    if (!m || !sp || !fp) {
        vs_uselite_free(m);
        vs_sentencepiece_free(sp);
        if (fp)
            fclose(fp);
        return;
    }
    enum { N = 98 };
    int32_t *ids[N] = {0};
    size_t lens[N] = {0}, n = 0;
    char line[1 << 16], text[1 << 15];
    while (n + 2 <= N && fgets(line, sizeof line, fp)) {
        json_t *o = json_loads(line, 0, NULL);
        const char *t = json_string_value(json_object_get(o, "text"));
        CHECK(t != NULL);
        size_t tl = strlen(t ? t : "");
        CHECK_EQ_INT(vs_sentencepiece_encode(sp, t, tl, &ids[n], &lens[n], NULL), VS_OK);
        n++;
        size_t k = 0; /* the text repeated up to ~1,200 bytes */
        while (tl && k + tl + 1 < 1200) {
            memcpy(text + k, t, tl);
            text[k + tl] = ' ';
            k += tl + 1;
        }
        CHECK_EQ_INT(vs_sentencepiece_encode(sp, text, k ? k - 1 : 0, &ids[n], &lens[n], NULL), VS_OK);
        n++;
        json_decref(o);
    }
    fclose(fp);
    CHECK_EQ_INT(n, N);
    static float one[N][VS_USELITE_DIM], b1[N][VS_USELITE_DIM], b2[N][VS_USELITE_DIM];
    int longest = 0;
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ_INT(vs_uselite_forward(m, ids[i], lens[i], one[i]), VS_OK);
        longest = lens[i] > 128 ? 1 : longest;
    }
    CHECK(longest);
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
    CHECK_EQ_INT(vs_uselite_forward_batch(m, n, (const int32_t *const *)ids, lens, &b1[0][0]), VS_OK);
#ifdef _OPENMP
    omp_set_num_threads(2);
#endif
    CHECK_EQ_INT(vs_uselite_forward_batch(m, n, (const int32_t *const *)ids, lens, &b2[0][0]), VS_OK);
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < VS_USELITE_DIM; j++) {
            double e = fabs((double)one[i][j] - b1[i][j]);
            worst = e > worst ? e : worst;
        }
    printf("#   batch of %zu against one at a time: max |diff| %.3g\n", n, worst);
    CHECK(worst < 1e-5);
    CHECK(memcmp(b1, b2, sizeof b1) == 0);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    vs_sentencepiece_free(sp);
    vs_uselite_free(m);
}

int main(void)
{
    RUN(test_missing);
    RUN(test_golden);
    RUN(test_batch);
    return vs_test_done();
}
