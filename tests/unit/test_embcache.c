/* test_embcache.c: the on-disk embedding cache: hits and misses, keys, damaged
 * entries, concurrent writers, eviction by size. */
#include "test.h"
#include "vs_embcache.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[256];

static void mkroot(void)
{
    snprintf(root, sizeof root, "/tmp/vs-embcache-XXXXXX");
    CHECK(mkdtemp(root) != NULL);
}

static void rmroot(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK(system(cmd) == 0);
}

/* Number of entry files under root/embeddings. */
static int count_entries(void)
{
    char p[400];
    snprintf(p, sizeof p, "find '%s/embeddings' -name '*.zst' | wc -l", root);
    FILE *f = popen(p, "r");
    int n = -1;
    if (f) {
        if (fscanf(f, "%d", &n) != 1)
            n = -1;
        pclose(f);
    }
    return n;
}

static void test_put_get(void)
{
    mkroot();
    struct vs_embcache *c = NULL;
    CHECK_EQ_INT(vs_embcache_open(root, 0, &c, NULL), VS_OK);
    if (!c)
        return;
    float v[5] = {0.1f, -2.5f, 3e-20f, 1e30f, 0}, w[5];
    CHECK_EQ_INT(vs_embcache_get(c, "m:1", "text", 4, w, 5), 0);
    CHECK_EQ_INT(vs_embcache_put(c, "m:1", "text", 4, v, 5), VS_OK);
    CHECK_EQ_INT(vs_embcache_get(c, "m:1", "text", 4, w, 5), 1);
    CHECK(memcmp(v, w, sizeof v) == 0);
    CHECK_EQ_INT(vs_embcache_get(c, "m:2", "text", 4, w, 5), 0);  /* other model */
    CHECK_EQ_INT(vs_embcache_get(c, "m:1", "texts", 5, w, 5), 0); /* other text */
    CHECK_EQ_INT(vs_embcache_get(c, "m:1", "text", 4, w, 4), 0);  /* other dim */
    long long h, m, p, e;
    vs_embcache_counts(c, &h, &m, &p, &e);
    CHECK_EQ_INT(h, 1);
    CHECK_EQ_INT(m, 4);
    CHECK_EQ_INT(p, 1);
    vs_embcache_close(c);
    /* a second process (here: a second open) sees it */
    CHECK_EQ_INT(vs_embcache_open(root, 0, &c, NULL), VS_OK);
    CHECK_EQ_INT(vs_embcache_get(c, "m:1", "text", 4, w, 5), 1);
    vs_embcache_close(c);
    rmroot();
}

static void test_damaged_entry_is_a_miss(void)
{
    mkroot();
    struct vs_embcache *c = NULL;
    CHECK_EQ_INT(vs_embcache_open(root, 0, &c, NULL), VS_OK);
    if (!c)
        return;
    float v[3] = {1, 2, 3}, w[3];
    CHECK_EQ_INT(vs_embcache_put(c, "k", "abc", 3, v, 3), VS_OK);
    char cmd[400];
    snprintf(cmd, sizeof cmd,
             "for f in $(find '%s/embeddings' -name '*.zst'); do printf garbage > $f; done", root);
    CHECK(system(cmd) == 0);
    CHECK_EQ_INT(vs_embcache_get(c, "k", "abc", 3, w, 3), 0);
    CHECK_EQ_INT(vs_embcache_put(c, "k", "abc", 3, v, 3), VS_OK);
    CHECK_EQ_INT(vs_embcache_get(c, "k", "abc", 3, w, 3), 1);
    vs_embcache_close(c);
    rmroot();
}

struct job {
    struct vs_embcache *c;
    int t;
    int bad;
};

static void *writer(void *arg)
{
    struct job *j = arg;
    float v[16], w[16];
    char text[32];
    for (int i = 0; i < 200; i++) {
        snprintf(text, sizeof text, "text %d", i % 50);
        for (int k = 0; k < 16; k++)
            v[k] = (float)(i % 50) + (float)k / 16;
        if (vs_embcache_put(j->c, "m", text, strlen(text), v, 16) != VS_OK)
            j->bad++;
        if (vs_embcache_get(j->c, "m", text, strlen(text), w, 16) != 1 ||
            memcmp(v, w, sizeof v) != 0)
            j->bad++;
    }
    return NULL;
}

static void test_concurrent_writers(void)
{
    mkroot();
    struct vs_embcache *c = NULL;
    CHECK_EQ_INT(vs_embcache_open(root, 0, &c, NULL), VS_OK);
    if (!c)
        return;
    pthread_t th[4];
    struct job jobs[4];
    for (int t = 0; t < 4; t++) {
        jobs[t] = (struct job){c, t, 0};
        pthread_create(&th[t], NULL, writer, &jobs[t]);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        CHECK_EQ_INT(jobs[t].bad, 0);
    }
    vs_embcache_close(c);
    CHECK_EQ_INT(count_entries(), 50);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "find '%s' -name '*.tmp.*' | grep -q .", root);
    CHECK(system(cmd) != 0); /* no temporary file left */
    rmroot();
}

static void test_eviction(void)
{
    mkroot();
    struct vs_embcache *c = NULL;
    /* entries of 4096 floats do not compress much: ~16 KiB each */
    CHECK_EQ_INT(vs_embcache_open(root, 200 * 1024, &c, NULL), VS_OK);
    if (!c)
        return;
    float *v = malloc(4096 * sizeof *v);
    uint32_t s = 1;
    char text[32];
    for (int i = 0; i < 30; i++) {
        for (int k = 0; k < 4096; k++) {
            s = s * 1664525u + 1013904223u;
            v[k] = (float)s / 4294967296.0f;
        }
        snprintf(text, sizeof text, "doc %d", i);
        CHECK_EQ_INT(vs_embcache_put(c, "m", text, strlen(text), v, 4096), VS_OK);
    }
    vs_embcache_close(c);
    int n = count_entries();
    CHECK(n > 0 && n < 30);
    char p[400];
    snprintf(p, sizeof p,
             "find '%s/embeddings' -name '*.zst' -printf '%%b\\n' | awk '{s+=$1} END {print int(s/2)}'",
             root);
    FILE *f = popen(p, "r");
    int kb = 0;
    CHECK(f && fscanf(f, "%d", &kb) == 1);
    if (f)
        pclose(f);
    CHECK(kb > 0 && kb <= 200); /* the entries fit in the cap */
    free(v);
    rmroot();
}

int main(void)
{
    RUN(test_put_get);
    RUN(test_damaged_entry_is_a_miss);
    RUN(test_concurrent_writers);
    RUN(test_eviction);
    return vs_test_done();
}
