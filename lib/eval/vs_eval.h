/* vs_eval.h: retrieval and RAG evaluation.
 *
 * Runs (ranked hits per query) are scored against judgments (qrels) with
 * trec_eval's definitions; runs can be compared with paired significance
 * tests, approximate runs checked against exact ones, and the numbers held
 * to gates. Nothing here prints: results come back as values and json_t.
 *
 * Ownership: every _load/_new gives the caller an object to _free (free
 * accepts NULL). json_t results are new references. Strings returned by
 * accessors are owned by the object they come from.
 *
 * Statuses: VS_E_DATA (bad line, duplicate document; d has FILE:LINE),
 * VS_E_JSON, VS_E_FIELD, VS_E_IO, VS_E_NOMEM, VS_E_USAGE (unknown measure),
 * VS_E_CONFIG (gate file; d has FILE:LINE:COL).
 */
#ifndef VS_EVAL_H
#define VS_EVAL_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "vs_status.h"

/* ---- judgments ---------------------------------------------------------
 * Formats are detected from the first non-empty line:
 *   '{'                          NDJSON {"qid", "id", "rel"}
 *   tab-separated, 3 fields      BEIR qrels TSV (a "query-id" header is skipped)
 *   otherwise                    TREC qrels "qid iter docno rel"
 * Relevance is an integer; a negative value means "in the pool but not
 * judged" (as in trec_eval). path NULL or "-" reads stdin. */
struct vs_eval_qrels;
int vs_eval_qrels_load(const char *path, struct vs_eval_qrels **out,
                       struct vs_diag *d);
void vs_eval_qrels_free(struct vs_eval_qrels *q);
size_t vs_eval_qrels_queries(const struct vs_eval_qrels *q);
/* "trec", "beir" or "ndjson". */
const char *vs_eval_qrels_format(const struct vs_eval_qrels *q);

/* ---- runs --------------------------------------------------------------
 * '{' on the first non-empty line: NDJSON hit records (qid, id, score, rank,
 * optional elapsed_us); otherwise a TREC run "qid Q0 docno rank score tag".
 * name labels the run in output (NULL: the path, or "<stdin>").
 * A document listed twice for one query is VS_E_DATA at the second line. */
struct vs_eval_run;
int vs_eval_run_load(const char *path, const char *name,
                     struct vs_eval_run **out, struct vs_diag *d);
/* Options of a run's loading (NULL: as vs_eval_run_load).
 * doc_level: score documents, not chunks: a hit's id becomes its "doc_id"
 * (NDJSON, when a string) or else the id without a "#<digits>" suffix
 * (vs-chunk's "X#n"); of several hits of one document for a query the
 * best-scored one stays (trec_eval order then ranks the documents) and
 * the others are dropped, counted by vs_eval_run_merged. */
struct vs_eval_run_opts {
    int doc_level;
};
int vs_eval_run_load_opts(const char *path, const char *name,
                          const struct vs_eval_run_opts *o,
                          struct vs_eval_run **out, struct vs_diag *d);
size_t vs_eval_run_merged(const struct vs_eval_run *r);
void vs_eval_run_free(struct vs_eval_run *r);
const char *vs_eval_run_name(const struct vs_eval_run *r);
/* The TREC tag of the first line, else the name. */
const char *vs_eval_run_id(const struct vs_eval_run *r);
size_t vs_eval_run_queries(const struct vs_eval_run *r);
size_t vs_eval_run_hits(const struct vs_eval_run *r);
/* Latency percentiles (nearest rank) over queries of the largest
 * elapsed_us among a query's hits. VS_E_NOTFOUND when no hit has it. */
int vs_eval_run_latency(const struct vs_eval_run *r, double *p50, double *p95,
                        double *p99, long *n);

/* *retrieved: the run's hits; *judged: those whose (qid, id) the
 * judgments name with a relevance >= 0 (relevant or not). judged 0 with
 * retrieved > 0 means every measure is 0 because nothing was judged: ids
 * of another kind (chunks "X#n" against document qrels), or other qids. */
void vs_eval_judged(const struct vs_eval_qrels *q, const struct vs_eval_run *r,
                    size_t *retrieved, size_t *judged);

/* ---- measure selection ------------------------------------------------- */
struct vs_eval_spec;
int vs_eval_spec_new(struct vs_eval_spec **out);
void vs_eval_spec_free(struct vs_eval_spec *s);
/* Add a measure by trec_eval name ("ndcg_cut_10", "P.5,10", "P" for the
 * default cutoffs) or short form ("ndcg@10", "p@5", "r@100", "mrr",
 * "map@100", "hit@10"). VS_E_USAGE for an unknown name (d->detail says). */
