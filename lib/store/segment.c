/* segment.c: immutable segment files and deletion files.
 *
 * A segment file is
 *   header (64 bytes)   magic, format version, rows, dim, table offset,
 *                       table checksum, header checksum
 *   DOCS blocks         zstd frames of up to VS_DOCS_PER_BLOCK '\n'-ended
 *                       docs, or of at most VS_DOCS_BLOCK_BYTES compressed
 *                       with the dictionary of section DOCDICT
 *   IDS, VECTORS (blocks of VS_VEC_BLOCK_ROWS rows), DOCINDEX, VECINDEX,
 *   DOCDICT (when the docs were big enough for a dictionary)
 *   section table       48 bytes per section
 * Each section carries an XXH64 of its stored bytes; each docs block and
 * each vectors block has its own XXH64 in DOCINDEX / VECINDEX, so one record
 * can be read without decompressing the others.
 */
#include "store_internal.h"
#include "hnsw_internal.h"
#include "quant_internal.h"
#include "store_hnsw_internal.h"
#include "store_text_internal.h"
#include "vs_jsonscan.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the segment format stores float32 little-endian; port vs_segw_add"
#endif

/* ---- I/O helpers ---- */

int vs_io_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return vs_status_from_errno(errno);
        }
        p += n;
        len -= (size_t)n;
    }
    return VS_OK;
}

int vs_io_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return vs_status_from_errno(errno);
        }
        if (n == 0)
            return VS_E_CORRUPT; /* file shorter than its table says */
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return VS_OK;
}

