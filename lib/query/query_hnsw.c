/* query_hnsw.c: graph search of segments with an HNSW section, merged with
 * the exact scan of the others. See query_hnsw_internal.h. */
#include "query_hnsw_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hnsw_internal.h"
#include "quant_internal.h"
#include "store_hnsw_internal.h"

#ifdef _OPENMP
#include <omp.h>
#endif

struct pstat {
    int used, exact, fallback;
    uint64_t ef, visited, distances, rescored;
};

struct vs_qgraph {
    size_t nparts, batch;
    int nthreads;
    struct vs_hnsw **h;              /* per part, or NULL */
    struct vs_segment **segs;        /* per part (borrowed) */
    struct vs_quant **qz;            /* per part: vector codes, or NULL */
    struct vs_hnsw_scratch **scr;    /* nthreads x nparts, made on first use */
    struct vs_hnsw_hit *hbuf;        /* nthreads x kmax */
    size_t hcap;
    struct vs_flat_hit *mbuf;        /* nthreads x 2 kmax: merging */
    struct pstat *ps;                /* batch x nparts: an OpenMP search's stats */
    /* a slot's own search (vs_qgraph_search_slot; per slot, made on first use) */
    struct vs_hnsw_hit **shbuf;      /* nthreads: kmax */
    struct vs_flat_hit **smbuf;      /* nthreads: 2 kmax */
    size_t *shcap;                   /* nthreads */
    struct pstat **sps;              /* nthreads: batch x nparts */
    pthread_mutex_t mu;              /* nlive's first computation */
    uint64_t *nlive;                 /* per part: live rows */
    const float **vecs;              /* per graph part: its rows (lazy or all) */
    struct vs_hnsw_rows *rows;       /* per graph part: lazy decoding (ready NULL = all there) */
    struct vs_hnsw_rows *codes;      /* per part: codes checked on demand (ready NULL = all) */
};

static int load_rows(void *ctx, uint64_t b, struct vs_diag *d)
{
    return vs_seg_vector_block(ctx, b, d);
}

/* ctx: the part's entry in g->segs (the codes are g->qz at the same index) */
struct codes_ctx {
    struct vs_quant *q;
    struct vs_segment *seg;
};

static int load_codes(void *ctx, uint64_t b, struct vs_diag *d)
{
    struct codes_ctx *c = ctx;
    if (vs_quant_check_block(c->q, b) == 0)
        return VS_OK;
    vs_diag_where(d, c->seg->path, 0);
    return vs_diag_set(d, VS_E_CORRUPT, "section 'quant' block %llu: checksum mismatch",
                       (unsigned long long)b);
}

void vs_qgraph_free(struct vs_qgraph *g)
{
    if (!g)
        return;
    for (size_t p = 0; p < g->nparts; p++) {
        vs_hnsw_free(g->h[p]);
        vs_quant_free(g->qz ? g->qz[p] : NULL);
    }
    free(g->qz);
    free(g->vecs);
    free(g->rows);
    if (g->codes)
        for (size_t p = 0; p < g->nparts; p++)
            free(g->codes[p].ctx);
    free(g->codes);
    if (g->scr)
        for (size_t i = 0; i < (size_t)g->nthreads * g->nparts; i++)
            vs_hnsw_scratch_free(g->scr[i]);
    free(g->scr);
    free(g->h);
    free(g->hbuf);
    free(g->mbuf);
    free(g->ps);
    for (int t = 0; t < g->nthreads; t++) {
        free(g->shbuf ? g->shbuf[t] : NULL);
        free(g->smbuf ? g->smbuf[t] : NULL);
        free(g->sps ? g->sps[t] : NULL);
    }
    free(g->shbuf);
    free(g->smbuf);
    free(g->shcap);
    free(g->sps);
    pthread_mutex_destroy(&g->mu);
    free(g->nlive);
    free(g);
}

