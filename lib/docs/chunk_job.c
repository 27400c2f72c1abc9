/* chunk_job.c: the document loop of a vs-chunk run (vs_chunk_job.h). */
#include "vs_chunk_job.h"

#include "vs_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STOP (-1) /* a walk callback's "fatal error kept in the job" */

struct vs_chunk_job {
    struct vs_chunker *chunker;
    struct vs_walk_filter filter; /* the caller's, with left_out set here */
    struct vs_chunk_options opts;
    struct vs_chunk_since *since; /* or NULL */
    json_t *keeps;                /* keep markers, written at the end */
    const char *field;
    int keep_going;
    int title_metadata_only; /* a record's "title" only in metadata.title */
    struct vs_chunk_sink sink;
    struct vs_chunk_counts c;
    int fatal;           /* status of a fatal error in a walk callback */
    struct vs_diag fd;   /* and its diag */
};

static void warn(struct vs_chunk_job *j, int st, const struct vs_diag *d)
{
    if (j->sink.warn)
        j->sink.warn(st, d, j->sink.arg);
}

static void info(struct vs_chunk_job *j, int level, const char *path, const char *what)
{
    if (j->sink.info)
        j->sink.info(level, path, what, j->sink.arg);
}

static void on_left_out(void *ctx, const char *path, const char *why)
{
    struct vs_chunk_job *j = ctx;
    j->c.files_left_out++;
    char what[4200];
    snprintf(what, sizeof what, "left out: %s", why);
    info(j, 2, path, what);
}

int vs_chunk_job_new(struct vs_chunker *ch, const struct vs_chunk_options *o,
                     const struct vs_walk_filter *filter, const char *field,
                     int keep_going, const char *since, const struct vs_chunk_sink *sink,
                     struct vs_chunk_job **out, struct vs_diag *d)
{
    *out = NULL;
    struct vs_chunk_job *j = calloc(1, sizeof *j);
    if (!j)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    j->chunker = ch;
    if (filter)
        j->filter = *filter;
    j->filter.left_out = on_left_out;
    j->opts = *o;
    j->field = field ? field : "text";
    j->keep_going = keep_going;
    j->sink = *sink;
    if (since) {
        int st = vs_chunk_since_open(since, &j->since, d);
        if (st == VS_E_NOSTORE) { /* a first run: every file is new */
            info(j, 1, since, "no store yet, every file is read");
            st = VS_OK;
        }
        if (st == VS_OK && !(j->keeps = json_array()))
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        if (st != VS_OK) {
            vs_chunk_job_free(j);
            return st;
        }
    }
    *out = j;
    return VS_OK;
}

void vs_chunk_job_free(struct vs_chunk_job *j)
{
    if (!j)
        return;
    json_decref(j->keeps);
    vs_chunk_since_free(j->since);
    free(j);
}

const struct vs_chunk_counts *vs_chunk_job_counts(const struct vs_chunk_job *j)
{
    return &j->c;
}

static int emit(void *ctx, json_t *rec)
{
    struct vs_chunk_job *j = ctx;
    int st = j->sink.write(rec, j->sink.arg);
    if (st == VS_OK) {
        j->c.chunks++;
        if (j->sink.progress)
            j->sink.progress(j->c.chunks, j->sink.arg);
    }
    return st;
}

/* Chunk one document; a failure is fatal. */
static int chunk_doc(struct vs_chunk_job *j, struct vs_doc *doc, struct vs_diag *d)
{
    vs_diag_clear(d);
    size_t len;
    vs_doc_text(doc, &len);
    int st = vs_chunker_doc(j->chunker, doc, emit, j, NULL, d);
    if (st != VS_OK) {
        if (st == VS_E_IO || st == VS_E_NOSPC)
            vs_diag_set(d, st, "write error on standard output");
        return st;
    }
    j->c.docs++;
    j->c.bytes += (long long)len;
    return VS_OK;
}

void vs_chunk_job_set_title(struct vs_chunk_job *j, enum vs_chunk_title t)
{
    j->title_metadata_only = t == VS_CHUNK_TITLE_METADATA;
}

/* A record's non-empty string "title" (BEIR corpora) goes before its text,
 * "TITLE\n\nTEXT", so that it is embedded and indexed with the text; the
 * chunks' offsets are into that text. A record without a string text is
 * left for vs_doc_from_record to refuse. */
static int title_into_text(json_t *rec, const char *field, struct vs_diag *d)
{
    json_t *ti = json_object_get(rec, "title"), *tx = json_object_get(rec, field);
    if (!json_is_string(ti) || !json_string_length(ti) || !json_is_string(tx))
        return VS_OK;
    size_t a = json_string_length(ti), b = json_string_length(tx);
    char *buf = malloc(a + b + 3);
    if (!buf)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    memcpy(buf, json_string_value(ti), a);
    memcpy(buf + a, "\n\n", 2);
    memcpy(buf + a + 2, json_string_value(tx), b);
    json_t *nt = json_stringn_nocheck(buf, a + b + 2);
    free(buf);
    if (!nt || json_object_set_new(rec, field, nt) != 0)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    return VS_OK;
}

