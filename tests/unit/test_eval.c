/* test_eval.c: trec_eval measures on hand-computed cases, readers, the
 * statistics, gates and ANN overlap recall. */
#include "test.h"
#include "vs_internal.h"

#include <unistd.h>

static char tmpdir[] = "/tmp/vs-test-eval-XXXXXX";

static const char *put(const char *name, const char *text)
{
    static char paths[16][600];
    static int n;
    char *p = paths[n++ % 16];
    snprintf(p, 600, "%s/%s", tmpdir, name);
    FILE *fp = fopen(p, "w");
    fputs(text, fp);
    fclose(fp);
    return p;
}

/* q1: graded, an unjudged-in-pool doc (e), a doc not in the qrels (z) and a
 * score tie (a, z); q2: no relevant document; q3: judged but not run; q9:
 * run but not judged. */
static const char *QRELS =
    "q1 0 a 2\nq1 0 b 1\nq1 0 c 0\nq1 0 d 1\nq1 0 e -1\n"
    "q2 0 x 0\n"
    "q3 0 y 1\n";
static const char *RUN =
    "q1 Q0 a 1 0.5 t\nq1 Q0 e 2 0.9 t\nq1 Q0 z 3 0.5 t\nq1 Q0 b 4 0.1 t\n"
    "q1 Q0 c 5 0.7 t\n"
    "q2 Q0 x 1 0.3 t\nq2 Q0 w 2 0.2 t\n"
    "q9 Q0 k 1 1.0 t\n";

static struct vs_eval_result *evaluate(const char *qrels, const char *run,
                                       const char *const *measures, int complete)
{
    struct vs_eval_qrels *q = NULL;
    struct vs_eval_run *r = NULL;
    struct vs_eval_spec *s = NULL;
    struct vs_eval_result *res = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_eval_qrels_load(put("q", qrels), &q, &d), VS_OK);
    CHECK_EQ_INT(vs_eval_run_load(put("r", run), "r", &r, &d), VS_OK);
    CHECK_EQ_INT(vs_eval_spec_new(&s), VS_OK);
    for (size_t i = 0; measures[i]; i++)
        CHECK_EQ_INT(vs_eval_spec_add(s, measures[i], &d), VS_OK);
    struct vs_eval_opts o = {1, complete};
    if (q && r)
        CHECK_EQ_INT(vs_eval_evaluate(q, r, s, &o, &res, &d), VS_OK);
    vs_eval_spec_free(s);
    vs_eval_run_free(r);
    vs_eval_qrels_free(q);
    return res;
}

static double val(const struct vs_eval_result *r, const char *qid, const char *m)
{
    long mi = vs_eval_result_find(r, m);
    for (size_t q = 0; mi >= 0 && q < vs_eval_result_queries(r); q++)
        if (strcmp(vs_eval_result_qid(r, q), qid) == 0)
            return vs_eval_result_value(r, q, (size_t)mi);
    return -999;
}

static double mean(const struct vs_eval_result *r, const char *m)
{
    double v = -999;
    vs_eval_result_get(r, m, &v);
    return v;
}

static const char *const ALL[] = {"num_ret", "num_rel", "num_rel_ret", "map",
    "Rprec", "bpref", "recip_rank", "P.5,10", "recall_5", "ndcg",
    "ndcg_cut.1,3,5", "map_cut_4", "success.1,5", "judged_5", NULL};

