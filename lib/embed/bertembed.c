/* bertembed.c: BERT-family models behind the embedder interface
 * (embed_internal.h): model folder resolution, identity, prefixes. */
#include "embed_internal.h"
#include "vs_bert.h"
#include "vs_wordpiece.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct bertembed {
    struct vs_bert *m;
    const char *prefix[2]; /* by role: document, query */
    int role;
    int *trunc;
    size_t trunc_cap;
    int32_t *ids; /* vs_bertembed_count's scratch */
    size_t ids_cap;
};

/* Prefixes the models were trained with, keyed by the start of the model's
 * name (the folder's base name): {name start, document prefix, query prefix}. */
static const struct {
    const char *name, *doc, *query;
} prefixes[] = {
    {"e5-", "passage: ", "query: "},
    {"multilingual-e5-", "passage: ", "query: "},
    {"bge-small-en", "", "Represent this sentence for searching relevant passages: "},
    {"bge-base-en", "", "Represent this sentence for searching relevant passages: "},
    {"bge-large-en", "", "Represent this sentence for searching relevant passages: "},
};

/* Short names (vs-embed --model, scripts/get-model.sh) of the models
 * get-model.sh fetches, by the folder they are fetched into. */
static const struct {
    const char *alias, *folder;
} aliases[] = {
    {"minilm", "all-MiniLM-L6-v2"},
    {"bge-small", "bge-small-en-v1.5"},
};

const char *vs_bertembed_alias(const char *name)
{
    for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
        if (strcmp(name, aliases[i].alias) == 0)
            return aliases[i].folder;
    return NULL;
}

/* The model directory: $VS_MODEL_DIR, default ~/.cache/vecstore/models. */
static void model_dir(char *dir, size_t dirsz)
{
    const char *md = getenv("VS_MODEL_DIR");
    const char *home = getenv("HOME");
    if (md && *md)
        snprintf(dir, dirsz, "%s", md);
    else
        snprintf(dir, dirsz, "%s/.cache/vecstore/models", home && *home ? home : ".");
}

int vs_bert_default_model(char *name, size_t namesz, char *dir, size_t dirsz)
{
    char md[4096], path[4400];
    static const char *const files[] = {"config.json", "model.safetensors", "vocab.txt"};
    model_dir(md, sizeof md);
    /* best first: bge-small-en-v1.5 (SciFact nDCG@10 0.72 on its model
     * card), then all-MiniLM-L6-v2 (0.645; docs/eval.md) */
    static const size_t order[] = {1, 0};
    for (size_t k = 0; k < sizeof order / sizeof *order; k++) {
        size_t i = order[k];
        int ok = 1;
        for (size_t f = 0; ok && f < sizeof files / sizeof *files; f++) {
            snprintf(path, sizeof path, "%s/%s/%s", md, aliases[i].folder, files[f]);
            ok = access(path, R_OK) == 0;
        }
        if (ok) {
            snprintf(name, namesz, "%s", aliases[i].alias);
            snprintf(dir, dirsz, "%s/%s", md, aliases[i].folder);
            return 0;
        }
    }
    snprintf(dir, dirsz, "%s", md);
    return -1;
}

static int be_embed(void *state, size_t dim, size_t n, const char *const *texts,
                    const size_t *lens, float *out, int *st)
{
    struct bertembed *b = state;
    (void)dim;
    if (b->trunc_cap < n) {
        int *p = realloc(b->trunc, n * sizeof *p);
        if (!p)
            return VS_E_NOMEM;
        b->trunc = p;
        b->trunc_cap = n;
    }
    return vs_bert_embed(b->m, b->prefix[b->role], n, texts, lens, out, st,
                         b->trunc);
}

void vs_bertembed_set_role(void *state, int role)
{
    struct bertembed *b = state;
    b->role = role != 0; /* VS_EMBED_DOCUMENT is 0, VS_EMBED_QUERY 1 */
}

const char *vs_bertembed_prefix(const void *state)
{
    const struct bertembed *b = state;
    return b->prefix[b->role];
}

