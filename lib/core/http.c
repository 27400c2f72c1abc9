/* http.c: POST JSON and GET with timeouts, an optional overall deadline,
 * retries (backoff + jitter, Retry-After) and a client-side
 * requests-per-minute limit, over libcurl.
 *
 * libcurl is loaded on first use (dlopen in vs_http_new), not linked: with
 * its TLS, Kerberos and LDAP libraries it was 88% of every program's
 * start-up (dynamic relocations), also of the runs that never make a
 * request. The curl_* names below call through the loaded functions. */
#include "vs_http.h"

#include <curl/curl.h>
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct vs_http {
    struct vs_http_opts o;
    CURL *curl;
    uint64_t rng;
    double next_start; /* monotonic seconds: earliest next request */
    double deadline;   /* monotonic seconds: no request after it; 0 = none */
    int timed_out;     /* the last request ended at the deadline */
    long requests, retries;
};

static int curl_ready;

static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    void (*easy_reset)(CURL *);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    const char *(*easy_strerror)(CURLcode);
    time_t (*getdate)(const char *, const time_t *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} lc;
static pthread_once_t lc_once = PTHREAD_ONCE_INIT;
static char lc_error[256];

static void lc_load(void)
{
    static const char *const names[] = {"libcurl.so.4", "libcurl-gnutls.so.4", "libcurl.so"};
    const char *err = "not found";
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            err = dlerror();
            continue;
        }
#define LC(field, sym) (*(void **)&lc.field = dlsym(h, sym)) != NULL
        if (LC(global_init, "curl_global_init") && LC(easy_init, "curl_easy_init") &&
            LC(easy_cleanup, "curl_easy_cleanup") && LC(easy_reset, "curl_easy_reset") &&
            LC(easy_setopt, "curl_easy_setopt") && LC(easy_perform, "curl_easy_perform") &&
            LC(easy_getinfo, "curl_easy_getinfo") && LC(easy_strerror, "curl_easy_strerror") &&
            LC(getdate, "curl_getdate") && LC(slist_append, "curl_slist_append") &&
            LC(slist_free_all, "curl_slist_free_all"))
            return; /* kept loaded for the life of the process */
#undef LC
        err = "a function is missing";
        memset(&lc, 0, sizeof lc);
        dlclose(h);
    }
    snprintf(lc_error, sizeof lc_error, "%s", err ? err : "not found");
}

#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init (*lc.global_init)
#define curl_easy_init (*lc.easy_init)
#define curl_easy_cleanup (*lc.easy_cleanup)
#define curl_easy_reset (*lc.easy_reset)
#define curl_easy_setopt (*lc.easy_setopt)
#define curl_easy_perform (*lc.easy_perform)
#define curl_easy_getinfo (*lc.easy_getinfo)
#define curl_easy_strerror (*lc.easy_strerror)
#define curl_getdate (*lc.getdate)
#define curl_slist_append (*lc.slist_append)
#define curl_slist_free_all (*lc.slist_free_all)

struct vs_ratelimit {
    pthread_mutex_t mu;
    double rpm, tpm;
    double next_req, next_tok; /* monotonic seconds */
};

void vs_http_opts_init(struct vs_http_opts *o)
{
    memset(o, 0, sizeof *o);
    o->timeout_ms = 30000;
    o->connect_timeout_ms = 10000;
    o->max_retries = 4;
    o->backoff_base_ms = 500;
    o->backoff_max_ms = 30000;
    o->retry_after_max_ms = 120000;
}

void vs_http_response_release(struct vs_http_response *r)
{
    if (!r)
        return;
    free(r->body);
    r->body = NULL;
    r->len = 0;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    if (s <= 0)
        return;
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int vs_ratelimit_new(double rpm, double tpm, struct vs_ratelimit **out)
{
    *out = NULL;
    struct vs_ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl)
        return VS_E_NOMEM;
    if (pthread_mutex_init(&rl->mu, NULL) != 0) {
        free(rl);
        return VS_E_NOMEM;
    }
    rl->rpm = rpm > 0 ? rpm : 0;
    rl->tpm = tpm > 0 ? tpm : 0;
    *out = rl;
    return VS_OK;
}

