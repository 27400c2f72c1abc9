/* test_fuse.c: RRF, weighted min-max and DBSF fusion, and MMR, against
 * hand-computed values. */
#include <math.h>

#include "test.h"
#include "vs_internal.h"
#include "vs_fuse.h"
#include "vs_mmr.h"
#include "vs_ndjson.h"
#include "vs_query_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* list A: x 3, y 2, z 1; list B: y 10, w 0 */
static const struct vs_fuse_item A[] = {{"x", 3}, {"y", 2}, {"z", 1}};
static const struct vs_fuse_item B[] = {{"y", 10}, {"w", 0}};
static const struct vs_fuse_list AB[] = {{A, 3}, {B, 2}};

static void test_rrf(void)
{
    struct vs_fuse_result *r;
    size_t n;
    struct vs_diag d;
    CHECK_EQ_INT(vs_fuse(AB, 2, NULL, &r, &n, &d), VS_OK);
    CHECK_EQ_INT(n, 4);
    /* y: 1/61 + 1/62; x: 1/61; w: 1/62; z: 1/63 */
    CHECK_EQ_STR(r[0].id, "y");
    CHECK_NEAR(r[0].score, 1.0 / 61 + 1.0 / 62, 1e-15);
    CHECK_EQ_INT(r[0].ranks[0], 2);
    CHECK_EQ_INT(r[0].ranks[1], 1);
    CHECK_EQ_STR(r[1].id, "x");
    CHECK_NEAR(r[1].score, 0.016393443, 1e-9);
    CHECK_EQ_INT(r[1].ranks[1], 0);
    CHECK_EQ_STR(r[2].id, "w");
    CHECK_NEAR(r[2].score, 0.016129032, 1e-9);
    CHECK_EQ_STR(r[3].id, "z");
    CHECK_NEAR(r[3].score, 0.015873016, 1e-9);
    vs_fuse_results_free(r, n);
    /* another k */
    struct vs_fuse_opts o;
    vs_fuse_opts_init(&o);
    o.rrf_k = 1;
    CHECK_EQ_INT(vs_fuse(AB, 2, &o, &r, &n, &d), VS_OK);
    CHECK_NEAR(r[0].score, 0.5 + 1.0 / 3, 1e-15); /* y */
    vs_fuse_results_free(r, n);
}

static void test_weighted(void)
{
    struct vs_fuse_opts o;
    vs_fuse_opts_init(&o);
    o.method = VS_FUSE_WEIGHTED;
    struct vs_fuse_result *r;
    size_t n;
    struct vs_diag d;
    /* A min-max: x 1, y .5, z 0; B: y 1, w 0; alpha .5 */
    CHECK_EQ_INT(vs_fuse(AB, 2, &o, &r, &n, &d), VS_OK);
    CHECK_EQ_INT(n, 4);
    CHECK_EQ_STR(r[0].id, "y");
    CHECK_NEAR(r[0].score, 0.75, 1e-15);
    CHECK_EQ_STR(r[1].id, "x");
    CHECK_NEAR(r[1].score, 0.5, 1e-15);
    CHECK_EQ_STR(r[2].id, "w"); /* ties at 0 go by id */
    CHECK_EQ_STR(r[3].id, "z");
    CHECK_NEAR(r[3].score, 0, 1e-15);
    vs_fuse_results_free(r, n);
    /* alpha 0.9 favours list A */
    o.alpha = 0.9;
    CHECK_EQ_INT(vs_fuse(AB, 2, &o, &r, &n, &d), VS_OK);
    CHECK_EQ_STR(r[0].id, "x");
    CHECK_NEAR(r[0].score, 0.9, 1e-15);
    CHECK_NEAR(r[1].score, 0.45 + 0.1, 1e-15);
    vs_fuse_results_free(r, n);
    /* a list of equal scores normalises to 1 */
    const struct vs_fuse_item flat[] = {{"p", 5}, {"q", 5}};
    const struct vs_fuse_list one[] = {{flat, 2}};
    CHECK_EQ_INT(vs_fuse(one, 1, &o, &r, &n, &d), VS_OK);
    CHECK_NEAR(r[0].score, 1, 1e-15);
    CHECK_EQ_STR(r[0].id, "p");
    vs_fuse_results_free(r, n);
}

