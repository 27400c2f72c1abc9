/* distance.c: inner-product and squared-L2 kernels, scalar and SIMD, with a
 * run-time choice of variant.
 *
 * Each variant has one "tile" function computing an IQ x JX tile of pairs
 * with one accumulator per pair (IQ queries share each loaded vector chunk,
 * JX vectors share each loaded query chunk). The one-pair functions are the
 * 1 x 1 tile, so a pair gets bit-identical results in every tile shape.
 */
#include "vs_distance.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define VS_X86 1
#include <immintrin.h>
#else
#define VS_X86 0
#endif
#if defined(__wasm_simd128__)
#define VS_WASM128 1
#include <wasm_simd128.h>
#else
#define VS_WASM128 0
#endif

#define ALWAYS_INLINE static inline __attribute__((always_inline))
/* The tile loops have constant trip counts after inlining; unrolling them
 * fully keeps the accumulators in registers. */
#define UNROLL _Pragma("GCC unroll 4")
#define UNROLL8 _Pragma("GCC unroll 8")

/* Drive a tile function over the whole nq x nx block: 4 x 4 tiles, the
 * edge with 4 x 1 tiles, and the last queries (fewer than 4) one vector at
 * a time: a 1 x 4 tile reads four rows interleaved, which the hardware
 * prefetchers follow badly when the rows come from memory (measured 2-3x
 * slower than reading one row after another). TILE(q, ldq-rows, x, d, out, ldo,
 * IQ, JX) must be a macro-like call to an always-inline function. */
#define DEFINE_BLOCK(NAME, TILE)                                               \
    static void NAME(const float *q, size_t nq, const float *x, size_t nx,     \
                     size_t d, float *out, size_t ldo)                         \
    {                                                                          \
        size_t i = 0, j;                                                       \
        for (; i + 4 <= nq; i += 4) {                                          \
            for (j = 0; j + 4 <= nx; j += 4) {                                 \
                const float *xp[4] = {x + j * d, x + (j + 1) * d,              \
                                      x + (j + 2) * d, x + (j + 3) * d};       \
                TILE(q + i * d, xp, d, out + i * ldo + j, ldo, 4, 4);          \
            }                                                                  \
            for (; j < nx; j++) {                                              \
                const float *xp[1] = {x + j * d};                              \
                TILE(q + i * d, xp, d, out + i * ldo + j, ldo, 4, 1);          \
            }                                                                  \
        }                                                                      \
        for (; i < nq; i++)                                                    \
            for (j = 0; j < nx; j++) {                                         \
                const float *xp[1] = {x + j * d};                              \
                TILE(q + i * d, xp, d, out + i * ldo + j, ldo, 1, 1);          \
            }                                                                  \
    }

/* Drive a tile function over rows the scan way (the scan kernels): four
 * rows at a time, each 4-row slice scored against every query while it is
 * in L1 (4 x 4 tiles, the last 1-3 queries in one 1..3 x 4 tile), so the
 * rows are read from memory once, in order, whatever the number of
 * queries; the bytes SCAN_PREFETCH ahead of each slice are prefetched (up
 * to `ahead` rows past the block), since the 4 x 4 tiles read four rows
 * interleaved, which the hardware prefetchers follow badly. The last rows
 * (fewer than 4) take 4 x 1 and 1 x 1 tiles. Every pair is the tile
 * arithmetic of DEFINE_BLOCK: the same results. */
#define SCAN_PREFETCH 4096
#define DEFINE_SCAN(NAME, TILE)                                                \
    static void NAME(const float *q, size_t nq, const float *x, size_t nx,     \
                     size_t d, float *out, size_t ldo, size_t ahead)           \
    {                                                                          \
        const size_t slice = 4 * d * sizeof(float);                           \
        const size_t all = (nx + ahead) * d * sizeof(float);                   \
        size_t i, j = 0;                                                       \
        for (; j + 4 <= nx; j += 4) {                                          \
            size_t pf = j * d * sizeof(float) + SCAN_PREFETCH;                 \
            size_t pe = pf + slice < all ? pf + slice : all;                   \
            for (; pf < pe; pf += 64)                                          \
                __builtin_prefetch((const char *)x + pf, 0, 3);                \
            const float *xp[4] = {x + j * d, x + (j + 1) * d,                  \
                                  x + (j + 2) * d, x + (j + 3) * d};           \
            for (i = 0; i + 4 <= nq; i += 4)                                   \
                TILE(q + i * d, xp, d, out + i * ldo + j, ldo, 4, 4);          \
            switch (nq - i) {                                                  \
            case 3:                                                            \
                TILE(q + i * d, xp, d, out + i * ldo + j, ldo, 3, 4);          \
                break;                                                         \
            case 2:                                                            \
                TILE(q + i * d, xp, d, out + i * ldo + j, ldo, 2, 4);          \
                break;                                                         \
            case 1:                                                            \
                TILE(q + i * d, xp, d, out + i * ldo + j, ldo, 1, 4);          \
                break;                                                         \
            default:                                                           \
                break;                                                         \
            }                                                                  \
        }                                                                      \
        for (; j < nx; j++) {                                                  \
            const float *xp[1] = {x + j * d};                                  \
            for (i = 0; i + 4 <= nq; i += 4)                                   \
                TILE(q + i * d, xp, d, out + i * ldo + j, ldo, 4, 1);          \
            for (; i < nq; i++)                                                \
                TILE(q + i * d, xp, d, out + i * ldo + j, ldo, 1, 1);          \
        }                                                                      \
    }

