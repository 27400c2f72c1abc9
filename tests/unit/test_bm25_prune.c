/* test_bm25_prune.c: top-k pruning of BM25 search (block-max MaxScore,
 * document at a time, bm25_search.c) gives the hits of exhaustive scoring:
 * the same views, rows and scores (bit for bit), on random corpora with a
 * Zipf vocabulary, random queries of optional terms, several segments,
 * deleted rows, filters and parameters; pruning does happen (postings left
 * unread); the (tf, length) fronts of the skip entries cover every posting
 * of their block and their bound is the block's largest score (coarsened
 * fronts too); version 1 and 2 indexes (tests/fixtures/bm25-v1.idx, no
 * stored skip entries; bm25-v2.idx, a front of one pair per block) still
 * open and answer as the version 3 index of the same documents; damaged
 * skip streams give errors, never a crash. */
#include "test.h"

#include <inttypes.h>

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
    CHECK(VS_BM25_FORMAT == 3);
    /* the skip streams cost a few per cent */
    CHECK(nlen > olen && nlen < olen + olen / 20);
    printf("#   version 1: %zu bytes, version 3: %zu bytes\n", olen, nlen);
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

/* tests/fixtures/bm25-v2.idx was written by the version 2 writer (commit
 * f645fd5: per block the largest tf and the smallest length) from the
 * documents of bm25-v1.idx. It opens and answers as the version 3 index
 * of the same documents, whose bounds are tighter: pruned searches decode
 * fewer postings over it. */
static void test_version2_fixture(void)
{
    FILE *fp = fopen("tests/fixtures/bm25-v2.idx", "rb");
    if (!fp)
        SKIP("tests/fixtures/bm25-v2.idx not found from the working directory");
    static uint8_t old[1 << 17];
    size_t olen = fread(old, 1, sizeof old, fp);
    fclose(fp);
    CHECK(olen > 128 && olen < sizeof old);
    CHECK_EQ_INT(old[8], 2); /* format version 2 */
    enum { NV = 300 };
    static double cdf[NV];
    zipf_cdf(cdf, NV);
    rng_state = 0xB25B25B25ULL;
    size_t nlen;
    void *nbuf = random_buf(3000, cdf, NV, &nlen);
    CHECK(nbuf != NULL);
    if (!nbuf)
        return;
    printf("#   version 2: %zu bytes, version 3: %zu bytes\n", olen, nlen);
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
    size_t pruned = 0;
    CHECK(same_answers(a, b, cdf, NV, 200, &pruned));
    CHECK(pruned > 50);
    /* the same pruned queries decode fewer postings with the fronts */
    struct vs_analyzer *an;
    CHECK_EQ_INT(vs_analyzer_new(PLAIN, &an, &d), VS_OK);
    uint64_t pa = 0, pb = 0;
    for (size_t qi = 0; qi < 100; qi++) {
        char qtext[256];
        size_t at = 0;
        for (size_t t = 0; t < 3; t++)
            at += (size_t)snprintf(qtext + at, sizeof qtext - at, "w%zu ", zipf(cdf, NV));
        struct vs_bm25_query *q;
        CHECK_EQ_INT(vs_bm25_query_parse(an, qtext, &q, &d), VS_OK);
        struct vs_bm25_view va = {a, NULL, NULL, NULL, NULL}, vb = {b, NULL, NULL, NULL, NULL};
        struct vs_bm25_hit h[10];
        size_t n;
        struct vs_bm25_search_stats sa, sb;
        CHECK_EQ_INT(vs_bm25_search_opt(&va, 1, q, NULL, 10, NULL, h, &n, &sa, 2, &d), VS_OK);
        CHECK_EQ_INT(vs_bm25_search_opt(&vb, 1, q, NULL, 10, NULL, h, &n, &sb, 2, &d), VS_OK);
        pa += sa.postings;
        pb += sb.postings;
        vs_bm25_query_free(q);
    }
    printf("#   postings decoded by 100 pruned queries: version 2 %llu, version 3 %llu\n",
           (unsigned long long)pa, (unsigned long long)pb);
    CHECK(pb < pa);
    vs_analyzer_free(an);
    vs_bm25_close(a);
    vs_bm25_close(b);
}

/* The front helpers against brute force on random (tf, length) sets: the
 * front is the set's undominated pairs (tf and length both rising), a
 * capped front dominates every pair, covers() agrees with domination. */
