/* vs-query: exact vector, BM25 text and hybrid search of a store with query
 * records; one hit record a line (or TREC run lines); --fuse fuses hit
 * streams. The work is in lib/query.c, lib/flat.c, lib/query_text.c and
 * lib/query_fuse.c. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vs_query_text.h"

#ifdef _OPENMP
#include <omp.h>
#endif

enum {
    OPT_ALPHA = VS_OPT_FIRST_PROGRAM,
    OPT_B,
    OPT_BATCH,
    OPT_CANDIDATES,
    OPT_CARRY_QUERY,
    OPT_EF,
    OPT_EXACT,
    OPT_EXPLAIN,
    OPT_FAIL_EMPTY,
    OPT_FILTER,
    OPT_FORMAT,
    OPT_FUSE,
    OPT_FUSION,
    OPT_K1,
    OPT_KEEP_GOING,
    OPT_MMR,
    OPT_MODE,
    OPT_NO_METADATA,
    OPT_NO_TEXT,
    OPT_RRF_K,
    OPT_SIMD,
    OPT_THREADS,
    OPT_WITH_VECTORS
};

static const struct option longopts[] = {
    {"alpha", required_argument, NULL, OPT_ALPHA},
    {"b", required_argument, NULL, OPT_B},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"candidates", required_argument, NULL, OPT_CANDIDATES},
    {"carry-query", no_argument, NULL, OPT_CARRY_QUERY},
    {"ef", required_argument, NULL, OPT_EF},
    {"exact", no_argument, NULL, OPT_EXACT},
    {"explain", no_argument, NULL, OPT_EXPLAIN},
    {"fail-empty", no_argument, NULL, OPT_FAIL_EMPTY},
    {"filter", required_argument, NULL, OPT_FILTER},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"fuse", no_argument, NULL, OPT_FUSE},
    {"fusion", required_argument, NULL, OPT_FUSION},
    {"k1", required_argument, NULL, OPT_K1},
    {"keep-going", no_argument, NULL, OPT_KEEP_GOING},
    {"mmr", required_argument, NULL, OPT_MMR},
    {"mode", required_argument, NULL, OPT_MODE},
    {"no-metadata", no_argument, NULL, OPT_NO_METADATA},
    {"no-text", no_argument, NULL, OPT_NO_TEXT},
    {"rrf-k", required_argument, NULL, OPT_RRF_K},
    {"simd", required_argument, NULL, OPT_SIMD},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"with-vectors", no_argument, NULL, OPT_WITH_VECTORS},
    VS_CLI_COMMON_LONGOPTS,
    {NULL, 0, NULL, 0}};

static void usage(FILE *fp)
{
    fputs("Usage: vs-query [OPTIONS] STORE [FILE...]\n"
          "       vs-query --fuse [OPTIONS] RUN RUN...\n"
          "Search STORE with the query records of FILE (or standard input): id,\n"
          "vector or vector_b64 (or text, embedded with the store's model), and\n"
          "optionally filter and k. Writes one hit record per hit: qid, id, rank,\n"
          "score (higher is better), distance, metric, text, metadata; text and\n"
          "hybrid hits add mode, score_vector, score_text, rank_vector, rank_text,\n"
          "fusion and bm25. With --fuse, fuse the hit streams RUN... by qid.\n"
          "\n"
          "Options:\n"
          "  -k N                  hits per query (default 10; a query's own k wins)\n"
          "      --mode MODE       vector, text (BM25 over the query's text), hybrid,\n"
          "                        or auto (default: hybrid when the store has text\n"
          "                        and the query has text, else vector)\n"
          "      --fusion METHOD   rrf (default), weighted or dbsf (hybrid, --fuse)\n"
          "      --rrf-k K         RRF constant (default 60)\n"
          "      --alpha A         weight of the vector side (first run) for weighted\n"
          "                        and dbsf fusion, 0..1 (default 0.5)\n"
          "      --k1 K1           BM25 k1 (default 1.2)\n"
          "      --b B             BM25 b, 0..1 (default 0.75)\n"
          "      --candidates N    candidates per side for hybrid and MMR\n"
          "                        (default max(k, 100))\n"
          "      --mmr LAMBDA      re-rank the candidates by MMR over their vectors\n"
          "                        (0 = diverse .. 1 = relevance)\n"
          "      --fuse            fuse the runs given as arguments (no store)\n"
          "      --ef N            HNSW beam width for segments with a graph (default 64)\n"
          "      --exact           exact vector search of every segment (ground truth)\n"
          "      --filter EXPR     only records matching EXPR (ANDed with a query's filter)\n"
          "      --format FMT      ndjson (default), trec (qid Q0 docno rank score tag)\n"
          "                        or text (readable: rank, score, id, text)\n"
          "      --explain         add an explain object to each query's first hit\n"
          "                        (text and hybrid: to every hit, with the matched\n"
          "                        terms' BM25 contributions and the vector score)\n"
          "      --fail-empty      exit 1 when no query found anything\n"
          "      --keep-going      skip bad query records with a warning\n"
          "      --no-text         leave the stored text out of hits\n"
          "      --no-metadata     leave the stored metadata out of hits\n"
          "      --carry-query     put the query record's text on each of its hits\n"
          "                        as \"query\" (for vs-rerank without --queries)\n"
          "      --with-vectors    put each hit's stored vector on it as \"vector\"\n"
          "                        (for vs-rerank --method mmr)\n"
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

enum out_format { OUT_NDJSON, OUT_TREC, OUT_TEXT };

struct out_state {
    enum out_format format;
    char qid[256]; /* --format text: the query whose hits are being printed */
};

