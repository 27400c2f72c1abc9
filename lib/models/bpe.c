/* bpe.c: cl100k_base-style byte-level BPE: rank table, pre-tokenizer,
 * merges (a heap of candidate pairs, so long pieces stay O(n log n)). */
#include "vs_bpe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include <xxhash.h>

struct slot {
    uint32_t off;  /* into bytes; UINT32_MAX = empty */
    uint32_t len;
    uint32_t rank;
};

struct vs_bpe {
    char *bytes;       /* all tokens' bytes */
    size_t nbytes;
    struct slot *tab;  /* open addressing, power-of-two size */
    size_t mask, n;
};

char *vs_bpe_model_dir(char *buf, size_t n)
{
    const char *e = getenv("VS_MODEL_DIR");
    if (e && *e) {
        snprintf(buf, n, "%s", e);
        return buf;
    }
    const char *home = getenv("HOME");
    snprintf(buf, n, "%s/.cache/vecstore/models", home && *home ? home : "/tmp");
    return buf;
}

static int lookup(const struct vs_bpe *b, const unsigned char *p, size_t len,
                  uint32_t *rank)
{
    size_t i = (size_t)XXH3_64bits(p, len) & b->mask;
    for (;;) {
        const struct slot *s = &b->tab[i];
        if (s->off == UINT32_MAX)
            return 0;
        if (s->len == len && memcmp(b->bytes + s->off, p, len) == 0) {
            *rank = s->rank;
            return 1;
        }
        i = (i + 1) & b->mask;
    }
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Decode base64 (with = padding) into out; returns the length or -1. */
static long b64dec(const char *s, size_t n, unsigned char *out, size_t cap)
{
    if (n == 0 || n % 4)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            if (s[i + k] == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (pad || (v[k] = b64val((unsigned char)s[i + k])) < 0)
                return -1;
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
                     (uint32_t)v[2] << 6 | (uint32_t)v[3];
        unsigned char t[3] = {(unsigned char)(w >> 16), (unsigned char)(w >> 8),
                              (unsigned char)w};
        for (int k = 0; k < 3 - pad; k++) {
            if (o >= cap)
                return -1;
            out[o++] = t[k];
        }
    }
    return (long)o;
}

int vs_bpe_load(const char *path, struct vs_bpe **out, struct vs_diag *d)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        vs_diag_where(d, path, 0);
        return vs_diag_set(d, vs_status_from_errno(e), "cannot open: %s",
                           strerror(e));
    }
    int st = VS_OK;
    struct vs_bpe *b = calloc(1, sizeof *b);
    char *line = NULL;
    size_t lcap = 0, bcap = 1 << 20, ncap = 1 << 17;
    uint32_t *offs = NULL, *lens = NULL, *ranks = NULL;
    if (!b || !(b->bytes = malloc(bcap)) || !(offs = malloc(ncap * 4)) ||
        !(lens = malloc(ncap * 4)) || !(ranks = malloc(ncap * 4))) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    ssize_t ll;
    long lineno = 0;
    while ((ll = getline(&line, &lcap, f)) != -1) {
        lineno++;
        while (ll > 0 && (line[ll - 1] == '\n' || line[ll - 1] == '\r'))
            line[--ll] = '\0';
        if (ll == 0)
            continue;
        char *sp = strchr(line, ' ');
        char *end = NULL;
        unsigned long r = 0;
        if (sp) {
            errno = 0;
            r = strtoul(sp + 1, &end, 10);
        }
        unsigned char tok[512];
        long tl = sp ? b64dec(line, (size_t)(sp - line), tok, sizeof tok) : -1;
        if (!sp || tl <= 0 || errno || end == sp + 1 || *end || r >= UINT32_MAX) {
            vs_diag_where(d, path, lineno);
            st = vs_diag_set(d, VS_E_DATA, "not a line 'BASE64 RANK'");
            goto done;
        }
        if (b->n == ncap) {
            ncap *= 2;
            uint32_t *a1 = realloc(offs, ncap * 4), *a2, *a3;
            if (a1) offs = a1;
            a2 = a1 ? realloc(lens, ncap * 4) : NULL;
            if (a2) lens = a2;
            a3 = a2 ? realloc(ranks, ncap * 4) : NULL;
            if (!a3) {
                st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
                goto done;
            }
            ranks = a3;
        }
        if (b->nbytes + (size_t)tl > bcap) {
            bcap *= 2;
            char *nb = realloc(b->bytes, bcap);
            if (!nb) {
                st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
                goto done;
            }
            b->bytes = nb;
        }
        memcpy(b->bytes + b->nbytes, tok, (size_t)tl);
        offs[b->n] = (uint32_t)b->nbytes;
        lens[b->n] = (uint32_t)tl;
        ranks[b->n] = (uint32_t)r;
        b->nbytes += (size_t)tl;
        b->n++;
    }
    if (ferror(f)) {
        vs_diag_where(d, path, 0);
        st = vs_diag_set(d, VS_E_IO, "read error");
        goto done;
    }
    size_t size = 1024;
    while (size < b->n * 2)
        size *= 2;
    b->tab = malloc(size * sizeof *b->tab);
    if (!b->tab) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < size; i++)
        b->tab[i].off = UINT32_MAX;
    b->mask = size - 1;
    for (size_t k = 0; k < b->n; k++) {
        const unsigned char *p = (const unsigned char *)b->bytes + offs[k];
        uint32_t old;
        if (lookup(b, p, lens[k], &old)) {
            vs_diag_where(d, path, 0);
            st = vs_diag_set(d, VS_E_DATA, "token of rank %u is listed twice",
                             ranks[k]);
            goto done;
        }
        size_t i = (size_t)XXH3_64bits(p, lens[k]) & b->mask;
        while (b->tab[i].off != UINT32_MAX)
            i = (i + 1) & b->mask;
        b->tab[i] = (struct slot){offs[k], lens[k], ranks[k]};
    }
    for (int c = 0; c < 256; c++) {
        unsigned char one = (unsigned char)c;
        uint32_t r;
        if (!lookup(b, &one, 1, &r)) {
            vs_diag_where(d, path, 0);
            st = vs_diag_set(d, VS_E_DATA, "the single byte 0x%02x has no rank", c);
            goto done;
        }
    }