int vs_io_open_regular(const char *path, struct stat *sb)
{
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
     * writer forever; it changes nothing for a regular file */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -1;
    if (fstat(fd, sb) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (!S_ISREG(sb->st_mode)) {
        close(fd);
        return -2;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

int vs_io_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return vs_status_from_errno(errno);
    int st = fsync(fd) == 0 ? VS_OK : vs_status_from_errno(errno);
    close(fd);
    return st;
}

static const char *sect_name(uint32_t type)
{
    switch (type) {
    case VS_SECT_IDS: return "ids";
    case VS_SECT_VECTORS: return "vectors";
    case VS_SECT_DOCINDEX: return "docindex";
    case VS_SECT_DOCS: return "docs";
    case VS_SECT_VECINDEX: return "vecindex";
    case VS_SECT_BM25: return "bm25";
    case VS_SECT_HNSW: return "hnsw";
    case VS_SECT_QUANT: return "quant";
    case VS_SECT_DOCDICT: return "docdict";
    default: return "unknown";
    }
}

/* n half floats at h -> float32 at f */
static void f16_decode(float *f, const unsigned char *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        f[i] = vs_quant_f16_to_f32((uint16_t)(h[2 * i] | h[2 * i + 1] << 8));
}

/* ---- reading ---- */

static int corrupt(struct vs_diag *d, const struct vs_segment *g,
                   const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int corrupt(struct vs_diag *d, const struct vs_segment *g,
                   const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    vs_diag_where(d, g->path, 0);
    return vs_diag_set(d, VS_E_CORRUPT, "%s", buf);
}

int vs_seg_open(const char *dir, const char *name, struct vs_segment **out,
                struct vs_diag *d)
{
    *out = NULL;
    struct vs_segment *g = calloc(1, sizeof *g);
    if (!g)
        return vs_diag_set(d, VS_E_NOMEM, "cannot allocate a segment");
    snprintf(g->path, sizeof g->path, "%s/%s", dir, name);
    snprintf(g->name, sizeof g->name, "%s", name);
    pthread_mutex_init(&g->mu, NULL);
    g->blk_no = UINT64_MAX;
    g->vblk_no = UINT64_MAX;
    int st;
    struct stat sb;
    g->fd = vs_io_open_regular(g->path, &sb);
    if (g->fd == -2) {
        st = corrupt(d, g, "segment is not a regular file");
        goto fail;
    }
    if (g->fd < 0) {
        int e = errno;
        vs_diag_where(d, g->path, 0);
        st = e == ENOENT ? VS_E_NOTFOUND : vs_status_from_errno(e);
        vs_diag_set(d, st, "cannot open segment: %s", strerror(e));
        vs_seg_close(g);
        return st;
    }
    g->file_bytes = (uint64_t)sb.st_size;
    unsigned char h[VS_SEG_HEADER_SIZE];
    if (g->file_bytes < VS_SEG_HEADER_SIZE) {
        st = corrupt(d, g, "truncated segment (%llu bytes)", (unsigned long long)g->file_bytes);
        goto fail;
    }
    if ((st = vs_io_pread_all(g->fd, h, sizeof h, 0)) != VS_OK) {
        st = corrupt(d, g, "cannot read the header");
        goto fail;
    }
    if (memcmp(h, VS_SEG_MAGIC, 8) != 0) {
        st = corrupt(d, g, "not a segment file (bad magic)");
        goto fail;
    }
    if (vs_get64(h + 56) != XXH64(h, 56, 0)) {
        st = corrupt(d, g, "header checksum mismatch");
        goto fail;
    }
    uint32_t version = vs_get32(h + 8);
    if (version != VS_SEG_VERSION) {
        vs_diag_where(d, g->path, 0);
        st = vs_diag_set(d, VS_E_VERSION,
                         "segment format version %u is not supported (this "
                         "build reads version %u)", version, VS_SEG_VERSION);
        goto fail;
    }
    g->nsect = vs_get32(h + 12);
    g->rows = vs_get64(h + 16);
    g->dim = vs_get32(h + 24);
    uint64_t toff = vs_get64(h + 32);
    if (g->nsect == 0 || g->nsect > VS_SEG_MAX_SECT || toff < VS_SEG_HEADER_SIZE ||
        toff > g->file_bytes ||
        g->file_bytes - toff < (uint64_t)g->nsect * VS_SEG_SECT_SIZE) {
        st = corrupt(d, g, "truncated segment (%llu bytes): the section table "
                     "is missing", (unsigned long long)g->file_bytes);
        goto fail;
    }
    unsigned char table[VS_SEG_MAX_SECT * VS_SEG_SECT_SIZE];
    size_t tlen = g->nsect * VS_SEG_SECT_SIZE;
    if (vs_io_pread_all(g->fd, table, tlen, toff) != VS_OK ||
        XXH64(table, tlen, 0) != vs_get64(h + 40)) {
        st = corrupt(d, g, "section table checksum mismatch");
        goto fail;
    }
    int have[6] = {0};
    for (uint32_t i = 0; i < g->nsect; i++) {
        const unsigned char *e = table + i * VS_SEG_SECT_SIZE;
        struct vs_sect *s = &g->sect[i];
        s->type = vs_get32(e);
        s->flags = vs_get32(e + 4);
        s->codec = vs_get32(e + 8);
        s->off = vs_get64(e + 16);
        s->len = vs_get64(e + 24);
        s->raw = vs_get64(e + 32);
        s->sum = vs_get64(e + 40);
        if (s->off > toff || s->len > toff - s->off) {
            st = corrupt(d, g, "section '%s': extends past the end of the data",
                         sect_name(s->type));
            goto fail;
        }
        if (s->type >= 1 && s->type <= 5) {
            have[s->type] = 1;
            if (s->type == VS_SECT_VECTORS && s->codec == VS_CODEC_F16) {
                g->vf16 = 1;
            } else if (s->codec > VS_CODEC_ZSTD) {
                vs_diag_where(d, g->path, 0);
                st = vs_diag_set(d, VS_E_VERSION, "section '%s': unknown codec %u",
                                 sect_name(s->type), s->codec);
                goto fail;
            }
        } else if (s->type == VS_SECT_DOCDICT) {
            if (s->codec != VS_CODEC_RAW || s->len != s->raw) {
                st = corrupt(d, g, "section 'docdict': bad size");
                goto fail;
            }
        } else if (s->flags & VS_SECT_REQUIRED) {
            vs_diag_where(d, g->path, 0);
            st = vs_diag_set(d, VS_E_VERSION,
                             "required section type %u is not supported", s->type);
            goto fail;
        }
    }
    for (int t = 1; t <= 5; t++)
        if (!have[t]) {
            st = corrupt(d, g, "section '%s' is missing", sect_name((uint32_t)t));
            goto fail;
        }
    /* every size below is computed from these two: rows x dim x 4 must
     * not overflow, a segment with rows has a dimension (the manifest's
     * limit), and each row takes at least its id's NUL in the ids section */
    uint64_t vbytes;
    if (__builtin_mul_overflow(g->rows, (uint64_t)g->dim * sizeof(float), &vbytes) ||
        (g->rows && (g->dim == 0 || g->dim > VS_SEG_MAX_DIM))) {
        st = corrupt(d, g, "header: %llu rows x dimension %u is not a valid size",
                     (unsigned long long)g->rows, g->dim);
        goto fail;
    }
    for (uint32_t i = 0; i < g->nsect; i++) {
        const struct vs_sect *s = &g->sect[i];
        if (s->type == VS_SECT_VECTORS &&
            (s->raw != vbytes || (g->vf16 && s->len != vbytes / 2))) {
            st = corrupt(d, g, "section 'vectors': size does not match rows x dim");
            goto fail;
        }
        if (s->type == VS_SECT_IDS && s->raw < g->rows) {
            st = corrupt(d, g, "section 'ids': too small for %llu rows",
                         (unsigned long long)g->rows);
            goto fail;
        }
        /* no zstd frame expands more than VS_ZSTD_MAX_RATIO times (an RLE
         * block: 4 bytes for 128 KiB), so a larger raw length is a lie that
         * would size an allocation */
        if (s->codec == VS_CODEC_ZSTD && s->raw / VS_ZSTD_MAX_RATIO > s->len) {
            st = corrupt(d, g, "section '%s': raw length %llu is impossible for %llu "
                         "stored bytes", sect_name(s->type), (unsigned long long)s->raw,
                         (unsigned long long)s->len);
            goto fail;
        }
        if ((s->type == VS_SECT_DOCINDEX || s->type == VS_SECT_VECINDEX) &&
            s->raw % VS_DOCIDX_ENTRY != 0) {
            st = corrupt(d, g, "section '%s': bad size", sect_name(s->type));
            goto fail;
        }
        if (s->codec == VS_CODEC_RAW && s->type != VS_SECT_DOCS &&
            s->type != VS_SECT_VECTORS && s->len != s->raw) {
            st = corrupt(d, g, "section '%s': bad size", sect_name(s->type));
            goto fail;
        }
        if (s->raw > ((uint64_t)1 << 40)) {
            st = corrupt(d, g, "section '%s': implausible size", sect_name(s->type));
            goto fail;
        }
    }
    *out = g;
    return VS_OK;
fail:
    vs_seg_close(g);
    return st;
}

/* Strings of vs_segment_id, kept until the segment is closed. */
struct vs_idchunk {
    struct vs_idchunk *next;
    size_t used, cap;
    char text[];
};

void vs_seg_close(struct vs_segment *g)
{
    if (!g)
        return;
    if (g->fd >= 0)
        close(g->fd);
    if (g->map)
        munmap(g->map, g->map_len);
    free(g->del);
    if (g->vmapped != 1)
        free(g->vregion);
    free(g->vready);
    free(g->vsbuf);
    free(g->idbuf);
    free(g->ids);
    free(g->idrow);
    while (g->idchunks) {
        struct vs_idchunk *c = g->idchunks;
        g->idchunks = c->next;
        free(c);
    }
    free(g->docidx);
    free(g->dfirst);
    free(g->vecidx);
    free(g->vblk);
    free(g->blk);
    for (uint64_t b = 0; g->dcache && b < g->nblocks; b++) {
        char *c = (char *)g->dcache[b];
        if (!(g->darena && c >= g->darena && c < g->darena + g->darena_cap))
            free(c);
    }
    free(g->dcache);
    free(g->darena);
    ZSTD_freeDDict(g->ddict);
    ZSTD_freeDCtx(g->dctx);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

static const struct vs_sect *find_sect(const struct vs_segment *g, uint32_t type)
{
    for (uint32_t i = 0; i < g->nsect; i++)
        if (g->sect[i].type == type)
            return &g->sect[i];
    return NULL;
}

/* Read stored bytes [off, off+len) of the file, check sum, decompress into a
 * new buffer of raw bytes (64-byte aligned, NUL-terminated past raw). */
#define VS_HUGE_PAGE ((size_t)2 << 20)

/* n bytes aligned to 64 (free() them); from 2 MiB up, on huge pages where
 * the kernel gives them on request (madvise mode): filling a large section
 * then takes a page fault per 2 MiB instead of one per 4 KiB, which was
 * most of the time to a store's first answer. */
static void *big_alloc(size_t n)
{
    if (n < VS_HUGE_PAGE)
        return aligned_alloc(64, (n + 63) / 64 * 64);
    size_t cap = (n + VS_HUGE_PAGE - 1) / VS_HUGE_PAGE * VS_HUGE_PAGE;
    void *p = aligned_alloc(VS_HUGE_PAGE, cap);
    if (p)
        (void)madvise(p, cap, MADV_HUGEPAGE); /* a hint: may fail */
    return p;
}

static int load_bytes(struct vs_segment *g, const char *what, uint64_t off,
                      uint64_t len, uint64_t raw, uint64_t sum, uint32_t codec,
                      void **out, struct vs_diag *d)
{
    *out = NULL;
    /* every length here comes from the file: check it against the file and
     * against what the stored bytes can hold before it sizes a buffer */
    if (off > g->file_bytes || len > g->file_bytes - off) {
        vs_diag_where(d, g->path, 0);
        return vs_diag_set(d, VS_E_CORRUPT, "%s: extends past the end of the file", what);
    }
    if (codec == VS_CODEC_RAW ? len != raw : raw / VS_ZSTD_MAX_RATIO > len) {
        vs_diag_where(d, g->path, 0);
        return vs_diag_set(d, VS_E_CORRUPT, "%s: bad size", what);
    }
    /* a raw section is read straight into its buffer */
    int direct = codec == VS_CODEC_RAW;
    void *dst = NULL;
    void *stored = big_alloc(direct ? (size_t)raw + 1 : len ? (size_t)len : 1);
    if (!stored)
        return vs_diag_set(d, VS_E_NOMEM, "cannot allocate %llu bytes for %s",
                           (unsigned long long)(direct ? raw : len), what);
    int st = vs_io_pread_all(g->fd, stored, len, off);
    if (st != VS_OK) {
        vs_diag_where(d, g->path, 0);
        vs_diag_set(d, st, "%s: cannot read%s", what,
                    st == VS_E_CORRUPT ? " (file is truncated)" : "");
        goto fail;
    }
    if (XXH64(stored, len, 0) != sum) {
        vs_diag_where(d, g->path, 0);
        st = vs_diag_set(d, VS_E_CORRUPT, "%s: checksum mismatch", what);
        goto fail;
    }
    if (direct) {
        dst = stored;
        stored = NULL;
    } else {
        /* the frame says how much it holds (the writer records it): a
         * different raw length is refused before it is allocated */
        unsigned long long fs = ZSTD_getFrameContentSize(stored, (size_t)len);
        if (fs == ZSTD_CONTENTSIZE_ERROR || (fs != ZSTD_CONTENTSIZE_UNKNOWN && fs != raw)) {
            vs_diag_where(d, g->path, 0);
            st = vs_diag_set(d, VS_E_CORRUPT, "%s: does not decompress to its %llu bytes",
                             what, (unsigned long long)raw);
            goto fail;
        }
        if (!(dst = big_alloc((size_t)raw + 1))) {
            st = vs_diag_set(d, VS_E_NOMEM, "cannot allocate %llu bytes for %s",
                             (unsigned long long)raw, what);
            goto fail;
        }
        size_t n = ZSTD_decompress(dst, raw, stored, len);
        if (ZSTD_isError(n) || n != raw) {
            vs_diag_where(d, g->path, 0);
            st = vs_diag_set(d, VS_E_CORRUPT, "%s: does not decompress", what);
            goto fail;
        }
        free(stored);
    }
    ((char *)dst)[raw] = '\0';
    *out = dst;
    return VS_OK;
fail:
    free(stored);
    free(dst);
    return st;
}

/* Map the whole file read-only on first use (caller holds g->mu). A segment
 * is never modified once written, so the mapping stays valid. */
static int seg_map(struct vs_segment *g, struct vs_diag *d)
{
    if (g->map)
        return VS_OK;
    void *p = mmap(NULL, (size_t)g->file_bytes, PROT_READ, MAP_SHARED, g->fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        vs_diag_where(d, g->path, 0);
        return vs_diag_set(d, vs_status_from_errno(e), "cannot map segment: %s", strerror(e));
    }
    g->map = p;
    g->map_len = (size_t)g->file_bytes;
    return VS_OK;
}

int vs_seg_section_map(struct vs_segment *g, uint32_t type, const void **p,
                       size_t *len, struct vs_diag *d)
{
    *p = NULL;
    *len = 0;
    const struct vs_sect *s = find_sect(g, type);
    if (!s)
        return VS_E_NOTFOUND;
    if (s->codec != VS_CODEC_RAW || s->len != s->raw)
        return VS_E_UNSUPPORTED;
    pthread_mutex_lock(&g->mu);
    int st = seg_map(g, d);
    pthread_mutex_unlock(&g->mu);
    if (st != VS_OK)
        return st;
    *p = g->map + s->off; /* vs_seg_open checked it lies inside the file */
    *len = (size_t)s->len;
    return VS_OK;
}

static int load_sect(struct vs_segment *g, uint32_t type, void **out,
                     struct vs_diag *d)
{
    const struct vs_sect *s = find_sect(g, type);
    char what[64];
    snprintf(what, sizeof what, "section '%s'", sect_name(type));
    return load_bytes(g, what, s->off, s->len, s->raw, s->sum, s->codec, out, d);
}

int vs_seg_section(struct vs_segment *g, uint32_t type, void **buf,
                   size_t *len, struct vs_diag *d)
{
    *buf = NULL;
    *len = 0;
    const struct vs_sect *s = find_sect(g, type);
    if (!s)
        return VS_E_NOTFOUND;
    int st = load_sect(g, type, buf, d);
    if (st == VS_OK)
        *len = (size_t)s->raw;
    return st;
}

static int ensure_docidx(struct vs_segment *g, struct vs_diag *d)
{
    if (g->docidx)
        return VS_OK;
    void *p;
    int st = load_sect(g, VS_SECT_DOCINDEX, &p, d);
    if (st != VS_OK)
        return st;
    const struct vs_sect *docs = find_sect(g, VS_SECT_DOCS);
    const struct vs_sect *ix = find_sect(g, VS_SECT_DOCINDEX);
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
    const struct vs_sect *s = find_sect(g, VS_SECT_DOCDICT);
    if (s && !g->ddict) {
        void *p;
        int st = load_sect(g, VS_SECT_DOCDICT, &p, d);
        if (st != VS_OK)
            return st;
        g->ddict = ZSTD_createDDict(p, (size_t)s->raw);
        free(p);
        if (!g->ddict)
            return corrupt(d, g, "section 'docdict': not a zstd dictionary");
    }
    if (!(g->dctx = ZSTD_createDCtx()))
        return vs_diag_set(d, VS_E_NOMEM, "cannot allocate a zstd context");
    return VS_OK;
}

/* Decompress docs block b into dst (raw + 1 bytes, raw from the block's
 * index entry; NUL-terminated) from the mapped file: checked against its
 * checksum, decompressed with the segment's dictionary when it has one
 * (caller holds g->mu: the context is the segment's). */
static int unpack_block(struct vs_segment *g, uint64_t b, char *dst, struct vs_diag *d)
{
    const struct vs_sect *docs = find_sect(g, VS_SECT_DOCS);
    const unsigned char *e = g->docidx + b * VS_DOCIDX_ENTRY;
    uint64_t off = vs_get64(e), len = vs_get64(e + 8), raw = vs_get64(e + 16);
    /* ensure_docidx checked that the block lies inside the section, and
     * vs_seg_open that the section lies inside the file */
    const unsigned char *src = g->map + docs->off + off;
    size_t n = g->ddict ? ZSTD_decompress_usingDDict(g->dctx, dst, (size_t)raw, src,
                                                     (size_t)len, g->ddict)
                        : ZSTD_decompressDCtx(g->dctx, dst, (size_t)raw, src, (size_t)len);
    if (ZSTD_isError(n) || n != raw)
        return corrupt(d, g, "section 'docs' block %llu: does not decompress",
                       (unsigned long long)b);
    /* every doc ends with a newline; a block claiming more docs than it
     * holds is found when one of them is read (vs-index verify counts) */
    if (dst[raw - 1] != '\n')
        return corrupt(d, g, "section 'docs' block %llu: holds the wrong number of docs",
                       (unsigned long long)b);
    dst[raw] = '\0';
    return VS_OK;
}

/* The checks of docs block b before it is decompressed (caller holds
 * g->mu): its size, checksum and frame; *raw its decompressed bytes. */
static int check_block(struct vs_segment *g, uint64_t b, uint64_t *raw, struct vs_diag *d)
{
    int st;
    if ((st = ensure_dctx(g, d)) != VS_OK || (st = seg_map(g, d)) != VS_OK)
        return st;
    const struct vs_sect *docs = find_sect(g, VS_SECT_DOCS);
    const unsigned char *e = g->docidx + b * VS_DOCIDX_ENTRY;
    uint64_t off = vs_get64(e), len = vs_get64(e + 8);
    *raw = vs_get64(e + 16);
    const unsigned char *src = g->map + docs->off + off;
    if (*raw / VS_ZSTD_MAX_RATIO > len)
        return corrupt(d, g, "section 'docs' block %llu: bad size", (unsigned long long)b);
    if (XXH64(src, (size_t)len, 0) != vs_get64(e + 24))
        return corrupt(d, g, "section 'docs' block %llu: checksum mismatch",
                       (unsigned long long)b);
    unsigned long long fs = ZSTD_getFrameContentSize(src, (size_t)len);
    if (fs == ZSTD_CONTENTSIZE_ERROR || (fs != ZSTD_CONTENTSIZE_UNKNOWN && fs != *raw))
        return corrupt(d, g, "section 'docs' block %llu: does not decompress to its %llu bytes",
                       (unsigned long long)b, (unsigned long long)*raw);
    return VS_OK;
}

/* Decompress docs block b into g->blk (caller holds g->mu), into a buffer
 * kept from block to block. */
static int load_block(struct vs_segment *g, uint64_t b, struct vs_diag *d)
{
    if (g->blk_no == b)
        return VS_OK;
    uint64_t raw;
    int st = check_block(g, b, &raw, d);
    if (st != VS_OK)
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
    if ((st = unpack_block(g, b, g->blk, d)) != VS_OK)
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

/* The block of an index of n blocks (docidx or vecidx entries, in row
 * order) that holds row: binary search on their first rows. */
static uint64_t block_of(const unsigned char *idx, uint64_t n, uint64_t row)
{
    uint64_t lo = 0, hi = n;
    while (hi - lo > 1) {
        uint64_t mid = (lo + hi) / 2;
        if (vs_get64(idx + mid * VS_DOCIDX_ENTRY + 32) <= row)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

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

/* Docs block b into the cache (caller holds g->mu): *out the block, or
 * NULL when keeping it would pass the budget. */
static int cache_block(struct vs_segment *g, uint64_t b, struct vs_docblk **out,
                       struct vs_diag *d)
{
    if ((*out = __atomic_load_n(&g->dcache[b], __ATOMIC_ACQUIRE)) != NULL)
        return VS_OK;
    const unsigned char *e = g->docidx + b * VS_DOCIDX_ENTRY;
    uint64_t raw, n = vs_get64(e + 40);
    int st = check_block(g, b, &raw, d);
    if (st != VS_OK)
        return st;
    size_t bytes = docblk_bytes(n, raw);
    if (bytes > g->dcache_budget - g->dcache_bytes || g->dcache_bytes > g->dcache_budget)
        return VS_OK; /* over budget: read as without the cache */
    if (!g->darena && g->darena_cap && !(g->darena = big_alloc(g->darena_cap)))
        g->darena_cap = 0; /* no region: each block malloc'd */
    struct vs_docblk *c;
    int carved = g->darena && bytes <= g->darena_cap - g->darena_used;
    if (carved) {
        c = (struct vs_docblk *)(void *)(g->darena + g->darena_used);
        g->darena_used += bytes;
    } else if (!(c = malloc(bytes))) {
        return vs_diag_set(d, VS_E_NOMEM, "cannot allocate %llu bytes for a docs block",
                           (unsigned long long)raw);
    }
    c->off = (size_t *)(void *)(c + 1);
    c->text = (char *)(c->off + n + 1);
    if ((st = unpack_block(g, b, c->text, d)) != VS_OK) {
        if (carved) /* the last carved: given back */
            g->darena_used -= bytes;
        else
            free(c);
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
    g->dcache_bytes += bytes;
    __atomic_store_n(&g->dcache[b], c, __ATOMIC_RELEASE);
    *out = c;
    return VS_OK;
}

int vs_segment_doc_cache(struct vs_segment *g, size_t budget, struct vs_diag *d)
{
    pthread_mutex_lock(&g->mu);
    int st = VS_OK;
    if (!g->dcache && (st = ensure_docidx(g, d)) == VS_OK) {
        struct vs_docblk **dc = calloc(g->nblocks ? g->nblocks : 1, sizeof *dc);
        if (!dc) {
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        } else {
            /* the region for every block (ensure_docidx checked each
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
    pthread_mutex_lock(&g->mu);
    size_t n = g->dcache ? g->dcache_bytes : 0;
    pthread_mutex_unlock(&g->mu);
    return n;
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
        pthread_mutex_lock(&g->mu);
        int st = cache_block(g, b, &c, d);
        pthread_mutex_unlock(&g->mu);
        if (st != VS_OK)
            return st;
        if (!c)
            return VS_OK;
    }
    uint64_t k = row - c->first;
    if (k >= c->nfound)
        return corrupt(d, g, "section 'docs' block %llu: holds the wrong number of docs",
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
            return corrupt(d, g, "section 'docs' block %llu: holds the wrong number of docs",
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
    int st = ensure_docidx(g, d);
    if (st != VS_OK)
        goto out;
    if (g->blk_no == UINT64_MAX || row < g->blk_first || row - g->blk_first >= g->blk_n) {
        if ((st = load_block(g, doc_block_of(g, row), d)) != VS_OK)
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

uint64_t vs_segment_rows(const struct vs_segment *g) { return g->rows; }
uint64_t vs_segment_deleted(const struct vs_segment *g) { return g->ndel; }

int vs_segment_live(const struct vs_segment *g, uint64_t row)
{
    if (row >= g->rows)
        return 0;
    return !(g->del && (g->del[row >> 3] >> (row & 7) & 1));
}

/* Load and check VECINDEX (caller holds g->mu). */
static int ensure_vecidx(struct vs_segment *g, struct vs_diag *d)
{
    if (g->vecidx)
        return VS_OK;
    void *p;
    int st = load_sect(g, VS_SECT_VECINDEX, &p, d);
    if (st != VS_OK)
        return st;
    const struct vs_sect *vs = find_sect(g, VS_SECT_VECTORS);
    const struct vs_sect *ix = find_sect(g, VS_SECT_VECINDEX);
    /* f16: each block is rows x dim half floats, decoded to float32 (never
     * in place) */
    uint64_t n = ix->raw / VS_DOCIDX_ENTRY, next = 0, rowbytes = (uint64_t)g->dim * 4,
             rowstored = g->vf16 ? rowbytes / 2 : rowbytes;
    uint64_t r0 = n ? vs_get64((unsigned char *)p + 40) : 0;
    /* uniform: every block but the last has r0 rows, a power of two (so row
     * r sits in block r >> vshift); in place: and every block is raw at
     * its row's offset (the section is one float32 array) */
    int uniform = n > 0 && r0 > 0 && (r0 & (r0 - 1)) == 0, inplace = uniform && vs->off % 4 == 0;
    for (uint64_t b = 0; b < n; b++) {
        const unsigned char *e = (unsigned char *)p + b * VS_DOCIDX_ENTRY;
        uint64_t off = vs_get64(e), len = vs_get64(e + 8), rows = vs_get64(e + 40);
        if (off > vs->len || len > vs->len - off || vs_get64(e + 32) != next || rows == 0 ||
            rows > VS_VEC_BLOCK_ROWS_MAX || rows > g->rows - next ||
            (len != rows * rowbytes && rows * rowbytes / VS_ZSTD_MAX_RATIO > len) ||
            (g->vf16 && (len != rows * rowstored || off != next * rowstored)) ||
            vs_get64(e + 16) != rows * rowbytes) {
            free(p);
            vs_diag_where(d, g->path, 0);
            return vs_diag_set(d, VS_E_CORRUPT, "section 'vecindex': entry %llu is invalid",
                               (unsigned long long)b);
        }
        if ((b + 1 < n && rows != r0) || rows > r0)
            uniform = inplace = 0;
        if (g->vf16 || len != rows * rowbytes || off != next * rowbytes)
            inplace = 0;
        next += rows;
    }
    if (next != g->rows) {
        free(p);
        vs_diag_where(d, g->path, 0);
        return vs_diag_set(d, VS_E_CORRUPT, "section 'vecindex': covers %llu rows, not %llu",
                           (unsigned long long)next, (unsigned long long)g->rows);
    }
    g->vecidx = p;
    g->nvblocks = n;
    g->vshift = 0;
    if (uniform)
        while (((uint64_t)1 << g->vshift) < r0)
            g->vshift++;
    if (!uniform || g->vshift == 0)
        g->vshift = 0;
    g->vmapped = inplace && g->vshift > 0 ? -1 : 0; /* -1: in place, not mapped yet */
    return VS_OK;
}

/* Read, check and decompress vectors block b into a new buffer. */
static int load_vblock(struct vs_segment *g, uint64_t b, void **out, struct vs_diag *d)
{
    const struct vs_sect *vs = find_sect(g, VS_SECT_VECTORS);
    const unsigned char *e = g->vecidx + b * VS_DOCIDX_ENTRY;
    uint64_t len = vs_get64(e + 8), raw = vs_get64(e + 16);
    char what[80];
    snprintf(what, sizeof what, "section 'vectors' block %llu", (unsigned long long)b);
    if (!g->vf16)
        return load_bytes(g, what, vs->off + vs_get64(e), len, raw, vs_get64(e + 24),
                          len == raw ? VS_CODEC_RAW : VS_CODEC_ZSTD, out, d);
    void *h; /* half floats: read and checked as stored, then widened */
    int st = load_bytes(g, what, vs->off + vs_get64(e), len, len, vs_get64(e + 24),
                        VS_CODEC_RAW, &h, d);
    if (st != VS_OK)
        return st;
    float *f = malloc(raw ? (size_t)raw : 1); /* ensure_vecidx: raw = 2 len */
    if (f)
        f16_decode(f, h, (size_t)len / 2);
    free(h);
    if (!f)
        return vs_diag_set(d, VS_E_NOMEM, "cannot allocate a vectors block");
    *out = f;
    return VS_OK;
}

/* Read, check and decompress vectors block b straight into its place in
 * all (rows x dim floats); sbuf/scap: a read buffer for compressed blocks,
 * grown as needed and kept (raw blocks are read in place). Caller holds
 * g->mu. */
static int decode_vblock(struct vs_segment *g, uint64_t b, float *all, void **sbuf,
                         size_t *scap, struct vs_diag *d)
{
    const struct vs_sect *vs = find_sect(g, VS_SECT_VECTORS);
    const unsigned char *e = g->vecidx + b * VS_DOCIDX_ENTRY;
    float *at = all + vs_get64(e + 32) * g->dim; /* ensure_vecidx checked the range */
    uint64_t len = vs_get64(e + 8), raw = vs_get64(e + 16);
    void *src = at;
    if (g->vmapped == 1) { /* in place in the mapped file: check only */
        if (XXH64(at, (size_t)len, 0) == vs_get64(e + 24))
            return VS_OK;
        vs_diag_where(d, g->path, 0);
        return vs_diag_set(d, VS_E_CORRUPT, "section 'vectors' block %llu: checksum mismatch",
                           (unsigned long long)b);
    }
    if (len != raw) {
        if (len > *scap) {
            free(*sbuf);
            *scap = (size_t)len;
            if (!(*sbuf = malloc(*scap))) {
                *scap = 0;
                return vs_diag_set(d, VS_E_NOMEM, "cannot allocate a vectors block");
            }
        }
        src = *sbuf;
    }
    const char *why = NULL;
    int st;
    if ((st = vs_io_pread_all(g->fd, src, (size_t)len, vs->off + vs_get64(e))) != VS_OK) {
        why = st == VS_E_CORRUPT ? "cannot read (file is truncated)" : "cannot read";
    } else if (XXH64(src, (size_t)len, 0) != vs_get64(e + 24)) {
        why = "checksum mismatch";
        st = VS_E_CORRUPT;
    } else if (g->vf16) {
        f16_decode(at, src, (size_t)len / 2);
    } else if (len != raw) {
        size_t n = ZSTD_decompress(at, (size_t)raw, src, (size_t)len);
        if (ZSTD_isError(n) || n != raw) {
            why = "does not decompress";
            st = VS_E_CORRUPT;
        }
    }
    if (why) {
        vs_diag_where(d, g->path, 0);
        vs_diag_set(d, st, "section 'vectors' block %llu: %s", (unsigned long long)b, why);
    }
    return st;
}

/* The region every block decodes into, made on first use (caller holds
 * g->mu). Its pages are only touched as blocks are decoded; dense: most
 * blocks will be (huge pages pay off). */
static int ensure_vregion(struct vs_segment *g, int dense, struct vs_diag *d)
{
    if (g->vregion)
        return VS_OK;
    size_t total = (size_t)(g->rows * g->dim * sizeof(float)) + 64;
    if (g->vmapped == -1) { /* raw blocks: the region is the mapped section */
        int st = seg_map(g, d);
        if (st != VS_OK)
            return st;
        g->vready = calloc(g->nvblocks ? g->nvblocks : 1, 1);
        if (!g->vready)
            return vs_diag_set(d, VS_E_NOMEM, "cannot allocate %llu bytes",
                               (unsigned long long)g->nvblocks);
        g->vregion = (float *)(void *)(g->map + find_sect(g, VS_SECT_VECTORS)->off);
        g->vmapped = 1;
        return VS_OK;
    }
    if (dense || total < VS_HUGE_PAGE) {
        g->vregion = big_alloc(total);
    } else {
        /* sparse use (a few blocks re-scored): 4 KiB pages, as a huge page
         * would clear 2 MiB for each block touched; aligned for a later
         * full load's madvise */
        size_t cap = (total + VS_HUGE_PAGE - 1) / VS_HUGE_PAGE * VS_HUGE_PAGE;
        g->vregion = aligned_alloc(VS_HUGE_PAGE, cap);
    }
    g->vready = calloc(g->nvblocks ? g->nvblocks : 1, 1);
    if (!g->vregion || !g->vready) {
        free(g->vregion);
        free(g->vready);
        g->vregion = NULL;
        g->vready = NULL;
        return vs_diag_set(d, VS_E_NOMEM, "cannot allocate %zu bytes for vectors", total);
    }
    return VS_OK;
}

int vs_segment_vectors(struct vs_segment *g, const float **vecs,
                       struct vs_diag *d)
{
    pthread_mutex_lock(&g->mu);
    int st = VS_OK;
    if (!g->vecs && (st = ensure_vecidx(g, d)) == VS_OK &&
        (st = ensure_vregion(g, 1, d)) == VS_OK) {
        size_t total = (size_t)(g->rows * g->dim * sizeof(float)) + 64;
        if (total >= VS_HUGE_PAGE && !g->vmapped) /* the rest on huge pages (a hint) */
            (void)madvise(g->vregion, (total + VS_HUGE_PAGE - 1) / VS_HUGE_PAGE * VS_HUGE_PAGE,
                          MADV_HUGEPAGE);
        /* each block not decoded yet is read (raw: in place) into one reused
         * buffer, checked and decompressed straight into place: no per-block
         * allocations or copies */
        for (uint64_t b = 0; st == VS_OK && b < g->nvblocks; b++) {
            if (__atomic_load_n(&g->vready[b], __ATOMIC_ACQUIRE))
                continue;
            if ((st = decode_vblock(g, b, g->vregion, &g->vsbuf, &g->vscap, d)) == VS_OK)
                __atomic_store_n(&g->vready[b], 1, __ATOMIC_RELEASE);
        }
        if (st == VS_OK) {
            g->vecs = g->vregion;
            free(g->vsbuf); /* every block is in: the read buffer is done */
            g->vsbuf = NULL;
            g->vscap = 0;
        }
    }
    *vecs = g->vecs;
    pthread_mutex_unlock(&g->mu);
    return st;
}

int vs_seg_vectors_lazy(struct vs_segment *g, int dense, const float **base,
                        const uint8_t **ready, unsigned *shift, struct vs_diag *d)
{
    pthread_mutex_lock(&g->mu);
    int st = VS_OK;
    *base = NULL;
    *ready = NULL;
    *shift = 0;
    if (g->vecs) {
        *base = g->vecs;
        goto out;
    }
    if ((st = ensure_vecidx(g, d)) != VS_OK)
        goto out;
    /* row r must sit in block r >> vshift: every block but the last is
     * full (the writer's layout); else load everything */
    if (!g->vshift) {
        pthread_mutex_unlock(&g->mu);
        return vs_segment_vectors(g, base, d);
    }
    if ((st = ensure_vregion(g, dense, d)) != VS_OK)
        goto out;
    *base = g->vregion;
    *ready = g->vready;
    *shift = g->vshift;
out:
    pthread_mutex_unlock(&g->mu);
    return st;
}

int vs_seg_vector_block(struct vs_segment *g, uint64_t b, struct vs_diag *d)
{
    pthread_mutex_lock(&g->mu);
    int st = VS_OK;
    if (!g->vready || b >= g->nvblocks) {
        st = vs_diag_set(d, VS_E_INTERNAL, "vectors block %llu out of range",
                         (unsigned long long)b);
    } else if (!__atomic_load_n(&g->vready[b], __ATOMIC_ACQUIRE)) {
        if ((st = decode_vblock(g, b, g->vregion, &g->vsbuf, &g->vscap, d)) == VS_OK)
            __atomic_store_n(&g->vready[b], 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&g->mu);
    return st;
}

int vs_seg_vector_row(struct vs_segment *g, uint64_t row, float *out,
                      struct vs_diag *d)
{
    if (row >= g->rows)
        return vs_diag_set(d, VS_E_INTERNAL, "row %llu out of range",
                           (unsigned long long)row);
    pthread_mutex_lock(&g->mu);
    int st = VS_OK;
    if (g->vecs) {
        memcpy(out, g->vecs + row * g->dim, g->dim * sizeof(float));
        goto out;
    }
    if ((st = ensure_vecidx(g, d)) != VS_OK)
        goto out;
    uint64_t lo = block_of(g->vecidx, g->nvblocks, row);
    if (g->vblk_no != lo) {
        void *p;
        if ((st = load_vblock(g, lo, &p, d)) != VS_OK)
            goto out;
        free(g->vblk);
        g->vblk = p;
        g->vblk_no = lo;
        g->vblk_first = vs_get64(g->vecidx + lo * VS_DOCIDX_ENTRY + 32);
        g->vblk_n = vs_get64(g->vecidx + lo * VS_DOCIDX_ENTRY + 40);
    }
    memcpy(out, g->vblk + (row - g->vblk_first) * g->dim, g->dim * sizeof(float));
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
        st = load_sect(g, VS_SECT_IDS, &p, d);
        if (st != VS_OK)
            goto out;
        const struct vs_sect *s = find_sect(g, VS_SECT_IDS);
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

#define VS_IDCHUNK_BYTES ((size_t)16 << 10)

/* A copy of id[0..n) kept in g's chunks (caller holds g->mu). */
static char *keep_id(struct vs_segment *g, const char *id, size_t n)
{
    struct vs_idchunk *c = g->idchunks;
    if (!c || c->cap - c->used < n + 1) {
        size_t cap = n + 1 > VS_IDCHUNK_BYTES ? n + 1 : VS_IDCHUNK_BYTES;
        if (!(c = malloc(sizeof *c + cap)))
            return NULL;
        c->next = g->idchunks;
        c->used = 0;
        c->cap = cap;
        g->idchunks = c;
    }
    char *p = c->text + c->used;
    memcpy(p, id, n);
    p[n] = '\0';
    c->used += n + 1;
    return p;
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
        if (!(got = keep_id(g, v, vn)))
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

uint64_t vs_seg_raw_bytes(const struct vs_segment *g)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < g->nsect; i++)
        if (g->sect[i].type >= 1 && (g->sect[i].type <= 5 || g->sect[i].type == VS_SECT_DOCDICT))
            n += g->sect[i].raw;
    return n;
}

int vs_seg_verify(struct vs_segment *g, struct vs_diag *d)
{
    for (uint32_t i = 0; i < g->nsect; i++) {
        const struct vs_sect *s = &g->sect[i];
        char what[64];
        snprintf(what, sizeof what, "section '%s'", sect_name(s->type));
        void *p;
        /* the docs and vectors sections are checked as a whole (checksum
         * only) here and block by block below */
        int blocks = s->type == VS_SECT_DOCS || s->type == VS_SECT_VECTORS;
        int st = load_bytes(g, what, s->off, s->len, blocks ? s->len : s->raw, s->sum,
                            blocks ? VS_CODEC_RAW : s->codec, &p, d);
        if (st != VS_OK)
            return st;
        free(p);
    }
    const char *const *ids;
    const float *v;
    int st;
    if ((st = vs_segment_ids(g, &ids, d)) != VS_OK ||
        (st = vs_segment_vectors(g, &v, d)) != VS_OK)
        return st;
    pthread_mutex_lock(&g->mu);
    st = ensure_docidx(g, d);
    uint64_t docs_raw = 0;
    for (uint64_t b = 0; st == VS_OK && b < g->nblocks; b++) {
        if ((st = load_block(g, b, d)) != VS_OK)
            break;
        docs_raw += g->blk_len;
        /* exactly the docs its entry says */
        uint64_t k = 0;
        for (const char *p = g->blk, *end = g->blk + g->blk_len;
             (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
            k++;
        if (k != g->blk_n)
            st = corrupt(d, g, "section 'docs' block %llu: holds the wrong number of docs",
                         (unsigned long long)b);
    }
    pthread_mutex_unlock(&g->mu);
    if (st == VS_OK && docs_raw != find_sect(g, VS_SECT_DOCS)->raw) {
        vs_diag_where(d, g->path, 0);
        st = vs_diag_set(d, VS_E_CORRUPT, "section 'docs': size does not match");
    }
    /* the graph and codes: every block decoded and checked on its own too
     * (a search relies on those checks, not on the section's) */
    struct vs_hnsw *h = NULL;
    struct vs_quant *q = NULL;
    int gs = st == VS_OK ? vs_seg_hnsw(g, &h, d) : VS_E_NOTFOUND;
    if (gs == VS_OK && (gs = vs_hnsw_verify(h, d)) != VS_OK)
        vs_diag_where(d, g->path, 0);
    if (gs == VS_OK)
        gs = vs_seg_quant(g, &q, d);
    if (gs == VS_OK && q)
        for (uint64_t b = 0; gs == VS_OK && b < q->nblocks; b++)
            if (vs_quant_check_block(q, b) != 0) {
                vs_diag_where(d, g->path, 0);
                gs = vs_diag_set(d, VS_E_CORRUPT, "section 'quant' block %llu: checksum mismatch",
                                 (unsigned long long)b);
            }
    vs_quant_free(q);
    vs_hnsw_free(h);
    if (st == VS_OK && gs != VS_OK && gs != VS_E_NOTFOUND)
        st = gs;
    return st;
}

/* ---- the graph and codes sections, opened for search and verify ---- */

int vs_seg_hnsw(struct vs_segment *g, struct vs_hnsw **out, struct vs_diag *d)
{
    *out = NULL;
    /* a raw section is read in place from the mapped file: the graph
     * checks its header, block table and upper layers now and each level-0
     * block when a search first reads it (vs-index verify checks the
     * section's own checksum) */
    const void *mp;
    size_t len;
    int st = vs_seg_section_map(g, VS_SECT_HNSW, &mp, &len, d);
    if (st == VS_OK) {
        st = vs_hnsw_open_borrowed(mp, len, -1, out, d);
    } else if (st == VS_E_UNSUPPORTED) {
        void *buf;
        if ((st = vs_seg_section(g, VS_SECT_HNSW, &buf, &len, d)) != VS_OK)
            return st;
        st = vs_hnsw_open_take(buf, len, -1, out, d); /* owns or frees buf */
    } else {
        return st;
    }
    if (st == VS_OK && (vs_hnsw_count(*out) != g->rows || vs_hnsw_dim(*out) != g->dim)) {
        vs_hnsw_free(*out);
        *out = NULL;
        st = vs_diag_set(d, VS_E_CORRUPT, "section 'hnsw' does not match the segment's rows or dimension");
    }
    if (st != VS_OK)
        vs_diag_where(d, g->path, 0);
    return st;
}

int vs_seg_quant(struct vs_segment *g, struct vs_quant **out, struct vs_diag *d)
{
    *out = NULL;
    /* format 2 codes are used in place in the mapped file, each block
     * checked when a search first reads it; format 1 (one compressed
     * frame) is read and checked whole */
    const void *mp;
    size_t len;
    int st = vs_seg_section_map(g, VS_SECT_QUANT, &mp, &len, d);
    if (st == VS_OK)
        st = vs_quant_open_borrowed(mp, len, -1, out, d);
    if (st == VS_E_UNSUPPORTED) {
        void *buf;
        if ((st = vs_seg_section(g, VS_SECT_QUANT, &buf, &len, d)) != VS_OK)
            return st;
        st = vs_quant_open(buf, len, -1, out, d);
        if (st != VS_OK)
            free(buf);
    }
    if (st == VS_OK && (vs_quant_rows(*out) != g->rows || vs_quant_dim(*out) != g->dim)) {
        vs_quant_free(*out);
        *out = NULL;
        st = vs_diag_set(d, VS_E_CORRUPT, "section 'quant' does not match the segment's rows or dimension");
    }
    if (st != VS_OK)
        vs_diag_where(d, g->path, 0);
    return st;
}

/* ---- deletion files ---- */

int vs_del_read(const char *path, uint64_t rows, uint8_t **bits,
                uint64_t *ndel, uint64_t *bytes, struct vs_diag *d)
{
    *bits = NULL;
    struct stat sb;
    int fd = vs_io_open_regular(path, &sb);
    if (fd == -2) {
        vs_diag_where(d, path, 0);
        return vs_diag_set(d, VS_E_CORRUPT, "deletion file is not a regular file");
    }
    if (fd < 0) {
        int e = errno;
        vs_diag_where(d, path, 0);
        int st = e == ENOENT ? VS_E_NOTFOUND : vs_status_from_errno(e);
        return vs_diag_set(d, st, "cannot open deletion file: %s", strerror(e));
    }
    size_t nb = (size_t)((rows + 7) / 8);
    size_t total = 32 + nb + 8;
    unsigned char *buf = malloc(total + 1);
    uint8_t *out = calloc(nb ? nb : 1, 1);
    int st = VS_OK;
    if (!buf || !out) {
        st = vs_diag_set(d, VS_E_NOMEM, "cannot allocate a deletion bitmap");
        goto done;
    }
    if ((uint64_t)sb.st_size != total ||
        vs_io_pread_all(fd, buf, total, 0) != VS_OK) {
        vs_diag_where(d, path, 0);
        st = vs_diag_set(d, VS_E_CORRUPT, "deletion file has the wrong size");
        goto done;
    }
    if (memcmp(buf, VS_DEL_MAGIC, 8) != 0 ||
        XXH64(buf, total - 8, 0) != vs_get64(buf + total - 8)) {
        vs_diag_where(d, path, 0);
        st = vs_diag_set(d, VS_E_CORRUPT, "deletion file checksum mismatch");
        goto done;
    }
    if (vs_get32(buf + 8) != VS_DEL_VERSION) {
        vs_diag_where(d, path, 0);
        st = vs_diag_set(d, VS_E_VERSION, "deletion file version %u is not supported",
                         vs_get32(buf + 8));
        goto done;
    }
    uint64_t cnt = 0;
    memcpy(out, buf + 32, nb);
    for (uint64_t r = 0; r < nb * 8; r++)
        if (out[r >> 3] >> (r & 7) & 1) {
            if (r >= rows)
                break;
            cnt++;
        }
    if (vs_get64(buf + 16) != rows || vs_get64(buf + 24) != cnt) {
        vs_diag_where(d, path, 0);
        st = vs_diag_set(d, VS_E_CORRUPT, "deletion file does not match its segment");
        goto done;
    }
    *bits = out;
    out = NULL;
    *ndel = cnt;
    if (bytes)
        *bytes = total;
done:
    close(fd);
    free(buf);
    free(out);
    return st;
}

int vs_del_write(const char *path, uint64_t rows, const uint8_t *bits,
                 uint64_t *bytes, struct vs_diag *d)
{
    size_t nb = (size_t)((rows + 7) / 8);
    size_t total = 32 + nb + 8;
    unsigned char *buf = calloc(total, 1);
    if (!buf)
        return vs_diag_set(d, VS_E_NOMEM, "cannot allocate a deletion file");
    uint64_t cnt = 0;
    for (uint64_t r = 0; r < rows; r++)
        cnt += bits[r >> 3] >> (r & 7) & 1;
    memcpy(buf, VS_DEL_MAGIC, 8);
    vs_put32(buf + 8, VS_DEL_VERSION);
    vs_put64(buf + 16, rows);
    vs_put64(buf + 24, cnt);
    memcpy(buf + 32, bits, nb);
    vs_put64(buf + 32 + nb, XXH64(buf, 32 + nb, 0));
    int st = VS_OK;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || (st = vs_io_write_all(fd, buf, total)) != VS_OK ||
        fsync(fd) != 0) {
        if (st == VS_OK)
            st = vs_status_from_errno(errno);
        vs_diag_where(d, path, 0);
        vs_diag_set(d, st, "cannot write deletion file: %s", strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(path);
        }
        free(buf);
        return st;
    }
    free(buf);
    if (close(fd) != 0) {
        st = vs_status_from_errno(errno);
        unlink(path);
        return vs_diag_set(d, st, "cannot write deletion file '%s'", path);
    }
    if (bytes)
        *bytes = total;
    return VS_OK;
}
