/* rerank.c: grouping hits by qid, scoring a group (bm25, mmr, api),
 * blending, sorting and writing (see vs_rerank.h). */
#include "rerank_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vs_analyzer.h"
#include "vs_bm25.h"
#include "vs_mmr.h"
#include "vs_ndjson.h"

struct hit {
    json_t *rec;     /* own reference */
    const char *text;/* borrowed from rec */
    const char *id;  /* borrowed from rec, or NULL */
    long rrank;      /* retrieval rank */
    double rscore;   /* retrieval score */
    int has_rscore;
    double score;    /* method's score */
    double fin;      /* final score */
    size_t morder;   /* position in the method's order */
};

struct vs_rerank {
    struct vs_rerank_opts o;
    struct vs_analyzer *an;
    struct vs_http *http;
    struct vs_cross *cross;
    struct vs_late *late;
    struct vs_rerank_store *store; /* bm25 --store */
    json_t *queries;  /* qid -> {"text", "vector"} */
    json_t *done;     /* qids whose group ended -> true */
    char qid[512];    /* current group ("" = none) */
    int has_group;
    const char *qtext;   /* borrowed from queries or the first hit */
    json_t *qtext_owner; /* reference keeping qtext alive */
    float *qvec;
    size_t qdim;
    struct hit *hits;
    size_t n, cap;
    float *vecs;     /* n * dim (mmr) */
    size_t dim, vcap;
    struct vs_rerank_stats st;
};

void vs_rerank_opts_init(struct vs_rerank_opts *o)
{
    memset(o, 0, sizeof *o);
    o->method = VS_RERANK_BM25;
    o->blend = -1;
    o->blend_mode = VS_RERANK_BLEND_RRF;
    o->lambda = VS_MMR_LAMBDA_DEFAULT;
    o->k1 = VS_BM25_K1_DEFAULT;
    o->b = VS_BM25_B_DEFAULT;
    vs_http_opts_init(&o->http);
}

static const char *const method_names[] = {"bm25", "mmr", "api", "cross-encoder",
                                           "late-interaction"};

const char *vs_rerank_method_name(enum vs_rerank_method m)
{
    return (unsigned)m < 5 ? method_names[m] : "unknown";
}

int vs_rerank_method_parse(const char *s, enum vs_rerank_method *out)
{
    for (int i = 0; i < 5; i++)
        if (strcmp(s, method_names[i]) == 0) {
            *out = (enum vs_rerank_method)i;
            return VS_OK;
        }
    return VS_E_USAGE;
}

int vs_rerank_blend_parse(const char *s, enum vs_rerank_blend *out)
{
    if (strcmp(s, "minmax") == 0)
        *out = VS_RERANK_BLEND_MINMAX;
    else if (strcmp(s, "rrf") == 0)
        *out = VS_RERANK_BLEND_RRF;
    else
        return VS_E_USAGE;
    return VS_OK;
}

