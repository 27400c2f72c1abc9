/* query_shards.c: one set of queries over several shards of a collection,
 * local stores or remote vs-serve stores, merged (vs_qtext_shards,
 * vs_query_text.h), and the shard side of a remote search
 * (vs_qtext_shard_request, which vs-serve's POST .../shard runs).
 *
 * Every shard is searched in turn with all the queries, its hits written to
 * a temporary marked hit stream (a remote shard's answer is that stream),
 * and the streams are merged per qid. Standard input is read once into a
 * temporary file, since every shard reads the queries again; a first pass
 * notes each qid's own k, so the merge keeps k hits of the union.
 *
 * Text and hybrid (mode text or hybrid given): a first phase gathers from
 * every shard its document count, total length and the document frequency
 * of each query term (vs_bm25_global recording); their sums are the
 * statistics every shard then scores with (vs_bm25_global replacing), so
 * BM25 scores equal those of one store holding every record. Hybrid search
 * asks each shard for its two candidate lists (vector mode and text mode,
 * `candidates` deep), merges each list over the shards and fuses them
 * here, as one store fuses its own lists. Scores cross files and HTTP at
 * 17 significant digits, so the merged doubles are the shards' doubles. */
#include "vs_query_text.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "query_internal.h"
#include "vs_http.h"
#include "vs_metric.h"
#include "vs_ndjson.h"
#include "vs_stream.h"

#define SHARD_DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(17))
#define SHARD_PATH_MAX 4200

/* ---------------------------------------------------------------- the shard side */

struct shard_out {
    FILE *fp;
    long long n;
    const struct vs_qtext_sink *user; /* warnings go to it (may be NULL) */
};

static int write_full(FILE *fp, const json_t *rec)
{
    if (json_dumpf(rec, fp, SHARD_DUMP_FLAGS) != 0 || fputc('\n', fp) == EOF)
        return VS_E_IO;
    return VS_OK;
}

static int write_hit(const json_t *hit, void *arg)
{
    struct shard_out *o = arg;
    o->n++;
    return write_full(o->fp, hit);
}

static void warn_user(int status, const struct vs_diag *d, void *arg)
{
    struct shard_out *o = arg;
    if (o->user && o->user->warn)
        o->user->warn(status, d, o->user->arg);
}

/* The global statistics as a JSON object {"docs","total_len","df":{}}. */
struct gstats {
    struct vs_bm25_global g;
    json_t *df; /* term -> number */
};

static int gstats_df(void *arg, const char *term, double *df)
{
    struct gstats *s = arg;
    if (s->g.record)
        return json_object_set_new(s->df, term, json_real(*df));
    json_t *v = json_object_get(s->df, term);
    if (!json_is_number(v))
        return -1;
    *df = json_number_value(v);
    return 0;
}

/* Replacing statistics from o ({"docs","total_len","df"}); VS_E_FIELD. */
static int gstats_from_json(struct gstats *s, const json_t *o, struct vs_diag *d)
{
    json_t *dc = json_object_get(o, "docs"), *tl = json_object_get(o, "total_len");
    json_t *df = json_object_get(o, "df");
    if (!json_is_number(dc) || !json_is_number(tl) || !json_is_object(df)) {
        vs_diag_field(d, "bm25");
        return vs_diag_set(d, VS_E_FIELD, "expected {\"docs\", \"total_len\", \"df\"}");
    }
    s->g = (struct vs_bm25_global){0, json_number_value(dc), json_number_value(tl), gstats_df,
                                   s};
    s->df = df;
    return VS_OK;
}

int vs_qtext_shard_search(struct vs_store *s, const struct vs_query_opts *qo,
                          const struct vs_qtext_opts *to, const json_t *bm25,
                          const char *const *files, size_t n_files, const char *const *asks,
                          size_t n_asks, int keep_going, FILE *fp,
                          const struct vs_qtext_sink *warn, struct vs_qtext_totals *tot,
                          struct vs_diag *d)
{
    struct vs_qtext *q = NULL;
    struct gstats gs = {{0, 0, 0, NULL, NULL}, NULL};
    struct shard_out o = {fp, 0, warn};
    int st = bm25 ? gstats_from_json(&gs, bm25, d) : VS_OK;
    if (st == VS_OK)
        st = vs_qtext_new(s, qo, to, &q, d);
    json_t *m = vs_stream_begin("vs-query");
    if (st == VS_OK)
        st = m ? write_full(fp, m) : vs_diag_set(d, VS_E_NOMEM, "out of memory");
    json_decref(m);
    if (bm25)
        vs_bm25_global_set(&gs.g);
    const struct vs_qtext_sink sink = {write_hit, warn_user, NULL, &o, NULL};
    if (st == VS_OK && n_asks)
        st = vs_qtext_ask(q, asks, n_asks, &sink, tot, d);
    for (size_t i = 0; st == VS_OK && i < n_files; i++)
        st = vs_qtext_stream(q, files[i], keep_going, &sink, tot, d);
    if (st == VS_OK)
        st = vs_qtext_finish(q, &sink, tot, d);
    vs_bm25_global_set(NULL);
    if (st == VS_OK) {
        m = vs_stream_end("vs-query", o.n);
        st = m ? write_full(fp, m) : vs_diag_set(d, VS_E_NOMEM, "out of memory");
        json_decref(m);
    }
    vs_qtext_free(q);
    return st;
}

static int drop_hit(const json_t *hit, void *arg)
{
    (void)hit;
    (void)arg;
    return VS_OK;
}

static void drop_warn(int status, const struct vs_diag *d, void *arg)
{
    (void)status;
    (void)d;
    (void)arg;
}

int vs_qtext_shard_stats(struct vs_store *s, const struct vs_qtext_opts *to,
                         const char *const *files, size_t n_files, const char *const *asks,
                         size_t n_asks, json_t **out, struct vs_diag *d)
{
    *out = NULL;
    struct vs_query_opts qo = {.k = 1, .batch = 64, .threads = 1, .simd = -1,
                               .no_text = 1, .no_metadata = 1};
    struct vs_qtext_opts tt = *to;
    tt.mode = VS_QMODE_TEXT;
    tt.depth = 1;
    tt.group_by = NULL;
    tt.mmr = -1;
    tt.carry_query = tt.with_vectors = 0;
    struct gstats gs = {{1, 0, 0, gstats_df, NULL}, json_object()};
    gs.g.arg = &gs;
    struct vs_qtext *q = NULL;
    struct vs_qtext_totals tot = {0};
    int st = gs.df ? vs_qtext_new(s, &qo, &tt, &q, d) : vs_diag_set(d, VS_E_NOMEM, "out of memory");
    if (st == VS_E_UNSUPPORTED) { /* no text index: nothing to count */
        st = VS_OK;
    } else if (st == VS_OK) {
        /* the records without text are the vector side's (skipped here) */
        const struct vs_qtext_sink sink = {drop_hit, drop_warn, NULL, NULL, NULL};
        vs_bm25_global_set(&gs.g);
        if (n_asks)
            st = vs_qtext_ask(q, asks, n_asks, &sink, &tot, d);
        for (size_t i = 0; st == VS_OK && i < n_files; i++)
            st = vs_qtext_stream(q, files[i], 1, &sink, &tot, d);
        if (st == VS_OK)
            st = vs_qtext_finish(q, &sink, &tot, d);
        vs_bm25_global_set(NULL);
    }
    vs_qtext_free(q);
    if (st == VS_OK) {
        *out = json_pack("{s:f,s:f,s:o,s:s}", "docs", gs.g.docs, "total_len", gs.g.total_len,
                         "df", gs.df, "metric",
                         vs_metric_name(vs_store_settings(s)->metric));
        gs.df = NULL;
        if (!*out)
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
    }
    json_decref(gs.df);
    return st;
}

/* The options of a remote request into qo and to (strings borrowed from
 * h). VS_E_FIELD naming the header's field. */
