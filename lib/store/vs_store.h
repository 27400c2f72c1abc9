/* vs_store.h: the store: a directory of immutable, checksummed, zstd-compressed
 * segments behind an atomic manifest.
 *
 * A reader (struct vs_store) sees one generation for its whole life; it is
 * never blocked by a writer. A writer (struct vs_writer) holds the store's
 * advisory lock; there is one at a time. A commit writes new files, fsyncs
 * them, then replaces the manifest atomically (rename + directory fsync): a
 * crash at any instant leaves the old generation or the new one.
 *
 * Records: the store keeps, per record, its id, its vector (float32, dim
 * values) and the record itself without its vector ("the doc": text,
 * metadata and every other field, in order). Upserting an existing id
 * replaces it; the old row becomes a tombstone until compaction.
 *
 * Thread safety: a struct vs_store may be read from several threads once the
 * sections a thread uses have been loaded (vs_segment_vectors and
 * vs_segment_ids load lazily and are safe to call concurrently).
 */
#ifndef VS_STORE_H
#define VS_STORE_H

#include <jansson.h>
#include <stdint.h>

#include "vs_metric.h"
#include "vs_status.h"

/* Settings pinned when a store is created. */
struct vs_store_settings {
    uint32_t dim;          /* vector dimension; 0 = from the first vector */
    enum vs_metric metric; /* default cosine */
    int normalize;         /* vectors are L2-normalised at ingest (cosine: always 1) */
    char model[128];       /* embedding model name; "" = not pinned yet */
    /* text analyzer id (vs_analyzer.h) for the per-segment BM25 sections;
     * "" = no text index (stores made before it existed) */
    char analyzer[192];
    char text_field[64];   /* field indexed for text search; "" = "text" */
    /* HNSW graph per segment (vs_hnsw.h) of at least VS_HNSW_MIN_ROWS rows;
     * hnsw_m 0 = no graphs (exact search only) */
    uint32_t hnsw_m;
    uint32_t hnsw_ef_construction; /* 0 = 200 */
    /* hnsw_seeded 1: graphs are built from hnsw_seed on one thread, so the
     * same rows give the same graph bytes; 0: seed 1, built in parallel */
    int hnsw_seeded;
    uint64_t hnsw_seed;
    /* vector codes searched in the graphs (enum vs_quant_kind, vs_quant.h):
     * 0 none (float32), 1 f16, 2 sq8, 3 binary; needs hnsw_m */
    uint32_t hnsw_quant;
    /* how segments keep their vectors (enum vs_vector_storage): float32
     * (0, the default: format version 1, unchanged files) or f16 (half the
     * bytes; the manifest is then format version 2 and the vectors
     * section's codec is "f16", so an older build refuses the store) */
    uint32_t vector_storage;
};

/* Vector storage kinds of a store (vs_store_settings.vector_storage). */
enum vs_vector_storage { VS_VSTORE_FLOAT32 = 0, VS_VSTORE_F16 = 1 };
/* "float32" or "f16" -> kind; VS_E_USAGE otherwise (segment.c). */
int vs_vector_storage_parse(const char *name, uint32_t *kind);
/* kind -> "float32" or "f16" ("unknown" for others). */
const char *vs_vector_storage_name(uint32_t kind);

/* ---- readers ---- */

struct vs_store;
struct vs_segment;

/* Open the current generation of the store at path.
 * Errors: VS_E_NOSTORE (no such directory or no manifest), VS_E_CORRUPT
 * (manifest or a segment header is damaged), VS_E_VERSION, VS_E_IO.
 * The caller owns *out and frees it with vs_store_close(). */
int vs_store_open(const char *path, struct vs_store **out, struct vs_diag *d);
void vs_store_close(struct vs_store *s);

const struct vs_store_settings *vs_store_settings(const struct vs_store *s);
const char *vs_store_path(const struct vs_store *s);
uint64_t vs_store_generation(const struct vs_store *s);
uint64_t vs_store_count(const struct vs_store *s);      /* live records */
uint64_t vs_store_tombstones(const struct vs_store *s); /* dead rows kept */
size_t vs_store_nsegments(const struct vs_store *s);
struct vs_segment *vs_store_segment(const struct vs_store *s, size_t i);

/* The record with this id (the doc plus its "vector"), a new reference.
 * VS_E_NOTFOUND when the id is not live. */
