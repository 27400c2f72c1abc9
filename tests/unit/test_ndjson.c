/* test_ndjson.c: the NDJSON reader and writer, vectors, base64, statuses. */
#include "test.h"
#include "vs_internal.h"

#include <unistd.h>

static FILE *mem(const char *s)
{
    FILE *fp = tmpfile();
    fputs(s, fp);
    rewind(fp);
    return fp;
}

static void test_status_table(void)
{
    CHECK_EQ_STR(vs_status_name(VS_E_LOCKED), "locked");
    CHECK_EQ_INT(vs_status_exit(VS_E_LOCKED), 4);
    CHECK_EQ_INT(vs_status_exit(VS_E_JSON), 3);
    CHECK_EQ_INT(vs_status_exit(VS_E_USAGE), 2);
    CHECK_EQ_INT(vs_status_exit(VS_E_NOSPC), 5);
    CHECK_EQ_INT(vs_status_exit(VS_OK), 0);
    CHECK_EQ_INT(vs_status_exit(12345), 5);
    CHECK_EQ_STR(vs_status_name(12345), "unknown");
}

static void test_read_lines_and_errors(void)
{
    FILE *fp = mem("{\"id\":\"a\",\"z\":1,\"b\":2}\n\n  \n{bad\n[1]\n{\"id\":\"c\"}");
    struct vs_ndjson_reader *r;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_ndjson_open_stream(fp, "t.jsonl", 0, &r, &d), VS_OK);
    json_t *rec;
    CHECK_EQ_INT(vs_ndjson_read(r, &rec, &d), VS_OK);
    CHECK(rec != NULL);
    char *s = json_dumps(rec, VS_JSON_DUMP_FLAGS);
    CHECK_EQ_STR(s, "{\"id\":\"a\",\"z\":1,\"b\":2}"); /* order kept */
    free(s);
    json_decref(rec);
    CHECK_EQ_INT(vs_ndjson_read(r, &rec, &d), VS_E_JSON);
    CHECK_EQ_INT(d.line, 4);
    CHECK_EQ_STR(d.file, "t.jsonl");
    CHECK_EQ_INT(vs_ndjson_read(r, &rec, &d), VS_E_JSON); /* not an object */
    CHECK_EQ_INT(d.line, 5);
    CHECK_EQ_INT(vs_ndjson_read(r, &rec, &d), VS_OK);
    CHECK(rec && strcmp(json_string_value(json_object_get(rec, "id")), "c") == 0);
    json_decref(rec);
    CHECK_EQ_INT(vs_ndjson_read(r, &rec, &d), VS_OK);
    CHECK(rec == NULL);
    vs_ndjson_close(r);
    fclose(fp);
}

static void test_line_too_long(void)
{
    FILE *fp = mem("{\"id\":\"1\"}\n{\"id\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n{\"id\":\"3\"}\n");
    struct vs_ndjson_reader *r;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_ndjson_open_stream(fp, "x", 20, &r, &d), VS_OK);
    json_t *rec;
    CHECK_EQ_INT(vs_ndjson_read(r, &rec, &d), VS_OK);
    json_decref(rec);
    CHECK_EQ_INT(vs_ndjson_read(r, &rec, &d), VS_E_LINE_TOO_LONG);
    CHECK_EQ_INT(d.line, 2);
    CHECK_EQ_INT(vs_ndjson_read(r, &rec, &d), VS_OK); /* reading goes on */
    CHECK(rec && strcmp(json_string_value(json_object_get(rec, "id")), "3") == 0);
    json_decref(rec);
    vs_ndjson_close(r);
    fclose(fp);
}

static void test_float_roundtrip(void)
{
    unsigned seed = 7;
    for (int i = 0; i < 100000; i++) {
        seed = seed * 1103515245u + 12345u;
        uint32_t u = seed ^ (seed << 7);
        float f;
        memcpy(&f, &u, 4);
        if (!isfinite(f))
            continue;
        char buf[48];
        vs_float_format(buf, sizeof buf, f);
        if (strtof(buf, NULL) != f) {
            CHECK(strtof(buf, NULL) == f);
            break;
        }
    }
    char buf[48];
    vs_float_format(buf, sizeof buf, 0.1f);
    CHECK_EQ_STR(buf, "0.1");
    json_t *a = json_array();
    json_array_append_new(a, vs_json_float(0.1f));
    json_array_append_new(a, vs_json_float(1.0f / 3.0f));
    char *s = json_dumps(a, VS_JSON_DUMP_FLAGS);
    CHECK_EQ_STR(s, "[0.1,0.33333334]");
    free(s);
    json_decref(a);
}

