/* analyzer.c: Unicode normalisation, case folding, segmentation, stop words
 * and Snowball stemming (see vs_analyzer.h for the rules). */
#include "vs_analyzer.h"
#include "analyzer_internal.h"
#include "hash_internal.h"

#include <libstemmer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

struct vs_analyzer {
    char id[192];
    char lang[64];
    int stop;     /* 1: English stop list */
    int fold;     /* 1: NFKC + case folding */
    int strip;    /* 1: remove combining marks */
    struct sb_stemmer *stemmer; /* NULL: no stemming */
    /* scratch, grown as needed */
    int32_t *cps;
    size_t cps_cap;
    char tok[VS_ANALYZER_MAX_TERM * 2 + 8];
    char stem[VS_ANALYZER_MAX_TERM * 4 + 8];
    /* a direct-mapped cache of token -> term (or stop word), so frequent
     * tokens skip the stop list and the stemmer */
    struct centry *cache;
};

/* One cached token; vlen CACHE_STOP marks a stop word, klen 0 an empty
 * slot. Longer tokens are not cached. */
struct centry {
    uint8_t klen, vlen;
    char key[26];
    char val[32]; /* NUL-terminated */
    uint32_t memo;
};
#define CACHE_SLOTS 16384u
#define CACHE_STOP 0xFFu

/* The English stop list "en": our own, function words only (articles,
 * pronouns, auxiliaries, prepositions, conjunctions), sorted for bsearch.
 * Words carrying meaning in queries ("not", "no", "against", numbers) are
 * deliberately absent. Listed in docs/bm25.md. */
static const char *const stop_en[] = {
    "a", "about", "above", "after", "all", "also", "am", "an", "and", "any",
    "are", "as", "at", "be", "been", "before", "being", "below", "between",
    "both", "but", "by", "can", "could", "did", "do", "does", "doing",
    "during", "each", "for", "from", "further", "had", "has", "have",
    "having", "he", "her", "here", "hers", "herself", "him", "himself", "his",
    "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me",
    "more", "most", "my", "myself", "of", "on", "once", "only", "or", "other",
    "our", "ours", "ourselves", "out", "over", "own", "same", "she", "should",
    "so", "some", "such", "than", "that", "the", "their", "theirs", "them",
    "themselves", "then", "there", "these", "they", "this", "those", "through",
    "to", "too", "under", "until", "up", "very", "was", "we", "were", "what",
    "when", "where", "which", "while", "who", "whom", "why", "will", "with",
    "would", "you", "your", "yours", "yourself", "yourselves",
};
#define NSTOP_EN (sizeof stop_en / sizeof stop_en[0])

const char **vs_analyzer_languages(void)
{
    return sb_stemmer_list();
}

static int lang_known(const char *name)
{
    if (strcmp(name, "none") == 0)
        return 1;
    for (const char **l = sb_stemmer_list(); l && *l; l++)
        if (strcmp(*l, name) == 0)
            return 1;
    return 0;
}

static int parse_flag(const char *v, int *out)
{
    if (strcmp(v, "1") == 0)
        *out = 1;
    else if (strcmp(v, "0") == 0)
        *out = 0;
    else
        return -1;
    return 0;
}

