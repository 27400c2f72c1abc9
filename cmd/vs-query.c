/* vs-query: exact search of a store with query records; one hit record a
 * line (or TREC run lines). The work is in lib/query.c and lib/flat.c. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

enum {
    OPT_BATCH = VS_OPT_FIRST_PROGRAM,
    OPT_EXACT,
    OPT_EXPLAIN,
    OPT_FAIL_EMPTY,
    OPT_FILTER,
    OPT_FORMAT,
    OPT_KEEP_GOING,
    OPT_NO_METADATA,
    OPT_NO_TEXT,
    OPT_SIMD,
    OPT_THREADS
};

static const struct option longopts[] = {
    {"batch", required_argument, NULL, OPT_BATCH},
    {"exact", no_argument, NULL, OPT_EXACT},
    {"explain", no_argument, NULL, OPT_EXPLAIN},
    {"fail-empty", no_argument, NULL, OPT_FAIL_EMPTY},
    {"filter", required_argument, NULL, OPT_FILTER},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"keep-going", no_argument, NULL, OPT_KEEP_GOING},
    {"no-metadata", no_argument, NULL, OPT_NO_METADATA},
    {"no-text", no_argument, NULL, OPT_NO_TEXT},
    {"simd", required_argument, NULL, OPT_SIMD},
    {"threads", required_argument, NULL, OPT_THREADS},
    VS_CLI_COMMON_LONGOPTS,
    {NULL, 0, NULL, 0}};

static void usage(FILE *fp)
{
    fputs("Usage: vs-query [OPTIONS] STORE [FILE...]\n"
          "Search STORE with the query records of FILE (or standard input): id,\n"
          "vector or vector_b64 (or text, embedded with the store's model), and\n"
          "optionally filter and k. Writes one hit record per hit: qid, id, rank,\n"
          "score (higher is better), distance, metric, text, metadata.\n"
          "\n"
          "Options:\n"
          "  -k N                  hits per query (default 10; a query's own k wins)\n"
          "      --exact           exact search (the only mode so far: always exact)\n"
          "      --filter EXPR     only records matching EXPR (ANDed with a query's filter)\n"
          "      --format FMT      ndjson (default) or trec (qid Q0 docno rank score tag)\n"
          "      --explain         add an explain object to each query's first hit\n"
          "      --fail-empty      exit 1 when no query found anything\n"
          "      --keep-going      skip bad query records with a warning\n"
          "      --no-text         leave the stored text out of hits\n"
          "      --no-metadata     leave the stored metadata out of hits\n"
          "      --batch N         queries searched together per pass (default 64)\n"
          "      --threads N       threads (default: all cores)\n"
          "      --simd NAME       distance kernels: scalar, sse, avx2, avx512\n"
          "                        (default: the best this CPU supports)\n"
          "      --config FILE     read settings from FILE instead of .vecstore.toml\n"
          "      --stats           print counters as JSON on stderr at exit\n"
          "  -q, --quiet           no warnings\n"
          "  -v, --verbose         more messages\n"
          "  -h, --help            show this help and exit\n"
          "  -V, --version         show the version and exit\n",
          fp);
}

struct out_state {
    int trec;
};

static int emit(const json_t *hit, void *arg)
{
    const struct out_state *o = arg;
    if (!o->trec)
        return vs_cli_write(hit);
    char score[40];
    vs_float_format(score, sizeof score,
                    (float)json_number_value(json_object_get(hit, "score")));
    if (printf("%s Q0 %s %lld %s vecstore\n",
               json_string_value(json_object_get(hit, "qid")),
               json_string_value(json_object_get(hit, "id")),
               (long long)json_integer_value(json_object_get(hit, "rank")), score) < 0)
        return vs_status_from_errno(errno);
    if (vs_cli.stdout_is_pipe && fflush(stdout) != 0)
        return vs_status_from_errno(errno);
    return VS_OK;
}

struct totals {
    long long queries, hits, empty, skipped;
};

static int run_batch(struct vs_query *q, struct out_state *o, struct totals *t,
                     struct vs_diag *d)
{
    uint64_t nh = 0, ne = 0;
    size_t n = vs_query_pending(q);
    int st = vs_query_run(q, emit, o, &nh, &ne, d);
    t->queries += (long long)n;
    t->hits += (long long)nh;
    t->empty += (long long)ne;
    vs_cli_progress((uint64_t)t->queries, "queries");
    return st;
}

static int setting_long(const char *key, long min, long max, long *v)
{
    const char *s = vs_cli_setting(key);
    return s ? vs_cli_parse_long(key, s, min, max, v) : 0;
}

int main(int argc, char **argv)
{
    vs_cli_init(argv[0]);
    long k = 0, batch = 0, threads = 0;
    int fail_empty = 0, keep_going = 0, c;
    const char *format = "ndjson", *simd = NULL;
    struct vs_query_opts qo = {0};
    qo.simd = -1;
    while ((c = getopt_long(argc, argv, VS_CLI_COMMON_SHORTOPTS "k:", longopts, NULL)) != -1) {
        if (vs_cli_common_option(c, optarg, usage))
            continue;
        switch (c) {
        case 'k':
            if (vs_cli_parse_long("-k", optarg, 1, VS_QUERY_K_MAX, &k))
                return vs_cli_exit(VS_EXIT_USAGE);
            break;
        case OPT_BATCH:
            if (vs_cli_parse_long("--batch", optarg, 1, 65536, &batch))
                return vs_cli_exit(VS_EXIT_USAGE);
            break;
        case OPT_THREADS:
            if (vs_cli_parse_long("--threads", optarg, 1, 1024, &threads))
                return vs_cli_exit(VS_EXIT_USAGE);
            break;
        case OPT_EXACT: break; /* exact search is what every query gets */
        case OPT_EXPLAIN: qo.explain = 1; break;
        case OPT_FAIL_EMPTY: fail_empty = 1; break;
        case OPT_FILTER: qo.filter = optarg; break;
        case OPT_FORMAT: format = optarg; break;
        case OPT_KEEP_GOING: keep_going = 1; break;
        case OPT_NO_METADATA: qo.no_metadata = 1; break;
        case OPT_NO_TEXT: qo.no_text = 1; break;
        case OPT_SIMD: simd = optarg; break;
        default:
            return vs_cli_exit(vs_cli_usage_error(NULL));
        }
    }
    if (optind >= argc)
        return vs_cli_exit(vs_cli_usage_error("missing STORE"));
    const char *path = argv[optind++];
    if ((!k && setting_long("query.k", 1, VS_QUERY_K_MAX, &k)) ||
        (!batch && setting_long("query.batch", 1, 65536, &batch)) ||
        (!threads && setting_long("query.threads", 1, 1024, &threads)))
        return vs_cli_exit(VS_EXIT_USAGE);
    struct out_state out = {0};
    if (strcmp(format, "trec") == 0)
        out.trec = 1;
    else if (strcmp(format, "ndjson") != 0)
        return vs_cli_exit(vs_cli_usage_error("unknown format '%s' (ndjson, trec)", format));
    if (out.trec && qo.explain)
        return vs_cli_exit(vs_cli_usage_error("--explain needs --format ndjson"));
    if (simd) {
        enum vs_simd lv;
        if (vs_simd_parse(simd, &lv) != VS_OK)
            return vs_cli_exit(vs_cli_usage_error(
                "unknown kernel set '%s' (scalar, sse, avx2, avx512)", simd));
        qo.simd = (int)lv;
    }
