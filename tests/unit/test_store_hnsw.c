/* test_store_hnsw.c: the HNSW section of a segment: written by the segment
 * writer when asked for and large enough, opened from the segment file,
 * searched over the segment's own vectors; absent sections and damage. */
#include "test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hnsw_internal.h"
#include "quant_internal.h"
#include "store_hnsw_internal.h"
#include "vs_internal.h"

static char dir[] = "/tmp/test_store_hnsw.XXXXXX";
enum { DIM = 16, ROWS = 3000 };

static uint64_t rs = 11;
static float urand(void)
{
    rs = rs * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(rs >> 11) / 9007199254740992.0) - 0.5f;
}

static int write_seg(const char *name, uint64_t rows, int graph, uint64_t min_rows)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct vs_segw *w;
    int st = vs_segw_new(p, DIM, &w, NULL);
    if (st != VS_OK)
        return st;
    struct vs_hnsw_opts o = {.M = 8, .ef_construction = 64, .seed = 3, .threads = 2, .simd = -1};
    if (graph && (st = vs_segw_hnsw(w, VS_METRIC_L2, &o, min_rows, NULL)) != VS_OK)
        goto done;
    rs = 11;
    for (uint64_t r = 0; r < rows && st == VS_OK; r++) {
        float v[DIM];
        for (int j = 0; j < DIM; j++)
            v[j] = urand();
        char id[32], doc[64];
        snprintf(id, sizeof id, "r%llu", (unsigned long long)r);
        int n = snprintf(doc, sizeof doc, "{\"id\":\"%s\"}", id);
        st = vs_segw_add(w, id, v, doc, (size_t)n, NULL);
    }
    if (st == VS_OK)
        st = vs_segw_finish(w, NULL, NULL);
done:
    vs_segw_free(w);
    return st;
}

static void test_section_written_and_searched(void)
{
    CHECK_EQ_INT(write_seg("seg-00000001.vseg", ROWS, 1, 1000), VS_OK);
    struct vs_segment *g;
    CHECK_EQ_INT(vs_seg_open(dir, "seg-00000001.vseg", &g, NULL), VS_OK);
    if (!g)
        return;
    CHECK_EQ_INT(vs_seg_verify(g, NULL), VS_OK);
    struct vs_hnsw *h;
    CHECK_EQ_INT(vs_seg_hnsw(g, &h, NULL), VS_OK);
    const float *vecs = NULL;
    CHECK_EQ_INT(vs_segment_vectors(g, &vecs, NULL), VS_OK);
    if (h && vecs) {
        CHECK_EQ_INT(vs_hnsw_count(h), ROWS);
        CHECK_EQ_INT(vs_hnsw_M(h), 8);
        CHECK_EQ_INT(vs_hnsw_ef_construction(h), 64);
        struct vs_hnsw_scratch *s;
        CHECK_EQ_INT(vs_hnsw_scratch_new(h, &s, NULL), VS_OK);
        /* rows find themselves first (distance 0). The graph is approximate
         * and a 2-thread build is not deterministic: nearly all, not all. */
        int self = 0;
        for (uint64_t r = 0; r < 50; r++) {
            struct vs_hnsw_hit hits[5];
            size_t nh;
            struct vs_hnsw_query q = {.vec = vecs + r * 7 * DIM, .k = 5, .ef = 64};
            CHECK_EQ_INT(vs_hnsw_search(h, s, vecs, &q, hits, &nh, NULL, NULL), VS_OK);
            self += nh == 5 && hits[0].row == r * 7 && hits[0].raw == 0.0f;
        }
        printf("# %d of 50 rows found themselves first\n", self);
        CHECK(self >= 45);
        vs_hnsw_scratch_free(s);
    }
    vs_hnsw_free(h);
    vs_seg_close(g);
}

