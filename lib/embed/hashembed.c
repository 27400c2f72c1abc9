/* hashembed.c: the zero-dependency hash embedder ("hash-v1").
 *
 * For each text (docs/embedding.md is the full description):
 *  1. Normalise: Unicode NFKC with case folding (utf8proc: COMPAT + COMPOSE +
 *     CASEFOLD + STABLE).
 *  2. Words: maximal runs of code points of category letter, mark or number.
 *     A text with no such code point (punctuation, symbols, ASCII art) takes
 *     as words the maximal runs of code points that are not white space
 *     (categories Z*, Cc, Cf), with the same features and seeds.
 *  3. Features, each hashed with XXH64 and a fixed seed per kind:
 *       word unigram   XXH64(word UTF-8, seed 0x7631)               weight 1.0
 *       word bigram    XXH64(LE64(h(w1)) LE64(h(w2)), seed 0x7632)  weight 0.5
 *       char n-gram    XXH64(n-gram UTF-8, seed 0x7633)             weight 1.0
 *     where char n-grams are the n = 3, 4, 5 code point substrings of
 *     "<" word ">" (the angle brackets mark the word's boundaries).
 *  4. Each distinct feature with term frequency tf adds
 *     sign * weight * (1 + ln tf) to bucket (h mod 2^32) mod dim, where sign is
 *     -1 when bit 63 of h is set, else +1 (signed feature hashing).
 *  5. The vector is L2-normalised. A text with no features (empty or all
 *     white space) is an error; features that cancel to a zero vector give
 *     the unit vector on bucket 0.
 * Sums are in double, in the order in which features first occur in the
 * text, so the result does not depend on the machine, the thread count or
 * the batch.
 */
#include "embed_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include <xxhash.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define SEED_WORD 0x7631u
#define SEED_BIGRAM 0x7632u
#define SEED_CHAR 0x7633u
#ifndef W_WORD /* overridable only to experiment; hash-v1 is these values */
#define W_WORD 1.0
#define W_BIGRAM 0.5
#define W_CHAR 1.0
#endif
#define NGRAM_MIN 3
#define NGRAM_MAX 5

struct feature {
    uint64_t h;
    uint32_t kind; /* 0 word, 1 bigram, 2 char n-gram */
};

struct slot {
    uint64_t h;
    uint32_t kind;
    uint32_t tf; /* 0 = empty */
};

/* Per-thread scratch, grown before the parallel region. */
struct scratch {
    utf8proc_int32_t *cps; /* normalised code points */
    size_t cps_cap;
    unsigned char *buf; /* one marked word, UTF-8 */
    size_t *off;        /* byte offset of each code point of the marked word */
    size_t word_cap;    /* capacity of buf (bytes) and off (entries) */
    struct feature *feat;
    size_t feat_cap;
    struct slot *tab; /* counting table, a power of two */
    size_t tab_cap;
    size_t *uniq; /* table slots in order of first occurrence */
    size_t uniq_cap;
    double *acc;
};

struct hashembed {
    size_t dim;
    struct scratch *sc;
    int nsc;
};

static int grow(void **p, size_t *cap, size_t want, size_t elsize)
{
    if (*cap >= want)
        return 0;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < want)
        ncap *= 2;
    void *q = realloc(*p, ncap * elsize);
    if (!q)
        return -1;
    *p = q;
    *cap = ncap;
    return 0;
}

static int scratch_reserve(struct scratch *s, size_t len, size_t dim)
{
    size_t cap = s->cps_cap;
    if (grow((void **)&s->cps, &cap, len + 1, sizeof *s->cps))
        return -1;
    s->cps_cap = cap;
    size_t wcap = s->word_cap, wcap2 = s->word_cap;
    if (grow((void **)&s->buf, &wcap, 4 * (len + 1) + 2, 1) ||
        grow((void **)&s->off, &wcap2, 4 * (len + 1) + 2, sizeof *s->off))
        return -1;
    s->word_cap = wcap < wcap2 ? wcap : wcap2;
    if (grow((void **)&s->feat, &s->feat_cap, 5 * (len + 1) + 16,
             sizeof *s->feat))
        return -1;
    if (!s->acc && !(s->acc = malloc(dim * sizeof *s->acc)))
        return -1;
    return 0;
}

static int is_word_cp(utf8proc_int32_t c)
{
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return 1;
    default:
        return 0;
    }
}

/* Words of a text without letters, marks or numbers: anything but white
 * space and control or format characters. */
static int is_symbol_cp(utf8proc_int32_t c)
{
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP: case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
        return 0;
    default:
        return 1;
    }
}

/* The words of a text as step 2 above finds them, before normalising:
 * runs of letters, marks and numbers, else (none) runs of symbols. */
