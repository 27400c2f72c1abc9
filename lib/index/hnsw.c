/* hnsw.c: HNSW graph build (parallel) and search (filters, tombstones,
 * exact fallback). The serialised form is in hnsw_file.c. See vs_hnsw.h. */
#include "hnsw_internal.h"
#include "quant_internal.h"
#include "vs_quant.h"

#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#ifndef __EMSCRIPTEN__
#include <sys/mman.h>
#endif

#ifdef _OPENMP
#include <omp.h>
#define VS_OMP(x) _Pragma(x)
#else
#define VS_OMP(x)
#endif

/* The build's glue (sorting, pruning, set-up; the beam and the distance
 * kernels excepted) is compiled for size in the WebAssembly module, which
 * has a size budget (wasm/README.md); native builds are unchanged. */
#ifdef __EMSCRIPTEN__
#define WASM_SMALL __attribute__((minsize))
#else
#define WASM_SMALL
#endif

struct hn {
    float d;
    uint32_t id;
};

struct heap {
    struct hn *a;
    size_t n, cap;
};

/* A max-heap of 64-bit keys (hn_key: distance, then id). */
struct kheap {
    uint64_t *a;
    size_t n, cap;
};

struct vs_hnsw_scratch {
    uint8_t *vis;       /* visited marks: == epoch when visited (one byte a
                           node keeps the array in L2; cleared every 255) */
    uint8_t epoch;
    uint64_t n;
    struct heap res;    /* the walk's results (search_layer fills it) */
    uint32_t *nbuf;     /* a copy of one list */
    uint32_t *batch;    /* the unvisited neighbours of one node */
    float *bdist;       /* their distances */
    struct hn *sel;     /* selection work */
    size_t selcap;
    uint64_t visited, dists;
    int err;
    float *prep;        /* a prepared query for vector codes */
    uint32_t *rids;     /* re-scoring: the beam's rows and distances */
    float *rd;
    size_t rcap;
    size_t prepcap;
    uint64_t *keys;     /* the build's sort keys (sort_build) */
    size_t keycap;
    size_t bnb;         /* the build's beam: ids pending in batch (beam_fetch) */
    struct kheap bc, br; /* the beam's heaps: the build's (build_layer,
                            candidates as ~key) and the walk's
                            (search_layer, candidates as hn_key(-d, id));
                            results as key */
};

/* What distances are taken to: float32 rows, or the codes of a vs_quant
 * (q prepared into prep). */
struct space {
    const float *vecs, *q;
    const struct vs_quant *qz;
    const float *prep;
    const struct vs_hnsw_rows *rows; /* lazily decoded vecs, or NULL */
    struct vs_hnsw_scratch *s;       /* where a failed load leaves its status */
    struct vs_diag *d;
    const struct vs_hnsw_rows *codes; /* codes checked on demand, or NULL */
};

/* Make sure row v of lazy rows r holds data; 0 or -3 (the load's status in
 * sp->s->err, its diag in sp->d). */
static int row_load(const struct space *sp, const struct vs_hnsw_rows *r, uint32_t v)
{
    int st = r->load(r->ctx, (uint64_t)v >> r->shift, sp->d);
    if (st != VS_OK) {
        sp->s->err = st;
        return -3;
    }
    return 0;
}

/* Make sure the block of r (NULL: all rows present) holding row v is ready:
 * one acquire load when it is; 0 or -3 as row_load. */
static inline int block_ready(const struct space *sp, const struct vs_hnsw_rows *r,
                              uint32_t v)
{
    if (!r || __atomic_load_n(&r->ready[(uint64_t)v >> r->shift], __ATOMIC_ACQUIRE))
        return 0;
    return row_load(sp, r, v);
}

static inline int row_ready(const struct space *sp, uint32_t v)
{
    return block_ready(sp, sp->rows, v);
}

/* The same for the code of row v (vs_hnsw_query.codes). */
static inline int code_ready(const struct space *sp, uint32_t v)
{
    return block_ready(sp, sp->codes, v);
}

/* Every row of a lazy space (before an exact scan); 0 or -3. */
static int rows_all(const struct space *sp, uint64_t n)
{
    if (!sp->rows)
        return 0;
    for (uint64_t b = 0; n && b <= (n - 1) >> sp->rows->shift; b++)
        if (row_ready(sp, (uint32_t)(b << sp->rows->shift)))
            return -3;
    return 0;
}

/* ---- heaps: max-heap on (d, id) ---- */

static inline int hn_less(struct hn a, struct hn b)
{
    return a.d < b.d || (a.d == b.d && a.id < b.id);
}

/* A binary max-heap's operations over struct PFX (fields a, n, cap) of
 * PFX##_elem, ordered by LESS: PFX##_grow, _push (0, or -1 out of memory),
 * _replace_top (the largest replaced by x) and _pop. */
#define HEAP_OPS(PFX, LESS)                                                       \
    static __attribute__((noinline)) int PFX##_grow(struct PFX *h)                \
    {                                                                             \
        size_t c = h->cap ? h->cap * 2 : 256;                                     \
        PFX##_elem *a = realloc(h->a, c * sizeof *a);                             \
        if (!a)                                                                   \
            return -1;                                                            \
        h->a = a;                                                                 \
        h->cap = c;                                                               \
        return 0;                                                                 \
    }                                                                             \
    static inline int PFX##_push(struct PFX *h, PFX##_elem x)                     \
    {                                                                             \
        if (h->n == h->cap && PFX##_grow(h))                                      \
            return -1;                                                            \
        size_t i = h->n++;                                                        \
        while (i > 0) {                                                           \
            size_t p = (i - 1) / 2;                                               \
            if (!LESS(h->a[p], x))                                                \
                break;                                                            \
            h->a[i] = h->a[p];                                                    \
            i = p;                                                                \
        }                                                                         \
        h->a[i] = x;                                                              \
        return 0;                                                                 \
    }                                                                             \
    static inline void PFX##_replace_top(struct PFX *h, PFX##_elem x)             \
    {                                                                             \
        size_t i = 0, n = h->n;                                                   \
        for (;;) {                                                                \
            size_t l = 2 * i + 1, r = l + 1, m = i;                               \
            PFX##_elem best = x;                                                  \
            if (l < n && LESS(best, h->a[l])) {                                   \
                m = l;                                                            \
                best = h->a[l];                                                   \
            }                                                                     \
            if (r < n && LESS(best, h->a[r]))                                     \
                m = r;                                                            \
            if (m == i)                                                           \
                break;                                                            \
            h->a[i] = h->a[m];                                                    \
            i = m;                                                                \
        }                                                                         \
        h->a[i] = x;                                                              \
    }                                                                             \
    static inline void PFX##_pop(struct PFX *h)                                   \
    {                                                                             \
        PFX##_elem x = h->a[--h->n];                                              \
        if (h->n)                                                                 \
            PFX##_replace_top(h, x);                                              \
    }

typedef struct hn heap_elem;
HEAP_OPS(heap, hn_less)

/* Sort a[0..n) ascending by (d, id) in place: heapify, then move the
 * largest to the end (no comparison callback; a result heap is already
 * heapified, which the first loop then leaves as it is). */
static void sort_hn(struct hn *a, size_t n)
{
    struct heap hp = {a, 0, n};
    for (size_t i = 0; i < n; i++) {
        /* sift a[i] up */
        struct hn x = a[i];
        size_t j = i;
        while (j > 0 && hn_less(a[(j - 1) / 2], x)) {
            a[j] = a[(j - 1) / 2];
            j = (j - 1) / 2;
        }
        a[j] = x;
    }
    hp.n = n;
    while (hp.n > 1) {
        struct hn top = a[0];
        heap_pop(&hp);
        a[hp.n] = top;
    }
}

/* Reorder a[0..n) so that a[0..k) holds its k smallest by (d, id), in any
 * order (quickselect, median of three; k < n): the k best of an ef-wide
 * beam without popping ef - k entries off the heap. */
static void select_k(struct hn *a, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1; /* the k-th smallest (index k - 1) is in [lo, hi] */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (hn_less(a[mid], a[lo])) {
            struct hn t = a[mid]; a[mid] = a[lo]; a[lo] = t;
        }
        if (hn_less(a[hi], a[lo])) {
            struct hn t = a[hi]; a[hi] = a[lo]; a[lo] = t;
        }
        if (hn_less(a[hi], a[mid])) {
            struct hn t = a[hi]; a[hi] = a[mid]; a[mid] = t;
        }
        struct hn pivot = a[mid];
        size_t i = lo, j = hi;
        for (;;) { /* Hoare partition: a[lo..j] <= pivot <= a[j+1..hi] */
            while (hn_less(a[i], pivot))
                i++;
            while (hn_less(pivot, a[j]))
                j--;
            if (i >= j)
                break;
            struct hn t = a[i]; a[i] = a[j]; a[j] = t;
            i++;
            j--;
        }
        if (k - 1 <= j)
            hi = j;
        else
            lo = j + 1;
    }
}

