/* segment_write.c: the segment writer (vs_segw_*, store_internal.h). It
 * streams vectors blocks to the file, keeps docs, ids and indexes in memory
 * and writes the sections, the table and the header at vs_segw_finish; the
 * BM25 and HNSW sections come from the builders of segment_index.c. The
 * format is described in segment.c, which reads it. */
#include "store_internal.h"
#include "store_hnsw_internal.h"
#include "store_text_internal.h"
#include "vs_quant.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#ifndef __EMSCRIPTEN__
#include <zdict.h> /* the WebAssembly build's zstd has no dictionary builder */
#endif
#include <zstd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the segment format stores float32 little-endian; port vs_segw_add"
#endif

/* The writer streams vectors blocks to the file as they fill (they are the
 * bulk of a segment and do not compress much) and keeps the compressed docs
 * blocks, the ids and the two indexes in memory until vs_segw_finish. So a
 * segment of any size is written with O(block) memory for its vectors.
 * Layout written: header, VECTORS, DOCS, IDS, DOCINDEX, VECINDEX, table
 * (readers go by the section table, not by this order). */
struct vs_segw {
    char path[4096];
    int fd;
    int finished;
    uint32_t dim;
    uint32_t storage;       /* enum vs_vector_storage */
    uint16_t *hbuf;         /* f16: one vectors block converted */
    uint64_t rows;
    char *ids;
    size_t ids_len, ids_cap;
    float *vbuf;            /* the vectors block being filled */
    uint64_t vrows;
    unsigned char *vecidx;
    size_t vecidx_len, vecidx_cap;
    XXH64_state_t *vec_sum;
    char *blk;              /* the docs block being filled (raw) */
    size_t blk_len, blk_cap;
    uint64_t blk_rows, blk_first;
    unsigned char *docs;    /* compressed docs blocks */
    size_t docs_len, docs_cap;
    unsigned char *docidx;
    size_t docidx_len, docidx_cap;
    uint64_t docs_raw;      /* uncompressed bytes of all docs */
    void *cbuf;
    size_t cbuf_cap;
    uint64_t pos;           /* file offset of the next write */
    ZSTD_CCtx *cctx;
    ZSTD_CDict *cdict;      /* docs blocks are compressed with it, or level 3 */
    void *dict;             /* the DOCDICT section (zstd dictionary), or NULL */
    size_t dict_len;
    unsigned nsect;
    struct vs_sect sect[12];
    struct vs_textb *text;  /* BM25 section builder, or NULL */
    struct vs_hnswb *graph; /* HNSW section builder, or NULL */
};

static int grow(void *pp, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return VS_OK;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *p = realloc(*(void **)pp, n * elem);
    if (!p)
        return VS_E_NOMEM;
    *(void **)pp = p;
    *cap = n;
    return VS_OK;
}

int vs_segw_new(const char *path, uint32_t dim, struct vs_segw **out,
                struct vs_diag *d)
{
    *out = NULL;
    struct vs_segw *w = calloc(1, sizeof *w);
    if (!w)
        return vs_diag_set(d, VS_E_NOMEM, "cannot allocate a segment writer");
    w->dim = dim;
    w->fd = -1;
    w->vec_sum = XXH64_createState();
    w->cctx = ZSTD_createCCtx();
    w->vbuf = malloc((size_t)VS_VEC_BLOCK_ROWS * (dim ? dim : 1) * sizeof(float));
    if (!w->vec_sum || !w->cctx || !w->vbuf) {
        vs_segw_free(w);
        return vs_diag_set(d, VS_E_NOMEM, "cannot allocate a segment writer");
    }
    XXH64_reset(w->vec_sum, 0);
    w->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        int e = errno;
        vs_segw_free(w); /* path not set yet: removes nothing */
        vs_diag_where(d, path, 0);
        return vs_diag_set(d, vs_status_from_errno(e), "cannot create segment: %s",
                           strerror(e));
    }
    snprintf(w->path, sizeof w->path, "%s", path);
    unsigned char hdr[VS_SEG_HEADER_SIZE] = {0};
    int st = vs_io_write_all(w->fd, hdr, sizeof hdr);
    if (st != VS_OK) {
        vs_segw_free(w);
        vs_diag_where(d, path, 0);
        return vs_diag_set(d, st, "cannot write segment: %s",
                           st == VS_E_NOSPC ? "no space left on device"
                                            : vs_status_message(st));
    }
    w->pos = VS_SEG_HEADER_SIZE;
    *out = w;
    return VS_OK;
}

