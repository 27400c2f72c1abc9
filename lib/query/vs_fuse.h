/* vs_fuse.h: fusion of ranked lists (hybrid search) and maximal marginal
 * relevance (MMR is in vs_mmr.h).
 *
 * Input: several ranked lists of (id, score), each best first (score higher
 * is better). Output: one list of the union of the ids, best first, ties
 * broken by id (strcmp), so the result is deterministic. Within one list an
 * id seen again is ignored (its first, best, occurrence counts).
 *
 * Methods (rank r counts from 1; w_i is list i's weight):
 *   RRF       score(d) = sum_i w_i / (k + r_i(d))             k = 60 default
 *   WEIGHTED  score(d) = sum_i w_i * minmax_i(s_i(d))
 *             minmax_i(s) = (s - min_i) / (max_i - min_i)
 *   DBSF      score(d) = sum_i w_i * clamp((s - (mu_i - 3 sigma_i)) /
 *                                          (6 sigma_i), 0, 1)
 *             (distribution-based: mu_i, sigma_i the mean and population
 *             standard deviation of list i's scores)
 * A list missing a document contributes 0. A list whose scores are all equal
 * normalises every one of its documents to 1 (WEIGHTED, DBSF).
 * Weights: with two lists and weights NULL, WEIGHTED and DBSF use alpha for
 * the first list and 1 - alpha for the second (alpha = 0.5 default); RRF and
 * any other number of lists use weight 1 each unless weights are given.
 */
#ifndef VS_FUSE_H
#define VS_FUSE_H

#include <stddef.h>

#include "vs_status.h"

#define VS_FUSE_RRF_K_DEFAULT 60.0
#define VS_FUSE_ALPHA_DEFAULT 0.5

enum vs_fuse_method {
    VS_FUSE_RRF = 0,
    VS_FUSE_WEIGHTED = 1,
    VS_FUSE_DBSF = 2
};

struct vs_fuse_item {
    const char *id; /* borrowed; must outlive the result */
    double score;
};

struct vs_fuse_list {
    const struct vs_fuse_item *items; /* best first */
    size_t n;
};

struct vs_fuse_opts {
    enum vs_fuse_method method;
    double rrf_k;          /* > 0 (RRF) */
    double alpha;          /* 0 .. 1 (two lists, WEIGHTED and DBSF) */
    const double *weights; /* one per list, or NULL */
};

/* Fill o with the defaults (WEIGHTED, alpha = 0.5; k = 60 for RRF; no
 * weights). Weighted fusion with alpha 0.5 was the best setting for BM25 +
 * all-MiniLM-L6-v2 on SciFact's 809 train queries (nDCG@10 0.7306, RRF
 * k 60 0.7126; docs/eval.md); the public API (vecstore.h) keeps RRF. */
void vs_fuse_opts_init(struct vs_fuse_opts *o);

/* "rrf", "weighted", "dbsf"; vs_fuse_method_parse returns VS_OK or
 * VS_E_USAGE. */
const char *vs_fuse_method_name(enum vs_fuse_method m);
int vs_fuse_method_parse(const char *name, enum vs_fuse_method *out);

/* A fused result: id (borrowed from the input), fused score, and the 1-based
 * rank of the id in each input list (0 when absent), ranks[nlists]. */
struct vs_fuse_result {
    const char *id;
    double score;
    size_t *ranks;
};

/* Fuse: *out is a new array of *n results, best first, freed with
 * vs_fuse_results_free(). Errors: VS_E_USAGE (bad k, alpha or weight;
 * a score not finite), VS_E_NOMEM. */
int vs_fuse(const struct vs_fuse_list *lists, size_t nlists,
            const struct vs_fuse_opts *o, struct vs_fuse_result **out,
            size_t *n, struct vs_diag *d);
void vs_fuse_results_free(struct vs_fuse_result *r, size_t n);

#endif