static void test_base64_vectors(void)
{
    const char *cases[][2] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="},
                              {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}};
    for (size_t i = 0; i < 5; i++) {
        char *e = vs_base64_encode(cases[i][0], strlen(cases[i][0]));
        CHECK_EQ_STR(e, cases[i][1]);
        unsigned char *dec;
        size_t n;
        CHECK_EQ_INT(vs_base64_decode(e, strlen(e), &dec, &n), VS_OK);
        CHECK_EQ_INT(n, strlen(cases[i][0]));
        CHECK(memcmp(dec, cases[i][0], n) == 0);
        free(dec);
        free(e);
    }
    unsigned char *dec;
    size_t n;
    CHECK_EQ_INT(vs_base64_decode("Zm9v!A==", 8, &dec, &n), VS_E_FIELD);
    CHECK_EQ_INT(vs_base64_decode("Zm9", 3, &dec, &n), VS_E_FIELD);

    float v[3] = {1.5f, -0.25f, 3e-8f};
    json_t *rec = json_pack("{s:s}", "id", "x");
    CHECK_EQ_INT(vs_record_set_vector(rec, v, 3, 1), VS_OK);
    float *out;
    size_t dim;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_record_vector(rec, &out, &dim, &d), VS_OK);
    CHECK_EQ_INT(dim, 3);
    CHECK(out && memcmp(out, v, sizeof v) == 0);
    free(out);
    CHECK_EQ_INT(vs_record_set_vector(rec, v, 3, 0), VS_OK);
    CHECK(json_object_get(rec, "vector_b64") == NULL);
    CHECK_EQ_INT(vs_record_vector(rec, &out, &dim, &d), VS_OK);
    CHECK(out && memcmp(out, v, sizeof v) == 0);
    free(out);
    json_decref(rec);

    json_error_t je;
    rec = json_loads("{\"vector\":[1,\"a\"]}", 0, &je);
    CHECK_EQ_INT(vs_record_vector(rec, &out, &dim, &d), VS_E_FIELD);
    CHECK_EQ_STR(d.field, "vector");
    json_decref(rec);
    rec = json_loads("{\"vector\":[1,1e39]}", 0, &je);
    CHECK_EQ_INT(vs_record_vector(rec, &out, &dim, &d), VS_E_NONFINITE);
    json_decref(rec);
    rec = json_loads("{\"vector\":[]}", 0, &je);
    CHECK_EQ_INT(vs_record_vector(rec, &out, &dim, &d), VS_E_FIELD);
    json_decref(rec);
    rec = json_loads("{\"vector_b64\":\"AADAfw==\"}", 0, &je); /* NaN */
    CHECK_EQ_INT(vs_record_vector(rec, &out, &dim, &d), VS_E_NONFINITE);
    json_decref(rec);
}

/* The fast formatter prints exactly what the first %.6g..%.9g that reads
 * back prints, for random bit patterns and for typical embedding values. */
