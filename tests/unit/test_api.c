/* test_api.c: the public C API (lib/vecstore.h) as a program outside the
 * tree sees it: only vecstore.h is included. A store round trip, vector,
 * filtered, text, hybrid and batch search, deletes, embedding, reranking,
 * evaluation, two threads searching one handle, and bad input (wrong
 * dimension, bad filter, bad metadata, NaN, NULLs, closed and read-only
 * handles, uninitialised options) returning statuses; chunking. */
#include <ftw.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#include "test.h"
#include "vecstore.h"

static char root[256];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static void path_of(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", root, name);
}

/* a: (1,0,0,0), b: (0,1,0,0), c: (0.9,0.1,0,0) in an l2 store */
static const float VA[4] = {1, 0, 0, 0}, VB[4] = {0, 1, 0, 0}, VC[4] = {0.9f, 0.1f, 0, 0};

static vs_db *make_store(const char *name, struct vs_error *err)
{
    char p[512];
    path_of(p, sizeof p, name);
    struct vs_db_config c;
    vs_db_config_init(&c, sizeof c);
    c.metric = "l2";
    c.dim = 4;
    vs_db *db = NULL;
    int rc = vs_db_open(p, VS_DB_CREATE | VS_DB_EXCL, &c, 0, &db, err);
    CHECK_EQ_INT(rc, VS_OK);
    if (rc != VS_OK)
        return NULL;
    struct vs_record r[3] = {
        {"a", VA, 4, "apples and pears", "{\"year\": 2021, \"lang\": \"en\"}", "doc1"},
        {"b", VB, 4, "a banana split", "{\"year\": 2019, \"lang\": \"de\"}", "doc2"},
        {"c", VC, 4, "green apples", NULL, NULL}};
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(vs_db_upsert(db, &r[i], err), VS_OK);
    CHECK_EQ_INT(vs_db_commit(db, err), VS_OK);
    return db;
}

static void test_version(void)
{
    CHECK_EQ_STR(vs_version(), VECSTORE_VERSION_STRING);
    CHECK_EQ_INT(vs_version_number(), VECSTORE_VERSION_NUMBER);
    CHECK_EQ_STR(vs_errname(VS_E_LOCKED), "locked");
    CHECK_EQ_STR(vs_errstr(VS_E_LOCKED), "store is locked");
    CHECK_EQ_STR(vs_errname(VS_E_GATE), "gate");
    CHECK_EQ_STR(vs_errname(999), "unknown");
    CHECK_EQ_STR(vs_errstr(-1), "unknown error");
}

