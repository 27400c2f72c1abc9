/* cli.c: reporting, common options, settings, --stats and a checked exit. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vs_trace.h"

#ifndef VS_VERSION
#define VS_VERSION "0.1.0"
#endif

struct vs_cli_state vs_cli;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double vs_cli_elapsed(void) { return now() - vs_cli.t0; }

void vs_cli_init(const char *prog)
{
    const char *slash = strrchr(prog, '/');
    memset(&vs_cli, 0, sizeof vs_cli);
    vs_cli.prog = slash ? slash + 1 : prog;
    vs_cli.t0 = now();
    vs_cli.last_progress = vs_cli.t0; /* the first progress line comes after an interval */
    vs_cli.t0_ns = vs_trace_now_ns();
    struct stat st;
    vs_cli.stdout_is_pipe = fstat(STDOUT_FILENO, &st) == 0 &&
                            (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) ||
                             isatty(STDOUT_FILENO));
    vs_cli.stderr_is_tty = isatty(STDERR_FILENO);
    /* -v progress lines when stderr is no terminal: every 10 s, or every
     * VS_PROGRESS_SECONDS (a number >= 0) */
    vs_cli.progress_every = 10;
    const char *pe = getenv("VS_PROGRESS_SECONDS");
    char *pend;
    double pv = pe && *pe ? strtod(pe, &pend) : -1;
    if (pe && *pe && *pend == '\0' && pv >= 0 && isfinite(pv))
        vs_cli.progress_every = pv;
    vs_cli.stat = json_object();
}

int vs_cli_common_option(int c, const char *arg, void (*usage)(FILE *))
{
    switch (c) {
    case 'h':
        usage(stdout);
        exit(fflush(stdout) == 0 && !ferror(stdout) ? 0 : VS_EXIT_SYSTEM);
    case 'V':
        printf("%s %s\n", vs_cli.prog, VS_VERSION);
        exit(fflush(stdout) == 0 ? 0 : VS_EXIT_SYSTEM);
    case 'q':
    case VS_OPT_QUIET:
        vs_cli.verbosity = -1;
        return 1;
    case 'v':
        if (vs_cli.verbosity < 0)
            vs_cli.verbosity = 0;
        vs_cli.verbosity++;
        return 1;
    case VS_OPT_STATS:
        vs_cli.stats = 1;
        return 1;
    case VS_OPT_CONFIG:
        vs_cli.config = arg;
        return 1;
    default:
        return 0;
    }
}

static void clear_progress(void)
{
    if (vs_cli.progress_shown) {
        fputs("\r\033[K", stderr);
        vs_cli.progress_shown = 0;
    }
}

static void vmessage(const char *kind, const char *fmt, va_list ap)
{
    clear_progress();
    if (kind)
        fprintf(stderr, "%s: %s: ", vs_cli.prog, kind);
    else
        fprintf(stderr, "%s: ", vs_cli.prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void vs_cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage("error", fmt, ap);
    va_end(ap);
}

void vs_cli_warn(const char *fmt, ...)
{
    if (vs_cli.verbosity < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vmessage("warning", fmt, ap);
    va_end(ap);
}

void vs_cli_info(int level, const char *fmt, ...)
{
    if (vs_cli.verbosity < level)
        return;
    va_list ap;
    va_start(ap, fmt);
    vmessage(NULL, fmt, ap);
    va_end(ap);
}

int vs_cli_usage_error(const char *fmt, ...)
{
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vmessage("error", fmt, ap);
        va_end(ap);
    }
    fprintf(stderr, "Try '%s --help' for more information.\n", vs_cli.prog);
    return VS_EXIT_USAGE;
}

static void format_diag(char *buf, size_t size, int status,
                        const struct vs_diag *d)
{
    size_t n = 0;
#define ADD(...)                                                              \
    do {                                                                      \
        if (n < size)                                                         \
            n += (size_t)snprintf(buf + n, size - n, __VA_ARGS__);            \
    } while (0)
    buf[0] = '\0';
    if (d && d->file[0]) {
        ADD("%s:", d->file);
        if (d->line > 0)
            ADD("%ld:", d->line);
        if (d->line > 0 && d->col > 0)
            ADD("%ld:", d->col);
        ADD(" ");
    }
    if (d && d->field[0])
        ADD("field '%s' ", d->field);
    if (d && d->detail[0])
        ADD("%s", d->detail);
    else
        ADD("%s", vs_status_message(status));
#undef ADD
}

int vs_cli_report(int status, const struct vs_diag *d)
{
    char buf[2048];
    format_diag(buf, sizeof buf, status, d);
    vs_cli_error("%s", buf);
    return vs_status_exit(status);
}

void vs_cli_report_warning(int status, const struct vs_diag *d)
{
    char buf[2048];
    format_diag(buf, sizeof buf, status, d);
    vs_cli_warn("%s", buf);
}

/* How a parse error names the value: "option '--size'", or, for a value
 * vs_cli_setting returned, where it came from ("FILE:LINE: setting
 * 'chunk.size'" or "VS_CHUNK_SIZE: setting 'chunk.size'"). */
static const char *value_name(const char *opt, const char *s, char *buf, size_t n)
{
    for (int i = 0; i < vs_cli.norigins; i++)
        if (vs_cli.origin[i].value == s) {
            snprintf(buf, n, "%s: setting '%s'", vs_cli.origin[i].where, vs_cli.origin[i].key);
            return buf;
        }
    snprintf(buf, n, "%s '%s'", opt[0] == '-' ? "option" : "setting", opt);
    return buf;
}

int vs_cli_parse_long(const char *opt, const char *s, long min, long max,
                      long *out)
{
    char name[4400];
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < min || v > max) {
        vs_cli_usage_error("%s needs an integer from %ld to %ld, not '%s'",
                           value_name(opt, s, name, sizeof name), min, max, s);
        return VS_EXIT_USAGE;
    }
    *out = v;
    return 0;
}

