/* vs_gemm.h: the matrix product of the transformer's dense layers,
 * y[T, N] = x[T, K] * W[N, K]^T + b[N], with W packed once at load time.
 *
 * Why not OpenBLAS alone: OpenBLAS picks its kernels from a table of CPU
 * models; on a CPU it does not know (a new model, or a virtual machine that
 * hides the model number) it falls back to its SSE3 "Prescott" kernels, 3-4
 * times slower than its AVX-512 ones (measured on the project's machine:
 * sgemm_kernel_PRESCOTT took 84% of vs-embed's time). These kernels are
 * chosen from the CPU's feature bits (AVX-512F, or AVX2 + FMA), which a
 * virtual machine reports truthfully.
 *
 * Packed layout: W in panels of 32 output columns; panel p holds, for each
 * k in 0..K-1, the 32 values W[32p + j][k] (j = 0..31, zero past N), so a
 * kernel reads one panel as a contiguous stream. 64-byte aligned.
 */
#ifndef VS_GEMM_H
#define VS_GEMM_H

#include <stddef.h>

enum vs_gemm_kernel {
    VS_GEMM_NONE = 0,   /* no kernel here: use BLAS on the unpacked weights */
    VS_GEMM_AVX2 = 1,   /* AVX2 + FMA, 6 rows x 16 columns a step */
    VS_GEMM_AVX512 = 2  /* AVX-512F, 8 rows x 32 columns a step */
};

/* The best kernel this CPU runs (VS_GEMM_NONE off x86 or without AVX2 and
 * FMA). VS_GEMM=avx2|avx512|none in the environment asks for a lower one
 * (for tests and benchmarks; a level the CPU lacks gives the best it has). */
enum vs_gemm_kernel vs_gemm_best(void);
int vs_gemm_supported(enum vs_gemm_kernel k);
const char *vs_gemm_name(enum vs_gemm_kernel k);

/* Packed size in floats of an N x K matrix. */
size_t vs_gemm_packed_floats(size_t N, size_t K);

/* Pack W[N, K] (row-major) into a new 64-byte aligned buffer (free()),
 * NULL when out of memory. */
float *vs_gemm_pack(const float *w, size_t N, size_t K);

/* Pack into p (vs_gemm_packed_floats(N, K) floats, 64-byte aligned):
 * trans 0: W[n][k] = w[n * ldw + k] (W stored by rows, as vs_gemm_pack);
 * trans 1: W[n][k] = w[k * ldw + n] (W^T stored by rows, e.g. the value
 * matrix of attention). */
void vs_gemm_pack_into(const float *w, size_t ldw, int trans, size_t N,
                       size_t K, float *p);

/* y[t, :] = x[t, :] * W^T + b for t in 0..T-1 with kernel k (not NONE;
 * k must be supported); row strides ldx (>= K) and ldy (>= N); b may be
 * NULL (no bias). One thread: callers split rows among their threads. */
void vs_gemm_rows(enum vs_gemm_kernel k, const float *x, size_t ldx, size_t T,
                  size_t K, const float *wp, const float *b, size_t N, float *y,
                  size_t ldy);

#endif
