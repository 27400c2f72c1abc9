/* query_stream.c: feeding a struct vs_qtext from NDJSON query files, and
 * writing hit records as NDJSON, TREC run lines or text (vs_query_text.h). */
#include "vs_query_text.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vs_ndjson.h"

/* ---- streams of query records ------------------------------------------ */

int vs_qtext_finish(struct vs_qtext *t, const struct vs_qtext_sink *sink,
                    struct vs_qtext_totals *tot, struct vs_diag *d)
{
    uint64_t nh = 0, ne = 0;
    size_t n = vs_qtext_pending(t);
    int st = sink->write && vs_qtext_plain(t)
                 ? vs_qtext_run_text(t, sink->write, sink->arg, &nh, &ne, d)
                 : vs_qtext_run(t, sink->emit, sink->arg, &nh, &ne, d);
    tot->queries += n;
    tot->hits += nh;
    tot->empty += ne;
    if (sink->progress)
        sink->progress(tot, sink->arg);
    return st;
}

int vs_qtext_stream(struct vs_qtext *t, const char *path, int keep_going,
                    const struct vs_qtext_sink *sink,
                    struct vs_qtext_totals *tot, struct vs_diag *d)
{
    struct vs_ndjson_reader *r;
    int st = vs_ndjson_open(path, 0, &r, d);
    if (st != VS_OK)
        return st;
    for (;;) {
        json_t *rec;
        int scanned;
        vs_diag_clear(d);
        st = vs_ndjson_read_fast(r, vs_qtext_scan_line, t, &rec, &scanned, d);
        if (st == VS_OK && !rec && !scanned)
            break;
        if (st == VS_OK) {
            if (scanned) {
                st = vs_qtext_add_scanned(t, d);
            } else {
                st = vs_qtext_add(t, rec, d);
                json_decref(rec);
            }
            if (st != VS_OK)
                vs_diag_where(d, vs_ndjson_name(r), vs_ndjson_line(r));
        }
        if (st != VS_OK && keep_going && vs_status_exit(st) == VS_EXIT_DATA) {
            if (sink->warn)
                sink->warn(st, d, sink->arg);
            tot->skipped++;
            st = VS_OK;
            continue;
        }
        if (st != VS_OK) {
            /* answer the good queries read before the bad one first */
            struct vs_diag d2;
            vs_diag_clear(&d2);
            int st2 = vs_qtext_finish(t, sink, tot, &d2);
            if (st2 != VS_OK && vs_status_exit(st2) > vs_status_exit(st)) {
                st = st2;
                if (d)
                    *d = d2;
            }
            break;
        }
        if (vs_qtext_full(t) && (st = vs_qtext_finish(t, sink, tot, d)) != VS_OK)
            break;
    }
    vs_ndjson_close(r);
    return st;
}

/* ---- the stream on threads of our own ----------------------------------
 *
 * Each thread (a worker) owns a vs_qtext (t or a sibling). In turn, under
 * rmu, it takes the next batch number and reads up to a batch of records
 * into its vs_qtext; then it searches the batch and formats its hits into
 * its vs_query's buffer with no lock held; then it waits on cv for its turn
 * (next_out == its batch number) and writes. A batch that fails stops the
 * stream: later batches, already read or searched, are dropped unwritten,
 * so the output is that of the serial vs_qtext_stream. */

struct pipe {
    pthread_mutex_t rmu;      /* the reader, next_seq, eof */
    struct vs_ndjson_reader *r;
    uint64_t next_seq;        /* batch numbers handed out */
    int eof;                  /* nothing more to read (end, or a read error) */
    pthread_mutex_t mu;       /* next_out, stop, st, d, cv */
    pthread_cond_t cv;
    uint64_t next_out;        /* the batch whose turn it is to write */
    int stop;                 /* a batch failed: later ones are dropped */
    int st;                   /* the first failure, in batch order */
    struct vs_diag d;
    int keep_going;
    const struct vs_qtext_sink *sink;
    struct vs_qtext_totals *tot; /* touched only by the thread whose turn it is */
};

struct skipped {              /* a bad record skipped with keep_going */
    int st;
    struct vs_diag d;
};