static void test_measures_hand_computed(void)
{
    struct vs_eval_result *r = evaluate(QRELS, RUN, ALL, 0);
    if (!r)
        return;
    /* q1 ranking: e(unjudged) c(0) z(not judged) a(2) b(1); R = 3 */
    CHECK_EQ_INT(vs_eval_result_queries(r), 2); /* q3 not run, q9 not judged */
    CHECK_NEAR(val(r, "q1", "num_ret"), 5, 0);
    CHECK_NEAR(val(r, "q1", "num_rel"), 3, 0);
    CHECK_NEAR(val(r, "q1", "num_rel_ret"), 2, 0);
    CHECK_NEAR(val(r, "q1", "map"), (1.0 / 4 + 2.0 / 5) / 3, 1e-12);
    CHECK_NEAR(val(r, "q1", "Rprec"), 0, 1e-12);
    CHECK_NEAR(val(r, "q1", "bpref"), 0, 1e-12);
    CHECK_NEAR(val(r, "q1", "recip_rank"), 0.25, 1e-12);
    CHECK_NEAR(val(r, "q1", "P_5"), 0.4, 1e-12);
    CHECK_NEAR(val(r, "q1", "P_10"), 0.2, 1e-12);
    CHECK_NEAR(val(r, "q1", "recall_5"), 2.0 / 3, 1e-12);
    double dcg = 2 / log2(5.0) + 1 / log2(6.0), idcg = 2 + 1 / log2(3.0) + 0.5;
    CHECK_NEAR(val(r, "q1", "ndcg"), dcg / idcg, 1e-12);
    CHECK_NEAR(val(r, "q1", "ndcg_cut_1"), 0, 1e-12);
    CHECK_NEAR(val(r, "q1", "ndcg_cut_3"), 0, 1e-12);
    CHECK_NEAR(val(r, "q1", "ndcg_cut_5"), dcg / idcg, 1e-12);
    CHECK_NEAR(val(r, "q1", "map_cut_4"), 0.25 / 3, 1e-12);
    CHECK_NEAR(val(r, "q1", "success_1"), 0, 0);
    CHECK_NEAR(val(r, "q1", "success_5"), 1, 0);
    CHECK_NEAR(val(r, "q1", "judged_5"), 3.0 / 5, 1e-12);
    /* q2 has no relevant document: everything 0, counts still count */
    CHECK_NEAR(val(r, "q2", "map"), 0, 0);
    CHECK_NEAR(val(r, "q2", "ndcg"), 0, 0);
    CHECK_NEAR(val(r, "q2", "num_ret"), 2, 0);
    CHECK_NEAR(val(r, "q2", "judged_5"), 0.2, 1e-12);
    /* averages over the 2 evaluated queries; counts are sums */
    CHECK_NEAR(mean(r, "map"), (1.0 / 4 + 2.0 / 5) / 3 / 2, 1e-12);
    CHECK_NEAR(mean(r, "num_ret"), 7, 0);
    CHECK_NEAR(mean(r, "P_5"), 0.2, 1e-12);
    vs_eval_result_free(r);
}

static void test_complete_averages_over_judged(void)
{
    struct vs_eval_result *r = evaluate(QRELS, RUN, ALL, 1);
    if (!r)
        return;
    CHECK_EQ_INT(vs_eval_result_num_q(r), 3);
    CHECK_NEAR(mean(r, "map"), (1.0 / 4 + 2.0 / 5) / 3 / 3, 1e-12);
    CHECK_NEAR(mean(r, "num_rel"), 4, 0);
    CHECK_NEAR(val(r, "q3", "num_ret"), 0, 0);
    vs_eval_result_free(r);
}

static void test_graded_gain_and_level(void)
{
    /* one query, gains 3 and 1; run puts the 1 first */
    const char *qrels = "{\"qid\":\"1\",\"id\":\"h\",\"rel\":3}\n"
                        "{\"qid\":\"1\",\"id\":\"l\",\"rel\":1}\n";
    const char *run = "{\"qid\":\"1\",\"id\":\"l\",\"score\":2}\n"
                      "{\"qid\":\"1\",\"id\":\"h\",\"score\":1}\n";
    static const char *const m[] = {"ndcg@2", "map", "num_rel", NULL};
    struct vs_eval_result *r = evaluate(qrels, run, m, 0);
    if (!r)
        return;
    CHECK_NEAR(val(r, "1", "ndcg_cut_2"), (1 + 3 / log2(3.0)) / (3 + 1 / log2(3.0)), 1e-12);
    CHECK_NEAR(val(r, "1", "map"), 1.0, 1e-12);
    vs_eval_result_free(r);
}