static void test_float_format_matches_reference(void)
{
    unsigned seed = 12345;
    int bad = 0;
    for (int i = 0; i < 400000 && bad < 5; i++) {
        seed = seed * 1664525u + 1013904223u;
        float f;
        if (i % 2) {
            uint32_t u = seed;
            memcpy(&f, &u, 4);
            if (!isfinite(f))
                continue;
        } else {
            f = ((float)(seed >> 8) / 16777216.0f - 0.5f) * 0.2f;
        }
        char a[48], b[48];
        vs_float_format(a, sizeof a, f);
        for (int prec = 6; prec <= 9; prec++) {
            snprintf(b, sizeof b, "%.*g", prec, (double)f);
            if (strtof(b, NULL) == f)
                break;
        }
        if (strcmp(a, b) != 0) {
            printf("#   %.9g: fast \"%s\" reference \"%s\"\n", (double)f, a, b);
            bad++;
        }
    }
    CHECK_EQ_INT(bad, 0);
    float specials[] = {1.0f, -1.0f, 100000.0f, 1000000.0f, 1e-5f, 1.5e-5f, 9.9999999e-5f,
                        123456789.0f, 3.4028235e38f, 1.4e-45f, -0.0f, 0.0f, 0.5f};
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++) {
        char a[48], b[48];
        vs_float_format(a, sizeof a, specials[i]);
        for (int prec = 6; prec <= 9; prec++) {
            snprintf(b, sizeof b, "%.*g", prec, (double)specials[i]);
            if (strtof(b, NULL) == specials[i])
                break;
        }
        CHECK_EQ_STR(a, b);
    }
    /* floats that need 9 digits take the exact path too (8 do not read
     * back: 101.2655 is not 101.265495f), not printf */
    char dig[12];
    int nd, e, p;
    CHECK_EQ_INT(vs_float_digits(101.265495f, dig, &nd, &e, &p), 1);
    CHECK_EQ_INT(p, 9);
    CHECK(nd == 9 && memcmp(dig, "101265495", 9) == 0);
    CHECK_EQ_INT(e, 2);
}

/* vs_buf_json_float writes what jansson writes for vs_json_float, and
 * vs_buf_json_string and vs_buf_json_int what it writes for a string and an
 * integer: the hit writer's bytes are those of the json_t path. */
static void test_jsonfmt_matches_jansson(void)
{
    unsigned seed = 99;
    int bad = 0;
    struct vs_buf b;
    vs_buf_init(&b);
    for (int i = 0; i < 300000 && bad < 5; i++) {
        seed = seed * 1664525u + 1013904223u;
        float f;
        if (i % 3 == 0) {
            uint32_t u = seed;
            memcpy(&f, &u, 4);
            if (!isfinite(f))
                continue;
        } else if (i % 3 == 1) {
            f = ((float)(seed >> 8) / 16777216.0f - 0.5f) * 200.0f;
        } else {
            f = (float)(seed >> 12); /* whole numbers */
        }
        json_t *j = vs_json_float(f);
        char *want = json_dumps(j, VS_JSON_DUMP_FLAGS | JSON_ENCODE_ANY);
        b.len = 0;
        CHECK_EQ_INT(vs_buf_json_float(&b, f), VS_OK);
        if (strlen(want) != b.len || memcmp(want, b.p, b.len) != 0) {
            printf("#   %.9g: \"%.*s\" jansson \"%s\"\n", (double)f, (int)b.len, b.p, want);
            bad++;
        }
        free(want);
        json_decref(j);
    }
    CHECK_EQ_INT(bad, 0);
    float specials[] = {0.0f, -0.0f, 1.0f, -1.0f, 1e-5f, 1e-4f, 1.5e-5f, 1e15f, 1e14f,
                        123456789.0f, 1e20f, 3.4028235e38f, 1.4e-45f, 1e-30f, 0.1f,
                        100.0f, 72.71522f, -81.45221f, 9.999999e14f};
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++) {
        json_t *j = vs_json_float(specials[i]);
        char *want = json_dumps(j, VS_JSON_DUMP_FLAGS | JSON_ENCODE_ANY);
        b.len = 0;
        CHECK_EQ_INT(vs_buf_json_float(&b, specials[i]), VS_OK);
        CHECK_EQ_INT(vs_buf_put(&b, "", 1), VS_OK);
        CHECK_EQ_STR(b.p, want);
        free(want);
        json_decref(j);
    }
    const char *strs[] = {"", "q1", "a\"b\\c", "tab\there\nnl\r\b\f", "\x01\x1f\x7f",
                          "caf\xc3\xa9 \xe2\x82\xac/\xf0\x9f\x98\x80"};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        json_t *j = json_string(strs[i]);
        char *want = json_dumps(j, VS_JSON_DUMP_FLAGS | JSON_ENCODE_ANY);
        b.len = 0;
        CHECK_EQ_INT(vs_buf_json_string(&b, strs[i], strlen(strs[i])), VS_OK);
        CHECK_EQ_INT(vs_buf_put(&b, "", 1), VS_OK);
        CHECK_EQ_STR(b.p, want);
        free(want);
        json_decref(j);
    }
    long long ints[] = {0, 1, -1, 10, 9223372036854775807LL, -9223372036854775807LL - 1};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        json_t *j = json_integer(ints[i]);
        char *want = json_dumps(j, VS_JSON_DUMP_FLAGS | JSON_ENCODE_ANY);
        b.len = 0;
        CHECK_EQ_INT(vs_buf_json_int(&b, ints[i]), VS_OK);
        CHECK_EQ_INT(vs_buf_put(&b, "", 1), VS_OK);
        CHECK_EQ_STR(b.p, want);
        free(want);
        json_decref(j);
    }
    vs_buf_release(&b);
}

