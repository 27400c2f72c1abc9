/* api_search.c: vs_db_search, vs_db_search_batch and the results object
 * (vecstore.h). A batch of vector queries (vector mode, or auto mode
 * without text; no MMR) goes straight into the vector engine
 * (vs_query_add_vector, vs_query_run_hits: floats in, hits out, no JSON).
 * Any other search builds the query records vs-query reads and runs them
 * through the query module (vs_query_text.h: vector, text, hybrid, MMR).
 * Both run on the generation the handle holds and give the same hits,
 * kept as plain struct vs_hit values owned by the results object. */
#include "api_internal.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vs_jsonfmt.h"
#include "vs_jsonscan.h"
#include "vs_ndjson.h"
#include "vs_query.h"
#include "vs_query_text.h"
#include "vs_strpool.h"

struct api_query {
    const char *qid; /* in the results' strs */
    struct vs_hit *hits; /* in the results' block of hits when own is 0 */
    size_t n, cap;
    int own;
};

struct vs_results {
    struct api_query *q;
    size_t nq;
    struct vs_hit *block; /* the queries' first hits (own 0), or NULL */
    struct vs_strpool strs; /* the qids, and a direct search's ids */
    int pooled_ids; /* the hits' ids are in strs (a direct search) */
};

void vs_search_opts_init(struct vs_search_opts *o, size_t size)
{
    if (!o)
        return;
    /* the fusion of vs-query and vs-serve (vs_fuse_opts_init): weighted */
    struct vs_search_opts def = {size, VS_SEARCH_AUTO, 10, NULL, 0, 0,
                                 VS_FUSION_WEIGHTED, VS_FUSE_RRF_K_DEFAULT,
                                 VS_FUSE_ALPHA_DEFAULT, 0, -1.0, 0, 1, 1, 1, 0};
    memcpy(o, &def, size < sizeof def ? size : sizeof def);
}

/* the strings of a hit are the results object's, const only to callers */
static void free_const(const char *s) { free((void *)(uintptr_t)s); }

void vs_api_hit_clear(const vs_results *r, struct vs_hit *h)
{
    if (!r->pooled_ids)
        free_const(h->id);
    free_const(h->text);
    free_const(h->metadata_json);
    free_const(h->doc_id);
}

void vs_results_free(vs_results *r)
{
    if (!r)
        return;
    for (size_t q = 0; q < r->nq; q++) {
        for (size_t i = 0; i < r->q[q].n; i++)
            vs_api_hit_clear(r, &r->q[q].hits[i]);
        if (r->q[q].own)
            free(r->q[q].hits);
    }
    vs_strpool_free(&r->strs);
    free(r->block);
    free(r->q);
    free(r);
}

size_t vs_results_queries(const vs_results *r) { return r ? r->nq : 0; }

size_t vs_results_count(const vs_results *r, size_t q)
{
    return r && q < r->nq ? r->q[q].n : 0;
}

const struct vs_hit *vs_results_hit(const vs_results *r, size_t q, size_t i)
{
    return r && q < r->nq && i < r->q[q].n ? &r->q[q].hits[i] : NULL;
}

const char *vs_results_qid(const vs_results *r, size_t q)
{
    return r && q < r->nq ? r->q[q].qid : NULL;
}

/* for api_models.c (reranking rewrites the hits in place) */
struct vs_hit *vs_api_results_hits(vs_results *r, size_t q, size_t **n)
{
    *n = &r->q[q].n;
    return r->q[q].hits;
}

int vs_results_write_trec(const vs_results *r, const char *path,
                          const char *tag, struct vs_error *err)
{
    if (!r || !path)
        return vs_api_usage(err, NULL, "vs_results_write_trec needs results and a path");
    struct vs_diag d;
    vs_diag_clear(&d);
    vs_diag_where(&d, path, 0);
    FILE *fp = fopen(path, "w");
    if (!fp)
        return vs_api_fail(err, vs_diag_set(&d, vs_status_from_errno(errno),
                                            "cannot write: %s", strerror(errno)), &d);
    for (size_t q = 0; q < r->nq; q++)
        for (size_t i = 0; i < r->q[q].n; i++) {
            const struct vs_hit *h = &r->q[q].hits[i];
            fprintf(fp, "%s Q0 %s %zu %.9g %s\n", h->qid, h->id, h->rank, h->score,
                    tag && *tag ? tag : "vecstore");
        }
    int bad = ferror(fp);
    int e = errno;
    if (fclose(fp) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad)
        return vs_api_fail(err, vs_diag_set(&d, vs_status_from_errno(e),
                                            "cannot write: %s", strerror(e)), &d);
    return VS_OK;
}

