/* rerank_late.c: late interaction (ColBERT-style MaxSim) for vs-rerank.
 *
 * The query and each passage go through the BERT encoder of lib/bert.c
 * separately (passages in packed batches); every token's final hidden state
 * goes through the model's linear projection when it has one
 * ("linear.weight" [D, H], optional "linear.bias" [D]: ColBERT's checkpoint
 * layout) and is L2-normalised. score = sum over the query's tokens of the
 * highest dot product with any passage token. Passage tokens that are a
 * single ASCII punctuation character are left out of the max (ColBERT's
 * punctuation skiplist; artifact.metadata "mask_punctuation": false turns
 * it off).
 *
 * With a projection (a ColBERT model), as ColBERT does: the query gets the
 * marker [unused0] and the passage [unused1] after [CLS] (when the
 * vocabulary has them; artifact.metadata "query_token_id"/"doc_token_id"
 * name others); the query is cut to query_maxlen (32) ids and padded to it
 * with [MASK] (query augmentation), the padding hidden from attention
 * unless "attend_to_mask_tokens" is true, yet scored; the passage is cut to
 * doc_maxlen (180) ids. artifact.metadata (ColBERT's JSON config, optional)
 * may set those; its "similarity" must be "cosine". A bare BERT folder gets
 * no markers and no padding, both cut to the model length. */
#include "rerank_internal.h"
#include "vs_blas.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <cblas.h> /* the Cblas constants; vs_sgemm loads OpenBLAS on first use */
#undef I /* complex.h, pulled in by cblas.h */

#include "vs_bert.h"
#include "vs_safetensors.h"
#include "vs_wordpiece.h"

struct vs_late {
    struct vs_bert *bert;
    const struct vs_wordpiece *wp;
    size_t H, D, maxlen;
    float *pw, *pb;    /* projection [D, H], [D]; NULL: none (D = H) */
    int32_t qmark, dmark; /* marker ids, -1: none */
    int32_t mask;         /* [MASK] id for query padding, -1: no padding */
    size_t qmax, dmax;    /* ids of a query, of a passage */
    int attend_mask, skip_punct;
};

/* ColBERT's artifact.metadata, when the folder has one. */
static int read_meta(struct vs_late *m, const char *dir, const char *name,
                     struct vs_diag *d)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/artifact.metadata", dir);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return VS_OK;
    json_error_t je;
    json_t *j = json_loadf(fp, 0, &je);
    fclose(fp);
    if (!json_is_object(j)) {
        json_decref(j);
        return vs_diag_set(d, VS_E_DATA, "late-interaction model '%s': artifact.metadata "
                           "is not a JSON object", name);
    }
    int st = VS_OK;
    const json_t *v;
    const char *sim = json_string_value(json_object_get(j, "similarity"));
    if (sim && strcmp(sim, "cosine") != 0)
        st = vs_diag_set(d, VS_E_UNSUPPORTED, "late-interaction model '%s': similarity "
                         "'%s' is not supported (cosine is)", name, sim);
    if ((v = json_object_get(j, "query_maxlen")) && json_is_integer(v) &&
        json_integer_value(v) >= 4)
        m->qmax = (size_t)json_integer_value(v);
    if ((v = json_object_get(j, "doc_maxlen")) && json_is_integer(v) &&
        json_integer_value(v) >= 4)
        m->dmax = (size_t)json_integer_value(v);
    if ((v = json_object_get(j, "attend_to_mask_tokens")) && json_is_boolean(v))
        m->attend_mask = json_is_true(v);
    if ((v = json_object_get(j, "mask_punctuation")) && json_is_boolean(v))
        m->skip_punct = json_is_true(v);
    const char *qt = json_string_value(json_object_get(j, "query_token_id"));
    const char *dt = json_string_value(json_object_get(j, "doc_token_id"));
    if (st == VS_OK && m->pw && qt && dt) {
        m->qmark = vs_wordpiece_id(m->wp, qt);
        m->dmark = vs_wordpiece_id(m->wp, dt);
        if (m->qmark < 0 || m->dmark < 0)
            st = vs_diag_set(d, VS_E_DATA, "late-interaction model '%s': marker '%s' or "
                             "'%s' is not in vocab.txt", name, qt, dt);
    }
    json_decref(j);
    return st;
}

