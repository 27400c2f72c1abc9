/* query_text.c: text, hybrid and MMR search around the vector search of
 * query.c (vs_query_text.h). */
#include "vs_query_text.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query_internal.h"
#include "query_scan_internal.h"
#include "vs_filter.h"
#include "vs_jsonfmt.h"
#include "vs_mmr.h"
#include "vs_ndjson.h"
#include "vs_store_text.h"

struct tpend {
    json_t *qid;              /* string; NULL: qlen bytes at qoff of the qid arena */
    size_t qoff, qlen;
    size_t k;
    enum vs_qmode mode;       /* resolved: vector, text or hybrid */
    char *text;               /* the query text (text, hybrid) */
    json_t *qtext;            /* the record's "text" string (carry_query), or NULL */
    struct vs_filter *filter; /* the record's own filter */
    long vidx;                /* index in the vector batch, -1: none */
    json_t *vhits;            /* the vector side's hit records */
    json_t *vempty;           /* its "hits": 0 record (explain) */
};

struct vs_qtext {
    struct vs_store *s;
    struct vs_query_opts qo;
    struct vs_qtext_opts o;
    struct vs_query *vq;
    struct vs_store_text *tx;
    int tx_borrowed;   /* tx is a sibling's (vs_qtext_sibling) */
    int has_text;
    struct vs_filter *gfilter;
    struct tpend *pend;
    size_t npend, nvec;
    const char **qids; /* batch: the qids of a plain batch (vs_qtext_run_text) */
    size_t *qlens;
    int scan;          /* records without text are vector queries: scan them */
    struct vs_query_scanned scanned; /* the record vs_qtext_scan_line read */
    struct vs_buf qarena;            /* the qids of scanned records */
    size_t nseg;
    json_t ***docs;   /* per segment, per row: cached docs (filters) */
    uint8_t **gallow; /* per segment: the global filter (live rows) */
    uint8_t **qallow; /* per segment: a record's filter (scratch) */
    struct vs_store_text_hit *thits;
    size_t thitcap;
    json_t *idmap;    /* id -> seg << 40 | row, built for explain */
    uint64_t shortfalls;
    uint64_t text_only;       /* auto-mode queries searched by BM25 alone */
    char text_only_why[1024]; /* why their text could not be embedded */
};

const char *vs_qmode_name(enum vs_qmode m)
{
    switch (m) {
    case VS_QMODE_VECTOR: return "vector";
    case VS_QMODE_TEXT: return "text";
    case VS_QMODE_HYBRID: return "hybrid";
    default: return "auto";
    }
}

int vs_qmode_parse(const char *name, enum vs_qmode *out)
{
    static const char *names[] = {"auto", "vector", "text", "hybrid"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (enum vs_qmode)i;
            return VS_OK;
        }
    return VS_E_USAGE;
}

const char *const vs_qtext_opt_keys[] = {"mode", "fusion", "rrf_k", "alpha", "k1", "b",
                                          "candidates", "mmr", "group_by", NULL};

static int opt_number(const json_t *o, const char *key, double lo, double hi, int open_lo,
                      double *out, struct vs_diag *d)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return VS_OK;
    double x = json_number_value(v);
    if (!json_is_number(v) || !(open_lo ? x > lo : x >= lo) || !(x <= hi)) {
        vs_diag_field(d, "%s", key);
        return vs_diag_set(d, VS_E_FIELD, "must be a number %s %g and <= %g",
                           open_lo ? ">" : ">=", lo, hi);
    }
    *out = x;
    return VS_OK;
}

int vs_qtext_opts_from_json(const json_t *o, struct vs_qtext_opts *to, struct vs_diag *d)
{
    json_t *v;
    int st;
    if ((v = json_object_get(o, "mode")) &&
        (!json_is_string(v) || vs_qmode_parse(json_string_value(v), &to->mode) != VS_OK)) {
        vs_diag_field(d, "mode");
        return vs_diag_set(d, VS_E_FIELD, "must be vector, text, hybrid or auto");
    }
    if ((v = json_object_get(o, "fusion")) &&
        (!json_is_string(v) ||
         vs_fuse_method_parse(json_string_value(v), &to->fuse.method) != VS_OK)) {
        vs_diag_field(d, "fusion");
        return vs_diag_set(d, VS_E_FIELD, "must be rrf, weighted or dbsf");
    }
    double cand = 0;
    if ((st = opt_number(o, "rrf_k", 0, 1e9, 1, &to->fuse.rrf_k, d)) != VS_OK ||
        (st = opt_number(o, "alpha", 0, 1, 0, &to->fuse.alpha, d)) != VS_OK ||
        (st = opt_number(o, "k1", 0, 1000, 0, &to->bm25.k1, d)) != VS_OK ||
        (st = opt_number(o, "b", 0, 1, 0, &to->bm25.b, d)) != VS_OK ||
        (st = opt_number(o, "mmr", 0, 1, 0, &to->mmr, d)) != VS_OK ||
        (st = opt_number(o, "candidates", 1, VS_QUERY_K_MAX, 0, &cand, d)) != VS_OK)
        return st;
    if ((v = json_object_get(o, "candidates"))) {
        if (!json_is_integer(v)) {
            vs_diag_field(d, "candidates");
            return vs_diag_set(d, VS_E_FIELD, "must be an integer from 1 to %d", VS_QUERY_K_MAX);
        }
        to->depth = (size_t)cand;
    }
    if ((v = json_object_get(o, "group_by"))) {
        if (!json_is_string(v) || !json_string_length(v) ||
            strcmp(json_string_value(v), "metadata.") == 0) {
            vs_diag_field(d, "group_by");
            return vs_diag_set(d, VS_E_FIELD, "must name a stored field (doc_id) or "
                                              "metadata.NAME");
        }
        to->group_by = json_string_value(v);
    }
    return VS_OK;
}

