/* vs_metric.h: the vector metrics a store and an index use, and their names.
 * Lives in core so that the index kernels need nothing of the store. */
#ifndef VS_METRIC_H
#define VS_METRIC_H

#include "vs_status.h"

enum vs_metric {
    VS_METRIC_COSINE = 0, /* score = cosine similarity in [-1, 1]; distance = 1 - score */
    VS_METRIC_DOT = 1,    /* score = dot product; no distance */
    VS_METRIC_L2 = 2      /* score = -squared L2 distance (<= 0); distance = squared L2 */
};

/* "cosine", "dot", "l2"; vs_metric_parse returns VS_OK or VS_E_USAGE. */
const char *vs_metric_name(enum vs_metric m);
int vs_metric_parse(const char *name, enum vs_metric *out);

#endif
