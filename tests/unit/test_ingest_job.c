/* test_ingest_job.c: the settings checks and the record loop of a
 * vs-ingest run (lib/ingest_job.c). */
#include "test.h"
#include "vs_internal.h"
#include "vs_ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char root[256];

static struct vs_ingest_config config(void)
{
    struct vs_ingest_config c = {NULL, NULL, NULL, NULL, NULL, -1, -1, 0};
    return c;
}

static void test_settings(void)
{
    struct vs_store_settings s;
    struct vs_diag d;
    vs_diag_clear(&d);
    struct vs_ingest_config c = config();
    CHECK_EQ_INT(vs_ingest_settings(&c, &s, &d), VS_OK);
    CHECK(s.metric == VS_METRIC_COSINE && s.normalize == 1);
    CHECK_EQ_STR(s.text_field, "text");
    CHECK(strstr(s.analyzer, "english") != NULL);
    CHECK(s.hnsw_m == 0 && s.hnsw_ef_construction == 0 && s.model[0] == '\0');

    c.metric = "dot";
    c.normalize = 1;
    c.hnsw_m = 16;
    c.model = "m1";
    c.analyzer = "none";
    c.text_field = "body";
    CHECK_EQ_INT(vs_ingest_settings(&c, &s, &d), VS_OK);
    CHECK(s.metric == VS_METRIC_DOT && s.normalize == 1);
    CHECK(s.hnsw_m == 16 && s.hnsw_ef_construction == 200);
    CHECK_EQ_STR(s.model, "m1");
    CHECK_EQ_STR(s.analyzer, "");
    CHECK_EQ_STR(s.text_field, "body");

    c = config();
    c.language = "french";
    CHECK_EQ_INT(vs_ingest_settings(&c, &s, &d), VS_OK);
    CHECK(strstr(s.analyzer, "french") != NULL);

    /* each error, with the message vs-ingest prints */
    c = config();
    c.metric = "manhattan";
    CHECK_EQ_INT(vs_ingest_settings(&c, &s, &d), VS_E_USAGE);
    CHECK_EQ_STR(d.detail, "unknown metric 'manhattan' (cosine, dot, l2)");
    c = config();
    c.ef_construction = 50;
    CHECK_EQ_INT(vs_ingest_settings(&c, &s, &d), VS_E_USAGE);
    CHECK_EQ_STR(d.detail, "--ef-construction needs --hnsw-m");
    char longname[200];
    memset(longname, 'x', 128);
    longname[128] = '\0';
    c = config();
    c.model = longname;
    CHECK_EQ_INT(vs_ingest_settings(&c, &s, &d), VS_E_USAGE);
    CHECK_EQ_STR(d.detail, "model name is too long (at most 127 bytes)");
    longname[127] = '\0';
    CHECK_EQ_INT(vs_ingest_settings(&c, &s, &d), VS_OK);
    c = config();
    c.text_field = "";
    CHECK_EQ_INT(vs_ingest_settings(&c, &s, &d), VS_E_USAGE);
    CHECK_EQ_STR(d.detail, "--text-field must have 1 to 63 bytes");
    c = config();
    c.analyzer = "none";
    c.language = "french";
    CHECK_EQ_INT(vs_ingest_settings(&c, &s, &d), VS_E_USAGE);
    CHECK_EQ_STR(d.detail, "--language needs a text index (not --analyzer none)");
    c = config();
    c.language = "klingon";
    CHECK_EQ_INT(vs_ingest_settings(&c, &s, &d), VS_E_USAGE);
    CHECK(strncmp(d.detail, "--language/--analyzer: ", 23) == 0);
    c = config();
    c.analyzer = "bogus=1";
    CHECK_EQ_INT(vs_ingest_settings(&c, &s, &d), VS_E_USAGE);
    CHECK(strncmp(d.detail, "--analyzer: ", 12) == 0);
}

