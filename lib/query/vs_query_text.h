/* vs_query_text.h: text (BM25), hybrid and diversified search over a store,
 * around the vector search of vs_query.h (what vs-query runs).
 *
 * Modes (per query record):
 *   vector  the vector search of vs_query.h, hits unchanged
 *   text    BM25 over the store's per-segment sections (vs_store_text.h)
 *           with the record's "text" as the query (vs_bm25.h syntax: words,
 *           "phrases", +required, -excluded); no vector needed
 *   hybrid  both, fused with vs_fuse (rrf, weighted or dbsf)
 *   auto    hybrid when the store has a text index and the record has a
 *           "text"; else vector. A record with text only whose text cannot
 *           be embedded (no local model) falls back to text in auto mode.
 * Each side fetches `depth` candidates (default max(k, 100)) under the
 * filters (the global one ANDed with the record's), so a query gets k hits
 * whenever k records match the filter on the vector side; the fused list is
 * cut to k.
 *
 * MMR (mmr >= 0): the final candidate list (up to depth) is re-ordered by
 * vs_mmr_select over the candidates' stored vectors, with relevance the
 * list's scores min-max normalised to [0, 1], and cut to k.
 *
 * Hits of text, hybrid and MMR queries: qid, id, rank, score (the fused
 * score; BM25 in text mode; the vector score in vector mode), mode,
 * score_vector and score_text (null when the side did not return the
 * record), rank_vector and rank_text, fusion {method, rrf_k | alpha},
 * bm25 {k1, b}, mmr {lambda, value} when used, metric, text, metadata;
 * with explain, an "explain" object on every hit: terms (matched terms with
 * tf and BM25 contribution, summing to score_text), score_text,
 * score_vector.
 *
 * Grouping (group_by): the candidate list (depth, default max(10 k, 100)
 * with grouping) keeps only the best candidate of each value of the stored
 * field group_by ("doc_id" or "metadata.NAME"; a record without the field
 * is a group of its own), then is cut to k (MMR, when asked, re-orders the
 * grouped list): k documents, each by its best chunk, as Vespa's and
 * Qdrant's grouping with one hit per group. Grouped vector-mode hits take
 * the layout of text and hybrid hits (mode "vector", no distance).
 *
 * Every hit carries the stored record's "doc_id" when it has one (before
 * text and metadata), unless both no_text and no_metadata are set (then no
 * stored doc is read; grouping reads them, the hits still leave it out).
 *
 * Extra fields (all modes, appended last): with carry_query, "query" is the
 * query record's "text" string (left out when the record has none); with
 * with_vectors, "vector" is the hit's stored vector as the store keeps it
 * (normalised in a cosine store), as vs_store_get gives it.
 *
 * Fusion of hit streams (vs_query_fuse_files): NDJSON hit records of
 * several runs (qid, id, score, rank order), grouped by qid, fused per qid;
 * output hits: qid, id, rank, score, fusion, and per input i "scores"[i]
 * and "ranks"[i] (null when absent), plus text and metadata from the first
 * input whose hit has them.
 */
#ifndef VS_QUERY_TEXT_H
#define VS_QUERY_TEXT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vs_bm25.h"
#include "vs_fuse.h"
#include "vs_query.h"
#include "vs_status.h"
#include "vs_store.h"

#define VS_QTEXT_DEPTH_DEFAULT 100

enum vs_qmode { VS_QMODE_AUTO = 0, VS_QMODE_VECTOR, VS_QMODE_TEXT, VS_QMODE_HYBRID };

/* "auto", "vector", "text", "hybrid"; parse gives VS_OK or VS_E_USAGE. */
const char *vs_qmode_name(enum vs_qmode m);
int vs_qmode_parse(const char *name, enum vs_qmode *out);

struct vs_qtext_opts {
    enum vs_qmode mode;
    struct vs_fuse_opts fuse;
    struct vs_bm25_params bm25;
    double mmr;   /* lambda in [0, 1]; < 0: no MMR */
    size_t depth; /* candidates per side; 0: max(k, VS_QTEXT_DEPTH_DEFAULT) */
    int carry_query;  /* add "query" (the record's "text") to its hits */
    int with_vectors; /* add "vector" (the stored vector) to every hit */
    const char *group_by; /* one hit per value of this stored field ("doc_id",
                             "metadata.NAME"); NULL: no grouping */
};

void vs_qtext_opts_init(struct vs_qtext_opts *o);

/* The search options a JSON object may set (vs-serve's query records), by
 * the names of vs-query's options: "mode", "fusion", "rrf_k", "alpha",
 * "k1", "b", "candidates", "mmr", "group_by"; NULL-terminated. */