void vs_qtext_opts_init(struct vs_qtext_opts *o)
{
    memset(o, 0, sizeof *o);
    o->mode = VS_QMODE_AUTO;
    vs_fuse_opts_init(&o->fuse);
    o->bm25.k1 = VS_BM25_K1_DEFAULT;
    o->bm25.b = VS_BM25_B_DEFAULT;
    o->mmr = -1;
}

static void pend_clear(struct tpend *p)
{
    json_decref(p->qid);
    json_decref(p->qtext);
    free(p->text);
    vs_filter_free(p->filter);
    json_decref(p->vhits);
    json_decref(p->vempty);
    memset(p, 0, sizeof *p);
}

void vs_qtext_free(struct vs_qtext *t)
{
    if (!t)
        return;
    for (size_t i = 0; t->pend && i < t->npend; i++)
        pend_clear(&t->pend[i]);
    for (size_t g = 0; g < t->nseg; g++) {
        if (t->docs && t->docs[g]) {
            uint64_t rows = vs_segment_rows(vs_store_segment(t->s, g));
            for (uint64_t r = 0; r < rows; r++)
                json_decref(t->docs[g][r]);
            free(t->docs[g]);
        }
        if (t->gallow)
            free(t->gallow[g]);
        if (t->qallow)
            free(t->qallow[g]);
    }
    free(t->docs);
    free(t->gallow);
    free(t->qallow);
    free(t->pend);
    free(t->qids);
    free(t->qlens);
    vs_buf_release(&t->qarena);
    free(t->thits);
    json_decref(t->idmap);
    vs_filter_free(t->gfilter);
    if (!t->tx_borrowed)
        vs_store_text_close(t->tx);
    vs_query_free(t->vq);
    free(t);
}

/* vs_qtext_new; with from not NULL, a sibling of from on slot. */
static int qtext_new(struct vs_store *s, const struct vs_query_opts *qo,
                     const struct vs_qtext_opts *to, const struct vs_qtext *from, int slot,
                     struct vs_qtext **out, struct vs_diag *d)
{
    *out = NULL;
    struct vs_qtext *t = calloc(1, sizeof *t);
    if (!t)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    t->s = s;
    t->qo = *qo;
    if (t->qo.k == 0)
        t->qo.k = 10;
    if (t->qo.batch == 0)
        t->qo.batch = 1;
    t->o = *to;
    int st;
    if (to->mmr > 1 || (to->mmr < 0 && to->mmr != -1) || isnan(to->mmr)) {
        st = vs_diag_set(d, VS_E_USAGE, "mmr lambda must be in [0, 1]");
        goto fail;
    }
    if (to->group_by && (!to->group_by[0] || strcmp(to->group_by, "metadata.") == 0 ||
                         strchr(to->group_by, '\n'))) {
        st = vs_diag_set(d, VS_E_USAGE,
                         "group-by '%.200s': give a stored field name (doc_id) or "
                         "metadata.NAME", to->group_by);
        goto fail;
    }
    if (from) {
        if ((st = vs_query_sibling(from->vq, slot, &t->vq, d)) != VS_OK)
            goto fail;
        t->tx = from->tx;
        t->tx_borrowed = 1;
    } else if ((st = vs_query_new(s, qo, &t->vq, d)) != VS_OK ||
               /* vector mode never searches text (explain may read the
                * terms): the BM25 sections are not decoded (100k docs'
                * took ~13% of the instructions of a 1000-query search
                * through the Python package) */
               ((to->mode != VS_QMODE_VECTOR || qo->explain) &&
                (st = vs_store_text_open(s, &t->tx, d)) != VS_OK)) {
        goto fail;
    }
    if (qo->filter && (st = vs_filter_compile(qo->filter, &t->gfilter, d)) != VS_OK)
        goto fail;
    t->has_text = t->tx && vs_store_text_segments(t->tx) > 0;
    t->scan = (to->mode == VS_QMODE_AUTO || to->mode == VS_QMODE_VECTOR) && to->mmr < 0 &&
              !to->group_by;
    if ((to->mode == VS_QMODE_TEXT || to->mode == VS_QMODE_HYBRID) &&
        !vs_store_text_analyzer(t->tx)[0]) {
        vs_diag_where(d, vs_store_path(s), 0);
        st = vs_diag_set(d, VS_E_UNSUPPORTED,
                         "--mode %s: the store has no text index (it was made without an "
                         "analyzer; re-ingest into a new store to get one)",
                         vs_qmode_name(to->mode));
        goto fail;
    }
    t->nseg = vs_store_nsegments(s);
    size_t n = t->nseg ? t->nseg : 1;
    t->pend = calloc(t->qo.batch, sizeof *t->pend);
    t->qids = calloc(t->qo.batch, sizeof *t->qids);
    t->qlens = calloc(t->qo.batch, sizeof *t->qlens);
    t->docs = calloc(n, sizeof *t->docs);
    t->qallow = calloc(n, sizeof *t->qallow);
    if (!t->pend || !t->qids || !t->qlens || !t->docs || !t->qallow) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto fail;
    }
    *out = t;
    return VS_OK;
