/* bm25_global.c: the statistics BM25 scores with (vs_bm25.h, "global
 * statistics"): a segment set's own, or those of every shard of a
 * collection, set per thread by the caller that searches shards. */
#include "bm25_internal.h"

#include <string.h>

static _Thread_local struct vs_bm25_global *cur;

void vs_bm25_global_set(struct vs_bm25_global *g) { cur = g; }

void vs_bm25_stats_docs(const struct vs_bm25_view *views, size_t n, double *N,
                        double *total)
{
    *N = 0;
    *total = 0;
    if (cur && !cur->record) {
        *N = cur->docs;
        *total = cur->total_len;
        return;
    }
    for (size_t v = 0; v < n; v++) {
        *N += (double)views[v].index->ndocs;
        *total += (double)views[v].index->total_len;
    }
    if (cur) {
        cur->docs = *N;
        cur->total_len = *total;
    }
}

int vs_bm25_stats_df(const struct vs_bm25_view *views, size_t n, const char *term,
                     double *df, struct vs_diag *d)
{
    *df = 0;
    if (cur && !cur->record) {
        if (cur->df(cur->arg, term, df) != 0)
            return vs_diag_set(d, VS_E_USAGE, "bm25: the global statistics lack the "
                               "term '%.200s'", term);
        return VS_OK;
    }
    for (size_t v = 0; v < n; v++)
        *df += (double)vs_bm25_df(views[v].index, term, strlen(term));
    if (cur && cur->df(cur->arg, term, df) != 0)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    return VS_OK;
}
