/* stream.c: begin and end markers of record streams (vs_stream.h,
 * docs/streams.md). */
#include "vs_stream.h"

#include <stdio.h>
#include <string.h>

static struct vs_stream_tally tally;

const struct vs_stream_tally *vs_stream_tally(void) { return &tally; }

void vs_stream_tally_reset(void) { memset(&tally, 0, sizeof tally); }

void vs_stream_tally_restore(const struct vs_stream_tally *t) { tally = *t; }

int vs_stream_marker_kind(const json_t *rec)
{
    const char *op = rec ? json_string_value(json_object_get(rec, "op")) : NULL;
    if (!op)
        return 0;
    if (strcmp(op, "begin") == 0)
        return 1;
    if (strcmp(op, "end") == 0)
        return 2;
    return 0;
}

static const char *who(const struct vs_stream_state *s)
{
    return s->program[0] ? s->program : "an unnamed program";
}

/* The fields both markers carry: "stream" and "program". */
static int check_common(const json_t *rec, const char **program, struct vs_diag *d)
{
    const char *id = json_string_value(json_object_get(rec, "stream"));
    if (!id || strcmp(id, VS_STREAM_ID) != 0) {
        vs_diag_field(d, "stream");
        return vs_diag_set(d, VS_E_FIELD, "a stream marker needs \"stream\":\"%s\"",
                           VS_STREAM_ID);
    }
    *program = json_string_value(json_object_get(rec, "program"));
    if (!*program) {
        vs_diag_field(d, "program");
        return vs_diag_set(d, VS_E_FIELD, "a stream marker needs a \"program\" string");
    }
    return VS_OK;
}

int vs_stream_account(struct vs_stream_state *s, const json_t *rec, int *marker,
                      struct vs_diag *d)
{
    int kind = vs_stream_marker_kind(rec);
    const char *program = NULL;
    *marker = kind != 0;
    if (kind == 0) {
        if (s->open) {
            s->records++;
            return VS_OK;
        }
        if (s->streams > 0) {
            tally.broken++;
            return vs_diag_set(d, VS_E_DATA,
                               "a record follows the end marker of the stream from %s "
                               "(streams cannot be mixed with unmarked records)",
                               who(s));
        }
        s->unmarked++;
        tally.unmarked++;
        return VS_OK;
    }
    int st = check_common(rec, &program, d);
    if (st != VS_OK) {
        tally.broken++;
        s->open = 0;
        return st;
    }
    if (kind == 1) {
        tally.begins++;
        int was_open = s->open;
        char prev[sizeof s->program];
        long long n = s->records;
        snprintf(prev, sizeof prev, "%s", who(s));
        s->open = 1;
        s->records = 0;
        snprintf(s->program, sizeof s->program, "%s", program);
        if (was_open) {
            tally.broken++;
            return vs_diag_set(d, VS_E_TRUNCATED,
                               "the stream from %s was cut after %lld records: a new "
                               "stream begins before its end marker",
                               prev, n);
        }
        return VS_OK;
    }
    if (!s->open) {
        tally.broken++;
        return vs_diag_set(d, VS_E_TRUNCATED,
                           "an end marker from %s without a begin marker", program);
    }
    s->open = 0;
    json_t *jn = json_object_get(rec, "records");
    if (!json_is_integer(jn) || json_integer_value(jn) < 0) {
        tally.broken++;
        vs_diag_field(d, "records");
        return vs_diag_set(d, VS_E_FIELD,
                           "an end marker needs \"records\", a count of 0 or more");
    }
    long long want = (long long)json_integer_value(jn);
    if (want != s->records) {
        tally.broken++;
        return vs_diag_set(d, VS_E_TRUNCATED,
                           "the end marker from %s counts %lld records, the stream "
                           "held %lld: records were lost or added",
                           who(s), want, s->records);
    }
    s->streams++;
    tally.streams++;
    return VS_OK;
}

int vs_stream_eof(struct vs_stream_state *s, struct vs_diag *d)
{
    if (!s->open)
        return VS_OK;
    if (!s->cut) {
        s->cut = 1;
        tally.broken++;
    }
    return vs_diag_set(d, VS_E_TRUNCATED,
                       "the stream from %s ended without its end marker after %lld "
                       "records (it was cut: a stage failed or was killed)",
                       who(s), s->records);
}

int vs_stream_complete(const struct vs_stream_state *s)
{
    return s->streams > 0 && !s->open && s->unmarked == 0;
}

int vs_stream_marked(const struct vs_stream_state *s)
{
    return s->open || s->streams > 0;
}

json_t *vs_stream_begin(const char *program)
{
    return json_pack("{s:s,s:s,s:s}", "op", "begin", "stream", VS_STREAM_ID, "program",
                     program);
}

json_t *vs_stream_end(const char *program, long long records)
{
    return json_pack("{s:s,s:s,s:s,s:I}", "op", "end", "stream", VS_STREAM_ID, "program",
                     program, "records", (json_int_t)records);
}
