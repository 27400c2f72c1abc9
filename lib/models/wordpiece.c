/* wordpiece.c: the BERT uncased WordPiece tokenizer (vs_wordpiece.h). */
#include "vs_wordpiece.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include <xxhash.h>

#define WP_MAX_WORD_CHARS 100

struct vs_wordpiece {
    char *blob;       /* the vocabulary file, NUL-separated tokens */
    char **tok;       /* id -> token */
    size_t *toklen;
    size_t n;
    int32_t *slot;    /* open-addressing table of ids, -1 empty */
    size_t mask;
    int32_t unk, cls, sep;
};

static int32_t lookup(const struct vs_wordpiece *wp, const char *s, size_t len)
{
    size_t h = (size_t)XXH3_64bits(s, len) & wp->mask;
    for (;;) {
        int32_t id = wp->slot[h];
        if (id < 0)
            return -1;
        if (wp->toklen[id] == len && memcmp(wp->tok[id], s, len) == 0)
            return id;
        h = (h + 1) & wp->mask;
    }
}

int vs_wordpiece_open(const char *vocab_path, struct vs_wordpiece **out,
                      struct vs_diag *d)
{
    *out = NULL;
    int st = VS_OK;
    FILE *fp = fopen(vocab_path, "rb");
    if (!fp)
        return vs_diag_set(d, vs_status_from_errno(errno), "cannot open %s: %s",
                           vocab_path, strerror(errno));
    struct vs_wordpiece *wp = calloc(1, sizeof *wp);
    if (!wp) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    size_t cap = 1 << 20, used = 0;
    wp->blob = malloc(cap + 1);
    if (!wp->blob) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    for (;;) {
        if (used == cap) {
            char *p = realloc(wp->blob, cap * 2 + 1);
            if (!p) {
                st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
                goto done;
            }
            wp->blob = p;
            cap *= 2;
        }
        size_t got = fread(wp->blob + used, 1, cap - used, fp);
        used += got;
        if (got == 0)
            break;
    }
    if (ferror(fp)) {
        st = vs_diag_set(d, VS_E_IO, "cannot read %s", vocab_path);
        goto done;
    }
    wp->blob[used] = '\0';
    size_t lines = 0;
    for (size_t i = 0; i < used; i++)
        lines += wp->blob[i] == '\n';
    if (used && wp->blob[used - 1] != '\n')
        lines++;
    if (lines == 0 || lines > (size_t)INT32_MAX / 4) {
        st = vs_diag_set(d, VS_E_DATA, "%s: vocabulary is empty or too large",
                         vocab_path);
        goto done;
    }
    wp->tok = malloc(lines * sizeof *wp->tok);
    wp->toklen = malloc(lines * sizeof *wp->toklen);
    size_t tsz = 1;
    while (tsz < lines * 2)
        tsz <<= 1;
    wp->slot = malloc(tsz * sizeof *wp->slot);
    if (!wp->tok || !wp->toklen || !wp->slot) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    memset(wp->slot, 0xff, tsz * sizeof *wp->slot);
    wp->mask = tsz - 1;
    char *p = wp->blob, *end = wp->blob + used;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        size_t len = (size_t)(e - p);
        if (len && p[len - 1] == '\r')
            len--;
        p[len] = '\0';
        int32_t id = (int32_t)wp->n;
        wp->tok[id] = p;
        wp->toklen[id] = len;
        wp->n++;
        if (lookup(wp, p, len) < 0) { /* first occurrence wins */
            size_t h = (size_t)XXH3_64bits(p, len) & wp->mask;
            while (wp->slot[h] >= 0)
                h = (h + 1) & wp->mask;
            wp->slot[h] = id;
        }
        p = e + 1;
    }
    wp->unk = vs_wordpiece_id(wp, "[UNK]");
    wp->cls = vs_wordpiece_id(wp, "[CLS]");
    wp->sep = vs_wordpiece_id(wp, "[SEP]");
    if (wp->unk < 0 || wp->cls < 0 || wp->sep < 0) {
        st = vs_diag_set(d, VS_E_DATA,
                         "%s: vocabulary lacks [UNK], [CLS] or [SEP]",
                         vocab_path);
        goto done;
    }
