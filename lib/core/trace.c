/* trace.c: spans exported over OTLP/HTTP with the JSON encoding
 * (ExportTraceServiceRequest: resourceSpans -> scopeSpans -> spans; trace
 * and span ids as lowercase hex, times as decimal strings of Unix nanos).
 * Spans are queued and sent by one background thread in batches, so a
 * request never waits for the collector; when the queue is full new spans
 * are dropped and counted. Configured from the standard variables:
 * OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER (otlp or none),
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT (+
 * "/v1/traces"), OTEL_EXPORTER_OTLP_PROTOCOL (http/json only),
 * OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_TIMEOUT,
 * OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_SCHEDULE_DELAY,
 * OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE. */
#include "vs_trace.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "vs_http.h"

#ifndef VS_VERSION
#error "VS_VERSION is passed by the Makefile from the file VERSION"
#endif

struct vs_otlp {
    char url[2048];
    char **headers;      /* NULL-terminated "K: V" */
    json_t *resource;    /* attributes array */
    struct vs_http *http;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    json_t **q;
    size_t n, cap, batch;
    long delay_ms;
    int stop, joined;
    uint64_t exported, dropped, failed;
};

static long env_long(const char *name, long def, long min, long max)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return def;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return def;
    return v;
}

static json_t *kv_string(const char *k, const char *v)
{
    return json_pack("{s:s,s:{s:s}}", "key", k, "value", "stringValue", v);
}

/* "k1=v1,k2=v2" -> calls fn(k, v) with trimmed strings */
static int each_pair(const char *s, int (*fn)(const char *k, const char *v, void *arg),
                     void *arg)
{
    char *dup = strdup(s), *save = NULL;
    if (!dup)
        return VS_E_NOMEM;
    int st = VS_OK;
    for (char *tok = strtok_r(dup, ",", &save); tok && st == VS_OK;
         tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            continue;
        *eq = 0;
        char *k = tok, *v = eq + 1;
        while (*k == ' ') k++;
        while (*v == ' ') v++;
        for (char *e = k + strlen(k); e > k && e[-1] == ' '; e--) e[-1] = 0;
        for (char *e = v + strlen(v); e > v && e[-1] == ' '; e--) e[-1] = 0;
        if (*k)
            st = fn(k, v, arg);
    }
    free(dup);
    return st;
}

static int add_header(const char *k, const char *v, void *arg)
{
    struct vs_otlp *x = arg;
    size_t n = 0;
    while (x->headers && x->headers[n])
        n++;
    char **nh = realloc(x->headers, (n + 2) * sizeof *nh);
    if (!nh)
        return VS_E_NOMEM;
    x->headers = nh;
    size_t len = strlen(k) + strlen(v) + 3;
    if (!(nh[n] = malloc(len)))
        return VS_E_NOMEM;
    snprintf(nh[n], len, "%s: %s", k, v);
    nh[n + 1] = NULL;
    return VS_OK;
}

static int add_resource(const char *k, const char *v, void *arg)
{
    struct vs_otlp *x = arg;
    if (strcmp(k, "service.name") == 0)
        return VS_OK; /* OTEL_SERVICE_NAME wins; set below */
    json_array_append_new(x->resource, kv_string(k, v));
    return VS_OK;
}

static void export_batch(struct vs_otlp *x, json_t **spans, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, spans[i]);
    json_t *req = json_pack("{s:[{s:{s:O},s:[{s:{s:s,s:s},s:o}]}]}",
                            "resourceSpans", "resource", "attributes", x->resource,
                            "scopeSpans", "scope", "name", "vecstore", "version", VS_VERSION,
                            "spans", arr);
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    struct vs_http_response resp = {0};
    int st = body ? vs_http_post_json(x->http, x->url, (const char *const *)x->headers,
                                      body, strlen(body), &resp, NULL)
                  : VS_E_NOMEM;
    vs_http_response_release(&resp);
    free(body);
    pthread_mutex_lock(&x->mu);
    if (st == VS_OK)
        x->exported += n;
    else
        x->failed += n;
    pthread_mutex_unlock(&x->mu);
}

