/* store_internal.h: what the files of lib/store/ share (private).
 *
 * On-disk format (docs/store-format.md has the full description):
 *   segment file  seg-NNNNNNNN.vseg   header, sections, section table
 *   deletion file del-NNNNNNNN-GGGGGGGG.vdel   bitmap of dead rows
 *   MANIFEST      JSON + "xxh64 HEX" line: generation, settings, segments
 *   LOCK          flock()ed by the one writer; holds its pid
 * Every integer is little-endian.
 */
#ifndef VS_STORE_INTERNAL_H
#define VS_STORE_INTERNAL_H

#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>

#include "vs_strpool.h"

#include "vs_status.h"
#include "vs_store.h"

#define VS_SEG_MAGIC "VSSEGMT\x1a"
#define VS_DEL_MAGIC "VSDELET\x1a"
#define VS_SEG_VERSION 1u
#define VS_DEL_VERSION 1u
#define VS_MANIFEST_VERSION 1
/* the manifest version of a store whose segments keep vectors as f16
 * (vs_store_settings.vector_storage): older builds refuse it */
#define VS_MANIFEST_VERSION_F16 2
#define VS_SEG_HEADER_SIZE 64u
#define VS_SEG_SECT_SIZE 48u
#define VS_SEG_MAX_SECT 32u
/* the largest dimension a manifest or segment header may give */
#define VS_SEG_MAX_DIM 1000000u
/* no zstd frame holds more than this many raw bytes per stored byte (an
 * RLE block is 4 bytes for up to 128 KiB); readers refuse a raw length
 * beyond it before allocating for it */
#define VS_ZSTD_MAX_RATIO 32768u
/* Docs blocks: a writer collects the docs in blocks of at most
 * VS_DOCS_PER_BLOCK docs (zstd level 3, no dictionary). When a segment's
 * docs add up to VS_DOCS_DICT_MIN raw bytes or more, it trains a zstd
 * dictionary (1/64 of their raw bytes, from 2 KiB up to VS_DOCS_DICT_BYTES)
 * on a sample of at most
 * VS_DOCS_DICT_SAMPLE bytes of its docs, writes it as section DOCDICT and
 * writes the docs again in blocks of at most VS_DOCS_BLOCK_BYTES raw bytes
 * (a single larger doc is a block of its own) compressed with it: a reader
 * then decompresses a few KiB to read one doc, not a block of 256. */
#define VS_DOCS_PER_BLOCK 256u
#define VS_DOCS_BLOCK_BYTES 4096u
#define VS_DOCS_DICT_MIN (64u << 10)
#define VS_DOCS_DICT_BYTES (16u << 10)
#define VS_DOCS_DICT_SAMPLE (512u << 10)
#define VS_DOCIDX_ENTRY 48u
/* Rows per vectors block written (raw float32, each block checksummed, so a
 * reader checks only the blocks a search touches, in place in the mapped
 * file); readers accept blocks of up to VS_VEC_BLOCK_ROWS_MAX rows (older
 * writers used 1024-row blocks, zstd or raw). */
#define VS_VEC_BLOCK_ROWS 16u
#define VS_VEC_BLOCK_ROWS_MAX 1024u
/* vs_segment_id reads ids from the rows' docs one at a time until it has
 * read more than rows / VS_IDS_WHOLE_DIV of them, then loads the ids
 * section whole: about 150 instructions (20 ns) a row of the section
 * against about 1.5 us an id read from its doc (the scan, the lock, the
 * copy; bench/py's e2e query: 10,000 hits of 100,000 rows) */
#define VS_IDS_WHOLE_DIV 64u
/* zstd contexts a segment keeps for decoding docs blocks at once (more
 * threads at a time each make one for the block) */
#define VS_SEG_DCTX_POOL 8
/* how many times a thread checks a block another one decodes before it
 * yields the CPU between checks */
#define VS_BLK_SPINS 256u

/* Section types. A reader skips types it does not know unless the section
 * has VS_SECT_REQUIRED in its flags (then the file is VS_E_VERSION). */
