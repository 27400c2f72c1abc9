/* test_sentencepiece.c: the USE-lite SentencePiece tokenizer against the ids
 * its own JavaScript runtime produced ($VS_DATA/golden/use-lite-tokens.jsonl),
 * with the vocabulary from `scripts/get-model.sh use-lite`. */
#include "test.h"
#include "vs_sentencepiece.h"

#include <jansson.h>
#include <stdint.h>
#include <unistd.h>

static void tiny_vocab(char *path, size_t sz)
{
    snprintf(path, sz, "/tmp/vs-test-sp-%ld.json", (long)getpid());
    FILE *fp = fopen(path, "w");
    if (!fp)
        return;
    /* ids: 0 unk, 1 ▁, 2 ▁ab, 3 a, 4 b, 5 c, 6 ▁a, 7 bc */
    fputs("[[\"\\ufffd\",0],[\"\\u2581\",-2],[\"\\u2581ab\",-3],[\"a\",-2],"
          "[\"b\",-2],[\"c\",-2],[\"\\u2581a\",-1],[\"bc\",-1.5]]",
          fp);
    fclose(fp);
}

/* Ids reasoned out by hand on the tiny vocabulary. */
static void test_hand(void)
{
    char path[128];
    tiny_vocab(path, sizeof path);
    struct vs_sentencepiece *sp = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_sentencepiece_open(path, &sp, &d), VS_OK);
    if (!sp)
        return;
    CHECK_EQ_INT(vs_sentencepiece_size(sp), 8);
    int32_t *ids;
    size_t n;
    /* "abc" -> ▁abc: ▁ab + c = -5, ▁a + bc = -2.5 (best) */
    CHECK_EQ_INT(vs_sentencepiece_encode(sp, "abc", 3, &ids, &n, &d), VS_OK);
    CHECK(n == 2 && ids[0] == 6 && ids[1] == 7);
    free(ids);
    /* "a xyz" -> ▁a ▁ [unk x y z merged] */
    CHECK_EQ_INT(vs_sentencepiece_encode(sp, "a xyz", 5, &ids, &n, &d), VS_OK);
    CHECK(n == 3 && ids[0] == 6 && ids[1] == 1 && ids[2] == 0);
    free(ids);
    /* NFKC: the ligature-free fullwidth "ａ" is "a" */
    CHECK_EQ_INT(vs_sentencepiece_encode(sp, "\xef\xbd\x81", 3, &ids, &n, &d), VS_OK);
    CHECK(n == 1 && ids[0] == 6);
    free(ids);
    CHECK_EQ_INT(vs_sentencepiece_encode(sp, "", 0, &ids, &n, &d), VS_OK);
    CHECK(n == 0 && ids == NULL);
    CHECK_EQ_INT(vs_sentencepiece_encode(sp, "a\xff", 2, &ids, &n, &d), VS_E_DATA);
    vs_sentencepiece_free(sp);
    vs_sentencepiece_free(NULL);
    FILE *fp = fopen(path, "w");
    fputs("[[\"a\"]]", fp);
    fclose(fp);
    CHECK_EQ_INT(vs_sentencepiece_open(path, &sp, &d), VS_E_DATA);
    unlink(path);
}

/* An empty piece as the unknown id (id 0): the backward pass steps one
 * position over it instead of never ending (it wrote past its buffer;
 * found by tests/fuzz/fuzz_sentencepiece.c). */
static void test_empty_unknown_piece(void)
{
    char path[128];
    snprintf(path, sizeof path, "/tmp/vs-test-sp-empty-%ld.json", (long)getpid());
    FILE *fp = fopen(path, "w");
    if (!fp)
        return;
    fputs("[[\"\",-2],[\"c\",-2],[\"\\u2581a\",-1],[\"bc\",-1.5]]", fp);
    fclose(fp);
    struct vs_sentencepiece *sp = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_sentencepiece_open(path, &sp, &d), VS_OK);
    unlink(path);
    if (!sp)
        return;
    int32_t *ids = NULL;
    size_t n = 0;
    /* 7 positions (▁abc▁ab): at most one id each, every id in the vocabulary */
    CHECK_EQ_INT(vs_sentencepiece_encode(sp, "abc ab", 6, &ids, &n, &d), VS_OK);
    CHECK(n >= 1 && n <= 7);
    for (size_t i = 0; ids && i < n; i++)
        CHECK(ids[i] >= 0 && ids[i] < 4);
    free(ids);
    vs_sentencepiece_free(sp);
}

static void test_golden(void)
{
    char vocab[1024], golden[1024];
    const char *md = getenv("VS_MODEL_DIR"), *home = getenv("HOME");
    if (md && *md)
        snprintf(vocab, sizeof vocab, "%s/use-lite/vocab.json", md);
    else
        snprintf(vocab, sizeof vocab, "%s/.cache/vecstore/models/use-lite/vocab.json",
                 home ? home : ".");
    snprintf(golden, sizeof golden, "%s/golden/use-lite-tokens.jsonl", vs_test_data());
    if (access(vocab, R_OK) != 0)
        SKIP("no use-lite vocabulary (scripts/get-model.sh use-lite)");
    if (access(golden, R_OK) != 0)
        SKIP("no $VS_DATA/golden/use-lite-tokens.jsonl");
    struct vs_sentencepiece *sp = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_sentencepiece_open(vocab, &sp, &d), VS_OK);
    if (!sp) {
        printf("#   %s\n", d.detail);
        return;
    }
    CHECK_EQ_INT(vs_sentencepiece_size(sp), 8000);
    FILE *fp = fopen(golden, "r");
    char line[1 << 16];
    int count = 0, same_all = 1;
    while (fp && fgets(line, sizeof line, fp)) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        json_t *t = json_object_get(o, "text"), *want = json_object_get(o, "ids");
        int32_t *ids = NULL;
        size_t n = 0;
        CHECK_EQ_INT(vs_sentencepiece_encode(sp, json_string_value(t),
                                             json_string_length(t), &ids, &n, &d),
                     VS_OK);
        int same = json_array_size(want) == n;
        for (size_t i = 0; same && i < n; i++)
            same = json_integer_value(json_array_get(want, i)) == ids[i];
        if (!same) {
            printf("#   %s#   ours:", line);
            for (size_t i = 0; i < n; i++)
                printf(" %d", ids[i]);
            printf("\n");
            same_all = 0;
        }
        free(ids);
        json_decref(o);
        count++;
    }
    if (fp)
        fclose(fp);
    CHECK_EQ_INT(count, 49);
    CHECK(same_all);
    vs_sentencepiece_free(sp);
}

int main(void)
{
    RUN(test_hand);
    RUN(test_empty_unknown_piece);
    RUN(test_golden);
    return vs_test_done();
}
