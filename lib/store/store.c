/* store.c: the store directory: manifest, readers, the writer and its lock,
 * commits, the merge policy, compaction, snapshots, info and verify.
 * Segment and deletion files are in segment.c; writing the manifest, the
 * lock file and removing the files no manifest names in store_dir.c;
 * docs/store-format.md describes the format and the commit protocol. */
#include "store_hnsw_internal.h"
#include "store_internal.h"
#include "vs_analyzer.h"
#include "vs_ndjson.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define MANIFEST "MANIFEST"
#define LOCKFILE "LOCK"
#define OPEN_RETRIES 50

/* ---- id map: id -> (segment, row), open addressing ---- */

#define SEG_PENDING UINT32_MAX
#define SEG_DEAD (UINT32_MAX - 1)

struct idmap {
    size_t cap, n;
    const char **key;
    uint32_t *seg;
    uint64_t *row;
};

static void idmap_release(struct idmap *m)
{
    free(m->key);
    free(m->seg);
    free(m->row);
    memset(m, 0, sizeof *m);
}

static size_t idmap_slot(const struct idmap *m, const char *key, int *found)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)XXH3_64bits(key, strlen(key)) & mask;
    while (m->key[i]) {
        if (strcmp(m->key[i], key) == 0) {
            *found = 1;
            return i;
        }
        i = (i + 1) & mask;
    }
    *found = 0;
    return i;
}

static int idmap_put(struct idmap *m, const char *key, uint32_t seg, uint64_t row)
{
    if ((m->n + 1) * 2 > m->cap) {
        struct idmap nm = {0};
        nm.cap = m->cap ? m->cap * 2 : 1024;
        nm.key = calloc(nm.cap, sizeof *nm.key);
        nm.seg = malloc(nm.cap * sizeof *nm.seg);
        nm.row = malloc(nm.cap * sizeof *nm.row);
        if (!nm.key || !nm.seg || !nm.row) {
            idmap_release(&nm);
            return VS_E_NOMEM;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->key[i]) {
                int f;
                size_t j = idmap_slot(&nm, m->key[i], &f);
                nm.key[j] = m->key[i];
                nm.seg[j] = m->seg[i];
                nm.row[j] = m->row[i];
            }
        nm.n = m->n;
        idmap_release(m);
        *m = nm;
    }
    int f;
    size_t i = idmap_slot(m, key, &f);
    if (!f) {
        m->key[i] = key;
        m->n++;
    }
    m->seg[i] = seg;
    m->row[i] = row;
    return VS_OK;
}

/* 1 and the slot when key is present and not dead. */
static int idmap_get(const struct idmap *m, const char *key, size_t *slot)
{
    if (!m->cap)
        return 0;
    int f;
    size_t i = idmap_slot(m, key, &f);
    if (!f || m->seg[i] == SEG_DEAD)
        return 0;
    *slot = i;
    return 1;
}

/* ---- the store (a reader of one generation) ---- */

struct vs_store {
    char path[4096];
    struct vs_store_settings st;
    uint64_t generation, next_segment;
    size_t nseg;
    struct vs_segment **seg;
    char *manifest; /* raw bytes of the manifest read */
    size_t manifest_len;
    pthread_mutex_t mu;
    struct idmap map;
    int map_ready;
};

static struct vs_store *store_alloc(const char *path)
{
    struct vs_store *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    snprintf(s->path, sizeof s->path, "%s", path);
    pthread_mutex_init(&s->mu, NULL);
    s->st.metric = VS_METRIC_COSINE;
    s->st.normalize = 1;
    return s;
}

void vs_store_close(struct vs_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nseg; i++)
        vs_seg_close(s->seg[i]);
    free(s->seg);
    free(s->manifest);
    idmap_release(&s->map);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int bad_manifest(struct vs_diag *d, const char *path, const char *why)
{
    char f[4200];
    snprintf(f, sizeof f, "%s/" MANIFEST, path);
    vs_diag_where(d, f, 0);
    return vs_diag_set(d, VS_E_CORRUPT, "manifest is damaged: %s", why);
}

/* Read and check the manifest into s (settings, generation, names). The
 * segment names go to *segs (a JSON array, new reference). */