int vs_analyzer_new(const char *spec, struct vs_analyzer **out,
                    struct vs_diag *d)
{
    *out = NULL;
    if (!spec || !*spec)
        spec = VS_ANALYZER_DEFAULT;
    struct vs_analyzer *a = calloc(1, sizeof *a);
    char *copy = strdup(spec);
    int rc = VS_OK;
    if (!a || !copy) {
        rc = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    /* defaults */
    strcpy(a->lang, "english");
    a->stop = 1;
    a->fold = 1;
    a->strip = 1;
    int first = 1;
    char *save = NULL;
    for (char *part = strtok_r(copy, ";", &save); part;
         part = strtok_r(NULL, ";", &save), first = 0) {
        if (first) {
            if (strcmp(part, "v1") != 0) {
                rc = vs_diag_set(d, VS_E_CONFIG,
                                 "analyzer '%s': must start with 'v1'", spec);
                goto done;
            }
            continue;
        }
        char *eq = strchr(part, '=');
        if (!eq) {
            rc = vs_diag_set(d, VS_E_CONFIG,
                             "analyzer '%s': '%s' is not key=value", spec, part);
            goto done;
        }
        *eq = '\0';
        const char *k = part, *v = eq + 1;
        int bad = 0;
        if (strcmp(k, "lang") == 0) {
            if (strlen(v) >= sizeof a->lang || !lang_known(v)) {
                rc = vs_diag_set(d, VS_E_CONFIG,
                                 "analyzer: unknown stemmer language '%s'", v);
                goto done;
            }
            strcpy(a->lang, v);
        } else if (strcmp(k, "stop") == 0) {
            if (strcmp(v, "en") == 0)
                a->stop = 1;
            else if (strcmp(v, "none") == 0)
                a->stop = 0;
            else
                bad = 1;
        } else if (strcmp(k, "fold") == 0) {
            bad = parse_flag(v, &a->fold) != 0;
        } else if (strcmp(k, "marks") == 0) {
            if (strcmp(v, "strip") == 0)
                a->strip = 1;
            else if (strcmp(v, "keep") == 0)
                a->strip = 0;
            else
                bad = 1;
        } else {
            rc = vs_diag_set(d, VS_E_CONFIG, "analyzer: unknown key '%s'", k);
            goto done;
        }
        if (bad) {
            rc = vs_diag_set(d, VS_E_CONFIG,
                             "analyzer: invalid value '%s' for '%s'", v, k);
            goto done;
        }
    }
    if (strcmp(a->lang, "none") != 0) {
        a->stemmer = sb_stemmer_new(a->lang, "UTF_8");
        if (!a->stemmer) {
            rc = vs_diag_set(d, VS_E_CONFIG,
                             "analyzer: cannot make stemmer '%s'", a->lang);
            goto done;
        }
    }
    snprintf(a->id, sizeof a->id, "v1;lang=%s;stop=%s;fold=%d;marks=%s",
             a->lang, a->stop ? "en" : "none", a->fold,
             a->strip ? "strip" : "keep");
done:
    free(copy);
    if (rc != VS_OK) {
        vs_analyzer_free(a);
        return rc;
    }
    *out = a;
    return VS_OK;
}

void vs_analyzer_free(struct vs_analyzer *a)
{
    if (!a)
        return;
    if (a->stemmer)
        sb_stemmer_delete(a->stemmer);
    free(a->cache);
    free(a->cps);
    free(a);
}

const char *vs_analyzer_id(const struct vs_analyzer *a)
{
    return a->id;
}

static int cmp_stop(const void *k, const void *e)
{
    return strcmp((const char *)k, *(const char *const *)e);
}

int vs_analyzer_is_stop(const struct vs_analyzer *a, const char *w, size_t len)
{
    if (!a->stop || len == 0 || len > 16)
        return 0;
    char buf[17];
    memcpy(buf, w, len);
    buf[len] = '\0';
    return bsearch(buf, stop_en, NSTOP_EN, sizeof stop_en[0], cmp_stop) != NULL;
}

/* Character classes used by the segmenter. */
enum { C_SEP = 0, C_LETTER = 1, C_DIGIT = 2, C_MARK = 3, C_IDEO = 4 };

static int ideographic(int32_t c)
{
    return (c >= 0x3040 && c <= 0x30FF) ||   /* Hiragana, Katakana */
           (c >= 0x3400 && c <= 0x4DBF) ||   /* CJK extension A */
           (c >= 0x4E00 && c <= 0x9FFF) ||   /* CJK unified */
           (c >= 0xF900 && c <= 0xFAFF) ||   /* CJK compatibility */
           (c >= 0x20000 && c <= 0x3FFFF);   /* CJK extensions B.. */
}

/* C_LETTER or C_DIGIT for ASCII letters and digits, 0 otherwise. */
static const unsigned char ascii_word[128] = {
    ['0'] = 2, ['1'] = 2, ['2'] = 2, ['3'] = 2, ['4'] = 2, ['5'] = 2,
    ['6'] = 2, ['7'] = 2, ['8'] = 2, ['9'] = 2,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
    ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
    ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
};

static int cclass(int32_t c)
{
    if (c < 128) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            return C_LETTER;
        if (c >= '0' && c <= '9')
            return C_DIGIT;
        return C_SEP;
    }
    if (ideographic(c))
        return C_IDEO;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
        return C_LETTER;
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return C_DIGIT;
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
        return C_MARK;
    default:
        return C_SEP;
    }
}

