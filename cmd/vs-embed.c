/* vs-embed: add a vector to each NDJSON record from its text. The work is
 * in lib/embed_records.c (batches, pass-through, bad records) and the
 * embedders (lib/embed*.c). */
#include "cli.h"
#include "vs_bert.h"
#include "vs_embed_records.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_AS = VS_OPT_FIRST_PROGRAM, OPT_B64, OPT_BATCH, OPT_DIM, OPT_FIELD,
    OPT_KEEP_GOING, OPT_MODEL, OPT_THREADS,
    /* API models */
    OPT_API_KEY_ENV, OPT_API_VERSION, OPT_BASE_URL, OPT_CONCURRENCY, OPT_DRY_RUN,
    OPT_MAX_RETRIES, OPT_MAX_TOKENS, OPT_NO_CACHE, OPT_REQUEST_SIZE,
    OPT_REQUEST_TOKENS, OPT_RPM, OPT_SPLIT_LONG, OPT_TIMEOUT, OPT_TPM
};

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: vs-embed [OPTION]... [FILE]...\n"
            "Add \"vector\" and \"vector_model\" to each NDJSON record of FILE\n"
            "(or standard input; - is standard input), computed from its text.\n"
            "Records with \"op\" \"delete\" or \"keep\" pass through unchanged.\n"
            "\n"
            "      --as ROLE        embed as document (default) or query: selects the\n"
            "                       model's prefix (e5, bge)\n"
            "      --b64            write \"vector_b64\" (base64 float32) instead of \"vector\"\n"
            "      --batch N        records embedded in parallel at a time (default 256)\n"
            "      --dim N          vector dimension (default 384)\n"
            "      --field NAME     the text field (default \"text\")\n"
            "      --keep-going     skip records without usable text, with a warning\n"
            "      --model NAME     model name or identity: minilm (all-MiniLM-L6-v2),\n"
            "                       bge-small (bge-small-en-v1.5), hash, hash-v1:DIM,\n"
            "                       a BERT model folder (DIR/NAME), or NAME in\n"
            "                       $VS_MODEL_DIR (default ~/.cache/vecstore/models),\n"
            "                       or use-lite (scripts/get-model.sh NAME fetches);\n"
            "                       default: the best of bge-small and minilm fetched,\n"
            "                       else hash (named on stderr); hash with --dim\n"
            "      --no-cache       do not read or write the embedding cache (BERT and\n"
            "                       API models; $VS_CACHE_DIR, default ~/.cache/vecstore)\n"
            "      --threads N      threads for transformer models (default: all cores)\n"
            "API models (--model openai:MODEL[:DIM], ollama:MODEL:DIM, cohere:MODEL,\n"
            "azure:DEPLOYMENT[@MODEL][:DIM] for Azure OpenAI):\n"
            "      --api-key-env NAME  environment variable holding the API key (default\n"
            "                       OPENAI_API_KEY, COHERE_API_KEY, AZURE_OPENAI_API_KEY)\n"
            "      --api-version V  Azure OpenAI API version (default 2024-10-21)\n"
            "      --base-url URL   an OpenAI-compatible server, another Ollama/Cohere host,\n"
            "                       or the Azure resource (https://NAME.openai.azure.com)\n"
            "      --concurrency N  requests in flight (default 1)\n"
            "      --dry-run        print requests, tokens and estimated cost; send nothing\n"
            "      --max-retries N  retries of a failed request (default 4)\n"
            "      --max-tokens N   tokens per text (default: the model's limit)\n"
            "      --request-size N  texts per request (default: the provider's maximum)\n"
            "      --request-tokens N  tokens per request (default: the provider's maximum)\n"
            "      --rpm N          at most N requests a minute\n"
            "      --split-long     embed over-long texts in parts and average (default: truncate)\n"
            "      --timeout SEC    seconds per request (default 60)\n"
            "      --tpm N          at most N tokens a minute\n"
            "      --config FILE    settings file (default .vecstore.toml)\n"
            "      --stats          print counters as JSON on stderr at exit\n"
            "  -q, --quiet          no warnings\n"
            "  -v, --verbose        more messages\n"
            "  -h, --help           show this help and exit\n"
            "  -V, --version        show the version and exit\n");
}

static int write_rec(const json_t *rec, void *arg, struct vs_diag *d)
{
    int ws = vs_cli_write(rec);
    return ws == VS_OK ? VS_OK : vs_diag_set(d, ws, "write error on standard output");
}

static void warn(int status, const struct vs_diag *d, void *arg)
{
    vs_cli_report_warning(status, d);
}

/* API models: a finished batch reaches the file now, so a killed run keeps
 * it (the cache holds the rest). */
