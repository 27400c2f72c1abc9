/* test_segment.c: segment files as this version writes them: vectors in
 * raw blocks of VS_VEC_BLOCK_ROWS rows used in place from the mapped file,
 * ids split back exactly whatever their lengths, and one row's id read
 * from its doc (vs_segment_id) without the ids section (the section whole
 * once many were read, and a damaged one not in the way); vectors and docs
 * blocks decoded on first use by several threads at once. */
#include "test.h"

#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_internal.h"
#include "vs_jsonfmt.h"

static char dir[] = "/tmp/test_segment.XXXXXX";
enum { DIM = 3 };

/* ids of every length from 1 to 40 (so every alignment of an id against
 * 8-byte words), one per row */
static void id_of(uint64_t r, char *id)
{
    size_t n = 1 + r % 40;
    for (size_t i = 0; i < n; i++)
        id[i] = (char)('a' + (r + i) % 26);
    snprintf(id + n, 24, "%llu", (unsigned long long)r);
}

static int write_seg(const char *name, uint64_t rows)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct vs_segw *w;
    int st = vs_segw_new(p, DIM, &w, NULL);
    if (st != VS_OK)
        return st;
    for (uint64_t r = 0; r < rows && st == VS_OK; r++) {
        char id[80];
        id_of(r, id);
        float v[DIM] = {(float)r, (float)r / 2, -(float)r};
        st = vs_segw_add(w, id, v, "{}", 2, NULL);
    }
    if (st == VS_OK)
        st = vs_segw_finish(w, NULL, NULL);
    vs_segw_free(w);
    return st;
}

static void test_ids_split(void)
{
    static const uint64_t sizes[] = {1, 2, 7, 8, 9, 1000};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        char name[64];
        snprintf(name, sizeof name, "seg-%08zu.vseg", k + 1);
        CHECK_EQ_INT(write_seg(name, sizes[k]), VS_OK);
        struct vs_segment *g;
        CHECK_EQ_INT(vs_seg_open(dir, name, &g, NULL), VS_OK);
        if (!g)
            continue;
        const char *const *ids = NULL;
        CHECK_EQ_INT(vs_segment_ids(g, &ids, NULL), VS_OK);
        int same = ids != NULL;
        for (uint64_t r = 0; same && r < sizes[k]; r++) {
            char id[80];
            id_of(r, id);
            same = strcmp(ids[r], id) == 0;
        }
        CHECK(same);
        vs_seg_close(g);
    }
}

/* the vectors: blocks of VS_VEC_BLOCK_ROWS raw rows; an exact load points
 * into the mapped file (no copy) after checking every block */
static void test_vectors_in_place(void)
{
    CHECK_EQ_INT(write_seg("seg-00000100.vseg", 1000), VS_OK);
    struct vs_segment *g;
    CHECK_EQ_INT(vs_seg_open(dir, "seg-00000100.vseg", &g, NULL), VS_OK);
    if (!g)
        return;
    const float *v = NULL;
    CHECK_EQ_INT(vs_segment_vectors(g, &v, NULL), VS_OK);
    CHECK(g->vmapped == 1 && g->nvblocks == (1000 + VS_VEC_BLOCK_ROWS - 1) / VS_VEC_BLOCK_ROWS);
    CHECK(v && (const unsigned char *)v > g->map && (const unsigned char *)v < g->map + g->map_len);
    int same = v != NULL;
    for (uint64_t r = 0; same && r < 1000; r++)
        same = v[r * DIM] == (float)r && v[r * DIM + 2] == -(float)r;
    CHECK(same);
    float one[DIM];
    CHECK_EQ_INT(vs_seg_vector_row(g, 999, one, NULL), VS_OK);
    CHECK(one[1] == 999.0f / 2);
    CHECK_EQ_INT(vs_seg_verify(g, NULL), VS_OK);
    vs_seg_close(g);
}


static const struct vs_sect *sect_of(const struct vs_segment *g, uint32_t type)
{
    for (uint32_t i = 0; i < g->nsect; i++)
        if (g->sect[i].type == type)
            return &g->sect[i];
    return NULL;
}

/* row r's id for the doc tests: id_of's, and every 7th with characters
 * JSON escapes (a quote, a backslash, a newline) or may (a slash, UTF-8) */