static void test_bpref_and_rprec(void)
{
    /* R = 3 (r1 r2 r3), N = 2 judged non-relevant (n1 n2), u unjudged.
     * ranking: r1 u n1 r2 r3 n2
     * bpref = (1 + (1 - 1/2) + (1 - 1/2)) / 3; Rprec: top 3 = r1 u n1 -> 1/3 */
    const char *qrels = "1 0 r1 1\n1 0 r2 1\n1 0 r3 2\n1 0 n1 0\n1 0 n2 0\n";
    const char *run = "1 Q0 r1 1 6 t\n1 Q0 u 2 5 t\n1 Q0 n1 3 4 t\n1 Q0 r2 4 3 t\n"
                      "1 Q0 r3 5 2 t\n1 Q0 n2 6 1 t\n";
    static const char *const m[] = {"bpref", "Rprec", "recip_rank", "map", NULL};
    struct vs_eval_result *r = evaluate(qrels, run, m, 0);
    if (!r)
        return;
    CHECK_NEAR(val(r, "1", "bpref"), 2.0 / 3, 1e-12);
    CHECK_NEAR(val(r, "1", "Rprec"), 1.0 / 3, 1e-12);
    CHECK_NEAR(val(r, "1", "recip_rank"), 1.0, 1e-12);
    CHECK_NEAR(val(r, "1", "map"), (1.0 + 2.0 / 4 + 3.0 / 5) / 3, 1e-12);
    vs_eval_result_free(r);
}

static void test_empty_run(void)
{
    static const char *const m[] = {"map", "P_5", NULL};
    struct vs_eval_result *r = evaluate(QRELS, "", m, 0);
    if (!r)
        return;
    CHECK_EQ_INT(vs_eval_result_num_q(r), 0);
    CHECK_NEAR(mean(r, "map"), 0, 0);
    vs_eval_result_free(r);
}

static void test_formats_detected(void)
{
    struct vs_eval_qrels *q = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_eval_qrels_load(put("b", "query-id\tcorpus-id\tscore\n1\td1\t1\n1\td2\t0\n2\td3\t2\n"),
                                    &q, &d), VS_OK);
    CHECK_EQ_STR(vs_eval_qrels_format(q), "beir");
    CHECK_EQ_INT(vs_eval_qrels_queries(q), 2);
    vs_eval_qrels_free(q);
    CHECK_EQ_INT(vs_eval_qrels_load(put("t", QRELS), &q, &d), VS_OK);
    CHECK_EQ_STR(vs_eval_qrels_format(q), "trec");
    vs_eval_qrels_free(q);
    CHECK_EQ_INT(vs_eval_qrels_load(put("n", "{\"qid\":\"1\",\"id\":\"a\",\"rel\":1}\n"), &q, &d), VS_OK);
    CHECK_EQ_STR(vs_eval_qrels_format(q), "ndjson");
    vs_eval_qrels_free(q);
}

static void test_bad_input_names_line(void)
{
    struct vs_eval_qrels *q = NULL;
    struct vs_eval_run *r = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_eval_qrels_load(put("bad", "1 0 a 1\n1 0 b x\n"), &q, &d), VS_E_DATA);
    CHECK_EQ_INT(d.line, 2);
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_eval_run_load(put("dup", "1 Q0 a 1 1 t\n1 Q0 b 2 0.5 t\n1 Q0 a 3 0.2 t\n"),
                                  NULL, &r, &d), VS_E_DATA);
    CHECK_EQ_INT(d.line, 3);
    CHECK(strstr(d.detail, "duplicate") != NULL);
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_eval_run_load(put("short", "1 Q0 a 1 1 t\n1 Q0 b 2\n"), NULL, &r, &d), VS_E_DATA);
    CHECK_EQ_INT(d.line, 2);
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_eval_run_load(put("nj", "{\"qid\":\"1\",\"id\":\"a\",\"score\":1}\n{\"qid\":\"1\"}\n"),
                                  NULL, &r, &d), VS_E_FIELD);
    CHECK_EQ_INT(d.line, 2);
    CHECK(r == NULL);
}

static void test_measure_names(void)
{
    char buf[64];
    struct vs_diag d;
    vs_diag_clear(&d);
    static const char *const in[][2] = {
        {"ndcg@10", "ndcg_cut_10"}, {"p@5", "P_5"},      {"P@5", "P_5"},
        {"r@100", "recall_100"},    {"mrr", "recip_rank"}, {"map@100", "map_cut_100"},
        {"hit@10", "success_10"},   {"recall_20", "recall_20"}, {"Rprec", "Rprec"},
        {"ann_recall@10", "ann_recall_10"}, {"k_shortfall", "k_shortfall"},
        {"judged@10", "judged_10"}};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        CHECK_EQ_INT(vs_eval_canonical(in[i][0], buf, sizeof buf, &d), VS_OK);
        CHECK_EQ_STR(buf, in[i][1]);
    }
    CHECK_EQ_INT(vs_eval_canonical("ndcg@", buf, sizeof buf, &d), VS_E_USAGE);
    CHECK_EQ_INT(vs_eval_canonical("P", buf, sizeof buf, &d), VS_E_USAGE);
    CHECK_EQ_INT(vs_eval_canonical("nope", buf, sizeof buf, &d), VS_E_USAGE);
}

