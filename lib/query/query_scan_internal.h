/* query_scan_internal.h: the common query record read without a json_t,
 * for lib/query/query_text.c and vs-serve's one-record requests
 * (lib/serve/server.c); not part of the public API.
 *
 * vs_query_scan accepts only a record that the full parse (jansson, then
 * vs_qtext_add) would accept with the same meaning: one JSON object whose
 * members are "id" (a string of printable ASCII without escapes, or an
 * integer), "vector_b64" (base64 of dim finite little-endian float32) or
 * "vector" (dim numbers, finite as float32), and optionally "k" (1 ..
 * VS_QUERY_K_MAX), each at most once. Anything else (other fields, escapes,
 * another dimension, a bad value) returns 0 and the caller parses the line
 * the full way, which also reports every error. */
#ifndef VS_QUERY_SCAN_INTERNAL_H
#define VS_QUERY_SCAN_INTERNAL_H

#include <stddef.h>

#include "vs_query.h"

struct vs_query_scanned {
    const char *qid; /* into the line: the id's bytes (a string's, without quotes) */
    size_t qlen;
    size_t k;        /* 0: the record has no "k" */
};

/* Scan line[0..len) into out and its vector into vec (dim floats). Returns
 * 1 when the record was read, 0 when it needs the full parse (vec may then
 * hold anything). */
int vs_query_scan(const char *line, size_t len, float *vec, size_t dim,
                  struct vs_query_scanned *out);

/* The next pending query of q read from line by vs_query_scan into its
 * vector slot (normalised as the store's vectors are): 1 when it was read,
 * 0 when the batch is full, the store empty, or the line needs the full
 * parse (vs_query_add). Nothing is pending until vs_query_add_scanned. */
int vs_query_scan_next(struct vs_query *q, const char *line, size_t len,
                       struct vs_query_scanned *sc);
/* Make the query vs_query_scan_next read pending, with k (0: the default
 * k) and no filter; its qid in vs_query_run is its index in the batch (as
 * vs_qtext numbers the queries it passes on). */
void vs_query_add_scanned(struct vs_query *q, size_t k);

#endif
