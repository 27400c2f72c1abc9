/* vsw.c: the WebAssembly module's exports, a thin layer over the public C
 * API (lib/vecstore.h) for wasm/js/index.js.
 *
 * Strings go in as NUL-terminated UTF-8 in the module's memory (the loader
 * allocates and frees them); results that are more than a number come back
 * as JSON text the caller frees with vsw_free. A failing call returns a
 * status (or NULL) and leaves the diagnostic in one static struct vs_error
 * that vsw_err_* read: the module runs one call at a time (no threads).
 */
/* the kernel check (vsw_distance) reads the library's distance table;
 * its header first, as the library's own sources include it */
#include "vs_distance.h"
#include <vecstore.h>

#include <emscripten/emscripten.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT EMSCRIPTEN_KEEPALIVE

static struct vs_error g_err;
static double g_count; /* the count of the last delete */

static int fail(int status, const char *field, const char *detail)
{
    memset(&g_err, 0, sizeof g_err);
    g_err.status = status;
    snprintf(g_err.field, sizeof g_err.field, "%s", field ? field : "");
    snprintf(g_err.detail, sizeof g_err.detail, "%s", detail ? detail : "");
    return status;
}

EXPORT int vsw_err_status(void) { return g_err.status; }
EXPORT const char *vsw_err_field(void) { return g_err.field; }
EXPORT const char *vsw_err_detail(void) { return g_err.detail; }
EXPORT double vsw_err_line(void) { return (double)g_err.line; }
EXPORT double vsw_err_col(void) { return (double)g_err.col; }
EXPORT const char *vsw_errname(int status) { return vs_errname(status); }
EXPORT const char *vsw_version(void) { return vs_version(); }
EXPORT double vsw_count(void) { return g_count; }
EXPORT void *vsw_malloc(size_t n) { return malloc(n ? n : 1); }
EXPORT void vsw_free(void *p) { free(p); }

/* ---- a growing text buffer for JSON results ---- */

struct buf {
    char *p;
    size_t n, cap;
    int oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void puts_(struct buf *b, const char *s) { put(b, s, strlen(s)); }

static void putf(struct buf *b, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* a JSON number; non-finite values (never expected) as null */
static void putnum(struct buf *b, double v)
{
    if (isfinite(v))
        putf(b, "%.17g", v);
    else
        puts_(b, "null");
}

/* a JSON string of UTF-8 text (the library's strings are valid UTF-8) */
static void putstr(struct buf *b, const char *s)
{
    put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        const char *esc = NULL;
        char u[8];
        switch (*p) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (*p < 0x20) {
                snprintf(u, sizeof u, "\\u%04x", *p);
                esc = u;
            }
        }
        if (esc)
            puts_(b, esc);
        else
            put(b, (const char *)p, 1);
    }
    put(b, "\"", 1);
}

static char *finish(struct buf *b)
{
    if (b->oom) {
        free(b->p);
        fail(VS_E_NOMEM, NULL, "out of memory building a result");
        return NULL;
    }
    return b->p;
}

/* ---- stores ---- */

/* Open the store at path, creating it when create is 1 (with these
 * settings; "" strings mean the default; vstore: "float32" or "f16",
 * how segments keep vectors). NULL on failure. */
EXPORT vs_db *vsw_open(const char *path, int create, double dim,
                       const char *metric, int normalize, const char *model,
                       const char *analyzer, int hnsw_m, int ef_construction,
                       double seed, const char *quant, const char *vstore)
{
    struct vs_db_config c;
    vs_db_config_init(&c, sizeof c);
    c.dim = dim > 0 ? (size_t)dim : 0;
    c.metric = metric && *metric ? metric : NULL;
    c.normalize = normalize;
    c.model = model && *model ? model : NULL;
    c.analyzer = analyzer && *analyzer ? analyzer : NULL;
    c.hnsw_m = hnsw_m;
    c.hnsw_ef_construction = ef_construction;
    c.hnsw_seed = seed > 0 ? (uint64_t)seed : 0;
    c.quant = quant && *quant ? quant : NULL;
    c.vector_storage = vstore && *vstore ? vstore : NULL;
    vs_db *db = NULL;
    memset(&g_err, 0, sizeof g_err);
    int flags = create ? VS_DB_CREATE | VS_DB_EXCL : VS_DB_WRITE;
    if (vs_db_open(path, flags, &c, 0, &db, &g_err) != VS_OK)
        return NULL;
    return db;
}

EXPORT void vsw_close(vs_db *db) { vs_db_close(db); }

EXPORT int vsw_upsert(vs_db *db, const char *id, const float *vec, double dim,
                      const char *text, const char *metadata_json,
                      const char *doc_id)
{
    struct vs_record r = {id, vec, (size_t)dim, text, metadata_json, doc_id};
    memset(&g_err, 0, sizeof g_err);
    return vs_db_upsert(db, &r, &g_err);
}

