/* _vecstore.c: the CPython extension of the vecstore package, over the
 * public C API only (lib/vecstore.h). Built for the limited API of CPython
 * 3.11 (abi3): the buffer protocol takes float32 (n, d) arrays without a
 * copy. The Python layer (vecstore/__init__.py) turns keywords into the
 * positional arguments here, builds Hit objects and maps statuses to
 * exception classes (through the factory set by set_error_factory).
 *
 * Every call into the library that searches, builds (commit), writes or
 * embeds runs with the GIL released. A handle counts the calls running on
 * it without the GIL (busy); close() refuses new calls, then waits for
 * busy to drop to 0 before it frees the handle.
 */
#define Py_LIMITED_API 0x030B0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vecstore.h"

/* ---- errors ---- */

static PyObject *error_factory; /* callable(status, name, message, file, line,
                                   col, field, detail, closed) -> exception */

static PyObject *opt_str(const char *s)
{
    if (s && *s)
        return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
    Py_RETURN_NONE;
}

/* Raise the exception for status and err (may be NULL); returns NULL. */
static PyObject *raise_status(int status, const struct vs_error *err, int closed)
{
    if (!error_factory) {
        PyErr_Format(PyExc_RuntimeError, "vecstore: %s: %s", vs_errname(status),
                     err && err->detail[0] ? err->detail : vs_errstr(status));
        return NULL;
    }
    PyObject *file = opt_str(err ? err->file : NULL);
    PyObject *field = opt_str(err ? err->field : NULL);
    PyObject *detail = opt_str(err && err->detail[0] ? err->detail : vs_errstr(status));
    PyObject *exc = NULL;
    if (file && field && detail)
        exc = PyObject_CallFunction(error_factory, "issOllOOi", status, vs_errname(status),
                                    vs_errstr(status), file, err ? err->line : 0L,
                                    err ? err->col : 0L, field, detail, closed);
    Py_XDECREF(file);
    Py_XDECREF(field);
    Py_XDECREF(detail);
    if (exc) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
    return NULL;
}

/* An error the binding finds itself (bad shape, a closed handle). */
static PyObject *raise_here(int status, const char *field, long line, const char *detail,
                            int closed)
{
    struct vs_error e;
    memset(&e, 0, sizeof e);
    e.status = status;
    e.line = line;
    if (field)
        snprintf(e.field, sizeof e.field, "%s", field);
    snprintf(e.detail, sizeof e.detail, "%s", detail);
    return raise_status(status, &e, closed);
}

static PyObject *set_error_factory(PyObject *self, PyObject *arg)
{
    if (!PyCallable_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "the error factory must be callable");
        return NULL;
    }
    PyObject *old = error_factory;
    error_factory = Py_NewRef(arg);
    Py_XDECREF(old);
    Py_RETURN_NONE;
}

/* ---- strings and buffers ---- */

/* UTF-8 of a str without NUL bytes (the library takes C strings); NULL with
 * an exception set otherwise. Valid while s lives. */
static const char *utf8_of(PyObject *s, const char *field, long line)
{
    if (!PyUnicode_Check(s)) {
        PyErr_Format(PyExc_TypeError, "%s must be str", field);
        return NULL;
    }
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    if (!u) {
        if (PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) { /* a lone surrogate */
            PyErr_Clear();
            raise_here(VS_E_DATA, field, line, "the string is not valid UTF-8 (a lone surrogate)",
                       0);
        }
        return NULL;
    }
    if ((Py_ssize_t)strlen(u) != n) {
        raise_here(VS_E_DATA, field, line, "a string holds a NUL character", 0);
        return NULL;
    }
    return u;
}

/* The UTF-8 of each item of tuple t (None -> NULL when none_ok); the
 * array is the caller's to free. */
static const char **utf8_array(PyObject *t, const char *field, int none_ok)
{
    Py_ssize_t n = PyTuple_Size(t);
    if (n < 0)
        return NULL;
    const char **a = calloc((size_t)n + 1, sizeof *a);
    if (!a) {
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *s = PyTuple_GetItem(t, i);
        if (s == Py_None && none_ok)
            continue;
        if (!s || !(a[i] = utf8_of(s, field, (long)i + 1))) {
            free(a);
            return NULL;
        }
    }
    return a;
}

/* A float32 buffer in C order of 1 or 2 dimensions: rows and cols. */
static int float_buffer(PyObject *obj, Py_buffer *v, int writable, size_t *rows,
                        size_t *cols)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, v, flags) != 0)
        return -1;
    const char *f = v->format ? v->format : "B";
    if ((*f == '<' || *f == '=' || *f == '@') && f[1])
        f++;
    if (strcmp(f, "f") != 0 || v->itemsize != 4 || v->ndim < 1 || v->ndim > 2) {
        PyBuffer_Release(v);
        raise_here(VS_E_USAGE, "vectors", 0,
                   "vectors must be a float32 buffer of shape (d,) or (n, d)", 0);
        return -1;
    }
    if (v->ndim == 1) {
        *rows = 1;
        *cols = (size_t)v->shape[0];
    } else {
        *rows = (size_t)v->shape[0];
        *cols = (size_t)v->shape[1];
    }
    return 0;
}

/* The first non-finite element of n floats, or n. */
static size_t first_nonfinite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return i;
    return n;
}

/* The first all-zero row of n rows of cols floats, or n. */
static size_t first_zero_row(const float *x, size_t n, size_t cols)
{
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < cols && x[i * cols + j] == 0.0f)
            j++;
        if (j == cols)
            return i;
    }
    return n;
}

static void pause_ms(void)
{
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
}

/* ---- DB: a store handle ---- */

typedef struct {
    PyObject_HEAD
    vs_db *db;
    int busy;    /* calls running without the GIL */
    int closing; /* close() started: no new calls */
} DBObject;

static PyTypeObject *DBType;

/* Take a call slot (with the GIL); -1 with ClosedError when closed. */
static int db_enter(DBObject *s)
{
    if (!s->db || s->closing) {
        raise_here(VS_E_USAGE, NULL, 0, "the store is closed", 1);
        return -1;
    }
    s->busy++;
    return 0;
}

