/* test_http.c: the HTTP client's retries, rate limit and URL checks (the
 * server side, 429/Retry-After/500/timeouts, is tested in vs-eval.bats with
 * tests/mock_llm.py). */
#include "test.h"
#include "vs_internal.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A local port with nothing listening. */
static int closed_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &l) != 0)
        return -1;
    close(s);
    return ntohs(a.sin_port);
}

static void test_connection_refused_is_retried(void)
{
    int port = closed_port();
    if (port < 0)
        SKIP("no loopback socket");
    struct vs_http_opts o;
    vs_http_opts_init(&o);
    o.max_retries = 2;
    o.backoff_base_ms = 10;
    o.seed = 7;
    struct vs_http *h = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_http_new(&o, &h, &d), VS_OK);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/x", port);
    const char *hdr[] = {"Authorization: Bearer sk-unit-SECRET", NULL};
    struct vs_http_response r;
    CHECK_EQ_INT(vs_http_post_json(h, url, hdr, "{}", 2, &r, &d), VS_E_NETWORK);
    CHECK(strstr(d.detail, "after 2 retries") != NULL);
    CHECK(strstr(d.detail, "SECRET") == NULL);
    CHECK(r.body == NULL);
    long req, ret;
    vs_http_counts(h, &req, &ret);
    CHECK_EQ_INT(req, 3);
    CHECK_EQ_INT(ret, 2);
    vs_http_free(h);
}

static void test_rate_limit_spaces_requests(void)
{
    int port = closed_port();
    if (port < 0)
        SKIP("no loopback socket");
    struct vs_http_opts o;
    vs_http_opts_init(&o);
    o.max_retries = 0;
    o.rpm = 600; /* one request every 0.1 s */
    struct vs_http *h = NULL;
    CHECK_EQ_INT(vs_http_new(&o, &h, NULL), VS_OK);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    struct vs_http_response r;
    double t0 = now();
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(vs_http_post_json(h, url, NULL, "{}", 2, &r, NULL), VS_E_NETWORK);
    CHECK(now() - t0 >= 0.19);
    vs_http_free(h);
}

static void test_bad_url(void)
{
    struct vs_http *h = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_http_new(NULL, &h, &d), VS_OK);
    struct vs_http_response r;
    CHECK_EQ_INT(vs_http_post_json(h, "ftp://x/", NULL, "{}", 2, &r, &d), VS_E_USAGE);
    vs_http_free(h);
    vs_http_free(NULL);
    vs_http_response_release(NULL);
}

struct limiter_job {
    struct vs_ratelimit *rl;
    double tokens;
};

static void *limiter_worker(void *arg)
{
    struct limiter_job *j = arg;
    for (int i = 0; i < 3; i++)
        vs_ratelimit_wait(j->rl, j->tokens);
    return NULL;
}

/* A shared limiter spaces the requests of several threads: 6 requests of
 * 10 tokens at 6000 tokens a minute take at least 5 x 0.1 s; with 1200 rpm
 * and no token limit at least 5 x 0.05 s. The upper bounds are generous (a
 * loaded machine is slow, never fast): they only catch a limiter that waits
 * for a whole minute's budget to come back. */
static void test_shared_limiter(void)
{
    struct vs_ratelimit *rl = NULL;
    CHECK_EQ_INT(vs_ratelimit_new(0, 6000, &rl), VS_OK);
    pthread_t th[2];
    struct limiter_job j = {rl, 10};
    double t0 = now();
    for (int t = 0; t < 2; t++)
        pthread_create(&th[t], NULL, limiter_worker, &j);
    for (int t = 0; t < 2; t++)
        pthread_join(th[t], NULL);
    double el = now() - t0;
    CHECK(el >= 0.49);
    CHECK(el < 30.0);
    vs_ratelimit_free(rl);
    CHECK_EQ_INT(vs_ratelimit_new(1200, 0, &rl), VS_OK);
    t0 = now();
    for (int i = 0; i < 6; i++)
        vs_ratelimit_wait(rl, 1e9); /* tokens do not count without a tpm */
    el = now() - t0;
    CHECK(el >= 0.24);
    CHECK(el < 30.0);
    vs_ratelimit_free(rl);
    vs_ratelimit_free(NULL);
    vs_ratelimit_wait(NULL, 5); /* no limiter: returns at once */
}

