/* vs_store_text.h: BM25 full-text search over a store's segments.
 *
 * A store with an analyzer (store setting "analyzer", recorded in the
 * manifest with "text_field") keeps, per segment, a BM25 section built from
 * the string value of the text field of each record (lib/store_text.c,
 * docs/bm25.md). A segment without the section (a store written before the
 * section existed, or a store without an analyzer) searches as having no
 * text. Tombstoned rows are never returned; IDF and average length count
 * every row of the sections (Lucene's rule, docs/bm25.md) until a merge or a
 * compaction drops the dead ones.
 *
 * Not thread safe: one struct vs_store_text per thread.
 */
#ifndef VS_STORE_TEXT_H
#define VS_STORE_TEXT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "vs_bm25.h"
#include "vs_status.h"
#include "vs_store.h"

struct vs_store_text;

/* Load the BM25 sections of every segment of s (borrowed; it must outlive
 * the object). A store without an analyzer gives an object with no text.
 * Errors: VS_E_CORRUPT (a damaged section), VS_E_CONFIG (the manifest's
 * analyzer is not known to this build), VS_E_NOMEM, VS_E_IO. */
int vs_store_text_open(struct vs_store *s, struct vs_store_text **out,
                       struct vs_diag *d);
void vs_store_text_close(struct vs_store_text *t);

/* The analyzer id ("" when the store has none). */
const char *vs_store_text_analyzer(const struct vs_store_text *t);
/* Documents in the sections (dead ones included) and segments with one. */
uint64_t vs_store_text_docs(const struct vs_store_text *t);
size_t vs_store_text_segments(const struct vs_store_text *t);

struct vs_store_text_hit {
    size_t seg;   /* segment index in the store */
    uint64_t row; /* row in the segment */
    double score; /* BM25 */
};

/* The top k live rows for query (vs_bm25.h syntax) allowed by allow
 * (allow[seg][row] != 0; allow NULL or allow[seg] NULL: every row), best
 * first. hits has room for k. p NULL: the defaults. Errors: VS_E_USAGE (bad
 * k1 or b), VS_E_CORRUPT, VS_E_NOMEM. */
int vs_store_text_search(struct vs_store_text *t, const char *query,
                         const struct vs_bm25_params *p,
                         const uint8_t *const *allow, size_t k,
                         struct vs_store_text_hit *hits, size_t *nhits,
                         struct vs_diag *d);

/* The matched terms of (seg, row) for query: *terms is a new array of
 * {"term", "tf", "score"[, "required": true]} whose scores sum to the row's
 * BM25 score. */
int vs_store_text_explain(struct vs_store_text *t, const char *query,
                          const struct vs_bm25_params *p, size_t seg,
                          uint64_t row, json_t **terms, struct vs_diag *d);

#endif
