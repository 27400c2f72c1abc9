/* bench/cold_rewrite.c SRC.vs DST.vs: rewrite a store's segments in the
 * current segment format (vectors blocks, graph and codes layout) keeping
 * their graphs and codes as they are, for bench/cold.sh: its 1M-row stores
 * take tens of minutes to build on a shared machine, and a rewrite
 * compares old and new layouts on the very same graph. Rows, ids, docs,
 * vectors, the graph's links and the codes are copied; the manifest is
 * copied byte for byte (segment names do not change). Stores with BM25
 * sections or deletions are refused (bench stores have neither). Uses the
 * library's internal headers: a bench tool, not a program of the suite. */
#include "hnsw_internal.h"
#include "quant_internal.h"
#include "store_hnsw_internal.h"
#include "store_internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int fail(const char *what, const struct vs_diag *d)
{
    fprintf(stderr, "cold_rewrite: %s: %s%s%s\n", what, d ? d->file : "",
            d && d->file[0] ? ": " : "", d ? d->detail : "");
    return 1;
}

static int copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    char buf[65536];
    size_t n;
    int ok = a && b;
    while (ok && (n = fread(buf, 1, sizeof buf, a)) > 0)
        ok = fwrite(buf, 1, n, b) == n;
    if (a)
        fclose(a);
    if (b && fclose(b) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

static int rewrite(const char *src, const char *dst, const char *name, enum vs_metric metric)
{
    struct vs_diag d;
    vs_diag_clear(&d);
    struct vs_segment *g = NULL;
    struct vs_segw *w = NULL;
    struct vs_hnsw *h = NULL;
    struct vs_quant *q = NULL;
    char *doc = NULL;
    size_t cap = 0, len;
    int rc = 1;
    const char *const *ids;
    const float *vecs;
    if (vs_seg_open(src, name, &g, &d) != VS_OK)
        return fail("open", &d);
    for (uint32_t i = 0; i < g->nsect; i++)
        if (g->sect[i].type == 6) {
            fprintf(stderr, "cold_rewrite: %s has a bm25 section: not supported\n", name);
            goto done;
        }
    if (vs_segment_ids(g, &ids, &d) != VS_OK || vs_segment_vectors(g, &vecs, &d) != VS_OK) {
        rc = fail("read", &d);
        goto done;
    }
    int st = vs_seg_hnsw(g, &h, &d);
    if (st == VS_OK) {
        st = vs_seg_quant(g, &q, &d);
        if (st == VS_E_NOTFOUND)
            st = VS_OK;
    } else if (st == VS_E_NOTFOUND) {
        st = VS_OK;
    }
    if (st == VS_OK && h)
        st = vs_hnsw_verify(h, &d); /* every level-0 block decoded (and checked) */
    if (st != VS_OK) {
        rc = fail("graph", &d);
        goto done;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dst, name);
    if (vs_segw_new(path, g->dim, &w, &d) != VS_OK) {
        rc = fail("create", &d);
        goto done;
    }
    if (h) {
        struct vs_hnsw_opts o = {.M = vs_hnsw_M(h), .ef_construction = vs_hnsw_ef_construction(h),
                                 .simd = -1, .quant = q ? (uint32_t)vs_quant_kind(q) : 0};
        if (vs_segw_hnsw(w, metric, &o, 1, &d) != VS_OK) {
            rc = fail("graph builder", &d);
            goto done;
        }
        vs_hnswb_adopt(vs_segw_graph(w), h, q);
        h = NULL;
        q = NULL;
    }
    for (uint64_t r = 0; r < g->rows; r++)
        if (vs_seg_doc_raw(g, r, &doc, &cap, &len, &d) != VS_OK ||
            vs_segw_add(w, ids[r], vecs + r * g->dim, doc, len, &d) != VS_OK) {
            rc = fail("row", &d);
            goto done;
        }
    if (vs_segw_finish(w, NULL, &d) != VS_OK) {
        rc = fail("finish", &d);
        goto done;
    }
    rc = 0;
done:
    free(doc);
    vs_segw_free(w); /* frees the adopted graph and codes */
    vs_hnsw_free(h);
    vs_quant_free(q);
    vs_seg_close(g);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: cold_rewrite SRC.vs DST.vs\n");
        return 2;
    }
    char man[4096], to[4096];
    snprintf(man, sizeof man, "%s/MANIFEST", argv[1]);
    json_error_t je;
    /* the body is JSON followed by an "xxh64 ..." line */
    json_t *m = json_load_file(man, JSON_DISABLE_EOF_CHECK, &je);
    if (!m) {
        fprintf(stderr, "cold_rewrite: %s: %s\n", man, je.text);
        return 1;
    }
    if (mkdir(argv[2], 0755) != 0) {
        fprintf(stderr, "cold_rewrite: %s: %s\n", argv[2], strerror(errno));
        return 1;
    }
    const char *ms = json_string_value(json_object_get(m, "metric"));
    enum vs_metric metric = ms && !strcmp(ms, "l2") ? VS_METRIC_L2
                          : ms && !strcmp(ms, "dot") ? VS_METRIC_DOT : VS_METRIC_COSINE;
    json_t *segs = json_object_get(m, "segments"), *e;
    size_t i;
    int rc = 0;
    json_array_foreach(segs, i, e) {
        json_t *del = json_object_get(e, "del");
        if (del && !json_is_null(del)) {
            fprintf(stderr, "cold_rewrite: deletion files are not supported\n");
            rc = 1;
            break;
        }
        if ((rc = rewrite(argv[1], argv[2], json_string_value(json_object_get(e, "file")), metric)))
            break;
    }
    snprintf(to, sizeof to, "%s/MANIFEST", argv[2]);
    if (!rc && copy_file(man, to) != 0) {
        fprintf(stderr, "cold_rewrite: cannot copy the manifest\n");
        rc = 1;
    }
    json_decref(m);
    return rc;
}
