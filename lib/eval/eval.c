/* eval.c: runs and qrels readers, trec_eval measures, results and output.
 *
 * The measures follow trec_eval 9 (usnistgov/trec_eval): hits are ranked by
 * score descending, ties by docno descending (strcmp); a qrels value < 0 is
 * "in the pool, not judged"; a document missing from the qrels is not
 * judged; relevant means rel >= rel_level; nDCG gains are the relevance
 * values (> 0) with a log2(rank + 1) discount.
 */
#include "eval_internal.h"
#include "vs_ndjson.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ------------------------------------------------------ */

int vs_eval_appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return VS_E_INTERNAL;
    if (*len + (size_t)n + 1 > *cap) {
        size_t nc = (*cap ? *cap : 256);
        while (nc < *len + (size_t)n + 1)
            nc *= 2;
        char *nb = realloc(*buf, nc);
        if (!nb)
            return VS_E_NOMEM;
        *buf = nb;
        *cap = nc;
    }
    va_start(ap, fmt);
    vsnprintf(*buf + *len, *cap - *len, fmt, ap);
    va_end(ap);
    *len += (size_t)n;
    return VS_OK;
}

/* Split a line on whitespace (or only tabs) into at most max fields, in
 * place. Returns the number of fields (max + 1 means "too many"). */
static int split_fields(char *s, char **f, int max, int tabs_only)
{
    int n = 0;
    char *p = s;
    if (tabs_only) {
        for (;;) {
            if (n == max)
                return max + 1;
            f[n++] = p;
            char *t = strchr(p, '\t');
            if (!t)
                break;
            *t = '\0';
            p = t + 1;
        }
        /* trim a trailing \r of the last field */
        size_t l = strlen(f[n - 1]);
        if (l && f[n - 1][l - 1] == '\r')
            f[n - 1][l - 1] = '\0';
        return n;
    }
    for (;;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        if (n == max)
            return max + 1;
        f[n++] = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (*p)
            *p++ = '\0';
    }
    return n;
}

static int parse_long_strict(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_double_strict(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static const char *first_nonspace(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)s[i]))
            return s + i;
    return NULL;
}

/* A string or integer field as text into buf; NULL when absent/wrong. */
static const char *id_field(const json_t *rec, const char *key, char *buf,
                            size_t size)
{
    const json_t *v = json_object_get(rec, key);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, size, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    return NULL;
}

/* ---- qrels -------------------------------------------------------------- */

struct qrel {
    char *qid;
    char *docno;
    long rel;
    long line;
};

struct qq {
    const char *qid;
    struct qrel *e; /* sorted by docno */
    size_t n;
};

struct vs_eval_qrels {
    const char *format;
    struct qrel *all;
    size_t n, cap;
    struct qq *q;
    size_t nq;
};

static int cmp_qrel(const void *a, const void *b)
{
    const struct qrel *x = a, *y = b;
    int c = strcmp(x->qid, y->qid);
    if (c)
        return c;
    c = strcmp(x->docno, y->docno);
    if (c)
        return c;
    return (x->line > y->line) - (x->line < y->line);
}

static int qrels_push(struct vs_eval_qrels *q, const char *qid,
                      const char *docno, long rel, long line)
{
    if (q->n == q->cap) {
        size_t nc = q->cap ? q->cap * 2 : 256;
        struct qrel *na = realloc(q->all, nc * sizeof *na);
        if (!na)
            return VS_E_NOMEM;
        q->all = na;
        q->cap = nc;
    }
    struct qrel *e = &q->all[q->n];
    e->qid = strdup(qid);
    e->docno = strdup(docno);
    if (!e->qid || !e->docno) {
        free(e->qid);
        free(e->docno);
        return VS_E_NOMEM;
    }
    e->rel = rel;
    e->line = line;
    q->n++;
    return VS_OK;
}

void vs_eval_qrels_free(struct vs_eval_qrels *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->n; i++) {
        free(q->all[i].qid);
        free(q->all[i].docno);
    }
    free(q->all);
    free(q->q);
    free(q);
}

size_t vs_eval_qrels_queries(const struct vs_eval_qrels *q) { return q ? q->nq : 0; }
const char *vs_eval_qrels_format(const struct vs_eval_qrels *q) { return q ? q->format : ""; }

