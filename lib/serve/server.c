/* server.c: request routing and the endpoints of vs-serve (no sockets here:
 * server_http.c puts libmicrohttpd in front of vs_server_handle). */
#include "server_internal.h"

#include <errno.h>
#include <jansson.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "vs_embed.h"
#include "vs_ingest.h"
#include "vs_jsonfmt.h"
#include "vs_ndjson.h"
#include "vs_query.h"
#include "vs_query_text.h"
#include "query_scan_internal.h"

int vs_server_new(const struct vs_server_opts *o, struct vs_server **out,
                  struct vs_diag *d)
{
    *out = NULL;
    struct vs_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    srv->o = *o;
    if (!srv->o.listen) srv->o.listen = "127.0.0.1:8080";
    if (srv->o.threads < 1) srv->o.threads = 1;
    if (!srv->o.max_body) srv->o.max_body = 16u << 20;
    if (!srv->o.max_batch) srv->o.max_batch = 1000;
    if (!srv->o.max_k) srv->o.max_k = 1000;
    if (!srv->o.max_conns) srv->o.max_conns = 256;
    if (srv->o.timeout_ms <= 0) srv->o.timeout_ms = 10000;
    if (!srv->o.idle_timeout_s) srv->o.idle_timeout_s = 30;
    if (!srv->o.header_timeout_s) srv->o.header_timeout_s = 10;
    if (!srv->o.doc_cache) srv->o.doc_cache = VS_DOC_CACHE_BUDGET;
    pthread_mutex_init(&srv->key_mu, NULL);
    pthread_mutex_init(&srv->log_mu, NULL);
    pthread_mutex_init(&srv->run_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* gathering waits (vs_srv_now) */
    pthread_cond_init(&srv->run_cv, &ca);
    pthread_cond_init(&srv->work_cv, &ca);
    pthread_condattr_destroy(&ca);
    vs_srv_metrics_init(&srv->m);
    srv->anon.rate = srv->o.rate;
    srv->anon.burst = srv->o.burst > 0 ? srv->o.burst : (srv->o.rate > 1 ? srv->o.rate : 1);
    srv->anon.tokens = srv->anon.burst;
    srv->anon.last = vs_srv_now();
    *out = srv;
    return VS_OK;
}

void vs_server_free(struct vs_server *srv)
{
    if (!srv)
        return;
    if (srv->stop) /* set by vs_server_start (server_http.c) */
        srv->stop(srv);
    for (size_t i = 0; i < srv->nstores; i++) {
        struct vs_srv_store *e = srv->stores[i];
        vs_srv_gen_drop(e);
        pthread_mutex_destroy(&e->mu);
        pthread_mutex_destroy(&e->write_mu);
        free(e);
    }
    vs_srv_sharded_free(srv);
    vs_otlp_free(srv->otlp);
    vs_srv_keys_free(srv);
    vs_srv_metrics_release(&srv->m);
    pthread_mutex_destroy(&srv->key_mu);
    pthread_mutex_destroy(&srv->log_mu);
    pthread_mutex_destroy(&srv->run_mu);
    pthread_cond_destroy(&srv->run_cv);
    pthread_cond_destroy(&srv->work_cv);
    free(srv);
}

static int store_name_ok(const char *s)
{
    return vs_srv_name_ok(s) && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

int vs_server_add_store(struct vs_server *srv, const char *name,
                        const char *path, struct vs_diag *d)
{
    if (!store_name_ok(name))
        return vs_diag_set(d, VS_E_USAGE, "store name '%.64s' must be 1 to 64 letters, digits, '.', '_' or '-'", name);
    if (strlen(path) >= sizeof srv->stores[0]->path)
        return vs_diag_set(d, VS_E_USAGE, "store path too long");
    for (size_t i = 0; i < srv->nstores; i++)
        if (strcmp(srv->stores[i]->name, name) == 0)
            return vs_diag_set(d, VS_E_EXISTS, "store name '%s' given twice", name);
    if (srv->nstores == VS_SRV_MAX_STORES)
        return vs_diag_set(d, VS_E_USAGE, "at most %d stores", VS_SRV_MAX_STORES);
    struct vs_srv_store *e = calloc(1, sizeof *e);
    if (!e)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->path, sizeof e->path, "%s", path);
    e->doc_cache = srv->o.doc_cache;
    pthread_mutex_init(&e->mu, NULL);
    pthread_mutex_init(&e->write_mu, NULL);
    struct vs_srv_gen *g;
    int st = vs_srv_gen_acquire(e, &g, d);
    if (st != VS_OK) {
        vs_diag_where(d, path, 0);
        pthread_mutex_destroy(&e->mu);
        pthread_mutex_destroy(&e->write_mu);
        free(e);
        return st;
    }
    vs_srv_gen_release(e, g);
    srv->stores[srv->nstores++] = e;
    return VS_OK;
}

int vs_server_trace_from_env(struct vs_server *srv, struct vs_diag *d)
{
    vs_otlp_free(srv->otlp);
    srv->otlp = NULL;
    return vs_otlp_new_from_env("vs-serve", VS_OTLP_SERVER, &srv->otlp, d);
}

uint64_t vs_server_requests(const struct vs_server *srv)
{
    return __atomic_load_n(&srv->requests, __ATOMIC_RELAXED);
}

/* ---- responses ---- */

static int http_of_status(int st)
{
    switch (st) {
    case VS_OK: return 200;
    case VS_E_NOSTORE: case VS_E_NOTFOUND: return 404;
    case VS_E_LOCKED: return 503;
    case VS_E_EXISTS: return 409;
    case VS_E_UNSUPPORTED: return 501;
    case VS_E_NOSPC: return 507;
    case VS_E_NOMEM: case VS_E_IO: case VS_E_STORE: case VS_E_CORRUPT:
    case VS_E_VERSION: case VS_E_INTERNAL: case VS_E_NETWORK: case VS_E_REMOTE:
        return 500;
    default: return 400; /* usage, filter, data, json, field, dim, ... */
    }
}

static void set_body(struct vs_server_response *r, char *body, const char *ctype)
{
    free(r->body);
    r->body = body;
    r->len = body ? strlen(body) : 0;
    r->content_type = ctype;
}

static void set_json(struct vs_server_response *r, int http, json_t *o)
{
    r->status = http;
    char *s = o ? json_dumps(o, VS_JSON_DUMP_FLAGS) : NULL;
    json_decref(o);
    if (s) {
        size_t n = strlen(s);
        char *t = realloc(s, n + 2);
        if (t) {
            t[n] = '\n';
            t[n + 1] = 0;
            s = t;
        }
    }
    set_body(r, s, "application/json");
}

/* {"error": {"code": NAME, "message": ...}} (line and field when known).
 * Messages never include header values or key material. */
static void set_error(struct vs_server_response *r, int http, const char *code,
                      const struct vs_diag *d, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void set_error(struct vs_server_response *r, int http, const char *code,
                      const struct vs_diag *d, const char *fmt, ...)
{
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *e = json_object();
    json_object_set_new(e, "code", json_string(code));
    json_t *m = json_string(msg); /* NULL when msg is not UTF-8 */
    json_object_set_new(e, "message", m ? m : json_string(vs_status_message(VS_E_DATA)));
    if (d && d->line)
        json_object_set_new(e, "line", json_integer(d->line));
    if (d && d->field[0])
        json_object_set_new(e, "field", json_string(d->field));
    json_t *o = json_object();
    json_object_set_new(o, "error", e);
    set_json(r, http, o);
}

/* The message as the programs word it (cmd/cli.c): "field 'F' DETAIL"
 * when a field is known, else the detail, else the status's message; the
 * line is a member of its own. */
static void set_diag_error(struct vs_server_response *r, int http, int st,
                           const struct vs_diag *d)
{
    const char *detail = d && d->detail[0] ? d->detail : vs_status_message(st);
    if (d && d->field[0])
        set_error(r, http, vs_status_name(st), d, "field '%s' %s", d->field, detail);
    else
        set_error(r, http, vs_status_name(st), d, "%s", detail);
}

static void set_status_error(struct vs_server_response *r, int st,
                             const struct vs_diag *d)
{
    set_diag_error(r, http_of_status(st), st, d);
}

/* ---- bodies ---- */

/* Split the body into NDJSON lines (a single JSON document spread over
 * several lines is accepted too when the body is one object). Calls fn for
 * each non-blank line with its 1-based number. */
static int each_line(const char *body, size_t len, size_t max,
                     int (*fn)(const char *l, size_t n, long line, void *arg),
                     void *arg, size_t *count, struct vs_diag *d)
{
    *count = 0;
    long lineno = 0;
    size_t i = 0;
    /* a pretty-printed single object: the first non-blank char is '{' and
     * the whole body parses as one object */
    size_t a = 0;
    while (a < len && (body[a] == ' ' || body[a] == '\t' || body[a] == '\r' || body[a] == '\n'))
        a++;
    if (a < len && body[a] == '{' && memchr(body + a, '\n', len - a)) {
        json_error_t je;
        json_t *o = json_loadb(body + a, len - a, 0, &je);
        if (o && json_is_object(o)) {
            char *one = json_dumps(o, VS_JSON_DUMP_FLAGS);
            json_decref(o);
            o = NULL;
            if (one) {
                *count = 1;
                int st = fn(one, strlen(one), 1, arg);
                free(one);
                return st;
            }
        }
        json_decref(o);
    }
    while (i < len) {
        const char *nl = memchr(body + i, '\n', len - i);
        size_t e = nl ? (size_t)(nl - body) : len;
        lineno++;
        size_t s = i, t = e;
        while (s < t && (body[s] == ' ' || body[s] == '\t' || body[s] == '\r'))
            s++;
        while (t > s && (body[t - 1] == ' ' || body[t - 1] == '\t' || body[t - 1] == '\r'))
            t--;
        i = e + 1;
        if (s == t)
            continue;
        if (++*count > max) {
            d->line = lineno;
            return vs_diag_set(d, VS_E_USAGE, "more than %zu records in one request (--max-batch)", max);
        }
        int st = fn(body + s, t - s, lineno, arg);
        if (st != VS_OK) {
            if (!d->line)
                d->line = lineno;
            return st;
        }
    }
    return VS_OK;
}

struct parsed {
    json_t *recs;   /* array */
    struct vs_diag *d;
    size_t max_k;
    int explain;
    json_t *opts;   /* the request's search options (mode, fusion, ...), or NULL */
};

static int collect_json(const char *l, size_t n, long line, void *arg)
{
    struct parsed *p = arg;
    json_t *rec;
    int st = vs_ndjson_parse(l, n, &rec, p->d);
    if (st != VS_OK) {
        p->d->line = line;
        return st;
    }
    json_t *k = json_object_get(rec, "k");
    if (k && json_is_integer(k) && (json_integer_value(k) < 1 ||
                                    (size_t)json_integer_value(k) > p->max_k)) {
        json_decref(rec);
        vs_diag_field(p->d, "k");
        p->d->line = line;
        return vs_diag_set(p->d, VS_E_FIELD, "k must be between 1 and %zu (--max-k)", p->max_k);
    }
    json_t *ex = json_object_get(rec, "explain");
    if (ex && json_is_true(ex))
        p->explain = 1;
    else if (ex && !json_is_boolean(ex)) {
        json_decref(rec);
        vs_diag_field(p->d, "explain");
        p->d->line = line;
        return vs_diag_set(p->d, VS_E_FIELD, "expected true or false");
    }
    json_object_del(rec, "explain");
    /* search options (vs-query's, by their names) apply to the request:
     * every record that gives them gives the same */
    json_t *o = json_object();
    for (size_t i = 0; o && vs_qtext_opt_keys[i]; i++) {
        json_t *v = json_object_get(rec, vs_qtext_opt_keys[i]);
        if (v) {
            json_object_set(o, vs_qtext_opt_keys[i], v);
            json_object_del(rec, vs_qtext_opt_keys[i]);
        }
    }
    struct vs_qtext_opts to;
    vs_qtext_opts_init(&to);
    int ost = o ? vs_qtext_opts_from_json(o, &to, p->d) : VS_E_NOMEM;
    if (ost == VS_OK && json_object_size(o) && p->opts && !json_equal(o, p->opts)) {
        vs_diag_field(p->d, "%s", "mode");
        ost = vs_diag_set(p->d, VS_E_FIELD, "search options (mode, fusion, rrf_k, alpha, "
                          "k1, b, candidates, mmr, group_by) differ from an earlier "
                          "record's: they apply to the whole request");
    }
    if (ost != VS_OK) {
        json_decref(o);
        json_decref(rec);
        p->d->line = line;
        return ost;
    }
    if (json_object_size(o) && !p->opts)
        p->opts = json_incref(o);
    json_decref(o);
    json_array_append_new(p->recs, rec);
    return VS_OK;
}

/* ---- endpoints ---- */

struct ctx {
    struct vs_server *srv;
    const struct vs_server_request *rq;
    struct vs_server_response *r;
    struct vs_srv_store *store;
    double t0, deadline;
    struct vs_srv_key *key; /* the caller's key, NULL without keys */
    int ndjson;           /* answer with NDJSON */
    /* for logs */
    size_t nqueries;
    uint64_t nhits;
    json_t *explain_first;
    char span_id[17];     /* this request's server span */
    char parent_id[17];   /* from traceparent, "" = root */
    uint64_t t0_ns;
    int ep;
    /* vs_srv_handle's: answer a queued query later (ready set); pending
     * once it is queued */
    void (*suspend)(void *arg);
    void (*ready)(void *arg);
    int (*spawn)(void *arg, void (*fn)(void *fnarg), void *fnarg);
    void *arg;
    int pending;
};

static void handle_end(struct ctx *c);

/* A child span (when tracing is on) of parent, or of the request's server
 * span when parent is NULL; id is its span id, or NULL for a new one. */
static void child_span(struct ctx *c, const char *id, const char *parent,
                       const char *name, uint64_t t0, uint64_t t1, int error,
                       json_t *attrs)
{
    char own[VS_SPAN_ID_LEN];
    if (!c->srv->otlp || (!id && vs_trace_random_hex(own, 8) != 0)) {
        json_decref(attrs);
        return;
    }
    vs_otlp_span(c->srv->otlp, c->r->trace_id, id ? id : own, parent ? parent : c->span_id,
                 name, 1, t0, t1, error, attrs);
}

/* One "search" span per segment for the last run of q, children of the
 * query span qspan: segment index, rows, exact scan or graph, queries. */
static void segment_spans(struct ctx *c, const struct vs_query *q, size_t nseg,
                          const char *qspan, size_t nq)
{
    if (!c->srv->otlp)
        return;
    for (size_t p = 0; p < nseg; p++) {
        struct vs_query_segstat ss;
        if (vs_query_segment_stat(q, p, &ss) != VS_OK)
            return;
        child_span(c, NULL, qspan, "search", ss.start_ns, ss.end_ns, 0,
                   json_pack("[o,o,o,o,o]", vs_trace_attr_s("vecstore.store", c->store->name),
                             vs_trace_attr_i("vecstore.segment", (long long)p),
                             vs_trace_attr_i("vecstore.segment.rows", (long long)ss.rows),
                             vs_trace_attr_s("vecstore.search", ss.graph ? "graph" : "exact"),
                             vs_trace_attr_i("vecstore.queries", (long long)nq)));
    }
}

struct hits_out {
    json_t *arr;     /* JSON mode */
    char *buf;       /* NDJSON mode */
    size_t len, cap;
    struct ctx *c;
};

static int emit_hit(const json_t *hit, void *arg)
{
    struct hits_out *h = arg;
    json_t *ex = json_object_get(hit, "explain");
    if (ex && !h->c->explain_first)
        h->c->explain_first = json_incref(ex);
    if (h->arr)
        return json_array_append(h->arr, (json_t *)(uintptr_t)hit) == 0 ? VS_OK : VS_E_NOMEM;
    char *s = json_dumps(hit, VS_JSON_DUMP_FLAGS);
    if (!s)
        return VS_E_NOMEM;
    size_t n = strlen(s);
    if (h->len + n + 2 > h->cap) {
        size_t nc = (h->cap + n + 2) * 2;
        char *nb = realloc(h->buf, nc);
        if (!nb) {
            free(s);
            return VS_E_NOMEM;
        }
        h->buf = nb;
        h->cap = nc;
    }
    memcpy(h->buf + h->len, s, n);
    h->len += n;
    h->buf[h->len++] = '\n';
    h->buf[h->len] = 0;
    free(s);
    return VS_OK;
}

static int one_object(const char **s, size_t *n)
{
    const char *a = *s, *e = *s + *n;
    while (a < e && (*a == ' ' || *a == '\t' || *a == '\r' || *a == '\n'))
        a++;
    while (e > a && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        e--;
    if (e - a < 2 || *a != '{' || e[-1] != '}' || memchr(a, '\n', (size_t)(e - a)))
        return 0;
    *s = a;
    *n = (size_t)(e - a);
    return 1;
}

/* The slow-query log's line for a query request answered (n records,
 * the first in recs, or line[0..llen) when read fast), when it took longer
 * than --slow-ms. */
static void slow_log(struct ctx *c, size_t n, json_t *recs, const char *line, size_t llen,
                     int fast, uint64_t hits)
{
    double ms = (vs_srv_now() - c->t0) * 1000.0;
    if (!c->srv->o.slow_log || c->srv->o.slow_ms < 0 || ms <= c->srv->o.slow_ms)
        return;
    json_t *o = json_object();
    char ts[40];
    time_t now = time(NULL);
    struct tm tm;
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "trace_id", json_string(c->r->trace_id));
    json_object_set_new(o, "store", json_string(c->store->name));
    json_object_set_new(o, "queries", json_integer((json_int_t)n));
    json_t *r0 = json_incref(json_array_get(recs, 0));
    if (!r0 && fast && vs_ndjson_parse(line, llen, &r0, NULL) != VS_OK)
        r0 = NULL; /* read the full way for the log */
    json_t *q0 = json_deep_copy(r0);
    if (q0) {
        json_object_del(q0, "vector");
        json_object_del(q0, "vector_b64");
    }
    json_object_set_new(o, "query", q0 ? q0 : json_null());
    json_t *f = json_object_get(r0, "filter");
    json_object_set(o, "filter", f ? f : json_null());
    json_decref(r0);
    json_object_set_new(o, "hits", json_integer((json_int_t)hits));
    json_object_set_new(o, "took_ms", json_real(ms));
    if (c->explain_first)
        json_object_set(o, "explain", c->explain_first);
    pthread_mutex_lock(&c->srv->log_mu);
    vs_ndjson_write(c->srv->o.slow_log, o, 1);
    pthread_mutex_unlock(&c->srv->log_mu);
    json_decref(o);
}

/* A query searched in a batch (vs_srv_search_queued, or a search thread):
 * its answer into c->r from w's hits or error; w's qid and record freed.
 * Returns its hits. */
static uint64_t queued_answer(struct ctx *c, struct vs_srv_waiter *w)
{
    free(w->qid);
    w->qid = NULL;
    json_decref(w->own);
    w->own = NULL;
    int st = w->st;
    if (st == VS_OK && vs_srv_now() > c->deadline) {
        vs_buf_release(&w->out);
        set_error(c->r, 504, "deadline", NULL,
                  "the request took longer than %.0f ms (--timeout-ms)", c->srv->o.timeout_ms);
        return 0;
    }
    /* the body: the NDJSON lines, or {"hits":[...]} of them (the bytes
     * json_dumps writes for the array of those records), closed here, then
     * a NUL after it */
    struct vs_buf body = w->out;
    vs_buf_init(&w->out);
    if (st == VS_OK && ((w->json && vs_buf_put(&body, "]}\n", 3)) || vs_buf_put(&body, "", 1)))
        st = vs_diag_set(&w->d, VS_E_NOMEM, "out of memory");
    if (st != VS_OK) {
        vs_buf_release(&body);
        set_status_error(c->r, st, &w->d);
        return 0;
    }
    __atomic_add_fetch(&c->store->queries, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&c->store->hits, w->hits, __ATOMIC_RELAXED);
    c->nqueries = 1;
    c->nhits = w->hits;
    c->r->status = 200;
    set_body(c->r, body.p, c->ndjson ? "application/x-ndjson" : "application/json");
    c->r->len = body.len - 1;
    return w->hits;
}

/* A query request queued for the search threads (vs_srv_search_async):
 * what ep_query and vs_server_handle finish when it has been searched. */
struct queued {
    struct vs_srv_waiter w;
    struct ctx c;
    struct vs_srv_gen *g;
    float *fvec;
    json_t *recs, *opts;
    const char *line; /* in the request's body */
    size_t llen;
    int fast;
};

/* A search thread's end of a queued query request: its answer, logs and
 * metrics, then the transport's ready (after which the request is gone). */
static void queued_finish(struct vs_srv_waiter *w)
{
    struct queued *a = (struct queued *)(void *)w;
    struct ctx *c = &a->c;
    uint64_t hits = queued_answer(c, w);
    if (c->r->status == 200)
        slow_log(c, 1, a->recs, a->line, a->llen, a->fast, hits);
    vs_srv_gen_release(c->store, a->g);
    json_decref(a->recs);
    json_decref(a->opts);
    free(a->fvec);
    handle_end(c);
    void (*ready)(void *) = c->ready;
    void *arg = c->arg;
    free(a);
    ready(arg);
}

/* A query request answered in a thread of its own (ep_query, c->spawn):
 * its search, the request's end, then the transport's ready. */
struct spawned {
    struct ctx c;
    void (*ready)(void *arg);
    void *arg;
};

static void ep_query(struct ctx *c);

static void spawned_query(void *arg)
{
    struct spawned *sp = arg;
    ep_query(&sp->c);
    handle_end(&sp->c);
    void (*ready)(void *) = sp->ready;
    void *rarg = sp->arg;
    free(sp);
    ready(rarg);
}

static void ep_query(struct ctx *c)
{
    struct vs_diag d;
    vs_diag_clear(&d);
    struct parsed p = {json_array(), &d, c->srv->o.max_k, 0, NULL};
    struct vs_srv_gen *g = NULL;
    struct vs_qtext *q = NULL;
    struct hits_out h = {0};
    h.c = c;
    size_t n = 0;
    int slot = 0; /* a search slot is held (vs_srv_slot_take) */
    int st = VS_OK;
    /* the common request, one plain vector query record ({"id", "vector"
     * or "vector_b64", "k"}): read without a json_t (vs_query_scan, as
     * vs-query reads it) into fvec; anything else, or a record it does not
     * take, the full way below */
    float *fvec = NULL;
    struct vs_query_scanned sc = {0};
    const char *line = c->rq->body;
    size_t llen = c->rq->len;
    int fast = 0;
    struct vs_diag gd;
    vs_diag_clear(&gd);
    if (!c->srv->otlp && line && one_object(&line, &llen) &&
        vs_srv_gen_acquire(c->store, &g, &gd) == VS_OK) {
        size_t dim = vs_store_settings(g->store)->dim;
        fast = dim > 0 && (fvec = malloc(dim * sizeof *fvec)) != NULL &&
               vs_query_scan(line, llen, fvec, dim, &sc) && sc.k <= c->srv->o.max_k;
    }
    if (!fast && c->spawn) {
        /* an HTTP thread's (vs_srv_handle): a record the full way (a
         * filter, a text, options) may take long; it is answered in a
         * thread of its own, as the transport's slow requests are, so that
         * the HTTP thread's other connections are served meanwhile */
        struct spawned *sp = malloc(sizeof *sp);
        if (sp) {
            sp->c = *c;
            sp->c.suspend = NULL;
            sp->c.ready = NULL;
            sp->c.spawn = NULL;
            sp->ready = c->ready;
            sp->arg = c->arg;
            if (c->spawn(c->arg, spawned_query, sp)) {
                c->pending = 1;
                goto done;
            }
            free(sp);
        }
    }
    if (fast) {
        n = 1;
    } else {
        st = each_line(c->rq->body, c->rq->len, c->srv->o.max_batch, collect_json, &p, &n, &d);
        if (st == VS_OK && n == 0)
            st = vs_diag_set(&d, VS_E_DATA, "the body holds no query record");
        if (st != VS_OK) {
            set_diag_error(c->r, st == VS_E_USAGE ? 413 : 400, st, &d);
            goto done;
        }
    }
    c->ndjson = n > 1 || (c->rq->content_type && strstr(c->rq->content_type, "ndjson"));
    if (!g && (st = vs_srv_gen_acquire(c->store, &g, &d)) != VS_OK) {
        set_status_error(c->r, st, &d);
        goto done;
    }
    struct vs_query_opts qo = {.k = 10, .batch = 64, .threads = 1, .simd = -1,
                               .explain = p.explain};
    /* what vs-query runs, with its defaults unless the request sets them;
     * the pool holds objects with the defaults and no explain */
    struct vs_qtext_opts to;
    vs_qtext_opts_init(&to);
    if (p.opts)
        vs_qtext_opts_from_json(p.opts, &to, &d); /* checked when parsed */
    int pooled = !p.explain && !p.opts;
    uint64_t hits = 0;
    if (pooled && n == 1 && !c->srv->otlp) { /* searched with others' (batching above) */
        /* with the search threads (vs_srv_handle's ready), a query of a
         * generation searched in scan batches is queued for them and
         * answered by the one that searches it (a takes over g, fvec and
         * the records); a graph query is searched here, in the HTTP
         * thread that read it: a graph batch saves little, and handing a
         * query over costs the wake-ups of both threads and the
         * connection's suspension */
        int scan = __atomic_load_n(&g->scan, __ATOMIC_RELAXED);
        struct queued *a = c->ready && scan ? calloc(1, sizeof *a) : NULL;
        struct vs_srv_waiter own = {0}, *w = a ? &a->w : &own;
        w->rec = fast ? NULL : json_array_get(p.recs, 0);
        if (fast) {
            w->line = line;
            w->len = llen;
            w->vec = fvec;
            w->k = sc.k;
            if (!(w->qid = strndup(sc.qid, sc.qlen))) {
                free(a);
                set_status_error(c->r, VS_E_NOMEM, NULL);
                goto done;
            }
        } else {
            w->qid = vs_srv_record_qid(w->rec);
        }
        /* the hits go straight into the body (room for about ten) */
        vs_buf_init(&w->out);
        w->json = !c->ndjson;
        if (vs_buf_reserve(&w->out, 2048) != VS_OK ||
            (w->json && vs_buf_put(&w->out, "{\"hits\":[", 9) != VS_OK)) {
            free(w->qid);
            vs_buf_release(&w->out);
            free(a);
            set_status_error(c->r, VS_E_NOMEM, NULL);
            goto done;
        }
        if (a) {
            a->c = *c;
            a->g = g;
            a->fvec = fvec;
            a->recs = p.recs;
            a->opts = p.opts;
            a->line = line;
            a->llen = llen;
            a->fast = fast;
            w->finish = queued_finish;
            if (vs_srv_search_async(c->srv, c->store, g, w, c->suspend, c->arg)) {
                c->pending = 1; /* a owns them now */
                return;
            }
            w->finish = NULL; /* the search threads are stopping: here */
        }
        if (sem_init(&w->sem, 0, 0) != 0) {
            free(w->qid);
            vs_buf_release(&w->out);
            free(a);
            set_status_error(c->r, VS_E_INTERNAL, NULL);
            goto done;
        }
        vs_srv_search_queued(c->srv, c->store, g, w);
        sem_destroy(&w->sem);
        uint64_t qh = queued_answer(c, w);
        free(a);
        if (c->r->status == 200)
            slow_log(c, n, p.recs, line, llen, fast, qh);
        goto done;
    }
    if (c->ndjson) {
        h.cap = 4096;
        if (!(h.buf = malloc(h.cap))) {
            set_status_error(c->r, VS_E_NOMEM, NULL);
            goto done;
        }
        h.buf[0] = 0;
    } else if (!(h.arr = json_array())) {
        set_status_error(c->r, VS_E_NOMEM, NULL);
        goto done;
    }
    if (pooled) {
        pthread_mutex_lock(&c->store->mu);
        if (g->npool > 0)
            q = g->pool[--g->npool];
        pthread_mutex_unlock(&c->store->mu);
    }
    if (!q && (st = vs_qtext_new(g->store, &qo, &to, &q, &d)) != VS_OK) {
        set_status_error(c->r, st, &d);
        goto done;
    }
    vs_srv_slot_take(c->srv);
    slot = 1;
    uint64_t short0 = vs_qtext_shortfalls(q);
    uint64_t search_t0 = vs_trace_now_ns();
    size_t in_run = 0;
    char qspan[VS_SPAN_ID_LEN] = "";
    if (c->srv->otlp && vs_trace_random_hex(qspan, 8) != 0)
        qspan[0] = 0;
    for (size_t i = 0; i < n; i++) {
        vs_diag_clear(&d);
        if ((st = vs_qtext_add(q, json_array_get(p.recs, i), &d)) != VS_OK) {
            d.line = (long)i + 1;
            set_status_error(c->r, st, &d);
            goto done;
        }
        if (i == 0 && vs_srv_now() > c->deadline) { /* reading and parsing took it all */
            set_error(c->r, 504, "deadline", NULL,
                      "the request took longer than %.0f ms (--timeout-ms)", c->srv->o.timeout_ms);
            goto done;
        }
        if (vs_qtext_full(q) || i + 1 == n) {
            uint64_t nh = 0;
            in_run = vs_qtext_pending(q);
            if ((st = vs_qtext_run(q, emit_hit, &h, &nh, NULL, &d)) != VS_OK) {
                set_status_error(c->r, st, &d);
                goto done;
            }
            if (qspan[0])
                segment_spans(c, vs_qtext_vector(q), vs_store_nsegments(g->store), qspan,
                              in_run);
            hits += nh;
            /* after every block, the last one too: an answer that came too
             * late (one huge query, a long filter) is a 504 as documented,
             * not a 200 after the client's deadline */
            if (vs_srv_now() > c->deadline) {
                set_error(c->r, 504, "deadline", NULL,
                          "the request took longer than %.0f ms (--timeout-ms)", c->srv->o.timeout_ms);
                goto done;
            }
        }
    }
    if (qspan[0])
        child_span(c, qspan, NULL, "query", search_t0, vs_trace_now_ns(), 0,
               json_pack("[o,o,o,o,o]", vs_trace_attr_s("vecstore.store", c->store->name),
                         vs_trace_attr_i("vecstore.queries", (long long)n),
                         vs_trace_attr_i("vecstore.hits", (long long)hits),
                         vs_trace_attr_i("vecstore.k_shortfalls", (long long)(vs_qtext_shortfalls(q) - short0)),
                         vs_trace_attr_i("vecstore.segments", (long long)vs_store_nsegments(g->store))));
    vs_srv_slot_give(c->srv);
    slot = 0;
    __atomic_add_fetch(&c->store->queries, n, __ATOMIC_RELAXED);
    __atomic_add_fetch(&c->store->hits, hits, __ATOMIC_RELAXED);
    __atomic_add_fetch(&c->store->shortfalls, vs_qtext_shortfalls(q) - short0, __ATOMIC_RELAXED);
    if (pooled && vs_qtext_pending(q) == 0) { /* back to the pool */
        pthread_mutex_lock(&c->store->mu);
        if (g->npool < (int)(sizeof g->pool / sizeof g->pool[0])) {
            g->pool[g->npool++] = q;
            q = NULL;
        }
        pthread_mutex_unlock(&c->store->mu);
    }
    c->nqueries = n;
    c->nhits = hits;
    c->r->status = 200;
    if (c->ndjson) {
        set_body(c->r, h.buf, "application/x-ndjson");
        c->r->len = h.len;
        h.buf = NULL;
    } else {
        json_t *o = json_object();
        json_object_set_new(o, "hits", h.arr);
        h.arr = NULL;
        set_json(c->r, 200, o);
    }
    slow_log(c, n, p.recs, line, llen, fast, hits);
done:
    if (slot)
        vs_srv_slot_give(c->srv);
    json_decref(h.arr);
    free(h.buf);
    json_decref(c->explain_first);
    c->explain_first = NULL;
    vs_qtext_free(q);
    vs_srv_gen_release(c->store, g);
    json_decref(p.recs);
    json_decref(p.opts);
    free(fvec);
}

struct wrec {
    json_t *rec;
    float *vec;
    size_t dim;
};

struct wparse {
    struct wrec *v;
    size_t n, cap;
    int del;
    struct vs_diag *d;
};

static int collect_write(const char *l, size_t n, long line, void *arg)
{
    struct wparse *p = arg;
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 64;
        struct wrec *nv = realloc(p->v, nc * sizeof *nv);
        if (!nv)
            return vs_diag_set(p->d, VS_E_NOMEM, "out of memory");
        p->v = nv;
        p->cap = nc;
    }
    struct wrec *w = &p->v[p->n];
    memset(w, 0, sizeof *w);
    int st;
    if (p->del) {
        st = vs_ndjson_parse(l, n, &w->rec, p->d);
        if (st == VS_OK && !json_is_string(json_object_get(w->rec, "id"))) {
            st = vs_diag_set(p->d, VS_E_FIELD, json_object_get(w->rec, "id")
                                                   ? "must be a string"
                                                   : "is missing (a delete names a record by its id)");
            json_decref(w->rec);
            vs_diag_field(p->d, "id");
        }
    } else {
        st = vs_ingest_parse(l, n, &w->rec, &w->vec, &w->dim, p->d);
        if (st == VS_OK && !w->vec && !json_is_string(json_object_get(w->rec, "text"))) {
            json_decref(w->rec);
            vs_diag_field(p->d, "vector");
            st = vs_diag_set(p->d, VS_E_FIELD, "is missing (a record to upsert needs "
                             "\"vector\", \"vector_b64\" or a string \"text\", embedded "
                             "with the store's model)");
        } else if (st == VS_OK && !json_is_string(json_object_get(w->rec, "id"))) {
            st = vs_diag_set(p->d, VS_E_FIELD, json_object_get(w->rec, "id")
                                                   ? "must be a string"
                                                   : "is missing (a record to upsert needs one)");
            json_decref(w->rec);
            free(w->vec);
            vs_diag_field(p->d, "id");
        }
    }
    if (st != VS_OK) {
        p->d->line = line;
        return st;
    }
    p->n++;
    return VS_OK;
}

static void wparse_release(struct wparse *p)
{
    for (size_t i = 0; i < p->n; i++) {
        json_decref(p->v[i].rec);
        free(p->v[i].vec);
    }
    free(p->v);
}

/* Upserts with text only: embed their text with the store's pinned model,
 * as vs-embed would (document role), and name the model on the record so
 * that the writer checks it like any other. On failure d has the line. */
static int embed_texts(struct ctx *c, struct wparse *p, struct vs_diag *d)
{
    size_t need = 0;
    for (size_t i = 0; i < p->n; i++)
        need += p->v[i].vec == NULL;
    if (!need)
        return VS_OK;
    struct vs_srv_gen *g = NULL;
    int st = vs_srv_gen_acquire(c->store, &g, d);
    if (st != VS_OK)
        return st;
    const struct vs_store_settings *ss = vs_store_settings(g->store);
    char model[sizeof ss->model];
    snprintf(model, sizeof model, "%s", ss->model);
    size_t dim = ss->dim;
    vs_srv_gen_release(c->store, g);
    struct vs_embedder *e = NULL;
    struct vs_diag ed;
    vs_diag_clear(&ed);
    const char *why = NULL;
    if (!model[0])
        why = "the store pins no embedding model";
    else if (vs_embedder_new(model, dim, &e, &ed) != VS_OK)
        why = "the store's model is not available on the server";
    else if (vs_embedder_is_remote(e))
        why = "the store's model is a remote API; embed with vs-embed and send vectors";
    else if (vs_embedder_dim(e) != dim)
        why = "the store's model gives another dimension than the store's";
    for (size_t i = 0; st == VS_OK && i < p->n; i++) {
        struct wrec *w = &p->v[i];
        if (w->vec)
            continue;
        d->line = (long)i + 1;
        if (why) {
            vs_diag_field(d, "vector");
            st = vs_diag_set(d, VS_E_FIELD, "is missing and the text cannot be embedded: %s "
                             "('%s')", why, model);
            break;
        }
        if (!(w->vec = malloc(dim * sizeof *w->vec))) {
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            break;
        }
        w->dim = dim;
        if ((st = vs_embedder_embed_one(e, json_string_value(json_object_get(w->rec, "text")),
                                        w->vec, d)) != VS_OK) {
            vs_diag_field(d, "text");
            break;
        }
        if (!json_object_get(w->rec, "vector_model") &&
            json_object_set_new(w->rec, "vector_model",
                                json_string(vs_embedder_identity(e))) != 0)
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
    }
    if (st == VS_OK)
        d->line = 0;
    vs_embedder_free(e);
    return st;
}

/* upsert, delete, compact: through the store's writer and lock. */
static void ep_write(struct ctx *c, int ep)
{
    struct vs_diag d;
    vs_diag_clear(&d);
    struct wparse p = {0};
    p.del = ep == VS_EP_DELETE;
    p.d = &d;
    size_t n = 0;
    int st = VS_OK;
    if (ep != VS_EP_COMPACT) {
        st = each_line(c->rq->body, c->rq->len, c->srv->o.max_batch, collect_write, &p, &n, &d);
        if (st == VS_OK && n == 0)
            st = vs_diag_set(&d, VS_E_DATA, "the body holds no record");
        if (st != VS_OK) {
            set_diag_error(c->r, st == VS_E_USAGE ? 413 : 400, st, &d);
            wparse_release(&p);
            return;
        }
        if (!p.del && (st = embed_texts(c, &p, &d)) != VS_OK) {
            set_status_error(c->r, st, &d);
            wparse_release(&p);
            return;
        }
    }
    uint64_t commit_t0 = vs_trace_now_ns();
    pthread_mutex_lock(&c->store->write_mu);
    struct vs_writer *w = NULL;
    struct vs_writer_opts wo = {.create = NULL, .wait_s = c->deadline - vs_srv_now()};
    if (wo.wait_s < 0)
        wo.wait_s = 0;
    uint64_t found = 0;
    st = vs_writer_open(c->store->path, &wo, &w, &d);
    for (size_t i = 0; st == VS_OK && i < p.n; i++) {
        if (p.del) {
            int f = 0;
            st = vs_writer_delete(w, json_string_value(json_object_get(p.v[i].rec, "id")), &f, &d);
            found += f != 0;
        } else {
            st = vs_writer_upsert(w, p.v[i].rec, p.v[i].vec, p.v[i].dim, &d);
        }
        if (st != VS_OK)
            d.line = (long)i + 1;
    }
    if (st == VS_OK)
        st = ep == VS_EP_COMPACT ? vs_writer_compact(w, &d) : vs_writer_commit(w, &d);
    vs_writer_close(w);
    pthread_mutex_unlock(&c->store->write_mu);
    wparse_release(&p);
    child_span(c, NULL, NULL, ep == VS_EP_COMPACT ? "compact" : "commit", commit_t0,
               vs_trace_now_ns(), st != VS_OK,
               json_pack("[o,o,o]", vs_trace_attr_s("vecstore.store", c->store->name),
                         vs_trace_attr_s("vecstore.operation", vs_srv_ep_name(ep)),
                         vs_trace_attr_i("vecstore.records", (long long)n)));
    if (st != VS_OK) {
        set_status_error(c->r, st, &d);
        if (st == VS_E_LOCKED)
            c->r->retry_after = 1;
        return;
    }
    struct vs_srv_gen *g = NULL;
    vs_srv_gen_recheck(c->store); /* the requests after this answer see the commit */
    if ((st = vs_srv_gen_acquire(c->store, &g, &d)) != VS_OK) {
        set_status_error(c->r, st, &d);
        return;
    }
    json_t *o = json_object();
    if (ep == VS_EP_UPSERT)
        json_object_set_new(o, "upserted", json_integer((json_int_t)n));
    if (ep == VS_EP_DELETE) {
        json_object_set_new(o, "deleted", json_integer((json_int_t)found));
        json_object_set_new(o, "not_found", json_integer((json_int_t)(n - found)));
    }
    json_object_set_new(o, "generation", json_integer((json_int_t)vs_store_generation(g->store)));
    json_object_set_new(o, "records", json_integer((json_int_t)vs_store_count(g->store)));
    vs_srv_gen_release(c->store, g);
    set_json(c->r, 200, o);
}

static void ep_snapshot(struct ctx *c)
{
    struct vs_diag d;
    vs_diag_clear(&d);
    if (!c->srv->o.snapshot_dir) {
        set_error(c->r, 501, "unsupported", NULL, "snapshots are off (start vs-serve with --snapshot-dir)");
        return;
    }
    json_t *o = NULL;
    int st = vs_ndjson_parse(c->rq->body ? c->rq->body : "", c->rq->len, &o, &d);
    const char *name = st == VS_OK ? json_string_value(json_object_get(o, "name")) : NULL;
    if (st != VS_OK || !name || !store_name_ok(name)) {
        json_decref(o);
        vs_diag_field(&d, "name");
        set_error(c->r, 400, st != VS_OK ? vs_status_name(st) : "field", &d,
                  "expected {\"name\": N} with N of 1 to 64 letters, digits, '.', '_' or '-'");
        return;
    }
    char dest[4200];
    snprintf(dest, sizeof dest, "%s/%s", c->srv->o.snapshot_dir, name);
    json_t *res = json_object();
    json_object_set_new(res, "snapshot", json_string(name));
    json_decref(o);
    pthread_mutex_lock(&c->store->write_mu);
    st = vs_store_snapshot(c->store->path, dest, &d);
    pthread_mutex_unlock(&c->store->write_mu);
    if (st != VS_OK) {
        json_decref(res);
        d.file[0] = 0;
        set_status_error(c->r, st, &d);
        return;
    }
    set_json(c->r, 200, res);
}

static void ep_info(struct ctx *c)
{
    struct vs_diag d;
    vs_diag_clear(&d);
    struct vs_srv_gen *g = NULL;
    json_t *info = NULL;
    int st = vs_srv_gen_acquire(c->store, &g, &d);
    if (st == VS_OK)
        st = vs_store_info(g->store, &info, &d);
    vs_srv_gen_release(c->store, g);
    if (st != VS_OK) {
        set_status_error(c->r, st, &d);
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(c->store->name));
    json_object_update(o, info);
    json_decref(info);
    set_json(c->r, 200, o);
}

static void ep_list(struct ctx *c)
{
    json_t *arr = json_array(), *sharded = json_array();
    const struct vs_srv_key *k = c->key;
    /* stores, then sharded collections (listed in "sharded" too) */
    for (size_t i = 0; i < c->srv->nstores + c->srv->nsharded; i++) {
        const char *name = i < c->srv->nstores ? c->srv->stores[i]->name
                                               : c->srv->sharded[i - c->srv->nstores]->name;
        /* a key limited to some stores sees only those */
        int ok = !k || !k->stores;
        for (size_t j = 0; !ok && j < k->nstores; j++)
            ok = strcmp(k->stores[j], name) == 0;
        if (ok)
            json_array_append_new(arr, json_string(name));
        if (ok && i >= c->srv->nstores)
            json_array_append_new(sharded, json_string(name));
    }
    json_t *o = json_object();
    json_object_set_new(o, "stores", arr);
    if (c->srv->nsharded)
        json_object_set_new(o, "sharded", sharded);
    else
        json_decref(sharded);
    set_json(c->r, 200, o);
}

static void ep_readyz(struct ctx *c)
{
    size_t ok = 0;
    for (size_t i = 0; i < c->srv->nstores; i++) {
        struct vs_srv_store *e = c->srv->stores[i];
        struct vs_srv_gen *g;
        vs_srv_gen_recheck(e); /* the MANIFEST as it is now */
        if (vs_srv_gen_acquire(e, &g, NULL) == VS_OK) {
            /* serving an older generation because the newest does not
             * open is not ready */
            pthread_mutex_lock(&e->mu);
            ok += !e->stale;
            pthread_mutex_unlock(&e->mu);
            vs_srv_gen_release(e, g);
        }
    }
    /* a sharded collection is ready when every shard answers (server_shards.c) */
    json_t *why = json_array();
    size_t cok = 0;
    for (size_t i = 0; i < c->srv->nsharded; i++)
        cok += vs_srv_sharded_unready(c->srv, c->srv->sharded[i], why) == 0;
    int ready = ok == c->srv->nstores && cok == c->srv->nsharded;
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string(ready ? "ready" : "not_ready"));
    json_object_set_new(o, "stores", json_integer((json_int_t)ok));
    if (c->srv->nsharded) {
        json_object_set_new(o, "sharded", json_integer((json_int_t)cok));
        json_object_set_new(o, "shards_down", why);
    } else
        json_decref(why);
    set_json(c->r, ready ? 200 : 503, o);
}