static void test_front_helpers(void)
{
    rng_state = 0xF207F207ULL;
    for (int trial = 0; trial < 2000; trial++) {
        struct vs_bm25_pair all[SKIP_EVERY], f[SKIP_EVERY + 1];
        uint32_t n = 1 + (uint32_t)(rnd() % SKIP_EVERY), nf = 0;
        uint32_t tfmax = 1 + (uint32_t)(rnd() % 40), dlmax = 1 + (uint32_t)(rnd() % 100);
        for (uint32_t i = 0; i < n; i++) {
            all[i] = (struct vs_bm25_pair){1 + (uint32_t)(rnd() % tfmax),
                                           (uint32_t)(rnd() % dlmax)};
            vs_bm25_front_add(f, &nf, all[i].tf, all[i].dl);
        }
        int ok = nf >= 1;
        for (uint32_t j = 1; j < nf; j++)
            ok &= f[j].tf > f[j - 1].tf && f[j].dl > f[j - 1].dl;
        /* each pair of the set: dominated by the front; each front pair: in
         * the set and dominated by no other pair of it */
        for (uint32_t i = 0; i < n; i++) {
            int dom = 0;
            for (uint32_t j = 0; j < nf; j++)
                dom |= f[j].tf >= all[i].tf && f[j].dl <= all[i].dl;
            ok &= dom && vs_bm25_front_covers(f, nf, all[i].tf, all[i].dl);
        }
        for (uint32_t j = 0; j < nf; j++) {
            int in = 0, beaten = 0;
            for (uint32_t i = 0; i < n; i++) {
                in |= all[i].tf == f[j].tf && all[i].dl == f[j].dl;
                beaten |= all[i].tf >= f[j].tf && all[i].dl <= f[j].dl &&
                          (all[i].tf != f[j].tf || all[i].dl != f[j].dl);
            }
            ok &= in && !beaten;
        }
        /* a pair no front pair dominates is not covered */
        uint32_t tf = 1 + (uint32_t)(rnd() % (tfmax + 2)), dl = (uint32_t)(rnd() % dlmax);
        int dom = 0;
        for (uint32_t j = 0; j < nf; j++)
            dom |= f[j].tf >= tf && f[j].dl <= dl;
        ok &= dom == vs_bm25_front_covers(f, nf, tf, dl);
        vs_bm25_front_cap(f, &nf);
        ok &= nf >= 1 && nf <= FRONT_MAX;
        for (uint32_t j = 1; j < nf; j++)
            ok &= f[j].tf > f[j - 1].tf && f[j].dl > f[j - 1].dl;
        for (uint32_t i = 0; i < n; i++)
            ok &= vs_bm25_front_covers(f, nf, all[i].tf, all[i].dl);
        CHECK(ok);
        if (!ok)
            return;
    }
}

/* Documents of a few words repeated many times (tf 1 to 60, lengths 1 to
 * 400): long fronts, some coarsened to FRONT_MAX. Every posting of every
 * block is covered by its front; where the front was not coarsened its
 * bound is the block's largest score exactly; pruned answers are those of
 * exhaustive scoring. */