static void test_randomization_exhaustive(void)
{
    double d[10];
    for (int i = 0; i < 10; i++)
        d[i] = 0.1 + 0.01 * i;
    /* all differences positive: only "all +" and "all -" reach |sum| */
    CHECK_NEAR(vs_eval_randomization_p(d, 10, 10000, 1), 2.0 / 1024, 1e-15);
    /* Monte Carlo for n = 20: p = (count + 1) / (N + 1), count ~ 0 */
    double e[20];
    for (int i = 0; i < 20; i++)
        e[i] = 1;
    double p = vs_eval_randomization_p(e, 20, 10000, 42);
    CHECK(p > 0 && p < 5.0 / 10001);
    CHECK_NEAR(p, vs_eval_randomization_p(e, 20, 10000, 42), 0); /* seeded */
    double z[4] = {0.1, -0.1, 0.2, -0.2};
    CHECK_NEAR(vs_eval_randomization_p(z, 4, 10000, 1), 1.0, 1e-12);
}

static void test_student_t(void)
{
    CHECK_NEAR(vs_eval_betainc(2, 3, 0.4), 0.5248, 1e-12);
    CHECK_NEAR(vs_eval_betainc(0.5, 0.5, 0.5), 0.5, 1e-12);
    CHECK_NEAR(vs_eval_t_cdf(0, 7), 0.5, 1e-12);
    CHECK_NEAR(vs_eval_t_cdf(2.776445105, 4), 0.975, 1e-6);
    CHECK_NEAR(vs_eval_t_cdf(-12.70620474, 1), 0.025, 1e-6);
    double d[5] = {1, 2, 3, 4, 5};
    /* t = 3 / (sqrt(2.5)/sqrt(5)) = 4.2426, df 4: two-sided p = 0.013236 */
    CHECK_NEAR(vs_eval_ttest_p(d, 5), 0.0132356, 1e-6);
    double same[3] = {0, 0, 0};
    CHECK_NEAR(vs_eval_ttest_p(same, 3), 1.0, 0);
}

static void test_compare_counts(void)
{
    static const char *const m[] = {"map", NULL};
    struct vs_eval_result *a = evaluate(QRELS, RUN, m, 0);
    struct vs_eval_result *b = evaluate(QRELS,
        "q1 Q0 a 1 0.9 t\nq1 Q0 b 1 0.8 t\nq1 Q0 d 1 0.7 t\nq2 Q0 x 1 1 t\n", m, 0);
    struct vs_eval_cmp c;
    if (a && b) {
        CHECK_EQ_INT(vs_eval_compare(a, b, "map", 1000, 1, &c), VS_OK);
        CHECK_EQ_INT(c.n, 2);
        CHECK_EQ_INT(c.worse, 1);  /* q1 got worse than the baseline's 1.0 */
        CHECK_EQ_INT(c.ties, 1);   /* q2: 0 and 0 */
        CHECK_NEAR(c.diff, ((1.0 / 4 + 2.0 / 5) / 3 - 1.0) / 2, 1e-12);
        CHECK_EQ_INT(vs_eval_compare(a, b, "P_5", 1000, 1, &c), VS_E_NOTFOUND);
    }
    vs_eval_result_free(a);
    vs_eval_result_free(b);
}

