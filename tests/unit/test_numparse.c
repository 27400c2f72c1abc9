/* test_numparse.c: vs_json_number (lib/core/numparse.c) gives strtod's
 * double, bit for bit, on random and edge inputs; vs_json_number_scan the
 * same token ends as vs_json_number_end and the same doubles. */
#include "test.h"

#include <stdint.h>
#include <string.h>

#include "vs_numparse.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int bad;

/* vs_json_number_scan (native builds): the end, digits and kind of
 * vs_json_number_end, and for a whole token strtod's double b */
static void check_scan(const char *s, double b)
{
#ifndef __EMSCRIPTEN__
    size_t n = strlen(s), nd = 99, snd = 98;
    int real = 99, sreal = 98;
    double c = -12345.0;
    const char *e = vs_json_number_end(s, s + n, &nd, &real);
    const char *f = vs_json_number_scan(s, s + n, &snd, &sreal, &c);
    CHECK(f == e);
    if (!e || f != e)
        return;
    CHECK_EQ_INT((int)snd, (int)nd);
    CHECK_EQ_INT(sreal, real);
    if (e == s + n && memcmp(&c, &b, sizeof c) != 0) {
        if (bad++ < 10)
            printf("#   %s: scan %.17g, strtod %.17g\n", s, c, b);
        CHECK(0);
    }
#else
    (void)s;
    (void)b;
#endif
}

static void check(const char *s)
{
    double a = vs_json_number(s, strlen(s)), b = strtod(s, NULL);
    if (memcmp(&a, &b, sizeof a) != 0) {
        if (bad++ < 10)
            printf("#   %s: %.17g, strtod %.17g\n", s, a, b);
        CHECK(0);
    }
    check_scan(s, b);
}

static void test_edges(void)
{
    static const char *const t[] = {
        "0", "-0", "0.0", "-0.0", "1", "-1", "0.1", "0.2", "0.3", "1e22", "1e23", "1e-22",
        "1e-23", "9007199254740992", "9007199254740993", "9007199254740994",
        "9007199254740995", "18014398509481985", "123456789012345678",
        "1234567890123456789", "12345678901234567890", "0.000000000000000000001",
        "1.7976931348623157e308", "2.2250738585072014e-308", "4.9e-324", "1e-400",
        "1e400", "-1e400", "3.4028234663852886e38", "1.0000000000000002",
        "0.30000000000000004", "0.15933449566364288", "-0.10064589232206345",
        "-1.036984920501709", "3.27319598197937", "1E5", "1e+5", "1e-05", "00.5e1",
        "123.456e-7", "9999999999999999999", "0.9999999999999999999", "1e00000000001",
        /* decimal midpoints between doubles (2^53 + 2k + 1 over powers of ten) */
        "9007199254740993e-5", "9.007199254740993", "900719925474099.3",
        "18014398509481986e-3", "4503599627370497.5", "2.5", "1.5e-1",
        "8.988465674311580536566680e307", "123456789012345678e-27",
        "123456789012345678e27", "1e27", "1e-27", "1e28", "1e-28",
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        check(t[i]);
}

/* float32 values printed as Python prints them as doubles (shortest
 * round trip, 1-17 digits), the way query vectors arrive */
static void test_random_shortest(void)
{
    char buf[64];
    for (int i = 0; i < 40000; i++) {
        uint32_t u = (uint32_t)next();
        float f;
        memcpy(&f, &u, 4);
        if (!isfinite(f))
            continue;
        double v = f;
        for (int p = 1; p <= 17; p++) {
            snprintf(buf, sizeof buf, "%.*g", p, v);
            if (strtod(buf, NULL) == v)
                break;
        }
        check(buf);
    }
}

/* random digit strings: every length, point position and exponent, and
 * values near double midpoints (%.25g of random doubles cut short) */
static void test_random_digits(void)
{
    char buf[80];
    for (int i = 0; i < 60000; i++) {
        size_t n = 0;
        if (next() % 2)
            buf[n++] = '-';
        int nd = 1 + (int)(next() % 22), point = (int)(next() % (unsigned)(nd + 1));
        for (int k = 0; k < nd; k++) {
            if (k == point && k > 0)
                buf[n++] = '.';
            buf[n++] = (char)('0' + (k == 0 && nd > 1 && point != 1 ? 1 + next() % 9 : next() % 10));
        }
        if (next() % 3 == 0)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "e%d", (int)(next() % 80) - 40);
        buf[n] = '\0';
        check(buf);
    }
    for (int i = 0; i < 40000; i++) {
        uint64_t b = next();
        double v;
        memcpy(&v, &b, sizeof v);
        if (!isfinite(v) || fabs(v) > 1e30 || fabs(v) < 1e-30)
            continue;
        double up = nextafter(v, INFINITY);
        /* the midpoint, exact in 64 bits, to 19 and 20 digits: on it, just
         * off it, either side */
        long double mid = (long double)v + ((long double)up - (long double)v) / 2;
        snprintf(buf, sizeof buf, "%.18Le", mid);
        check(buf);
        snprintf(buf, sizeof buf, "%.19Le", mid);
        check(buf);
        snprintf(buf, sizeof buf, "%.16e", v);
        check(buf);
    }
}

