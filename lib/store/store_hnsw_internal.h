/* store_hnsw_internal.h: the HNSW section of a segment (private to
 * lib/segment.c, lib/store_hnsw.c and their callers in lib/).
 *
 * A graph builder is attached to a segment writer when the store asks for
 * graphs (vs_segw_hnsw). It keeps a copy of every row's vector; at finish,
 * when the segment has at least min_rows rows, the graph is built
 * (vs_hnsw.h, parallel) and written as section VS_SECT_HNSW without the
 * "required" flag: a reader that does not know the section still opens the
 * segment and searches it exactly. The section holds the vs_hnsw_save
 * bytes (already zstd-compressed per block inside). Merges and compactions
 * copy live rows into a new writer, so their graphs are rebuilt over the
 * live rows only (tombstones disappear). */
#ifndef VS_STORE_HNSW_INTERNAL_H
#define VS_STORE_HNSW_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "store_internal.h"
#include "vs_hnsw.h"
#include "vs_status.h"
#include "vs_store.h"

#include <jansson.h>

#define VS_SECT_HNSW 7u
/* The vector codes (vs_quant.h) of a store with a "quant" setting: written
 * beside the graph (optional for readers, zstd-compressed, checksummed). */
#define VS_SECT_QUANT 8u
/* Segments with fewer rows get no graph (they are scanned exactly). */
#define VS_HNSW_MIN_ROWS 1000u

struct vs_hnswb;

/* A builder for rows of dim floats. o: M, ef_construction, seed, threads
 * (vs_hnsw_opts); min_rows: smaller segments get no graph. */
int vs_hnswb_new(uint32_t dim, enum vs_metric metric,
                 const struct vs_hnsw_opts *o, uint64_t min_rows,
                 struct vs_hnswb **out, struct vs_diag *d);
int vs_hnswb_add(struct vs_hnswb *b, const float *vec, struct vs_diag *d);
/* The section bytes (a new malloc'd buffer), or VS_E_NOTFOUND when the
 * segment is too small for a graph. When the options ask for vector codes,
 * *qbuf and *qlen get the 'quant' section bytes (else NULL and 0). A graph
 * built here is renumbered in graph order (vs_hnsw_order): *order gets the
 * new order (malloc'd, rows entries, row i = the i-th row added), the
 * graph and the codes are in that order, and so are the kept rows
 * (vs_hnswb_vectors); the writer must store the rows in it. An adopted
 * graph keeps its order (*order NULL). */
int vs_hnswb_finish(struct vs_hnswb *b, void **buf, size_t *len,
                    void **qbuf, size_t *qlen, uint32_t **order, struct vs_diag *d);
/* Whether b keeps a copy of every row added (not with an adopted graph and
 * codes): the writer then takes the rows from vs_hnswb_vectors at finish
 * instead of streaming them. */
int vs_hnswb_keeps_rows(const struct vs_hnswb *b);
/* The rows added (in graph order after vs_hnswb_finish renumbered them),
 * *rows of them, or NULL when b keeps none. */
const float *vs_hnswb_vectors(const struct vs_hnswb *b, uint64_t *rows);
void vs_hnswb_free(struct vs_hnswb *b);
/* Write graph h (over exactly the rows that will be added, e.g. opened from
 * an older segment being rewritten in the current format) and codes q (or
 * NULL: built at finish when the options ask for codes) instead of building
 * a graph; b takes both, and keeps no copy of the rows when it needs none. */
struct vs_quant;
void vs_hnswb_adopt(struct vs_hnswb *b, struct vs_hnsw *h, struct vs_quant *q);

/* The graph of a segment (opened from its section; level-0 blocks decoded
 * on first use). VS_E_NOTFOUND when the segment has no graph. */
int vs_seg_hnsw(struct vs_segment *g, struct vs_hnsw **out, struct vs_diag *d);
/* The vector codes of a segment; VS_E_NOTFOUND when it has none. */
int vs_seg_quant(struct vs_segment *g, struct vs_quant **out, struct vs_diag *d);

/* Store settings: the manifest's optional "hnsw" object
 * {"M": m, "ef_construction": e[, "seed": s][, "quant": "f16"|"sq8"|"binary"]};
 * absent = no graphs. With a seed, graphs are built on one thread
 * (reproducible bytes); without, in parallel from seed 1. */
int vs_store_hnsw_read(json_t *manifest, struct vs_store_settings *st);
json_t *vs_store_hnsw_json(const struct vs_store_settings *st);
int vs_store_hnsw_check(const struct vs_store_settings *st, struct vs_diag *d);
/* Attach a graph builder to a new segment when the settings ask for graphs. */
int vs_store_hnsw_attach(struct vs_segw *w, const struct vs_store_settings *st,
                         struct vs_diag *d);

#endif
