/* vs_bm25.h: a BM25 full-text index of one segment, serialisable to a byte
 * buffer, searchable over several segments with global statistics.
 *
 * Life of an index:
 *   builder_new(analyzer spec) -> builder_add(row, text) ... ->
 *   builder_finish() gives a malloc'd byte buffer (the serialised index) ->
 *   vs_bm25_open(buffer) reads it back without decompressing the postings
 *   (each 64 KiB chunk of postings is decompressed on first use) ->
 *   vs_bm25_search() over one or several opened indexes.
 * vs_bm25_merge() writes the index of a compacted segment from the indexes of
 * the segments it replaces (dropping dead rows and renumbering the others);
 * the result is byte for byte the index that building from scratch gives.
 *
 * Scoring (docs/bm25.md): for a term t and a document d,
 *   idf(t)  = ln(1 + (N - df + 0.5) / (df + 0.5))      (never negative)
 *   s(t,d)  = idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))
 * where N, df and avgdl are summed over all the segments searched together,
 * so a search over several segments scores exactly as one index holding the
 * same documents. N and the lengths count every document added, dead ones
 * included (as Lucene does), until a merge drops them. dl is the number of
 * terms the analyzer emitted (stop words excluded). A phrase scores as one
 * term whose tf is the number of times the phrase occurs and whose idf is the
 * sum of its terms' idfs. A query term repeated n times counts n times.
 *
 * Query syntax (vs_bm25_query_parse):
 *   word            optional term (documents must match at least one
 *                   optional clause when there is no required one)
 *   "two words"     phrase (positions must follow each other, with the
 *                   gaps stop words leave)
 *   +word +"a b"    required
 *   -word -"a b"    excluded
 * A bare word the analyzer splits into several terms ("e-mail") is several
 * optional terms, or one phrase when it carries + or -. An unterminated quote
 * runs to the end of the query. Terms the analyzer drops (stop words) vanish.
 * A query with no positive clause matches nothing.
 *
 * Rows are a segment's row numbers (0 .. 2^32-2). Ties in score are broken by
 * view index, then row, ascending, so results are deterministic.
 *
 * Thread safety: an opened index may be searched from several threads at
 * once (chunk loading is locked); a scratch, a builder and a query (which
 * holds no analyzer) belong to one thread at a time.
 */
#ifndef VS_BM25_H
#define VS_BM25_H

#include <stddef.h>
#include <stdint.h>

#include "vs_analyzer.h"
#include "vs_status.h"

/* Defaults chosen by measurement on ADI, Cranfield and SciFact
 * (docs/bm25.md). */
#define VS_BM25_K1_DEFAULT 1.2
#define VS_BM25_B_DEFAULT 0.75

/* Format version written by this library (versions 1, without skip
 * streams, and 2, with looser block bounds, are still read). */
#define VS_BM25_FORMAT 3

/* ---- building ---- */

struct vs_bm25_builder;

/* A builder that analyzes text with the analyzer of this spec (NULL: the
 * default). Errors: VS_E_CONFIG (bad spec), VS_E_NOMEM. */
int vs_bm25_builder_new(const char *analyzer_spec,
                        struct vs_bm25_builder **out, struct vs_diag *d);
void vs_bm25_builder_free(struct vs_bm25_builder *b);

/* Add the text of one row. Rows must be strictly increasing; rows never
 * added are absent (not counted in N). Errors: VS_E_USAGE (row not
 * increasing or too large; the builder is unchanged), VS_E_NOMEM (after
 * which the builder may only be freed). */
int vs_bm25_builder_add(struct vs_bm25_builder *b, uint64_t row,
                        const char *text, size_t len, struct vs_diag *d);

/* Serialise: *buf is a new malloc'd buffer of *len bytes (the caller frees
 * it). The builder stays usable (more rows may be added and finish called
 * again). Errors: VS_E_NOMEM, VS_E_INTERNAL (compression failed). */
int vs_bm25_builder_finish(struct vs_bm25_builder *b, void **buf, size_t *len,
                           struct vs_diag *d);

/* ---- reading ---- */

struct vs_bm25;

/* Give the buffer to the index: vs_bm25_close() frees it (with free()). */
#define VS_BM25_OWN 1u

/* Open a serialised index. The buffer is borrowed and must stay unchanged
 * while the index is open (unless VS_BM25_OWN). Only the header, the
 * document lengths and the dictionary are decoded at open.
 * Errors: VS_E_CORRUPT (bad magic, offsets or sizes), VS_E_VERSION,
 * VS_E_NOMEM. On error with VS_BM25_OWN the buffer is not freed. */
int vs_bm25_open(const void *buf, size_t len, unsigned flags,
                 struct vs_bm25 **out, struct vs_diag *d);
void vs_bm25_close(struct vs_bm25 *ix);

const char *vs_bm25_analyzer(const struct vs_bm25 *ix); /* analyzer id */
uint64_t vs_bm25_docs(const struct vs_bm25 *ix);      /* documents added */
uint64_t vs_bm25_rows(const struct vs_bm25 *ix);      /* last row + 1 */
uint64_t vs_bm25_total_len(const struct vs_bm25 *ix); /* sum of lengths */
uint64_t vs_bm25_terms(const struct vs_bm25 *ix);     /* distinct terms */
/* Length of a row's document, -1 when the row is absent. */
long vs_bm25_doc_len(const struct vs_bm25 *ix, uint64_t row);
/* Document frequency of an (analyzed) term, 0 when absent. */
uint64_t vs_bm25_df(const struct vs_bm25 *ix, const char *term, size_t len);

/* ---- merging (compaction) ---- */