done:
    fclose(fp);
    if (st != VS_OK)
        vs_wordpiece_free(wp);
    else
        *out = wp;
    return st;
}

void vs_wordpiece_free(struct vs_wordpiece *wp)
{
    if (!wp)
        return;
    free(wp->slot);
    free(wp->toklen);
    free(wp->tok);
    free(wp->blob);
    free(wp);
}

int32_t vs_wordpiece_id(const struct vs_wordpiece *wp, const char *token)
{
    return lookup(wp, token, strlen(token));
}

const char *vs_wordpiece_token(const struct vs_wordpiece *wp, int32_t id)
{
    return id >= 0 && (size_t)id < wp->n ? wp->tok[id] : NULL;
}

size_t vs_wordpiece_size(const struct vs_wordpiece *wp) { return wp->n; }

/* ---- character classes (as BERT's BasicTokenizer defines them) ---- */

static int is_control(int32_t c)
{
    if (c == '\t' || c == '\n' || c == '\r')
        return 0;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CS:
        return 1;
    default:
        return 0;
    }
}

static int is_space(int32_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
           utf8proc_category(c) == UTF8PROC_CATEGORY_ZS;
}

/* Separators of the white-space split after cleaning: the space, and the
 * line/paragraph separators that are white space but not Zs. */
static int is_split_space(int32_t c)
{
    return c == ' ' || c == 0x2028 || c == 0x2029;
}

static int is_punct(int32_t c)
{
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
        (c >= 123 && c <= 126))
        return 1;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
        return 1;
    default:
        return 0;
    }
}

static int is_cjk(int32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static int is_cased(int32_t c)
{
    return utf8proc_tolower(c) != c || utf8proc_toupper(c) != c ||
           utf8proc_category(c) == UTF8PROC_CATEGORY_LT;
}

static int is_case_ignorable(int32_t c)
{
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_ME ||
           k == UTF8PROC_CATEGORY_CF || k == UTF8PROC_CATEGORY_LM ||
           k == UTF8PROC_CATEGORY_SK || c == '\'' || c == 0x2019 ||
           c == '.' || c == ':' || c == 0xB7;
}

/* Lower-case c at position i of a (n code points), with the final-sigma rule:
 * capital sigma after a cased letter and not before one becomes U+03C2. */
static int32_t lower_at(const int32_t *a, size_t n, size_t i)
{
    int32_t c = a[i];
    if (c != 0x03A3)
        return utf8proc_tolower(c);
    int before = 0, after = 0;
    for (size_t j = i; j-- > 0;) {
        if (is_case_ignorable(a[j]))
            continue;
        before = is_cased(a[j]);
        break;
    }
    for (size_t j = i + 1; j < n; j++) {
        if (is_case_ignorable(a[j]))
            continue;
        after = is_cased(a[j]);
        break;
    }
    return before && !after ? 0x03C2 : 0x03C3;
}

/* ---- encoding ---- */

struct buf {
    int32_t *cp;
    size_t n, cap;
};

static int push(struct buf *b, int32_t c)
{
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        int32_t *p = realloc(b->cp, nc * sizeof *p);
        if (!p)
            return -1;
        b->cp = p;
        b->cap = nc;
    }
    b->cp[b->n++] = c;
    return 0;
}

/* Greedy longest-match WordPiece of one word (w[0..n) code points); appends
 * ids while they fit (cap ids at *cnt). Returns 1 when something was dropped
 * for lack of room, -1 out of memory, else 0. */
