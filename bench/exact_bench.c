/* exact_bench.c: exact search through the library (lib/flat.c), and the
 * machine's memory bandwidth, for bench/exact.sh.
 *
 *   exact_bench gen N D SEED FILE     N x D random float32, L2-normalised
 *   exact_bench bw                    streaming-read bandwidth, GB/s
 *   exact_bench search DATA QUERIES D [NQ_BATCH]
 *                                     single-query and batch QPS, scan GB/s
 *
 * Output: one "key value" line per measurement.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "vs_internal.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static double gauss(void)
{
    double u1, u2;
    do {
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
        u1 = (double)(rng >> 11) / 9007199254740992.0;
    } while (u1 <= 0);
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    u2 = (double)(rng >> 11) / 9007199254740992.0;
    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

static float *load(const char *path, size_t d, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        perror(path);
        exit(2);
    }
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    rewind(fp);
    *n = (size_t)sz / (d * sizeof(float));
    float *v = aligned_alloc(64, ((size_t)sz + 63) / 64 * 64);
    if (!v || fread(v, 1, (size_t)sz, fp) != (size_t)sz) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    fclose(fp);
    return v;
}

static int gen(size_t n, size_t d, unsigned long seed, const char *path)
{
    rng ^= seed * 0x9E3779B97F4A7C15ull;
    float *row = malloc(d * sizeof *row);
    FILE *fp = fopen(path, "wb");
    if (!fp || !row)
        return 2;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d; j++)
            row[j] = (float)gauss();
        vs_distance_normalize(row, d);
        fwrite(row, sizeof *row, d, fp);
    }
    free(row);
    return fclose(fp) == 0 ? 0 : 2;
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static uint64_t read_avx2(const uint64_t *p, size_t n)
{
    __m256i a = _mm256_setzero_si256(), b = a, c = a, e = a;
    for (size_t i = 0; i + 16 <= n; i += 16) {
        a = _mm256_add_epi64(a, _mm256_load_si256((const __m256i *)(p + i)));
        b = _mm256_add_epi64(b, _mm256_load_si256((const __m256i *)(p + i + 4)));
        c = _mm256_add_epi64(c, _mm256_load_si256((const __m256i *)(p + i + 8)));
        e = _mm256_add_epi64(e, _mm256_load_si256((const __m256i *)(p + i + 12)));
    }
    a = _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(c, e));
    uint64_t t[4];
    _mm256_storeu_si256((__m256i *)t, a);
    return t[0] + t[1] + t[2] + t[3];
}
#endif

static uint64_t read_plain(const uint64_t *p, size_t n)
{
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2"))
        return read_avx2(p, n);
#endif
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += p[i];
    return s;
}

/* Best of 5 streaming reads of a 1 GiB buffer with nt threads. */
static double bandwidth(int nt)
{
    size_t bytes = (size_t)1 << 30, n = bytes / 8;
    uint64_t *buf = aligned_alloc(64, bytes);
    if (!buf)
        return 0;
    for (size_t i = 0; i < n; i++)
        buf[i] = i;
    double best = 1e30;
    volatile uint64_t sink = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        uint64_t s = 0;
#ifdef _OPENMP
#pragma omp parallel num_threads(nt) reduction(+ : s)
        {
            int t = omp_get_thread_num(), T = omp_get_num_threads();
            size_t lo = n / (size_t)T * (size_t)t, hi = t == T - 1 ? n : n / (size_t)T * (size_t)(t + 1);
            s += read_plain(buf + lo, hi - lo);
        }
#else
        (void)nt;
        s = read_plain(buf, n);
#endif
        sink += s;
        double t = now() - t0;
        best = t < best ? t : best;
    }
    free(buf);
    return (double)bytes / best / 1e9;
}

static int search(const char *dpath, const char *qpath, size_t d, size_t nbatch)
{
    size_t n, nq;
    float *x = load(dpath, d, &n);
    float *q = load(qpath, d, &nq);
    const size_t k = 10;
    char **idstore = malloc(n * sizeof *idstore);
    for (size_t i = 0; i < n; i++) {
        char b[24];
        snprintf(b, sizeof b, "%zu", i);
        idstore[i] = strdup(b);
    }
    struct vs_flat_part part = {x, (const char *const *)idstore, n, NULL};
    struct vs_flat_hit *hits = malloc(nq * k * sizeof *hits);
    struct vs_flat_query *fq = calloc(nq, sizeof *fq);
    struct vs_flat_result *res = calloc(nq, sizeof *res);
    for (size_t i = 0; i < nq; i++) {
        fq[i] = (struct vs_flat_query){q + i * d, k, NULL};
        res[i].hits = hits + i * k;
    }
    double gb = (double)n * (double)d * 4.0 / 1e9;
    printf("rows %zu\ndim %zu\nqueries %zu\nkernel %s\n", n, d, nq, vs_distance_best()->name);
    int threads[2] = {1, 2};
    for (int ti = 0; ti < 2; ti++) {
        int nt = threads[ti];
        struct vs_flat *f;
        struct vs_flat_opts o = {nbatch, k, nt, -1, 0};
        if (vs_flat_new(d, VS_METRIC_DOT, &o, &f, NULL) != VS_OK)
            return 2;
        /* single queries: one at a time, best of 3 passes over 50 queries */
        size_t ns = nq < 50 ? nq : 50;
        double best = 1e30;
        for (int rep = 0; rep < 3; rep++) {
            double t0 = now();
            for (size_t i = 0; i < ns; i++)
                vs_flat_search(f, &part, 1, &fq[i], 1, &res[i], NULL);
            double t = (now() - t0) / (double)ns;
            best = t < best ? t : best;
        }
        printf("single_qps_t%d %.1f\nsingle_ms_t%d %.3f\nsingle_gbps_t%d %.2f\n", nt,
               1.0 / best, nt, best * 1e3, nt, gb / best);
        /* batches of nbatch queries, all nq queries, best of 3 */
        best = 1e30;
        for (int rep = 0; rep < 3; rep++) {
            double t0 = now();
            for (size_t s = 0; s < nq; s += nbatch) {
                size_t m = nq - s < nbatch ? nq - s : nbatch;
                vs_flat_search(f, &part, 1, fq + s, m, res + s, NULL);
            }
            double t = now() - t0;
            best = t < best ? t : best;
        }
        printf("batch_qps_t%d %.1f\n", nt, (double)nq / best);
        vs_flat_free(f);
    }
    /* the first query's top ids, so the peers' answers can be compared */
    printf("top0");
    for (size_t j = 0; j < res[0].n; j++)
        printf(" %s", res[0].hits[j].id);
    printf("\n");
    for (size_t i = 0; i < n; i++)
        free(idstore[i]);
    free(idstore);
    free(hits);
    free(fq);
    free(res);
    free(x);
    free(q);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "gen") == 0)
        return gen(strtoul(argv[2], NULL, 10), strtoul(argv[3], NULL, 10),
                   strtoul(argv[4], NULL, 10), argv[5]);
    if (argc == 2 && strcmp(argv[1], "bw") == 0) {
        printf("bw_gbps_t1 %.2f\nbw_gbps_t2 %.2f\n", bandwidth(1), bandwidth(2));
        return 0;
    }
    if ((argc == 5 || argc == 6) && strcmp(argv[1], "search") == 0)
        return search(argv[2], argv[3], strtoul(argv[4], NULL, 10),
                      argc == 6 ? strtoul(argv[5], NULL, 10) : 256);
    fprintf(stderr, "usage: exact_bench gen N D SEED FILE | bw | search DATA QUERIES D [BATCH]\n");
    return 2;
}