static void id2_of(uint64_t r, char *id)
{
    id_of(r, id);
    if (r % 7 == 3)
        strcat(id, "\"q/\\\n\xc3\xa9");
}

/* rows docs {"id": id2_of(r), "text": text_bytes of 'x'} as jansson writes
 * them (long texts: docs blocks with a dictionary), vectors of dim values
 * {r, r / 2, -r, r + 3, ...} kept as storage (enum vs_vector_storage) */
static int write_docs_seg_as(const char *name, uint64_t rows, size_t text_bytes,
                             uint32_t dim, uint32_t storage)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct vs_segw *w;
    float *v = malloc(dim * sizeof *v);
    int st = v ? vs_segw_new(p, dim, &w, NULL) : VS_E_NOMEM;
    if (st != VS_OK) {
        free(v);
        return st;
    }
    vs_segw_storage(w, storage);
    char *text = malloc(text_bytes + 1);
    if (!text) {
        free(v);
        vs_segw_free(w);
        return VS_E_NOMEM;
    }
    memset(text, 'x', text_bytes);
    text[text_bytes] = '\0';
    for (uint64_t r = 0; r < rows && st == VS_OK; r++) {
        char id[96];
        id2_of(r, id);
        /* random letters: 4 KiB blocks with a dictionary cost about what
         * the 256-doc blocks do, so the writer keeps them */
        uint64_t x = r * 2654435761u + 1;
        for (size_t i = 0; i < text_bytes; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            text[i] = (char)('a' + (x >> 33) % 26);
        }
        json_t *doc = json_pack("{s:s, s:s}", "id", id, "text", text);
        char *dt = doc ? json_dumps(doc, VS_JSON_DUMP_FLAGS) : NULL;
        for (uint32_t i = 0; i < dim; i++)
            v[i] = (i % 3 == 0 ? (float)r : i % 3 == 1 ? (float)r / 2 : -(float)r) + (float)i;
        st = dt ? vs_segw_add(w, id, v, dt, strlen(dt), NULL) : VS_E_NOMEM;
        free(dt);
        json_decref(doc);
    }
    free(text);
    free(v);
    if (st == VS_OK)
        st = vs_segw_finish(w, NULL, NULL);
    vs_segw_free(w);
    return st;
}

static int write_docs_seg(const char *name, uint64_t rows, size_t text_bytes)
{
    return write_docs_seg_as(name, rows, text_bytes, DIM, VS_VSTORE_FLOAT32);
}

/* every row's id from vs_segment_id equals the one written, the same
 * pointer when asked again; checked rows: the first and last of each docs
 * block first, then all */
static int ids_from_docs_match(struct vs_segment *g, uint64_t rows)
{
    int ok = 1;
    for (int pass = 0; pass < 3 && ok; pass++)
        for (uint64_t r = 0; r < rows && ok; r++) {
            uint64_t b = g->docidx ? 0 : UINT64_MAX;
            int edge = r == 0 || r == rows - 1;
            for (; g->docidx && b < g->nblocks && !edge; b++) {
                const unsigned char *e = g->docidx + b * VS_DOCIDX_ENTRY;
                uint64_t first = vs_get64(e + 32), n = vs_get64(e + 40);
                edge = r == first || r == first + n - 1;
            }
            if (pass == 0 && !edge)
                continue;
            char want[96];
            id2_of(r, want);
            const char *a = NULL, *b2 = NULL;
            ok = vs_segment_id(g, r, &a, NULL) == VS_OK && a && strcmp(a, want) == 0 &&
                 vs_segment_id(g, r, &b2, NULL) == VS_OK && a == b2;
            if (!ok)
                printf("# row %llu: '%s', want '%s'\n", (unsigned long long)r, a ? a : "(null)",
                       want);
        }
    return ok;
}

