/* chunk.c: the splitters (fixed, recursive, sentence, markdown) and chunk
 * records. vs_chunk.h describes the rules. */
#include "vs_chunk.h"
#include "loader_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include <xxhash.h>

enum { L_PARA, L_LINE, L_SENT, L_WORD, L_CHAR };

struct piece {
    size_t s, e;
};

struct vs_chunker {
    struct vs_chunk_options o;
    const char *t;
    size_t len;
    uint32_t *pre; /* prefix counts of the unit: pre[i] = units starting in [0,i) */
    size_t pre_cap;
    struct vs_chunk_span *spans;
    size_t nspans, spancap;
    struct piece *pcs; /* a stack of pieces shared by the recursion */
    size_t npcs, pcscap;
    size_t *secs;
    size_t seccap;
    const size_t *keep; /* pairs [start, end) where L_PARA does not split */
    size_t nkeep;
    int status;
};

const char *vs_splitter_name(enum vs_splitter s)
{
    switch (s) {
    case VS_SPLITTER_FIXED: return "fixed";
    case VS_SPLITTER_RECURSIVE: return "recursive";
    case VS_SPLITTER_SENTENCE: return "sentence";
    case VS_SPLITTER_MARKDOWN: return "markdown";
    }
    return "unknown";
}

int vs_splitter_parse(const char *name, enum vs_splitter *out)
{
    static const enum vs_splitter all[] = {VS_SPLITTER_FIXED,
                                           VS_SPLITTER_RECURSIVE,
                                           VS_SPLITTER_SENTENCE,
                                           VS_SPLITTER_MARKDOWN};
    for (size_t i = 0; i < 4; i++)
        if (!strcmp(name, vs_splitter_name(all[i]))) {
            *out = all[i];
            return VS_OK;
        }
    return VS_E_USAGE;
}

const char *vs_chunk_unit_name(enum vs_chunk_unit u)
{
    return u == VS_CHUNK_WORDS ? "words" : u == VS_CHUNK_TOKENS ? "tokens" : "chars";
}

int vs_chunk_unit_parse(const char *name, enum vs_chunk_unit *out)
{
    if (!strcmp(name, "chars"))
        *out = VS_CHUNK_CHARS;
    else if (!strcmp(name, "words"))
        *out = VS_CHUNK_WORDS;
    else if (!strcmp(name, "tokens"))
        *out = VS_CHUNK_TOKENS;
    else
        return VS_E_USAGE;
    return VS_OK;
}

int vs_chunker_new(const struct vs_chunk_options *o, struct vs_chunker **out,
                   struct vs_diag *d)
{
    *out = NULL;
    if (o->size < 1)
        return vs_diag_set(d, VS_E_USAGE, "chunk size must be at least 1");
    if (o->overlap >= o->size)
        return vs_diag_set(d, VS_E_USAGE,
                           "overlap %zu must be smaller than the size %zu",
                           o->overlap, o->size);
    if (o->min_size >= o->size)
        return vs_diag_set(d, VS_E_USAGE,
                           "minimum size %zu must be smaller than the size %zu",
                           o->min_size, o->size);
    if (o->unit == VS_CHUNK_TOKENS && !o->count)
        return vs_diag_set(d, VS_E_USAGE, "the unit tokens needs a tokenizer");
    struct vs_chunker *c = calloc(1, sizeof *c);
    if (!c)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    c->o = *o;
    *out = c;
    return VS_OK;
}

void vs_chunker_free(struct vs_chunker *c)
{
    if (!c)
        return;
    free(c->pre);
    free(c->spans);
    free(c->pcs);
    free(c->secs);
    free(c);
}

static int is_ws(unsigned char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' ||
           ch == '\f' || ch == '\v';
}

static int is_cont(unsigned char ch) { return (ch & 0xC0) == 0x80; }

/* Tokens of [s, e), counted whole by the caller's tokenizer; a failure
 * stops the split (c->status) and counts as 0. */