static void test_dbsf(void)
{
    struct vs_fuse_opts o;
    vs_fuse_opts_init(&o);
    o.method = VS_FUSE_DBSF;
    struct vs_fuse_result *r;
    size_t n;
    struct vs_diag d;
    /* A: mu 2, sigma sqrt(2/3); x -> (3 - 2 + 3 sigma) / (6 sigma) = 0.704124;
     * B: mu 5, sigma 5: y -> 20/30, w -> 10/30 */
    CHECK_EQ_INT(vs_fuse(AB, 2, &o, &r, &n, &d), VS_OK);
    CHECK_EQ_INT(n, 4);
    CHECK_EQ_STR(r[0].id, "y");
    CHECK_NEAR(r[0].score, 0.25 + 1.0 / 3, 1e-12);
    CHECK_EQ_STR(r[1].id, "x");
    CHECK_NEAR(r[1].score, 0.352062073, 1e-9);
    CHECK_EQ_STR(r[2].id, "w");
    CHECK_NEAR(r[2].score, 1.0 / 6, 1e-12);
    CHECK_EQ_STR(r[3].id, "z");
    CHECK_NEAR(r[3].score, 0.147937927, 1e-9);
    vs_fuse_results_free(r, n);
}

static void test_weights_and_errors(void)
{
    struct vs_fuse_opts o;
    vs_fuse_opts_init(&o);
    const double w[] = {2, 0};
    o.weights = w;
    struct vs_fuse_result *r;
    size_t n;
    struct vs_diag d;
    CHECK_EQ_INT(vs_fuse(AB, 2, &o, &r, &n, &d), VS_OK);
    CHECK_EQ_STR(r[0].id, "x");
    CHECK_NEAR(r[0].score, 2.0 / 61, 1e-15);
    vs_fuse_results_free(r, n);
    /* repeats inside a list count once, at their best rank */
    const struct vs_fuse_item rep[] = {{"a", 3}, {"a", 2}, {"b", 1}};
    const struct vs_fuse_list lr[] = {{rep, 3}};
    CHECK_EQ_INT(vs_fuse(lr, 1, NULL, &r, &n, &d), VS_OK);
    CHECK_EQ_INT(n, 2);
    CHECK_NEAR(r[0].score, 1.0 / 61, 1e-15);
    CHECK_NEAR(r[1].score, 1.0 / 63, 1e-15);
    vs_fuse_results_free(r, n);
    CHECK_EQ_INT(vs_fuse(NULL, 0, NULL, &r, &n, &d), VS_OK);
    CHECK_EQ_INT(n, 0);
    vs_fuse_results_free(r, n);
    vs_fuse_opts_init(&o);
    o.rrf_k = 0;
    CHECK_EQ_INT(vs_fuse(AB, 2, &o, &r, &n, &d), VS_E_USAGE);
    vs_fuse_opts_init(&o);
    o.alpha = 1.5;
    CHECK_EQ_INT(vs_fuse(AB, 2, &o, &r, &n, &d), VS_E_USAGE);
    const struct vs_fuse_item nan_item[] = {{"a", NAN}};
    const struct vs_fuse_list ln[] = {{nan_item, 1}};
    CHECK_EQ_INT(vs_fuse(ln, 1, NULL, &r, &n, &d), VS_E_USAGE);
    enum vs_fuse_method m;
    CHECK_EQ_INT(vs_fuse_method_parse("dbsf", &m), VS_OK);
    CHECK_EQ_INT(m, VS_FUSE_DBSF);
    CHECK_EQ_STR(vs_fuse_method_name(VS_FUSE_WEIGHTED), "weighted");
    CHECK_EQ_INT(vs_fuse_method_parse("sum", &m), VS_E_USAGE);
}