static void test_id_on_demand(void)
{
    /* 1000 short docs: blocks of VS_DOCS_PER_BLOCK docs, no dictionary;
     * 1000 long ones: 4 KiB blocks with one */
    static const size_t texts[] = {8, 300};
    for (size_t k = 0; k < 2; k++) {
        char name[64];
        snprintf(name, sizeof name, "seg-%08zu.vseg", 200 + k);
        CHECK_EQ_INT(write_docs_seg(name, 1000, texts[k]), VS_OK);
        for (int cache = 0; cache < 2; cache++) {
            struct vs_segment *g;
            CHECK_EQ_INT(vs_seg_open(dir, name, &g, NULL), VS_OK);
            if (!g)
                continue;
            if (cache)
                CHECK_EQ_INT(vs_segment_doc_cache(g, VS_DOC_CACHE_BUDGET, NULL), VS_OK);
            CHECK_EQ_INT((long long)g->idwhole_after, 1000 / VS_IDS_WHOLE_DIV);
            g->idwhole_after = UINT64_MAX; /* every id from its doc (see test_id_whole) */
            const char *id = NULL;
            CHECK_EQ_INT(vs_segment_id(g, 999, &id, NULL), VS_OK); /* loads docidx */
            CHECK(g->nblocks >= 4);
            CHECK(k == 0 ? sect_of(g, VS_SECT_DOCDICT) == NULL
                         : sect_of(g, VS_SECT_DOCDICT) != NULL);
            CHECK(ids_from_docs_match(g, 1000));
            CHECK(g->ids == NULL); /* the ids section was not read */
            /* after the whole list is loaded, ids come from it */
            const char *const *all = NULL;
            CHECK_EQ_INT(vs_segment_ids(g, &all, NULL), VS_OK);
            CHECK_EQ_INT(vs_segment_id(g, 500, &id, NULL), VS_OK);
            CHECK(all && id == all[500]);
            CHECK_EQ_INT(vs_segment_id(g, 1000, &id, NULL), VS_E_INTERNAL);
            vs_seg_close(g);
        }
    }
    /* docs without an id ("{}"): the ids section, whole */
    CHECK_EQ_INT(write_seg("seg-00000210.vseg", 300), VS_OK);
    struct vs_segment *g;
    CHECK_EQ_INT(vs_seg_open(dir, "seg-00000210.vseg", &g, NULL), VS_OK);
    if (g) {
        const char *id = NULL;
        char want[80];
        id_of(299, want);
        CHECK_EQ_INT(vs_segment_id(g, 299, &id, NULL), VS_OK);
        CHECK(id && strcmp(id, want) == 0);
        CHECK(g->ids != NULL);
        vs_seg_close(g);
    }
}

/* Flip one byte in the middle of section type of the file name in dir. */
static void damage_sect(const char *name, uint32_t type)
{
    struct vs_segment *g;
    CHECK_EQ_INT(vs_seg_open(dir, name, &g, NULL), VS_OK);
    if (!g)
        return;
    const struct vs_sect *s = sect_of(g, type);
    CHECK(s != NULL);
    uint64_t at = s ? s->off + s->len / 2 : 0;
    char path[sizeof g->path];
    snprintf(path, sizeof path, "%s", g->path);
    vs_seg_close(g);
    CHECK_EQ_INT(vs_test_flip_byte(path, at, 0x55), 0);
}

/* vs_segment_id reads ids from the docs until more than rows /
 * VS_IDS_WHOLE_DIV were read that way, then loads the ids section whole;
 * a damaged ids section leaves it reading the docs (no error), with and
 * without the docs cache */
