/* cli.c: reporting, common options, --stats, progress, traces and a checked
 * exit. Settings and number parsing are cli_config.c; the record stream and
 * its markers cli_stream.c; the process span cli_trace.c. */
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
#error "VS_VERSION is passed by the Makefile from the file VERSION"
#endif

struct vs_cli_state vs_cli;

double vs_cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double vs_cli_elapsed(void) { return vs_cli_now() - vs_cli.t0; }

void vs_cli_init(const char *prog)
{
    const char *slash = strrchr(prog, '/');
    memset(&vs_cli, 0, sizeof vs_cli);
    vs_cli.prog = slash ? slash + 1 : prog;
    vs_cli.t0 = vs_cli_now();
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

void vs_cli_progress_clear(void)
{
    if (vs_cli.progress_shown) {
        fputs("\r\033[K", stderr);
        vs_cli.progress_shown = 0;
    }
}

__attribute__((format(printf, 2, 0))) static void vmessage(const char *kind, const char *fmt,
                                                          va_list ap)
{
    vs_cli_progress_clear();
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

int vs_cli_exit(int code)
{
    vs_cli_progress_clear();
    code = vs_cli_stream_finish(code);
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
    vs_cli_trace_export(code);
    json_decref(vs_cli.stat);
    vs_cli.stat = NULL;
    vs_config_free(vs_cli.cfg);
    vs_cli.cfg = NULL;
    return code;
}
