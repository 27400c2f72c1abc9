/* sentencepiece.c: the USE-lite SentencePiece unigram tokenizer
 * (vs_sentencepiece.h). */
#include "vs_sentencepiece.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include <xxhash.h>

struct vs_sentencepiece {
    char **piece;
    size_t *plen;      /* bytes */
    size_t *u16len;    /* UTF-16 code units */
    double *score;
    size_t n, maxcp;   /* longest piece in code points */
    int32_t *slot;     /* hash table of ids, -1 empty */
    size_t mask;
};

static int32_t find(const struct vs_sentencepiece *sp, const char *s, size_t len)
{
    size_t h = (size_t)XXH3_64bits(s, len) & sp->mask;
    for (;;) {
        int32_t id = sp->slot[h];
        if (id < 0)
            return -1;
        if (sp->plen[id] == len && memcmp(sp->piece[id], s, len) == 0)
            return id;
        h = (h + 1) & sp->mask;
    }
}

int vs_sentencepiece_open(const char *vocab_json, struct vs_sentencepiece **out,
                          struct vs_diag *d)
{
    *out = NULL;
    json_error_t je;
    json_t *v = json_load_file(vocab_json, 0, &je);
    if (!v)
        return vs_diag_set(d, je.line <= 0 ? VS_E_IO : VS_E_DATA, "%s: %s",
                           vocab_json, je.text);
    int st = VS_OK;
    struct vs_sentencepiece *sp = calloc(1, sizeof *sp);
    size_t n = json_array_size(v);
    if (!sp) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    if (!json_is_array(v) || n == 0 || n > (1u << 24)) {
        st = vs_diag_set(d, VS_E_DATA, "%s: not a non-empty array", vocab_json);
        goto done;
    }
    size_t tsz = 1;
    while (tsz < n * 2)
        tsz <<= 1;
    sp->piece = calloc(n, sizeof *sp->piece);
    sp->plen = calloc(n, sizeof *sp->plen);
    sp->u16len = calloc(n, sizeof *sp->u16len);
    sp->score = calloc(n, sizeof *sp->score);
    sp->slot = malloc(tsz * sizeof *sp->slot);
    if (!sp->piece || !sp->plen || !sp->u16len || !sp->score || !sp->slot) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    memset(sp->slot, 0xff, tsz * sizeof *sp->slot);
    sp->mask = tsz - 1;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(v, i);
        json_t *p = json_array_get(e, 0), *s = json_array_get(e, 1);
        /* a null score counts as 0, as JavaScript's null + number does */
        if (!json_is_string(p) || (!json_is_number(s) && !json_is_null(s))) {
            st = vs_diag_set(d, VS_E_DATA, "%s: entry %zu is not [piece, score]",
                             vocab_json, i);
            goto done;
        }
        size_t len = json_string_length(p);
        sp->piece[i] = malloc(len + 1);
        if (!sp->piece[i]) {
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            goto done;
        }
        memcpy(sp->piece[i], json_string_value(p), len + 1);
        sp->plen[i] = len;
        sp->score[i] = json_is_number(s) ? json_number_value(s) : 0;
        sp->n = i + 1;
        size_t cps = 0, u16 = 0, k = 0;
        while (k < len) {
            utf8proc_int32_t c;
            utf8proc_ssize_t r = utf8proc_iterate((const utf8proc_uint8_t *)sp->piece[i] + k,
                                                  (utf8proc_ssize_t)(len - k), &c);
            if (r <= 0)
                break;
            k += (size_t)r;
            cps++;
            u16 += c > 0xFFFF ? 2 : 1;
        }
        sp->u16len[i] = u16;
        if (cps > sp->maxcp)
            sp->maxcp = cps;
        /* the last of equal pieces wins, as in the runtime's trie */
        size_t h = (size_t)XXH3_64bits(sp->piece[i], len) & sp->mask;
        while (sp->slot[h] >= 0 && !(sp->plen[sp->slot[h]] == len &&
                                     memcmp(sp->piece[sp->slot[h]], sp->piece[i], len) == 0))
            h = (h + 1) & sp->mask;
        sp->slot[h] = (int32_t)i;
    }
done:
    json_decref(v);
    if (st != VS_OK)
        vs_sentencepiece_free(sp);
    else
        *out = sp;
    return st;
}

