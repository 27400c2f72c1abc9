/* test_distance.c: every kernel variant the CPU supports against a double
 * precision reference on random data, blocks against pairs (bit-identical),
 * scores, normalisation. */
#include "test.h"
#include "vs_internal.h"

#include <stdint.h>

static uint64_t rng = 88172645463325252ull;
static float frand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static void fill(float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = frand();
}

static const size_t dims[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33,
                              63, 64, 65, 100, 128, 300, 384, 385, 768, 1000};

static void check_pairs(const struct vs_distance_kernels *k)
{
    float *a = malloc(1000 * sizeof(float)), *b = malloc(1000 * sizeof(float));
    for (size_t t = 0; t < sizeof dims / sizeof dims[0]; t++) {
        size_t d = dims[t];
        for (int rep = 0; rep < 20; rep++) {
            fill(a, d);
            fill(b, d);
            double dot = 0, l2 = 0, mag = 0;
            for (size_t i = 0; i < d; i++) {
                dot += (double)a[i] * b[i];
                l2 += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
                mag += fabs((double)a[i] * b[i]);
            }
            float fd = k->dot(a, b, d), fl = k->l2sq(a, b, d);
            /* float32 accumulation: error bounded by ~d * eps * sum|terms| */
            double tol = 1e-6 * (double)d * (mag + 1e-30) + 1e-7;
            CHECK_NEAR(fd, dot, tol);
            CHECK_NEAR(fl, l2, 1e-6 * (double)d * (l2 + 1e-30) + 1e-7);
            CHECK(fl >= 0);
            /* l2 of a vector with itself is exactly 0 */
            CHECK(k->l2sq(a, a, d) == 0.0f);
        }
    }
    free(a);
    free(b);
}

static void check_blocks(const struct vs_distance_kernels *k)
{
    const size_t maxq = 9, maxx = 13;
    float *q = malloc(maxq * 1000 * sizeof(float));
    float *x = malloc(maxx * 1000 * sizeof(float));
    float *out = malloc(maxq * 20 * sizeof(float));
    for (size_t t = 0; t < sizeof dims / sizeof dims[0]; t++) {
        size_t d = dims[t];
        fill(q, maxq * d);
        fill(x, maxx * d);
        for (size_t nq = 1; nq <= maxq; nq += 2)
            for (size_t nx = 1; nx <= maxx; nx += 3) {
                size_t ldo = nx + 3;
                int bad_dot = 0, bad_l2 = 0;
                k->dot_block(q, nq, x, nx, d, out, ldo);
                for (size_t i = 0; i < nq; i++)
                    for (size_t j = 0; j < nx; j++)
                        bad_dot += out[i * ldo + j] != k->dot(q + i * d, x + j * d, d);
                k->l2sq_block(q, nq, x, nx, d, out, ldo);
                for (size_t i = 0; i < nq; i++)
                    for (size_t j = 0; j < nx; j++)
                        bad_l2 += out[i * ldo + j] != k->l2sq(q + i * d, x + j * d, d);
                CHECK_EQ_INT(bad_dot, 0);
                CHECK_EQ_INT(bad_l2, 0);
            }
    }
    free(q);
    free(x);
    free(out);
}

/* the scan kernels against the one-pair kernels, bit for bit: 1-9 queries
 * (4 x 4 tiles and the 1..3 x 4 ones), rows not a multiple of 4, rows
 * `ahead` of the block that it may prefetch but must not score, nothing
 * written outside the nq x nx results */
