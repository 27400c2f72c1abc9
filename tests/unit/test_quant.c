/* test_quant.c: f16/sq8/binary codes against a scalar reference written
 * here (decode, then distance in double), the AVX2 and AVX-512 kernels against the
 * scalar ones, the int8 (VNNI) sq8 kernels against their exact integer
 * arithmetic and within their rounding bound of the float distance, the
 * serialised form and its damage, and graph search with codes +
 * re-scoring against float32 graph search. */
#include "test.h"

#include <stdint.h>

#include "quant_internal.h"
#include "vs_hnsw.h"
#include "vs_quant.h"
#include "test_data.h"

static float *make_data(size_t n, size_t dim, uint64_t seed)
{
    return make_mixture(n, dim, seed, 3);
}

static void test_names(void)
{
    enum vs_quant_kind k;
    CHECK_EQ_INT(vs_quant_parse("sq8", &k), VS_OK);
    CHECK_EQ_INT(k, VS_QUANT_SQ8);
    CHECK_EQ_INT(vs_quant_parse("binary", &k), VS_OK);
    CHECK_EQ_INT(k, VS_QUANT_BINARY);
    CHECK_EQ_INT(vs_quant_parse("pq", &k), VS_E_USAGE);
    CHECK_EQ_STR(vs_quant_name(VS_QUANT_F16), "f16");
}

static void test_half(void)
{
    /* exactly representable values round-trip; known encodings */
    CHECK_EQ_INT(vs_quant_f32_to_f16(1.0f), 0x3c00);
    CHECK_EQ_INT(vs_quant_f32_to_f16(-2.0f), 0xc000);
    CHECK_EQ_INT(vs_quant_f32_to_f16(65504.0f), 0x7bff);
    CHECK_EQ_INT(vs_quant_f32_to_f16(1e6f), 0x7c00);       /* overflow: inf */
    CHECK_EQ_INT(vs_quant_f32_to_f16(5.9604645e-8f), 0x0001); /* smallest subnormal */
    CHECK_EQ_INT(vs_quant_f32_to_f16(1.00048828125f), 0x3c00); /* tie: to even */
    CHECK_EQ_INT(vs_quant_f32_to_f16(1.00146484375f), 0x3c02); /* tie: to even */
    /* every finite half decodes and encodes back to itself */
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00)
            continue;
        if (vs_quant_f32_to_f16(vs_quant_f16_to_f32((uint16_t)h)) != h)
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    /* random floats: relative error within half an ulp of half (2^-11) */
    rng_state = 3;
    for (int i = 0; i < 10000; i++) {
        float f = (float)((urand() * 2 - 1) * 1000);
        float g = vs_quant_f16_to_f32(vs_quant_f32_to_f16(f));
        CHECK(fabsf(g - f) <= fabsf(f) * (1.0f / 2048) + 1e-7f);
    }
}

static float ref_mean[128];

/* ref_mean: the per-dimension mean of n rows (binary codes' centre) */
static void set_mean(const float *x, size_t n, size_t d)
{
    for (size_t i = 0; i < d; i++) {
        double s = 0;
        for (size_t r = 0; r < n; r++)
            s += x[r * d + i];
        ref_mean[i] = (float)(s / (double)n);
    }
}

/* reference: decode the row, then the distance in double; binary: bits
 * that differ about ref_mean */
static double ref_dist(const struct vs_quant *q, enum vs_metric m, const float *v,
                       uint64_t r, float *tmp)
{
    size_t d = vs_quant_dim(q);
    vs_quant_decode(q, r, tmp);
    double s = 0;
    if (vs_quant_kind(q) == VS_QUANT_BINARY) {
        for (size_t i = 0; i < d; i++)
            s += (v[i] > ref_mean[i]) != (tmp[i] > ref_mean[i]);
        return s;
    }
    for (size_t i = 0; i < d; i++)
        s += m == VS_METRIC_L2 ? ((double)v[i] - tmp[i]) * ((double)v[i] - tmp[i])
                               : (double)v[i] * tmp[i];
    return m == VS_METRIC_L2 ? s : -s;
}

