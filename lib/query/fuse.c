/* fuse.c: fusion of ranked lists: RRF, weighted min-max, DBSF. */
#include "vs_fuse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void vs_fuse_opts_init(struct vs_fuse_opts *o)
{
    memset(o, 0, sizeof *o);
    o->method = VS_FUSE_WEIGHTED; /* chosen on SciFact train queries (docs/eval.md) */
    o->rrf_k = VS_FUSE_RRF_K_DEFAULT;
    o->alpha = VS_FUSE_ALPHA_DEFAULT;
}

static const char *const method_names[] = {"rrf", "weighted", "dbsf"};

const char *vs_fuse_method_name(enum vs_fuse_method m)
{
    return (unsigned)m < 3 ? method_names[m] : "unknown";
}

int vs_fuse_method_parse(const char *name, enum vs_fuse_method *out)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(name, method_names[i]) == 0) {
            *out = (enum vs_fuse_method)i;
            return VS_OK;
        }
    return VS_E_USAGE;
}

struct entry {
    const char *id;
    size_t list, rank;
    double value; /* the list's contribution, weight applied */
};

static int cmp_entry(const void *x, const void *y)
{
    const struct entry *a = x, *b = y;
    int c = strcmp(a->id, b->id);
    if (c)
        return c;
    if (a->list != b->list)
        return a->list < b->list ? -1 : 1;
    return a->rank < b->rank ? -1 : a->rank > b->rank;
}

static int cmp_result(const void *x, const void *y)
{
    const struct vs_fuse_result *a = x, *b = y;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return strcmp(a->id, b->id);
}

void vs_fuse_results_free(struct vs_fuse_result *r, size_t n)
{
    if (!r)
        return;
    for (size_t i = 0; i < n; i++)
        free(r[i].ranks);
    free(r);
}

int vs_fuse(const struct vs_fuse_list *lists, size_t nlists,
            const struct vs_fuse_opts *o, struct vs_fuse_result **out,
            size_t *n, struct vs_diag *d)
{
    *out = NULL;
    *n = 0;
    struct vs_fuse_opts def;
    if (!o) {
        vs_fuse_opts_init(&def);
        o = &def;
    }
    if ((unsigned)o->method > VS_FUSE_DBSF)
        return vs_diag_set(d, VS_E_USAGE, "fuse: unknown method");
    if (o->method == VS_FUSE_RRF && !(o->rrf_k > 0 && isfinite(o->rrf_k)))
        return vs_diag_set(d, VS_E_USAGE, "fuse: rrf k must be > 0");
    if (!(o->alpha >= 0 && o->alpha <= 1))
        return vs_diag_set(d, VS_E_USAGE, "fuse: alpha must be in [0, 1]");
    size_t total = 0;
    for (size_t l = 0; l < nlists; l++) {
        if (o->weights && !isfinite(o->weights[l]))
            return vs_diag_set(d, VS_E_USAGE, "fuse: weight %zu not finite", l);
        for (size_t i = 0; i < lists[l].n; i++)
            if (!isfinite(lists[l].items[i].score))
                return vs_diag_set(d, VS_E_USAGE,
                                   "fuse: list %zu item %zu: score not finite",
                                   l, i);
        total += lists[l].n;
    }
    struct entry *e = malloc((total + 1) * sizeof *e);
    struct vs_fuse_result *r = calloc(total + 1, sizeof *r);
    size_t ne = 0, nr = 0;
    int rc = VS_OK;
    if (!e || !r) {
        rc = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t l = 0; l < nlists; l++) {
        const struct vs_fuse_item *it = lists[l].items;
        size_t m = lists[l].n;
        double w = 1;
        if (o->weights)
            w = o->weights[l];
        else if (nlists == 2 && o->method != VS_FUSE_RRF)
            w = l == 0 ? o->alpha : 1 - o->alpha;
        /* both normalisations are scale-invariant: the scores are divided
         * by a power of two (exact) that brings the largest magnitude to at
         * most 1, so differences, sums and squares of scores near the
         * double range (+-1e308) cannot overflow to inf or NaN */
        double scale = 1, big = 0;
        for (size_t i = 0; i < m && o->method != VS_FUSE_RRF; i++)
            if (fabs(it[i].score) > big)
                big = fabs(it[i].score);
        if (big > 1) {
            int ex;
            (void)frexp(big, &ex);
            scale = ldexp(1.0, -ex);
        }
        double lo = 0, hi = 0;
        if (m > 0 && o->method == VS_FUSE_WEIGHTED) {
            lo = hi = it[0].score * scale;
            for (size_t i = 1; i < m; i++) {
                if (it[i].score * scale < lo)
                    lo = it[i].score * scale;
                if (it[i].score * scale > hi)
                    hi = it[i].score * scale;
            }
        } else if (m > 0 && o->method == VS_FUSE_DBSF) {
            double mu = 0, var = 0;
            for (size_t i = 0; i < m; i++)
                mu += it[i].score * scale;
            mu /= (double)m;
            for (size_t i = 0; i < m; i++)
                var += (it[i].score * scale - mu) * (it[i].score * scale - mu);
            double sd = sqrt(var / (double)m);
            lo = mu - 3 * sd;
            hi = mu + 3 * sd;
        }
        for (size_t i = 0; i < m; i++) {
            double v;
            if (o->method == VS_FUSE_RRF)
                v = 1.0 / (o->rrf_k + (double)(i + 1));
            else if (hi > lo) {
                v = (it[i].score * scale - lo) / (hi - lo);
                v = v < 0 ? 0 : v > 1 ? 1 : v;
            } else
                v = 1;
            e[ne].id = it[i].id;
            e[ne].list = l;
            e[ne].rank = i + 1;
            e[ne].value = w * v;
            ne++;
        }
    }
    qsort(e, ne, sizeof *e, cmp_entry);
    for (size_t i = 0; i < ne;) {
        size_t j = i;
        struct vs_fuse_result *x = &r[nr];
        x->id = e[i].id;
        x->ranks = calloc(nlists + 1, sizeof *x->ranks);
        if (!x->ranks) {
            rc = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            goto done;
        }
        nr++;
        /* sum in list order so the result does not depend on sorting */
        for (; j < ne && strcmp(e[j].id, e[i].id) == 0; j++) {
            if (x->ranks[e[j].list])
                continue; /* a repeat inside one list */
            x->ranks[e[j].list] = e[j].rank;
            x->score += e[j].value;
        }
        i = j;
    }
    qsort(r, nr, sizeof *r, cmp_result);
done:
    free(e);
    if (rc != VS_OK) {
        vs_fuse_results_free(r, nr);
        return rc;
    }
    *out = r;
    *n = nr;
    return VS_OK;
}