static void *exporter(void *arg)
{
    struct vs_otlp *x = arg;
    json_t **take = malloc(x->batch * sizeof *take);
    if (!take)
        return NULL;
    pthread_mutex_lock(&x->mu);
    for (;;) {
        if (!x->stop && x->n < x->batch) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += x->delay_ms / 1000;
            ts.tv_nsec += (x->delay_ms % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&x->cv, &x->mu, &ts);
        }
        size_t k = x->n < x->batch ? x->n : x->batch;
        memcpy(take, x->q, k * sizeof *take);
        memmove(x->q, x->q + k, (x->n - k) * sizeof *x->q);
        x->n -= k;
        int stop = x->stop;
        pthread_mutex_unlock(&x->mu);
        if (k)
            export_batch(x, take, k);
        pthread_mutex_lock(&x->mu);
        if (stop && x->n == 0)
            break;
    }
    pthread_mutex_unlock(&x->mu);
    free(take);
    return NULL;
}

void vs_otlp_shutdown(struct vs_otlp *x)
{
    if (!x || !x->http || x->joined)
        return;
    pthread_mutex_lock(&x->mu);
    x->stop = 1;
    pthread_cond_signal(&x->cv);
    pthread_mutex_unlock(&x->mu);
    pthread_join(x->th, NULL);
    x->joined = 1;
}

void vs_otlp_free(struct vs_otlp *x)
{
    if (!x)
        return;
    vs_otlp_shutdown(x);
    for (size_t i = 0; i < x->n; i++)
        json_decref(x->q[i]);
    free(x->q);
    for (size_t i = 0; x->headers && x->headers[i]; i++)
        free(x->headers[i]);
    free(x->headers);
    json_decref(x->resource);
    vs_http_free(x->http);
    pthread_mutex_destroy(&x->mu);
    pthread_cond_destroy(&x->cv);
    free(x);
}

int vs_otlp_new_from_env(const char *service, int mode, struct vs_otlp **out,
                         struct vs_diag *d)
{
    *out = NULL;
    const char *dis = getenv("OTEL_SDK_DISABLED");
    const char *exp = getenv("OTEL_TRACES_EXPORTER");
    if ((dis && strcasecmp(dis, "true") == 0) || (exp && strcmp(exp, "none") == 0))
        return VS_OK;
    if (exp && *exp && strcmp(exp, "otlp") != 0)
        return vs_diag_set(d, VS_E_UNSUPPORTED, "OTEL_TRACES_EXPORTER=%.100s: only otlp and none are supported", exp);
    const char *full = getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    const char *base = getenv("OTEL_EXPORTER_OTLP_ENDPOINT");
    if ((!full || !*full) && (!base || !*base))
        return VS_OK; /* tracing off */
    const char *proto = getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL");
    if (!proto || !*proto)
        proto = getenv("OTEL_EXPORTER_OTLP_PROTOCOL");
    if (proto && *proto && strcmp(proto, "http/json") != 0)
        return vs_diag_set(d, VS_E_UNSUPPORTED,
                           "OTEL_EXPORTER_OTLP_PROTOCOL=%.100s: only http/json is supported", proto);
    struct vs_otlp *x = calloc(1, sizeof *x);
    if (!x)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    pthread_mutex_init(&x->mu, NULL);
    pthread_cond_init(&x->cv, NULL);
    int st = VS_OK;
    if (full && *full)
        snprintf(x->url, sizeof x->url, "%s", full);
    else {
        size_t bl = strlen(base);
        snprintf(x->url, sizeof x->url, "%.*s/v1/traces", (int)(bl && base[bl - 1] == '/' ? bl - 1 : bl), base);
    }
    x->cap = (size_t)env_long("OTEL_BSP_MAX_QUEUE_SIZE", 2048, 1, 1 << 20);
    x->batch = (size_t)env_long("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512, 1, 1 << 20);
    if (x->batch > x->cap)
        x->batch = x->cap;
    x->delay_ms = env_long("OTEL_BSP_SCHEDULE_DELAY", 5000, 0, 3600000);
    long timeout = env_long("OTEL_EXPORTER_OTLP_TIMEOUT", 10000, 1, 3600000);
    timeout = env_long("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", timeout, 1, 3600000);
    x->q = calloc(x->cap, sizeof *x->q);
    x->resource = json_array();
    if (!x->q || !x->resource) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto fail;
    }
    const char *svc = getenv("OTEL_SERVICE_NAME");
    json_array_append_new(x->resource, kv_string("service.name", svc && *svc ? svc : service));
    json_array_append_new(x->resource, kv_string("service.version", VS_VERSION));
    const char *ra = getenv("OTEL_RESOURCE_ATTRIBUTES");
    const char *hd = getenv("OTEL_EXPORTER_OTLP_HEADERS");
    if ((ra && (st = each_pair(ra, add_resource, x)) != VS_OK) ||
        (hd && (st = each_pair(hd, add_header, x)) != VS_OK)) {
        vs_diag_set(d, st, "out of memory");
        goto fail;
    }
    struct vs_http_opts ho;
    vs_http_opts_init(&ho);
    ho.timeout_ms = timeout;
    ho.connect_timeout_ms = timeout < 5000 ? timeout : 5000;
    ho.max_retries = 2;
    if (mode == VS_OTLP_BATCH) {
        ho.connect_timeout_ms = timeout < 1000 ? timeout : 1000;
        ho.max_retries = 0;
    }
    ho.backoff_base_ms = 200;
    ho.backoff_max_ms = 2000;
    ho.retry_after_max_ms = 5000;
    if ((st = vs_http_new(&ho, &x->http, d)) != VS_OK)
        goto fail;
    if (pthread_create(&x->th, NULL, exporter, x) != 0) {
        vs_http_free(x->http);
        x->http = NULL;
        st = vs_diag_set(d, VS_E_INTERNAL, "cannot start the trace exporter thread");
        goto fail;
    }
    *out = x;
    return VS_OK;
fail:
    vs_otlp_free(x);
    return st;
}

