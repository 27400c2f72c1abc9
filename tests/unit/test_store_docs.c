/* test_store_docs.c: the docs (stored records) of a segment. Small docs
 * stay in blocks of VS_DOCS_PER_BLOCK without a dictionary (the format of
 * every earlier writer); from VS_DOCS_DICT_MIN raw bytes on, blocks of at
 * most VS_DOCS_BLOCK_BYTES compressed with the dictionary of section
 * DOCDICT. Every doc reads back byte for byte in any order, vs-index
 * verify's check passes, and a damaged block or dictionary is
 * VS_E_CORRUPT, never a wrong doc. */
#include "test.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_internal.h"
#include "vs_store.h"

#include <jansson.h>

static char dir[] = "/tmp/test_store_docs.XXXXXX";
enum { DIM = 64 };

/* the doc of row r: a record like the bench's, longer every 97th row and
 * one of 10,000 bytes every 700th (a doc above the block size) */
static size_t doc_of(uint64_t r, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "{\"text\":\"record %llu about topic %llu",
                     (unsigned long long)r, (unsigned long long)(r % 97));
    size_t len = (size_t)n;
    size_t extra = r % 700 == 5 ? 10000 : r % 97 == 3 ? 300 : 0;
    for (size_t i = 0; i < extra && len + 64 < cap; i++)
        buf[len++] = (char)('a' + (r * 7 + i * 13) % 26);
    n = snprintf(buf + len, cap - len, "\",\"metadata\":{\"n\":%llu,\"group\":\"g%llu\"}}",
                 (unsigned long long)r, (unsigned long long)(r % 10));
    return len + (size_t)n;
}

static int write_seg(const char *name, uint64_t rows)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct vs_segw *w;
    int st = vs_segw_new(p, DIM, &w, NULL);
    if (st != VS_OK)
        return st;
    static char doc[16384];
    for (uint64_t r = 0; r < rows && st == VS_OK; r++) {
        char id[32];
        snprintf(id, sizeof id, "id%llu", (unsigned long long)r);
        float v[DIM] = {(float)r, 1, 2, 3};
        size_t n = doc_of(r, doc, sizeof doc);
        st = vs_segw_add(w, id, v, doc, n, NULL);
    }
    if (st == VS_OK)
        st = vs_segw_finish(w, NULL, NULL);
    vs_segw_free(w);
    return st;
}

static const struct vs_sect *sect_of(const struct vs_segment *g, uint32_t type)
{
    for (uint32_t i = 0; i < g->nsect; i++)
        if (g->sect[i].type == type)
            return &g->sect[i];
    return NULL;
}

/* every doc of g equals doc_of, read in a scattered order then in order */
static int docs_match(struct vs_segment *g)
{
    static char want[16384];
    char *buf = NULL;
    size_t cap = 0, len = 0;
    int ok = 1;
    uint64_t rows = g->rows, x = 12345;
    for (uint64_t i = 0; ok && i < 2 * rows; i++) {
        uint64_t r;
        if (i < rows) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            r = (x >> 33) % rows;
        } else {
            r = i - rows;
        }
        size_t n = doc_of(r, want, sizeof want);
        ok = vs_seg_doc_raw(g, r, &buf, &cap, &len, NULL) == VS_OK && len == n &&
             memcmp(buf, want, n) == 0 && buf[n] == '\0';
    }
    free(buf);
    return ok;
}

static void test_small_docs_no_dictionary(void)
{
    CHECK_EQ_INT(write_seg("seg-00000001.vseg", 300), VS_OK);
    struct vs_segment *g;
    CHECK_EQ_INT(vs_seg_open(dir, "seg-00000001.vseg", &g, NULL), VS_OK);
    if (!g)
        return;
    CHECK(sect_of(g, VS_SECT_DOCDICT) == NULL);
    CHECK(sect_of(g, VS_SECT_DOCS)->raw < VS_DOCS_DICT_MIN);
    CHECK(docs_match(g));
    CHECK_EQ_INT((int)g->nblocks, 2); /* 256 + 44 */
    CHECK_EQ_INT(vs_seg_verify(g, NULL), VS_OK);
    vs_seg_close(g);
}