int vs_store_get(struct vs_store *s, const char *id, json_t **rec,
                 struct vs_diag *d);
/* The same record without its vector (the doc), a new reference: cheaper
 * when the vector is not wanted. VS_E_NOTFOUND when the id is not live. */
int vs_store_get_doc(struct vs_store *s, const char *id, json_t **doc,
                     struct vs_diag *d);

/* Each live record, segment by segment, as `vs-index export` writes it: the
 * stored record with its vector ("vector", or "vector_b64" when b64), or,
 * with ids_only, {"id": ...} alone. f (may be NULL; not used with ids_only)
 * leaves out the records it does not match. write gets each record
 * (borrowed); a status other than VS_OK from it stops the walk and is
 * returned as is, d untouched. *n (may be NULL) counts the records written.
 * Errors: what reading the segments gives (VS_E_CORRUPT, VS_E_IO,
 * VS_E_NOMEM). */
struct vs_filter;
int vs_store_export(struct vs_store *s, const struct vs_filter *f, int ids_only,
                    int b64, int (*write)(const json_t *rec, void *arg), void *arg,
                    long long *n, struct vs_diag *d);

/* The `vs-index info` object: records, tombstones, dimension, metric,
 * normalize, model, generation, segments (array with rows, live, bytes,
 * sections), bytes_on_disk, raw_bytes, compression_ratio. New reference. */
int vs_store_info(struct vs_store *s, json_t **info, struct vs_diag *d);

/* Check every checksum of every file of the current generation (reading all
 * sections). VS_OK, or VS_E_CORRUPT naming the file and section in d. */
int vs_store_verify(const char *path, struct vs_diag *d);

/* Rows of a segment (live and dead). */
uint64_t vs_segment_rows(const struct vs_segment *g);
/* Rows of a segment deleted in this generation (tombstones): 0 means every
 * row is live, and vs_segment_live need not be asked row by row. */
uint64_t vs_segment_deleted(const struct vs_segment *g);
/* 1 when the row is live in this generation, 0 when it is a tombstone. */
int vs_segment_live(const struct vs_segment *g, uint64_t row);
/* The row-major rows x dim float32 vectors, 64-byte aligned, owned by the
 * store. Loaded (decompressed, checksum-verified) on first use: VS_E_CORRUPT
 * on damage. */
int vs_segment_vectors(struct vs_segment *g, const float **vecs,
                       struct vs_diag *d);
/* The ids of all rows (NUL-terminated strings owned by the store): the
 * whole ids section, decompressed and split (at 10M rows, most of a cold
 * query's CPU). For callers that need every id. */
int vs_segment_ids(struct vs_segment *g, const char *const **ids,
                   struct vs_diag *d);
/* The id of one row (owned by the store, valid until it is closed), for
 * callers that need a few rows' ids (a query's hits): from the whole list
 * when vs_segment_ids has loaded it, else read from the row's doc (one
 * docs block, kept when the docs cache is on) and kept per row; once more
 * than 1/64 of the rows' ids were read that way, the whole list is loaded
 * (when it cannot be, from the docs still). Errors:
 * what reading the doc gives (VS_E_CORRUPT naming the segment file and
 * the docs block), VS_E_NOMEM. Safe from several threads. */
int vs_segment_id(struct vs_segment *g, uint64_t row, const char **id,
                  struct vs_diag *d);
/* The doc of one row: a new reference to the record without its vector. */
int vs_segment_doc(struct vs_segment *g, uint64_t row, json_t **doc,
                   struct vs_diag *d);
/* The doc of one row as the JSON text stored (one object, compact, as
 * json_dumps with VS_JSON_DUMP_FLAGS wrote it), copied into *buf (grown as
 * needed, NUL-terminated), *len its bytes. Safe from several threads. */
int vs_segment_doc_raw(struct vs_segment *g, uint64_t row, char **buf,
                       size_t *cap, size_t *len, struct vs_diag *d);
/* Keep each docs block of g decompressed once it is read, so that random
 * reads of docs (a query's hits) decompress a block once rather than once
 * per doc; until budget bytes are kept (then blocks are read as without
 * the cache). Idempotent; the first budget stays. VS_E_CORRUPT (a bad
 * docs index), VS_E_NOMEM. */
