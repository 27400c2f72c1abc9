/* embed_records.c: embed the text of NDJSON records in batches
 * (vs_embed_records.h). */
#include "vs_embed_records.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vs_bert.h"
#include "vs_ndjson.h"

void vs_embed_records_opts_init(struct vs_embed_records_opts *o)
{
    memset(o, 0, sizeof *o);
    o->field = "text";
    o->batch = 256;
}

struct item {
    json_t *rec;
    long line;
};

/* One run over one file: the options, the sink and the batch buffers. */
struct job {
    struct vs_embedder *e;
    const struct vs_embed_sink *sink;
    const char *field, *name;
    int b64, keep_going, dry_run;
    struct vs_embed_counts *c;
    struct item *items;
    const char **texts;
    size_t *lens;
    int *st;
    float *vecs;
};

static void warn(const struct job *j, int status, const struct vs_diag *d)
{
    if (j->sink->warn)
        j->sink->warn(status, d, j->sink->arg);
}

static int put(const struct job *j, const json_t *rec, struct vs_diag *d)
{
    vs_diag_clear(d);
    return j->sink->write(rec, j->sink->arg, d);
}

/* Embed and write the n records of the batch (their references are
 * dropped); returns VS_OK to go on, else the status that stops the run. */
static int flush_batch(struct job *j, size_t n, struct vs_diag *d)
{
    struct item *items = j->items;
    int *st = j->st;
    struct vs_embed_counts *c = j->c;
    vs_diag_clear(d);
    int rc = vs_embedder_embed(j->e, n, j->texts, j->lens, j->vecs, st, d);
    size_t dim = vs_embedder_dim(j->e);
    int code = rc == VS_E_NOMEM ? rc : VS_OK;
    for (size_t i = 0; i < n && !code; i++) {
        const char *apierr = st[i] != VS_OK ? vs_embedder_error(j->e, i) : NULL;
        if (apierr && (st[i] == VS_E_REMOTE || st[i] == VS_E_NETWORK)) {
            vs_diag_clear(d);
            vs_diag_where(d, j->name, items[i].line);
            vs_diag_set(d, st[i], "%s", apierr);
            if (!j->keep_going) {
                code = st[i];
                break;
            }
            warn(j, st[i], d);
            c->failed++;
            json_object_set_new(items[i].rec, "error", json_string(apierr));
            code = put(j, items[i].rec, d);
            continue;
        }
        if (st[i] != VS_OK) {
            vs_diag_clear(d);
            vs_diag_where(d, j->name, items[i].line);
            vs_diag_field(d, "%s", j->field);
            vs_diag_set(d, st[i], "%s",
                        st[i] == VS_E_DATA ? "is not valid UTF-8"
                        : j->lens[i]       ? "has no letters or digits to embed"
                                           : "is empty");
            if (!j->keep_going) {
                code = st[i];
                break;
            }
            warn(j, st[i], d);
            c->skipped++;
            continue;
        }
        json_t *rec = items[i].rec;
        if (j->dry_run) {
            c->out++;
            continue;
        }
        if (vs_embedder_local_truncated(j->e, i)) {
            json_object_set_new(rec, "truncated", json_true());
            c->truncated++;
        }
        if (vs_record_set_vector(rec, j->vecs + i * dim, dim, j->b64) != VS_OK ||
            json_object_set_new(rec, "vector_model",
                                json_string(vs_embedder_identity(j->e))) != 0) {
            vs_diag_clear(d);
            code = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            break;
        }
        if ((code = put(j, rec, d)) != VS_OK)
            break;
        c->out++;
    }
    for (size_t i = 0; i < n; i++) {
        json_decref(items[i].rec);
        items[i].rec = NULL;
    }
    if (rc == VS_E_NOMEM)
        return rc; /* nothing embedded: no flush, no progress */
    if (!code && vs_embedder_is_remote(j->e) && j->sink->flush) {
        vs_diag_clear(d);
        code = j->sink->flush(j->sink->arg, d);
    }
    if (j->sink->progress)
        j->sink->progress(c, j->sink->arg);
    return code;
}

/* A "keep" or "delete" record: finish the batch before it, then pass it
 * through (the reference is dropped). */
static int pass_through(struct job *j, json_t *rec, size_t *n, struct vs_diag *d)
{
    int code = VS_OK;
    j->c->in++;
    if (*n) {
        code = flush_batch(j, *n, d);
        *n = 0;
    }
    if (!code && !j->dry_run)
        code = put(j, rec, d);
    json_decref(rec);
    if (!code)
        j->c->passed++;
    return code;
}

/* Read and embed the whole file; the records of an unfinished batch are
 * left in j->items[0..*n) for the caller to drop. */
