/* store_text.c: BM25 search over a store (vs_store_text.h), on the BM25
 * sections of its segments (built by segment_index.c). */
#include "vs_store_text.h"

#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "store_text_internal.h"
#include "vs_analyzer.h"

/* ---------------------------------------------------------------- search */

struct vs_store_text {
    struct vs_store *s;
    char analyzer[192];
    struct vs_analyzer *an;
    size_t nseg, nviews;
    struct vs_bm25 **ix;        /* per segment, NULL without a section */
    struct vs_bm25_view *views; /* the segments with a section */
    size_t *vseg;               /* view -> segment */
    size_t *segview;            /* segment -> view, or SIZE_MAX */
    uint64_t **bits;            /* per view: allow bitmap scratch */
    struct vs_bm25_scratch *scratch;
    struct vs_bm25_hit *hits;
    size_t hitcap;
    uint64_t docs;
};

void vs_store_text_close(struct vs_store_text *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nseg; i++)
        if (t->ix)
            vs_bm25_close(t->ix[i]);
    for (size_t v = 0; t->bits && v < t->nviews; v++)
        free(t->bits[v]);
    free(t->bits);
    free(t->ix);
    free(t->views);
    free(t->vseg);
    free(t->segview);
    free(t->hits);
    vs_bm25_scratch_free(t->scratch);
    vs_analyzer_free(t->an);
    free(t);
}

static int seg_live(const void *arg, uint64_t row)
{
    return vs_segment_live(arg, row);
}

int vs_store_text_open(struct vs_store *s, struct vs_store_text **out,
                       struct vs_diag *d)
{
    *out = NULL;
    struct vs_store_text *t = calloc(1, sizeof *t);
    int st = VS_OK;
    if (!t)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    t->s = s;
    const struct vs_store_settings *ss = vs_store_settings(s);
    t->nseg = vs_store_nsegments(s);
    size_t n = t->nseg ? t->nseg : 1;
    t->ix = calloc(n, sizeof *t->ix);
    t->views = calloc(n, sizeof *t->views);
    t->vseg = calloc(n, sizeof *t->vseg);
    t->segview = calloc(n, sizeof *t->segview);
    t->bits = calloc(n, sizeof *t->bits);
    t->scratch = vs_bm25_scratch_new();
    if (!t->ix || !t->views || !t->vseg || !t->segview || !t->bits || !t->scratch) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < t->nseg; i++)
        t->segview[i] = SIZE_MAX;
    if (!ss->analyzer[0]) {
        *out = t;
        return VS_OK;
    }
    if ((st = vs_analyzer_new(ss->analyzer, &t->an, d)) != VS_OK)
        goto fail;
    snprintf(t->analyzer, sizeof t->analyzer, "%s", vs_analyzer_id(t->an));
    for (size_t i = 0; i < t->nseg; i++) {
        struct vs_segment *g = vs_store_segment(s, i);
        void *buf;
        size_t len;
        st = vs_seg_section(g, VS_SECT_BM25, &buf, &len, d);
        if (st == VS_E_NOTFOUND) {
            st = VS_OK;
            continue;
        }
        if (st != VS_OK)
            goto fail;
        if ((st = vs_bm25_open(buf, len, VS_BM25_OWN, &t->ix[i], d)) != VS_OK) {
            free(buf);
            vs_diag_where(d, g->path, 0);
            goto fail;
        }
        if (strcmp(vs_bm25_analyzer(t->ix[i]), t->analyzer) != 0) {
            vs_diag_where(d, g->path, 0);
            st = vs_diag_set(d, VS_E_CORRUPT,
                             "section 'bm25': analyzer '%s' is not the store's '%s'",
                             vs_bm25_analyzer(t->ix[i]), t->analyzer);
            goto fail;
        }
        size_t v = t->nviews++;
        t->views[v] = (struct vs_bm25_view){t->ix[i], NULL, seg_live, g, NULL};
        t->vseg[v] = i;
        t->segview[i] = v;
        t->docs += vs_bm25_docs(t->ix[i]);
    }
    *out = t;
    return VS_OK;
