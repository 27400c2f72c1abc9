/* test_api_direct.c: vs_db_search's two paths give the same answers. A
 * batch of plain vector queries goes straight into the vector engine (no
 * JSON); a batch holding a query with text in auto mode goes through the
 * query records (on a store without a text index that query is still a
 * vector query). Every field of every hit must be equal, with and without
 * filters, deletes, several segments, ef, exact, k per query, and for the
 * errors (dimension, NaN, filter, k) the status, field and line. ids_only
 * leaves text, metadata and doc_id out whatever with_* say, and keeps the
 * engine's float32 scores (equal to the others' as float32). Only
 * vecstore.h is included. */
#include <float.h>
#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <unistd.h>

#include "test.h"
#include "vecstore.h"

enum { DIM = 8, ROWS = 400, NQ = 24, K = 7 };

static char root[256];
static float rows[ROWS][DIM], queries[NQ][DIM];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static float rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((*s >> 40) & 0xffffff) / (float)0x1000000 - 0.5f;
}

/* ROWS records in two commits (two segments), some with text, metadata,
 * doc_id; every 9th row deleted */
static vs_db *make_store(const char *name, const char *metric)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, name);
    struct vs_db_config c;
    vs_db_config_init(&c, sizeof c);
    c.metric = metric;
    c.dim = DIM;
    c.analyzer = "none";
    c.hnsw_m = 8;
    c.hnsw_seed = 7;
    vs_db *db = NULL;
    struct vs_error err;
    CHECK_EQ_INT(vs_db_open(p, VS_DB_CREATE | VS_DB_EXCL, &c, 0, &db, &err), VS_OK);
    if (!db)
        return NULL;
    int bad = 0;
    for (int i = 0; i < ROWS; i++) {
        char id[32], text[64], meta[96], doc[32];
        snprintf(id, sizeof id, "r%03d", i);
        snprintf(text, sizeof text, "row \"%d\" text", i);
        snprintf(meta, sizeof meta, "{\"n\": %d, \"odd\": %s, \"tag\": \"t%d\"}", i,
                 i % 2 ? "true" : "false", i % 5);
        snprintf(doc, sizeof doc, "d%d", i / 4);
        struct vs_record r = {id, rows[i], DIM, i % 3 ? text : NULL, i % 4 ? meta : NULL,
                              i % 2 ? doc : NULL};
        bad += vs_db_upsert(db, &r, &err) != VS_OK;
        if (i == ROWS / 2)
            bad += vs_db_commit(db, &err) != VS_OK;
    }
    for (int i = 0; i < ROWS; i += 9) {
        char id[32];
        snprintf(id, sizeof id, "r%03d", i);
        bad += vs_db_delete(db, id, NULL, &err) != VS_OK;
    }
    bad += vs_db_commit(db, &err) != VS_OK;
    CHECK_EQ_INT(bad, 0);
    return db;
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int same_num(double a, double b, int as_float)
{
    return as_float ? (float)a == (float)b : a == b;
}

/* the count of differing hits between two results; as_float: scores and
 * distances compared as float32 (ids_only keeps the engine's floats, the
 * records their shortest decimals) */
static int differ(const vs_results *a, const vs_results *b, int as_float)
{
    int n = 0;
    if (vs_results_queries(a) != vs_results_queries(b))
        return 1000;
    for (size_t q = 0; q < vs_results_queries(a); q++) {
        if (vs_results_count(a, q) != vs_results_count(b, q)) {
            n++;
            continue;
        }
        if (!same_str(vs_results_qid(a, q), vs_results_qid(b, q)))
            n++;
        for (size_t i = 0; i < vs_results_count(a, q); i++) {
            const struct vs_hit *x = vs_results_hit(a, q, i), *y = vs_results_hit(b, q, i);
            n += !same_str(x->qid, y->qid) || !same_str(x->id, y->id) || x->rank != y->rank ||
                 !same_num(x->score, y->score, as_float) ||
                 x->has_distance != y->has_distance ||
                 !same_num(x->distance, y->distance, as_float) ||
                 !same_str(x->text, y->text) ||
                 !same_str(x->metadata_json, y->metadata_json) ||
                 !same_str(x->doc_id, y->doc_id) ||
                 !same_num(x->score_vector, y->score_vector, as_float) ||
                 x->has_score_vector != y->has_score_vector ||
                 x->score_text != y->score_text || x->has_score_text != y->has_score_text ||
                 x->retrieval_rank != y->retrieval_rank;
        }
    }
    return n;
}

/* The batch qs searched both ways: direct as it is, and through records:
 * an extra text on query 0 in auto mode sends the batch down that path
 * (vector mode would take the vector and leave the text; auto mode on a
 * store without a text index searches vectors as vector mode does). */
