/* rerank_cross.c: a BERT-family sequence-pair classifier (cross-encoder)
 * for vs-rerank: pair encoding [CLS] q [SEP] d [SEP] with token types 0/1,
 * truncation that keeps the query and cuts the passage, the BERT encoder,
 * the pooler (dense + tanh on [CLS]) and a classifier head; the score is
 * logit 0, optionally through a sigmoid. A plain float32 forward pass
 * written here on the public safetensors and WordPiece pieces (lib/bert.c
 * has no token types, pooler or classifier); pairs run in parallel with
 * OpenMP, one scratch per thread made before the parallel region. */
#include "rerank_internal.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cblas.h>
#undef I /* complex.h, pulled in by cblas.h */

#ifdef _OPENMP
#include <omp.h>
#endif

#include "vs_safetensors.h"
#include "vs_wordpiece.h"

struct layer {
    float *wq, *bq, *wk, *bk, *wv, *bv, *wo, *bo, *ln1g, *ln1b;
    float *wi, *bi, *wo2, *bo2, *ln2g, *ln2b;
};

struct vs_cross {
    size_t H, nh, I, L, maxpos, types, labels, vocab;
    double eps;
    int gelu_tanh;
    float *wemb, *pemb, *temb, *elng, *elnb;
    struct layer *layers;
    float *pw, *pb, *cw, *cb;
    struct vs_wordpiece *wp;
    int32_t cls, sep;
};

struct scratch {
    float *x, *q, *k, *v, *ctx, *tmp, *mid, *att;
    int32_t *ids, *qids, *dids;
    int *tt;
};

static int cfg_size(const json_t *cfg, const char *key, size_t dflt, size_t *out,
                    struct vs_diag *d)
{
    const json_t *v = json_object_get(cfg, key);
    if (!v) {
        *out = dflt;
        return dflt ? VS_OK : vs_diag_set(d, VS_E_DATA, "config.json: no '%s'", key);
    }
    if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > 1000000)
        return vs_diag_set(d, VS_E_DATA, "config.json: '%s' is not a positive integer", key);
    *out = (size_t)json_integer_value(v);
    return VS_OK;
}

static int load(struct vs_safetensors *st, const char *prefix, const char *name,
                int ndim, size_t a, size_t b, float **out, struct vs_diag *d)
{
    char full[256];
    size_t dims[2] = {a, b};
    snprintf(full, sizeof full, "%s%s", prefix, name);
    return vs_safetensors_load_f32(st, full, ndim, dims, out, d);
}

void vs_rerank_cross_free(struct vs_cross *m)
{
    if (!m)
        return;
    float **p[] = {&m->wemb, &m->pemb, &m->temb, &m->elng, &m->elnb,
                   &m->pw, &m->pb, &m->cw, &m->cb};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        free(*p[i]);
    if (m->layers)
        for (size_t l = 0; l < m->L; l++) {
            struct layer *y = &m->layers[l];
            float *q[] = {y->wq, y->bq, y->wk, y->bk, y->wv, y->bv, y->wo, y->bo,
                          y->ln1g, y->ln1b, y->wi, y->bi, y->wo2, y->bo2, y->ln2g, y->ln2b};
            for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
                free(q[i]);
        }
    free(m->layers);
    vs_wordpiece_free(m->wp);
    free(m);
}

/* A model folder: DIR itself, else $VS_MODEL_DIR/DIR, else
 * ~/.cache/vecstore/models/DIR. */
static void resolve(const char *name, char *buf, size_t size)
{
    struct stat sb;
    snprintf(buf, size, "%s", name);
    if (stat(buf, &sb) == 0 || strchr(name, '/'))
        return;
    const char *md = getenv("VS_MODEL_DIR"), *home = getenv("HOME");
    if (md && *md)
        snprintf(buf, size, "%s/%s", md, name);
    else if (home)
        snprintf(buf, size, "%s/.cache/vecstore/models/%s", home, name);
}