/* The int8 kernels' largest move from the float distance for row r: |A| /
 * 2 per unit of code (quant.c) */
static double i8_bound(const struct vs_quant *q, const float *p, uint64_t r)
{
    const uint8_t *c = vs_quant_code(q, r);
    double sc = 0;
    for (size_t i = 0; i < q->dim; i++)
        sc += c[i];
    return fabs((double)p[q->dim + 2]) / 2 * sc * 1.0001;
}

static void test_kernels_against_reference(void)
{
    const size_t dims[] = {1, 7, 8, 31, 64, 100, 128};
    const enum vs_quant_kind kinds[] = {VS_QUANT_F16, VS_QUANT_SQ8, VS_QUANT_BINARY};
    const enum vs_metric metrics[] = {VS_METRIC_L2, VS_METRIC_DOT};
    for (size_t di = 0; di < sizeof dims / sizeof *dims; di++) {
        size_t d = dims[di], n = 200;
        float *x = make_data(n + 20, d, 7 + d), *tmp = malloc(d * sizeof *tmp);
        set_mean(x, n, d);
        for (size_t ki = 0; ki < 3; ki++)
            for (size_t mi = 0; mi < 2; mi++) {
                for (int simd = 2; simd >= -1; simd -= 3) { /* AVX2, then the best */
                    struct vs_quant *qs = NULL, *qf = NULL;
                    CHECK_EQ_INT(vs_quant_build(kinds[ki], metrics[mi], x, n, d, 0, &qs, NULL),
                                 VS_OK);
                    CHECK_EQ_INT(vs_quant_build(kinds[ki], metrics[mi], x, n, d, simd, &qf, NULL),
                                 VS_OK);
                    if (!qs || !qf)
                        continue;
                    float *ps = malloc(vs_quant_prep_floats(qs) * sizeof(float));
                    float *pf = malloc(vs_quant_prep_floats(qf) * sizeof(float));
                    double worst = 0;
                    for (size_t t = 0; t < 20; t++) {
                        const float *v = x + (n + t) * d;
                        vs_quant_prep(qs, v, ps);
                        vs_quant_prep(qf, v, pf);
                        for (uint64_t r = 0; r < n; r++) {
                            double want = ref_dist(qs, metrics[mi], v, r, tmp);
                            double a = vs_quant_dist(qs, ps, r), b = vs_quant_dist(qf, pf, r);
                            double tol = 1e-4 * (fabs(want) + (double)d);
                            if (qf->i8) /* int8 weights: within the rounding bound */
                                tol += i8_bound(qf, pf, r);
                            if (fabs(a - want) > tol || fabs(b - want) > tol)
                                worst = fabs(a - want) > fabs(b - want) ? fabs(a - want)
                                                                        : fabs(b - want);
                        }
                    }
                    CHECK(worst == 0);
                    if (worst != 0)
                        printf("# %s %s d=%zu: off by %g\n", vs_quant_name(kinds[ki]),
                               metrics[mi] == VS_METRIC_L2 ? "l2" : "dot", d, worst);
                    free(ps);
                    free(pf);
                    vs_quant_free(qs);
                    vs_quant_free(qf);
                }
            }
        free(x);
        free(tmp);
    }
}

/* vs_quant_dist_ids (four codes at a time) against vs_quant_dist, bit for
 * bit, for every kind and metric, scalar and SIMD, dims with and without a
 * tail, any number of rows (groups of four and the rest) */
