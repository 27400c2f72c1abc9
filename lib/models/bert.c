/* bert.c: the BERT-family sentence encoder (vs_bert.h). */
#include "vs_bert.h"
#include "vs_blas.h"
#include "vs_gemm.h"
#include "vs_safetensors.h"
#include "vs_wordpiece.h"

#include <cblas.h> /* the Cblas constants; vs_sgemm loads OpenBLAS on first use */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Tokens per forward batch: bounds scratch memory. */
#define BERT_BATCH_TOKENS 8192

/* The four dense weights of a layer are packed for vs_gemm_rows when the
 * CPU has one of its kernels (struct vs_bert's gemm), else kept as read
 * for cblas_sgemm. */
struct layer {
    float *wqkv, *bqkv;     /* [3H, H], [3H]: query, key, value stacked */
    float *wo, *bo;         /* attention output [H, H], [H] */
    float *ln1_g, *ln1_b;   /* after attention */
    float *wi, *bi;         /* intermediate [I, H], [I] */
    float *wout, *bout;     /* output [H, I], [H] */
    float *ln2_g, *ln2_b;
};

struct vs_bert {
    size_t hidden, layers, heads, inter, max_pos, types, vocab, max_len;
    float eps;
    int gelu_tanh, cls_pool;
    enum vs_gemm_kernel gemm; /* dense layers: packed kernel, or NONE (BLAS) */
    float *word, *pos, *type, *ln_g, *ln_b;
    struct layer *layer;
    struct vs_wordpiece *wp;
    uint64_t sum;
    /* scratch, grown as needed */
    float *x, *qkv, *ctx, *tmp, *mid;
    size_t cap_tokens;
};

/* ---- loading ---- */

static json_t *load_json(const char *dir, const char *file, int required,
                         int *st, struct vs_diag *d)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (access(path, F_OK) != 0) {
        if (required)
            *st = vs_diag_set(d, VS_E_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!json_is_object(j)) {
        json_decref(j);
        *st = vs_diag_set(d, VS_E_DATA, "%s:%d: %s", path, je.line, je.text);
    }
    return j;
}

static int get_size(json_t *cfg, const char *key, size_t dflt, size_t *out,
                    struct vs_diag *d)
{
    json_t *v = json_object_get(cfg, key);
    if (!v) {
        if (!dflt)
            return vs_diag_set(d, VS_E_DATA, "config.json lacks '%s'", key);
        *out = dflt;
        return VS_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 1 ||
        json_integer_value(v) > (1 << 20))
        return vs_diag_set(d, VS_E_DATA, "config.json: '%s' is not a positive integer",
                           key);
    *out = (size_t)json_integer_value(v);
    return VS_OK;
}

static int load_t(const struct vs_safetensors *s, const char *pfx,
                  const char *name, int ndim, size_t a, size_t b, float **out,
                  struct vs_diag *d)
{
    char full[256];
    size_t dims[2] = {a, b};
    snprintf(full, sizeof full, "%s%s", pfx, name);
    return vs_safetensors_load_f32(s, full, ndim, dims, out, d);
}

/* LayerNorm parameters are "weight"/"bias" or, in older checkpoints,
 * "gamma"/"beta". */
static int load_ln(const struct vs_safetensors *s, const char *pfx,
                   const char *base, size_t h, float **g, float **b,
                   struct vs_diag *d)
{
    char n1[200], n2[200], full[256];
    size_t dims[1] = {h};
    snprintf(n1, sizeof n1, "%s.weight", base);
    snprintf(n2, sizeof n2, "%s.bias", base);
    snprintf(full, sizeof full, "%s%s", pfx, n1);
    if (vs_safetensors_shape(s, full, dims) < 0) {
        snprintf(n1, sizeof n1, "%s.gamma", base);
        snprintf(n2, sizeof n2, "%s.beta", base);
    }
    int st = load_t(s, pfx, n1, 1, h, 0, g, d);
    if (st == VS_OK)
        st = load_t(s, pfx, n2, 1, h, 0, b, d);
    return st;
}

