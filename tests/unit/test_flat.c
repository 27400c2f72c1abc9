/* test_flat.c: exact top-k against a naive sort, with ties, tombstones,
 * allow maps (dense and sparse paths), k beyond the data, several parts,
 * and the same answer for every thread count, batch and block size. */
#include "test.h"
#include "vs_internal.h"

#include <stdint.h>

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t urand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}
static float frand(void) { return (float)urand() / 4294967296.0f * 2.0f - 1.0f; }

#define NPART 3
struct data {
    size_t dim;
    uint64_t rows[NPART];
    float *vecs[NPART];
    char **ids[NPART];
    uint8_t *live[NPART];
    struct vs_flat_part parts[NPART];
};

/* 1: every row live and the parts without a live map (the common store:
 * no deletes), which takes the flat search's run-at-a-time offer path */
static int all_live;
/* 1: every vector one of 3, so that most scores tie with the worst hit */
static int three_values;

static void data_make(struct data *D, size_t dim, int dups)
{
    static const uint64_t rows[NPART] = {37, 0, 301};
    D->dim = dim;
    int n = 0;
    for (int p = 0; p < NPART; p++) {
        D->rows[p] = rows[p];
        D->vecs[p] = malloc((rows[p] + 1) * dim * sizeof(float));
        D->ids[p] = calloc(rows[p] + 1, sizeof(char *));
        D->live[p] = malloc(rows[p] + 1);
        for (uint64_t r = 0; r < rows[p]; r++) {
            float *v = D->vecs[p] + r * dim;
            if (three_values && r >= 3)
                memcpy(v, D->vecs[p] + (urand() % 3) * dim, dim * sizeof(float));
            else if (dups && r > 0 && urand() % 3 == 0) /* an exact duplicate: a tie */
                memcpy(v, v - dim, dim * sizeof(float));
            else
                for (size_t i = 0; i < dim; i++)
                    v[i] = frand();
            char buf[32];
            /* ids out of row order, so tie-breaking by id is visible */
            snprintf(buf, sizeof buf, "doc%05u", (unsigned)((n * 7919) % 100000));
            n++;
            D->ids[p][r] = strdup(buf);
            D->live[p][r] = all_live || urand() % 10 != 0;
        }
        D->parts[p] = (struct vs_flat_part){D->vecs[p], (const char *const *)D->ids[p],
                                           D->rows[p], all_live ? NULL : D->live[p]};
    }
}

static void data_free(struct data *D)
{
    for (int p = 0; p < NPART; p++) {
        for (uint64_t r = 0; r < D->rows[p]; r++)
            free(D->ids[p][r]);
        free(D->ids[p]);
        free(D->vecs[p]);
        free(D->live[p]);
    }
}

static int cmp_ref(const void *a, const void *b)
{
    const struct vs_flat_hit *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* The naive answer: score every admitted row with the scalar pair kernel
 * of the same variant, sort, cut at k. Returns the number of hits. */
static size_t naive(const struct data *D, enum vs_metric m,
                    const struct vs_distance_kernels *k, const float *qv,
                    const uint8_t *const *allow, size_t kk,
                    struct vs_flat_hit *out)
{
    size_t n = 0;
    for (size_t p = 0; p < NPART; p++)
        for (uint64_t r = 0; r < D->rows[p]; r++) {
            if (!D->live[p][r] || (allow && allow[p] && !allow[p][r]))
                continue;
            float raw = m == VS_METRIC_L2 ? k->l2sq(qv, D->vecs[p] + r * D->dim, D->dim)
                                          : k->dot(qv, D->vecs[p] + r * D->dim, D->dim);
            out[n++] = (struct vs_flat_hit){m == VS_METRIC_L2 ? -raw : raw, raw, p, r,
                                            D->ids[p][r]};
        }
    qsort(out, n, sizeof *out, cmp_ref);
    return n < kk ? n : kk;
}

static int same_hits(const struct vs_flat_hit *a, size_t na,
                     const struct vs_flat_hit *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i].id, b[i].id) != 0 || a[i].score != b[i].score ||
            a[i].part != b[i].part || a[i].row != b[i].row)
            return 0;
    return 1;
}

