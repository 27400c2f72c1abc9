/* cli_progress.c: progress lines on stderr: the count and rate, and, when
 * the run knows how much there is (the bytes of its input files, the files
 * of a walk), how far it is and the time left. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void vs_cli_progress_inputs(int n, char *const *files)
{
    long long total = 0;
    for (int i = 0; i < (n ? n : 1); i++) {
        const char *f = n ? files[i] : "-";
        struct stat sb;
        int ok = strcmp(f, "-") == 0 ? fstat(STDIN_FILENO, &sb) == 0 : stat(f, &sb) == 0;
        if (!ok || !S_ISREG(sb.st_mode)) {
            total = 0; /* a pipe or a terminal: no total */
            break;
        }
        total += (long long)sb.st_size;
    }
    vs_cli.input_bytes = total;
    vs_cli.input_read0 = vs_ndjson_meter()->read;
}

void vs_cli_progress_part(uint64_t part, uint64_t whole, const char *unit)
{
    vs_cli.part = part;
    vs_cli.whole = whole;
    vs_cli.part_unit = unit;
}

/* "ETA 42 s", "ETA 3 min 20 s", "ETA 2 h 05 min" into buf. */
static void eta(char *buf, size_t n, double s)
{
    long t = (long)(s + 0.5);
    if (t < 100)
        snprintf(buf, n, "ETA %ld s", t);
    else if (t < 3600)
        snprintf(buf, n, "ETA %ld min %02ld s", t / 60, t % 60);
    else
        snprintf(buf, n, "ETA %ld h %02ld min", t / 3600, t % 3600 / 60);
}

/* ", 120 of 228 files, ETA 12 s" or ", 42% of the input, ETA 3 min 02 s"
 * into buf; "" when the total is not known. */
static void how_far(char *buf, size_t n, double el)
{
    double frac = -1;
    buf[0] = '\0';
    if (vs_cli.whole > 0) {
        frac = (double)vs_cli.part / (double)vs_cli.whole;
        snprintf(buf, n, ", %llu of %llu %s", (unsigned long long)vs_cli.part,
                 (unsigned long long)vs_cli.whole, vs_cli.part_unit);
    } else if (vs_cli.input_bytes > 0) {
        long long rd = vs_ndjson_meter()->read - vs_cli.input_read0;
        frac = (double)rd / (double)vs_cli.input_bytes;
        if (frac > 1)
            frac = 1;
        snprintf(buf, n, ", %.0f%% of the input", frac * 100);
    }
    if (frac > 0 && frac < 1) {
        size_t k = strlen(buf);
        buf[k++] = ',';
        buf[k++] = ' ';
        eta(buf + k, n - k, el * (1 - frac) / frac);
    }
}

void vs_cli_progress(uint64_t done, const char *unit)
{
    if (vs_cli.verbosity < 0 || (!vs_cli.stderr_is_tty && vs_cli.verbosity < 1))
        return;
    double t = vs_cli_now();
    if (t - vs_cli.last_progress < (vs_cli.stderr_is_tty ? 0.2 : vs_cli.progress_every))
        return;
    vs_cli.last_progress = t;
    double el = t - vs_cli.t0;
    char far[160];
    how_far(far, sizeof far, el);
    if (!vs_cli.stderr_is_tty) { /* a log line, not a redrawn one */
        fprintf(stderr, "%s: %llu %s, %.0f/s, %.0f s%s\n", vs_cli.prog,
                (unsigned long long)done, unit, el > 0 ? (double)done / el : 0.0, el, far);
        return;
    }
    fprintf(stderr, "\r\033[K%s: %llu %s, %.0f/s%s", vs_cli.prog, (unsigned long long)done,
            unit, el > 0 ? (double)done / el : 0.0, far);
    vs_cli.progress_shown = 1;
}