static void test_mmr(void)
{
    /* query (1,1); c0 = c1 = (1,0) (duplicates), c2 = (0,1): all have
     * relevance cos = 0.7071. lambda .5: pick c0 (tie, lower index), then
     * c2: .5*.7071 - .5*0 = .353553 beats c1: .353553 - .5*1 = -.146447 */
    const float q[] = {1, 1};
    const float c[] = {1, 0, 1, 0, 0, 1};
    size_t order[3], n;
    double mmr[3];
    struct vs_diag d;
    CHECK_EQ_INT(vs_mmr_select(c, 3, 2, q, NULL, 0.5, 3, order, mmr, &n, &d), VS_OK);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(order[0], 0);
    CHECK_EQ_INT(order[1], 2);
    CHECK_EQ_INT(order[2], 1);
    CHECK_NEAR(mmr[0], 0.353553391, 1e-8);
    CHECK_NEAR(mmr[1], 0.353553391, 1e-8);
    CHECK_NEAR(mmr[2], -0.146446609, 1e-8);
    /* lambda 1: relevance order */
    CHECK_EQ_INT(vs_mmr_select(c, 3, 2, q, NULL, 1, 3, order, NULL, &n, &d), VS_OK);
    CHECK(order[0] == 0 && order[1] == 1 && order[2] == 2);
    /* given relevance scores, k smaller than n */
    const double rel[] = {0.2, 0.9, 0.5};
    CHECK_EQ_INT(vs_mmr_select(c, 3, 2, NULL, rel, 0.7, 2, order, mmr, &n, &d), VS_OK);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(order[0], 1);
    CHECK_NEAR(mmr[0], 0.63, 1e-12);
    /* c2: .7*.5 - .3*0 = .35; c0: .7*.2 - .3*1 = -.16 */
    CHECK_EQ_INT(order[1], 2);
    CHECK_NEAR(mmr[1], 0.35, 1e-12);
    /* a zero vector has cosine 0 */
    const float z[] = {0, 0, 1, 0};
    CHECK_EQ_INT(vs_mmr_select(z, 2, 2, q, NULL, 0.5, 2, order, mmr, &n, &d), VS_OK);
    CHECK_EQ_INT(order[0], 1);
    CHECK_EQ_INT(vs_mmr_select(c, 3, 2, q, NULL, 1.5, 2, order, mmr, &n, &d), VS_E_USAGE);
    CHECK_EQ_INT(vs_mmr_select(c, 3, 2, NULL, NULL, 0.5, 2, order, mmr, &n, &d), VS_E_USAGE);
}

/* Scores near the double range fuse as the same lists scaled down do:
 * min-max and DBSF are scale-invariant, and nothing overflows to inf/NaN. */
static void test_huge_scores(void)
{
    static const struct vs_fuse_item H1[] = {{"a", 1e308}, {"b", -1e308}, {"c", 0}};
    static const struct vs_fuse_item H2[] = {{"c", 1e308}, {"a", 5e307}, {"b", -1e308}};
    static const struct vs_fuse_item S1[] = {{"a", 1}, {"b", -1}, {"c", 0}};
    static const struct vs_fuse_item S2[] = {{"c", 1}, {"a", 0.5}, {"b", -1}};
    const struct vs_fuse_list H[] = {{H1, 3}, {H2, 3}}, S[] = {{S1, 3}, {S2, 3}};
    for (int m = VS_FUSE_WEIGHTED; m <= VS_FUSE_DBSF; m++) {
        struct vs_fuse_opts o;
        vs_fuse_opts_init(&o);
        o.method = (enum vs_fuse_method)m;
        struct vs_fuse_result *rh, *rs;
        size_t nh, ns;
        struct vs_diag d;
        CHECK_EQ_INT(vs_fuse(H, 2, &o, &rh, &nh, &d), VS_OK);
        CHECK_EQ_INT(vs_fuse(S, 2, &o, &rs, &ns, &d), VS_OK);
        CHECK_EQ_INT(nh, 3);
        CHECK_EQ_INT(ns, 3);
        for (size_t i = 0; i < nh && i < ns; i++) {
            CHECK(isfinite(rh[i].score));
            CHECK_EQ_STR(rh[i].id, rs[i].id);
            CHECK_NEAR(rh[i].score, rs[i].score, 1e-12);
        }
        if (m == VS_FUSE_WEIGHTED) { /* a = (1 + 0.75) / 2, c = (0.5 + 1) / 2 */
            CHECK_EQ_STR(rh[0].id, "a");
            CHECK_NEAR(rh[0].score, 0.875, 1e-12);
            CHECK_NEAR(rh[1].score, 0.75, 1e-12);
        }
        vs_fuse_results_free(rh, nh);
        vs_fuse_results_free(rs, ns);
    }
}

