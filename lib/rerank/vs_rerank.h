/* vs_rerank.h: re-scoring the hits of a query (what vs-rerank runs).
 *
 * Input is a stream of hit records as vs-query writes them: qid, id, rank,
 * score, text (and "vector" or "vector_b64" for mmr). Hits of one query must
 * arrive together (one group per qid, in any order of qids); a qid seen again
 * after its group ended is a data error (VS_E_DATA), so only one group is in
 * memory at a time.
 *
 * The query text comes from query records given with vs_rerank_add_query
 * (id, text, optional vector) or from a "query" string carried on the hits
 * (which wins when both exist).
 *
 * Methods:
 *   bm25  BM25 (vs_bm25.h) of the query over the group's texts, with the
 *         statistics (N, df, avgdl) of the group itself and an analyzer spec
 *         (default VS_ANALYZER_DEFAULT). A hit matching no query term: 0.
 *         With a store (opts.store): each hit's id is scored as that
 *         store's own BM25 search scores the stored record (its analyzer,
 *         N, document frequencies and average length; the stored text, so
 *         hits need no "text"); a hit whose id is not a live record of the
 *         store is a data error (VS_E_DATA).
 *   mmr   maximal marginal relevance (vs_mmr.h) over the hits' vectors with
 *         lambda; relevance is cos(query vector, hit) when the query record
 *         has a vector, else the hit's retrieval score. The group keeps the
 *         MMR pick order (no re-sort by score); score is each pick's MMR value.
 *   cross-encoder  a BERT sequence-pair classifier (rerank_cross.c):
 *         [CLS] q [SEP] d [SEP] with token types, the passage cut to fit,
 *         the encoder of vs_bert.h in packed batches of 32 pairs, pooler
 *         and classifier; score = logit 0 (or its sigmoid).
 *   late-interaction  ColBERT-style MaxSim (rerank_late.c): query and
 *         passage token embeddings of a BERT folder, through its linear
 *         projection when it has one, unit length; score = sum over query
 *         tokens of the best dot product with a passage token.
 *   api   an HTTP rerank endpoint: POST {model?, query, documents, top_n}
 *         and read {results: [{index, relevance_score}]} (Cohere, Jina,
 *         llama.cpp) or a bare array [{index, score}] (Hugging Face TEI).
 *         Every document of the group must come back scored.
 *
 * Blending (blend >= 0): the final score mixes the rerank score r and the
 * retrieval score s of each hit in its group:
 *   MINMAX  blend * minmax(r) + (1 - blend) * minmax(s)
 *           (minmax over the group; all equal values normalise to 1)
 *   RRF     blend / (60 + rank_r) + (1 - blend) / (60 + retrieval_rank)
 * and the group is sorted by it (ties: lower retrieval rank first).
 *
 * Output: each kept hit, in new order, with "retrieval_rank" and
 * "retrieval_score" (the input's rank and score), then "rank" (from 1) and
 * "score" set anew; with blending also "rerank_score" (the method's score).
 * --min-score drops hits whose final score is lower; k keeps the first k.
 * A record without "id" that has "hits" (vs-query --explain of a query with
 * no hits) passes through unchanged.
 *
 * json_t rules: vs_rerank_push and vs_rerank_add_query borrow their record
 * (the object keeps its own reference to a pushed hit until it is emitted);
 * emit() borrows the record for the call only.
 */
#ifndef VS_RERANK_H
#define VS_RERANK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "vs_http.h"
#include "vs_status.h"

#define VS_RERANK_RRF_K 60.0

enum vs_rerank_method {
    VS_RERANK_BM25 = 0,
    VS_RERANK_MMR = 1,
    VS_RERANK_API = 2,
    VS_RERANK_CROSS_ENCODER = 3,
    VS_RERANK_LATE_INTERACTION = 4
};

enum vs_rerank_blend {
    VS_RERANK_BLEND_MINMAX = 0,
    VS_RERANK_BLEND_RRF = 1
};

