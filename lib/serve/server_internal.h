/* server_internal.h: what server_gen.c, server_metrics.c, server_auth.c,
 * server_shards.c, server_batch.c, server.c and server_http.c share (in that order of layering: each file
 * calls only files before it; ARCHITECTURE.md). Private to lib/. */
#ifndef VS_SERVER_INTERNAL_H
#define VS_SERVER_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <sys/types.h>

#include "vs_jsonfmt.h"
#include "vs_query.h"
#include "vs_query_text.h"
#include "vs_server.h"
#include "vs_store.h"
#include "vs_trace.h"

#define VS_SRV_MAX_STORES 64

enum vs_srv_scope { VS_SCOPE_READ = 1, VS_SCOPE_WRITE = 2, VS_SCOPE_ADMIN = 4 };

/* Endpoints, for metrics and scopes. */
enum vs_srv_ep {
    VS_EP_QUERY, VS_EP_UPSERT, VS_EP_DELETE, VS_EP_INFO, VS_EP_LIST,
    VS_EP_COMPACT, VS_EP_SNAPSHOT, VS_EP_HEALTHZ, VS_EP_READYZ, VS_EP_METRICS,
    VS_EP_OTHER, VS_EP_COUNT
};
const char *vs_srv_ep_name(int ep);

/* One open generation, shared by the requests using it. */
struct vs_srv_gen {
    struct vs_store *store;
    int refs;           /* under the store entry's mutex */
    dev_t dev;          /* MANIFEST identity when opened */
    ino_t ino;
    long long mtime_ns;
    /* idle query objects of this generation (default search options,
     * without explain): they keep
     * the parsed docs that filters need, so a filtered query does not
     * parse the whole store again. Under the store entry's mutex. */
    struct vs_qtext *pool[32];
    int npool;
    /* single-record plain queries of concurrent requests waiting to be
     * searched together in one batch (server_batch.c); under the server's
     * run_mu, as the fields after them */
    struct vs_srv_waiter *qhead, *qtail;
    size_t nqueued;
    /* scan batches (server_batch.c): scan 1 when the last batch scanned enough
     * rows exactly that a pass over them costs more than the queries
     * themselves; such a batch runs alone on all --threads threads with
     * scanq (made with that many threads; one scan batch runs at a time)
     * and first gathers: it waits for gather queries (the last batch's and
     * those queued when it ended) until gather_until (monotonic seconds, 0
     * when not gathering), at most a quarter of last_s, the time the last
     * scan batch took */
    int scan;
    struct vs_qtext *scanq;
    size_t gather;
    double gather_until, last_s;
    /* the server's list of generations with queued queries for its
     * search threads (vs_srv_search_async), under run_mu */
    struct vs_srv_gen *rnext;
    int rlisted;
};

struct vs_srv_store {
    char name[65];
    char path[4096];
    pthread_mutex_t mu;       /* guards cur and refs */
    pthread_mutex_t write_mu; /* one HTTP writer at a time */
    struct vs_srv_gen *cur;
    int stale; /* the newest MANIFEST did not open: cur is an older generation */
    double checked; /* vs_srv_now of the last MANIFEST stat that found cur
                     * current, 0 = look at it on the next acquire */
    /* metrics (atomics) */
    uint64_t queries, hits, shortfalls;
    /* a sharded collection (vs-serve --shard; server_shards.c): no store
     * of its own, queries fan out to these; NULL for a store */
    struct vs_srv_shards *shards;
    uint64_t batches; /* searches of queued single-record queries */
    size_t doc_cache; /* --doc-cache: each generation's segments get this
                       * docs cache budget when opened (server_gen.c) */
};

struct vs_srv_key {
    char name[65];
    unsigned char salt[64];
    size_t salt_len;
    unsigned char digest[32];
    unsigned scopes;
    char **stores;      /* NULL = all */
    size_t nstores;
    double rate, burst; /* 0 rate = unlimited */
    double tokens;
    double last;        /* monotonic seconds of the last refill */
    uint64_t limited;   /* 429s given */
};

