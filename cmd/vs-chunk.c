/* vs-chunk: documents (files, directories, NDJSON records) to chunk records. */
#include "cli.h"
#include "vs_bert.h"
#include "vs_chunk_job.h"

#include <stdlib.h>
#include <string.h>

enum {
    OPT_EXCLUDE = VS_OPT_FIRST_PROGRAM,
    OPT_FIELD,
    OPT_HTML_ALL,
    OPT_INCLUDE,
    OPT_KEEP_GOING,
    OPT_MIN_SIZE,
    OPT_MODEL,
    OPT_NO_IGNORE,
    OPT_OVERLAP,
    OPT_SINCE,
    OPT_SIZE,
    OPT_SPLITTER,
    OPT_TITLE,
    OPT_UNIT
};

#define MAX_GLOBS 64

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: vs-chunk [OPTION]... [PATH]...\n"
            "Split documents into chunk records (NDJSON on standard output).\n"
            "PATH is a file or a directory (walked recursively, sorted); .jsonl and\n"
            ".ndjson files, standard input (no PATH, or -) hold one document per record.\n"
            "\n"
            "      --exclude GLOB   skip files and directories matching GLOB (repeatable)\n"
            "      --field NAME     text field of input records (default \"text\")\n"
            "      --html-all       HTML: the whole page, navigation, headers and footers\n"
            "                       too (default: the main content only)\n"
            "      --include GLOB   in directories, read the files matching GLOB, of any\n"
            "                       format (repeatable; default: document formats only)\n"
            "      --keep-going     skip bad files and records with a warning, exit 0\n"
            "      --min-size N     merge chunks smaller than N units into a neighbour\n"
            "                       (default: a tenth of --size; 0 = never)\n"
            "      --model NAME     with --unit tokens, the model whose tokenizer counts:\n"
            "                       hash, use-lite, minilm, bge-small, a BERT model folder\n"
            "                       (as vs-embed --model; default: embed.model, else the\n"
            "                       best model fetched, else hash)\n"
            "      --no-ignore      do not read .gitignore, .ignore and .vecstoreignore\n"
            "      --overlap N      overlap between chunks, in units (default 0)\n"
            "      --since STORE    do not read files whose stamp (times, size, inode,\n"
            "                       chunking options) equals the one STORE holds for them;\n"
            "                       write a {\"op\":\"keep\"} marker for each at the end\n"
            "      --size N         largest chunk, in units (default 1000; with --unit\n"
            "                       tokens, what the model reads, e.g. 254 for minilm)\n"
            "      --splitter NAME  fixed, recursive (default), sentence, markdown\n"
            "      --title WHERE    a record's \"title\" (BEIR corpora): text (default:\n"
            "                       \"TITLE\\n\\nTEXT\" is chunked, embedded and indexed; offsets\n"
            "                       are into it) or metadata (only metadata.title)\n"
            "      --unit UNIT      chars (Unicode code points, default), words, or tokens\n"
            "                       (the model's own: no chunk is cut by vs-embed)\n"
            "      --config FILE    settings file (default .vecstore.toml)\n"
            "      --stats          print counters as JSON on stderr at exit\n"
            "  -q, --quiet          no warnings\n"
            "  -v, --verbose        more messages\n"
            "  -h, --help           show this help and exit\n"
            "  -V, --version        show the version and exit\n");
}

static int write_rec(const json_t *rec, void *arg)
{
    (void)arg;
    return vs_cli_write(rec);
}

static void warn(int st, const struct vs_diag *d, void *arg)
{
    (void)arg;
    vs_cli_report_warning(st, d);
}

static void info(int level, const char *path, const char *what, void *arg)
{
    (void)arg;
    vs_cli_info(level, "%s: %s", path, what);
}

/* arg: the job; files_total: what the walks will hand over (0: no walk,
 * or progress is not shown) */
static long long files_total;