static void test_no_section(void)
{
    /* too small for a graph, and a writer not asked for one */
    CHECK_EQ_INT(write_seg("seg-00000002.vseg", 500, 1, 1000), VS_OK);
    CHECK_EQ_INT(write_seg("seg-00000003.vseg", 2000, 0, 0), VS_OK);
    const char *names[] = {"seg-00000002.vseg", "seg-00000003.vseg"};
    for (int i = 0; i < 2; i++) {
        struct vs_segment *g;
        CHECK_EQ_INT(vs_seg_open(dir, names[i], &g, NULL), VS_OK);
        if (!g)
            continue;
        struct vs_hnsw *h;
        CHECK_EQ_INT(vs_seg_hnsw(g, &h, NULL), VS_E_NOTFOUND);
        CHECK(h == NULL);
        vs_seg_close(g);
    }
}

static void test_damaged_section(void)
{
    CHECK_EQ_INT(write_seg("seg-00000004.vseg", 1500, 1, 1), VS_OK);
    struct vs_segment *g;
    CHECK_EQ_INT(vs_seg_open(dir, "seg-00000004.vseg", &g, NULL), VS_OK);
    if (!g)
        return;
    uint64_t off = 0, len = 0;
    for (uint32_t i = 0; i < g->nsect; i++)
        if (g->sect[i].type == VS_SECT_HNSW) {
            off = g->sect[i].off;
            len = g->sect[i].len;
            CHECK_EQ_INT(g->sect[i].flags, 0);
        }
    CHECK(len > 0);
    vs_seg_close(g);
    char p[512];
    snprintf(p, sizeof p, "%s/seg-00000004.vseg", dir);
    FILE *f = fopen(p, "r+b");
    fseek(f, (long)(off + len / 2), SEEK_SET);
    int c = fgetc(f);
    fseek(f, (long)(off + len / 2), SEEK_SET);
    fputc(c ^ 0xff, f);
    fclose(f);
    CHECK_EQ_INT(vs_seg_open(dir, "seg-00000004.vseg", &g, NULL), VS_OK);
    if (!g)
        return;
    /* the middle of the section is a level-0 block: the graph opens (only
     * its header, table and upper layers are checked), the block is found
     * damaged when decoded, and verify finds the section's checksum wrong */
    struct vs_hnsw *h;
    struct vs_diag dg;
    vs_diag_clear(&dg);
    CHECK_EQ_INT(vs_seg_hnsw(g, &h, &dg), VS_OK);
    if (h) {
        CHECK_EQ_INT(vs_hnsw_damaged_block(h), 0);
        CHECK_EQ_INT(vs_hnsw_verify(h, &dg), VS_E_CORRUPT);
        CHECK(strstr(dg.detail, "level-0 block") != NULL);
        CHECK(vs_hnsw_damaged_block(h) > 0);
        vs_hnsw_free(h);
    }
    CHECK_EQ_INT(vs_seg_verify(g, NULL), VS_E_CORRUPT);
    vs_seg_close(g);
    /* a damaged header is found at open */
    f = fopen(p, "r+b");
    fseek(f, (long)(off + 20), SEEK_SET);
    c = fgetc(f);
    fseek(f, (long)(off + 20), SEEK_SET);
    fputc(c ^ 0x01, f);
    fclose(f);
    CHECK_EQ_INT(vs_seg_open(dir, "seg-00000004.vseg", &g, NULL), VS_OK);
    if (!g)
        return;
    vs_diag_clear(&dg);
    CHECK_EQ_INT(vs_seg_hnsw(g, &h, &dg), VS_E_CORRUPT);
    CHECK(h == NULL && strstr(dg.file, "seg-00000004.vseg") != NULL);
    vs_seg_close(g);
}

static int lazy_load(void *ctx, uint64_t b, struct vs_diag *d)
{
    return vs_seg_vector_block(ctx, b, d);
}

static int codes_load(void *ctx, uint64_t b, struct vs_diag *d)
{
    if (vs_quant_check_block(ctx, b) == 0)
        return VS_OK;
    return vs_diag_set(d, VS_E_CORRUPT, "codes block %llu damaged", (unsigned long long)b);
}

static int count_ready(const uint8_t *ready, uint64_t n)
{
    int c = 0;
    for (uint64_t b = 0; b < n; b++)
        c += __atomic_load_n(&ready[b], __ATOMIC_ACQUIRE) != 0;
    return c;
}

/* A graph searched over lazily decoded rows gives the hits of the same
 * search over all rows, decoding only the blocks it touches; a full load
 * afterwards completes the same region. */
