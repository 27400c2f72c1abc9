/* test_hnsw.c: HNSW build/search against exact search, filters, tombstones,
 * serialised round trip, reproducibility and damage. */
#include "test.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <xxhash.h>

#include "hnsw_internal.h"
#include "vs_hnsw.h"
#include "test_data.h"

static float *make_data(size_t n, size_t dim, uint64_t seed)
{
    return make_mixture(n, dim, seed, 1);
}

static float l2(const float *a, const float *b, size_t d)
{
    float s = 0;
    for (size_t i = 0; i < d; i++)
        s += (a[i] - b[i]) * (a[i] - b[i]);
    return s;
}

/* exact top-k rows by scalar L2 over admitted rows */
static size_t exact(const float *x, size_t n, size_t dim, const float *q, size_t k,
                    const uint8_t *live, const uint8_t *allow, uint64_t *out)
{
    float *best = malloc(k * sizeof *best);
    size_t m = 0;
    for (size_t r = 0; r < n; r++) {
        if ((live && !live[r]) || (allow && !allow[r]))
            continue;
        float dv = l2(q, x + r * dim, dim);
        size_t pos = m;
        while (pos > 0 && best[pos - 1] > dv)
            pos--;
        if (pos >= k)
            continue;
        size_t end = m < k ? m : k - 1;
        for (size_t t = end; t > pos; t--) {
            best[t] = best[t - 1];
            out[t] = out[t - 1];
        }
        best[pos] = dv;
        out[pos] = r;
        if (m < k)
            m++;
    }
    free(best);
    return m;
}

enum { N = 5000, DIM = 32, NQ = 200, K = 10 };

static float *data, *queries;
static struct vs_hnsw *graph;

static double recall_at(struct vs_hnsw *h, size_t ef, const uint8_t *live,
                        const uint8_t *allow, int *short_count)
{
    struct vs_hnsw_scratch *s;
    CHECK_EQ_INT(vs_hnsw_scratch_new(h, &s, NULL), VS_OK);
    struct vs_hnsw_hit hits[K];
    uint64_t truth[K];
    size_t found = 0, total = 0;
    for (size_t i = 0; i < NQ; i++) {
        struct vs_hnsw_query q = {.vec = queries + i * DIM, .k = K, .ef = ef,
                                  .live = live, .allow = allow};
        size_t nh = 0;
        CHECK_EQ_INT(vs_hnsw_search(h, s, data, &q, hits, &nh, NULL, NULL), VS_OK);
        size_t nt = exact(data, N, DIM, q.vec, K, live, allow, truth);
        if (nh < nt && short_count)
            (*short_count)++;
        for (size_t a = 0; a < nh; a++) {
            if (live)
                CHECK(live[hits[a].row]);
            if (allow)
                CHECK(allow[hits[a].row]);
            if (a)
                CHECK(hits[a - 1].score >= hits[a].score);
            for (size_t b = 0; b < nt; b++)
                if (hits[a].row == truth[b]) {
                    found++;
                    break;
                }
        }
        total += nt;
    }
    vs_hnsw_scratch_free(s);
    return total ? (double)found / (double)total : 1.0;
}

static void test_build_and_recall(void)
{
    data = make_data(N + NQ, DIM, 42); /* queries: the last NQ rows */
    queries = data + (size_t)N * DIM;
    struct vs_hnsw_opts o = {.M = 16, .ef_construction = 100, .seed = 1, .threads = 2, .simd = -1};
    CHECK_EQ_INT(vs_hnsw_build(data, N, DIM, VS_METRIC_L2, &o, &graph, NULL), VS_OK);
    if (!graph)
        return;
    CHECK_EQ_INT(vs_hnsw_count(graph), N);
    double r64 = recall_at(graph, 64, NULL, NULL, NULL);
    printf("# recall@10 ef=64: %.4f\n", r64);
    CHECK(r64 >= 0.95);
    double r16 = recall_at(graph, 16, NULL, NULL, NULL);
    printf("# recall@10 ef=16: %.4f\n", r16);
    CHECK(r16 <= r64 + 1e-9);
}

static void test_scores_match_kernel(void)
{
    struct vs_hnsw_scratch *s;
    CHECK_EQ_INT(vs_hnsw_scratch_new(graph, &s, NULL), VS_OK);
    struct vs_hnsw_hit hits[K];
    size_t nh;
    struct vs_hnsw_stats st;
    struct vs_hnsw_query q = {.vec = queries, .k = K, .ef = 32};
    CHECK_EQ_INT(vs_hnsw_search(graph, s, data, &q, hits, &nh, &st, NULL), VS_OK);
    CHECK_EQ_INT(nh, K);
    for (size_t i = 0; i < nh; i++) {
        float ref = l2(queries, data + hits[i].row * DIM, DIM);
        CHECK_NEAR(hits[i].raw, ref, 1e-3 * (1 + ref));
        CHECK_NEAR(hits[i].score, -hits[i].raw, 1e-6);
    }
    CHECK(st.distances > 0 && st.distances < N);
    CHECK(st.visited > 0);
    CHECK_EQ_INT(st.exact, 0);
    q.k = 0;
    CHECK_EQ_INT(vs_hnsw_search(graph, s, data, &q, hits, &nh, NULL, NULL), VS_E_USAGE);
    vs_hnsw_scratch_free(s);
}

/* One scratch reused for 600 searches (the one-byte visited marks wrap
 * around every 255) answers exactly as a fresh scratch does each time. */