extern const char *const vs_qtext_opt_keys[];
/* Set to's fields from those keys of o (absent keys leave to as it is);
 * to->group_by borrows o's string. VS_E_FIELD (d->field named) for a bad
 * value. */
int vs_qtext_opts_from_json(const json_t *o, struct vs_qtext_opts *to, struct vs_diag *d);

struct vs_qtext;

/* Errors: those of vs_query_new and vs_store_text_open; VS_E_UNSUPPORTED
 * when the mode is text or hybrid and the store has no text index. */
int vs_qtext_new(struct vs_store *s, const struct vs_query_opts *qo,
                 const struct vs_qtext_opts *to, struct vs_qtext **out,
                 struct vs_diag *d);
void vs_qtext_free(struct vs_qtext *t);
/* A second vs_qtext with t's store and options that shares t's graphs and
 * text index (t must outlive it) and searches on the calling thread with
 * slot (0 .. vs_qtext_slots(t) - 1; see vs_query_sibling). Only one of t
 * and its siblings may run text, hybrid, MMR or group-by queries at once
 * (they share the text index's scratch space), and only one may add
 * records at once (they share t's embedder); plain vector batches
 * (vs_qtext_run_text) of different siblings run at once. */
int vs_qtext_sibling(const struct vs_qtext *t, int slot, struct vs_qtext **out,
                     struct vs_diag *d);
int vs_qtext_slots(const struct vs_qtext *t);
/* vs_query_set_slot of t's vector search. */
void vs_qtext_set_slot(struct vs_qtext *t, int slot);
/* Add from's counters (vs_qtext_stats_json) to t's and zero them. */
void vs_qtext_absorb(struct vs_qtext *t, struct vs_qtext *from);

/* As vs_query_add; text and hybrid records need a string "text". */
int vs_qtext_add(struct vs_qtext *t, const json_t *rec, struct vs_diag *d);
size_t vs_qtext_pending(const struct vs_qtext *t);
int vs_qtext_full(const struct vs_qtext *t);
/* As vs_query_run. */
int vs_qtext_run(struct vs_qtext *t, int (*emit)(const json_t *hit, void *arg),
                 void *arg, uint64_t *nhits, uint64_t *nempty,
                 struct vs_diag *d);
/* The record reader's fast path (vs_ndjson_read_fast's take, arg t): 1
 * when line is a plain vector query record read without a json_t (the
 * common {"id", "vector_b64" or "vector", "k"} shape, in the modes where
 * such a record is a vector query: auto or vector, without MMR or
 * group-by); vs_qtext_add_scanned then adds it. 0: parse it and use
 * vs_qtext_add. */
int vs_qtext_scan_line(const char *line, size_t len, void *arg);
/* Add the record vs_qtext_scan_line read last (VS_OK or VS_E_NOMEM). */
int vs_qtext_add_scanned(struct vs_qtext *t, struct vs_diag *d);
/* 1 when every pending query is a plain vector query (no explain, MMR,
 * group-by, carry-query or with-vectors): vs_qtext_run_text can run it. */
int vs_qtext_plain(const struct vs_qtext *t);
/* As vs_qtext_run for a plain batch, the hit records written as NDJSON
 * text through write (vs_query_run_text). VS_E_INTERNAL when the batch is
 * not plain. */
int vs_qtext_run_text(struct vs_qtext *t,
                      int (*write)(const char *buf, size_t len, size_t nrec, void *arg),
                      void *arg, uint64_t *nhits, uint64_t *nempty, struct vs_diag *d);
/* The vector side (for its counters). */
struct vs_query *vs_qtext_vector(struct vs_qtext *t);
/* Queries that got fewer than k hits (all modes). */
uint64_t vs_qtext_shortfalls(const struct vs_qtext *t);
/* Auto-mode queries with text only that were searched by BM25 alone
 * because their text could not be embedded with the store's model; *why
 * (may be NULL) gets the first reason ("" when none), for a warning. */
uint64_t vs_qtext_text_only(const struct vs_qtext *t, const char **why);

/* Merge the hit streams of n files that searched disjoint shards of one
 * collection with the same queries ("-" is standard input): per qid, in
 * the order qids first appear, the k best hits of all files by score
 * (higher first; equal scores by id, strcmp), each written as it was read
 * but for "rank", renumbered from 1; an id seen again for a qid keeps its
 * first, best, occurrence. A qid with no hit in any file gets one
 * {"qid":Q,"hits":0} record. Vector scores of shards are comparable, so
 * with exact search the result is the hits of one store holding every
 * record (but for the order of equal scores); BM25, hybrid and fused scores
 * depend on each shard's term statistics and ranks, and are not:
 * *incomparable (may be NULL) counts the hits that carry "bm25" or
 * "fusion". kmap (may be NULL) maps a qid to its own k (an integer),
 * which wins over k. Errors: as vs_query_fuse_files. */