int vs_chunk_job_records(struct vs_chunk_job *j, const char *path, struct vs_diag *d)
{
    vs_diag_clear(d);
    struct vs_ndjson_reader *rd;
    int st = vs_ndjson_open(path, 0, &rd, d);
    if (st != VS_OK) {
        if (path && strcmp(path, "-") != 0) { /* a file: warn and skip */
            warn(j, st, d);
            j->c.files_skipped++;
            return VS_OK;
        }
        return st;
    }
    const char *source = path && strcmp(path, "-") ? path : NULL;
    for (;;) {
        json_t *rec;
        vs_diag_clear(d);
        st = vs_ndjson_read(rd, &rec, d);
        struct vs_doc *doc = NULL;
        if (st == VS_OK && rec) {
            if (!j->title_metadata_only)
                st = title_into_text(rec, j->field ? j->field : "text", d);
            if (st == VS_OK)
                st = vs_doc_from_record(rec, j->field, source, &doc, d);
            vs_diag_where(d, vs_ndjson_name(rd), vs_ndjson_line(rd));
            json_decref(rec);
        } else if (st == VS_OK)
            break;
        if (st != VS_OK) {
            if (st == VS_E_IO || st == VS_E_NOMEM || !j->keep_going)
                break;
            warn(j, st, d);
            j->c.records_skipped++;
            continue;
        }
        st = chunk_doc(j, doc, d);
        vs_doc_free(doc);
        if (st != VS_OK)
            break;
    }
    vs_ndjson_close(rd);
    return st;
}

/* Keep the fatal error st of a walk callback; STOP ends the walk. */
static int fatal(struct vs_chunk_job *j, int st, const struct vs_diag *d)
{
    j->fatal = st;
    j->fd = *d;
    return STOP;
}

static int on_file(void *ctx, const char *path, const char *rel, int status,
                   const struct vs_diag *wd)
{
    struct vs_chunk_job *j = ctx;
    j->c.files++;
    if (status != VS_OK) {
        warn(j, status, wd);
        j->c.files_skipped++;
        return VS_OK;
    }
    struct vs_diag d;
    vs_diag_clear(&d);
    int st;
    if (vs_doc_format_of(path) == VS_FORMAT_NDJSON)
        return (st = vs_chunk_job_records(j, path, &d)) == VS_OK ? VS_OK : fatal(j, st, &d);
    /* the stamp is taken before the read: a file changed meanwhile gets a
     * stamp older than its contents, so the next --since run reads it */
    char stamp[640];
    int have_stamp = vs_chunk_stamp(path, &j->opts, stamp, sizeof stamp, &d) == VS_OK;
    if (have_stamp && vs_chunk_since_unchanged(j->since, path, rel, stamp)) {
        json_t *k = vs_chunk_keep_record(rel, path);
        if (!k || json_array_append_new(j->keeps, k) != 0)
            return fatal(j, vs_diag_set(&d, VS_E_NOMEM, "out of memory"), &d);
        j->c.files_unchanged++;
        info(j, 2, path, "unchanged since the store's copy, not read");
        return VS_OK;
    }
    vs_diag_clear(&d);
    /* a PDF without poppler-glib to read it: stop (exit 5), as every
     * other PDF would fail the same way; not a bad file to skip */
    if (vs_doc_format_of(path) == VS_FORMAT_PDF && vs_doc_pdf_ready(&d) == VS_E_IO) {
        vs_diag_where(&d, path, 0);
        return fatal(j, VS_E_IO, &d);
    }
    vs_diag_clear(&d);
    struct vs_doc *doc;
    st = vs_doc_load_file_flags(path, rel, j->opts.load_flags, &doc, &d);
    if (st == VS_E_NOMEM)
        return fatal(j, st, &d);
    if (st != VS_OK) {
        warn(j, st, &d);
        j->c.files_skipped++;
        return VS_OK;
    }
    info(j, 2, path, vs_doc_format_name(vs_doc_format(doc)));
    if (have_stamp &&
        json_object_set_new(vs_doc_metadata(doc), "file_stamp", json_string(stamp)) != 0) {
        vs_doc_free(doc);
        return fatal(j, vs_diag_set(&d, VS_E_NOMEM, "out of memory"), &d);
    }
    st = chunk_doc(j, doc, &d);
    vs_doc_free(doc);
    return st == VS_OK ? VS_OK : fatal(j, st, &d);
}

int vs_chunk_job_path(struct vs_chunk_job *j, const char *path, struct vs_diag *d)
{
    vs_diag_clear(d);
    j->fatal = VS_OK;
    int st = vs_walk(path, &j->filter, on_file, j, d);
    if (j->fatal != VS_OK) {
        if (d)
            *d = j->fd;
        return j->fatal;
    }
    if (st == VS_E_NOMEM)
        return st;
    if (st != VS_OK) {
        warn(j, st, d);
        j->c.files_skipped++;
    }
    return VS_OK;
}

int vs_chunk_job_finish(struct vs_chunk_job *j, struct vs_diag *d)
{
    for (size_t i = 0; i < json_array_size(j->keeps); i++) {
        int st = j->sink.write(json_array_get(j->keeps, i), j->sink.arg);
        if (st != VS_OK) {
            vs_diag_clear(d);
            return vs_diag_set(d, st, "write error on standard output");
        }
    }
    return VS_OK;
}

static int count_file(void *ctx, const char *path, const char *rel, int status,
                      const struct vs_diag *wd)
{
    (void)path;
    (void)rel;
    (void)status;
    (void)wd;
    ++*(long long *)ctx;
    return VS_OK;
}

int vs_chunk_count_files(const char *path, const struct vs_walk_filter *filter,
                         long long *n, struct vs_diag *d)
{
    struct vs_walk_filter f = *filter;
    f.left_out = NULL;
    *n = 0;
    return vs_walk(path, &f, count_file, n, d);
}
