/* embed_api.c: embeddings from HTTP APIs: OpenAI (and OpenAI-compatible
 * servers), Ollama's /api/embed, Cohere's /v1/embed.
 *
 * One call of the embed op: count each text's tokens (cl100k_base BPE, or
 * an estimate of 4 bytes a token where no tokenizer applies), truncate or
 * split texts over the model's limit, look every piece up in the embedding
 * cache, group the misses into requests (by count and by tokens), send them
 * from `concurrency` worker threads (one HTTP client, hence one connection,
 * each; retries, backoff and the shared rate limit are in http.c), validate
 * each response (count, index, dimension, finite numbers), store the new
 * vectors in the cache as each request completes, and assemble one
 * L2-normalised row per text (split texts: the token-weighted mean of their
 * pieces). A failed request fails only its own texts (st[i] and a message).
 */
#include "embedapi_internal.h"
#include "vs_bpe.h"
#include "vs_embcache.h"
#include "vs_http.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { P_OPENAI, P_OLLAMA, P_COHERE, P_AZURE };

/* Azure OpenAI speaks OpenAI's request and response shapes. */
#define OPENAI_SHAPE(p) ((p) == P_OPENAI || (p) == P_AZURE)
/* Azure OpenAI's latest generally available data-plane API version. */
#define AZURE_API_VERSION "2024-10-21"

static const struct provider {
    const char *prefix, *base_url, *path, *key_env, *name;
    long max_inputs, max_request_tokens;
} PROVIDERS[] = {
    /* OpenAI: at most 2048 inputs and 300,000 tokens in one request. */
    {"openai:", "https://api.openai.com/v1", "/embeddings", "OPENAI_API_KEY",
     "openai", 2048, 300000},
    {"ollama:", "http://localhost:11434", "/api/embed", NULL, "ollama", 256, 0},
    /* Cohere: at most 96 texts a request. */
    {"cohere:", "https://api.cohere.com/v1", "/embed", "COHERE_API_KEY",
     "cohere", 96, 0},
    /* Azure OpenAI: {base}/openai/deployments/{deployment}/embeddings
     * ?api-version=V with an "api-key" header; OpenAI's limits. The base
     * (https://RESOURCE.openai.azure.com) has no default. */
    {"azure:", NULL, "/openai/deployments/", "AZURE_OPENAI_API_KEY", "azure", 2048,
     300000},
};

/* Prices: USD per million input tokens, list prices as published by the
 * providers on PRICE_DATE (docs/embedding.md). Override with the setting
 * embed.price.MODEL. */
#define PRICE_DATE "2025-01-15"
static const struct model {
    int prov;
    const char *name;
    size_t dim;
    int dims_param; /* accepts "dimensions" (shortened vectors) */
    long max_tokens;
    double price;
} MODELS[] = {
    {P_OPENAI, "text-embedding-3-small", 1536, 1, 8191, 0.02},
    {P_OPENAI, "text-embedding-3-large", 3072, 1, 8191, 0.13},
    {P_OPENAI, "text-embedding-ada-002", 1536, 0, 8191, 0.10},
    {P_COHERE, "embed-english-v3.0", 1024, 0, 512, 0.10},
    {P_COHERE, "embed-multilingual-v3.0", 1024, 0, 512, 0.10},
    {P_COHERE, "embed-english-light-v3.0", 384, 0, 512, 0.10},
    {P_COHERE, "embed-multilingual-light-v3.0", 384, 0, 512, 0.10},
};

struct seg {
    const char *p;
    size_t len, tok, owner;
    int st;   /* VS_OK, a failure, or -1 = to send */
    int req;  /* request index, -1 = none (cache hit) */
    int hit;
};

struct req {
    size_t first, count, tokens;
    int st;
    char msg[640];
};

struct api {
    int prov;
    const struct provider *pv;
    char model[160];
    char url[1200];
    char *auth;     /* "Authorization: Bearer KEY", "api-key: KEY" or NULL */
    size_t keylen;  /* length of the key at the end of auth */
    size_t dim;
    int send_dims;
    long max_tok, max_inputs, max_req_tokens;
    int input_type, split_long, conc, dry;
    struct vs_http_opts ho;
    struct vs_ratelimit *rl;
    struct vs_http **cl;
    int ncl;
    struct vs_bpe *bpe;
    struct vs_embcache *cache;
    char cache_key[1700];
    /* per call */
    int *trunc;
    const char **err;
    size_t pcap;
    struct seg *segs;
    size_t nseg, segcap;
    float *segvec;
    size_t svcap;
    struct req *reqs;
    size_t nreq, reqcap;
    size_t next_req; /* shared by workers, under mu */
    pthread_mutex_t mu;
    struct vs_embed_stats s;
};

