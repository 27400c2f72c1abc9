/* hnsw_bench.c: HNSW through the library (lib/hnsw.c), for bench/hnsw.sh.
 *
 *   hnsw_bench gen N D SEED FILE        N x D Gaussian mixture (64 centres
 *                                       from a fixed seed; rows from SEED)
 *   hnsw_bench truth DATA QUERIES D K OUT
 *                                       exact top-K rows (uint32) by L2
 *   hnsw_bench run DATA QUERIES TRUTH D M EFC EFS...
 *                                       build on 1 and 2 threads (wall and
 *                                       process CPU seconds, load before and
 *                                       after), save/open, graph bytes per
 *                                       vector after open, after the queries
 *                                       and fully decoded; per ef recall@10,
 *                                       QPS on 1 thread (wall and per CPU
 *                                       second of the querying thread) and
 *                                       2 threads, p50/p99 latency; then the
 *                                       same graph walked with sq8 codes
 *                                       (keys sq8.*; HNSW_BENCH_SQ8=0 skips)
 *   hnsw_bench search DATA QUERIES TRUTH D M EFC EFS...
 *                                       one 2-thread build; per ef recall@10,
 *                                       qps1, cpuqps1, qps2 (the library
 *                                       side of bench/hnsw_e2e.sh)
 *   hnsw_bench build DATA QUERIES TRUTH D M EFC THREADS EFS...
 *                                       one build on THREADS threads: CPU
 *                                       seconds, a hash of the saved graph,
 *                                       recall@10 per ef (old and new
 *                                       libraries alternated);
 *                                       HNSW_BENCH_BEAM: vs_hnsw_opts.beam
 *   hnsw_bench filter DATA QUERIES D M EFC EF
 *                                       recall@10, QPS and short answers at
 *                                       filter selectivities 50/10/1/0.1 %
 *   hnsw_bench quant DATA QUERIES TRUTH D M EFC EFS...
 *                                       per vector code kind (none, f16,
 *                                       sq8, binary): recall@10 after
 *                                       re-scoring, 1-thread QPS, code bytes
 *   hnsw_bench reopen DATA QUERIES D M EFC EFS...
 *                                       one graph (2-thread build) searched
 *                                       as built and after save/open:
 *                                       queries per CPU second on 1 thread,
 *                                       alternated, best of 3 each
 *
 * Files are raw little-endian float32 rows. Output: "key value" lines.
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

#include "vs_hnsw.h"
#include "vs_quant.h"

#define K 10

/* CPU time of the calling thread: queries per CPU second do not depend on
 * how many other processes share the machine (wall-clock QPS does). */
static double cputime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng;
static double urand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void)
{
    return sqrt(-2 * log(urand())) * cos(6.283185307179586 * urand());
}

static float *load(const char *path, size_t dim, size_t *rows)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    *rows = (size_t)sz / (dim * sizeof(float));
    float *x = malloc((size_t)sz);
    if (!x || fread(x, 1, (size_t)sz, f) != (size_t)sz) {
        fprintf(stderr, "%s: read failed\n", path);
        exit(1);
    }
    fclose(f);
    return x;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int gen(size_t n, size_t d, uint64_t seed, const char *path)
{
    rng = 0x9E3779B97F4A7C15ull;
    float *c = malloc(64 * d * sizeof *c), *row = malloc(d * sizeof *row);
    for (size_t i = 0; i < 64 * d; i++)
        c[i] = (float)gauss();
    rng = 0x2545F4914F6CDD1Dull ^ (seed * 0x9E3779B97F4A7C15ull);
    FILE *f = fopen(path, "wb");
    if (!f)
        return 1;
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)(urand() * 64) % 64;
        for (size_t j = 0; j < d; j++)
            row[j] = c[k * d + j] + (float)(0.7 * gauss());
        fwrite(row, sizeof *row, d, f);
    }
    free(c);
    free(row);
    return fclose(f) != 0;
}

/* Put row r at distance dv into a top-k list (bd, ids, *m kept), nearest
 * first; a row ties after the rows already in at the same distance. */
