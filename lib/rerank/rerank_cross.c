/* rerank_cross.c: a BERT-family sequence-pair classifier (cross-encoder)
 * for vs-rerank: pair encoding [CLS] q [SEP] d [SEP] with token types 0/1,
 * truncation that keeps the query and cuts the passage, the BERT encoder of
 * lib/bert.c (packed batches of pairs, OpenBLAS + OpenMP), then the pooler
 * (dense + tanh on [CLS]) and a classifier head; the score is logit 0,
 * optionally through a sigmoid. */
#include "rerank_internal.h"
#include "vs_blas.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cblas.h> /* the Cblas constants; vs_sgemm loads OpenBLAS on first use */
#undef I /* complex.h, pulled in by cblas.h */

#include "vs_bert.h"
#include "vs_safetensors.h"
#include "vs_wordpiece.h"

struct vs_cross {
    struct vs_bert *bert;
    const struct vs_wordpiece *wp; /* the encoder's */
    size_t H, labels, maxlen;
    float *pw, *pb, *cw, *cb;      /* pooler [H, H], [H]; classifier [labels, H], [labels] */
    int32_t sep;
};

void vs_rerank_model_dir(const char *name, char *buf, size_t size)
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

int vs_rerank_bert_open(const char *kind, const char *name, char *dir, size_t dirsz,
                        struct vs_bert **bert, struct vs_diag *d)
{
    vs_rerank_model_dir(name, dir, dirsz);
    int rc = vs_bert_open(dir, bert, d);
    if (rc != VS_OK) {
        char det[sizeof d->detail];
        snprintf(det, sizeof det, "%s", d ? d->detail : "");
        vs_diag_set(d, rc, "%s '%s': %.900s", kind, name, det);
    }
    return rc;
}

int vs_rerank_load_f32(struct vs_safetensors *st, const char *prefix, const char *name,
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
    free(m->pw);
    free(m->pb);
    free(m->cw);
    free(m->cb);
    vs_bert_free(m->bert);
    free(m);
}

