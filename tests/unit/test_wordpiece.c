/* test_wordpiece.c: the BERT uncased WordPiece tokenizer. */
#include "test.h"
#include "vs_wordpiece.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static struct vs_wordpiece *tiny_vocab(char *path, size_t pathsz)
{
    /* ids: 0 [PAD] 1 [UNK] 2 [CLS] 3 [SEP] 4 un 5 ##aff 6 ##able 7 aff
     *      8 , 9 ! 10 hello 11 ##a 12 cafe 13 oδος */
    snprintf(path, pathsz, "/tmp/vs-test-wp-%ld.txt", (long)getpid());
    FILE *fp = fopen(path, "w");
    if (!fp)
        return NULL;
    fputs("[PAD]\n[UNK]\n[CLS]\n[SEP]\nun\n##aff\n##able\naff\n,\n!\nhello\n"
          "##a\ncafe\n\xce\xbf\xce\xb4\xce\xbf\xcf\x82\n",
          fp);
    fclose(fp);
    struct vs_wordpiece *wp = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    if (vs_wordpiece_open(path, &wp, &d) != VS_OK)
        return NULL;
    return wp;
}

static int enc(struct vs_wordpiece *wp, const char *s, size_t max, int32_t *ids,
               size_t *n, int *tr)
{
    struct vs_diag d;
    vs_diag_clear(&d);
    return vs_wordpiece_encode(wp, s, strlen(s), max, ids, n, tr, &d);
}

/* Ids reasoned out by hand against the tiny vocabulary above. */
static void test_hand_cases(void)
{
    char path[128];
    struct vs_wordpiece *wp = tiny_vocab(path, sizeof path);
    CHECK(wp != NULL);
    if (!wp)
        return;
    CHECK_EQ_INT(vs_wordpiece_size(wp), 14);
    CHECK_EQ_INT(vs_wordpiece_id(wp, "##able"), 6);
    CHECK_EQ_STR(vs_wordpiece_token(wp, 7), "aff");
    CHECK(vs_wordpiece_token(wp, 14) == NULL);
    int32_t ids[16];
    size_t n;
    int tr;
    /* "Unaffable, HELLO!" -> [CLS] un ##aff ##able , hello ! [SEP] */
    CHECK_EQ_INT(enc(wp, "Unaffable, HELLO!", 16, ids, &n, &tr), VS_OK);
    int32_t e1[] = {2, 4, 5, 6, 8, 10, 9, 3};
    CHECK_EQ_INT(n, 8);
    CHECK(n == 8 && memcmp(ids, e1, sizeof e1) == 0);
    CHECK_EQ_INT(tr, 0);
    /* accent stripped: "Café" -> cafe; "affa" -> aff ##a; "affb" -> [UNK] */
    CHECK_EQ_INT(enc(wp, "Caf\xc3\xa9 affa affb", 16, ids, &n, &tr), VS_OK);
    int32_t e2[] = {2, 12, 7, 11, 1, 3};
    CHECK(n == 6 && memcmp(ids, e2, sizeof e2) == 0);
    /* Greek final sigma: "ΟΔΟΣ" lower-cases to οδος with final ς */
    CHECK_EQ_INT(enc(wp, "\xce\x9f\xce\x94\xce\x9f\xce\xa3", 16, ids, &n, &tr), VS_OK);
    CHECK(n == 3 && ids[1] == 13);
    /* truncation: 4 ids in all keep [CLS] un ##aff [SEP] */
    CHECK_EQ_INT(enc(wp, "unaffable hello", 4, ids, &n, &tr), VS_OK);
    int32_t e3[] = {2, 4, 5, 3};
    CHECK(n == 4 && memcmp(ids, e3, sizeof e3) == 0);
    CHECK_EQ_INT(tr, 1);
    /* empty and control-only text: just [CLS] [SEP] */
    CHECK_EQ_INT(enc(wp, "\x01\x02 \t", 16, ids, &n, &tr), VS_OK);
    CHECK_EQ_INT(n, 2);
    /* invalid UTF-8 and a too small maximum */
    CHECK_EQ_INT(enc(wp, "bad \xff byte", 16, ids, &n, &tr), VS_E_DATA);
    CHECK_EQ_INT(enc(wp, "x", 1, ids, &n, &tr), VS_E_USAGE);
    vs_wordpiece_free(wp);
    unlink(path);
    vs_wordpiece_free(NULL);
}

