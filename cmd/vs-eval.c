/* vs-eval: retrieval and RAG evaluation, run comparison and CI gates. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

enum {
    OPT_AGAINST = VS_OPT_FIRST_PROGRAM, OPT_BASELINE, OPT_DOC_LEVEL, OPT_EXPLAIN,
    OPT_FAIL_UNDER, OPT_FORMAT, OPT_GATE, OPT_JUDGE_MODEL, OPT_JUDGE_URL,
    OPT_PERMUTATIONS, OPT_QRELS, OPT_RAG, OPT_RETRIES, OPT_RPM, OPT_SEED,
    OPT_TIMEOUT
};

static const struct option longopts[] = {
    {"against", required_argument, NULL, OPT_AGAINST},
    {"ann-k", required_argument, NULL, 'k'},
    {"baseline", required_argument, NULL, OPT_BASELINE},
    {"complete", no_argument, NULL, 'c'},
    {"doc-level", no_argument, NULL, OPT_DOC_LEVEL},
    {"explain", no_argument, NULL, OPT_EXPLAIN},
    {"fail-under", required_argument, NULL, OPT_FAIL_UNDER},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"gate", required_argument, NULL, OPT_GATE},
    {"judge-model", required_argument, NULL, OPT_JUDGE_MODEL},
    {"judge-url", required_argument, NULL, OPT_JUDGE_URL},
    {"level", required_argument, NULL, 'l'},
    {"measure", required_argument, NULL, 'm'},
    {"per-query", no_argument, NULL, 'q'},
    {"permutations", required_argument, NULL, OPT_PERMUTATIONS},
    {"qrels", required_argument, NULL, OPT_QRELS},
    {"rag", no_argument, NULL, OPT_RAG},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"rpm", required_argument, NULL, OPT_RPM},
    {"seed", required_argument, NULL, OPT_SEED},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    VS_CLI_COMMON_LONGOPTS,
    {NULL, 0, NULL, 0}};

static void usage(FILE *fp)
{
    fputs(
"Usage: vs-eval [OPTIONS] --qrels FILE [RUN...]\n"
"       vs-eval [OPTIONS] --against EXACT_RUN [RUN...]\n"
"       vs-eval --rag --judge-url URL --judge-model NAME [OPTIONS] [FILE...]\n"
"Score runs (NDJSON hits or TREC run files; stdin when none) against\n"
"judgments with trec_eval's measures; compare, check ANN quality, gate CI.\n"
"\n"
"  --qrels FILE           judgments: TREC qrels, BEIR qrels TSV or NDJSON\n"
"  -m, --measure NAME     a measure (repeatable): map, P_5, ndcg@10, mrr...\n"
"  -l, --level N          relevance threshold: rel >= N is relevant (1)\n"
"  -c, --complete         average over every judged query (trec_eval -c)\n"
"      --doc-level        score documents: a hit counts as its doc_id (or its\n"
"                         id without a #N chunk suffix), best chunk per document\n"
"  -q, --per-query        also print values per query (as trec_eval -q)\n"
"      --format FMT       ndjson (default) or tsv (trec_eval's layout)\n"
"      --baseline RUN     compare with RUN: differences and p-values\n"
"      --permutations N   randomization test permutations (10000)\n"
"      --seed N           randomization test seed (1)\n"
"      --against RUN      overlap recall of each run against an exact RUN\n"
"  -k, --ann-k K          depth for --against: ann_recall_K, k_shortfall (10)\n"
"      --gate FILE        YAML gate rules; exit 1 when one fails\n"
"      --fail-under M=V   gate: measure M must be >= V (repeatable)\n"
"      --rag              RAG records {question, contexts, answer, reference}\n"
"      --judge-url URL    OpenAI-compatible chat completions endpoint\n"
"      --judge-model NAME judge model name\n"
"      --explain          keep the judge's raw verdicts in --rag output\n"
"      --timeout SECONDS  judge request timeout (60)\n"
"      --retries N        judge retries on 429, 5xx, timeouts (4)\n"
"      --rpm N            judge requests per minute, 0 = unlimited (0)\n"
"      --config FILE      settings file (default ./.vecstore.toml)\n"
"      --stats            print counters as JSON on stderr at exit\n"
"      --quiet            only errors on stderr (-q is --per-query here)\n"
"  -v, --verbose          more messages on stderr\n"
"  -h, --help             show this help\n"
"  -V, --version          show the version\n"
"Judge key: VS_JUDGE_KEY or OPENAI_API_KEY (never printed).\n", fp);
}

struct opts {
    const char *qrels, *baseline, *against, *gate, *judge_url, *judge_model;
    int tsv, per_query, complete, rag, explain, doc_level;
    long level, ann_k, permutations, seed, retries;
    double timeout, rpm;
    struct vs_eval_spec *spec;
    struct vs_eval_gates *gates;
    int have_m;
};

/* Gates (a line on stderr per verdict), then the output, for one scored
 * run; takes the reference to sum and frees res. */
