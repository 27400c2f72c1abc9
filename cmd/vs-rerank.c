/* vs-rerank: re-score vs-query's hits per query (bm25, mmr, an HTTP rerank
 * API) and write them re-sorted. The work is in lib/rerank.c. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "vs_query_text.h"
#include "vs_rerank.h"

enum {
    OPT_ANALYZER = VS_OPT_FIRST_PROGRAM,
    OPT_API_KEY_ENV,
    OPT_BLEND,
    OPT_BLEND_MODE,
    OPT_FORMAT,
    OPT_LAMBDA,
    OPT_MAX_RETRIES,
    OPT_METHOD,
    OPT_MIN_SCORE,
    OPT_MODEL,
    OPT_QUERIES,
    OPT_RPM,
    OPT_SIGMOID,
    OPT_STORE,
    OPT_THREADS,
    OPT_TIMEOUT,
    OPT_URL
};

static const struct option longopts[] = {
    {"analyzer", required_argument, NULL, OPT_ANALYZER},
    {"api-key-env", required_argument, NULL, OPT_API_KEY_ENV},
    {"blend", required_argument, NULL, OPT_BLEND},
    {"blend-mode", required_argument, NULL, OPT_BLEND_MODE},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"lambda", required_argument, NULL, OPT_LAMBDA},
    {"max-retries", required_argument, NULL, OPT_MAX_RETRIES},
    {"method", required_argument, NULL, OPT_METHOD},
    {"min-score", required_argument, NULL, OPT_MIN_SCORE},
    {"model", required_argument, NULL, OPT_MODEL},
    {"queries", required_argument, NULL, OPT_QUERIES},
    {"rpm", required_argument, NULL, OPT_RPM},
    {"sigmoid", no_argument, NULL, OPT_SIGMOID},
    {"store", required_argument, NULL, OPT_STORE},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"url", required_argument, NULL, OPT_URL},
    VS_CLI_COMMON_LONGOPTS,
    {NULL, 0, NULL, 0}};

static void usage(FILE *fp)
{
    fputs("Usage: vs-rerank [OPTIONS] [FILE...]\n"
          "Re-score the hit records of FILE (or standard input), as vs-query writes\n"
          "them, query by query: hits of one qid must arrive together. Writes each\n"
          "query's hits re-sorted with new rank and score, the old ones kept as\n"
          "retrieval_rank and retrieval_score.\n"
          "\n"
          "Options:\n"
          "  -m, --method NAME     bm25 (default), mmr, api, cross-encoder or\n"
          "                        late-interaction\n"
          "      --queries FILE    query records (id, text, optional vector); a\n"
          "                        \"query\" field on the hits wins\n"
          "  -k N                  keep the top N hits per query (default: all)\n"
          "      --min-score X     drop hits whose final score is below X\n"
          "      --format FMT      ndjson (default), trec (qid Q0 docno rank score tag)\n"
          "                        or text (for people: rank, score, id, a snippet)\n"
          "      --blend ALPHA     final score = ALPHA x rerank + (1 - ALPHA) x retrieval\n"
          "      --blend-mode MODE rrf (ranks, default) or minmax (normalised scores)\n"
          "      --analyzer SPEC   bm25: analyzer spec (default: the store default)\n"
          "      --store STORE     bm25: score each hit as STORE's own BM25 scores its\n"
          "                        stored record (its analyzer and statistics)\n"
          "      --lambda X        mmr: relevance weight in [0, 1] (default 0.5)\n"
          "      --model NAME      cross-encoder, late-interaction: model folder (DIR,\n"
          "                        or NAME in $VS_MODEL_DIR); api: model name sent\n"
          "                        with the request\n"
          "      --sigmoid         cross-encoder: score = sigmoid(logit)\n"
          "      --threads N       cross-encoder, late-interaction: threads (default:\n"
          "                        all cores)\n"
          "      --url URL         api: rerank endpoint (POST {query, documents, top_n})\n"
          "      --api-key-env VAR api: environment variable holding the key\n"
          "                        (default VS_RERANK_API_KEY; none when unset)\n"
          "      --max-retries N   api: retries after a failed request (default 4)\n"
          "      --timeout SEC     api: seconds per request (default 30)\n"
          "      --rpm N           api: at most N requests per minute\n"
          "      --config FILE     read settings from FILE instead of .vecstore.toml\n"
          "      --stats           print counters as JSON on stderr at exit\n"
          "  -q, --quiet           no warnings\n"
          "  -v, --verbose         more messages\n"
          "  -h, --help            show this help and exit\n"
          "  -V, --version         show the version and exit\n",
          fp);
}

/* Hits go out through vs-query's hit writer (ndjson, trec, text), flushed
 * per hit on a pipe as vs_cli_write does; progress counts them. */
struct out {
    struct vs_query_writer w;
    uint64_t hits;
};

