/* test_eval_job.c: a whole evaluation (vs_eval_job: judgments, exact run,
 * baseline), the summary objects, gates applied to a summary, verdict text
 * and the output records, called directly. */
#include "test.h"
#include "vs_internal.h"

static char dir[256];

static const char *put(const char *name, const char *text)
{
    static char paths[8][600];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 600, "%s/%s", dir, name);
    FILE *fp = fopen(p, "w");
    if (fp) {
        fputs(text, fp);
        fclose(fp);
    }
    return p;
}

/* q1: d1 relevant, d3 relevant; q2: d2 relevant. */
static const char *QRELS = "q1 0 d1 1\nq1 0 d3 1\nq2 0 d2 1\n";
/* run A: q1 d1 d2 d3, q2 d2 (with latencies); run B: q1 d2 d1, q2 d9 */
static const char *RUN_A =
    "{\"qid\":\"q1\",\"id\":\"d1\",\"rank\":1,\"score\":3,\"elapsed_us\":100}\n"
    "{\"qid\":\"q1\",\"id\":\"d2\",\"rank\":2,\"score\":2,\"elapsed_us\":100}\n"
    "{\"qid\":\"q1\",\"id\":\"d3\",\"rank\":3,\"score\":1,\"elapsed_us\":100}\n"
    "{\"qid\":\"q2\",\"id\":\"d2\",\"rank\":1,\"score\":5,\"elapsed_us\":300}\n";
static const char *RUN_B = "q1 Q0 d2 1 2 tagB\nq1 Q0 d1 2 1 tagB\nq2 Q0 d9 1 1 tagB\n";

static struct vs_eval_run *load(const char *name, const char *text)
{
    struct vs_eval_run *r = NULL;
    CHECK_EQ_INT(vs_eval_run_load(put(name, text), NULL, &r, NULL), VS_OK);
    return r;
}

static double measure(const json_t *sum, const char *m)
{
    return json_number_value(json_object_get(json_object_get(sum, "measures"), m));
}

static void test_score_with_qrels_and_default_measures(void)
{
    struct vs_eval_spec *spec;
    struct vs_eval_gates *gates;
    CHECK_EQ_INT(vs_eval_spec_new(&spec), VS_OK);
    CHECK_EQ_INT(vs_eval_gates_new(&gates), VS_OK);
    struct vs_eval_job_opts o = {put("qrels.txt", QRELS), NULL, NULL, 1, 0, 10, 1000, 1, 1, 0};
    struct vs_eval_job *j = NULL;
    struct vs_diag d;
    CHECK_EQ_INT(vs_eval_job_new(&o, spec, gates, &j, &d), VS_OK);
    CHECK(vs_eval_spec_count(spec) > 0); /* the default set joined */
    CHECK(vs_eval_job_baseline(j) == NULL);
    struct vs_eval_run *run = load("a.ndjson", RUN_A);
    struct vs_eval_result *res = NULL;
    json_t *sum = NULL;
    CHECK_EQ_INT(vs_eval_job_score(j, run, &res, &sum, &d), VS_OK);
    /* keys in order: run, runid, num_q, measures */
    const char *keys[] = {"run", "runid", "num_q", "measures"};
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(sum, k, v) {
        CHECK(i < 4 && strcmp(k, keys[i]) == 0);
        i++;
    }
    CHECK_EQ_INT(i, 4);
    CHECK_EQ_INT(json_integer_value(json_object_get(sum, "num_q")), 2);
    /* q1: AP (1 + 2/3) / 2, q2: AP 1 */
    CHECK_NEAR(measure(sum, "map"), ((1 + 2.0 / 3) / 2 + 1) / 2, 1e-4);
    CHECK_NEAR(measure(sum, "recip_rank"), 1.0, 1e-9);
    CHECK_NEAR(measure(sum, "latency_p50_us"), 100, 1e-9);
    CHECK_NEAR(measure(sum, "latency_p99_us"), 300, 1e-9);
    CHECK(json_object_get(json_object_get(sum, "measures"), "ann_recall_10") == NULL);
    json_decref(sum);
    vs_eval_result_free(res);
    vs_eval_run_free(run);
    vs_eval_job_free(j);
    vs_eval_gates_free(gates);
    vs_eval_spec_free(spec);
}

