/* vs_query.h: searching a store with query records (what vs-query runs).
 *
 * A struct vs_query holds an open store's vectors, ids and liveness as
 * vs_flat parts, an optional filter applied to every query, an embedder for
 * text-only queries when the store's model is available locally, and a
 * pending batch of parsed queries. The caller adds query records one at a
 * time (each is checked at once, so a bad record is reported at its line)
 * and runs the batch, which calls back once per hit record, in query order
 * then rank order.
 *
 * Query record: "id" (string or integer: the qid; BEIR's "_id" when there
 * is no "id"), "vector" or "vector_b64" (else "text", embedded with the
 * store's model), optional "vector_model" (must be the store's model when
 * the store pins one: VS_E_MISMATCH), optional "filter" (a vs_filter
 * expression, ANDed with the global one) and "k".
 *
 * Hit record: qid, id, rank (from 1), score, distance (not for dot),
 * metric, then doc_id (when the stored doc has one: a chunk's document),
 * text and metadata of the stored doc (unless switched off),
 * and with explain an "explain" object on the rank-1 hit (a query with no
 * hits then gets one record with just qid, hits 0 and explain).
 *
 * json_t rules: vs_query_add borrows rec; the hit handed to the callback is
 * borrowed for the call only.
 */
#ifndef VS_QUERY_H
#define VS_QUERY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "vs_jsonscan.h"
#include "vs_status.h"
#include "vs_store.h"

#define VS_QUERY_K_MAX 100000

struct vs_query_opts {
    size_t k;            /* default k (>= 1) */
    size_t batch;        /* queries per block (>= 1) */
    int threads;         /* 0 = OpenMP default */
    int simd;            /* enum vs_simd, or -1 for the best */
    const char *filter;  /* applies to every query; NULL = none */
    int no_text;         /* leave "text" out of hits */
    int no_metadata;     /* leave "metadata" out of hits */
    int explain;         /* add the "explain" object */
    size_t ef;           /* HNSW beam width for segments with a graph; 0 = 64 */
    int exact;           /* 1 = exact scan of every segment (ignore graphs) */
};

struct vs_query;

/* Prepare to search store s (borrowed; it must outlive the query object).
 * Loads the ids and vectors of the segments searched exactly (the scan
 * breaks ties by id); a segment with a graph is read block by block as
 * searches touch it, and its hits' ids are read from their docs
 * (vs_segment_id), not its whole ids section. Errors: VS_E_FILTER (o->filter
 * does not parse; d->col is its column), VS_E_CORRUPT and other store
 * errors, VS_E_UNSUPPORTED (o->simd not available), VS_E_NOMEM. */
int vs_query_new(struct vs_store *s, const struct vs_query_opts *o,
                 struct vs_query **out, struct vs_diag *d);
void vs_query_free(struct vs_query *q);

/* A second query object over q's store with q's options that shares q's
 * graphs (q must outlive it) and searches them on the calling thread with
 * slot (vs_query_set_slot): one query object per thread of the caller's
 * own, each with its batch, search at once. Query texts are embedded with
 * q's embedder, so vs_query_add of q and its siblings must not run at once.
 * Errors: VS_E_INTERNAL (slot not below vs_query_slots), VS_E_NOMEM and the
 * errors of vs_query_new. */
int vs_query_sibling(struct vs_query *q, int slot, struct vs_query **out,
                     struct vs_diag *d);
/* How many slots q's graphs have (its threads; 1024 without graphs). */
int vs_query_slots(const struct vs_query *q);
/* slot >= 0: search on the calling thread alone (graphs with that slot,
 * the exact scan on one thread, no OpenMP team); -1: OpenMP threads as
 * opened. */
void vs_query_set_slot(struct vs_query *q, int slot);
/* Add from's counters (distances, shortfalls) to q's and zero them. */
void vs_query_absorb(struct vs_query *q, struct vs_query *from);

/* Parse one query record and add it to the pending batch.
 * Errors (d->field and detail set; the caller adds file and line):
 * VS_E_FIELD (no id, no vector and no usable text, bad k, bad filter),
 * VS_E_DIM (vector length differs from the store's dimension),
 * VS_E_MISMATCH (vector_model is not the store's model),
 * VS_E_NONFINITE, VS_E_DATA (a zero vector where vectors are normalised),
 * VS_E_NOMEM. A rejected record leaves the batch as it was. */
int vs_query_add(struct vs_query *q, const json_t *rec, struct vs_diag *d);

/* Number of queries waiting; vs_query_full is 1 when the batch is full. */
size_t vs_query_pending(const struct vs_query *q);
int vs_query_full(const struct vs_query *q);

