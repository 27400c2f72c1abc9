/* quant.c: f16, sq8 and binary vector codes: encoding, prepared queries and
 * scalar and AVX2 distance kernels. Building, saving and opening the codes
 * are in quant_file.c. See vs_quant.h. */
#include "quant_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define VS_QUANT_X86 1
#else
#define VS_QUANT_X86 0
#endif

/* the int8 weights of a prepared sq8 query, zero up to a multiple of 64 */
static inline size_t i8pad(size_t d)
{
    return (d + 63) / 64 * 64;
}

/* The tile loops have constant trip counts once inlined: unrolled fully,
 * their accumulators stay in registers. */
#define UNROLL _Pragma("GCC unroll 4")

/* ---- names ---- */

static const char *const NAMES[] = {"none", "f16", "sq8", "binary"};

int vs_quant_parse(const char *name, enum vs_quant_kind *out)
{
    for (int i = 0; i < 4; i++)
        if (name && !strcmp(name, NAMES[i])) {
            *out = (enum vs_quant_kind)i;
            return VS_OK;
        }
    return VS_E_USAGE;
}

const char *vs_quant_name(enum vs_quant_kind k)
{
    return (unsigned)k < 4 ? NAMES[k] : "unknown";
}

/* ---- half floats ---- */

uint16_t vs_quant_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t ex = (x >> 23) & 0xffu, man = x & 0x7fffffu;
    if (ex == 0xff) /* inf or nan */
        return (uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0));
    int e = (int)ex - 127 + 15;
    if (e >= 31)
        return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) { /* subnormal half or zero */
        if (e < -10)
            return (uint16_t)sign;
        man |= 0x800000u;
        unsigned shift = (unsigned)(14 - e);
        uint32_t h = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1)))
            h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1)))
        h++; /* may carry into the exponent: still right (up to inf) */
    return (uint16_t)(sign | h);
}

float vs_quant_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu, man = h & 0x3ffu, x;
    if (e == 0) {
        if (man == 0) {
            x = sign;
        } else { /* subnormal: normalise */
            int k = -1;
            do {
                k++;
                man <<= 1;
            } while (!(man & 0x400u));
            x = sign | ((uint32_t)(127 - 15 - k) << 23) | ((man & 0x3ffu) << 13);
        }
    } else if (e == 31) {
        x = sign | 0x7f800000u | (man << 13);
    } else {
        x = sign | ((e - 15 + 127) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &x, 4);
    return f;
}

static inline uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint64_t get64w(const uint8_t *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
}

/* ---- scalar reference kernels ---- */

static float f16_l2_ref(const struct vs_quant *q, const float *p, const uint8_t *c)
{
    float s = 0;
    for (size_t i = 0; i < q->dim; i++) {
        float t = p[i] - vs_quant_f16_to_f32(get16(c + 2 * i));
        s += t * t;
    }
    return s;
}

static float f16_dot_ref(const struct vs_quant *q, const float *p, const uint8_t *c)
{
    float s = 0;
    for (size_t i = 0; i < q->dim; i++)
        s += p[i] * vs_quant_f16_to_f32(get16(c + 2 * i));
    return -s;
}

/* sq8 l2: p = q - offset; dist = sum (p_i - scale_i c_i)^2 */
static float sq8_l2_ref(const struct vs_quant *q, const float *p, const uint8_t *c)
{
    float s = 0;
    for (size_t i = 0; i < q->dim; i++) {
        float t = p[i] - q->scale[i] * (float)c[i];
        s += t * t;
    }
    return s;
}

/* sq8 dot: p_i = q_i scale_i, p[dim] = q . offset */
static float sq8_dot_ref(const struct vs_quant *q, const float *p, const uint8_t *c)
{
    float s = 0;
    for (size_t i = 0; i < q->dim; i++)
        s += p[i] * (float)c[i];
    return -(s + p[q->dim]);
}

/* one row's sq8 l2 norm, in order (the reference for sq8_norm_avx2) */
static float sq8_norm_ref(const struct vs_quant *q, const uint8_t *c)
{
    float s = 0;
    for (size_t i = 0; i < q->dim; i++) {
        float t = q->scale[i] * (float)c[i];
        s += t * t;
    }
    return s;
}

static float bin_ref(const struct vs_quant *q, const float *p, const uint8_t *c)
{
    const uint8_t *pq = (const uint8_t *)p;
    unsigned s = 0;
    for (size_t w = 0; w < q->cb; w += 8)
        s += (unsigned)__builtin_popcountll(get64w(pq + w) ^ get64w(c + w));
    return (float)s;
}

/* ---- AVX2 kernels ---- */

#if VS_QUANT_X86
#define QT "avx2,fma,f16c,popcnt"