static void test_round_trip(void)
{
    struct vs_error err;
    vs_db *db = make_store("rt", &err);
    if (!db)
        return;
    struct vs_db_info info;
    CHECK_EQ_INT(vs_db_info(db, &info), VS_OK);
    CHECK_EQ_INT(info.records, 3);
    CHECK_EQ_INT(info.dim, 4);
    CHECK_EQ_STR(info.metric, "l2");
    CHECK_EQ_INT(info.has_text_index, 1);
    CHECK_EQ_INT(info.writable, 1);
    CHECK_EQ_INT(info.generation, 2); /* 1: created empty, 2: the commit */

    struct vs_search_opts o;
    vs_search_opts_init(&o, sizeof o);
    o.k = 2;
    o.mode = VS_SEARCH_VECTOR;
    struct vs_search_query q = {"q1", VA, 4, NULL, NULL, 0};
    vs_results *res = NULL;
    CHECK_EQ_INT(vs_db_search(db, &q, &o, &res, &err), VS_OK);
    CHECK_EQ_INT(vs_results_queries(res), 1);
    CHECK_EQ_INT(vs_results_count(res, 0), 2);
    CHECK_EQ_STR(vs_results_qid(res, 0), "q1");
    const struct vs_hit *h = vs_results_hit(res, 0, 0);
    CHECK(h != NULL);
    if (h) {
        CHECK_EQ_STR(h->qid, "q1");
        CHECK_EQ_STR(h->id, "a");
        CHECK_EQ_INT(h->rank, 1);
        CHECK_NEAR(h->score, 0, 1e-6);
        CHECK_EQ_INT(h->has_distance, 1);
        CHECK_NEAR(h->distance, 0, 1e-6);
        CHECK_EQ_STR(h->text, "apples and pears");
        CHECK_EQ_STR(h->metadata_json, "{\"year\":2021,\"lang\":\"en\"}");
        CHECK_EQ_STR(h->doc_id, "doc1");
    }
    h = vs_results_hit(res, 0, 1);
    CHECK(h != NULL);
    if (h) {
        CHECK_EQ_STR(h->id, "c");
        CHECK_EQ_INT(h->rank, 2);
        CHECK_NEAR(h->distance, 0.02, 1e-6); /* squared: 0.1^2 + 0.1^2 */
        CHECK_NEAR(h->score, -0.02, 1e-6);
        CHECK(h->metadata_json == NULL);
        CHECK(h->doc_id == NULL);
    }
    CHECK(vs_results_hit(res, 0, 2) == NULL);
    CHECK(vs_results_hit(res, 1, 0) == NULL);
    vs_results_free(res);

    /* the same options again after a commit: the new generation is searched
     * (prepared searches of the old one are dropped) */
    float vq[4] = {1, 0, 0, 0.5f};
    struct vs_record nr = {"n", vq, 4, "new", NULL, "doc9"};
    CHECK_EQ_INT(vs_db_upsert(db, &nr, &err), VS_OK);
    q.vector = vq;
    CHECK_EQ_INT(vs_db_search(db, &q, &o, &res, &err), VS_OK);
    CHECK_EQ_STR(vs_results_hit(res, 0, 0)->id, "a"); /* not committed yet */
    vs_results_free(res);
    CHECK_EQ_INT(vs_db_commit(db, &err), VS_OK);
    CHECK_EQ_INT(vs_db_search(db, &q, &o, &res, &err), VS_OK);
    CHECK_EQ_STR(vs_results_hit(res, 0, 0)->id, "n");
    CHECK_EQ_STR(vs_results_hit(res, 0, 0)->doc_id, "doc9");
    vs_results_free(res);
    CHECK_EQ_INT(vs_db_delete(db, "n", NULL, &err), VS_OK);
    CHECK_EQ_INT(vs_db_commit(db, &err), VS_OK);
    q.vector = VA;

    /* without text, metadata, doc_id */
    o.with_text = o.with_metadata = o.with_doc_id = 0;
    CHECK_EQ_INT(vs_db_search(db, &q, &o, &res, &err), VS_OK);
    h = vs_results_hit(res, 0, 0);
    CHECK(h && !h->text && !h->metadata_json && !h->doc_id);
    vs_results_free(res);

    /* a second handle sees the committed store, read-only */
    char p[512];
    path_of(p, sizeof p, "rt");
    vs_db *ro = NULL;
    CHECK_EQ_INT(vs_db_open(p, VS_DB_READONLY, NULL, 0, &ro, &err), VS_OK);
    CHECK_EQ_INT(vs_db_info(ro, &info), VS_OK);
    CHECK_EQ_INT(info.records, 3);
    CHECK_EQ_INT(info.generation, 4);
    CHECK_EQ_INT(info.writable, 0);
    struct vs_record r = {"d", VA, 4, NULL, NULL, NULL};
    CHECK_EQ_INT(vs_db_upsert(ro, &r, &err), VS_E_USAGE);
    CHECK(strstr(err.detail, "read-only") != NULL);
    CHECK_EQ_INT(vs_db_close(ro), VS_OK);
    CHECK_EQ_INT(vs_db_close(db), VS_OK);
}

