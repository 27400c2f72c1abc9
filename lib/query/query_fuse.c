/* query_fuse.c: fusion of hit streams grouped by qid, and the merge of
 * the hit streams of shards (vs_query_fuse_files, vs_query_merge_files,
 * vs_query_text.h). */
#include "vs_query_text.h"

#include <stdlib.h>
#include <string.h>

#include "query_internal.h"
#include "vs_ndjson.h"

/* Read one stream: by[qid] = array of hits in file order; new qids are
 * appended to order. */
static int read_stream(const char *path, json_t *by, json_t *order,
                       struct vs_diag *d)
{
    struct vs_ndjson_reader *r;
    int st = vs_ndjson_open(path, 0, &r, d);
    if (st != VS_OK)
        return st;
    for (;;) {
        json_t *h;
        st = vs_ndjson_read(r, &h, d);
        if (st != VS_OK || !h)
            break;
        json_t *jq = json_object_get(h, "qid"), *ji = json_object_get(h, "id");
        json_t *js = json_object_get(h, "score");
        const char *bad = NULL, *field = NULL;
        char qbuf[32];
        const char *qid = json_string_value(jq);
        if (json_is_integer(jq)) {
            snprintf(qbuf, sizeof qbuf, "%" JSON_INTEGER_FORMAT, json_integer_value(jq));
            qid = qbuf;
        }
        if (!qid)
            field = "qid", bad = jq ? "must be a string or an integer" : "is missing";
        else if (!json_is_string(ji) && !json_object_get(h, "hits"))
            field = "id", bad = ji ? "must be a string" : "is missing";
        else if (json_is_string(ji) && !json_is_number(js))
            field = "score", bad = js ? "must be a number" : "is missing";
        if (bad) {
            json_decref(h);
            vs_diag_where(d, vs_ndjson_name(r), vs_ndjson_line(r));
            vs_diag_field(d, "%s", field);
            st = vs_diag_set(d, VS_E_FIELD, "%s", bad);
            break;
        }
        json_t *a = json_object_get(by, qid);
        if (!a) {
            a = json_array();
            if (!a || json_object_set_new(by, qid, a) != 0 ||
                json_array_append_new(order, json_string(qid)) != 0) {
                json_decref(h);
                st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
                break;
            }
        }
        if (json_is_string(ji)) /* a "hits": 0 record adds the qid only */
            json_array_append(a, h);
        json_decref(h);
    }
    vs_ndjson_close(r);
    return st;
}

int vs_query_fuse_files(const char *const *paths, size_t n,
                        const struct vs_fuse_opts *o, size_t k,
                        int (*emit)(const json_t *hit, void *arg), void *arg,
                        uint64_t *nqueries, uint64_t *nhits, struct vs_diag *d)
{
    int st = VS_OK;
    json_t **by = calloc(n ? n : 1, sizeof *by);
    json_t *order = json_array(), *seen = json_object();
    struct vs_fuse_list *lists = calloc(n ? n : 1, sizeof *lists);
    struct vs_fuse_item **items = calloc(n ? n : 1, sizeof *items);
    uint64_t nq = 0, nh = 0;
    if (!by || !order || !seen || !lists || !items) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n && st == VS_OK; i++) {
        if (!(by[i] = json_object())) {
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            break;
        }
        st = read_stream(paths[i], by[i], order, d);
    }
    size_t qi;
    json_t *jq;
    json_array_foreach(order, qi, jq) {
        if (st != VS_OK)
            break;
        const char *qid = json_string_value(jq);
        if (json_object_get(seen, qid))
            continue;
        json_object_set_new(seen, qid, json_true());
        nq++;
        for (size_t i = 0; i < n && st == VS_OK; i++) {
            json_t *a = json_object_get(by[i], qid);
            size_t m = a ? json_array_size(a) : 0;
            free(items[i]);
            if (!(items[i] = calloc(m + 1, sizeof *items[i]))) {
                st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
                break;
            }
            for (size_t j = 0; j < m; j++) {
                json_t *h = json_array_get(a, j);
                items[i][j].id = json_string_value(json_object_get(h, "id"));
                items[i][j].score = json_number_value(json_object_get(h, "score"));
            }
            lists[i] = (struct vs_fuse_list){items[i], m};
        }
        struct vs_fuse_result *fr = NULL;
        size_t nfr = 0;
        if (st != VS_OK || (st = vs_fuse(lists, n, o, &fr, &nfr, d)) != VS_OK)
            break;
        size_t nout = k && k < nfr ? k : nfr;
        json_t *fusion = o->method == VS_FUSE_RRF
                             ? json_pack("{s:s,s:f}", "method", "rrf", "rrf_k", o->rrf_k)
                             : json_pack("{s:s,s:f}", "method", vs_fuse_method_name(o->method),
                                         "alpha", o->alpha);
        for (size_t j = 0; j < nout && st == VS_OK; j++) {
            json_t *h = json_object(), *sc = json_array(), *rk = json_array();
            json_t *text = NULL, *meta = NULL;
            json_object_set_new(h, "qid", json_string(qid));
            json_object_set_new(h, "id", json_string(fr[j].id));
            json_object_set_new(h, "rank", json_integer((json_int_t)j + 1));
            json_object_set_new(h, "score", json_real(fr[j].score));
            json_object_set(h, "fusion", fusion);
            for (size_t i = 0; i < n; i++) {
                size_t r = fr[j].ranks[i];
                json_array_append_new(sc, r ? json_real(lists[i].items[r - 1].score)
                                            : json_null());
                json_array_append_new(rk, r ? json_integer((json_int_t)r) : json_null());
                json_t *src = r ? json_array_get(json_object_get(by[i], qid), r - 1) : NULL;
                if (src && !text)
                    text = json_object_get(src, "text");
                if (src && !meta)
                    meta = json_object_get(src, "metadata");
            }
            json_object_set_new(h, "scores", sc);
            json_object_set_new(h, "ranks", rk);
            if (text)
                json_object_set(h, "text", text);
            if (meta)
                json_object_set(h, "metadata", meta);
            st = emit(h, arg);
            json_decref(h);
            nh++;
        }
        json_decref(fusion);
        vs_fuse_results_free(fr, nfr);
    }