/* The scan kernel of a variant built into WebAssembly (scalar, SIMD128):
 * its block kernel, which gives the same results in the block order
 * without prefetching (a prefetch is a hint; the module has a size
 * ceiling). */
#define DEFINE_SCAN_BY_BLOCK(NAME, BLOCK)                                      \
    static void NAME(const float *q, size_t nq, const float *x, size_t nx,     \
                     size_t d, float *out, size_t ldo, size_t ahead)           \
    {                                                                          \
        (void)ahead;                                                           \
        BLOCK(q, nq, x, nx, d, out, ldo);                                      \
    }

/* DEFINE_GATHER with eight rows per tile first (tile8_avx2, L2 = 1 for
 * squared L2), then four, then the tail: a graph walk's batches are 1-30
 * rows, and a 1 x 4 tile of 384-d rows waits on its four chains of 48
 * adds (SciFact, search alone: 1.10x queries per CPU second, old and new
 * kernels alternated in one process, bench/results/ann-scifact.txt). */
#define DEFINE_GATHER8(NAME, TILE, L2)                                         \
    static void NAME(const float *q, const float *x, const uint32_t *ids,      \
                     size_t n, size_t d, float *out)                           \
    {                                                                          \
        size_t j = 0;                                                          \
        for (; j + 8 <= n; j += 8) {                                           \
            const float *xp[8];                                                \
            for (int t = 0; t < 8; t++)                                        \
                xp[t] = x + (size_t)ids[j + t] * d;                            \
            tile8_avx2(q, xp, d, out + j, L2);                                 \
        }                                                                      \
        GATHER_REST(TILE)                                                      \
    }

/* Drive a tile function over gathered rows: out[j] = f(q, x + ids[j] * d),
 * four rows per 1 x 4 tile (four independent accumulators hide the add
 * latency; the caller prefetches the rows), the last 1 to 3 in one tile. */
#define DEFINE_GATHER(NAME, TILE)                                              \
    static void NAME(const float *q, const float *x, const uint32_t *ids,      \
                     size_t n, size_t d, float *out)                           \
    {                                                                          \
        size_t j = 0;                                                          \
        GATHER_REST(TILE)                                                      \
    }

/* Rows j.. of a gather: four per 1 x 4 tile, then the tail. */
#define GATHER_REST(TILE)                                                      \
    for (; j + 4 <= n; j += 4) {                                               \
        const float *xp[4] = {x + (size_t)ids[j] * d, x + (size_t)ids[j + 1] * d, \
                              x + (size_t)ids[j + 2] * d, x + (size_t)ids[j + 3] * d}; \
        TILE(q, xp, d, out + j, 1, 1, 4);                                      \
    }                                                                          \
    GATHER_TAIL(TILE)

/* The last n - j rows (0 to 3) of a gather as one 1 x (n - j) tile: their
 * accumulators' latencies overlap (one row at a time, each waited on its
 * own chain of adds). The WebAssembly module keeps the one-row loop: three
 * more tile bodies per kernel cost its size budget more than they pay. */
#ifdef __EMSCRIPTEN__
#define GATHER_TAIL(TILE)                                                      \
    for (; j < n; j++) {                                                       \
        const float *xp[1] = {x + (size_t)ids[j] * d};                         \
        TILE(q, xp, d, out + j, 1, 1, 1);                                      \
    }
#else
#define GATHER_TAIL(TILE)                                                      \
    switch (n - j) {                                                           \
    case 3: {                                                                  \
        const float *xp[3] = {x + (size_t)ids[j] * d, x + (size_t)ids[j + 1] * d, \
                              x + (size_t)ids[j + 2] * d};                     \
        TILE(q, xp, d, out + j, 1, 1, 3);                                      \
        break;                                                                 \
    }                                                                          \
    case 2: {                                                                  \
        const float *xp[2] = {x + (size_t)ids[j] * d, x + (size_t)ids[j + 1] * d}; \
        TILE(q, xp, d, out + j, 1, 1, 2);                                      \
        break;                                                                 \
    }                                                                          \
    case 1: {                                                                  \
        const float *xp[1] = {x + (size_t)ids[j] * d};                         \
        TILE(q, xp, d, out + j, 1, 1, 1);                                      \
        break;                                                                 \
    }                                                                          \
    default:                                                                   \
        break;                                                                 \
    }