static void db_leave(DBObject *s) { s->busy--; }

static PyObject *db_open(PyObject *mod, PyObject *args)
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
        return raise_here(VS_E_CONFIG, "dim", 0, "dim must be >= 0", 0);
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
    s->busy = 0;
    s->closing = 0;
    struct vs_error err;
    memset(&err, 0, sizeof err);
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = vs_db_open(path, flags, &c, lock_wait, &s->db, &err);
    Py_END_ALLOW_THREADS
    if (rc != VS_OK) {
        Py_DECREF(s);
        return raise_status(rc, &err, 0);
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
    if (!s->db || s->closing)
        Py_RETURN_NONE;
    s->closing = 1;
    while (s->busy > 0) { /* the other calls need the GIL to finish */
        Py_BEGIN_ALLOW_THREADS
        pause_ms();
        Py_END_ALLOW_THREADS
    }
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
    return PyBool_FromLong(!s->db || s->closing);
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
        return raise_status(rc, NULL, 0);
    return Py_BuildValue("(KKKnnsNiii)", (unsigned long long)in.records,
                         (unsigned long long)in.tombstones,
                         (unsigned long long)in.generation, (Py_ssize_t)in.segments,
                         (Py_ssize_t)in.dim, in.metric, opt_str(in.model),
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
            return raise_here(VS_E_USAGE, names[j], 0, msg, 0);
        }
    if (db_enter(s) < 0)
        return NULL;
    Py_buffer v;
    size_t rows = 0, cols = 0;
    const char **aid = NULL, **at = NULL, **am = NULL, **ad = NULL;
    PyObject *result = NULL;
    int have_buf = 0;
    if (float_buffer(vectors, &v, 0, &rows, &cols) < 0)
        goto out;
    have_buf = 1;
    if (rows != n) {
        char msg[160];
        snprintf(msg, sizeof msg, "%zu ids but %zu vectors", n, rows);
        raise_here(VS_E_USAGE, "vectors", 0, msg, 0);
        goto out;
    }
    struct vs_db_info in;
    if (vs_db_info(s->db, &in) != VS_OK)
        memset(&in, 0, sizeof in);
    if (in.dim && cols != in.dim && n) {
        char msg[160];
        snprintf(msg, sizeof msg, "vector has %zu numbers, the store has dimension %zu",
                 cols, in.dim);
        raise_here(VS_E_DIM, "vector", 1, msg, 0);
        goto out;
    }
    if (!(aid = utf8_array(ids, "id", 0)))
        goto out;
    for (size_t i = 0; i < n; i++)
        if (!*aid[i]) {
            raise_here(VS_E_FIELD, "id", (long)i + 1, "a record needs a non-empty id", 0);
            goto out;
        }
    if ((texts != Py_None && !(at = utf8_array(texts, "text", 1))) ||
        (meta != Py_None && !(am = utf8_array(meta, "metadata", 1))) ||
        (docs != Py_None && !(ad = utf8_array(docs, "doc_id", 1))))
        goto out;
    const float *x = v.buf;
    size_t bad;
    /* what the library would refuse part-way is refused before the first
     * record: non-finite numbers, zero vectors of a cosine store (a
     * normalised dot/l2 store's zero vector is found as it is applied) */
    size_t zero = n;
    int cosine = strcmp(in.metric, "cosine") == 0;
    Py_BEGIN_ALLOW_THREADS
    bad = first_nonfinite(x, n * cols);
    if (cosine && bad == n * cols)
        zero = first_zero_row(x, n, cols);
    Py_END_ALLOW_THREADS
    if (bad < n * cols) {
        char msg[96];
        snprintf(msg, sizeof msg, "vector[%zu] is not a finite number", bad % cols);
        raise_here(VS_E_NONFINITE, "vector", (long)(bad / cols) + 1, msg, 0);
        goto out;
    }
    if (zero < n) {
        raise_here(VS_E_DATA, "vector", (long)zero + 1,
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
        raise_status(rc, &err, 0);
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
    if (n && !(aid = utf8_array(ids, "id", 0))) {
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
        raise_status(rc, &err, 0);
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
        return raise_status(rc, &err, 0);
    Py_RETURN_NONE;
}

/* ---- hits ----
 * HitBase: the storage of vecstore.Hit (a Python subclass that adds the
 * methods: metadata, to_dict, __eq__, __repr__). Its fields are member
 * slots (a NULL slot reads as None); search fills them straight from the
 * results, with no tuple and no Python __init__ per hit. */

typedef struct {
    PyObject_HEAD
    PyObject *id, *score, *rank, *text, *meta_json, *doc_id, *distance, *qid,
        *score_vector, *score_text, *retrieval_rank, *meta;
} HitObject;

#define HIT_NFIELDS 12

static PyObject **hit_fields(HitObject *h) { return &h->id; }

static int hit_traverse(PyObject *self, visitproc visit, void *arg)
{
    PyObject **f = hit_fields((HitObject *)self);
    for (int i = 0; i < HIT_NFIELDS; i++)
        Py_VISIT(f[i]);
    Py_VISIT((PyObject *)Py_TYPE(self));
    return 0;
}

static int hit_clear(PyObject *self)
{
    PyObject **f = hit_fields((HitObject *)self);
    for (int i = 0; i < HIT_NFIELDS; i++)
        Py_CLEAR(f[i]);
    return 0;
}

static void hit_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    hit_clear(self);
    freefunc fr = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    fr(self);
    Py_DECREF(tp);
}

#define HIT_MEMBER(name, field) \
    {name, T_OBJECT, offsetof(HitObject, field), 0, NULL}
static PyMemberDef hit_members[] = {
    HIT_MEMBER("id", id),
    HIT_MEMBER("score", score),
    HIT_MEMBER("rank", rank),
    HIT_MEMBER("text", text),
    HIT_MEMBER("_meta_json", meta_json),
    HIT_MEMBER("doc_id", doc_id),
    HIT_MEMBER("distance", distance),
    HIT_MEMBER("qid", qid),
    HIT_MEMBER("score_vector", score_vector),
    HIT_MEMBER("score_text", score_text),
    HIT_MEMBER("retrieval_rank", retrieval_rank),
    HIT_MEMBER("_meta", meta),
    {NULL, 0, 0, 0, NULL}};

/* ---- Hit.metadata: the metadata JSON as a dict, as json.loads makes it,
 * read here for the form the library hands over (compact JSON: jansson's
 * output or the stored bytes); anything else (escapes, whitespace, long
 * integers) goes to json.loads itself. */

struct mscan {
    const char *p, *end;
    int depth;
};

static PyObject *mvalue(struct mscan *s);

/* NULL without an error set: not this reader's form (json.loads reads it) */
static PyObject *mstring(struct mscan *s)
{
    const char *b = ++s->p;
    while (s->p < s->end && *s->p != '"') {
        if (*s->p == '\\')
            return NULL;
        s->p++;
    }
    if (s->p >= s->end)
        return NULL;
    PyObject *o = PyUnicode_DecodeUTF8(b, s->p - b, NULL);
    s->p++;
    if (!o)
        PyErr_Clear();
    return o;
}

/* The keys of metadata objects: hits of one store repeat the same few
 * (a 1000-query search reads 10,000 dicts), so the str of a short key is
 * made once and shared (interned: its hash is kept), in a small table
 * replaced round robin. Read and written under the GIL. */
enum { MKEY_SLOTS = 16, MKEY_MAX = 32 };
static struct {
    PyObject *s;
    Py_ssize_t n;
    char b[MKEY_MAX];
} mkeys[MKEY_SLOTS];
static unsigned mkey_next;

static PyObject *mkey(struct mscan *s)
{
    const char *b = s->p + 1, *q = b;
    while (q < s->end && *q != '"' && *q != '\\')
        q++;
    Py_ssize_t n = q - b;
    if (q >= s->end || *q != '"' || n > MKEY_MAX)
        return mstring(s); /* escapes, or too long to keep */
    for (int i = 0; i < MKEY_SLOTS; i++)
        if (mkeys[i].s && mkeys[i].n == n && memcmp(mkeys[i].b, b, (size_t)n) == 0) {
            s->p = q + 1;
            return Py_NewRef(mkeys[i].s);
        }
    PyObject *o = mstring(s);
    if (!o)
        return NULL;
    PyUnicode_InternInPlace(&o); /* still one reference ours, now to the interned str */
    unsigned i = mkey_next++ % MKEY_SLOTS;
    PyObject *old = mkeys[i].s;
    mkeys[i].s = Py_NewRef(o);
    mkeys[i].n = n;
    memcpy(mkeys[i].b, b, (size_t)n);
    Py_XDECREF(old);
    return o;
}

static PyObject *mnumber(struct mscan *s)
{
    const char *b = s->p, *q = s->p;
    if (q < s->end && *q == '-')
        q++;
    const char *dg = q;
    while (q < s->end && *q >= '0' && *q <= '9')
        q++;
    if (q == dg || (dg[0] == '0' && q - dg > 1))
        return NULL;
    int real = 0;
    if (q < s->end && *q == '.') {
        const char *f = ++q;
        while (q < s->end && *q >= '0' && *q <= '9')
            q++;
        if (q == f)
            return NULL;
        real = 1;
    }
    if (q < s->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < s->end && (*q == '+' || *q == '-'))
            q++;
        const char *x = q;
        while (q < s->end && *q >= '0' && *q <= '9')
            q++;
        if (q == x)
            return NULL;
        real = 1;
    }
    char tmp[64];
    if (q - b >= (Py_ssize_t)sizeof tmp || (!real && q - dg > 18))
        return NULL;
    memcpy(tmp, b, (size_t)(q - b));
    tmp[q - b] = '\0';
    s->p = q;
    if (!real)
        return PyLong_FromLongLong(strtoll(tmp, NULL, 10));
    /* float(s), as json.loads makes a real */
    double v = PyOS_string_to_double(tmp, NULL, NULL);
    if (v == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return NULL;
    }
    return PyFloat_FromDouble(v);
}

static PyObject *mliteral(struct mscan *s, const char *w, size_t n, PyObject *v)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n) != 0)
        return NULL;
    s->p += n;
    return Py_NewRef(v);
}