static void test_id_whole(void)
{
    enum { ROWS = 1000, AFTER = ROWS / VS_IDS_WHOLE_DIV };
    CHECK_EQ_INT(write_docs_seg("seg-00000240.vseg", ROWS, 8), VS_OK);
    CHECK_EQ_INT(write_docs_seg("seg-00000241.vseg", ROWS, 8), VS_OK);
    damage_sect("seg-00000241.vseg", VS_SECT_IDS);
    for (int k = 0; k < 4; k++) {
        int damaged = k >= 2, cache = k % 2;
        struct vs_segment *g;
        CHECK_EQ_INT(vs_seg_open(dir, damaged ? "seg-00000241.vseg" : "seg-00000240.vseg", &g,
                                 NULL), VS_OK);
        if (!g)
            continue;
        if (cache)
            CHECK_EQ_INT(vs_segment_doc_cache(g, VS_DOC_CACHE_BUDGET, NULL), VS_OK);
        const char *const *all = NULL;
        if (damaged)
            CHECK_EQ_INT(vs_segment_ids(g, &all, NULL), VS_E_CORRUPT);
        int ok = 1;
        for (uint64_t i = 0; i < ROWS && ok; i++) {
            uint64_t r = i * 7919 % ROWS; /* out of order */
            char want[96];
            id2_of(r, want);
            const char *a = NULL, *b = NULL;
            /* asked twice: the second comes from what the first kept */
            ok = vs_segment_id(g, r, &a, NULL) == VS_OK && a && strcmp(a, want) == 0 &&
                 vs_segment_id(g, r, &b, NULL) == VS_OK && b && strcmp(b, want) == 0;
            if (!ok)
                printf("# row %llu: '%s', want '%s'\n", (unsigned long long)r, a ? a : "(null)",
                       want);
            /* the whole list from the (AFTER + 1)th id read from a doc on */
            if (ok && !damaged && (i < AFTER) != (g->ids == NULL)) {
                printf("# after %llu ids: ids section %sloaded\n", (unsigned long long)i + 1,
                       g->ids ? "" : "not ");
                ok = 0;
            }
        }
        CHECK(ok);
        CHECK(damaged ? g->ids == NULL && g->idwhole_after == UINT64_MAX : g->ids != NULL);
        CHECK_EQ_INT((long long)g->idreads, damaged ? ROWS : AFTER + 1);
        vs_seg_close(g);
    }
}

/* a damaged docs block: its rows' ids are VS_E_CORRUPT naming the file
 * and the block; rows of other blocks still read */
static void test_id_damaged_block(void)
{
    CHECK_EQ_INT(write_docs_seg("seg-00000220.vseg", 1000, 8), VS_OK);
    struct vs_segment *g;
    CHECK_EQ_INT(vs_seg_open(dir, "seg-00000220.vseg", &g, NULL), VS_OK);
    if (!g)
        return;
    const char *id = NULL;
    CHECK_EQ_INT(vs_segment_id(g, 0, &id, NULL), VS_OK);
    CHECK(g->nblocks >= 2);
    const unsigned char *e = g->docidx + 1 * VS_DOCIDX_ENTRY;
    uint64_t at = sect_of(g, VS_SECT_DOCS)->off + vs_get64(e) + vs_get64(e + 8) / 2;
    uint64_t first = vs_get64(e + 32), n = vs_get64(e + 40);
    char path[sizeof g->path];
    snprintf(path, sizeof path, "%s", g->path);
    vs_seg_close(g);
    CHECK_EQ_INT(vs_test_flip_byte(path, at, 0x55), 0);
    CHECK_EQ_INT(vs_seg_open(dir, "seg-00000220.vseg", &g, NULL), VS_OK);
    if (!g)
        return;
    for (uint64_t r = first; r < first + n; r += n - 1) { /* first and last row */
        struct vs_diag d = {0};
        CHECK_EQ_INT(vs_segment_id(g, r, &id, &d), VS_E_CORRUPT);
        CHECK_EQ_STR(d.file, path);
        CHECK(strstr(d.detail, "section 'docs' block 1: checksum mismatch") != NULL);
    }
    char want[96];
    id2_of(first + n, want);
    CHECK_EQ_INT(vs_segment_id(g, first + n, &id, NULL), VS_OK);
    CHECK(id && strcmp(id, want) == 0);
    vs_seg_close(g);
}

/* doc r of g and of ref (no cache) read alike, for every row */
static int docs_match(struct vs_segment *g, struct vs_segment *ref, uint64_t rows)
{
    char *a = NULL, *b = NULL;
    size_t ca = 0, cb = 0, la = 0, lb = 0;
    int same = 1;
    for (uint64_t i = 0; i < rows && same; i++) {
        uint64_t r = i * 7919 % rows; /* out of order: blocks cached at random */
        same = vs_segment_doc_raw(g, r, &a, &ca, &la, NULL) == VS_OK &&
               vs_segment_doc_raw(ref, r, &b, &cb, &lb, NULL) == VS_OK && la == lb &&
               memcmp(a, b, la) == 0;
        if (!same)
            printf("# row %llu differs\n", (unsigned long long)r);
    }
    free(a);
    free(b);
    return same;
}

/* the blocks g's docs cache keeps (*kept), 1 when every one lies in its
 * region and the region's bytes are the cache's */
