/* vs_hnsw.h: approximate nearest-neighbour search with a hierarchical
 * navigable small-world graph (Malkov & Yashunin, 2016), our own code.
 *
 * The graph holds neighbour lists only; the float32 vectors stay with the
 * caller (a store segment) and are passed to build and search. Distances use
 * the shared kernels of vs_distance.h (squared L2 for l2, -dot for cosine and
 * dot; cosine vectors are expected normalised).
 *
 * Build: levels are drawn from a seeded generator per node (the same seed
 * gives the same levels whatever the thread count); nodes are inserted in
 * parallel with OpenMP, one spin lock per node guarding its lists. With one
 * thread a build is fully reproducible (same bytes when saved); with more
 * threads the insertion order, hence the lists, may differ run to run.
 * Neighbour lists are kept sorted by node id once built.
 *
 * With vector codes (vs_hnsw_query.quant, vs_quant.h) the descent and the
 * beam use the codes' distances and the beam's entries are re-scored from
 * the float32 rows before the k best are kept.
 *
 * Search: greedy descent through the upper layers, then a beam of width ef
 * at layer 0. Each expanded node's unvisited neighbours are collected first
 * (their rows prefetched, visited marks one byte per node), then their
 * distances computed together by the gather kernels of vs_distance.h (or
 * vs_quant_dist_ids for codes), each pair bit-identical to the one-pair
 * kernel, so batching never changes a result. A liveness map (tombstones)
 * and a filter allow map only decide which nodes may enter the result:
 * every node stays navigable. With a filter, ef is widened by the inverse
 * selectivity (up to 4x); a filter admitting few nodes (see
 * vs_hnsw_query.exact_below) is answered by an exact scan of the admitted
 * rows, and so is any graph search that found fewer than min(k, admitted)
 * hits: a query always gets min(k, admitted) hits.
 *
 * Serialised form (vs_hnsw_save/vs_hnsw_open, format 3, hnsw_file.c has
 * the details), little-endian:
 *   header (magic "VSHNSW03", parameters, xxh64 of header + block table)
 *   block table: per block, offset and xxh64
 *   levels: zstd(one byte per node)
 *   upper blocks: the upper-layer lists of 64 nodes above level 0
 *   level-0 blocks: the lists of 64 nodes
 *   (a list: its count, then its sorted ids in two parts, those in a
 *   window around the node's own id and the others, as Rice-coded gaps)
 * Opening checks the header and decodes the levels; a block is checked and
 * decoded the first time a search reads one of its lists, so one query
 * decodes a small part of the graph. Formats 1 ("VSHNSW01": level-0 blocks
 * of 4096 nodes as zstd frames of varint lists) and 2 ("VSHNSW02": every
 * gap of a list with one Rice parameter) are still read.
 */
#ifndef VS_HNSW_H
#define VS_HNSW_H

#include <stddef.h>
#include <stdint.h>

#include "vs_distance.h"
#include "vs_status.h"
#include "vs_metric.h"

struct vs_hnsw_opts {
    uint32_t M;               /* links per node on upper layers (2M at layer 0); 0 = 16 */
    uint32_t ef_construction; /* beam width while building; 0 = 200 */
    uint64_t seed;            /* level generator seed */
    int threads;              /* 0 = OpenMP default */
    int simd;                 /* an enum vs_simd, or -1 for the best supported */
    /* store segments only (store_hnsw_internal.h): the kind of vector codes
     * (enum vs_quant_kind) written beside the graph; vs_hnsw_build ignores it */
    uint32_t quant;
    /* what the build's beam walks on (VS_HNSW_BEAM_*): 0 (auto) sq8 codes
     * of the rows when the rows take VS_HNSW_BEAM_CODES_BYTES or more, else
     * the float32 rows */
    int beam;
};

/* vs_hnsw_opts.beam. On codes, the beam's results get their exact
 * distances from the rows before the neighbour selection, which stays on
 * the rows: the graph differs a little from a float32 beam's, its recall
 * not (synth 100k: within 0.0003 at ef 16..256), and the build reads 4x
 * fewer bytes per distance (bench/results/ingest_profile.txt). */
enum { VS_HNSW_BEAM_AUTO = 0, VS_HNSW_BEAM_ROWS = 1, VS_HNSW_BEAM_SQ8 = 2 };
#define VS_HNSW_BEAM_CODES_BYTES ((uint64_t)32 << 20)

struct vs_hnsw;
struct vs_quant;

/* Build a graph over n rows of dim floats (row-major, borrowed for the call
 * only). Errors: VS_E_USAGE (dim 0, n >= 2^32, M < 2 or > 1024, beam
 * not a VS_HNSW_BEAM_*),
 * VS_E_UNSUPPORTED (SIMD variant), VS_E_NOMEM. n may be 0. */
int vs_hnsw_build(const float *vecs, uint64_t n, size_t dim,
                  enum vs_metric metric, const struct vs_hnsw_opts *o,
                  struct vs_hnsw **out, struct vs_diag *d);
void vs_hnsw_free(struct vs_hnsw *h);

uint64_t vs_hnsw_count(const struct vs_hnsw *h);
size_t vs_hnsw_dim(const struct vs_hnsw *h);
uint32_t vs_hnsw_M(const struct vs_hnsw *h);
uint32_t vs_hnsw_ef_construction(const struct vs_hnsw *h);
/* Bytes of graph held in memory now (decoded blocks, upper lists, maps). */
size_t vs_hnsw_memory(const struct vs_hnsw *h);

