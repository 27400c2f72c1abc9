/* eval_rag.c: RAG measures from an LLM judge behind an OpenAI-compatible
 * chat completions endpoint (faithfulness, answer relevance, context
 * precision, context recall). The prompts are fixed text documented in
 * docs/eval.md; the judge answers in JSON that is parsed here. */
#include "eval_internal.h"
#include "vs_http.h"
#include "vs_ndjson.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *measure;
    const char *prompt;
} prompts[] = {
    {"faithfulness",
     "TASK: faithfulness\n"
     "Break the ANSWER into short, standalone factual claims. For each claim "
     "decide whether it can be inferred from the CONTEXTS alone (not from "
     "general knowledge).\n"
     "Reply with JSON only: {\"claims\": [{\"claim\": \"...\", \"supported\": "
     "true or false}]}\n"},
    {"answer_relevance",
     "TASK: answer_relevance\n"
     "Decide whether the ANSWER directly and completely addresses the "
     "QUESTION. Do not judge whether it is true.\n"
     "Reply with JSON only: {\"verdict\": \"yes\" or \"partial\" or \"no\", "
     "\"reason\": \"...\"}\n"},
    {"context_precision",
     "TASK: context_precision\n"
     "For each numbered CONTEXT, in order, decide whether it is useful for "
     "arriving at the REFERENCE answer (or the ANSWER when there is no "
     "reference).\n"
     "Reply with JSON only: {\"verdicts\": [1 or 0 for each context, in "
     "order]}\n"},
    {"context_recall",
     "TASK: context_recall\n"
     "Break the REFERENCE answer into short statements. For each statement "
     "decide whether it can be attributed to the CONTEXTS.\n"
     "Reply with JSON only: {\"statements\": [{\"statement\": \"...\", "
     "\"attributed\": true or false}]}\n"},
};

static const char system_prompt[] =
    "You are a strict evaluator of question answering systems. Follow the "
    "task exactly and reply with the JSON object asked for, nothing else.";

const char *vs_eval_judge_prompt(const char *measure)
{
    for (size_t i = 0; i < sizeof prompts / sizeof prompts[0]; i++)
        if (strcmp(prompts[i].measure, measure) == 0)
            return prompts[i].prompt;
    return NULL;
}

struct vs_eval_judge {
    struct vs_http *http;
    char *url, *model, *auth;
    const char *key; /* borrowed, only to scrub messages */
};

int vs_eval_judge_new(const struct vs_eval_judge_opts *o,
                      struct vs_eval_judge **out, struct vs_diag *d)
{
    *out = NULL;
    if (!o->url || !o->model)
        return vs_diag_set(d, VS_E_USAGE, "the judge needs a URL and a model");
    struct vs_eval_judge *j = calloc(1, sizeof *j);
    if (!j)
        return VS_E_NOMEM;
    size_t ul = strlen(o->url);
    const char *suffix = "/chat/completions";
    int append = !(ul >= strlen(suffix) && strcmp(o->url + ul - strlen(suffix), suffix) == 0);
    size_t n = ul + (append ? strlen(suffix) : 0) + 1;
    j->url = malloc(n);
    j->model = strdup(o->model);
    if (!j->url || !j->model)
        goto oom;
    snprintf(j->url, n, "%.*s%s", (int)(append && ul && o->url[ul - 1] == '/' ? ul - 1 : ul),
             o->url, append ? suffix : "");
    if (o->key && *o->key) {
        size_t al = strlen(o->key) + 32;
        if (!(j->auth = malloc(al)))
            goto oom;
        snprintf(j->auth, al, "Authorization: Bearer %s", o->key);
        j->key = o->key;
    }
    struct vs_http_opts ho;
    vs_http_opts_init(&ho);
    if (o->timeout_ms > 0)
        ho.timeout_ms = o->timeout_ms;
    ho.max_retries = o->max_retries;
    ho.rpm = o->rpm;
    int st = vs_http_new(&ho, &j->http, d);
    if (st != VS_OK) {
        vs_eval_judge_free(j);
        return st;
    }
    *out = j;
    return VS_OK;
oom:
    vs_eval_judge_free(j);
    return VS_E_NOMEM;
}

void vs_eval_judge_free(struct vs_eval_judge *j)
{
    if (!j)
        return;
    vs_http_free(j->http);
    if (j->auth) {
        memset(j->auth, 0, strlen(j->auth));
        free(j->auth);
    }
    free(j->url);
    free(j->model);
    free(j);
}

void vs_eval_judge_counts(const struct vs_eval_judge *j, long *requests,
                          long *retries)
{
    vs_http_counts(j ? j->http : NULL, requests, retries);
}

