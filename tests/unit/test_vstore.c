/* test_vstore.c: a store's vector storage setting (vector_storage f16):
 * segments keep half floats that read back as exactly the f16 rounding of
 * what was written (block reads, whole-section reads, merges, compaction),
 * damage is caught, the manifest is format version 2, out-of-range values
 * are refused; and on real data (SciFact under VS_DATA, hash-embedded)
 * exact and HNSW search over an f16 store find what float32 finds. */
#include "test.h"
#include "test_data.h"
#include "store_internal.h"
#include "vs_internal.h"
#include "vs_quant.h"
#include "vecstore.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[256];
static int nstore;

static const char *newpath(void)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/s%d.vs", root, nstore++);
    return p;
}

static struct vs_writer *open_w(const char *path, uint32_t dim, uint32_t storage,
                                uint32_t hnsw_m)
{
    struct vs_store_settings ss = {0};
    ss.metric = VS_METRIC_L2;
    ss.dim = dim;
    ss.vector_storage = storage;
    ss.hnsw_m = hnsw_m;
    ss.hnsw_ef_construction = hnsw_m ? 40 : 0;
    ss.hnsw_seeded = hnsw_m != 0;
    ss.hnsw_seed = 3;
    struct vs_writer_opts o = {&ss, 0};
    struct vs_writer *w = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    if (vs_writer_open(path, &o, &w, &d) != VS_OK)
        printf("#   open: %s\n", d.detail);
    return w;
}

static int add_rows(struct vs_writer *w, const float *x, size_t from, size_t to, size_t dim)
{
    for (size_t i = from; i < to; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "{\"id\":\"r%zu\"}", i);
        json_t *rec = json_loads(buf, 0, NULL);
        struct vs_diag d;
        vs_diag_clear(&d);
        int st = vs_writer_upsert(w, rec, x + i * dim, dim, &d);
        json_decref(rec);
        if (st != VS_OK)
            return st;
    }
    struct vs_diag d;
    vs_diag_clear(&d);
    return vs_writer_commit(w, &d);
}

/* every live record's vector is the f16 rounding of x's row (f16) or x's
 * row itself (float32), bit for bit; returns the rows that differ */
static size_t count_mismatches(const char *path, const float *x, size_t n, size_t dim, int f16)
{
    struct vs_store *s = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    if (vs_store_open(path, &s, &d) != VS_OK)
        return n + 1;
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "r%zu", i);
        json_t *rec = NULL;
        if (vs_store_get(s, id, &rec, &d) != VS_OK) {
            bad++;
            continue;
        }
        json_t *v = json_object_get(rec, "vector");
        int same = json_array_size(v) == dim;
        for (size_t j = 0; same && j < dim; j++) {
            float want = f16 ? vs_quant_f16_to_f32(vs_quant_f32_to_f16(x[i * dim + j]))
                             : x[i * dim + j];
            same = (float)json_number_value(json_array_get(v, j)) == want;
        }
        bad += !same;
        json_decref(rec);
    }
    /* the whole-section path (exact scans) gives the same floats */
    for (size_t g = 0; g < vs_store_nsegments(s); g++) {
        struct vs_segment *seg = vs_store_segment(s, g);
        const float *all;
        const char *const *ids;
        if (vs_segment_vectors(seg, &all, &d) != VS_OK || vs_segment_ids(seg, &ids, &d) != VS_OK) {
            bad++;
            continue;
        }
        for (uint64_t r = 0; r < seg->rows; r++) {
            size_t i = (size_t)strtoul(ids[r] + 1, NULL, 10);
            for (size_t j = 0; j < dim; j++) {
                float want = f16 ? vs_quant_f16_to_f32(vs_quant_f32_to_f16(x[i * dim + j]))
                                 : x[i * dim + j];
                if (all[r * dim + j] != want) {
                    bad++;
                    break;
                }
            }
        }
    }
    vs_store_close(s);
    return bad;
}

static long vectors_section_bytes(const char *path, int *codec)
{
    struct vs_store *s = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    if (vs_store_open(path, &s, &d) != VS_OK)
        return -1;
    long n = 0;
    for (size_t g = 0; g < vs_store_nsegments(s); g++) {
        struct vs_segment *seg = vs_store_segment(s, g);
        for (uint32_t i = 0; i < seg->nsect; i++)
            if (seg->sect[i].type == 2) {
                n += (long)seg->sect[i].len;
                *codec = (int)seg->sect[i].codec;
            }
    }
    vs_store_close(s);
    return n;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *b = malloc(1 << 20);
    *len = b ? fread(b, 1, (1 << 20) - 1, f) : 0;
    if (b)
        b[*len] = '\0';
    fclose(f);
    return b;
}