struct worker {
    struct pipe *pp;
    struct vs_qtext *t;
    struct skipped *sk;
    size_t nsk, skcap;
    const char *buf;          /* the hits vs_qtext_run_text formatted */
    size_t len, nrec;
    pthread_t th;
};

static int capture(const char *buf, size_t len, size_t nrec, void *arg)
{
    struct worker *w = arg;
    w->buf = buf;
    w->len = len;
    w->nrec = nrec;
    return VS_OK;
}

static int discard(const json_t *hit, void *arg)
{
    (void)hit;
    (void)arg;
    return VS_OK;
}

/* Read the next batch into w->t (under pp->rmu): its number in *seq, the
 * status of the record that ended it (VS_OK at a full batch or the end)
 * with rd. Returns 0 when there was nothing left to take. */
static int read_batch(struct worker *w, uint64_t *seq, int *rst, struct vs_diag *rd)
{
    struct pipe *pp = w->pp;
    pthread_mutex_lock(&pp->rmu);
    if (pp->eof || __atomic_load_n(&pp->stop, __ATOMIC_ACQUIRE)) {
        pthread_mutex_unlock(&pp->rmu);
        return 0;
    }
    *seq = pp->next_seq++;
    *rst = VS_OK;
    w->nsk = 0;
    while (!vs_qtext_full(w->t)) {
        json_t *rec;
        int scanned;
        vs_diag_clear(rd);
        int st = vs_ndjson_read_fast(pp->r, vs_qtext_scan_line, w->t, &rec, &scanned, rd);
        if (st == VS_OK && !rec && !scanned) {
            pp->eof = 1;
            break;
        }
        if (st == VS_OK) {
            if (scanned) {
                st = vs_qtext_add_scanned(w->t, rd);
            } else {
                st = vs_qtext_add(w->t, rec, rd);
                json_decref(rec);
            }
            if (st != VS_OK)
                vs_diag_where(rd, vs_ndjson_name(pp->r), vs_ndjson_line(pp->r));
        }
        if (st != VS_OK && pp->keep_going && vs_status_exit(st) == VS_EXIT_DATA) {
            if (w->nsk == w->skcap) {
                size_t cap = w->skcap ? 2 * w->skcap : 8;
                struct skipped *p = realloc(w->sk, cap * sizeof *p);
                if (!p) {
                    *rst = vs_diag_set(rd, VS_E_NOMEM, "out of memory");
                    pp->eof = 1;
                    break;
                }
                w->sk = p;
                w->skcap = cap;
            }
            w->sk[w->nsk++] = (struct skipped){st, *rd};
            continue;
        }
        if (st != VS_OK) {
            *rst = st;
            pp->eof = 1;
            break;
        }
    }
    pthread_mutex_unlock(&pp->rmu);
    return 1;
}

/* One batch in its turn: warnings, hits, totals, progress; the status
 * that stops the stream (VS_OK: go on) with d. */
static int write_batch(struct worker *w, size_t n, int plain, int sst, struct vs_diag *sd,
                       int rst, struct vs_diag *rd, uint64_t nh, uint64_t ne, struct vs_diag *d)
{
    struct pipe *pp = w->pp;
    const struct vs_qtext_sink *sink = pp->sink;
    for (size_t i = 0; i < w->nsk; i++) {
        if (sink->warn)
            sink->warn(w->sk[i].st, &w->sk[i].d, sink->arg);
        pp->tot->skipped++;
    }
    if (plain) {
        if (w->nrec) {
            int st2 = sink->write(w->buf, w->len, w->nrec, sink->arg);
            if (sst == VS_OK && st2 != VS_OK) {
                sst = st2;
                vs_diag_clear(sd);
            }
        }
    } else if (n) {
        sst = vs_qtext_run(w->t, sink->emit, sink->arg, &nh, &ne, sd);
    }
    if (n || rst == VS_OK) {
        pp->tot->queries += n;
        pp->tot->hits += nh;
        pp->tot->empty += ne;
        if (n && sink->progress)
            sink->progress(pp->tot, sink->arg);
    }
    /* a bad record: the good ones before it are answered first, and a
     * worse failure of their search wins (as vs_qtext_stream) */
    int st = rst;
    *d = *rd;
    if (sst != VS_OK && (st == VS_OK || vs_status_exit(sst) > vs_status_exit(st))) {
        st = sst;
        *d = *sd;
    }
    return st;
}

