/* vs-query: exact vector, BM25 text and hybrid search of a store with query
 * records; one hit record a line (or TREC run lines); --fuse fuses hit
 * streams. The work is in lib/query.c, lib/flat.c, lib/query_text.c and
 * lib/query_fuse.c. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vs_query_text.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define VS_QUERY_ASK_MAX 256

enum {
    OPT_ALPHA = VS_OPT_FIRST_PROGRAM, OPT_B, OPT_BATCH, OPT_CANDIDATES,
    OPT_CARRY_QUERY, OPT_EF, OPT_EXACT, OPT_EXPLAIN, OPT_FAIL_EMPTY, OPT_FILTER,
    OPT_FORMAT, OPT_FUSE, OPT_FUSION, OPT_K1, OPT_KEEP_GOING, OPT_MERGE, OPT_MMR,
    OPT_MODE, OPT_GROUP_BY, OPT_SHARD, OPT_NO_METADATA, OPT_NO_TEXT, OPT_PARTIAL, OPT_QUERY,
    OPT_RRF_K, OPT_SIMD, OPT_SHARD_TIMEOUT,
    OPT_THREADS, OPT_WITH_VECTORS
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
    {"group-by", required_argument, NULL, OPT_GROUP_BY},
    {"k1", required_argument, NULL, OPT_K1},
    {"keep-going", no_argument, NULL, OPT_KEEP_GOING},
    {"merge", no_argument, NULL, OPT_MERGE},
    {"mmr", required_argument, NULL, OPT_MMR},
    {"mode", required_argument, NULL, OPT_MODE},
    {"no-metadata", no_argument, NULL, OPT_NO_METADATA},
    {"no-text", no_argument, NULL, OPT_NO_TEXT},
    {"partial", no_argument, NULL, OPT_PARTIAL},
    {"query", required_argument, NULL, OPT_QUERY},
    {"rrf-k", required_argument, NULL, OPT_RRF_K},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"shard-timeout", required_argument, NULL, OPT_SHARD_TIMEOUT},
    {"simd", required_argument, NULL, OPT_SIMD},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"with-vectors", no_argument, NULL, OPT_WITH_VECTORS},
    VS_CLI_COMMON_LONGOPTS,
    {NULL, 0, NULL, 0}};

static void usage(FILE *fp)
{
    fputs("Usage: vs-query [OPTIONS] STORE [FILE...]\n"
          "       vs-query --fuse [OPTIONS] RUN RUN...\n"
          "       vs-query --merge [OPTIONS] RUN RUN...\n"
          "       vs-query [OPTIONS] --shard STORE --shard STORE... [FILE...]\n"
          "       vs-query [OPTIONS] STORE --query TEXT [--query TEXT...]\n"
          "Search STORE with the query records of FILE (or standard input): id (or\n"
          "BEIR's _id), vector or vector_b64 (or text, embedded with the store's\n"
          "model), and optionally filter and k. Writes one hit record per hit.\n"
          "Vector hits: qid, id, rank, score (higher is better), distance (not for\n"
          "dot), metric, doc_id, text, metadata. Text, hybrid, MMR and grouped\n"
          "hits: qid, id, rank, score, mode, score_vector, score_text, rank_vector,\n"
          "rank_text, fusion, bm25, metric (when the vector side found the hit),\n"
          "doc_id, text, metadata; no distance. doc_id, text and metadata come\n"
          "from the stored record when it has them (no doc_id with both --no-text\n"
          "and --no-metadata). With --fuse, fuse the hit\n"
          "streams RUN... by qid. With --merge, merge the hit streams of shards\n"
          "(vs-shard) by score: the k best hits of each qid.\n"
          "\n"
          "Options:\n"
          "      --query TEXT      ask TEXT (repeatable; qids q1, q2, ...), embedded\n"
          "                        with the store's model; no FILE or stdin is read\n"
          "  -k N                  hits per query (default 10; a query's own k wins)\n"
          "      --mode MODE       vector, text (BM25 over the query's text), hybrid,\n"
          "                        or auto (default: hybrid when the store has text\n"
          "                        and the query has text, else vector)\n"
          "      --fusion METHOD   weighted (default), rrf or dbsf (hybrid, --fuse)\n"
          "      --rrf-k K         RRF constant (default 60)\n"
          "      --alpha A         weight of the vector side (first run) for weighted\n"
          "                        and dbsf fusion, 0..1 (default 0.5)\n"
          "      --k1 K1           BM25 k1 (default 1.2)\n"
          "      --b B             BM25 b, 0..1 (default 0.75)\n"
          "      --candidates N    candidates per side for hybrid and MMR\n"
          "                        (default max(k, 100))\n"
          "      --group-by FIELD  one hit per value of the stored FIELD (doc_id, or\n"
          "                        metadata.NAME): the best chunk of each document,\n"
          "                        k documents; a record without FIELD is its own\n"
          "                        group (candidates default max(10k, 100))\n"
          "      --mmr LAMBDA      re-rank the candidates by MMR over their vectors\n"
          "                        (0 = diverse .. 1 = relevance)\n"
          "      --fuse            fuse the runs given as arguments (no store)\n"
          "      --merge           merge the runs of shards given as arguments by\n"
          "                        score (no store; vector scores: docs/scale-out.md)\n"
          "      --shard STORE     search this shard (repeatable, instead of STORE):\n"
          "                        a store, or a vs-serve store's URL\n"
          "                        http(s)://HOST:PORT/v1/stores/NAME, or\n"
          "                        http(s)://HOST:PORT if it serves one store (its key from\n"
          "                        VS_QUERY_SHARD_KEY or query.shard_key); merge the\n"
          "                        shards' hits by score (text and hybrid modes with\n"
          "                        the statistics of all shards)\n"
          "      --partial         with --shard: leave out a shard that fails, with a\n"
          "                        warning, and mark every hit \"partial\": true\n"
          "      --shard-timeout MS  with --shard: one deadline for the whole search,\n"
          "                        from when the queries are read; a shard not done\n"
          "                        by then fails (exit 5 naming it; --partial: left\n"
          "                        out). Default: none (30 s per remote request)\n"
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

/* The hit writer; --format text and trec flush per hit on a pipe, as
 * vs_cli_write does for NDJSON. */
