/* segment_docs.c: a segment's docs and ids, read on demand (segment.c
 * opens the file and loads its sections).
 *
 * The docs are zstd blocks listed in section DOCINDEX (with the dictionary
 * of section DOCDICT when the writer trained one): a doc is read by
 * decompressing only its block (the last one is kept), or from the docs
 * cache (vs_segment_doc_cache), which keeps each block read decompressed
 * with where each doc starts. A row's id comes from the ids section whole
 * (vs_segment_ids) or, one row at a time, from the row's doc
 * (vs_segment_id; past rows / VS_IDS_WHOLE_DIV ids read that way, from
 * the section whole). */
#include "store_internal.h"
#include "vs_jsonscan.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <zstd.h>

int vs_seg_docs_index(struct vs_segment *g, struct vs_diag *d)
{
    if (g->docidx)
        return VS_OK;
    void *p;
    int st = vs_seg_load_sect(g, VS_SECT_DOCINDEX, &p, d);
    if (st != VS_OK)
        return st;
    const struct vs_sect *docs = vs_seg_find_sect(g, VS_SECT_DOCS);
    const struct vs_sect *ix = vs_seg_find_sect(g, VS_SECT_DOCINDEX);
    uint64_t n = ix->raw / VS_DOCIDX_ENTRY, next = 0;
    uint64_t *first = malloc((n ? n : 1) * sizeof *first);
    if (!first) {
        free(p);
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    }
    for (uint64_t b = 0; b < n; b++) {
        const unsigned char *e = (unsigned char *)p + b * VS_DOCIDX_ENTRY;
        uint64_t off = vs_get64(e), len = vs_get64(e + 8);
        if (off > docs->len || len > docs->len - off || vs_get64(e + 32) != next ||
            vs_get64(e + 40) == 0 || vs_get64(e + 40) > g->rows - next ||
            vs_get64(e + 40) > vs_get64(e + 16) || vs_get64(e + 16) > ((uint64_t)1 << 34)) {
            free(p);
            free(first);
            vs_diag_where(d, g->path, 0);
            return vs_diag_set(d, VS_E_CORRUPT, "section 'docindex': entry %llu is invalid",
                               (unsigned long long)b);
        }
        first[b] = next;
        next += vs_get64(e + 40);
    }
    if (next != g->rows) {
        free(p);
        free(first);
        vs_diag_where(d, g->path, 0);
        return vs_diag_set(d, VS_E_CORRUPT, "section 'docindex': covers %llu rows, not %llu",
                           (unsigned long long)next, (unsigned long long)g->rows);
    }
    g->docidx = p;
    g->dfirst = first;
    g->nblocks = n;
    return VS_OK;
}

/* The decompression context of the docs blocks and, when the segment has
 * section DOCDICT, their dictionary; once (caller holds g->mu). */
static int ensure_dctx(struct vs_segment *g, struct vs_diag *d)
{
    if (g->dctx)
        return VS_OK;
    const struct vs_sect *s = vs_seg_find_sect(g, VS_SECT_DOCDICT);
    if (s && !g->ddict) {
        void *p;
        int st = vs_seg_load_sect(g, VS_SECT_DOCDICT, &p, d);
        if (st != VS_OK)
            return st;
        g->ddict = ZSTD_createDDict(p, (size_t)s->raw);
        free(p);
        if (!g->ddict)
            return vs_seg_corrupt(d, g, "section 'docdict': not a zstd dictionary");
    }
    if (!(g->dctx = ZSTD_createDCtx()))
        return vs_diag_set(d, VS_E_NOMEM, "cannot allocate a zstd context");
    return VS_OK;
}

/* Why a docs block is bad for good (VS_BLK_BAD + the reason) */
enum { DBAD_SIZE, DBAD_SUM, DBAD_FRAME, DBAD_ZSTD, DBAD_COUNT };

/* The error of docs block b damaged for reason why (DBAD_), one text for
 * every caller that meets it */