static void test_scratch_reuse(void)
{
    struct vs_hnsw_scratch *s;
    CHECK_EQ_INT(vs_hnsw_scratch_new(graph, &s, NULL), VS_OK);
    int bad = 0;
    for (size_t i = 0; i < 600; i++) {
        struct vs_hnsw_hit a[K], b[K];
        size_t na = 0, nb = 0;
        struct vs_hnsw_scratch *f;
        struct vs_hnsw_stats sa, sb;
        /* query 0 right before and right after each wrap, others between:
         * marks it left would look current after a wrap without a reset */
        size_t qi = i % 255 == 0 ? 0 : 1 + i % 2;
        struct vs_hnsw_query q = {.vec = queries + qi * DIM, .k = K, .ef = 64};
        CHECK_EQ_INT(vs_hnsw_search(graph, s, data, &q, a, &na, &sa, NULL), VS_OK);
        CHECK_EQ_INT(vs_hnsw_scratch_new(graph, &f, NULL), VS_OK);
        CHECK_EQ_INT(vs_hnsw_search(graph, f, data, &q, b, &nb, &sb, NULL), VS_OK);
        vs_hnsw_scratch_free(f);
        /* the same walk, not only the same answer (an exact fallback
         * would hide a walk cut short by stale marks) */
        bad += na != nb || sa.visited != sb.visited || sa.distances != sb.distances ||
               sa.fallback != sb.fallback;
        for (size_t j = 0; j < na && j < nb; j++)
            bad += a[j].row != b[j].row || a[j].raw != b[j].raw;
    }
    CHECK_EQ_INT(bad, 0);
    vs_hnsw_scratch_free(s);
}

static void test_filters_every_selectivity(void)
{
    static const double sel[] = {0.5, 0.1, 0.03, 0.01, 0.001, 0.0004, 0};
    uint8_t *allow = malloc(N);
    for (size_t t = 0; t < sizeof sel / sizeof *sel; t++) {
        rng_state = 99 + t;
        for (size_t r = 0; r < N; r++)
            allow[r] = urand() < sel[t];
        int shortq = 0;
        double r = recall_at(graph, 64, NULL, allow, &shortq);
        printf("# filter %.4f: recall@10 %.4f, short %d\n", sel[t], r, shortq);
        CHECK_EQ_INT(shortq, 0);
        CHECK(r >= 0.95);
    }
    /* selective filters are answered exactly */
    memset(allow, 0, N);
    allow[3] = allow[4000] = 1;
    struct vs_hnsw_scratch *s;
    CHECK_EQ_INT(vs_hnsw_scratch_new(graph, &s, NULL), VS_OK);
    struct vs_hnsw_hit hits[K];
    size_t nh;
    struct vs_hnsw_stats st;
    struct vs_hnsw_query q = {.vec = queries, .k = K, .allow = allow};
    CHECK_EQ_INT(vs_hnsw_search(graph, s, data, &q, hits, &nh, &st, NULL), VS_OK);
    CHECK_EQ_INT(nh, 2);
    CHECK_EQ_INT(st.exact, 1);
    CHECK_EQ_INT(st.matched, 2);
    /* the same filter with exact scans disabled still gives both rows */
    q.exact_below = -1;
    CHECK_EQ_INT(vs_hnsw_search(graph, s, data, &q, hits, &nh, &st, NULL), VS_OK);
    CHECK_EQ_INT(nh, 2);
    CHECK_EQ_INT(st.exact, 0);
    vs_hnsw_scratch_free(s);
    free(allow);
}

static void test_tombstones(void)
{
    uint8_t *live = malloc(N);
    rng_state = 5;
    for (size_t r = 0; r < N; r++)
        live[r] = urand() >= 0.3;
    int shortq = 0;
    double r = recall_at(graph, 64, live, NULL, &shortq);
    printf("# 30%% deleted: recall@10 %.4f\n", r);
    CHECK(r >= 0.95);
    CHECK_EQ_INT(shortq, 0);
    free(live);
}

static void test_round_trip(void)
{
    void *buf;
    size_t len;
    CHECK_EQ_INT(vs_hnsw_save(graph, 3, &buf, &len, NULL), VS_OK);
    printf("# %zu bytes serialised, %.1f bytes/vector\n", len, (double)len / N);
    struct vs_hnsw *h2;
    CHECK_EQ_INT(vs_hnsw_open(buf, len, -1, &h2, NULL), VS_OK);
    if (!h2) {
        free(buf);
        return;
    }
    size_t lazy = vs_hnsw_memory(h2);
    struct vs_hnsw_scratch *s1, *s2;
    CHECK_EQ_INT(vs_hnsw_scratch_new(graph, &s1, NULL), VS_OK);
    CHECK_EQ_INT(vs_hnsw_scratch_new(h2, &s2, NULL), VS_OK);
    for (size_t i = 0; i < 50; i++) {
        struct vs_hnsw_hit a[K], b[K];
        size_t na, nb;
        struct vs_hnsw_query q = {.vec = queries + i * DIM, .k = K, .ef = 40};
        CHECK_EQ_INT(vs_hnsw_search(graph, s1, data, &q, a, &na, NULL, NULL), VS_OK);
        CHECK_EQ_INT(vs_hnsw_search(h2, s2, data, &q, b, &nb, NULL, NULL), VS_OK);
        CHECK_EQ_INT(na, nb);
        for (size_t j = 0; j < na && j < nb; j++)
            CHECK_EQ_INT(a[j].row, b[j].row);
    }
    CHECK(vs_hnsw_memory(h2) >= lazy);
    CHECK_EQ_INT(vs_hnsw_verify(h2, NULL), VS_OK);
    /* saving the opened graph gives the same bytes */
    void *buf2;
    size_t len2;
    CHECK_EQ_INT(vs_hnsw_save(h2, 3, &buf2, &len2, NULL), VS_OK);
    CHECK_EQ_INT(len2, len);
    CHECK(len2 == len && memcmp(buf, buf2, len) == 0);
    free(buf2);
    vs_hnsw_scratch_free(s1);
    vs_hnsw_scratch_free(s2);
    vs_hnsw_free(h2);
    free(buf);
}

