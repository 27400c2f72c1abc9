/* test_stream.c: the stream-integrity protocol (vs_stream.h,
 * docs/streams.md): markers, per-input state, the NDJSON reader's handling
 * of cut streams, and the process tally. */
#include "test.h"
#include "vs_internal.h"

#define B(p) "{\"op\":\"begin\",\"stream\":\"vecstore/1\",\"program\":\"" p "\"}\n"
#define E(p, n) "{\"op\":\"end\",\"stream\":\"vecstore/1\",\"program\":\"" p "\",\"records\":" #n "}\n"
#define R(id) "{\"id\":\"" id "\"}\n"

static FILE *mem(const char *s)
{
    FILE *fp = tmpfile();
    fputs(s, fp);
    rewind(fp);
    return fp;
}

/* Read every record of text; returns the last status that was not VS_OK
 * (or VS_OK), the ids read in order into ids, and the first error's line. */
static int read_all(const char *text, char *ids, size_t cap, long *err_line,
                    char *detail, struct vs_stream_state *state)
{
    FILE *fp = mem(text);
    struct vs_ndjson_reader *r;
    struct vs_diag d;
    vs_diag_clear(&d);
    int last = VS_OK, first_err = 0;
    ids[0] = '\0';
    *err_line = 0;
    if (vs_ndjson_open_stream(fp, "t.ndjson", 0, &r, &d) != VS_OK)
        return VS_E_NOMEM;
    for (int guard = 0; guard < 100; guard++) {
        json_t *rec;
        vs_diag_clear(&d);
        int st = vs_ndjson_read(r, &rec, &d);
        if (st != VS_OK) {
            last = st;
            if (!first_err) {
                first_err = 1;
                *err_line = d.line;
                snprintf(detail, 1024, "%s", d.detail);
            }
            continue;
        }
        if (!rec)
            break;
        const char *id = json_string_value(json_object_get(rec, "id"));
        if (id && strlen(ids) + strlen(id) + 2 < cap) {
            strcat(ids, id);
            strcat(ids, ",");
        }
        json_decref(rec);
    }
    *state = *vs_ndjson_stream(r);
    vs_ndjson_close(r);
    fclose(fp);
    return last;
}

static void test_markers_written_and_kinds(void)
{
    json_t *b = vs_stream_begin("vs-chunk"), *e = vs_stream_end("vs-embed", 42);
    char *sb = json_dumps(b, VS_JSON_DUMP_FLAGS), *se = json_dumps(e, VS_JSON_DUMP_FLAGS);
    CHECK_EQ_STR(sb, "{\"op\":\"begin\",\"stream\":\"vecstore/1\",\"program\":\"vs-chunk\"}");
    CHECK_EQ_STR(se, "{\"op\":\"end\",\"stream\":\"vecstore/1\",\"program\":\"vs-embed\",\"records\":42}");
    CHECK_EQ_INT(vs_stream_marker_kind(b), 1);
    CHECK_EQ_INT(vs_stream_marker_kind(e), 2);
    json_t *del = json_pack("{s:s,s:s}", "id", "x", "op", "delete");
    CHECK_EQ_INT(vs_stream_marker_kind(del), 0);
    free(sb);
    free(se);
    json_decref(b);
    json_decref(e);
    json_decref(del);
}

static void test_complete_stream_is_skipped_and_counted(void)
{
    char ids[256], detail[1024];
    long line;
    struct vs_stream_state s;
    vs_stream_tally_reset();
    CHECK_EQ_INT(read_all(B("vs-chunk") R("a") "\n" R("b") E("vs-chunk", 2), ids,
                          sizeof ids, &line, detail, &s), VS_OK);
    CHECK_EQ_STR(ids, "a,b,");
    CHECK(vs_stream_complete(&s));
    CHECK(vs_stream_marked(&s));
    CHECK_EQ_INT(s.streams, 1);
    CHECK_EQ_INT(vs_stream_tally()->begins, 1);
    CHECK_EQ_INT(vs_stream_tally()->streams, 1);
    CHECK_EQ_INT(vs_stream_tally()->broken, 0);
    /* two complete streams one after the other (cat a b), one empty */
    CHECK_EQ_INT(read_all(B("vs-chunk") R("a") E("vs-chunk", 1) B("vs-index") E("vs-index", 0),
                          ids, sizeof ids, &line, detail, &s), VS_OK);
    CHECK_EQ_STR(ids, "a,");
    CHECK_EQ_INT(s.streams, 2);
    CHECK(vs_stream_complete(&s));
}