int vs_rerank_new(const struct vs_rerank_opts *o, struct vs_rerank **out,
                  struct vs_diag *d)
{
    *out = NULL;
    if ((unsigned)o->method > VS_RERANK_LATE_INTERACTION)
        return vs_diag_set(d, VS_E_USAGE, "unknown rerank method");
    if (!(o->lambda >= 0 && o->lambda <= 1))
        return vs_diag_set(d, VS_E_USAGE, "lambda must be in [0, 1]");
    if (o->blend >= 0 && !(o->blend <= 1))
        return vs_diag_set(d, VS_E_USAGE, "blend must be in [0, 1]");
    if (!(o->k1 >= 0) || !(o->b >= 0 && o->b <= 1))
        return vs_diag_set(d, VS_E_USAGE, "bm25: k1 must be >= 0 and b in [0, 1]");
    if ((o->method == VS_RERANK_CROSS_ENCODER || o->method == VS_RERANK_LATE_INTERACTION) &&
        !(o->model && *o->model))
        return vs_diag_set(d, VS_E_USAGE, "method %s needs a model folder",
                           vs_rerank_method_name(o->method));
    if (o->store && o->method != VS_RERANK_BM25)
        return vs_diag_set(d, VS_E_USAGE, "a store is for method bm25");
    if (o->store && o->analyzer)
        return vs_diag_set(d, VS_E_USAGE,
                           "bm25 with a store uses the store's analyzer; give no other");
    if (o->method == VS_RERANK_API && !(o->url && *o->url))
        return vs_diag_set(d, VS_E_USAGE, "method api needs a URL");
    struct vs_rerank *r = calloc(1, sizeof *r);
    if (!r)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    r->o = *o;
    int st = VS_E_NOMEM;
    r->queries = json_object();
    r->done = json_object();
    if (!r->queries || !r->done) {
        vs_diag_set(d, st, "out of memory");
        goto fail;
    }
    if (o->method == VS_RERANK_BM25 && !o->store &&
        (st = vs_analyzer_new(o->analyzer, &r->an, d)) != VS_OK)
        goto fail;
    if (o->store && (st = vs_rerank_store_open(o->store, &r->store, d)) != VS_OK)
        goto fail;
    if (o->method == VS_RERANK_API && (st = vs_http_new(&o->http, &r->http, d)) != VS_OK)
        goto fail;
    if (o->method == VS_RERANK_CROSS_ENCODER &&
        (st = vs_rerank_cross_open(o->model, &r->cross, d)) != VS_OK)
        goto fail;
    if (o->method == VS_RERANK_LATE_INTERACTION &&
        (st = vs_rerank_late_open(o->model, &r->late, d)) != VS_OK)
        goto fail;
    *out = r;
    return VS_OK;
fail:
    vs_rerank_free(r);
    return st;
}

static void group_clear(struct vs_rerank *r)
{
    for (size_t i = 0; i < r->n; i++)
        json_decref(r->hits[i].rec);
    r->n = 0;
    r->dim = 0;
    r->has_group = 0;
    r->qtext = NULL;
    json_decref(r->qtext_owner);
    r->qtext_owner = NULL;
    free(r->qvec);
    r->qvec = NULL;
    r->qdim = 0;
}

void vs_rerank_free(struct vs_rerank *r)
{
    if (!r)
        return;
    group_clear(r);
    free(r->hits);
    free(r->vecs);
    json_decref(r->queries);
    json_decref(r->done);
    vs_http_free(r->http);
    vs_rerank_cross_free(r->cross);
    vs_rerank_late_free(r->late);
    vs_rerank_store_free(r->store);
    vs_analyzer_free(r->an);
    free(r);
}

/* The qid of a record as a string key: strings as they are, integers in
 * decimal. Returns VS_OK, VS_E_FIELD. */
static int key_of(const json_t *rec, const char *field, char *buf, size_t size,
                  struct vs_diag *d)
{
    const json_t *v = json_object_get(rec, field);
    if (json_is_string(v)) {
        if (json_string_length(v) == 0 || json_string_length(v) >= size)
            goto bad;
        memcpy(buf, json_string_value(v), json_string_length(v) + 1);
        if (strlen(buf) != json_string_length(v))
            goto bad;
        return VS_OK;
    }
    if (json_is_integer(v)) {
        snprintf(buf, size, "%lld", (long long)json_integer_value(v));
        return VS_OK;
    }
bad:
    vs_diag_field(d, "%s", field);
    if (!v)
        return vs_diag_set(d, VS_E_FIELD, "is missing");
    return vs_diag_set(d, VS_E_FIELD, "must be a non-empty string or an integer (of at most "
                       "%zu bytes)", size - 1);
}

int vs_rerank_add_query(struct vs_rerank *r, const json_t *rec, struct vs_diag *d)
{
    char key[512];
    /* BEIR queries.jsonl name the query "_id" */
    const char *idname = !json_object_get(rec, "id") && json_object_get(rec, "_id") ? "_id"
                                                                                     : "id";
    int st = key_of(rec, idname, key, sizeof key, d);
    if (st != VS_OK)
        return st;
    if (json_object_get(r->queries, key)) {
        vs_diag_field(d, "%s", idname);
        return vs_diag_set(d, VS_E_DATA, "query '%s' given twice", key);
    }
    const char *text;
    if ((st = vs_record_string(rec, "text", &text, d)) != VS_OK)
        return st;
    float *vec = NULL;
    size_t dim = 0;
    if ((st = vs_record_vector(rec, &vec, &dim, d)) != VS_OK)
        return st;
    if (!text && !vec) {
        vs_diag_field(d, "text");
        return vs_diag_set(d, VS_E_FIELD, "query record needs text or a vector");
    }
    json_t *q = json_object();
    if (!q)
        goto nomem;
    if (text && json_object_set_new(q, "text", json_string(text)) != 0)
        goto nomem;
    if (vec) {
        char *enc = vs_base64_encode(vec, dim * sizeof *vec);
        if (!enc || json_object_set_new(q, "vector_b64", json_string(enc)) != 0) {
            free(enc);
            goto nomem;
        }
        free(enc);
    }
    free(vec);
    vec = NULL;
    if (json_object_set_new(r->queries, key, q) != 0)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    return VS_OK;
nomem:
    free(vec);
    json_decref(q);
    return vs_diag_set(d, VS_E_NOMEM, "out of memory");
}