/* ---- the build's sort: (d, id) as one 64-bit key ---- */

/* The key of x, ordered as hn_less orders entries: the float's bits made
 * monotone (negatives flipped, -0 taken as +0 as hn_less has them equal),
 * the id in the low half. Sorting these is one integer compare a step
 * instead of a float compare, a tie test and 8-byte moves of a heap. */
static inline uint64_t hn_key(struct hn x)
{
    float d = x.d + 0.0f; /* -0 + 0 is +0 */
    uint32_t b;
    memcpy(&b, &d, sizeof b);
    b = (b & 0x80000000u) ? ~b : (b | 0x80000000u);
    return (uint64_t)b << 32 | x.id;
}

static inline struct hn hn_of_key(uint64_t k)
{
    uint32_t b = (uint32_t)(k >> 32);
    b = (b & 0x80000000u) ? (b & 0x7fffffffu) : ~b;
    struct hn x;
    memcpy(&x.d, &b, sizeof b);
    x.id = (uint32_t)k;
    return x;
}

#define KEY_LESS(a, b) ((a) < (b))
typedef uint64_t kheap_elem;
HEAP_OPS(kheap, KEY_LESS)

/* Sort a[0..n) ascending by insertion (short or nearly sorted runs). */
static inline void insert_sort_u64(uint64_t *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        uint64_t x = a[i];
        size_t j = i;
        while (j > 0 && a[j - 1] > x) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
}

/* Sort a[0..n) ascending: quicksort (median of three, Hoare partition,
 * the smaller side first so the depth stays under log2 n), insertion sort
 * below 17 entries. */
WASM_SMALL static void sort_u64(uint64_t *a, size_t n)
{
    while (n > 16) {
        uint64_t x = a[0], y = a[n / 2], z = a[n - 1];
        uint64_t p = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        size_t i = 0, j = n - 1;
        for (;;) { /* a[0..j] <= p <= a[j+1..n) at the end */
            while (a[i] < p)
                i++;
            while (p < a[j])
                j--;
            if (i >= j)
                break;
            uint64_t t = a[i];
            a[i] = a[j];
            a[j] = t;
            i++;
            j--;
        }
        size_t left = j + 1;
        if (left >= n)
            break; /* only with equal keys (ids are distinct): finish below */
        if (left < n - left) {
            sort_u64(a, left);
            a += left;
            n -= left;
        } else {
            sort_u64(a + left, n - left);
            n = left;
        }
    }
    insert_sort_u64(a, n);
}

/* Sort a[0..n) ascending through tmp (n entries) without compare
 * branches (sort_u64 mispredicts about every other compare on a beam's
 * random keys): least significant digit first over the four bytes of the
 * keys' distance half (a byte the same in every key skipped), then one
 * insertion pass puts keys of equal distance in id order. n > 0. */
WASM_SMALL static void sort_radix(uint64_t *a, uint64_t *tmp, size_t n)
{
    uint32_t cnt[4][256];
    memset(cnt, 0, sizeof cnt);
    for (size_t i = 0; i < n; i++) {
        uint64_t k = a[i];
        cnt[0][(k >> 32) & 255]++;
        cnt[1][(k >> 40) & 255]++;
        cnt[2][(k >> 48) & 255]++;
        cnt[3][k >> 56]++;
    }
    uint64_t *src = a, *dst = tmp;
    for (unsigned p = 0; p < 4; p++) {
        unsigned sh = 32 + 8 * p;
        uint32_t *c = cnt[p];
        if (c[(src[0] >> sh) & 255] == n)
            continue;
        uint32_t sum = 0;
        for (unsigned b = 0; b < 256; b++) {
            uint32_t x = c[b];
            c[b] = sum;
            sum += x;
        }
        for (size_t i = 0; i < n; i++) {
            uint64_t k = src[i];
            dst[c[(k >> sh) & 255]++] = k;
        }
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
    insert_sort_u64(a, n);
}

/* Sort a[0..n) ascending by (d, id), as sort_hn, through s->keys (at
 * least n entries: insert makes room before it takes any lock). */
WASM_SMALL static void sort_build(struct vs_hnsw_scratch *s, struct hn *a, size_t n)
{
    uint64_t *k = s->keys;
    for (size_t i = 0; i < n; i++)
        k[i] = hn_key(a[i]);
    sort_u64(k, n);
    for (size_t i = 0; i < n; i++)
        a[i] = hn_of_key(k[i]);
}

/* ---- small helpers ---- */

/* The gather kernel of h's metric: raw values (squared L2, or the dot
 * product, which the walk negates). */
static inline vs_gather_fn gather_fn(const struct vs_hnsw *h)
{
    return h->metric == VS_METRIC_L2 ? h->k->l2sq_ids : h->k->dot_ids;
}

static inline float sdist(const struct vs_hnsw *h, const struct space *sp, uint32_t v)
{
    if (sp->qz)
        return vs_quant_dist(sp->qz, sp->prep, v);
    return hnsw_dist(h, sp->q, sp->vecs + (size_t)v * h->dim);
}

static inline uint64_t splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* A node's spin lock, held by the writers of its lists only (get_list
 * copies a list without it). A waiter that spins long (the holder was
 * likely preempted on a busy machine) yields its core instead of burning
 * the holder's time slice. */
static inline void spin_acquire(atomic_flag *f)
{
    unsigned spins = 0;
    while (atomic_flag_test_and_set_explicit(f, memory_order_acquire)) {
        if (++spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        } else {
            sched_yield();
        }
    }
}

static inline void lock(struct vs_hnsw *h, uint32_t i)
{
    spin_acquire(&h->locks[i]);
}

static inline void unlock(struct vs_hnsw *h, uint32_t i)
{
    atomic_flag_clear_explicit(&h->locks[i], memory_order_release);
}

static int scratch_init(struct vs_hnsw_scratch *s, const struct vs_hnsw *h)
{
    memset(s, 0, sizeof *s);
    s->n = h->n;
    s->vis = calloc(h->n ? h->n : 1, sizeof *s->vis);
    s->nbuf = malloc((h->M0 + 1) * sizeof *s->nbuf);
    s->batch = malloc(2 * (h->M0 + 1) * sizeof *s->batch); /* two kept lists */
    s->bdist = malloc((h->M0 + 1) * sizeof *s->bdist);
    s->selcap = h->M0 + 2;
    s->sel = malloc(s->selcap * sizeof *s->sel);
    if (!s->vis || !s->nbuf || !s->sel || !s->batch || !s->bdist)
        return -1;
    return 0;
}

static void scratch_fini(struct vs_hnsw_scratch *s)
{
    free(s->vis);
    free(s->nbuf);
    free(s->batch);
    free(s->bdist);
    free(s->sel);
    free(s->res.a);
    free(s->prep);
    free(s->rids);
    free(s->rd);
    free(s->keys);
    free(s->bc.a);
    free(s->br.a);
}

