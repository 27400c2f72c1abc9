/* flat.c: exact top-k search: blocked, batched, OpenMP across row blocks,
 * per-thread heaps merged at the end. See vs_flat.h. */
#include "vs_flat.h"

#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#define VS_OMP(x) _Pragma(x)
#else
#define VS_OMP(x)
#endif

#define TILE_Q 4 /* queries scored together (a scan kernel's tile) */
/* Rows per scan kernel call (vs_distance.h): the scores of a batch of 64
 * for them (16 KiB) stay in L1 until they are offered to the heaps. */
#define SCAN_ROWS 64

struct vs_flat {
    size_t dim;
    enum vs_metric metric;
    const struct vs_distance_kernels *k;
    int nthreads;
    size_t batch, kmax, block_rows;
    float *scores;            /* per thread: batch x SCAN_ROWS */
    struct vs_flat_hit *heap; /* per thread: batch x kmax */
    size_t *heapn;            /* per thread: batch */
    float *qbuf;              /* batch x dim: the dense queries, packed */
    size_t *dense, *sparse;   /* batch each: query indexes by kind */
    uint64_t *unit_start;     /* per part: index of its first block */
    size_t unit_cap;
};

/* ---- heaps: the worst hit on top ---- */

/* 1 when a ranks below b: lower score, or equal score and a larger id. */
static inline int worse(const struct vs_flat_hit *a, const struct vs_flat_hit *b)
{
    if (a->score != b->score)
        return a->score < b->score;
    return strcmp(a->id, b->id) > 0;
}

