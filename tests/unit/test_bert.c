/* test_bert.c: the safetensors reader and the BERT encoder (against the
 * numpy reference tests/bert_ref.py on a random-weight model that
 * tests/make_tiny_bert.py writes). */
#include "test.h"
#include "vs_bert.h"
#include "vs_safetensors.h"

#include <jansson.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (fp) {
        fwrite(p, 1, n, fp);
        fclose(fp);
    }
}

/* A safetensors file with header json and data bytes. */
static void write_st(const char *path, const char *json, const void *data,
                     size_t n)
{
    size_t hl = strlen(json);
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)(hl >> (8 * i));
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return;
    fwrite(len, 1, 8, fp);
    fwrite(json, 1, hl, fp);
    fwrite(data, 1, n, fp);
    fclose(fp);
}

static void test_safetensors(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/a.safetensors", tmpdir);
    /* a: F32 [2,3] = 0..5; h: F16 [4] = 1, -2, 0.5, 65504; b: BF16 [1] = 3 */
    unsigned char data[24 + 8 + 2];
    for (int i = 0; i < 6; i++) {
        float f = (float)i;
        memcpy(data + 4 * i, &f, 4);
    }
    uint16_t h[4] = {0x3c00, 0xc000, 0x3800, 0x7bff};
    memcpy(data + 24, h, 8);
    uint16_t bf = 0x4040;
    memcpy(data + 32, &bf, 2);
    write_st(path,
             "{\"__metadata__\":{\"format\":\"pt\"},"
             "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
             "\"h\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[24,32]},"
             "\"b\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[32,34]}}",
             data, sizeof data);
    struct vs_safetensors *st = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_safetensors_open(path, &st, &d), VS_OK);
    if (!st)
        return;
    size_t dims[8];
    CHECK_EQ_INT(vs_safetensors_shape(st, "a", dims), 2);
    CHECK(dims[0] == 2 && dims[1] == 3);
    CHECK_EQ_INT(vs_safetensors_shape(st, "nope", dims), -1);
    float *f = NULL;
    size_t want[2] = {2, 3};
    CHECK_EQ_INT(vs_safetensors_load_f32(st, "a", 2, want, &f, &d), VS_OK);
    CHECK(f && f[0] == 0 && f[5] == 5);
    free(f);
    size_t w4 = 4, w1 = 1, w3[1] = {3};
    CHECK_EQ_INT(vs_safetensors_load_f32(st, "h", 1, &w4, &f, &d), VS_OK);
    CHECK(f && f[0] == 1.0f && f[1] == -2.0f && f[2] == 0.5f && f[3] == 65504.0f);
    free(f);
    CHECK_EQ_INT(vs_safetensors_load_f32(st, "b", 1, &w1, &f, &d), VS_OK);
    CHECK(f && f[0] == 3.0f);
    free(f);
    CHECK_EQ_INT(vs_safetensors_load_f32(st, "h", 1, w3, &f, &d), VS_E_DATA);
    CHECK_EQ_INT(vs_safetensors_load_f32(st, "zz", 1, w3, &f, &d), VS_E_NOTFOUND);
    uint64_t sum = vs_safetensors_checksum(st);
    vs_safetensors_close(st);
    CHECK_EQ_INT(vs_safetensors_open(path, &st, &d), VS_OK);
    CHECK(st && vs_safetensors_checksum(st) == sum);
    vs_safetensors_close(st);
    vs_safetensors_close(NULL);

    /* an I64 tensor beside the weights (BERT checkpoints carry
     * "embeddings.position_ids") opens; loading it as float fails */
    write_st(path,
             "{\"p\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
             "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}",
             data, 24);
    CHECK_EQ_INT(vs_safetensors_open(path, &st, &d), VS_OK);
    if (st) {
        size_t w2 = 2;
        CHECK_EQ_INT(vs_safetensors_load_f32(st, "a", 1, &w2, &f, &d), VS_OK);
        CHECK(f && f[0] == 4.0f && f[1] == 5.0f);
        free(f);
        CHECK_EQ_INT(vs_safetensors_load_f32(st, "p", 1, &w2, &f, &d), VS_E_DATA);
        CHECK(strstr(d.detail, "I64") != NULL);
        vs_safetensors_close(st);
    }

    /* malformed files */
    const char *bad[] = {
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,2400]}}",
        "{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,2]}}",
        "{\"a\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,12]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}",
        "[1,2]",
        "{not json",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_st(path, bad[i], data, 24);
        st = NULL;
        CHECK_EQ_INT(vs_safetensors_open(path, &st, &d), VS_E_DATA);
        CHECK(st == NULL);
    }
    unsigned char huge[8] = {0xff, 0xff, 0xff, 0, 0, 0, 0, 0};
    write_file(path, huge, 8);
    CHECK_EQ_INT(vs_safetensors_open(path, &st, &d), VS_E_DATA);
    write_file(path, huge, 3);
    CHECK_EQ_INT(vs_safetensors_open(path, &st, &d), VS_E_DATA);
    CHECK_EQ_INT(vs_safetensors_open("/nonexistent/x.safetensors", &st, &d), VS_E_IO);
    unlink(path);
}

static const char *texts[] = {
    "The boundary layer flow, at Mach 3.",
    "heat transfer",
    "Pressure distribution on a flat plate; shock wave theory (results) for high speed air.",
    "Caf\xc3\xa9 th\xc3\xa9orie: \xc3\x89TUDE of the wing body effects!",
    "x",
    ("The effect of the number of layers on the model of the flow of air over "
     "the wing at high mach number and low pressure"),
};
#define NTEXTS (sizeof texts / sizeof *texts)

