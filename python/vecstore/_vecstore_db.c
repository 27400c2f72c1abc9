/* _vecstore_db.c: the DB type (a vs_db handle: open, close, info,
 * upsert, delete, commit, search, search_arrays) and StoreBase, the C base
 * of vecstore.Store with the search fast paths (METH_FASTCALL); the hits
 * are built by _vecstore_hit.c. See _vecstore.c for the GIL and busy
 * protocol of a handle. */
#include "_vecstore_internal.h"

#include <structmember.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- DB: a store handle ---- */

typedef struct {
    PyObject_HEAD
    vs_db *db;
    struct vsp_calls calls;
} DBObject;

static PyTypeObject *DBType;

/* Take a call slot (with the GIL); -1 with ClosedError when closed. */
static int db_enter(DBObject *s)
{
    return vsp_calls_enter(&s->calls, s->db, "the store is closed");
}

static void db_leave(DBObject *s) { vsp_calls_leave(&s->calls); }

PyObject *vsp_db_open(PyObject *mod, PyObject *args)
{
    const char *path, *metric, *model, *analyzer, *quant, *vstore;
    int flags, normalize, hnsw_m, efc;
    unsigned long long seed;
    Py_ssize_t dim;
    double lock_wait;
    if (!PyArg_ParseTuple(args, "sinzpzziiKzdz", &path, &flags, &dim, &metric, &normalize,
                          &model, &analyzer, &hnsw_m, &efc, &seed, &quant, &lock_wait,
                          &vstore))
        return NULL;
    if (dim < 0)
        return vsp_raise_here(VS_E_CONFIG, "dim", 0, "dim must be >= 0", 0);
    struct vs_db_config c;
    vs_db_config_init(&c, sizeof c);
    c.dim = (size_t)dim;
    if (metric)
        c.metric = metric;
    c.normalize = normalize;
    c.model = model;
    c.analyzer = analyzer;
    if (hnsw_m >= 0)
        c.hnsw_m = hnsw_m;
    c.hnsw_ef_construction = efc;
    c.hnsw_seed = seed;
    c.quant = quant;
    c.vector_storage = vstore;
    DBObject *s = PyObject_New(DBObject, DBType);
    if (!s)
        return NULL;
    s->db = NULL;
    s->calls = (struct vsp_calls){0, 0};
    struct vs_error err;
    memset(&err, 0, sizeof err);
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = vs_db_open(path, flags, &c, lock_wait, &s->db, &err);
    Py_END_ALLOW_THREADS
    if (rc != VS_OK) {
        Py_DECREF(s);
        return vsp_raise_status(rc, &err, 0);
    }
    return (PyObject *)s;
}

static void db_dealloc(PyObject *self)
{
    DBObject *s = (DBObject *)self;
    PyTypeObject *tp = Py_TYPE(self);
    if (s->db)
        vs_db_close(s->db); /* a call holds a reference: none is running */
    s->db = NULL;
    PyObject_Free(self);
    Py_DECREF(tp);
}