/* Search batch seq (read by read_batch with rst and rd), wait for its
 * turn, write it, and pass the turn on. */
static void run_batch(struct worker *w, uint64_t seq, int rst, struct vs_diag *rd)
{
    struct pipe *pp = w->pp;
    struct vs_diag sd, d;
    size_t n = vs_qtext_pending(w->t);
    uint64_t nh = 0, ne = 0;
    int plain = pp->sink->write && vs_qtext_plain(w->t);
    int sst = VS_OK;
    vs_diag_clear(&sd);
    vs_diag_clear(&d);
    w->nrec = 0;
    if (plain && n) /* search and format now, write in turn */
        sst = vs_qtext_run_text(w->t, capture, w, &nh, &ne, &sd);
    pthread_mutex_lock(&pp->mu);
    while (pp->next_out != seq)
        pthread_cond_wait(&pp->cv, &pp->mu);
    int stopped = pp->stop;
    pthread_mutex_unlock(&pp->mu);
    int st = VS_OK;
    if (!stopped)
        st = write_batch(w, n, plain, sst, &sd, rst, rd, nh, ne, &d);
    else if (!plain && n) /* dropped: nothing of it is written */
        (void)vs_qtext_run(w->t, discard, NULL, NULL, NULL, &sd);
    pthread_mutex_lock(&pp->mu);
    if (st != VS_OK) {
        pp->st = st;
        pp->d = d;
        __atomic_store_n(&pp->stop, 1, __ATOMIC_RELEASE);
    }
    pp->next_out++;
    pthread_cond_broadcast(&pp->cv);
    pthread_mutex_unlock(&pp->mu);
}

static void *work(void *arg)
{
    struct worker *w = arg;
    uint64_t seq;
    int rst;
    struct vs_diag rd;
    while (read_batch(w, &seq, &rst, &rd))
        run_batch(w, seq, rst, &rd);
    return NULL;
}

int vs_qtext_stream_threads(struct vs_qtext *t, const char *path, int keep_going,
                            int nthreads, const struct vs_qtext_sink *sink,
                            struct vs_qtext_totals *tot, struct vs_diag *d)
{
    if (nthreads > vs_qtext_slots(t))
        nthreads = vs_qtext_slots(t);
    if (nthreads <= 1)
        return vs_qtext_stream(t, path, keep_going, sink, tot, d);
    int st = VS_OK;
    if (vs_qtext_pending(t) && (st = vs_qtext_finish(t, sink, tot, d)) != VS_OK)
        return st;
    struct pipe pp;
    memset(&pp, 0, sizeof pp);
    if ((st = vs_ndjson_open(path, 0, &pp.r, d)) != VS_OK)
        return st;
    struct worker *w = calloc((size_t)nthreads, sizeof *w);
    if (!w) {
        vs_ndjson_close(pp.r);
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    }
    pthread_mutex_init(&pp.rmu, NULL);
    pthread_mutex_init(&pp.mu, NULL);
    pthread_cond_init(&pp.cv, NULL);
    pp.keep_going = keep_going;
    pp.sink = sink;
    pp.tot = tot;
    int nw = 1, started = 1;
    w[0] = (struct worker){.pp = &pp, .t = t};
    /* the first batch; when it is the whole file, it is searched on
     * OpenMP threads within the batch (one query on a large exact store) */
    uint64_t seq;
    int rst;
    struct vs_diag rd;
    int first = read_batch(&w[0], &seq, &rst, &rd);
    if (first && !pp.eof) {
        vs_qtext_set_slot(t, 0);
        /* a sibling or thread that cannot be made leaves its share to
         * the others */
        struct vs_diag sd;
        for (; nw < nthreads; nw++) {
            w[nw].pp = &pp;
            if (vs_qtext_sibling(t, nw, &w[nw].t, &sd) != VS_OK)
                break;
        }
        for (; started < nw; started++)
            if (pthread_create(&w[started].th, NULL, work, &w[started]) != 0)
                break;
    }
    if (first) {
        run_batch(&w[0], seq, rst, &rd);
        work(&w[0]);
    }
    for (int i = 1; i < started; i++)
        pthread_join(w[i].th, NULL);
    if (st == VS_OK && pp.st != VS_OK) {
        st = pp.st;
        /* a sink's own failure (the writer's TREC refusal) leaves pp.d
         * blank: the sink has described it in the caller's diag already */
        if (d && (pp.d.detail[0] || pp.d.field[0] || pp.d.file[0]))
            *d = pp.d;
    }
    for (int i = 1; i < nw; i++) {
        vs_qtext_absorb(t, w[i].t);
        vs_qtext_free(w[i].t);
    }
    for (int i = 0; i < nw; i++)
        free(w[i].sk);
    free(w);
    vs_qtext_set_slot(t, -1);
    pthread_cond_destroy(&pp.cv);
    pthread_mutex_destroy(&pp.mu);
    pthread_mutex_destroy(&pp.rmu);
    vs_ndjson_close(pp.r);
    return st;
}