static void test_dist_ids(void)
{
    static const size_t dims[] = {1, 7, 8, 13, 16, 64, 100, 128};
    static const enum vs_quant_kind kinds[] = {VS_QUANT_F16, VS_QUANT_SQ8, VS_QUANT_BINARY};
    static const enum vs_metric metrics[] = {VS_METRIC_L2, VS_METRIC_DOT};
    uint32_t ids[11];
    float out[12];
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
        size_t d = dims[di], n = 50;
        float *x = make_data(n + 1, d, 11 + d);
        for (size_t ki = 0; ki < 3; ki++)
            for (size_t mi = 0; mi < 2; mi++)
                for (int simd = 2; simd >= -1; simd--) { /* AVX2, SSE (= AVX2), scalar, best */
                    struct vs_quant *q = NULL;
                    CHECK_EQ_INT(vs_quant_build(kinds[ki], metrics[mi], x, n, d, simd, &q, NULL),
                                 VS_OK);
                    if (!q)
                        continue;
                    float *p = malloc(vs_quant_prep_floats(q) * sizeof(float));
                    vs_quant_prep(q, x + n * d, p);
                    int bad = 0;
                    for (size_t m = 0; m <= 11; m++) {
                        for (size_t j = 0; j < m; j++)
                            ids[j] = (uint32_t)(urand() * (double)n) % (uint32_t)n;
                        out[m] = 42.0f;
                        vs_quant_dist_ids(q, p, ids, m, out);
                        for (size_t j = 0; j < m; j++)
                            bad += out[j] != vs_quant_dist(q, p, ids[j]);
                        bad += out[m] != 42.0f; /* nothing written past m */
                    }
                    CHECK_EQ_INT(bad, 0);
                    free(p);
                    vs_quant_free(q);
                }
        free(x);
    }
}

/* The int8 sq8 kernels (AVX-512 VNNI at the best level, AVX-VNNI at the
 * AVX2 level, when the CPU has them): each distance equals C + norm + A x
 * (the integer dot product of the codes with the prepared int8 weights),
 * computed here exactly, for dims with every kind of tail (64- and 32-byte
 * steps), both metrics; the lazily made norms of borrowed codes equal the
 * built ones; and the float kernels are kept at the scalar level. */
static void test_i8_kernels(void)
{
    static const size_t dims[] = {1, 7, 31, 32, 33, 63, 64, 65, 100, 128, 129, 200, 384};
    static const enum vs_metric metrics[] = {VS_METRIC_L2, VS_METRIC_DOT};
    int ran = 0;
    for (size_t di = 0; di < sizeof dims / sizeof *dims; di++) {
        size_t d = dims[di], n = 150; /* 3 blocks of 64 rows, the last short */
        float *x = make_data(n + 5, d, 31 + d);
        for (size_t mi = 0; mi < 2; mi++)
            for (int simd = 2; simd >= -1; simd -= 3) {
                struct vs_quant *q = NULL, *s0 = NULL;
                CHECK_EQ_INT(vs_quant_build(VS_QUANT_SQ8, metrics[mi], x, n, d, simd, &q, NULL),
                             VS_OK);
                CHECK_EQ_INT(vs_quant_build(VS_QUANT_SQ8, metrics[mi], x, n, d, 0, &s0, NULL),
                             VS_OK);
                if (!q || !s0)
                    continue;
                CHECK(!s0->i8);
                if (!q->i8) {
                    vs_quant_free(q);
                    vs_quant_free(s0);
                    continue;
                }
                ran++;
                CHECK((q->norm != NULL) == (metrics[mi] == VS_METRIC_L2));
                float *p = malloc(vs_quant_prep_floats(q) * sizeof *p);
                float *p0 = malloc(vs_quant_prep_floats(s0) * sizeof *p0);
                int bad = 0, far = 0;
                for (size_t t = 0; t < 5; t++) {
                    const float *v = x + (n + t) * d;
                    vs_quant_prep(q, v, p);
                    vs_quant_prep(s0, v, p0);
                    const int8_t *w = (const int8_t *)(const void *)(p + d + 3);
                    for (size_t i = d; i < (d + 63) / 64 * 64; i++)
                        bad += w[i] != 0; /* the padding is zero */
                    for (uint64_t r = 0; r < n; r++) {
                        const uint8_t *c = vs_quant_code(q, r);
                        int64_t dot = 0;
                        float nr = 0;
                        for (size_t i = 0; i < d; i++) {
                            dot += (int64_t)w[i] * c[i];
                            float u = q->scale[i] * (float)c[i];
                            nr += u * u;
                        }
                        if (metrics[mi] != VS_METRIC_L2)
                            nr = 0;
                        double want = (double)p[d + 1] + nr + (double)p[d + 2] * (double)dot;
                        /* float rounding (the sums may be fused) only */
                        double eps = 1e-6 * (fabs((double)p[d + 1]) + nr +
                                             fabs((double)p[d + 2] * (double)dot));
                        bad += fabs(vs_quant_dist(q, p, r) - want) > eps;
                        double ex = vs_quant_dist(s0, p0, r);
                        far += fabs(vs_quant_dist(q, p, r) - ex) >
                               i8_bound(q, p, r) + 1e-4 * (fabs(ex) + (double)d);
                    }
                }
                CHECK_EQ_INT(bad, 0);
                CHECK_EQ_INT(far, 0);
                /* borrowed codes: norms made block by block as checked */
                void *buf;
                size_t len;
                struct vs_quant *o = NULL;
                CHECK_EQ_INT(vs_quant_save(q, &buf, &len, NULL), VS_OK);
                CHECK_EQ_INT(vs_quant_open_borrowed(buf, len, simd, &o, NULL), VS_OK);
                if (o) {
                    CHECK(o->i8);
                    float *po = malloc(vs_quant_prep_floats(o) * sizeof *po);
                    vs_quant_prep(o, x + n * d, po);
                    vs_quant_prep(q, x + n * d, p);
                    int diff = 0;
                    for (uint64_t b = 0; b < o->nblocks; b++) {
                        CHECK_EQ_INT(vs_quant_check_block(o, b), 0);
                        for (uint64_t r = b << o->shift; r < n && r < (b + 1) << o->shift; r++)
                            diff += vs_quant_dist(o, po, r) != vs_quant_dist(q, p, r);
                    }
                    CHECK_EQ_INT(diff, 0);
                    free(po);
                    vs_quant_free(o);
                }
                free(buf);
                free(p);
                free(p0);
                vs_quant_free(q);
                vs_quant_free(s0);
            }
        free(x);
    }
    if (!ran)
        SKIP("the CPU has neither AVX-512 VNNI nor AVX-VNNI");
}

