/* fuzz_sentencepiece.c: libFuzzer target for the SentencePiece unigram
 * tokenizer of USE-lite (lib/models/sentencepiece.c): its vocab.json and
 * its encoder (NFKC, lattice, Viterbi, UTF-16 backward pass).
 *
 * Byte 0 even: the rest is text, encoded with tests/fuzz/data/sp-vocab.json
 * (pieces made from the WordPiece subset beside it). Byte 0 odd: the bytes
 * up to the first NUL are a vocab.json, and what follows is the text. Ids
 * must lie inside the vocabulary, and the same text must encode the same
 * way twice. */
#include "fuzz.h"
#include "vs_sentencepiece.h"

#define FUZZ_MAX_LEN 4096

static struct vs_sentencepiece *base;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct vs_diag d;
    vs_diag_clear(&d);
    if (vs_sentencepiece_open(fuzz_repo_file("tests/fuzz/data/sp-vocab.json"), &base, &d) != VS_OK) {
        fprintf(stderr, "fuzz_sentencepiece: %s: %s\n", d.file, d.detail);
        abort();
    }
    return 0;
}

static void encode(const struct vs_sentencepiece *sp, const char *text, size_t len)
{
    int32_t *ids = NULL, *again = NULL;
    size_t n = 0, n2 = 0;
    struct vs_diag d;
    vs_diag_clear(&d);
    int st = vs_sentencepiece_encode(sp, text, len, &ids, &n, &d);
    FUZZ_CHECK(st == VS_OK || st == VS_E_DATA || st == VS_E_NOMEM);
    if (st != VS_OK)
        return;
    FUZZ_CHECK((n == 0) == (ids == NULL));
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(ids[i] >= 0 && (size_t)ids[i] < vs_sentencepiece_size(sp));
    FUZZ_CHECK(vs_sentencepiece_encode(sp, text, len, &again, &n2, &d) == VS_OK);
    FUZZ_CHECK(n2 == n && (n == 0 || memcmp(ids, again, n * sizeof *ids) == 0));
    free(ids);
    free(again);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    struct fuzz_table_input in;
    if (!fuzz_table_input(data, size, "vocab.json", &in))
        return 0;
    if (!in.table) {
        encode(base, in.text, in.len);
        return 0;
    }
    struct vs_sentencepiece *sp = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    int st = vs_sentencepiece_open(in.path, &sp, &d);
    FUZZ_CHECK(st == VS_OK || st == VS_E_DATA || st == VS_E_NOMEM);
    if (st != VS_OK)
        return 0;
    if (in.text)
        encode(sp, in.text, in.len);
    else
        encode(sp, "Hello, wor\xc3\xb1ld! \xe4\xb8\xad\xe6\x96\x87 \xef\xac\x81 x", 27);
    vs_sentencepiece_free(sp);
    return 0;
}