/* A listening loopback socket (*port set); -1 when none. */
static int listener(int *port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 4) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &l) != 0) {
        if (s >= 0)
            close(s);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return s;
}

/* One connection: the request's head into req, then a 200 with body "ok". */
struct one_server {
    int fd;
    char req[2048];
};

static void *serve_one(void *arg)
{
    struct one_server *o = arg;
    int c = accept(o->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    size_t n = 0;
    while (n + 1 < sizeof o->req) {
        ssize_t r = read(c, o->req + n, sizeof o->req - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        o->req[n] = '\0';
        if (strstr(o->req, "\r\n\r\n"))
            break;
    }
    static const char ans[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    if (write(c, ans, sizeof ans - 1) < 0)
        n = 0;
    close(c);
    return NULL;
}

/* vs_http_get sends a GET with the caller's headers and no body, and
 * returns the answer. */
static void test_get(void)
{
    struct one_server o = {-1, ""};
    int port = 0;
    if ((o.fd = listener(&port)) < 0)
        SKIP("no loopback socket");
    pthread_t th;
    pthread_create(&th, NULL, serve_one, &o);
    struct vs_http *h = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_http_new(NULL, &h, &d), VS_OK);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/stores", port);
    const char *hdr[] = {"Authorization: Bearer k1", NULL};
    struct vs_http_response r;
    CHECK_EQ_INT(vs_http_get(h, url, hdr, &r, &d), VS_OK);
    pthread_join(th, NULL);
    close(o.fd);
    CHECK_EQ_INT(r.status, 200);
    CHECK(r.body && strcmp(r.body, "ok") == 0);
    CHECK(strncmp(o.req, "GET /v1/stores HTTP/1.1\r\n", 25) == 0);
    CHECK(strstr(o.req, "\r\nAuthorization: Bearer k1\r\n") != NULL);
    CHECK(strstr(o.req, "Content-Type") == NULL);
    CHECK(strstr(o.req, "Content-Length") == NULL);
    vs_http_response_release(&r);
    CHECK_EQ_INT(vs_http_get(h, "ftp://x/", NULL, &r, &d), VS_E_USAGE);
    vs_http_free(h);
}

/* A server that takes the connection and never answers: the deadline ends
 * the request (not the 30 s timeout), without a retry, and a request after
 * the deadline is not sent at all. */
static void test_deadline(void)
{
    int port = 0, fd = listener(&port); /* the kernel accepts; no one answers */
    if (fd < 0)
        SKIP("no loopback socket");
    struct vs_http_opts o;
    vs_http_opts_init(&o);
    o.max_retries = 3;
    o.backoff_base_ms = 10;
    struct vs_http *h = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_http_new(&o, &h, &d), VS_OK);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/stores/kb/shard", port);
    double deadline = vs_http_now() + 0.3;
    vs_http_set_deadline(h, deadline);
    struct vs_http_response r;
    CHECK_EQ_INT(vs_http_post_json(h, url, NULL, "{}", 2, &r, &d), VS_E_NETWORK);
    CHECK(strstr(d.detail, "before the deadline") != NULL);
    CHECK(vs_http_timed_out(h));
    long req, ret;
    vs_http_counts(h, &req, &ret);
    CHECK_EQ_INT(req, 1);
    CHECK_EQ_INT(ret, 0);
    vs_diag_clear(&d);
    while (vs_http_now() <= deadline) /* curl may give up a moment early */
        usleep(5000);
    CHECK_EQ_INT(vs_http_get(h, url, NULL, &r, &d), VS_E_NETWORK);
    CHECK(strstr(d.detail, "the deadline had passed") != NULL);
    vs_http_counts(h, &req, &ret);
    CHECK_EQ_INT(req, 1);
    vs_http_set_deadline(h, 0); /* none again: the request is sent */
    close(fd);
    CHECK_EQ_INT(vs_http_get(h, url, NULL, &r, &d), VS_E_NETWORK);
    CHECK(!vs_http_timed_out(h));
    vs_http_counts(h, &req, &ret);
    CHECK(req > 1);
    vs_http_free(h);
}

int main(void)
{
    RUN(test_get);
    RUN(test_deadline);
    RUN(test_connection_refused_is_retried);
    RUN(test_rate_limit_spaces_requests);
    RUN(test_bad_url);
    RUN(test_shared_limiter);
    return vs_test_done();
}