void vs_otlp_span(struct vs_otlp *x, const char *trace_id, const char *span_id,
                  const char *parent_id, const char *name, int kind,
                  uint64_t start_ns, uint64_t end_ns, int error, json_t *attrs)
{
    if (!x) {
        json_decref(attrs);
        return;
    }
    char s0[24], s1[24];
    snprintf(s0, sizeof s0, "%llu", (unsigned long long)start_ns);
    snprintf(s1, sizeof s1, "%llu", (unsigned long long)end_ns);
    json_t *sp = json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:o,s:{s:i}}",
                           "traceId", trace_id, "spanId", span_id, "name", name,
                           "kind", kind, "startTimeUnixNano", s0,
                           "endTimeUnixNano", s1,
                           "attributes", attrs ? attrs : json_array(),
                           "status", "code", error ? 2 : 0);
    if (sp && parent_id && *parent_id)
        json_object_set_new(sp, "parentSpanId", json_string(parent_id));
    if (!sp)
        return;
    pthread_mutex_lock(&x->mu);
    if (!x->stop && x->n < x->cap) {
        x->q[x->n++] = sp;
        if (x->n >= x->batch)
            pthread_cond_signal(&x->cv);
        sp = NULL;
    } else {
        x->dropped++;
    }
    pthread_mutex_unlock(&x->mu);
    json_decref(sp);
}

void vs_otlp_counts(struct vs_otlp *x, uint64_t *exported, uint64_t *dropped,
                    uint64_t *failed)
{
    *exported = *dropped = *failed = 0;
    if (!x)
        return;
    pthread_mutex_lock(&x->mu);
    *exported = x->exported;
    *dropped = x->dropped;
    *failed = x->failed;
    pthread_mutex_unlock(&x->mu);
}

const char *vs_otlp_url(const struct vs_otlp *x)
{
    return x ? x->url : "";
}

int vs_trace_parse_traceparent(const char *tp, char trace_id[VS_TRACE_ID_LEN],
                               char parent_id[VS_SPAN_ID_LEN])
{
    if (!tp || strlen(tp) < 55)
        return -1;
    for (int i = 0; i < 55; i++) {
        char ch = tp[i];
        int dash = i == 2 || i == 35 || i == 52;
        if (dash ? ch != '-' : !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return -1;
    }
    /* version ff is invalid; version 00 is exactly 55 characters; a later
     * version may append fields after a '-' */
    if (strncmp(tp, "ff", 2) == 0 || (strncmp(tp, "00", 2) == 0 && tp[55]) ||
        (tp[55] && tp[55] != '-'))
        return -1;
    if (strspn(tp + 3, "0") >= 32 || strspn(tp + 36, "0") >= 16)
        return -1;
    memcpy(trace_id, tp + 3, 32);
    trace_id[32] = 0;
    if (parent_id) {
        memcpy(parent_id, tp + 36, 16);
        parent_id[16] = 0;
    }
    return 0;
}

/* Ids come from a per-thread generator: SipHash-2-4 (a keyed
 * pseudo-random function) of a 64-bit counter under a 128-bit key, key and
 * counter's start drawn from getrandom once per thread (and again in a
 * child after fork). Each 8 bytes of an id are one output for a counter
 * value the thread never uses again, so a thread's ids do not repeat, and
 * without the key its outputs cannot be told from random ones: nobody who
 * sees ids can predict the next (W3C Trace Context asks ids to be random
 * and hard to guess; they are not secrets). One getrandom per thread
 * instead of one per id (a request of vs-serve made two). */
static inline uint64_t rotl64(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64 - b));
}