static int flush_out(void *arg, struct vs_diag *d)
{
    if (fflush(stdout) == 0)
        return VS_OK;
    return vs_diag_set(d, vs_status_from_errno(errno), "write error on standard output");
}

static void progress(const struct vs_embed_counts *c, void *arg)
{
    vs_cli_progress((uint64_t)c->out, "records");
}

/* embed.price.MODEL (USD per million tokens) overrides the built-in
 * price; returns an exit code. */
static int set_price(struct vs_embedder *e)
{
    char key[400];
    double p;
    vs_embed_price_key(e, key, sizeof key);
    const char *v = vs_cli_setting(key);
    if (!v)
        return 0;
    if (vs_cli_parse_double(key, v, 0, 1e6, &p))
        return VS_EXIT_USAGE;
    vs_embedder_set_price(e, p);
    return 0;
}

/* [embed] settings for the options not given (bit OPT_X - OPT_AS of
 * given); returns 0 or an exit code. */
static int embed_settings(unsigned long given, struct vs_embed_records_opts *o,
                          struct vs_embed_opts *ao, long *batch, long *threads)
{
#define NOT_GIVEN(opt) (!(given & (1UL << ((opt) - OPT_AS))))
    const char *v;
    long l;
    double x;
    int b;
    if (NOT_GIVEN(OPT_KEEP_GOING) && (v = vs_cli_setting("embed.keep_going"))) {
        if (vs_cli_parse_bool("embed.keep_going", v, &b))
            return VS_EXIT_USAGE;
        o->keep_going = b;
    }
    if (NOT_GIVEN(OPT_SPLIT_LONG) && (v = vs_cli_setting("embed.split_long"))) {
        if (vs_cli_parse_bool("embed.split_long", v, &b))
            return VS_EXIT_USAGE;
        ao->split_long = b;
    }
    if (NOT_GIVEN(OPT_FIELD) && (v = vs_cli_setting("embed.field")))
        o->field = v;
    if (NOT_GIVEN(OPT_API_KEY_ENV) && (v = vs_cli_setting("embed.api_key_env")))
        ao->api_key_env = v;
    if ((NOT_GIVEN(OPT_BATCH) && (v = vs_cli_setting("embed.batch")) &&
         vs_cli_parse_long("embed.batch", v, 1, 65536, batch)) ||
        (NOT_GIVEN(OPT_THREADS) && (v = vs_cli_setting("embed.threads")) &&
         vs_cli_parse_long("embed.threads", v, 1, 1024, threads)) ||
        (NOT_GIVEN(OPT_RPM) && (v = vs_cli_setting("embed.rpm")) &&
         vs_cli_parse_double("embed.rpm", v, 0.001, 1e9, &ao->rpm)) ||
        (NOT_GIVEN(OPT_TPM) && (v = vs_cli_setting("embed.tpm")) &&
         vs_cli_parse_double("embed.tpm", v, 1, 1e12, &ao->tpm)))
        return VS_EXIT_USAGE;
    if (NOT_GIVEN(OPT_CONCURRENCY) && (v = vs_cli_setting("embed.concurrency"))) {
        if (vs_cli_parse_long("embed.concurrency", v, 1, 64, &l))
            return VS_EXIT_USAGE;
        ao->concurrency = (int)l;
    }
    if (NOT_GIVEN(OPT_MAX_RETRIES) && (v = vs_cli_setting("embed.max_retries"))) {
        if (vs_cli_parse_long("embed.max_retries", v, 0, 100, &l))
            return VS_EXIT_USAGE;
        ao->max_retries = (int)l;
    }
    if (NOT_GIVEN(OPT_TIMEOUT) && (v = vs_cli_setting("embed.timeout"))) {
        if (vs_cli_parse_double("embed.timeout", v, 0.001, 86400, &x))
            return VS_EXIT_USAGE;
        ao->timeout_ms = (long)(x * 1000);
    }
#undef NOT_GIVEN
    return 0;
}

