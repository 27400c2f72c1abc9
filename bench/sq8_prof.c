/* sq8_prof.c: the sq8 graph walk of the library, measured apart from any
 * build (compiled by bench_cc, see bench/README.md; callgrind can run the
 * search mode).
 *
 *   sq8_prof prep DATA D PREFIX
 *       a 2-thread graph (M 16, construction beam 200) over DATA, numbered
 *       in graph order as a store segment is (vs_hnsw_order +
 *       vs_hnsw_renumbered): PREFIX.hnsw (the graph), PREFIX.x (the rows in
 *       that order), PREFIX.perm (uint32 perm[new] = old row)
 *   sq8_prof search PREFIX QUERIES TRUTH D SIMD NQ EFS...
 *       the first NQ queries (TRUTH: bench/hnsw_bench truth of the original
 *       rows) on 1 thread, sq8 codes built over PREFIX.x, kernels at SIMD
 *       (-1 best, 0 scalar, 1 sse, 2 avx2, 3 avx512); per ef: recall@10,
 *       queries per CPU second of the searching thread (best of BENCH_REPS, default
 *       2), distances per query; then, from the same beam (searched with k
 *       = ef, so every entry is re-scored), the recall@10 when only the R
 *       entries nearest by the sq8 distance are re-scored (R = 10, 15, 20,
 *       30, 40, 60, 80, ... up to ef): "ef E rerank R recall X"
 *
 * Output: "key value" lines. Our own code. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "quant_internal.h"
#include "vs_hnsw.h"

#define K 10

/* the whole file PATH (bench_util.h's load), or exit 1 */
static void *slurp(const char *path, size_t *len)
{
    void *p = load(path, len);
    if (!p) {
        fprintf(stderr, "%s: cannot read it\n", path);
        exit(1);
    }
    return p;
}

