/* vs_quant.h: compact vector codes searched in place of float32 vectors:
 * f16 (IEEE half floats), sq8 (one byte per dimension with a per-dimension
 * offset and scale) and binary (one bit per dimension: the sign of the
 * value minus the mean of the training rows; Hamming distance). Our own code.
 *
 * A struct vs_quant holds the parameters (sq8: offset and scale per
 * dimension, taken from the minimum and maximum of the training rows) and,
 * once filled, the codes of n rows. Distances are "lower is better" like
 * the graph's (vs_hnsw.h): squared L2 for l2, minus the dot product for
 * cosine and dot, and the Hamming distance for binary codes whatever the
 * metric. f16 and sq8 are asymmetric: the query stays float32 (prepared
 * once per query with vs_quant_prep), only the rows are coded.
 *
 * Kernels: a scalar reference, an AVX2 (+FMA, F16C) and an AVX-512 variant
 * picked at run time; the tests compare them on random data.
 *
 * Serialised form (vs_quant_save / vs_quant_open, format 2; quant_file.c
 * has the details), little-endian:
 *   "VSQUANT2", kind u32, metric u32, dim u32, code_bytes u32, rows u64,
 *   block shift, blocks, xxh64 of header, parameters and table (64 bytes);
 *   sq8: dim float32 offsets then dim float32 scales; binary: dim float32
 *   means;
 *   an xxh64 per block of 64 rows; zero bytes to a multiple of 64;
 *   rows * code_bytes codes.
 * The segment stores it raw, so a reader uses the codes in place and checks
 * a block when it first reads one of its codes. Format 1 ("VSQUANT1", no
 * block checksums, the section compressed whole) is still read; saving
 * always writes format 2.
 */
#ifndef VS_QUANT_H
#define VS_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "vs_status.h"
#include "vs_metric.h"

enum vs_quant_kind {
    VS_QUANT_NONE = 0,
    VS_QUANT_F16 = 1,
    VS_QUANT_SQ8 = 2,
    VS_QUANT_BINARY = 3
};

/* "none", "f16", "sq8", "binary" -> kind; VS_E_USAGE otherwise. */
int vs_quant_parse(const char *name, enum vs_quant_kind *out);
const char *vs_quant_name(enum vs_quant_kind k);

struct vs_quant;

/* Train codes of a kind over n rows of dim floats (sq8 uses them for its
 * ranges; n may be 0) and encode the same rows. simd: 0 forces the scalar
 * reference, 2 (VS_SIMD_AVX2) the AVX2 kernels, -1 the best supported
 * (AVX-512 F/BW/VL kernels when the CPU has them). Errors: VS_E_USAGE (kind none, dim 0),
 * VS_E_NOMEM. */
int vs_quant_build(enum vs_quant_kind kind, enum vs_metric metric,
                   const float *vecs, uint64_t n, size_t dim, int simd,
                   struct vs_quant **out, struct vs_diag *d);
void vs_quant_free(struct vs_quant *q);

enum vs_quant_kind vs_quant_kind(const struct vs_quant *q);
uint64_t vs_quant_rows(const struct vs_quant *q);
size_t vs_quant_dim(const struct vs_quant *q);
/* Bytes of one row's code: 2 dim (f16), dim (sq8), 8 ceil(dim / 64) (binary). */
size_t vs_quant_code_bytes(const struct vs_quant *q);
/* The code of row r (code_bytes bytes, owned by q). */
const uint8_t *vs_quant_code(const struct vs_quant *q, uint64_t r);

/* How many of a beam of n entries, nearest by the codes' distance, a
 * search re-scores from the float32 rows to return k: f16 and sq8 3k (on
 * synth, aniso and SciFact-like sets 2k already gave the recall of
 * re-scoring the whole beam at every ef: bench/sq8_prof.c), binary
 * codes the whole beam; at most n. */
size_t vs_quant_rescore_count(const struct vs_quant *q, size_t k, size_t n);
/* Floats of scratch a prepared query needs. */
size_t vs_quant_prep_floats(const struct vs_quant *q);
/* Prepare query vec (dim floats) into prep (vs_quant_prep_floats). */
void vs_quant_prep(const struct vs_quant *q, const float *vec, float *prep);
/* Approximate distance of the prepared query to row r (lower is better). */
float vs_quant_dist(const struct vs_quant *q, const float *prep, uint64_t r);
/* The same for rows ids[0..n) into out[0..n) (bit-identical to
 * vs_quant_dist on each; the SIMD kernels take four codes at a time). */
void vs_quant_dist_ids(const struct vs_quant *q, const float *prep, const uint32_t *ids,
                       size_t n, float *out);
/* Decode row r into out (dim floats; binary gives mean -1 / mean +1). */
void vs_quant_decode(const struct vs_quant *q, uint64_t r, float *out);

/* Serialise into a malloc'd buffer (*buf, *len; caller frees). */
int vs_quant_save(const struct vs_quant *q, void **buf, size_t *len,
                  struct vs_diag *d);
/* Open serialised codes; on success q owns buf (a malloc'd buffer), on
 * failure the caller still does. Errors: VS_E_CORRUPT, VS_E_VERSION. */
int vs_quant_open(void *buf, size_t len, int simd, struct vs_quant **out,
                  struct vs_diag *d);

/* Conversions used by f16 codes (round to nearest even; exposed for tests). */
uint16_t vs_quant_f32_to_f16(float f);
float vs_quant_f16_to_f32(uint16_t h);

#endif
