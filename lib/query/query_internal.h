/* query_internal.h: what lib/query.c shares with lib/query_text.c (private). */
#ifndef VS_QUERY_INTERNAL_H
#define VS_QUERY_INTERNAL_H

#include <jansson.h>
#include <stddef.h>

#include "vs_status.h"

/* The id and k of a query record. *qid gets a new reference to a JSON
 * string (a string id as it is, an integer id printed); *k is default_k
 * unless the record has "k" (an integer from 1 to VS_QUERY_K_MAX). On an
 * error *qid may still be set: the caller releases it. Errors: VS_E_FIELD
 * naming "id" or "k", VS_E_NOMEM. */
int vs_query_record_id_k(const json_t *rec, size_t default_k, json_t **qid,
                         size_t *k, struct vs_diag *d);

/* vs_query_merge_files over hit files of the caller's own making: with
 * tally not NULL, the process's stream totals are put back to *tally after
 * the files are read and before the first hit is emitted, so the marking
 * of the output follows the caller's real inputs (vs_qtext_shards). */
struct vs_stream_tally;
int vs_query_merge_own(const char *const *paths, size_t n, size_t k, const json_t *kmap,
                       const struct vs_stream_tally *tally,
                       int (*emit)(const json_t *hit, void *arg), void *arg,
                       uint64_t *nqueries, uint64_t *nhits, uint64_t *incomparable,
                       struct vs_diag *d);

#endif