__attribute__((target(QT))) static inline float hsum8(__m256 v)
{
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_add_ps(a, _mm_movehl_ps(a, a));
    a = _mm_add_ss(a, _mm_shuffle_ps(a, a, 1));
    return _mm_cvtss_f32(a);
}

__attribute__((target(QT))) static float f16_l2_avx2(const struct vs_quant *q,
                                                     const float *p, const uint8_t *c)
{
    __m256 acc = _mm256_setzero_ps();
    size_t i = 0, d = q->dim;
    for (; i + 8 <= d; i += 8) {
        __m256 h = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(c + 2 * i)));
        __m256 t = _mm256_sub_ps(_mm256_loadu_ps(p + i), h);
        acc = _mm256_fmadd_ps(t, t, acc);
    }
    float s = hsum8(acc);
    for (; i < d; i++) {
        float t = p[i] - vs_quant_f16_to_f32(get16(c + 2 * i));
        s += t * t;
    }
    return s;
}

__attribute__((target(QT))) static float f16_dot_avx2(const struct vs_quant *q,
                                                      const float *p, const uint8_t *c)
{
    __m256 acc = _mm256_setzero_ps();
    size_t i = 0, d = q->dim;
    for (; i + 8 <= d; i += 8) {
        __m256 h = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(c + 2 * i)));
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(p + i), h, acc);
    }
    float s = hsum8(acc);
    for (; i < d; i++)
        s += p[i] * vs_quant_f16_to_f32(get16(c + 2 * i));
    return -s;
}

__attribute__((target(QT))) static inline __m256 load8u8(const uint8_t *c)
{
    __m128i b = _mm_loadl_epi64((const __m128i *)(const void *)c);
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b));
}

__attribute__((target(QT))) static float sq8_l2_avx2(const struct vs_quant *q,
                                                     const float *p, const uint8_t *c)
{
    __m256 acc = _mm256_setzero_ps();
    size_t i = 0, d = q->dim;
    for (; i + 8 <= d; i += 8) {
        __m256 t = _mm256_fnmadd_ps(_mm256_loadu_ps(q->scale + i), load8u8(c + i),
                                    _mm256_loadu_ps(p + i));
        acc = _mm256_fmadd_ps(t, t, acc);
    }
    float s = hsum8(acc);
    for (; i < d; i++) {
        float t = p[i] - q->scale[i] * (float)c[i];
        s += t * t;
    }
    return s;
}

/* One row's sq8 l2 norm (the int8 kernels' sum_i (scale_i c_i)^2): two
 * accumulators of eight lanes, then the scalar tail; the same value as
 * norm_ref up to the float rounding of a different sum order. */
__attribute__((target(QT))) static float sq8_norm_avx2(const struct vs_quant *q,
                                                       const uint8_t *c)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    size_t i = 0, d = q->dim;
    for (; i + 16 <= d; i += 16) {
        __m256 t0 = _mm256_mul_ps(_mm256_loadu_ps(q->scale + i), load8u8(c + i));
        __m256 t1 = _mm256_mul_ps(_mm256_loadu_ps(q->scale + i + 8), load8u8(c + i + 8));
        a0 = _mm256_fmadd_ps(t0, t0, a0);
        a1 = _mm256_fmadd_ps(t1, t1, a1);
    }
    if (i + 8 <= d) {
        __m256 t0 = _mm256_mul_ps(_mm256_loadu_ps(q->scale + i), load8u8(c + i));
        a0 = _mm256_fmadd_ps(t0, t0, a0);
        i += 8;
    }
    float s = hsum8(_mm256_add_ps(a0, a1));
    for (; i < d; i++) {
        float t = q->scale[i] * (float)c[i];
        s += t * t;
    }
    return s;
}

__attribute__((target(QT))) static float sq8_dot_avx2(const struct vs_quant *q,
                                                      const float *p, const uint8_t *c)
{
    __m256 acc = _mm256_setzero_ps();
    size_t i = 0, d = q->dim;
    for (; i + 8 <= d; i += 8)
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(p + i), load8u8(c + i), acc);
    float s = hsum8(acc);
    for (; i < d; i++)
        s += p[i] * (float)c[i];
    return -(s + p[d]);
}

__attribute__((target(QT))) static float bin_avx2(const struct vs_quant *q,
                                                  const float *p, const uint8_t *c)
{
    const uint8_t *pq = (const uint8_t *)p;
    unsigned long long s = 0;
    for (size_t w = 0; w < q->cb; w += 8)
        s += (unsigned long long)_mm_popcnt_u64(get64w(pq + w) ^ get64w(c + w));
    return (float)s;
}