/* POST .../shard: a coordinator's request to this store as one shard of a
 * collection (server_shards.c). */
static void ep_shard(struct ctx *c)
{
    struct vs_diag d;
    vs_diag_clear(&d);
    char *out = NULL;
    size_t n = 0;
    int js = 0;
    int st = vs_srv_shard(c->store, c->rq->body, c->rq->len, &out, &n, &js, &d);
    if (st != VS_OK) {
        free(out);
        set_status_error(c->r, st, &d);
        return;
    }
    c->r->status = 200;
    set_body(c->r, out, js ? "application/json" : "application/x-ndjson");
    c->r->len = n;
}

/* A sharded collection (vs-serve --shard): queries fan out to its shards;
 * writes go to the shards themselves. */
static void ep_sharded(struct ctx *c, int ep)
{
    struct vs_diag d;
    vs_diag_clear(&d);
    if (ep == VS_EP_INFO) {
        set_json(c->r, 200, vs_srv_sharded_info(c->store));
        return;
    }
    if (ep != VS_EP_QUERY || vs_srv_shard_path(c->rq->path)) {
        set_error(c->r, 400, "unsupported", NULL, "'%s' is a sharded collection: it answers "
                  "queries; write to its shards", c->store->name);
        return;
    }
    char *out = NULL;
    size_t n = 0;
    int js = 0;
    int late = 0;
    int st = vs_srv_sharded_query(c->srv, c->store, c->rq, c->deadline, &out, &n, &js,
                                  &c->nqueries, &c->nhits, &late, &d);
    if (st != VS_OK) {
        free(out);
        /* a shard failed: 504 when the deadline (--timeout-ms) cut it */
        int net = st == VS_E_NETWORK || st == VS_E_REMOTE;
        set_diag_error(c->r, st == VS_E_USAGE ? 413
                             : net && late ? 504
                             : net         ? 502
                                           : http_of_status(st),
                       st, &d);
        return;
    }
    c->r->status = 200;
    set_body(c->r, out, js ? "application/json" : "application/x-ndjson");
    c->r->len = n;
}