static int cache_in_region(const struct vs_segment *g, uint64_t *kept)
{
    int inside = g->darena_used == g->dcache_bytes && g->darena_used <= g->darena_cap;
    *kept = 0;
    for (uint64_t b = 0; b < g->nblocks; b++) {
        const char *c = (const char *)g->dcache[b];
        if (!c)
            continue;
        (*kept)++;
        inside &= g->darena && c >= g->darena && c < g->darena + g->darena_used;
    }
    return inside;
}

/* the docs cache carves its blocks out of one region sized for them (at
 * most the budget): docs read through it are the uncached ones; a tight
 * budget keeps fewer blocks, all in the region, and reads the rest
 * uncached; a damaged block takes nothing from the region */
static void test_doc_cache_region(void)
{
    CHECK_EQ_INT(write_docs_seg("seg-00000230.vseg", 1000, 300), VS_OK);
    struct vs_segment *ref = NULL, *g = NULL;
    CHECK_EQ_INT(vs_seg_open(dir, "seg-00000230.vseg", &ref, NULL), VS_OK);
    if (!ref)
        return;
    const size_t budgets[] = {VS_DOC_CACHE_BUDGET, 3 * 4096};
    for (size_t k = 0; k < 2; k++) {
        CHECK_EQ_INT(vs_seg_open(dir, "seg-00000230.vseg", &g, NULL), VS_OK);
        if (!g)
            continue;
        CHECK_EQ_INT(vs_segment_doc_cache(g, budgets[k], NULL), VS_OK);
        CHECK(g->nblocks >= 4 && g->darena == NULL); /* reserved on first use */
        CHECK(g->darena_cap > 0 && g->darena_cap <= budgets[k]);
        CHECK(docs_match(g, ref, 1000));
        uint64_t kept = 0;
        CHECK(cache_in_region(g, &kept));
        CHECK(k == 0 ? kept == g->nblocks : kept > 0 && kept < g->nblocks);
        CHECK(g->dcache_bytes <= budgets[k]);
        vs_seg_close(g);
    }
    /* block 1 damaged (a copy of the file): refused, the others cached */
    const unsigned char *e = ref->docidx + 1 * VS_DOCIDX_ENTRY;
    uint64_t at = sect_of(ref, VS_SECT_DOCS)->off + vs_get64(e) + vs_get64(e + 8) / 2;
    uint64_t first = vs_get64(e + 32), n = vs_get64(e + 40);
    char src[600], dst[600];
    snprintf(src, sizeof src, "%s/seg-00000230.vseg", dir);
    snprintf(dst, sizeof dst, "%s/seg-00000231.vseg", dir);
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    int c, ok = in && out;
    for (long i = 0; ok && (c = getc(in)) != EOF; i++)
        ok = putc((uint64_t)i == at ? c ^ 0x55 : c, out) != EOF;
    if (in)
        fclose(in);
    if (out)
        ok &= fclose(out) == 0;
    CHECK(ok);
    CHECK_EQ_INT(vs_seg_open(dir, "seg-00000231.vseg", &g, NULL), VS_OK);
    if (g) {
        CHECK_EQ_INT(vs_segment_doc_cache(g, VS_DOC_CACHE_BUDGET, NULL), VS_OK);
        char *buf = NULL;
        size_t cap = 0, len = 0;
        CHECK_EQ_INT(vs_segment_doc_raw(g, 0, &buf, &cap, &len, NULL), VS_OK);
        size_t used = g->darena_used;
        CHECK(used > 0);
        CHECK_EQ_INT(vs_segment_doc_raw(g, first, &buf, &cap, &len, NULL), VS_E_CORRUPT);
        CHECK(g->darena_used == used && g->dcache[1] == NULL);
        CHECK_EQ_INT(vs_segment_doc_raw(g, first + n, &buf, &cap, &len, NULL), VS_OK);
        uint64_t kept = 0;
        CHECK(cache_in_region(g, &kept) && kept == 2);
        free(buf);
        vs_seg_close(g);
    }
    vs_seg_close(ref);
}

/* ---- several threads on one lazily opened segment ---- */

/* TDIM: vectors blocks of 16 rows x 256 values take a while to check or
 * decode, so threads meet on them */
enum { NTHREADS = 4, TROWS = 3000, TDIM = 256 };