static inline void topk_add(float *bd, uint64_t *ids, size_t *m, size_t k, float dv,
                            size_t r)
{
    if (*m == k && dv >= bd[k - 1])
        return;
    size_t p = *m < k ? (*m)++ : k - 1;
    while (p > 0 && bd[p - 1] > dv) {
        bd[p] = bd[p - 1];
        ids[p] = ids[p - 1];
        p--;
    }
    bd[p] = dv;
    ids[p] = r;
}

/* Exact top-k (k <= 64) of q by L2 over the rows allow admits (all when
 * allow is NULL), nearest first, into ids; returns how many. */
static size_t exact_topk(const struct vs_distance_kernels *kn, const float *x, size_t n,
                         size_t d, const float *q, const uint8_t *allow, size_t k,
                         uint64_t *ids)
{
    float bd[64];
    size_t m = 0;
    for (size_t r = 0; r < n; r++) {
        if (allow && !allow[r])
            continue;
        topk_add(bd, ids, &m, k, kn->l2sq(q, x + r * d, d), r);
    }
    return m;
}

/* truth's tiles: TRUTH_QT queries share each pass over the data, which is
 * read in blocks of about TRUTH_BLOCK bytes (in L2) that each of the tile's
 * queries scans in turn. Every query still sees the rows in order with the
 * same kernel, so the lists are exact_topk's, and the data is streamed
 * from memory once per tile instead of once per query. */
#define TRUTH_QT 64
#define TRUTH_BLOCK (256 * 1024)

static int truth(const char *dp, const char *qp, size_t d, size_t k, const char *out)
{
    size_t n, nq;
    float *x = load(dp, d, &n), *q = load(qp, d, &nq);
    const struct vs_distance_kernels *kn = vs_distance_best();
    uint32_t *t = malloc(nq * k * sizeof *t);
    size_t ntiles = (nq + TRUTH_QT - 1) / TRUTH_QT;
    size_t blk = TRUTH_BLOCK / (d * sizeof *x);
    if (k > 64 || !t) {
        fprintf(stderr, "hnsw_bench truth: k above 64 or out of memory\n");
        return 1;
    }
    if (blk == 0)
        blk = 1;
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t tile = 0; tile < ntiles; tile++) {
        size_t q0 = tile * TRUTH_QT, qn = nq - q0;
        if (qn > TRUTH_QT)
            qn = TRUTH_QT;
        float bd[TRUTH_QT][64];
        uint64_t bi[TRUTH_QT][64];
        size_t m[TRUTH_QT] = {0};
        for (size_t r0 = 0; r0 < n; r0 += blk) {
            size_t r1 = n - r0 < blk ? n : r0 + blk;
            for (size_t i = 0; i < qn; i++) {
                const float *qi = q + (q0 + i) * d;
                for (size_t r = r0; r < r1; r++)
                    topk_add(bd[i], bi[i], &m[i], k, kn->l2sq(qi, x + r * d, d), r);
            }
        }
        for (size_t i = 0; i < qn; i++)
            for (size_t j = 0; j < k; j++)
                t[(q0 + i) * k + j] = (uint32_t)bi[i][j];
    }
    FILE *f = fopen(out, "wb");
    fwrite(t, sizeof *t, nq * k, f);
    fclose(f);
    free(x);
    free(q);
    free(t);
    return 0;
}

static double recall(const struct vs_hnsw_hit *hits, const size_t *nh,
                     const uint32_t *t, size_t nq)
{
    size_t found = 0;
    for (size_t i = 0; i < nq; i++)
        for (size_t a = 0; a < nh[i]; a++)
            for (size_t b = 0; b < K; b++)
                if (hits[i * K + a].row == t[i * K + b]) {
                    found++;
                    break;
                }
    return (double)found / (double)(nq * K);
}

