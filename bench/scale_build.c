/* bench/scale_build.c DATA QUERIES TRUTH D THREADS EF...: one HNSW build
 * (M 16, ef_construction 200, THREADS threads) over the float32 rows of
 * DATA (hnsw_bench gen), then recall@10 of QUERIES against TRUTH (hnsw_bench
 * truth on the same rows) at each EF, for bench/scale.sh's look at what the
 * build's cost per vector grows with (run it under valgrind --tool=callgrind
 * with THREADS 1 for instruction counts that do not depend on the load).
 * Output: "key value" lines: rows, build_cpu_s (process CPU: every
 * thread), build_cpu_us_per_vec, graph_bytes (vs_hnsw_memory), graph_hash
 * (FNV-1a of the saved graph: equal hashes, equal graphs), then per EF
 * "ef E recall R distances_per_query X". */
#include "vs_status.h"
#include "vs_hnsw.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

#define K 10

static double proc_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: scale_build DATA QUERIES TRUTH D THREADS EF...\n");
        return 2;
    }
    size_t d = strtoul(argv[4], NULL, 10), xb = 0, qb = 0, tb = 0;
    float *x = load(argv[1], &xb);
    float *qv = load(argv[2], &qb);
    uint32_t *truth = load(argv[3], &tb);
    size_t n = d ? xb / (d * sizeof(float)) : 0, nq = d ? qb / (d * sizeof(float)) : 0;
    if (!x || !qv || !truth || n == 0 || nq == 0 || tb < nq * K * sizeof *truth) {
        fprintf(stderr, "scale_build: cannot read %s, %s or %s\n", argv[1], argv[2], argv[3]);
        return 1;
    }
    struct vs_hnsw_opts o = {.M = 16, .ef_construction = 200, .threads = atoi(argv[5]),
                             .simd = -1};
    struct vs_hnsw *h = NULL;
    struct vs_diag dg = {0};
    double t0 = proc_cpu();
    if (vs_hnsw_build(x, n, d, VS_METRIC_L2, &o, &h, &dg) != VS_OK) {
        fprintf(stderr, "scale_build: %s\n", dg.detail);
        return 1;
    }
    double cpu = proc_cpu() - t0;
    /* the saved graph's FNV-1a hash: two builds with THREADS 1 give the
     * same graph when the hashes agree */
    void *buf = NULL;
    size_t len = 0;
    if (vs_hnsw_save(h, 0, &buf, &len, &dg) != VS_OK) {
        fprintf(stderr, "scale_build: %s\n", dg.detail);
        return 1;
    }
    uint64_t fnv = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++)
        fnv = (fnv ^ ((const unsigned char *)buf)[i]) * 1099511628211ULL;
    free(buf);
    printf("rows %zu\nbuild_cpu_s %.3f\nbuild_cpu_us_per_vec %.1f\ngraph_bytes %zu\n"
           "graph_hash %016llx\n", n, cpu, cpu * 1e6 / (double)n, vs_hnsw_memory(h),
           (unsigned long long)fnv);
    struct vs_hnsw_scratch *s = NULL;
    if (vs_hnsw_scratch_new(h, &s, &dg) != VS_OK) {
        fprintf(stderr, "scale_build: %s\n", dg.detail);
        return 1;
    }
    for (int a = 6; a < argc; a++) {
        size_t ef = strtoul(argv[a], NULL, 10), found = 0;
        uint64_t dists = 0;
        for (size_t i = 0; i < nq; i++) {
            struct vs_hnsw_query q = {.vec = qv + i * d, .k = K, .ef = ef};
            struct vs_hnsw_hit hits[K];
            struct vs_hnsw_stats st = {0};
            size_t nh = 0;
            if (vs_hnsw_search(h, s, x, &q, hits, &nh, &st, &dg) != VS_OK) {
                fprintf(stderr, "scale_build: %s\n", dg.detail);
                return 1;
            }
            dists += st.distances;
            for (size_t j = 0; j < nh; j++)
                for (size_t t = 0; t < K; t++)
                    if (truth[i * K + t] == hits[j].row) {
                        found++;
                        break;
                    }
        }
        printf("ef %zu recall %.4f distances_per_query %.1f\n", ef,
               (double)found / (double)(nq * K), (double)dists / (double)nq);
    }
    vs_hnsw_scratch_free(s);
    vs_hnsw_free(h);
    free(x);
    free(qv);
    free(truth);
    return 0;
}