static void test_lazy_rows(void)
{
    CHECK_EQ_INT(write_seg("seg-00000005.vseg", ROWS, 1, 1000), VS_OK);
    struct vs_segment *g, *full;
    CHECK_EQ_INT(vs_seg_open(dir, "seg-00000005.vseg", &g, NULL), VS_OK);
    CHECK_EQ_INT(vs_seg_open(dir, "seg-00000005.vseg", &full, NULL), VS_OK);
    if (!g || !full)
        return;
    struct vs_hnsw *h;
    const float *all = NULL, *base = NULL;
    const uint8_t *ready = NULL;
    unsigned sh = 0;
    CHECK_EQ_INT(vs_seg_hnsw(g, &h, NULL), VS_OK);
    CHECK_EQ_INT(vs_segment_vectors(full, &all, NULL), VS_OK);
    CHECK_EQ_INT(vs_seg_vectors_lazy(g, 0, &base, &ready, &sh, NULL), VS_OK);
    /* blocks of VS_VEC_BLOCK_ROWS raw rows, checked in place in the file */
    CHECK_EQ_INT(1u << sh, VS_VEC_BLOCK_ROWS);
    CHECK(g->vmapped == 1 && (const unsigned char *)base > g->map &&
          (const unsigned char *)base < g->map + g->map_len);
    uint64_t br = (uint64_t)1 << sh, nb = (ROWS + br - 1) / br;
    CHECK(nb == (ROWS + VS_VEC_BLOCK_ROWS - 1) / VS_VEC_BLOCK_ROWS && base && ready);
    if (!h || !all || !base || !ready)
        goto done;
    CHECK_EQ_INT(count_ready(ready, nb), 0);
    /* one block by hand: the rows of the full load */
    CHECK_EQ_INT(vs_seg_vector_block(g, 1, NULL), VS_OK);
    CHECK_EQ_INT(count_ready(ready, nb), 1);
    CHECK(memcmp(base + br * DIM, all + br * DIM, br * DIM * sizeof(float)) == 0);
    CHECK(vs_seg_vector_block(g, nb, NULL) != VS_OK);
    struct vs_hnsw_rows rows = {ready, sh, lazy_load, g};
    struct vs_hnsw_scratch *s;
    CHECK_EQ_INT(vs_hnsw_scratch_new(h, &s, NULL), VS_OK);
    int same = 1;
    for (uint64_t r = 0; r < 20; r++) {
        struct vs_hnsw_hit a[5], b[5];
        size_t na, nbh;
        struct vs_hnsw_query q = {.vec = all + r * 131 * DIM, .k = 5, .ef = 32};
        CHECK_EQ_INT(vs_hnsw_search(h, s, all, &q, a, &na, NULL, NULL), VS_OK);
        q.rows = &rows;
        CHECK_EQ_INT(vs_hnsw_search(h, s, base, &q, b, &nbh, NULL, NULL), VS_OK);
        same &= na == nbh;
        for (size_t i = 0; i < na && i < nbh; i++)
            same &= a[i].row == b[i].row && a[i].raw == b[i].raw;
    }
    CHECK(same);
    int touched = count_ready(ready, nb);
    printf("# 20 searches checked %d of %llu vectors blocks\n", touched, (unsigned long long)nb);
    CHECK(touched > 1 && touched <= (int)nb);
    /* an exact scan (a selective filter) loads every block first */
    struct vs_segment *g2;
    CHECK_EQ_INT(vs_seg_open(dir, "seg-00000005.vseg", &g2, NULL), VS_OK);
    const float *b2 = NULL;
    const uint8_t *r2 = NULL;
    unsigned sh2 = 0;
    if (g2 && vs_seg_vectors_lazy(g2, 1, &b2, &r2, &sh2, NULL) == VS_OK && r2) {
        uint8_t *allow = calloc(ROWS, 1);
        allow[2999] = 1;
        struct vs_hnsw_rows rows2 = {r2, sh2, lazy_load, g2};
        struct vs_hnsw_query q = {.vec = all, .k = 5, .ef = 32, .allow = allow, .rows = &rows2};
        struct vs_hnsw_hit hit[5];
        size_t nh;
        struct vs_hnsw_stats hs;
        CHECK_EQ_INT(vs_hnsw_search(h, s, b2, &q, hit, &nh, &hs, NULL), VS_OK);
        CHECK(nh == 1 && hit[0].row == 2999 && hs.exact == 1);
        CHECK_EQ_INT(count_ready(r2, nb), (int)nb);
        free(allow);
        /* the full load reuses the decoded region */
        const float *v2 = NULL;
        CHECK_EQ_INT(vs_segment_vectors(g2, &v2, NULL), VS_OK);
        CHECK(v2 == b2 && memcmp(v2, all, (size_t)ROWS * DIM * sizeof(float)) == 0);
    }
    vs_seg_close(g2);
    vs_hnsw_scratch_free(s);
done:
    vs_hnsw_free(h);
    vs_seg_close(full);
    vs_seg_close(g);
}

