/* bm25_internal.h: what bm25.c (build, format, open, merge) shares with
 * bm25_search.c (queries, search). Private to the bm25 module. */
#ifndef VS_BM25_INTERNAL_H
#define VS_BM25_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "vs_bm25.h"

#define ABSENT 0xFFFFFFFFu /* document length of a row never added */

struct vs_bm25 {
    const uint8_t *buf;
    size_t len;
    int own;
    char *analyzer;
    uint64_t ndocs, total_len, nrows, nterms, nchunks;
    uint32_t *doclens;
    uint32_t maxdl;      /* the largest document length (0: none) */
    uint8_t *termbytes;  /* all terms, concatenated */
    uint32_t *t_off;     /* nterms + 1 offsets into termbytes */
    uint32_t *t_df, *t_chunk, *t_coff, *t_dlen, *t_plen;
    uint32_t *t_slen; /* skip stream bytes after the positions (version 2;
                         NULL in a version 1 index) */
    uint32_t version;
    const uint8_t *ctab;
    uint8_t **cache; /* decompressed chunks */
    /* skip entries of long posting lists (nterms pointers, made on first
     * use by top-k pruning in bm25_search.c: read from the stored skip
     * stream, or, in a version 1 index, built from the postings; NULL until
     * then) */
    struct vs_bm25_skips **skips;
    pthread_mutex_t lock;
};

/* A term with df >= SKIP_MIN has one skip entry per block of SKIP_EVERY
 * postings: where the block starts in the docs stream, the row before it
 * (the delta base), its last row, and its (tf, document length) front: the
 * postings' pairs that no other posting of the block dominates (a tf as
 * large and a length as small), at most FRONT_MAX of them (a longer front
 * is coarsened: its two smallest-tf pairs become one that dominates both).
 * BM25 rises with tf and falls with the length for any k1 and b, so the
 * largest score of the front's pairs bounds the block's (block-max bounds).
 * Version 3 stores the fronts; version 2 stored the block's largest tf and
 * smallest length, read as a front of one pair (a looser bound); a version
 * 1 index gets its fronts from its postings on first use (docs/bm25.md). */
#define SKIP_EVERY 128
#define SKIP_MIN 256
#define FRONT_MAX 8
struct vs_bm25_pair {
    uint32_t tf, dl;
};
struct vs_bm25_skip {
    uint32_t off, prev, last;
    uint32_t pf, np; /* the front: np pairs from pairs[pf] */
};
struct vs_bm25_skips {
    uint32_t n;
    struct vs_bm25_pair *pairs; /* n * FRONT_MAX room, after e[] */
    struct vs_bm25_skip e[];
};

/* Add (tf, dl) to the front f of *n pairs (tf and dl both strictly rising;
 * room for one more): unless a pair dominates it, it goes in and the pairs
 * it dominates go out. */
static inline void vs_bm25_front_add(struct vs_bm25_pair *f, uint32_t *n,
                                     uint32_t tf, uint32_t dl)
{
    uint32_t i = 0;
    while (i < *n && f[i].tf < tf)
        i++;
    if (i < *n && f[i].dl <= dl)
        return; /* f[i] dominates it */
    /* the pairs it dominates: the smaller tfs of a length >= dl (a suffix
     * of those before i) and f[i] itself when of the same tf */
    uint32_t e = i < *n && f[i].tf == tf ? i + 1 : i, s = i;
    while (s > 0 && f[s - 1].dl >= dl)
        s--;
    memmove(&f[s + 1], &f[e], (*n - e) * sizeof *f);
    f[s] = (struct vs_bm25_pair){tf, dl};
    *n = *n - (e - s) + 1;
}

/* At most FRONT_MAX pairs: the two of smallest tf become one pair (the
 * larger tf, the smaller length) that dominates both, until few enough. */