/* The int8 kernels on edge codes: rows of codes 0 and 255 only (every
 * coordinate at its column's minimum or maximum), queries whose int8
 * weights are all +-127, dims with and without a tail, up to
 * VS_QUANT_I8_MAXDIM (the largest integer sum, 127 x 255 x 65536, just
 * below 2^31): each distance equals C + norm + A x the exact sum, and
 * the ids kernel (four at a time) the one-code kernel's, bit for bit. */
static void test_i8_edge_codes(void)
{
    static const size_t dims[] = {1, 15, 16, 17, 48, 1000, VS_QUANT_I8_MAXDIM};
    static const enum vs_metric metrics[] = {VS_METRIC_L2, VS_METRIC_DOT};
    enum { N = 6 };
    int ran = 0;
    for (size_t di = 0; di < sizeof dims / sizeof *dims; di++) {
        size_t d = dims[di];
        float *x = malloc((N + 2) * d * sizeof *x);
        for (size_t r = 0; r < N + 2; r++)
            for (size_t i = 0; i < d; i++) /* rows 0, 1: all -1, all +1 */
                x[r * d + i] = r == 0 ? -1.0f : r == 1 ? 1.0f
                             : ((i * 7 + r) % 3 == 0) ? -1.0f : 1.0f;
        for (size_t mi = 0; mi < 2; mi++) {
            struct vs_quant *q = NULL;
            CHECK_EQ_INT(vs_quant_build(VS_QUANT_SQ8, metrics[mi], x, N, d, -1, &q, NULL),
                         VS_OK);
            if (!q || !q->i8) {
                vs_quant_free(q);
                continue;
            }
            ran++;
            float *v = malloc(d * sizeof *v), *p = malloc(vs_quant_prep_floats(q) * sizeof *p);
            int bad = 0, edge = 0, ids_bad = 0;
            for (int t = 0; t < 3; t++) { /* all +, all -, mixed */
                for (size_t i = 0; i < d; i++)
                    v[i] = t == 0 ? 1000.0f : t == 1 ? -1000.0f : (i % 2 ? 1000.0f : -1000.0f);
                vs_quant_prep(q, v, p);
                const int8_t *w = (const int8_t *)(const void *)(p + d + 3);
                for (size_t i = 0; i < d; i++)
                    edge += w[i] != 127 && w[i] != -127;
                uint32_t ids[N];
                float out[N];
                for (uint32_t r = 0; r < N; r++)
                    ids[r] = r;
                vs_quant_dist_ids(q, p, ids, N, out);
                for (uint64_t r = 0; r < N; r++) {
                    const uint8_t *c = vs_quant_code(q, r);
                    int64_t dot = 0;
                    double nr = 0;
                    for (size_t i = 0; i < d; i++) {
                        edge += c[i] != 0 && c[i] != 255;
                        dot += (int64_t)w[i] * c[i];
                        double u = (double)(q->scale[i] * (float)c[i]);
                        nr += u * u;
                    }
                    if (metrics[mi] != VS_METRIC_L2)
                        nr = 0;
                    double want = (double)p[d + 1] + nr + (double)p[d + 2] * (double)dot;
                    double eps = 1e-5 * (fabs((double)p[d + 1]) + nr +
                                         fabs((double)p[d + 2] * (double)dot));
                    float got = vs_quant_dist(q, p, r);
                    bad += fabs((double)got - want) > eps;
                    ids_bad += out[r] != got;
                }
            }
            CHECK_EQ_INT(edge, 0);
            CHECK_EQ_INT(bad, 0);
            CHECK_EQ_INT(ids_bad, 0);
            free(v);
            free(p);
            vs_quant_free(q);
        }
        free(x);
    }
    if (!ran)
        SKIP("no int8 sq8 kernel on this CPU");
}

