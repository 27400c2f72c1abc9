/* make_seeds.c: writes the binary seeds of the store and index targets
 * (tests/fuzz/corpus/{manifest,segment,hnsw,quant}/) with the library's own
 * writers, so the seeds are real files in the current formats.
 * `tests/fuzz/run.sh --make-seeds` builds and runs it from the repository
 * root. Not part of the suite: the seeds are committed. */
#include <sys/stat.h>
#include <xxhash.h>

#include "fuzz_store.h"
#include "store_internal.h"
#include "vs_hnsw.h"
#include "vs_quant.h"

static void copy_file(const char *from, const char *to, size_t skip_tail)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    if (!in || !out)
        abort();
    char buf[1 << 16];
    size_t n, total = 0;
    char *all = NULL;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
        all = realloc(all, total + n);
        memcpy(all + total, buf, n);
        total += n;
    }
    if (fwrite(all, 1, total - skip_tail, out) != total - skip_tail || fclose(out) != 0)
        abort();
    fclose(in);
    free(all);
    printf("%s (%zu bytes)\n", to, total - skip_tail);
}

static void put(const char *to, const void *buf, size_t len)
{
    FILE *out = fopen(to, "wb");
    if (!out || fwrite(buf, 1, len, out) != len || fclose(out) != 0)
        abort();
    printf("%s (%zu bytes)\n", to, len);
}

static void vecs_of(float *v, size_t n, size_t dim, uint32_t seed)
{
    for (size_t i = 0; i < n * dim; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = (float)(seed >> 8) / (float)(1u << 24) - 0.5f;
    }
}

int main(void)
{
    const char *c = "tests/fuzz/corpus";
    char from[1024], to[1024];
    for (const char *const *s = (const char *const[]){"manifest", "segment", "hnsw", "quant", NULL}; *s; s++) {
        snprintf(to, sizeof to, "%s/%s", c, *s);
        mkdir(to, 0755);
    }
    /* stores: the manifest target's own (two segments and a deletion
     * file), a store without a text index, one with a graph and codes */
    struct { const char *name; int rows; enum vs_metric m; int text; uint32_t hm, q; int more; } st[] = {
        {"kb", 40, VS_METRIC_COSINE, 1, 0, 0, 1},
        {"plain", 3, VS_METRIC_L2, 0, 0, 0, 0},
        {"graph", 1000, VS_METRIC_DOT, 1, 4, VS_QUANT_SQ8, 0},
    };
    for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
        char dir[256];
        snprintf(dir, sizeof dir, "%s/%s.vs", fuzz_dir(), st[i].name);
        fuzz_store_make(dir, st[i].rows, st[i].m, st[i].text, st[i].hm, st[i].q, st[i].more);
        snprintf(from, sizeof from, "%s/MANIFEST", dir);
        if (i == 0) {
            snprintf(to, sizeof to, "%s/manifest/%s", c, st[i].name);
            copy_file(from, to, 23); /* the target appends the checksum line */
            snprintf(to, sizeof to, "%s/manifest/%s-with-checksum", c, st[i].name);
            copy_file(from, to, 0);
        }
        struct vs_store *s = NULL;
        if (vs_store_open(dir, &s, NULL) != VS_OK)
            abort();
        for (size_t k = 0; k < vs_store_nsegments(s); k++) {
            const char *name = vs_store_segment(s, k)->name;
            snprintf(from, sizeof from, "%s/%s", dir, name);
            snprintf(to, sizeof to, "%s/segment/%s-%s", c, st[i].name, name);
            copy_file(from, to, 0);
        }
        vs_store_close(s);
    }
    /* graphs (format 2) and codes (format 2) over small random sets */
    static float v[300 * 8];
    struct { uint64_t n; size_t dim; enum vs_metric m; uint32_t M; } gs[] = {
        {0, 4, VS_METRIC_L2, 4}, {1, 3, VS_METRIC_COSINE, 2}, {70, 8, VS_METRIC_L2, 4},
        {300, 4, VS_METRIC_DOT, 6},
    };
    for (size_t i = 0; i < sizeof gs / sizeof gs[0]; i++) {
        vecs_of(v, gs[i].n, gs[i].dim, (uint32_t)i + 1);
        struct vs_hnsw_opts o = {.M = gs[i].M, .ef_construction = 16, .seed = 3, .threads = 1, .simd = -1};
        struct vs_hnsw *h = NULL;
        void *buf;
        size_t len;
        if (vs_hnsw_build(v, gs[i].n, gs[i].dim, gs[i].m, &o, &h, NULL) != VS_OK ||
            vs_hnsw_save(h, 3, &buf, &len, NULL) != VS_OK)
            abort();
        snprintf(to, sizeof to, "%s/hnsw/n%llu-d%zu-m%u", c, (unsigned long long)gs[i].n,
                 gs[i].dim, gs[i].M);
        put(to, buf, len);
        free(buf);
        vs_hnsw_free(h);
    }
    struct { enum vs_quant_kind k; uint64_t n; size_t dim; } qs[] = {
        {VS_QUANT_F16, 5, 4}, {VS_QUANT_SQ8, 70, 8}, {VS_QUANT_BINARY, 9, 70}, {VS_QUANT_SQ8, 0, 3},
    };
    static float qv[70 * 70];
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        vecs_of(qv, qs[i].n, qs[i].dim, (uint32_t)i + 9);
        struct vs_quant *q = NULL;
        void *buf;
        size_t len;
        if (vs_quant_build(qs[i].k, VS_METRIC_L2, qv, qs[i].n, qs[i].dim, -1, &q, NULL) != VS_OK ||
            vs_quant_save(q, &buf, &len, NULL) != VS_OK)
            abort();
        snprintf(to, sizeof to, "%s/quant/%s-n%llu-d%zu", c, vs_quant_name(qs[i].k),
                 (unsigned long long)qs[i].n, qs[i].dim);
        put(to, buf, len);
        free(buf);
        vs_quant_free(q);
    }
    return 0;
}
