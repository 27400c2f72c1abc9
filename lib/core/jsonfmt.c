/* jsonfmt.c: JSON text without json_t, as jansson writes it, and the exact
 * shortest decimal of a float32 (vs_jsonfmt.h). */
#include "vs_jsonfmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ---- buffers ------------------------------------------------------------ */

void vs_buf_init(struct vs_buf *b)
{
    b->p = NULL;
    b->len = b->cap = 0;
}

void vs_buf_release(struct vs_buf *b)
{
    if (!b)
        return;
    free(b->p);
    vs_buf_init(b);
}

int vs_buf_reserve(struct vs_buf *b, size_t n)
{
    if (b->cap - b->len >= n)
        return VS_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return VS_E_NOMEM;
    b->p = p;
    b->cap = cap;
    return VS_OK;
}

int vs_buf_put(struct vs_buf *b, const void *s, size_t n)
{
    if (n == 0) /* a released buffer has no memory to copy nothing into */
        return VS_OK;
    if (vs_buf_reserve(b, n) != VS_OK)
        return VS_E_NOMEM;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return VS_OK;
}

int vs_buf_json_string(struct vs_buf *b, const char *s, size_t n)
{
    /* worst case: every byte a \u00XX escape */
    if (vs_buf_reserve(b, 6 * n + 2) != VS_OK)
        return VS_E_NOMEM;
    char *o = b->p + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        default: {
            static const char hex[] = "0123456789ABCDEF";
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->p);
    return VS_OK;
}

int vs_buf_json_int(struct vs_buf *b, long long v)
{
    char tmp[24];
    int n = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[sizeof tmp - 1 - n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[sizeof tmp - 1 - n++] = '-';
    return vs_buf_put(b, tmp + sizeof tmp - n, (size_t)n);
}

int vs_buf_json_value(struct vs_buf *b, const json_t *v)
{
    size_t n = json_dumpb(v, NULL, 0, VS_JSON_DUMP_FLAGS | JSON_ENCODE_ANY);
    if (n == 0 || vs_buf_reserve(b, n) != VS_OK)
        return VS_E_NOMEM;
    if (json_dumpb(v, b->p + b->len, n, VS_JSON_DUMP_FLAGS | JSON_ENCODE_ANY) != n)
        return VS_E_NOMEM;
    b->len += n;
    return VS_OK;
}

/* ---- the shortest decimal of a float32, exactly -------------------------
 *
 * f = m 2^q (m < 2^24). A candidate D 10^s reads back as f when it lies
 * strictly between the midpoints to f's neighbours, or on one of them when
 * m is even (strtof rounds a tie to even). Every comparison and the
 * rounding of m 2^q to 9 digits are done on 128-bit integers: both sides
 * are multiplied up until no power is negative, and a value that would not
 * fit gives up (the caller then prints with printf). */

__extension__ typedef unsigned __int128 u128;

static const uint64_t pow10_64[20] = {
    1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
    100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
    10000000000000ULL, 100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
    100000000000000000ULL, 1000000000000000000ULL, 10000000000000000000ULL};

static u128 pow10u(int t) /* t <= 38 */
{
    return t <= 19 ? (u128)pow10_64[t] : (u128)pow10_64[19] * pow10_64[t - 19];
}

static int bits128(u128 x)
{
    uint64_t hi = (uint64_t)(x >> 64), lo = (uint64_t)x;
    return hi ? 128 - __builtin_clzll(hi) : lo ? 64 - __builtin_clzll(lo) : 0;
}

/* *x *= 2^a 10^t (a, t >= 0); 0 when the result could pass 2^126 */
static int scale(u128 *x, int a, int t)
{
    if (*x == 0)
        return 1;
    if (t > 38 || bits128(*x) + a + t * 3322 / 1000 + 1 > 126)
        return 0;
    *x = (*x * pow10u(t)) << a;
    return 1;
}

int vs_float_digits(float f, char *dig, int *nd, int *e, int *p)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t bexp = (u >> 23) & 0xff;
    if (bexp == 0 || bexp == 0xff) /* zero, subnormal, infinity, NaN */
        return 0;
    uint64_t m = (u & 0x7fffff) | 0x800000;
    int q = (int)bexp - 150;
    /* e: the decimal exponent of |f|; N9, r: |f| / 10^(e-8) = N9 + r/den */
    int ex = (int)floor(log10(fabs((double)f)));
    u128 n9 = 0, r = 0, den = 0, num = 0, unit = 0;
    for (int tries = 0;; tries++) {
        int s9 = ex - 8;
        num = m;
        den = 1;
        unit = 1; /* num = m * unit */
        if (tries > 3 || !scale(&num, q > 0 ? q : 0, s9 < 0 ? -s9 : 0) ||
            !scale(&den, q < 0 ? -q : 0, s9 > 0 ? s9 : 0) ||
            !scale(&unit, q > 0 ? q : 0, s9 < 0 ? -s9 : 0))
            return 0;
        if ((num >> 64) == 0 && (den >> 64) == 0) { /* the common case: 64-bit division */
            n9 = (uint64_t)num / (uint64_t)den;
            r = (uint64_t)num % (uint64_t)den;
        } else {
            n9 = num / den;
            r = num % den;
        }
        if (n9 >= 1000000000u)
            ex++;
        else if (n9 < 100000000u)
            ex--;
        else
            break;
    }
    /* In units of 10^(ex-8) / (4 den): |f| is 4 num, and the midpoints to
     * its neighbours are 4 num + 2 unit above and 4 num - 2 unit below (-
     * unit below a power of two: the gap below is half as wide). A
     * candidate of C units of 10^(ex-8) is 4 den C. */
    if (bits128(num) > 124 || bits128(den) > 94)
        return 0;
    int pow2 = m == 0x800000 && bexp > 1, even = (m & 1) == 0;
    u128 hi4 = 4 * num + 2 * unit, lo4 = 4 * num - (pow2 ? unit : 2 * unit);
    uint64_t best = 0;
    int bestp = 0, beste = 0;
    for (int pp = 8; pp >= 5; pp--) {
        int prec = pp == 5 ? 9 : pp; /* 8, 7, 6, then 9 when 8 did not read back */
        if (pp == 5 && bestp)
            break;
        /* n9 < 10^9 here: 64-bit division, not the 128-bit routine */
        uint64_t div = pow10_64[9 - prec], np = (uint64_t)n9 / div;
        uint64_t rem = (uint64_t)n9 % div;
        int up;
        if (prec == 9)
            up = 2 * r > den || (2 * r == den && (np & 1));
        else if (rem != div / 2)
            up = rem > div / 2;
        else
            up = r > 0 || (np & 1);
        int ep = ex;
        np += (uint64_t)up;
        u128 c4 = 4 * den * ((u128)np * div);
        if (np == pow10_64[prec]) {
            np = pow10_64[prec - 1];
            ep++;
        }
        if (prec == 9) { /* 9 digits always read back */
            best = np;
            bestp = 9;
            beste = ep;
            break;
        }
        int chi = c4 < hi4 ? -1 : c4 > hi4, clo = c4 < lo4 ? -1 : c4 > lo4;
        if (!((chi < 0 || (chi == 0 && even)) && (clo > 0 || (clo == 0 && even)))) {
            if (!bestp) { /* 8 digits do not read back: 9 do */
                pp = 6;
                continue;
            }
            break;
        }
        best = np;
        bestp = prec;
        beste = ep;
    }
    if (!bestp)
        return 0;
    int n = bestp;
    while (n > 1 && best % 10 == 0) {
        best /= 10;
        n--;
    }
    for (int i = n - 1; i >= 0; i--) {
        dig[i] = (char)('0' + best % 10);
        best /= 10;
    }
    *nd = n;
    *e = beste;
    *p = bestp;
    return 1;
}

