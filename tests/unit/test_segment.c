/* test_segment.c: segment files as this version writes them: vectors in
 * raw blocks of VS_VEC_BLOCK_ROWS rows used in place from the mapped file,
 * and ids split back exactly whatever their lengths. */
#include "test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

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

int main(void)
{
    if (!mkdtemp(dir)) {
        printf("Bail out! mkdtemp\n");
        return 1;
    }
    RUN(test_ids_split);
    RUN(test_vectors_in_place);
    vs_test_rmtree(dir);
    return vs_test_done();
}