/* what one row reads serially (a segment without the docs cache): its
 * vector and doc */
struct serial {
    float *vec;  /* TROWS x TDIM */
    char **doc;  /* TROWS */
};

static int serial_read(struct vs_segment *ref, struct serial *s)
{
    s->vec = malloc(TROWS * TDIM * sizeof(float));
    s->doc = calloc(TROWS, sizeof *s->doc);
    if (!s->vec || !s->doc)
        return 0;
    for (uint64_t r = 0; r < TROWS; r++) {
        size_t cap = 0, len = 0;
        if (vs_seg_vector_row(ref, r, s->vec + r * TDIM, NULL) != VS_OK ||
            vs_segment_doc_raw(ref, r, &s->doc[r], &cap, &len, NULL) != VS_OK)
            return 0;
    }
    return 1;
}

static void serial_free(struct serial *s)
{
    for (uint64_t r = 0; s->doc && r < TROWS; r++)
        free(s->doc[r]);
    free(s->doc);
    free(s->vec);
}

/* one thread's walk over every row of a lazily opened segment: the lazy
 * view's block made ready (vs_seg_vector_block) before its row is read */
struct walker {
    pthread_t t;
    pthread_barrier_t *go;
    struct vs_segment *g;
    const struct serial *want;
    const float *base;
    const uint8_t *ready;
    unsigned shift;
    unsigned seed;        /* 0: rows in order (threads meet on each block) */
    uint64_t order[TROWS];
    uint64_t bad_vblock;  /* a damaged vectors block, or UINT64_MAX */
    uint64_t bad_first, bad_n; /* the rows of a damaged docs block, or n 0 */
    /* results */
    uint64_t wrong;       /* reads that differ from the serial ones */
    uint64_t vbad, dbad;  /* the damaged blocks' errors, as expected */
};

static int in_bad_docs(const struct walker *w, uint64_t r)
{
    return w->bad_n && r >= w->bad_first && r - w->bad_first < w->bad_n;
}

static void *walk(void *arg)
{
    struct walker *w = arg;
    uint64_t *order = w->order;
    char *buf = NULL;
    size_t cap = 0, len = 0;
    for (uint64_t r = 0; r < TROWS; r++)
        order[r] = r;
    uint64_t x = w->seed;
    for (uint64_t r = TROWS - 1; w->seed && r > 0; r--) { /* Fisher-Yates */
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t j = (x >> 33) % (r + 1), t = order[r];
        order[r] = order[j];
        order[j] = t;
    }
    for (uint64_t i = 0; i < TROWS; i++) {
        /* every 64 rows the threads meet: those in row order then start
         * on the same blocks at once */
        if (i % 64 == 0)
            pthread_barrier_wait(w->go);
        uint64_t r = order[i], b = r >> w->shift;
        struct vs_diag d = {0};
        int st = __atomic_load_n(&w->ready[b], __ATOMIC_ACQUIRE) ? VS_OK
                                                                   : vs_seg_vector_block(w->g, b, &d);
        char what[96];
        snprintf(what, sizeof what, "section 'vectors' block %llu: checksum mismatch",
                 (unsigned long long)b);
        if (b == w->bad_vblock) {
            if (st == VS_E_CORRUPT && strstr(d.detail, what) && strcmp(d.file, w->g->path) == 0)
                w->vbad++;
            else
                w->wrong++;
        } else if (st != VS_OK || memcmp(w->base + r * TDIM, w->want->vec + r * TDIM,
                                         TDIM * sizeof(float)) != 0) {
            w->wrong++;
        }
        struct vs_diag dd = {0};
        st = vs_segment_doc_raw(w->g, r, &buf, &cap, &len, &dd);
        if (in_bad_docs(w, r)) {
            if (st == VS_E_CORRUPT && strstr(dd.detail, "checksum mismatch") &&
                strstr(dd.detail, "section 'docs' block 1:"))
                w->dbad++;
            else
                w->wrong++;
            continue;
        }
        char want[96];
        id2_of(r, want);
        const char *id = NULL;
        if (st != VS_OK || len != strlen(w->want->doc[r]) || memcmp(buf, w->want->doc[r], len) ||
            vs_segment_id(w->g, r, &id, NULL) != VS_OK || !id || strcmp(id, want) != 0)
            w->wrong++;
    }
    free(buf);
    return NULL;
}