struct vs_bm25_merge_input {
    const struct vs_bm25 *index;
    /* rowmap[old row] = new row, or -1 to drop the row (e.g. a tombstone);
     * NULL keeps every row at base + old row. New rows must increase with
     * old rows inside an input, and all new rows of an input must come
     * before those of the next input. */
    const int64_t *rowmap;
    uint64_t base;
};

/* Write the merged index into a new malloc'd buffer. All inputs must have
 * the same analyzer (VS_E_MISMATCH). Errors: VS_E_USAGE (rows out of
 * order), VS_E_CORRUPT, VS_E_NOMEM. */
int vs_bm25_merge(const struct vs_bm25_merge_input *in, size_t n, void **buf,
                  size_t *len, struct vs_diag *d);

/* ---- queries and search ---- */

struct vs_bm25_query;

/* Parse a query with the syntax above, analyzing its words with a (which
 * must have the id of the indexes searched). Errors: VS_E_NOMEM. */
int vs_bm25_query_parse(struct vs_analyzer *a, const char *text,
                        struct vs_bm25_query **out, struct vs_diag *d);
void vs_bm25_query_free(struct vs_bm25_query *q);
/* The analyzer id the query was parsed with; the number of clauses. */
const char *vs_bm25_query_analyzer(const struct vs_bm25_query *q);
size_t vs_bm25_query_clauses(const struct vs_bm25_query *q);

struct vs_bm25_params {
    double k1; /* >= 0; VS_BM25_K1_DEFAULT */
    double b;  /* 0 .. 1; VS_BM25_B_DEFAULT */
};

/* One segment to search. A bitmap has bit (row & 63) of word row >> 6 set
 * for a live (or allowed) row and covers vs_bm25_rows() rows. */
struct vs_bm25_view {
    const struct vs_bm25 *index;
    const uint64_t *live;   /* liveness bitmap; NULL: every row live */
    /* liveness callback (1 = live), asked when live is NULL; NULL: none */
    int (*live_fn)(const void *arg, uint64_t row);
    const void *live_arg;
    const uint64_t *filter; /* rows allowed by a filter; NULL: all */
};

struct vs_bm25_hit {
    uint32_t view;  /* index into the views array */
    uint64_t row;
    double score;
};

/* Counters of one search (optional). */
struct vs_bm25_search_stats {
    uint64_t postings; /* postings decoded */
    uint64_t matched;  /* documents matching the query (before live/filter) */
    uint64_t eligible; /* of those, live and allowed by the filter */
    /* views where top-k pruning left postings unread; matched and eligible
     * then count only the documents scored before it began */
    uint64_t pruned;
};

/* Reusable per-thread buffers for vs_bm25_search (sized on use). */
struct vs_bm25_scratch;
struct vs_bm25_scratch *vs_bm25_scratch_new(void);
void vs_bm25_scratch_free(struct vs_bm25_scratch *s);

/* The top k documents of the views for q: hits (room for k) gets *nhits <=
 * k hits, best first. Queries of optional terms over long posting lists
 * are pruned (MaxScore, docs/bm25.md): the hits and scores are exactly
 * those of scoring every posting. p NULL means the defaults; scratch NULL allocates for
 * this call; st may be NULL. Errors: VS_E_MISMATCH (a view's analyzer is not
 * the query's), VS_E_USAGE (bad k1 or b), VS_E_CORRUPT (damaged postings),
 * VS_E_NOMEM. */
int vs_bm25_search(const struct vs_bm25_view *views, size_t nviews,
                   const struct vs_bm25_query *q,
                   const struct vs_bm25_params *p, size_t k,
                   struct vs_bm25_scratch *scratch, struct vs_bm25_hit *hits,
                   size_t *nhits, struct vs_bm25_search_stats *st,
                   struct vs_diag *d);

/* ---- explain ---- */

/* Called once per positive clause (a term or a phrase) that matches the
 * document: label is the analyzed term, or a phrase's terms joined by
 * spaces; required says it was +term; tf is the term (or phrase) frequency
 * in the document; score its BM25 contribution (they sum to the document's
 * score). Return VS_OK to go on. */
typedef int (*vs_bm25_explain_fn)(void *arg, const char *label, int required,
                                  uint32_t tf, double score);

/* Explain the score of row of views[view] for q, with the same global
 * statistics as vs_bm25_search over the same views. Errors: those of
 * vs_bm25_search, or what emit returns. */
int vs_bm25_explain(const struct vs_bm25_view *views, size_t nviews,
                    const struct vs_bm25_query *q,
                    const struct vs_bm25_params *p, size_t view, uint64_t row,
                    vs_bm25_explain_fn emit, void *arg, struct vs_diag *d);

/* ---- global statistics (shards) ----
 *
 * BM25 over several stores (shards of one collection) scores as one store
 * holding every document when each shard searches with the statistics of
 * all of them: the number of documents N, the sum of their lengths and each
 * term's document frequency (Elasticsearch's dfs_query_then_fetch). A
 * struct vs_bm25_global set for the calling thread applies to every
 * vs_bm25_search and vs_bm25_explain of that thread until it is cleared:
 *   record = 1: the search uses its views' own statistics and reports them:
 *               docs and total_len are set to the views' sums and df is
 *               called with each query term's document frequency over the
 *               views (the first phase, gathering);
 *   record = 0: docs, total_len and df replace the views' statistics (the
 *               second phase); df returning non-zero for a term refuses
 *               the search (VS_E_USAGE: the statistics lack the term).
 * Integers summed as doubles are exact below 2^53, so the scores equal
 * those of one store bit for bit. */
struct vs_bm25_global {
    int record;
    double docs, total_len;
    int (*df)(void *arg, const char *term, double *df);
    void *arg;
};

/* Set (or clear, with NULL) the calling thread's global statistics; g is
 * borrowed until cleared. */
void vs_bm25_global_set(struct vs_bm25_global *g);

#endif
