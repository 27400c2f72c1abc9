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
