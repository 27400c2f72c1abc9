/* ingest_job.c: the settings checks and the record loop of a vs-ingest
 * run (vs_ingest.h). */
#include "vs_ingest.h"

#include "vs_internal.h"

#include <stdlib.h>
#include <string.h>

int vs_ingest_settings(const struct vs_ingest_config *cfg,
                       struct vs_store_settings *create, struct vs_diag *d)
{
    memset(create, 0, sizeof *create);
    create->metric = VS_METRIC_COSINE;
    if (cfg->metric && vs_metric_parse(cfg->metric, &create->metric) != VS_OK)
        return vs_diag_set(d, VS_E_USAGE, "unknown metric '%s' (cosine, dot, l2)",
                           cfg->metric);
    create->normalize = create->metric == VS_METRIC_COSINE ? 1 : cfg->normalize;
    if (cfg->ef_construction > 0 && cfg->hnsw_m < 0)
        return vs_diag_set(d, VS_E_USAGE, "--ef-construction needs --hnsw-m");
    create->hnsw_m = cfg->hnsw_m > 0 ? (uint32_t)cfg->hnsw_m : 0;
    create->hnsw_ef_construction = cfg->ef_construction > 0 ? (uint32_t)cfg->ef_construction
                                   : (cfg->hnsw_m > 0 ? 200 : 0);
    if (cfg->model && strlen(cfg->model) >= sizeof create->model)
        return vs_diag_set(d, VS_E_USAGE, "model name is too long (at most 127 bytes)");
    if (cfg->model)
        snprintf(create->model, sizeof create->model, "%s", cfg->model);
    const char *tf = cfg->text_field, *analyzer = cfg->analyzer, *language = cfg->language;
    if (tf && (!*tf || strlen(tf) >= sizeof create->text_field))
        return vs_diag_set(d, VS_E_USAGE, "--text-field must have 1 to 63 bytes");
    snprintf(create->text_field, sizeof create->text_field, "%s", tf ? tf : "text");
    if (analyzer && strcmp(analyzer, "none") == 0) {
        if (language)
            return vs_diag_set(d, VS_E_USAGE,
                               "--language needs a text index (not --analyzer none)");
        return VS_OK;
    }
    char spec[256];
    /* the version key may be left out: "lang=french" */
    snprintf(spec, sizeof spec, "%s%s%s%s",
             !analyzer || strncmp(analyzer, "v1", 2) != 0 ? "v1;" : "",
             analyzer ? analyzer : "", analyzer && language ? ";" : "",
             language ? "lang=" : "");
    if (language)
        snprintf(spec + strlen(spec), sizeof spec - strlen(spec), "%s", language);
    struct vs_analyzer *an;
    struct vs_diag ad;
    vs_diag_clear(&ad);
    if (vs_analyzer_new(spec, &an, &ad) != VS_OK)
        return vs_diag_set(d, VS_E_USAGE, "%s %s",
                           language ? "--language/--analyzer:" : "--analyzer:", ad.detail);
    snprintf(create->analyzer, sizeof create->analyzer, "%s", vs_analyzer_id(an));
    vs_analyzer_free(an);
    return VS_OK;
}

int vs_ingest_check_store(const struct vs_store_settings *have,
                          const struct vs_store_settings *want,
                          const struct vs_ingest_config *cfg, int explicit_metric,
                          int explicit_text, const char *path, struct vs_diag *d)
{
    if (explicit_metric && have->metric != want->metric) {
        vs_diag_where(d, path, 0);
        return vs_diag_set(d, VS_E_MISMATCH, "option --metric is '%s', the store uses '%s'",
                           cfg->metric, vs_metric_name(have->metric));
    }
    const char *have_field = have->text_field[0] ? have->text_field : "text";
    if (explicit_text && (strcmp(have->analyzer, want->analyzer) != 0 ||
                          (want->analyzer[0] && strcmp(have_field, want->text_field) != 0))) {
        vs_diag_where(d, path, 0);
        return vs_diag_set(d, VS_E_MISMATCH,
                           "the text options ask for analyzer '%s' on field '%s', the store "
                           "has analyzer '%s' on field '%s'",
                           want->analyzer[0] ? want->analyzer : "none", want->text_field,
                           have->analyzer[0] ? have->analyzer : "none", have_field);
    }
    if (cfg->hnsw_m > 0 && (have->hnsw_m != want->hnsw_m ||
                            have->hnsw_ef_construction != want->hnsw_ef_construction)) {
        vs_diag_where(d, path, 0);
        return vs_diag_set(d, VS_E_MISMATCH,
                           "options ask for HNSW M %u, ef_construction %u; the store has %s",
                           want->hnsw_m, want->hnsw_ef_construction,
                           have->hnsw_m ? "other graph settings" : "no graphs");
    }
    if (cfg->normalize && !have->normalize) {
        vs_diag_where(d, path, 0);
        return vs_diag_set(d, VS_E_MISMATCH,
                           "option --normalize given, the store does not normalise");
    }
    return VS_OK;
}