static inline void new_epoch(struct vs_hnsw_scratch *s)
{
    if (++s->epoch == 0) {
        memset(s->vis, 0, s->n * sizeof *s->vis);
        s->epoch = 1;
    }
}

/* u's list at lv: *ids gets its ids (a copy in s->nbuf while building,
 * the list itself when searching a finished graph).
 * Returns the count, or -1 on a damaged block. */
static inline int get_list(struct vs_hnsw *h, struct vs_hnsw_scratch *s,
                           uint32_t u, int lv, int building, const uint32_t **ids)
{
    uint32_t *l = list_of(h, u, lv);
    if (!l)
        return -1;
    if (!building) {
        *ids = l + 1;
        return (int)l[0];
    }
    /* no lock: writers (under the node's lock) store each id and then the
     * count with release; a copy taken during a prune may mix old and new
     * ids, every one a node of the graph, which a beam tolerates */
    uint32_t c = __atomic_load_n(&l[0], __ATOMIC_ACQUIRE);
    uint32_t cap = lv ? h->M : h->M0;
    if (c > cap)
        c = cap;
    for (uint32_t j = 0; j < c; j++)
        s->nbuf[j] = __atomic_load_n(&l[1 + j], __ATOMIC_RELAXED);
    *ids = s->nbuf;
    return (int)c;
}

/* Greedy walk at one level from *ep toward q. */
static int greedy(struct vs_hnsw *h, struct vs_hnsw_scratch *s,
                  const struct space *sp, uint32_t *ep, float *epd,
                  int lv, int building)
{
    int changed = 1;
    while (changed) {
        changed = 0;
        const uint32_t *ids;
        int c = get_list(h, s, *ep, lv, building, &ids);
        if (c < 0)
            return -1;
        /* the list's distances at once (the gather kernels: the same
         * values as one at a time, and their loads and adds overlap: one
         * row at a time waits on its chain of adds, 48 of them for 384
         * dimensions) */
        if (sp->qz) {
            for (int i = 0; i < c; i++)
                if (code_ready(sp, ids[i]))
                    return -3;
            vs_quant_dist_ids(sp->qz, sp->prep, ids, (size_t)c, s->bdist);
        } else {
            for (int i = 0; i < c; i++)
                if (row_ready(sp, ids[i]))
                    return -3;
            gather_fn(h)(sp->q, sp->vecs, ids, (size_t)c, h->dim, s->bdist);
            if (h->metric != VS_METRIC_L2)
                for (int i = 0; i < c; i++)
                    s->bdist[i] = -s->bdist[i];
        }
        for (int i = 0; i < c; i++) {
            uint32_t v = ids[i];
            float dv = s->bdist[i];
            s->dists++;
            if (dv < *epd) {
                *epd = dv;
                *ep = v;
                changed = 1;
            }
        }
    }
    return 0;
}

/* Prefetch the first cache lines of row v of a table at base (at most 8:
 * the hardware prefetcher follows the rest of a long row); base and stride
 * looked up once per search (vs_quant_code is not inlined across files). */
static inline void prefetch_at(const char *base, size_t stride, uint32_t v, size_t lines)
{
    const char *p = base + (size_t)v * stride;
    for (size_t l = 0; l < lines; l++)
        __builtin_prefetch(p + 64 * l);
}

/* The ids of a list not visited yet into batch (marked visited now), their
 * rows' first lines prefetched, and their entries of norm when given (the
 * int8 kernels' row norms, read after each group's sums: a miss there
 * waited alone); returns how many. */
static inline size_t unvisited(uint8_t *vis, uint8_t epoch, const uint32_t *ids, int cnt,
                               uint32_t *batch, const char *base, size_t stride, size_t lines,
                               const float *norm)
{
    for (int i = 0; i < cnt; i++)
        __builtin_prefetch(vis + ids[i]);
    size_t nb = 0;
    for (int i = 0; i < cnt; i++) {
        uint32_t v = ids[i];
        if (vis[v] == epoch)
            continue;
        vis[v] = epoch;
        batch[nb++] = v;
        prefetch_at(base, stride, v, lines);
        if (norm)
            __builtin_prefetch(norm + v);
    }
    return nb;
}

/* Prefetch the level-0 list of u (the next candidate, likely expanded
 * next) when its block is decoded. */
static inline void prefetch_list(struct vs_hnsw *h, uint32_t u, int lv)
{
    if (lv > 0)
        return;
    uint32_t *blk = atomic_load_explicit(&h->blocks[u >> BLK_SHIFT], memory_order_relaxed);
    if (blk)
        __builtin_prefetch(blk + (size_t)(u & (BLK - 1)) * (h->M0 + 1));
}

/* The same while building: every cache line of u's list at lv (level 0:
 * M0 + 1 words, up to three lines; the list is copied whole next). */
static inline void prefetch_list_all(struct vs_hnsw *h, uint32_t u, int lv)
{
    const char *l = (const char *)list_of(h, u, lv);
    size_t bytes = ((lv ? h->M : h->M0) + 1) * sizeof(uint32_t);
    for (size_t o = 0; o < bytes + 63; o += 64)
        __builtin_prefetch(l + (o < bytes ? o : bytes - 1));
}

/* Beam search at level lv from ep; leaves up to ef admitted nodes in s->res.
 * A node is admitted when live and allow (NULL = all) say so. Per expanded
 * node: its unvisited neighbours are collected first (their rows
 * prefetched), then their distances computed together by the gather
 * kernel, then the heaps updated in list order. */
static int search_layer(struct vs_hnsw *h, struct vs_hnsw_scratch *s,
                        const struct space *sp, uint32_t ep,
                        float epd, size_t ef, int lv, const uint8_t *live,
                        const uint8_t *allow)
{
    /* the hot loop works on locals: kernel, sign, visited marks, counters */
    const float *vecs = sp->vecs, *q = sp->q, *prep = sp->prep;
    const struct vs_quant *qz = sp->qz;
    const size_t dim = h->dim;
    const int l2 = h->metric == VS_METRIC_L2;
    vs_gather_fn fn = gather_fn(h);
    const size_t stride = qz ? vs_quant_code_bytes(qz) : dim * sizeof(float);
    const char *base = qz ? (const char *)vs_quant_code(qz, 0) : (const char *)vecs;
    const float *norm = qz && qz->i8 ? qz->norm : NULL;
    size_t lines = (stride + 63) / 64;
    if (lines > 8)
        lines = 8;
    new_epoch(s);
    uint8_t *vis = s->vis;
    uint32_t *batch = s->batch;
    float *bd = s->bdist;
    const uint8_t epoch = s->epoch;
    uint64_t visited = 1, dists = 0;
    /* the heaps on hn_key keys (one integer compare a step, the order of
     * hn_less): candidates as (-d, id), results as (d, id); s->res gets
     * the results at the end, in the same heap order */
    struct kheap *cand = &s->bc, *res = &s->br;
    cand->n = res->n = 0;
    vis[ep] = epoch;
    if (kheap_push(cand, hn_key((struct hn){-epd, ep})))
        return -2;
    float worst = epd; /* the results' largest distance, once there is one */
    if ((!live || live[ep]) && (!allow || allow[ep]))
        if (kheap_push(res, hn_key((struct hn){epd, ep})))
            return -2;
    int rc = 0;
    while (cand->n) {
        struct hn c = hn_of_key(cand->a[0]);
        if (res->n >= ef && -c.d > worst)
            break;
        kheap_pop(cand);
        if (cand->n)
            prefetch_list(h, (uint32_t)cand->a[0], lv);
        const uint32_t *ids;
        int cnt = get_list(h, s, c.id, lv, 0, &ids);
        if (cnt < 0) {
            rc = -1;
            break;
        }
        size_t nb = unvisited(vis, epoch, ids, cnt, batch, base, stride, lines, norm);
        if (nb == 0)
            continue;
        visited += nb;
        dists += nb;
        if (qz) {
            if (sp->codes)
                for (size_t j = 0; j < nb && rc == 0; j++)
                    if (code_ready(sp, batch[j]))
                        rc = -3;
            if (rc)
                break;
            vs_quant_dist_ids(qz, prep, batch, nb, bd);
        } else {
            if (sp->rows)
                for (size_t j = 0; j < nb && rc == 0; j++)
                    if (row_ready(sp, batch[j]))
                        rc = -3;
            if (rc)
                break;
            fn(q, vecs, batch, nb, dim, bd);
            if (!l2)
                for (size_t j = 0; j < nb; j++)
                    bd[j] = -bd[j];
        }
        for (size_t j = 0; j < nb; j++) {
            float dv = bd[j];
            uint32_t v = batch[j];
            if (res->n < ef || dv < worst) {
                if (kheap_push(cand, hn_key((struct hn){-dv, v}))) {
                    rc = -2;
                    break;
                }
                if ((!live || live[v]) && (!allow || allow[v])) {
                    if (res->n < ef) {
                        if (kheap_push(res, hn_key((struct hn){dv, v}))) {
                            rc = -2;
                            break;
                        }
                    } else {
                        kheap_replace_top(res, hn_key((struct hn){dv, v}));
                    }
                    worst = hn_of_key(res->a[0]).d;
                }
            }
        }
        if (rc)
            break;
    }
    while (s->res.cap < res->n)
        if (heap_grow(&s->res))
            return -2;
    for (size_t i = 0; i < res->n; i++)
        s->res.a[i] = hn_of_key(res->a[i]);
    s->res.n = res->n;
    s->visited += visited;
    s->dists += dists;
    return rc;
}