static void progress(long long chunks, void *arg)
{
    const struct vs_chunk_job *const *job = arg;
    if (files_total && *job) /* the file being chunked is not done yet */
        vs_cli_progress_part((uint64_t)vs_chunk_job_counts(*job)->files - 1,
                             (uint64_t)files_total, "files done");
    vs_cli_progress((uint64_t)chunks, "chunks");
}

/* --unit tokens: the model's tokenizer counts (vs_chunk_count_fn). */
static int count_tokens(void *arg, const char *text, size_t len, size_t *n)
{
    struct vs_diag d;
    vs_diag_clear(&d);
    return vs_embedder_count_tokens(arg, text, len, n, &d);
}

/* The embedder whose tokenizer sizes chunks: --model, else embed.model,
 * else the best model fetched (as vs-embed chooses), else hash. Returns an
 * exit code (0 with *out set). */
static int tokens_model(const char *model, struct vs_embedder **out, char *name,
                        size_t namesz)
{
    char dname[64], ddir[4096];
    if (!model)
        model = vs_cli_setting("embed.model");
    int chosen = !model;
    if (!model)
        model = vs_bert_default_model(dname, sizeof dname, ddir, sizeof ddir) == 0 ? dname
                                                                                : "hash";
    snprintf(name, namesz, "%s", model);
    struct vs_diag d;
    vs_diag_clear(&d);
    int st = vs_embedder_new(model, 0, out, &d);
    if (st == VS_OK && vs_embedder_is_remote(*out))
        st = vs_diag_set(&d, VS_E_UNSUPPORTED,
                         "--unit tokens: the tokens of API model '%s' are not counted here "
                         "(hash, use-lite and BERT models are)", model);
    if (st != VS_OK) {
        vs_embedder_free(*out);
        *out = NULL;
        return vs_cli_report(st, &d);
    }
    if (chosen) /* as a plain vs-embed notes its choice */
        vs_cli_info(0, "tokens of model %s (%s; --model names another)", model,
                    strcmp(model, "hash") ? "the best local model"
                                          : "no trained model fetched");
    else
        vs_cli_info(1, "tokens of model %s", vs_embedder_identity(*out));
    return 0;
}

static int parse_size(const char *opt, const char *s, long *out)
{
    return vs_cli_parse_long(opt, s, 0, 1L << 40, out);
}

