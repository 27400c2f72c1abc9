/* test_store.c: the store: writer, commits, merge policy, deletes, readers,
 * compaction, snapshots, checksums, the lock. */
#include "test.h"
#include "vs_internal.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[256];
static int nstore;

static const char *newpath(void)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/s%d.vs", root, nstore++);
    return p;
}

static int upsert(struct vs_writer *w, const char *id, const float *v, size_t dim,
                  const char *extra_json)
{
    char buf[512];
    snprintf(buf, sizeof buf, "{\"id\":\"%s\"%s%s}", id, extra_json ? "," : "",
             extra_json ? extra_json : "");
    json_error_t je;
    json_t *rec = json_loads(buf, 0, &je);
    struct vs_diag d;
    vs_diag_clear(&d);
    int st = vs_writer_upsert(w, rec, v, dim, &d);
    json_decref(rec);
    return st;
}

static struct vs_writer *open_w(const char *path, enum vs_metric m, uint32_t dim)
{
    struct vs_store_settings ss = {0};
    ss.metric = m;
    ss.dim = dim;
    ss.normalize = m == VS_METRIC_COSINE;
    struct vs_writer_opts o = {&ss, 0};
    struct vs_writer *w = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    int st = vs_writer_open(path, &o, &w, &d);
    if (st != VS_OK)
        printf("#   open: %s\n", d.detail);
    return w;
}

static void test_roundtrip(void)
{
    const char *p = newpath();
    struct vs_writer *w = open_w(p, VS_METRIC_L2, 0);
    CHECK(w != NULL);
    float v[4] = {1, 2, 3, 4};
    for (int i = 0; i < 1000; i++) {
        char id[32];
        snprintf(id, sizeof id, "r%d", i);
        v[0] = (float)i;
        CHECK_EQ_INT(upsert(w, id, v, 4, "\"text\":\"hello\",\"metadata\":{\"i\":1}"), VS_OK);
    }
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_writer_commit(w, &d), VS_OK);
    vs_writer_close(w);

    struct vs_store *s;
    CHECK_EQ_INT(vs_store_open(p, &s, &d), VS_OK);
    CHECK_EQ_INT(vs_store_count(s), 1000);
    CHECK_EQ_INT(vs_store_settings(s)->dim, 4);
    CHECK_EQ_INT(vs_store_settings(s)->metric, VS_METRIC_L2);
    json_t *rec;
    CHECK_EQ_INT(vs_store_get(s, "r777", &rec, &d), VS_OK);
    CHECK_NEAR(json_real_value(json_array_get(json_object_get(rec, "vector"), 0)), 777, 0);
    CHECK_EQ_STR(json_string_value(json_object_get(rec, "text")), "hello");
    json_decref(rec);
    CHECK_EQ_INT(vs_store_get(s, "nope", &rec, &d), VS_E_NOTFOUND);
    /* rows, ids and vectors of the only segment agree */
    CHECK_EQ_INT(vs_store_nsegments(s), 1);
    struct vs_segment *g = vs_store_segment(s, 0);
    const char *const *ids;
    const float *vecs;
    CHECK_EQ_INT(vs_segment_ids(g, &ids, &d), VS_OK);
    CHECK_EQ_INT(vs_segment_vectors(g, &vecs, &d), VS_OK);
    CHECK_EQ_STR(ids[999], "r999");
    CHECK_NEAR(vecs[999 * 4], 999, 0);
    CHECK(((uintptr_t)vecs & 63) == 0);
    vs_store_close(s);
    CHECK_EQ_INT(vs_store_verify(p, &d), VS_OK);
}