static int emit(const json_t *hit, void *arg)
{
    int st = vs_cli_stream_record();
    return st != VS_OK ? st : vs_query_writer_put(arg, stdout, hit, vs_cli.stdout_is_pipe);
}

/* A batch of plain vector hits as NDJSON text (vs_query_run_text). */
static int write_text(const char *buf, size_t len, size_t nrec, void *arg)
{
    return vs_cli_write_text(buf, len, nrec);
}

static void warn(int status, const struct vs_diag *d, void *arg)
{
    vs_cli_report_warning(status, d);
}

static void progress(const struct vs_qtext_totals *t, void *arg)
{
    vs_cli_progress(t->queries, "queries");
}

/* ndjson, trec or text into w; a usage error (exit 2) for anything else. */
static int parse_format(const char *name, struct vs_query_writer *w)
{
    enum vs_query_format f;
    if (vs_query_format_parse(name, &f) != VS_OK)
        return vs_cli_usage_error("unknown format '%s' (ndjson, trec, text)", name);
    vs_query_writer_init(w, f);
    return 0;
}

/* vs-query --fuse RUN...: fuse hit streams by qid (lib/query_fuse.c). */
static int run_fuse(int n, char **runs, const struct vs_qtext_opts *to, size_t k,
                    const char *format)
{
    struct vs_query_writer out;
    if (parse_format(format, &out))
        return VS_EXIT_USAGE;
    if (n < 1)
        return vs_cli_usage_error("--fuse needs at least one RUN file");
    if (out.format == VS_QUERY_NDJSON)
        vs_cli_stream(VS_CLI_STREAM_FILTER);
    struct vs_diag d;
    vs_diag_clear(&d);
    out.d = &d;
    uint64_t nq = 0, nh = 0;
    int st = vs_query_fuse_files((const char *const *)runs, (size_t)n, &to->fuse, k,
                                 emit, &out, &nq, &nh, &d);
    if (vs_cli.stats) {
        vs_cli_stat_int("queries", (long long)nq);
        vs_cli_stat_int("hits", (long long)nh);
    }
    return st == VS_OK ? VS_EXIT_OK : vs_cli_report(st, &d);
}