int vs_bertembed_truncated(const void *state, size_t i)
{
    const struct bertembed *b = state;
    return b->trunc && i < b->trunc_cap ? b->trunc[i] : 0;
}

int vs_bertembed_count(void *state, const char *text, size_t len, size_t *n)
{
    struct bertembed *b = state;
    /* a piece holds at least one code point (a whole word as [UNK]); lower
     * casing may make more: grow and count again when the room was short */
    for (size_t need = len + 2;; need *= 2) {
        if (b->ids_cap < need) {
            int32_t *p = realloc(b->ids, need * sizeof *p);
            if (!p)
                return VS_E_NOMEM;
            b->ids = p;
            b->ids_cap = need;
        }
        size_t cnt;
        int tr = 0;
        int st = vs_wordpiece_encode(vs_bert_wordpiece(b->m), text, len, b->ids_cap,
                                     b->ids, &cnt, &tr, NULL);
        if (st != VS_OK)
            return st;
        if (!tr) {
            *n = cnt - 2; /* [CLS] and [SEP] */
            return VS_OK;
        }
    }
}

size_t vs_bertembed_max_tokens(void *state)
{
    struct bertembed *b = state;
    size_t ml = vs_bert_max_len(b->m), p = 0;
    if (b->prefix[0][0] && vs_bertembed_count(state, b->prefix[0], strlen(b->prefix[0]), &p))
        return 0;
    return ml > p + 2 ? ml - p - 2 : 0;
}

static void be_free(void *state)
{
    struct bertembed *b = state;
    if (!b)
        return;
    vs_bert_free(b->m);
    free(b->ids);
    free(b->trunc);
    free(b);
}

static const struct vs_embed_ops bert_ops = {
    .name = "bert",
    .embed = be_embed,
    .free = be_free,
};

int vs_bertembed_resolve(const char *model, char *dir, size_t dirsz,
                         char *name, size_t namesz, uint64_t *want_sum,
                         int *has_sum)
{
    char spec[4096];
    snprintf(spec, sizeof spec, "%s", model);
    *has_sum = 0;
    char *at = strrchr(spec, '@');
    if (at && strlen(at + 1) == 16 && strspn(at + 1, "0123456789abcdef") == 16) {
        *want_sum = strtoull(at + 1, NULL, 16);
        *has_sum = 1;
        *at = '\0';
    }
    size_t sl = strlen(spec);
    while (sl > 1 && spec[sl - 1] == '/')
        spec[--sl] = '\0';
    if (strchr(spec, '/') || strcmp(spec, ".") == 0) {
        snprintf(dir, dirsz, "%s", spec);
        const char *base = strrchr(spec, '/');
        snprintf(name, namesz, "%s", base ? base + 1 : spec);
    } else {
        const char *full = vs_bertembed_alias(spec);
        if (full)
            snprintf(spec, sizeof spec, "%s", full);
        char md[4096];
        model_dir(md, sizeof md);
        snprintf(dir, dirsz, "%s/%s", md, spec);
        snprintf(name, namesz, "%s", spec);
    }
    struct stat sb;
    char cfg[4200];
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    return stat(cfg, &sb) == 0 ? 0 : -1;
}

int vs_bertembed_create(const char *dir, const char *name, size_t *dim,
                        const struct vs_embed_ops **ops, void **state,
                        uint64_t *sum, struct vs_diag *d)
{
    struct bertembed *b = calloc(1, sizeof *b);
    if (!b)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    int st = vs_bert_open(dir, &b->m, d);
    if (st != VS_OK) {
        free(b);
        return st;
    }
    b->prefix[0] = b->prefix[1] = "";
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (strncmp(name, prefixes[i].name, strlen(prefixes[i].name)) == 0) {
            b->prefix[0] = prefixes[i].doc;
            b->prefix[1] = prefixes[i].query;
            break;
        }
    *dim = vs_bert_dim(b->m);
    *sum = vs_bert_checksum(b->m);
    *ops = &bert_ops;
    *state = b;
    return VS_OK;
}