static void spit(const char *path, const void *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static char *cat(const char *a, const char *b)
{
    char *s = malloc(strlen(a) + strlen(b) + 1);
    if (!s)
        exit(1);
    strcpy(s, a);
    strcat(s, b);
    return s;
}

static int prep(char **argv)
{
    size_t d = (size_t)atol(argv[3]), len;
    float *x = slurp(argv[2], &len);
    size_t n = len / (d * sizeof(float));
    struct vs_hnsw_opts o = {.M = 16, .ef_construction = 200, .seed = 1, .threads = 2,
                             .simd = -1};
    struct vs_hnsw *h, *r;
    uint32_t *perm = malloc(n * sizeof *perm);
    float *y = malloc(len ? len : 1);
    void *buf;
    size_t blen;
    if (!perm || !y || vs_hnsw_build(x, n, d, VS_METRIC_L2, &o, &h, NULL) != VS_OK ||
        vs_hnsw_order(h, x, perm, NULL) != VS_OK || vs_hnsw_renumbered(h, perm, &r, NULL) != VS_OK ||
        vs_hnsw_save(r, 3, &buf, &blen, NULL) != VS_OK) {
        fprintf(stderr, "sq8_prof: build failed\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        memcpy(y + i * d, x + (size_t)perm[i] * d, d * sizeof *y);
    spit(cat(argv[4], ".hnsw"), buf, blen);
    spit(cat(argv[4], ".x"), y, len);
    spit(cat(argv[4], ".perm"), perm, n * sizeof *perm);
    printf("rows %zu\n", n);
    return 0;
}

struct ent {
    float qd, fd;
    uint32_t row;
};

static int by_qd(const void *a, const void *b)
{
    const struct ent *x = a, *y = b;
    return x->qd < y->qd ? -1 : x->qd > y->qd;
}

static int by_fd(const void *a, const void *b)
{
    const struct ent *x = a, *y = b;
    return x->fd < y->fd ? -1 : x->fd > y->fd;
}

static int search(int argc, char **argv)
{
    const char *pre = argv[2];
    size_t d = (size_t)atol(argv[5]), len, plen, tlen, hlen;
    int simd = atoi(argv[6]);
    size_t nq = (size_t)atol(argv[7]);
    float *x = slurp(cat(pre, ".x"), &len);
    uint32_t *perm = slurp(cat(pre, ".perm"), &plen);
    float *q = slurp(argv[3], &tlen);
    size_t n = len / (d * sizeof(float));
    if (nq > tlen / (d * sizeof(float)))
        nq = tlen / (d * sizeof(float));
    uint32_t *t = slurp(argv[4], &tlen);
    void *hb = slurp(cat(pre, ".hnsw"), &hlen);
    struct vs_hnsw *h;
    struct vs_quant *qz;
    if (vs_hnsw_open(hb, hlen, simd, &h, NULL) != VS_OK ||
        vs_quant_build(VS_QUANT_SQ8, VS_METRIC_L2, x, n, d, simd, &qz, NULL) != VS_OK) {
        fprintf(stderr, "sq8_prof: open failed\n");
        return 1;
    }
    int reps = getenv("BENCH_REPS") ? atoi(getenv("BENCH_REPS")) : 2;
    struct vs_hnsw_scratch *s;
    vs_hnsw_scratch_new(h, &s, NULL);
    struct vs_hnsw_hit *hits = malloc(4096 * sizeof *hits);
    struct ent *e = malloc(4096 * sizeof *e);
    float *pq = malloc(vs_quant_prep_floats(qz) * sizeof *pq);
    printf("rows %zu\nqueries %zu\nsimd %d\n", n, nq, simd);
    for (int a = 8; a < argc; a++) {
        size_t ef = (size_t)atol(argv[a]);
        if (ef > 4096)
            ef = 4096;
        double best = 0;
        size_t found = 0;
        uint64_t dists = 0;
        for (int rep = 0; rep < (reps > 0 ? reps : 1); rep++) {
            found = 0;
            dists = 0;
            double c0 = cputime();
            for (size_t i = 0; i < nq; i++) {
                struct vs_hnsw_query qq = {.vec = q + i * d, .k = K, .ef = ef, .quant = qz};
                struct vs_hnsw_stats st = {0};
                size_t nh = 0;
                vs_hnsw_search(h, s, x, &qq, hits, &nh, &st, NULL);
                dists += st.distances;
                for (size_t j = 0; j < nh; j++)
                    for (size_t b = 0; b < K; b++)
                        found += perm[hits[j].row] == t[i * K + b];
            }
            double c = cputime() - c0, qps = c > 0 ? (double)nq / c : 0;
            best = qps > best ? qps : best;
        }
        printf("ef %zu recall %.4f cpuqps %.0f distances %.1f\n", ef,
               (double)found / (double)(nq * K), best, (double)dists / (double)nq);
        if (getenv("SQ8_NO_RERANK"))
            continue;
        /* the beam re-scored whole, then cut to its R nearest by sq8 */
        size_t rs[32], nr = 0;
        static const size_t R[] = {10, 15, 20, 30, 40, 60, 80, 100, 128, 160, 200, 256};
        for (size_t j = 0; j < sizeof R / sizeof *R; j++)
            if (R[j] < ef)
                rs[nr++] = R[j];
        rs[nr++] = ef;
        size_t *fr = calloc(nr, sizeof *fr);
        for (size_t i = 0; i < nq; i++) {
            struct vs_hnsw_query qq = {.vec = q + i * d, .k = ef, .ef = ef, .quant = qz};
            size_t nh = 0;
            vs_hnsw_search(h, s, x, &qq, hits, &nh, NULL, NULL);
            vs_quant_prep(qz, q + i * d, pq);
            for (size_t j = 0; j < nh; j++)
                e[j] = (struct ent){vs_quant_dist(qz, pq, hits[j].row), hits[j].raw,
                                    (uint32_t)hits[j].row};
            qsort(e, nh, sizeof *e, by_qd);
            for (size_t r = 0; r < nr; r++) {
                size_t m = rs[r] < nh ? rs[r] : nh;
                struct ent top[4096];
                memcpy(top, e, m * sizeof *e);
                qsort(top, m, sizeof *top, by_fd);
                for (size_t j = 0; j < m && j < K; j++)
                    for (size_t b = 0; b < K; b++)
                        fr[r] += perm[top[j].row] == t[i * K + b];
            }
        }
        for (size_t r = 0; r < nr; r++)
            printf("ef %zu rerank %zu recall %.4f\n", ef, rs[r],
                   (double)fr[r] / (double)(nq * K));
        free(fr);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "prep"))
        return prep(argv);
    if (argc >= 9 && !strcmp(argv[1], "search"))
        return search(argc, argv);
    fprintf(stderr, "usage: sq8_prof prep DATA D PREFIX | search PREFIX QUERIES TRUTH D SIMD NQ EFS...\n");
    return 2;
}