size_t vs_hashembed_count_words(const char *text, size_t len)
{
    size_t n[2] = {0, 0};
    int in[2] = {0, 0};
    utf8proc_ssize_t i = 0;
    while ((size_t)i < len) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)text + i,
                                              (utf8proc_ssize_t)len - i, &c);
        if (k <= 0) { /* not UTF-8: one byte, a break */
            in[0] = in[1] = 0;
            i++;
            continue;
        }
        int w = is_word_cp(c), s = is_symbol_cp(c);
        n[0] += w && !in[0];
        n[1] += s && !in[1];
        in[0] = w;
        in[1] = s;
        i += k;
    }
    return n[0] ? n[0] : n[1];
}

static void le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Normalise text into s->cps; returns the count, or -1 on bad UTF-8, -2 on
 * memory. */
static long normalise(struct scratch *s, const char *text, size_t len)
{
    const utf8proc_option_t opt = UTF8PROC_STABLE | UTF8PROC_COMPAT |
                                  UTF8PROC_CASEFOLD | UTF8PROC_COMPOSE;
    for (;;) {
        utf8proc_ssize_t r = utf8proc_decompose(
            (const utf8proc_uint8_t *)text, (utf8proc_ssize_t)len, s->cps,
            (utf8proc_ssize_t)s->cps_cap, opt);
        if (r < 0)
            return r == UTF8PROC_ERROR_NOMEM ? -2 : -1;
        if ((size_t)r > s->cps_cap) {
            if (grow((void **)&s->cps, &s->cps_cap, (size_t)r, sizeof *s->cps))
                return -2;
            continue;
        }
        r = utf8proc_normalize_utf32(s->cps, r, opt);
        if (r < 0)
            return -1;
        return (long)r;
    }
}

static size_t features(struct scratch *s, long ncp, int (*is_word)(utf8proc_int32_t));
static int sum_features(struct scratch *s, size_t nf, size_t dim, float *out);

static int embed_text(struct scratch *s, size_t dim, const char *text,
                      size_t len, float *out)
{
    memset(out, 0, dim * sizeof *out);
    long ncp = normalise(s, text, len);
    if (ncp == -2)
        return VS_E_NOMEM;
    if (ncp < 0)
        return VS_E_DATA;
    /* Decomposition may make more code points than bytes: make room. */
    size_t need = (size_t)ncp > len ? (size_t)ncp : len;
    size_t wcap = s->word_cap, wcap2 = s->word_cap;
    if (grow((void **)&s->buf, &wcap, 4 * (need + 1) + 2, 1) ||
        grow((void **)&s->off, &wcap2, 4 * (need + 1) + 2, sizeof *s->off) ||
        grow((void **)&s->feat, &s->feat_cap, 5 * (need + 1) + 16,
             sizeof *s->feat))
        return VS_E_NOMEM;
    s->word_cap = wcap < wcap2 ? wcap : wcap2;

    size_t nf = features(s, ncp, is_word_cp);
    if (nf == 0)
        nf = features(s, ncp, is_symbol_cp);
    if (nf == 0)
        return VS_E_FIELD;
    return sum_features(s, nf, dim, out);
}

/* The features of the words of s->cps[0..ncp) (words: runs of code points
 * for which is_word is true) into s->feat; returns their count. */
static size_t features(struct scratch *s, long ncp, int (*is_word)(utf8proc_int32_t))
{
    size_t nf = 0;
    uint64_t prev = 0;
    int have_prev = 0;
    long i = 0;
    while (i < ncp) {
        if (!is_word(s->cps[i])) {
            i++;
            continue;
        }
        long j = i;
        size_t nb = 0, k = 0;
        s->buf[nb] = '<';
        s->off[k++] = nb++;
        while (j < ncp && is_word(s->cps[j])) {
            s->off[k++] = nb;
            nb += (size_t)utf8proc_encode_char(s->cps[j], s->buf + nb);
            j++;
        }
        s->off[k] = nb;
        s->buf[nb++] = '>';
        s->off[k + 1] = nb; /* k + 1 code points in the marked word */
        size_t mcp = k + 1;
        /* unigram over the word without markers */
        uint64_t hw = XXH64(s->buf + 1, nb - 2, SEED_WORD);
        s->feat[nf++] = (struct feature){hw, 0};
        if (have_prev) {
            unsigned char pair[16];
            le64(pair, prev);
            le64(pair + 8, hw);
            s->feat[nf++] = (struct feature){XXH64(pair, 16, SEED_BIGRAM), 1};
        }
        prev = hw;
        have_prev = 1;
        for (size_t n = NGRAM_MIN; n <= NGRAM_MAX; n++)
            for (size_t a = 0; a + n <= mcp; a++)
                s->feat[nf++] = (struct feature){
                    XXH64(s->buf + s->off[a], s->off[a + n] - s->off[a],
                          SEED_CHAR), 2};
        i = j;
    }
    return nf;
}