static void set_cache_key(struct api *a, const char *identity);

int vs_embedapi_match(const char *model)
{
    if (!model)
        return 0;
    for (size_t i = 0; i < sizeof PROVIDERS / sizeof *PROVIDERS; i++)
        if (strncmp(model, PROVIDERS[i].prefix, strlen(PROVIDERS[i].prefix)) == 0)
            return 1;
    return 0;
}

static void api_free(void *state)
{
    struct api *a = state;
    if (!a)
        return;
    if (a->auth) {
        memset(a->auth, 0, strlen(a->auth));
        free(a->auth);
    }
    for (int i = 0; i < a->ncl; i++)
        vs_http_free(a->cl[i]);
    free(a->cl);
    vs_ratelimit_free(a->rl);
    vs_bpe_free(a->bpe);
    vs_embcache_close(a->cache);
    free(a->trunc);
    free(a->err);
    free(a->segs);
    free(a->segvec);
    free(a->reqs);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

/* Replace every copy of the API key in msg with "[redacted]". */
static void scrub(const struct api *a, char *msg, size_t cap)
{
    if (!a->auth || a->keylen < 4)
        return;
    const char *key = a->auth + strlen(a->auth) - a->keylen;
    char *p;
    while ((p = strstr(msg, key))) {
        char rest[1024];
        snprintf(rest, sizeof rest, "%s", p + a->keylen);
        snprintf(p, cap - (size_t)(p - msg), "[redacted]%s", rest);
    }
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return VS_OK;
    size_t nc = *cap ? *cap : 64;
    while (nc < need)
        nc *= 2;
    void *q = realloc(*p, nc * size);
    if (!q)
        return VS_E_NOMEM;
    *p = q;
    *cap = nc;
    return VS_OK;
}

static int count_tokens(const struct api *a, const char *p, size_t len,
                        size_t *n)
{
    if (a->bpe)
        return vs_bpe_count(a->bpe, p, len, n);
    *n = (len + 3) / 4; /* estimate: about 4 bytes a token */
    return VS_OK;
}

/* Longest prefix of p within max tokens, on a character boundary. */
static int cut(const struct api *a, const char *p, size_t len, size_t max,
               size_t *plen, size_t *ptok)
{
    if (a->bpe)
        return vs_bpe_prefix(a->bpe, p, len, max, plen, ptok);
    size_t k = max * 4 < len ? max * 4 : len;
    while (k > 0 && k < len && ((unsigned char)p[k] & 0xC0) == 0x80)
        k--;
    *plen = k;
    *ptok = (k + 3) / 4;
    return VS_OK;
}

static int add_seg(struct api *a, const char *p, size_t len, size_t tok,
                   size_t owner)
{
    if (grow((void **)&a->segs, &a->segcap, a->nseg + 1, sizeof *a->segs))
        return VS_E_NOMEM;
    a->segs[a->nseg++] = (struct seg){p, len, tok, owner, -1, -1, 0};
    return VS_OK;
}

/* The message a provider put in an error body, if any. */
static void provider_message(const char *body, size_t len, char *out,
                             size_t cap)
{
    out[0] = '\0';
    if (!body || !len)
        return;
    json_t *j = json_loadb(body, len, 0, NULL);
    const char *m = NULL;
    if (json_is_object(j)) {
        json_t *e = json_object_get(j, "error");
        if (json_is_object(e))
            m = json_string_value(json_object_get(e, "message"));
        else if (json_is_string(e))
            m = json_string_value(e);
        if (!m)
            m = json_string_value(json_object_get(j, "message"));
    }
    if (m)
        snprintf(out, cap, "%.300s", m);
    json_decref(j);
}

/* One vector of a response into row (dim floats), normalised. */
static int take_vector(const struct api *a, json_t *v, float *row, char *msg,
                       size_t cap, size_t k)
{
    if (!json_is_array(v)) {
        snprintf(msg, cap, "embedding %zu is not an array", k);
        return VS_E_REMOTE;
    }
    if (json_array_size(v) != a->dim) {
        snprintf(msg, cap, "embedding %zu has %zu numbers, expected %zu", k,
                 json_array_size(v), a->dim);
        return VS_E_REMOTE;
    }
    double ss = 0;
    for (size_t i = 0; i < a->dim; i++) {
        json_t *x = json_array_get(v, i);
        if (!json_is_number(x)) {
            snprintf(msg, cap, "embedding %zu has a value that is not a number", k);
            return VS_E_REMOTE;
        }
        double f = json_number_value(x);
        if (!isfinite(f) || !isfinite((float)f)) {
            snprintf(msg, cap, "embedding %zu has a non-finite number", k);
            return VS_E_REMOTE;
        }
        row[i] = (float)f;
        ss += f * f;
    }
    if (ss <= 0) {
        snprintf(msg, cap, "embedding %zu is a zero vector", k);
        return VS_E_REMOTE;
    }
    float inv = (float)(1.0 / sqrt(ss));
    for (size_t i = 0; i < a->dim; i++)
        row[i] *= inv;
    return VS_OK;
}

/* Parse a 2xx body into the rows of request r. */
static int parse_response(struct api *a, struct req *r, const char *body,
                          size_t len, long long *usage, char *msg, size_t cap)
{
    json_error_t je;
    json_t *j = json_loadb(body, len, 0, &je);
    int st = VS_OK;
    *usage = -1;
    if (!json_is_object(j)) {
        snprintf(msg, cap, "response is not a JSON object (%.200s)",
                 j ? "another JSON value" : je.text);
        st = VS_E_REMOTE;
        goto done;
    }
    json_t *arr = NULL;
    if (OPENAI_SHAPE(a->prov)) {
        arr = json_object_get(j, "data");
        json_t *u = json_object_get(j, "usage");
        json_t *pt = json_object_get(u, "prompt_tokens");
        if (json_is_integer(pt))
            *usage = json_integer_value(pt);
    } else {
        arr = json_object_get(j, "embeddings");
        if (json_is_object(arr)) /* cohere with embedding_types */
            arr = json_object_get(arr, "float");
        json_t *pt = a->prov == P_OLLAMA
                         ? json_object_get(j, "prompt_eval_count")
                         : json_object_get(json_object_get(json_object_get(j, "meta"),
                                                           "billed_units"),
                                           "input_tokens");
        if (json_is_integer(pt))
            *usage = json_integer_value(pt);
    }
    if (!json_is_array(arr)) {
        snprintf(msg, cap, "response has no '%s' array",
                 OPENAI_SHAPE(a->prov) ? "data" : "embeddings");
        st = VS_E_REMOTE;
        goto done;
    }
    if (json_array_size(arr) != r->count) {
        snprintf(msg, cap, "response has %zu embeddings for %zu inputs",
                 json_array_size(arr), r->count);
        st = VS_E_REMOTE;
        goto done;
    }
    char *seen = calloc(r->count, 1);
    if (!seen) {
        st = VS_E_NOMEM;
        goto done;
    }
    for (size_t k = 0; k < r->count && st == VS_OK; k++) {
        json_t *item = json_array_get(arr, k), *v = item;
        size_t idx = k;
        if (OPENAI_SHAPE(a->prov)) {
            json_t *ix = json_object_get(item, "index");
            v = json_object_get(item, "embedding");
            if (!json_is_integer(ix) || json_integer_value(ix) < 0 ||
                (size_t)json_integer_value(ix) >= r->count) {
                snprintf(msg, cap, "embedding %zu has no valid 'index'", k);
                st = VS_E_REMOTE;
                break;
            }
            idx = (size_t)json_integer_value(ix);
            if (seen[idx]) {
                snprintf(msg, cap, "index %zu appears twice", idx);
                st = VS_E_REMOTE;
                break;
            }
        }
        seen[idx] = 1;
        st = take_vector(a, v, a->segvec + (r->first + idx) * a->dim, msg, cap,
                         idx);
    }
    free(seen);
done:
    json_decref(j);
    return st;
}

/* Send request r with client w; fills r->st and r->msg. */
static void do_request(struct api *a, int w, struct req *r)
{
    json_t *body = json_object(), *in = json_array();
    char *txt = NULL;
    struct vs_http_response resp = {0, NULL, 0};
    r->st = VS_E_NOMEM;
    snprintf(r->msg, sizeof r->msg, "out of memory");
    if (!body || !in)
        goto done;
    for (size_t k = 0; k < r->count; k++) {
        const struct seg *s = &a->segs[r->first + k];
        if (json_array_append_new(in, json_stringn(s->p, s->len)) != 0)
            goto done;
    }
    if (a->prov != P_AZURE) /* Azure: the deployment is in the URL */
        json_object_set_new(body, "model", json_string(a->model));
    json_object_set(body, a->prov == P_COHERE ? "texts" : "input", in);
    if (OPENAI_SHAPE(a->prov)) {
        json_object_set_new(body, "encoding_format", json_string("float"));
        if (a->send_dims)
            json_object_set_new(body, "dimensions", json_integer((json_int_t)a->dim));
    } else if (a->prov == P_COHERE) {
        json_object_set_new(body, "input_type",
                            json_string(a->input_type == VS_EMBED_QUERY
                                            ? "search_query"
                                            : "search_document"));
        json_object_set_new(body, "truncate", json_string("END"));
    }
    txt = json_dumps(body, JSON_COMPACT);
    if (!txt)
        goto done;
    const char *hdr[2] = {a->auth, NULL};
    struct vs_diag d;
    vs_diag_clear(&d);
    int st = vs_http_post_json_tokens(a->cl[w], a->url, a->auth ? hdr : NULL,
                                      txt, strlen(txt), (double)r->tokens,
                                      &resp, &d);
    if (st != VS_OK) {
        char pm[400];
        provider_message(resp.body, resp.len, pm, sizeof pm);
        snprintf(r->msg, sizeof r->msg, "%.400s%s%.200s", d.detail, pm[0] ? ": " : "", pm);
        r->st = st;
        goto done;
    }
    long long usage;
    char msg[400];
    st = parse_response(a, r, resp.body, resp.len, &usage, msg, sizeof msg);
    if (st != VS_OK) {
        snprintf(r->msg, sizeof r->msg, "bad response from '%.200s': %.380s", a->url, msg);
        r->st = st;
        goto done;
    }
    r->st = VS_OK;
    r->msg[0] = '\0';
    if (a->cache)
        for (size_t k = 0; k < r->count; k++) {
            const struct seg *s = &a->segs[r->first + k];
            vs_embcache_put(a->cache, a->cache_key, s->p, s->len,
                            a->segvec + (r->first + k) * a->dim, a->dim);
        }
    pthread_mutex_lock(&a->mu);
    if (usage >= 0)
        a->s.usage_tokens = (a->s.usage_tokens < 0 ? 0 : a->s.usage_tokens) + usage;
    pthread_mutex_unlock(&a->mu);
done:
    scrub(a, r->msg, sizeof r->msg);
    vs_http_response_release(&resp);
    free(txt);
    json_decref(in);
    json_decref(body);
}

struct worker {
    struct api *a;
    int w;
};

static void *work(void *arg)
{
    struct worker *wk = arg;
    struct api *a = wk->a;
    for (;;) {
        pthread_mutex_lock(&a->mu);
        size_t i = a->next_req++;
        pthread_mutex_unlock(&a->mu);
        if (i >= a->nreq)
            break;
        do_request(a, wk->w, &a->reqs[i]);
    }
    return NULL;
}

static int api_embed(void *state, size_t dim, size_t n,
                     const char *const *texts, const size_t *lens, float *out,
                     int *st)
{
    struct api *a = state;
    if (grow((void **)&a->trunc, &a->pcap, n, sizeof *a->trunc))
        return VS_E_NOMEM;
    const char **er = realloc(a->err, a->pcap * sizeof *er);
    if (!er)
        return VS_E_NOMEM;
    a->err = er;
    memset(out, 0, n * dim * sizeof *out);
    a->nseg = 0;
    a->nreq = 0;
    for (size_t i = 0; i < n; i++) {
        a->trunc[i] = 0;
        a->err[i] = NULL;
        st[i] = VS_OK;
        if (lens[i] == 0) {
            st[i] = VS_E_FIELD;
            continue;
        }
        size_t tok;
        if (count_tokens(a, texts[i], lens[i], &tok) != VS_OK)
            return VS_E_NOMEM;
        if (a->max_tok <= 0 || tok <= (size_t)a->max_tok) {
            if (add_seg(a, texts[i], lens[i], tok, i))
                return VS_E_NOMEM;
            continue;
        }
        const char *p = texts[i];
        size_t left = lens[i], pieces = 0;
        do {
            size_t pl, pt;
            if (cut(a, p, left, (size_t)a->max_tok, &pl, &pt) != VS_OK)
                return VS_E_NOMEM;
            if (pl == 0) { /* one character over the limit on its own */
                pl = 1;
                while (pl < left && ((unsigned char)p[pl] & 0xC0) == 0x80)
                    pl++;
                if (count_tokens(a, p, pl, &pt) != VS_OK)
                    return VS_E_NOMEM;
            }
            if (add_seg(a, p, pl, pt, i))
                return VS_E_NOMEM;
            p += pl;
            left -= pl;
            pieces++;
        } while (a->split_long && left > 0);
        if (a->split_long)
            a->s.split++;
        else {
            a->trunc[i] = 1;
            a->s.truncated++;
        }
        (void)pieces;
    }
    if (grow((void **)&a->segvec, &a->svcap, a->nseg * dim, sizeof *a->segvec))
        return VS_E_NOMEM;
    /* cache */
    size_t nsend = 0;
    for (size_t k = 0; k < a->nseg; k++) {
        struct seg *s = &a->segs[k];
        if (a->cache && vs_embcache_get(a->cache, a->cache_key, s->p, s->len,
                                        a->segvec + k * dim, dim)) {
            s->hit = 1;
            s->st = VS_OK;
        } else
            nsend++;
    }
    /* Requests over the segments to send. Rows of a request are contiguous
     * in segvec only if the segments are, so misses are packed first. */
    size_t per = (size_t)a->max_inputs;
    if (a->conc > 1 && nsend > 0) {
        size_t share = (nsend + (size_t)a->conc - 1) / (size_t)a->conc;
        if (share < per)
            per = share;
    }
    /* Move hits' vectors aside: send segments get their rows in order. */
    struct seg *order = malloc((a->nseg ? a->nseg : 1) * sizeof *order);
    float *hitv = malloc((a->nseg - nsend ? a->nseg - nsend : 1) * dim * sizeof *hitv);
    if (!order || !hitv) {
        free(order);
        free(hitv);
        return VS_E_NOMEM;
    }
    size_t o = 0, h = 0;
    for (size_t k = 0; k < a->nseg; k++)
        if (!a->segs[k].hit)
            order[o++] = a->segs[k];
    for (size_t k = 0; k < a->nseg; k++)
        if (a->segs[k].hit) {
            memcpy(hitv + h * dim, a->segvec + k * dim, dim * sizeof *hitv);
            order[o++] = a->segs[k];
            h++;
        }
    memcpy(a->segs, order, a->nseg * sizeof *order);
    memcpy(a->segvec + nsend * dim, hitv, h * dim * sizeof *hitv);
    free(order);
    free(hitv);
    for (size_t k = 0; k < nsend;) {
        if (grow((void **)&a->reqs, &a->reqcap, a->nreq + 1, sizeof *a->reqs))
            return VS_E_NOMEM;
        struct req *r = &a->reqs[a->nreq];
        r->first = k;
        r->count = 0;
        r->tokens = 0;
        r->st = VS_OK;
        r->msg[0] = '\0';
        while (k < nsend && r->count < per &&
               (r->count == 0 || a->max_req_tokens <= 0 ||
                r->tokens + a->segs[k].tok <= (size_t)a->max_req_tokens)) {
            a->segs[k].req = (int)a->nreq;
            r->tokens += a->segs[k].tok;
            r->count++;
            k++;
        }
        a->nreq++;
    }
    for (size_t k = 0; k < a->nreq; k++)
        a->s.tokens += (long long)a->reqs[k].tokens;
    a->s.requests += (long long)a->nreq;
    if (a->dry) {
        a->nreq = 0; /* nothing sent; vectors stay zero */
        return VS_OK;
    }
    /* send */
    a->next_req = 0;
    int nth = a->conc < (int)a->nreq ? a->conc : (int)a->nreq;
    if (nth <= 1) {
        struct worker wk = {a, 0};
        work(&wk);
    } else {
        pthread_t th[64];
        struct worker wk[64];
        int started = 0;
        for (int t = 0; t < nth && t < 64; t++) {
            wk[t] = (struct worker){a, t};
            if (pthread_create(&th[t], NULL, work, &wk[t]) != 0)
                break;
            started++;
        }
        if (started == 0) {
            struct worker w0 = {a, 0};
            work(&w0);
        }
        for (int t = 0; t < started; t++)
            pthread_join(th[t], NULL);
    }
    /* assemble rows */
    for (size_t k = 0; k < a->nseg; k++) {
        struct seg *s = &a->segs[k];
        size_t i = s->owner;
        if (s->req >= 0 && a->reqs[s->req].st != VS_OK) {
            if (st[i] == VS_OK) {
                st[i] = a->reqs[s->req].st;
                a->err[i] = a->reqs[s->req].msg;
            }
            continue;
        }
        const float *v = a->segvec + k * dim;
        for (size_t j = 0; j < dim; j++)
            out[i * dim + j] += (float)s->tok * v[j];
    }
    for (size_t i = 0; i < n; i++) {
        if (st[i] != VS_OK) {
            if (st[i] != VS_E_FIELD)
                a->s.failed++;
            memset(out + i * dim, 0, dim * sizeof *out);
            continue;
        }
        double ss = 0;
        for (size_t j = 0; j < dim; j++)
            ss += (double)out[i * dim + j] * out[i * dim + j];
        if (ss <= 0) { /* tok 0 pieces only: take the plain sum */
            st[i] = VS_E_REMOTE;
            a->err[i] = "the provider returned a zero vector";
            a->s.failed++;
            continue;
        }
        float inv = (float)(1.0 / sqrt(ss));
        for (size_t j = 0; j < dim; j++)
            out[i * dim + j] *= inv;
    }
    return VS_OK;
}

static const struct vs_embed_ops openai_ops = {
    .name = "openai", .embed = api_embed, .free = api_free};
static const struct vs_embed_ops ollama_ops = {
    .name = "ollama", .embed = api_embed, .free = api_free};
static const struct vs_embed_ops cohere_ops = {
    .name = "cohere", .embed = api_embed, .free = api_free};

int vs_embedapi_create(const char *model, size_t dim,
                       const struct vs_embed_opts *o_in,
                       const struct vs_embed_ops **ops, void **state,
                       char *identity, size_t idsz, size_t *dim_out,
                       struct vs_diag *d)
{
    struct vs_embed_opts o = *o_in; /* vs_embedder_new_opts gives the defaults */
    *state = NULL;
    int prov = -1;
    for (int i = 0; i < (int)(sizeof PROVIDERS / sizeof *PROVIDERS); i++)
        if (strncmp(model, PROVIDERS[i].prefix, strlen(PROVIDERS[i].prefix)) == 0)
            prov = i;
    if (prov < 0)
        return vs_diag_set(d, VS_E_UNSUPPORTED, "model '%s' is not available", model);
    const struct provider *pv = &PROVIDERS[prov];
    struct api *a = calloc(1, sizeof *a);
    if (!a)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    pthread_mutex_init(&a->mu, NULL);
    a->prov = prov;
    a->pv = pv;
    a->s.usage_tokens = -1;
    a->s.price = -1;
    a->s.price_date = PRICE_DATE;
    int st = VS_OK;
    /* MODEL[:DIM] */
    const char *rest = model + strlen(pv->prefix);
    snprintf(a->model, sizeof a->model, "%s", rest);
    char *colon = strrchr(a->model, ':');
    size_t idim = 0;
    if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
        unsigned long long v = strtoull(colon + 1, NULL, 10);
        if (v < 1 || v > VS_EMBED_DIM_MAX) {
            st = vs_diag_set(d, VS_E_USAGE, "model '%s' has a bad dimension (1 to %d)",
                             model, VS_EMBED_DIM_MAX);
            goto fail;
        }
        idim = (size_t)v;
        *colon = '\0';
    }
    if (!a->model[0] || strlen(rest) >= sizeof a->model) {
        st = vs_diag_set(d, VS_E_USAGE, "model '%s' has no or too long a name", model);
        goto fail;
    }
    if (idim && dim && idim != dim) {
        st = vs_diag_set(d, VS_E_USAGE, "model '%s' has dimension %zu, not %zu",
                         model, idim, dim);
        goto fail;
    }
    if (!dim)
        dim = idim;
    /* azure:DEPLOYMENT[@MODEL]: the model (else the deployment's name)
     * selects the dimension, limits and price */
    const char *kind = a->model;
    char deploy[160] = "";
    if (prov == P_AZURE) {
        snprintf(deploy, sizeof deploy, "%s", a->model);
        char *at = strchr(deploy, '@');
        if (at) {
            *at = '\0';
            kind = strchr(a->model, '@') + 1;
        }
        if (!deploy[0] || !*kind ||
            strspn(deploy, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                           "0123456789._-") != strlen(deploy)) {
            st = vs_diag_set(d, VS_E_USAGE,
                             "model '%s': an Azure deployment name is letters, digits, "
                             "'.', '_' and '-' (azure:DEPLOYMENT[@MODEL][:DIM])", model);
            goto fail;
        }
    }
    const struct model *m = NULL;
    for (size_t i = 0; i < sizeof MODELS / sizeof *MODELS; i++)
        if ((MODELS[i].prov == prov || (prov == P_AZURE && MODELS[i].prov == P_OPENAI)) &&
            strcmp(MODELS[i].name, kind) == 0)
            m = &MODELS[i];
    if (m) {
        if (!dim)
            dim = m->dim;
        if (dim != m->dim && !(m->dims_param && dim < m->dim)) {
            st = vs_diag_set(d, VS_E_USAGE, "model '%s' has dimension %zu%s", model,
                             m->dim, m->dims_param ? " or less" : "");
            goto fail;
        }
        a->send_dims = m->dims_param && dim != m->dim;
        a->max_tok = m->max_tokens;
        a->s.price = m->price;
    } else if (!dim) {
        st = vs_diag_set(d, VS_E_CONFIG,
                         "model '%s' has no known dimension: give --dim N or '%s:N'",
                         model, model);
        goto fail;
    } else if (OPENAI_SHAPE(prov))
        a->max_tok = 8191;
    if (prov == P_OLLAMA)
        a->s.price = 0; /* a local server */
    if (dim > VS_EMBED_DIM_MAX) {
        st = vs_diag_set(d, VS_E_USAGE, "dimension %zu is out of range (1 to %d)",
                         dim, VS_EMBED_DIM_MAX);
        goto fail;
    }
    a->dim = dim;
    if (o.max_tokens > 0)
        a->max_tok = o.max_tokens;
    a->max_inputs = o.request_inputs > 0 && o.request_inputs < pv->max_inputs
                        ? o.request_inputs
                        : pv->max_inputs;
    a->max_req_tokens = pv->max_request_tokens;
    if (o.request_tokens > 0 &&
        (a->max_req_tokens == 0 || o.request_tokens < a->max_req_tokens))
        a->max_req_tokens = o.request_tokens;
    a->input_type = o.input_type;
    a->split_long = o.split_long;
    a->conc = o.concurrency > 0 ? (o.concurrency > 64 ? 64 : o.concurrency) : 1;
    a->dry = o.dry_run;
    /* URL */
    const char *base = o.base_url && *o.base_url ? o.base_url : pv->base_url;
    if (!base && prov == P_AZURE)
        base = getenv("AZURE_OPENAI_ENDPOINT");
    if (!base || !*base) {
        st = vs_diag_set(d, VS_E_CONFIG,
                         "model '%s' needs the resource's endpoint: --base-url "
                         "https://RESOURCE.openai.azure.com (or AZURE_OPENAI_ENDPOINT)",
                         model);
        goto fail;
    }
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    if (bl + strlen(pv->path) + 1 > sizeof a->url ||
        (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0)) {
        st = vs_diag_set(d, VS_E_USAGE, "base URL '%.200s' is not an http:// or https:// URL",
                         base);
        goto fail;
    }
    memcpy(a->url, base, bl);
    strcpy(a->url + bl, pv->path); /* fits: checked above */
    if (prov == P_AZURE) {
        const char *ver = o.api_version && *o.api_version ? o.api_version : AZURE_API_VERSION;
        if (strspn(ver, "abcdefghijklmnopqrstuvwxyz0123456789.-") != strlen(ver) ||
            strlen(ver) > 40) {
            st = vs_diag_set(d, VS_E_USAGE,
                             "API version '%.60s' is not like 2024-10-21 or "
                             "2025-04-01-preview", ver);
            goto fail;
        }
        /* the deployment is checked above: no escaping needed */
        size_t ul = strlen(a->url);
        if (ul + strlen(deploy) + strlen(ver) + 32 > sizeof a->url) {
            st = vs_diag_set(d, VS_E_USAGE, "base URL '%.200s' is too long", base);
            goto fail;
        }
        snprintf(a->url + ul, sizeof a->url - ul, "%s/embeddings?api-version=%s", deploy,
                 ver);
    }
    /* tokenizer: cl100k_base for OpenAI models (required), and for the
     * others when present (estimates) */
    {
        struct vs_diag bd;
        vs_diag_clear(&bd);
        int bs = vs_bpe_open("cl100k_base", &a->bpe, &bd);
        if (bs != VS_OK && OPENAI_SHAPE(prov)) {
            if (d)
                *d = bd;
            st = bs;
            goto fail;
        }
    }
    /* key */
    const char *env = o.api_key_env ? o.api_key_env : pv->key_env;
    const char *key = env ? getenv(env) : NULL;
    if (key && *key) {
        size_t kl = strlen(key);
        a->auth = malloc(kl + 32);
        if (!a->auth) {
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            goto fail;
        }
        /* Azure OpenAI takes its key in an "api-key" header */
        snprintf(a->auth, kl + 32, "%s%s", prov == P_AZURE ? "api-key: " : "Authorization: Bearer ",
                 key);
        a->keylen = kl;
    } else if (!a->dry && env && (o.api_key_env || !o.base_url || prov == P_AZURE)) {
        st = vs_diag_set(d, VS_E_CONFIG,
                         "the API key is missing: environment variable %s is not set",
                         env);
        goto fail;
    }
    /* identity and cache key */
    snprintf(identity, idsz, "%s:%s:%zu", pv->name, a->model, a->dim);
    set_cache_key(a, identity);
    if (!o.no_cache) {
        st = vs_embcache_open(o.cache_dir, o.cache_max_bytes, &a->cache, d);
        if (st != VS_OK)
            goto fail;
    }
    /* HTTP clients and the shared limiter */
    if (!a->dry) {
        if (vs_ratelimit_new(o.rpm, o.tpm, &a->rl) != VS_OK) {
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            goto fail;
        }
        a->cl = calloc((size_t)a->conc, sizeof *a->cl);
        if (!a->cl) {
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            goto fail;
        }
        vs_http_opts_init(&a->ho);
        a->ho.max_retries = o.max_retries;
        if (o.timeout_ms > 0)
            a->ho.timeout_ms = o.timeout_ms;
        a->ho.limit = a->rl;
        for (int i = 0; i < a->conc; i++) {
            a->ho.seed = o.seed ? o.seed + (uint64_t)i : 0;
            st = vs_http_new(&a->ho, &a->cl[i], d);
            if (st != VS_OK)
                goto fail;
            a->ncl++;
        }
    }
    switch (prov) {
    case P_OPENAI:
    case P_AZURE: *ops = &openai_ops; break;
    case P_OLLAMA: *ops = &ollama_ops; break;
    default: *ops = &cohere_ops; break;
    }
    *state = a;
    *dim_out = a->dim;
    return VS_OK;
fail:
    api_free(a);
    return st;
}