static void test_cut_stream(void)
{
    char ids[256], detail[1024];
    long line;
    struct vs_stream_state s;
    vs_stream_tally_reset();
    /* the producer died after two records: they are read, then the cut */
    CHECK_EQ_INT(read_all(B("vs-embed") R("a") R("b"), ids, sizeof ids, &line, detail, &s),
                 VS_E_TRUNCATED);
    CHECK_EQ_STR(ids, "a,b,");
    CHECK_EQ_INT(line, 3);
    CHECK_EQ_STR(detail, "the stream from vs-embed ended without its end marker after 2 "
                         "records (it was cut: a stage failed or was killed)");
    CHECK(!vs_stream_complete(&s));
    CHECK_EQ_INT(vs_stream_tally()->broken, 1);
    /* a begin marker alone (the producer failed before its first record) */
    CHECK_EQ_INT(read_all(B("vs-chunk"), ids, sizeof ids, &line, detail, &s), VS_E_TRUNCATED);
    /* a new stream begins inside an open one */
    CHECK_EQ_INT(read_all(B("vs-chunk") R("a") B("vs-chunk") R("b") E("vs-chunk", 1), ids,
                          sizeof ids, &line, detail, &s), VS_E_TRUNCATED);
    CHECK_EQ_INT(line, 3);
    CHECK_EQ_STR(ids, "a,b,");
    /* the count differs: a record was lost in between */
    CHECK_EQ_INT(read_all(B("vs-chunk") R("a") E("vs-chunk", 2), ids, sizeof ids, &line,
                          detail, &s), VS_E_TRUNCATED);
    CHECK_EQ_STR(detail, "the end marker from vs-chunk counts 2 records, the stream held 1: "
                         "records were lost or added");
    CHECK(!vs_stream_complete(&s));
    /* an end marker with no begin marker */
    CHECK_EQ_INT(read_all(R("a") E("vs-chunk", 1), ids, sizeof ids, &line, detail, &s),
                 VS_E_TRUNCATED);
    CHECK_EQ_INT(vs_stream_tally()->broken, 5);
}

static void test_bad_markers_and_mixing(void)
{
    char ids[256], detail[1024];
    long line;
    struct vs_stream_state s;
    CHECK_EQ_INT(read_all("{\"op\":\"begin\",\"stream\":\"other/9\",\"program\":\"x\"}\n", ids,
                          sizeof ids, &line, detail, &s), VS_E_FIELD);
    CHECK_EQ_INT(read_all("{\"op\":\"begin\",\"stream\":\"vecstore/1\"}\n", ids, sizeof ids,
                          &line, detail, &s), VS_E_FIELD);
    CHECK_EQ_INT(read_all(B("p") "{\"op\":\"end\",\"stream\":\"vecstore/1\",\"program\":\"p\","
                          "\"records\":\"1\"}\n", ids, sizeof ids, &line, detail, &s),
                 VS_E_FIELD);
    /* unmarked records after a complete stream are refused */
    CHECK_EQ_INT(read_all(B("p") E("p", 0) R("a"), ids, sizeof ids, &line, detail, &s),
                 VS_E_DATA);
    CHECK_EQ_INT(line, 3);
    /* unmarked records: read as before, but not complete */
    vs_stream_tally_reset();
    CHECK_EQ_INT(read_all(R("a") R("b"), ids, sizeof ids, &line, detail, &s), VS_OK);
    CHECK_EQ_STR(ids, "a,b,");
    CHECK_EQ_INT(s.unmarked, 2);
    CHECK(!vs_stream_complete(&s));
    CHECK(!vs_stream_marked(&s));
    CHECK_EQ_INT(vs_stream_tally()->unmarked, 2);
    /* unmarked then a complete stream: marked, yet not complete */
    CHECK_EQ_INT(read_all(R("a") B("p") R("b") E("p", 1), ids, sizeof ids, &line, detail, &s),
                 VS_OK);
    CHECK(vs_stream_marked(&s));
    CHECK(!vs_stream_complete(&s));
    /* an empty input holds no stream */
    CHECK_EQ_INT(read_all("", ids, sizeof ids, &line, detail, &s), VS_OK);
    CHECK(!vs_stream_complete(&s));
}

/* Raw-line readers (vs-ingest) account records themselves; the reader still
 * reports the cut at the end of input, once. */
static void test_raw_lines(void)
{
    FILE *fp = mem(B("vs-embed") R("a"));
    struct vs_ndjson_reader *r;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_ndjson_open_stream(fp, "<stdin>", 0, &r, &d), VS_OK);
    const char *line;
    size_t len;
    int n = 0, markers = 0;
    for (;;) {
        CHECK_EQ_INT(vs_ndjson_read_line(r, &line, &len, &d), VS_OK);
        if (!line)
            break;
        json_t *rec;
        int m;
        CHECK_EQ_INT(vs_ndjson_parse(line, len, &rec, &d), VS_OK);
        CHECK_EQ_INT(vs_ndjson_account(r, rec, &m, &d), VS_OK);
        markers += m;
        n += !m;
        json_decref(rec);
        if (n + markers == 2)
            break;
    }
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(markers, 1);
    CHECK_EQ_INT(vs_ndjson_read_line(r, &line, &len, &d), VS_E_TRUNCATED);
    CHECK_EQ_STR(d.file, "<stdin>");
    CHECK_EQ_INT(vs_ndjson_read_line(r, &line, &len, &d), VS_OK);
    CHECK(line == NULL);
    vs_ndjson_close(r);
    fclose(fp);
}

int main(void)
{
    RUN(test_markers_written_and_kinds);
    RUN(test_complete_stream_is_skipped_and_counted);
    RUN(test_cut_stream);
    RUN(test_bad_markers_and_mixing);
    RUN(test_raw_lines);
    return vs_test_done();
}
