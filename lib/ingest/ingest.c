/* ingest.c: applying records to a store as vs-ingest does, and its
 * metrics textfile (vs_ingest.h). */
#include "vs_ingest.h"

#include "vs_internal.h"
#include "vs_promfile.h"

#include <string.h>
#include <time.h>

static int same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static int filter_pred(const json_t *doc, void *arg)
{
    return vs_filter_match(arg, doc);
}

int vs_ingest_apply(struct vs_writer *w, json_t *rec, const float *vec, size_t dim,
                    const char *model, struct vs_ingest_counts *c,
                    struct vs_ingest_run *run, struct vs_diag *d)
{
    const char *op = NULL;
    int st = vs_record_string(rec, "op", &op, d);
    if (st != VS_OK)
        return st;
    if (op && strcmp(op, "delete") == 0) {
        json_t *jf = json_object_get(rec, "filter");
        if (jf && run->dry_run)
            return vs_diag_set(d, VS_E_USAGE, "--dry-run does not support deletes by filter");
        if (jf) {
            if (!json_is_string(jf)) {
                vs_diag_field(d, "filter");
                return vs_diag_set(d, VS_E_FIELD, "must be a string");
            }
            struct vs_filter *f;
            if ((st = vs_filter_compile(json_string_value(jf), &f, d)) != VS_OK) {
                vs_diag_field(d, "filter");
                /* a record's filter is input data (exit 3), not a usage error */
                return st == VS_E_FILTER ? VS_E_DATA : st;
            }
            uint64_t n = 0;
            st = vs_writer_delete_where(w, filter_pred, f, &n, d);
            vs_filter_free(f);
            c->deletes += (long long)n;
            return st;
        }
        const char *id = NULL;
        if ((st = vs_record_string(rec, "id", &id, d)) != VS_OK)
            return st;
        if (!id || !*id) {
            vs_diag_field(d, "id");
            return vs_diag_set(d, VS_E_FIELD, "a delete needs an id or a filter");
        }
        int found, live, same;
        if ((st = vs_sync_lookup(run->view, rec, NULL, 0, &live, &same, d)) != VS_OK)
            return st;
        int again = vs_sync_touched(run->view, id);
        if ((st = vs_sync_note(run->view, id, NULL, d)) != VS_OK)
            return st;
        if (run->dry_run) {
            if (live && !again)
                c->deletes++;
            return live && !again ? run->dry("delete", id, NULL, run->dry_arg, d) : VS_OK;
        }
        if ((st = vs_writer_delete(w, id, &found, d)) == VS_OK && found)
            c->deletes++;
        return st;
    }
    if (op && strcmp(op, "keep") == 0) {
        const char *doc = NULL;
        if ((st = vs_record_string(rec, "doc_id", &doc, d)) != VS_OK)
            return st;
        if (!doc || !*doc) {
            vs_diag_field(d, "doc_id");
            return vs_diag_set(d, VS_E_FIELD, "a keep marker needs a doc_id");
        }
        c->kept++;
        if (!run->docs)
            return VS_OK; /* plain upserts: a kept document needs nothing */
        if (!vs_sync_has_doc(run->view, doc)) {
            vs_diag_field(d, "doc_id");
            return vs_diag_set(d, VS_E_DATA,
                               "keep marker for document '%s', which the store does not "
                               "hold (run vs-chunk without --since)", doc);
        }
        return vs_sync_keep(run->view, doc, d);
    }
    if (op && strcmp(op, "upsert") != 0) {
        vs_diag_field(d, "op");
        return vs_diag_set(d, VS_E_FIELD, "must be \"upsert\", \"delete\" or \"keep\", not \"%s\"", op);
    }
    if (!json_is_string(json_object_get(rec, "id"))) {
        vs_diag_field(d, "id");
        return vs_diag_set(d, VS_E_FIELD, json_object_get(rec, "id") ? "must be a string"
                                                                      : "is missing");
    }
    if (!vec) {
        vs_diag_field(d, "vector");
        return vs_diag_set(d, VS_E_FIELD, "is missing (a record to store needs a vector)");
    }
    const char *id = json_string_value(json_object_get(rec, "id"));
    const char *doc = vs_sync_record_doc(rec);
    const char *hash = json_string_value(json_object_get(rec, "doc_hash"));
    const char *stored = vs_sync_doc_hash(run->view, doc);
    /* same text and same file stamp: a touched file is rewritten once, so
     * that vs-chunk --since stops reading it */
    const char *stamp = json_string_value(
        json_object_get(json_object_get(rec, "metadata"), "file_stamp"));
    if (run->skip_unchanged && hash && stored && strcmp(hash, stored) == 0 &&
        same_str(stamp, vs_sync_doc_stamp(run->view, doc))) {
        c->unchanged++;
        return vs_sync_keep(run->view, doc, d);
    }
    int live, same;
    if ((st = vs_sync_lookup(run->view, rec, vec, dim, &live, &same, d)) != VS_OK)
        return st;
    int again = vs_sync_touched(run->view, id);
    if ((st = vs_sync_note(run->view, id, doc, d)) != VS_OK)
        return st;
    if (same && !again) {
        c->unchanged++;
        return VS_OK;
    }
    int replace = live && !again;
    if (run->dry_run) {
        c->upserts++;
        *(replace ? &c->replaced : &c->added) += 1;
        return run->dry(replace ? "replace" : "add", id, doc, run->dry_arg, d);
    }
    if (model && !json_object_get(rec, "vector_model"))
        json_object_set_new(rec, "vector_model", json_string(model));
    st = vs_writer_upsert(w, rec, vec, dim, d);
    if (st == VS_OK) {
        c->upserts++;
        *(replace ? &c->replaced : &c->added) += 1;
    }
    return st;
}