static void test_long_fronts(void)
{
    rng_state = 0x10F207ULL;
    struct vs_bm25_builder *bld;
    struct vs_diag d;
    CHECK_EQ_INT(vs_bm25_builder_new(PLAIN, &bld, &d), VS_OK);
    static char text[8192];
    enum { NDOCS = 3000 };
    for (size_t i = 0; i < NDOCS; i++) {
        size_t at = 0, len = 1 + rnd() % 400;
        size_t nw = 1 + rnd() % 8; /* words w0 .. w(nw-1), w0 the most */
        for (size_t w = 0; w < len; w++) {
            size_t span = 1 + rnd() % nw; /* two draws, in this order */
            at += (size_t)snprintf(text + at, sizeof text - at, "w%zu ",
                                   (size_t)(rnd() % span));
        }
        CHECK_EQ_INT(vs_bm25_builder_add(bld, i, text, at, &d), VS_OK);
    }
    void *buf;
    size_t len;
    CHECK_EQ_INT(vs_bm25_builder_finish(bld, &buf, &len, &d), VS_OK);
    vs_bm25_builder_free(bld);
    struct vs_bm25 *ix;
    CHECK_EQ_INT(vs_bm25_open(buf, len, VS_BM25_OWN, &ix, &d), VS_OK);
    struct {
        double k1, b;
    } ps[] = {{1.2, 0.75}, {0.5, 1.0}, {3.0, 0.3}, {2.0, 0.0}};
    double avgdl = (double)vs_bm25_total_len(ix) / (double)vs_bm25_docs(ix);
    size_t capped = 0, exact = 0, blocks = 0;
    int ok = 1;
    for (long t = 0; t < (long)vs_bm25_terms(ix) && ok; t++) {
        const uint8_t *p0;
        const struct vs_bm25_skips *sk;
        if (ix->t_df[t] < SKIP_MIN)
            continue;
        CHECK_EQ_INT(vs_bm25_postings(ix, t, &p0, &d), VS_OK);
        CHECK_EQ_INT(vs_bm25_skips_get(ix, t, p0, &sk, &d), VS_OK);
        struct plist l;
        CHECK_EQ_INT(vs_bm25_plist_load(ix, t, &l, &d), VS_OK);
        if (!sk || !l.n)
            return;
        for (uint32_t bi = 0; bi < sk->n; bi++) {
            const struct vs_bm25_skip *e = &sk->e[bi];
            const struct vs_bm25_pair *f = sk->pairs + e->pf;
            blocks++;
            capped += e->np == FRONT_MAX;
            for (size_t x = 0; x < sizeof ps / sizeof ps[0]; x++) {
                double best = 0, bound = 0;
                for (uint32_t i = bi * SKIP_EVERY; i < l.n && i < (bi + 1) * SKIP_EVERY; i++) {
                    uint32_t dl = (uint32_t)vs_bm25_doc_len(ix, l.rows[i]);
                    ok &= vs_bm25_front_covers(f, e->np, l.tfs[i], dl);
                    double v = l.tfs[i] * (ps[x].k1 + 1) /
                               (l.tfs[i] + ps[x].k1 * (1 - ps[x].b + ps[x].b * dl / avgdl));
                    if (v > best)
                        best = v;
                }
                for (uint32_t j = 0; j < e->np; j++) {
                    double v = f[j].tf * (ps[x].k1 + 1) /
                               (f[j].tf + ps[x].k1 * (1 - ps[x].b + ps[x].b * f[j].dl / avgdl));
                    if (v > bound)
                        bound = v;
                }
                ok &= bound >= best;
                if (e->np < FRONT_MAX) {
                    ok &= bound == best;
                    exact++;
                }
            }
        }
        vs_bm25_plist_release(&l);
    }
    CHECK(ok);
    printf("#   %zu blocks, %zu with a coarsened front\n", blocks, capped);
    CHECK(capped > 0);
    CHECK(exact > 0);
    double cdf[8];
    zipf_cdf(cdf, 8);
    size_t pruned = 0;
    CHECK(same_answers(ix, ix, cdf, 8, 200, &pruned));
    CHECK(pruned > 20);
    vs_bm25_close(ix);
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

/* The length norms come from a table made per scratch (bm25_search.c):
 * every score is still bit for bit that of the BM25 formula, for lengths
 * in the table and beyond it (NORM_MAX 65,536), many k1 and b, a scratch
 * reused across parameters or none, one term (exhaustive) and two (pruned
 * and exhaustive), over two indexes whose average length is global. */
enum { NORM_DOCS0 = 420, NORM_DOCS1 = 300 };
static const uint32_t norm_long[] = {500, 1000, 4095, 4096, 65535, 65536, 65537, 70001};

/* Document i of index x: its length and its tfs of "t" and "u". */
static void norm_doc(int x, size_t i, uint32_t *dl, uint32_t *tf, uint32_t *uf)
{
    size_t nl = sizeof norm_long / sizeof norm_long[0];
    if (x == 0)
        *dl = i < NORM_DOCS0 - nl ? (uint32_t)i + 1 : norm_long[i - (NORM_DOCS0 - nl)];
    else
        *dl = (uint32_t)(3 + (i * 37) % 900);
    *tf = 1 + (uint32_t)(i % 7);
    if (*tf > *dl)
        *tf = *dl;
    *uf = i % 3 == 0 && *dl > *tf ? 1 + (uint32_t)(i % 2) : 0;
    if (*tf + *uf > *dl)
        *uf = *dl - *tf;
}

static struct vs_bm25 *norm_index(int x, size_t ndocs)
{
    struct vs_bm25_builder *b;
    struct vs_diag d;
    struct vs_bm25 *ix = NULL;
    void *buf = NULL;
    size_t len;
    char *text = malloc(2 * 70001 + 16);
    if (!text || vs_bm25_builder_new(PLAIN, &b, &d) != VS_OK) {
        free(text);
        return NULL;
    }
    int ok = 1;
    for (size_t i = 0; i < ndocs && ok; i++) {
        uint32_t dl, tf, uf;
        norm_doc(x, i, &dl, &tf, &uf);
        size_t at = 0;
        for (uint32_t w = 0; w < dl; w++) {
            text[at++] = w < tf ? 't' : w < tf + uf ? 'u' : 'x';
            text[at++] = ' ';
        }
        ok = vs_bm25_builder_add(b, i, text, at, &d) == VS_OK;
    }
    if (ok && vs_bm25_builder_finish(b, &buf, &len, &d) == VS_OK &&
        vs_bm25_open(buf, len, VS_BM25_OWN, &ix, &d) != VS_OK)
        free(buf);
    vs_bm25_builder_free(b);
    free(text);
    return ix;
}

static void test_norm_table_scores(void)
{
    struct vs_bm25 *ix[2] = {norm_index(0, NORM_DOCS0), norm_index(1, NORM_DOCS1)};
    CHECK(ix[0] && ix[1]);
    if (!ix[0] || !ix[1])
        goto done;
    CHECK_EQ_INT(ix[0]->maxdl, 70001);
    struct vs_bm25_view views[2] = {{ix[0], NULL, NULL, NULL, NULL},
                                    {ix[1], NULL, NULL, NULL, NULL}};
    double N = NORM_DOCS0 + NORM_DOCS1, total = 0, dft = N, dfu = 0;
    for (int x = 0; x < 2; x++)
        for (size_t i = 0; i < (x ? NORM_DOCS1 : NORM_DOCS0); i++) {
            uint32_t dl, tf, uf;
            norm_doc(x, i, &dl, &tf, &uf);
            total += dl;
            dfu += uf > 0;
        }
    double avgdl = total / N;
    double idft = log(1 + (N - dft + 0.5) / (dft + 0.5));
    double idfu = log(1 + (N - dfu + 0.5) / (dfu + 0.5));
    struct vs_analyzer *an;
    struct vs_diag d;
    CHECK(vs_analyzer_new(PLAIN, &an, &d) == VS_OK);
    struct vs_bm25_query *q1, *q2;
    CHECK(vs_bm25_query_parse(an, "t", &q1, &d) == VS_OK);
    CHECK(vs_bm25_query_parse(an, "t u", &q2, &d) == VS_OK);
    struct vs_bm25_scratch *sc = vs_bm25_scratch_new();
    static struct vs_bm25_hit h[NORM_DOCS0 + NORM_DOCS1];
    const double k1s[] = {1.2, 0, 0.5, 2, 0.9, 3.7, 1.2, 100};
    const double bs[] = {0.75, 0.5, 0, 1, 0.4, 0.123, 0.75, 0.999};
    size_t bad = 0, checked = 0, beyond = 0, pruned = 0;
    for (size_t pi = 0; pi < sizeof k1s / sizeof k1s[0]; pi++) {
        struct vs_bm25_params p = {k1s[pi], bs[pi]};
        for (int run = 0; run < 4; run++) {
            /* one term, all documents, scratch or none; two terms, top 10,
             * pruned (scratch) and exhaustive (none) */
            struct vs_bm25_query *q = run < 2 ? q1 : q2;
            size_t k = run < 2 ? NORM_DOCS0 + NORM_DOCS1 : 10, n = 0;
            struct vs_bm25_search_stats st;
            CHECK_EQ_INT(vs_bm25_search_opt(views, 2, q, &p, k, run % 2 ? NULL : sc, h,
                                            &n, &st, run == 2 ? 2 : 0, &d),
                         VS_OK);
            CHECK_EQ_INT(n, k);
            pruned += st.pruned > 0;
            for (size_t j = 0; j < n; j++) {
                uint32_t dl, tf, uf;
                norm_doc((int)h[j].view, (size_t)h[j].row, &dl, &tf, &uf);
                double nm = p.k1 * (1 - p.b + p.b * (double)dl / avgdl);
                double want = idft * (tf * (p.k1 + 1) / (tf + nm));
                if (q == q2 && uf)
                    want += idfu * (uf * (p.k1 + 1) / (uf + nm));
                checked++;
                beyond += dl >= 65536;
                if (memcmp(&want, &h[j].score, sizeof want) != 0 && bad++ < 3)
                    printf("#   k1 %g b %g view %u row %" PRIu64 " length %u: %.17g, "
                           "formula %.17g\n", p.k1, p.b, h[j].view, h[j].row, dl,
                           h[j].score, want);
            }
        }
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(checked > 10000);
    CHECK(beyond >= 3 * 2 * 8); /* lengths past the table were scored */
    CHECK(pruned > 0);
    vs_bm25_scratch_free(sc);
    vs_bm25_query_free(q1);
    vs_bm25_query_free(q2);
    vs_analyzer_free(an);
done:
    vs_bm25_close(ix[0]);
    vs_bm25_close(ix[1]);
}

int main(void)
{
    RUN(test_pruned_equals_exhaustive);
    RUN(test_other_queries_unchanged);
    RUN(test_version1_fixture);
    RUN(test_version2_fixture);
    RUN(test_front_helpers);
    RUN(test_long_fronts);
    RUN(test_damaged_skips);
    RUN(test_norm_table_scores);
    return vs_test_done();
}
