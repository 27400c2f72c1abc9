/* vecstore.h: the public C API of vecstore (libvecstore.so.1, libvecstore.a).
 *
 * This is the one header a program outside the vecstore tree includes:
 *
 *     #include <vecstore.h>
 *     cc prog.c $(pkg-config --cflags --libs vecstore)
 *
 * It needs nothing but the C standard library headers: no jansson, no other
 * vecstore header. Metadata goes in and comes out as JSON *text*.
 *
 * ---- What is here -------------------------------------------------------
 *
 *   vs_version, VECSTORE_VERSION_*    the version, at compile and run time
 *   VS_OK, VS_E_*, struct vs_error    statuses and the diagnostic
 *   vs_db_*                           a store: open/create, upsert, delete,
 *                                     delete by filter, commit, search
 *   vs_results_*, struct vs_hit       search results, owned by one object
 *   vs_encoder_*                      embedders (hash, BERT and USE-lite
 *                                     folders, cloud APIs) with a role
 *   vs_reranker_*                     rerankers (bm25, cross-encoder,
 *                                     late-interaction, HTTP APIs)
 *   vs_report_*                       evaluation of a run against qrels
 *   vs_chunks_*                       texts and files split into chunk
 *                                     records, as vs-chunk does
 *
 * ---- Names --------------------------------------------------------------
 *
 * Every public name starts with vs_ (functions, structs) or VS_/VECSTORE_
 * (constants). The public nouns are exactly: version, err (vs_errname,
 * vs_errstr), error, db, record, search, results, hit, encoder, reranker,
 * report, chunks. The library's internal modules use other vs_ prefixes
 * (vs_store_, vs_query_, vs_embed_, vs_embedder_, vs_rerank_, vs_eval_,
 * vs_hnsw_, ...); those are NOT part of the API, are not exported from
 * libvecstore.so, and may change any day. A program that links the static
 * libvecstore.a can reach them by accident: don't.
 *
 * ---- Statuses and errors --------------------------------------------------
 *
 * Every function that can fail returns an int status: VS_OK (0) or one of
 * VS_E_* below (the library's one pinned list; values never change, new ones
 * are only appended). Functions that take a `struct vs_error *err` fill it
 * on failure (err may be NULL): the status again, and where the problem is
 * (file, line, column, field) and a one-sentence detail. The library never
 * prints, never exits, never aborts on bad input.
 *
 * Passing NULL where a handle or a required pointer is expected returns
 * VS_E_USAGE (never a crash). The library keeps a list of open vs_db
 * handles: a vs_db used after vs_db_close is refused with VS_E_USAGE (its
 * memory is not touched) unless a new handle has since been given the same
 * address. Using any other handle after its _free is undefined behaviour,
 * as with free().
 *
 * ---- Ownership ------------------------------------------------------------
 *
 * Handles (vs_db, vs_results, vs_encoder, vs_reranker, vs_report) are
 * created by a function of this header and freed by the matching
 * close/free function, which accepts NULL. Strings and structs handed out
 * by a handle (hits, identities, measure names) are owned by that handle
 * and stay valid until it is freed (or, where said, until its next call).
 * Strings and arrays the caller passes in are copied or used only during
 * the call: the caller keeps ownership.
 *
 * ---- Threads --------------------------------------------------------------
 *
 *   vs_db        may be shared by threads. Searches run concurrently with
 *                each other (a read lock); upsert, delete, commit take the
 *                write lock, so a search sees the store as of the last
 *                commit, never a half-applied one. Close only when no other
 *                thread uses the handle.
 *   vs_results   read-only after it is returned: any number of threads may
 *                read one; free it once.
 *   vs_encoder   may be shared; calls on one encoder are serialised by an
 *                internal lock (two threads wanting parallel embedding
 *                should each open their own encoder).
 *   vs_reranker  as vs_encoder.
 *   vs_report    read-only after it is returned.
 * The library may run OpenMP threads inside one call (search of a batch,
 * embedding of BERT models); vs_search_opts.threads bounds a search.
 *
 * ---- Stability rules ------------------------------------------------------
 *
 * Before 1.0 (VECSTORE_VERSION_MAJOR 0):
 *   - functions, structs and constants may still be added, renamed or
 *     changed between minor versions; every change is listed in
 *     docs/api.md under its version;
 *   - any change that breaks binary compatibility also changes the soname
 *     (libvecstore.so.1 -> .2), so a program never runs against a library
 *     it was not built for;
 *   - status values, the VS_E_* names and the meaning of struct vs_error's
 *     fields never change (they are pinned since 0.1).
 * From 1.0 on, within one major version:
 *   - nothing is removed or renamed, no signature changes, no status value
 *     changes meaning;
 *   - options structs the caller fills (vs_db_config, vs_search_opts,
 *     vs_encoder_opts, vs_reranker_opts) may gain fields at their end only;
 *     the caller must initialise them with the matching _init function,
 *     which records the caller's sizeof, so an older program keeps working
 *     with a newer library (new fields take their defaults);
 *   - structs the library fills and hands out by pointer (vs_hit) may gain
 *     fields at their end only; the caller never allocates or copies them
 *     by value as arrays;
 *   - struct vs_error and struct vs_db_info are fixed (callers allocate
 *     them);
 *   - new functions and new VS_E_* values may be added in minor versions.
 */
