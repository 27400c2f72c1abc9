/* query_scan.c: the common query record read without a json_t
 * (query_scan_internal.h). */
#include "query_scan_internal.h"

#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "vs_numparse.h"

/* 1 + the base64 value of each byte; 0 for anything else ('=' is handled
 * apart) */
static const unsigned char b64v[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 63, 0, 0, 0, 64,
    53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 0, 0, 0, 0, 0, 0,
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 0, 0, 0, 0, 0,
    0, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41,
    42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

struct scan {
    const char *p, *end;
};

static void ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\r' || *s->p == '\n'))
        s->p++;
}

/* A string of printable ASCII without escapes: its bytes (after the quote)
 * and length; 0 for anything else (escapes, control bytes, non-ASCII:
 * those records take the full parse). */
static int plain_string(struct scan *s, const char **str, size_t *len)
{
    if (s->p >= s->end || *s->p != '"')
        return 0;
    const char *b = ++s->p;
    while (s->p < s->end && *s->p != '"') {
        unsigned char c = (unsigned char)*s->p;
        if (c < 0x20 || c >= 0x7f || c == '\\')
            return 0;
        s->p++;
    }
    if (s->p >= s->end)
        return 0;
    *str = b;
    *len = (size_t)(s->p - b);
    s->p++;
    return 1;
}

/* A JSON integer as jansson reads it and prints it back unchanged: no
 * leading zero, not "-0", at most 18 digits */
static int plain_int(struct scan *s, const char **tok, size_t *len, long long *v)
{
    const char *b = s->p;
    int neg = s->p < s->end && *s->p == '-';
    if (neg)
        s->p++;
    const char *dg = s->p;
    long long x = 0;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
        if (s->p - dg == 18) /* a 19th digit: before x * 10 overflows */
            return 0;
        x = x * 10 + (*s->p - '0');
        s->p++;
    }
    size_t nd = (size_t)(s->p - dg);
    if (nd == 0 || (dg[0] == '0' && (nd > 1 || neg)))
        return 0;
    if (s->p < s->end && (*s->p == '.' || *s->p == 'e' || *s->p == 'E'))
        return 0; /* a real */
    *tok = b;
    *len = (size_t)(s->p - b);
    *v = neg ? -x : x;
    return 1;
}

/* A JSON number (RFC 8259 grammar) of at most 40 bytes, as a float the
 * way vs_record_vector makes it from jansson's double; 0 when it is not
 * finite as float32 or is an integer too long for a double to hold. */
static int number(struct scan *s, float *out)
{
    const char *b = s->p;
    size_t nd;
    int real;
    double v; /* strtod's double */
#ifndef __EMSCRIPTEN__
    const char *q = vs_json_number_scan(b, s->end, &nd, &real, &v); /* one pass */
#else
    const char *q = vs_json_number_end(b, s->end, &nd, &real);
#endif
    if (!q)
        return 0;
    size_t n = (size_t)(q - b);
    if (n >= 48 || (!real && nd > 15))
        return 0;
#ifdef __EMSCRIPTEN__
    v = vs_json_number(b, n); /* the module reads the token a second time */
#endif
    if (!isfinite(v) || fabs(v) > 3.4028234663852886e38)
        return 0;
    *out = (float)v;
    s->p = q;
    return 1;
}

/* A string of base64 (no escape can occur in one: a backslash is not
 * base64) into dim finite little-endian float32; 0 for anything else. */
