/* test_chunk_job.c: the document loop of a vs-chunk run
 * (lib/chunk_job.c). */
#include "test.h"
#include "vs_internal.h"
#include "vs_chunk_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char root[256];

struct log {
    char out[4096]; /* written records, one "id|doc_id|op" line each */
    char notes[1024];
    int warnings, writes, progress, fail_after;
};

static int write_rec(const json_t *rec, void *arg)
{
    struct log *l = arg;
    if (l->fail_after && l->writes >= l->fail_after)
        return VS_E_NOSPC;
    l->writes++;
    const char *op = json_string_value(json_object_get(rec, "op"));
    const char *id = json_string_value(json_object_get(rec, "id"));
    const char *doc = json_string_value(json_object_get(rec, "doc_id"));
    size_t n = strlen(l->out);
    snprintf(l->out + n, sizeof l->out - n, "%s|%s|%s\n", id ? id : "-", doc ? doc : "-",
             op ? op : "-");
    return VS_OK;
}

static void note(struct log *l, const char *what)
{
    size_t n = strlen(l->notes);
    snprintf(l->notes + n, sizeof l->notes - n, "%s\n", what);
}

static void warn(int st, const struct vs_diag *d, void *arg)
{
    struct log *l = arg;
    char b[600];
    const char *base = strrchr(d->file, '/');
    snprintf(b, sizeof b, "warn %s %s:%ld", vs_status_name(st), base ? base + 1 : d->file,
             d->line);
    note(l, b);
    l->warnings++;
}

static void info(int level, const char *path, const char *what, void *arg)
{
    char b[600];
    const char *base = strrchr(path, '/');
    snprintf(b, sizeof b, "info%d %s: %s", level, base ? base + 1 : path, what);
    note(arg, b);
}

static void progress(long long chunks, void *arg)
{
    ((struct log *)arg)->progress = (int)chunks;
}

static void put(const char *dir, const char *name, const char *text)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static struct vs_chunk_options opts = {VS_SPLITTER_RECURSIVE, VS_CHUNK_CHARS, 1000, 0, 0, 0, NULL, NULL, NULL};

static struct vs_chunk_job *job_new(struct vs_chunker **ch, struct vs_walk_filter *f,
                                    int keep_going, const char *since, struct log *l,
                                    struct vs_diag *d)
{
    memset(l, 0, sizeof *l);
    struct vs_chunk_sink sink = {write_rec, warn, info, progress, l};
    struct vs_chunk_job *j = NULL;
    if (vs_chunker_new(&opts, ch, d) != VS_OK)
        return NULL;
    if (vs_chunk_job_new(*ch, &opts, f, NULL, keep_going, since, &sink, &j, d) != VS_OK) {
        vs_chunker_free(*ch);
        return NULL;
    }
    return j;
}

static void test_records(void)
{
    put(root, "r.jsonl", "{\"id\":\"r1\",\"text\":\"one\"}\n{\"id\":\"r2\"}\n{\"id\":\"r3\","
                         "\"text\":\"three\"}\n");
    char path[400], none[400];
    snprintf(path, sizeof path, "%s/r.jsonl", root);
    snprintf(none, sizeof none, "%s/none.jsonl", root);
    struct vs_walk_filter f = {NULL, 0, NULL, 0, 0, NULL};
    struct vs_chunker *ch;
    struct log l;
    struct vs_diag d;
    vs_diag_clear(&d);
    /* without keep_going a bad record stops the run at its line */
    struct vs_chunk_job *j = job_new(&ch, &f, 0, NULL, &l, &d);
    CHECK(j != NULL);
    if (!j)
        return;
    CHECK_EQ_INT(vs_chunk_job_records(j, path, &d), VS_E_FIELD);
    CHECK_EQ_INT((int)d.line, 2);
    CHECK_EQ_STR(d.field, "text");
    CHECK_EQ_STR(l.out, "r1#0|r1|-\n");
    CHECK(vs_chunk_job_counts(j)->docs == 1 && vs_chunk_job_counts(j)->chunks == 1);
    /* a file that does not open is skipped with a warning */
    CHECK_EQ_INT(vs_chunk_job_records(j, none, &d), VS_OK);
    CHECK_EQ_STR(l.notes, "warn io none.jsonl:0\n");
    CHECK_EQ_INT((int)vs_chunk_job_counts(j)->files_skipped, 1);
    vs_chunk_job_free(j);
    vs_chunker_free(ch);

    /* with keep_going it is a warning */
    j = job_new(&ch, &f, 1, NULL, &l, &d);
    if (!j)
        return;
    CHECK_EQ_INT(vs_chunk_job_records(j, path, &d), VS_OK);
    CHECK_EQ_STR(l.out, "r1#0|r1|-\nr3#0|r3|-\n");
    CHECK_EQ_STR(l.notes, "warn field r.jsonl:2\n");
    const struct vs_chunk_counts *c = vs_chunk_job_counts(j);
    CHECK(c->docs == 2 && c->chunks == 2 && c->records_skipped == 1 && c->bytes == 8);
    CHECK_EQ_INT(l.progress, 2);
    CHECK_EQ_INT(vs_chunk_job_finish(j, &d), VS_OK); /* no since: nothing more */
    CHECK_EQ_INT(l.writes, 2);
    vs_chunk_job_free(j);
    vs_chunker_free(ch);

    /* a failed write is fatal */
    j = job_new(&ch, &f, 1, NULL, &l, &d);
    if (!j)
        return;
    l.fail_after = 1;
    CHECK_EQ_INT(vs_chunk_job_records(j, path, &d), VS_E_NOSPC);
    CHECK_EQ_STR(d.detail, "write error on standard output");
    vs_chunk_job_free(j);
    vs_chunker_free(ch);
}