/* ---- routing ---- */

static int route(struct vs_server *srv, const char *path, const char *method,
                 struct vs_srv_store **store, int *want_post)
{
    *store = NULL;
    *want_post = 0;
    if (strcmp(path, "/healthz") == 0) return VS_EP_HEALTHZ;
    if (strcmp(path, "/readyz") == 0) return VS_EP_READYZ;
    if (strcmp(path, "/metrics") == 0) return VS_EP_METRICS;
    if (strcmp(path, "/v1/stores") == 0) return VS_EP_LIST;
    static const char pre[] = "/v1/stores/";
    if (strncmp(path, pre, sizeof pre - 1) != 0)
        return -1;
    const char *name = path + sizeof pre - 1;
    const char *sl = strchr(name, '/');
    size_t nl = sl ? (size_t)(sl - name) : strlen(name);
    for (size_t i = 0; i < srv->nstores; i++)
        if (strlen(srv->stores[i]->name) == nl && memcmp(srv->stores[i]->name, name, nl) == 0)
            *store = srv->stores[i];
    if (!*store)
        *store = vs_srv_sharded_find(srv, name, nl); /* server_shards.c */
    if (!*store)
        return -2;
    if (!sl)
        return VS_EP_INFO;
    *want_post = 1;
    if (strcmp(sl, "/query") == 0 || strcmp(sl, "/shard") == 0) return VS_EP_QUERY;
    if (strcmp(sl, "/upsert") == 0) return VS_EP_UPSERT;
    if (strcmp(sl, "/delete") == 0) return VS_EP_DELETE;
    if (strcmp(sl, "/compact") == 0) return VS_EP_COMPACT;
    if (strcmp(sl, "/snapshot") == 0) return VS_EP_SNAPSHOT;
    (void)method;
    return -1;
}