/* Graph order: vs_hnsw_order gives a permutation; the renumbered graph
 * searched over the rows in that order returns the same rows (mapped back)
 * with the same scores, before and after a format-3 round trip; it codes
 * smaller than the graph as inserted (neighbours near in the new numbers);
 * a perm that is not a permutation is refused. */
static void test_graph_order(void)
{
    uint32_t *perm = malloc(N * sizeof *perm);
    float *xo = malloc((size_t)N * DIM * sizeof *xo);
    uint8_t *seen = calloc(N, 1);
    CHECK_EQ_INT(vs_hnsw_order(graph, data, perm, NULL), VS_OK);
    int ok = 1;
    for (size_t i = 0; i < N; i++) {
        if (perm[i] >= N || seen[perm[i]])
            ok = 0;
        else
            seen[perm[i]] = 1;
    }
    CHECK(ok);
    free(seen);
    if (!ok) {
        free(perm);
        free(xo);
        return;
    }
    for (size_t i = 0; i < N; i++)
        memcpy(xo + i * DIM, data + (size_t)perm[i] * DIM, DIM * sizeof *xo);
    struct vs_hnsw *g = NULL, *g2 = NULL;
    CHECK_EQ_INT(vs_hnsw_renumbered(graph, perm, &g, NULL), VS_OK);
    void *b0 = NULL, *b1 = NULL;
    size_t l0 = 0, l1 = 0;
    CHECK_EQ_INT(vs_hnsw_save(graph, 3, &b0, &l0, NULL), VS_OK);
    if (g)
        CHECK_EQ_INT(vs_hnsw_save(g, 3, &b1, &l1, NULL), VS_OK);
    printf("# format 3: %.1f bytes/vector as inserted, %.1f in graph order\n",
           (double)l0 / N, (double)l1 / N);
    CHECK(b1 && l1 < l0 * 95 / 100);
    if (b1)
        CHECK(memcmp(b1, "VSHNSW03", 8) == 0);
    if (b1)
        CHECK_EQ_INT(vs_hnsw_open(b1, l1, -1, &g2, NULL), VS_OK);
    struct vs_hnsw_scratch *s1 = NULL, *s2 = NULL, *s3 = NULL;
    CHECK_EQ_INT(vs_hnsw_scratch_new(graph, &s1, NULL), VS_OK);
    if (g && g2) {
        CHECK_EQ_INT(vs_hnsw_scratch_new(g, &s2, NULL), VS_OK);
        CHECK_EQ_INT(vs_hnsw_scratch_new(g2, &s3, NULL), VS_OK);
        size_t diff = 0;
        for (size_t i = 0; i < NQ; i++) {
            struct vs_hnsw_hit a[K], b[K], c[K];
            size_t na = 0, nb = 0, nc = 0;
            struct vs_hnsw_query q = {.vec = queries + i * DIM, .k = K, .ef = 40};
            CHECK_EQ_INT(vs_hnsw_search(graph, s1, data, &q, a, &na, NULL, NULL), VS_OK);
            CHECK_EQ_INT(vs_hnsw_search(g, s2, xo, &q, b, &nb, NULL, NULL), VS_OK);
            CHECK_EQ_INT(vs_hnsw_search(g2, s3, xo, &q, c, &nc, NULL, NULL), VS_OK);
            if (na != nb || nb != nc) {
                diff++;
                continue;
            }
            for (size_t j = 0; j < na; j++)
                if (perm[b[j].row] != a[j].row || b[j].score != a[j].score ||
                    c[j].row != b[j].row || c[j].score != b[j].score)
                    diff++;
        }
        CHECK_EQ_INT(diff, 0);
    }
    /* a repeated node is refused */
    uint32_t keep = perm[1];
    perm[1] = perm[0];
    struct vs_hnsw *bad = NULL;
    CHECK_EQ_INT(vs_hnsw_renumbered(graph, perm, &bad, NULL), VS_E_INTERNAL);
    CHECK(bad == NULL);
    perm[1] = keep;
    vs_hnsw_scratch_free(s1);
    vs_hnsw_scratch_free(s2);
    vs_hnsw_scratch_free(s3);
    vs_hnsw_free(g);
    vs_hnsw_free(g2);
    free(b0);
    free(b1);
    free(perm);
    free(xo);
}

/* open_take: the graph owns the buffer (same answers as the copy); a
 * damaged buffer is refused and freed (the sanitizer build checks leaks) */
