/* uselite.c: the USE-lite forward pass, ported from its TF.js graph:
 *   x = 2 * emb[id] + timing(pos)            (256-d; sin | cos timing signal)
 *   layer 0: h = LN(x); attention (8 heads? read from the graph) 256 -> 512,
 *            residual dense(x) 256 -> 512; then FFN with ReLU, residual
 *   layer 1: the same at 512, identity residual
 *   mean over tokens, tanh dense 512 -> 512, L2 normalisation. */
#include "vs_uselite.h"
#include "vs_blas.h"
#include "vs_sentencepiece.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <cblas.h> /* the Cblas constants; vs_sgemm loads OpenBLAS on first use */

#define KT "module_apply_default/Encoder_en/KonaTransformer/"

struct ulayer {
    const float *ln1_s, *ln1_b, *qkv_k, *qkv_b, *out_k, *out_b, *res_k, *res_b;
    const float *ln2_s, *ln2_b, *c1_k, *c1_b, *c2_k, *c2_b;
    size_t din, dq, dk, dv, dff;
    float qscale;
};

struct vs_uselite {
    char *blob;
    size_t blob_len;
    json_t *manifest;
    struct vs_sentencepiece *sp;
    const float *emb, *inv, *tanh_k, *tanh_b;
    size_t vocab, demb, ntime;
    struct ulayer L[2];
    int heads, maxlen;
    float eps, l2min;
    uint64_t sum;
};

/* Find a weight by name: its data and shape (up to 4 dims). */
static const void *weight(const struct vs_uselite *m, const char *name,
                          size_t *shape, int *rank)
{
    size_t off = 0;
    size_t gi;
    json_t *g;
    json_array_foreach(m->manifest, gi, g) {
        size_t wi;
        json_t *w;
        json_array_foreach(json_object_get(g, "weights"), wi, w) {
            json_t *sh = json_object_get(w, "shape");
            size_t n = 1, k;
            json_t *dim;
            json_array_foreach(sh, k, dim) {
                n *= (size_t)json_integer_value(dim);
                if (k < 4 && shape)
                    shape[k] = (size_t)json_integer_value(dim);
            }
            if (strcmp(json_string_value(json_object_get(w, "name")), name) == 0) {
                if (rank)
                    *rank = (int)json_array_size(sh);
                return off + n * 4 <= m->blob_len ? m->blob + off : NULL;
            }
            off += n * 4;
        }
    }
    return NULL;
}

static const float *fw(const struct vs_uselite *m, const char *name, size_t n0,
                       size_t n1, int *bad)
{
    size_t sh[4] = {0, 0, 0, 0};
    int rank = 0;
    const float *p = weight(m, name, sh, &rank);
    if (!p) {
        *bad = 1;
        return NULL;
    }
    size_t a = rank >= 2 ? sh[rank - 2] : sh[0], b = rank >= 2 ? sh[rank - 1] : 1;
    if (rank == 1) {
        a = sh[0];
        b = 1;
    }
    if ((n0 && a != n0) || (n1 && b != n1))
        *bad = 1;
    return p;
}

static float scalar_f(const struct vs_uselite *m, const char *name, int *bad)
{
    const float *p = weight(m, name, NULL, NULL);
    if (!p) {
        *bad = 1;
        return 0;
    }
    return *p;
}

static int scalar_i(const struct vs_uselite *m, const char *name, int *bad)
{
    const int32_t *p = weight(m, name, NULL, NULL);
    if (!p) {
        *bad = 1;
        return 0;
    }
    return *p;
}

