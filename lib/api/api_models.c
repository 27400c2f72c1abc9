/* api_models.c: embedding (vs_encoder_*), reranking (vs_reranker_*) and
 * evaluation (vs_report_*) of the public API (vecstore.h), over the embed/,
 * rerank/ and eval/ modules. Encoders and rerankers carry a mutex: the
 * modules under them allow one caller at a time. */
#include "api_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vs_bert.h" /* vs_embedder_set_role */
#include "vs_embed.h"
#include "vs_eval.h"
#include "vs_rerank.h"

/* ---- encoders ---- */

struct vs_encoder {
    struct vs_embedder *e;
    pthread_mutex_t mu;
};

void vs_encoder_opts_init(struct vs_encoder_opts *o, size_t size)
{
    if (!o)
        return;
    struct vs_encoder_opts def = {size, VS_ROLE_DOCUMENT, NULL, NULL, 1, NULL, 0, -1};
    memcpy(o, &def, size < sizeof def ? size : sizeof def);
}

int vs_encoder_open(const char *model, size_t dim,
                    const struct vs_encoder_opts *opts, vs_encoder **out,
                    struct vs_error *err)
{
    if (out)
        *out = NULL;
    if (!model || !*model || !out)
        return vs_api_usage(err, model && *model ? NULL : "model",
                            "vs_encoder_open needs a model name and an out pointer");
    struct vs_encoder_opts o;
    vs_encoder_opts_init(&o, sizeof o);
    int rc = vs_api_take_opts(&o, sizeof o, opts, err, "vs_encoder_opts");
    if (rc != VS_OK)
        return rc;
    if (o.role != VS_ROLE_DOCUMENT && o.role != VS_ROLE_QUERY)
        return vs_api_usage(err, "role", "role must be VS_ROLE_DOCUMENT or VS_ROLE_QUERY");
    if (o.timeout_ms < 0)
        return vs_api_usage(err, "timeout_ms", "timeout_ms must be >= 0");
    struct vs_embed_opts eo;
    vs_embed_opts_init(&eo);
    eo.base_url = o.base_url ? o.base_url : getenv("VS_EMBED_BASE_URL");
    eo.api_key_env = o.api_key_env;
    eo.no_cache = !o.use_cache;
    eo.cache_dir = o.cache_dir;
    eo.input_type = o.role;
    if (o.timeout_ms)
        eo.timeout_ms = o.timeout_ms;
    if (o.max_retries >= 0)
        eo.max_retries = o.max_retries;
    struct vs_diag d;
    vs_diag_clear(&d);
    vs_encoder *enc = calloc(1, sizeof *enc);
    if (!enc)
        return vs_api_fail(err, vs_diag_set(&d, VS_E_NOMEM, "out of memory"), &d);
    if ((rc = vs_embedder_new_opts(model, dim, &eo, &enc->e, &d)) != VS_OK) {
        free(enc);
        vs_diag_field(&d, "model");
        return vs_api_fail(err, rc, &d);
    }
    vs_embedder_set_role(enc->e, o.role);
    pthread_mutex_init(&enc->mu, NULL);
    *out = enc;
    return VS_OK;
}