static void both(vs_db *db, struct vs_search_query *qs, size_t n,
                 const struct vs_search_opts *o, vs_results **direct, vs_results **records,
                 int *rc_direct, int *rc_records, struct vs_error *ed, struct vs_error *er)
{
    struct vs_search_opts auto_mode;
    vs_search_opts_init(&auto_mode, sizeof auto_mode);
    if (o)
        auto_mode = *o;
    auto_mode.mode = VS_SEARCH_AUTO;
    *rc_direct = vs_db_search_batch(db, qs, n, o, direct, ed);
    qs[0].text = "x";
    *rc_records = vs_db_search_batch(db, qs, n, &auto_mode, records, er);
    qs[0].text = NULL;
}

static void compare(vs_db *db, const char *what, const struct vs_search_opts *o,
                    int filters, int ks)
{
    static char qid[NQ][16];
    struct vs_search_query qs[NQ];
    for (int i = 0; i < NQ; i++) {
        snprintf(qid[i], sizeof qid[i], "q%d", i);
        qs[i] = (struct vs_search_query){i % 3 ? qid[i] : NULL, queries[i], DIM, NULL,
                                         filters && i % 2 ? "odd = true AND n >= 40" : NULL,
                                         ks ? (size_t)(i % 4) : 0};
    }
    vs_results *a = NULL, *b = NULL;
    int ra, rb;
    struct vs_error ea, eb;
    both(db, qs, NQ, o, &a, &b, &ra, &rb, &ea, &eb);
    CHECK_EQ_INT(ra, VS_OK);
    CHECK_EQ_INT(rb, VS_OK);
    int d = differ(a, b, o && o->ids_only);
    if (d)
        fprintf(stderr, "# %s: %d hits differ\n", what, d);
    CHECK_EQ_INT(d, 0);
    size_t hits = 0;
    for (size_t q = 0; q < vs_results_queries(a); q++)
        hits += vs_results_count(a, q);
    CHECK(hits > NQ); /* not a comparison of empty results */
    vs_results_free(a);
    vs_results_free(b);
}

static void errors_alike(vs_db *db, struct vs_search_query *qs, size_t n,
                         int status, const char *field, long line)
{
    vs_results *a = NULL, *b = NULL;
    int ra, rb;
    struct vs_error ea, eb;
    both(db, qs, n, NULL, &a, &b, &ra, &rb, &ea, &eb);
    CHECK(a == NULL && b == NULL);
    CHECK_EQ_INT(ra, status);
    CHECK_EQ_INT(rb, status);
    CHECK_EQ_STR(ea.field, field);
    CHECK_EQ_STR(eb.field, field);
    CHECK_EQ_INT(ea.line, line);
    CHECK_EQ_INT(eb.line, line);
    CHECK_EQ_STR(ea.detail, eb.detail);
}

/* The direct path on 2 threads gives what it gives on 1 (ids, scores,
 * order, qids) */
static void same_threads(vs_db *db, const struct vs_search_opts *o)
{
    struct vs_search_opts o1 = *o, o2 = *o;
    o1.threads = 1;
    o2.threads = 2;
    struct vs_search_query qs[NQ];
    for (int i = 0; i < NQ; i++)
        qs[i] = (struct vs_search_query){NULL, queries[i], DIM, NULL, NULL, 0};
    vs_results *a = NULL, *b = NULL;
    struct vs_error err;
    CHECK_EQ_INT(vs_db_search_batch(db, qs, NQ, &o1, &a, &err), VS_OK);
    CHECK_EQ_INT(vs_db_search_batch(db, qs, NQ, &o2, &b, &err), VS_OK);
    CHECK_EQ_INT(differ(a, b, 0), 0);
    CHECK_EQ_STR(vs_results_qid(b, NQ - 1), "24");
    CHECK(vs_results_count(b, 0) > 64);
    vs_results_free(a);
    vs_results_free(b);
}

