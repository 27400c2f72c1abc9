/* numparse.c: JSON numbers to double, correctly rounded (vs_numparse.h). */
#include "vs_numparse.h"

#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                             1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                             1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static double slow(const char *s, size_t n)
{
    char tmp[64];
    if (n < sizeof tmp) {
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        return strtod(tmp, NULL);
    }
    char *t = strndup(s, n);
    double v = t ? strtod(t, NULL) : 0.0;
    free(t);
    return v;
}

#if defined(__x86_64__) && LDBL_MANT_DIG == 64
#define HAVE_X87 1
/* 10^k, exact in 64 bits of significand for k <= 27 (5^27 < 2^63) */
static const long double p10l[] = {
    1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,
    1e10L, 1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L,
    1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};

/* 1 when long double arithmetic really carries 64 bits (not under an
 * emulator that computes it in double, as valgrind does) */
static int x87_ok(void)
{
    static int state; /* 0 unknown, 1 yes, 2 no; a race only recomputes it */
    int s = __atomic_load_n(&state, __ATOMIC_RELAXED);
    if (!s) {
        volatile long double a = 9223372036854775808.0L; /* 2^63 */
        volatile long double b = a + 1.0L;
        s = b - a == 1.0L ? 1 : 2;
        __atomic_store_n(&state, s, __ATOMIC_RELAXED);
    }
    return s == 1;
}
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HAVE_SWAR 1
/* 1 when the 8 bytes of c (first byte lowest) are all ASCII digits: each
 * high nibble is 3 and adding 6 to each byte carries into none of them */
static inline int eight_digits(uint64_t c)
{
    return (c & UINT64_C(0xF0F0F0F0F0F0F0F0)) == UINT64_C(0x3030303030303030) &&
           ((c + UINT64_C(0x0606060606060606)) & UINT64_C(0xF0F0F0F0F0F0F0F0)) ==
               UINT64_C(0x3030303030303030);
}

/* the value of 8 ASCII digits (first byte lowest, the most significant) */
static inline uint64_t eight_value(uint64_t c)
{
    uint64_t v = c - UINT64_C(0x3030303030303030); /* d0 .. d7, one a byte */
    /* bytes 0, 2, 4, 6 become the pairs 10 d0 + d1, 10 d2 + d3, ... */
    v = v * 10 + (v >> 8);
    /* pairs p0 (byte 0) and p2 (byte 4) times 10^6 and 10^2, p1 (byte 2)
     * and p3 (byte 6) times 10^4 and 1, each sum landing in the high
     * 32 bits (the low halves, below 2^32, carry nothing) */
    uint64_t a = (v & UINT64_C(0x000000FF000000FF)) * (100 + (UINT64_C(1000000) << 32));
    uint64_t b = ((v >> 16) & UINT64_C(0x000000FF000000FF)) * (1 + (UINT64_C(10000) << 32));
    return (a + b) >> 32;
}
#endif

/* the double of significand w (below 10^19) times 10^e10, negated when
 * neg; s[0..n) is the token, for strtod when no fast path is exact */
static double value_of(uint64_t w, int e10, int neg, const char *s, size_t n)
{
    if (w == 0)
        return neg ? -0.0 : 0.0;
    double v;
    if (w <= (UINT64_C(1) << 53) && e10 >= -22 && e10 <= 22) {
        /* both exact as doubles: one rounding, as strtod's */
        v = (double)w;
        v = e10 >= 0 ? v * p10[e10] : v / p10[-e10];
        return neg ? -v : v;
    }
#ifdef HAVE_X87
    if (e10 >= -27 && e10 <= 27 && x87_ok()) {
        /* w and 10^|e10| exact in 64 bits: r is the value rounded once to
         * 64 bits; rounding r to 53 bits gives strtod's double unless r
         * sits exactly on a midpoint between two doubles (its low 11 bits
         * 10000000000), where the true value may lie on either side */
        long double r = (long double)w;
        r = e10 >= 0 ? r * p10l[e10] : r / p10l[-e10];
        uint64_t m;
        memcpy(&m, &r, sizeof m); /* the x87 format's explicit significand */
        if ((m & 0x7FF) != 0x400) {
            v = (double)r;
            return neg ? -v : v;
        }
    }
#endif
    return slow(s, n);
}