static int cmp_fin(const void *a, const void *b)
{
    const struct hit *x = a, *y = b;
    if (x->fin != y->fin)
        return x->fin > y->fin ? -1 : 1;
    return (x->rrank > y->rrank) - (x->rrank < y->rrank);
}

static int cmp_morder(const void *a, const void *b)
{
    const struct hit *x = a, *y = b;
    return (x->morder > y->morder) - (x->morder < y->morder);
}

static int score_bm25(struct vs_rerank *r, const char *query,
                      const char *const *texts, size_t n, double *scores,
                      struct vs_diag *d)
{
    struct vs_bm25_builder *b = NULL;
    struct vs_bm25 *ix = NULL;
    struct vs_bm25_query *q = NULL;
    struct vs_bm25_hit *hits = NULL;
    void *buf = NULL;
    size_t len, nh = 0;
    int st;
    for (size_t i = 0; i < n; i++)
        scores[i] = 0;
    if ((st = vs_bm25_builder_new(r->o.analyzer, &b, d)) != VS_OK)
        goto done;
    for (size_t i = 0; i < n; i++)
        if ((st = vs_bm25_builder_add(b, i, texts[i], strlen(texts[i]), d)) != VS_OK)
            goto done;
    if ((st = vs_bm25_builder_finish(b, &buf, &len, d)) != VS_OK)
        goto done;
    if ((st = vs_bm25_open(buf, len, VS_BM25_OWN, &ix, d)) != VS_OK)
        goto done;
    buf = NULL;
    if ((st = vs_bm25_query_parse(r->an, query, &q, d)) != VS_OK)
        goto done;
    if (!(hits = malloc((n ? n : 1) * sizeof *hits))) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    struct vs_bm25_view view = {ix, NULL, NULL, NULL, NULL};
    struct vs_bm25_params p = {r->o.k1, r->o.b};
    if ((st = vs_bm25_search(&view, 1, q, &p, n, NULL, hits, &nh, NULL, d)) != VS_OK)
        goto done;
    for (size_t i = 0; i < nh; i++)
        if (hits[i].row < n)
            scores[hits[i].row] = hits[i].score;
done:
    free(hits);
    vs_bm25_query_free(q);
    vs_bm25_close(ix);
    free(buf);
    vs_bm25_builder_free(b);
    return st;
}

/* order[n] gets 0..n-1 sorted by scores, best first, ties in input order. */
static void order_by_score(const double *scores, size_t n, size_t *order)
{
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = 1; i < n; i++) { /* insertion sort, stable */
        size_t v = order[i], j = i;
        while (j > 0 && scores[order[j - 1]] < scores[v]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = v;
    }
}

