/* vs_embed.h: embedders turn texts into float32 vectors.
 *
 * An embedder has a short name ("hash"), a dimension, and an identity string
 * that names the model exactly ("hash-v1:384"): the identity is what a store
 * pins (vector_model), and vs_embedder_new() accepts it to recreate the same
 * embedder on the query side. Today only the zero-dependency hash embedder
 * exists (docs/embedding.md says exactly what it computes); local transformer
 * models and cloud APIs are meant to be added as further implementations of
 * struct vs_embed_ops (embed_internal.h) without changing this interface.
 *
 * Thread safety: vs_embedder_embed() may run several texts in parallel
 * (OpenMP) inside one call; one struct vs_embedder must not be used by two
 * threads at the same time.
 */
#ifndef VS_EMBED_H
#define VS_EMBED_H

#include <stddef.h>
#include <stdint.h>

#include "vs_status.h"

/* The dimension used when neither the caller nor the identity gives one. */
#define VS_EMBED_DIM_DEFAULT 384
#define VS_EMBED_DIM_MAX 65536

struct vs_embedder;

/* Make an embedder from a model name or identity string:
 *   "hash"            the hash embedder, dimension `dim` (0 = default 384)
 *   "hash-v1"         the same, naming the feature-set version explicitly
 *   "hash-v1:384"     an identity string as stored with vectors; `dim` must
 *                     be 0 or agree with it
 * Errors: VS_E_UNSUPPORTED (d->detail "model 'x' is not available"),
 * VS_E_USAGE (bad dimension, or dim disagrees with the identity),
 * VS_E_NOMEM. The caller owns *out (vs_embedder_free). */
int vs_embedder_new(const char *model, size_t dim, struct vs_embedder **out,
                    struct vs_diag *d);
void vs_embedder_free(struct vs_embedder *e);

/* Short name ("hash"), identity ("hash-v1:384", valid for the embedder's
 * life) and dimension. */
const char *vs_embedder_name(const struct vs_embedder *e);
const char *vs_embedder_identity(const struct vs_embedder *e);
size_t vs_embedder_dim(const struct vs_embedder *e);

/* Embed n texts (texts[i] of lens[i] bytes, UTF-8) into out, which holds
 * n * dim floats: row i is the L2-normalised vector of text i.
 * status (may be NULL) receives one status per text: VS_OK, or VS_E_FIELD
 * when the text gives no features (empty or white space only for the hash
 * model, no tokens for USE-lite: a zero vector cannot be normalised), or VS_E_DATA when it is not valid UTF-8;
 * the row of a failed text is all zeros.
 * Returns VS_OK when every text succeeded, else the status of the first
 * failed text, with d->detail describing it (the caller adds file and line);
 * VS_E_NOMEM when scratch memory cannot be had (then nothing is valid). */
int vs_embedder_embed(struct vs_embedder *e, size_t n,
                      const char *const *texts, const size_t *lens,
                      float *out, int *status, struct vs_diag *d);

/* Embed one NUL-terminated text into out (dim floats): the query side.
 * Same statuses as vs_embedder_embed. */
int vs_embedder_embed_one(struct vs_embedder *e, const char *text,
                          float *out, struct vs_diag *d);

/* ---- token counts (vs-chunk --unit tokens) ----
 *
 * The tokens of a text as the model's own tokenizer makes them, without the
 * special tokens and the document prefix it adds: WordPiece pieces for BERT
 * models, SentencePiece ids for USE-lite, words (runs of letters, marks and
 * numbers, as the hash embedder finds them) for the hash embedder. The
 * count of a text is the sum of the counts of its white-space separated
 * words for the BERT and hash tokenizers, and for USE-lite's whole-word
 * pieces. Errors: VS_E_DATA (not UTF-8), VS_E_NOMEM, VS_E_UNSUPPORTED (API
 * models). Not thread-safe (scratch in the embedder). */
int vs_embedder_count_tokens(struct vs_embedder *e, const char *text, size_t len,
                             size_t *n, struct vs_diag *d);
/* How many tokens of a document text the model reads (BERT: its maximum
 * less [CLS], [SEP] and the document prefix; USE-lite: 128); the rest is
 * cut. 0: no limit (hash) or unknown (API models). */
