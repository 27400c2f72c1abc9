/* store_ingest.c: a fast path for parsing records to ingest.
 *
 * jansson makes one allocation per number, so a 384-number "vector" array
 * costs far more than the rest of a record; a long "vector_b64" string is
 * validated and copied before it can be decoded. Here the top-level
 * "vector" / "vector_b64" member is found in the raw text, decoded straight
 * into floats, cut out of the line, and jansson parses what remains.
 * Anything unusual (escapes in keys, duplicate vector fields, a number that
 * is not plain JSON, bad base64, a value that does not parse) falls back to
 * vs_ndjson_parse + vs_record_vector, so results and error messages are the
 * same as the generic path.
 */
#include "store_internal.h"
#include "vs_ndjson.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/* p at '"': the end of the string (after the closing quote), or NULL.
 * *esc is set when the string has escapes. */
static const char *skip_string(const char *p, const char *end, int *esc)
{
    *esc = 0;
    for (p++; p < end; p++) {
        if (*p == '\\') {
            *esc = 1;
            p++;
        } else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

/* Skip one JSON value (roughly: jansson checks it properly later). */
static const char *skip_value(const char *p, const char *end)
{
    int depth = 0, esc;
    while (p < end) {
        char c = *p;
        if (c == '"') {
            if (!(p = skip_string(p, end, &esc)))
                return NULL;
            if (depth == 0)
                return p;
            continue;
        }
        if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']') {
            if (depth == 0)
                return p;
            if (--depth == 0)
                return p + 1;
        } else if (depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n'))
            return p;
        p++;
    }
    return depth == 0 ? p : NULL;
}

/* Whether the 8 bytes at p are all ASCII digits (one 64-bit test: each
 * byte's high nibble is 3, and adding 6 leaves its low nibble below 16). */
static inline int eight_digits(const char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return ((v & 0xF0F0F0F0F0F0F0F0u) |
            (((v + 0x0606060606060606u) & 0xF0F0F0F0F0F0F0F0u) >> 4)) ==
           0x3333333333333333u;
}

/* The value of 8 ASCII digits at p (first digit most significant; a
 * little-endian load): pairs, then quads, then the whole in three steps. */
static inline uint32_t parse8(const char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    v -= 0x3030303030303030u;
    v = v * 10 + (v >> 8); /* byte 2i: the pair (2i, 2i + 1) */
    v = ((v & 0x000000FF000000FFu) * (100 + (1000000ull << 32)) +
         ((v >> 16) & 0x000000FF000000FFu) * (1 + (10000ull << 32))) >> 32;
    return (uint32_t)v;
}

/* A strict JSON number at p, read in one pass: returns its end (NULL when
 * it is not one, or is numsz characters or longer) and its value in *out as
 * the generic path makes it: the nearest double, then rounded to float
 * (vs_record_vector).
 * Exact when the digits fit in 2^53 and the power of ten is at most 22
 * (then m * 10^k and m / 10^k are correctly rounded doubles, Clinger's fast
 * path). Longer fractions (Python's repr of a float32 widened to double has
 * 16 or 17 digits) keep 19 significant digits and scale by at most two
 * exact powers of ten: the double is then within 4 units in the last place
 * of the correctly rounded one (one rounding of m, at most two of the
 * scaling, the dropped digits below 10^-18 relative), so it rounds to the
 * same float unless a float rounding midpoint is within 16 units of it,
 * which is decided exactly by strtod (one number in 2^24). Results outside
 * the normal float range and integers of 16 to 18 digits go to strtod too;
 * longer integers give NAN (parse_array then leaves the record to the
 * generic path, where jansson refuses those beyond 64 bits). */
static const char *to_float(const char *p, const char *end, char *num, size_t numsz,
                            float *out)
{
    static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
                                 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *q = p;
    int neg = 0, digits = 0, scale = 0, frac = 0;
    uint64_t m = 0;
    if (q < end && *q == '-') {
        neg = 1;
        q++;
    }
    if (q >= end || *q < '0' || *q > '9')
        return NULL;
    if (*q == '0') {
        q++;
    } else {
        for (; q < end && *q >= '0' && *q <= '9'; q++) {
            if (digits >= 19) {
                scale++; /* a dropped integer digit */
                continue;
            }
            digits++;
            m = m * 10 + (uint64_t)(*q - '0');
        }
    }
    if (q < end && *q == '.') {
        frac = 1;
        q++;
        if (q >= end || *q < '0' || *q > '9')
            return NULL;
        if (m == 0)
            for (; q < end && *q == '0'; q++)
                scale--; /* leading zeros of the fraction */
        while (digits <= 11 && end - q >= 8 && eight_digits(q)) {
            m = m * 100000000u + parse8(q);
            digits += 8;
            scale -= 8;
            q += 8;
        }
        for (; q < end && *q >= '0' && *q <= '9'; q++) {
            if (digits >= 19)
                continue; /* a dropped fraction digit */
            if (m || *q != '0')
                digits++;
            m = m * 10 + (uint64_t)(*q - '0');
            scale--;
        }
    }
    int big = 0;
    if (q < end && (*q == 'e' || *q == 'E')) {
        int es = 1, ev = 0;
        frac = 1;
        q++;
        if (q < end && (*q == '+' || *q == '-'))
            es = *q++ == '-' ? -1 : 1;
        if (q >= end || *q < '0' || *q > '9')
            return NULL;
        for (; q < end && *q >= '0' && *q <= '9'; q++) {
            if (ev <= 400)
                ev = ev * 10 + (*q - '0');
            else
                big = 1;
        }
        scale += es * ev;
    }
    const char *e = q;
    if ((size_t)(e - p) >= numsz)
        return NULL; /* too long for the exact path's copy: the generic path */
    if (big)
        goto slow;
    if (m == 0) { /* "-0" is the integer 0 for jansson; "-0.0" is -0.0 */
        *out = neg && frac ? -0.0f : 0.0f;
        return e;
    }
    double x;
    uint64_t bits;
    if (digits <= 15 && scale >= -22 && scale <= 22) {
        x = scale < 0 ? (double)m / p10[-scale] : (double)m * p10[scale];
        if (!(x >= 1.2e-38 && x <= 3.4e38))
            goto slow;
        memcpy(&bits, &x, sizeof bits);
        if ((bits & ((1u << 29) - 1)) == (1u << 28))
            goto slow; /* exactly halfway between two floats: decide exactly */
        *out = neg ? -(float)x : (float)x;
        return e;
    }
    if (!frac && digits >= 19) {
        *out = NAN; /* an integer jansson may refuse: the generic path decides */
        return e;
    }
    if (!frac || scale < -44 || scale > 44)
        goto slow;
    x = (double)m;
    if (scale < -22)
        x = x / p10[22] / p10[-scale - 22];
    else if (scale < 0)
        x /= p10[-scale];
    else if (scale > 22)
        x = x * p10[22] * p10[scale - 22];
    else
        x *= p10[scale];
    if (!(x >= 1.2e-38 && x <= 3.4e38))
        goto slow;
    memcpy(&bits, &x, sizeof bits);
    {
        int64_t off = (int64_t)(bits & ((1u << 29) - 1)) - (1 << 28);
        if (off >= -16 && off <= 16)
            goto slow; /* near a midpoint: decide exactly */
    }
    *out = neg ? -(float)x : (float)x;
    return e;
slow:
    memcpy(num, p, (size_t)(e - p));
    num[e - p] = '\0';
    *out = (float)strtod(num, NULL);
    return e;
}

/* "[n, n, ...]" at p into floats. Returns the end, or NULL to fall back. */
static const char *parse_array(const char *p, const char *end, float **vec,
                               size_t *dim)
{
    size_t cap = 0, n = 0;
    float *v = NULL;
    char num[64];
    p = skip_ws(p + 1, end);
    if (p < end && *p == ']')
        goto fail; /* empty: let the generic path say so */
    for (;;) {
        float f;
        const char *e = to_float(p, end, num, sizeof num, &f);
        if (!e || !isfinite(f))
            goto fail;
        if (n == cap) {
            cap = cap ? cap * 2 : 512;
            float *nv = realloc(v, cap * sizeof *nv);
            if (!nv)
                goto fail;
            v = nv;
        }
        v[n++] = f;
        p = skip_ws(e, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == ']')
            break;
        goto fail;
    }
    *vec = v;
    *dim = n;
    return p + 1;
fail:
    free(v);
    return NULL;
}

static const signed char b64val[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,
    ['G'] = 7,  ['H'] = 8,  ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12,
    ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18,
    ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30,
    ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
    ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
    ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54,
    ['2'] = 55, ['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60,
    ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64}; /* value + 1; 0 = invalid */

/* "base64" at p (a string without escapes, padded, a multiple of 4 bytes
 * of finite float32) into floats. Returns the end, or NULL to fall back. */
static const char *parse_b64(const char *p, const char *end, float **vec,
                             size_t *dim)
{
    const char *s = p + 1, *q = memchr(s, '"', (size_t)(end - s));
    if (!q)
        return NULL;
    size_t len = (size_t)(q - s);
    if (len == 0 || len % 4 != 0)
        return NULL;
    size_t pad = (s[len - 1] == '=') + (s[len - 2] == '=');
    size_t nbytes = len / 4 * 3 - pad;
    if (nbytes % 4 != 0)
        return NULL;
    unsigned char *raw = malloc(nbytes + 3);
    if (!raw)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int a = b64val[(unsigned char)s[i]], b = b64val[(unsigned char)s[i + 1]];
        int last = i + 4 == len;
        int c = last && pad >= 2 ? 1 : b64val[(unsigned char)s[i + 2]];
        int dd = last && pad >= 1 ? 1 : b64val[(unsigned char)s[i + 3]];
        if (!a || !b || !c || !dd) {
            free(raw);
            return NULL;
        }
        uint32_t x = (uint32_t)(a - 1) << 18 | (uint32_t)(b - 1) << 12 |
                     (uint32_t)(c - 1) << 6 | (uint32_t)(dd - 1);
        raw[o++] = (unsigned char)(x >> 16);
        raw[o++] = (unsigned char)(x >> 8);
        raw[o++] = (unsigned char)x;
    }
    size_t n = nbytes / 4;
    float *v = malloc(n * sizeof *v);
    if (!v) {
        free(raw);
        return NULL;
    }
    memcpy(v, raw, n * sizeof *v); /* little-endian host (segment.c checks) */
    free(raw);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) {
            free(v);
            return NULL;
        }
    *vec = v;
    *dim = n;
    return q + 1;
}

static int generic(const char *line, size_t len, json_t **rec, float **vec,
                   size_t *dim, struct vs_diag *d)
{
    int st = vs_ndjson_parse(line, len, rec, d);
    if (st != VS_OK)
        return st;
    st = vs_record_vector(*rec, vec, dim, d);
    if (st != VS_OK) {
        json_decref(*rec);
        *rec = NULL;
        return st;
    }
    json_object_del(*rec, "vector");
    json_object_del(*rec, "vector_b64");
    return VS_OK;
}

int vs_ingest_parse(const char *line, size_t len, json_t **rec, float **vec,
                    size_t *dim, struct vs_diag *d)
{
    *rec = NULL;
    *vec = NULL;
    *dim = 0;
    const char *end = line + len, *p = skip_ws(line, end);
    if (p >= end || *p != '{')
        return generic(line, len, rec, vec, dim, d);
    const char *cut_a = NULL, *cut_b = NULL; /* the member to cut out */
    float *v = NULL;
    size_t n = 0;
    int esc;
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}')
        return generic(line, len, rec, vec, dim, d);
    while (p < end) {
        if (*p != '"')
            goto slow;
        const char *key = p, *kend = skip_string(p, end, &esc);
        if (!kend)
            goto slow;
        const char *colon = skip_ws(kend, end);
        if (colon >= end || *colon != ':')
            goto slow;
        const char *val = skip_ws(colon + 1, end), *vend;
        size_t klen = (size_t)(kend - key);
        int is_vec = !esc && klen == 8 && memcmp(key, "\"vector\"", 8) == 0;
        int is_b64 = !esc && klen == 12 && memcmp(key, "\"vector_b64\"", 12) == 0;
        if (esc && (memmem(key, klen, "vector", 6) != NULL))
            goto slow; /* an escaped spelling of a vector key */
        if (is_vec || is_b64) {
            if (cut_a || val >= end)
                goto slow; /* both fields, or twice: let the generic path judge */
            if (is_vec && *val == '[')
                vend = parse_array(val, end, &v, &n);
            else if (is_b64 && *val == '"')
                vend = parse_b64(val, end, &v, &n);
            else
                goto slow;
            if (!vend)
                goto slow;
            cut_a = key;
            cut_b = vend;
        } else if (!(vend = skip_value(val, end)))
            goto slow;
        p = skip_ws(vend, end);
        if (p < end && *p == ',') {
            if (cut_a && cut_b == vend)
                cut_b = p + 1; /* take the comma after the member */
            p = skip_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == '}')
            break;
        goto slow;
    }
    if (!cut_a)
        return generic(line, len, rec, vec, dim, d);
    {
        /* the line without the vector member */
        size_t a = (size_t)(cut_a - line), b = (size_t)(cut_b - line);
        char *buf = malloc(len + 1);
        if (!buf)
            goto slow;
        memcpy(buf, line, a);
        size_t m = a;
        if (cut_b[-1] != ',') {
            /* last member: drop the comma before it, if any */
            while (m > 0 && (buf[m - 1] == ' ' || buf[m - 1] == '\t'))
                m--;
            if (m > 0 && buf[m - 1] == ',')
                m--;
        }
        memcpy(buf + m, line + b, len - b);
        m += len - b;
        json_error_t je;
        json_t *r = json_loadb(buf, m, JSON_REJECT_DUPLICATES, &je);
        free(buf);
        if (!r || !json_is_object(r) || json_object_get(r, "vector") ||
            json_object_get(r, "vector_b64")) {
            json_decref(r);
            goto slow;
        }
        *rec = r;
        *vec = v;
        *dim = n;
        return VS_OK;
    }
slow:
    free(v);
    return generic(line, len, rec, vec, dim, d);
}