void vs_rerank_late_free(struct vs_late *m)
{
    if (!m)
        return;
    free(m->pw);
    free(m->pb);
    vs_bert_free(m->bert);
    free(m);
}

int vs_rerank_late_open(const char *name, struct vs_late **out, struct vs_diag *d)
{
    *out = NULL;
    char dir[1024], path[1200];
    struct vs_late *m = calloc(1, sizeof *m);
    struct vs_safetensors *st = NULL;
    int rc;
    if (!m)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    m->qmark = m->dmark = m->mask = -1;
    m->skip_punct = 1;
    if ((rc = vs_rerank_bert_open("late-interaction model", name, dir, sizeof dir,
                                  &m->bert, d)))
        goto fail;
    m->wp = vs_bert_wordpiece(m->bert);
    m->H = m->D = vs_bert_dim(m->bert);
    m->maxlen = vs_bert_max_len(m->bert);
    if (m->maxlen < 4) {
        rc = vs_diag_set(d, VS_E_DATA, "late-interaction model '%s': fewer than 4 positions",
                         name);
        goto fail;
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if ((rc = vs_safetensors_open(path, &st, d)) != VS_OK)
        goto fail;
    size_t dims[VS_SAFETENSORS_MAX_DIMS];
    int nd = vs_safetensors_shape(st, "linear.weight", dims);
    if (nd >= 0) {
        if (nd != 2 || dims[1] != m->H || dims[0] == 0 || dims[0] > 65536) {
            rc = vs_diag_set(d, VS_E_DATA, "late-interaction model '%s': linear.weight "
                             "must be [D, %zu]", name, m->H);
            goto fail;
        }
        m->D = dims[0];
        if ((rc = vs_rerank_load_f32(st, "", "linear.weight", 2, m->D, m->H, &m->pw, d)))
            goto fail;
        if (vs_safetensors_shape(st, "linear.bias", dims) >= 0 &&
            (rc = vs_rerank_load_f32(st, "", "linear.bias", 1, m->D, 0, &m->pb, d)))
            goto fail;
        m->qmark = vs_wordpiece_id(m->wp, "[unused0]");
        m->dmark = vs_wordpiece_id(m->wp, "[unused1]");
        if (m->qmark < 0 || m->dmark < 0)
            m->qmark = m->dmark = -1;
        m->mask = vs_wordpiece_id(m->wp, "[MASK]");
        m->qmax = 32;
        m->dmax = 180;
    }
    if ((rc = read_meta(m, dir, name, d)) != VS_OK)
        goto fail;
    if (!m->qmax || m->qmax > m->maxlen)
        m->qmax = m->maxlen;
    if (!m->dmax || m->dmax > m->maxlen)
        m->dmax = m->maxlen;
    vs_safetensors_close(st);
    *out = m;
    return VS_OK;
fail:
    vs_safetensors_close(st);
    vs_rerank_late_free(m);
    return rc;
}

/* [CLS] (marker) pieces [SEP] into ids (room for max ids). */
static int encode(const struct vs_late *m, const char *text, int32_t mark, size_t max,
                  int32_t *ids, size_t *n, int *trunc)
{
    size_t ml = max - (mark >= 0);
    int st = vs_wordpiece_encode(m->wp, text, strlen(text), ml, ids, n, trunc, NULL);
    if (st != VS_OK || mark < 0)
        return st;
    memmove(ids + 2, ids + 1, (*n - 1) * sizeof *ids);
    ids[1] = mark;
    (*n)++;
    return VS_OK;
}

/* Rows [0, T) of tok (H wide) into emb (D wide): projection, then unit length. */
static void project(const struct vs_late *m, const float *tok, size_t T, float *emb)
{
    size_t H = m->H, D = m->D;
    if (m->pw) {
        for (size_t t = 0; t < T; t++) {
            if (m->pb)
                memcpy(emb + t * D, m->pb, D * sizeof *emb);
            else
                memset(emb + t * D, 0, D * sizeof *emb);
        }
        vs_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)D, (int)H, 1.0f,
                    tok, (int)H, m->pw, (int)H, 1.0f, emb, (int)D);
    } else {
        memcpy(emb, tok, T * H * sizeof *emb);
    }
    for (size_t t = 0; t < T; t++) {
        float *e = emb + t * D;
        double nn = 0;
        for (size_t c = 0; c < D; c++)
            nn += (double)e[c] * e[c];
        float inv = nn > 0 ? (float)(1.0 / sqrt(nn)) : 0.0f;
        for (size_t c = 0; c < D; c++)
            e[c] *= inv;
    }
}