static int grow_cps(struct vs_analyzer *a, size_t n)
{
    if (n <= a->cps_cap)
        return 0;
    size_t cap = a->cps_cap ? a->cps_cap : 1024;
    while (cap < n)
        cap *= 2;
    int32_t *p = realloc(a->cps, cap * sizeof *p);
    if (!p)
        return -1;
    a->cps = p;
    a->cps_cap = cap;
    return 0;
}

/* Normalise text into a->cps; returns the number of code points or -1 on
 * allocation failure. */
static long normalize(struct vs_analyzer *a, const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i;
    for (i = 0; i < len && s[i] < 128 && s[i] != 0; i++)
        ;
    if (i == len) { /* ASCII: nothing to normalise but case */
        if (grow_cps(a, len + 1))
            return -1;
        for (i = 0; i < len; i++) {
            int32_t c = s[i];
            if (a->fold && c >= 'A' && c <= 'Z')
                c += 'a' - 'A';
            a->cps[i] = c;
        }
        return (long)len;
    }
    if (a->strip) {
        /* Marks are stripped: decompose code point by code point (NFKD with
         * case folding when fold=1), dropping marks; nothing is left to
         * recompose except Hangul syllables, which are kept whole. */
        if (grow_cps(a, len * 3 + 16))
            return -1;
        int opts = UTF8PROC_DECOMPOSE | UTF8PROC_STRIPMARK | UTF8PROC_IGNORE;
        if (a->fold)
            opts |= UTF8PROC_COMPAT | UTF8PROC_CASEFOLD;
        long n = 0;
        for (i = 0; i < len;) {
            if (s[i] < 128 && s[i] != 0) {
                int32_t c = s[i++];
                if (a->fold && c >= 'A' && c <= 'Z')
                    c += 'a' - 'A';
                a->cps[n++] = c;
                continue;
            }
            utf8proc_int32_t c;
            utf8proc_ssize_t k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(len - i), &c);
            if (k <= 0 || c == 0) {
                a->cps[n++] = ' ';
                i++;
                continue;
            }
            i += (size_t)k;
            if (c >= 0xAC00 && c <= 0xD7A3) {
                a->cps[n++] = c;
                continue;
            }
            utf8proc_int32_t buf[32];
            int bc = 0;
            utf8proc_ssize_t m = utf8proc_decompose_char(c, buf, 32,
                                                         (utf8proc_option_t)opts, &bc);
            if (m < 0 || m > 32) {
                a->cps[n++] = ' ';
                continue;
            }
            if ((size_t)(n + m) + 4 > a->cps_cap &&
                grow_cps(a, (size_t)(n + m) * 2 + 16))
                return -1;
            for (utf8proc_ssize_t j = 0; j < m; j++)
                a->cps[n++] = buf[j];
        }
        return n;
    }
    /* Replace invalid UTF-8 (and NUL) with spaces, then normalise. */
    unsigned char *clean = malloc(len + 1);
    if (!clean)
        return -1;
    size_t o = 0;
    for (i = 0; i < len;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t n = utf8proc_iterate(s + i, (utf8proc_ssize_t)(len - i), &c);
        if (n <= 0 || c == 0) {
            clean[o++] = ' ';
            i++;
            continue;
        }
        memcpy(clean + o, s + i, (size_t)n);
        o += (size_t)n;
        i += (size_t)n;
    }
    clean[o] = '\0';
    int opts = UTF8PROC_COMPOSE | UTF8PROC_IGNORE;
    if (a->fold)
        opts |= UTF8PROC_COMPAT | UTF8PROC_CASEFOLD;
    if (a->strip)
        opts |= UTF8PROC_STRIPMARK;
    utf8proc_uint8_t *norm = NULL;
    utf8proc_ssize_t nl = utf8proc_map(clean, (utf8proc_ssize_t)o, &norm,
                                       (utf8proc_option_t)opts);
    free(clean);
    if (nl < 0) {
        free(norm);
        return -1; /* only allocation can fail on clean input */
    }
    if (grow_cps(a, (size_t)nl + 1)) {
        free(norm);
        return -1;
    }
    long n = 0;
    for (utf8proc_ssize_t j = 0; j < nl;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(norm + j, nl - j, &c);
        if (k <= 0) {
            c = ' ';
            k = 1;
        }
        a->cps[n++] = c;
        j += k;
    }
    free(norm);
    return n;
}

