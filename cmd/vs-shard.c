/* vs-shard: pass on the records of one shard of a record stream, so that
 * `vs-chunk | vs-embed | vs-ingest` runs as S independent jobs, one store
 * per shard (docs/scale-out.md).
 *
 * A record's shard is jump_hash(XXH64(key), S), the key being its doc_id,
 * else its id: every chunk of a document lands in the same shard, and the
 * keep and delete records of vs-chunk --since follow their documents, so
 * vs-ingest --sync works per shard. Deletes that name no doc_id and
 * deletes by filter go to every shard (deleting what a shard does not hold
 * does nothing). The jump consistent hash (Lamping and Veach, 2014) moves
 * only 1/(S+1) of the documents when S grows by one.
 *
 * Lines pass through byte for byte (a filter changes no number); the
 * stream markers are this program's own (docs/streams.md). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: vs-shard [OPTION]... I/S [FILE]...\n"
            "Write the NDJSON records of FILE (or standard input; - is standard\n"
            "input) that belong to shard I of S (0 <= I < S <= 65536), unchanged.\n"
            "A record belongs to the shard of its \"doc_id\", else of its \"id\":\n"
            "jump consistent hash of XXH64 of that string. Deletes without a\n"
            "doc_id and deletes by filter go to every shard.\n"
            "\n"
            "      --count          write one line per shard, \"I\\tRECORDS\", for all S\n"
            "                       shards instead of the records (I is then ignored:\n"
            "                       give 0/S)\n"
            "      --which KEY      print the shard of the document id KEY and exit\n"
            "                       (no input is read)\n"
            "  -h, --help           print this help and exit\n"
            "  -q, --quiet          print nothing but errors\n"
            "  -v, --verbose        say more (-vv: more still)\n"
            "  -V, --version        print the version and exit\n"
            "      --config FILE    read settings from FILE instead of .vecstore.toml\n"
            "      --stats          print a JSON object of counters on stderr at exit\n"
            "\n"
            "Exit status: 0 ok, 2 usage error, 3 bad input (a line that is not a\n"
            "JSON object, a record without a string id, a cut stream), 5 write error.\n");
}

/* Lamping and Veach's jump consistent hash: a bucket in [0, n). */
static uint32_t jump_hash(uint64_t key, uint32_t n)
{
    int64_t b = -1, j = 0;
    while (j < (int64_t)n) {
        b = j;
        key = key * 2862933555777941757ULL + 1;
        j = (int64_t)((double)(b + 1) * ((double)(1LL << 31) / (double)((key >> 33) + 1)));
    }
    return (uint32_t)b;
}

static uint32_t shard_of(const char *key, uint32_t n)
{
    return jump_hash(XXH64(key, strlen(key), 0), n);
}

/* "I/S" with 0 <= I < S <= 65536. */
static int parse_spec(const char *s, uint32_t *i, uint32_t *n)
{
    char *e1, *e2;
    if (*s < '0' || *s > '9')
        return -1;
    unsigned long a = strtoul(s, &e1, 10);
    if (*e1 != '/' || e1[1] < '0' || e1[1] > '9')
        return -1;
    unsigned long b = strtoul(e1 + 1, &e2, 10);
    if (*e2 || b < 1 || b > 65536 || a >= b)
        return -1;
    *i = (uint32_t)a;
    *n = (uint32_t)b;
    return 0;
}

/* The shard of one record, or -1 when it goes to every shard. */
static int route(const json_t *rec, uint32_t n, struct vs_diag *d, long long *out)
{
    const json_t *op = json_object_get(rec, "op");
    const json_t *doc = json_object_get(rec, "doc_id");
    const json_t *id = json_object_get(rec, "id");
    if (doc && !json_is_string(doc)) {
        vs_diag_field(d, "doc_id");
        return vs_diag_set(d, VS_E_FIELD, "must be a string");
    }
    int del = json_is_string(op) && strcmp(json_string_value(op), "delete") == 0;
    if (del && !doc) {
        *out = -1; /* by id or by filter: every shard */
        return VS_OK;
    }
    if (doc) {
        *out = shard_of(json_string_value(doc), n);
        return VS_OK;
    }
    if (!json_is_string(id)) {
        vs_diag_field(d, "id");
        return vs_diag_set(d, VS_E_FIELD, id ? "must be a string"
                                             : "is missing (a record needs an id or a doc_id)");
    }
    *out = shard_of(json_string_value(id), n);
    return VS_OK;
}

static int write_line(const char *line, size_t len, struct vs_diag *d)
{
    int st = vs_cli_stream_record();
    if (st != VS_OK)
        return st;
    if (fwrite(line, 1, len, stdout) != len || putchar('\n') == EOF ||
        (vs_cli.stdout_is_pipe && fflush(stdout) != 0))
        return vs_diag_set(d, VS_E_IO, "standard output: write failed");
    return VS_OK;
}