done:
    for (size_t i = 0; i < n; i++) {
        if (by)
            json_decref(by[i]);
        if (items)
            free(items[i]);
    }
    free(by);
    free(items);
    free(lists);
    json_decref(order);
    json_decref(seen);
    if (nqueries)
        *nqueries = nq;
    if (nhits)
        *nhits = nh;
    return st;
}

struct merge_item {
    json_t *hit; /* borrowed from by[] */
    const char *id;
    double score;
};

static int merge_cmp(const void *a, const void *b)
{
    const struct merge_item *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return strcmp(x->id, y->id);
}

int vs_query_merge_files(const char *const *paths, size_t n, size_t k, const json_t *kmap,
                         int (*emit)(const json_t *hit, void *arg), void *arg,
                         uint64_t *nqueries, uint64_t *nhits, uint64_t *incomparable,
                         struct vs_diag *d)
{
    return vs_query_merge_own(paths, n, k, kmap, NULL, emit, arg, nqueries, nhits,
                              incomparable, d);
}

int vs_query_merge_own(const char *const *paths, size_t n, size_t k, const json_t *kmap,
                       const struct vs_stream_tally *tally,
                       int (*emit)(const json_t *hit, void *arg), void *arg,
                       uint64_t *nqueries, uint64_t *nhits, uint64_t *incomparable,
                       struct vs_diag *d)
{
    int st = VS_OK;
    json_t *by = json_object(), *order = json_array();
    struct merge_item *items = NULL;
    size_t cap = 0;
    uint64_t nq = 0, nh = 0, inc = 0;
    if (!by || !order)
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
    /* one object for all files: a qid's hits of every shard in one array,
     * and each qid once in order */
    for (size_t i = 0; i < n && st == VS_OK; i++)
        st = read_stream(paths[i], by, order, d);
    if (tally) /* the files were the caller's own: not inputs of the process */
        vs_stream_tally_restore(tally);
    size_t qi;
    json_t *jq;
    json_array_foreach(order, qi, jq) {
        if (st != VS_OK)
            break;
        const char *qid = json_string_value(jq);
        nq++;
        json_t *a = json_object_get(by, qid), *jk = kmap ? json_object_get(kmap, qid) : NULL;
        size_t m = json_array_size(a), nout = 0, kq = json_is_integer(jk) ? (size_t)json_integer_value(jk) : k;
        if (m > cap) {
            struct merge_item *p = realloc(items, m * sizeof *items);
            if (!p) {
                st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
                break;
            }
            items = p;
            cap = m;
        }
        for (size_t j = 0; j < m; j++) {
            json_t *h = json_array_get(a, j);
            items[j] = (struct merge_item){h, json_string_value(json_object_get(h, "id")),
                                           json_number_value(json_object_get(h, "score"))};
        }
        if (m > 1) /* items is NULL for a qid with no hit */
            qsort(items, m, sizeof *items, merge_cmp);
        json_t *ids = json_object(); /* the ids written for this qid */
        if (!ids)
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        for (size_t j = 0; j < m && (!kq || nout < kq) && st == VS_OK; j++) {
            if (json_object_get(ids, items[j].id))
                continue; /* seen again (in two shards): the best counts */
            json_object_set_new(ids, items[j].id, json_true());
            json_t *h = json_copy(items[j].hit);
            if (!h || json_object_set_new(h, "rank", json_integer((json_int_t)nout + 1)) != 0) {
                json_decref(h);
                st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
                break;
            }
            inc += json_object_get(h, "bm25") || json_object_get(h, "fusion");
            st = emit(h, arg);
            json_decref(h);
            nout++;
            nh++;
        }
        json_decref(ids);
        if (st == VS_OK && nout == 0) {
            json_t *h = json_pack("{s:s,s:i}", "qid", qid, "hits", 0);
            st = h ? emit(h, arg) : vs_diag_set(d, VS_E_NOMEM, "out of memory");
            json_decref(h);
        }
    }
    free(items);
    json_decref(by);
    json_decref(order);
    if (nqueries)
        *nqueries = nq;
    if (nhits)
        *nhits = nh;
    if (incomparable)
        *incomparable = inc;
    return st;
}