/* Make a model with make_tiny_bert.py ARGS, embed texts with it and compare
 * with bert_ref.py to 1e-4. */
static void compare_model(const char *name, const char *args)
{
    if (access("/usr/bin/python3", X_OK) != 0)
        SKIP("no /usr/bin/python3");
    char dir[512], cmd[2048], in[600];
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, name);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/make_tiny_bert.py %s %s",
             dir, args);
    CHECK_EQ_INT(system(cmd), 0);
    snprintf(in, sizeof in, "%s/texts.jsonl", tmpdir);
    FILE *fp = fopen(in, "w");
    for (size_t i = 0; fp && i < NTEXTS; i++) {
        json_t *o = json_pack("{s:s}", "text", texts[i]);
        char *s = json_dumps(o, 0);
        fprintf(fp, "%s\n", s);
        free(s);
        json_decref(o);
    }
    if (fp)
        fclose(fp);
    struct vs_bert *m = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_bert_open(dir, &m, &d), VS_OK);
    if (!m) {
        printf("#   %s\n", d.detail);
        return;
    }
    size_t dim = vs_bert_dim(m), lens[NTEXTS];
    for (size_t i = 0; i < NTEXTS; i++)
        lens[i] = strlen(texts[i]);
    float *out = calloc(NTEXTS * dim, sizeof *out);
    float *one = calloc(dim, sizeof *one);
    int st[NTEXTS], tr[NTEXTS];
    CHECK_EQ_INT(vs_bert_embed(m, "", NTEXTS, texts, lens, out, st, tr), VS_OK);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/bert_ref.py %s < %s", dir, in);
    FILE *ref = popen(cmd, "r");
    CHECK(ref != NULL);
    char line[1 << 16];
    double worst = 0;
    for (size_t i = 0; ref && i < NTEXTS; i++) {
        CHECK_EQ_INT(st[i], VS_OK);
        CHECK(fgets(line, sizeof line, ref) != NULL);
        json_error_t je;
        json_t *r = json_loads(line, 0, &je);
        json_t *v = json_object_get(r, "vector");
        CHECK_EQ_INT(json_array_size(v), dim);
        for (size_t c = 0; c < dim && c < json_array_size(v); c++) {
            double diff = fabs(out[i * dim + c] - json_number_value(json_array_get(v, c)));
            if (diff > worst)
                worst = diff;
        }
        CHECK_EQ_INT(tr[i], json_is_true(json_object_get(r, "truncated")));
        json_decref(r);
        /* one text alone gives the same vector as in the batch */
        CHECK_EQ_INT(vs_bert_embed(m, "", 1, texts + i, lens + i, one, st, tr), VS_OK);
        double d1 = 0;
        for (size_t c = 0; c < dim; c++)
            d1 = fmax(d1, fabs(one[c] - out[i * dim + c]));
        CHECK(d1 < 1e-6);
    }
    if (ref)
        CHECK_EQ_INT(pclose(ref), 0);
    printf("#   %s: max |ours - reference| = %.3g\n", name, worst);
    CHECK(worst <= 1e-4);
    /* empty text and invalid UTF-8 fail alone */
    const char *badt[2] = {"", "bad \xff"};
    size_t badl[2] = {0, 5};
    CHECK_EQ_INT(vs_bert_embed(m, "", 2, badt, badl, out, st, tr), VS_OK);
    CHECK_EQ_INT(st[0], VS_E_FIELD);
    CHECK_EQ_INT(st[1], VS_E_DATA);
    CHECK(out[0] == 0 && out[dim] == 0);
    free(one);
    free(out);
    vs_bert_free(m);
    vs_bert_free(NULL);
}

static void test_bert_f32_mean(void) { compare_model("f32", ""); }
static void test_bert_f16_cls_tanh(void)
{
    compare_model("f16", "--dtype F16 --pooling cls --act gelu_new --prefix bert. "
                         "--layers 3 --heads 2 --hidden 48 --inter 96 --max-seq 16 --seed 5");
}

static void test_bert_bad_folders(void)
{
    struct vs_bert *m = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_bert_open("/nonexistent/model", &m, &d), VS_E_IO);
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/bad", tmpdir);
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/config.json", dir);
    const char *cfg = "{\"model_type\":\"bert\",\"hidden_size\":30,\"num_hidden_layers\":1,"
                      "\"num_attention_heads\":4,\"intermediate_size\":8,\"vocab_size\":10}";
    write_file(path, cfg, strlen(cfg));
    CHECK_EQ_INT(vs_bert_open(dir, &m, &d), VS_E_DATA); /* 30 % 4 != 0 */
    cfg = "{\"model_type\":\"bert\",\"hidden_size\":32,\"num_hidden_layers\":1,"
          "\"num_attention_heads\":4,\"intermediate_size\":8,\"vocab_size\":10,"
          "\"hidden_act\":\"relu\"}";
    write_file(path, cfg, strlen(cfg));
    CHECK_EQ_INT(vs_bert_open(dir, &m, &d), VS_E_UNSUPPORTED);
    write_file(path, "{", 1);
    CHECK_EQ_INT(vs_bert_open(dir, &m, &d), VS_E_DATA);
    CHECK(m == NULL);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vs-test-bert-%ld", (long)getpid());
    mkdir(tmpdir, 0700);
    RUN(test_safetensors);
    RUN(test_bert_f32_mean);
    RUN(test_bert_f16_cls_tanh);
    RUN(test_bert_bad_folders);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", tmpdir);
    return vs_test_done();
}