static int qrels_line(struct vs_eval_qrels *q, char *line, size_t len,
                      long ln, struct vs_diag *d)
{
    char *f[5];
    char buf[2][32];
    if (strcmp(q->format, "ndjson") == 0) {
        json_t *rec = NULL;
        int st = vs_ndjson_parse(line, len, &rec, d);
        if (st != VS_OK)
            return st;
        const char *qid = id_field(rec, "qid", buf[0], sizeof buf[0]);
        const char *doc = id_field(rec, "id", buf[1], sizeof buf[1]);
        const json_t *rv = json_object_get(rec, "rel");
        if (!qid || !doc || !json_is_integer(rv)) {
            vs_diag_field(d, "%s", !qid ? "qid" : !doc ? "id" : "rel");
            json_decref(rec);
            return vs_diag_set(d, VS_E_FIELD, "a judgment needs string 'qid', "
                               "string 'id' and integer 'rel'");
        }
        st = qrels_push(q, qid, doc, (long)json_integer_value(rv), ln);
        json_decref(rec);
        return st;
    }
    int beir = strcmp(q->format, "beir") == 0;
    int n = split_fields(line, f, 4, beir);
    long rel;
    if (beir) {
        if (n != 3)
            return vs_diag_set(d, VS_E_DATA, "BEIR qrels line needs 3 tab-separated "
                               "fields (query-id, corpus-id, score), found %d", n);
        if (parse_long_strict(f[2], &rel))
            return vs_diag_set(d, VS_E_DATA, "relevance '%s' is not an integer", f[2]);
        return qrels_push(q, f[0], f[1], rel, ln);
    }
    if (n != 4)
        return vs_diag_set(d, VS_E_DATA, "TREC qrels line needs 4 fields "
                           "(qid iter docno rel), found %s", n > 4 ? "more" : n == 3 ? "3" : n == 2 ? "2" : "1");
    if (parse_long_strict(f[3], &rel))
        return vs_diag_set(d, VS_E_DATA, "relevance '%s' is not an integer", f[3]);
    return qrels_push(q, f[0], f[2], rel, ln);
}

int vs_eval_qrels_load(const char *path, struct vs_eval_qrels **out,
                       struct vs_diag *d)
{
    *out = NULL;
    struct vs_ndjson_reader *rd = NULL;
    struct vs_eval_qrels *q = calloc(1, sizeof *q);
    if (!q)
        return VS_E_NOMEM;
    int st = vs_ndjson_open(path, 0, &rd, d);
    if (st != VS_OK)
        goto fail;
    const char *line;
    size_t len;
    char *copy = NULL;
    for (;;) {
        st = vs_ndjson_read_line(rd, &line, &len, d);
        if (st != VS_OK || !line)
            break;
        const char *p = first_nonspace(line, len);
        if (!p || *p == '#')
            continue;
        long ln = vs_ndjson_line(rd);
        if (!q->format) {
            if (*p == '{')
                q->format = "ndjson";
            else {
                const char *t1 = memchr(line, '\t', len);
                const char *t2 = t1 ? memchr(t1 + 1, '\t', len - (size_t)(t1 + 1 - line)) : NULL;
                const char *t3 = t2 ? memchr(t2 + 1, '\t', len - (size_t)(t2 + 1 - line)) : NULL;
                if (t2 && !t3) {
                    q->format = "beir";
                    if (strncmp(p, "query-id", 8) == 0)
                        continue; /* the header */
                } else
                    q->format = "trec";
            }
        }
        free(copy);
        copy = strndup(line, len);
        if (!copy) {
            st = VS_E_NOMEM;
            break;
        }
        st = qrels_line(q, copy, len, ln, d);
        if (st != VS_OK) {
            vs_diag_where(d, vs_ndjson_name(rd), ln);
            break;
        }
    }
    free(copy);
    if (st != VS_OK)
        goto fail;
    if (!q->format)
        q->format = "trec";
    if (q->n)
        qsort(q->all, q->n, sizeof *q->all, cmp_qrel);
    for (size_t i = 1; i < q->n; i++)
        if (strcmp(q->all[i].qid, q->all[i - 1].qid) == 0 &&
            strcmp(q->all[i].docno, q->all[i - 1].docno) == 0) {
            vs_diag_where(d, vs_ndjson_name(rd), q->all[i].line);
            st = vs_diag_set(d, VS_E_DATA, "document '%s' judged twice for query "
                             "'%s' (first at line %ld)", q->all[i].docno,
                             q->all[i].qid, q->all[i - 1].line);
            goto fail;
        }
    for (size_t i = 0; i < q->n; i++)
        if (i == 0 || strcmp(q->all[i].qid, q->all[i - 1].qid) != 0)
            q->nq++;
    q->q = calloc(q->nq ? q->nq : 1, sizeof *q->q);
    if (!q->q) {
        st = VS_E_NOMEM;
        goto fail;
    }
    size_t k = 0;
    for (size_t i = 0; i < q->n; i++) {
        if (i == 0 || strcmp(q->all[i].qid, q->all[i - 1].qid) != 0) {
            q->q[k].qid = q->all[i].qid;
            q->q[k].e = &q->all[i];
            k++;
        }
        q->q[k - 1].n++;
    }
    vs_ndjson_close(rd);
    *out = q;
    return VS_OK;
fail:
    vs_ndjson_close(rd);
    vs_eval_qrels_free(q);
    return st;
}