/* Sum the nf features of s->feat into out (dim floats, L2-normalised). */
static int sum_features(struct scratch *s, size_t nf, size_t dim, float *out)
{
    /* Count each distinct (hash, kind) in an open-addressing table; sum in
     * the order of first occurrence. */
    size_t cap = 16;
    while (cap < 2 * nf)
        cap *= 2;
    if (grow((void **)&s->tab, &s->tab_cap, cap, sizeof *s->tab) ||
        grow((void **)&s->uniq, &s->uniq_cap, nf, sizeof *s->uniq))
        return VS_E_NOMEM;
    memset(s->tab, 0, cap * sizeof *s->tab);
    size_t mask = cap - 1, nu = 0;
    for (size_t a = 0; a < nf; a++) {
        uint64_t h = s->feat[a].h;
        uint32_t kind = s->feat[a].kind;
        size_t k = (size_t)(h ^ (h >> 29) ^ kind) & mask;
        while (s->tab[k].tf && (s->tab[k].h != h || s->tab[k].kind != kind))
            k = (k + 1) & mask;
        if (!s->tab[k].tf) {
            s->tab[k].h = h;
            s->tab[k].kind = kind;
            s->uniq[nu++] = k;
        }
        s->tab[k].tf++;
    }
    static const double weight[3] = {W_WORD, W_BIGRAM, W_CHAR};
    double *acc = s->acc;
    memset(acc, 0, dim * sizeof *acc);
    for (size_t u = 0; u < nu; u++) {
        const struct slot *sl = &s->tab[s->uniq[u]];
        double w = weight[sl->kind] * (1.0 + log((double)sl->tf));
        size_t bucket = (size_t)((uint32_t)sl->h % (uint32_t)dim);
        acc[bucket] += (sl->h >> 63) ? -w : w;
    }
    double norm = 0;
    for (size_t k = 0; k < dim; k++)
        norm += acc[k] * acc[k];
    if (!(norm > 0)) { /* the features cancelled: a defined vector all the same */
        out[0] = 1.0f;
        return VS_OK;
    }
    norm = sqrt(norm);
    for (size_t k = 0; k < dim; k++)
        out[k] = (float)(acc[k] / norm);
    return VS_OK;
}

static int hash_embed(void *state, size_t dim, size_t n,
                      const char *const *texts, const size_t *lens,
                      float *out, int *st)
{
    struct hashembed *h = state;
    size_t maxlen = 0;
    for (size_t i = 0; i < n; i++)
        if (lens[i] > maxlen)
            maxlen = lens[i];
    int nt = h->nsc;
    if ((size_t)nt > n)
        nt = (int)n;
    for (int t = 0; t < nt; t++)
        if (scratch_reserve(&h->sc[t], maxlen, dim))
            return VS_E_NOMEM;
    int nomem = 0;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 4) reduction(|:nomem)
#endif
    for (long i = 0; i < (long)n; i++) {
        int t = 0;
#ifdef _OPENMP
        t = omp_get_thread_num();
#endif
        st[i] = embed_text(&h->sc[t], dim, texts[i], lens[i], out + (size_t)i * dim);
        if (st[i] == VS_E_NOMEM)
            nomem = 1;
    }
    return nomem ? VS_E_NOMEM : VS_OK;
}

static void hash_free(void *state)
{
    struct hashembed *h = state;
    if (!h)
        return;
    for (int t = 0; t < h->nsc; t++) {
        free(h->sc[t].cps);
        free(h->sc[t].buf);
        free(h->sc[t].off);
        free(h->sc[t].feat);
        free(h->sc[t].tab);
        free(h->sc[t].uniq);
        free(h->sc[t].acc);
    }
    free(h->sc);
    free(h);
}

static const struct vs_embed_ops hash_ops = {"hash", hash_embed, hash_free};

int vs_hashembed_create(size_t dim, const struct vs_embed_ops **ops,
                        void **state)
{
    struct hashembed *h = calloc(1, sizeof *h);
    if (!h)
        return VS_E_NOMEM;
    h->dim = dim;
    h->nsc = 1;
#ifdef _OPENMP
    h->nsc = omp_get_max_threads();
    if (h->nsc < 1)
        h->nsc = 1;
#endif
    h->sc = calloc((size_t)h->nsc, sizeof *h->sc);
    if (!h->sc) {
        free(h);
        return VS_E_NOMEM;
    }
    *ops = &hash_ops;
    *state = h;
    return VS_OK;
}