static int commit(struct vs_writer *w, struct vs_ingest_counts *c, struct vs_diag *d)
{
    int st = vs_writer_commit(w, d);
    c->commits = (long long)vs_writer_commits(w);
    return st;
}

/* The records of one open reader; VS_OK at its end. */
static int read_records(struct vs_writer *w, const struct vs_ingest_job *job,
                        const struct vs_ingest_sink *sink, struct vs_ingest_run *run,
                        struct vs_ndjson_reader *r, struct vs_ingest_counts *c,
                        struct vs_diag *d)
{
    for (;;) {
        const char *line;
        size_t len;
        vs_diag_clear(d);
        int st = vs_ndjson_read_line(r, &line, &len, d);
        if (st == VS_OK && !line)
            return VS_OK;
        if (st == VS_OK && strspn(line, " \t\r") == len)
            continue; /* empty lines are skipped */
        if (st == VS_OK) {
            json_t *rec;
            float *vec;
            size_t dim;
            c->records++;
            st = vs_ingest_parse(line, len, &rec, &vec, &dim, d);
            if (st == VS_OK) {
                st = vs_ingest_apply(w, rec, vec, dim, job->model, c, run, d);
                json_decref(rec);
                free(vec);
            }
            if (st != VS_OK)
                vs_diag_where(d, vs_ndjson_name(r), vs_ndjson_line(r));
        }
        if (st != VS_OK) {
            if (job->keep_going && (vs_status_exit(st) == VS_EXIT_DATA || st == VS_E_FILTER)) {
                if (sink->warn)
                    sink->warn(st, d, sink->arg);
                c->skipped++;
                continue;
            }
            return st;
        }
        if (job->commit_every && (c->records - c->skipped) % job->commit_every == 0 &&
            (st = commit(w, c, d)) != VS_OK)
            return st;
        if (sink->progress)
            sink->progress(c->records, sink->arg);
    }
}

int vs_ingest_job_run(struct vs_writer *w, const struct vs_ingest_job *job,
                      const struct vs_ingest_sink *sink, struct vs_ingest_counts *c,
                      struct vs_diag *d)
{
    struct vs_ingest_run run = {NULL, job->dry_run, job->skip_unchanged,
                                job->by_doc || job->sync || job->skip_unchanged, sink->dry,
                                sink->arg};
    struct vs_store *base = NULL;
    /* the writer holds the lock: this reader sees the generation it changes */
    int st = vs_store_open(job->path, &base, d);
    if (st == VS_E_NOSTORE) {
        base = NULL;
        vs_diag_clear(d);
        st = VS_OK;
    }
    if (st == VS_OK)
        st = vs_sync_new(base, run.docs, &run.view, d);
    if (sink->stage)
        sink->stage("read", sink->arg);
    size_t nfiles = job->nfiles;
    for (size_t fi = 0; st == VS_OK && fi < (nfiles ? nfiles : 1); fi++) {
        struct vs_ndjson_reader *r;
        if ((st = vs_ndjson_open(nfiles ? job->files[fi] : "-", 0, &r, d)) != VS_OK)
            break;
        st = read_records(w, job, sink, &run, r, c, d);
        vs_ndjson_close(r);
    }
    for (size_t i = 0; st == VS_OK && (job->by_doc || job->sync) && i < vs_sync_count(run.view);
         i++) {
        if (!vs_sync_stale(run.view, i, job->sync, job->scope))
            continue;
        int found = 0;
        if (job->dry_run)
            st = sink->dry("delete", vs_sync_id(run.view, i), vs_sync_doc(run.view, i),
                           sink->arg, d);
        else
            st = vs_writer_delete(w, vs_sync_id(run.view, i), &found, d);
        c->deletes++;
    }
    if (sink->stage)
        sink->stage("commit", sink->arg);
    if (st == VS_OK && !job->dry_run)
        st = commit(w, c, d);
    vs_sync_free(run.view);
    vs_store_close(base);
    return st;
}