/* vs-query --merge RUN...: the k best hits of each qid over the hit
 * streams of shards (lib/query/query_fuse.c). */
static int run_merge(int n, char **runs, size_t k, const char *format)
{
    struct vs_query_writer out;
    if (parse_format(format, &out))
        return VS_EXIT_USAGE;
    if (n < 1)
        return vs_cli_usage_error("--merge needs at least one RUN file");
    if (out.format == VS_QUERY_NDJSON)
        vs_cli_stream(VS_CLI_STREAM_FILTER);
    struct vs_diag d;
    vs_diag_clear(&d);
    out.d = &d;
    uint64_t nq = 0, nh = 0, inc = 0;
    int st = vs_query_merge_files((const char *const *)runs, (size_t)n, k ? k : 10, NULL, emit,
                                  &out, &nq, &nh, &inc, &d);
    if (st == VS_OK && inc)
        vs_cli_warn("%llu merged hits are BM25, hybrid or fused hits, whose scores depend "
                    "on each shard's term statistics: the merge is not the ranking of one "
                    "store (docs/scale-out.md)", (unsigned long long)inc);
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

/* [query] settings for the options not given (bit OPT_X - OPT_ALPHA of
 * given set); returns 0 or an exit code. */
static int query_settings(unsigned long given, struct vs_qtext_opts *to,
                          struct vs_query_opts *qo, int *keep_going)
{
#define NOT_GIVEN(opt) (!(given & (1UL << ((opt) - OPT_ALPHA))))
    const char *v;
    long l;
    int b;
    if (NOT_GIVEN(OPT_MODE) && (v = vs_cli_setting("query.mode")) &&
        vs_qmode_parse(v, &to->mode) != VS_OK)
        return vs_cli_bad_value("query.mode", v, "vector, text, hybrid or auto");
    if (NOT_GIVEN(OPT_FUSION) && (v = vs_cli_setting("query.fusion")) &&
        vs_fuse_method_parse(v, &to->fuse.method) != VS_OK)
        return vs_cli_bad_value("query.fusion", v, "rrf, weighted or dbsf");
    if ((NOT_GIVEN(OPT_ALPHA) && (v = vs_cli_setting("query.alpha")) &&
         vs_cli_parse_double("query.alpha", v, 0, 1, &to->fuse.alpha)) ||
        (NOT_GIVEN(OPT_RRF_K) && (v = vs_cli_setting("query.rrf_k")) &&
         vs_cli_parse_double("query.rrf_k", v, 1e-9, 1e9, &to->fuse.rrf_k)) ||
        (NOT_GIVEN(OPT_K1) && (v = vs_cli_setting("query.k1")) &&
         vs_cli_parse_double("query.k1", v, 0, 1000, &to->bm25.k1)) ||
        (NOT_GIVEN(OPT_B) && (v = vs_cli_setting("query.b")) &&
         vs_cli_parse_double("query.b", v, 0, 1, &to->bm25.b)))
        return VS_EXIT_USAGE;
    if (NOT_GIVEN(OPT_CANDIDATES) && (v = vs_cli_setting("query.candidates"))) {
        if (vs_cli_parse_long("query.candidates", v, 1, VS_QUERY_K_MAX, &l))
            return VS_EXIT_USAGE;
        to->depth = (size_t)l;
    }
    if (NOT_GIVEN(OPT_EF) && (v = vs_cli_setting("query.ef"))) {
        if (vs_cli_parse_long("query.ef", v, 1, 100000L, &l))
            return VS_EXIT_USAGE;
        qo->ef = (size_t)l;
    }
    if (NOT_GIVEN(OPT_GROUP_BY) && (v = vs_cli_setting("query.group_by")))
        to->group_by = v;
    if (NOT_GIVEN(OPT_KEEP_GOING) && (v = vs_cli_setting("query.keep_going"))) {
        if (vs_cli_parse_bool("query.keep_going", v, &b))
            return VS_EXIT_USAGE;
        *keep_going = b;
    }
#undef NOT_GIVEN
    return 0;
}

int main(int argc, char **argv)
{
    vs_cli_init(argv[0]);
    long k = 0, batch = 0, threads = 0;
    int fail_empty = 0, keep_going = 0, fuse = 0, merge = 0, partial = 0, c;
    const char *other = NULL;
    const char *format = "ndjson", *simd = NULL;
    struct vs_query_opts qo = {0};
    qo.simd = -1;
    struct vs_qtext_opts to;
    vs_qtext_opts_init(&to);
    long cand = 0, ef = 0;
    const char *ask[VS_QUERY_ASK_MAX];
    int nask = 0;
    const char *shards[VS_QUERY_ASK_MAX];
    int nshards = 0;
    long shard_timeout = 0;
    unsigned long given = 0; /* bit c - OPT_ALPHA: option c given */
    while ((c = getopt_long(argc, argv, VS_CLI_COMMON_SHORTOPTS "k:", longopts, NULL)) != -1) {
        if (vs_cli_common_option(c, optarg, usage))
            continue;
        if (c >= OPT_ALPHA && c <= OPT_WITH_VECTORS)
            given |= 1UL << (c - OPT_ALPHA);
        for (const struct option *lo = longopts; !other && lo->name; lo++)
            if (lo->val == c && c != OPT_FORMAT && c != OPT_MERGE)
                other = lo->name; /* an option that --merge does not take */
        int bad = 0;
        switch (c) {
        case 'k': bad = vs_cli_parse_long("-k", optarg, 1, VS_QUERY_K_MAX, &k); break;
        case OPT_BATCH: bad = vs_cli_parse_long("--batch", optarg, 1, 65536, &batch); break;
        case OPT_THREADS: bad = vs_cli_parse_long("--threads", optarg, 1, 1024, &threads); break;
        case OPT_ALPHA: bad = vs_cli_parse_double("--alpha", optarg, 0, 1, &to.fuse.alpha); break;
        case OPT_B: bad = vs_cli_parse_double("--b", optarg, 0, 1, &to.bm25.b); break;
        case OPT_K1: bad = vs_cli_parse_double("--k1", optarg, 0, 1000, &to.bm25.k1); break;
        case OPT_RRF_K: bad = vs_cli_parse_double("--rrf-k", optarg, 1e-9, 1e9, &to.fuse.rrf_k); break;
        case OPT_MMR: bad = vs_cli_parse_double("--mmr", optarg, 0, 1, &to.mmr); break;
        case OPT_CANDIDATES:
            bad = vs_cli_parse_long("--candidates", optarg, 1, VS_QUERY_K_MAX, &cand);
            to.depth = (size_t)cand;
            break;
        case OPT_MODE:
            if (vs_qmode_parse(optarg, &to.mode) != VS_OK)
                bad = vs_cli_usage_error("unknown mode '%s' (vector, text, hybrid, auto)", optarg);
            break;
        case OPT_FUSION:
            if (vs_fuse_method_parse(optarg, &to.fuse.method) != VS_OK)
                bad = vs_cli_usage_error("unknown fusion '%s' (rrf, weighted, dbsf)", optarg);
            break;
        case OPT_FUSE: fuse = 1; break;
        case OPT_MERGE: merge = 1; break;
        case OPT_EXACT: qo.exact = 1; break;
        case OPT_EF:
            bad = vs_cli_parse_long("--ef", optarg, 1, 100000L, &ef);
            qo.ef = (size_t)ef;
            break;
        case OPT_EXPLAIN: qo.explain = 1; break;
        case OPT_FAIL_EMPTY: fail_empty = 1; break;
        case OPT_FILTER: qo.filter = optarg; break;
        case OPT_FORMAT: format = optarg; break;
        case OPT_KEEP_GOING: keep_going = 1; break;
        case OPT_NO_METADATA: qo.no_metadata = 1; break;
        case OPT_NO_TEXT: qo.no_text = 1; break;
        case OPT_CARRY_QUERY: to.carry_query = 1; break;
        case OPT_PARTIAL: partial = 1; break;
        case OPT_GROUP_BY: to.group_by = optarg; break;
        case OPT_QUERY:
            if (nask == VS_QUERY_ASK_MAX)
                bad = vs_cli_usage_error("more than %d --query options", VS_QUERY_ASK_MAX);
            else
                ask[nask++] = optarg;
            break;
        case OPT_WITH_VECTORS: to.with_vectors = 1; break;
        case OPT_SHARD:
            if (nshards == VS_QUERY_ASK_MAX)
                bad = vs_cli_usage_error("more than %d --shard options", VS_QUERY_ASK_MAX);
            else
                shards[nshards++] = optarg;
            break;
        case OPT_SIMD: simd = optarg; break;
        case OPT_SHARD_TIMEOUT:
            bad = vs_cli_parse_long("--shard-timeout", optarg, 1, 86400000L, &shard_timeout);
            break;
        default: bad = vs_cli_usage_error(NULL); break;
        }
        if (bad)
            return vs_cli_exit(VS_EXIT_USAGE);
    }
    if (fuse && (to.carry_query || to.with_vectors))
        return vs_cli_exit(vs_cli_usage_error(
            "--carry-query and --with-vectors search a store; --fuse does not"));
    if (fuse && (nask || to.group_by))
        return vs_cli_exit(vs_cli_usage_error("--query and --group-by search a store; "
                                              "--fuse does not"));
    if (fuse && nshards)
        return vs_cli_exit(vs_cli_usage_error("--fuse reads hit streams; --shard searches stores"));
    if (partial && !nshards)
        return vs_cli_exit(vs_cli_usage_error("--partial is for --shard"));
    if (shard_timeout && !nshards)
        return vs_cli_exit(vs_cli_usage_error("--shard-timeout is for --shard"));
    if (merge && other)
        return vs_cli_exit(vs_cli_usage_error("--merge merges hit streams: it takes -k and "
                                              "--format, not --%s", other));
    if (merge)
        return vs_cli_exit(run_merge(argc - optind, argv + optind, (size_t)k, format));
    if (query_settings(given, &to, &qo, &keep_going)) /* fusion settings apply to --fuse */
        return vs_cli_exit(VS_EXIT_USAGE);
    if (fuse)
        return vs_cli_exit(run_fuse(argc - optind, argv + optind, &to, (size_t)k,
                                    format));
    if (!nshards && optind >= argc)
        return vs_cli_exit(vs_cli_usage_error("missing STORE (or --shard STORE)"));
    const char *path = nshards ? NULL : argv[optind++];
    if ((!k && setting_long("query.k", 1, VS_QUERY_K_MAX, &k)) ||
        (!batch && setting_long("query.batch", 1, 65536, &batch)) ||
        (!threads && setting_long("query.threads", 1, 1024, &threads)))
        return vs_cli_exit(VS_EXIT_USAGE);
    struct vs_query_writer out;
    if (parse_format(format, &out))
        return vs_cli_exit(VS_EXIT_USAGE);
    if (out.format != VS_QUERY_NDJSON && qo.explain)
        return vs_cli_exit(vs_cli_usage_error("--explain needs --format ndjson"));
    if (out.format != VS_QUERY_NDJSON && (to.carry_query || to.with_vectors))
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
    out.d = &d;
    struct vs_store *s = NULL;
    struct vs_qtext *q = NULL;
    struct vs_qtext_totals t = {0};
    if (nshards) {
        vs_cli_stage("search");
        if (out.format == VS_QUERY_NDJSON)
            vs_cli_stream(VS_CLI_STREAM_FILTER);
        const struct vs_qtext_sink ssink = {emit, warn, progress, &out, NULL};
        uint64_t inc = 0;
        struct vs_shards_opts so = {.key = vs_cli_setting("query.shard_key"),
                                    .deadline_ms = shard_timeout, .partial = partial,
                                    .left_out = json_array()};
        int sst = vs_qtext_shards(shards, (size_t)nshards, &qo, &to, &so,
                                  (const char *const *)argv + optind, (size_t)(argc - optind),
                                  ask, (size_t)nask, keep_going, &ssink, &t, &inc, &d);
        size_t li;
        json_t *lo;
        json_array_foreach(so.left_out, li, lo) {
            vs_cli_warn("shard left out (--partial), its hits are missing: %s",
                        json_string_value(lo));
        }
        json_decref(so.left_out);
        if (sst == VS_OK && inc)
            vs_cli_warn("%llu hits are BM25, hybrid or fused hits, whose scores depend on each "
                        "shard's term statistics: the merge is not the ranking of one store "
                        "(docs/scale-out.md)", (unsigned long long)inc);
        int scode = sst == VS_E_USAGE ? vs_cli_usage_error("%s", d.detail)
                    : sst == VS_OK    ? VS_EXIT_OK
                                      : vs_cli_report(sst, &d);
        if (scode == VS_EXIT_OK && fail_empty && t.hits == 0)
            scode = VS_EXIT_NEGATIVE;
        if (vs_cli.stats) {
            vs_cli_stat_int("shards", nshards);
            vs_cli_stat_int("queries", (long long)t.queries);
            vs_cli_stat_int("hits", (long long)t.hits);
        }
        return vs_cli_exit(scode);
    }
    vs_cli_stage("open");
    int st = vs_store_open(path, &s, &d);
    if (st == VS_OK && (st = vs_qtext_new(s, &qo, &to, &q, &d)) == VS_E_FILTER) {
        char detail[sizeof d.detail];
        snprintf(detail, sizeof detail, "%s", d.detail);
        vs_diag_set(&d, st, "option --filter: %.900s", detail);
    }
    int nfiles = argc - optind;
    if (!nask || nfiles)
        vs_cli_progress_inputs(nfiles, argv + optind);
    if (out.format == VS_QUERY_NDJSON)
        vs_cli_stream(VS_CLI_STREAM_FILTER); /* trec and text carry no markers */
    const struct vs_qtext_sink sink = {
        .emit = emit, .warn = warn, .progress = progress, .arg = &out,
        .write = out.format == VS_QUERY_NDJSON ? write_text : NULL};
    vs_cli_stage("search");
    if (st == VS_OK && nask)
        st = vs_qtext_ask(q, ask, (size_t)nask, &sink, &t, &d);
    /* each thread reads, searches and formats a batch of its own; they
     * write in the file's order (vs_qtext_stream_threads) */
    int nth = 1;
#ifdef _OPENMP
    nth = threads ? (int)threads : omp_get_max_threads();
#endif
    for (int fi = 0; st == VS_OK && fi < (nfiles ? nfiles : nask ? 0 : 1); fi++)
        st = vs_qtext_stream_threads(q, nfiles ? argv[optind + fi] : "-", keep_going, nth,
                                     &sink, &t, &d);
    if (st == VS_OK && q)
        st = vs_qtext_finish(q, &sink, &t, &d);
    const char *why;
    uint64_t text_only = q ? vs_qtext_text_only(q, &why) : 0;
    if (text_only)
        vs_cli_warn("%llu quer%s searched by text (BM25) only: %s",
                    (unsigned long long)text_only, text_only == 1 ? "y" : "ies", why);
    if (st == VS_E_IO && nfiles && strchr(d.file, ' ') && access(d.file, F_OK) != 0) {
        /* vs-query kb.vs "how do I ...": a question where a FILE goes */
        size_t n = strlen(d.detail);
        snprintf(d.detail + n, sizeof d.detail - n,
                 " (to ask a question, give it with --query TEXT)");
    }
    int code = st == VS_OK ? VS_EXIT_OK : vs_cli_report(st, &d);
    if (code == VS_EXIT_OK && fail_empty && t.hits == 0)
        code = VS_EXIT_NEGATIVE;
    if (vs_cli.stats) {
        json_t *stats = vs_qtext_stats_json(q, &t);
        json_object_update(vs_cli.stat, stats);
        json_decref(stats);
        double el = vs_cli_elapsed();
        vs_cli_stat_real("queries_per_s", el > 0 ? (double)t.queries / el : 0.0);
    }
    vs_qtext_free(q);
    vs_store_close(s);
    return vs_cli_exit(code);
}