#define VS_SRV_NBUCKETS 14
/* the latency histograms' upper bounds, seconds */
#define VS_SRV_BUCKETS {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, \
                        0.1, 0.25, 0.5, 1, 2.5, 5, 10}
struct vs_srv_metrics {
    pthread_mutex_t mu;
    /* requests by endpoint, method (0 GET, 1 POST, 2 other) and status class
     * kept as the exact code in a small table */
    struct { int ep, method, status; uint64_t n; } req[256];
    size_t nreq;
    uint64_t hist[VS_EP_COUNT][VS_SRV_NBUCKETS + 1];
    double hist_sum[VS_EP_COUNT];
    uint64_t hist_count[VS_EP_COUNT];
    uint64_t limited_anon;
    uint64_t inflight;
};

struct vs_server {
    struct vs_server_opts o;
    struct vs_srv_store *stores[VS_SRV_MAX_STORES];
    size_t nstores;
    struct vs_srv_store *sharded[VS_SRV_MAX_STORES]; /* sharded collections */
    size_t nsharded;
    struct vs_srv_key *keys;
    size_t nkeys;
    int have_keys;
    pthread_mutex_t key_mu; /* token buckets */
    struct vs_srv_key anon; /* bucket for requests without keys */
    struct vs_srv_metrics m;
    pthread_mutex_t log_mu;
    void *daemon;           /* struct MHD_Daemon */
    /* vs_server_stop, set by vs_server_start, so that vs_server_free
     * (server.c) stops a running server without calling up into the
     * transport (server_http.c) */
    void (*stop)(struct vs_server *srv);
    char *tls_mem[2];       /* certificate and key PEM, kept while serving */
    struct vs_srv_watch *watch; /* the header/body deadline (server_http.c) */
    struct vs_otlp *otlp;   /* trace exporter, NULL = tracing off */
    unsigned port;
    uint64_t requests;
    /* searches running at once (server_batch.c), at most o.threads: each a
     * batch of queued single-record queries or one other query request */
    pthread_mutex_t run_mu;
    pthread_cond_t run_cv;  /* CLOCK_MONOTONIC, as vs_srv_now */
    int running;            /* slots taken: 1 per search, all for a scan batch */
    /* turns between scan batches and the other searches (server_batch.c):
     * scan_want counts the threads waiting to lead a scan batch until the
     * slots are free; scan_epoch counts scan batches started; other_due
     * counts searches that waited through one and now go first */
    int scan_want, other_due;
    uint64_t scan_epoch;
    /* the search threads (vs_srv_searchers_start): they take the queued
     * queries of the generations listed from rhead (under run_mu) */
    pthread_t *searchers;
    pthread_cond_t work_cv; /* they wait on it (CLOCK_MONOTONIC); idle counts them */
    int nsearchers, idle, quit;
    struct vs_srv_gen *rhead, *rtail;
};

/* server_gen.c */
double vs_srv_now(void); /* monotonic seconds */
/* The store's current generation, opened again when its MANIFEST changed
 * (a failed reopen keeps serving the one it has); release each acquired
 * generation once. drop: let go of the current one (at free). The
 * MANIFEST is stat'ed at most once per VS_SRV_MANIFEST_CHECK_S seconds
 * (not on every request: a commit by another program is seen by the
 * requests that start that long after it), or on the first acquire after
 * recheck (this server's own writes, /readyz). */
#define VS_SRV_MANIFEST_CHECK_S 0.005
int vs_srv_gen_acquire(struct vs_srv_store *e, struct vs_srv_gen **g,
                       struct vs_diag *d);
void vs_srv_gen_recheck(struct vs_srv_store *e);
void vs_srv_gen_release(struct vs_srv_store *e, struct vs_srv_gen *g);
void vs_srv_gen_drop(struct vs_srv_store *e);

/* server_auth.c */
/* Find the key for an "Authorization" header value: VS_OK with *key set,
 * VS_E_NOTFOUND (no/unknown key). */