static inline void vs_bm25_front_cap(struct vs_bm25_pair *f, uint32_t *n)
{
    while (*n > FRONT_MAX) {
        f[1].dl = f[0].dl;
        for (uint32_t j = 1; j < *n; j++)
            f[j - 1] = f[j];
        (*n)--;
    }
}

/* 1 when a pair of the front dominates (tf, dl): the first pair of a tf
 * as large has a length as small. */
static inline int vs_bm25_front_covers(const struct vs_bm25_pair *f, uint32_t n,
                                       uint32_t tf, uint32_t dl)
{
    for (uint32_t i = 0; i < n; i++)
        if (f[i].tf >= tf)
            return f[i].dl <= dl;
    return 0;
}

/* A decoded posting list with positions (for phrases and merges). */
struct plist {
    uint32_t n;
    uint32_t *rows, *tfs, *poff; /* poff: n + 1 offsets into pos */
    uint32_t *pos;
};

/* Read a varint from [*p, end); -1 on overrun or overlong value. */
static inline int rd_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    int shift = 0;
    const uint8_t *q = *p;
    while (q < end) {
        uint8_t c = *q++;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *p = q;
            *v = x;
            return 0;
        }
        shift += 7;
        if (shift > 63)
            return -1;
    }
    return -1;
}

/* Index of the term in the dictionary, or -1. */
long vs_bm25_lookup(const struct vs_bm25 *ix, const char *s, size_t len);
/* The postings of term t: docs stream at *docs (t_dlen bytes), positions
 * right after it (t_plen bytes); the chunk is decompressed on first use.
 * VS_E_CORRUPT, VS_E_NOMEM. */
int vs_bm25_postings(struct vs_bm25 *ix, long t, const uint8_t **docs,
                     struct vs_diag *d);
/* The skip entries of term t (*out NULL for a list shorter than SKIP_MIN),
 * docs stream at p0; read or built on first use and kept while the index
 * is open (thread-safe). VS_E_CORRUPT, VS_E_NOMEM. */
int vs_bm25_skips_get(struct vs_bm25 *ix, long t, const uint8_t *p0,
                      const struct vs_bm25_skips **out, struct vs_diag *d);
/* Decode term t's postings with positions into l (release with
 * vs_bm25_plist_release). VS_E_CORRUPT, VS_E_NOMEM. */
int vs_bm25_plist_load(struct vs_bm25 *ix, long t, struct plist *l,
                       struct vs_diag *d);
void vs_bm25_plist_release(struct plist *l);
/* vs_bm25_search with top-k pruning where it pays (prune 1, what
 * vs_bm25_search does: queries of optional terms whose posting lists in a
 * view hold 65,536 postings or more), always (2: any query of two optional
 * terms or more) or never (0: every posting of every clause scored); the
 * hits are the same (unit tests and bench/bm25_bench --exhaustive compare
 * them). */
int vs_bm25_search_opt(const struct vs_bm25_view *views, size_t nviews,
                       const struct vs_bm25_query *q,
                       const struct vs_bm25_params *p, size_t k,
                       struct vs_bm25_scratch *scratch, struct vs_bm25_hit *hits,
                       size_t *nhits, struct vs_bm25_search_stats *st, int prune,
                       struct vs_diag *d);
/* Set d and return VS_E_CORRUPT ("bm25 index: what"). */
int vs_bm25_corrupt(struct vs_diag *d, const char *what);

/* bm25_global.c: the statistics a search over views uses: N and the total
 * length (*N 0: nothing to search), and a term's document frequency; the
 * thread's vs_bm25_global when set (recording or replacing), else the
 * views' own. df: VS_OK or VS_E_USAGE (a replacing set lacks the term). */
void vs_bm25_stats_docs(const struct vs_bm25_view *views, size_t n, double *N,
                        double *total);
int vs_bm25_stats_df(const struct vs_bm25_view *views, size_t n, const char *term,
                     double *df, struct vs_diag *d);

#endif
