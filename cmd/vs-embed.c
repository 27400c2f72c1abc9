/* vs-embed: add a vector to each NDJSON record from its text. */
#include "cli.h"
#include "vs_bert.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_AS = VS_OPT_FIRST_PROGRAM,
    OPT_B64,
    OPT_BATCH,
    OPT_DIM,
    OPT_FIELD,
    OPT_KEEP_GOING,
    OPT_MODEL,
    OPT_THREADS,
    /* API models */
    OPT_API_KEY_ENV,
    OPT_API_VERSION,
    OPT_BASE_URL,
    OPT_CONCURRENCY,
    OPT_DRY_RUN,
    OPT_MAX_RETRIES,
    OPT_MAX_TOKENS,
    OPT_NO_CACHE,
    OPT_REQUEST_SIZE,
    OPT_REQUEST_TOKENS,
    OPT_RPM,
    OPT_SPLIT_LONG,
    OPT_TIMEOUT,
    OPT_TPM
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
            "      --model NAME     model name or identity: hash (default), hash-v1:DIM,\n"
            "                       a BERT model folder (DIR/NAME), or NAME in\n"
            "                       $VS_MODEL_DIR (default ~/.cache/vecstore/models),\n"
            "                       or use-lite (scripts/get-model.sh use-lite)\n"
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

struct opts {
    int b64, keep_going, dry_run;
    long batch, dim;
    const char *field, *model;
};

struct counters {
    long long in, out, skipped, truncated, failed, passed;
};

struct item {
    json_t *rec;
    long line;
};

/* Embed and write one batch; returns an exit code (0 to go on). */
static int flush_batch(struct vs_embedder *e, const struct opts *o,
                       const char *name, struct item *items,
                       const char **texts, size_t *lens, float *vecs,
                       int *st, size_t n, struct counters *c)
{
    struct vs_diag d;
    vs_diag_clear(&d);
    int rc = vs_embedder_embed(e, n, texts, lens, vecs, st, &d);
    if (rc == VS_E_NOMEM)
        return vs_cli_report(rc, &d);
    size_t dim = vs_embedder_dim(e);
    int code = 0;
    for (size_t i = 0; i < n && !code; i++) {
        const char *apierr = st[i] != VS_OK ? vs_embedder_error(e, i) : NULL;
        if (apierr && (st[i] == VS_E_REMOTE || st[i] == VS_E_NETWORK)) {
            vs_diag_clear(&d);
            vs_diag_where(&d, name, items[i].line);
            vs_diag_set(&d, st[i], "%s", apierr);
            if (!o->keep_going) {
                code = vs_cli_report(st[i], &d);
                break;
            }
            vs_cli_report_warning(st[i], &d);
            c->failed++;
            json_object_set_new(items[i].rec, "error", json_string(apierr));
            int ws = vs_cli_write(items[i].rec);
            if (ws != VS_OK) {
                vs_diag_clear(&d);
                code = vs_cli_report(vs_diag_set(&d, ws, "write error on standard output"), &d);
            }
            continue;
        }
        if (st[i] != VS_OK) {
            vs_diag_clear(&d);
            vs_diag_where(&d, name, items[i].line);
            vs_diag_field(&d, "%s", o->field);
            vs_diag_set(&d, st[i], "%s",
                        st[i] == VS_E_DATA ? "is not valid UTF-8"
                        : lens[i]          ? "has no letters or digits to embed"
                                           : "is empty");
            if (!o->keep_going) {
                code = vs_cli_report(st[i], &d);
                break;
            }
            vs_cli_report_warning(st[i], &d);
            c->skipped++;
            continue;
        }
        json_t *rec = items[i].rec;
        if (o->dry_run) {
            c->out++;
            continue;
        }
        if (vs_embedder_local_truncated(e, i)) {
            json_object_set_new(rec, "truncated", json_true());
            c->truncated++;
        }
        if (vs_record_set_vector(rec, vecs + i * dim, dim, o->b64) != VS_OK ||
            json_object_set_new(rec, "vector_model",
                                json_string(vs_embedder_identity(e))) != 0) {
            code = vs_cli_report(vs_diag_set(&d, VS_E_NOMEM, "out of memory"), &d);
            break;
        }
        int ws = vs_cli_write(rec);
        if (ws != VS_OK) {
            vs_diag_clear(&d);
            code = vs_cli_report(vs_diag_set(&d, ws, "write error on standard output"), &d);
            break;
        }
        c->out++;
    }
    for (size_t i = 0; i < n; i++)
        json_decref(items[i].rec);
    /* API models: a finished batch reaches the file now, so a killed run
     * keeps it (the cache holds the rest). */
    if (!code && vs_embedder_is_remote(e) && fflush(stdout) != 0) {
        vs_diag_clear(&d);
        code = vs_cli_report(vs_diag_set(&d, vs_status_from_errno(errno),
                                         "write error on standard output"), &d);
    }
    vs_cli_progress((uint64_t)c->out, "records");
    return code;
}

