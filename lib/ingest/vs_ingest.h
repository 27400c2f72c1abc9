/* vs_ingest.h: applying NDJSON records to a store the way vs-ingest does
 * (upserts, deletes by id or filter, keep markers, --skip-unchanged,
 * --by-doc/--sync bookkeeping, --dry-run), and the run's Prometheus
 * textfile (--metrics-file). */
#ifndef VS_INGEST_H
#define VS_INGEST_H

#include <jansson.h>
#include <stddef.h>

#include "vs_status.h"
#include "vs_store.h"
#include "vs_store_sync.h"

/* What a run did. upserts = added + replaced. */
struct vs_ingest_counts {
    long long records, upserts, deletes, skipped, commits, unchanged;
    long long added, replaced, kept;
};

/* How records are applied. view: the sync view of the store's generation
 * when the run started (vs_sync_new with docs set when by_doc, sync or
 * skip_unchanged). With dry_run nothing is written: each add, replace and
 * delete is passed to dry(action, id, doc_id or NULL, dry_arg, d), which
 * returns a status. */
struct vs_ingest_run {
    struct vs_sync *view;
    int dry_run, skip_unchanged, docs;
    int (*dry)(const char *action, const char *id, const char *doc, void *arg,
               struct vs_diag *d);
    void *dry_arg;
};

/* Apply one record: {"op":"delete","id"|"filter"}, {"op":"keep","doc_id"}
 * or an upsert (op absent or "upsert") with its vector vec[dim]; model, when
 * not NULL, is set as the record's vector_model unless it has one. Counts
 * into c. Errors: VS_E_FIELD / VS_E_DATA with d naming the field, the
 * writer's errors. */
int vs_ingest_apply(struct vs_writer *w, json_t *rec, const float *vec, size_t dim,
                    const char *model, struct vs_ingest_counts *c,
                    struct vs_ingest_run *run, struct vs_diag *d);

/* The store settings a run asks for, from the options and .vecstore.toml
 * (NULL or -1: not given). */
struct vs_ingest_config {
    const char *metric;     /* cosine (default), dot or l2 */
    const char *model;      /* pinned in a new store; at most 127 bytes */
    const char *analyzer;   /* BM25 analyzer spec, "none" for no text index */
    const char *language;   /* the analyzer's lang= key */
    const char *text_field; /* 1 to 63 bytes; NULL = "text" */
    long hnsw_m;            /* 2..1024, -1 = no graphs */
    long ef_construction;   /* -1 = 200 with graphs */
    int normalize;          /* L2-normalise a dot or l2 store */
};

/* Fill create with the settings of a new store asked for by cfg, checking
 * in this order: metric, ef_construction without hnsw_m, model length,
 * text field length, analyzer (and language). Errors: VS_E_USAGE with
 * d->detail the message vs-ingest prints as a usage error ("unknown metric
 * 'x' (cosine, dot, l2)", "--ef-construction needs --hnsw-m", ...). */
int vs_ingest_settings(const struct vs_ingest_config *cfg,
                       struct vs_store_settings *create, struct vs_diag *d);

/* Check an existing store's settings have against what the options ask
 * (want, from vs_ingest_settings of cfg): the metric when explicit_metric,
 * the analyzer and text field when explicit_text, the HNSW settings when
 * cfg->hnsw_m > 0, normalisation when cfg->normalize. Errors:
 * VS_E_MISMATCH with d naming path and both sides. */
int vs_ingest_check_store(const struct vs_store_settings *have,
                          const struct vs_store_settings *want,
                          const struct vs_ingest_config *cfg, int explicit_metric,
                          int explicit_text, const char *path, struct vs_diag *d);

/* One vs-ingest run over NDJSON files with an open writer. */
struct vs_ingest_job {
    const char *path;         /* the store (its current generation is the view) */
    const char *const *files; /* nfiles names, "-" = standard input */
    size_t nfiles;            /* 0: standard input */
    const char *model;        /* vector_model of records without one, or NULL */
    long commit_every;        /* commit after every N good records; 0 = at the end */
    int keep_going;           /* skip bad records (VS_EXIT_DATA statuses, VS_E_FILTER) */
    int by_doc, sync;         /* delete stale chunks / documents after the run */
    const char *scope;        /* sync only documents whose source has this prefix */
    int dry_run;              /* write nothing; report actions to sink->dry */
    int skip_unchanged;
};

/* What a run hands out; the library prints nothing. Any callback but dry
 * may be NULL. */
struct vs_ingest_sink {
    int (*dry)(const char *action, const char *id, const char *doc, void *arg,
               struct vs_diag *d); /* as in struct vs_ingest_run */
    void (*warn)(int status, const struct vs_diag *d, void *arg); /* a skipped record */
    void (*stage)(const char *name, void *arg);                   /* "read", "commit" */
    void (*progress)(long long records, void *arg);               /* after each record */
    void *arg;
};

/* Apply every record of job->files to w (NULL with dry_run): empty lines
 * are skipped, each record is parsed (vs_ingest_parse) and applied
 * (vs_ingest_apply); then, with by_doc or sync, the stale records are
 * deleted, and without dry_run the writer commits. Counters go into c (the
 * caller zeroes them). Returns VS_OK or the status that stopped the run,
 * with d naming FILE:LINE for a record's error. The writer is left open. */
int vs_ingest_job_run(struct vs_writer *w, const struct vs_ingest_job *job,
                      const struct vs_ingest_sink *sink, struct vs_ingest_counts *c,
                      struct vs_diag *d);

/* Write the run's metrics for node_exporter's textfile collector to path,
 * atomically: records by action, documents kept, commits, duration
 * (elapsed seconds), exit status (code), end time, the last success time
 * (now when code is 0, else carried over from the previous file) and the
 * store's generation and record count when it opens. Errors: those of
 * vs_promfile_write. */
int vs_ingest_metrics_write(const char *path, const char *store_path,
                            const struct vs_ingest_counts *c, int code,
                            double elapsed, struct vs_diag *d);

#endif
