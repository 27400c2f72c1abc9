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
 *
 * This file: errors, string and buffer helpers, Encoder, Reranker,
 * evaluation, chunking and the module's init; the DB handle and StoreBase
 * are in _vecstore_db.c, HitBase and the search results in _vecstore_hit.c
 * (what they share: _vecstore_internal.h).
 */
#include "_vecstore_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- errors ---- */

static PyObject *error_factory; /* callable(status, name, message, file, line,
                                   col, field, detail, closed) -> exception */

/* Raise the exception for status and err (may be NULL); returns NULL. */
PyObject *vsp_raise_status(int status, const struct vs_error *err, int closed)
{
    if (!error_factory) {
        PyErr_Format(PyExc_RuntimeError, "vecstore: %s: %s", vs_errname(status),
                     err && err->detail[0] ? err->detail : vs_errstr(status));
        return NULL;
    }
    PyObject *file = vsp_opt_str(err ? err->file : NULL);
    PyObject *field = vsp_opt_str(err ? err->field : NULL);
    PyObject *detail = vsp_opt_str(err && err->detail[0] ? err->detail : vs_errstr(status));
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
PyObject *vsp_raise_here(int status, const char *field, long line, const char *detail,
                        int closed)
{
    struct vs_error e;
    memset(&e, 0, sizeof e);
    e.status = status;
    e.line = line;
    if (field)
        snprintf(e.field, sizeof e.field, "%s", field);
    snprintf(e.detail, sizeof e.detail, "%s", detail);
    return vsp_raise_status(status, &e, closed);
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
            vsp_raise_here(VS_E_DATA, field, line, "the string is not valid UTF-8 (a lone surrogate)",
                       0);
        }
        return NULL;
    }
    if ((Py_ssize_t)strlen(u) != n) {
        vsp_raise_here(VS_E_DATA, field, line, "a string holds a NUL character", 0);
        return NULL;
    }
    return u;
}

/* The UTF-8 of each item of tuple t (None -> NULL when none_ok); the
 * array is the caller's to free. */
