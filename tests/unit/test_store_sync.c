/* test_store_sync.c: the content digest and the sync view (lib/store_sync.c). */
#include "test.h"
#include "vs_internal.h"
#include "vs_store_sync.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char root[256];
static int nstore;

static const char *newpath(void)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/s%d.vs", root, nstore++);
    return p;
}

static json_t *mkrec(const char *id, const char *doc, const char *src)
{
    return json_pack("{s:s,s:s,s:s,s:s}", "id", id, "doc_id", doc, "source", src,
                     "text", id);
}

/* Write the records id[i] (document doc[i], vector {1, i, 2}) in order. */
static void fill(const char *path, int n, const char *const *ids,
                 const char *const *docs, int compact)
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
        json_t *r = mkrec(ids[i], docs[i], "d/x");
        float v[3] = {1, (float)(ids[i][0] - 'a'), 2};
        CHECK_EQ_INT(vs_writer_upsert(w, r, v, 3, &d), VS_OK);
        json_decref(r);
        if (i == 0)
            CHECK_EQ_INT(vs_writer_commit(w, &d), VS_OK);
    }
    if (w)
        CHECK_EQ_INT(vs_writer_commit(w, &d), VS_OK);
    if (w && compact)
        CHECK_EQ_INT(vs_writer_compact(w, &d), VS_OK);
    vs_writer_close(w);
}

static void digest_of(const char *path, char hex[33])
{
    struct vs_store *s = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    hex[0] = 0;
    CHECK_EQ_INT(vs_store_open(path, &s, &d), VS_OK);
    if (s)
        CHECK_EQ_INT(vs_store_digest(s, hex, &d), VS_OK);
    vs_store_close(s);
}

static void test_digest_order_and_layout(void)
{
    const char *ids1[] = {"a", "b", "c"}, *docs1[] = {"A", "B", "C"};
    const char *ids2[] = {"c", "a", "b"}, *docs2[] = {"C", "A", "B"};
    const char *ids3[] = {"a", "b", "d"}, *docs3[] = {"A", "B", "D"};
    char h1[33], h2[33], h3[33], h4[33];
    const char *p1 = newpath();
    fill(p1, 3, ids1, docs1, 0);
    digest_of(p1, h1);
    const char *p2 = newpath();
    fill(p2, 3, ids2, docs2, 1);
    digest_of(p2, h2);
    const char *p3 = newpath();
    fill(p3, 3, ids3, docs3, 0);
    digest_of(p3, h3);
    CHECK_EQ_INT((int)strlen(h1), 32);
    CHECK_EQ_STR(h1, h2); /* another order, segments and compaction */
    CHECK(strcmp(h1, h3) != 0);
    const char *p4 = newpath();
    struct vs_store_settings ss = {0};
    ss.normalize = 1;
    CHECK_EQ_INT(vs_store_create(p4, &ss, NULL), VS_OK); /* empty: a digest too */
    digest_of(p4, h4);
    CHECK_EQ_INT((int)strlen(h4), 32);
    CHECK(strcmp(h4, h1) != 0);
}

static void test_view_lookup_and_stale(void)
{
    const char *ids[] = {"a#0", "a#1", "b#0"}, *docs[] = {"a", "a", "b"};
    const char *p = newpath();
    fill(p, 3, ids, docs, 0);
    struct vs_store *s = NULL;
    struct vs_sync *y = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_store_open(p, &s, &d), VS_OK);
    CHECK_EQ_INT(vs_sync_new(s, 1, &y, &d), VS_OK);
    if (!y) {
        vs_store_close(s);
        return;
    }
    CHECK_EQ_INT((int)vs_sync_count(y), 3);
    /* the same record, vector scaled (the store normalises): unchanged */
    json_t *r = mkrec("a#0", "a", "d/x");
    float v[3] = {2, 0, 4};
    int live, same;
    CHECK_EQ_INT(vs_sync_lookup(y, r, v, 3, &live, &same, &d), VS_OK);
    CHECK(live && same);
    json_object_set_new(r, "text", json_string("other"));
    CHECK_EQ_INT(vs_sync_lookup(y, r, v, 3, &live, &same, &d), VS_OK);
    CHECK(live && !same);
    json_object_set_new(r, "id", json_string("z"));
    CHECK_EQ_INT(vs_sync_lookup(y, r, v, 3, &live, &same, &d), VS_OK);
    CHECK(!live && !same);
    json_decref(r);
    /* the run holds a#0 only: a#1 is stale (same document), b#0 only on sync */
    CHECK_EQ_INT(vs_sync_note(y, "a#0", "a", &d), VS_OK);
    CHECK(vs_sync_touched(y, "a#0"));
    for (size_t i = 0; i < vs_sync_count(y); i++) {
        const char *id = vs_sync_id(y, i);
        int want_doc = strcmp(id, "a#1") == 0;
        CHECK_EQ_INT(vs_sync_stale(y, i, 0, NULL), want_doc);
        CHECK_EQ_INT(vs_sync_stale(y, i, 1, NULL), want_doc || !strcmp(id, "b#0"));
        CHECK_EQ_INT(vs_sync_stale(y, i, 1, "e/"), want_doc);
        CHECK_EQ_STR(vs_sync_source(y, i), "d/x");
    }
    /* a kept document loses nothing */
    CHECK_EQ_INT(vs_sync_keep(y, "a", &d), VS_OK);
    for (size_t i = 0; i < vs_sync_count(y); i++)
        CHECK_EQ_INT(vs_sync_stale(y, i, 0, NULL), 0);
    vs_sync_free(y);
    vs_store_close(s);
    vs_sync_free(NULL);
}

int main(void)
{
    if (vs_test_tmpdir(root, sizeof root, "sync") != 0)
        return 1;
    RUN(test_digest_order_and_layout);
    RUN(test_view_lookup_and_stale);
    vs_test_rmtree(root);
    return vs_test_done();
}