fail:
    vs_qtext_free(t);
    return st;
}

int vs_qtext_new(struct vs_store *s, const struct vs_query_opts *qo,
                 const struct vs_qtext_opts *to, struct vs_qtext **out,
                 struct vs_diag *d)
{
    return qtext_new(s, qo, to, NULL, -1, out, d);
}

int vs_qtext_sibling(const struct vs_qtext *t, int slot, struct vs_qtext **out,
                     struct vs_diag *d)
{
    return qtext_new(t->s, &t->qo, &t->o, t, slot, out, d);
}

int vs_qtext_slots(const struct vs_qtext *t) { return vs_query_slots(t->vq); }
void vs_qtext_set_slot(struct vs_qtext *t, int slot) { vs_query_set_slot(t->vq, slot); }

void vs_qtext_absorb(struct vs_qtext *t, struct vs_qtext *from)
{
    vs_query_absorb(t->vq, from->vq);
    t->shortfalls += from->shortfalls;
    if (!t->text_only && from->text_only)
        memcpy(t->text_only_why, from->text_only_why, sizeof t->text_only_why);
    t->text_only += from->text_only;
    from->shortfalls = from->text_only = 0;
}

size_t vs_qtext_pending(const struct vs_qtext *t) { return t->npend; }
int vs_qtext_full(const struct vs_qtext *t) { return t->npend >= t->qo.batch; }
struct vs_query *vs_qtext_vector(struct vs_qtext *t) { return t->vq; }
uint64_t vs_qtext_shortfalls(const struct vs_qtext *t) { return t->shortfalls; }
uint64_t vs_qtext_text_only(const struct vs_qtext *t, const char **why)
{
    if (why)
        *why = t->text_only_why;
    return t->text_only;
}

static size_t depth_of(const struct vs_qtext *t, size_t k)
{
    size_t dp = t->o.depth ? t->o.depth : VS_QTEXT_DEPTH_DEFAULT;
    if (!t->o.depth && t->o.group_by && k * 10 > dp) /* several chunks per group */
        dp = k * 10;
    return dp > k ? dp : k;
}

static int field_error(struct vs_diag *d, int st, const char *field,
                       const char *detail)
{
    vs_diag_field(d, "%s", field);
    return vs_diag_set(d, st, "%s", detail);
}

