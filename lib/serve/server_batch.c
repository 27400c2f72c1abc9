/* server_batch.c: vs-serve's batching of queries (server.c's ep_query
 * queues them here).
 *
 * A search of a store's vectors reads every block of them (exact scan) or
 * walks the graph once per query; a batch of queries reads each block once
 * for all of them (vs_flat). So requests of one plain query record (the
 * common case: one user, one question) are not searched alone: each is
 * put in its generation's queue, and a request thread that finds the
 * search slots it needs free (--threads of them) takes up to SRV_BATCH
 * queued queries, searches them as one batch and hands every request its
 * own hits. Each record is added alone (a bad one is its own request's
 * error) with its id replaced by its place in the batch, which maps the
 * hits back; they leave with the request's qid, as a search of the record
 * alone gives them.
 *
 * Graph batches (a walk per query: a batch saves little) take one slot
 * each and start at once: a query waits only while the slots are busy, so
 * a lone request is searched at once and a busy server searches in
 * batches as large as the queue (a second one starts beside a running one
 * only once SRV_BATCH_MIN queries wait, unless the request's thread is
 * one of the HTTP server's few: see below).
 *
 * Scan batches (the last batch of the generation scanned at least
 * SRV_SCAN_BYTES of vectors exactly) cost a pass over the rows plus a
 * little per query, so they are made as large as the clients allow: one
 * runs at a time, on all --threads threads (vs_flat splits the rows), as
 * vs-query runs a batch; and before it starts it gathers: the clients the
 * last batch answered usually send their next query at once, so it waits
 * until the queue holds as many queries as the last batch plus those
 * queued when it ended (at most SRV_BATCH), but never longer than a
 * quarter of the last scan batch's time (SRV_GATHER_MAX at most): a lone
 * client's next batch is its one query, searched at once. A scan batch
 * waits for every slot; searches of other kinds that waited through one
 * scan batch start before the next (no kind starves the other).
 *
 * Who searches: vs_srv_search_queued is called by the request's own
 * thread, which waits until its query has been searched, by itself or by
 * another request's thread. Under HTTP (server_http.c) a request's thread
 * is one of --threads threads that read all the connections, so it must
 * not wait for others: a graph query is searched there at once (the
 * SRV_BATCH_MIN rule is off), and a query of a scan-batch generation is
 * queued with vs_srv_search_async (the connection suspended) for the
 * --threads search threads (vs_srv_searchers_start), which lead its
 * batches as above, each with one OpenMP team for its scans, and finish
 * each request (its answer, logs, metrics; then the connection resumed). */
#include "server_internal.h"

#include <errno.h>
#include <jansson.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vs_jsonfmt.h"
#include "vs_ndjson.h"
#include "vs_query.h"
#include "vs_query_text.h"
#include "query_scan_internal.h"

#define SRV_BATCH 64
/* vs_flat scores 4 queries together against each block of vectors */
#define SRV_BATCH_MIN 4
/* a pass over more vector bytes than this leaves the cache (L2): each
 * query of a batch saves a read of them */
#define SRV_SCAN_BYTES ((uint64_t)1 << 20)
#define SRV_GATHER_MAX 0.020



/* The qid vs_query_add gives rec's hits: "id" (else BEIR's "_id"), a
 * string as is, an integer in decimal. NULL when neither is usable. */
