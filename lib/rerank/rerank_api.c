/* rerank_api.c: the common HTTP rerank request shape (vs_rerank.h, "api"). */
#include "rerank_internal.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vs_ndjson.h"

/* Fill scores from one item list; seen[] marks documents already scored. */
static int read_items(const json_t *items, size_t n, double *scores,
                      unsigned char *seen, struct vs_diag *d)
{
    size_t i;
    const json_t *it;
    json_array_foreach(items, i, it) {
        const json_t *ix = json_object_get(it, "index");
        const json_t *sc = json_object_get(it, "relevance_score");
        if (!sc)
            sc = json_object_get(it, "score");
        if (!json_is_integer(ix) || !json_is_number(sc))
            return vs_diag_set(d, VS_E_REMOTE,
                               "rerank answer: result %zu lacks an integer index "
                               "or a numeric relevance_score", i);
        json_int_t k = json_integer_value(ix);
        if (k < 0 || (size_t)k >= n)
            return vs_diag_set(d, VS_E_REMOTE,
                               "rerank answer: index %lld out of range (%zu documents)",
                               (long long)k, n);
        if (seen[k])
            return vs_diag_set(d, VS_E_REMOTE, "rerank answer: index %lld twice",
                               (long long)k);
        double v = json_number_value(sc);
        if (!isfinite(v))
            return vs_diag_set(d, VS_E_REMOTE, "rerank answer: score not finite");
        seen[k] = 1;
        scores[k] = v;
    }
    for (i = 0; i < n; i++)
        if (!seen[i])
            return vs_diag_set(d, VS_E_REMOTE,
                               "rerank answer: document %zu of %zu not scored", i, n);
    return VS_OK;
}

int vs_rerank_api_call(struct vs_http *h, const char *url, const char *model,
                       const char *api_key, const char *query,
                       const char *const *texts, size_t n, double *scores,
                       struct vs_diag *d)
{
    int st = VS_E_NOMEM;
    json_t *req = json_object(), *docs = json_array(), *ans = NULL;
    char *body = NULL, *auth = NULL;
    unsigned char *seen = calloc(n ? n : 1, 1);
    struct vs_http_response resp = {0};
    if (!req || !docs || !seen)
        goto done;
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(docs, json_string(texts[i])) != 0)
            goto done;
    if ((model && json_object_set_new(req, "model", json_string(model)) != 0) ||
        json_object_set_new(req, "query", json_string(query)) != 0 ||
        json_object_set(req, "documents", docs) != 0 ||
        json_object_set_new(req, "top_n", json_integer((json_int_t)n)) != 0)
        goto done;
    if (!(body = json_dumps(req, JSON_COMPACT)))
        goto done;
    const char *headers[3] = {"Accept: application/json", NULL, NULL};
    if (api_key && *api_key) {
        size_t len = strlen(api_key) + 32;
        if (!(auth = malloc(len)))
            goto done;
        snprintf(auth, len, "Authorization: Bearer %s", api_key);
        headers[1] = auth;
    }
    st = vs_http_post_json(h, url, headers, body, strlen(body), &resp, d);
    if (st != VS_OK)
        goto done;
    json_error_t je;
    ans = json_loadb(resp.body, resp.len, 0, &je);
    const json_t *items = NULL;
    if (json_is_array(ans))
        items = ans;
    else if (json_is_object(ans))
        items = json_object_get(ans, "results");
    if (!json_is_array(items)) {
        st = vs_diag_set(d, VS_E_REMOTE,
                         "rerank answer is not {\"results\": [...]} or an array");
        goto done;
    }
    st = read_items(items, n, scores, seen, d);
done:
    json_decref(ans);
    vs_http_response_release(&resp);
    free(auth);
    free(body);
    free(seen);
    json_decref(docs);
    json_decref(req);
    return st;
}