int vs_srv_auth(struct vs_server *srv, const char *authorization,
                struct vs_srv_key **key);
/* Take one token from the key's bucket (or the anonymous one when key is
 * NULL): 1 when allowed, else 0 with *retry_after in whole seconds. */
int vs_srv_take_token(struct vs_server *srv, struct vs_srv_key *key,
                      long *retry_after);
void vs_srv_keys_free(struct vs_server *srv);
/* 1 when s is a valid key or store name: 1 to 64 of [A-Za-z0-9._-]. */
int vs_srv_name_ok(const char *s);

/* server_metrics.c */
void vs_srv_metrics_init(struct vs_srv_metrics *m);
void vs_srv_metrics_release(struct vs_srv_metrics *m);
void vs_srv_metrics_observe(struct vs_srv_metrics *m, int ep, const char *method,
                            int status, double seconds);
/* The Prometheus text exposition into a new malloc'd string. */
int vs_srv_metrics_render(struct vs_server *srv, char **out, size_t *len);

/* server_shards.c */
/* 1 when path is a store's .../shard endpoint (a VS_EP_QUERY route). */
int vs_srv_shard_path(const char *path);
/* Answer a coordinator's shard request on e's current generation
 * (vs_qtext_shard_request): *out malloc'd, JSON (*is_json) or a marked hit
 * stream. Errors: as vs_qtext_shard_request, VS_E_DATA (empty body). */
int vs_srv_shard(struct vs_srv_store *e, const char *body, size_t len, char **out,
                 size_t *outlen, int *is_json, struct vs_diag *d);

/* The sharded collection of that name (nl bytes), or NULL. */
struct vs_srv_store *vs_srv_sharded_find(struct vs_server *srv, const char *name, size_t nl);
/* POST /v1/stores/NAME/query on a sharded collection: the records as
 * ep_query reads them (search options on the records; no explain), the
 * global top k of the shards as ep_query answers (*is_json: {"hits"}, else
 * NDJSON), every shard asked before the request's deadline (vs_srv_now
 * seconds; *late set to 1 when a shard failed for it). Errors: VS_E_JSON, VS_E_FIELD, VS_E_USAGE (--max-batch),
 * VS_E_NETWORK and VS_E_REMOTE (a remote shard, or the deadline), store
 * errors. Each shard request is counted in the collection's metrics. */
int vs_srv_sharded_query(struct vs_server *srv, struct vs_srv_store *e,
                         const struct vs_server_request *rq, double deadline, char **out,
                         size_t *outlen, int *is_json, size_t *nq, uint64_t *nh,
                         int *late, struct vs_diag *d);
/* /readyz for a sharded collection: the number of its shards that cannot
 * answer now (vs_qtext_shard_check, each within min(--timeout-ms, 2 s)),
 * "SHARD: reason" appended to why for each. */
size_t vs_srv_sharded_unready(struct vs_server *srv, struct vs_srv_store *e, json_t *why);
/* The Prometheus lines of the sharded collections (queries, hits, and per
 * shard requests, errors and a latency histogram): a malloc'd string, NULL
 * when out of memory. */
char *vs_srv_sharded_metrics(struct vs_server *srv);
/* GET /v1/stores/NAME of a sharded collection: {"name", "shards": [...]}. */
json_t *vs_srv_sharded_info(const struct vs_srv_store *e);
void vs_srv_sharded_free(struct vs_server *srv);

/* server_batch.c: the queue of plain query records each generation
 * batches (vs_srv_search_queued), and the search slots a request searched
 * on its own holds (vs_srv_slot_take/give). */