/* A damaged vectors block is reported when a lazy search touches it
 * (VS_E_CORRUPT naming the block), not at open. */
static void test_lazy_damaged_block(void)
{
    CHECK_EQ_INT(write_seg("seg-00000006.vseg", ROWS, 1, 1000), VS_OK);
    struct vs_segment *g;
    CHECK_EQ_INT(vs_seg_open(dir, "seg-00000006.vseg", &g, NULL), VS_OK);
    if (!g)
        return;
    uint64_t off = 0;
    for (uint32_t i = 0; i < g->nsect; i++)
        if (g->sect[i].type == VS_SECT_VECTORS)
            off = g->sect[i].off;
    vs_seg_close(g);
    char p[512];
    snprintf(p, sizeof p, "%s/seg-00000006.vseg", dir);
    FILE *f = fopen(p, "r+b");
    fseek(f, (long)(off + 100), SEEK_SET); /* inside block 0 */
    int c = fgetc(f);
    fseek(f, (long)(off + 100), SEEK_SET);
    fputc(c ^ 0x40, f);
    fclose(f);
    CHECK_EQ_INT(vs_seg_open(dir, "seg-00000006.vseg", &g, NULL), VS_OK);
    if (!g)
        return;
    struct vs_hnsw *h;
    const float *base = NULL;
    const uint8_t *ready = NULL;
    unsigned sh = 0;
    CHECK_EQ_INT(vs_seg_hnsw(g, &h, NULL), VS_OK);
    CHECK_EQ_INT(vs_seg_vectors_lazy(g, 1, &base, &ready, &sh, NULL), VS_OK);
    CHECK_EQ_INT(vs_seg_vector_block(g, 2, NULL), VS_OK);
    struct vs_diag dg;
    vs_diag_clear(&dg);
    CHECK_EQ_INT(vs_seg_vector_block(g, 0, &dg), VS_E_CORRUPT);
    CHECK(strstr(dg.detail, "section 'vectors' block 0: checksum mismatch") != NULL);
    if (h && ready) {
        struct vs_hnsw_rows rows = {ready, sh, lazy_load, g};
        struct vs_hnsw_scratch *s;
        CHECK_EQ_INT(vs_hnsw_scratch_new(h, &s, NULL), VS_OK);
        /* a selective filter scans every row: block 0 is touched */
        uint8_t *allow = calloc(ROWS, 1);
        allow[5] = 1;
        float qv[DIM] = {0};
        struct vs_hnsw_query q = {.vec = qv, .k = 5, .allow = allow, .rows = &rows};
        struct vs_hnsw_hit hit[5];
        size_t nh = 9;
        vs_diag_clear(&dg);
        CHECK_EQ_INT(vs_hnsw_search(h, s, base, &q, hit, &nh, NULL, &dg), VS_E_CORRUPT);
        CHECK(nh == 0 && strstr(dg.detail, "block 0") != NULL);
        CHECK(strstr(dg.file, "seg-00000006.vseg") != NULL);
        free(allow);
        vs_hnsw_scratch_free(s);
    }
    const float *v = NULL;
    CHECK_EQ_INT(vs_segment_vectors(g, &v, NULL), VS_E_CORRUPT);
    CHECK_EQ_INT(vs_seg_verify(g, NULL), VS_E_CORRUPT);
    vs_hnsw_free(h);
    vs_seg_close(g);
}