/* Four codes at once (kind: 0 f16 l2, 1 f16 dot, 2 sq8 l2, 3 sq8 dot): each
 * pair gets exactly the operations of its one-code kernel above (same
 * accumulator order, same tail), so the results are bit-identical; the
 * four independent accumulators hide the FMA latency, and p and scale are
 * loaded once for the four. */
__attribute__((target(QT))) static inline __attribute__((always_inline)) void
q4_avx2(const struct vs_quant *q, const float *p, const uint8_t *const c[4], int kind,
        float out[4])
{
    __m256 acc[4];
    UNROLL
    for (int j = 0; j < 4; j++)
        acc[j] = _mm256_setzero_ps();
    size_t i = 0, d = q->dim;
    for (; i + 8 <= d; i += 8) {
        __m256 pv = _mm256_loadu_ps(p + i);
        if (kind == 2) {
            __m256 sc = _mm256_loadu_ps(q->scale + i);
            UNROLL
            for (int j = 0; j < 4; j++) {
                __m256 t = _mm256_fnmadd_ps(sc, load8u8(c[j] + i), pv);
                acc[j] = _mm256_fmadd_ps(t, t, acc[j]);
            }
        } else if (kind == 3) {
            UNROLL
            for (int j = 0; j < 4; j++)
                acc[j] = _mm256_fmadd_ps(pv, load8u8(c[j] + i), acc[j]);
        } else {
            UNROLL
            for (int j = 0; j < 4; j++) {
                __m256 h = _mm256_cvtph_ps(
                    _mm_loadu_si128((const __m128i *)(const void *)(c[j] + 2 * i)));
                if (kind == 0) {
                    __m256 t = _mm256_sub_ps(pv, h);
                    acc[j] = _mm256_fmadd_ps(t, t, acc[j]);
                } else {
                    acc[j] = _mm256_fmadd_ps(pv, h, acc[j]);
                }
            }
        }
    }
    for (int j = 0; j < 4; j++) {
        float sj = hsum8(acc[j]);
        for (size_t r = i; r < d; r++) {
            if (kind == 0) {
                float t = p[r] - vs_quant_f16_to_f32(get16(c[j] + 2 * r));
                sj += t * t;
            } else if (kind == 1) {
                sj += p[r] * vs_quant_f16_to_f32(get16(c[j] + 2 * r));
            } else if (kind == 2) {
                float t = p[r] - q->scale[r] * (float)c[j][r];
                sj += t * t;
            } else {
                sj += p[r] * (float)c[j][r];
            }
        }
        out[j] = kind == 1 ? -sj : kind == 3 ? -(sj + p[d]) : sj;
    }
}

#define Q4_IDS(NAME, KIND)                                                      \
    __attribute__((target(QT))) static void NAME(const struct vs_quant *q,      \
                                                 const float *p,                \
                                                 const uint32_t *ids, size_t n, \
                                                 float *out)                    \
    {                                                                           \
        size_t j = 0;                                                           \
        for (; j + 4 <= n; j += 4) {                                            \
            const uint8_t *c[4] = {q->codes + (size_t)ids[j] * q->cb,           \
                                   q->codes + (size_t)ids[j + 1] * q->cb,       \
                                   q->codes + (size_t)ids[j + 2] * q->cb,       \
                                   q->codes + (size_t)ids[j + 3] * q->cb};      \
            q4_avx2(q, p, c, KIND, out + j);                                    \
        }                                                                       \
        for (; j < n; j++)                                                      \
            out[j] = q->fn(q, p, q->codes + (size_t)ids[j] * q->cb);            \
    }
Q4_IDS(f16_l2_ids_avx2, 0)
Q4_IDS(f16_dot_ids_avx2, 1)
Q4_IDS(sq8_l2_ids_avx2, 2)
Q4_IDS(sq8_dot_ids_avx2, 3)

/* ---- AVX-512 kernels (F + BW + VL): 16 lanes, masked tail (no scalar
 * loop). Each pair gets the same operations in every tile width J, so one
 * code and four codes at a time agree bit for bit. ---- */

#define QT512 "avx512f,avx512bw,avx512vl,avx2,fma,f16c"

/* GCC 12's avx512fintrin.h builds _mm512_undefined_ps() as a self-
 * initialised variable (see distance.c): silence those two here only. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#ifndef __clang__ /* a GCC-only warning group */
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

/* codes 16 at a time as floats: sq8 bytes, or f16 halves */
__attribute__((target(QT512))) static inline __attribute__((always_inline)) __m512
load16c(const uint8_t *c, size_t i, __mmask16 m, int f16)
{
    if (f16)
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, c + 2 * i));
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, c + i)));
}

