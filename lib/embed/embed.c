/* embed.c: the embedder interface: model names and identities, batching,
 * per-text statuses. Implementations live in their own files (hashembed.c). */
#include "vs_embed.h"
#include "embed_internal.h"
#include "embedapi_internal.h"
#include "vs_bert.h"
#include "vs_embcache.h"
#include "vs_uselite.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vs_embedder {
    const struct vs_embed_ops *ops;
    void *state;
    size_t dim;
    char identity[320];
    int is_bert;      /* state is bertembed.c's */
    int is_use;       /* state is uselite.c's */
    int is_api;       /* state is embed_api.c's */
    int *st_scratch; /* per-text statuses when the caller passes none */
    size_t st_cap;
    /* local models: the embedding cache (NULL = none) and its scratch */
    struct vs_embcache *cache;
    int role;
    long long hits, misses;
    int *trunc;          /* per text of the last call */
    size_t *miss;        /* indexes of the texts the model must embed */
    const char **mtexts;
    size_t *mlens;
    int *mst;
    float *mout;
    size_t mcap;
};

/* Parse "NAME" or "NAME:DIM". *dim_out is 0 when no ":DIM" is given.
 * Returns 0, or -1 when the dimension part is not a number in range. */
static int split_identity(const char *model, char *name, size_t namesz,
                          size_t *dim_out)
{
    const char *colon = strchr(model, ':');
    size_t nlen = colon ? (size_t)(colon - model) : strlen(model);
    if (nlen >= namesz)
        nlen = namesz - 1;
    memcpy(name, model, nlen);
    name[nlen] = '\0';
    *dim_out = 0;
    if (!colon)
        return 0;
    const char *s = colon + 1;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < 1 || v > VS_EMBED_DIM_MAX)
        return -1;
    *dim_out = (size_t)v;
    return 0;
}

/* A BERT-family model folder: identity "NAME@xxh64 hex". */
static int new_bert(const char *dir, const char *bname, uint64_t want,
                    int has_sum, size_t dim, struct vs_embedder **out,
                    struct vs_diag *d)
{
    struct vs_embedder *e = calloc(1, sizeof *e);
    if (!e)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    uint64_t sum;
    int st = vs_bertembed_create(dir, bname, &e->dim, &e->ops, &e->state, &sum, d);
    if (st != VS_OK) {
        free(e);
        return st;
    }
    e->is_bert = 1;
    snprintf(e->identity, sizeof e->identity, "%s@%016llx", bname,
             (unsigned long long)sum);
    if (has_sum && sum != want)
        st = vs_diag_set(d, VS_E_MISMATCH,
                         "model '%s' has other weights (checksum %016llx, wanted %016llx)",
                         bname, (unsigned long long)sum, (unsigned long long)want);
    else if (dim && dim != e->dim)
        st = vs_diag_set(d, VS_E_USAGE, "model '%s' has dimension %zu, not %zu",
                         bname, e->dim, dim);
    if (st != VS_OK) {
        vs_embedder_free(e);
        return st;
    }
    *out = e;
    return VS_OK;
}

/* USE-lite: "use-lite", or the identity "use-lite@<xxh64 of the shards>";
 * the folder is $VS_MODEL_DIR/use-lite (default ~/.cache/vecstore/models). */
static int new_use(const char *model, size_t dim, struct vs_embedder **out,
                   struct vs_diag *d)
{
    uint64_t want = 0;
    int has_sum = 0;
    const char *at = model + strlen("use-lite");
    if (*at == '@') {
        if (strlen(at + 1) != 16 || strspn(at + 1, "0123456789abcdef") != 16)
            return vs_diag_set(d, VS_E_USAGE, "model '%s': bad weights checksum", model);
        want = strtoull(at + 1, NULL, 16);
        has_sum = 1;
    }
    char dir[4096];
    const char *md = getenv("VS_MODEL_DIR"), *home = getenv("HOME");
    if (md && *md)
        snprintf(dir, sizeof dir, "%s/use-lite", md);
    else
        snprintf(dir, sizeof dir, "%s/.cache/vecstore/models/use-lite",
                 home && *home ? home : ".");
    char mj[4200];
    snprintf(mj, sizeof mj, "%s/model.json", dir);
    FILE *fp = fopen(mj, "r");
    if (!fp)
        return vs_diag_set(d, VS_E_UNSUPPORTED,
                           "model 'use-lite' is not available (no %s; run scripts/get-model.sh use-lite)",
                           mj);
    fclose(fp);
    struct vs_embedder *e = calloc(1, sizeof *e);
    if (!e)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    uint64_t sum;
    int st = vs_uselite_create(dir, &e->ops, &e->state, &sum, d);
    if (st != VS_OK) {
        free(e);
        return st;
    }
    e->is_use = 1;
    e->dim = VS_USELITE_DIM;
    snprintf(e->identity, sizeof e->identity, "use-lite@%016llx",
             (unsigned long long)sum);
    if (has_sum && sum != want)
        st = vs_diag_set(d, VS_E_MISMATCH,
                         "model 'use-lite' has other weights (checksum %016llx, wanted %016llx)",
                         (unsigned long long)sum, (unsigned long long)want);
    else if (dim && dim != e->dim)
        st = vs_diag_set(d, VS_E_USAGE, "model 'use-lite' has dimension %zu, not %zu",
                         e->dim, dim);
    if (st != VS_OK) {
        vs_embedder_free(e);
        return st;
    }
    *out = e;
    return VS_OK;
}

