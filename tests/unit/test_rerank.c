/* test_rerank.c: the rerank module: parsing names, scoring a group (bm25,
 * mmr), streaming groups with blending, cuts and violation detection. */
#include "test.h"
#include "vs_internal.h"
#include "vs_bert.h"
#include "vs_rerank.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sink {
    char ids[64][16];
    double score[64];
    long rrank[64];
    int n;
};

static int collect(const json_t *rec, void *arg)
{
    struct sink *s = arg;
    if (s->n >= 64)
        return VS_E_INTERNAL;
    const char *id = json_string_value(json_object_get(rec, "id"));
    snprintf(s->ids[s->n], sizeof s->ids[0], "%s", id ? id : "-");
    s->score[s->n] = json_number_value(json_object_get(rec, "score"));
    s->rrank[s->n] = (long)json_integer_value(json_object_get(rec, "retrieval_rank"));
    s->n++;
    return VS_OK;
}

static int push(struct vs_rerank *r, const char *json, struct sink *s,
                struct vs_diag *d)
{
    json_error_t je;
    json_t *rec = json_loads(json, 0, &je);
    if (!rec)
        return VS_E_JSON;
    int st = vs_rerank_push(r, rec, collect, s, d);
    json_decref(rec);
    return st;
}

static int add_query(struct vs_rerank *r, const char *json, struct vs_diag *d)
{
    json_error_t je;
    json_t *rec = json_loads(json, 0, &je);
    int st = vs_rerank_add_query(r, rec, d);
    json_decref(rec);
    return st;
}

static void test_names(void)
{
    enum vs_rerank_method m;
    enum vs_rerank_blend b;
    CHECK_EQ_INT(vs_rerank_method_parse("mmr", &m), VS_OK);
    CHECK_EQ_INT(m, VS_RERANK_MMR);
    CHECK_EQ_STR(vs_rerank_method_name(VS_RERANK_API), "api");
    CHECK_EQ_INT(vs_rerank_method_parse("colbert", &m), VS_E_USAGE);
    CHECK_EQ_INT(vs_rerank_blend_parse("minmax", &b), VS_OK);
    CHECK_EQ_INT(b, VS_RERANK_BLEND_MINMAX);
    CHECK_EQ_INT(vs_rerank_blend_parse("max", &b), VS_E_USAGE);
}

static void test_new_errors(void)
{
    struct vs_rerank_opts o;
    struct vs_rerank *r;
    struct vs_diag d;
    vs_rerank_opts_init(&o);
    o.method = VS_RERANK_LATE_INTERACTION; /* needs a model */
    CHECK_EQ_INT(vs_rerank_new(&o, &r, &d), VS_E_USAGE);
    CHECK(r == NULL);
    o.model = "/nonexistent/model";
    CHECK_EQ_INT(vs_rerank_new(&o, &r, &d), VS_E_IO);
    vs_rerank_opts_init(&o);
    o.method = VS_RERANK_MMR; /* a store is for bm25 */
    o.store = "/nonexistent/kb.vs";
    CHECK_EQ_INT(vs_rerank_new(&o, &r, &d), VS_E_USAGE);
    o.method = VS_RERANK_BM25;
    o.analyzer = "en";
    CHECK_EQ_INT(vs_rerank_new(&o, &r, &d), VS_E_USAGE);
    o.analyzer = NULL;
    CHECK_EQ_INT(vs_rerank_new(&o, &r, &d), VS_E_NOSTORE);
    vs_rerank_opts_init(&o);
    o.method = VS_RERANK_CROSS_ENCODER; /* needs a model */
    CHECK_EQ_INT(vs_rerank_new(&o, &r, &d), VS_E_USAGE);
    o.model = "/nonexistent/model";
    CHECK_EQ_INT(vs_rerank_new(&o, &r, &d), VS_E_IO);
    vs_rerank_opts_init(&o);
    o.lambda = 2;
    CHECK_EQ_INT(vs_rerank_new(&o, &r, &d), VS_E_USAGE);
    vs_rerank_opts_init(&o);
    o.method = VS_RERANK_API;
    CHECK_EQ_INT(vs_rerank_new(&o, &r, &d), VS_E_USAGE);
    vs_rerank_opts_init(&o);
    o.analyzer = "v1;lang=klingon";
    CHECK(vs_rerank_new(&o, &r, &d) != VS_OK);
    vs_rerank_free(NULL);
}