static PyObject *db_close(PyObject *self, PyObject *unused)
{
    DBObject *s = (DBObject *)self;
    if (!vsp_calls_close(&s->calls, s->db))
        Py_RETURN_NONE;
    vs_db *db = s->db;
    s->db = NULL;
    Py_BEGIN_ALLOW_THREADS
    vs_db_close(db);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *db_closed(PyObject *self, PyObject *unused)
{
    DBObject *s = (DBObject *)self;
    return PyBool_FromLong(!s->db || s->calls.closing);
}

static PyObject *db_info(PyObject *self, PyObject *unused)
{
    DBObject *s = (DBObject *)self;
    if (db_enter(s) < 0)
        return NULL;
    struct vs_db_info in;
    int rc = vs_db_info(s->db, &in);
    db_leave(s);
    if (rc != VS_OK)
        return vsp_raise_status(rc, NULL, 0);
    return Py_BuildValue("(KKKnnsNiii)", (unsigned long long)in.records,
                         (unsigned long long)in.tombstones,
                         (unsigned long long)in.generation, (Py_ssize_t)in.segments,
                         (Py_ssize_t)in.dim, in.metric, vsp_opt_str(in.model),
                         in.has_text_index, in.hnsw_m, in.writable);
}

/* upsert(ids, vectors, texts, metadata_json, doc_ids, commit) -> n
 * ids a tuple of str; vectors a float32 buffer (n, d); the others tuples
 * of str/None or None; commit 1: commit at the end. Everything is checked
 * before the first record is applied. */
static PyObject *db_upsert(PyObject *self, PyObject *args)
{
    DBObject *s = (DBObject *)self;
    PyObject *ids, *vectors, *texts, *meta, *docs;
    int commit;
    if (!PyArg_ParseTuple(args, "O!OOOOp", &PyTuple_Type, &ids, &vectors, &texts, &meta,
                          &docs, &commit))
        return NULL;
    size_t n = (size_t)PyTuple_Size(ids);
    PyObject *lists[3] = {texts, meta, docs};
    static const char *const names[3] = {"texts", "metadata", "doc_ids"};
    for (int j = 0; j < 3; j++)
        if (lists[j] != Py_None &&
            (!PyTuple_Check(lists[j]) || (size_t)PyTuple_Size(lists[j]) != n)) {
            char msg[128];
            snprintf(msg, sizeof msg, "%s must have one item per id (%zu)", names[j], n);
            return vsp_raise_here(VS_E_USAGE, names[j], 0, msg, 0);
        }
    if (db_enter(s) < 0)
        return NULL;
    Py_buffer v;
    size_t rows = 0, cols = 0;
    const char **aid = NULL, **at = NULL, **am = NULL, **ad = NULL;
    PyObject *result = NULL;
    int have_buf = 0;
    if (vsp_float_buffer(vectors, &v, 0, &rows, &cols) < 0)
        goto out;
    have_buf = 1;
    if (rows != n) {
        char msg[160];
        snprintf(msg, sizeof msg, "%zu ids but %zu vectors", n, rows);
        vsp_raise_here(VS_E_USAGE, "vectors", 0, msg, 0);
        goto out;
    }
    struct vs_db_info in;
    if (vs_db_info(s->db, &in) != VS_OK)
        memset(&in, 0, sizeof in);
    if (in.dim && cols != in.dim && n) {
        char msg[160];
        snprintf(msg, sizeof msg, "vector has %zu numbers, the store has dimension %zu",
                 cols, in.dim);
        vsp_raise_here(VS_E_DIM, "vector", 1, msg, 0);
        goto out;
    }
    if (!(aid = vsp_utf8_array(ids, "id", 0)))
        goto out;
    for (size_t i = 0; i < n; i++)
        if (!*aid[i]) {
            vsp_raise_here(VS_E_FIELD, "id", (long)i + 1, "a record needs a non-empty id", 0);
            goto out;
        }
    if ((texts != Py_None && !(at = vsp_utf8_array(texts, "text", 1))) ||
        (meta != Py_None && !(am = vsp_utf8_array(meta, "metadata", 1))) ||
        (docs != Py_None && !(ad = vsp_utf8_array(docs, "doc_id", 1))))
        goto out;
    const float *x = v.buf;
    size_t bad;
    /* what the library would refuse part-way is refused before the first
     * record: non-finite numbers, zero vectors of a cosine store (a
     * normalised dot/l2 store's zero vector is found as it is applied) */
    size_t zero = n;
    int cosine = strcmp(in.metric, "cosine") == 0;
    Py_BEGIN_ALLOW_THREADS
    bad = vsp_first_nonfinite(x, n * cols);
    if (cosine && bad == n * cols)
        zero = vsp_first_zero_row(x, n, cols);
    Py_END_ALLOW_THREADS
    if (bad < n * cols) {
        char msg[96];
        snprintf(msg, sizeof msg, "vector[%zu] is not a finite number", bad % cols);
        vsp_raise_here(VS_E_NONFINITE, "vector", (long)(bad / cols) + 1, msg, 0);
        goto out;
    }
    if (zero < n) {
        vsp_raise_here(VS_E_DATA, "vector", (long)zero + 1,
                   "a zero vector cannot be normalised (cosine store)", 0);
        goto out;
    }
    struct vs_error err;
    memset(&err, 0, sizeof err);
    int rc = VS_OK;
    size_t i = 0;
    Py_BEGIN_ALLOW_THREADS
    for (; i < n && rc == VS_OK; i++) {
        struct vs_record r = {aid[i], x + i * cols, cols, at ? at[i] : NULL,
                              am ? am[i] : NULL, ad ? ad[i] : NULL};
        rc = vs_db_upsert(s->db, &r, &err);
    }
    if (rc == VS_OK && commit)
        rc = vs_db_commit(s->db, &err);
    Py_END_ALLOW_THREADS
    if (rc != VS_OK) {
        if (i && i <= n && !err.line && rc != VS_E_IO && rc != VS_E_NOSPC)
            err.line = (long)i; /* the 1-based row that failed */
        vsp_raise_status(rc, &err, 0);
        goto out;
    }
    result = PyLong_FromSize_t(n);
out:
    free(aid);
    free(at);
    free(am);
    free(ad);
    if (have_buf)
        PyBuffer_Release(&v);
    db_leave(s);
    return result;
}

/* delete(ids tuple or None, filter or None, commit) -> n deleted */
static PyObject *db_delete(PyObject *self, PyObject *args)
{
    DBObject *s = (DBObject *)self;
    PyObject *ids;
    const char *filter;
    int commit;
    if (!PyArg_ParseTuple(args, "Ozp", &ids, &filter, &commit))
        return NULL;
    if (ids != Py_None && !PyTuple_Check(ids)) {
        PyErr_SetString(PyExc_TypeError, "ids must be a tuple");
        return NULL;
    }
    if (db_enter(s) < 0)
        return NULL;
    const char **aid = NULL;
    size_t n = ids == Py_None ? 0 : (size_t)PyTuple_Size(ids);
    PyObject *result = NULL;
    if (n && !(aid = vsp_utf8_array(ids, "id", 0))) {
        db_leave(s);
        return NULL;
    }
    struct vs_error err;
    memset(&err, 0, sizeof err);
    int rc = VS_OK;
    uint64_t count = 0;
    Py_BEGIN_ALLOW_THREADS
    for (size_t i = 0; i < n && rc == VS_OK; i++) {
        int found = 0;
        rc = vs_db_delete(s->db, aid[i], &found, &err);
        count += (uint64_t)found;
    }
    if (rc == VS_OK && filter) {
        uint64_t k = 0;
        rc = vs_db_delete_where(s->db, filter, &k, &err);
        count += k;
    }
    if (rc == VS_OK && commit)
        rc = vs_db_commit(s->db, &err);
    Py_END_ALLOW_THREADS
    if (rc != VS_OK)
        vsp_raise_status(rc, &err, 0);
    else
        result = PyLong_FromUnsignedLongLong((unsigned long long)count);
    free(aid);
    db_leave(s);
    return result;
}

static PyObject *db_commit(PyObject *self, PyObject *unused)
{
    DBObject *s = (DBObject *)self;
    if (db_enter(s) < 0)
        return NULL;
    struct vs_error err;
    memset(&err, 0, sizeof err);
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = vs_db_commit(s->db, &err);
    Py_END_ALLOW_THREADS
    db_leave(s);
    if (rc != VS_OK)
        return vsp_raise_status(rc, &err, 0);
    Py_RETURN_NONE;
}

struct search_args {
    PyObject *vectors; /* buffer or None */
    PyObject *texts;   /* tuple of str/None or None */
    Py_ssize_t nq;
    struct vs_search_opts o;
    const char *filter;
    Py_buffer *held; /* the buffer of vectors when the caller holds it (the
                        fast path), else NULL: make_queries takes it */
    size_t cols;     /* with held: the row length */
};

/* Fill the queries of a search; 0 ok, -1 error set. *qs and *at are the
 * caller's to free; the buffer is held in *v when *have. */
static int make_queries(DBObject *s, struct search_args *a, Py_buffer *v, int *have,
                        struct vs_search_query **qs, const char ***at,
                        struct vs_search_query *one)
{
    size_t rows = 0, cols = 0;
    *qs = NULL;
    *at = NULL;
    *have = 0;
    if (a->held) {
        v = a->held;
        cols = a->cols;
    } else if (a->vectors != Py_None) {
        if (vsp_float_buffer(a->vectors, v, 0, &rows, &cols) < 0)
            return -1;
        *have = 1;
        if ((Py_ssize_t)rows != a->nq) {
            vsp_raise_here(VS_E_USAGE, "query", 0, "the query matrix must have one row per query", 0);
            return -1;
        }
    }
    if (a->texts != Py_None) {
        if (!PyTuple_Check(a->texts) || PyTuple_Size(a->texts) != a->nq) {
            vsp_raise_here(VS_E_USAGE, "text", 0, "texts must have one item per query", 0);
            return -1;
        }
        if (!(*at = vsp_utf8_array(a->texts, "text", 1)))
            return -1;
    }
    if (a->nq == 1) { /* one query: no allocation */
        memset(one, 0, sizeof *one);
        *qs = one;
    } else if (!(*qs = calloc((size_t)a->nq + 1, sizeof **qs))) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < a->nq; i++) {
        struct vs_search_query *q = &(*qs)[i];
        if (*have || a->held) {
            q->vector = (const float *)v->buf + (size_t)i * cols;
            q->dim = cols;
        }
        q->text = *at ? (*at)[i] : NULL;
    }
    return 0;
}

