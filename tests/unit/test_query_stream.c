/* test_query_stream.c: vs_qtext_stream / vs_qtext_finish over query files
 * (batches, bad records, keep_going, emit failures), the --stats object,
 * and the hit writer's NDJSON, TREC and text forms, called directly. */
#include "test.h"
#include "vs_internal.h"
#include "vs_query_text.h"

#include <fcntl.h>
#include <unistd.h>

#include "store_internal.h"
#include "store_text_internal.h"

static char dir[256];

/* A cosine store with 3 docs (3 dimensions, no text index). */
static int make_store(const char *path)
{
    static const char *docs[] = {
        "{\"id\":\"a\",\"text\":\"alpha\"}",
        "{\"id\":\"b\",\"text\":\"beta\"}",
        "{\"id\":\"c\",\"text\":\"gamma\"}",
    };
    static const float vecs[3][3] = {{1, 0, 0}, {0, 1, 0}, {1, 1, 0}};
    struct vs_store_settings st = {0};
    st.metric = VS_METRIC_COSINE;
    st.normalize = 1;
    struct vs_writer_opts o = {&st, 0};
    struct vs_writer *w;
    int rc = vs_writer_open(path, &o, &w, NULL);
    if (rc != VS_OK)
        return rc;
    for (int i = 0; i < 3 && rc == VS_OK; i++) {
        json_t *r = json_loads(docs[i], 0, NULL);
        rc = vs_writer_upsert(w, r, vecs[i], 3, NULL);
        json_decref(r);
    }
    if (rc == VS_OK)
        rc = vs_writer_commit(w, NULL);
    vs_writer_close(w);
    return rc;
}

struct seen {
    json_t *hits;
    int warnings, last_warn, progress;
    long warn_line;
    size_t fail_at; /* emit fails (VS_E_NOSPC) at this hit, 1-based; 0 never */
};

static int s_emit(const json_t *hit, void *arg)
{
    struct seen *s = arg;
    if (s->fail_at && json_array_size(s->hits) + 1 == s->fail_at)
        return VS_E_NOSPC;
    json_array_append_new(s->hits, json_deep_copy(hit));
    return VS_OK;
}

static void s_warn(int status, const struct vs_diag *d, void *arg)
{
    struct seen *s = arg;
    s->warnings++;
    s->last_warn = status;
    s->warn_line = d->line;
}

static void s_progress(const struct vs_qtext_totals *t, void *arg)
{
    ((struct seen *)arg)->progress++;
}

/* Open the store, stream text with k 2 and the given batch, finish when
 * the stream succeeded; fills s and tot, returns the status. */
static int run(const char *text, size_t batch, int keep_going, struct seen *s,
               struct vs_qtext_totals *tot, struct vs_diag *d)
{
    char path[512];
    snprintf(path, sizeof path, "%s/kb.vs", dir);
    struct vs_store *st = NULL;
    struct vs_qtext *q = NULL;
    struct vs_query_opts qo = {0};
    qo.k = 2;
    qo.batch = batch;
    qo.simd = -1;
    struct vs_qtext_opts to;
    vs_qtext_opts_init(&to);
    memset(tot, 0, sizeof *tot);
    s->hits = json_array();
    int rc = vs_store_open(path, &st, d);
    if (rc == VS_OK)
        rc = vs_qtext_new(st, &qo, &to, &q, d);
    struct vs_qtext_sink sink = {s_emit, s_warn, s_progress, s, NULL};
    if (rc == VS_OK)
        rc = vs_qtext_stream(q, vs_test_write(dir, "q.ndjson", text), keep_going, &sink, tot, d);
    if (rc == VS_OK)
        rc = vs_qtext_finish(q, &sink, tot, d);
    json_t *stats = vs_qtext_stats_json(q, tot);
    CHECK(stats != NULL);
    CHECK_EQ_INT(json_integer_value(json_object_get(stats, "queries")), tot->queries);
    CHECK_EQ_INT(json_integer_value(json_object_get(stats, "hits")), tot->hits);
    CHECK_EQ_INT(json_integer_value(json_object_get(stats, "skipped")), tot->skipped);
    CHECK(json_string_value(json_object_get(stats, "kernel")) != NULL);
    json_decref(stats);
    vs_qtext_free(q);
    vs_store_close(st);
    return rc;
}

static const char *qid(const json_t *hits, size_t i)
{
    return json_string_value(json_object_get(json_array_get(hits, i), "qid"));
}