/* ndjson, trec or text into o; a usage error (exit 2) for anything else. */
static int parse_format(const char *name, struct out_state *o)
{
    if (strcmp(name, "ndjson") == 0)
        o->format = OUT_NDJSON;
    else if (strcmp(name, "trec") == 0)
        o->format = OUT_TREC;
    else if (strcmp(name, "text") == 0)
        o->format = OUT_TEXT;
    else
        return vs_cli_usage_error("unknown format '%s' (ndjson, trec, text)", name);
    return 0;
}

/* --format text: a heading per query, then per hit its rank, score and id,
 * and the first 200 bytes of its text on one line (whitespace collapsed). */
static int emit_text(const json_t *hit, struct out_state *o)
{
    const char *qid = json_string_value(json_object_get(hit, "qid"));
    const char *id = json_string_value(json_object_get(hit, "id"));
    const char *text = json_string_value(json_object_get(hit, "text"));
    if (!qid || !id) /* an explain-only record of a query without hits */
        return VS_OK;
    if (strcmp(qid, o->qid) != 0) {
        snprintf(o->qid, sizeof o->qid, "%s", qid);
        if (printf("\n%s\n", qid) < 0)
            return vs_status_from_errno(errno);
    }
    char score[40];
    vs_float_format(score, sizeof score,
                    (float)json_number_value(json_object_get(hit, "score")));
    if (printf("%3lld. %-10s %s\n", (long long)json_integer_value(json_object_get(hit, "rank")),
               score, id) < 0)
        return vs_status_from_errno(errno);
    if (text) {
        char line[256];
        size_t n = 0;
        int space = 1, cut = 0;
        for (const char *p = text; *p; p++) {
            int ws = *p == ' ' || *p == '\n' || *p == '\t' || *p == '\r';
            if (ws && space)
                continue;
            if (n == 200) {
                cut = 1;
                break;
            }
            line[n++] = ws ? ' ' : *p;
            space = ws;
        }
        if (cut) { /* never end inside a UTF-8 sequence */
            size_t k = n;
            while (k > 0 && ((unsigned char)line[k - 1] & 0xC0) == 0x80)
                k--;
            if (k > 0 && ((unsigned char)line[k - 1] & 0x80)) {
                unsigned char lead = (unsigned char)line[k - 1];
                size_t len = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
                if (n - (k - 1) < len)
                    n = k - 1;
            }
        }
        while (n > 0 && line[n - 1] == ' ')
            n--;
        line[n] = '\0';
        if (printf("     %s%s\n", line, cut ? "..." : "") < 0)
            return vs_status_from_errno(errno);
    }
    return VS_OK;
}