/* Compress src into w->cbuf (level), or keep it raw when that does not gain
 * at least 5%. Sets *codec, *outp, *outlen. */
static int pack(struct vs_segw *w, const void *src, size_t len, int level,
                uint32_t *codec, const void **outp, size_t *outlen)
{
    size_t bound = ZSTD_compressBound(len);
    if (bound > w->cbuf_cap) {
        void *p = realloc(w->cbuf, bound);
        if (!p)
            return VS_E_NOMEM;
        w->cbuf = p;
        w->cbuf_cap = bound;
    }
    size_t n = ZSTD_compressCCtx(w->cctx, w->cbuf, bound, src, len, level);
    if (ZSTD_isError(n))
        return VS_E_INTERNAL;
    if (n < len - len / 20) {
        *codec = VS_CODEC_ZSTD;
        *outp = w->cbuf;
        *outlen = n;
    } else {
        *codec = VS_CODEC_RAW;
        *outp = src;
        *outlen = len;
    }
    return VS_OK;
}

static void index_entry(unsigned char *e, uint64_t off, uint64_t len, uint64_t raw,
                        const void *p, uint64_t first, uint64_t rows)
{
    vs_put64(e, off);
    vs_put64(e + 8, len);
    vs_put64(e + 16, raw);
    vs_put64(e + 24, XXH64(p, (size_t)len, 0));
    vs_put64(e + 32, first);
    vs_put64(e + 40, rows);
}

/* Write a vectors block of rows [first, first + rows) to the file, raw:
 * float32 gains little from zstd (8% on a Gaussian mixture), and raw blocks
 * are read in place from the mapped file, checked only when a search
 * touches them. */
static int write_vblock(struct vs_segw *w, const float *v, uint64_t first, uint64_t rows)
{
    size_t n = (size_t)(rows * w->dim), raw = n * sizeof(float), len = raw;
    const void *p = v;
    if (w->storage == VS_VSTORE_F16) { /* half floats, rounded to nearest even */
        if (!w->hbuf &&
            !(w->hbuf = malloc((size_t)VS_VEC_BLOCK_ROWS * (w->dim ? w->dim : 1) * 2)))
            return VS_E_NOMEM;
        for (size_t i = 0; i < n; i++)
            w->hbuf[i] = vs_quant_f32_to_f16(v[i]);
        p = w->hbuf;
        len = n * 2;
    }
    int st = vs_io_write_all(w->fd, p, len);
    if (st == VS_OK && grow(&w->vecidx, &w->vecidx_cap, w->vecidx_len + VS_DOCIDX_ENTRY, 1))
        st = VS_E_NOMEM;
    if (st != VS_OK)
        return st;
    XXH64_update(w->vec_sum, p, len);
    index_entry(w->vecidx + w->vecidx_len, w->pos - VS_SEG_HEADER_SIZE, len, raw, p,
                first, rows);
    w->vecidx_len += VS_DOCIDX_ENTRY;
    w->pos += len;
    return VS_OK;
}

/* the vectors block being filled (rows streamed by vs_segw_add) */
static int flush_vblock(struct vs_segw *w)
{
    if (w->vrows == 0)
        return VS_OK;
    int st = write_vblock(w, w->vbuf, w->rows - w->vrows, w->vrows);
    w->vrows = 0;
    return st;
}

/* Compress the docs block being filled into memory. */
static int flush_block(struct vs_segw *w)
{
    if (w->blk_rows == 0)
        return VS_OK;
    size_t bound = ZSTD_compressBound(w->blk_len);
    if (grow(&w->docs, &w->docs_cap, w->docs_len + bound, 1) != VS_OK ||
        grow(&w->docidx, &w->docidx_cap, w->docidx_len + VS_DOCIDX_ENTRY, 1) != VS_OK)
        return VS_E_NOMEM;
#ifdef __EMSCRIPTEN__
    /* no dictionary blocks in the WebAssembly build (repack_docs): the
     * dictionary compressor stays out of the module (about 6 KB) */
    size_t n = ZSTD_compressCCtx(w->cctx, w->docs + w->docs_len, bound, w->blk, w->blk_len, 3);
#else
    size_t n = w->cdict ? ZSTD_compress_usingCDict(w->cctx, w->docs + w->docs_len, bound,
                                                   w->blk, w->blk_len, w->cdict)
                        : ZSTD_compressCCtx(w->cctx, w->docs + w->docs_len, bound, w->blk,
                                            w->blk_len, 3);
#endif
    if (ZSTD_isError(n))
        return VS_E_INTERNAL;
    index_entry(w->docidx + w->docidx_len, w->docs_len, n, w->blk_len,
                w->docs + w->docs_len, w->blk_first, w->blk_rows);
    w->docidx_len += VS_DOCIDX_ENTRY;
    w->docs_len += n;
    w->docs_raw += w->blk_len;
    w->blk_len = 0;
    w->blk_rows = 0;
    w->blk_first = w->rows;
    return VS_OK;
}

