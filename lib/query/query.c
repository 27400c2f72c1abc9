/* query.c: query records over a store: parse and check them, evaluate
 * filters into allow maps, run vs_flat on a batch, build hit records. */
#include "vs_query.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vs_bert.h"
#include "vs_distance.h"
#include "vs_embed.h"
#include "vs_filter.h"
#include "query_hnsw_internal.h"
#include "query_internal.h"
#include "query_scan_internal.h"
#include "vs_flat.h"
#include "vs_jsonfmt.h"
#include "vs_jsonscan.h"
#include "vs_ndjson.h"

#ifdef _OPENMP
#define VS_OMP(x) _Pragma(x)
#else
#define VS_OMP(x)
#endif

struct pending {
    json_t *qid;              /* string */
    size_t k;
    struct vs_filter *filter; /* the record's own filter, or NULL */
};

struct vs_query {
    struct vs_store *s;
    struct vs_store_settings st;
    struct vs_query_opts o;
    size_t dim, nparts;
    uint64_t rows_total, live_total;
    struct vs_segment **segs;
    struct vs_flat_part *parts;
    uint8_t **live;           /* per part, NULL when all rows are live */
    json_t ***docs;           /* per part, per row: cached docs */
    struct vs_filter *gfilter;
    uint8_t **gallow;         /* per part: the global filter's allow map */
    uint8_t *qallow;          /* batch x rows_total: per-query allow maps */
    const uint8_t **qallow_ptr; /* batch x nparts */
    struct vs_embedder *emb;
    int emb_tried, emb_status;
    char emb_detail[384];
    struct pending *pend;
    size_t npend;
    float *vecs;              /* batch x dim: the pending query vectors */
    struct vs_flat *flat;
    size_t flat_kmax;
    struct vs_flat_query *fq;
    struct vs_flat_result *fr;
    struct vs_flat_hit *hitbuf;
    size_t hitcap;
    uint64_t distances, shortfalls;
    struct vs_qgraph *graphs;     /* segments searched through a graph */
    int graphs_borrowed;          /* graphs are a sibling's (vs_query_sibling) */
    struct vs_query *parent;      /* a sibling's: embeds with the parent's model */
    int gslot;                    /* >= 0: search the graphs on this thread, slot gslot */
    int threads0;                 /* o.threads before vs_query_set_slot */
    struct vs_flat_part *fparts;  /* parts for the exact scan (graph parts empty) */
    uint64_t run_ns[3];           /* last run: search start, exact scan done, graphs done */
    struct vs_buf out;            /* vs_query_run_text's hit records */
    char *raw;                    /* a stored doc's text (raw_doc) */
    size_t rawcap, rawlen;
};

void vs_query_free(struct vs_query *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->npend; i++) {
        json_decref(q->pend[i].qid);
        vs_filter_free(q->pend[i].filter);
    }
    for (size_t p = 0; p < q->nparts; p++) {
        if (q->docs && q->docs[p]) {
            for (uint64_t r = 0; r < q->parts[p].rows; r++)
                json_decref(q->docs[p][r]);
            free(q->docs[p]);
        }
        if (q->live)
            free(q->live[p]);
        if (q->gallow)
            free(q->gallow[p]);
    }
    if (!q->graphs_borrowed)
        vs_qgraph_free(q->graphs);
    vs_buf_release(&q->out);
    free(q->raw);
    free(q->fparts);
    free(q->hitbuf);
    free(q->fr);
    free(q->fq);
    vs_flat_free(q->flat);
    free(q->vecs);
    free(q->pend);
    vs_embedder_free(q->emb);
    free(q->qallow_ptr);
    free(q->qallow);
    free(q->gallow);
    vs_filter_free(q->gfilter);
    free(q->docs);
    free(q->live);
    free(q->parts);
    free(q->segs);
    free(q);
}

