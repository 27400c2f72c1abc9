/* vs_analyzer.h: the text analyzer that turns text into index terms.
 *
 * An analyzer is a store setting, recorded in the manifest by its canonical
 * identity string, and built again from that string:
 *
 *     v1;lang=english;stop=en;fold=1;marks=strip
 *
 *   lang   a Snowball stemmer (any name of vs_analyzer_languages(), e.g.
 *          "english", "porter", "german"), or "none" for no stemming
 *   stop   "en" (the built-in English stop list, docs/bm25.md) or "none"
 *   fold   1: NFKC normalisation and full Unicode case folding;
 *          0: NFC normalisation only (case kept)
 *   marks  "strip": remove combining marks (accents: "café" -> "cafe");
 *          "keep": keep them
 *
 * A spec may give the keys in any order and leave any out (defaults:
 * VS_ANALYZER_DEFAULT); vs_analyzer_id() always returns the canonical
 * string with every key, so two analyzers are the same exactly when their ids
 * are equal.
 *
 * Segmentation rules (after normalisation), documented in docs/bm25.md:
 * - a token is a run of letters, digits and combining marks;
 * - every Han, Hiragana or Katakana character is a token of its own;
 * - "." between two digits is kept ("3.14", "v1.2"); "," between two digits
 *   is dropped ("1,000" -> "1000");
 * - an apostrophe (' or U+2019) between two letters joins them and is
 *   dropped ("don't" -> "dont"), except a final possessive "'s", which is
 *   removed ("john's" -> "john");
 * - everything else separates tokens, hyphens included ("e-mail" -> "e",
 *   "mail"; "covid-19" -> "covid", "19");
 * - tokens longer than VS_ANALYZER_MAX_TERM bytes are dropped;
 * - stop words are dropped after folding and before stemming; tokens that
 *   contain a digit are not stemmed.
 * Positions count every token, dropped ones included, so a phrase with a
 * stop word in it ("state of the art") keeps its gaps.
 *
 * Thread safety: an analyzer holds a stemmer with state; use one analyzer
 * per thread (vs_analyzer_new is cheap).
 */
#ifndef VS_ANALYZER_H
#define VS_ANALYZER_H

#include <stddef.h>
#include <stdint.h>

#include "vs_status.h"

#define VS_ANALYZER_DEFAULT "v1;lang=english;stop=en;fold=1;marks=strip"
#define VS_ANALYZER_MAX_TERM 128

struct vs_analyzer;

/* Build an analyzer from a spec (NULL or "" means VS_ANALYZER_DEFAULT).
 * Errors: VS_E_CONFIG (unknown key, value or language, wrong version; d says
 * which), VS_E_NOMEM. The caller frees *out with vs_analyzer_free(). */
int vs_analyzer_new(const char *spec, struct vs_analyzer **out,
                    struct vs_diag *d);
void vs_analyzer_free(struct vs_analyzer *a);

/* The canonical identity string (owned by the analyzer). */
const char *vs_analyzer_id(const struct vs_analyzer *a);

/* Called once per term: term is NUL-terminated, valid only during the call;
 * pos is the token's 0-based position. Return VS_OK to go on, any other
 * status to stop (vs_analyzer_run then returns it). */
typedef int (*vs_analyzer_emit_fn)(void *arg, const char *term, size_t len,
                                   uint32_t pos);

/* Analyze len bytes of text (need not be NUL-terminated; invalid UTF-8
 * bytes separate tokens). *npos (may be NULL) gets the number of positions
 * used, i.e. the last position + 1 including dropped tokens.
 * Returns VS_OK, VS_E_NOMEM, or the status an emit call returned. */
int vs_analyzer_run(struct vs_analyzer *a, const char *text, size_t len,
                    vs_analyzer_emit_fn emit, void *arg, uint32_t *npos,
                    struct vs_diag *d);

/* 1 when the (folded) word is in the analyzer's stop list. */
int vs_analyzer_is_stop(const struct vs_analyzer *a, const char *w, size_t len);

/* The Snowball languages available (NULL-terminated, static). */
const char **vs_analyzer_languages(void);

#endif