static int finish(const struct opts *o, const char *run, const char *runid,
                  struct vs_eval_result *res, const struct vs_eval_result *base,
                  json_t *sum, json_t *explain, long *failed, int unjudged)
{
    struct vs_diag d;
    vs_diag_clear(&d);
    int st = vs_eval_gates_count(o->gates)
                 ? vs_eval_gates_apply(o->gates, res, base, sum, failed, &d) : VS_OK;
    if (st == VS_OK && unjudged && vs_eval_gates_count(o->gates)) {
        /* no hit judged: the measures say nothing, so the gate fails too */
        json_t *g = json_object_get(sum, "gates");
        json_t *v = json_pack("{s:s,s:s,s:i,s:s,s:i,s:b}", "rule", "judged hits > 0",
                              "measure", "judged_hits", "value", 0, "op", ">",
                              "threshold", 0, "pass", 0);
        if (!v || !json_is_array(g) || json_array_append_new(g, v) != 0)
            st = vs_diag_set(&d, VS_E_NOMEM, "out of memory");
        else
            (*failed)++;
    }
    size_t i;
    json_t *v;
    json_array_foreach(st == VS_OK ? json_object_get(sum, "gates") : NULL, i, v) {
        const char *rule = json_string_value(json_object_get(v, "rule"));
        char what[256];
        vs_eval_verdict_format(v, what, sizeof what);
        if (json_is_true(json_object_get(v, "pass")))
            vs_cli_info(0, "gate passed: %s (%s, run '%s')", rule, what, run);
        else
            fprintf(stderr, "%s: gate failed: %s (%s, run '%s')\n", vs_cli.prog,
                    rule, what, run);
    }
    if (st == VS_OK && (st = vs_eval_write(stdout, vs_cli.stdout_is_pipe, o->tsv,
                                           o->per_query, res, runid, sum, explain)) &&
        !o->tsv)
        vs_diag_set(&d, st, "cannot write to standard output");
    json_decref(sum);
    vs_eval_result_free(res);
    return st == VS_OK ? 0 : vs_cli_report(st, &d);
}

static int run_rag(const struct opts *o, char **files, int nfiles)
{
    long failed = 0;
    struct vs_diag d;
    vs_diag_clear(&d);
    const char *key = getenv("VS_JUDGE_KEY");
    if (!key || !*key)
        key = getenv("OPENAI_API_KEY");
    struct vs_eval_judge_opts jo = {o->judge_url, o->judge_model, key,
                                    (long)(o->timeout * 1000), (int)o->retries, o->rpm};
    struct vs_eval_judge *j = NULL;
    struct vs_eval_result *res = NULL;
    json_t *explain = o->explain ? json_array() : NULL;
    int st = vs_eval_judge_new(&jo, &j, &d);
    if (st != VS_OK)
        return vs_cli_report(st, &d);
    int rc = vs_eval_result_new("rag", &res) == VS_OK ? 0 : vs_cli_report(VS_E_NOMEM, NULL);
    for (int i = 0; !rc && i < (nfiles ? nfiles : 1); i++)
        if ((st = vs_eval_judge_file(j, nfiles ? files[i] : NULL, res, explain, &d)) != VS_OK)
            rc = vs_cli_report(st, &d);
    long reqs, retries;
    vs_eval_judge_counts(j, &reqs, &retries);
    vs_cli_stat_int("judge_requests", reqs);
    vs_cli_stat_int("judge_retries", retries);
    vs_cli_stat_int("records", (long long)vs_eval_result_queries(res));
    if (!rc) {
        json_t *sum = vs_eval_rag_summary(res, nfiles == 1 ? files[0] : "<stdin>",
                                          o->judge_model);
        rc = finish(o, "rag", "rag", res, NULL, sum, explain, &failed, 0);
        res = NULL;
    }
    if (!rc && failed)
        rc = VS_EXIT_NEGATIVE;
    json_decref(explain);
    vs_eval_result_free(res);
    vs_eval_judge_free(j);
    return rc;
}