static void test_filter_text_hybrid_batch(void)
{
    struct vs_error err;
    vs_db *db = make_store("fth", &err);
    if (!db)
        return;
    struct vs_search_opts o;
    vs_search_opts_init(&o, sizeof o);
    o.mode = VS_SEARCH_VECTOR;
    o.filter = "year >= 2020 OR lang = \"de\"";
    struct vs_search_query q = {NULL, VA, 4, NULL, "lang = \"de\"", 0};
    vs_results *res = NULL;
    CHECK_EQ_INT(vs_db_search(db, &q, &o, &res, &err), VS_OK);
    CHECK_EQ_INT(vs_results_count(res, 0), 1); /* both filters: only b */
    CHECK_EQ_STR(vs_results_hit(res, 0, 0) ? vs_results_hit(res, 0, 0)->id : NULL, "b");
    CHECK_EQ_STR(vs_results_qid(res, 0), "1");
    vs_results_free(res);

    /* text: BM25 over the text index */
    vs_search_opts_init(&o, sizeof o);
    o.mode = VS_SEARCH_TEXT;
    struct vs_search_query tq = {"t", NULL, 0, "banana", NULL, 0};
    CHECK_EQ_INT(vs_db_search(db, &tq, &o, &res, &err), VS_OK);
    CHECK_EQ_INT(vs_results_count(res, 0), 1);
    const struct vs_hit *h = vs_results_hit(res, 0, 0);
    CHECK(h && strcmp(h->id, "b") == 0 && h->score > 0 && h->has_score_text);
    vs_results_free(res);

    /* hybrid: vector side finds a first, text side finds a and c ("apples") */
    o.mode = VS_SEARCH_HYBRID;
    o.k = 3;
    struct vs_search_query hq = {"h", VA, 4, "apples", NULL, 0};
    CHECK_EQ_INT(vs_db_search(db, &hq, &o, &res, &err), VS_OK);
    CHECK_EQ_INT(vs_results_count(res, 0), 3);
    h = vs_results_hit(res, 0, 0);
    CHECK(h && strcmp(h->id, "a") == 0 && h->has_score_text && h->has_score_vector);
    h = vs_results_hit(res, 0, 2);
    CHECK(h && strcmp(h->id, "b") == 0 && !h->has_score_text && h->has_score_vector);
    vs_results_free(res);

    /* batch: order and qids kept, per-query k */
    struct vs_search_query qs[3] = {{"x", VB, 4, NULL, NULL, 1},
                                    {"y", VA, 4, NULL, NULL, 3},
                                    {"z", VC, 4, NULL, NULL, 0}};
    vs_search_opts_init(&o, sizeof o);
    o.mode = VS_SEARCH_VECTOR;
    o.k = 2;
    CHECK_EQ_INT(vs_db_search_batch(db, qs, 3, &o, &res, &err), VS_OK);
    CHECK_EQ_INT(vs_results_queries(res), 3);
    CHECK_EQ_INT(vs_results_count(res, 0), 1);
    CHECK_EQ_INT(vs_results_count(res, 1), 3);
    CHECK_EQ_INT(vs_results_count(res, 2), 2);
    CHECK_EQ_STR(vs_results_hit(res, 0, 0)->id, "b");
    CHECK_EQ_STR(vs_results_hit(res, 1, 2)->id, "b");
    CHECK_EQ_STR(vs_results_hit(res, 2, 0)->id, "c");
    CHECK_EQ_STR(vs_results_hit(res, 2, 0)->qid, "z");
    vs_results_free(res);
    vs_db_close(db);
}

static void test_deletes(void)
{
    struct vs_error err;
    vs_db *db = make_store("del", &err);
    if (!db)
        return;
    int found = -1;
    CHECK_EQ_INT(vs_db_delete(db, "zzz", &found, &err), VS_OK);
    CHECK_EQ_INT(found, 0);
    CHECK_EQ_INT(vs_db_delete(db, "a", &found, &err), VS_OK);
    CHECK_EQ_INT(found, 1);
    struct vs_db_info info;
    vs_db_info(db, &info);
    CHECK_EQ_INT(info.records, 3); /* not committed yet */
    uint64_t n = 99;
    CHECK_EQ_INT(vs_db_delete_where(db, "lang = \"de\"", &n, &err), VS_OK);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(vs_db_delete_where(db, "lang = ", &n, &err), VS_E_FILTER);
    CHECK(err.col > 0);
    CHECK_EQ_STR(err.field, "filter");
    CHECK_EQ_INT(vs_db_commit(db, &err), VS_OK);
    vs_db_info(db, &info);
    CHECK_EQ_INT(info.records, 1);
    CHECK_EQ_INT(info.generation, 3);
    vs_results *res;
    struct vs_search_query q = {NULL, VA, 4, NULL, NULL, 0};
    CHECK_EQ_INT(vs_db_search(db, &q, NULL, &res, &err), VS_OK);
    CHECK_EQ_INT(vs_results_count(res, 0), 1);
    CHECK_EQ_STR(vs_results_hit(res, 0, 0)->id, "c");
    vs_results_free(res);
    /* commit with nothing pending: same generation */
    CHECK_EQ_INT(vs_db_commit(db, &err), VS_OK);
    vs_db_info(db, &info);
    CHECK_EQ_INT(info.generation, 3);
    vs_db_close(db);
}