struct tokstate {
    struct vs_analyzer *a;
    vs_analyzer_emit_fn emit;
    vs_analyzer_memo_fn emit_memo; /* used instead of emit when set */
    void *arg;
    size_t len;      /* bytes in a->tok */
    int overflow;    /* token longer than the maximum */
    int has_digit;
    uint32_t pos;    /* next position */
};

static void tok_add(struct tokstate *t, int32_t c)
{
    if (t->overflow)
        return;
    if (c < 128 && t->len < VS_ANALYZER_MAX_TERM) {
        t->a->tok[t->len++] = (char)c;
        return;
    }
    if (t->len + 4 > VS_ANALYZER_MAX_TERM) {
        utf8proc_uint8_t b[4];
        utf8proc_ssize_t n = utf8proc_encode_char(c, b);
        if (t->len + (size_t)n > VS_ANALYZER_MAX_TERM) {
            t->overflow = 1;
            return;
        }
    }
    t->len += (size_t)utf8proc_encode_char(c, (utf8proc_uint8_t *)t->a->tok + t->len);
}

/* The cache slot of a token (holding it or not), or NULL when the token is
 * too long or the cache cannot be allocated. */
static struct centry *cache_slot(struct vs_analyzer *a, const char *k,
                                 size_t len)
{
    if (len > sizeof a->cache->key)
        return NULL;
    if (!a->cache) {
        a->cache = calloc(CACHE_SLOTS, sizeof *a->cache);
        if (!a->cache)
            return NULL;
    }
    return &a->cache[hash_bytes(k, len) & (CACHE_SLOTS - 1)];
}

static void cache_set(struct centry *e, const char *k, size_t klen,
                      const char *v, size_t vlen)
{
    if (v && vlen >= sizeof e->val)
        return;
    e->memo = 0;
    e->klen = (uint8_t)klen;
    memcpy(e->key, k, klen);
    e->vlen = v ? (uint8_t)vlen : CACHE_STOP;
    if (v) {
        memcpy(e->val, v, vlen);
        e->val[vlen] = '\0';
    }
}

static inline int emit_term(struct tokstate *t, const char *term, size_t len,
                            uint32_t pos, uint32_t *memo)
{
    if (t->emit_memo) {
        uint32_t dummy = 0;
        return t->emit_memo(t->arg, term, len, pos, memo ? memo : &dummy);
    }
    return t->emit(t->arg, term, len, pos);
}