static void test_against_baseline_and_gates(void)
{
    struct vs_eval_spec *spec;
    struct vs_eval_gates *gates;
    struct vs_diag d;
    CHECK_EQ_INT(vs_eval_spec_new(&spec), VS_OK);
    CHECK_EQ_INT(vs_eval_gates_new(&gates), VS_OK);
    CHECK_EQ_INT(vs_eval_gates_add_fail_under(gates, "P_1=0.75", &d), VS_OK);
    CHECK_EQ_INT(vs_eval_gates_add_fail_under(gates, "ann_recall_2=0.1", &d), VS_OK);
    /* no default set: only the gate's ranked measure joins */
    struct vs_eval_job_opts o = {put("qrels.txt", QRELS), put("exact.ndjson", RUN_A),
                                 put("base.run", RUN_B), 1, 0, 2, 1000, 1, 0, 0};
    struct vs_eval_job *j = NULL;
    CHECK_EQ_INT(vs_eval_job_new(&o, spec, gates, &j, &d), VS_OK);
    CHECK_EQ_INT(vs_eval_spec_count(spec), 1);
    CHECK(vs_eval_job_baseline(j) != NULL);
    struct vs_eval_run *run = load("b.run", RUN_B);
    struct vs_eval_result *res = NULL;
    json_t *sum = NULL;
    CHECK_EQ_INT(vs_eval_job_score(j, run, &res, &sum, &d), VS_OK);
    CHECK_EQ_STR(json_string_value(json_object_get(sum, "runid")), "tagB");
    CHECK_EQ_STR(json_string_value(json_object_get(sum, "baseline")), o.baseline);
    CHECK(json_object_get(json_object_get(sum, "compare"), "P_1") != NULL);
    /* top 2 of B against top 2 of A: q1 {d2,d1} vs {d1,d2} = 1, q2 d9 vs d2 = 0 */
    CHECK_NEAR(measure(sum, "ann_recall_2"), 0.5, 1e-9);
    CHECK_NEAR(measure(sum, "k_shortfall"), 1, 1e-9);
    CHECK_NEAR(measure(sum, "P_1"), 0.0, 1e-9);
    long failed = 0;
    CHECK_EQ_INT(vs_eval_gates_apply(gates, res, vs_eval_job_baseline(j), sum, &failed, &d), VS_OK);
    CHECK_EQ_INT(failed, 1); /* P_1 0 < 0.75; ann_recall_2 0.5 >= 0.1 */
    json_t *verdicts = json_object_get(sum, "gates");
    CHECK_EQ_INT(json_array_size(verdicts), 2);
    char buf[256];
    vs_eval_verdict_format(json_array_get(verdicts, 0), buf, sizeof buf);
    CHECK_EQ_STR(buf, "P_1: 0.000000");
    CHECK(json_is_false(json_object_get(json_array_get(verdicts, 0), "pass")));
    json_decref(sum);
    vs_eval_result_free(res);
    vs_eval_run_free(run);
    vs_eval_job_free(j);
    vs_eval_gates_free(gates);
    vs_eval_spec_free(spec);
}

static void test_job_errors(void)
{
    struct vs_eval_spec *spec;
    struct vs_eval_gates *gates;
    CHECK_EQ_INT(vs_eval_spec_new(&spec), VS_OK);
    CHECK_EQ_INT(vs_eval_gates_new(&gates), VS_OK);
    struct vs_eval_job *j = (struct vs_eval_job *)1;
    struct vs_diag d;
    char missing[600];
    snprintf(missing, sizeof missing, "%s/missing", dir);
    struct vs_eval_job_opts o = {missing, NULL, NULL, 1, 0, 10, 1000, 1, 1, 0};
    CHECK(vs_eval_job_new(&o, spec, gates, &j, &d) != VS_OK);
    CHECK(j == NULL);
    /* a bad baseline names its line */
    o.qrels = put("qrels.txt", QRELS);
    o.baseline = put("bad.ndjson", "{\"qid\":\"q1\",\"id\":\"d1\",\"rank\":1,\"score\":1}\n{nope\n");
    CHECK_EQ_INT(vs_eval_job_new(&o, spec, gates, &j, &d), VS_E_JSON);
    CHECK_EQ_INT(d.line, 2);
    CHECK(j == NULL);
    vs_eval_gates_free(gates);
    vs_eval_spec_free(spec);
}

