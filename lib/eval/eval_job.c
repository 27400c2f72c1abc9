/* eval_job.c: a whole evaluation as vs-eval runs it: judgments, exact run
 * and baseline shared by the runs scored, their summary objects, gate
 * verdict text and the output records (vs_eval.h). */
#include "vs_eval.h"

#include <stdlib.h>
#include <string.h>

#include "vs_ndjson.h"

struct vs_eval_job {
    struct vs_eval_job_opts o;
    const struct vs_eval_spec *spec;
    struct vs_eval_qrels *qrels;
    struct vs_eval_run *exact, *base;
    struct vs_eval_result *bres;
};

int vs_eval_job_new(const struct vs_eval_job_opts *o, struct vs_eval_spec *spec,
                    const struct vs_eval_gates *gates, struct vs_eval_job **out,
                    struct vs_diag *d)
{
    *out = NULL;
    vs_diag_clear(d);
    struct vs_eval_job *j = calloc(1, sizeof *j);
    if (!j)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    j->o = *o;
    j->spec = spec;
    int st = VS_OK;
    if (o->default_measures && o->qrels && vs_eval_spec_add_default(spec) != VS_OK) {
        st = VS_E_NOMEM;
        goto fail;
    }
    /* ranked measures named by gates join the spec; ann_, latency_ and
     * RAG measures are not ranked measures and are computed elsewhere */
    for (size_t i = 0; i < vs_eval_gates_count(gates); i++)
        (void)vs_eval_spec_add(spec, vs_eval_gates_measure(gates, i), NULL);
    if (o->qrels && (st = vs_eval_qrels_load(o->qrels, &j->qrels, d)) != VS_OK)
        goto fail;
    vs_diag_clear(d);
    struct vs_eval_run_opts ro = {o->doc_level};
    if (o->against && (st = vs_eval_run_load_opts(o->against, NULL, &ro, &j->exact, d)) !=
                          VS_OK)
        goto fail;
    vs_diag_clear(d);
    if (o->baseline) {
        if ((st = vs_eval_run_load_opts(o->baseline, NULL, &ro, &j->base, d)) != VS_OK)
            goto fail;
        vs_diag_clear(d);
        struct vs_eval_opts eo = {o->rel_level, o->complete};
        st = j->qrels ? vs_eval_evaluate(j->qrels, j->base, spec, &eo, &j->bres, d)
                      : vs_eval_result_new(o->baseline, &j->bres);
        if (st != VS_OK)
            goto fail;
    }
    *out = j;
    return VS_OK;
fail:
    vs_eval_job_free(j);
    return st;
}

void vs_eval_job_free(struct vs_eval_job *j)
{
    if (!j)
        return;
    vs_eval_result_free(j->bres);
    vs_eval_run_free(j->base);
    vs_eval_run_free(j->exact);
    vs_eval_qrels_free(j->qrels);
    free(j);
}

const struct vs_eval_result *vs_eval_job_baseline(const struct vs_eval_job *j)
{
    return j->bres;
}