static void test_score_bm25(void)
{
    struct vs_rerank_opts o;
    struct vs_rerank *r;
    struct vs_diag d;
    vs_rerank_opts_init(&o);
    CHECK_EQ_INT(vs_rerank_new(&o, &r, &d), VS_OK);
    const char *texts[] = {"wing plane", "heat transfer boundary layer flow",
                           "boundary layer heat"};
    double s[3];
    size_t order[3];
    CHECK_EQ_INT(vs_rerank_score(r, "boundary layer heat transfer", texts, 3, NULL, 0,
                                 NULL, NULL, s, order, &d), VS_OK);
    /* N 3, avgdl 10/3; idf(df 2) = ln 1.6, idf(df 1) = ln(8/3) */
    double i2 = log(1.6), i1 = log(8.0 / 3);
    double nb = 2.2 / (1 + 1.2 * (0.25 + 0.75 * 5 / (10.0 / 3)));
    double nc = 2.2 / (1 + 1.2 * (0.25 + 0.75 * 3 / (10.0 / 3)));
    CHECK_NEAR(s[0], 0, 1e-12);
    CHECK_NEAR(s[1], (3 * i2 + i1) * nb, 1e-9);
    CHECK_NEAR(s[2], 3 * i2 * nc, 1e-9);
    CHECK_EQ_INT(order[0], 1);
    CHECK_EQ_INT(order[1], 2);
    CHECK_EQ_INT(order[2], 0);
    /* a query of stop words only: every score 0, order kept */
    CHECK_EQ_INT(vs_rerank_score(r, "the of", texts, 3, NULL, 0, NULL, NULL, s, order, &d),
                 VS_OK);
    CHECK_EQ_INT(order[0], 0);
    CHECK_NEAR(s[1], 0, 0);
    vs_rerank_free(r);
}

static void test_score_mmr(void)
{
    struct vs_rerank_opts o;
    struct vs_rerank *r;
    struct vs_diag d;
    vs_rerank_opts_init(&o);
    o.method = VS_RERANK_MMR;
    o.lambda = 0.5;
    CHECK_EQ_INT(vs_rerank_new(&o, &r, &d), VS_OK);
    const float v[] = {1, 0, 0.99f, 0.141f, 0, 1};
    const double rel[] = {0.9, 0.8, 0.7};
    double s[3];
    size_t order[3];
    CHECK_EQ_INT(vs_rerank_score(r, NULL, NULL, 3, v, 2, NULL, rel, s, order, &d), VS_OK);
    /* 0 first (0.45), then 2 (0.35 - 0) beats 1 (0.4 - 0.5 * ~0.99) */
    CHECK_EQ_INT(order[0], 0);
    CHECK_EQ_INT(order[1], 2);
    CHECK_EQ_INT(order[2], 1);
    CHECK_NEAR(s[0], 0.45, 1e-12);
    CHECK_NEAR(s[2], 0.35, 1e-12);
    vs_rerank_free(r);
}

static void test_stream(void)
{
    struct vs_rerank_opts o;
    struct vs_rerank *r;
    struct vs_diag d;
    struct sink s = {0};
    vs_rerank_opts_init(&o);
    o.k = 2;
    CHECK_EQ_INT(vs_rerank_new(&o, &r, &d), VS_OK);
    CHECK_EQ_INT(add_query(r, "{\"id\":\"q1\",\"text\":\"heat\"}", &d), VS_OK);
    CHECK_EQ_INT(add_query(r, "{\"id\":2,\"text\":\"wing\"}", &d), VS_OK);
    CHECK_EQ_INT(add_query(r, "{\"id\":\"q1\",\"text\":\"again\"}", &d), VS_E_DATA);
    CHECK_EQ_INT(add_query(r, "{\"id\":\"q9\"}", &d), VS_E_FIELD);
    CHECK_EQ_INT(push(r, "{\"qid\":\"q1\",\"id\":\"a\",\"rank\":1,\"score\":3,\"text\":\"wing\"}", &s, &d), VS_OK);
    CHECK_EQ_INT(push(r, "{\"qid\":\"q1\",\"id\":\"b\",\"rank\":2,\"score\":2,\"text\":\"heat\"}", &s, &d), VS_OK);
    CHECK_EQ_INT(push(r, "{\"qid\":\"q1\",\"id\":\"c\",\"rank\":3,\"score\":1,\"text\":\"heat heat\"}", &s, &d), VS_OK);
    CHECK_EQ_INT(s.n, 0); /* the group is still open */
    CHECK_EQ_INT(push(r, "{\"qid\":2,\"id\":\"a\",\"rank\":1,\"score\":1,\"text\":\"wing\"}", &s, &d), VS_OK);
    CHECK_EQ_INT(s.n, 2);  /* q1 written, cut to 2 */
    CHECK_EQ_STR(s.ids[0], "c"); /* tf 2 beats tf 1 */
    CHECK_EQ_STR(s.ids[1], "b");
    CHECK_EQ_INT(s.rrank[0], 3);
    /* q1 again: a violation */
    CHECK_EQ_INT(push(r, "{\"qid\":\"q1\",\"id\":\"z\",\"rank\":1,\"text\":\"x\"}", &s, &d), VS_E_DATA);
    CHECK(strstr(d.detail, "not together") != NULL);
    CHECK_EQ_INT(s.n, 3); /* group 2 was flushed first */
    /* a hit without text, a qid without query text */
    CHECK_EQ_INT(push(r, "{\"qid\":\"q3\",\"id\":\"z\"}", &s, &d), VS_E_FIELD);
    CHECK_EQ_INT(push(r, "{\"qid\":\"q3\",\"id\":\"z\",\"text\":\"x\"}", &s, &d), VS_E_FIELD);
    CHECK_EQ_INT(vs_rerank_finish(r, collect, &s, &d), VS_OK);
    struct vs_rerank_stats st;
    vs_rerank_stats(r, &st);
    CHECK_EQ_INT(st.groups, 2);
    CHECK_EQ_INT(st.hits_out, 3);
    vs_rerank_free(r);
}

