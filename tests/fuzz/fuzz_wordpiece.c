/* fuzz_wordpiece.c: libFuzzer target for the WordPiece tokenizer
 * (lib/models/wordpiece.c): its vocabulary file and its encoder.
 *
 * Byte 0 even: the rest is text, encoded with tests/fuzz/data/vocab.txt (a
 * subset of all-MiniLM-L6-v2's vocabulary). Byte 0 odd: the bytes up to
 * the first NUL are a vocab.txt, and what follows is the text. Encodings
 * must be [CLS] ... [SEP] with known ids, and a short max_len must give
 * the same ids cut to fit (vs_wordpiece.h step 6). */
#include "fuzz.h"
#include "vs_wordpiece.h"

#define FUZZ_MAX_LEN 4096

static struct vs_wordpiece *base;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct vs_diag d;
    vs_diag_clear(&d);
    if (vs_wordpiece_open(fuzz_repo_file("tests/fuzz/data/vocab.txt"), &base, &d) != VS_OK) {
        fprintf(stderr, "fuzz_wordpiece: %s: %s\n", d.file, d.detail);
        abort();
    }
    return 0;
}

static void encode(const struct vs_wordpiece *wp, const char *text, size_t len)
{
    static int32_t ids[512], ids8[8];
    size_t n = 0, n8 = 0;
    int trunc = 0, trunc8 = 0;
    struct vs_diag d;
    vs_diag_clear(&d);
    int st = vs_wordpiece_encode(wp, text, len, 512, ids, &n, &trunc, &d);
    FUZZ_CHECK(st == VS_OK || st == VS_E_DATA || st == VS_E_NOMEM);
    int st8 = vs_wordpiece_encode(wp, text, len, 8, ids8, &n8, &trunc8, &d);
    FUZZ_CHECK(st8 == st);
    if (st != VS_OK)
        return;
    int32_t cls = vs_wordpiece_id(wp, "[CLS]"), sep = vs_wordpiece_id(wp, "[SEP]");
    FUZZ_CHECK(n >= 2 && n <= 512);
    FUZZ_CHECK(ids[0] == cls && ids[n - 1] == sep);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(ids[i] >= 0 && (size_t)ids[i] < vs_wordpiece_size(wp) &&
                   vs_wordpiece_token(wp, ids[i]) != NULL);
    FUZZ_CHECK(n8 == (n < 8 ? n : 8));
    FUZZ_CHECK(trunc8 == (n > 8 || trunc));
    FUZZ_CHECK(memcmp(ids8, ids, (n8 - 1) * sizeof *ids) == 0 && ids8[n8 - 1] == sep);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    struct fuzz_table_input in;
    if (!fuzz_table_input(data, size, "vocab.txt", &in))
        return 0;
    if (!in.table) {
        encode(base, in.text, in.len);
        return 0;
    }
    struct vs_wordpiece *wp = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    int st = vs_wordpiece_open(in.path, &wp, &d);
    FUZZ_CHECK(st == VS_OK || st == VS_E_DATA || st == VS_E_NOMEM);
    if (st != VS_OK)
        return 0;
    FUZZ_CHECK(vs_wordpiece_id(wp, "[UNK]") >= 0);
    if (in.text)
        encode(wp, in.text, in.len);
    else
        encode(wp, "Hello, wor\xc3\xb1ld! \xe4\xb8\xad\xe6\x96\x87 unaffable", 28);
    vs_wordpiece_free(wp);
    return 0;
}