#endif

/* ---- scalar reference ---- */

ALWAYS_INLINE void tile_scalar(const float *q, const float *const *xp, size_t d,
                               float *out, size_t ldo, int iq, int jx, int l2)
{
    UNROLL
    for (int i = 0; i < iq; i++)
        UNROLL
        for (int j = 0; j < jx; j++) {
            const float *a = q + (size_t)i * d, *b = xp[j];
            float acc = 0.0f;
            for (size_t k = 0; k < d; k++) {
                if (l2) {
                    float t = a[k] - b[k];
                    acc += t * t;
                } else {
                    acc += a[k] * b[k];
                }
            }
            out[(size_t)i * ldo + (size_t)j] = acc;
        }
}

#define T_SCALAR_DOT(q, x, d, o, l, I, J) tile_scalar(q, x, d, o, l, I, J, 0)
#define T_SCALAR_L2(q, x, d, o, l, I, J) tile_scalar(q, x, d, o, l, I, J, 1)
DEFINE_BLOCK(scalar_dot_block, T_SCALAR_DOT)
DEFINE_BLOCK(scalar_l2_block, T_SCALAR_L2)
DEFINE_SCAN_BY_BLOCK(scalar_dot_scan, scalar_dot_block)
DEFINE_SCAN_BY_BLOCK(scalar_l2_scan, scalar_l2_block)
DEFINE_GATHER(scalar_dot_ids, T_SCALAR_DOT)
DEFINE_GATHER(scalar_l2_ids, T_SCALAR_L2)

static float scalar_dot(const float *a, const float *b, size_t d)
{
    float r;
    tile_scalar(a, &b, d, &r, 1, 1, 1, 0);
    return r;
}

static float scalar_l2(const float *a, const float *b, size_t d)
{
    float r;
    tile_scalar(a, &b, d, &r, 1, 1, 1, 1);
    return r;
}

#if VS_X86
/* ---- SSE2: 4 lanes ---- */

__attribute__((target("sse2"))) ALWAYS_INLINE float hsum128(__m128 v)
{
    /* (x0 + x1) + (x2 + x3) */
    __m128 s = _mm_add_ps(v, _mm_shuffle_ps(v, v, _MM_SHUFFLE(2, 3, 0, 1)));
    s = _mm_add_ps(s, _mm_shuffle_ps(s, s, _MM_SHUFFLE(1, 0, 3, 2)));
    return _mm_cvtss_f32(s);
}

__attribute__((target("sse2"))) ALWAYS_INLINE void
tile_sse(const float *q, const float *const *xp, size_t d, float *out, size_t ldo,
         int iq, int jx, int l2)
{
    __m128 acc[4][4];
    UNROLL
    for (int i = 0; i < iq; i++)
        UNROLL
        for (int j = 0; j < jx; j++)
            acc[i][j] = _mm_setzero_ps();
    size_t k = 0;
    for (; k + 4 <= d; k += 4) {
        __m128 xv[4];
        UNROLL
        for (int j = 0; j < jx; j++)
            xv[j] = _mm_loadu_ps(xp[j] + k);
        UNROLL
        for (int i = 0; i < iq; i++) {
            __m128 qv = _mm_loadu_ps(q + (size_t)i * d + k);
            UNROLL
            for (int j = 0; j < jx; j++) {
                if (l2) {
                    __m128 t = _mm_sub_ps(qv, xv[j]);
                    acc[i][j] = _mm_add_ps(acc[i][j], _mm_mul_ps(t, t));
                } else {
                    acc[i][j] = _mm_add_ps(acc[i][j], _mm_mul_ps(qv, xv[j]));
                }
            }
        }
    }
    if (k < d) {
        size_t rem = d - k;
        float qb[4][4], xb[4][4];
        memset(qb, 0, sizeof qb);
        memset(xb, 0, sizeof xb);
        UNROLL
        for (int j = 0; j < jx; j++)
            memcpy(xb[j], xp[j] + k, rem * sizeof(float));
        UNROLL
        for (int i = 0; i < iq; i++)
            memcpy(qb[i], q + (size_t)i * d + k, rem * sizeof(float));
        UNROLL
        for (int i = 0; i < iq; i++) {
            __m128 qv = _mm_loadu_ps(qb[i]);
            UNROLL
            for (int j = 0; j < jx; j++) {
                __m128 xv = _mm_loadu_ps(xb[j]);
                if (l2) {
                    __m128 t = _mm_sub_ps(qv, xv);
                    acc[i][j] = _mm_add_ps(acc[i][j], _mm_mul_ps(t, t));
                } else {
                    acc[i][j] = _mm_add_ps(acc[i][j], _mm_mul_ps(qv, xv));
                }
            }
        }
    }
    UNROLL
    for (int i = 0; i < iq; i++)
        UNROLL
        for (int j = 0; j < jx; j++)
            out[(size_t)i * ldo + (size_t)j] = hsum128(acc[i][j]);
}