done:
    free(ranks);
    free(lens);
    free(offs);
    free(line);
    fclose(f);
    if (st != VS_OK)
        vs_bpe_free(b);
    else
        *out = b;
    return st;
}

int vs_bpe_open(const char *name, struct vs_bpe **out, struct vs_diag *d)
{
    char dir[1024], path[1200];
    vs_bpe_model_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/%s.tiktoken", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        *out = NULL;
        return vs_diag_set(d, VS_E_CONFIG,
                           "tokenizer '%s' is not in '%s': run scripts/get-model.sh %s",
                           name, dir, name);
    }
    fclose(f);
    return vs_bpe_load(path, out, d);
}

void vs_bpe_free(struct vs_bpe *b)
{
    if (!b)
        return;
    free(b->tab);
    free(b->bytes);
    free(b);
}

size_t vs_bpe_size(const struct vs_bpe *b) { return b->n; }

/* ---- pre-tokenization ---- */

enum { C_L, C_N, C_WS, C_NL, C_OTHER };

static int is_white_space(int32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
           c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static int cls(int32_t c)
{
    if (c == '\r' || c == '\n')
        return C_NL;
    if (c < 0)
        return C_OTHER;
    if (is_white_space(c))
        return C_WS;
    if (c < 0x80) {
        if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
            return C_L;
        if (c >= '0' && c <= '9')
            return C_N;
        return C_OTHER;
    }
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
        return C_L;
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return C_N;
    default:
        return C_OTHER;
    }
}

/* Class of the code point at s[i] (i < n) and its byte length. */
static int cp_at(const unsigned char *s, size_t n, size_t i, size_t *len)
{
    if (s[i] < 0x80) {
        *len = 1;
        return cls(s[i]);
    }
    utf8proc_int32_t c;
    utf8proc_ssize_t l = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &c);
    if (l <= 0) {
        *len = 1;
        return C_OTHER;
    }
    *len = (size_t)l;
    return cls(c);
}

/* Extend from i over code points of class k (k2 too when >= 0). */
static size_t run_of(const unsigned char *s, size_t n, size_t i, int k, int k2)
{
    while (i < n) {
        size_t l;
        int c = cp_at(s, n, i, &l);
        if (c != k && c != k2)
            break;
        i += l;
    }
    return i;
}