static int docs_bad(struct vs_diag *d, const struct vs_segment *g, uint64_t b, int why)
{
    unsigned long long bl = (unsigned long long)b;
    switch (why) {
    case DBAD_SIZE: return vs_seg_corrupt(d, g, "section 'docs' block %llu: bad size", bl);
    case DBAD_SUM: return vs_seg_corrupt(d, g, "section 'docs' block %llu: checksum mismatch", bl);
    case DBAD_FRAME:
        return vs_seg_corrupt(d, g, "section 'docs' block %llu: does not decompress to its %llu "
                              "bytes", bl, (unsigned long long)vs_get64(g->docidx + b *
                                                                        VS_DOCIDX_ENTRY + 16));
    case DBAD_ZSTD: return vs_seg_corrupt(d, g, "section 'docs' block %llu: does not decompress", bl);
    default:
        return vs_seg_corrupt(d, g, "section 'docs' block %llu: holds the wrong number of docs", bl);
    }
}

/* Decompress docs block b into dst (raw + 1 bytes, raw from the block's
 * index entry; NUL-terminated) from the mapped file with context dctx
 * (the caller's alone), with the segment's dictionary when it has one;
 * check_block checked it first. *bad: the DBAD_ reason, or -1. */
static int unpack_block(struct vs_segment *g, void *dctx, uint64_t b, char *dst, int *bad,
                        struct vs_diag *d)
{
    const struct vs_sect *docs = vs_seg_find_sect(g, VS_SECT_DOCS);
    const unsigned char *e = g->docidx + b * VS_DOCIDX_ENTRY;
    uint64_t off = vs_get64(e), len = vs_get64(e + 8), raw = vs_get64(e + 16);
    /* vs_seg_docs_index checked that the block lies inside the section, and
     * vs_seg_open that the section lies inside the file */
    const unsigned char *src = g->map + docs->off + off;
    size_t n = g->ddict ? ZSTD_decompress_usingDDict(dctx, dst, (size_t)raw, src,
                                                     (size_t)len, g->ddict)
                        : ZSTD_decompressDCtx(dctx, dst, (size_t)raw, src, (size_t)len);
    /* every doc ends with a newline; a block claiming more docs than it
     * holds is found when one of them is read (vs-index verify counts) */
    *bad = ZSTD_isError(n) || n != raw ? DBAD_ZSTD : dst[raw - 1] != '\n' ? DBAD_COUNT : -1;
    if (*bad >= 0)
        return docs_bad(d, g, b, *bad);
    dst[raw] = '\0';
    return VS_OK;
}

/* The checks of docs block b before it is decompressed (the dictionary and
 * the mapping made): its size, checksum and frame; *raw its decompressed
 * bytes; *bad the DBAD_ reason of a damaged block, or -1. */
static int check_block(struct vs_segment *g, uint64_t b, uint64_t *raw, int *bad,
                       struct vs_diag *d)
{
    const struct vs_sect *docs = vs_seg_find_sect(g, VS_SECT_DOCS);
    const unsigned char *e = g->docidx + b * VS_DOCIDX_ENTRY;
    uint64_t off = vs_get64(e), len = vs_get64(e + 8);
    *raw = vs_get64(e + 16);
    const unsigned char *src = g->map + docs->off + off;
    unsigned long long fs;
    if (*raw / VS_ZSTD_MAX_RATIO > len)
        *bad = DBAD_SIZE;
    else if (XXH64(src, (size_t)len, 0) != vs_get64(e + 24))
        *bad = DBAD_SUM;
    else if ((fs = ZSTD_getFrameContentSize(src, (size_t)len)) == ZSTD_CONTENTSIZE_ERROR ||
             (fs != ZSTD_CONTENTSIZE_UNKNOWN && fs != *raw))
        *bad = DBAD_FRAME;
    else
        *bad = -1;
    return *bad < 0 ? VS_OK : docs_bad(d, g, b, *bad);
}