/* ---- runs --------------------------------------------------------------- */

struct hitrow {
    char *qid;
    struct vs_eval_hit h;
};

static int cmp_hitrow(const void *a, const void *b)
{
    const struct hitrow *x = a, *y = b;
    int c = strcmp(x->qid, y->qid);
    if (c)
        return c;
    c = strcmp(x->h.docno, y->h.docno);
    if (c)
        return c;
    return (x->h.line > y->h.line) - (x->h.line < y->h.line);
}

/* trec_eval's ranking: score descending, then docno descending. */
static int cmp_trec_order(const void *a, const void *b)
{
    const struct vs_eval_hit *x = a, *y = b;
    if (x->score > y->score)
        return -1;
    if (x->score < y->score)
        return 1;
    return strcmp(y->docno, x->docno);
}

void vs_eval_run_free(struct vs_eval_run *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nq; i++)
        free(r->q[i].qid);
    for (size_t i = 0; i < r->nhits; i++)
        free(r->all[i].docno);
    free(r->all);
    free(r->q);
    free(r->name);
    free(r->runid);
    free(r);
}

const char *vs_eval_run_name(const struct vs_eval_run *r) { return r->name; }
const char *vs_eval_run_id(const struct vs_eval_run *r) { return r->runid ? r->runid : r->name; }
size_t vs_eval_run_queries(const struct vs_eval_run *r) { return r->nq; }
size_t vs_eval_run_hits(const struct vs_eval_run *r) { return r->nhits; }

/* --doc-level: the document of a hit: its doc_id when given, else the id
 * without a chunk suffix "#<digits>" (vs-chunk's "X#n"). New string. */
static char *doc_of(const char *id, const char *doc_id)
{
    if (doc_id)
        return strdup(doc_id);
    const char *h = strrchr(id, '#');
    size_t n = strlen(id);
    if (h && h > id && h[1]) {
        const char *p = h + 1;
        while (*p >= '0' && *p <= '9')
            p++;
        if (!*p)
            n = (size_t)(h - id);
    }
    return strndup(id, n);
}

static int run_line(struct vs_eval_run *r, char *line, size_t len, long ln,
                    struct hitrow *row, struct vs_diag *d)
{
    memset(row, 0, sizeof *row);
    row->h.line = ln;
    const char *qid, *doc;
    char buf[2][32];
    if (strcmp(r->format, "ndjson") == 0) {
        json_t *rec = NULL;
        int st = vs_ndjson_parse(line, len, &rec, d);
        if (st != VS_OK)
            return st;
        qid = id_field(rec, "qid", buf[0], sizeof buf[0]);
        doc = id_field(rec, "id", buf[1], sizeof buf[1]);
        const json_t *sc = json_object_get(rec, "score");
        const json_t *rk = json_object_get(rec, "rank");
        const json_t *el = json_object_get(rec, "elapsed_us");
        st = VS_OK;
        if (!qid) {
            vs_diag_field(d, "qid");
            st = vs_diag_set(d, VS_E_FIELD, "a hit needs a string 'qid'");
        } else if (!doc) {
            vs_diag_field(d, "id");
            st = vs_diag_set(d, VS_E_FIELD, "a hit needs a string 'id'");
        } else if (sc && !json_is_number(sc)) {
            vs_diag_field(d, "score");
            st = vs_diag_set(d, VS_E_FIELD, "'score' is not a number");
        } else if (!sc && !json_is_integer(rk)) {
            vs_diag_field(d, "score");
            st = vs_diag_set(d, VS_E_FIELD, "a hit needs a numeric 'score' or an integer 'rank'");
        } else if (el && !json_is_number(el)) {
            vs_diag_field(d, "elapsed_us");
            st = vs_diag_set(d, VS_E_FIELD, "'elapsed_us' is not a number");
        }
        if (st == VS_OK) {
            row->h.score = sc ? json_number_value(sc) : -(double)json_integer_value(rk);
            if (el) {
                row->h.elapsed_us = json_number_value(el);
                row->h.has_elapsed = 1;
            }
            row->qid = strdup(qid);
            const json_t *di = json_object_get(rec, "doc_id");
            row->h.docno = r->doc_level ? doc_of(doc, json_is_string(di)
                                                          ? json_string_value(di) : NULL)
                                        : strdup(doc);
            if (!row->qid || !row->h.docno)
                st = VS_E_NOMEM;
        }
        json_decref(rec);
        return st;
    }
    char *f[7];
    int n = split_fields(line, f, 6, 0);
    if (n != 6)
        return vs_diag_set(d, VS_E_DATA, "TREC run line needs 6 fields "
                           "(qid Q0 docno rank score tag), found %s",
                           n > 6 ? "more" : (const char *[]){"0", "1", "2", "3", "4", "5"}[n]);
    long rank;
    if (parse_long_strict(f[3], &rank))
        return vs_diag_set(d, VS_E_DATA, "rank '%s' is not an integer", f[3]);
    if (parse_double_strict(f[4], &row->h.score))
        return vs_diag_set(d, VS_E_DATA, "score '%s' is not a finite number", f[4]);
    if (!r->runid && !(r->runid = strdup(f[5])))
        return VS_E_NOMEM;
    row->qid = strdup(f[0]);
    row->h.docno = r->doc_level ? doc_of(f[2], NULL) : strdup(f[2]);
    if (!row->qid || !row->h.docno)
        return VS_E_NOMEM;
    return VS_OK;
}

