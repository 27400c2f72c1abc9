/* vs_http.h: a small HTTP client for JSON APIs (embedding, rerank, LLM
 * judges, remote shards) over libcurl.
 *
 * One client holds one connection cache and one rate limiter; it is not
 * thread safe (use one per thread). A request is retried on connection
 * errors, timeouts, HTTP 429 and 5xx, with exponential backoff and full
 * jitter (delay = random in [0, min(max, base * 2^attempt)]); a
 * Retry-After header (seconds or an HTTP date) on 429/503 sets the delay
 * instead (capped at retry_after_max_ms). A client-side limit of requests
 * per minute spaces request starts at least 60/rpm seconds apart.
 *
 * Headers given by the caller (e.g. "Authorization: Bearer ...") are sent
 * and never copied into diagnostics.
 */
#ifndef VS_HTTP_H
#define VS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "vs_status.h"

/* A limit on requests and tokens per minute shared by several clients (one
 * per thread): request starts are spaced at least 60/rpm seconds apart, and
 * a request of T tokens moves the next start on by 60*T/tpm seconds (no
 * burst). Thread safe. */
struct vs_ratelimit;
/* rpm, tpm: 0 = no limit. Returns VS_OK or VS_E_NOMEM. */
int vs_ratelimit_new(double rpm, double tpm, struct vs_ratelimit **out);
void vs_ratelimit_free(struct vs_ratelimit *rl);
/* Sleep until a request of `tokens` may start and account for it. */
void vs_ratelimit_wait(struct vs_ratelimit *rl, double tokens);

struct vs_http_opts {
    long timeout_ms;          /* whole request (default 30000) */
    long connect_timeout_ms;  /* connection setup (default 10000) */
    int max_retries;          /* retries after the first attempt (default 4) */
    long backoff_base_ms;     /* first backoff ceiling (default 500) */
    long backoff_max_ms;      /* backoff ceiling (default 30000) */
    long retry_after_max_ms;  /* cap on Retry-After (default 120000) */
    double rpm;               /* requests per minute, 0 = unlimited */
    uint64_t seed;            /* jitter seed, 0 = from the clock */
    struct vs_ratelimit *limit; /* shared limiter consulted before every
                                   attempt (NULL = none; not owned) */
};

/* Fill o with the defaults above. */
void vs_http_opts_init(struct vs_http_opts *o);

struct vs_http_response {
    long status;   /* HTTP status of the last attempt, 0 if none */
    char *body;    /* NUL-terminated, malloc'd (release frees it) */
    size_t len;
};
void vs_http_response_release(struct vs_http_response *r);

struct vs_http;
/* Returns VS_OK, VS_E_NOMEM or VS_E_INTERNAL (curl would not start). */
int vs_http_new(const struct vs_http_opts *o, struct vs_http **out,
                struct vs_diag *d);
void vs_http_free(struct vs_http *h);

/* POST body (Content-Type: application/json) to url with extra headers
 * (NULL-terminated list, may be NULL). On VS_OK the status is 2xx and resp
 * holds the body (release it). Errors: VS_E_NETWORK (no answer after the
 * retries), VS_E_REMOTE (an HTTP error status; resp holds the last body),
 * VS_E_USAGE (bad URL), VS_E_NOMEM. */
int vs_http_post_json(struct vs_http *h, const char *url,
                      const char *const *headers, const char *body,
                      size_t len, struct vs_http_response *resp,
                      struct vs_diag *d);

/* The same, weighing the request as `tokens` for the shared limiter's
 * tokens-per-minute budget (every attempt, retries included, counts). */
int vs_http_post_json_tokens(struct vs_http *h, const char *url,
                             const char *const *headers, const char *body,
                             size_t len, double tokens,
                             struct vs_http_response *resp, struct vs_diag *d);

/* GET url with extra headers (NULL-terminated list, may be NULL): as
 * vs_http_post_json otherwise (retries, statuses, errors). */
int vs_http_get(struct vs_http *h, const char *url, const char *const *headers,
                struct vs_http_response *resp, struct vs_diag *d);

/* An overall deadline for h's requests from now on, in the seconds of
 * vs_http_now (CLOCK_MONOTONIC); 0 = none. Each attempt's timeouts are cut
 * to the time left, a retry that would start after it is not made, and a
 * request once it has passed is not sent: VS_E_NETWORK, d saying so. */
void vs_http_set_deadline(struct vs_http *h, double deadline);
/* 1 when h's last request failed because of the deadline. */
int vs_http_timed_out(const struct vs_http *h);
/* CLOCK_MONOTONIC seconds, the clock of vs_http_set_deadline. */
double vs_http_now(void);

/* Requests sent (attempts) and retries done by this client so far. */
void vs_http_counts(const struct vs_http *h, long *requests, long *retries);

#endif