/* long digit runs read 8 at a time: zeros before the first significant
 * digit, 1-40 digits, the point anywhere, so that the 8-digit steps start
 * at every offset and the 19-digit limit falls inside and outside them */
static void test_long_runs(void)
{
    char dg[64] = {0}, buf[96];
    for (int i = 0; i < 60000; i++) {
        /* z zeros then nd random digits, the point after ip of them
         * (0: "0." first) */
        int z = (int)(next() % 12), nd = 1 + (int)(next() % 40), len = z + nd;
        for (int k = 0; k < len; k++)
            dg[k] = k < z ? '0' : (char)('0' + next() % 10);
        int ip = next() % 2 ? 1 + (int)(next() % (unsigned)(len - (len > 1))) : 0;
        if (ip > 1 && dg[0] == '0')
            dg[0] = '1'; /* JSON: no leading zero before more digits */
        size_t n = 0;
        if (next() % 2)
            buf[n++] = '-';
        if (ip == 0) {
            buf[n++] = '0';
            buf[n++] = '.';
        }
        for (int k = 0; k < len; k++) {
            if (k == ip && ip > 0)
                buf[n++] = '.';
            buf[n++] = dg[k];
        }
        if (next() % 3 == 0)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "e%d", (int)(next() % 60) - 30);
        buf[n] = '\0';
        check(buf);
    }
    check("12345678901234567890123456789012345678901234567890");
    check("0.00000000000000000000000000000000000001234567890123456789");
    check("999999999999999999.99999999");
    check("1000000000000000000.0000000");
    check("99999999.99999999");
}

/* vs_json_number_end: the token's length (-1: not a number), its integer
 * digits and whether it is a real, followed by other bytes */
static void token(const char *s, int len, int nd, int real)
{
    size_t got_nd = 99;
    int got_real = 99;
    const char *e = vs_json_number_end(s, s + strlen(s), &got_nd, &got_real);
    check_scan(s, strtod(s, NULL)); /* the same end, with what follows */
    if (len < 0) {
        CHECK(e == NULL);
        return;
    }
    CHECK(e != NULL);
    if (!e)
        return;
    CHECK_EQ_INT((int)(e - s), len);
    CHECK_EQ_INT((int)got_nd, nd);
    CHECK_EQ_INT(got_real, real);
    char tok[64];
    if (len < (int)sizeof tok) { /* the scan's value: the token's */
        memcpy(tok, s, (size_t)len);
        tok[len] = '\0';
        check_scan(tok, strtod(tok, NULL));
    }
}

static void test_token(void)
{
    token("0", 1, 1, 0);
    token("-0,", 2, 1, 0);
    token("120]", 3, 3, 0);
    token("-12.50e+3}", 9, 2, 1);
    token("1E5 ", 3, 1, 1);
    token("0.5", 3, 1, 1);
    token("01", -1, 0, 0);
    token("-", -1, 0, 0);
    token(".5", -1, 0, 0);
    token("1.", -1, 0, 0);
    token("1.e3", -1, 0, 0);
    token("1e", -1, 0, 0);
    token("1e+", -1, 0, 0);
    token("+1", -1, 0, 0);
    token("123456789012345678901234.5678901234567890e-12345678,", 51, 24, 1);
    token("1234567890123456,", 16, 16, 0);
    token("12345678.12345678a", 17, 8, 1);
    token("0.12345678901234567.", 19, 1, 1);
    token("", -1, 0, 0);
}

int main(void)
{
    RUN(test_token);
    RUN(test_edges);
    RUN(test_random_shortest);
    RUN(test_random_digits);
    RUN(test_long_runs);
    return vs_test_done();
}