/* J codes (1..4) at once; kind: 0 f16 l2, 1 f16 dot, 2 sq8 l2, 3 sq8 dot */
__attribute__((target(QT512))) static inline __attribute__((always_inline)) void
qj_avx512(const struct vs_quant *q, const float *p, const uint8_t *const *c, int J,
          int kind, float *out)
{
    __m512 acc[4];
    UNROLL
    for (int j = 0; j < J; j++)
        acc[j] = _mm512_setzero_ps();
    const int f16 = kind < 2;
    size_t i = 0, d = q->dim;
    for (; i < d; i += 16) {
        __mmask16 m = d - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (d - i)) - 1u);
        __m512 pv = _mm512_maskz_loadu_ps(m, p + i);
        if (kind == 2) {
            __m512 sc = _mm512_maskz_loadu_ps(m, q->scale + i);
            UNROLL
            for (int j = 0; j < J; j++) {
                __m512 t = _mm512_fnmadd_ps(sc, load16c(c[j], i, m, 0), pv);
                acc[j] = _mm512_fmadd_ps(t, t, acc[j]);
            }
        } else if (kind == 0) {
            UNROLL
            for (int j = 0; j < J; j++) {
                __m512 t = _mm512_sub_ps(pv, load16c(c[j], i, m, 1));
                acc[j] = _mm512_fmadd_ps(t, t, acc[j]);
            }
        } else {
            UNROLL
            for (int j = 0; j < J; j++)
                acc[j] = _mm512_fmadd_ps(pv, load16c(c[j], i, m, f16), acc[j]);
        }
    }
    for (int j = 0; j < J; j++) {
        float sj = _mm512_reduce_add_ps(acc[j]);
        out[j] = kind == 1 ? -sj : kind == 3 ? -(sj + p[d]) : sj;
    }
}

#define Q512_ONE(NAME, KIND)                                                    \
    __attribute__((target(QT512))) static float NAME(const struct vs_quant *q,  \
                                                     const float *p,            \
                                                     const uint8_t *c)          \
    {                                                                           \
        float r;                                                                \
        qj_avx512(q, p, &c, 1, KIND, &r);                                       \
        return r;                                                               \
    }
#define Q512_IDS(NAME, KIND)                                                    \
    __attribute__((target(QT512))) static void NAME(const struct vs_quant *q,   \
                                                    const float *p,             \
                                                    const uint32_t *ids,        \
                                                    size_t n, float *out)       \
    {                                                                           \
        const uint8_t *c[4];                                                    \
        size_t j = 0;                                                           \
        for (; j + 4 <= n; j += 4) {                                            \
            for (int t = 0; t < 4; t++)                                         \
                c[t] = q->codes + (size_t)ids[j + t] * q->cb;                   \
            qj_avx512(q, p, c, 4, KIND, out + j);                               \
        }                                                                       \
        for (size_t t = j; t < n; t++)                                          \
            c[t - j] = q->codes + (size_t)ids[t] * q->cb;                       \
        if (n - j == 3)                                                         \
            qj_avx512(q, p, c, 3, KIND, out + j);                               \
        else if (n - j == 2)                                                    \
            qj_avx512(q, p, c, 2, KIND, out + j);                               \
        else if (n - j == 1)                                                    \
            qj_avx512(q, p, c, 1, KIND, out + j);                               \
    }
Q512_ONE(f16_l2_avx512, 0)
Q512_ONE(f16_dot_avx512, 1)
Q512_ONE(sq8_l2_avx512, 2)
Q512_ONE(sq8_dot_avx512, 3)
Q512_IDS(f16_l2_ids_avx512, 0)
Q512_IDS(f16_dot_ids_avx512, 1)
Q512_IDS(sq8_l2_ids_avx512, 2)
Q512_IDS(sq8_dot_ids_avx512, 3)

/* ---- int8 sq8 kernels (VNNI) ----
 * sq8 l2: dist = sum (p_i - s_i c_i)^2
 *              = sum p_i^2 - 2 sum (p_i s_i) c_i + sum (s_i c_i)^2.
 * The first sum is the query's (prep: C), the last the row's (q->norm),
 * and the weights w_i = p_i s_i are rounded once per query to int8
 * k_i = round(w_i / a), a = max |w_i| / 127, so the middle sum is the
 * integer dot product of the u8 codes with the s8 weights, which
 * vpdpbusd takes 64 (AVX-512) or 32 (AVX-VNNI) bytes at a time:
 *   dist ~ C + norm_r + A * sum k_i c_i,   A = -2a.
 * sq8 dot the same without the norms: w_i = p_i (= q_i s_i), C =
 * -(q . offset), A = -a. The integer sum is exact, so one code and four
 * at a time agree bit for bit. The rounding moves each distance by at
 * most |A| / 2 * sum c_i (test_quant checks it); the search re-scores its
 * beam from the float32 rows. Prepared query (vs_quant_prep_floats): p[0..d)
 * and p[d] as for the float kernels, then C, A, and the weights as int8,
 * zero up to a multiple of 64. */

