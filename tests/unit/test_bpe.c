/* test_bpe.c: the BPE tokenizer on the toy rank table of tests/fixtures/bpe,
 * and on the real cl100k_base table when scripts/get-model.sh fetched it. */
#include "test.h"
#include "vs_bpe.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define TOY "tests/fixtures/bpe/cl100k_base.tiktoken"

static size_t count(const struct vs_bpe *b, const char *s)
{
    size_t n = 0;
    CHECK_EQ_INT(vs_bpe_count(b, s, strlen(s), &n), VS_OK);
    return n;
}

static void test_toy_merges(void)
{
    struct vs_bpe *b = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_bpe_load(TOY, &b, &d), VS_OK);
    if (!b)
        return;
    CHECK_EQ_INT(vs_bpe_size(b), 290);
    CHECK_EQ_INT(count(b, ""), 0);
    CHECK_EQ_INT(count(b, "the"), 1);
    CHECK_EQ_INT(count(b, "then"), 2);          /* the + n */
    CHECK_EQ_INT(count(b, "the vector"), 2);    /* the, " vector" */
    CHECK_EQ_INT(count(b, "vectors"), 2);       /* vector + s */
    CHECK_EQ_INT(count(b, "x"), 1);
    uint32_t *t = NULL;
    size_t n = 0;
    CHECK_EQ_INT(vs_bpe_encode(b, "then", 4, &t, &n), VS_OK);
    CHECK_EQ_INT(n, 2);
    if (n == 2) {
        CHECK_EQ_INT(t[0], 258);
        CHECK_EQ_INT(t[1], 'n');
    }
    free(t);
    /* pieces: "123" "4" (numbers in threes), "'s", " and" */
    CHECK_EQ_INT(count(b, "1234"), 4);
    CHECK_EQ_INT(count(b, "it's and"), 2 + 2 + 1);
    /* a long piece merges fast and gives one token per unmerged byte */
    size_t big = 200000;
    char *s = malloc(big + 1);
    memset(s, 'q', big);
    s[big] = '\0';
    CHECK_EQ_INT(count(b, s), big);
    free(s);
    vs_bpe_free(b);
}

static void test_prefix(void)
{
    struct vs_bpe *b = NULL;
    CHECK_EQ_INT(vs_bpe_load(TOY, &b, NULL), VS_OK);
    if (!b)
        return;
    size_t p, k;
    const char *s = "the vector of the vectors";
    CHECK_EQ_INT(vs_bpe_prefix(b, s, strlen(s), 100, &p, &k), VS_OK);
    CHECK_EQ_INT(p, strlen(s));
    CHECK_EQ_INT(k, count(b, s));
    CHECK_EQ_INT(vs_bpe_prefix(b, s, strlen(s), 2, &p, &k), VS_OK);
    CHECK_EQ_INT(p, 10); /* "the vector" */
    CHECK_EQ_INT(k, 2);
    /* a cut inside a multi-byte character backs off to its start */
    const char *u = "\xc3\xa9\xc3\xa9\xc3\xa9"; /* 3 x e-acute: 6 byte tokens */
    CHECK_EQ_INT(vs_bpe_prefix(b, u, 6, 3, &p, &k), VS_OK);
    CHECK_EQ_INT(p, 2);
    CHECK_EQ_INT(k, 2);
    CHECK_EQ_INT(vs_bpe_prefix(b, u, 6, 0, &p, &k), VS_OK);
    CHECK_EQ_INT(p, 0);
    CHECK_EQ_INT(k, 0);
    vs_bpe_free(b);
}

static void test_bad_tables(void)
{
    char path[] = "/tmp/vs-bpe-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("YQ== 0\nnot base64 at all\n", f);
    fclose(f);
    struct vs_bpe *b = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_bpe_load(path, &b, &d), VS_E_DATA);
    CHECK_EQ_INT(d.line, 2);
    CHECK(b == NULL);
    f = fopen(path, "w");
    fputs("YQ== 0\nYg== 1\n", f); /* most single bytes missing */
    fclose(f);
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_bpe_load(path, &b, &d), VS_E_DATA);
    CHECK(strstr(d.detail, "0x00") != NULL);
    unlink(path);
    CHECK_EQ_INT(vs_bpe_load("/nonexistent/x.tiktoken", &b, NULL), VS_E_IO);
    setenv("VS_MODEL_DIR", "/nonexistent", 1);
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_bpe_open("cl100k_base", &b, &d), VS_E_CONFIG);
    CHECK(strstr(d.detail, "get-model.sh cl100k_base") != NULL);
    unsetenv("VS_MODEL_DIR");
}

/* Token ids of the real table (known values of cl100k_base). */
static void test_real_table(void)
{
    char dir[1024], path[1200];
    vs_bpe_model_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/cl100k_base.tiktoken", dir);
    if (access(path, R_OK) != 0)
        SKIP("cl100k_base not fetched (scripts/get-model.sh cl100k_base)");
    struct vs_bpe *b = NULL;
    CHECK_EQ_INT(vs_bpe_load(path, &b, NULL), VS_OK);
    if (!b)
        return;
    CHECK_EQ_INT(vs_bpe_size(b), 100256);
    uint32_t *t = NULL;
    size_t n = 0;
    CHECK_EQ_INT(vs_bpe_encode(b, "hello world", 11, &t, &n), VS_OK);
    CHECK_EQ_INT(n, 2);
    if (n == 2) {
        CHECK_EQ_INT(t[0], 15339);
        CHECK_EQ_INT(t[1], 1917);
    }
    free(t);
    vs_bpe_free(b);
}

int main(void)
{
    RUN(test_toy_merges);
    RUN(test_prefix);
    RUN(test_bad_tables);
    RUN(test_real_table);
    return vs_test_done();
}
