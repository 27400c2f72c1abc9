/* bm25_search.c: BM25 queries (parsing) and search over several segment
 * indexes with global statistics (see vs_bm25.h). Term-at-a-time scoring
 * with dense per-segment accumulators and a size-k heap; queries of
 * optional terms only are pruned (block-max MaxScore, see "pruning"
 * below). */
#include "bm25_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- queries */

enum { CL_SHOULD = 0, CL_MUST = 1, CL_NOT = 2 };

struct clause {
    int kind;
    size_t nterms;
    char **terms;
    uint32_t *offs; /* position of each term relative to the first */
    double weight;  /* repeated single-term optional clauses merge */
};

struct vs_bm25_query {
    char analyzer[192];
    struct clause *cl;
    size_t ncl, cap;
    /* the single-term optional clauses by term (open addressing, clause
     * index + 1, 0 empty), so repeats merge in O(1) and a query of n
     * distinct words parses in O(n), not O(n^2) */
    size_t *hslot;
    size_t hcap, hn;
};

static uint64_t term_hash(const char *t)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *t; t++)
        h = (h ^ (unsigned char)*t) * 1099511628211ULL;
    return h;
}

/* The slot of term among the single-term optional clauses: its clause's
 * slot, or the empty slot where it would go. */
static size_t should_slot(const struct vs_bm25_query *q, const char *term)
{
    size_t m = q->hcap - 1, i = (size_t)term_hash(term) & m;
    while (q->hslot[i] && strcmp(q->cl[q->hslot[i] - 1].terms[0], term) != 0)
        i = (i + 1) & m;
    return i;
}

/* Make room for one more entry (load at most one half). */
static int should_grow(struct vs_bm25_query *q)
{
    if (q->hcap && (q->hn + 1) * 2 <= q->hcap)
        return 0;
    size_t ncap = q->hcap ? q->hcap * 2 : 64;
    size_t *old = q->hslot, ocap = q->hcap;
    if (!(q->hslot = calloc(ncap, sizeof *q->hslot))) {
        q->hslot = old;
        return -1;
    }
    q->hcap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i])
            q->hslot[should_slot(q, q->cl[old[i] - 1].terms[0])] = old[i];
    free(old);
    return 0;
}

void vs_bm25_query_free(struct vs_bm25_query *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->ncl; i++) {
        for (size_t j = 0; j < q->cl[i].nterms; j++)
            free(q->cl[i].terms[j]);
        free(q->cl[i].terms);
        free(q->cl[i].offs);
    }
    free(q->cl);
    free(q->hslot);
    free(q);
}

const char *vs_bm25_query_analyzer(const struct vs_bm25_query *q)
{
    return q->analyzer;
}

size_t vs_bm25_query_clauses(const struct vs_bm25_query *q) { return q->ncl; }

struct collect {
    char **terms;
    uint32_t *pos;
    size_t n, cap;
};

static int collect_tok(void *arg, const char *term, size_t len, uint32_t pos)
{
    struct collect *c = arg;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        char **t = realloc(c->terms, cap * sizeof *t);
        if (!t)
            return VS_E_NOMEM;
        c->terms = t;
        uint32_t *p = realloc(c->pos, cap * sizeof *p);
        if (!p)
            return VS_E_NOMEM;
        c->pos = p;
        c->cap = cap;
    }
    c->terms[c->n] = strndup(term, len);
    if (!c->terms[c->n])
        return VS_E_NOMEM;
    c->pos[c->n++] = pos;
    return VS_OK;
}

static int add_clause(struct vs_bm25_query *q, int kind, struct collect *c,
                      size_t from, size_t to)
{
    if (q->ncl == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 8;
        struct clause *x = realloc(q->cl, cap * sizeof *x);
        if (!x)
            return -1;
        q->cl = x;
        q->cap = cap;
    }
    size_t slot = 0;
    int single = kind == CL_SHOULD && to - from == 1;
    if (single) {
        if (should_grow(q))
            return -1;
        slot = should_slot(q, c->terms[from]);
        if (q->hslot[slot]) {
            q->cl[q->hslot[slot] - 1].weight += 1;
            free(c->terms[from]);
            c->terms[from] = NULL;
            return 0;
        }
    }
    struct clause *cl = &q->cl[q->ncl];
    cl->kind = kind;
    cl->nterms = to - from;
    cl->weight = 1;
    cl->terms = malloc(cl->nterms * sizeof *cl->terms);
    cl->offs = malloc(cl->nterms * sizeof *cl->offs);
    if (!cl->terms || !cl->offs) {
        free(cl->terms);
        free(cl->offs);
        return -1;
    }
    for (size_t i = from; i < to; i++) {
        cl->terms[i - from] = c->terms[i];
        cl->offs[i - from] = c->pos[i] - c->pos[from];
        c->terms[i] = NULL;
    }
    q->ncl++;
    if (single) {
        q->hslot[slot] = q->ncl;
        q->hn++;
    }
    return 0;
}

