/* vs_jsonfmt.h: writing JSON text without json_t, byte for byte as
 * vs_ndjson_write (jansson, VS_JSON_DUMP_FLAGS) writes the same values, for
 * the hot output paths (vs-query's hit records), and the exact shortest
 * decimal of a float32 behind vs_float_format.
 *
 * A struct vs_buf is a growable byte buffer owned by its user:
 * vs_buf_init / vs_buf_release; its bytes are not NUL-terminated. The
 * append functions return VS_OK or VS_E_NOMEM (the buffer then keeps what
 * it held before the call). */
#ifndef VS_JSONFMT_H
#define VS_JSONFMT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "vs_status.h"

/* Flags for json_dumpf()/json_dumps() used for every record we write. */
#define VS_JSON_DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

struct vs_buf {
    char *p;
    size_t len, cap;
};

void vs_buf_init(struct vs_buf *b);
void vs_buf_release(struct vs_buf *b);
/* Room for n more bytes. */
int vs_buf_reserve(struct vs_buf *b, size_t n);
int vs_buf_put(struct vs_buf *b, const void *s, size_t n);
/* A JSON string of the UTF-8 bytes s[0..n) in double quotes, escaped as
 * jansson escapes it ("\\", "\"", control characters; nothing else). s
 * must be valid UTF-8 (as every string jansson made is). */
int vs_buf_json_string(struct vs_buf *b, const char *s, size_t n);
/* A JSON integer. */
int vs_buf_json_int(struct vs_buf *b, long long v);
/* The JSON real jansson writes for vs_json_float(f) (f finite): its
 * shortest decimal in %.15g layout, ".0" added to a whole number, the
 * exponent without "+" and leading zeros ("1e-5", "1e20"). */
int vs_buf_json_float(struct vs_buf *b, float f);
/* vs_buf_json_float(x), the bytes sep[0..n), then vs_buf_json_float(y);
 * when y is -x (an l2 hit's score and distance) y's decimal is x's, found
 * once. */
int vs_buf_json_float_pair(struct vs_buf *b, float x, const char *sep, size_t n, float y);
/* Any JSON value as vs_ndjson_write writes it inside a record. */
int vs_buf_json_value(struct vs_buf *b, const json_t *v);

/* The shortest decimal that reads back as f, as %.pg prints it for the
 * first p of 6..9 that reads back: *nd significant digits (no trailing
 * zeros) into dig (>= 10 bytes, not terminated), the decimal exponent of
 * the first digit in *e and that p in *p. Exact (integer arithmetic);
 * returns 0 when f is zero, not finite, subnormal or too far from 1 for
 * 128-bit arithmetic (|f| beyond about 1e-20 .. 1e26), where the caller
 * uses printf. */
int vs_float_digits(float f, char *dig, int *nd, int *e, int *p);

#endif
