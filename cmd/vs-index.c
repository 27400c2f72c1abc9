/* vs-index: store administration: create, info, verify, compact, snapshot,
 * export, list-ids, get. */
#include "cli.h"
#include "vs_quant.h"
#include "vs_store_sync.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_B64 = VS_OPT_FIRST_PROGRAM,
    OPT_DIG,
    OPT_DIM,
    OPT_EFC,
    OPT_FILTER,
    OPT_HNSW_M,
    OPT_METRIC,
    OPT_MODEL,
    OPT_NORMALIZE,
    OPT_QUANT,
    OPT_SEED,
    OPT_VSTORE,
    OPT_WAIT
};

static const struct option longopts[] = {
    {"b64", no_argument, NULL, OPT_B64},
    {"digest", no_argument, NULL, OPT_DIG},
    {"dim", required_argument, NULL, OPT_DIM},
    {"ef-construction", required_argument, NULL, OPT_EFC},
    {"filter", required_argument, NULL, OPT_FILTER},
    {"hnsw-m", required_argument, NULL, OPT_HNSW_M},
    {"metric", required_argument, NULL, OPT_METRIC},
    {"model", required_argument, NULL, OPT_MODEL},
    {"normalize", no_argument, NULL, OPT_NORMALIZE},
    {"quant", required_argument, NULL, OPT_QUANT},
    {"seed", required_argument, NULL, OPT_SEED},
    {"vector-storage", required_argument, NULL, OPT_VSTORE},
    {"wait", optional_argument, NULL, OPT_WAIT},
    VS_CLI_COMMON_LONGOPTS,
    {NULL, 0, NULL, 0}};

static void usage(FILE *fp)
{
    fputs("Usage: vs-index [OPTIONS] create STORE [--dim N] [--metric NAME] [--model NAME] [--normalize]\n"
          "                [--hnsw-m M [--ef-construction N] [--seed N] [--quant KIND]]\n"
          "                [--vector-storage KIND]\n"
          "       vs-index [OPTIONS] info STORE [--digest]\n"
          "       vs-index [OPTIONS] verify STORE\n"
          "       vs-index [OPTIONS] compact STORE [--wait[=SECONDS]]\n"
          "       vs-index [OPTIONS] snapshot STORE DEST\n"
          "       vs-index [OPTIONS] export STORE [--b64] [--filter EXPR]\n"
          "       vs-index [OPTIONS] list-ids STORE\n"
          "       vs-index [OPTIONS] get STORE [ID...]\n"
          "Administer a store. info and verify print one JSON object; export, list-ids\n"
          "and get print one record a line (get without IDs reads {\"id\":...} records\n"
          "from standard input).\n"
          "\n"
          "Options:\n"
          "      --b64             export: vectors as \"vector_b64\" (base64 float32)\n"
          "      --digest          info: add \"digest\", a hash of the visible contents\n"
          "      --dim N           create: the vector dimension (default: from the first vector)\n"
          "      --ef-construction N  create: beam width of graph builds (default 200)\n"
          "      --filter EXPR     export: only records whose doc matches EXPR\n"
          "      --hnsw-m N        create: keep an HNSW graph of N links per node (2..1024)\n"
          "                        in every segment of at least 1000 rows\n"
          "      --metric NAME     create: cosine, dot or l2 (default cosine)\n"
          "      --model NAME      create: pin the embedding model name\n"
          "      --normalize       create: L2-normalise vectors of a dot or l2 store\n"
          "      --quant KIND      create: walk the graphs with f16, sq8 or binary vector\n"
          "                        codes, re-scoring the best from full precision\n"
          "      --seed N          create: reproducible graphs (built from seed N on one thread)\n"
          "      --vector-storage KIND  create: keep the segments' vectors as float32\n"
          "                        (default) or f16 (half the bytes; scores within f16\n"
          "                        rounding; older builds refuse the store)\n"
          "      --wait[=SECONDS]  compact: wait for another writer's lock\n"
          "      --config FILE     read settings from FILE instead of .vecstore.toml\n"
          "      --stats           print counters as JSON on stderr at exit\n"
          "  -q, --quiet           fewer messages\n"
          "  -v, --verbose         more messages\n"
          "  -h, --help            show this help and exit\n"
          "  -V, --version         show the version and exit\n",
          fp);
}

