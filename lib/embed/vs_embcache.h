/* vs_embcache.h: an on-disk cache of embeddings, keyed by the model's
 * identity (a string the caller makes: provider, model, dimension, endpoint,
 * input type) and the exact text.
 *
 * Layout: DIR/embeddings/XX/<32 hex digits>.zst, one file per entry, named
 * by XXH3-128 of (key, NUL, text); the file is zstd-compressed and holds a
 * magic, the dimension, XXH64 of the key and of the text and the text's
 * length (checked on every read, so a collision or a damaged file is a miss,
 * never a wrong vector), then the float32 vector (little-endian).
 * Writes go to a temporary file in the same directory and are renamed into
 * place, so concurrent processes never see a partial entry. A hit refreshes
 * the file's time; vs_embcache_close() evicts the least recently used
 * entries while the cache is over its size cap.
 *
 * get and put may be called from several threads at once.
 */
#ifndef VS_EMBCACHE_H
#define VS_EMBCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "vs_status.h"

#define VS_EMBCACHE_MAX_DEFAULT (1024LL * 1024 * 1024) /* 1 GiB */

struct vs_embcache;

/* The cache directory: $VS_CACHE_DIR, else $HOME/.cache/vecstore. */
char *vs_embcache_default_dir(char *buf, size_t n);

/* Open (creating directories) the cache under dir (NULL = default) with a
 * size cap in bytes (0 = VS_EMBCACHE_MAX_DEFAULT). Errors: VS_E_IO (cannot
 * create the directory; d names it), VS_E_NOMEM. */
int vs_embcache_open(const char *dir, long long max_bytes,
                     struct vs_embcache **out, struct vs_diag *d);
/* Evict over the cap (only when this process wrote entries), then free. */
void vs_embcache_close(struct vs_embcache *c);

/* Look up (key, text): 1 and vec filled (dim floats) on a hit, 0 on a miss. */
int vs_embcache_get(struct vs_embcache *c, const char *key, const char *text,
                    size_t len, float *vec, size_t dim);
/* Store a vector. Returns VS_OK, or VS_E_IO / VS_E_NOSPC / VS_E_NOMEM (the
 * cache is an optimisation: callers may ignore a failed put). */
int vs_embcache_put(struct vs_embcache *c, const char *key, const char *text,
                    size_t len, const float *vec, size_t dim);

/* Hits, misses, entries written and entries evicted so far. */
void vs_embcache_counts(struct vs_embcache *c, long long *hits,
                        long long *misses, long long *puts,
                        long long *evicted);

#endif
