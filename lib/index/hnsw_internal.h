/* hnsw_internal.h: the in-memory graph shared by hnsw.c (build, search),
 * hnsw_order.c (graph order) and hnsw_file.c (the serialised form and its
 * lazily decoded level-0 blocks). */
#ifndef VS_HNSW_INTERNAL_H
#define VS_HNSW_INTERNAL_H

#include "vs_hnsw.h"

#include <stdatomic.h>

/* Level-0 lists live in blocks of BLK nodes, in memory and (format 2) on
 * disk: an opened graph decodes a block the first time a search reads one
 * of its lists, so one query decodes a small part of the graph. */
#define BLK_SHIFT 6
#define BLK ((uint64_t)1 << BLK_SHIFT)
#define MAX_LEVEL 30
/* format 1 wrote level-0 blocks of 4096 nodes (zstd) */
#define BLK1_SHIFT 12

/* one level-0 block of the serialised form */
struct blkent {
    uint64_t off;
    uint32_t clen, rows;
    uint64_t hash;
};

/* one block of the upper-layer lists of 64 nodes above level 0 (format 2),
 * decoded into the graph's arena on first use */
struct ublk {
    uint64_t off, hash;
    uint64_t aoff;          /* where it decodes to in uarena (uint32s) */
    uint32_t len, first;    /* stored bytes; id of its first node */
    uint32_t cnt;           /* its nodes (64, fewer in the last block) */
    _Atomic uint8_t state;  /* 0 not decoded, 1 decoding, 2 ready, 3 damaged */
};

struct vs_hnsw {
    size_t dim;
    enum vs_metric metric;
    uint64_t n;
    uint32_t M, M0, efc;
    uint64_t seed;
    uint32_t entry;
    int maxlevel;
    const struct vs_distance_kernels *k;
    uint8_t *level;               /* n */
    uint32_t **upper;             /* n: level * (M + 1): count, ids */
    _Atomic(uint32_t *) *blocks;  /* nblocks: rows * (M0 + 1) */
    uint64_t nblocks;
    atomic_flag *locks;           /* n, build only */
    /* opened from bytes */
    uint8_t *buf;                 /* owned bytes, or NULL (borrowed) */
    size_t len;                   /* bytes owned */
    const uint8_t *src;           /* the serialised form: buf, or borrowed */
    struct blkent *bent;          /* ndisk stored level-0 blocks */
    uint64_t ndisk;
    int fmt;                      /* serialised format version (1, 2) */
    _Atomic uint64_t bad;         /* 1 + the first damaged block found, or 0 */
    /* format 2, opened: upper lists are decoded per block of 64 nodes above
     * level 0 on first use (upper[] stays NULL); all of this lives in the
     * bent allocation */
    struct ublk *ub;
    uint64_t nub;
    const uint64_t *up1;          /* n bits: node is above level 0 */
    const uint32_t *upcum;        /* per word of up1: bits set before it */
    uint32_t *uarena;
    _Atomic uint64_t ubad;        /* 1 + the first damaged upper block, or 0 */
    /* format 2, opened: level-0 blocks decode into slots of BLK * (M0 + 1)
     * words of one arena, in the order they are first touched (hnsw_file.c,
     * l0_slot); NULL: each is malloc'd */
    uint32_t *l0arena;
    uint64_t l0slots;
    _Atomic uint64_t l0used;
};

/* An empty graph of n nodes (levels, upper lists and blocks unset), or NULL. */
struct vs_hnsw *vs_hnsw_alloc(uint64_t n, size_t dim, enum vs_metric metric,
                              uint32_t M, const struct vs_distance_kernels *k);
/* The kernels of a SIMD variant (-1 = best), or NULL when unsupported. */
const struct vs_distance_kernels *vs_hnsw_kernels(int simd);
/* Decode level-0 block b of an opened graph into h->blocks[b]; 0, or -1 when
 * it is damaged (or the graph was built, not opened). */
int vs_hnsw_load_block(struct vs_hnsw *h, uint64_t b);
/* Open a serialised graph in place: the bytes (e.g. a mapped segment
 * section) are neither copied nor owned, and must outlive the graph. Only
 * the header, the block table and the upper layers are checked and decoded
 * here; each level-0 block is checked against its own checksum when first
 * decoded. */
int vs_hnsw_open_borrowed(const void *buf, size_t len, int simd, struct vs_hnsw **out,
                          struct vs_diag *d);
/* The stored level-0 block found damaged by a search or vs_hnsw_verify
 * (1 + its number), or 0. */
uint64_t vs_hnsw_damaged_block(const struct vs_hnsw *h);
/* The same for a block of upper-layer lists. */
uint64_t vs_hnsw_damaged_upper(const struct vs_hnsw *h);

static inline uint64_t blk_rows(const struct vs_hnsw *h, uint64_t b)
{
    uint64_t r = h->n - b * BLK;
    return r < BLK ? r : BLK;
}

/* The list of node u at level lv > 0 of an opened format-2 graph, decoding
 * its block on first use; NULL when damaged (or u has no such level). */
uint32_t *vs_hnsw_upper_list(struct vs_hnsw *h, uint32_t u, int lv);

/* The distance the graph orders by: squared L2, or the negated dot. */
static inline float hnsw_dist(const struct vs_hnsw *h, const float *a, const float *b)
{
    if (h->metric == VS_METRIC_L2)
        return h->k->l2sq(a, b, h->dim);
    return -h->k->dot(a, b, h->dim);
}

/* qsort's comparison of node numbers (lists are kept sorted by number) */
static inline int hnsw_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The list of node u at level lv (count first), or NULL (damaged block). */
static inline uint32_t *list_of(struct vs_hnsw *h, uint32_t u, int lv)
{
    if (lv > 0) {
        if (h->ub)
            return vs_hnsw_upper_list(h, u, lv);
        return h->upper[u] + (size_t)(lv - 1) * (h->M + 1);
    }
    uint64_t b = u >> BLK_SHIFT;
    uint32_t *blk = atomic_load_explicit(&h->blocks[b], memory_order_acquire);
    if (!blk) {
        if (vs_hnsw_load_block(h, b) != 0)
            return NULL;
        blk = atomic_load_explicit(&h->blocks[b], memory_order_acquire);
    }
    return blk + (size_t)(u & (BLK - 1)) * (h->M0 + 1);
}

#endif