int vs_qtext_add(struct vs_qtext *t, const json_t *rec, struct vs_diag *d)
{
    if (t->npend >= t->qo.batch)
        return vs_diag_set(d, VS_E_INTERNAL, "query batch is full");
    struct tpend *p = &t->pend[t->npend];
    memset(p, 0, sizeof *p);
    p->vidx = -1;
    int st = VS_OK;
    st = vs_query_record_id_k(rec, t->qo.k, &p->qid, &p->k, d);
    if (st != VS_OK)
        goto fail;
    json_t *jt = json_object_get(rec, "text");
    int has_text = json_is_string(jt);
    int has_vec = json_object_get(rec, "vector") || json_object_get(rec, "vector_b64");
    enum vs_qmode m = t->o.mode;
    if (m == VS_QMODE_AUTO)
        m = t->has_text && has_text ? VS_QMODE_HYBRID : VS_QMODE_VECTOR;
    if ((m == VS_QMODE_TEXT || m == VS_QMODE_HYBRID) && !has_text) {
        st = field_error(d, VS_E_FIELD, "text",
                         jt ? "must be a string" : "is missing (text and hybrid search need it)");
        goto fail;
    }
    if (m != VS_QMODE_VECTOR) {
        json_t *jf = json_object_get(rec, "filter");
        if (jf && !json_is_null(jf)) {
            struct vs_diag fd;
            vs_diag_clear(&fd);
            if (!json_is_string(jf)) {
                st = field_error(d, VS_E_FIELD, "filter", "must be a string");
                goto fail;
            }
            if ((st = vs_filter_compile(json_string_value(jf), &p->filter, &fd)) != VS_OK) {
                vs_diag_field(d, "filter");
                st = vs_diag_set(d, st == VS_E_FILTER ? VS_E_FIELD : st, "%s", fd.detail);
                goto fail;
            }
        }
        if (!(p->text = strdup(json_string_value(jt)))) {
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            goto fail;
        }
    }
    if (m == VS_QMODE_VECTOR || m == VS_QMODE_HYBRID) {
        /* the vector side: the record under the batch index, depth hits */
        json_t *vr = json_copy((json_t *)(uintptr_t)rec);
        if (!vr) {
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            goto fail;
        }
        json_object_set_new(vr, "id", json_integer((json_int_t)t->nvec));
        if (m != VS_QMODE_VECTOR || t->o.mmr >= 0 || t->o.group_by)
            json_object_set_new(vr, "k", json_integer((json_int_t)depth_of(t, p->k)));
        struct vs_diag vd;
        vs_diag_clear(&vd);
        st = vs_query_add(t->vq, vr, &vd);
        json_decref(vr);
        if (st != VS_OK) {
            /* auto mode: a text the store's model cannot embed: text only */
            if (t->o.mode == VS_QMODE_AUTO && m == VS_QMODE_HYBRID && !has_vec &&
                st == VS_E_FIELD && strcmp(vd.field, "vector") == 0) {
                m = VS_QMODE_TEXT;
                st = VS_OK;
                if (t->text_only++ == 0)
                    snprintf(t->text_only_why, sizeof t->text_only_why, "%s%.64s%s%.900s",
                             vd.field[0] ? "field '" : "", vd.field,
                             vd.field[0] ? "' " : "", vd.detail);
            } else {
                if (strcmp(vd.field, "k") == 0 && json_object_get(rec, "k") == NULL)
                    snprintf(vd.field, sizeof vd.field, "id");
                *d = vd;
                goto fail;
            }
        } else
            p->vidx = (long)t->nvec++;
    }
    if (t->o.carry_query && has_text)
        p->qtext = json_incref(jt);
    p->mode = m;
    t->npend++;
    return VS_OK;
fail:
    pend_clear(p);
    return st;
}

int vs_qtext_scan_line(const char *line, size_t len, void *arg)
{
    struct vs_qtext *t = arg;
    return t->scan && t->npend < t->qo.batch &&
           vs_query_scan_next(t->vq, line, len, &t->scanned);
}

int vs_qtext_add_scanned(struct vs_qtext *t, struct vs_diag *d)
{
    struct tpend *p = &t->pend[t->npend];
    memset(p, 0, sizeof *p);
    p->qoff = t->qarena.len;
    p->qlen = t->scanned.qlen;
    if (vs_buf_put(&t->qarena, t->scanned.qid, t->scanned.qlen) != VS_OK)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    vs_query_add_scanned(t->vq, t->scanned.k);
    p->k = t->scanned.k ? t->scanned.k : t->qo.k;
    p->mode = VS_QMODE_VECTOR;
    p->vidx = (long)t->nvec++;
    t->npend++;
    return VS_OK;
}

/* ---- filters on the text side ---- */

static int load_docs(struct vs_qtext *t, struct vs_diag *d)
{
    for (size_t g = 0; g < t->nseg; g++) {
        struct vs_segment *sg = vs_store_segment(t->s, g);
        uint64_t rows = vs_segment_rows(sg);
        if (t->docs[g])
            continue;
        if (!(t->docs[g] = calloc(rows ? rows : 1, sizeof(json_t *))))
            return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        for (uint64_t r = 0; r < rows; r++) {
            if (!vs_segment_live(sg, r))
                continue;
            int st = vs_segment_doc(sg, r, &t->docs[g][r], d);
            if (st != VS_OK)
                return st;
        }
    }
    return VS_OK;
}

/* allow maps for a record filter f (may be NULL) ANDed with the global one;
 * *out NULL when there is no filter at all. */
static int allow_maps(struct vs_qtext *t, const struct vs_filter *f,
                      const uint8_t *const **out, struct vs_diag *d)
{
    *out = NULL;
    if (!f && !t->gfilter)
        return VS_OK;
    int st = load_docs(t, d);
    if (st != VS_OK)
        return st;
    if (t->gfilter && !t->gallow) {
        if (!(t->gallow = calloc(t->nseg ? t->nseg : 1, sizeof *t->gallow)))
            return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        for (size_t g = 0; g < t->nseg; g++) {
            uint64_t rows = vs_segment_rows(vs_store_segment(t->s, g));
            if (!(t->gallow[g] = calloc(rows ? rows : 1, 1)))
                return vs_diag_set(d, VS_E_NOMEM, "out of memory");
            for (uint64_t r = 0; r < rows; r++)
                t->gallow[g][r] = t->docs[g][r] && vs_filter_match(t->gfilter, t->docs[g][r]);
        }
    }
    if (!f) {
        *out = (const uint8_t *const *)t->gallow;
        return VS_OK;
    }
    for (size_t g = 0; g < t->nseg; g++) {
        uint64_t rows = vs_segment_rows(vs_store_segment(t->s, g));
        if (!t->qallow[g] && !(t->qallow[g] = calloc(rows ? rows : 1, 1)))
            return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        for (uint64_t r = 0; r < rows; r++)
            t->qallow[g][r] = t->docs[g][r] && (!t->gallow || t->gallow[g][r]) &&
                              vs_filter_match(f, t->docs[g][r]);
    }
    *out = (const uint8_t *const *)t->qallow;
    return VS_OK;
}

