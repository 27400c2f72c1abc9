/* gemm.c: packed dense-layer products with AVX2 and AVX-512 (vs_gemm.h). */
#include "vs_gemm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define VS_GEMM_X86 1
#include <immintrin.h>
#else
#define VS_GEMM_X86 0
#endif

#define PANEL 32   /* output columns per packed panel */
#define MC 64      /* rows per cache block: x block and a panel stay in L2 */
#define MR_MAX 8

size_t vs_gemm_packed_floats(size_t N, size_t K)
{
    return (N + PANEL - 1) / PANEL * PANEL * K;
}

void vs_gemm_pack_into(const float *w, size_t ldw, int trans, size_t N,
                       size_t K, float *p)
{
    for (size_t c0 = 0; c0 < N; c0 += PANEL) {
        float *dst = p + c0 * K;
        size_t nc = N - c0 < PANEL ? N - c0 : PANEL;
        for (size_t k = 0; k < K; k++) {
            float *o = dst + k * PANEL;
            if (trans) {
                memcpy(o, w + k * ldw + c0, nc * sizeof *o);
            } else {
                for (size_t j = 0; j < nc; j++)
                    o[j] = w[(c0 + j) * ldw + k];
            }
            for (size_t j = nc; j < PANEL; j++)
                o[j] = 0.0f;
        }
    }
}

float *vs_gemm_pack(const float *w, size_t N, size_t K)
{
    size_t n = vs_gemm_packed_floats(N, K);
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes ? bytes : 64);
    if (p)
        vs_gemm_pack_into(w, K, 0, N, K, p);
    return p;
}

const char *vs_gemm_name(enum vs_gemm_kernel k)
{
    switch (k) {
    case VS_GEMM_AVX2:
        return "avx2";
    case VS_GEMM_AVX512:
        return "avx512";
    default:
        return "none";
    }
}

int vs_gemm_supported(enum vs_gemm_kernel k)
{
    switch (k) {
    case VS_GEMM_NONE:
        return 1;
#if VS_GEMM_X86
    case VS_GEMM_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case VS_GEMM_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
#endif
    default:
        return 0;
    }
}

enum vs_gemm_kernel vs_gemm_best(void)
{
    enum vs_gemm_kernel cap = VS_GEMM_AVX512;
    const char *e = getenv("VS_GEMM");
    if (e && strcmp(e, "none") == 0)
        cap = VS_GEMM_NONE;
    else if (e && strcmp(e, "avx2") == 0)
        cap = VS_GEMM_AVX2;
    for (int k = (int)cap; k > 0; k--)
        if (vs_gemm_supported((enum vs_gemm_kernel)k))
            return (enum vs_gemm_kernel)k;
    return VS_GEMM_NONE;
}

#if VS_GEMM_X86
/* 8 rows x 32 columns: 16 accumulators, two panel loads and eight
 * broadcasts per k. xr[i] points at row i (rows past the block repeat the
 * last one), b at 32 bias values, y at the block's first output (row
 * stride ldy). */
