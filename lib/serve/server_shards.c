/* server_shards.c: vs-serve's part in a sharded collection: the store
 * answers POST /v1/stores/{name}/shard, the request a coordinator
 * (vs-query --shard URL) sends to each remote shard: the statistics phase
 * and the search phase of vs_qtext_shard_request (lib/query/query_shards.c),
 * on the store's current generation. Called by server.c's router. */
#include "server_internal.h"

#include <string.h>

int vs_srv_shard_path(const char *path)
{
    size_t n = path ? strlen(path) : 0;
    return n > 6 && strcmp(path + n - 6, "/shard") == 0;
}

int vs_srv_shard(struct vs_srv_store *e, const char *body, size_t len, char **out,
                 size_t *outlen, int *is_json, struct vs_diag *d)
{
    *out = NULL;
    *outlen = 0;
    *is_json = 0;
    if (!body || len == 0)
        return vs_diag_set(d, VS_E_DATA, "the body holds no shard request");
    struct vs_srv_gen *g;
    int st = vs_srv_gen_acquire(e, &g, d);
    if (st != VS_OK)
        return st;
    st = vs_qtext_shard_request(g->store, body, len, out, outlen, is_json, d);
    vs_srv_gen_release(e, g);
    if (st == VS_OK) {
        __atomic_add_fetch(&e->queries, 1, __ATOMIC_RELAXED);
    }
    return st;
}