/* The sq8 l2 row norms the int8 kernels use (AVX2 where they run: a sum in
 * another order than the scalar one) against the double sum within 1e-6
 * relative and the scalar float sum within 1e-6 relative (or that sum's own
 * drift, d rounding steps, when larger), on random rows and on edge rows (codes
 * all 0, all 255, alternating), dims with every tail (8- and 16-wide
 * steps); norms made block by block (vs_quant_norms on a part) equal the
 * ones made at once, bit for bit. */
static void test_sq8_norms(void)
{
    static const size_t dims[] = {1, 7, 8, 9, 15, 16, 17, 24, 31, 33, 100, 128, 129, 384, 1000};
    enum { NR = 70, NE = 3 }; /* random rows, edge rows: 73 = two blocks */
    int ran = 0;
    for (size_t di = 0; di < sizeof dims / sizeof *dims; di++) {
        size_t d = dims[di], n = NR + NE;
        float *x = make_data(n, d, 77 + d);
        for (size_t i = 0; i < d; i++) { /* each column's minimum and maximum */
            float lo = x[i], hi = x[i];
            for (size_t r = 1; r < NR; r++) {
                lo = x[r * d + i] < lo ? x[r * d + i] : lo;
                hi = x[r * d + i] > hi ? x[r * d + i] : hi;
            }
            x[NR * d + i] = lo;
            x[(NR + 1) * d + i] = hi;
            x[(NR + 2) * d + i] = i % 2 ? hi : lo;
        }
        struct vs_quant *q = NULL;
        CHECK_EQ_INT(vs_quant_build(VS_QUANT_SQ8, VS_METRIC_L2, x, n, d, -1, &q, NULL), VS_OK);
        if (!q || !q->norm) {
            vs_quant_free(q);
            free(x);
            continue;
        }
        ran++;
        int bad = 0, edge = 0, zero = 0;
        for (uint64_t r = 0; r < n; r++) {
            const uint8_t *c = vs_quant_code(q, r);
            float fs = 0;
            double ds = 0;
            for (size_t i = 0; i < d; i++) {
                float t = q->scale[i] * (float)c[i];
                fs += t * t;
                ds += (double)t * (double)t;
                if (r >= NR)
                    edge += c[i] != (r == NR ? 0 : r == NR + 1 ? 255 : i % 2 ? 255 : 0);
            }
            double got = q->norm[r];
            bad += fabs(got - ds) > 1e-6 * ds;
            /* the scalar sum in order drifts by up to d rounding steps:
             * past 1e-6 at d 1000 (where the AVX2 one is nearer ds) */
            bad += fabs(got - (double)fs) > fmax(1e-6, (double)d * 0x1p-24) * (double)fs;
            zero += r == NR && got != 0;
        }
        CHECK_EQ_INT(edge, 0);
        CHECK_EQ_INT(bad, 0);
        CHECK_EQ_INT(zero, 0);
        /* again from a cleared start, a block and a short part at a time */
        float *keep = malloc(n * sizeof *keep);
        memcpy(keep, q->norm, n * sizeof *keep);
        memset(q->norm, 0, n * sizeof *q->norm);
        vs_quant_norms(q, 0, 64);
        vs_quant_norms(q, 64, 5);
        vs_quant_norms(q, 69, 1000); /* past the end: cut at n */
        CHECK(memcmp(keep, q->norm, n * sizeof *keep) == 0);
        free(keep);
        vs_quant_free(q);
        free(x);
    }
    if (!ran)
        SKIP("no int8 sq8 kernel on this CPU (no norms made)");
}

