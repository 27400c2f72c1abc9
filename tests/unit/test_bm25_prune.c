/* test_bm25_prune.c: top-k pruning of BM25 search (block-max MaxScore,
 * document at a time, bm25_search.c) gives the hits of exhaustive scoring:
 * the same views, rows and scores (bit for bit), on random corpora with a
 * Zipf vocabulary, random queries of optional terms, several segments,
 * deleted rows, filters and parameters; pruning does happen (postings left
 * unread); a version 1 index (tests/fixtures/bm25-v1.idx, no stored skip
 * entries) still opens and answers as the version 2 index of the same
 * documents; damaged skip streams give errors, never a crash. */
#include "test.h"
#include "vs_internal.h"
#include "bm25_internal.h"

#define PLAIN "v1;lang=none;stop=none"

static uint64_t rng_state;
static uint64_t rnd(void) /* xorshift64*, fixed seed per test */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}
static double unif(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }

/* A word of rank r in 0 .. nv-1 drawn with probability ~ 1 / (r + 1). */
static size_t zipf(const double *cdf, size_t nv)
{
    double u = unif();
    size_t lo = 0, hi = nv - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The serialised index of ndocs random documents (NULL on failure). */
static void *random_buf(size_t ndocs, const double *cdf, size_t nv, size_t *len)
{
    struct vs_bm25_builder *b;
    struct vs_diag d;
    void *buf = NULL;
    if (vs_bm25_builder_new(PLAIN, &b, &d) != VS_OK)
        return NULL;
    char text[4096];
    for (size_t i = 0; i < ndocs; i++) {
        size_t n = 1 + rnd() % 30, at = 0;
        for (size_t w = 0; w < n; w++)
            at += (size_t)snprintf(text + at, sizeof text - at, "w%zu ",
                                   zipf(cdf, nv));
        if (vs_bm25_builder_add(b, i, text, at, &d) != VS_OK) {
            vs_bm25_builder_free(b);
            return NULL;
        }
    }
    if (vs_bm25_builder_finish(b, &buf, len, &d) != VS_OK)
        buf = NULL;
    vs_bm25_builder_free(b);
    return buf;
}

static struct vs_bm25 *random_index(size_t ndocs, const double *cdf, size_t nv)
{
    size_t len;
    void *buf = random_buf(ndocs, cdf, nv, &len);
    struct vs_bm25 *ix = NULL;
    struct vs_diag d;
    if (buf && vs_bm25_open(buf, len, VS_BM25_OWN, &ix, &d) != VS_OK)
        free(buf);
    return ix;
}

static void test_pruned_equals_exhaustive(void)
{
    rng_state = 0x2545F4914F6CDD1DULL;
    enum { NV = 3000, NSEG = 3, NQ = 400 };
    static double cdf[NV];
    double sum = 0;
    for (size_t r = 0; r < NV; r++)
        cdf[r] = (sum += 1.0 / (double)(r + 1));
    for (size_t r = 0; r < NV; r++)
        cdf[r] /= sum;
    struct vs_bm25 *ix[NSEG];
    static uint64_t live[NSEG][4000 / 64 + 1], filt[NSEG][4000 / 64 + 1];
    struct vs_bm25_view views[NSEG];
    size_t sizes[NSEG] = {4000, 1500, 2500};
    for (size_t s = 0; s < NSEG; s++) {
        ix[s] = random_index(sizes[s], cdf, NV);
        CHECK(ix[s] != NULL);
        if (!ix[s])
            return;
        for (size_t w = 0; w < 4000 / 64 + 1; w++) {
            live[s][w] = rnd() | rnd(); /* about 3 rows in 4 live */
            filt[s][w] = rnd() | rnd() | rnd();
        }
        views[s] = (struct vs_bm25_view){ix[s], NULL, NULL, NULL, NULL};
    }
    /* the frequent terms have lists long enough for skip entries */
    CHECK(vs_bm25_df(ix[0], "w0", 2) >= SKIP_MIN);
    struct vs_analyzer *an;
    struct vs_diag d;
    CHECK(vs_analyzer_new(PLAIN, &an, &d) == VS_OK);
    struct vs_bm25_scratch *sc = vs_bm25_scratch_new();
    struct vs_bm25_hit a[64], b[64];
    size_t pruned = 0, fewer = 0, nonempty = 0, bad = 0;
    const size_t ks[] = {1, 3, 10, 64};
    for (size_t qi = 0; qi < NQ; qi++) {
        char qtext[512];
        size_t nt = 2 + rnd() % 6, at = 0;
        for (size_t t = 0; t < nt; t++) {
            /* mostly Zipf words (repeats too), some absent from the index */
            if (rnd() % 10 == 0)
                at += (size_t)snprintf(qtext + at, sizeof qtext - at, "absent%zu ", t);
            else
                at += (size_t)snprintf(qtext + at, sizeof qtext - at, "w%zu ",
                                       zipf(cdf, NV));
        }
        struct vs_bm25_query *q;
        CHECK(vs_bm25_query_parse(an, qtext, &q, &d) == VS_OK);
        size_t nv = 1 + rnd() % NSEG, k = ks[rnd() % 4];
        for (size_t s = 0; s < NSEG; s++) {
            views[s].live = rnd() % 3 == 0 ? live[s] : NULL;
            views[s].filter = rnd() % 3 == 0 ? filt[s] : NULL;
        }
        struct vs_bm25_params p = {VS_BM25_K1_DEFAULT, VS_BM25_B_DEFAULT};
        if (qi % 7 == 1)
            p = (struct vs_bm25_params){0, 0.75}; /* the bound is reached */
        else if (qi % 7 == 2)
            p = (struct vs_bm25_params){2.0, qi % 2 ? 0.0 : 1.0};
        struct vs_bm25_search_stats sa, sb;
        size_t na = 99, nb = 99;
        int ra = vs_bm25_search_opt(views, nv, q, &p, k, sc, a, &na, &sa, 2, &d);
        int rb = vs_bm25_search_opt(views, nv, q, &p, k, NULL, b, &nb, &sb, 0, &d);
        CHECK_EQ_INT(ra, VS_OK);
        CHECK_EQ_INT(rb, VS_OK);
        int same = na == nb;
        for (size_t h = 0; same && h < na; h++)
            same = a[h].view == b[h].view && a[h].row == b[h].row &&
                   memcmp(&a[h].score, &b[h].score, sizeof a[h].score) == 0;
        if (!same && bad++ < 3)
            printf("#   query '%s' k %zu views %zu: pruned %zu hits, exhaustive %zu\n",
                   qtext, k, nv, na, nb);
        CHECK_EQ_INT(sb.pruned, 0);
        pruned += sa.pruned > 0;
        fewer += sa.postings < sb.postings;
        nonempty += nb > 0;
        vs_bm25_query_free(q);
    }
    CHECK_EQ_INT(bad, 0);
    /* pruning happened on many queries and read fewer postings */
    CHECK(nonempty > NQ / 2);
    CHECK(pruned > NQ / 4);
    CHECK(fewer > NQ / 4);
    vs_bm25_scratch_free(sc);
    vs_analyzer_free(an);
    for (size_t s = 0; s < NSEG; s++)
        vs_bm25_close(ix[s]);
}

/* Queries pruning does not apply to (required, excluded, phrases, one
 * term) give the same hits through both entry points too. */
static void test_other_queries_unchanged(void)
{
    rng_state = 0x9E3779B97F4A7C15ULL;
    enum { NV = 200 };
    static double cdf[NV];
    double sum = 0;
    for (size_t r = 0; r < NV; r++)
        cdf[r] = (sum += 1.0 / (double)(r + 1));
    for (size_t r = 0; r < NV; r++)
        cdf[r] /= sum;
    struct vs_bm25 *ix = random_index(3000, cdf, NV);
    CHECK(ix != NULL);
    if (!ix)
        return;
    struct vs_bm25_view v = {ix, NULL, NULL, NULL, NULL};
    struct vs_analyzer *an;
    struct vs_diag d;
    CHECK(vs_analyzer_new(PLAIN, &an, &d) == VS_OK);
    const char *qs[] = {"w1", "+w0 w3 w7", "w0 -w1 w5", "\"w0 w1\" w2", "w4 w4 w4"};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        struct vs_bm25_query *q;
        struct vs_bm25_hit a[10], b[10];
        struct vs_bm25_search_stats sa;
        size_t na, nb;
        CHECK(vs_bm25_query_parse(an, qs[i], &q, &d) == VS_OK);
        CHECK(vs_bm25_search(&v, 1, q, NULL, 10, NULL, a, &na, &sa, &d) == VS_OK);
        CHECK(vs_bm25_search_opt(&v, 1, q, NULL, 10, NULL, b, &nb, NULL, 0, &d) == VS_OK);
        CHECK_EQ_INT(na, nb);
        CHECK(na > 0);
        CHECK_EQ_INT(sa.pruned, 0);
        for (size_t h = 0; h < na && h < nb; h++)
            CHECK(a[h].row == b[h].row && a[h].score == b[h].score);
        vs_bm25_query_free(q);
    }
    vs_analyzer_free(an);
    vs_bm25_close(ix);
}