static int read_manifest(struct vs_store *s, json_t **segs, struct vs_diag *d)
{
    *segs = NULL;
    char f[4200];
    snprintf(f, sizeof f, "%s/" MANIFEST, s->path);
    struct stat sb;
    if (stat(s->path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        vs_diag_where(d, s->path, 0);
        return vs_diag_set(d, VS_E_NOSTORE, "no such store");
    }
    int fd = vs_io_open_regular(f, &sb);
    if (fd == -2) {
        vs_diag_where(d, f, 0);
        return vs_diag_set(d, VS_E_CORRUPT, "manifest is not a regular file");
    }
    if (fd < 0) {
        int e = errno;
        vs_diag_where(d, s->path, 0);
        if (e == ENOENT)
            return vs_diag_set(d, VS_E_NOSTORE, "not a store (no MANIFEST)");
        return vs_diag_set(d, vs_status_from_errno(e), "cannot open the manifest: %s",
                           strerror(e));
    }
    if (sb.st_size > (64 << 20)) {
        close(fd);
        return bad_manifest(d, s->path, "implausible size");
    }
    size_t len = (size_t)sb.st_size;
    char *buf = malloc(len + 1);
    if (!buf) {
        close(fd);
        return vs_diag_set(d, VS_E_NOMEM, "cannot read the manifest");
    }
    int st = vs_io_pread_all(fd, buf, len, 0);
    close(fd);
    if (st != VS_OK) {
        free(buf);
        return st == VS_E_CORRUPT ? bad_manifest(d, s->path, "truncated")
                                  : vs_diag_set(d, st, "cannot read the manifest");
    }
    buf[len] = '\0';
    /* body, then "xxh64 HEX\n" */
    char *tail = len >= 24 ? buf + len - 23 : NULL;
    if (!tail || tail[-1] != '\n' || strncmp(tail, "xxh64 ", 6) != 0 ||
        tail[22] != '\n') {
        free(buf);
        return bad_manifest(d, s->path, "no checksum line");
    }
    char *end;
    unsigned long long want = strtoull(tail + 6, &end, 16);
    if (end != tail + 22 || XXH64(buf, (size_t)(tail - buf), 0) != want) {
        free(buf);
        return bad_manifest(d, s->path, "checksum mismatch");
    }
    json_error_t je;
    json_t *m = json_loadb(buf, (size_t)(tail - buf), 0, &je);
    if (!m) {
        free(buf);
        return bad_manifest(d, s->path, "not JSON");
    }
    json_t *jv = json_object_get(m, "version");
    const char *fmt = json_string_value(json_object_get(m, "format"));
    if (!fmt || strcmp(fmt, "vecstore") != 0 || !json_is_integer(jv)) {
        json_decref(m);
        free(buf);
        return bad_manifest(d, s->path, "not a vecstore manifest");
    }
    if (json_integer_value(jv) != VS_MANIFEST_VERSION &&
        json_integer_value(jv) != VS_MANIFEST_VERSION_F16) {
        vs_diag_where(d, f, 0);
        st = vs_diag_set(d, VS_E_VERSION,
                         "store format version %lld is not supported (this build "
                         "reads versions %d and %d)", (long long)json_integer_value(jv),
                         VS_MANIFEST_VERSION, VS_MANIFEST_VERSION_F16);
        json_decref(m);
        free(buf);
        return st;
    }
    json_t *jg = json_object_get(m, "generation"), *jn = json_object_get(m, "next_segment");
    json_t *jd = json_object_get(m, "dim"), *jnorm = json_object_get(m, "normalize");
    const char *metric = json_string_value(json_object_get(m, "metric"));
    const char *model = json_string_value(json_object_get(m, "model"));
    json_t *sg = json_object_get(m, "segments");
    if (!json_is_integer(jg) || !json_is_integer(jn) || !json_is_integer(jd) ||
        json_integer_value(jd) < 0 || json_integer_value(jd) > VS_SEG_MAX_DIM ||
        !json_is_boolean(jnorm) || !metric || !model || strlen(model) >= 128 ||
        vs_metric_parse(metric, &s->st.metric) != VS_OK || !json_is_array(sg)) {
        json_decref(m);
        free(buf);
        return bad_manifest(d, s->path, "missing or invalid field");
    }
    s->generation = (uint64_t)json_integer_value(jg);
    s->next_segment = (uint64_t)json_integer_value(jn);
    s->st.dim = (uint32_t)json_integer_value(jd);
    s->st.normalize = json_is_true(jnorm);
    snprintf(s->st.model, sizeof s->st.model, "%s", model);
    /* optional (absent in stores made before the text index) */
    const char *an = json_string_value(json_object_get(m, "analyzer"));
    const char *tf = json_string_value(json_object_get(m, "text_field"));
    if ((an && strlen(an) >= sizeof s->st.analyzer) ||
        (tf && strlen(tf) >= sizeof s->st.text_field)) {
        json_decref(m);
        free(buf);
        return bad_manifest(d, s->path, "invalid analyzer or text_field");
    }
    /* an analyzer this build cannot make would leave the text index
     * unreadable and every writer failing later: refused here */
    if (an && an[0]) {
        struct vs_analyzer *a = NULL;
        int ok = vs_analyzer_new(an, &a, NULL) == VS_OK;
        vs_analyzer_free(a);
        if (!ok) {
            json_decref(m);
            free(buf);
            return bad_manifest(d, s->path, "unknown analyzer");
        }
    }
    snprintf(s->st.analyzer, sizeof s->st.analyzer, "%s", an ? an : "");
    snprintf(s->st.text_field, sizeof s->st.text_field, "%s", tf ? tf : "");
    if (vs_vector_storage_read(m, &s->st.vector_storage) != VS_OK) {
        json_decref(m);
        free(buf);
        return bad_manifest(d, s->path, "invalid vector_storage (version 2 names f16)");
    }
    if (vs_store_hnsw_read(m, &s->st) != VS_OK) {
        json_decref(m);
        free(buf);
        return bad_manifest(d, s->path, "invalid hnsw settings");
    }
    /* the numbers writers build on: a generation from 1, a next segment
     * number above every segment listed (a writer creates its next segment
     * there with O_EXCL), each segment once, deletion files of their own
     * segment and of no later generation */
    const char *why = json_integer_value(jg) < 1   ? "generation is not a positive number"
                      : json_integer_value(jn) < 1 ? "next_segment is not a positive number"
                                                   : NULL;
    if (why) {
        json_decref(m);
        free(buf);
        return bad_manifest(d, s->path, why);
    }
    size_t i;
    json_t *e;
    uint64_t *nums = calloc(json_array_size(sg) + 1, sizeof *nums);
    if (!nums) {
        json_decref(m);
        free(buf);
        return vs_diag_set(d, VS_E_NOMEM, "cannot read the manifest");
    }
    json_array_foreach(sg, i, e) {
        const char *file = json_string_value(json_object_get(e, "file"));
        json_t *del = json_object_get(e, "del");
        json_t *rows = json_object_get(e, "rows");
        if (!file || !vs_store_valid_file_name(file, "seg-", ".vseg") || !json_is_integer(rows) ||
            json_integer_value(rows) < 0 ||
            !(json_is_null(del) ||
              (json_is_string(del) &&
               vs_store_valid_file_name(json_string_value(del), "del-", ".vdel")))) {
            why = "invalid segment entry";
            break;
        }
        unsigned long long num = 0, dseg = 0, dgen = 0;
        int nc = 0;
        if (sscanf(file, "seg-%llu.vseg%n", &num, &nc) != 1 || file[nc] != '\0' || num == 0) {
            why = "invalid segment entry";
            break;
        }
        if (num >= s->next_segment) {
            why = "a segment number is not below next_segment";
            break;
        }
        nums[i] = num;
        if (json_is_string(del)) {
            const char *dn = json_string_value(del);
            if (sscanf(dn, "del-%llu-%llu.vdel%n", &dseg, &dgen, &nc) != 2 || dn[nc] != '\0' ||
                dseg != num || dgen == 0 || dgen > s->generation) {
                why = "a deletion file does not belong to its segment and generation";
                break;
            }
        }
    }
    if (!why) { /* sorted, a segment listed twice is two equal neighbours */
        qsort(nums, json_array_size(sg), sizeof *nums, cmp_u64);
        for (size_t k = 1; k < json_array_size(sg) && !why; k++)
            if (nums[k] == nums[k - 1])
                why = "a segment is listed twice";
    }
    free(nums);
    if (why) {
        json_decref(m);
        free(buf);
        return bad_manifest(d, s->path, why);
    }
    *segs = json_incref(sg);
    json_decref(m);
    free(s->manifest);
    s->manifest = buf;
    s->manifest_len = len;
    return VS_OK;
}

/* Open the segments named in segs. VS_E_NOTFOUND when one is gone. */
static int open_segments(struct vs_store *s, json_t *segs, struct vs_diag *d)
{
    size_t n = json_array_size(segs);
    s->seg = calloc(n ? n : 1, sizeof *s->seg);
    if (!s->seg)
        return vs_diag_set(d, VS_E_NOMEM, "cannot allocate segments");
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(segs, i);
        struct vs_segment *g;
        int st = vs_seg_open(s->path, json_string_value(json_object_get(e, "file")), &g, d);
        if (st != VS_OK)
            return st;
        s->seg[s->nseg++] = g;
        if (g->rows != (uint64_t)json_integer_value(json_object_get(e, "rows"))) {
            vs_diag_where(d, g->path, 0);
            return vs_diag_set(d, VS_E_CORRUPT, "segment has %llu rows, the manifest says %lld",
                               (unsigned long long)g->rows,
                               (long long)json_integer_value(json_object_get(e, "rows")));
        }
        if (g->dim != s->st.dim) {
            vs_diag_where(d, g->path, 0);
            return vs_diag_set(d, VS_E_CORRUPT, "segment has dimension %u, the store %u",
                               g->dim, s->st.dim);
        }
        const char *del = json_string_value(json_object_get(e, "del"));
        if (del) {
            char p[4200];
            snprintf(p, sizeof p, "%s/%s", s->path, del);
            snprintf(g->delname, sizeof g->delname, "%s", del);
            st = vs_del_read(p, g->rows, &g->del, &g->ndel, &g->del_bytes, d);
            if (st != VS_OK)
                return st;
        }
    }
    return VS_OK;
}