static void test_same_hits(const char *metric)
{
    vs_db *db = make_store(metric, metric);
    if (!db)
        return;
    struct vs_search_opts o;
    vs_search_opts_init(&o, sizeof o);
    o.k = K;
    compare(db, "defaults", &o, 0, 0);
    compare(db, "filters and k per query", &o, 1, 1);
    o.mode = VS_SEARCH_VECTOR;
    o.ef = 12;
    compare(db, "vector mode, ef 12", &o, 1, 0);
    o.exact = 1;
    compare(db, "exact", &o, 0, 1);
    o.exact = 0;
    o.filter = "tag != \"t2\"";
    compare(db, "global filter", &o, 1, 0);
    o.filter = NULL;
    o.with_text = 0;
    compare(db, "no text", &o, 0, 0);
    o.with_metadata = 0;
    compare(db, "doc_id only", &o, 0, 0);
    o.with_doc_id = 0;
    compare(db, "nothing stored", &o, 1, 0);
    vs_search_opts_init(&o, sizeof o);
    o.ids_only = 1;
    o.k = K;
    compare(db, "ids_only", &o, 1, 0);
    o.threads = 1;
    compare(db, "ids_only, 1 thread", &o, 0, 0);
    /* more hits than a query's share of the results' block (64): they
     * move out of it, whole */
    o.threads = 0;
    o.k = 100;
    compare(db, "ids_only, k 100", &o, 1, 1);
    o.ids_only = 0;
    compare(db, "k 100", &o, 0, 0);
    same_threads(db, &o);
    o.k = K;
    o.ids_only = 1;

    /* ids_only: no stored field, whatever with_* say (they are 1 here) */
    struct vs_search_query q = {"one", queries[0], DIM, NULL, NULL, 0};
    vs_results *r = NULL;
    struct vs_error err;
    CHECK_EQ_INT(vs_db_search(db, &q, &o, &r, &err), VS_OK);
    int stored = 0;
    for (size_t i = 0; i < vs_results_count(r, 0); i++) {
        const struct vs_hit *h = vs_results_hit(r, 0, i);
        stored += h->text || h->metadata_json || h->doc_id;
        stored += !h->has_score_vector || h->score_vector != h->score;
        stored += h->has_distance != (strcmp(metric, "dot") != 0);
        stored += (double)(float)h->score != h->score; /* the engine's float */
    }
    CHECK_EQ_INT(vs_results_count(r, 0), K);
    CHECK_EQ_INT(stored, 0);
    vs_results_free(r);
    /* with them the same hits carry what the store holds */
    o.ids_only = 0;
    CHECK_EQ_INT(vs_db_search(db, &q, &o, &r, &err), VS_OK);
    for (size_t i = 0; i < vs_results_count(r, 0); i++) {
        const struct vs_hit *h = vs_results_hit(r, 0, i);
        stored += h->text || h->metadata_json || h->doc_id;
    }
    CHECK(stored > 0);
    vs_results_free(r);

    /* errors: the same status, field, line and detail both ways */
    float nan_v[DIM], short_v[DIM - 1] = {0};
    memcpy(nan_v, queries[1], sizeof nan_v);
    nan_v[3] = NAN;
    struct vs_search_query qs[3] = {{NULL, queries[0], DIM, NULL, NULL, 0},
                                    {NULL, short_v, DIM - 1, NULL, NULL, 0},
                                    {NULL, queries[2], DIM, NULL, NULL, 0}};
    errors_alike(db, qs, 3, VS_E_DIM, "vector", 2);
    qs[1].vector = nan_v;
    qs[1].dim = DIM;
    errors_alike(db, qs, 3, VS_E_NONFINITE, "vector", 2);
    /* Inf and NaN in every lane of the check, and past the lanes (a
     * vector longer than DIM: refused for the value before its length) */
    float inf_v[DIM], long_v[DIM + 3];
    for (int j = 0; j < DIM; j++) {
        /* Inf, NaN; then the largest finite value, which passes the check
         * (its distances may then overflow: VS_E_DATA, "too large for its
         * arithmetic") */
        const float val[3] = {j % 2 ? -INFINITY : INFINITY, NAN, j % 2 ? -FLT_MAX : FLT_MAX};
        for (int b = 0; b < 3; b++) {
            memcpy(inf_v, queries[1], sizeof inf_v);
            inf_v[j] = val[b];
            qs[1].vector = inf_v;
            if (b < 2) {
                errors_alike(db, qs, 3, VS_E_NONFINITE, "vector", 2);
                continue;
            }
            int rc = vs_db_search_batch(db, qs, 3, NULL, &r, &err);
            CHECK(rc == VS_OK || rc == VS_E_DATA);
            vs_results_free(r);
        }
    }
    memset(long_v, 0, sizeof long_v);
    qs[1].vector = long_v;
    qs[1].dim = DIM + 3;
    errors_alike(db, qs, 3, VS_E_DIM, "vector", 2);
    long_v[DIM + 1] = NAN;
    errors_alike(db, qs, 3, VS_E_NONFINITE, "vector", 2);
    qs[1].dim = DIM;
    qs[1].vector = queries[1];
    qs[2].filter = "n >=";
    errors_alike(db, qs, 3, VS_E_FIELD, "filter", 3);
    qs[2].filter = NULL;
    qs[2].k = 100001;
    errors_alike(db, qs, 3, VS_E_FIELD, "k", 3);
    /* the handle still answers after the errors */
    CHECK_EQ_INT(vs_db_search_batch(db, qs, 2, NULL, &r, &err), VS_OK);
    CHECK_EQ_INT(vs_results_queries(r), 2);
    vs_results_free(r);
    CHECK_EQ_INT(vs_db_close(db), VS_OK);
}

static void test_l2(void) { test_same_hits("l2"); }
static void test_cosine(void) { test_same_hits("cosine"); }
static void test_dot(void) { test_same_hits("dot"); }

int main(void)
{
    uint64_t s = 42;
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < DIM; j++)
            rows[i][j] = rnd(&s);
    for (int i = 0; i < NQ; i++)
        for (int j = 0; j < DIM; j++)
            queries[i][j] = rnd(&s);
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/vs_api_direct_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_l2);
    RUN(test_cosine);
    RUN(test_dot);
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return vs_test_done();
}