static int run(struct job *j, struct vs_ndjson_reader *r, size_t cap, size_t *n,
               struct vs_diag *d)
{
    for (;;) {
        json_t *rec;
        int rs = vs_ndjson_read(r, &rec, d);
        if (rs != VS_OK) {
            if (rs == VS_E_IO || !j->keep_going)
                return rs;
            warn(j, rs, d);
            j->c->skipped++;
            continue;
        }
        const char *op = rec ? json_string_value(json_object_get(rec, "op")) : NULL;
        if (op && (!strcmp(op, "keep") || !strcmp(op, "delete"))) {
            int code = pass_through(j, rec, n, d);
            if (code)
                return code;
            continue;
        }
        if (rec) {
            j->c->in++;
            json_t *t = json_object_get(rec, j->field);
            if (!json_is_string(t)) {
                vs_diag_clear(d);
                vs_diag_where(d, j->name, vs_ndjson_line(r));
                vs_diag_field(d, "%s", j->field);
                vs_diag_set(d, VS_E_FIELD, t ? "is not a string" : "is missing");
                json_decref(rec);
                if (!j->keep_going)
                    return VS_E_FIELD;
                warn(j, VS_E_FIELD, d);
                j->c->skipped++;
                continue;
            }
            j->items[*n] = (struct item){rec, vs_ndjson_line(r)};
            j->texts[*n] = json_string_value(t);
            j->lens[*n] = json_string_length(t);
            (*n)++;
        }
        if (*n && (*n == cap || !rec)) {
            int code = flush_batch(j, *n, d);
            *n = 0;
            if (code)
                return code;
        }
        if (!rec)
            return VS_OK;
    }
}

int vs_embed_records(struct vs_embedder *e, const struct vs_embed_records_opts *o,
                     const char *path, const struct vs_embed_sink *sink,
                     struct vs_embed_counts *c, struct vs_diag *d)
{
    struct vs_diag local;
    if (!d)
        d = &local;
    vs_diag_clear(d);
    struct vs_ndjson_reader *r = NULL;
    size_t cap = o->batch ? o->batch : 256, dim = vs_embedder_dim(e), n = 0;
    struct job j = {
        .e = e, .sink = sink, .field = o->field ? o->field : "text",
        .b64 = o->b64, .keep_going = o->keep_going, .dry_run = o->dry_run, .c = c,
        .items = calloc(cap, sizeof *j.items), .texts = calloc(cap, sizeof *j.texts),
        .lens = calloc(cap, sizeof *j.lens), .st = calloc(cap, sizeof *j.st),
        .vecs = malloc(cap * dim * sizeof *j.vecs)};
    int code;
    if (!j.items || !j.texts || !j.lens || !j.st || !j.vecs) {
        code = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    if ((code = vs_ndjson_open(path, 0, &r, d)) != VS_OK)
        goto done;
    j.name = vs_ndjson_name(r);
    code = run(&j, r, cap, &n, d);
    for (size_t i = 0; i < n; i++)
        json_decref(j.items[i].rec);
done:
    vs_ndjson_close(r);
    free(j.vecs);
    free(j.st);
    free(j.lens);
    free(j.texts);
    free(j.items);
    return code;
}

int vs_embed_price_key(const struct vs_embedder *e, char *key, size_t size)
{
    char model[300];
    snprintf(model, sizeof model, "%s", vs_embedder_identity(e));
    char *c1 = strchr(model, ':'), *c2 = strrchr(model, ':');
    if (c1 && c2 > c1)
        *c2 = '\0';
    int n = snprintf(key, size, "embed.price.%s", c1 ? c1 + 1 : model);
    return n >= 0 && (size_t)n < size ? VS_OK : VS_E_USAGE;
}

static void put_num(json_t *o, const char *k, double v)
{
    json_object_set_new(o, k, v >= 0 ? json_real(v) : json_null());
}

json_t *vs_embed_dry_run_json(const struct vs_embedder *e,
                              const struct vs_embed_stats *s, long long records)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "dry_run", json_true());
    json_object_set_new(o, "model", json_string(vs_embedder_identity(e)));
    json_object_set_new(o, "records", json_integer(records));
    json_object_set_new(o, "requests", json_integer(s->requests));
    json_object_set_new(o, "tokens", json_integer(s->tokens));
    json_object_set_new(o, "cache_hits", json_integer(s->cache_hits));
    json_object_set_new(o, "truncated", json_integer(s->truncated));
    json_object_set_new(o, "split", json_integer(s->split));
    put_num(o, "price_usd_per_1m_tokens", s->price);
    json_object_set_new(o, "price_date", json_string(s->price_date));
    put_num(o, "cost_usd", s->cost);
    return o;
}

json_t *vs_embed_stats_json(const struct vs_embedder *e,
                            const struct vs_embed_stats *s,
                            const struct vs_embed_counts *c, int no_cache)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
#define INT_(k, v) json_object_set_new(o, k, json_integer(v))
    if (vs_embedder_is_remote(e)) {
        INT_("tokens", s->tokens);
        if (s->usage_tokens >= 0)
            INT_("usage_tokens", s->usage_tokens);
        INT_("requests", s->requests);
        INT_("attempts", s->attempts);
        INT_("retries", s->retries);
        INT_("cache_hits", s->cache_hits);
        INT_("cache_misses", s->cache_misses);
        INT_("split", s->split);
        INT_("failed", c->failed);
        if (s->cost >= 0)
            json_object_set_new(o, "cost_usd", json_real(isfinite(s->cost) ? s->cost : 0.0));
    } else if (strcmp(vs_embedder_name(e), "hash") != 0 && !no_cache) {
        INT_("cache_hits", s->cache_hits);
        INT_("cache_misses", s->cache_misses);
    }
    INT_("records_in", c->in);
    INT_("records_out", c->out);
    INT_("skipped", c->skipped);
    INT_("truncated", c->truncated);
    INT_("passed_through", c->passed);
#undef INT_
    return o;
}