/* nq queries on `threads` threads; lat (per query seconds) when 1 thread */
static double run_queries_q(struct vs_hnsw *h, const float *x, const float *q,
                            size_t nq, size_t d, size_t ef, int threads,
                            struct vs_hnsw_hit *hits, size_t *nh, double *lat,
                            const struct vs_quant *qz)
{
    double t0 = now();
#pragma omp parallel num_threads(threads)
    {
        struct vs_hnsw_scratch *s;
        vs_hnsw_scratch_new(h, &s, NULL);
#pragma omp for schedule(dynamic, 16)
        for (size_t i = 0; i < nq; i++) {
            double a = lat ? now() : 0;
            struct vs_hnsw_query qq = {.vec = q + i * d, .k = K, .ef = ef, .quant = qz};
            vs_hnsw_search(h, s, x, &qq, hits + i * K, &nh[i], NULL, NULL);
            if (lat)
                lat[i] = now() - a;
        }
        vs_hnsw_scratch_free(s);
    }
    return (double)nq / (now() - t0);
}

static double run_queries(struct vs_hnsw *h, const float *x, const float *q,
                          size_t nq, size_t d, size_t ef, int threads,
                          struct vs_hnsw_hit *hits, size_t *nh, double *lat)
{
    return run_queries_q(h, x, q, nq, d, ef, threads, hits, nh, lat, NULL);
}

/* CPU seconds of the whole process (all threads): over a build's wall
 * time, the cores it actually got. */
static double proctime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The 1-minute load average (first field of /proc/loadavg), as text. */
static const char *loadavg(char *buf, size_t len)
{
    FILE *f = fopen("/proc/loadavg", "r");
    snprintf(buf, len, "?");
    if (f) {
        if (fscanf(f, "%15s", buf) != 1)
            snprintf(buf, len, "?");
        fclose(f);
    }
    return buf;
}

static uint32_t *load_truth(const char *path, size_t nq)
{
    FILE *tf = fopen(path, "rb");
    uint32_t *t = malloc(nq * K * sizeof *t);
    if (!tf || !t || fread(t, sizeof *t, nq * K, tf) != nq * K) {
        fprintf(stderr, "%s: truth file too short\n", path);
        exit(1);
    }
    fclose(tf);
    return t;
}

/* What a mode works on: rows x (n), queries q (nq), optionally their true
 * top K t, and per-query result buffers. */
struct bset {
    size_t d, n, nq;
    float *x, *q;
    uint32_t *t;
    struct vs_hnsw_hit *hits;
    size_t *nh;
    double *lat;
};

/* Load rows X and queries Q of dimension d, and truth T unless NULL. */
static void bset_load(struct bset *b, const char *xp, const char *qp, const char *tp,
                      size_t d)
{
    b->d = d;
    b->x = load(xp, d, &b->n);
    b->q = load(qp, d, &b->nq);
    b->t = tp ? load_truth(tp, b->nq) : NULL;
    b->hits = malloc(b->nq * K * sizeof *b->hits);
    b->nh = malloc(b->nq * sizeof *b->nh);
    b->lat = malloc(b->nq * sizeof *b->lat);
    if (!b->hits || !b->nh || !b->lat) {
        fprintf(stderr, "hnsw_bench: out of memory\n");
        exit(1);
    }
}

static void bset_free(struct bset *b)
{
    free(b->x);
    free(b->q);
    free(b->t);
    free(b->hits);
    free(b->nh);
    free(b->lat);
}

/* Build options from the M and ef_construction arguments (seed 1). */
static struct vs_hnsw_opts opts_of(const char *m, const char *efc, int threads)
{
    return (struct vs_hnsw_opts){.M = (uint32_t)atol(m),
                                 .ef_construction = (uint32_t)atol(efc),
                                 .seed = 1, .threads = threads, .simd = -1};
}

/* Repetitions of each timed pass (best kept): HNSW_BENCH_REPS, default 2. */
static int reps(void)
{
    const char *e = getenv("HNSW_BENCH_REPS");
    int r = e ? atoi(e) : 2;
    return r >= 1 ? r : 1;
}

struct ef_result {
    double recall, qps1, cpuqps1, qps2, p50_us, p99_us;
};

/* One ef: a warm-up pass, then the best of reps() passes on 1 thread (wall
 * QPS, QPS per CPU second of the querying thread, per-query latency), the
 * recall of the last, and (threads2) the best of reps() passes on 2
 * threads. */