/* Replace the weights *w [rows, cols] by their packed copy (vs_gemm_pack);
 * -1 when out of memory (*w is then unchanged). */
static int pack_in_place(float **w, size_t rows, size_t cols)
{
    float *p = vs_gemm_pack(*w, rows, cols);
    if (!p)
        return -1;
    free(*w);
    *w = p;
    return 0;
}

static int load_layer(struct vs_bert *m, const struct vs_safetensors *s,
                      const char *pfx, size_t i, struct vs_diag *d)
{
    struct layer *L = &m->layer[i];
    size_t H = m->hidden, NI = m->inter;
    char n[200];
    const char *part[3] = {"query", "key", "value"};
    int st = VS_OK;
    L->wqkv = malloc(3 * H * H * sizeof(float));
    L->bqkv = malloc(3 * H * sizeof(float));
    if (!L->wqkv || !L->bqkv)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    for (int k = 0; k < 3 && st == VS_OK; k++) {
        float *w = NULL, *b = NULL;
        snprintf(n, sizeof n, "encoder.layer.%zu.attention.self.%s.weight", i, part[k]);
        st = load_t(s, pfx, n, 2, H, H, &w, d);
        if (st == VS_OK) {
            snprintf(n, sizeof n, "encoder.layer.%zu.attention.self.%s.bias", i, part[k]);
            st = load_t(s, pfx, n, 1, H, 0, &b, d);
        }
        if (st == VS_OK) {
            memcpy(L->wqkv + (size_t)k * H * H, w, H * H * sizeof(float));
            memcpy(L->bqkv + (size_t)k * H, b, H * sizeof(float));
        }
        free(w);
        free(b);
    }
#define LOAD(field, name, nd, a, b)                                            \
    do {                                                                       \
        if (st == VS_OK) {                                                     \
            snprintf(n, sizeof n, "encoder.layer.%zu.%s", i, name);            \
            st = load_t(s, pfx, n, nd, a, b, &L->field, d);                    \
        }                                                                      \
    } while (0)
    LOAD(wo, "attention.output.dense.weight", 2, H, H);
    LOAD(bo, "attention.output.dense.bias", 1, H, 0);
    LOAD(wi, "intermediate.dense.weight", 2, NI, H);
    LOAD(bi, "intermediate.dense.bias", 1, NI, 0);
    LOAD(wout, "output.dense.weight", 2, H, NI);
    LOAD(bout, "output.dense.bias", 1, H, 0);
#undef LOAD
    if (st == VS_OK) {
        snprintf(n, sizeof n, "encoder.layer.%zu.attention.output.LayerNorm", i);
        st = load_ln(s, pfx, n, H, &L->ln1_g, &L->ln1_b, d);
    }
    if (st == VS_OK) {
        snprintf(n, sizeof n, "encoder.layer.%zu.output.LayerNorm", i);
        st = load_ln(s, pfx, n, H, &L->ln2_g, &L->ln2_b, d);
    }
    return st;
}