int vs_bm25_query_parse(struct vs_analyzer *a, const char *text,
                        struct vs_bm25_query **out, struct vs_diag *d)
{
    *out = NULL;
    struct vs_bm25_query *q = calloc(1, sizeof *q);
    struct collect c = {0};
    int rc = VS_OK;
    if (!q) {
        rc = VS_E_NOMEM;
        goto done;
    }
    snprintf(q->analyzer, sizeof q->analyzer, "%s", vs_analyzer_id(a));
    const char *s = text;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
            s++;
        if (!*s)
            break;
        int kind = CL_SHOULD;
        if ((*s == '+' || *s == '-') && s[1] && s[1] != ' ' && s[1] != '\t') {
            kind = *s == '+' ? CL_MUST : CL_NOT;
            s++;
        }
        const char *start, *stop;
        int phrase = 0;
        if (*s == '"') {
            phrase = 1;
            start = ++s;
            while (*s && *s != '"')
                s++;
            stop = s;
            if (*s)
                s++;
        } else {
            start = s;
            while (*s && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
                s++;
            stop = s;
        }
        c.n = 0;
        rc = vs_analyzer_run(a, start, (size_t)(stop - start), collect_tok, &c,
                             NULL, d);
        if (rc != VS_OK)
            goto done;
        if (c.n == 0)
            continue;
        if (!phrase && kind == CL_SHOULD) {
            for (size_t i = 0; i < c.n && rc == VS_OK; i++)
                if (add_clause(q, kind, &c, i, i + 1))
                    rc = VS_E_NOMEM;
        } else if (add_clause(q, kind, &c, 0, c.n))
            rc = VS_E_NOMEM;
        for (size_t i = 0; i < c.n; i++)
            free(c.terms[i]);
        if (rc != VS_OK)
            goto done;
    }
done:
    free(c.terms);
    free(c.pos);
    if (rc != VS_OK) {
        vs_bm25_query_free(q);
        return rc == VS_E_NOMEM ? vs_diag_set(d, rc, "out of memory") : rc;
    }
    *out = q;
    return VS_OK;
}

/* ---------------------------------------------------------------- search */

enum { ST_TOUCHED = 1, ST_POS = 2, ST_EXCL = 4 };

struct vs_bm25_scratch {
    size_t cap;
    double *acc;
    uint8_t *state;
    uint16_t *must;
    uint32_t *touched;
    size_t ntouched;
    /* the length norms k1 * (1 - b + b * dl / avgdl) of the lengths dl
     * below nnorm, for the k1, b and avgdl they were made with (see
     * norm_table) */
    double *norm;
    uint32_t nnorm;
    double nk1, nb, navgdl;
};

struct vs_bm25_scratch *vs_bm25_scratch_new(void)
{
    return calloc(1, sizeof(struct vs_bm25_scratch));
}

void vs_bm25_scratch_free(struct vs_bm25_scratch *s)
{
    if (!s)
        return;
    free(s->acc);
    free(s->state);
    free(s->must);
    free(s->touched);
    free(s->norm);
    free(s);
}

static int scratch_size(struct vs_bm25_scratch *s, size_t n)
{
    if (n <= s->cap)
        return 0;
    double *acc = realloc(s->acc, n * sizeof *acc);
    if (acc)
        s->acc = acc;
    uint8_t *st = realloc(s->state, n);
    if (st)
        s->state = st;
    uint16_t *m = realloc(s->must, n * sizeof *m);
    if (m)
        s->must = m;
    uint32_t *t = realloc(s->touched, n * sizeof *t);
    if (t)
        s->touched = t;
    if (!acc || !st || !m || !t)
        return -1;
    memset(s->state + s->cap, 0, n - s->cap);
    s->cap = n;
    return 0;
}

/* 1 when hit a ranks before hit b. */
static inline int better(const struct vs_bm25_hit *a, const struct vs_bm25_hit *b)
{
    if (a->score != b->score)
        return a->score > b->score;
    if (a->view != b->view)
        return a->view < b->view;
    return a->row < b->row;
}

/* Min-heap on "better": the root is the worst hit kept. */
static void heap_push(struct vs_bm25_hit *h, size_t *n, size_t k,
                      struct vs_bm25_hit x)
{
    size_t i;
    if (*n < k) {
        i = (*n)++;
        while (i > 0) {
            size_t p = (i - 1) / 2;
            if (!better(&h[p], &x))
                break;
            h[i] = h[p];
            i = p;
        }
        h[i] = x;
        return;
    }
    if (!better(&x, &h[0]))
        return;
    i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct vs_bm25_hit *mv = &x;
        if (l < *n && better(mv, &h[l])) {
            m = l;
            mv = &h[l];
        }
        if (r < *n && better(mv, &h[r])) {
            m = r;
            mv = &h[r];
        }
        if (m == i)
            break;
        h[i] = h[m];
        i = m;
    }
    h[i] = x;
}

static int cmp_hits(const void *x, const void *y)
{
    const struct vs_bm25_hit *a = x, *b = y;
    return better(a, b) ? -1 : better(b, a) ? 1 : 0;
}

static inline void touch(struct vs_bm25_scratch *s, uint32_t row)
{
    if (!s->state[row]) {
        s->state[row] = ST_TOUCHED;
        s->acc[row] = 0;
        s->must[row] = 0;
        s->touched[s->ntouched++] = row;
    }
}

/* Number of times the phrase occurs in the document: positions p of the
 * first term such that every term i has position p + offs[i]. */