static int emit(const json_t *hit, void *arg)
{
    struct out_state *o = arg;
    if (o->format == OUT_NDJSON)
        return vs_cli_write(hit);
    if (o->format == OUT_TEXT) {
        int st = emit_text(hit, o);
        if (st == VS_OK && vs_cli.stdout_is_pipe && fflush(stdout) != 0)
            st = vs_status_from_errno(errno);
        return st;
    }
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

static int run_batch(struct vs_qtext *q, struct out_state *o, struct totals *t,
                     struct vs_diag *d)
{
    uint64_t nh = 0, ne = 0;
    size_t n = vs_qtext_pending(q);
    int st = vs_qtext_run(q, emit, o, &nh, &ne, d);
    t->queries += (long long)n;
    t->hits += (long long)nh;
    t->empty += (long long)ne;
    vs_cli_progress((uint64_t)t->queries, "queries");
    return st;
}

/* vs-query --fuse RUN...: fuse hit streams by qid (lib/query_fuse.c). */
static int run_fuse(int n, char **runs, const struct vs_qtext_opts *to, size_t k,
                    const char *format)
{
    struct out_state out = {0};
    if (parse_format(format, &out))
        return VS_EXIT_USAGE;
    if (n < 1)
        return vs_cli_usage_error("--fuse needs at least one RUN file");
    struct vs_diag d;
    vs_diag_clear(&d);
    uint64_t nq = 0, nh = 0;
    int st = vs_query_fuse_files((const char *const *)runs, (size_t)n, &to->fuse, k,
                                 emit, &out, &nq, &nh, &d);
    if (vs_cli.stats) {
        vs_cli_stat_int("queries", (long long)nq);
        vs_cli_stat_int("hits", (long long)nh);
    }
    return st == VS_OK ? VS_EXIT_OK : vs_cli_report(st, &d);
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
    int fail_empty = 0, keep_going = 0, fuse = 0, c;
    const char *format = "ndjson", *simd = NULL;
    struct vs_query_opts qo = {0};
    qo.simd = -1;
    struct vs_qtext_opts to;
    vs_qtext_opts_init(&to);
    long cand = 0;
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
        case OPT_ALPHA:
            if (vs_cli_parse_double("--alpha", optarg, 0, 1, &to.fuse.alpha))
                return vs_cli_exit(VS_EXIT_USAGE);
            break;
        case OPT_B:
            if (vs_cli_parse_double("--b", optarg, 0, 1, &to.bm25.b))
                return vs_cli_exit(VS_EXIT_USAGE);
            break;
        case OPT_K1:
            if (vs_cli_parse_double("--k1", optarg, 0, 1000, &to.bm25.k1))
                return vs_cli_exit(VS_EXIT_USAGE);
            break;
        case OPT_RRF_K:
            if (vs_cli_parse_double("--rrf-k", optarg, 1e-9, 1e9, &to.fuse.rrf_k))
                return vs_cli_exit(VS_EXIT_USAGE);
            break;
        case OPT_MMR:
            if (vs_cli_parse_double("--mmr", optarg, 0, 1, &to.mmr))
                return vs_cli_exit(VS_EXIT_USAGE);
            break;
        case OPT_CANDIDATES:
            if (vs_cli_parse_long("--candidates", optarg, 1, VS_QUERY_K_MAX, &cand))
                return vs_cli_exit(VS_EXIT_USAGE);
            to.depth = (size_t)cand;
            break;
        case OPT_MODE:
            if (vs_qmode_parse(optarg, &to.mode) != VS_OK)
                return vs_cli_exit(vs_cli_usage_error(
                    "unknown mode '%s' (vector, text, hybrid, auto)", optarg));
            break;
        case OPT_FUSION:
            if (vs_fuse_method_parse(optarg, &to.fuse.method) != VS_OK)
                return vs_cli_exit(vs_cli_usage_error(
                    "unknown fusion '%s' (rrf, weighted, dbsf)", optarg));
            break;
        case OPT_FUSE: fuse = 1; break;
        case OPT_EXACT: qo.exact = 1; break;
        case OPT_EF: {
            long ef;
            if (vs_cli_parse_long("--ef", optarg, 1, 100000L, &ef))
                return vs_cli_exit(VS_EXIT_USAGE);
            qo.ef = (size_t)ef;
            break;
        }
        case OPT_EXPLAIN: qo.explain = 1; break;
        case OPT_FAIL_EMPTY: fail_empty = 1; break;
        case OPT_FILTER: qo.filter = optarg; break;
        case OPT_FORMAT: format = optarg; break;
        case OPT_KEEP_GOING: keep_going = 1; break;
        case OPT_NO_METADATA: qo.no_metadata = 1; break;
        case OPT_NO_TEXT: qo.no_text = 1; break;
        case OPT_CARRY_QUERY: to.carry_query = 1; break;
        case OPT_WITH_VECTORS: to.with_vectors = 1; break;
        case OPT_SIMD: simd = optarg; break;
        default:
            return vs_cli_exit(vs_cli_usage_error(NULL));
        }
    }
    if (fuse && (to.carry_query || to.with_vectors))
        return vs_cli_exit(vs_cli_usage_error(
            "--carry-query and --with-vectors search a store; --fuse does not"));
    if (fuse)
        return vs_cli_exit(run_fuse(argc - optind, argv + optind, &to, (size_t)k,
                                    format));
    if (optind >= argc)
        return vs_cli_exit(vs_cli_usage_error("missing STORE"));
    const char *path = argv[optind++];
    if ((!k && setting_long("query.k", 1, VS_QUERY_K_MAX, &k)) ||
        (!batch && setting_long("query.batch", 1, 65536, &batch)) ||
        (!threads && setting_long("query.threads", 1, 1024, &threads)))
        return vs_cli_exit(VS_EXIT_USAGE);
    struct out_state out = {0};
    if (parse_format(format, &out))
        return vs_cli_exit(VS_EXIT_USAGE);
    if (out.format != OUT_NDJSON && qo.explain)
        return vs_cli_exit(vs_cli_usage_error("--explain needs --format ndjson"));
    if (out.format != OUT_NDJSON && (to.carry_query || to.with_vectors))
        return vs_cli_exit(vs_cli_usage_error(
            "--carry-query and --with-vectors need --format ndjson"));
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
    struct vs_qtext *q = NULL;
    struct totals t = {0};
    vs_cli_stage("open");
    int st = vs_store_open(path, &s, &d);
    if (st == VS_OK && (st = vs_qtext_new(s, &qo, &to, &q, &d)) == VS_E_FILTER) {
        char detail[sizeof d.detail];
        snprintf(detail, sizeof detail, "%s", d.detail);
        vs_diag_set(&d, st, "option --filter: %.900s", detail);
    }
    int nfiles = argc - optind;
    vs_cli_stage("search");
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
                st = vs_qtext_add(q, rec, &d);
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
            if (vs_qtext_full(q) && (st = run_batch(q, &out, &t, &d)) != VS_OK)
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
        struct vs_query *vq = q ? vs_qtext_vector(q) : NULL;
        vs_cli_stat_int("k_shortfalls", q ? (long long)vs_qtext_shortfalls(q) : 0);
        vs_cli_stat_int("distance_computations", vq ? (long long)vs_query_distances(vq) : 0);
        vs_cli_stat_str("kernel", vq ? vs_query_kernel(vq) : "none");
        double el = vs_cli_elapsed();
        vs_cli_stat_real("queries_per_s", el > 0 ? (double)t.queries / el : 0.0);
    }
    vs_qtext_free(q);
    vs_store_close(s);
    return vs_cli_exit(code);
}