int vs_rerank_score(struct vs_rerank *r, const char *query,
                    const char *const *texts, size_t n, const float *vecs,
                    size_t dim, const float *qvec, const double *rel,
                    double *scores, size_t *order, struct vs_diag *d)
{
    int st = VS_OK;
    if (n == 0)
        return VS_OK;
    switch (r->o.method) {
    case VS_RERANK_BM25:
        st = score_bm25(r, query ? query : "", texts, n, scores, d);
        break;
    case VS_RERANK_API:
        st = vs_rerank_api_call(r->http, r->o.url, r->o.model, r->o.api_key,
                                query ? query : "", texts, n, scores, d);
        break;
    case VS_RERANK_CROSS_ENCODER: {
        size_t nt = 0;
        st = vs_rerank_cross_score(r->cross, query ? query : "", texts, n, r->o.sigmoid,
                                   r->o.threads, scores, &nt, d);
        r->st.truncated += nt;
        break;
    }
    case VS_RERANK_LATE_INTERACTION: {
        size_t nt = 0;
        st = vs_rerank_late_score(r->late, query ? query : "", texts, n, r->o.threads,
                                  scores, &nt, d);
        r->st.truncated += nt;
        break;
    }
    case VS_RERANK_MMR: {
        size_t *ord = order, nout;
        double *val = malloc(n * sizeof *val);
        if (!ord)
            ord = malloc(n * sizeof *ord);
        if (!val || !ord) {
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        } else if ((st = vs_mmr_select(vecs, n, dim, qvec, qvec ? NULL : rel,
                                       r->o.lambda, n, ord, val, &nout, d)) == VS_OK) {
            for (size_t i = 0; i < nout; i++)
                scores[ord[i]] = val[i];
        }
        if (ord != order)
            free(ord);
        free(val);
        return st;
    }
    default:
        return vs_diag_set(d, VS_E_UNSUPPORTED, "method not built");
    }
    if (st == VS_OK && order)
        order_by_score(scores, n, order);
    return st;
}

static void minmax(const struct hit *h, size_t n, int retrieval, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double v = retrieval ? h[i].rscore : h[i].score;
        if (v < *lo)
            *lo = v;
        if (v > *hi)
            *hi = v;
    }
}

static double norm(double v, double lo, double hi)
{
    return hi > lo ? (v - lo) / (hi - lo) : 1.0;
}

static int set_num(json_t *rec, const char *key, double v)
{
    return json_object_set_new(rec, key, json_real(v));
}

/* Score, blend, sort, cut and emit the current group. */
static int flush(struct vs_rerank *r, vs_rerank_emit_fn emit, void *arg,
                 struct vs_diag *d)
{
    if (!r->has_group)
        return VS_OK;
    size_t n = r->n;
    int st = VS_OK;
    const char **texts = calloc(n ? n : 1, sizeof *texts);
    const char **ids = calloc(n ? n : 1, sizeof *ids);
    double *scores = calloc(n ? n : 1, sizeof *scores);
    double *rel = calloc(n ? n : 1, sizeof *rel);
    size_t *order = calloc(n ? n : 1, sizeof *order);
    if (!texts || !ids || !scores || !rel || !order) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        texts[i] = r->hits[i].text ? r->hits[i].text : "";
        ids[i] = r->hits[i].id;
        rel[i] = r->hits[i].rscore;
    }
    if (r->o.method == VS_RERANK_MMR && !r->qvec)
        for (size_t i = 0; i < n; i++)
            if (!r->hits[i].has_rscore) {
                st = vs_diag_set(d, VS_E_FIELD,
                                 "mmr without a query vector needs every hit's score "
                                 "(query '%s')", r->qid);
                goto done;
            }
    if (r->o.method == VS_RERANK_MMR && r->qvec && r->qdim != r->dim) {
        st = vs_diag_set(d, VS_E_DIM, "query '%s' has a %zu-dimensional vector, hits %zu",
                         r->qid, r->qdim, r->dim);
        goto done;
    }
    if (r->store) {
        struct vs_bm25_params p = {r->o.k1, r->o.b};
        st = vs_rerank_store_score(r->store, r->qtext ? r->qtext : "", ids, n, &p, scores, d);
        if (st == VS_OK)
            order_by_score(scores, n, order);
    } else
        st = vs_rerank_score(r, r->qtext, texts, n, r->vecs, r->dim, r->qvec, rel,
                             scores, order, d);
    if (st != VS_OK) {
        if (d && strstr(d->detail, r->qid) == NULL) {
            char det[sizeof d->detail];
            snprintf(det, sizeof det, "%s", d->detail);
            vs_diag_set(d, st, "query '%s': %.900s", r->qid, det);
        }
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        r->hits[order[i]].morder = i;
        r->hits[i].score = scores[i];
        r->hits[i].fin = scores[i];
    }
    if (r->o.blend >= 0) {
        double a = r->o.blend;
        if (r->o.blend_mode == VS_RERANK_BLEND_MINMAX) {
            double lo, hi, rlo, rhi;
            for (size_t i = 0; i < n; i++)
                if (!r->hits[i].has_rscore) {
                    st = vs_diag_set(d, VS_E_FIELD,
                                     "--blend-mode minmax needs every hit's score "
                                     "(query '%s')", r->qid);
                    goto done;
                }
            minmax(r->hits, n, 0, &lo, &hi);
            minmax(r->hits, n, 1, &rlo, &rhi);
            for (size_t i = 0; i < n; i++)
                r->hits[i].fin = a * norm(r->hits[i].score, lo, hi) +
                                 (1 - a) * norm(r->hits[i].rscore, rlo, rhi);
        } else {
            for (size_t i = 0; i < n; i++)
                r->hits[i].fin = a / (VS_RERANK_RRF_K + (double)r->hits[i].morder + 1) +
                                 (1 - a) / (VS_RERANK_RRF_K + (double)r->hits[i].rrank);
        }
        qsort(r->hits, n, sizeof *r->hits, cmp_fin);
    } else if (r->o.method == VS_RERANK_MMR) {
        qsort(r->hits, n, sizeof *r->hits, cmp_morder);
    } else {
        qsort(r->hits, n, sizeof *r->hits, cmp_fin);
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        struct hit *h = &r->hits[i];
        if (r->o.k && kept >= r->o.k)
            break;
        if (r->o.has_min_score && h->fin < r->o.min_score)
            continue;
        json_t *rec = h->rec;
        int bad = json_object_set_new(rec, "retrieval_rank", json_integer(h->rrank)) ||
                  (h->has_rscore ? set_num(rec, "retrieval_score", h->rscore)
                                 : json_object_set_new(rec, "retrieval_score", json_null())) ||
                  json_object_set_new(rec, "rank", json_integer((json_int_t)(kept + 1))) ||
                  set_num(rec, "score", h->fin) ||
                  (r->o.blend >= 0 && set_num(rec, "rerank_score", h->score));
        if (bad) {
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            goto done;
        }
        if ((st = emit(rec, arg)) != VS_OK)
            goto done;
        kept++;
    }
    r->st.hits_out += kept;
    r->st.groups++;