/* Decompress docs block b into g->blk (caller holds g->mu), into a buffer
 * kept from block to block. */
int vs_seg_docs_block(struct vs_segment *g, uint64_t b, struct vs_diag *d)
{
    if (g->blk_no == b)
        return VS_OK;
    uint64_t raw;
    int bad;
    int st;
    if ((st = ensure_dctx(g, d)) != VS_OK || (st = vs_seg_map(g, d)) != VS_OK ||
        (st = check_block(g, b, &raw, &bad, d)) != VS_OK)
        return st;
    const unsigned char *e = g->docidx + b * VS_DOCIDX_ENTRY;
    g->blk_no = UINT64_MAX;
    if (raw + 1 > g->blk_cap) {
        free(g->blk);
        g->blk_cap = 0;
        if (!(g->blk = malloc((size_t)raw + 1)))
            return vs_diag_set(d, VS_E_NOMEM, "cannot allocate %llu bytes for a docs block",
                               (unsigned long long)raw);
        g->blk_cap = (size_t)raw + 1;
    }
    if ((st = unpack_block(g, g->dctx, b, g->blk, &bad, d)) != VS_OK)
        return st;
    g->blk_len = (size_t)raw;
    g->blk_no = b;
    g->blk_first = vs_get64(e + 32);
    g->blk_n = vs_get64(e + 40);
    g->blk_at_row = 0;
    g->blk_at = 0;
    return VS_OK;
}

/* A docs block kept by the cache (vs_segment_doc_cache): doc k (k <
 * nfound) is text[off[k] .. off[k + 1] - 1) (without its newline). */
struct vs_docblk {
    uint64_t first, nfound;
    size_t *off;
    char *text;
};

/* The bytes a cached block of n docs and raw text bytes takes (a
 * multiple of 16, so that blocks carved one after another stay aligned). */
static size_t docblk_bytes(uint64_t n, uint64_t raw)
{
    size_t b = sizeof(struct vs_docblk) + (size_t)(n + 1) * sizeof(size_t) + (size_t)raw + 1;
    return (b + 15) / 16 * 16;
}

/* The docs block that holds row (the docs index is loaded): binary
 * search on the blocks' first rows, a dense array (8 bytes a block, not
 * one cache line each as in docidx). */