static void test_bad_input(void)
{
    struct vs_error err;
    vs_db *db = make_store("bad", &err);
    if (!db)
        return;
    float v3[3] = {1, 2, 3}, vnan[4] = {1, NAN, 0, 0};
    struct vs_record r = {"x", v3, 3, NULL, NULL, NULL};
    CHECK_EQ_INT(vs_db_upsert(db, &r, &err), VS_E_DIM);
    CHECK_EQ_INT(err.status, VS_E_DIM);
    r.vector = vnan;
    r.dim = 4;
    CHECK_EQ_INT(vs_db_upsert(db, &r, &err), VS_E_NONFINITE);
    CHECK_EQ_STR(err.field, "vector");
    r.vector = VA;
    r.metadata_json = "{\"a\": ";
    CHECK_EQ_INT(vs_db_upsert(db, &r, &err), VS_E_JSON);
    CHECK_EQ_STR(err.field, "metadata");
    r.metadata_json = "[1]";
    CHECK_EQ_INT(vs_db_upsert(db, &r, &err), VS_E_JSON);
    r.metadata_json = NULL;
    r.id = "";
    CHECK_EQ_INT(vs_db_upsert(db, &r, &err), VS_E_FIELD);
    CHECK_EQ_STR(err.field, "id");
    CHECK_EQ_INT(vs_db_upsert(db, NULL, &err), VS_E_USAGE);
    CHECK_EQ_INT(vs_db_upsert(NULL, &r, NULL), VS_E_USAGE);
    CHECK_EQ_INT(vs_db_commit(NULL, &err), VS_E_USAGE);
    CHECK_EQ_INT(vs_db_delete(db, NULL, NULL, &err), VS_E_USAGE);
    CHECK_EQ_INT(vs_db_info(db, NULL), VS_E_USAGE);

    vs_results *res = (vs_results *)&err; /* must be set to NULL */
    struct vs_search_query q = {NULL, v3, 3, NULL, NULL, 0};
    CHECK_EQ_INT(vs_db_search(db, &q, NULL, &res, &err), VS_E_DIM);
    CHECK(res == NULL);
    CHECK_EQ_INT(err.line, 1);
    q.vector = VA;
    q.dim = 4;
    q.filter = "year >>= 3";
    CHECK_EQ_INT(vs_db_search(db, &q, NULL, &res, &err), VS_E_FIELD);
    CHECK_EQ_STR(err.field, "filter");
    q.filter = NULL;
    struct vs_search_opts o;
    vs_search_opts_init(&o, sizeof o);
    o.filter = "(year";
    CHECK_EQ_INT(vs_db_search(db, &q, &o, &res, &err), VS_E_FILTER);
    CHECK(err.col > 0);
    vs_search_opts_init(&o, sizeof o);
    o.k = 0;
    CHECK_EQ_INT(vs_db_search(db, &q, &o, &res, &err), VS_E_USAGE);
    CHECK_EQ_STR(err.field, "k");
    vs_search_opts_init(&o, sizeof o);
    o.alpha = 2;
    CHECK_EQ_INT(vs_db_search(db, &q, &o, &res, &err), VS_E_USAGE);
    struct vs_search_opts zero;
    memset(&zero, 0, sizeof zero); /* never initialised */
    CHECK_EQ_INT(vs_db_search(db, &q, &zero, &res, &err), VS_E_USAGE);
    CHECK_EQ_STR(err.field, "size");
    q.vector = vnan;
    CHECK_EQ_INT(vs_db_search(db, &q, NULL, &res, &err), VS_E_NONFINITE);
    q.vector = NULL;
    CHECK_EQ_INT(vs_db_search(db, &q, NULL, &res, &err), VS_E_FIELD);
    CHECK_EQ_INT(vs_db_search(db, NULL, NULL, &res, &err), VS_E_USAGE);
    CHECK_EQ_INT(vs_db_search(db, &q, NULL, NULL, &err), VS_E_USAGE);
    /* a batch names the bad query's position */
    struct vs_search_query qs[2] = {{NULL, VA, 4, NULL, NULL, 0}, {NULL, v3, 3, NULL, NULL, 0}};
    CHECK_EQ_INT(vs_db_search_batch(db, qs, 2, NULL, &res, &err), VS_E_DIM);
    CHECK_EQ_INT(err.line, 2);

    /* nothing of the above reached the store */
    CHECK_EQ_INT(vs_db_commit(db, &err), VS_OK);
    struct vs_db_info info;
    vs_db_info(db, &info);
    CHECK_EQ_INT(info.records, 3);
    CHECK_EQ_INT(info.generation, 2);

    /* the lock: a second writer fails at once */
    char p[512];
    path_of(p, sizeof p, "bad");
    vs_db *w2 = NULL;
    CHECK_EQ_INT(vs_db_open(p, VS_DB_WRITE, NULL, 0, &w2, &err), VS_E_LOCKED);
    CHECK(w2 == NULL);

    /* a closed handle is refused, not used */
    CHECK_EQ_INT(vs_db_close(db), VS_OK);
    q.vector = VA;
    CHECK_EQ_INT(vs_db_search(db, &q, NULL, &res, &err), VS_E_USAGE);
    CHECK(strstr(err.detail, "closed") != NULL);
    CHECK_EQ_INT(vs_db_close(db), VS_E_USAGE);
    CHECK_EQ_INT(vs_db_close(NULL), VS_OK);

    /* opening */
    char nx[512];
    path_of(nx, sizeof nx, "nothing-here");
    CHECK_EQ_INT(vs_db_open(nx, VS_DB_READONLY, NULL, 0, &w2, &err), VS_E_NOSTORE);
    CHECK_EQ_INT(vs_db_open(p, VS_DB_CREATE | VS_DB_EXCL, NULL, 0, &w2, &err), VS_E_EXISTS);
    CHECK_EQ_INT(vs_db_open(p, 0x40, NULL, 0, &w2, &err), VS_E_USAGE);
    CHECK_EQ_INT(vs_db_open(NULL, 0, NULL, 0, &w2, &err), VS_E_USAGE);
    struct vs_db_config c;
    vs_db_config_init(&c, sizeof c);
    c.metric = "manhattan";
    CHECK_EQ_INT(vs_db_open(nx, VS_DB_CREATE, &c, 0, &w2, &err), VS_E_CONFIG);
    CHECK_EQ_STR(err.field, "metric");
    vs_db_config_init(&c, sizeof c);
    c.quant = "sq4";
    CHECK_EQ_INT(vs_db_open(nx, VS_DB_CREATE, &c, 0, &w2, &err), VS_E_CONFIG);
    CHECK_EQ_STR(err.field, "quant");
    CHECK(access(nx, F_OK) != 0); /* a refused config creates nothing */
}