int vs_store_open(const char *path, struct vs_store **out, struct vs_diag *d)
{
    *out = NULL;
    uint64_t last_gen = UINT64_MAX;
    for (int attempt = 0;; attempt++) {
        struct vs_store *s = store_alloc(path);
        if (!s)
            return vs_diag_set(d, VS_E_NOMEM, "cannot allocate a store");
        json_t *segs;
        int st = read_manifest(s, &segs, d);
        if (st == VS_OK) {
            st = open_segments(s, segs, d);
            json_decref(segs);
        }
        if (st == VS_OK) {
            *out = s;
            return VS_OK;
        }
        uint64_t gen = s->generation;
        vs_store_close(s);
        if (st != VS_E_NOTFOUND)
            return st;
        /* a file is gone: a writer replaced the generation; read again */
        if ((gen == last_gen && attempt > 2) || attempt >= OPEN_RETRIES) {
            char file[512];
            snprintf(file, sizeof file, "%s", d ? d->file : "");
            vs_diag_clear(d);
            vs_diag_where(d, file, 0);
            return vs_diag_set(d, VS_E_CORRUPT, "file named in the manifest is missing");
        }
        last_gen = gen;
        struct timespec ts = {0, 2000000L * (attempt + 1)};
        nanosleep(&ts, NULL);
    }
}

const struct vs_store_settings *vs_store_settings(const struct vs_store *s)
{
    return &s->st;
}
const char *vs_store_path(const struct vs_store *s) { return s->path; }
const char *vs_store_manifest_bytes(const struct vs_store *s, size_t *len)
{
    *len = s->manifest_len;
    return s->manifest;
}
uint64_t vs_store_generation(const struct vs_store *s) { return s->generation; }
size_t vs_store_nsegments(const struct vs_store *s) { return s->nseg; }
struct vs_segment *vs_store_segment(const struct vs_store *s, size_t i)
{
    return i < s->nseg ? s->seg[i] : NULL;
}

uint64_t vs_store_count(const struct vs_store *s)
{
    uint64_t n = 0;
    for (size_t i = 0; i < s->nseg; i++)
        n += s->seg[i]->rows - s->seg[i]->ndel;
    return n;
}

uint64_t vs_store_tombstones(const struct vs_store *s)
{
    uint64_t n = 0;
    for (size_t i = 0; i < s->nseg; i++)
        n += s->seg[i]->ndel;
    return n;
}

/* Build the map of live ids (caller holds s->mu or owns s). */
static int build_map(struct vs_store *s, struct idmap *m, struct vs_diag *d)
{
    for (size_t i = 0; i < s->nseg; i++) {
        const char *const *ids;
        int st = vs_segment_ids(s->seg[i], &ids, d);
        if (st != VS_OK)
            return st;
        for (uint64_t r = 0; r < s->seg[i]->rows; r++)
            if (vs_segment_live(s->seg[i], r) &&
                idmap_put(m, ids[r], (uint32_t)i, r) != VS_OK)
                return vs_diag_set(d, VS_E_NOMEM, "cannot allocate the id map");
    }
    return VS_OK;
}

/* The segment and row of a live id (VS_E_NOTFOUND naming it). */
static int store_find(struct vs_store *s, const char *id, struct vs_segment **g,
                      uint64_t *row, struct vs_diag *d)
{
    pthread_mutex_lock(&s->mu);
    int st = VS_OK;
    if (!s->map_ready) {
        st = build_map(s, &s->map, d);
        if (st == VS_OK)
            s->map_ready = 1;
        else
            idmap_release(&s->map);
    }
    size_t slot = 0;
    int found = st == VS_OK && idmap_get(&s->map, id, &slot);
    pthread_mutex_unlock(&s->mu);
    if (st != VS_OK)
        return st;
    if (!found) {
        vs_diag_field(d, "id");
        return vs_diag_set(d, VS_E_NOTFOUND, "names no record: '%s'", id);
    }
    *g = s->seg[s->map.seg[slot]];
    *row = s->map.row[slot];
    return VS_OK;
}

int vs_store_get_doc(struct vs_store *s, const char *id, json_t **doc,
                     struct vs_diag *d)
{
    *doc = NULL;
    struct vs_segment *g;
    uint64_t row;
    int st = store_find(s, id, &g, &row, d);
    return st == VS_OK ? vs_segment_doc(g, row, doc, d) : st;
}

int vs_store_get(struct vs_store *s, const char *id, json_t **rec,
                 struct vs_diag *d)
{
    *rec = NULL;
    struct vs_segment *g;
    uint64_t row;
    int st = store_find(s, id, &g, &row, d);
    if (st != VS_OK)
        return st;
    float *v = malloc((g->dim ? g->dim : 1) * sizeof *v);
    json_t *doc = NULL;
    if (!v)
        return vs_diag_set(d, VS_E_NOMEM, "cannot allocate a vector");
    if ((st = vs_seg_vector_row(g, row, v, d)) != VS_OK ||
        (st = vs_segment_doc(g, row, &doc, d)) != VS_OK) {
        free(v);
        return st;
    }
    st = vs_record_set_vector(doc, v, g->dim, 0);
    free(v);
    if (st != VS_OK) {
        json_decref(doc);
        return vs_diag_set(d, VS_E_NOMEM, "cannot build a record");
    }
    *rec = doc;
    return VS_OK;
}