int vs_eval_run_load(const char *path, const char *name,
                     struct vs_eval_run **out, struct vs_diag *d)
{
    return vs_eval_run_load_opts(path, name, NULL, out, d);
}

int vs_eval_run_load_opts(const char *path, const char *name,
                          const struct vs_eval_run_opts *o,
                          struct vs_eval_run **out, struct vs_diag *d)
{
    *out = NULL;
    struct vs_ndjson_reader *rd = NULL;
    struct hitrow *rows = NULL;
    size_t nrows = 0, cap = 0;
    char *copy = NULL;
    struct vs_eval_run *r = calloc(1, sizeof *r);
    if (!r)
        return VS_E_NOMEM;
    r->doc_level = o && o->doc_level;
    int st = vs_ndjson_open(path, 0, &rd, d);
    if (st != VS_OK)
        goto done;
    r->name = strdup(name ? name : vs_ndjson_name(rd));
    if (!r->name) {
        st = VS_E_NOMEM;
        goto done;
    }
    const char *line;
    size_t len;
    for (;;) {
        st = vs_ndjson_read_line(rd, &line, &len, d);
        if (st != VS_OK || !line)
            break;
        const char *p = first_nonspace(line, len);
        if (!p)
            continue;
        long ln = vs_ndjson_line(rd);
        if (!r->format)
            r->format = *p == '{' ? "ndjson" : "trec";
        if (nrows == cap) {
            size_t nc = cap ? cap * 2 : 1024;
            struct hitrow *nr = realloc(rows, nc * sizeof *nr);
            if (!nr) {
                st = VS_E_NOMEM;
                break;
            }
            rows = nr;
            cap = nc;
        }
        free(copy);
        copy = strndup(line, len);
        if (!copy) {
            st = VS_E_NOMEM;
            break;
        }
        st = run_line(r, copy, len, ln, &rows[nrows], d);
        if (st != VS_OK) {
            free(rows[nrows].qid);
            free(rows[nrows].h.docno);
            vs_diag_where(d, vs_ndjson_name(rd), ln);
            break;
        }
        nrows++;
    }
    if (st != VS_OK)
        goto done;
    if (!r->format)
        r->format = "ndjson";
    if (nrows)
        qsort(rows, nrows, sizeof *rows, cmp_hitrow);
    if (r->doc_level && nrows) {
        /* several chunks of one document: the document keeps the best one
         * (highest score; the first line on a tie) */
        size_t n = 1;
        for (size_t i = 1; i < nrows; i++) {
            struct hitrow *k = &rows[n - 1];
            if (strcmp(rows[i].qid, k->qid) == 0 && strcmp(rows[i].h.docno, k->h.docno) == 0) {
                if (rows[i].h.score > k->h.score) {
                    struct hitrow t = *k;
                    *k = rows[i];
                    rows[i] = t;
                }
                free(rows[i].qid);
                free(rows[i].h.docno);
                r->merged++;
                continue;
            }
            rows[n++] = rows[i];
        }
        nrows = n;
    }
    for (size_t i = 1; i < nrows; i++)
        if (strcmp(rows[i].qid, rows[i - 1].qid) == 0 &&
            strcmp(rows[i].h.docno, rows[i - 1].h.docno) == 0) {
            vs_diag_where(d, vs_ndjson_name(rd), rows[i].h.line);
            st = vs_diag_set(d, VS_E_DATA, "duplicate document '%s' for query '%s' "
                             "(first at line %ld)", rows[i].h.docno, rows[i].qid,
                             rows[i - 1].h.line);
            goto done;
        }
    r->all = malloc((nrows ? nrows : 1) * sizeof *r->all);
    size_t nq = 0;
    for (size_t i = 0; i < nrows; i++)
        if (i == 0 || strcmp(rows[i].qid, rows[i - 1].qid) != 0)
            nq++;
    r->q = calloc(nq ? nq : 1, sizeof *r->q);
    if (!r->all || !r->q) {
        st = VS_E_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < nrows; i++) {
        r->all[i] = rows[i].h;
        rows[i].h.docno = NULL;
        r->nhits++;
        if (r->nq == 0 || strcmp(rows[i].qid, r->q[r->nq - 1].qid) != 0) {
            r->q[r->nq].qid = rows[i].qid;
            rows[i].qid = NULL;
            r->q[r->nq].hits = &r->all[i];
            r->nq++;
        }
        r->q[r->nq - 1].n++;
    }
    for (size_t i = 0; i < r->nq; i++)
        qsort(r->q[i].hits, r->q[i].n, sizeof *r->q[i].hits, cmp_trec_order);
done:
    for (size_t i = 0; i < nrows; i++) {
        free(rows[i].qid);
        free(rows[i].h.docno);
    }
    free(rows);
    free(copy);
    vs_ndjson_close(rd);
    if (st != VS_OK) {
        vs_eval_run_free(r);
        return st;
    }
    *out = r;
    return VS_OK;
}