static int read_config(struct vs_bert *m, json_t *cfg, struct vs_diag *d)
{
    json_t *mt = json_object_get(cfg, "model_type");
    if (mt && (!json_is_string(mt) || strcmp(json_string_value(mt), "bert") != 0))
        return vs_diag_set(d, VS_E_UNSUPPORTED,
                           "config.json: model_type '%s' is not supported (bert is)",
                           json_is_string(mt) ? json_string_value(mt) : "?");
    json_t *pe = json_object_get(cfg, "position_embedding_type");
    if (pe && (!json_is_string(pe) || strcmp(json_string_value(pe), "absolute") != 0))
        return vs_diag_set(d, VS_E_UNSUPPORTED,
                           "config.json: only absolute position embeddings are supported");
    json_t *act = json_object_get(cfg, "hidden_act");
    const char *a = json_is_string(act) ? json_string_value(act) : "gelu";
    if (strcmp(a, "gelu") == 0)
        m->gelu_tanh = 0;
    else if (strcmp(a, "gelu_new") == 0 || strcmp(a, "gelu_pytorch_tanh") == 0)
        m->gelu_tanh = 1;
    else
        return vs_diag_set(d, VS_E_UNSUPPORTED,
                           "config.json: hidden_act '%s' is not supported", a);
    int st;
    if ((st = get_size(cfg, "hidden_size", 0, &m->hidden, d)) ||
        (st = get_size(cfg, "num_hidden_layers", 0, &m->layers, d)) ||
        (st = get_size(cfg, "num_attention_heads", 0, &m->heads, d)) ||
        (st = get_size(cfg, "intermediate_size", 0, &m->inter, d)) ||
        (st = get_size(cfg, "max_position_embeddings", 512, &m->max_pos, d)) ||
        (st = get_size(cfg, "type_vocab_size", 2, &m->types, d)) ||
        (st = get_size(cfg, "vocab_size", 0, &m->vocab, d)))
        return st;
    if (m->hidden % m->heads)
        return vs_diag_set(d, VS_E_DATA,
                           "config.json: hidden_size is not a multiple of num_attention_heads");
    json_t *eps = json_object_get(cfg, "layer_norm_eps");
    m->eps = json_is_number(eps) ? (float)json_number_value(eps) : 1e-12f;
    return VS_OK;
}

static int read_side_configs(struct vs_bert *m, const char *dir, struct vs_diag *d)
{
    int st = VS_OK;
    json_t *pool = load_json(dir, "1_Pooling/config.json", 0, &st, d);
    if (st != VS_OK)
        return st;
    if (pool) {
        int cls = json_is_true(json_object_get(pool, "pooling_mode_cls_token"));
        int mean = json_is_true(json_object_get(pool, "pooling_mode_mean_tokens"));
        int other = json_is_true(json_object_get(pool, "pooling_mode_max_tokens")) ||
                    json_is_true(json_object_get(pool, "pooling_mode_mean_sqrt_len_tokens"));
        json_decref(pool);
        if (other || cls + mean != 1)
            return vs_diag_set(d, VS_E_UNSUPPORTED,
                               "1_Pooling/config.json: only one of mean or CLS pooling is supported");
        m->cls_pool = cls;
    }
    m->max_len = m->max_pos;
    json_t *sb = load_json(dir, "sentence_bert_config.json", 0, &st, d);
    if (st != VS_OK)
        return st;
    json_t *ml = json_object_get(sb, "max_seq_length");
    if (json_is_integer(ml) && json_integer_value(ml) >= 2 &&
        (size_t)json_integer_value(ml) < m->max_len)
        m->max_len = (size_t)json_integer_value(ml);
    json_decref(sb);
    json_t *tc = load_json(dir, "tokenizer_config.json", 0, &st, d);
    if (st != VS_OK)
        return st;
    json_t *lc = json_object_get(tc, "do_lower_case");
    int cased = lc && json_is_false(lc);
    json_decref(tc);
    if (cased)
        return vs_diag_set(d, VS_E_UNSUPPORTED,
                           "tokenizer_config.json: cased tokenizers are not supported");
    return VS_OK;
}