/* export and list-ids: every live record, segment by segment. */
static int write_rec(const json_t *rec, void *arg)
{
    (void)arg;
    return vs_cli_write(rec);
}

/* export and list-ids: the records through vs_store_export */
static int dump(const char *path, int ids_only, int b64, const char *filter,
                struct vs_diag *d)
{
    struct vs_filter *f = NULL;
    int st;
    if (filter && (st = vs_filter_compile(filter, &f, d)) != VS_OK) {
        vs_diag_field(d, "--filter");
        return st;
    }
    struct vs_store *s;
    if ((st = vs_store_open(path, &s, d)) != VS_OK) {
        vs_filter_free(f);
        return st;
    }
    long long n = 0;
    /* export is a record stream (docs/streams.md); list-ids is a listing */
    if (!ids_only && (st = vs_cli_stream(VS_CLI_STREAM_ORIGIN)) != VS_OK)
        vs_diag_set(d, st, "write error on standard output");
    if (st == VS_OK) {
        struct vs_diag wd; /* d as it was when a write failed */
        vs_diag_clear(&wd);
        st = vs_store_export(s, f, ids_only, b64, write_rec, NULL, &n, &wd);
        if (st != VS_OK && !wd.detail[0])
            vs_diag_set(&wd, st, "write error on standard output");
        if (st != VS_OK)
            *d = wd;
    }
    vs_cli_stat_int("records_out", n);
    vs_store_close(s);
    vs_filter_free(f);
    return st;
}

static int print_object(json_t *o, struct vs_diag *d)
{
    int st = vs_cli_write(o);
    json_decref(o);
    if (st != VS_OK)
        vs_diag_set(d, st, "write error on standard output");
    return st;
}

/* get without IDs: records with an "id" on stdin; ids not in the store are
 * reported on stderr and make the exit status 1. */
static int get_stdin(struct vs_store *s, struct vs_diag *d)
{
    struct vs_ndjson_reader *r;
    int st = vs_ndjson_open(NULL, 0, &r, d), missing = 0;
    while (st == VS_OK) {
        json_t *q, *rec;
        const char *id = NULL;
        if ((st = vs_ndjson_read(r, &q, d)) != VS_OK || !q)
            break;
        st = vs_record_string(q, "id", &id, d);
        if (st == VS_OK && !id) {
            vs_diag_field(d, "id");
            st = vs_diag_set(d, VS_E_FIELD, "is missing");
        }
        if (st == VS_OK) {
            st = vs_store_get(s, id, &rec, d);
            if (st == VS_OK)
                st = print_object(rec, d);
            else if (st == VS_E_NOTFOUND) {
                vs_diag_where(d, vs_ndjson_name(r), vs_ndjson_line(r));
                vs_cli_report_warning(st, d);
                vs_diag_clear(d);
                missing = 1;
                st = VS_OK;
            }
        }
        json_decref(q);
        if (st != VS_OK && vs_status_exit(st) == VS_EXIT_DATA)
            vs_diag_where(d, vs_ndjson_name(r), vs_ndjson_line(r));
    }
    vs_ndjson_close(r);
    if (st == VS_OK && missing)
        st = vs_diag_set(d, VS_E_NOTFOUND, "some ids are not in the store");
    return st;
}

