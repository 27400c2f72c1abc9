/* embedapi_internal.h: the API embedders (embed_api.c), as embed.c sees
 * them (private). */
#ifndef VS_EMBEDAPI_INTERNAL_H
#define VS_EMBEDAPI_INTERNAL_H

#include "embed_internal.h"

/* 1 when model names an API provider ("openai:", "ollama:", "cohere:"). */
int vs_embedapi_match(const char *model);

/* Make an API embedder: fills ops, state, the identity (idsz bytes) and the
 * dimension. o: the options (vs_embedder_new_opts fills in the defaults
 * when its caller gives none). Errors: VS_E_UNSUPPORTED (unknown
 * provider), VS_E_USAGE (bad dimension), VS_E_CONFIG (no key, no tokenizer,
 * unknown dimension), VS_E_NOMEM. */
int vs_embedapi_create(const char *model, size_t dim,
                       const struct vs_embed_opts *o,
                       const struct vs_embed_ops **ops, void **state,
                       char *identity, size_t idsz, size_t *dim_out,
                       struct vs_diag *d);

void vs_embedapi_stats(void *state, struct vs_embed_stats *s);
void vs_embedapi_set_price(void *state, double usd_per_mtok);
int vs_embedapi_truncated(void *state, size_t i);
/* Role of the following calls: VS_EMBED_DOCUMENT or VS_EMBED_QUERY (Cohere's
 * input_type; part of the cache key). */
void vs_embedapi_set_role(void *state, int role);
const char *vs_embedapi_error(void *state, size_t i);

#endif