static uint32_t phrase_freq(const struct plist *ls, size_t nt,
                            const uint32_t *offs, const uint32_t *at)
{
    const struct plist *l0 = &ls[0];
    uint32_t f = 0;
    for (uint32_t a = l0->poff[at[0]]; a < l0->poff[at[0] + 1]; a++) {
        uint32_t p = l0->pos[a];
        size_t i;
        for (i = 1; i < nt; i++) {
            const struct plist *li = &ls[i];
            uint32_t want = p + offs[i], lo = li->poff[at[i]],
                     hi = li->poff[at[i] + 1];
            while (lo < hi) { /* positions are sorted: binary search */
                uint32_t mid = lo + (hi - lo) / 2;
                if (li->pos[mid] < want)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo >= li->poff[at[i] + 1] || li->pos[lo] != want)
                break;
        }
        if (i == nt)
            f++;
    }
    return f;
}

/* The collection's statistics and the parameters; norm[dl] for dl below
 * nnorm is length_norm(k1, b, avgdl, dl) (nnorm 0: no table). */
struct gstats {
    double N, avgdl, k1, b;
    const double *norm;
    uint32_t nnorm;
};

/* BM25's length normalisation of a document of dl terms. The table holds
 * its values as this computes them, so a score is the same bit for bit
 * whether its norm came from the table or from here. */
static inline double length_norm(double k1, double b, double avgdl, uint32_t dl)
{
    return k1 * (1 - b + b * dl / avgdl);
}

/* The BM25 part of a term of frequency tf in a document of dl terms: one
 * division where the norm is in the table, two where not. */
static inline double bm25_tf(const struct gstats *g, double tf, uint32_t dl)
{
    double nm = dl < g->nnorm ? g->norm[dl] : length_norm(g->k1, g->b, g->avgdl, dl);
    return tf * (g->k1 + 1) / (tf + nm);
}

/* Lengths up to NORM_MAX get a table entry (512 KiB at most per scratch);
 * longer ones are computed. */
#define NORM_MAX 65536

/* Point g at the scratch's table of norms for lengths 0 .. maxdl (at most
 * NORM_MAX of them), made again only when k1, b or avgdl changed or the
 * table is too short (a scratch reused over queries of one store makes it
 * once). Without memory for it g keeps no table (scores are the same). */
static void norm_table(struct vs_bm25_scratch *s, struct gstats *g, uint32_t maxdl)
{
    uint32_t n = maxdl < NORM_MAX ? maxdl + 1 : NORM_MAX;
    if (n > s->nnorm || s->nk1 != g->k1 || s->nb != g->b || s->navgdl != g->avgdl) {
        if (n < s->nnorm)
            n = s->nnorm; /* keep the room made for a longer document */
        double *t = realloc(s->norm, (size_t)n * sizeof *t);
        if (!t) {
            s->nnorm = 0;
            return;
        }
        for (uint32_t dl = 0; dl < n; dl++)
            t[dl] = length_norm(g->k1, g->b, g->avgdl, dl);
        s->norm = t;
        s->nnorm = n;
        s->nk1 = g->k1;
        s->nb = g->b;
        s->navgdl = g->avgdl;
    }
    g->norm = s->norm;
    g->nnorm = s->nnorm;
}

static double idf_of(double N, double df)
{
    return log(1 + (N - df + 0.5) / (df + 0.5));
}

static void mark(struct vs_bm25_scratch *s, uint32_t row, int kind, double v)
{
    touch(s, row);
    if (kind == CL_NOT) {
        s->state[row] |= ST_EXCL;
        return;
    }
    s->state[row] |= ST_POS;
    s->acc[row] += v;
    if (kind == CL_MUST)
        s->must[row]++;
}

static int run_phrase(struct vs_bm25 *ix, const struct clause *cl, double idf,
                      const struct gstats *g, struct vs_bm25_scratch *s,
                      uint64_t *npost, struct vs_diag *d)
{
    size_t nt = cl->nterms;
    struct plist *ls = calloc(nt, sizeof *ls);
    uint32_t *at = calloc(nt, sizeof *at);
    int rc = VS_OK;
    if (!ls || !at) {
        rc = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nt; i++) {
        long t = vs_bm25_lookup(ix, cl->terms[i], strlen(cl->terms[i]));
        if (t < 0)
            goto done; /* a term absent: no match in this segment */
        rc = vs_bm25_plist_load(ix, t, &ls[i], d);
        if (rc != VS_OK)
            goto done;
        *npost += ls[i].n;
    }
    for (at[0] = 0; at[0] < ls[0].n; at[0]++) {
        uint32_t row = ls[0].rows[at[0]];
        size_t i;
        for (i = 1; i < nt; i++) {
            while (at[i] < ls[i].n && ls[i].rows[at[i]] < row)
                at[i]++;
            if (at[i] >= ls[i].n)
                goto done;
            if (ls[i].rows[at[i]] != row)
                break;
        }
        if (i < nt)
            continue;
        uint32_t f = phrase_freq(ls, nt, cl->offs, at);
        if (f)
            mark(s, row, cl->kind, idf * cl->weight * bm25_tf(g, f, ix->doclens[row]));
    }
done:
    if (ls)
        for (size_t i = 0; i < nt; i++)
            vs_bm25_plist_release(&ls[i]);
    free(ls);
    free(at);
    return rc;
}