int vs_cli_parse_bool(const char *opt, const char *s, int *out)
{
    char name[4400];
    if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes")) {
        *out = 1;
        return 0;
    }
    if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no")) {
        *out = 0;
        return 0;
    }
    vs_cli_usage_error("%s needs true or false, not '%s'", value_name(opt, s, name, sizeof name), s);
    return VS_EXIT_USAGE;
}

int vs_cli_parse_double(const char *opt, const char *s, double min, double max,
                        double *out)
{
    char name[4400];
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(v) || v < min || v > max) {
        vs_cli_usage_error("%s needs a number from %g to %g, not '%s'",
                           value_name(opt, s, name, sizeof name), min, max, s);
        return VS_EXIT_USAGE;
    }
    *out = v;
    return 0;
}

/* Every key .vecstore.toml may hold (documented in .vecstore.toml.example;
 * tests/cli/config.bats checks that this list, the example and the keys the
 * programs read are the same). A trailing '.' admits any key below it. */
static const char *const known_keys[] = {
    "chunk.html_all", "chunk.min_size", "chunk.overlap", "chunk.size", "chunk.splitter",
    "chunk.unit",
    "embed.api_version", "embed.base_url", "embed.cache_max_mb", "embed.dim", "embed.model",
    "embed.price.",
    "eval.judge_model", "eval.judge_url",
    "ingest.analyzer", "ingest.commit_every", "ingest.metric", "ingest.model",
    "ingest.text_field",
    "query.batch", "query.k", "query.threads",
    "rerank.model", "rerank.url",
    "serve.listen",
};

static int known_key(const char *key)
{
    for (size_t i = 0; i < sizeof known_keys / sizeof known_keys[0]; i++) {
        size_t n = strlen(known_keys[i]);
        if (known_keys[i][n - 1] == '.' ? strncmp(key, known_keys[i], n) == 0 && key[n]
                                        : strcmp(key, known_keys[i]) == 0)
            return 1;
    }
    return 0;
}

/* The nearest .vecstore.toml: in the current directory or the closest of
 * its parents that has one (as git finds .git), into buf; 0 when found. */
static int find_config(char *buf, size_t n)
{
    char dir[3800];
    if (!getcwd(dir, sizeof dir))
        dir[0] = '\0';
    size_t up = 0;
    for (;;) {
        struct stat sb;
        size_t k = 0;
        for (size_t i = 0; i < up && k + 3 < n; i++, k += 3)
            memcpy(buf + k, "../", 3);
        snprintf(buf + k, n - k, ".vecstore.toml");
        if (stat(buf, &sb) == 0 && S_ISREG(sb.st_mode))
            return 0;
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir || up > 256)
            return -1; /* checked the root's child; the root itself next */
        *slash = '\0';
        up++;
    }
}

/* Load --config FILE, or the nearest .vecstore.toml, once; a file that does
 * not parse or holds a key no program knows ends the program with exit 2. */
