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

/* The cross-encoder (rerank_cross.c): a BERT sequence-pair classifier
 * loaded from a Hugging Face folder (config.json, vocab.txt,
 * model.safetensors with classifier.weight/bias and the pooler). name is a
 * folder, else a folder name in $VS_MODEL_DIR (else
 * ~/.cache/vecstore/models). Errors: VS_E_IO, VS_E_DATA (bad config or
 * tensors), VS_E_UNSUPPORTED (activation), VS_E_NOMEM. */
struct vs_cross;
int vs_rerank_cross_open(const char *name, struct vs_cross **out,
                         struct vs_diag *d);
void vs_rerank_cross_free(struct vs_cross *m);
size_t vs_rerank_cross_max_len(const struct vs_cross *m);
/* Score n (query, doc) pairs: logit 0 of the classifier (through a sigmoid
 * when sigmoid is set); threads 0 = OpenMP default. *ntrunc (may be NULL)
 * gets the number of pairs cut to the model's length. Errors: VS_E_DATA
 * (invalid UTF-8), VS_E_NOMEM. */
int vs_rerank_cross_score(struct vs_cross *m, const char *query,
                          const char *const *docs, size_t n, int sigmoid,
                          int threads, double *scores, size_t *ntrunc,
                          struct vs_diag *d);

#endif
