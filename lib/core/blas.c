/* blas.c: OpenBLAS's sgemm loaded on first use (vs_blas.h). */
#include "vs_blas.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

/* cblas.h's values */
enum { ROW_MAJOR = 101, NO_TRANS = 111 };

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int,
                         const float *, int, float, float *, int);
typedef void (*threads_fn)(int);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static sgemm_fn blas_sgemm;
static threads_fn blas_threads;

static void load(void)
{
    static const char *const names[] = {"libopenblas.so.0", "libopenblas.so"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (!h)
            continue;
        sgemm_fn s = (sgemm_fn)dlsym(h, "cblas_sgemm");
        if (!s) {
            dlclose(h);
            continue;
        }
        blas_threads = (threads_fn)dlsym(h, "openblas_set_num_threads");
        blas_sgemm = s; /* kept loaded for the life of the process */
        return;
    }
}

int vs_blas_loaded(void)
{
    return blas_sgemm != NULL;
}

void vs_blas_set_threads(int n)
{
    pthread_once(&once, load);
    if (blas_threads)
        blas_threads(n);
}

/* element (r, c) of op(X), X stored in order with leading dimension ld */
static float at(const float *x, int order, int trans, int ld, int r, int c)
{
    if (trans != NO_TRANS) {
        int t = r;
        r = c;
        c = t;
    }
    return order == ROW_MAJOR ? x[(size_t)r * ld + c] : x[(size_t)c * ld + r];
}

void vs_sgemm(int order, int transa, int transb, int m, int n, int k, float alpha,
              const float *a, int lda, const float *b, int ldb, float beta, float *c,
              int ldc)
{
    pthread_once(&once, load);
    if (blas_sgemm) {
        blas_sgemm(order, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0.0;
            for (int p = 0; p < k; p++)
                s += (double)at(a, order, transa, lda, i, p) * at(b, order, transb, ldb, p, j);
            float *cij = order == ROW_MAJOR ? &c[(size_t)i * ldc + j] : &c[(size_t)j * ldc + i];
            *cij = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * *cij));
        }
}
