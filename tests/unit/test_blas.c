/* test_blas.c: vs_sgemm (OpenBLAS loaded on first use) against a plain
 * product, for both storage orders and every transposition. */
#include "test.h"
#include "vs_internal.h"

#include <cblas.h>
#undef I

#include "vs_blas.h"

static void test_sgemm_matches_reference(void)
{
    CHECK_EQ_INT(vs_blas_loaded(), 0); /* nothing loaded at start-up */
    enum { M = 7, N = 5, K = 9 };
    float a[M * K], b[K * N], c[M * N], ref[M * N];
    unsigned seed = 3;
    for (int i = 0; i < M * K; i++)
        a[i] = (float)((seed = seed * 1103515245u + 12345u) >> 16 & 1023) / 512.0f - 1.0f;
    for (int i = 0; i < K * N; i++)
        b[i] = (float)((seed = seed * 1103515245u + 12345u) >> 16 & 1023) / 512.0f - 1.0f;
    int orders[] = {CblasRowMajor, CblasColMajor};
    int trans[] = {CblasNoTrans, CblasTrans};
    for (int o = 0; o < 2; o++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                int row = orders[o] == CblasRowMajor;
                /* a is M x K (or K x M when transposed), b K x N (or N x K) */
                int ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
                int lda = row ? ac : ar, ldb = row ? bc : br, ldc = row ? N : M;
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < N; j++) {
                        double s = 0;
                        for (int p = 0; p < K; p++) {
                            int ai = ta ? p : i, aj = ta ? i : p, bi = tb ? j : p, bj = tb ? p : j;
                            float x = row ? a[ai * lda + aj] : a[aj * lda + ai];
                            float y = row ? b[bi * ldb + bj] : b[bj * ldb + bi];
                            s += (double)x * y;
                        }
                        int ci = row ? i * ldc + j : j * ldc + i;
                        ref[ci] = (float)(0.5 * s + 2.0 * 0.25);
                        c[ci] = 0.25f;
                    }
                vs_sgemm(orders[o], trans[ta], trans[tb], M, N, K, 0.5f, a, lda, b, ldb, 2.0f,
                         c, ldc);
                for (int i = 0; i < M * N; i++)
                    CHECK_NEAR(c[i], ref[i], 1e-4);
            }
    CHECK_EQ_INT(vs_blas_loaded(), 1); /* libopenblas-dev is a build dependency */
}

int main(void)
{
    RUN(test_sgemm_matches_reference);
    return vs_test_done();
}