double vs_json_number(const char *s, size_t n)
{
    const char *p = s, *end = s + n;
    int neg = 0;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    /* the significand's digits, integer part and fraction in one loop
     * (each fraction digit lowers the exponent) */
    uint64_t w = 0; /* its significant digits: 19 at most (below 10^19) */
    int e10 = 0, frac = 0;
    for (; p < end; p++) {
#ifdef HAVE_SWAR
        /* 8 digits at once while w has at most 10 (w * 10^8 + 8 digits
         * then stays within 18) */
        if (w < UINT64_C(10000000000) && end - p >= 8) {
            uint64_t c;
            memcpy(&c, p, 8);
            if (eight_digits(c)) {
                w = w * 100000000 + eight_value(c);
                e10 -= 8 * frac;
                p += 7;
                continue;
            }
        }
#endif
        if (*p == '.' && !frac) {
            frac = 1;
            continue;
        }
        if (*p < '0' || *p > '9')
            break;
        e10 -= frac;
        /* a 20th significant digit (leading zeros leave w at 0) */
        if (w >= UINT64_C(1000000000000000000))
            return slow(s, n);
        w = w * 10 + (uint64_t)(*p - '0');
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        int xneg = 0, x = 0, xd = 0;
        if (p < end && (*p == '+' || *p == '-'))
            xneg = *p++ == '-';
        for (; p < end && *p >= '0' && *p <= '9'; p++) {
            if (++xd > 5)
                return slow(s, n);
            x = x * 10 + (*p - '0');
        }
        e10 += xneg ? -x : x;
    }
    if (p != end)
        return slow(s, n);
    return value_of(w, e10, neg, s, n);
}

static const char *digits(const char *p, const char *end)
{
#ifdef HAVE_SWAR
    for (uint64_t c; end - p >= 8 && (memcpy(&c, p, 8), eight_digits(c));)
        p += 8;
#endif
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    return p;
}

const char *vs_json_number_end(const char *p, const char *end, size_t *int_digits, int *real)
{
    if (p < end && *p == '-')
        p++;
    const char *dg = p;
    p = digits(p, end);
    size_t nd = (size_t)(p - dg);
    if (nd == 0 || (dg[0] == '0' && nd > 1))
        return NULL;
    *int_digits = nd;
    *real = 0;
    if (p < end && *p == '.') {
        const char *f = ++p;
        if ((p = digits(p, end)) == f)
            return NULL;
        *real = 1;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        const char *x = p;
        if ((p = digits(p, end)) == x)
            return NULL;
        *real = 1;
    }
    return p;
}

#ifndef __EMSCRIPTEN__ /* native only: the module keeps its bundle small */
/* the digits from p on, added to *w as vs_json_number adds them; *big
 * set at a digit that comes when *w already has 19 (vs_json_number's
 * 20th significant digit, which sends it to strtod). While *w has at most
 * 10 digits and 8 bytes are left, 8 bytes at a time: the digits before
 * the first other byte (the lowest byte whose check fails: a byte below
 * it is a digit and passes no carry up) taken at once, shifted up to
 * the top of the word with '0's below them. */
static inline __attribute__((always_inline)) const char *acc_digits(const char *p, const char *end,
                                                                   uint64_t *w, int *big)
{
    uint64_t x = *w;
#ifdef HAVE_SWAR
    static const uint32_t p10i[8] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000};
    const uint64_t hi = UINT64_C(0xF0F0F0F0F0F0F0F0), zeros = UINT64_C(0x3030303030303030);
    while (x < UINT64_C(10000000000) && end - p >= 8) {
        uint64_t c;
        memcpy(&c, p, 8);
        uint64_t other = ((c & hi) ^ zeros) | (((c + UINT64_C(0x0606060606060606)) & hi) ^ zeros);
        if (!other) {
            x = x * 100000000 + eight_value(c);
            p += 8;
            continue;
        }
        unsigned nd = (unsigned)__builtin_ctzll(other) >> 3; /* 0-7 */
        if (nd) {
            x = x * p10i[nd] + eight_value(c << (8 * (8 - nd)) | zeros >> (8 * nd));
            p += nd;
        }
        *w = x;
        return p;
    }
#endif
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        if (x >= UINT64_C(1000000000000000000))
            *big = 1;
        else
            x = x * 10 + (uint64_t)(*p - '0');
    }
    *w = x;
    return p;
}

const char *vs_json_number_scan(const char *s, const char *end, size_t *int_digits, int *real,
                                double *v)
{
    const char *p = s;
    int neg = 0, big = 0, e10 = 0;
    uint64_t w = 0;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    const char *dg = p;
    p = acc_digits(p, end, &w, &big);
    size_t nd = (size_t)(p - dg);
    if (nd == 0 || (dg[0] == '0' && nd > 1))
        return NULL;
    *int_digits = nd;
    *real = 0;
    if (p < end && *p == '.') {
        const char *f = ++p;
        p = acc_digits(p, end, &w, &big);
        if (p == f)
            return NULL;
        if (p - f > 100000) /* e10 stays far from overflow */
            big = 1;
        else
            e10 = -(int)(p - f);
        *real = 1;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        int xneg = 0, x = 0;
        if (p < end && (*p == '+' || *p == '-'))
            xneg = *p++ == '-';
        const char *xd = p;
        for (; p < end && *p >= '0' && *p <= '9'; p++)
            if (p - xd < 5) /* a sixth exponent digit: strtod */
                x = x * 10 + (*p - '0');
            else
                big = 1;
        if (p == xd)
            return NULL;
        e10 += xneg ? -x : x;
        *real = 1;
    }
    *v = big ? slow(s, (size_t)(p - s)) : value_of(w, e10, neg, s, (size_t)(p - s));
    return p;
}
#endif