static void test_blend_minmax(void)
{
    struct vs_rerank_opts o;
    struct vs_rerank *r;
    struct vs_diag d;
    struct sink s = {0};
    vs_rerank_opts_init(&o);
    o.blend = 0.25;
    o.blend_mode = VS_RERANK_BLEND_MINMAX;
    o.has_min_score = 1;
    o.min_score = 0.5;
    CHECK_EQ_INT(vs_rerank_new(&o, &r, &d), VS_OK);
    CHECK_EQ_INT(push(r, "{\"qid\":\"q\",\"query\":\"heat\",\"id\":\"a\",\"rank\":1,\"score\":10,\"text\":\"wing\"}", &s, &d), VS_OK);
    CHECK_EQ_INT(push(r, "{\"qid\":\"q\",\"query\":\"heat\",\"id\":\"b\",\"rank\":2,\"score\":8,\"text\":\"heat\"}", &s, &d), VS_OK);
    CHECK_EQ_INT(push(r, "{\"qid\":\"q\",\"query\":\"heat\",\"id\":\"c\",\"rank\":3,\"score\":6,\"text\":\"flow\"}", &s, &d), VS_OK);
    CHECK_EQ_INT(vs_rerank_finish(r, collect, &s, &d), VS_OK);
    /* a: 0.25*0 + 0.75*1 = 0.75; b: 0.25*1 + 0.75*0.5 = 0.625; c: 0 (dropped) */
    CHECK_EQ_INT(s.n, 2);
    CHECK_EQ_STR(s.ids[0], "a");
    CHECK_NEAR(s.score[0], 0.75, 1e-12);
    CHECK_EQ_STR(s.ids[1], "b");
    CHECK_NEAR(s.score[1], 0.625, 1e-12);
    vs_rerank_free(r);
}

/* vs_bert_forward_tokens (what the cross-encoder and late interaction
 * read): token types NULL gives token states whose mean, normalised, is
 * vs_bert_forward's vector; token type 1 changes the states; sequences of a
 * packed batch come back one after another, each as when run alone. */
static void test_bert_tokens(void)
{
    if (access("/usr/bin/python3", X_OK) != 0)
        SKIP("no /usr/bin/python3");
    char dir[] = "/tmp/vs-test-rerank-XXXXXX", cmd[512];
    if (!mkdtemp(dir))
        SKIP("mkdtemp failed");
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/make_tiny_bert.py %s/m >/dev/null", dir);
    CHECK_EQ_INT(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/m", dir);
    struct vs_bert *m = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_bert_open(cmd, &m, &d), VS_OK);
    if (m) {
        size_t H = vs_bert_dim(m), lens[2] = {5, 3};
        int32_t a[5] = {2, 60, 61, 62, 3}, b[3] = {2, 63, 3};
        int32_t ta[5] = {0, 0, 1, 1, 1}, tb[3] = {0, 0, 0};
        const int32_t *ids[2] = {a, b}, *types[2] = {ta, tb};
        float tok[8 * 64], tok0[8 * 64], alone[3 * 64], vec[2 * 64];
        CHECK(H <= 64);
        CHECK_EQ_INT(vs_bert_forward_tokens(m, 2, ids, NULL, lens, NULL, tok0), VS_OK);
        CHECK_EQ_INT(vs_bert_forward(m, 2, ids, lens, vec), VS_OK);
        for (size_t s = 0, off = 0; s < 2; off += lens[s], s++) {
            double nn = 0, mean[64] = {0};
            for (size_t c = 0; c < H; c++) {
                for (size_t i = 0; i < lens[s]; i++)
                    mean[c] += tok0[(off + i) * H + c] / (double)lens[s];
                nn += mean[c] * mean[c];
            }
            for (size_t c = 0; c < H; c++)
                CHECK_NEAR(mean[c] / sqrt(nn), vec[s * H + c], 1e-5);
        }
        CHECK_EQ_INT(vs_bert_forward_tokens(m, 2, ids, types, lens, NULL, tok), VS_OK);
        CHECK(fabsf(tok[4 * H] - tok0[4 * H]) > 1e-4); /* type 1 counts */
        CHECK_EQ_INT(vs_bert_forward_tokens(m, 1, ids + 1, types + 1, lens + 1, NULL, alone), VS_OK);
        for (size_t i = 0; i < 3 * H; i++)
            CHECK_NEAR(tok[5 * H + i], alone[i], 1e-5);
    }
    vs_bert_free(m);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_EQ_INT(system(cmd), 0);
}

int main(void)
{
    RUN(test_names);
    RUN(test_new_errors);
    RUN(test_score_bm25);
    RUN(test_score_mmr);
    RUN(test_stream);
    RUN(test_blend_minmax);
    RUN(test_bert_tokens);
    return vs_test_done();
}