#ifndef VECSTORE_H
#define VECSTORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks every public function; libvecstore.so exports exactly these
 * (lib/api/vecstore.map, checked against this header by a test). */
#define VS_API

/* ---- Version ------------------------------------------------------------ */

#define VECSTORE_VERSION_MAJOR 1
#define VECSTORE_VERSION_MINOR 0
#define VECSTORE_VERSION_PATCH 0
#define VECSTORE_VERSION_STRING "1.0.0"
/* major * 10000 + minor * 100 + patch, for #if comparisons */
#define VECSTORE_VERSION_NUMBER                                              \
    (VECSTORE_VERSION_MAJOR * 10000 + VECSTORE_VERSION_MINOR * 100 +         \
     VECSTORE_VERSION_PATCH)

/* The version of the library actually linked ("1.0.0"); compare it with
 * VECSTORE_VERSION_STRING to detect a header/library mismatch. Static
 * string, never NULL. */
VS_API const char *vs_version(void);
/* The same as a number (VECSTORE_VERSION_NUMBER of the library). */
VS_API int vs_version_number(void);

/* ---- Statuses ------------------------------------------------------------
 * The pinned list (values never change; lib/core/vs_status.h inside the
 * tree is the same list and the library's build checks they agree). The
 * comment gives vs_errname's short name and the vs-* programs' exit code
 * for the status. */
#ifndef VS_STATUS_H /* the library's own sources have the list already */
enum vs_status {
    VS_OK = 0,               /* ok (exit 0) */
    VS_E_USAGE = 1,          /* usage: bad argument, NULL handle (2) */
    VS_E_CONFIG = 2,         /* config: bad setting, missing key (2) */
    VS_E_FILTER = 3,         /* filter: filter does not parse (2) */
    VS_E_UNSUPPORTED = 4,    /* unsupported: model, mode not available (2) */
    VS_E_DATA = 5,           /* data: bad input data (3) */
    VS_E_JSON = 6,           /* json: malformed JSON (3) */
    VS_E_LINE_TOO_LONG = 7,  /* line_too_long (3) */
    VS_E_FIELD = 8,          /* field: missing or invalid field (3) */
    VS_E_DIM = 9,            /* dimension: vector length differs (3) */
    VS_E_NONFINITE = 10,     /* nonfinite: NaN or infinite number (3) */
    VS_E_MISMATCH = 11,      /* mismatch: record disagrees with store (3) */
    VS_E_STORE = 12,         /* store: store error (4) */
    VS_E_NOSTORE = 13,       /* no_store: no such store (4) */
    VS_E_LOCKED = 14,        /* locked: another writer holds the lock (4) */
    VS_E_CORRUPT = 15,       /* corrupt: a checksum failed (4) */
    VS_E_VERSION = 16,       /* version: unsupported format version (4) */
    VS_E_EXISTS = 17,        /* exists: already exists (4) */
    VS_E_IO = 18,            /* io: input/output error (5) */
    VS_E_NOSPC = 19,         /* no_space: no space left on device (5) */
    VS_E_NOMEM = 20,         /* no_memory: out of memory (5) */
    VS_E_NETWORK = 21,       /* network: network error (5) */
    VS_E_REMOTE = 22,        /* remote: remote service error (5) */
    VS_E_INTERNAL = 23,      /* internal: internal error (5) */
    VS_E_NOTFOUND = 24,      /* not_found: not found (1) */
    VS_E_EMPTY = 25,         /* empty: nothing found (1) */
    VS_E_GATE = 26,          /* gate: evaluation gate failed (1) */
    VS_E_TRUNCATED = 27,     /* truncated: a record stream was cut (3) */
    VS_E_MAX_DELETE = 28     /* max_delete: more deletes than allowed (3) */
};
#endif