static int run_main(struct opts *o, char **files, int nfiles)
{
    struct vs_diag d;
    vs_diag_clear(&d);
    struct vs_eval_job_opts jo = {o->qrels, o->against, o->baseline, o->level, o->complete,
                                  o->ann_k, o->permutations, (uint64_t)o->seed, !o->have_m,
                                  o->doc_level};
    struct vs_eval_run_opts ro = {o->doc_level};
    struct vs_eval_job *job = NULL;
    long failed = 0;
    int rc = 0, st = vs_eval_job_new(&jo, o->spec, o->gates, &job, &d);
    if (st != VS_OK)
        return vs_cli_report(st, &d);
    for (int i = 0; !rc && i < (nfiles ? nfiles : 1); i++) {
        struct vs_eval_run *run = NULL;
        struct vs_eval_result *res;
        json_t *sum;
        vs_diag_clear(&d);
        if ((st = vs_eval_run_load_opts(nfiles ? files[i] : NULL, NULL, &ro, &run, &d)) !=
            VS_OK) {
            rc = vs_cli_report(st, &d);
            break;
        }
        vs_cli_stat_int("hits", (long long)vs_eval_run_hits(run));
        size_t nret, njudged;
        int unjudged = 0;
        if (vs_eval_job_judged(job, run, &nret, &njudged) && nret > 0 && njudged == 0) {
            unjudged = 1;
            /* every measure would be 0 for a reason that is not quality */
            fprintf(stderr, "%s: warning: run '%s': none of its %zu hits is judged in '%s' "
                    "(other ids or qids than the qrels'%s); every measure is 0\n",
                    vs_cli.prog, vs_eval_run_name(run), nret, o->qrels,
                    o->doc_level ? "" : "; for chunk ids like X#0 use --doc-level");
        }
        if (o->doc_level)
            vs_cli_info(1, "run '%s': %zu chunk hits merged into their documents' best",
                        vs_eval_run_name(run), vs_eval_run_merged(run));
        if ((st = vs_eval_job_score(job, run, &res, &sum, &d)) != VS_OK)
            rc = vs_cli_report(st, &d);
        else
            rc = finish(o, vs_eval_run_name(run), vs_eval_run_id(run), res,
                        vs_eval_job_baseline(job), sum, NULL, &failed, unjudged);
        vs_eval_run_free(run);
    }
    if (!rc && failed)
        rc = VS_EXIT_NEGATIVE;
    vs_eval_job_free(job);
    return rc;
}