static void measure(struct vs_hnsw *h, const float *x, const float *q, size_t nq,
                    size_t d, size_t ef, const struct vs_quant *qz, const uint32_t *t,
                    int threads2, struct vs_hnsw_hit *hits, size_t *nh, double *lat,
                    struct ef_result *r)
{
    memset(r, 0, sizeof *r);
    run_queries_q(h, x, q, nq < 200 ? nq : 200, d, ef, 1, hits, nh, NULL, qz);
    for (int rep = 0; rep < reps(); rep++) {
        double c0 = cputime();
        double v = run_queries_q(h, x, q, nq, d, ef, 1, hits, nh, lat, qz);
        double cv = (double)nq / (cputime() - c0);
        r->qps1 = v > r->qps1 ? v : r->qps1;
        r->cpuqps1 = cv > r->cpuqps1 ? cv : r->cpuqps1;
    }
    r->recall = recall(hits, nh, t, nq);
    qsort(lat, nq, sizeof *lat, cmp_d);
    r->p50_us = lat[nq / 2] * 1e6;
    r->p99_us = lat[(size_t)((double)nq * 0.99)] * 1e6;
    for (int rep = 0; threads2 && rep < reps(); rep++) {
        double v = run_queries_q(h, x, q, nq, d, ef, 2, hits, nh, NULL, qz);
        r->qps2 = v > r->qps2 ? v : r->qps2;
    }
}

/* quant X Q T D M EFC EF...: one graph (2-thread build); per code kind
 * (none = float32) and ef: recall@10 after re-scoring and 1-thread QPS;
 * bytes per vector of the codes. */
static int quant(int argc, char **argv)
{
    struct bset b;
    bset_load(&b, argv[2], argv[3], argv[4], (size_t)atol(argv[5]));
    size_t d = b.d, n = b.n, nq = b.nq, *nh = b.nh;
    float *x = b.x, *q = b.q;
    uint32_t *t = b.t;
    struct vs_hnsw_hit *hits = b.hits;
    struct vs_hnsw_opts o = opts_of(argv[6], argv[7], 2);
    struct vs_hnsw *h = NULL;
    if (vs_hnsw_build(x, n, d, VS_METRIC_L2, &o, &h, NULL) != VS_OK)
        return 1;
    static const char *const kinds[] = {"none", "f16", "sq8", "binary"};
    for (int kd = 0; kd < 4; kd++) {
        struct vs_quant *qz = NULL;
        if (kd && vs_quant_build((enum vs_quant_kind)kd, VS_METRIC_L2, x, n, d, -1, &qz,
                                 NULL) != VS_OK)
            return 1;
        printf("%s.code_bpv %zu\n", kinds[kd], qz ? vs_quant_code_bytes(qz) : d * sizeof(float));
        for (int a = 8; a < argc; a++) {
            size_t ef = (size_t)atol(argv[a]);
            run_queries_q(h, x, q, nq < 200 ? nq : 200, d, ef, 1, hits, nh, NULL, qz);
            double q1 = 0;
            for (int rep = 0; rep < 2; rep++) {
                double c0 = cputime();
                run_queries_q(h, x, q, nq, d, ef, 1, hits, nh, NULL, qz);
                double v = (double)nq / (cputime() - c0);
                q1 = v > q1 ? v : q1;
            }
            printf("%s.ef%zu_recall %.4f\n%s.ef%zu_qps1 %.0f\n", kinds[kd], ef,
                   recall(hits, nh, t, nq), kinds[kd], ef, q1);
        }
        vs_quant_free(qz);
    }
    vs_hnsw_free(h);
    bset_free(&b);
    return 0;
}