__attribute__((target("avx512f,fma"))) static void
kern512(const float *const *xr, size_t K, const float *w, const float *b,
        float *y, size_t ldy)
{
    __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
    __m512 a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1,
           a30 = b0, a31 = b1, a40 = b0, a41 = b1, a50 = b0, a51 = b1,
           a60 = b0, a61 = b1, a70 = b0, a71 = b1;
    const float *x0 = xr[0], *x1 = xr[1], *x2 = xr[2], *x3 = xr[3],
                *x4 = xr[4], *x5 = xr[5], *x6 = xr[6], *x7 = xr[7];
    for (size_t k = 0; k < K; k++) {
        __m512 w0 = _mm512_load_ps(w + k * PANEL);
        __m512 w1 = _mm512_load_ps(w + k * PANEL + 16);
        __m512 v;
#define STEP(R)                                                                \
    v = _mm512_set1_ps(x##R[k]);                                               \
    a##R##0 = _mm512_fmadd_ps(v, w0, a##R##0);                                 \
    a##R##1 = _mm512_fmadd_ps(v, w1, a##R##1);
        STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5) STEP(6) STEP(7)
#undef STEP
    }
#define PUT(R)                                                                 \
    _mm512_storeu_ps(y + (R) * ldy, a##R##0);                                  \
    _mm512_storeu_ps(y + (R) * ldy + 16, a##R##1);
    PUT(0) PUT(1) PUT(2) PUT(3) PUT(4) PUT(5) PUT(6) PUT(7)
#undef PUT
}

/* 6 rows x 16 columns (half a panel, h 0 or 1): 12 accumulators, two
 * panel loads and one broadcast register. */
__attribute__((target("avx2,fma"))) static void
kern256_half(const float *const *xr, size_t K, const float *w, const float *b,
             float *y, size_t ldy)
{
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    __m256 a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1,
           a30 = b0, a31 = b1, a40 = b0, a41 = b1, a50 = b0, a51 = b1;
    const float *x0 = xr[0], *x1 = xr[1], *x2 = xr[2], *x3 = xr[3],
                *x4 = xr[4], *x5 = xr[5];
    for (size_t k = 0; k < K; k++) {
        __m256 w0 = _mm256_load_ps(w + k * PANEL);
        __m256 w1 = _mm256_load_ps(w + k * PANEL + 8);
        __m256 v;
#define STEP(R)                                                                \
    v = _mm256_broadcast_ss(x##R + k);                                         \
    a##R##0 = _mm256_fmadd_ps(v, w0, a##R##0);                                 \
    a##R##1 = _mm256_fmadd_ps(v, w1, a##R##1);
        STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5)
#undef STEP
    }
#define PUT(R)                                                                 \
    _mm256_storeu_ps(y + (R) * ldy, a##R##0);                                  \
    _mm256_storeu_ps(y + (R) * ldy + 8, a##R##1);
    PUT(0) PUT(1) PUT(2) PUT(3) PUT(4) PUT(5)
#undef PUT
}

static void kern256(const float *const *xr, size_t K, const float *w,
                    const float *b, float *y, size_t ldy)
{
    kern256_half(xr, K, w, b, y, ldy);
    kern256_half(xr, K, w + 16, b + 16, y + 16, ldy);
}
#endif

void vs_gemm_rows(enum vs_gemm_kernel kind, const float *x, size_t ldx, size_t T,
                  size_t K, const float *wp, const float *b, size_t N, float *y,
                  size_t ldy)
{
#if VS_GEMM_X86
    void (*kern)(const float *const *, size_t, const float *, const float *,
                 float *, size_t) = kind == VS_GEMM_AVX512 ? kern512 : kern256;
    size_t MR = kind == VS_GEMM_AVX512 ? 8 : 6;
    float bias[PANEL], tmp[MR_MAX * PANEL];
    const float *xr[MR_MAX];
    for (size_t t0 = 0; t0 < T; t0 += MC) {
        size_t t1 = t0 + MC < T ? t0 + MC : T;
        for (size_t c0 = 0; c0 < N; c0 += PANEL) {
            size_t nc = N - c0 < PANEL ? N - c0 : PANEL;
            for (size_t j = 0; j < PANEL; j++)
                bias[j] = b && j < nc ? b[c0 + j] : 0.0f;
            const float *w = wp + c0 * K;
            for (size_t r = t0; r < t1; r += MR) {
                size_t mr = t1 - r < MR ? t1 - r : MR;
                for (size_t i = 0; i < MR; i++)
                    xr[i] = x + (r + (i < mr ? i : mr - 1)) * ldx;
                if (mr == MR && nc == PANEL) {
                    kern(xr, K, w, bias, y + r * ldy + c0, ldy);
                } else {
                    kern(xr, K, w, bias, tmp, PANEL);
                    for (size_t i = 0; i < mr; i++)
                        memcpy(y + (r + i) * ldy + c0, tmp + i * PANEL, nc * sizeof *y);
                }
            }
        }
    }
#else
    (void)kind, (void)x, (void)ldx, (void)T, (void)K, (void)wp, (void)b, (void)N,
        (void)y, (void)ldy;
#endif
}
