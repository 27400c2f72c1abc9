/* test_embed.c: the embedder interface and the hash-v1 embedder. */
#include "test.h"
#include "vs_internal.h"

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

static void test_names_and_identity(void)
{
    struct vs_embedder *e;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_embedder_new("hash", 0, &e, &d), VS_OK);
    CHECK_EQ_STR(vs_embedder_identity(e), "hash-v1:384");
    CHECK_EQ_STR(vs_embedder_name(e), "hash");
    CHECK_EQ_INT(vs_embedder_dim(e), 384);
    vs_embedder_free(e);
    CHECK_EQ_INT(vs_embedder_new("hash-v1:64", 0, &e, &d), VS_OK);
    CHECK_EQ_INT(vs_embedder_dim(e), 64);
    CHECK_EQ_STR(vs_embedder_identity(e), "hash-v1:64");
    vs_embedder_free(e);
    CHECK_EQ_INT(vs_embedder_new("hash-v1:64", 64, &e, &d), VS_OK);
    vs_embedder_free(e);
    CHECK_EQ_INT(vs_embedder_new("hash", 32, &e, &d), VS_OK);
    CHECK_EQ_STR(vs_embedder_identity(e), "hash-v1:32");
    vs_embedder_free(e);
    CHECK_EQ_INT(vs_embedder_new("hash-v1:64", 32, &e, &d), VS_E_USAGE);
    CHECK(e == NULL);
    CHECK_EQ_INT(vs_embedder_new("hash:0", 0, &e, &d), VS_E_USAGE);
    CHECK_EQ_INT(vs_embedder_new("hash:12x", 0, &e, &d), VS_E_USAGE);
    CHECK_EQ_INT(vs_embedder_new("hash", 1000000, &e, &d), VS_E_USAGE);
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_embedder_new("bert-base", 0, &e, &d), VS_E_UNSUPPORTED);
    CHECK_EQ_STR(d.detail, "model 'bert-base' is not available");
    CHECK_EQ_INT(vs_status_exit(VS_E_UNSUPPORTED), 2);
    CHECK_EQ_INT(vs_embedder_new("hash-v2:384", 0, &e, &d), VS_E_UNSUPPORTED);
}

static void test_vectors(void)
{
    struct vs_embedder *e;
    CHECK_EQ_INT(vs_embedder_new("hash", 128, &e, NULL), VS_OK);
    float a[128], b[128], c[128];
    CHECK_EQ_INT(vs_embedder_embed_one(e, "Vector search over documents", a, NULL), VS_OK);
    CHECK_NEAR(dot(a, a, 128), 1.0, 1e-5);
    CHECK_EQ_INT(vs_embedder_embed_one(e, "Vector search over documents", b, NULL), VS_OK);
    CHECK(memcmp(a, b, sizeof a) == 0);
    /* NFKC + case folding: fullwidth capitals and ß fold to the same text */
    CHECK_EQ_INT(vs_embedder_embed_one(e, "ＶＥＣＴＯＲ SEARCH over DOCUMENTS!", c, NULL), VS_OK);
    CHECK_NEAR(dot(a, c, 128), 1.0, 1e-5);
    CHECK_EQ_INT(vs_embedder_embed_one(e, "Straße", a, NULL), VS_OK);
    CHECK_EQ_INT(vs_embedder_embed_one(e, "STRASSE", b, NULL), VS_OK);
    CHECK_NEAR(dot(a, b, 128), 1.0, 1e-5);
    /* related texts are closer than unrelated ones */
    CHECK_EQ_INT(vs_embedder_embed_one(e, "searching vectors of documents", b, NULL), VS_OK);
    CHECK_EQ_INT(vs_embedder_embed_one(e, "Vector search over documents", a, NULL), VS_OK);
    CHECK_EQ_INT(vs_embedder_embed_one(e, "the cat sat on the mat", c, NULL), VS_OK);
    CHECK(dot(a, b, 128) > dot(a, c, 128) + 0.2);
    /* word order matters through bigrams, but only a little */
    CHECK_EQ_INT(vs_embedder_embed_one(e, "documents over search Vector", c, NULL), VS_OK);
    double s = dot(a, c, 128);
    CHECK(s < 0.999 && s > 0.7);
    vs_embedder_free(e);
}

static void test_errors(void)
{
    struct vs_embedder *e;
    CHECK_EQ_INT(vs_embedder_new("hash", 16, &e, NULL), VS_OK);
    float v[16];
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_embedder_embed_one(e, "", v, &d), VS_E_FIELD);
    CHECK_EQ_STR(d.detail, "text is empty");
    CHECK_EQ_INT(vs_embedder_embed_one(e, " ... !!! ", v, &d), VS_E_FIELD);
    CHECK_EQ_INT(vs_embedder_embed_one(e, "\xff\xfe bad", v, &d), VS_E_DATA);
    double z = 0;
    for (int i = 0; i < 16; i++)
        z += fabs(v[i]);
    CHECK(z == 0);
    vs_embedder_free(e);
}

/* A batch gives the same rows as one text at a time, whatever the thread
 * count, and reports per-text statuses. */
static void test_batch(void)
{
    struct vs_embedder *e;
    CHECK_EQ_INT(vs_embedder_new("hash", 64, &e, NULL), VS_OK);
    enum { N = 300 };
    static char buf[N][64];
    const char *texts[N];
    size_t lens[N];
    int st[N];
    static float out[N * 64], one[64];
    for (int i = 0; i < N; i++) {
        if (i == 17)
            buf[i][0] = '\0';
        else
            snprintf(buf[i], sizeof buf[i], "text number %d about été %d", i, i * 7);
        texts[i] = buf[i];
        lens[i] = strlen(buf[i]);
    }
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_embedder_embed(e, N, texts, lens, out, st, &d), VS_E_FIELD);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        if (i == 17) {
            CHECK_EQ_INT(st[i], VS_E_FIELD);
            continue;
        }
        CHECK_EQ_INT(st[i], VS_OK);
        vs_embedder_embed_one(e, texts[i], one, NULL);
        bad += memcmp(one, out + i * 64, sizeof one) != 0;
    }
    CHECK_EQ_INT(bad, 0);
    vs_embedder_free(e);
}

int main(void)
{
    RUN(test_names_and_identity);
    RUN(test_vectors);
    RUN(test_errors);
    RUN(test_batch);
    return vs_test_done();
}