static void test_check_store(void)
{
    struct vs_store_settings have, want;
    struct vs_diag d;
    struct vs_ingest_config c = config();
    CHECK_EQ_INT(vs_ingest_settings(&c, &have, NULL), VS_OK);
    vs_diag_clear(&d);
    /* nothing explicit: any store will do */
    c.metric = "l2";
    CHECK_EQ_INT(vs_ingest_settings(&c, &want, NULL), VS_OK);
    CHECK_EQ_INT(vs_ingest_check_store(&have, &want, &c, 0, 0, "S", &d), VS_OK);
    CHECK_EQ_INT(vs_ingest_check_store(&have, &want, &c, 1, 0, "S", &d), VS_E_MISMATCH);
    CHECK_EQ_STR(d.file, "S");
    CHECK_EQ_STR(d.detail, "option --metric is 'l2', the store uses 'cosine'");

    c = config();
    c.analyzer = "none";
    CHECK_EQ_INT(vs_ingest_settings(&c, &want, NULL), VS_OK);
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_ingest_check_store(&have, &want, &c, 0, 0, "S", &d), VS_OK);
    CHECK_EQ_INT(vs_ingest_check_store(&have, &want, &c, 0, 1, "S", &d), VS_E_MISMATCH);
    CHECK(strstr(d.detail, "ask for analyzer 'none' on field 'text'") != NULL);
    c = config();
    c.text_field = "body";
    CHECK_EQ_INT(vs_ingest_settings(&c, &want, NULL), VS_OK);
    CHECK_EQ_INT(vs_ingest_check_store(&have, &want, &c, 0, 1, "S", &d), VS_E_MISMATCH);
    CHECK(strstr(d.detail, "on field 'body', the store has") != NULL);
    c.text_field = NULL;
    CHECK_EQ_INT(vs_ingest_settings(&c, &want, NULL), VS_OK);
    CHECK_EQ_INT(vs_ingest_check_store(&have, &want, &c, 0, 1, "S", &d), VS_OK);

    c = config();
    c.hnsw_m = 8;
    CHECK_EQ_INT(vs_ingest_settings(&c, &want, NULL), VS_OK);
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_ingest_check_store(&have, &want, &c, 0, 0, "S", &d), VS_E_MISMATCH);
    CHECK_EQ_STR(d.detail, "options ask for HNSW M 8, ef_construction 200; the store has "
                           "no graphs");
    CHECK_EQ_INT(vs_ingest_check_store(&want, &want, &c, 0, 0, "S", &d), VS_OK);

    c = config();
    c.metric = "dot";
    CHECK_EQ_INT(vs_ingest_settings(&c, &have, NULL), VS_OK);
    c.normalize = 1;
    CHECK_EQ_INT(vs_ingest_settings(&c, &want, NULL), VS_OK);
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_ingest_check_store(&have, &want, &c, 0, 0, "S", &d), VS_E_MISMATCH);
    CHECK_EQ_STR(d.detail, "option --normalize given, the store does not normalise");
}

struct log {
    char text[1024];
    int warnings, progress;
    char stages[64];
};

static int dry(const char *action, const char *id, const char *doc, void *arg,
               struct vs_diag *d)
{
    (void)d;
    struct log *l = arg;
    size_t n = strlen(l->text);
    snprintf(l->text + n, sizeof l->text - n, "%s %s %s\n", action, id, doc ? doc : "-");
    return VS_OK;
}

static void warn(int st, const struct vs_diag *d, void *arg)
{
    struct log *l = arg;
    size_t n = strlen(l->text);
    snprintf(l->text + n, sizeof l->text - n, "warn %s %s:%ld %s\n", vs_status_name(st),
             strrchr(d->file, '/') ? strrchr(d->file, '/') + 1 : d->file, d->line, d->field);
    l->warnings++;
}

static void stage(const char *name, void *arg)
{
    struct log *l = arg;
    size_t n = strlen(l->stages);
    snprintf(l->stages + n, sizeof l->stages - n, "%s ", name);
}

