/* test_data.h: reproducible random vectors for the unit tests (a 64-bit
 * LCG, Box-Muller gaussians, gaussian mixtures). */
#ifndef VS_TEST_DATA_H
#define VS_TEST_DATA_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t rng_state;

/* Uniform in [0, 1). */
static inline double urand(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static inline float gauss(void)
{
    double u = urand() + 1e-12, v = urand();
    return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
}

/* n rows of dim: a mixture of 20 gaussian clusters (unit variance) whose
 * centres are gaussian scaled by spread; malloc'd, NULL on no memory. */
static inline float *make_mixture(size_t n, size_t dim, uint64_t seed, float spread)
{
    rng_state = seed;
    float *c = malloc(20 * dim * sizeof *c), *x = malloc(n * dim * sizeof *x);
    if (!c || !x) {
        free(c);
        free(x);
        return NULL;
    }
    for (size_t i = 0; i < 20 * dim; i++)
        c[i] = spread * gauss();
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)(urand() * 20);
        for (size_t j = 0; j < dim; j++)
            x[i * dim + j] = c[k * dim + j] + gauss();
    }
    free(c);
    return x;
}

#endif