/* The options of a search (NaN rrf_k or alpha: the library's default);
 * 0, or -1 with the error set. */
static int set_opts(struct search_args *a, Py_ssize_t k, int mode, Py_ssize_t ef, int exact,
                    int fusion, double rrf_k, double alpha, Py_ssize_t depth, double mmr,
                    int threads, int with_text, int with_meta, int with_doc)
{
    vs_search_opts_init(&a->o, sizeof a->o);
    if (k < 1 || ef < 0 || depth < 0 || a->nq < 0) {
        vsp_raise_here(VS_E_USAGE, k < 1 ? "k" : ef < 0 ? "ef" : "depth", 0,
                   k < 1 ? "k must be 1..100000" : "ef and depth must be >= 0", 0);
        return -1;
    }
    a->o.k = (size_t)k;
    a->o.filter = a->filter;
    a->o.mode = mode;
    a->o.ef = (size_t)ef;
    a->o.exact = exact;
    a->o.fusion = fusion;
    if (!isnan(rrf_k)) /* NaN: the library's default */
        a->o.rrf_k = rrf_k;
    if (!isnan(alpha))
        a->o.alpha = alpha;
    a->o.depth = (size_t)depth;
    a->o.mmr = mmr;
    a->o.threads = threads;
    a->o.with_text = with_text;
    a->o.with_metadata = with_meta;
    a->o.with_doc_id = with_doc;
    return 0;
}