static int load_layer(struct vs_uselite *m, int l, size_t din, size_t dm)
{
    char e[160], s[160], n[400];
    snprintf(e, sizeof e, KT "Encode/Layer_%d/TransformerLayer/", l);
    snprintf(s, sizeof s, KT "Encode/TransformerStack/Layer_%d/TransformerLayer/", l);
    struct ulayer *L = &m->L[l];
    int bad = 0;
    L->din = din;
#define W(field, fmt, base, n0, n1)                                  \
    snprintf(n, sizeof n, "%s" fmt, base);                           \
    L->field = fw(m, n, n0, n1, &bad)
    W(ln1_s, "layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat", e, din, 0);
    W(ln1_b, "layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat", e, din, 0);
    snprintf(n, sizeof n,
             "module/Encoder_en/KonaTransformer/Encode/Layer_%d/TransformerLayer/MultiheadAttention/qkv_transform_single/kernel/part_0", l);
    L->qkv_k = fw(m, n, din, 0, &bad);
    W(qkv_b, "MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat", e, 0, 0);
    snprintf(n, sizeof n, "%sMultiheadAttention/Const", s);
    const int32_t *sp = weight(m, n, NULL, NULL);
    if (!sp)
        return -1;
    L->dq = (size_t)sp[0];
    L->dk = (size_t)sp[1];
    L->dv = (size_t)sp[2];
    snprintf(n, sizeof n,
             "module/Encoder_en/KonaTransformer/Encode/Layer_%d/TransformerLayer/MultiheadAttention/output_transform_single/kernel/part_0", l);
    L->out_k = fw(m, n, L->dv, dm, &bad);
    W(out_b, "MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat", e, dm, 0);
    snprintf(n, sizeof n, "%sMultiheadAttention/mul/y", s);
    L->qscale = scalar_f(m, n, &bad);
    if (din != dm) {
        W(res_k, "dense/kernel/ConcatPartitions/concat", e, din, dm);
        W(res_b, "dense/bias/ConcatPartitions/concat", e, dm, 0);
    }
    W(ln2_s, "FFN/layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat", e, dm, 0);
    W(ln2_b, "FFN/layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat", e, dm, 0);
    W(c1_k, "FFN/conv1/Tensordot/Reshape_1", s, dm, 0);
    {
        size_t sh[4] = {0, 0, 0, 0};
        if (!weight(m, n, sh, NULL))
            return -1;
        L->dff = sh[1];
    }
    W(c1_b, "FFN/conv1/bias/ConcatPartitions/concat", e, L->dff, 0);
    W(c2_k, "FFN/conv2/Tensordot/Reshape_1", s, L->dff, dm);
    W(c2_b, "FFN/conv2/bias/ConcatPartitions/concat", e, dm, 0);
#undef W
    if (bad || L->dq + L->dk + L->dv == 0 || L->dq != L->dk || L->dff == 0)
        return -1;
    return 0;
}

