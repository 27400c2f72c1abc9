/* test_store_text.c: the per-segment BM25 sections of the store
 * (lib/store_text.c): built at commit, rebuilt by merges and compaction,
 * deletes honoured, absent in stores without an analyzer (and in the v1
 * fixture), explain terms summing to the score. */
#include "test.h"
#include "vs_internal.h"
#include "vs_store_text.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static char root[256];
static int nstore;

static const char *newpath(void)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/s%d.vs", root, nstore++);
    return p;
}

static struct vs_writer *open_w(const char *path, const char *analyzer, const char *field)
{
    struct vs_store_settings ss = {0};
    ss.metric = VS_METRIC_COSINE;
    ss.normalize = 1;
    ss.dim = 2;
    if (analyzer)
        snprintf(ss.analyzer, sizeof ss.analyzer, "%s", analyzer);
    if (field)
        snprintf(ss.text_field, sizeof ss.text_field, "%s", field);
    struct vs_writer_opts o = {&ss, 0};
    struct vs_writer *w = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    int st = vs_writer_open(path, &o, &w, &d);
    CHECK_EQ_INT(st, VS_OK);
    return w;
}

static int put(struct vs_writer *w, const char *id, const char *text)
{
    json_t *rec = json_pack("{s:s}", "id", id);
    if (text)
        json_object_set_new(rec, "text", json_string(text));
    float v[2] = {1, (float)strlen(id)};
    struct vs_diag d;
    vs_diag_clear(&d);
    int st = vs_writer_upsert(w, rec, v, 2, &d);
    json_decref(rec);
    return st;
}

/* ids of the text hits for q, space separated, into buf */
static int search(const char *path, const char *q, char *buf, size_t cap,
                  double *top)
{
    struct vs_store *s;
    struct vs_store_text *t;
    struct vs_diag d;
    vs_diag_clear(&d);
    int st = vs_store_open(path, &s, &d);
    if (st != VS_OK)
        return st;
    if ((st = vs_store_text_open(s, &t, &d)) != VS_OK) {
        vs_store_close(s);
        return st;
    }
    struct vs_store_text_hit h[16];
    size_t n = 0;
    st = vs_store_text_search(t, q, NULL, NULL, 16, h, &n, &d);
    buf[0] = '\0';
    for (size_t i = 0; st == VS_OK && i < n; i++) {
        const char *const *ids;
        vs_segment_ids(vs_store_segment(s, h[i].seg), &ids, &d);
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", i ? " " : "",
                 ids[h[i].row]);
    }
    if (top)
        *top = n ? h[0].score : 0;
    vs_store_text_close(t);
    vs_store_close(s);
    return st;
}

static void test_commit_merge_delete_compact(void)
{
    const char *p = newpath();
    char buf[256];
    struct vs_diag d;
    vs_diag_clear(&d);
    struct vs_writer *w = open_w(p, VS_ANALYZER_DEFAULT, NULL);
    CHECK_EQ_INT(put(w, "a", "Running dogs"), VS_OK);
    CHECK_EQ_INT(put(w, "b", "a cat runs"), VS_OK);
    CHECK_EQ_INT(put(w, "nt", NULL), VS_OK); /* no text: absent from the index */
    CHECK_EQ_INT(vs_writer_commit(w, &d), VS_OK);
    CHECK_EQ_INT(put(w, "c", "the dog sleeps"), VS_OK);
    CHECK_EQ_INT(vs_writer_commit(w, &d), VS_OK);
    vs_writer_close(w);
    CHECK_EQ_INT(search(p, "dog", buf, sizeof buf, NULL), VS_OK);
    CHECK_EQ_STR(buf, "a c");
    CHECK_EQ_INT(search(p, "run", buf, sizeof buf, NULL), VS_OK);
    CHECK_EQ_STR(buf, "a b");
    /* delete and overwrite: the old rows never come back */
    w = open_w(p, NULL, NULL);
    int found;
    CHECK_EQ_INT(vs_writer_delete(w, "a", &found, &d), VS_OK);
    CHECK_EQ_INT(put(w, "b", "only birds"), VS_OK);
    CHECK_EQ_INT(vs_writer_commit(w, &d), VS_OK);
    vs_writer_close(w);
    CHECK_EQ_INT(search(p, "dog", buf, sizeof buf, NULL), VS_OK);
    CHECK_EQ_STR(buf, "c");
    CHECK_EQ_INT(search(p, "run", buf, sizeof buf, NULL), VS_OK);
    CHECK_EQ_STR(buf, "");
    CHECK_EQ_INT(search(p, "bird", buf, sizeof buf, NULL), VS_OK);
    CHECK_EQ_STR(buf, "b");
    /* compaction: one segment whose index scores as a fresh one */
    double after, fresh;
    w = open_w(p, NULL, NULL);
    CHECK_EQ_INT(vs_writer_compact(w, &d), VS_OK);
    vs_writer_close(w);
    CHECK_EQ_INT(search(p, "dog bird", buf, sizeof buf, &after), VS_OK);
    CHECK_EQ_STR(buf, "b c");
    const char *q = newpath();
    w = open_w(q, VS_ANALYZER_DEFAULT, NULL);
    CHECK_EQ_INT(put(w, "b", "only birds"), VS_OK);
    CHECK_EQ_INT(put(w, "c", "the dog sleeps"), VS_OK);
    CHECK_EQ_INT(put(w, "nt", NULL), VS_OK);
    CHECK_EQ_INT(vs_writer_commit(w, &d), VS_OK);
    vs_writer_close(w);
    CHECK_EQ_INT(search(q, "dog bird", buf, sizeof buf, &fresh), VS_OK);
    CHECK_NEAR(after, fresh, 1e-12);
    CHECK_EQ_INT(vs_store_verify(p, &d), VS_OK);
}