static PyObject *mcontainer(struct mscan *s, int obj)
{
    if (++s->depth > 64)
        return NULL;
    PyObject *c = obj ? PyDict_New() : PyList_New(0);
    if (!c)
        return NULL;
    s->p++;
    char close = obj ? '}' : ']';
    if (s->p < s->end && *s->p == close) {
        s->p++;
        s->depth--;
        return c;
    }
    for (;;) {
        PyObject *k = NULL;
        if (obj) {
            if (s->p >= s->end || *s->p != '"' || !(k = mkey(s)) || s->p >= s->end ||
                *s->p++ != ':')
                goto fail;
        }
        PyObject *v = mvalue(s);
        int bad = !v || (obj ? PyDict_SetItem(c, k, v) : PyList_Append(c, v)) < 0;
        Py_XDECREF(v);
        Py_XDECREF(k);
        k = NULL;
        if (bad)
            goto fail;
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == close) {
            s->p++;
            s->depth--;
            return c;
        }
    fail:
        Py_XDECREF(k);
        Py_DECREF(c);
        PyErr_Clear();
        return NULL;
    }
}

static PyObject *mvalue(struct mscan *s)
{
    if (s->p >= s->end)
        return NULL;
    switch (*s->p) {
    case '"': return mstring(s);
    case '{': return mcontainer(s, 1);
    case '[': return mcontainer(s, 0);
    case 't': return mliteral(s, "true", 4, Py_True);
    case 'f': return mliteral(s, "false", 5, Py_False);
    case 'n': return mliteral(s, "null", 4, Py_None);
    default: return mnumber(s);
    }
}