/* vs_query_merge_files: the k best hits per qid over shard runs, ranks
 * renumbered, an id in two runs once (its best), ties by id, "hits": 0 for
 * a qid with none. */
static char merged[4096];

static int collect(const json_t *hit, void *arg)
{
    char *s = json_dumps(hit, VS_JSON_DUMP_FLAGS);
    strncat(merged, s, sizeof merged - strlen(merged) - 2);
    strcat(merged, "\n");
    free(s);
    (*(int *)arg)++;
    return VS_OK;
}

static void test_merge_files(void)
{
    char dir[256], a[300], b[300];
    CHECK(vs_test_tmpdir(dir, sizeof dir, "merge") == 0);
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    FILE *fa = fopen(a, "w"), *fb = fopen(b, "w");
    CHECK(fa && fb);
    fputs("{\"qid\":\"q1\",\"id\":\"x\",\"rank\":1,\"score\":0.9,\"t\":\"a\"}\n"
          "{\"qid\":\"q1\",\"id\":\"y\",\"rank\":2,\"score\":0.5}\n"
          "{\"qid\":\"q2\",\"hits\":0}\n"
          "{\"qid\":\"q3\",\"id\":\"z\",\"rank\":1,\"score\":1}\n", fa);
    fputs("{\"qid\":\"q1\",\"id\":\"w\",\"rank\":1,\"score\":0.7}\n"
          "{\"qid\":\"q1\",\"id\":\"v\",\"rank\":2,\"score\":0.5}\n"
          "{\"qid\":\"q1\",\"id\":\"x\",\"rank\":3,\"score\":0.1}\n"
          "{\"qid\":\"q2\",\"hits\":0}\n", fb);
    fclose(fa);
    fclose(fb);
    const char *paths[] = {a, b};
    struct vs_diag d;
    vs_diag_clear(&d);
    uint64_t nq = 0, nh = 0, inc = 9;
    int n = 0;
    merged[0] = 0;
    CHECK_EQ_INT(vs_query_merge_files(paths, 2, 3, NULL, collect, &n, &nq, &nh, &inc, &d), VS_OK);
    CHECK_EQ_STR(merged,
                 "{\"qid\":\"q1\",\"id\":\"x\",\"rank\":1,\"score\":0.9,\"t\":\"a\"}\n"
                 "{\"qid\":\"q1\",\"id\":\"w\",\"rank\":2,\"score\":0.7}\n"
                 "{\"qid\":\"q1\",\"id\":\"v\",\"rank\":3,\"score\":0.5}\n"
                 "{\"qid\":\"q2\",\"hits\":0}\n"
                 "{\"qid\":\"q3\",\"id\":\"z\",\"rank\":1,\"score\":1}\n");
    CHECK_EQ_INT(nq, 3);
    CHECK_EQ_INT(nh, 4);
    CHECK_EQ_INT(inc, 0);
    /* k 0: all; x once (its best, 0.9), y after v (equal scores, by id) */
    merged[0] = 0;
    CHECK_EQ_INT(vs_query_merge_files(paths, 2, 0, NULL, collect, &n, &nq, &nh, NULL, &d), VS_OK);
    CHECK(strstr(merged, "\"id\":\"v\",\"rank\":3") != NULL);
    CHECK(strstr(merged, "\"id\":\"y\",\"rank\":4") != NULL);
    CHECK(strstr(merged, "\"score\":0.1") == NULL);
    CHECK_EQ_INT(nh, 5);
    /* a hit without a score: VS_E_FIELD naming the file and line */
    fb = fopen(b, "w");
    CHECK(fb != NULL);
    fputs("{\"qid\":\"q1\",\"id\":\"w\"}\n", fb);
    fclose(fb);
    CHECK_EQ_INT(vs_query_merge_files(paths, 2, 3, NULL, collect, &n, &nq, &nh, NULL, &d), VS_E_FIELD);
    CHECK_EQ_INT(d.line, 1);
    CHECK(strstr(d.file, "/b") != NULL);
    vs_test_rmtree(dir);
}

int main(void)
{
    RUN(test_huge_scores);
    RUN(test_rrf);
    RUN(test_weighted);
    RUN(test_dbsf);
    RUN(test_weights_and_errors);
    RUN(test_mmr);
    RUN(test_merge_files);
    return vs_test_done();
}