/* The build's beam at level lv (search_layer's walk with every node
 * admitted, the heaps on hn_key keys: one integer compare a step) on the
 * float32 rows, or on the codes qz when given (q prepared in s->prep).
 * Its state between steps lives in the scratch (heaps, visited marks,
 * the batch pending); beam_fetch and beam_score are its two halves, so
 * that one thread can walk two beams in turn (build_layer2). */
struct bwalk {
    const float *vecs, *q;
    const struct vs_quant *qz;
    const char *base;   /* the rows or codes, stride bytes a row */
    const float *norm;  /* the int8 kernels' row norms (prefetched), or NULL */
    size_t stride, lines, ef;
    int lv;
};

static inline struct bwalk bwalk_of(const struct vs_hnsw *h, const float *vecs, const float *q,
                                    const struct vs_quant *qz, size_t ef, int lv)
{
    struct bwalk w = {.vecs = vecs, .q = q, .qz = qz, .ef = ef, .lv = lv};
    w.stride = qz ? vs_quant_code_bytes(qz) : h->dim * sizeof(float);
    w.base = qz ? (const char *)vs_quant_code(qz, 0) : (const char *)vecs;
    w.norm = qz && qz->i8 ? qz->norm : NULL;
    w.lines = (w.stride + 63) / 64;
    if (w.lines > 8)
        w.lines = 8;
    return w;
}

/* A beam from ep (epd its distance, by the codes on codes); 0 or -2. */
static inline int beam_start(struct vs_hnsw_scratch *s, uint32_t ep, float epd)
{
    new_epoch(s);
    struct kheap *cand = &s->bc, *res = &s->br;
    cand->n = res->n = 0;
    s->bnb = 0;
    s->vis[ep] = s->epoch;
    s->visited++;
    uint64_t k0 = hn_key((struct hn){epd, ep});
    if (kheap_push(cand, ~k0) || kheap_push(res, k0))
        return -2;
    return 0;
}

/* The beam's next expansion up to its distances: the nearest candidate
 * popped (the next one's list prefetched), its unvisited neighbours into
 * s->batch (marked, their rows or codes prefetched). 1 with s->bnb > 0
 * pending, 0 when the beam has stopped (a candidate farther than the
 * ef-th result, by distance only as search_layer, or none left), -1 on a
 * damaged block. */
static inline int beam_fetch(struct vs_hnsw *h, struct vs_hnsw_scratch *s, const struct bwalk *w)
{
    struct kheap *cand = &s->bc, *res = &s->br;
    while (cand->n) {
        uint64_t ck = ~cand->a[0];
        if (res->n >= w->ef && (ck >> 32) > (res->a[0] >> 32))
            return 0;
        kheap_pop(cand);
        if (cand->n)
            prefetch_list_all(h, (uint32_t)~cand->a[0], w->lv);
        const uint32_t *ids;
        int cnt = get_list(h, s, (uint32_t)ck, w->lv, 1, &ids);
        if (cnt < 0)
            return -1;
        size_t nb = unvisited(s->vis, s->epoch, ids, cnt, s->batch, w->base, w->stride,
                              w->lines, w->norm);
        if (nb) {
            s->bnb = nb;
            s->visited += nb;
            s->dists += nb;
            return 1;
        }
    }
    return 0;
}

/* The pending batch's distances, the heaps updated in list order; 0 or
 * -2 (out of memory). */
static inline int beam_score(const struct vs_hnsw *h, struct vs_hnsw_scratch *s,
                             const struct bwalk *w)
{
    const size_t nb = s->bnb, ef = w->ef;
    const uint32_t *batch = s->batch;
    float *bd = s->bdist;
    struct kheap *cand = &s->bc, *res = &s->br;
    if (w->qz) {
        vs_quant_dist_ids(w->qz, s->prep, batch, nb, bd);
    } else {
        gather_fn(h)(w->q, w->vecs, batch, nb, h->dim, bd);
        if (h->metric != VS_METRIC_L2)
            for (size_t j = 0; j < nb; j++)
                bd[j] = -bd[j];
    }
    s->bnb = 0;
    for (size_t j = 0; j < nb; j++) {
        uint64_t kv = hn_key((struct hn){bd[j], batch[j]});
        if (res->n < ef) {
            if (kheap_push(cand, ~kv) || kheap_push(res, kv))
                return -2;
        } else if ((kv >> 32) < (res->a[0] >> 32)) {
            if (kheap_push(cand, ~kv))
                return -2;
            kheap_replace_top(res, kv);
        }
    }
    return 0;
}

/* One beam walked to its end; leaves up to ef keys in s->br (a max-heap).
 * The same nodes in the same order as search_layer. 0, -1 or -2. */
static int build_layer(struct vs_hnsw *h, struct vs_hnsw_scratch *s, const struct bwalk *w,
                       uint32_t ep, float epd)
{
    if (beam_start(s, ep, epd))
        return -2;
    int r;
    while ((r = beam_fetch(h, s, w)) == 1)
        if (beam_score(h, s, w))
            return -2;
    return r;
}

/* Two beams (two inserts' scratches a and b) walked in turn: one's
 * neighbours are scored while the rows or codes the other's last fetch
 * prefetched arrive (one expansion alone is shorter than a memory
 * latency). Each beam visits what build_layer would; 0, -1 or -2. */
static int build_layer2(struct vs_hnsw *h, struct vs_hnsw_scratch *a, const struct bwalk *wa,
                        uint32_t epa, float epda, struct vs_hnsw_scratch *b,
                        const struct bwalk *wb, uint32_t epb, float epdb)
{
    if (beam_start(a, epa, epda) || beam_start(b, epb, epdb))
        return -2;
    int ra = beam_fetch(h, a, wa), rb = beam_fetch(h, b, wb);
    while (ra == 1 || rb == 1) {
        if (ra == 1) {
            if (beam_score(h, a, wa))
                return -2;
            ra = beam_fetch(h, a, wa);
        }
        if (rb == 1) {
            if (beam_score(h, b, wb))
                return -2;
            rb = beam_fetch(h, b, wb);
        }
    }
    return ra < 0 || rb < 0 ? -1 : 0;
}