static PyObject *json_loads_fn;

static PyObject *hit_metadata(PyObject *self, void *unused)
{
    (void)unused;
    HitObject *h = (HitObject *)self;
    if (h->meta && h->meta != Py_None)
        return Py_NewRef(h->meta);
    PyObject *m = NULL;
    Py_ssize_t n = 0;
    const char *t = NULL;
    int truthy = h->meta_json && PyObject_IsTrue(h->meta_json) == 1;
    PyErr_Clear();
    if (truthy && PyUnicode_Check(h->meta_json) &&
        !(t = PyUnicode_AsUTF8AndSize(h->meta_json, &n)))
        PyErr_Clear();
    if (!truthy) {
        m = PyDict_New(); /* as json.loads(x) if x else {} */
    } else {
        struct mscan s = {t, t + n, 0};
        m = t ? mvalue(&s) : NULL;
        if (m && s.p != s.end)
            Py_CLEAR(m);
        if (!m) {
            PyErr_Clear();
            if (!json_loads_fn) {
                PyObject *mod = PyImport_ImportModule("json");
                json_loads_fn = mod ? PyObject_GetAttrString(mod, "loads") : NULL;
                Py_XDECREF(mod);
                if (!json_loads_fn)
                    return NULL;
            }
            m = PyObject_CallFunctionObjArgs(json_loads_fn, h->meta_json, NULL);
        }
    }
    if (!m)
        return NULL;
    PyObject *old = h->meta;
    h->meta = Py_NewRef(m);
    Py_XDECREF(old);
    return m;
}