static void test_walk_and_since(void)
{
    char docs[400], store[400], a[500];
    snprintf(docs, sizeof docs, "%s/docs", root);
    snprintf(store, sizeof store, "%s/s.vs", root);
    snprintf(a, sizeof a, "%s/a.txt", docs);
    mkdir(docs, 0755);
    put(docs, "a.txt", "alpha text\n");
    put(docs, "b.md", "# B\n\nbeta text\n");
    put(docs, "c.ndjson", "{\"id\":\"c1\",\"text\":\"gamma\"}\n");
    put(docs, "d.txt", "\xff\xfe\x01"); /* a document name, binary bytes */
    put(docs, "e.png", "\x89PNG");         /* not a document: left out */
    struct vs_walk_filter f = {NULL, 0, NULL, 0, 0, NULL};
    struct vs_chunker *ch;
    struct log l;
    struct vs_diag d;
    vs_diag_clear(&d);
    /* no store yet: noted, every file is read */
    struct vs_chunk_job *j = job_new(&ch, &f, 0, store, &l, &d);
    if (!j)
        return;
    CHECK_EQ_INT(vs_chunk_job_path(j, docs, &d), VS_OK);
    CHECK_EQ_STR(l.out, "a.txt#0|a.txt|-\nb.md#0|b.md|-\nc1#0|c1|-\n");
    CHECK_EQ_STR(l.notes, "info1 s.vs: no store yet, every file is read\n"
                          "info2 a.txt: text\ninfo2 b.md: markdown\nwarn data d.txt:0\n"
                          "info2 e.png: left out: not a document format (--include reads it)\n");
    const struct vs_chunk_counts *c = vs_chunk_job_counts(j);
    CHECK(c->docs == 3 && c->files_skipped == 1 && c->files_unchanged == 0);
    CHECK_EQ_INT((int)c->files_left_out, 1);
    vs_chunk_job_free(j);
    vs_chunker_free(ch);
    /* a path that does not exist: a warning, a skipped file */
    char none[500];
    snprintf(none, sizeof none, "%s/none", root);
    j = job_new(&ch, &f, 0, NULL, &l, &d);
    if (!j)
        return;
    CHECK_EQ_INT(vs_chunk_job_path(j, none, &d), VS_OK);
    CHECK_EQ_INT(l.warnings, 1);
    CHECK_EQ_INT((int)vs_chunk_job_counts(j)->files_skipped, 1);
    vs_chunk_job_free(j);
    vs_chunker_free(ch);

    /* a store holding a.txt with its current stamp: a.txt is not read, its
     * keep marker comes at the end */
    char stamp[256];
    CHECK_EQ_INT(vs_chunk_stamp(a, &opts, stamp, sizeof stamp, &d), VS_OK);
    struct vs_store_settings ss = {0};
    ss.metric = VS_METRIC_COSINE;
    ss.normalize = 1;
    struct vs_writer_opts o = {&ss, 0};
    struct vs_writer *w = NULL;
    CHECK_EQ_INT(vs_writer_open(store, &o, &w, &d), VS_OK);
    if (!w)
        return;
    json_t *r = json_pack("{s:s,s:s,s:s,s:{s:s}}", "id", "a.txt#0", "doc_id", "a.txt",
                          "source", a, "metadata", "file_stamp", stamp);
    float v[2] = {1, 0};
    CHECK_EQ_INT(vs_writer_upsert(w, r, v, 2, &d), VS_OK);
    json_decref(r);
    CHECK_EQ_INT(vs_writer_commit(w, &d), VS_OK);
    vs_writer_close(w);
    const char *ex[] = {"d.txt"};
    f.exclude = ex;
    f.nexclude = 1;
    j = job_new(&ch, &f, 0, store, &l, &d);
    if (!j)
        return;
    CHECK_EQ_INT(vs_chunk_job_path(j, docs, &d), VS_OK);
    CHECK_EQ_STR(l.out, "b.md#0|b.md|-\nc1#0|c1|-\n");
    CHECK_EQ_INT((int)vs_chunk_job_counts(j)->files_unchanged, 1);
    CHECK_EQ_INT(vs_chunk_job_finish(j, &d), VS_OK);
    CHECK_EQ_STR(l.out, "b.md#0|b.md|-\nc1#0|c1|-\n-|a.txt|keep\n");
    /* a keep marker that cannot be written */
    l.fail_after = 1;
    CHECK_EQ_INT(vs_chunk_job_finish(j, &d), VS_E_NOSPC);
    CHECK_EQ_STR(d.detail, "write error on standard output");
    vs_chunk_job_free(j);
    vs_chunker_free(ch);
}

int main(void)
{
    if (vs_test_tmpdir(root, sizeof root, "chunk_job") != 0)
        return 1;
    RUN(test_records);
    RUN(test_walk_and_since);
    vs_test_rmtree(root);
    return vs_test_done();
}