static void test_round_trip(void)
{
    const size_t n = 1300, dim = 37; /* 1300: a graph in the merged segment */
    float *x = make_mixture(n, dim, 11, 3.0f);
    char *p32 = strdup(newpath()), *p16 = strdup(newpath());
    struct vs_writer *w32 = open_w(p32, (uint32_t)dim, VS_VSTORE_FLOAT32, 8);
    struct vs_writer *w16 = open_w(p16, (uint32_t)dim, VS_VSTORE_F16, 8);
    CHECK(x && w32 && w16);
    if (!x || !w32 || !w16)
        goto out;
    /* two commits each (the second merges: a graph-ordered segment), then
     * compaction after deleting a few rows */
    CHECK_EQ_INT(add_rows(w32, x, 0, 200, dim), VS_OK);
    CHECK_EQ_INT(add_rows(w16, x, 0, 200, dim), VS_OK);
    CHECK_EQ_INT(add_rows(w32, x, 200, n, dim), VS_OK);
    CHECK_EQ_INT(add_rows(w16, x, 200, n, dim), VS_OK);
    CHECK_EQ_INT(count_mismatches(p32, x, n, dim, 0), 0);
    CHECK_EQ_INT(count_mismatches(p16, x, n, dim, 1), 0);
    /* some values really were rounded: f16 is not float32 in disguise */
    size_t rounded = 0;
    for (size_t i = 0; i < n * dim; i++)
        rounded += vs_quant_f16_to_f32(vs_quant_f32_to_f16(x[i])) != x[i];
    CHECK(rounded > n * dim / 2);
    int c32 = -1, c16 = -1;
    long b32 = vectors_section_bytes(p32, &c32), b16 = vectors_section_bytes(p16, &c16);
    CHECK_EQ_INT(b32, (long)(n * dim * 4));
    CHECK_EQ_INT(b16, (long)(n * dim * 2));
    CHECK_EQ_INT(c16, VS_CODEC_F16);
    CHECK(c32 != VS_CODEC_F16);
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_store_verify(p16, &d), VS_OK);
    /* compaction rewrites the f16 rows as they are */
    int found = 0;
    CHECK_EQ_INT(vs_writer_delete(w16, "r3", &found, &d), VS_OK);
    CHECK_EQ_INT(vs_writer_commit(w16, &d), VS_OK);
    CHECK_EQ_INT(vs_writer_compact(w16, &d), VS_OK);
    CHECK_EQ_INT(count_mismatches(p16, x, 4, dim, 1), 1); /* r3 is gone, the rest kept */
    CHECK_EQ_INT(count_mismatches(p16, x, n, dim, 1), 1);
    CHECK_EQ_INT(vs_store_verify(p16, &d), VS_OK);
    /* a value beyond f16's range is refused, naming the field */
    float big[37] = {0};
    big[5] = 70000.0f;
    json_t *rec = json_loads("{\"id\":\"big\"}", 0, NULL);
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_writer_upsert(w16, rec, big, dim, &d), VS_E_DATA);
    CHECK(strstr(d.detail, "f16") != NULL);
    CHECK_EQ_STR(d.field, "vector");
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_writer_upsert(w32, rec, big, dim, &d), VS_OK); /* float32 keeps it */
    json_decref(rec);
    /* the manifest: version 2 naming f16; a float32 store's is unchanged */
    char mf[600];
    size_t len;
    snprintf(mf, sizeof mf, "%s/MANIFEST", p16);
    char *m = slurp(mf, &len);
    CHECK(m && strstr(m, "\"version\": 2,") && strstr(m, "\"vector_storage\": \"f16\""));
    free(m);
    snprintf(mf, sizeof mf, "%s/MANIFEST", p32);
    m = slurp(mf, &len);
    CHECK(m && strstr(m, "\"version\": 1,") && !strstr(m, "vector_storage"));
    free(m);
out:
    vs_writer_close(w32);
    vs_writer_close(w16);
    free(x);
    free(p32);
    free(p16);
}

