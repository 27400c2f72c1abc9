/* _vecstore_internal.h: what the C files of the extension vecstore._vecstore share
 * (internal, not installed; the module exports PyInit__vecstore only).
 *   _vecstore.c      errors, string and buffer helpers, Encoder, Reranker,
 *                    evaluation, chunking, the module and its init
 *   _vecstore_db.c   the DB handle (upsert, delete, commit, search) and
 *                    StoreBase (the search fast paths of vecstore.Store)
 *   _vecstore_hit.c  HitBase (vecstore.Hit's storage) and the assembly of
 *                    search results (lists of Hit, numpy arrays)
 * Limited API of CPython 3.11 (abi3): include this before any other header.
 */
#ifndef VECSTORE_PY_VECSTORE_INTERNAL_H
#define VECSTORE_PY_VECSTORE_INTERNAL_H

#define Py_LIMITED_API 0x030B0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string.h>

#include "vecstore.h"

/* the names below are the module's own: hidden from the .so's exports */
#pragma GCC visibility push(hidden)

/* _vecstore.c */

/* s as a str (invalid UTF-8 replaced), None when NULL or empty. */
static inline PyObject *vsp_opt_str(const char *s)
{
    if (s && *s)
        return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
    Py_RETURN_NONE;
}

/* Raise the exception for status and err (may be NULL); returns NULL. */
PyObject *vsp_raise_status(int status, const struct vs_error *err, int closed);
/* An error the binding finds itself (bad shape, a closed handle); NULL. */
PyObject *vsp_raise_here(int status, const char *field, long line, const char *detail,
                         int closed);
/* The UTF-8 of each str of tuple t (None -> NULL when none_ok), caller frees. */
const char **vsp_utf8_array(PyObject *t, const char *field, int none_ok);
/* A float32 C-order buffer of 1 or 2 dimensions in *v: rows and cols; 0 or -1. */
int vsp_float_buffer(PyObject *obj, Py_buffer *v, int writable, size_t *rows, size_t *cols);
/* The first non-finite element of n floats, or n. */
size_t vsp_first_nonfinite(const float *x, size_t n);
/* The first all-zero row of n rows of cols floats, or n. */
size_t vsp_first_zero_row(const float *x, size_t n, size_t cols);
/* The calls running on a handle (DB, Encoder, Reranker) without the GIL,
 * and its close(): close() refuses new calls, then waits for busy to drop
 * to 0 (the running calls need the GIL to finish) before the handle is freed. */
struct vsp_calls {
    int busy;    /* calls running without the GIL */
    int closing; /* close() started: no new calls */
};
/* Take a call slot on handle h (with the GIL): 0; or -1 with ClosedError
 * saying closed_msg when h is NULL or closing. */
int vsp_calls_enter(struct vsp_calls *c, const void *h, const char *closed_msg);
static inline void vsp_calls_leave(struct vsp_calls *c) { c->busy--; }
/* close(): 0 when h is closed or closing already; else mark it closing, wait
 * for its calls to end and return 1: the caller frees h. */
int vsp_calls_close(struct vsp_calls *c, const void *h);
/* Make the type of spec into *out and add it to module m; 0 or -1. */
int vsp_add_type(PyObject *m, PyType_Spec *spec, PyTypeObject **out);

/* _vecstore_db.c */

/* db_open(path, flags, dim, metric, ...) -> a DB handle (vs_db_open). */
PyObject *vsp_db_open(PyObject *mod, PyObject *args);
/* Add the DB type to module m; 0 or -1. */
int vsp_db_init(PyObject *m);
/* Add the StoreBase type to module m and intern its keyword names; 0 or -1. */
int vsp_store_init(PyObject *m);

/* _vecstore_hit.c */

/* vecstore.Hit (a HitBase subclass) once set_hit_type ran, else NULL. */
extern PyTypeObject *vsp_hit_type;
/* set_hit_type(type): the module's function that sets vsp_hit_type. */
PyObject *vsp_set_hit_type(PyObject *mod, PyObject *arg);
/* Add the HitBase type to module m; 0 or -1. */
int vsp_hit_init(PyObject *m);
/* The hits of res as a list (per query) of lists of vecstore.Hit; frees res. */
PyObject *vsp_hit_lists(vs_results *res);
/* (ids, scores) numpy arrays (nq, k) of str/None and float32/NaN; frees res. */
PyObject *vsp_hit_arrays(vs_results *res, size_t nq, size_t k);

#pragma GCC visibility pop

#endif
