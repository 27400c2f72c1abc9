/* bm25.c: BM25 index: builder, serialised format, reader, merge (queries
 * and search are in bm25_search.c).
 *
 * Serialised format, version 3 (all integers little-endian; versions 1 and
 * 2, still read, differ only where said):
 *   header (128 bytes):
 *     0 magic "VSBM25\r\n"   8 u32 version   12 u32 header size
 *    16 u64 ndocs           24 u64 total_len  32 u64 nrows   40 u64 nterms
 *    48 u64 nchunks         56 u64 analyzer_off  64 u64 analyzer_len
 *    72 u64 doclens_off     80 u64 doclens_clen
 *    88 u64 dict_off        96 u64 dict_clen    104 u64 dict_rawlen
 *   112 u64 ctab_off       120 u64 reserved (0)
 *   analyzer id (bytes, no NUL)
 *   doclens: zstd frame of nrows u32 (0xFFFFFFFF = row absent)
 *   dictionary: zstd frame; per term, in byte order of the terms:
 *     varint shared prefix, varint suffix length, suffix bytes,
 *     varint df, varint chunk, varint offset in chunk, varint docs bytes,
 *     varint positions bytes, varint skip bytes (not in version 1)
 *   chunk table: nchunks x (u64 offset, u32 compressed, u32 raw size)
 *   chunks: zstd frames; a term's postings are its docs stream, varint
 *     (row delta, tf) pairs (first delta from 0), then its positions stream,
 *     per doc tf varints (first absolute, then deltas), then (version 2
 *     and later) its skip stream: empty when df < SKIP_MIN
 *     (bm25_internal.h), else per block of SKIP_EVERY postings: varint the
 *     block's bytes in the docs stream, varint its last row minus the
 *     previous block's last row (the first block's: its last row), then
 *     (version 3) varint np (1 .. FRONT_MAX) and np (tf, document length)
 *     varint pairs, the block's front by rising tf (the first pair as is,
 *     the others as rises of both over the pair before: block-max bounds),
 *     or (version 2) varint its largest tf, varint its smallest length.
 */
#include "vs_bm25.h"
#include "analyzer_internal.h"
#include "bm25_internal.h"
#include "hash_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define MAGIC "VSBM25\r\n"
#define HDR_SIZE 128
#define CHUNK_TARGET (64u << 10)
#define MAX_ROW 0xFFFFFFFEull
#define ZLEVEL 1
#define FORMAT_V1 1 /* no skip streams: still opened */
#define FORMAT_V2 2 /* skip streams of (largest tf, smallest length) */

/* ---------------------------------------------------------------- bytes */

struct vbuf {
    uint8_t *p;
    size_t n, cap;
};