int vs_rerank_cross_open(const char *name, struct vs_cross **out, struct vs_diag *d)
{
    *out = NULL;
    char dir[1024], path[1200];
    resolve(name, dir, sizeof dir);
    struct vs_cross *m = calloc(1, sizeof *m);
    struct vs_safetensors *st = NULL;
    json_t *cfg = NULL;
    int rc;
    if (!m)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    snprintf(path, sizeof path, "%s/config.json", dir);
    json_error_t je;
    if (!(cfg = json_load_file(path, 0, &je))) {
        rc = vs_diag_set(d, VS_E_IO, "cross-encoder '%s': cannot read %s: %s", name,
                         path, je.text);
        goto fail;
    }
    if ((rc = cfg_size(cfg, "hidden_size", 0, &m->H, d)) ||
        (rc = cfg_size(cfg, "num_hidden_layers", 0, &m->L, d)) ||
        (rc = cfg_size(cfg, "num_attention_heads", 0, &m->nh, d)) ||
        (rc = cfg_size(cfg, "intermediate_size", 0, &m->I, d)) ||
        (rc = cfg_size(cfg, "max_position_embeddings", 512, &m->maxpos, d)) ||
        (rc = cfg_size(cfg, "type_vocab_size", 2, &m->types, d)) ||
        (rc = cfg_size(cfg, "vocab_size", 0, &m->vocab, d)))
        goto fail;
    if (m->H % m->nh || m->types < 2 || m->maxpos < 4) {
        rc = vs_diag_set(d, VS_E_DATA, "config.json: hidden_size not divisible by the "
                         "heads, fewer than 2 token types or max_position_embeddings < 4");
        goto fail;
    }
    const json_t *labels = json_object_get(cfg, "id2label");
    m->labels = json_is_object(labels) ? json_object_size(labels) : 1;
    if (json_is_integer(json_object_get(cfg, "num_labels")))
        m->labels = (size_t)json_integer_value(json_object_get(cfg, "num_labels"));
    if (m->labels < 1 || m->labels > 1000) {
        rc = vs_diag_set(d, VS_E_DATA, "config.json: bad number of labels");
        goto fail;
    }
    const json_t *eps = json_object_get(cfg, "layer_norm_eps");
    m->eps = json_is_number(eps) ? json_number_value(eps) : 1e-12;
    const char *act = json_string_value(json_object_get(cfg, "hidden_act"));
    if (!act || strcmp(act, "gelu") == 0)
        m->gelu_tanh = 0;
    else if (strcmp(act, "gelu_new") == 0 || strcmp(act, "gelu_pytorch_tanh") == 0)
        m->gelu_tanh = 1;
    else {
        rc = vs_diag_set(d, VS_E_UNSUPPORTED, "config.json: hidden_act '%s' not supported", act);
        goto fail;
    }
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    if ((rc = vs_wordpiece_open(path, &m->wp, d)) != VS_OK)
        goto fail;
    m->cls = vs_wordpiece_id(m->wp, "[CLS]");
    m->sep = vs_wordpiece_id(m->wp, "[SEP]");
    if (m->cls < 0 || m->sep < 0 || vs_wordpiece_size(m->wp) > m->vocab) {
        rc = vs_diag_set(d, VS_E_DATA, "vocab.txt: no [CLS]/[SEP] or larger than vocab_size");
        goto fail;
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if ((rc = vs_safetensors_open(path, &st, d)) != VS_OK)
        goto fail;
    size_t dims[VS_SAFETENSORS_MAX_DIMS];
    const char *pre = vs_safetensors_shape(st, "bert.embeddings.word_embeddings.weight", dims) > 0
                          ? "bert." : "";
    size_t H = m->H, I = m->I;
    if ((rc = load(st, pre, "embeddings.word_embeddings.weight", 2, m->vocab, H, &m->wemb, d)) ||
        (rc = load(st, pre, "embeddings.position_embeddings.weight", 2, m->maxpos, H, &m->pemb, d)) ||
        (rc = load(st, pre, "embeddings.token_type_embeddings.weight", 2, m->types, H, &m->temb, d)) ||
        (rc = load(st, pre, "embeddings.LayerNorm.weight", 1, H, 0, &m->elng, d)) ||
        (rc = load(st, pre, "embeddings.LayerNorm.bias", 1, H, 0, &m->elnb, d)) ||
        (rc = load(st, pre, "pooler.dense.weight", 2, H, H, &m->pw, d)) ||
        (rc = load(st, pre, "pooler.dense.bias", 1, H, 0, &m->pb, d)) ||
        (rc = load(st, "", "classifier.weight", 2, m->labels, H, &m->cw, d)) ||
        (rc = load(st, "", "classifier.bias", 1, m->labels, 0, &m->cb, d)))
        goto fail;
    if (!(m->layers = calloc(m->L, sizeof *m->layers))) {
        rc = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t l = 0; l < m->L; l++) {
        struct layer *y = &m->layers[l];
        char p[256];
        snprintf(p, sizeof p, "%sencoder.layer.%zu.", pre, l);
        if ((rc = load(st, p, "attention.self.query.weight", 2, H, H, &y->wq, d)) ||
            (rc = load(st, p, "attention.self.query.bias", 1, H, 0, &y->bq, d)) ||
            (rc = load(st, p, "attention.self.key.weight", 2, H, H, &y->wk, d)) ||
            (rc = load(st, p, "attention.self.key.bias", 1, H, 0, &y->bk, d)) ||
            (rc = load(st, p, "attention.self.value.weight", 2, H, H, &y->wv, d)) ||
            (rc = load(st, p, "attention.self.value.bias", 1, H, 0, &y->bv, d)) ||
            (rc = load(st, p, "attention.output.dense.weight", 2, H, H, &y->wo, d)) ||
            (rc = load(st, p, "attention.output.dense.bias", 1, H, 0, &y->bo, d)) ||
            (rc = load(st, p, "attention.output.LayerNorm.weight", 1, H, 0, &y->ln1g, d)) ||
            (rc = load(st, p, "attention.output.LayerNorm.bias", 1, H, 0, &y->ln1b, d)) ||
            (rc = load(st, p, "intermediate.dense.weight", 2, I, H, &y->wi, d)) ||
            (rc = load(st, p, "intermediate.dense.bias", 1, I, 0, &y->bi, d)) ||
            (rc = load(st, p, "output.dense.weight", 2, H, I, &y->wo2, d)) ||
            (rc = load(st, p, "output.dense.bias", 1, H, 0, &y->bo2, d)) ||
            (rc = load(st, p, "output.LayerNorm.weight", 1, H, 0, &y->ln2g, d)) ||
            (rc = load(st, p, "output.LayerNorm.bias", 1, H, 0, &y->ln2b, d)))
            goto fail;
    }
    vs_safetensors_close(st);
    json_decref(cfg);
    openblas_set_num_threads(1); /* threads come from OpenMP over pairs */
    *out = m;
    return VS_OK;
fail:
    vs_safetensors_close(st);
    json_decref(cfg);
    vs_rerank_cross_free(m);
    return rc;
}

size_t vs_rerank_cross_max_len(const struct vs_cross *m)
{
    return m->maxpos;
}

/* y[T][o] = x[T][i] W[o][i]^T + b[o] (one OpenBLAS call; OpenBLAS runs on
 * one thread, the threads are OpenMP's over pairs) */
static void linear(const float *x, size_t T, size_t in, const float *W,
                   const float *b, size_t outn, float *y)
{
    for (size_t t = 0; t < T; t++)
        memcpy(y + t * outn, b, outn * sizeof *b);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)outn, (int)in,
                1.0f, x, (int)in, W, (int)in, 1.0f, y, (int)outn);
}