/* vs_query_new; with from not NULL, its graphs are shared (sibling). */
static int query_new(struct vs_store *s, const struct vs_query_opts *o,
                     struct vs_query *from, struct vs_query **out, struct vs_diag *d)
{
    int st = VS_OK;
    struct vs_query *q = calloc(1, sizeof *q);
    *out = NULL;
    if (!q)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    q->s = s;
    q->st = *vs_store_settings(s);
    q->o = *o;
    q->gslot = -1;
    q->threads0 = o->threads;
    if (q->o.k == 0)
        q->o.k = 10;
    if (q->o.batch == 0)
        q->o.batch = 1;
    q->dim = q->st.dim;
    if (o->simd >= 0 && !vs_distance_supported((enum vs_simd)o->simd)) {
        st = vs_diag_set(d, VS_E_UNSUPPORTED, "the cpu does not support the '%s' kernels",
                         vs_simd_name((enum vs_simd)o->simd));
        goto fail;
    }
    if (o->filter && (st = vs_filter_compile(o->filter, &q->gfilter, d)) != VS_OK)
        goto fail;
    q->nparts = vs_store_nsegments(s);
    size_t np = q->nparts ? q->nparts : 1;
    q->segs = calloc(np, sizeof *q->segs);
    q->parts = calloc(np, sizeof *q->parts);
    q->live = calloc(np, sizeof *q->live);
    q->docs = calloc(np, sizeof *q->docs);
    q->pend = calloc(q->o.batch, sizeof *q->pend);
    q->fq = calloc(q->o.batch, sizeof *q->fq);
    q->fr = calloc(q->o.batch, sizeof *q->fr);
    q->vecs = malloc(q->o.batch * (q->dim ? q->dim : 1) * sizeof *q->vecs);
    if (!q->segs || !q->parts || !q->live || !q->docs || !q->pend || !q->fq ||
        !q->fr || !q->vecs) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t p = 0; p < q->nparts; p++) {
        struct vs_segment *g = vs_store_segment(s, p);
        uint64_t rows = vs_segment_rows(g);
        q->segs[p] = g;
        /* a live map only for a segment with deletions */
        uint8_t *lv = NULL;
        uint64_t ndel = vs_segment_deleted(g);
        if (ndel) {
            if (!(lv = malloc(rows ? rows : 1))) {
                st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
                goto fail;
            }
            for (uint64_t r = 0; r < rows; r++)
                lv[r] = vs_segment_live(g, r) != 0;
        }
        q->live[p] = lv;
        q->parts[p] = (struct vs_flat_part){NULL, NULL, rows, lv};
        q->rows_total += rows;
        q->live_total += rows - ndel;
    }
    if (from) {
        q->parent = from;
        q->graphs = from->graphs;
        q->graphs_borrowed = 1;
        if (q->graphs && q->nparts && !(q->fparts = malloc(q->nparts * sizeof *q->fparts))) {
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            goto fail;
        }
    } else if (!q->o.exact && q->nparts && q->dim) {
        if ((st = vs_qgraph_open(q->segs, q->nparts, q->o.batch, q->o.threads, &q->graphs,
                                 d)) != VS_OK)
            goto fail;
        if (q->graphs) {
            if (!(q->fparts = malloc(q->nparts * sizeof *q->fparts))) {
                st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
                goto fail;
            }
        }
    }
    /* the exact scan reads every row of its segments; a graph segment's
     * rows are decoded block by block as its searches touch them */
    for (size_t p = 0; p < q->nparts; p++) {
        int graph = vs_qgraph_has(q->graphs, p);
        /* hits read docs at random (their text and metadata, and a graph
         * part's hits their ids: vs_segment_id, the ids section is not
         * loaded): each docs block decompressed once */
        if ((graph || !o->no_text || !o->no_metadata) &&
            (st = vs_segment_doc_cache(q->segs[p], VS_DOC_CACHE_BUDGET, d)) != VS_OK)
            goto fail;
        if (graph) {
            q->parts[p].vecs = vs_qgraph_vecs(q->graphs, p);
        } else if ((st = vs_segment_ids(q->segs[p], &q->parts[p].ids, d)) != VS_OK ||
                   (st = vs_segment_vectors(q->segs[p], &q->parts[p].vecs, d)) != VS_OK) {
            goto fail; /* the exact scan breaks ties by id: every row's */
        }
        if (q->fparts) {
            q->fparts[p] = q->parts[p];
            if (graph)
                q->fparts[p].rows = 0;
        }
    }
    *out = q;
    return VS_OK;
fail:
    vs_query_free(q);
    return st;
}

int vs_query_new(struct vs_store *s, const struct vs_query_opts *o,
                 struct vs_query **out, struct vs_diag *d)
{
    return query_new(s, o, NULL, out, d);
}

int vs_query_sibling(struct vs_query *q, int slot, struct vs_query **out,
                     struct vs_diag *d)
{
    if (slot < 0 || (q->graphs && slot >= vs_qgraph_slots(q->graphs)))
        return vs_diag_set(d, VS_E_INTERNAL, "query sibling slot %d out of range", slot);
    int st = query_new(q->s, &q->o, q, out, d);
    if (st == VS_OK)
        vs_query_set_slot(*out, slot);
    return st;
}

int vs_query_slots(const struct vs_query *q)
{
    return q->graphs ? vs_qgraph_slots(q->graphs) : 1024;
}

void vs_query_set_slot(struct vs_query *q, int slot)
{
    int threads = slot >= 0 ? 1 : q->threads0;
    if (threads != q->o.threads) { /* the exact scan's threads: made anew */
        vs_flat_free(q->flat);
        q->flat = NULL;
        q->flat_kmax = 0;
    }
    q->o.threads = threads;
    q->gslot = slot;
}

void vs_query_absorb(struct vs_query *q, struct vs_query *from)
{
    q->distances += from->distances;
    q->shortfalls += from->shortfalls;
    from->distances = from->shortfalls = 0;
}

size_t vs_query_pending(const struct vs_query *q) { return q->npend; }
int vs_query_full(const struct vs_query *q) { return q->npend >= q->o.batch; }
uint64_t vs_query_distances(const struct vs_query *q) { return q->distances; }
uint64_t vs_query_shortfalls(const struct vs_query *q) { return q->shortfalls; }

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int vs_query_segment_stat(const struct vs_query *q, size_t p,
                          struct vs_query_segstat *out)
{
    if (p >= q->nparts || q->run_ns[0] == 0)
        return VS_E_NOTFOUND;
    out->rows = q->parts[p].rows;
    out->graph = vs_qgraph_has(q->graphs, p);
    out->start_ns = q->run_ns[out->graph ? 1 : 0];
    out->end_ns = q->run_ns[out->graph ? 2 : 1];
    return VS_OK;
}

