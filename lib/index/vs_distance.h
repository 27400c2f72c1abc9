/* vs_distance.h: distance kernels (inner product and squared L2) with a
 * scalar reference and SSE, AVX2 and AVX-512 variants picked at run time.
 *
 * Every variant computes one pair (query, vector) the same way whether it is
 * called for one pair or inside a block: one accumulator per pair, summed in
 * the same order, reduced by the same tree. So a score never depends on the
 * batch size, the block shape or the thread count, only on the variant.
 * Different variants agree to rounding (the tests pin that).
 *
 * Metrics and scores (higher is better for every metric):
 *   cosine  score = dot of L2-normalised vectors, clamped to [-1, 1];
 *           distance = 1 - score, in [0, 2]
 *   dot     score = dot product (unbounded); no distance
 *   l2      score = -(squared L2 distance) <= 0; distance = squared L2
 */
#ifndef VS_DISTANCE_H
#define VS_DISTANCE_H

#include <stddef.h>
#include <stdint.h>

#include "vs_status.h"
#include "vs_metric.h"

enum vs_simd {
    VS_SIMD_SCALAR = 0,
    VS_SIMD_SSE = 1,    /* SSE2: 4 lanes, multiply + add */
    VS_SIMD_AVX2 = 2,   /* AVX2 + FMA: 8 lanes */
    VS_SIMD_AVX512 = 3, /* AVX-512F: 16 lanes, masked tails */
    VS_SIMD_SIMD128 = 4, /* WebAssembly SIMD128 (a build with -msimd128) */
    VS_SIMD_COUNT = 5
};

/* Block kernels: out[i * ldo + j] = f(q + i * d, x + j * d) for i < nq,
 * j < nx (q and x row-major with row stride d). */
typedef void (*vs_block_fn)(const float *q, size_t nq, const float *x,
                            size_t nx, size_t d, float *out, size_t ldo);

/* Gather kernels: out[j] = f(q, x + ids[j] * d) for j < n (rows picked by
 * id, as a graph search visits them; four rows share each query load). */
typedef void (*vs_gather_fn)(const float *q, const float *x, const uint32_t *ids,
                             size_t n, size_t d, float *out);

/* Scan kernels: the block kernels' results (same signature plus `ahead`)
 * computed in the order of an exact scan of many rows by few queries
 * (vs_flat): four rows at a time, each scored against every query while it
 * is in L1, the rows ahead prefetched (up to `ahead` rows past x + nx * d,
 * which must exist), so the rows stream from memory once. */
typedef void (*vs_scan_fn)(const float *q, size_t nq, const float *x, size_t nx,
                           size_t d, float *out, size_t ldo, size_t ahead);

struct vs_distance_kernels {
    enum vs_simd level;
    const char *name;                                   /* "avx2", ... */
    float (*dot)(const float *a, const float *b, size_t d);
    float (*l2sq)(const float *a, const float *b, size_t d);
    vs_block_fn dot_block;
    vs_block_fn l2sq_block;
    vs_gather_fn dot_ids;
    vs_gather_fn l2sq_ids;
    vs_scan_fn dot_scan;
    vs_scan_fn l2sq_scan;
};

/* 1 when this CPU (and this build) can run the variant. */
int vs_distance_supported(enum vs_simd level);

/* The kernels of a variant, or NULL when the CPU cannot run it. The table is
 * static: never freed. */
const struct vs_distance_kernels *vs_distance_kernels(enum vs_simd level);

/* The fastest supported variant. */
const struct vs_distance_kernels *vs_distance_best(void);

/* "scalar", "sse", "avx2", "avx512" -> level; VS_E_USAGE otherwise. */
int vs_simd_parse(const char *name, enum vs_simd *out);
const char *vs_simd_name(enum vs_simd level);

/* The raw value a metric's kernel gives (dot for cosine and dot, squared L2
 * for l2) turned into the score and the distance (*has_distance is 0 for
 * dot). has_distance and distance may be NULL. */
float vs_distance_score(enum vs_metric m, float raw, float *distance,
                        int *has_distance);

/* Scale v to unit L2 norm in place. VS_E_DATA when the norm is 0 (the
 * vector cannot be normalised). */
int vs_distance_normalize(float *v, size_t d);

#endif
