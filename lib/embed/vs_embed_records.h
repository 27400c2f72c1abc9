/* vs_embed_records.h: embed the text of NDJSON records in batches (what
 * vs-embed runs).
 *
 * vs_embed_records() reads one NDJSON file, takes each record's text field,
 * embeds the texts `batch` at a time with a struct vs_embedder, sets
 * "vector" (or "vector_b64") and "vector_model" (and "truncated": true when
 * a local model cut the text), and hands every finished record to the
 * sink's write callback, in input order. Records with "op" "keep" or
 * "delete" pass through unchanged (the batch before them is finished
 * first). With dry_run nothing is written: records are only counted, so
 * the embedder's counters (vs_embedder_stats) describe what a real run
 * would send.
 *
 * Bad records: a record whose text field is missing or not a string, a
 * text the embedder cannot use (empty, no letters or digits, not UTF-8), a
 * malformed line, and (API models) a text whose request failed. Without
 * keep_going the first one stops the run with its status and d (FILE:LINE,
 * field). With keep_going each is handed to the sink's warn callback and
 * skipped; an API failure is then written with an "error" field instead of
 * a vector. An I/O error while reading always stops the run.
 *
 * The library prints nothing: the sink does. json_t rules: the record
 * handed to write is borrowed for the call only.
 */
#ifndef VS_EMBED_RECORDS_H
#define VS_EMBED_RECORDS_H

#include <jansson.h>
#include <stddef.h>

#include "vs_embed.h"
#include "vs_status.h"

struct vs_embed_records_opts {
    const char *field; /* the text field; NULL = "text" */
    size_t batch;      /* records per embed call; 0 = 256 */
    int b64;           /* write "vector_b64" instead of "vector" */
    int keep_going;    /* skip bad records (warn) instead of stopping */
    int dry_run;       /* count only; write nothing */
};

void vs_embed_records_opts_init(struct vs_embed_records_opts *o);

/* Counters, added to by every call (the caller zeroes them once). */
struct vs_embed_counts {
    long long in;        /* records read (pass-through ones included) */
    long long out;       /* records embedded (dry run: that would be) */
    long long skipped;   /* bad records skipped with keep_going */
    long long truncated; /* texts a local model cut to its limit */
    long long failed;    /* API failures written with "error" */
    long long passed;    /* "op" keep/delete records passed through */
};

struct vs_embed_sink {
    /* Write one output record; return VS_OK or a status that stops the run
     * (returned as is, with d as the callback left it: the library clears
     * d before the call). */
    int (*write)(const json_t *rec, void *arg, struct vs_diag *d);
    /* A skipped bad record (keep_going); may be NULL. */
    void (*warn)(int status, const struct vs_diag *d, void *arg);
    /* After each embedded batch of a remote embedder (so a killed run keeps
     * what was paid for); return VS_OK or a status that stops the run, as
     * write. May be NULL. */
    int (*flush)(void *arg, struct vs_diag *d);
    /* After each embedded batch, with the counters so far; may be NULL. */
    void (*progress)(const struct vs_embed_counts *c, void *arg);
    void *arg;
};

/* Embed the records of path (NULL or "-": standard input) with e.
 * Returns VS_OK at the end of the file, else the status that stopped the
 * run with d filled: what vs_ndjson_open/read give (VS_E_JSON,
 * VS_E_LINE_TOO_LONG, VS_E_IO, ...), VS_E_FIELD (text field missing, not a
 * string, empty or without letters or digits), VS_E_DATA (not UTF-8),
 * VS_E_REMOTE / VS_E_NETWORK (API request failed), VS_E_NOMEM, or what a
 * sink callback returned. Counters in c are updated either way. */
int vs_embed_records(struct vs_embedder *e, const struct vs_embed_records_opts *o,
                     const char *path, const struct vs_embed_sink *sink,
                     struct vs_embed_counts *c, struct vs_diag *d);

/* The settings key that overrides an API embedder's price:
 * "embed.price.MODEL" with MODEL the identity without its provider and
 * dimension ("openai:text-embedding-3-small:1536" ->
 * "embed.price.text-embedding-3-small"). Returns VS_OK, or VS_E_USAGE when
 * the key does not fit in size bytes (it is cut). */
int vs_embed_price_key(const struct vs_embedder *e, char *key, size_t size);

/* The --dry-run summary: {"dry_run": true, "model", "records", "requests",
 * "tokens", "cache_hits", "truncated", "split", "price_usd_per_1m_tokens",
 * "price_date", "cost_usd"} (unknown price and cost are null). New
 * reference, NULL when out of memory. */
json_t *vs_embed_dry_run_json(const struct vs_embedder *e,
                              const struct vs_embed_stats *s, long long records);

/* The counters of a run, for --stats, in this order: for an API embedder
 * tokens, usage_tokens (when the provider reported it), requests,
 * attempts, retries, cache_hits, cache_misses, split, failed, cost_usd
 * (when known); for a local transformer model with its cache on
 * (no_cache 0) cache_hits and cache_misses; then records_in, records_out,
 * skipped, truncated, passed_through. New reference, NULL when out of
 * memory. */
json_t *vs_embed_stats_json(const struct vs_embedder *e,
                            const struct vs_embed_stats *s,
                            const struct vs_embed_counts *c, int no_cache);

#endif