int vs_qtext_ask(struct vs_qtext *t, const char *const *texts, size_t n,
                 const struct vs_qtext_sink *sink, struct vs_qtext_totals *tot,
                 struct vs_diag *d)
{
    int st = VS_OK;
    for (size_t i = 0; i < n && st == VS_OK; i++) {
        char qid[32];
        snprintf(qid, sizeof qid, "q%zu", i + 1);
        json_t *rec = json_pack("{s:s,s:s}", "id", qid, "text", texts[i]);
        if (!rec)
            return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        vs_diag_clear(d);
        st = vs_qtext_add(t, rec, d);
        json_decref(rec);
        if (st != VS_OK) {
            char where[64];
            snprintf(where, sizeof where, "option --query %zu", i + 1);
            vs_diag_where(d, where, 0);
            break;
        }
        if (vs_qtext_full(t))
            st = vs_qtext_finish(t, sink, tot, d);
    }
    return st;
}

json_t *vs_qtext_stats_json(struct vs_qtext *t, const struct vs_qtext_totals *tot)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    struct vs_query *vq = t ? vs_qtext_vector(t) : NULL;
    json_object_set_new(o, "queries", json_integer((json_int_t)tot->queries));
    json_object_set_new(o, "hits", json_integer((json_int_t)tot->hits));
    json_object_set_new(o, "empty_queries", json_integer((json_int_t)tot->empty));
    json_object_set_new(o, "skipped", json_integer((json_int_t)tot->skipped));
    json_object_set_new(o, "k_shortfalls",
                        json_integer(t ? (json_int_t)vs_qtext_shortfalls(t) : 0));
    json_object_set_new(o, "distance_computations",
                        json_integer(vq ? (json_int_t)vs_query_distances(vq) : 0));
    json_object_set_new(o, "kernel", json_string(vq ? vs_query_kernel(vq) : "none"));
    return o;
}

/* ---- writing hit records ----------------------------------------------- */

int vs_query_format_parse(const char *name, enum vs_query_format *out)
{
    if (strcmp(name, "ndjson") == 0)
        *out = VS_QUERY_NDJSON;
    else if (strcmp(name, "trec") == 0)
        *out = VS_QUERY_TREC;
    else if (strcmp(name, "text") == 0)
        *out = VS_QUERY_TEXT;
    else
        return VS_E_USAGE;
    return VS_OK;
}

void vs_query_writer_init(struct vs_query_writer *w, enum vs_query_format f)
{
    memset(w, 0, sizeof *w);
    w->format = f;
}

/* The first 200 bytes of text on one line into line (>= 201 bytes):
 * whitespace runs collapsed, never ending inside a UTF-8 sequence, trailing
 * spaces dropped; returns 1 when the text was cut. */
static int snippet(const char *text, char *line)
{
    size_t n = 0;
    int space = 1, cut = 0;
    for (const char *p = text; *p; p++) {
        int ws = *p == ' ' || *p == '\n' || *p == '\t' || *p == '\r';
        if (ws && space)
            continue;
        if (n == 200) {
            cut = 1;
            break;
        }
        line[n++] = ws ? ' ' : *p;
        space = ws;
    }
    if (cut) { /* never end inside a UTF-8 sequence */
        size_t k = n;
        while (k > 0 && ((unsigned char)line[k - 1] & 0xC0) == 0x80)
            k--;
        if (k > 0 && ((unsigned char)line[k - 1] & 0x80)) {
            unsigned char lead = (unsigned char)line[k - 1];
            size_t len = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
            if (n - (k - 1) < len)
                n = k - 1;
        }
    }
    while (n > 0 && line[n - 1] == ' ')
        n--;
    line[n] = '\0';
    return cut;
}