/* ---- running a search ---- */

struct emit_ctx {
    vs_results *r;
    int with_doc_id;
};


/* A new zeroed hit at the end of aq's list (its qid set; the caller fills
 * the rest and counts it), or NULL when out of memory. */
static struct vs_hit *api_query_push(struct api_query *aq)
{
    if (aq->n == aq->cap) {
        size_t cap = aq->cap ? aq->cap * 2 : 16;
        /* a query's hits in the block move out when they outgrow it */
        struct vs_hit *n = aq->own ? realloc(aq->hits, cap * sizeof *n)
                                   : malloc(cap * sizeof *n);
        if (!n)
            return NULL;
        if (!aq->own && aq->n)
            memcpy(n, aq->hits, aq->n * sizeof *n);
        aq->own = 1;
        aq->hits = n;
        aq->cap = cap;
    }
    struct vs_hit *h = &aq->hits[aq->n];
    memset(h, 0, sizeof *h);
    h->qid = aq->qid;
    return h;
}
static int emit_hit(const json_t *hit, void *arg)
{
    struct emit_ctx *c = arg;
    const char *qs = json_string_value(json_object_get(hit, "qid"));
    const char *id = json_string_value(json_object_get(hit, "id"));
    if (!qs || !id) /* an explain-only record: nothing to keep */
        return VS_OK;
    size_t q = strtoul(qs, NULL, 10);
    if (q >= c->r->nq)
        return VS_E_INTERNAL;
    struct api_query *aq = &c->r->q[q];
    struct vs_hit *h = api_query_push(aq);
    if (!h)
        return VS_E_NOMEM;
    h->id = strdup(id);
    h->rank = (size_t)json_integer_value(json_object_get(hit, "rank"));
    h->score = json_number_value(json_object_get(hit, "score"));
    json_t *x;
    if ((x = json_object_get(hit, "distance")) && json_is_number(x)) {
        h->distance = json_number_value(x);
        h->has_distance = 1;
    }
    if ((x = json_object_get(hit, "score_vector")) && json_is_number(x)) {
        h->score_vector = json_number_value(x);
        h->has_score_vector = 1;
    }
    if ((x = json_object_get(hit, "score_text")) && json_is_number(x)) {
        h->score_text = json_number_value(x);
        h->has_score_text = 1;
    }
    /* a vector-mode hit has only the vector side's score */
    if (!json_object_get(hit, "mode")) {
        h->score_vector = h->score;
        h->has_score_vector = 1;
    }
    int oom = !h->id;
    if ((x = json_object_get(hit, "text")) && json_is_string(x))
        oom |= !(h->text = strdup(json_string_value(x)));
    if ((x = json_object_get(hit, "metadata")) && x)
        oom |= !(h->metadata_json = json_dumps(x, JSON_COMPACT | JSON_ENCODE_ANY));
    aq->n++; /* counted even when a copy failed, so it is freed */
    return oom ? VS_E_NOMEM : VS_OK;
}

/* ---- the direct path: vector queries into the engine, no JSON ---- */

/* The double a hit record's score reads as: the float's shortest decimal
 * (vs_json_float), so both paths give the same scores. */
static double score_double(float f)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    char dig[12], buf[48];
    int nd, e, p;
    if (vs_float_digits(f, dig, &nd, &e, &p)) {
        /* the decimal is M * 10^x with M < 10^9: exact as a double, as is
         * 10^|x| up to 22, so one multiplication or division rounds it
         * once, as strtod does (Clinger's fast path) */
        double m = 0;
        for (int i = 0; i < nd; i++)
            m = m * 10 + (dig[i] - '0');
        int x = e - nd + 1;
        if (x >= 0 && x <= 22)
            return copysign(m * p10[x], f);
        if (x < 0 && x >= -22)
            return copysign(m / p10[-x], f);
    }
    vs_float_format(buf, sizeof buf, f);
    return strtod(buf, NULL);
}