/* Format 2 round trip: every list of every level of graphs of many sizes
 * (empty, one node, block edges, a partial last block) and link counts
 * comes back as built, and a truncated or extended block is refused. */
static void test_graph_roundtrip(void)
{
    static const uint64_t sizes[] = {0, 1, 2, 63, 64, 65, 130, 700};
    static const uint32_t ms[] = {2, 3, 8};
    int same = 1, opened = 0;
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++)
        for (size_t mi = 0; mi < sizeof ms / sizeof *ms; mi++) {
            uint64_t n = sizes[si];
            float *v = malloc((n ? n : 1) * DIM * sizeof *v);
            rs = 5 + n;
            for (uint64_t i = 0; i < n * DIM; i++)
                v[i] = urand();
            struct vs_hnsw_opts o = {.M = ms[mi], .ef_construction = 32, .seed = 9,
                                     .threads = 1, .simd = -1};
            struct vs_hnsw *h = NULL, *h2 = NULL;
            void *buf = NULL;
            size_t len = 0;
            CHECK_EQ_INT(vs_hnsw_build(v, n, DIM, VS_METRIC_L2, &o, &h, NULL), VS_OK);
            if (h)
                CHECK_EQ_INT(vs_hnsw_save(h, 3, &buf, &len, NULL), VS_OK);
            if (buf)
                CHECK_EQ_INT(vs_hnsw_open(buf, len, -1, &h2, NULL), VS_OK);
            if (h && h2) {
                opened++;
                same &= h2->n == n && h2->entry == h->entry && h2->maxlevel == h->maxlevel;
                for (uint64_t i = 0; i < n && same; i++) {
                    same &= h2->level[i] == h->level[i];
                    for (int lv = 0; lv <= h->level[i] && same; lv++) {
                        const uint32_t *a = list_of(h, (uint32_t)i, lv);
                        const uint32_t *b = list_of(h2, (uint32_t)i, lv);
                        same &= a && b && a[0] == b[0] &&
                                memcmp(a + 1, b + 1, a[0] * sizeof *a) == 0;
                    }
                }
                CHECK_EQ_INT(vs_hnsw_verify(h2, NULL), VS_OK);
            }
            vs_hnsw_free(h2);
            h2 = NULL;
            if (buf && n > 64) {
                /* a block table entry changed (a block one byte longer) is found */
                uint8_t *e = (uint8_t *)buf + 104 + 16;
                uint64_t off;
                memcpy(&off, e, 8);
                off -= 1;
                memcpy(e, &off, 8);
                CHECK_EQ_INT(vs_hnsw_open(buf, len, -1, &h2, NULL), VS_E_CORRUPT);
                vs_hnsw_free(h2);
            }
            free(buf);
            vs_hnsw_free(h);
            free(v);
        }
    CHECK(same);
    CHECK_EQ_INT(opened, 24);
}

/* Format-2 codes: opened in place, each block checked once when read; a
 * damaged block is found by the check, by an owned open and by a search
 * that reads it; format-1 codes still open (owned), not in place. */