static int run(int argc, char **argv)
{
    struct bset b;
    bset_load(&b, argv[2], argv[3], argv[4], (size_t)atol(argv[5]));
    size_t d = b.d, n = b.n, nq = b.nq, *nh = b.nh;
    float *x = b.x, *q = b.q;
    uint32_t *t = b.t;
    struct vs_hnsw_hit *hits = b.hits;
    struct vs_hnsw_opts o = opts_of(argv[6], argv[7], 0);
    struct vs_hnsw *h = NULL;
    char l0[16], l1[16];
    for (int th = 1; th <= 2; th++) {
        vs_hnsw_free(h);
        o.threads = th;
        loadavg(l0, sizeof l0);
        double t0 = now(), p0 = proctime();
        if (vs_hnsw_build(x, n, d, VS_METRIC_L2, &o, &h, NULL) != VS_OK)
            return 1;
        double bt = now() - t0, bc = proctime() - p0;
        printf("build_s_t%d %.3f\nbuild_vps_t%d %.0f\nbuild_cpu_s_t%d %.3f\n"
               "build_load_t%d %s/%s\n", th, bt, th, (double)n / bt, th, bc, th, l0,
               loadavg(l1, sizeof l1));
    }
    void *buf;
    size_t len;
    vs_hnsw_save(h, 3, &buf, &len, NULL);
    vs_hnsw_free(h);
    printf("disk_bpv %.2f\nvec_bpv %zu\n", (double)len / (double)n, d * sizeof(float));
    double t0 = now();
    vs_hnsw_open(buf, len, -1, &h, NULL);
    printf("open_ms %.3f\n", (now() - t0) * 1e3);
    printf("mem_open_bpv %.2f\n", (double)vs_hnsw_memory(h) / (double)n);
    free(buf);
    double *lat = b.lat;
    for (int a = 8; a < argc; a++) {
        size_t ef = (size_t)atol(argv[a]);
        struct ef_result r;
        measure(h, x, q, nq, d, ef, NULL, t, 1, hits, nh, lat, &r);
        printf("ef%zu_recall %.4f\nef%zu_qps1 %.0f\nef%zu_qps2 %.0f\n"
               "ef%zu_p50_us %.1f\nef%zu_p99_us %.1f\nef%zu_cpuqps1 %.0f\n",
               ef, r.recall, ef, r.qps1, ef, r.qps2, ef, r.p50_us, ef, r.p99_us, ef,
               r.cpuqps1);
    }
    /* graph memory once the queries ran (the blocks they touched decoded),
     * then with every block decoded */
    printf("mem_query_bpv %.2f\n", (double)vs_hnsw_memory(h) / (double)n);
    vs_hnsw_verify(h, NULL);
    printf("mem_bpv %.2f\n", (double)vs_hnsw_memory(h) / (double)n);
    const char *sq = getenv("HNSW_BENCH_SQ8");
    struct vs_quant *qz = NULL;
    if ((!sq || strcmp(sq, "0") != 0) &&
        vs_quant_build(VS_QUANT_SQ8, VS_METRIC_L2, x, n, d, -1, &qz, NULL) == VS_OK) {
        printf("sq8.code_bpv %zu\n", vs_quant_code_bytes(qz));
        for (int a = 8; a < argc; a++) {
            size_t ef = (size_t)atol(argv[a]);
            struct ef_result r;
            measure(h, x, q, nq, d, ef, qz, t, 0, hits, nh, lat, &r);
            printf("sq8.ef%zu_recall %.4f\nsq8.ef%zu_qps1 %.0f\nsq8.ef%zu_p50_us %.1f\n"
                   "sq8.ef%zu_p99_us %.1f\nsq8.ef%zu_cpuqps1 %.0f\n",
                   ef, r.recall, ef, r.qps1, ef, r.p50_us, ef, r.p99_us, ef, r.cpuqps1);
        }
        vs_quant_free(qz);
    }
    vs_hnsw_free(h);
    bset_free(&b);
    return 0;
}

/* search X Q T D M EFC EF...: one graph built on 2 threads (as a store
 * without --seed builds it); per ef recall@10, qps1, cpuqps1, qps2. */
static int search(int argc, char **argv)
{
    struct bset b;
    bset_load(&b, argv[2], argv[3], argv[4], (size_t)atol(argv[5]));
    size_t d = b.d, n = b.n, nq = b.nq, *nh = b.nh;
    float *x = b.x, *q = b.q;
    uint32_t *t = b.t;
    struct vs_hnsw_hit *hits = b.hits;
    struct vs_hnsw_opts o = opts_of(argv[6], argv[7], 2);
    struct vs_hnsw *h = NULL;
    if (vs_hnsw_build(x, n, d, VS_METRIC_L2, &o, &h, NULL) != VS_OK)
        return 1;
    double *lat = b.lat;
    for (int a = 8; a < argc; a++) {
        size_t ef = (size_t)atol(argv[a]);
        struct ef_result r;
        measure(h, x, q, nq, d, ef, NULL, t, 1, hits, nh, lat, &r);
        printf("ef%zu_recall %.4f\nef%zu_qps1 %.0f\nef%zu_cpuqps1 %.0f\nef%zu_qps2 %.0f\n",
               ef, r.recall, ef, r.qps1, ef, r.cpuqps1, ef, r.qps2);
    }
    vs_hnsw_free(h);
    bset_free(&b);
    return 0;
}