static size_t count_span(struct vs_chunker *c, size_t s, size_t e)
{
    size_t n = 0;
    if (c->status || s >= e)
        return 0;
    int st = c->o.count(c->o.count_arg, c->t + s, e - s, &n);
    if (st != VS_OK) {
        c->status = st;
        return 0;
    }
    return n;
}

/* Tokens: a word cut at s or at e (a span inside a run of non-white
 * space) is counted directly, the whole words between from pre[]. */
static size_t measure_tokens(struct vs_chunker *c, size_t s, size_t e)
{
    const unsigned char *t = (const unsigned char *)c->t;
    size_t n = 0;
    if (s >= e)
        return 0;
    if (s > 0 && !is_ws(t[s]) && !is_ws(t[s - 1])) {
        size_t w = s;
        while (w < e && !is_ws(t[w]))
            w++;
        n += count_span(c, s, w);
        s = w;
    }
    if (s < e && e < c->len && !is_ws(t[e]) && !is_ws(t[e - 1])) {
        size_t w = e;
        while (w > s && !is_ws(t[w - 1]))
            w--;
        n += count_span(c, w, e);
        e = w;
    }
    if (s < e)
        n += (size_t)(c->pre[e] - c->pre[s]);
    return n;
}

static size_t measure(struct vs_chunker *c, size_t s, size_t e)
{
    if (c->o.unit == VS_CHUNK_TOKENS)
        return measure_tokens(c, s, e);
    size_t n = (size_t)(c->pre[e] - c->pre[s]);
    /* a span that starts inside a word counts that word too */
    if (c->o.unit == VS_CHUNK_WORDS && s > 0 && s < e &&
        !is_ws((unsigned char)c->t[s]) && !is_ws((unsigned char)c->t[s - 1]))
        n++;
    return n;
}

/* A span has content when one of its code points is not white space
 * (Unicode Z*), a control (Cc) or a format character (Cf): a chunk of
 * nothing else would carry nothing to embed or search (issue 16). */
static int has_content(const char *t, size_t s, size_t e)
{
    while (s < e) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)t + s,
                                              (utf8proc_ssize_t)(e - s), &cp);
        if (n <= 0)
            return 1; /* not UTF-8: the loader's concern, not empty */
        switch (utf8proc_category(cp)) {
        case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL:
        case UTF8PROC_CATEGORY_ZP: case UTF8PROC_CATEGORY_CC:
        case UTF8PROC_CATEGORY_CF:
            break;
        default:
            return 1;
        }
        s += (size_t)n;
    }
    return 0;
}

static void push_span(struct vs_chunker *c, size_t s, size_t e)
{
    if (c->nspans == c->spancap) {
        size_t cap = c->spancap ? c->spancap * 2 : 64;
        struct vs_chunk_span *p = realloc(c->spans, cap * sizeof *p);
        if (!p) {
            c->status = VS_E_NOMEM;
            return;
        }
        c->spans = p;
        c->spancap = cap;
    }
    c->spans[c->nspans++] = (struct vs_chunk_span){s, e};
}

static void cut_tokens(struct vs_chunker *c, size_t s, size_t e);

/* Tokens: a span that counts more than size whole (the tokenizer joined
 * words the sum counted apart) is cut at the last word end that fits; a
 * first word that fits alone nowhere is cut at code points. */