const char **vsp_utf8_array(PyObject *t, const char *field, int none_ok)
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
int vsp_float_buffer(PyObject *obj, Py_buffer *v, int writable, size_t *rows,
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
        vsp_raise_here(VS_E_USAGE, "vectors", 0,
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
size_t vsp_first_nonfinite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return i;
    return n;
}

/* The first all-zero row of n rows of cols floats, or n. */
size_t vsp_first_zero_row(const float *x, size_t n, size_t cols)
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

int vsp_calls_enter(struct vsp_calls *c, const void *h, const char *closed_msg)
{
    if (!h || c->closing) {
        vsp_raise_here(VS_E_USAGE, NULL, 0, closed_msg, 1);
        return -1;
    }
    c->busy++;
    return 0;
}

int vsp_calls_close(struct vsp_calls *c, const void *h)
{
    if (!h || c->closing)
        return 0;
    c->closing = 1;
    while (c->busy > 0) {
        Py_BEGIN_ALLOW_THREADS
        struct timespec ts = {0, 1000000}; /* 1 ms */
        nanosleep(&ts, NULL);
        Py_END_ALLOW_THREADS
    }
    return 1;
}

/* ---- Encoder ---- */

typedef struct {
    PyObject_HEAD
    vs_encoder *e;
    struct vsp_calls calls;
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
        return vsp_raise_here(VS_E_USAGE, "dim", 0, "dim must be >= 0", 0);
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
    s->calls = (struct vsp_calls){0, 0};
    struct vs_error err;
    memset(&err, 0, sizeof err);
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = vs_encoder_open(model, (size_t)dim, &o, &s->e, &err);
    Py_END_ALLOW_THREADS
    if (rc != VS_OK) {
        Py_DECREF(s);
        return vsp_raise_status(rc, &err, 0);
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
    if (vsp_calls_close(&s->calls, s->e)) {
        vs_encoder_free(s->e);
        s->e = NULL;
    }
    Py_RETURN_NONE;
}

static int enc_enter(EncObject *s)
{
    return vsp_calls_enter(&s->calls, s->e, "the embedder is closed");
}

static PyObject *enc_dim(PyObject *self, PyObject *unused)
{
    EncObject *s = (EncObject *)self;
    if (enc_enter(s) < 0)
        return NULL;
    size_t d = vs_encoder_dim(s->e);
    vsp_calls_leave(&s->calls);
    return PyLong_FromSize_t(d);
}

static PyObject *enc_identity(PyObject *self, PyObject *unused)
{
    EncObject *s = (EncObject *)self;
    if (enc_enter(s) < 0)
        return NULL;
    PyObject *r = vsp_opt_str(vs_encoder_identity(s->e));
    vsp_calls_leave(&s->calls);
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
    if (vsp_float_buffer(out, &v, 1, &rows, &cols) < 0) {
        vsp_calls_leave(&s->calls);
        return NULL;
    }
    if (rows != n || cols != vs_encoder_dim(s->e)) {
        vsp_raise_here(VS_E_USAGE, "out", 0, "the output buffer must be (n, dim)", 0);
        goto out;
    }
    if (!(at = vsp_utf8_array(texts, "text", 0)))
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
        vsp_raise_status(rc, &err, 0);
    else
        result = Py_NewRef(Py_None);
out:
    free(at);
    PyBuffer_Release(&v);
    vsp_calls_leave(&s->calls);
    return result;
}

static PyObject *enc_busy(PyObject *self, PyObject *unused)
{
    return PyLong_FromLong(((EncObject *)self)->calls.busy);
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
    struct vsp_calls calls;
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
    s->calls = (struct vsp_calls){0, 0};
    struct vs_error err;
    memset(&err, 0, sizeof err);
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = vs_reranker_open(&o, &s->r, &err);
    Py_END_ALLOW_THREADS
    if (rc != VS_OK) {
        Py_DECREF(s);
        return vsp_raise_status(rc, &err, 0);
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
    if (vsp_calls_close(&s->calls, s->r)) {
        vs_reranker_free(s->r);
        s->r = NULL;
    }
    Py_RETURN_NONE;
}

/* score(query, texts tuple) -> list of float */
static PyObject *rr_score(PyObject *self, PyObject *args)
{
    RrObject *s = (RrObject *)self;
    PyObject *qo, *texts;
    if (!PyArg_ParseTuple(args, "UO!", &qo, &PyTuple_Type, &texts))
        return NULL;
    if (!s->r || s->calls.closing)
        return vsp_raise_here(VS_E_USAGE, NULL, 0, "the reranker is closed", 1);
    const char *q = utf8_of(qo, "query", 0);
    if (!q)
        return NULL;
    size_t n = (size_t)PyTuple_Size(texts);
    const char **at = vsp_utf8_array(texts, "text", 0);
    if (!at)
        return NULL;
    double *sc = calloc(n + 1, sizeof *sc);
    if (!sc) {
        free(at);
        return PyErr_NoMemory();
    }
    s->calls.busy++;
    struct vs_error err;
    memset(&err, 0, sizeof err);
    int rc = VS_OK;
    if (n) {
        Py_BEGIN_ALLOW_THREADS
        rc = vs_reranker_score(s->r, q, at, n, sc, &err);
        Py_END_ALLOW_THREADS
    }
    vsp_calls_leave(&s->calls);
    PyObject *out = NULL;
    if (rc != VS_OK)
        vsp_raise_status(rc, &err, 0);
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
        return vsp_raise_status(rc, &err, 0);
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
        PyObject *r = vsp_opt_str(vs_chunks_record(c, i));
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
        return vsp_raise_here(VS_E_USAGE, size < 1 ? "size" : overlap < 0 ? "overlap" : "min_size",
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
        return vsp_raise_status(rc, &err, 0);
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
    {"set_hit_type", vsp_set_hit_type, METH_O, "set vecstore.Hit (a HitBase subclass)"},
    {"db_open", vsp_db_open, METH_VARARGS, "vs_db_open"},
    {"encoder_open", enc_open, METH_VARARGS, "vs_encoder_open"},
    {"reranker_open", rr_open, METH_VARARGS, "vs_reranker_open"},
    {"evaluate", evaluate, METH_VARARGS, "vs_report_evaluate"},
    {"chunk_text", chunk_text, METH_VARARGS, "vs_chunks_split_text"},
    {"chunk_file", chunk_file, METH_VARARGS, "vs_chunks_split_file"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "vecstore._vecstore",
                                        "The C layer of the vecstore package.", -1,
                                        module_methods, NULL, NULL, NULL, NULL};

int vsp_add_type(PyObject *m, PyType_Spec *spec, PyTypeObject **out)
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
    if (vsp_db_init(m) < 0 || vsp_add_type(m, &enc_spec, &EncType) < 0 ||
        vsp_add_type(m, &rr_spec, &RrType) < 0 || vsp_hit_init(m) < 0 || vsp_store_init(m) < 0 ||
        PyModule_AddIntConstant(m, "DB_WRITE", VS_DB_WRITE) < 0 ||
        PyModule_AddIntConstant(m, "DB_CREATE", VS_DB_CREATE) < 0 ||
        PyModule_AddIntConstant(m, "DB_EXCL", VS_DB_EXCL) < 0 ||
        PyModule_AddIntConstant(m, "STATUS_COUNT", VS_E_MAX_DELETE + 1) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
