/* metric.c: the names of the vector metrics. */
#include "vs_metric.h"

#include <string.h>

const char *vs_metric_name(enum vs_metric m)
{
    switch (m) {
    case VS_METRIC_COSINE: return "cosine";
    case VS_METRIC_DOT: return "dot";
    case VS_METRIC_L2: return "l2";
    }
    return "unknown";
}

int vs_metric_parse(const char *name, enum vs_metric *out)
{
    static const enum vs_metric all[] = {VS_METRIC_COSINE, VS_METRIC_DOT, VS_METRIC_L2};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (name && strcmp(name, vs_metric_name(all[i])) == 0) {
            *out = all[i];
            return VS_OK;
        }
    return VS_E_USAGE;
}