#ifndef _OPENMP
    if (threads > 1)
        return vs_cli_exit(vs_cli_usage_error(
            "--threads %ld: this build has no OpenMP, it runs on one thread", threads));
#endif
    qo.k = k ? (size_t)k : 10;
    qo.batch = batch ? (size_t)batch : 64;
    qo.threads = (int)threads;
#ifdef _OPENMP
    if (threads)
        omp_set_num_threads((int)threads); /* filter evaluation too */
#endif

    struct vs_diag d;
    vs_diag_clear(&d);
    struct vs_store *s = NULL;
    struct vs_query *q = NULL;
    struct totals t = {0};
    int st = vs_store_open(path, &s, &d);
    if (st == VS_OK && (st = vs_query_new(s, &qo, &q, &d)) == VS_E_FILTER) {
        char detail[sizeof d.detail];
        snprintf(detail, sizeof detail, "%s", d.detail);
        vs_diag_set(&d, st, "option --filter: %.900s", detail);
    }
    int nfiles = argc - optind;
    for (int fi = 0; st == VS_OK && fi < (nfiles ? nfiles : 1); fi++) {
        struct vs_ndjson_reader *r;
        if ((st = vs_ndjson_open(nfiles ? argv[optind + fi] : "-", 0, &r, &d)) != VS_OK)
            break;
        for (;;) {
            json_t *rec;
            vs_diag_clear(&d);
            st = vs_ndjson_read(r, &rec, &d);
            if (st == VS_OK && !rec)
                break;
            if (st == VS_OK) {
                st = vs_query_add(q, rec, &d);
                json_decref(rec);
                if (st != VS_OK)
                    vs_diag_where(&d, vs_ndjson_name(r), vs_ndjson_line(r));
            }
            if (st != VS_OK && keep_going && vs_status_exit(st) == VS_EXIT_DATA) {
                vs_cli_report_warning(st, &d);
                t.skipped++;
                st = VS_OK;
                continue;
            }
            if (st != VS_OK) {
                /* answer the good queries read before the bad one first */
                struct vs_diag d2;
                vs_diag_clear(&d2);
                int st2 = run_batch(q, &out, &t, &d2);
                if (st2 != VS_OK && vs_status_exit(st2) > vs_status_exit(st)) {
                    st = st2;
                    d = d2;
                }
                break;
            }
            if (vs_query_full(q) && (st = run_batch(q, &out, &t, &d)) != VS_OK)
                break;
        }
        vs_ndjson_close(r);
    }
    if (st == VS_OK && q)
        st = run_batch(q, &out, &t, &d);
    int code = st == VS_OK ? VS_EXIT_OK : vs_cli_report(st, &d);
    if (code == VS_EXIT_OK && fail_empty && t.hits == 0)
        code = VS_EXIT_NEGATIVE;
    if (vs_cli.stats) {
        vs_cli_stat_int("queries", t.queries);
        vs_cli_stat_int("hits", t.hits);
        vs_cli_stat_int("empty_queries", t.empty);
        vs_cli_stat_int("skipped", t.skipped);
        vs_cli_stat_int("k_shortfalls", q ? (long long)vs_query_shortfalls(q) : 0);
        vs_cli_stat_int("distance_computations", q ? (long long)vs_query_distances(q) : 0);
        vs_cli_stat_str("kernel", q ? vs_query_kernel(q) : "none");
        double el = vs_cli_elapsed();
        vs_cli_stat_real("queries_per_s", el > 0 ? (double)t.queries / el : 0.0);
    }
    vs_query_free(q);
    vs_store_close(s);
    return vs_cli_exit(code);
}