static void test_batches_and_totals(void)
{
    struct seen s = {0};
    struct vs_qtext_totals t;
    struct vs_diag d;
    CHECK_EQ_INT(run("{\"id\":\"q1\",\"vector\":[1,0,0]}\n"
                     "{\"id\":\"q2\",\"vector\":[0,1,0]}\n"
                     "{\"id\":\"q3\",\"vector\":[0,0,1],\"filter\":\"text = 'zzz'\"}\n",
                     2, 0, &s, &t, &d), VS_OK);
    CHECK_EQ_INT(t.queries, 3);
    CHECK_EQ_INT(t.hits, 4);
    CHECK_EQ_INT(t.empty, 1);
    CHECK_EQ_INT(t.skipped, 0);
    CHECK_EQ_INT(s.progress, 2); /* a full batch of 2, then the rest */
    CHECK_EQ_INT(json_array_size(s.hits), 4);
    CHECK_EQ_STR(qid(s.hits, 0), "q1");
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(s.hits, 0), "id")), "a");
    CHECK_EQ_STR(qid(s.hits, 3), "q2");
    json_decref(s.hits);
}

static void test_bad_record(void)
{
    const char *text = "{\"id\":\"q1\",\"vector\":[1,0,0]}\n"
                       "{\"id\":\"q2\",\"vector\":[1,0]}\n"
                       "{\"id\":\"q3\",\"vector\":[0,1,0]}\n";
    /* stops at line 2, after answering q1 */
    struct seen s = {0};
    struct vs_qtext_totals t;
    struct vs_diag d;
    CHECK_EQ_INT(run(text, 8, 0, &s, &t, &d), VS_E_DIM);
    CHECK_EQ_INT(d.line, 2);
    CHECK(strstr(d.file, "q.ndjson") != NULL);
    CHECK_EQ_INT(t.queries, 1);
    CHECK_EQ_INT(json_array_size(s.hits), 2);
    CHECK_EQ_STR(qid(s.hits, 1), "q1");
    json_decref(s.hits);
    /* keep_going: warned and skipped */
    struct seen s2 = {0};
    CHECK_EQ_INT(run(text, 8, 1, &s2, &t, &d), VS_OK);
    CHECK_EQ_INT(s2.warnings, 1);
    CHECK_EQ_INT(s2.last_warn, VS_E_DIM);
    CHECK_EQ_INT(s2.warn_line, 2);
    CHECK_EQ_INT(t.skipped, 1);
    CHECK_EQ_INT(t.queries, 2);
    CHECK_EQ_STR(qid(s2.hits, 3), "q3");
    json_decref(s2.hits);
    /* malformed JSON is a data error too; keep_going skips it */
    struct seen s3 = {0};
    CHECK_EQ_INT(run("{\"id\":\"q1\",\"vector\":[1,0,0]}\n{oops\n", 8, 0, &s3, &t, &d), VS_E_JSON);
    CHECK_EQ_INT(d.line, 2);
    CHECK_EQ_INT(json_array_size(s3.hits), 2);
    json_decref(s3.hits);
    /* a failing emit stops the run with its status */
    struct seen s4 = {.fail_at = 2};
    CHECK_EQ_INT(run(text, 8, 1, &s4, &t, &d), VS_E_NOSPC);
    CHECK_EQ_INT(json_array_size(s4.hits), 1);
    json_decref(s4.hits);
    /* a file that is not there */
    struct vs_qtext_totals t5 = {0};
    struct vs_qtext_sink sink = {s_emit, NULL, NULL, &s4, NULL};
    char path[512];
    snprintf(path, sizeof path, "%s/missing.ndjson", dir);
    CHECK(vs_qtext_stream(NULL, path, 0, &sink, &t5, &d) != VS_OK);
    CHECK_EQ_INT(t5.queries, 0);
}

static void test_stats_without_store(void)
{
    struct vs_qtext_totals t = {0};
    json_t *o = vs_qtext_stats_json(NULL, &t);
    char *s = json_dumps(o, JSON_COMPACT);
    CHECK_EQ_STR(s, "{\"queries\":0,\"hits\":0,\"empty_queries\":0,\"skipped\":0,"
                    "\"k_shortfalls\":0,\"distance_computations\":0,\"kernel\":\"none\"}");
    free(s);
    json_decref(o);
}

/* Write the hits with a writer of format f into a string (static buffer). */
static const char *written(enum vs_query_format f, const char *const *hits, size_t n)
{
    static char out[8192];
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    struct vs_query_writer w;
    vs_query_writer_init(&w, f);
    for (size_t i = 0; i < n; i++) {
        json_t *h = json_loads(hits[i], 0, NULL);
        CHECK_EQ_INT(vs_query_writer_put(&w, fp, h, i % 2), VS_OK);
        json_decref(h);
    }
    fclose(fp);
    snprintf(out, sizeof out, "%s", buf ? buf : "");
    free(buf);
    return out;
}