static void test_dictionary_blocks(void)
{
    CHECK_EQ_INT(write_seg("seg-00000002.vseg", 3000), VS_OK);
    struct vs_segment *g;
    CHECK_EQ_INT(vs_seg_open(dir, "seg-00000002.vseg", &g, NULL), VS_OK);
    if (!g)
        return;
    const struct vs_sect *dict = sect_of(g, VS_SECT_DOCDICT);
    CHECK(dict != NULL);
    CHECK(dict && (dict->flags & VS_SECT_REQUIRED) && dict->raw >= 2048 &&
          dict->raw <= VS_DOCS_DICT_BYTES);
    CHECK(docs_match(g));
    CHECK(g->ddict != NULL);
    /* blocks of at most VS_DOCS_BLOCK_BYTES, or one larger doc alone */
    int sized = g->docidx != NULL;
    uint64_t big = 0;
    for (uint64_t b = 0; sized && b < g->nblocks; b++) {
        const unsigned char *e = g->docidx + b * VS_DOCIDX_ENTRY;
        sized = vs_get64(e + 16) <= VS_DOCS_BLOCK_BYTES || vs_get64(e + 40) == 1;
        big += vs_get64(e + 16) > VS_DOCS_BLOCK_BYTES;
    }
    CHECK(sized);
    CHECK_EQ_INT((int)big, 5); /* rows 5, 705, 1405, 2105, 2805 */
    CHECK_EQ_INT(vs_seg_verify(g, NULL), VS_OK);
    /* a doc through the JSON reader */
    json_t *doc = NULL;
    CHECK_EQ_INT(vs_segment_doc(g, 2999, &doc, NULL), VS_OK);
    CHECK(doc && json_integer_value(json_object_get(json_object_get(doc, "metadata"), "n")) == 2999);
    json_decref(doc);
    vs_seg_close(g);
}

/* copy seg-00000002 to name with one byte at off (relative to section
 * type's start, or from the end when negative) flipped */
static uint64_t damaged_copy(const char *name, uint32_t type, int64_t off)
{
    char src[512], dst[512];
    snprintf(src, sizeof src, "%s/seg-00000002.vseg", dir);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    struct vs_segment *g;
    if (vs_seg_open(dir, "seg-00000002.vseg", &g, NULL) != VS_OK)
        return 0;
    const struct vs_sect *s = sect_of(g, type);
    uint64_t at = s ? (off >= 0 ? s->off + (uint64_t)off : s->off + s->len - (uint64_t)-off) : 0;
    uint64_t size = g->file_bytes;
    vs_seg_close(g);
    if (!s)
        return 0;
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    unsigned char *buf = malloc(size);
    int ok = in && out && buf && fread(buf, 1, size, in) == size;
    if (ok) {
        buf[at] ^= 0x5a;
        ok = fwrite(buf, 1, size, out) == size;
    }
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    free(buf);
    return ok ? at : 0;
}

static void test_damage_is_corrupt(void)
{
    /* a byte of the last docs block: the docs of the first rows still
     * read, the last row's is VS_E_CORRUPT, verify fails */
    CHECK(damaged_copy("seg-00000003.vseg", VS_SECT_DOCS, -3) != 0);
    struct vs_segment *g;
    CHECK_EQ_INT(vs_seg_open(dir, "seg-00000003.vseg", &g, NULL), VS_OK);
    if (g) {
        char *buf = NULL;
        size_t cap = 0, len = 0;
        struct vs_diag d;
        memset(&d, 0, sizeof d);
        CHECK_EQ_INT(vs_seg_doc_raw(g, 0, &buf, &cap, &len, NULL), VS_OK);
        CHECK_EQ_INT(vs_seg_doc_raw(g, 2999, &buf, &cap, &len, &d), VS_E_CORRUPT);
        CHECK(strstr(d.detail, "checksum mismatch") != NULL);
        CHECK_EQ_INT(vs_seg_verify(g, NULL), VS_E_CORRUPT);
        free(buf);
        vs_seg_close(g);
    }
    /* a byte of the dictionary: no doc can be read */
    CHECK(damaged_copy("seg-00000004.vseg", VS_SECT_DOCDICT, 100) != 0);
    CHECK_EQ_INT(vs_seg_open(dir, "seg-00000004.vseg", &g, NULL), VS_OK);
    if (g) {
        char *buf = NULL;
        size_t cap = 0, len = 0;
        struct vs_diag d;
        memset(&d, 0, sizeof d);
        CHECK_EQ_INT(vs_seg_doc_raw(g, 0, &buf, &cap, &len, &d), VS_E_CORRUPT);
        CHECK(strstr(d.detail, "docdict") != NULL);
        free(buf);
        vs_seg_close(g);
    }
}

int main(void)
{
    if (!mkdtemp(dir)) {
        printf("Bail out! mkdtemp\n");
        return 1;
    }
    RUN(test_small_docs_no_dictionary);
    RUN(test_dictionary_blocks);
    RUN(test_damage_is_corrupt);
    vs_test_rmtree(dir);
    return vs_test_done();
}