int vs_srv_quick(struct vs_server *srv, const struct vs_server_request *rq)
{
    struct vs_srv_store *e;
    int want_post;
    int ep = route(srv, rq->path ? rq->path : "", rq->method ? rq->method : "", &e,
                   &want_post);
    if (ep < 0)
        return 1; /* 404 */
    if (e && e->shards)
        return 0; /* asks its shards */
    const char *b = rq->body;
    size_t n = rq->len;
    switch (ep) {
    case VS_EP_HEALTHZ: case VS_EP_METRICS: case VS_EP_LIST: case VS_EP_INFO:
        return 1;
    case VS_EP_QUERY:
        return !srv->otlp && !vs_srv_shard_path(rq->path) && b && one_object(&b, &n);
    default:
        return 0; /* /readyz opens stores; writes wait for the store's lock */
    }
}

static void access_log(struct ctx *c, int ep, const char *key)
{
    FILE *fp = c->srv->o.access_log;
    if (!fp)
        return;
    json_t *o = json_object();
    char ts[40];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", gmtime_r(&now.tv_sec, &tm));
    snprintf(ts + n, sizeof ts - n, ".%03ldZ", now.tv_nsec / 1000000);
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "remote", c->rq->remote ? json_string(c->rq->remote) : json_null());
    json_t *jm = json_string(c->rq->method ? c->rq->method : "");
    json_object_set_new(o, "method", jm ? jm : json_null());
    json_t *p = json_string(c->rq->path); /* NULL on invalid UTF-8 */
    json_object_set_new(o, "path", p ? p : json_string("(not utf-8)"));
    json_object_set_new(o, "endpoint", json_string(vs_srv_ep_name(ep)));
    json_object_set_new(o, "store", c->store ? json_string(c->store->name) : json_null());
    json_object_set_new(o, "status", json_integer(c->r->status));
    json_object_set_new(o, "bytes_in", json_integer((json_int_t)c->rq->len));
    json_object_set_new(o, "bytes_out", json_integer((json_int_t)c->r->len));
    json_object_set_new(o, "duration_ms", json_real((vs_srv_now() - c->t0) * 1000.0));
    json_object_set_new(o, "key", key ? json_string(key) : json_null());
    json_object_set_new(o, "trace_id", json_string(c->r->trace_id));
    if (c->nqueries) {
        json_object_set_new(o, "queries", json_integer((json_int_t)c->nqueries));
        json_object_set_new(o, "hits", json_integer((json_int_t)c->nhits));
    }
    pthread_mutex_lock(&c->srv->log_mu);
    vs_ndjson_write(fp, o, 1);
    pthread_mutex_unlock(&c->srv->log_mu);
    json_decref(o);
}