static void test_codes_blocks(void)
{
    enum { N = 1000 };
    float *v = malloc((size_t)N * DIM * sizeof *v);
    rs = 21;
    for (size_t i = 0; i < (size_t)N * DIM; i++)
        v[i] = urand();
    struct vs_quant *q = NULL, *o = NULL;
    void *buf = NULL;
    size_t len = 0;
    CHECK_EQ_INT(vs_quant_build(VS_QUANT_SQ8, VS_METRIC_L2, v, N, DIM, -1, &q, NULL), VS_OK);
    CHECK_EQ_INT(vs_quant_save(q, &buf, &len, NULL), VS_OK);
    if (!q || !buf)
        goto done;
    CHECK_EQ_INT(vs_quant_open_borrowed(buf, len, -1, &o, NULL), VS_OK);
    if (o) {
        CHECK(o->ready != NULL && o->nblocks == (N + 63) / 64 && o->shift == 6);
        CHECK(o->codes == (const uint8_t *)buf + len - (size_t)N * DIM);
        CHECK(((uintptr_t)o->codes - (uintptr_t)buf) % 64 == 0);
        int none = 1;
        for (uint64_t b = 0; b < o->nblocks; b++)
            none &= o->ready[b] == 0;
        CHECK(none);
        CHECK_EQ_INT(vs_quant_check_block(o, 3), 0);
        CHECK(o->ready[3] == 1 && o->ready[2] == 0);
        CHECK_EQ_INT(vs_quant_check_block(o, o->nblocks), -1);
        CHECK(memcmp(vs_quant_code(o, 200), vs_quant_code(q, 200), DIM) == 0);
        vs_quant_free(o);
        o = NULL;
    }
    /* damage a code of row 5 * 64 + 1 (block 5) */
    unsigned char *codes = (unsigned char *)buf + len - (size_t)N * DIM;
    codes[(5 * 64 + 1) * DIM] ^= 0x08;
    CHECK_EQ_INT(vs_quant_open_borrowed(buf, len, -1, &o, NULL), VS_OK);
    if (o) {
        CHECK_EQ_INT(vs_quant_check_block(o, 4), 0);
        CHECK_EQ_INT(vs_quant_check_block(o, 5), -1);
        CHECK(o->ready[5] == 0);
        /* a graph search reading row 321's code fails with the load's status */
        struct vs_hnsw *h = NULL;
        struct vs_hnsw_opts ho = {.M = 8, .ef_construction = 32, .seed = 1, .threads = 1, .simd = -1};
        CHECK_EQ_INT(vs_hnsw_build(v, N, DIM, VS_METRIC_L2, &ho, &h, NULL), VS_OK);
        struct vs_hnsw_scratch *s = NULL;
        if (h)
            CHECK_EQ_INT(vs_hnsw_scratch_new(h, &s, NULL), VS_OK);
        if (s) {
            struct vs_hnsw_rows cr = {o->ready, o->shift, codes_load, o};
            struct vs_hnsw_query hq = {.vec = v + (5 * 64 + 1) * DIM, .k = 3, .ef = 32,
                                       .quant = o, .codes = &cr};
            struct vs_hnsw_hit hit[3];
            size_t nh = 7;
            struct vs_diag dg;
            vs_diag_clear(&dg);
            CHECK_EQ_INT(vs_hnsw_search(h, s, v, &hq, hit, &nh, NULL, &dg), VS_E_CORRUPT);
            CHECK(nh == 0 && strstr(dg.detail, "codes block 5") != NULL);
            vs_hnsw_scratch_free(s);
        }
        vs_hnsw_free(h);
        vs_quant_free(o);
        o = NULL;
    }
    void *copy = malloc(len);
    memcpy(copy, buf, len);
    struct vs_diag dg;
    vs_diag_clear(&dg);
    CHECK_EQ_INT(vs_quant_open(copy, len, -1, &o, &dg), VS_E_CORRUPT);
    CHECK(o == NULL && strstr(dg.detail, "block 5: checksum mismatch") != NULL);
    free(copy);
    /* format 1: "VSQUANT1", a 32-byte header, the parameters, the codes */
    codes[(5 * 64 + 1) * DIM] ^= 0x08;
    size_t pb = 2 * DIM * sizeof(float), len1 = 32 + pb + (size_t)N * DIM;
    unsigned char *v1 = malloc(len1);
    memcpy(v1, buf, 32);
    v1[7] = '1';
    memcpy(v1 + 32, (unsigned char *)buf + 64, pb);
    memcpy(v1 + 32 + pb, codes, (size_t)N * DIM);
    CHECK_EQ_INT(vs_quant_open_borrowed(v1, len1, -1, &o, NULL), VS_E_UNSUPPORTED);
    CHECK(o == NULL);
    CHECK_EQ_INT(vs_quant_open(v1, len1, -1, &o, NULL), VS_OK); /* o owns v1 */
    if (o) {
        CHECK(o->ready == NULL && memcmp(vs_quant_code(o, 999), vs_quant_code(q, 999), DIM) == 0);
        float *p1 = malloc(vs_quant_prep_floats(q) * sizeof *p1);
        float *p2 = malloc(vs_quant_prep_floats(o) * sizeof *p2);
        vs_quant_prep(q, v, p1);
        vs_quant_prep(o, v, p2);
        CHECK(vs_quant_dist(q, p1, 77) == vs_quant_dist(o, p2, 77));
        free(p1);
        free(p2);
        /* saved again: format 2, the same bytes as saved from the build */
        void *b2 = NULL;
        size_t l2 = 0;
        CHECK_EQ_INT(vs_quant_save(o, &b2, &l2, NULL), VS_OK);
        CHECK(l2 == len && b2 && memcmp(b2, buf, len) == 0);
        free(b2);
    } else {
        free(v1);
    }
    vs_quant_free(o);
done:
    free(buf);
    vs_quant_free(q);
    free(v);
}

