/* vs_ndjson.h: newline-delimited JSON records over jansson.
 *
 * json_t reference rules (as in jansson): a function that returns a new
 * reference says "new reference" and the caller must json_decref() it; a
 * function that takes a json_t argument only borrows it unless it says
 * "steals". Object member order is preserved (jansson >= 2.8), so fields a
 * program does not own pass through unchanged and in order.
 *
 * Numbers: reals are printed with 15 significant digits, so any decimal of up
 * to 15 significant digits passes through unchanged; float32 values made with
 * vs_json_float() print in their shortest form that reads back to the same
 * float32 (at most 9 significant digits). NaN and infinities are refused on
 * input (jansson rejects them, and a number that overflows float32 in a
 * vector is a data error).
 *
 * Vectors arrive either as "vector": [numbers] or as "vector_b64": base64 of
 * little-endian float32 values, which parses several times faster.
 */
#ifndef VS_NDJSON_H
#define VS_NDJSON_H

#include <jansson.h>
#include <stdio.h>
#include <stdint.h>

#include "vs_jsonfmt.h"
#include "vs_status.h"
#include "vs_stream.h"

/* Default bound on one input line (bytes, without the newline). */
#define VS_NDJSON_MAX_LINE_DEFAULT (64u << 20)

/* VS_JSON_DUMP_FLAGS (the flags of every record we write) is in
 * vs_jsonfmt.h. */

struct vs_ndjson_reader;

/* Open `path` for reading records; NULL or "-" means stdin (named "<stdin>").
 * max_line 0 means VS_NDJSON_MAX_LINE_DEFAULT.
 * Returns VS_OK, VS_E_IO (with d->detail from errno) or VS_E_NOMEM.
 * The reader is owned by the caller: vs_ndjson_close() frees it. */
int vs_ndjson_open(const char *path, size_t max_line,
                   struct vs_ndjson_reader **out, struct vs_diag *d);
/* Read from an already open stream (not closed by vs_ndjson_close). */
int vs_ndjson_open_stream(FILE *fp, const char *name, size_t max_line,
                          struct vs_ndjson_reader **out, struct vs_diag *d);

/* Process totals: the bytes every reader of this process has read from
 * its input so far (for progress lines: a program that knows the size of
 * its inputs tells how far it is). Not thread-safe: readers run on one
 * thread, as vs_stream_tally. Never NULL. */
struct vs_ndjson_meter {
    long long read;
};
const struct vs_ndjson_meter *vs_ndjson_meter(void);

/* Read the next record. On VS_OK, *rec is a new reference to a JSON object, or
 * NULL at end of input. Empty (or all-whitespace) lines are skipped, and so
 * are stream markers (vs_stream.h), which are accounted with
 * vs_ndjson_account.
 * Errors (d gets file and line): VS_E_LINE_TOO_LONG (the rest of the line is
 * skipped, so reading can go on), VS_E_JSON (not JSON, or not an object),
 * the errors of vs_ndjson_account, VS_E_TRUNCATED at the end of an input
 * whose stream has a begin marker and no end marker (once; the next call
 * gives the end of input), VS_E_IO. After a data error the next call reads
 * the next line. */
int vs_ndjson_read(struct vs_ndjson_reader *r, json_t **rec, struct vs_diag *d);

/* As vs_ndjson_read, but each non-blank line is first offered to
 * take(line, len, arg) (when take is not NULL): a line it takes (returns 1)
 * is accounted as one record that is not a marker, without a json_t:
 * *taken is 1, *rec NULL, and the line stays valid until the next read.
 * take reads a record it knows without parsing it into a json_t and must
 * take only what vs_ndjson_read would return as a record (no marker, valid
 * JSON). *taken 0 and *rec NULL: end of input. */
int vs_ndjson_read_fast(struct vs_ndjson_reader *r,
                        int (*take)(const char *line, size_t len, void *arg), void *arg,
                        json_t **rec, int *taken, struct vs_diag *d);

/* Read the next raw line (without its newline) into the reader's buffer,
 * valid until the next call. *line is NULL at end of input. Same errors as
 * vs_ndjson_read except VS_E_JSON and the marker errors. Empty lines are
 * returned too. A caller of raw lines passes every parsed record to
 * vs_ndjson_account, and skips the markers. */
int vs_ndjson_read_line(struct vs_ndjson_reader *r, const char **line,
                        size_t *len, struct vs_diag *d);

/* Account one record of this reader for the stream protocol: *marker is 1
 * when rec is a begin or end marker. Errors: those of vs_stream_account,
 * with d naming the reader's file and line. */
int vs_ndjson_account(struct vs_ndjson_reader *r, const json_t *rec, int *marker,
                      struct vs_diag *d);

/* The reader's stream state: markers seen, complete streams, unmarked
 * records (valid until vs_ndjson_close). */
const struct vs_stream_state *vs_ndjson_stream(const struct vs_ndjson_reader *r);

/* 1-based number of the line last read, and the reader's name. */
long vs_ndjson_line(const struct vs_ndjson_reader *r);
const char *vs_ndjson_name(const struct vs_ndjson_reader *r);

/* Close the reader (closes the file unless it was a stream or stdin). NULL ok. */
void vs_ndjson_close(struct vs_ndjson_reader *r);

/* Write one record and a newline. Returns VS_OK or a status from errno
 * (VS_E_NOSPC, VS_E_IO). Flushes when `flush` is non-zero. */
int vs_ndjson_write(FILE *fp, const json_t *rec, int flush);

/* Parse a whole line of text as a record: VS_E_JSON when it is not a JSON
 * object. *rec is a new reference. */
int vs_ndjson_parse(const char *line, size_t len, json_t **rec,
                    struct vs_diag *d);

/* The vector of a record: "vector" (array of numbers) or "vector_b64".
 * Returns VS_OK with *vec a new malloc'd array of *dim floats (caller frees),
 * or VS_OK with *vec NULL and *dim 0 when the record has neither field.
 * Errors (d->field set): VS_E_FIELD (wrong type, bad base64, both fields,
 * empty), VS_E_NONFINITE (a value not finite as float32). */
int vs_record_vector(const json_t *rec, float **vec, size_t *dim,
                     struct vs_diag *d);

/* Set rec["vector"] to the given floats (a JSON array made with
 * vs_json_float) and remove "vector_b64". Or, with b64 non-zero, set
 * "vector_b64" and remove "vector". Returns VS_OK or VS_E_NOMEM. */
int vs_record_set_vector(json_t *rec, const float *vec, size_t dim, int b64);

/* A JSON real holding the shortest decimal that reads back as f.
 * New reference (NULL on allocation failure). */
json_t *vs_json_float(float f);

/* Write into buf (at least 32 bytes) the shortest decimal that strtof reads
 * back as f (f must be finite). Returns the length. */
int vs_float_format(char *buf, size_t size, float f);

/* Base64 (RFC 4648, standard alphabet, with padding).
 * vs_base64_encode: returns a new malloc'd NUL-terminated string or NULL.
 * vs_base64_decode: decodes into a new malloc'd buffer; returns VS_OK,
 * VS_E_FIELD on an invalid string, VS_E_NOMEM. */
char *vs_base64_encode(const void *data, size_t len);
int vs_base64_decode(const char *s, size_t slen, unsigned char **out,
                     size_t *outlen);

/* Convenience getters that check types. Each returns VS_OK and sets *out, or
 * VS_E_FIELD with d->field/detail set when the field has the wrong type; a
 * missing field gives VS_OK with *out = NULL (string) or the default. */
int vs_record_string(const json_t *rec, const char *key, const char **out,
                     struct vs_diag *d);

#endif