/* Graph order: perm (n entries) receives the nodes depth first on level 0
 * from the entry point, each node's closest unseen neighbour first (by the
 * rows vecs the graph was built on; list order when vecs is NULL),
 * perm[new] = old. Numbered in this order, most of a node's neighbours get
 * ids near its own, so their gaps code short (format 3) and a search
 * touches fewer blocks and cache lines. Errors: VS_E_NOMEM, VS_E_CORRUPT
 * (a damaged block of an opened graph). */
int vs_hnsw_order(struct vs_hnsw *h, const float *vecs, uint32_t *perm, struct vs_diag *d);
/* The same graph with node perm[i] renamed i (the rows it is searched with
 * must be stored in that order too): lists mapped and sorted, levels and
 * entry point moved. h is unchanged. Errors: VS_E_INTERNAL (perm is not a
 * permutation of 0..n-1), VS_E_NOMEM, VS_E_CORRUPT. */
int vs_hnsw_renumbered(struct vs_hnsw *h, const uint32_t *perm, struct vs_hnsw **out,
                       struct vs_diag *d);

/* Scratch for one searching thread (visited marks, heaps). */
struct vs_hnsw_scratch;
int vs_hnsw_scratch_new(const struct vs_hnsw *h,
                        struct vs_hnsw_scratch **out, struct vs_diag *d);
void vs_hnsw_scratch_free(struct vs_hnsw_scratch *s);

struct vs_hnsw_query {
    const float *vec;       /* dim floats */
    size_t k;               /* >= 1 */
    size_t ef;              /* beam width; max(ef, k) is used; 0 = 64 */
    const uint8_t *live;    /* n bytes, 1 = live; NULL = all live */
    const uint8_t *allow;   /* n bytes, 1 = may match; NULL = all */
    double exact_below;     /* admitted fraction under which the admitted
                               rows are scanned exactly; < 0 = never,
                               0 = default 0.05 */
    /* Vector codes of the same rows (vs_quant.h), or NULL: when given, the
     * graph is walked with their distances and the ef best of the beam are
     * re-scored from vecs (full precision) before the k best are kept. */
    const struct vs_quant *quant;
    /* Rows decoded on demand, or NULL when vecs holds every row: vecs is
     * then a region where only the blocks of 1 << rows->shift rows marked
     * in rows->ready (read with an acquire load) hold data, and
     * rows->load(rows->ctx, b, d) decodes block b into place (VS_OK or a
     * status with d filled). The search loads each block it touches first;
     * an exact scan loads them all. */
    const struct vs_hnsw_rows *rows;
    /* Codes checked on demand, or NULL when every code of quant may be
     * read: the same contract as rows, for the codes (blocks of
     * 1 << codes->shift rows; codes->load checks block b). The search
     * checks a code's block before its first distance to it. */
    const struct vs_hnsw_rows *codes;
};

struct vs_hnsw_rows {
    const uint8_t *ready;
    unsigned shift;
    int (*load)(void *ctx, uint64_t block, struct vs_diag *d);
    void *ctx;
};

struct vs_hnsw_hit {
    float score;    /* higher is better (vs_distance.h) */
    float raw;      /* kernel value: dot or squared L2 */
    uint64_t row;
};

struct vs_hnsw_stats {
    uint64_t visited;    /* nodes reached */
    uint64_t distances;  /* distance computations */
    uint64_t matched;    /* rows admitted by live and allow (when counted) */
    uint64_t ef;         /* beam width used */
    int exact;           /* 1 = answered by exact scan */
    int fallback;        /* 1 = graph found too few hits, rescanned exactly */
    uint64_t rescored;   /* beam entries re-scored from full precision */
};

/* Search: hits (caller array of at least k) ordered by score, ties by row.
 * vecs are the rows the graph was built over. Errors: VS_E_USAGE (k 0),
 * VS_E_CORRUPT (a damaged level-0 block), VS_E_NOMEM, or the status of a
 * failed q->rows->load (d as it filled it). */
int vs_hnsw_search(struct vs_hnsw *h, struct vs_hnsw_scratch *s,
                   const float *vecs, const struct vs_hnsw_query *q,
                   struct vs_hnsw_hit *hits, size_t *nhits,
                   struct vs_hnsw_stats *st, struct vs_diag *d);

/* Serialise into a malloc'd buffer (*buf, *len; caller frees). */
int vs_hnsw_save(const struct vs_hnsw *h, int zstd_level, void **buf,
                 size_t *len, struct vs_diag *d);
/* Open a serialised graph; the bytes are copied. Errors: VS_E_CORRUPT
 * (bad magic, checksum, sizes), VS_E_VERSION, VS_E_NOMEM. */
int vs_hnsw_open(const void *buf, size_t len, int simd, struct vs_hnsw **out,
                 struct vs_diag *d);
/* The same, taking buf (a malloc'd block) instead of copying it: the graph
 * owns it on success and it is freed on failure. */
int vs_hnsw_open_take(void *buf, size_t len, int simd, struct vs_hnsw **out,
                      struct vs_diag *d);
/* Decode and check every level-0 block (VS_E_CORRUPT on damage). */
int vs_hnsw_verify(struct vs_hnsw *h, struct vs_diag *d);

#endif
