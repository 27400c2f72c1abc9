/* vs_numparse.h: the double a JSON number token reads as, exactly as
 * strtod rounds it, without strtod's cost for the common case (the query
 * vectors vs-query reads: 15-17 significant digits). */
#ifndef VS_NUMPARSE_H
#define VS_NUMPARSE_H

#include <stddef.h>

/* s[0..n): a JSON number (RFC 8259 grammar, checked by the caller). The
 * correctly rounded double, as strtod gives: significands of up to 19
 * digits with a decimal exponent within 10^-22..10^22 (Clinger's fast
 * path), or up to 10^±27 through x87 extended precision when that is
 * provably the same; anything else goes to strtod. */
double vs_json_number(const char *s, size_t n);

/* The end of the JSON number token (RFC 8259 grammar) that starts at p,
 * or NULL when p..end does not start with one; *int_digits is set to the
 * count of its integer part's digits (a leading zero is alone) and *real
 * to 1 when it has a fraction or an exponent. */
const char *vs_json_number_end(const char *p, const char *end, size_t *int_digits, int *real);

/* vs_json_number_end and vs_json_number in one pass over the token: its
 * end (NULL when p..end does not start with one), *int_digits and *real
 * as vs_json_number_end sets them, and *v = vs_json_number(p, its
 * length), the same double to the last bit. Native builds only (the
 * WebAssembly module reads a token twice and keeps its bundle small). */
#ifndef __EMSCRIPTEN__
const char *vs_json_number_scan(const char *p, const char *end, size_t *int_digits, int *real,
                                double *v);
#endif

#endif
