/* fuzz_ndjson.c: libFuzzer target for NDJSON records (lib/core/ndjson.c)
 * and vs-ingest's fast record parser (vs_ingest_parse).
 *
 * The input is a stream of lines. It is read back through the line reader
 * (vs_ndjson_open over a file, a small max_line so long lines are hit);
 * each line is parsed twice, by vs_ndjson_parse + vs_record_vector and by
 * the fast path vs_ingest_parse, whose header promises the same results:
 * same status, same vector, same record without its vector fields. A
 * parsed record must also write out and read back as an object. */
#include <jansson.h>

#include "fuzz.h"
#include "vs_ndjson.h"
#include "vs_store.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) { return 0; }

static void check_line(const char *line, size_t len)
{
    struct vs_diag d1, d2;
    vs_diag_clear(&d1);
    vs_diag_clear(&d2);
    json_t *slow = NULL, *fast = NULL;
    float *v1 = NULL, *v2 = NULL;
    size_t n1 = 0, n2 = 0;
    int st1 = vs_ndjson_parse(line, len, &slow, &d1);
    if (st1 == VS_OK)
        st1 = vs_record_vector(slow, &v1, &n1, &d1);
    int st2 = vs_ingest_parse(line, len, &fast, &v2, &n2, &d2);
    FUZZ_CHECK(st1 == st2);
    if (st1 == VS_OK) {
        FUZZ_CHECK(n1 == n2);
        FUZZ_CHECK((v1 == NULL) == (v2 == NULL));
        if (n1)
            FUZZ_CHECK(memcmp(v1, v2, n1 * sizeof *v1) == 0);
        json_object_del(slow, "vector");
        json_object_del(slow, "vector_b64");
        FUZZ_CHECK(json_equal(slow, fast));
        /* write and read back */
        char *buf = NULL;
        size_t blen = 0;
        FILE *mf = open_memstream(&buf, &blen);
        FUZZ_CHECK(mf != NULL);
        FUZZ_CHECK(vs_ndjson_write(mf, fast, 1) == VS_OK);
        fclose(mf);
        json_t *back = NULL;
        FUZZ_CHECK(blen > 0 && buf[blen - 1] == '\n');
        FUZZ_CHECK(vs_ndjson_parse(buf, blen - 1, &back, &d1) == VS_OK);
        FUZZ_CHECK(json_is_object(back));
        json_decref(back);
        free(buf);
        if (n1) {
            /* the vector set back (both forms) reads back bit for bit */
            for (int b64 = 0; b64 <= 1; b64++) {
                FUZZ_CHECK(vs_record_set_vector(fast, v1, n1, b64) == VS_OK);
                float *v3 = NULL;
                size_t n3 = 0;
                FUZZ_CHECK(vs_record_vector(fast, &v3, &n3, &d1) == VS_OK);
                FUZZ_CHECK(n3 == n1 && memcmp(v3, v1, n1 * sizeof *v1) == 0);
                free(v3);
            }
        }
    } else {
        FUZZ_CHECK(slow == NULL || json_is_object(slow));
    }
    json_decref(slow);
    json_decref(fast);
    free(v1);
    free(v2);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char path[512];
    fuzz_write("in.ndjson", data, size, path, sizeof path);
    struct vs_ndjson_reader *r = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    FUZZ_CHECK(vs_ndjson_open(path, 1024, &r, &d) == VS_OK);
    long lines = 0;
    for (int i = 0; i < 10000; i++) {
        const char *line;
        size_t len;
        int st = vs_ndjson_read_line(r, &line, &len, &d);
        if (st == VS_E_LINE_TOO_LONG)
            continue;
        FUZZ_CHECK(st == VS_OK);
        if (!line)
            break;
        FUZZ_CHECK(len <= 1024 && memchr(line, '\n', len) == NULL);
        FUZZ_CHECK(vs_ndjson_line(r) > lines);
        lines = vs_ndjson_line(r);
        check_line(line, len);
    }
    vs_ndjson_close(r);
    /* the record reader over the same bytes: objects only, errors resumable */
    FUZZ_CHECK(vs_ndjson_open(path, 1024, &r, &d) == VS_OK);
    for (int i = 0; i < 10000; i++) {
        json_t *rec = NULL;
        int st = vs_ndjson_read(r, &rec, &d);
        if (st == VS_OK && !rec)
            break;
        FUZZ_CHECK(st == VS_OK || st == VS_E_JSON || st == VS_E_LINE_TOO_LONG);
        FUZZ_CHECK(st != VS_OK || json_is_object(rec));
        FUZZ_CHECK(st == VS_OK || d.line > 0);
        json_decref(rec);
    }
    vs_ndjson_close(r);
    return 0;
}
