/* fuzz_hnsw.c: libFuzzer target for the serialised HNSW graph
 * (lib/index/hnsw_file.c: header, block table, levels frame, upper and
 * level-0 blocks, formats 1 and 2).
 *
 * The input is a graph. The harness first recomputes the checksums a
 * writer would put there (every block's, the levels frame's, the header's)
 * wherever the offsets it reads lie inside the input, so the fuzzer
 * reaches the decoders behind them. The graph is opened, verified (every
 * block decoded) and, when small enough, searched over made-up vectors of
 * its dimension: a damaged graph must be refused with VS_E_CORRUPT or
 * VS_E_VERSION, and a search must give at most k hits, each a row of the
 * graph, best first. */
#include <xxhash.h>

#include "fuzz.h"
#include "vs_hnsw.h"

#define FUZZ_MAX_LEN 16384

int LLVMFuzzerInitialize(int *argc, char ***argv) { return 0; }

/* the entries of a block table: offsets (and lengths for format 1) */
static void fix_sums(unsigned char *p, size_t len)
{
    if (len >= 104 && memcmp(p, "VSHNSW02", 8) == 0) {
        uint64_t nub = fuzz_get64(p + 72), nb = fuzz_get64(p + 80), end = fuzz_get64(p + 88);
        uint64_t nent = nub + nb;
        if (nub > len / 16 || nb > len / 16 || nent > (len - 104) / 16)
            return;
        unsigned char *tab = p + 104;
        for (uint64_t e = 0; e < nent; e++) {
            uint64_t off = fuzz_get64(tab + e * 16);
            uint64_t next = e + 1 < nent ? fuzz_get64(tab + (e + 1) * 16) : end;
            if (off <= next && next <= len)
                fuzz_put64(tab + e * 16 + 8, XXH64(p + off, (size_t)(next - off), 0));
        }
        uint64_t data = 104 + nent * 16, ulen = fuzz_get64(p + 56);
        if (data <= len && ulen <= len - data)
            fuzz_put64(p + 64, XXH64(p + data, (size_t)ulen, 0));
        fuzz_put64(p + 96, XXH64(p, 96, 0) ^ XXH64(tab, (size_t)nent * 16, 1));
    } else if (len >= 88 && memcmp(p, "VSHNSW01", 8) == 0) {
        uint64_t nb = fuzz_get64(p + 72);
        if (nb > (len - 88) / 24)
            return;
        unsigned char *tab = p + 88;
        for (uint64_t b = 0; b < nb; b++) {
            uint64_t off = fuzz_get64(tab + b * 24), clen = fuzz_get32(tab + b * 24 + 8);
            if (off <= len && clen <= len - off)
                fuzz_put64(tab + b * 24 + 16, XXH64(p + off, (size_t)clen, 0));
        }
        uint64_t data = 88 + nb * 24, ulen = fuzz_get64(p + 56);
        if (ulen <= len - data)
            fuzz_put64(p + 64, XXH64(p + data, (size_t)ulen, 0));
        fuzz_put64(p + 80, XXH64(p, 80, 0) ^ XXH64(tab, (size_t)nb * 24, 1));
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    unsigned char *p = malloc(size ? size : 1);
    FUZZ_CHECK(p != NULL);
    memcpy(p, data, size);
    fix_sums(p, size);
    struct vs_hnsw *h = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    int st = vs_hnsw_open(p, size, -1, &h, &d);
    free(p); /* the graph keeps its own copy */
    if (st != VS_OK) {
        FUZZ_CHECK(h == NULL);
        FUZZ_CHECK(st == VS_E_CORRUPT || st == VS_E_VERSION || st == VS_E_NOMEM);
        return 0;
    }
    uint64_t n = vs_hnsw_count(h);
    size_t dim = vs_hnsw_dim(h);
    /* search first (blocks decoded on demand), then verify all blocks */
    if (n && dim <= 256 && n * dim <= ((uint64_t)1 << 18)) {
        float *vecs = malloc(n * dim * sizeof *vecs);
        FUZZ_CHECK(vecs != NULL);
        uint32_t x = 12345;
        for (uint64_t i = 0; i < n * dim; i++) {
            x = x * 1664525u + 1013904223u;
            vecs[i] = (float)(x >> 8) / (float)(1u << 24) - 0.5f;
        }
        struct vs_hnsw_scratch *s = NULL;
        FUZZ_CHECK(vs_hnsw_scratch_new(h, &s, &d) == VS_OK);
        struct vs_hnsw_hit hits[5];
        for (uint64_t qi = 0; qi < 2 && qi < n; qi++) {
            struct vs_hnsw_query q = {.vec = vecs + qi * dim, .k = 5, .ef = 8,
                                      .exact_below = -1};
            size_t nh = 0;
            st = vs_hnsw_search(h, s, vecs, &q, hits, &nh, NULL, &d);
            FUZZ_CHECK(st == VS_OK || st == VS_E_CORRUPT);
            if (st != VS_OK)
                continue;
            FUZZ_CHECK(nh <= 5);
            for (size_t j = 0; j < nh; j++) {
                FUZZ_CHECK(hits[j].row < n);
                FUZZ_CHECK(j == 0 || hits[j].score <= hits[j - 1].score);
            }
        }
        vs_hnsw_scratch_free(s);
        free(vecs);
    }
    st = vs_hnsw_verify(h, &d);
    FUZZ_CHECK(st == VS_OK || st == VS_E_CORRUPT);
    vs_hnsw_free(h);
    return 0;
}
