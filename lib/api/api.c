/* api.c: stores of the public C API (vecstore.h): open, upsert, delete,
 * commit, close. Versions, errors and the handle registry are in
 * api_core.c, search in api_search.c, embedding, reranking and evaluation
 * in api_models.c (api_core.c <- api_search.c <- api.c, api_models.c).
 *
 * Every entry point checks its pointers (VS_E_USAGE, never a crash),
 * converts the internal struct vs_diag into the caller's struct vs_error,
 * and never prints. */
#include "api_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vs_filter.h"
#include "vs_ingest.h"
#include "vs_quant.h"

/* ---- open, close, info ---- */

void vs_db_config_init(struct vs_db_config *c, size_t size)
{
    if (!c)
        return;
    struct vs_db_config def = {sizeof def, 0, "cosine", 0, NULL, NULL, NULL,
                               16, 0, 0, NULL, NULL};
    def.size = size;
    memcpy(c, &def, size < sizeof def ? size : sizeof def);
}

static int config_error(struct vs_error *err, const char *field, struct vs_diag *d)
{
    vs_diag_field(d, "%s", field);
    return vs_api_fail(err, VS_E_CONFIG, d);
}

static int make_settings(const struct vs_db_config *cfg,
                         struct vs_store_settings *st, struct vs_error *err)
{
    struct vs_db_config c;
    vs_db_config_init(&c, sizeof c);
    int rc = vs_api_take_opts(&c, sizeof c, cfg, err, "vs_db_config");
    if (rc != VS_OK)
        return rc;
    struct vs_diag d;
    vs_diag_clear(&d);
    if (c.hnsw_m < 0 || c.hnsw_m == 1 || c.hnsw_m > 1024) {
        vs_diag_set(&d, VS_E_CONFIG, "hnsw_m must be 0 (no graphs) or 2..1024, not %d", c.hnsw_m);
        return config_error(err, "hnsw_m", &d);
    }
    if (c.hnsw_ef_construction < 0 || (c.hnsw_ef_construction > 0 && c.hnsw_m == 0)) {
        vs_diag_set(&d, VS_E_CONFIG, "hnsw_ef_construction must be >= 0 and needs hnsw_m");
        return config_error(err, "hnsw_ef_construction", &d);
    }
    if (c.dim > 65536) {
        vs_diag_set(&d, VS_E_CONFIG, "dim %zu is larger than 65536", c.dim);
        return config_error(err, "dim", &d);
    }
    struct vs_ingest_config ic = {c.metric, c.model, c.analyzer, NULL, c.text_field,
                                  c.hnsw_m > 0 ? c.hnsw_m : -1,
                                  c.hnsw_ef_construction > 0 ? c.hnsw_ef_construction : -1,
                                  c.normalize};
    if (vs_ingest_settings(&ic, st, &d) != VS_OK) {
        const char *field = strstr(d.detail, "metric") ? "metric"
                            : strstr(d.detail, "model") ? "model"
                            : strstr(d.detail, "text-field") ? "text_field"
                                                             : "analyzer";
        return config_error(err, field, &d);
    }
    st->dim = (uint32_t)c.dim;
    if (c.hnsw_seed) {
        st->hnsw_seeded = 1;
        st->hnsw_seed = c.hnsw_seed;
    }
    if (c.quant && strcmp(c.quant, "none") != 0) {
        enum vs_quant_kind k;
        if (vs_quant_parse(c.quant, &k) != VS_OK) {
            vs_diag_set(&d, VS_E_CONFIG, "unknown quant '%s' (none, f16, sq8, binary)", c.quant);
            return config_error(err, "quant", &d);
        }
        if (!st->hnsw_m) {
            vs_diag_set(&d, VS_E_CONFIG, "quant '%s' needs hnsw_m", c.quant);
            return config_error(err, "quant", &d);
        }
        st->hnsw_quant = (uint32_t)k;
    }
    if (c.vector_storage && vs_vector_storage_parse(c.vector_storage, &st->vector_storage) != VS_OK) {
        vs_diag_set(&d, VS_E_CONFIG, "unknown vector_storage '%s' (float32, f16)", c.vector_storage);
        return config_error(err, "vector_storage", &d);
    }
    return VS_OK;
}

static void db_free(vs_db *db)
{
    if (!db)
        return;
    vs_api_prepared_clear(db);
    vs_writer_close(db->writer);
    vs_store_close(db->store);
    pthread_rwlock_destroy(&db->rw);
    pthread_mutex_destroy(&db->wmu);
    pthread_mutex_destroy(&db->qmu);
    free(db->path);
    free(db);
}

