/* vs-ingest: apply upserts and deletes from NDJSON records to a store. */
#include "cli.h"
#include "vs_ingest.h"

#include <stdlib.h>
#include <string.h>

enum {
    OPT_ANALYZER = VS_OPT_FIRST_PROGRAM,
    OPT_BY_DOC,
    OPT_COMMIT_EVERY,
    OPT_DRY_RUN,
    OPT_EF_CONSTRUCTION,
    OPT_HNSW_M,
    OPT_KEEP_GOING,
    OPT_LANGUAGE,
    OPT_MAX_DELETE,
    OPT_METRIC,
    OPT_METRICS_FILE,
    OPT_MODEL,
    OPT_NORMALIZE,
    OPT_SKIP_UNCHANGED,
    OPT_SYNC,
    OPT_SYNC_SCOPE,
    OPT_TEXT_FIELD,
    OPT_TRUST_PARTIAL,
    OPT_WAIT
};

static const struct option longopts[] = {
    {"analyzer", required_argument, NULL, OPT_ANALYZER},
    {"by-doc", no_argument, NULL, OPT_BY_DOC},
    {"commit-every", required_argument, NULL, OPT_COMMIT_EVERY},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"ef-construction", required_argument, NULL, OPT_EF_CONSTRUCTION},
    {"hnsw-m", required_argument, NULL, OPT_HNSW_M},
    {"keep-going", no_argument, NULL, OPT_KEEP_GOING},
    {"language", required_argument, NULL, OPT_LANGUAGE},
    {"max-delete", required_argument, NULL, OPT_MAX_DELETE},
    {"metric", required_argument, NULL, OPT_METRIC},
    {"metrics-file", required_argument, NULL, OPT_METRICS_FILE},
    {"model", required_argument, NULL, OPT_MODEL},
    {"normalize", no_argument, NULL, OPT_NORMALIZE},
    {"skip-unchanged", no_argument, NULL, OPT_SKIP_UNCHANGED},
    {"sync", no_argument, NULL, OPT_SYNC},
    {"sync-scope", required_argument, NULL, OPT_SYNC_SCOPE},
    {"text-field", required_argument, NULL, OPT_TEXT_FIELD},
    {"trust-partial", no_argument, NULL, OPT_TRUST_PARTIAL},
    {"wait", optional_argument, NULL, OPT_WAIT},
    VS_CLI_COMMON_LONGOPTS,
    {NULL, 0, NULL, 0}};

