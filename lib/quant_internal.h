/* quant_internal.h: the vector codes shared by quant.c (kernels) and
 * quant_file.c (building, the serialised form). The codes live in one buffer
 * laid out as the serialised form, so saving is a copy and opening checks
 * and points. */
#ifndef VS_QUANT_INTERNAL_H
#define VS_QUANT_INTERNAL_H

#include "vs_quant.h"

typedef float (*qdist_fn)(const struct vs_quant *q, const float *prep,
                          const uint8_t *code);

struct vs_quant {
    enum vs_quant_kind kind;
    enum vs_metric metric;
    size_t dim, cb;
    uint64_t n;
    const float *off, *scale; /* sq8: dim each, inside buf */
    const uint8_t *codes;     /* n * cb, inside buf */
    unsigned char *buf;
    size_t len;
    qdist_fn fn;
};

/* Pick the distance kernel for q->kind and q->metric (simd 0 = scalar). */
void vs_quant_pick(struct vs_quant *q, int simd);
/* Encode one row v into code c (q's parameters set). */
void vs_quant_encode(const struct vs_quant *q, const float *v, uint8_t *c);

#endif
