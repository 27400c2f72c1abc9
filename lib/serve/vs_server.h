/* vs_server.h: the store over HTTP (what vs-serve runs).
 *
 * A struct vs_server serves one or more stores by name. Requests are handled
 * by vs_server_handle(), which knows nothing of sockets: it takes a parsed
 * request (method, path, a few headers, the body) and fills a response
 * (status, content type, body, Retry-After). vs_server_start() puts
 * libmicrohttpd in front of it: --threads HTTP threads (epoll) and
 * --threads search threads; no thread per connection.
 *
 * Endpoints (docs/http.md, docs/openapi.yaml):
 *   POST /v1/stores/{name}/query    query records (JSON or NDJSON) -> hits
 *   POST /v1/stores/{name}/upsert   records -> acknowledged after commit
 *   POST /v1/stores/{name}/delete   {"id": ...} records -> after commit
 *   POST /v1/stores/{name}/compact  (admin)
 *   POST /v1/stores/{name}/snapshot {"name": N} (admin, needs snapshot_dir)
 *   GET  /v1/stores/{name}          info
 *   GET  /v1/stores                 names
 *   GET  /healthz, /readyz, /metrics
 *
 * Readers: each request uses the newest generation of its store (the
 * MANIFEST is checked on every request and the store reopened when it
 * changed); a generation stays open while requests still use it.
 * Writers: one HTTP write per store at a time, through vs_writer (the
 * store's lock), so writes from vs-ingest and from HTTP are serialised.
 *
 * Keys (vs_server_load_keys): NDJSON, one key a line:
 *   {"name":"ci","hash":"sha256:SALT:DIGEST","scopes":["read","write"],
 *    "stores":["kb"],"rate":10,"burst":20}
 * SALT is 16 random bytes in hex, DIGEST = hex(SHA-256(SALT bytes || key)).
 * "stores" and "rate"/"burst" are optional (all stores; the server's
 * defaults). vs_server_hash_key() makes such a hash string.
 *
 * Thread safety: vs_server_handle may be called from many threads at once.
 * json_t: none crosses this interface.
 */
#ifndef VS_SERVER_H
#define VS_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vs_status.h"

struct vs_server_opts {
    const char *listen;      /* "HOST:PORT" (IPv4); port 0 = any free port */
    int threads;             /* searches run at once (>= 1), or one exact-scan batch
                                on all of them; also the HTTP threads and the
                                search threads of vs_server_start */
    size_t max_body;         /* bytes per request body */
    size_t max_batch;        /* records per request */
    size_t max_k;            /* largest k a query may ask */
    unsigned max_conns;      /* connections at once */
    double timeout_ms;       /* deadline per request (queries, lock waits) */
    unsigned idle_timeout_s; /* a connection silent this long is closed */
    unsigned header_timeout_s; /* a request's headers and body must arrive
                                * within this long (0 = default 10) */
    int metrics_auth;        /* GET /metrics needs a key (of any scope) */
    double rate;             /* default requests/s per key (0 = unlimited) */
    double burst;            /* default bucket size */
    int insecure_no_auth;    /* allow non-loopback addresses without keys */
    double slow_ms;          /* queries slower than this go to slow_log */
    FILE *slow_log;          /* NDJSON, or NULL */
    FILE *access_log;        /* NDJSON, or NULL */
    const char *snapshot_dir;/* where /snapshot writes, or NULL (disabled) */
    const char *tls_cert;    /* PEM files for HTTPS, or NULL */
    const char *tls_key;
    const char *shard_key;   /* key sent to remote shards of sharded
                                collections, or NULL */
    size_t doc_cache;        /* bytes of docs kept decompressed per segment
                                for hits (0 = VS_DOC_CACHE_BUDGET, 64 MiB) */
};

struct vs_server;

/* A server with no stores yet. Errors: VS_E_NOMEM, VS_E_USAGE (bad opts). */
int vs_server_new(const struct vs_server_opts *o, struct vs_server **out,
                  struct vs_diag *d);