static void zipf_cdf(double *cdf, size_t nv)
{
    double sum = 0;
    for (size_t r = 0; r < nv; r++)
        cdf[r] = (sum += 1.0 / (double)(r + 1));
    for (size_t r = 0; r < nv; r++)
        cdf[r] /= sum;
}

/* n random queries of optional terms over ix (2 .. 5 Zipf words), pruned
 * and exhaustive; 1 when every answer of the n is the same in a and b. */
static int same_answers(struct vs_bm25 *ia, struct vs_bm25 *ib, const double *cdf,
                        size_t nv, size_t nq, size_t *pruned)
{
    struct vs_analyzer *an;
    struct vs_diag d;
    if (vs_analyzer_new(PLAIN, &an, &d) != VS_OK)
        return 0;
    struct vs_bm25_view va = {ia, NULL, NULL, NULL, NULL}, vb = {ib, NULL, NULL, NULL, NULL};
    int ok = 1;
    for (size_t qi = 0; qi < nq && ok; qi++) {
        char qtext[256];
        size_t nt = 2 + rnd() % 4, at = 0, k = 1 + rnd() % 20;
        for (size_t t = 0; t < nt; t++)
            at += (size_t)snprintf(qtext + at, sizeof qtext - at, "w%zu ", zipf(cdf, nv));
        struct vs_bm25_query *q;
        if (vs_bm25_query_parse(an, qtext, &q, &d) != VS_OK)
            return 0;
        struct vs_bm25_hit h[4][20];
        size_t n[4];
        struct vs_bm25_search_stats st;
        ok = vs_bm25_search_opt(&va, 1, q, NULL, k, NULL, h[0], &n[0], &st, 2, &d) == VS_OK &&
             vs_bm25_search_opt(&va, 1, q, NULL, k, NULL, h[1], &n[1], NULL, 0, &d) == VS_OK &&
             vs_bm25_search_opt(&vb, 1, q, NULL, k, NULL, h[2], &n[2], NULL, 2, &d) == VS_OK &&
             vs_bm25_search_opt(&vb, 1, q, NULL, k, NULL, h[3], &n[3], NULL, 0, &d) == VS_OK;
        *pruned += st.pruned > 0;
        for (int x = 1; x < 4 && ok; x++) {
            ok = n[x] == n[0];
            for (size_t i = 0; ok && i < n[0]; i++)
                ok = h[x][i].row == h[0][i].row &&
                     memcmp(&h[x][i].score, &h[0][i].score, sizeof h[0][i].score) == 0;
        }
        if (!ok)
            printf("#   query '%s' k %zu: answers differ\n", qtext, k);
        vs_bm25_query_free(q);
    }
    vs_analyzer_free(an);
    return ok;
}