int vs_bert_open(const char *dir, struct vs_bert **out, struct vs_diag *d)
{
    *out = NULL;
    int st = VS_OK;
    json_t *cfg = NULL;
    struct vs_safetensors *s = NULL;
    struct vs_bert *m = calloc(1, sizeof *m);
    if (!m)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    vs_blas_set_threads(1); /* threads come from OpenMP (linear()) */
    cfg = load_json(dir, "config.json", 1, &st, d);
    if (st != VS_OK)
        goto done;
    if ((st = read_config(m, cfg, d)) != VS_OK ||
        (st = read_side_configs(m, dir, d)) != VS_OK)
        goto done;
    char path[4096];
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    if ((st = vs_wordpiece_open(path, &m->wp, d)) != VS_OK)
        goto done;
    if (vs_wordpiece_size(m->wp) > m->vocab) {
        st = vs_diag_set(d, VS_E_DATA, "vocab.txt has more tokens than vocab_size");
        goto done;
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if ((st = vs_safetensors_open(path, &s, d)) != VS_OK)
        goto done;
    m->sum = vs_safetensors_checksum(s);
    size_t dims[2];
    const char *pfx =
        vs_safetensors_shape(s, "embeddings.word_embeddings.weight", dims) >= 0
            ? "" : "bert.";
    size_t H = m->hidden;
    if ((st = load_t(s, pfx, "embeddings.word_embeddings.weight", 2, m->vocab, H, &m->word, d)) ||
        (st = load_t(s, pfx, "embeddings.position_embeddings.weight", 2, m->max_pos, H, &m->pos, d)) ||
        (st = load_t(s, pfx, "embeddings.token_type_embeddings.weight", 2, m->types, H, &m->type, d)) ||
        (st = load_ln(s, pfx, "embeddings.LayerNorm", H, &m->ln_g, &m->ln_b, d)))
        goto done;
    m->layer = calloc(m->layers, sizeof *m->layer);
    if (!m->layer) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < m->layers && st == VS_OK; i++)
        st = load_layer(m, s, pfx, i, d);
    m->gemm = vs_gemm_best();
    for (size_t i = 0; i < m->layers && st == VS_OK && m->gemm != VS_GEMM_NONE; i++) {
        struct layer *L = &m->layer[i];
        if (pack_in_place(&L->wqkv, 3 * H, H) || pack_in_place(&L->wo, H, H) ||
            pack_in_place(&L->wi, m->inter, H) || pack_in_place(&L->wout, H, m->inter))
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
    }
done:
    vs_safetensors_close(s);
    json_decref(cfg);
    if (st != VS_OK)
        vs_bert_free(m);
    else
        *out = m;
    return st;
}

void vs_bert_free(struct vs_bert *m)
{
    if (!m)
        return;
    for (size_t i = 0; m->layer && i < m->layers; i++) {
        struct layer *L = &m->layer[i];
        float *p[] = {L->wqkv, L->bqkv, L->wo, L->bo, L->ln1_g, L->ln1_b,
                      L->wi, L->bi, L->wout, L->bout, L->ln2_g, L->ln2_b};
        for (size_t k = 0; k < sizeof p / sizeof *p; k++)
            free(p[k]);
    }
    free(m->layer);
    free(m->word);
    free(m->pos);
    free(m->type);
    free(m->ln_g);
    free(m->ln_b);
    free(m->x);
    free(m->qkv);
    free(m->ctx);
    free(m->tmp);
    free(m->mid);
    vs_wordpiece_free(m->wp);
    free(m);
}

size_t vs_bert_dim(const struct vs_bert *m) { return m->hidden; }
size_t vs_bert_max_len(const struct vs_bert *m) { return m->max_len; }
uint64_t vs_bert_checksum(const struct vs_bert *m) { return m->sum; }

void vs_bert_set_threads(int n)
{
    if (n <= 0)
        return;
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
}

/* ---- kernels ---- */

/* y[T, N] = x[T, K] * w[N, K]^T + b[N]. The rows are split over the
 * OpenMP threads; each runs vs_gemm_rows on w packed (m->gemm), or a
 * single-threaded OpenBLAS sgemm when the CPU has no kernel of vs_gemm.h
 * (one thread pool, no oversubscription between OpenMP and OpenBLAS
 * workers). */
