/* vs_chunk_job.h: a vs-chunk run: documents from NDJSON records (files or
 * standard input) and from files and directories (walked with vs_walk) to
 * chunk records, with --since keep markers.
 *
 * The library prints nothing: chunk and keep records go to the sink's
 * write callback, skipped files and records to warn, verbose notes to info.
 * A bad file (one that does not open or load, a directory entry that cannot
 * be read) is always skipped with a warning; a bad record is skipped with a
 * warning only with keep_going. Every other error is fatal: the call
 * returns its status with d filled (a failed write: "write error on
 * standard output") and the run should stop.
 */
#ifndef VS_CHUNK_JOB_H
#define VS_CHUNK_JOB_H

#include <jansson.h>

#include "vs_chunk.h"
#include "vs_loader.h"
#include "vs_status.h"

struct vs_chunk_job;

struct vs_chunk_counts {
    long long docs, chunks, bytes; /* bytes: of the documents' text */
    long long files_skipped, records_skipped, files_unchanged;
    long long files_left_out; /* not documents, or ignored (vs_walk) */
    long long files;          /* files walks handed over: read, skipped or unchanged */
};

struct vs_chunk_sink {
    /* Write one record; return VS_OK or the status that stops the run. */
    int (*write)(const json_t *rec, void *arg);
    /* A skipped file or record; may be NULL. */
    void (*warn)(int status, const struct vs_diag *d, void *arg);
    /* A note for verbosity level (1 or 2): "<path>: <what>"; may be NULL. */
    void (*info)(int level, const char *path, const char *what, void *arg);
    /* After each chunk written, with the count so far; may be NULL. */
    void (*progress)(long long chunks, void *arg);
    void *arg;
};

/* A run with the chunker ch (borrowed; made from o) over the text field of
 * records (NULL = "text"), files chosen by filter (copied; its left_out is
 * the job's: counted, and an info note at level 2), and with
 * since (a store path, or NULL) the stamps of the files that store holds:
 * a store that does not exist yet is noted (info level 1) and every file
 * is read. Errors: those of vs_chunk_since_open, VS_E_NOMEM. */
int vs_chunk_job_new(struct vs_chunker *ch, const struct vs_chunk_options *o,
                     const struct vs_walk_filter *filter, const char *field,
                     int keep_going, const char *since, const struct vs_chunk_sink *sink,
                     struct vs_chunk_job **out, struct vs_diag *d);
void vs_chunk_job_free(struct vs_chunk_job *j);

/* Where a record's "title" goes (BEIR corpora have one). TEXT (the
 * default): before the text, "TITLE\n\nTEXT", so it is embedded and indexed
 * with it (chunk offsets are into that text), and into metadata.title;
 * METADATA: only into metadata.title (the text as given). */
enum vs_chunk_title { VS_CHUNK_TITLE_TEXT = 0, VS_CHUNK_TITLE_METADATA };
void vs_chunk_job_set_title(struct vs_chunk_job *j, enum vs_chunk_title t);

/* The records of the NDJSON file path (NULL or "-": standard input), one
 * document each. A file that does not open is skipped (warning);
 * standard input that does not is fatal. */
int vs_chunk_job_records(struct vs_chunk_job *j, const char *path, struct vs_diag *d);

/* Walk path (a file or directory): .jsonl/.ndjson files as records, other
 * files as one document each, with a "file_stamp" in its metadata; with
 * since, a file whose stamp equals the stored one is not read and gets a
 * keep marker instead. */
int vs_chunk_job_path(struct vs_chunk_job *j, const char *path, struct vs_diag *d);

/* Write the keep markers (after every chunk, so vs-embed's batches stay
 * whole). */
int vs_chunk_job_finish(struct vs_chunk_job *j, struct vs_diag *d);

const struct vs_chunk_counts *vs_chunk_job_counts(const struct vs_chunk_job *j);

/* How many files a walk of path with filter (its left_out is not called)
 * would hand over, each stat-ed, none read (for progress against a
 * total). Errors: VS_E_IO (path cannot be examined), VS_E_NOMEM. */
int vs_chunk_count_files(const char *path, const struct vs_walk_filter *filter,
                         long long *n, struct vs_diag *d);

#endif