EXPORT int vsw_delete(vs_db *db, const char *id)
{
    int found = 0;
    memset(&g_err, 0, sizeof g_err);
    int rc = vs_db_delete(db, id, &found, &g_err);
    g_count = found;
    return rc;
}

EXPORT int vsw_delete_where(vs_db *db, const char *filter)
{
    uint64_t n = 0;
    memset(&g_err, 0, sizeof g_err);
    int rc = vs_db_delete_where(db, filter, &n, &g_err);
    g_count = (double)n;
    return rc;
}

EXPORT int vsw_commit(vs_db *db)
{
    memset(&g_err, 0, sizeof g_err);
    return vs_db_commit(db, &g_err);
}

/* {"records":..,"tombstones":..,...} or NULL */
EXPORT char *vsw_info(vs_db *db)
{
    struct vs_db_info in;
    memset(&g_err, 0, sizeof g_err);
    int rc = vs_db_info(db, &in);
    if (rc != VS_OK) {
        fail(rc, NULL, "not an open store");
        return NULL;
    }
    struct buf b = {0};
    puts_(&b, "{\"records\":");
    putnum(&b, (double)in.records);
    puts_(&b, ",\"tombstones\":");
    putnum(&b, (double)in.tombstones);
    puts_(&b, ",\"generation\":");
    putnum(&b, (double)in.generation);
    puts_(&b, ",\"segments\":");
    putnum(&b, (double)in.segments);
    puts_(&b, ",\"dim\":");
    putnum(&b, (double)in.dim);
    puts_(&b, ",\"metric\":");
    putstr(&b, in.metric);
    puts_(&b, ",\"model\":");
    putstr(&b, in.model);
    puts_(&b, ",\"hasTextIndex\":");
    puts_(&b, in.has_text_index ? "true" : "false");
    puts_(&b, ",\"hnswM\":");
    putnum(&b, in.hnsw_m);
    puts_(&b, "}");
    return finish(&b);
}

static void search_opts(struct vs_search_opts *o, int mode, double k,
                        const char *filter, double ef, int exact, int fusion,
                        double alpha, double rrf_k)
{
    vs_search_opts_init(o, sizeof *o);
    o->mode = mode;
    o->k = (size_t)k;
    o->filter = filter && *filter ? filter : NULL;
    o->ef = (size_t)ef;
    o->exact = exact;
    o->fusion = fusion;
    if (alpha >= 0)
        o->alpha = alpha;
    if (rrf_k > 0)
        o->rrf_k = rrf_k;
}

/* Search one query, ids and scores only (search's idsOnly): no stored
 * record is read and no JSON is written. The hits in one block the caller
 * frees with vsw_free, or NULL on failure:
 *   uint32 n, then n entries of { float32 score, float32 distance (NaN
 *   when the hit has none), uint32 rank, uint32 id bytes }, then the ids'
 *   UTF-8 bytes back to back (no NULs).
 * Entries are 4-byte aligned (the block comes from malloc). */
EXPORT void *vsw_search_ids(vs_db *db, const float *vec, double dim,
                            const char *text, int mode, double k,
                            const char *filter, double ef, int exact, int fusion,
                            double alpha, double rrf_k)
{
    struct vs_search_opts o;
    search_opts(&o, mode, k, filter, ef, exact, fusion, alpha, rrf_k);
    o.with_text = 0;
    o.with_metadata = 0;
    o.with_doc_id = 0;
    o.ids_only = 1; /* no stored record read; plain vector queries skip JSON */
    struct vs_search_query q = {NULL, vec, (size_t)dim, text, NULL, 0};
    vs_results *res = NULL;
    memset(&g_err, 0, sizeof g_err);
    if (vs_db_search(db, &q, &o, &res, &g_err) != VS_OK)
        return NULL;
    size_t n = vs_results_count(res, 0), idbytes = 0;
    for (size_t i = 0; i < n; i++)
        idbytes += strlen(vs_results_hit(res, 0, i)->id);
    unsigned char *out = malloc(4 + n * 16 + idbytes + 1);
    if (!out) {
        vs_results_free(res);
        fail(VS_E_NOMEM, NULL, "out of memory for the hits");
        return NULL;
    }
    uint32_t n32 = (uint32_t)n;
    memcpy(out, &n32, 4);
    unsigned char *e = out + 4, *ids = out + 4 + n * 16;
    for (size_t i = 0; i < n; i++, e += 16) {
        const struct vs_hit *h = vs_results_hit(res, 0, i);
        float score = (float)h->score;
        float dist = h->has_distance ? (float)h->distance : NAN;
        uint32_t rank = (uint32_t)h->rank, len = (uint32_t)strlen(h->id);
        memcpy(e, &score, 4);
        memcpy(e + 4, &dist, 4);
        memcpy(e + 8, &rank, 4);
        memcpy(e + 12, &len, 4);
        memcpy(ids, h->id, len);
        ids += len;
    }
    vs_results_free(res);
    return out;
}