static void run_case(enum vs_metric m, size_t dim, int simd, int threads,
                     size_t batch, size_t block_rows)
{
    struct data D;
    data_make(&D, dim, 1);
    const size_t nq = 11;
    float *qs = malloc(nq * dim * sizeof(float));
    for (size_t i = 0; i < nq * dim; i++)
        qs[i] = frand();
    memcpy(qs + 3 * dim, D.vecs[0] + 5 * dim, dim * sizeof(float)); /* an exact hit */
    /* allow maps: none, dense (half), sparse (a few rows) */
    uint8_t *half[NPART], *few[NPART];
    for (int p = 0; p < NPART; p++) {
        half[p] = malloc(D.rows[p] + 1);
        few[p] = calloc(D.rows[p] + 1, 1);
        for (uint64_t r = 0; r < D.rows[p]; r++)
            half[p][r] = urand() % 2;
        for (uint64_t r = 0; r < D.rows[p]; r += 29)
            few[p][r] = 1;
    }
    const uint8_t *const *allows[3] = {NULL, (const uint8_t *const *)half,
                                       (const uint8_t *const *)few};
    static const size_t ks[] = {1, 3, 10, 1000};

    struct vs_flat_opts o = {batch, 1000, threads, simd, block_rows};
    struct vs_flat *f = NULL;
    CHECK_EQ_INT(vs_flat_new(dim, m, &o, &f, NULL), VS_OK);
    if (!f)
        goto out;
    const struct vs_distance_kernels *k = vs_flat_kernels(f);
    struct vs_flat_query *q = calloc(nq, sizeof *q);
    struct vs_flat_result *res = calloc(nq, sizeof *res);
    struct vs_flat_hit *ref = malloc(400 * sizeof *ref);
    for (size_t i = 0; i < nq; i++) {
        q[i].vec = qs + i * dim;
        q[i].k = ks[i % 4];
        q[i].allow = allows[i % 3];
        res[i].hits = malloc(q[i].k * sizeof *res[i].hits);
    }
    int bad = 0;
    for (size_t s = 0; s < nq; s += batch) {
        size_t n = nq - s < batch ? nq - s : batch;
        CHECK_EQ_INT(vs_flat_search(f, D.parts, NPART, q + s, n, res + s, NULL), VS_OK);
    }
    for (size_t i = 0; i < nq; i++) {
        size_t nr = naive(&D, m, k, q[i].vec, q[i].allow, q[i].k, ref);
        if (!same_hits(res[i].hits, res[i].n, ref, nr)) {
            printf("# query %zu (k %zu, allow %zu): %zu hits, naive %zu\n", i, q[i].k,
                   i % 3, res[i].n, nr);
            bad++;
        }
        CHECK(res[i].matched <= res[i].scanned);
        if (q[i].allow == NULL)
            CHECK(res[i].matched == res[i].scanned);
    }
    CHECK_EQ_INT(bad, 0);
    /* the query equal to a stored vector finds it first (it is live) */
    if (D.live[0][5] && m == VS_METRIC_L2)
        CHECK(res[3].hits[0].raw == 0.0f);
    for (size_t i = 0; i < nq; i++)
        free(res[i].hits);
    free(ref);
    free(res);
    free(q);
    vs_flat_free(f);
out:
    for (int p = 0; p < NPART; p++) {
        free(half[p]);
        free(few[p]);
    }
    free(qs);
    data_free(&D);
}

static void test_cosine_dot_l2(void)
{
    static const enum vs_metric ms[] = {VS_METRIC_COSINE, VS_METRIC_DOT, VS_METRIC_L2};
    static const size_t dims[] = {1, 3, 16, 37, 128};
    for (int mi = 0; mi < 3; mi++)
        for (int di = 0; di < 5; di++)
            run_case(ms[mi], dims[di], -1, 2, 4, 0);
}

static void test_every_variant(void)
{
    for (int l = 0; l < VS_SIMD_COUNT; l++) {
        if (!vs_distance_supported((enum vs_simd)l))
            continue;
        run_case(VS_METRIC_L2, 33, l, 1, 3, 0);
        run_case(VS_METRIC_DOT, 64, l, 2, 11, 0);
    }
}