int vs_ingest_metrics_write(const char *path, const char *store_path,
                            const struct vs_ingest_counts *c, int code,
                            double elapsed, struct vs_diag *d)
{
    char store[1024], lab[1100], act[8][1200];
    vs_prom_label_value(store_path, store, sizeof store);
    snprintf(lab, sizeof lab, "store=\"%s\"", store);
    static const char *const actions[] = {"read", "added", "replaced", "deleted",
                                          "unchanged", "skipped"};
    long long v[] = {c->records, c->added, c->replaced, c->deletes, c->unchanged,
                     c->skipped};
    for (int i = 0; i < 6; i++)
        snprintf(act[i], sizeof act[i], "%s,action=\"%s\"", lab, actions[i]);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    double t = (double)now.tv_sec + (double)now.tv_nsec / 1e9, last_ok = 0;
    int have_ok = code == 0;
    if (code == 0)
        last_ok = t;
    else
        have_ok = vs_promfile_value(path, "vecstore_ingest_last_success_timestamp_seconds",
                                    lab, &last_ok);
    unsigned long long gen = 0, live = 0;
    struct vs_store *s;
    struct vs_diag sd;
    vs_diag_clear(&sd);
    int have_store = vs_store_open(store_path, &s, &sd) == VS_OK;
    if (have_store) {
        gen = vs_store_generation(s);
        live = vs_store_count(s);
        vs_store_close(s);
    }
    const char *rh = "records of the last vs-ingest run, by action";
    struct vs_prom_sample m[16] = {
        {"vecstore_ingest_last_run_records", rh, "gauge", act[0], (double)v[0]},
        {"vecstore_ingest_last_run_records", rh, "gauge", act[1], (double)v[1]},
        {"vecstore_ingest_last_run_records", rh, "gauge", act[2], (double)v[2]},
        {"vecstore_ingest_last_run_records", rh, "gauge", act[3], (double)v[3]},
        {"vecstore_ingest_last_run_records", rh, "gauge", act[4], (double)v[4]},
        {"vecstore_ingest_last_run_records", rh, "gauge", act[5], (double)v[5]},
        {"vecstore_ingest_last_run_documents_kept",
         "documents of the last run kept as stored (vs-chunk --since keep markers)",
         "gauge", lab, (double)c->kept},
        {"vecstore_ingest_last_run_commits", "commits of the last run (0: no new generation)",
         "gauge", lab, (double)c->commits},
        {"vecstore_ingest_last_run_duration_seconds", "duration of the last run", "gauge",
         lab, elapsed},
        {"vecstore_ingest_last_run_exit_status", "exit status of the last run (0 success)",
         "gauge", lab, (double)code},
        {"vecstore_ingest_last_run_timestamp_seconds", "when the last run ended (Unix time)",
         "gauge", lab, t},
    };
    size_t n = 11;
    if (have_ok)
        m[n++] = (struct vs_prom_sample){
            "vecstore_ingest_last_success_timestamp_seconds",
            "when the last successful run ended (Unix time)", "gauge", lab, last_ok};
    if (have_store) {
        m[n++] = (struct vs_prom_sample){"vecstore_store_generation",
                                         "the store's current generation", "gauge", lab,
                                         (double)gen};
        m[n++] = (struct vs_prom_sample){"vecstore_store_records",
                                         "live records in the store", "gauge", lab,
                                         (double)live};
    }
    return vs_promfile_write(path, m, n, d);
}