int main(int argc, char **argv)
{
    vs_cli_init(argv[0]);
    static const struct option longopts[] = {
        {"api-key-env", required_argument, NULL, OPT_API_KEY_ENV},
        {"api-version", required_argument, NULL, OPT_API_VERSION},
        {"as", required_argument, NULL, OPT_AS},
        {"b64", no_argument, NULL, OPT_B64},
        {"base-url", required_argument, NULL, OPT_BASE_URL},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
        {"dim", required_argument, NULL, OPT_DIM},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"field", required_argument, NULL, OPT_FIELD},
        {"keep-going", no_argument, NULL, OPT_KEEP_GOING},
        {"max-retries", required_argument, NULL, OPT_MAX_RETRIES},
        {"max-tokens", required_argument, NULL, OPT_MAX_TOKENS},
        {"model", required_argument, NULL, OPT_MODEL},
        {"no-cache", no_argument, NULL, OPT_NO_CACHE},
        {"request-size", required_argument, NULL, OPT_REQUEST_SIZE},
        {"request-tokens", required_argument, NULL, OPT_REQUEST_TOKENS},
        {"rpm", required_argument, NULL, OPT_RPM},
        {"split-long", no_argument, NULL, OPT_SPLIT_LONG},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"tpm", required_argument, NULL, OPT_TPM},
        VS_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0}};
    struct vs_embed_records_opts o;
    vs_embed_records_opts_init(&o);
    struct vs_embed_opts ao;
    vs_embed_opts_init(&ao);
    const char *api_opt = NULL, *dim_s = NULL, *model = NULL; /* api_opt: an API-only option given */
    long lv, batch = 256, dim = 0, threads = 0;
    double dv;
    int c, role = 0, bad;
    unsigned long given = 0; /* bit c - OPT_AS: option c given */
    while ((c = getopt_long(argc, argv, VS_CLI_COMMON_SHORTOPTS, longopts,
                            NULL)) != -1) {
        if (vs_cli_common_option(c, optarg, usage))
            continue;
        if (c >= OPT_AS && c <= OPT_TPM)
            given |= 1UL << (c - OPT_AS);
        bad = 0;
        switch (c) {
        case OPT_AS:
            if (strcmp(optarg, "document") == 0 || strcmp(optarg, "query") == 0)
                role = strcmp(optarg, "query") == 0;
            else
                bad = vs_cli_usage_error("--as: '%s' is neither document nor query", optarg);
            break;
        case OPT_B64: o.b64 = 1; break;
        case OPT_BATCH: bad = vs_cli_parse_long("--batch", optarg, 1, 65536, &batch); break;
        case OPT_DIM: dim_s = optarg; break;
        case OPT_FIELD: o.field = optarg; break;
        case OPT_KEEP_GOING: o.keep_going = 1; break;
        case OPT_MODEL: model = optarg; break;
        case OPT_THREADS: bad = vs_cli_parse_long("--threads", optarg, 1, 1024, &threads); break;
        case OPT_API_KEY_ENV: ao.api_key_env = optarg; api_opt = "--api-key-env"; break;
        case OPT_API_VERSION: ao.api_version = optarg; break;
        case OPT_BASE_URL: ao.base_url = optarg; api_opt = "--base-url"; break;
        case OPT_CONCURRENCY:
            bad = vs_cli_parse_long("--concurrency", optarg, 1, 64, &lv);
            ao.concurrency = (int)lv;
            api_opt = "--concurrency";
            break;
        case OPT_DRY_RUN: o.dry_run = ao.dry_run = 1; api_opt = "--dry-run"; break;
        case OPT_MAX_RETRIES:
            bad = vs_cli_parse_long("--max-retries", optarg, 0, 100, &lv);
            ao.max_retries = (int)lv;
            api_opt = "--max-retries";
            break;
        case OPT_MAX_TOKENS:
            bad = vs_cli_parse_long("--max-tokens", optarg, 1, 10000000, &ao.max_tokens);
            api_opt = "--max-tokens";
            break;
        case OPT_NO_CACHE: ao.no_cache = 1; break;
        case OPT_REQUEST_SIZE:
            bad = vs_cli_parse_long("--request-size", optarg, 1, 1000000, &ao.request_inputs);
            api_opt = "--request-size";
            break;
        case OPT_REQUEST_TOKENS:
            bad = vs_cli_parse_long("--request-tokens", optarg, 1, 100000000, &ao.request_tokens);
            api_opt = "--request-tokens";
            break;
        case OPT_RPM:
            bad = vs_cli_parse_double("--rpm", optarg, 0.001, 1e9, &ao.rpm);
            api_opt = "--rpm";
            break;
        case OPT_SPLIT_LONG: ao.split_long = 1; api_opt = "--split-long"; break;
        case OPT_TIMEOUT:
            bad = vs_cli_parse_double("--timeout", optarg, 0.001, 86400, &dv);
            ao.timeout_ms = (long)(dv * 1000);
            api_opt = "--timeout";
            break;
        case OPT_TPM:
            bad = vs_cli_parse_double("--tpm", optarg, 1, 1e12, &ao.tpm);
            api_opt = "--tpm";
            break;
        default: bad = vs_cli_usage_error(NULL); break;
        }
        if (bad)
            return vs_cli_exit(VS_EXIT_USAGE);
    }
    if (embed_settings(given, &o, &ao, &batch, &threads))
        return vs_cli_exit(VS_EXIT_USAGE);
    o.batch = (size_t)batch;
    if (!model)
        model = vs_cli_setting("embed.model");
    if (!dim_s)
        dim_s = vs_cli_setting("embed.dim");
    char dname[64], ddir[4096];
    if (!model && !dim_s) {
        /* no model asked for: the best trained model fetched, else hash */
        if (vs_bert_default_model(dname, sizeof dname, ddir, sizeof ddir) == 0) {
            model = dname;
            vs_cli_info(0, "model %s (%s, the best local model; --model hash for the hash embedder)",
                        dname, ddir);
        } else {
            vs_cli_info(0, "model hash (no trained model in %s; scripts/get-model.sh minilm fetches one)",
                        ddir);
        }
    }
    if (dim_s && vs_cli_parse_long("--dim", dim_s, 1, VS_EMBED_DIM_MAX, &dim))
        return vs_cli_exit(VS_EXIT_USAGE);

    struct vs_diag d;
    vs_diag_clear(&d);
    struct vs_embedder *e = NULL;
    if (!ao.base_url)
        ao.base_url = vs_cli_setting("embed.base_url");
    const char *mname = model ? model : "hash";
    if (ao.api_version && strncmp(mname, "azure:", 6) != 0)
        return vs_cli_exit(vs_cli_usage_error("--api-version applies to azure: models only"));
    if (!ao.api_version)
        ao.api_version = vs_cli_setting("embed.api_version");
    const char *cmax = vs_cli_setting("embed.cache_max_mb");
    if (cmax) {
        if (vs_cli_parse_long("embed.cache_max_mb", cmax, 1, 1L << 40, &lv))
            return vs_cli_exit(VS_EXIT_USAGE);
        ao.cache_max_bytes = (long long)lv << 20;
    }
    vs_cli_stage("model");
    int st = vs_embedder_new_opts(mname, (size_t)dim, &ao, &e, &d);
    if (st != VS_OK)
        return vs_cli_exit(vs_cli_report(st, &d));
    int code = 0;
    if (api_opt && !vs_embedder_is_remote(e))
        code = vs_cli_usage_error(
            "%s applies to API models only (openai:, azure:, ollama:, cohere:)", api_opt);
    else if (ao.no_cache && strcmp(vs_embedder_name(e), "hash") == 0)
        code = vs_cli_usage_error(
            "--no-cache: the hash model has no cache (it applies to BERT and API models)");
    else if (vs_embedder_is_remote(e))
        code = set_price(e);
    if (code) {
        vs_embedder_free(e);
        return vs_cli_exit(code);
    }
    vs_cli_info(1, "model %s", vs_embedder_identity(e));
    vs_embedder_set_role(e, role);
    vs_embedder_set_threads((int)threads);

    struct vs_embed_counts cnt = {0, 0, 0, 0, 0, 0};
    const struct vs_embed_sink sink = {write_rec, warn, flush_out, progress, NULL};
    vs_cli_stage("embed");
    vs_cli_stream(VS_CLI_STREAM_FILTER);
    int nfiles = argc - optind;
    vs_cli_progress_inputs(nfiles, argv + optind);
    for (int i = 0; !code && i < (nfiles ? nfiles : 1); i++)
        if ((st = vs_embed_records(e, &o, nfiles ? argv[optind + i] : NULL, &sink, &cnt, &d)))
            code = vs_cli_report(st, &d);
    if (cnt.truncated && !o.dry_run)
        vs_cli_warn("%lld of %lld records were longer than the model reads and were cut "
                    "(they carry \"truncated\": true; --split-long embeds them in parts, "
                    "or chunk them smaller)",
                    cnt.truncated, cnt.out);
    struct vs_embed_stats es;
    vs_embedder_stats(e, &es);
    if (o.dry_run && !code) {
        json_t *sum = vs_embed_dry_run_json(e, &es, cnt.out);
        vs_diag_clear(&d);
        if ((st = sum ? write_rec(sum, NULL, &d) : vs_diag_set(&d, VS_E_NOMEM, "out of memory")))
            code = vs_cli_report(st, &d);
        json_decref(sum);
    }
    json_t *stats = vs_embed_stats_json(e, &es, &cnt, ao.no_cache);
    json_object_update(vs_cli.stat, stats);
    json_decref(stats);
    vs_embedder_free(e);
    double el = vs_cli_elapsed();
    vs_cli_stat_real("records_per_s", el > 0 ? (double)cnt.out / el : 0);
    return vs_cli_exit(code);
}