/* Replace every occurrence of the key in d->detail by "***". */
static void scrub(const struct vs_eval_judge *j, struct vs_diag *d)
{
    if (!d || !j->key || strlen(j->key) < 4)
        return;
    char *p;
    size_t kl = strlen(j->key);
    while ((p = strstr(d->detail, j->key))) {
        memmove(p + 3, p + kl, strlen(p + kl) + 1);
        memcpy(p, "***", 3);
    }
}

/* Ask the judge; *content gets the reply text (malloc'd). */
static int ask(struct vs_eval_judge *j, const char *user, char **content,
               struct vs_diag *d)
{
    *content = NULL;
    json_t *req = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}], s:i}",
                            "model", j->model, "messages", "role", "system",
                            "content", system_prompt, "role", "user",
                            "content", user, "temperature", 0);
    if (!req)
        return VS_E_NOMEM;
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!body)
        return VS_E_NOMEM;
    const char *hdr[2] = {j->auth, NULL};
    struct vs_http_response resp;
    int st = vs_http_post_json(j->http, j->url, j->auth ? hdr : NULL, body,
                               strlen(body), &resp, d);
    free(body);
    if (st != VS_OK) {
        vs_http_response_release(&resp);
        scrub(j, d);
        return st;
    }
    json_error_t je;
    json_t *r = json_loadb(resp.body, resp.len, 0, &je);
    vs_http_response_release(&resp);
    const char *c = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(r, "choices"), 0), "message"),
        "content"));
    if (!c) {
        json_decref(r);
        return vs_diag_set(d, VS_E_REMOTE, "the judge's reply has no "
                           "choices[0].message.content");
    }
    *content = strdup(c);
    json_decref(r);
    return *content ? VS_OK : VS_E_NOMEM;
}

/* The JSON object inside a reply (code fences and prose around it are
 * ignored). New reference or NULL. */
static json_t *reply_json(const char *content)
{
    const char *a = strchr(content, '{'), *b = strrchr(content, '}');
    if (!a || !b || b < a)
        return NULL;
    return json_loadb(a, (size_t)(b - a + 1), 0, NULL);
}

static int bad_reply(const char *measure, struct vs_diag *d)
{
    return vs_diag_set(d, VS_E_REMOTE, "the judge's %s reply is not the JSON "
                       "asked for", measure);
}

/* Fraction of items whose boolean `key` is true; -1 when there are none. */
static int fraction(const json_t *arr, const char *key, double *out)
{
    if (!json_is_array(arr))
        return -1;
    size_t n = json_array_size(arr), yes = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(json_array_get(arr, i), key);
        if (!json_is_boolean(v))
            return -1;
        yes += json_is_true(v);
    }
    *out = n ? (double)yes / (double)n : -1;
    return 0;
}

static int score_reply(const char *measure, const char *content, size_t ncontexts,
                       double *score, int *present, struct vs_diag *d)
{
    json_t *o = reply_json(content);
    int st = VS_OK;
    *present = 1;
    if (!o)
        return bad_reply(measure, d);
    if (strcmp(measure, "faithfulness") == 0 || strcmp(measure, "context_recall") == 0) {
        int f = strcmp(measure, "faithfulness") == 0;
        if (fraction(json_object_get(o, f ? "claims" : "statements"),
                     f ? "supported" : "attributed", score))
            st = bad_reply(measure, d);
        else if (*score < 0)
            *present = 0; /* nothing to check: no value */
    } else if (strcmp(measure, "answer_relevance") == 0) {
        const char *v = json_string_value(json_object_get(o, "verdict"));
        if (v && strcmp(v, "yes") == 0)
            *score = 1;
        else if (v && strcmp(v, "partial") == 0)
            *score = 0.5;
        else if (v && strcmp(v, "no") == 0)
            *score = 0;
        else
            st = bad_reply(measure, d);
    } else {
        json_t *v = json_object_get(o, "verdicts");
        if (!json_is_array(v) || json_array_size(v) != ncontexts)
            st = vs_diag_set(d, VS_E_REMOTE, "the judge gave %zu context verdicts "
                             "for %zu contexts", json_array_size(v), ncontexts);
        else {
            /* average precision over the ranked contexts */
            double sum = 0;
            size_t rel = 0;
            for (size_t i = 0; i < ncontexts && st == VS_OK; i++) {
                json_t *x = json_array_get(v, i);
                int yes = json_is_true(x) || (json_is_integer(x) && json_integer_value(x) == 1);
                if (!yes && !json_is_false(x) && !(json_is_integer(x) && json_integer_value(x) == 0))
                    st = bad_reply(measure, d);
                if (yes) {
                    rel++;
                    sum += (double)rel / (double)(i + 1);
                }
            }
            *score = rel ? sum / (double)rel : 0;
        }
    }
    json_decref(o);
    return st;
}

