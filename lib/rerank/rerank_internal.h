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

/* Pairs per forward batch of the cross-encoder (packed, no padding). */
#define VS_RERANK_CROSS_BATCH 32

/* A model folder for name: name itself when it exists or has a '/', else
 * $VS_MODEL_DIR/name, else ~/.cache/vecstore/models/name. */
void vs_rerank_model_dir(const char *name, char *buf, size_t size);
/* Resolve name's folder (vs_rerank_model_dir, into dir) and open its BERT
 * encoder; an error's detail is prefixed with "KIND 'name': ". */
struct vs_bert;
int vs_rerank_bert_open(const char *kind, const char *name, char *dir, size_t dirsz,
                        struct vs_bert **bert, struct vs_diag *d);
/* Load tensor prefix+name as float32 with the given shape (b unused when
 * ndim is 1). Errors: those of vs_safetensors_load_f32. */
struct vs_safetensors;
int vs_rerank_load_f32(struct vs_safetensors *st, const char *prefix, const char *name,
                       int ndim, size_t a, size_t b, float **out, struct vs_diag *d);

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

/* bm25 with a store's analyzer and statistics (rerank_store.c): each id is
 * scored as the store's BM25 search over its text sections scores that
 * stored record (p: k1 and b). Open errors: those of vs_store_open and
 * vs_store_text_open, VS_E_UNSUPPORTED (the store has no text index),
 * VS_E_NOMEM. Score errors: VS_E_DATA (an id that is not a live record of
 * the store; d->field "id"), VS_E_CORRUPT, VS_E_NOMEM. */
struct vs_bm25_params;
struct vs_rerank_store;
int vs_rerank_store_open(const char *path, struct vs_rerank_store **out,
                         struct vs_diag *d);
void vs_rerank_store_free(struct vs_rerank_store *rs);
/* VS_OK when id is a live record of the store, else VS_E_DATA (or the
 * errors of reading the ids: VS_E_CORRUPT, VS_E_NOMEM). */
int vs_rerank_store_check(struct vs_rerank_store *rs, const char *id,
                          struct vs_diag *d);
int vs_rerank_store_score(struct vs_rerank_store *rs, const char *query,
                          const char *const *ids, size_t n,
                          const struct vs_bm25_params *p, double *scores,
                          struct vs_diag *d);

/* Late interaction (rerank_late.c): ColBERT-style MaxSim over the token
 * embeddings of a BERT folder, with its linear projection when
 * model.safetensors has "linear.weight" [D, H] (and "linear.bias" [D]).
 * Errors: those of vs_bert_open, VS_E_DATA (a projection of the wrong
 * shape), VS_E_NOMEM. Score errors: VS_E_DATA (invalid UTF-8), VS_E_NOMEM;
 * *ntrunc (may be NULL) counts passages or queries cut to the model
 * length. */
struct vs_late;
int vs_rerank_late_open(const char *name, struct vs_late **out, struct vs_diag *d);
void vs_rerank_late_free(struct vs_late *m);
int vs_rerank_late_score(struct vs_late *m, const char *query, const char *const *docs,
                         size_t n, int threads, double *scores, size_t *ntrunc,
                         struct vs_diag *d);

#endif
