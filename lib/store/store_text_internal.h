/* store_text_internal.h: the BM25 section of a segment, as the segment
 * writer builds it (private to lib/segment.c and lib/store_text.c).
 *
 * A text builder is attached to a segment writer when the store has an
 * analyzer (store setting); every row's doc (JSON text) is parsed and the
 * string value of the store's text field is indexed (rows without one are
 * simply absent from the index). At finish the index (vs_bm25.h format,
 * postings already zstd-compressed) is written as section VS_SECT_BM25
 * without the "required" flag, so that a reader that does not know it
 * still opens the segment. Merges and compactions rebuild it the same way
 * from the rows they copy (live rows only), which gives the same bytes as
 * vs_bm25_merge would. */
#ifndef VS_STORE_TEXT_INTERNAL_H
#define VS_STORE_TEXT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "vs_status.h"

#define VS_SECT_BM25 6u

struct vs_textb;

int vs_textb_new(const char *field, const char *analyzer, struct vs_textb **out,
                 struct vs_diag *d);
/* Index the text field of the doc of row (JSON text, len bytes). */
int vs_textb_add(struct vs_textb *t, uint64_t row, const char *doc, size_t len,
                 struct vs_diag *d);
/* The serialised index: a new malloc'd buffer. */
int vs_textb_finish(struct vs_textb *t, void **buf, size_t *len,
                    struct vs_diag *d);
void vs_textb_free(struct vs_textb *t);

#endif