/* Search one query (vec may be NULL, text may be NULL). The hits as a JSON
 * array, or NULL on failure. */
EXPORT char *vsw_search(vs_db *db, const float *vec, double dim,
                        const char *text, int mode, double k,
                        const char *filter, double ef, int exact, int fusion,
                        double alpha, double rrf_k)
{
    struct vs_search_opts o;
    search_opts(&o, mode, k, filter, ef, exact, fusion, alpha, rrf_k);
    struct vs_search_query q = {NULL, vec, (size_t)dim, text, NULL, 0};
    vs_results *res = NULL;
    memset(&g_err, 0, sizeof g_err);
    if (vs_db_search(db, &q, &o, &res, &g_err) != VS_OK)
        return NULL;
    struct buf b = {0};
    puts_(&b, "[");
    size_t n = vs_results_count(res, 0);
    for (size_t i = 0; i < n; i++) {
        const struct vs_hit *h = vs_results_hit(res, 0, i);
        puts_(&b, i ? ",{\"id\":" : "{\"id\":");
        putstr(&b, h->id);
        puts_(&b, ",\"score\":");
        putnum(&b, h->score);
        puts_(&b, ",\"rank\":");
        putnum(&b, (double)h->rank);
        if (h->has_distance) {
            puts_(&b, ",\"distance\":");
            putnum(&b, h->distance);
        }
        if (h->text) {
            puts_(&b, ",\"text\":");
            putstr(&b, h->text);
        }
        if (h->metadata_json) {
            puts_(&b, ",\"metadata\":");
            puts_(&b, h->metadata_json);
        }
        if (h->doc_id) {
            puts_(&b, ",\"docId\":");
            putstr(&b, h->doc_id);
        }
        puts_(&b, "}");
    }
    puts_(&b, "]");
    vs_results_free(res);
    return finish(&b);
}

/* ---- embedding (the hash embedder: the one engine built in) ---- */

EXPORT vs_encoder *vsw_encoder_open(const char *model)
{
    vs_encoder *e = NULL;
    memset(&g_err, 0, sizeof g_err);
    if (vs_encoder_open(model, 0, NULL, &e, &g_err) != VS_OK)
        return NULL;
    return e;
}

EXPORT double vsw_encoder_dim(const vs_encoder *e) { return (double)vs_encoder_dim(e); }
EXPORT const char *vsw_encoder_identity(const vs_encoder *e) { return vs_encoder_identity(e); }
EXPORT void vsw_encoder_free(vs_encoder *e) { vs_encoder_free(e); }

/* Embed one text into out (dim floats); role VS_ROLE_*. */
EXPORT int vsw_embed(vs_encoder *e, int role, const char *text, float *out)
{
    int st = VS_OK;
    memset(&g_err, 0, sizeof g_err);
    int rc = vs_encoder_embed(e, role, &text, 1, out, &st, &g_err);
    return rc != VS_OK ? rc : st;
}

/* ---- the distance kernels, for the test of SIMD128 against scalar ---- */

/* The best kernel set of this build: its vs_simd level (4 = simd128). */
EXPORT int vsw_simd_level(void) { return (int)vs_distance_best()->level; }

/* Kernel `which` (0 dot, 1 l2, 2 dot_block, 3 l2_block, 4 dot_ids,
 * 5 l2_ids) of level over a (nq x d) and x (nx x d) into out; ids (nx of
 * them) index x for the gather kernels. VS_E_UNSUPPORTED when the level is
 * not in this build. */
EXPORT int vsw_distance(int level, int which, const float *q, double nq,
                        const float *x, double nx, const uint32_t *ids,
                        double d, float *out)
{
    const struct vs_distance_kernels *k = vs_distance_kernels((enum vs_simd)level);
    if (!k)
        return fail(VS_E_UNSUPPORTED, "level", "kernel level not in this build");
    size_t Q = (size_t)nq, X = (size_t)nx, D = (size_t)d;
    switch (which) {
    case 0: out[0] = k->dot(q, x, D); break;
    case 1: out[0] = k->l2sq(q, x, D); break;
    case 2: k->dot_block(q, Q, x, X, D, out, X); break;
    case 3: k->l2sq_block(q, Q, x, X, D, out, X); break;
    case 4: k->dot_ids(q, x, ids, X, D, out); break;
    case 5: k->l2sq_ids(q, x, ids, X, D, out); break;
    default: return fail(VS_E_USAGE, "which", "unknown kernel");
    }
    return VS_OK;
}