int vs_eval_judge_record(struct vs_eval_judge *j, const json_t *rec,
                         json_t **scores, json_t **raw, struct vs_diag *d)
{
    *scores = *raw = NULL;
    const char *q = json_string_value(json_object_get(rec, "question"));
    const char *a = json_string_value(json_object_get(rec, "answer"));
    const json_t *ctx = json_object_get(rec, "contexts");
    const json_t *refv = json_object_get(rec, "reference");
    const char *ref = json_string_value(refv);
    if (!q || !a || !json_is_array(ctx) || (refv && !ref && !json_is_null(refv))) {
        vs_diag_field(d, "%s", !q ? "question" : !a ? "answer" : !json_is_array(ctx) ? "contexts" : "reference");
        return vs_diag_set(d, VS_E_FIELD, "a RAG record needs string 'question', "
                           "string 'answer', an array 'contexts' and optionally "
                           "a string 'reference'");
    }
    char *base = NULL;
    size_t len = 0, cap = 0;
    int st = vs_eval_appendf(&base, &len, &cap, "\nQUESTION:\n%s\n\nCONTEXTS:\n", q);
    size_t i;
    json_t *c;
    json_array_foreach(ctx, i, c) {
        const char *t = json_is_string(c) ? json_string_value(c)
                                          : json_string_value(json_object_get(c, "text"));
        if (!t) {
            free(base);
            vs_diag_field(d, "contexts[%zu]", i);
            return vs_diag_set(d, VS_E_FIELD, "a context must be a string or an "
                               "object with a string 'text'");
        }
        if (st == VS_OK)
            st = vs_eval_appendf(&base, &len, &cap, "[%zu] %s\n", i + 1, t);
    }
    if (st == VS_OK)
        st = vs_eval_appendf(&base, &len, &cap, "\nANSWER:\n%s\n", a);
    if (st == VS_OK && ref)
        st = vs_eval_appendf(&base, &len, &cap, "\nREFERENCE:\n%s\n", ref);
    if (st != VS_OK) {
        free(base);
        return st;
    }
    *scores = json_object();
    *raw = json_object();
    for (size_t m = 0; m < sizeof prompts / sizeof prompts[0] && st == VS_OK; m++) {
        const char *name = prompts[m].measure;
        if (strcmp(name, "context_recall") == 0 && !ref)
            continue;
        size_t pl = strlen(prompts[m].prompt) + len + 1;
        char *user = malloc(pl);
        char *content = NULL;
        if (!user) {
            st = VS_E_NOMEM;
            break;
        }
        snprintf(user, pl, "%s%s", prompts[m].prompt, base);
        st = ask(j, user, &content, d);
        free(user);
        if (st != VS_OK)
            break;
        json_object_set_new(*raw, name, json_string(content));
        double s = 0;
        int present = 0;
        st = score_reply(name, content, json_array_size(ctx), &s, &present, d);
        free(content);
        if (st == VS_OK)
            json_object_set_new(*scores, name, present ? json_real(s) : json_null());
    }
    free(base);
    if (st != VS_OK) {
        json_decref(*scores);
        json_decref(*raw);
        *scores = *raw = NULL;
    }
    return st;
}

static const char *const rag_names[] = {"faithfulness", "answer_relevance",
                                        "context_precision", "context_recall"};

int vs_eval_judge_file(struct vs_eval_judge *j, const char *path,
                       struct vs_eval_result *res, json_t *explain,
                       struct vs_diag *d)
{
    struct vs_ndjson_reader *rd = NULL;
    int st = vs_ndjson_open(path, 0, &rd, d);
    if (st != VS_OK)
        return st;
    for (;;) {
        json_t *rec = NULL, *scores = NULL, *raw = NULL;
        if ((st = vs_ndjson_read(rd, &rec, d)) != VS_OK || !rec)
            break;
        char qid[32];
        const char *id = json_string_value(json_object_get(rec, "id"));
        if (!id)
            id = json_string_value(json_object_get(rec, "qid"));
        if (!id) {
            snprintf(qid, sizeof qid, "%ld", vs_ndjson_line(rd));
            id = qid;
        }
        st = vs_eval_judge_record(j, rec, &scores, &raw, d);
        if (st != VS_OK) {
            vs_diag_where(d, vs_ndjson_name(rd), vs_ndjson_line(rd));
            json_decref(rec);
            break;
        }
        double v[4];
        int present[4];
        for (int i = 0; i < 4; i++) {
            json_t *x = json_object_get(scores, rag_names[i]);
            present[i] = json_is_number(x);
            v[i] = present[i] ? json_number_value(x) : 0;
        }
        st = vs_eval_result_add_row(res, id, rag_names, v, present, 4);
        if (st == VS_OK && explain && json_array_append(explain, raw))
            st = VS_E_NOMEM;
        json_decref(scores);
        json_decref(raw);
        json_decref(rec);
        if (st != VS_OK)
            break;
    }
    vs_ndjson_close(rd);
    return st;
}