/* build X Q T D M EFC THREADS EF...: one build on THREADS threads (process
 * CPU seconds and wall, the load before and after, a hash of the saved
 * graph: equal hashes, the same graph), then recall@10 per ef (one pass):
 * the build's cost and its graph's quality, for old and new libraries run
 * one after the other. */
static int buildonly(int argc, char **argv)
{
    struct bset b;
    bset_load(&b, argv[2], argv[3], argv[4], (size_t)atol(argv[5]));
    struct vs_hnsw_opts o = opts_of(argv[6], argv[7], atoi(argv[8]));
    const char *beam = getenv("HNSW_BENCH_BEAM"); /* vs_hnsw_opts.beam, 0 auto */
    o.beam = beam ? atoi(beam) : 0;
    struct vs_hnsw *h = NULL;
    char l0[16], l1[16];
    loadavg(l0, sizeof l0);
    double t0 = now(), p0 = proctime();
    if (vs_hnsw_build(b.x, b.n, b.d, VS_METRIC_L2, &o, &h, NULL) != VS_OK)
        return 1;
    double bt = now() - t0, bc = proctime() - p0;
    printf("build_s %.3f\nbuild_cpu_s %.3f\nbuild_load %s/%s\n", bt, bc, l0,
           loadavg(l1, sizeof l1));
    void *buf;
    size_t len;
    if (vs_hnsw_save(h, 3, &buf, &len, NULL) == VS_OK) {
        uint64_t hv = 1469598103934665603ull; /* FNV-1a */
        for (size_t i = 0; i < len; i++)
            hv = (hv ^ ((const uint8_t *)buf)[i]) * 1099511628211ull;
        printf("graph_bytes %zu\ngraph_hash %016llx\n", len, (unsigned long long)hv);
        free(buf);
    }
    for (int a = 9; a < argc; a++) {
        size_t ef = (size_t)atol(argv[a]);
        run_queries(h, b.x, b.q, b.nq, b.d, ef, 1, b.hits, b.nh, NULL);
        printf("ef%zu_recall %.4f\n", ef, recall(b.hits, b.nh, b.t, b.nq));
    }
    vs_hnsw_free(h);
    bset_free(&b);
    return 0;
}

static int filter(char **argv)
{
    struct bset b;
    bset_load(&b, argv[2], argv[3], NULL, (size_t)atol(argv[4]));
    size_t d = b.d, n = b.n, nq = b.nq;
    float *x = b.x, *q = b.q;
    struct vs_hnsw_opts o = opts_of(argv[5], argv[6], 2);
    size_t ef = (size_t)atol(argv[7]);
    struct vs_hnsw *h;
    if (vs_hnsw_build(x, n, d, VS_METRIC_L2, &o, &h, NULL) != VS_OK)
        return 1;
    struct vs_hnsw_scratch *s;
    vs_hnsw_scratch_new(h, &s, NULL);
    uint8_t *allow = malloc(n);
    const struct vs_distance_kernels *kn = vs_distance_best();
    static const double sel[] = {0.5, 0.1, 0.01, 0.001};
    for (size_t si = 0; si < 4; si++) {
        rng = 12345 + si;
        for (size_t r = 0; r < n; r++)
            allow[r] = urand() < sel[si];
        size_t found = 0, total = 0, shortq = 0, exactq = 0;
        double tq = 0;
        for (size_t i = 0; i < nq; i++) {
            struct vs_hnsw_hit hits[K];
            size_t nh;
            struct vs_hnsw_stats st;
            struct vs_hnsw_query qq = {.vec = q + i * d, .k = K, .ef = ef, .allow = allow};
            double t0 = now();
            vs_hnsw_search(h, s, x, &qq, hits, &nh, &st, NULL);
            tq += now() - t0;
            exactq += st.exact;
            /* truth: exact over the allowed rows */
            uint64_t bi[K];
            size_t m = exact_topk(kn, x, n, d, q + i * d, allow, K, bi);
            if (nh < m)
                shortq++;
            for (size_t a = 0; a < nh; a++)
                for (size_t j = 0; j < m; j++)
                    if (hits[a].row == bi[j]) {
                        found++;
                        break;
                    }
            total += m;
        }
        printf("sel%g_recall %.4f\nsel%g_qps1 %.0f\nsel%g_short %zu\nsel%g_exact %zu\n",
               sel[si] * 100, total ? (double)found / (double)total : 1.0,
               sel[si] * 100, (double)nq / tq, sel[si] * 100, shortq,
               sel[si] * 100, exactq);
    }
    vs_hnsw_scratch_free(s);
    vs_hnsw_free(h);
    free(allow);
    bset_free(&b);
    return 0;
}