static void progress(long long records, void *arg)
{
    struct log *l = arg;
    l->progress = (int)records;
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Run job over file into the store at path; the writer creates it. */
static int run(const char *store, const char *file, struct vs_ingest_job *job,
               struct log *l, struct vs_ingest_counts *c, struct vs_diag *d)
{
    struct vs_store_settings s;
    struct vs_ingest_config cfg = config();
    vs_ingest_settings(&cfg, &s, NULL);
    struct vs_writer_opts o = {job->dry_run ? NULL : &s, 0};
    struct vs_writer *w = NULL;
    memset(l, 0, sizeof *l);
    memset(c, 0, sizeof *c);
    vs_diag_clear(d);
    int st = vs_writer_open(store, &o, &w, d);
    if (st != VS_OK)
        return st;
    job->path = store;
    job->files = &file;
    job->nfiles = 1;
    struct vs_ingest_sink sink = {dry, warn, stage, progress, l};
    st = vs_ingest_job_run(w, job, &sink, c, d);
    vs_writer_close(w);
    return st;
}

static void test_job_run(void)
{
    char store[300], f1[300], f2[300], f3[300];
    snprintf(store, sizeof store, "%s/s.vs", root);
    snprintf(f1, sizeof f1, "%s/one.ndjson", root);
    snprintf(f2, sizeof f2, "%s/two.ndjson", root);
    snprintf(f3, sizeof f3, "%s/bad.ndjson", root);
    put(f1, "{\"id\":\"a#1\",\"doc_id\":\"a\",\"text\":\"one\",\"vector\":[1,0]}\n"
            "  \n"
            "{\"id\":\"a#2\",\"doc_id\":\"a\",\"text\":\"two\",\"vector\":[0,1]}\n"
            "{\"id\":\"b#1\",\"doc_id\":\"b\",\"text\":\"three\",\"vector\":[1,1]}\n");
    put(f2, "{\"id\":\"a#1\",\"doc_id\":\"a\",\"text\":\"one\",\"vector\":[1,0]}\n");
    put(f3, "{\"id\":\"c#1\",\"doc_id\":\"c\",\"text\":\"x\",\"vector\":[1,0]}\n"
            "{\"id\":\"c#2\",\"vector\":\"no\"}\n"
            "{\"id\":\"c#3\",\"doc_id\":\"c\",\"text\":\"y\",\"vector\":[0,1]}\n");
    struct log l;
    struct vs_ingest_counts c;
    struct vs_diag d;
    struct vs_ingest_job job = {0};
    job.commit_every = 2;
    job.model = "m1";
    CHECK_EQ_INT(run(store, f1, &job, &l, &c, &d), VS_OK);
    /* the blank line is not a record; commits after 2 records and at the end */
    CHECK(c.records == 3 && c.added == 3 && c.commits == 2);
    CHECK_EQ_STR(l.stages, "read commit ");
    CHECK_EQ_INT(l.progress, 3);
    struct vs_store *s;
    CHECK_EQ_INT(vs_store_open(store, &s, &d), VS_OK);
    CHECK(vs_store_count(s) == 3);
    vs_store_close(s);

    /* a dry run by document: a#1 unchanged, a#2 stale; b untouched */
    job = (struct vs_ingest_job){0};
    job.dry_run = 1;
    job.by_doc = 1;
    CHECK_EQ_INT(run(store, f2, &job, &l, &c, &d), VS_OK);
    CHECK_EQ_STR(l.text, "delete a#2 a\n");
    CHECK(c.unchanged == 1 && c.deletes == 1 && c.commits == 0);
    /* with sync, b is stale too */
    job.sync = 1;
    CHECK_EQ_INT(run(store, f2, &job, &l, &c, &d), VS_OK);
    CHECK_EQ_STR(l.text, "delete a#2 a\ndelete b#1 b\n");
    CHECK(c.deletes == 2);

    /* a bad record stops the run at its line, uncommitted */
    job = (struct vs_ingest_job){0};
    CHECK_EQ_INT(run(store, f3, &job, &l, &c, &d), VS_E_FIELD);
    CHECK(strstr(d.file, "bad.ndjson") != NULL);
    CHECK_EQ_INT((int)d.line, 2);
    CHECK_EQ_STR(d.field, "vector");
    CHECK(c.records == 2 && c.commits == 0);
    CHECK_EQ_STR(l.stages, "read commit ");
    /* with keep_going it is a warning and the rest is applied */
    job.keep_going = 1;
    CHECK_EQ_INT(run(store, f3, &job, &l, &c, &d), VS_OK);
    CHECK_EQ_INT(l.warnings, 1);
    CHECK_EQ_STR(l.text, "warn field bad.ndjson:2 vector\n");
    CHECK(c.records == 3 && c.skipped == 1 && c.added == 2 && c.commits == 1);
    CHECK_EQ_INT(vs_store_open(store, &s, &d), VS_OK);
    CHECK(vs_store_count(s) == 5);
    vs_store_close(s);

    /* a file that does not open */
    char none[300];
    snprintf(none, sizeof none, "%s/none.ndjson", root);
    CHECK(run(store, none, &job, &l, &c, &d) != VS_OK);
    CHECK_EQ_INT(c.records, 0);
}

int main(void)
{
    if (vs_test_tmpdir(root, sizeof root, "ingest_job") != 0)
        return 1;
    RUN(test_settings);
    RUN(test_check_store);
    RUN(test_job_run);
    vs_test_rmtree(root);
    return vs_test_done();
}