const char *vs_query_kernel(const struct vs_query *q)
{
    if (q->o.simd >= 0)
        return vs_simd_name((enum vs_simd)q->o.simd);
    return vs_distance_best()->name;
}

/* The doc of (part, row), cached; borrowed. */
static int get_doc(struct vs_query *q, size_t p, uint64_t row, json_t **doc,
                   struct vs_diag *d)
{
    if (!q->docs[p] && !(q->docs[p] = calloc(q->parts[p].rows, sizeof(json_t *))))
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    if (!q->docs[p][row]) {
        int st = vs_segment_doc(q->segs[p], row, &q->docs[p][row], d);
        if (st != VS_OK)
            return st;
    }
    *doc = q->docs[p][row];
    return VS_OK;
}

/* The stored text of the doc of (part, row) into q->raw (q->rawlen bytes). */
static int raw_doc(struct vs_query *q, size_t p, uint64_t row, struct vs_diag *d)
{
    return vs_segment_doc_raw(q->segs[p], row, &q->raw, &q->rawcap, &q->rawlen, d);
}

/* The members of a doc a hit record copies */
static const char *const hit_keys[] = {"doc_id", "text", "metadata"};

/* Load every live doc (needed to evaluate a filter). */
static int load_docs(struct vs_query *q, struct vs_diag *d)
{
    for (size_t p = 0; p < q->nparts; p++)
        for (uint64_t r = 0; r < q->parts[p].rows; r++) {
            json_t *doc;
            int st;
            if (q->live[p] && !q->live[p][r])
                continue;
            if ((st = get_doc(q, p, r, &doc, d)) != VS_OK)
                return st;
        }
    return VS_OK;
}

/* allow[r] = f(doc r) && (and ? and[r] : 1), for the live rows of part p. */
static void eval_filter(struct vs_query *q, size_t p, const struct vs_filter *f,
                        const uint8_t *and, uint8_t *allow)
{
    const uint8_t *lv = q->live[p];
    json_t **docs = q->docs[p];
    int64_t rows = (int64_t)q->parts[p].rows;
    VS_OMP("omp parallel for schedule(static) if(rows > 4096)")
    for (int64_t r = 0; r < rows; r++)
        allow[r] = (!lv || lv[r]) && (!and || and[r]) && vs_filter_match(f, docs[r]);
}

static int ensure_global_allow(struct vs_query *q, struct vs_diag *d)
{
    if (!q->gfilter || q->gallow)
        return VS_OK;
    int st = load_docs(q, d);
    if (st != VS_OK)
        return st;
    if (!(q->gallow = calloc(q->nparts ? q->nparts : 1, sizeof *q->gallow)))
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    for (size_t p = 0; p < q->nparts; p++) {
        if (!(q->gallow[p] = malloc(q->parts[p].rows ? q->parts[p].rows : 1)))
            return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        eval_filter(q, p, q->gfilter, NULL, q->gallow[p]);
    }
    return VS_OK;
}

static int field_error(struct vs_diag *d, int st, const char *field,
                       const char *detail)
{
    vs_diag_field(d, "%s", field);
    return vs_diag_set(d, st, "%s", detail);
}

int vs_query_record_id_k(const json_t *rec, size_t default_k, json_t **qid,
                         size_t *k, struct vs_diag *d)
{
    json_t *jid = json_object_get(rec, "id");
    const char *idname = "id";
    *qid = NULL;
    if (!jid && (jid = json_object_get(rec, "_id"))) /* BEIR queries.jsonl */
        idname = "_id";
    if (json_is_string(jid))
        *qid = json_string(json_string_value(jid));
    else if (json_is_integer(jid))
        *qid = json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(jid));
    else
        return field_error(d, VS_E_FIELD, idname,
                           jid ? "must be a string or an integer"
                               : "is missing (each query needs an \"id\" or a BEIR \"_id\")");
    if (!*qid)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    *k = default_k;
    json_t *jk = json_object_get(rec, "k");
    if (jk) {
        if (!json_is_integer(jk) || json_integer_value(jk) < 1 ||
            json_integer_value(jk) > VS_QUERY_K_MAX)
            return field_error(d, VS_E_FIELD, "k", "must be an integer from 1 to 100000");
        *k = (size_t)json_integer_value(jk);
    }
    return VS_OK;
}