static int b64_vector(struct scan *s, float *vec, size_t dim)
{
    if (s->p >= s->end || *s->p != '"')
        return 0;
    const char *str = ++s->p;
    const char *q = memchr(str, '"', (size_t)(s->end - str));
    if (!q)
        return 0;
    size_t len = (size_t)(q - str);
    s->p = q + 1;
    if (len == 0 || len % 4 != 0)
        return 0;
    size_t pad = str[len - 1] == '=' ? (str[len - 2] == '=' ? 2 : 1) : 0;
    if (len / 4 * 3 - pad != dim * 4)
        return 0;
    const unsigned char *u = (const unsigned char *)str;
    unsigned char *o = (unsigned char *)vec;
    size_t full = pad ? len - 4 : len, k = 0;
    for (size_t i = 0; i < full; i += 4) {
        unsigned a = b64v[u[i]], b = b64v[u[i + 1]], c = b64v[u[i + 2]], e = b64v[u[i + 3]];
        if (!a || !b || !c || !e)
            return 0;
        unsigned w = (a - 1) << 18 | (b - 1) << 12 | (c - 1) << 6 | (e - 1);
        o[k++] = (unsigned char)(w >> 16);
        o[k++] = (unsigned char)(w >> 8);
        o[k++] = (unsigned char)w;
    }
    if (pad) { /* the last group: 1 or 2 bytes */
        const unsigned char *t = u + len - 4;
        unsigned a = b64v[t[0]], b = b64v[t[1]], c = pad == 1 ? b64v[t[2]] : 1;
        if (!a || !b || !c)
            return 0;
        unsigned w = (a - 1) << 18 | (b - 1) << 12 | (c - 1) << 6;
        o[k++] = (unsigned char)(w >> 16);
        if (pad == 1)
            o[k++] = (unsigned char)(w >> 8);
    }
    for (size_t i = 0; i < dim; i++) { /* little-endian float32, finite */
        uint32_t x = (uint32_t)o[4 * i] | (uint32_t)o[4 * i + 1] << 8 |
                     (uint32_t)o[4 * i + 2] << 16 | (uint32_t)o[4 * i + 3] << 24;
        memcpy(&vec[i], &x, 4);
        if (!isfinite(vec[i]))
            return 0;
    }
    return 1;
}

static int array_vector(struct scan *s, float *vec, size_t dim)
{
    s->p++; /* [ */
    size_t n = 0;
    ws(s);
    if (s->p < s->end && *s->p == ']')
        return 0; /* empty: an error the full parse reports */
    for (;;) {
        ws(s);
        float f;
        if (n == dim || !number(s, &f))
            return 0;
        vec[n++] = f;
        ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == ']') {
            s->p++;
            return n == dim;
        }
        return 0;
    }
}

int vs_query_scan(const char *line, size_t len, float *vec, size_t dim,
                  struct vs_query_scanned *out)
{
    struct scan s = {line, line + len};
    int have_id = 0, have_vec = 0, have_k = 0;
    memset(out, 0, sizeof *out);
    ws(&s);
    if (s.p >= s.end || *s.p != '{' || dim == 0)
        return 0;
    s.p++;
    ws(&s);
    if (s.p < s.end && *s.p == '}')
        return 0;
    for (;;) {
        const char *key;
        size_t klen;
        ws(&s);
        if (!plain_string(&s, &key, &klen))
            return 0;
        ws(&s);
        if (s.p >= s.end || *s.p++ != ':')
            return 0;
        ws(&s);
        if (klen == 2 && memcmp(key, "id", 2) == 0) {
            long long v;
            if (have_id++)
                return 0;
            if (s.p < s.end && *s.p == '"') {
                if (!plain_string(&s, &out->qid, &out->qlen))
                    return 0;
            } else if (!plain_int(&s, &out->qid, &out->qlen, &v)) {
                return 0;
            }
        } else if (klen == 10 && memcmp(key, "vector_b64", 10) == 0) {
            if (have_vec++ || !b64_vector(&s, vec, dim))
                return 0;
        } else if (klen == 6 && memcmp(key, "vector", 6) == 0) {
            if (have_vec++ || s.p >= s.end || *s.p != '[' || !array_vector(&s, vec, dim))
                return 0;
        } else if (klen == 1 && key[0] == 'k') {
            const char *tok;
            size_t tlen;
            long long v;
            if (have_k++ || !plain_int(&s, &tok, &tlen, &v) || v < 1 || v > VS_QUERY_K_MAX)
                return 0;
            out->k = (size_t)v;
        } else {
            return 0; /* any other field: the full parse */
        }
        ws(&s);
        if (s.p < s.end && *s.p == ',') {
            s.p++;
            continue;
        }
        if (s.p < s.end && *s.p == '}') {
            s.p++;
            break;
        }
        return 0;
    }
    ws(&s);
    return s.p == s.end && have_id && have_vec;
}