/* Short stable name of a status ("locked"); "unknown" for a value not in
 * the list. Static string. */
VS_API const char *vs_errname(int status);
/* Message of a status ("store is locked"); "unknown error" for a value not
 * in the list. Static string. */
VS_API const char *vs_errstr(int status);

/* Where a problem is and what it is; filled by the function that failed.
 * Every field is optional: "" or 0 means not known. The caller allocates it
 * (on the stack is fine); it owns no memory. Fixed layout (see Stability). */
struct vs_error {
    int status;        /* the status the function returned */
    long line;         /* 1-based line of `file`, 0 = none */
    long col;          /* 1-based column (of a filter expression, a line) */
    char file[512];    /* file name, "<stdin>", or "" */
    char field[128];   /* field name or path ("vector", "metadata.year") */
    char detail[1024]; /* one sentence, lowercase, no full stop */
};

/* ---- Stores --------------------------------------------------------------
 * A store is a directory (the same format vs-ingest writes and vs-query
 * reads; see docs/store-format.md). A vs_db handle reads the generation
 * current at open or at its last commit; opened for writing it also holds
 * the store's lock (one writer at a time, across processes). */

typedef struct vs_db vs_db;

/* Settings of a new store. Initialise with vs_db_config_init, then set
 * what you need. Strings are copied during vs_db_open. */
struct vs_db_config {
    size_t size;              /* set by vs_db_config_init; do not touch */
    size_t dim;               /* vector dimension; 0 = from the first vector */
    const char *metric;       /* "cosine" (default), "dot", "l2" */
    int normalize;            /* 1: L2-normalise vectors of a dot/l2 store */
    const char *model;        /* embedding model identity to pin, or NULL */
    const char *analyzer;     /* BM25 analyzer spec; NULL = default; "none" =
                                 no text index (no text/hybrid search) */
    const char *text_field;   /* field vs_record.text is stored under and
                                 text search indexes; NULL = "text". Hits
                                 carry a record's "text" field only, so
                                 leave it NULL unless programs that write
                                 another field share the store */
    int hnsw_m;               /* HNSW graph degree (2..1024); 0 = no graphs
                                 (exact search only). Default 16 */
    int hnsw_ef_construction; /* 0 = 200 */
    uint64_t hnsw_seed;       /* 0 = parallel build; else seeded, one thread,
                                 same rows give the same graph bytes */
    const char *quant;        /* vector codes in graphs: NULL/"none", "f16",
                                 "sq8", "binary" (needs hnsw_m) */
    const char *vector_storage; /* how segments keep vectors: NULL/"float32"
                                 or "f16" (half the bytes, scores within f16
                                 rounding; builds before the setting refuse
                                 the store). Added after 1.0.0 at the end:
                                 a caller built before passes a smaller size
                                 and gets float32 */
};
/* Fill c with the defaults and record sizeof *c (pass sizeof *c as size). */
VS_API void vs_db_config_init(struct vs_db_config *c, size_t size);