enum {
    VS_SECT_IDS = 1,      /* rows NUL-terminated ids, concatenated */
    VS_SECT_VECTORS = 2,  /* blocks of VS_VEC_BLOCK_ROWS x dim float32 */
    VS_SECT_DOCINDEX = 3, /* one 48-byte entry per docs block */
    VS_SECT_DOCS = 4,     /* zstd blocks of '\n'-separated JSON docs */
    VS_SECT_VECINDEX = 5, /* one 48-byte entry per vectors block */
    VS_SECT_DOCDICT = 9   /* the zstd dictionary of the docs blocks (raw;
                             required: the blocks need it) */
};
#define VS_SECT_REQUIRED 1u

/* VS_CODEC_F16: the VECTORS section of a store with vector storage f16:
 * every block is rows x dim IEEE half floats (little-endian), raw; its
 * raw length (and the section's) counts the float32 it decodes to */
enum { VS_CODEC_RAW = 0, VS_CODEC_ZSTD = 1, VS_CODEC_F16 = 2 };

struct vs_sect {
    uint32_t type, flags, codec;
    uint64_t off, len, raw, sum;
};

struct vs_segment {
    char path[4096];       /* dir/name */
    char name[64];         /* seg-NNNNNNNN.vseg */
    int fd;
    uint64_t file_bytes;
    uint64_t rows;
    uint32_t dim;
    uint32_t nsect;
    struct vs_sect sect[VS_SEG_MAX_SECT];
    /* deletions in this generation (NULL = none) */
    uint8_t *del;
    uint64_t ndel;
    char delname[64];
    uint64_t del_bytes;
    /* lazily loaded parts, made under mu (the vectors and docs blocks are
     * decoded without it: vstate, dstate) */
    pthread_mutex_t mu;
    unsigned char *map;     /* the whole file mapped read-only, or NULL */
    size_t map_len;
    float *vecs;            /* all rows, once every block is decoded (= vregion) */
    float *vregion;         /* rows x dim floats, blocks decoded into place */
    int vf16;               /* the VECTORS section is f16 (VS_CODEC_F16) */
    int vmapped;            /* 1: vregion is the VECTORS section in map (raw,
                               contiguous blocks: checked in place, not copied) */
    unsigned vshift;        /* row r sits in vectors block r >> vshift, or
                               vshift = 0 and blocks are not uniform */
    uint8_t *vready;        /* per vectors block: 1 once decoded (atomic) */
    uint8_t *vstate;        /* per vectors block: its VS_BLK_ state (atomic;
                               decoded outside mu, vs_blk_claim) */
    char *idbuf;
    const char **ids;
    /* vs_segment_id before (or without) vs_segment_ids: per row, the id
     * read from the row's doc (atomic pointers, set under mu; NULL = not
     * read yet; calloc'd, so untouched rows cost no memory), the strings
     * kept in a list of chunks freed at close */
    char **idrow;
    struct vs_strpool idpool; /* strings of vs_segment_id, kept until close */
    /* ids read from docs so far (atomic), and how many make vs_segment_id
     * load the ids section whole (rows / VS_IDS_WHOLE_DIV, set at open;
     * UINT64_MAX: never, or the load failed: one row at a time again) */
    uint64_t idreads, idwhole_after;
    unsigned char *docidx;  /* raw DOCINDEX section */
    uint64_t nblocks;
    uint64_t *dfirst;       /* per docs block its first row (docidx's, dense:
                               the block of a row is searched in here) */
    unsigned char *vecidx;  /* raw VECINDEX section */
    uint64_t nvblocks;
    float *vblk;            /* the last vectors block decompressed */
    uint64_t vblk_no, vblk_first, vblk_n;
    void *ddict;            /* ZSTD_DDict of section DOCDICT, or NULL */
    void *dctx;             /* ZSTD_DCtx for docs blocks read under mu */
    char *blk;              /* the last docs block decompressed */
    size_t blk_len, blk_cap;
    uint64_t blk_no, blk_first, blk_n;
    /* where the doc blk_at_row of the block starts in blk (a sequential
     * read finds the next doc from there) */
    uint64_t blk_at_row;
    size_t blk_at;
    /* vs_segment_doc_cache: per docs block, the block decompressed once
     * with where each doc starts (atomic pointers, each filled by the
     * thread that claims the block, dstate; NULL when the cache is off or
     * the block not read yet), kept until close while dcache_bytes
     * (reserved with CAS) stays within dcache_budget */
    struct vs_docblk **dcache;
    size_t dcache_bytes, dcache_budget;
    /* where the cached blocks live: one region reserved on first use for
     * every block (its pages touched as blocks fill it; huge pages from 2
     * MiB), carved with CAS on darena_used; a block that does not fit is
     * malloc'd */
    char *darena;
    size_t darena_used, darena_cap;
    /* the cache's blocks are decoded outside mu: per docs block its VS_BLK_
     * state (atomic; VS_BLK_UNCACHED: over the budget, read the uncached
     * way), dprep set (atomic) once the dictionary, the mapping and the
     * region are made (under mu), and zstd contexts lent one per decode
     * (dctxbusy: atomic flags; made on first use) */
    uint8_t *dstate;
    int dprep;
    void *dctxs[VS_SEG_DCTX_POOL];
    uint8_t dctxbusy[VS_SEG_DCTX_POOL];
};