static int is_punct(const struct vs_late *m, int32_t id)
{
    const char *t = vs_wordpiece_token(m->wp, id);
    return m->skip_punct && t && t[0] && !t[1] && ((t[0] >= '!' && t[0] <= '/') || (t[0] >= ':' && t[0] <= '@') ||
                                  (t[0] >= '[' && t[0] <= '`') || (t[0] >= '{' && t[0] <= '~'));
}

int vs_rerank_late_score(struct vs_late *m, const char *query, const char *const *docs,
                         size_t n, int threads, double *scores, size_t *ntrunc,
                         struct vs_diag *d)
{
    size_t ml = m->maxlen, H = m->H, D = m->D, B = VS_RERANK_CROSS_BATCH;
    int32_t *qids = malloc(ml * sizeof *qids), *ids = malloc(B * ml * sizeof *ids);
    const int32_t **rid = malloc(B * sizeof *rid);
    size_t *lens = malloc(B * sizeof *lens), *which = malloc(B * sizeof *which);
    float *tok = malloc(B * ml * H * sizeof *tok), *emb = malloc(B * ml * D * sizeof *emb);
    float *qemb = malloc(ml * D * sizeof *qemb), *sim = malloc(ml * ml * sizeof *sim);
    size_t nq = 0, trunc = 0;
    long bad = -1;
    int st = VS_OK, tq = 0;
    if (!qids || !ids || !rid || !lens || !which || !tok || !emb || !qemb || !sim) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    vs_bert_set_threads(threads);
    if ((st = encode(m, query, m->qmark, m->qmax, qids, &nq, &tq)) != VS_OK) {
        st = vs_diag_set(d, st, st == VS_E_DATA ? "the query is not valid UTF-8"
                                                : "out of memory");
        goto done;
    }
    size_t qkeys = nq; /* query augmentation: [MASK] up to qmax, hidden as keys */
    while (m->mask >= 0 && nq < m->qmax)
        qids[nq++] = m->mask;
    if (m->attend_mask)
        qkeys = nq;
    const int32_t *qrow = qids;
    if ((st = vs_bert_forward_tokens(m->bert, 1, &qrow, NULL, &nq, &qkeys, tok)) != VS_OK) {
        st = vs_diag_set(d, st, "out of memory");
        goto done;
    }
    project(m, tok, nq, qemb);
    for (size_t i0 = 0; i0 < n; i0 += B) {
        size_t nb = 0, T = 0;
        for (size_t i = i0; i < n && i < i0 + B; i++) {
            int td = 0;
            scores[i] = 0;
            int e = encode(m, docs[i], m->dmark, m->dmax, ids + nb * ml, &lens[nb], &td);
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
            T += lens[nb];
            which[nb++] = i;
        }
        if (nb == 0)
            continue;
        if ((st = vs_bert_forward_tokens(m->bert, nb, rid, NULL, lens, NULL, tok)) != VS_OK) {
            st = vs_diag_set(d, st, "out of memory");
            goto done;
        }
        project(m, tok, T, emb);
        size_t off = 0;
        for (size_t b = 0; b < nb; b++) {
            size_t L = lens[b];
            /* sim[nq, L] = qemb . docemb^T */
            vs_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nq, (int)L, (int)D,
                        1.0f, qemb, (int)D, emb + off * D, (int)D, 0.0f, sim, (int)L);
            double total = 0;
            for (size_t qi = 0; qi < nq; qi++) {
                float best = -INFINITY;
                for (size_t j = 0; j < L; j++)
                    if (sim[qi * L + j] > best && !is_punct(m, rid[b][j]))
                        best = sim[qi * L + j];
                total += best > -INFINITY ? best : 0.0f;
            }
            scores[which[b]] = total;
            off += L;
        }
    }
    if (bad >= 0)
        st = vs_diag_set(d, VS_E_DATA, "hit %ld of the query: text is not valid UTF-8",
                         bad + 1);
    if (ntrunc)
        *ntrunc = trunc;
done:
    free(sim);
    free(qemb);
    free(emb);
    free(tok);
    free(which);
    free(lens);
    free(rid);
    free(ids);
    free(qids);
    return st;
}
