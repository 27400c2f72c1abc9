/* test_chunk_since.c: file stamps and the stored-stamp view of vs-chunk
 * --since (lib/chunk_since.c), and the stamps in vs-ingest's sync view. */
#include "test.h"
#include "vs_internal.h"
#include "vs_store_sync.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[256];

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    if (fp) {
        fputs(text, fp);
        fclose(fp);
    }
}

static void test_stamp(void)
{
    char path[512], a[256], b[256];
    snprintf(path, sizeof path, "%s/f.txt", root);
    write_file(path, "hello\n");
    struct vs_chunk_options o = {VS_SPLITTER_RECURSIVE, VS_CHUNK_CHARS, 1000, 0, 0, 0, NULL, NULL, NULL};
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_chunk_stamp(path, &o, a, sizeof a, &d), VS_OK);
    struct stat sb;
    CHECK(stat(path, &sb) == 0);
    char want[256];
    snprintf(want, sizeof want, "v2 %lld.%09ld %lld.%09ld 6 %llu recursive/chars/1000/0/0/0",
             (long long)sb.st_mtim.tv_sec, (long)sb.st_mtim.tv_nsec,
             (long long)sb.st_ctim.tv_sec, (long)sb.st_ctim.tv_nsec,
             (unsigned long long)sb.st_ino);
    CHECK_EQ_STR(a, want);
    /* the same file, the same options: the same stamp */
    CHECK_EQ_INT(vs_chunk_stamp(path, &o, b, sizeof b, &d), VS_OK);
    CHECK_EQ_STR(a, b);
    /* other options, another time: other stamps */
    o.overlap = 10;
    CHECK_EQ_INT(vs_chunk_stamp(path, &o, b, sizeof b, &d), VS_OK);
    CHECK(strcmp(a, b) != 0);
    o.overlap = 0;
    o.min_size = 5; /* tiny merging and HTML reading are part of the stamp */
    CHECK_EQ_INT(vs_chunk_stamp(path, &o, b, sizeof b, &d), VS_OK);
    CHECK(strcmp(a, b) != 0);
    o.min_size = 0;
    o.load_flags = VS_LOAD_HTML_ALL;
    CHECK_EQ_INT(vs_chunk_stamp(path, &o, b, sizeof b, &d), VS_OK);
    CHECK(strcmp(a, b) != 0);
    o.load_flags = 0;
    struct timespec ts[2] = {{1000000000, 5}, {1000000000, 5}};
    CHECK(utimensat(AT_FDCWD, path, ts, 0) == 0);
    CHECK_EQ_INT(vs_chunk_stamp(path, &o, b, sizeof b, &d), VS_OK);
    CHECK(strncmp(b, "v2 1000000000.000000005 ", 24) == 0);
    /* errors */
    CHECK_EQ_INT(vs_chunk_stamp(path, &o, b, 10, &d), VS_E_INTERNAL);
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_chunk_stamp("/nonexistent/x", &o, b, sizeof b, &d), VS_E_IO);
    CHECK_EQ_STR(d.file, "/nonexistent/x");
}

/* A store of chunk records: each {id, doc_id, source, stamp or NULL}. */
static void fill(const char *path, const char *const (*recs)[4], int n)
{
    struct vs_store_settings ss = {0};
    ss.metric = VS_METRIC_COSINE;
    ss.normalize = 1;
    struct vs_writer_opts o = {&ss, 0};
    struct vs_writer *w = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_writer_open(path, &o, &w, &d), VS_OK);
    for (int i = 0; w && i < n; i++) {
        json_t *r = json_pack("{s:s,s:s,s:s,s:s,s:{s:s?}}", "id", recs[i][0], "doc_id",
                              recs[i][1], "source", recs[i][2], "doc_hash", "h",
                              "metadata", "file_stamp", recs[i][3]);
        float v[3] = {1, (float)i, 2};
        CHECK_EQ_INT(vs_writer_upsert(w, r, v, 3, &d), VS_OK);
        json_decref(r);
    }
    if (w)
        CHECK_EQ_INT(vs_writer_commit(w, &d), VS_OK);
    vs_writer_close(w);
}