/* The states of a vectors or docs block decoded on first use (vstate,
 * dstate): a thread claims an empty block (vs_blk_claim: VS_BLK_BUSY),
 * decodes it without g->mu, and settles it ready, or bad for good with the
 * reason (VS_BLK_BAD + r: every later caller gets the same error), or
 * empty again after a passing failure (out of memory, a read error): the
 * next caller tries again. A thread that needs a block another one is
 * decoding waits for that block only. */
enum { VS_BLK_EMPTY = 0, VS_BLK_BUSY = 1, VS_BLK_READY = 2, VS_BLK_UNCACHED = 3,
       VS_BLK_BAD = 4 };

/* VS_BLK_EMPTY when this thread now holds *s (set to VS_BLK_BUSY: settle it
 * with vs_blk_settle), else the state another thread settled it in; while
 * another thread decodes it, a short spin, then the CPU yielded. */
static inline uint8_t vs_blk_claim(uint8_t *s)
{
    for (unsigned spin = 0;; spin++) {
        uint8_t z = __atomic_load_n(s, __ATOMIC_ACQUIRE);
        if (z == VS_BLK_EMPTY) {
            if (__atomic_compare_exchange_n(s, &z, VS_BLK_BUSY, 0, __ATOMIC_ACQUIRE,
                                            __ATOMIC_ACQUIRE))
                return VS_BLK_EMPTY;
        } else if (z != VS_BLK_BUSY) {
            return z;
        } else if (spin < VS_BLK_SPINS) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        } else {
            sched_yield();
        }
    }
}

/* Publish the outcome of a claimed block (release: its data first). */
static inline void vs_blk_settle(uint8_t *s, uint8_t to)
{
    __atomic_store_n(s, to, __ATOMIC_RELEASE);
}

/* ---- store_dir.c ---- */

/* 1 when name is prefix, then digits and '-', then suffix (under 64
 * bytes): the names of segment and deletion files. */
int vs_store_valid_file_name(const char *name, const char *prefix, const char *suffix);
/* Write dir/MANIFEST for generation gen with settings st, the next segment
 * number and the segments' entries segs: to a temporary file, fsync'd,
 * renamed over the old one, then the directory fsync'd. */
int vs_store_write_manifest(const char *dir, const struct vs_store_settings *st,
                            uint64_t gen, uint64_t next_seg, json_t *segs,
                            struct vs_diag *d);
/* Remove files of the store that the manifest (segs) does not name: left by
 * a crash or replaced by a newer generation. Only the writer calls this. */
