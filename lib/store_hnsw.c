/* store_hnsw.c: building and opening the HNSW section of a segment. See
 * store_hnsw_internal.h. */
#include "store_hnsw_internal.h"
#include "hnsw_internal.h"
#include "quant_internal.h"

#include <stdlib.h>
#include <string.h>

struct vs_hnswb {
    uint32_t dim;
    enum vs_metric metric;
    struct vs_hnsw_opts o;
    uint64_t min_rows, rows, cap;
    float *vecs;
    struct vs_hnsw *h;  /* adopted graph, or NULL (built at finish) */
    struct vs_quant *q; /* adopted codes, or NULL */
};

void vs_hnswb_adopt(struct vs_hnswb *b, struct vs_hnsw *h, struct vs_quant *q)
{
    vs_hnsw_free(b->h);
    vs_quant_free(b->q);
    b->h = h;
    b->q = q;
}

int vs_hnswb_new(uint32_t dim, enum vs_metric metric,
                 const struct vs_hnsw_opts *o, uint64_t min_rows,
                 struct vs_hnswb **out, struct vs_diag *d)
{
    *out = NULL;
    if (dim == 0)
        return vs_diag_set(d, VS_E_USAGE, "hnsw: the store has no dimension yet");
    struct vs_hnswb *b = calloc(1, sizeof *b);
    if (!b)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    b->dim = dim;
    b->metric = metric;
    if (o)
        b->o = *o;
    else
        b->o.simd = -1;
    b->min_rows = min_rows;
    *out = b;
    return VS_OK;
}

int vs_hnswb_add(struct vs_hnswb *b, const float *vec, struct vs_diag *d)
{
    if (b->h && (b->q || !b->o.quant)) { /* nothing to build from the rows */
        b->rows++;
        return VS_OK;
    }
    if (b->rows == b->cap) {
        uint64_t c = b->cap ? b->cap * 2 : 1024;
        float *v = realloc(b->vecs, (size_t)c * b->dim * sizeof *v);
        if (!v)
            return vs_diag_set(d, VS_E_NOMEM, "out of memory keeping vectors for the graph");
        b->vecs = v;
        b->cap = c;
    }
    memcpy(b->vecs + (size_t)b->rows * b->dim, vec, (size_t)b->dim * sizeof *vec);
    b->rows++;
    return VS_OK;
}

int vs_hnswb_finish(struct vs_hnswb *b, void **buf, size_t *len,
                    void **qbuf, size_t *qlen, struct vs_diag *d)
{
    *buf = *qbuf = NULL;
    *len = *qlen = 0;
    if (b->h && (vs_hnsw_count(b->h) != b->rows || vs_hnsw_dim(b->h) != b->dim ||
                 (b->q && (vs_quant_rows(b->q) != b->rows || vs_quant_dim(b->q) != b->dim))))
        return vs_diag_set(d, VS_E_INTERNAL, "hnsw: the adopted graph does not match the rows");
    if (!b->h && (b->rows == 0 || b->rows < b->min_rows))
        return VS_E_NOTFOUND;
    struct vs_hnsw *h = b->h;
    int st = h ? VS_OK : vs_hnsw_build(b->vecs, b->rows, b->dim, b->metric, &b->o, &h, d);
    if (st != VS_OK)
        return st;
    st = vs_hnsw_save(h, 3, buf, len, d);
    if (h != b->h)
        vs_hnsw_free(h);
    if (st == VS_OK && (b->q || b->o.quant)) {
        struct vs_quant *q = b->q;
        if (!q)
            st = vs_quant_build((enum vs_quant_kind)b->o.quant, b->metric, b->vecs, b->rows,
                                b->dim, -1, &q, d);
        if (st == VS_OK) {
            st = vs_quant_save(q, qbuf, qlen, d);
            if (q != b->q)
                vs_quant_free(q);
        }
        if (st != VS_OK) {
            free(*buf);
            *buf = NULL;
            *len = 0;
        }
    }
    return st;
}

void vs_hnswb_free(struct vs_hnswb *b)
{
    if (!b)
        return;
    vs_hnsw_free(b->h);
    vs_quant_free(b->q);
    free(b->vecs);
    free(b);
}

int vs_seg_hnsw(struct vs_segment *g, struct vs_hnsw **out, struct vs_diag *d)
{
    *out = NULL;
    /* a raw section is read in place from the mapped file: the graph
     * checks its header, block table and upper layers now and each level-0
     * block when a search first reads it (vs-index verify checks the
     * section's own checksum) */
    const void *mp;
    size_t len;
    int st = vs_seg_section_map(g, VS_SECT_HNSW, &mp, &len, d);
    if (st == VS_OK) {
        st = vs_hnsw_open_borrowed(mp, len, -1, out, d);
    } else if (st == VS_E_UNSUPPORTED) {
        void *buf;
        if ((st = vs_seg_section(g, VS_SECT_HNSW, &buf, &len, d)) != VS_OK)
            return st;
        st = vs_hnsw_open_take(buf, len, -1, out, d); /* owns or frees buf */
    } else {
        return st;
    }
    if (st == VS_OK && (vs_hnsw_count(*out) != g->rows || vs_hnsw_dim(*out) != g->dim)) {
        vs_hnsw_free(*out);
        *out = NULL;
        st = vs_diag_set(d, VS_E_CORRUPT, "section 'hnsw' does not match the segment's rows or dimension");
    }
    if (st != VS_OK)
        vs_diag_where(d, g->path, 0);
    return st;
}