int vs_segw_add(struct vs_segw *w, const char *id, const float *vec,
                const char *doc, size_t doclen, struct vs_diag *d)
{
    size_t idl = strlen(id) + 1;
    if (grow(&w->ids, &w->ids_cap, w->ids_len + idl, 1) != VS_OK ||
        grow(&w->blk, &w->blk_cap, w->blk_len + doclen + 1, 1) != VS_OK)
        return vs_diag_set(d, VS_E_NOMEM, "cannot grow a segment in memory");
    /* with a graph builder keeping the rows, the rows may be renumbered at
     * finish: their vectors and text postings are written then */
    int kept = w->graph && vs_hnswb_keeps_rows(w->graph);
    if (w->text && !kept) {
        int tst = vs_textb_add(w->text, w->rows, doc, doclen, d);
        if (tst != VS_OK)
            return tst;
    }
    if (w->graph) {
        int gst = vs_hnswb_add(w->graph, vec, d);
        if (gst != VS_OK)
            return gst;
    }
    memcpy(w->ids + w->ids_len, id, idl);
    w->ids_len += idl;
    if (!kept) {
        memcpy(w->vbuf + w->vrows * w->dim, vec, (size_t)w->dim * sizeof(float));
        w->vrows++;
    }
    memcpy(w->blk + w->blk_len, doc, doclen);
    w->blk_len += doclen;
    w->blk[w->blk_len++] = '\n';
    w->blk_rows++;
    w->rows++;
    int st = VS_OK;
    if (w->blk_rows == VS_DOCS_PER_BLOCK)
        st = flush_block(w);
    if (st == VS_OK && w->vrows == VS_VEC_BLOCK_ROWS)
        st = flush_vblock(w);
    if (st != VS_OK) {
        vs_diag_where(d, w->path, 0);
        return vs_diag_set(d, st, "cannot write segment: %s", vs_status_message(st));
    }
    return VS_OK;
}

uint64_t vs_segw_rows(const struct vs_segw *w) { return w->rows; }

void vs_segw_storage(struct vs_segw *w, uint32_t kind) { w->storage = kind; }

/* (here, not in segment.c: the WebAssembly build compiles this file for
 * size, and the setting is read once per store) */
int vs_vector_storage_parse(const char *name, uint32_t *kind)
{
    static const char *const names[] = {"float32", "f16"};
    for (uint32_t k = 0; name && k < 2; k++)
        if (!strcmp(name, names[k])) {
            *kind = k;
            return VS_OK;
        }
    return VS_E_USAGE;
}

const char *vs_vector_storage_name(uint32_t kind)
{
    return kind == VS_VSTORE_FLOAT32 ? "float32" : kind == VS_VSTORE_F16 ? "f16" : "unknown";
}

int vs_vector_storage_read(json_t *m, uint32_t *kind)
{
    /* version 2 names f16; version 1 has no key (float32) */
    json_t *v = json_object_get(m, "vector_storage");
    *kind = VS_VSTORE_FLOAT32;
    if ((json_integer_value(json_object_get(m, "version")) == VS_MANIFEST_VERSION_F16) !=
            (v != NULL) ||
        (v && (vs_vector_storage_parse(json_string_value(v), kind) != VS_OK || !*kind)))
        return VS_E_CORRUPT;
    return VS_OK;
}

void vs_vector_storage_json(json_t *m, uint32_t kind)
{
    if (!kind)
        return;
    json_object_set_new(m, "version", json_integer(VS_MANIFEST_VERSION_F16));
    json_object_set_new(m, "vector_storage", json_string(vs_vector_storage_name(kind)));
}

