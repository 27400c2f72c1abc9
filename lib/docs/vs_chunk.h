/* vs_chunk.h: splitting documents into chunk records.
 *
 * Splitters (all sizes are exact maxima: no chunk measures more than `size`
 * in its unit; characters are Unicode code points, words are runs of
 * non-whitespace (ASCII whitespace); a chunk never splits a UTF-8 sequence):
 *   fixed      windows of `size` units, each starting `size - overlap` units
 *              after the previous one; chars windows are not trimmed
 *   recursive  paragraphs (blank lines), then lines, then sentences, then
 *              words, then code points: a piece too big at one level is split
 *              at the next; pieces at one level are packed greedily into
 *              chunks up to `size`; in documents from vs_chunker_doc, a blank
 *              line inside a Markdown code block or an HTML <pre> is not a
 *              paragraph break
 *   sentence   sentences (end . ! ? followed by space, or a CJK full stop,
 *              or a blank line) packed greedily up to `size`; a sentence too
 *              big is split at words, then code points
 *   markdown   one chunk per section (heading to next heading); a section too
 *              big is split as `recursive`; a document without headings is
 *              one section
 * Tiny pieces: with min_size, a chunk measuring less than min_size (a
 * heading line such as "Bug Fixes:" before a long list, a date, the tail of
 * a document) is merged into the next chunk of the document, or the last
 * one into the one before it; the markdown splitter never merges across a
 * section. A merged chunk may measure up to size + min_size - 1; a chunk
 * left alone (a document that is all one tiny chunk) stays as it is.
 * Overlap (recursive, sentence, markdown): the next chunk starts with the
 * last whole pieces of the previous one that measure at most `overlap`
 * together, when they and the next piece fit in `size`. Chunks of the
 * recursive, sentence and markdown splitters are trimmed of whitespace at
 * both ends; chunks that are all whitespace are dropped.
 *
 * A chunk record: id "<doc_id>#<n>", doc_id, chunk (n, from 0), text, start
 * and end (byte offsets into the document's text: the file for text and
 * Markdown, the extracted text for HTML and PDF), source (when the document
 * has one), metadata (the document's, plus "headings" for the section the
 * chunk starts in and "page" for PDFs), then the document's passthrough
 * fields.
 */
#ifndef VS_CHUNK_H
#define VS_CHUNK_H

#include <jansson.h>
#include <stddef.h>

#include "vs_loader.h"
#include "vs_status.h"

enum vs_splitter {
    VS_SPLITTER_FIXED = 0,
    VS_SPLITTER_RECURSIVE,
    VS_SPLITTER_SENTENCE,
    VS_SPLITTER_MARKDOWN
};

enum vs_chunk_unit { VS_CHUNK_CHARS = 0, VS_CHUNK_WORDS, VS_CHUNK_TOKENS };

/* Tokens (VS_CHUNK_TOKENS): the caller's tokenizer counts the tokens of
 * text[0..len) into *n (returns VS_OK, else the status that stops the
 * split: VS_E_DATA, VS_E_NOMEM). The library has no tokenizer of its own at
 * this layer: vs-chunk bridges it to the model's (vs_embedder_count_tokens).
 * The chunker counts each white-space separated word once and adds the
 * counts up (a tokenizer whose pieces never cross white space, as
 * WordPiece's and SentencePiece's do not, counts a text as the sum of its
 * words); every chunk it emits is then counted whole, and one that measures
 * more than `size` after all (a tokenizer that joins words) is cut again at
 * the last word that fits, so no chunk exceeds `size` by the tokenizer's
 * own count. A word of more than `size` tokens is cut at code points, the
 * longest piece that counts at most `size` (at least one code point). In
 * tokens, tiny pieces are merged only where the merged chunk still fits
 * in `size`, and the fixed splitter packs whole words, like recursive at
 * the word level. */
typedef int (*vs_chunk_count_fn)(void *arg, const char *text, size_t len, size_t *n);

struct vs_chunk_options {
    enum vs_splitter splitter;
    enum vs_chunk_unit unit;
    size_t size;    /* >= 1 */
    size_t overlap; /* < size */
    size_t min_size; /* < size; 0 = no merging (see below) */
    unsigned load_flags; /* VS_LOAD_* for files read by a vs_chunk_job */
    vs_chunk_count_fn count; /* VS_CHUNK_TOKENS: required; else unused */
    void *count_arg;
    const char *count_model; /* VS_CHUNK_TOKENS: the model's identity, for
                                file stamps (--since) */
};