#define VS_DOC_CACHE_BUDGET ((size_t)64 << 20)
int vs_segment_doc_cache(struct vs_segment *g, size_t budget, struct vs_diag *d);
/* The bytes g's docs cache keeps now (0 when it is off). */
size_t vs_segment_doc_cache_bytes(struct vs_segment *g);

/* ---- writers ---- */

struct vs_writer;

struct vs_writer_opts {
    /* Settings for a store that does not exist yet; NULL means the store
     * must exist (VS_E_NOSTORE otherwise). Ignored when it exists. */
    const struct vs_store_settings *create;
    /* Seconds to wait for the lock: 0 fails at once with VS_E_LOCKED
     * naming the holder's pid, < 0 waits forever. */
    double wait_s;
};

/* Take the store's lock and start a batch of changes.
 * Errors: VS_E_LOCKED, VS_E_NOSTORE, VS_E_CORRUPT, VS_E_VERSION, VS_E_IO. */
int vs_writer_open(const char *path, const struct vs_writer_opts *o,
                   struct vs_writer **out, struct vs_diag *d);

/* Settings in force (dim is 0 until the first vector of a new store). */
const struct vs_store_settings *vs_writer_settings(const struct vs_writer *w);

/* Upsert one record: rec (borrowed) must have a string "id"; vec/dim is its
 * vector (required). If rec has "vector_model", it must equal the store's
 * model (or pins it when none is pinned yet); it is not stored per record.
 * The fields "vector", "vector_b64", "vector_model" and "op" are not kept in
 * the doc. Errors: VS_E_FIELD (no id), VS_E_DIM, VS_E_MISMATCH, VS_E_NOMEM.
 * Nothing is visible to readers before vs_writer_commit(). */
int vs_writer_upsert(struct vs_writer *w, const json_t *rec, const float *vec,
                     size_t dim, struct vs_diag *d);

/* Delete by id; an id that does not exist is not an error (*found = 0).
 * found may be NULL. */
int vs_writer_delete(struct vs_writer *w, const char *id, int *found,
                     struct vs_diag *d);

/* Delete every live record whose doc satisfies pred (called with the doc,
 * borrowed). *n gets the number deleted (n may be NULL). */
int vs_writer_delete_where(struct vs_writer *w,
                           int (*pred)(const json_t *doc, void *arg), void *arg,
                           uint64_t *n, struct vs_diag *d);

/* Make the pending changes durable as a new generation (no-op when there
 * are none). May be called several times. Runs the merge policy, which keeps
 * the number of segments logarithmic in the number of commits.
 * Errors: VS_E_IO, VS_E_NOSPC (the store is left at the previous
 * generation). */
int vs_writer_commit(struct vs_writer *w, struct vs_diag *d);

/* Rewrite all segments into one without tombstones, as a new generation. */
int vs_writer_compact(struct vs_writer *w, struct vs_diag *d);

/* Drop uncommitted changes and release the lock. NULL is accepted. */
void vs_writer_close(struct vs_writer *w);

/* Counters of the writer's life: upserts, deletes, commits. */
uint64_t vs_writer_upserts(const struct vs_writer *w);
uint64_t vs_writer_deletes(const struct vs_writer *w);
/* Generations this writer has made (commits that changed something, and
 * compactions). */
uint64_t vs_writer_commits(const struct vs_writer *w);

/* Parse one NDJSON line of records to ingest (a fast path for the vector:
 * "vector" arrays and "vector_b64" strings are decoded from the text without
 * building JSON values). *rec (a new reference) is the record without
 * "vector" and "vector_b64"; *vec (malloc'd, the caller frees it; NULL with
 * *dim 0 when the record has no vector) holds its *dim floats. Results and
 * errors are those of vs_ndjson_parse followed by vs_record_vector. */
int vs_ingest_parse(const char *line, size_t len, json_t **rec, float **vec,
                    size_t *dim, struct vs_diag *d);

/* Create an empty store with the given settings (VS_E_EXISTS if it exists). */
int vs_store_create(const char *path, const struct vs_store_settings *st,
                    struct vs_diag *d);

/* A snapshot of the current generation at dest (a new directory): hard links
 * of the immutable files (copies across file systems) and a manifest.
 * The snapshot opens as a store. Errors: VS_E_EXISTS, VS_E_IO, ... */
int vs_store_snapshot(const char *path, const char *dest, struct vs_diag *d);

#endif
