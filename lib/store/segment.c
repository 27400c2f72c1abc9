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
 *
 * This file reads the header and the section table, loads and checks
 * whole sections, decodes the vectors blocks, opens the graph and codes
 * sections, and reads and writes deletion files; segment_docs.c reads the
 * docs blocks (and their cache) and the ids, segment_verify.c checks a
 * whole segment, segment_write.c writes one.
 */
#include "store_internal.h"
#include "hnsw_internal.h"
#include "quant_internal.h"
#include "store_hnsw_internal.h"
#include "store_text_internal.h"

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

const char *vs_seg_sect_name(uint32_t type)
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

int vs_seg_corrupt(struct vs_diag *d, const struct vs_segment *g,
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
        st = vs_seg_corrupt(d, g, "segment is not a regular file");
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
        st = vs_seg_corrupt(d, g, "truncated segment (%llu bytes)",
                            (unsigned long long)g->file_bytes);
        goto fail;
    }
    if ((st = vs_io_pread_all(g->fd, h, sizeof h, 0)) != VS_OK) {
        st = vs_seg_corrupt(d, g, "cannot read the header");
        goto fail;
    }
    if (memcmp(h, VS_SEG_MAGIC, 8) != 0) {
        st = vs_seg_corrupt(d, g, "not a segment file (bad magic)");
        goto fail;
    }
    if (vs_get64(h + 56) != XXH64(h, 56, 0)) {
        st = vs_seg_corrupt(d, g, "header checksum mismatch");
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
    g->idwhole_after = g->rows / VS_IDS_WHOLE_DIV;
    g->dim = vs_get32(h + 24);
    uint64_t toff = vs_get64(h + 32);
    if (g->nsect == 0 || g->nsect > VS_SEG_MAX_SECT || toff < VS_SEG_HEADER_SIZE ||
        toff > g->file_bytes ||
        g->file_bytes - toff < (uint64_t)g->nsect * VS_SEG_SECT_SIZE) {
        st = vs_seg_corrupt(d, g, "truncated segment (%llu bytes): the section table "
                            "is missing", (unsigned long long)g->file_bytes);
        goto fail;
    }
    unsigned char table[VS_SEG_MAX_SECT * VS_SEG_SECT_SIZE];
    size_t tlen = g->nsect * VS_SEG_SECT_SIZE;
    if (vs_io_pread_all(g->fd, table, tlen, toff) != VS_OK ||
        XXH64(table, tlen, 0) != vs_get64(h + 40)) {
        st = vs_seg_corrupt(d, g, "section table checksum mismatch");
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
            st = vs_seg_corrupt(d, g, "section '%s': extends past the end of the data",
                                vs_seg_sect_name(s->type));
            goto fail;
        }
        if (s->type >= 1 && s->type <= 5) {
            have[s->type] = 1;
            if (s->type == VS_SECT_VECTORS && s->codec == VS_CODEC_F16) {
                g->vf16 = 1;
            } else if (s->codec > VS_CODEC_ZSTD) {
                vs_diag_where(d, g->path, 0);
                st = vs_diag_set(d, VS_E_VERSION, "section '%s': unknown codec %u",
                                 vs_seg_sect_name(s->type), s->codec);
                goto fail;
            }
        } else if (s->type == VS_SECT_DOCDICT) {
            if (s->codec != VS_CODEC_RAW || s->len != s->raw) {
                st = vs_seg_corrupt(d, g, "section 'docdict': bad size");
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
            st = vs_seg_corrupt(d, g, "section '%s' is missing", vs_seg_sect_name((uint32_t)t));
            goto fail;
        }
    /* every size below is computed from these two: rows x dim x 4 must
     * not overflow, a segment with rows has a dimension (the manifest's
     * limit), and each row takes at least its id's NUL in the ids section */
    uint64_t vbytes;
    if (__builtin_mul_overflow(g->rows, (uint64_t)g->dim * sizeof(float), &vbytes) ||
        (g->rows && (g->dim == 0 || g->dim > VS_SEG_MAX_DIM))) {
        st = vs_seg_corrupt(d, g, "header: %llu rows x dimension %u is not a valid size",
                            (unsigned long long)g->rows, g->dim);
        goto fail;
    }
    for (uint32_t i = 0; i < g->nsect; i++) {
        const struct vs_sect *s = &g->sect[i];
        if (s->type == VS_SECT_VECTORS &&
            (s->raw != vbytes || (g->vf16 && s->len != vbytes / 2))) {
            st = vs_seg_corrupt(d, g, "section 'vectors': size does not match rows x dim");
            goto fail;
        }
        if (s->type == VS_SECT_IDS && s->raw < g->rows) {
            st = vs_seg_corrupt(d, g, "section 'ids': too small for %llu rows",
                                (unsigned long long)g->rows);
            goto fail;
        }
        /* no zstd frame expands more than VS_ZSTD_MAX_RATIO times (an RLE
         * block: 4 bytes for 128 KiB), so a larger raw length is a lie that
         * would size an allocation */
        if (s->codec == VS_CODEC_ZSTD && s->raw / VS_ZSTD_MAX_RATIO > s->len) {
            st = vs_seg_corrupt(d, g, "section '%s': raw length %llu is impossible for %llu "
                                "stored bytes", vs_seg_sect_name(s->type),
                                (unsigned long long)s->raw, (unsigned long long)s->len);
            goto fail;
        }
        if ((s->type == VS_SECT_DOCINDEX || s->type == VS_SECT_VECINDEX) &&
            s->raw % VS_DOCIDX_ENTRY != 0) {
            st = vs_seg_corrupt(d, g, "section '%s': bad size", vs_seg_sect_name(s->type));
            goto fail;
        }
        if (s->codec == VS_CODEC_RAW && s->type != VS_SECT_DOCS &&
            s->type != VS_SECT_VECTORS && s->len != s->raw) {
            st = vs_seg_corrupt(d, g, "section '%s': bad size", vs_seg_sect_name(s->type));
            goto fail;
        }
        if (s->raw > ((uint64_t)1 << 40)) {
            st = vs_seg_corrupt(d, g, "section '%s': implausible size", vs_seg_sect_name(s->type));
            goto fail;
        }
    }
    *out = g;
    return VS_OK;
fail:
    vs_seg_close(g);
    return st;
}

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
    free(g->vstate);
    free(g->dstate);
    for (int i = 0; i < VS_SEG_DCTX_POOL; i++)
        ZSTD_freeDCtx(g->dctxs[i]);
    free(g->idbuf);
    free(g->ids);
    free(g->idrow);
    vs_strpool_free(&g->idpool);
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

/* Read stored bytes [off, off+len) of the file, check sum, decompress into a
 * new buffer of raw bytes (64-byte aligned, NUL-terminated past raw). */
#define VS_HUGE_PAGE ((size_t)2 << 20)

/* n bytes aligned to 64 (free() them); from 2 MiB up, on huge pages where
 * the kernel gives them on request (madvise mode): filling a large section
 * then takes a page fault per 2 MiB instead of one per 4 KiB, which was
 * most of the time to a store's first answer. */
void *vs_seg_big_alloc(size_t n)
{
    if (n < VS_HUGE_PAGE)
        return aligned_alloc(64, (n + 63) / 64 * 64);
    size_t cap = (n + VS_HUGE_PAGE - 1) / VS_HUGE_PAGE * VS_HUGE_PAGE;
    void *p = aligned_alloc(VS_HUGE_PAGE, cap);
    if (p)
        (void)madvise(p, cap, MADV_HUGEPAGE); /* a hint: may fail */
    return p;
}

int vs_seg_load_bytes(struct vs_segment *g, const char *what, uint64_t off,
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
    void *stored = vs_seg_big_alloc(direct ? (size_t)raw + 1 : len ? (size_t)len : 1);
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
        if (!(dst = vs_seg_big_alloc((size_t)raw + 1))) {
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
int vs_seg_map(struct vs_segment *g, struct vs_diag *d)
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
    const struct vs_sect *s = vs_seg_find_sect(g, type);
    if (!s)
        return VS_E_NOTFOUND;
    if (s->codec != VS_CODEC_RAW || s->len != s->raw)
        return VS_E_UNSUPPORTED;
    pthread_mutex_lock(&g->mu);
    int st = vs_seg_map(g, d);
    pthread_mutex_unlock(&g->mu);
    if (st != VS_OK)
        return st;
    *p = g->map + s->off; /* vs_seg_open checked it lies inside the file */
    *len = (size_t)s->len;
    return VS_OK;
}

int vs_seg_load_sect(struct vs_segment *g, uint32_t type, void **out,
                     struct vs_diag *d)
{
    const struct vs_sect *s = vs_seg_find_sect(g, type);
    char what[64];
    snprintf(what, sizeof what, "section '%s'", vs_seg_sect_name(type));
    return vs_seg_load_bytes(g, what, s->off, s->len, s->raw, s->sum, s->codec, out, d);
}

int vs_seg_section(struct vs_segment *g, uint32_t type, void **buf,
                   size_t *len, struct vs_diag *d)
{
    *buf = NULL;
    *len = 0;
    const struct vs_sect *s = vs_seg_find_sect(g, type);
    if (!s)
        return VS_E_NOTFOUND;
    int st = vs_seg_load_sect(g, type, buf, d);
    if (st == VS_OK)
        *len = (size_t)s->raw;
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

/* Load and check VECINDEX (caller holds g->mu). */
static int ensure_vecidx(struct vs_segment *g, struct vs_diag *d)
{
    if (g->vecidx)
        return VS_OK;
    void *p;
    int st = vs_seg_load_sect(g, VS_SECT_VECINDEX, &p, d);
    if (st != VS_OK)
        return st;
    const struct vs_sect *vs = vs_seg_find_sect(g, VS_SECT_VECTORS);
    const struct vs_sect *ix = vs_seg_find_sect(g, VS_SECT_VECINDEX);
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
    const struct vs_sect *vs = vs_seg_find_sect(g, VS_SECT_VECTORS);
    const unsigned char *e = g->vecidx + b * VS_DOCIDX_ENTRY;
    uint64_t len = vs_get64(e + 8), raw = vs_get64(e + 16);
    char what[80];
    snprintf(what, sizeof what, "section 'vectors' block %llu", (unsigned long long)b);
    if (!g->vf16)
        return vs_seg_load_bytes(g, what, vs->off + vs_get64(e), len, raw, vs_get64(e + 24),
                                 len == raw ? VS_CODEC_RAW : VS_CODEC_ZSTD, out, d);
    void *h; /* half floats: read and checked as stored, then widened */
    int st = vs_seg_load_bytes(g, what, vs->off + vs_get64(e), len, len, vs_get64(e + 24),
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

/* Why a vectors block is bad for good (VS_BLK_BAD + the reason) */
enum { VBAD_TRUNCATED, VBAD_SUM, VBAD_ZSTD };

static const char *const vbad_why[] = {"cannot read (file is truncated)", "checksum mismatch",
                                       "does not decompress"};

static int vblock_error(struct vs_diag *d, const struct vs_segment *g, uint64_t b, int st,
                        const char *why)
{
    vs_diag_where(d, g->path, 0);
    return vs_diag_set(d, st, "section 'vectors' block %llu: %s", (unsigned long long)b, why);
}

/* Read, check and decompress vectors block b straight into its place in
 * all (rows x dim floats); sbuf/scap: a read buffer for compressed and f16
 * blocks, grown as needed and kept by the caller (raw blocks are read in
 * place). The caller holds block b (vs_blk_claim), so no other thread
 * writes its place; *bad gets the VBAD_ reason of a damaged block, or -1. */
static int decode_vblock(struct vs_segment *g, uint64_t b, float *all, void **sbuf,
                         size_t *scap, int *bad, struct vs_diag *d)
{
    *bad = -1;
    const struct vs_sect *vs = vs_seg_find_sect(g, VS_SECT_VECTORS);
    const unsigned char *e = g->vecidx + b * VS_DOCIDX_ENTRY;
    float *at = all + vs_get64(e + 32) * g->dim; /* ensure_vecidx checked the range */
    uint64_t len = vs_get64(e + 8), raw = vs_get64(e + 16);
    void *src = at;
    if (g->vmapped == 1) { /* in place in the mapped file: check only */
        if (XXH64(at, (size_t)len, 0) == vs_get64(e + 24))
            return VS_OK;
        *bad = VBAD_SUM;
        return vblock_error(d, g, b, VS_E_CORRUPT, vbad_why[VBAD_SUM]);
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
    int st;
    if ((st = vs_io_pread_all(g->fd, src, (size_t)len, vs->off + vs_get64(e))) != VS_OK) {
        if (st != VS_E_CORRUPT) /* an I/O error: may pass */
            return vblock_error(d, g, b, st, "cannot read");
        *bad = VBAD_TRUNCATED;
    } else if (XXH64(src, (size_t)len, 0) != vs_get64(e + 24)) {
        *bad = VBAD_SUM;
    } else if (g->vf16) {
        f16_decode(at, src, (size_t)len / 2);
    } else if (len != raw) {
        size_t n = ZSTD_decompress(at, (size_t)raw, src, (size_t)len);
        if (ZSTD_isError(n) || n != raw)
            *bad = VBAD_ZSTD;
    }
    return *bad < 0 ? VS_OK : vblock_error(d, g, b, VS_E_CORRUPT, vbad_why[*bad]);
}

/* Make vectors block b ready (g->vregion made): decoded once, by the
 * thread that claims it, without g->mu; a thread that finds it being
 * decoded waits for it (vs_blk_claim); a damaged block gives every caller
 * the same error. sbuf/scap as decode_vblock. */
static int vblock_ready(struct vs_segment *g, uint64_t b, void **sbuf, size_t *scap,
                        struct vs_diag *d)
{
    uint8_t s = vs_blk_claim(&g->vstate[b]);
    if (s == VS_BLK_READY)
        return VS_OK;
    if (s >= VS_BLK_BAD)
        return vblock_error(d, g, b, VS_E_CORRUPT, vbad_why[s - VS_BLK_BAD]);
    int bad;
    int st = decode_vblock(g, b, g->vregion, sbuf, scap, &bad, d);
    if (st == VS_OK) {
        __atomic_store_n(&g->vready[b], 1, __ATOMIC_RELEASE);
        vs_blk_settle(&g->vstate[b], VS_BLK_READY);
    } else {
        vs_blk_settle(&g->vstate[b], bad >= 0 ? (uint8_t)(VS_BLK_BAD + bad) : VS_BLK_EMPTY);
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
        int st = vs_seg_map(g, d);
        if (st != VS_OK)
            return st;
        uint8_t *ready = calloc(g->nvblocks ? g->nvblocks : 1, 1);
        g->vstate = calloc(g->nvblocks ? g->nvblocks : 1, 1);
        if (!ready || !g->vstate) {
            free(ready);
            free(g->vstate);
            g->vstate = NULL;
            return vs_diag_set(d, VS_E_NOMEM, "cannot allocate %llu bytes",
                               (unsigned long long)g->nvblocks);
        }
        g->vregion = (float *)(void *)(g->map + vs_seg_find_sect(g, VS_SECT_VECTORS)->off);
        g->vmapped = 1;
        /* last: vs_seg_vector_block reads the rest after it, without mu */
        __atomic_store_n(&g->vready, ready, __ATOMIC_RELEASE);
        return VS_OK;
    }
    if (dense || total < VS_HUGE_PAGE) {
        g->vregion = vs_seg_big_alloc(total);
    } else {
        /* sparse use (a few blocks re-scored): 4 KiB pages, as a huge page
         * would clear 2 MiB for each block touched; aligned for a later
         * full load's madvise */
        size_t cap = (total + VS_HUGE_PAGE - 1) / VS_HUGE_PAGE * VS_HUGE_PAGE;
        g->vregion = aligned_alloc(VS_HUGE_PAGE, cap);
    }
    uint8_t *ready = calloc(g->nvblocks ? g->nvblocks : 1, 1);
    g->vstate = calloc(g->nvblocks ? g->nvblocks : 1, 1);
    if (!g->vregion || !ready || !g->vstate) {
        free(g->vregion);
        free(ready);
        free(g->vstate);
        g->vregion = NULL;
        g->vstate = NULL;
        return vs_diag_set(d, VS_E_NOMEM, "cannot allocate %zu bytes for vectors", total);
    }
    __atomic_store_n(&g->vready, ready, __ATOMIC_RELEASE); /* last, as above */
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
         * allocations or copies (a block another thread decodes meanwhile
         * through vs_seg_vector_block is waited for) */
        void *sbuf = NULL;
        size_t scap = 0;
        for (uint64_t b = 0; st == VS_OK && b < g->nvblocks; b++)
            if (!__atomic_load_n(&g->vready[b], __ATOMIC_ACQUIRE))
                st = vblock_ready(g, b, &sbuf, &scap, d);
        free(sbuf);
        if (st == VS_OK)
            g->vecs = g->vregion;
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
    /* without g->mu: vready is published last (ensure_vregion), and a
     * block is decoded by one thread while others decode other blocks */
    const uint8_t *ready = __atomic_load_n(&g->vready, __ATOMIC_ACQUIRE);
    if (!ready || b >= g->nvblocks)
        return vs_diag_set(d, VS_E_INTERNAL, "vectors block %llu out of range",
                           (unsigned long long)b);
    if (__atomic_load_n(&ready[b], __ATOMIC_ACQUIRE))
        return VS_OK;
    void *sbuf = NULL; /* compressed and f16 blocks only (older stores) */
    size_t scap = 0;
    int st = vblock_ready(g, b, &sbuf, &scap, d);
    free(sbuf);
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

uint64_t vs_seg_raw_bytes(const struct vs_segment *g)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < g->nsect; i++)
        if (g->sect[i].type >= 1 && (g->sect[i].type <= 5 || g->sect[i].type == VS_SECT_DOCDICT))
            n += g->sect[i].raw;
    return n;
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
