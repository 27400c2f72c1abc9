/* vs_store_sync.h: content digests of a store and document-level sync
 * planning (vs-index info --digest, vs-ingest --by-doc/--sync/--dry-run).
 *
 * Digest: XXH3-128 over the live records sorted by id (byte order); for each
 * record: the id, a NUL byte, the stored doc text (the record without its
 * vector, compact JSON as stored), a NUL byte, then the dim float32 values of
 * the stored (possibly normalised) vector, little-endian. The dimension,
 * metric and model are hashed first. It changes exactly when the visible
 * contents (ids, docs, vectors) change, not when segments are merged,
 * compacted or rewritten.
 */
#ifndef VS_STORE_SYNC_H
#define VS_STORE_SYNC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "vs_status.h"
#include "vs_store.h"

/* The digest of the store's current generation as 32 hex digits + NUL. */
int vs_store_digest(struct vs_store *s, char hex[33], struct vs_diag *d);

/* A view of the live records of one generation: id -> row, with the
 * document of each row (its "doc_id", else its id) and its "source". */
struct vs_sync;

/* s may be NULL (an empty store). s must outlive the view. With docs = 0
 * only ids are read (vs_sync_doc, _source, _doc_hash and _stale are then
 * not available: vs_sync_doc returns the id, the others "" / NULL / 0). */
int vs_sync_new(struct vs_store *s, int docs, struct vs_sync **out,
                struct vs_diag *d);
void vs_sync_free(struct vs_sync *y);

/* Whether the record with id is live; *same = 1 when it is live and would
 * be stored unchanged by upserting rec/vec (same doc text and vector after
 * the store's normalisation). */
int vs_sync_lookup(struct vs_sync *y, const json_t *rec, const float *vec,
                   size_t dim, int *live, int *same, struct vs_diag *d);

/* Live records: count, and record i's id, document and source ("" when
 * absent). */
size_t vs_sync_count(const struct vs_sync *y);
const char *vs_sync_id(const struct vs_sync *y, size_t i);
const char *vs_sync_doc(const struct vs_sync *y, size_t i);
const char *vs_sync_source(const struct vs_sync *y, size_t i);
/* The stored doc_hash of a document (NULL when none is stored). */
const char *vs_sync_doc_hash(const struct vs_sync *y, const char *doc);
/* Whether the store holds a record of document doc, and the
 * metadata.file_stamp of one of its records (vs-chunk's; NULL when none). */
int vs_sync_has_doc(const struct vs_sync *y, const char *doc);
const char *vs_sync_doc_stamp(const struct vs_sync *y, const char *doc);

/* The run: note an id the run upserts or deletes, with its document (doc
 * NULL for a delete); mark a document the run keeps as stored. */
int vs_sync_note(struct vs_sync *y, const char *id, const char *doc,
                 struct vs_diag *d);
int vs_sync_keep(struct vs_sync *y, const char *doc, struct vs_diag *d);
/* Whether the run touched id already. */
int vs_sync_touched(const struct vs_sync *y, const char *id);
/* The run's document of a record: its "doc_id", else its "id" (borrowed). */
const char *vs_sync_record_doc(const json_t *rec);

/* 1 when live record i is to be deleted at the end of the run: the run did
 * not touch its id and its document either appears in the run (document
 * replace) and is not kept, or (sync) does not appear in the run and its
 * source starts with scope (NULL: any record). */
int vs_sync_stale(const struct vs_sync *y, size_t i, int sync, const char *scope);

#endif