static void usage(FILE *fp)
{
    fputs("Usage: vs-ingest [OPTIONS] STORE [FILE...]\n"
          "Apply the records of FILE (or standard input) to STORE: upserts, and\n"
          "deletes ({\"id\":ID,\"op\":\"delete\"} or {\"op\":\"delete\",\"filter\":EXPR}),\n"
          "and keep markers ({\"op\":\"keep\",\"doc_id\":DOC}, from vs-chunk --since: the\n"
          "stored document is unchanged; --by-doc and --sync neither rewrite nor delete it).\n"
          "A stream from vecstore programs ends with an end marker (docs/streams.md):\n"
          "a stream cut before it (a stage failed or was killed) commits nothing\n"
          "(exit 3), and --by-doc and --sync need it.\n"
          "The store is created on first use. A record identical to the stored one\n"
          "(same doc and vector) is left as it is: a run that changes nothing makes\n"
          "no new generation. Nothing is written on stdout (but see --dry-run).\n"
          "\n"
          "Options:\n"
          "      --analyzer SPEC   text analyzer of a new store's BM25 index, e.g.\n"
          "                        'lang=english;stop=en' (default), or 'none' for\n"
          "                        no text index; an existing store must match\n"
          "      --by-doc          the records of each doc_id in the run are the document's\n"
          "                        complete set: its other stored chunks are deleted\n"
          "      --commit-every N  commit after every N records (default: once, at the end)\n"
          "      --ef-construction N  beam width building a new store's HNSW graphs\n"
          "                        (default 200)\n"
          "      --hnsw-m N        links per node of a new store's HNSW graphs (2..1024;\n"
          "                        default: no graphs, exact search); an existing\n"
          "                        store must match\n"
          "      --dry-run         change nothing; print {\"action\":\"add\"|\"replace\"|\n"
          "                        \"delete\",\"id\":...,\"doc_id\":...} records on stdout\n"
          "                        (the store must exist)\n"
          "      --keep-going      skip bad records with a warning instead of stopping\n"
          "      --language LANG   stemming language of the analyzer (english, french,\n"
          "                        ..., none); same as --analyzer 'lang=LANG'\n"
          "      --max-delete N|P% --sync refuses (exit 3, nothing committed) to delete\n"
          "                        more than N records, or P percent of the store's\n"
          "                        records (default 50%; 100% turns the check off)\n"
          "      --metric NAME     cosine, dot or l2 for a new store (default cosine);\n"
          "                        an existing store must have this metric\n"
          "      --metrics-file FILE  write the run's counters, duration, exit status and\n"
          "                        last success time to FILE (Prometheus text format,\n"
          "                        atomically; for node_exporter's textfile collector)\n"
          "      --model NAME      embedding model name; pins it in a new store and\n"
          "                        must match the store's model\n"
          "      --normalize       L2-normalise vectors of a new dot or l2 store\n"
          "                        (cosine stores always normalise)\n"
          "      --skip-unchanged  leave documents whose doc_hash and file stamp equal\n"
          "                        the stored ones\n"
          "      --sync            --by-doc, and delete every stored document not in the run\n"
          "      --sync-scope PREFIX  --sync deletes only documents whose source starts\n"
          "                        with PREFIX\n"
          "      --text-field NAME field indexed for text search (default text)\n"
          "      --trust-partial   DANGEROUS: apply a cut stream's records, and let\n"
          "                        --by-doc and --sync delete by absence without an end\n"
          "                        marker: a failed upstream stage can empty the store\n"
          "      --wait[=SECONDS]  wait for another writer's lock (forever without SECONDS)\n"
          "      --config FILE     read settings from FILE instead of .vecstore.toml\n"
          "      --stats           print counters as JSON on stderr at exit\n"
          "  -q, --quiet           no summary, no warnings\n"
          "  -v, --verbose         more messages\n"
          "  -h, --help            show this help and exit\n"
          "  -V, --version         show the version and exit\n",
          fp);
}

static int dry_print(const char *action, const char *id, const char *doc,
                     void *arg, struct vs_diag *d)
{
    (void)arg;
    json_t *o = json_pack("{s:s,s:s,s:s?}", "action", action, "id", id, "doc_id", doc);
    int st = o ? vs_cli_write(o) : VS_E_NOMEM;
    json_decref(o);
    if (st != VS_OK)
        vs_diag_set(d, st, "write error on standard output");
    return st;
}

/* --max-delete N or P%: kind 1 (count) or 2 (percent) and the value;
 * returns an exit code. */
static int parse_max_delete(const char *opt, const char *s, int *kind, double *v)
{
    size_t n = strlen(s);
    if (n > 1 && s[n - 1] == '%') {
        char num[32];
        if (n - 1 >= sizeof num)
            return vs_cli_usage_error("%s: '%s' is not N or P%%", opt, s);
        memcpy(num, s, n - 1);
        num[n - 1] = '\0';
        *kind = 2;
        return vs_cli_parse_double(opt, num, 0, 100, v);
    }
    long l;
    *kind = 1;
    if (vs_cli_parse_long(opt, s, 0, 1L << 53, &l))
        return VS_EXIT_USAGE;
    *v = (double)l;
    return 0;
}

static struct vs_ingest_counts cnt;
static const char *metrics_file, *store_path;

/* Every exit once the options are known: the metrics file, then the
 * checked exit. */
static int finish(int code)
{
    struct vs_diag d;
    vs_diag_clear(&d);
    if (metrics_file && store_path) {
        int st = vs_ingest_metrics_write(metrics_file, store_path, &cnt, code,
                                         vs_cli_elapsed(), &d);
        if (st != VS_OK) {
            int c2 = vs_cli_report(st, &d);
            code = code ? code : c2;
        }
    }
    return vs_cli_exit(code);
}

