/* rerank_internal.h: what rerank.c and rerank_api.c share. */
#ifndef VS_RERANK_INTERNAL_H
#define VS_RERANK_INTERNAL_H

#include "vs_http.h"
#include "vs_rerank.h"

/* POST one rerank request of n documents to url and fill scores[n] from the
 * answer. Errors: VS_E_NETWORK, VS_E_REMOTE (HTTP error, or an answer that
 * is not the expected shape, misses or repeats a document, or has a score
 * that is not a finite number), VS_E_USAGE (bad URL), VS_E_NOMEM. */
int vs_rerank_api_call(struct vs_http *h, const char *url, const char *model,
                       const char *api_key, const char *query,
                       const char *const *texts, size_t n, double *scores,
                       struct vs_diag *d);

#endif