size_t vs_embedder_max_tokens(struct vs_embedder *e);

/* ---- API embedders (embed_api.c): openai:, ollama:, cohere: ----
 *
 * Model names "openai:MODEL[:DIM]", "ollama:MODEL[:DIM]",
 * "cohere:MODEL[:DIM]", "azure:DEPLOYMENT[@MODEL][:DIM]" (Azure OpenAI:
 * the deployment URL under the base URL, which has no default, with
 * ?api-version= and an "api-key" header) (docs/embedding.md lists the
 * models, their limits and prices). The identity is "PROVIDER:MODEL:DIM". vs_embedder_new()
 * accepts them with default options (key from the provider's environment
 * variable, base URL from $VS_EMBED_BASE_URL when set);
 * vs_embedder_new_opts() takes the options below. */

enum { VS_EMBED_DOCUMENT = 0, VS_EMBED_QUERY = 1 };

struct vs_embed_opts {
    const char *base_url;    /* NULL = the provider's default */
    const char *api_key_env; /* NULL = OPENAI_API_KEY / COHERE_API_KEY /
                                AZURE_OPENAI_API_KEY */
    const char *api_version; /* azure: only; NULL = 2024-10-21 */
    int input_type;          /* VS_EMBED_DOCUMENT or VS_EMBED_QUERY (cohere) */
    int split_long;          /* 1: split over-long texts and average; 0: truncate */
    int concurrency;         /* requests in flight (default 1) */
    int max_retries;         /* default 4 */
    long timeout_ms;         /* per request (default 60000) */
    double rpm, tpm;         /* client-side limits, 0 = none */
    long request_inputs;     /* texts per request, 0 = provider maximum */
    long request_tokens;     /* tokens per request, 0 = provider maximum */
    long max_tokens;         /* tokens per text, 0 = the model's limit */
    int no_cache;            /* 1: no embedding cache */
    const char *cache_dir;   /* NULL = $VS_CACHE_DIR or ~/.cache/vecstore */
    long long cache_max_bytes; /* 0 = 1 GiB */
    int dry_run;             /* count tokens and requests, send nothing */
    uint64_t seed;           /* backoff jitter seed, 0 = clock */
};
void vs_embed_opts_init(struct vs_embed_opts *o);

/* Like vs_embedder_new; o (may be NULL) applies to API models; for local
 * transformer models only its cache fields count (with o non-NULL and
 * no_cache 0 they use the embedding cache, keyed by identity, role, prefix
 * and text; vs_embedder_stats then counts hits and misses); it must be NULL
 * or all defaults for the hash embedder. Errors as vs_embedder_new, plus
 * VS_E_CONFIG (missing API key, missing tokenizer, unknown dimension). */
int vs_embedder_new_opts(const char *model, size_t dim,
                         const struct vs_embed_opts *o,
                         struct vs_embedder **out, struct vs_diag *d);

/* 1 when the embedder calls a remote API. */
int vs_embedder_is_remote(const struct vs_embedder *e);

struct vs_embed_stats {
    long long tokens;       /* tokens of the texts sent (local count) */
    long long usage_tokens; /* tokens the provider reported, -1 = none */
    long long requests;     /* batches (dry run: that would be) sent */
    long long attempts;     /* HTTP attempts, retries included */
    long long retries;
    long long cache_hits, cache_misses;
    long long truncated, split, failed;
    double price;           /* USD per million tokens, < 0 = unknown */
    double cost;            /* USD (usage tokens when reported), < 0 = unknown */
    const char *price_date; /* date of the built-in price table */
};
/* Counters so far (all zero for local embedders). */
void vs_embedder_stats(const struct vs_embedder *e, struct vs_embed_stats *s);
/* Override the price (USD per million tokens). */
void vs_embedder_set_price(struct vs_embedder *e, double usd_per_mtok);
/* For text i of the last vs_embedder_embed call: the message of its failure
 * (NULL when it did not fail or the embedder gives none), valid until the
 * next call. */
const char *vs_embedder_error(const struct vs_embedder *e, size_t i);

#endif