int vs_eval_spec_add(struct vs_eval_spec *s, const char *name,
                     struct vs_diag *d);
/* The documented default set (see docs/eval.md). */
int vs_eval_spec_add_default(struct vs_eval_spec *s);
size_t vs_eval_spec_count(const struct vs_eval_spec *s);

/* Canonical name of one measure ("ndcg@10" -> "ndcg_cut_10"), including
 * the measures computed outside the ranked evaluation: ann_recall_K,
 * k_shortfall, latency_p50_us/p95/p99, faithfulness, answer_relevance,
 * context_precision, context_recall. Returns VS_OK, or VS_E_USAGE when the
 * name is unknown or names several measures ("P"). */
int vs_eval_canonical(const char *name, char *out, size_t size,
                      struct vs_diag *d);

struct vs_eval_opts {
    long rel_level; /* -l: a judgment >= rel_level is relevant (default 1) */
    int complete;   /* -c: average over every judged query */
};

/* ---- results ----------------------------------------------------------- */
struct vs_eval_result;
/* Evaluate one run. Queries of the run without judgments are ignored;
 * judged queries without hits count only with opts->complete. */
int vs_eval_evaluate(const struct vs_eval_qrels *q, const struct vs_eval_run *r,
                     const struct vs_eval_spec *s,
                     const struct vs_eval_opts *opts,
                     struct vs_eval_result **out, struct vs_diag *d);
/* An empty result holding only named summary values (RAG, ANN). */
int vs_eval_result_new(const char *name, struct vs_eval_result **out);
void vs_eval_result_free(struct vs_eval_result *res);

size_t vs_eval_result_measures(const struct vs_eval_result *res);
const char *vs_eval_result_measure(const struct vs_eval_result *res, size_t m);
size_t vs_eval_result_queries(const struct vs_eval_result *res);
const char *vs_eval_result_qid(const struct vs_eval_result *res, size_t q);
double vs_eval_result_value(const struct vs_eval_result *res, size_t q,
                            size_t m);
/* Mean over queries (sum for num_ret, num_rel, num_rel_ret). */
double vs_eval_result_mean(const struct vs_eval_result *res, size_t m);
long vs_eval_result_num_q(const struct vs_eval_result *res);
/* Index of a measure by canonical name, or -1. */
long vs_eval_result_find(const struct vs_eval_result *res, const char *name);

/* Named summary values beyond the ranked measures (ann_recall_10, ...).
 * set replaces; get returns 0 when absent. */
int vs_eval_result_set_extra(struct vs_eval_result *res, const char *name,
                             double value);
int vs_eval_result_get(const struct vs_eval_result *res, const char *name,
                       double *value);
/* Per-query values for an extra measure (RAG): appended as a query row. */
int vs_eval_result_add_row(struct vs_eval_result *res, const char *qid,
                           const char *const *names, const double *values,
                           const int *present, size_t n);

/* trec_eval's layout: "%-22s\t%s\t%6.4f" (counts as %ld), per query when
 * per_query, then the "all" rows, runid first. Returns VS_OK or a write
 * status. */
int vs_eval_result_write_tsv(FILE *fp, const struct vs_eval_result *res,
                             const char *runid, int per_query);
/* {"measure": value, ...} for query q, or the summary when q == (size_t)-1.
 * New reference. */
json_t *vs_eval_result_json(const struct vs_eval_result *res, size_t q);

/* ---- comparison and statistics ----------------------------------------- */
struct vs_eval_cmp {
    double run_mean, base_mean, diff; /* diff = run - baseline */
    double p_randomization;           /* paired, two-sided */
    double p_ttest;                   /* paired Student t, two-sided */
    long n, improved, worse, ties;
};
/* Compare measure `name` over the queries both results have. VS_E_NOTFOUND
 * when a result lacks the measure or no query is shared. */
int vs_eval_compare(const struct vs_eval_result *run,
                    const struct vs_eval_result *base, const char *name,
                    long permutations, uint64_t seed, struct vs_eval_cmp *out);
/* Every measure of run but the counts, compared as vs_eval_compare does:
 * {"map": {"run", "baseline", "diff", "p_randomization", "p_ttest", "n",
 * "improved", "worse", "ties"}, ...}. New reference (NULL: no memory). */
json_t *vs_eval_compare_json(const struct vs_eval_result *run,
                             const struct vs_eval_result *base,
                             long permutations, uint64_t seed);