/* Stops it if started. NULL is accepted. */
void vs_server_free(struct vs_server *srv);

/* Serve the store at path as `name` ([A-Za-z0-9._-], 1..64 chars). Opens
 * it now: VS_E_NOSTORE, VS_E_CORRUPT, ... or VS_E_EXISTS (name taken). */
int vs_server_add_store(struct vs_server *srv, const char *name,
                        const char *path, struct vs_diag *d);

/* Add the shard spec (a store path, opened now to check it, or a
 * vs-serve store URL http(s)://HOST:PORT/v1/stores/NAME) to the sharded
 * collection `name` (made by its first shard). POST .../query on it
 * answers the global top k of its shards (vs_qtext_shards: text and hybrid
 * with global statistics); GET .../NAME lists the shards; the other
 * endpoints answer 400 (write to the shards). Errors: VS_E_USAGE (bad
 * name), VS_E_EXISTS (a store has the name), store errors (d names the
 * store), VS_E_NOMEM. */
int vs_server_add_shard(struct vs_server *srv, const char *name, const char *spec,
                        struct vs_diag *d);

/* Load the key file (format above). Errors: VS_E_IO, VS_E_CONFIG (d->line
 * names the bad line). With keys every request except /healthz, /readyz
 * and /metrics (and /metrics too with metrics_auth) needs
 * `Authorization: Bearer KEY`. GET /v1/stores lists only the stores the
 * key may use. */
int vs_server_load_keys(struct vs_server *srv, const char *path,
                        struct vs_diag *d);

/* The hash string for key with 16 random bytes of salt (from
 * /dev/urandom) into out (at least 120 bytes). VS_E_IO. */
int vs_server_hash_key(const char *key, char *out, size_t size,
                       struct vs_diag *d);

/* SHA-256 (FIPS 180-4) of data into out[32]. */
void vs_sha256(const void *data, size_t len, unsigned char out[32]);

struct vs_server_request {
    const char *method;        /* "GET", "POST", ... */
    const char *path;          /* without the query string */
    const char *authorization; /* header value or NULL */
    const char *traceparent;   /* header value or NULL */
    const char *content_type;  /* header value or NULL */
    const char *body;          /* may be NULL when len is 0 */
    size_t len;
    const char *remote;        /* client address for the access log, or NULL */
};

struct vs_server_response {
    int status;                /* HTTP status */
    const char *content_type;  /* static string */
    char *body;                /* malloc'd; the caller frees it */
    size_t len;
    long retry_after;          /* seconds for Retry-After, 0 = none */
    char trace_id[33];         /* the request's trace id (hex) */
};

/* Handle one request (routing, auth, limits, logs, metrics). Always fills
 * resp (errors are JSON bodies {"error":{"code","message"}}); returns VS_OK
 * or VS_E_NOMEM when even the error body could not be made (resp->body is
 * then NULL). */
int vs_server_handle(struct vs_server *srv, const struct vs_server_request *rq,
                     struct vs_server_response *resp);

/* Start listening (libmicrohttpd, threads as above). Refuses a
 * non-loopback address without keys unless o->insecure_no_auth:
 * VS_E_USAGE. VS_E_NETWORK when the address cannot be bound. */
int vs_server_start(struct vs_server *srv, struct vs_diag *d);
/* The bound port (after vs_server_start). */
unsigned vs_server_port(const struct vs_server *srv);
/* Stop accepting and finish the requests in flight. */
void vs_server_stop(struct vs_server *srv);

/* Export spans over OTLP/HTTP (JSON) as the OTEL_* environment variables
 * say (OTEL_EXPORTER_OTLP_ENDPOINT, ...; docs/http.md); nothing when no
 * endpoint is set. Per request: a server span (child of the request's
 * traceparent) and "query" or "commit" child spans. Errors:
 * VS_E_UNSUPPORTED (protocol other than http/json), VS_E_NOMEM. */
int vs_server_trace_from_env(struct vs_server *srv, struct vs_diag *d);

/* Counters for --stats. */
uint64_t vs_server_requests(const struct vs_server *srv);

#endif