static int embed_text(struct vs_query *q, const char *text, float *out,
                      struct vs_diag *d)
{
    if (q->parent) /* one model loaded, however many siblings */
        q = q->parent;
    if (!q->emb_tried) {
        struct vs_diag ed;
        vs_diag_clear(&ed);
        q->emb_tried = 1;
        if (!q->st.model[0]) {
            q->emb_status = VS_E_UNSUPPORTED;
            snprintf(q->emb_detail, sizeof q->emb_detail, "the store pins no embedding model");
        } else if ((q->emb_status = vs_embedder_new(q->st.model, q->dim, &q->emb, &ed)) != VS_OK) {
            snprintf(q->emb_detail, sizeof q->emb_detail,
                     "the store's model '%s' is not available here", q->st.model);
        } else if (vs_embedder_is_remote(q->emb)) {
            q->emb_status = VS_E_UNSUPPORTED;
            snprintf(q->emb_detail, sizeof q->emb_detail,
                     "the store's model '%s' is a remote API; vs-query embeds only with "
                     "local models (embed the queries with vs-embed first)", q->st.model);
        } else if (vs_embedder_dim(q->emb) != q->dim) {
            q->emb_status = VS_E_MISMATCH;
            snprintf(q->emb_detail, sizeof q->emb_detail,
                     "model '%s' gives dimension %zu, the store has %zu", q->st.model,
                     vs_embedder_dim(q->emb), q->dim);
        } else {
            /* queries take the model's query prefix (e5, bge) */
            vs_embedder_set_role(q->emb, VS_EMBED_QUERY);
        }
    }
    if (q->emb_status != VS_OK) {
        vs_diag_field(d, "vector");
        return vs_diag_set(d, VS_E_FIELD, "is missing and the text cannot be embedded: %s",
                           q->emb_detail);
    }
    int st = vs_embedder_embed_one(q->emb, text, out, d);
    if (st != VS_OK && st != VS_E_NOMEM) {
        vs_diag_field(d, "text");
        st = VS_E_FIELD;
    }
    return st;
}

/* A query vector made by another model than the store's answers with
 * meaningless hits: refuse it, as the store's writer refuses such a record
 * (a query without "vector_model" is taken on trust). */
static int check_vector_model(const struct vs_query *q, const json_t *rec,
                              struct vs_diag *d)
{
    json_t *jm = json_object_get(rec, "vector_model");
    if (!jm)
        return VS_OK;
    const char *m = json_string_value(jm);
    if (!m)
        return field_error(d, VS_E_FIELD, "vector_model", "must be a string");
    if (q->st.model[0] && strcmp(m, q->st.model) != 0) {
        vs_diag_field(d, "vector_model");
        return vs_diag_set(d, VS_E_MISMATCH,
                           "is '%.200s', store '%.400s' holds vectors of '%s' (embed the "
                           "queries with --model %s, or give text only)",
                           m, vs_store_path(q->s), q->st.model, q->st.model);
    }
    return VS_OK;
}

int vs_query_add(struct vs_query *q, const json_t *rec, struct vs_diag *d)
{
    if (q->npend >= q->o.batch)
        return vs_diag_set(d, VS_E_INTERNAL, "query batch is full");
    struct pending *pq = &q->pend[q->npend];
    float *vec = NULL;
    size_t dim = 0;
    int st;
    memset(pq, 0, sizeof *pq);

    st = vs_query_record_id_k(rec, q->o.k, &pq->qid, &pq->k, d);
    if (st != VS_OK)
        goto fail;

    json_t *jf = json_object_get(rec, "filter");
    if (jf && !json_is_null(jf)) {
        if (!json_is_string(jf)) {
            st = field_error(d, VS_E_FIELD, "filter", "must be a string");
            goto fail;
        }
        struct vs_diag fd;
        vs_diag_clear(&fd);
        if ((st = vs_filter_compile(json_string_value(jf), &pq->filter, &fd)) != VS_OK) {
            vs_diag_field(d, "filter");
            st = vs_diag_set(d, st == VS_E_FILTER ? VS_E_FIELD : st, "%s", fd.detail);
            goto fail;
        }
    }

    if ((st = vs_record_vector(rec, &vec, &dim, d)) != VS_OK)
        goto fail;
    if (vec && (st = check_vector_model(q, rec, d)) != VS_OK)
        goto fail;
    float *dst = q->vecs + q->npend * (q->dim ? q->dim : 1);
    if (!vec) {
        json_t *jt = json_object_get(rec, "text");
        if (!json_is_string(jt)) {
            st = field_error(d, VS_E_FIELD, "vector",
                             jt ? "is missing and 'text' is not a string"
                                : "is missing (give 'vector', 'vector_b64' or 'text')");
            goto fail;
        }
        if (q->dim == 0) /* an empty store: nothing to find, nothing to embed */
            goto done;
        if ((st = embed_text(q, json_string_value(jt), dst, d)) != VS_OK)
            goto fail;
    } else {
        if (q->dim != 0 && dim != q->dim) {
            vs_diag_field(d, "%s", json_object_get(rec, "vector") ? "vector" : "vector_b64");
            st = vs_diag_set(d, VS_E_DIM, "has %zu numbers, store '%s' has dimension %zu",
                             dim, vs_store_path(q->s), q->dim);
            goto fail;
        }
        if (q->dim == 0)
            goto done;
        memcpy(dst, vec, dim * sizeof *dst);
    }
    /* the same arithmetic the store applied to its vectors at ingest */
    if (q->st.normalize && vs_distance_normalize(dst, q->dim) != VS_OK) {
        st = field_error(d, VS_E_DATA, "vector",
                         "has length 0 and cannot be normalised like the store's vectors");
        goto fail;
    }
done:
    free(vec);
    q->npend++;
    return VS_OK;
fail:
    free(vec);
    json_decref(pq->qid);
    vs_filter_free(pq->filter);
    memset(pq, 0, sizeof *pq);
    return st;
}

