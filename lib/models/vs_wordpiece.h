/* vs_wordpiece.h: the BERT uncased WordPiece tokenizer.
 *
 * Text -> token ids exactly as BERT's uncased tokenizer does it:
 *   1. cleaning: NUL, U+FFFD and other control/format characters (Unicode
 *      category C*, except tab, newline, carriage return) are dropped;
 *      tab/newline/CR and space separators (Zs) become spaces;
 *   2. CJK ideographs get spaces around them (each is its own word);
 *   3. lower-casing (with Greek final sigma) and accent stripping (NFD, then
 *      non-spacing marks, category Mn, are dropped);
 *   4. split on white space and around every punctuation character (ASCII
 *      symbols and Unicode category P*);
 *   5. WordPiece: greedy longest match against the vocabulary, continuation
 *      pieces prefixed "##"; a word with no complete segmentation, or longer
 *      than 100 characters, becomes [UNK];
 *   6. [CLS] first, [SEP] last, truncated to max_len ids in all.
 */
#ifndef VS_WORDPIECE_H
#define VS_WORDPIECE_H

#include <stddef.h>
#include <stdint.h>

#include "vs_status.h"

struct vs_wordpiece;

/* Load vocab.txt (one token a line; id = line number from 0). It must hold
 * [UNK], [CLS] and [SEP]. Errors: VS_E_IO (cannot read), VS_E_DATA (bad or
 * incomplete vocabulary), VS_E_NOMEM. */
int vs_wordpiece_open(const char *vocab_path, struct vs_wordpiece **out,
                      struct vs_diag *d);
void vs_wordpiece_free(struct vs_wordpiece *wp);

/* Id of a token, or -1 when not in the vocabulary; and the token of an id
 * (NULL when out of range). */
int32_t vs_wordpiece_id(const struct vs_wordpiece *wp, const char *token);
const char *vs_wordpiece_token(const struct vs_wordpiece *wp, int32_t id);
size_t vs_wordpiece_size(const struct vs_wordpiece *wp);

/* Tokenize text (len bytes of UTF-8) into ids (room for max_len >= 2 ids):
 * [CLS] pieces... [SEP]. *n_out receives the count, *truncated (may be NULL)
 * 1 when pieces were dropped to fit. Errors: VS_E_DATA (not valid UTF-8),
 * VS_E_USAGE (max_len < 2), VS_E_NOMEM. */
int vs_wordpiece_encode(const struct vs_wordpiece *wp, const char *text,
                        size_t len, size_t max_len, int32_t *ids,
                        size_t *n_out, int *truncated, struct vs_diag *d);

#endif