static void emit_fit(struct vs_chunker *c, size_t s, size_t e)
{
    const unsigned char *t = (const unsigned char *)c->t;
    while (s < e && !c->status) {
        while (s < e && is_ws(t[s]))
            s++;
        if (s >= e)
            return;
        if (count_span(c, s, e) <= c->o.size) {
            if (has_content(c->t, s, e))
                push_span(c, s, e);
            return;
        }
        size_t best = s, w = s;
        while (w < e && !c->status) {
            while (w < e && !is_ws(t[w]))
                w++; /* w: the end of a word */
            if (w >= e || count_span(c, s, w) > c->o.size)
                break;
            best = w;
            while (w < e && is_ws(t[w]))
                w++;
        }
        if (best == s) { /* the first word alone is too big */
            size_t we = s;
            while (we < e && !is_ws(t[we]))
                we++;
            cut_tokens(c, s, we);
            s = we;
            continue;
        }
        if (has_content(c->t, s, best))
            push_span(c, s, best);
        s = best;
    }
}

static void emit(struct vs_chunker *c, size_t s, size_t e, int trim)
{
    if (c->status)
        return;
    if (trim) {
        while (s < e && is_ws((unsigned char)c->t[s]))
            s++;
        while (e > s && is_ws((unsigned char)c->t[e - 1]))
            e--;
    }
    if (s >= e || !has_content(c->t, s, e))
        return; /* all white space, controls or format characters */
    if (c->o.unit == VS_CHUNK_TOKENS && count_span(c, s, e) > c->o.size) {
        emit_fit(c, s, e);
        return;
    }
    push_span(c, s, e);
}

static void push_piece(struct vs_chunker *c, size_t s, size_t e)
{
    while (s < e && is_ws((unsigned char)c->t[s]))
        s++;
    while (e > s && is_ws((unsigned char)c->t[e - 1]))
        e--;
    if (s >= e || c->status)
        return;
    if (c->npcs == c->pcscap) {
        size_t cap = c->pcscap ? c->pcscap * 2 : 64;
        struct piece *p = realloc(c->pcs, cap * sizeof *p);
        if (!p) {
            c->status = VS_E_NOMEM;
            return;
        }
        c->pcs = p;
        c->pcscap = cap;
    }
    c->pcs[c->npcs++] = (struct piece){s, e};
}

/* Byte offset `units` code points after pos (not past e). */
static size_t cp_forward(const struct vs_chunker *c, size_t pos, size_t e,
                         size_t units)
{
    size_t n = 0;
    while (pos < e) {
        if (!is_cont((unsigned char)c->t[pos])) {
            if (n == units)
                break;
            n++;
        }
        pos++;
    }
    return pos;
}

static size_t cp_back(const struct vs_chunker *c, size_t pos, size_t lo,
                      size_t units)
{
    for (size_t n = 0; n < units && pos > lo; n++) {
        pos--;
        while (pos > lo && is_cont((unsigned char)c->t[pos]))
            pos--;
    }
    return pos;
}

/* Windows of `size` code points over [s, e), overlapping by `overlap`. */
static void cut_chars(struct vs_chunker *c, size_t s, size_t e, int trim)
{
    size_t pos = s;
    while (pos < e && !c->status) {
        size_t end = cp_forward(c, pos, e, c->o.size);
        emit(c, pos, end, trim);
        if (end >= e)
            break;
        size_t next = cp_back(c, end, pos, c->o.overlap);
        pos = next > pos ? next : end;
    }
}

/* Tokens: [s, e) (a word of more than size tokens) in pieces of at most
 * size tokens, each the longest run of code points that fits (at least one
 * code point, so a piece of one code point may count more when size is
 * smaller than what the tokenizer makes of it), found by bisection over
 * the number of code points (which assumes a longer run never counts
 * fewer tokens; where it does, the piece is shorter than it could be, and
 * still fits); the next piece starts with the longest tail
 * of the previous one that counts at most `overlap`. */