int main(int argc, char **argv)
{
    vs_cli_init(argv[0]);
    struct opts o = {.level = 1, .ann_k = 10, .permutations = 10000, .seed = 1,
                     .retries = 4, .timeout = 60};
    const char *fail_under[64];
    int nfail = 0, c, rc = 0;
    struct vs_diag d;
    vs_diag_clear(&d);
    if (vs_eval_spec_new(&o.spec) != VS_OK || vs_eval_gates_new(&o.gates) != VS_OK)
        return vs_cli_exit(vs_cli_report(VS_E_NOMEM, NULL));
    while ((c = getopt_long(argc, argv, "cqk:l:m:hvV",
                            longopts, NULL)) != -1) {
        if (c != 'q' && vs_cli_common_option(c, optarg, usage))
            continue;
        switch (c) {
        case 'c': o.complete = 1; break;
        case OPT_DOC_LEVEL: o.doc_level = 1; break;
        case 'q': o.per_query = 1; break;
        case 'k': rc = vs_cli_parse_long("--ann-k", optarg, 1, 1000000, &o.ann_k); break;
        case 'l': rc = vs_cli_parse_long("--level", optarg, 0, 1000000, &o.level); break;
        case 'm':
            o.have_m = 1;
            if (vs_eval_spec_add(o.spec, optarg, &d) != VS_OK)
                rc = vs_cli_usage_error("%s", d.detail);
            break;
        case OPT_AGAINST: o.against = optarg; break;
        case OPT_BASELINE: o.baseline = optarg; break;
        case OPT_EXPLAIN: o.explain = 1; break;
        case OPT_FAIL_UNDER:
            if (nfail < 64)
                fail_under[nfail++] = optarg;
            else
                rc = vs_cli_usage_error("too many --fail-under options");
            break;
        case OPT_FORMAT:
            if (strcmp(optarg, "tsv") == 0)
                o.tsv = 1;
            else if (strcmp(optarg, "ndjson") == 0)
                o.tsv = 0;
            else
                rc = vs_cli_usage_error("--format takes 'ndjson' or 'tsv', not '%s'", optarg);
            break;
        case OPT_GATE: o.gate = optarg; break;
        case OPT_JUDGE_MODEL: o.judge_model = optarg; break;
        case OPT_JUDGE_URL: o.judge_url = optarg; break;
        case OPT_PERMUTATIONS:
            rc = vs_cli_parse_long("--permutations", optarg, 1, 100000000, &o.permutations);
            break;
        case OPT_QRELS: o.qrels = optarg; break;
        case OPT_RAG: o.rag = 1; break;
        case OPT_RETRIES: rc = vs_cli_parse_long("--retries", optarg, 0, 20, &o.retries); break;
        case OPT_RPM: rc = vs_cli_parse_double("--rpm", optarg, 0, 1e6, &o.rpm); break;
        case OPT_SEED: rc = vs_cli_parse_long("--seed", optarg, 0, 0x7fffffffL, &o.seed); break;
        case OPT_TIMEOUT: rc = vs_cli_parse_double("--timeout", optarg, 0.001, 3600, &o.timeout); break;
        default: rc = vs_cli_usage_error(NULL); break;
        }
        if (rc)
            goto out;
    }
    if (!o.judge_url)
        o.judge_url = vs_cli_setting("eval.judge_url");
    if (!o.judge_model)
        o.judge_model = vs_cli_setting("eval.judge_model");
    if (o.rag) {
        if (o.qrels || o.against || o.baseline || o.have_m || o.complete || o.doc_level)
            rc = vs_cli_usage_error("--rag does not take --qrels, --against, "
                                    "--baseline, -m, -c or --doc-level");
        else if (!o.judge_url || !o.judge_model)
            rc = vs_cli_usage_error("--rag needs --judge-url and --judge-model");
    } else if (o.explain)
        rc = vs_cli_usage_error("--explain applies to --rag only");
    else if (!o.qrels && !o.against)
        rc = vs_cli_usage_error("give --qrels FILE (or --against EXACT_RUN)");
    else if (!o.qrels && o.have_m)
        rc = vs_cli_usage_error("-m needs --qrels");
    if (rc)
        goto out;
    if (o.gate && (rc = vs_eval_gates_load(o.gates, o.gate, &d)) != VS_OK) {
        rc = vs_cli_report(rc, &d);
        goto out;
    }
    for (int i = 0; i < nfail; i++)
        if (vs_eval_gates_add_fail_under(o.gates, fail_under[i], &d) != VS_OK) {
            rc = vs_cli_usage_error("%s", d.detail);
            goto out;
        }
    for (size_t i = 0; i < vs_eval_gates_count(o.gates); i++)
        if (vs_eval_gates_needs_baseline(o.gates, i) && !o.baseline) {
            rc = vs_cli_usage_error("a regression gate needs --baseline RUN");
            goto out;
        }
    rc = o.rag ? run_rag(&o, argv + optind, argc - optind)
               : run_main(&o, argv + optind, argc - optind);
out:
    vs_eval_spec_free(o.spec);
    vs_eval_gates_free(o.gates);
    return vs_cli_exit(rc);
}