/* vs_db_open flags */
#define VS_DB_READONLY 0x0 /* search only; no lock is taken */
#define VS_DB_WRITE 0x1    /* also take the store's lock for changes */
#define VS_DB_CREATE 0x2   /* create the store when it does not exist
                              (implies VS_DB_WRITE); cfg gives its settings */
#define VS_DB_EXCL 0x4     /* with CREATE: VS_E_EXISTS when it exists */

/* Open (or create) the store at path. cfg may be NULL (defaults) and is
 * used only when the store is created; an existing store keeps its own
 * settings. lock_wait_s: seconds to wait for the lock with VS_DB_WRITE
 * (0 = fail at once with VS_E_LOCKED naming the holder, < 0 = forever).
 * On VS_OK *out is a new handle the caller closes with vs_db_close.
 * Errors: VS_E_USAGE (NULL path/out, unknown flag), VS_E_CONFIG (bad cfg:
 * metric, analyzer, quant, hnsw_m, vector_storage; err->field names it),
 * VS_E_NOSTORE,
 * VS_E_EXISTS, VS_E_LOCKED, VS_E_CORRUPT, VS_E_VERSION, VS_E_IO,
 * VS_E_NOMEM. */
VS_API int vs_db_open(const char *path, int flags,
                      const struct vs_db_config *cfg, double lock_wait_s,
                      vs_db **out, struct vs_error *err);

/* Release the lock, drop uncommitted changes, free the handle. NULL is
 * accepted. Returns VS_OK (VS_E_USAGE for a handle already closed, when
 * that can be seen). */
VS_API int vs_db_close(vs_db *db);

/* Facts about the open generation. */
struct vs_db_info {
    uint64_t records;     /* live records */
    uint64_t tombstones;  /* dead rows kept until compaction */
    uint64_t generation;
    size_t segments;
    size_t dim;           /* 0 until the first vector of a new store */
    char metric[16];      /* "cosine", "dot", "l2" */
    char model[128];      /* pinned model identity, "" = none */
    int has_text_index;   /* 1: text and hybrid search available */
    int hnsw_m;           /* 0 = no graphs */
    int writable;         /* 1: opened with VS_DB_WRITE */
};
/* Errors: VS_E_USAGE (NULL). */
VS_API int vs_db_info(vs_db *db, struct vs_db_info *info);

/* One record to upsert. vector has dim floats (required, finite).
 * metadata_json, when not NULL, is a JSON object as text. text is the text
 * indexed for text search (and returned with hits). doc_id, when not NULL,
 * names the document the record (a chunk) belongs to. */
struct vs_record {
    const char *id;            /* required, non-empty */
    const float *vector;
    size_t dim;
    const char *text;          /* may be NULL */
    const char *metadata_json; /* may be NULL */
    const char *doc_id;        /* may be NULL */
};

/* Add or replace (same id) one record; it becomes visible to searches at
 * the next vs_db_commit. Needs VS_DB_WRITE.
 * Errors: VS_E_USAGE (NULL, read-only handle), VS_E_FIELD (empty id;
 * field "id"), VS_E_JSON (metadata_json does not parse or is not an
 * object; field "metadata", col = column), VS_E_DIM (dim differs from the
 * store's), VS_E_NONFINITE (field "vector"), VS_E_DATA (a zero vector in a
 * normalised store), VS_E_NOMEM. A rejected record changes nothing. */
VS_API int vs_db_upsert(vs_db *db, const struct vs_record *rec,
                        struct vs_error *err);

/* Delete by id; an id that is not there is not an error (*found = 0;
 * found may be NULL). Needs VS_DB_WRITE; visible after vs_db_commit. */
VS_API int vs_db_delete(vs_db *db, const char *id, int *found,
                        struct vs_error *err);

/* Delete every live record that satisfies filter (the language of
 * docs/filter.md: `lang = "en" AND year >= 2020`). *n (may be NULL) gets
 * the number deleted. Needs VS_DB_WRITE; visible after vs_db_commit.
 * Errors: VS_E_FILTER (err->col the column), VS_E_USAGE, store errors. */