static void linear(const struct vs_bert *m, const float *x, size_t T, size_t K,
                   const float *w, const float *b, size_t N, float *y)
{
    enum vs_gemm_kernel gk = m->gemm;
#pragma omp parallel
    {
        size_t nt = 1, id = 0;
#ifdef _OPENMP
        nt = (size_t)omp_get_num_threads();
        id = (size_t)omp_get_thread_num();
#endif
        size_t per = (T + nt - 1) / nt, r0 = id * per;
        size_t r1 = r0 + per < T ? r0 + per : T;
        if (r0 < r1 && gk != VS_GEMM_NONE) {
            vs_gemm_rows(gk, x + r0 * K, K, r1 - r0, K, w, b, N, y + r0 * N, N);
        } else if (r0 < r1) {
            for (size_t t = r0; t < r1; t++)
                memcpy(y + t * N, b, N * sizeof *y);
            vs_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(r1 - r0),
                        (int)N, (int)K, 1.0f, x + r0 * K, (int)K, w, (int)K,
                        1.0f, y + r0 * N, (int)N);
        }
    }
}

/* x[t] = LayerNorm(x[t] + r[t]) for every row (r may be NULL). */
static void add_layernorm(float *x, const float *r, size_t T, size_t H,
                          const float *g, const float *b, float eps)
{
    long t;
#pragma omp parallel for schedule(static)
    for (t = 0; t < (long)T; t++) {
        float *row = x + (size_t)t * H;
        if (r) {
            const float *rr = r + (size_t)t * H;
            for (size_t i = 0; i < H; i++)
                row[i] += rr[i];
        }
        double mean = 0, var = 0;
        for (size_t i = 0; i < H; i++)
            mean += row[i];
        mean /= (double)H;
        for (size_t i = 0; i < H; i++) {
            double dv = row[i] - mean;
            var += dv * dv;
        }
        var /= (double)H;
        float inv = (float)(1.0 / sqrt(var + (double)eps)), mu = (float)mean;
        for (size_t i = 0; i < H; i++)
            row[i] = (row[i] - mu) * inv * g[i] + b[i];
    }
}

/* e^x for x <= 0 (x below -87 is taken as -87, which keeps the result
 * normal), written so that GCC vectorises it at -O2 under omp simd (no
 * branches, no libm calls: a float ternary or fmaxf stops it): the clamp
 * is an integer min on the bits of -x, then round with the 1.5 * 2^23
 * trick, a degree-6 polynomial on [-ln2/2, ln2/2] (relative error about
 * 2e-7), the power of two put in the exponent bits. */
static inline float exp_neg(float x)
{
    union { float f; int32_t i; } c;
    c.f = x;
    c.i &= 0x7FFFFFFF;             /* |x| = -x, also for -0.0 */
    int32_t dd = c.i - 0x42AE0000; /* bits of 87.0f; a NaN clamps too */
    c.i = 0x42AE0000 + (dd & (dd >> 31));
    x = -c.f;
    float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693145751953125f - n * 1.428606765330187e-06f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666672f + r * (0.0416666679f +
                     r * (0.00833333377f + r * 0.00138888892f)))));
    c.i = ((int32_t)n + 127) << 23;
    return p * c.f;
}

/* erf(x) by Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7). */
static inline float erf_fast(float x)
{
    float a = fabsf(x);
    float t = 1.0f / (1.0f + 0.3275911f * a);
    float y = 1.0f - t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f +
                      t * (-1.453152027f + t * 1.061405429f)))) * exp_neg(-a * a);
    return copysignf(y, x);
}

static void gelu(float *x, size_t count, int tanh_form)
{
    long i;
    if (tanh_form) {
#pragma omp parallel for schedule(static)
        for (i = 0; i < (long)count; i++) {
            float v = x[i];
            x[i] = 0.5f * v * (1.0f + tanhf(0.7978845608f * (v + 0.044715f * v * v * v)));
        }
    } else {
#pragma omp parallel for simd schedule(static)
        for (i = 0; i < (long)count; i++)
            x[i] = 0.5f * x[i] * (1.0f + erf_fast(x[i] * 0.70710678118654752f));
    }
}

/* Self-attention of every (sequence, head): ctx from qkv [T, 3H]. Each task
 * is two products reading the head's columns of qkv in place (leading
 * dimension 3H): S = scale * Q K^T [L, K], a softmax of each row of S, then
 * ctx = S V [L, dh]. With a vs_gemm kernel (m->gemm) the task packs K and V
 * (small: K x dh each) and runs vs_gemm_rows, else two single-threaded
 * OpenBLAS products. The tasks run on the OpenMP threads, each with its own
 * buffers made once per call. klen (may be NULL): only the first klen[s]
 * tokens of sequence s serve as keys and values (an attention mask that
 * hides the tail). */