static int parse_search(PyObject *args, struct search_args *a)
{
    int mode, exact, fusion, threads, with_text, with_meta, with_doc;
    Py_ssize_t k, ef, depth;
    double rrf_k, alpha, mmr;
    a->held = NULL;
    if (!PyArg_ParseTuple(args, "OOnnzinpiddndippp", &a->vectors, &a->texts, &a->nq, &k,
                          &a->filter, &mode, &ef, &exact, &fusion, &rrf_k, &alpha, &depth,
                          &mmr, &threads, &with_text, &with_meta, &with_doc))
        return -1;
    return set_opts(a, k, mode, ef, exact, fusion, rrf_k, alpha, depth, mmr, threads,
                    with_text, with_meta, with_doc);
}

/* Run the search of a; *res on success (0), -1 with the error set. */
static int run_search(DBObject *s, struct search_args *a, vs_results **res)
{
    Py_buffer v;
    int have = 0, ret = -1;
    struct vs_search_query *qs = NULL, one;
    const char **at = NULL;
    *res = NULL;
    if (db_enter(s) < 0)
        return -1;
    if (make_queries(s, a, &v, &have, &qs, &at, &one) == 0) {
        struct vs_error err;
        memset(&err, 0, sizeof err);
        int rc;
        Py_BEGIN_ALLOW_THREADS
        rc = vs_db_search_batch(s->db, qs, (size_t)a->nq, &a->o, res, &err);
        Py_END_ALLOW_THREADS
        if (rc != VS_OK)
            vsp_raise_status(rc, &err, 0);
        else
            ret = 0;
    }
    if (qs != &one)
        free(qs);
    free(at);
    if (have)
        PyBuffer_Release(&v);
    db_leave(s);
    return ret;
}

/* search(vectors, texts, nq, k, filter, mode, ef, exact, fusion, rrf_k,
 * alpha, depth, mmr, threads, with_text, with_metadata, with_doc_id)
 * -> list (per query) of lists of vecstore.Hit (built here, no tuples) */
static PyObject *db_search(PyObject *self, PyObject *args)
{
    struct search_args a;
    vs_results *res;
    if (!vsp_hit_type) {
        PyErr_SetString(PyExc_RuntimeError, "vecstore: set_hit_type was not called");
        return NULL;
    }
    if (parse_search(args, &a) < 0 || run_search((DBObject *)self, &a, &res) < 0)
        return NULL;
    return vsp_hit_lists(res);
}

