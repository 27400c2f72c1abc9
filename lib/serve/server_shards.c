/* server_shards.c: vs-serve in a sharded collection, both ways.
 * As a shard: a store answers POST /v1/stores/{name}/shard, the request a
 * coordinator (vs-query --shard URL, or another vs-serve) sends to each
 * remote shard: the statistics phase and the search phase of
 * vs_qtext_shard_request (lib/query/query_shards.c), on the store's
 * current generation.
 * As a coordinator: vs-serve --shard NAME=STORE_OR_URL (repeatable) serves
 * the shards as one collection NAME, whose POST .../query answers the
 * global top k (vs_qtext_shards) in ep_query's format.
 * Called by server.c's router. */
#include "server_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vs_jsonfmt.h"
#include "vs_ndjson.h"

int vs_srv_shard_path(const char *path)
{
    size_t n = path ? strlen(path) : 0;
    return n > 6 && strcmp(path + n - 6, "/shard") == 0;
}

int vs_srv_shard(struct vs_srv_store *e, const char *body, size_t len, char **out,
                 size_t *outlen, int *is_json, struct vs_diag *d)
{
    *out = NULL;
    *outlen = 0;
    *is_json = 0;
    if (!body || len == 0)
        return vs_diag_set(d, VS_E_DATA, "the body holds no shard request");
    struct vs_srv_gen *g;
    int st = vs_srv_gen_acquire(e, &g, d);
    if (st != VS_OK)
        return st;
    st = vs_qtext_shard_request(g->store, body, len, out, outlen, is_json, d);
    vs_srv_gen_release(e, g);
    if (st == VS_OK) {
        __atomic_add_fetch(&e->queries, 1, __ATOMIC_RELAXED);
    }
    return st;
}

/* ---- a sharded collection served as one store (vs-serve --shard) ---- */

/* The requests of a coordinator to one shard, for /metrics. */
struct sh_stat {
    uint64_t requests, errors;
    uint64_t hist[VS_SRV_NBUCKETS + 1];
    double sum;
};

struct vs_srv_shards {
    char **specs; /* store paths and vs-serve store URLs */
    size_t n;
    pthread_mutex_t mu; /* guards stat */
    struct sh_stat *stat; /* one per spec */
};

static const double SH_BUCKETS[VS_SRV_NBUCKETS] = VS_SRV_BUCKETS;

/* vs_shards_opts.observe: one request to shard i of the collection. */
static void sh_observe(void *arg, size_t i, int status, double seconds)
{
    struct vs_srv_shards *sh = arg;
    if (i >= sh->n)
        return;
    pthread_mutex_lock(&sh->mu);
    struct sh_stat *t = &sh->stat[i];
    t->requests++;
    t->errors += status != VS_OK;
    int b = 0;
    while (b < VS_SRV_NBUCKETS && seconds > SH_BUCKETS[b])
        b++;
    t->hist[b]++;
    t->sum += seconds;
    pthread_mutex_unlock(&sh->mu);
}

static struct vs_srv_store *sharded_find(struct vs_server *srv, const char *name, size_t nl)
{
    for (size_t i = 0; i < srv->nsharded; i++)
        if (strlen(srv->sharded[i]->name) == nl && memcmp(srv->sharded[i]->name, name, nl) == 0)
            return srv->sharded[i];
    return NULL;
}

struct vs_srv_store *vs_srv_sharded_find(struct vs_server *srv, const char *name, size_t nl)
{
    return sharded_find(srv, name, nl);
}

