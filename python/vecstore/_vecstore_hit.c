/* _vecstore_hit.c: HitBase (the storage of vecstore.Hit, its metadata
 * parsed from JSON) and the assembly of search results: lists of Hit
 * (vsp_hit_lists) and the (ids, scores) numpy arrays (vsp_hit_arrays). */
#include "_vecstore_internal.h"

#include <structmember.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

int vsp_hit_init(PyObject *m) { return vsp_add_type(m, &hit_spec, &HitBaseType); }
PyTypeObject *vsp_hit_type; /* vecstore.Hit (set_hit_type), a subclass */

PyObject *vsp_set_hit_type(PyObject *mod, PyObject *arg)
{
    if (!PyType_Check(arg) || !PyType_IsSubtype((PyTypeObject *)arg, HitBaseType)) {
        PyErr_SetString(PyExc_TypeError, "the hit type must subclass HitBase");
        return NULL;
    }
    PyObject *old = (PyObject *)vsp_hit_type;
    vsp_hit_type = (PyTypeObject *)Py_NewRef(arg);
    Py_XDECREF(old);
    Py_RETURN_NONE;
}

/* A new vecstore.Hit of h; qid is the query's (shared by its hits). */
static PyObject *make_hit(const struct vs_hit *h, PyObject *qid)
{
    allocfunc alloc = (allocfunc)PyType_GetSlot(vsp_hit_type, Py_tp_alloc);
    HitObject *o = (HitObject *)alloc(vsp_hit_type, 0);
    if (!o)
        return NULL;
    o->id = vsp_opt_str(h->id);
    o->score = PyFloat_FromDouble(h->score);
    o->rank = PyLong_FromSsize_t((Py_ssize_t)h->rank);
    o->qid = Py_NewRef(qid);
    if (h->text)
        o->text = vsp_opt_str(h->text);
    if (h->metadata_json)
        o->meta_json = vsp_opt_str(h->metadata_json);
    if (h->doc_id)
        o->doc_id = vsp_opt_str(h->doc_id);
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

/* The hits of res as a list (per query) of lists of vecstore.Hit; frees
 * res. */
PyObject *vsp_hit_lists(vs_results *res)
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
        PyObject *qid = vsp_opt_str(vs_results_qid(res, q));
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

/* The ids of one vsp_hit_arrays call, each decoded once: a batch's hits
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
PyObject *vsp_hit_arrays(vs_results *res, size_t nq, size_t k)
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
            PyObject *id = h->id && *h->id ? id_str(&tab, h->id) : vsp_opt_str(NULL);
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
