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

#endif
