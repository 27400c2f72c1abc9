/* store_sync.c: content digest of a store and the live-record view used by
 * vs-ingest to skip unchanged records and to plan document-level syncs. */
#include "vs_store_sync.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "vs_ndjson.h"

struct ent {
    const char *id; /* owned by the store */
    uint32_t seg;
    uint64_t row;
    char *doc, *source;
};

struct vs_sync {
    struct vs_store *s;
    struct ent *e;
    size_t n, cap;
    json_t *byid;   /* id -> integer index into e */
    json_t *hashes; /* document -> stored doc_hash */
    json_t *stamps; /* document -> stored metadata.file_stamp, or null */
    json_t *run_ids, *run_docs, *kept; /* sets of the run */
    int docs;
};

static int cmp_ent(const void *a, const void *b)
{
    return strcmp(((const struct ent *)a)->id, ((const struct ent *)b)->id);
}

/* The live rows of every segment, in store order. */
static int collect(struct vs_store *s, struct ent **out, size_t *n,
                   struct vs_diag *d)
{
    size_t cap = (size_t)vs_store_count(s) + 1, k = 0;
    struct ent *e = calloc(cap, sizeof *e);
    if (!e)
        return vs_diag_set(d, VS_E_NOMEM, "cannot list the records");
    for (size_t i = 0; i < vs_store_nsegments(s); i++) {
        struct vs_segment *g = vs_store_segment(s, i);
        const char *const *ids;
        int st = vs_segment_ids(g, &ids, d);
        if (st != VS_OK) {
            free(e);
            return st;
        }
        for (uint64_t r = 0; r < vs_segment_rows(g); r++) {
            if (!vs_segment_live(g, r) || k >= cap)
                continue;
            e[k].id = ids[r];
            e[k].seg = (uint32_t)i;
            e[k].row = r;
            k++;
        }
    }
    *out = e;
    *n = k;
    return VS_OK;
}

static char *doc_text(struct vs_segment *g, uint64_t row, struct vs_diag *d, int *st)
{
    json_t *doc;
    if ((*st = vs_segment_doc(g, row, &doc, d)) != VS_OK)
        return NULL;
    char *t = json_dumps(doc, VS_JSON_DUMP_FLAGS);
    json_decref(doc);
    if (!t)
        *st = vs_diag_set(d, VS_E_NOMEM, "cannot print a doc");
    return t;
}

int vs_store_digest(struct vs_store *s, char hex[33], struct vs_diag *d)
{
    struct ent *e;
    size_t n;
    int st = collect(s, &e, &n, d);
    if (st != VS_OK)
        return st;
    qsort(e, n, sizeof *e, cmp_ent);
    XXH3_state_t *h = XXH3_createState();
    if (!h) {
        free(e);
        return vs_diag_set(d, VS_E_NOMEM, "cannot hash");
    }
    XXH3_128bits_reset(h);
    const struct vs_store_settings *ss = vs_store_settings(s);
    char head[256];
    int hl = snprintf(head, sizeof head, "vecstore-digest-1 %u %s %s", ss->dim,
                      vs_metric_name(ss->metric), ss->model);
    XXH3_128bits_update(h, head, (size_t)hl + 1);
    for (size_t i = 0; st == VS_OK && i < n; i++) {
        struct vs_segment *g = vs_store_segment(s, e[i].seg);
        const float *vecs;
        if ((st = vs_segment_vectors(g, &vecs, d)) != VS_OK)
            break;
        char *t = doc_text(g, e[i].row, d, &st);
        if (!t)
            break;
        XXH3_128bits_update(h, e[i].id, strlen(e[i].id) + 1);
        XXH3_128bits_update(h, t, strlen(t) + 1);
        free(t);
        const float *v = vecs + e[i].row * ss->dim;
        for (uint32_t k = 0; k < ss->dim; k++) {
            uint32_t u;
            memcpy(&u, &v[k], 4);
            unsigned char b[4] = {(unsigned char)u, (unsigned char)(u >> 8),
                                  (unsigned char)(u >> 16), (unsigned char)(u >> 24)};
            XXH3_128bits_update(h, b, 4);
        }
    }
    if (st == VS_OK) {
        XXH128_hash_t r = XXH3_128bits_digest(h);
        snprintf(hex, 33, "%016llx%016llx", (unsigned long long)r.high64,
                 (unsigned long long)r.low64);
    }
    XXH3_freeState(h);
    free(e);
    return st;
}