int vs_qgraph_open(struct vs_segment **segs, size_t nparts, size_t batch,
                   int threads, struct vs_qgraph **out, struct vs_diag *d)
{
    *out = NULL;
    struct vs_qgraph *g = calloc(1, sizeof *g);
    if (!g)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    g->nparts = nparts;
    g->batch = batch;
    g->segs = segs;
    pthread_mutex_init(&g->mu, NULL);
#ifdef _OPENMP
    g->nthreads = threads > 0 ? threads : omp_get_max_threads();
#else
    g->nthreads = 1;
#endif
    g->h = calloc(nparts ? nparts : 1, sizeof *g->h);
    g->qz = calloc(nparts ? nparts : 1, sizeof *g->qz);
    g->vecs = calloc(nparts ? nparts : 1, sizeof *g->vecs);
    g->rows = calloc(nparts ? nparts : 1, sizeof *g->rows);
    g->codes = calloc(nparts ? nparts : 1, sizeof *g->codes);
    if (!g->h || !g->qz || !g->vecs || !g->rows || !g->codes) {
        vs_qgraph_free(g);
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    }
    int any = 0;
    for (size_t p = 0; p < nparts; p++) {
        int st = vs_seg_hnsw(segs[p], &g->h[p], d);
        if (st == VS_E_NOTFOUND)
            continue;
        if (st == VS_OK) {
            st = vs_seg_quant(segs[p], &g->qz[p], d);
            if (st == VS_E_NOTFOUND)
                st = VS_OK;
        }
        if (st == VS_OK && g->qz[p] && g->qz[p]->ready) {
            struct codes_ctx *c = malloc(sizeof *c);
            if (!c)
                st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            else
                *c = (struct codes_ctx){g->qz[p], segs[p]};
            g->codes[p] = (struct vs_hnsw_rows){g->qz[p]->ready, g->qz[p]->shift, load_codes, c};
        }
        /* the rows are decoded (or checked in place) block by block as the
         * search touches them */
        const uint8_t *ready;
        unsigned shift;
        if (st == VS_OK &&
            (st = vs_seg_vectors_lazy(segs[p], g->qz[p] == NULL, &g->vecs[p], &ready, &shift, d)) == VS_OK)
            g->rows[p] = (struct vs_hnsw_rows){ready, shift, load_rows, segs[p]};
        if (st != VS_OK) {
            vs_qgraph_free(g);
            return st;
        }
        any = 1;
    }
    if (!any) {
        vs_qgraph_free(g);
        return VS_OK;
    }
    g->scr = calloc((size_t)g->nthreads * nparts, sizeof *g->scr);
    g->ps = calloc(batch * nparts, sizeof *g->ps);
    g->shbuf = calloc((size_t)g->nthreads, sizeof *g->shbuf);
    g->smbuf = calloc((size_t)g->nthreads, sizeof *g->smbuf);
    g->shcap = calloc((size_t)g->nthreads, sizeof *g->shcap);
    g->sps = calloc((size_t)g->nthreads, sizeof *g->sps);
    if (!g->scr || !g->ps || !g->shbuf || !g->smbuf || !g->shcap || !g->sps) {
        vs_qgraph_free(g);
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    }
    *out = g;
    return VS_OK;
}

int vs_qgraph_has(const struct vs_qgraph *g, size_t p)
{
    return g && p < g->nparts && g->h[p] != NULL;
}

const float *vs_qgraph_vecs(const struct vs_qgraph *g, size_t p)
{
    return vs_qgraph_has(g, p) ? g->vecs[p] : NULL;
}

