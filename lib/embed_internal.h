/* embed_internal.h: what an embedder implementation provides (private).
 *
 * An implementation fills a struct vs_embed_ops and a state pointer; embed.c
 * owns the generic part (names, identity, batching, statuses). */
#ifndef VS_EMBED_INTERNAL_H
#define VS_EMBED_INTERNAL_H

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

/* Version tag of the hash embedder's feature set, part of its identity. */
#define VS_HASHEMBED_VERSION "hash-v1"

#endif
