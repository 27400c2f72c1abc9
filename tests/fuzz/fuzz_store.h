/* fuzz_store.h: the small stores the store-level targets start from
 * (fuzz_manifest.c; make_seeds.c writes the committed seeds from the same
 * code) and the reading every store-level target does on a fuzzed store. */
#ifndef VS_FUZZ_STORE_H
#define VS_FUZZ_STORE_H

#include <jansson.h>

#include "fuzz.h"
#include "vs_analyzer.h"
#include "vs_query_text.h"
#include "vs_store.h"

static const char *const fuzz_words[] = {
    "alpha", "beta", "gamma", "delta", "store", "segment", "vector", "query",
    "crash", "manifest", "graph", "block", "\xc3\xa9t\xc3\xa9", "x"};

/* Make a store at path: rows records of dim 4 in one commit (metric, text
 * index and HNSW as asked; hnsw needs rows >= 1000), then, when more is
 * set, a second commit of 3 records and 1 delete (a second segment and a
 * deletion file). Aborts on failure: it is the harness's own set-up. */
static void fuzz_store_make(const char *path, int rows, enum vs_metric metric,
                            int text, uint32_t hnsw_m, uint32_t quant, int more)
{
    struct vs_store_settings st = {.dim = 4, .metric = metric,
                                   .normalize = metric == VS_METRIC_COSINE};
    snprintf(st.model, sizeof st.model, "fuzz-model");
    if (text)
        snprintf(st.analyzer, sizeof st.analyzer, "%s", VS_ANALYZER_DEFAULT);
    st.hnsw_m = hnsw_m;
    st.hnsw_ef_construction = 16;
    st.hnsw_seeded = hnsw_m != 0;
    st.hnsw_seed = 7;
    st.hnsw_quant = quant;
    struct vs_writer_opts wo = {.create = &st, .wait_s = 0};
    struct vs_diag d;
    vs_diag_clear(&d);
    for (int pass = 0; pass < (more ? 2 : 1); pass++) {
        struct vs_writer *w = NULL;
        if (vs_writer_open(path, &wo, &w, &d) != VS_OK)
            goto fail;
        int n = pass ? 3 : rows, base = pass ? rows : 0;
        for (int i = 0; i < n; i++) {
            char id[32], text_[128];
            int r = base + i;
            snprintf(id, sizeof id, "doc%d", r);
            snprintf(text_, sizeof text_, "%s %s %s",
                     fuzz_words[r % 14], fuzz_words[(r * 7 + 3) % 14], fuzz_words[(r / 14) % 14]);
            float v[4] = {(float)(r % 5) + 1, (float)(r % 3) - 1, (float)(r % 7) / 7, 0.5f};
            json_t *rec = json_pack("{s:s,s:s,s:{s:i,s:s}}", "id", id, "text", text_,
                                    "metadata", "n", r, "lang", r % 2 ? "en" : "de");
            if (!rec || vs_writer_upsert(w, rec, v, 4, &d) != VS_OK)
                goto fail;
            json_decref(rec);
        }
        if (pass && vs_writer_delete(w, "doc0", NULL, &d) != VS_OK)
            goto fail;
        if (vs_writer_commit(w, &d) != VS_OK)
            goto fail;
        vs_writer_close(w);
    }
    return;
fail:
    fprintf(stderr, "fuzz: cannot make the store %s: %s\n", path, d.detail);
    abort();
}

/* A status a reader may give for a damaged store: a store error (exit 4),
 * or out of memory when a damaged size asks for more than there is. */
static int fuzz_store_status_ok(int st)
{
    return vs_status_exit(st) == VS_EXIT_STORE || st == VS_E_NOMEM;
}

/* A hit record, or with explain the "hits": 0 record of a query that
 * found nothing (qid, hits, explain; no id). */
static int fuzz_count_hit(const json_t *hit, void *arg)
{
    FUZZ_CHECK(json_is_object(hit));
    json_t *h = json_object_get(hit, "hits");
    if (!json_is_string(json_object_get(hit, "id")) &&
        !(json_is_integer(h) && json_integer_value(h) == 0)) {
        char *t = json_dumps(hit, JSON_COMPACT);
        fprintf(stderr, "fuzz: hit without an id: %s\n", t ? t : "(null)");
        abort();
    }
    if (json_is_string(json_object_get(hit, "id")))
        (*(int *)arg)++;
    return VS_OK;
}