int vs_store_info(struct vs_store *s, json_t **info, struct vs_diag *d)
{
    json_t *o = json_object(), *segs = json_array();
    if (!o || !segs) {
        json_decref(o);
        json_decref(segs);
        return vs_diag_set(d, VS_E_NOMEM, "cannot build info");
    }
    uint64_t disk = s->manifest_len, raw = 0;
    for (size_t i = 0; i < s->nseg; i++) {
        struct vs_segment *g = s->seg[i];
        json_t *e = json_object(), *sects = json_array();
        json_object_set_new(e, "file", json_string(g->name));
        json_object_set_new(e, "rows", json_integer((json_int_t)g->rows));
        json_object_set_new(e, "live", json_integer((json_int_t)(g->rows - g->ndel)));
        json_object_set_new(e, "bytes", json_integer((json_int_t)g->file_bytes));
        json_object_set_new(e, "del", g->delname[0] ? json_string(g->delname) : json_null());
        for (uint32_t k = 0; k < g->nsect; k++) {
            static const char *names[] = {"unknown", "ids",  "vectors",
                                          "docindex", "docs", "vecindex", "bm25", "hnsw",
                                          "quant", "docdict"};
            const struct vs_sect *x = &g->sect[k];
            json_t *je = json_object();
            json_object_set_new(je, "name", json_string(names[x->type <= 9 ? x->type : 0]));
            json_object_set_new(je, "codec", json_string(x->codec == VS_CODEC_F16 ? "f16"
                                                         : x->codec ? "zstd" : "raw"));
            json_object_set_new(je, "bytes", json_integer((json_int_t)x->len));
            json_object_set_new(je, "raw_bytes", json_integer((json_int_t)x->raw));
            json_array_append_new(sects, je);
        }
        json_object_set_new(e, "sections", sects);
        json_array_append_new(segs, e);
        disk += g->file_bytes + g->del_bytes;
        raw += vs_seg_raw_bytes(g);
    }
    json_object_set_new(o, "store", json_string(s->path));
    json_object_set_new(o, "records", json_integer((json_int_t)vs_store_count(s)));
    json_object_set_new(o, "tombstones", json_integer((json_int_t)vs_store_tombstones(s)));
    json_object_set_new(o, "dimension", json_integer(s->st.dim));
    json_object_set_new(o, "metric", json_string(vs_metric_name(s->st.metric)));
    json_object_set_new(o, "normalize", json_boolean(s->st.normalize));
    json_object_set_new(o, "model", json_string(s->st.model));
    json_object_set_new(o, "analyzer", s->st.analyzer[0] ? json_string(s->st.analyzer)
                                                         : json_null());
    json_object_set_new(o, "text_field",
                        s->st.analyzer[0] ? json_string(s->st.text_field[0] ? s->st.text_field
                                                                            : "text")
                                          : json_null());
    if (s->st.hnsw_m)
        json_object_set_new(o, "hnsw", vs_store_hnsw_json(&s->st));
    json_object_set_new(o, "generation", json_integer((json_int_t)s->generation));
    json_object_set_new(o, "vector_storage",
                        json_string(vs_vector_storage_name(s->st.vector_storage)));
    json_object_set_new(o, "format_version",
                        json_integer(VS_MANIFEST_VERSION + (s->st.vector_storage != 0)));
    json_object_set_new(o, "segments", segs);
    json_object_set_new(o, "bytes_on_disk", json_integer((json_int_t)disk));
    json_object_set_new(o, "raw_bytes", json_integer((json_int_t)raw));
    json_object_set_new(o, "compression_ratio",
                        json_real(disk ? round((double)raw / (double)disk * 1000) / 1000 : 0.0));
    *info = o;
    return VS_OK;
}

int vs_store_verify(const char *path, struct vs_diag *d)
{
    struct vs_store *s;
    int st = vs_store_open(path, &s, d);
    if (st != VS_OK)
        return st;
    for (size_t i = 0; i < s->nseg && st == VS_OK; i++)
        st = vs_seg_verify(s->seg[i], d);
    /* ids are unique among live rows */
    if (st == VS_OK) {
        struct idmap m = {0};
        for (size_t i = 0; i < s->nseg && st == VS_OK; i++) {
            const char *const *ids;
            st = vs_segment_ids(s->seg[i], &ids, d);
            for (uint64_t r = 0; st == VS_OK && r < s->seg[i]->rows; r++) {
                size_t slot;
                if (!vs_segment_live(s->seg[i], r))
                    continue;
                if (idmap_get(&m, ids[r], &slot)) {
                    vs_diag_where(d, s->seg[i]->path, 0);
                    st = vs_diag_set(d, VS_E_CORRUPT, "id '%s' is live twice", ids[r]);
                } else if (idmap_put(&m, ids[r], (uint32_t)i, r) != VS_OK)
                    st = vs_diag_set(d, VS_E_NOMEM, "cannot allocate the id map");
            }
        }
        idmap_release(&m);
    }
    vs_store_close(s);
    return st;
}

static json_t *store_segs_json(const struct vs_store *s)
{
    json_t *a = json_array();
    for (size_t i = 0; i < s->nseg; i++) {
        const struct vs_segment *g = s->seg[i];
        json_t *e = json_object();
        json_object_set_new(e, "file", json_string(g->name));
        json_object_set_new(e, "rows", json_integer((json_int_t)g->rows));
        json_object_set_new(e, "deleted", json_integer((json_int_t)g->ndel));
        json_object_set_new(e, "del", g->delname[0] ? json_string(g->delname) : json_null());
        json_array_append_new(a, e);
    }
    return a;
}

/* ---- the writer ---- */

struct vs_writer {
    char path[4096];
    int lockfd;
    int created_dir;  /* we made the directory and nothing is committed yet */
    int has_manifest;
    struct vs_store *s;
    struct vs_store_settings st;
    uint8_t **newdel; /* per segment: the deletion bitmap being built */
    uint64_t *newndel;
    /* pending rows */
    uint64_t np, npcap, plive;
    char **pid;
    char **pdoc;
    size_t *pdoclen;
    float *pvec;
    uint8_t *pdead;
    int dirty;
    struct idmap map;
    int map_ready;
    uint64_t upserts, deletes, commits;
    char *scratch;
    size_t scratch_cap;
};

