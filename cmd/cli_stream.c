/* cli_stream.c: the record stream a program writes (vs_cli_write) and its
 * begin and end markers (docs/streams.md; the marker records and the input
 * tally are lib/core/stream.c). */
#include "cli.h"

#include <errno.h>

#include "vs_stream.h"

static int stream_marker(json_t *m)
{
    int st = m ? vs_ndjson_write(stdout, m, vs_cli.stdout_is_pipe) : VS_E_NOMEM;
    json_decref(m);
    return st;
}

/* A filter's inputs so far were all marked. */
static int inputs_marked(void)
{
    const struct vs_stream_tally *t = vs_stream_tally();
    return t->begins > 0 && t->unmarked == 0;
}

int vs_cli_stream(int mode)
{
    vs_cli.stream_mode = mode;
    if (mode != VS_CLI_STREAM_ORIGIN)
        return VS_OK;
    vs_cli.stream_begun = 1;
    return stream_marker(vs_stream_begin(vs_cli.prog));
}

int vs_cli_stream_record(void)
{
    if (!vs_cli.stream_mode)
        return VS_OK;
    if (!vs_cli.stream_begun && vs_cli.stream_records == 0 && inputs_marked()) {
        vs_cli.stream_begun = 1;
        int st = stream_marker(vs_stream_begin(vs_cli.prog));
        if (st != VS_OK)
            return st;
    }
    vs_cli.stream_records++;
    return VS_OK;
}

int vs_cli_write_text(const char *buf, size_t len, size_t n)
{
    if (n == 0)
        return VS_OK;
    int st = vs_cli_stream_record();
    if (st != VS_OK)
        return st;
    vs_cli.stream_records += (long long)n - 1;
    if (fwrite(buf, 1, len, stdout) != len ||
        (vs_cli.stdout_is_pipe && fflush(stdout) != 0))
        return vs_status_from_errno(errno);
    return VS_OK;
}

int vs_cli_write(const json_t *rec)
{
    int st = vs_cli_stream_record();
    return st != VS_OK ? st : vs_ndjson_write(stdout, rec, vs_cli.stdout_is_pipe);
}

int vs_cli_stream_finish(int code)
{
    const struct vs_stream_tally *t = vs_stream_tally();
    if (!vs_cli.stream_mode || (code != 0 && code != VS_EXIT_NEGATIVE))
        return code;
    if (t->broken) {
        vs_cli_error("an input stream was cut or its markers did not match; "
                     "the output has no end marker");
        return VS_EXIT_DATA;
    }
    int filter = vs_cli.stream_mode == VS_CLI_STREAM_FILTER;
    if (filter && !vs_cli.stream_begun && vs_cli.stream_records == 0 && inputs_marked()) {
        vs_cli.stream_begun = 1;
        if (stream_marker(vs_stream_begin(vs_cli.prog)) != VS_OK)
            return code; /* the flush check reports it */
    }
    if (!vs_cli.stream_begun)
        return code;
    if (filter && t->unmarked) {
        vs_cli_error("the input mixes marked streams with %lld unmarked records; "
                     "the output has no end marker", t->unmarked);
        return VS_EXIT_DATA;
    }
    (void)stream_marker(vs_stream_end(vs_cli.prog, vs_cli.stream_records));
    return code;
}