static void test_open_take(void)
{
    void *buf, *copy;
    size_t len;
    CHECK_EQ_INT(vs_hnsw_save(graph, 3, &buf, &len, NULL), VS_OK);
    copy = malloc(len);
    memcpy(copy, buf, len);
    struct vs_hnsw *h2 = NULL;
    CHECK_EQ_INT(vs_hnsw_open_take(copy, len, -1, &h2, NULL), VS_OK);
    if (h2) {
        struct vs_hnsw_scratch *s1, *s2;
        CHECK_EQ_INT(vs_hnsw_scratch_new(graph, &s1, NULL), VS_OK);
        CHECK_EQ_INT(vs_hnsw_scratch_new(h2, &s2, NULL), VS_OK);
        struct vs_hnsw_hit a[K], b[K];
        size_t na, nb;
        struct vs_hnsw_query q = {.vec = queries, .k = K, .ef = 40};
        CHECK_EQ_INT(vs_hnsw_search(graph, s1, data, &q, a, &na, NULL, NULL), VS_OK);
        CHECK_EQ_INT(vs_hnsw_search(h2, s2, data, &q, b, &nb, NULL, NULL), VS_OK);
        CHECK(na == nb && memcmp(a, b, na * sizeof *a) == 0);
        vs_hnsw_scratch_free(s1);
        vs_hnsw_scratch_free(s2);
        vs_hnsw_free(h2);
    }
    copy = malloc(len);
    memcpy(copy, buf, len);
    ((unsigned char *)copy)[0] ^= 0xff;
    h2 = NULL;
    CHECK_EQ_INT(vs_hnsw_open_take(copy, len, -1, &h2, NULL), VS_E_CORRUPT);
    CHECK(h2 == NULL);
    copy = malloc(len);
    memcpy(copy, buf, len);
    ((unsigned char *)copy)[len / 2] ^= 0xff; /* inside the graph: checked at open or on use */
    if (vs_hnsw_open_take(copy, len, -1, &h2, NULL) == VS_OK) {
        CHECK_EQ_INT(vs_hnsw_verify(h2, NULL), VS_E_CORRUPT);
        vs_hnsw_free(h2);
    }
    free(buf);
}

static void test_reproducible(void)
{
    struct vs_hnsw_opts o = {.M = 8, .ef_construction = 50, .seed = 77, .threads = 1, .simd = -1};
    struct vs_hnsw *a, *b, *c;
    CHECK_EQ_INT(vs_hnsw_build(data, 2000, DIM, VS_METRIC_L2, &o, &a, NULL), VS_OK);
    CHECK_EQ_INT(vs_hnsw_build(data, 2000, DIM, VS_METRIC_L2, &o, &b, NULL), VS_OK);
    o.seed = 78;
    CHECK_EQ_INT(vs_hnsw_build(data, 2000, DIM, VS_METRIC_L2, &o, &c, NULL), VS_OK);
    void *ba, *bb, *bc;
    size_t la, lb, lc;
    CHECK_EQ_INT(vs_hnsw_save(a, 3, &ba, &la, NULL), VS_OK);
    CHECK_EQ_INT(vs_hnsw_save(b, 3, &bb, &lb, NULL), VS_OK);
    CHECK_EQ_INT(vs_hnsw_save(c, 3, &bc, &lc, NULL), VS_OK);
    CHECK(la == lb && memcmp(ba, bb, la) == 0);
    CHECK(la != lc || memcmp(ba, bc, la) != 0);
    free(ba);
    free(bb);
    free(bc);
    vs_hnsw_free(a);
    vs_hnsw_free(b);
    vs_hnsw_free(c);
}

static void test_damage(void)
{
    void *buf;
    size_t len;
    CHECK_EQ_INT(vs_hnsw_save(graph, 3, &buf, &len, NULL), VS_OK);
    uint8_t *p = buf;
    /* every 97th byte flipped in turn: open or verify must say corrupt */
    int bad = 0;
    for (size_t off = 0; off < len; off += 97) {
        p[off] ^= 0x5a;
        struct vs_hnsw *h = NULL;
        int rc = vs_hnsw_open(buf, len, -1, &h, NULL);
        if (rc == VS_OK)
            rc = vs_hnsw_verify(h, NULL);
        if (rc != VS_E_CORRUPT && rc != VS_E_VERSION)
            bad++;
        vs_hnsw_free(h);
        p[off] ^= 0x5a;
    }
    CHECK_EQ_INT(bad, 0);
    struct vs_hnsw *h = NULL;
    CHECK_EQ_INT(vs_hnsw_open(buf, len / 2, -1, &h, NULL), VS_E_CORRUPT);
    CHECK_EQ_INT(vs_hnsw_open(buf, 10, -1, &h, NULL), VS_E_CORRUPT);
    CHECK(h == NULL);
    /* a damaged block found lazily by a search -> corrupt */
    CHECK_EQ_INT(vs_hnsw_open(buf, len, -1, &h, NULL), VS_OK);
    if (h) {
        p[len - 5] ^= 0xff;
        vs_hnsw_free(h);
        CHECK_EQ_INT(vs_hnsw_open(buf, len, -1, &h, NULL), VS_OK);
        struct vs_hnsw_scratch *s;
        CHECK_EQ_INT(vs_hnsw_scratch_new(h, &s, NULL), VS_OK);
        int corrupt = 0;
        for (size_t i = 0; i < 20; i++) {
            struct vs_hnsw_hit a[K];
            size_t na;
            struct vs_hnsw_query q = {.vec = queries + i * DIM, .k = K, .ef = 200};
            corrupt |= vs_hnsw_search(h, s, data, &q, a, &na, NULL, NULL) == VS_E_CORRUPT;
        }
        CHECK(corrupt);
        vs_hnsw_scratch_free(s);
        vs_hnsw_free(h);
    }
    free(buf);
}

