/* server_metrics.c: Prometheus metrics of vs-serve (text exposition format
 * 0.0.4). The names are listed in docs/http.md; the Grafana dashboard in
 * examples/observability/ uses exactly these. */
#include "server_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const double BUCKETS[VS_SRV_NBUCKETS] = VS_SRV_BUCKETS;

static const char *const EP_NAMES[VS_EP_COUNT] = {
    "query", "upsert", "delete", "info", "list", "compact", "snapshot",
    "healthz", "readyz", "metrics", "other"};

const char *vs_srv_ep_name(int ep)
{
    return ep >= 0 && ep < VS_EP_COUNT ? EP_NAMES[ep] : "other";
}

static const char *const METHODS[3] = {"GET", "POST", "other"};

void vs_srv_metrics_init(struct vs_srv_metrics *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
}

void vs_srv_metrics_release(struct vs_srv_metrics *m)
{
    pthread_mutex_destroy(&m->mu);
}

void vs_srv_metrics_observe(struct vs_srv_metrics *m, int ep, const char *method,
                            int status, double seconds)
{
    int mi = strcmp(method, "GET") == 0 ? 0 : strcmp(method, "POST") == 0 ? 1 : 2;
    if (ep < 0 || ep >= VS_EP_COUNT)
        ep = VS_EP_OTHER;
    pthread_mutex_lock(&m->mu);
    size_t i;
    for (i = 0; i < m->nreq; i++)
        if (m->req[i].ep == ep && m->req[i].method == mi && m->req[i].status == status)
            break;
    if (i == m->nreq && m->nreq < sizeof m->req / sizeof m->req[0]) {
        m->req[i].ep = ep;
        m->req[i].method = mi;
        m->req[i].status = status;
        m->req[i].n = 0;
        m->nreq++;
    }
    if (i < m->nreq)
        m->req[i].n++;
    int b = 0;
    while (b < VS_SRV_NBUCKETS && seconds > BUCKETS[b])
        b++;
    m->hist[ep][b]++;
    m->hist_sum[ep] += seconds;
    m->hist_count[ep]++;
    pthread_mutex_unlock(&m->mu);
}

struct buf {
    char *p;
    size_t len, cap;
    int oom;
};

static void bprintf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void bprintf(struct buf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t nc = (b->cap + (size_t)n + 1) * 2;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
}