/* Neighbour selection heuristic: from cand (sorted nearest first, distance
 * to the base node), keep e when it is closer to the base than to every
 * kept one; at most m. Returns the number kept (in place at the front).
 * stable (NULL: none), for the prune of a full level-0 list: stable[i]
 * nonzero when cand[i] is one of the list's first entries that were the
 * kept set of the heuristic run writing them (insert's stable counts),
 * over the same distances (the kernels give a pair the same value in any
 * group: test_distance), so it passed against every other such entry and
 * is checked against the kept entries outside that part only: the same
 * kept set for fewer distances. */
WASM_SMALL static size_t select_heuristic(const struct vs_hnsw *h, struct vs_hnsw_scratch *s,
                               const float *vecs, struct hn *cand, const uint8_t *stable,
                               size_t nc, size_t m)
{
    vs_gather_fn fn = gather_fn(h);
    int neg = h->metric != VS_METRIC_L2;
    uint32_t *kept_ids = s->batch, *kept_new = s->batch + h->M0 + 1; /* m <= M0 */
    float *bd = s->bdist;
    size_t kept = 0, knew = 0;
    for (size_t i = 0; i < nc && kept < m; i++) {
        const float *e = vecs + (size_t)cand[i].id * h->dim;
        int st = stable && stable[i];
        const uint32_t *chk = st ? kept_new : kept_ids;
        size_t nchk = st ? knew : kept;
        int good = 1;
        /* distances to the kept ones four at a time (the gather kernel's
         * tile), stopping at the first group holding a closer one */
        for (size_t j = 0; j < nchk && good; j += 4) {
            size_t g = nchk - j < 4 ? nchk - j : 4;
            fn(e, vecs, chk + j, g, h->dim, bd);
            for (size_t t = 0; t < g; t++)
                if ((neg ? -bd[t] : bd[t]) < cand[i].d)
                    good = 0;
        }
        if (good) {
            kept_ids[kept] = cand[i].id;
            if (!st)
                kept_new[knew++] = cand[i].id;
            cand[kept++] = cand[i];
        }
    }
    return kept;
}

/* The scratch's rids and rd hold at least n; 0 or -1 (out of memory). */
WASM_SMALL static int scratch_rows(struct vs_hnsw_scratch *s, size_t n)
{
    if (n <= s->rcap)
        return 0;
    uint32_t *ri = realloc(s->rids, n * sizeof *ri);
    if (ri)
        s->rids = ri;
    float *rd = realloc(s->rd, n * sizeof *rd);
    if (rd)
        s->rd = rd;
    if (!ri || !rd)
        return -1;
    s->rcap = n;
    return 0;
}

/* q prepared for the codes qz into s->prep (grown as needed); 0 or -1. */
WASM_SMALL static int scratch_prep(struct vs_hnsw_scratch *s, const struct vs_quant *qz, const float *q)
{
    size_t need = vs_quant_prep_floats(qz);
    if (need > s->prepcap) {
        float *p = realloc(s->prep, need * sizeof *p);
        if (!p)
            return -1;
        s->prep = p;
        s->prepcap = need;
    }
    vs_quant_prep(qz, q, s->prep);
    return 0;
}

/* The kernel's distances from q to the n float32 rows ids[] into out (the
 * gather kernel, 16 rows a call, rows prefetched one group ahead): the
 * re-scoring of a beam or a walk over codes. */
WASM_SMALL static void gather_rows(const struct vs_hnsw *h, const float *vecs, const float *q,
                        const uint32_t *ids, size_t n, float *out)
{
    const size_t dim = h->dim, stride = dim * sizeof(float), G = 16;
    vs_gather_fn fn = gather_fn(h);
    size_t lines = (stride + 63) / 64;
    if (lines > 8)
        lines = 8;
    for (size_t i = 0; i < n && i < G; i++)
        prefetch_at((const char *)vecs, stride, ids[i], lines);
    for (size_t g = 0; g < n; g += G) {
        size_t e = g + G < n ? g + G : n;
        for (size_t i = e; i < n && i < e + G; i++)
            prefetch_at((const char *)vecs, stride, ids[i], lines);
        fn(q, vecs, ids + g, e - g, dim, out + g);
    }
}

/* The beam's keys (s->br, n of them) re-scored from the float32 rows
 * (a beam walked on codes): the same keys with exact distances. s->rids
 * and s->rd hold at least n. */
WASM_SMALL static void build_rescore(const struct vs_hnsw *h, struct vs_hnsw_scratch *s,
                          const float *vecs, const float *q)
{
    const size_t n = s->br.n;
    const int l2 = h->metric == VS_METRIC_L2;
    uint64_t *key = s->br.a;
    for (size_t i = 0; i < n; i++)
        s->rids[i] = (uint32_t)key[i];
    gather_rows(h, vecs, q, s->rids, n, s->rd);
    for (size_t i = 0; i < n; i++)
        key[i] = hn_key((struct hn){l2 ? s->rd[i] : -s->rd[i], s->rids[i]});
}

/* The build reads rows, codes and lists all over memory: in 4 KiB pages
 * most reads miss the TLB as well (100k x 128: 51 MB of rows, 13 MB of
 * lists, 13 MB of codes; the perf samples sat on the prefetches). Huge
 * pages are asked for where the build owns the memory (the level-0 lists
 * in one arena, h->l0arena, which vs_hnsw_free knows), and the 2 MiB
 * pages inside the borrowed rows and the codes are collapsed into huge
 * pages where the kernel can (MADV_COLLAPSE, Linux 6.1; a hint: nothing
 * changes where it cannot). */
#define BUILD_HUGE ((size_t)2 << 20)
#if defined(__linux__) && !defined(MADV_COLLAPSE)
#define MADV_COLLAPSE 25 /* <linux/mman.h>; glibc's <sys/mman.h> lacks it */
#endif

WASM_SMALL static void huge_collapse(const void *p, size_t len)
{
#if !defined(__EMSCRIPTEN__) && defined(MADV_COLLAPSE)
    uintptr_t a = ((uintptr_t)p + BUILD_HUGE - 1) & ~(uintptr_t)(BUILD_HUGE - 1);
    uintptr_t e = ((uintptr_t)p + len) & ~(uintptr_t)(BUILD_HUGE - 1);
    if (e > a)
        (void)madvise((void *)a, e - a, MADV_COLLAPSE);
#else
    (void)p;
    (void)len;
#endif
}

/* The level-0 blocks of a graph being built: one zeroed arena in huge
 * pages when they take more than BUILD_HUGE, else one calloc each; 0 or
 * -1 (out of memory). */
WASM_SMALL static int build_blocks(struct vs_hnsw *h)
{
#ifndef __EMSCRIPTEN__
    size_t slot = (size_t)BLK * (h->M0 + 1) * sizeof(uint32_t);
    if (h->nblocks <= SIZE_MAX / slot - 1 && h->nblocks * slot > BUILD_HUGE) {
        size_t cap = (h->nblocks * slot + BUILD_HUGE - 1) / BUILD_HUGE * BUILD_HUGE;
        uint32_t *a = aligned_alloc(BUILD_HUGE, cap);
        if (a) {
            (void)madvise(a, cap, MADV_HUGEPAGE); /* a hint, before the pages exist */
            memset(a, 0, cap);
            h->l0arena = a;
            h->l0slots = cap / slot;
            atomic_store(&h->l0used, h->nblocks);
            for (uint64_t b = 0; b < h->nblocks; b++)
                atomic_store(&h->blocks[b], a + b * (slot / sizeof *a));
            return 0;
        }
    }
#endif
    for (uint64_t b = 0; b < h->nblocks; b++) {
        uint32_t *blk = calloc(blk_rows(h, b) * (h->M0 + 1), sizeof *blk);
        if (!blk)
            return -1;
        atomic_store(&h->blocks[b], blk);
    }
    return 0;
}

