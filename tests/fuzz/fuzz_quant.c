/* fuzz_quant.c: libFuzzer target for serialised vector codes
 * (lib/index/quant_file.c: f16, sq8 and binary codes, formats 1 and 2).
 *
 * The input is a codes section. The harness recomputes the block and
 * header checksums a writer would put there (when the sizes it reads fit
 * the input), then opens it both ways a segment does: as a copy checked
 * whole (vs_quant_open) and in place with blocks checked on first use
 * (vs_quant_open_borrowed + vs_quant_check_block). For codes that open,
 * every row's distance is computed one at a time and in a batch, which
 * must agree bit for bit (vs_quant.h), and rows decode. */
#include <xxhash.h>

#include "fuzz.h"
#include "quant_internal.h"

#define FUZZ_MAX_LEN 16384

int LLVMFuzzerInitialize(int *argc, char ***argv) { return 0; }

static void fix_sums(unsigned char *b, size_t len)
{
    if (len < 64 || memcmp(b, "VSQUANT2", 8) != 0)
        return;
    uint32_t kind = fuzz_get32(b + 8), dim = fuzz_get32(b + 16), cb = fuzz_get32(b + 20);
    uint64_t n = fuzz_get64(b + 24), nb = fuzz_get64(b + 40);
    uint32_t shift = fuzz_get32(b + 32);
    if (dim > (1u << 20) || cb == 0 || shift > 24 || nb > len / 8)
        return;
    uint64_t pb = kind == 2 ? 8ull * dim : kind == 3 ? 4ull * dim : 0;
    uint64_t codes = (64 + pb + nb * 8 + 63) / 64 * 64;
    if (64 + pb + nb * 8 > len)
        return;
    for (uint64_t k = 0; k < nb; k++) {
        uint64_t first = k << shift, rows = n - first;
        if (first >= n)
            break;
        if (rows > (1ull << shift))
            rows = 1ull << shift;
        if (rows > len / cb || codes > len || first > (len - codes) / cb ||
            rows * cb > len - codes - first * cb)
            break;
        fuzz_put64(b + 64 + pb + 8 * k, XXH64(b + codes + first * cb, (size_t)(rows * cb), 0));
    }
    fuzz_put64(b + 56, XXH64(b, 56, 0) ^ XXH64(b + 64, (size_t)(pb + 8 * nb), 1));
}

static void use_codes(struct vs_quant *q, int checked)
{
    uint64_t n = vs_quant_rows(q);
    size_t dim = vs_quant_dim(q);
    if (dim > 4096)
        return;
    float *vec = malloc(dim * sizeof *vec), *dec = malloc(dim * sizeof *dec);
    float *prep = malloc((vs_quant_prep_floats(q) + 1) * sizeof *prep);
    FUZZ_CHECK(vec && dec && prep);
    for (size_t i = 0; i < dim; i++)
        vec[i] = (float)((int)(i % 7) - 3) / 4;
    vs_quant_prep(q, vec, prep);
    uint32_t ids[64];
    float one[64], many[64];
    size_t m = 0;
    for (uint64_t r = 0; r < n && r < 64; r++) {
        if (checked && vs_quant_check_block(q, r >> q->shift) != 0)
            break; /* a damaged block is never read */
        ids[m] = (uint32_t)r;
        one[m++] = vs_quant_dist(q, prep, r);
        vs_quant_decode(q, r, dec);
        (void)vs_quant_code(q, r);
    }
    vs_quant_dist_ids(q, prep, ids, m, many);
    for (size_t i = 0; i < m; i++)
        FUZZ_CHECK(memcmp(&one[i], &many[i], sizeof one[i]) == 0);
    free(vec);
    free(dec);
    free(prep);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    unsigned char *b = malloc(size ? size : 1);
    FUZZ_CHECK(b != NULL);
    memcpy(b, data, size);
    fix_sums(b, size);
    struct vs_diag d;
    vs_diag_clear(&d);
    struct vs_quant *q = NULL;
    int st = vs_quant_open_borrowed(b, size, -1, &q, &d);
    FUZZ_CHECK(st == VS_OK || st == VS_E_CORRUPT || st == VS_E_VERSION ||
               st == VS_E_UNSUPPORTED || st == VS_E_NOMEM);
    if (st == VS_OK) {
        use_codes(q, 1);
        vs_quant_free(q);
    }
    q = NULL;
    st = vs_quant_open(b, size, -1, &q, &d); /* owns b on success */
    FUZZ_CHECK(st == VS_OK || st == VS_E_CORRUPT || st == VS_E_VERSION || st == VS_E_NOMEM);
    if (st == VS_OK) {
        use_codes(q, 0);
        vs_quant_free(q);
    } else {
        free(b);
    }
    return 0;
}