#define T_SSE_DOT(q, x, d, o, l, I, J) tile_sse(q, x, d, o, l, I, J, 0)
#define T_SSE_L2(q, x, d, o, l, I, J) tile_sse(q, x, d, o, l, I, J, 1)
__attribute__((target("sse2"))) DEFINE_BLOCK(sse_dot_block, T_SSE_DOT)
__attribute__((target("sse2"))) DEFINE_BLOCK(sse_l2_block, T_SSE_L2)
__attribute__((target("sse2"))) DEFINE_SCAN(sse_dot_scan, T_SSE_DOT)
__attribute__((target("sse2"))) DEFINE_SCAN(sse_l2_scan, T_SSE_L2)
__attribute__((target("sse2"))) DEFINE_GATHER(sse_dot_ids, T_SSE_DOT)
__attribute__((target("sse2"))) DEFINE_GATHER(sse_l2_ids, T_SSE_L2)

__attribute__((target("sse2"))) static float sse_dot(const float *a,
                                                     const float *b, size_t d)
{
    float r;
    tile_sse(a, &b, d, &r, 1, 1, 1, 0);
    return r;
}

__attribute__((target("sse2"))) static float sse_l2(const float *a,
                                                    const float *b, size_t d)
{
    float r;
    tile_sse(a, &b, d, &r, 1, 1, 1, 1);
    return r;
}

/* ---- AVX2 + FMA: 8 lanes ---- */

#define AVX2_T "avx2,fma"

__attribute__((target(AVX2_T))) ALWAYS_INLINE float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_shuffle_ps(s, s, _MM_SHUFFLE(2, 3, 0, 1)));
    s = _mm_add_ps(s, _mm_shuffle_ps(s, s, _MM_SHUFFLE(1, 0, 3, 2)));
    return _mm_cvtss_f32(s);
}

static const int tail_mask8[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                   0,  0,  0,  0,  0,  0,  0,  0};

/* Four hsum256 results with shared shuffles, bit-identical to hsum256. */
__attribute__((target(AVX2_T))) ALWAYS_INLINE __m128 hsum256x4(__m256 a, __m256 b,
                                                              __m256 c, __m256 e)
{
    __m256 ab = _mm256_add_ps(_mm256_permute2f128_ps(a, b, 0x20),
                              _mm256_permute2f128_ps(a, b, 0x31));
    __m256 ce = _mm256_add_ps(_mm256_permute2f128_ps(c, e, 0x20),
                              _mm256_permute2f128_ps(c, e, 0x31));
    ab = _mm256_add_ps(ab, _mm256_shuffle_ps(ab, ab, _MM_SHUFFLE(2, 3, 0, 1)));
    ab = _mm256_add_ps(ab, _mm256_shuffle_ps(ab, ab, _MM_SHUFFLE(1, 0, 3, 2)));
    ce = _mm256_add_ps(ce, _mm256_shuffle_ps(ce, ce, _MM_SHUFFLE(2, 3, 0, 1)));
    ce = _mm256_add_ps(ce, _mm256_shuffle_ps(ce, ce, _MM_SHUFFLE(1, 0, 3, 2)));
    __m256 u = _mm256_shuffle_ps(ab, ce, _MM_SHUFFLE(0, 0, 0, 0)); /* a a c c | b b e e */
    return _mm_blend_ps(_mm256_castps256_ps128(u), _mm256_extractf128_ps(u, 1), 0xA);
}