static int emit(const json_t *rec, void *arg)
{
    struct out *o = arg;
    vs_cli_progress(++o->hits, "hits");
    int st = vs_cli_stream_record(); /* counted for the end marker (ndjson only) */
    return st != VS_OK ? st : vs_query_writer_put(&o->w, stdout, rec, vs_cli.stdout_is_pipe);
}

/* Read every query record of path into r. */
static int load_queries(struct vs_rerank *r, const char *path, long *nq,
                        struct vs_diag *d)
{
    struct vs_ndjson_reader *rd;
    int st = vs_ndjson_open(path, 0, &rd, d);
    if (st != VS_OK)
        return st;
    for (;;) {
        json_t *rec;
        vs_diag_clear(d);
        if ((st = vs_ndjson_read(rd, &rec, d)) != VS_OK || !rec)
            break;
        st = vs_rerank_add_query(r, rec, d);
        json_decref(rec);
        if (st != VS_OK) {
            vs_diag_where(d, vs_ndjson_name(rd), vs_ndjson_line(rd));
            break;
        }
        (*nq)++;
    }
    vs_ndjson_close(rd);
    return st;
}

int main(int argc, char **argv)
{
    vs_cli_init(argv[0]);
    struct vs_rerank_opts o;
    vs_rerank_opts_init(&o);
    const char *queries = NULL, *key_env = "VS_RERANK_API_KEY";
    long k = 0, retries = -1;
    double timeout = 0, rpm = 0;
    int c, have_mode = 0;
    const char *format = NULL;
    while ((c = getopt_long(argc, argv, VS_CLI_COMMON_SHORTOPTS "k:m:", longopts, NULL)) != -1) {
        if (vs_cli_common_option(c, optarg, usage))
            continue;
        switch (c) {
        case 'k':
            if (vs_cli_parse_long("-k", optarg, 1, 1000000, &k))
                return vs_cli_exit(VS_EXIT_USAGE);
            break;
        case 'm':
        case OPT_METHOD:
            if (vs_rerank_method_parse(optarg, &o.method) != VS_OK)
                return vs_cli_exit(vs_cli_usage_error(
                    "unknown method '%s' (bm25, mmr, api, cross-encoder, late-interaction)", optarg));
            break;
        case OPT_ANALYZER: o.analyzer = optarg; break;
        case OPT_API_KEY_ENV: key_env = optarg; break;
        case OPT_BLEND:
            if (vs_cli_parse_double("--blend", optarg, 0, 1, &o.blend))
                return vs_cli_exit(VS_EXIT_USAGE);
            break;
        case OPT_BLEND_MODE:
            if (vs_rerank_blend_parse(optarg, &o.blend_mode) != VS_OK)
                return vs_cli_exit(vs_cli_usage_error(
                    "unknown blend mode '%s' (rrf, minmax)", optarg));
            have_mode = 1;
            break;
        case OPT_LAMBDA:
            if (vs_cli_parse_double("--lambda", optarg, 0, 1, &o.lambda))
                return vs_cli_exit(VS_EXIT_USAGE);
            break;
        case OPT_MAX_RETRIES:
            if (vs_cli_parse_long("--max-retries", optarg, 0, 100, &retries))
                return vs_cli_exit(VS_EXIT_USAGE);
            break;
        case OPT_MIN_SCORE:
            if (vs_cli_parse_double("--min-score", optarg, -1e300, 1e300, &o.min_score))
                return vs_cli_exit(VS_EXIT_USAGE);
            o.has_min_score = 1;
            break;
        case OPT_FORMAT: format = optarg; break;
        case OPT_MODEL: o.model = optarg; break;
        case OPT_SIGMOID: o.sigmoid = 1; break;
        case OPT_STORE: o.store = optarg; break;
        case OPT_THREADS: {
            long t;
            if (vs_cli_parse_long("--threads", optarg, 1, 1024, &t))
                return vs_cli_exit(VS_EXIT_USAGE);
            o.threads = (int)t;
            break;
        }
        case OPT_QUERIES: queries = optarg; break;
        case OPT_RPM:
            if (vs_cli_parse_double("--rpm", optarg, 0.001, 1e9, &rpm))
                return vs_cli_exit(VS_EXIT_USAGE);
            break;
        case OPT_TIMEOUT:
            if (vs_cli_parse_double("--timeout", optarg, 0.001, 86400, &timeout))
                return vs_cli_exit(VS_EXIT_USAGE);
            break;
        case OPT_URL: o.url = optarg; break;
        default:
            return vs_cli_exit(vs_cli_usage_error(NULL));
        }
    }
    if (have_mode && o.blend < 0)
        return vs_cli_exit(vs_cli_usage_error("--blend-mode needs --blend ALPHA"));
    int is_api = o.method == VS_RERANK_API, is_ce = o.method == VS_RERANK_CROSS_ENCODER;
    int is_li = o.method == VS_RERANK_LATE_INTERACTION;
    if (!is_api && (o.url || retries >= 0 || timeout > 0 || rpm > 0))
        return vs_cli_exit(vs_cli_usage_error(
            "--url, --max-retries, --timeout and --rpm are for --method api"));
    if (!is_api && !is_ce && !is_li && o.model)
        return vs_cli_exit(vs_cli_usage_error(
            "--model is for --method api, cross-encoder or late-interaction"));
    if (!is_ce && o.sigmoid)
        return vs_cli_exit(vs_cli_usage_error("--sigmoid is for --method cross-encoder"));
    if (!is_ce && !is_li && o.threads)
        return vs_cli_exit(vs_cli_usage_error(
            "--threads is for --method cross-encoder or late-interaction"));
    if ((is_ce || is_li) && !o.model && !(o.model = vs_cli_setting("rerank.model")))
        return vs_cli_exit(vs_cli_usage_error("--method %s needs --model DIR",
                                              vs_rerank_method_name(o.method)));
    if (o.method != VS_RERANK_BM25 && (o.analyzer || o.store))
        return vs_cli_exit(vs_cli_usage_error("--analyzer and --store are for --method bm25"));
    if (o.analyzer && o.store)
        return vs_cli_exit(vs_cli_usage_error(
            "--store scores with the store's own analyzer; drop --analyzer"));
    if (is_api && !o.url && !(o.url = vs_cli_setting("rerank.url")))
        return vs_cli_exit(vs_cli_usage_error("--method api needs --url URL"));
    if (is_api) {
        o.api_key = getenv(key_env);
        if (retries >= 0)
            o.http.max_retries = (int)retries;
        if (timeout > 0)
            o.http.timeout_ms = (long)(timeout * 1000);
        o.http.rpm = rpm;
    }
    o.k = (size_t)k;
    struct out out;
    enum vs_query_format fmt = VS_QUERY_NDJSON;
    if (format && vs_query_format_parse(format, &fmt) != VS_OK)
        return vs_cli_exit(vs_cli_usage_error("unknown format '%s' (ndjson, trec, text)", format));
    vs_query_writer_init(&out.w, fmt);
    out.hits = 0;

    struct vs_diag d;
    vs_diag_clear(&d);
    out.w.d = &d; /* a hit --format trec cannot hold is described here */
    struct vs_rerank *r = NULL;
    long nq = 0;
    int st = vs_rerank_new(&o, &r, &d);
    if (fmt == VS_QUERY_NDJSON)
        vs_cli_stream(VS_CLI_STREAM_FILTER); /* trec and text carry no markers */
    if (st == VS_OK && queries)
        st = load_queries(r, queries, &nq, &d);
    int nfiles = argc - optind;
    vs_cli_progress_inputs(nfiles, argv + optind);
    for (int fi = 0; st == VS_OK && fi < (nfiles ? nfiles : 1); fi++) {
        struct vs_ndjson_reader *rd;
        if ((st = vs_ndjson_open(nfiles ? argv[optind + fi] : "-", 0, &rd, &d)) != VS_OK)
            break;
        for (;;) {
            json_t *rec;
            vs_diag_clear(&d);
            st = vs_ndjson_read(rd, &rec, &d);
            if (st != VS_OK || !rec)
                break;
            st = vs_rerank_push(r, rec, emit, &out, &d);
            json_decref(rec);
            if (st != VS_OK) {
                if (vs_status_exit(st) == VS_EXIT_DATA && !d.line)
                    vs_diag_where(&d, vs_ndjson_name(rd), vs_ndjson_line(rd));
                else if (vs_status_exit(st) != VS_EXIT_DATA) {
                    d.file[0] = '\0'; /* a remote or system error is no input line's */
                    d.line = 0;
                }
                break;
            }
        }
        vs_ndjson_close(rd);
    }
    if (st == VS_OK)
        st = vs_rerank_finish(r, emit, &out, &d);
    int code = st == VS_OK ? VS_EXIT_OK : vs_cli_report(st, &d);
    if (vs_cli.stats && r) {
        struct vs_rerank_stats rs;
        vs_rerank_stats(r, &rs);
        vs_cli_stat_str("method", vs_rerank_method_name(o.method));
        vs_cli_stat_int("queries_loaded", nq);
        vs_cli_stat_int("groups", (long long)rs.groups);
        vs_cli_stat_int("hits_in", (long long)rs.hits_in);
        vs_cli_stat_int("hits_out", (long long)rs.hits_out);
        vs_cli_stat_int("passthrough", (long long)rs.passthrough);
        if (is_ce || is_li)
            vs_cli_stat_int("truncated", (long long)rs.truncated);
        if (is_api) {
            vs_cli_stat_int("requests", rs.requests);
            vs_cli_stat_int("retries", rs.retries);
        }
    }
    vs_rerank_free(r);
    return vs_cli_exit(code);
}