static int header_opts(const json_t *h, struct vs_query_opts *qo, struct vs_qtext_opts *to,
                       int *keep_going, struct vs_diag *d)
{
    json_t *v;
    *qo = (struct vs_query_opts){.k = 10, .batch = 64, .threads = 1, .simd = -1};
    vs_qtext_opts_init(to);
    if ((v = json_object_get(h, "k")) &&
        (!json_is_integer(v) || json_integer_value(v) < 1 ||
         json_integer_value(v) > VS_QUERY_K_MAX)) {
        vs_diag_field(d, "k");
        return vs_diag_set(d, VS_E_FIELD, "k must be between 1 and %d", VS_QUERY_K_MAX);
    }
    if (v)
        qo->k = (size_t)json_integer_value(v);
    if ((v = json_object_get(h, "ef")) &&
        (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 100000)) {
        vs_diag_field(d, "ef");
        return vs_diag_set(d, VS_E_FIELD, "ef must be between 1 and 100000");
    }
    if (v)
        qo->ef = (size_t)json_integer_value(v);
    if ((v = json_object_get(h, "filter")) && !json_is_string(v)) {
        vs_diag_field(d, "filter");
        return vs_diag_set(d, VS_E_FIELD, "expected a string");
    }
    qo->filter = v ? json_string_value(v) : NULL;
    static const char *const flags[] = {"exact", "no_text", "no_metadata", "explain",
                                        "carry_query", "with_vectors", "keep_going", NULL};
    int *dst[] = {&qo->exact, &qo->no_text, &qo->no_metadata, &qo->explain,
                  &to->carry_query, &to->with_vectors, keep_going};
    for (size_t i = 0; flags[i]; i++) {
        v = json_object_get(h, flags[i]);
        if (v && !json_is_boolean(v)) {
            vs_diag_field(d, "%s", flags[i]);
            return vs_diag_set(d, VS_E_FIELD, "expected true or false");
        }
        *dst[i] = v && json_is_true(v);
    }
    v = json_object_get(h, "opts");
    if (v && !json_is_object(v)) {
        vs_diag_field(d, "opts");
        return vs_diag_set(d, VS_E_FIELD, "expected an object");
    }
    return v ? vs_qtext_opts_from_json(v, to, d) : VS_OK;
}

/* The stored doc_id, text and metadata of every id of the file that s
 * holds, as NDJSON {"id", "doc_id"?, "text"?, "metadata"?} into fp. */
static int shard_fetch(struct vs_store *s, const char *path, FILE *fp, struct vs_diag *d)
{
    struct vs_ndjson_reader *r;
    int st = vs_ndjson_open(path, 0, &r, d);
    while (st == VS_OK) {
        json_t *rec = NULL, *doc = NULL;
        if ((st = vs_ndjson_read(r, &rec, d)) != VS_OK || !rec)
            break;
        const char *id = json_string_value(json_object_get(rec, "id"));
        if (!id) {
            vs_diag_field(d, "id");
            st = vs_diag_set(d, VS_E_FIELD, "expected a string");
        } else if ((st = vs_store_get_doc(s, id, &doc, d)) == VS_E_NOTFOUND) {
            st = VS_OK; /* another shard's */
            vs_diag_clear(d);
        } else if (st == VS_OK) {
            json_t *o = json_pack("{s:s}", "id", id);
            static const char *const keep[] = {"doc_id", "text", "metadata"};
            for (size_t f = 0; o && f < 3; f++)
                if (json_object_get(doc, keep[f]))
                    json_object_set(o, keep[f], json_object_get(doc, keep[f]));
            st = o ? write_full(fp, o) : vs_diag_set(d, VS_E_NOMEM, "out of memory");
            json_decref(o);
        }
        json_decref(doc);
        json_decref(rec);
    }
    vs_ndjson_close(r);
    return st;
}

int vs_qtext_shard_request(struct vs_store *s, const char *body, size_t len, char **out,
                           size_t *outlen, int *is_json, struct vs_diag *d)
{
    *out = NULL;
    *outlen = 0;
    *is_json = 0;
    const char *nl = memchr(body, '\n', len);
    size_t hl = nl ? (size_t)(nl - body) : len;
    json_t *h = NULL, *res = NULL;
    int st = vs_ndjson_parse(body, hl, &h, d);
    if (st != VS_OK) {
        d->line = 1;
        return st;
    }
    json_t *ph = json_object_get(h, "phase");
    const char *phase = json_string_value(ph);
    char path[SHARD_PATH_MAX] = "";
    FILE *fp = NULL, *mem = NULL;
    struct vs_query_opts qo;
    struct vs_qtext_opts to;
    int keep_going = 0;
    if (!phase || (strcmp(phase, "stats") != 0 && strcmp(phase, "search") != 0 &&
                   strcmp(phase, "fetch") != 0)) {
        vs_diag_field(d, "phase");
        st = vs_diag_set(d, VS_E_FIELD, "expected \"stats\", \"search\" or \"fetch\"");
    }
    if (st == VS_OK)
        st = header_opts(h, &qo, &to, &keep_going, d);
    if (st != VS_OK) {
        d->line = 1;
        goto done;
    }
    /* the records after the header line, as a file for the record reader */
    const char *t = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/vs-shard-request.XXXXXX", t && *t ? t : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0 || !(fp = fdopen(fd, "wb"))) {
        if (fd >= 0)
            close(fd);
        st = vs_diag_set(d, VS_E_IO, "%s: %s", path, strerror(errno));
        path[0] = '\0';
        goto done;
    }
    size_t rest = nl ? len - hl - 1 : 0;
    /* a blank line keeps the records' line numbers those of the body */
    if (fputc('\n', fp) == EOF || (rest && fwrite(nl + 1, 1, rest, fp) != rest)) {
        fclose(fp);
        st = vs_diag_set(d, VS_E_IO, "%s: write failed", path);
        goto done;
    }
    if (fclose(fp) != 0) {
        st = vs_diag_set(d, VS_E_IO, "%s: write failed", path);
        goto done;
    }
    if (strcmp(phase, "stats") == 0) {
        const char *one[1] = {path};
        if ((st = vs_qtext_shard_stats(s, &to, one, 1, NULL, 0, &res, d)) == VS_OK) {
            *out = json_dumps(res, SHARD_DUMP_FLAGS);
            *outlen = *out ? strlen(*out) : 0;
            *is_json = 1;
            st = *out ? VS_OK : vs_diag_set(d, VS_E_NOMEM, "out of memory");
        }
        goto done;
    }
    if (!(mem = open_memstream(out, outlen))) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    if (strcmp(phase, "fetch") == 0) {
        st = shard_fetch(s, path, mem, d);
        if (fclose(mem) != 0 && st == VS_OK)
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    struct vs_qtext_totals tot = {0};
    json_t *bm = json_object_get(h, "bm25");
    const char *one[1] = {path};
    st = vs_qtext_shard_search(s, &qo, &to, bm, one, 1, NULL, 0, keep_going, mem, NULL, &tot, d);
    if (fclose(mem) != 0 && st == VS_OK)
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
done:
    if (st != VS_OK) {
        free(*out);
        *out = NULL;
        *outlen = 0;
    }
    if (path[0])
        unlink(path);
    if (st != VS_OK && d->file[0] && strcmp(d->file, path) == 0)
        vs_diag_where(d, "<body>", d->line);
    json_decref(res);
    json_decref(h);
    return st;
}

/* ---------------------------------------------------------------- the coordinator */

struct shard {
    const char *spec; /* as given */
    int remote;
    int out;          /* left out (partial) */
    char *url;        /* remote: the store's URL (spec, or found for a bare
                         http://HOST:PORT); NULL until resolved */
    int late;         /* failed for the deadline */
};