const struct vs_eval_rq *vs_eval_run_query(const struct vs_eval_run *r,
                                           const char *qid)
{
    size_t lo = 0, hi = r->nq;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(r->q[mid].qid, qid);
        if (c == 0)
            return &r->q[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n). */
static double nearest_rank(const double *v, size_t n, double p)
{
    size_t k = (size_t)ceil(p / 100.0 * (double)n);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

int vs_eval_run_latency(const struct vs_eval_run *r, double *p50, double *p95,
                        double *p99, long *n)
{
    double *v = malloc((r->nq ? r->nq : 1) * sizeof *v);
    if (!v)
        return VS_E_NOMEM;
    size_t m = 0;
    for (size_t i = 0; i < r->nq; i++) {
        int have = 0;
        double mx = 0;
        for (size_t j = 0; j < r->q[i].n; j++)
            if (r->q[i].hits[j].has_elapsed) {
                if (!have || r->q[i].hits[j].elapsed_us > mx)
                    mx = r->q[i].hits[j].elapsed_us;
                have = 1;
            }
        if (have)
            v[m++] = mx;
    }
    if (m == 0) {
        free(v);
        return VS_E_NOTFOUND;
    }
    qsort(v, m, sizeof *v, cmp_double);
    *p50 = nearest_rank(v, m, 50);
    *p95 = nearest_rank(v, m, 95);
    *p99 = nearest_rank(v, m, 99);
    *n = (long)m;
    free(v);
    return VS_OK;
}

/* ---- measure selection -------------------------------------------------- */

enum mkind {
    M_RUNID, M_NUM_Q, M_NUM_RET, M_NUM_REL, M_NUM_REL_RET, M_MAP, M_RPREC,
    M_BPREF, M_RECIP_RANK, M_P, M_RECALL, M_NDCG, M_NDCG_CUT, M_MAP_CUT,
    M_SUCCESS, M_JUDGED, M_NKINDS
};

static const struct {
    const char *name;
    int cut;     /* takes cutoffs */
    int count;   /* a summed count printed as an integer */
} kinds[M_NKINDS] = {
    [M_RUNID] = {"runid", 0, 0},       [M_NUM_Q] = {"num_q", 0, 1},
    [M_NUM_RET] = {"num_ret", 0, 1},   [M_NUM_REL] = {"num_rel", 0, 1},
    [M_NUM_REL_RET] = {"num_rel_ret", 0, 1},
    [M_MAP] = {"map", 0, 0},           [M_RPREC] = {"Rprec", 0, 0},
    [M_BPREF] = {"bpref", 0, 0},       [M_RECIP_RANK] = {"recip_rank", 0, 0},
    [M_P] = {"P", 1, 0},               [M_RECALL] = {"recall", 1, 0},
    [M_NDCG] = {"ndcg", 0, 0},         [M_NDCG_CUT] = {"ndcg_cut", 1, 0},
    [M_MAP_CUT] = {"map_cut", 1, 0},   [M_SUCCESS] = {"success", 1, 0},
    [M_JUDGED] = {"judged", 1, 0},
};

static const long default_cuts[] = {5, 10, 15, 20, 30, 100, 200, 500, 1000};
static const long success_cuts[] = {1, 5, 10};
static const long judged_cuts[] = {10};

struct mitem {
    int kind;
    long cut;
};

struct vs_eval_spec {
    struct mitem *m;
    size_t n, cap;
};

int vs_eval_spec_new(struct vs_eval_spec **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? VS_OK : VS_E_NOMEM;
}

void vs_eval_spec_free(struct vs_eval_spec *s)
{
    if (!s)
        return;
    free(s->m);
    free(s);
}

size_t vs_eval_spec_count(const struct vs_eval_spec *s) { return s->n; }

static int cmp_mitem(const void *a, const void *b)
{
    const struct mitem *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind - y->kind;
    return (x->cut > y->cut) - (x->cut < y->cut);
}

static int spec_push(struct vs_eval_spec *s, int kind, long cut)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->m[i].kind == kind && s->m[i].cut == cut)
            return VS_OK;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 32;
        struct mitem *nm = realloc(s->m, nc * sizeof *nm);
        if (!nm)
            return VS_E_NOMEM;
        s->m = nm;
        s->cap = nc;
    }
    s->m[s->n].kind = kind;
    s->m[s->n].cut = cut;
    s->n++;
    qsort(s->m, s->n, sizeof *s->m, cmp_mitem);
    return VS_OK;
}

