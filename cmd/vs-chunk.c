/* vs-chunk: documents (files, directories, NDJSON records) to chunk records. */
#include "cli.h"
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
            "      --no-ignore      do not read .gitignore, .ignore and .vecstoreignore\n"
            "      --overlap N      overlap between chunks, in units (default 0)\n"
            "      --since STORE    do not read files whose stamp (times, size, inode,\n"
            "                       chunking options) equals the one STORE holds for them;\n"
            "                       write a {\"op\":\"keep\"} marker for each at the end\n"
            "      --size N         largest chunk, in units (default 1000)\n"
            "      --splitter NAME  fixed, recursive (default), sentence, markdown\n"
            "      --title WHERE    a record's \"title\" (BEIR corpora): text (default:\n"
            "                       \"TITLE\\n\\nTEXT\" is chunked, embedded and indexed; offsets\n"
            "                       are into it) or metadata (only metadata.title)\n"
            "      --unit UNIT      chars (Unicode code points, default) or words\n"
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

static void progress(long long chunks, void *arg)
{
    (void)arg;
    vs_cli_progress((uint64_t)chunks, "chunks");
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
               *since = NULL, *min_s = NULL, *html_all = NULL;
    struct vs_walk_filter filter = {incl, 0, excl, 0, 0, NULL};
    const char *field = "text";
    int keep_going = 0;
    const char *title = "text";
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
        case OPT_KEEP_GOING: keep_going = 1; break;
        case OPT_NO_IGNORE: filter.no_ignore = 1; break;
        case OPT_OVERLAP: overlap_s = optarg; break;
        case OPT_SINCE: since = optarg; break;
        case OPT_SIZE: size_s = optarg; break;
        case OPT_SPLITTER: splitter = optarg; break;
        case OPT_TITLE:
            if (strcmp(optarg, "text") && strcmp(optarg, "metadata"))
                return vs_cli_exit(vs_cli_usage_error("--title takes text or metadata, not '%s'",
                                                      optarg));
            title = optarg;
            break;
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
    struct vs_chunk_options o = {VS_SPLITTER_RECURSIVE, VS_CHUNK_CHARS, 1000, 0, 0, 0};
    long v;
    if (splitter && vs_splitter_parse(splitter, &o.splitter) != VS_OK)
        return vs_cli_exit(vs_cli_usage_error("unknown splitter '%s' (fixed, recursive, sentence, markdown)", splitter));
    if (unit && vs_chunk_unit_parse(unit, &o.unit) != VS_OK)
        return vs_cli_exit(vs_cli_usage_error("unknown unit '%s' (chars, words)", unit));
    if (size_s) {
        if (parse_size("--size", size_s, &v))
            return vs_cli_exit(VS_EXIT_USAGE);
        o.size = (size_t)v;
    }
    if (overlap_s) {
        if (parse_size("--overlap", overlap_s, &v))
            return vs_cli_exit(VS_EXIT_USAGE);
        o.overlap = (size_t)v;
    }
    o.min_size = o.size / 10;
    if (min_s) {
        if (parse_size("--min-size", min_s, &v))
            return vs_cli_exit(VS_EXIT_USAGE);
        o.min_size = (size_t)v;
    }
    if (html_all) {
        int b;
        if (vs_cli_parse_bool("chunk.html_all", html_all, &b))
            return vs_cli_exit(VS_EXIT_USAGE);
        o.load_flags = b ? VS_LOAD_HTML_ALL : 0;
    }
    struct vs_diag d;
    vs_diag_clear(&d);
    struct vs_chunker *chunker;
    int st = vs_chunker_new(&o, &chunker, &d);
    if (st != VS_OK)
        return vs_cli_exit(vs_cli_usage_error("%s", d.detail));
    struct vs_chunk_sink sink = {write_rec, warn, info, progress, NULL};
    struct vs_chunk_job *job;
    st = vs_chunk_job_new(chunker, &o, &filter, field, keep_going, since, &sink, &job, &d);
    if (st != VS_OK) {
        vs_chunker_free(chunker);
        return vs_cli_exit(vs_cli_report(st, &d));
    }
    vs_chunk_job_set_title(job, strcmp(title, "metadata") ? VS_CHUNK_TITLE_TEXT
                                                          : VS_CHUNK_TITLE_METADATA);
    if (optind >= argc)
        st = vs_chunk_job_records(job, NULL, &d);
    for (int i = optind; i < argc && st == VS_OK; i++)
        st = strcmp(argv[i], "-") ? vs_chunk_job_path(job, argv[i], &d)
                                  : vs_chunk_job_records(job, NULL, &d);
    if (st == VS_OK)
        st = vs_chunk_job_finish(job, &d);
    int code = st == VS_OK ? 0 : vs_cli_report(st, &d);
    const struct vs_chunk_counts r = *vs_chunk_job_counts(job);
    vs_chunk_job_free(job);
    vs_chunker_free(chunker);
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
    return vs_cli_exit(code);
}
