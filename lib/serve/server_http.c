/* server_http.c: libmicrohttpd in front of vs_srv_handle: --threads
 * threads (MHD's thread pool, epoll) read the connections and answer the
 * quick requests themselves (vs_srv_quick: health, metrics, info, a query
 * of one record); a query queued for the search threads (server_batch.c)
 * and a request that may wait long (conn_spawn: writes, /readyz,
 * several records, sharded collections) suspend their connection until
 * their answer is ready (MHD_suspend_connection / MHD_resume_connection;
 * MHD calls on_request again, which sends it). No thread per connection:
 * a waiting request holds no thread, and a connection costs MHD's buffer.
 * Also: connection limit, idle timeout and a header/body deadline (slow
 * clients), body size limit, TLS. */
#include "server_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- the header/body deadline ----
 *
 * MHD's connection timeout is an idle timeout: a client that sends one
 * header byte every few seconds keeps its connection (and a slot of
 * --max-connections) for ever. Like nginx's client_header_timeout and
 * client_body_timeout, each request's headers and body must arrive within
 * --header-timeout seconds of the connection opening or of the previous
 * response; a watchdog thread shuts down the socket of a connection past
 * it, so MHD reads end-of-file and closes it. */
struct conn_watch {
    int fd;
    /* reading and start are atomics, written by the HTTP thread serving
     * the connection without the list's mutex (twice per request: not a
     * lock every HTTP thread and the watchdog contend for), start first and
     * reading after it (release), read by the watchdog in the other order */
    int reading;  /* 1 while a request's headers or body are awaited */
    double start; /* monotonic seconds since reading began */
    struct conn_watch *prev, *next;
};

struct vs_srv_watch {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int stop;
    double limit_s;
    struct conn_watch head; /* circular list of open connections */
    uint64_t dropped;
    /* requests answered in threads of their own (job_thread), under
     * mu: running counts them, closing refuses more (vs_server_stop waits
     * for running to reach 0 on done_cv) */
    pthread_cond_t done_cv;
    int running, closing;
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *watchdog(void *arg)
{
    struct vs_srv_watch *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000000L; /* a check every 200 ms */
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->cv, &w->mu, &ts);
        double now = mono_now();
        for (struct conn_watch *c = w->head.next; c != &w->head; c = c->next) {
            double start;
            if (!__atomic_load_n(&c->reading, __ATOMIC_ACQUIRE))
                continue;
            __atomic_load(&c->start, &start, __ATOMIC_RELAXED);
            if (now - start > w->limit_s) {
                (void)shutdown(c->fd, SHUT_RDWR);
                __atomic_store_n(&c->reading, 0, __ATOMIC_RELAXED); /* once */
                w->dropped++;
            }
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct vs_srv_watch *w = ((struct vs_server *)cls)->watch;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct conn_watch *c = ci ? calloc(1, sizeof *c) : NULL;
        *socket_context = c;
        if (!c)
            return; /* not watched: the idle timeout still holds */
        c->fd = ci->connect_fd;
        c->reading = 1;
        c->start = mono_now();
        pthread_mutex_lock(&w->mu);
        c->next = w->head.next;
        c->prev = &w->head;
        w->head.next->prev = c;
        w->head.next = c;
        pthread_mutex_unlock(&w->mu);
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        /* MHD reports the close before it closes the socket, so the
         * watchdog never shuts down a descriptor that was reused */
        struct conn_watch *c = *socket_context;
        *socket_context = NULL;
        if (!c)
            return;
        pthread_mutex_lock(&w->mu);
        c->prev->next = c->next;
        c->next->prev = c->prev;
        pthread_mutex_unlock(&w->mu);
        free(c);
    }
}

/* reading: 1 when the connection waits for a request again (after a
 * response), 0 once a request is complete and being answered */
static void watch_mark(struct vs_server *srv, struct MHD_Connection *conn, int reading)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn_watch *c = ci ? ci->socket_context : NULL;
    if (!c)
        return;
    double now = mono_now();
    __atomic_store(&c->start, &now, __ATOMIC_RELAXED);
    __atomic_store_n(&c->reading, reading, __ATOMIC_RELEASE);
}