static void writer_reset_pending(struct vs_writer *w)
{
    for (uint64_t i = 0; i < w->np; i++) {
        free(w->pid[i]);
        free(w->pdoc[i]);
    }
    w->np = w->plive = 0;
    if (w->newdel && w->s)
        for (size_t i = 0; i < w->s->nseg; i++) {
            free(w->newdel[i]);
            w->newdel[i] = NULL;
        }
    free(w->newdel);
    free(w->newndel);
    w->newdel = NULL;
    w->newndel = NULL;
    idmap_release(&w->map);
    w->map_ready = 0;
    w->dirty = 0;
}

/* (Re)load the current generation into w->s. */
static int writer_load(struct vs_writer *w, struct vs_diag *d)
{
    vs_store_close(w->s);
    w->s = NULL;
    int st = vs_store_open(w->path, &w->s, d);
    if (st != VS_OK)
        return st;
    w->st = w->s->st;
    w->has_manifest = 1;
    w->newdel = calloc(w->s->nseg + 1, sizeof *w->newdel);
    w->newndel = calloc(w->s->nseg + 1, sizeof *w->newndel);
    if (!w->newdel || !w->newndel)
        return vs_diag_set(d, VS_E_NOMEM, "cannot allocate the writer");
    return VS_OK;
}

static int dir_is_empty_or_ours(const char *dir)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return 0;
    struct dirent *de;
    int ok = 1;
    while ((de = readdir(dp)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
            strcmp(de->d_name, LOCKFILE))
            ok = 0;
    closedir(dp);
    return ok;
}

static int check_settings(const struct vs_store_settings *st, struct vs_diag *d)
{
    enum vs_metric m;
    if (vs_metric_parse(vs_metric_name(st->metric), &m) != VS_OK)
        return vs_diag_set(d, VS_E_USAGE, "unknown metric");
    if (st->dim > 65536)
        return vs_diag_set(d, VS_E_USAGE, "dimension %u is too large (at most 65536)",
                           st->dim);
    if (memchr(st->model, '\0', sizeof st->model) == NULL)
        return vs_diag_set(d, VS_E_USAGE, "model name is too long");
    if (memchr(st->analyzer, '\0', sizeof st->analyzer) == NULL ||
        memchr(st->text_field, '\0', sizeof st->text_field) == NULL)
        return vs_diag_set(d, VS_E_USAGE, "analyzer or text field name is too long");
    if (st->vector_storage > VS_VSTORE_F16)
        return vs_diag_set(d, VS_E_USAGE, "unknown vector storage kind %u", st->vector_storage);
    return vs_store_hnsw_check(st, d);
}

int vs_writer_open(const char *path, const struct vs_writer_opts *o,
                   struct vs_writer **out, struct vs_diag *d)
{
    *out = NULL;
    struct vs_writer *w = calloc(1, sizeof *w);
    if (!w)
        return vs_diag_set(d, VS_E_NOMEM, "cannot allocate the writer");
    snprintf(w->path, sizeof w->path, "%s", path);
    w->lockfd = -1;
    int st;
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno != ENOENT || !o || !o->create) {
            vs_diag_where(d, path, 0);
            st = vs_diag_set(d, VS_E_NOSTORE, "no such store");
            goto fail;
        }
        if ((st = check_settings(o->create, d)) != VS_OK)
            goto fail;
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            vs_diag_where(d, path, 0);
            st = vs_diag_set(d, vs_status_from_errno(e), "cannot create the store: %s",
                             strerror(e));
            goto fail;
        }
        w->created_dir = 1;
        /* make the new directory's name durable in its parent */
        char parent[4096];
        snprintf(parent, sizeof parent, "%s", path);
        char *slash = strrchr(parent, '/');
        while (slash && slash > parent && slash[1] == '\0') { /* trailing '/' */
            *slash = '\0';
            slash = strrchr(parent, '/');
        }
        if (slash == parent)
            parent[1] = '\0';
        else if (slash)
            *slash = '\0';
        else
            snprintf(parent, sizeof parent, ".");
        if ((st = vs_io_fsync_dir(parent)) != VS_OK) {
            vs_diag_where(d, parent, 0);
            vs_diag_set(d, st, "cannot sync the directory of the new store");
            goto fail;
        }
    } else if (!S_ISDIR(sb.st_mode)) {
        vs_diag_where(d, path, 0);
        st = vs_diag_set(d, VS_E_NOSTORE, "not a store (not a directory)");
        goto fail;
    }
    char mf[4200];
    snprintf(mf, sizeof mf, "%s/" MANIFEST, path);
    if (!w->created_dir && access(mf, F_OK) != 0 &&
        (!o || !o->create || !dir_is_empty_or_ours(path))) {
        /* do not leave a LOCK file in a directory that is not a store */
        vs_diag_where(d, path, 0);
        st = vs_diag_set(d, VS_E_NOSTORE, o && o->create
                                              ? "not a store (a directory with other files)"
                                              : "not a store (no MANIFEST)");
        goto fail;
    }
    if ((st = vs_store_lock_take(path, o ? o->wait_s : 0, &w->lockfd, d)) != VS_OK)
        goto fail;
    if (access(mf, F_OK) == 0) {
        w->created_dir = 0; /* someone else made it while we waited */
        if ((st = writer_load(w, d)) != VS_OK)
            goto fail;
        json_t *segs = store_segs_json(w->s);
        vs_store_collect_garbage(path, segs);
        json_decref(segs);
    } else {
        if (!o || !o->create) {
            vs_diag_where(d, path, 0);
            st = vs_diag_set(d, VS_E_NOSTORE, "not a store (no MANIFEST)");
            goto fail;
        }
        if (!dir_is_empty_or_ours(path)) {
            vs_diag_where(d, path, 0);
            st = vs_diag_set(d, VS_E_NOSTORE, "not a store (a directory with other files)");
            goto fail;
        }
        if ((st = check_settings(o->create, d)) != VS_OK)
            goto fail;
        w->st = *o->create;
        if (w->st.metric == VS_METRIC_COSINE)
            w->st.normalize = 1;
        w->s = store_alloc(path);
        w->newdel = calloc(1, sizeof *w->newdel);
        w->newndel = calloc(1, sizeof *w->newndel);
        if (!w->s || !w->newdel || !w->newndel) {
            st = vs_diag_set(d, VS_E_NOMEM, "cannot allocate the writer");
            goto fail;
        }
        w->s->st = w->st;
        w->s->next_segment = 1;
    }
    *out = w;
    return VS_OK;
