/* vs_blas.h: OpenBLAS's sgemm, loaded on first use.
 *
 * OpenBLAS starts its thread pool when it is loaded; linked into every
 * program it cost each start-up, also of the runs that never multiply a
 * matrix (vs-query over vectors, vs-rerank by BM25). The programs no
 * longer link it: the first vs_sgemm or vs_blas_set_threads dlopen()s
 * libopenblas.so.0 (once, thread-safe). Without it (not installed) the
 * same product is computed by a plain loop: the same results within float
 * rounding, much slower. order/transa/transb take cblas.h's values
 * (CblasRowMajor, CblasNoTrans, ...), the arguments are cblas_sgemm's. */
#ifndef VS_BLAS_H
#define VS_BLAS_H

void vs_sgemm(int order, int transa, int transb, int m, int n, int k, float alpha,
              const float *a, int lda, const float *b, int ldb, float beta, float *c,
              int ldc);
/* openblas_set_num_threads (nothing without OpenBLAS). */
void vs_blas_set_threads(int n);
/* 1 when OpenBLAS is loaded (after the first use), 0 before or without it. */
int vs_blas_loaded(void);

#endif