int vs_uselite_open(const char *dir, struct vs_uselite **out, struct vs_diag *d)
{
    *out = NULL;
    struct vs_uselite *m = calloc(1, sizeof *m);
    if (!m)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    vs_blas_set_threads(1); /* threads come from OpenMP (groups) */
    char path[4200];
    int st = VS_OK;
    snprintf(path, sizeof path, "%s/model.json", dir);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        st = vs_diag_set(d, VS_E_IO, "cannot read %s: %s", path, je.text);
        goto fail;
    }
    m->manifest = json_incref(json_object_get(root, "weightsManifest"));
    json_decref(root);
    if (!json_is_array(m->manifest)) {
        st = vs_diag_set(d, VS_E_DATA, "%s: no weightsManifest", path);
        goto fail;
    }
    size_t gi;
    json_t *g;
    XXH64_state_t *xs = XXH64_createState();
    if (!xs) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto fail;
    }
    XXH64_reset(xs, 0);
    json_array_foreach(m->manifest, gi, g) {
        size_t pi;
        json_t *p;
        json_array_foreach(json_object_get(g, "paths"), pi, p) {
            snprintf(path, sizeof path, "%s/%s", dir, json_string_value(p) ? json_string_value(p) : "");
            FILE *fp = fopen(path, "rb");
            if (!fp) {
                XXH64_freeState(xs);
                st = vs_diag_set(d, VS_E_IO, "cannot open %s", path);
                goto fail;
            }
            char buf[1 << 16];
            size_t r;
            while ((r = fread(buf, 1, sizeof buf, fp)) > 0) {
                char *nb = realloc(m->blob, m->blob_len + r);
                if (!nb) {
                    fclose(fp);
                    XXH64_freeState(xs);
                    st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
                    goto fail;
                }
                m->blob = nb;
                memcpy(m->blob + m->blob_len, buf, r);
                m->blob_len += r;
                XXH64_update(xs, buf, r);
            }
            fclose(fp);
        }
    }
    m->sum = XXH64_digest(xs);
    XXH64_freeState(xs);

    int bad = 0;
    size_t sh[4] = {0, 0, 0, 0};
    m->emb = weight(m, "module/Embeddings_en", sh, NULL);
    m->vocab = sh[0];
    m->demb = sh[1];
    m->inv = fw(m, KT "Encode/TransformerStack/Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1",
                1, m->demb / 2, &bad);
    m->ntime = m->demb / 2;
    m->maxlen = scalar_i(m, KT "ClipToMaxLength/Less/y", &bad);
    m->eps = scalar_f(m, KT "Encode/TransformerStack/Layer_1/TransformerLayer/FFN/layer_prepostprocess/layer_norm/Cast/x", &bad);
    m->heads = scalar_i(m, KT "Encode/TransformerStack/Layer_1/TransformerLayer/MultiheadAttention/split_heads/split_last_dimension/Reshape/shape/2", &bad);
    m->tanh_k = fw(m, "module/Encoder_en/hidden_layers/tanh_layer_0/weights",
                   VS_USELITE_DIM, VS_USELITE_DIM, &bad);
    m->tanh_b = fw(m, "module/Encoder_en/hidden_layers/tanh_layer_0/bias",
                   VS_USELITE_DIM, 0, &bad);
    m->l2min = scalar_f(m, "module_apply_default/Encoder_en/hidden_layers/l2_normalize/Maximum/y", &bad);
    if (!m->emb || bad || m->demb == 0 || m->demb % 2 || m->heads <= 0 ||
        m->maxlen <= 0 || load_layer(m, 0, m->demb, VS_USELITE_DIM) != 0 ||
        load_layer(m, 1, VS_USELITE_DIM, VS_USELITE_DIM) != 0 ||
        m->L[0].dq % (size_t)m->heads || m->L[1].dq % (size_t)m->heads) {
        st = vs_diag_set(d, VS_E_DATA, "%s/model.json: weights missing or mis-shaped", dir);
        goto fail;
    }
    snprintf(path, sizeof path, "%s/vocab.json", dir);
    st = vs_sentencepiece_open(path, &m->sp, d);
    if (st != VS_OK)
        goto fail;
    *out = m;
    return VS_OK;
fail:
    vs_uselite_free(m);
    return st;
}

void vs_uselite_free(struct vs_uselite *m)
{
    if (!m)
        return;
    vs_sentencepiece_free(m->sp);
    json_decref(m->manifest);
    free(m->blob);
    free(m);
}

uint64_t vs_uselite_checksum(const struct vs_uselite *m) { return m->sum; }

/* ---- kernels ----
 * The tokens of a group of sequences are packed (no padding): the dense
 * layers run on all of them at once through cblas_sgemm, attention per
 * (sequence, head) with two sgemm calls each. A group runs on one thread
 * (OpenBLAS single-threaded); vs_uselite_forward_batch spreads groups over
 * the OpenMP threads. */

/* y[T x b] = x[T x a] * k[a x b] + bias */
static void dense(const float *x, size_t T, size_t a, const float *k, size_t b,
                  const float *bias, float *y)
{
    for (size_t t = 0; t < T; t++)
        memcpy(y + t * b, bias, b * sizeof *y);
    vs_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)b, (int)a,
                1.0f, x, (int)a, k, (int)b, 1.0f, y, (int)b);
}