static uint64_t doc_block_of(const struct vs_segment *g, uint64_t row)
{
    const uint64_t *f = g->dfirst;
    uint64_t lo = 0, hi = g->nblocks;
    while (hi - lo > 1) {
        uint64_t mid = (lo + hi) / 2;
        if (f[mid] <= row)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* What the cache's decoding needs made once, under g->mu: the dictionary,
 * the mapping and the region the blocks are carved from. */
static int docs_prep(struct vs_segment *g, struct vs_diag *d)
{
    if (__atomic_load_n(&g->dprep, __ATOMIC_ACQUIRE))
        return VS_OK;
    pthread_mutex_lock(&g->mu);
    int st = VS_OK;
    if (!g->dprep && (st = ensure_dctx(g, d)) == VS_OK && (st = vs_seg_map(g, d)) == VS_OK) {
        if (!g->darena && g->darena_cap && !(g->darena = vs_seg_big_alloc(g->darena_cap)))
            g->darena_cap = 0; /* no region: each block malloc'd */
        __atomic_store_n(&g->dprep, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&g->mu);
    return st;
}

/* A zstd context for one decode: a free one of the segment's (made on
 * first use), else a new one (*slot -1: dctx_put frees it); NULL when
 * out of memory. */
static ZSTD_DCtx *dctx_get(struct vs_segment *g, int *slot)
{
    for (int i = 0; i < VS_SEG_DCTX_POOL; i++) {
        uint8_t z = 0;
        if (!__atomic_compare_exchange_n(&g->dctxbusy[i], &z, 1, 0, __ATOMIC_ACQUIRE,
                                         __ATOMIC_RELAXED))
            continue;
        if (!g->dctxs[i])
            g->dctxs[i] = ZSTD_createDCtx();
        if (g->dctxs[i]) {
            *slot = i;
            return g->dctxs[i];
        }
        __atomic_store_n(&g->dctxbusy[i], 0, __ATOMIC_RELEASE);
        break;
    }
    *slot = -1;
    return ZSTD_createDCtx();
}

static void dctx_put(struct vs_segment *g, ZSTD_DCtx *c, int slot)
{
    if (slot < 0)
        ZSTD_freeDCtx(c);
    else
        __atomic_store_n(&g->dctxbusy[slot], 0, __ATOMIC_RELEASE);
}

/* Room for a cached block of bytes: the budget first (*out NULL when it
 * would pass it), then carved from the region, else malloc'd (*carved 0);
 * atomic, for threads filling blocks at once. */
static int docblk_room(struct vs_segment *g, size_t bytes, struct vs_docblk **out,
                       int *carved, struct vs_diag *d)
{
    *out = NULL;
    *carved = 0;
    size_t used = __atomic_load_n(&g->dcache_bytes, __ATOMIC_RELAXED);
    do {
        if (bytes > g->dcache_budget - used || used > g->dcache_budget)
            return VS_OK; /* over budget: read as without the cache */
    } while (!__atomic_compare_exchange_n(&g->dcache_bytes, &used, used + bytes, 1,
                                          __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    size_t at = __atomic_load_n(&g->darena_used, __ATOMIC_RELAXED);
    while (g->darena && bytes <= g->darena_cap - at) {
        if (__atomic_compare_exchange_n(&g->darena_used, &at, at + bytes, 1, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED)) {
            *out = (struct vs_docblk *)(void *)(g->darena + at);
            *carved = 1;
            return VS_OK;
        }
    }
    if (!(*out = malloc(bytes))) {
        __atomic_fetch_sub(&g->dcache_bytes, bytes, __ATOMIC_RELAXED);
        return vs_diag_set(d, VS_E_NOMEM, "cannot allocate %zu bytes for a docs block", bytes);
    }
    return VS_OK;
}

/* Give back the room of a block that did not fill: its budget, and its
 * place in the region when it is still the last carved. */
static void docblk_unroom(struct vs_segment *g, struct vs_docblk *c, size_t bytes, int carved)
{
    if (carved) {
        size_t end = (size_t)((char *)c - g->darena) + bytes, at = end - bytes;
        (void)__atomic_compare_exchange_n(&g->darena_used, &end, at, 0, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED);
    } else {
        free(c);
    }
    __atomic_fetch_sub(&g->dcache_bytes, bytes, __ATOMIC_RELAXED);
}

/* Fill docs block b of the cache (the caller holds it: vs_blk_claim): *out
 * the block, or NULL when keeping it would pass the budget; *bad the DBAD_
 * reason of a damaged block, or -1. */
static int fill_block(struct vs_segment *g, uint64_t b, struct vs_docblk **out, int *bad,
                      struct vs_diag *d)
{
    *out = NULL;
    const unsigned char *e = g->docidx + b * VS_DOCIDX_ENTRY;
    uint64_t raw, n = vs_get64(e + 40);
    int st = check_block(g, b, &raw, bad, d);
    if (st != VS_OK)
        return st;
    size_t bytes = docblk_bytes(n, raw);
    struct vs_docblk *c;
    int carved, slot;
    if ((st = docblk_room(g, bytes, &c, &carved, d)) != VS_OK || !c)
        return st;
    c->off = (size_t *)(void *)(c + 1);
    c->text = (char *)(c->off + n + 1);
    ZSTD_DCtx *dctx = dctx_get(g, &slot);
    if (!dctx)
        st = vs_diag_set(d, VS_E_NOMEM, "cannot allocate a zstd context");
    else
        st = unpack_block(g, dctx, b, c->text, bad, d);
    if (dctx)
        dctx_put(g, dctx, slot);
    if (st != VS_OK) {
        docblk_unroom(g, c, bytes, carved);
        return st;
    }
    c->first = vs_get64(e + 32);
    c->nfound = 0;
    size_t p = 0;
    c->off[0] = 0;
    while (c->nfound < n) {
        const char *nl = p < raw ? memchr(c->text + p, '\n', (size_t)raw - p) : NULL;
        if (!nl)
            break;
        p = (size_t)(nl - c->text) + 1;
        c->off[++c->nfound] = p;
    }
    *out = c;
    return VS_OK;
}

/* Docs block b into the cache, decoded without g->mu by the one thread
 * that claims it (others decode other blocks meanwhile; one that needs
 * this block waits for it): *out the block, or NULL when keeping it would
 * pass the budget (the caller reads it the uncached way). A damaged block
 * gives every caller the same error. */
static int cache_block(struct vs_segment *g, uint64_t b, struct vs_docblk **out,
                       struct vs_diag *d)
{
    *out = NULL;
    int st = docs_prep(g, d);
    if (st != VS_OK)
        return st;
    uint8_t s = vs_blk_claim(&g->dstate[b]);
    if (s == VS_BLK_READY)
        *out = __atomic_load_n(&g->dcache[b], __ATOMIC_ACQUIRE);
    if (s != VS_BLK_EMPTY)
        return s >= VS_BLK_BAD ? docs_bad(d, g, b, s - VS_BLK_BAD) : VS_OK;
    int bad;
    st = fill_block(g, b, out, &bad, d);
    if (*out)
        __atomic_store_n(&g->dcache[b], *out, __ATOMIC_RELEASE);
    vs_blk_settle(&g->dstate[b], st != VS_OK ? (bad >= 0 ? (uint8_t)(VS_BLK_BAD + bad)
                                                         : VS_BLK_EMPTY)
                                 : *out ? VS_BLK_READY : VS_BLK_UNCACHED);
    return st;
}

int vs_segment_doc_cache(struct vs_segment *g, size_t budget, struct vs_diag *d)
{
    pthread_mutex_lock(&g->mu);
    int st = VS_OK;
    if (!g->dcache && (st = vs_seg_docs_index(g, d)) == VS_OK) {
        struct vs_docblk **dc = calloc(g->nblocks ? g->nblocks : 1, sizeof *dc);
        g->dstate = calloc(g->nblocks ? g->nblocks : 1, 1);
        if (!dc || !g->dstate) {
            free(dc);
            free(g->dstate);
            g->dstate = NULL;
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        } else {
            /* the region for every block (vs_seg_docs_index checked each
             * block's sizes), at most the budget; reserved on first use */
            size_t all = 0;
            for (uint64_t b = 0; b < g->nblocks && all < budget; b++) {
                const unsigned char *e = g->docidx + b * VS_DOCIDX_ENTRY;
                all += docblk_bytes(vs_get64(e + 40), vs_get64(e + 16));
            }
            g->darena_cap = all < budget ? all : budget;
            g->dcache_budget = budget;
            __atomic_store_n(&g->dcache, dc, __ATOMIC_RELEASE);
        }
    }
    pthread_mutex_unlock(&g->mu);
    return st;
}

size_t vs_segment_doc_cache_bytes(struct vs_segment *g)
{
    return __atomic_load_n(&g->dcache, __ATOMIC_ACQUIRE)
               ? __atomic_load_n(&g->dcache_bytes, __ATOMIC_RELAXED)
               : 0;
}

/* Row's doc in the cache: *p its bytes in the cached block (followed by
 * its newline, not a NUL), *n their length; *p NULL when the cache cannot
 * give it (over budget) and the caller reads it the uncached way. */
static int cached_view(struct vs_segment *g, struct vs_docblk **dc, uint64_t row,
                       const char **p, size_t *n, struct vs_diag *d)
{
    *p = NULL;
    *n = 0;
    uint64_t b = doc_block_of(g, row);
    struct vs_docblk *c = __atomic_load_n(&dc[b], __ATOMIC_ACQUIRE);
    if (!c) {
        int st = cache_block(g, b, &c, d);
        if (st != VS_OK)
            return st;
        if (!c)
            return VS_OK;
    }
    uint64_t k = row - c->first;
    if (k >= c->nfound)
        return vs_seg_corrupt(d, g, "section 'docs' block %llu: holds the wrong number of docs",
                              (unsigned long long)b);
    *p = c->text + c->off[k];
    *n = c->off[k + 1] - 1 - c->off[k];
    return VS_OK;
}

/* Row's doc from the cache into *buf; *done 0 when the cache cannot give
 * it (over budget) and the caller reads it the uncached way. */
static int cached_doc(struct vs_segment *g, struct vs_docblk **dc, uint64_t row,
                      char **buf, size_t *cap, size_t *len, int *done, struct vs_diag *d)
{
    const char *src;
    size_t n;
    int st = cached_view(g, dc, row, &src, &n, d);
    *done = src != NULL;
    if (st != VS_OK || !src)
        return st;
    if (n + 1 > *cap) {
        char *p = realloc(*buf, n + 1);
        if (!p)
            return vs_diag_set(d, VS_E_NOMEM, "cannot allocate a doc");
        *buf = p;
        *cap = n + 1;
    }
    memcpy(*buf, src, n);
    (*buf)[n] = '\0';
    *len = n;
    return VS_OK;
}

/* Where doc k of the loaded block starts (*a) and its length without the
 * newline (*n); from the last doc found when k is past it. */
static int block_doc(struct vs_segment *g, uint64_t k, size_t *a, size_t *n,
                     struct vs_diag *d)
{
    uint64_t j = 0;
    size_t p = 0;
    if (g->blk_at_row <= k) {
        j = g->blk_at_row;
        p = g->blk_at;
    }
    for (;;) {
        const char *nl = p < g->blk_len ? memchr(g->blk + p, '\n', g->blk_len - p) : NULL;
        if (!nl)
            return vs_seg_corrupt(d, g, "section 'docs' block %llu: holds the wrong number of docs",
                                  (unsigned long long)g->blk_no);
        size_t end = (size_t)(nl - g->blk);
        if (j == k) {
            *a = p;
            *n = end - p;
            g->blk_at_row = k + 1;
            g->blk_at = end + 1;
            return VS_OK;
        }
        p = end + 1;
        j++;
    }
}

int vs_seg_doc_raw(struct vs_segment *g, uint64_t row, char **buf, size_t *cap,
                   size_t *len, struct vs_diag *d)
{
    if (row >= g->rows)
        return vs_diag_set(d, VS_E_INTERNAL, "row %llu out of range",
                           (unsigned long long)row);
    struct vs_docblk **dc = __atomic_load_n(&g->dcache, __ATOMIC_ACQUIRE);
    if (dc) { /* set after the docs index was loaded */
        int done, st = cached_doc(g, dc, row, buf, cap, len, &done, d);
        if (st != VS_OK || done)
            return st;
    }
    pthread_mutex_lock(&g->mu);
    int st = vs_seg_docs_index(g, d);
    if (st != VS_OK)
        goto out;
    if (g->blk_no == UINT64_MAX || row < g->blk_first || row - g->blk_first >= g->blk_n) {
        if ((st = vs_seg_docs_block(g, doc_block_of(g, row), d)) != VS_OK)
            goto out;
    }
    size_t a = 0, n = 0;
    if ((st = block_doc(g, row - g->blk_first, &a, &n, d)) != VS_OK)
        goto out;
    if (n + 1 > *cap) {
        char *p = realloc(*buf, n + 1);
        if (!p) {
            st = vs_diag_set(d, VS_E_NOMEM, "cannot allocate a doc");
            goto out;
        }
        *buf = p;
        *cap = n + 1;
    }
    memcpy(*buf, g->blk + a, n);
    (*buf)[n] = '\0';
    *len = n;
out:
    pthread_mutex_unlock(&g->mu);
    return st;
}

int vs_segment_ids(struct vs_segment *g, const char *const **ids,
                   struct vs_diag *d)
{
    pthread_mutex_lock(&g->mu);
    int st = VS_OK;
    if (!g->ids) {
        void *p;
        st = vs_seg_load_sect(g, VS_SECT_IDS, &p, d);
        if (st != VS_OK)
            goto out;
        const struct vs_sect *s = vs_seg_find_sect(g, VS_SECT_IDS);
        const char **v = malloc((g->rows ? g->rows : 1) * sizeof *v);
        if (!v) {
            free(p);
            st = vs_diag_set(d, VS_E_NOMEM, "cannot allocate ids");
            goto out;
        }
        /* an id starts after each NUL: found 8 bytes at a time (the exact
         * zero-byte test, no false hits), so 1M short ids split in about a
         * millisecond instead of a strlen call each */
        const char *c = p;
        uint64_t k = 0, start = 0, i = 0;
        const uint64_t lo7 = 0x7f7f7f7f7f7f7f7fULL;
        if (g->rows && s->raw)
            v[k++] = c;
        for (; i + 8 <= s->raw && k <= g->rows; i += 8) {
            uint64_t x;
            memcpy(&x, c + i, 8);
            uint64_t z = ~(((x & lo7) + lo7) | x | lo7); /* 0x80 where a byte is 0 */
            while (z) {
                uint64_t at = i + (uint64_t)__builtin_ctzll(z) / 8 + 1;
                z &= z - 1;
                start = at;
                if (at < s->raw) {
                    if (k == g->rows) {
                        k++; /* one id too many */
                        break;
                    }
                    v[k++] = c + at;
                }
            }
        }
        for (; i < s->raw && k <= g->rows; i++)
            if (c[i] == '\0') {
                start = i + 1;
                if (i + 1 < s->raw) {
                    if (k == g->rows) {
                        k++;
                        break;
                    }
                    v[k++] = c + i + 1;
                }
            }
        if (k != g->rows || start != s->raw) {
            free(p);
            free(v);
            vs_diag_where(d, g->path, 0);
            st = vs_diag_set(d, VS_E_CORRUPT, "section 'ids': holds %llu ids, not %llu",
                             (unsigned long long)k, (unsigned long long)g->rows);
            goto out;
        }
        g->idbuf = p;
        __atomic_store_n(&g->ids, v, __ATOMIC_RELEASE);
    }
out:
    *ids = g->ids;
    pthread_mutex_unlock(&g->mu);
    return st;
}

static const char *const id_key[] = {"id"};

int vs_segment_id(struct vs_segment *g, uint64_t row, const char **id,
                  struct vs_diag *d)
{
    *id = NULL;
    if (row >= g->rows)
        return vs_diag_set(d, VS_E_INTERNAL, "row %llu out of range",
                           (unsigned long long)row);
    const char **all = __atomic_load_n(&g->ids, __ATOMIC_ACQUIRE);
    if (all) {
        *id = all[row];
        return VS_OK;
    }
    char **slot = __atomic_load_n(&g->idrow, __ATOMIC_ACQUIRE);
    char *got = slot ? __atomic_load_n(&slot[row], __ATOMIC_ACQUIRE) : NULL;
    if (got) {
        *id = got;
        return VS_OK;
    }
    if (__atomic_add_fetch(&g->idreads, 1, __ATOMIC_RELAXED) >
        __atomic_load_n(&g->idwhole_after, __ATOMIC_RELAXED)) {
        /* many ids asked (a batch of queries): the ids section whole is
         * cheaper; when it cannot be loaded (damaged), the docs still give
         * the ids one at a time, as before */
        const char *const *ids;
        if (vs_segment_ids(g, &ids, NULL) == VS_OK) {
            *id = ids[row];
            return VS_OK;
        }
        __atomic_store_n(&g->idwhole_after, UINT64_MAX, __ATOMIC_RELAXED);
    }
    /* the row's doc holds its id (vs_writer_upsert keeps "id" in the doc;
     * the ids section holds the same string): one docs block is read, not
     * the whole ids section; scanned where the docs cache keeps it, else
     * in a copy */
    char *buf = NULL;
    size_t cap = 0, len = 0;
    const char *text = NULL;
    struct vs_docblk **dc = __atomic_load_n(&g->dcache, __ATOMIC_ACQUIRE);
    int st = dc ? cached_view(g, dc, row, &text, &len, d) : VS_OK;
    if (st == VS_OK && !text && (st = vs_seg_doc_raw(g, row, &buf, &cap, &len, d)) == VS_OK)
        text = buf;
    if (st != VS_OK)
        return st;
    struct vs_json_span sp;
    json_t *doc = NULL;
    const char *v = NULL;
    size_t vn = 0;
    if (vs_json_scan_doc(text, len, id_key, 1, &sp) && sp.p && !sp.esc && sp.n >= 2 &&
        sp.p[0] == '"') {
        v = sp.p + 1; /* no escape: the bytes between the quotes */
        vn = sp.n - 2;
    } else {
        doc = json_loadb(text, len, 0, NULL);
        json_t *j = doc ? json_object_get(doc, "id") : NULL;
        if (json_is_string(j)) {
            v = json_string_value(j);
            vn = json_string_length(j);
        }
    }
    if (!v || vn == 0 || memchr(v, '\0', vn)) {
        /* a doc without its id (not written by this library): the ids
         * section, whole */
        json_decref(doc);
        free(buf);
        const char *const *ids;
        if ((st = vs_segment_ids(g, &ids, d)) != VS_OK)
            return st;
        *id = ids[row];
        return VS_OK;
    }
    pthread_mutex_lock(&g->mu);
    if (!g->idrow) {
        /* published for the unlocked readers above */
        char **rows = calloc((size_t)g->rows, sizeof *rows);
        if (rows)
            __atomic_store_n(&g->idrow, rows, __ATOMIC_RELEASE);
    }
    if (!g->idrow) {
        st = vs_diag_set(d, VS_E_NOMEM, "cannot allocate ids");
    } else if (!(got = g->idrow[row])) {
        if (!(got = vs_strpool_dup(&g->idpool, v, vn))) /* under g->mu */
            st = vs_diag_set(d, VS_E_NOMEM, "cannot allocate an id");
        else
            __atomic_store_n(&g->idrow[row], got, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&g->mu);
    json_decref(doc);
    free(buf);
    *id = got;
    return st;
}

int vs_segment_doc_raw(struct vs_segment *g, uint64_t row, char **buf,
                       size_t *cap, size_t *len, struct vs_diag *d)
{
    return vs_seg_doc_raw(g, row, buf, cap, len, d);
}

int vs_segment_doc(struct vs_segment *g, uint64_t row, json_t **doc,
                   struct vs_diag *d)
{
    *doc = NULL;
    char *buf = NULL;
    size_t cap = 0, len = 0;
    int st = vs_seg_doc_raw(g, row, &buf, &cap, &len, d);
    if (st != VS_OK)
        return st;
    json_error_t je;
    *doc = json_loadb(buf, len, 0, &je);
    free(buf);
    if (!*doc || !json_is_object(*doc)) {
        json_decref(*doc);
        *doc = NULL;
        vs_diag_where(d, g->path, 0);
        return vs_diag_set(d, VS_E_CORRUPT, "section 'docs': row %llu is not a JSON object",
                           (unsigned long long)row);
    }
    return VS_OK;
}