static PyGetSetDef hit_getset[] = {
    {"metadata", hit_metadata, NULL,
     "the record's metadata (parsed from JSON on first access; {} when none)", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static char hit_doc[] = "the storage of vecstore.Hit";
static PyType_Slot hit_slots[] = {
    {Py_tp_getset, hit_getset},
    {Py_tp_dealloc, hit_dealloc},
    {Py_tp_traverse, hit_traverse},
    {Py_tp_clear, hit_clear},
    {Py_tp_members, hit_members},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_doc, hit_doc},
    {0, NULL}};
static PyType_Spec hit_spec = {"vecstore._vecstore.HitBase", sizeof(HitObject), 0,
                               Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
                               hit_slots};
static PyTypeObject *HitBaseType;
static PyTypeObject *hit_type; /* vecstore.Hit (set_hit_type), a subclass */

static PyObject *set_hit_type(PyObject *mod, PyObject *arg)
{
    if (!PyType_Check(arg) || !PyType_IsSubtype((PyTypeObject *)arg, HitBaseType)) {
        PyErr_SetString(PyExc_TypeError, "the hit type must subclass HitBase");
        return NULL;
    }
    PyObject *old = (PyObject *)hit_type;
    hit_type = (PyTypeObject *)Py_NewRef(arg);
    Py_XDECREF(old);
    Py_RETURN_NONE;
}

/* A new vecstore.Hit of h; qid is the query's (shared by its hits). */
static PyObject *make_hit(const struct vs_hit *h, PyObject *qid)
{
    allocfunc alloc = (allocfunc)PyType_GetSlot(hit_type, Py_tp_alloc);
    HitObject *o = (HitObject *)alloc(hit_type, 0);
    if (!o)
        return NULL;
    o->id = opt_str(h->id);
    o->score = PyFloat_FromDouble(h->score);
    o->rank = PyLong_FromSsize_t((Py_ssize_t)h->rank);
    o->qid = Py_NewRef(qid);
    if (h->text)
        o->text = opt_str(h->text);
    if (h->metadata_json)
        o->meta_json = opt_str(h->metadata_json);
    if (h->doc_id)
        o->doc_id = opt_str(h->doc_id);
    if (h->has_distance)
        o->distance = PyFloat_FromDouble(h->distance);
    if (h->has_score_vector) /* a vector hit's score is its score_vector: one float */
        o->score_vector = memcmp(&h->score_vector, &h->score, sizeof h->score) == 0 && o->score
                              ? Py_NewRef(o->score)
                              : PyFloat_FromDouble(h->score_vector);
    if (h->has_score_text)
        o->score_text = PyFloat_FromDouble(h->score_text);
    if (h->retrieval_rank)
        o->retrieval_rank = PyLong_FromSize_t(h->retrieval_rank);
    if (!o->id || !o->score || !o->rank || (h->text && !o->text) ||
        (h->metadata_json && !o->meta_json) || (h->doc_id && !o->doc_id) ||
        (h->has_distance && !o->distance) || (h->has_score_vector && !o->score_vector) ||
        (h->has_score_text && !o->score_text) || (h->retrieval_rank && !o->retrieval_rank)) {
        Py_DECREF(o);
        return NULL;
    }
    return (PyObject *)o;
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
        if (float_buffer(a->vectors, v, 0, &rows, &cols) < 0)
            return -1;
        *have = 1;
        if ((Py_ssize_t)rows != a->nq) {
            raise_here(VS_E_USAGE, "query", 0, "the query matrix must have one row per query", 0);
            return -1;
        }
    }
    if (a->texts != Py_None) {
        if (!PyTuple_Check(a->texts) || PyTuple_Size(a->texts) != a->nq) {
            raise_here(VS_E_USAGE, "text", 0, "texts must have one item per query", 0);
            return -1;
        }
        if (!(*at = utf8_array(a->texts, "text", 1)))
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
        raise_here(VS_E_USAGE, k < 1 ? "k" : ef < 0 ? "ef" : "depth", 0,
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
            raise_status(rc, &err, 0);
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

static PyObject *hit_lists(vs_results *res);

/* search(vectors, texts, nq, k, filter, mode, ef, exact, fusion, rrf_k,
 * alpha, depth, mmr, threads, with_text, with_metadata, with_doc_id)
 * -> list (per query) of lists of vecstore.Hit (built here, no tuples) */
static PyObject *db_search(PyObject *self, PyObject *args)
{
    struct search_args a;
    vs_results *res;
    if (!hit_type) {
        PyErr_SetString(PyExc_RuntimeError, "vecstore: set_hit_type was not called");
        return NULL;
    }
    if (parse_search(args, &a) < 0 || run_search((DBObject *)self, &a, &res) < 0)
        return NULL;
    return hit_lists(res);
}

/* The hits of res as a list (per query) of lists of vecstore.Hit; frees
 * res. */
static PyObject *hit_lists(vs_results *res)
{
    size_t nq = vs_results_queries(res);
    PyObject *out = PyList_New((Py_ssize_t)nq);
    for (size_t q = 0; out && q < nq; q++) {
        size_t nh = vs_results_count(res, q);
        PyObject *row = PyList_New((Py_ssize_t)nh);
        if (!row) {
            Py_CLEAR(out);
            break;
        }
        PyList_SetItem(out, (Py_ssize_t)q, row);
        PyObject *qid = opt_str(vs_results_qid(res, q));
        for (size_t i = 0; qid && i < nh; i++) {
            PyObject *t = make_hit(vs_results_hit(res, q, i), qid);
            if (!t) {
                Py_CLEAR(out);
                break;
            }
            PyList_SetItem(row, (Py_ssize_t)i, t);
        }
        if (!qid)
            Py_CLEAR(out);
        Py_XDECREF(qid);
    }
    vs_results_free(res);
    return out;
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
            PyObject *id = h ? opt_str(h->id) : Py_NewRef(Py_None);
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
    return PyLong_FromLong(((DBObject *)self)->busy);
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
    int r = spread_args(args, nargs, kwnames, 0, v) && hit_type
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
    PyObject *rows = hit_lists(res);
    if (!rows || !single)
        return rows;
    PyObject *one = PyList_GetItem(rows, 0);
    Py_XINCREF(one);
    Py_DECREF(rows);
    return one;
}

/* numpy.empty and the two dtypes, looked up once */
static PyObject *np_empty, *np_f32, *np_obj;

static int numpy_ready(void)
{
    if (np_empty)
        return 0;
    PyObject *np = PyImport_ImportModule("numpy");
    if (!np)
        return -1;
    PyObject *e = PyObject_GetAttrString(np, "empty");
    PyObject *f = PyObject_GetAttrString(np, "float32");
    PyObject *o = PyObject_GetAttrString(np, "object_");
    Py_DECREF(np);
    if (!e || !f || !o) {
        Py_XDECREF(e);
        Py_XDECREF(f);
        Py_XDECREF(o);
        return -1;
    }
    np_empty = e;
    np_f32 = f;
    np_obj = o;
    return 0;
}

/* A new numpy array of shape and dtype, its buffer (writable, C order) in
 * *b with itemsize isz; NULL with the error set. */
static PyObject *new_array(PyObject *shape, PyObject *dtype, Py_buffer *b, Py_ssize_t isz)
{
    PyObject *arr = PyObject_CallFunctionObjArgs(np_empty, shape, dtype, NULL);
    if (!arr)
        return NULL;
    if (PyObject_GetBuffer(arr, b, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE | PyBUF_FORMAT) != 0)
        goto fail;
    if (b->itemsize != isz) {
        PyBuffer_Release(b);
        PyErr_SetString(PyExc_RuntimeError, "vecstore: numpy.empty gave an unexpected buffer");
        goto fail;
    }
    return arr;
fail:
    Py_DECREF(arr);
    return NULL;
}

/* The ids of one hit_arrays call, each decoded once: a batch's hits
 * repeat ids (SciFact, ef 16: 11090 hits, 3684 ids), and a str is
 * immutable, so equal ids share one. Open addressing on the bytes' FNV-1a
 * hash; full at half its slots, after which ids are decoded each time. */
struct id_slot {
    uint64_t h;
    const char *c; /* the results' bytes (alive until vs_results_free) */
    PyObject *s;   /* a reference of the table's */
};

struct id_table {
    struct id_slot *slot;
    size_t mask, used;
};

static void id_table_free(struct id_table *t)
{
    for (size_t i = 0; t->slot && i <= t->mask; i++)
        Py_XDECREF(t->slot[i].s);
    free(t->slot);
}

/* A new reference to the str of id (non-empty); NULL with the error set. */
static PyObject *id_str(struct id_table *t, const char *id)
{
    uint64_t h = 1469598103934665603ULL;
    size_t n = 0;
    for (; id[n]; n++)
        h = (h ^ (unsigned char)id[n]) * 1099511628211ULL;
    size_t i = t->slot ? (size_t)h & t->mask : 0;
    for (; t->slot && t->slot[i].s; i = (i + 1) & t->mask)
        if (t->slot[i].h == h && strcmp(t->slot[i].c, id) == 0) {
            Py_INCREF(t->slot[i].s);
            return t->slot[i].s;
        }
    PyObject *s = PyUnicode_DecodeUTF8(id, (Py_ssize_t)n, "replace");
    if (s && t->slot && 2 * (t->used + 1) <= t->mask + 1) {
        t->slot[i] = (struct id_slot){h, id, s};
        t->used++;
        Py_INCREF(s);
    }
    return s;
}

/* (ids, scores): numpy arrays (nq, k) of object (str, None past a query's
 * hits) and float32 (NaN there), written in place; frees res. */
static PyObject *hit_arrays(vs_results *res, size_t nq, size_t k)
{
    /* a slot a hit, at most 2^16 (1.5 MiB): a table that cannot be had
     * leaves every id decoded */
    struct id_table tab = {NULL, 0, 0};
    size_t want = 16;
    while (want < 65536 && want < nq * k)
        want *= 2;
    if ((tab.slot = calloc(want, sizeof *tab.slot)))
        tab.mask = want - 1;
    PyObject *shape = NULL, *ids = NULL, *scores = NULL, *out = NULL;
    Py_buffer bi, bs;
    int have_i = 0, have_s = 0;
    if (numpy_ready() < 0 || !(shape = Py_BuildValue("(nn)", (Py_ssize_t)nq, (Py_ssize_t)k)))
        goto done;
    if (!(ids = new_array(shape, np_obj, &bi, (Py_ssize_t)sizeof(PyObject *))))
        goto done;
    have_i = 1;
    if (!(scores = new_array(shape, np_f32, &bs, (Py_ssize_t)sizeof(float))))
        goto done;
    have_s = 1;
    /* numpy.empty(object) holds None in every slot (a reference each):
     * each slot's reference is swapped for the id's */
    PyObject **slot = bi.buf;
    float *sc = bs.buf;
    for (size_t q = 0; q < nq; q++) {
        size_t nh = vs_results_count(res, q);
        for (size_t i = 0; i < k; i++) {
            const struct vs_hit *h = i < nh ? vs_results_hit(res, q, i) : NULL;
            sc[q * k + i] = h ? (float)h->score : NAN;
            if (!h)
                continue;
            PyObject *id = h->id && *h->id ? id_str(&tab, h->id) : opt_str(NULL);
            if (!id)
                goto done;
            PyObject *old = slot[q * k + i];
            slot[q * k + i] = id;
            Py_XDECREF(old);
        }
    }
    out = PyTuple_Pack(2, ids, scores);
done:
    if (have_i)
        PyBuffer_Release(&bi);
    if (have_s)
        PyBuffer_Release(&bs);
    Py_XDECREF(shape);
    Py_XDECREF(ids);
    Py_XDECREF(scores);
    id_table_free(&tab);
    vs_results_free(res);
    return out;
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
    return hit_arrays(res, (size_t)a.nq, a.o.k);
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

/* ---- Encoder ---- */

typedef struct {
    PyObject_HEAD
    vs_encoder *e;
    int busy, closing;
} EncObject;

static PyTypeObject *EncType;

static PyObject *enc_open(PyObject *mod, PyObject *args)
{
    const char *model, *cache_dir, *base_url, *key_env;
    Py_ssize_t dim;
    int use_cache, retries;
    long timeout_ms;
    if (!PyArg_ParseTuple(args, "snpzzzli", &model, &dim, &use_cache, &cache_dir, &base_url,
                          &key_env, &timeout_ms, &retries))
        return NULL;
    if (dim < 0)
        return raise_here(VS_E_USAGE, "dim", 0, "dim must be >= 0", 0);
    struct vs_encoder_opts o;
    vs_encoder_opts_init(&o, sizeof o);
    o.use_cache = use_cache;
    o.cache_dir = cache_dir;
    o.base_url = base_url;
    o.api_key_env = key_env;
    o.timeout_ms = timeout_ms;
    o.max_retries = retries;
    EncObject *s = PyObject_New(EncObject, EncType);
    if (!s)
        return NULL;
    s->e = NULL;
    s->busy = s->closing = 0;
    struct vs_error err;
    memset(&err, 0, sizeof err);
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = vs_encoder_open(model, (size_t)dim, &o, &s->e, &err);
    Py_END_ALLOW_THREADS
    if (rc != VS_OK) {
        Py_DECREF(s);
        return raise_status(rc, &err, 0);
    }
    return (PyObject *)s;
}

static void enc_dealloc(PyObject *self)
{
    EncObject *s = (EncObject *)self;
    PyTypeObject *tp = Py_TYPE(self);
    vs_encoder_free(s->e);
    PyObject_Free(self);
    Py_DECREF(tp);
}

static PyObject *enc_close(PyObject *self, PyObject *unused)
{
    EncObject *s = (EncObject *)self;
    if (!s->e || s->closing)
        Py_RETURN_NONE;
    s->closing = 1;
    while (s->busy > 0) {
        Py_BEGIN_ALLOW_THREADS
        pause_ms();
        Py_END_ALLOW_THREADS
    }
    vs_encoder_free(s->e);
    s->e = NULL;
    Py_RETURN_NONE;
}

static int enc_enter(EncObject *s)
{
    if (!s->e || s->closing) {
        raise_here(VS_E_USAGE, NULL, 0, "the embedder is closed", 1);
        return -1;
    }
    s->busy++;
    return 0;
}

static PyObject *enc_dim(PyObject *self, PyObject *unused)
{
    EncObject *s = (EncObject *)self;
    if (enc_enter(s) < 0)
        return NULL;
    size_t d = vs_encoder_dim(s->e);
    s->busy--;
    return PyLong_FromSize_t(d);
}

static PyObject *enc_identity(PyObject *self, PyObject *unused)
{
    EncObject *s = (EncObject *)self;
    if (enc_enter(s) < 0)
        return NULL;
    PyObject *r = opt_str(vs_encoder_identity(s->e));
    s->busy--;
    return r;
}

/* embed(texts tuple, role, out float32 (n, dim) writable buffer) */
static PyObject *enc_embed(PyObject *self, PyObject *args)
{
    EncObject *s = (EncObject *)self;
    PyObject *texts, *out;
    int role;
    if (!PyArg_ParseTuple(args, "O!iO", &PyTuple_Type, &texts, &role, &out))
        return NULL;
    if (enc_enter(s) < 0)
        return NULL;
    size_t n = (size_t)PyTuple_Size(texts), rows, cols;
    Py_buffer v;
    PyObject *result = NULL;
    const char **at = NULL;
    if (float_buffer(out, &v, 1, &rows, &cols) < 0) {
        s->busy--;
        return NULL;
    }
    if (rows != n || cols != vs_encoder_dim(s->e)) {
        raise_here(VS_E_USAGE, "out", 0, "the output buffer must be (n, dim)", 0);
        goto out;
    }
    if (!(at = utf8_array(texts, "text", 0)))
        goto out;
    struct vs_error err;
    memset(&err, 0, sizeof err);
    int rc = VS_OK;
    if (n) {
        Py_BEGIN_ALLOW_THREADS
        rc = vs_encoder_embed(s->e, role, at, n, v.buf, NULL, &err);
        Py_END_ALLOW_THREADS
    }
    if (rc != VS_OK)
        raise_status(rc, &err, 0);
    else
        result = Py_NewRef(Py_None);
out:
    free(at);
    PyBuffer_Release(&v);
    s->busy--;
    return result;
}

static PyObject *enc_busy(PyObject *self, PyObject *unused)
{
    return PyLong_FromLong(((EncObject *)self)->busy);
}

static PyMethodDef enc_methods[] = {
    {"busy", enc_busy, METH_NOARGS, "calls running without the GIL"},
    {"close", enc_close, METH_NOARGS, "free the model"},
    {"dim", enc_dim, METH_NOARGS, "vector dimension"},
    {"identity", enc_identity, METH_NOARGS, "identity string"},
    {"embed", enc_embed, METH_VARARGS, "embed into a buffer"},
    {NULL, NULL, 0, NULL}};

static char enc_doc[] = "a vs_encoder handle (use vecstore.Embedder)";
static PyType_Slot enc_slots[] = {
    {Py_tp_dealloc, enc_dealloc},
    {Py_tp_methods, enc_methods},
    {Py_tp_doc, enc_doc},
    {0, NULL}};

static PyType_Spec enc_spec = {"vecstore._vecstore.Encoder", sizeof(EncObject), 0,
                               Py_TPFLAGS_DEFAULT, enc_slots};

/* ---- Reranker ---- */

typedef struct {
    PyObject_HEAD
    vs_reranker *r;
    int busy, closing;
} RrObject;

static PyTypeObject *RrType;

static PyObject *rr_open(PyObject *mod, PyObject *args)
{
    const char *method, *model, *url, *key, *analyzer;
    int sigmoid, threads;
    if (!PyArg_ParseTuple(args, "szzzzpi", &method, &model, &url, &key, &analyzer, &sigmoid,
                          &threads))
        return NULL;
    struct vs_reranker_opts o;
    vs_reranker_opts_init(&o, sizeof o);
    o.method = method;
    o.model = model;
    o.url = url;
    o.api_key = key;
    o.analyzer = analyzer;
    o.sigmoid = sigmoid;
    o.threads = threads;
    RrObject *s = PyObject_New(RrObject, RrType);
    if (!s)
        return NULL;
    s->r = NULL;
    s->busy = s->closing = 0;
    struct vs_error err;
    memset(&err, 0, sizeof err);
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = vs_reranker_open(&o, &s->r, &err);
    Py_END_ALLOW_THREADS
    if (rc != VS_OK) {
        Py_DECREF(s);
        return raise_status(rc, &err, 0);
    }
    return (PyObject *)s;
}

static void rr_dealloc(PyObject *self)
{
    RrObject *s = (RrObject *)self;
    PyTypeObject *tp = Py_TYPE(self);
    vs_reranker_free(s->r);
    PyObject_Free(self);
    Py_DECREF(tp);
}

static PyObject *rr_close(PyObject *self, PyObject *unused)
{
    RrObject *s = (RrObject *)self;
    if (!s->r || s->closing)
        Py_RETURN_NONE;
    s->closing = 1;
    while (s->busy > 0) {
        Py_BEGIN_ALLOW_THREADS
        pause_ms();
        Py_END_ALLOW_THREADS
    }
    vs_reranker_free(s->r);
    s->r = NULL;
    Py_RETURN_NONE;
}

/* score(query, texts tuple) -> list of float */
static PyObject *rr_score(PyObject *self, PyObject *args)
{
    RrObject *s = (RrObject *)self;
    PyObject *qo, *texts;
    if (!PyArg_ParseTuple(args, "UO!", &qo, &PyTuple_Type, &texts))
        return NULL;
    if (!s->r || s->closing)
        return raise_here(VS_E_USAGE, NULL, 0, "the reranker is closed", 1);
    const char *q = utf8_of(qo, "query", 0);
    if (!q)
        return NULL;
    size_t n = (size_t)PyTuple_Size(texts);
    const char **at = utf8_array(texts, "text", 0);
    if (!at)
        return NULL;
    double *sc = calloc(n + 1, sizeof *sc);
    if (!sc) {
        free(at);
        return PyErr_NoMemory();
    }
    s->busy++;
    struct vs_error err;
    memset(&err, 0, sizeof err);
    int rc = VS_OK;
    if (n) {
        Py_BEGIN_ALLOW_THREADS
        rc = vs_reranker_score(s->r, q, at, n, sc, &err);
        Py_END_ALLOW_THREADS
    }
    s->busy--;
    PyObject *out = NULL;
    if (rc != VS_OK)
        raise_status(rc, &err, 0);
    else if ((out = PyList_New((Py_ssize_t)n)))
        for (size_t i = 0; i < n; i++)
            PyList_SetItem(out, (Py_ssize_t)i, PyFloat_FromDouble(sc[i]));
    free(sc);
    free(at);
    return out;
}

static PyMethodDef rr_methods[] = {
    {"close", rr_close, METH_NOARGS, "free the reranker"},
    {"score", rr_score, METH_VARARGS, "score texts against a query"},
    {NULL, NULL, 0, NULL}};

static char rr_doc[] = "a vs_reranker handle (use vecstore.Reranker)";
static PyType_Slot rr_slots[] = {
    {Py_tp_dealloc, rr_dealloc},
    {Py_tp_methods, rr_methods},
    {Py_tp_doc, rr_doc},
    {0, NULL}};

static PyType_Spec rr_spec = {"vecstore._vecstore.Reranker", sizeof(RrObject), 0,
                              Py_TPFLAGS_DEFAULT, rr_slots};

/* ---- evaluation ---- */

/* evaluate(qrels_path, run_path, measures or None) -> (list of (name,
 * mean), queries) */
static PyObject *evaluate(PyObject *mod, PyObject *args)
{
    const char *qrels, *run, *measures;
    if (!PyArg_ParseTuple(args, "ssz", &qrels, &run, &measures))
        return NULL;
    vs_report *rep = NULL;
    struct vs_error err;
    memset(&err, 0, sizeof err);
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = vs_report_evaluate(qrels, run, measures, &rep, &err);
    Py_END_ALLOW_THREADS
    if (rc != VS_OK)
        return raise_status(rc, &err, 0);
    size_t m = vs_report_measures(rep);
    PyObject *list = PyList_New((Py_ssize_t)m);
    for (size_t i = 0; list && i < m; i++) {
        PyObject *t = Py_BuildValue("(sd)", vs_report_measure(rep, i), vs_report_mean(rep, i));
        if (!t) {
            Py_CLEAR(list);
            break;
        }
        PyList_SetItem(list, (Py_ssize_t)i, t);
    }
    size_t nq = vs_report_queries(rep);
    vs_report_free(rep);
    return list ? Py_BuildValue("(Nn)", list, (Py_ssize_t)nq) : NULL;
}

/* ---- chunking ---- */

static PyObject *chunks_list(vs_chunks *c)
{
    size_t n = vs_chunks_count(c);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *r = opt_str(vs_chunks_record(c, i));
        if (!r) {
            Py_CLEAR(list);
            break;
        }
        PyList_SetItem(list, (Py_ssize_t)i, r);
    }
    vs_chunks_free(c);
    return list;
}

/* chunk_text(doc_id, text, markdown, splitter, unit, size, overlap,
 * min_size (-1 = default)) / chunk_file(path, doc_id or None, splitter,
 * unit, size, overlap, min_size) -> list of JSON record texts */
static PyObject *chunk_common(PyObject *args, int file)
{
    const char *a, *b = NULL, *splitter, *unit;
    PyObject *text = NULL;
    int markdown = 0;
    Py_ssize_t size, overlap, min_size;
    int ok = file ? PyArg_ParseTuple(args, "szssnnn", &a, &b, &splitter, &unit, &size,
                                     &overlap, &min_size)
                  : PyArg_ParseTuple(args, "sUpssnnn", &a, &text, &markdown, &splitter,
                                     &unit, &size, &overlap, &min_size);
    if (!ok)
        return NULL;
    if (size < 1 || overlap < 0 || min_size < -1)
        return raise_here(VS_E_USAGE, size < 1 ? "size" : overlap < 0 ? "overlap" : "min_size",
                          0, "size must be >= 1, overlap and min_size >= 0", 0);
    struct vs_chunks_opts o;
    vs_chunks_opts_init(&o, sizeof o);
    o.splitter = splitter;
    o.unit = unit;
    o.chunk_size = (size_t)size;
    o.overlap = (size_t)overlap;
    if (min_size >= 0)
        o.min_size = (size_t)min_size;
    Py_ssize_t len = 0;
    const char *t = NULL;
    if (!file && !(t = PyUnicode_AsUTF8AndSize(text, &len)))
        return NULL;
    vs_chunks *c = NULL;
    struct vs_error err;
    memset(&err, 0, sizeof err);
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = file ? vs_chunks_split_file(a, b, &o, &c, &err)
              : vs_chunks_split_text(a, t, (size_t)len, markdown, &o, &c, &err);
    Py_END_ALLOW_THREADS
    if (rc != VS_OK)
        return raise_status(rc, &err, 0);
    return chunks_list(c);
}

static PyObject *chunk_text(PyObject *mod, PyObject *args) { return chunk_common(args, 0); }
static PyObject *chunk_file(PyObject *mod, PyObject *args) { return chunk_common(args, 1); }

/* ---- module ---- */

static PyObject *version(PyObject *mod, PyObject *unused)
{
    return PyUnicode_FromString(vs_version());
}

static PyObject *errname(PyObject *mod, PyObject *args)
{
    int st;
    if (!PyArg_ParseTuple(args, "i", &st))
        return NULL;
    return PyUnicode_FromString(vs_errname(st));
}

static PyMethodDef module_methods[] = {
    {"version", version, METH_NOARGS, "vs_version()"},
    {"errname", errname, METH_VARARGS, "vs_errname(status)"},
    {"set_error_factory", set_error_factory, METH_O, "set the exception factory"},
    {"set_hit_type", set_hit_type, METH_O, "set vecstore.Hit (a HitBase subclass)"},
    {"db_open", db_open, METH_VARARGS, "vs_db_open"},
    {"encoder_open", enc_open, METH_VARARGS, "vs_encoder_open"},
    {"reranker_open", rr_open, METH_VARARGS, "vs_reranker_open"},
    {"evaluate", evaluate, METH_VARARGS, "vs_report_evaluate"},
    {"chunk_text", chunk_text, METH_VARARGS, "vs_chunks_split_text"},
    {"chunk_file", chunk_file, METH_VARARGS, "vs_chunks_split_file"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "vecstore._vecstore",
                                        "The C layer of the vecstore package.", -1,
                                        module_methods, NULL, NULL, NULL, NULL};

static int add_type(PyObject *m, PyType_Spec *spec, PyTypeObject **out)
{
    PyObject *t = PyType_FromSpec(spec);
    if (!t)
        return -1;
    *out = (PyTypeObject *)t;
    return PyModule_AddType(m, *out);
}

PyMODINIT_FUNC PyInit__vecstore(void);
PyMODINIT_FUNC PyInit__vecstore(void)
{
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    if (add_type(m, &db_spec, &DBType) < 0 || add_type(m, &enc_spec, &EncType) < 0 ||
        add_type(m, &rr_spec, &RrType) < 0 || add_type(m, &hit_spec, &HitBaseType) < 0 ||
        add_type(m, &store_spec, &StoreBaseType) < 0 || intern_names() < 0 ||
        PyModule_AddIntConstant(m, "DB_WRITE", VS_DB_WRITE) < 0 ||
        PyModule_AddIntConstant(m, "DB_CREATE", VS_DB_CREATE) < 0 ||
        PyModule_AddIntConstant(m, "DB_EXCL", VS_DB_EXCL) < 0 ||
        PyModule_AddIntConstant(m, "STATUS_COUNT", VS_E_MAX_DELETE + 1) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