static inline const int8_t *i8w(const float *p, size_t d)
{
    return (const int8_t *)(const void *)(p + d + 3);
}

#define QT512V "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c"

/* J codes (1..4) at once: the integer sums into s */
__attribute__((target(QT512V))) static inline __attribute__((always_inline)) void
i8j_avx512(const int8_t *w, size_t d, const uint8_t *const *c, int J, int32_t *s)
{
    __m512i acc[4];
    UNROLL
    for (int j = 0; j < J; j++)
        acc[j] = _mm512_setzero_si512();
    for (size_t i = 0; i < d; i += 64) {
        __mmask64 m = d - i >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (d - i)) - 1);
        __m512i wv = _mm512_loadu_si512((const void *)(w + i)); /* zero padded */
        UNROLL
        for (int j = 0; j < J; j++)
            acc[j] = _mm512_dpbusd_epi32(acc[j], _mm512_maskz_loadu_epi8(m, c[j] + i), wv);
    }
    for (int j = 0; j < J; j++)
        s[j] = _mm512_reduce_add_epi32(acc[j]);
}

static inline float i8_dist(const struct vs_quant *q, const float *p, uint64_t r, int32_t s)
{
    float base = p[q->dim + 1] + (q->norm ? q->norm[r] : 0.0f);
    return base + p[q->dim + 2] * (float)s;
}

#pragma GCC diagnostic pop

/* The J sums of both 256-bit int8 kernels: each accumulator's eight lanes
 * added, then the scalar tail from dimension i on */
__attribute__((target("avx2"))) static inline __attribute__((always_inline)) void
i8j_sums(const __m256i *acc, const int8_t *w, size_t d, const uint8_t *const *c, int J,
         size_t i, int32_t *s)
{
    if (J == 4) { /* the four sums at once: lane j of the halves' sum */
        __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(acc[0], acc[1]),
                                      _mm256_hadd_epi32(acc[2], acc[3]));
        __m128i a = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
        _mm_storeu_si128((__m128i *)(void *)s, a);
    } else {
        for (int j = 0; j < J; j++) {
            __m128i a = _mm_add_epi32(_mm256_castsi256_si128(acc[j]),
                                      _mm256_extracti128_si256(acc[j], 1));
            a = _mm_add_epi32(a, _mm_shuffle_epi32(a, 0x4e));
            a = _mm_add_epi32(a, _mm_shuffle_epi32(a, 0xb1));
            s[j] = _mm_cvtsi128_si32(a);
        }
    }
    for (int j = 0; j < J; j++)
        for (size_t r = i; r < d; r++)
            s[j] += (int32_t)w[r] * (int32_t)c[j][r];
}

/* AVX-VNNI (VEX, 256 bits): 32 bytes at a time, the tail in scalar code */
#define QTVNNI "avx2,fma,f16c,avxvnni"

__attribute__((target(QTVNNI))) static inline __attribute__((always_inline)) void
i8j_avxvnni(const int8_t *w, size_t d, const uint8_t *const *c, int J, int32_t *s)
{
    __m256i acc[4];
    UNROLL
    for (int j = 0; j < J; j++)
        acc[j] = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
        __m256i wv = _mm256_loadu_si256((const __m256i *)(const void *)(w + i));
        UNROLL
        for (int j = 0; j < J; j++)
            acc[j] = _mm256_dpbusd_avx_epi32(
                acc[j], _mm256_loadu_si256((const __m256i *)(const void *)(c[j] + i)), wv);
    }
    i8j_sums(acc, w, d, c, J, i, s);
}

/* AVX2 without VNNI: the codes widened to 16 bits (vpmovzxbw), the
 * weights sign-extended (vpmovsxbw, once for the J codes), vpmaddwd sums
 * each pair of products into 32 bits; every product (<= 255 x 127) and
 * pair sum is exact, so the integer sum is the VNNI kernels'. 16 bytes a
 * step, the tail in scalar code. (vpmaddubsw would take 32 bytes a step
 * but saturates its pair sums, 2 x 255 x 127 > 32767: exact only with
 * 7-bit weights, other distances.) */
#define QTI8 "avx2,fma,f16c"

