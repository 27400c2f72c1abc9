/* vs-embed: add a vector to each NDJSON record from its text. */
#include "cli.h"
#include "vs_bert.h"

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
    OPT_THREADS
};

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: vs-embed [OPTION]... [FILE]...\n"
            "Add \"vector\" and \"vector_model\" to each NDJSON record of FILE\n"
            "(or standard input; - is standard input), computed from its text.\n"
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
            "                       $VS_MODEL_DIR (default ~/.cache/vecstore/models)\n"
            "      --threads N      threads for transformer models (default: all cores)\n"
            "      --config FILE    settings file (default .vecstore.toml)\n"
            "      --stats          print counters as JSON on stderr at exit\n"
            "  -q, --quiet          no warnings\n"
            "  -v, --verbose        more messages\n"
            "  -h, --help           show this help and exit\n"
            "  -V, --version        show the version and exit\n");
}

struct opts {
    int b64, keep_going;
    long batch, dim;
    const char *field, *model;
};

struct counters {
    long long in, out, skipped, truncated;
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

int main(int argc, char **argv)
{
    vs_cli_init(argv[0]);
    static const struct option longopts[] = {
        {"as", required_argument, NULL, OPT_AS},
        {"b64", no_argument, NULL, OPT_B64},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"dim", required_argument, NULL, OPT_DIM},
        {"field", required_argument, NULL, OPT_FIELD},
        {"keep-going", no_argument, NULL, OPT_KEEP_GOING},
        {"model", required_argument, NULL, OPT_MODEL},
        {"threads", required_argument, NULL, OPT_THREADS},
        VS_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0}};
    struct opts o = {0, 0, 256, 0, "text", NULL};
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
    int st = vs_embedder_new(o.model ? o.model : "hash", (size_t)o.dim, &e, &d);
    if (st != VS_OK)
        return vs_cli_exit(vs_cli_report(st, &d));
    vs_cli_info(1, "model %s", vs_embedder_identity(e));
    vs_embedder_set_role(e, role);
    vs_embedder_set_threads((int)threads);

    struct counters cnt = {0, 0, 0, 0};
    int code = 0;
    if (optind >= argc)
        code = embed_file(e, &o, NULL, &cnt);
    for (int i = optind; i < argc && !code; i++)
        code = embed_file(e, &o, argv[i], &cnt);
    vs_embedder_free(e);

    double el = vs_cli_elapsed();
    vs_cli_stat_int("records_in", cnt.in);
    vs_cli_stat_int("records_out", cnt.out);
    vs_cli_stat_int("skipped", cnt.skipped);
    vs_cli_stat_int("truncated", cnt.truncated);
    vs_cli_stat_real("records_per_s", el > 0 ? (double)cnt.out / el : 0);
    return vs_cli_exit(code);
}