static int wordpiece_word(const struct vs_wordpiece *wp, const int32_t *w,
                          size_t n, int32_t *ids, size_t *cnt, size_t cap,
                          char *scratch, size_t *off)
{
    if (n > WP_MAX_WORD_CHARS) {
        if (*cnt >= cap)
            return 1;
        ids[(*cnt)++] = wp->unk;
        return 0;
    }
    /* UTF-8 of the word with byte offsets of each code point */
    size_t blen = 0;
    for (size_t i = 0; i < n; i++) {
        off[i] = blen;
        blen += (size_t)utf8proc_encode_char(w[i], (utf8proc_uint8_t *)scratch + 2 + blen);
    }
    off[n] = blen;
    char *s = scratch + 2; /* room for "##" before it */
    int32_t pieces[WP_MAX_WORD_CHARS];
    size_t np = 0, start = 0;
    while (start < n) {
        int32_t found = -1;
        size_t end = n;
        for (; end > start; end--) {
            const char *key = s + off[start];
            size_t klen = off[end] - off[start];
            if (start > 0) {
                /* temporarily prefix "##" */
                char save0 = key[-2], save1 = key[-1];
                char *k = (char *)(s + off[start]) - 2;
                k[0] = '#';
                k[1] = '#';
                found = lookup(wp, k, klen + 2);
                k[0] = save0;
                k[1] = save1;
            } else {
                found = lookup(wp, key, klen);
            }
            if (found >= 0)
                break;
        }
        if (found < 0) {
            np = 0;
            pieces[np++] = wp->unk;
            break;
        }
        pieces[np++] = found;
        start = end;
    }
    for (size_t i = 0; i < np; i++) {
        if (*cnt >= cap)
            return 1;
        ids[(*cnt)++] = pieces[i];
    }
    return 0;
}

int vs_wordpiece_encode(const struct vs_wordpiece *wp, const char *text,
                        size_t len, size_t max_len, int32_t *ids,
                        size_t *n_out, int *truncated, struct vs_diag *d)
{
    *n_out = 0;
    if (truncated)
        *truncated = 0;
    if (max_len < 2)
        return vs_diag_set(d, VS_E_USAGE, "maximum length %zu is below 2",
                           max_len);
    int st = VS_OK;
    struct buf raw = {0}, norm = {0};
    char *scratch = NULL;
    size_t *off = NULL;
    /* decode + clean + CJK spacing */
    size_t i = 0;
    while (i < len) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)text + i,
                                              (utf8proc_ssize_t)(len - i), &c);
        if (k <= 0) {
            st = vs_diag_set(d, VS_E_DATA, "text is not valid UTF-8 at byte %zu", i);
            goto done;
        }
        i += (size_t)k;
        if (c == 0 || c == 0xFFFD || is_control(c))
            continue;
        if (is_space(c))
            c = ' ';
        int bad = 0;
        if (is_cjk(c))
            bad = push(&raw, ' ') || push(&raw, c) || push(&raw, ' ');
        else
            bad = push(&raw, c);
        if (bad) {
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            goto done;
        }
    }
    /* lower-case, then NFD and drop non-spacing marks */
    for (size_t j = 0; j < raw.n; j++) {
        int32_t lc = lower_at(raw.cp, raw.n, j);
        utf8proc_int32_t dec[32];
        int last = 0;
        utf8proc_ssize_t nd = utf8proc_decompose_char(lc, dec, 32,
                                                      UTF8PROC_DECOMPOSE, &last);
        if (nd < 0 || nd > 32) {
            dec[0] = lc;
            nd = 1;
        }
        for (utf8proc_ssize_t q = 0; q < nd; q++) {
            if (utf8proc_category(dec[q]) == UTF8PROC_CATEGORY_MN)
                continue;
            if (push(&norm, dec[q])) {
                st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
                goto done;
            }
        }
    }
    scratch = malloc(WP_MAX_WORD_CHARS * 4 + 8);
    off = malloc((WP_MAX_WORD_CHARS + 1) * sizeof *off);
    if (!scratch || !off) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    size_t cnt = 0, cap = max_len - 1; /* the last slot is [SEP] */
    ids[cnt++] = wp->cls;
    int dropped = 0;
    size_t j = 0;
    while (j < norm.n && !dropped) {
        if (is_split_space(norm.cp[j])) {
            j++;
            continue;
        }
        size_t w0 = j, w1;
        if (is_punct(norm.cp[j])) {
            w1 = j + 1;
        } else {
            w1 = j;
            while (w1 < norm.n && !is_split_space(norm.cp[w1]) &&
                   !is_punct(norm.cp[w1]))
                w1++;
        }
        int r = wordpiece_word(wp, norm.cp + w0, w1 - w0, ids, &cnt, cap,
                               scratch, off);
        if (r > 0)
            dropped = 1;
        j = w1;
    }
    ids[cnt++] = wp->sep;
    *n_out = cnt;
    if (truncated)
        *truncated = dropped;
done:
    free(off);
    free(scratch);
    free(norm.cp);
    free(raw.cp);
    return st;
}