static void test_upsert_delete_and_tombstones(void)
{
    const char *p = newpath();
    struct vs_writer *w = open_w(p, VS_METRIC_COSINE, 2);
    float a[2] = {3, 4}, b[2] = {0, 2};
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(upsert(w, "a", a, 2, NULL), VS_OK);
    CHECK_EQ_INT(upsert(w, "b", b, 2, NULL), VS_OK);
    CHECK_EQ_INT(upsert(w, "a", b, 2, "\"v\":2"), VS_OK); /* overwrite in the batch */
    CHECK_EQ_INT(vs_writer_commit(w, &d), VS_OK);
    int found = -1;
    CHECK_EQ_INT(vs_writer_delete(w, "b", &found, &d), VS_OK);
    CHECK_EQ_INT(found, 1);
    CHECK_EQ_INT(vs_writer_delete(w, "zz", &found, &d), VS_OK);
    CHECK_EQ_INT(found, 0);
    CHECK_EQ_INT(vs_writer_commit(w, &d), VS_OK);
    vs_writer_close(w);
    struct vs_store *s;
    CHECK_EQ_INT(vs_store_open(p, &s, &d), VS_OK);
    CHECK_EQ_INT(vs_store_count(s), 1);
    CHECK_EQ_INT(vs_store_tombstones(s), 1);
    json_t *rec;
    CHECK_EQ_INT(vs_store_get(s, "a", &rec, &d), VS_OK);
    CHECK_EQ_INT(json_integer_value(json_object_get(rec, "v")), 2);
    /* cosine: normalised at ingest */
    CHECK_NEAR(json_real_value(json_array_get(json_object_get(rec, "vector"), 1)), 1.0, 1e-6);
    json_decref(rec);
    CHECK_EQ_INT(vs_store_get(s, "b", &rec, &d), VS_E_NOTFOUND);
    vs_store_close(s);
    /* compaction drops the tombstone */
    struct vs_writer_opts o = {NULL, 0};
    CHECK_EQ_INT(vs_writer_open(p, &o, &w, &d), VS_OK);
    CHECK_EQ_INT(vs_writer_compact(w, &d), VS_OK);
    vs_writer_close(w);
    CHECK_EQ_INT(vs_store_open(p, &s, &d), VS_OK);
    CHECK_EQ_INT(vs_store_count(s), 1);
    CHECK_EQ_INT(vs_store_tombstones(s), 0);
    CHECK_EQ_INT(vs_store_nsegments(s), 1);
    vs_store_close(s);
}

static void test_refusals(void)
{
    const char *p = newpath();
    struct vs_store_settings ss = {0};
    ss.dim = 3;
    ss.metric = VS_METRIC_DOT;
    snprintf(ss.model, sizeof ss.model, "m1");
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_store_create(p, &ss, &d), VS_OK);
    CHECK_EQ_INT(vs_store_create(p, &ss, &d), VS_E_EXISTS);
    struct vs_writer_opts o = {NULL, 0};
    struct vs_writer *w;
    CHECK_EQ_INT(vs_writer_open(p, &o, &w, &d), VS_OK);
    float v[4] = {1, 2, 3, 4};
    CHECK_EQ_INT(upsert(w, "x", v, 4, NULL), VS_E_DIM);
    CHECK_EQ_INT(upsert(w, "x", v, 3, "\"vector_model\":\"m2\""), VS_E_MISMATCH);
    CHECK_EQ_INT(upsert(w, "x", v, 3, "\"vector_model\":\"m1\""), VS_OK);
    json_t *noid = json_pack("{s:s}", "text", "t");
    CHECK_EQ_INT(vs_writer_upsert(w, noid, v, 3, &d), VS_E_FIELD);
    CHECK_EQ_STR(d.field, "id");
    json_decref(noid);
    /* a second writer is refused, naming this process */
    struct vs_writer *w2 = NULL;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_writer_open(p, &o, &w2, &d), VS_E_LOCKED);
    char pid[32];
    snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
    CHECK(strstr(d.detail, pid) != NULL);
    struct vs_writer_opts ow = {NULL, 0.1};
    CHECK_EQ_INT(vs_writer_open(p, &ow, &w2, &d), VS_E_LOCKED);
    vs_writer_close(w); /* uncommitted: dropped */
    struct vs_store *s;
    CHECK_EQ_INT(vs_store_open(p, &s, &d), VS_OK);
    CHECK_EQ_INT(vs_store_count(s), 0);
    CHECK_EQ_STR(vs_store_settings(s)->model, "m1");
    vs_store_close(s);
    /* no store and no create settings */
    CHECK_EQ_INT(vs_writer_open("/nonexistent/x.vs", &o, &w, &d), VS_E_NOSTORE);
    CHECK_EQ_INT(vs_store_open("/nonexistent/x.vs", &s, &d), VS_E_NOSTORE);
}