__attribute__((target(AVX2_T))) ALWAYS_INLINE void
tile_avx2(const float *q, const float *const *xp, size_t d, float *out, size_t ldo,
          int iq, int jx, int l2)
{
    __m256 acc[4][4];
    UNROLL
    for (int i = 0; i < iq; i++)
        UNROLL
        for (int j = 0; j < jx; j++)
            acc[i][j] = _mm256_setzero_ps();
    size_t k = 0;
    for (; k + 8 <= d; k += 8) {
        __m256 xv[4];
        UNROLL
        for (int j = 0; j < jx; j++)
            xv[j] = _mm256_loadu_ps(xp[j] + k);
        UNROLL
        for (int i = 0; i < iq; i++) {
            __m256 qv = _mm256_loadu_ps(q + (size_t)i * d + k);
            UNROLL
            for (int j = 0; j < jx; j++) {
                if (l2) {
                    __m256 t = _mm256_sub_ps(qv, xv[j]);
                    acc[i][j] = _mm256_fmadd_ps(t, t, acc[i][j]);
                } else {
                    acc[i][j] = _mm256_fmadd_ps(qv, xv[j], acc[i][j]);
                }
            }
        }
    }
    if (k < d) {
        __m256i m = _mm256_loadu_si256((const __m256i *)(tail_mask8 + 8 - (d - k)));
        __m256 xv[4];
        UNROLL
        for (int j = 0; j < jx; j++)
            xv[j] = _mm256_maskload_ps(xp[j] + k, m);
        UNROLL
        for (int i = 0; i < iq; i++) {
            __m256 qv = _mm256_maskload_ps(q + (size_t)i * d + k, m);
            UNROLL
            for (int j = 0; j < jx; j++) {
                if (l2) {
                    __m256 t = _mm256_sub_ps(qv, xv[j]);
                    acc[i][j] = _mm256_fmadd_ps(t, t, acc[i][j]);
                } else {
                    acc[i][j] = _mm256_fmadd_ps(qv, xv[j], acc[i][j]);
                }
            }
        }
    }
    if (jx == 4) {
        UNROLL
        for (int i = 0; i < iq; i++)
            _mm_storeu_ps(out + (size_t)i * ldo,
                          hsum256x4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]));
        return;
    }
    UNROLL
    for (int i = 0; i < iq; i++)
        UNROLL
        for (int j = 0; j < jx; j++)
            out[(size_t)i * ldo + (size_t)j] = hsum256(acc[i][j]);
}

/* Eight gathered rows against one query (the gather kernel's main tile):
 * eight accumulator chains in flight instead of four, each pair's
 * arithmetic that of tile_avx2 (the same loads, order, tail and hsum). */
__attribute__((target(AVX2_T))) ALWAYS_INLINE void
tile8_avx2(const float *q, const float *const *xp, size_t d, float *out, int l2)
{
    __m256 acc[8];
    UNROLL8
    for (int j = 0; j < 8; j++)
        acc[j] = _mm256_setzero_ps();
    size_t k = 0;
    for (; k + 8 <= d; k += 8) {
        __m256 qv = _mm256_loadu_ps(q + k);
        UNROLL8
        for (int j = 0; j < 8; j++) {
            __m256 xv = _mm256_loadu_ps(xp[j] + k);
            if (l2) {
                __m256 t = _mm256_sub_ps(qv, xv);
                acc[j] = _mm256_fmadd_ps(t, t, acc[j]);
            } else {
                acc[j] = _mm256_fmadd_ps(qv, xv, acc[j]);
            }
        }
    }
    if (k < d) {
        __m256i m = _mm256_loadu_si256((const __m256i *)(tail_mask8 + 8 - (d - k)));
        __m256 qv = _mm256_maskload_ps(q + k, m);
        UNROLL8
        for (int j = 0; j < 8; j++) {
            __m256 xv = _mm256_maskload_ps(xp[j] + k, m);
            if (l2) {
                __m256 t = _mm256_sub_ps(qv, xv);
                acc[j] = _mm256_fmadd_ps(t, t, acc[j]);
            } else {
                acc[j] = _mm256_fmadd_ps(qv, xv, acc[j]);
            }
        }
    }
    _mm_storeu_ps(out, hsum256x4(acc[0], acc[1], acc[2], acc[3]));
    _mm_storeu_ps(out + 4, hsum256x4(acc[4], acc[5], acc[6], acc[7]));
}

#define T_AVX2_DOT(q, x, d, o, l, I, J) tile_avx2(q, x, d, o, l, I, J, 0)
#define T_AVX2_L2(q, x, d, o, l, I, J) tile_avx2(q, x, d, o, l, I, J, 1)
__attribute__((target(AVX2_T))) DEFINE_BLOCK(avx2_dot_block, T_AVX2_DOT)
__attribute__((target(AVX2_T))) DEFINE_BLOCK(avx2_l2_block, T_AVX2_L2)
__attribute__((target(AVX2_T))) DEFINE_SCAN(avx2_dot_scan, T_AVX2_DOT)
__attribute__((target(AVX2_T))) DEFINE_SCAN(avx2_l2_scan, T_AVX2_L2)
__attribute__((target(AVX2_T))) DEFINE_GATHER8(avx2_dot_ids, T_AVX2_DOT, 0)
__attribute__((target(AVX2_T))) DEFINE_GATHER8(avx2_l2_ids, T_AVX2_L2, 1)

__attribute__((target(AVX2_T))) static float avx2_dot(const float *a,
                                                      const float *b, size_t d)
{
    float r;
    tile_avx2(a, &b, d, &r, 1, 1, 1, 0);
    return r;
}

__attribute__((target(AVX2_T))) static float avx2_l2(const float *a,
                                                     const float *b, size_t d)
{
    float r;
    tile_avx2(a, &b, d, &r, 1, 1, 1, 1);
    return r;
}