static void test_writer_formats(void)
{
    enum vs_query_format f;
    CHECK_EQ_INT(vs_query_format_parse("ndjson", &f), VS_OK);
    CHECK_EQ_INT(f, VS_QUERY_NDJSON);
    CHECK_EQ_INT(vs_query_format_parse("trec", &f), VS_OK);
    CHECK_EQ_INT(f, VS_QUERY_TREC);
    CHECK_EQ_INT(vs_query_format_parse("text", &f), VS_OK);
    CHECK_EQ_INT(f, VS_QUERY_TEXT);
    CHECK_EQ_INT(vs_query_format_parse("csv", &f), VS_E_USAGE);
    const char *hits[] = {
        "{\"qid\":\"q1\",\"id\":\"a\",\"rank\":1,\"score\":0.5,\"text\":\"  one\\n\\ttwo  \"}",
        "{\"qid\":\"q1\",\"id\":\"b\",\"rank\":2,\"score\":0.25}",
        "{\"qid\":\"q2\",\"hits\":0,\"explain\":{}}",
        "{\"qid\":\"q3\",\"id\":\"c\",\"rank\":1,\"score\":1}",
    };
    CHECK_EQ_STR(written(VS_QUERY_NDJSON, hits, 2),
                 "{\"qid\":\"q1\",\"id\":\"a\",\"rank\":1,\"score\":0.5,\"text\":\"  one\\n\\ttwo  \"}\n"
                 "{\"qid\":\"q1\",\"id\":\"b\",\"rank\":2,\"score\":0.25}\n");
    CHECK_EQ_STR(written(VS_QUERY_TREC, hits, 2),
                 "q1 Q0 a 1 0.5 vecstore\nq1 Q0 b 2 0.25 vecstore\n");
    CHECK_EQ_STR(written(VS_QUERY_TEXT, hits, 4),
                 "\nq1\n  1. 0.5        a\n     one two\n  2. 0.25       b\n"
                 "\nq3\n  1. 1          c\n");
}

static void test_writer_text_cut(void)
{
    /* 199 ASCII bytes then "é" (2 bytes) and more: the cut at 200 bytes
     * would split the é, so the line ends before it */
    char text[400], hit[600], want[700];
    memset(text, 'x', 199);
    strcpy(text + 199, "\xc3\xa9 and more");
    snprintf(hit, sizeof hit, "{\"qid\":\"q\",\"id\":\"d\",\"rank\":1,\"score\":2,\"text\":\"%s\"}", text);
    const char *hits[] = {hit};
    snprintf(want, sizeof want, "\nq\n  1. 2          d\n     %.199s...\n", text);
    CHECK_EQ_STR(written(VS_QUERY_TEXT, hits, 1), want);
    /* exactly 200 bytes: not cut */
    memset(text, 'y', 200);
    text[200] = '\0';
    snprintf(hit, sizeof hit, "{\"qid\":\"q\",\"id\":\"d\",\"rank\":1,\"score\":2,\"text\":\"%s\"}", text);
    snprintf(want, sizeof want, "\nq\n  1. 2          d\n     %s\n", text);
    CHECK_EQ_STR(written(VS_QUERY_TEXT, hits, 1), want);
    /* a cut right after a space drops the trailing space */
    memset(text, 'z', 199);
    strcpy(text + 199, " tail");
    snprintf(hit, sizeof hit, "{\"qid\":\"q\",\"id\":\"d\",\"rank\":1,\"score\":2,\"text\":\"%s\"}", text);
    snprintf(want, sizeof want, "\nq\n  1. 2          d\n     %.199s...\n", text);
    CHECK_EQ_STR(written(VS_QUERY_TEXT, hits, 1), want);
}

/* A full device: the status of the failed write or flush comes back. */
static void test_writer_write_error(void)
{
    FILE *fp = fopen("/dev/full", "w");
    if (!fp)
        SKIP("no /dev/full");
    json_t *h = json_loads("{\"qid\":\"q\",\"id\":\"a\",\"rank\":1,\"score\":1}", 0, NULL);
    for (int f = VS_QUERY_NDJSON; f <= VS_QUERY_TEXT; f++) {
        struct vs_query_writer w;
        vs_query_writer_init(&w, (enum vs_query_format)f);
        CHECK_EQ_INT(vs_query_writer_put(&w, fp, h, 1), VS_E_NOSPC);
        clearerr(fp);
    }
    json_decref(h);
    fclose(fp);
}

/* New qtext on the store at path in mode m (explain as given): the status
 * of vs_qtext_new, then, when it opened, of one vector query's stream */