int vs_query_scan_next(struct vs_query *q, const char *line, size_t len,
                       struct vs_query_scanned *sc)
{
    if (q->npend >= q->o.batch || q->dim == 0)
        return 0;
    float *dst = q->vecs + q->npend * q->dim;
    if (!vs_query_scan(line, len, dst, q->dim, sc))
        return 0;
    /* the same arithmetic the store applied to its vectors at ingest; a
     * zero vector takes the full parse, which reports it */
    return !q->st.normalize || vs_distance_normalize(dst, q->dim) == VS_OK;
}

void vs_query_add_scanned(struct vs_query *q, size_t k)
{
    struct pending *pq = &q->pend[q->npend++];
    memset(pq, 0, sizeof *pq);
    pq->k = k ? k : q->o.k;
}

int vs_query_add_vector(struct vs_query *q, const float *vec, size_t dim, size_t k,
                        const char *filter, struct vs_diag *d)
{
    if (q->npend >= q->o.batch)
        return vs_diag_set(d, VS_E_INTERNAL, "query batch is full");
    struct pending *pq = &q->pend[q->npend];
    int st;
    memset(pq, 0, sizeof *pq);
    if (k > VS_QUERY_K_MAX)
        return field_error(d, VS_E_FIELD, "k", "must be an integer from 1 to 100000");
    pq->k = k ? k : q->o.k;
    if (filter) {
        struct vs_diag fd;
        vs_diag_clear(&fd);
        if ((st = vs_filter_compile(filter, &pq->filter, &fd)) != VS_OK) {
            vs_diag_field(d, "filter");
            return vs_diag_set(d, st == VS_E_FILTER ? VS_E_FIELD : st, "%s", fd.detail);
        }
    }
    if (q->dim != 0 && dim != q->dim) {
        vs_diag_field(d, "vector");
        st = vs_diag_set(d, VS_E_DIM, "has %zu numbers, store '%s' has dimension %zu", dim,
                         vs_store_path(q->s), q->dim);
        goto fail;
    }
    if (q->dim != 0) {
        float *dst = q->vecs + q->npend * q->dim;
        memcpy(dst, vec, dim * sizeof *dst);
        /* the same arithmetic the store applied to its vectors at ingest */
        if (q->st.normalize && vs_distance_normalize(dst, q->dim) != VS_OK) {
            st = field_error(d, VS_E_DATA, "vector",
                             "has length 0 and cannot be normalised like the store's vectors");
            goto fail;
        }
    }
    q->npend++;
    return VS_OK;
fail:
    vs_filter_free(pq->filter);
    memset(pq, 0, sizeof *pq);
    return st;
}

static int add_real(json_t *o, const char *key, float v)
{
    json_t *j = vs_json_float(v);
    return j ? json_object_set_new(o, key, j) : -1;
}

static json_t *explain_obj(struct vs_query *q, const struct pending *pq,
                           const struct vs_flat_result *r, size_t k)
{
    json_t *e = json_object();
    if (!e)
        return NULL;
    json_object_set_new(e, "mode", json_string(q->graphs ? "hnsw" : "exact"));
    json_object_set_new(e, "exact", json_boolean(!q->graphs));
    json_object_set_new(e, "kernel", json_string(vs_query_kernel(q)));
    json_object_set_new(e, "segments", json_integer((json_int_t)q->nparts));
    json_object_set_new(e, "records_scanned", json_integer((json_int_t)r->scanned));
    json_t *jf = json_null();
    if (q->gfilter && pq->filter)
        jf = json_sprintf("(%s) AND (%s)", vs_filter_text(q->gfilter),
                          vs_filter_text(pq->filter));
    else if (q->gfilter || pq->filter)
        jf = json_string(vs_filter_text(q->gfilter ? q->gfilter : pq->filter));
    json_object_set_new(e, "filter", jf);
    json_object_set_new(e, "filter_matched", json_integer((json_int_t)r->matched));
    json_object_set_new(e, "filter_selectivity",
                        json_real(r->scanned ? (double)r->matched / (double)r->scanned : 0.0));
    json_object_set_new(e, "distance_computations", json_integer((json_int_t)r->distances));
    json_object_set_new(e, "k", json_integer((json_int_t)k));
    json_object_set_new(e, "hits", json_integer((json_int_t)r->n));
    if (q->graphs || q->o.exact)
        json_object_set_new(e, "segment_search",
                            vs_qgraph_explain(q->graphs, q->gslot, (size_t)(pq - q->pend),
                                              q->nparts, q->o.exact));
    return e;
}

/* vectors near the float32 limit (l2 or dot over components ~1e38)
 * overflow the distance arithmetic: such a score would rank anywhere and
 * could not be written, so the query is refused before any of its hits is
 * written (README: NaN and infinities are refused) */