/* search_arrays(...same as search) -> (ids list of m*k str/None, scores
 * bytes of m*k float32, NaN where a query has fewer hits) */
static PyObject *db_search_arrays(PyObject *self, PyObject *args)
{
    struct search_args a;
    vs_results *res;
    if (parse_search(args, &a) < 0)
        return NULL;
    a.o.ids_only = 1; /* no stored record is read for the hits */
    if (run_search((DBObject *)self, &a, &res) < 0)
        return NULL;
    size_t nq = vs_results_queries(res), k = a.o.k;
    PyObject *ids = PyList_New((Py_ssize_t)(nq * k));
    PyObject *scores = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(nq * k * sizeof(float)));
    if (!ids || !scores)
        goto fail;
    float *sc = (float *)PyBytes_AsString(scores);
    for (size_t q = 0; q < nq; q++) {
        size_t nh = vs_results_count(res, q);
        for (size_t i = 0; i < k; i++) {
            const struct vs_hit *h = i < nh ? vs_results_hit(res, q, i) : NULL;
            PyObject *id = h ? vsp_opt_str(h->id) : Py_NewRef(Py_None);
            if (!id)
                goto fail;
            PyList_SetItem(ids, (Py_ssize_t)(q * k + i), id);
            sc[q * k + i] = h ? (float)h->score : NAN;
        }
    }
    vs_results_free(res);
    return Py_BuildValue("(NN)", ids, scores);
fail:
    Py_XDECREF(ids);
    Py_XDECREF(scores);
    vs_results_free(res);
    return NULL;
}

/* busy(): calls running on the handle without the GIL (tests use it: a
 * thread that reads it while another searches sees 1 only when the search
 * released the GIL) */
static PyObject *db_busy(PyObject *self, PyObject *unused)
{
    return PyLong_FromLong(((DBObject *)self)->calls.busy);
}

static PyMethodDef db_methods[] = {
    {"busy", db_busy, METH_NOARGS, "calls running without the GIL"},
    {"close", db_close, METH_NOARGS, "close the handle (waits for running calls)"},
    {"closed", db_closed, METH_NOARGS, "1 when closed or closing"},
    {"info", db_info, METH_NOARGS, "vs_db_info as a tuple"},
    {"upsert", db_upsert, METH_VARARGS, "upsert records"},
    {"delete", db_delete, METH_VARARGS, "delete by ids and/or filter"},
    {"commit", db_commit, METH_NOARGS, "commit pending changes"},
    {"search", db_search, METH_VARARGS, "search: lists of hit tuples"},
    {"search_arrays", db_search_arrays, METH_VARARGS, "search: ids and float32 scores"},
    {NULL, NULL, 0, NULL}};

static char db_doc[] = "a vs_db handle (use vecstore.open)";
static PyType_Slot db_slots[] = {
    {Py_tp_dealloc, db_dealloc},
    {Py_tp_methods, db_methods},
    {Py_tp_doc, db_doc},
    {0, NULL}};

static PyType_Spec db_spec = {"vecstore._vecstore.DB", sizeof(DBObject), 0,
                              Py_TPFLAGS_DEFAULT, db_slots};

int vsp_db_init(PyObject *m) { return vsp_add_type(m, &db_spec, &DBType); }

/* ---- StoreBase: the C base of vecstore.Store ----
 * Store.search and Store.search_arrays are this type's METH_FASTCALL |
 * METH_KEYWORDS methods: a float32 C-contiguous buffer query with the
 * keywords' plain values (int, float, str, None, bool) is parsed and
 * searched here with no Python frame, no argument tuple or dict and one
 * buffer acquisition; the results are built straight into their objects
 * (Hit, or two preallocated numpy arrays). Anything else (text queries,
 * lists, other dtypes, bad keywords) goes to the Python implementation
 * (Store._search_py / Store._search_arrays_py), which converts, checks
 * and raises as before. */

typedef struct {
    PyObject_HEAD
    PyObject *db; /* the DB handle (Store._db) */
} StoreObject;

static PyTypeObject *StoreBaseType;

static int store_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(((StoreObject *)self)->db);
    Py_VISIT((PyObject *)Py_TYPE(self));
    return 0;
}

static int store_clear(PyObject *self)
{
    Py_CLEAR(((StoreObject *)self)->db);
    return 0;
}