static int spec_push_defaults(struct vs_eval_spec *s, int kind)
{
    const long *c = default_cuts;
    size_t n = sizeof default_cuts / sizeof default_cuts[0];
    if (kind == M_SUCCESS) {
        c = success_cuts;
        n = 3;
    } else if (kind == M_JUDGED) {
        c = judged_cuts;
        n = 1;
    }
    for (size_t i = 0; i < n; i++) {
        int st = spec_push(s, kind, c[i]);
        if (st != VS_OK)
            return st;
    }
    return VS_OK;
}

/* Short forms, lower case: prefix@K -> kind. */
static const struct {
    const char *prefix;
    int kind;
} shorts[] = {
    {"ndcg", M_NDCG_CUT}, {"p", M_P},           {"r", M_RECALL},
    {"recall", M_RECALL}, {"map", M_MAP_CUT},   {"hit", M_SUCCESS},
    {"success", M_SUCCESS}, {"judged", M_JUDGED},
};

/* Parse one measure name. *kind, *cut (0 = no cutoff given, -1 = a list
 * follows in *list). Returns 0, or -1 when unknown. */
static int parse_measure(const char *name, int *kind, long *cut,
                         const char **list)
{
    *cut = 0;
    *list = NULL;
    const char *at = strchr(name, '@');
    if (at) {
        size_t pl = (size_t)(at - name);
        long k;
        if (parse_long_strict(at + 1, &k) || k < 1)
            return -1;
        for (size_t i = 0; i < sizeof shorts / sizeof shorts[0]; i++)
            if (strlen(shorts[i].prefix) == pl &&
                strncasecmp(name, shorts[i].prefix, pl) == 0) {
                *kind = shorts[i].kind;
                *cut = k;
                return 0;
            }
        return -1;
    }
    if (strcasecmp(name, "mrr") == 0) {
        *kind = M_RECIP_RANK;
        return 0;
    }
    if (strcasecmp(name, "rprec") == 0) {
        *kind = M_RPREC;
        return 0;
    }
    for (int k = 0; k < M_NKINDS; k++) {
        size_t l = strlen(kinds[k].name);
        if (strncmp(name, kinds[k].name, l) != 0)
            continue;
        const char *rest = name + l;
        if (!*rest) {
            *kind = k;
            return 0;
        }
        if (!kinds[k].cut)
            continue;
        if (*rest == '_') {
            long c;
            if (parse_long_strict(rest + 1, &c) || c < 1)
                continue;
            *kind = k;
            *cut = c;
            return 0;
        }
        if (*rest == '.') {
            *kind = k;
            *cut = -1;
            *list = rest + 1;
            return 0;
        }
    }
    return -1;
}

int vs_eval_spec_add(struct vs_eval_spec *s, const char *name,
                     struct vs_diag *d)
{
    int kind;
    long cut;
    const char *list;
    if (parse_measure(name, &kind, &cut, &list))
        return vs_diag_set(d, VS_E_USAGE, "unknown measure '%s'", name);
    if (cut == 0 && kinds[kind].cut)
        return spec_push_defaults(s, kind);
    if (cut > 0)
        return spec_push(s, kind, cut);
    if (cut == 0)
        return spec_push(s, kind, 0);
    /* a list of cutoffs: "5,10" */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    int any = 0;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        long c;
        if (parse_long_strict(t, &c) || c < 1)
            return vs_diag_set(d, VS_E_USAGE, "bad cutoff '%s' in measure '%s'", t, name);
        int st = spec_push(s, kind, c);
        if (st != VS_OK)
            return st;
        any = 1;
    }
    if (!any)
        return vs_diag_set(d, VS_E_USAGE, "no cutoff in measure '%s'", name);
    return VS_OK;
}

int vs_eval_spec_add_default(struct vs_eval_spec *s)
{
    static const char *const def[] = {"runid", "num_q", "num_ret", "num_rel",
                                      "num_rel_ret", "map", "Rprec", "bpref",
                                      "recip_rank", "P", "recall", "ndcg",
                                      "ndcg_cut", "success"};
    for (size_t i = 0; i < sizeof def / sizeof def[0]; i++) {
        int st = vs_eval_spec_add(s, def[i], NULL);
        if (st != VS_OK)
            return st;
    }
    return VS_OK;
}