static int open_mode(const char *path, enum vs_qmode m, int explain, size_t *hits,
                     struct vs_diag *d)
{
    struct vs_store *st = NULL;
    struct vs_qtext *q = NULL;
    struct vs_query_opts qo = {0};
    qo.k = 2;
    qo.batch = 4;
    qo.simd = -1;
    qo.explain = explain;
    struct vs_qtext_opts to;
    vs_qtext_opts_init(&to);
    to.mode = m;
    struct seen s = {0};
    s.hits = json_array();
    struct vs_qtext_totals tot = {0};
    struct vs_qtext_sink sink = {s_emit, s_warn, s_progress, &s, NULL};
    int rc = vs_store_open(path, &st, d);
    if (rc == VS_OK)
        rc = vs_qtext_new(st, &qo, &to, &q, d);
    if (rc == VS_OK)
        rc = vs_qtext_stream(q, vs_test_write(dir, "qv.ndjson",
                                              "{\"id\":\"q1\",\"vector\":[1,0,0],\"text\":\"alpha\"}\n"),
                             0, &sink, &tot, d);
    if (rc == VS_OK)
        rc = vs_qtext_finish(q, &sink, &tot, d);
    *hits = json_array_size(s.hits);
    json_decref(s.hits);
    vs_qtext_free(q);
    vs_store_close(st);
    return rc;
}

/* vector mode does not read the BM25 section (a damaged one is not
 * noticed); text mode, and vector mode with explain, do and report it */
static void test_vector_mode_skips_bm25(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/text.vs", dir);
    struct vs_store_settings ss = {0};
    ss.metric = VS_METRIC_COSINE;
    ss.normalize = 1;
    snprintf(ss.analyzer, sizeof ss.analyzer, "%s", VS_ANALYZER_DEFAULT);
    struct vs_writer_opts o = {&ss, 0};
    struct vs_writer *w = NULL;
    CHECK_EQ_INT(vs_writer_open(path, &o, &w, NULL), VS_OK);
    static const char *texts[] = {"alpha one", "beta two", "gamma three"};
    for (int i = 0; i < 3 && w; i++) {
        json_t *r = json_pack("{s:s, s:s}", "id", texts[i], "text", texts[i]);
        float v[3] = {(float)i, 1, 0};
        CHECK_EQ_INT(vs_writer_upsert(w, r, v, 3, NULL), VS_OK);
        json_decref(r);
    }
    CHECK_EQ_INT(vs_writer_commit(w, NULL), VS_OK);
    vs_writer_close(w);
    size_t hits = 0;
    CHECK_EQ_INT(open_mode(path, VS_QMODE_TEXT, 0, &hits, NULL), VS_OK);
    CHECK_EQ_INT(hits, 1); /* "alpha" */
    /* a byte in the middle of the segment's BM25 section flipped */
    struct vs_store *st = NULL;
    CHECK_EQ_INT(vs_store_open(path, &st, NULL), VS_OK);
    char seg[4200] = "";
    uint64_t at = 0;
    for (uint32_t i = 0; st && i < vs_store_segment(st, 0)->nsect; i++) {
        const struct vs_sect *x = &vs_store_segment(st, 0)->sect[i];
        if (x->type == VS_SECT_BM25) {
            at = x->off + x->len / 2;
            snprintf(seg, sizeof seg, "%s", vs_store_segment(st, 0)->path);
        }
    }
    vs_store_close(st);
    CHECK(seg[0] && at > 0);
    CHECK_EQ_INT(vs_test_flip_byte(seg, at, 0x55), 0);
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(open_mode(path, VS_QMODE_VECTOR, 0, &hits, &d), VS_OK);
    CHECK_EQ_INT(hits, 2);
    vs_diag_clear(&d);
    CHECK_EQ_INT(open_mode(path, VS_QMODE_TEXT, 0, &hits, &d), VS_E_CORRUPT);
    CHECK(strstr(d.detail, "bm25") != NULL);
    vs_diag_clear(&d);
    CHECK_EQ_INT(open_mode(path, VS_QMODE_VECTOR, 1, &hits, &d), VS_E_CORRUPT);
}

int main(void)
{
    if (vs_test_tmpdir(dir, sizeof dir, "query-stream") != 0)
        return 1;
    char path[512];
    snprintf(path, sizeof path, "%s/kb.vs", dir);
    if (make_store(path) != VS_OK) {
        printf("Bail out! cannot make the test store\n");
        return 1;
    }
    RUN(test_batches_and_totals);
    RUN(test_bad_record);
    RUN(test_stats_without_store);
    RUN(test_writer_formats);
    RUN(test_writer_text_cut);
    RUN(test_writer_write_error);
    RUN(test_vector_mode_skips_bm25);
    vs_test_rmtree(dir);
    return vs_test_done();
}