/* one SipRound over the state v[0..3] */
static inline void sipround(uint64_t v[4])
{
    v[0] += v[1]; v[1] = rotl64(v[1], 13); v[1] ^= v[0]; v[0] = rotl64(v[0], 32);
    v[2] += v[3]; v[3] = rotl64(v[3], 16); v[3] ^= v[2];
    v[0] += v[3]; v[3] = rotl64(v[3], 21); v[3] ^= v[0];
    v[2] += v[1]; v[1] = rotl64(v[1], 17); v[1] ^= v[2]; v[2] = rotl64(v[2], 32);
}

/* SipHash-2-4 of the 8-byte little-endian message m under key (k0, k1). */
static uint64_t siphash_u64(uint64_t k0, uint64_t k1, uint64_t m)
{
    uint64_t v[4] = {k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL,
                     k0 ^ 0x6c7967656e657261ULL, k1 ^ 0x7465646279746573ULL};
    v[3] ^= m;
    sipround(v);
    sipround(v);
    v[0] ^= m;
    uint64_t b = (uint64_t)8 << 56; /* the length, no bytes left over */
    v[3] ^= b;
    sipround(v);
    sipround(v);
    v[0] ^= b;
    v[2] ^= 0xff;
    for (int i = 0; i < 4; i++)
        sipround(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

uint64_t vs_trace_siphash_u64(uint64_t k0, uint64_t k1, uint64_t m)
{
    return siphash_u64(k0, k1, m);
}

static unsigned id_fork_epoch = 1; /* bumped in the child at fork */
static pthread_once_t id_once = PTHREAD_ONCE_INIT;
static void id_child(void) { __atomic_add_fetch(&id_fork_epoch, 1, __ATOMIC_RELAXED); }
static void id_register(void) { pthread_atfork(NULL, NULL, id_child); }

static __thread struct {
    uint64_t k0, k1, ctr;
    unsigned epoch; /* id_fork_epoch when seeded, 0 = not seeded */
} id_gen;

int vs_trace_random_hex(char *out, size_t nbytes)
{
    if (nbytes != 8 && nbytes != 16)
        return -1;
    unsigned epoch = __atomic_load_n(&id_fork_epoch, __ATOMIC_RELAXED);
    if (id_gen.epoch != epoch) {
        uint64_t seed[3];
        pthread_once(&id_once, id_register);
        if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed)
            return -1;
        id_gen.k0 = seed[0];
        id_gen.k1 = seed[1];
        id_gen.ctr = seed[2];
        id_gen.epoch = __atomic_load_n(&id_fork_epoch, __ATOMIC_RELAXED);
    }
    static const char hx[] = "0123456789abcdef";
    for (size_t w = 0; w < nbytes / 8; w++) {
        uint64_t v = siphash_u64(id_gen.k0, id_gen.k1, id_gen.ctr++);
        for (int i = 0; i < 16; i++)
            out[16 * w + (size_t)i] = hx[(v >> (60 - 4 * i)) & 15];
    }
    out[2 * nbytes] = 0;
    return 0;
}

uint64_t vs_trace_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

json_t *vs_trace_attr_s(const char *key, const char *v)
{
    json_t *jv = json_string(v); /* NULL for invalid UTF-8 */
    if (!jv)
        jv = json_string("(not utf-8)");
    return json_pack("{s:s,s:{s:o}}", "key", key, "value", "stringValue", jv);
}

json_t *vs_trace_attr_i(const char *key, long long v)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", v);
    return json_pack("{s:s,s:{s:s}}", "key", key, "value", "intValue", b);
}

json_t *vs_trace_attr_d(const char *key, double v)
{
    return json_pack("{s:s,s:{s:f}}", "key", key, "value", "doubleValue", v);
}