struct direct_ctx {
    vs_results *r;
    size_t base; /* the batch's first query */
    const struct vs_search_opts *o;
};

static int direct_hit(size_t i, size_t rank, const struct vs_query_hit *qh, void *arg)
{
    struct direct_ctx *c = arg;
    struct api_query *aq = &c->r->q[c->base + i];
    struct vs_hit *h = api_query_push(aq);
    if (!h)
        return VS_E_NOMEM;
    h->id = vs_strpool_dup(&c->r->strs, qh->id, strlen(qh->id));
    h->rank = rank;
    /* ids_only: the engine's float32 values as they are (what array
     * results keep); else their shortest decimals, as hit records give */
    h->score = c->o->ids_only ? (double)qh->score : score_double(qh->score);
    h->score_vector = h->score;
    h->has_score_vector = 1;
    if (qh->has_distance) {
        /* an l2 hit's distance is -score: its decimal is the score's */
        h->distance = c->o->ids_only               ? (double)qh->distance
                      : qh->distance == -qh->score && qh->score != 0 ? -h->score
                                                     : score_double(qh->distance);
        h->has_distance = 1;
    }
    int oom = !h->id;
    const struct vs_json_span *sp = qh->member; /* doc_id, text, metadata */
    const json_t *doc = qh->doc;
    if (qh->raw && !sp[1].esc && !sp[2].real && !sp[0].esc) {
        /* the stored text in jansson's form (vs_jsonscan.h): its members'
         * bytes are what parsing and dumping them would give (a string
         * without escapes: its UTF-8 bytes; metadata without reals: the
         * same with JSON_COMPACT alone) */
        if (c->o->with_text && sp[1].p && sp[1].p[0] == '"')
            oom |= !(h->text = strndup(sp[1].p + 1, sp[1].n - 2));
        if (c->o->with_metadata && sp[2].p)
            oom |= !(h->metadata_json = strndup(sp[2].p, sp[2].n));
        if (c->o->with_doc_id && sp[0].p && sp[0].p[0] == '"')
            oom |= !(h->doc_id = strndup(sp[0].p + 1, sp[0].n - 2));
        aq->n++;
        return oom ? VS_E_NOMEM : VS_OK;
    }
    json_t *parsed = NULL;
    if (qh->raw) { /* escapes or reals: parsed (it parses: it was scanned) */
        json_error_t je;
        if (!(parsed = json_loadb(qh->raw, qh->raw_len, 0, &je))) {
            aq->n++;
            return VS_E_NOMEM;
        }
        doc = parsed;
    }
    if (doc) {
        json_t *x;
        if (c->o->with_text && (x = json_object_get(doc, "text")) && json_is_string(x))
            oom |= !(h->text = strdup(json_string_value(x)));
        if (c->o->with_metadata && (x = json_object_get(doc, "metadata")))
            oom |= !(h->metadata_json = json_dumps(x, JSON_COMPACT | JSON_ENCODE_ANY));
        if (c->o->with_doc_id && (x = json_object_get(doc, "doc_id")) &&
            json_is_string(x))
            oom |= !(h->doc_id = strdup(json_string_value(x)));
    }
    json_decref(parsed);
    aq->n++; /* counted even when a copy failed, so it is freed */
    return oom ? VS_E_NOMEM : VS_OK;
}

/* 1 when every query of the batch is a plain vector query the engine
 * takes as floats: the direct path. */
static int direct_ok(const struct vs_search_query *qs, size_t n,
                     const struct vs_search_opts *o)
{
    if (o->mmr >= 0 || (o->mode != VS_SEARCH_VECTOR && o->mode != VS_SEARCH_AUTO))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!qs[i].vector || (o->mode == VS_SEARCH_AUTO && qs[i].text))
            return 0;
    return 1;
}

