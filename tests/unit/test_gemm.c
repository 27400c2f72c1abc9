/* test_gemm.c: the packed dense-layer kernels (vs_gemm.h) against a double
 * precision reference, for every kernel the CPU runs, on shapes that
 * exercise partial panels (N not a multiple of 32), partial row blocks (T
 * not a multiple of 6 or 8, T below and above the 64-row cache block) and
 * no bias. */
#include "test.h"
#include "vs_gemm.h"

#include <stdint.h>
#include <stdlib.h>

static uint64_t rng = 88172645463325252ull;
static float frand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static void check_kernel(enum vs_gemm_kernel k)
{
    static const size_t Ts[] = {1, 5, 7, 8, 9, 63, 64, 65, 130};
    static const size_t Ns[] = {1, 17, 32, 33, 64, 100};
    static const size_t Ks[] = {1, 3, 32, 385};
    for (size_t a = 0; a < sizeof Ts / sizeof *Ts; a++)
        for (size_t c = 0; c < sizeof Ns / sizeof *Ns; c++)
            for (size_t e = 0; e < sizeof Ks / sizeof *Ks; e++) {
                size_t T = Ts[a], N = Ns[c], K = Ks[e];
                float *x = malloc(T * K * sizeof *x), *w = malloc(N * K * sizeof *w);
                float *b = malloc(N * sizeof *b), *y = malloc((T * N + 1) * sizeof *y);
                for (size_t i = 0; i < T * K; i++)
                    x[i] = frand();
                for (size_t i = 0; i < N * K; i++)
                    w[i] = frand();
                for (size_t i = 0; i < N; i++)
                    b[i] = frand();
                float *wp = vs_gemm_pack(w, N, K);
                CHECK(wp != NULL);
                for (int bias = 0; bias < 2 && wp; bias++) {
                    y[T * N] = 12345.0f; /* a write past y would change it */
                    vs_gemm_rows(k, x, K, T, K, wp, bias ? b : NULL, N, y, N);
                    double worst = 0;
                    for (size_t t = 0; t < T; t++)
                        for (size_t n = 0; n < N; n++) {
                            double r = bias ? b[n] : 0, mag = fabs(r);
                            for (size_t i = 0; i < K; i++) {
                                r += (double)x[t * K + i] * w[n * K + i];
                                mag += fabs((double)x[t * K + i] * w[n * K + i]);
                            }
                            double err = fabs(y[t * N + n] - r) / (mag + 1e-30);
                            if (err > worst)
                                worst = err;
                        }
                    if (worst > 1e-6)
                        printf("#   %s T %zu N %zu K %zu bias %d: relative error %g\n",
                               vs_gemm_name(k), T, N, K, bias, worst);
                    CHECK(worst <= 1e-6);
                    CHECK(y[T * N] == 12345.0f);
                }
                free(wp);
                free(x);
                free(w);
                free(b);
                free(y);
            }
}

static void test_avx2(void)
{
    if (!vs_gemm_supported(VS_GEMM_AVX2))
        SKIP("no AVX2 and FMA on this CPU");
    check_kernel(VS_GEMM_AVX2);
}

static void test_avx512(void)
{
    if (!vs_gemm_supported(VS_GEMM_AVX512))
        SKIP("no AVX-512F on this CPU");
    check_kernel(VS_GEMM_AVX512);
}

static void test_pack_layout(void)
{
    /* N 33, K 2: panel 0 holds columns 0..31, panel 1 column 32 and zeros */
    float w[66];
    for (int i = 0; i < 66; i++)
        w[i] = (float)i;
    CHECK_EQ_INT(vs_gemm_packed_floats(33, 2), 128);
    float *p = vs_gemm_pack(w, 33, 2);
    CHECK(p != NULL);
    if (!p)
        return;
    CHECK(((uintptr_t)p & 63) == 0);
    CHECK(p[0] == 0.0f && p[1] == 2.0f && p[31] == 62.0f); /* k 0, rows 0 1 31 */
    CHECK(p[32] == 1.0f && p[33] == 3.0f);                  /* k 1 */
    CHECK(p[64] == 64.0f && p[65] == 0.0f);                 /* panel 1, k 0 */
    CHECK(p[96] == 65.0f && p[127] == 0.0f);                /* panel 1, k 1 */
    free(p);
}

static void test_best_env(void)
{
    enum vs_gemm_kernel best = vs_gemm_best();
    CHECK(vs_gemm_supported(best));
    setenv("VS_GEMM", "none", 1);
    CHECK(vs_gemm_best() == VS_GEMM_NONE);
    setenv("VS_GEMM", "avx2", 1);
    CHECK(vs_gemm_best() == (vs_gemm_supported(VS_GEMM_AVX2) ? VS_GEMM_AVX2 : VS_GEMM_NONE));
    unsetenv("VS_GEMM");
    CHECK(vs_gemm_best() == best);
    CHECK_EQ_STR(vs_gemm_name(VS_GEMM_AVX512), "avx512");
}

int main(void)
{
    RUN(test_pack_layout);
    RUN(test_avx2);
    RUN(test_avx512);
    RUN(test_best_env);
    return vs_test_done();
}