static int embed_file(struct vs_embedder *e, const struct opts *o,
                      const char *path, struct counters *c)
{
    struct vs_diag d;
    vs_diag_clear(&d);
    struct vs_ndjson_reader *r = NULL;
    size_t cap = (size_t)o->batch, dim = vs_embedder_dim(e);
    struct item *items = calloc(cap, sizeof *items);
    const char **texts = calloc(cap, sizeof *texts);
    size_t *lens = calloc(cap, sizeof *lens);
    int *st = calloc(cap, sizeof *st);
    float *vecs = malloc(cap * dim * sizeof *vecs);
    int code = 0;
    if (!items || !texts || !lens || !st || !vecs) {
        code = vs_cli_report(vs_diag_set(&d, VS_E_NOMEM, "out of memory"), &d);
        goto done;
    }
    int rs = vs_ndjson_open(path, 0, &r, &d);
    if (rs != VS_OK) {
        code = vs_cli_report(rs, &d);
        goto done;
    }
    const char *name = vs_ndjson_name(r);
    size_t n = 0;
    for (;;) {
        json_t *rec;
        rs = vs_ndjson_read(r, &rec, &d);
        if (rs != VS_OK) {
            if (rs == VS_E_IO || !o->keep_going) {
                code = vs_cli_report(rs, &d);
                break;
            }
            vs_cli_report_warning(rs, &d);
            c->skipped++;
            continue;
        }
        const char *op = rec ? json_string_value(json_object_get(rec, "op")) : NULL;
        if (op && (!strcmp(op, "keep") || !strcmp(op, "delete"))) {
            /* keep markers and deletes pass through, in order */
            c->in++;
            if (n) {
                code = flush_batch(e, o, name, items, texts, lens, vecs, st, n, c);
                n = 0;
            }
            int ws = code || o->dry_run ? VS_OK : vs_cli_write(rec);
            json_decref(rec);
            if (ws != VS_OK) {
                vs_diag_clear(&d);
                code = vs_cli_report(vs_diag_set(&d, ws, "write error on standard output"), &d);
            }
            if (code)
                break;
            c->passed++;
            continue;
        }
        if (rec) {
            c->in++;
            json_t *t = json_object_get(rec, o->field);
            if (!json_is_string(t)) {
                vs_diag_clear(&d);
                vs_diag_where(&d, name, vs_ndjson_line(r));
                vs_diag_field(&d, "%s", o->field);
                vs_diag_set(&d, VS_E_FIELD, t ? "is not a string" : "is missing");
                json_decref(rec);
                if (!o->keep_going) {
                    code = vs_cli_report(VS_E_FIELD, &d);
                    break;
                }
                vs_cli_report_warning(VS_E_FIELD, &d);
                c->skipped++;
                continue;
            }
            items[n] = (struct item){rec, vs_ndjson_line(r)};
            texts[n] = json_string_value(t);
            lens[n] = json_string_length(t);
            n++;
        }
        if (n && (n == cap || !rec)) {
            code = flush_batch(e, o, name, items, texts, lens, vecs, st, n, c);
            n = 0;
            if (code)
                break;
        }
        if (!rec)
            break;
    }
    for (size_t i = 0; i < n; i++)
        json_decref(items[i].rec);
done:
    vs_ndjson_close(r);
    free(vecs);
    free(st);
    free(lens);
    free(texts);
    free(items);
    return code;
}

/* embed.price.MODEL (USD per million tokens) overrides the built-in
 * price; returns an exit code. */
static int set_price(struct vs_embedder *e)
{
    char key[400], model[300];
    snprintf(model, sizeof model, "%s", vs_embedder_identity(e));
    char *c1 = strchr(model, ':'), *c2 = strrchr(model, ':');
    if (c1 && c2 > c1)
        *c2 = '\0';
    snprintf(key, sizeof key, "embed.price.%s", c1 ? c1 + 1 : model);
    const char *v = vs_cli_setting(key);
    double p;
    if (!v)
        return 0;
    if (vs_cli_parse_double(key, v, 0, 1e6, &p))
        return VS_EXIT_USAGE;
    vs_embedder_set_price(e, p);
    return 0;
}

static void put_num(json_t *o, const char *k, double v)
{
    json_object_set_new(o, k, v >= 0 ? json_real(v) : json_null());
}