/* Route every record of one input; counts[] (S of them) or the output. */
static int shard_file(const char *path, uint32_t me, uint32_t n, long long *counts,
                      long long *in, long long *out, struct vs_diag *d)
{
    struct vs_ndjson_reader *r;
    int st = vs_ndjson_open(path, 0, &r, d);
    if (st != VS_OK)
        return st;
    for (;;) {
        const char *line;
        size_t len;
        if ((st = vs_ndjson_read_line(r, &line, &len, d)) != VS_OK || !line)
            break;
        size_t k = 0;
        while (k < len && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r'))
            k++;
        if (k == len)
            continue;
        json_error_t je;
        json_t *rec = json_loadb(line, len, 0, &je);
        int marker = 0;
        long long s = 0;
        if (!rec || !json_is_object(rec)) {
            st = vs_diag_set(d, VS_E_JSON, "%s", rec ? "not a JSON object" : je.text);
            vs_diag_where(d, vs_ndjson_name(r), vs_ndjson_line(r));
        } else if ((st = vs_ndjson_account(r, rec, &marker, d)) == VS_OK && !marker) {
            if ((st = route(rec, n, d, &s)) != VS_OK)
                vs_diag_where(d, vs_ndjson_name(r), vs_ndjson_line(r));
        }
        json_decref(rec);
        if (st != VS_OK)
            break;
        if (marker)
            continue;
        (*in)++;
        if (counts) {
            for (uint32_t b = 0; b < n; b++)
                counts[b] += s < 0 || (uint32_t)s == b;
        } else if (s < 0 || (uint32_t)s == me) {
            if ((st = write_line(line, len, d)) != VS_OK)
                break;
            (*out)++;
        }
        vs_cli_progress((uint64_t)*in, "records");
    }
    vs_ndjson_close(r);
    return st;
}

int main(int argc, char **argv)
{
    vs_cli_init("vs-shard");
    enum { OPT_COUNT = VS_OPT_FIRST_PROGRAM, OPT_WHICH };
    static const struct option longopts[] = {
        {"count", no_argument, NULL, OPT_COUNT},
        {"which", required_argument, NULL, OPT_WHICH},
        VS_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0}};
    int c, count = 0;
    const char *which = NULL;
    while ((c = getopt_long(argc, argv, VS_CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
        if (vs_cli_common_option(c, optarg, usage))
            continue;
        switch (c) {
        case OPT_COUNT: count = 1; break;
        case OPT_WHICH: which = optarg; break;
        default: return vs_cli_exit(vs_cli_usage_error(NULL));
        }
    }
    if (optind >= argc)
        return vs_cli_exit(vs_cli_usage_error("missing I/S (the shard to keep, of how many)"));
    uint32_t me, n;
    if (parse_spec(argv[optind], &me, &n) != 0)
        return vs_cli_exit(vs_cli_usage_error(
            "'%s' is not I/S with 0 <= I < S <= 65536 (e.g. 0/4)", argv[optind]));
    optind++;
    if (which) {
        if (count || optind < argc)
            return vs_cli_exit(vs_cli_usage_error("--which reads no input and takes no --count"));
        printf("%u\n", shard_of(which, n));
        return vs_cli_exit(VS_EXIT_OK);
    }
    long long *counts = count ? calloc(n, sizeof *counts) : NULL;
    if (count && !counts) {
        vs_cli_error("out of memory");
        return vs_cli_exit(VS_EXIT_SYSTEM);
    }
    if (!count)
        vs_cli_stream(VS_CLI_STREAM_FILTER);
    struct vs_diag d;
    vs_diag_clear(&d);
    long long in = 0, out = 0;
    int st = VS_OK, nfiles = argc - optind;
    for (int i = 0; st == VS_OK && i < (nfiles ? nfiles : 1); i++)
        st = shard_file(nfiles ? argv[optind + i] : NULL, me, n, counts, &in, &out, &d);
    int code = st != VS_OK ? vs_cli_report(st, &d) : VS_EXIT_OK;
    for (uint32_t b = 0; counts && code == VS_EXIT_OK && b < n; b++)
        if (printf("%u\t%lld\n", b, counts[b]) < 0)
            code = vs_cli_report(vs_diag_set(&d, VS_E_IO, "standard output: write failed"), &d);
    free(counts);
    vs_cli_stat_int("records_in", in);
    if (!count)
        vs_cli_stat_int("records_out", out);
    vs_cli_info(1, "%lld records read, %lld written (shard %u of %u)", in, out, me, n);
    return vs_cli_exit(code);
}