static void layernorm(float *x, size_t T, size_t H, const float *g, const float *b,
                      double eps)
{
    for (size_t t = 0; t < T; t++) {
        float *r = x + t * H;
        double mu = 0, var = 0;
        for (size_t i = 0; i < H; i++)
            mu += r[i];
        mu /= (double)H;
        for (size_t i = 0; i < H; i++)
            var += (r[i] - mu) * (r[i] - mu);
        var /= (double)H;
        double inv = 1.0 / sqrt(var + eps);
        for (size_t i = 0; i < H; i++)
            r[i] = (float)((r[i] - mu) * inv) * g[i] + b[i];
    }
}

static void scratch_free(struct scratch *s)
{
    free(s->x); free(s->q); free(s->k); free(s->v); free(s->ctx);
    free(s->tmp); free(s->mid); free(s->att); free(s->ids); free(s->qids);
    free(s->dids); free(s->tt);
}

static int scratch_new(const struct vs_cross *m, struct scratch *s)
{
    size_t T = m->maxpos, H = m->H;
    memset(s, 0, sizeof *s);
    s->x = malloc(T * H * sizeof(float));
    s->q = malloc(T * H * sizeof(float));
    s->k = malloc(T * H * sizeof(float));
    s->v = malloc(T * H * sizeof(float));
    s->ctx = malloc(T * H * sizeof(float));
    s->tmp = malloc(T * H * sizeof(float));
    s->mid = malloc(T * m->I * sizeof(float));
    s->att = malloc(T * sizeof(float));
    s->ids = malloc(T * sizeof(int32_t));
    s->qids = malloc(T * sizeof(int32_t));
    s->dids = malloc(T * sizeof(int32_t));
    s->tt = malloc(T * sizeof(int));
    if (!s->x || !s->q || !s->k || !s->v || !s->ctx || !s->tmp || !s->mid ||
        !s->att || !s->ids || !s->qids || !s->dids || !s->tt) {
        scratch_free(s);
        return VS_E_NOMEM;
    }
    return VS_OK;
}