static void test_merge_policy_logarithmic(void)
{
    const char *p = newpath();
    struct vs_writer *w = open_w(p, VS_METRIC_L2, 2);
    struct vs_diag d;
    vs_diag_clear(&d);
    size_t maxseg = 0;
    for (int c = 0; c < 200; c++) {
        float v[2] = {(float)c, 1};
        char id[32];
        for (int k = 0; k < 5; k++) {
            snprintf(id, sizeof id, "c%d-%d", c, k);
            upsert(w, id, v, 2, NULL);
        }
        CHECK_EQ_INT(vs_writer_commit(w, &d), VS_OK);
        struct vs_store *s;
        vs_store_open(p, &s, &d);
        if (vs_store_nsegments(s) > maxseg)
            maxseg = vs_store_nsegments(s);
        vs_store_close(s);
    }
    vs_writer_close(w);
    /* 1000 rows in commits of 5: at most ~log2(200)+1 segments */
    CHECK(maxseg <= 10);
    struct vs_store *s;
    CHECK_EQ_INT(vs_store_open(p, &s, &d), VS_OK);
    CHECK_EQ_INT(vs_store_count(s), 1000);
    CHECK_EQ_INT(vs_store_generation(s), 200);
    vs_store_close(s);
    CHECK_EQ_INT(vs_store_verify(p, &d), VS_OK);
}

static int pred_odd(const json_t *doc, void *arg)
{
    (void)arg;
    return json_integer_value(json_object_get(doc, "n")) % 2 == 1;
}

static void test_delete_where(void)
{
    const char *p = newpath();
    struct vs_writer *w = open_w(p, VS_METRIC_L2, 1);
    struct vs_diag d;
    vs_diag_clear(&d);
    for (int i = 0; i < 10; i++) {
        char id[16], ex[32];
        float v = (float)i;
        snprintf(id, sizeof id, "%d", i);
        snprintf(ex, sizeof ex, "\"n\":%d", i);
        upsert(w, id, &v, 1, ex);
        if (i == 4)
            vs_writer_commit(w, &d); /* half committed, half pending */
    }
    uint64_t n = 0;
    CHECK_EQ_INT(vs_writer_delete_where(w, pred_odd, NULL, &n, &d), VS_OK);
    CHECK_EQ_INT(n, 5);
    CHECK_EQ_INT(vs_writer_commit(w, &d), VS_OK);
    vs_writer_close(w);
    struct vs_store *s;
    CHECK_EQ_INT(vs_store_open(p, &s, &d), VS_OK);
    CHECK_EQ_INT(vs_store_count(s), 5);
    vs_store_close(s);
}

static void flip_byte(const char *file, long off_from_end)
{
    struct stat sb;
    if (stat(file, &sb) != 0 || vs_test_flip_byte(file, (uint64_t)(sb.st_size - off_from_end), 0x10))
        printf("#   flipping a byte of %s failed\n", file);
}

static void test_corruption_detected(void)
{
    const char *p = newpath();
    struct vs_writer *w = open_w(p, VS_METRIC_L2, 8);
    struct vs_diag d;
    vs_diag_clear(&d);
    float v[8] = {0};
    for (int i = 0; i < 600; i++) {
        char id[16];
        snprintf(id, sizeof id, "id%d", i);
        v[i % 8] = (float)i;
        upsert(w, id, v, 8, "\"text\":\"some text that is stored in the docs section\"");
    }
    CHECK_EQ_INT(vs_writer_commit(w, &d), VS_OK);
    vs_writer_close(w);
    char seg[600];
    snprintf(seg, sizeof seg, "%s/seg-00000001.vseg", p);
    /* a byte in the middle of the file: inside docs blocks */
    struct stat sb;
    stat(seg, &sb);
    flip_byte(seg, sb.st_size / 4);
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_store_verify(p, &d), VS_E_CORRUPT);
    CHECK(strstr(d.file, "seg-00000001.vseg") != NULL);
    CHECK(strstr(d.detail, "section") != NULL);
    flip_byte(seg, sb.st_size / 4); /* restore */
    CHECK_EQ_INT(vs_store_verify(p, &d), VS_OK);
    /* the manifest */
    char mf[600];
    snprintf(mf, sizeof mf, "%s/MANIFEST", p);
    flip_byte(mf, 40);
    struct vs_store *s;
    CHECK_EQ_INT(vs_store_open(p, &s, &d), VS_E_CORRUPT);
    flip_byte(mf, 40);
    CHECK_EQ_INT(vs_store_open(p, &s, &d), VS_OK);
    vs_store_close(s);
    /* truncation */
    CHECK(truncate(seg, sb.st_size - 10) == 0);
    CHECK_EQ_INT(vs_store_open(p, &s, &d), VS_E_CORRUPT);
}

