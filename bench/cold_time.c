/* bench/cold_time.c RUNS CMD [ARG...]: runs CMD RUNS times, one after the
 * other, its standard output to /dev/null (standard error kept), and
 * reports what each run cost the process that ran it: wall time from fork
 * to exit (the load of a shared machine stretches it), CPU time (user +
 * system, getrusage of the child through wait4: the load barely moves
 * it), page faults (minor: pages mapped from the page cache or
 * zero-filled; major: pages read from disk) and peak resident memory. For
 * bench/scale.sh's cold open (a new `vs-query` process on one query).
 * Needs no library: it only forks and waits. Output, "key value" lines:
 * runs, then the minimum and the median of wall_ms and cpu_ms, the medians
 * of user_ms, sys_ms, minflt and majflt, and the largest maxrss_kib. Exit
 * 0, or 1 when a run fails (its status is named), 2 on usage. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double tv_ms(struct timeval tv)
{
    return (double)tv.tv_sec * 1e3 + (double)tv.tv_usec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* the minimum (lo) and the median of V[0..N) (sorts V) */
static void minmed(double *v, int n, double *lo, double *med)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    *lo = v[0];
    *med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    char *end = NULL;
    long runs = argc > 2 ? strtol(argv[1], &end, 10) : 0;
    if (argc < 3 || !end || *end || runs < 1 || runs > 10000) {
        fprintf(stderr, "usage: cold_time RUNS CMD [ARG...] (RUNS 1 to 10000)\n");
        return 2;
    }
    int n = (int)runs;
    double *wall = calloc((size_t)n * 6, sizeof *wall);
    if (!wall) {
        fprintf(stderr, "cold_time: out of memory\n");
        return 1;
    }
    double *cpu = wall + n, *user = cpu + n, *sys = user + n, *minf = sys + n, *majf = minf + n;
    long maxrss = 0;
    for (int i = 0; i < n; i++) {
        double t0 = now_ms();
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "cold_time: fork: %s\n", strerror(errno));
            return 1;
        }
        if (pid == 0) {
            int fd = open("/dev/null", O_WRONLY);
            if (fd >= 0)
                dup2(fd, 1);
            execvp(argv[2], argv + 2);
            fprintf(stderr, "cold_time: cannot run %s: %s\n", argv[2], strerror(errno));
            _exit(127);
        }
        int status = 0;
        struct rusage ru;
        pid_t w;
        while ((w = wait4(pid, &status, 0, &ru)) < 0 && errno == EINTR)
            ;
        double t1 = now_ms();
        if (w < 0) {
            fprintf(stderr, "cold_time: wait4: %s\n", strerror(errno));
            return 1;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "cold_time: run %d of %s: %s %d\n", i + 1, argv[2],
                    WIFEXITED(status) ? "exit status" : "signal",
                    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            return 1;
        }
        wall[i] = t1 - t0;
        user[i] = tv_ms(ru.ru_utime);
        sys[i] = tv_ms(ru.ru_stime);
        cpu[i] = user[i] + sys[i];
        minf[i] = (double)ru.ru_minflt;
        majf[i] = (double)ru.ru_majflt;
        if (ru.ru_maxrss > maxrss)
            maxrss = ru.ru_maxrss;
    }
    double wlo, wmed, clo, cmed, lo, umed, smed, fmed, mmed;
    minmed(wall, n, &wlo, &wmed);
    minmed(cpu, n, &clo, &cmed);
    minmed(user, n, &lo, &umed);
    minmed(sys, n, &lo, &smed);
    minmed(minf, n, &lo, &fmed);
    minmed(majf, n, &lo, &mmed);
    printf("runs %d\nwall_min_ms %.2f\nwall_median_ms %.2f\ncpu_min_ms %.2f\ncpu_median_ms %.2f\n"
           "user_median_ms %.2f\nsys_median_ms %.2f\nminflt_median %.0f\nmajflt_median %.0f\n"
           "maxrss_kib %ld\n",
           n, wlo, wmed, clo, cmed, umed, smed, fmed, mmed, maxrss);
    free(wall);
    return 0;
}