/* The scratch made ready for an insert of q: sort keys for a beam (at
 * most efc) and a pruned list (M0 + 1), re-scoring room and q prepared
 * for the codes qz when given; 0 or -1 (out of memory). */
WASM_SMALL static int insert_prepare(const struct vs_hnsw *h, struct vs_hnsw_scratch *s,
                                     const struct vs_quant *qz, const float *q)
{
    size_t kneed = h->efc > h->M0 + 2 ? h->efc : h->M0 + 2;
    if (s->keycap < kneed) {
        uint64_t *k = realloc(s->keys, kneed * sizeof *k);
        if (!k)
            return -1;
        s->keys = k;
        s->keycap = kneed;
    }
    if (qz && (scratch_rows(s, h->efc) || scratch_prep(s, qz, q)))
        return -1;
    return 0;
}

/* Node i's links at lv from the beam left in s->br (re-scored from the
 * rows first when it walked the codes qz): its list by the heuristic,
 * and i added to (or pruned into) each kept neighbour's list. *ep and
 * *epd get the beam's nearest. 0 or -1 (out of memory). stable: see
 * insert. */
WASM_SMALL static int link_level(struct vs_hnsw *h, struct vs_hnsw_scratch *s,
                                 const float *vecs, const struct vs_quant *qz, uint32_t i,
                                 int lv, uint16_t *stable, uint32_t *ep, float *epd)
{
    const float *q = vecs + (size_t)i * h->dim;
    if (qz)
        build_rescore(h, s, vecs, q);
    size_t nc = s->br.n;
    if (nc > s->selcap) {
        struct hn *t = realloc(s->sel, nc * sizeof *t);
        if (!t)
            return -1;
        s->sel = t;
        s->selcap = nc;
    }
    /* the beam's keys sorted, nearest first */
    if (nc >= 64)
        sort_radix(s->br.a, s->keys, nc);
    else
        sort_u64(s->br.a, nc);
    for (size_t j = 0; j < nc; j++)
        s->sel[j] = hn_of_key(s->br.a[j]);
    *ep = s->sel[0].id;
    *epd = s->sel[0].d;
    size_t m = select_heuristic(h, s, vecs, s->sel, NULL, nc, h->M);
    uint32_t mmax = lv ? h->M : h->M0;
    uint32_t *li = list_of(h, i, lv);
    lock(h, i);
    for (size_t j = 0; j < m; j++)
        __atomic_store_n(&li[1 + j], s->sel[j].id, __ATOMIC_RELAXED);
    __atomic_store_n(&li[0], (uint32_t)m, __ATOMIC_RELEASE);
    if (lv == 0)
        stable[i] = (uint16_t)m;
    unlock(h, i);
    for (size_t j = 0; j < m; j++) {
        uint32_t v = s->sel[j].id;
        uint32_t *lvl = list_of(h, v, lv);
        const float *pv = vecs + (size_t)v * h->dim;
        lock(h, v);
        if (lvl[0] < mmax) {
            __atomic_store_n(&lvl[1 + lvl[0]], i, __ATOMIC_RELAXED);
            __atomic_store_n(&lvl[0], lvl[0] + 1, __ATOMIC_RELEASE);
        } else {
            /* prune: v's links plus i, by the heuristic */
            struct hn tmp[2050];
            uint32_t c = lvl[0];
            gather_fn(h)(pv, vecs, lvl + 1, c, h->dim, s->bdist);
            for (uint32_t t = 0; t < c; t++)
                tmp[t] = (struct hn){h->metric == VS_METRIC_L2 ? s->bdist[t] : -s->bdist[t],
                                     lvl[1 + t]};
            tmp[c] = (struct hn){s->sel[j].d, i};
            sort_build(s, tmp, c + 1);
            /* which sorted entries are in the list's stable part */
            uint8_t st[2050];
            uint32_t ks = lv ? 0 : stable[v];
            for (uint32_t t = 0; t <= c; t++) {
                uint8_t f = 0;
                for (uint32_t u = 0; u < ks; u++)
                    f |= lvl[1 + u] == tmp[t].id;
                st[t] = f;
            }
            size_t km = select_heuristic(h, s, vecs, tmp, st, c + 1, mmax);
            if (lv == 0)
                stable[v] = (uint16_t)km;
            for (size_t t = 0; t < km; t++)
                __atomic_store_n(&lvl[1 + t], tmp[t].id, __ATOMIC_RELAXED);
            __atomic_store_n(&lvl[0], (uint32_t)km, __ATOMIC_RELEASE);
        }
        unlock(h, v);
    }
    return 0;
}

/* The greedy walk from the entry point down to level L + 1 for a node of
 * level L: *ep and *epd (by the codes when given) where its beams start,
 * *maxl the graph's top level. 1 when the node becomes the new entry point
 * (L above the top): glock is then still held, for insert to publish it. */
WASM_SMALL static int descend(struct vs_hnsw *h, struct vs_hnsw_scratch *s, const struct space *sp,
                              int L, atomic_flag *glock, _Atomic uint32_t *gentry,
                              _Atomic int *gmax, uint32_t *ep, float *epd, int *maxl)
{
    spin_acquire(glock);
    *maxl = atomic_load(gmax);
    *ep = atomic_load(gentry);
    int hold = L > *maxl;
    if (!hold)
        atomic_flag_clear_explicit(glock, memory_order_release);
    *epd = sdist(h, sp, *ep);
    for (int lv = *maxl; lv > L; lv--)
        greedy(h, s, sp, ep, epd, lv, 1);
    return hold;
}

/* Insert node i. stable[v]: how many first entries of v's level-0 list
 * are the kept set of the heuristic run that wrote them (select_heuristic),
 * read and written under v's lock. */
WASM_SMALL static int insert(struct vs_hnsw *h, struct vs_hnsw_scratch *s,
                  const float *vecs, const struct vs_quant *qz, uint32_t i,
                  uint16_t *stable, atomic_flag *glock, _Atomic uint32_t *gentry,
                  _Atomic int *gmax)
{
    const float *q = vecs + (size_t)i * h->dim;
    int L = h->level[i];
    if (insert_prepare(h, s, qz, q))
        return -1;
    /* the greedy walk down the upper levels on the codes too, when given */
    const struct space sp = {.vecs = vecs, .q = q, .qz = qz, .prep = qz ? s->prep : NULL};
    uint32_t ep;
    float epd;
    int maxl, hold = descend(h, s, &sp, L, glock, gentry, gmax, &ep, &epd, &maxl);
    for (int lv = L < maxl ? L : maxl; lv >= 0; lv--) {
        /* a coded beam starts from ep's distance by the codes */
        struct bwalk w = bwalk_of(h, vecs, q, qz, h->efc, lv);
        if (build_layer(h, s, &w, ep, qz ? vs_quant_dist(qz, s->prep, ep) : epd))
            return -1;
        if (link_level(h, s, vecs, qz, i, lv, stable, &ep, &epd))
            return -1;
    }
    if (hold) {
        atomic_store(gentry, i);
        atomic_store(gmax, L);
        atomic_flag_clear_explicit(glock, memory_order_release);
    }
    return 0;
}

/* Insert nodes i and j (0: none) with two scratches: when the beam walks
 * codes (a graph whose rows outgrow the caches) and both are of level 0
 * (15 of 16 nodes at M 16), their level-0 beams are walked in turn on one
 * thread (build_layer2), which hides one's memory waits behind the
 * other's distances; else one after the other. Neither beam sees the
 * other's links, as two threads' inserts. The WebAssembly module (its size
 * ceiling) always inserts one after the other. */