size_t vs_segw_misfit(uint32_t kind, const float *vec, size_t dim, double norm)
{
    for (size_t i = 0; kind == VS_VSTORE_F16 && i < dim; i++)
        if (!(fabs(norm > 0 ? vec[i] / norm : vec[i]) <= 65504.0))
            return i;
    return dim;
}

int vs_segw_text(struct vs_segw *w, const char *field, const char *analyzer,
                 struct vs_diag *d)
{
    return vs_textb_new(field, analyzer, &w->text, d);
}

int vs_segw_hnsw(struct vs_segw *w, enum vs_metric metric,
                 const struct vs_hnsw_opts *o, uint64_t min_rows,
                 struct vs_diag *d)
{
    return vs_hnswb_new(w->dim, metric, o, min_rows, &w->graph, d);
}

struct vs_hnswb *vs_segw_graph(struct vs_segw *w) { return w->graph; }

static struct vs_sect *add_sect(struct vs_segw *w, uint32_t type, uint32_t codec,
                                uint64_t off, uint64_t len, uint64_t raw, uint64_t sum)
{
    struct vs_sect *s = &w->sect[w->nsect++];
    s->type = type;
    s->flags = VS_SECT_REQUIRED;
    s->codec = codec;
    s->off = off;
    s->len = len;
    s->raw = raw;
    s->sum = sum;
    return s;
}

static int write_sect(struct vs_segw *w, uint32_t type, const void *data,
                      size_t len, int level)
{
    uint32_t codec = VS_CODEC_RAW;
    const void *p = data;
    size_t n = len;
    if (level > 0 && len > 0) {
        int st = pack(w, data, len, level, &codec, &p, &n);
        if (st != VS_OK)
            return st;
    }
    int st = vs_io_write_all(w->fd, p, n);
    if (st != VS_OK)
        return st;
    add_sect(w, type, codec, w->pos, n, len, XXH64(p, n, 0));
    w->pos += n;
    return VS_OK;
}

/* The docs of all rows, decompressed: *raw holds them (each ended by a
 * newline) and (*at)[r] is where row r starts, (*at)[rows] the end. */
static int all_docs(struct vs_segw *w, char **raw, uint64_t **at)
{
    *raw = malloc(w->docs_raw ? w->docs_raw : 1);
    *at = malloc((w->rows + 1) * sizeof **at);
    if (!*raw || !*at)
        return VS_E_NOMEM;
    uint64_t pos = 0, r = 0;
    for (size_t e = 0; e < w->docidx_len; e += VS_DOCIDX_ENTRY) {
        const unsigned char *x = w->docidx + e;
        uint64_t off = vs_get64(x), len = vs_get64(x + 8), rawn = vs_get64(x + 16);
        size_t got = ZSTD_decompress(*raw + pos, rawn, w->docs + off, len);
        if (ZSTD_isError(got) || got != rawn)
            return VS_E_INTERNAL;
        for (uint64_t i = 0; i < rawn; i++)
            if (i == 0 || (*raw)[pos + i - 1] == '\n')
                (*at)[r++] = pos + i;
        pos += rawn;
    }
    if (r != w->rows || pos != w->docs_raw)
        return VS_E_INTERNAL;
    (*at)[r] = pos;
    return VS_OK;
}

/* The rows' docs and ids in the order (row i = the order[i]-th added, or
 * as added when order is NULL), and their text postings fed in that order
 * when they were kept back (see vs_segw_add). */