int vs_srv_metrics_render(struct vs_server *srv, char **out, size_t *len)
{
    struct buf b = {malloc(4096), 0, 4096, 0};
    if (!b.p)
        return VS_E_NOMEM;
    b.p[0] = 0;
    struct vs_srv_metrics *m = &srv->m;
    bprintf(&b, "# HELP vs_build_info Version of vs-serve.\n"
                "# TYPE vs_build_info gauge\n"
                "vs_build_info{version=\"%s\"} 1\n", VS_VERSION);
    pthread_mutex_lock(&m->mu);
    bprintf(&b, "# HELP vs_http_requests_total HTTP requests by endpoint, method and status.\n"
                "# TYPE vs_http_requests_total counter\n");
    for (size_t i = 0; i < m->nreq; i++)
        bprintf(&b, "vs_http_requests_total{endpoint=\"%s\",method=\"%s\",status=\"%d\"} %llu\n",
                EP_NAMES[m->req[i].ep], METHODS[m->req[i].method], m->req[i].status,
                (unsigned long long)m->req[i].n);
    bprintf(&b, "# HELP vs_http_request_duration_seconds Time to answer a request.\n"
                "# TYPE vs_http_request_duration_seconds histogram\n");
    for (int e = 0; e < VS_EP_COUNT; e++) {
        if (!m->hist_count[e])
            continue;
        uint64_t cum = 0;
        for (int k = 0; k < VS_SRV_NBUCKETS; k++) {
            cum += m->hist[e][k];
            bprintf(&b, "vs_http_request_duration_seconds_bucket{endpoint=\"%s\",le=\"%g\"} %llu\n",
                    EP_NAMES[e], BUCKETS[k], (unsigned long long)cum);
        }
        bprintf(&b, "vs_http_request_duration_seconds_bucket{endpoint=\"%s\",le=\"+Inf\"} %llu\n"
                    "vs_http_request_duration_seconds_sum{endpoint=\"%s\"} %.9g\n"
                    "vs_http_request_duration_seconds_count{endpoint=\"%s\"} %llu\n",
                EP_NAMES[e], (unsigned long long)m->hist_count[e], EP_NAMES[e],
                m->hist_sum[e], EP_NAMES[e], (unsigned long long)m->hist_count[e]);
    }
    pthread_mutex_unlock(&m->mu);
    bprintf(&b, "# HELP vs_http_requests_in_flight Requests being answered now.\n"
                "# TYPE vs_http_requests_in_flight gauge\n"
                "vs_http_requests_in_flight %llu\n",
            (unsigned long long)__atomic_load_n(&m->inflight, __ATOMIC_RELAXED));
    pthread_mutex_lock(&srv->run_mu);
    int running = srv->running;
    pthread_mutex_unlock(&srv->run_mu);
    bprintf(&b, "# HELP vs_searches_running Search slots taken now (at most --threads; a scan batch takes them all).\n"
                "# TYPE vs_searches_running gauge\n"
                "vs_searches_running %d\n", running);
    pthread_mutex_lock(&srv->key_mu);
    bprintf(&b, "# HELP vs_rate_limited_total Requests refused with 429, by key.\n"
                "# TYPE vs_rate_limited_total counter\n"
                "vs_rate_limited_total{key=\"\"} %llu\n", (unsigned long long)srv->anon.limited);
    for (size_t i = 0; i < srv->nkeys; i++)
        bprintf(&b, "vs_rate_limited_total{key=\"%s\"} %llu\n", srv->keys[i].name,
                (unsigned long long)srv->keys[i].limited);
    pthread_mutex_unlock(&srv->key_mu);

    if (srv->otlp) {
        uint64_t ex, dr, fa;
        vs_otlp_counts(srv->otlp, &ex, &dr, &fa);
        bprintf(&b, "# HELP vs_trace_spans_total Spans by outcome: exported, dropped (queue full), failed (collector).\n"
                    "# TYPE vs_trace_spans_total counter\n"
                    "vs_trace_spans_total{outcome=\"exported\"} %llu\n"
                    "vs_trace_spans_total{outcome=\"dropped\"} %llu\n"
                    "vs_trace_spans_total{outcome=\"failed\"} %llu\n",
                (unsigned long long)ex, (unsigned long long)dr, (unsigned long long)fa);
    }
    static const char *const per_store[][3] = {
        {"vs_queries_total", "counter", "Queries answered."},
        {"vs_query_hits_total", "counter", "Hit records returned."},
        {"vs_query_k_shortfalls_total", "counter", "Queries that got fewer than k hits."},
        {"vs_query_batches_total", "counter", "Searches of single-query requests combined in one batch."},
        {"vs_store_records", "gauge", "Live records in the served generation."},
        {"vs_store_tombstones", "gauge", "Dead rows kept until compaction."},
        {"vs_store_segments", "gauge", "Segments in the served generation."},
        {"vs_store_bytes", "gauge", "Bytes on disk of the served generation."},
        {"vs_store_generation", "gauge", "Generation being served."},
        {"vs_doc_cache_bytes", "gauge", "Bytes of docs kept decompressed for hits (--doc-cache per segment)."}};
    for (size_t mi = 0; mi < sizeof per_store / sizeof per_store[0]; mi++) {
        bprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", per_store[mi][0], per_store[mi][2],
                per_store[mi][0], per_store[mi][1]);
        for (size_t i = 0; i < srv->nstores; i++) {
            struct vs_srv_store *e = srv->stores[i];
            unsigned long long v = 0;
            if (mi < 4) {
                uint64_t *c = mi == 0 ? &e->queries : mi == 1 ? &e->hits
                              : mi == 2 ? &e->shortfalls : &e->batches;
                v = __atomic_load_n(c, __ATOMIC_RELAXED);
            } else {
                struct vs_srv_gen *g;
                if (vs_srv_gen_acquire(e, &g, NULL) != VS_OK)
                    continue;
                struct vs_store *s = g->store;
                if (mi == 4) v = vs_store_count(s);
                else if (mi == 5) v = vs_store_tombstones(s);
                else if (mi == 6) v = vs_store_nsegments(s);
                else if (mi == 8) v = vs_store_generation(s);
                else if (mi == 9)
                    for (size_t p = 0; p < vs_store_nsegments(s); p++)
                        v += vs_segment_doc_cache_bytes(vs_store_segment(s, p));
                else {
                    json_t *info = NULL;
                    if (vs_store_info(s, &info, NULL) == VS_OK)
                        v = (unsigned long long)json_integer_value(json_object_get(info, "bytes_on_disk"));
                    json_decref(info);
                }
                vs_srv_gen_release(e, g);
            }
            bprintf(&b, "%s{store=\"%s\"} %llu\n", per_store[mi][0], e->name, v);
        }
        for (size_t i = 0; mi < 2 && i < srv->nsharded; i++) /* sharded collections */
            bprintf(&b, "%s{store=\"%s\"} %llu\n", per_store[mi][0], srv->sharded[i]->name,
                    (unsigned long long)__atomic_load_n(mi == 0 ? &srv->sharded[i]->queries
                                                                : &srv->sharded[i]->hits,
                                                        __ATOMIC_RELAXED));
    }
    if (srv->nsharded) { /* server_shards.c */
        char *t = vs_srv_sharded_metrics(srv);
        if (!t)
            b.oom = 1;
        else
            bprintf(&b, "%s", t);
        free(t);
    }
    if (b.oom) {
        free(b.p);
        return VS_E_NOMEM;
    }
    *out = b.p;
    *len = b.len;
    return VS_OK;
}