VS_API int vs_db_delete_where(vs_db *db, const char *filter, uint64_t *n,
                              struct vs_error *err);

/* Make pending changes durable as a new generation (nothing to do: VS_OK)
 * and let this handle's searches see it. A crash at any instant leaves the
 * old generation or the new one. Errors: VS_E_IO, VS_E_NOSPC (the store
 * stays at the previous generation),
 * VS_E_USAGE (read-only handle). */
VS_API int vs_db_commit(vs_db *db, struct vs_error *err);

/* ---- Search -------------------------------------------------------------- */

/* Search modes */
#define VS_SEARCH_AUTO 0   /* hybrid when the store has a text index and the
                              query has text, else vector */
#define VS_SEARCH_VECTOR 1 /* nearest vectors (query vector, or its text
                              embedded with the store's model) */
#define VS_SEARCH_TEXT 2   /* BM25 over the text index */
#define VS_SEARCH_HYBRID 3 /* both, fused */

/* Fusion methods for hybrid search */
#define VS_FUSION_RRF 0      /* reciprocal rank fusion, rrf_k */
#define VS_FUSION_WEIGHTED 1 /* alpha * minmax(vector) + (1-alpha) * minmax(text) */
#define VS_FUSION_DBSF 2     /* distribution-based score fusion, alpha */

/* How to search. Initialise with vs_search_opts_init. */
struct vs_search_opts {
    size_t size;        /* set by vs_search_opts_init; do not touch */
    int mode;           /* VS_SEARCH_*; default AUTO */
    size_t k;           /* hits per query, 1..100000; default 10 */
    const char *filter; /* ANDed with each query's own; NULL = none */
    size_t ef;          /* HNSW beam width; 0 = 64 */
    int exact;          /* 1: exact scan of every segment (ignore graphs) */
    int fusion;         /* VS_FUSION_*; default WEIGHTED, as vs-query */
    double rrf_k;       /* default 60 */
    double alpha;       /* weight of the vector side, 0..1; default 0.5 */
    size_t depth;       /* candidates per side; 0 = max(k, 100) */
    double mmr;         /* MMR lambda 0..1; < 0 (default) = no MMR */
    int threads;        /* 0 = OpenMP default */
    int with_text;      /* 1 (default): hits carry the record's text */
    int with_metadata;  /* 1 (default): hits carry metadata_json */
    int with_doc_id;    /* 1 (default): hits carry doc_id */
    int ids_only;       /* 1: hits carry qid, id, rank, score, distance and
                           score_vector only: no stored record is read for
                           them (text, metadata_json and doc_id are NULL,
                           whatever with_text, with_metadata and
                           with_doc_id say), and score and distance
                           are the engine's float32 values (else their
                           shortest decimals: equal as float32); the
                           fastest search, for bindings' array results.
                           Default 0 */
};
VS_API void vs_search_opts_init(struct vs_search_opts *o, size_t size);

/* One query: a vector, a text, or both (hybrid). qid labels its results
 * (NULL = "1", "2", ... by position in the batch). */
struct vs_search_query {
    const char *qid;
    const float *vector; /* dim floats, or NULL */
    size_t dim;
    const char *text;    /* NULL = none */
    const char *filter;  /* this query's filter, ANDed; NULL = none */
    size_t k;            /* 0 = opts->k */
};

typedef struct vs_results vs_results;

/* One hit: plain data owned by the vs_results object. */
struct vs_hit {
    const char *qid;           /* the query's qid */
    const char *id;            /* the record's id */
    size_t rank;               /* 1-based */
    double score;              /* higher is better: the metric's score,
                                  BM25 in text mode, fused in hybrid */
    double distance;           /* cosine: 1 - cos; l2: squared distance */
    int has_distance;          /* 0 for dot and text-only hits */
    const char *text;          /* NULL when absent or not asked for */
    const char *metadata_json; /* JSON object text, NULL when absent */
    const char *doc_id;        /* NULL when absent or not asked for */
    double score_vector;       /* hybrid: the side's score ... */
    double score_text;
    int has_score_vector;      /* ... 1 when that side returned the hit */
    int has_score_text;
    size_t retrieval_rank;     /* after vs_reranker_apply: the rank before
                                  reranking; else 0 */
};