__attribute__((target(QTI8))) static inline __attribute__((always_inline)) void
i8j_avx2(const int8_t *w, size_t d, const uint8_t *const *c, int J, int32_t *s)
{
    __m256i acc[4];
    UNROLL
    for (int j = 0; j < J; j++)
        acc[j] = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 16 <= d; i += 16) {
        __m256i wv = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(w + i)));
        UNROLL
        for (int j = 0; j < J; j++) {
            __m256i cv =
                _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(c[j] + i)));
            acc[j] = _mm256_add_epi32(acc[j], _mm256_madd_epi16(cv, wv));
        }
    }
    i8j_sums(acc, w, d, c, J, i, s);
}

/* The entry points of one ISA's int8 kernel: one code, and a list of
 * ids four at a time */
#define I8_ENTRIES(ISA, TARGET)                                                    \
    __attribute__((target(TARGET))) static float sq8_i8_##ISA(                     \
        const struct vs_quant *q, const float *p, const uint8_t *c)                \
    {                                                                              \
        int32_t s;                                                                 \
        i8j_##ISA(i8w(p, q->dim), q->dim, &c, 1, &s);                              \
        return i8_dist(q, p, (uint64_t)(c - q->codes) / q->cb, s);                 \
    }                                                                              \
    __attribute__((target(TARGET))) static void sq8_i8_ids_##ISA(                  \
        const struct vs_quant *q, const float *p, const uint32_t *ids, size_t n,   \
        float *out)                                                                \
    {                                                                              \
        const int8_t *w = i8w(p, q->dim);                                          \
        const uint8_t *c[4];                                                       \
        int32_t s[4];                                                              \
        size_t j = 0;                                                              \
        for (; j + 4 <= n; j += 4) {                                               \
            for (int t = 0; t < 4; t++)                                            \
                c[t] = q->codes + (size_t)ids[j + t] * q->cb;                      \
            i8j_##ISA(w, q->dim, c, 4, s);                                         \
            for (int t = 0; t < 4; t++)                                            \
                out[j + t] = i8_dist(q, p, ids[j + t], s[t]);                      \
        }                                                                          \
        for (; j < n; j++) {                                                       \
            c[0] = q->codes + (size_t)ids[j] * q->cb;                              \
            i8j_##ISA(w, q->dim, c, 1, s);                                         \
            out[j] = i8_dist(q, p, ids[j], s[0]);                                  \
        }                                                                          \
    }
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#ifndef __clang__ /* a GCC-only warning group */
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
I8_ENTRIES(avx512, QT512V)
#pragma GCC diagnostic pop
I8_ENTRIES(avxvnni, QTVNNI)
I8_ENTRIES(avx2, QTI8)
#endif

#if VS_QUANT_X86 /* called only there (other targets: unused, a warning) */
static int have_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl");
}
#endif

#if VS_QUANT_X86
/* CPUID leaf 7: AVX512_VNNI (subleaf 0, ECX bit 11), AVX-VNNI (subleaf 1,
 * EAX bit 4); the OS's state for the registers is checked by the callers'
 * have_avx512 / have_avx2 */
static int have_cpuid7(unsigned sub, int reg, unsigned bit)
{
    unsigned r[4];
    if (__get_cpuid_max(0, NULL) < 7 || !__get_cpuid_count(7, sub, &r[0], &r[1], &r[2], &r[3]))
        return 0;
    return (r[reg] >> bit) & 1u;
}
#endif

static int have_avx2(void)
{
#if VS_QUANT_X86
    /* F16C through CPUID leaf 1 (ECX bit 29): clang 14's
     * __builtin_cpu_supports does not know "f16c". */
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 29)))
        return 0;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("popcnt");
#else
    return 0;
#endif
}