/* ---- running ---- */

static int collect(const json_t *hit, void *arg)
{
    struct vs_qtext *t = arg;
    const char *qs = json_string_value(json_object_get(hit, "qid"));
    long idx = qs ? strtol(qs, NULL, 10) : -1;
    for (size_t i = 0; i < t->npend; i++) {
        struct tpend *p = &t->pend[i];
        if (p->vidx != idx)
            continue;
        if (!json_object_get(hit, "id")) {
            json_decref(p->vempty);
            p->vempty = json_copy((json_t *)(uintptr_t)hit);
            return p->vempty ? VS_OK : VS_E_NOMEM;
        }
        if (!p->vhits && !(p->vhits = json_array()))
            return VS_E_NOMEM;
        json_t *c = json_copy((json_t *)(uintptr_t)hit);
        return c && json_array_append_new(p->vhits, c) == 0 ? VS_OK : VS_E_NOMEM;
    }
    return VS_OK;
}

/* One candidate of the final list. */
struct cand {
    const char *id;
    double score;
    double sv, st; /* side scores (NAN when absent) */
    size_t rv, rt; /* side ranks, 0 when absent */
    json_t *vhit;  /* the vector side's hit (borrowed), or NULL */
    long seg;      /* text side: segment and row; -1 when unknown */
    uint64_t row;
    double mmr;
};

static int find_row(struct vs_qtext *t, const char *id, long *seg, uint64_t *row,
                    struct vs_diag *d)
{
    if (!t->idmap) {
        if (!(t->idmap = json_object()))
            return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        for (size_t g = 0; g < t->nseg; g++) {
            struct vs_segment *sg = vs_store_segment(t->s, g);
            const char *const *ids;
            int st = vs_segment_ids(sg, &ids, d);
            if (st != VS_OK)
                return st;
            for (uint64_t r = 0; r < vs_segment_rows(sg); r++)
                if (vs_segment_live(sg, r))
                    json_object_set_new(t->idmap, ids[r],
                                        json_integer((json_int_t)((uint64_t)g << 40 | r)));
        }
    }
    json_t *v = json_object_get(t->idmap, id);
    if (!v) {
        *seg = -1;
        return VS_OK;
    }
    uint64_t x = (uint64_t)json_integer_value(v);
    *seg = (long)(x >> 40);
    *row = x & (((uint64_t)1 << 40) - 1);
    return VS_OK;
}

/* Emit hit h (owned by the caller, changed here) of query p, with the
 * query text (carry_query) and the stored vector (with_vectors) added. */
static int emit_hit(struct vs_qtext *t, const struct tpend *p, json_t *h,
                    int (*emit)(const json_t *, void *), void *arg, struct vs_diag *d)
{
    if (t->o.carry_query && p->qtext && json_object_set(h, "query", p->qtext) != 0)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    if (t->o.with_vectors) {
        json_t *rec;
        const char *id = json_string_value(json_object_get(h, "id"));
        int st = vs_store_get(t->s, id ? id : "", &rec, d);
        if (st != VS_OK)
            return st;
        json_t *v = json_object_get(rec, "vector"); /* vs_store_get sets it */
        st = v && json_object_set(h, "vector", v) == 0
                 ? VS_OK
                 : vs_diag_set(d, VS_E_NOMEM, "out of memory");
        json_decref(rec);
        if (st != VS_OK)
            return st;
    }
    return emit(h, arg);
}

/* The group of candidate x: the value of the stored field group_by
 * ("doc_id", "metadata.NAME") as a string key; a record without the field
 * is a group of its own (keyed by its id, with a prefix no value has). */
static int group_key(struct vs_qtext *t, struct cand *x, char *key, size_t size,
                     struct vs_diag *d)
{
    int st;
    if (x->seg < 0 && (st = find_row(t, x->id, &x->seg, &x->row, d)) != VS_OK)
        return st;
    json_t *v = NULL, *doc = NULL;
    if (x->seg >= 0) {
        if ((st = vs_segment_doc(vs_store_segment(t->s, (size_t)x->seg), x->row, &doc, d)) !=
            VS_OK)
            return st;
        const char *f = t->o.group_by;
        if (strncmp(f, "metadata.", 9) == 0)
            v = json_object_get(json_object_get(doc, "metadata"), f + 9);
        else
            v = json_object_get(doc, f);
    }
    if (!v || json_is_null(v))
        snprintf(key, size, "\001%s", x->id);
    else if (json_is_string(v))
        snprintf(key, size, "s%s", json_string_value(v));
    else {
        char *js = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!js) {
            json_decref(doc);
            return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        }
        snprintf(key, size, "j%s", js);
        free(js);
    }
    json_decref(doc);
    return VS_OK;
}