static int run_term(struct vs_bm25 *ix, const struct clause *cl, double idf,
                    const struct gstats *g, struct vs_bm25_scratch *s,
                    uint64_t *npost, struct vs_diag *d)
{
    long t = vs_bm25_lookup(ix, cl->terms[0], strlen(cl->terms[0]));
    if (t < 0)
        return VS_OK;
    const uint8_t *p;
    int rc = vs_bm25_postings(ix, t, &p, d);
    if (rc != VS_OK)
        return rc;
    const uint8_t *end = p + ix->t_dlen[t];
    uint32_t df = ix->t_df[t];
    uint64_t row = 0;
    double w = idf * cl->weight;
    int should = cl->kind == CL_SHOULD;
    for (uint32_t i = 0; i < df; i++) {
        uint64_t delta, tf;
        if (end - p >= 2 && !((p[0] | p[1]) & 0x80)) { /* both one byte */
            delta = p[0];
            tf = p[1];
            p += 2;
        } else if (rd_varint(&p, end, &delta) || rd_varint(&p, end, &tf))
            return vs_bm25_corrupt(d, "bad postings");
        row += delta;
        if (row >= ix->nrows || ix->doclens[row] == ABSENT || tf == 0)
            return vs_bm25_corrupt(d, "bad postings");
        double v = w * bm25_tf(g, (double)tf, ix->doclens[row]);
        if (should) { /* mark(), for the common kind */
            if (!s->state[row]) {
                s->state[row] = ST_TOUCHED | ST_POS;
                s->acc[row] = v; /* 0 + v */
                s->must[row] = 0;
                s->touched[s->ntouched++] = (uint32_t)row;
            } else {
                s->state[row] |= ST_POS;
                s->acc[row] += v;
            }
        } else
            mark(s, (uint32_t)row, cl->kind, v);
    }
    *npost += df;
    return VS_OK;
}

static inline int bit(const uint64_t *bm, uint64_t row)
{
    return (int)((bm[row >> 6] >> (row & 63)) & 1);
}

/* ---------------------------------------------------------------- pruning
 *
 * Top-k pruning for a query of optional terms (block-max MaxScore, document
 * at a time, docs/bm25.md): no term adds more than its bound ub = idf *
 * weight * (k1 + 1) to a document, nor more than its block's bound (the
 * BM25 part of the block's largest tf at its smallest length) to one of the
 * block's. theta is the k-th best score kept (this view's or earlier
 * views'). Terms whose bounds add up to less than theta are non-essential.
 * Window by window (up to the end of the essential terms' shortest current
 * block): a window whose terms' block bounds add up to less than theta is
 * jumped over undecoded; otherwise the terms whose window bounds add up to
 * less than theta are only looked up (with the skip entries) for the rows
 * of the others, while a row's partial score plus their bounds may reach
 * theta. A row that passes is scored in clause order, so its score is bit
 * for bit that of exhaustive scoring (the bounds carry a margin of 1e-9 for
 * the rounding of partial sums taken in another order). */

#define MARGIN 1e-9
#define PRUNE_MIN 65536
#define END_ROW 0xFFFFFFFFu

/* A term's cursor: its postings in row order, the current one at row (tf),
 * END_ROW when none is left; the skip entries (NULL for a short list) and
 * the block the bound was last asked of (blk, its bound bb). */
struct bcur {
    const uint8_t *p0, *p, *end;
    const struct vs_bm25_skips *sk;
    uint32_t df, i; /* postings; the next one to decode */
    uint32_t row, tf;
    uint32_t blk, bblk; /* bb is the bound of block bblk (UINT32_MAX: none) */
    double bb;
    double w, ub; /* idf * weight; w * (k1 + 1) */
    size_t c;     /* clause */
};

/* Decode the next posting (row END_ROW after the last one). */
static inline int bcur_next(const struct vs_bm25 *ix, struct bcur *cu,
                            uint64_t *npost, struct vs_diag *d)
{
    if (cu->i >= cu->df) {
        cu->row = END_ROW;
        return VS_OK;
    }
    uint64_t delta, tf;
    const uint8_t *p = cu->p;
    if (cu->end - p >= 2 && !((p[0] | p[1]) & 0x80)) { /* both one byte */
        delta = p[0];
        tf = p[1];
        cu->p = p + 2;
    } else if (rd_varint(&cu->p, cu->end, &delta) || rd_varint(&cu->p, cu->end, &tf))
        return vs_bm25_corrupt(d, "bad postings");
    uint64_t row = (cu->i ? (uint64_t)cu->row : 0) + delta;
    if ((cu->i && delta == 0) || row >= ix->nrows || ix->doclens[row] == ABSENT ||
        tf == 0 || tf > UINT32_MAX)
        return vs_bm25_corrupt(d, "bad postings");
    if (cu->sk) {
        /* the posting agrees with its block's skip entry (a damaged one
         * would send the search astray) */
        const struct vs_bm25_skip *e = &cu->sk->e[cu->i / SKIP_EVERY];
        int endblk = cu->i % SKIP_EVERY == SKIP_EVERY - 1 || cu->i + 1 == cu->df;
        if (row <= e->prev && cu->i >= SKIP_EVERY)
            return vs_bm25_corrupt(d, "bad skip entries");
        if (row > e->last || (endblk && row != e->last) ||
            !vs_bm25_front_covers(cu->sk->pairs + e->pf, e->np, (uint32_t)tf,
                                  ix->doclens[row]))
            return vs_bm25_corrupt(d, "bad skip entries");
    }
    cu->row = (uint32_t)row;
    cu->tf = (uint32_t)tf;
    cu->i++;
    (*npost)++;
    return VS_OK;
}