/* Search one query. On VS_OK *out is a new results object (one query,
 * possibly zero hits) the caller frees with vs_results_free.
 * Errors: VS_E_USAGE (NULL, bad opts: k, mode, fusion, alpha),
 * VS_E_FILTER (err->col), VS_E_DIM (vector length), VS_E_NONFINITE,
 * VS_E_FIELD (no vector and no usable text; a text query against a store
 * without a local model), VS_E_UNSUPPORTED (text/hybrid without a text
 * index), VS_E_CORRUPT and other store errors, VS_E_NOMEM. */
VS_API int vs_db_search(vs_db *db, const struct vs_search_query *q,
                        const struct vs_search_opts *opts, vs_results **out,
                        struct vs_error *err);

/* Search n queries at once (searched in parallel blocks). Results keep the
 * query order. A bad query fails the call (err->line is its 1-based
 * position in qs, err->field the field). */
VS_API int vs_db_search_batch(vs_db *db, const struct vs_search_query *qs,
                              size_t n, const struct vs_search_opts *opts,
                              vs_results **out, struct vs_error *err);

/* Number of queries of a results object (0 for NULL). */
VS_API size_t vs_results_queries(const vs_results *r);
/* Number of hits of query q (0 when q is out of range or r is NULL). */
VS_API size_t vs_results_count(const vs_results *r, size_t q);
/* Hit i (0-based, rank i + 1) of query q, or NULL when out of range.
 * Owned by r. */
VS_API const struct vs_hit *vs_results_hit(const vs_results *r, size_t q,
                                           size_t i);
/* The qid of query q, or NULL when out of range. Owned by r. */
VS_API const char *vs_results_qid(const vs_results *r, size_t q);
/* Write r as a TREC run ("qid Q0 id rank score tag") to path, for
 * vs_report_evaluate. Errors: VS_E_USAGE, VS_E_IO, VS_E_NOSPC. */
VS_API int vs_results_write_trec(const vs_results *r, const char *path,
                                 const char *tag, struct vs_error *err);
/* Free r; NULL is accepted. */
VS_API void vs_results_free(vs_results *r);

/* ---- Embedding ----------------------------------------------------------- */

typedef struct vs_encoder vs_encoder;

/* Roles: some models embed queries and documents differently (e5 and bge
 * prefixes, Cohere's input_type). */
#define VS_ROLE_DOCUMENT 0
#define VS_ROLE_QUERY 1

struct vs_encoder_opts {
    size_t size;             /* set by vs_encoder_opts_init */
    int role;                /* VS_ROLE_*; default DOCUMENT */
    const char *base_url;    /* API models: NULL = provider default */
    const char *api_key_env; /* API models: env variable with the key */
    int use_cache;           /* BERT/USE/API: 1 (default) = embedding cache */
    const char *cache_dir;   /* NULL = $VS_CACHE_DIR or ~/.cache/vecstore */
    long timeout_ms;         /* API models: per request; 0 = 60000 */
    int max_retries;         /* API models: -1 = default (4) */
};
VS_API void vs_encoder_opts_init(struct vs_encoder_opts *o, size_t size);

/* Open an embedder by the names the vs-embed program takes:
 *   "hash", "hash-v1:384"        the built-in hash embedder (dim 0 = 384)
 *   a folder path                a BERT model folder (config.json,
 *                                model.safetensors, tokenizer) or a
 *                                USE-lite folder
 *   "openai:MODEL[:DIM]", "cohere:...", "ollama:...", "azure:..."
 *                                cloud APIs (keys from the environment)
 * A store's pinned model identity (vs_db_info.model) is accepted as is.
 * opts may be NULL. On VS_OK the caller owns *out (vs_encoder_free).
 * Errors: VS_E_USAGE, VS_E_UNSUPPORTED (unknown model), VS_E_CONFIG
 * (missing API key or tokenizer), VS_E_CORRUPT/VS_E_IO (model files),
 * VS_E_NOMEM. */