static void load_config(void)
{
    vs_cli.cfg_loaded = 1;
    const char *path = vs_cli.config;
    if (!path && find_config(vs_cli.cfg_path, sizeof vs_cli.cfg_path) == 0)
        path = vs_cli.cfg_path;
    if (!path) {
        vs_cli_info(2, "config: no .vecstore.toml here or in a parent directory");
        return;
    }
    if (path != vs_cli.cfg_path)
        snprintf(vs_cli.cfg_path, sizeof vs_cli.cfg_path, "%s", path);
    vs_cli_info(1, "config: %s", path);
    struct vs_diag d;
    vs_diag_clear(&d);
    int st = vs_config_load(path, &vs_cli.cfg, &d);
    for (size_t i = 0; st == VS_OK && i < vs_config_count(vs_cli.cfg); i++) {
        const char *k = vs_config_key(vs_cli.cfg, i);
        if (!known_key(k)) {
            vs_diag_where(&d, path, vs_config_key_line(vs_cli.cfg, i));
            st = vs_diag_set(&d, VS_E_CONFIG,
                             "unknown key '%s' (see .vecstore.toml.example)", k);
        }
    }
    if (st != VS_OK)
        exit(vs_cli_exit(vs_cli_report(st, &d)));
}

/* Remember where a setting's value came from, for parse errors. */
static void remember_origin(const char *value, const char *key, const char *where)
{
    int n = vs_cli.norigins;
    for (int i = 0; i < n; i++)
        if (vs_cli.origin[i].value == value)
            return;
    if (n >= (int)(sizeof vs_cli.origin / sizeof vs_cli.origin[0]))
        return;
    vs_cli.origin[n].value = value;
    snprintf(vs_cli.origin[n].key, sizeof vs_cli.origin[n].key, "%s", key);
    snprintf(vs_cli.origin[n].where, sizeof vs_cli.origin[n].where, "%s", where);
    vs_cli.norigins = n + 1;
}

const char *vs_cli_setting(const char *key)
{
    char env[256] = "VS_";
    size_t n = 3;
    for (const char *p = key; *p && n + 1 < sizeof env; p++)
        env[n++] = (*p == '.' || *p == '-') ? '_' : (char)toupper((unsigned char)*p);
    env[n] = '\0';
    const char *v = getenv(env);
    if (v && *v) {
        remember_origin(v, key, env);
        return v;
    }
    if (!vs_cli.cfg_loaded)
        load_config();
    v = vs_cli.cfg ? vs_config_get(vs_cli.cfg, key) : NULL;
    for (size_t i = 0; v && i < vs_config_count(vs_cli.cfg); i++)
        if (!strcmp(vs_config_key(vs_cli.cfg, i), key)) {
            char where[4200];
            snprintf(where, sizeof where, "%s:%ld", vs_cli.cfg_path,
                     vs_config_key_line(vs_cli.cfg, i));
            remember_origin(v, key, where);
            break;
        }
    return v;
}

int vs_cli_write(const json_t *rec)
{
    return vs_ndjson_write(stdout, rec, vs_cli.stdout_is_pipe);
}

void vs_cli_stat_int(const char *key, long long v)
{
    json_object_set_new(vs_cli.stat, key, json_integer(v));
}

void vs_cli_stat_real(const char *key, double v)
{
    json_object_set_new(vs_cli.stat, key, json_real(isfinite(v) ? v : 0.0));
}

void vs_cli_stat_str(const char *key, const char *v)
{
    json_object_set_new(vs_cli.stat, key, json_string(v));
}

void vs_cli_progress(uint64_t done, const char *unit)
{
    if (vs_cli.verbosity < 0 || (!vs_cli.stderr_is_tty && vs_cli.verbosity < 1))
        return;
    double t = now();
    if (t - vs_cli.last_progress < (vs_cli.stderr_is_tty ? 0.2 : vs_cli.progress_every))
        return;
    vs_cli.last_progress = t;
    double el = t - vs_cli.t0;
    if (!vs_cli.stderr_is_tty) { /* a log line, not a redrawn one */
        fprintf(stderr, "%s: %llu %s, %.0f/s, %.0f s\n", vs_cli.prog,
                (unsigned long long)done, unit, el > 0 ? (double)done / el : 0.0, el);
        return;
    }
    fprintf(stderr, "\r\033[K%s: %llu %s, %.0f/s", vs_cli.prog,
            (unsigned long long)done, unit, el > 0 ? (double)done / el : 0.0);
    vs_cli.progress_shown = 1;
}