/* Move to the first posting at or after target, jumping over the blocks
 * that end before it without decoding them. */
static int bcur_advance(const struct vs_bm25 *ix, struct bcur *cu, uint32_t target,
                        uint64_t *npost, struct vs_diag *d)
{
    if (cu->row >= target)
        return VS_OK;
    if (cu->sk) {
        uint32_t b = (cu->i - 1) / SKIP_EVERY, n = cu->sk->n;
        if (b < cu->blk)
            b = cu->blk;
        while (b < n && cu->sk->e[b].last < target)
            b++;
        if (b == n) {
            cu->i = cu->df;
            cu->row = END_ROW;
            return VS_OK;
        }
        if ((uint64_t)b * SKIP_EVERY >= cu->i) { /* a later block: jump */
            cu->p = cu->p0 + cu->sk->e[b].off;
            cu->row = cu->sk->e[b].prev;
            cu->i = b * SKIP_EVERY;
        }
    }
    int rc = VS_OK;
    while (rc == VS_OK && cu->row < target)
        rc = bcur_next(ix, cu, npost, d);
    return rc;
}

/* The bound of block b of the term: the largest score of its front's
 * pairs. */
static inline double block_bound(const struct gstats *g, struct bcur *cu, uint32_t b)
{
    if (cu->bblk != b) {
        const struct vs_bm25_skip *e = &cu->sk->e[b];
        const struct vs_bm25_pair *f = cu->sk->pairs + e->pf;
        double m = 0;
        for (uint32_t j = 0; j < e->np; j++) {
            double x = bm25_tf(g, (double)f[j].tf, f[j].dl);
            if (x > m)
                m = x;
        }
        cu->bblk = b;
        cu->bb = cu->w * m;
    }
    return cu->bb;
}

/* A bound of the term's score of any row in [lo, hi], for lo at or after
 * every row the cursor was moved to (so its postings in [lo, hi] are at or
 * after its current one): 0 when it has none there, the largest bound of
 * the blocks that hold [lo, hi], or ub for a list without skip entries. */
static double range_bound(const struct gstats *g, struct bcur *cu, uint32_t lo,
                          uint32_t hi)
{
    if (cu->row > hi) /* END_ROW too */
        return 0;
    if (!cu->sk)
        return cu->ub;
    uint32_t from = cu->row > lo ? cu->row : lo, n = cu->sk->n;
    uint32_t b = (cu->i - 1) / SKIP_EVERY;
    if (b < cu->blk)
        b = cu->blk;
    while (b < n && cu->sk->e[b].last < from)
        b++;
    cu->blk = b;
    double m = 0;
    for (; b < n; b++) {
        double x = block_bound(g, cu, b);
        if (x > m)
            m = x;
        if (cu->sk->e[b].last >= hi)
            break;
    }
    return m;
}

static inline int eligible(const struct vs_bm25_view *vw, uint64_t row)
{
    if (vw->live ? !bit(vw->live, row) : vw->live_fn && !vw->live_fn(vw->live_arg, row))
        return 0;
    return !vw->filter || bit(vw->filter, row);
}

static int cmp_bcur(const void *x, const void *y)
{
    const struct bcur *a = x, *b = y;
    if (a->ub != b->ub)
        return a->ub < b->ub ? -1 : 1;
    return a->c < b->c ? -1 : a->c > b->c;
}