static void test_since_view(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/kb.vs", root);
    static const char *const recs[][4] = {
        {"a#0", "a", "d/a", "S1"}, {"a#1", "a", "d/a", "S1"}, /* agree */
        {"b#0", "b", "d/b", "S2"}, {"b#1", "b", "d/b", "S3"}, /* disagree */
        {"c#0", "c", "d/c", NULL},                            /* no stamp */
        {"e#0", "e", "d/e", "S4"},
    };
    fill(path, recs, 6);
    struct vs_chunk_since *s = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_chunk_since_open(path, &s, &d), VS_OK);
    CHECK_EQ_INT((int)vs_chunk_since_docs(s), 4);
    CHECK_EQ_INT(vs_chunk_since_unchanged(s, "d/a", "a", "S1"), 1);
    CHECK_EQ_INT(vs_chunk_since_unchanged(s, "d/a", "a", "S9"), 0);
    CHECK_EQ_INT(vs_chunk_since_unchanged(s, "d/a", "x", "S1"), 0); /* other doc_id */
    CHECK_EQ_INT(vs_chunk_since_unchanged(s, "d/x", "a", "S1"), 0); /* other source */
    CHECK_EQ_INT(vs_chunk_since_unchanged(s, "d/b", "b", "S2"), 0);
    CHECK_EQ_INT(vs_chunk_since_unchanged(s, "d/b", "b", "S3"), 0);
    CHECK_EQ_INT(vs_chunk_since_unchanged(s, "d/c", "c", ""), 0);
    CHECK_EQ_INT(vs_chunk_since_unchanged(s, "d/e", "e", "S4"), 1);
    CHECK_EQ_INT(vs_chunk_since_unchanged(NULL, "d/e", "e", "S4"), 0);
    vs_chunk_since_free(s);
    vs_chunk_since_free(NULL);
    /* a deleted chunk no longer counts: e is gone */
    struct vs_writer *w = NULL;
    struct vs_writer_opts o = {NULL, 0};
    CHECK_EQ_INT(vs_writer_open(path, &o, &w, &d), VS_OK);
    int found = 0;
    if (w) {
        CHECK_EQ_INT(vs_writer_delete(w, "e#0", &found, &d), VS_OK);
        CHECK_EQ_INT(vs_writer_commit(w, &d), VS_OK);
        vs_writer_close(w);
    }
    CHECK_EQ_INT(vs_chunk_since_open(path, &s, &d), VS_OK);
    CHECK_EQ_INT(vs_chunk_since_unchanged(s, "d/e", "e", "S4"), 0);
    vs_chunk_since_free(s);
    /* the sync view knows the documents and one stamp of each */
    struct vs_store *st = NULL;
    struct vs_sync *y = NULL;
    CHECK_EQ_INT(vs_store_open(path, &st, &d), VS_OK);
    CHECK_EQ_INT(vs_sync_new(st, 1, &y, &d), VS_OK);
    if (y) {
        CHECK(vs_sync_has_doc(y, "a") && vs_sync_has_doc(y, "c"));
        CHECK(!vs_sync_has_doc(y, "e") && !vs_sync_has_doc(y, "z"));
        CHECK_EQ_STR(vs_sync_doc_stamp(y, "a"), "S1");
        CHECK(vs_sync_doc_stamp(y, "c") == NULL);
    }
    vs_sync_free(y);
    vs_store_close(st);
    /* no store; not a store */
    vs_diag_clear(&d);
    snprintf(path, sizeof path, "%s/none.vs", root);
    CHECK_EQ_INT(vs_chunk_since_open(path, &s, &d), VS_E_NOSTORE);
    CHECK(s == NULL);
    json_t *k = vs_chunk_keep_record("a.md", "docs/a.md");
    char *t = json_dumps(k, JSON_COMPACT | JSON_PRESERVE_ORDER);
    CHECK_EQ_STR(t, "{\"op\":\"keep\",\"doc_id\":\"a.md\",\"source\":\"docs/a.md\"}");
    free(t);
    json_decref(k);
}

int main(void)
{
    if (vs_test_tmpdir(root, sizeof root, "since") != 0)
        return 1;
    RUN(test_stamp);
    RUN(test_since_view);
    vs_test_rmtree(root);
    return vs_test_done();
}