static void cut_tokens(struct vs_chunker *c, size_t s, size_t e)
{
    /* a piece is looked for among its first 64 * size code points (no
     * tokenizer here makes a token of more, but WordPiece's [UNK]), so a
     * long word costs linear time */
    size_t cap = c->o.size > SIZE_MAX / 64 ? SIZE_MAX : c->o.size * 64;
    size_t pos = s;
    while (pos < e && !c->status) {
        size_t hi = 0;
        for (size_t i = pos; i < e && hi < cap; i++)
            hi += !is_cont((unsigned char)c->t[i]);
        size_t lo = 1; /* lo code points fit (or are the least a piece has) */
        if (count_span(c, pos, cp_forward(c, pos, e, hi)) <= c->o.size)
            lo = hi;
        while (lo < hi && !c->status) {
            size_t mid = lo + (hi - lo + 1) / 2;
            if (count_span(c, pos, cp_forward(c, pos, e, mid)) <= c->o.size)
                lo = mid;
            else
                hi = mid - 1;
        }
        size_t end = cp_forward(c, pos, e, lo);
        if (has_content(c->t, pos, end))
            push_span(c, pos, end);
        if (end >= e)
            break;
        size_t next = end;
        if (c->o.overlap) {
            size_t olo = 0, ohi = lo - 1; /* code points taken back */
            while (olo < ohi && !c->status) {
                size_t mid = olo + (ohi - olo + 1) / 2;
                if (count_span(c, cp_back(c, end, pos, mid), end) <= c->o.overlap)
                    olo = mid;
                else
                    ohi = mid - 1;
            }
            next = cp_back(c, end, pos, olo);
        }
        pos = next > pos ? next : end;
    }
}

/* Find where the next piece ends at `level`, scanning from i in [i, e).
 * Returns 1 with *pend (end of the piece) and *next (start of the next), or
 * 0 when there is no boundary before e. */
/* Non-zero when byte offset off is inside a keep range. */
static int in_keep(const struct vs_chunker *c, size_t off)
{
    size_t lo = 0, hi = c->nkeep; /* first range with end > off */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->keep[2 * mid + 1] <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->nkeep && c->keep[2 * lo] <= off;
}

static int next_boundary(const struct vs_chunker *c, size_t i, size_t e,
                         int level, size_t *pend, size_t *next)
{
    const unsigned char *t = (const unsigned char *)c->t;
    for (; i < e; i++) {
        unsigned char ch = t[i];
        if (level == L_WORD) {
            if (is_ws(ch)) {
                size_t j = i;
                while (j < e && is_ws(t[j]))
                    j++;
                *pend = i;
                *next = j;
                return 1;
            }
            continue;
        }
        if (ch == '\n') {
            if (level == L_LINE) {
                *pend = i;
                *next = i + 1;
                return 1;
            }
            size_t j = i + 1;
            while (j < e && (t[j] == ' ' || t[j] == '\t' || t[j] == '\r'))
                j++;
            if (j < e && t[j] == '\n' && !(c->nkeep && in_keep(c, i))) {
                *pend = i;
                *next = j + 1;
                return 1;
            }
            continue;
        }
        if (level != L_SENT)
            continue;
        if (ch == '.' || ch == '!' || ch == '?') {
            size_t j = i + 1;
            while (j < e && (t[j] == '.' || t[j] == '!' || t[j] == '?' ||
                             t[j] == ')' || t[j] == ']' || t[j] == '"' ||
                             t[j] == '\''))
                j++;
            if (j >= e)
                return 0;
            if (is_ws(t[j])) {
                *pend = j;
                *next = j;
                return 1;
            }
            i = j - 1;
            continue;
        }
        /* CJK full stop, fullwidth ! and ? (U+3002, U+FF01, U+FF1F) */
        if (i + 2 < e &&
            ((ch == 0xE3 && t[i + 1] == 0x80 && t[i + 2] == 0x82) ||
             (ch == 0xEF && t[i + 1] == 0xBC &&
              (t[i + 2] == 0x81 || t[i + 2] == 0x9F)))) {
            *pend = i + 3;
            *next = i + 3;
            return 1;
        }
    }
    return 0;
}