int vs_eval_job_score(const struct vs_eval_job *j, const struct vs_eval_run *run,
                      struct vs_eval_result **res, json_t **summary,
                      struct vs_diag *d)
{
    *res = NULL;
    *summary = NULL;
    vs_diag_clear(d);
    struct vs_eval_opts eo = {j->o.rel_level, j->o.complete};
    struct vs_eval_result *r = NULL;
    int st = j->qrels ? vs_eval_evaluate(j->qrels, run, j->spec, &eo, &r, d)
                      : vs_eval_result_new(vs_eval_run_name(run), &r);
    if (st != VS_OK)
        return st;
    if (j->exact) {
        double rec;
        long sh, nq;
        vs_eval_ann(run, j->exact, j->o.ann_k, &rec, &sh, &nq);
        char name[64];
        snprintf(name, sizeof name, "ann_recall_%ld", j->o.ann_k);
        vs_eval_result_set_extra(r, name, rec);
        vs_eval_result_set_extra(r, "k_shortfall", (double)sh);
    }
    double p50, p95, p99;
    long nl;
    if (vs_eval_run_latency(run, &p50, &p95, &p99, &nl) == VS_OK) {
        vs_eval_result_set_extra(r, "latency_p50_us", p50);
        vs_eval_result_set_extra(r, "latency_p95_us", p95);
        vs_eval_result_set_extra(r, "latency_p99_us", p99);
    }
    json_t *sum = json_object();
    if (!sum) {
        vs_eval_result_free(r);
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    }
    json_object_set_new(sum, "run", json_string(vs_eval_run_name(run)));
    json_object_set_new(sum, "runid", json_string(vs_eval_run_id(run)));
    json_object_set_new(sum, "num_q", json_integer(j->qrels ? vs_eval_result_num_q(r)
                                                            : (long)vs_eval_run_queries(run)));
    json_object_set_new(sum, "measures", vs_eval_result_json(r, (size_t)-1));
    if (j->bres) {
        json_object_set_new(sum, "baseline", json_string(j->o.baseline));
        json_object_set_new(sum, "compare", vs_eval_compare_json(r, j->bres, j->o.permutations,
                                                                 j->o.seed));
    }
    *res = r;
    *summary = sum;
    return VS_OK;
}

int vs_eval_job_judged(const struct vs_eval_job *j, const struct vs_eval_run *run,
                       size_t *retrieved, size_t *judged)
{
    *retrieved = *judged = 0;
    if (!j->qrels)
        return 0;
    vs_eval_judged(j->qrels, run, retrieved, judged);
    return 1;
}

json_t *vs_eval_rag_summary(const struct vs_eval_result *res, const char *run,
                            const char *judge_model)
{
    json_t *sum = json_object();
    if (!sum)
        return NULL;
    json_object_set_new(sum, "run", json_string(run));
    json_object_set_new(sum, "num_q", json_integer(vs_eval_result_num_q(res)));
    json_object_set_new(sum, "measures", vs_eval_result_json(res, (size_t)-1));
    json_object_set_new(sum, "judge_model", json_string(judge_model));
    return sum;
}

int vs_eval_gates_apply(const struct vs_eval_gates *g,
                        const struct vs_eval_result *res,
                        const struct vs_eval_result *base, json_t *summary,
                        long *failed, struct vs_diag *d)
{
    json_t *verdicts = NULL;
    long f = 0;
    int st = vs_eval_gates_check(g, res, base, &verdicts, &f, d);
    if (st != VS_OK)
        return st;
    json_object_set_new(summary, "gates", verdicts);
    *failed += f;
    return VS_OK;
}

int vs_eval_verdict_format(const json_t *v, char *buf, size_t size)
{
    const char *m = json_string_value(json_object_get(v, "measure"));
    json_t *reg = json_object_get(v, "regression");
    if (reg)
        return snprintf(buf, size, "%s regression: %.6f = baseline %.6f - run %.6f", m,
                        json_real_value(reg), json_real_value(json_object_get(v, "baseline")),
                        json_real_value(json_object_get(v, "run")));
    return snprintf(buf, size, "%s: %.6f", m, json_real_value(json_object_get(v, "value")));
}

int vs_eval_write(FILE *fp, int flush, int tsv, int per_query,
                  const struct vs_eval_result *res, const char *runid,
                  const json_t *summary, const json_t *explain)
{
    if (tsv)
        return vs_eval_result_write_tsv(fp, res, runid, per_query);
    if (per_query)
        for (size_t q = 0; q < vs_eval_result_queries(res); q++) {
            json_t *r = json_object();
            if (!r)
                return VS_E_NOMEM;
            json_object_set(r, "run", json_object_get(summary, "run"));
            json_object_set_new(r, "qid", json_string(vs_eval_result_qid(res, q)));
            json_object_set_new(r, "measures", vs_eval_result_json(res, q));
            if (explain)
                json_object_set(r, "judge", json_array_get(explain, q));
            int st = vs_ndjson_write(fp, r, flush);
            json_decref(r);
            if (st != VS_OK)
                return st;
        }
    return vs_ndjson_write(fp, summary, flush);
}