/* Pair ids: [CLS] q [SEP] (the query kept whole up to maxpos - 2 ids
 * with its [SEP]) then the passage pieces that fit and [SEP]. */
static int encode_pair(const struct vs_cross *m, const char *q, const char *doc,
                       struct scratch *s, size_t *T, int *truncated)
{
    size_t nq, nd, maxp = m->maxpos;
    int tq = 0, td = 0;
    int st = vs_wordpiece_encode(m->wp, q, strlen(q), maxp - 2, s->qids, &nq, &tq, NULL);
    if (st != VS_OK)
        return st;
    size_t room = maxp - nq - 1; /* pieces of the passage that fit, >= 1 */
    st = vs_wordpiece_encode(m->wp, doc, strlen(doc), room + 2, s->dids, &nd, &td, NULL);
    if (st != VS_OK)
        return st;
    size_t n = 0;
    for (size_t i = 0; i < nq; i++) {
        s->ids[n] = s->qids[i];
        s->tt[n++] = 0;
    }
    for (size_t i = 1; i + 1 < nd; i++) {
        s->ids[n] = s->dids[i];
        s->tt[n++] = 1;
    }
    s->ids[n] = m->sep;
    s->tt[n++] = 1;
    *T = n;
    *truncated = tq || td;
    return VS_OK;
}