static int check_finite(const struct vs_search_query *q, struct vs_diag *d)
{
    /* every value first, without a branch per value: a magnitude's bits
     * plus 2^23 reach the sign bit exactly when its exponent is all ones
     * (Inf or NaN) */
    uint32_t all = 0;
    size_t i = 0;
#ifndef __EMSCRIPTEN__
    /* 8 lanes (GCC makes it vector code, ~1 instruction a value where the
     * one-lane loop below takes ~6); WebAssembly keeps the smaller loop */
    uint32_t m[8] = {0};
    for (; i + 8 <= q->dim; i += 8) {
        uint32_t u[8];
        memcpy(u, &q->vector[i], sizeof u);
        for (int l = 0; l < 8; l++)
            m[l] |= (u[l] & 0x7fffffffu) + 0x00800000u;
    }
    for (int l = 0; l < 8; l++)
        all |= m[l];
#endif
    for (; i < q->dim; i++) {
        uint32_t u;
        memcpy(&u, &q->vector[i], sizeof u);
        all |= (u & 0x7fffffffu) + 0x00800000u;
    }
    all &= 0x80000000u;
    if (!all)
        return VS_OK;
    for (size_t j = 0; j < q->dim; j++)
        if (!isfinite(q->vector[j])) {
            vs_diag_field(d, "vector");
            return vs_diag_set(d, VS_E_NONFINITE, "vector[%zu] is not a finite number", j);
        }
    return VS_OK;
}

/* Search qs[0..n) on the vector side of t (its batch empty), the hits into
 * r; a bad query's 1-based position goes to d->line. */
static int run_direct(struct vs_qtext *t, const struct vs_search_query *qs, size_t n,
                      const struct vs_search_opts *o, vs_results *r, struct vs_diag *d)
{
    struct vs_query *vq = vs_qtext_vector(t);
    int with_doc = o->with_text || o->with_metadata || o->with_doc_id ? VS_QUERY_DOC_TEXT
                                                                        : VS_QUERY_DOC_NONE;
    struct direct_ctx ctx = {r, 0, o};
    int rc = VS_OK;
    for (size_t i = 0; rc == VS_OK && i < n; i++) {
        if ((rc = check_finite(&qs[i], d)) != VS_OK ||
            (rc = vs_query_add_vector(vq, qs[i].vector, qs[i].dim, qs[i].k, qs[i].filter,
                                      d)) != VS_OK) {
            d->line = (long)i + 1;
            break;
        }
        if (vs_query_full(vq) || i + 1 == n) {
            rc = vs_query_run_hits(vq, with_doc, direct_hit, &ctx, d);
            ctx.base = i + 1;
        }
    }
    /* after a failure queries may be pending: the caller drops t */
    return rc;
}

static int check_opts(const struct vs_search_opts *o, struct vs_error *err)
{
    if (o->mode < VS_SEARCH_AUTO || o->mode > VS_SEARCH_HYBRID)
        return vs_api_usage(err, "mode", "mode must be one of VS_SEARCH_*");
    if (o->k < 1 || o->k > VS_QUERY_K_MAX)
        return vs_api_usage(err, "k", "k must be 1..100000");
    if (o->fusion < VS_FUSION_RRF || o->fusion > VS_FUSION_DBSF)
        return vs_api_usage(err, "fusion", "fusion must be one of VS_FUSION_*");
    if (!(o->rrf_k > 0) || !isfinite(o->rrf_k))
        return vs_api_usage(err, "rrf_k", "rrf_k must be a positive number");
    if (!(o->alpha >= 0 && o->alpha <= 1))
        return vs_api_usage(err, "alpha", "alpha must be in [0, 1]");
    if (!(o->mmr <= 1) || isnan(o->mmr))
        return vs_api_usage(err, "mmr", "mmr must be in [0, 1], or < 0 for none");
    if (o->threads < 0)
        return vs_api_usage(err, "threads", "threads must be >= 0");
    return VS_OK;
}

static json_t *query_record(size_t i, const struct vs_search_query *q,
                            struct vs_diag *d, int *st)
{
    json_t *r = json_object();
    char idx[32];
    snprintf(idx, sizeof idx, "%zu", i);
    *st = VS_E_NOMEM;
    if (!r || json_object_set_new(r, "id", json_string(idx)) != 0)
        goto fail;
    if (q->vector) {
        json_t *v = json_array();
        if (!v || json_object_set_new(r, "vector", v) != 0)
            goto fail;
        for (size_t j = 0; j < q->dim; j++) {
            if (!isfinite(q->vector[j])) {
                vs_diag_field(d, "vector");
                *st = vs_diag_set(d, VS_E_NONFINITE, "vector[%zu] is not a finite number", j);
                goto fail;
            }
            if (json_array_append_new(v, json_real(q->vector[j])) != 0)
                goto fail;
        }
    }
    if (q->text && json_object_set_new(r, "text", json_string(q->text)) != 0) {
        vs_diag_field(d, "text");
        *st = vs_diag_set(d, VS_E_DATA, "text is not valid UTF-8");
        goto fail;
    }
    if (q->filter && json_object_set_new(r, "filter", json_string(q->filter)) != 0) {
        vs_diag_field(d, "filter");
        *st = vs_diag_set(d, VS_E_DATA, "filter is not valid UTF-8");
        goto fail;
    }
    if (q->k && json_object_set_new(r, "k", json_integer((json_int_t)q->k)) != 0)
        goto fail;
    *st = VS_OK;
    return r;
fail:
    if (*st == VS_E_NOMEM)
        vs_diag_set(d, VS_E_NOMEM, "out of memory");
    json_decref(r);
    return NULL;
}