/* a damaged f16 vectors block is VS_E_CORRUPT for verify and for a read */
static void test_damage(void)
{
    const size_t n = 100, dim = 8;
    float *x = make_mixture(n, dim, 5, 2.0f);
    const char *p = newpath();
    struct vs_writer *w = open_w(p, (uint32_t)dim, VS_VSTORE_F16, 0);
    CHECK(x && w);
    if (!x || !w) {
        free(x);
        vs_writer_close(w);
        return;
    }
    CHECK_EQ_INT(add_rows(w, x, 0, n, dim), VS_OK);
    vs_writer_close(w);
    char seg[600];
    snprintf(seg, sizeof seg, "%s/seg-00000001.vseg", p);
    /* row 40's bytes: offset 64 (header) + 40 rows x 8 x 2 */
    CHECK_EQ_INT(vs_test_flip_byte(seg, 64 + 40 * 8 * 2 + 3, 0x40), 0);
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_store_verify(p, &d), VS_E_CORRUPT);
    CHECK(strstr(d.detail, "vectors") != NULL);
    struct vs_store *s = NULL;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_store_open(p, &s, &d), VS_OK);
    json_t *rec = NULL;
    if (s) {
        CHECK_EQ_INT(vs_store_get(s, "r40", &rec, &d), VS_E_CORRUPT);
        CHECK(strstr(d.detail, "section 'vectors' block 2") != NULL);
        json_decref(rec);
        rec = NULL;
        vs_diag_clear(&d);
        CHECK_EQ_INT(vs_store_get(s, "r1", &rec, &d), VS_OK); /* block 0 is fine */
        json_decref(rec);
    }
    vs_store_close(s);
    free(x);
}

/* ---- real data: SciFact abstracts and claims, hash-embedded (384-d) ---- */