VS_API int vs_encoder_open(const char *model, size_t dim,
                           const struct vs_encoder_opts *opts,
                           vs_encoder **out, struct vs_error *err);
VS_API void vs_encoder_free(vs_encoder *e);
/* Dimension of the vectors (0 for NULL). */
VS_API size_t vs_encoder_dim(const vs_encoder *e);
/* Identity string to pin in a store ("hash-v1:384"); owned by e. */
VS_API const char *vs_encoder_identity(const vs_encoder *e);

/* Embed n NUL-terminated UTF-8 texts with role (VS_ROLE_*) into out
 * (n * dim floats, row i = unit-length vector of texts[i]). statuses (may
 * be NULL) gets one status per text (VS_OK, VS_E_FIELD for a text without
 * letters or digits, VS_E_DATA for invalid UTF-8; that row is zeros).
 * Returns VS_OK when all succeeded, else the first failure's status with
 * err->line its 1-based index. Errors also: VS_E_USAGE, VS_E_NETWORK,
 * VS_E_REMOTE (API models), VS_E_NOMEM. */
VS_API int vs_encoder_embed(vs_encoder *e, int role, const char *const *texts,
                            size_t n, float *out, int *statuses,
                            struct vs_error *err);

/* ---- Reranking ----------------------------------------------------------- */

typedef struct vs_reranker vs_reranker;

struct vs_reranker_opts {
    size_t size;          /* set by vs_reranker_opts_init */
    const char *method;   /* "bm25" (default), "cross-encoder",
                             "late-interaction", "api" */
    const char *model;    /* cross-encoder/late-interaction: model folder
                             (required); api: the request's "model" */
    const char *url;      /* api: endpoint (required) */
    const char *api_key;  /* api: bearer key, NULL = none */
    const char *analyzer; /* bm25: analyzer spec, NULL = default */
    int sigmoid;          /* cross-encoder: score = sigmoid(logit) */
    int threads;          /* 0 = OpenMP default */
};
VS_API void vs_reranker_opts_init(struct vs_reranker_opts *o, size_t size);

/* Open a reranker. On VS_OK the caller owns *out (vs_reranker_free).
 * Errors: VS_E_USAGE (unknown method, missing model/url), VS_E_CONFIG,
 * model loading errors, VS_E_NOMEM. */
VS_API int vs_reranker_open(const struct vs_reranker_opts *opts,
                            vs_reranker **out, struct vs_error *err);
VS_API void vs_reranker_free(vs_reranker *r);

/* Score n texts against query: scores[i] (room for n) is the method's
 * score of texts[i] (higher is better). Errors: VS_E_USAGE, model and
 * network errors. */
VS_API int vs_reranker_score(vs_reranker *r, const char *query,
                             const char *const *texts, size_t n,
                             double *scores, struct vs_error *err);

/* Rerank every query of res in place: each hit's text (search with
 * with_text) is scored against queries[q] (the text of query q, n =
 * vs_results_queries(res)), hits are re-sorted by that score (ties: the
 * earlier rank first), score and rank set anew, retrieval_rank keeps the
 * old rank; k > 0 keeps the first k hits. Errors: VS_E_USAGE, VS_E_FIELD
 * (a hit without text), scoring errors (res is then unchanged). */
VS_API int vs_reranker_apply(vs_reranker *r, vs_results *res,
                             const char *const *queries, size_t k,
                             struct vs_error *err);

/* ---- Evaluation ----------------------------------------------------------- */

typedef struct vs_report vs_report;