static int add_doc_ids(struct vs_store *s, vs_results *r, struct vs_diag *d)
{
    for (size_t q = 0; q < r->nq; q++)
        for (size_t i = 0; i < r->q[q].n; i++) {
            json_t *rec;
            int st = vs_store_get_doc(s, r->q[q].hits[i].id, &rec, d);
            if (st == VS_E_NOTFOUND)
                continue;
            if (st != VS_OK)
                return st;
            const char *doc = json_string_value(json_object_get(rec, "doc_id"));
            if (doc && !(r->q[q].hits[i].doc_id = strdup(doc)))
                st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            json_decref(rec);
            if (st != VS_OK)
                return st;
        }
    return VS_OK;
}

/* The decimal of v (v < 10^20) at the end of buf[0..24), NUL-terminated:
 * its first digit (no printf per query). */
static char *decimal(char buf[24], size_t v)
{
    char *p = buf + 23;
    *p = '\0';
    do
        *--p = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    return p;
}

/* r's qids (a query's own, else its 1-based position) into its strs, and
 * for a direct search the hits of every query in one block (up to
 * API_BLOCK_K each: a query's k may be far more than it finds): no
 * allocation per query or per hit. VS_E_NOMEM when out of memory. */
enum { API_BLOCK_K = 64 };
static int results_setup(vs_results *r, const struct vs_search_query *qs,
                         const struct vs_search_opts *o, int direct)
{
    for (size_t i = 0; i < r->nq; i++) {
        char buf[24];
        const char *qid = qs[i].qid ? qs[i].qid : decimal(buf, i + 1);
        if (!(r->q[i].qid = vs_strpool_dup(&r->strs, qid, strlen(qid))))
            return VS_E_NOMEM;
    }
    r->pooled_ids = direct;
    if (!direct || r->nq == 0)
        return VS_OK;
    size_t total = 0;
    for (size_t i = 0; i < r->nq; i++) {
        size_t k = qs[i].k ? qs[i].k : o->k;
        r->q[i].cap = k < API_BLOCK_K ? k : API_BLOCK_K;
        total += r->q[i].cap;
    }
    if (!(r->block = malloc((total ? total : 1) * sizeof *r->block)))
        return VS_E_NOMEM;
    for (size_t i = 0, off = 0; i < r->nq; i++) {
        r->q[i].hits = r->block + off;
        off += r->q[i].cap;
    }
    return VS_OK;
}

/* ---- prepared searches, reused while the options are the same ---- */


void vs_api_prepared_clear(vs_db *db)
{
    for (size_t i = 0; i < db->nprep; i++) {
        vs_qtext_free(db->prep[i].t);
        free(db->prep[i].key);
    }
    free(db->prep);
    db->prep = NULL;
    db->nprep = 0;
}

/* The options that shape a prepared search, as text: the bytes of their
 * values in hex, then the filter (no printf: this runs on every call). */