static int tok_end(struct tokstate *t)
{
    if (t->len == 0 && !t->overflow)
        return VS_OK;
    struct vs_analyzer *a = t->a;
    uint32_t pos = t->pos++;
    size_t len = t->len;
    int drop = t->overflow;
    t->len = 0;
    t->overflow = 0;
    int digit = t->has_digit;
    t->has_digit = 0;
    if (drop)
        return VS_OK;
    a->tok[len] = '\0';
    struct centry *ce = cache_slot(a, a->tok, len);
    if (ce && ce->klen == len && memcmp(ce->key, a->tok, len) == 0) {
        if (ce->vlen == CACHE_STOP)
            return VS_OK;
        return emit_term(t, ce->val, ce->vlen, pos, &ce->memo);
    }
    if (vs_analyzer_is_stop(a, a->tok, len)) {
        if (ce)
            cache_set(ce, a->tok, len, NULL, 0);
        return VS_OK;
    }
    const char *out = a->tok;
    size_t olen = len;
    if (a->stemmer && !digit) {
        const sb_symbol *st = sb_stemmer_stem(a->stemmer,
                                              (const sb_symbol *)a->tok, (int)len);
        if (!st)
            return VS_E_NOMEM;
        int sl = sb_stemmer_length(a->stemmer);
        if (sl > 0 && (size_t)sl < sizeof a->stem) {
            memcpy(a->stem, st, (size_t)sl);
            a->stem[sl] = '\0';
            out = a->stem;
            olen = (size_t)sl;
        }
    }
    uint32_t *memo = NULL;
    if (ce) {
        cache_set(ce, a->tok, len, out, olen);
        if (ce->klen == len && ce->vlen == olen &&
            memcmp(ce->key, a->tok, len) == 0)
            memo = &ce->memo; /* cached now */
    }
    return emit_term(t, out, olen, pos, memo);
}

static int run(struct vs_analyzer *a, const char *text, size_t len,
               struct tokstate *tp, uint32_t *npos, struct vs_diag *d);

int vs_analyzer_run(struct vs_analyzer *a, const char *text, size_t len,
                    vs_analyzer_emit_fn emit, void *arg, uint32_t *npos,
                    struct vs_diag *d)
{
    struct tokstate t = {.a = a, .emit = emit, .arg = arg};
    return run(a, text, len, &t, npos, d);
}

int vs_analyzer_run_memo(struct vs_analyzer *a, const char *text, size_t len,
                         vs_analyzer_memo_fn emit, void *arg,
                         struct vs_diag *d)
{
    struct tokstate t = {.a = a, .emit_memo = emit, .arg = arg};
    return run(a, text, len, &t, NULL, d);
}

static int run(struct vs_analyzer *a, const char *text, size_t len,
               struct tokstate *tp, uint32_t *npos, struct vs_diag *d)
{
    if (npos)
        *npos = 0;
    long n = normalize(a, text, len);
    if (n < 0)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    const int32_t *cp = a->cps;
    struct tokstate t = *tp;
    int rc = VS_OK;
    for (long i = 0; i < n && rc == VS_OK; i++) {
        int32_t c = cp[i];
        if (c < 128 && ascii_word[c]) { /* the common case, inline */
            if (t.len < VS_ANALYZER_MAX_TERM) {
                a->tok[t.len++] = (char)c;
                if (ascii_word[c] == C_DIGIT)
                    t.has_digit = 1;
                continue;
            }
        }
        int cl = cclass(c);
        if (cl == C_LETTER || cl == C_DIGIT || (cl == C_MARK && t.len > 0)) {
            if (cl == C_DIGIT)
                t.has_digit = 1;
            tok_add(&t, c);
            continue;
        }
        if (cl == C_IDEO) {
            rc = tok_end(&t);
            if (rc != VS_OK)
                break;
            tok_add(&t, c);
            rc = tok_end(&t);
            continue;
        }
        /* joiners inside a token */
        if (t.len > 0 && i + 1 < n && i > 0) {
            int prev = cclass(cp[i - 1]), next = cclass(cp[i + 1]);
            if ((c == '.' || c == ',') && prev == C_DIGIT && next == C_DIGIT) {
                if (c == '.')
                    tok_add(&t, c);
                continue;
            }
            if ((c == '\'' || c == 0x2019) && prev == C_LETTER &&
                next == C_LETTER) {
                if ((cp[i + 1] == 's' || cp[i + 1] == 'S') &&
                    (i + 2 >= n || cclass(cp[i + 2]) == C_SEP))
                    i++; /* possessive 's: drop it */
                continue;
            }
        }
        rc = tok_end(&t);
    }
    if (rc == VS_OK)
        rc = tok_end(&t);
    if (npos)
        *npos = t.pos;
    return rc;
}