struct vs_srv_waiter {
    struct vs_srv_waiter *next;
    const json_t *rec;   /* the request's record (borrowed), or NULL: */
    /* the plain vector query record line[0..len) as vs_query_scan read it
     * (vec: its dim floats, k: its k or 0) without a json_t; parsed into
     * own (and rec) only when vs_query_add_vector refuses the vector, for
     * the error vs_qtext_add gives */
    const char *line;
    size_t len, k;
    float *vec;
    json_t *own;
    char *qid;           /* its hits' qid; NULL: the id is unusable (add reports it) */
    /* its hit records: NDJSON lines, or (json) the body {"hits":[ the
     * records, comma-separated, as json_dumps writes the array; ep_query
     * puts the opening and closes it */
    struct vs_buf out;
    int json;
    uint64_t hits;
    int st;              /* VS_OK, or the error of this query */
    struct vs_diag d;
    int done;            /* under run_mu */
    /* posted when done, or when it became the head of its queue: only
     * the head of a queue waits on the shared run_cv (which each batch's
     * end and each freed slot wake), the others on this, so that a batch's
     * end wakes its own queries and one candidate leader per queue, not
     * every waiting request. Posted after run_mu is released (a thread
     * woken while the poster holds it would block on it at once): posts
     * counts the posts decided (under run_mu), waits those taken (by the
     * waiter only), and the waiter takes them all before it returns, so
     * that no post reaches a semaphore that is gone */
    sem_t sem;
    unsigned posts, waits;
    /* queued by vs_srv_search_async: called by the search thread when
     * searched (without run_mu; w is its own then), instead of posting sem */
    void (*finish)(struct vs_srv_waiter *w);
    struct vs_srv_store *e;
};
/* The qid vs_query_add gives rec's hits (malloc'd), NULL when unusable. */
char *vs_srv_record_qid(const json_t *rec);
void vs_srv_search_queued(struct vs_server *srv, struct vs_srv_store *e,
                          struct vs_srv_gen *g, struct vs_srv_waiter *w);
/* Queue w on g for the search threads, which call w->finish when it has
 * been searched: 1 when queued, 0 when the search threads are stopping
 * (search it with vs_srv_search_queued). before(arg) is called under
 * run_mu before w is queued (the transport suspends the connection). */
int vs_srv_search_async(struct vs_server *srv, struct vs_srv_store *e,
                        struct vs_srv_gen *g, struct vs_srv_waiter *w,
                        void (*before)(void *arg), void *arg);
/* Start --threads search threads; stop them (after they searched what is
 * queued). */
int vs_srv_searchers_start(struct vs_server *srv);
void vs_srv_searchers_stop(struct vs_server *srv);
void vs_srv_slot_take(struct vs_server *srv);
void vs_srv_slot_give(struct vs_server *srv);

/* server.c */
/* Answer with an error without routing (body too large), counted in the
 * metrics and the access log like any other request. */
void vs_srv_reject(struct vs_server *srv, const struct vs_server_request *rq,
                   int http, const char *code, const char *message,
                   struct vs_server_response *resp);
/* A transport thread's (server_http.c) ways to answer a request later:
 * suspend(arg) before a query is queued for the search threads;
 * spawn(arg, fn, fnarg) runs fn(fnarg) in a thread of its own (1; 0 when
 * it cannot: the server stops); ready(arg) once the answer is filled. */
struct vs_srv_async {
    void (*suspend)(void *arg);
    void (*ready)(void *arg);
    int (*spawn)(void *arg, void (*fn)(void *fnarg), void *fnarg);
    void *arg;
};
/* vs_server_handle; with as, a query that waits for a batch of the search
 * threads, or one read the full way (it may take long), returns 1 at once
 * (after as->suspend or as->spawn): resp (and rq, kept by the caller until
 * then) is filled later by another thread, which calls as->ready after.
 * Else 0, resp filled. */
int vs_srv_handle(struct vs_server *srv, const struct vs_server_request *rq,
                  struct vs_server_response *resp, const struct vs_srv_async *as);
/* 1 when rq waits for nothing long (health, metrics, the store list, a
 * store's info, a query of one record on a store: a plain one is searched
 * at once or queued for the search threads, another is spawned by
 * vs_srv_handle): the transport answers it in the thread that read it;
 * others get a thread of their own. */
int vs_srv_quick(struct vs_server *srv, const struct vs_server_request *rq);

#endif