/* The same graph as built and as saved and opened: queries per CPU second
 * on 1 thread, the two alternated so that load changes hit both. */
static int reopen(int argc, char **argv)
{
    struct bset b;
    bset_load(&b, argv[2], argv[3], NULL, (size_t)atol(argv[4]));
    size_t d = b.d, n = b.n, nq = b.nq, *nh = b.nh;
    float *x = b.x, *q = b.q;
    struct vs_hnsw_hit *hits = b.hits;
    struct vs_hnsw_opts o = opts_of(argv[5], argv[6], 2);
    struct vs_hnsw *h[2] = {NULL, NULL};
    void *buf = NULL;
    size_t len = 0;
    if (vs_hnsw_build(x, n, d, VS_METRIC_L2, &o, &h[0], NULL) != VS_OK ||
        vs_hnsw_save(h[0], 3, &buf, &len, NULL) != VS_OK ||
        vs_hnsw_open(buf, len, -1, &h[1], NULL) != VS_OK)
        return 1;
    free(buf);
    for (int a = 7; a < argc; a++) {
        size_t ef = (size_t)atol(argv[a]);
        double best[2] = {0, 0};
        for (int g = 0; g < 2; g++) /* warm: decodes the opened graph's blocks */
            run_queries(h[g], x, q, nq < 200 ? nq : 200, d, ef, 1, hits, nh, NULL);
        for (int rep = 0; rep < 3; rep++)
            for (int g = 0; g < 2; g++) {
                double c0 = cputime();
                run_queries(h[g], x, q, nq, d, ef, 1, hits, nh, NULL);
                double v = (double)nq / (cputime() - c0);
                best[g] = v > best[g] ? v : best[g];
            }
        printf("ef%zu_built_cpuqps1 %.0f\nef%zu_opened_cpuqps1 %.0f\n", ef, best[0], ef, best[1]);
    }
    vs_hnsw_free(h[0]);
    vs_hnsw_free(h[1]);
    bset_free(&b);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 6 && strcmp(argv[1], "gen") == 0)
        return gen((size_t)atol(argv[2]), (size_t)atol(argv[3]),
                   (uint64_t)atoll(argv[4]), argv[5]);
    if (argc == 7 && strcmp(argv[1], "truth") == 0)
        return truth(argv[2], argv[3], (size_t)atol(argv[4]), (size_t)atol(argv[5]), argv[6]);
    if (argc >= 9 && strcmp(argv[1], "run") == 0)
        return run(argc, argv);
    if (argc >= 9 && strcmp(argv[1], "build") == 0)
        return buildonly(argc, argv);
    if (argc >= 9 && strcmp(argv[1], "search") == 0)
        return search(argc, argv);
    if (argc >= 9 && strcmp(argv[1], "quant") == 0)
        return quant(argc, argv);
    if (argc >= 8 && strcmp(argv[1], "reopen") == 0)
        return reopen(argc, argv);
    if (argc == 8 && strcmp(argv[1], "filter") == 0)
        return filter(argv);
    fprintf(stderr, "usage: hnsw_bench gen|truth|run|build|search|quant|reopen|filter ... (see the source)\n");
    return 2;
}