struct vs_rerank_opts {
    enum vs_rerank_method method;
    size_t k;              /* hits kept per query, 0 = all */
    int has_min_score;     /* drop hits scoring below min_score */
    double min_score;
    double blend;          /* weight of the rerank score in [0, 1]; < 0: off */
    enum vs_rerank_blend blend_mode;
    double lambda;         /* mmr, [0, 1] */
    const char *analyzer;  /* bm25 analyzer spec; NULL = default */
    const char *store;     /* bm25: score with this store's analyzer and
                              statistics (then analyzer must be NULL) */
    double k1, b;          /* bm25 parameters */
    const char *url;       /* api: endpoint (required) */
    const char *model;     /* api: "model" of the request (NULL = left out);
                              cross-encoder, late-interaction: the model
                              folder (required) */
    int sigmoid;           /* cross-encoder: score = sigmoid(logit) */
    int threads;           /* cross-encoder, late-interaction: threads,
                              0 = OpenMP default */
    const char *api_key;   /* api: sent as "Authorization: Bearer KEY"; NULL = none */
    struct vs_http_opts http; /* api: timeouts, retries, rpm */
};

/* Fill o with the defaults: bm25, keep all, no min score, no blend (RRF
 * mode when one is set), lambda VS_MMR_LAMBDA_DEFAULT, BM25 defaults, the
 * HTTP defaults. */
void vs_rerank_opts_init(struct vs_rerank_opts *o);

/* "bm25", "mmr", "api", "cross-encoder", "late-interaction". Parse returns
 * VS_OK or VS_E_USAGE. */
const char *vs_rerank_method_name(enum vs_rerank_method m);
int vs_rerank_method_parse(const char *s, enum vs_rerank_method *out);
/* "minmax", "rrf". */
int vs_rerank_blend_parse(const char *s, enum vs_rerank_blend *out);

struct vs_rerank;

/* Errors: VS_E_USAGE (bad k1, b, lambda, blend; api without url; store
 * with analyzer or with another method), errors of opening the store
 * (VS_E_NOSTORE, VS_E_CORRUPT, ...; VS_E_UNSUPPORTED without a text index),
 * VS_E_CONFIG (bad analyzer spec),
 * errors of loading the cross-encoder, VS_E_NOMEM, VS_E_INTERNAL (curl would not start). */
int vs_rerank_new(const struct vs_rerank_opts *o, struct vs_rerank **out,
                  struct vs_diag *d);
void vs_rerank_free(struct vs_rerank *r);

/* Remember a query record: "id" (string or integer), "text" (string,
 * optional when it has a vector), optional "vector"/"vector_b64".
 * Errors: VS_E_FIELD, VS_E_NONFINITE, VS_E_DATA (id given twice), VS_E_NOMEM. */
int vs_rerank_add_query(struct vs_rerank *r, const json_t *rec,
                        struct vs_diag *d);

typedef int (*vs_rerank_emit_fn)(const json_t *rec, void *arg);

/* Add one hit. When its qid differs from the current group's, the current
 * group is scored and emitted first. Errors (d->field and detail set; the
 * caller adds file and line): VS_E_FIELD (no qid; no text for bm25/api; no
 * vector for mmr; rank or score of the wrong type; no query text for the
 * qid), VS_E_DIM (vector length differs inside a group), VS_E_DATA (the qid's
 * group already ended), and any error of scoring the previous group or of
 * emit (returned as is). */
int vs_rerank_push(struct vs_rerank *r, const json_t *hit,
                   vs_rerank_emit_fn emit, void *arg, struct vs_diag *d);

/* Score and emit the last group. Same errors as scoring in push. */
int vs_rerank_finish(struct vs_rerank *r, vs_rerank_emit_fn emit, void *arg,
                     struct vs_diag *d);

/* Score one group without the streaming machinery: scores (room for n)
 * gets the method's score of each text/vector. For bm25 and api, texts are
 * used; for mmr, vecs (n * dim), qvec (may be NULL) and rel (retrieval
 * scores, used when qvec is NULL); order (room for n, may be NULL unless
 * mmr) gets the method's order of the hits, best first. */
int vs_rerank_score(struct vs_rerank *r, const char *query,
                    const char *const *texts, size_t n, const float *vecs,
                    size_t dim, const float *qvec, const double *rel,
                    double *scores, size_t *order, struct vs_diag *d);

struct vs_rerank_stats {
    uint64_t groups, hits_in, hits_out, passthrough;
    uint64_t truncated;     /* cross-encoder, late-interaction: texts cut to fit */
    long requests, retries; /* api */
};
void vs_rerank_stats(const struct vs_rerank *r, struct vs_rerank_stats *st);

#endif