static void store_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    store_clear(self);
    freefunc fr = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    fr(self);
    Py_DECREF(tp);
}

/* the keywords of the two methods, interned at import */
enum {
    KW_QUERY, KW_K, KW_FILTER, KW_MODE, KW_EF, KW_EXACT, KW_FUSION, KW_ALPHA, KW_RRF_K,
    KW_DEPTH, KW_MMR, KW_TEXT, KW_WITH_TEXT, KW_WITH_METADATA, KW_THREADS, KW_N
};
static const char *const search_kw[KW_N] = {
    "query", "k", "filter", "mode", "ef", "exact", "fusion", "alpha", "rrf_k",
    "depth", "mmr", "text", "with_text", "with_metadata", "threads"};
static PyObject *search_kwo[KW_N];
/* search_arrays(queries, k, *, filter, ef, exact, threads) */
static const int arrays_kw[] = {KW_QUERY, KW_K, KW_FILTER, KW_EF, KW_EXACT, KW_THREADS};
static PyObject *queries_name; /* "queries", search_arrays' first parameter */
static PyObject *name_search_py, *name_arrays_py;

/* The index in search_kw of keyword name (arrays: only search_arrays'
 * keywords, "queries" for the query), or -1. */
static int kw_index(PyObject *name, int arrays)
{
    int n = arrays ? (int)(sizeof arrays_kw / sizeof *arrays_kw) : KW_N;
    for (int pass = 0; pass < 2; pass++)
        for (int j = 0; j < n; j++) {
            int i = arrays ? arrays_kw[j] : j;
            PyObject *want = arrays && i == KW_QUERY ? queries_name : search_kwo[i];
            if (pass == 0 ? name == want
                          : PyUnicode_Check(name) && PyUnicode_Compare(name, want) == 0)
                return i;
        }
    return -1;
}

/* Spread the arguments of a vectorcall over v (KW_N slots, NULL when not
 * given); 0 when they do not fit (too many positionals, an unknown or
 * repeated keyword): the Python implementation reports those. */
static int spread_args(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, int arrays,
                       PyObject **v)
{
    for (int i = 0; i < KW_N; i++)
        v[i] = NULL;
    if (nargs > 2)
        return 0;
    for (Py_ssize_t i = 0; i < nargs; i++)
        v[i] = args[i];
    Py_ssize_t nk = kwnames ? PyTuple_Size(kwnames) : 0;
    for (Py_ssize_t j = 0; j < nk; j++) {
        int i = kw_index(PyTuple_GetItem(kwnames, j), arrays);
        if (i < 0 || v[i])
            return 0;
        v[i] = args[nargs + j];
    }
    return 1;
}

/* Call the Python implementation name of self with the vectorcall's
 * arguments (a tuple and a dict: the slow path only). */
static PyObject *call_py(PyObject *self, PyObject *name, PyObject *const *args,
                         Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *fn = PyObject_GetAttr(self, name);
    if (!fn)
        return NULL;
    PyObject *t = PyTuple_New(nargs), *kw = NULL, *r = NULL;
    Py_ssize_t nk = kwnames ? PyTuple_Size(kwnames) : 0;
    if (t && nk && !(kw = PyDict_New()))
        goto out;
    for (Py_ssize_t i = 0; t && i < nargs; i++)
        PyTuple_SetItem(t, i, Py_NewRef(args[i]));
    for (Py_ssize_t j = 0; kw && j < nk; j++)
        if (PyDict_SetItem(kw, PyTuple_GetItem(kwnames, j), args[nargs + j]) < 0)
            goto out;
    if (t)
        r = PyObject_Call(fn, t, kw);
out:
    Py_XDECREF(t);
    Py_XDECREF(kw);
    Py_DECREF(fn);
    return r;
}

/* An optional int (None: 0); 1 ok, 0 not a plain int (the slow path), -1
 * error. */
static int opt_int(PyObject *o, Py_ssize_t *out)
{
    *out = 0;
    if (!o || o == Py_None)
        return 1;
    if (!PyLong_Check(o))
        return 0;
    *out = PyLong_AsSsize_t(o);
    if (*out == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0; /* too large: int() in Python reports it */
    }
    return 1;
}