void vs_ratelimit_free(struct vs_ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

void vs_ratelimit_wait(struct vs_ratelimit *rl, double tokens)
{
    if (!rl || (rl->rpm <= 0 && rl->tpm <= 0))
        return;
    pthread_mutex_lock(&rl->mu);
    double now = mono_now(), start = now;
    if (rl->rpm > 0 && rl->next_req > start)
        start = rl->next_req;
    if (rl->tpm > 0 && rl->next_tok > start)
        start = rl->next_tok;
    if (rl->rpm > 0)
        rl->next_req = start + 60.0 / rl->rpm;
    if (rl->tpm > 0)
        rl->next_tok = start + 60.0 * (tokens > 0 ? tokens : 0) / rl->tpm;
    pthread_mutex_unlock(&rl->mu);
    sleep_s(start - now);
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int vs_http_new(const struct vs_http_opts *o, struct vs_http **out,
                struct vs_diag *d)
{
    *out = NULL;
    if (!curl_ready) {
        pthread_once(&lc_once, lc_load);
        if (!lc.global_init)
            return vs_diag_set(d, VS_E_INTERNAL, "libcurl cannot be loaded: %s", lc_error);
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return vs_diag_set(d, VS_E_INTERNAL, "libcurl would not initialise");
        curl_ready = 1;
    }
    struct vs_http *h = calloc(1, sizeof *h);
    if (!h)
        return VS_E_NOMEM;
    if (o)
        h->o = *o;
    else
        vs_http_opts_init(&h->o);
    h->curl = curl_easy_init();
    if (!h->curl) {
        free(h);
        return vs_diag_set(d, VS_E_INTERNAL, "libcurl would not start a handle");
    }
    h->rng = h->o.seed ? h->o.seed : (uint64_t)time(NULL) ^ ((uint64_t)clock() << 20);
    *out = h;
    return VS_OK;
}

void vs_http_free(struct vs_http *h)
{
    if (!h)
        return;
    curl_easy_cleanup(h->curl);
    free(h);
}

void vs_http_counts(const struct vs_http *h, long *requests, long *retries)
{
    *requests = h ? h->requests : 0;
    *retries = h ? h->retries : 0;
}

struct sink {
    char *buf;
    size_t len, cap;
    int oom;
    double retry_after; /* seconds, < 0 when absent */
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct sink *s = ud;
    size_t add = size * n;
    if (s->len + add + 1 > s->cap) {
        size_t nc = s->cap ? s->cap : 4096;
        while (nc < s->len + add + 1)
            nc *= 2;
        char *nb = realloc(s->buf, nc);
        if (!nb) {
            s->oom = 1;
            return 0;
        }
        s->buf = nb;
        s->cap = nc;
    }
    memcpy(s->buf + s->len, p, add);
    s->len += add;
    s->buf[s->len] = '\0';
    return add;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct sink *s = ud;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
        char v[128];
        size_t vl = len - (sizeof name - 1);
        if (vl >= sizeof v)
            vl = sizeof v - 1;
        memcpy(v, p + sizeof name - 1, vl);
        v[vl] = '\0';
        char *b = v;
        while (*b && isspace((unsigned char)*b))
            b++;
        char *e = b + strlen(b);
        while (e > b && isspace((unsigned char)e[-1]))
            *--e = '\0';
        char *end;
        double sec = strtod(b, &end);
        if (end != b && *end == '\0' && sec >= 0)
            s->retry_after = sec;
        else {
            time_t t = curl_getdate(b, NULL);
            if (t != (time_t)-1) {
                double diff = difftime(t, time(NULL));
                s->retry_after = diff > 0 ? diff : 0;
            }
        }
    }
    return len;
}

static int retryable_status(long st)
{
    return st == 429 || (st >= 500 && st <= 599);
}

static int retryable_curl(CURLcode c)
{
    switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return 1;
    default:
        return 0;
    }
}

/* Delay before retry number `attempt` (0-based). */
static double backoff_s(struct vs_http *h, int attempt, double retry_after)
{
    if (retry_after >= 0) {
        double cap = (double)h->o.retry_after_max_ms / 1000.0;
        return retry_after < cap ? retry_after : cap;
    }
    double ceil_ms = (double)h->o.backoff_base_ms;
    for (int i = 0; i < attempt && ceil_ms < (double)h->o.backoff_max_ms; i++)
        ceil_ms *= 2;
    if (ceil_ms > (double)h->o.backoff_max_ms)
        ceil_ms = (double)h->o.backoff_max_ms;
    double u = (double)(rng_next(&h->rng) >> 11) / 9007199254740992.0;
    return u * ceil_ms / 1000.0;
}

void vs_http_set_deadline(struct vs_http *h, double deadline)
{
    if (h)
        h->deadline = deadline > 0 ? deadline : 0;
}

int vs_http_timed_out(const struct vs_http *h)
{
    return h ? h->timed_out : 0;
}

double vs_http_now(void)
{
    return mono_now();
}

static int request(struct vs_http *h, int post, const char *url,
                   const char *const *headers, const char *body, size_t len,
                   double tokens, struct vs_http_response *resp, struct vs_diag *d);

int vs_http_post_json(struct vs_http *h, const char *url,
                      const char *const *headers, const char *body,
                      size_t len, struct vs_http_response *resp,
                      struct vs_diag *d)
{
    return request(h, 1, url, headers, body, len, 0, resp, d);
}