static void test_encoder(void)
{
    struct vs_error err;
    vs_encoder *e = NULL;
    CHECK_EQ_INT(vs_encoder_open("hash", 16, NULL, &e, &err), VS_OK);
    if (!e)
        return;
    CHECK_EQ_INT(vs_encoder_dim(e), 16);
    CHECK_EQ_STR(vs_encoder_identity(e), "hash-v1:16");
    const char *texts[3] = {"green apples", "green apples", "a banana"};
    float out[48];
    int st[3];
    CHECK_EQ_INT(vs_encoder_embed(e, VS_ROLE_DOCUMENT, texts, 3, out, st, &err), VS_OK);
    double norm = 0;
    for (int i = 0; i < 16; i++)
        norm += (double)out[i] * out[i];
    CHECK_NEAR(norm, 1, 1e-5);
    CHECK(memcmp(out, out + 16, 16 * sizeof *out) == 0);
    CHECK(memcmp(out, out + 32, 16 * sizeof *out) != 0);
    const char *bad[2] = {"ok text", ""}; /* empty: no text to embed */
    CHECK_EQ_INT(vs_encoder_embed(e, VS_ROLE_QUERY, bad, 2, out, st, &err), VS_E_FIELD);
    CHECK_EQ_INT(st[0], VS_OK);
    CHECK_EQ_INT(st[1], VS_E_FIELD);
    CHECK_EQ_INT(err.line, 2);
    CHECK_EQ_INT(vs_encoder_embed(e, 7, texts, 1, out, NULL, &err), VS_E_USAGE);
    CHECK_EQ_INT(vs_encoder_embed(NULL, 0, texts, 1, out, NULL, &err), VS_E_USAGE);
    vs_encoder_free(e);
    CHECK_EQ_INT(vs_encoder_open("no-such-model", 0, NULL, &e, &err), VS_E_UNSUPPORTED);
    CHECK(e == NULL);
    CHECK_EQ_INT(vs_encoder_open(NULL, 0, NULL, &e, &err), VS_E_USAGE);
    vs_encoder_free(NULL);
}