void vs_sentencepiece_free(struct vs_sentencepiece *sp)
{
    if (!sp)
        return;
    for (size_t i = 0; i < sp->n; i++)
        free(sp->piece[i]);
    free(sp->piece);
    free(sp->plen);
    free(sp->u16len);
    free(sp->score);
    free(sp->slot);
    free(sp);
}

size_t vs_sentencepiece_size(const struct vs_sentencepiece *sp) { return sp->n; }

int vs_sentencepiece_encode(const struct vs_sentencepiece *sp, const char *text,
                            size_t len, int32_t **ids_out, size_t *n_out,
                            struct vs_diag *d)
{
    *ids_out = NULL;
    *n_out = 0;
    int st = VS_OK;
    utf8proc_uint8_t *nfkc = NULL;
    char *buf = NULL;
    size_t *off = NULL;
    double *best = NULL;
    int32_t *words = NULL, *res = NULL;
    utf8proc_ssize_t nl = utf8proc_map((const utf8proc_uint8_t *)text,
                                       (utf8proc_ssize_t)len, &nfkc,
                                       UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                                           UTF8PROC_COMPAT);
    if (nl < 0) {
        if (nl == UTF8PROC_ERROR_NOMEM)
            return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        return vs_diag_set(d, VS_E_DATA, "text is not valid UTF-8");
    }
    if (nl == 0)
        goto done;
    /* "▁" in front, ASCII spaces to "▁" (3 bytes each) */
    buf = malloc((size_t)nl * 3 + 4);
    off = malloc(((size_t)nl + 2) * sizeof *off);
    if (!buf || !off) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    static const char mark[] = "\xe2\x96\x81";
    size_t bl = 0, ns = 0;
    off[ns++] = 0;
    memcpy(buf, mark, 3);
    bl = 3;
    for (utf8proc_ssize_t i = 0; i < nl;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t r = utf8proc_iterate(nfkc + i, nl - i, &c);
        if (r <= 0) {
            st = vs_diag_set(d, VS_E_DATA, "text is not valid UTF-8");
            goto done;
        }
        off[ns++] = bl;
        if (c == ' ') {
            memcpy(buf + bl, mark, 3);
            bl += 3;
        } else {
            memcpy(buf + bl, nfkc + i, (size_t)r);
            bl += (size_t)r;
        }
        i += r;
    }
    off[ns] = bl; /* ns symbols, off[k] = byte start of symbol k */
    best = calloc(ns + 1, sizeof *best);
    words = calloc(ns + 1, sizeof *words);
    res = malloc((ns + 1) * sizeof *res);
    if (!best || !words || !res) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    /* Viterbi: for each end position, the candidates in order of start */
    for (size_t end = 1; end <= ns; end++) {
        size_t lo = end > sp->maxcp ? end - sp->maxcp : 0;
        for (size_t start = lo; start < end; start++) {
            int32_t id = find(sp, buf + off[start], off[end] - off[start]);
            double sc;
            if (id >= 0) {
                sc = sp->score[id];
            } else if (end == start + 1) {
                /* unknown only when no piece at all starts here */
                int any = 0;
                for (size_t e2 = start + 1; e2 <= ns && e2 - start <= sp->maxcp && !any; e2++)
                    any = find(sp, buf + off[start], off[e2] - off[start]) >= 0;
                if (any)
                    continue;
                id = 0;
                sc = 0;
            } else {
                continue;
            }
            double score = sc + best[start];
            if (best[end] == 0 || score >= best[end]) {
                best[end] = score;
                words[end] = id;
            }
        }
    }
    size_t nr = 0;
    long it = (long)ns;
    while (it > 0) {
        res[nr++] = words[it];
        it -= (long)sp->u16len[words[it]];
    }
    /* merge runs of unknown ids, reverse */
    int32_t *ids = malloc((nr ? nr : 1) * sizeof *ids);
    if (!ids) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    size_t m = 0;
    int prev_unk = 0;
    for (size_t i = 0; i < nr; i++) {
        if (!(prev_unk && res[i] == 0))
            ids[m++] = res[i];
        prev_unk = res[i] == 0;
    }
    for (size_t i = 0; i < m / 2; i++) {
        int32_t t = ids[i];
        ids[i] = ids[m - 1 - i];
        ids[m - 1 - i] = t;
    }
    *ids_out = ids;
    *n_out = m;
done:
    free(res);
    free(words);
    free(best);
    free(off);
    free(buf);
    free(nfkc);
    return st;
}