int vs_buf_json_float(struct vs_buf *b, float f)
{
    char dig[12];
    int nd, e, p;
    if (vs_buf_reserve(b, 40) != VS_OK)
        return VS_E_NOMEM;
    char *o = b->p + b->len;
    if (!vs_float_digits(f, dig, &nd, &e, &p)) {
        /* zero, subnormal or extreme: what vs_json_float makes (the first
         * of %.6g .. %.9g that reads back, as a double), dumped */
        char tmp[48];
        for (int prec = 6; prec <= 9; prec++) {
            snprintf(tmp, sizeof tmp, "%.*g", prec, (double)f);
            if (strtof(tmp, NULL) == f)
                break;
        }
        json_t *j = json_real(strtod(tmp, NULL));
        int st = j ? vs_buf_json_value(b, j) : VS_E_NOMEM;
        json_decref(j);
        return st;
    }
    if (signbit(f))
        *o++ = '-';
    if (e < -4 || e >= 15) { /* %.15g: exponent form; jansson trims it */
        *o++ = dig[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, dig + 1, (size_t)nd - 1);
            o += nd - 1;
        }
        *o++ = 'e';
        int x = e;
        if (x < 0) {
            *o++ = '-';
            x = -x;
        }
        if (x >= 10)
            *o++ = (char)('0' + x / 10);
        *o++ = (char)('0' + x % 10);
    } else if (e >= 0) {
        for (int i = 0; i <= e; i++)
            *o++ = i < nd ? dig[i] : '0';
        *o++ = '.';
        if (nd > e + 1) {
            memcpy(o, dig + e + 1, (size_t)(nd - e - 1));
            o += nd - e - 1;
        } else {
            *o++ = '0'; /* a whole number keeps a ".0" (jansson) */
        }
    } else {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -e - 1; i++)
            *o++ = '0';
        memcpy(o, dig, (size_t)nd);
        o += nd;
    }
    b->len = (size_t)(o - b->p);
    return VS_OK;
}

int vs_buf_json_float_pair(struct vs_buf *b, float x, const char *sep, size_t n, float y)
{
    size_t at = b->len;
    if (vs_buf_json_float(b, x) != VS_OK)
        return VS_E_NOMEM;
    size_t xn = b->len - at;
    if (vs_buf_put(b, sep, n) != VS_OK)
        return VS_E_NOMEM;
    uint32_t ux, uy;
    memcpy(&ux, &x, sizeof ux);
    memcpy(&uy, &y, sizeof uy);
    /* y = -x with x negative: y's text is x's after its "-" (both forms,
     * the digits and printf's, depend on the magnitude alone) */
    if (uy != (ux ^ 0x80000000u) || xn < 2 || b->p[at] != '-')
        return vs_buf_json_float(b, y);
    if (vs_buf_reserve(b, xn - 1) != VS_OK)
        return VS_E_NOMEM;
    memcpy(b->p + b->len, b->p + at + 1, xn - 1);
    b->len += xn - 1;
    return VS_OK;
}
