/* analyzer_internal.h: a faster entry for the BM25 builder (private).
 *
 * vs_analyzer_run_memo works as vs_analyzer_run, but its callback also gets
 * a pointer to a 32-bit word remembered with the token in the analyzer's
 * token cache (0 when new; the callback may store a value there, such as the
 * term's index, and finds it again the next time the same token is seen;
 * an evicted token starts again at 0). Only one user may store values in a
 * given analyzer's memo words. */
#ifndef VS_ANALYZER_INTERNAL_H
#define VS_ANALYZER_INTERNAL_H

#include "vs_analyzer.h"

typedef int (*vs_analyzer_memo_fn)(void *arg, const char *term, size_t len,
                                   uint32_t pos, uint32_t *memo);

int vs_analyzer_run_memo(struct vs_analyzer *a, const char *text, size_t len,
                         vs_analyzer_memo_fn emit, void *arg,
                         struct vs_diag *d);

#endif