int vs_http_post_json_tokens(struct vs_http *h, const char *url,
                             const char *const *headers, const char *body,
                             size_t len, double tokens,
                             struct vs_http_response *resp, struct vs_diag *d)
{
    return request(h, 1, url, headers, body, len, tokens, resp, d);
}

int vs_http_get(struct vs_http *h, const char *url, const char *const *headers,
                struct vs_http_response *resp, struct vs_diag *d)
{
    return request(h, 0, url, headers, NULL, 0, 0, resp, d);
}

static int request(struct vs_http *h, int post, const char *url,
                   const char *const *headers, const char *body, size_t len,
                   double tokens, struct vs_http_response *resp, struct vs_diag *d)
{
    memset(resp, 0, sizeof *resp);
    h->timed_out = 0;
    if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
        return vs_diag_set(d, VS_E_USAGE, "URL '%s' is not http:// or https://",
                           url ? url : "");
    struct curl_slist *hl = NULL, *t;
    if (post) {
        if (!(t = curl_slist_append(hl, "Content-Type: application/json")))
            return VS_E_NOMEM;
        hl = t;
    }
    for (size_t i = 0; headers && headers[i]; i++) {
        if (!(t = curl_slist_append(hl, headers[i]))) {
            curl_slist_free_all(hl);
            return VS_E_NOMEM;
        }
        hl = t;
    }
    int st = VS_E_NETWORK;
    for (int attempt = 0;; attempt++) {
        if (h->o.rpm > 0) {
            double now = mono_now();
            if (h->next_start > now)
                sleep_s(h->next_start - now);
            h->next_start = mono_now() + 60.0 / h->o.rpm;
        }
        vs_ratelimit_wait(h->o.limit, tokens);
        /* the deadline cuts this attempt's timeouts to the time left */
        long tmo = h->o.timeout_ms, ctmo = h->o.connect_timeout_ms;
        int cut = 0;
        if (h->deadline > 0) {
            double left_ms = (h->deadline - mono_now()) * 1000.0;
            if (left_ms < 1) {
                h->timed_out = 1;
                if (attempt == 0)
                    st = vs_diag_set(d, VS_E_NETWORK, "no request to '%s': the deadline "
                                     "had passed", url);
                break; /* else d holds the last attempt's error */
            }
            if (left_ms < (double)tmo || tmo <= 0) {
                tmo = (long)left_ms;
                cut = 1;
            }
            if (ctmo > tmo || ctmo <= 0)
                ctmo = tmo;
        }
        struct sink s = {NULL, 0, 0, 0, -1};
        CURL *c = h->curl;
        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, url);
        if (post) {
            curl_easy_setopt(c, CURLOPT_POST, 1L);
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        } else
            curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &s);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, tmo);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ctmo);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "vecstore/" VS_VERSION);
        h->requests++;
        CURLcode cc = curl_easy_perform(c);
        long code = 0;
        if (cc == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        if (s.oom) {
            free(s.buf);
            st = VS_E_NOMEM;
            break;
        }
        int retry;
        if (cc != CURLE_OK && cut && cc == CURLE_OPERATION_TIMEDOUT) {
            st = vs_diag_set(d, VS_E_NETWORK, "no answer from '%s' before the deadline "
                             "(%ld ms left for it)", url, tmo);
            retry = 0; /* no time left for another try */
            h->timed_out = 1;
        } else if (cc != CURLE_OK) {
            st = vs_diag_set(d, VS_E_NETWORK, "request to '%s' failed: %s", url,
                             curl_easy_strerror(cc));
            retry = retryable_curl(cc);
        } else if (code >= 200 && code <= 299) {
            resp->status = code;
            resp->body = s.buf ? s.buf : strdup("");
            resp->len = s.len;
            st = resp->body ? VS_OK : VS_E_NOMEM;
            break;
        } else {
            st = vs_diag_set(d, VS_E_REMOTE, "'%s' answered HTTP %ld", url, code);
            retry = retryable_status(code);
        }
        double wait = retry ? backoff_s(h, attempt, code == 429 || code == 503 ? s.retry_after
                                                                              : -1)
                            : 0;
        if (retry && h->deadline > 0 && mono_now() + wait >= h->deadline) {
            retry = 0; /* it would start after the deadline */
            h->timed_out = 1;
        }
        if (!retry || attempt >= h->o.max_retries) {
            if (cc == CURLE_OK) {
                resp->status = code;
                resp->body = s.buf;
                resp->len = s.len;
                s.buf = NULL;
            }
            free(s.buf);
            if (retry && d) {
                char prev[sizeof d->detail];
                memcpy(prev, d->detail, sizeof prev);
                vs_diag_set(d, st, "%.900s (after %d retries)", prev, attempt);
            }
            break;
        }
        free(s.buf);
        h->retries++;
        sleep_s(wait);
    }
    curl_slist_free_all(hl);
    return st;
}