char *vs_srv_record_qid(const json_t *rec)
{
    const json_t *id = json_object_get(rec, "id");
    if (!id)
        id = json_object_get(rec, "_id");
    if (json_is_string(id))
        return strdup(json_string_value(id));
    if (json_is_integer(id)) {
        char b[32];
        snprintf(b, sizeof b, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
        return strdup(b);
    }
    return NULL;
}

struct batch_out {
    struct vs_srv_waiter **w;
    size_t n;
};

/* A hit of the batch: to the request whose query it answers (the qid is
 * the query's place in the batch), with the request's own qid. */
static int batch_emit(const json_t *hit, void *arg)
{
    struct batch_out *b = arg;
    const char *qs = json_string_value(json_object_get(hit, "qid"));
    char *end = NULL;
    unsigned long i = qs ? strtoul(qs, &end, 10) : 0;
    if (!qs || end == qs || *end || i >= b->n)
        return VS_E_INTERNAL;
    struct vs_srv_waiter *w = b->w[i];
    json_t *cp = json_copy((json_t *)(uintptr_t)hit);
    json_t *jq = json_string(w->qid);
    char *t = NULL;
    if (!cp || !jq || json_object_set_new(cp, "qid", jq) != 0 ||
        !(t = json_dumps(cp, VS_JSON_DUMP_FLAGS))) {
        json_decref(cp);
        return VS_E_NOMEM;
    }
    json_decref(cp);
    int st = (w->json && w->hits && vs_buf_put(&w->out, ",", 1)) ||
                     vs_buf_put(&w->out, t, strlen(t)) ||
                     (!w->json && vs_buf_put(&w->out, "\n", 1))
                 ? VS_E_NOMEM : VS_OK;
    free(t);
    w->hits++;
    return st;
}

/* The hit records of a plain batch as NDJSON text (vs_qtext_run_text):
 * each line, which starts {"qid":"I", to the request of query I, with
 * its own qid instead. */
static int batch_write(const char *buf, size_t len, size_t nrec, void *arg)
{
    struct batch_out *b = arg;
    static const char pre[] = "{\"qid\":\"";
    const char *p = buf, *e = buf + len;
    while (p < e) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        if (!nl || (size_t)(nl - p) < sizeof pre || memcmp(p, pre, sizeof pre - 1) != 0)
            return VS_E_INTERNAL;
        const char *q = p + sizeof pre - 1;
        size_t i = 0;
        while (q < nl && *q >= '0' && *q <= '9')
            i = i * 10 + (size_t)(*q++ - '0');
        if (q == p + sizeof pre - 1 || q >= nl || *q != '"' || i >= b->n)
            return VS_E_INTERNAL;
        struct vs_srv_waiter *w = b->w[i];
        q++; /* the rest: ,"id":... up to and with the newline (NDJSON) */
        if ((w->json && w->hits && vs_buf_put(&w->out, ",", 1)) ||
            vs_buf_put(&w->out, "{\"qid\":", 7) ||
            vs_buf_json_string(&w->out, w->qid, strlen(w->qid)) ||
            vs_buf_put(&w->out, q, (size_t)(nl + !w->json - q)))
            return VS_E_NOMEM;
        w->hits++;
        p = nl + 1;
    }
    (void)nrec;
    return VS_OK;
}

/* A query object of g with the default options (from g's pool when one
 * is idle), and back to the pool when the batch is done. */
static int pool_take(struct vs_srv_store *e, struct vs_srv_gen *g, struct vs_qtext **q,
                     struct vs_diag *d)
{
    *q = NULL;
    pthread_mutex_lock(&e->mu);
    if (g->npool > 0)
        *q = g->pool[--g->npool];
    pthread_mutex_unlock(&e->mu);
    if (*q)
        return VS_OK;
    struct vs_query_opts qo = {.k = 10, .batch = SRV_BATCH, .threads = 1, .simd = -1};
    struct vs_qtext_opts to;
    vs_qtext_opts_init(&to);
    return vs_qtext_new(g->store, &qo, &to, q, d);
}

static void pool_put(struct vs_srv_store *e, struct vs_srv_gen *g, struct vs_qtext *q)
{
    if (q && vs_qtext_pending(q) == 0) {
        pthread_mutex_lock(&e->mu);
        if (g->npool < (int)(sizeof g->pool / sizeof g->pool[0])) {
            g->pool[g->npool++] = q;
            q = NULL;
        }
        pthread_mutex_unlock(&e->mu);
    }
    vs_qtext_free(q);
}

/* The segments of q's last run that were scanned exactly, in vector bytes. */
static uint64_t scanned_bytes(struct vs_srv_gen *g, struct vs_qtext *q)
{
    struct vs_query *vq = vs_qtext_vector(q);
    struct vs_query_segstat ss;
    uint64_t rows = 0;
    for (size_t p = 0; vq && vs_query_segment_stat(vq, p, &ss) == VS_OK; p++)
        if (!ss.graph)
            rows += ss.rows;
    return rows * vs_store_settings(g->store)->dim * sizeof(float);
}

