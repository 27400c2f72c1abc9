/* hnsw_file.c: the graph object (vs_hnsw_alloc, vs_hnsw_free), its
 * serialised form (vs_hnsw_save, vs_hnsw_open) and its blocks, decoded on
 * first touch. hnsw.c (build, search, graph order) builds on it.
 *
 * Format 3 ("VSHNSW03", written), little-endian:
 *   header (104 bytes): magic, version 3, dim, metric, M, ef_construction,
 *     entry, n, seed, maxlevel, block shift (6), stored length and xxh64 of
 *     the levels frame, number of upper blocks, number of level-0 blocks,
 *     end of the last block, xxh64(header[0..96)) ^ xxh64(table, seed 1)
 *   block table: per upper block, then per level-0 block: offset (8) and
 *     xxh64 (8) of its bytes; a block ends where the next begins (the last
 *     at "end")
 *   levels: zstd(one byte per node: its top level)
 *   upper blocks: the upper-layer lists of 64 nodes above level 0 at a time
 *     (in id order), per node its lists of levels 1..L, each coded like a
 *     level-0 list with counts of bitwidth(M) bits
 *   level-0 blocks of 64 nodes: per node u, a bit stream (least significant
 *     bit first): the count c in bitwidth(2M) bits, a window exponent w (5
 *     bits), the number of near ids in bitwidth(2M) bits; then the near ids
 *     (those in the window [lo, hi), lo = max(0, u - 2^w), hi = min(n, lo +
 *     2^(w+1))) as gaps id[j] - id[j-1] - 1 from id[-1] = lo - 1, then the
 *     other ids as gaps from -1; each gap Rice-coded with parameter
 *     floor(log2(span / (count + 1))) of its part (span hi - lo or n): the
 *     quotient in unary (ones ended by a zero), the remainder in that many
 *     bits. The writer picks w with the fewest bits for each list; every
 *     block is padded with zero bits to a byte.
 *   A segment writer numbers its rows in graph order (vs_hnsw_order: depth
 *   first from the entry point, closest neighbour first), so most of a
 *   node's neighbours fall in a small window around it: 29.4 bytes a node
 *   at 200k x 128 against 39.0 in format 2 (bench/scale_order.c).
 *   Opening decodes the levels only; a block (upper or level-0) is checked
 *   and decoded the first time a search reads one of its lists, so one
 *   query decodes a small part of the graph.
 * Format 2 ("VSHNSW02", read only): the same layout; a list is its count
 *   then all its gaps from -1 with the one parameter floor(log2(n /
 *   (count + 1))). Rows were stored as inserted.
 * Format 1 ("VSHNSW01", read only): an 88-byte header, 24-byte entries for
 *   blocks of 4096 nodes, each a zstd frame of count + delta varints. */
#include "hnsw_internal.h"

#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>

#include <xxhash.h>
#include <zstd.h>

#define HDR_SIZE 88   /* format 1 */
#define BENT_SIZE 24
#define HDR2_SIZE 104 /* format 2 */
#define BENT2_SIZE 16
static const char MAGIC[8] = {'V', 'S', 'H', 'N', 'S', 'W', '0', '1'};
static const char MAGIC2[8] = {'V', 'S', 'H', 'N', 'S', 'W', '0', '2'};
static const char MAGIC3[8] = {'V', 'S', 'H', 'N', 'S', 'W', '0', '3'};

struct wbuf {
    uint8_t *p;
    size_t n, cap;
    int oom;
};

static void wb_need(struct wbuf *w, size_t more)
{
    if (w->oom || w->n + more <= w->cap)
        return;
    size_t c = w->cap ? w->cap : 4096;
    while (c < w->n + more)
        c *= 2;
    uint8_t *p = realloc(w->p, c);
    if (!p) {
        w->oom = 1;
        return;
    }
    w->p = p;
    w->cap = c;
}

