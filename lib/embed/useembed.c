/* useembed.c: USE-lite (models/uselite.c) behind the embedder interface
 * (embed_internal.h): tokenize each text, run the batched forward pass over
 * the texts that tokenized, remember which were truncated. */
#include "embed_internal.h"
#include "vs_uselite.h"

#include <stdlib.h>
#include <string.h>

struct useembed {
    struct vs_uselite *m;
    int *trunc;
    size_t trunc_cap;
};

static int ue_embed(void *state, size_t dim, size_t n, const char *const *texts,
                    const size_t *lens, float *out, int *st)
{
    struct useembed *u = state;
    const struct vs_uselite *m = u->m;
    if (u->trunc_cap < n) {
        int *p = realloc(u->trunc, n * sizeof *p);
        if (!p)
            return VS_E_NOMEM;
        u->trunc = p;
        u->trunc_cap = n;
    }
    int32_t **ids = calloc(n ? n : 1, sizeof *ids);
    size_t *nids = calloc(n ? n : 1, sizeof *nids);
    const int32_t **bids = malloc((n ? n : 1) * sizeof *bids);
    size_t *blens = malloc((n ? n : 1) * sizeof *blens), *bidx = malloc((n ? n : 1) * sizeof *bidx);
    float *bout = malloc((n ? n : 1) * VS_USELITE_DIM * sizeof *bout);
    int rc = VS_OK, nomem = 0;
    if (!ids || !nids || !bids || !blens || !bidx || !bout) {
        rc = VS_E_NOMEM;
        goto done;
    }
    long i;
#pragma omp parallel for schedule(dynamic, 4) reduction(| : nomem)
    for (i = 0; i < (long)n; i++) {
        memset(out + (size_t)i * dim, 0, dim * sizeof *out);
        st[i] = vs_uselite_tokenize(m, texts[i], lens[i], &ids[i], &nids[i]);
        if (st[i] == VS_OK && nids[i] == 0)
            st[i] = VS_E_FIELD;
        u->trunc[i] = nids[i] > vs_uselite_maxlen(m);
        if (st[i] == VS_E_NOMEM)
            nomem = 1;
    }
    if (nomem) {
        rc = VS_E_NOMEM;
        goto done;
    }
    /* The texts that tokenized, in order, in one call (it groups them). */
    size_t nb = 0;
    for (size_t j = 0; j < n; j++)
        if (st[j] == VS_OK) {
            bids[nb] = ids[j];
            blens[nb] = nids[j];
            bidx[nb++] = j;
        }
    if (nb && vs_uselite_forward_batch(m, nb, bids, blens, bout) != VS_OK) {
        rc = VS_E_NOMEM;
        goto done;
    }
    for (size_t k = 0; k < nb; k++)
        memcpy(out + bidx[k] * dim, bout + k * VS_USELITE_DIM,
               (dim < VS_USELITE_DIM ? dim : VS_USELITE_DIM) * sizeof *out);
done:
    for (size_t k = 0; ids && k < n; k++)
        free(ids[k]);
    free(ids);
    free(nids);
    free(bids);
    free(blens);
    free(bidx);
    free(bout);
    return rc;
}

static void ue_free(void *state)
{
    struct useembed *u = state;
    if (!u)
        return;
    vs_uselite_free(u->m);
    free(u->trunc);
    free(u);
}

static const struct vs_embed_ops use_ops = {
    .name = "use-lite",
    .embed = ue_embed,
    .free = ue_free,
};

int vs_uselite_create(const char *dir, const struct vs_embed_ops **ops,
                      void **state, uint64_t *sum, struct vs_diag *d)
{
    struct useembed *u = calloc(1, sizeof *u);
    if (!u)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    int st = vs_uselite_open(dir, &u->m, d);
    if (st != VS_OK) {
        free(u);
        return st;
    }
    *sum = vs_uselite_checksum(u->m);
    *ops = &use_ops;
    *state = u;
    return VS_OK;
}

int vs_uselite_truncated(const void *state, size_t i)
{
    const struct useembed *u = state;
    return u->trunc && i < u->trunc_cap ? u->trunc[i] : 0;
}

int vs_uselite_count(void *state, const char *text, size_t len, size_t *n)
{
    struct useembed *u = state;
    int32_t *ids = NULL;
    int st = vs_uselite_tokenize(u->m, text, len, &ids, n);
    free(ids);
    return st;
}

size_t vs_uselite_max_tokens(void *state)
{
    const struct useembed *u = state;
    return vs_uselite_maxlen(u->m);
}
