/* segment_index.c: the builders of a segment's index sections, fed row by
 * row by the segment writer: the HNSW graph and vector codes (vs_hnswb_*,
 * store_hnsw_internal.h) and the BM25 postings (vs_textb_*,
 * store_text_internal.h). They use index/ and text/ and nothing else of the
 * store. */
#include "store_hnsw_internal.h"
#include "store_text_internal.h"
#include "hnsw_internal.h"
#include "quant_internal.h"
#include "vs_analyzer.h"
#include "vs_bm25.h"

#include <stdlib.h>
#include <string.h>

/* ---- HNSW graph and codes ---- */

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

int vs_hnswb_keeps_rows(const struct vs_hnswb *b)
{
    return !(b->h && (b->q || !b->o.quant));
}

const float *vs_hnswb_vectors(const struct vs_hnswb *b, uint64_t *rows)
{
    *rows = b->rows;
    return vs_hnswb_keeps_rows(b) ? b->vecs : NULL;
}

/* rows r of vecs become rows in perm order (row i = old row perm[i]), in
 * place: each cycle of the permutation moves through one spare row */
static int permute_rows(float *vecs, uint64_t n, size_t dim, const uint32_t *perm)
{
    uint8_t *done = calloc(n ? n : 1, 1);
    float *tmp = malloc(dim * sizeof *tmp);
    if (!done || !tmp) {
        free(done);
        free(tmp);
        return VS_E_NOMEM;
    }
    size_t rb = dim * sizeof *tmp;
    for (uint64_t i = 0; i < n; i++) {
        if (done[i])
            continue;
        memcpy(tmp, vecs + i * dim, rb);
        uint64_t j = i;
        for (;;) {
            done[j] = 1;
            uint64_t src = perm[j];
            if (src == i) {
                memcpy(vecs + j * dim, tmp, rb);
                break;
            }
            memcpy(vecs + j * dim, vecs + src * dim, rb);
            j = src;
        }
    }
    free(done);
    free(tmp);
    return VS_OK;
}

int vs_hnswb_finish(struct vs_hnswb *b, void **buf, size_t *len,
                    void **qbuf, size_t *qlen, uint32_t **order, struct vs_diag *d)
{
    *buf = *qbuf = NULL;
    *len = *qlen = 0;
    *order = NULL;
    if (b->h && (vs_hnsw_count(b->h) != b->rows || vs_hnsw_dim(b->h) != b->dim ||
                 (b->q && (vs_quant_rows(b->q) != b->rows || vs_quant_dim(b->q) != b->dim))))
        return vs_diag_set(d, VS_E_INTERNAL, "hnsw: the adopted graph does not match the rows");
    if (!b->h && (b->rows == 0 || b->rows < b->min_rows))
        return VS_E_NOTFOUND;
    struct vs_hnsw *h = b->h;
    uint32_t *perm = NULL;
    int st = h ? VS_OK : vs_hnsw_build(b->vecs, b->rows, b->dim, b->metric, &b->o, &h, d);
    if (st != VS_OK)
        return st;
    if (!b->h) {
        /* a graph built here: the rows are renumbered in graph order (the
         * writer stores them so), and the codes are made in that order */
        struct vs_hnsw *g = NULL;
        perm = malloc(b->rows * sizeof *perm);
        if (!perm)
            st = vs_diag_set(d, VS_E_NOMEM, "hnsw: out of memory ordering the graph");
        if (st == VS_OK && (st = vs_hnsw_order(h, b->vecs, perm, d)) == VS_OK &&
            (st = vs_hnsw_renumbered(h, perm, &g, d)) == VS_OK &&
            permute_rows(b->vecs, b->rows, b->dim, perm) != VS_OK)
            st = vs_diag_set(d, VS_E_NOMEM, "hnsw: out of memory ordering the rows");
        vs_hnsw_free(h);
        h = g;
        if (st != VS_OK) {
            vs_hnsw_free(g);
            free(perm);
            return st;
        }
    }
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
    if (st == VS_OK)
        *order = perm;
    else
        free(perm);
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

/* ---- BM25 postings ---- */

struct vs_textb {
    char field[64];
    struct vs_bm25_builder *b;
};

int vs_textb_new(const char *field, const char *analyzer, struct vs_textb **out,
                 struct vs_diag *d)
{
    *out = NULL;
    struct vs_textb *t = calloc(1, sizeof *t);
    if (!t)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    snprintf(t->field, sizeof t->field, "%s", field && *field ? field : "text");
    int st = vs_bm25_builder_new(analyzer, &t->b, d);
    if (st != VS_OK) {
        free(t);
        return st;
    }
    *out = t;
    return VS_OK;
}

int vs_textb_add(struct vs_textb *t, uint64_t row, const char *doc, size_t len,
                 struct vs_diag *d)
{
    json_error_t je;
    json_t *j = json_loadb(doc, len, 0, &je);
    if (!j)
        return vs_diag_set(d, VS_E_CORRUPT, "a stored doc is not JSON");
    json_t *v = json_object_get(j, t->field);
    int st = VS_OK;
    if (json_is_string(v))
        st = vs_bm25_builder_add(t->b, row, json_string_value(v),
                                 json_string_length(v), d);
    json_decref(j);
    return st;
}

int vs_textb_finish(struct vs_textb *t, void **buf, size_t *len,
                    struct vs_diag *d)
{
    return vs_bm25_builder_finish(t->b, buf, len, d);
}

void vs_textb_free(struct vs_textb *t)
{
    if (!t)
        return;
    vs_bm25_builder_free(t->b);
    free(t);
}