/* One vector query and, when the store has a text index, one hybrid query
 * through the query layer (exact and graph); k hits at most. */
static void fuzz_store_query(struct vs_store *s, int exact)
{
    const struct vs_store_settings *set = vs_store_settings(s);
    if (set->dim == 0 || set->dim > 64)
        return;
    struct vs_query_opts qo = {.k = 3, .batch = 1, .threads = 1, .simd = -1,
                               .exact = exact, .ef = 8, .explain = 1};
    struct vs_qtext_opts to;
    vs_qtext_opts_init(&to);
    to.mode = set->analyzer[0] ? VS_QMODE_HYBRID : VS_QMODE_VECTOR;
    struct vs_qtext *t = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    int st = vs_qtext_new(s, &qo, &to, &t, &d);
    if (st != VS_OK) {
        FUZZ_CHECK_ST(fuzz_store_status_ok(st), st, &d);
        return;
    }
    json_t *vec = json_array();
    for (uint32_t i = 0; i < set->dim; i++)
        json_array_append_new(vec, json_real(i % 2 ? 0.5 : 1.0));
    json_t *q = json_pack("{s:s,s:s,s:o}", "id", "q1", "text", "alpha segment", "vector", vec);
    st = vs_qtext_add(t, q, &d);
    json_decref(q);
    if (st == VS_OK) {
        int hits = 0;
        st = vs_qtext_run(t, fuzz_count_hit, &hits, NULL, NULL, &d);
        FUZZ_CHECK_ST(st == VS_OK ? hits <= 3 : fuzz_store_status_ok(st), st, &d);
    }
    vs_qtext_free(t);
}

/* Open the store at path and read everything a reader can: info, ids,
 * docs, vectors, a get, queries, then verify. Any failure must be a store
 * error (or out of memory), never a crash. */
static void fuzz_store_read(const char *path)
{
    struct vs_store *s = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    int st = vs_store_open(path, &s, &d);
    if (st != VS_OK) {
        FUZZ_CHECK_ST(s == NULL && fuzz_store_status_ok(st), st, &d);
        return;
    }
    json_t *info = NULL;
    st = vs_store_info(s, &info, &d);
    FUZZ_CHECK_ST(st == VS_OK ? json_is_object(info) : fuzz_store_status_ok(st), st, &d);
    json_decref(info);
    const char *first = NULL;
    for (size_t i = 0; i < vs_store_nsegments(s); i++) {
        struct vs_segment *g = vs_store_segment(s, i);
        uint64_t rows = vs_segment_rows(g);
        const char *const *ids = NULL;
        st = vs_segment_ids(g, &ids, &d);
        FUZZ_CHECK_ST(st == VS_OK || fuzz_store_status_ok(st), st, &d);
        if (st == VS_OK && rows && !first)
            first = ids[0];
        for (uint64_t r = 0; r < rows && r < 64; r++) {
            json_t *doc = NULL;
            st = vs_segment_doc(g, r, &doc, &d);
            FUZZ_CHECK_ST(st == VS_OK ? json_is_object(doc) : fuzz_store_status_ok(st), st, &d);
            json_decref(doc);
            (void)vs_segment_live(g, r);
        }
        const float *vecs = NULL;
        st = vs_segment_vectors(g, &vecs, &d);
        FUZZ_CHECK_ST(st == VS_OK || fuzz_store_status_ok(st), st, &d);
    }
    if (first) {
        char *id = strdup(first);
        json_t *rec = NULL;
        st = vs_store_get(s, id, &rec, &d);
        FUZZ_CHECK_ST(st == VS_OK || st == VS_E_NOTFOUND || fuzz_store_status_ok(st), st, &d);
        json_decref(rec);
        free(id);
    }
    fuzz_store_query(s, 1);
    fuzz_store_query(s, 0);
    vs_store_close(s);
    st = vs_store_verify(path, &d);
    FUZZ_CHECK_ST(st == VS_OK || fuzz_store_status_ok(st), st, &d);
}

#endif