int vs_query_merge_files(const char *const *paths, size_t n, size_t k, const json_t *kmap,
                         int (*emit)(const json_t *hit, void *arg), void *arg,
                         uint64_t *nqueries, uint64_t *nhits, uint64_t *incomparable,
                         struct vs_diag *d);


/* Fuse the hit streams of n files ("-" is standard input), k hits per
 * qid at most (0: all). Errors: VS_E_FIELD, VS_E_JSON (d has file and
 * line), VS_E_IO, VS_E_USAGE (bad fusion options), VS_E_NOMEM, or what
 * emit returns. */
int vs_query_fuse_files(const char *const *paths, size_t n,
                        const struct vs_fuse_opts *o, size_t k,
                        int (*emit)(const json_t *hit, void *arg), void *arg,
                        uint64_t *nqueries, uint64_t *nhits, struct vs_diag *d);

/* ---- streams of query records (lib/query_stream.c) --------------------- */

/* Counters of vs_qtext_stream and vs_qtext_finish (the caller zeroes them
 * once; every call adds). */
struct vs_qtext_totals {
    uint64_t queries; /* queries searched */
    uint64_t hits;    /* hit records emitted */
    uint64_t empty;   /* queries that found nothing */
    uint64_t skipped; /* bad query records skipped with keep_going */
};

struct vs_qtext_sink {
    /* One hit record (borrowed for the call); VS_OK or a status that stops
     * the run (returned as is). */
    int (*emit)(const json_t *hit, void *arg);
    /* A bad query record skipped with keep_going; may be NULL. */
    void (*warn)(int status, const struct vs_diag *d, void *arg);
    /* After each searched batch, with the totals so far; may be NULL. */
    void (*progress)(const struct vs_qtext_totals *t, void *arg);
    void *arg;
    /* Optional: a batch of nrec hit records as NDJSON text (the bytes emit
     * would get as json_t records and vs_ndjson_write would write). When
     * set, plain vector queries (no explain, MMR, group-by, carry-query or
     * with-vectors) are written through it without a json_t per hit
     * (vs_query_run_text); the others still go to emit. VS_OK or a status
     * that stops the run. */
    int (*write)(const char *buf, size_t len, size_t nrec, void *arg);
};

/* Add the query records of path ("-" is standard input) one by one,
 * searching whenever the batch is full. A bad record (its status and d
 * with FILE:LINE) stops the run, after the good queries read before it
 * are answered (a worse failure of that search wins); with keep_going a
 * bad record whose status is a data error (exit class 3) goes to
 * sink->warn and is skipped instead. Queries still pending at the end of
 * the file stay pending (vs_qtext_finish searches them), so several files
 * can feed one batch. Returns VS_OK, the status of the reader (open, read),
 * of vs_qtext_add, of the search, or what emit returned. */
int vs_qtext_stream(struct vs_qtext *t, const char *path, int keep_going,
                    const struct vs_qtext_sink *sink,
                    struct vs_qtext_totals *tot, struct vs_diag *d);
/* vs_qtext_stream on nthreads threads (t's and nthreads - 1 of its own,
 * each with a sibling of t, at most vs_qtext_slots(t)): each thread in turn
 * reads the next batch of records, searches it, formats its hits into its
 * own buffer and waits for the batches before it to be written, so the
 * reading and writing of one batch overlap the search of another, and
 * the threads block (no spinning) while they wait. The output (emit,
 * write, warn, progress, in that order per batch) is that of
 * vs_qtext_stream, batch after batch in the file's order, from one thread
 * at a time; text, hybrid and other batches that are not plain vector
 * batches are searched in their turn. Pending queries of t are answered
 * first, and every query of path is answered before it returns (none stay
 * pending). A file of one batch is searched as vs_qtext_stream does (on
 * OpenMP threads within the batch). nthreads <= 1: vs_qtext_stream; a
 * thread that cannot be started leaves its share to the others. Errors as
 * vs_qtext_stream. */
int vs_qtext_stream_threads(struct vs_qtext *t, const char *path, int keep_going,
                            int nthreads, const struct vs_qtext_sink *sink,
                            struct vs_qtext_totals *tot, struct vs_diag *d);