/* A level-0 list whose 46th gap starts exactly where the 64-bit reader
 * refills, on 8 bytes of one bits (their checksums made right): the unary
 * code longer than the buffer is refused as damage. Before, the reader took
 * ctz of 0 (undefined; found by tests/fuzz/fuzz_hnsw.c). With n = 100,
 * M = 32 (lists of up to 64 ids, counts of 7 bits), a count of 58, window
 * exponent 0 and no near ids (format 3: 7 + 5 + 7 bits), the far ids'
 * Rice parameter is 0: the three fields and 45 one-bit gaps fill the first
 * 64 bits. */
static void test_block_unary_refill(void)
{
    struct vs_hnsw_opts o = {.M = 32, .ef_construction = 16, .seed = 1, .threads = 1, .simd = -1};
    struct vs_hnsw *g = NULL;
    CHECK_EQ_INT(vs_hnsw_build(data, 100, DIM, VS_METRIC_L2, &o, &g, NULL), VS_OK);
    void *buf = NULL;
    size_t len = 0;
    if (g)
        CHECK_EQ_INT(vs_hnsw_save(g, 3, &buf, &len, NULL), VS_OK);
    vs_hnsw_free(g);
    if (!buf)
        return;
    uint8_t *p = buf;
    uint64_t nub, nb, end, off, next, tab = 104;
    memcpy(&nub, p + 72, 8);
    memcpy(&nb, p + 80, 8);
    memcpy(&end, p + 88, 8);
    uint64_t e0 = tab + nub * 16; /* the first level-0 block's entry */
    memcpy(&off, p + e0, 8);
    if (nb > 1)
        memcpy(&next, p + e0 + 16, 8);
    else
        next = end;
    CHECK(memcmp(p, "VSHNSW03", 8) == 0 && nb == 2 && next - off >= 16 && next <= len);
    uint64_t first = 58; /* count 58 in bits 0..6, w 0, near 0, 45 zero bits */
    memcpy(p + off, &first, 8);
    memset(p + off + 8, 0xff, next - off - 8);
    uint64_t h = XXH64(p + off, next - off, 0);
    memcpy(p + e0 + 8, &h, 8);
    h = XXH64(p, 96, 0) ^ XXH64(p + tab, (nub + nb) * 16, 1);
    memcpy(p + 96, &h, 8);
    CHECK_EQ_INT(vs_hnsw_open(buf, len, -1, &g, NULL), VS_OK);
    if (g)
        CHECK_EQ_INT(vs_hnsw_verify(g, NULL), VS_E_CORRUPT);
    vs_hnsw_free(g);
    free(buf);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static void *verify_thread(void *h)
{
    return (void *)(intptr_t)vs_hnsw_verify(h, NULL);
}

/* An opened graph with over 2 MiB of level-0 blocks decodes them into
 * one arena (hnsw_file.c l0_arena: first-touch order, huge pages past 2
 * MiB). Every decoded list equals the built graph's as a set: on one
 * thread, on two decoding at once (a block both decode takes two slots),
 * and when the arena's slots run out (the rest malloc'd; freeing the mix
 * is checked under ASan). A block whose checksum matches but whose lists
 * do not decode gives its slot back as damage. M 64: a block is 33 KiB,
 * so 4,100 nodes (65 blocks) pass 2 MiB. */
static void test_l0_arena(void)
{
    enum { AN = 4100, ADIM = 4 };
    float *x = make_data(AN, ADIM, 7);
    struct vs_hnsw_opts o = {.M = 64, .ef_construction = 16, .seed = 3, .threads = 1, .simd = -1};
    struct vs_hnsw *g = NULL;
    void *buf = NULL;
    size_t len = 0;
    CHECK_EQ_INT(vs_hnsw_build(x, AN, ADIM, VS_METRIC_L2, &o, &g, NULL), VS_OK);
    if (g)
        CHECK_EQ_INT(vs_hnsw_save(g, 3, &buf, &len, NULL), VS_OK);
    for (int mode = 0; buf && mode < 3; mode++) {
        struct vs_hnsw *h = NULL;
        CHECK_EQ_INT(vs_hnsw_open(buf, len, -1, &h, NULL), VS_OK);
        if (!h)
            continue;
        CHECK(h->l0arena != NULL);
        if (mode == 2)
            h->l0slots = 5;
        if (mode == 1) {
            pthread_t t[2];
            void *rc[2] = {0};
            for (int i = 0; i < 2; i++)
                CHECK_EQ_INT(pthread_create(&t[i], NULL, verify_thread, h), 0);
            for (int i = 0; i < 2; i++) {
                pthread_join(t[i], &rc[i]);
                CHECK_EQ_INT((int)(intptr_t)rc[i], VS_OK);
            }
        } else {
            CHECK_EQ_INT(vs_hnsw_verify(h, NULL), VS_OK);
        }
        int differ = 0;
        uint64_t in = 0;
        for (uint32_t u = 0; u < AN; u++) {
            uint32_t *a = list_of(g, u, 0), *b = list_of(h, u, 0), sa[129];
            if (!a || !b || a[0] != b[0] || a[0] > 128) {
                differ++;
                continue;
            }
            memcpy(sa, a + 1, a[0] * sizeof *sa);
            qsort(sa, a[0], sizeof *sa, cmp_u32);
            differ += memcmp(sa, b + 1, a[0] * sizeof *sa) != 0;
        }
        for (uint64_t b = 0; b < h->nblocks; b++) {
            uintptr_t p = (uintptr_t)atomic_load(&h->blocks[b]), a = (uintptr_t)h->l0arena;
            in += p >= a && p - a < h->l0slots * BLK * (h->M0 + 1) * sizeof(uint32_t);
        }
        CHECK_EQ_INT(differ, 0);
        CHECK_EQ_INT(in, mode == 2 ? 5 : h->nblocks);
        vs_hnsw_free(h);
    }
    /* level-0 block 10 made of one bits with its checksums made right */
    if (buf) {
        uint8_t *p = buf;
        uint64_t nub, off, next, tab = 104, hh;
        memcpy(&nub, p + 72, 8);
        uint64_t e = tab + (nub + 10) * 16;
        memcpy(&off, p + e, 8);
        memcpy(&next, p + e + 16, 8);
        memset(p + off, 0xff, next - off);
        hh = XXH64(p + off, next - off, 0);
        memcpy(p + e + 8, &hh, 8);
        memcpy(&nub, p + 72, 8);
        uint64_t nb;
        memcpy(&nb, p + 80, 8);
        hh = XXH64(p, 96, 0) ^ XXH64(p + tab, (nub + nb) * 16, 1);
        memcpy(p + 96, &hh, 8);
        struct vs_hnsw *h = NULL;
        CHECK_EQ_INT(vs_hnsw_open(buf, len, -1, &h, NULL), VS_OK);
        if (h) {
            CHECK(h->l0arena != NULL);
            CHECK_EQ_INT(vs_hnsw_verify(h, NULL), VS_E_CORRUPT);
            CHECK_EQ_INT(vs_hnsw_damaged_block(h), 11);
            CHECK(list_of(h, 10 * BLK, 0) == NULL);
            CHECK(list_of(h, 9 * BLK, 0) != NULL);
        }
        vs_hnsw_free(h);
    }
    free(buf);
    vs_hnsw_free(g);
    free(x);
}

static void test_edge_cases(void)
{
    struct vs_hnsw *h;
    CHECK_EQ_INT(vs_hnsw_build(data, 10, 0, VS_METRIC_L2, NULL, &h, NULL), VS_E_USAGE);
    struct vs_hnsw_opts o = {.M = 1, .simd = -1};
    CHECK_EQ_INT(vs_hnsw_build(data, 10, DIM, VS_METRIC_L2, &o, &h, NULL), VS_E_USAGE);
    CHECK_EQ_INT(vs_hnsw_build(data, 0, DIM, VS_METRIC_L2, NULL, &h, NULL), VS_OK);
    struct vs_hnsw_scratch *s;
    CHECK_EQ_INT(vs_hnsw_scratch_new(h, &s, NULL), VS_OK);
    struct vs_hnsw_hit a[K];
    size_t na = 9;
    struct vs_hnsw_query q = {.vec = queries, .k = K};
    CHECK_EQ_INT(vs_hnsw_search(h, s, data, &q, a, &na, NULL, NULL), VS_OK);
    CHECK_EQ_INT(na, 0);
    vs_hnsw_scratch_free(s);
    void *buf;
    size_t len;
    CHECK_EQ_INT(vs_hnsw_save(h, 3, &buf, &len, NULL), VS_OK);
    vs_hnsw_free(h);
    CHECK_EQ_INT(vs_hnsw_open(buf, len, -1, &h, NULL), VS_OK);
    vs_hnsw_free(h);
    free(buf);
    /* one row; cosine (dot of normalised rows) */
    CHECK_EQ_INT(vs_hnsw_build(data, 3, DIM, VS_METRIC_COSINE, NULL, &h, NULL), VS_OK);
    CHECK_EQ_INT(vs_hnsw_scratch_new(h, &s, NULL), VS_OK);
    CHECK_EQ_INT(vs_hnsw_search(h, s, data, &q, a, &na, NULL, NULL), VS_OK);
    CHECK_EQ_INT(na, 3);
    vs_hnsw_scratch_free(s);
    vs_hnsw_free(h);
    vs_hnsw_free(NULL);
    vs_hnsw_scratch_free(NULL);
}

/* A dot-product graph over unit vectors: its distances (minus the dot) are
 * negative for near rows and positive for far ones, so the build's sort
 * (64-bit keys from the float bits) must order negatives before positives
 * and larger magnitudes of negatives first; a sort that got them backwards
 * links each node to its farthest rows and the recall falls far below. */
/* Dot over unit vectors (every distance below zero) with the build's beam
 * on beam (vs_hnsw_opts.beam). */
static void dot_signed_distances(int beam)
{
    enum { DN = 3000, DQ = 100 };
    float *x = make_mixture(DN + DQ, DIM, 7, 1);
    for (size_t r = 0; r < DN + DQ; r++) {
        float nn = 0;
        for (size_t j = 0; j < DIM; j++)
            nn += x[r * DIM + j] * x[r * DIM + j];
        nn = sqrtf(nn);
        for (size_t j = 0; j < DIM && nn > 0; j++)
            x[r * DIM + j] /= nn;
    }
    struct vs_hnsw_opts o = {.M = 8, .ef_construction = 64, .seed = 3, .threads = 1, .simd = -1,
                             .beam = beam};
    struct vs_hnsw *h = NULL;
    CHECK_EQ_INT(vs_hnsw_build(x, DN, DIM, VS_METRIC_DOT, &o, &h, NULL), VS_OK);
    struct vs_hnsw_scratch *s = NULL;
    CHECK_EQ_INT(vs_hnsw_scratch_new(h, &s, NULL), VS_OK);
    size_t found = 0, negative = 0;
    for (size_t i = 0; i < DQ; i++) {
        const float *q = x + (size_t)(DN + i) * DIM;
        /* exact top K by dot */
        float best[K];
        uint64_t truth[K];
        size_t m = 0;
        for (size_t r = 0; r < DN; r++) {
            float dv = 0;
            for (size_t j = 0; j < DIM; j++)
                dv += q[j] * x[r * DIM + j];
            size_t pos = m;
            while (pos > 0 && best[pos - 1] < dv)
                pos--;
            if (pos >= K)
                continue;
            for (size_t t = m < K ? m : K - 1; t > pos; t--) {
                best[t] = best[t - 1];
                truth[t] = truth[t - 1];
            }
            best[pos] = dv;
            truth[pos] = r;
            if (m < K)
                m++;
        }
        if (best[0] > 0)
            negative++; /* its nearest row's distance is below zero */
        struct vs_hnsw_query hq = {.vec = q, .k = K, .ef = 64};
        struct vs_hnsw_hit hits[K];
        size_t nh = 0;
        CHECK_EQ_INT(vs_hnsw_search(h, s, x, &hq, hits, &nh, NULL, NULL), VS_OK);
        for (size_t a = 0; a < nh; a++)
            for (size_t b = 0; b < m; b++)
                if (hits[a].row == truth[b]) {
                    found++;
                    break;
                }
    }
    double rec = (double)found / (double)(DQ * K);
    printf("# dot over unit vectors, beam %d: recall@10 ef=64 %.4f (%zu of %d queries with "
           "negative distances)\n", beam, rec, negative, DQ);
    CHECK(negative == DQ);
    CHECK(rec >= 0.95);
    vs_hnsw_scratch_free(s);
    vs_hnsw_free(h);
    free(x);
}

static void test_build_dot_signed_distances(void)
{
    dot_signed_distances(VS_HNSW_BEAM_ROWS);
    dot_signed_distances(VS_HNSW_BEAM_SQ8);
}

/* The saved bytes of a graph built over the first n rows of data with
 * beam b on one thread (seed 5); NULL when the build fails. */
static void *graph_bytes(size_t n, int b, size_t *len, struct vs_hnsw **out)
{
    struct vs_hnsw_opts o = {.M = 16, .ef_construction = 100, .seed = 5, .threads = 1,
                             .simd = -1, .beam = b};
    struct vs_hnsw *h = NULL;
    void *buf = NULL;
    *len = 0;
    CHECK_EQ_INT(vs_hnsw_build(data, n, DIM, VS_METRIC_L2, &o, &h, NULL), VS_OK);
    if (h)
        CHECK_EQ_INT(vs_hnsw_save(h, 3, &buf, len, NULL), VS_OK);
    if (out)
        *out = h;
    else
        vs_hnsw_free(h);
    return buf;
}

/* The build's beam on sq8 codes (its results re-scored from the rows):
 * another graph than the float32 beam's (the codes are used), the same on
 * every 1-thread build, and as good: recall@10 at ef 16 and 64 within
 * 0.01 of the float32 beam's graph. Auto walks the rows of a set this
 * small (the same bytes as VS_HNSW_BEAM_ROWS); a beam kind outside the
 * enum is a usage error. */
static void test_beam_on_codes(void)
{
    size_t lr, lq, lq2, la;
    struct vs_hnsw *hr = NULL, *hq = NULL;
    void *br = graph_bytes(N, VS_HNSW_BEAM_ROWS, &lr, &hr);
    void *bq = graph_bytes(N, VS_HNSW_BEAM_SQ8, &lq, &hq);
    void *bq2 = graph_bytes(N, VS_HNSW_BEAM_SQ8, &lq2, NULL);
    void *ba = graph_bytes(N, VS_HNSW_BEAM_AUTO, &la, NULL);
    CHECK(br && bq && bq2 && ba);
    CHECK((uint64_t)N * DIM * sizeof(float) < VS_HNSW_BEAM_CODES_BYTES);
    if (br && bq && bq2 && ba) {
        CHECK(lr != lq || memcmp(br, bq, lr) != 0);
        CHECK(lq == lq2 && memcmp(bq, bq2, lq) == 0);
        CHECK(lr == la && memcmp(br, ba, lr) == 0);
    }
    if (hr && hq) {
        for (size_t ef = 16; ef <= 64; ef *= 4) {
            double rr = recall_at(hr, ef, NULL, NULL, NULL);
            double rq = recall_at(hq, ef, NULL, NULL, NULL);
            printf("# recall@10 ef=%zu: beam on rows %.4f, on sq8 codes %.4f\n", ef, rr, rq);
            CHECK(rq >= rr - 0.01);
        }
    }
    free(br);
    free(bq);
    free(bq2);
    free(ba);
    vs_hnsw_free(hr);
    vs_hnsw_free(hq);
    struct vs_hnsw *h = NULL;
    struct vs_hnsw_opts o = {.M = 16, .ef_construction = 100, .threads = 1, .simd = -1,
                             .beam = VS_HNSW_BEAM_SQ8 + 1};
    CHECK_EQ_INT(vs_hnsw_build(data, 100, DIM, VS_METRIC_L2, &o, &h, NULL), VS_E_USAGE);
    CHECK(h == NULL);
    o.beam = -1;
    CHECK_EQ_INT(vs_hnsw_build(data, 100, DIM, VS_METRIC_L2, &o, &h, NULL), VS_E_USAGE);
    CHECK(h == NULL);
}

/* A build whose level-0 lists take more than 2 MiB puts them in one arena
 * (huge pages asked for; h->l0arena), a smaller one mallocs each block: both
 * find the exact nearest row for most queries, and the arena graph saves,
 * opens and renumbers as any (ASan: every block freed once). */
static void test_build_arena(void)
{
    enum { AN = 20000, AD = 8, AQ = 50 };
    float *x = make_mixture(AN + AQ, AD, 11, 1);
    struct vs_hnsw_opts o = {.M = 16, .ef_construction = 40, .seed = 2, .threads = 2, .simd = -1};
    for (size_t n = 5000; n <= AN; n += AN - 5000) {
        struct vs_hnsw *h = NULL;
        CHECK_EQ_INT(vs_hnsw_build(x, n, AD, VS_METRIC_L2, &o, &h, NULL), VS_OK);
        if (!h)
            continue;
        CHECK((h->l0arena != NULL) == (n == AN));
        struct vs_hnsw_scratch *s = NULL;
        CHECK_EQ_INT(vs_hnsw_scratch_new(h, &s, NULL), VS_OK);
        size_t top1 = 0;
        for (size_t i = 0; s && i < AQ; i++) {
            const float *q = x + (AN + i) * AD;
            uint64_t truth[1];
            exact(x, n, AD, q, 1, NULL, NULL, truth);
            struct vs_hnsw_query hq = {.vec = q, .k = 1, .ef = 32};
            struct vs_hnsw_hit hit;
            size_t nh = 0;
            CHECK_EQ_INT(vs_hnsw_search(h, s, x, &hq, &hit, &nh, NULL, NULL), VS_OK);
            top1 += nh == 1 && hit.row == truth[0];
        }
        printf("# %zu rows (%s): exact nearest row found for %zu of %d queries\n", n,
               h->l0arena ? "arena" : "malloc'd blocks", top1, AQ);
        CHECK(top1 >= AQ * 9 / 10);
        void *buf = NULL;
        size_t len = 0;
        struct vs_hnsw *g = NULL, *r = NULL;
        CHECK_EQ_INT(vs_hnsw_save(h, 3, &buf, &len, NULL), VS_OK);
        CHECK_EQ_INT(vs_hnsw_open(buf, len, -1, &g, NULL), VS_OK);
        uint32_t *perm = malloc(n * sizeof *perm);
        CHECK_EQ_INT(vs_hnsw_order(h, x, perm, NULL), VS_OK);
        CHECK_EQ_INT(vs_hnsw_renumbered(h, perm, &r, NULL), VS_OK);
        CHECK(g && r && vs_hnsw_count(g) == n && vs_hnsw_count(r) == n);
        free(perm);
        free(buf);
        vs_hnsw_free(r);
        vs_hnsw_free(g);
        vs_hnsw_scratch_free(s);
        vs_hnsw_free(h);
    }
    free(x);
}

/* The build's shortcuts (the beam's keys sorted by radix, a full list's
 * prune checking its stable part against the new entries only) give the
 * graph of the plain build: the XXH64 of 1-thread scalar-kernel graphs
 * saved by the build before them (main 0787c53), lists full often enough
 * (M 8) and beams of 80 keys (radix-sorted from 64), for the rows beam and
 * both metrics. The sq8 beam's graphs are those of the build that walks
 * two level-0 inserts' beams in turn (insert_pair, session 16; 0787c53's
 * were 958d0574bc70d7bf and 975d500efd95cacf): a 1-thread build stays
 * reproducible, and a change to the pairs shows here. */
static void test_build_same_graph(void)
{
    static const struct {
        enum vs_metric metric;
        int beam;
        uint64_t hash;
    } want[] = {
        {VS_METRIC_L2, VS_HNSW_BEAM_ROWS, 0x133077bf3de0c361ull},
        {VS_METRIC_L2, VS_HNSW_BEAM_SQ8, 0xec9eb544b64fe249ull},
        {VS_METRIC_DOT, VS_HNSW_BEAM_ROWS, 0x51c22bdbef409029ull},
        {VS_METRIC_DOT, VS_HNSW_BEAM_SQ8, 0x46c923e32dccf31cull},
    };
    for (size_t t = 0; t < sizeof want / sizeof want[0]; t++) {
        struct vs_hnsw_opts o = {.M = 8, .ef_construction = 80, .seed = 3, .threads = 1,
                                 .simd = VS_SIMD_SCALAR, .beam = want[t].beam};
        struct vs_hnsw *h = NULL;
        void *buf = NULL;
        size_t len = 0;
        CHECK_EQ_INT(vs_hnsw_build(data, 3000, DIM, want[t].metric, &o, &h, NULL), VS_OK);
        if (h)
            CHECK_EQ_INT(vs_hnsw_save(h, 3, &buf, &len, NULL), VS_OK);
        uint64_t got = buf ? XXH64(buf, len, 0) : 0;
        printf("# graph %zu: %zu bytes, XXH64 %016llx\n", t, len, (unsigned long long)got);
        CHECK(got == want[t].hash);
        free(buf);
        vs_hnsw_free(h);
    }
}

int main(void)
{
    RUN(test_build_and_recall);
    if (!graph) {
        printf("Bail out! no graph\n");
        return 1;
    }
    RUN(test_scores_match_kernel);
    RUN(test_scratch_reuse);
    RUN(test_filters_every_selectivity);
    RUN(test_tombstones);
    RUN(test_round_trip);
    RUN(test_open_take);
    RUN(test_graph_order);
    RUN(test_reproducible);
    RUN(test_damage);
    RUN(test_block_unary_refill);
    RUN(test_l0_arena);
    RUN(test_edge_cases);
    RUN(test_build_dot_signed_distances);
    RUN(test_beam_on_codes);
    RUN(test_build_arena);
    RUN(test_build_same_graph);
    vs_hnsw_free(graph);
    free(data);
    return vs_test_done();
}