/* The end of every request: metrics, access log, server span. */
static void handle_end(struct ctx *c)
{
    const char *method = c->rq->method ? c->rq->method : "";
    if (!c->r->body && c->r->status == 0)
        set_error(c->r, 500, "internal", NULL, "no response");
    vs_srv_metrics_observe(&c->srv->m, c->ep, method, c->r->status, vs_srv_now() - c->t0);
    access_log(c, c->ep, c->key ? c->key->name : NULL);
    if (c->srv->otlp) {
        char name[64];
        const char *mn = method[0] && strlen(method) < 16 && strspn(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == strlen(method)
                             ? method : "_OTHER";
        snprintf(name, sizeof name, "%s %s", mn, vs_srv_ep_name(c->ep));
        json_t *jp = json_string(c->rq->path ? c->rq->path : "");
        json_t *attrs = json_pack("[o,o,o,o]", vs_trace_attr_s("http.request.method", mn),
                                  vs_trace_attr_i("http.response.status_code", c->r->status),
                                  vs_trace_attr_s("vecstore.endpoint", vs_srv_ep_name(c->ep)),
                                  vs_trace_attr_s("vecstore.store", c->store ? c->store->name : ""));
        if (jp)
            json_array_append_new(attrs, json_pack("{s:s,s:{s:o}}", "key", "url.path",
                                                   "value", "stringValue", jp));
        json_array_append_new(attrs, vs_trace_attr_i("http.request.body.size", (long long)c->rq->len));
        vs_otlp_span(c->srv->otlp, c->r->trace_id, c->span_id, c->parent_id, name, 2, c->t0_ns,
                     vs_trace_now_ns(), c->r->status >= 500, attrs);
    }
    __atomic_sub_fetch(&c->srv->m.inflight, 1, __ATOMIC_RELAXED);
}

int vs_srv_handle(struct vs_server *srv, const struct vs_server_request *rq,
                  struct vs_server_response *resp, const struct vs_srv_async *as)
{
    memset(resp, 0, sizeof *resp);
    struct ctx c = {.srv = srv, .rq = rq, .r = resp, .t0 = vs_srv_now()};
    if (as) {
        c.suspend = as->suspend;
        c.ready = as->ready;
        c.spawn = as->spawn;
        c.arg = as->arg;
    }
    c.t0_ns = vs_trace_now_ns();
    c.deadline = c.t0 + srv->o.timeout_ms / 1000.0;
    if (vs_trace_random_hex(c.span_id, 8) != 0)
        snprintf(c.span_id, sizeof c.span_id, "%016x", 1);
    __atomic_add_fetch(&srv->requests, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&srv->m.inflight, 1, __ATOMIC_RELAXED);
    if (vs_trace_parse_traceparent(rq->traceparent, resp->trace_id, c.parent_id) != 0 &&
        vs_trace_random_hex(resp->trace_id, 16) != 0)
        snprintf(resp->trace_id, sizeof resp->trace_id, "%032x", 1);
    int want_post;
    const char *method = rq->method ? rq->method : "";
    int ep = route(srv, rq->path ? rq->path : "", method, &c.store, &want_post);
    struct vs_srv_key *key = NULL;
    c.ep = ep;
    if (ep == -1) {
        set_error(resp, 404, "not_found", NULL, "no such endpoint");
        c.ep = VS_EP_OTHER;
        goto out;
    }
    if (ep == -2) {
        set_error(resp, 404, "no_store", NULL, "no store by that name");
        c.ep = VS_EP_OTHER;
        goto out;
    }
    if (strcmp(method, want_post ? "POST" : "GET") != 0) {
        set_error(resp, 405, "method", NULL, "use %s", want_post ? "POST" : "GET");
        goto out;
    }
    int open = ep == VS_EP_HEALTHZ || ep == VS_EP_READYZ ||
               (ep == VS_EP_METRICS && !srv->o.metrics_auth);
    if (srv->have_keys && !open) {
        if (vs_srv_auth(srv, rq->authorization, &key) != VS_OK) {
            set_error(resp, 401, "unauthorized", NULL, "a valid 'Authorization: Bearer KEY' header is needed");
            goto out;
        }
        c.key = key;
        if (ep == VS_EP_METRICS)
            goto authorised; /* any valid key may read the metrics */
        unsigned need = ep == VS_EP_QUERY || ep == VS_EP_INFO || ep == VS_EP_LIST ? VS_SCOPE_READ
                        : ep == VS_EP_UPSERT || ep == VS_EP_DELETE ? VS_SCOPE_WRITE
                                                                   : VS_SCOPE_ADMIN;
        int store_ok = !c.store || !key->stores;
        for (size_t i = 0; !store_ok && i < key->nstores; i++)
            store_ok = strcmp(key->stores[i], c.store->name) == 0;
        if (!(key->scopes & need) || !store_ok) {
            set_error(resp, 403, "forbidden", NULL, "key '%s' may not %s %s", key->name,
                      need == VS_SCOPE_READ ? "read" : need == VS_SCOPE_WRITE ? "write" : "administer",
                      store_ok ? "here" : "this store");
            goto out;
        }
    }
authorised:
    if (!open && !vs_srv_take_token(srv, key, &resp->retry_after)) {
        set_error(resp, 429, "rate_limited", NULL, "too many requests; retry after %ld s", resp->retry_after);
        goto out;
    }
    if (c.store && c.store->shards) { /* a sharded collection (server_shards.c) */
        ep_sharded(&c, ep);
        goto out;
    }
    switch (ep) {
    case VS_EP_HEALTHZ: {
        json_t *o = json_object();
        json_object_set_new(o, "status", json_string("ok"));
        set_json(resp, 200, o);
        break;
    }
    case VS_EP_READYZ: ep_readyz(&c); break;
    case VS_EP_METRICS: {
        char *t = NULL;
        size_t n = 0;
        if (vs_srv_metrics_render(srv, &t, &n) != VS_OK) {
            set_status_error(resp, VS_E_NOMEM, NULL);
            break;
        }
        resp->status = 200;
        set_body(resp, t, "text/plain; version=0.0.4; charset=utf-8");
        break;
    }
    case VS_EP_LIST: ep_list(&c); break;
    case VS_EP_INFO: ep_info(&c); break;
    case VS_EP_QUERY:
        if (vs_srv_shard_path(rq->path))
            ep_shard(&c);
        else
            ep_query(&c);
        if (c.pending)
            return 1; /* a search thread ends it (queued_finish) */
        break;
    case VS_EP_SNAPSHOT: ep_snapshot(&c); break;
    default: ep_write(&c, ep); break;
    }
out:
    handle_end(&c);
    return 0;
}

int vs_server_handle(struct vs_server *srv, const struct vs_server_request *rq,
                     struct vs_server_response *resp)
{
    vs_srv_handle(srv, rq, resp, NULL);
    return resp->body ? VS_OK : VS_E_NOMEM;
}

void vs_srv_reject(struct vs_server *srv, const struct vs_server_request *rq,
                   int http, const char *code, const char *message,
                   struct vs_server_response *resp)
{
    memset(resp, 0, sizeof *resp);
    struct ctx c = {.srv = srv, .rq = rq, .r = resp, .t0 = vs_srv_now()};
    __atomic_add_fetch(&srv->requests, 1, __ATOMIC_RELAXED);
    if (vs_trace_parse_traceparent(rq->traceparent, resp->trace_id, NULL) != 0 &&
        vs_trace_random_hex(resp->trace_id, 16) != 0)
        snprintf(resp->trace_id, sizeof resp->trace_id, "%032x", 1);
    set_error(resp, http, code, NULL, "%s", message);
    vs_srv_metrics_observe(&srv->m, VS_EP_OTHER, rq->method ? rq->method : "", http, 0);
    access_log(&c, VS_EP_OTHER, NULL);
}