static void test_snapshot(void)
{
    const char *p = newpath();
    struct vs_writer *w = open_w(p, VS_METRIC_DOT, 2);
    struct vs_diag d;
    vs_diag_clear(&d);
    float v[2] = {1, 2};
    upsert(w, "a", v, 2, NULL);
    upsert(w, "b", v, 2, NULL);
    vs_writer_commit(w, &d);
    vs_writer_delete(w, "a", NULL, &d);
    vs_writer_commit(w, &d);
    vs_writer_close(w);
    char dest[600];
    snprintf(dest, sizeof dest, "%s.snap", p);
    CHECK_EQ_INT(vs_store_snapshot(p, dest, &d), VS_OK);
    CHECK_EQ_INT(vs_store_snapshot(p, dest, &d), VS_E_EXISTS);
    struct vs_store *s;
    CHECK_EQ_INT(vs_store_open(dest, &s, &d), VS_OK);
    CHECK_EQ_INT(vs_store_count(s), 1);
    CHECK_EQ_INT(vs_store_tombstones(s), 1);
    json_t *info;
    CHECK_EQ_INT(vs_store_info(s, &info, &d), VS_OK);
    CHECK_EQ_INT(json_integer_value(json_object_get(info, "records")), 1);
    CHECK_EQ_STR(json_string_value(json_object_get(info, "metric")), "dot");
    json_decref(info);
    vs_store_close(s);
    CHECK_EQ_INT(vs_store_verify(dest, &d), VS_OK);
}


/* vs_ingest_parse against the generic path: same record, same floats
 * (bit for bit), same status. */
static int generic_parse(const char *line, json_t **rec, float **vec, size_t *dim)
{
    struct vs_diag d;
    vs_diag_clear(&d);
    int st = vs_ndjson_parse(line, strlen(line), rec, &d);
    if (st != VS_OK)
        return st;
    st = vs_record_vector(*rec, vec, dim, &d);
    if (st != VS_OK) {
        json_decref(*rec);
        *rec = NULL;
        return st;
    }
    json_object_del(*rec, "vector");
    json_object_del(*rec, "vector_b64");
    return VS_OK;
}

static int same_parse(const char *line)
{
    json_t *r1 = NULL, *r2 = NULL;
    float *v1 = NULL, *v2 = NULL;
    size_t d1 = 0, d2 = 0;
    struct vs_diag d;
    vs_diag_clear(&d);
    int s1 = vs_ingest_parse(line, strlen(line), &r1, &v1, &d1, &d);
    int s2 = generic_parse(line, &r2, &v2, &d2);
    int ok = s1 == s2 && d1 == d2 && (d1 == 0 || memcmp(v1, v2, d1 * sizeof(float)) == 0);
    if (ok && r1) {
        char *a = json_dumps(r1, VS_JSON_DUMP_FLAGS), *b = json_dumps(r2, VS_JSON_DUMP_FLAGS);
        ok = a && b && strcmp(a, b) == 0;
        free(a);
        free(b);
    }
    if (!ok)
        printf("#   differs: %s (status %d vs %d)\n", line, s1, s2);
    json_decref(r1);
    json_decref(r2);
    free(v1);
    free(v2);
    return ok;
}