int vs_embedder_new(const char *model, size_t dim, struct vs_embedder **out,
                    struct vs_diag *d)
{
    *out = NULL;
    if (vs_embedapi_match(model))
        return vs_embedder_new_opts(model, dim, NULL, out, d);
    if (!model || !*model)
        model = "hash";
    if (strcmp(model, "use-lite") == 0 || strncmp(model, "use-lite@", 9) == 0)
        return new_use(model, dim, out, d);
    {
        char dir[4096], bname[256];
        uint64_t want = 0;
        int has_sum = 0;
        if (strncmp(model, "hash", 4) != 0 &&
            vs_bertembed_resolve(model, dir, sizeof dir, bname, sizeof bname,
                                 &want, &has_sum) == 0)
            return new_bert(dir, bname, want, has_sum, dim, out, d);
    }
    char name[64];
    size_t idim;
    if (split_identity(model, name, sizeof name, &idim) != 0)
        return vs_diag_set(d, VS_E_USAGE,
                           "model '%s' has a bad dimension (1 to %d)", model,
                           VS_EMBED_DIM_MAX);
    if (strcmp(name, "hash") != 0 && strcmp(name, VS_HASHEMBED_VERSION) != 0) {
        if (vs_bertembed_alias(model))
            return vs_diag_set(d, VS_E_UNSUPPORTED,
                               "model '%s' is not available (no %s in the model "
                               "directory; run scripts/get-model.sh %s)",
                               model, vs_bertembed_alias(model), model);
        return vs_diag_set(d, VS_E_UNSUPPORTED, "model '%s' is not available",
                           model);
    }
    if (dim > VS_EMBED_DIM_MAX)
        return vs_diag_set(d, VS_E_USAGE, "dimension %zu is out of range (1 to %d)",
                           dim, VS_EMBED_DIM_MAX);
    if (idim && dim && idim != dim)
        return vs_diag_set(d, VS_E_USAGE,
                           "model '%s' has dimension %zu, not %zu", model,
                           idim, dim);
    if (!dim)
        dim = idim ? idim : VS_EMBED_DIM_DEFAULT;

    struct vs_embedder *e = calloc(1, sizeof *e);
    if (!e)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    e->dim = dim;
    snprintf(e->identity, sizeof e->identity, "%s:%zu", VS_HASHEMBED_VERSION,
             dim);
    int st = vs_hashembed_create(dim, &e->ops, &e->state);
    if (st != VS_OK) {
        free(e);
        return vs_diag_set(d, st, "cannot make the hash embedder");
    }
    *out = e;
    return VS_OK;
}

void vs_embedder_free(struct vs_embedder *e)
{
    if (!e)
        return;
    if (e->ops && e->ops->free)
        e->ops->free(e->state);
    vs_embcache_close(e->cache);
    free(e->trunc);
    free(e->miss);
    free(e->mtexts);
    free(e->mlens);
    free(e->mst);
    free(e->mout);
    free(e->st_scratch);
    free(e);
}

const char *vs_embedder_name(const struct vs_embedder *e)
{
    return e->ops->name;
}

const char *vs_embedder_identity(const struct vs_embedder *e)
{
    return e->identity;
}

size_t vs_embedder_dim(const struct vs_embedder *e) { return e->dim; }

/* The cache key of a local model: the engine revision, identity (with the
 * weights checksum), role and prefix; texts the model cut to its maximum length are stored under
 * the key with "|truncated" appended, so a hit also gives the flag. */
static void cache_key(const struct vs_embedder *e, int truncated, char *key,
                      size_t n)
{
    const char *prefix = e->is_bert ? vs_bertembed_prefix(e->state) : "";
    snprintf(key, n, "local%d|%s|%s|prefix=%zu:%s%s", VS_LOCAL_ENGINE_REV,
             e->identity, e->role ? "query" : "document", strlen(prefix), prefix,
             truncated ? "|truncated" : "");
}