void vs_quant_pick(struct vs_quant *q, int simd)
{
    int fast = simd != 0 && have_avx2();
    int l2 = q->metric == VS_METRIC_L2;
    q->i8 = 0;
    q->normfn = sq8_norm_ref;
    switch (q->kind) {
    case VS_QUANT_F16: q->fn = l2 ? f16_l2_ref : f16_dot_ref; break;
    case VS_QUANT_SQ8: q->fn = l2 ? sq8_l2_ref : sq8_dot_ref; break;
    default: q->fn = bin_ref; break;
    }
#if VS_QUANT_X86
    if (fast) {
        switch (q->kind) {
        case VS_QUANT_F16: q->fn = l2 ? f16_l2_avx2 : f16_dot_avx2; break;
        case VS_QUANT_SQ8: q->fn = l2 ? sq8_l2_avx2 : sq8_dot_avx2; break;
        default: q->fn = bin_avx2; break;
        }
    }
    int wide = fast && (simd < 0 || simd > 2) && have_avx512();
    if (wide) {
        if (q->kind == VS_QUANT_F16)
            q->fn = l2 ? f16_l2_avx512 : f16_dot_avx512;
        else if (q->kind == VS_QUANT_SQ8)
            q->fn = l2 ? sq8_l2_avx512 : sq8_dot_avx512;
    }
    /* sq8 on int8 weights: AVX-512 VNNI at the AVX-512 level, AVX-VNNI at
     * the AVX2 level (or AVX-512 without VNNI), else vpmaddwd at the AVX2
     * level (AVX-512 without any VNNI keeps its float kernels); l2 needs
     * the row norms (when they cannot be had, the float kernels stay) */
    qdist_fn i8 = NULL;
    if (q->kind == VS_QUANT_SQ8 && fast && q->dim <= VS_QUANT_I8_MAXDIM) {
        if (wide && have_cpuid7(0, 2, 11))
            i8 = sq8_i8_avx512;
        else if (have_cpuid7(1, 0, 4))
            i8 = sq8_i8_avxvnni;
        else if (!wide)
            i8 = sq8_i8_avx2;
    }
    if (i8) /* the int8 kernels need AVX2 at least */
        q->normfn = sq8_norm_avx2;
    if (i8 && l2 && !q->norm) {
        q->norm = malloc((q->n ? q->n : 1) * sizeof *q->norm);
        if (q->norm && !q->ready)
            vs_quant_norms(q, 0, q->n);
        else if (q->norm) /* each block's as it is checked; blocks checked before now too */
            for (uint64_t b = 0; b < q->nblocks; b++)
                if (__atomic_load_n(&q->ready[b], __ATOMIC_ACQUIRE))
                    vs_quant_norms(q, b << q->shift, (uint64_t)1 << q->shift);
    }
    if (i8 && (!l2 || q->norm)) {
        q->fn = i8;
        q->i8 = 1;
    }
#else
    (void)fast;
#endif
}

void vs_quant_norms(struct vs_quant *q, uint64_t first, uint64_t rows)
{
    if (!q->norm || first >= q->n)
        return;
    if (rows > q->n - first)
        rows = q->n - first;
    for (uint64_t r = first; r < first + rows; r++) {
        float s = q->normfn(q, q->codes + r * q->cb);
        /* two threads may check one block at once: both store the same
         * value, atomically */
        __atomic_store(&q->norm[r], &s, __ATOMIC_RELAXED);
    }
}

void vs_quant_encode(const struct vs_quant *q, const float *v, uint8_t *c)
{
    size_t d = q->dim;
    if (q->kind == VS_QUANT_F16) {
        for (size_t i = 0; i < d; i++) {
            uint16_t h = vs_quant_f32_to_f16(v[i]);
            c[2 * i] = (uint8_t)h;
            c[2 * i + 1] = (uint8_t)(h >> 8);
        }
    } else if (q->kind == VS_QUANT_SQ8) {
        for (size_t i = 0; i < d; i++) {
            float t = q->scale[i] > 0 ? (v[i] - q->off[i]) / q->scale[i] : 0;
            long r = lrintf(t);
            c[i] = (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);
        }
    } else {
        memset(c, 0, q->cb);
        for (size_t i = 0; i < d; i++)
            if (v[i] > q->off[i])
                c[i >> 3] |= (uint8_t)(1u << (i & 7));
    }
}

enum vs_quant_kind vs_quant_kind(const struct vs_quant *q) { return q->kind; }
uint64_t vs_quant_rows(const struct vs_quant *q) { return q->n; }
size_t vs_quant_dim(const struct vs_quant *q) { return q->dim; }
size_t vs_quant_code_bytes(const struct vs_quant *q) { return q->cb; }

const uint8_t *vs_quant_code(const struct vs_quant *q, uint64_t r)
{
    return q->codes + r * q->cb;
}

size_t vs_quant_rescore_count(const struct vs_quant *q, size_t k, size_t n)
{
    size_t r = q->kind == VS_QUANT_BINARY || k > n / 3 ? n : 3 * k;
    return r < n ? r : n;
}

size_t vs_quant_prep_floats(const struct vs_quant *q)
{
    if (q->kind == VS_QUANT_BINARY)
        return (q->cb + sizeof(float) - 1) / sizeof(float);
    if (q->kind == VS_QUANT_SQ8 && VS_QUANT_X86)
        return q->dim + 3 + i8pad(q->dim) / sizeof(float); /* + C, A, the int8 weights */
    return q->dim + 1;
}

#if VS_QUANT_X86
/* The int8 weights of a prepared sq8 query (quant.c's int8 kernels): w_i =
 * p_i s_i (l2) or p_i (dot), rounded to k_i = round(w_i / a), a = max
 * |w_i| / 127. */