static void mitem_name(const struct mitem *m, char *buf, size_t size)
{
    if (kinds[m->kind].cut)
        snprintf(buf, size, "%s_%ld", kinds[m->kind].name, m->cut);
    else
        snprintf(buf, size, "%s", kinds[m->kind].name);
}

int vs_eval_canonical(const char *name, char *out, size_t size,
                      struct vs_diag *d)
{
    static const char *const extras[] = {
        "k_shortfall", "latency_p50_us", "latency_p95_us", "latency_p99_us",
        "faithfulness", "answer_relevance", "context_precision",
        "context_recall"};
    for (size_t i = 0; i < sizeof extras / sizeof extras[0]; i++)
        if (strcmp(name, extras[i]) == 0) {
            snprintf(out, size, "%s", name);
            return VS_OK;
        }
    long k;
    if ((strncmp(name, "ann_recall@", 11) == 0 && !parse_long_strict(name + 11, &k) && k > 0) ||
        (strncmp(name, "ann_recall_", 11) == 0 && !parse_long_strict(name + 11, &k) && k > 0)) {
        snprintf(out, size, "ann_recall_%ld", k);
        return VS_OK;
    }
    int kind;
    long cut;
    const char *list;
    if (parse_measure(name, &kind, &cut, &list))
        return vs_diag_set(d, VS_E_USAGE, "unknown measure '%s'", name);
    if (kind == M_RUNID || (kinds[kind].cut && cut <= 0))
        return vs_diag_set(d, VS_E_USAGE, "measure '%s' is not one number "
                           "(give a cutoff, e.g. '%s@10')", name, name);
    struct mitem m = {kind, cut};
    mitem_name(&m, out, size);
    return VS_OK;
}

/* ---- the measures of one query ------------------------------------------ */

#define REL_NONPOOL (-1)
#define REL_UNJUDGED (-2)

static long lookup_rel(const struct qq *q, const char *docno)
{
    size_t lo = 0, hi = q->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(q->e[mid].docno, docno);
        if (c == 0)
            return q->e[mid].rel < 0 ? REL_UNJUDGED : q->e[mid].rel;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return REL_NONPOOL;
}

void vs_eval_judged(const struct vs_eval_qrels *q, const struct vs_eval_run *r,
                    size_t *retrieved, size_t *judged)
{
    *retrieved = r->nhits;
    *judged = 0;
    for (size_t i = 0; i < q->nq; i++) {
        const struct vs_eval_rq *rq = vs_eval_run_query(r, q->q[i].qid);
        for (size_t j = 0; rq && j < rq->n; j++) {
            long rel = lookup_rel(&q->q[i], rq->hits[j].docno);
            *judged += rel != REL_NONPOOL && rel != REL_UNJUDGED;
        }
    }
}

size_t vs_eval_run_merged(const struct vs_eval_run *r) { return r->merged; }

static int cmp_long_desc(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x < y) - (x > y);
}

/* DCG of gains g[0..n) (gains <= 0 add nothing), trec_eval's discount. */
static double dcg(const long *g, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        if (g[i] > 0)
            s += (double)g[i] / log2((double)(i + 2));
    return s;
}

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

