/* embed_internal.h: what an embedder implementation provides (private).
 *
 * An implementation fills a struct vs_embed_ops and a state pointer; embed.c
 * owns the generic part (names, identity, batching, statuses). */
#ifndef VS_EMBED_INTERNAL_H
#define VS_EMBED_INTERNAL_H

#include <stdint.h>

#include "vs_embed.h"

struct vs_embed_ops {
    const char *name; /* "hash" */
    /* Embed n texts into out (n * dim floats), one status per text in st
     * (never NULL here). Returns VS_OK, or VS_E_NOMEM when nothing could be
     * done. Per-text failures go to st[i] only. */
    int (*embed)(void *state, size_t dim, size_t n, const char *const *texts,
                 const size_t *lens, float *out, int *st);
    void (*free)(void *state);
};

/* The hash embedder (hashembed.c). Returns VS_OK or VS_E_NOMEM. */
int vs_hashembed_create(size_t dim, const struct vs_embed_ops **ops,
                        void **state);

/* BERT-family models (bertembed.c). alias: the folder name of a short
 * name ("minilm" -> "all-MiniLM-L6-v2", "bge-small" -> "bge-small-en-v1.5"),
 * else NULL. resolve: model is a folder path (with a
 * '/'), or a name (or short name) looked up in $VS_MODEL_DIR (default
 * ~/.cache/vecstore/models), optionally followed by "@" and the 16 hex
 * digits of the weights checksum (an identity); fills dir and name (the
 * folder's base name), *want_sum and *has_sum. Returns 0 when dir/config.json
 * exists, else -1. create: loads the folder; *dim and *sum (xxh64 of
 * model.safetensors) are filled. Errors as vs_bert_open. */
const char *vs_bertembed_alias(const char *name);
int vs_bertembed_resolve(const char *model, char *dir, size_t dirsz,
                         char *name, size_t namesz, uint64_t *want_sum,
                         int *has_sum);
int vs_bertembed_create(const char *dir, const char *name, size_t *dim,
                        const struct vs_embed_ops **ops, void **state,
                        uint64_t *sum, struct vs_diag *d);
/* Role of the following calls (0 document, 1 query: selects the prefix);
 * whether text i of the last call was cut to the model's maximum. */
void vs_bertembed_set_role(void *state, int role);
int vs_bertembed_truncated(const void *state, size_t i);
/* The prefix of the current role ("" when the model has none). */
const char *vs_bertembed_prefix(const void *state);
/* Tokens of a text (WordPiece, [CLS] and [SEP] not counted): VS_OK,
 * VS_E_DATA (not UTF-8), VS_E_NOMEM; and how many the model reads of a
 * document (its maximum less [CLS], [SEP] and the document prefix). */
int vs_bertembed_count(void *state, const char *text, size_t len, size_t *n);
size_t vs_bertembed_max_tokens(void *state);

/* USE-lite (uselite.c): load the model folder (model.json, shards,
 * vocab.json); *sum is the xxh64 of the shards. Errors as vs_uselite_open.
 * truncated: text i of the last call had more than 128 tokens. */
int vs_uselite_create(const char *dir, const struct vs_embed_ops **ops,
                      void **state, uint64_t *sum, struct vs_diag *d);
int vs_uselite_truncated(const void *state, size_t i);
/* Tokens of a text (SentencePiece ids): VS_OK, VS_E_DATA, VS_E_NOMEM; and
 * how many the model reads (128). */
int vs_uselite_count(void *state, const char *text, size_t len, size_t *n);
size_t vs_uselite_max_tokens(void *state);

/* The hash embedder's words of a text (hashembed.c, step 2). */
size_t vs_hashembed_count_words(const char *text, size_t len);

/* Version tag of the hash embedder's feature set, part of its identity. */
#define VS_HASHEMBED_VERSION "hash-v1"

/* Revision of the local engines' outputs (tokenizers, forward passes,
 * pooling), part of every local cache key: bump it with any change that can
 * alter a vector, even in the last bit, so no cache returns vectors an older
 * engine computed. 2: OpenBLAS attention in bert.c, batched USE-lite. */
#define VS_LOCAL_ENGINE_REV 2

#endif
