/* query_shards.c: one set of queries over several shard stores, merged
 * (vs_qtext_shards, vs_query_text.h).
 *
 * Each shard is searched in turn, its hits written to a temporary marked
 * hit stream; the streams are merged by vs_query_merge_files. Standard
 * input is read once into a temporary file, since every shard reads the
 * queries again. A first pass over the queries notes each qid's own k, so
 * the merge keeps k hits of the union, not of one shard. */
#include "vs_query_text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "query_internal.h"
#include "vs_ndjson.h"

struct shard_out {
    FILE *fp;
    long long n;
    const struct vs_qtext_sink *user; /* warnings go to it from shard 0 only */
    int first;
};

static int write_hit(const json_t *hit, void *arg)
{
    struct shard_out *o = arg;
    o->n++;
    return vs_ndjson_write(o->fp, hit, 0);
}

static void warn_once(int status, const struct vs_diag *d, void *arg)
{
    struct shard_out *o = arg;
    if (o->first && o->user->warn)
        o->user->warn(status, d, o->user->arg);
}

/* Copy standard input to path. */
static int spool_stdin(const char *path, struct vs_diag *d)
{
    FILE *out = fopen(path, "wb");
    if (!out)
        return vs_diag_set(d, VS_E_IO, "%s: %s", path, strerror(errno));
    char buf[65536];
    size_t m;
    while ((m = fread(buf, 1, sizeof buf, stdin)) > 0)
        if (fwrite(buf, 1, m, out) != m)
            break;
    int bad = ferror(stdin) || ferror(out);
    if (fclose(out) != 0 || bad)
        return vs_diag_set(d, VS_E_IO, "<stdin>: cannot copy the queries to %s", path);
    return VS_OK;
}

/* kmap[qid] = the query's own k, for every query record of path that has
 * one (records that do not parse are left to the search, which reports
 * them). */
static int note_ks(const char *path, json_t *kmap, struct vs_diag *d)
{
    struct vs_ndjson_reader *r;
    int st = vs_ndjson_open(path, 0, &r, d);
    if (st != VS_OK)
        return st;
    for (;;) {
        json_t *rec = NULL, *qid = NULL;
        struct vs_diag d2;
        vs_diag_clear(&d2);
        int rs = vs_ndjson_read(r, &rec, &d2);
        if (rs == VS_OK && !rec)
            break;
        if (rs == VS_E_IO) {
            st = rs;
            *d = d2;
            break;
        }
        size_t k = 0;
        if (rec && json_object_get(rec, "k") &&
            vs_query_record_id_k(rec, 0, &qid, &k, &d2) == VS_OK)
            json_object_set_new(kmap, json_string_value(qid), json_integer((json_int_t)k));
        json_decref(qid);
        json_decref(rec);
    }
    vs_ndjson_close(r);
    return st;
}

/* Search one shard with every query into o (a marked hit stream). */
static int search_shard(const char *store, const struct vs_query_opts *qo,
                        const struct vs_qtext_opts *to, const char *const *files,
                        size_t n_files, const char *const *asks, size_t n_asks,
                        int keep_going, struct shard_out *o, struct vs_qtext_totals *tot,
                        struct vs_diag *d)
{
    struct vs_store *s = NULL;
    struct vs_qtext *q = NULL;
    int st = vs_store_open(store, &s, d);
    if (st == VS_OK)
        st = vs_qtext_new(s, qo, to, &q, d);
    json_t *m = vs_stream_begin("vs-query");
    if (st == VS_OK)
        st = m ? vs_ndjson_write(o->fp, m, 0) : vs_diag_set(d, VS_E_NOMEM, "out of memory");
    json_decref(m);
    const struct vs_qtext_sink sink = {write_hit, warn_once, NULL, o, NULL};
    if (st == VS_OK && n_asks)
        st = vs_qtext_ask(q, asks, n_asks, &sink, tot, d);
    for (size_t i = 0; st == VS_OK && i < n_files; i++)
        st = vs_qtext_stream(q, files[i], keep_going, &sink, tot, d);
    if (st == VS_OK)
        st = vs_qtext_finish(q, &sink, tot, d);
    if (st == VS_OK) {
        m = vs_stream_end("vs-query", o->n);
        st = m ? vs_ndjson_write(o->fp, m, 0) : vs_diag_set(d, VS_E_NOMEM, "out of memory");
        json_decref(m);
    }
    vs_qtext_free(q);
    vs_store_close(s);
    return st;
}

/* Count the merged queries that found nothing, then pass the hit on. */
struct merged {
    const struct vs_qtext_sink *sink;
    uint64_t empty;
};