/* The waiters in[0..n) searched (their records pending in q): their hits,
 * or the run's error to each. */
static void run_pending(struct vs_srv_store *e, struct vs_srv_gen *g, struct vs_qtext *q,
                        struct vs_srv_waiter **in, size_t n, int direct,
                        uint64_t *scan_bytes)
{
    struct vs_diag d;
    vs_diag_clear(&d);
    struct batch_out b = {in, n};
    int st;
    if (direct) {
        /* vectors added to the vector side itself (vs_query_add_vector):
         * the hit records as vs_qtext_run_text writes them for the same
         * records, qid "I" for query I */
        struct vs_query *vq = vs_qtext_vector(q);
        char idx[SRV_BATCH][4];
        const char *qids[SRV_BATCH];
        size_t qlens[SRV_BATCH];
        for (size_t i = 0; i < n; i++) {
            qlens[i] = (size_t)snprintf(idx[i], sizeof idx[i], "%zu", i);
            qids[i] = idx[i];
        }
        uint64_t short0 = vs_query_shortfalls(vq);
        st = vs_query_run_text(vq, qids, qlens, batch_write, &b, NULL, NULL, &d);
        __atomic_add_fetch(&e->shortfalls, vs_query_shortfalls(vq) - short0, __ATOMIC_RELAXED);
    } else {
        uint64_t short0 = vs_qtext_shortfalls(q);
        /* plain vector queries (the common case) as text, as vs-query
         * writes them; hybrid ones and the like through json_t hits */
        st = vs_qtext_plain(q) ? vs_qtext_run_text(q, batch_write, &b, NULL, NULL, &d)
                               : vs_qtext_run(q, batch_emit, &b, NULL, NULL, &d);
        __atomic_add_fetch(&e->shortfalls, vs_qtext_shortfalls(q) - short0, __ATOMIC_RELAXED);
    }
    if (st != VS_OK)
        for (size_t i = 0; i < n; i++) {
            in[i]->st = st;
            in[i]->d = d;
        }
    __atomic_add_fetch(&e->batches, 1, __ATOMIC_RELAXED);
    *scan_bytes = scanned_bytes(g, q);
}

/* Search the n queued queries w as one batch (called without run_mu):
 * with g's scan object on threads threads when scan, else one of the pool
 * on one thread. *scan_bytes: the vector bytes it scanned exactly. The
 * queries read without a json_t go to the vector side directly and are
 * searched first; the others (if any: a second pass) through q. */
static void run_batch(struct vs_srv_store *e, struct vs_srv_gen *g,
                      struct vs_srv_waiter **w, size_t n, int scan, int threads,
                      uint64_t *scan_bytes)
{
    struct vs_diag d;
    vs_diag_clear(&d);
    struct vs_qtext *q = NULL;
    struct vs_srv_waiter *in[SRV_BATCH];
    size_t nin = 0;
    int st = VS_OK;
    *scan_bytes = 0;
    if (scan) { /* one scan batch at a time: g->scanq is this thread's */
        q = g->scanq;
        g->scanq = NULL;
        if (!q) {
            struct vs_query_opts qo = {.k = 10, .batch = SRV_BATCH, .threads = threads,
                                       .simd = -1};
            struct vs_qtext_opts to;
            vs_qtext_opts_init(&to);
            st = vs_qtext_new(g->store, &qo, &to, &q, &d);
        }
    } else {
        st = pool_take(e, g, &q, &d);
    }
    struct vs_query *vq = q ? vs_qtext_vector(q) : NULL;
    size_t dim = vs_store_settings(g->store)->dim;
    for (size_t i = 0; i < n; i++) {
        w[i]->st = st;
        if (st != VS_OK)
            w[i]->d = d; /* else it stays clear (ep_query) */
        if (st != VS_OK || !w[i]->vec)
            continue;
        if (vs_query_add_vector(vq, w[i]->vec, dim, w[i]->k, NULL, &w[i]->d) == VS_OK) {
            in[nin++] = w[i];
            continue;
        }
        /* refused (a zero vector the store would normalise): the record
         * the full way, which gives the error a record alone gets */
        vs_diag_clear(&w[i]->d);
        w[i]->st = vs_ndjson_parse(w[i]->line, w[i]->len, &w[i]->own, &w[i]->d);
        w[i]->rec = w[i]->own;
        if (w[i]->st != VS_OK)
            w[i]->d.line = 1;
    }
    if (st == VS_OK && nin > 0)
        run_pending(e, g, q, in, nin, 1, scan_bytes);
    nin = 0;
    for (size_t i = 0; i < n; i++) {
        if (st != VS_OK || !w[i]->rec || w[i]->st != VS_OK)
            continue;
        json_t *r = w[i]->qid ? json_copy((json_t *)(uintptr_t)w[i]->rec) : NULL;
        if (w[i]->qid && (!r || json_object_set_new(r, "id", json_integer((json_int_t)nin)) != 0)) {
            json_decref(r);
            w[i]->st = vs_diag_set(&w[i]->d, VS_E_NOMEM, "out of memory");
            continue;
        }
        /* an unusable id: the record as it came, for vs_qtext_add's error */
        w[i]->st = vs_qtext_add(q, r ? r : w[i]->rec, &w[i]->d);
        json_decref(r);
        if (w[i]->st != VS_OK)
            w[i]->d.line = 1;
        else
            in[nin++] = w[i];
    }
    if (st == VS_OK && nin > 0)
        run_pending(e, g, q, in, nin, 0, scan_bytes);
    int idle = q && vs_qtext_pending(q) == 0 && vs_query_pending(vq) == 0;
    if (!scan && idle) {
        pool_put(e, g, q);
    } else if (idle) {
        g->scanq = q;
    } else {
        vs_qtext_free(q);
    }
}

