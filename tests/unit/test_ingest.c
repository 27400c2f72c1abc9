/* test_ingest.c: applying records as vs-ingest does, and its metrics
 * textfile (lib/ingest.c). */
#include "test.h"
#include "vs_internal.h"
#include "vs_ingest.h"
#include "vs_promfile.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char root[256];

struct dry_log {
    char lines[8][96];
    int n;
};

static int dry_note(const char *action, const char *id, const char *doc, void *arg,
                    struct vs_diag *d)
{
    (void)d;
    struct dry_log *l = arg;
    if (l->n < 8)
        snprintf(l->lines[l->n++], sizeof l->lines[0], "%s %s %s", action, id,
                 doc ? doc : "-");
    return VS_OK;
}

static json_t *rec(const char *id, const char *doc, const char *text)
{
    return json_pack("{s:s,s:s,s:s}", "id", id, "doc_id", doc, "text", text);
}

/* Apply one record to the writer w with a view of the store at path. */
static int apply1(struct vs_writer *w, struct vs_ingest_run *run, json_t *r, float x,
                  struct vs_ingest_counts *c, struct vs_diag *d)
{
    float v[3] = {1, x, 2};
    int st = vs_ingest_apply(w, r, v, 3, "m1", c, run, d);
    json_decref(r);
    return st;
}

static int open_run(const char *path, struct vs_store **s, struct vs_ingest_run *run,
                    struct vs_diag *d)
{
    *s = NULL;
    if (access(path, F_OK) == 0 && vs_store_open(path, s, d) != VS_OK)
        return -1;
    return vs_sync_new(*s, run->docs, &run->view, d);
}

static void test_apply_counts(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/a.vs", root);
    struct vs_store_settings ss = {0};
    ss.metric = VS_METRIC_COSINE;
    struct vs_writer_opts o = {&ss, 0};
    struct vs_diag d;
    vs_diag_clear(&d);
    struct vs_ingest_counts c = {0};
    struct vs_ingest_run run = {NULL, 0, 0, 1, dry_note, NULL};
    struct vs_store *s;
    CHECK_EQ_INT(open_run(path, &s, &run, &d), VS_OK);
    struct vs_writer *w = NULL;
    CHECK_EQ_INT(vs_writer_open(path, &o, &w, &d), VS_OK);
    if (!w)
        return;
    CHECK_EQ_INT(apply1(w, &run, rec("a#1", "a", "one"), 0, &c, &d), VS_OK);
    CHECK_EQ_INT(apply1(w, &run, rec("b#1", "b", "two"), 1, &c, &d), VS_OK);
    CHECK_EQ_INT(vs_writer_commit(w, &d), VS_OK);
    vs_writer_close(w);
    vs_sync_free(run.view);
    vs_store_close(s);
    CHECK(c.added == 2 && c.upserts == 2 && c.replaced == 0);

    /* second run: the same a#1 is unchanged, b#1 changes, a delete, a keep */
    memset(&c, 0, sizeof c);
    run.view = NULL;
    CHECK_EQ_INT(open_run(path, &s, &run, &d), VS_OK);
    CHECK_EQ_INT(vs_writer_open(path, &o, &w, &d), VS_OK);
    if (!w)
        return;
    CHECK_EQ_INT(apply1(w, &run, rec("a#1", "a", "one"), 0, &c, &d), VS_OK);
    CHECK_EQ_INT(apply1(w, &run, rec("b#1", "b", "two, edited"), 1, &c, &d), VS_OK);
    CHECK_EQ_INT(apply1(w, &run, json_pack("{s:s,s:s}", "op", "keep", "doc_id", "a"), 0,
                        &c, &d), VS_OK);
    CHECK_EQ_INT(apply1(w, &run, json_pack("{s:s,s:s}", "op", "delete", "id", "a#1"), 0,
                        &c, &d), VS_OK);
    CHECK(c.unchanged == 1 && c.replaced == 1 && c.added == 0 && c.kept == 1 &&
          c.deletes == 1);

    /* errors name the field */
    vs_diag_clear(&d);
    CHECK_EQ_INT(apply1(w, &run, json_pack("{s:s,s:s}", "op", "keep", "doc_id", "zz"), 0,
                        &c, &d), VS_E_DATA);
    CHECK_EQ_STR(d.field, "doc_id");
    vs_diag_clear(&d);
    CHECK_EQ_INT(apply1(w, &run, json_pack("{s:s,s:s}", "op", "merge", "id", "x"), 0, &c,
                        &d), VS_E_FIELD);
    CHECK_EQ_STR(d.field, "op");
    vs_diag_clear(&d);
    CHECK_EQ_INT(apply1(w, &run, json_pack("{s:i}", "id", 3), 0, &c, &d), VS_E_FIELD);
    CHECK_EQ_STR(d.field, "id");
    vs_diag_clear(&d);
    json_t *novec = rec("c#1", "c", "x");
    CHECK_EQ_INT(vs_ingest_apply(w, novec, NULL, 0, NULL, &c, &run, &d), VS_E_FIELD);
    CHECK_EQ_STR(d.field, "vector");
    json_decref(novec);
    vs_writer_close(w); /* not committed: the store keeps generation 1 */
    vs_sync_free(run.view);
    vs_store_close(s);
}