static int search_pruned(const struct vs_bm25_view *vw, uint32_t v,
                         const struct vs_bm25_query *q, const double *idf,
                         const struct gstats *g, struct vs_bm25_hit *hits,
                         size_t *n, size_t k, struct vs_bm25_search_stats *stats,
                         struct vs_diag *d)
{
    struct vs_bm25 *ix = (struct vs_bm25 *)(uintptr_t)vw->index;
    size_t m = 0, ncl = q->ncl;
    struct bcur *cu = malloc(ncl * sizeof *cu);
    double *prefix = malloc((ncl + 1) * sizeof *prefix);
    double *nb = malloc((ncl + 1) * sizeof *nb);
    long *byclause = malloc(ncl * sizeof *byclause);
    double *wb = malloc((ncl + 1) * sizeof *wb);
    size_t *perm = malloc((ncl + 1) * sizeof *perm);
    int rc = VS_OK, skipped = 0;
    if (!cu || !prefix || !nb || !byclause || !wb || !perm) {
        rc = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t c = 0; c < ncl && rc == VS_OK; c++) {
        long t = vs_bm25_lookup(ix, q->cl[c].terms[0], strlen(q->cl[c].terms[0]));
        if (t < 0)
            continue;
        struct bcur *x = &cu[m++];
        memset(x, 0, sizeof *x);
        x->w = idf[c] * q->cl[c].weight;
        x->ub = x->w * (g->k1 + 1);
        x->c = c;
        x->bblk = UINT32_MAX;
        x->df = ix->t_df[t];
        if ((rc = vs_bm25_postings(ix, t, &x->p0, d)) != VS_OK ||
            (rc = vs_bm25_skips_get(ix, t, x->p0, &x->sk, d)) != VS_OK)
            break;
        x->p = x->p0;
        x->end = x->p0 + ix->t_dlen[t];
        rc = bcur_next(ix, x, &stats->postings, d);
    }
    if (rc != VS_OK || m == 0)
        goto done;
    /* by rising bound: the first e terms are the non-essential ones, whose
     * bounds add up to less than theta */
    qsort(cu, m, sizeof *cu, cmp_bcur);
    for (size_t c = 0; c < ncl; c++)
        byclause[c] = -1;
    prefix[0] = 0;
    for (size_t j = 0; j < m; j++) {
        byclause[cu[j].c] = (long)j;
        prefix[j + 1] = prefix[j] + cu[j].ub;
    }
    double theta = *n == k ? hits[0].score : 0;
    size_t e = 0;
    while (e < m && prefix[e + 1] * (1 + MARGIN) < theta)
        e++;
    uint32_t lo = 0;
    while (e < m) {
        /* the next window: from the first row of an essential term (by
         * their bounds) to the end of the shortest of their current blocks */
        uint32_t doc = END_ROW, wend = END_ROW - 1;
        for (size_t j = e; j < m; j++) {
            if ((rc = bcur_advance(ix, &cu[j], lo, &stats->postings, d)) != VS_OK)
                goto done;
            if (cu[j].row < doc)
                doc = cu[j].row;
        }
        if (doc == END_ROW)
            break;
        for (size_t j = e; j < m; j++)
            if (cu[j].sk && cu[j].row != END_ROW) {
                uint32_t last = cu[j].sk->e[(cu[j].i - 1) / SKIP_EVERY].last;
                if (last < wend)
                    wend = last;
            }
        lo = doc;
        /* each term's block bound over the window, by rising bound: the
         * first ne terms are the window's non-essential ones */
        for (size_t j = 0; j < m; j++) {
            wb[j] = range_bound(g, &cu[j], lo, wend);
            size_t x = j;
            while (x > 0 && wb[perm[x - 1]] > wb[j]) {
                perm[x] = perm[x - 1];
                x--;
            }
            perm[x] = j;
        }
        nb[0] = 0;
        for (size_t x = 0; x < m; x++)
            nb[x + 1] = nb[x] + wb[perm[x]];
        size_t ne = 0;
        while (ne < m && nb[ne + 1] * (1 + MARGIN) < theta)
            ne++;
        if (ne == m) { /* the whole window stays below theta */
            skipped = 1;
            if (wend == END_ROW - 1)
                break;
            lo = wend + 1;
            continue;
        }
        for (size_t x = ne; x < m; x++)
            if ((rc = bcur_advance(ix, &cu[perm[x]], lo, &stats->postings, d)) != VS_OK)
                goto done;
        for (;;) {
            doc = END_ROW;
            for (size_t x = ne; x < m; x++)
                if (cu[perm[x]].row < doc)
                    doc = cu[perm[x]].row;
            if (doc > wend)
                break;
            uint32_t dl = ix->doclens[doc];
            double part = 0;
            for (size_t x = ne; x < m; x++) {
                const struct bcur *c = &cu[perm[x]];
                if (c->row == doc)
                    part += c->w * bm25_tf(g, (double)c->tf, dl);
            }
            int take = (part + nb[ne]) * (1 + MARGIN) >= theta;
            if (take) {
                stats->matched++;
                take = eligible(vw, doc);
            }
            if (take) {
                stats->eligible++;
                /* look the window's non-essential terms up, highest bound
                 * first, while the document may still reach theta */
                for (size_t x = ne; x-- > 0;) {
                    struct bcur *c = &cu[perm[x]];
                    if (wb[perm[x]] > 0) {
                        if ((rc = bcur_advance(ix, c, doc, &stats->postings, d)) != VS_OK)
                            goto done;
                        if (c->row == doc)
                            part += c->w * bm25_tf(g, (double)c->tf, dl);
                    }
                    if ((part + nb[x]) * (1 + MARGIN) < theta) {
                        take = 0;
                        skipped = 1;
                        break;
                    }
                }
            }
            if (take) {
                /* the exact score, summed in clause order as exhaustive
                 * scoring sums it */
                double sc = 0;
                for (size_t c = 0; c < ncl; c++) {
                    long j = byclause[c];
                    if (j >= 0 && cu[j].row == doc)
                        sc += cu[j].w * bm25_tf(g, (double)cu[j].tf, dl);
                }
                struct vs_bm25_hit h = {v, doc, sc};
                heap_push(hits, n, k, h);
                if (*n == k && hits[0].score > theta) {
                    theta = hits[0].score;
                    while (e < m && prefix[e + 1] * (1 + MARGIN) < theta)
                        e++;
                }
            }
            for (size_t x = ne; x < m && rc == VS_OK; x++)
                if (cu[perm[x]].row == doc)
                    rc = bcur_next(ix, &cu[perm[x]], &stats->postings, d);
            if (rc != VS_OK)
                goto done;
        }
        if (wend == END_ROW - 1)
            break;
        lo = wend + 1;
    }
    if (skipped || e > 0)
        stats->pruned++;
done:
    free(cu);
    free(prefix);
    free(nb);
    free(byclause);
    free(wb);
    free(perm);
    return rc;
}