/* Append w to g's queue and, when it is for the search threads, g to the
 * server's list of generations with queued queries (under run_mu). */
static void enqueue(struct vs_server *srv, struct vs_srv_gen *g, struct vs_srv_waiter *w)
{
    w->next = NULL;
    if (g->qtail)
        g->qtail->next = w;
    else
        g->qhead = w;
    g->qtail = w;
    g->nqueued++;
    if (w->finish && !g->rlisted) {
        g->rlisted = 1;
        g->rnext = NULL;
        if (srv->rtail)
            srv->rtail->rnext = g;
        else
            srv->rhead = g;
        srv->rtail = g;
    }
}

/* Take up to SRV_BATCH queries from the head of g's queue into take
 * (under run_mu): g leaves the server's list when its queue is empty, else
 * goes to its end (the next generation's queries go first). */
static size_t take_batch(struct vs_server *srv, struct vs_srv_gen *g,
                         struct vs_srv_waiter **take)
{
    size_t n = 0;
    while (g->qhead && n < SRV_BATCH) {
        take[n++] = g->qhead;
        g->qhead = g->qhead->next;
    }
    if (!g->qhead)
        g->qtail = NULL;
    g->nqueued -= n;
    g->gather_until = 0;
    if (g->rlisted) {
        struct vs_srv_gen **pp = &srv->rhead, *prev = NULL;
        while (*pp != g) {
            prev = *pp;
            pp = &(*pp)->rnext;
        }
        *pp = g->rnext;
        if (srv->rtail == g)
            srv->rtail = prev;
        g->rlisted = 0;
        g->rnext = NULL;
        if (g->nqueued) {
            g->rlisted = 1;
            if (srv->rtail)
                srv->rtail->rnext = g;
            else
                srv->rhead = g;
            srv->rtail = g;
        }
    }
    return n;
}

/* The queries take[0..n) searched (called under run_mu, returns without
 * it): each waiting request (but self, the caller's own) is marked done and
 * woken, each queued by vs_srv_search_async finished. */
static void batch_done(struct vs_server *srv, struct vs_srv_waiter **take, size_t n,
                       const struct vs_srv_waiter *self)
{
    /* a search thread may wait for the slots this batch had */
    int wake = srv->idle > 0 && srv->rhead;
    for (size_t i = 0; i < n; i++) {
        if (take[i]->finish)
            continue;
        take[i]->done = 1;
        take[i]->posts += take[i] != self;
    }
    pthread_mutex_unlock(&srv->run_mu);
    for (size_t i = 0; i < n; i++) {
        if (take[i]->finish)
            take[i]->finish(take[i]); /* w may be gone after */
        else if (take[i] != self)
            sem_post(&take[i]->sem);
    }
    if (wake)
        pthread_cond_broadcast(&srv->work_cv);
}