static int watch_start(struct vs_server *srv)
{
    struct vs_srv_watch *w = calloc(1, sizeof *w);
    if (!w)
        return VS_E_NOMEM;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    pthread_cond_init(&w->done_cv, NULL);
    w->head.next = w->head.prev = &w->head;
    w->limit_s = srv->o.header_timeout_s;
    if (pthread_create(&w->thread, NULL, watchdog, w) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_cond_destroy(&w->done_cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return VS_E_NOMEM;
    }
    srv->watch = w;
    return VS_OK;
}

static void watch_stop(struct vs_server *srv)
{
    struct vs_srv_watch *w = srv->watch;
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_cond_destroy(&w->done_cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
    srv->watch = NULL;
}

/* MHD's memory per connection (MHD_OPTION_CONNECTION_MEMORY_LIMIT) */
#define SRV_CONN_MEMORY 16384

struct upload {
    struct vs_server *srv;
    char *buf;
    size_t len, cap;
    int too_big;
    /* a query queued for the search threads (vs_srv_handle): the
     * connection is suspended until its answer r is ready; rq (and remote)
     * live here until then */
    struct MHD_Connection *conn;
    int state; /* 0 reading, 1 queued (suspended), 2 answer ready */
    struct vs_server_request rq;
    struct vs_server_response r;
    char remote[64];
};

static void conn_suspend(void *arg)
{
    struct upload *u = arg;
    u->state = 1;
    MHD_suspend_connection(u->conn);
}

/* a search thread's: r is filled; MHD calls on_request again, which sends it */
static void conn_ready(void *arg)
{
    struct upload *u = arg;
    u->state = 2;
    MHD_resume_connection(u->conn);
}

/* A request that may wait long (writes, /readyz, sharded collections,
 * requests of several records, a query record read the full way): answered
 * in a thread of its own while its connection is suspended, so that the
 * HTTP thread's other connections are served meanwhile. fn(fnarg) answers
 * it and calls conn_ready. */
struct job {
    struct vs_srv_watch *w;
    void (*fn)(void *fnarg);
    void *fnarg;
};

static void *job_thread(void *arg)
{
    struct job j = *(struct job *)arg;
    free(arg);
    j.fn(j.fnarg); /* the connection resumed: its upload may be gone */
    pthread_mutex_lock(&j.w->mu);
    if (--j.w->running == 0 && j.w->closing)
        pthread_cond_broadcast(&j.w->done_cv);
    pthread_mutex_unlock(&j.w->mu);
    return NULL;
}

/* vs_srv_async's spawn: suspend u's connection and run fn(fnarg) in a
 * thread of its own (here when none can be made): 1, or 0 when the
 * server is stopping (answer it here). */
static int conn_spawn(void *arg, void (*fn)(void *fnarg), void *fnarg)
{
    struct upload *u = arg;
    struct vs_srv_watch *w = u->srv->watch;
    struct job *j = malloc(sizeof *j);
    if (!j)
        return 0;
    *j = (struct job){w, fn, fnarg};
    pthread_mutex_lock(&w->mu);
    if (w->closing) {
        pthread_mutex_unlock(&w->mu);
        free(j);
        return 0;
    }
    w->running++;
    pthread_mutex_unlock(&w->mu);
    conn_suspend(u);
    pthread_attr_t at;
    pthread_t t;
    int ok = pthread_attr_init(&at) == 0;
    ok = ok && pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED) == 0 &&
         pthread_create(&t, &at, job_thread, j) == 0;
    pthread_attr_destroy(&at);
    if (!ok)
        job_thread(j); /* here then, resumed at once */
    return 1;
}

/* a request that is not vs_srv_quick's, in its own thread */
static void request_run(void *arg)
{
    struct upload *u = arg;
    vs_srv_handle(u->srv, &u->rq, &u->r, NULL);
    conn_ready(u);
}

/* Wait for the requests in threads of their own; answer the next ones in
 * the polling threads. */
static void requests_close(struct vs_server *srv)
{
    struct vs_srv_watch *w = srv->watch;
    pthread_mutex_lock(&w->mu);
    w->closing = 1;
    while (w->running > 0)
        pthread_cond_wait(&w->done_cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

/* HOST:PORT with an IPv4 address or "localhost", or [IPV6]:PORT. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, int *v6,
                        struct vs_diag *d)
{
    const char *colon = strrchr(s, ':');
    char host[64];
    if (!colon || (size_t)(colon - s) >= sizeof host || colon == s)
        return vs_diag_set(d, VS_E_USAGE,
                           "--listen '%.200s': expected HOST:PORT (an IPv4 address, or [IPv6]:PORT)", s);
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    *v6 = host[0] == '[';
    if (*v6) {
        size_t n = strlen(host);
        if (n < 3 || host[n - 1] != ']')
            return vs_diag_set(d, VS_E_USAGE, "--listen '%.200s': expected [IPv6]:PORT", s);
        memmove(host, host + 1, n - 2);
        host[n - 2] = 0;
    } else if (strcmp(host, "localhost") == 0) {
        snprintf(host, sizeof host, "127.0.0.1");
    }
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 0 || port > 65535)
        return vs_diag_set(d, VS_E_USAGE, "--listen '%.200s': bad port", s);
    memset(ss, 0, sizeof *ss);
    if (*v6) {
        struct sockaddr_in6 *sa = (struct sockaddr_in6 *)ss;
        sa->sin6_family = AF_INET6;
        sa->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &sa->sin6_addr) != 1)
            return vs_diag_set(d, VS_E_USAGE, "--listen '%.200s': '%s' is not an IPv6 address", s, host);
        return VS_OK;
    }
    struct sockaddr_in *sa = (struct sockaddr_in *)ss;
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return vs_diag_set(d, VS_E_USAGE,
                           "--listen '%.200s': expected an IPv4 address or [IPv6] in brackets", s);
    return VS_OK;
}

static enum MHD_Result send_resp(struct MHD_Connection *conn,
                                 struct vs_server_response *r)
{
    struct MHD_Response *mr = MHD_create_response_from_buffer(
        r->len, r->body ? r->body : (void *)(uintptr_t)"", r->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!mr) {
        free(r->body);
        return MHD_NO;
    }
    r->body = NULL;
    MHD_add_response_header(mr, "Content-Type", r->content_type ? r->content_type : "application/json");
    if (r->retry_after > 0) {
        char ra[32];
        snprintf(ra, sizeof ra, "%ld", r->retry_after);
        MHD_add_response_header(mr, "Retry-After", ra);
    }
    if (r->trace_id[0])
        MHD_add_response_header(mr, "X-Trace-Id", r->trace_id);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)r->status, mr);
    MHD_destroy_response(mr);
    return ret;
}

static void fill_request(struct MHD_Connection *conn, const char *url,
                         const char *method, struct vs_server_request *rq,
                         char *remote, size_t rsize)
{
    memset(rq, 0, sizeof *rq);
    rq->method = method;
    rq->path = url;
    rq->authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    rq->traceparent = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "traceparent");
    rq->content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    remote[0] = 0;
    if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr,
                  remote, (socklen_t)rsize);
    else if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)ci->client_addr)->sin6_addr,
                  remote, (socklen_t)rsize);
    rq->remote = remote[0] ? remote : NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct vs_server *srv = cls;
    struct upload *u = *con_cls;
    if (!u) {
        if (!(u = calloc(1, sizeof *u)))
            return MHD_NO;
        u->srv = srv;
        *con_cls = u;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > srv->o.max_body)
            u->too_big = 1; /* answered once the body is drained */
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        if (!u->too_big && u->len + n > srv->o.max_body) {
            u->too_big = 1;
            free(u->buf);
            u->buf = NULL;
            u->len = u->cap = 0;
        }
        if (!u->too_big) {
            if (u->len + n + 1 > u->cap) {
                size_t nc = (u->len + n + 1) * 2;
                if (nc > srv->o.max_body + 1)
                    nc = srv->o.max_body + 1;
                char *nb = realloc(u->buf, nc);
                if (!nb)
                    return MHD_NO;
                u->buf = nb;
                u->cap = nc;
            }
            memcpy(u->buf + u->len, upload_data, n);
            u->len += n;
            u->buf[u->len] = 0;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (u->state == 2) { /* resumed: the search thread's answer */
        u->state = 0;
        if (!u->r.body && u->r.status == 0)
            return MHD_NO;
        return send_resp(conn, &u->r);
    }
    watch_mark(srv, conn, 0); /* the request is in: no deadline while answering */
    struct vs_server_request *rq = &u->rq;
    struct vs_server_response *r = &u->r;
    fill_request(conn, url, method, rq, u->remote, sizeof u->remote);
    rq->body = u->buf;
    rq->len = u->len;
    u->conn = conn;
    if (u->too_big)
        vs_srv_reject(srv, rq, 413, "too_large", "the request body is larger than --max-body", r);
    else if (!vs_srv_quick(srv, rq) && conn_spawn(u, request_run, u))
        return MHD_YES; /* suspended: request_run resumes it */
    else if (vs_srv_handle(srv, rq, r, &(struct vs_srv_async){conn_suspend, conn_ready,
                                                             conn_spawn, u}))
        return MHD_YES; /* suspended: a search thread or a spawned one resumes it */
    if (!r->body && r->status == 0)
        return MHD_NO;
    return send_resp(conn, r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct upload *u = *con_cls;
    if (u) {
        free(u->buf);
        free(u->r.body);
        free(u);
    }
    *con_cls = NULL;
    watch_mark(cls, conn, 1); /* the next request's clock starts now */
}

static char *slurp(const char *path, struct vs_diag *d)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        vs_diag_where(d, path, 0);
        vs_diag_set(d, vs_status_from_errno(errno), "cannot open: %s", strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = (cap + 4096) * 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(fp);
                vs_diag_set(d, VS_E_NOMEM, "out of memory");
                return NULL;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, 4096, fp);
        len += n;
        if (n < 4096)
            break;
    }
    buf[len] = 0;
    fclose(fp);
    return buf;
}

int vs_server_start(struct vs_server *srv, struct vs_diag *d)
{
    struct sockaddr_storage sa;
    int v6 = 0;
    int st = parse_listen(srv->o.listen, &sa, &v6, d);
    if (st != VS_OK)
        return st;
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)&sa;
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&sa;
    int loopback = v6 ? IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr)
                      : (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
    if (!loopback && !srv->have_keys && !srv->o.insecure_no_auth)
        return vs_diag_set(d, VS_E_USAGE,
                           "--listen %s: without --keys only 127.0.0.1 or [::1] may be used (or give --insecure-no-auth)",
                           srv->o.listen);
    /* --threads polling threads; suspended connections (queued queries,
     * requests in threads of their own) wait without one, and --threads
     * bounds the searches that run at once, not the requests that can
     * wait for one */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
    if (v6)
        flags |= MHD_USE_IPv6;
    char *cert = NULL, *key = NULL;
    if (srv->o.tls_cert || srv->o.tls_key) {
        if (!srv->o.tls_cert || !srv->o.tls_key)
            return vs_diag_set(d, VS_E_USAGE, "--tls-cert and --tls-key go together");
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
            return vs_diag_set(d, VS_E_UNSUPPORTED, "this libmicrohttpd has no TLS support");
        if (!(cert = slurp(srv->o.tls_cert, d)) || !(key = slurp(srv->o.tls_key, d))) {
            free(cert);
            return VS_E_IO;
        }
        flags |= MHD_USE_TLS;
    }
    struct MHD_OptionItem tls_opts[3] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, key},
        {MHD_OPTION_END, 0, NULL}};
    if (watch_start(srv) != VS_OK) {
        free(cert);
        free(key);
        return vs_diag_set(d, VS_E_NOMEM, "cannot start the header deadline thread");
    }
    if (vs_srv_searchers_start(srv) != VS_OK) {
        watch_stop(srv);
        free(cert);
        free(key);
        return vs_diag_set(d, VS_E_NOMEM, "cannot start the search threads");
    }
    /* --threads polling threads (MHD divides the connections among them) */
    unsigned pool = (unsigned)srv->o.threads < srv->o.max_conns ? (unsigned)srv->o.threads
                                                                : srv->o.max_conns;
    struct MHD_Daemon *dm = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_CONNECTION_LIMIT, srv->o.max_conns,
        MHD_OPTION_THREAD_POOL_SIZE, pool,
        MHD_OPTION_CONNECTION_TIMEOUT, srv->o.idle_timeout_s,
        /* each connection's buffer for the request line, headers and the
         * body's pieces: MHD zeroes it (default 32 KiB) for every
         * request, which took a tenth of a HNSW request's instructions
         * and, at many connections, cache the searches need; the body is
         * read in pieces of it into our own buffer (--max-body), so it
         * bounds the headers only */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SRV_CONN_MEMORY,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
        MHD_OPTION_ARRAY, cert ? tls_opts : tls_opts + 2,
        MHD_OPTION_END);
    if (!dm) {
        vs_srv_searchers_stop(srv);
        watch_stop(srv);
        free(cert);
        free(key);
        /* TLS material is checked by MHD: report both possibilities */
        return vs_diag_set(d, VS_E_NETWORK, "cannot listen on %s%s", srv->o.listen,
                           cert ? " (or the TLS certificate/key is invalid)" : " (address in use?)");
    }
    srv->tls_mem[0] = cert;
    srv->tls_mem[1] = key;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(dm, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : ntohs(v6 ? s6->sin6_port : s4->sin_port);
    srv->daemon = dm;
    srv->stop = vs_server_stop;
    return VS_OK;
}

unsigned vs_server_port(const struct vs_server *srv)
{
    return srv->port;
}

void vs_server_stop(struct vs_server *srv)
{
    if (srv && srv->daemon) {
        /* the requests in threads of their own and the queued queries
         * answered and their connections resumed first: MHD must not stop
         * with a connection suspended */
        requests_close(srv);
        vs_srv_searchers_stop(srv);
        MHD_stop_daemon(srv->daemon); /* closes every connection first */
        srv->daemon = NULL;
        watch_stop(srv);
        free(srv->tls_mem[0]);
        free(srv->tls_mem[1]);
        srv->tls_mem[0] = srv->tls_mem[1] = NULL;
    }
}
