/* vs-chunk: documents (files, directories, NDJSON records) to chunk records. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

enum {
    OPT_EXCLUDE = VS_OPT_FIRST_PROGRAM,
    OPT_FIELD,
    OPT_INCLUDE,
    OPT_KEEP_GOING,
    OPT_OVERLAP,
    OPT_SINCE,
    OPT_SIZE,
    OPT_SPLITTER,
    OPT_UNIT
};

#define MAX_GLOBS 64
#define STOP (-1) /* a callback's "already reported, stop" */

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
            "      --include GLOB   only files matching GLOB (repeatable)\n"
            "      --keep-going     skip bad files and records with a warning, exit 0\n"
            "      --overlap N      overlap between chunks, in units (default 0)\n"
            "      --since STORE    do not read files whose stamp (times, size, inode,\n"
            "                       chunking options) equals the one STORE holds for them;\n"
            "                       write a {\"op\":\"keep\"} marker for each at the end\n"
            "      --size N         largest chunk, in units (default 1000)\n"
            "      --splitter NAME  fixed, recursive (default), sentence, markdown\n"
            "      --unit UNIT      chars (Unicode code points, default) or words\n"
            "      --config FILE    settings file (default .vecstore.toml)\n"
            "      --stats          print counters as JSON on stderr at exit\n"
            "  -q, --quiet          no warnings\n"
            "  -v, --verbose        more messages\n"
            "  -h, --help           show this help and exit\n"
            "  -V, --version        show the version and exit\n");
}

struct run {
    struct vs_chunker *chunker;
    struct vs_walk_filter filter;
    struct vs_chunk_options opts;
    struct vs_chunk_since *since; /* --since STORE, or NULL */
    json_t *keeps;                /* keep markers, written at the end */
    const char *field;
    int keep_going;
    int code;      /* exit code of a reported fatal error */
    long long docs, chunks, bytes, files_skipped, records_skipped, files_unchanged;
};

static int emit(void *ctx, json_t *rec)
{
    struct run *r = ctx;
    int st = vs_cli_write(rec);
    if (st == VS_OK) {
        r->chunks++;
        vs_cli_progress((uint64_t)r->chunks, "chunks");
    }
    return st;
}

/* Chunk one document; returns VS_OK or STOP (reported). */
static int chunk_doc(struct run *r, struct vs_doc *doc)
{
    struct vs_diag d;
    vs_diag_clear(&d);
    size_t len;
    vs_doc_text(doc, &len);
    int st = vs_chunker_doc(r->chunker, doc, emit, r, NULL, &d);
    if (st != VS_OK) {
        if (st == VS_E_IO || st == VS_E_NOSPC)
            vs_diag_set(&d, st, "write error on standard output");
        r->code = vs_cli_report(st, &d);
        return STOP;
    }
    r->docs++;
    r->bytes += (long long)len;
    return VS_OK;
}

static int do_records(struct run *r, const char *path)
{
    struct vs_diag d;
    vs_diag_clear(&d);
    struct vs_ndjson_reader *rd;
    int st = vs_ndjson_open(path, 0, &rd, &d);
    if (st != VS_OK) {
        if (path && strcmp(path, "-") != 0) { /* a file: warn and skip */
            vs_cli_report_warning(st, &d);
            r->files_skipped++;
            return VS_OK;
        }
        r->code = vs_cli_report(st, &d);
        return STOP;
    }
    const char *source = path && strcmp(path, "-") ? path : NULL;
    int ret = VS_OK;
    for (;;) {
        json_t *rec;
        vs_diag_clear(&d);
        st = vs_ndjson_read(rd, &rec, &d);
        struct vs_doc *doc = NULL;
        if (st == VS_OK && rec) {
            st = vs_doc_from_record(rec, r->field, source, &doc, &d);
            vs_diag_where(&d, vs_ndjson_name(rd), vs_ndjson_line(rd));
            json_decref(rec);
        } else if (st == VS_OK)
            break;
        if (st != VS_OK) {
            if (st == VS_E_IO || st == VS_E_NOMEM || !r->keep_going) {
                r->code = vs_cli_report(st, &d);
                ret = STOP;
                break;
            }
            vs_cli_report_warning(st, &d);
            r->records_skipped++;
            continue;
        }
        st = chunk_doc(r, doc);
        vs_doc_free(doc);
        if (st != VS_OK) {
            ret = STOP;
            break;
        }
    }
    vs_ndjson_close(rd);
    return ret;
}