fail:
    vs_writer_close(w);
    return st;
}

const struct vs_store_settings *vs_writer_settings(const struct vs_writer *w)
{
    return &w->st;
}
uint64_t vs_writer_upserts(const struct vs_writer *w) { return w->upserts; }
uint64_t vs_writer_deletes(const struct vs_writer *w) { return w->deletes; }
uint64_t vs_writer_commits(const struct vs_writer *w) { return w->commits; }

static int ensure_map(struct vs_writer *w, struct vs_diag *d)
{
    if (w->map_ready)
        return VS_OK;
    int st = build_map(w->s, &w->map, d);
    if (st != VS_OK)
        return st;
    w->map_ready = 1;
    return VS_OK;
}

/* Mark the live row at map slot as deleted (pending changes only). */
static int kill_slot(struct vs_writer *w, size_t slot, struct vs_diag *d)
{
    uint32_t seg = w->map.seg[slot];
    uint64_t row = w->map.row[slot];
    if (seg == SEG_PENDING) {
        w->pdead[row] = 1;
        w->plive--;
    } else {
        struct vs_segment *g = w->s->seg[seg];
        if (!w->newdel[seg]) {
            size_t nb = (size_t)((g->rows + 7) / 8);
            w->newdel[seg] = calloc(nb ? nb : 1, 1);
            if (!w->newdel[seg])
                return vs_diag_set(d, VS_E_NOMEM, "cannot allocate a deletion bitmap");
            if (g->del)
                memcpy(w->newdel[seg], g->del, nb);
            w->newndel[seg] = g->ndel;
        }
        w->newdel[seg][row >> 3] |= (uint8_t)(1u << (row & 7));
        w->newndel[seg]++;
    }
    w->map.seg[slot] = SEG_DEAD;
    w->dirty = 1;
    return VS_OK;
}

/* Room for one more pending row of dim floats. */
static int pending_grow(struct vs_writer *w, size_t dim)
{
    if (w->np < w->npcap)
        return VS_OK;
    uint64_t nc = w->npcap ? w->npcap * 2 : 1024;
    char **a = realloc(w->pid, nc * sizeof *a);
    if (!a)
        return VS_E_NOMEM;
    w->pid = a;
    char **b = realloc(w->pdoc, nc * sizeof *b);
    if (!b)
        return VS_E_NOMEM;
    w->pdoc = b;
    size_t *c = realloc(w->pdoclen, nc * sizeof *c);
    if (!c)
        return VS_E_NOMEM;
    w->pdoclen = c;
    uint8_t *e = realloc(w->pdead, nc);
    if (!e)
        return VS_E_NOMEM;
    w->pdead = e;
    float *f = realloc(w->pvec, nc * dim * sizeof *f);
    if (!f)
        return VS_E_NOMEM;
    w->pvec = f;
    w->npcap = nc;
    return VS_OK;
}

int vs_writer_upsert(struct vs_writer *w, const json_t *rec, const float *vec,
                     size_t dim, struct vs_diag *d)
{
    json_t *jid = json_object_get(rec, "id");
    if (!json_is_string(jid) || json_string_length(jid) == 0 ||
        strlen(json_string_value(jid)) != json_string_length(jid)) {
        vs_diag_field(d, "id");
        return vs_diag_set(d, VS_E_FIELD, jid ? "must be a non-empty string"
                                              : "is missing");
    }
    if (!vec || dim == 0) {
        vs_diag_field(d, "vector");
        return vs_diag_set(d, VS_E_FIELD, "is missing (a record to store needs a vector)");
    }
    if (w->st.dim && dim != w->st.dim) {
        vs_diag_field(d, "vector");
        return vs_diag_set(d, VS_E_DIM, "has %zu numbers, store '%s' has dimension %u",
                           dim, w->path, w->st.dim);
    }
    if (dim > 65536) {
        vs_diag_field(d, "vector");
        return vs_diag_set(d, VS_E_DIM, "has %zu numbers (at most 65536)", dim);
    }
    json_t *jm = json_object_get(rec, "vector_model");
    if (jm) {
        const char *m = json_string_value(jm);
        if (!m || strlen(m) >= sizeof w->st.model) {
            vs_diag_field(d, "vector_model");
            return vs_diag_set(d, VS_E_FIELD, "must be a string of at most 127 bytes");
        }
        if (w->st.model[0] && strcmp(m, w->st.model) != 0) {
            vs_diag_field(d, "vector_model");
            return vs_diag_set(d, VS_E_MISMATCH, "is '%s', store '%s' holds vectors of '%s'",
                               m, w->path, w->st.model);
        }
    }
    double norm = 0;
    if (w->st.normalize) {
        for (size_t i = 0; i < dim; i++)
            norm += (double)vec[i] * vec[i];
        norm = sqrt(norm);
        if (!(norm > 0) || !isfinite(norm)) {
            vs_diag_field(d, "vector");
            return vs_diag_set(d, VS_E_DATA, "has length %g and cannot be normalised", norm);
        }
    }
    /* f16 storage holds |x| <= 65504: a larger value would become inf */
    size_t bad = vs_segw_misfit(w->st.vector_storage, vec, dim, w->st.normalize ? norm : 0);
    if (bad < dim) {
        vs_diag_field(d, "vector");
        return vs_diag_set(d, VS_E_DATA, "value at index %zu is outside f16's range "
                           "(|x| <= 65504) of store '%s'", bad, w->path);
    }
    int st = ensure_map(w, d);
    if (st != VS_OK)
        return st;
    /* doc: the record without its vector fields */
    union { const json_t *c; json_t *m; } un = {rec}; /* json_copy is not const */
    json_t *doc = json_copy(un.m);
    if (!doc)
        return vs_diag_set(d, VS_E_NOMEM, "cannot copy a record");
    json_object_del(doc, "vector");
    json_object_del(doc, "vector_b64");
    json_object_del(doc, "vector_model");
    json_object_del(doc, "op");
    char *text = json_dumps(doc, VS_JSON_DUMP_FLAGS);
    json_decref(doc);
    char *id = strdup(json_string_value(jid));
    if (!text || !id || pending_grow(w, dim) != VS_OK) {
        free(text);
        free(id);
        return vs_diag_set(d, VS_E_NOMEM, "cannot hold another record");
    }
    size_t slot;
    if (idmap_get(&w->map, id, &slot) && (st = kill_slot(w, slot, d)) != VS_OK) {
        free(text);
        free(id);
        return st;
    }
    if (idmap_put(&w->map, id, SEG_PENDING, w->np) != VS_OK) {
        free(text);
        free(id);
        return vs_diag_set(d, VS_E_NOMEM, "cannot grow the id map");
    }
    if (!w->st.dim)
        w->st.dim = (uint32_t)dim;
    if (jm && !w->st.model[0])
        snprintf(w->st.model, sizeof w->st.model, "%s", json_string_value(jm));
    float *dst = w->pvec + w->np * dim;
    for (size_t i = 0; i < dim; i++)
        dst[i] = w->st.normalize ? (float)(vec[i] / norm) : vec[i];
    w->pid[w->np] = id;
    w->pdoc[w->np] = text;
    w->pdoclen[w->np] = strlen(text);
    w->pdead[w->np] = 0;
    w->np++;
    w->plive++;
    w->upserts++;
    w->dirty = 1;
    return VS_OK;
}