int main(int argc, char **argv)
{
    vs_cli_init(argv[0]);
    int b64 = 0, normalize = 0, have_wait = 0, digest = 0;
    long dim = -1, hnsw_m = -1, efc = -1, seed = -1;
    enum vs_quant_kind quant = VS_QUANT_NONE;
    uint32_t vstore = VS_VSTORE_FLOAT32;
    int have_vstore = 0;
    const char *filter = NULL, *metric = NULL, *model = NULL;
    double wait_s = 0;
    int c;
    while ((c = getopt_long(argc, argv, VS_CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
        if (vs_cli_common_option(c, optarg, usage))
            continue;
        switch (c) {
        case OPT_B64: b64 = 1; break;
        case OPT_DIG: digest = 1; break;
        case OPT_DIM:
            if (vs_cli_parse_long("--dim", optarg, 1, 65536, &dim))
                return vs_cli_exit(VS_EXIT_USAGE);
            break;
        case OPT_EFC:
            if (vs_cli_parse_long("--ef-construction", optarg, 1, 100000, &efc))
                return vs_cli_exit(VS_EXIT_USAGE);
            break;
        case OPT_FILTER: filter = optarg; break;
        case OPT_HNSW_M:
            if (vs_cli_parse_long("--hnsw-m", optarg, 2, 1024, &hnsw_m))
                return vs_cli_exit(VS_EXIT_USAGE);
            break;
        case OPT_QUANT:
            if (vs_quant_parse(optarg, &quant) != VS_OK)
                return vs_cli_exit(vs_cli_usage_error("unknown --quant '%s' (none, f16, sq8, binary)", optarg));
            break;
        case OPT_VSTORE:
            if (vs_vector_storage_parse(optarg, &vstore) != VS_OK)
                return vs_cli_exit(vs_cli_usage_error("unknown --vector-storage '%s' (float32, f16)", optarg));
            have_vstore = 1;
            break;
        case OPT_SEED:
            if (vs_cli_parse_long("--seed", optarg, 0, LONG_MAX, &seed))
                return vs_cli_exit(VS_EXIT_USAGE);
            break;
        case OPT_METRIC: metric = optarg; break;
        case OPT_MODEL: model = optarg; break;
        case OPT_NORMALIZE: normalize = 1; break;
        case OPT_WAIT:
            have_wait = 1;
            wait_s = -1;
            if (optarg && vs_cli_parse_double("--wait", optarg, 0, 1e9, &wait_s))
                return vs_cli_exit(VS_EXIT_USAGE);
            break;
        default:
            return vs_cli_exit(vs_cli_usage_error(NULL));
        }
    }
    if (argc - optind < 2)
        return vs_cli_exit(vs_cli_usage_error("missing SUBCOMMAND or STORE"));
    const char *cmd = argv[optind], *path = argv[optind + 1];
    int nargs = argc - optind - 2;
    char **args = argv + optind + 2;
    /* options belong to one subcommand each: refuse them elsewhere */
    int is_create = !strcmp(cmd, "create"), is_export = !strcmp(cmd, "export");
    if (!is_create && (dim >= 0 || metric || model || normalize || hnsw_m >= 0 || efc >= 0 ||
                       seed >= 0 || quant || have_vstore))
        return vs_cli_exit(vs_cli_usage_error(
            "--dim, --metric, --model, --normalize, --hnsw-m, --ef-construction, --seed, "
            "--quant and --vector-storage only apply to 'create'"));
    if (hnsw_m < 0 && (efc >= 0 || seed >= 0 || quant))
        return vs_cli_exit(vs_cli_usage_error("--ef-construction, --seed and --quant need --hnsw-m"));
    if (!is_export && (b64 || filter))
        return vs_cli_exit(vs_cli_usage_error("--b64 and --filter only apply to 'export'"));
    if (digest && strcmp(cmd, "info") != 0)
        return vs_cli_exit(vs_cli_usage_error("--digest only applies to 'info'"));
    if (have_wait && strcmp(cmd, "compact") != 0)
        return vs_cli_exit(vs_cli_usage_error("--wait only applies to 'compact'"));
    int want = !strcmp(cmd, "snapshot") ? 1 : !strcmp(cmd, "get") ? -1 : 0;
    if (want >= 0 && nargs != want)
        return vs_cli_exit(vs_cli_usage_error("wrong number of arguments for '%s'", cmd));

    struct vs_diag d;
    vs_diag_clear(&d);
    int st = VS_OK;
    if (is_create) {
        struct vs_store_settings ss = {0};
        ss.dim = dim > 0 ? (uint32_t)dim : 0;
        ss.hnsw_m = hnsw_m > 0 ? (uint32_t)hnsw_m : 0;
        ss.hnsw_ef_construction = efc > 0 ? (uint32_t)efc : (hnsw_m > 0 ? 200 : 0);
        ss.hnsw_seeded = seed >= 0;
        ss.hnsw_seed = seed >= 0 ? (uint64_t)seed : 0;
        ss.hnsw_quant = (uint32_t)quant;
        ss.vector_storage = vstore;
        if (!metric)
            metric = vs_cli_setting("ingest.metric");
        if (!model)
            model = vs_cli_setting("ingest.model");
        if (metric && vs_metric_parse(metric, &ss.metric) != VS_OK)
            return vs_cli_exit(vs_cli_usage_error("unknown metric '%s' (cosine, dot, l2)", metric));
        ss.normalize = ss.metric == VS_METRIC_COSINE ? 1 : normalize;
        if (model && strlen(model) >= sizeof ss.model)
            return vs_cli_exit(vs_cli_usage_error("model name is too long (at most 127 bytes)"));
        if (model)
            snprintf(ss.model, sizeof ss.model, "%s", model);
        st = vs_store_create(path, &ss, &d);
        if (st == VS_OK)
            vs_cli_info(0, "created store '%s' (%s)", path, vs_metric_name(ss.metric));
    } else if (!strcmp(cmd, "info")) {
        struct vs_store *s;
        json_t *info;
        if ((st = vs_store_open(path, &s, &d)) == VS_OK) {
            char hex[33];
            if ((st = vs_store_info(s, &info, &d)) == VS_OK) {
                if (digest && (st = vs_store_digest(s, hex, &d)) == VS_OK)
                    json_object_set_new(info, "digest", json_string(hex));
                if (st == VS_OK)
                    st = print_object(info, &d);
                else
                    json_decref(info);
            }
            vs_store_close(s);
        }
    } else if (!strcmp(cmd, "verify")) {
        if ((st = vs_store_verify(path, &d)) == VS_OK) {
            struct vs_store *s;
            if ((st = vs_store_open(path, &s, &d)) == VS_OK) {
                st = print_object(json_pack("{s:b,s:s,s:I,s:I,s:I}", "ok", 1, "store", path,
                                            "generation", (json_int_t)vs_store_generation(s),
                                            "segments", (json_int_t)vs_store_nsegments(s),
                                            "records", (json_int_t)vs_store_count(s)),
                                  &d);
                vs_store_close(s);
            }
        }
    } else if (!strcmp(cmd, "compact")) {
        struct vs_writer_opts o = {NULL, wait_s};
        struct vs_writer *w;
        if ((st = vs_writer_open(path, &o, &w, &d)) == VS_OK) {
            st = vs_writer_compact(w, &d);
            vs_writer_close(w);
        }
        if (st == VS_OK)
            vs_cli_info(0, "compacted '%s'", path);
    } else if (!strcmp(cmd, "snapshot")) {
        st = vs_store_snapshot(path, args[0], &d);
        if (st == VS_OK)
            vs_cli_info(0, "snapshot of '%s' at '%s'", path, args[0]);
    } else if (is_export || !strcmp(cmd, "list-ids")) {
        st = dump(path, !is_export, b64, filter, &d);
    } else if (!strcmp(cmd, "get")) {
        struct vs_store *s;
        if ((st = vs_store_open(path, &s, &d)) == VS_OK) {
            if (nargs > 0)
                for (int i = 0; st == VS_OK && i < nargs; i++) {
                    json_t *rec;
                    if ((st = vs_store_get(s, args[i], &rec, &d)) == VS_OK)
                        st = print_object(rec, &d);
                }
            else
                st = get_stdin(s, &d);
            vs_store_close(s);
        }
    } else {
        return vs_cli_exit(vs_cli_usage_error("unknown subcommand '%s'", cmd));
    }
    return vs_cli_exit(st == VS_OK ? 0 : vs_cli_report(st, &d));
}
