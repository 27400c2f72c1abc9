/* test_query_scan.c: the query record scanner (lib/query/query_scan.c)
 * reads exactly what the full parse reads, and leaves everything else to
 * it. */
#include "test.h"
#include "vs_internal.h"

#include "query_internal.h"
#include "query_scan_internal.h"

/* line is scanned (want 1) with the vector and qid jansson and
 * vs_record_vector give, or left to the full parse (want 0) */
static void check_line(const char *line, size_t dim, int want)
{
    float v[16];
    struct vs_query_scanned sc;
    int got = vs_query_scan(line, strlen(line), v, dim, &sc);
    if (got != want)
        printf("#   %s: scanned %d, want %d\n", line, got, want);
    CHECK_EQ_INT(got, want);
    if (!got)
        return;
    json_error_t je;
    json_t *rec = json_loads(line, JSON_REJECT_DUPLICATES, &je);
    CHECK(rec != NULL);
    float *ref = NULL;
    size_t rdim = 0;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_record_vector(rec, &ref, &rdim, &d), VS_OK);
    CHECK_EQ_INT(rdim, dim);
    CHECK(ref && memcmp(ref, v, dim * sizeof *v) == 0);
    json_t *qid = NULL;
    size_t k = 0;
    CHECK_EQ_INT(vs_query_record_id_k(rec, 10, &qid, &k, &d), VS_OK);
    CHECK_EQ_INT(json_string_length(qid), sc.qlen);
    CHECK(memcmp(json_string_value(qid), sc.qid, sc.qlen) == 0);
    CHECK_EQ_INT(k, sc.k ? sc.k : 10);
    json_decref(qid);
    free(ref);
    json_decref(rec);
}

static void test_scan_matches_full_parse(void)
{
    /* base64 with 0, 1 and 2 padding characters (dim 3, 2, 1) */
    check_line("{\"id\":\"a\",\"vector_b64\":\"AACAPwAAAEAAAEBA\"}", 3, 1);
    check_line("{\"id\":\"a\",\"vector_b64\":\"AACAPwAAAEA=\"}", 2, 1);
    check_line("{\"id\":\"a\",\"vector_b64\":\"AACAPw==\"}", 1, 1);
    check_line(" { \"id\" : 42 , \"k\" : 7 , \"vector\" : [ 1 , -2.5e-3 , 3E2 ] } ", 3, 1);
    check_line("{\"vector\":[0,1.25,-0.0],\"id\":-7}", 3, 1);
    check_line("{\"id\":\"q\",\"vector\":[0.1,0.2,0.30000001192092896]}", 3, 1);
    /* left to the full parse */
    check_line("{\"id\":\"a\",\"vector_b64\":\"AACAPw==\"}", 2, 0);  /* dimension */
    check_line("{\"id\":\"a\",\"vector\":[1,2]}", 3, 0);
    check_line("{\"id\":\"a\",\"vector\":[1,2,3,4]}", 3, 0);
    check_line("{\"id\":\"a\",\"vector\":[]}", 3, 0);
    check_line("{\"id\":\"a\\u00e9\",\"vector\":[1,2,3]}", 3, 0);  /* escape */
    check_line("{\"id\":\"a\",\"vector\":[1,2,3],\"text\":\"x\"}", 3, 0);
    check_line("{\"_id\":\"a\",\"vector\":[1,2,3]}", 3, 0);
    check_line("{\"id\":\"a\",\"id\":\"b\",\"vector\":[1,2,3]}", 3, 0);
    check_line("{\"id\":\"a\",\"vector\":[1,2,3],\"vector_b64\":\"AACAPw==\"}", 3, 0);
    check_line("{\"id\":\"a\",\"vector\":[1,2,3],\"k\":0}", 3, 0);
    check_line("{\"id\":\"a\",\"vector\":[1,2,3],\"k\":1.0}", 3, 0);
    check_line("{\"id\":1.5,\"vector\":[1,2,3]}", 3, 0);
    check_line("{\"id\":-0,\"vector\":[1,2,3]}", 3, 0);
    check_line("{\"id\":01,\"vector\":[1,2,3]}", 3, 0);
    /* 18 digits are read, 19 and more are not (and not multiplied past
     * long long: UBSan checks it in the sanitizer build) */
    check_line("{\"id\":999999999999999999,\"vector\":[1,2,3]}", 3, 1);
    check_line("{\"id\":-999999999999999999,\"vector\":[1,2,3]}", 3, 1);
    check_line("{\"id\":9999999999999999999,\"vector\":[1,2,3]}", 3, 0);
    check_line("{\"id\":\"a\",\"vector\":[1,2,3],\"k\":99999999999999999999}", 3, 0);
    check_line("{\"id\":\"a\",\"vector\":[1,2,1e39]}", 3, 0);
    check_line("{\"id\":\"a\",\"vector\":[1,2,.5]}", 3, 0);
    check_line("{\"id\":\"a\",\"vector\":[1,2,3,]}", 3, 0);
    check_line("{\"id\":\"a\",\"vector_b64\":\"AADAfw==\"}", 1, 0);  /* NaN */
    check_line("{\"id\":\"a\",\"vector_b64\":\"AAC=APw=\"}", 1, 0);
    check_line("{\"id\":\"a\",\"vector\":[1,2,3]} x", 3, 0);
    check_line("{\"id\":\"a\",\"vector\":[1,2,3]", 3, 0);
    check_line("{\"op\":\"begin\"}", 3, 0);
    check_line("[1,2,3]", 3, 0);
}

int main(void)
{
    RUN(test_scan_matches_full_parse);
    return vs_test_done();
}