static void check_scan(const struct vs_distance_kernels *k)
{
    const size_t maxq = 9, maxx = 70, ahead = 9;
    float *q = malloc(maxq * 1000 * sizeof(float));
    float *x = malloc((maxx + ahead) * 1000 * sizeof(float));
    float *out = malloc(maxq * (maxx + 2) * sizeof(float));
    static const size_t nxs[] = {1, 3, 4, 5, 8, 13, 64, 70};
    for (size_t t = 0; t < sizeof dims / sizeof dims[0]; t++) {
        size_t d = dims[t];
        fill(q, maxq * d);
        fill(x, (maxx + ahead) * d);
        memcpy(x + d, x, d * sizeof(float)); /* two equal rows: equal scores */
        for (size_t nq = 1; nq <= maxq; nq++)
            for (size_t xi = 0; xi < sizeof nxs / sizeof nxs[0]; xi++) {
                size_t nx = nxs[xi], ldo = nx + 2;
                int bad_dot = 0, bad_l2 = 0, bad_pad = 0;
                for (int l2 = 0; l2 < 2; l2++) {
                    for (size_t i = 0; i < nq * ldo; i++)
                        out[i] = 42.0f;
                    (l2 ? k->l2sq_scan : k->dot_scan)(q, nq, x, nx, d, out, ldo, ahead);
                    for (size_t i = 0; i < nq; i++) {
                        for (size_t j = 0; j < nx; j++) {
                            const float *a = q + i * d, *b = x + j * d;
                            float want = l2 ? k->l2sq(a, b, d) : k->dot(a, b, d);
                            if (l2)
                                bad_l2 += out[i * ldo + j] != want;
                            else
                                bad_dot += out[i * ldo + j] != want;
                        }
                        bad_pad += out[i * ldo + nx] != 42.0f || out[i * ldo + nx + 1] != 42.0f;
                    }
                }
                CHECK_EQ_INT(bad_dot, 0);
                CHECK_EQ_INT(bad_l2, 0);
                CHECK_EQ_INT(bad_pad, 0);
                if (nx >= 2) /* the equal rows */
                    CHECK(out[0] == out[1]);
            }
    }
    free(q);
    free(x);
    free(out);
}

/* gathered rows (any order, repeats allowed) against the one-pair kernels,
 * bit for bit */
static void check_gather(const struct vs_distance_kernels *k)
{
    const size_t rows = 23;
    float *q = malloc(1000 * sizeof(float)), *x = malloc(rows * 1000 * sizeof(float));
    float out[16];
    uint32_t ids[16];
    for (size_t t = 0; t < sizeof dims / sizeof dims[0]; t++) {
        size_t d = dims[t];
        fill(q, d);
        fill(x, rows * d);
        /* up to 15 rows: the 8-row tiles (AVX2), a 4-row tile and the
         * tails of 1 to 3 rows, alone and after them */
        for (size_t n = 0; n <= 15; n++) {
            for (size_t j = 0; j < n; j++) {
                frand();
                ids[j] = (uint32_t)((rng >> 20) % rows);
            }
            int bad_dot = 0, bad_l2 = 0;
            out[n] = 42.0f;
            k->dot_ids(q, x, ids, n, d, out);
            for (size_t j = 0; j < n; j++)
                bad_dot += out[j] != k->dot(q, x + (size_t)ids[j] * d, d);
            CHECK(out[n] == 42.0f); /* nothing written past n */
            k->l2sq_ids(q, x, ids, n, d, out);
            for (size_t j = 0; j < n; j++)
                bad_l2 += out[j] != k->l2sq(q, x + (size_t)ids[j] * d, d);
            CHECK_EQ_INT(bad_dot, 0);
            CHECK_EQ_INT(bad_l2, 0);
        }
    }
    free(q);
    free(x);
}

#define VARIANT_TEST(NAME, LEVEL)                                              \
    static void NAME(void)                                                     \
    {                                                                          \
        const struct vs_distance_kernels *k = vs_distance_kernels(LEVEL);      \
        if (!k)                                                                \
            SKIP("the CPU does not support this variant");                    \
        CHECK_EQ_INT(k->level, LEVEL);                                         \
        check_pairs(k);                                                        \
        check_blocks(k);                                                       \
        check_scan(k);                                                         \
        check_gather(k);                                                       \
    }