/* Keep the first (best) candidate of each group, in order. */
static int group_cands(struct vs_qtext *t, struct cand *c, size_t *nc, struct vs_diag *d)
{
    json_t *seen = json_object();
    if (!seen)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    size_t n = 0;
    int st = VS_OK;
    for (size_t j = 0; j < *nc; j++) {
        char key[1024];
        if ((st = group_key(t, &c[j], key, sizeof key, d)) != VS_OK)
            break;
        if (json_object_get(seen, key))
            continue;
        if (json_object_set_new(seen, key, json_true()) != 0) {
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            break;
        }
        c[n++] = c[j];
    }
    json_decref(seen);
    if (st == VS_OK)
        *nc = n;
    return st;
}

static json_t *num_or_null(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}

static int emit_query(struct vs_qtext *t, struct tpend *p,
                      int (*emit)(const json_t *, void *), void *arg,
                      uint64_t *nh, uint64_t *ne, struct vs_diag *d)
{
    int st = VS_OK;
    size_t nv = p->vhits ? json_array_size(p->vhits) : 0;
    if (p->mode == VS_QMODE_VECTOR && t->o.mmr < 0 && !t->o.group_by) {
        /* plain vector search: the hits as they are */
        if (nv == 0 && p->vempty) {
            json_object_set(p->vempty, "qid", p->qid);
            st = emit(p->vempty, arg);
        }
        for (size_t j = 0; j < nv && st == VS_OK; j++) {
            json_t *h = json_array_get(p->vhits, j);
            json_object_set(h, "qid", p->qid);
            st = emit_hit(t, p, h, emit, arg, d);
        }
        *nh += nv;
        *ne += nv == 0;
        if (nv < p->k)
            t->shortfalls++;
        return st;
    }
    size_t depth = depth_of(t, p->k);
    size_t nt = 0;
    struct cand *c = NULL;
    struct vs_fuse_item *vi = NULL, *ti = NULL;
    struct vs_fuse_result *fr = NULL;
    size_t nfr = 0, nc = 0;
    float *vecs = NULL;
    double *rel = NULL, *mm = NULL;
    size_t *order = NULL;
    if (p->mode != VS_QMODE_VECTOR) {
        const uint8_t *const *allow;
        if ((st = allow_maps(t, p->filter, &allow, d)) != VS_OK)
            goto done;
        if (depth > t->thitcap) {
            free(t->thits);
            t->thitcap = 0;
            if (!(t->thits = malloc(depth * sizeof *t->thits))) {
                st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
                goto done;
            }
            t->thitcap = depth;
        }
        if ((st = vs_store_text_search(t->tx, p->text, &t->o.bm25, allow, depth,
                                       t->thits, &nt, d)) != VS_OK)
            goto done;
    }
    vi = calloc(nv + 1, sizeof *vi);
    ti = calloc(nt + 1, sizeof *ti);
    c = calloc(nv + nt + 1, sizeof *c);
    if (!vi || !ti || !c) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t j = 0; j < nv; j++) {
        json_t *h = json_array_get(p->vhits, j);
        vi[j].id = json_string_value(json_object_get(h, "id"));
        vi[j].score = json_number_value(json_object_get(h, "score"));
    }
    for (size_t j = 0; j < nt; j++) {
        /* the text hits' ids only, not every row's */
        if ((st = vs_segment_id(vs_store_segment(t->s, t->thits[j].seg), t->thits[j].row,
                                &ti[j].id, d)) != VS_OK)
            goto done;
        ti[j].score = t->thits[j].score;
    }
    struct vs_fuse_list lists[2] = {{vi, nv}, {ti, nt}};
    if (p->mode == VS_QMODE_HYBRID) {
        if ((st = vs_fuse(lists, 2, &t->o.fuse, &fr, &nfr, d)) != VS_OK)
            goto done;
        for (size_t j = 0; j < nfr; j++)
            c[nc++] = (struct cand){fr[j].id, fr[j].score, NAN, NAN, fr[j].ranks[0],
                                    fr[j].ranks[1], NULL, -1, 0, NAN};
    } else {
        const struct vs_fuse_list *l = &lists[p->mode == VS_QMODE_TEXT];
        for (size_t j = 0; j < l->n; j++)
            c[nc++] = (struct cand){l->items[j].id, l->items[j].score, NAN, NAN,
                                    p->mode == VS_QMODE_VECTOR ? j + 1 : 0,
                                    p->mode == VS_QMODE_TEXT ? j + 1 : 0, NULL, -1, 0, NAN};
    }
    for (size_t j = 0; j < nc; j++) {
        if (c[j].rv) {
            c[j].vhit = json_array_get(p->vhits, c[j].rv - 1);
            c[j].sv = vi[c[j].rv - 1].score;
        }
        if (c[j].rt) {
            c[j].st = ti[c[j].rt - 1].score;
            c[j].seg = (long)t->thits[c[j].rt - 1].seg;
            c[j].row = t->thits[c[j].rt - 1].row;
        }
    }
    if (nc > depth)
        nc = depth;
    if (t->o.group_by && (st = group_cands(t, c, &nc, d)) != VS_OK)
        goto done;
    size_t nout = nc < p->k ? nc : p->k;
    if (t->o.mmr >= 0 && nc > 0) {
        /* re-rank the candidates by MMR over their stored vectors */
        size_t dim = vs_store_settings(t->s)->dim;
        vecs = calloc(nc * (dim ? dim : 1), sizeof *vecs);
        rel = calloc(nc, sizeof *rel);
        mm = calloc(nc, sizeof *mm);
        order = calloc(nc, sizeof *order);
        if (!vecs || !rel || !mm || !order) {
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            goto done;
        }
        double lo = c[0].score, hi = c[0].score;
        for (size_t j = 0; j < nc; j++) {
            lo = c[j].score < lo ? c[j].score : lo;
            hi = c[j].score > hi ? c[j].score : hi;
            json_t *rec;
            if ((st = vs_store_get(t->s, c[j].id, &rec, d)) != VS_OK)
                goto done;
            float *v = NULL;
            size_t vd = 0;
            st = vs_record_vector(rec, &v, &vd, d);
            json_decref(rec);
            if (st != VS_OK)
                goto done;
            if (v && vd == dim)
                memcpy(vecs + j * dim, v, dim * sizeof *v);
            free(v);
        }
        for (size_t j = 0; j < nc; j++)
            rel[j] = hi > lo ? (c[j].score - lo) / (hi - lo) : 1.0;
        size_t got;
        if ((st = vs_mmr_select(vecs, nc, dim ? dim : 1, NULL, rel, t->o.mmr, p->k,
                                order, mm, &got, d)) != VS_OK)
            goto done;
        struct cand *r = calloc(got + 1, sizeof *r);
        if (!r) {
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            goto done;
        }
        for (size_t j = 0; j < got; j++) {
            r[j] = c[order[j]];
            r[j].mmr = mm[j];
        }
        free(c);
        c = r;
        nout = got;
    }
    const char *metric = vs_metric_name(vs_store_settings(t->s)->metric);
    for (size_t j = 0; j < nout && st == VS_OK; j++) {
        struct cand *x = &c[j];
        json_t *h = json_object();
        if (!h) {
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            break;
        }
        json_object_set(h, "qid", p->qid);
        json_object_set_new(h, "id", json_string(x->id));
        json_object_set_new(h, "rank", json_integer((json_int_t)j + 1));
        json_object_set_new(h, "score", json_real(x->score));
        json_object_set_new(h, "mode", json_string(vs_qmode_name(p->mode)));
        json_object_set_new(h, "score_vector", num_or_null(x->sv));
        json_object_set_new(h, "score_text", num_or_null(x->st));
        json_object_set_new(h, "rank_vector", x->rv ? json_integer((json_int_t)x->rv) : json_null());
        json_object_set_new(h, "rank_text", x->rt ? json_integer((json_int_t)x->rt) : json_null());
        if (p->mode == VS_QMODE_HYBRID) {
            const struct vs_fuse_opts *fo = &t->o.fuse;
            json_t *f = fo->method == VS_FUSE_RRF
                            ? json_pack("{s:s,s:f}", "method", "rrf", "rrf_k", fo->rrf_k)
                            : json_pack("{s:s,s:f}", "method", vs_fuse_method_name(fo->method),
                                        "alpha", fo->alpha);
            json_object_set_new(h, "fusion", f);
        } else
            json_object_set_new(h, "fusion", json_null());
        if (p->mode != VS_QMODE_VECTOR)
            json_object_set_new(h, "bm25", json_pack("{s:f,s:f}", "k1", t->o.bm25.k1,
                                                     "b", t->o.bm25.b));
        if (t->o.mmr >= 0)
            json_object_set_new(h, "mmr", json_pack("{s:f,s:f}", "lambda", t->o.mmr,
                                                    "value", x->mmr));
        if (x->vhit || p->mode != VS_QMODE_TEXT)
            json_object_set_new(h, "metric", json_string(metric));
        if (x->seg < 0 && x->vhit && !t->qo.explain) {
            /* a vector hit carries the stored doc_id, text and metadata already */
            json_t *tx = json_object_get(x->vhit, "text"), *md = json_object_get(x->vhit, "metadata");
            json_t *di = json_object_get(x->vhit, "doc_id");
            if (di)
                json_object_set(h, "doc_id", di);
            if (tx)
                json_object_set(h, "text", tx);
            if (md)
                json_object_set(h, "metadata", md);
        } else if (!t->qo.no_text || !t->qo.no_metadata || t->qo.explain) {
            if (x->seg < 0 && (st = find_row(t, x->id, &x->seg, &x->row, d)) != VS_OK) {
                json_decref(h);
                break;
            }
        }
        if ((!t->qo.no_text || !t->qo.no_metadata) &&
            !(x->seg < 0 && x->vhit && !t->qo.explain) && x->seg >= 0) {
            json_t *doc;
            if ((st = vs_segment_doc(vs_store_segment(t->s, (size_t)x->seg), x->row, &doc,
                                     d)) != VS_OK) {
                json_decref(h);
                break;
            }
            json_t *tx = json_object_get(doc, "text"), *md = json_object_get(doc, "metadata");
            json_t *di = json_object_get(doc, "doc_id");
            if (di && !json_is_null(di))
                json_object_set(h, "doc_id", di);
            if (!t->qo.no_text && tx)
                json_object_set(h, "text", tx);
            if (!t->qo.no_metadata && md)
                json_object_set(h, "metadata", md);
            json_decref(doc);
        }
        if (t->qo.explain) {
            json_t *terms = json_array();
            if (p->text && x->seg >= 0) {
                json_decref(terms);
                if ((st = vs_store_text_explain(t->tx, p->text, &t->o.bm25, (size_t)x->seg,
                                                x->row, &terms, d)) != VS_OK) {
                    json_decref(h);
                    break;
                }
            }
            json_t *e = json_object();
            json_object_set_new(e, "mode", json_string(vs_qmode_name(p->mode)));
            json_object_set_new(e, "terms", terms);
            json_object_set_new(e, "score_text", num_or_null(x->st));
            json_object_set_new(e, "score_vector", num_or_null(x->sv));
            json_object_set_new(e, "candidates", json_integer((json_int_t)depth));
            json_object_set_new(h, "explain", e);
        }
        st = emit_hit(t, p, h, emit, arg, d);
        json_decref(h);
    }
    if (st == VS_OK) {
        *nh += nout;
        *ne += nout == 0;
        if (nout < p->k)
            t->shortfalls++;
        if (nout == 0 && t->qo.explain) {
            json_t *h = json_pack("{s:O,s:i,s:{s:s,s:I}}", "qid", p->qid, "hits", 0,
                                  "explain", "mode", vs_qmode_name(p->mode), "candidates",
                                  (json_int_t)depth);
            st = h ? emit(h, arg) : vs_diag_set(d, VS_E_NOMEM, "out of memory");
            json_decref(h);
        }
    }