static int finite_scores(const struct vs_query *q, const struct vs_flat_result *r,
                         struct vs_diag *d)
{
    for (size_t j = 0; j < r->n; j++) {
        float dist;
        int has_dist;
        float score = vs_distance_score(q->st.metric, r->hits[j].raw, &dist, &has_dist);
        if (!isfinite(score) || (has_dist && !isfinite(dist))) {
            vs_diag_field(d, "vector");
            return vs_diag_set(d, VS_E_DATA,
                               "the %s score of record '%.200s' is not a finite float32 "
                               "(the vectors are too large for its arithmetic)",
                               vs_metric_name(q->st.metric), r->hits[j].id);
        }
    }
    return VS_OK;
}

static int emit_hits(struct vs_query *q, size_t i, int (*emit)(const json_t *, void *),
                     void *arg, struct vs_diag *d)
{
    const struct pending *pq = &q->pend[i];
    const struct vs_flat_result *r = &q->fr[i];
    const char *metric = vs_metric_name(q->st.metric);
    int st = VS_OK;
    if (r->n == 0 && q->o.explain) {
        json_t *h = json_pack("{s:O,s:i}", "qid", pq->qid, "hits", 0);
        json_t *e = h ? explain_obj(q, pq, r, pq->k) : NULL;
        if (!e) {
            json_decref(h);
            return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        }
        json_object_set_new(h, "explain", e);
        st = emit(h, arg);
        json_decref(h);
        return st;
    }
    if ((st = finite_scores(q, r, d)) != VS_OK)
        return st;
    for (size_t j = 0; j < r->n && st == VS_OK; j++) {
        const struct vs_flat_hit *hit = &r->hits[j];
        float dist;
        int has_dist;
        float score = vs_distance_score(q->st.metric, hit->raw, &dist, &has_dist);
        json_t *h = json_object();
        if (!h)
            return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        json_object_set(h, "qid", pq->qid);
        json_object_set_new(h, "id", json_string(hit->id));
        json_object_set_new(h, "rank", json_integer((json_int_t)j + 1));
        add_real(h, "score", score);
        if (has_dist)
            add_real(h, "distance", dist);
        json_object_set_new(h, "metric", json_string(metric));
        if (!q->o.no_text || !q->o.no_metadata) {
            /* doc_id (a chunk names its document), text and metadata unless
             * switched off; with both off no doc is read (a doc costs a
             * block decompression: 17x slower at k 100) */
            json_t *doc;
            if ((st = get_doc(q, hit->part, hit->row, &doc, d)) != VS_OK) {
                json_decref(h);
                return st;
            }
            json_t *t = json_object_get(doc, "text"), *m = json_object_get(doc, "metadata");
            json_t *di = json_object_get(doc, "doc_id");
            if (di && !json_is_null(di))
                json_object_set(h, "doc_id", di);
            if (!q->o.no_text && t)
                json_object_set(h, "text", t);
            if (!q->o.no_metadata && m)
                json_object_set(h, "metadata", m);
        }
        if (j == 0 && q->o.explain)
            json_object_set_new(h, "explain", explain_obj(q, pq, r, pq->k));
        st = emit(h, arg);
        json_decref(h);
    }
    return st;
}

static void clear_batch(struct vs_query *q)
{
    for (size_t i = 0; i < q->npend; i++) {
        json_decref(q->pend[i].qid);
        vs_filter_free(q->pend[i].filter);
    }
    memset(q->pend, 0, q->npend * sizeof *q->pend);
    q->npend = 0;
}

