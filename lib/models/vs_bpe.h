/* vs_bpe.h: byte-level BPE token counts for OpenAI's embedding models
 * (cl100k_base): the pre-tokenization pattern, implemented by hand, and the
 * merge algorithm over a rank table.
 *
 * The rank table is a file of lines "BASE64-BYTES RANK" (tiktoken's format),
 * fetched by scripts/get-model.sh into the model directory ($VS_MODEL_DIR,
 * default ~/.cache/vecstore/models). A loaded table is read-only: every
 * function below may be called from several threads at once.
 *
 * Text is split into pieces as cl100k_base's pattern does
 *   's 't 're 've 'm 'll 'd (ASCII letters, either case)
 *   | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N}{1,3} | ' '?[^\s\p{L}\p{N}]+[\r\n]*
 *   | \s*[\r\n]+ | \s+(?!\S) | \s+
 * with \p{L} and \p{N} the Unicode letter and number categories (utf8proc)
 * and \s the Unicode White_Space property. Each piece is then merged byte
 * pair by byte pair, lowest rank first (leftmost on ties). Special tokens
 * such as <|endoftext|> are ordinary text here. Bytes that are not valid
 * UTF-8 are pieces of their own.
 */
#ifndef VS_BPE_H
#define VS_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "vs_status.h"

struct vs_bpe;

/* The model directory: $VS_MODEL_DIR, else $HOME/.cache/vecstore/models.
 * Writes it into buf (size n) and returns buf. */
char *vs_bpe_model_dir(char *buf, size_t n);

/* Load a rank table file. Errors: VS_E_IO (d names the file), VS_E_DATA (a
 * line that is not "BASE64 RANK", a duplicate, or a single byte missing),
 * VS_E_NOMEM. The caller owns *out (vs_bpe_free). */
int vs_bpe_load(const char *path, struct vs_bpe **out, struct vs_diag *d);
/* Load NAME.tiktoken from the model directory; a missing file is
 * VS_E_CONFIG with a hint to run scripts/get-model.sh NAME. */
int vs_bpe_open(const char *name, struct vs_bpe **out, struct vs_diag *d);
void vs_bpe_free(struct vs_bpe *b);

/* Number of ranks in the table. */
size_t vs_bpe_size(const struct vs_bpe *b);

/* Encode text (len bytes) into *toks (malloc'd, the caller frees it; NULL
 * when *n is 0). Returns VS_OK or VS_E_NOMEM. */
int vs_bpe_encode(const struct vs_bpe *b, const char *text, size_t len,
                  uint32_t **toks, size_t *n);
/* Count the tokens of text. Returns VS_OK or VS_E_NOMEM. */
int vs_bpe_count(const struct vs_bpe *b, const char *text, size_t len,
                 size_t *n);
/* The longest prefix of text that ends on a UTF-8 character boundary and
 * encodes (on its own) to at most max tokens: *prefix gets its length in
 * bytes and *ntok its token count. When the whole text fits, *prefix is
 * len. Returns VS_OK or VS_E_NOMEM. */
int vs_bpe_prefix(const struct vs_bpe *b, const char *text, size_t len,
                  size_t max, size_t *prefix, size_t *ntok);

#endif