done:
    vs_fuse_results_free(fr, nfr);
    free(vi);
    free(ti);
    free(c);
    free(vecs);
    free(rel);
    free(mm);
    free(order);
    return st;
}

int vs_qtext_run(struct vs_qtext *t, int (*emit)(const json_t *hit, void *arg),
                 void *arg, uint64_t *nhits, uint64_t *nempty, struct vs_diag *d)
{
    uint64_t nh = 0, ne = 0;
    int st = VS_OK;
    for (size_t i = 0; i < t->npend && st == VS_OK; i++) { /* scanned records' qids */
        struct tpend *p = &t->pend[i];
        if (!p->qid && !(p->qid = json_stringn(t->qarena.p + p->qoff, p->qlen)))
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
    }
    if (t->nvec > 0 && st == VS_OK)
        st = vs_query_run(t->vq, collect, t, NULL, NULL, d);
    for (size_t i = 0; i < t->npend && st == VS_OK; i++)
        st = emit_query(t, &t->pend[i], emit, arg, &nh, &ne, d);
    for (size_t i = 0; i < t->npend; i++)
        pend_clear(&t->pend[i]);
    t->npend = 0;
    t->nvec = 0;
    t->qarena.len = 0;
    if (nhits)
        *nhits = nh;
    if (nempty)
        *nempty = ne;
    return st;
}