/* Search the pending batch: q->fr[i] gets query i's hits. */
static int search_batch(struct vs_query *q, struct vs_diag *d)
{
    int st = VS_OK;
    size_t nq = q->npend, kmax = 1, total_k = 0;
    for (size_t i = 0; i < nq; i++) {
        size_t k = q->pend[i].k < q->live_total ? q->pend[i].k : (size_t)q->live_total;
        if (k == 0)
            k = 1;
        kmax = k > kmax ? k : kmax;
        total_k += k;
        q->fq[i].k = k;
        q->fq[i].vec = q->vecs + i * (q->dim ? q->dim : 1);
        q->fq[i].allow = NULL;
    }
    if (q->dim == 0 || q->nparts == 0) {
        for (size_t i = 0; i < nq; i++)
            memset(&q->fr[i], 0, sizeof q->fr[i]);
        return VS_OK;
    }
    if (!q->flat || kmax > q->flat_kmax) {
        vs_flat_free(q->flat);
        q->flat = NULL;
        size_t kcap = kmax > q->o.k ? kmax : q->o.k;
        if (kcap > q->live_total && q->live_total > 0)
            kcap = (size_t)q->live_total;
        struct vs_flat_opts fo = {q->o.batch, kcap, q->o.threads, q->o.simd, 0};
        if ((st = vs_flat_new(q->dim, q->st.metric, &fo, &q->flat, d)) != VS_OK)
            return st;
        q->flat_kmax = kcap;
    }
    if (total_k > q->hitcap) {
        free(q->hitbuf);
        q->hitcap = 0;
        if (!(q->hitbuf = malloc(total_k * sizeof *q->hitbuf)))
            return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        q->hitcap = total_k;
    }
    if ((st = ensure_global_allow(q, d)) != VS_OK)
        return st;
    size_t off = 0;
    for (size_t i = 0; i < nq; i++) {
        q->fr[i].hits = q->hitbuf + off;
        off += q->fq[i].k;
        if (q->gallow && !q->pend[i].filter)
            q->fq[i].allow = (const uint8_t *const *)q->gallow;
        if (!q->pend[i].filter)
            continue;
        if (!q->qallow) {
            q->qallow = malloc(q->o.batch * (q->rows_total ? q->rows_total : 1));
            q->qallow_ptr = malloc(q->o.batch * q->nparts * sizeof *q->qallow_ptr);
            if (!q->qallow || !q->qallow_ptr)
                return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        }
        if ((st = load_docs(q, d)) != VS_OK)
            return st;
        uint8_t *a = q->qallow + i * q->rows_total;
        for (size_t p = 0; p < q->nparts; p++) {
            eval_filter(q, p, q->pend[i].filter, q->gallow ? q->gallow[p] : NULL, a);
            q->qallow_ptr[i * q->nparts + p] = a;
            a += q->parts[p].rows;
        }
        q->fq[i].allow = q->qallow_ptr + i * q->nparts;
    }
    q->run_ns[0] = wall_ns();
    if ((st = vs_flat_search(q->flat, q->graphs ? q->fparts : q->parts, q->nparts, q->fq,
                             nq, q->fr, d)) != VS_OK)
        return st;
    q->run_ns[1] = wall_ns();
    if (q->graphs &&
        (st = q->gslot >= 0 ? vs_qgraph_search_slot(q->graphs, q->gslot, q->parts, q->fq, nq,
                                                     q->o.ef, q->fr, d)
                            : vs_qgraph_search(q->graphs, q->parts, q->fq, nq, q->o.ef,
                                               q->st.metric, q->fr, d)) != VS_OK)
        return st;
    q->run_ns[2] = wall_ns();
    return VS_OK;
}

int vs_query_run(struct vs_query *q, int (*emit)(const json_t *hit, void *arg),
                 void *arg, uint64_t *nhits, uint64_t *nempty, struct vs_diag *d)
{
    uint64_t hits = 0, empty = 0;
    size_t nq = q->npend;
    memset(q->run_ns, 0, sizeof q->run_ns);
    int st = nq ? search_batch(q, d) : VS_OK;
    for (size_t i = 0; i < nq && st == VS_OK; i++) /* scanned: the index */
        if (!q->pend[i].qid && !(q->pend[i].qid = json_sprintf("%zu", i)))
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
    for (size_t i = 0; i < nq && st == VS_OK; i++) {
        q->distances += q->fr[i].distances;
        if (q->fr[i].n < q->pend[i].k)
            q->shortfalls++;
        hits += q->fr[i].n;
        empty += q->fr[i].n == 0;
        st = emit_hits(q, i, emit, arg, d);
    }
    clear_batch(q);
    if (nhits)
        *nhits = hits;
    if (nempty)
        *nempty = empty;
    return st;
}

int vs_query_run_hits(struct vs_query *q, int with_doc,
                      int (*hit)(size_t i, size_t rank, const struct vs_query_hit *h, void *arg),
                      void *arg, struct vs_diag *d)
{
    size_t nq = q->npend;
    memset(q->run_ns, 0, sizeof q->run_ns);
    int st = nq ? search_batch(q, d) : VS_OK;
    for (size_t i = 0; i < nq && st == VS_OK; i++) {
        const struct vs_flat_result *r = &q->fr[i];
        q->distances += r->distances;
        if (r->n < q->pend[i].k)
            q->shortfalls++;
        if ((st = finite_scores(q, r, d)) != VS_OK)
            break;
        for (size_t j = 0; j < r->n && st == VS_OK; j++) {
            struct vs_query_hit h;
            memset(&h, 0, sizeof h);
            h.id = r->hits[j].id;
            h.score = vs_distance_score(q->st.metric, r->hits[j].raw, &h.distance,
                                        &h.has_distance);
            json_t *doc = NULL;
            if (with_doc == VS_QUERY_DOC_TEXT &&
                !(q->docs[r->hits[j].part] && q->docs[r->hits[j].part][r->hits[j].row])) {
                if ((st = raw_doc(q, r->hits[j].part, r->hits[j].row, d)) != VS_OK)
                    break;
                if (vs_json_scan_doc(q->raw, q->rawlen, hit_keys, 3, h.member)) {
                    h.raw = q->raw;
                    h.raw_len = q->rawlen;
                }
            }
            if (with_doc && !h.raw &&
                (st = get_doc(q, r->hits[j].part, r->hits[j].row, &doc, d)) != VS_OK)
                break;
            h.doc = doc;
            st = hit(i, j + 1, &h, arg);
        }
    }
    clear_batch(q);
    return st;
}