/* NTHREADS walkers over g at once, half in row order, half at random
 * (they meet every 64 rows);
 * 1 when all ran; the walkers' results in w */
static int walk_all(struct vs_segment *g, const struct serial *want, struct walker *w,
                    uint64_t bad_vblock, uint64_t bad_first, uint64_t bad_n)
{
    const float *base = NULL;
    const uint8_t *ready = NULL;
    unsigned shift = 0;
    if (vs_seg_vectors_lazy(g, 1, &base, &ready, &shift, NULL) != VS_OK || !base || !ready)
        return 0;
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, NTHREADS);
    int started = 0;
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (struct walker){.go = &go, .g = g, .want = want, .base = base, .ready = ready,
                               .shift = shift, .seed = i % 2 ? 0 : 1000u + (unsigned)i,
                               .bad_vblock = bad_vblock, .bad_first = bad_first,
                               .bad_n = bad_n};
        started += pthread_create(&w[i].t, NULL, walk, &w[i]) == 0;
    }
    if (started != NTHREADS) { /* cannot meet at the barrier: give up */
        printf("Bail out! pthread_create\n");
        exit(1);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(w[i].t, NULL);
    pthread_barrier_destroy(&go);
    return 1;
}

/* vectors (raw float32: checked in place; f16: decoded into a region) and
 * docs (4 KiB blocks with a dictionary) read by NTHREADS threads at once
 * through the lazy view and the docs cache, each value the serial read's;
 * each docs block kept once (the cache's bytes those of a serial pass),
 * and with a tight budget some blocks are read the uncached way */
static void test_threads_read(void)
{
    static const uint32_t kinds[] = {VS_VSTORE_FLOAT32, VS_VSTORE_F16};
    for (size_t k = 0; k < 2; k++) {
        char name[64];
        snprintf(name, sizeof name, "seg-%08zu.vseg", 300 + k);
        CHECK_EQ_INT(write_docs_seg_as(name, TROWS, 300, TDIM, kinds[k]), VS_OK);
        struct vs_segment *ref = NULL, *one = NULL;
        CHECK_EQ_INT(vs_seg_open(dir, name, &ref, NULL), VS_OK);
        CHECK_EQ_INT(vs_seg_open(dir, name, &one, NULL), VS_OK);
        struct serial want = {0};
        int have = ref && one && serial_read(ref, &want);
        CHECK(have);
        /* the cache's bytes when one thread fills every block */
        if (have)
            CHECK_EQ_INT(vs_segment_doc_cache(one, VS_DOC_CACHE_BUDGET, NULL), VS_OK);
        for (uint64_t r = 0; have && r < TROWS; r++) {
            char *buf = NULL;
            size_t cap = 0, len = 0;
            have = vs_segment_doc_raw(one, r, &buf, &cap, &len, NULL) == VS_OK;
            free(buf);
        }
        const size_t budgets[] = {VS_DOC_CACHE_BUDGET, have ? one->dcache_bytes / 3 : 0};
        for (size_t j = 0; have && j < 2; j++) {
            for (int round = 0; round < 5; round++) {
                struct vs_segment *g = NULL;
                CHECK_EQ_INT(vs_seg_open(dir, name, &g, NULL), VS_OK);
                if (!g)
                    continue;
                CHECK_EQ_INT(vs_segment_doc_cache(g, budgets[j], NULL), VS_OK);
                static struct walker w[NTHREADS];
                CHECK(walk_all(g, &want, w, UINT64_MAX, 0, 0));
                uint64_t wrong = 0;
                for (int i = 0; i < NTHREADS; i++)
                    wrong += w[i].wrong;
                CHECK_EQ_INT(wrong, 0);
                CHECK(g->vmapped == (kinds[k] == VS_VSTORE_FLOAT32));
                int all_ready = 1;
                for (uint64_t b = 0; b < g->nvblocks; b++)
                    all_ready &= g->vready[b] == 1 && g->vstate[b] == VS_BLK_READY;
                CHECK(all_ready);
                uint64_t kept = 0;
                CHECK(cache_in_region(g, &kept));
                if (j == 0)
                    CHECK(kept == g->nblocks && g->dcache_bytes == one->dcache_bytes);
                else
                    CHECK(kept > 0 && kept < g->nblocks && g->dcache_bytes <= budgets[j]);
                vs_seg_close(g);
            }
        }
        serial_free(&want);
        vs_seg_close(one);
        vs_seg_close(ref);
    }
}