static void sift_down(struct vs_flat_hit *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && worse(&h[l], &h[m]))
            m = l;
        if (r < n && worse(&h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        struct vs_flat_hit t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void heap_push(struct vs_flat_hit *h, size_t *n, size_t cap,
                      const struct vs_flat_hit *x)
{
    if (*n < cap) {
        size_t i = (*n)++;
        h[i] = *x;
        while (i > 0) {
            size_t p = (i - 1) / 2;
            if (!worse(&h[i], &h[p]))
                break;
            struct vs_flat_hit t = h[i];
            h[i] = h[p];
            h[p] = t;
            i = p;
        }
        return;
    }
    if (!worse(&h[0], x))
        return;
    h[0] = *x;
    sift_down(h, cap, 0);
}

/* Offer (raw, part, row) to a heap; the common rejection is one compare. */
static inline void offer(struct vs_flat_hit *h, size_t *n, size_t cap,
                         float score, float raw, size_t part, uint64_t row,
                         const char *id)
{
    if (score != score) /* NaN (an overflowing vector) never ranks */
        return;
    if (*n == cap && score < h[0].score)
        return;
    struct vs_flat_hit x = {score, raw, part, row, id};
    heap_push(h, n, cap, &x);
}

static int cmp_hits(const void *a, const void *b)
{
    const struct vs_flat_hit *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* ---- the searcher ---- */

void vs_flat_free(struct vs_flat *f)
{
    if (!f)
        return;
    free(f->unit_start);
    free(f->sparse);
    free(f->dense);
    free(f->qbuf);
    free(f->heapn);
    free(f->heap);
    free(f->scores);
    free(f);
}

int vs_flat_new(size_t dim, enum vs_metric metric,
                const struct vs_flat_opts *o, struct vs_flat **out,
                struct vs_diag *d)
{
    struct vs_flat *f = NULL;
    *out = NULL;
    if (dim == 0 || !o || o->batch == 0 || o->kmax == 0)
        return vs_diag_set(d, VS_E_USAGE, "flat search needs a dimension, a batch and k");
    if (o->kmax > ((size_t)1 << 28) || o->batch > ((size_t)1 << 24))
        return vs_diag_set(d, VS_E_USAGE, "k or batch too large");
    const struct vs_distance_kernels *k =
        o->simd < 0 ? vs_distance_best() : vs_distance_kernels((enum vs_simd)o->simd);
    if (!k)
        return vs_diag_set(d, VS_E_UNSUPPORTED, "the cpu does not support the '%s' kernels",
                           vs_simd_name((enum vs_simd)o->simd));
    f = calloc(1, sizeof *f);
    if (!f)
        goto nomem;
    f->dim = dim;
    f->metric = metric;
    f->k = k;
    f->batch = o->batch;
    f->kmax = o->kmax;
#ifdef _OPENMP
    f->nthreads = o->threads > 0 ? o->threads : omp_get_max_threads();
#else
    f->nthreads = 1;
#endif
    if (f->nthreads < 1)
        f->nthreads = 1;
    f->block_rows = o->block_rows;
    if (f->block_rows == 0) {
        f->block_rows = (256u << 10) / (dim * sizeof(float));
        if (f->block_rows < 16)
            f->block_rows = 16;
        f->block_rows = (f->block_rows + 3) & ~(size_t)3;
    }
    size_t nt = (size_t)f->nthreads;
    f->scores = malloc(nt * f->batch * SCAN_ROWS * sizeof *f->scores);
    f->heap = malloc(nt * f->batch * f->kmax * sizeof *f->heap);
    f->heapn = malloc(nt * f->batch * sizeof *f->heapn);
    f->qbuf = malloc(f->batch * dim * sizeof *f->qbuf);
    f->dense = malloc(f->batch * sizeof *f->dense);
    f->sparse = malloc(f->batch * sizeof *f->sparse);
    if (!f->scores || !f->heap || !f->heapn || !f->qbuf || !f->dense || !f->sparse)
        goto nomem;
    *out = f;
    return VS_OK;
nomem:
    vs_flat_free(f);
    return vs_diag_set(d, VS_E_NOMEM, "cannot allocate search scratch");
}

const struct vs_distance_kernels *vs_flat_kernels(const struct vs_flat *f)
{
    return f->k;
}

int vs_flat_threads(const struct vs_flat *f)
{
    return f->nthreads;
}

static inline float to_score(enum vs_metric m, float raw)
{
    return m == VS_METRIC_L2 ? -raw : raw;
}

/* Offer the nr scores s of rows r0.. (all live and allowed) to a heap of
 * cap hits. Once the heap is full, a row ranks only with a score of at
 * least the worst hit's, so runs of OFFER_RUN rows are first tested all at
 * once without a branch (vectorised) and skipped when none of them does;
 * NaN fails every test, as offer drops it. */
#define OFFER_RUN 8
static void offer_run(struct vs_flat_hit *h, size_t *n, size_t cap, enum vs_metric metric,
                      const float *s, size_t nr, size_t p, uint64_t r0,
                      const char *const *ids)
{
    size_t r = 0;
    while (r < nr) {
        if (*n == cap) {
            /* score >= worst: raw >= worst for dot, -raw >= worst for l2 */
            float th = metric == VS_METRIC_L2 ? -h[0].score : h[0].score;
            if (metric == VS_METRIC_L2) {
                for (; r + OFFER_RUN <= nr; r += OFFER_RUN) {
                    int any = 0;
                    for (size_t j = 0; j < OFFER_RUN; j++)
                        any |= s[r + j] <= th;
                    if (any)
                        break;
                }
            } else {
                for (; r + OFFER_RUN <= nr; r += OFFER_RUN) {
                    int any = 0;
                    for (size_t j = 0; j < OFFER_RUN; j++)
                        any |= s[r + j] >= th;
                    if (any)
                        break;
                }
            }
        }
        size_t e = r + OFFER_RUN < nr ? r + OFFER_RUN : nr;
        for (; r < e; r++)
            offer(h, n, cap, to_score(metric, s[r]), s[r], p, r0 + r, ids[r0 + r]);
    }
}

/* Score block [r0, r1) of part p for the dense queries [d0, d1) and the
 * sparse ones [s0, s1); push into thread t's heaps. */
static void scan_block(struct vs_flat *f, const struct vs_flat_part *pt, size_t p,
                       uint64_t r0, uint64_t r1, const struct vs_flat_query *q,
                       size_t d0, size_t d1, size_t s0, size_t s1, int t)
{
    const size_t dim = f->dim;
    const enum vs_metric metric = f->metric;
    float *sc = f->scores + (size_t)t * f->batch * SCAN_ROWS;
    struct vs_flat_hit *heaps = f->heap + (size_t)t * f->batch * f->kmax;
    size_t *heapn = f->heapn + (size_t)t * f->batch;
    vs_scan_fn scan = metric == VS_METRIC_L2 ? f->k->l2sq_scan : f->k->dot_scan;
    float (*pair)(const float *, const float *, size_t) =
        metric == VS_METRIC_L2 ? f->k->l2sq : f->k->dot;

    for (uint64_t a = r0; a < r1 && d1 > d0; a += SCAN_ROWS) {
        size_t na = r1 - a < SCAN_ROWS ? (size_t)(r1 - a) : SCAN_ROWS;
        scan(f->qbuf + d0 * dim, d1 - d0, pt->vecs + a * dim, na, dim, sc, SCAN_ROWS,
             (size_t)(r1 - a) - na);
        for (size_t i = 0; i < d1 - d0; i++) {
            size_t qi = f->dense[d0 + i];
            const uint8_t *allow = q[qi].allow ? q[qi].allow[p] : NULL;
            struct vs_flat_hit *h = heaps + qi * f->kmax;
            size_t *hn = &heapn[qi];
            const float *s = sc + i * SCAN_ROWS;
            if (!pt->live && !allow) {
                offer_run(h, hn, q[qi].k, metric, s, na, p, a, pt->ids);
                continue;
            }
            for (size_t r = 0; r < na; r++) {
                uint64_t row = a + r;
                if ((pt->live && !pt->live[row]) || (allow && !allow[row]))
                    continue;
                offer(h, hn, q[qi].k, to_score(metric, s[r]), s[r], p, row,
                      pt->ids[row]);
            }
        }
    }
    for (size_t s = s0; s < s1; s++) {
        size_t qi = f->sparse[s];
        const uint8_t *allow = q[qi].allow ? q[qi].allow[p] : NULL;
        struct vs_flat_hit *h = heaps + qi * f->kmax;
        size_t *hn = &heapn[qi];
        for (uint64_t row = r0; row < r1; row++) {
            if ((pt->live && !pt->live[row]) || (allow && !allow[row]))
                continue;
            float raw = pair(q[qi].vec, pt->vecs + row * dim, dim);
            offer(h, hn, q[qi].k, to_score(metric, raw), raw, p, row, pt->ids[row]);
        }
    }
}

int vs_flat_search(struct vs_flat *f, const struct vs_flat_part *parts,
                   size_t nparts, const struct vs_flat_query *q, size_t nq,
                   struct vs_flat_result *res, struct vs_diag *d)
{
    if (nq > f->batch)
        return vs_diag_set(d, VS_E_USAGE, "%zu queries, the searcher holds %zu",
                           nq, f->batch);
    for (size_t i = 0; i < nq; i++)
        if (q[i].k == 0 || q[i].k > f->kmax)
            return vs_diag_set(d, VS_E_USAGE, "k %zu is not in 1..%zu", q[i].k, f->kmax);
    if (nparts + 1 > f->unit_cap) {
        uint64_t *u = realloc(f->unit_start, (nparts + 1) * sizeof *u);
        if (!u)
            return vs_diag_set(d, VS_E_NOMEM, "cannot allocate search scratch");
        f->unit_start = u;
        f->unit_cap = nparts + 1;
    }

    /* What each query will see; selective ones go the sparse way. */
    uint64_t live_total = 0, rows_total = 0;
    for (size_t p = 0; p < nparts; p++) {
        rows_total += parts[p].rows;
        if (!parts[p].live) {
            live_total += parts[p].rows;
            continue;
        }
        for (uint64_t r = 0; r < parts[p].rows; r++)
            live_total += parts[p].live[r] != 0;
    }
    size_t ndense = 0, nsparse = 0;
    for (size_t i = 0; i < nq; i++) {
        uint64_t matched = 0;
        int any_allow = 0;
        for (size_t p = 0; p < nparts && q[i].allow; p++) {
            const uint8_t *a = q[i].allow[p], *lv = parts[p].live;
            if (!a) {
                for (uint64_t r = 0; r < parts[p].rows; r++)
                    matched += !lv || lv[r];
                continue;
            }
            any_allow = 1;
            for (uint64_t r = 0; r < parts[p].rows; r++)
                matched += a[r] && (!lv || lv[r]);
        }
        if (!q[i].allow)
            matched = live_total;
        res[i].n = 0;
        res[i].scanned = live_total;
        res[i].matched = matched;
        if (any_allow && matched * 4 < live_total) {
            f->sparse[nsparse++] = i;
            res[i].distances = matched;
        } else {
            memcpy(f->qbuf + ndense * f->dim, q[i].vec, f->dim * sizeof(float));
            f->dense[ndense++] = i;
            res[i].distances = rows_total;
        }
    }

    uint64_t units = 0;
    for (size_t p = 0; p < nparts; p++) {
        f->unit_start[p] = units;
        units += (parts[p].rows + f->block_rows - 1) / f->block_rows;
    }
    f->unit_start[nparts] = units;
    memset(f->heapn, 0, (size_t)f->nthreads * f->batch * sizeof *f->heapn);

    /* Work units are (block, chunk of queries): with fewer blocks than
     * about 4 per thread, the batch is cut into chunks so every thread
     * gets work; otherwise one chunk, so each block is read once. */
    uint64_t blocks = units, nchunks = 1;
    size_t dgroups = (ndense + TILE_Q - 1) / TILE_Q;
    if (blocks > 0 && blocks < 4 * (uint64_t)f->nthreads && nq > 1) {
        nchunks = (4 * (uint64_t)f->nthreads + blocks - 1) / blocks;
        uint64_t most = dgroups > nsparse ? dgroups : nsparse;
        if (nchunks > most)
            nchunks = most ? most : 1;
    }
    size_t dper = (size_t)((dgroups + nchunks - 1) / nchunks) * TILE_Q;
    size_t sper = (size_t)((nsparse + nchunks - 1) / nchunks);
    units = blocks * nchunks;
    int nt = f->nthreads;
    if ((uint64_t)nt > units)
        nt = units > 0 ? (int)units : 1;
    VS_OMP("omp parallel num_threads(nt)")
    {
#ifdef _OPENMP
        int t = omp_get_thread_num();
#else
        int t = 0;
#endif
        size_t p = 0;
        VS_OMP("omp for schedule(dynamic, 1)")
        for (uint64_t u = 0; u < units; u++) {
            uint64_t b = u / nchunks, c = u % nchunks;
            while (p > 0 && b < f->unit_start[p])
                p--;
            while (b >= f->unit_start[p + 1])
                p++;
            uint64_t r0 = (b - f->unit_start[p]) * f->block_rows;
            uint64_t r1 = r0 + f->block_rows;
            if (r1 > parts[p].rows)
                r1 = parts[p].rows;
            size_t d0 = (size_t)c * dper, d1 = d0 + dper;
            size_t s0 = (size_t)c * sper, s1 = s0 + sper;
            d0 = d0 < ndense ? d0 : ndense;
            d1 = d1 < ndense ? d1 : ndense;
            s0 = s0 < nsparse ? s0 : nsparse;
            s1 = s1 < nsparse ? s1 : nsparse;
            scan_block(f, &parts[p], p, r0, r1, q, d0, d1, s0, s1, t);
        }
    }

    /* Merge the threads' heaps, then order the hits. */
    for (size_t i = 0; i < nq; i++) {
        size_t n = 0;
        for (int t = 0; t < nt; t++) {
            const struct vs_flat_hit *h = f->heap + ((size_t)t * f->batch + i) * f->kmax;
            size_t hn = f->heapn[(size_t)t * f->batch + i];
            for (size_t j = 0; j < hn; j++)
                heap_push(res[i].hits, &n, q[i].k, &h[j]);
        }
        qsort(res[i].hits, n, sizeof *res[i].hits, cmp_hits);
        res[i].n = n;
    }
    return VS_OK;
}
