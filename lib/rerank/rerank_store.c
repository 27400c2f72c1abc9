/* rerank_store.c: bm25 re-scoring with a store's analyzer and statistics
 * (vs-rerank --method bm25 --store STORE): each hit is scored as the store's
 * own BM25 search scores its stored record, by searching the store's BM25
 * sections with an allow map holding only the group's rows. */
#include "rerank_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vs_store.h"
#include "vs_store_text.h"

struct vs_rerank_store {
    struct vs_store *s;
    struct vs_store_text *tx;
    size_t nseg;
    uint8_t **allow;     /* per segment, rows bytes, all 0 between calls */
    json_t *idmap;       /* id -> seg << 40 | row of live rows, built on first use */
    struct vs_store_text_hit *hits;
    size_t cap;
    size_t *seg;         /* per hit of the group */
    uint64_t *row;
};

void vs_rerank_store_free(struct vs_rerank_store *rs)
{
    if (!rs)
        return;
    for (size_t g = 0; rs->allow && g < rs->nseg; g++)
        free(rs->allow[g]);
    free(rs->allow);
    free(rs->hits);
    free(rs->seg);
    free(rs->row);
    json_decref(rs->idmap);
    vs_store_text_close(rs->tx);
    vs_store_close(rs->s);
    free(rs);
}

int vs_rerank_store_open(const char *path, struct vs_rerank_store **out,
                         struct vs_diag *d)
{
    *out = NULL;
    struct vs_rerank_store *rs = calloc(1, sizeof *rs);
    if (!rs)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    int st;
    if ((st = vs_store_open(path, &rs->s, d)) != VS_OK ||
        (st = vs_store_text_open(rs->s, &rs->tx, d)) != VS_OK)
        goto fail;
    if (!*vs_store_text_analyzer(rs->tx)) {
        st = vs_diag_set(d, VS_E_UNSUPPORTED,
                         "store '%s' has no text index (it was made without an analyzer)",
                         path);
        goto fail;
    }
    rs->nseg = vs_store_nsegments(rs->s);
    if (!(rs->allow = calloc(rs->nseg ? rs->nseg : 1, sizeof *rs->allow)))
        goto nomem;
    for (size_t g = 0; g < rs->nseg; g++) {
        uint64_t rows = vs_segment_rows(vs_store_segment(rs->s, g));
        if (!(rs->allow[g] = calloc(rows ? rows : 1, 1)))
            goto nomem;
    }
    *out = rs;
    return VS_OK;
nomem:
    st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
fail:
    vs_rerank_store_free(rs);
    return st;
}

static int build_idmap(struct vs_rerank_store *rs, struct vs_diag *d)
{
    if (!(rs->idmap = json_object()))
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    for (size_t g = 0; g < rs->nseg; g++) {
        struct vs_segment *sg = vs_store_segment(rs->s, g);
        const char *const *ids;
        int st = vs_segment_ids(sg, &ids, d);
        if (st != VS_OK)
            return st;
        for (uint64_t r = 0; r < vs_segment_rows(sg); r++)
            if (vs_segment_live(sg, r) &&
                json_object_set_new(rs->idmap, ids[r],
                                    json_integer((json_int_t)((uint64_t)g << 40 | r))) != 0)
                return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    }
    return VS_OK;
}

int vs_rerank_store_check(struct vs_rerank_store *rs, const char *id,
                          struct vs_diag *d)
{
    int st;
    if (!rs->idmap && (st = build_idmap(rs, d)) != VS_OK) {
        json_decref(rs->idmap);
        rs->idmap = NULL;
        return st;
    }
    if (json_object_get(rs->idmap, id))
        return VS_OK;
    vs_diag_field(d, "id");
    return vs_diag_set(d, VS_E_DATA, "hit '%s' is not a live record of store '%s'", id,
                       vs_store_path(rs->s));
}

int vs_rerank_store_score(struct vs_rerank_store *rs, const char *query,
                          const char *const *ids, size_t n,
                          const struct vs_bm25_params *p, double *scores,
                          struct vs_diag *d)
{
    int st = VS_OK;
    size_t nh = 0;
    if (n == 0)
        return VS_OK;
    if (!rs->idmap && (st = build_idmap(rs, d)) != VS_OK) {
        json_decref(rs->idmap);
        rs->idmap = NULL;
        return st;
    }
    if (n > rs->cap) {
        struct vs_store_text_hit *h = realloc(rs->hits, n * sizeof *h);
        if (h)
            rs->hits = h;
        size_t *sg = realloc(rs->seg, n * sizeof *sg);
        if (sg)
            rs->seg = sg;
        uint64_t *rw = realloc(rs->row, n * sizeof *rw);
        if (rw)
            rs->row = rw;
        if (!h || !sg || !rw)
            return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        rs->cap = n;
    }
    size_t i = 0;
    for (; i < n; i++) {
        const json_t *v = json_object_get(rs->idmap, ids[i] ? ids[i] : "");
        if (!v) {
            vs_diag_field(d, "id");
            st = vs_diag_set(d, VS_E_DATA, "hit '%s' is not a live record of store '%s'",
                             ids[i] ? ids[i] : "", vs_store_path(rs->s));
            goto done;
        }
        uint64_t x = (uint64_t)json_integer_value(v);
        rs->seg[i] = (size_t)(x >> 40);
        rs->row[i] = x & (((uint64_t)1 << 40) - 1);
        rs->allow[rs->seg[i]][rs->row[i]] = 1;
        scores[i] = 0;
    }
    st = vs_store_text_search(rs->tx, query, p, (const uint8_t *const *)rs->allow, n,
                              rs->hits, &nh, d);
    for (size_t j = 0; st == VS_OK && j < nh; j++)
        for (size_t h = 0; h < n; h++) /* n is a group's size: small */
            if (rs->seg[h] == rs->hits[j].seg && rs->row[h] == rs->hits[j].row)
                scores[h] = rs->hits[j].score;
done:
    for (size_t h = 0; h < i; h++)
        rs->allow[rs->seg[h]][rs->row[h]] = 0;
    return st;
}