/* Ask the n query texts (vs-query --query): each becomes the query record
 * {"id": "q<i>", "text": texts[i-1]} (i from 1), searched as vs_qtext_add
 * and vs_qtext_run would search it, in the store's mode (auto: hybrid when
 * the store has text, embedding with the store's model). Queries still
 * pending at the end stay pending (vs_qtext_finish searches them). A
 * record the store cannot answer (the vector side cannot embed in vector
 * mode) stops the run with d's file "option --query <i>". */
int vs_qtext_ask(struct vs_qtext *t, const char *const *texts, size_t n,
                 const struct vs_qtext_sink *sink, struct vs_qtext_totals *tot,
                 struct vs_diag *d);
/* Search the pending queries (as vs_qtext_run) and count them in tot. */
int vs_qtext_finish(struct vs_qtext *t, const struct vs_qtext_sink *sink,
                    struct vs_qtext_totals *tot, struct vs_diag *d);
/* The counters of a run, for --stats: {"queries", "hits", "empty_queries",
 * "skipped", "k_shortfalls", "distance_computations", "kernel"} (t may be
 * NULL when the store did not open: zeros and kernel "none"). New
 * reference, NULL when out of memory. */
json_t *vs_qtext_stats_json(struct vs_qtext *t, const struct vs_qtext_totals *tot);

/* ---- writing hit records (lib/query_stream.c) -------------------------- */

/* How vs_qtext_shards reaches remote shards and what it does when one
 * fails. */
struct vs_shards_opts {
    const char *key;   /* "Authorization: Bearer KEY" for remote shards, or NULL */
    long timeout_ms;   /* per remote request; 0: 30000 */
    long deadline_ms;  /* for the whole search, from when the queries are read;
                          0: none. A remote request is cut at it; a local shard
                          is not cut, but no shard is asked after it: the shard
                          fails (VS_E_NETWORK, d naming it; with partial it is
                          left out) */
    /* called after each request to shard i (its index in stores) with its
       outcome and seconds taken (may be NULL) */
    void (*observe)(void *arg, size_t i, int status, double seconds);
    void *observe_arg;
    int *late;         /* set to 1 when a shard failed for the deadline (may
                          be NULL) */
    int partial;       /* leave out a shard that cannot be reached or opened
                          (VS_E_NETWORK, VS_E_REMOTE, VS_E_NOSTORE, VS_E_CORRUPT,
                          VS_E_IO) instead of failing: every hit then carries
                          "partial": true */
    json_t *left_out;  /* with partial: gets "SHARD: reason" per shard left
                          out (an array; may be NULL) */
};

/* Search the n shards (vs-shard) with the same queries and merge their
 * hits. A shard is a store path or the URL of a store of a vs-serve,
 * http(s)://HOST:PORT/v1/stores/NAME (searched through its POST
 * .../shard, vs_qtext_shard_request), or http(s)://HOST:PORT when that
 * vs-serve serves one store (found with GET /v1/stores, once per call). The queries of the files (n_files;
 * "-" is standard input, read once into a temporary file) and the asked
 * texts (as vs_qtext_stream and vs_qtext_ask) search each shard in turn
 * with qo and to into a temporary hit stream, merged k per qid (a query's
 * own "k" wins) and given to sink->emit. Bad query records are reported
 * once (sink->warn, with keep_going; by the first shard when it is local).
 *
 * Vector and auto modes: the shards' hits merged by score
 * (vs_query_merge_files); *incomparable counts the BM25, hybrid or fused
 * hits merged (their scores are each shard's own). Text and hybrid modes
 * (given as to->mode): a first phase sums the shards' BM25 statistics
 * (vs_bm25_global) and every shard scores with the sums; hybrid merges
 * each side's candidates over the shards and fuses them here: the hits of
 * one store holding every record (but for the order of equal scores).
 * Refused (VS_E_USAGE): MMR, group_by other than "doc_id" (a group's hits
 * may lie in several shards), and in text and hybrid modes group_by,
 * explain, carry_query and with_vectors. Errors: those of vs_store_open,
 * vs_qtext_stream and vs_query_merge_files, VS_E_NETWORK and VS_E_REMOTE
 * (a remote shard), d naming the shard; VS_E_IO for the temporary files. */
int vs_qtext_shards(const char *const *stores, size_t n, const struct vs_query_opts *qo,
                    const struct vs_qtext_opts *to, const struct vs_shards_opts *so,
                    const char *const *files, size_t n_files, const char *const *asks,
                    size_t n_asks, int keep_going, const struct vs_qtext_sink *sink,
                    struct vs_qtext_totals *tot, uint64_t *incomparable, struct vs_diag *d);