int main(int argc, char **argv)
{
    vs_cli_init(argv[0]);
    static const struct option longopts[] = {
        {"exclude", required_argument, NULL, OPT_EXCLUDE},
        {"field", required_argument, NULL, OPT_FIELD},
        {"html-all", no_argument, NULL, OPT_HTML_ALL},
        {"include", required_argument, NULL, OPT_INCLUDE},
        {"keep-going", no_argument, NULL, OPT_KEEP_GOING},
        {"min-size", required_argument, NULL, OPT_MIN_SIZE},
        {"model", required_argument, NULL, OPT_MODEL},
        {"no-ignore", no_argument, NULL, OPT_NO_IGNORE},
        {"overlap", required_argument, NULL, OPT_OVERLAP},
        {"since", required_argument, NULL, OPT_SINCE},
        {"size", required_argument, NULL, OPT_SIZE},
        {"splitter", required_argument, NULL, OPT_SPLITTER},
        {"title", required_argument, NULL, OPT_TITLE},
        {"unit", required_argument, NULL, OPT_UNIT},
        VS_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0}};
    const char *incl[MAX_GLOBS], *excl[MAX_GLOBS];
    const char *splitter = NULL, *unit = NULL, *size_s = NULL, *overlap_s = NULL,
               *since = NULL, *min_s = NULL, *html_all = NULL, *model = NULL;
    struct vs_walk_filter filter = {incl, 0, excl, 0, 0, NULL};
    const char *field = NULL, *keep_s = NULL, *title = NULL;
    int keep_going = 0;
    int c;
    while ((c = getopt_long(argc, argv, VS_CLI_COMMON_SHORTOPTS, longopts,
                            NULL)) != -1) {
        if (vs_cli_common_option(c, optarg, usage))
            continue;
        switch (c) {
        case OPT_EXCLUDE:
        case OPT_INCLUDE:
            if ((c == OPT_EXCLUDE ? filter.nexclude : filter.ninclude) >= MAX_GLOBS)
                return vs_cli_exit(vs_cli_usage_error("at most %d globs per option", MAX_GLOBS));
            if (c == OPT_EXCLUDE)
                excl[filter.nexclude++] = optarg;
            else
                incl[filter.ninclude++] = optarg;
            break;
        case OPT_FIELD: field = optarg; break;
        case OPT_HTML_ALL: html_all = "true"; break;
        case OPT_MIN_SIZE: min_s = optarg; break;
        case OPT_MODEL: model = optarg; break;
        case OPT_KEEP_GOING: keep_s = "true"; break;
        case OPT_NO_IGNORE: filter.no_ignore = 1; break;
        case OPT_OVERLAP: overlap_s = optarg; break;
        case OPT_SINCE: since = optarg; break;
        case OPT_SIZE: size_s = optarg; break;
        case OPT_SPLITTER: splitter = optarg; break;
        case OPT_TITLE: title = optarg; break;
        case OPT_UNIT: unit = optarg; break;
        default:
            return vs_cli_exit(vs_cli_usage_error(NULL));
        }
    }
    if (!splitter) splitter = vs_cli_setting("chunk.splitter");
    if (!unit) unit = vs_cli_setting("chunk.unit");
    if (!size_s) size_s = vs_cli_setting("chunk.size");
    if (!overlap_s) overlap_s = vs_cli_setting("chunk.overlap");
    if (!min_s) min_s = vs_cli_setting("chunk.min_size");
    if (!html_all) html_all = vs_cli_setting("chunk.html_all");
    if (!field) field = vs_cli_setting("chunk.field");
    if (!title) title = vs_cli_setting("chunk.title");
    if (!keep_s) keep_s = vs_cli_setting("chunk.keep_going");
    if (!field) field = "text";
    if (!title) title = "text";
    if (strcmp(title, "text") && strcmp(title, "metadata"))
        return vs_cli_exit(vs_cli_bad_value("--title", title, "text or metadata"));
    if (keep_s && vs_cli_parse_bool("--keep-going", keep_s, &keep_going))
        return vs_cli_exit(VS_EXIT_USAGE);
    struct vs_chunk_options o = {VS_SPLITTER_RECURSIVE, VS_CHUNK_CHARS, 1000, 0, 0, 0, NULL, NULL, NULL};
    long size_v = -1, overlap_v = 0, min_v = -1;
    if (splitter && vs_splitter_parse(splitter, &o.splitter) != VS_OK)
        return vs_cli_exit(vs_cli_usage_error("unknown splitter '%s' (fixed, recursive, sentence, markdown)", splitter));
    if (unit && vs_chunk_unit_parse(unit, &o.unit) != VS_OK)
        return vs_cli_exit(vs_cli_usage_error("unknown unit '%s' (chars, words, tokens)", unit));
    if (model && o.unit != VS_CHUNK_TOKENS)
        return vs_cli_exit(vs_cli_usage_error("--model applies to --unit tokens only"));
    if ((size_s && parse_size("--size", size_s, &size_v)) ||
        (overlap_s && parse_size("--overlap", overlap_s, &overlap_v)) ||
        (min_s && parse_size("--min-size", min_s, &min_v)))
        return vs_cli_exit(VS_EXIT_USAGE);
    if (html_all) {
        int b;
        if (vs_cli_parse_bool("chunk.html_all", html_all, &b))
            return vs_cli_exit(VS_EXIT_USAGE);
        o.load_flags = b ? VS_LOAD_HTML_ALL : 0;
    }
    struct vs_embedder *emb = NULL;
    char mname[4200];
    size_t max_tokens = 0;
    int code = 0;
    if (o.unit == VS_CHUNK_TOKENS) {
        if ((code = tokens_model(model, &emb, mname, sizeof mname)))
            return vs_cli_exit(code);
        o.count = count_tokens;
        o.count_arg = emb;
        o.count_model = vs_embedder_identity(emb);
        max_tokens = vs_embedder_max_tokens(emb);
    }
    o.size = size_v >= 0 ? (size_t)size_v : max_tokens ? max_tokens : 1000;
    o.overlap = (size_t)overlap_v;
    o.min_size = min_v >= 0 ? (size_t)min_v : o.size / 10;
    struct vs_diag d;
    vs_diag_clear(&d);
    struct vs_chunker *chunker = NULL;
    struct vs_chunk_job *job = NULL;
    int st;
    if (max_tokens && o.size > max_tokens) {
        code = vs_cli_usage_error("--size %zu: model '%s' reads %zu tokens of a text (vs-embed "
                                  "would cut the rest); give at most %zu",
                                  o.size, mname, max_tokens, max_tokens);
        goto out;
    }
    if ((st = vs_chunker_new(&o, &chunker, &d)) != VS_OK) {
        code = vs_cli_usage_error("%s", d.detail);
        goto out;
    }
    struct vs_chunk_sink sink = {write_rec, warn, info, progress, &job};
    st = vs_chunk_job_new(chunker, &o, &filter, field, keep_going, since, &sink, &job, &d);
    if (st != VS_OK) {
        code = vs_cli_report(st, &d);
        goto out;
    }
    vs_chunk_job_set_title(job, strcmp(title, "metadata") ? VS_CHUNK_TITLE_TEXT
                                                          : VS_CHUNK_TITLE_METADATA);
    /* the total for progress lines: the files the walks will read (one
     * stat-only walk first, when progress is shown at all), else the bytes
     * of record inputs */
    int walks = 0;
    for (int i = optind; i < argc; i++)
        walks += strcmp(argv[i], "-") != 0;
    if (walks && vs_cli.verbosity >= 0 && (vs_cli.stderr_is_tty || vs_cli.verbosity >= 1)) {
        for (int i = optind; i < argc; i++) {
            long long n = 0;
            struct vs_diag cd;
            vs_diag_clear(&cd);
            if (strcmp(argv[i], "-") && vs_chunk_count_files(argv[i], &filter, &n, &cd) == VS_OK)
                files_total += n;
        }
    } else if (!walks)
        vs_cli_progress_inputs(0, NULL);
    if ((st = vs_cli_stream(VS_CLI_STREAM_ORIGIN)) != VS_OK)
        vs_diag_set(&d, st, "write error on standard output");
    else if (optind >= argc)
        st = vs_chunk_job_records(job, NULL, &d);
    for (int i = optind; i < argc && st == VS_OK; i++)
        st = strcmp(argv[i], "-") ? vs_chunk_job_path(job, argv[i], &d)
                                  : vs_chunk_job_records(job, NULL, &d);
    if (st == VS_OK)
        st = vs_chunk_job_finish(job, &d);
    code = st == VS_OK ? 0 : vs_cli_report(st, &d);
    const struct vs_chunk_counts r = *vs_chunk_job_counts(job);
    if (!code && r.files_skipped && !keep_going)
        code = VS_EXIT_DATA;
    double el = vs_cli_elapsed();
    vs_cli_stat_int("docs", r.docs);
    vs_cli_stat_int("chunks", r.chunks);
    vs_cli_stat_int("bytes", r.bytes);
    vs_cli_stat_int("files_skipped", r.files_skipped);
    vs_cli_stat_int("records_skipped", r.records_skipped);
    vs_cli_stat_int("files_left_out", r.files_left_out);
    if (since)
        vs_cli_stat_int("files_unchanged", r.files_unchanged);
    vs_cli_stat_real("docs_per_s", el > 0 ? (double)r.docs / el : 0);
    vs_cli_stat_real("mb_per_s", el > 0 ? (double)r.bytes / el / 1e6 : 0);
out:
    vs_chunk_job_free(job);
    vs_chunker_free(chunker);
    vs_embedder_free(emb);
    return vs_cli_exit(code);
}