static int cmp_hit(const void *a, const void *b)
{
    const struct vs_flat_hit *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* The live rows of each part, counted on the first search (under g->mu:
 * slots search at once). */
static int count_live(struct vs_qgraph *g, const struct vs_flat_part *parts,
                      struct vs_diag *d)
{
    int st = VS_OK;
    pthread_mutex_lock(&g->mu);
    if (!g->nlive) {
        uint64_t *nl = calloc(g->nparts ? g->nparts : 1, sizeof *nl);
        if (!nl) {
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        } else {
            for (size_t p = 0; p < g->nparts; p++) {
                if (!parts[p].live) { /* no deletions: every row */
                    nl[p] = parts[p].rows;
                    continue;
                }
                for (uint64_t r = 0; r < parts[p].rows; r++)
                    nl[p] += parts[p].live[r] != 0;
            }
            g->nlive = nl;
        }
    }
    pthread_mutex_unlock(&g->mu);
    return st;
}

/* Query i on thread slot t: hb (kmax) and mb (2 kmax) are the slot's
 * buffers, ps the batch's stats (batch x nparts). On an error *dd names
 * it and the status is returned. */
static int search_one(struct vs_qgraph *g, int t, struct vs_hnsw_hit *hb,
                      struct vs_flat_hit *mb, struct pstat *pst,
                      const struct vs_flat_part *parts, const struct vs_flat_query *fq,
                      size_t i, size_t ef, struct vs_flat_result *fr, struct vs_diag *dd)
{
    for (size_t p = 0; p < g->nparts; p++) {
        if (!g->h[p])
            continue;
        int st = VS_OK;
        struct vs_hnsw_scratch **s = &g->scr[(size_t)t * g->nparts + p];
        if (!*s)
            st = vs_hnsw_scratch_new(g->h[p], s, NULL);
        struct vs_hnsw_query hq = {.vec = fq[i].vec, .k = fq[i].k, .ef = ef,
                                   .live = parts[p].live,
                                   .allow = fq[i].allow ? fq[i].allow[p] : NULL,
                                   .quant = g->qz[p],
                                   .codes = g->codes[p].ready ? &g->codes[p] : NULL,
                                   .rows = g->rows[p].ready ? &g->rows[p] : NULL};
        size_t nh = 0;
        struct vs_hnsw_stats hs = {0};
        vs_diag_clear(dd);
        if (st == VS_OK)
            st = vs_hnsw_search(g->h[p], *s, parts[p].vecs, &hq, hb, &nh, &hs, dd);
        if (st == VS_E_CORRUPT &&
            (vs_hnsw_damaged_block(g->h[p]) || vs_hnsw_damaged_upper(g->h[p]))) {
            /* name the graph block and the segment */
            int l0 = vs_hnsw_damaged_block(g->h[p]) != 0;
            vs_diag_set(dd, st, "section 'hnsw' %s block %llu: damaged (checksum mismatch or bad data)",
                        l0 ? "level-0" : "upper",
                        (unsigned long long)(l0 ? vs_hnsw_damaged_block(g->h[p])
                                                : vs_hnsw_damaged_upper(g->h[p])) - 1);
            vs_diag_where(dd, g->segs[p]->path, 0);
        }
        if (st != VS_OK)
            return st;
        struct pstat *ps = &pst[i * g->nparts + p];
        *ps = (struct pstat){1, hs.exact, hs.fallback, hs.ef, hs.visited,
                             hs.distances, hs.rescored};
        fr[i].distances += hs.distances;
        fr[i].matched += hq.allow ? hs.matched : g->nlive[p];
        fr[i].scanned += g->nlive[p];
        /* merge: current hits + this part's, best k */
        size_t n = fr[i].n;
        memcpy(mb, fr[i].hits, n * sizeof *mb);
        for (size_t j = 0; j < nh; j++) {
            const char *id = NULL; /* the hits' ids only, read on demand */
            if ((st = vs_segment_id(g->segs[p], hb[j].row, &id, dd)) != VS_OK)
                return st;
            mb[n++] = (struct vs_flat_hit){hb[j].score, hb[j].raw, p, hb[j].row, id};
        }
        /* the graph's hits come best first: sorted already unless ties
         * (by id) or a second part's hits need it */
        size_t j = 1;
        while (j < n && cmp_hit(&mb[j - 1], &mb[j]) <= 0)
            j++;
        if (j < n)
            qsort(mb, n, sizeof *mb, cmp_hit);
        if (n > fq[i].k)
            n = fq[i].k;
        memcpy(fr[i].hits, mb, n * sizeof *mb);
        fr[i].n = n;
    }
    return VS_OK;
}

static size_t kmax_of(const struct vs_flat_query *fq, size_t nq)
{
    size_t kmax = 1;
    for (size_t i = 0; i < nq; i++)
        kmax = fq[i].k > kmax ? fq[i].k : kmax;
    return kmax;
}

int vs_qgraph_search(struct vs_qgraph *g, const struct vs_flat_part *parts,
                     const struct vs_flat_query *fq, size_t nq, size_t ef,
                     enum vs_metric metric, struct vs_flat_result *fr,
                     struct vs_diag *d)
{
    (void)metric;
    size_t kmax = kmax_of(fq, nq);
    if (kmax > g->hcap) {
        free(g->hbuf);
        free(g->mbuf);
        g->hbuf = malloc((size_t)g->nthreads * kmax * sizeof *g->hbuf);
        g->mbuf = malloc((size_t)g->nthreads * 2 * kmax * sizeof *g->mbuf);
        g->hcap = g->hbuf && g->mbuf ? kmax : 0;
        if (!g->hcap)
            return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    }
    memset(g->ps, 0, nq * g->nparts * sizeof *g->ps);
    int status = count_live(g, parts, d);
    if (status != VS_OK)
        return status;
    struct vs_diag derr;
    vs_diag_clear(&derr);
#pragma omp parallel for schedule(dynamic, 1) num_threads(nq > 1 ? g->nthreads : 1)
    for (size_t i = 0; i < nq; i++) {
        int t = 0;
#ifdef _OPENMP
        t = omp_get_thread_num();
#endif
        struct vs_diag dd;
        int st = search_one(g, t, g->hbuf + (size_t)t * g->hcap,
                            g->mbuf + (size_t)t * 2 * g->hcap, g->ps, parts, fq, i, ef, fr,
                            &dd);
        if (st != VS_OK) {
#pragma omp critical(vs_qgraph_err)
            if (status == VS_OK) {
                status = st;
                derr = dd;
            }
        }
    }
    if (status != VS_OK) {
        if (d)
            *d = derr;
        return status;
    }
    return VS_OK;
}

int vs_qgraph_slots(const struct vs_qgraph *g) { return g ? g->nthreads : 0; }

int vs_qgraph_search_slot(struct vs_qgraph *g, int slot, const struct vs_flat_part *parts,
                          const struct vs_flat_query *fq, size_t nq, size_t ef,
                          struct vs_flat_result *fr, struct vs_diag *d)
{
    if (slot < 0 || slot >= g->nthreads)
        return vs_diag_set(d, VS_E_INTERNAL, "graph search slot %d of %d", slot, g->nthreads);
    size_t kmax = kmax_of(fq, nq);
    if (kmax > g->shcap[slot] || !g->sps[slot]) {
        free(g->shbuf[slot]);
        free(g->smbuf[slot]);
        g->shbuf[slot] = malloc(kmax * sizeof **g->shbuf);
        g->smbuf[slot] = malloc(2 * kmax * sizeof **g->smbuf);
        g->shcap[slot] = g->shbuf[slot] && g->smbuf[slot] ? kmax : 0;
        if (!g->sps[slot])
            g->sps[slot] = calloc(g->batch * (g->nparts ? g->nparts : 1), sizeof **g->sps);
        if (!g->shcap[slot] || !g->sps[slot])
            return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    }
    memset(g->sps[slot], 0, nq * g->nparts * sizeof **g->sps);
    int st = count_live(g, parts, d);
    for (size_t i = 0; i < nq && st == VS_OK; i++) {
        struct vs_diag dd;
        st = search_one(g, slot, g->shbuf[slot], g->smbuf[slot], g->sps[slot], parts, fq, i,
                        ef, fr, &dd);
        if (st != VS_OK && d)
            *d = dd;
    }
    return st;
}

json_t *vs_qgraph_explain(const struct vs_qgraph *g, int slot, size_t i, size_t nparts,
                          int exact_requested)
{
    json_t *a = json_array();
    const struct pstat *pst = !g ? NULL : slot < 0 ? g->ps : g->sps[slot];
    for (size_t p = 0; p < nparts && a; p++) {
        const struct pstat *ps = pst && p < g->nparts ? &pst[i * g->nparts + p] : NULL;
        json_t *e = json_object();
        json_object_set_new(e, "segment", json_integer((json_int_t)p));
        if (!ps || !ps->used) {
            json_object_set_new(e, "method", json_string("exact"));
            json_object_set_new(e, "reason", json_string(exact_requested ? "exact requested" : "no graph"));
        } else {
            json_object_set_new(e, "method",
                                json_string(ps->exact ? "exact_filter"
                                            : ps->fallback ? "hnsw_then_exact" : "hnsw"));
            json_object_set_new(e, "ef", json_integer((json_int_t)ps->ef));
            json_object_set_new(e, "visited", json_integer((json_int_t)ps->visited));
            json_object_set_new(e, "distance_computations",
                                json_integer((json_int_t)ps->distances));
            if (g->qz[p]) {
                json_object_set_new(e, "quant",
                                    json_string(vs_quant_name(vs_quant_kind(g->qz[p]))));
                json_object_set_new(e, "rescored", json_integer((json_int_t)ps->rescored));
            }
        }
        json_array_append_new(a, e);
    }
    return a;
}