/* ---- AVX-512F: 16 lanes, masked tail ---- */

/* GCC 12's avx512fintrin.h builds _mm512_undefined_ps() as a self-initialised
 * variable, which -Winit-self turns into (maybe-)uninitialized warnings at
 * every inlined shuffle or cast: silence those two here only. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#ifndef __clang__ /* a GCC-only warning group */
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define AVX512_T "avx512f,avx2,fma"

__attribute__((target(AVX512_T))) ALWAYS_INLINE float hsum512(__m512 v)
{
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v),
                             _mm512_castps512_ps256(_mm512_shuffle_f32x4(
                                 v, v, _MM_SHUFFLE(3, 2, 3, 2))));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_shuffle_ps(s, s, _MM_SHUFFLE(2, 3, 0, 1)));
    s = _mm_add_ps(s, _mm_shuffle_ps(s, s, _MM_SHUFFLE(1, 0, 3, 2)));
    return _mm_cvtss_f32(s);
}

/* The four sums of a, b, c, e by exactly the additions hsum512 makes
 * (lo256 + hi256, lo128 + hi128, (x0 + x1) + (x2 + x3)), sharing the
 * shuffles: bit-identical to four hsum512 calls in fewer instructions. */
__attribute__((target(AVX512_T))) ALWAYS_INLINE __m128 hsum512x4(__m512 a, __m512 b,
                                                                __m512 c, __m512 e)
{
    __m512 ab = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(1, 0, 1, 0)),
                              _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 2, 3, 2)));
    __m512 ce = _mm512_add_ps(_mm512_shuffle_f32x4(c, e, _MM_SHUFFLE(1, 0, 1, 0)),
                              _mm512_shuffle_f32x4(c, e, _MM_SHUFFLE(3, 2, 3, 2)));
    __m512 s = _mm512_add_ps(_mm512_shuffle_f32x4(ab, ce, _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_f32x4(ab, ce, _MM_SHUFFLE(3, 1, 3, 1)));
    s = _mm512_add_ps(s, _mm512_shuffle_ps(s, s, _MM_SHUFFLE(2, 3, 0, 1)));
    s = _mm512_add_ps(s, _mm512_shuffle_ps(s, s, _MM_SHUFFLE(1, 0, 3, 2)));
    return _mm512_castps512_ps128(_mm512_maskz_compress_ps(0x1111, s));
}

__attribute__((target(AVX512_T))) ALWAYS_INLINE void
tile_avx512(const float *q, const float *const *xp, size_t d, float *out, size_t ldo,
            int iq, int jx, int l2)
{
    __m512 acc[4][4];
    UNROLL
    for (int i = 0; i < iq; i++)
        UNROLL
        for (int j = 0; j < jx; j++)
            acc[i][j] = _mm512_setzero_ps();
    size_t k = 0;
    for (; k + 16 <= d; k += 16) {
        __m512 xv[4];
        UNROLL
        for (int j = 0; j < jx; j++)
            xv[j] = _mm512_loadu_ps(xp[j] + k);
        UNROLL
        for (int i = 0; i < iq; i++) {
            __m512 qv = _mm512_loadu_ps(q + (size_t)i * d + k);
            UNROLL
            for (int j = 0; j < jx; j++) {
                if (l2) {
                    __m512 t = _mm512_sub_ps(qv, xv[j]);
                    acc[i][j] = _mm512_fmadd_ps(t, t, acc[i][j]);
                } else {
                    acc[i][j] = _mm512_fmadd_ps(qv, xv[j], acc[i][j]);
                }
            }
        }
    }
    if (k < d) {
        __mmask16 m = (__mmask16)((1u << (d - k)) - 1u);
        __m512 xv[4];
        UNROLL
        for (int j = 0; j < jx; j++)
            xv[j] = _mm512_maskz_loadu_ps(m, xp[j] + k);
        UNROLL
        for (int i = 0; i < iq; i++) {
            __m512 qv = _mm512_maskz_loadu_ps(m, q + (size_t)i * d + k);
            UNROLL
            for (int j = 0; j < jx; j++) {
                if (l2) {
                    __m512 t = _mm512_sub_ps(qv, xv[j]);
                    acc[i][j] = _mm512_fmadd_ps(t, t, acc[i][j]);
                } else {
                    acc[i][j] = _mm512_fmadd_ps(qv, xv[j], acc[i][j]);
                }
            }
        }
    }
    if (jx == 4) {
        UNROLL
        for (int i = 0; i < iq; i++)
            _mm_storeu_ps(out + (size_t)i * ldo,
                          hsum512x4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]));
        return;
    }
    UNROLL
    for (int i = 0; i < iq; i++)
        UNROLL
        for (int j = 0; j < jx; j++)
            out[(size_t)i * ldo + (size_t)j] = hsum512(acc[i][j]);
}