static void test_dry_run(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/a.vs", root);
    struct vs_diag d;
    vs_diag_clear(&d);
    struct dry_log log = {{{0}}, 0};
    struct vs_ingest_counts c = {0};
    struct vs_ingest_run run = {NULL, 1, 0, 1, dry_note, &log};
    struct vs_store *s;
    CHECK_EQ_INT(open_run(path, &s, &run, &d), VS_OK);
    /* a dry run needs no writer */
    CHECK_EQ_INT(apply1(NULL, &run, rec("a#1", "a", "one"), 0, &c, &d), VS_OK);
    CHECK_EQ_INT(apply1(NULL, &run, rec("a#2", "a", "new"), 0, &c, &d), VS_OK);
    CHECK_EQ_INT(apply1(NULL, &run, rec("b#1", "b", "other"), 1, &c, &d), VS_OK);
    CHECK_EQ_INT(apply1(NULL, &run, json_pack("{s:s,s:s}", "op", "delete", "id", "b#1"), 0,
                        &c, &d), VS_OK);
    CHECK_EQ_INT(log.n, 2);
    CHECK_EQ_STR(log.lines[0], "add a#2 a");
    CHECK_EQ_STR(log.lines[1], "replace b#1 b");
    /* b#1 was touched by this run already: the delete is not another action */
    CHECK(c.unchanged == 1 && c.added == 1 && c.replaced == 1 && c.deletes == 0);
    vs_sync_free(run.view);
    vs_store_close(s);
}

static void test_metrics(void)
{
    char path[300], store[300], want[400];
    snprintf(path, sizeof path, "%s/m.prom", root);
    snprintf(store, sizeof store, "%s/a.vs", root);
    struct vs_diag d;
    vs_diag_clear(&d);
    struct vs_ingest_counts c = {0};
    c.records = 5;
    c.added = 2;
    c.kept = 1;
    CHECK_EQ_INT(vs_ingest_metrics_write(path, store, &c, 0, 1.5, &d), VS_OK);
    char *t = vs_test_slurp(path);
    CHECK(t != NULL);
    if (!t)
        return;
    snprintf(want, sizeof want,
             "vecstore_ingest_last_run_records{store=\"%s\",action=\"added\"} 2\n", store);
    CHECK(strstr(t, want) != NULL);
    snprintf(want, sizeof want, "vecstore_ingest_last_run_documents_kept{store=\"%s\"} 1\n",
             store);
    CHECK(strstr(t, want) != NULL);
    snprintf(want, sizeof want, "vecstore_store_generation{store=\"%s\"} 1\n", store);
    CHECK(strstr(t, want) != NULL);
    CHECK(strstr(t, "vecstore_ingest_last_success_timestamp_seconds{") != NULL);
    char lab[400];
    snprintf(lab, sizeof lab, "store=\"%s\"", store);
    double ok1 = 0, ok2 = 0, status = -1;
    CHECK(vs_promfile_value(path, "vecstore_ingest_last_success_timestamp_seconds", lab,
                            &ok1) == 1);
    /* a failed run keeps the last success time and records its status */
    CHECK_EQ_INT(vs_ingest_metrics_write(path, store, &c, 3, 0.2, &d), VS_OK);
    CHECK(vs_promfile_value(path, "vecstore_ingest_last_success_timestamp_seconds", lab,
                            &ok2) == 1);
    CHECK(ok1 == ok2 && ok1 > 1.7e9);
    CHECK(vs_promfile_value(path, "vecstore_ingest_last_run_exit_status", lab, &status) == 1);
    CHECK(status == 3);
    /* a store that does not open: no store samples */
    snprintf(store, sizeof store, "%s/none.vs", root);
    CHECK_EQ_INT(vs_ingest_metrics_write(path, store, &c, 4, 0.1, &d), VS_OK);
    t = vs_test_slurp(path);
    CHECK(t && !strstr(t, "vecstore_store_generation"));
    CHECK(t && !strstr(t, "vecstore_ingest_last_success_timestamp_seconds"));
}

int main(void)
{
    if (vs_test_tmpdir(root, sizeof root, "ingest") != 0)
        return 1;
    RUN(test_apply_counts);
    RUN(test_dry_run);
    RUN(test_metrics);
    vs_test_rmtree(root);
    return vs_test_done();
}