static int attention(const struct vs_bert *m, const float *qkv, float *ctx,
                     size_t nseq, const size_t *off, const size_t *len,
                     const size_t *klen, size_t maxlen)
{
    size_t H = m->hidden, nh = m->heads, dh = H / nh, H3 = 3 * H;
    float scale = 1.0f / sqrtf((float)dh);
    enum vs_gemm_kernel gk = m->gemm;
    size_t kpf = vs_gemm_packed_floats(maxlen, dh), vpf = vs_gemm_packed_floats(dh, maxlen);
    int fail = 0;
#pragma omp parallel
    {
        float *S = malloc(maxlen * maxlen * sizeof *S), *kp = NULL, *vp = NULL;
        if (gk != VS_GEMM_NONE) {
            kp = aligned_alloc(64, (kpf * sizeof *kp + 63) / 64 * 64);
            vp = aligned_alloc(64, (vpf * sizeof *vp + 63) / 64 * 64);
        }
        int ok = S && (gk == VS_GEMM_NONE || (kp && vp));
        if (!ok) {
#pragma omp atomic write
            fail = 1;
        }
        long task;
#pragma omp for schedule(dynamic, 1)
        for (task = 0; task < (long)(nseq * nh); task++) {
            if (!ok)
                continue;
            size_t s = (size_t)task / nh, h = (size_t)task % nh, L = len[s];
            size_t K = klen && klen[s] >= 1 && klen[s] < L ? klen[s] : L;
            const float *base = qkv + off[s] * H3 + h * dh;
            float *out = ctx + off[s] * H + h * dh;
            if (gk != VS_GEMM_NONE) {
                vs_gemm_pack_into(base + H, H3, 0, K, dh, kp);
                vs_gemm_rows(gk, base, H3, L, dh, kp, NULL, K, S, K);
            } else {
                vs_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)L, (int)K,
                            (int)dh, 1.0f, base, (int)H3, base + H, (int)H3, 0.0f, S,
                            (int)K);
            }
            for (size_t i = 0; i < L; i++) {
                float *p = S + i * K;
                float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
                for (size_t j = 0; j < K; j++)
                    mx = p[j] > mx ? p[j] : mx;
#pragma omp simd
                for (size_t j = 0; j < K; j++)
                    p[j] = exp_neg((p[j] - mx) * scale);
                float sum = 0;
#pragma omp simd reduction(+ : sum)
                for (size_t j = 0; j < K; j++)
                    sum += p[j];
                float inv = 1.0f / sum;
#pragma omp simd
                for (size_t j = 0; j < K; j++)
                    p[j] *= inv;
            }
            if (gk != VS_GEMM_NONE) {
                vs_gemm_pack_into(base + 2 * H, H3, 1, dh, K, vp);
                vs_gemm_rows(gk, S, K, L, K, vp, NULL, dh, out, H);
            } else {
                vs_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)L, (int)dh,
                            (int)K, 1.0f, S, (int)K, base + 2 * H, (int)H3, 0.0f, out,
                            (int)H);
            }
        }
        free(S);
        free(kp);
        free(vp);
    }
    return fail ? VS_E_NOMEM : VS_OK;
}

static int grow(struct vs_bert *m, size_t T)
{
    if (T <= m->cap_tokens)
        return VS_OK;
    size_t H = m->hidden;
    float *x = realloc(m->x, T * H * sizeof(float));
    if (x)
        m->x = x;
    float *q = realloc(m->qkv, T * 3 * H * sizeof(float));
    if (q)
        m->qkv = q;
    float *c = realloc(m->ctx, T * H * sizeof(float));
    if (c)
        m->ctx = c;
    float *t = realloc(m->tmp, T * H * sizeof(float));
    if (t)
        m->tmp = t;
    float *mi = realloc(m->mid, T * m->inter * sizeof(float));
    if (mi)
        m->mid = mi;
    if (!x || !q || !c || !t || !mi)
        return VS_E_NOMEM;
    m->cap_tokens = T;
    return VS_OK;
}