#define T_AVX512_DOT(q, x, d, o, l, I, J) tile_avx512(q, x, d, o, l, I, J, 0)
#define T_AVX512_L2(q, x, d, o, l, I, J) tile_avx512(q, x, d, o, l, I, J, 1)
__attribute__((target(AVX512_T))) DEFINE_BLOCK(avx512_dot_block, T_AVX512_DOT)
__attribute__((target(AVX512_T))) DEFINE_BLOCK(avx512_l2_block, T_AVX512_L2)
__attribute__((target(AVX512_T))) DEFINE_SCAN(avx512_dot_scan, T_AVX512_DOT)
__attribute__((target(AVX512_T))) DEFINE_SCAN(avx512_l2_scan, T_AVX512_L2)
__attribute__((target(AVX512_T))) DEFINE_GATHER(avx512_dot_ids, T_AVX512_DOT)
__attribute__((target(AVX512_T))) DEFINE_GATHER(avx512_l2_ids, T_AVX512_L2)

__attribute__((target(AVX512_T))) static float avx512_dot(const float *a,
                                                          const float *b, size_t d)
{
    float r;
    tile_avx512(a, &b, d, &r, 1, 1, 1, 0);
    return r;
}

__attribute__((target(AVX512_T))) static float avx512_l2(const float *a,
                                                         const float *b, size_t d)
{
    float r;
    tile_avx512(a, &b, d, &r, 1, 1, 1, 1);
    return r;
}
#pragma GCC diagnostic pop
#endif /* VS_X86 */

#if VS_WASM128
/* ---- WebAssembly SIMD128: 4 lanes, the same arithmetic as SSE2 ---- */

ALWAYS_INLINE float hsum_w128(v128_t v)
{
    /* (x0 + x1) + (x2 + x3) */
    v128_t s = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
    s = wasm_f32x4_add(s, wasm_i32x4_shuffle(s, s, 2, 3, 0, 1));
    return wasm_f32x4_extract_lane(s, 0);
}

ALWAYS_INLINE v128_t step_w128(v128_t acc, v128_t qv, v128_t xv, int l2)
{
    if (l2) {
        v128_t t = wasm_f32x4_sub(qv, xv);
        return wasm_f32x4_add(acc, wasm_f32x4_mul(t, t));
    }
    return wasm_f32x4_add(acc, wasm_f32x4_mul(qv, xv));
}

ALWAYS_INLINE void tile_w128(const float *q, const float *const *xp, size_t d,
                             float *out, size_t ldo, int iq, int jx, int l2)
{
    v128_t acc[4][4];
    UNROLL
    for (int i = 0; i < iq; i++)
        UNROLL
        for (int j = 0; j < jx; j++)
            acc[i][j] = wasm_f32x4_splat(0.0f);
    size_t k = 0;
    for (; k + 4 <= d; k += 4) {
        v128_t xv[4];
        UNROLL
        for (int j = 0; j < jx; j++)
            xv[j] = wasm_v128_load(xp[j] + k);
        UNROLL
        for (int i = 0; i < iq; i++) {
            v128_t qv = wasm_v128_load(q + (size_t)i * d + k);
            UNROLL
            for (int j = 0; j < jx; j++)
                acc[i][j] = step_w128(acc[i][j], qv, xv[j], l2);
        }
    }
    if (k < d) {
        size_t rem = d - k;
        float qb[4][4], xb[4][4];
        memset(qb, 0, sizeof qb);
        memset(xb, 0, sizeof xb);
        UNROLL
        for (int j = 0; j < jx; j++)
            memcpy(xb[j], xp[j] + k, rem * sizeof(float));
        UNROLL
        for (int i = 0; i < iq; i++)
            memcpy(qb[i], q + (size_t)i * d + k, rem * sizeof(float));
        UNROLL
        for (int i = 0; i < iq; i++) {
            v128_t qv = wasm_v128_load(qb[i]);
            UNROLL
            for (int j = 0; j < jx; j++)
                acc[i][j] = step_w128(acc[i][j], qv, wasm_v128_load(xb[j]), l2);
        }
    }
    UNROLL
    for (int i = 0; i < iq; i++)
        UNROLL
        for (int j = 0; j < jx; j++)
            out[(size_t)i * ldo + (size_t)j] = hsum_w128(acc[i][j]);
}

#define T_W128_DOT(q, x, d, o, l, I, J) tile_w128(q, x, d, o, l, I, J, 0)
#define T_W128_L2(q, x, d, o, l, I, J) tile_w128(q, x, d, o, l, I, J, 1)
DEFINE_BLOCK(w128_dot_block, T_W128_DOT)
DEFINE_BLOCK(w128_l2_block, T_W128_L2)
DEFINE_SCAN_BY_BLOCK(w128_dot_scan, w128_dot_block)
DEFINE_SCAN_BY_BLOCK(w128_l2_scan, w128_l2_block)
DEFINE_GATHER(w128_dot_ids, T_W128_DOT)
DEFINE_GATHER(w128_l2_ids, T_W128_L2)