static int rd_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (int sh = 0; sh < 64; sh += 7) {
        if (*p >= end)
            return -1;
        uint8_t b = *(*p)++;
        x |= (uint64_t)(b & 0x7f) << sh;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

static int rd_list(const uint8_t **p, const uint8_t *end, uint32_t *l,
                   uint32_t max, uint64_t n)
{
    uint64_t c, prev = 0, g;
    if (rd_varint(p, end, &c) || c > max)
        return -1;
    l[0] = (uint32_t)c;
    for (uint64_t j = 0; j < c; j++) {
        if (rd_varint(p, end, &g))
            return -1;
        prev += g;
        if (prev >= n || (j > 0 && g == 0))
            return -1;
        l[1 + j] = (uint32_t)prev;
    }
    return 0;
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* zstd-compress src into w; returns the compressed size or 0 on failure. */
static size_t wb_zstd(struct wbuf *w, const struct wbuf *src, int level)
{
    size_t bound = ZSTD_compressBound(src->n);
    wb_need(w, bound);
    if (w->oom)
        return 0;
    size_t c = ZSTD_compress(w->p + w->n, bound, src->p, src->n, level);
    if (ZSTD_isError(c))
        return 0;
    w->n += c;
    return c;
}

/* ---- Rice-coded level-0 lists (format 2) ---- */

struct bitw {
    struct wbuf *w;
    uint64_t acc;
    unsigned n;
};

static void bw_put(struct bitw *b, uint64_t v, unsigned nb) /* nb <= 32 */
{
    b->acc |= v << b->n;
    b->n += nb;
    while (b->n >= 8) {
        wb_need(b->w, 1);
        if (b->w->oom)
            return;
        b->w->p[b->w->n++] = (uint8_t)b->acc;
        b->acc >>= 8;
        b->n -= 8;
    }
}

static void bw_flush(struct bitw *b)
{
    if (b->n)
        bw_put(b, 0, 8 - b->n);
}

static unsigned bitwidth(uint64_t x) /* bits to write x: 0 for 0 */
{
    return x ? 64u - (unsigned)__builtin_clzll(x) : 0u;
}

/* the Rice parameter of a list of c ids among n: floor(log2(n / (c + 1))),
 * 0 when the quotient is 0. Without a division: with d = c + 1 and e =
 * bitwidth(n) - bitwidth(d), d << e has n's bit width, so the answer is e
 * when d << e <= n, else e - 1 (the same values as the quotient's bit
 * width - 1, checked for every n < 2^21 and 5e7 random ones) */
static unsigned rice_k(uint64_t n, uint32_t c)
{
    uint64_t d = (uint64_t)c + 1;
    if (n < d)
        return 0;
    unsigned e = bitwidth(n) - bitwidth(d);
    return (d << e) <= n ? e : e - 1;
}

/* Rice-code the gaps of the sorted ids s[0..c) from start - 1 with
 * parameter k; the bits it takes when b is NULL */
static uint64_t rice_gaps(struct bitw *b, const uint32_t *s, uint32_t c, uint64_t start,
                          unsigned k)
{
    uint64_t bits = 0, prev = start; /* the smallest id the next one may be */
    for (uint32_t j = 0; j < c; j++) {
        uint64_t g = s[j] - prev, q = g >> k;
        prev = (uint64_t)s[j] + 1;
        bits += q + 1 + k;
        if (!b)
            continue;
        while (q >= 32) {
            bw_put(b, 0xffffffffu, 32);
            q -= 32;
        }
        bw_put(b, ((uint64_t)1 << q) - 1, (unsigned)q + 1); /* q ones, a zero */
        if (k)
            bw_put(b, g & (((uint64_t)1 << k) - 1), k);
    }
    return bits;
}

/* the window of node u for exponent w: [lo, hi) */
static void window(uint64_t u, unsigned w, uint64_t n, uint64_t *lo, uint64_t *hi)
{
    uint64_t W = (uint64_t)1 << w;
    *lo = u > W ? u - W : 0;
    *hi = *lo + 2 * W < n ? *lo + 2 * W : n;
}

/* Format 3: a list of node u split into the ids near u (in its window of
 * 2^(w+1) ids, w chosen per list for the fewest bits) and the others:
 *   count (bitwidth(M0) bits), w (5 bits), near count (bitwidth(M0) bits),
 *   the near ids as Rice gaps from the window's start with parameter
 *   floor(log2(window / (near + 1))), the far ids as Rice gaps from 0 with
 *   floor(log2(n / (far + 1))).
 * Rows numbered in graph order (vs_hnsw_order) have most neighbours near. */
static int bw_list3(struct bitw *b, const uint32_t *l, uint32_t M0, uint64_t n, uint64_t u)
{
    uint32_t c = l[0], s[2049], nr[2049], fr[2049];
    if (c > M0 || c > 2048)
        return -1;
    for (uint32_t j = 0; j < c; j++) {
        uint32_t v = l[1 + j], i = j;
        while (i > 0 && s[i - 1] > v) {
            s[i] = s[i - 1];
            i--;
        }
        s[i] = v;
    }
    for (uint32_t j = 0; j < c; j++)
        if (s[j] >= n || (j && s[j] == s[j - 1]))
            return -1;
    unsigned best_w = 0, wmax = bitwidth(n);
    uint64_t best = UINT64_MAX;
    for (unsigned w = 0; w <= wmax && w < 32; w++) {
        uint64_t lo, hi;
        uint32_t cn = 0, cf = 0;
        window(u, w, n, &lo, &hi);
        for (uint32_t j = 0; j < c; j++) {
            if (s[j] >= lo && s[j] < hi)
                nr[cn++] = s[j];
            else
                fr[cf++] = s[j];
        }
        uint64_t bits = rice_gaps(NULL, nr, cn, lo, rice_k(hi - lo, cn)) +
                        rice_gaps(NULL, fr, cf, 0, rice_k(n, cf));
        if (bits < best) {
            best = bits;
            best_w = w;
        }
    }
    uint64_t lo, hi;
    uint32_t cn = 0, cf = 0;
    window(u, best_w, n, &lo, &hi);
    for (uint32_t j = 0; j < c; j++) {
        if (s[j] >= lo && s[j] < hi)
            nr[cn++] = s[j];
        else
            fr[cf++] = s[j];
    }
    bw_put(b, c, bitwidth(M0));
    bw_put(b, best_w, 5);
    bw_put(b, cn, bitwidth(M0));
    rice_gaps(b, nr, cn, lo, rice_k(hi - lo, cn));
    rice_gaps(b, fr, cf, 0, rice_k(n, cf));
    return 0;
}

struct bitr {
    const uint8_t *p, *end;
    uint64_t buf;
    unsigned n;
};

/* Bits above n in buf are either zero or the stream's next bits at their
 * own places (the 8-byte refill loads more than it counts), so a refill
 * ORs in the same values again and every reader masks to n or consumes
 * at most n bits. */
static inline void br_fill(struct bitr *r)
{
    if (r->n > 56)
        return;
    if (r->end - r->p >= 8) {
        uint64_t w;
        memcpy(&w, r->p, 8);
        r->buf |= w << r->n;
        unsigned take = (63 - r->n) >> 3; /* whole bytes that fit */
        r->p += take;
        r->n += take * 8;
        return;
    }
    while (r->n < 56 && r->p < r->end) { /* n stays <= 63 */
        r->buf |= (uint64_t)*r->p++ << r->n;
        r->n += 8;
    }
}

static inline int br_bits(struct bitr *r, unsigned nb, uint64_t *v) /* nb <= 32 */
{
    if (r->n < nb) {
        br_fill(r);
        if (r->n < nb)
            return -1;
    }
    *v = r->buf & (((uint64_t)1 << nb) - 1);
    r->buf >>= nb;
    r->n -= nb;
    return 0;
}

/* a unary quotient of at most max */
static inline int br_unary(struct bitr *r, uint64_t max, uint64_t *q)
{
    uint64_t c = 0;
    for (;;) {
        if (r->n < 32)
            br_fill(r);
        if (r->n == 0)
            return -1;
        /* the first zero bit among the n counted ones; the bits above n
         * may hold the stream's next bits, so a zero found at or past n is
         * not taken (and ctz of 0 is undefined) */
        uint64_t z = ~r->buf;
        unsigned t = z ? (unsigned)__builtin_ctzll(z) : 64;
        if (t < r->n) {
            c += t;
            r->buf = t + 1 < 64 ? r->buf >> (t + 1) : 0;
            r->n -= t + 1;
            break;
        }
        c += r->n;
        r->buf = 0;
        r->n = 0;
        if (c > max)
            return -1;
    }
    if (c > max)
        return -1;
    *q = c;
    return 0;
}

static int br_list(struct bitr *r, uint32_t *l, uint32_t M0, uint64_t n)
{
    uint64_t c;
    if (br_bits(r, bitwidth(M0), &c) || c > M0)
        return -1;
    unsigned k = rice_k(n, (uint32_t)c);
    uint64_t next = 0; /* the smallest id the next one may be */
    l[0] = (uint32_t)c;
    for (uint64_t j = 0; j < c; j++) {
        uint64_t q, rem = 0;
        if (br_unary(r, n >> k, &q) || (k && br_bits(r, k, &rem)))
            return -1;
        next += (q << k | rem);
        if (next >= n)
            return -1;
        l[1 + j] = (uint32_t)next++;
    }
    return 0;
}

/* c Rice-coded ids (parameter k) from start on, each below end, into l.
 * The reader is copied into a local so that its fields stay in registers
 * (the stores into l could alias them). The common case (codes within
 * the counted bits, 8 bytes left to load): the buffer is topped up from an
 * unaligned 8-byte load without a branch (to 56-63 bits), then up to two
 * codes are taken from it; a quotient is the count of trailing ones, with
 * bit 63 forced to a zero (n <= 63, so a quotient that long never fits
 * and goes to the careful path); the ids only grow, so one check of the
 * last against end covers them all. */
static int br_gaps(struct bitr *r, uint32_t *l, uint64_t c, uint64_t start, uint64_t end,
                   unsigned k)
{
    struct bitr br = *r;
    uint64_t next = start, mask = ((uint64_t)1 << k) - 1, j = 0;
    while (j < c) {
        if (br.end - br.p >= 8) {
            uint64_t w;
            memcpy(&w, br.p, 8);
            br.buf |= w << br.n; /* n <= 63 (br_fill) */
            br.p += (63 - br.n) >> 3;
            br.n |= 56;          /* n + 8 x the bytes taken */
            unsigned t = (unsigned)__builtin_ctzll(~br.buf | (uint64_t)1 << 63);
            unsigned len = t + 1 + k;
            if (__builtin_expect(len <= br.n, 1)) {
                /* len <= n <= 63: both shifts are in range; t << k | rem
                 * is below 2^38, so next cannot wrap in c <= 2048 codes */
                uint64_t rem = (br.buf >> (t + 1)) & mask;
                br.buf >>= len;
                br.n -= len;
                next += (uint64_t)t << k | rem;
                l[j++] = (uint32_t)next++;
                if (j == c)
                    break;
                t = (unsigned)__builtin_ctzll(~br.buf | (uint64_t)1 << 63);
                len = t + 1 + k;
                if (len <= br.n) {
                    rem = (br.buf >> (t + 1)) & mask;
                    br.buf >>= len;
                    br.n -= len;
                    next += (uint64_t)t << k | rem;
                    l[j++] = (uint32_t)next++;
                }
                continue;
            }
        }
        uint64_t q, rem = 0;
        if (next > end || br_unary(&br, (end - next) >> k, &q) || (k && br_bits(&br, k, &rem))) {
            *r = br;
            return -1;
        }
        next += q << k | rem;
        l[j++] = (uint32_t)next++;
    }
    *r = br;
    /* the ids only grow: next is the last one + 1 */
    return c && next > end ? -1 : 0;
}

/* a format-3 list of node u (bw_list3): sorted into l (count first) */
static int br_list3(struct bitr *r, uint32_t *l, uint32_t M0, uint64_t n, uint64_t u)
{
    uint32_t nr[2049], fr[2049];
    /* count, window exponent and near count in one read (M0 <= 2048: at
     * most 12 + 5 + 12 bits) */
    unsigned bw = bitwidth(M0);
    uint64_t hd;
    if (br_bits(r, 2 * bw + 5, &hd))
        return -1;
    uint64_t c = hd & (((uint64_t)1 << bw) - 1), w = hd >> bw & 31, cn = hd >> (bw + 5);
    if (c > M0 || c > 2048 || cn > c)
        return -1;
    uint64_t lo, hi, cf = c - cn;
    window(u, (unsigned)w, n, &lo, &hi);
    if (lo >= hi && cn)
        return -1;
    if (br_gaps(r, nr, cn, lo, hi, rice_k(hi - lo, (uint32_t)cn)) ||
        br_gaps(r, fr, cf, 0, n, rice_k(n, (uint32_t)cf)))
        return -1;
    /* merge: the far ids below the window, the near ids, the far above */
    uint64_t i = 0, o = 1;
    l[0] = (uint32_t)c;
    while (i < cf && fr[i] < lo)
        l[o++] = fr[i++];
    for (uint64_t j = 0; j < cn; j++)
        l[o++] = nr[j];
    for (; i < cf; i++) {
        if (fr[i] < hi) /* a far id inside the window: not how it is written */
            return -1;
        l[o++] = fr[i];
    }
    return 0;
}

int vs_hnsw_save(const struct vs_hnsw *hc, int zstd_level, void **buf,
                 size_t *len, struct vs_diag *d)
{
    struct vs_hnsw *h = (struct vs_hnsw *)(uintptr_t)hc;
    *buf = NULL;
    *len = 0;
    struct wbuf out = {0}, raw = {0};
    int rc = VS_OK;
    uint64_t nup = 0;
    for (uint64_t i = 0; i < h->n; i++)
        nup += h->level[i] != 0;
    uint64_t nub = (nup + 63) / 64, nent = nub + h->nblocks, e = 0;
    size_t tab = HDR2_SIZE, data_off = tab + nent * BENT2_SIZE;
    wb_need(&out, data_off);
    wb_need(&raw, h->n ? h->n : 1);
    if (out.oom || raw.oom)
        goto nomem;
    memset(out.p, 0, data_off);
    out.n = data_off;
    memcpy(raw.p, h->level, h->n);
    raw.n = h->n;
    size_t lc = raw.n ? wb_zstd(&out, &raw, zstd_level) : 0;
    if (raw.n && !lc)
        goto nomem;
    uint64_t lhash = XXH64(out.p + data_off, lc, 0);
    /* upper blocks: 64 nodes above level 0 at a time */
    struct bitw bw = {&out, 0, 0};
    uint64_t c = 0;
    for (uint64_t i = 0; i < h->n; i++) {
        if (!h->level[i])
            continue;
        if (c++ % 64 == 0) {
            bw_flush(&bw);
            if (out.oom)
                goto nomem;
            put64(out.p + tab + e++ * BENT2_SIZE, out.n);
        }
        for (int lv = 1; lv <= h->level[i]; lv++) {
            const uint32_t *l = list_of(h, (uint32_t)i, lv);
            if (!l) {
                rc = vs_diag_set(d, VS_E_CORRUPT, "hnsw: an upper block is damaged");
                goto fail;
            }
            if (bw_list3(&bw, l, h->M, h->n, i)) {
                rc = vs_diag_set(d, VS_E_INTERNAL, "hnsw: node %llu has an invalid list",
                                 (unsigned long long)i);
                goto fail;
            }
        }
    }
    for (uint64_t b = 0; b < h->nblocks; b++) {
        bw_flush(&bw);
        if (out.oom)
            goto nomem;
        put64(out.p + tab + e++ * BENT2_SIZE, out.n);
        uint64_t rows = blk_rows(h, b);
        for (uint64_t r = 0; r < rows; r++) {
            const uint32_t *l = list_of(h, (uint32_t)(b * BLK + r), 0);
            if (!l) {
                rc = vs_diag_set(d, VS_E_CORRUPT, "hnsw: a level-0 block is damaged");
                goto fail;
            }
            if (bw_list3(&bw, l, h->M0, h->n, b * BLK + r)) {
                rc = vs_diag_set(d, VS_E_INTERNAL, "hnsw: node %llu has an invalid list",
                                 (unsigned long long)(b * BLK + r));
                goto fail;
            }
        }
    }
    bw_flush(&bw);
    if (out.oom)
        goto nomem;
    uint8_t *p = out.p;
    for (uint64_t k = 0; k < nent; k++) {
        uint64_t a = get64(p + tab + k * BENT2_SIZE);
        uint64_t z = k + 1 < nent ? get64(p + tab + (k + 1) * BENT2_SIZE) : out.n;
        put64(p + tab + k * BENT2_SIZE + 8, XXH64(p + a, z - a, 0));
    }
    memcpy(p, MAGIC3, 8);
    put32(p + 8, 3);
    put32(p + 12, (uint32_t)h->dim);
    put32(p + 16, (uint32_t)h->metric);
    put32(p + 20, h->M);
    put32(p + 24, h->efc);
    put32(p + 28, h->entry);
    put64(p + 32, h->n);
    put64(p + 40, h->seed);
    put32(p + 48, (uint32_t)h->maxlevel);
    put32(p + 52, BLK_SHIFT);
    put64(p + 56, lc);
    put64(p + 64, lhash);
    put64(p + 72, nub);
    put64(p + 80, h->nblocks);
    put64(p + 88, out.n);
    put64(p + 96, XXH64(p, 96, 0) ^ XXH64(p + tab, nent * BENT2_SIZE, 1));
    free(raw.p);
    *buf = out.p;
    *len = out.n;
    return VS_OK;
nomem:
    rc = vs_diag_set(d, VS_E_NOMEM, "hnsw: out of memory while saving");
fail:
    free(raw.p);
    free(out.p);
    return rc;
}

/* The arena of decoded level-0 blocks (format 2 and 3, opened), made at
 * open and touched only as blocks are decoded: each block takes the next
 * slot, so the blocks one query decodes share a few pages. Past its first
 * 2 MiB it is on huge pages where the kernel gives them (madvise mode): a
 * process that decodes most of a graph (1000 queries over 100k nodes
 * decode 99% of the blocks) takes a fault per 2 MiB instead of one per 4
 * KiB, which cost 9 ms of CPU for 13 MB here; the first 2 MiB stay in 4
 * KiB pages so a process answering a query or two does not clear 2 MiB
 * for its few blocks. Graphs of up to 2 MiB of blocks keep malloc.
 * The WebAssembly build has no huge pages (nor madvise): there every
 * block is malloc'd, which also keeps the arena's code out of its bundle. */
#ifndef __EMSCRIPTEN__
#define L0_HUGE ((size_t)2 << 20)

static void l0_arena(struct vs_hnsw *h)
{
    size_t slot = (size_t)BLK * (h->M0 + 1) * sizeof(uint32_t);
    uint64_t slots = h->nblocks + 64; /* a block two threads decode at once
                                         takes two slots */
    if (slots > SIZE_MAX / slot || h->nblocks * slot <= L0_HUGE)
        return;
    size_t cap = (slots * slot + L0_HUGE - 1) / L0_HUGE * L0_HUGE;
    uint32_t *a = aligned_alloc(L0_HUGE, cap);
    if (!a)
        return; /* each block is malloc'd instead */
    (void)madvise((char *)a + L0_HUGE, cap - L0_HUGE, MADV_HUGEPAGE); /* a hint */
    h->l0arena = a;
    h->l0slots = cap / slot;
}

static int in_arena(const struct vs_hnsw *h, const uint32_t *p)
{
    uintptr_t a = (uintptr_t)h->l0arena, x = (uintptr_t)p;
    return a && x >= a && x - a < h->l0slots * (size_t)BLK * (h->M0 + 1) * sizeof(uint32_t);
}

/* room for one decoded level-0 block: the arena's next slot, or malloc */
static uint32_t *l0_slot(struct vs_hnsw *h, size_t words)
{
    if (h->l0arena) {
        uint64_t k = atomic_fetch_add_explicit(&h->l0used, 1, memory_order_relaxed);
        if (k < h->l0slots)
            return h->l0arena + k * (size_t)BLK * (h->M0 + 1);
    }
    return malloc(words * sizeof(uint32_t));
}

static void l0_free(struct vs_hnsw *h, uint32_t *p)
{
    if (!in_arena(h, p))
        free(p);
}
#else
static void l0_arena(struct vs_hnsw *h)
{
    (void)h;
}

static uint32_t *l0_slot(struct vs_hnsw *h, size_t words)
{
    (void)h;
    return malloc(words * sizeof(uint32_t));
}

static void l0_free(struct vs_hnsw *h, uint32_t *p)
{
    (void)h;
    free(p);
}
#endif

static void mark_bad(struct vs_hnsw *h, uint64_t b)
{
    uint64_t z = 0;
    atomic_compare_exchange_strong(&h->bad, &z, b + 1);
}

/* publish a decoded block (another thread may have done it first) */
static void publish(struct vs_hnsw *h, uint64_t b, uint32_t *blk)
{
    uint32_t *expect = NULL;
    if (!atomic_compare_exchange_strong(&h->blocks[b], &expect, blk))
        l0_free(h, blk);
}

/* format 1: stored block D (4096 nodes, zstd) fills in-memory blocks
 * D << 6 .. */
static int load_block1(struct vs_hnsw *h, uint64_t b)
{
    uint64_t D = b >> (BLK1_SHIFT - BLK_SHIFT);
    const struct blkent *e = &h->bent[D];
    const uint8_t *src = h->src + e->off;
    if (XXH64(src, e->clen, 0) != e->hash) {
        mark_bad(h, D);
        return -1;
    }
    unsigned long long rawn = ZSTD_getFrameContentSize(src, e->clen);
    if (rawn == ZSTD_CONTENTSIZE_ERROR || rawn == ZSTD_CONTENTSIZE_UNKNOWN ||
        rawn > (unsigned long long)e->rows * (h->M0 + 1) * 5 + 16) {
        mark_bad(h, D);
        return -1;
    }
    size_t stride = h->M0 + 1;
    uint8_t *raw = malloc(rawn ? rawn : 1);
    uint32_t *all = calloc((size_t)e->rows * stride, sizeof *all);
    int rc = -1;
    if (!raw || !all)
        goto done;
    size_t got = ZSTD_decompress(raw, rawn, src, e->clen);
    if (ZSTD_isError(got) || got != rawn)
        goto bad;
    const uint8_t *p = raw, *end = raw + got;
    for (uint32_t r = 0; r < e->rows; r++)
        if (rd_list(&p, end, all + (size_t)r * stride, h->M0, h->n))
            goto bad;
    if (p != end)
        goto bad;
    uint64_t first = D << (BLK1_SHIFT - BLK_SHIFT);
    for (uint64_t s = first; s < h->nblocks && s < first + (1u << (BLK1_SHIFT - BLK_SHIFT)); s++) {
        if (atomic_load_explicit(&h->blocks[s], memory_order_acquire))
            continue;
        size_t cnt = blk_rows(h, s) * stride;
        uint32_t *blk = malloc(cnt * sizeof *blk);
        if (!blk)
            goto done;
        memcpy(blk, all + (s - first) * BLK * stride, cnt * sizeof *blk);
        publish(h, s, blk);
    }
    rc = 0;
    goto done;
bad:
    mark_bad(h, D);
done:
    free(raw);
    free(all);
    return rc;
}

int vs_hnsw_load_block(struct vs_hnsw *h, uint64_t b)
{
    if (!h->bent || b >= h->nblocks)
        return -1;
    if (h->fmt == 1)
        return load_block1(h, b);
    const struct blkent *e = &h->bent[b];
    const uint8_t *src = h->src + e->off;
    if (XXH64(src, e->clen, 0) != e->hash) {
        mark_bad(h, b);
        return -1;
    }
    size_t stride = h->M0 + 1;
    uint32_t *blk = l0_slot(h, (size_t)e->rows * stride);
    if (!blk)
        return -1;
    struct bitr r = {src, src + e->clen, 0, 0};
    for (uint32_t i = 0; i < e->rows; i++)
        if (h->fmt == 3 ? br_list3(&r, blk + (size_t)i * stride, h->M0, h->n, b * BLK + i)
                        : br_list(&r, blk + (size_t)i * stride, h->M0, h->n)) {
            l0_free(h, blk);
            mark_bad(h, b);
            return -1;
        }
    /* only the zero padding of the last byte may remain */
    if (r.p != r.end || r.n >= 8 || r.buf != 0) {
        l0_free(h, blk);
        mark_bad(h, b);
        return -1;
    }
    publish(h, b, blk);
    return 0;
}

uint64_t vs_hnsw_damaged_block(const struct vs_hnsw *h)
{
    return atomic_load(&((struct vs_hnsw *)(uintptr_t)h)->bad);
}

uint64_t vs_hnsw_damaged_upper(const struct vs_hnsw *h)
{
    return atomic_load(&((struct vs_hnsw *)(uintptr_t)h)->ubad);
}

/* the id of the first node above level 0 after v */
static uint32_t next_up(const struct vs_hnsw *h, uint32_t v)
{
    uint64_t u = (uint64_t)v + 1, w = u >> 6;
    uint64_t m = h->up1[w] & (~(uint64_t)0 << (u & 63));
    while (!m)
        m = h->up1[++w];
    return (uint32_t)(w * 64 + (uint64_t)__builtin_ctzll(m));
}

/* decode upper block kb into the arena (the caller owns its state) */
static int decode_upper(struct vs_hnsw *h, uint64_t kb)
{
    struct ublk *k = &h->ub[kb];
    const uint8_t *src = h->src + k->off;
    if (XXH64(src, k->len, 0) != k->hash)
        return -1;
    uint32_t *base = h->uarena + k->aoff;
    uint64_t at = 64;
    struct bitr r = {src, src + k->len, 0, 0};
    uint32_t v = k->first;
    for (uint32_t j = 0; j < k->cnt; j++) {
        if (j)
            v = next_up(h, v);
        base[j] = (uint32_t)at;
        for (int lv = 1; lv <= h->level[v]; lv++) {
            uint32_t *l = base + at;
            if (h->fmt == 3 ? br_list3(&r, l, h->M, h->n, v) : br_list(&r, l, h->M, h->n))
                return -1;
            for (uint32_t i = 0; i < l[0]; i++)
                if (h->level[l[1 + i]] < lv)
                    return -1;
            at += h->M + 1;
        }
    }
    if (r.p != r.end || r.n >= 8 || r.buf != 0)
        return -1;
    return 0;
}

/* make upper block kb ready: 0, or -1 when damaged */
static int load_upper(struct vs_hnsw *h, uint64_t kb)
{
    struct ublk *k = &h->ub[kb];
    uint8_t z = 0;
    if (atomic_compare_exchange_strong(&k->state, &z, 1)) {
        int bad = decode_upper(h, kb);
        atomic_store_explicit(&k->state, bad ? 3 : 2, memory_order_release);
        if (bad) {
            uint64_t none = 0;
            atomic_compare_exchange_strong(&h->ubad, &none, kb + 1);
        }
        return bad;
    }
    while ((z = atomic_load_explicit(&k->state, memory_order_acquire)) == 1)
        sched_yield(); /* another thread is decoding it */
    return z == 2 ? 0 : -1;
}

uint32_t *vs_hnsw_upper_list(struct vs_hnsw *h, uint32_t u, int lv)
{
    if (u >= h->n || lv > h->level[u])
        return NULL;
    uint64_t w = u >> 6;
    uint64_t rk = h->upcum[w] + (uint64_t)__builtin_popcountll(h->up1[w] &
                                                               (((uint64_t)1 << (u & 63)) - 1));
    struct ublk *k = &h->ub[rk >> 6];
    if (atomic_load_explicit(&k->state, memory_order_acquire) != 2 && load_upper(h, rk >> 6))
        return NULL;
    uint32_t *base = h->uarena + k->aoff;
    return base + base[rk & 63] + (size_t)(lv - 1) * (h->M + 1);
}

/* the parameters of both formats' headers */
struct ghdr {
    int fmt;
    uint64_t n, nblocks, nub, seed, ulen, urawn, uhash, end;
    uint32_t dim, metric, M, efc, entry, maxlevel;
    size_t hdr, bent;
};

static int read_header(const uint8_t *p, size_t len, struct ghdr *g, struct vs_diag *d)
{
    if (len < HDR_SIZE || memcmp(p, MAGIC, 6) != 0)
        return vs_diag_set(d, VS_E_CORRUPT, "hnsw: not a graph (bad magic)");
    if (memcmp(p, MAGIC, 8) == 0 && get32(p + 8) == 1) {
        g->fmt = 1;
        g->hdr = HDR_SIZE;
        g->bent = BENT_SIZE;
        g->urawn = get32(p + 52);
        g->ulen = get64(p + 56);
        g->uhash = get64(p + 64);
        g->nblocks = get64(p + 72);
        g->end = len;
    } else if (len >= HDR2_SIZE && ((memcmp(p, MAGIC2, 8) == 0 && get32(p + 8) == 2) ||
                                    (memcmp(p, MAGIC3, 8) == 0 && get32(p + 8) == 3))) {
        g->fmt = (int)get32(p + 8);
        g->hdr = HDR2_SIZE;
        g->bent = BENT2_SIZE;
        if (get32(p + 52) != BLK_SHIFT)
            return vs_diag_set(d, VS_E_VERSION, "hnsw: level-0 blocks of 2^%u nodes are not supported",
                               get32(p + 52));
        g->ulen = get64(p + 56);  /* the levels frame */
        g->uhash = get64(p + 64);
        g->nub = get64(p + 72);
        g->nblocks = get64(p + 80);
        g->end = get64(p + 88);
    } else {
        return vs_diag_set(d, VS_E_VERSION, "hnsw: unsupported graph format version");
    }
    size_t hp = g->fmt == 1 ? 80 : 96;
    uint64_t nent = g->nblocks + g->nub;
    if (g->nblocks > len / g->bent || g->nub > len / g->bent || nent > len / g->bent ||
        g->hdr + nent * g->bent > len ||
        get64(p + hp) != (XXH64(p, hp, 0) ^ XXH64(p + g->hdr, nent * g->bent, 1)))
        return vs_diag_set(d, VS_E_CORRUPT, "hnsw: graph header checksum mismatch");
    g->n = get64(p + 32);
    g->M = get32(p + 20);
    g->dim = get32(p + 12);
    g->metric = get32(p + 16);
    g->efc = get32(p + 24);
    g->entry = get32(p + 28);
    g->seed = get64(p + 40);
    g->maxlevel = get32(p + 48);
    if (g->fmt >= 2)
        g->urawn = g->n;
    unsigned sh = g->fmt == 1 ? BLK1_SHIFT : BLK_SHIFT;
    if (g->n >= UINT32_MAX || g->nblocks != (g->n + ((uint64_t)1 << sh) - 1) >> sh ||
        g->M < 2 || g->M > 1024 || g->dim == 0 || g->metric > VS_METRIC_L2 || g->end > len ||
        g->urawn > ((uint64_t)1 << 40) || g->nub > (g->n + 63) / 64 ||
        (g->n && g->entry >= g->n) || g->maxlevel > MAX_LEVEL)
        return vs_diag_set(d, VS_E_CORRUPT, "hnsw: graph header is inconsistent");
    return VS_OK;
}

/* format 2 after the header: the levels, the bitmap of nodes above level 0
 * and its ranks, the block tables, the arena (one allocation, h->bent);
 * no list is decoded */
static int open2(struct vs_hnsw *h, const uint8_t *p, size_t len, const struct ghdr *gh)
{
    uint64_t n = gh->n, nblocks = gh->nblocks, nub = gh->nub, nent = nub + nblocks;
    size_t data_off = gh->hdr + nent * gh->bent;
    if (gh->ulen > len - data_off || XXH64(p + data_off, gh->ulen, 0) != gh->uhash)
        return -1;
    if (n) {
        size_t got = ZSTD_decompress(h->level, n, p + data_off, gh->ulen);
        if (ZSTD_isError(got) || got != n)
            return -1;
    } else if (gh->ulen) {
        return -1;
    }
    uint64_t nup = 0, cells = 0, words = (n + 63) / 64;
    int bad = 0;
    for (uint64_t i = 0; i < n; i++) {
        bad |= h->level[i] > h->maxlevel;
        nup += h->level[i] != 0;
        cells += h->level[i];
    }
    if (bad || (n && h->level[h->entry] != h->maxlevel) || (nup + 63) / 64 != nub)
        return -1;
    /* one allocation: bent first (vs_hnsw_free frees h->bent) */
    size_t o_ub = (nblocks * sizeof(struct blkent) + 63) / 64 * 64;
    size_t o_up = o_ub + (nub * sizeof(struct ublk) + 63) / 64 * 64;
    size_t o_cum = o_up + (words + 1) * 8;
    size_t o_ar = (o_cum + (words + 1) * 4 + 63) / 64 * 64;
    size_t total = o_ar + (cells * (h->M + 1) + nub * 64) * sizeof(uint32_t);
    unsigned char *x = calloc(1, total); /* the arena's pages stay untouched until used */
    if (!x)
        return -2;
    h->bent = (struct blkent *)(void *)x;
    h->ub = (struct ublk *)(void *)(x + o_ub);
    uint64_t *up1 = (uint64_t *)(void *)(x + o_up);
    uint32_t *cum = (uint32_t *)(void *)(x + o_cum);
    h->up1 = up1;
    h->upcum = cum;
    h->uarena = (uint32_t *)(void *)(x + o_ar);
    h->nub = nub;
    uint64_t rk = 0, at = 0;
    for (uint64_t w = 0; w < words; w++) {
        cum[w] = (uint32_t)rk;
        for (uint64_t i = w * 64; i < n && i < w * 64 + 64; i++) {
            if (!h->level[i])
                continue;
            up1[w] |= (uint64_t)1 << (i & 63);
            if (rk % 64 == 0) {
                struct ublk *k = &h->ub[rk / 64];
                k->first = (uint32_t)i;
                k->aoff = at;
                k->cnt = (uint32_t)(nup - rk < 64 ? nup - rk : 64);
                at += 64;
            }
            at += (uint64_t)h->level[i] * (h->M + 1);
            rk++;
        }
    }
    for (uint64_t e = 0; e < nent; e++) {
        const uint8_t *t = p + gh->hdr + e * gh->bent;
        uint64_t off = get64(t), next = e + 1 < nent ? get64(t + gh->bent) : gh->end;
        if (off < data_off + gh->ulen || off > next || next > gh->end || next - off > UINT32_MAX)
            return -1;
        if (e < nub) {
            h->ub[e].off = off;
            h->ub[e].hash = get64(t + 8);
            h->ub[e].len = (uint32_t)(next - off);
        } else {
            struct blkent *be = &h->bent[e - nub];
            be->off = off;
            be->hash = get64(t + 8);
            be->clen = (uint32_t)(next - off);
            be->rows = (uint32_t)blk_rows(h, e - nub);
        }
    }
    h->ndisk = nblocks;
    l0_arena(h);
    return 0;
}

/* take: NULL (copy buf, or borrow it when borrow is set), or a pointer to
 * buf's malloc'd block, set to NULL once the graph owns it */
static int open_graph(const void *buf, size_t len, int simd, void **take, int borrow,
                      struct vs_hnsw **out, struct vs_diag *d)
{
    *out = NULL;
    const uint8_t *p = buf;
    struct ghdr gh = {0};
    int rc = read_header(p, len, &gh, d);
    if (rc != VS_OK)
        return rc;
    uint64_t n = gh.n, nblocks = gh.nblocks;
    uint32_t M = gh.M;
    const struct vs_distance_kernels *k = vs_hnsw_kernels(simd);
    if (!k)
        return vs_diag_set(d, VS_E_UNSUPPORTED, "hnsw: simd variant not supported on this cpu");
    struct vs_hnsw *h = vs_hnsw_alloc(n, gh.dim, (enum vs_metric)gh.metric, M, k);
    uint8_t *uraw = NULL;
    uint64_t *up1 = NULL;
    if (!h)
        return vs_diag_set(d, VS_E_NOMEM, "hnsw: out of memory");
    h->efc = gh.efc;
    h->entry = gh.entry;
    h->seed = gh.seed;
    h->maxlevel = (int)gh.maxlevel;
    h->fmt = gh.fmt;
    if (take) {
        h->buf = *take;
        h->len = len;
        *take = NULL;
    } else if (!borrow && (h->buf = malloc(len)) != NULL) {
        memcpy(h->buf, buf, len);
        h->len = len;
    }
    h->src = borrow ? p : h->buf;
    if (!h->src)
        goto nomem;
    if (gh.fmt >= 2) {
        int r2 = open2(h, p, len, &gh);
        if (r2 == -2)
            goto nomem;
        if (r2)
            goto corrupt;
        *out = h;
        return VS_OK;
    }
    size_t upper_off = gh.hdr + nblocks * gh.bent;
    uint64_t ulen = gh.ulen, urawn = gh.urawn;
    if (ulen > len - upper_off || XXH64(p + upper_off, ulen, 0) != gh.uhash)
        goto corrupt;
    h->ndisk = nblocks;
    h->bent = calloc(nblocks ? nblocks : 1, sizeof *h->bent);
    uraw = malloc(urawn ? urawn : 1);
    if (!h->bent || !uraw)
        goto nomem;
    for (uint64_t b = 0; b < nblocks; b++) {
        const uint8_t *e = p + gh.hdr + b * gh.bent;
        struct blkent *be = &h->bent[b];
        be->off = get64(e);
        be->clen = get32(e + 8);
        be->rows = get32(e + 12);
        be->hash = get64(e + 16);
        if (be->off < upper_off + ulen || be->off > len || be->clen > len - be->off ||
            be->rows != (b + 1 < nblocks ? ((uint64_t)1 << BLK1_SHIFT)
                         : n - (b << BLK1_SHIFT)))
            goto corrupt;
    }
    if (n) {
        size_t got = ZSTD_decompress(uraw, urawn, p + upper_off, ulen);
        if (ZSTD_isError(got) || got != urawn)
            goto corrupt;
    } else if (urawn) {
        goto corrupt;
    }
    const uint8_t *q = uraw, *end = uraw + urawn;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t L;
        if (rd_varint(&q, end, &L) || L > (uint64_t)h->maxlevel)
            goto corrupt;
        h->level[i] = (uint8_t)L;
    }
    if (n && h->level[h->entry] != h->maxlevel)
        goto corrupt;
    /* a link at level lv must reach a node of level >= lv; most links are
     * at level 1, checked in a bitmap of the nodes above level 0 (n / 8
     * bytes, cache-resident where the level array is not) */
    up1 = calloc((n + 63) / 64 + 1, sizeof *up1);
    if (!up1)
        goto nomem;
    for (uint64_t i = 0; i < n; i++)
        up1[i >> 6] |= (uint64_t)(h->level[i] != 0) << (i & 63);
    for (uint64_t i = 0; i < n; i++) {
        int L = h->level[i];
        if (!L)
            continue;
        h->upper[i] = malloc((size_t)L * (M + 1) * sizeof(uint32_t));
        if (!h->upper[i])
            goto nomem;
        for (int lv = 1; lv <= L; lv++) {
            uint32_t *l = h->upper[i] + (size_t)(lv - 1) * (M + 1);
            if (rd_list(&q, end, l, M, n))
                goto corrupt;
            for (uint32_t j = 0; j < l[0]; j++) {
                uint32_t v = l[1 + j];
                if (lv == 1 ? !(up1[v >> 6] >> (v & 63) & 1) : h->level[v] < lv)
                    goto corrupt;
            }
        }
    }
    if (q != end)
        goto corrupt;
    free(uraw);
    free(up1);
    *out = h;
    return VS_OK;
corrupt:
    rc = vs_diag_set(d, VS_E_CORRUPT, "hnsw: graph data is damaged");
    goto fail;
nomem:
    rc = vs_diag_set(d, VS_E_NOMEM, "hnsw: out of memory");
fail:
    free(uraw);
    free(up1);
    vs_hnsw_free(h);
    return rc;
}

int vs_hnsw_open(const void *buf, size_t len, int simd, struct vs_hnsw **out,
                 struct vs_diag *d)
{
    return open_graph(buf, len, simd, NULL, 0, out, d);
}

int vs_hnsw_open_borrowed(const void *buf, size_t len, int simd, struct vs_hnsw **out,
                          struct vs_diag *d)
{
    return open_graph(buf, len, simd, NULL, 1, out, d);
}

int vs_hnsw_open_take(void *buf, size_t len, int simd, struct vs_hnsw **out,
                      struct vs_diag *d)
{
    void *take = buf;
    int st = open_graph(buf, len, simd, &take, 0, out, d);
    free(take); /* NULL once the graph owns it */
    return st;
}

int vs_hnsw_verify(struct vs_hnsw *h, struct vs_diag *d)
{
    for (uint64_t k = 0; k < h->nub; k++)
        if (atomic_load(&h->ub[k].state) != 2 && load_upper(h, k))
            return vs_diag_set(d, VS_E_CORRUPT, "hnsw: upper block %llu is damaged",
                               (unsigned long long)k);
    for (uint64_t b = 0; b < h->nblocks; b++)
        if (!atomic_load(&h->blocks[b]) && vs_hnsw_load_block(h, b))
            return vs_diag_set(d, VS_E_CORRUPT, "hnsw: level-0 block %llu is damaged",
                               (unsigned long long)(h->fmt == 1 ? b >> (BLK1_SHIFT - BLK_SHIFT) : b));
    return VS_OK;
}

/* ---- the graph object: made here by vs_hnsw_open and by the build in
 * hnsw.c, which calls this file and is never called by it ---- */

struct vs_hnsw *vs_hnsw_alloc(uint64_t n, size_t dim, enum vs_metric metric,
                              uint32_t M, const struct vs_distance_kernels *k)
{
    struct vs_hnsw *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->n = n;
    h->dim = dim;
    h->metric = metric;
    h->M = M;
    h->M0 = 2 * M;
    h->k = k;
    h->nblocks = (n + BLK - 1) / BLK;
    h->level = calloc(n ? n : 1, 1);
    h->upper = calloc(n ? n : 1, sizeof *h->upper);
    h->blocks = calloc(h->nblocks ? h->nblocks : 1, sizeof *h->blocks);
    if (!h->level || !h->upper || !h->blocks) {
        vs_hnsw_free(h);
        return NULL;
    }
    return h;
}

const struct vs_distance_kernels *vs_hnsw_kernels(int simd)
{
    if (simd < 0)
        return vs_distance_best();
    return vs_distance_kernels((enum vs_simd)simd);
}

void vs_hnsw_free(struct vs_hnsw *h)
{
    if (!h)
        return;
    if (h->upper && !h->ub) /* opened format 2 and 3 keep upper[] NULL: its
                               n pointers are never touched (200 page faults
                               at 100k nodes when read here) */
        for (uint64_t i = 0; i < h->n; i++)
            free(h->upper[i]);
    if (h->blocks)
        for (uint64_t b = 0; b < h->nblocks; b++)
            l0_free(h, atomic_load(&h->blocks[b]));
    free(h->l0arena);
    free(h->upper);
    free((void *)(uintptr_t)h->blocks);
    free(h->level);
    free(h->locks);
    free(h->buf);
    free(h->bent);
    free(h);
}