done:
    free(order);
    free(rel);
    free(scores);
    free(ids);
    free(texts);
    if (json_object_set_new(r->done, r->qid, json_true()) != 0 && st == VS_OK)
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
    group_clear(r);
    return st;
}

/* Start a group for key: find the query text and vector. */
static int start_group(struct vs_rerank *r, const char *key, const json_t *hit,
                       struct vs_diag *d)
{
    if (json_object_get(r->done, key)) {
        vs_diag_field(d, "qid");
        return vs_diag_set(d, VS_E_DATA,
                           "hits of query '%s' are not together (its group already "
                           "ended; hits must arrive grouped by qid)", key);
    }
    snprintf(r->qid, sizeof r->qid, "%s", key);
    r->has_group = 1;
    const json_t *q = json_object_get(r->queries, key);
    const json_t *carried = json_object_get(hit, "query");
    if (carried && !json_is_string(carried)) {
        vs_diag_field(d, "query");
        return vs_diag_set(d, VS_E_FIELD, "not a string");
    }
    const json_t *t = carried ? carried : json_object_get(q, "text");
    if (t) {
        if (!(r->qtext_owner = json_string(json_string_value(t))))
            return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        r->qtext = json_string_value(r->qtext_owner);
    }
    if (q && json_object_get(q, "vector_b64")) {
        size_t dim;
        int st = vs_record_vector(q, &r->qvec, &dim, d);
        if (st != VS_OK)
            return st;
        r->qdim = dim;
    }
    if (!r->qtext && r->o.method != VS_RERANK_MMR) {
        return vs_diag_set(d, VS_E_FIELD,
                           "no text for query '%s': give --queries FILE, or a "
                           "\"query\" field on its hits", key);
    }
    return VS_OK;
}