static int put_text(struct vs_query_writer *w, FILE *fp, const json_t *hit)
{
    const char *qid = json_string_value(json_object_get(hit, "qid"));
    const char *id = json_string_value(json_object_get(hit, "id"));
    const char *text = json_string_value(json_object_get(hit, "text"));
    if (!qid || !id) /* an explain-only record of a query without hits */
        return VS_OK;
    if (strcmp(qid, w->qid) != 0) {
        snprintf(w->qid, sizeof w->qid, "%s", qid);
        if (fprintf(fp, "\n%s\n", qid) < 0)
            return vs_status_from_errno(errno);
    }
    /* six significant digits: enough to tell hits apart by eye, and the same
     * on every host (the last digits of a float32 score depend on the SIMD
     * kernel's summation order: AVX2 and AVX-512 differ by an ulp or two) */
    char score[40];
    snprintf(score, sizeof score, "%.6g",
             (double)(float)json_number_value(json_object_get(hit, "score")));
    if (fprintf(fp, "%3lld. %-10s %s\n",
                (long long)json_integer_value(json_object_get(hit, "rank")), score, id) < 0)
        return vs_status_from_errno(errno);
    if (text) {
        char line[256];
        int cut = snippet(text, line);
        if (fprintf(fp, "     %s%s\n", line, cut ? "..." : "") < 0)
            return vs_status_from_errno(errno);
    }
    return VS_OK;
}

/* trec_eval splits a run line on ASCII whitespace: a qid or id can be one
 * of its words only when it is not empty and holds no space or control
 * character (there is no escape in the format, so such ids are refused) */
static int trec_word(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7f)
            return 0;
    return 1;
}

/* s in double quotes on one line for a message, control characters and
 * quotes escaped, cut to fit cap */
static void quoted(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    out[n++] = '"';
    for (; *s && n + 8 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n' || c == '\t' || c == '\r' || c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = c == '\n' ? 'n' : c == '\t' ? 't' : c == '\r' ? 'r' : (char)c;
        } else if (c < ' ' || c == 0x7f) {
            n += (size_t)snprintf(out + n, cap - n, "\\x%02x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    if (*s)
        n += (size_t)snprintf(out + n, cap - n, "...");
    out[n++] = '"';
    out[n] = '\0';
}

int vs_query_writer_put(struct vs_query_writer *w, FILE *fp, const json_t *hit,
                        int flush)
{
    if (w->format == VS_QUERY_NDJSON)
        return vs_ndjson_write(fp, hit, flush);
    if (w->format == VS_QUERY_TEXT) {
        int st = put_text(w, fp, hit);
        if (st == VS_OK && flush && fflush(fp) != 0)
            st = vs_status_from_errno(errno);
        return st;
    }
    const char *qid = json_string_value(json_object_get(hit, "qid"));
    const char *id = json_string_value(json_object_get(hit, "id"));
    if (!qid || !id) /* an explain-only record of a query without hits */
        return VS_OK;
    int qok = trec_word(qid), iok = trec_word(id);
    if (!qok || !iok) {
        if (w->d) {
            char shown[256];
            quoted(qok ? id : qid, shown, sizeof shown);
            vs_diag_field(w->d, qok ? "id" : "qid");
            vs_diag_set(w->d, VS_E_DATA,
                        "%s cannot be written in TREC format (empty, or holds whitespace "
                        "or a control character); use --format ndjson", shown);
        }
        return VS_E_DATA;
    }
    char score[40];
    vs_float_format(score, sizeof score,
                    (float)json_number_value(json_object_get(hit, "score")));
    if (fprintf(fp, "%s Q0 %s %lld %s vecstore\n", qid, id,
                (long long)json_integer_value(json_object_get(hit, "rank")), score) < 0)
        return vs_status_from_errno(errno);
    if (flush && fflush(fp) != 0)
        return vs_status_from_errno(errno);
    return VS_OK;
}
