/* quant_file.c: building vector codes and their serialised form. See
 * vs_quant.h and quant_internal.h.
 *
 * Format 2 ("VSQUANT2", written), little-endian:
 *   header (64 bytes): magic, kind u32, metric u32, dim u32, code bytes
 *     u32, rows u64, block shift u32 (6), 0 u32, blocks u64, 0 u64,
 *     xxh64(header[0..56)) ^ xxh64(parameters + block table, seed 1)
 *   parameters: sq8 dim float32 offsets then dim scales; binary dim float32
 *     means; f16 none
 *   block table: per block of 1 << shift rows, the xxh64 of its codes
 *   zero bytes up to a multiple of 64 from the start
 *   codes: rows x code bytes
 * The segment stores it raw (64-byte aligned in the file), so a reader
 * uses the codes in place in the mapped file and checks a block the first
 * time a search reads one of its codes.
 * Format 1 ("VSQUANT1", read only): a 32-byte header (the first 32 above
 * without the block fields), the parameters, the codes; the segment
 * compressed and checksummed it whole. */
#include "quant_internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#define QHDR 32  /* format 1 */
#define QHDR2 64 /* format 2 */
static const char QMAGIC[8] = {'V', 'S', 'Q', 'U', 'A', 'N', 'T', '1'};
static const char QMAGIC2[8] = {'V', 'S', 'Q', 'U', 'A', 'N', 'T', '2'};

/* ---- layout ---- */

static size_t code_bytes(enum vs_quant_kind k, size_t dim)
{
    switch (k) {
    case VS_QUANT_F16: return 2 * dim;
    case VS_QUANT_SQ8: return dim;
    default: return 8 * ((dim + 63) / 64);
    }
}

static size_t params_bytes(enum vs_quant_kind k, size_t dim)
{
    return k == VS_QUANT_SQ8 ? 2 * dim * sizeof(float)
         : k == VS_QUANT_BINARY ? dim * sizeof(float) : 0;
}

static void put32(unsigned char *p, uint32_t x) { memcpy(p, &x, 4); }
static void put64(unsigned char *p, uint64_t x) { memcpy(p, &x, 8); }
static uint32_t rd32(const unsigned char *p) { uint32_t x; memcpy(&x, p, 4); return x; }
static uint64_t rd64(const unsigned char *p) { uint64_t x; memcpy(&x, p, 8); return x; }

static uint64_t nblocks_of(uint64_t n, unsigned shift)
{
    return (n + ((uint64_t)1 << shift) - 1) >> shift;
}

/* offset of the codes in format 2 */
static size_t codes_off2(size_t pb, uint64_t nblocks)
{
    return (QHDR2 + pb + (size_t)nblocks * 8 + 63) / 64 * 64;
}

/* point q's parameters, table and codes into the serialised bytes b */
static void point(struct vs_quant *q, const unsigned char *b, int fmt)
{
    size_t pb = params_bytes(q->kind, q->dim), hdr = fmt == 1 ? QHDR : QHDR2;
    q->off = pb ? (const float *)(const void *)(b + hdr) : NULL;
    q->scale = q->kind == VS_QUANT_SQ8 ? q->off + q->dim : NULL;
    if (fmt == 1) {
        q->codes = b + QHDR + pb;
        q->shift = 0;
        q->nblocks = 0;
        q->bsum = NULL;
    } else {
        q->bsum = b + QHDR2 + pb;
        q->codes = b + codes_off2(pb, q->nblocks);
    }
}

/* write q's header, table and checksums into b (format 2 layout, its
 * parameters and codes already in place) */
static void seal(const struct vs_quant *q, unsigned char *b)
{
    size_t pb = params_bytes(q->kind, q->dim);
    uint64_t nblocks = nblocks_of(q->n, VS_QUANT_BLOCK_SHIFT);
    const unsigned char *codes = b + codes_off2(pb, nblocks);
    memcpy(b, QMAGIC2, 8);
    put32(b + 8, (uint32_t)q->kind);
    put32(b + 12, (uint32_t)q->metric);
    put32(b + 16, (uint32_t)q->dim);
    put32(b + 20, (uint32_t)q->cb);
    put64(b + 24, q->n);
    put32(b + 32, VS_QUANT_BLOCK_SHIFT);
    put32(b + 36, 0);
    put64(b + 40, nblocks);
    put64(b + 48, 0);
    for (uint64_t k = 0; k < nblocks; k++) {
        uint64_t first = k << VS_QUANT_BLOCK_SHIFT, rows = q->n - first;
        if (rows > ((uint64_t)1 << VS_QUANT_BLOCK_SHIFT))
            rows = (uint64_t)1 << VS_QUANT_BLOCK_SHIFT;
        put64(b + QHDR2 + pb + 8 * k, XXH64(codes + first * q->cb, (size_t)(rows * q->cb), 0));
    }
    put64(b + 56, XXH64(b, 56, 0) ^ XXH64(b + QHDR2, pb + 8 * nblocks, 1));
}

