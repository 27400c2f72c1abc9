/* chunk_since.c: file stamps on chunk records and the stored-stamp view
 * behind vs-chunk --since STORE (vs_chunk.h, "incremental runs"). */
#include "vs_chunk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vs_store.h"

/* source -> {"doc": doc_id, "stamp": stamp or null}; a source whose chunks
 * disagree (other documents, other stamps, a chunk without a stamp) gets
 * stamp null, so it is never "unchanged". */
struct vs_chunk_since {
    json_t *bysource;
    size_t docs;
};

int vs_chunk_stamp(const char *path, const struct vs_chunk_options *o,
                   char *buf, size_t n, struct vs_diag *d)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        vs_diag_where(d, path, 0);
        return vs_diag_set(d, vs_status_from_errno(errno), "%s", strerror(errno));
    }
    int k = snprintf(buf, n, "v2 %lld.%09ld %lld.%09ld %lld %llu %s/%s%s%s/%zu/%zu/%zu/%u",
                     (long long)sb.st_mtim.tv_sec, (long)sb.st_mtim.tv_nsec,
                     (long long)sb.st_ctim.tv_sec, (long)sb.st_ctim.tv_nsec,
                     (long long)sb.st_size, (unsigned long long)sb.st_ino,
                     vs_splitter_name(o->splitter), vs_chunk_unit_name(o->unit),
                     o->unit == VS_CHUNK_TOKENS ? "=" : "",
                     o->unit == VS_CHUNK_TOKENS && o->count_model ? o->count_model : "",
                     o->size, o->overlap, o->min_size, o->load_flags);
    if (k < 0 || (size_t)k >= n)
        return vs_diag_set(d, VS_E_INTERNAL, "file stamp buffer too small");
    return VS_OK;
}

void vs_chunk_since_free(struct vs_chunk_since *s)
{
    if (!s)
        return;
    json_decref(s->bysource);
    free(s);
}

/* Note one stored chunk: its document's source, doc_id and stamp. */
static int note(struct vs_chunk_since *s, json_t *doc, struct vs_diag *d)
{
    const char *src = json_string_value(json_object_get(doc, "source"));
    const char *did = json_string_value(json_object_get(doc, "doc_id"));
    if (!src || !did)
        return VS_OK; /* not a chunk of a file */
    json_t *stamp = json_object_get(json_object_get(doc, "metadata"), "file_stamp");
    const char *sv = json_string_value(stamp);
    json_t *e = json_object_get(s->bysource, src);
    if (!e) {
        e = json_pack("{s:s,s:s?}", "doc", did, "stamp", sv);
        if (!e || json_object_set_new(s->bysource, src, e) != 0)
            return vs_diag_set(d, VS_E_NOMEM, "cannot note a stored document");
        s->docs++;
        return VS_OK;
    }
    const char *ed = json_string_value(json_object_get(e, "doc"));
    const char *es = json_string_value(json_object_get(e, "stamp"));
    if (!ed || strcmp(ed, did) != 0 || !sv || !es || strcmp(es, sv) != 0)
        json_object_set_new(e, "stamp", json_null());
    return VS_OK;
}

int vs_chunk_since_open(const char *store, struct vs_chunk_since **out,
                        struct vs_diag *d)
{
    *out = NULL;
    struct vs_chunk_since *s = calloc(1, sizeof *s);
    if (!s || !(s->bysource = json_object())) {
        vs_chunk_since_free(s);
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    }
    struct vs_store *st = NULL;
    int rc = vs_store_open(store, &st, d);
    for (size_t i = 0; rc == VS_OK && i < vs_store_nsegments(st); i++) {
        struct vs_segment *g = vs_store_segment(st, i);
        for (uint64_t r = 0; rc == VS_OK && r < vs_segment_rows(g); r++) {
            if (!vs_segment_live(g, r))
                continue;
            json_t *doc;
            if ((rc = vs_segment_doc(g, r, &doc, d)) != VS_OK)
                break;
            rc = note(s, doc, d);
            json_decref(doc);
        }
    }
    vs_store_close(st);
    if (rc != VS_OK) {
        vs_chunk_since_free(s);
        return rc;
    }
    *out = s;
    return VS_OK;
}

size_t vs_chunk_since_docs(const struct vs_chunk_since *s)
{
    return s ? s->docs : 0;
}

int vs_chunk_since_unchanged(const struct vs_chunk_since *s, const char *source,
                             const char *doc_id, const char *stamp)
{
    json_t *e = s && source ? json_object_get(s->bysource, source) : NULL;
    const char *ed = json_string_value(json_object_get(e, "doc"));
    const char *es = json_string_value(json_object_get(e, "stamp"));
    return ed && es && doc_id && stamp && strcmp(ed, doc_id) == 0 &&
           strcmp(es, stamp) == 0;
}

json_t *vs_chunk_keep_record(const char *doc_id, const char *source)
{
    return json_pack("{s:s,s:s,s:s}", "op", "keep", "doc_id", doc_id, "source", source);
}