static int reorder_rows(struct vs_segw *w, const uint32_t *order, struct vs_diag *d)
{
    char *raw = NULL, *ids = NULL;
    uint64_t *at = NULL;
    size_t *idat = NULL;
    int st = all_docs(w, &raw, &at);
    if (st == VS_OK && order) {
        /* the ids, moved */
        idat = malloc((w->rows + 1) * sizeof *idat);
        ids = malloc(w->ids_len ? w->ids_len : 1);
        if (!idat || !ids) {
            st = VS_E_NOMEM;
            goto done;
        }
        size_t p = 0;
        for (uint64_t r = 0; r < w->rows; r++) {
            idat[r] = p;
            p += strlen(w->ids + p) + 1;
        }
        idat[w->rows] = p;
        size_t q = 0;
        for (uint64_t r = 0; r < w->rows; r++) {
            size_t n = idat[order[r] + 1] - idat[order[r]];
            memcpy(ids + q, w->ids + idat[order[r]], n);
            q += n;
        }
        free(w->ids);
        w->ids = ids;
        ids = NULL;
        /* the docs blocks, made again in the new order */
        w->docs_len = w->docidx_len = 0;
        w->docs_raw = 0;
        w->blk_len = w->blk_rows = w->blk_first = 0;
        for (uint64_t r = 0; st == VS_OK && r < w->rows; r++) {
            size_t n = at[order[r] + 1] - at[order[r]];
            if (grow(&w->blk, &w->blk_cap, w->blk_len + n, 1) != VS_OK) {
                st = VS_E_NOMEM;
                break;
            }
            memcpy(w->blk + w->blk_len, raw + at[order[r]], n);
            w->blk_len += n;
            if (++w->blk_rows == VS_DOCS_PER_BLOCK || r + 1 == w->rows) {
                st = flush_block(w);
                w->blk_first = r + 1;
            }
        }
    }
    for (uint64_t r = 0; st == VS_OK && w->text && r < w->rows; r++) {
        uint64_t o = order ? order[r] : r;
        st = vs_textb_add(w->text, r, raw + at[o], at[o + 1] - at[o] - 1, d);
        if (st != VS_OK)
            goto done_diag;
    }
done:
    if (st != VS_OK)
        st = vs_diag_set(d, st, "cannot order a segment's rows: %s", vs_status_message(st));
done_diag:
    free(raw);
    free(at);
    free(ids);
    free(idat);
    return st;
}

/* Decompress the collected docs block at docidx offset e into *raw (grown
 * as needed); *n gets its length. */
static int collected_block(const unsigned char *docs, const unsigned char *e,
                           ZSTD_DCtx *dc, char **raw, size_t *cap, size_t *n)
{
    size_t rawn = (size_t)vs_get64(e + 16);
    if (grow(raw, cap, rawn ? rawn : 1, 1) != VS_OK)
        return VS_E_NOMEM;
    size_t got = ZSTD_decompressDCtx(dc, *raw, rawn, docs + vs_get64(e), (size_t)vs_get64(e + 8));
    if (ZSTD_isError(got) || got != rawn)
        return VS_E_INTERNAL;
    *n = rawn;
    return VS_OK;
}

/* Calls fn(ctx, r, doc, len) for each doc r of the collected blocks, in
 * order (doc includes its newline); stops at fn's first error. */
static int each_collected_doc(const unsigned char *docs, const unsigned char *docidx,
                              size_t docidx_len, ZSTD_DCtx *dc, char **raw, size_t *raw_cap,
                              int (*fn)(void *ctx, uint64_t r, const char *doc, size_t len),
                              void *ctx)
{
    uint64_t r = 0;
    for (size_t e = 0; e < docidx_len; e += VS_DOCIDX_ENTRY) {
        size_t n;
        int st = collected_block(docs, docidx + e, dc, raw, raw_cap, &n);
        if (st != VS_OK)
            return st;
        for (size_t a = 0; a < n; r++) {
            const char *nl = memchr(*raw + a, '\n', n - a);
            if (!nl)
                return VS_E_INTERNAL;
            size_t len = (size_t)(nl - (*raw + a)) + 1;
            if ((st = fn(ctx, r, *raw + a, len)) != VS_OK)
                return st;
            a += len;
        }
    }
    return VS_OK;
}

struct doc_sample {
    char *sample;
    size_t *sizes, nsamples, sample_len, sample_cap;
    uint64_t step;
};

/* each_collected_doc: one doc in `step` into the dictionary's sample */
static int sample_doc(void *ctx, uint64_t r, const char *doc, size_t len)
{
    struct doc_sample *ds = ctx;
    if (r % ds->step == 0 && len <= ds->sample_cap - ds->sample_len) {
        memcpy(ds->sample + ds->sample_len, doc, len);
        ds->sample_len += len;
        ds->sizes[ds->nsamples++] = len;
    }
    return VS_OK;
}