/* May a search other than a scan batch start (under run_mu)? Not while
 * the slots are taken, nor while a scan batch waits for them, unless
 * this one (waiting since scan epoch ep0) has already waited through a
 * scan batch: then it goes first, counted in other_due (*due). */
static int other_may_start(struct vs_server *srv, uint64_t ep0, int *due)
{
    int passed = srv->scan_epoch != ep0;
    if (passed && !*due) {
        srv->other_due++;
        *due = 1;
    }
    return srv->running < srv->o.threads && (srv->scan_want == 0 || passed);
}

static void other_leave(struct vs_server *srv, int *due)
{
    if (*due)
        srv->other_due--;
    *due = 0;
}

static void cv_wait(pthread_cond_t *cv, pthread_mutex_t *mu, double until);

/* Wait on run_cv, until the monotonic time until when it is not 0. */
static void run_wait(struct vs_server *srv, double until)
{
    cv_wait(&srv->run_cv, &srv->run_mu, until);
}

static void cv_wait(pthread_cond_t *cv, pthread_mutex_t *mu, double until)
{
    if (until <= 0) {
        pthread_cond_wait(cv, mu);
        return;
    }
    struct timespec ts;
    ts.tv_sec = (time_t)until;
    ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_nsec = 999999999L;
    pthread_cond_timedwait(cv, mu, &ts);
}

/* A queued request's wait (under run_mu) for a change that may let it
 * lead a batch (until: as run_wait): on run_cv when it heads g's queue,
 * else on its semaphore (its batch done, or it became the head). A head
 * suffices as the leader to wake: it has waited longest (the others would
 * decide as it does) and takes the queue from its start. */
static void queued_wait(struct vs_server *srv, struct vs_srv_gen *g,
                        struct vs_srv_waiter *w, double until)
{
    if (g->qhead == w) {
        run_wait(srv, until);
        return;
    }
    pthread_mutex_unlock(&srv->run_mu);
    while (sem_wait(&w->sem) != 0 && errno == EINTR)
        ;
    w->waits++;
    pthread_mutex_lock(&srv->run_mu);
}

/* One batch of g's queue, led by a request thread (self: its waiter) or a
 * search thread (self NULL): with run_mu held, take it, hand the queue's
 * new head its turn to lead, run the batch without the lock, account for
 * it and wake its requests; returns with run_mu held (g may be gone). */
static void lead_batch(struct vs_server *srv, struct vs_srv_store *e, struct vs_srv_gen *g,
                       int scan, const struct vs_srv_waiter *self)
{
    struct vs_srv_waiter *take[SRV_BATCH];
    size_t n = take_batch(srv, g, take);
    struct vs_srv_waiter *head = g->qhead; /* the new head: a candidate leader */
    if (head && !head->finish)
        head->posts++;
    else
        head = NULL;
    /* a scan batch of a few queries on one thread: split over
     * several, one pass saves nothing and they wait for each other
     * (OpenMP threads spin while they wait: twice the CPU for one
     * query under load) */
    int all = scan && n >= SRV_BATCH_MIN && srv->o.threads > 1;
    int slots = all ? srv->o.threads : 1;
    srv->running += slots;
    if (scan)
        srv->scan_epoch++;
    pthread_mutex_unlock(&srv->run_mu);
    if (head)
        sem_post(&head->sem);
    double t0 = vs_srv_now();
    uint64_t scanned = 0;
    run_batch(e, g, take, n, all, srv->o.threads, &scanned);
    double t1 = vs_srv_now();
    pthread_mutex_lock(&srv->run_mu);
    srv->running -= slots;
    __atomic_store_n(&g->scan, scanned >= SRV_SCAN_BYTES, __ATOMIC_RELAXED);
    if (scan)
        g->last_s = t1 - t0;
    /* the clients answered now come back: the next batch gathers them
     * and those queued meanwhile */
    g->gather = n + g->nqueued;
    batch_done(srv, take, n, self);
    pthread_cond_broadcast(&srv->run_cv);
    pthread_mutex_lock(&srv->run_mu);
}