/* End of the piece that starts at i (< n). */
static size_t next_piece(const unsigned char *s, size_t n, size_t i)
{
    if (s[i] == '\'' && i + 1 < n) {
        int a = s[i + 1] | 0x20, b = i + 2 < n ? s[i + 2] | 0x20 : 0;
        if (s[i + 1] < 0x80 && (a == 's' || a == 't' || a == 'm' || a == 'd'))
            return i + 2;
        if (s[i + 1] < 0x80 && i + 2 < n && s[i + 2] < 0x80 &&
            ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') ||
             (a == 'l' && b == 'l')))
            return i + 3;
    }
    size_t l0, l1 = 0;
    int c0 = cp_at(s, n, i, &l0);
    int c1 = i + l0 < n ? cp_at(s, n, i + l0, &l1) : -1;
    /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    if ((c0 == C_WS || c0 == C_OTHER) && c1 == C_L)
        return run_of(s, n, i + l0, C_L, -1);
    if (c0 == C_L)
        return run_of(s, n, i, C_L, -1);
    /* \p{N}{1,3} */
    if (c0 == C_N) {
        size_t j = i + l0;
        for (int k = 1; k < 3 && j < n; k++) {
            size_t l;
            if (cp_at(s, n, j, &l) != C_N)
                break;
            j += l;
        }
        return j;
    }
    /* ' '?[^\s\p{L}\p{N}]+[\r\n]* */
    if (s[i] == ' ' && c1 == C_OTHER)
        return run_of(s, n, run_of(s, n, i + 1, C_OTHER, -1), C_NL, -1);
    if (c0 == C_OTHER)
        return run_of(s, n, run_of(s, n, i, C_OTHER, -1), C_NL, -1);
    /* whitespace: \s*[\r\n]+ | \s+(?!\S) | \s+ */
    size_t j = i, last_nl = SIZE_MAX, last_start = i, cps = 0;
    while (j < n) {
        size_t l;
        int c = cp_at(s, n, j, &l);
        if (c != C_WS && c != C_NL)
            break;
        if (c == C_NL)
            last_nl = j;
        last_start = j;
        cps++;
        j += l;
    }
    if (last_nl != SIZE_MAX)
        return last_nl + 1;
    if (j == n || cps < 2)
        return j;
    return last_start;
}

/* ---- merges ---- */

struct cand {
    uint32_t rank, left, vl, vr; /* pair rank, left node, node versions */
    uint32_t right;
};

struct work {
    uint32_t *next, *prev, *end, *ver;
    struct cand *heap;
    size_t cap, hcap, hn;
};

static void work_release(struct work *w)
{
    free(w->next);
    free(w->prev);
    free(w->end);
    free(w->ver);
    free(w->heap);
}

static int work_reserve(struct work *w, size_t m)
{
    if (m > w->cap) {
        size_t c = m < 64 ? 64 : m;
        uint32_t *a = realloc(w->next, c * 4);
        if (!a) return VS_E_NOMEM;
        w->next = a;
        if (!(a = realloc(w->prev, c * 4))) return VS_E_NOMEM;
        w->prev = a;
        if (!(a = realloc(w->end, c * 4))) return VS_E_NOMEM;
        w->end = a;
        if (!(a = realloc(w->ver, c * 4))) return VS_E_NOMEM;
        w->ver = a;
        w->cap = c;
    }
    return VS_OK;
}

static int cand_less(const struct cand *a, const struct cand *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static int heap_push(struct work *w, struct cand c)
{
    if (w->hn == w->hcap) {
        size_t nc = w->hcap ? w->hcap * 2 : 128;
        struct cand *h = realloc(w->heap, nc * sizeof *h);
        if (!h)
            return VS_E_NOMEM;
        w->heap = h;
        w->hcap = nc;
    }
    size_t i = w->hn++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!cand_less(&c, &w->heap[p]))
            break;
        w->heap[i] = w->heap[p];
        i = p;
    }
    w->heap[i] = c;
    return VS_OK;
}

static struct cand heap_pop(struct work *w)
{
    struct cand top = w->heap[0], last = w->heap[--w->hn];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct cand *mc = &last;
        if (l < w->hn && cand_less(&w->heap[l], mc)) {
            m = l;
            mc = &w->heap[l];
        }
        if (r < w->hn && cand_less(&w->heap[r], mc))
            m = r;
        if (m == i)
            break;
        w->heap[i] = w->heap[m];
        i = m;
    }
    if (w->hn)
        w->heap[i] = last;
    return top;
}

#define NIL UINT32_MAX

static int push_pair(const struct vs_bpe *b, struct work *w,
                     const unsigned char *p, uint32_t l)
{
    if (l == NIL)
        return VS_OK;
    uint32_t r = w->next[l];
    if (r == NIL)
        return VS_OK;
    uint32_t rank;
    if (!lookup(b, p + l, w->end[r] - l, &rank))
        return VS_OK;
    return heap_push(w, (struct cand){rank, l, w->ver[l], w->ver[r], r});
}

/* Tokens of one piece p[0..m): appended to out (if not NULL), counted in *cnt.
 * Stops early (returns VS_OK) once *cnt would pass limit. */
