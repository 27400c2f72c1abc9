/* vs_flat.h: exact (brute-force) top-k search over runs of vectors.
 *
 * The caller describes the data as parts (one per store segment: row-major
 * vectors, ids, an optional liveness map) and hands over a batch of queries
 * (each with its own k and an optional per-part allow map from a filter).
 * vs_flat_search scans every part once per batch: rows are cut into blocks
 * (the work units: OpenMP threads take blocks and, when there are few
 * blocks, chunks of the batch within a block) read once, in order, by the
 * scan kernels (vs_distance.h): each slice of 4 rows is scored against
 * every query of the batch while it is in L1 (4 x 4 tiles of queries x
 * vectors), the rows ahead prefetched, so even a batch of a few queries
 * streams the rows at about memory speed.
 * Each thread keeps its own top-k heaps (made before the parallel region;
 * the hot loop never allocates); the heaps are merged at the end.
 *
 * Results are exact and deterministic: hits are ordered by score (higher is
 * better, see vs_distance.h), ties by id (byte order, ascending). A query
 * gets min(k, matching live rows) hits. Queries with a selective allow map
 * (few allowed rows) are scored only on their allowed rows.
 */
#ifndef VS_FLAT_H
#define VS_FLAT_H

#include <stddef.h>
#include <stdint.h>

#include "vs_distance.h"
#include "vs_status.h"
#include "vs_metric.h"

/* One run of vectors (borrowed; must outlive the search). */
struct vs_flat_part {
    const float *vecs;        /* rows x dim, row-major */
    const char *const *ids;   /* rows ids, for tie-breaking and the hits */
    uint64_t rows;
    const uint8_t *live;      /* rows bytes, 1 = live; NULL = all live */
};

/* One query. vec has dim floats; for cosine the caller normalises it. */
struct vs_flat_query {
    const float *vec;
    size_t k;                      /* >= 1 */
    const uint8_t *const *allow;   /* per part, rows bytes (1 = may match),
                                      or NULL (a NULL entry allows all) */
};

struct vs_flat_hit {
    float score;     /* higher is better */
    float raw;       /* kernel value: dot, or squared L2 */
    size_t part;
    uint64_t row;
    const char *id;  /* borrowed from the part */
};

/* Per query: the hits (caller-owned array of at least k entries), their
 * number, and what was done. */
struct vs_flat_result {
    struct vs_flat_hit *hits;
    size_t n;
    uint64_t scanned;    /* live rows considered */
    uint64_t matched;    /* live rows the allow map admitted */
    uint64_t distances;  /* distance computations made for this query */
};

struct vs_flat_opts {
    size_t batch;        /* most queries per call (sizes the scratch), >= 1 */
    size_t kmax;         /* largest k of any query, >= 1 */
    int threads;         /* 0 = OpenMP default */
    int simd;            /* an enum vs_simd, or -1 for the best supported */
    size_t block_rows;   /* rows per block; 0 = about 256 KiB of vectors */
};

struct vs_flat;

/* A searcher for vectors of dim floats under metric, with scratch for
 * o->batch queries of k <= o->kmax on o->threads threads.
 * Errors: VS_E_USAGE (dim 0, batch or kmax 0), VS_E_UNSUPPORTED (the SIMD
 * variant asked for is not supported here), VS_E_NOMEM. */
int vs_flat_new(size_t dim, enum vs_metric metric,
                const struct vs_flat_opts *o, struct vs_flat **out,
                struct vs_diag *d);
void vs_flat_free(struct vs_flat *f);

/* The kernels in use (for --explain and benchmarks). */
const struct vs_distance_kernels *vs_flat_kernels(const struct vs_flat *f);
/* Threads the searcher runs on. */
int vs_flat_threads(const struct vs_flat *f);

/* Search nq <= batch queries over the parts. res[i] receives query i's
 * hits. Errors: VS_E_USAGE (nq > batch, k > kmax or k == 0). */
int vs_flat_search(struct vs_flat *f, const struct vs_flat_part *parts,
                   size_t nparts, const struct vs_flat_query *q, size_t nq,
                   struct vs_flat_result *res, struct vs_diag *d);

#endif