/* The form of a shard URL: 1 a store's URL, http(s)://HOST:PORT/v1/stores/
 * NAME (a final '/' allowed); 0 a bare http(s)://HOST:PORT[/] (*base_len,
 * may be NULL, the length of scheme, host and port); -1 for any other
 * form, d (VS_E_USAGE) saying which forms are taken. */
int vs_qtext_shard_url_check(const char *spec, size_t *base_len, struct vs_diag *d);

/* Whether a shard can answer now (vs-serve's /readyz): a local store
 * opens; a remote one's vs-serve answers GET of the store's URL (a bare
 * http(s)://HOST:PORT found as vs_qtext_shards finds it), within
 * timeout_ms (0: 2000) and without retries. The errors of vs_store_open,
 * VS_E_NETWORK, VS_E_REMOTE, VS_E_USAGE (a URL of another form). */
int vs_qtext_shard_check(const char *spec, const char *key, long timeout_ms,
                         struct vs_diag *d);

/* One shard's part (local shards, and vs-serve for remote ones). */
/* The first phase: the store's BM25 statistics for the text queries of
 * the files and asks, as the search would use them: *out a new object
 * {"docs", "total_len", "df": {term: n}, "metric"} (docs 0 without a text
 * index). Records that are not text queries are skipped. */
int vs_qtext_shard_stats(struct vs_store *s, const struct vs_qtext_opts *to,
                         const char *const *files, size_t n_files, const char *const *asks,
                         size_t n_asks, json_t **out, struct vs_diag *d);
/* The second phase: the hits of the queries as a marked hit stream into
 * fp, scores at 17 significant digits; bm25 (may be NULL) the summed
 * statistics {"docs", "total_len", "df"} to score with. warn (may be
 * NULL) gets the bad records skipped with keep_going. */
int vs_qtext_shard_search(struct vs_store *s, const struct vs_query_opts *qo,
                          const struct vs_qtext_opts *to, const json_t *bm25,
                          const char *const *files, size_t n_files, const char *const *asks,
                          size_t n_asks, int keep_going, FILE *fp,
                          const struct vs_qtext_sink *warn, struct vs_qtext_totals *tot,
                          struct vs_diag *d);
/* A remote shard request (the body of POST .../shard): a header line
 * {"phase": "stats" | "search", "k", "exact", "ef", "filter", "no_text",
 * "no_metadata", "explain", "carry_query", "with_vectors", "keep_going",
 * "opts": {vs_qtext_opt_keys}, "bm25": {...}} and the query records.
 * *out (malloc'd, *outlen bytes) is the statistics object (*is_json 1) or
 * the marked hit stream. Errors: as the two above, VS_E_JSON and
 * VS_E_FIELD for the header (d->line 1), lines counted in the body. */
int vs_qtext_shard_request(struct vs_store *s, const char *body, size_t len, char **out,
                           size_t *outlen, int *is_json, struct vs_diag *d);

/* ndjson: the hit record as one JSON line;
 * trec:   "QID Q0 ID RANK SCORE vecstore" (trec_eval's run format, whose
 *         fields are split on whitespace: a hit whose qid or id is empty or
 *         holds whitespace or a control character is refused with
 *         VS_E_DATA, as the format has no escape for it);
 * text:   for people: a blank line and the qid before each query's hits,
 *         then per hit "%3d. %-10s %s" (rank, score, id) and, when the hit
 *         has text, its first 200 bytes on one indented line (whitespace
 *         runs collapsed to one space, never cut inside a UTF-8 sequence,
 *         "..." when cut). Records without qid or id (explain-only) are
 *         left out. */
enum vs_query_format { VS_QUERY_NDJSON = 0, VS_QUERY_TREC, VS_QUERY_TEXT };
/* "ndjson", "trec", "text"; VS_OK or VS_E_USAGE. */
int vs_query_format_parse(const char *name, enum vs_query_format *out);

/* An embedded struct: the format and, for text, the query whose hits are
 * being written. */
struct vs_query_writer {
    enum vs_query_format format;
    char qid[256];
    struct vs_diag *d; /* where a refused hit is described (may be NULL) */
};
void vs_query_writer_init(struct vs_query_writer *w, enum vs_query_format f);
/* Write one hit to fp, flushing after it when flush is non-zero. Returns
 * VS_OK, VS_E_DATA (trec: an id that cannot be written; w->d says which)
 * or the write status (VS_E_IO, VS_E_NOSPC). */
int vs_query_writer_put(struct vs_query_writer *w, FILE *fp, const json_t *hit,
                        int flush);

#endif