int vs_writer_delete(struct vs_writer *w, const char *id, int *found,
                     struct vs_diag *d)
{
    if (found)
        *found = 0;
    int st = ensure_map(w, d);
    if (st != VS_OK)
        return st;
    size_t slot;
    if (!idmap_get(&w->map, id, &slot))
        return VS_OK;
    if ((st = kill_slot(w, slot, d)) != VS_OK)
        return st;
    if (found)
        *found = 1;
    w->deletes++;
    return VS_OK;
}

static int row_live(const struct vs_writer *w, size_t seg, uint64_t row)
{
    if (w->newdel && w->newdel[seg])
        return !(w->newdel[seg][row >> 3] >> (row & 7) & 1);
    return vs_segment_live(w->s->seg[seg], row);
}

int vs_writer_delete_where(struct vs_writer *w,
                           int (*pred)(const json_t *doc, void *arg), void *arg,
                           uint64_t *n, struct vs_diag *d)
{
    uint64_t cnt = 0;
    int st = ensure_map(w, d);
    json_error_t je;
    for (size_t i = 0; st == VS_OK && i < w->s->nseg; i++) {
        struct vs_segment *g = w->s->seg[i];
        const char *const *ids;
        if ((st = vs_segment_ids(g, &ids, d)) != VS_OK)
            break;
        for (uint64_t r = 0; r < g->rows; r++) {
            if (!row_live(w, i, r))
                continue;
            size_t len, slot;
            if ((st = vs_seg_doc_raw(g, r, &w->scratch, &w->scratch_cap, &len, d)) != VS_OK)
                break;
            json_t *doc = json_loadb(w->scratch, len, 0, &je);
            if (!doc) {
                vs_diag_where(d, g->path, 0);
                st = vs_diag_set(d, VS_E_CORRUPT, "section 'docs': row %llu is not JSON",
                                 (unsigned long long)r);
                break;
            }
            int hit = pred(doc, arg);
            json_decref(doc);
            if (hit && idmap_get(&w->map, ids[r], &slot)) {
                if ((st = kill_slot(w, slot, d)) != VS_OK)
                    break;
                cnt++;
            }
        }
    }
    for (uint64_t r = 0; st == VS_OK && r < w->np; r++) {
        if (w->pdead[r])
            continue;
        json_t *doc = json_loads(w->pdoc[r], 0, &je);
        if (!doc)
            return vs_diag_set(d, VS_E_NOMEM, "cannot parse a pending doc");
        int hit = pred(doc, arg);
        json_decref(doc);
        size_t slot;
        if (hit && idmap_get(&w->map, w->pid[r], &slot)) {
            if ((st = kill_slot(w, slot, d)) != VS_OK)
                break;
            cnt++;
        }
    }
    w->deletes += cnt;
    if (n)
        *n = cnt;
    return st;
}

/* Copy the live rows of segment i into the segment being written. */
static int copy_live(struct vs_writer *w, size_t i, struct vs_segw *sw,
                     struct vs_diag *d)
{
    struct vs_segment *g = w->s->seg[i];
    const char *const *ids;
    int st;
    if ((st = vs_segment_ids(g, &ids, d)) != VS_OK)
        return st;
    /* row by row: one vectors block and one docs block in memory at a time */
    float *v = malloc((g->dim ? g->dim : 1) * sizeof *v);
    if (!v)
        return vs_diag_set(d, VS_E_NOMEM, "cannot allocate a vector");
    for (uint64_t r = 0; st == VS_OK && r < g->rows; r++) {
        if (!row_live(w, i, r))
            continue;
        size_t len;
        if ((st = vs_seg_vector_row(g, r, v, d)) == VS_OK &&
            (st = vs_seg_doc_raw(g, r, &w->scratch, &w->scratch_cap, &len, d)) == VS_OK)
            st = vs_segw_add(sw, ids[r], v, w->scratch, len, d);
    }
    free(v);
    return st;
}

/* Write a new generation: segments [0, keep) stay (with new deletion files
 * where they changed), segments [keep, nseg) are merged with the pending
 * rows into one new segment. */