/* An optional float (None: dflt); 1, 0 (the slow path) */
static int opt_double(PyObject *o, double dflt, double *out)
{
    *out = dflt;
    if (!o || o == Py_None)
        return 1;
    if (!PyFloat_Check(o) && !PyLong_Check(o))
        return 0;
    *out = PyFloat_AsDouble(o);
    if (*out == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    return 1;
}

/* One of names[0..n) (None: dflt): its index; -2 not one of them (the slow
 * path reports it). */
static int opt_name(PyObject *o, const char *const *names, int n, int dflt)
{
    if (!o || o == Py_None)
        return dflt;
    if (!PyUnicode_Check(o))
        return -2;
    for (int i = 0; i < n; i++)
        if (PyUnicode_CompareWithASCIIString(o, names[i]) == 0)
            return i;
    return -2;
}

/* bool(o) for an optional flag; -1 error */
static int opt_bool(PyObject *o, int dflt)
{
    return !o ? dflt : PyObject_IsTrue(o);
}

/* Take the buffer of a float32 C-contiguous query of 1 or 2 dimensions into
 * v: 1; 0 (no error set) when it is anything else. */
static int query_buffer(PyObject *q, Py_buffer *v)
{
    if (!q || PyUnicode_Check(q) || !PyObject_CheckBuffer(q))
        return 0;
    if (PyObject_GetBuffer(q, v, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) != 0) {
        PyErr_Clear();
        return 0;
    }
    const char *f = v->format ? v->format : "B";
    if ((*f == '<' || *f == '=' || *f == '@') && f[1])
        f++;
    if (f[0] != 'f' || f[1] || v->itemsize != 4 || v->ndim < 1 || v->ndim > 2 ||
        (v->ndim == 2 && v->shape[0] < 1)) {
        PyBuffer_Release(v);
        return 0;
    }
    return 1;
}

static const char *const mode_names[] = {"auto", "vector", "text", "hybrid"};
static const char *const fusion_names[] = {"rrf", "weighted", "dbsf"};

/* The fast path's search arguments from v; 1 ready (the buffer held in
 * *buf), 0 the slow path, -1 error. */
static int fast_args(PyObject *self, PyObject **v, int arrays, struct search_args *a,
                     Py_buffer *buf, DBObject **db)
{
    PyObject *dbo = ((StoreObject *)self)->db;
    if (!dbo || !PyObject_TypeCheck(dbo, DBType) || (v[KW_TEXT] && v[KW_TEXT] != Py_None))
        return 0;
    *db = (DBObject *)dbo;
    Py_ssize_t k = 10, ef, depth, threads;
    double rrf_k, alpha, mmr;
    int mode = arrays ? 1 : opt_name(v[KW_MODE], mode_names, 4, 0);
    int fusion = arrays ? 0 : opt_name(v[KW_FUSION], fusion_names, 3, 1);
    if (mode < 0 || fusion < 0 || (v[KW_K] && (!opt_int(v[KW_K], &k) || v[KW_K] == Py_None)) ||
        !opt_int(v[KW_EF], &ef) || !opt_int(v[KW_DEPTH], &depth) ||
        !opt_int(v[KW_THREADS], &threads) || threads > INT_MAX || threads < INT_MIN ||
        !opt_double(v[KW_RRF_K], NAN, &rrf_k) || !opt_double(v[KW_ALPHA], NAN, &alpha) ||
        !opt_double(v[KW_MMR], -1.0, &mmr))
        return 0;
    a->filter = NULL;
    if (v[KW_FILTER] && v[KW_FILTER] != Py_None) {
        Py_ssize_t n;
        if (!PyUnicode_Check(v[KW_FILTER]) ||
            !(a->filter = PyUnicode_AsUTF8AndSize(v[KW_FILTER], &n)) ||
            (Py_ssize_t)strlen(a->filter) != n) {
            PyErr_Clear();
            return 0;
        }
    }
    int exact = opt_bool(v[KW_EXACT], 0), wt = opt_bool(v[KW_WITH_TEXT], 1),
        wm = opt_bool(v[KW_WITH_METADATA], 1);
    if (exact < 0 || wt < 0 || wm < 0)
        return -1;
    if (arrays)
        wt = wm = 0;
    if (!query_buffer(v[KW_QUERY], buf))
        return 0;
    a->vectors = v[KW_QUERY];
    a->texts = Py_None;
    a->held = buf;
    a->nq = buf->ndim == 1 ? 1 : buf->shape[0];
    a->cols = (size_t)(buf->ndim == 1 ? buf->shape[0] : buf->shape[1]);
    if (set_opts(a, k, mode, ef, exact, fusion, rrf_k, alpha, depth, mmr, (int)threads, wt, wm,
                 wt || wm) < 0) {
        PyBuffer_Release(buf);
        return -1;
    }
    return 1;
}

static PyObject *store_search(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                              PyObject *kwnames)
{
    PyObject *v[KW_N];
    struct search_args a;
    Py_buffer buf;
    DBObject *db = NULL;
    vs_results *res;
    int r = spread_args(args, nargs, kwnames, 0, v) && vsp_hit_type
                ? fast_args(self, v, 0, &a, &buf, &db)
                : 0;
    if (r < 0)
        return NULL;
    if (r == 0)
        return call_py(self, name_search_py, args, nargs, kwnames);
    int single = buf.ndim == 1;
    Py_INCREF((PyObject *)db);
    r = run_search(db, &a, &res);
    PyBuffer_Release(&buf);
    Py_DECREF((PyObject *)db);
    if (r < 0)
        return NULL;
    PyObject *rows = vsp_hit_lists(res);
    if (!rows || !single)
        return rows;
    PyObject *one = PyList_GetItem(rows, 0);
    Py_XINCREF(one);
    Py_DECREF(rows);
    return one;
}


static PyObject *store_search_arrays(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                                     PyObject *kwnames)
{
    PyObject *v[KW_N];
    struct search_args a;
    Py_buffer buf;
    DBObject *db = NULL;
    vs_results *res;
    int r = spread_args(args, nargs, kwnames, 1, v) ? fast_args(self, v, 1, &a, &buf, &db) : 0;
    if (r < 0)
        return NULL;
    if (r == 0)
        return call_py(self, name_arrays_py, args, nargs, kwnames);
    a.o.ids_only = 1; /* no stored record is read for the hits */
    Py_INCREF((PyObject *)db);
    r = run_search(db, &a, &res);
    PyBuffer_Release(&buf);
    Py_DECREF((PyObject *)db);
    if (r < 0)
        return NULL;
    return vsp_hit_arrays(res, (size_t)a.nq, a.o.k);
}

static PyMethodDef store_methods[] = {
    {"search", (PyCFunction)(void (*)(void))store_search, METH_FASTCALL | METH_KEYWORDS,
     "search($self, /, query, k=10, *, filter=None, mode=None, ef=None, exact=False, "
     "fusion=None, alpha=None, rrf_k=None, depth=None, mmr=None, text=None, with_text=True, "
     "with_metadata=True, threads=None)\n--\n\n"
     "Search the store; hits best first (see vecstore/__init__.pyi)."},
    {"search_arrays", (PyCFunction)(void (*)(void))store_search_arrays,
     METH_FASTCALL | METH_KEYWORDS,
     "search_arrays($self, /, queries, k=10, *, filter=None, ef=None, exact=False, "
     "threads=None)\n--\n\n"
     "Vector queries to (ids, scores) arrays of shape (m, k) (see vecstore/__init__.pyi)."},
    {NULL, NULL, 0, NULL}};

static PyMemberDef store_members[] = {
    {"_db", T_OBJECT, offsetof(StoreObject, db), 0, "the DB handle"},
    {NULL, 0, 0, 0, NULL}};

static char store_doc[] = "the C base of vecstore.Store (its search fast paths)";
static PyType_Slot store_slots[] = {
    {Py_tp_dealloc, store_dealloc},
    {Py_tp_traverse, store_traverse},
    {Py_tp_clear, store_clear},
    {Py_tp_methods, store_methods},
    {Py_tp_members, store_members},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_doc, store_doc},
    {0, NULL}};
static PyType_Spec store_spec = {"vecstore._vecstore.StoreBase", sizeof(StoreObject), 0,
                                 Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
                                 store_slots};

static int intern_names(void)
{
    for (int i = 0; i < KW_N; i++)
        if (!(search_kwo[i] = PyUnicode_InternFromString(search_kw[i])))
            return -1;
    queries_name = PyUnicode_InternFromString("queries");
    name_search_py = PyUnicode_InternFromString("_search_py");
    name_arrays_py = PyUnicode_InternFromString("_search_arrays_py");
    return queries_name && name_search_py && name_arrays_py ? 0 : -1;
}

int vsp_store_init(PyObject *m)
{
    return vsp_add_type(m, &store_spec, &StoreBaseType) < 0 ? -1 : intern_names();
}