/* Names: "fixed", "recursive", "sentence", "markdown"; "chars", "words",
 * "tokens".
 * The parsers return VS_OK or VS_E_USAGE. */
const char *vs_splitter_name(enum vs_splitter s);
int vs_splitter_parse(const char *name, enum vs_splitter *out);
const char *vs_chunk_unit_name(enum vs_chunk_unit u);
int vs_chunk_unit_parse(const char *name, enum vs_chunk_unit *out);

/* One chunk: [start, end) byte offsets into the text. */
struct vs_chunk_span {
    size_t start, end;
};

struct vs_chunker;

/* Errors: VS_E_USAGE (size 0, overlap >= size, tokens without count),
 * VS_E_NOMEM.
 * The caller owns *out (vs_chunker_free). */
int vs_chunker_new(const struct vs_chunk_options *o, struct vs_chunker **out,
                   struct vs_diag *d);
void vs_chunker_free(struct vs_chunker *c);

/* Split text (UTF-8, len bytes) whose sections start at the sorted byte
 * offsets sec[0..nsec) (may be NULL/0). *spans is owned by the chunker and
 * valid until the next call. Returns VS_OK, VS_E_DATA (a text of 4 GiB or
 * more, or one the tokenizer cannot count) or VS_E_NOMEM. */
int vs_chunker_split(struct vs_chunker *c, const char *text, size_t len,
                     const size_t *sec, size_t nsec,
                     const struct vs_chunk_span **spans, size_t *n,
                     struct vs_diag *d);

/* Called with each chunk record of a document (borrowed: the callee takes a
 * reference if it keeps it). Return VS_OK to go on; anything else stops. */
typedef int (*vs_chunk_emit_fn)(void *ctx, json_t *rec);

/* Split a document and make its chunk records, in order. Returns VS_OK,
 * VS_E_DATA, VS_E_NOMEM, or the first non-OK status of emit. *nchunks (may be NULL)
 * receives how many records were emitted. */
int vs_chunker_doc(struct vs_chunker *c, const struct vs_doc *doc,
                   vs_chunk_emit_fn emit, void *ctx, size_t *nchunks,
                   struct vs_diag *d);

/* ---- incremental runs (vs-chunk --since STORE) ----
 *
 * A file stamp says "this file, read this way": "v2 MTIME CTIME SIZE INODE
 * SPLITTER/UNIT/SIZE/OVERLAP/MIN_SIZE/LOAD_FLAGS" (UNIT "tokens=MODEL" names
 * the tokenizer's model identity) (v1, from before tiny
 * merging and HTML main content, lacked the last two and never equals a
 * v2 stamp, so such files are read again once), with the times as seconds.nanoseconds from
 * stat(2). vs-chunk puts it on every chunk record of a file as
 * metadata.file_stamp. A later run with --since compares the stamp of each
 * file (one stat, no read) with the stamp stored for the same source and
 * doc_id; when they are equal the file is not read and a keep marker
 * {"op":"keep","doc_id":...,"source":...} stands for its chunks. The stamp
 * is compared as an opaque string: any change of time, size, inode (an
 * editor's write-and-rename) or chunking options means "read it again".
 * Known limit: a file rewritten with the same size, inode and times within
 * the filesystem's timestamp granularity is taken as unchanged.
 */

/* The stamp of the file at path for chunking options o into buf (n bytes;
 * 160 are enough, 640 with a model identity). Errors: VS_E_IO (stat failed; d names the file),
 * VS_E_INTERNAL (buf too small). */
int vs_chunk_stamp(const char *path, const struct vs_chunk_options *o,
                   char *buf, size_t n, struct vs_diag *d);

struct vs_chunk_since;

/* Read the stamps stored in the store at path: for each source, its doc_id
 * and the metadata.file_stamp its chunks share (none when they disagree or
 * one has none). Errors: the store's (VS_E_NOSTORE, VS_E_CORRUPT, ...),
 * VS_E_NOMEM. The caller owns *out (vs_chunk_since_free). */
int vs_chunk_since_open(const char *store, struct vs_chunk_since **out,
                        struct vs_diag *d);
void vs_chunk_since_free(struct vs_chunk_since *s);
/* How many file documents the store holds. */
size_t vs_chunk_since_docs(const struct vs_chunk_since *s);
/* 1 when the store holds document doc_id from source with exactly stamp. */
int vs_chunk_since_unchanged(const struct vs_chunk_since *s, const char *source,
                             const char *doc_id, const char *stamp);
/* A new keep marker record, or NULL when out of memory. */
json_t *vs_chunk_keep_record(const char *doc_id, const char *source);

#endif