void vs_cli_no_trace(void) { vs_cli.no_trace = 1; }

void vs_cli_stage(const char *name)
{
    int n = vs_cli.nstages;
    if (n >= (int)(sizeof vs_cli.stage / sizeof vs_cli.stage[0]))
        return;
    vs_cli.stage[n] = name;
    vs_cli.stage_ns[n] = vs_trace_now_ns();
    vs_cli.nstages = n + 1;
}

/* The process span: exported synchronously at exit (a batch program has
 * nothing else to overlap it with), bounded by the exporter's timeouts. */
static void trace_export(int code)
{
    struct vs_otlp *x = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    if (vs_cli.no_trace)
        return;
    if (vs_otlp_new_from_env(vs_cli.prog, VS_OTLP_BATCH, &x, &d) != VS_OK) {
        vs_cli_warn("tracing off: %s", d.detail);
        return;
    }
    if (!x)
        return;
    char trace_id[VS_TRACE_ID_LEN], parent[VS_SPAN_ID_LEN] = "", span[VS_SPAN_ID_LEN];
    const char *tp = getenv("TRACEPARENT");
    if (vs_trace_parse_traceparent(tp, trace_id, parent) != 0) {
        if (tp && *tp)
            vs_cli_info(1, "TRACEPARENT '%.80s' is not a W3C traceparent; starting a new trace", tp);
        parent[0] = 0;
        if (vs_trace_random_hex(trace_id, 16) != 0) {
            vs_otlp_free(x);
            return;
        }
    }
    if (vs_trace_random_hex(span, 8) != 0) {
        vs_otlp_free(x);
        return;
    }
    json_t *attrs = json_array();
    json_array_append_new(attrs, vs_trace_attr_s("process.executable.name", vs_cli.prog));
    json_array_append_new(attrs, vs_trace_attr_i("process.exit.code", code));
    const char *k;
    json_t *v;
    json_object_foreach(vs_cli.stat, k, v) {
        char key[160];
        snprintf(key, sizeof key, "vecstore.%s", k);
        if (json_is_integer(v))
            json_array_append_new(attrs, vs_trace_attr_i(key, (long long)json_integer_value(v)));
        else if (json_is_real(v))
            json_array_append_new(attrs, vs_trace_attr_d(key, json_real_value(v)));
        else if (json_is_string(v))
            json_array_append_new(attrs, vs_trace_attr_s(key, json_string_value(v)));
    }
    uint64_t end = vs_trace_now_ns();
    for (int i = 0; i < vs_cli.nstages; i++) {
        char id[VS_SPAN_ID_LEN];
        if (vs_trace_random_hex(id, 8) == 0)
            vs_otlp_span(x, trace_id, id, span, vs_cli.stage[i], 1, vs_cli.stage_ns[i],
                         i + 1 < vs_cli.nstages ? vs_cli.stage_ns[i + 1] : end, 0, NULL);
    }
    vs_otlp_span(x, trace_id, span, parent, vs_cli.prog, 1, vs_cli.t0_ns, end,
                 code != 0 && code != VS_EXIT_NEGATIVE, attrs);
    vs_otlp_shutdown(x);
    uint64_t exported, dropped, failed;
    vs_otlp_counts(x, &exported, &dropped, &failed);
    if (failed || dropped)
        vs_cli_warn("could not export the trace spans to '%s'", vs_otlp_url(x));
    vs_otlp_free(x);
}

int vs_cli_exit(int code)
{
    clear_progress();
    int failed = fflush(stdout) != 0 || ferror(stdout);
    int err = errno;
    if (fclose(stdout) != 0 && !failed) {
        failed = 1;
        err = errno;
    }
    if (failed && err != EPIPE) {
        vs_cli_error("write error on standard output: %s", strerror(err));
        if (code == 0 || code == VS_EXIT_NEGATIVE)
            code = VS_EXIT_SYSTEM;
    }
    if (vs_cli.stats) {
        json_object_set_new(vs_cli.stat, "elapsed_s", json_real(vs_cli_elapsed()));
        json_object_set_new(vs_cli.stat, "exit", json_integer(code));
        char *s = json_dumps(vs_cli.stat, VS_JSON_DUMP_FLAGS);
        if (s)
            fprintf(stderr, "%s\n", s);
        free(s);
    }
    trace_export(code);
    json_decref(vs_cli.stat);
    vs_cli.stat = NULL;
    vs_config_free(vs_cli.cfg);
    vs_cli.cfg = NULL;
    return code;
}
