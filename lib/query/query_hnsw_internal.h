/* query_hnsw_internal.h: graph search of the segments that have an HNSW
 * section, for lib/query.c (private).
 *
 * Per segment and query: a segment with a graph is searched through it
 * (vs_hnsw.h; a selective filter turns that into an exact scan of the
 * matching rows, and a graph search that found fewer than k is redone
 * exactly); a segment without one (small segments, stores made before
 * graphs, --exact) is left to the exact scan (vs_flat). The hits of both
 * are merged per query: score, then id. */
#ifndef VS_QUERY_HNSW_INTERNAL_H
#define VS_QUERY_HNSW_INTERNAL_H

#include <jansson.h>

#include "vs_flat.h"
#include "vs_store.h"

struct vs_qgraph;

/* Open the graphs of the segments (NULL entries and *out NULL when no
 * segment has one). batch: most queries per run. segs is borrowed: it must
 * outlive the result. */
int vs_qgraph_open(struct vs_segment **segs, size_t nparts, size_t batch,
                   int threads, struct vs_qgraph **out, struct vs_diag *d);
void vs_qgraph_free(struct vs_qgraph *g);
/* 1 when part p is searched through its graph. */
int vs_qgraph_has(const struct vs_qgraph *g, size_t p);
/* The rows of graph part p (NULL for other parts): only the blocks the
 * searches touch are decoded (vs_seg_vectors_lazy), so they may be read
 * only through vs_qgraph_search. */
const float *vs_qgraph_vecs(const struct vs_qgraph *g, size_t p);
/* Search the graph parts for the nq queries and merge their hits into
 * fr[i] (which holds the exact hits of the other parts; hits arrays have
 * room for fq[i].k). ef 0 = 64. */
int vs_qgraph_search(struct vs_qgraph *g, const struct vs_flat_part *parts,
                     const struct vs_flat_query *fq, size_t nq, size_t ef,
                     enum vs_metric metric, struct vs_flat_result *fr,
                     struct vs_diag *d);
/* How many thread slots g has (the threads it was opened with). */
int vs_qgraph_slots(const struct vs_qgraph *g);
/* vs_qgraph_search on the calling thread alone, with the scratch space,
 * buffers and stats of slot (0 .. vs_qgraph_slots - 1): threads of the
 * caller's own, each with its slot, search one graph at once (no OpenMP). */
int vs_qgraph_search_slot(struct vs_qgraph *g, int slot, const struct vs_flat_part *parts,
                          const struct vs_flat_query *fq, size_t nq, size_t ef,
                          struct vs_flat_result *fr, struct vs_diag *d);
/* The per-segment choices of query i of the last search (slot: of the last
 * vs_qgraph_search_slot of that slot; -1: of the last vs_qgraph_search), as a JSON array
 * of {"segment", "method" ("hnsw", "exact", "exact_filter",
 * "hnsw_then_exact"), "ef", "visited", "distance_computations"} and, when
 * the segment has vector codes, "quant" (their kind) and "rescored" (beam
 * entries re-scored from float32). */
json_t *vs_qgraph_explain(const struct vs_qgraph *g, int slot, size_t i, size_t nparts,
                          int exact_requested);

#endif