void vs_embedapi_stats(void *state, struct vs_embed_stats *s)
{
    struct api *a = state;
    *s = a->s;
    long long att = 0, ret = 0;
    for (int i = 0; i < a->ncl; i++) {
        long q, r;
        vs_http_counts(a->cl[i], &q, &r);
        att += q;
        ret += r;
    }
    s->attempts = att;
    s->retries = ret;
    if (a->cache) {
        long long p, e;
        vs_embcache_counts(a->cache, &s->cache_hits, &s->cache_misses, &p, &e);
    }
    long long t = !a->dry && s->usage_tokens >= 0 ? s->usage_tokens : s->tokens;
    s->cost = s->price >= 0 ? (double)t * s->price / 1e6 : -1;
}

static void set_cache_key(struct api *a, const char *identity)
{
    snprintf(a->cache_key, sizeof a->cache_key, "%.256s|%.1200s|%s", identity,
             a->url,
             a->prov == P_COHERE
                 ? (a->input_type == VS_EMBED_QUERY ? "query" : "document")
                 : "-");
}

void vs_embedapi_set_role(void *state, int role)
{
    struct api *a = state;
    a->input_type = role == VS_EMBED_QUERY ? VS_EMBED_QUERY : VS_EMBED_DOCUMENT;
    char id[300];
    snprintf(id, sizeof id, "%s:%s:%zu", a->pv->name, a->model, a->dim);
    set_cache_key(a, id);
}

void vs_embedapi_set_price(void *state, double usd_per_mtok)
{
    struct api *a = state;
    a->s.price = usd_per_mtok;
}

int vs_embedapi_truncated(void *state, size_t i)
{
    struct api *a = state;
    return i < a->pcap ? a->trunc[i] : 0;
}

const char *vs_embedapi_error(void *state, size_t i)
{
    struct api *a = state;
    return a->err && i < a->pcap ? a->err[i] : NULL;
}