int vs_rerank_cross_open(const char *name, struct vs_cross **out, struct vs_diag *d)
{
    *out = NULL;
    char dir[1024], path[1200];
    struct vs_cross *m = calloc(1, sizeof *m);
    struct vs_safetensors *st = NULL;
    json_t *cfg = NULL;
    int rc;
    if (!m)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    if ((rc = vs_rerank_bert_open("cross-encoder", name, dir, sizeof dir, &m->bert, d)))
        goto fail;
    m->wp = vs_bert_wordpiece(m->bert);
    m->H = vs_bert_dim(m->bert);
    m->maxlen = vs_bert_max_len(m->bert);
    m->sep = vs_wordpiece_id(m->wp, "[SEP]");
    if (vs_bert_types(m->bert) < 2 || m->maxlen < 4 || m->sep < 0 ||
        vs_wordpiece_id(m->wp, "[CLS]") < 0) {
        rc = vs_diag_set(d, VS_E_DATA, "cross-encoder '%s': fewer than 2 token types, "
                         "max_position_embeddings < 4, or no [CLS]/[SEP] in vocab.txt", name);
        goto fail;
    }
    snprintf(path, sizeof path, "%s/config.json", dir);
    json_error_t je;
    if (!(cfg = json_load_file(path, 0, &je))) {
        rc = vs_diag_set(d, VS_E_IO, "cross-encoder '%s': cannot read %s: %s", name,
                         path, je.text);
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
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if ((rc = vs_safetensors_open(path, &st, d)) != VS_OK)
        goto fail;
    size_t dims[VS_SAFETENSORS_MAX_DIMS];
    const char *pre = vs_safetensors_shape(st, "bert.pooler.dense.weight", dims) > 0
                          ? "bert." : "";
    size_t H = m->H;
    if ((rc = vs_rerank_load_f32(st, pre, "pooler.dense.weight", 2, H, H, &m->pw, d)) ||
        (rc = vs_rerank_load_f32(st, pre, "pooler.dense.bias", 1, H, 0, &m->pb, d)) ||
        (rc = vs_rerank_load_f32(st, "", "classifier.weight", 2, m->labels, H, &m->cw, d)) ||
        (rc = vs_rerank_load_f32(st, "", "classifier.bias", 1, m->labels, 0, &m->cb, d)))
        goto fail;
    vs_safetensors_close(st);
    json_decref(cfg);
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
    return m->maxlen;
}

/* Pair ids and types into ids/tt (room for maxlen): [CLS] q [SEP] (qids,
 * nq of them, [CLS] and [SEP] included) then the passage pieces that fit
 * and [SEP]. Returns VS_OK or VS_E_DATA (not UTF-8), VS_E_NOMEM. */
static int encode_pair(const struct vs_cross *m, const int32_t *qids, size_t nq,
                       const char *doc, int32_t *dids, int32_t *ids, int32_t *tt,
                       size_t *T, int *truncated)
{
    size_t nd, room = m->maxlen - nq - 1; /* pieces of the passage that fit, >= 1 */
    int td = 0;
    int st = vs_wordpiece_encode(m->wp, doc, strlen(doc), room + 2, dids, &nd, &td, NULL);
    if (st != VS_OK)
        return st;
    size_t n = 0;
    for (size_t i = 0; i < nq; i++) {
        ids[n] = qids[i];
        tt[n++] = 0;
    }
    for (size_t i = 1; i + 1 < nd; i++) {
        ids[n] = dids[i];
        tt[n++] = 1;
    }
    ids[n] = m->sep;
    tt[n++] = 1;
    *T = n;
    *truncated = td;
    return VS_OK;
}

int vs_rerank_cross_score(struct vs_cross *m, const char *query,
                          const char *const *docs, size_t n, int sigmoid,
                          int threads, double *scores, size_t *ntrunc,
                          struct vs_diag *d)
{
    size_t ml = m->maxlen, H = m->H, B = VS_RERANK_CROSS_BATCH;
    int32_t *qids = malloc(ml * sizeof *qids), *dids = malloc((ml + 2) * sizeof *dids);
    int32_t *ids = malloc(B * ml * sizeof *ids), *tt = malloc(B * ml * sizeof *tt);
    const int32_t **rid = malloc(B * sizeof *rid), **rtt = malloc(B * sizeof *rtt);
    size_t *lens = malloc(B * sizeof *lens), *which = malloc(B * sizeof *which);
    float *tok = malloc(B * ml * H * sizeof *tok), *cls = malloc(B * H * sizeof *cls);
    float *pooled = malloc(B * H * sizeof *pooled);
    size_t nq = 0, trunc = 0;
    long bad = -1;
    int st = VS_OK, tq = 0;
    if (!qids || !dids || !ids || !tt || !rid || !rtt || !lens || !which || !tok || !cls ||
        !pooled) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    vs_bert_set_threads(threads);
    if ((st = vs_wordpiece_encode(m->wp, query, strlen(query), ml - 2, qids, &nq, &tq,
                                  NULL)) != VS_OK) {
        if (st == VS_E_DATA)
            st = vs_diag_set(d, st, "the query is not valid UTF-8");
        else
            st = vs_diag_set(d, st, "out of memory");
        goto done;
    }
    for (size_t i0 = 0; i0 < n; i0 += B) {
        size_t nb = 0;
        for (size_t i = i0; i < n && i < i0 + B; i++) {
            size_t T;
            int td;
            scores[i] = 0;
            int e = encode_pair(m, qids, nq, docs[i], dids, ids + nb * ml, tt + nb * ml, &T, &td);
            if (e == VS_E_NOMEM) {
                st = vs_diag_set(d, e, "out of memory");
                goto done;
            }
            if (e != VS_OK) {
                if (bad < 0)
                    bad = (long)i;
                continue;
            }
            trunc += (size_t)(td || tq);
            rid[nb] = ids + nb * ml;
            rtt[nb] = tt + nb * ml;
            lens[nb] = T;
            which[nb++] = i;
        }
        if (nb == 0)
            continue;
        if ((st = vs_bert_forward_tokens(m->bert, nb, rid, rtt, lens, NULL, tok)) != VS_OK) {
            st = vs_diag_set(d, st, "out of memory");
            goto done;
        }
        size_t off = 0;
        for (size_t b = 0; b < nb; b++) { /* the [CLS] row of each pair */
            memcpy(cls + b * H, tok + off * H, H * sizeof *cls);
            memcpy(pooled + b * H, m->pb, H * sizeof *pooled);
            off += lens[b];
        }
        vs_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)H, (int)H, 1.0f,
                    cls, (int)H, m->pw, (int)H, 1.0f, pooled, (int)H);
        for (size_t b = 0; b < nb; b++) {
            double logit = m->cb[0];
            for (size_t c = 0; c < H; c++)
                logit += (double)tanhf(pooled[b * H + c]) * m->cw[c];
            scores[which[b]] = sigmoid ? 1.0 / (1.0 + exp(-logit)) : logit;
        }
    }
    if (bad >= 0)
        st = vs_diag_set(d, VS_E_DATA, "hit %ld of the query: text is not valid UTF-8",
                         bad + 1);
    if (ntrunc)
        *ntrunc = trunc;
done:
    free(pooled);
    free(cls);
    free(tok);
    free(which);
    free(lens);
    free(rtt);
    free(rid);
    free(tt);
    free(ids);
    free(dids);
    free(qids);
    return st;
}