static void test_shapes_threads_batches(void)
{
    run_case(VS_METRIC_COSINE, 20, -1, 1, 1, 4);
    run_case(VS_METRIC_COSINE, 20, -1, 2, 5, 7);
    run_case(VS_METRIC_L2, 20, -1, 3, 11, 64);
    run_case(VS_METRIC_DOT, 20, -1, 4, 2, 1000);
}

/* Without live maps (no allow map either for a third of the queries):
 * rows of 3 vectors make ties with the heap's worst hit, which the run
 * test must let through (the smaller id ranks); every metric, block sizes
 * cutting the runs of 8 */
static void test_no_live_map(void)
{
    static const enum vs_metric ms[] = {VS_METRIC_COSINE, VS_METRIC_DOT, VS_METRIC_L2};
    all_live = 1;
    for (int mi = 0; mi < 3; mi++) {
        run_case(ms[mi], 16, -1, 1, 4, 0);
        run_case(ms[mi], 37, -1, 2, 11, 13);
        run_case(ms[mi], 8, -1, 1, 3, 64);
        for (int l = 0; l < VS_SIMD_COUNT; l++)
            if (vs_distance_supported((enum vs_simd)l))
                run_case(ms[mi], 33, l, 1, 5, 0);
        three_values = 1;
        run_case(ms[mi], 16, -1, 1, 4, 0);
        run_case(ms[mi], 16, -1, 2, 11, 13);
        three_values = 0;
    }
    all_live = 0;
}

/* The batch sizes a server's scan batches take (1-9 queries: the scan
 * kernel's 4 x 4 tiles and its 1..3 x 4 ones) at a store dimension, over
 * parts longer than a scan kernel call (64 rows), on 1 and 2 threads:
 * every ranking equal to the naive one made with the pair kernel (bit for
 * bit scores, ties by id, k beyond the rows) */
static void test_small_batches(void)
{
    static const enum vs_metric ms[] = {VS_METRIC_COSINE, VS_METRIC_DOT, VS_METRIC_L2};
    for (size_t batch = 1; batch <= 9; batch++)
        for (int threads = 1; threads <= 2; threads++) {
            all_live = (batch + (size_t)threads) % 2;
            three_values = batch % 3 == 0;
            run_case(ms[batch % 3], 128, -1, threads, batch, batch < 5 ? 0 : 96);
        }
    all_live = 0;
    three_values = 0;
}

static void test_errors_and_empty(void)
{
    struct vs_flat *f = NULL;
    struct vs_flat_opts o = {4, 5, 1, -1, 0};
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_flat_new(0, VS_METRIC_L2, &o, &f, &d), VS_E_USAGE);
    CHECK(f == NULL);
    o.simd = 99;
    CHECK_EQ_INT(vs_flat_new(4, VS_METRIC_L2, &o, &f, &d), VS_E_UNSUPPORTED);
    o.simd = -1;
    CHECK_EQ_INT(vs_flat_new(4, VS_METRIC_L2, &o, &f, &d), VS_OK);
    float v[4] = {1, 2, 3, 4};
    struct vs_flat_hit hits[6];
    struct vs_flat_query q = {v, 6, NULL};
    struct vs_flat_result r = {hits, 9, 0, 0, 0};
    CHECK_EQ_INT(vs_flat_search(f, NULL, 0, &q, 1, &r, &d), VS_E_USAGE); /* k > kmax */
    q.k = 5;
    CHECK_EQ_INT(vs_flat_search(f, NULL, 0, &q, 1, &r, &d), VS_OK);
    CHECK_EQ_INT(r.n, 0);
    CHECK_EQ_INT(r.scanned, 0);
    struct vs_flat_query many[5] = {q, q, q, q, q};
    struct vs_flat_result rs[5];
    CHECK_EQ_INT(vs_flat_search(f, NULL, 0, many, 5, rs, &d), VS_E_USAGE);
    vs_flat_free(f);
    vs_flat_free(NULL);
}

int main(void)
{
    RUN(test_cosine_dot_l2);
    RUN(test_every_variant);
    RUN(test_shapes_threads_batches);
    RUN(test_no_live_map);
    RUN(test_small_batches);
    RUN(test_errors_and_empty);
    return vs_test_done();
}