int vs_bm25_search(const struct vs_bm25_view *views, size_t nviews,
                   const struct vs_bm25_query *q,
                   const struct vs_bm25_params *p, size_t k,
                   struct vs_bm25_scratch *scratch, struct vs_bm25_hit *hits,
                   size_t *nhits, struct vs_bm25_search_stats *st,
                   struct vs_diag *d)
{
    return vs_bm25_search_opt(views, nviews, q, p, k, scratch, hits, nhits, st,
                              1, d);
}

int vs_bm25_search_opt(const struct vs_bm25_view *views, size_t nviews,
                       const struct vs_bm25_query *q,
                       const struct vs_bm25_params *p, size_t k,
                       struct vs_bm25_scratch *scratch, struct vs_bm25_hit *hits,
                       size_t *nhits, struct vs_bm25_search_stats *st, int prune,
                       struct vs_diag *d)
{
    *nhits = 0;
    struct vs_bm25_search_stats stats = {0};
    struct vs_bm25_params def = {VS_BM25_K1_DEFAULT, VS_BM25_B_DEFAULT};
    if (!p)
        p = &def;
    if (!(p->k1 >= 0) || !(p->b >= 0 && p->b <= 1) || !isfinite(p->k1))
        return vs_diag_set(d, VS_E_USAGE,
                           "bm25: k1 must be >= 0 and b in [0, 1]");
    struct gstats g = {.k1 = p->k1, .b = p->b};
    double total = 0;
    size_t maxrows = 0;
    uint32_t maxdl = 0;
    for (size_t v = 0; v < nviews; v++) {
        const struct vs_bm25 *ix = views[v].index;
        if (strcmp(ix->analyzer, q->analyzer) != 0)
            return vs_diag_set(d, VS_E_MISMATCH,
                               "bm25: index analyzer '%s' is not the query's '%s'",
                               ix->analyzer, q->analyzer);
        if (ix->nrows > maxrows)
            maxrows = (size_t)ix->nrows;
        if (ix->maxdl > maxdl)
            maxdl = ix->maxdl;
    }
    vs_bm25_stats_docs(views, nviews, &g.N, &total); /* global ones when set */
    if (g.N == 0 || k == 0 || q->ncl == 0)
        goto out;
    g.avgdl = total / g.N;
    if (g.avgdl <= 0)
        g.avgdl = 1;
    /* global idf per clause: phrases sum their terms' idfs */
    double *idf = calloc(q->ncl, sizeof *idf);
    if (!idf)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    size_t nmust = 0;
    for (size_t c = 0; c < q->ncl; c++) {
        const struct clause *cl = &q->cl[c];
        if (cl->kind == CL_MUST && ++nmust > UINT16_MAX) {
            free(idf);
            return vs_diag_set(d, VS_E_USAGE, "bm25: too many required clauses");
        }
        for (size_t i = 0; i < cl->nterms; i++) {
            double df;
            int rc = vs_bm25_stats_df(views, nviews, cl->terms[i], &df, d);
            if (rc != VS_OK) {
                free(idf);
                return rc;
            }
            idf[c] += idf_of(g.N, df);
        }
    }
    struct vs_bm25_scratch *own = NULL;
    if (!scratch)
        scratch = own = vs_bm25_scratch_new();
    int rc = VS_OK;
    if (!scratch || scratch_size(scratch, maxrows + 1)) {
        rc = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    norm_table(scratch, &g, maxdl);
    size_t n = 0;
    /* top-k pruning (MaxScore) for queries of optional terms only */
    int optional_terms = prune && q->ncl >= 2;
    for (size_t c = 0; c < q->ncl && optional_terms; c++)
        if (q->cl[c].kind != CL_SHOULD || q->cl[c].nterms != 1)
            optional_terms = 0;
    for (size_t v = 0; v < nviews && rc == VS_OK; v++) {
        struct vs_bm25 *ix = (struct vs_bm25 *)(uintptr_t)views[v].index;
        scratch->ntouched = 0;
        if (optional_terms && prune == 1) {
            /* on small lists the pruning's own work costs more than it
             * saves (SciFact: 13% slower): prune when the query's lists
             * hold PRUNE_MIN postings or more */
            uint64_t listed = 0;
            for (size_t c = 0; c < q->ncl; c++)
                listed += vs_bm25_df(ix, q->cl[c].terms[0], strlen(q->cl[c].terms[0]));
            if (listed < PRUNE_MIN)
                goto exhaustive;
        }
        if (optional_terms) {
            rc = search_pruned(&views[v], (uint32_t)v, q, idf, &g, hits, &n, k,
                               &stats, d);
            continue;
        }
    exhaustive:
        for (size_t c = 0; c < q->ncl && rc == VS_OK; c++) {
            const struct clause *cl = &q->cl[c];
            if (cl->nterms == 1)
                rc = run_term(ix, cl, idf[c], &g, scratch, &stats.postings, d);
            else
                rc = run_phrase(ix, cl, idf[c], &g, scratch, &stats.postings, d);
        }
        for (size_t i = 0; i < scratch->ntouched; i++) {
            uint32_t row = scratch->touched[i];
            uint8_t sv = scratch->state[row];
            scratch->state[row] = 0;
            if (rc != VS_OK || (sv & ST_EXCL) || !(sv & ST_POS) ||
                scratch->must[row] < nmust)
                continue;
            stats.matched++;
            const struct vs_bm25_view *vw = &views[v];
            if (vw->live ? !bit(vw->live, row)
                         : vw->live_fn && !vw->live_fn(vw->live_arg, row))
                continue;
            if (vw->filter && !bit(vw->filter, row))
                continue;
            stats.eligible++;
            /* a score below the worst kept hit's is not kept (heap_push
             * would refuse it) */
            if (n == k && scratch->acc[row] < hits[0].score)
                continue;
            struct vs_bm25_hit h = {(uint32_t)v, row, scratch->acc[row]};
            heap_push(hits, &n, k, h);
        }
    }
    if (rc == VS_OK) {
        qsort(hits, n, sizeof *hits, cmp_hits);
        *nhits = n;
    }
done:
    vs_bm25_scratch_free(own);
    free(idf);
    if (st)
        *st = stats;
    return rc;
out:
    if (st)
        *st = stats;
    return VS_OK;
}

/* ---------------------------------------------------------------- explain */

/* Binary search of row in a decoded posting list; -1 when absent. */
static long plist_find(const struct plist *l, uint32_t row)
{
    uint32_t lo = 0, hi = l->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (l->rows[mid] < row)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < l->n && l->rows[lo] == row ? (long)lo : -1;
}

int vs_bm25_explain(const struct vs_bm25_view *views, size_t nviews,
                    const struct vs_bm25_query *q,
                    const struct vs_bm25_params *p, size_t view, uint64_t row,
                    vs_bm25_explain_fn emit, void *arg, struct vs_diag *d)
{
    struct vs_bm25_params def = {VS_BM25_K1_DEFAULT, VS_BM25_B_DEFAULT};
    if (!p)
        p = &def;
    if (!(p->k1 >= 0) || !(p->b >= 0 && p->b <= 1) || !isfinite(p->k1))
        return vs_diag_set(d, VS_E_USAGE, "bm25: k1 must be >= 0 and b in [0, 1]");
    if (view >= nviews)
        return vs_diag_set(d, VS_E_USAGE, "bm25: no such view");
    struct gstats g = {.k1 = p->k1, .b = p->b};
    double total = 0;
    for (size_t v = 0; v < nviews; v++) {
        if (strcmp(views[v].index->analyzer, q->analyzer) != 0)
            return vs_diag_set(d, VS_E_MISMATCH,
                               "bm25: index analyzer '%s' is not the query's '%s'",
                               views[v].index->analyzer, q->analyzer);
    }
    vs_bm25_stats_docs(views, nviews, &g.N, &total);
    struct vs_bm25 *ix = (struct vs_bm25 *)(uintptr_t)views[view].index;
    if (g.N == 0 || row >= ix->nrows || ix->doclens[row] == ABSENT)
        return VS_OK;
    g.avgdl = total / g.N > 0 ? total / g.N : 1;
    int rc = VS_OK;
    char *label = NULL;
    for (size_t c = 0; c < q->ncl && rc == VS_OK; c++) {
        const struct clause *cl = &q->cl[c];
        if (cl->kind == CL_NOT)
            continue;
        size_t nt = cl->nterms, llen = 0;
        double idf = 0;
        for (size_t i = 0; i < nt && rc == VS_OK; i++) {
            double df;
            rc = vs_bm25_stats_df(views, nviews, cl->terms[i], &df, d);
            idf += idf_of(g.N, df);
            llen += strlen(cl->terms[i]) + 1;
        }
        if (rc != VS_OK)
            break;
        struct plist *ls = calloc(nt, sizeof *ls);
        uint32_t *at = calloc(nt, sizeof *at);
        free(label);
        label = malloc(llen + 1);
        if (!ls || !at || !label) {
            free(ls);
            free(at);
            rc = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            break;
        }
        label[0] = '\0';
        for (size_t i = 0; i < nt; i++) {
            if (i)
                strcat(label, " ");
            strcat(label, cl->terms[i]);
        }
        size_t i;
        for (i = 0; i < nt && rc == VS_OK; i++) {
            long t = vs_bm25_lookup(ix, cl->terms[i], strlen(cl->terms[i]));
            if (t < 0)
                break;
            rc = vs_bm25_plist_load(ix, t, &ls[i], d);
            if (rc != VS_OK)
                break;
            long a = plist_find(&ls[i], (uint32_t)row);
            if (a < 0)
                break;
            at[i] = (uint32_t)a;
        }
        if (rc == VS_OK && i == nt) {
            uint32_t f = nt == 1 ? ls[0].tfs[at[0]] : phrase_freq(ls, nt, cl->offs, at);
            if (f)
                rc = emit(arg, label, cl->kind == CL_MUST, f,
                          idf * cl->weight * bm25_tf(&g, f, ix->doclens[row]));
        }
        for (size_t j = 0; j < nt; j++)
            vs_bm25_plist_release(&ls[j]);
        free(ls);
        free(at);
    }
    free(label);
    return rc;
}
