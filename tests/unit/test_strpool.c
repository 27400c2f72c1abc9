/* test_strpool.c: lib/core/strpool.c (vs_strpool.h) */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "vs_strpool.h"

/* Leave freed heap blocks of a small chunk's size full of 'Z', so a chunk
 * made next starts dirty (a copy without its NUL would then show). */
static void dirty_heap(void)
{
    void *b[32];
    for (int i = 0; i < 32; i++)
        if ((b[i] = malloc(128)))
            memset(b[i], 'Z', 128);
    for (int i = 0; i < 32; i++)
        free(b[i]);
}

static void test_copies_stay_put(void)
{
    dirty_heap();
    struct vs_strpool p = {NULL, 100};
    char *s[200];
    char want[16];
    for (int i = 0; i < 200; i++) {
        int n = snprintf(want, sizeof want, "id-%d", i);
        s[i] = vs_strpool_dup(&p, want, (size_t)n);
        CHECK(s[i] != NULL);
    }
    /* 200 strings over many 100-byte chunks: each still reads as written */
    for (int i = 0; i < 200; i++) {
        snprintf(want, sizeof want, "id-%d", i);
        CHECK_EQ_STR(s[i], want);
    }
    vs_strpool_free(&p);
    CHECK(p.head == NULL);
    CHECK_EQ_INT((int)p.chunk, 100);
}

static void test_lengths(void)
{
    struct vs_strpool p = {0};
    /* n bytes copied and a NUL added, not the source's own end */
    char *a = vs_strpool_dup(&p, "abcdef", 3);
    CHECK_EQ_STR(a, "abc");
    char *e = vs_strpool_dup(&p, "", 0);
    CHECK_EQ_STR(e, "");
    CHECK(e == a + 4); /* the same chunk, right after "abc" and its NUL */
    /* longer than a chunk: a chunk of its own, and the next short one
     * still fits somewhere */
    static char big[VS_STRPOOL_CHUNK * 2 + 5];
    memset(big, 'x', sizeof big - 1);
    char *b = vs_strpool_dup(&p, big, sizeof big - 1);
    CHECK(b != NULL && strlen(b) == sizeof big - 1 && b[0] == 'x');
    char *c = vs_strpool_dup(&p, "z", 1);
    CHECK_EQ_STR(c, "z");
    CHECK_EQ_STR(a, "abc");
    vs_strpool_free(&p);
    vs_strpool_free(&p); /* an empty pool frees nothing */
    CHECK(vs_strpool_dup(&p, "again", 5) != NULL);
    vs_strpool_free(&p);
}

int main(void)
{
    RUN(test_copies_stay_put);
    RUN(test_lengths);
    return vs_test_done();
}