static float w128_dot(const float *a, const float *b, size_t d)
{
    float r;
    tile_w128(a, &b, d, &r, 1, 1, 1, 0);
    return r;
}

static float w128_l2(const float *a, const float *b, size_t d)
{
    float r;
    tile_w128(a, &b, d, &r, 1, 1, 1, 1);
    return r;
}
#endif /* VS_WASM128 */

static const struct vs_distance_kernels table[VS_SIMD_COUNT] = {
    {VS_SIMD_SCALAR, "scalar", scalar_dot, scalar_l2, scalar_dot_block, scalar_l2_block,
     scalar_dot_ids, scalar_l2_ids, scalar_dot_scan, scalar_l2_scan},
#if VS_X86
    {VS_SIMD_SSE, "sse", sse_dot, sse_l2, sse_dot_block, sse_l2_block,
     sse_dot_ids, sse_l2_ids, sse_dot_scan, sse_l2_scan},
    {VS_SIMD_AVX2, "avx2", avx2_dot, avx2_l2, avx2_dot_block, avx2_l2_block,
     avx2_dot_ids, avx2_l2_ids, avx2_dot_scan, avx2_l2_scan},
    {VS_SIMD_AVX512, "avx512", avx512_dot, avx512_l2, avx512_dot_block, avx512_l2_block,
     avx512_dot_ids, avx512_l2_ids, avx512_dot_scan, avx512_l2_scan},
#else
    {VS_SIMD_SSE, "sse", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
    {VS_SIMD_AVX2, "avx2", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
    {VS_SIMD_AVX512, "avx512", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
#endif
#if VS_WASM128
    {VS_SIMD_SIMD128, "simd128", w128_dot, w128_l2, w128_dot_block, w128_l2_block,
     w128_dot_ids, w128_l2_ids, w128_dot_scan, w128_l2_scan},
#else
    {VS_SIMD_SIMD128, "simd128", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
#endif
};

int vs_distance_supported(enum vs_simd level)
{
    switch (level) {
    case VS_SIMD_SCALAR:
        return 1;
#if VS_X86
    case VS_SIMD_SSE:
        return __builtin_cpu_supports("sse2");
    case VS_SIMD_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case VS_SIMD_AVX512:
        return __builtin_cpu_supports("avx512f") &&
               __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
#if VS_WASM128
    case VS_SIMD_SIMD128:
        return 1; /* the module would not have compiled without SIMD128 */
#endif
    default:
        return 0;
    }
}

const struct vs_distance_kernels *vs_distance_kernels(enum vs_simd level)
{
    if ((int)level < 0 || level >= VS_SIMD_COUNT || !vs_distance_supported(level))
        return NULL;
    return &table[level];
}

const struct vs_distance_kernels *vs_distance_best(void)
{
    for (int l = VS_SIMD_COUNT - 1; l > 0; l--)
        if (vs_distance_supported((enum vs_simd)l))
            return &table[l];
    return &table[VS_SIMD_SCALAR];
}

int vs_simd_parse(const char *name, enum vs_simd *out)
{
    for (int l = 0; l < VS_SIMD_COUNT; l++)
        if (name && strcmp(name, table[l].name) == 0) {
            *out = (enum vs_simd)l;
            return VS_OK;
        }
    return VS_E_USAGE;
}

const char *vs_simd_name(enum vs_simd level)
{
    if ((int)level < 0 || level >= VS_SIMD_COUNT)
        return "unknown";
    return table[level].name;
}

float vs_distance_score(enum vs_metric m, float raw, float *distance,
                        int *has_distance)
{
    float score, dist = 0.0f;
    int has = 1;
    switch (m) {
    case VS_METRIC_COSINE:
        score = raw > 1.0f ? 1.0f : raw < -1.0f ? -1.0f : raw;
        dist = 1.0f - score;
        break;
    case VS_METRIC_L2:
        score = raw == 0.0f ? 0.0f : -raw;
        dist = raw;
        break;
    default:
        score = raw;
        has = 0;
        break;
    }
    if (distance)
        *distance = dist;
    if (has_distance)
        *has_distance = has;
    return score;
}

int vs_distance_normalize(float *v, size_t d)
{
    double s = 0.0;
    for (size_t i = 0; i < d; i++)
        s += (double)v[i] * (double)v[i];
    if (!(s > 0.0) || !isfinite(s))
        return VS_E_DATA;
    double norm = sqrt(s); /* the same arithmetic as the store's ingest */
    for (size_t i = 0; i < d; i++)
        v[i] = (float)((double)v[i] / norm);
    return VS_OK;
}