/* The re-scored part of a beam: f16 and sq8 3k, binary all, never above n */
static void test_rescore_count(void)
{
    float x[4 * 8] = {0};
    static const enum vs_quant_kind kinds[] = {VS_QUANT_F16, VS_QUANT_SQ8, VS_QUANT_BINARY};
    for (size_t ki = 0; ki < 3; ki++) {
        struct vs_quant *q = NULL;
        CHECK_EQ_INT(vs_quant_build(kinds[ki], VS_METRIC_L2, x, 4, 8, -1, &q, NULL), VS_OK);
        if (!q)
            continue;
        int bin = kinds[ki] == VS_QUANT_BINARY;
        CHECK_EQ_INT(vs_quant_rescore_count(q, 10, 128), bin ? 128 : 30);
        CHECK_EQ_INT(vs_quant_rescore_count(q, 10, 25), 25);
        CHECK_EQ_INT(vs_quant_rescore_count(q, 1, 64), bin ? 64 : 3);
        CHECK_EQ_INT(vs_quant_rescore_count(q, 5, 0), 0);
        vs_quant_free(q);
    }
}

static void test_sq8_error_bound(void)
{
    size_t d = 48, n = 1000;
    float *x = make_data(n, d, 11), *tmp = malloc(d * sizeof *tmp);
    struct vs_quant *q = NULL;
    CHECK_EQ_INT(vs_quant_build(VS_QUANT_SQ8, VS_METRIC_L2, x, n, d, -1, &q, NULL), VS_OK);
    CHECK_EQ_INT(vs_quant_code_bytes(q), d); /* 0.25x float32 */
    /* each decoded value within half a step (range / 255 / 2) of the row's */
    float lo[48], hi[48];
    for (size_t i = 0; i < d; i++) {
        lo[i] = hi[i] = x[i];
        for (size_t r = 1; r < n; r++) {
            lo[i] = fminf(lo[i], x[r * d + i]);
            hi[i] = fmaxf(hi[i], x[r * d + i]);
        }
    }
    int bad = 0;
    for (size_t r = 0; r < n; r++) {
        vs_quant_decode(q, r, tmp);
        for (size_t i = 0; i < d; i++)
            bad += fabsf(tmp[i] - x[r * d + i]) > (hi[i] - lo[i]) / 255 * 0.5001f + 1e-6f;
    }
    CHECK_EQ_INT(bad, 0);
    vs_quant_free(q);
    free(x);
    free(tmp);
}