int vs_db_open(const char *path, int flags, const struct vs_db_config *cfg,
               double lock_wait_s, vs_db **out, struct vs_error *err)
{
    if (out)
        *out = NULL;
    if (!path || !*path || !out)
        return vs_api_usage(err, path && *path ? NULL : "path",
                            "vs_db_open needs a path and an out pointer");
    if (flags & ~(VS_DB_WRITE | VS_DB_CREATE | VS_DB_EXCL))
        return vs_api_usage(err, "flags", "unknown flag bits");
    if ((flags & VS_DB_EXCL) && !(flags & VS_DB_CREATE))
        return vs_api_usage(err, "flags", "VS_DB_EXCL needs VS_DB_CREATE");
    if (flags & VS_DB_CREATE)
        flags |= VS_DB_WRITE;
    if (isnan(lock_wait_s))
        return vs_api_usage(err, "lock_wait_s", "lock_wait_s is NaN");
    struct vs_store_settings st;
    memset(&st, 0, sizeof st);
    int rc;
    if ((flags & VS_DB_CREATE) && (rc = make_settings(cfg, &st, err)) != VS_OK)
        return rc;
    struct vs_diag d;
    vs_diag_clear(&d);
    vs_db *db = calloc(1, sizeof *db);
    if (!db || !(db->path = strdup(path))) {
        free(db);
        return vs_api_fail(err, vs_diag_set(&d, VS_E_NOMEM, "out of memory"), &d);
    }
    pthread_rwlock_init(&db->rw, NULL);
    pthread_mutex_init(&db->wmu, NULL);
    pthread_mutex_init(&db->qmu, NULL);
    rc = VS_OK;
    if (flags & VS_DB_CREATE) {
        rc = vs_store_create(path, &st, &d);
        if (rc == VS_E_EXISTS && !(flags & VS_DB_EXCL)) {
            rc = VS_OK;
            vs_diag_clear(&d);
        }
    }
    if (rc == VS_OK && (flags & VS_DB_WRITE)) {
        struct vs_writer_opts wo = {NULL, lock_wait_s};
        rc = vs_writer_open(path, &wo, &db->writer, &d);
    }
    if (rc == VS_OK)
        rc = vs_store_open(path, &db->store, &d);
    if (rc == VS_OK && (rc = vs_api_db_register(db)) != VS_OK)
        vs_diag_set(&d, rc, "out of memory");
    if (rc != VS_OK) {
        db_free(db);
        return vs_api_fail(err, rc, &d);
    }
    *out = db;
    return VS_OK;
}

int vs_db_close(vs_db *db)
{
    if (!db)
        return VS_OK;
    if (!vs_api_db_unregister(db))
        return VS_E_USAGE;
    db_free(db);
    return VS_OK;
}

int vs_db_info(vs_db *db, struct vs_db_info *info)
{
    int rc = vs_api_db_check(db, NULL);
    if (rc != VS_OK)
        return rc;
    if (!info)
        return VS_E_USAGE;
    memset(info, 0, sizeof *info);
    pthread_rwlock_rdlock(&db->rw);
    const struct vs_store_settings *s = vs_store_settings(db->store);
    info->records = vs_store_count(db->store);
    info->tombstones = vs_store_tombstones(db->store);
    info->generation = vs_store_generation(db->store);
    info->segments = vs_store_nsegments(db->store);
    info->dim = s->dim;
    snprintf(info->metric, sizeof info->metric, "%s", vs_metric_name(s->metric));
    snprintf(info->model, sizeof info->model, "%s", s->model);
    info->has_text_index = s->analyzer[0] != 0;
    info->hnsw_m = (int)s->hnsw_m;
    info->writable = db->writer != NULL;
    pthread_rwlock_unlock(&db->rw);
    return VS_OK;
}

/* ---- changes ---- */

static int need_writer(vs_db *db, struct vs_error *err)
{
    int rc = vs_api_db_check(db, err);
    if (rc == VS_OK && !db->writer)
        rc = vs_api_usage(err, NULL, "the store was opened read-only (open with VS_DB_WRITE)");
    return rc;
}

static int field_fail(struct vs_error *err, int status, const char *field,
                      const char *detail)
{
    struct vs_diag d;
    vs_diag_clear(&d);
    vs_diag_field(&d, "%s", field);
    vs_diag_set(&d, status, "%s", detail);
    return vs_api_fail(err, status, &d);
}