fail:
    vs_store_text_close(t);
    return st;
}

const char *vs_store_text_analyzer(const struct vs_store_text *t) { return t->analyzer; }
uint64_t vs_store_text_docs(const struct vs_store_text *t) { return t->docs; }
size_t vs_store_text_segments(const struct vs_store_text *t) { return t->nviews; }

/* Point each view's filter at a bitmap made from allow (or at none). */
static int set_filters(struct vs_store_text *t, const uint8_t *const *allow,
                       struct vs_diag *d)
{
    for (size_t v = 0; v < t->nviews; v++) {
        size_t sg = t->vseg[v];
        if (!allow || !allow[sg]) {
            t->views[v].filter = NULL;
            continue;
        }
        uint64_t rows = vs_bm25_rows(t->ix[sg]);
        uint64_t srows = vs_segment_rows(vs_store_segment(t->s, sg));
        if (!t->bits[v] && !(t->bits[v] = malloc(((rows + 63) / 64 + 1) * 8)))
            return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        memset(t->bits[v], 0, ((rows + 63) / 64 + 1) * 8);
        for (uint64_t r = 0; r < rows && r < srows; r++)
            if (allow[sg][r])
                t->bits[v][r >> 6] |= (uint64_t)1 << (r & 63);
        t->views[v].filter = t->bits[v];
    }
    return VS_OK;
}

int vs_store_text_search(struct vs_store_text *t, const char *query,
                         const struct vs_bm25_params *p,
                         const uint8_t *const *allow, size_t k,
                         struct vs_store_text_hit *hits, size_t *nhits,
                         struct vs_diag *d)
{
    *nhits = 0;
    if (!t->an || t->nviews == 0 || k == 0)
        return VS_OK;
    struct vs_bm25_query *bq = NULL;
    int st = vs_bm25_query_parse(t->an, query, &bq, d);
    if (st != VS_OK)
        return st;
    if (k > t->hitcap) {
        free(t->hits);
        t->hitcap = 0;
        if (!(t->hits = malloc(k * sizeof *t->hits))) {
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            goto done;
        }
        t->hitcap = k;
    }
    size_t n = 0;
    if ((st = set_filters(t, allow, d)) != VS_OK ||
        (st = vs_bm25_search(t->views, t->nviews, bq, p, k, t->scratch, t->hits, &n,
                             NULL, d)) != VS_OK)
        goto done;
    for (size_t i = 0; i < n; i++)
        hits[i] = (struct vs_store_text_hit){t->vseg[t->hits[i].view], t->hits[i].row,
                                             t->hits[i].score};
    *nhits = n;
done:
    vs_bm25_query_free(bq);
    return st;
}

static int explain_term(void *arg, const char *label, int required, uint32_t tf,
                        double score)
{
    json_t *a = arg;
    json_t *o = json_pack("{s:s,s:I,s:f}", "term", label, "tf", (json_int_t)tf,
                          "score", score);
    if (!o)
        return VS_E_NOMEM;
    if (required)
        json_object_set_new(o, "required", json_true());
    return json_array_append_new(a, o) == 0 ? VS_OK : VS_E_NOMEM;
}

int vs_store_text_explain(struct vs_store_text *t, const char *query,
                          const struct vs_bm25_params *p, size_t seg,
                          uint64_t row, json_t **terms, struct vs_diag *d)
{
    *terms = json_array();
    if (!*terms)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    if (!t->an || seg >= t->nseg || t->segview[seg] == SIZE_MAX)
        return VS_OK;
    struct vs_bm25_query *bq = NULL;
    int st = vs_bm25_query_parse(t->an, query, &bq, d);
    if (st == VS_OK) {
        for (size_t v = 0; v < t->nviews; v++)
            t->views[v].filter = NULL;
        st = vs_bm25_explain(t->views, t->nviews, bq, p, t->segview[seg], row,
                             explain_term, *terms, d);
        if (st == VS_E_NOMEM)
            vs_diag_set(d, st, "out of memory");
    }
    vs_bm25_query_free(bq);
    if (st != VS_OK) {
        json_decref(*terms);
        *terms = NULL;
    }
    return st;
}
