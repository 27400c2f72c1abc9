/* fuzz_bpe.c: libFuzzer target for the byte-level BPE token counter
 * (lib/models/bpe.c): its rank table file and its pre-tokenizer and merges.
 *
 * Byte 0 even: the rest is text, encoded with the toy rank table
 * tests/fixtures/bpe/cl100k_base.tiktoken. Byte 0 odd: the bytes up to the
 * first NUL are a rank table, and what follows is the text. The count must
 * equal the encoding's length, and vs_bpe_prefix must give a prefix on a
 * character boundary that encodes to at most max tokens (all of it when
 * max is the whole count). */
#include "fuzz.h"
#include "loader_internal.h" /* vs_utf8_valid */
#include "vs_bpe.h"

#define FUZZ_MAX_LEN 4096

static struct vs_bpe *base;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct vs_diag d;
    vs_diag_clear(&d);
    if (vs_bpe_load(fuzz_repo_file("tests/fixtures/bpe/cl100k_base.tiktoken"), &base, &d) != VS_OK) {
        fprintf(stderr, "fuzz_bpe: %s: %s\n", d.file, d.detail);
        abort();
    }
    return 0;
}

static void encode(const struct vs_bpe *b, const char *text, size_t len)
{
    uint32_t *toks = NULL;
    size_t n = 0, c = 0;
    FUZZ_CHECK(vs_bpe_encode(b, text, len, &toks, &n) == VS_OK);
    FUZZ_CHECK((n == 0) == (toks == NULL));
    FUZZ_CHECK(n <= len);
    FUZZ_CHECK(vs_bpe_count(b, text, len, &c) == VS_OK && c == n);
    int valid = vs_utf8_valid(text, len);
    size_t maxes[] = {0, 1, 3, n / 2, n};
    for (size_t i = 0; i < sizeof maxes / sizeof maxes[0]; i++) {
        size_t pre = 0, nt = 0, nt2 = 0;
        FUZZ_CHECK(vs_bpe_prefix(b, text, len, maxes[i], &pre, &nt) == VS_OK);
        FUZZ_CHECK(pre <= len && nt <= maxes[i]);
        /* in valid UTF-8 the cut is on a character boundary (an invalid
         * byte is a piece, and a character, of its own) */
        FUZZ_CHECK(pre == len || !valid || ((unsigned char)text[pre] & 0xc0) != 0x80);
        /* counting the prefix alone gives the same count; in invalid UTF-8
         * the pieces of a cut text may differ (a lone byte at the cut) */
        FUZZ_CHECK(vs_bpe_count(b, text, pre, &nt2) == VS_OK && (nt2 == nt || !valid));
        if (maxes[i] == n)
            FUZZ_CHECK(pre == len && nt == n);
    }
    free(toks);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    struct fuzz_table_input in;
    if (!fuzz_table_input(data, size, "ranks.tiktoken", &in))
        return 0;
    if (!in.table) {
        encode(base, in.text, in.len);
        return 0;
    }
    struct vs_bpe *b = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    int st = vs_bpe_load(in.path, &b, &d);
    FUZZ_CHECK(st == VS_OK || st == VS_E_DATA || st == VS_E_NOMEM);
    if (st != VS_OK)
        return 0;
    if (in.text)
        encode(b, in.text, in.len);
    else
        encode(b, "the vector's 123 tokens\r\n  \xe4\xb8\xad!", 32);
    vs_bpe_free(b);
    return 0;
}