/* Search the pending batch and call emit(hit, arg) for each hit record;
 * emit returns VS_OK or a status that stops the run (returned as is).
 * *nhits gets the number of hits written (may be NULL); *nempty the
 * number of queries that found nothing (may be NULL). The batch is empty
 * afterwards. */
int vs_query_run(struct vs_query *q, int (*emit)(const json_t *hit, void *arg),
                 void *arg, uint64_t *nhits, uint64_t *nempty,
                 struct vs_diag *d);

/* Add a query given as dim floats rather than a record (the JSON-free path
 * of the public API, lib/api/): k 0 = the default k; filter (may be NULL)
 * is this query's own, as a record's "filter". The checks and errors of
 * vs_query_add: VS_E_FIELD ("k" above VS_QUERY_K_MAX, "filter" that does
 * not compile), VS_E_DIM ("vector"), VS_E_DATA (a zero vector where
 * vectors are normalised), VS_E_NOMEM; the caller checks that the floats
 * are finite. A rejected query leaves the batch as it was. */
int vs_query_add_vector(struct vs_query *q, const float *vec, size_t dim, size_t k,
                        const char *filter, struct vs_diag *d);

/* One hit as vs_query_run_hits hands it over (borrowed for the call). */
struct vs_query_hit {
    const char *id;    /* the record's id (the store's bytes) */
    float score;       /* as the hit record's "score" ... */
    float distance;    /* ... and "distance" */
    int has_distance;  /* 0 for dot */
    const json_t *doc; /* the stored record (text, metadata, doc_id) when
                          with_doc is VS_QUERY_DOC_JSON, else NULL */
    const char *raw;   /* with VS_QUERY_DOC_TEXT: the stored record's JSON
                          text (vs_segment_doc_raw), raw_len bytes, when it
                          is in the form vs_json_scan_doc accepts; its
                          members doc_id, text and metadata in member[]
                          (vs_jsonscan.h). Else NULL and doc is set. */
    size_t raw_len;
    struct vs_json_span member[3];
};

/* with_doc of vs_query_run_hits */
#define VS_QUERY_DOC_NONE 0
#define VS_QUERY_DOC_JSON 1
#define VS_QUERY_DOC_TEXT 2

/* Search the pending batch as vs_query_run does, without a json_t per
 * hit: hit(i, rank, h, arg) for pending query i (0-based) and rank from 1,
 * in query then rank order; with_doc (VS_QUERY_DOC_*) says how the stored
 * record is handed over: not at all, as json_t or as its text. A query
 * refused for a score that is not finite stops the run (the queries
 * before it were handed over). Not with explain (it is left out). hit
 * returns VS_OK or a status that stops the run (returned as is). The
 * batch is empty afterwards. */
int vs_query_run_hits(struct vs_query *q, int with_doc,
                      int (*hit)(size_t i, size_t rank, const struct vs_query_hit *h, void *arg),
                      void *arg, struct vs_diag *d);

/* Search the pending batch as vs_query_run does and write its hit records
 * as NDJSON text, byte for byte what vs_ndjson_write writes for the records
 * vs_query_run hands to emit with "qid" set to qids[i] (qlens[i] bytes of
 * UTF-8) for pending query i: one call of write(buf, len, nrec, arg) per
 * batch with its nrec records (none when the batch found nothing), with no
 * json_t per hit. When a query is refused (a score that is not finite) the
 * records of the queries before it are written and its status returned.
 * Not with explain (VS_E_INTERNAL). write returns VS_OK or a status that
 * is returned as is. */
int vs_query_run_text(struct vs_query *q, const char *const *qids, const size_t *qlens,
                      int (*write)(const char *buf, size_t len, size_t nrec, void *arg),
                      void *arg, uint64_t *nhits, uint64_t *nempty, struct vs_diag *d);

/* Totals over the object's life, for --stats. */
uint64_t vs_query_distances(const struct vs_query *q);
/* Queries that got fewer than k hits (fewer records matched than k). */
uint64_t vs_query_shortfalls(const struct vs_query *q);
/* Per segment, for tracing (vs-serve's search spans): what the last
 * vs_query_run did with segment p. The exact scan covers all segments
 * without a graph at once, then the graph segments are searched, so the
 * times are those of the phase that searched p (Unix nanoseconds). */
struct vs_query_segstat {
    uint64_t rows;      /* rows of the segment, live and dead */
    int graph;          /* 1 searched through its HNSW graph, 0 scanned exactly */
    uint64_t start_ns, end_ns;
};
/* VS_OK, or VS_E_NOTFOUND when p is past the last segment or the last run
 * searched nothing (an empty batch or store). */
int vs_query_segment_stat(const struct vs_query *q, size_t p,
                          struct vs_query_segstat *out);

/* The kernel variant in use ("avx512", ...). */
const char *vs_query_kernel(const struct vs_query *q);

#endif