/* a copy of file src as dst with the bytes at at[0..n) flipped */
static int copy_flipped(const char *src, const char *dst, const uint64_t *at, size_t n)
{
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    int c, ok = in && out;
    for (uint64_t i = 0; ok && (c = getc(in)) != EOF; i++) {
        for (size_t k = 0; k < n; k++)
            c ^= i == at[k] ? 0x55 : 0;
        ok = putc(c, out) != EOF;
    }
    if (in)
        fclose(in);
    if (out)
        ok &= fclose(out) == 0;
    return ok;
}

/* one damaged vectors block and one damaged docs block: every thread that
 * reads one of their rows gets the error (VS_E_CORRUPT, the file, the
 * block), none hangs, the blocks stay bad; every other row reads right */
static void test_threads_damaged(void)
{
    CHECK_EQ_INT(write_docs_seg_as("seg-00000310.vseg", TROWS, 300, TDIM, VS_VSTORE_FLOAT32), VS_OK);
    struct vs_segment *ref = NULL;
    CHECK_EQ_INT(vs_seg_open(dir, "seg-00000310.vseg", &ref, NULL), VS_OK);
    struct serial want = {0};
    int have = ref && serial_read(ref, &want);
    CHECK(have);
    if (!have) {
        serial_free(&want);
        vs_seg_close(ref);
        return;
    }
    const uint64_t vb = 37; /* vectors block 37, docs block 1 */
    const unsigned char *ve = ref->vecidx + vb * VS_DOCIDX_ENTRY;
    const unsigned char *de = ref->docidx + 1 * VS_DOCIDX_ENTRY;
    uint64_t at[2] = {sect_of(ref, VS_SECT_VECTORS)->off + vs_get64(ve) + 5,
                      sect_of(ref, VS_SECT_DOCS)->off + vs_get64(de) + vs_get64(de + 8) / 2};
    uint64_t first = vs_get64(de + 32), n = vs_get64(de + 40);
    char src[600], dst[600];
    snprintf(src, sizeof src, "%s/seg-00000310.vseg", dir);
    snprintf(dst, sizeof dst, "%s/seg-00000311.vseg", dir);
    CHECK(vb < ref->nvblocks && copy_flipped(src, dst, at, 2));
    const size_t budgets[] = {VS_DOC_CACHE_BUDGET, 0};
    for (size_t j = 0; j < 2; j++) {
        struct vs_segment *g = NULL;
        CHECK_EQ_INT(vs_seg_open(dir, "seg-00000311.vseg", &g, NULL), VS_OK);
        if (!g)
            continue;
        if (budgets[j]) /* else: no cache, every doc read under the lock */
            CHECK_EQ_INT(vs_segment_doc_cache(g, budgets[j], NULL), VS_OK);
        static struct walker w[NTHREADS];
        CHECK(walk_all(g, &want, w, vb, first, n));
        for (int i = 0; i < NTHREADS; i++) {
            CHECK_EQ_INT(w[i].wrong, 0);
            CHECK_EQ_INT(w[i].vbad, (uint64_t)1 << g->vshift); /* each of its rows */
            CHECK_EQ_INT(w[i].dbad, n);
        }
        CHECK(g->vstate[vb] >= VS_BLK_BAD && g->vready[vb] == 0);
        CHECK(!budgets[j] || (g->dstate[1] >= VS_BLK_BAD && g->dcache[1] == NULL));
        vs_seg_close(g);
    }
    serial_free(&want);
    vs_seg_close(ref);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        printf("Bail out! mkdtemp\n");
        return 1;
    }
    RUN(test_ids_split);
    RUN(test_vectors_in_place);
    RUN(test_id_on_demand);
    RUN(test_id_whole);
    RUN(test_id_damaged_block);
    RUN(test_doc_cache_region);
    RUN(test_threads_read);
    RUN(test_threads_damaged);
    vs_test_rmtree(dir);
    return vs_test_done();
}
