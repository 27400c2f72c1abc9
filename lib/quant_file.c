/* quant_file.c: building vector codes and their serialised form (header,
 * parameters, codes). See vs_quant.h and quant_internal.h. */
#include "quant_internal.h"

#include <stdlib.h>
#include <string.h>

#define QHDR 32
static const char QMAGIC[8] = {'V', 'S', 'Q', 'U', 'A', 'N', 'T', '1'};

/* ---- layout ---- */

static size_t code_bytes(enum vs_quant_kind k, size_t dim)
{
    switch (k) {
    case VS_QUANT_F16: return 2 * dim;
    case VS_QUANT_SQ8: return dim;
    default: return 8 * ((dim + 63) / 64);
    }
}

static size_t params_bytes(enum vs_quant_kind k, size_t dim)
{
    return k == VS_QUANT_SQ8 ? 2 * dim * sizeof(float)
         : k == VS_QUANT_BINARY ? dim * sizeof(float) : 0;
}

static void put32(unsigned char *p, uint32_t x) { memcpy(p, &x, 4); }
static void put64(unsigned char *p, uint64_t x) { memcpy(p, &x, 8); }
static uint32_t rd32(const unsigned char *p) { uint32_t x; memcpy(&x, p, 4); return x; }
static uint64_t rd64(const unsigned char *p) { uint64_t x; memcpy(&x, p, 8); return x; }

static void point(struct vs_quant *q)
{
    size_t pb = params_bytes(q->kind, q->dim);
    q->off = pb ? (const float *)(const void *)(q->buf + QHDR) : NULL;
    q->scale = q->kind == VS_QUANT_SQ8 ? q->off + q->dim : NULL;
    q->codes = q->buf + QHDR + pb;
}

int vs_quant_build(enum vs_quant_kind kind, enum vs_metric metric,
                   const float *vecs, uint64_t n, size_t dim, int simd,
                   struct vs_quant **out, struct vs_diag *d)
{
    *out = NULL;
    if (kind < VS_QUANT_F16 || kind > VS_QUANT_BINARY || dim == 0 || dim > (1u << 20))
        return vs_diag_set(d, VS_E_USAGE, "quant: a code kind (f16, sq8, binary) and a dimension are needed");
    struct vs_quant *q = calloc(1, sizeof *q);
    if (!q)
        return vs_diag_set(d, VS_E_NOMEM, "quant: out of memory");
    q->kind = kind;
    q->metric = metric;
    q->dim = dim;
    q->cb = code_bytes(kind, dim);
    q->n = n;
    size_t pb = params_bytes(kind, dim);
    if (n > (SIZE_MAX - QHDR - pb) / q->cb) {
        free(q);
        return vs_diag_set(d, VS_E_NOMEM, "quant: too many rows");
    }
    q->len = QHDR + pb + (size_t)n * q->cb;
    q->buf = calloc(1, q->len);
    if (!q->buf) {
        free(q);
        return vs_diag_set(d, VS_E_NOMEM, "quant: out of memory");
    }
    memcpy(q->buf, QMAGIC, 8);
    put32(q->buf + 8, (uint32_t)kind);
    put32(q->buf + 12, (uint32_t)metric);
    put32(q->buf + 16, (uint32_t)dim);
    put32(q->buf + 20, (uint32_t)q->cb);
    put64(q->buf + 24, n);
    point(q);
    if (kind == VS_QUANT_SQ8) {
        float *off = (float *)(void *)(q->buf + QHDR), *scale = off + dim;
        for (size_t i = 0; i < dim; i++) {
            float lo = n ? vecs[i] : 0, hi = lo;
            for (uint64_t r = 1; r < n; r++) {
                float x = vecs[r * dim + i];
                lo = x < lo ? x : lo;
                hi = x > hi ? x : hi;
            }
            off[i] = lo;
            scale[i] = (hi - lo) / 255.0f;
        }
    } else if (kind == VS_QUANT_BINARY) {
        /* sign bits of the row minus the mean row: balanced bits */
        float *off = (float *)(void *)(q->buf + QHDR);
        for (size_t i = 0; i < dim; i++) {
            double s = 0;
            for (uint64_t r = 0; r < n; r++)
                s += vecs[r * dim + i];
            off[i] = n ? (float)(s / (double)n) : 0.0f;
        }
    }
    for (uint64_t r = 0; r < n; r++)
        vs_quant_encode(q, vecs + r * dim, (uint8_t *)(uintptr_t)(q->codes + r * q->cb));
    vs_quant_pick(q, simd);
    *out = q;
    return VS_OK;
}

void vs_quant_free(struct vs_quant *q)
{
    if (!q)
        return;
    free(q->buf);
    free(q);
}

int vs_quant_save(const struct vs_quant *q, void **buf, size_t *len,
                  struct vs_diag *d)
{
    *buf = malloc(q->len ? q->len : 1);
    if (!*buf)
        return vs_diag_set(d, VS_E_NOMEM, "quant: out of memory");
    memcpy(*buf, q->buf, q->len);
    *len = q->len;
    return VS_OK;
}

int vs_quant_open(void *buf, size_t len, int simd, struct vs_quant **out,
                  struct vs_diag *d)
{
    *out = NULL;
    const unsigned char *b = buf;
    if (len < QHDR || memcmp(b, QMAGIC, 7) != 0)
        return vs_diag_set(d, VS_E_CORRUPT, "section 'quant': bad magic");
    if (b[7] != QMAGIC[7])
        return vs_diag_set(d, VS_E_VERSION, "section 'quant': format '%c' is not supported", b[7]);
    uint32_t kind = rd32(b + 8), metric = rd32(b + 12), dim = rd32(b + 16), cb = rd32(b + 20);
    uint64_t n = rd64(b + 24);
    if (kind < VS_QUANT_F16 || kind > VS_QUANT_BINARY || metric > VS_METRIC_L2 ||
        dim == 0 || dim > (1u << 20) || cb != code_bytes((enum vs_quant_kind)kind, dim))
        return vs_diag_set(d, VS_E_CORRUPT, "section 'quant': bad parameters");
    size_t pb = params_bytes((enum vs_quant_kind)kind, dim);
    if (n > (len - QHDR) / cb || QHDR + pb + n * cb != len)
        return vs_diag_set(d, VS_E_CORRUPT, "section 'quant': size does not match its rows");
    struct vs_quant *q = calloc(1, sizeof *q);
    if (!q)
        return vs_diag_set(d, VS_E_NOMEM, "quant: out of memory");
    q->kind = (enum vs_quant_kind)kind;
    q->metric = (enum vs_metric)metric;
    q->dim = dim;
    q->cb = cb;
    q->n = n;
    q->buf = buf;
    q->len = len;
    point(q);
    vs_quant_pick(q, simd);
    *out = q;
    return VS_OK;
}