static void test_gates(void)
{
    struct vs_eval_gates *g = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_eval_gates_new(&g), VS_OK);
    CHECK_EQ_INT(vs_eval_gates_load(g, put("g.yaml",
        "gates:\n  - map >= 0.05\n  - P@5 > 0.5\n  - map regression <= 0.01 against baseline\n"), &d), VS_OK);
    CHECK_EQ_INT(vs_eval_gates_count(g), 3);
    CHECK_EQ_STR(vs_eval_gates_measure(g, 1), "P_5");
    CHECK(vs_eval_gates_needs_baseline(g, 2));
    static const char *const m[] = {"map", "P_5", NULL};
    struct vs_eval_result *r = evaluate(QRELS, RUN, m, 0);
    json_t *v = NULL;
    long failed = -1;
    CHECK_EQ_INT(vs_eval_gates_check(g, r, NULL, &v, &failed, &d), VS_E_USAGE); /* no baseline */
    CHECK_EQ_INT(vs_eval_gates_check(g, r, r, &v, &failed, &d), VS_OK);
    CHECK_EQ_INT(failed, 1); /* P_5 = 0.2 */
    CHECK(json_is_true(json_object_get(json_array_get(v, 0), "pass")));
    CHECK(json_is_false(json_object_get(json_array_get(v, 1), "pass")));
    CHECK(json_is_true(json_object_get(json_array_get(v, 2), "pass")));
    json_decref(v);
    vs_eval_result_free(r);
    vs_eval_gates_free(g);

    CHECK_EQ_INT(vs_eval_gates_new(&g), VS_OK);
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_eval_gates_load(g, put("bad.yaml", "gates:\n  - map >= 0.5\n  - foo@3 >= 1\n"), &d), VS_E_CONFIG);
    CHECK_EQ_INT(d.line, 3);
    CHECK_EQ_INT(d.col, 5);
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_eval_gates_load(g, put("bad2.yaml", "gates: [map >= 0.5\n"), &d), VS_E_CONFIG);
    CHECK(d.line >= 1);
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_eval_gates_add(g, "map >=", "x", 1, 1, &d), VS_E_CONFIG);
    CHECK_EQ_INT(vs_eval_gates_add_fail_under(g, "ndcg@10=0.5", &d), VS_OK);
    CHECK_EQ_INT(vs_eval_gates_add_fail_under(g, "ndcg@10", &d), VS_E_USAGE);
    vs_eval_gates_free(g);
}

static void test_ann_recall(void)
{
    struct vs_eval_run *ex = NULL, *ap = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_eval_run_load(put("ex", "1 Q0 a 1 3 e\n1 Q0 b 2 2 e\n1 Q0 c 3 1 e\n"
                                            "2 Q0 x 1 3 e\n2 Q0 y 2 2 e\n"), NULL, &ex, &d), VS_OK);
    CHECK_EQ_INT(vs_eval_run_load(put("ap", "1 Q0 a 1 3 e\n1 Q0 c 2 2 e\n1 Q0 z 3 1 e\n"
                                            "2 Q0 y 1 3 e\n"), NULL, &ap, &d), VS_OK);
    double rec;
    long sh, nq;
    CHECK_EQ_INT(vs_eval_ann(ap, ex, 2, &rec, &sh, &nq), VS_OK);
    /* q1 top2: {a,c} vs {a,b} -> 1/2; q2 top2: {y} vs {x,y} -> 1/2 */
    CHECK_NEAR(rec, 0.5, 1e-12);
    CHECK_EQ_INT(sh, 1);
    CHECK_EQ_INT(nq, 2);
    vs_eval_run_free(ex);
    vs_eval_run_free(ap);
}

static void test_tsv_layout(void)
{
    static const char *const m[] = {"runid", "num_q", "num_ret", "map", NULL};
    struct vs_eval_result *r = evaluate(QRELS, RUN, m, 0);
    if (!r)
        return;
    FILE *fp = tmpfile();
    CHECK_EQ_INT(vs_eval_result_write_tsv(fp, r, "t", 1), VS_OK);
    rewind(fp);
    char buf[1024] = {0};
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    CHECK_EQ_STR(buf,
                 "num_ret               \tq1\t5\n"
                 "map                   \tq1\t0.2167\n"
                 "num_ret               \tq2\t2\n"
                 "map                   \tq2\t0.0000\n"
                 "runid                 \tall\tt\n"
                 "num_q                 \tall\t2\n"
                 "num_ret               \tall\t7\n"
                 "map                   \tall\t0.1083\n");
    vs_eval_result_free(r);
}

int main(void)
{
    if (!mkdtemp(tmpdir))
        return 1;
    RUN(test_measures_hand_computed);
    RUN(test_complete_averages_over_judged);
    RUN(test_graded_gain_and_level);
    RUN(test_bpref_and_rprec);
    RUN(test_empty_run);
    RUN(test_formats_detected);
    RUN(test_bad_input_names_line);
    RUN(test_measure_names);
    RUN(test_randomization_exhaustive);
    RUN(test_student_t);
    RUN(test_compare_counts);
    RUN(test_gates);
    RUN(test_ann_recall);
    RUN(test_tsv_layout);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        return 1;
    return vs_test_done();
}