static void test_rerank_and_report(void)
{
    struct vs_error err;
    vs_db *db = make_store("rr", &err);
    if (!db)
        return;
    struct vs_search_opts o;
    vs_search_opts_init(&o, sizeof o);
    o.mode = VS_SEARCH_VECTOR;
    struct vs_search_query q = {"1", VB, 4, NULL, NULL, 0};
    vs_results *res;
    CHECK_EQ_INT(vs_db_search(db, &q, &o, &res, &err), VS_OK);
    CHECK_EQ_STR(vs_results_hit(res, 0, 0)->id, "b"); /* vector order: b, c, a */

    vs_reranker *rr = NULL;
    CHECK_EQ_INT(vs_reranker_open(NULL, &rr, &err), VS_OK); /* bm25 */
    const char *texts[2] = {"nothing here", "green apples and more apples"};
    double sc[2];
    CHECK_EQ_INT(vs_reranker_score(rr, "apples", texts, 2, sc, &err), VS_OK);
    CHECK(sc[0] == 0 && sc[1] > 0);
    const char *queries[1] = {"apples"};
    CHECK_EQ_INT(vs_reranker_apply(rr, res, queries, 2, &err), VS_OK);
    CHECK_EQ_INT(vs_results_count(res, 0), 2);
    const struct vs_hit *h = vs_results_hit(res, 0, 0);
    CHECK(h && h->rank == 1 && h->retrieval_rank > 1 && strcmp(h->id, "b") != 0);
    CHECK(h && h->score > 0);
    h = vs_results_hit(res, 0, 1);
    CHECK(h && h->rank == 2);
    CHECK_EQ_INT(vs_reranker_score(rr, NULL, texts, 2, sc, &err), VS_E_USAGE);
    vs_reranker_free(rr);
    struct vs_reranker_opts ro;
    vs_reranker_opts_init(&ro, sizeof ro);
    ro.method = "mmr";
    CHECK_EQ_INT(vs_reranker_open(&ro, &rr, &err), VS_E_USAGE);
    ro.method = "cross-encoder"; /* needs a model folder */
    CHECK(vs_reranker_open(&ro, &rr, &err) != VS_OK);
    CHECK(rr == NULL);

    /* evaluation of the reranked results: the relevant record is c */
    char run[512], qrels[512];
    path_of(run, sizeof run, "run.trec");
    path_of(qrels, sizeof qrels, "qrels.trec");
    FILE *fp = fopen(qrels, "w");
    CHECK(fp != NULL);
    if (!fp)
        return;
    fprintf(fp, "1 0 c 1\n1 0 a 0\n");
    fclose(fp);
    CHECK_EQ_INT(vs_results_write_trec(res, run, "api", &err), VS_OK);
    vs_report *rep = NULL;
    CHECK_EQ_INT(vs_report_evaluate(qrels, run, "mrr, ndcg@10 P.1,2", &rep, &err), VS_OK);
    CHECK_EQ_INT(vs_report_measures(rep), 4);
    CHECK_EQ_INT(vs_report_queries(rep), 1);
    double mrr = -1, p2 = -1;
    CHECK_EQ_INT(vs_report_get(rep, "mrr", &mrr), VS_OK);
    const char *first = vs_results_hit(res, 0, 0)->id;
    CHECK_NEAR(mrr, strcmp(first, "c") == 0 ? 1.0 : 0.5, 1e-12);
    CHECK_EQ_INT(vs_report_get(rep, "P_2", &p2), VS_OK);
    CHECK_NEAR(p2, 0.5, 1e-12);
    CHECK_EQ_INT(vs_report_get(rep, "map", &p2), VS_E_NOTFOUND);
    CHECK(vs_report_measure(rep, 9) == NULL);
    CHECK(isnan(vs_report_mean(rep, 9)));
    vs_report_free(rep);
    CHECK_EQ_INT(vs_report_evaluate(qrels, run, "ndcg@x", &rep, &err), VS_E_USAGE);
    CHECK_EQ_STR(err.field, "measures");
    fp = fopen(run, "w");
    fprintf(fp, "1 Q0 c 1 2.0 x\n1 Q0 c 2 1.0 x\n");
    fclose(fp);
    CHECK_EQ_INT(vs_report_evaluate(qrels, run, NULL, &rep, &err), VS_E_DATA);
    CHECK_EQ_INT(err.line, 2);
    CHECK(strstr(err.file, "run.trec") != NULL);
    vs_results_free(res);
    vs_db_close(db);
}

