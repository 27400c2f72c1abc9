/* hnsw_file.c: the serialised form of an HNSW graph (vs_hnsw_save,
 * vs_hnsw_open) and its level-0 blocks, decoded on first touch. See the
 * layout in vs_hnsw.h. */
#include "hnsw_internal.h"

#include <stdlib.h>
#include <string.h>

#include <xxhash.h>
#include <zstd.h>

#define HDR_SIZE 88
#define BENT_SIZE 24
static const char MAGIC[8] = {'V', 'S', 'H', 'N', 'S', 'W', '0', '1'};

struct wbuf {
    uint8_t *p;
    size_t n, cap;
    int oom;
};

static void wb_need(struct wbuf *w, size_t more)
{
    if (w->oom || w->n + more <= w->cap)
        return;
    size_t c = w->cap ? w->cap : 4096;
    while (c < w->n + more)
        c *= 2;
    uint8_t *p = realloc(w->p, c);
    if (!p) {
        w->oom = 1;
        return;
    }
    w->p = p;
    w->cap = c;
}

static void wb_varint(struct wbuf *w, uint64_t v)
{
    wb_need(w, 10);
    if (w->oom)
        return;
    while (v >= 0x80) {
        w->p[w->n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    w->p[w->n++] = (uint8_t)v;
}

static void wb_list(struct wbuf *w, const uint32_t *l)
{
    wb_varint(w, l[0]);
    uint32_t prev = 0;
    for (uint32_t j = 0; j < l[0]; j++) {
        wb_varint(w, l[1 + j] - prev);
        prev = l[1 + j];
    }
}

static int rd_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (int sh = 0; sh < 64; sh += 7) {
        if (*p >= end)
            return -1;
        uint8_t b = *(*p)++;
        x |= (uint64_t)(b & 0x7f) << sh;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

static int rd_list(const uint8_t **p, const uint8_t *end, uint32_t *l,
                   uint32_t max, uint64_t n)
{
    uint64_t c, prev = 0, g;
    if (rd_varint(p, end, &c) || c > max)
        return -1;
    l[0] = (uint32_t)c;
    for (uint64_t j = 0; j < c; j++) {
        if (rd_varint(p, end, &g))
            return -1;
        prev += g;
        if (prev >= n || (j > 0 && g == 0))
            return -1;
        l[1 + j] = (uint32_t)prev;
    }
    return 0;
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* zstd-compress src into w; returns the compressed size or 0 on failure. */
static size_t wb_zstd(struct wbuf *w, const struct wbuf *src, int level)
{
    size_t bound = ZSTD_compressBound(src->n);
    wb_need(w, bound);
    if (w->oom)
        return 0;
    size_t c = ZSTD_compress(w->p + w->n, bound, src->p, src->n, level);
    if (ZSTD_isError(c))
        return 0;
    w->n += c;
    return c;
}

int vs_hnsw_save(const struct vs_hnsw *hc, int zstd_level, void **buf,
                 size_t *len, struct vs_diag *d)
{
    struct vs_hnsw *h = (struct vs_hnsw *)(uintptr_t)hc;
    *buf = NULL;
    *len = 0;
    struct wbuf out = {0}, raw = {0};
    int rc = VS_OK;
    size_t tab = HDR_SIZE, upper_off = tab + h->nblocks * BENT_SIZE;
    wb_need(&out, upper_off);
    if (out.oom)
        goto nomem;
    memset(out.p, 0, upper_off);
    out.n = upper_off;
    for (uint64_t i = 0; i < h->n; i++)
        wb_varint(&raw, h->level[i]);
    for (uint64_t i = 0; i < h->n; i++)
        for (int lv = 1; lv <= h->level[i]; lv++)
            wb_list(&raw, list_of(h, (uint32_t)i, lv));
    if (raw.oom)
        goto nomem;
    size_t uraw = raw.n, uc = raw.n ? wb_zstd(&out, &raw, zstd_level) : 0;
    if (raw.n && !uc)
        goto nomem;
    uint64_t uhash = XXH64(out.p + upper_off, uc, 0);
    for (uint64_t b = 0; b < h->nblocks; b++) {
        raw.n = 0;
        uint64_t rows = blk_rows(h, b);
        for (uint64_t r = 0; r < rows; r++) {
            const uint32_t *l = list_of(h, (uint32_t)(b * BLK + r), 0);
            if (!l) {
                rc = vs_diag_set(d, VS_E_CORRUPT, "hnsw: a level-0 block is damaged");
                goto fail;
            }
            wb_list(&raw, l);
        }
        if (raw.oom)
            goto nomem;
        size_t off = out.n, c = wb_zstd(&out, &raw, zstd_level);
        if (!c)
            goto nomem;
        uint8_t *e = out.p + tab + b * BENT_SIZE;
        put64(e, off);
        put32(e + 8, (uint32_t)c);
        put32(e + 12, (uint32_t)rows);
        put64(e + 16, XXH64(out.p + off, c, 0));
    }
    uint8_t *p = out.p;
    memcpy(p, MAGIC, 8);
    put32(p + 8, 1);
    put32(p + 12, (uint32_t)h->dim);
    put32(p + 16, (uint32_t)h->metric);
    put32(p + 20, h->M);
    put32(p + 24, h->efc);
    put32(p + 28, h->entry);
    put64(p + 32, h->n);
    put64(p + 40, h->seed);
    put32(p + 48, (uint32_t)h->maxlevel);
    put32(p + 52, (uint32_t)uraw);
    put64(p + 56, uc);
    put64(p + 64, uhash);
    put64(p + 72, h->nblocks);
    put64(p + 80, XXH64(p, 80, 0) ^ XXH64(p + tab, h->nblocks * BENT_SIZE, 1));
    free(raw.p);
    *buf = out.p;
    *len = out.n;
    return VS_OK;
nomem:
    rc = vs_diag_set(d, VS_E_NOMEM, "hnsw: out of memory while saving");
fail:
    free(raw.p);
    free(out.p);
    return rc;
}

int vs_hnsw_load_block(struct vs_hnsw *h, uint64_t b)
{
    if (!h->bent)
        return -1;
    const struct blkent *e = &h->bent[b];
    const uint8_t *src = h->buf + e->off;
    if (XXH64(src, e->clen, 0) != e->hash)
        return -1;
    unsigned long long rawn = ZSTD_getFrameContentSize(src, e->clen);
    if (rawn == ZSTD_CONTENTSIZE_ERROR || rawn == ZSTD_CONTENTSIZE_UNKNOWN ||
        rawn > (unsigned long long)e->rows * (h->M0 + 1) * 5 + 16)
        return -1;
    uint8_t *raw = malloc(rawn ? rawn : 1);
    uint32_t *blk = calloc((size_t)e->rows * (h->M0 + 1), sizeof *blk);
    int rc = -1;
    if (!raw || !blk)
        goto done;
    size_t got = ZSTD_decompress(raw, rawn, src, e->clen);
    if (ZSTD_isError(got) || got != rawn)
        goto done;
    const uint8_t *p = raw, *end = raw + got;
    for (uint32_t r = 0; r < e->rows; r++)
        if (rd_list(&p, end, blk + (size_t)r * (h->M0 + 1), h->M0, h->n))
            goto done;
    if (p != end)
        goto done;
    uint32_t *expect = NULL;
    if (atomic_compare_exchange_strong(&h->blocks[b], &expect, blk))
        blk = NULL;
    rc = 0;
done:
    free(raw);
    free(blk);
    return rc;
}

/* take: NULL (copy buf), or a pointer to buf's malloc'd block, set to NULL
 * once the graph owns it */
static int open_graph(const void *buf, size_t len, int simd, void **take,
                      struct vs_hnsw **out, struct vs_diag *d)
{
    *out = NULL;
    const uint8_t *p = buf;
    if (len < HDR_SIZE || memcmp(p, MAGIC, 6) != 0)
        return vs_diag_set(d, VS_E_CORRUPT, "hnsw: not a graph (bad magic)");
    if (memcmp(p + 6, MAGIC + 6, 2) != 0 || get32(p + 8) != 1)
        return vs_diag_set(d, VS_E_VERSION, "hnsw: unsupported graph format version");
    uint64_t nblocks = get64(p + 72), n = get64(p + 32);
    uint32_t M = get32(p + 20), dim = get32(p + 12), metric = get32(p + 16);
    if (nblocks > len / BENT_SIZE || HDR_SIZE + nblocks * BENT_SIZE > len ||
        get64(p + 80) != (XXH64(p, 80, 0) ^ XXH64(p + HDR_SIZE, nblocks * BENT_SIZE, 1)))
        return vs_diag_set(d, VS_E_CORRUPT, "hnsw: graph header checksum mismatch");
    if (n >= UINT32_MAX || nblocks != (n + BLK - 1) / BLK || M < 2 || M > 1024 ||
        dim == 0 || metric > VS_METRIC_L2)
        return vs_diag_set(d, VS_E_CORRUPT, "hnsw: graph header is inconsistent");
    const struct vs_distance_kernels *k = vs_hnsw_kernels(simd);
    if (!k)
        return vs_diag_set(d, VS_E_UNSUPPORTED, "hnsw: simd variant not supported on this cpu");
    struct vs_hnsw *h = vs_hnsw_alloc(n, dim, (enum vs_metric)metric, M, k);
    uint8_t *uraw = NULL;
    int rc = VS_OK;
    if (!h)
        return vs_diag_set(d, VS_E_NOMEM, "hnsw: out of memory");
    h->efc = get32(p + 24);
    h->entry = get32(p + 28);
    h->seed = get64(p + 40);
    h->maxlevel = (int)get32(p + 48);
    size_t upper_off = HDR_SIZE + nblocks * BENT_SIZE;
    uint64_t ulen = get64(p + 56), urawn = get32(p + 52);
    if ((n && h->entry >= n) || h->maxlevel > MAX_LEVEL || ulen > len - upper_off ||
        XXH64(p + upper_off, ulen, 0) != get64(p + 64))
        goto corrupt;
    if (take) {
        h->buf = *take;
        *take = NULL;
    } else if ((h->buf = malloc(len)) != NULL) {
        memcpy(h->buf, buf, len);
    }
    h->bent = calloc(nblocks ? nblocks : 1, sizeof *h->bent);
    uraw = malloc(urawn ? urawn : 1);
    if (!h->buf || !h->bent || !uraw)
        goto nomem;
    h->len = len;
    for (uint64_t b = 0; b < nblocks; b++) {
        const uint8_t *e = p + HDR_SIZE + b * BENT_SIZE;
        struct blkent *be = &h->bent[b];
        be->off = get64(e);
        be->clen = get32(e + 8);
        be->rows = get32(e + 12);
        be->hash = get64(e + 16);
        if (be->off < upper_off + ulen || be->off > len || be->clen > len - be->off ||
            be->rows != blk_rows(h, b))
            goto corrupt;
    }
    if (n) {
        size_t got = ZSTD_decompress(uraw, urawn, p + upper_off, ulen);
        if (ZSTD_isError(got) || got != urawn)
            goto corrupt;
    } else if (urawn) {
        goto corrupt;
    }
    const uint8_t *q = uraw, *end = uraw + urawn;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t L;
        if (rd_varint(&q, end, &L) || L > (uint64_t)h->maxlevel)
            goto corrupt;
        h->level[i] = (uint8_t)L;
    }
    if (n && h->level[h->entry] != h->maxlevel)
        goto corrupt;
    for (uint64_t i = 0; i < n; i++) {
        int L = h->level[i];
        if (!L)
            continue;
        h->upper[i] = malloc((size_t)L * (M + 1) * sizeof(uint32_t));
        if (!h->upper[i])
            goto nomem;
        for (int lv = 1; lv <= L; lv++) {
            uint32_t *l = h->upper[i] + (size_t)(lv - 1) * (M + 1);
            if (rd_list(&q, end, l, M, n))
                goto corrupt;
            for (uint32_t j = 0; j < l[0]; j++)
                if (h->level[l[1 + j]] < lv)
                    goto corrupt;
        }
    }
    if (q != end)
        goto corrupt;
    free(uraw);
    *out = h;
    return VS_OK;
corrupt:
    rc = vs_diag_set(d, VS_E_CORRUPT, "hnsw: graph data is damaged");
    goto fail;
nomem:
    rc = vs_diag_set(d, VS_E_NOMEM, "hnsw: out of memory");
fail:
    free(uraw);
    vs_hnsw_free(h);
    return rc;
}

int vs_hnsw_open(const void *buf, size_t len, int simd, struct vs_hnsw **out,
                 struct vs_diag *d)
{
    return open_graph(buf, len, simd, NULL, out, d);
}

int vs_hnsw_open_take(void *buf, size_t len, int simd, struct vs_hnsw **out,
                      struct vs_diag *d)
{
    void *take = buf;
    int st = open_graph(buf, len, simd, &take, out, d);
    free(take); /* NULL once the graph owns it */
    return st;
}

int vs_hnsw_verify(struct vs_hnsw *h, struct vs_diag *d)
{
    for (uint64_t b = 0; b < h->nblocks; b++)
        if (!atomic_load(&h->blocks[b]) && vs_hnsw_load_block(h, b))
            return vs_diag_set(d, VS_E_CORRUPT, "hnsw: level-0 block %llu is damaged",
                               (unsigned long long)b);
    return VS_OK;
}