static void layer_norm(const float *x, size_t T, size_t n, const float *s,
                       const float *b, float eps, float *y)
{
    for (size_t t = 0; t < T; t++) {
        const float *xr = x + t * n;
        float *yr = y + t * n;
        double mu = 0, var = 0;
        for (size_t i = 0; i < n; i++)
            mu += xr[i];
        mu /= (double)n;
        for (size_t i = 0; i < n; i++)
            var += (xr[i] - mu) * (xr[i] - mu);
        var /= (double)n;
        float r = (float)(1.0 / sqrt(var + eps)), m = (float)mu;
        for (size_t i = 0; i < n; i++)
            yr[i] = s[i] * r * (xr[i] - m) + b[i];
    }
}

/* y[i] += x[i] (relu: y[i] = max(y[i], 0) instead when x is NULL). */
static void add_rows(float *y, const float *x, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (x)
            y[i] += x[i];
        else if (y[i] < 0)
            y[i] = 0;
    }
}

/* Scratch of one batch: T packed tokens of n sequences. */
struct work {
    size_t n, T, maxT;
    const size_t *off, *len;
    float *x, *y, *h, *qkv, *att, *ff, *sc;
};

/* Attention of every (sequence, head): att = softmax(q k^T * qscale) v. */
static void attention(const struct vs_uselite *m, const struct ulayer *L,
                      const struct work *w)
{
    size_t nq = L->dq + L->dk + L->dv, H = (size_t)m->heads;
    size_t dh = L->dq / H, dvh = L->dv / H;
    for (size_t job = 0; job < w->n * H; job++) {
        size_t s = job / H, hd = job % H, T = w->len[s];
        float *sc = w->sc;
        const float *base = w->qkv + w->off[s] * nq;
        vs_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T,
                    (int)dh, L->qscale, base + hd * dh, (int)nq,
                    base + L->dq + hd * dh, (int)nq, 0.0f, sc, (int)T);
        for (size_t i = 0; i < T; i++) {
            float *r = sc + i * T, mx = -INFINITY;
            for (size_t j = 0; j < T; j++)
                mx = r[j] > mx ? r[j] : mx;
            double z = 0;
            for (size_t j = 0; j < T; j++) {
                r[j] = expf(r[j] - mx);
                z += r[j];
            }
            float iz = (float)(1.0 / z);
            for (size_t j = 0; j < T; j++)
                r[j] *= iz;
        }
        vs_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)dvh,
                    (int)T, 1.0f, sc, (int)T, base + L->dq + L->dk + hd * dvh,
                    (int)nq, 0.0f, w->att + w->off[s] * L->dv + hd * dvh,
                    (int)L->dv);
    }
}

/* One transformer layer over the packed tokens: x (T x din) -> y (T x dm). */
static void run_layer(const struct vs_uselite *m, const struct ulayer *L,
                      const float *x, float *y, const struct work *w)
{
    size_t T = w->T, din = L->din, dm = VS_USELITE_DIM;
    size_t nq = L->dq + L->dk + L->dv;
    layer_norm(x, T, din, L->ln1_s, L->ln1_b, m->eps, w->h);
    dense(w->h, T, din, L->qkv_k, nq, L->qkv_b, w->qkv);
    attention(m, L, w);
    dense(w->att, T, L->dv, L->out_k, dm, L->out_b, y);
    if (L->res_k) {
        dense(x, T, din, L->res_k, dm, L->res_b, w->h);
        add_rows(y, w->h, T * dm);
    } else {
        add_rows(y, x, T * dm);
    }
    layer_norm(y, T, dm, L->ln2_s, L->ln2_b, m->eps, w->h);
    dense(w->h, T, dm, L->c1_k, L->dff, L->c1_b, w->ff);
    add_rows(w->ff, NULL, T * L->dff);
    dense(w->ff, T, L->dff, L->c2_k, dm, L->c2_b, w->h);
    add_rows(y, w->h, T * dm);
}