/* more queries than one internal batch (256): every query answered, in order */
static void test_big_batch(void)
{
    struct vs_error err;
    vs_db *db = make_store("big", &err);
    if (!db)
        return;
    enum { N = 600 };
    static struct vs_search_query qs[N];
    static char qid[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(qid[i], sizeof qid[i], "q%d", i);
        qs[i] = (struct vs_search_query){qid[i], i % 2 ? VB : VA, 4, NULL, NULL, 1};
    }
    vs_results *res = NULL;
    CHECK_EQ_INT(vs_db_search_batch(db, qs, N, NULL, &res, &err), VS_OK);
    CHECK_EQ_INT(vs_results_queries(res), N);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        const struct vs_hit *h = vs_results_hit(res, (size_t)i, 0);
        bad += vs_results_count(res, (size_t)i) != 1 || !h ||
               strcmp(h->id, i % 2 ? "b" : "a") != 0 || strcmp(h->qid, qid[i]) != 0;
    }
    CHECK_EQ_INT(bad, 0);
    vs_results_free(res);
    CHECK_EQ_INT(vs_db_search_batch(db, qs, 0, NULL, &res, &err), VS_OK);
    CHECK_EQ_INT(vs_results_queries(res), 0);
    vs_results_free(res);
    vs_db_close(db);
}

/* two threads search one handle while the main thread commits */
struct worker {
    vs_db *db;
    int bad;
};

static void *search_loop(void *arg)
{
    struct worker *w = arg;
    struct vs_search_opts o;
    vs_search_opts_init(&o, sizeof o);
    o.mode = VS_SEARCH_VECTOR;
    o.threads = 1;
    struct vs_search_query q = {NULL, VA, 4, NULL, NULL, 0};
    for (int i = 0; i < 40; i++) {
        vs_results *res;
        struct vs_error err;
        if (vs_db_search(w->db, &q, &o, &res, &err) != VS_OK) {
            w->bad++;
            continue;
        }
        const struct vs_hit *h = vs_results_hit(res, 0, 0);
        if (!h || strcmp(h->id, "a") != 0)
            w->bad++;
        vs_results_free(res);
    }
    return NULL;
}