WASM_SMALL static int insert_pair(struct vs_hnsw *h, struct vs_hnsw_scratch *s2,
                                  const float *vecs, const struct vs_quant *qz, uint32_t i,
                                  uint32_t j, uint16_t *stable, atomic_flag *glock,
                                  _Atomic uint32_t *gentry, _Atomic int *gmax)
{
#ifdef __EMSCRIPTEN__
    const int pairs = 0; /* the module's size ceiling: one beam at a time */
#else
    const int pairs = 1;
#endif
    if (!pairs || !qz || !j || h->level[i] || h->level[j])
        return insert(h, &s2[0], vecs, qz, i, stable, glock, gentry, gmax) ||
               (j && insert(h, &s2[1], vecs, qz, j, stable, glock, gentry, gmax));
    const float *qi = vecs + (size_t)i * h->dim, *qj = vecs + (size_t)j * h->dim;
    if (insert_prepare(h, &s2[0], qz, qi) || insert_prepare(h, &s2[1], qz, qj))
        return -1;
    const struct space si = {.vecs = vecs, .q = qi, .qz = qz, .prep = s2[0].prep};
    const struct space sj = {.vecs = vecs, .q = qj, .qz = qz, .prep = s2[1].prep};
    uint32_t epi, epj;
    float epdi, epdj;
    int maxl; /* (level-0 nodes: never the new entry point, glock released) */
    descend(h, &s2[0], &si, 0, glock, gentry, gmax, &epi, &epdi, &maxl);
    descend(h, &s2[1], &sj, 0, glock, gentry, gmax, &epj, &epdj, &maxl);
    struct bwalk wi = bwalk_of(h, vecs, qi, qz, h->efc, 0);
    struct bwalk wj = bwalk_of(h, vecs, qj, qz, h->efc, 0);
    if (build_layer2(h, &s2[0], &wi, epi, epdi, &s2[1], &wj, epj, epdj))
        return -1;
    return link_level(h, &s2[0], vecs, qz, i, 0, stable, &epi, &epdi) ||
           link_level(h, &s2[1], vecs, qz, j, 0, stable, &epj, &epdj) ? -1 : 0;
}

WASM_SMALL int vs_hnsw_build(const float *vecs, uint64_t n, size_t dim,
                  enum vs_metric metric, const struct vs_hnsw_opts *o,
                  struct vs_hnsw **out, struct vs_diag *d)
{
    *out = NULL;
    uint32_t M = o && o->M ? o->M : 16;
    uint32_t efc = o && o->ef_construction ? o->ef_construction : 200;
    if (dim == 0 || n >= UINT32_MAX || M < 2 || M > 1024)
        return vs_diag_set(d, VS_E_USAGE, "hnsw: dim must be > 0, rows < 2^32 and M in 2..1024");
    if (o && (o->beam < VS_HNSW_BEAM_AUTO || o->beam > VS_HNSW_BEAM_SQ8))
        return vs_diag_set(d, VS_E_USAGE, "hnsw: unknown beam kind %d", o->beam);
    const struct vs_distance_kernels *k = vs_hnsw_kernels(o ? o->simd : -1);
    if (!k)
        return vs_diag_set(d, VS_E_UNSUPPORTED, "hnsw: simd variant not supported on this cpu");
    struct vs_hnsw *h = vs_hnsw_alloc(n, dim, metric, M, k);
    if (!h)
        return vs_diag_set(d, VS_E_NOMEM, "hnsw: out of memory");
    h->efc = efc;
    h->seed = o ? o->seed : 0;
    int rc = VS_OK;
    h->locks = calloc(n ? n : 1, sizeof *h->locks);
    uint16_t *stable = calloc(n ? n : 1, sizeof *stable); /* see insert */
    if (!h->locks || !stable || build_blocks(h))
        goto nomem;
    huge_collapse(vecs, (size_t)n * dim * sizeof(float));
    double ml = 1.0 / log((double)M);
    for (uint64_t i = 0; i < n; i++) {
        atomic_flag_clear(&h->locks[i]);
        uint64_t r = splitmix(h->seed ^ splitmix(i + 1));
        double u = ((double)(r >> 11) + 1.0) / 9007199254740993.0;
        int L = (int)floor(-log(u) * ml);
        if (L > MAX_LEVEL)
            L = MAX_LEVEL;
        h->level[i] = (uint8_t)L;
        if (L > 0) {
            h->upper[i] = calloc((size_t)L * (M + 1), sizeof(uint32_t));
            if (!h->upper[i])
                goto nomem;
        }
    }
    if (n == 0) {
        *out = h;
        free(stable);
        free(h->locks);
        h->locks = NULL;
        return VS_OK;
    }
    atomic_flag glock = ATOMIC_FLAG_INIT;
    _Atomic uint32_t gentry = 0;
    _Atomic int gmax = h->level[0];
    int threads = o && o->threads > 0 ? o->threads : 0;
#ifdef _OPENMP
    if (threads == 0)
        threads = omp_get_max_threads();
#else
    (void)threads; /* a serial build inserts on the one thread */
#endif
    int failed = 0;
    /* the beam on sq8 codes (vs_hnsw_opts.beam): rows that outgrow the
     * caches make a float32 beam wait on memory (128-d rows: 8 lines a
     * distance, 2 for a code) */
    struct vs_quant *qz = NULL;
    int beam = o ? o->beam : VS_HNSW_BEAM_AUTO;
    if (beam == VS_HNSW_BEAM_SQ8 ||
        (beam == VS_HNSW_BEAM_AUTO && (uint64_t)n * dim * sizeof(float) >= VS_HNSW_BEAM_CODES_BYTES))
        if (vs_quant_build(VS_QUANT_SQ8, metric, vecs, n, dim, o ? o->simd : -1, &qz, NULL) != VS_OK)
            goto nomem;
    if (qz)
        huge_collapse(vs_quant_code(qz, 0), (size_t)n * vs_quant_code_bytes(qz));
    VS_OMP("omp parallel num_threads(threads)")
    {
        struct vs_hnsw_scratch s2[2]; /* see insert_pair */
        int ok0 = scratch_init(&s2[0], h) == 0, ok = scratch_init(&s2[1], h) == 0 && ok0;
        if (!ok) {
            VS_OMP("omp atomic write")
            failed = 1;
        }
        /* nodes 1..n-1 in pairs (2p + 1, 2p + 2), 64 nodes a chunk */
        VS_OMP("omp for schedule(dynamic, 32)")
        for (uint64_t p = 0; p < n / 2; p++) {
            uint64_t i = 2 * p + 1, j = i + 1 < n ? i + 1 : 0;
            if (ok && insert_pair(h, s2, vecs, qz, (uint32_t)i, (uint32_t)j, stable, &glock,
                                  &gentry, &gmax)) {
                ok = 0;
                VS_OMP("omp atomic write")
                failed = 1;
            }
        }
        scratch_fini(&s2[0]);
        scratch_fini(&s2[1]);
    }
    vs_quant_free(qz);
    free(stable);
    stable = NULL;
    if (failed)
        goto nomem;
    h->entry = atomic_load(&gentry);
    h->maxlevel = atomic_load(&gmax);
    /* sorted lists: the saved and the built graph are the same graph */
    VS_OMP("omp parallel for schedule(static) num_threads(threads)")
    for (uint64_t i = 0; i < n; i++) {
        for (int lv = 0; lv <= h->level[i]; lv++) {
            uint32_t *l = list_of(h, (uint32_t)i, lv);
            qsort(l + 1, l[0], sizeof *l, hnsw_cmp_u32);
        }
    }
    free(h->locks);
    h->locks = NULL;
    *out = h;
    return rc;
nomem:
    free(stable);
    vs_hnsw_free(h);
    return vs_diag_set(d, VS_E_NOMEM, "hnsw: out of memory while building");
}