int vs_db_upsert(vs_db *db, const struct vs_record *rec, struct vs_error *err)
{
    int rc = need_writer(db, err);
    if (rc != VS_OK)
        return rc;
    if (!rec)
        return vs_api_usage(err, NULL, "the record is NULL");
    if (!rec->id || !*rec->id)
        return field_fail(err, VS_E_FIELD, "id", "a record needs a non-empty id");
    if (!rec->vector || !rec->dim)
        return field_fail(err, VS_E_FIELD, "vector", "a record needs a vector");
    for (size_t i = 0; i < rec->dim; i++)
        if (!isfinite(rec->vector[i])) {
            char msg[96];
            snprintf(msg, sizeof msg, "vector[%zu] is not a finite number", i);
            return field_fail(err, VS_E_NONFINITE, "vector", msg);
        }
    struct vs_diag d;
    vs_diag_clear(&d);
    json_t *meta = NULL;
    if (rec->metadata_json) {
        json_error_t je;
        meta = json_loads(rec->metadata_json, JSON_REJECT_DUPLICATES, &je);
        if (!meta || !json_is_object(meta)) {
            vs_diag_field(&d, "metadata");
            vs_diag_set(&d, VS_E_JSON, "%s", meta ? "metadata is not a JSON object" : je.text);
            d.col = meta ? 1 : je.column;
            json_decref(meta);
            return vs_api_fail(err, VS_E_JSON, &d);
        }
    }
    /* the text goes where the store's text index reads it */
    const char *text_field = vs_writer_settings(db->writer)->text_field;
    if (!*text_field)
        text_field = "text";
    json_t *r = json_object();
    if (!r || json_object_set_new(r, "id", json_string(rec->id)) != 0 ||
        (rec->doc_id && json_object_set_new(r, "doc_id", json_string(rec->doc_id)) != 0) ||
        (rec->text && json_object_set_new(r, text_field, json_string(rec->text)) != 0) ||
        (meta && json_object_set(r, "metadata", meta) != 0)) {
        json_decref(r);
        json_decref(meta);
        /* json_string refuses text that is not UTF-8 */
        return field_fail(err, VS_E_DATA, "text", "id, doc_id or text is not valid UTF-8 (or out of memory)");
    }
    json_decref(meta);
    pthread_mutex_lock(&db->wmu);
    rc = vs_writer_upsert(db->writer, r, rec->vector, rec->dim, &d);
    pthread_mutex_unlock(&db->wmu);
    json_decref(r);
    return rc == VS_OK ? VS_OK : vs_api_fail(err, rc, &d);
}

int vs_db_delete(vs_db *db, const char *id, int *found, struct vs_error *err)
{
    if (found)
        *found = 0;
    int rc = need_writer(db, err);
    if (rc != VS_OK)
        return rc;
    if (!id)
        return vs_api_usage(err, "id", "the id is NULL");
    struct vs_diag d;
    vs_diag_clear(&d);
    pthread_mutex_lock(&db->wmu);
    rc = vs_writer_delete(db->writer, id, found, &d);
    pthread_mutex_unlock(&db->wmu);
    return rc == VS_OK ? VS_OK : vs_api_fail(err, rc, &d);
}

static int filter_pred(const json_t *doc, void *arg)
{
    return vs_filter_match(arg, doc);
}

int vs_db_delete_where(vs_db *db, const char *filter, uint64_t *n,
                       struct vs_error *err)
{
    if (n)
        *n = 0;
    int rc = need_writer(db, err);
    if (rc != VS_OK)
        return rc;
    if (!filter)
        return vs_api_usage(err, "filter", "the filter is NULL");
    struct vs_diag d;
    vs_diag_clear(&d);
    struct vs_filter *f;
    if ((rc = vs_filter_compile(filter, &f, &d)) != VS_OK) {
        vs_diag_field(&d, "filter");
        return vs_api_fail(err, rc, &d);
    }
    pthread_mutex_lock(&db->wmu);
    rc = vs_writer_delete_where(db->writer, filter_pred, f, n, &d);
    pthread_mutex_unlock(&db->wmu);
    vs_filter_free(f);
    return rc == VS_OK ? VS_OK : vs_api_fail(err, rc, &d);
}

int vs_db_commit(vs_db *db, struct vs_error *err)
{
    int rc = need_writer(db, err);
    if (rc != VS_OK)
        return rc;
    struct vs_diag d;
    vs_diag_clear(&d);
    pthread_mutex_lock(&db->wmu);
    uint64_t before = vs_writer_commits(db->writer);
    rc = vs_writer_commit(db->writer, &d);
    struct vs_store *fresh = NULL;
    if (rc == VS_OK && vs_writer_commits(db->writer) != before)
        rc = vs_store_open(db->path, &fresh, &d);
    pthread_mutex_unlock(&db->wmu);
    if (rc != VS_OK)
        return vs_api_fail(err, rc, &d);
    if (fresh) {
        /* searches hold the read lock for their whole run */
        pthread_rwlock_wrlock(&db->rw);
        vs_api_prepared_clear(db); /* they borrow the old generation */
        struct vs_store *old = db->store;
        db->store = fresh;
        pthread_rwlock_unlock(&db->rw);
        vs_store_close(old);
    }
    return VS_OK;
}
