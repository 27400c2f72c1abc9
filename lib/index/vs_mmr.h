/* vs_mmr.h: maximal marginal relevance over candidate vectors.
 *
 * Greedy selection (Carbonell and Goldstein, 1998): repeatedly pick the
 * candidate c not yet chosen that maximises
 *     lambda * rel(c) - (1 - lambda) * max_{s chosen} cos(c, s)
 * where rel(c) is cos(query, c), or the caller's relevance score when one is
 * given (e.g. the retrieval score). With no candidate chosen yet the second
 * term is 0. lambda = 1 is plain relevance order; lambda = 0 maximal
 * diversity. Ties go to the lower candidate index. A zero vector has cosine
 * 0 with everything.
 */
#ifndef VS_MMR_H
#define VS_MMR_H

#include <stddef.h>

#include "vs_status.h"

#define VS_MMR_LAMBDA_DEFAULT 0.5

/* Candidates are n row-major vectors of dim floats. query may be NULL when
 * rel (n relevance scores) is given; rel NULL means cos(query, c).
 * order (room for k) gets the chosen candidate indexes in order, *nout =
 * min(k, n); mmr (may be NULL, room for k) gets each pick's MMR value.
 * Errors: VS_E_USAGE (lambda outside [0, 1], neither query nor rel, dim 0),
 * VS_E_NOMEM. */
int vs_mmr_select(const float *cands, size_t n, size_t dim, const float *query,
                  const double *rel, double lambda, size_t k, size_t *order,
                  double *mmr, size_t *nout, struct vs_diag *d);

#endif
