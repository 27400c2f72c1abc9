/* embed_wasm.c: the WebAssembly build's stand-in for the engines it leaves
 * out (wasm/README.md): the BERT-family and USE-lite models (lib/models/,
 * which need BLAS) and the cloud APIs (libcurl). Compiled to nothing unless
 * VS_WASM_NO_MODELS is defined (wasm/wasm.mk defines it and leaves out
 * bertembed.c, useembed.c and embed_api.c instead).
 *
 * embed.c asks these functions whether a model name is theirs: here no name
 * is (no folder resolves, no API prefix matches), so every name but the
 * hash embedder's gets embed.c's own "model '...' is not available". The
 * create functions say the engine is not built in; the state functions are
 * never reached (no engine state exists) and answer as for no text. */
#ifdef VS_WASM_NO_MODELS
#include "embed_internal.h"
#include "embedapi_internal.h"
#include "vs_bert.h"

const char *vs_bertembed_alias(const char *name) { return NULL; }

int vs_bertembed_resolve(const char *model, char *dir, size_t dirsz, char *name,
                         size_t namesz, uint64_t *want_sum, int *has_sum)
{
    return -1;
}

int vs_bertembed_create(const char *dir, const char *name, size_t *dim,
                        const struct vs_embed_ops **ops, void **state,
                        uint64_t *sum, struct vs_diag *d)
{
    return vs_diag_set(d, VS_E_UNSUPPORTED,
                       "BERT-family models are not built into the WebAssembly module");
}

void vs_bertembed_set_role(void *state, int role) {}
int vs_bertembed_truncated(const void *state, size_t i) { return 0; }
const char *vs_bertembed_prefix(const void *state) { return ""; }
void vs_bert_set_threads(int n) {}

int vs_uselite_create(const char *dir, const struct vs_embed_ops **ops,
                      void **state, uint64_t *sum, struct vs_diag *d)
{
    return vs_diag_set(d, VS_E_UNSUPPORTED,
                       "USE-lite is not built into the WebAssembly module");
}

int vs_uselite_truncated(const void *state, size_t i) { return 0; }

int vs_embedapi_match(const char *model) { return 0; }

int vs_embedapi_create(const char *model, size_t dim, const struct vs_embed_opts *o,
                       const struct vs_embed_ops **ops, void **state,
                       char *identity, size_t idsz, size_t *dim_out,
                       struct vs_diag *d)
{
    return vs_diag_set(d, VS_E_UNSUPPORTED,
                       "cloud embedding APIs are not built into the WebAssembly module");
}

void vs_embedapi_stats(void *state, struct vs_embed_stats *s) {}
void vs_embedapi_set_price(void *state, double usd_per_mtok) {}
int vs_embedapi_truncated(void *state, size_t i) { return 0; }
void vs_embedapi_set_role(void *state, int role) {}
const char *vs_embedapi_error(void *state, size_t i) { return NULL; }
#endif