static int merge_piece(const struct vs_bpe *b, struct work *w,
                       const unsigned char *p, size_t m, uint32_t *out,
                       size_t *cnt)
{
    uint32_t rank;
    /* next_piece() never returns an empty piece and the prefix search cuts
     * at mid > i, so m >= 1; an empty piece has no tokens either way (and
     * the walk below needs w->next[0]) */
    if (m == 0)
        return VS_OK;
    if (lookup(b, p, m, &rank)) {
        if (out)
            out[*cnt] = rank;
        (*cnt)++;
        return VS_OK;
    }
    if (work_reserve(w, m) != VS_OK)
        return VS_E_NOMEM;
    for (uint32_t i = 0; i < m; i++) {
        w->next[i] = i + 1 < m ? i + 1 : NIL;
        w->prev[i] = i ? i - 1 : NIL;
        w->end[i] = i + 1;
        w->ver[i] = 0;
    }
    w->hn = 0;
    for (uint32_t i = 0; i + 1 < m; i++)
        if (push_pair(b, w, p, i) != VS_OK)
            return VS_E_NOMEM;
    while (w->hn) {
        struct cand c = heap_pop(w);
        if (w->ver[c.left] != c.vl || w->ver[c.right] != c.vr ||
            w->next[c.left] != c.right)
            continue;
        uint32_t l = c.left, r = c.right;
        w->end[l] = w->end[r];
        w->next[l] = w->next[r];
        if (w->next[r] != NIL)
            w->prev[w->next[r]] = l;
        w->ver[l]++;
        w->ver[r]++;
        if (push_pair(b, w, p, w->prev[l]) != VS_OK ||
            push_pair(b, w, p, l) != VS_OK)
            return VS_E_NOMEM;
    }
    for (uint32_t i = 0; i != NIL; i = w->next[i]) {
        if (out) {
            lookup(b, p + i, w->end[i] - i, &rank);
            out[*cnt] = rank;
        }
        (*cnt)++;
    }
    return VS_OK;
}

int vs_bpe_encode(const struct vs_bpe *b, const char *text, size_t len,
                  uint32_t **toks, size_t *n)
{
    *toks = NULL;
    *n = 0;
    if (len == 0)
        return VS_OK;
    /* Every token holds at least one byte. */
    uint32_t *out = malloc(len * sizeof *out);
    if (!out)
        return VS_E_NOMEM;
    struct work w = {0};
    const unsigned char *s = (const unsigned char *)text;
    size_t cnt = 0;
    int st = VS_OK;
    for (size_t i = 0; i < len && st == VS_OK;) {
        size_t j = next_piece(s, len, i);
        st = merge_piece(b, &w, s + i, j - i, out, &cnt);
        i = j;
    }
    work_release(&w);
    if (st != VS_OK) {
        free(out);
        return st;
    }
    *toks = out;
    *n = cnt;
    return VS_OK;
}

int vs_bpe_count(const struct vs_bpe *b, const char *text, size_t len,
                 size_t *n)
{
    struct work w = {0};
    const unsigned char *s = (const unsigned char *)text;
    size_t cnt = 0;
    int st = VS_OK;
    for (size_t i = 0; i < len && st == VS_OK;) {
        size_t j = next_piece(s, len, i);
        st = merge_piece(b, &w, s + i, j - i, NULL, &cnt);
        i = j;
    }
    work_release(&w);
    *n = cnt;
    return st;
}

int vs_bpe_prefix(const struct vs_bpe *b, const char *text, size_t len,
                  size_t max, size_t *prefix, size_t *ntok)
{
    struct work w = {0};
    const unsigned char *s = (const unsigned char *)text;
    size_t cnt = 0;
    int st = VS_OK;
    size_t i = 0;
    while (i < len) {
        size_t j = next_piece(s, len, i), pc = 0;
        st = merge_piece(b, &w, s + i, j - i, NULL, &pc);
        if (st != VS_OK)
            goto done;
        if (cnt + pc > max) {
            /* Cut inside this piece: the longest prefix of it (on a
             * character boundary) that fits, by binary search over byte
             * positions (a shorter prefix never needs more tokens). */
            size_t room = max - cnt, lo = i, hi = j - 1, best = i, bestc = 0;
            while (lo < hi) {
                size_t mid = lo + (hi - lo + 1) / 2;
                while (mid > lo && (s[mid] & 0xC0) == 0x80)
                    mid--;
                if (mid == lo) {
                    mid = lo + 1;
                    while (mid <= hi && (s[mid] & 0xC0) == 0x80)
                        mid++;
                    if (mid > hi)
                        break; /* no character boundary in (lo, hi] */
                }
                pc = 0;
                st = merge_piece(b, &w, s + i, mid - i, NULL, &pc);
                if (st != VS_OK)
                    goto done;
                if (pc <= room) {
                    best = lo = mid;
                    bestc = pc;
                } else
                    hi = mid - 1;
            }
            cnt += bestc;
            i = best;
            break;
        }
        cnt += pc;
        i = j;
    }
done:
    work_release(&w);
    *prefix = i;
    *ntok = cnt;
    return st;
}