/* each_collected_doc: the doc into w's current block (dictionary blocks) */
static int reblock_doc(void *ctx, uint64_t r, const char *doc, size_t len)
{
    struct vs_segw *w = ctx;
    int st;
    if (w->blk_rows > 0 && (w->blk_len + len > VS_DOCS_BLOCK_BYTES ||
                            w->blk_rows == VS_DOCS_PER_BLOCK)) {
        if ((st = flush_block(w)) != VS_OK)
            return st;
        w->blk_first = r;
    }
    if (grow(&w->blk, &w->blk_cap, w->blk_len + len, 1) != VS_OK)
        return VS_E_NOMEM;
    memcpy(w->blk + w->blk_len, doc, len);
    w->blk_len += len;
    w->blk_rows++;
    return VS_OK;
}

/* The docs collected in blocks of VS_DOCS_PER_BLOCK, written again in
 * blocks of at most VS_DOCS_BLOCK_BYTES compressed with a dictionary
 * trained on a sample of them (store_internal.h), so that reading one doc
 * decompresses a few KiB. Kept as they are when the docs are small, when
 * no dictionary can be trained from them, or when the new blocks, their
 * index entries and the dictionary would add more than 1/16 of the bytes
 * of the old ones and the vectors (the segment would grow by more than
 * about 6%). */
static int repack_docs(struct vs_segw *w)
{
#ifdef __EMSCRIPTEN__
    /* the WebAssembly build links zstd without its dictionary builder (the
     * module's size): it writes the 256-doc blocks, and reads both kinds */
    (void)w;
    (void)each_collected_doc;
    (void)sample_doc;
    (void)reblock_doc;
    return VS_OK;
#else
    if (w->docs_raw < VS_DOCS_DICT_MIN || w->rows == 0)
        return VS_OK;
    int st = VS_OK;
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    char *raw = NULL, *sample = NULL, *dict = NULL;
    size_t raw_cap = 0, *sizes = NULL;
    unsigned char *docs = w->docs, *docidx = w->docidx;
    size_t docs_len = w->docs_len, docidx_len = w->docidx_len;
    size_t docs_cap = w->docs_cap, docidx_cap = w->docidx_cap;
    /* one doc in `step` goes to the sample, up to VS_DOCS_DICT_SAMPLE bytes */
    uint64_t step = w->docs_raw / VS_DOCS_DICT_SAMPLE + 1;
    size_t sample_cap = w->docs_raw < VS_DOCS_DICT_SAMPLE ? (size_t)w->docs_raw
                                                           : VS_DOCS_DICT_SAMPLE;
    size_t dict_cap = (size_t)(w->docs_raw / 64);
    if (dict_cap > VS_DOCS_DICT_BYTES)
        dict_cap = VS_DOCS_DICT_BYTES;
    if (dict_cap < (2u << 10))
        dict_cap = 2u << 10;
    sample = malloc(sample_cap);
    sizes = malloc((size_t)(w->rows / step + 1) * sizeof *sizes);
    dict = malloc(dict_cap);
    if (!dc || !sample || !sizes || !dict) {
        st = VS_E_NOMEM;
        goto done;
    }
    struct doc_sample ds = {sample, sizes, 0, 0, sample_cap, step};
    if ((st = each_collected_doc(docs, docidx, docidx_len, dc, &raw, &raw_cap, sample_doc,
                                 &ds)) != VS_OK)
        goto done;
    size_t dl = ZDICT_trainFromBuffer(dict, dict_cap, sample, sizes, (unsigned)ds.nsamples);
    if (ZDICT_isError(dl))
        goto done; /* too few or too alike docs: the blocks stay as they are */
    if (!(w->cdict = ZSTD_createCDict(dict, dl, 3))) {
        st = VS_E_NOMEM;
        goto done;
    }
    /* the blocks again, with the dictionary, into new buffers */
    w->docs = w->docidx = NULL;
    w->docs_len = w->docs_cap = w->docidx_len = w->docidx_cap = 0;
    w->docs_raw = 0;
    w->blk_len = w->blk_rows = w->blk_first = 0;
    if ((st = each_collected_doc(docs, docidx, docidx_len, dc, &raw, &raw_cap, reblock_doc,
                                 w)) != VS_OK)
        goto done;
    if ((st = flush_block(w)) != VS_OK)
        goto done;
    uint64_t before = docs_len + docidx_len, after = w->docs_len + w->docidx_len + dl;
    uint64_t vbytes = w->rows * w->dim * (w->storage == VS_VSTORE_F16 ? 2u : sizeof(float));
    if (after > before && after - before > (before + vbytes) / 16) {
        /* the dictionary does not pay here: back to the blocks collected */
        free(w->docs);
        free(w->docidx);
        ZSTD_freeCDict(w->cdict);
        w->cdict = NULL;
        goto restore;
    }
    free(docs);
    free(docidx);
    w->dict = dict;
    w->dict_len = dl;
    dict = NULL;
    goto free_tmp;
done:
    if (w->docs != docs) {
        free(w->docs);
        free(w->docidx);
    }
    ZSTD_freeCDict(w->cdict);
    w->cdict = NULL;
restore:
    w->docs = docs;
    w->docidx = docidx;
    w->docs_len = docs_len;
    w->docidx_len = docidx_len;
    w->docs_cap = docs_cap;
    w->docidx_cap = docidx_cap;
    {
        uint64_t total = 0;
        for (size_t e = 0; e < docidx_len; e += VS_DOCIDX_ENTRY)
            total += vs_get64(docidx + e + 16);
        w->docs_raw = total;
    }
free_tmp:
    ZSTD_freeDCtx(dc);
    free(raw);
    free(sample);
    free(sizes);
    free(dict);
    return st;
#endif
}