static void test_ingest_parse_matches_generic(void)
{
    static const char *lines[] = {
        "{\"id\":\"a\",\"vector\":[1,2.5,-3e2,0.000123,-0,1E-7]}",
        "{\"id\":\"a\",\"vector\":[-0.0,-0e1,0.0,-0.000,16777217,9007199254740993]}",
        "{\"vector\":[1,2],\"id\":\"a\",\"t\":\"x\"}",
        "{ \"id\" : \"a\" , \"vector\" : [ 1 , 2 ] }",
        "{\"vector\":[1]}",
        "{\"id\":\"a\",\"vector\":[]}",
        "{\"id\":\"a\",\"vector\":[1,]}",
        "{\"id\":\"a\",\"vector\":[01]}",
        "{\"id\":\"a\",\"vector\":[-]}",
        "{\"id\":\"a\",\"vector\":[1.]}",
        "{\"id\":\"a\",\"vector\":[1e]}",
        "{\"id\":\"a\",\"vector\":[1e+]}",
        "{\"id\":\"a\",\"vector\":[.5]}",
        "{\"id\":\"a\",\"vector\":[-01.5]}",
        "{\"id\":\"a\",\"vector\":[1.5e400,1]}",
        "{\"id\":\"a\",\"vector\":[1.5e-400,1]}",
        "{\"id\":\"a\",\"vector\":[1e0000000000000000000000000000000000001]}",
        "{\"id\":\"a\",\"vector\":[12345678901234567890123,1]}",
        "{\"id\":\"a\",\"vector\":[0.1234567890123456789012345678901234567890123456789012345678901234567]}",
        "{\"id\":\"a\",\"vector\":[1e39]}",
        "{\"id\":\"a\",\"vector\":[\"1\"]}",
        "{\"id\":\"a\",\"vector\":null}",
        "{\"id\":\"a\",\"vector\":[1],\"vector_b64\":\"AACAPw==\"}",
        "{\"id\":\"a\",\"vector\":[1],\"vector\":[2]}",
        "{\"id\":\"a\",\"vector_b64\":\"AACAPwAAAEA=\"}",
        "{\"id\":\"a\",\"vector_b64\":\"AACAPwAAAE\"}",
        "{\"id\":\"a\",\"vector_b64\":\"AAD4fw==\"}",
        "{\"id\":\"a\",\"vector_b64\":\"!!!!\"}",
        "{\"id\":\"a\",\"vec\\u0074or\":[1,2]}",
        "{\"id\":\"a\",\"m\":{\"vector\":[9]},\"s\":\"]}\\\"\",\"vector\":[3]}",
        "{\"id\":\"a\",\"vector\":[1,2]",
        "{\"id\":\"a\",\"vector\":[1,2]} x",
        "[1,2]",
        "{\"id\":\"a\"}",
        "{}",
        "{\"op\":\"delete\",\"id\":\"a\"}",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        CHECK(same_parse(lines[i]));
    /* random floats in many notations */
    unsigned seed = 12345;
    static const char *fmts[] = {"%.9g", "%.7g", "%.3e", "%.17g", "%.12f", "%.1f", "%.15g", "%g"};
    char line[8192];
    for (int t = 0; t < 2000; t++) {
        size_t n = 0;
        n += (size_t)snprintf(line + n, sizeof line - n, "{\"id\":\"r%d\",\"vector\":[", t);
        for (int k = 0; k < 16; k++) {
            seed = seed * 1103515245u + 12345u;
            uint32_t u = seed ^ (seed >> 11) * 2654435761u;
            float f;
            memcpy(&f, &u, 4);
            /* jansson reads integers beyond 64 bits as errors: stay below */
            if (!isfinite(f) || fabsf(f) > 1e15f || (fabsf(f) < 1e-30f && f != 0))
                f = (float)(u % 100000) / 977.0f - 50.0f;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
            n += (size_t)snprintf(line + n, sizeof line - n, fmts[(t + k) % 8], (double)f);
#pragma GCC diagnostic pop
            line[n++] = k < 15 ? ',' : ']';
        }
        n += (size_t)snprintf(line + n, sizeof line - n, "}");
        if (!same_parse(line)) {
            CHECK(0);
            break;
        }
    }
    /* long fractions (16 to 40 digits: the approximate path), magnitudes
     * 1e-37..1e37 (two powers of ten), and decimals at, just above and
     * just below a float rounding midpoint (decided exactly) */
    static const char *lfmts[] = {"%.17g", "%.16g", "%.19g", "%.25e", "%.40g"};
    for (int t = 0; t < 1000; t++) {
        size_t n = 0;
        n += (size_t)snprintf(line + n, sizeof line - n, "{\"id\":\"l%d\",\"vector\":[", t);
        for (int k = 0; k < 16; k++) {
            seed = seed * 1103515245u + 12345u;
            uint32_t u = seed ^ (seed >> 11) * 2654435761u;
            double x;
            if (k % 4 == 3) {
                /* a float midpoint, nudged by -1, 0 or +1 double ulp */
                float f = (float)(u % 1000003) / 7.0f + 0.5f;
                double mid = ((double)f + (double)nextafterf(f, 2 * f)) / 2;
                x = k % 8 == 3 ? mid : nextafter(mid, (u & 1) ? 0.0 : 1e30);
            } else {
                x = ((double)u / 4294967296.0 - 0.5) * pow(10.0, (int)(u % 75) - 37);
            }
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
            n += (size_t)snprintf(line + n, sizeof line - n, lfmts[(t + k) % 5], x);
#pragma GCC diagnostic pop
            line[n++] = k < 15 ? ',' : ']';
        }
        n += (size_t)snprintf(line + n, sizeof line - n, "}");
        if (!same_parse(line)) {
            CHECK(0);
            break;
        }
    }
}


struct collected {
    char buf[1024];
    int stop_after; /* > 0: return VS_E_IO on that record */
    int seen;
};

static int collect_rec(const json_t *rec, void *arg)
{
    struct collected *c = arg;
    if (c->stop_after && ++c->seen == c->stop_after)
        return VS_E_IO;
    char *t = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
    snprintf(c->buf + strlen(c->buf), sizeof c->buf - strlen(c->buf), "%s\n", t ? t : "?");
    free(t);
    return VS_OK;
}

/* vs_store_export: live records in segment order, with vectors, filtered;
 * ids only; a write callback's status stops the walk and is returned. */
static void test_export(void)
{
    const char *p = newpath();
    struct vs_writer *w = open_w(p, VS_METRIC_L2, 2);
    struct vs_diag d;
    vs_diag_clear(&d);
    float a[2] = {1, 2}, b[2] = {3, 4}, c2[2] = {5, 6};
    upsert(w, "a", a, 2, "\"n\":1");
    upsert(w, "b", b, 2, "\"n\":2");
    CHECK_EQ_INT(vs_writer_commit(w, &d), VS_OK);
    upsert(w, "c", c2, 2, "\"n\":3");
    int found = 0;
    CHECK_EQ_INT(vs_writer_delete(w, "a", &found, &d), VS_OK);
    CHECK_EQ_INT(found, 1);
    CHECK_EQ_INT(vs_writer_commit(w, &d), VS_OK);
    vs_writer_close(w);
    struct vs_store *s;
    CHECK_EQ_INT(vs_store_open(p, &s, &d), VS_OK);
    struct collected col = {"", 0, 0};
    long long n = -1;
    CHECK_EQ_INT(vs_store_export(s, NULL, 0, 0, collect_rec, &col, &n, &d), VS_OK);
    CHECK_EQ_STR(col.buf, "{\"id\":\"b\",\"n\":2,\"vector\":[3.0,4.0]}\n"
                          "{\"id\":\"c\",\"n\":3,\"vector\":[5.0,6.0]}\n");
    CHECK_EQ_INT(n, 2);
    struct vs_filter *f = NULL;
    CHECK_EQ_INT(vs_filter_compile("n >= 3", &f, &d), VS_OK);
    col.buf[0] = '\0';
    CHECK_EQ_INT(vs_store_export(s, f, 0, 1, collect_rec, &col, &n, &d), VS_OK);
    CHECK(strstr(col.buf, "\"id\":\"c\"") && strstr(col.buf, "\"vector_b64\"") && !strstr(col.buf, "\"b\""));
    CHECK_EQ_INT(n, 1);
    col.buf[0] = '\0';
    CHECK_EQ_INT(vs_store_export(s, f, 1, 0, collect_rec, &col, &n, &d), VS_OK); /* ids: no filter */
    CHECK_EQ_STR(col.buf, "{\"id\":\"b\"}\n{\"id\":\"c\"}\n");
    struct collected stop = {"", 2, 0};
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_store_export(s, NULL, 1, 0, collect_rec, &stop, &n, &d), VS_E_IO);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_STR(d.detail, "");
    vs_filter_free(f);
    vs_store_close(s);
}

static void test_metric_names(void)
{
    enum vs_metric m;
    CHECK_EQ_INT(vs_metric_parse("l2", &m), VS_OK);
    CHECK_EQ_INT(m, VS_METRIC_L2);
    CHECK_EQ_INT(vs_metric_parse("hamming", &m), VS_E_USAGE);
    CHECK_EQ_STR(vs_metric_name(VS_METRIC_DOT), "dot");
}

int main(void)
{
    if (vs_test_tmpdir(root, sizeof root, "store") != 0)
        return 1;
    RUN(test_metric_names);
    RUN(test_roundtrip);
    RUN(test_upsert_delete_and_tombstones);
    RUN(test_refusals);
    RUN(test_merge_policy_logarithmic);
    RUN(test_delete_where);
    RUN(test_export);
    RUN(test_corruption_detected);
    RUN(test_snapshot);
    RUN(test_ingest_parse_matches_generic);
    vs_test_rmtree(root);
    return vs_test_done();
}