static int write_generation(struct vs_writer *w, size_t keep, int with_pending,
                            struct vs_diag *d)
{
    struct vs_store *s = w->s;
    uint64_t gen = s->generation + 1, next = s->next_segment ? s->next_segment : 1;
    json_t *segs = json_array();
    size_t ncap = s->nseg + 2;
    char **created = calloc(ncap, sizeof *created);
    size_t ncreated = 0;
    struct vs_segw *sw = NULL;
    int st = VS_OK;
    if (!segs || !created) {
        st = vs_diag_set(d, VS_E_NOMEM, "cannot allocate a commit");
        goto done;
    }
    for (size_t i = 0; i < keep; i++) {
        struct vs_segment *g = s->seg[i];
        uint64_t ndel = w->newdel[i] ? w->newndel[i] : g->ndel;
        if (ndel == g->rows)
            continue; /* nothing live: drop the segment */
        const char *delname = g->delname[0] ? g->delname : NULL;
        char name[64];
        if (w->newdel[i]) {
            snprintf(name, sizeof name, "del-%08llu-%08llu.vdel",
                     (unsigned long long)strtoull(g->name + 4, NULL, 10),
                     (unsigned long long)gen);
            char p[4200];
            snprintf(p, sizeof p, "%s/%s", w->path, name);
            if ((st = vs_del_write(p, g->rows, w->newdel[i], NULL, d)) != VS_OK)
                goto done;
            created[ncreated++] = strdup(p);
            delname = name;
        }
        json_t *e = json_object();
        json_object_set_new(e, "file", json_string(g->name));
        json_object_set_new(e, "rows", json_integer((json_int_t)g->rows));
        json_object_set_new(e, "deleted", json_integer((json_int_t)ndel));
        json_object_set_new(e, "del", delname ? json_string(delname) : json_null());
        json_array_append_new(segs, e);
    }
    uint64_t nnew = with_pending ? w->plive : 0;
    for (size_t i = keep; i < s->nseg; i++)
        nnew += s->seg[i]->rows - (w->newdel[i] ? w->newndel[i] : s->seg[i]->ndel);
    if (nnew > 0) {
        char name[64], p[4200];
        snprintf(name, sizeof name, "seg-%08llu.vseg", (unsigned long long)next++);
        snprintf(p, sizeof p, "%s/%s", w->path, name);
        if ((st = vs_segw_new(p, w->st.dim, &sw, d)) == VS_OK)
            vs_segw_storage(sw, w->st.vector_storage);
        if (st != VS_OK ||
            (w->st.analyzer[0] &&
             (st = vs_segw_text(sw, w->st.text_field, w->st.analyzer, d)) != VS_OK) ||
            (st = vs_store_hnsw_attach(sw, &w->st, d)) != VS_OK)
            goto done;
        for (size_t i = keep; i < s->nseg; i++)
            if ((st = copy_live(w, i, sw, d)) != VS_OK)
                goto done;
        for (uint64_t r = 0; with_pending && r < w->np; r++)
            if (!w->pdead[r] &&
                (st = vs_segw_add(sw, w->pid[r], w->pvec + r * w->st.dim, w->pdoc[r],
                                  w->pdoclen[r], d)) != VS_OK)
                goto done;
        uint64_t rows = vs_segw_rows(sw);
        if ((st = vs_segw_finish(sw, NULL, d)) != VS_OK)
            goto done;
        created[ncreated++] = strdup(p);
        json_t *e = json_object();
        json_object_set_new(e, "file", json_string(name));
        json_object_set_new(e, "rows", json_integer((json_int_t)rows));
        json_object_set_new(e, "deleted", json_integer(0));
        json_object_set_new(e, "del", json_null());
        json_array_append_new(segs, e);
    }
    if (!w->has_manifest && vs_io_fsync_dir(w->path) != VS_OK) {
        st = vs_diag_set(d, VS_E_IO, "cannot sync the store directory");
        goto done;
    }
    if ((st = vs_store_write_manifest(w->path, &w->st, gen, next, segs, d)) != VS_OK)
        goto done;
    w->has_manifest = 1;
    w->created_dir = 0;
    ncreated = 0; /* they belong to the new generation now */
    vs_store_collect_garbage(w->path, segs);
    w->commits++;
    writer_reset_pending(w);
    st = writer_load(w, d);
done:
    vs_segw_free(sw);
    for (size_t i = 0; created && i < ncreated; i++)
        if (created[i])
            unlink(created[i]);
    for (size_t i = 0; created && i < ncap; i++)
        free(created[i]);
    free(created);
    json_decref(segs);
    return st;
}

int vs_writer_commit(struct vs_writer *w, struct vs_diag *d)
{
    if (!w->dirty)
        return VS_OK;
    /* Merge policy: the pending rows form the newest segment; while the
     * newest (merged) run is at least half the size of the segment before
     * it, take that segment into the merge too. Sizes are live rows. Segment
     * sizes then grow geometrically from newest to oldest, so there are
     * O(log n) of them. */
    struct vs_store *s = w->s;
    uint64_t size = w->plive;
    size_t keep = s->nseg;
    while (keep > 0 && size > 0) {
        struct vs_segment *g = s->seg[keep - 1];
        uint64_t live = g->rows - (w->newdel[keep - 1] ? w->newndel[keep - 1] : g->ndel);
        if (size * 2 < live)
            break;
        size += live;
        keep--;
    }
    return write_generation(w, keep, 1, d);
}

int vs_writer_compact(struct vs_writer *w, struct vs_diag *d)
{
    int st = vs_writer_commit(w, d);
    if (st != VS_OK)
        return st;
    if (!w->has_manifest)
        return VS_OK;
    if (w->s->nseg <= 1 && vs_store_tombstones(w->s) == 0)
        return VS_OK; /* already one segment without tombstones */
    return write_generation(w, 0, 0, d);
}

void vs_writer_close(struct vs_writer *w)
{
    if (!w)
        return;
    writer_reset_pending(w);
    free(w->pid);
    free(w->pdoc);
    free(w->pdoclen);
    free(w->pvec);
    free(w->pdead);
    free(w->scratch);
    vs_store_close(w->s);
    if (w->created_dir && !w->has_manifest) {
        /* a store we created but never committed to: leave nothing behind */
        char p[4200];
        snprintf(p, sizeof p, "%s/" LOCKFILE, w->path);
        unlink(p);
        vs_store_lock_release(w->lockfd);
        rmdir(w->path);
    } else
        vs_store_lock_release(w->lockfd);
    free(w);
}

int vs_store_create(const char *path, const struct vs_store_settings *st,
                    struct vs_diag *d)
{
    char mf[4200];
    snprintf(mf, sizeof mf, "%s/" MANIFEST, path);
    if (access(mf, F_OK) == 0) {
        vs_diag_where(d, path, 0);
        return vs_diag_set(d, VS_E_EXISTS, "a store already exists here");
    }
    struct vs_writer_opts o = {st, 0};
    struct vs_writer *w;
    int rc = vs_writer_open(path, &o, &w, d);
    if (rc != VS_OK)
        return rc;
    if (w->has_manifest) {
        vs_writer_close(w);
        vs_diag_where(d, path, 0);
        return vs_diag_set(d, VS_E_EXISTS, "a store already exists here");
    }
    json_t *segs = json_array();
    rc = vs_io_fsync_dir(path);
    if (rc == VS_OK)
        rc = vs_store_write_manifest(path, &w->st, 1, 1, segs, d);
    else
        vs_diag_set(d, rc, "cannot sync the store directory");
    json_decref(segs);
    if (rc == VS_OK) {
        w->has_manifest = 1;
        w->created_dir = 0;
    }
    vs_writer_close(w);
    return rc;
}