int vs_segw_finish(struct vs_segw *w, uint64_t *bytes, struct vs_diag *d)
{
    int st;
    void *gb = NULL, *qb = NULL;
    size_t gl = 0, ql = 0;
    uint32_t *order = NULL;
    int kept = w->graph && vs_hnswb_keeps_rows(w->graph);
    if ((st = flush_vblock(w)) != VS_OK || (st = flush_block(w)) != VS_OK)
        goto fail;
    if (w->graph) { /* optional for readers: without it, exact search */
        st = vs_hnswb_finish(w->graph, &gb, &gl, &qb, &ql, &order, d);
        if (st == VS_E_NOTFOUND)
            st = VS_OK; /* too few rows for a graph */
        else if (st != VS_OK)
            goto fail_diag;
    }
    if (kept) {
        /* the rows kept by the graph builder, in graph order when it
         * renumbered them: written now, from the header on */
        uint64_t n;
        const float *v = vs_hnswb_vectors(w->graph, &n);
        for (uint64_t r = 0; st == VS_OK && r < n; r += VS_VEC_BLOCK_ROWS)
            st = write_vblock(w, v + r * w->dim, r,
                              n - r < VS_VEC_BLOCK_ROWS ? n - r : VS_VEC_BLOCK_ROWS);
        if (st != VS_OK)
            goto fail;
        if ((order || w->text) && (st = reorder_rows(w, order, d)) != VS_OK)
            goto fail_diag;
    }
    if ((st = repack_docs(w)) != VS_OK)
        goto fail;
    /* VECTORS were streamed since the header; codec "zstd" means blocks,
     * each raw or zstd (see VECINDEX), "f16" blocks of half floats */
    add_sect(w, VS_SECT_VECTORS,
             w->storage == VS_VSTORE_F16 ? VS_CODEC_F16 : VS_CODEC_ZSTD, VS_SEG_HEADER_SIZE,
             w->pos - VS_SEG_HEADER_SIZE, w->rows * w->dim * sizeof(float),
             XXH64_digest(w->vec_sum));
    /* DOCS: the compressed blocks; docidx offsets are relative to here */
    if ((st = vs_io_write_all(w->fd, w->docs, w->docs_len)) != VS_OK)
        goto fail;
    add_sect(w, VS_SECT_DOCS, VS_CODEC_ZSTD, w->pos, w->docs_len, w->docs_raw,
             XXH64(w->docs, w->docs_len, 0));
    w->pos += w->docs_len;
    if ((st = write_sect(w, VS_SECT_IDS, w->ids, w->ids_len, 3)) != VS_OK ||
        (st = write_sect(w, VS_SECT_DOCINDEX, w->docidx, w->docidx_len, 0)) != VS_OK ||
        (st = write_sect(w, VS_SECT_VECINDEX, w->vecidx, w->vecidx_len, 0)) != VS_OK)
        goto fail;
    /* the docs blocks' dictionary: required (the blocks cannot be read
     * without it) */
    if (w->dict && (st = write_sect(w, VS_SECT_DOCDICT, w->dict, w->dict_len, 0)) != VS_OK)
        goto fail;
    if (w->text) { /* postings are compressed inside; optional for readers */
        void *tb;
        size_t tl;
        if ((st = vs_textb_finish(w->text, &tb, &tl, d)) != VS_OK)
            goto fail;
        st = write_sect(w, VS_SECT_BM25, tb, tl, 0);
        free(tb);
        if (st != VS_OK)
            goto fail;
        w->sect[w->nsect - 1].flags = 0;
    }
    if (gb) {
        st = write_sect(w, VS_SECT_HNSW, gb, gl, 0);
        if (st == VS_OK)
            w->sect[w->nsect - 1].flags = 0;
        /* vector codes: raw (each block carries its own checksum,
         * read in place), 64-byte aligned in the file */
        if (st == VS_OK && qb && w->pos % 64) {
            static const unsigned char zero[64];
            size_t pad = 64 - w->pos % 64;
            if ((st = vs_io_write_all(w->fd, zero, pad)) == VS_OK)
                w->pos += pad;
        }
        if (st == VS_OK && qb) {
            st = write_sect(w, VS_SECT_QUANT, qb, ql, 0);
            if (st == VS_OK)
                w->sect[w->nsect - 1].flags = 0;
        }
        if (st != VS_OK)
            goto fail;
    }
    unsigned char table[12 * VS_SEG_SECT_SIZE];
    memset(table, 0, sizeof table);
    for (unsigned i = 0; i < w->nsect; i++) {
        unsigned char *e = table + i * VS_SEG_SECT_SIZE;
        vs_put32(e, w->sect[i].type);
        vs_put32(e + 4, w->sect[i].flags);
        vs_put32(e + 8, w->sect[i].codec);
        vs_put64(e + 16, w->sect[i].off);
        vs_put64(e + 24, w->sect[i].len);
        vs_put64(e + 32, w->sect[i].raw);
        vs_put64(e + 40, w->sect[i].sum);
    }
    size_t tlen = w->nsect * VS_SEG_SECT_SIZE;
    uint64_t table_off = w->pos;
    if ((st = vs_io_write_all(w->fd, table, tlen)) != VS_OK)
        goto fail;
    w->pos += tlen;
    unsigned char h[VS_SEG_HEADER_SIZE] = {0};
    memcpy(h, VS_SEG_MAGIC, 8);
    vs_put32(h + 8, VS_SEG_VERSION);
    vs_put32(h + 12, w->nsect);
    vs_put64(h + 16, w->rows);
    vs_put32(h + 24, w->dim);
    vs_put32(h + 28, VS_DOCS_PER_BLOCK);
    vs_put64(h + 32, table_off);
    vs_put64(h + 40, XXH64(table, tlen, 0));
    vs_put64(h + 56, XXH64(h, 56, 0));
    errno = 0;
    if (pwrite(w->fd, h, sizeof h, 0) != (ssize_t)sizeof h) {
        st = vs_status_from_errno(errno ? errno : EIO);
        goto fail;
    }
    if (fsync(w->fd) != 0) {
        st = vs_status_from_errno(errno);
        goto fail;
    }
    int rc = close(w->fd);
    w->fd = -1;
    if (rc != 0) {
        st = vs_status_from_errno(errno);
        goto fail;
    }
    w->finished = 1;
    if (bytes)
        *bytes = w->pos;
    free(gb);
    free(qb);
    free(order);
    return VS_OK;
fail:
    vs_diag_where(d, w->path, 0);
    if (st == VS_E_NOMEM)
        st = vs_diag_set(d, st, "out of memory writing a segment");
    else
        st = vs_diag_set(d, st, "cannot write segment: %s",
                         st == VS_E_NOSPC ? "no space left on device"
                                          : vs_status_message(st));
fail_diag:
    free(gb);
    free(qb);
    free(order);
    return st;
}

void vs_segw_free(struct vs_segw *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    if (!w->finished && w->path[0])
        unlink(w->path);
    vs_textb_free(w->text);
    vs_hnswb_free(w->graph);
    free(w->ids);
    free(w->vbuf);
    free(w->hbuf);
    free(w->vecidx);
    free(w->blk);
    free(w->docs);
    free(w->docidx);
    free(w->cbuf);
    XXH64_freeState(w->vec_sum);
    ZSTD_freeCCtx(w->cctx);
#ifndef __EMSCRIPTEN__
    ZSTD_freeCDict(w->cdict);
#endif
    free(w->dict);
    free(w);
}