static int grow_cache_scratch(struct vs_embedder *e, size_t n)
{
    if (e->mcap >= n)
        return VS_OK;
    int *t = realloc(e->trunc, n * sizeof *t);
    if (t)
        e->trunc = t;
    size_t *m = realloc(e->miss, n * sizeof *m);
    if (m)
        e->miss = m;
    const char **mt = realloc(e->mtexts, n * sizeof *mt);
    if (mt)
        e->mtexts = mt;
    size_t *ml = realloc(e->mlens, n * sizeof *ml);
    if (ml)
        e->mlens = ml;
    int *ms = realloc(e->mst, n * sizeof *ms);
    if (ms)
        e->mst = ms;
    float *mo = realloc(e->mout, n * e->dim * sizeof *mo);
    if (mo)
        e->mout = mo;
    if (!t || !m || !mt || !ml || !ms || !mo)
        return VS_E_NOMEM;
    e->mcap = n;
    return VS_OK;
}

/* Look every text up in the cache; the model embeds only the misses, which
 * are then stored (a failed put is ignored: the cache is an optimisation). */
static int cached_embed(struct vs_embedder *e, size_t n,
                        const char *const *texts, const size_t *lens,
                        float *out, int *st)
{
    if (grow_cache_scratch(e, n) != VS_OK)
        return VS_E_NOMEM;
    char key[2][1024];
    cache_key(e, 0, key[0], sizeof key[0]);
    cache_key(e, 1, key[1], sizeof key[1]);
    size_t nm = 0, dim = e->dim;
    for (size_t i = 0; i < n; i++) {
        float *row = out + i * dim;
        st[i] = VS_OK;
        e->trunc[i] = 0;
        if (vs_embcache_get(e->cache, key[0], texts[i], lens[i], row, dim) == 1) {
            e->hits++;
            continue;
        }
        if (vs_embcache_get(e->cache, key[1], texts[i], lens[i], row, dim) == 1) {
            e->trunc[i] = 1;
            e->hits++;
            continue;
        }
        e->misses++;
        e->miss[nm] = i;
        e->mtexts[nm] = texts[i];
        e->mlens[nm] = lens[i];
        nm++;
    }
    if (nm == 0)
        return VS_OK;
    int rc = e->ops->embed(e->state, dim, nm, e->mtexts, e->mlens, e->mout,
                           e->mst);
    if (rc != VS_OK)
        return rc;
    for (size_t j = 0; j < nm; j++) {
        size_t i = e->miss[j];
        const float *row = e->mout + j * dim;
        memcpy(out + i * dim, row, dim * sizeof *out);
        st[i] = e->mst[j];
        e->trunc[i] = e->is_bert ? vs_bertembed_truncated(e->state, j)
                                 : vs_uselite_truncated(e->state, j);
        if (st[i] == VS_OK)
            (void)vs_embcache_put(e->cache, key[e->trunc[i] != 0], texts[i],
                                  lens[i], row, dim);
    }
    return VS_OK;
}

int vs_embedder_embed(struct vs_embedder *e, size_t n,
                      const char *const *texts, const size_t *lens,
                      float *out, int *status, struct vs_diag *d)
{
    if (n == 0)
        return VS_OK;
    int *st = status;
    if (!st) {
        if (e->st_cap < n) {
            int *p = realloc(e->st_scratch, n * sizeof *p);
            if (!p)
                return vs_diag_set(d, VS_E_NOMEM, "out of memory");
            e->st_scratch = p;
            e->st_cap = n;
        }
        st = e->st_scratch;
    }
    int rc = e->cache ? cached_embed(e, n, texts, lens, out, st)
                      : e->ops->embed(e->state, e->dim, n, texts, lens, out, st);
    if (rc != VS_OK)
        return vs_diag_set(d, rc, "out of memory while embedding");
    for (size_t i = 0; i < n; i++) {
        if (st[i] == VS_OK)
            continue;
        if (e->is_api && vs_embedapi_error(e->state, i))
            return vs_diag_set(d, st[i], "%s", vs_embedapi_error(e->state, i));
        if (st[i] == VS_E_DATA)
            return vs_diag_set(d, st[i], "text is not valid UTF-8");
        return vs_diag_set(d, st[i],
                           lens[i] ? "text has no content to embed (white space only, or no token of the model)"
                                   : "text is empty");
    }
    return VS_OK;
}

/* here, not in embed_api.c: the WebAssembly build has no embed_api.c */
void vs_embed_opts_init(struct vs_embed_opts *o)
{
    memset(o, 0, sizeof *o);
    o->concurrency = 1;
    o->max_retries = 4;
    o->timeout_ms = 60000;
}