int vs_rerank_push(struct vs_rerank *r, const json_t *hit, vs_rerank_emit_fn emit,
                   void *arg, struct vs_diag *d)
{
    char key[512];
    int st = key_of(hit, "qid", key, sizeof key, d);
    if (st != VS_OK)
        return st;
    r->st.hits_in++;
    if (!json_object_get(hit, "id") && json_object_get(hit, "hits")) {
        /* a query that found nothing (vs-query --explain): pass it on */
        if (!(r->has_group && strcmp(key, r->qid) == 0) &&
            (st = flush(r, emit, arg, d)) != VS_OK)
            return st;
        r->st.passthrough++;
        return emit(hit, arg);
    }
    if (r->has_group && strcmp(key, r->qid) != 0 && (st = flush(r, emit, arg, d)) != VS_OK)
        return st;
    /* check the hit before taking it */
    const json_t *jr = json_object_get(hit, "rank");
    const json_t *js = json_object_get(hit, "score");
    if (jr && !json_is_integer(jr)) {
        vs_diag_field(d, "rank");
        return vs_diag_set(d, VS_E_FIELD, "not an integer");
    }
    if (js && !json_is_number(js)) {
        vs_diag_field(d, "score");
        return vs_diag_set(d, VS_E_FIELD, "not a number");
    }
    const char *text = NULL;
    if ((st = vs_record_string(hit, "text", &text, d)) != VS_OK)
        return st;
    const char *id = NULL;
    if (r->store && (st = vs_record_string(hit, "id", &id, d)) != VS_OK)
        return st;
    if (r->store && !id) {
        vs_diag_field(d, "id");
        return vs_diag_set(d, VS_E_FIELD, "is missing (bm25 with a store scores the stored "
                           "record of the hit's id)");
    }
    if (r->store && (st = vs_rerank_store_check(r->store, id, d)) != VS_OK)
        return st;
    if (!text && r->o.method != VS_RERANK_MMR && !r->store) {
        vs_diag_field(d, "text");
        return vs_diag_set(d, VS_E_FIELD, "is missing (method %s scores the hit's text)",
                           vs_rerank_method_name(r->o.method));
    }
    float *vec = NULL;
    size_t dim = 0;
    if (r->o.method == VS_RERANK_MMR) {
        if ((st = vs_record_vector(hit, &vec, &dim, d)) != VS_OK)
            return st;
        if (!vec) {
            vs_diag_field(d, "vector");
            return vs_diag_set(d, VS_E_FIELD,
                               "is missing (method mmr needs the hits' vectors)");
        }
        if (r->has_group && r->n && dim != r->dim) {
            free(vec);
            vs_diag_field(d, "vector");
            return vs_diag_set(d, VS_E_DIM, "%zu values where the query's earlier "
                               "hits have %zu", dim, r->dim);
        }
    }
    if (!r->has_group && (st = start_group(r, key, hit, d)) != VS_OK) {
        free(vec);
        group_clear(r);
        return st;
    }
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 64;
        struct hit *nh = realloc(r->hits, nc * sizeof *nh);
        if (!nh) {
            free(vec);
            return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        }
        r->hits = nh;
        r->cap = nc;
    }
    if (vec) {
        if ((r->n + 1) * dim > r->vcap) {
            size_t nc = (r->n + 1) * dim * 2;
            float *nv = realloc(r->vecs, nc * sizeof *nv);
            if (!nv) {
                free(vec);
                return vs_diag_set(d, VS_E_NOMEM, "out of memory");
            }
            r->vecs = nv;
            r->vcap = nc;
        }
        memcpy(r->vecs + r->n * dim, vec, dim * sizeof *vec);
        r->dim = dim;
        free(vec);
    }
    struct hit *h = &r->hits[r->n];
    memset(h, 0, sizeof *h);
    h->rec = json_deep_copy(hit);
    if (!h->rec)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    h->text = NULL;
    if (text)
        h->text = json_string_value(json_object_get(h->rec, "text"));
    h->id = id ? json_string_value(json_object_get(h->rec, "id")) : NULL;
    h->rrank = jr ? (long)json_integer_value(jr) : (long)r->n + 1;
    h->has_rscore = js != NULL;
    h->rscore = js ? json_number_value(js) : 0;
    r->n++;
    return VS_OK;
}

int vs_rerank_finish(struct vs_rerank *r, vs_rerank_emit_fn emit, void *arg,
                     struct vs_diag *d)
{
    return flush(r, emit, arg, d);
}

void vs_rerank_stats(const struct vs_rerank *r, struct vs_rerank_stats *st)
{
    *st = r->st;
    if (r->http)
        vs_http_counts(r->http, &st->requests, &st->retries);
}