/* Paired randomization test on differences d[0..n): the share of sign
 * assignments whose |mean| reaches the observed one. Exhaustive when
 * 2^n <= permutations (p = count / 2^n), else seeded Monte Carlo with
 * p = (count + 1) / (permutations + 1). */
double vs_eval_randomization_p(const double *d, size_t n, long permutations,
                               uint64_t seed);
/* Two-sided p of the paired t-test on d[0..n) (1 when n < 2 or all equal 0). */
double vs_eval_ttest_p(const double *d, size_t n);
/* Regularized incomplete beta I_x(a, b), and Student t CDF with df degrees. */
double vs_eval_betainc(double a, double b, double x);
double vs_eval_t_cdf(double t, double df);

/* ---- approximate vs exact ---------------------------------------------- */
/* Overlap recall@k of approx against exact, averaged over the queries of
 * exact: |top-k(approx) & top-k(exact)| / min(k, hits of exact); shortfall
 * counts queries of exact with fewer than k hits in approx. */
int vs_eval_ann(const struct vs_eval_run *approx, const struct vs_eval_run *exact,
                long k, double *recall, long *shortfall, long *nq);

/* ---- gates ------------------------------------------------------------- */
/* Rules: "MEASURE OP NUMBER" (OP one of >= <= > < == !=) and
 * "MEASURE regression <= NUMBER [against baseline]" (baseline - run). */
struct vs_eval_gates;
int vs_eval_gates_new(struct vs_eval_gates **out);
void vs_eval_gates_free(struct vs_eval_gates *g);
/* A YAML file: a list of rule strings, or a mapping with key "gates" holding
 * one. VS_E_CONFIG with file:line:col for syntax errors and unknown
 * measures. */
int vs_eval_gates_load(struct vs_eval_gates *g, const char *path,
                       struct vs_diag *d);
/* One rule given as text; origin names it in messages. */
int vs_eval_gates_add(struct vs_eval_gates *g, const char *rule,
                      const char *origin, long line, long col,
                      struct vs_diag *d);
/* --fail-under MEASURE=VALUE, i.e. the rule "MEASURE >= VALUE". */
int vs_eval_gates_add_fail_under(struct vs_eval_gates *g, const char *arg,
                                 struct vs_diag *d);
size_t vs_eval_gates_count(const struct vs_eval_gates *g);
/* Canonical measure of rule i, and whether it needs a baseline. */
const char *vs_eval_gates_measure(const struct vs_eval_gates *g, size_t i);
int vs_eval_gates_needs_baseline(const struct vs_eval_gates *g, size_t i);
/* Check every rule against res (and base for regressions). *verdicts gets a
 * new JSON array of {"rule","measure","value","threshold","pass"} objects,
 * *failed the number of failed rules. VS_E_USAGE when a value is missing
 * (measure not computed, no baseline). */
int vs_eval_gates_check(const struct vs_eval_gates *g,
                        const struct vs_eval_result *res,
                        const struct vs_eval_result *base, json_t **verdicts,
                        long *failed, struct vs_diag *d);

/* ---- RAG evaluation with an LLM judge ---------------------------------- */
struct vs_eval_judge_opts {
    const char *url;   /* chat completions endpoint (or base ending in /v1) */
    const char *model;
    const char *key;   /* bearer key, may be NULL; never put in messages */
    long timeout_ms;
    int max_retries;
    double rpm;        /* client-side requests per minute, 0 = unlimited */
};
struct vs_eval_judge;
int vs_eval_judge_new(const struct vs_eval_judge_opts *o,
                      struct vs_eval_judge **out, struct vs_diag *d);
void vs_eval_judge_free(struct vs_eval_judge *j);
/* Score one record {question, contexts, answer, reference?}: *scores gets
 * {"faithfulness":x, "answer_relevance":x, "context_precision":x,
 * "context_recall":x (only with a reference)} and *raw the judge's raw
 * replies keyed the same way (new references). VS_E_FIELD for a bad record,
 * VS_E_NETWORK / VS_E_REMOTE when the judge fails after retries. */
int vs_eval_judge_record(struct vs_eval_judge *j, const json_t *rec,
                         json_t **scores, json_t **raw, struct vs_diag *d);
/* Judge every record of an NDJSON file (NULL or "-": stdin), adding one
 * row per record to res (qid from "id", else "qid", else the line number);
 * with explain non-NULL, append each record's raw replies to that array.
 * Errors as vs_eval_judge_record, with FILE:LINE for bad records. */
