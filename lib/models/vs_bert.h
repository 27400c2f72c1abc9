/* vs_bert.h: a BERT-family sentence encoder (all-MiniLM-L6-v2, bge-small,
 * e5-small, gte-small and the like) run in C.
 *
 * A model is a Hugging Face folder holding:
 *   config.json            model_type "bert": hidden_size, num_hidden_layers,
 *                          num_attention_heads, intermediate_size,
 *                          max_position_embeddings, type_vocab_size,
 *                          vocab_size, layer_norm_eps, hidden_act ("gelu",
 *                          the erf form; "gelu_new"/"gelu_pytorch_tanh", the
 *                          tanh form), absolute position embeddings;
 *   model.safetensors      F32, F16 or BF16 weights, names with or without
 *                          a "bert." prefix;
 *   vocab.txt              the WordPiece vocabulary (uncased);
 *   1_Pooling/config.json  optional sentence-transformers pooling: mean
 *                          (default) or CLS;
 *   sentence_bert_config.json  optional max_seq_length.
 * Sequences are packed without padding: the dense layers run on all tokens of
 * a batch at once (cblas_sgemm), attention per sequence and head (OpenMP).
 * Output vectors are pooled and L2-normalised. */
#ifndef VS_BERT_H
#define VS_BERT_H

#include <stddef.h>
#include <stdint.h>

#include "vs_status.h"

struct vs_bert;

/* Load a model folder. Errors: VS_E_IO (missing files), VS_E_DATA (malformed
 * files, shapes that disagree with config.json), VS_E_UNSUPPORTED (another
 * architecture, activation or pooling), VS_E_NOMEM. */
int vs_bert_open(const char *dir, struct vs_bert **out, struct vs_diag *d);
void vs_bert_free(struct vs_bert *m);

size_t vs_bert_dim(const struct vs_bert *m);
/* Maximum tokens per text, [CLS] and [SEP] included. */
size_t vs_bert_max_len(const struct vs_bert *m);
/* xxh64 of model.safetensors. */
uint64_t vs_bert_checksum(const struct vs_bert *m);

/* Forward pass over n token sequences (ids[i] of lens[i] ids, each 1 to
 * max_len, [CLS]/[SEP] included): out receives n * dim floats, pooled and
 * L2-normalised. Returns VS_OK or VS_E_NOMEM. */
int vs_bert_forward(struct vs_bert *m, size_t n, const int32_t *const *ids,
                    const size_t *lens, float *out);

/* The same forward pass with token types (types[i][j] in [0,
 * type_vocab_size); types NULL: all 0) and no pooling: out receives the
 * final hidden state of every token, sum(lens) * dim floats, sequence after
 * sequence (what a cross-encoder's head or ColBERT's MaxSim read). klens
 * (may be NULL): only the first klens[i] tokens of sequence i are attended
 * to (an attention mask of 1s then 0s; the masked tail still gets its
 * states, as ColBERT's [MASK] query padding does). Returns VS_OK or
 * VS_E_NOMEM. */
int vs_bert_forward_tokens(struct vs_bert *m, size_t n, const int32_t *const *ids,
                           const int32_t *const *types, const size_t *lens,
                           const size_t *klens, float *out);
/* type_vocab_size, and the model's WordPiece tokenizer (owned by m). */
size_t vs_bert_types(const struct vs_bert *m);
struct vs_wordpiece;
struct vs_wordpiece *vs_bert_wordpiece(const struct vs_bert *m);

/* Tokenize (prefix + text) and embed n texts. st[i]: VS_OK, VS_E_DATA (not
 * UTF-8) or VS_E_FIELD (no tokens); truncated[i] (may be NULL): 1 when the
 * text was cut to max_len tokens. Rows of failed texts are zeros. Returns
 * VS_OK or VS_E_NOMEM. */
int vs_bert_embed(struct vs_bert *m, const char *prefix, size_t n,
                  const char *const *texts, const size_t *lens, float *out,
                  int *st, int *truncated);

/* The best trained model fetched into the model directory ($VS_MODEL_DIR,
 * default ~/.cache/vecstore/models; scripts/get-model.sh): bge-small
 * (folder bge-small-en-v1.5), else minilm (all-MiniLM-L6-v2), a folder with
 * config.json, model.safetensors and vocab.txt. Returns 0 with its short
 * name (for vs_embedder_new) in name and its folder in dir, or -1 with the
 * model directory in dir when there is none. */
int vs_bert_default_model(char *name, size_t namesz, char *dir, size_t dirsz);

/* Threads for OpenMP kernels and OpenBLAS (0 = library default). */
void vs_bert_set_threads(int n);

/* The embedder interface's hooks for these models (embed.c; vs_embed.h
 * names the roles VS_EMBED_DOCUMENT and VS_EMBED_QUERY): the role selects
 * the model's prefix (see docs/embedding.md: e5 "query: "/"passage: ", bge's
 * query instruction; other models have none); threads as above. */
struct vs_embedder;
void vs_embedder_set_role(struct vs_embedder *e, int role);
void vs_embedder_set_threads(int n);
/* 1 when text i of the last vs_embedder_embed call was cut to the local
 * model's maximum length. */
int vs_embedder_local_truncated(const struct vs_embedder *e, size_t i);

#endif