/* tests/fixtures/bm25-v1.idx was written by the version 1 writer (commit
 * d1b66bd) from these documents: 3,000 of random_buf() with seed
 * 0xB25B25B25 and a Zipf vocabulary of 300 words. */
static void test_version1_fixture(void)
{
    FILE *fp = fopen("tests/fixtures/bm25-v1.idx", "rb");
    if (!fp)
        SKIP("tests/fixtures/bm25-v1.idx not found from the working directory");
    static uint8_t old[1 << 17];
    size_t olen = fread(old, 1, sizeof old, fp);
    fclose(fp);
    CHECK(olen > 128 && olen < sizeof old);
    CHECK_EQ_INT(old[8], 1); /* format version 1 */
    enum { NV = 300 };
    static double cdf[NV];
    zipf_cdf(cdf, NV);
    rng_state = 0xB25B25B25ULL;
    size_t nlen;
    void *nbuf = random_buf(3000, cdf, NV, &nlen);
    CHECK(nbuf != NULL);
    if (!nbuf)
        return;
    CHECK_EQ_INT(((uint8_t *)nbuf)[8], VS_BM25_FORMAT);
    CHECK(VS_BM25_FORMAT == 2);
    /* the skip streams cost a few per cent */
    CHECK(nlen > olen && nlen < olen + olen / 20);
    printf("#   version 1: %zu bytes, version 2: %zu bytes\n", olen, nlen);
    struct vs_bm25 *a = NULL, *b = NULL;
    struct vs_diag d;
    CHECK_EQ_INT(vs_bm25_open(old, olen, 0, &a, &d), VS_OK);
    CHECK_EQ_INT(vs_bm25_open(nbuf, nlen, VS_BM25_OWN, &b, &d), VS_OK);
    if (!a || !b) {
        vs_bm25_close(a);
        vs_bm25_close(b);
        return;
    }
    CHECK_EQ_INT(vs_bm25_docs(a), vs_bm25_docs(b));
    CHECK_EQ_INT(vs_bm25_terms(a), vs_bm25_terms(b));
    CHECK(vs_bm25_df(a, "w0", 2) >= SKIP_MIN);
    size_t pruned = 0;
    CHECK(same_answers(a, b, cdf, NV, 200, &pruned));
    CHECK(pruned > 50);
    vs_bm25_close(a);
    vs_bm25_close(b);
}