void vs_store_collect_garbage(const char *dir, json_t *segs);
/* Take dir/LOCK (flock, holding our pid), waiting up to wait_s seconds
 * (< 0: for ever); VS_E_LOCKED when another writer keeps it. *fdout gets
 * the descriptor to give vs_store_lock_release (which accepts -1). */
int vs_store_lock_take(const char *dir, double wait_s, int *fdout, struct vs_diag *d);
void vs_store_lock_release(int fd);

/* ---- store.c ---- */

/* The manifest bytes the store was opened from (owned by s). */
const char *vs_store_manifest_bytes(const struct vs_store *s, size_t *len);

/* ---- segment.c ---- */

struct vs_segw;

/* Start writing a new segment file at path (created exclusively). */
int vs_segw_new(const char *path, uint32_t dim, struct vs_segw **out,
                struct vs_diag *d);
/* Keep the vectors as kind (enum vs_vector_storage; default float32).
 * Call before any add. */
void vs_segw_storage(struct vs_segw *w, uint32_t kind);
/* The index of the first value of vec (divided by norm when norm > 0)
 * that vector storage kind cannot hold (f16: |x| > 65504), or dim. */
size_t vs_segw_misfit(uint32_t kind, const float *vec, size_t dim, double norm);
/* The manifest m's vector storage (VS_E_CORRUPT: version 2 without
 * "vector_storage" naming f16, or version 1 with the key); and setting it
 * in a manifest being written (version 2 and the key, for f16 only). */
int vs_vector_storage_read(json_t *m, uint32_t *kind);
void vs_vector_storage_json(json_t *m, uint32_t kind);
/* Index the string field `field` of every row's doc with a BM25 section
 * (store_text_internal.h) built with the analyzer. Call before any add. */
int vs_segw_text(struct vs_segw *w, const char *field, const char *analyzer,
                 struct vs_diag *d);
/* Build an HNSW graph section (store_hnsw_internal.h) over the rows when
 * there are at least min_rows of them. Call before any add. */
struct vs_hnsw_opts;
int vs_segw_hnsw(struct vs_segw *w, enum vs_metric metric,
                 const struct vs_hnsw_opts *o, uint64_t min_rows,
                 struct vs_diag *d);
/* The graph builder attached by vs_segw_hnsw, or NULL. */
struct vs_hnswb *vs_segw_graph(struct vs_segw *w);
/* Add one row; doc is the JSON text of the record without its vector. */
int vs_segw_add(struct vs_segw *w, const char *id, const float *vec,
                const char *doc, size_t doclen, struct vs_diag *d);
uint64_t vs_segw_rows(const struct vs_segw *w);
/* Write the remaining sections and the header, fsync and close. *bytes gets
 * the file size. */
int vs_segw_finish(struct vs_segw *w, uint64_t *bytes, struct vs_diag *d);
/* Free; a segment not finished is removed. NULL is accepted. */
void vs_segw_free(struct vs_segw *w);

/* Open a segment file (header and section table only). VS_E_NOTFOUND when
 * the file does not exist (the caller may retry with a newer manifest). */
int vs_seg_open(const char *dir, const char *name, struct vs_segment **out,
                struct vs_diag *d);
void vs_seg_close(struct vs_segment *g);
/* A whole section of the given type, checked and decompressed, into a new
 * malloc'd buffer (*len bytes). VS_E_NOTFOUND when the segment has none. */
int vs_seg_section(struct vs_segment *g, uint32_t type, void **buf,
                   size_t *len, struct vs_diag *d);
/* The stored bytes of a raw section in place in the mapped file (not
 * checked against the section checksum: for sections whose parts carry
 * their own checksums). VS_E_NOTFOUND when the segment has none,
 * VS_E_UNSUPPORTED when it is compressed. */
int vs_seg_section_map(struct vs_segment *g, uint32_t type, const void **p,
                       size_t *len, struct vs_diag *d);
/* Read and check every section and docs block (segment_verify.c). */
int vs_seg_verify(struct vs_segment *g, struct vs_diag *d);
/* The JSON text of a row's doc, copied into *buf (grown as needed;
 * segment_docs.c). */
