/* mmr.c: maximal marginal relevance (see vs_mmr.h). */
#include "vs_mmr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double dot(const float *a, const float *b, size_t dim)
{
    double s = 0;
    for (size_t i = 0; i < dim; i++)
        s += (double)a[i] * b[i];
    return s;
}

static double cosine(const float *a, double na, const float *b, double nb,
                     size_t dim)
{
    if (na == 0 || nb == 0)
        return 0;
    return dot(a, b, dim) / (na * nb);
}

int vs_mmr_select(const float *cands, size_t n, size_t dim, const float *query,
                  const double *rel, double lambda, size_t k, size_t *order,
                  double *mmr, size_t *nout, struct vs_diag *d)
{
    *nout = 0;
    if (!(lambda >= 0 && lambda <= 1))
        return vs_diag_set(d, VS_E_USAGE, "mmr: lambda must be in [0, 1]");
    if (dim == 0 || (!query && !rel))
        return vs_diag_set(d, VS_E_USAGE,
                           "mmr: need a dimension and a query vector or scores");
    if (k > n)
        k = n;
    if (k == 0)
        return VS_OK;
    double *norm = malloc(n * sizeof *norm);
    double *r = malloc(n * sizeof *r);
    double *maxsim = malloc(n * sizeof *maxsim);
    unsigned char *used = calloc(n, 1);
    int rc = VS_OK;
    if (!norm || !r || !maxsim || !used) {
        rc = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    double qn = query ? sqrt(dot(query, query, dim)) : 0;
    for (size_t i = 0; i < n; i++) {
        const float *c = cands + i * dim;
        norm[i] = sqrt(dot(c, c, dim));
        r[i] = rel ? rel[i] : cosine(query, qn, c, norm[i], dim);
        maxsim[i] = 0;
    }
    for (size_t s = 0; s < k; s++) {
        size_t best = n;
        double bv = 0;
        for (size_t i = 0; i < n; i++) {
            if (used[i])
                continue;
            double v = lambda * r[i] - (s ? (1 - lambda) * maxsim[i] : 0);
            if (best == n || v > bv) {
                best = i;
                bv = v;
            }
        }
        used[best] = 1;
        order[s] = best;
        if (mmr)
            mmr[s] = bv;
        const float *b = cands + best * dim;
        for (size_t i = 0; i < n; i++) {
            if (used[i])
                continue;
            double sim = cosine(cands + i * dim, norm[i], b, norm[best], dim);
            if (s == 0 || sim > maxsim[i])
                maxsim[i] = sim;
        }
    }
    *nout = k;
done:
    free(used);
    free(maxsim);
    free(r);
    free(norm);
    return rc;
}