/* One packed batch: sequences [0, n) with T tokens in all. types NULL:
 * type 0 everywhere. tokens 0: out gets n pooled, normalised vectors;
 * tokens 1: out gets the T final hidden states. */
static int forward_batch(struct vs_bert *m, size_t n, const int32_t *const *ids,
                         const int32_t *const *types, const size_t *lens,
                         const size_t *klens, float *out, int tokens)
{
    size_t H = m->hidden, T = 0, maxlen = 0;
    size_t *off = malloc((n + 1) * sizeof *off);
    if (!off)
        return VS_E_NOMEM;
    for (size_t s = 0; s < n; s++) {
        off[s] = T;
        T += lens[s];
        if (lens[s] > maxlen)
            maxlen = lens[s];
    }
    off[n] = T;
    int st = grow(m, T);
    if (st != VS_OK)
        goto done;
    /* embeddings */
    long s_;
#pragma omp parallel for schedule(static)
    for (s_ = 0; s_ < (long)n; s_++) {
        size_t s = (size_t)s_;
        for (size_t i = 0; i < lens[s]; i++) {
            int32_t id = ids[s][i];
            if (id < 0 || (size_t)id >= m->vocab)
                id = 0;
            float *row = m->x + (off[s] + i) * H;
            int32_t tt = types ? types[s][i] : 0;
            if (tt < 0 || (size_t)tt >= m->types)
                tt = 0;
            const float *w = m->word + (size_t)id * H, *p = m->pos + i * H,
                        *ty = m->type + (size_t)tt * H;
            for (size_t c = 0; c < H; c++)
                row[c] = w[c] + p[c] + ty[c];
        }
    }
    add_layernorm(m->x, NULL, T, H, m->ln_g, m->ln_b, m->eps);
    for (size_t l = 0; l < m->layers; l++) {
        const struct layer *L = &m->layer[l];
        linear(m, m->x, T, H, L->wqkv, L->bqkv, 3 * H, m->qkv);
        if ((st = attention(m, m->qkv, m->ctx, n, off, lens, klens, maxlen)) != VS_OK)
            goto done;
        linear(m, m->ctx, T, H, L->wo, L->bo, H, m->tmp);
        add_layernorm(m->x, m->tmp, T, H, L->ln1_g, L->ln1_b, m->eps);
        linear(m, m->x, T, H, L->wi, L->bi, m->inter, m->mid);
        gelu(m->mid, T * m->inter, m->gelu_tanh);
        linear(m, m->mid, T, m->inter, L->wout, L->bout, H, m->tmp);
        add_layernorm(m->x, m->tmp, T, H, L->ln2_g, L->ln2_b, m->eps);
    }
    if (tokens) {
        memcpy(out, m->x, T * H * sizeof *out);
        goto done;
    }
    /* pooling and normalisation */
#pragma omp parallel for schedule(static)
    for (s_ = 0; s_ < (long)n; s_++) {
        size_t s = (size_t)s_;
        float *o = out + s * H;
        if (m->cls_pool) {
            memcpy(o, m->x + off[s] * H, H * sizeof *o);
        } else {
            for (size_t c = 0; c < H; c++)
                o[c] = 0;
            for (size_t i = 0; i < lens[s]; i++) {
                const float *row = m->x + (off[s] + i) * H;
                for (size_t c = 0; c < H; c++)
                    o[c] += row[c];
            }
            for (size_t c = 0; c < H; c++)
                o[c] /= (float)lens[s];
        }
        double nn = 0;
        for (size_t c = 0; c < H; c++)
            nn += (double)o[c] * o[c];
        float inv = nn > 0 ? (float)(1.0 / sqrt(nn)) : 0;
        for (size_t c = 0; c < H; c++)
            o[c] *= inv;
    }
done:
    free(off);
    return st;
}