void vs_sync_free(struct vs_sync *y)
{
    if (!y)
        return;
    for (size_t i = 0; i < y->n; i++) {
        free(y->e[i].doc);
        free(y->e[i].source);
    }
    free(y->e);
    json_decref(y->byid);
    json_decref(y->hashes);
    json_decref(y->stamps);
    json_decref(y->run_ids);
    json_decref(y->run_docs);
    json_decref(y->kept);
    free(y);
}

int vs_sync_new(struct vs_store *s, int docs, struct vs_sync **out,
                struct vs_diag *d)
{
    *out = NULL;
    struct vs_sync *y = calloc(1, sizeof *y);
    if (!y || !(y->byid = json_object()) || !(y->hashes = json_object()) ||
        !(y->stamps = json_object()) ||
        !(y->run_ids = json_object()) || !(y->run_docs = json_object()) ||
        !(y->kept = json_object())) {
        vs_sync_free(y);
        return vs_diag_set(d, VS_E_NOMEM, "cannot allocate a sync view");
    }
    y->s = s;
    y->docs = docs;
    int st = VS_OK;
    if (s && (st = collect(s, &y->e, &y->n, d)) != VS_OK) {
        vs_sync_free(y);
        return st;
    }
    for (size_t i = 0; i < y->n; i++) {
        struct ent *x = &y->e[i];
        if (!docs) {
            if (json_object_set_new(y->byid, x->id, json_integer((json_int_t)i)) != 0) {
                st = vs_diag_set(d, VS_E_NOMEM, "cannot build the sync view");
                break;
            }
            continue;
        }
        json_t *doc;
        if ((st = vs_segment_doc(vs_store_segment(s, x->seg), x->row, &doc, d)) != VS_OK)
            break;
        const char *dd = json_string_value(json_object_get(doc, "doc_id"));
        const char *src = json_string_value(json_object_get(doc, "source"));
        const char *hh = json_string_value(json_object_get(doc, "doc_hash"));
        x->doc = strdup(dd ? dd : x->id);
        x->source = strdup(src ? src : "");
        if (hh && x->doc)
            json_object_set_new(y->hashes, x->doc, json_string(hh));
        const char *fs = json_string_value(
            json_object_get(json_object_get(doc, "metadata"), "file_stamp"));
        if (x->doc)
            json_object_set_new(y->stamps, x->doc, fs ? json_string(fs) : json_null());
        json_decref(doc);
        if (!x->doc || !x->source ||
            json_object_set_new(y->byid, x->id, json_integer((json_int_t)i)) != 0) {
            st = vs_diag_set(d, VS_E_NOMEM, "cannot build the sync view");
            break;
        }
    }
    if (st != VS_OK) {
        vs_sync_free(y);
        return st;
    }
    *out = y;
    return VS_OK;
}