/* Format 2 upper blocks: decoded on first use; a damaged one is found by
 * vs_hnsw_verify (named) and a list of it reads as NULL. */
static void test_upper_blocks(void)
{
    enum { N = 700 };
    float *v = malloc((size_t)N * DIM * sizeof *v);
    rs = 33;
    for (size_t i = 0; i < (size_t)N * DIM; i++)
        v[i] = urand();
    struct vs_hnsw_opts o = {.M = 3, .ef_construction = 32, .seed = 4, .threads = 1, .simd = -1};
    struct vs_hnsw *h = NULL, *h2 = NULL;
    void *buf = NULL;
    size_t len = 0;
    CHECK_EQ_INT(vs_hnsw_build(v, N, DIM, VS_METRIC_L2, &o, &h, NULL), VS_OK);
    if (h)
        CHECK_EQ_INT(vs_hnsw_save(h, 3, &buf, &len, NULL), VS_OK);
    if (!buf)
        goto done;
    CHECK_EQ_INT(vs_hnsw_open(buf, len, -1, &h2, NULL), VS_OK);
    if (!h2)
        goto done;
    printf("# %llu upper blocks\n", (unsigned long long)h2->nub);
    CHECK(h2->nub >= 2 && h2->ub[0].cnt == 64);
    int none = 1;
    for (uint64_t k = 0; k < h2->nub; k++)
        none &= atomic_load(&h2->ub[k].state) == 0;
    CHECK(none);
    /* the first node above level 0 of block 1: its lists as built */
    uint32_t u = h2->ub[1].first;
    const uint32_t *a = list_of(h, u, 1), *b = list_of(h2, u, 1);
    CHECK(a && b && a[0] == b[0] && memcmp(a, b, (a[0] + 1) * sizeof *a) == 0);
    CHECK(atomic_load(&h2->ub[1].state) == 2 && atomic_load(&h2->ub[0].state) == 0);
    CHECK(list_of(h2, u, h2->level[u] + 1) == NULL);
    vs_hnsw_free(h2);
    h2 = NULL;
    /* damage upper block 0 (the table's first entry) */
    uint64_t off;
    memcpy(&off, (unsigned char *)buf + 104, 8);
    ((unsigned char *)buf)[off + 2] ^= 0x20;
    CHECK_EQ_INT(vs_hnsw_open(buf, len, -1, &h2, NULL), VS_OK);
    if (h2) {
        struct vs_diag dg;
        vs_diag_clear(&dg);
        CHECK(list_of(h2, h2->ub[0].first, 1) == NULL);
        CHECK_EQ_INT(vs_hnsw_damaged_upper(h2), 1);
        CHECK_EQ_INT(vs_hnsw_verify(h2, &dg), VS_E_CORRUPT);
        CHECK(strstr(dg.detail, "upper block 0 is damaged") != NULL);
    }
done:
    vs_hnsw_free(h2);
    vs_hnsw_free(h);
    free(buf);
    free(v);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        printf("Bail out! mkdtemp\n");
        return 1;
    }
    RUN(test_section_written_and_searched);
    RUN(test_no_section);
    RUN(test_damaged_section);
    RUN(test_lazy_rows);
    RUN(test_lazy_damaged_block);
    RUN(test_graph_roundtrip);
    RUN(test_codes_blocks);
    RUN(test_upper_blocks);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return vs_test_done();
}