int vs_server_add_shard(struct vs_server *srv, const char *name, const char *spec,
                        struct vs_diag *d)
{
    if (!vs_srv_name_ok(name) || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return vs_diag_set(d, VS_E_USAGE, "collection name '%.64s' must be 1 to 64 letters, "
                           "digits, '.', '_' or '-'", name);
    for (size_t i = 0; i < srv->nstores; i++)
        if (strcmp(srv->stores[i]->name, name) == 0)
            return vs_diag_set(d, VS_E_EXISTS, "'%s' is a store and a sharded collection", name);
    int remote = strncmp(spec, "http://", 7) == 0 || strncmp(spec, "https://", 8) == 0;
    if (remote && vs_qtext_shard_url_check(spec, NULL, d) < 0)
        return VS_E_USAGE;
    if (!remote) { /* a local shard must open now, as a served store must */
        struct vs_store *s = NULL;
        int st = vs_store_open(spec, &s, d);
        vs_store_close(s);
        if (st != VS_OK) {
            if (!d->file[0])
                vs_diag_where(d, spec, 0);
            return st;
        }
    }
    struct vs_srv_store *e = sharded_find(srv, name, strlen(name));
    if (!e) {
        if (srv->nsharded == VS_SRV_MAX_STORES)
            return vs_diag_set(d, VS_E_USAGE, "at most %d sharded collections",
                               VS_SRV_MAX_STORES);
        e = calloc(1, sizeof *e);
        if (!e || !(e->shards = calloc(1, sizeof *e->shards))) {
            free(e);
            return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        }
        pthread_mutex_init(&e->shards->mu, NULL);
        snprintf(e->name, sizeof e->name, "%s", name);
        pthread_mutex_init(&e->mu, NULL);
        pthread_mutex_init(&e->write_mu, NULL);
        srv->sharded[srv->nsharded++] = e;
    }
    char **p = realloc(e->shards->specs, (e->shards->n + 1) * sizeof *p);
    if (!p)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    e->shards->specs = p;
    struct sh_stat *ns = realloc(e->shards->stat, (e->shards->n + 1) * sizeof *ns);
    if (!ns)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    memset(&ns[e->shards->n], 0, sizeof *ns);
    e->shards->stat = ns;
    if (!(p[e->shards->n] = strdup(spec)))
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    e->shards->n++;
    return VS_OK;
}

void vs_srv_sharded_free(struct vs_server *srv)
{
    for (size_t i = 0; i < srv->nsharded; i++) {
        struct vs_srv_store *e = srv->sharded[i];
        for (size_t j = 0; j < e->shards->n; j++)
            free(e->shards->specs[j]);
        free(e->shards->specs);
        free(e->shards->stat);
        pthread_mutex_destroy(&e->shards->mu);
        free(e->shards);
        pthread_mutex_destroy(&e->mu);
        pthread_mutex_destroy(&e->write_mu);
        free(e);
    }
    srv->nsharded = 0;
}

/* The hits, as ep_query answers them: {"hits": [...]} or NDJSON. */
struct sh_out {
    json_t *arr;
    FILE *m;
    uint64_t n;
};

static int sh_emit(const json_t *hit, void *arg)
{
    struct sh_out *o = arg;
    if (json_object_get(hit, "id"))
        o->n++;
    if (o->arr)
        return json_array_append(o->arr, (json_t *)(uintptr_t)hit) == 0 ? VS_OK : VS_E_NOMEM;
    return vs_ndjson_write(o->m, hit, 0);
}

/* Parse the body's query records into the file fp (search options taken
 * off each record into *opts, the same on every record), as ep_query
 * reads them. */
static int sh_records(const struct vs_server *srv, const char *body, size_t len, FILE *fp,
                      json_t **opts, size_t *nrec, struct vs_diag *d)
{
    size_t i = 0;
    long line = 0;
    *nrec = 0;
    while (i < len) {
        const char *nl = memchr(body + i, '\n', len - i);
        size_t e = nl ? (size_t)(nl - body) : len, s = i;
        i = e + 1;
        line++;
        while (s < e && (body[s] == ' ' || body[s] == '\t' || body[s] == '\r'))
            s++;
        if (s == e)
            continue;
        if (++*nrec > srv->o.max_batch) {
            d->line = line;
            return vs_diag_set(d, VS_E_USAGE, "more than %zu records in one request "
                               "(--max-batch)", srv->o.max_batch);
        }
        json_t *rec;
        int st = vs_ndjson_parse(body + s, e - s, &rec, d);
        json_t *k = st == VS_OK ? json_object_get(rec, "k") : NULL;
        if (st == VS_OK && k && json_is_integer(k) &&
            (json_integer_value(k) < 1 || (size_t)json_integer_value(k) > srv->o.max_k)) {
            vs_diag_field(d, "k");
            st = vs_diag_set(d, VS_E_FIELD, "k must be between 1 and %zu (--max-k)",
                             srv->o.max_k);
        }
        if (st == VS_OK && json_object_get(rec, "explain")) {
            vs_diag_field(d, "explain");
            st = vs_diag_set(d, VS_E_FIELD, "explain is not built for a sharded collection");
        }
        json_t *o = st == VS_OK ? json_object() : NULL;
        for (size_t j = 0; o && vs_qtext_opt_keys[j]; j++) {
            json_t *v = json_object_get(rec, vs_qtext_opt_keys[j]);
            if (v) {
                json_object_set(o, vs_qtext_opt_keys[j], v);
                json_object_del(rec, vs_qtext_opt_keys[j]);
            }
        }
        struct vs_qtext_opts to;
        vs_qtext_opts_init(&to);
        if (st == VS_OK && json_object_size(o) && (st = vs_qtext_opts_from_json(o, &to, d)) == VS_OK &&
            *opts && !json_equal(o, *opts)) {
            vs_diag_field(d, "mode");
            st = vs_diag_set(d, VS_E_FIELD, "search options (mode, fusion, rrf_k, alpha, k1, "
                             "b, candidates, mmr, group_by) differ from an earlier record's: "
                             "they apply to the whole request");
        }
        if (st == VS_OK && json_object_size(o) && !*opts)
            *opts = json_incref(o);
        if (st == VS_OK && vs_ndjson_write(fp, rec, 0) != VS_OK)
            st = vs_diag_set(d, VS_E_IO, "cannot write the queries");
        json_decref(o);
        json_decref(rec);
        if (st != VS_OK) {
            d->line = line;
            return st;
        }
    }
    return *nrec ? VS_OK : vs_diag_set(d, VS_E_DATA, "the body holds no query record");
}

int vs_srv_sharded_query(struct vs_server *srv, struct vs_srv_store *e,
                         const struct vs_server_request *rq, double deadline, char **out,
                         size_t *outlen, int *is_json, size_t *nq, uint64_t *nh,
                         int *late, struct vs_diag *d)
{
    *late = 0;
    *out = NULL;
    *outlen = 0;
    *nq = 0;
    *nh = 0;
    char path[4200];
    const char *t = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/vs-serve-shards.XXXXXX", t && *t ? t : "/tmp");
    int fd = mkstemp(path);
    FILE *fp = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!fp) {
        if (fd >= 0) {
            close(fd);
            unlink(path);
        }
        return vs_diag_set(d, VS_E_IO, "a temporary file: %s", strerror(errno));
    }
    json_t *opts = NULL;
    size_t nrec = 0;
    int st = sh_records(srv, rq->body ? rq->body : "", rq->len, fp, &opts, &nrec, d);
    if (fclose(fp) != 0 && st == VS_OK)
        st = vs_diag_set(d, VS_E_IO, "cannot write the queries");
    struct vs_query_opts qo = {.k = 10, .batch = 64, .threads = 1, .simd = -1};
    struct vs_qtext_opts to;
    vs_qtext_opts_init(&to);
    if (st == VS_OK && opts)
        st = vs_qtext_opts_from_json(opts, &to, d);
    int ndjson = nrec > 1 || (rq->content_type && strstr(rq->content_type, "ndjson"));
    struct sh_out o = {ndjson ? NULL : json_array(), NULL, 0};
    if (st == VS_OK && ndjson && !(o.m = open_memstream(out, outlen)))
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
    if (st == VS_OK && !ndjson && !o.arr)
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
    /* the request's deadline (--timeout-ms) holds for the whole fan-out */
    double left_ms = (deadline - vs_srv_now()) * 1000.0;
    struct vs_shards_opts so = {.key = srv->o.shard_key,
                                .timeout_ms = (long)srv->o.timeout_ms,
                                .deadline_ms = left_ms >= 1 ? (long)left_ms : 1,
                                .observe = sh_observe,
                                .observe_arg = e->shards,
                                .late = late};
    const struct vs_qtext_sink sink = {sh_emit, NULL, NULL, &o, NULL};
    struct vs_qtext_totals tot = {0};
    const char *files[1] = {path};
    if (st == VS_OK) {
        if ((st = vs_qtext_shards((const char *const *)e->shards->specs, e->shards->n, &qo,
                                  &to, &so, files, 1, NULL, 0, 0, &sink, &tot, NULL, d)) ==
                VS_E_USAGE && !d->field[0])
            st = VS_E_FIELD; /* an option of the request the collection does not take */
        if (d->file[0] && strcmp(d->file, path) == 0)
            vs_diag_where(d, "<body>", d->line);
    }
    if (o.m && fclose(o.m) != 0 && st == VS_OK)
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
    if (st == VS_OK && o.arr) {
        json_t *r = json_pack("{s:O}", "hits", o.arr);
        char *b = r ? json_dumps(r, VS_JSON_DUMP_FLAGS) : NULL;
        size_t bl = b ? strlen(b) : 0;
        if (b && (*out = realloc(b, bl + 2))) { /* a line, as ep_query's */
            (*out)[bl] = '\n';
            (*out)[bl + 1] = '\0';
            *outlen = bl + 1;
        } else
            free(b);
        json_decref(r);
        if (!*out)
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
    }
    *is_json = !ndjson;
    if (st != VS_OK) {
        free(*out);
        *out = NULL;
        *outlen = 0;
    } else {
        *nq = (size_t)tot.queries;
        *nh = tot.hits;
        __atomic_add_fetch(&e->queries, tot.queries, __ATOMIC_RELAXED);
        __atomic_add_fetch(&e->hits, tot.hits, __ATOMIC_RELAXED);
    }
    json_decref(o.arr);
    json_decref(opts);
    unlink(path);
    return st;
}