/* Bytes flipped in an index with skip streams: open refuses it or a
 * pruned search answers or fails with VS_E_CORRUPT, never a crash (the
 * sanitizer build checks the memory). */
static void test_damaged_skips(void)
{
    enum { NV = 100 };
    static double cdf[NV];
    zipf_cdf(cdf, NV);
    rng_state = 0x5EED5EEDULL;
    size_t len;
    uint8_t *buf = random_buf(2000, cdf, NV, &len);
    CHECK(buf != NULL);
    if (!buf)
        return;
    uint8_t *copy = malloc(len);
    struct vs_analyzer *an;
    struct vs_diag d;
    CHECK_EQ_INT(vs_analyzer_new(PLAIN, &an, &d), VS_OK);
    struct vs_bm25_query *q;
    CHECK_EQ_INT(vs_bm25_query_parse(an, "w0 w1 w2 w7 w30", &q, &d), VS_OK);
    int opened = 0, failed = 0;
    for (int trial = 0; trial < 300; trial++) {
        memcpy(copy, buf, len);
        for (int f = 0; f < 2; f++)
            copy[128 + rnd() % (len - 128)] ^= (uint8_t)(1u << (rnd() % 8));
        struct vs_bm25 *ix;
        if (vs_bm25_open(copy, len, 0, &ix, &d) != VS_OK)
            continue;
        opened++;
        struct vs_bm25_view v = {ix, NULL, NULL, NULL, NULL};
        struct vs_bm25_hit h[10];
        size_t n;
        int rc = vs_bm25_search_opt(&v, 1, q, NULL, 10, NULL, h, &n, NULL, 2, &d);
        if (rc != VS_OK && rc != VS_E_CORRUPT && rc != VS_E_MISMATCH)
            printf("#   search: %s\n", d.detail);
        CHECK(rc == VS_OK || rc == VS_E_CORRUPT || rc == VS_E_MISMATCH); /* analyzer id */
        failed += rc == VS_E_CORRUPT;
        vs_bm25_close(ix);
    }
    CHECK(opened > 0);
    printf("#   %d of 300 damaged copies opened, %d searches refused\n", opened, failed);
    vs_bm25_query_free(q);
    vs_analyzer_free(an);
    free(copy);
    free(buf);
}

int main(void)
{
    RUN(test_pruned_equals_exhaustive);
    RUN(test_other_queries_unchanged);
    RUN(test_version1_fixture);
    RUN(test_damaged_skips);
    return vs_test_done();
}