static void test_verdict_text_and_rag_summary(void)
{
    json_t *v = json_pack("{s:s, s:f, s:f, s:f}", "measure", "map", "regression", 0.125,
                          "baseline", 0.5, "run", 0.375);
    char buf[256];
    vs_eval_verdict_format(v, buf, sizeof buf);
    CHECK_EQ_STR(buf, "map regression: 0.125000 = baseline 0.500000 - run 0.375000");
    json_decref(v);
    struct vs_eval_result *res;
    CHECK_EQ_INT(vs_eval_result_new("rag", &res), VS_OK);
    const char *names[] = {"faithfulness"};
    double vals[] = {0.5};
    int present[] = {1};
    CHECK_EQ_INT(vs_eval_result_add_row(res, "r1", names, vals, present, 1), VS_OK);
    json_t *sum = vs_eval_rag_summary(res, "in.ndjson", "judge-1");
    char *s = json_dumps(sum, JSON_COMPACT);
    CHECK_EQ_STR(s, "{\"run\":\"in.ndjson\",\"num_q\":1,\"measures\":{\"faithfulness\":0.5},"
                    "\"judge_model\":\"judge-1\"}");
    free(s);
    /* output records: per query (with the judge's verdicts), then the summary */
    char *buf2 = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf2, &len);
    json_t *explain = json_pack("[{s:s}]", "faithfulness", "yes");
    CHECK_EQ_INT(vs_eval_write(fp, 1, 0, 1, res, "rag", sum, explain), VS_OK);
    fclose(fp);
    CHECK_EQ_STR(buf2, "{\"run\":\"in.ndjson\",\"qid\":\"r1\",\"measures\":{\"faithfulness\":0.5},"
                       "\"judge\":{\"faithfulness\":\"yes\"}}\n"
                       "{\"run\":\"in.ndjson\",\"num_q\":1,\"measures\":{\"faithfulness\":0.5},"
                       "\"judge_model\":\"judge-1\"}\n");
    free(buf2);
    /* without per_query: the summary only; tsv: trec_eval's layout */
    fp = open_memstream(&buf2, &len);
    CHECK_EQ_INT(vs_eval_write(fp, 0, 0, 0, res, "rag", sum, NULL), VS_OK);
    fclose(fp);
    CHECK(strncmp(buf2, "{\"run\"", 6) == 0 && strchr(buf2, '\n') == buf2 + len - 1);
    free(buf2);
    fp = open_memstream(&buf2, &len);
    CHECK_EQ_INT(vs_eval_write(fp, 0, 1, 0, res, "rag", sum, NULL), VS_OK);
    fclose(fp);
    CHECK(strstr(buf2, "faithfulness") != NULL && strstr(buf2, "\tall\t") != NULL);
    free(buf2);
    /* a full device: the write status comes back */
    fp = fopen("/dev/full", "w");
    if (fp) {
        CHECK_EQ_INT(vs_eval_write(fp, 1, 0, 1, res, "rag", sum, explain), VS_E_NOSPC);
        fclose(fp);
    }
    json_decref(explain);
    json_decref(sum);
    vs_eval_result_free(res);
}

int main(void)
{
    if (vs_test_tmpdir(dir, sizeof dir, "eval-job") != 0)
        return 1;
    RUN(test_score_with_qrels_and_default_measures);
    RUN(test_against_baseline_and_gates);
    RUN(test_job_errors);
    RUN(test_verdict_text_and_rag_summary);
    vs_test_rmtree(dir);
    return vs_test_done();
}