int vs_quant_build(enum vs_quant_kind kind, enum vs_metric metric,
                   const float *vecs, uint64_t n, size_t dim, int simd,
                   struct vs_quant **out, struct vs_diag *d)
{
    *out = NULL;
    if (kind < VS_QUANT_F16 || kind > VS_QUANT_BINARY || dim == 0 || dim > (1u << 20))
        return vs_diag_set(d, VS_E_USAGE, "quant: a code kind (f16, sq8, binary) and a dimension are needed");
    struct vs_quant *q = calloc(1, sizeof *q);
    if (!q)
        return vs_diag_set(d, VS_E_NOMEM, "quant: out of memory");
    q->kind = kind;
    q->metric = metric;
    q->dim = dim;
    q->cb = code_bytes(kind, dim);
    q->n = n;
    size_t pb = params_bytes(kind, dim);
    q->shift = VS_QUANT_BLOCK_SHIFT;
    q->nblocks = nblocks_of(n, q->shift);
    if (n > (SIZE_MAX / 2 - QHDR2 - pb - 64) / (q->cb + 1)) {
        free(q);
        return vs_diag_set(d, VS_E_NOMEM, "quant: too many rows");
    }
    size_t coff = codes_off2(pb, q->nblocks);
    q->len = coff + (size_t)n * q->cb;
    /* 64-byte aligned, so that the codes (at a multiple of 64 in the
     * buffer) are too, as in a segment: a 128-byte code in calloc's 16-byte
     * alignment spans three cache lines, and the walks prefetch a code's
     * first two (hnsw.c prefetch_at) */
    q->buf = aligned_alloc(64, (q->len + 63) / 64 * 64);
    if (q->buf)
        memset(q->buf, 0, q->len);
    if (!q->buf) {
        free(q);
        return vs_diag_set(d, VS_E_NOMEM, "quant: out of memory");
    }
    point(q, q->buf, 2); /* the header is written by seal() below */
    if (kind == VS_QUANT_SQ8) {
        float *off = (float *)(void *)(q->buf + QHDR2), *scale = off + dim;
        for (size_t i = 0; i < dim; i++) {
            float lo = n ? vecs[i] : 0, hi = lo;
            for (uint64_t r = 1; r < n; r++) {
                float x = vecs[r * dim + i];
                lo = x < lo ? x : lo;
                hi = x > hi ? x : hi;
            }
            off[i] = lo;
            scale[i] = (hi - lo) / 255.0f;
        }
    } else if (kind == VS_QUANT_BINARY) {
        /* sign bits of the row minus the mean row: balanced bits */
        float *off = (float *)(void *)(q->buf + QHDR2);
        for (size_t i = 0; i < dim; i++) {
            double s = 0;
            for (uint64_t r = 0; r < n; r++)
                s += vecs[r * dim + i];
            off[i] = n ? (float)(s / (double)n) : 0.0f;
        }
    }
    for (uint64_t r = 0; r < n; r++)
        vs_quant_encode(q, vecs + r * dim, (uint8_t *)(uintptr_t)(q->codes + r * q->cb));
    seal(q, q->buf);
    q->bsum = q->buf + QHDR2 + pb;
    vs_quant_pick(q, simd);
    *out = q;
    return VS_OK;
}

void vs_quant_free(struct vs_quant *q)
{
    if (!q)
        return;
    free(q->buf);
    free(q->ready);
    free(q->norm);
    free(q);
}

int vs_quant_save(const struct vs_quant *q, void **buf, size_t *len,
                  struct vs_diag *d)
{
    /* always format 2, whatever q was opened from */
    size_t pb = params_bytes(q->kind, q->dim);
    size_t coff = codes_off2(pb, nblocks_of(q->n, VS_QUANT_BLOCK_SHIFT));
    size_t n = coff + (size_t)q->n * q->cb;
    unsigned char *b = calloc(1, n);
    if (!b)
        return vs_diag_set(d, VS_E_NOMEM, "quant: out of memory");
    if (q->kind == VS_QUANT_SQ8) {
        memcpy(b + QHDR2, q->off, q->dim * sizeof(float));
        memcpy(b + QHDR2 + q->dim * sizeof(float), q->scale, q->dim * sizeof(float));
    } else if (pb) {
        memcpy(b + QHDR2, q->off, pb);
    }
    memcpy(b + coff, q->codes, (size_t)q->n * q->cb);
    seal(q, b);
    *buf = b;
    *len = n;
    return VS_OK;
}

/* check and read a serialised header (either format) into a new q, not
 * yet pointed at its bytes; *fmt gets the format */
