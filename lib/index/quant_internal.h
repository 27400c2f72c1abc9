/* quant_internal.h: the vector codes shared by quant.c (kernels) and
 * quant_file.c (building, the serialised form). The codes live in one buffer
 * laid out as the serialised form (format 2, see quant_file.c), owned, or
 * borrowed from a mapped segment: then each block of codes is checked
 * against its own checksum when a search first reads it (ready). */
#ifndef VS_QUANT_INTERNAL_H
#define VS_QUANT_INTERNAL_H

#include "vs_quant.h"

typedef float (*qdist_fn)(const struct vs_quant *q, const float *prep,
                          const uint8_t *code);
/* one row's sq8 l2 norm, sum_i (scale_i c_i)^2 */
typedef float (*qnorm_fn)(const struct vs_quant *q, const uint8_t *code);

struct vs_quant {
    enum vs_quant_kind kind;
    enum vs_metric metric;
    size_t dim, cb;
    uint64_t n;
    const float *off, *scale; /* sq8: dim each, inside buf */
    const uint8_t *codes;     /* n * cb, inside buf */
    unsigned char *buf;       /* owned serialised bytes, or NULL (borrowed) */
    size_t len;
    qdist_fn fn;
    /* blocks of 1 << shift rows, each with an xxh64 (format 2) */
    unsigned shift;
    uint64_t nblocks;
    const unsigned char *bsum; /* nblocks xxh64s, inside the serialised bytes */
    uint8_t *ready;           /* per block: 1 once checked (atomic), or NULL
                                 when every code may be read */
    /* sq8 with the int8 kernels (VNNI: the query's weights rounded to
     * int8, see quant.c): i8 is 1, and for l2 norm holds sum_i (scale_i
     * c_i)^2 per row (owned; with ready, a block's rows are written by
     * vs_quant_check_block before the block is marked ready) */
    int i8;
    float *norm;
    qnorm_fn normfn; /* makes norm (set by vs_quant_pick, which alone
                        allocates norm): AVX2 where the int8 kernels run;
                        the sums' order differs from the scalar one, so a
                        norm may differ in its last bits */
};

/* The int8 kernels only up to this dimension (their int32 sums of
 * 127 x 255 per dimension cannot overflow). */
#define VS_QUANT_I8_MAXDIM 65536

/* Write the sq8 l2 norms of rows [first, first + rows) of q (q->norm). */
void vs_quant_norms(struct vs_quant *q, uint64_t first, uint64_t rows);

/* Rows per block of codes written: 64 (8 KiB of sq8 codes at 128-d). */
#define VS_QUANT_BLOCK_SHIFT 6

/* Open format-2 codes in place (a mapped segment section: not copied, not
 * owned, must outlive q). The header, parameters and block table are
 * checked here, each block of codes by vs_quant_check_block. VS_E_UNSUPPORTED
 * for format 1 (open a copy with vs_quant_open). */
int vs_quant_open_borrowed(const void *buf, size_t len, int simd, struct vs_quant **out,
                           struct vs_diag *d);
/* Check block b of borrowed codes against its checksum (once; safe from
 * several threads): 0, or -1 when it is damaged or out of range. */
int vs_quant_check_block(struct vs_quant *q, uint64_t b);

/* Pick the distance kernel for q->kind and q->metric (simd 0 = scalar). */
void vs_quant_pick(struct vs_quant *q, int simd);
/* Encode one row v into code c (q's parameters set). */
void vs_quant_encode(const struct vs_quant *q, const float *v, uint8_t *c);

#endif