int vs_eval_judge_file(struct vs_eval_judge *j, const char *path,
                       struct vs_eval_result *res, json_t *explain,
                       struct vs_diag *d);
/* HTTP requests made and retries done so far. */
void vs_eval_judge_counts(const struct vs_eval_judge *j, long *requests,
                          long *retries);
/* The prompt templates (for docs and tests), by measure name, or NULL. */
const char *vs_eval_judge_prompt(const char *measure);

/* ---- a whole evaluation (lib/eval_job.c: what vs-eval runs) ------------
 * A job holds the judgments, the exact run (--against) and the scored
 * baseline (--baseline) shared by every run it scores; the caller loads
 * each run (vs_eval_run_load) and scores it with vs_eval_job_score. */
struct vs_eval_job_opts {
    const char *qrels;    /* judgments path, or NULL (then an exact run) */
    const char *against;  /* exact run path for ann_recall_K, or NULL */
    const char *baseline; /* baseline run path, or NULL */
    long rel_level;       /* as struct vs_eval_opts */
    int complete;
    long ann_k;           /* depth of ann_recall_K and k_shortfall */
    long permutations;    /* randomization test of the comparison */
    uint64_t seed;
    int default_measures; /* with qrels: add the default measure set first */
    int doc_level;        /* the exact run and the baseline load at document
                             level (struct vs_eval_run_opts) */
};
struct vs_eval_job;
/* Borrows spec and gates (they must outlive the job): the default set
 * (with default_measures and qrels) and the measures named by gates join
 * spec, then the judgments, the exact run and the baseline are loaded and
 * the baseline scored. Errors: those of the loaders and vs_eval_evaluate,
 * VS_E_NOMEM. */
int vs_eval_job_new(const struct vs_eval_job_opts *o, struct vs_eval_spec *spec,
                    const struct vs_eval_gates *gates, struct vs_eval_job **out,
                    struct vs_diag *d);
void vs_eval_job_free(struct vs_eval_job *j);
/* The scored baseline, or NULL without one. */
const struct vs_eval_result *vs_eval_job_baseline(const struct vs_eval_job *j);
/* Score run: its ranked measures (against the judgments), ann_recall_K and
 * k_shortfall (against the exact run), latency_p50_us/p95/p99 (when its
 * hits carry elapsed_us). *res gets the result (vs_eval_result_free) and
 * *summary a new object {"run", "runid", "num_q", "measures"} plus, with a
 * baseline, "baseline" (its path) and "compare" (vs_eval_compare_json).
 * Errors: those of vs_eval_evaluate, VS_E_NOMEM. */
int vs_eval_job_score(const struct vs_eval_job *j, const struct vs_eval_run *run,
                      struct vs_eval_result **res, json_t **summary,
                      struct vs_diag *d);
/* vs_eval_judged against the job's judgments; 0 (and zeros) without them. */
int vs_eval_job_judged(const struct vs_eval_job *j, const struct vs_eval_run *run,
                       size_t *retrieved, size_t *judged);

/* The RAG summary: {"run", "num_q", "measures", "judge_model"}. New
 * reference, NULL when out of memory. */
json_t *vs_eval_rag_summary(const struct vs_eval_result *res, const char *run,
                            const char *judge_model);
/* Check the gates (vs_eval_gates_check) and put the verdicts on summary as
 * "gates"; *failed is increased by the number of failed rules. Errors as
 * vs_eval_gates_check (then summary is unchanged). */
int vs_eval_gates_apply(const struct vs_eval_gates *g,
                        const struct vs_eval_result *res,
                        const struct vs_eval_result *base, json_t *summary,
                        long *failed, struct vs_diag *d);
/* One gate verdict (an element of vs_eval_gates_check's array) as text:
 * "MEASURE: VALUE", or for a regression rule "MEASURE regression: X =
 * baseline B - run R" (six decimals). Returns the length snprintf gives. */
int vs_eval_verdict_format(const json_t *verdict, char *buf, size_t size);

/* Write a scored run to fp. tsv: trec_eval's layout
 * (vs_eval_result_write_tsv, runid, per query when per_query). Else NDJSON
 * lines (flushed each when flush): with per_query, one {"run", "qid",
 * "measures"[, "judge"]} per query (run taken from summary, judge the
 * query's element of explain when explain is not NULL), then summary.
 * Returns VS_OK or the write status. */
int vs_eval_write(FILE *fp, int flush, int tsv, int per_query,
                  const struct vs_eval_result *res, const char *runid,
                  const json_t *summary, const json_t *explain);

#endif