json_t *vs_srv_sharded_info(const struct vs_srv_store *e)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < e->shards->n; i++)
        json_array_append_new(a, json_string(e->shards->specs[i]));
    return json_pack("{s:s,s:o}", "name", e->name, "shards", a ? a : json_array());
}

size_t vs_srv_sharded_unready(struct vs_server *srv, struct vs_srv_store *e, json_t *why)
{
    size_t bad = 0;
    long tmo = srv->o.timeout_ms < 2000 ? (long)srv->o.timeout_ms : 2000;
    for (size_t i = 0; i < e->shards->n; i++) {
        struct vs_diag d;
        vs_diag_clear(&d);
        if (vs_qtext_shard_check(e->shards->specs[i], srv->o.shard_key, tmo, &d) == VS_OK)
            continue;
        bad++;
        char msg[1500];
        snprintf(msg, sizeof msg, "%s: shard %.300s: %.1000s", e->name, e->shards->specs[i],
                 d.detail);
        json_array_append_new(why, json_string(msg));
    }
    return bad;
}

/* A Prometheus label value: backslash, quote and line end escaped. */
static void label(FILE *m, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            fputc('\\', m);
        if (*v == '\n')
            fputs("\\n", m);
        else
            fputc(*v, m);
    }
}

char *vs_srv_sharded_metrics(struct vs_server *srv)
{
    char *t = NULL;
    size_t tl = 0;
    FILE *m = open_memstream(&t, &tl);
    if (!m)
        return NULL;
    static const char *const fam[][3] = {
        {"vs_shard_requests_total", "counter",
         "Requests of a sharded collection to each shard (statistics, search, fetch)."},
        {"vs_shard_errors_total", "counter",
         "Requests to a shard that failed (unreachable, an error, the deadline)."},
        {"vs_shard_request_duration_seconds", "histogram", "Time a shard took to answer."}};
    for (size_t f = 0; f < 3; f++) {
        fprintf(m, "# HELP %s %s\n# TYPE %s %s\n", fam[f][0], fam[f][2], fam[f][0], fam[f][1]);
        for (size_t c = 0; c < srv->nsharded; c++) {
            struct vs_srv_shards *sh = srv->sharded[c]->shards;
            pthread_mutex_lock(&sh->mu);
            for (size_t i = 0; i < sh->n; i++) {
                const struct sh_stat *st = &sh->stat[i];
                if (f < 2) {
                    fprintf(m, "%s{collection=\"%s\",shard=\"", fam[f][0], srv->sharded[c]->name);
                    label(m, sh->specs[i]);
                    fprintf(m, "\"} %llu\n",
                            (unsigned long long)(f == 0 ? st->requests : st->errors));
                    continue;
                }
                uint64_t cum = 0;
                for (int b = 0; b <= VS_SRV_NBUCKETS; b++) {
                    cum += st->hist[b];
                    fprintf(m, "%s_bucket{collection=\"%s\",shard=\"", fam[f][0],
                            srv->sharded[c]->name);
                    label(m, sh->specs[i]);
                    if (b < VS_SRV_NBUCKETS)
                        fprintf(m, "\",le=\"%g\"} %llu\n", SH_BUCKETS[b], (unsigned long long)cum);
                    else
                        fprintf(m, "\",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
                }
                static const char *const tail[] = {"sum", "count"};
                for (int k = 0; k < 2; k++) {
                    fprintf(m, "%s_%s{collection=\"%s\",shard=\"", fam[f][0], tail[k],
                            srv->sharded[c]->name);
                    label(m, sh->specs[i]);
                    if (k == 0)
                        fprintf(m, "\"} %.9g\n", st->sum);
                    else
                        fprintf(m, "\"} %llu\n", (unsigned long long)st->requests);
                }
            }
            pthread_mutex_unlock(&sh->mu);
        }
    }
    if (fclose(m) != 0) {
        free(t);
        return NULL;
    }
    return t;
}