/* vs_buf_json_float_pair writes what vs_buf_json_float writes for x, the
 * separator, then for y: for y = -x (the l2 score and distance of a hit,
 * where y's text is x's after the "-"), any other y, the specials (zero,
 * subnormal, the largest, those printed by printf) and a buffer that grows
 * between the two values. */
static void test_jsonfmt_pair(void)
{
    unsigned seed = 7;
    int bad = 0;
    struct vs_buf b, w;
    vs_buf_init(&b);
    vs_buf_init(&w);
    float specials[] = {0.0f, -0.0f, 1.0f, -1.0f, 1e-5f, -1.5e-5f, 1e15f, -1e20f, 1e-30f,
                        -3.4028235e38f, 1.4e-45f, -1.4e-45f, -1e-40f, 0.1f, -72.71522f,
                        -9.999999e14f, -123456789.0f};
    size_t ns = sizeof specials / sizeof specials[0];
    for (int i = 0; i < 200000 && bad < 5; i++) {
        seed = seed * 1664525u + 1013904223u;
        float x, y;
        if ((size_t)i < 2 * ns) {
            x = specials[(size_t)i % ns];
        } else if (i % 2) {
            uint32_t u = seed;
            memcpy(&x, &u, 4);
            if (!isfinite(x))
                continue;
        } else {
            x = -(float)(seed >> 8) / 65536.0f; /* l2 scores: negative */
        }
        /* mostly y = -x, else y = x, a neighbour, or unrelated */
        int kind = (size_t)i < ns ? 0 : (size_t)i < 2 * ns ? 1 : (int)(seed >> 28) % 4;
        y = kind == 0 ? -x : kind == 1 ? x : kind == 2 ? nextafterf(-x, 0.0f) : (float)(seed & 0xffff);
        /* a buffer near its capacity, so the copy of x's digits may grow it */
        b.len = 0;
        vs_buf_release(&b);
        CHECK_EQ_INT(vs_buf_put(&b, "0123456789012345678901234567890123456789", (size_t)(seed % 41)), VS_OK);
        size_t pre = b.len;
        CHECK_EQ_INT(vs_buf_json_float_pair(&b, x, ",\"distance\":", 12, y), VS_OK);
        w.len = 0;
        CHECK_EQ_INT(vs_buf_json_float(&w, x), VS_OK);
        CHECK_EQ_INT(vs_buf_put(&w, ",\"distance\":", 12), VS_OK);
        CHECK_EQ_INT(vs_buf_json_float(&w, y), VS_OK);
        if (b.len - pre != w.len || memcmp(b.p + pre, w.p, w.len) != 0) {
            printf("#   %.9g %.9g: \"%.*s\" want \"%.*s\"\n", (double)x, (double)y,
                   (int)(b.len - pre), b.p + pre, (int)w.len, w.p);
            bad++;
        }
    }
    CHECK_EQ_INT(bad, 0);
    vs_buf_release(&b);
    vs_buf_release(&w);
}

int main(void)
{
    RUN(test_status_table);
    RUN(test_read_lines_and_errors);
    RUN(test_line_too_long);
    RUN(test_float_roundtrip);
    RUN(test_float_format_matches_reference);
    RUN(test_jsonfmt_matches_jansson);
    RUN(test_jsonfmt_pair);
    RUN(test_base64_vectors);
    return vs_test_done();
}
