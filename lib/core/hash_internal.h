/* hash_internal.h: a small inline hash for short strings, shared by the
 * in-memory hash tables of the analyzer and the BM25 builder. */
#ifndef VS_HASH_INTERNAL_H
#define VS_HASH_INTERNAL_H

#include <stdint.h>
#include <string.h>

/* A small inline hash for short strings (8 bytes at a time, then a final
 * mix); the hash tables here are in memory only, it is never persisted. */
static inline uint64_t hash_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = (uint64_t)n * 0x9E3779B97F4A7C15ull;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++)
        w |= (uint64_t)s[i] << (8 * i);
    h = (h ^ w) * 0x94d049bb133111ebull;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 32);
}

#endif
