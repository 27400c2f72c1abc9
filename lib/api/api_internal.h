/* api_internal.h: what the files of lib/api/ share: the handles' structs
 * and the conversion of internal diagnostics into struct vs_error. */
#ifndef VS_API_INTERNAL_H
#define VS_API_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "vs_status.h" /* first: vecstore.h then skips its copy of the list */
#include "vs_store.h"
#include "vecstore.h"

struct vs_db {
    char *path;
    struct vs_store *store;   /* the generation searches see; swapped on commit */
    struct vs_writer *writer; /* NULL when read-only */
    pthread_rwlock_t rw;      /* read: a search; write: swapping store */
    pthread_mutex_t wmu;      /* serialises the writer's calls */
    /* prepared searches of the current generation, reused across calls
     * (a search object keeps the graph and docs blocks it decoded); an
     * entry is taken by one search at a time. Emptied when a commit swaps
     * the generation. */
    pthread_mutex_t qmu;
    struct vs_api_prepared *prep;
    size_t nprep;
    uint64_t prep_tick; /* counts takes: the entry used longest ago goes first */
};

/* A prepared search kept by a handle (api_search.c): at most
 * VS_API_PREPARED_MAX, the idle one used longest ago replaced first. */
#define VS_API_PREPARED_MAX 8
struct vs_api_prepared {
    char *key; /* the options that made it */
    struct vs_qtext *t;
    int busy;
    uint64_t used; /* db->prep_tick when last taken or kept */
};

/* Free every prepared search of db (none may be in use). */
void vs_api_prepared_clear(vs_db *db);

/* Fill err (may be NULL) from status and d (may be NULL); returns status. */
int vs_api_fail(struct vs_error *err, int status, const struct vs_diag *d);
/* VS_E_USAGE with field (may be NULL) and detail. */
int vs_api_usage(struct vs_error *err, const char *field, const char *detail);
/* Copy a caller's options struct (its first member is its size) over dst,
 * which holds the defaults: only the fields both sizes have. src NULL
 * keeps the defaults. VS_E_USAGE when src was not initialised. */
int vs_api_take_opts(void *dst, size_t dsize, const void *src,
                     struct vs_error *err, const char *what);
/* Add db to the list of open handles (VS_E_NOMEM); take it out again: 1
 * when it was there. */
int vs_api_db_register(vs_db *db);
int vs_api_db_unregister(vs_db *db);
/* VS_OK when db is an open handle, else VS_E_USAGE. */
int vs_api_db_check(const vs_db *db, struct vs_error *err);

/* The hits of query q of r, and its count (api_search.c; reranking
 * rewrites them in place). */
struct vs_hit *vs_api_results_hits(vs_results *r, size_t q, size_t **n);
/* Free the strings of one hit of r (its id and qid may be r's arena's). */
void vs_api_hit_clear(const vs_results *r, struct vs_hit *h);

#endif