static int vb_reserve(struct vbuf *b, size_t more)
{
    if (b->n + more <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 16;
    while (cap < b->n + more)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int vb_put(struct vbuf *b, const void *s, size_t n)
{
    if (n == 0)
        return 0;
    if (vb_reserve(b, n))
        return -1;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return 0;
}

static int vb_varint(struct vbuf *b, uint64_t v)
{
    if (vb_reserve(b, 10))
        return -1;
    while (v >= 0x80) {
        b->p[b->n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b->p[b->n++] = (uint8_t)v;
    return 0;
}

static int vb_u64(struct vbuf *b, uint64_t v)
{
    uint8_t x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    return vb_put(b, x, 8);
}

static int vb_u32(struct vbuf *b, uint32_t v)
{
    uint8_t x[4];
    for (int i = 0; i < 4; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    return vb_put(b, x, 4);
}

static uint64_t rd_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint32_t rd_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* ---------------------------------------------------------------- builder */

struct bterm {
    uint32_t off, len; /* in the term arena */
    uint32_t df;
    uint32_t last_row;
    uint32_t cur_row, doc_tf, prevpos; /* the document being added */
    struct vbuf docs, pos;
};


struct vs_bm25_builder {
    struct vs_analyzer *an; /* NULL for merges */
    char analyzer_id[192];
    struct vbuf arena;
    struct bterm *terms;
    size_t nterms, terms_cap;
    uint64_t *slots; /* hash table: high hash bits << 32 | term index + 1 */
    size_t nslots;
    uint32_t *doclens; /* per row, ABSENT when not added */
    size_t nrows, rows_cap;
    uint64_t ndocs, total_len;
    int64_t last_row;
    uint32_t *toks; /* distinct terms of the document being added */
    size_t ntoks, toks_cap;
    uint32_t cur_row, doc_len;
    int err;
};

static int builder_init(struct vs_bm25_builder *b, const char *analyzer_id)
{
    snprintf(b->analyzer_id, sizeof b->analyzer_id, "%s", analyzer_id);
    b->last_row = -1;
    b->nslots = 1024;
    b->slots = calloc(b->nslots, sizeof *b->slots);
    return b->slots ? 0 : -1;
}

int vs_bm25_builder_new(const char *analyzer_spec,
                        struct vs_bm25_builder **out, struct vs_diag *d)
{
    *out = NULL;
    struct vs_bm25_builder *b = calloc(1, sizeof *b);
    if (!b)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    int rc = vs_analyzer_new(analyzer_spec, &b->an, d);
    if (rc != VS_OK) {
        free(b);
        return rc;
    }
    if (builder_init(b, vs_analyzer_id(b->an))) {
        vs_bm25_builder_free(b);
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    }
    *out = b;
    return VS_OK;
}

void vs_bm25_builder_free(struct vs_bm25_builder *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->nterms; i++) {
        free(b->terms[i].docs.p);
        free(b->terms[i].pos.p);
    }
    free(b->terms);
    free(b->slots);
    free(b->arena.p);
    free(b->doclens);
    free(b->toks);
    vs_analyzer_free(b->an);
    free(b);
}

static int rehash(struct vs_bm25_builder *b)
{
    size_t ns = b->nslots * 2;
    uint64_t *s = calloc(ns, sizeof *s);
    if (!s)
        return -1;
    for (size_t i = 0; i < b->nterms; i++) {
        const struct bterm *t = &b->terms[i];
        uint64_t hv = hash_bytes(b->arena.p + t->off, t->len);
        size_t h = (size_t)hv & (ns - 1);
        while (s[h])
            h = (h + 1) & (ns - 1);
        s[h] = (hv & 0xFFFFFFFF00000000ull) | ((uint64_t)i + 1);
    }
    free(b->slots);
    b->slots = s;
    b->nslots = ns;
    return 0;
}

/* Index of the term, added when new; -1 on allocation failure. */
static long term_id(struct vs_bm25_builder *b, const char *s, size_t len)
{
    size_t mask = b->nslots - 1;
    uint64_t hv = hash_bytes(s, len), hi = hv & 0xFFFFFFFF00000000ull;
    size_t h = (size_t)hv & mask;
    for (;;) {
        uint64_t v = b->slots[h];
        if (!v)
            break;
        if ((v & 0xFFFFFFFF00000000ull) == hi) {
            const struct bterm *t = &b->terms[(uint32_t)v - 1];
            if (t->len == len && memcmp(b->arena.p + t->off, s, len) == 0)
                return (long)(uint32_t)v - 1;
        }
        h = (h + 1) & mask;
    }
    if (b->nterms == b->terms_cap) {
        size_t cap = b->terms_cap ? b->terms_cap * 2 : 1024;
        struct bterm *t = realloc(b->terms, cap * sizeof *t);
        if (!t)
            return -1;
        b->terms = t;
        b->terms_cap = cap;
    }
    struct bterm *t = &b->terms[b->nterms];
    memset(t, 0, sizeof *t);
    t->off = (uint32_t)b->arena.n;
    t->len = (uint32_t)len;
    t->cur_row = ABSENT;
    if (vb_put(&b->arena, s, len))
        return -1;
    b->slots[h] = hi | (uint64_t)++b->nterms;
    if (b->nterms * 2 > b->nslots && rehash(b))
        return -1;
    return (long)b->nterms - 1;
}

static int set_doclen(struct vs_bm25_builder *b, uint64_t row, uint32_t len)
{
    if (row >= b->rows_cap) {
        size_t cap = b->rows_cap ? b->rows_cap : 1024;
        while (cap <= row)
            cap *= 2;
        uint32_t *p = realloc(b->doclens, cap * sizeof *p);
        if (!p)
            return -1;
        b->doclens = p;
        b->rows_cap = cap;
    }
    for (size_t r = b->nrows; r < row; r++)
        b->doclens[r] = ABSENT;
    b->doclens[row] = len;
    b->nrows = (size_t)row + 1;
    return 0;
}

/* Append one document's postings for a term (rows increase per term). */
static int term_append(struct bterm *t, uint32_t row, uint32_t tf,
                       const uint32_t *pos)
{
    uint32_t delta = t->df ? row - t->last_row : row;
    if (vb_varint(&t->docs, delta) || vb_varint(&t->docs, tf))
        return -1;
    uint32_t prev = 0;
    for (uint32_t i = 0; i < tf; i++) {
        uint32_t p = pos[i];
        if (vb_varint(&t->pos, p - prev))
            return -1;
        prev = p;
    }
    t->df++;
    t->last_row = row;
    return 0;
}

static int emit_tok(void *arg, const char *term, size_t len, uint32_t pos,
                    uint32_t *memo)
{
    struct vs_bm25_builder *b = arg;
    long id;
    if (*memo)
        id = (long)*memo - 1; /* the analyzer remembered the term's index */
    else {
        id = term_id(b, term, len);
        if (id < 0)
            return VS_E_NOMEM;
        *memo = (uint32_t)id + 1;
    }
    struct bterm *t = &b->terms[id];
    if (t->cur_row != b->cur_row) { /* first time in this document */
        if (b->ntoks == b->toks_cap) {
            size_t cap = b->toks_cap ? b->toks_cap * 2 : 256;
            uint32_t *x = realloc(b->toks, cap * sizeof *x);
            if (!x)
                return VS_E_NOMEM;
            b->toks = x;
            b->toks_cap = cap;
        }
        b->toks[b->ntoks++] = (uint32_t)id;
        t->cur_row = b->cur_row;
        t->doc_tf = 0;
        t->prevpos = 0;
    }
    /* positions of a term arrive in increasing order: first absolute,
     * then deltas, straight into the term's positions stream */
    if (vb_varint(&t->pos, pos - t->prevpos))
        return VS_E_NOMEM;
    t->prevpos = pos;
    t->doc_tf++;
    b->doc_len++;
    return VS_OK;
}

int vs_bm25_builder_add(struct vs_bm25_builder *b, uint64_t row,
                        const char *text, size_t len, struct vs_diag *d)
{
    if ((int64_t)row <= b->last_row || row > MAX_ROW)
        return vs_diag_set(d, VS_E_USAGE,
                           "bm25: row %llu added out of order or too large",
                           (unsigned long long)row);
    b->ntoks = 0;
    b->doc_len = 0;
    b->cur_row = (uint32_t)row;
    int rc = vs_analyzer_run_memo(b->an, text, len, emit_tok, b, d);
    if (rc != VS_OK)
        return rc == VS_E_NOMEM ? vs_diag_set(d, rc, "out of memory") : rc;
    for (size_t i = 0; i < b->ntoks; i++) {
        struct bterm *t = &b->terms[b->toks[i]];
        uint32_t delta = t->df ? (uint32_t)row - t->last_row : (uint32_t)row;
        if (vb_varint(&t->docs, delta) || vb_varint(&t->docs, t->doc_tf))
            return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        t->df++;
        t->last_row = (uint32_t)row;
    }
    if (set_doclen(b, row, b->doc_len))
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    b->ndocs++;
    b->total_len += b->doc_len;
    b->last_row = (int64_t)row;
    return VS_OK;
}

static int cmp_term_bytes(const uint8_t *a, size_t al, const uint8_t *b,
                          size_t bl)
{
    size_t m = al < bl ? al : bl;
    int c = memcmp(a, b, m);
    if (c)
        return c;
    return al < bl ? -1 : al > bl;
}

static int cmp_term_idx(const void *x, const void *y, void *ctx)
{
    const struct vs_bm25_builder *bl = ctx;
    const struct bterm *a = &bl->terms[*(const uint32_t *)x];
    const struct bterm *b = &bl->terms[*(const uint32_t *)y];
    return cmp_term_bytes(bl->arena.p + a->off, a->len, bl->arena.p + b->off,
                          b->len);
}

#if defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__)
/* Emscripten 3.1.6's libc has no qsort_r; its module runs one thread, so
 * the builder can wait in a static for the comparison (WebAssembly build) */
static struct vs_bm25_builder *sort_builder;
static int cmp_term_idx_static(const void *x, const void *y)
{
    return cmp_term_idx(x, y, sort_builder);
}
#define qsort_r(base, n, size, cmp, ctx)                                       \
    (sort_builder = (ctx), qsort((base), (n), (size), cmp_term_idx_static))
#endif

static int zcompress(struct vbuf *out, const void *src, size_t n)
{
    size_t bound = ZSTD_compressBound(n);
    if (vb_reserve(out, bound))
        return VS_E_NOMEM;
    size_t c = ZSTD_compress(out->p + out->n, bound, src, n, ZLEVEL);
    if (ZSTD_isError(c))
        return VS_E_INTERNAL;
    out->n += c;
    return VS_OK;
}

/* Term t's skip stream (format at the top) into sk; -1 out of memory. */
static int skip_stream(const struct vs_bm25_builder *b, const struct bterm *t,
                       struct vbuf *sk)
{
    const uint8_t *p = t->docs.p, *end = p + t->docs.n, *start = p;
    uint64_t row = 0, last = 0;
    struct vs_bm25_pair f[SKIP_EVERY + 1];
    uint32_t nf = 0;
    for (uint32_t i = 0; i < t->df; i++) {
        uint64_t delta, tf;
        if (rd_varint(&p, end, &delta) || rd_varint(&p, end, &tf))
            return -1; /* our own stream: cannot happen */
        row += delta;
        vs_bm25_front_add(f, &nf, (uint32_t)tf, b->doclens[row]);
        if (i % SKIP_EVERY == SKIP_EVERY - 1 || i + 1 == t->df) {
            vs_bm25_front_cap(f, &nf);
            if (vb_varint(sk, (uint64_t)(p - start)) || vb_varint(sk, row - last) ||
                vb_varint(sk, nf))
                return -1;
            for (uint32_t j = 0; j < nf; j++)
                if (vb_varint(sk, f[j].tf - (j ? f[j - 1].tf : 0)) ||
                    vb_varint(sk, f[j].dl - (j ? f[j - 1].dl : 0)))
                    return -1;
            start = p;
            last = row;
            nf = 0;
        }
    }
    return 0;
}

int vs_bm25_builder_finish(struct vs_bm25_builder *b, void **buf, size_t *len,
                           struct vs_diag *d)
{
    *buf = NULL;
    *len = 0;
    int rc = VS_E_NOMEM;
    uint32_t *order = malloc((b->nterms + 1) * sizeof *order);
    struct vbuf dict = {0}, chunk = {0}, chunks = {0}, ctab = {0}, out = {0},
                dl = {0}, sk = {0};
    uint64_t nchunks = 0;
    if (!order)
        goto done;
    for (size_t i = 0; i < b->nterms; i++)
        order[i] = (uint32_t)i;
    qsort_r(order, b->nterms, sizeof *order, cmp_term_idx, b);

    const uint8_t *prev = NULL;
    size_t prevlen = 0;
    for (size_t i = 0; i <= b->nterms; i++) {
        const struct bterm *t = i < b->nterms ? &b->terms[order[i]] : NULL;
        if (chunk.n && (!t || chunk.n >= CHUNK_TARGET)) {
            size_t before = chunks.n;
            rc = zcompress(&chunks, chunk.p, chunk.n);
            if (rc != VS_OK)
                goto done;
            if (vb_u64(&ctab, before) || vb_u32(&ctab, (uint32_t)(chunks.n - before)) ||
                vb_u32(&ctab, (uint32_t)chunk.n)) {
                rc = VS_E_NOMEM;
                goto done;
            }
            nchunks++;
            chunk.n = 0;
        }
        if (!t)
            break;
        rc = VS_E_NOMEM;
        const uint8_t *s = b->arena.p + t->off;
        size_t shared = 0;
        while (prev && shared < prevlen && shared < t->len && prev[shared] == s[shared])
            shared++;
        sk.n = 0;
        if (t->df >= SKIP_MIN && skip_stream(b, t, &sk))
            goto done;
        if (vb_varint(&dict, shared) || vb_varint(&dict, t->len - shared) ||
            vb_put(&dict, s + shared, t->len - shared) ||
            vb_varint(&dict, t->df) || vb_varint(&dict, nchunks) ||
            vb_varint(&dict, chunk.n) || vb_varint(&dict, t->docs.n) ||
            vb_varint(&dict, t->pos.n) || vb_varint(&dict, sk.n) ||
            vb_put(&chunk, t->docs.p, t->docs.n) ||
            vb_put(&chunk, t->pos.p, t->pos.n) || vb_put(&chunk, sk.p, sk.n))
            goto done;
        prev = s;
        prevlen = t->len;
    }
    /* doclens */
    rc = VS_E_NOMEM;
    for (size_t r = 0; r < b->nrows; r++)
        if (vb_u32(&dl, b->doclens[r]))
            goto done;
    size_t alen = strlen(b->analyzer_id);
    if (vb_reserve(&out, HDR_SIZE + alen))
        goto done;
    memset(out.p, 0, HDR_SIZE);
    out.n = HDR_SIZE;
    vb_put(&out, b->analyzer_id, alen);
    uint64_t dl_off = out.n;
    if ((rc = zcompress(&out, dl.p, dl.n)) != VS_OK)
        goto done;
    uint64_t dl_clen = out.n - dl_off, dict_off = out.n;
    if ((rc = zcompress(&out, dict.p, dict.n)) != VS_OK)
        goto done;
    uint64_t dict_clen = out.n - dict_off, ctab_off = out.n;
    rc = VS_E_NOMEM;
    uint64_t data_off = ctab_off + ctab.n;
    /* rebase chunk offsets to the start of the buffer */
    for (uint64_t c = 0; c < nchunks; c++) {
        uint64_t o = rd_u64(ctab.p + c * 16) + data_off;
        for (int i = 0; i < 8; i++)
            ctab.p[c * 16 + (size_t)i] = (uint8_t)(o >> (8 * i));
    }
    if (vb_put(&out, ctab.p, ctab.n) || vb_put(&out, chunks.p, chunks.n))
        goto done;
    struct vbuf h = {.p = out.p, .n = 0, .cap = HDR_SIZE};
    vb_put(&h, MAGIC, 8);
    vb_u32(&h, VS_BM25_FORMAT);
    vb_u32(&h, HDR_SIZE);
    vb_u64(&h, b->ndocs);
    vb_u64(&h, b->total_len);
    vb_u64(&h, b->nrows);
    vb_u64(&h, b->nterms);
    vb_u64(&h, nchunks);
    vb_u64(&h, HDR_SIZE);
    vb_u64(&h, alen);
    vb_u64(&h, dl_off);
    vb_u64(&h, dl_clen);
    vb_u64(&h, dict_off);
    vb_u64(&h, dict_clen);
    vb_u64(&h, dict.n);
    vb_u64(&h, ctab_off);
    vb_u64(&h, 0);
    *buf = out.p;
    *len = out.n;
    out.p = NULL;
    rc = VS_OK;
done:
    free(sk.p);
    free(out.p);
    free(dl.p);
    free(ctab.p);
    free(chunks.p);
    free(chunk.p);
    free(dict.p);
    free(order);
    if (rc == VS_E_NOMEM)
        return vs_diag_set(d, rc, "out of memory");
    if (rc != VS_OK)
        return vs_diag_set(d, rc, "bm25: compression failed");
    return VS_OK;
}

/* ---------------------------------------------------------------- reader */

int vs_bm25_corrupt(struct vs_diag *d, const char *what)
{
    return vs_diag_set(d, VS_E_CORRUPT, "bm25 index: %s", what);
}

static int zdecompress(const uint8_t *src, size_t clen, uint8_t *dst,
                       size_t rawlen)
{
    unsigned long long sz = ZSTD_getFrameContentSize(src, clen);
    if (sz != rawlen)
        return -1;
    size_t r = ZSTD_decompress(dst, rawlen ? rawlen : 1, src, clen);
    return ZSTD_isError(r) || r != rawlen ? -1 : 0;
}

void vs_bm25_close(struct vs_bm25 *ix)
{
    if (!ix)
        return;
    if (ix->cache) {
        for (uint64_t c = 0; c < ix->nchunks; c++)
            free(ix->cache[c]);
        free(ix->cache);
    }
    if (ix->skips) {
        for (uint64_t t = 0; t < ix->nterms; t++)
            free(ix->skips[t]);
        free(ix->skips);
    }
    pthread_mutex_destroy(&ix->lock);
    free(ix->analyzer);
    free(ix->doclens);
    free(ix->termbytes);
    free(ix->t_off);
    free(ix->t_df);
    free(ix->t_chunk);
    free(ix->t_coff);
    free(ix->t_dlen);
    free(ix->t_plen);
    free(ix->t_slen);
    if (ix->own)
        free((void *)(uintptr_t)ix->buf);
    free(ix);
}

static int in_range(uint64_t off, uint64_t n, size_t len)
{
    return off <= len && n <= len - off;
}

int vs_bm25_open(const void *buf, size_t len, unsigned flags,
                 struct vs_bm25 **out, struct vs_diag *d)
{
    *out = NULL;
    const uint8_t *p = buf;
    if (len < HDR_SIZE || memcmp(p, MAGIC, 8) != 0)
        return vs_bm25_corrupt(d, "bad magic or truncated header");
    uint32_t version = rd_u32(p + 8);
    if (version < FORMAT_V1 || version > VS_BM25_FORMAT)
        return vs_diag_set(d, VS_E_VERSION,
                           "bm25 index: format version %u, expected %u to %u",
                           version, FORMAT_V1, VS_BM25_FORMAT);
    if (rd_u32(p + 12) != HDR_SIZE)
        return vs_bm25_corrupt(d, "bad header size");
    struct vs_bm25 *ix = calloc(1, sizeof *ix);
    if (!ix)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    pthread_mutex_init(&ix->lock, NULL);
    ix->version = version;
    int rc = VS_E_NOMEM;
    uint8_t *dict = NULL;
    ix->buf = p;
    ix->len = len;
    ix->ndocs = rd_u64(p + 16);
    ix->total_len = rd_u64(p + 24);
    ix->nrows = rd_u64(p + 32);
    ix->nterms = rd_u64(p + 40);
    ix->nchunks = rd_u64(p + 48);
    uint64_t aoff = rd_u64(p + 56), alen = rd_u64(p + 64);
    uint64_t dloff = rd_u64(p + 72), dlclen = rd_u64(p + 80);
    uint64_t doff = rd_u64(p + 88), dclen = rd_u64(p + 96), draw = rd_u64(p + 104);
    uint64_t coff = rd_u64(p + 112);
    if (!in_range(aoff, alen, len) || alen > 1024 || !in_range(dloff, dlclen, len) ||
        !in_range(doff, dclen, len) || ix->nchunks > len / 16 ||
        !in_range(coff, ix->nchunks * 16, len) || ix->nrows > MAX_ROW + 1 ||
        ix->ndocs > ix->nrows || ix->nterms > draw || draw > (1ull << 32) ||
        ix->nrows * 4 > (1ull << 36)) {
        rc = vs_bm25_corrupt(d, "bad section offsets or sizes");
        goto fail;
    }
    ix->analyzer = malloc(alen + 1);
    ix->doclens = malloc(ix->nrows * 4 + 4);
    dict = malloc(draw + 1);
    ix->cache = calloc(ix->nchunks + 1, sizeof *ix->cache);
    if (!ix->analyzer || !ix->doclens || !dict || !ix->cache)
        goto fail;
    memcpy(ix->analyzer, p + aoff, alen);
    ix->analyzer[alen] = '\0';
    ix->ctab = p + coff;
    /* doclens */
    if (zdecompress(p + dloff, dlclen, (uint8_t *)ix->doclens, ix->nrows * 4)) {
        rc = vs_bm25_corrupt(d, "bad document lengths");
        goto fail;
    }
    uint64_t ndocs = 0, total = 0;
    for (uint64_t r = 0; r < ix->nrows; r++) {
        uint32_t v = rd_u32((const uint8_t *)&ix->doclens[r]);
        ix->doclens[r] = v;
        if (v != ABSENT) {
            ndocs++;
            total += v;
            if (v > ix->maxdl)
                ix->maxdl = v;
        }
    }
    if (ndocs != ix->ndocs || total != ix->total_len) {
        rc = vs_bm25_corrupt(d, "document lengths disagree with the header");
        goto fail;
    }
    for (uint64_t c = 0; c < ix->nchunks; c++) {
        const uint8_t *e = ix->ctab + c * 16;
        if (!in_range(rd_u64(e), rd_u32(e + 8), len)) {
            rc = vs_bm25_corrupt(d, "bad chunk table");
            goto fail;
        }
    }
    /* dictionary */
    if (zdecompress(p + doff, dclen, dict, draw)) {
        rc = vs_bm25_corrupt(d, "bad dictionary");
        goto fail;
    }
    size_t nt = (size_t)ix->nterms;
    ix->termbytes = malloc(draw + 1);
    ix->t_off = malloc((nt + 1) * 4);
    ix->t_df = malloc(nt * 4 + 4);
    ix->t_chunk = malloc(nt * 4 + 4);
    ix->t_coff = malloc(nt * 4 + 4);
    ix->t_dlen = malloc(nt * 4 + 4);
    ix->t_plen = malloc(nt * 4 + 4);
    if (version != FORMAT_V1)
        ix->t_slen = malloc(nt * 4 + 4);
    if (!ix->termbytes || !ix->t_off || !ix->t_df || !ix->t_chunk ||
        !ix->t_coff || !ix->t_dlen || !ix->t_plen ||
        (version != FORMAT_V1 && !ix->t_slen))
        goto fail;
    const uint8_t *q = dict, *end = dict + draw;
    uint32_t tb = 0, prevoff = 0, prevlen = 0;
    size_t tcap = draw + 1;
    for (size_t i = 0; i < nt; i++) {
        uint64_t shared, slen, df, ch, co, dlen, plen, sklen = 0;
        if (rd_varint(&q, end, &shared) || rd_varint(&q, end, &slen) ||
            shared > prevlen || slen > (uint64_t)(end - q) ||
            shared + slen > VS_ANALYZER_MAX_TERM * 4 ||
            tb + shared + slen > UINT32_MAX) {
            rc = vs_bm25_corrupt(d, "bad dictionary entry");
            goto fail;
        }
        if (tb + shared + slen > tcap) {
            while (tb + shared + slen > tcap)
                tcap *= 2;
            uint8_t *nb = realloc(ix->termbytes, tcap);
            if (!nb)
                goto fail;
            ix->termbytes = nb;
        }
        ix->t_off[i] = tb;
        memmove(ix->termbytes + tb, ix->termbytes + prevoff, shared);
        memcpy(ix->termbytes + tb + shared, q, slen);
        q += slen;
        prevoff = tb;
        prevlen = (uint32_t)(shared + slen);
        tb += prevlen;
        if (rd_varint(&q, end, &df) || rd_varint(&q, end, &ch) ||
            rd_varint(&q, end, &co) || rd_varint(&q, end, &dlen) ||
            rd_varint(&q, end, &plen) ||
            (version != FORMAT_V1 && rd_varint(&q, end, &sklen)) ||
            ch >= ix->nchunks || df == 0 ||
            df > ix->ndocs || co > UINT32_MAX || dlen > UINT32_MAX ||
            plen > UINT32_MAX || sklen > UINT32_MAX ||
            (version != FORMAT_V1 && (df >= SKIP_MIN) != (sklen > 0)) ||
            co + dlen + plen + sklen > rd_u32(ix->ctab + ch * 16 + 12)) {
            rc = vs_bm25_corrupt(d, "bad dictionary entry");
            goto fail;
        }
        if (i > 0 && cmp_term_bytes(ix->termbytes + ix->t_off[i - 1],
                                    ix->t_off[i] - ix->t_off[i - 1],
                                    ix->termbytes + tb - prevlen, prevlen) >= 0) {
            rc = vs_bm25_corrupt(d, "dictionary out of order");
            goto fail;
        }
        ix->t_df[i] = (uint32_t)df;
        ix->t_chunk[i] = (uint32_t)ch;
        ix->t_coff[i] = (uint32_t)co;
        ix->t_dlen[i] = (uint32_t)dlen;
        ix->t_plen[i] = (uint32_t)plen;
        if (ix->t_slen)
            ix->t_slen[i] = (uint32_t)sklen;
    }
    ix->t_off[nt] = tb;
    if (q != end) {
        rc = vs_bm25_corrupt(d, "trailing bytes in the dictionary");
        goto fail;
    }
    free(dict);
    ix->own = (flags & VS_BM25_OWN) != 0;
    *out = ix;
    return VS_OK;
fail:
    free(dict);
    vs_bm25_close(ix);
    if (rc == VS_E_NOMEM)
        return vs_diag_set(d, rc, "out of memory");
    return rc;
}

const char *vs_bm25_analyzer(const struct vs_bm25 *ix) { return ix->analyzer; }
uint64_t vs_bm25_docs(const struct vs_bm25 *ix) { return ix->ndocs; }
uint64_t vs_bm25_rows(const struct vs_bm25 *ix) { return ix->nrows; }
uint64_t vs_bm25_total_len(const struct vs_bm25 *ix) { return ix->total_len; }
uint64_t vs_bm25_terms(const struct vs_bm25 *ix) { return ix->nterms; }

long vs_bm25_doc_len(const struct vs_bm25 *ix, uint64_t row)
{
    if (row >= ix->nrows || ix->doclens[row] == ABSENT)
        return -1;
    return (long)ix->doclens[row];
}

long vs_bm25_lookup(const struct vs_bm25 *ix, const char *s, size_t len)
{
    size_t lo = 0, hi = (size_t)ix->nterms;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_term_bytes(ix->termbytes + ix->t_off[mid],
                               ix->t_off[mid + 1] - ix->t_off[mid],
                               (const uint8_t *)s, len);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

uint64_t vs_bm25_df(const struct vs_bm25 *ix, const char *term, size_t len)
{
    long t = vs_bm25_lookup(ix, term, len);
    return t < 0 ? 0 : ix->t_df[t];
}

int vs_bm25_postings(struct vs_bm25 *ix, long t, const uint8_t **docs,
                    struct vs_diag *d)
{
    uint32_t c = ix->t_chunk[t];
    pthread_mutex_lock(&ix->lock);
    uint8_t *raw = ix->cache[c];
    int rc = VS_OK;
    if (!raw) {
        const uint8_t *e = ix->ctab + (size_t)c * 16;
        uint32_t rawlen = rd_u32(e + 12);
        raw = malloc(rawlen ? rawlen : 1);
        if (!raw)
            rc = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        else if (zdecompress(ix->buf + rd_u64(e), rd_u32(e + 8), raw, rawlen)) {
            free(raw);
            raw = NULL;
            rc = vs_bm25_corrupt(d, "bad postings chunk");
        } else
            ix->cache[c] = raw;
    }
    pthread_mutex_unlock(&ix->lock);
    if (rc == VS_OK)
        *docs = raw + ix->t_coff[t];
    return rc;
}

/* Term t's skip entries from its stored skip stream (versions 2 and 3). */
static int skips_read(const struct vs_bm25 *ix, long t, const uint8_t *p0,
                      struct vs_bm25_skips *s)
{
    const uint8_t *q = p0 + ix->t_dlen[t] + ix->t_plen[t],
                  *end = q + ix->t_slen[t];
    uint64_t off = 0, last = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        uint64_t bytes, dlast, np = 1;
        if (rd_varint(&q, end, &bytes) || rd_varint(&q, end, &dlast) ||
            (ix->version != FORMAT_V2 && rd_varint(&q, end, &np)) ||
            bytes == 0 || bytes > ix->t_dlen[t] - off || (i > 0 && dlast == 0) ||
            dlast >= ix->nrows - last || np == 0 || np > FRONT_MAX)
            return -1;
        struct vs_bm25_pair *f = s->pairs + (size_t)i * FRONT_MAX;
        uint64_t tf = 0, dl = 0;
        for (uint32_t j = 0; j < np; j++) {
            uint64_t a, b;
            if (rd_varint(&q, end, &a) || rd_varint(&q, end, &b))
                return -1;
            if (ix->version == FORMAT_V2) { /* largest tf, smallest length */
                tf = a;
                dl = b;
            } else {
                if (j > 0 && (a == 0 || b == 0))
                    return -1; /* both rise along a front */
                tf += a;
                dl += b;
            }
            if (tf == 0 || tf > UINT32_MAX || dl > UINT32_MAX)
                return -1;
            f[j] = (struct vs_bm25_pair){(uint32_t)tf, (uint32_t)dl};
        }
        s->e[i] = (struct vs_bm25_skip){(uint32_t)off, (uint32_t)last,
                                        (uint32_t)(last + dlast),
                                        (uint32_t)(i * FRONT_MAX), (uint32_t)np};
        off += bytes;
        last += dlast;
    }
    return q == end && off == ix->t_dlen[t] ? 0 : -1;
}

/* Term t's skip entries from its postings (version 1). */
static int skips_build(const struct vs_bm25 *ix, long t, const uint8_t *p0,
                       struct vs_bm25_skips *s)
{
    uint32_t df = ix->t_df[t];
    const uint8_t *p = p0, *end = p0 + ix->t_dlen[t];
    uint64_t row = 0;
    struct vs_bm25_pair f[SKIP_EVERY + 1];
    uint32_t nf = 0;
    for (uint32_t i = 0; i < df; i++) {
        struct vs_bm25_skip *e = &s->e[i / SKIP_EVERY];
        if (i % SKIP_EVERY == 0) {
            *e = (struct vs_bm25_skip){(uint32_t)(p - p0), (uint32_t)row, 0,
                                       (i / SKIP_EVERY) * FRONT_MAX, 0};
            nf = 0;
        }
        uint64_t delta, tf;
        if (rd_varint(&p, end, &delta) || rd_varint(&p, end, &tf) ||
            (row += delta) >= ix->nrows || ix->doclens[row] == ABSENT || tf == 0 ||
            tf > UINT32_MAX)
            return -1;
        e->last = (uint32_t)row;
        vs_bm25_front_add(f, &nf, (uint32_t)tf, ix->doclens[row]);
        if (i % SKIP_EVERY == SKIP_EVERY - 1 || i + 1 == df) {
            vs_bm25_front_cap(f, &nf);
            memcpy(s->pairs + e->pf, f, nf * sizeof *f);
            e->np = nf;
        }
    }
    return 0;
}

int vs_bm25_skips_get(struct vs_bm25 *ix, long t, const uint8_t *p0,
                      const struct vs_bm25_skips **out, struct vs_diag *d)
{
    *out = NULL;
    uint32_t df = ix->t_df[t];
    if (df < SKIP_MIN)
        return VS_OK;
    pthread_mutex_lock(&ix->lock);
    if (!ix->skips)
        ix->skips = calloc(ix->nterms ? ix->nterms : 1, sizeof *ix->skips);
    int ok = ix->skips != NULL;
    const struct vs_bm25_skips *have = ok ? ix->skips[t] : NULL;
    pthread_mutex_unlock(&ix->lock);
    if (!ok)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    if (have) {
        *out = have;
        return VS_OK;
    }
    uint32_t nb = (df + SKIP_EVERY - 1) / SKIP_EVERY;
    struct vs_bm25_skips *s =
        malloc(sizeof *s + nb * sizeof s->e[0] + (size_t)nb * FRONT_MAX * sizeof *s->pairs);
    if (!s)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    s->n = nb;
    s->pairs = (struct vs_bm25_pair *)(void *)&s->e[nb];
    if (ix->t_slen ? skips_read(ix, t, p0, s) : skips_build(ix, t, p0, s)) {
        free(s);
        return vs_bm25_corrupt(d, "bad skip entries");
    }
    pthread_mutex_lock(&ix->lock);
    if (ix->skips[t]) { /* another thread was first */
        free(s);
        have = ix->skips[t];
    } else {
        ix->skips[t] = s;
        have = s;
    }
    pthread_mutex_unlock(&ix->lock);
    *out = have;
    return VS_OK;
}

void vs_bm25_plist_release(struct plist *l)
{
    free(l->rows);
    free(l->tfs);
    free(l->poff);
    free(l->pos);
    memset(l, 0, sizeof *l);
}

int vs_bm25_plist_load(struct vs_bm25 *ix, long t, struct plist *l,
                      struct vs_diag *d)
{
    memset(l, 0, sizeof *l);
    const uint8_t *p;
    int rc = vs_bm25_postings(ix, t, &p, d);
    if (rc != VS_OK)
        return rc;
    uint32_t df = ix->t_df[t];
    const uint8_t *dend = p + ix->t_dlen[t], *q = dend,
                  *pend = dend + ix->t_plen[t];
    l->rows = malloc(df * 4 + 4);
    l->tfs = malloc(df * 4 + 4);
    l->poff = malloc(df * 4 + 8);
    size_t cap = ix->t_plen[t] + 1; /* at least one byte per position */
    l->pos = malloc(cap * 4);
    if (!l->rows || !l->tfs || !l->poff || !l->pos) {
        vs_bm25_plist_release(l);
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    }
    uint64_t row = 0, np = 0;
    for (uint32_t i = 0; i < df; i++) {
        uint64_t delta, tf;
        if (rd_varint(&p, dend, &delta) || rd_varint(&p, dend, &tf) ||
            (i > 0 && delta == 0) || tf == 0 || tf > cap - np)
            goto bad;
        row += delta;
        if (row >= ix->nrows || ix->doclens[row] == ABSENT)
            goto bad;
        l->rows[i] = (uint32_t)row;
        l->tfs[i] = (uint32_t)tf;
        l->poff[i] = (uint32_t)np;
        uint64_t pp = 0;
        for (uint64_t j = 0; j < tf; j++) {
            uint64_t dp;
            if (rd_varint(&q, pend, &dp) || (j > 0 && dp == 0) ||
                pp + dp > UINT32_MAX)
                goto bad;
            pp += dp;
            l->pos[np++] = (uint32_t)pp;
        }
    }
    if (p != dend || q != pend)
        goto bad;
    l->poff[df] = (uint32_t)np;
    l->n = df;
    return VS_OK;
bad:
    vs_bm25_plist_release(l);
    return vs_bm25_corrupt(d, "bad postings");
}

/* ---------------------------------------------------------------- merge */

int vs_bm25_merge(const struct vs_bm25_merge_input *in, size_t n, void **buf,
                  size_t *len, struct vs_diag *d)
{
    *buf = NULL;
    *len = 0;
    if (n == 0)
        return vs_diag_set(d, VS_E_USAGE, "bm25 merge: no inputs");
    for (size_t i = 1; i < n; i++)
        if (strcmp(in[i].index->analyzer, in[0].index->analyzer) != 0)
            return vs_diag_set(d, VS_E_MISMATCH,
                               "bm25 merge: analyzers differ ('%s', '%s')",
                               in[0].index->analyzer, in[i].index->analyzer);
    struct vs_bm25_builder *b = calloc(1, sizeof *b);
    if (!b || builder_init(b, in[0].index->analyzer)) {
        vs_bm25_builder_free(b);
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    }
    int rc = VS_OK;
    struct plist l = {0};
    int64_t floor = -1; /* every new row of this input must exceed it */
    for (size_t i = 0; i < n && rc == VS_OK; i++) {
        struct vs_bm25 *ix = (struct vs_bm25 *)(uintptr_t)in[i].index;
        int64_t in_floor = floor;
        /* rows and lengths first (checks the order) */
        for (uint64_t r = 0; r < ix->nrows; r++) {
            int64_t nr = in[i].rowmap ? in[i].rowmap[r]
                                      : (int64_t)(in[i].base + r);
            if (nr < 0 || ix->doclens[r] == ABSENT)
                continue;
            if (nr <= floor || (uint64_t)nr > MAX_ROW) {
                rc = vs_diag_set(d, VS_E_USAGE,
                                 "bm25 merge: input %zu row %llu maps out of order",
                                 i, (unsigned long long)r);
                break;
            }
            floor = nr;
            if (set_doclen(b, (uint64_t)nr, ix->doclens[r])) {
                rc = vs_diag_set(d, VS_E_NOMEM, "out of memory");
                break;
            }
            b->ndocs++;
            b->total_len += ix->doclens[r];
        }
        (void)in_floor;
        for (uint64_t t = 0; t < ix->nterms && rc == VS_OK; t++) {
            rc = vs_bm25_plist_load(ix, (long)t, &l, d);
            if (rc != VS_OK)
                break;
            long id = -1;
            for (uint32_t j = 0; j < l.n; j++) {
                int64_t nr = in[i].rowmap ? in[i].rowmap[l.rows[j]]
                                          : (int64_t)(in[i].base + l.rows[j]);
                if (nr < 0)
                    continue;
                if (id < 0) {
                    id = term_id(b, (const char *)ix->termbytes + ix->t_off[t],
                                 ix->t_off[t + 1] - ix->t_off[t]);
                    if (id < 0) {
                        rc = vs_diag_set(d, VS_E_NOMEM, "out of memory");
                        break;
                    }
                }
                if (term_append(&b->terms[id], (uint32_t)nr, l.tfs[j],
                                l.pos + l.poff[j])) {
                    rc = vs_diag_set(d, VS_E_NOMEM, "out of memory");
                    break;
                }
            }
            vs_bm25_plist_release(&l);
        }
    }
    if (rc == VS_OK)
        rc = vs_bm25_builder_finish(b, buf, len, d);
    vs_bm25_builder_free(b);
    return rc;
}