int vs_sync_lookup(struct vs_sync *y, const json_t *rec, const float *vec,
                   size_t dim, int *live, int *same, struct vs_diag *d)
{
    *live = *same = 0;
    const char *id = json_string_value(json_object_get(rec, "id"));
    json_t *ji = id ? json_object_get(y->byid, id) : NULL;
    if (!ji)
        return VS_OK;
    *live = 1;
    const struct ent *x = &y->e[json_integer_value(ji)];
    const struct vs_store_settings *ss = vs_store_settings(y->s);
    if (!vec || dim != ss->dim)
        return VS_OK;
    struct vs_segment *g = vs_store_segment(y->s, x->seg);
    const float *vecs;
    int st = vs_segment_vectors(g, &vecs, d);
    if (st != VS_OK)
        return st;
    const float *v = vecs + x->row * dim;
    double norm = 1;
    if (ss->normalize) {
        norm = 0;
        for (size_t i = 0; i < dim; i++)
            norm += (double)vec[i] * vec[i];
        norm = sqrt(norm);
        if (!(norm > 0))
            return VS_OK;
    }
    for (size_t i = 0; i < dim; i++) {
        float f = ss->normalize ? (float)(vec[i] / norm) : vec[i];
        if (memcmp(&f, &v[i], sizeof f) != 0)
            return VS_OK;
    }
    union { const json_t *c; json_t *m; } un = {rec};
    json_t *doc = json_copy(un.m);
    if (!doc)
        return vs_diag_set(d, VS_E_NOMEM, "cannot copy a record");
    json_object_del(doc, "vector");
    json_object_del(doc, "vector_b64");
    json_object_del(doc, "vector_model");
    json_object_del(doc, "op");
    char *a = json_dumps(doc, VS_JSON_DUMP_FLAGS);
    json_decref(doc);
    char *b = doc_text(g, x->row, d, &st);
    if (a && b)
        *same = strcmp(a, b) == 0;
    free(a);
    free(b);
    if (st == VS_OK && (!a || !b))
        st = vs_diag_set(d, VS_E_NOMEM, "cannot print a doc");
    return st;
}

size_t vs_sync_count(const struct vs_sync *y) { return y->n; }
const char *vs_sync_id(const struct vs_sync *y, size_t i) { return y->e[i].id; }
const char *vs_sync_doc(const struct vs_sync *y, size_t i)
{
    return y->e[i].doc ? y->e[i].doc : y->e[i].id;
}
const char *vs_sync_source(const struct vs_sync *y, size_t i)
{
    return y->e[i].source ? y->e[i].source : "";
}
const char *vs_sync_doc_hash(const struct vs_sync *y, const char *doc)
{
    return json_string_value(json_object_get(y->hashes, doc));
}

int vs_sync_has_doc(const struct vs_sync *y, const char *doc)
{
    return json_object_get(y->stamps, doc) != NULL;
}

const char *vs_sync_doc_stamp(const struct vs_sync *y, const char *doc)
{
    return json_string_value(json_object_get(y->stamps, doc));
}

int vs_sync_note(struct vs_sync *y, const char *id, const char *doc,
                 struct vs_diag *d)
{
    if (json_object_set_new(y->run_ids, id, json_true()) != 0 ||
        (doc && json_object_set_new(y->run_docs, doc, json_true()) != 0))
        return vs_diag_set(d, VS_E_NOMEM, "cannot note a record of the run");
    return VS_OK;
}

int vs_sync_keep(struct vs_sync *y, const char *doc, struct vs_diag *d)
{
    if (json_object_set_new(y->kept, doc, json_true()) != 0 ||
        json_object_set_new(y->run_docs, doc, json_true()) != 0)
        return vs_diag_set(d, VS_E_NOMEM, "cannot note a document of the run");
    return VS_OK;
}

int vs_sync_touched(const struct vs_sync *y, const char *id)
{
    return json_object_get(y->run_ids, id) != NULL;
}

const char *vs_sync_record_doc(const json_t *rec)
{
    const char *doc = json_string_value(json_object_get(rec, "doc_id"));
    return doc ? doc : json_string_value(json_object_get(rec, "id"));
}

int vs_sync_stale(const struct vs_sync *y, size_t i, int sync, const char *scope)
{
    const struct ent *x = &y->e[i];
    if (!y->docs || json_object_get(y->run_ids, x->id))
        return 0;
    if (json_object_get(y->run_docs, x->doc))
        return !json_object_get(y->kept, x->doc);
    return sync && (!scope || strncmp(x->source, scope, strlen(scope)) == 0);
}