static void test_threads(void)
{
    struct vs_error err;
    vs_db *db = make_store("thr", &err);
    if (!db)
        return;
    struct worker w[2] = {{db, 0}, {db, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, search_loop, &w[i]);
    for (int i = 0; i < 10; i++) {
        char id[16];
        snprintf(id, sizeof id, "n%d", i);
        float v[4] = {0, 0, 1, (float)i};
        struct vs_record r = {id, v, 4, NULL, NULL, NULL};
        CHECK_EQ_INT(vs_db_upsert(db, &r, &err), VS_OK);
        CHECK_EQ_INT(vs_db_commit(db, &err), VS_OK);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ_INT(w[0].bad, 0);
    CHECK_EQ_INT(w[1].bad, 0);
    struct vs_db_info info;
    vs_db_info(db, &info);
    CHECK_EQ_INT(info.records, 13);
    vs_db_close(db);
}

/* chunking: vs-chunk's records from a text and a file; bad options */
static void test_chunks(void)
{
    struct vs_chunks_opts o;
    vs_chunks_opts_init(&o, sizeof o);
    o.chunk_size = 25;
    o.min_size = 0;
    const char *text = "First paragraph here.\n\nSecond one, a bit longer than that.";
    vs_chunks *c = NULL;
    struct vs_error err;
    CHECK_EQ_INT(vs_chunks_split_text("d1", text, strlen(text), 0, &o, &c, &err), VS_OK);
    CHECK(vs_chunks_count(c) >= 3);
    const char *r0 = vs_chunks_record(c, 0);
    CHECK(r0 && strstr(r0, "\"id\":\"d1#0\""));
    CHECK(r0 && strstr(r0, "\"text\":\"First paragraph here.\""));
    CHECK(r0 && strstr(r0, "\"start\":0"));
    CHECK(vs_chunks_record(c, vs_chunks_count(c)) == NULL);
    vs_chunks_free(c);
    /* markdown headings reach the metadata */
    const char *md = "# Title\n\nSome text.\n\n## Part\n\nMore text.\n";
    o.splitter = "markdown";
    o.chunk_size = 100;
    CHECK_EQ_INT(vs_chunks_split_text("m", md, strlen(md), 1, &o, &c, &err), VS_OK);
    CHECK_EQ_INT(vs_chunks_count(c), 2);
    CHECK(vs_chunks_record(c, 1) && strstr(vs_chunks_record(c, 1), "\"headings\":[\"Title\",\"Part\"]"));
    vs_chunks_free(c);
    /* a file; doc_id defaults to the path */
    char p[512];
    path_of(p, sizeof p, "doc.txt");
    FILE *fp = fopen(p, "w");
    CHECK(fp != NULL);
    if (fp) {
        fputs("alpha beta gamma delta", fp);
        fclose(fp);
    }
    vs_chunks_opts_init(&o, sizeof o);
    o.unit = "words";
    o.chunk_size = 2;
    o.splitter = "fixed";
    CHECK_EQ_INT(vs_chunks_split_file(p, NULL, &o, &c, &err), VS_OK);
    CHECK_EQ_INT(vs_chunks_count(c), 2);
    CHECK(vs_chunks_record(c, 1) && strstr(vs_chunks_record(c, 1), "\"text\":\"gamma delta\""));
    vs_chunks_free(c);
    /* bad options and inputs */
    o.overlap = 2;
    CHECK_EQ_INT(vs_chunks_split_file(p, "x", &o, &c, &err), VS_E_USAGE);
    CHECK_EQ_STR(err.field, "overlap");
    CHECK(c == NULL);
    o.overlap = 0;
    o.splitter = "nope";
    CHECK_EQ_INT(vs_chunks_split_text("d", "a", 1, 0, &o, &c, &err), VS_E_USAGE);
    CHECK_EQ_STR(err.field, "splitter");
    CHECK_EQ_INT(vs_chunks_split_text(NULL, "a", 1, 0, NULL, &c, &err), VS_E_USAGE);
    path_of(p, sizeof p, "missing.txt");
    CHECK_EQ_INT(vs_chunks_split_file(p, NULL, NULL, &c, &err), VS_E_IO);
    CHECK(strstr(err.file, "missing.txt") != NULL);
    CHECK_EQ_INT(vs_chunks_count(NULL), 0);
    vs_chunks_free(NULL);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/vs-api-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_version);
    RUN(test_round_trip);
    RUN(test_filter_text_hybrid_batch);
    RUN(test_deletes);
    RUN(test_bad_input);
    RUN(test_encoder);
    RUN(test_rerank_and_report);
    RUN(test_big_batch);
    RUN(test_threads);
    RUN(test_chunks);
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return vs_test_done();
}