static void test_save_open_damage(void)
{
    size_t d = 20, n = 50;
    float *x = make_data(n, d, 5);
    struct vs_quant *q = NULL, *o = NULL;
    CHECK_EQ_INT(vs_quant_build(VS_QUANT_SQ8, VS_METRIC_COSINE, x, n, d, -1, &q, NULL), VS_OK);
    void *buf;
    size_t len;
    CHECK_EQ_INT(vs_quant_save(q, &buf, &len, NULL), VS_OK);
    /* format 2: 64-byte header, parameters, one xxh64 per 64 rows, padded
     * to 64 bytes, codes */
    CHECK_EQ_INT(len, (64 + 2 * d * 4 + 8 * ((n + 63) / 64) + 63) / 64 * 64 + n * d);
    void *copy = malloc(len);
    memcpy(copy, buf, len);
    CHECK_EQ_INT(vs_quant_open(copy, len, -1, &o, NULL), VS_OK); /* o owns copy */
    if (o) {
        CHECK_EQ_INT(vs_quant_rows(o), n);
        CHECK(memcmp(vs_quant_code(o, 7), vs_quant_code(q, 7), d) == 0);
        float *p1 = malloc(vs_quant_prep_floats(q) * sizeof *p1);
        float *p2 = malloc(vs_quant_prep_floats(o) * sizeof *p2);
        vs_quant_prep(q, x, p1);
        vs_quant_prep(o, x, p2);
        CHECK(vs_quant_dist(q, p1, 9) == vs_quant_dist(o, p2, 9));
        free(p1);
        free(p2);
    }
    vs_quant_free(o);
    struct vs_diag dg;
    /* short, bad magic, bad kind, wrong size */
    CHECK_EQ_INT(vs_quant_open(buf, 10, -1, &o, &dg), VS_E_CORRUPT);
    ((unsigned char *)buf)[0] ^= 1;
    CHECK_EQ_INT(vs_quant_open(buf, len, -1, &o, &dg), VS_E_CORRUPT);
    ((unsigned char *)buf)[0] ^= 1;
    ((unsigned char *)buf)[8] = 9;
    CHECK_EQ_INT(vs_quant_open(buf, len, -1, &o, &dg), VS_E_CORRUPT);
    ((unsigned char *)buf)[8] = VS_QUANT_SQ8;
    CHECK_EQ_INT(vs_quant_open(buf, len - 1, -1, &o, &dg), VS_E_CORRUPT);
    CHECK(o == NULL);
    free(buf);
    vs_quant_free(q);
    free(x);
}

/* Built codes start on a cache line, as a segment's do: a 128-byte code
 * at calloc's 16-byte alignment spans three lines, of which the walks
 * prefetch two. 3000 x 64 bytes (past malloc's mmap threshold, where
 * calloc gave 16 past a page) and small builds of every kind. */
static void test_build_aligned(void)
{
    static const size_t dims[] = {8, 64, 128, 384};
    static const size_t rows[] = {1, 3, 50, 3000};
    for (int k = VS_QUANT_F16; k <= VS_QUANT_BINARY; k++)
        for (size_t di = 0; di < sizeof dims / sizeof *dims; di++)
            for (size_t ri = 0; ri < sizeof rows / sizeof *rows; ri++) {
                size_t d = dims[di], n = rows[ri];
                float *x = make_data(n, d, 11);
                struct vs_quant *q = NULL;
                CHECK_EQ_INT(vs_quant_build((enum vs_quant_kind)k, VS_METRIC_L2, x, n, d, -1, &q,
                                            NULL),
                             VS_OK);
                if (q) {
                    CHECK_EQ_INT((uintptr_t)vs_quant_code(q, 0) % 64, 0);
                    /* the codes are the ones encoded, row by row */
                    uint8_t *c = malloc(vs_quant_code_bytes(q));
                    vs_quant_encode(q, x + (n - 1) * d, c);
                    CHECK(memcmp(c, vs_quant_code(q, n - 1), vs_quant_code_bytes(q)) == 0);
                    free(c);
                }
                vs_quant_free(q);
                free(x);
            }
}

enum { N = 6000, DIM = 32, NQ = 200, K = 10 };

