/* vs_sentencepiece.h: the SentencePiece unigram tokenizer of the Universal
 * Sentence Encoder lite (USE-lite), as its TF.js runtime runs it.
 *
 * The vocabulary is vocab.json: a JSON array of [piece, log-probability]
 * (id = position; id 0 is the unknown piece; a null score is 0). Encoding:
 *   1. Unicode NFKC; an empty result gives no ids;
 *   2. "▁" (U+2581) is put in front and every ASCII space becomes "▁";
 *   3. a lattice of every vocabulary piece that matches at every code point
 *      position (a position where none matches gets the unknown id with
 *      score 0, one code point long);
 *   4. Viterbi: for each end position, candidates in order of start position
 *      replace the best when their score (piece score + best score at their
 *      start) is >= the best so far or the best is still exactly 0;
 *   5. the backward pass steps back by each chosen piece's length in UTF-16
 *      code units (as the JavaScript runtime does), and runs of unknown ids
 *      are merged into one. */
#ifndef VS_SENTENCEPIECE_H
#define VS_SENTENCEPIECE_H

#include <stddef.h>
#include <stdint.h>

#include "vs_status.h"

struct vs_sentencepiece;

/* Load vocab.json. Errors: VS_E_IO, VS_E_DATA (not an array of
 * [string, number]), VS_E_NOMEM. */
int vs_sentencepiece_open(const char *vocab_json, struct vs_sentencepiece **out,
                          struct vs_diag *d);
void vs_sentencepiece_free(struct vs_sentencepiece *sp);
size_t vs_sentencepiece_size(const struct vs_sentencepiece *sp);

/* Encode text (len bytes of UTF-8) into *ids (malloc'd, caller frees; NULL
 * when *n is 0). Errors: VS_E_DATA (not valid UTF-8), VS_E_NOMEM. */
int vs_sentencepiece_encode(const struct vs_sentencepiece *sp, const char *text,
                            size_t len, int32_t **ids, size_t *n,
                            struct vs_diag *d);

#endif