static void split_range(struct vs_chunker *c, size_t s, size_t e, int level)
{
    while (s < e && is_ws((unsigned char)c->t[s]))
        s++;
    while (e > s && is_ws((unsigned char)c->t[e - 1]))
        e--;
    if (s >= e || c->status)
        return;
    if (measure(c, s, e) <= c->o.size) {
        emit(c, s, e, 1);
        return;
    }
    if (level >= L_CHAR) {
        if (c->o.unit == VS_CHUNK_TOKENS)
            cut_tokens(c, s, e);
        else
            cut_chars(c, s, e, 1);
        return;
    }
    size_t base = c->npcs;
    size_t i = s, pend, next;
    while (i < e && next_boundary(c, i, e, level, &pend, &next)) {
        push_piece(c, i, pend);
        i = next;
    }
    push_piece(c, i, e);
    size_t k = c->npcs - base;
    size_t size = c->o.size, ov = c->o.overlap;
    for (size_t a = 0; a < k && !c->status;) {
        struct piece pa = c->pcs[base + a];
        if (measure(c, pa.s, pa.e) > size) {
            split_range(c, pa.s, pa.e, level + 1);
            a++;
            continue;
        }
        size_t b = a;
        while (b + 1 < k &&
               measure(c, pa.s, c->pcs[base + b + 1].e) <= size)
            b++;
        size_t end = c->pcs[base + b].e;
        emit(c, pa.s, end, 1);
        if (b + 1 >= k)
            break;
        size_t nxt = b + 1;
        size_t after = c->pcs[base + b + 1].e;
        if (ov)
            for (size_t a2 = a + 1; a2 <= b; a2++) {
                size_t s2 = c->pcs[base + a2].s;
                if (measure(c, s2, end) <= ov && measure(c, s2, after) <= size) {
                    nxt = a2;
                    break;
                }
            }
        a = nxt;
    }
    c->npcs = base;
}

static void split_fixed(struct vs_chunker *c)
{
    if (c->o.unit == VS_CHUNK_CHARS) {
        cut_chars(c, 0, c->len, 0);
        return;
    }
    if (c->o.unit == VS_CHUNK_TOKENS) { /* whole words up to size tokens */
        split_range(c, 0, c->len, L_WORD);
        return;
    }
    /* words: windows of `size` words; pre[] counts word starts */
    const unsigned char *t = (const unsigned char *)c->t;
    size_t base = c->npcs;
    size_t i = 0;
    while (i < c->len && !c->status) {
        while (i < c->len && is_ws(t[i]))
            i++;
        if (i >= c->len)
            break;
        size_t j = i;
        while (j < c->len && !is_ws(t[j]))
            j++;
        push_piece(c, i, j);
        i = j;
    }
    size_t k = c->npcs - base, step = c->o.size - c->o.overlap;
    for (size_t a = 0; a < k && !c->status; a += step) {
        size_t b = a + c->o.size - 1;
        if (b >= k)
            b = k - 1;
        emit(c, c->pcs[base + a].s, c->pcs[base + b].e, 0);
        if (b == k - 1)
            break;
    }
    c->npcs = base;
}

/* Non-zero when a section of sec[0..nsec) starts in (a, b]. */
static int section_between(const size_t *sec, size_t nsec, size_t a, size_t b)
{
    for (size_t i = 0; i < nsec; i++)
        if (sec[i] > a && sec[i] <= b)
            return 1;
    return 0;
}

/* Merge each span measuring less than min_size into the next one (or, for
 * the last, the previous one), unless a section of sec starts between
 * them; the merged span covers both. */