uint64_t vs_hnsw_count(const struct vs_hnsw *h) { return h->n; }
size_t vs_hnsw_dim(const struct vs_hnsw *h) { return h->dim; }
uint32_t vs_hnsw_M(const struct vs_hnsw *h) { return h->M; }
uint32_t vs_hnsw_ef_construction(const struct vs_hnsw *h) { return h->efc; }

size_t vs_hnsw_memory(const struct vs_hnsw *h)
{
    size_t m = sizeof *h + h->n * (1 + sizeof *h->upper) +
               h->nblocks * (sizeof *h->blocks + (h->bent ? sizeof *h->bent : 0)) +
               h->len;
    for (uint64_t i = 0; i < h->n; i++)
        m += (size_t)h->level[i] * (h->M + 1) * sizeof(uint32_t);
    for (uint64_t b = 0; b < h->nblocks; b++)
        if (atomic_load(&h->blocks[b]))
            m += blk_rows(h, b) * (h->M0 + 1) * sizeof(uint32_t);
    return m;
}

int vs_hnsw_scratch_new(const struct vs_hnsw *h, struct vs_hnsw_scratch **out,
                        struct vs_diag *d)
{
    *out = NULL;
    struct vs_hnsw_scratch *s = malloc(sizeof *s);
    if (!s || scratch_init(s, h)) {
        if (s)
            scratch_fini(s);
        free(s);
        return vs_diag_set(d, VS_E_NOMEM, "hnsw: out of memory");
    }
    *out = s;
    return VS_OK;
}

void vs_hnsw_scratch_free(struct vs_hnsw_scratch *s)
{
    if (!s)
        return;
    scratch_fini(s);
    free(s);
}

/* ---- search ---- */

/* Re-score the entries of s->res from the float32 rows (gather kernel,
 * rows prefetched one group ahead); 0, -2 (memory) or -3 (a row load). */
static int rescore(struct vs_hnsw *h, struct vs_hnsw_scratch *s, const struct space *sp)
{
    size_t n = s->res.n;
    if (scratch_rows(s, n))
        return -2;
    for (size_t i = 0; i < n; i++) {
        s->rids[i] = s->res.a[i].id;
        if (row_ready(sp, s->rids[i]))
            return -3;
    }
    const int l2 = h->metric == VS_METRIC_L2;
    gather_rows(h, sp->vecs, sp->q, s->rids, n, s->rd);
    for (size_t i = 0; i < n; i++)
        s->res.a[i].d = l2 ? s->rd[i] : -s->rd[i];
    return 0;
}

static int exact_scan(struct vs_hnsw *h, struct vs_hnsw_scratch *s,
                      const float *vecs, const float *q, size_t k,
                      const uint8_t *live, const uint8_t *allow)
{
    s->res.n = 0;
    for (uint64_t r = 0; r < h->n; r++) {
        if ((live && !live[r]) || (allow && !allow[r]))
            continue;
        float dv = hnsw_dist(h, q, vecs + r * h->dim);
        s->dists++;
        struct hn x = {dv, (uint32_t)r};
        if (s->res.n < k) {
            if (heap_push(&s->res, x))
                return -2;
        } else if (hn_less(x, s->res.a[0])) {
            heap_pop(&s->res);
            heap_push(&s->res, x);
        }
    }
    return 0;
}

int vs_hnsw_search(struct vs_hnsw *h, struct vs_hnsw_scratch *s,
                   const float *vecs, const struct vs_hnsw_query *q,
                   struct vs_hnsw_hit *hits, size_t *nhits,
                   struct vs_hnsw_stats *st, struct vs_diag *d)
{
    *nhits = 0;
    if (q->k == 0)
        return vs_diag_set(d, VS_E_USAGE, "hnsw: k must be >= 1");
    if (q->quant && (vs_quant_rows(q->quant) != h->n || vs_quant_dim(q->quant) != h->dim))
        return vs_diag_set(d, VS_E_USAGE, "hnsw: the codes do not match the graph's rows");
    struct vs_hnsw_stats lst = {0};
    s->visited = s->dists = 0;
    s->err = VS_OK;
    struct space sp = {vecs, q->vec, NULL, NULL, q->rows, s, d, NULL};
    size_t k = q->k;
    size_t ef = q->ef ? q->ef : 64;
    if (ef < k)
        ef = k;
    uint64_t matched = h->n;
    int counted = 0;
    if (q->allow) {
        matched = 0;
        for (uint64_t r = 0; r < h->n; r++)
            matched += q->allow[r] && (!q->live || q->live[r]);
        counted = 1;
    }
    double below = q->exact_below == 0 ? 0.05 : q->exact_below;
    int rc = 0;
    if (h->n == 0 || matched == 0) {
        s->res.n = 0;
    } else if (counted && (double)matched < below * (double)h->n) {
        lst.exact = 1;
        rc = rows_all(&sp, h->n);
        if (rc == 0)
            rc = exact_scan(h, s, vecs, q->vec, k, q->live, q->allow);
    } else {
        if (counted && matched < h->n) {
            uint64_t f = (h->n + matched - 1) / matched;
            ef *= f < 4 ? f : 4;
        }
        if (q->quant) {
            if (scratch_prep(s, q->quant, q->vec))
                return vs_diag_set(d, VS_E_NOMEM, "hnsw: out of memory");
            sp.qz = q->quant;
            sp.codes = q->codes;
            sp.prep = s->prep;
        }
        uint32_t ep = h->entry;
        float epd = 0;
        rc = sp.qz ? code_ready(&sp, ep) : row_ready(&sp, ep);
        if (rc == 0) {
            epd = sdist(h, &sp, ep);
            s->dists++;
        }
        for (int lv = h->maxlevel; lv > 0 && rc == 0; lv--)
            rc = greedy(h, s, &sp, &ep, &epd, lv, 0);
        if (rc == 0)
            rc = search_layer(h, s, &sp, ep, epd, ef, 0, q->live, q->allow);
        if (rc == 0 && q->quant) {
            /* re-score the beam's best by the codes (vs_quant_rescore_count)
             * from the full-precision rows, keep k */
            size_t keep = vs_quant_rescore_count(q->quant, k, s->res.n);
            if (s->res.n > keep) {
                select_k(s->res.a, s->res.n, keep);
                s->res.n = keep;
            }
            rc = rescore(h, s, &sp);
        }
        if (rc == 0 && q->quant) {
            lst.rescored = s->res.n;
            if (s->res.n > k) {
                select_k(s->res.a, s->res.n, k);
                s->res.n = k;
            }
        }
        size_t want = k;
        if (rc == 0 && s->res.n < want) {
            if (!counted) {
                matched = 0;
                for (uint64_t r = 0; r < h->n; r++)
                    matched += !q->live || q->live[r];
                counted = 1;
            }
            if (s->res.n < (matched < k ? matched : k)) {
                lst.fallback = 1;
                rc = rows_all(&sp, h->n);
                if (rc == 0)
                    rc = exact_scan(h, s, vecs, q->vec, k, q->live, q->allow);
            }
        }
    }
    lst.ef = ef;
    lst.visited = s->visited;
    lst.distances = s->dists;
    lst.matched = matched;
    if (st)
        *st = lst;
    if (rc == -3)
        return s->err;
    if (rc == -1)
        return vs_diag_set(d, VS_E_CORRUPT, "hnsw: a level-0 block is damaged");
    if (rc)
        return vs_diag_set(d, VS_E_NOMEM, "hnsw: out of memory");
    if (s->res.n > k) {
        select_k(s->res.a, s->res.n, k);
        s->res.n = k;
    }
    size_t n = s->res.n;
    sort_hn(s->res.a, n);
    for (size_t i = 0; i < n; i++) {
        struct hn x = s->res.a[i];
        float raw = h->metric == VS_METRIC_L2 ? x.d : -x.d;
        hits[i].raw = raw;
        hits[i].score = vs_distance_score(h->metric, raw, NULL, NULL);
        hits[i].row = x.id;
    }
    *nhits = n;
    return VS_OK;
}
