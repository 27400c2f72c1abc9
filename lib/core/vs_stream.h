/* vs_stream.h: the stream-integrity protocol of record streams
 * (docs/streams.md).
 *
 * A vecstore program that writes records marks its stream: the first line
 * is a begin marker and the last, written only when the program succeeded,
 * an end marker counting the records between them:
 *
 *     {"op":"begin","stream":"vecstore/1","program":"vs-chunk"}
 *     ... N records ...
 *     {"op":"end","stream":"vecstore/1","program":"vs-chunk","records":N}
 *
 * A stream that has a begin marker and no end marker was cut: its producer
 * failed, was killed, or the file was truncated. Readers see markers through
 * vs_stream_account(); the NDJSON reader (vs_ndjson.h) does that for every
 * record it returns and skips the markers, so a consumer sees data records
 * only, and it gives VS_E_TRUNCATED at the end of a cut stream.
 *
 * Several complete streams may follow each other in one input (cat a b).
 * Records without any marker (hand-written NDJSON) are "unmarked": they are
 * read as before, but a program cannot vouch that they are complete.
 *
 * Process totals: every vs_stream_account() call also adds to one tally per
 * process (vs_stream_tally()), which a program reads at exit to decide
 * whether its own output may carry an end marker (docs/streams.md, "filters").
 * The tally is not thread-safe: readers run on one thread.
 */
#ifndef VS_STREAM_H
#define VS_STREAM_H

#include <jansson.h>

#include "vs_status.h"

/* The value of "stream" in the markers this version writes and reads. */
#define VS_STREAM_ID "vecstore/1"

/* The state of one input (one reader). Zero-initialise it. */
struct vs_stream_state {
    int open;            /* a begin marker was read and its end not yet */
    int cut;             /* vs_stream_eof found the stream open (reported once) */
    long long records;   /* data records since the open begin marker */
    long long streams;   /* complete streams: end markers that matched */
    long long unmarked;  /* data records outside any begin..end */
    char program[64];    /* program named by the last begin marker */
};

/* Process totals over every input the process read. */
struct vs_stream_tally {
    long long begins;    /* begin markers read */
    long long streams;   /* complete streams */
    long long unmarked;  /* data records outside any begin..end */
    long long broken;    /* cut streams and markers that did not match */
};

/* 0 for a data record, 1 for a begin marker, 2 for an end marker: records
 * whose "op" is "begin" or "end". rec NULL (a line that is not a JSON
 * object) is a data record: the producer counted it. */
int vs_stream_marker_kind(const json_t *rec);

/* Account one record read from an input (NULL: a line that did not parse,
 * which counts as a data record). *marker is set to 1 when rec is a
 * marker (the caller skips it), else 0. Errors, with d->detail (the caller
 * adds file and line):
 *   VS_E_FIELD      a marker with a missing or wrong "stream", "program" or
 *                   "records" field (d->field names it)
 *   VS_E_TRUNCATED  a begin marker while a stream is open (the open stream
 *                   was cut), an end marker whose count differs from the
 *                   records read, an end marker without a begin marker
 *   VS_E_DATA       a data record after an end marker with no new begin
 * After an error, the state is closed (not open) and reading may go on. */
int vs_stream_account(struct vs_stream_state *s, const json_t *rec, int *marker,
                      struct vs_diag *d);

/* At the end of an input: VS_E_TRUNCATED, with d->detail naming the
 * producer and the records read, when a stream is open; VS_OK otherwise.
 * The first call on an open stream counts it as broken in the tally. */
int vs_stream_eof(struct vs_stream_state *s, struct vs_diag *d);

/* 1 when the input held at least one stream, every stream ended with its
 * marker and no record was unmarked; 0 otherwise. */
int vs_stream_complete(const struct vs_stream_state *s);

/* 1 when the input showed it is a vecstore stream (a begin marker). */
int vs_stream_marked(const struct vs_stream_state *s);

/* The process totals (never NULL). vs_stream_tally_reset zeroes them (for
 * tests); vs_stream_tally_restore puts back totals taken earlier (a program
 * that reads streams of its own making, as vs-query's shard search reads
 * its temporary hit files, keeps them out of the totals). */
const struct vs_stream_tally *vs_stream_tally(void);
void vs_stream_tally_reset(void);
void vs_stream_tally_restore(const struct vs_stream_tally *t);

/* The markers a program writes: new references, NULL on allocation failure. */
json_t *vs_stream_begin(const char *program);
json_t *vs_stream_end(const char *program, long long records);

#endif