static char *options_key(const struct vs_search_opts *o)
{
    struct {
        size_t k, ef, depth;
        double rrf_k, alpha, mmr;
        int threads, exact, mode, fusion, with_text, with_metadata, filter;
    } v;
    memset(&v, 0, sizeof v); /* the padding too */
    v.k = o->k;
    v.ef = o->ef;
    v.mmr = o->mmr;
    if (o->mode != VS_SEARCH_VECTOR || o->mmr >= 0) {
        /* only fusion and MMR read these: a vector search without MMR
         * shares its prepared search whatever they are (Python's search()
         * and search_arrays() pass different fusion defaults) */
        v.depth = o->depth;
        v.rrf_k = o->rrf_k;
        v.alpha = o->alpha;
        v.fusion = o->fusion;
    }
    v.threads = o->threads;
    v.exact = o->exact;
    v.mode = o->mode;
    v.with_text = o->with_text;
    v.with_metadata = o->with_metadata;
    v.filter = o->filter != NULL;
    size_t flen = o->filter ? strlen(o->filter) : 0;
    char *key = malloc(2 * sizeof v + flen + 1);
    if (!key)
        return NULL;
    static const char hex[] = "0123456789abcdef";
    const unsigned char *b = (const unsigned char *)&v;
    for (size_t i = 0; i < sizeof v; i++) {
        key[2 * i] = hex[b[i] >> 4];
        key[2 * i + 1] = hex[b[i] & 15];
    }
    memcpy(key + 2 * sizeof v, o->filter ? o->filter : "", flen + 1);
    return key;
}

/* An idle prepared search made with key, marked busy; NULL when none. */
static struct vs_qtext *prepared_take(vs_db *db, const char *key)
{
    struct vs_qtext *t = NULL;
    pthread_mutex_lock(&db->qmu);
    for (size_t i = 0; i < db->nprep && !t; i++)
        if (!db->prep[i].busy && strcmp(db->prep[i].key, key) == 0) {
            db->prep[i].busy = 1;
            db->prep[i].used = ++db->prep_tick;
            t = db->prep[i].t;
        }
    pthread_mutex_unlock(&db->qmu);
    return t;
}

/* Give t back after a search that succeeded (its batch is empty), keeping
 * it for the next search with the same options: when VS_API_PREPARED_MAX are
 * kept, it takes the place of the idle one used longest ago (a caller
 * going through more option sets than that, say k or ef per call, would
 * otherwise set up a search, ~7 ms at 100k rows, on every call); t is
 * freed when it cannot be kept. key is the caller's (copied when kept). */
static void prepared_give(vs_db *db, struct vs_qtext *t, const char *key)
{
    pthread_mutex_lock(&db->qmu);
    for (size_t i = 0; i < db->nprep; i++)
        if (db->prep[i].t == t) {
            db->prep[i].busy = 0;
            pthread_mutex_unlock(&db->qmu);
            return;
        }
    size_t old = db->nprep;
    for (size_t i = 0; db->nprep == VS_API_PREPARED_MAX && i < db->nprep; i++)
        if (!db->prep[i].busy && (old == db->nprep || db->prep[i].used < db->prep[old].used))
            old = i;
    if (old < db->nprep) {
        char *k = strdup(key);
        if (k) {
            struct vs_qtext *gone = db->prep[old].t;
            free(db->prep[old].key);
            db->prep[old] = (struct vs_api_prepared){k, t, 0, ++db->prep_tick};
            pthread_mutex_unlock(&db->qmu);
            vs_qtext_free(gone);
            return;
        }
    }
    if (db->nprep < VS_API_PREPARED_MAX) {
        struct vs_api_prepared *n = realloc(db->prep, (db->nprep + 1) * sizeof *n);
        char *k = strdup(key);
        if (n)
            db->prep = n;
        if (n && k) {
            db->prep[db->nprep++] = (struct vs_api_prepared){k, t, 0, ++db->prep_tick};
            pthread_mutex_unlock(&db->qmu);
            return;
        }
        free(k);
    }
    pthread_mutex_unlock(&db->qmu);
    vs_qtext_free(t);
}

/* After a failed search: t may hold queries; drop it. */
static void prepared_drop(vs_db *db, struct vs_qtext *t)
{
    pthread_mutex_lock(&db->qmu);
    for (size_t i = 0; i < db->nprep; i++)
        if (db->prep[i].t == t) {
            free(db->prep[i].key);
            db->prep[i] = db->prep[--db->nprep];
            break;
        }
    pthread_mutex_unlock(&db->qmu);
    vs_qtext_free(t);
}