int vs_qtext_plain(const struct vs_qtext *t)
{
    if (t->qo.explain || t->o.mmr >= 0 || t->o.group_by || t->o.carry_query ||
        t->o.with_vectors)
        return 0;
    for (size_t i = 0; i < t->npend; i++)
        if (t->pend[i].mode != VS_QMODE_VECTOR || t->pend[i].vidx != (long)i)
            return 0;
    return 1;
}

int vs_qtext_run_text(struct vs_qtext *t,
                      int (*write)(const char *buf, size_t len, size_t nrec, void *arg),
                      void *arg, uint64_t *nhits, uint64_t *nempty, struct vs_diag *d)
{
    if (!vs_qtext_plain(t))
        return vs_diag_set(d, VS_E_INTERNAL, "vs_qtext_run_text: not a plain vector batch");
    uint64_t nh = 0, ne = 0, sf = vs_query_shortfalls(t->vq);
    int st = VS_OK;
    for (size_t i = 0; i < t->npend; i++) {
        const struct tpend *p = &t->pend[i];
        t->qids[i] = p->qid ? json_string_value(p->qid) : t->qarena.p + p->qoff;
        t->qlens[i] = p->qid ? json_string_length(p->qid) : p->qlen;
    }
    if (t->nvec > 0)
        st = vs_query_run_text(t->vq, t->qids, t->qlens, write, arg, &nh, &ne, d);
    t->shortfalls += vs_query_shortfalls(t->vq) - sf;
    for (size_t i = 0; i < t->npend; i++)
        pend_clear(&t->pend[i]);
    t->npend = 0;
    t->nvec = 0;
    t->qarena.len = 0;
    if (nhits)
        *nhits = nh;
    if (nempty)
        *nempty = ne;
    return st;
}
