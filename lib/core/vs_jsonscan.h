/* vs_jsonscan.h: finding members of a stored JSON record without parsing
 * it into json_t, for splicing their bytes into output (vs-query's hits).
 *
 * vs_json_scan_doc accepts only text in the exact form json_dumps writes
 * with VS_JSON_DUMP_FLAGS (compact, no whitespace; strings escaped as
 * jansson escapes them, valid UTF-8, no NUL; integers of at most 18 digits
 * without "-0"; reals as jansson prints the double they read as; no
 * duplicate key in any object; nesting at most 64 deep). For such text,
 * loading it with jansson and dumping any member's value with
 * VS_JSON_DUMP_FLAGS gives back the member's bytes exactly, so they can be
 * copied instead. Anything else returns 0: the caller parses the text the
 * full way (which also reports any error). */
#ifndef VS_JSONSCAN_H
#define VS_JSONSCAN_H

#include <stddef.h>

struct vs_json_span {
    const char *p;   /* the value's bytes in the text (a string's with its
                        quotes); NULL when the member is absent */
    size_t n;
    int esc;         /* a string holding an escape sequence */
    int real;        /* the value is or holds a real number */
};

/* Scan text[0..len) (one JSON object); out[i] gets the top-level member
 * named keys[i] (nkeys of them). Returns 1 when the text is in the form
 * above, 0 when not (out is then undefined). */
int vs_json_scan_doc(const char *text, size_t len, const char *const *keys, size_t nkeys,
                     struct vs_json_span *out);

#endif