/* Queue w on g and wait until it has been searched: by this thread when
 * it may start a batch (together with whatever else is queued then), else
 * by the thread that takes it. */
void vs_srv_search_queued(struct vs_server *srv, struct vs_srv_store *e,
                          struct vs_srv_gen *g, struct vs_srv_waiter *w)
{
    w->e = e;
    pthread_mutex_lock(&srv->run_mu);
    enqueue(srv, g, w);
    /* with search threads, the caller is an HTTP thread searching a graph
     * query itself: it waits for no company */
    int inline_ = srv->nsearchers > 0;
    uint64_t ep0 = srv->scan_epoch;
    int due = 0, want = 0;
    while (!w->done) {
        int scan = g->scan;
        size_t queued = g->nqueued;
        double until = 0;
        if (want) {
            srv->scan_want--;
            want = 0;
        }
        if (!queued) {
            queued_wait(srv, g, w, 0);
            continue;
        }
        if (scan) {
            other_leave(srv, &due);
            if (srv->running > 0 || srv->other_due > 0) {
                srv->scan_want++; /* the others wait for this one */
                want = 1;
                queued_wait(srv, g, w, 0);
                continue;
            }
            double now = vs_srv_now();
            size_t goal = g->gather < SRV_BATCH ? g->gather : SRV_BATCH;
            if (queued < goal) {
                if (g->gather_until == 0) {
                    double wait = g->last_s / 4;
                    g->gather_until = now + (wait < SRV_GATHER_MAX ? wait : SRV_GATHER_MAX);
                }
                until = g->gather_until;
                if (now < until) {
                    queued_wait(srv, g, w, until);
                    continue;
                }
            }
        } else if (!other_may_start(srv, ep0, &due) ||
                   (srv->running > 0 && queued < SRV_BATCH_MIN && !inline_)) {
            /* with a search running, a second one waits for SRV_BATCH_MIN
             * queries: several small batches cost more than one larger one */
            queued_wait(srv, g, w, 0);
            continue;
        }
        other_leave(srv, &due);
        lead_batch(srv, e, g, scan, w);
    }
    /* a count others wait on changed: wake them (a head or vs_srv_slot_take may
     * wait for scan_want or other_due to fall) */
    int changed = want || due;
    if (want)
        srv->scan_want--;
    other_leave(srv, &due);
    unsigned posts = w->posts; /* final: w is out of the queue and done */
    int wake = changed && srv->idle > 0 && srv->rhead;
    pthread_mutex_unlock(&srv->run_mu);
    if (changed)
        pthread_cond_broadcast(&srv->run_cv);
    if (wake)
        pthread_cond_broadcast(&srv->work_cv);
    for (; w->waits < posts; w->waits++)
        while (sem_wait(&w->sem) != 0 && errno == EINTR)
            ;
}

/* A search thread's wait (under run_mu), counted in idle so that queuing
 * wakes it. */
static void searcher_wait(struct vs_server *srv, double until)
{
    srv->idle++;
    cv_wait(&srv->work_cv, &srv->run_mu, until);
    srv->idle--;
}

/* A search thread: takes the queries queued by vs_srv_search_async as
 * vs_srv_search_queued's leaders do (scan batches gathered and alone on
 * all --threads threads, graph batches beside each other), until told to
 * quit and nothing is queued. */