/* --dry-run: one summary object on stdout. */
static int dry_run_report(struct vs_embedder *e, const struct vs_embed_stats *s,
                          long long records)
{
    json_t *o = json_object();
    json_object_set_new(o, "dry_run", json_true());
    json_object_set_new(o, "model", json_string(vs_embedder_identity(e)));
    json_object_set_new(o, "records", json_integer(records));
    json_object_set_new(o, "requests", json_integer(s->requests));
    json_object_set_new(o, "tokens", json_integer(s->tokens));
    json_object_set_new(o, "cache_hits", json_integer(s->cache_hits));
    json_object_set_new(o, "truncated", json_integer(s->truncated));
    json_object_set_new(o, "split", json_integer(s->split));
    put_num(o, "price_usd_per_1m_tokens", s->price);
    json_object_set_new(o, "price_date", json_string(s->price_date));
    put_num(o, "cost_usd", s->cost);
    struct vs_diag d;
    vs_diag_clear(&d);
    int ws = vs_cli_write(o);
    json_decref(o);
    if (ws != VS_OK)
        return vs_cli_report(vs_diag_set(&d, ws, "write error on standard output"), &d);
    return 0;
}

static void api_stats(const struct vs_embed_stats *s, long long failed)
{
    vs_cli_stat_int("tokens", s->tokens);
    if (s->usage_tokens >= 0)
        vs_cli_stat_int("usage_tokens", s->usage_tokens);
    vs_cli_stat_int("requests", s->requests);
    vs_cli_stat_int("attempts", s->attempts);
    vs_cli_stat_int("retries", s->retries);
    vs_cli_stat_int("cache_hits", s->cache_hits);
    vs_cli_stat_int("cache_misses", s->cache_misses);
    vs_cli_stat_int("split", s->split);
    vs_cli_stat_int("failed", failed);
    if (s->cost >= 0)
        vs_cli_stat_real("cost_usd", s->cost);
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
    struct opts o = {0, 0, 0, 256, 0, "text", NULL};
    struct vs_embed_opts ao;
    vs_embed_opts_init(&ao);
    const char *api_opt = NULL; /* an API-only option given */
    long lv;
    double dv;
    const char *dim_s = NULL;
    int c, role = 0;
    long threads = 0;
    while ((c = getopt_long(argc, argv, VS_CLI_COMMON_SHORTOPTS, longopts,
                            NULL)) != -1) {
        if (vs_cli_common_option(c, optarg, usage))
            continue;
        switch (c) {
        case OPT_AS:
            if (strcmp(optarg, "document") == 0)
                role = 0;
            else if (strcmp(optarg, "query") == 0)
                role = 1;
            else
                return vs_cli_exit(vs_cli_usage_error(
                    "--as: '%s' is neither document nor query", optarg));
            break;
        case OPT_B64: o.b64 = 1; break;
        case OPT_BATCH:
            if (vs_cli_parse_long("--batch", optarg, 1, 65536, &o.batch))
                return vs_cli_exit(VS_EXIT_USAGE);
            break;
        case OPT_DIM: dim_s = optarg; break;
        case OPT_FIELD: o.field = optarg; break;
        case OPT_KEEP_GOING: o.keep_going = 1; break;
        case OPT_MODEL: o.model = optarg; break;
        case OPT_THREADS:
            if (vs_cli_parse_long("--threads", optarg, 1, 1024, &threads))
                return vs_cli_exit(VS_EXIT_USAGE);
            break;
        case OPT_API_KEY_ENV: ao.api_key_env = optarg; api_opt = "--api-key-env"; break;
        case OPT_API_VERSION: ao.api_version = optarg; break;
        case OPT_BASE_URL: ao.base_url = optarg; api_opt = "--base-url"; break;
        case OPT_CONCURRENCY:
            if (vs_cli_parse_long("--concurrency", optarg, 1, 64, &lv))
                return vs_cli_exit(VS_EXIT_USAGE);
            ao.concurrency = (int)lv;
            api_opt = "--concurrency";
            break;
        case OPT_DRY_RUN: o.dry_run = ao.dry_run = 1; api_opt = "--dry-run"; break;
        case OPT_MAX_RETRIES:
            if (vs_cli_parse_long("--max-retries", optarg, 0, 100, &lv))
                return vs_cli_exit(VS_EXIT_USAGE);
            ao.max_retries = (int)lv;
            api_opt = "--max-retries";
            break;
        case OPT_MAX_TOKENS:
            if (vs_cli_parse_long("--max-tokens", optarg, 1, 10000000, &ao.max_tokens))
                return vs_cli_exit(VS_EXIT_USAGE);
            api_opt = "--max-tokens";
            break;
        case OPT_NO_CACHE: ao.no_cache = 1; break;
        case OPT_REQUEST_SIZE:
            if (vs_cli_parse_long("--request-size", optarg, 1, 1000000, &ao.request_inputs))
                return vs_cli_exit(VS_EXIT_USAGE);
            api_opt = "--request-size";
            break;
        case OPT_REQUEST_TOKENS:
            if (vs_cli_parse_long("--request-tokens", optarg, 1, 100000000, &ao.request_tokens))
                return vs_cli_exit(VS_EXIT_USAGE);
            api_opt = "--request-tokens";
            break;
        case OPT_RPM:
            if (vs_cli_parse_double("--rpm", optarg, 0.001, 1e9, &ao.rpm))
                return vs_cli_exit(VS_EXIT_USAGE);
            api_opt = "--rpm";
            break;
        case OPT_SPLIT_LONG: ao.split_long = 1; api_opt = "--split-long"; break;
        case OPT_TIMEOUT:
            if (vs_cli_parse_double("--timeout", optarg, 0.001, 86400, &dv))
                return vs_cli_exit(VS_EXIT_USAGE);
            ao.timeout_ms = (long)(dv * 1000);
            api_opt = "--timeout";
            break;
        case OPT_TPM:
            if (vs_cli_parse_double("--tpm", optarg, 1, 1e12, &ao.tpm))
                return vs_cli_exit(VS_EXIT_USAGE);
            api_opt = "--tpm";
            break;
        default:
            return vs_cli_exit(vs_cli_usage_error(NULL));
        }
    }
    if (!o.model)
        o.model = vs_cli_setting("embed.model");
    if (!dim_s)
        dim_s = vs_cli_setting("embed.dim");
    if (dim_s && vs_cli_parse_long("--dim", dim_s, 1, VS_EMBED_DIM_MAX, &o.dim))
        return vs_cli_exit(VS_EXIT_USAGE);

    struct vs_diag d;
    vs_diag_clear(&d);
    struct vs_embedder *e = NULL;
    if (!ao.base_url)
        ao.base_url = vs_cli_setting("embed.base_url");
    const char *mname = o.model ? o.model : "hash";
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
    int st = vs_embedder_new_opts(o.model ? o.model : "hash", (size_t)o.dim, &ao,
                                  &e, &d);
    if (st != VS_OK)
        return vs_cli_exit(vs_cli_report(st, &d));
    if (api_opt && !vs_embedder_is_remote(e)) {
        vs_embedder_free(e);
        return vs_cli_exit(vs_cli_usage_error(
            "%s applies to API models only (openai:, azure:, ollama:, cohere:)", api_opt));
    }
    if (ao.no_cache && strcmp(vs_embedder_name(e), "hash") == 0) {
        vs_embedder_free(e);
        return vs_cli_exit(vs_cli_usage_error(
            "--no-cache: the hash model has no cache (it applies to BERT and API models)"));
    }
    if (vs_embedder_is_remote(e) && set_price(e) != 0) {
        vs_embedder_free(e);
        return vs_cli_exit(VS_EXIT_USAGE);
    }
    vs_cli_info(1, "model %s", vs_embedder_identity(e));
    vs_embedder_set_role(e, role);
    vs_embedder_set_threads((int)threads);

    struct counters cnt = {0, 0, 0, 0, 0, 0};
    int code = 0;
    vs_cli_stage("embed");
    if (optind >= argc)
        code = embed_file(e, &o, NULL, &cnt);
    for (int i = optind; i < argc && !code; i++)
        code = embed_file(e, &o, argv[i], &cnt);
    struct vs_embed_stats es;
    vs_embedder_stats(e, &es);
    if (o.dry_run && !code)
        code = dry_run_report(e, &es, cnt.out);
    if (vs_embedder_is_remote(e))
        api_stats(&es, cnt.failed);
    else if (strcmp(vs_embedder_name(e), "hash") != 0 && !ao.no_cache) {
        vs_cli_stat_int("cache_hits", es.cache_hits);
        vs_cli_stat_int("cache_misses", es.cache_misses);
    }
    vs_embedder_free(e);

    double el = vs_cli_elapsed();
    vs_cli_stat_int("records_in", cnt.in);
    vs_cli_stat_int("records_out", cnt.out);
    vs_cli_stat_int("skipped", cnt.skipped);
    vs_cli_stat_int("truncated", cnt.truncated);
    vs_cli_stat_int("passed_through", cnt.passed);
    vs_cli_stat_real("records_per_s", el > 0 ? (double)cnt.out / el : 0);
    return vs_cli_exit(code);
}