static int is_url(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* Copy standard input to path. */
static int spool_stdin(const char *path, struct vs_diag *d)
{
    FILE *out = fopen(path, "wb");
    if (!out)
        return vs_diag_set(d, VS_E_IO, "%s: %s", path, strerror(errno));
    char buf[65536];
    size_t m;
    while ((m = fread(buf, 1, sizeof buf, stdin)) > 0)
        if (fwrite(buf, 1, m, out) != m)
            break;
    int bad = ferror(stdin) || ferror(out);
    if (fclose(out) != 0 || bad)
        return vs_diag_set(d, VS_E_IO, "<stdin>: cannot copy the queries to %s", path);
    return VS_OK;
}

/* kmap[qid] = the query's own k, for every query record of path that has
 * one (records that do not parse are left to the search, which reports
 * them). With w, every line of path is also written to w, a query
 * record's "k" replaced by the candidates of a side (to->depth, else
 * max(k, 100)) and any other line as it is, so line numbers stay. */
static int note_ks(const char *path, json_t *kmap, const struct vs_qtext_opts *to,
                   size_t default_k, FILE *w, struct vs_diag *d)
{
    FILE *in = fopen(path, "rb");
    if (!in)
        return VS_OK; /* the search reports it, with its name */
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int st = VS_OK;
    while (st == VS_OK && (len = getline(&line, &cap, in)) >= 0) {
        json_t *rec = json_loadb(line, (size_t)len, JSON_DECODE_ANY, NULL), *qid = NULL;
        struct vs_diag d2;
        vs_diag_clear(&d2);
        size_t k = 0;
        int query = json_is_object(rec) && !vs_stream_marker_kind(rec) &&
                    vs_query_record_id_k(rec, default_k, &qid, &k, &d2) == VS_OK;
        if (query && json_object_get(rec, "k"))
            json_object_set_new(kmap, json_string_value(qid), json_integer((json_int_t)k));
        if (w && query) {
            size_t depth = to->depth ? to->depth
                                     : k > VS_QTEXT_DEPTH_DEFAULT ? k : VS_QTEXT_DEPTH_DEFAULT;
            json_object_set_new(rec, "k", json_integer((json_int_t)depth));
            st = write_full(w, rec);
        } else if (w && (fwrite(line, 1, (size_t)len, w) != (size_t)len ||
                         (len && line[len - 1] != '\n' && fputc('\n', w) == EOF)))
            st = VS_E_IO;
        if (st != VS_OK)
            vs_diag_set(d, st, "cannot write the queries of a side");
        json_decref(qid);
        json_decref(rec);
    }
    if (ferror(in) && st == VS_OK)
        st = vs_diag_set(d, VS_E_IO, "%s: read failed", path);
    free(line);
    fclose(in);
    return st;
}

struct remote {
    struct vs_http *http;
    const char *key;
};

/* Append the file at path to m (a line end after its last line). */
static int append_file(FILE *m, const char *path, struct vs_diag *d)
{
    FILE *in = fopen(path, "rb");
    if (!in) {
        int st = vs_diag_set(d, VS_E_IO, "%s", strerror(errno));
        vs_diag_where(d, path, 0);
        return st;
    }
    char buf[65536];
    size_t n;
    int last = '\n', st = VS_OK;
    while (st == VS_OK && (n = fread(buf, 1, sizeof buf, in)) > 0) {
        if (fwrite(buf, 1, n, m) != n)
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        last = (unsigned char)buf[n - 1];
    }
    if (st == VS_OK && ferror(in))
        st = vs_diag_set(d, VS_E_IO, "%s: read failed", path);
    if (st == VS_OK && last != '\n' && fputc('\n', m) == EOF)
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
    fclose(in);
    return st;
}

/* The queries of a coordinator: files (standard input copied to a file;
 * names[i] is what errors call files[i]) and asked texts. */
struct queries {
    const char **files, **names;
    size_t nfiles;
    const char *const *asks;
    size_t nasks;
};

/* "Authorization: Bearer KEY" into buf, or NULL without a key. */
static const char *auth_header(const char *key, char *buf, size_t size)
{
    if (!key || !*key)
        return NULL;
    snprintf(buf, size, "Authorization: Bearer %.1100s", key);
    return buf;
}

/* The message of a vs-serve error body {"error":{"message"}} into d. */
static void remote_message(const struct vs_http_response *r, int st, struct vs_diag *d)
{
    json_t *e = r->body ? json_loads(r->body, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(json_object_get(e, "error"),
                                                        "message"));
    if (msg)
        vs_diag_set(d, st, "HTTP %ld: %.900s", r->status, msg);
    json_decref(e);
}

/* The store URL of a remote shard into *url (malloc'd): the spec itself
 * when it names a store, http(s)://HOST[:PORT]/v1/stores/NAME; for a bare
 * http(s)://HOST[:PORT][/], the one store its vs-serve serves (GET
 * /v1/stores; a coordinator's sharded collections are not shards).
 * VS_E_USAGE for any other form and for a server with several stores,
 * VS_E_REMOTE for one with none, and the errors of vs_http_get. */
int vs_qtext_shard_url_check(const char *spec, size_t *base_len, struct vs_diag *d)
{
    const char *host = strstr(spec, "://");
    host = host ? host + 3 : spec;
    const char *path = strchr(host, '/');
    if (base_len)
        *base_len = path ? (size_t)(path - spec) : strlen(spec);
    static const char pre[] = "/v1/stores/";
    if (!path || strcmp(path, "/") == 0)
        return 0;
    const char *name = path + sizeof pre - 1, *sl;
    if (strncmp(path, pre, sizeof pre - 1) != 0 || !*name || *name == '/' ||
        ((sl = strchr(name, '/')) && sl[1])) {
        vs_diag_set(d, VS_E_USAGE, "shard URL '%.300s': expected "
                    "http(s)://HOST:PORT/v1/stores/NAME (or http(s)://HOST:PORT when that "
                    "vs-serve serves one store)", spec);
        return -1;
    }
    return 1;
}

static int resolve_url(struct vs_http *http, const char *key, const char *spec, char **url,
                       struct vs_diag *d)
{
    *url = NULL;
    size_t bl;
    int form = vs_qtext_shard_url_check(spec, &bl, d);
    if (form < 0)
        return VS_E_USAGE;
    if (form == 1) {
        size_t ul = strlen(spec);
        while (ul > 0 && spec[ul - 1] == '/')
            ul--;
        if (!(*url = strndup(spec, ul)))
            return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        return VS_OK;
    }
    char list[SHARD_PATH_MAX], auth[1200];
    snprintf(list, sizeof list, "%.*s/v1/stores", (int)bl, spec);
    const char *hdrs[2] = {auth_header(key, auth, sizeof auth), NULL};
    struct vs_http_response r = {0};
    int st = vs_http_get(http, list, hdrs, &r, d);
    if (st == VS_E_REMOTE)
        remote_message(&r, st, d);
    json_t *o = st == VS_OK ? json_loads(r.body, 0, NULL) : NULL;
    vs_http_response_release(&r);
    json_t *stores = json_object_get(o, "stores"), *sharded = json_object_get(o, "sharded");
    if (st == VS_OK && !json_is_array(stores))
        st = vs_diag_set(d, VS_E_REMOTE, "GET %.300s: not a vs-serve store list", list);
    char names[600] = "";
    size_t nn = 0, i, j;
    const char *one = NULL;
    json_t *v, *w;
    json_array_foreach(stores, i, v) {
        const char *nm = json_string_value(v);
        int coll = 0;
        json_array_foreach(sharded, j, w) coll |= nm && json_equal(v, w);
        if (!nm || coll)
            continue;
        one = nm;
        size_t l = strlen(names);
        snprintf(names + l, sizeof names - l, "%s%s", nn ? ", " : "", nm);
        nn++;
    }
    if (st == VS_OK && nn == 0)
        st = vs_diag_set(d, VS_E_REMOTE, "%.300s serves no store to use as a shard", list);
    else if (st == VS_OK && nn > 1)
        st = vs_diag_set(d, VS_E_USAGE, "shard URL '%.300s': that vs-serve serves %zu stores "
                         "(%.400s): name one, %.*s/v1/stores/NAME", spec, nn, names, (int)bl,
                         spec);
    else if (st == VS_OK && asprintf(url, "%.*s/v1/stores/%s", (int)bl, spec, one) < 0) {
        *url = NULL;
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
    }
    json_decref(o);
    return st;
}

int vs_qtext_shard_check(const char *spec, const char *key, long timeout_ms,
                         struct vs_diag *d)
{
    if (!is_url(spec)) {
        struct vs_store *s = NULL;
        int st = vs_store_open(spec, &s, d);
        vs_store_close(s);
        return st;
    }
    struct vs_http_opts ho;
    vs_http_opts_init(&ho);
    ho.max_retries = 0;
    ho.timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
    ho.connect_timeout_ms = ho.timeout_ms;
    struct vs_http *http = NULL;
    char *url = NULL, auth[1200];
    int st = vs_http_new(&ho, &http, d);
    if (st == VS_OK)
        st = resolve_url(http, key, spec, &url, d);
    if (st == VS_OK) { /* the store's info: it is there and opens */
        const char *hdrs[2] = {auth_header(key, auth, sizeof auth), NULL};
        struct vs_http_response r = {0};
        if ((st = vs_http_get(http, url, hdrs, &r, d)) == VS_E_REMOTE)
            remote_message(&r, st, d);
        vs_http_response_release(&r);
    }
    free(url);
    vs_http_free(http);
    return st;
}

/* POST the header h and the queries to a remote shard's .../shard: the
 * answer's body into *resp. VS_E_NETWORK, VS_E_REMOTE (d has the shard's
 * error message), VS_E_IO, VS_E_NOMEM. */
static int remote_call(struct remote *rm, const char *url, const json_t *h,
                       const struct queries *qs, struct vs_http_response *resp,
                       struct vs_diag *d)
{
    char *body = NULL;
    size_t blen = 0;
    FILE *m = open_memstream(&body, &blen);
    if (!m)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    int st = write_full(m, h);
    for (size_t i = 0; st == VS_OK && i < qs->nfiles; i++)
        st = append_file(m, qs->files[i], d);
    for (size_t i = 0; st == VS_OK && i < qs->nasks; i++) {
        char qid[32];
        snprintf(qid, sizeof qid, "q%zu", i + 1);
        json_t *rec = json_pack("{s:s,s:s}", "id", qid, "text", qs->asks[i]);
        st = rec ? write_full(m, rec) : vs_diag_set(d, VS_E_NOMEM, "out of memory");
        json_decref(rec);
    }
    if (fclose(m) != 0 && st == VS_OK)
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
    char full[SHARD_PATH_MAX], auth[1200];
    size_t ul = strlen(url);
    while (ul > 0 && url[ul - 1] == '/')
        ul--;
    snprintf(full, sizeof full, "%.*s/shard", (int)ul, url);
    const char *hdrs[2] = {auth_header(rm->key, auth, sizeof auth), NULL};
    if (st == VS_OK)
        st = vs_http_post_json(rm->http, full, hdrs, body, blen, resp, d);
    if (st == VS_E_REMOTE) /* the shard's own message */
        remote_message(resp, st, d);
    free(body);
    return st;
}

/* The request header of a remote shard: the search options. */
static json_t *remote_header(const char *phase, const struct vs_query_opts *qo,
                             const struct vs_qtext_opts *to, int keep_going,
                             const json_t *bm25)
{
    json_t *o = json_pack("{s:s,s:I,s:b,s:b,s:b,s:b,s:b,s:b,s:b}", "phase", phase, "k",
                          (json_int_t)qo->k, "exact", qo->exact, "no_text", qo->no_text,
                          "no_metadata", qo->no_metadata, "explain", qo->explain,
                          "carry_query", to->carry_query, "with_vectors", to->with_vectors,
                          "keep_going", keep_going);
    json_t *op = json_object();
    if (!o || !op) {
        json_decref(o);
        json_decref(op);
        return NULL;
    }
    if (qo->ef)
        json_object_set_new(o, "ef", json_integer((json_int_t)qo->ef));
    if (qo->filter)
        json_object_set_new(o, "filter", json_string(qo->filter));
    json_object_set_new(op, "mode", json_string(vs_qmode_name(to->mode)));
    json_object_set_new(op, "fusion", json_string(vs_fuse_method_name(to->fuse.method)));
    json_object_set_new(op, "rrf_k", json_real(to->fuse.rrf_k));
    json_object_set_new(op, "alpha", json_real(to->fuse.alpha));
    json_object_set_new(op, "k1", json_real(to->bm25.k1));
    json_object_set_new(op, "b", json_real(to->bm25.b));
    if (to->depth)
        json_object_set_new(op, "candidates", json_integer((json_int_t)to->depth));
    if (to->mmr >= 0)
        json_object_set_new(op, "mmr", json_real(to->mmr));
    if (to->group_by)
        json_object_set_new(op, "group_by", json_string(to->group_by));
    json_object_set_new(o, "opts", op);
    if (bm25)
        json_object_set(o, "bm25", (json_t *)(uintptr_t)bm25);
    return o;
}

struct coord {
    struct shard *sh;
    size_t n;
    double deadline; /* vs_http_now seconds; 0 = none */
    double phase_deadline; /* the current phase's share of it */
    int phases_left;
    struct vs_http_opts ho; /* of every remote request */
    const struct vs_query_opts *qo;
    int keep_going;
    const struct vs_shards_opts *so;
    const struct vs_qtext_sink *user;
    struct remote rm;
    char dir[4000];
    uint64_t skipped;
};

/* Errors in our own copies of the queries name the user's files. */
static void rename_diag(const struct queries *qs, struct vs_diag *d)
{
    for (size_t i = 0; i < qs->nfiles; i++)
        if (d->file[0] && strcmp(d->file, qs->files[i]) == 0 &&
            strcmp(qs->files[i], qs->names[i]) != 0) {
            vs_diag_where(d, qs->names[i], d->line);
            return;
        }
}

/* Note a failed shard: with partial it is left out (its reason goes to
 * so->left_out) and VS_OK returned; else st with d naming the shard. */
static int shard_failed(struct coord *c, size_t i, int st, struct vs_diag *d)
{
    if (!d->file[0] || c->sh[i].remote)
        vs_diag_where(d, c->sh[i].spec, 0);
    if (!c->so || !c->so->partial || st == VS_E_USAGE || st == VS_E_NOMEM ||
        (!c->sh[i].remote && st != VS_E_NOSTORE && st != VS_E_CORRUPT && st != VS_E_IO &&
         st != VS_E_NETWORK /* the deadline */))
        return st; /* a bad query or option fails every shard alike */
    c->sh[i].out = 1;
    if (c->so->left_out) {
        char msg[1400];
        snprintf(msg, sizeof msg, "%.300s: %.1000s", c->sh[i].spec, d->detail);
        json_array_append_new(c->so->left_out, json_string(msg));
    }
    vs_diag_clear(d);
    return VS_OK;
}

/* Before asking shard i: VS_E_NETWORK once the deadline has passed (a
 * local shard is not cut mid-search: the deadline is checked before each
 * shard is asked). */
static int before_shard(struct coord *c, size_t i, double *t0, struct vs_diag *d)
{
    *t0 = vs_http_now();
    if (c->deadline <= 0 || *t0 < c->phase_deadline)
        return VS_OK;
    c->sh[i].late = 1;
    return vs_diag_set(d, VS_E_NETWORK, "the deadline of %ld ms passed before this shard "
                       "was asked%s", c->so->deadline_ms,
                       c->phase_deadline < c->deadline ? " (its share for this phase)" : "");
}

/* A phase (finding bare URLs, statistics, a search, the fetch) starts: it
 * gets an even share of the time left, so a shard that does not answer
 * in one phase leaves time for the phases after it. */
static void phase_begin(struct coord *c)
{
    if (c->deadline <= 0)
        return;
    double now = vs_http_now(), left = c->deadline - now;
    c->phase_deadline = c->phases_left > 1 && left > 0 ? now + left / c->phases_left
                                                       : c->deadline;
    if (c->phases_left > 1)
        c->phases_left--;
    vs_http_set_deadline(c->rm.http, c->phase_deadline);
}

/* After asking shard i (st its outcome): the caller's observer. */
static void after_shard(const struct coord *c, size_t i, int st, double t0)
{
    if (c->so && c->so->observe)
        c->so->observe(c->so->observe_arg, i, st, vs_http_now() - t0);
}

/* The remote requests of a phase go out at once, one thread and client
 * each, while the local shards are searched here: a slow shard costs the
 * time it takes, not that and every later shard's. */
struct rjob {
    struct coord *c;
    size_t i;
    json_t *h; /* the request's header (owned) */
    const struct queries *qs;
    struct vs_http_response r;
    int st, started, late;
    struct vs_diag d;
    pthread_t th;
};

static void *rjob_run(void *arg)
{
    struct rjob *j = arg;
    double t0 = vs_http_now();
    struct vs_http *http = NULL;
    j->st = vs_http_new(&j->c->ho, &http, &j->d);
    if (j->st == VS_OK) {
        vs_http_set_deadline(http, j->c->phase_deadline);
        struct remote rm = {http, j->c->rm.key};
        j->st = remote_call(&rm, j->c->sh[j->i].url, j->h, j->qs, &j->r, &j->d);
        j->late = j->st != VS_OK && vs_http_timed_out(http);
    }
    vs_http_free(http);
    after_shard(j->c, j->i, j->st, t0);
    return NULL;
}

/* Send a copy of h0 with the queries to every remote shard not left out:
 * *out gets one job per shard (jobs of local shards unused). */
static int remote_start(struct coord *c, const json_t *h0, const struct queries *qs,
                        struct rjob **out, struct vs_diag *d)
{
    struct rjob *jobs = calloc(c->n + 1, sizeof *jobs);
    *out = jobs;
    if (!jobs || !h0)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    for (size_t i = 0; i < c->n; i++) {
        struct rjob *j = &jobs[i];
        if (!c->sh[i].remote || c->sh[i].out)
            continue;
        j->c = c;
        j->i = i;
        j->qs = qs;
        vs_diag_clear(&j->d);
        double t0;
        if ((j->st = before_shard(c, i, &t0, &j->d)) != VS_OK)
            continue;
        if (!(j->h = json_deep_copy(h0))) {
            j->st = vs_diag_set(&j->d, VS_E_NOMEM, "out of memory");
            continue;
        }
        if (pthread_create(&j->th, NULL, rjob_run, j) == 0)
            j->started = 1;
        else
            rjob_run(j); /* no thread: in turn */
    }
    return VS_OK;
}

/* Wait for job i; its outcome (d set from it on failure). */
static int remote_wait(struct rjob *jobs, size_t i, struct vs_diag *d)
{
    struct rjob *j = &jobs[i];
    if (j->started) {
        pthread_join(j->th, NULL);
        j->started = 0;
    }
    if (j->c && j->late)
        j->c->sh[i].late = 1;
    if (j->st != VS_OK && d)
        *d = j->d;
    return j->st;
}

static void remote_free(struct rjob *jobs, size_t n)
{
    for (size_t i = 0; jobs && i < n; i++) {
        remote_wait(jobs, i, NULL);
        json_decref(jobs[i].h);
        vs_http_response_release(&jobs[i].r);
    }
    free(jobs);
}

/* Phase 1: the summed statistics of every shard into *out. */
static int gather_stats(struct coord *c, const struct vs_qtext_opts *to,
                        const struct queries *qs, json_t **out, struct vs_diag *d)
{
    json_t *sum = json_pack("{s:f,s:f,s:{}}", "docs", 0.0, "total_len", 0.0, "df");
    int st = sum ? VS_OK : vs_diag_set(d, VS_E_NOMEM, "out of memory");
    json_t *h0 = remote_header("stats", c->qo, to, 0, NULL);
    struct rjob *jobs = NULL;
    phase_begin(c);
    if (st == VS_OK)
        st = remote_start(c, h0, qs, &jobs, d);
    json_decref(h0);
    /* the local shards first, searched while the remote ones answer */
    for (size_t k = 0; k < 2 * c->n && st == VS_OK; k++) {
        size_t i = k % c->n;
        json_t *one = NULL;
        double t0;
        if (c->sh[i].out || c->sh[i].remote != (k >= c->n))
            continue;
        if (c->sh[i].remote) {
            st = remote_wait(jobs, i, d);
            if (st == VS_OK && !(one = json_loads(jobs[i].r.body, 0, NULL)))
                st = vs_diag_set(d, VS_E_REMOTE, "the statistics are not JSON");
        } else if ((st = before_shard(c, i, &t0, d)) != VS_OK) {
        } else {
            struct vs_store *s = NULL;
            st = vs_store_open(c->sh[i].spec, &s, d);
            if (st == VS_OK)
                st = vs_qtext_shard_stats(s, to, qs->files, qs->nfiles, qs->asks, qs->nasks,
                                          &one, d);
            vs_store_close(s);
            after_shard(c, i, st, t0);
        }
        if (st != VS_OK) {
            st = shard_failed(c, i, st, d);
            continue;
        }
        json_t *sdf = json_object_get(sum, "df"), *v;
        const char *term;
        json_object_foreach(json_object_get(one, "df"), term, v) {
            json_object_set_new(sdf, term, json_real(json_number_value(json_object_get(sdf, term)) +
                                                     json_number_value(v)));
        }
        static const char *const keys[] = {"docs", "total_len"};
        for (size_t f = 0; f < 2; f++)
            json_object_set_new(sum, keys[f],
                                json_real(json_number_value(json_object_get(sum, keys[f])) +
                                          json_number_value(json_object_get(one, keys[f]))));
        json_t *met = json_object_get(one, "metric");
        if (met && !json_object_get(sum, "metric"))
            json_object_set(sum, "metric", met);
        json_decref(one);
    }
    remote_free(jobs, c->n);
    if (st != VS_OK) {
        json_decref(sum);
        sum = NULL;
    }
    *out = sum;
    return st;
}

/* Phase 2: every shard searched with the queries into hits[i] (a shard
 * left out gets an empty, complete stream). */
static int search_all(struct coord *c, const struct vs_qtext_opts *to, const struct queries *qs,
                      const json_t *bm25, const char *tag, char **hits, struct vs_diag *d)
{
    json_t *h0 = remote_header("search", c->qo, to, c->keep_going, bm25);
    struct rjob *jobs = NULL;
    phase_begin(c);
    int st = remote_start(c, h0, qs, &jobs, d);
    json_decref(h0);
    /* the local shards first, searched while the remote ones answer */
    for (size_t k = 0; k < 2 * c->n && st == VS_OK; k++) {
        size_t i = k % c->n;
        if (c->sh[i].remote != (k >= c->n))
            continue;
        snprintf(hits[i], SHARD_PATH_MAX, "%s/%.16s-%zu.ndjson", c->dir, tag, i);
        FILE *fp = fopen(hits[i], "wb");
        if (!fp) {
            st = vs_diag_set(d, VS_E_IO, "%s: %s", hits[i], strerror(errno));
            break;
        }
        int ours = 0; /* a failure of our own files, not of the shard */
        double t0 = 0;
        if (!c->sh[i].out && !c->sh[i].remote && (st = before_shard(c, i, &t0, d)) != VS_OK) {
        } else if (c->sh[i].out) {
            json_t *b = vs_stream_begin("vs-query"), *e = vs_stream_end("vs-query", 0);
            st = b && e ? write_full(fp, b) : VS_E_NOMEM;
            if (st == VS_OK)
                st = write_full(fp, e);
            json_decref(b);
            json_decref(e);
            ours = 1;
        } else if (c->sh[i].remote) {
            st = remote_wait(jobs, i, d);
            struct vs_http_response *r = &jobs[i].r;
            if (st == VS_OK && r->len && fwrite(r->body, 1, r->len, fp) != r->len) {
                st = vs_diag_set(d, VS_E_IO, "%s: write failed", hits[i]);
                ours = 1;
            }
        } else {
            struct vs_store *s = NULL;
            struct vs_qtext_totals t = {0};
            st = vs_store_open(c->sh[i].spec, &s, d);
            /* bad records are reported once, by the first shard */
            struct shard_out w = {NULL, 0, i == 0 ? c->user : NULL};
            const struct vs_qtext_sink ws = {drop_hit, warn_user, NULL, &w, NULL};
            if (st == VS_OK)
                st = vs_qtext_shard_search(s, c->qo, to, bm25, qs->files, qs->nfiles, qs->asks,
                                           qs->nasks, c->keep_going, fp, &ws, &t, d);
            if (st != VS_OK)
                rename_diag(qs, d);
            if (i == 0)
                c->skipped = t.skipped;
            vs_store_close(s);
            after_shard(c, i, st, t0);
        }
        if (fclose(fp) != 0 && st == VS_OK) {
            st = vs_diag_set(d, VS_E_IO, "%s: write failed", hits[i]);
            ours = 1;
        }
        if (st != VS_OK && !ours && (st = shard_failed(c, i, st, d)) == VS_OK)
            k--; /* again, as a shard left out */
    }
    remote_free(jobs, c->n);
    return st;
}

/* Per qid, in order of first appearance, the merged hits of a side. */
struct side {
    json_t *by;    /* qid -> array of hits */
    json_t *order; /* qids */
};

static int collect_side(const json_t *hit, void *arg)
{
    struct side *s = arg;
    const char *qid = json_string_value(json_object_get(hit, "qid"));
    if (!qid)
        return VS_E_FIELD;
    json_t *a = json_object_get(s->by, qid);
    if (!a) {
        a = json_array();
        if (!a || json_object_set_new(s->by, qid, a) != 0 ||
            json_array_append_new(s->order, json_string(qid)) != 0)
            return VS_E_NOMEM;
    }
    if (!json_object_get(hit, "id")) /* {"qid", "hits": 0} */
        return VS_OK;
    return json_array_append(a, (json_t *)(uintptr_t)hit) == 0 ? VS_OK : VS_E_NOMEM;
}

struct emitter {
    const struct vs_qtext_sink *sink;
    int partial;      /* mark every hit */
    int text;         /* text mode: rank_text is the merged rank; no empty records */
    uint64_t empty, hits;
};

static int emit_out(const json_t *hit, void *arg)
{
    struct emitter *e = arg;
    if (!json_object_get(hit, "id")) {
        e->empty++;
        if (e->text)
            return VS_OK; /* one store writes nothing for such a query */
    } else
        e->hits++;
    if (!e->partial && !e->text)
        return e->sink->emit(hit, e->sink->arg);
    json_t *h = json_copy((json_t *)(uintptr_t)hit);
    if (!h)
        return VS_E_NOMEM;
    if (e->text && json_object_get(h, "id"))
        json_object_set(h, "rank_text", json_object_get(h, "rank"));
    if (e->partial)
        json_object_set_new(h, "partial", json_true());
    int st = e->sink->emit(h, e->sink->arg);
    json_decref(h);
    return st;
}

/* Hybrid: fuse the merged vector and text lists of each qid as one store
 * fuses its own (emit_query in query_text.c), the hits (without their
 * stored fields) appended to outs. */
static int fuse_sides(const struct vs_qtext_opts *to, const struct vs_query_opts *qo,
                      const json_t *kmap, const char *metric, struct side *vs,
                      struct side *ts, json_t *outs, struct emitter *e, uint64_t *nq,
                      struct vs_diag *d)
{
    json_t *order = json_array();
    int st = order ? VS_OK : vs_diag_set(d, VS_E_NOMEM, "out of memory");
    json_t *seen = json_object();
    size_t i;
    json_t *q;
    for (int side = 0; side < 2 && st == VS_OK; side++)
        json_array_foreach(side ? ts->order : vs->order, i, q)
            if (!json_object_get(seen, json_string_value(q))) {
                json_object_set_new(seen, json_string_value(q), json_true());
                json_array_append(order, q);
            }
    json_t *fusion = to->fuse.method == VS_FUSE_RRF
                         ? json_pack("{s:s,s:f}", "method", "rrf", "rrf_k", to->fuse.rrf_k)
                         : json_pack("{s:s,s:f}", "method", vs_fuse_method_name(to->fuse.method),
                                     "alpha", to->fuse.alpha);
    json_t *bm = json_pack("{s:f,s:f}", "k1", to->bm25.k1, "b", to->bm25.b);
    json_array_foreach(order, i, q) {
        if (st != VS_OK)
            break;
        const char *qid = json_string_value(q);
        json_t *jk = json_object_get(kmap, qid);
        size_t k = json_is_integer(jk) ? (size_t)json_integer_value(jk) : qo->k;
        size_t depth = to->depth ? to->depth : k > VS_QTEXT_DEPTH_DEFAULT ? k : VS_QTEXT_DEPTH_DEFAULT;
        json_t *va = json_object_get(vs->by, qid), *ta = json_object_get(ts->by, qid);
        size_t nv = json_array_size(va), nt = json_array_size(ta);
        nv = nv < depth ? nv : depth;
        nt = nt < depth ? nt : depth;
        struct vs_fuse_item *vi = calloc(nv + 1, sizeof *vi), *ti = calloc(nt + 1, sizeof *ti);
        struct vs_fuse_result *fr = NULL;
        size_t nfr = 0;
        if (!vi || !ti)
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        for (size_t j = 0; j < nv && st == VS_OK; j++) {
            json_t *h = json_array_get(va, j);
            vi[j] = (struct vs_fuse_item){json_string_value(json_object_get(h, "id")),
                                          json_number_value(json_object_get(h, "score"))};
        }
        for (size_t j = 0; j < nt && st == VS_OK; j++) {
            json_t *h = json_array_get(ta, j);
            ti[j] = (struct vs_fuse_item){json_string_value(json_object_get(h, "id")),
                                          json_number_value(json_object_get(h, "score"))};
        }
        struct vs_fuse_list lists[2] = {{vi, nv}, {ti, nt}};
        if (st == VS_OK)
            st = vs_fuse(lists, 2, &to->fuse, &fr, &nfr, d);
        size_t nout = nfr < depth ? nfr : depth;
        nout = nout < k ? nout : k;
        for (size_t j = 0; j < nout && st == VS_OK; j++) {
            size_t rv = fr[j].ranks[0], rt = fr[j].ranks[1];
            json_t *h = json_object();
            if (!h) {
                st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
                break;
            }
            json_object_set(h, "qid", q);
            json_object_set_new(h, "id", json_string(fr[j].id));
            json_object_set_new(h, "rank", json_integer((json_int_t)j + 1));
            json_object_set_new(h, "score", json_real(fr[j].score));
            json_object_set_new(h, "mode", json_string("hybrid"));
            json_object_set_new(h, "score_vector", rv ? json_real(vi[rv - 1].score) : json_null());
            json_object_set_new(h, "score_text", rt ? json_real(ti[rt - 1].score) : json_null());
            json_object_set_new(h, "rank_vector", rv ? json_integer((json_int_t)rv) : json_null());
            json_object_set_new(h, "rank_text", rt ? json_integer((json_int_t)rt) : json_null());
            json_object_set(h, "fusion", fusion);
            json_object_set(h, "bm25", bm);
            json_object_set_new(h, "metric", json_string(metric));
            /* doc_id, text and metadata: fetched for the hits kept */
            st = json_array_append_new(outs, h) == 0 ? VS_OK
                                                     : vs_diag_set(d, VS_E_NOMEM, "out of memory");
        }
        (*nq)++;
        if (st == VS_OK && nout == 0)
            e->empty++;
        vs_fuse_results_free(fr, nfr);
        free(vi);
        free(ti);
    }
    json_decref(fusion);
    json_decref(bm);
    json_decref(seen);
    json_decref(order);
    return st;
}

/* The stored doc_id, text and metadata of the hits in outs, from every
 * shard that holds them (the candidate lists travel without them), then
 * each hit emitted. */
static int fetch_emit(struct coord *c, json_t *outs, struct emitter *e, struct vs_diag *d)
{
    char ids[SHARD_PATH_MAX];
    snprintf(ids, sizeof ids, "%s/ids.ndjson", c->dir);
    json_t *docs = json_object(); /* id -> {doc_id, text, metadata} */
    FILE *w = fopen(ids, "wb");
    int st = docs && w ? VS_OK : vs_diag_set(d, VS_E_IO, "%s: %s", ids, strerror(errno));
    size_t i;
    json_t *h;
    json_array_foreach(outs, i, h) {
        const char *id = json_string_value(json_object_get(h, "id"));
        if (st != VS_OK || json_object_get(docs, id))
            continue;
        json_object_set_new(docs, id, json_null());
        json_t *r = json_pack("{s:s}", "id", id);
        st = r ? write_full(w, r) : vs_diag_set(d, VS_E_NOMEM, "out of memory");
        json_decref(r);
    }
    if (w && fclose(w) != 0 && st == VS_OK)
        st = vs_diag_set(d, VS_E_IO, "%s: write failed", ids);
    const char *one[1] = {ids};
    struct queries qs = {one, one, 1, NULL, 0};
    phase_begin(c);
    for (size_t k = 0; k < c->n && st == VS_OK && json_array_size(outs); k++) {
        if (c->sh[k].out)
            continue;
        char *buf = NULL;
        size_t blen = 0;
        double t0;
        if ((st = before_shard(c, k, &t0, d)) != VS_OK) {
        } else if (c->sh[k].remote) {
            struct vs_http_response r = {0};
            json_t *hd = json_pack("{s:s}", "phase", "fetch");
            st = hd ? remote_call(&c->rm, c->sh[k].url, hd, &qs, &r, d)
                    : vs_diag_set(d, VS_E_NOMEM, "out of memory");
            c->sh[k].late |= st != VS_OK && vs_http_timed_out(c->rm.http);
            json_decref(hd);
            if (st == VS_OK) {
                buf = r.body;
                blen = r.len;
                r.body = NULL;
            }
            vs_http_response_release(&r);
            after_shard(c, k, st, t0);
        } else {
            struct vs_store *s = NULL;
            FILE *m = open_memstream(&buf, &blen);
            st = m ? vs_store_open(c->sh[k].spec, &s, d) : vs_diag_set(d, VS_E_NOMEM, "out of memory");
            if (st == VS_OK)
                st = shard_fetch(s, ids, m, d);
            if (m && fclose(m) != 0 && st == VS_OK)
                st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            vs_store_close(s);
            after_shard(c, k, st, t0);
        }
        if (st != VS_OK) {
            free(buf);
            if ((st = shard_failed(c, k, st, d)) == VS_OK)
                e->partial = 1;
            continue;
        }
        for (char *p = buf; p && p < buf + blen;) {
            char *nl = memchr(p, '\n', (size_t)(buf + blen - p));
            size_t n = nl ? (size_t)(nl - p) : (size_t)(buf + blen - p);
            json_t *o = json_loadb(p, n, 0, NULL);
            const char *id = json_string_value(json_object_get(o, "id"));
            if (id && json_object_get(docs, id)) {
                json_object_set(docs, id, o); /* copies the key */
                json_object_del(o, "id");
            }
            json_decref(o);
            p += n + 1;
        }
        free(buf);
    }
    unlink(ids);
    json_array_foreach(outs, i, h) {
        if (st != VS_OK)
            break;
        json_t *doc = json_object_get(docs, json_string_value(json_object_get(h, "id")));
        json_t *v;
        if ((v = json_object_get(doc, "doc_id")) && !json_is_null(v) &&
            (!c->qo->no_text || !c->qo->no_metadata))
            json_object_set(h, "doc_id", v);
        if ((v = json_object_get(doc, "text")) && !c->qo->no_text)
            json_object_set(h, "text", v);
        if ((v = json_object_get(doc, "metadata")) && !c->qo->no_metadata)
            json_object_set(h, "metadata", v);
        st = emit_out(h, e);
    }
    json_decref(docs);
    return st;
}

static char **path_array(size_t n)
{
    char **p = calloc(n + 1, sizeof *p);
    for (size_t i = 0; p && i < n; i++)
        if (!(p[i] = calloc(1, SHARD_PATH_MAX))) {
            for (size_t j = 0; j < i; j++)
                free(p[j]);
            free(p);
            return NULL;
        }
    return p;
}

static void path_array_free(char **p, size_t n)
{
    for (size_t i = 0; p && i < n; i++) {
        if (p[i][0])
            unlink(p[i]);
        free(p[i]);
    }
    free(p);
}

int vs_qtext_shards(const char *const *stores, size_t n, const struct vs_query_opts *qo,
                    const struct vs_qtext_opts *to, const struct vs_shards_opts *so,
                    const char *const *files, size_t n_files, const char *const *asks,
                    size_t n_asks, int keep_going, const struct vs_qtext_sink *sink,
                    struct vs_qtext_totals *tot, uint64_t *incomparable, struct vs_diag *d)
{
    int global = to->mode == VS_QMODE_TEXT || to->mode == VS_QMODE_HYBRID;
    if (incomparable)
        *incomparable = 0;
    if (to->mmr >= 0)
        return vs_diag_set(d, VS_E_USAGE, "MMR over shards is not built: it needs every "
                           "candidate's vector in one place");
    if (to->group_by && strcmp(to->group_by, "doc_id") != 0)
        return vs_diag_set(d, VS_E_USAGE, "group-by '%.200s' over shards: only doc_id (a "
                           "document's chunks are in one shard; other groups span shards)",
                           to->group_by);
    if (global && (to->group_by || qo->explain || to->carry_query || to->with_vectors))
        return vs_diag_set(d, VS_E_USAGE, "text and hybrid search over shards (global term "
                           "statistics) do not take group-by, explain, carry-query or "
                           "with-vectors");
    struct coord c = {.sh = calloc(n + 1, sizeof(struct shard)), .n = n, .qo = qo,
                      .keep_going = keep_going, .so = so, .user = sink,
                      .rm = {NULL, so ? so->key : NULL}};
    size_t nf = n_files ? n_files : n_asks ? 0 : 1;
    struct queries qs = {calloc(nf + 1, sizeof(char *)), calloc(nf + 1, sizeof(char *)), nf,
                         asks, n_asks};
    struct queries sq = {calloc(nf + 1, sizeof(char *)), qs.names, nf, NULL, 0};
    char **hits = path_array(n), **thits = path_array(n), **sides = path_array(nf + 1);
    json_t *kmap = json_object(), *stats = NULL;
    char qpath[SHARD_PATH_MAX] = "";
    int st = c.sh && qs.files && qs.names && sq.files && hits && thits && sides && kmap
                 ? VS_OK
                 : vs_diag_set(d, VS_E_NOMEM, "out of memory");
    int nremote = 0;
    for (size_t i = 0; st == VS_OK && i < n; i++) {
        c.sh[i] = (struct shard){stores[i], is_url(stores[i]), 0, NULL, 0};
        nremote += c.sh[i].remote;
    }
    const char *t = getenv("TMPDIR");
    snprintf(c.dir, sizeof c.dir, "%s/vs-query-shards.XXXXXX", t && *t ? t : "/tmp");
    if (st == VS_OK && !mkdtemp(c.dir)) {
        st = vs_diag_set(d, VS_E_IO, "%s: %s", c.dir, strerror(errno));
        c.dir[0] = '\0';
    }
    if (st == VS_OK && nremote) {
        struct vs_http_opts *ho = &c.ho;
        vs_http_opts_init(ho);
        ho->max_retries = 1; /* one more try, then the shard has failed */
        ho->backoff_base_ms = 100;
        ho->backoff_max_ms = 500;
        ho->connect_timeout_ms = 3000;
        ho->timeout_ms = so && so->timeout_ms > 0 ? so->timeout_ms : 30000;
        st = vs_http_new(ho, &c.rm.http, d);
    }
    /* standard input is read once, into a file every shard reads */
    snprintf(qpath, sizeof qpath, "%s/queries.ndjson", c.dir);
    char empty[SHARD_PATH_MAX];
    snprintf(empty, sizeof empty, "%s/empty.ndjson", c.dir);
    int spooled = 0;
    for (size_t i = 0; st == VS_OK && i < nf; i++) {
        qs.files[i] = qs.names[i] = n_files ? files[i] : "-";
        if (strcmp(qs.files[i], "-") != 0)
            continue;
        qs.names[i] = "<stdin>";
        if (spooled) { /* stdin a second time: at its end already, as one reader */
            FILE *e = fopen(empty, "wb");
            st = e && fclose(e) == 0 ? VS_OK : vs_diag_set(d, VS_E_IO, "%s: %s", empty,
                                                            strerror(errno));
            qs.files[i] = empty;
        } else if ((st = spool_stdin(qpath, d)) == VS_OK) {
            qs.files[i] = qpath;
            spooled = 1;
        }
    }
    for (size_t i = 0; st == VS_OK && i < nf; i++) {
        FILE *w = NULL;
        if (to->mode == VS_QMODE_HYBRID) {
            snprintf(sides[i], SHARD_PATH_MAX, "%s/sides-%zu.ndjson", c.dir, i);
            if (!(w = fopen(sides[i], "wb"))) {
                st = vs_diag_set(d, VS_E_IO, "%s: %s", sides[i], strerror(errno));
                break;
            }
            sq.files[i] = sides[i];
        }
        st = note_ks(qs.files[i], kmap, to, qo->k, w, d);
        if (w && fclose(w) != 0 && st == VS_OK)
            st = vs_diag_set(d, VS_E_IO, "%s: write failed", sides[i]);
    }
    if (st == VS_OK && to->mode == VS_QMODE_HYBRID && n_asks) {
        /* the asked texts as records too, each with its depth */
        snprintf(sides[nf], SHARD_PATH_MAX, "%s/sides-asks.ndjson", c.dir);
        FILE *w = fopen(sides[nf], "wb");
        size_t depth = to->depth ? to->depth
                                 : qo->k > VS_QTEXT_DEPTH_DEFAULT ? qo->k : VS_QTEXT_DEPTH_DEFAULT;
        st = w ? VS_OK : vs_diag_set(d, VS_E_IO, "%s: %s", sides[nf], strerror(errno));
        for (size_t i = 0; st == VS_OK && i < n_asks; i++) {
            char qid[32];
            snprintf(qid, sizeof qid, "q%zu", i + 1);
            json_t *rec = json_pack("{s:s,s:s,s:I}", "id", qid, "text", asks[i], "k",
                                    (json_int_t)depth);
            st = rec ? write_full(w, rec) : vs_diag_set(d, VS_E_NOMEM, "out of memory");
            json_decref(rec);
        }
        if (w && fclose(w) != 0 && st == VS_OK)
            st = vs_diag_set(d, VS_E_IO, "%s: write failed", sides[nf]);
        sq.files[nf] = sides[nf];
        qs.names[nf] = "option --query";
        sq.nfiles = nf + 1;
    }
    /* the deadline counts from here, the queries read */
    int bare = 0;
    for (size_t i = 0; i < n; i++) {
        const char *h = c.sh[i].remote ? strstr(c.sh[i].spec, "://") : NULL;
        const char *sl = h ? strchr(h + 3, '/') : NULL;
        bare |= h && (!sl || strcmp(sl, "/") == 0);
    }
    if (st == VS_OK && so && so->deadline_ms > 0) {
        c.deadline = c.phase_deadline = vs_http_now() + (double)so->deadline_ms / 1000.0;
        c.phases_left = bare + global + (to->mode == VS_QMODE_HYBRID ? 3 : 1);
        if (bare)
            phase_begin(&c);
    }
    for (size_t i = 0; st == VS_OK && i < n; i++) {
        if (!c.sh[i].remote)
            continue;
        double t0;
        if ((st = before_shard(&c, i, &t0, d)) == VS_OK)
            st = resolve_url(c.rm.http, c.rm.key, c.sh[i].spec, &c.sh[i].url, d);
        c.sh[i].late |= st != VS_OK && vs_http_timed_out(c.rm.http);
        if (st != VS_OK)
            st = shard_failed(&c, i, st, d);
    }
    if (st == VS_OK && global)
        st = gather_stats(&c, to, &qs, &stats, d);
    struct emitter e = {sink, 0, to->mode == VS_QMODE_TEXT, 0, 0};
    uint64_t nq = 0, nh = 0, inc = 0;
    struct vs_stream_tally before = *vs_stream_tally();
    if (st == VS_OK && to->mode != VS_QMODE_HYBRID) {
        st = search_all(&c, to, &qs, stats, "hits", hits, d);
        for (size_t i = 0; i < n; i++)
            e.partial |= c.sh[i].out;
        /* the hit files are ours: the marking of the output follows the
         * queries' alone */
        before = *vs_stream_tally();
        if (st == VS_OK)
            st = vs_query_merge_own((const char *const *)hits, n, qo->k, kmap, &before,
                                    emit_out, &e, &nq, &nh, &inc, d);
        if (incomparable && !global) /* global statistics: the scores of one store */
            *incomparable = inc;
    } else if (st == VS_OK) {
        /* hybrid: each side's candidates (every record's k is its depth) */
        struct vs_qtext_opts vt = *to, tt = *to;
        vt.mode = VS_QMODE_VECTOR;
        tt.mode = VS_QMODE_TEXT;
        sq.asks = NULL;
        /* the lists travel without the stored fields (fetch_emit adds
         * them to the hits kept) */
        struct vs_query_opts lean = *qo;
        lean.no_text = lean.no_metadata = 1;
        c.qo = &lean;
        st = search_all(&c, &vt, &sq, NULL, "vector", hits, d);
        if (st == VS_OK)
            st = search_all(&c, &tt, &sq, stats, "text", thits, d);
        c.qo = qo;
        for (size_t i = 0; i < n; i++)
            e.partial |= c.sh[i].out;
        struct side vs = {json_object(), json_array()}, ts = {json_object(), json_array()};
        before = *vs_stream_tally();
        if (st == VS_OK)
            st = vs_query_merge_own((const char *const *)hits, n, 0, NULL, &before,
                                    collect_side, &vs, NULL, NULL, NULL, d);
        if (st == VS_OK)
            st = vs_query_merge_own((const char *const *)thits, n, 0, NULL, &before,
                                    collect_side, &ts, NULL, NULL, NULL, d);
        const char *metric = json_string_value(json_object_get(stats, "metric"));
        json_t *outs = json_array();
        if (st == VS_OK && !outs)
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        if (st == VS_OK)
            st = fuse_sides(to, qo, kmap, metric ? metric : "cosine", &vs, &ts, outs, &e, &nq, d);
        if (st == VS_OK)
            st = fetch_emit(&c, outs, &e, d);
        json_decref(outs);
        nh = e.hits;
        json_decref(vs.by);
        json_decref(vs.order);
        json_decref(ts.by);
        json_decref(ts.order);
    }
    vs_stream_tally_restore(&before);
    tot->queries += nq;
    tot->hits += nh;
    tot->empty += e.empty;
    tot->skipped += c.skipped;
    if (st == VS_OK && sink->progress)
        sink->progress(tot, sink->arg);
    path_array_free(hits, n);
    path_array_free(thits, n);
    path_array_free(sides, nf + 1);
    if (c.dir[0]) {
        unlink(qpath);
        unlink(empty);
        rmdir(c.dir);
    }
    vs_http_free(c.rm.http);
    json_decref(kmap);
    json_decref(stats);
    for (size_t i = 0; c.sh && i < n; i++) {
        if (c.sh[i].late && so && so->late)
            *so->late = 1;
        free(c.sh[i].url);
    }
    free(qs.files);
    free(qs.names);
    free(sq.files);
    free(c.sh);
    return st;
}