static int on_file(void *ctx, const char *path, const char *rel, int status,
                   const struct vs_diag *wd)
{
    struct run *r = ctx;
    if (status != VS_OK) {
        vs_cli_report_warning(status, wd);
        r->files_skipped++;
        return VS_OK;
    }
    if (vs_doc_format_of(path) == VS_FORMAT_NDJSON)
        return do_records(r, path);
    struct vs_diag d;
    vs_diag_clear(&d);
    /* the stamp is taken before the read: a file changed meanwhile gets a
     * stamp older than its contents, so the next --since run reads it */
    char stamp[256];
    int have_stamp = vs_chunk_stamp(path, &r->opts, stamp, sizeof stamp, &d) == VS_OK;
    if (have_stamp && vs_chunk_since_unchanged(r->since, path, rel, stamp)) {
        json_t *k = vs_chunk_keep_record(rel, path);
        if (!k || json_array_append_new(r->keeps, k) != 0) {
            r->code = vs_cli_report(vs_diag_set(&d, VS_E_NOMEM, "out of memory"), &d);
            return STOP;
        }
        r->files_unchanged++;
        vs_cli_info(2, "%s: unchanged since the store's copy, not read", path);
        return VS_OK;
    }
    vs_diag_clear(&d);
    struct vs_doc *doc;
    int st = vs_doc_load_file(path, rel, &doc, &d);
    if (st == VS_E_NOMEM) {
        r->code = vs_cli_report(st, &d);
        return STOP;
    }
    if (st != VS_OK) {
        vs_cli_report_warning(st, &d);
        r->files_skipped++;
        return VS_OK;
    }
    vs_cli_info(2, "%s: %s", path, vs_doc_format_name(vs_doc_format(doc)));
    if (have_stamp &&
        json_object_set_new(vs_doc_metadata(doc), "file_stamp", json_string(stamp)) != 0) {
        vs_doc_free(doc);
        r->code = vs_cli_report(vs_diag_set(&d, VS_E_NOMEM, "out of memory"), &d);
        return STOP;
    }
    st = chunk_doc(r, doc);
    vs_doc_free(doc);
    return st;
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
        {"include", required_argument, NULL, OPT_INCLUDE},
        {"keep-going", no_argument, NULL, OPT_KEEP_GOING},
        {"overlap", required_argument, NULL, OPT_OVERLAP},
        {"since", required_argument, NULL, OPT_SINCE},
        {"size", required_argument, NULL, OPT_SIZE},
        {"splitter", required_argument, NULL, OPT_SPLITTER},
        {"unit", required_argument, NULL, OPT_UNIT},
        VS_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0}};
    const char *incl[MAX_GLOBS], *excl[MAX_GLOBS];
    const char *splitter = NULL, *unit = NULL, *size_s = NULL, *overlap_s = NULL,
               *since = NULL;
    struct run r;
    memset(&r, 0, sizeof r);
    r.field = "text";
    r.filter.include = incl;
    r.filter.exclude = excl;
    int c;
    while ((c = getopt_long(argc, argv, VS_CLI_COMMON_SHORTOPTS, longopts,
                            NULL)) != -1) {
        if (vs_cli_common_option(c, optarg, usage))
            continue;
        switch (c) {
        case OPT_EXCLUDE:
        case OPT_INCLUDE:
            if ((c == OPT_EXCLUDE ? r.filter.nexclude : r.filter.ninclude) >= MAX_GLOBS)
                return vs_cli_exit(vs_cli_usage_error("at most %d globs per option", MAX_GLOBS));
            if (c == OPT_EXCLUDE)
                excl[r.filter.nexclude++] = optarg;
            else
                incl[r.filter.ninclude++] = optarg;
            break;
        case OPT_FIELD: r.field = optarg; break;
        case OPT_KEEP_GOING: r.keep_going = 1; break;
        case OPT_OVERLAP: overlap_s = optarg; break;
        case OPT_SINCE: since = optarg; break;
        case OPT_SIZE: size_s = optarg; break;
        case OPT_SPLITTER: splitter = optarg; break;
        case OPT_UNIT: unit = optarg; break;
        default:
            return vs_cli_exit(vs_cli_usage_error(NULL));
        }
    }
    if (!splitter) splitter = vs_cli_setting("chunk.splitter");
    if (!unit) unit = vs_cli_setting("chunk.unit");
    if (!size_s) size_s = vs_cli_setting("chunk.size");
    if (!overlap_s) overlap_s = vs_cli_setting("chunk.overlap");
    struct vs_chunk_options o = {VS_SPLITTER_RECURSIVE, VS_CHUNK_CHARS, 1000, 0};
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
    struct vs_diag d;
    vs_diag_clear(&d);
    int st = vs_chunker_new(&o, &r.chunker, &d);
    if (st != VS_OK)
        return vs_cli_exit(vs_cli_usage_error("%s", d.detail));
    r.opts = o;
    if (since) {
        st = vs_chunk_since_open(since, &r.since, &d);
        if (st == VS_E_NOSTORE) { /* a first run: every file is new */
            vs_cli_info(1, "%s: no store yet, every file is read", since);
            st = VS_OK;
        }
        if (st == VS_OK && !(r.keeps = json_array()))
            st = vs_diag_set(&d, VS_E_NOMEM, "out of memory");
        if (st != VS_OK) {
            vs_chunker_free(r.chunker);
            return vs_cli_exit(vs_cli_report(st, &d));
        }
    }

    if (optind >= argc)
        do_records(&r, NULL);
    for (int i = optind; i < argc && !r.code; i++) {
        if (!strcmp(argv[i], "-")) {
            do_records(&r, NULL);
            continue;
        }
        vs_diag_clear(&d);
        st = vs_walk(argv[i], &r.filter, on_file, &r, &d);
        if (st != VS_OK && st != STOP && !r.code) {
            if (st == VS_E_NOMEM) {
                r.code = vs_cli_report(st, &d);
            } else {
                vs_cli_report_warning(st, &d);
                r.files_skipped++;
            }
        }
    }
    /* keep markers after the chunks, so that vs-embed's batches stay whole */
    for (size_t i = 0; !r.code && i < json_array_size(r.keeps); i++) {
        st = vs_cli_write(json_array_get(r.keeps, i));
        if (st != VS_OK) {
            vs_diag_clear(&d);
            r.code = vs_cli_report(vs_diag_set(&d, st, "write error on standard output"), &d);
        }
    }
    json_decref(r.keeps);
    vs_chunk_since_free(r.since);
    vs_chunker_free(r.chunker);
    int code = r.code;
    if (!code && r.files_skipped && !r.keep_going)
        code = VS_EXIT_DATA;
    double el = vs_cli_elapsed();
    vs_cli_stat_int("docs", r.docs);
    vs_cli_stat_int("chunks", r.chunks);
    vs_cli_stat_int("bytes", r.bytes);
    vs_cli_stat_int("files_skipped", r.files_skipped);
    vs_cli_stat_int("records_skipped", r.records_skipped);
    if (since)
        vs_cli_stat_int("files_unchanged", r.files_unchanged);
    vs_cli_stat_real("docs_per_s", el > 0 ? (double)r.docs / el : 0);
    vs_cli_stat_real("mb_per_s", el > 0 ? (double)r.bytes / el / 1e6 : 0);
    return vs_cli_exit(code);
}
