/* percall.c: the C side of bench/py/percall.py. One query per call through
 * the public API (lib/vecstore.h only): vs_db_search with k 10, the given
 * ef, 1 thread, no text, metadata or doc_id, on a store opened read-only.
 *
 *   percall STORE QUERIES D EF N [hits|ids]
 *
 * QUERIES: raw float32 rows of D; the first N are searched once each
 * after a warm-up pass over the same N. Two ways, each timed on its own:
 * "hits" (the hit records' scores, what Store.search gets) and "ids"
 * (ids_only: ids and the engine's float32 scores, what
 * Store.search_arrays gets); the sixth argument runs only one. Prints
 * "key value" lines: the median and mean wall microseconds per call
 * (c_p50_us, c_mean_us; c_ids_p50_us, c_ids_mean_us) and the mean CPU
 * microseconds of the calling thread (c_cpu_us, c_ids_cpu_us). Exit 2 for
 * usage, 4 when the store does not open or a search fails. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vecstore.h"

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int only = argc == 7 ? (strcmp(argv[6], "hits") == 0 ? 1 : strcmp(argv[6], "ids") == 0 ? 2 : -1)
                         : 0;
    if ((argc != 6 && argc != 7) || only < 0) {
        fprintf(stderr, "usage: percall STORE QUERIES D EF N [hits|ids]\n");
        return 2;
    }
    size_t d = strtoul(argv[3], NULL, 10), ef = strtoul(argv[4], NULL, 10);
    size_t n = strtoul(argv[5], NULL, 10);
    if (d == 0 || n == 0) {
        fprintf(stderr, "percall: D and N must be positive\n");
        return 2;
    }
    FILE *f = fopen(argv[2], "rb");
    if (!f) {
        perror(argv[2]);
        return 2;
    }
    float *q = malloc(n * d * sizeof *q);
    size_t got = q ? fread(q, sizeof *q * d, n, f) : 0;
    fclose(f);
    if (got == 0) {
        fprintf(stderr, "percall: %s: no queries\n", argv[2]);
        free(q);
        return 2;
    }
    n = got;
    struct vs_error err;
    vs_db *db = NULL;
    if (vs_db_open(argv[1], VS_DB_READONLY, NULL, 0, &db, &err) != VS_OK) {
        fprintf(stderr, "percall: %s: %s\n", argv[1], err.detail);
        free(q);
        return 4;
    }
    struct vs_search_opts o;
    vs_search_opts_init(&o, sizeof o);
    o.k = 10;
    o.ef = ef;
    o.threads = 1;
    o.mode = VS_SEARCH_VECTOR;
    o.with_text = 0;
    o.with_metadata = 0;
    o.with_doc_id = 0;
    double *lat = malloc(n * sizeof *lat);
    int rc = lat ? 0 : 5;
    for (int way = 1; way <= 2 && rc == 0; way++) {
        if (only && way != only)
            continue;
        o.ids_only = way == 2;
        double cpu0 = 0, cpu = 0;
        for (int pass = 0; pass < 2 && rc == 0; pass++) {
            if (pass == 1)
                cpu0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
            for (size_t i = 0; i < n; i++) {
                struct vs_search_query sq = {.vector = q + i * d, .dim = d};
                vs_results *r = NULL;
                double t0 = clock_s(CLOCK_MONOTONIC);
                if (vs_db_search(db, &sq, &o, &r, &err) != VS_OK) {
                    fprintf(stderr, "percall: search: %s\n", err.detail);
                    rc = 4;
                    break;
                }
                vs_results_free(r);
                lat[i] = clock_s(CLOCK_MONOTONIC) - t0;
            }
            if (pass == 1)
                cpu = clock_s(CLOCK_THREAD_CPUTIME_ID) - cpu0;
        }
        if (rc == 0) {
            double sum = 0;
            for (size_t i = 0; i < n; i++)
                sum += lat[i];
            qsort(lat, n, sizeof *lat, cmp_double);
            const char *tag = way == 2 ? "c_ids" : "c";
            printf("%s_p50_us %.2f\n%s_mean_us %.2f\n%s_cpu_us %.2f\n", tag, lat[n / 2] * 1e6,
                   tag, sum / (double)n * 1e6, tag, cpu / (double)n * 1e6);
        }
    }
    free(lat);
    free(q);
    vs_db_close(db);
    return rc;
}