void vs_encoder_free(vs_encoder *e)
{
    if (!e)
        return;
    vs_embedder_free(e->e);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

size_t vs_encoder_dim(const vs_encoder *e) { return e ? vs_embedder_dim(e->e) : 0; }

const char *vs_encoder_identity(const vs_encoder *e)
{
    return e ? vs_embedder_identity(e->e) : NULL;
}

int vs_encoder_embed(vs_encoder *e, int role, const char *const *texts,
                     size_t n, float *out, int *statuses, struct vs_error *err)
{
    if (!e || (n && (!texts || !out)))
        return vs_api_usage(err, NULL, "vs_encoder_embed needs an encoder, texts and out");
    if (role != VS_ROLE_DOCUMENT && role != VS_ROLE_QUERY)
        return vs_api_usage(err, "role", "role must be VS_ROLE_DOCUMENT or VS_ROLE_QUERY");
    for (size_t i = 0; i < n; i++)
        if (!texts[i]) {
            struct vs_diag d;
            vs_diag_clear(&d);
            d.line = (long)i + 1;
            vs_diag_field(&d, "texts");
            vs_diag_set(&d, VS_E_USAGE, "texts[%zu] is NULL", i);
            return vs_api_fail(err, VS_E_USAGE, &d);
        }
    if (!n)
        return VS_OK;
    size_t *lens = malloc(n * sizeof *lens);
    int *st = statuses ? statuses : malloc(n * sizeof *st);
    struct vs_diag d;
    vs_diag_clear(&d);
    if (!lens || !st) {
        free(lens);
        if (st != statuses)
            free(st);
        return vs_api_fail(err, vs_diag_set(&d, VS_E_NOMEM, "out of memory"), &d);
    }
    for (size_t i = 0; i < n; i++)
        lens[i] = strlen(texts[i]);
    pthread_mutex_lock(&e->mu);
    vs_embedder_set_role(e->e, role);
    int rc = vs_embedder_embed(e->e, n, texts, lens, out, st, &d);
    pthread_mutex_unlock(&e->mu);
    if (rc != VS_OK && rc != VS_E_NOMEM)
        for (size_t i = 0; i < n; i++)
            if (st[i] != VS_OK) {
                d.line = (long)i + 1;
                break;
            }
    free(lens);
    if (st != statuses)
        free(st);
    return rc == VS_OK ? VS_OK : vs_api_fail(err, rc, &d);
}

/* The WebAssembly build (wasm/wasm.mk) has encoders only: rerank/ and
 * eval/ are not compiled into it. */
#ifndef VS_WASM_NO_MODELS

/* ---- rerankers ---- */

struct vs_reranker {
    struct vs_rerank *r;
    pthread_mutex_t mu;
};

void vs_reranker_opts_init(struct vs_reranker_opts *o, size_t size)
{
    if (!o)
        return;
    struct vs_reranker_opts def = {size, "bm25", NULL, NULL, NULL, NULL, 0, 0};
    memcpy(o, &def, size < sizeof def ? size : sizeof def);
}

int vs_reranker_open(const struct vs_reranker_opts *opts, vs_reranker **out,
                     struct vs_error *err)
{
    if (out)
        *out = NULL;
    if (!out)
        return vs_api_usage(err, NULL, "vs_reranker_open needs an out pointer");
    struct vs_reranker_opts o;
    vs_reranker_opts_init(&o, sizeof o);
    int rc = vs_api_take_opts(&o, sizeof o, opts, err, "vs_reranker_opts");
    if (rc != VS_OK)
        return rc;
    struct vs_rerank_opts ro;
    vs_rerank_opts_init(&ro);
    if (!o.method || vs_rerank_method_parse(o.method, &ro.method) != VS_OK ||
        ro.method == VS_RERANK_MMR)
        return vs_api_usage(err, "method",
                            "method must be bm25, cross-encoder, late-interaction or api");
    if (o.threads < 0)
        return vs_api_usage(err, "threads", "threads must be >= 0");
    ro.model = o.model;
    ro.url = o.url;
    ro.api_key = o.api_key;
    ro.analyzer = o.analyzer;
    ro.sigmoid = o.sigmoid;
    ro.threads = o.threads;
    struct vs_diag d;
    vs_diag_clear(&d);
    vs_reranker *rr = calloc(1, sizeof *rr);
    if (!rr)
        return vs_api_fail(err, vs_diag_set(&d, VS_E_NOMEM, "out of memory"), &d);
    if ((rc = vs_rerank_new(&ro, &rr->r, &d)) != VS_OK) {
        free(rr);
        return vs_api_fail(err, rc, &d);
    }
    pthread_mutex_init(&rr->mu, NULL);
    *out = rr;
    return VS_OK;
}

void vs_reranker_free(vs_reranker *r)
{
    if (!r)
        return;
    vs_rerank_free(r->r);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

int vs_reranker_score(vs_reranker *r, const char *query,
                      const char *const *texts, size_t n, double *scores,
                      struct vs_error *err)
{
    if (!r || !query || (n && (!texts || !scores)))
        return vs_api_usage(err, NULL, "vs_reranker_score needs a reranker, a query, texts and scores");
    for (size_t i = 0; i < n; i++)
        if (!texts[i]) {
            struct vs_diag d;
            vs_diag_clear(&d);
            d.line = (long)i + 1;
            vs_diag_field(&d, "texts");
            vs_diag_set(&d, VS_E_USAGE, "texts[%zu] is NULL", i);
            return vs_api_fail(err, VS_E_USAGE, &d);
        }
    if (!n)
        return VS_OK;
    struct vs_diag d;
    vs_diag_clear(&d);
    pthread_mutex_lock(&r->mu);
    int rc = vs_rerank_score(r->r, query, texts, n, NULL, 0, NULL, NULL, scores, NULL, &d);
    pthread_mutex_unlock(&r->mu);
    return rc == VS_OK ? VS_OK : vs_api_fail(err, rc, &d);
}

struct rank_item {
    double score;
    size_t old; /* index in the old order */
};

static int by_score(const void *a, const void *b)
{
    const struct rank_item *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->old < y->old ? -1 : x->old > y->old;
}

int vs_reranker_apply(vs_reranker *r, vs_results *res,
                      const char *const *queries, size_t k,
                      struct vs_error *err)
{
    size_t nq = vs_results_queries(res);
    if (!r || !res || (nq && !queries))
        return vs_api_usage(err, NULL, "vs_reranker_apply needs a reranker, results and query texts");
    struct vs_diag d;
    vs_diag_clear(&d);
    double **scores = calloc(nq ? nq : 1, sizeof *scores);
    if (!scores)
        return vs_api_fail(err, vs_diag_set(&d, VS_E_NOMEM, "out of memory"), &d);
    int rc = VS_OK;
    /* score everything first: on an error the results stay as they were */
    for (size_t q = 0; rc == VS_OK && q < nq; q++) {
        size_t *n;
        struct vs_hit *h = vs_api_results_hits(res, q, &n);
        if (!*n)
            continue;
        if (!queries[q]) {
            vs_diag_field(&d, "queries");
            rc = vs_diag_set(&d, VS_E_USAGE, "queries[%zu] is NULL", q);
            break;
        }
        const char **texts = malloc(*n * sizeof *texts);
        if (!texts || !(scores[q] = malloc(*n * sizeof **scores))) {
            free(texts);
            rc = vs_diag_set(&d, VS_E_NOMEM, "out of memory");
            break;
        }
        for (size_t i = 0; i < *n && rc == VS_OK; i++)
            if (!(texts[i] = h[i].text)) {
                vs_diag_field(&d, "text");
                rc = vs_diag_set(&d, VS_E_FIELD,
                                 "hit '%s' of query '%s' has no text (search with with_text)",
                                 h[i].id, h[i].qid);
            }
        if (rc == VS_OK) {
            pthread_mutex_lock(&r->mu);
            rc = vs_rerank_score(r->r, queries[q], texts, *n, NULL, 0, NULL, NULL,
                                 scores[q], NULL, &d);
            pthread_mutex_unlock(&r->mu);
        }
        free(texts);
    }
    for (size_t q = 0; rc == VS_OK && q < nq; q++) {
        size_t *n;
        struct vs_hit *h = vs_api_results_hits(res, q, &n);
        if (!*n)
            continue;
        struct rank_item *it = malloc(*n * sizeof *it);
        struct vs_hit *copy = malloc(*n * sizeof *copy);
        if (!it || !copy) {
            free(it);
            free(copy);
            rc = vs_diag_set(&d, VS_E_NOMEM, "out of memory");
            break; /* queries before q are reranked, the rest are not */
        }
        for (size_t i = 0; i < *n; i++) {
            it[i].score = scores[q][i];
            it[i].old = i;
        }
        qsort(it, *n, sizeof *it, by_score);
        memcpy(copy, h, *n * sizeof *copy);
        for (size_t i = 0; i < *n; i++) {
            h[i] = copy[it[i].old];
            h[i].retrieval_rank = copy[it[i].old].rank;
            h[i].rank = i + 1;
            h[i].score = it[i].score;
        }
        if (k && k < *n) {
            for (size_t i = k; i < *n; i++)
                vs_api_hit_clear(res, &h[i]);
            *n = k;
        }
        free(it);
        free(copy);
    }
    for (size_t q = 0; q < nq; q++)
        free(scores[q]);
    free(scores);
    return rc == VS_OK ? VS_OK : vs_api_fail(err, rc, &d);
}

/* ---- evaluation ---- */

struct vs_report {
    struct vs_eval_result *res;
};

/* Add the measures of a list separated by commas or spaces; a token of
 * digits only continues the cutoffs of the one before ("P.5,10"). */
static int add_measures(struct vs_eval_spec *s, const char *list, struct vs_diag *d)
{
    char *buf = malloc(strlen(list) + 1), *cur = NULL;
    if (!buf)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    size_t len = 0;
    int st = VS_OK, any = 0;
    const char *p = list;
    while (st == VS_OK) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        const char *b = p;
        while (*p && *p != ',' && !isspace((unsigned char)*p))
            p++;
        size_t n = (size_t)(p - b);
        int digits = n > 0 && strspn(b, "0123456789") >= n;
        if (n && digits && cur) {
            buf[len++] = ',';
            memcpy(buf + len, b, n);
            len += n;
            buf[len] = 0;
            continue;
        }
        if (cur) {
            st = vs_eval_spec_add(s, cur, d);
            any = 1;
        }
        if (!n)
            break;
        cur = buf;
        memcpy(buf, b, n);
        len = n;
        buf[len] = 0;
    }
    free(buf);
    if (st == VS_OK && !any)
        st = vs_diag_set(d, VS_E_USAGE, "no measure named in '%s'", list);
    return st;
}

int vs_report_evaluate(const char *qrels_path, const char *run_path,
                       const char *measures, vs_report **out,
                       struct vs_error *err)
{
    if (out)
        *out = NULL;
    if (!qrels_path || !run_path || !out)
        return vs_api_usage(err, NULL, "vs_report_evaluate needs qrels, a run and an out pointer");
    struct vs_diag d;
    vs_diag_clear(&d);
    struct vs_eval_qrels *q = NULL;
    struct vs_eval_run *run = NULL;
    struct vs_eval_spec *s = NULL;
    struct vs_eval_result *res = NULL;
    vs_report *rep = calloc(1, sizeof *rep);
    int rc = rep ? VS_OK : vs_diag_set(&d, VS_E_NOMEM, "out of memory");
    if (rc == VS_OK && (rc = vs_eval_spec_new(&s)) != VS_OK)
        vs_diag_set(&d, rc, "out of memory");
    if (rc == VS_OK) {
        rc = measures ? add_measures(s, measures, &d) : vs_eval_spec_add_default(s);
        if (rc != VS_OK)
            vs_diag_field(&d, "measures");
    }
    if (rc == VS_OK)
        rc = vs_eval_qrels_load(qrels_path, &q, &d);
    if (rc == VS_OK)
        rc = vs_eval_run_load(run_path, NULL, &run, &d);
    struct vs_eval_opts eo = {1, 0};
    if (rc == VS_OK)
        rc = vs_eval_evaluate(q, run, s, &eo, &res, &d);
    vs_eval_qrels_free(q);
    vs_eval_run_free(run);
    vs_eval_spec_free(s);
    if (rc != VS_OK) {
        free(rep);
        return vs_api_fail(err, rc, &d);
    }
    rep->res = res;
    *out = rep;
    return VS_OK;
}

void vs_report_free(vs_report *rep)
{
    if (!rep)
        return;
    vs_eval_result_free(rep->res);
    free(rep);
}

size_t vs_report_measures(const vs_report *rep)
{
    return rep ? vs_eval_result_measures(rep->res) : 0;
}

const char *vs_report_measure(const vs_report *rep, size_t m)
{
    return rep && m < vs_eval_result_measures(rep->res)
               ? vs_eval_result_measure(rep->res, m) : NULL;
}

double vs_report_mean(const vs_report *rep, size_t m)
{
    return rep && m < vs_eval_result_measures(rep->res)
               ? vs_eval_result_mean(rep->res, m) : NAN;
}

int vs_report_get(const vs_report *rep, const char *name, double *value)
{
    if (!rep || !name || !value)
        return VS_E_USAGE;
    char canon[128];
    struct vs_diag d;
    vs_diag_clear(&d);
    if (vs_eval_canonical(name, canon, sizeof canon, &d) != VS_OK)
        return VS_E_NOTFOUND;
    long m = vs_eval_result_find(rep->res, canon);
    if (m < 0)
        return VS_E_NOTFOUND;
    *value = vs_eval_result_mean(rep->res, (size_t)m);
    return VS_OK;
}

size_t vs_report_queries(const vs_report *rep)
{
    return rep ? vs_eval_result_queries(rep->res) : 0;
}

#endif /* VS_WASM_NO_MODELS */