static void test_bad_vocab(void)
{
    struct vs_wordpiece *wp = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_wordpiece_open("/nonexistent/vocab.txt", &wp, &d), VS_E_IO);
    char path[128];
    snprintf(path, sizeof path, "/tmp/vs-test-wp-bad-%ld.txt", (long)getpid());
    FILE *fp = fopen(path, "w");
    fputs("[PAD]\nhello\n", fp);
    fclose(fp);
    CHECK_EQ_INT(vs_wordpiece_open(path, &wp, &d), VS_E_DATA);
    CHECK(wp == NULL);
    unlink(path);
}

/* Compare with tests/wordpiece_ref.py (Python's unicodedata) on the real
 * all-MiniLM-L6-v2 vocabulary and a corpus of tricky strings. */
static void compare_ref(size_t maxlen)
{
    char vocab[1024], cmd[4096];
    snprintf(vocab, sizeof vocab, "%s/models/minilm-tokenizer/vocab.txt",
             vs_test_data());
    if (access(vocab, R_OK) != 0 || access("/usr/bin/python3", X_OK) != 0)
        SKIP("no $VS_DATA/models/minilm-tokenizer or /usr/bin/python3");
    struct vs_wordpiece *wp = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_wordpiece_open(vocab, &wp, &d), VS_OK);
    if (!wp)
        return;
    CHECK_EQ_INT(vs_wordpiece_size(wp), 30522);
    /* published BERT example: "Hello, world!" */
    int32_t ids[512];
    size_t n;
    int tr;
    CHECK_EQ_INT(enc(wp, "Hello, world!", 512, ids, &n, &tr), VS_OK);
    int32_t hw[] = {101, 7592, 1010, 2088, 999, 102};
    CHECK(n == 6 && memcmp(ids, hw, sizeof hw) == 0);

    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 tests/wordpiece_ref.py '%s' %zu "
             "< tests/fixtures/wordpiece/cases.jsonl",
             vocab, maxlen);
    FILE *ref = popen(cmd, "r");
    FILE *cases = fopen("tests/fixtures/wordpiece/cases.jsonl", "r");
    CHECK(ref && cases);
    char line[65536], rline[65536];
    int count = 0;
    while (ref && cases && fgets(line, sizeof line, cases)) {
        CHECK(fgets(rline, sizeof rline, ref) != NULL);
        json_error_t je;
        json_t *s = json_loads(line, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        json_t *r = json_loads(rline, 0, &je);
        if (!json_is_string(s) || !json_is_object(r))
            printf("#   bad line %s / %s (%s)\n", line, rline, je.text);
        CHECK(json_is_string(s) && json_is_object(r));
        if (!json_is_string(s) || !json_is_object(r)) {
            json_decref(s);
            json_decref(r);
            break;
        }
        int st = vs_wordpiece_encode(wp, json_string_value(s),
                                     json_string_length(s), maxlen, ids, &n,
                                     &tr, &d);
        CHECK_EQ_INT(st, VS_OK);
        json_t *rids = json_object_get(r, "ids");
        int same = json_array_size(rids) == n;
        for (size_t i = 0; same && i < n; i++)
            same = json_integer_value(json_array_get(rids, i)) == ids[i];
        if (!same) {
            printf("#   case %d %s: ref %s", count + 1, line, rline);
            printf("#   ours:");
            for (size_t i = 0; i < n; i++)
                printf(" %d", ids[i]);
            printf("\n");
        }
        CHECK(same);
        CHECK_EQ_INT(tr, json_is_true(json_object_get(r, "truncated")));
        json_decref(s);
        json_decref(r);
        count++;
    }
    CHECK(count >= 30);
    if (cases)
        fclose(cases);
    if (ref)
        CHECK_EQ_INT(pclose(ref), 0);
    vs_wordpiece_free(wp);
}

/* The project venv's python (scripts/venv.sh: $VS_VENV, default
 * ~/.cache/vecstore/venv) in buf, or NULL when there is none. */
static const char *venv_python(char *buf, size_t n)
{
    const char *v = getenv("VS_VENV"), *home = getenv("HOME");
    if (v && *v)
        snprintf(buf, n, "%s/bin/python", v);
    else
        snprintf(buf, n, "%s/.cache/vecstore/venv/bin/python", home && *home ? home : "/tmp");
    return access(buf, X_OK) == 0 ? buf : NULL;
}

