/* vs_strpool.h: strings copied into large chunks and freed all at once (a
 * segment's ids read for hits, a search's qids and ids): one allocation a
 * chunk, not one a string, and a string never moves. A zeroed pool is
 * empty and uses VS_STRPOOL_CHUNK-byte chunks. Not thread-safe: a pool
 * shared by threads is used under its owner's lock. */
#ifndef VS_STRPOOL_H
#define VS_STRPOOL_H

#include <stddef.h>

#define VS_STRPOOL_CHUNK ((size_t)16 << 10)

struct vs_strchunk;

struct vs_strpool {
    struct vs_strchunk *head; /* the newest chunk, linked to the older */
    size_t chunk;             /* bytes of text a chunk holds; 0: VS_STRPOOL_CHUNK
                                 (a longer string gets a chunk of its own) */
};

/* A copy of s[0..n) and a NUL in p, or NULL when out of memory. */
char *vs_strpool_dup(struct vs_strpool *p, const char *s, size_t n);
/* Free every string of p; p is empty again (its chunk size kept). */
void vs_strpool_free(struct vs_strpool *p);

#endif