int vs_seg_doc_raw(struct vs_segment *g, uint64_t row, char **buf,
                   size_t *cap, size_t *len, struct vs_diag *d);
/* Copy the vector of one row into out (dim floats), loading only the block
 * that holds it (or using the whole section when it is loaded). */
int vs_seg_vector_row(struct vs_segment *g, uint64_t row, float *out,
                      struct vs_diag *d);
/* Lazy access to the vectors: *base gets rows x dim floats of which only
 * the blocks marked in *ready (one byte per 1 << *shift rows, read with an
 * acquire load) hold data; vs_seg_vector_block decodes block b (checked
 * against its checksum) into place. Raw blocks (what this version writes)
 * are not copied: *base points into the mapped file and "decoding" a block
 * is checking its checksum. *ready is NULL when every row is already there.
 * dense: most blocks will be touched (a decoded region is then put on huge
 * pages). */
int vs_seg_vectors_lazy(struct vs_segment *g, int dense, const float **base,
                        const uint8_t **ready, unsigned *shift, struct vs_diag *d);
int vs_seg_vector_block(struct vs_segment *g, uint64_t b, struct vs_diag *d);
/* Sum of the raw (uncompressed) sizes of the known sections. */
uint64_t vs_seg_raw_bytes(const struct vs_segment *g);

/* What segment.c lends segment_docs.c and segment_verify.c. */
/* The section of the given type, or NULL. */
static inline const struct vs_sect *vs_seg_find_sect(const struct vs_segment *g, uint32_t type)
{
    for (uint32_t i = 0; i < g->nsect; i++)
        if (g->sect[i].type == type)
            return &g->sect[i];
    return NULL;
}
const char *vs_seg_sect_name(uint32_t type);
/* Set d to VS_E_CORRUPT at g's file with the message; returns VS_E_CORRUPT. */
int vs_seg_corrupt(struct vs_diag *d, const struct vs_segment *g,
                   const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* n bytes aligned to 64 (free() them); from 2 MiB up on huge pages. */
void *vs_seg_big_alloc(size_t n);
/* Read stored bytes [off, off+len) of the file, check sum, decompress into
 * a new buffer of raw bytes (64-byte aligned, NUL-terminated past raw). */
int vs_seg_load_bytes(struct vs_segment *g, const char *what, uint64_t off,
                      uint64_t len, uint64_t raw, uint64_t sum, uint32_t codec,
                      void **out, struct vs_diag *d);
/* A section of g (which has it), checked, into a new buffer. */
int vs_seg_load_sect(struct vs_segment *g, uint32_t type, void **out,
                     struct vs_diag *d);
/* Map the whole file read-only on first use (caller holds g->mu). */
int vs_seg_map(struct vs_segment *g, struct vs_diag *d);

/* What segment_docs.c lends segment_verify.c (caller holds g->mu): the
 * docs index loaded and checked; docs block b decompressed into g->blk. */
int vs_seg_docs_index(struct vs_segment *g, struct vs_diag *d);
int vs_seg_docs_block(struct vs_segment *g, uint64_t b, struct vs_diag *d);

/* Deletion files: a bitmap of rows bits. */
int vs_del_read(const char *path, uint64_t rows, uint8_t **bits,
                uint64_t *ndel, uint64_t *bytes, struct vs_diag *d);
int vs_del_write(const char *path, uint64_t rows, const uint8_t *bits,
                 uint64_t *bytes, struct vs_diag *d);

/* Small I/O helpers (segment.c). */
int vs_io_write_all(int fd, const void *buf, size_t len);
int vs_io_pread_all(int fd, void *buf, size_t len, uint64_t off);
int vs_io_fsync_dir(const char *dir);
/* Open path read-only if it is a regular file (never blocks on a FIFO);
 * fills *sb. Returns the descriptor, -1 with errno set, or -2 when path is
 * not a regular file. */
struct stat;
int vs_io_open_regular(const char *path, struct stat *sb);

static inline void vs_put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static inline void vs_put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint32_t vs_get32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}
static inline uint64_t vs_get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

#endif