/* Every text of SciFact and Cranfield (titles, texts, both joined, queries)
 * against Hugging Face tokenizers (tests/hf_tokens.py, reading the real
 * all-MiniLM-L6-v2 tokenizer.json): the same ids, and truncation to 256
 * keeps the first 254 pieces and [SEP], as the tokenizers' truncation does. */
static void test_minilm_vs_hf_tokenizers(void)
{
    char vocab[1024], tj[1024], py[1024], cmd[8192];
    const char *data = vs_test_data();
    snprintf(vocab, sizeof vocab, "%s/models/minilm-tokenizer/vocab.txt", data);
    snprintf(tj, sizeof tj, "%s/models/minilm-tokenizer/tokenizer.json", data);
    snprintf(cmd, sizeof cmd, "%s/datasets/cranfield/corpus.jsonl", data);
    if (access(vocab, R_OK) != 0 || access(tj, R_OK) != 0 || access(cmd, R_OK) != 0)
        SKIP("no minilm-tokenizer or cranfield in $VS_DATA");
    if (!venv_python(py, sizeof py))
        SKIP("no project venv (scripts/venv.sh test)");
    snprintf(cmd, sizeof cmd,
             "'%s' tests/hf_tokens.py '%s' '%s/datasets/scifact' '%s/datasets/cranfield'",
             py, tj, data, data);
    struct vs_wordpiece *wp = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_wordpiece_open(vocab, &wp, &d), VS_OK);
    FILE *ref = popen(cmd, "r");
    CHECK(ref != NULL);
    if (!wp || !ref) {
        if (ref)
            pclose(ref);
        vs_wordpiece_free(wp);
        return;
    }
    enum { CAP = 1 << 16 };
    int32_t *ids = malloc(CAP * sizeof *ids), *cut = malloc(256 * sizeof *cut);
    size_t linecap = 0, n, nc, count = 0, differ = 0, tokens = 0;
    char *line = NULL;
    int tr;
    while (ids && cut && getline(&line, &linecap, ref) > 0) {
        json_error_t je;
        json_t *r = json_loads(line, 0, &je);
        json_t *t = json_object_get(r, "text"), *rids = json_object_get(r, "ids");
        CHECK(json_is_string(t) && json_is_array(rids));
        if (!json_is_string(t) || !json_is_array(rids)) {
            json_decref(r);
            break;
        }
        const char *s = json_string_value(t);
        size_t sl = json_string_length(t), rn = json_array_size(rids);
        int same = vs_wordpiece_encode(wp, s, sl, CAP, ids, &n, &tr, &d) == VS_OK &&
                   n == rn;
        for (size_t i = 0; same && i < n; i++)
            same = json_integer_value(json_array_get(rids, i)) == ids[i];
        /* truncated: the first 254 pieces, then [SEP] */
        int cut_ok = vs_wordpiece_encode(wp, s, sl, 256, cut, &nc, &tr, &d) == VS_OK &&
                     nc == (rn < 256 ? rn : 256) && tr == (rn > 256);
        for (size_t i = 0; cut_ok && i + 1 < nc; i++)
            cut_ok = cut[i] == json_integer_value(json_array_get(rids, i));
        cut_ok = cut_ok && cut[nc - 1] == json_integer_value(json_array_get(rids, rn - 1));
        if ((!same || !cut_ok) && differ++ < 5)
            printf("#   differs from tokenizers (%s): %.200s\n",
                   same ? "truncated" : "ids", s);
        tokens += rn;
        count++;
        json_decref(r);
    }
    printf("#   %zu texts, %zu tokens, %zu differ from tokenizers\n", count, tokens, differ);
    CHECK_EQ_INT(differ, 0);
    CHECK(count > 20000); /* 5183 + 1400 documents x 3, 1109 + 225 queries */
    CHECK_EQ_INT(pclose(ref), 0);
    free(line);
    free(ids);
    free(cut);
    vs_wordpiece_free(wp);
}

static void test_minilm_vs_reference(void) { compare_ref(512); }
static void test_minilm_truncation_vs_reference(void) { compare_ref(8); }

int main(void)
{
    RUN(test_hand_cases);
    RUN(test_bad_vocab);
    RUN(test_minilm_vs_reference);
    RUN(test_minilm_truncation_vs_reference);
    RUN(test_minilm_vs_hf_tokenizers);
    return vs_test_done();
}