/* recall@K of graph search (codes q or float32) against exact float32 */
static double recall(struct vs_hnsw *h, const float *x, const float *qs,
                     const struct vs_quant *q, size_t ef, uint64_t *rescored)
{
    struct vs_hnsw_scratch *s;
    CHECK_EQ_INT(vs_hnsw_scratch_new(h, &s, NULL), VS_OK);
    struct vs_hnsw_hit hits[K];
    size_t found = 0;
    for (size_t i = 0; i < NQ; i++) {
        const float *v = qs + i * DIM;
        struct vs_hnsw_query hq = {.vec = v, .k = K, .ef = ef, .quant = q};
        size_t nh = 0;
        struct vs_hnsw_stats st;
        CHECK_EQ_INT(vs_hnsw_search(h, s, x, &hq, hits, &nh, &st, NULL), VS_OK);
        CHECK_EQ_INT(nh, K);
        if (rescored)
            *rescored += st.rescored;
        /* exact: the K-th smallest distance */
        float *dd = malloc(N * sizeof *dd);
        for (size_t r = 0; r < N; r++) {
            float a = 0;
            for (size_t j = 0; j < DIM; j++)
                a += (v[j] - x[r * DIM + j]) * (v[j] - x[r * DIM + j]);
            dd[r] = a;
        }
        for (size_t a = 0; a < nh; a++) {
            size_t below = 0;
            for (size_t r = 0; r < N; r++)
                below += dd[r] < dd[hits[a].row];
            found += below < K;
            /* scores are full precision after re-scoring */
            CHECK_NEAR(hits[a].raw, dd[hits[a].row], 1e-3 * (1 + dd[hits[a].row]));
        }
        free(dd);
    }
    vs_hnsw_scratch_free(s);
    return (double)found / (NQ * K);
}

static void test_graph_with_codes(void)
{
    float *x = make_data(N + NQ, DIM, 21);
    const float *qs = x + (size_t)N * DIM;
    struct vs_hnsw_opts o = {.M = 12, .ef_construction = 100, .seed = 3, .threads = 1, .simd = -1};
    struct vs_hnsw *h = NULL;
    CHECK_EQ_INT(vs_hnsw_build(x, N, DIM, VS_METRIC_L2, &o, &h, NULL), VS_OK);
    if (!h) {
        free(x);
        return;
    }
    double rf = recall(h, x, qs, NULL, 64, NULL);
    const enum vs_quant_kind kinds[] = {VS_QUANT_F16, VS_QUANT_SQ8, VS_QUANT_BINARY};
    for (int k = 0; k < 3; k++) {
        struct vs_quant *q = NULL;
        CHECK_EQ_INT(vs_quant_build(kinds[k], VS_METRIC_L2, x, N, DIM, -1, &q, NULL), VS_OK);
        uint64_t resc = 0;
        double rq = recall(h, x, qs, q, 64, &resc);
        printf("# ef 64: float32 recall %.4f, %s %.4f\n", rf, vs_quant_name(kinds[k]), rq);
        /* the beam's 3k best by the codes (binary: the whole beam) */
        CHECK_EQ_INT(resc, (uint64_t)NQ * (kinds[k] == VS_QUANT_BINARY ? 64 : 3 * K));
        if (kinds[k] == VS_QUANT_BINARY)
            CHECK(rq > 0.3); /* a first pass only: its recall is reported, not promised */
        else
            CHECK(rq >= rf - 0.01);
        vs_quant_free(q);
    }
    /* codes of other rows are refused */
    struct vs_quant *q = NULL;
    CHECK_EQ_INT(vs_quant_build(VS_QUANT_SQ8, VS_METRIC_L2, x, N - 1, DIM, -1, &q, NULL), VS_OK);
    struct vs_hnsw_scratch *s;
    CHECK_EQ_INT(vs_hnsw_scratch_new(h, &s, NULL), VS_OK);
    struct vs_hnsw_hit hits[K];
    size_t nh;
    struct vs_hnsw_query hq = {.vec = qs, .k = K, .quant = q};
    CHECK_EQ_INT(vs_hnsw_search(h, s, x, &hq, hits, &nh, NULL, NULL), VS_E_USAGE);
    vs_hnsw_scratch_free(s);
    vs_quant_free(q);
    vs_hnsw_free(h);
    free(x);
}

int main(void)
{
    RUN(test_names);
    RUN(test_half);
    RUN(test_kernels_against_reference);
    RUN(test_dist_ids);
    RUN(test_i8_kernels);
    RUN(test_i8_edge_codes);
    RUN(test_sq8_norms);
    RUN(test_rescore_count);
    RUN(test_sq8_error_bound);
    RUN(test_save_open_damage);
    RUN(test_build_aligned);
    RUN(test_graph_with_codes);
    return vs_test_done();
}