int vs_embedder_new_opts(const char *model, size_t dim,
                         const struct vs_embed_opts *o,
                         struct vs_embedder **out, struct vs_diag *d)
{
    *out = NULL;
    if (!vs_embedapi_match(model)) {
        struct vs_embedder *le;
        int lst = vs_embedder_new(model, dim, &le, d);
        if (lst != VS_OK)
            return lst;
        /* local transformer models use the embedding cache unless told not
         * to; the hash embedder is cheaper than a cache lookup */
        if ((le->is_bert || le->is_use) && o && !o->no_cache) {
            lst = vs_embcache_open(o->cache_dir, o->cache_max_bytes, &le->cache, d);
            if (lst != VS_OK) {
                vs_embedder_free(le);
                return lst;
            }
        }
        *out = le;
        return VS_OK;
    }
    struct vs_embed_opts def;
    if (!o) {
        /* vs_embedder_new() from an identity (the query side): the
         * endpoint may come from the environment, as vs-embed's setting */
        vs_embed_opts_init(&def);
        def.base_url = getenv("VS_EMBED_BASE_URL");
        def.api_version = getenv("VS_EMBED_API_VERSION");
        o = &def;
    }
    struct vs_embedder *e = calloc(1, sizeof *e);
    if (!e)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    int st = vs_embedapi_create(model, dim, o, &e->ops, &e->state, e->identity,
                                sizeof e->identity, &e->dim, d);
    if (st != VS_OK) {
        free(e);
        return st;
    }
    e->is_api = 1;
    *out = e;
    return VS_OK;
}

int vs_embedder_is_remote(const struct vs_embedder *e) { return e->is_api; }

void vs_embedder_stats(const struct vs_embedder *e, struct vs_embed_stats *s)
{
    if (e->is_api) {
        vs_embedapi_stats(e->state, s);
        return;
    }
    memset(s, 0, sizeof *s);
    s->usage_tokens = -1;
    s->price = s->cost = -1;
    s->cache_hits = e->hits;
    s->cache_misses = e->misses;
}

void vs_embedder_set_price(struct vs_embedder *e, double usd_per_mtok)
{
    if (e->is_api)
        vs_embedapi_set_price(e->state, usd_per_mtok);
}

const char *vs_embedder_error(const struct vs_embedder *e, size_t i)
{
    return e->is_api ? vs_embedapi_error(e->state, i) : NULL;
}

void vs_embedder_set_role(struct vs_embedder *e, int role)
{
    if (e->is_api)
        vs_embedapi_set_role(e->state, role);
    if (e->is_bert)
        vs_bertembed_set_role(e->state, role);
    e->role = role != 0;
}

int vs_embedder_local_truncated(const struct vs_embedder *e, size_t i)
{
    if (e->is_api)
        return vs_embedapi_truncated(e->state, i);
    if (e->cache)
        return e->trunc && i < e->mcap ? e->trunc[i] : 0;
    if (e->is_use)
        return vs_uselite_truncated(e->state, i);
    return e->is_bert ? vs_bertembed_truncated(e->state, i) : 0;
}

void vs_embedder_set_threads(int n) { vs_bert_set_threads(n); }

int vs_embedder_count_tokens(struct vs_embedder *e, const char *text, size_t len,
                             size_t *n, struct vs_diag *d)
{
    int st = VS_OK;
    if (e->is_api)
        return vs_diag_set(d, VS_E_UNSUPPORTED,
                           "the tokens of API model '%s' are not counted here "
                           "(hash, use-lite and BERT models are)", e->identity);
    if (e->is_bert)
        st = vs_bertembed_count(e->state, text, len, n);
    else if (e->is_use)
        st = vs_uselite_count(e->state, text, len, n);
    else
        *n = vs_hashembed_count_words(text, len);
    if (st == VS_E_DATA)
        return vs_diag_set(d, st, "text is not valid UTF-8");
    if (st != VS_OK)
        return vs_diag_set(d, st, "out of memory");
    return VS_OK;
}

size_t vs_embedder_max_tokens(struct vs_embedder *e)
{
    if (e->is_bert)
        return vs_bertembed_max_tokens(e->state);
    if (e->is_use)
        return vs_uselite_max_tokens(e->state);
    return 0; /* the hash embedder reads every word; API models: not counted */
}

int vs_embedder_embed_one(struct vs_embedder *e, const char *text,
                          float *out, struct vs_diag *d)
{
    size_t len = strlen(text);
    int st;
    return vs_embedder_embed(e, 1, &text, &len, out, &st, d);
}