static int emit_merged(const json_t *hit, void *arg)
{
    struct merged *m = arg;
    if (!json_object_get(hit, "id"))
        m->empty++;
    return m->sink->emit(hit, m->sink->arg);
}

int vs_qtext_shards(const char *const *stores, size_t n, const struct vs_query_opts *qo,
                    const struct vs_qtext_opts *to, const char *const *files, size_t n_files,
                    const char *const *asks, size_t n_asks, int keep_going,
                    const struct vs_qtext_sink *sink, struct vs_qtext_totals *tot,
                    uint64_t *incomparable, struct vs_diag *d)
{
    if (to->mmr >= 0)
        return vs_diag_set(d, VS_E_USAGE, "MMR over shards is not built: it needs every "
                           "candidate's vector in one place");
    if (to->group_by && strcmp(to->group_by, "doc_id") != 0)
        return vs_diag_set(d, VS_E_USAGE, "group-by '%.200s' over shards: only doc_id (a "
                           "document's chunks are in one shard; other groups span shards)",
                           to->group_by);
    char dir[4096];
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/vs-query-shards.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(dir))
        return vs_diag_set(d, VS_E_IO, "%s: %s", dir, strerror(errno));
    size_t nf = n_files ? n_files : n_asks ? 0 : 1;
    const char **fl = calloc(nf + 1, sizeof *fl);
    char **hits = calloc(n + 1, sizeof *hits);
    char qpath[4200];
    json_t *kmap = json_object();
    int st = fl && hits && kmap ? VS_OK : vs_diag_set(d, VS_E_NOMEM, "out of memory");
    snprintf(qpath, sizeof qpath, "%s/queries.ndjson", dir);
    char empty[4200];
    snprintf(empty, sizeof empty, "%s/empty.ndjson", dir);
    int spooled = 0;
    for (size_t i = 0; st == VS_OK && i < nf; i++) {
        fl[i] = n_files ? files[i] : "-";
        if (strcmp(fl[i], "-") != 0)
            continue;
        if (spooled) { /* stdin a second time: at its end already, as one reader */
            FILE *e = fopen(empty, "wb");
            st = e && fclose(e) == 0 ? VS_OK : vs_diag_set(d, VS_E_IO, "%s: %s", empty,
                                                            strerror(errno));
            fl[i] = empty;
        } else if ((st = spool_stdin(qpath, d)) == VS_OK) {
            fl[i] = qpath;
            spooled = 1;
        }
    }
    for (size_t i = 0; st == VS_OK && i < nf; i++)
        st = note_ks(fl[i], kmap, d);
    struct vs_qtext_totals shard_tot;
    for (size_t i = 0; st == VS_OK && i < n; i++) {
        hits[i] = malloc(4200);
        if (!hits[i]) {
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            break;
        }
        snprintf(hits[i], 4200, "%s/hits-%zu.ndjson", dir, i);
        struct shard_out o = {fopen(hits[i], "wb"), 0, sink, i == 0};
        if (!o.fp) {
            st = vs_diag_set(d, VS_E_IO, "%s: %s", hits[i], strerror(errno));
            break;
        }
        memset(&shard_tot, 0, sizeof shard_tot);
        st = search_shard(stores[i], qo, to, fl, nf, asks, n_asks, keep_going, &o,
                          &shard_tot, d);
        if (fclose(o.fp) != 0 && st == VS_OK)
            st = vs_diag_set(d, VS_E_IO, "%s: write failed", hits[i]);
        if (st != VS_OK && !d->file[0])
            vs_diag_where(d, stores[i], 0);
        if (i == 0)
            tot->skipped += shard_tot.skipped;
    }
    struct merged mg = {sink, 0};
    uint64_t nq = 0, nh = 0;
    /* the hit files are ours: the marking of the output follows the
     * queries' alone */
    struct vs_stream_tally before = *vs_stream_tally();
    if (st == VS_OK)
        st = vs_query_merge_own((const char *const *)hits, n, qo->k, kmap, &before,
                                emit_merged, &mg, &nq, &nh, incomparable, d);
    vs_stream_tally_restore(&before);
    tot->queries += nq;
    tot->hits += nh;
    tot->empty += mg.empty;
    if (st == VS_OK && sink->progress)
        sink->progress(tot, sink->arg);
    for (size_t i = 0; hits && i < n; i++) {
        if (hits[i])
            unlink(hits[i]);
        free(hits[i]);
    }
    unlink(qpath);
    unlink(empty);
    rmdir(dir);
    free(hits);
    free(fl);
    json_decref(kmap);
    return st;
}