int vs_bert_forward(struct vs_bert *m, size_t n, const int32_t *const *ids,
                    const size_t *lens, float *out)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i, T = 0;
        while (j < n && (j == i || T + lens[j] <= BERT_BATCH_TOKENS)) {
            T += lens[j];
            j++;
        }
        int st = forward_batch(m, j - i, ids + i, NULL, lens + i, NULL, out + i * m->hidden, 0);
        if (st != VS_OK)
            return st;
        i = j;
    }
    return VS_OK;
}

int vs_bert_forward_tokens(struct vs_bert *m, size_t n, const int32_t *const *ids,
                           const int32_t *const *types, const size_t *lens,
                           const size_t *klens, float *out)
{
    size_t i = 0, done = 0;
    while (i < n) {
        size_t j = i, T = 0;
        while (j < n && (j == i || T + lens[j] <= BERT_BATCH_TOKENS)) {
            T += lens[j];
            j++;
        }
        int st = forward_batch(m, j - i, ids + i, types ? types + i : NULL, lens + i,
                               klens ? klens + i : NULL, out + done * m->hidden, 1);
        if (st != VS_OK)
            return st;
        done += T;
        i = j;
    }
    return VS_OK;
}

size_t vs_bert_types(const struct vs_bert *m) { return m->types; }
struct vs_wordpiece *vs_bert_wordpiece(const struct vs_bert *m) { return m->wp; }

int vs_bert_embed(struct vs_bert *m, const char *prefix, size_t n,
                  const char *const *texts, const size_t *lens, float *out,
                  int *st, int *truncated)
{
    int rc = VS_OK;
    size_t plen = prefix ? strlen(prefix) : 0, ml = m->max_len, H = m->hidden;
    int32_t *idbuf = malloc((n ? n : 1) * ml * sizeof *idbuf);
    const int32_t **rows = malloc((n ? n : 1) * sizeof *rows);
    size_t *nids = malloc((n ? n : 1) * sizeof *nids), *which = malloc((n ? n : 1) * sizeof *which);
    float *vec = malloc((n ? n : 1) * H * sizeof *vec);
    char *cat = NULL;
    size_t catcap = 0, k = 0;
    if (!idbuf || !rows || !nids || !which || !vec) {
        rc = VS_E_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const char *t = texts[i];
        size_t tl = lens[i];
        memset(out + i * H, 0, H * sizeof *out);
        if (truncated)
            truncated[i] = 0;
        if (plen) {
            if (catcap < plen + tl + 1) {
                char *p = realloc(cat, plen + tl + 1);
                if (!p) {
                    rc = VS_E_NOMEM;
                    goto done;
                }
                cat = p;
                catcap = plen + tl + 1;
            }
            memcpy(cat, prefix, plen);
            memcpy(cat + plen, t, tl);
            t = cat;
            tl += plen;
        }
        size_t cnt;
        int tr = 0;
        int32_t *ids = idbuf + k * ml;
        int s = vs_wordpiece_encode(m->wp, t, tl, ml, ids, &cnt, &tr, NULL);
        if (s == VS_E_NOMEM) {
            rc = s;
            goto done;
        }
        if (s == VS_OK && (lens[i] == 0 || cnt <= 2))
            s = VS_E_FIELD; /* nothing but [CLS] [SEP] */
        st[i] = s;
        if (s != VS_OK)
            continue;
        if (truncated)
            truncated[i] = tr;
        rows[k] = ids;
        nids[k] = cnt;
        which[k] = i;
        k++;
    }
    rc = vs_bert_forward(m, k, rows, nids, vec);
    if (rc == VS_OK)
        for (size_t j = 0; j < k; j++)
            memcpy(out + which[j] * H, vec + j * H, H * sizeof *out);
done:
    free(cat);
    free(vec);
    free(which);
    free(nids);
    free(rows);
    free(idbuf);
    return rc;
}