static double forward(const struct vs_cross *m, struct scratch *s, size_t T, int sigmoid)
{
    size_t H = m->H, nh = m->nh, dh = H / nh, I = m->I;
    float *x = s->x;
    for (size_t t = 0; t < T; t++) {
        const float *we = m->wemb + (size_t)s->ids[t] * H;
        const float *pe = m->pemb + t * H, *te = m->temb + (size_t)s->tt[t] * H;
        for (size_t i = 0; i < H; i++)
            x[t * H + i] = we[i] + pe[i] + te[i];
    }
    layernorm(x, T, H, m->elng, m->elnb, m->eps);
    float scale = 1.0f / sqrtf((float)dh);
    for (size_t l = 0; l < m->L; l++) {
        const struct layer *y = &m->layers[l];
        linear(x, T, H, y->wq, y->bq, H, s->q);
        linear(x, T, H, y->wk, y->bk, H, s->k);
        linear(x, T, H, y->wv, y->bv, H, s->v);
        for (size_t h = 0; h < nh; h++)
            for (size_t i = 0; i < T; i++) {
                const float *qi = s->q + i * H + h * dh;
                float mx = -INFINITY, sum = 0;
                for (size_t j = 0; j < T; j++) {
                    const float *kj = s->k + j * H + h * dh;
                    float a = 0;
                    for (size_t e = 0; e < dh; e++)
                        a += qi[e] * kj[e];
                    s->att[j] = a * scale;
                    if (s->att[j] > mx)
                        mx = s->att[j];
                }
                for (size_t j = 0; j < T; j++) {
                    s->att[j] = expf(s->att[j] - mx);
                    sum += s->att[j];
                }
                float *c = s->ctx + i * H + h * dh;
                for (size_t e = 0; e < dh; e++)
                    c[e] = 0;
                for (size_t j = 0; j < T; j++) {
                    const float *vj = s->v + j * H + h * dh;
                    float w = s->att[j] / sum;
                    for (size_t e = 0; e < dh; e++)
                        c[e] += w * vj[e];
                }
            }
        linear(s->ctx, T, H, y->wo, y->bo, H, s->tmp);
        for (size_t i = 0; i < T * H; i++)
            x[i] += s->tmp[i];
        layernorm(x, T, H, y->ln1g, y->ln1b, m->eps);
        linear(x, T, H, y->wi, y->bi, I, s->mid);
        for (size_t i = 0; i < T * I; i++) {
            float v = s->mid[i];
            s->mid[i] = m->gelu_tanh
                            ? 0.5f * v * (1.0f + tanhf(0.7978845608f * (v + 0.044715f * v * v * v)))
                            : 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
        }
        linear(s->mid, T, I, y->wo2, y->bo2, H, s->tmp);
        for (size_t i = 0; i < T * H; i++)
            x[i] += s->tmp[i];
        layernorm(x, T, H, y->ln2g, y->ln2b, m->eps);
    }
    /* pooler on [CLS], then logit 0 of the classifier */
    linear(x, 1, H, m->pw, m->pb, H, s->tmp);
    double logit = m->cb[0];
    for (size_t i = 0; i < H; i++)
        logit += (double)tanhf(s->tmp[i]) * m->cw[i];
    return sigmoid ? 1.0 / (1.0 + exp(-logit)) : logit;
}

int vs_rerank_cross_score(struct vs_cross *m, const char *query,
                          const char *const *docs, size_t n, int sigmoid,
                          int threads, double *scores, size_t *ntrunc,
                          struct vs_diag *d)
{
    int nt = 1;
#ifdef _OPENMP
    nt = threads > 0 ? threads : omp_get_max_threads();
    if ((size_t)nt > n)
        nt = n ? (int)n : 1;
#endif
    struct scratch *sc = calloc((size_t)nt, sizeof *sc);
    int st = VS_OK, made = 0;
    size_t trunc = 0;
    if (!sc)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    for (; made < nt; made++)
        if (scratch_new(m, &sc[made]) != VS_OK) {
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            goto done;
        }
    long bad = -1;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) reduction(+ : trunc)
#endif
    for (size_t i = 0; i < n; i++) {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        size_t T;
        int tr;
        if (encode_pair(m, query, docs[i], &sc[tid], &T, &tr) != VS_OK) {
#ifdef _OPENMP
#pragma omp critical
#endif
            if (bad < 0 || (long)i < bad)
                bad = (long)i;
            scores[i] = 0;
            continue;
        }
        trunc += (size_t)tr;
        scores[i] = forward(m, &sc[tid], T, sigmoid);
    }
    if (bad >= 0)
        st = vs_diag_set(d, VS_E_DATA, "hit %ld of the query: text or query is not "
                         "valid UTF-8", bad + 1);
    if (ntrunc)
        *ntrunc = trunc;
done:
    for (int i = 0; i < made; i++)
        scratch_free(&sc[i]);
    free(sc);
    return st;
}