static void eval_query(const struct qq *jq, const struct vs_eval_rq *rq,
                       const struct vs_eval_spec *s, long level, long *rels,
                       long *ideal, double *out)
{
    size_t n = rq ? rq->n : 0;
    long num_rel = 0, num_nonrel = 0, num_rel_ret = 0;
    size_t ni = 0;
    for (size_t i = 0; i < jq->n; i++) {
        long rel = jq->e[i].rel;
        if (rel < 0)
            continue;
        if (rel >= level)
            num_rel++;
        else
            num_nonrel++;
        if (rel > 0)
            ideal[ni++] = rel;
    }
    qsort(ideal, ni, sizeof *ideal, cmp_long_desc);
    for (size_t i = 0; i < n; i++) {
        rels[i] = lookup_rel(jq, rq->hits[i].docno);
        if (rels[i] >= level)
            num_rel_ret++;
    }
    for (size_t m = 0, col = 0; m < s->n; m++) {
        int kind = s->m[m].kind;
        size_t k = (size_t)s->m[m].cut;
        double v = 0;
        if (kind == M_RUNID || kind == M_NUM_Q)
            continue;
        switch (kind) {
        case M_NUM_RET: v = (double)n; break;
        case M_NUM_REL: v = (double)num_rel; break;
        case M_NUM_REL_RET: v = (double)num_rel_ret; break;
        case M_MAP:
        case M_MAP_CUT: {
            size_t lim = kind == M_MAP ? n : min_sz(n, k);
            long so_far = 0;
            double sum = 0;
            for (size_t i = 0; i < lim; i++)
                if (rels[i] >= level) {
                    so_far++;
                    sum += (double)so_far / (double)(i + 1);
                }
            v = num_rel ? sum / (double)num_rel : 0;
            break;
        }
        case M_RPREC: {
            size_t lim = min_sz(n, (size_t)num_rel);
            long so_far = 0;
            for (size_t i = 0; i < lim; i++)
                so_far += rels[i] >= level;
            v = lim ? (double)so_far / (double)num_rel : 0;
            break;
        }
        case M_BPREF: {
            long nonrel_so_far = 0;
            double b = 0;
            for (size_t i = 0; i < n; i++) {
                if (rels[i] < 0)
                    continue;
                if (rels[i] < level)
                    nonrel_so_far++;
                else if (nonrel_so_far > 0) {
                    long a = nonrel_so_far < num_rel ? nonrel_so_far : num_rel;
                    long c = num_nonrel < num_rel ? num_nonrel : num_rel;
                    b += 1.0 - (double)a / (double)c;
                } else
                    b += 1.0;
            }
            v = num_rel ? b / (double)num_rel : b;
            break;
        }
        case M_RECIP_RANK:
            for (size_t i = 0; i < n; i++)
                if (rels[i] >= level) {
                    v = 1.0 / (double)(i + 1);
                    break;
                }
            break;
        case M_P:
        case M_RECALL:
        case M_SUCCESS: {
            long so_far = 0;
            for (size_t i = 0; i < min_sz(n, k); i++)
                so_far += rels[i] >= level;
            if (kind == M_P)
                v = (double)so_far / (double)k;
            else if (kind == M_RECALL)
                v = num_rel ? (double)so_far / (double)num_rel : 0;
            else
                v = so_far ? 1.0 : 0.0;
            break;
        }
        case M_JUDGED: {
            long j = 0;
            for (size_t i = 0; i < min_sz(n, k); i++)
                j += rels[i] >= 0;
            v = (double)j / (double)k;
            break;
        }
        case M_NDCG:
        case M_NDCG_CUT: {
            size_t lim = kind == M_NDCG ? n : min_sz(n, k);
            size_t ilim = kind == M_NDCG ? ni : min_sz(ni, k);
            double ideal_dcg = dcg(ideal, ilim);
            double got = dcg(rels, lim);
            v = ideal_dcg > 0 ? got / ideal_dcg : got;
            break;
        }
        default:
            break;
        }
        out[col++] = v;
    }
}

int vs_eval_evaluate(const struct vs_eval_qrels *q, const struct vs_eval_run *r,
                     const struct vs_eval_spec *s,
                     const struct vs_eval_opts *opts,
                     struct vs_eval_result **out, struct vs_diag *d)
{
    *out = NULL;
    struct vs_eval_result *res = NULL;
    long *rels = NULL, *ideal = NULL;
    double *vals = NULL;
    int st = vs_eval_result_new(r->name, &res);
    if (st != VS_OK)
        return st;
    res->ranked = 1;
    for (size_t m = 0; m < s->n; m++) {
        if (s->m[m].kind == M_RUNID) {
            res->has_runid = 1;
            continue;
        }
        if (s->m[m].kind == M_NUM_Q) {
            res->has_num_q = 1;
            continue;
        }
        char name[64];
        mitem_name(&s->m[m], name, sizeof name);
        if ((st = vs_eval_result_add_measure_(res, name, kinds[s->m[m].kind].count)) != VS_OK)
            goto done;
    }
    size_t maxhits = 1, maxj = 1;
    for (size_t i = 0; i < r->nq; i++)
        if (r->q[i].n > maxhits)
            maxhits = r->q[i].n;
    for (size_t i = 0; i < q->nq; i++)
        if (q->q[i].n > maxj)
            maxj = q->q[i].n;
    rels = malloc(maxhits * sizeof *rels);
    ideal = malloc(maxj * sizeof *ideal);
    vals = calloc(res->nm ? res->nm : 1, sizeof *vals);
    if (!rels || !ideal || !vals) {
        st = VS_E_NOMEM;
        goto done;
    }
    long level = opts ? opts->rel_level : 1;
    for (size_t i = 0; i < q->nq; i++) {
        const struct vs_eval_rq *rq = vs_eval_run_query(r, q->q[i].qid);
        if (!rq && !(opts && opts->complete))
            continue;
        eval_query(&q->q[i], rq, s, level, rels, ideal, vals);
        struct vs_eval_row *w = vs_eval_result_add_row_(res, q->q[i].qid);
        if (!w) {
            st = VS_E_NOMEM;
            goto done;
        }
        memcpy(w->v, vals, res->nm * sizeof *vals);
        memset(w->p, 1, res->nm);
    }
done:
    free(rels);
    free(ideal);
    free(vals);
    if (st != VS_OK) {
        vs_eval_result_free(res);
        (void)d;
        return st;
    }
    *out = res;
    return VS_OK;
}