static void prep_i8(const struct vs_quant *q, float *p)
{
    size_t d = q->dim;
    int l2 = q->metric == VS_METRIC_L2;
    float mx = 0, c = 0;
    for (size_t i = 0; i < d; i++) {
        float w = l2 ? p[i] * q->scale[i] : p[i];
        mx = fabsf(w) > mx ? fabsf(w) : mx;
        c += p[i] * p[i];
    }
    float a = mx > 0 ? mx / 127.0f : 1.0f;
    int8_t *k = (int8_t *)(void *)(p + d + 3);
    for (size_t i = 0; i < d; i++) {
        float w = l2 ? p[i] * q->scale[i] : p[i];
        /* lrintf's rounding (to nearest, ties to even) without the call:
         * |w / a| <= 127 (+ an ulp), far below 2^22, where adding and
         * taking away 1.5 * 2^23 rounds exactly */
        float t = w / a, r = (t + 12582912.0f) - 12582912.0f;
        r = r >= -127.0f ? r : -127.0f; /* NaN too, as lrintf's LONG_MIN */
        r = r > 127.0f ? 127.0f : r;
        k[i] = (int8_t)r;
    }
    memset(k + d, 0, i8pad(d) - d);
    p[d + 1] = l2 ? c : -p[d];
    p[d + 2] = l2 ? -2.0f * a : -a;
}
#endif

void vs_quant_prep(const struct vs_quant *q, const float *v, float *p)
{
    size_t d = q->dim;
    switch (q->kind) {
    case VS_QUANT_F16:
        memcpy(p, v, d * sizeof *p);
        p[d] = 0;
        break;
    case VS_QUANT_SQ8:
        if (q->metric == VS_METRIC_L2) {
            for (size_t i = 0; i < d; i++)
                p[i] = v[i] - q->off[i];
            p[d] = 0;
        } else {
            float c = 0;
            for (size_t i = 0; i < d; i++) {
                p[i] = v[i] * q->scale[i];
                c += v[i] * q->off[i];
            }
            p[d] = c;
        }
#if VS_QUANT_X86
        if (q->i8)
            prep_i8(q, p);
#endif
        break;
    default:
        vs_quant_encode(q, v, (uint8_t *)p);
        break;
    }
}

float vs_quant_dist(const struct vs_quant *q, const float *prep, uint64_t r)
{
    return q->fn(q, prep, q->codes + r * q->cb);
}

void vs_quant_dist_ids(const struct vs_quant *q, const float *prep, const uint32_t *ids,
                       size_t n, float *out)
{
#if VS_QUANT_X86
    if (q->fn == sq8_i8_avx512)
        sq8_i8_ids_avx512(q, prep, ids, n, out);
    else if (q->fn == sq8_i8_avxvnni)
        sq8_i8_ids_avxvnni(q, prep, ids, n, out);
    else if (q->fn == sq8_i8_avx2)
        sq8_i8_ids_avx2(q, prep, ids, n, out);
    else if (q->fn == sq8_l2_avx512)
        sq8_l2_ids_avx512(q, prep, ids, n, out);
    else if (q->fn == sq8_dot_avx512)
        sq8_dot_ids_avx512(q, prep, ids, n, out);
    else if (q->fn == f16_l2_avx512)
        f16_l2_ids_avx512(q, prep, ids, n, out);
    else if (q->fn == f16_dot_avx512)
        f16_dot_ids_avx512(q, prep, ids, n, out);
    else if (q->fn == f16_l2_avx2)
        f16_l2_ids_avx2(q, prep, ids, n, out);
    else if (q->fn == f16_dot_avx2)
        f16_dot_ids_avx2(q, prep, ids, n, out);
    else if (q->fn == sq8_l2_avx2)
        sq8_l2_ids_avx2(q, prep, ids, n, out);
    else if (q->fn == sq8_dot_avx2)
        sq8_dot_ids_avx2(q, prep, ids, n, out);
    else
#endif
        for (size_t j = 0; j < n; j++)
            out[j] = q->fn(q, prep, q->codes + (size_t)ids[j] * q->cb);
}

void vs_quant_decode(const struct vs_quant *q, uint64_t r, float *out)
{
    const uint8_t *c = q->codes + r * q->cb;
    for (size_t i = 0; i < q->dim; i++) {
        switch (q->kind) {
        case VS_QUANT_F16: out[i] = vs_quant_f16_to_f32(get16(c + 2 * i)); break;
        case VS_QUANT_SQ8: out[i] = q->off[i] + q->scale[i] * (float)c[i]; break;
        default: out[i] = q->off[i] + ((c[i >> 3] >> (i & 7)) & 1 ? 1.0f : -1.0f); break;
        }
    }
}