static void warn(int st, const struct vs_diag *d, void *arg)
{
    (void)arg;
    vs_cli_report_warning(st, d);
}

static void stage(const char *name, void *arg)
{
    (void)arg;
    vs_cli_stage(name);
}

static void progress(long long records, void *arg)
{
    (void)arg;
    vs_cli_progress((uint64_t)records, "records");
}

int main(int argc, char **argv)
{
    vs_cli_init(argv[0]);
    long commit_every = 0;
    int keep_going = 0, normalize = 0, by_doc = 0, dry_run = 0, skip_unchanged = 0,
        sync = 0, trust_partial = 0, max_delete_kind = 2;
    double max_delete = 50; /* percent: the default valve */
    const char *max_delete_s = NULL;
    const char *scope = NULL;
    const char *metric = NULL, *model = NULL, *analyzer = NULL, *language = NULL,
               *text_field = NULL;
    double wait_s = 0;
    long hnsw_m = -1, efc = -1;
    int c;
    while ((c = getopt_long(argc, argv, VS_CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
        if (vs_cli_common_option(c, optarg, usage))
            continue;
        switch (c) {
        case OPT_ANALYZER: analyzer = optarg; break;
        case OPT_LANGUAGE: language = optarg; break;
        case OPT_TEXT_FIELD: text_field = optarg; break;
        case OPT_COMMIT_EVERY:
            if (vs_cli_parse_long("--commit-every", optarg, 1, 1000000000L, &commit_every))
                return vs_cli_exit(VS_EXIT_USAGE);
            break;
        case OPT_EF_CONSTRUCTION:
            if (vs_cli_parse_long("--ef-construction", optarg, 1, 100000L, &efc))
                return vs_cli_exit(VS_EXIT_USAGE);
            break;
        case OPT_HNSW_M:
            if (vs_cli_parse_long("--hnsw-m", optarg, 2, 1024L, &hnsw_m))
                return vs_cli_exit(VS_EXIT_USAGE);
            break;
        case OPT_KEEP_GOING: keep_going = 1; break;
        case OPT_BY_DOC: by_doc = 1; break;
        case OPT_DRY_RUN: dry_run = 1; break;
        case OPT_SKIP_UNCHANGED: skip_unchanged = 1; break;
        case OPT_SYNC: sync = 1; break;
        case OPT_SYNC_SCOPE: scope = optarg; break;
        case OPT_TRUST_PARTIAL: trust_partial = 1; break;
        case OPT_MAX_DELETE: max_delete_s = optarg; break;
        case OPT_METRIC: metric = optarg; break;
        case OPT_METRICS_FILE: metrics_file = optarg; break;
        case OPT_MODEL: model = optarg; break;
        case OPT_NORMALIZE: normalize = 1; break;
        case OPT_WAIT:
            wait_s = -1;
            if (optarg && vs_cli_parse_double("--wait", optarg, 0, 1e9, &wait_s))
                return vs_cli_exit(VS_EXIT_USAGE);
            break;
        default:
            return vs_cli_exit(vs_cli_usage_error(NULL));
        }
    }
    if (optind >= argc)
        return finish(vs_cli_usage_error("missing STORE"));
    const char *path = argv[optind++];
    store_path = path;
    if (metrics_file && dry_run) {
        metrics_file = NULL;
        return finish(vs_cli_usage_error("--metrics-file and --dry-run exclude each other"));
    }
    int explicit_metric = metric != NULL;
    if (!metric)
        metric = vs_cli_setting("ingest.metric");
    if (!model)
        model = vs_cli_setting("ingest.model");
    if (!commit_every) {
        const char *s = vs_cli_setting("ingest.commit_every");
        if (s && vs_cli_parse_long("ingest.commit_every", s, 1, 1000000000L, &commit_every))
            return finish(VS_EXIT_USAGE);
    }
    int explicit_text = analyzer || language || text_field;
    struct vs_ingest_config cfg = {
        metric, model, analyzer ? analyzer : vs_cli_setting("ingest.analyzer"), language,
        text_field ? text_field : vs_cli_setting("ingest.text_field"), hnsw_m, efc, normalize};
    struct vs_store_settings create;
    /* here too, so that a long name is printed whole (d.detail has 1 KiB) */
    if (metric && vs_metric_parse(metric, &create.metric) != VS_OK)
        return finish(vs_cli_usage_error("unknown metric '%s' (cosine, dot, l2)", metric));
    struct vs_diag d;
    vs_diag_clear(&d);
    if (vs_ingest_settings(&cfg, &create, &d) != VS_OK)
        return finish(vs_cli_usage_error("%s", d.detail));
    if (scope && !sync)
        return finish(vs_cli_usage_error("--sync-scope needs --sync"));
    if (max_delete_s && !sync)
        return finish(vs_cli_usage_error("--max-delete needs --sync"));
    if (!max_delete_s)
        max_delete_s = vs_cli_setting("ingest.max_delete");
    if (max_delete_s &&
        parse_max_delete("--max-delete", max_delete_s, &max_delete_kind, &max_delete))
        return finish(VS_EXIT_USAGE);
    if (dry_run && commit_every)
        return finish(vs_cli_usage_error("--dry-run and --commit-every exclude each other"));
    struct vs_writer_opts o = {dry_run ? NULL : &create, wait_s};
    struct vs_writer *w = NULL;
    int st = vs_writer_open(path, &o, &w, &d);
    if (st != VS_OK)
        return finish(vs_cli_report(st, &d));
    st = vs_ingest_check_store(vs_writer_settings(w), &create, &cfg, explicit_metric,
                               explicit_text, path, &d);
    if (st != VS_OK) {
        vs_writer_close(w);
        return finish(vs_cli_report(st, &d));
    }
    vs_cli_progress_inputs(argc - optind, argv + optind);
    struct vs_ingest_job job = {path, (const char *const *)argv + optind,
                                (size_t)(argc - optind), model, commit_every, keep_going,
                                by_doc, sync, scope, dry_run, skip_unchanged,
                                trust_partial, sync ? max_delete_kind : 0, max_delete};
    struct vs_ingest_sink sink = {dry_print, warn, stage, progress, NULL};
    st = vs_ingest_job_run(w, &job, &sink, &cnt, &d);
    int code = 0;
    if (st != VS_OK)
        code = vs_cli_report(st, &d);
    else if (vs_cli.verbosity >= 0 && dry_run)
        fprintf(stderr, "%s: %s: dry run: %lld records read, %lld adds or replaces, "
                        "%lld deletes, %lld unchanged; nothing written\n",
                vs_cli.prog, path, cnt.records, cnt.upserts, cnt.deletes, cnt.unchanged);
    else if (vs_cli.verbosity >= 0) {
        struct vs_store *s;
        struct vs_diag d2;
        vs_diag_clear(&d2);
        unsigned long long live = 0, gen = 0;
        if (vs_store_open(path, &s, &d2) == VS_OK) {
            live = vs_store_count(s);
            gen = vs_store_generation(s);
            vs_store_close(s);
        }
        fprintf(stderr,
                "%s: %s: %lld records read, %lld upserts, %lld deletes, %lld skipped, "
                "%lld commits; generation %llu holds %llu records%s",
                vs_cli.prog, path, cnt.records, cnt.upserts, cnt.deletes, cnt.skipped,
                cnt.commits, gen, live, cnt.unchanged ? "" : "\n");
        if (cnt.unchanged)
            fprintf(stderr, "; %lld records unchanged\n", cnt.unchanged);
    }
    vs_writer_close(w);
    vs_cli_stat_int("records_in", cnt.records);
    vs_cli_stat_int("upserts", cnt.upserts);
    vs_cli_stat_int("deletes", cnt.deletes);
    vs_cli_stat_int("skipped", cnt.skipped);
    vs_cli_stat_int("commits", cnt.commits);
    vs_cli_stat_int("unchanged", cnt.unchanged);
    vs_cli_stat_int("added", cnt.added);
    vs_cli_stat_int("replaced", cnt.replaced);
    vs_cli_stat_int("kept", cnt.kept);
    double el = vs_cli_elapsed();
    vs_cli_stat_real("records_per_s", el > 0 ? (double)cnt.records / el : 0);
    return finish(code);
}