static void merge_tiny(struct vs_chunker *c, const size_t *sec, size_t nsec)
{
    size_t w = 0;
    for (size_t i = 0; i < c->nspans; i++) {
        struct vs_chunk_span sp = c->spans[i];
        if (measure(c, sp.start, sp.end) < c->o.min_size) {
            int tok = c->o.unit == VS_CHUNK_TOKENS; /* size stays a hard limit */
            if (i + 1 < c->nspans &&
                !section_between(sec, nsec, sp.start, c->spans[i + 1].start) &&
                (!tok || count_span(c, sp.start, c->spans[i + 1].end) <= c->o.size)) {
                if (c->spans[i + 1].start > sp.start)
                    c->spans[i + 1].start = sp.start;
                continue; /* carried into the next */
            }
            if (w > 0 && !section_between(sec, nsec, c->spans[w - 1].start, sp.start) &&
                (!tok || count_span(c, c->spans[w - 1].start, sp.end) <= c->o.size)) {
                if (c->spans[w - 1].end < sp.end)
                    c->spans[w - 1].end = sp.end;
                continue;
            }
        }
        c->spans[w++] = sp;
    }
    c->nspans = w;
}

static int split_failed(const struct vs_chunker *c, struct vs_diag *d)
{
    if (c->status == VS_E_NOMEM)
        return vs_diag_set(d, c->status, "out of memory");
    return vs_diag_set(d, c->status, "the tokenizer cannot count this text (%s)",
                       vs_status_message(c->status));
}

static int split_impl(struct vs_chunker *c, const char *text, size_t len,
                      const size_t *sec, size_t nsec, const size_t *keep,
                      size_t nkeep, const struct vs_chunk_span **spans,
                      size_t *n, struct vs_diag *d)
{
    c->keep = keep;
    c->nkeep = nkeep;
    c->t = text;
    c->len = len;
    c->nspans = 0;
    c->npcs = 0;
    c->status = VS_OK;
    if (len >= UINT32_MAX)
        return vs_diag_set(d, VS_E_DATA, "document larger than 4 GiB");
    if (c->pre_cap < len + 1) {
        uint32_t *p = realloc(c->pre, (len + 1) * sizeof *p);
        if (!p)
            return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        c->pre = p;
        c->pre_cap = len + 1;
    }
    const unsigned char *t = (const unsigned char *)text;
    uint32_t cnt = 0;
    for (size_t i = 0; i < len; i++) {
        c->pre[i] = cnt;
        if (c->o.unit == VS_CHUNK_CHARS)
            cnt += !is_cont(t[i]);
        else if (c->o.unit == VS_CHUNK_WORDS)
            cnt += !is_ws(t[i]) && (i == 0 || is_ws(t[i - 1]));
        else if (!is_ws(t[i]) && (i == 0 || is_ws(t[i - 1]))) {
            /* tokens: a word's count at its first byte */
            size_t j = i;
            while (j < len && !is_ws(t[j]))
                j++;
            cnt += (uint32_t)count_span(c, i, j);
        }
    }
    c->pre[len] = cnt;
    if (c->status)
        return split_failed(c, d);

    switch (c->o.splitter) {
    case VS_SPLITTER_FIXED:
        split_fixed(c);
        break;
    case VS_SPLITTER_RECURSIVE:
        split_range(c, 0, len, L_PARA);
        break;
    case VS_SPLITTER_SENTENCE:
        split_range(c, 0, len, L_SENT);
        break;
    case VS_SPLITTER_MARKDOWN: {
        size_t a = 0;
        for (size_t i = 0; i <= nsec && !c->status; i++) {
            size_t b = i < nsec ? sec[i] : len;
            if (b > len)
                b = len;
            while (b < len && is_cont((unsigned char)text[b]))
                b++; /* never inside a UTF-8 sequence */
            if (b > a)
                split_range(c, a, b, L_PARA);
            if (b > a)
                a = b;
        }
        break;
    }
    }
    if (!c->status && c->o.min_size)
        merge_tiny(c, c->o.splitter == VS_SPLITTER_MARKDOWN ? sec : NULL,
                   c->o.splitter == VS_SPLITTER_MARKDOWN ? nsec : 0);
    if (c->status)
        return split_failed(c, d);
    *spans = c->spans;
    *n = c->nspans;
    return VS_OK;
}