static void test_no_analyzer_and_field(void)
{
    const char *p = newpath();
    char buf[256];
    struct vs_diag d;
    vs_diag_clear(&d);
    struct vs_writer *w = open_w(p, NULL, NULL);
    CHECK_EQ_INT(put(w, "a", "dogs"), VS_OK);
    CHECK_EQ_INT(vs_writer_commit(w, &d), VS_OK);
    vs_writer_close(w);
    CHECK_EQ_INT(search(p, "dog", buf, sizeof buf, NULL), VS_OK);
    CHECK_EQ_STR(buf, "");
    /* another text field */
    p = newpath();
    w = open_w(p, "v1;lang=none;stop=none", "body");
    json_t *rec = json_pack("{s:s,s:s,s:s}", "id", "x", "body", "Dogs", "text", "cats");
    float v[2] = {1, 0};
    CHECK_EQ_INT(vs_writer_upsert(w, rec, v, 2, &d), VS_OK);
    json_decref(rec);
    CHECK_EQ_INT(vs_writer_commit(w, &d), VS_OK);
    vs_writer_close(w);
    CHECK_EQ_INT(search(p, "dogs", buf, sizeof buf, NULL), VS_OK);
    CHECK_EQ_STR(buf, "x");
    CHECK_EQ_INT(search(p, "dog", buf, sizeof buf, NULL), VS_OK); /* not stemmed */
    CHECK_EQ_STR(buf, "");
    CHECK_EQ_INT(search(p, "cats", buf, sizeof buf, NULL), VS_OK);
    CHECK_EQ_STR(buf, "");
}

static void test_fixture_v1_opens(void)
{
    char p[512];
    snprintf(p, sizeof p, "%s", "tests/fixtures/store-v1");
    struct vs_store *s;
    struct vs_store_text *t;
    struct vs_diag d;
    vs_diag_clear(&d);
    if (vs_store_open(p, &s, &d) != VS_OK)
        SKIP("tests/fixtures/store-v1 not found from the working directory");
    CHECK_EQ_INT(vs_store_text_open(s, &t, &d), VS_OK);
    CHECK_EQ_STR(vs_store_text_analyzer(t), "");
    CHECK_EQ_INT((int)vs_store_text_segments(t), 0);
    struct vs_store_text_hit h[4];
    size_t n = 9;
    CHECK_EQ_INT(vs_store_text_search(t, "anything", NULL, NULL, 4, h, &n, &d), VS_OK);
    CHECK_EQ_INT((int)n, 0);
    vs_store_text_close(t);
    vs_store_close(s);
}

static void test_explain_sums(void)
{
    const char *p = newpath();
    struct vs_diag d;
    vs_diag_clear(&d);
    struct vs_writer *w = open_w(p, VS_ANALYZER_DEFAULT, NULL);
    CHECK_EQ_INT(put(w, "a", "heat transfer in a boundary layer; boundary layer heat"), VS_OK);
    CHECK_EQ_INT(put(w, "b", "wing theory"), VS_OK);
    CHECK_EQ_INT(put(w, "c", "heat"), VS_OK);
    CHECK_EQ_INT(vs_writer_commit(w, &d), VS_OK);
    vs_writer_close(w);
    struct vs_store *s;
    struct vs_store_text *t;
    CHECK_EQ_INT(vs_store_open(p, &s, &d), VS_OK);
    CHECK_EQ_INT(vs_store_text_open(s, &t, &d), VS_OK);
    const char *q = "\"boundary layer\" +heat wing -theory";
    struct vs_store_text_hit h[4];
    size_t n;
    struct vs_bm25_params bp = {1.5, 0.6};
    CHECK_EQ_INT(vs_store_text_search(t, q, &bp, NULL, 4, h, &n, &d), VS_OK);
    CHECK_EQ_INT((int)n, 2);
    for (size_t i = 0; i < n; i++) {
        json_t *terms;
        CHECK_EQ_INT(vs_store_text_explain(t, q, &bp, h[i].seg, h[i].row, &terms, &d), VS_OK);
        double sum = 0;
        size_t k;
        json_t *e;
        json_array_foreach(terms, k, e) sum += json_number_value(json_object_get(e, "score"));
        CHECK_NEAR(sum, h[i].score, 1e-9);
        if (i == 0) {
            CHECK_EQ_INT((int)json_array_size(terms), 2);
            CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(terms, 0), "term")),
                         "boundari layer");
            CHECK_EQ_INT((int)json_integer_value(json_object_get(json_array_get(terms, 0), "tf")), 2);
            CHECK(json_is_true(json_object_get(json_array_get(terms, 1), "required")));
        }
        json_decref(terms);
    }
    vs_store_text_close(t);
    vs_store_close(s);
}

int main(void)
{
    if (vs_test_tmpdir(root, sizeof root, "stext") != 0)
        return 1;
    RUN(test_commit_merge_delete_compact);
    RUN(test_no_analyzer_and_field);
    RUN(test_fixture_v1_opens);
    RUN(test_explain_sums);
    vs_test_rmtree(root);
    return vs_test_done();
}