static int read_header(const unsigned char *b, size_t len, struct vs_quant **out, int *fmt,
                       struct vs_diag *d)
{
    *out = NULL;
    if (len < QHDR || memcmp(b, QMAGIC, 7) != 0)
        return vs_diag_set(d, VS_E_CORRUPT, "section 'quant': bad magic");
    if (b[7] != QMAGIC[7] && b[7] != QMAGIC2[7])
        return vs_diag_set(d, VS_E_VERSION, "section 'quant': format '%c' is not supported", b[7]);
    *fmt = b[7] == QMAGIC[7] ? 1 : 2;
    uint32_t kind = rd32(b + 8), metric = rd32(b + 12), dim = rd32(b + 16), cb = rd32(b + 20);
    uint64_t n = rd64(b + 24), nblocks = 0;
    unsigned shift = 0;
    if (kind < VS_QUANT_F16 || kind > VS_QUANT_BINARY || metric > VS_METRIC_L2 ||
        dim == 0 || dim > (1u << 20) || cb != code_bytes((enum vs_quant_kind)kind, dim))
        return vs_diag_set(d, VS_E_CORRUPT, "section 'quant': bad parameters");
    size_t pb = params_bytes((enum vs_quant_kind)kind, dim);
    if (*fmt == 1) {
        if (n > (len - QHDR) / cb || QHDR + pb + n * cb != len)
            return vs_diag_set(d, VS_E_CORRUPT, "section 'quant': size does not match its rows");
    } else {
        if (len < QHDR2)
            return vs_diag_set(d, VS_E_CORRUPT, "section 'quant': truncated");
        shift = rd32(b + 32);
        nblocks = rd64(b + 40);
        if (shift > 24 || n > len / cb || nblocks != nblocks_of(n, shift) ||
            codes_off2(pb, nblocks) > len || codes_off2(pb, nblocks) + n * cb != len)
            return vs_diag_set(d, VS_E_CORRUPT, "section 'quant': size does not match its rows");
        if (rd64(b + 56) != (XXH64(b, 56, 0) ^ XXH64(b + QHDR2, pb + 8 * nblocks, 1)))
            return vs_diag_set(d, VS_E_CORRUPT, "section 'quant': header checksum mismatch");
    }
    struct vs_quant *q = calloc(1, sizeof *q);
    if (!q)
        return vs_diag_set(d, VS_E_NOMEM, "quant: out of memory");
    q->kind = (enum vs_quant_kind)kind;
    q->metric = (enum vs_metric)metric;
    q->dim = dim;
    q->cb = cb;
    q->n = n;
    q->len = len;
    q->shift = shift;
    q->nblocks = nblocks;
    *out = q;
    return VS_OK;
}

int vs_quant_check_block(struct vs_quant *q, uint64_t b)
{
    if (b >= q->nblocks)
        return -1;
    if (q->ready && __atomic_load_n(&q->ready[b], __ATOMIC_ACQUIRE))
        return 0;
    uint64_t first = b << q->shift, rows = q->n - first;
    if (rows > ((uint64_t)1 << q->shift))
        rows = (uint64_t)1 << q->shift;
    if (XXH64(q->codes + first * q->cb, (size_t)(rows * q->cb), 0) != rd64(q->bsum + 8 * b))
        return -1;
    vs_quant_norms(q, first, rows); /* (the int8 kernels' l2 norms, if any) */
    if (q->ready)
        __atomic_store_n(&q->ready[b], 1, __ATOMIC_RELEASE);
    return 0;
}

int vs_quant_open(void *buf, size_t len, int simd, struct vs_quant **out,
                  struct vs_diag *d)
{
    int fmt;
    int st = read_header(buf, len, out, &fmt, d);
    if (st != VS_OK)
        return st;
    struct vs_quant *q = *out;
    point(q, buf, fmt);
    /* a copy in memory: every block is checked now */
    for (uint64_t b = 0; b < q->nblocks; b++)
        if (vs_quant_check_block(q, b)) {
            free(q);
            *out = NULL;
            return vs_diag_set(d, VS_E_CORRUPT, "section 'quant' block %llu: checksum mismatch",
                               (unsigned long long)b);
        }
    q->buf = buf;
    vs_quant_pick(q, simd);
    return VS_OK;
}

int vs_quant_open_borrowed(const void *buf, size_t len, int simd, struct vs_quant **out,
                           struct vs_diag *d)
{
    int fmt;
    int st = read_header(buf, len, out, &fmt, d);
    if (st != VS_OK)
        return st;
    struct vs_quant *q = *out;
    if (fmt == 1) {
        free(q);
        *out = NULL;
        return VS_E_UNSUPPORTED;
    }
    point(q, buf, fmt);
    q->ready = calloc(q->nblocks ? q->nblocks : 1, 1);
    if (!q->ready) {
        free(q);
        *out = NULL;
        return vs_diag_set(d, VS_E_NOMEM, "quant: out of memory");
    }
    vs_quant_pick(q, simd);
    return VS_OK;
}