VARIANT_TEST(test_scalar, VS_SIMD_SCALAR)
VARIANT_TEST(test_sse, VS_SIMD_SSE)
VARIANT_TEST(test_avx2, VS_SIMD_AVX2)
VARIANT_TEST(test_avx512, VS_SIMD_AVX512)

static void test_variants_agree(void)
{
    const struct vs_distance_kernels *ref = vs_distance_kernels(VS_SIMD_SCALAR);
    float a[385], b[385];
    for (int l = 1; l < VS_SIMD_COUNT; l++) {
        const struct vs_distance_kernels *k = vs_distance_kernels((enum vs_simd)l);
        if (!k)
            continue;
        for (int rep = 0; rep < 50; rep++) {
            fill(a, 385);
            fill(b, 385);
            CHECK_NEAR(k->dot(a, b, 385), ref->dot(a, b, 385), 1e-4);
            CHECK_NEAR(k->l2sq(a, b, 385), ref->l2sq(a, b, 385), 1e-3);
        }
    }
}

static void test_best_and_names(void)
{
    const struct vs_distance_kernels *k = vs_distance_best();
    CHECK(k != NULL);
    CHECK(vs_distance_supported(k->level));
    for (int l = k->level + 1; l < VS_SIMD_COUNT; l++)
        CHECK(!vs_distance_supported((enum vs_simd)l));
    enum vs_simd s;
    CHECK_EQ_INT(vs_simd_parse("avx2", &s), VS_OK);
    CHECK_EQ_INT(s, VS_SIMD_AVX2);
    CHECK_EQ_INT(vs_simd_parse("neon", &s), VS_E_USAGE);
    CHECK_EQ_STR(vs_simd_name(VS_SIMD_AVX512), "avx512");
    CHECK(vs_distance_kernels(VS_SIMD_SCALAR) != NULL);
    CHECK(vs_distance_kernels((enum vs_simd)99) == NULL);
#if defined(__x86_64__)
    printf("# best variant here: %s\n", k->name);
#endif
}

static void test_scores(void)
{
    float dist;
    int has;
    CHECK_NEAR(vs_distance_score(VS_METRIC_COSINE, 0.25f, &dist, &has), 0.25, 0);
    CHECK_NEAR(dist, 0.75, 1e-7);
    CHECK_EQ_INT(has, 1);
    CHECK_NEAR(vs_distance_score(VS_METRIC_COSINE, 1.0000002f, &dist, &has), 1.0, 0);
    CHECK_NEAR(dist, 0.0, 0);
    CHECK_NEAR(vs_distance_score(VS_METRIC_COSINE, -1.5f, NULL, NULL), -1.0, 0);
    CHECK_NEAR(vs_distance_score(VS_METRIC_DOT, 7.5f, &dist, &has), 7.5, 0);
    CHECK_EQ_INT(has, 0);
    CHECK_NEAR(vs_distance_score(VS_METRIC_L2, 2.0f, &dist, &has), -2.0, 0);
    CHECK_NEAR(dist, 2.0, 0);
    CHECK_EQ_INT(has, 1);
    float s0 = vs_distance_score(VS_METRIC_L2, 0.0f, NULL, NULL);
    CHECK(s0 == 0.0f && !signbit(s0)); /* never prints as -0 */
}

static void test_normalize(void)
{
    float v[3] = {3, 0, 4};
    CHECK_EQ_INT(vs_distance_normalize(v, 3), VS_OK);
    CHECK_NEAR(v[0], 0.6, 1e-7);
    CHECK_NEAR(v[2], 0.8, 1e-7);
    float z[2] = {0, 0};
    CHECK_EQ_INT(vs_distance_normalize(z, 2), VS_E_DATA);
}

int main(void)
{
    RUN(test_scalar);
    RUN(test_sse);
    RUN(test_avx2);
    RUN(test_avx512);
    RUN(test_variants_agree);
    RUN(test_best_and_names);
    RUN(test_scores);
    RUN(test_normalize);
    return vs_test_done();
}