int vs_db_search_batch(vs_db *db, const struct vs_search_query *qs, size_t n,
                       const struct vs_search_opts *opts, vs_results **out,
                       struct vs_error *err)
{
    if (out)
        *out = NULL;
    int rc = vs_api_db_check(db, err);
    if (rc != VS_OK)
        return rc;
    if (!out || (!qs && n))
        return vs_api_usage(err, NULL, "vs_db_search needs queries and an out pointer");
    struct vs_search_opts o;
    vs_search_opts_init(&o, sizeof o);
    if ((rc = vs_api_take_opts(&o, sizeof o, opts, err, "vs_search_opts")) != VS_OK ||
        (rc = check_opts(&o, err)) != VS_OK)
        return rc;
    if (o.ids_only)
        o.with_text = o.with_metadata = o.with_doc_id = 0;
    struct vs_diag d;
    vs_diag_clear(&d);
    vs_results *r = calloc(1, sizeof *r);
    if (r && n && !(r->q = calloc(n, sizeof *r->q))) {
        free(r);
        r = NULL;
    }
    if (!r)
        return vs_api_fail(err, vs_diag_set(&d, VS_E_NOMEM, "out of memory"), &d);
    r->nq = n;
    r->strs.chunk = (size_t)64 << 10;
    int direct = direct_ok(qs, n, &o);
    if (results_setup(r, qs, &o, direct) != VS_OK) {
        vs_results_free(r);
        return vs_api_fail(err, vs_diag_set(&d, VS_E_NOMEM, "out of memory"), &d);
    }
    struct vs_query_opts qo = {o.k, 256, o.threads, -1, o.filter, !o.with_text,
                               !o.with_metadata, 0, o.ef, o.exact};
    struct vs_qtext_opts to;
    vs_qtext_opts_init(&to);
    static const enum vs_qmode modes[] = {VS_QMODE_AUTO, VS_QMODE_VECTOR,
                                          VS_QMODE_TEXT, VS_QMODE_HYBRID};
    static const enum vs_fuse_method fusions[] = {VS_FUSE_RRF, VS_FUSE_WEIGHTED,
                                                  VS_FUSE_DBSF};
    to.mode = modes[o.mode];
    to.fuse.method = fusions[o.fusion];
    to.fuse.rrf_k = o.rrf_k;
    to.fuse.alpha = o.alpha;
    to.mmr = o.mmr;
    to.depth = o.depth;
    struct emit_ctx ctx = {r, o.with_doc_id};
    char *key = options_key(&o);
    if (!key) {
        vs_results_free(r);
        return vs_api_fail(err, vs_diag_set(&d, VS_E_NOMEM, "out of memory"), &d);
    }
    pthread_rwlock_rdlock(&db->rw);
    struct vs_qtext *t = prepared_take(db, key);
    if (!t) {
        rc = vs_qtext_new(db->store, &qo, &to, &t, &d);
        if (rc == VS_E_FILTER)
            vs_diag_field(&d, "filter");
    }
    if (rc == VS_OK && direct)
        rc = run_direct(t, qs, n, &o, r, &d);
    for (size_t i = 0; rc == VS_OK && !direct && i < n; i++) {
        json_t *rec = query_record(i, &qs[i], &d, &rc);
        if (rc == VS_OK)
            rc = vs_qtext_add(t, rec, &d);
        json_decref(rec);
        if (rc != VS_OK) {
            d.line = (long)i + 1;
            break;
        }
        if (vs_qtext_full(t))
            rc = vs_qtext_run(t, emit_hit, &ctx, NULL, NULL, &d);
    }
    if (rc == VS_OK && t && vs_qtext_pending(t))
        rc = vs_qtext_run(t, emit_hit, &ctx, NULL, NULL, &d);
    if (rc == VS_OK && ctx.with_doc_id && !direct)
        rc = add_doc_ids(db->store, r, &d);
    if (t && rc == VS_OK)
        prepared_give(db, t, key);
    else if (t)
        prepared_drop(db, t);
    pthread_rwlock_unlock(&db->rw);
    free(key);
    if (rc != VS_OK) {
        vs_results_free(r);
        return vs_api_fail(err, rc, &d);
    }
    *out = r;
    return VS_OK;
}

int vs_db_search(vs_db *db, const struct vs_search_query *q,
                 const struct vs_search_opts *opts, vs_results **out,
                 struct vs_error *err)
{
    if (!q) {
        if (out)
            *out = NULL;
        return vs_api_usage(err, NULL, "the query is NULL");
    }
    return vs_db_search_batch(db, q, 1, opts, out, err);
}