/* Evaluate the run at run_path (TREC run or NDJSON hits) against the
 * judgments at qrels_path (TREC qrels, BEIR TSV or NDJSON) with trec_eval's
 * definitions. measures: comma-separated names ("ndcg@10,map,r@100,mrr",
 * trec_eval names accepted); NULL = the default set of docs/eval.md.
 * On VS_OK the caller owns *out (vs_report_free).
 * Errors: VS_E_USAGE (unknown measure), VS_E_IO, VS_E_DATA/VS_E_JSON/
 * VS_E_FIELD (err->file and line), VS_E_NOMEM. */
VS_API int vs_report_evaluate(const char *qrels_path, const char *run_path,
                              const char *measures, vs_report **out,
                              struct vs_error *err);
VS_API void vs_report_free(vs_report *rep);
/* Number of measures; name of measure m (trec_eval's, "ndcg_cut_10");
 * NULL out of range. */
VS_API size_t vs_report_measures(const vs_report *rep);
VS_API const char *vs_report_measure(const vs_report *rep, size_t m);
/* Mean of measure m over the evaluated queries (NaN out of range). */
VS_API double vs_report_mean(const vs_report *rep, size_t m);
/* Mean of the measure named name (canonical or short form); VS_OK or
 * VS_E_NOTFOUND. */
VS_API int vs_report_get(const vs_report *rep, const char *name,
                         double *value);
/* Number of evaluated queries. */
VS_API size_t vs_report_queries(const vs_report *rep);

/* ---- Chunking ----------------------------------------------------------
 * The splitters of vs-chunk (its man page has the rules): a text or a file
 * becomes chunk records, each a JSON object text with id "<doc_id>#<n>",
 * doc_id, chunk (n from 0), text, start and end (byte offsets into the
 * document's UTF-8 text), source (files), metadata (the document's, plus
 * "headings" for Markdown and "page" for PDFs). */

typedef struct vs_chunks vs_chunks;

struct vs_chunks_opts {
    size_t size;          /* set by vs_chunks_opts_init */
    const char *splitter; /* "fixed", "recursive" (default), "sentence",
                             "markdown" */
    const char *unit;     /* "chars" (code points; default), "words" */
    size_t chunk_size;    /* largest chunk in units, >= 1; default 1000 */
    size_t overlap;       /* < chunk_size; default 0 */
    size_t min_size;      /* merge smaller chunks into a neighbour; < chunk_size;
                             (size_t)-1 (default) = chunk_size / 10, as vs-chunk */
};
VS_API void vs_chunks_opts_init(struct vs_chunks_opts *o, size_t size);

/* Split text (len bytes of UTF-8; markdown 1: headings are parsed, for the
 * "markdown" splitter and metadata "headings") of the document doc_id.
 * opts may be NULL. On VS_OK the caller owns *out (vs_chunks_free).
 * Errors: VS_E_USAGE (NULL doc_id/out, bad opts: err->field names it),
 * VS_E_DATA (text of 4 GiB or more), VS_E_NOMEM. */
VS_API int vs_chunks_split_text(const char *doc_id, const char *text, size_t len,
                                int markdown, const struct vs_chunks_opts *opts,
                                vs_chunks **out, struct vs_error *err);
/* Load the file at path (text, Markdown, HTML; PDF when the library was
 * built with poppler) and split it; doc_id NULL = path. Errors: as
 * vs_chunks_split_text, and VS_E_IO (cannot read; err->file), VS_E_DATA
 * (binary, not UTF-8), VS_E_UNSUPPORTED (PDF without poppler, NDJSON). */
VS_API int vs_chunks_split_file(const char *path, const char *doc_id,
                                const struct vs_chunks_opts *opts, vs_chunks **out,
                                struct vs_error *err);
/* Number of chunks (0 for NULL); chunk i's record as JSON object text
 * (owned by c), or NULL out of range. */
VS_API size_t vs_chunks_count(const vs_chunks *c);
VS_API const char *vs_chunks_record(const vs_chunks *c, size_t i);
/* Free c; NULL is accepted. */
VS_API void vs_chunks_free(vs_chunks *c);

#ifdef __cplusplus
}
#endif

#endif