/* The forward pass of one group of sequences, packed, on this thread. */
static int forward_group(const struct vs_uselite *m, size_t n,
                         const int32_t *const *ids, const size_t *lens,
                         float *out)
{
    /* the loader refuses a layer with no q/k/v or FFN width, so these end
     * up >= 1; starting them at 1 says so where they are used */
    size_t dm = VS_USELITE_DIM, de = m->demb, nq = 1, dff = 1, dv = 0;
    for (int l = 0; l < 2; l++) {
        size_t q = m->L[l].dq + m->L[l].dk + m->L[l].dv;
        nq = q > nq ? q : nq;
        dff = m->L[l].dff > dff ? m->L[l].dff : dff;
        dv = m->L[l].dv > dv ? m->L[l].dv : dv;
    }
    struct work w = {.n = n};
    size_t *off = malloc((n ? n : 1) * sizeof *off);
    size_t *len = malloc((n ? n : 1) * sizeof *len);
    float *pooled = malloc((n ? n : 1) * dm * sizeof *pooled);
    int st = VS_OK;
    if (!off || !len || !pooled) {
        st = VS_E_NOMEM;
        goto done;
    }
    for (size_t s = 0; s < n; s++) {
        len[s] = lens[s] < (size_t)m->maxlen ? lens[s] : (size_t)m->maxlen;
        len[s] = len[s] ? len[s] : 1; /* an empty sequence reads token 0 */
        off[s] = w.T;
        w.T += len[s];
        w.maxT = len[s] > w.maxT ? len[s] : w.maxT;
    }
    w.off = off;
    w.len = len;
    size_t T = w.T ? w.T : 1, wide = dm > de ? dm : de;
    /* calloc: the embedding step writes every column of x (demb = 2 *
     * ntime, the loader checks) and each step below writes all it reads,
     * but zeroed scratch makes that hold by construction for the static
     * analyzer too, for the cost of one pass over memory the GEMMs read
     * many times anyway */
    w.x = calloc(T * wide, sizeof *w.x);
    w.y = calloc(T * wide, sizeof *w.y);
    w.h = calloc(T * wide, sizeof *w.h);
    w.qkv = malloc(T * nq * sizeof *w.qkv);
    w.att = malloc(T * (dv > dm ? dv : dm) * sizeof *w.att);
    w.ff = malloc(T * dff * sizeof *w.ff);
    w.sc = malloc((w.maxT ? w.maxT * w.maxT : 1) * sizeof *w.sc);
    if (!w.x || !w.y || !w.h || !w.qkv || !w.att || !w.ff || !w.sc) {
        st = VS_E_NOMEM;
        goto done;
    }
    /* x = 2 * emb[id] + timing(position), written e + (e + timing) as the
     * graph does. */
    for (size_t s = 0; s < n; s++) {
        for (size_t t = 0; t < len[s]; t++) {
            int32_t id = lens[s] ? ids[s][t] : 0;
            if (id < 0 || (size_t)id >= m->vocab)
                id = 0;
            const float *e = m->emb + (size_t)id * de;
            float *xr = w.x + (off[s] + t) * de;
            for (size_t i = 0; i < m->ntime; i++) {
                float a = (float)t * m->inv[i];
                xr[i] = e[i] + (e[i] + sinf(a));
                xr[m->ntime + i] = e[m->ntime + i] + (e[m->ntime + i] + cosf(a));
            }
        }
    }
    run_layer(m, &m->L[0], w.x, w.y, &w);
    run_layer(m, &m->L[1], w.y, w.x, &w);
    for (size_t s = 0; s < n; s++) {
        float *p = pooled + s * dm;
        for (size_t i = 0; i < dm; i++)
            p[i] = 0;
        for (size_t t = 0; t < len[s]; t++) {
            const float *xr = w.x + (off[s] + t) * dm;
            for (size_t i = 0; i < dm; i++)
                p[i] += xr[i];
        }
        for (size_t i = 0; i < dm; i++)
            p[i] /= (float)len[s];
    }
    dense(pooled, n, dm, m->tanh_k, dm, m->tanh_b, out);
    for (size_t s = 0; s < n; s++) {
        float *o = out + s * dm;
        double ss = 0;
        for (size_t i = 0; i < dm; i++) {
            o[i] = tanhf(o[i]);
            ss += (double)o[i] * o[i];
        }
        if (ss < m->l2min)
            ss = m->l2min;
        float r = (float)(1.0 / sqrt(ss));
        for (size_t i = 0; i < dm; i++)
            o[i] *= r;
    }
done:
    free(w.x);
    free(w.y);
    free(w.h);
    free(w.qkv);
    free(w.att);
    free(w.ff);
    free(w.sc);
    free(pooled);
    free(len);
    free(off);
    return st;
}