int vs_seg_quant(struct vs_segment *g, struct vs_quant **out, struct vs_diag *d)
{
    *out = NULL;
    /* format 2 codes are used in place in the mapped file, each block
     * checked when a search first reads it; format 1 (one compressed
     * frame) is read and checked whole */
    const void *mp;
    size_t len;
    int st = vs_seg_section_map(g, VS_SECT_QUANT, &mp, &len, d);
    if (st == VS_OK)
        st = vs_quant_open_borrowed(mp, len, -1, out, d);
    if (st == VS_E_UNSUPPORTED) {
        void *buf;
        if ((st = vs_seg_section(g, VS_SECT_QUANT, &buf, &len, d)) != VS_OK)
            return st;
        st = vs_quant_open(buf, len, -1, out, d);
        if (st != VS_OK)
            free(buf);
    }
    if (st == VS_OK && (vs_quant_rows(*out) != g->rows || vs_quant_dim(*out) != g->dim)) {
        vs_quant_free(*out);
        *out = NULL;
        st = vs_diag_set(d, VS_E_CORRUPT, "section 'quant' does not match the segment's rows or dimension");
    }
    if (st != VS_OK)
        vs_diag_where(d, g->path, 0);
    return st;
}

int vs_store_hnsw_read(json_t *manifest, struct vs_store_settings *st)
{
    st->hnsw_m = st->hnsw_ef_construction = 0;
    st->hnsw_seeded = 0;
    st->hnsw_seed = 0;
    st->hnsw_quant = 0;
    json_t *o = json_object_get(manifest, "hnsw");
    if (!o || json_is_null(o))
        return VS_OK;
    json_t *m = json_object_get(o, "M"), *e = json_object_get(o, "ef_construction");
    if (!json_is_integer(m) || !json_is_integer(e) || json_integer_value(m) < 2 ||
        json_integer_value(m) > 1024 || json_integer_value(e) < 1 ||
        json_integer_value(e) > 100000)
        return VS_E_CORRUPT;
    st->hnsw_m = (uint32_t)json_integer_value(m);
    st->hnsw_ef_construction = (uint32_t)json_integer_value(e);
    json_t *seed = json_object_get(o, "seed"), *quant = json_object_get(o, "quant");
    if (seed) {
        if (!json_is_integer(seed) || json_integer_value(seed) < 0)
            return VS_E_CORRUPT;
        st->hnsw_seeded = 1;
        st->hnsw_seed = (uint64_t)json_integer_value(seed);
    }
    if (quant) {
        enum vs_quant_kind k;
        if (!json_is_string(quant) || vs_quant_parse(json_string_value(quant), &k) != VS_OK)
            return VS_E_VERSION;
        st->hnsw_quant = (uint32_t)k;
    }
    return VS_OK;
}

json_t *vs_store_hnsw_json(const struct vs_store_settings *st)
{
    json_t *o = json_object();
    json_object_set_new(o, "M", json_integer(st->hnsw_m));
    json_object_set_new(o, "ef_construction",
                        json_integer(st->hnsw_ef_construction ? st->hnsw_ef_construction : 200));
    json_object_set_new(o, "min_rows", json_integer(VS_HNSW_MIN_ROWS));
    if (st->hnsw_seeded)
        json_object_set_new(o, "seed", json_integer((json_int_t)st->hnsw_seed));
    if (st->hnsw_quant)
        json_object_set_new(o, "quant",
                            json_string(vs_quant_name((enum vs_quant_kind)st->hnsw_quant)));
    return o;
}

int vs_store_hnsw_check(const struct vs_store_settings *st, struct vs_diag *d)
{
    if (st->hnsw_m && (st->hnsw_m < 2 || st->hnsw_m > 1024))
        return vs_diag_set(d, VS_E_USAGE, "hnsw M must be between 2 and 1024");
    if (st->hnsw_ef_construction > 100000)
        return vs_diag_set(d, VS_E_USAGE, "hnsw ef_construction must be at most 100000");
    if (st->hnsw_quant > VS_QUANT_BINARY)
        return vs_diag_set(d, VS_E_USAGE, "unknown vector code kind %u", st->hnsw_quant);
    if (!st->hnsw_m && (st->hnsw_quant || st->hnsw_seeded))
        return vs_diag_set(d, VS_E_USAGE, "a seed or vector codes need HNSW graphs (M)");
    if (st->hnsw_seed > (uint64_t)INT64_MAX)
        return vs_diag_set(d, VS_E_USAGE, "the hnsw seed must be below 2^63");
    return VS_OK;
}

int vs_store_hnsw_attach(struct vs_segw *w, const struct vs_store_settings *st,
                         struct vs_diag *d)
{
    if (!st->hnsw_m)
        return VS_OK;
    /* a seeded store builds on one thread: the same rows, the same graph */
    struct vs_hnsw_opts o = {.M = st->hnsw_m,
                             .ef_construction = st->hnsw_ef_construction,
                             .seed = st->hnsw_seeded ? st->hnsw_seed : 1,
                             .threads = st->hnsw_seeded ? 1 : 0,
                             .simd = -1, .quant = st->hnsw_quant};
    return vs_segw_hnsw(w, st->metric, &o, VS_HNSW_MIN_ROWS, d);
}
