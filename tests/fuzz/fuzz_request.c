/* fuzz_request.c: libFuzzer target for vs-serve's request handling
 * (routing, body splitting, JSON and NDJSON parsing, query/upsert/delete/
 * snapshot validation) through vs_server_handle, on a small store made at
 * start-up in a temporary directory. Build and run: tests/fuzz/run.sh.
 *
 * Input: byte 0 picks the path, byte 1 the method and whether a key is
 * sent, the rest is the body. Every answer must be a complete response:
 * a body, a status in 200..599, and for errors a JSON object with
 * error.code. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vs_internal.h"
#include "vs_server.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static struct vs_server *srv;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static char dir[] = "/tmp/vs-fuzz-XXXXXX";
    char path[64];
    if (!mkdtemp(dir))
        abort();
    snprintf(path, sizeof path, "%s/kb.vs", dir);
    struct vs_store_settings st = {.dim = 4, .metric = VS_METRIC_COSINE, .normalize = 1};
    struct vs_writer_opts wo = {.create = &st, .wait_s = 0};
    struct vs_writer *w = NULL;
    if (vs_writer_open(path, &wo, &w, NULL) != VS_OK)
        abort();
    for (int i = 0; i < 20; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%d", i);
        float v[4] = {(float)i + 1, 1, (float)(i % 3), 2};
        json_t *rec = json_pack("{s:s,s:{s:i}}", "id", id, "metadata", "i", i);
        vs_writer_upsert(w, rec, v, 4, NULL);
        json_decref(rec);
    }
    if (vs_writer_commit(w, NULL) != VS_OK)
        abort();
    vs_writer_close(w);
    struct vs_server_opts o = {0};
    o.max_batch = 16;
    o.max_k = 50;
    if (vs_server_new(&o, &srv, NULL) != VS_OK || vs_server_add_store(srv, "kb", path, NULL) != VS_OK)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static const char *const paths[] = {
        "/v1/stores/kb/query", "/v1/stores/kb/upsert", "/v1/stores/kb/delete",
        "/v1/stores/kb/snapshot", "/v1/stores/kb", "/v1/stores", "/healthz",
        "/v1/stores/kb/query", "/metrics", "/readyz"};
    if (size < 2)
        return 0;
    const char *path = paths[data[0] % (sizeof paths / sizeof paths[0])];
    const char *method = data[1] & 1 ? "GET" : "POST";
    const char *auth = data[1] & 2 ? "Bearer x" : NULL;
    const char *tp = data[1] & 4 ? (const char *)data + 2 : NULL;
    char *body = malloc(size - 2 + 1);
    memcpy(body, data + 2, size - 2);
    body[size - 2] = 0;
    if (tp)
        tp = body; /* NUL-terminated copy */
    struct vs_server_request rq = {method, path, auth, tp, NULL, body, size - 2, NULL};
    struct vs_server_response r;
    if (vs_server_handle(srv, &rq, &r) != VS_OK || !r.body || r.status < 200 || r.status > 599)
        abort();
    if (r.status >= 400) {
        json_error_t je;
        json_t *e = json_loadb(r.body, r.len, 0, &je);
        if (!json_is_string(json_object_get(json_object_get(e, "error"), "code")))
            abort();
        json_decref(e);
    }
    free(r.body);
    free(body);
    return 0;
}