static char **read_texts(const char *path, size_t max, size_t *n)
{
    FILE *f = fopen(path, "r");
    *n = 0;
    if (!f)
        return NULL;
    char **t = calloc(max, sizeof *t);
    char *line = NULL;
    size_t cap = 0;
    while (t && *n < max && getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        const char *title = json_string_value(json_object_get(o, "title"));
        const char *text = json_string_value(json_object_get(o, "text"));
        if (text) {
            size_t l = strlen(text) + (title ? strlen(title) : 0) + 2;
            if ((t[*n] = malloc(l)))
                snprintf(t[(*n)++], l, "%s%s%s", title ? title : "", title ? " " : "", text);
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    return t;
}

static void free_texts(char **t, size_t n)
{
    for (size_t i = 0; t && i < n; i++)
        free(t[i]);
    free(t);
}

/* the top-10 ids of each query, k * nq entries "r<row>" as numbers */
static int search_ids(vs_db *db, const float *q, size_t nq, size_t dim, int exact,
                      long *out)
{
    struct vs_search_opts o;
    vs_search_opts_init(&o, sizeof o);
    o.k = 10;
    o.exact = exact;
    o.ef = 64;
    o.ids_only = 1;
    for (size_t i = 0; i < nq; i++) {
        struct vs_search_query sq = {NULL, q + i * dim, dim, NULL, NULL, 0};
        vs_results *r = NULL;
        struct vs_error err;
        int rc = vs_db_search(db, &sq, &o, &r, &err);
        if (rc != VS_OK)
            return rc;
        for (size_t j = 0; j < 10; j++) {
            const struct vs_hit *h = vs_results_hit(r, 0, j);
            out[i * 10 + j] = h ? strtol(h->id + 1, NULL, 10) : -1;
        }
        vs_results_free(r);
    }
    return VS_OK;
}

static double recall(const long *got, const long *want, size_t nq)
{
    size_t hit = 0;
    for (size_t i = 0; i < nq; i++)
        for (size_t j = 0; j < 10; j++)
            for (size_t k = 0; k < 10; k++)
                if (got[i * 10 + j] >= 0 && got[i * 10 + j] == want[i * 10 + k]) {
                    hit++;
                    break;
                }
    return (double)hit / (double)(nq * 10);
}

static void test_scifact_recall(void)
{
    const char *data = getenv("VS_DATA");
    char cp[1024], qp[1024];
    snprintf(cp, sizeof cp, "%s/datasets/scifact/corpus.jsonl", data ? data : "../shared/data");
    snprintf(qp, sizeof qp, "%s/datasets/scifact/queries.jsonl", data ? data : "../shared/data");
    if (access(cp, R_OK) != 0 || access(qp, R_OK) != 0)
        SKIP("SciFact not found (set VS_DATA to the shared data folder)");
    size_t nd = 0, nq = 0;
    char **docs = read_texts(cp, 2000, &nd), **qs = read_texts(qp, 200, &nq);
    vs_encoder *e = NULL;
    struct vs_error err;
    const size_t dim = 384;
    float *dv = malloc(2000 * dim * sizeof *dv), *qv = malloc(200 * dim * sizeof *qv);
    long *want = malloc(200 * 10 * sizeof *want), *got = malloc(200 * 10 * sizeof *got);
    long *hnsw32 = malloc(200 * 10 * sizeof *got);
    vs_db *db[2] = {NULL, NULL};
    CHECK(nd == 2000 && nq == 200 && dv && qv && want && got && hnsw32);
    if (nd != 2000 || nq != 200 || !dv || !qv || !want || !got || !hnsw32)
        goto out;
    CHECK_EQ_INT(vs_encoder_open("hash", dim, NULL, &e, &err), VS_OK);
    if (!e)
        goto out;
    const char **dt = malloc(nd * sizeof *dt), **qt = malloc(nq * sizeof *qt);
    for (size_t i = 0; dt && i < nd; i++)
        dt[i] = docs[i];
    for (size_t i = 0; qt && i < nq; i++)
        qt[i] = qs[i];
    CHECK(dt && qt);
    if (dt && qt) {
        CHECK_EQ_INT(vs_encoder_embed(e, VS_ROLE_DOCUMENT, dt, nd, dv, NULL, &err), VS_OK);
        CHECK_EQ_INT(vs_encoder_embed(e, VS_ROLE_QUERY, qt, nq, qv, NULL, &err), VS_OK);
    }
    free(dt);
    free(qt);
    const char *kinds[2] = {"float32", "f16"};
    for (int k = 0; k < 2; k++) {
        struct vs_db_config c;
        vs_db_config_init(&c, sizeof c);
        c.dim = dim;
        c.hnsw_m = 16;
        c.hnsw_ef_construction = 64;
        c.hnsw_seed = 7;
        c.analyzer = "none";
        c.vector_storage = kinds[k];
        CHECK_EQ_INT(vs_db_open(newpath(), VS_DB_CREATE | VS_DB_EXCL, &c, 0, &db[k], &err), VS_OK);
        if (!db[k])
            goto out;
        for (size_t i = 0; i < nd; i++) {
            char id[32];
            snprintf(id, sizeof id, "r%zu", i);
            struct vs_record r = {id, dv + i * dim, dim, NULL, NULL, NULL};
            if (vs_db_upsert(db[k], &r, &err) != VS_OK) {
                CHECK(0);
                goto out;
            }
        }
        CHECK_EQ_INT(vs_db_commit(db[k], &err), VS_OK);
    }
    /* exact search over f16 against float32's exact top 10 */
    CHECK_EQ_INT(search_ids(db[0], qv, nq, dim, 1, want), VS_OK);
    CHECK_EQ_INT(search_ids(db[1], qv, nq, dim, 1, got), VS_OK);
    double r_exact = recall(got, want, nq);
    printf("# exact recall@10 of f16 vs float32, 2000 SciFact docs, 200 claims: %.4f\n", r_exact);
    CHECK(r_exact >= 0.99);
    /* HNSW (ef 64): the f16 store recalls what the float32 store does */
    CHECK_EQ_INT(search_ids(db[0], qv, nq, dim, 0, hnsw32), VS_OK);
    CHECK_EQ_INT(search_ids(db[1], qv, nq, dim, 0, got), VS_OK);
    double r32 = recall(hnsw32, want, nq), r16 = recall(got, want, nq);
    printf("# HNSW ef 64 recall@10 vs float32 exact: float32 %.4f, f16 %.4f\n", r32, r16);
    CHECK(r16 >= r32 - 0.01);
out:
    vs_db_close(db[0]);
    vs_db_close(db[1]);
    vs_encoder_free(e);
    free_texts(docs, nd);
    free_texts(qs, nq);
    free(dv);
    free(qv);
    free(want);
    free(got);
    free(hnsw32);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

int main(void)
{
    snprintf(root, sizeof root, "/tmp/vs_test_vstore_XXXXXX");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_round_trip);
    RUN(test_damage);
    RUN(test_scifact_recall);
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return vs_test_done();
}