int vs_chunker_split(struct vs_chunker *c, const char *text, size_t len,
                     const size_t *sec, size_t nsec,
                     const struct vs_chunk_span **spans, size_t *n,
                     struct vs_diag *d)
{
    return split_impl(c, text, len, sec, nsec, NULL, 0, spans, n, d);
}

/* Index of the last section starting at or before off, or -1. */
static long section_at(const struct vs_doc *doc, size_t off)
{
    long lo = -1, hi = (long)doc->nsec;
    while (hi - lo > 1) {
        long mid = (lo + hi) / 2;
        if (doc->sec[mid].start <= off)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static json_t *chunk_record(const struct vs_doc *doc, size_t n,
                            const struct vs_chunk_span *sp)
{
    json_t *rec = json_object();
    json_t *meta = json_copy(doc->meta);
    if (!rec || !meta)
        goto fail;
    if (json_object_set_new(rec, "id", json_sprintf("%s#%zu", doc->id, n)) ||
        json_object_set_new(rec, "doc_id", json_string(doc->id)) ||
        json_object_set_new(rec, "chunk", json_integer((json_int_t)n)) ||
        json_object_set_new(rec, "text",
                            json_stringn(doc->text + sp->start,
                                         sp->end - sp->start)) ||
        json_object_set_new(rec, "start", json_integer((json_int_t)sp->start)) ||
        json_object_set_new(rec, "end", json_integer((json_int_t)sp->end)))
        goto fail;
    if (doc->source &&
        json_object_set_new(rec, "source", json_string(doc->source)))
        goto fail;
    /* doc_hash: XXH3-64 of the document's whole extracted text, 16 hex
     * digits (vs-ingest --skip-unchanged compares it with the stored one) */
    if (json_object_set_new(rec, "doc_hash",
                            json_sprintf("%016llx", (unsigned long long)XXH3_64bits(
                                                        doc->text, doc->len))))
        goto fail;
    long si = section_at(doc, sp->start);
    if (si >= 0 && json_array_size(doc->sec[si].path) &&
        json_object_set(meta, "headings", doc->sec[si].path))
        goto fail;
    if (doc->npages &&
        json_object_set_new(meta, "page",
                            json_integer(vs_doc_page_at(doc, sp->start))))
        goto fail;
    if (json_object_set_new(rec, "metadata", meta)) {
        meta = NULL;
        goto fail;
    }
    meta = NULL;
    if (doc->extra) {
        const char *key;
        json_t *v;
        json_object_foreach(doc->extra, key, v) {
            if (json_object_get(rec, key))
                continue; /* our own fields win */
            if (json_object_set(rec, key, v))
                goto fail;
        }
    }
    return rec;
fail:
    json_decref(meta);
    json_decref(rec);
    return NULL;
}

int vs_chunker_doc(struct vs_chunker *c, const struct vs_doc *doc,
                   vs_chunk_emit_fn emitfn, void *ctx, size_t *nchunks,
                   struct vs_diag *d)
{
    if (nchunks)
        *nchunks = 0;
    if (c->seccap < doc->nsec) {
        size_t *p = realloc(c->secs, doc->nsec * sizeof *p);
        if (!p)
            return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        c->secs = p;
        c->seccap = doc->nsec;
    }
    for (size_t i = 0; i < doc->nsec; i++)
        c->secs[i] = doc->sec[i].start;
    const struct vs_chunk_span *sp;
    size_t n;
    int st = split_impl(c, doc->text, doc->len, c->secs, doc->nsec, doc->keep,
                        doc->nkeep, &sp, &n, d);
    if (st != VS_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        json_t *rec = chunk_record(doc, i, &sp[i]);
        if (!rec)
            return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        st = emitfn(ctx, rec);
        json_decref(rec);
        if (st != VS_OK)
            return st;
        if (nchunks)
            (*nchunks)++;
    }
    return VS_OK;
}
