/* bench/scale_order.c DATA QUERIES TRUTH D GRAPH EF...: one HNSW graph
 * with its rows as inserted against the same graph renumbered in graph
 * order (vs_hnsw_order, vs_hnsw_renumbered: what a segment writer does
 * since graph format 3), for bench/scale.sh.
 * DATA, QUERIES: little-endian float32 rows of D (hnsw_bench gen); TRUTH:
 * their exact top 10 rows (hnsw_bench truth). GRAPH: a saved graph over
 * DATA in insertion order; built (M 16, ef_construction 200, 2 threads,
 * seed 1) and saved there when the file does not exist.
 * Prints "key value" lines: the graph file's bytes per vector (its own
 * format), the same graph saved in format 3 as inserted and renumbered,
 * the CPU seconds of ordering and renumbering, and per EF recall@10 and
 * queries per CPU second of one thread for both (3 alternated passes over
 * all queries, the best of each kept) and their ratio. */
#include "hnsw_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define K 10

#include "bench_util.h"

/* all queries at ef: CPU seconds of this thread; *rec gets recall@10, the
 * hit rows mapped through map (NULL: as they are) */
static double run(struct vs_hnsw *h, struct vs_hnsw_scratch *s, const float *x,
                  const float *q, size_t nq, size_t d, size_t ef, const uint32_t *truth,
                  const uint32_t *map, double *rec)
{
    struct vs_hnsw_hit hits[K];
    size_t found = 0;
    double c0 = cputime();
    for (size_t i = 0; i < nq; i++) {
        struct vs_hnsw_query hq = {.vec = q + i * d, .k = K, .ef = ef, .exact_below = -1};
        size_t nh = 0;
        if (vs_hnsw_search(h, s, x, &hq, hits, &nh, NULL, NULL) != VS_OK)
            return -1;
        for (size_t a = 0; a < nh; a++) {
            uint64_t r = map ? map[hits[a].row] : hits[a].row;
            for (size_t b = 0; b < K; b++)
                if (truth[i * K + b] == r) {
                    found++;
                    break;
                }
        }
    }
    double c = cputime() - c0;
    *rec = (double)found / (double)(nq * K);
    return c;
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: scale_order DATA QUERIES TRUTH D GRAPH EF...\n");
        return 2;
    }
    size_t d = strtoul(argv[4], NULL, 10), xb = 0, qb = 0, tb = 0, gb = 0;
    float *x = load(argv[1], &xb), *q = load(argv[2], &qb);
    uint32_t *truth = load(argv[3], &tb);
    size_t n = d ? xb / (d * 4) : 0, nq = d ? qb / (d * 4) : 0;
    if (!x || !q || !truth || n == 0 || nq == 0 || tb < nq * K * 4) {
        fprintf(stderr, "scale_order: cannot read the data, queries or truth\n");
        return 1;
    }
    struct vs_diag dg;
    vs_diag_clear(&dg);
    void *g = load(argv[5], &gb);
    if (!g) {
        struct vs_hnsw_opts o = {.M = 16, .ef_construction = 200, .seed = 1, .threads = 2,
                                 .simd = -1};
        struct vs_hnsw *h = NULL;
        if (vs_hnsw_build(x, n, d, VS_METRIC_L2, &o, &h, &dg) != VS_OK ||
            vs_hnsw_save(h, 3, &g, &gb, &dg) != VS_OK) {
            fprintf(stderr, "scale_order: %s\n", dg.detail);
            return 1;
        }
        vs_hnsw_free(h);
        FILE *f = fopen(argv[5], "wb");
        if (!f || fwrite(g, 1, gb, f) != gb || fclose(f) != 0) {
            fprintf(stderr, "scale_order: cannot write %s\n", argv[5]);
            return 1;
        }
    }
    struct vs_hnsw *a = NULL, *b = NULL;
    if (vs_hnsw_open(g, gb, -1, &a, &dg) != VS_OK || vs_hnsw_verify(a, &dg) != VS_OK ||
        vs_hnsw_count(a) != n) {
        fprintf(stderr, "scale_order: %s: %s\n", argv[5], dg.detail);
        return 1;
    }
    printf("rows %zu\nqueries %zu\n", n, nq);
    printf("file_format %.8s\nfile_bytes_per_vector %.2f\n", (const char *)g,
           (double)gb / (double)n);
    void *buf = NULL;
    size_t len = 0;
    if (vs_hnsw_save(a, 3, &buf, &len, &dg) != VS_OK)
        return 1;
    printf("format3_as_inserted_bytes_per_vector %.2f\n", (double)len / (double)n);
    free(buf);
    uint32_t *perm = malloc(n * sizeof *perm);
    float *xo = malloc(n * d * sizeof *xo);
    double c0 = cputime();
    if (!perm || !xo || vs_hnsw_order(a, x, perm, &dg) != VS_OK ||
        vs_hnsw_renumbered(a, perm, &b, &dg) != VS_OK) {
        fprintf(stderr, "scale_order: %s\n", dg.detail);
        return 1;
    }
    printf("order_renumber_cpu_s %.2f\n", cputime() - c0);
    for (size_t i = 0; i < n; i++)
        memcpy(xo + i * d, x + (size_t)perm[i] * d, d * sizeof *xo);
    if (vs_hnsw_save(b, 3, &buf, &len, &dg) != VS_OK)
        return 1;
    printf("format3_graph_order_bytes_per_vector %.2f\n", (double)len / (double)n);
    free(buf);
    struct vs_hnsw_scratch *sa = NULL, *sb = NULL;
    if (vs_hnsw_scratch_new(a, &sa, &dg) != VS_OK || vs_hnsw_scratch_new(b, &sb, &dg) != VS_OK)
        return 1;
    for (int i = 6; i < argc; i++) {
        size_t ef = strtoul(argv[i], NULL, 10);
        double ba = 0, bb = 0, ra = 0, rb = 0;
        for (int rep = 0; rep < 3; rep++) {
            double ca = run(a, sa, x, q, nq, d, ef, truth, NULL, &ra);
            double cb = run(b, sb, xo, q, nq, d, ef, truth, perm, &rb);
            if (ca < 0 || cb < 0) {
                fprintf(stderr, "scale_order: a search failed\n");
                return 1;
            }
            if (rep == 0 || ca < ba)
                ba = ca;
            if (rep == 0 || cb < bb)
                bb = cb;
        }
        printf("ef %zu inserted_recall %.4f inserted_cpuqps %.0f graph_order_recall %.4f "
               "graph_order_cpuqps %.0f ratio %.3f\n",
               ef, ra, (double)nq / ba, rb, (double)nq / bb, ba / bb);
    }
    vs_hnsw_scratch_free(sa);
    vs_hnsw_scratch_free(sb);
    vs_hnsw_free(a);
    vs_hnsw_free(b);
    free(g);
    free(perm);
    free(xo);
    free(x);
    free(q);
    free(truth);
    return 0;
}