/* Sequences are cut into contiguous groups of about USE_GROUP_TOKENS
 * tokens (a longer sequence is a group of its own); each group runs through
 * the whole forward pass on one thread, groups handed out dynamically over
 * the OpenMP threads: one parallel region, no barrier per kernel, a thread
 * the machine delays holds up little work, and the same groups (so the same
 * numbers) at any thread count. */
#define USE_GROUP_TOKENS 256

int vs_uselite_forward_batch(const struct vs_uselite *m, size_t n,
                             const int32_t *const *ids, const size_t *lens,
                             float *out)
{
    size_t *g = malloc((n + 1) * sizeof *g), ng = 0, acc = 0;
    if (!g)
        return VS_E_NOMEM;
    g[0] = 0;
    for (size_t i = 0; i < n; i++) {
        size_t t = lens[i] < (size_t)m->maxlen ? lens[i] : (size_t)m->maxlen;
        if (acc && acc + t > USE_GROUP_TOKENS) {
            g[++ng] = i;
            acc = 0;
        }
        acc += t ? t : 1;
    }
    if (n)
        g[++ng] = n;
    int fail = 0;
    long j;
#pragma omp parallel for schedule(dynamic, 1) reduction(| : fail)
    for (j = 0; j < (long)ng; j++) {
        size_t a = g[j], b = g[j + 1];
        if (forward_group(m, b - a, ids + a, lens + a, out + a * VS_USELITE_DIM) != VS_OK)
            fail = 1;
    }
    free(g);
    return fail ? VS_E_NOMEM : VS_OK;
}

int vs_uselite_forward(const struct vs_uselite *m, const int32_t *ids, size_t n,
                       float *out)
{
    return vs_uselite_forward_batch(m, 1, &ids, &n, out);
}

int vs_uselite_tokenize(const struct vs_uselite *m, const char *text, size_t len,
                        int32_t **ids, size_t *n)
{
    return vs_sentencepiece_encode(m->sp, text, len, ids, n, NULL);
}

size_t vs_uselite_maxlen(const struct vs_uselite *m)
{
    return (size_t)m->maxlen;
}

int vs_uselite_embed(const struct vs_uselite *m, const char *text, size_t len,
                     float *out, int *truncated)
{
    int32_t *ids = NULL;
    size_t n = 0;
    if (truncated)
        *truncated = 0;
    memset(out, 0, VS_USELITE_DIM * sizeof *out);
    int st = vs_sentencepiece_encode(m->sp, text, len, &ids, &n, NULL);
    if (st != VS_OK)
        return st;
    if (n == 0)
        st = VS_E_FIELD;
    else
        st = vs_uselite_forward(m, ids, n, out);
    if (truncated)
        *truncated = n > (size_t)m->maxlen;
    free(ids);
    return st;
}