static void *searcher(void *arg)
{
    struct vs_server *srv = arg;
    pthread_mutex_lock(&srv->run_mu);
    uint64_t ep0 = srv->scan_epoch;
    int due = 0, want = 0;
    for (;;) {
        struct vs_srv_gen *g = srv->rhead;
        if (want) {
            srv->scan_want--;
            want = 0;
        }
        if (!g) {
            other_leave(srv, &due);
            if (srv->quit)
                break;
            searcher_wait(srv, 0);
            ep0 = srv->scan_epoch;
            continue;
        }
        int scan = g->scan;
        size_t queued = g->nqueued;
        if (scan) {
            other_leave(srv, &due);
            if (srv->running > 0 || srv->other_due > 0) {
                srv->scan_want++;
                want = 1;
                searcher_wait(srv, 0);
                continue;
            }
            size_t goal = g->gather < SRV_BATCH ? g->gather : SRV_BATCH;
            if (queued < goal && !srv->quit) {
                double now = vs_srv_now();
                if (g->gather_until == 0) {
                    double wait = g->last_s / 4;
                    g->gather_until = now + (wait < SRV_GATHER_MAX ? wait : SRV_GATHER_MAX);
                }
                if (now < g->gather_until) {
                    searcher_wait(srv, g->gather_until);
                    continue;
                }
            }
        } else if (!other_may_start(srv, ep0, &due) ||
                   (srv->running > 0 && queued < SRV_BATCH_MIN)) {
            searcher_wait(srv, 0);
            continue;
        }
        other_leave(srv, &due);
        struct vs_srv_store *e = g->qhead->e; /* a listed g has queries */
        lead_batch(srv, e, g, scan, NULL); /* g may be gone after */
        ep0 = srv->scan_epoch;
    }
    pthread_mutex_unlock(&srv->run_mu);
    return NULL;
}

int vs_srv_search_async(struct vs_server *srv, struct vs_srv_store *e,
                        struct vs_srv_gen *g, struct vs_srv_waiter *w,
                        void (*before)(void *arg), void *arg)
{
    pthread_mutex_lock(&srv->run_mu);
    if (srv->quit || srv->nsearchers == 0) {
        pthread_mutex_unlock(&srv->run_mu);
        return 0;
    }
    before(arg);
    w->e = e;
    enqueue(srv, g, w);
    /* wake a waiting search thread when this may let it start: a queue
     * that was empty, a second batch's worth, a scan batch's goal */
    size_t goal = g->gather < SRV_BATCH ? g->gather : SRV_BATCH;
    int wake = srv->idle > 0 && (g->nqueued == 1 || g->nqueued == SRV_BATCH_MIN ||
                                 (g->scan && g->nqueued >= goal));
    pthread_mutex_unlock(&srv->run_mu);
    if (wake)
        pthread_cond_broadcast(&srv->work_cv);
    return 1;
}

int vs_srv_searchers_start(struct vs_server *srv)
{
    srv->searchers = calloc((size_t)srv->o.threads, sizeof *srv->searchers);
    if (!srv->searchers)
        return VS_E_NOMEM;
    srv->quit = 0;
    for (int i = 0; i < srv->o.threads; i++) {
        if (pthread_create(&srv->searchers[i], NULL, searcher, srv) != 0) {
            vs_srv_searchers_stop(srv);
            return VS_E_NOMEM;
        }
        pthread_mutex_lock(&srv->run_mu);
        srv->nsearchers++;
        pthread_mutex_unlock(&srv->run_mu);
    }
    return VS_OK;
}

void vs_srv_searchers_stop(struct vs_server *srv)
{
    pthread_mutex_lock(&srv->run_mu);
    srv->quit = 1;
    int n = srv->nsearchers;
    pthread_mutex_unlock(&srv->run_mu);
    pthread_cond_broadcast(&srv->work_cv);
    for (int i = 0; i < n; i++)
        pthread_join(srv->searchers[i], NULL);
    pthread_mutex_lock(&srv->run_mu);
    srv->nsearchers = 0;
    pthread_mutex_unlock(&srv->run_mu);
    free(srv->searchers);
    srv->searchers = NULL;
}

/* A search slot for a request searched on its own (several records, or
 * options, explain or tracing): held while it searches. */
void vs_srv_slot_take(struct vs_server *srv)
{
    pthread_mutex_lock(&srv->run_mu);
    uint64_t ep0 = srv->scan_epoch;
    int due = 0;
    while (!other_may_start(srv, ep0, &due))
        pthread_cond_wait(&srv->run_cv, &srv->run_mu);
    other_leave(srv, &due);
    srv->running++;
    pthread_mutex_unlock(&srv->run_mu);
}

void vs_srv_slot_give(struct vs_server *srv)
{
    pthread_mutex_lock(&srv->run_mu);
    srv->running--;
    int wake = srv->idle > 0 && srv->rhead;
    pthread_mutex_unlock(&srv->run_mu);
    pthread_cond_broadcast(&srv->run_cv); /* after: the woken take run_mu */
    if (wake)
        pthread_cond_broadcast(&srv->work_cv);
}
