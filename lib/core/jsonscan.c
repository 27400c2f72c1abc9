/* jsonscan.c: members of a stored JSON record without json_t
 * (vs_jsonscan.h). */
#include "vs_jsonscan.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vs_jsonfmt.h"
#include "vs_numparse.h"

#define MAX_DEPTH 64
#define MAX_KEYS 64 /* members of one object checked for duplicates */

struct scan {
    const char *p, *end;
    int depth;
    int esc, real;
};

/* The length of the UTF-8 sequence at s (valid as jansson's
 * utf8_check_full: no overlong form, surrogate or code point past
 * U+10FFFF), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, const unsigned char *end)
{
    unsigned c = s[0];
    size_t n;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - s) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static int hexv(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

#if !defined(__EMSCRIPTEN__) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SCAN_SWAR 1
/* The bytes p[0..8) that are not plain (a control character, '"', '\\'
 * or a byte >= 0x80): the high bit of each such byte's lane, exact up to
 * the first one (a lane's borrow only reaches the lanes above it), 0 when
 * all 8 are plain. */
static uint64_t nonplain8(const unsigned char *p)
{
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
    uint64_t x;
    memcpy(&x, p, sizeof x);
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    return ((x - ones * 0x20) | (q - ones) | (b - ones) | x) & high;
}
#endif

/* A string as jansson writes it: escapes only for '"', '\\' and control
 * characters (\b \f \n \r \t, else \u00XX in upper case hex) */
static int string(struct scan *s)
{
    const unsigned char *p = (const unsigned char *)s->p + 1, *end = (const unsigned char *)s->end;
    while (p < end) {
#ifdef SCAN_SWAR
        /* plain ASCII 8 bytes at a time, to the first byte that is not */
        while (end - p >= 8) {
            uint64_t t = nonplain8(p);
            if (t) {
                p += __builtin_ctzll(t) >> 3;
                break;
            }
            p += 8;
        }
        if (p >= end)
            break;
#endif
        unsigned c = *p;
        if (c == '"') {
            s->p = (const char *)p + 1;
            return 1;
        }
        if (c < 0x20)
            return 0;
        if (c == '\\') {
            if (end - p < 2)
                return 0;
            s->esc = 1;
            switch (p[1]) {
            case '"': case '\\': case 'b': case 'f': case 'n': case 'r': case 't':
                p += 2;
                continue;
            case 'u':
                break;
            default:
                return 0;
            }
            if (end - p < 6 || p[2] != '0' || p[3] != '0')
                return 0;
            int h = hexv((char)p[4]), l = hexv((char)p[5]);
            if (h < 0 || h > 1 || l < 0)
                return 0;
            unsigned v = (unsigned)(h * 16 + l);
            if (v == 0 || v == '\b' || v == '\f' || v == '\n' || v == '\r' || v == '\t')
                return 0;
            p += 6;
            continue;
        }
        if (c < 0x80) {
            p++;
            continue;
        }
        size_t n = utf8_len(p, end);
        if (!n)
            return 0;
        p += n;
    }
    return 0;
}

/* A number token: an integer as jansson prints it back, or a real that
 * reads and prints back as its bytes */
static int number(struct scan *s)
{
    const char *b = s->p;
    size_t nd;
    int real;
    const char *q = vs_json_number_end(b, s->end, &nd, &real);
    if (!q)
        return 0;
    size_t n = (size_t)(q - b);
    if (!real) {
        if (nd > 18 || (b[0] == '-' && b[1] == '0'))
            return 0;
        s->p = q;
        return 1;
    }
    /* a real: what jansson makes of it, dumped, must be these bytes */
    char tmp[64], out[64];
    if (n >= sizeof tmp)
        return 0;
    memcpy(tmp, b, n);
    tmp[n] = '\0';
    double v = strtod(tmp, NULL);
    if (!isfinite(v))
        return 0;
    json_t *j = json_real(v);
    size_t m = j ? json_dumpb(j, out, sizeof out, VS_JSON_DUMP_FLAGS | JSON_ENCODE_ANY) : 0;
    json_decref(j);
    if (m != n || memcmp(out, b, n) != 0)
        return 0;
    s->real = 1;
    s->p = q;
    return 1;
}

static int literal(struct scan *s, const char *w, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n) != 0)
        return 0;
    s->p += n;
    return 1;
}

static int value(struct scan *s);

/* 1 when the C string key is k[0..n) (k holds no NUL: a string() has
 * none); mostly decided by the first byte, without a strlen per member
 * and key */
static inline int key_is(const char *key, const char *k, size_t n)
{
    size_t j = 0;
    while (j < n && key[j] == k[j])
        j++;
    return j == n && key[j] == '\0';
}

/* An object; with keys, the spans of its members named so (top level) */
static int object(struct scan *s, const char *const *keys, size_t nkeys,
                  struct vs_json_span *out)
{
    const char *kp[MAX_KEYS];
    size_t kn[MAX_KEYS], nk = 0;
    if (++s->depth > MAX_DEPTH)
        return 0;
    s->p++; /* { */
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        s->depth--;
        return 1;
    }
    for (;;) {
        if (s->p >= s->end || *s->p != '"' || nk == MAX_KEYS)
            return 0;
        const char *k = s->p;
        if (!string(s))
            return 0;
        size_t klen = (size_t)(s->p - k);
        for (size_t i = 0; i < nk; i++)
            if (kn[i] == klen && memcmp(kp[i], k, klen) == 0)
                return 0; /* a duplicate: jansson keeps one of them */
        kp[nk] = k;
        kn[nk++] = klen;
        if (s->p >= s->end || *s->p != ':')
            return 0;
        s->p++;
        const char *v = s->p;
        int esc0 = s->esc, real0 = s->real;
        s->esc = s->real = 0;
        if (!value(s))
            return 0;
        for (size_t i = 0; i < nkeys; i++)
            if (key_is(keys[i], k + 1, klen - 2))
                out[i] = (struct vs_json_span){v, (size_t)(s->p - v), s->esc, s->real};
        s->esc |= esc0;
        s->real |= real0;
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == '}') {
            s->p++;
            s->depth--;
            return 1;
        }
        return 0;
    }
}

static int array(struct scan *s)
{
    if (++s->depth > MAX_DEPTH)
        return 0;
    s->p++; /* [ */
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        s->depth--;
        return 1;
    }
    for (;;) {
        if (!value(s))
            return 0;
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == ']') {
            s->p++;
            s->depth--;
            return 1;
        }
        return 0;
    }
}

static int value(struct scan *s)
{
    if (s->p >= s->end)
        return 0;
    switch (*s->p) {
    case '"': return string(s);
    case '{': return object(s, NULL, 0, NULL);
    case '[': return array(s);
    case 't': return literal(s, "true", 4);
    case 'f': return literal(s, "false", 5);
    case 'n': return literal(s, "null", 4);
    default: return number(s);
    }
}

int vs_json_scan_doc(const char *text, size_t len, const char *const *keys, size_t nkeys,
                     struct vs_json_span *out)
{
    struct scan s = {text, text + len, 0, 0, 0};
    for (size_t i = 0; i < nkeys; i++)
        out[i] = (struct vs_json_span){NULL, 0, 0, 0};
    if (len == 0 || text[0] != '{')
        return 0;
    return object(&s, keys, nkeys, out) && s.p == s.end;
}