/* Query i's hit records as NDJSON text into b: the bytes vs_ndjson_write
 * writes for the records emit_hits makes (without explain). */
static int format_hits(struct vs_query *q, size_t i, const char *qid, size_t qlen,
                       struct vs_buf *b, struct vs_diag *d)
{
    const struct vs_flat_result *r = &q->fr[i];
    const char *metric = vs_metric_name(q->st.metric);
    size_t mlen = strlen(metric);
    int st = finite_scores(q, r, d);
    if (st != VS_OK)
        return st;
    for (size_t j = 0; j < r->n; j++) {
        const struct vs_flat_hit *hit = &r->hits[j];
        float dist;
        int has_dist;
        float score = vs_distance_score(q->st.metric, hit->raw, &dist, &has_dist);
        json_t *doc = NULL;
        struct vs_json_span sp[3];
        int spliced = 0;
        if (!q->o.no_text || !q->o.no_metadata) {
            /* the stored text's members copied as they are when the text is
             * in the form jansson writes (vs_jsonscan.h), else parsed (a
             * doc parsed for a filter already is used as it is) */
            if (!(q->docs[hit->part] && q->docs[hit->part][hit->row])) {
                if ((st = raw_doc(q, hit->part, hit->row, d)) != VS_OK)
                    return st;
                spliced = vs_json_scan_doc(q->raw, q->rawlen, hit_keys, 3, sp);
            }
            if (!spliced && (st = get_doc(q, hit->part, hit->row, &doc, d)) != VS_OK)
                return st;
        }
        if (vs_buf_put(b, "{\"qid\":", 7) || vs_buf_json_string(b, qid, qlen) ||
            vs_buf_put(b, ",\"id\":", 6) || vs_buf_json_string(b, hit->id, strlen(hit->id)) ||
            vs_buf_put(b, ",\"rank\":", 8) || vs_buf_json_int(b, (long long)j + 1) ||
            vs_buf_put(b, ",\"score\":", 9) ||
            (has_dist ? vs_buf_json_float_pair(b, score, ",\"distance\":", 12, dist)
                      : vs_buf_json_float(b, score)) ||
            vs_buf_put(b, ",\"metric\":", 10) || vs_buf_json_string(b, metric, mlen))
            return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        if (doc) {
            json_t *t = json_object_get(doc, "text"), *m = json_object_get(doc, "metadata");
            json_t *di = json_object_get(doc, "doc_id");
            if ((di && !json_is_null(di) &&
                 (vs_buf_put(b, ",\"doc_id\":", 10) || vs_buf_json_value(b, di))) ||
                (!q->o.no_text && t &&
                 (vs_buf_put(b, ",\"text\":", 8) || vs_buf_json_value(b, t))) ||
                (!q->o.no_metadata && m &&
                 (vs_buf_put(b, ",\"metadata\":", 12) || vs_buf_json_value(b, m))))
                return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        } else if (spliced) {
            if ((sp[0].p && !(sp[0].n == 4 && memcmp(sp[0].p, "null", 4) == 0) &&
                 (vs_buf_put(b, ",\"doc_id\":", 10) || vs_buf_put(b, sp[0].p, sp[0].n))) ||
                (!q->o.no_text && sp[1].p &&
                 (vs_buf_put(b, ",\"text\":", 8) || vs_buf_put(b, sp[1].p, sp[1].n))) ||
                (!q->o.no_metadata && sp[2].p &&
                 (vs_buf_put(b, ",\"metadata\":", 12) || vs_buf_put(b, sp[2].p, sp[2].n))))
                return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        }
        if (vs_buf_put(b, "}\n", 2))
            return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    }
    return VS_OK;
}

int vs_query_run_text(struct vs_query *q, const char *const *qids, const size_t *qlens,
                      int (*write)(const char *buf, size_t len, size_t nrec, void *arg),
                      void *arg, uint64_t *nhits, uint64_t *nempty, struct vs_diag *d)
{
    uint64_t hits = 0, empty = 0;
    size_t nq = q->npend;
    memset(q->run_ns, 0, sizeof q->run_ns);
    int st = q->o.explain ? vs_diag_set(d, VS_E_INTERNAL, "explain needs vs_query_run")
             : nq         ? search_batch(q, d)
                          : VS_OK;
    q->out.len = 0;
    size_t nrec = 0;
    for (size_t i = 0; i < nq && st == VS_OK; i++) {
        q->distances += q->fr[i].distances;
        if (q->fr[i].n < q->pend[i].k)
            q->shortfalls++;
        /* a query refused by format_hits writes nothing; those before it
         * are written (as vs_query_run emits them) */
        if ((st = format_hits(q, i, qids[i], qlens[i], &q->out, d)) != VS_OK)
            break;
        hits += q->fr[i].n;
        empty += q->fr[i].n == 0;
        nrec += q->fr[i].n;
    }
    if (nrec) {
        int st2 = write(q->out.p, q->out.len, nrec, arg);
        if (st == VS_OK)
            st = st2;
    }
    clear_batch(q);
    if (nhits)
        *nhits = hits;
    if (nempty)
        *nempty = empty;
    return st;
}
