/* test_server.c: vs-serve's library side without sockets: SHA-256 against
 * the FIPS 180-4 examples, key hashing and lookup, token buckets, routing
 * and endpoints through vs_server_handle, traceparent, concurrent queries
 * during upserts, and random mutations of request bodies (a small fuzz
 * loop: every answer is a JSON error or a success, never a crash). */
#include "test.h"
#include "vs_internal.h"
#include "vs_server.h"

#include <jansson.h>
#include <pthread.h>
#include <unistd.h>

static char tmpdir[256];

static void hex(const unsigned char *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

static void sha_hex(const char *s, size_t n, char out[65])
{
    unsigned char d[32];
    vs_sha256(s, n, d);
    hex(d, 32, out);
}

static void test_sha256_fips_examples(void)
{
    char h[65];
    sha_hex("abc", 3, h);
    CHECK_EQ_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha_hex("", 0, h);
    CHECK_EQ_STR(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *m2 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha_hex(m2, strlen(m2), h);
    CHECK_EQ_STR(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char *a = malloc(1000000);
    memset(a, 'a', 1000000);
    sha_hex(a, 1000000, h);
    CHECK_EQ_STR(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

/* A store of 50 records, dimension 4. */
static void make_store(const char *path)
{
    struct vs_store_settings st = {.dim = 4, .metric = VS_METRIC_COSINE, .normalize = 1};
    struct vs_writer_opts wo = {.create = &st, .wait_s = 0};
    struct vs_writer *w = NULL;
    CHECK_EQ_INT(vs_writer_open(path, &wo, &w, NULL), VS_OK);
    for (int i = 0; i < 50; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%02d", i);
        float v[4] = {(float)(i % 7) + 1, (float)(i % 3), (float)(i % 5), 1};
        json_t *rec = json_pack("{s:s,s:s,s:{s:i}}", "id", id, "text", id, "metadata", "i", i);
        CHECK_EQ_INT(vs_writer_upsert(w, rec, v, 4, NULL), VS_OK);
        json_decref(rec);
    }
    CHECK_EQ_INT(vs_writer_commit(w, NULL), VS_OK);
    vs_writer_close(w);
}

static struct vs_server *new_server(const struct vs_server_opts *o, const char *store)
{
    struct vs_server *srv = NULL;
    struct vs_diag d;
    CHECK_EQ_INT(vs_server_new(o, &srv, &d), VS_OK);
    if (srv && store)
        CHECK_EQ_INT(vs_server_add_store(srv, "kb", store, &d), VS_OK);
    return srv;
}

static int call(struct vs_server *srv, const char *method, const char *path,
                const char *body, const char *auth, const char *tp,
                struct vs_server_response *r)
{
    struct vs_server_request rq = {method, path, auth, tp, NULL, body,
                                   body ? strlen(body) : 0, NULL};
    CHECK_EQ_INT(vs_server_handle(srv, &rq, r), VS_OK);
    CHECK(r->body != NULL);
    return r->status;
}

static json_t *body_json(const struct vs_server_response *r)
{
    json_error_t je;
    return json_loadb(r->body, r->len, 0, &je);
}

static void test_endpoints(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/ep.vs", tmpdir);
    make_store(path);
    struct vs_server_opts o = {0};
    o.max_k = 20;
    struct vs_server *srv = new_server(&o, path);
    struct vs_server_response r;
    CHECK_EQ_INT(call(srv, "GET", "/healthz", NULL, NULL, NULL, &r), 200);
    free(r.body);
    CHECK_EQ_INT(call(srv, "POST", "/healthz", NULL, NULL, NULL, &r), 405);
    free(r.body);
    CHECK_EQ_INT(call(srv, "GET", "/v1/stores/kb", NULL, NULL, NULL, &r), 200);
    json_t *o2 = body_json(&r);
    CHECK_EQ_INT(json_integer_value(json_object_get(o2, "records")), 50);
    json_decref(o2);
    free(r.body);
    CHECK_EQ_INT(call(srv, "POST", "/v1/stores/kb/query",
                      "{\"id\":\"q\",\"vector\":[1,0,0,1],\"k\":3}", NULL, NULL, &r), 200);
    o2 = body_json(&r);
    CHECK_EQ_INT(json_array_size(json_object_get(o2, "hits")), 3);
    json_decref(o2);
    free(r.body);
    CHECK_EQ_INT(call(srv, "POST", "/v1/stores/kb/query",
                      "{\"id\":\"q\",\"vector\":[1,0,0,1],\"k\":21}", NULL, NULL, &r), 400);
    free(r.body);
    /* one record: {"hits":[...]} holds exactly the NDJSON answer's lines,
     * comma-separated (the hits are formatted straight into the body) */
    {
        const char *q = "{\"id\":\"q\",\"vector\":[1,0,0,1],\"k\":3}";
        struct vs_server_request rq = {"POST", "/v1/stores/kb/query", NULL, NULL,
                                       "application/x-ndjson", q, strlen(q), NULL};
        struct vs_server_response nd, js;
        CHECK_EQ_INT(vs_server_handle(srv, &rq, &nd), VS_OK);
        CHECK_EQ_INT(nd.status, 200);
        CHECK_EQ_INT(call(srv, "POST", "/v1/stores/kb/query", q, NULL, NULL, &js), 200);
        char want[4096] = "{\"hits\":[";
        size_t wl = strlen(want);
        for (size_t i = 0; nd.body && i < nd.len && wl + 4 < sizeof want; i++)
            want[wl++] = nd.body[i] == '\n' ? (i + 1 < nd.len ? ',' : ']') : nd.body[i];
        memcpy(want + wl, "}\n", 3);
        wl += 2;
        CHECK_EQ_INT((int)js.len, (int)wl);
        CHECK(js.body && memcmp(js.body, want, wl) == 0);
        free(nd.body);
        free(js.body);
    }
    CHECK_EQ_INT(call(srv, "POST", "/v1/stores/kb/upsert",
                      "{\"id\":\"new\",\"vector\":[0,0,9,0]}\n", NULL, NULL, &r), 200);
    o2 = body_json(&r);
    CHECK_EQ_INT(json_integer_value(json_object_get(o2, "records")), 51);
    CHECK_EQ_INT(json_integer_value(json_object_get(o2, "generation")), 2);
    json_decref(o2);
    free(r.body);
    CHECK_EQ_INT(call(srv, "POST", "/v1/stores/kb/query",
                      "{\"id\":\"q\",\"vector\":[0,0,1,0],\"k\":1}", NULL, NULL, &r), 200);
    CHECK(strstr(r.body, "\"id\":\"new\"") != NULL);
    free(r.body);
    CHECK_EQ_INT(call(srv, "GET", "/metrics", NULL, NULL, NULL, &r), 200);
    CHECK(strstr(r.body, "vs_store_records{store=\"kb\"} 51\n") != NULL);
    CHECK(strstr(r.body, "vs_http_requests_total{endpoint=\"query\",method=\"POST\",status=\"400\"} 1\n") != NULL);
    CHECK(strstr(r.body, "vs_queries_total{store=\"kb\"} 4\n") != NULL);
    CHECK(strstr(r.body, "\nvs_searches_running 0\n") != NULL); /* none now */
    free(r.body);
    CHECK_EQ_INT(call(srv, "GET", "/v1/stores/kb/../kb", NULL, NULL, NULL, &r), 404);
    free(r.body);
    vs_server_free(srv);
}

static void test_deadline(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/dl.vs", tmpdir);
    make_store(path);
    struct vs_server_opts o = {0};
    o.timeout_ms = 0.001; /* passed after the first block of 64 queries */
    struct vs_server *srv = new_server(&o, path);
    size_t cap = 200 * 64, len = 0;
    char *body = malloc(cap);
    for (int i = 0; i < 200; i++)
        len += (size_t)snprintf(body + len, cap - len, "{\"id\":\"q%d\",\"vector\":[1,%d,0,1]}\n", i, i);
    struct vs_server_response r;
    CHECK_EQ_INT(call(srv, "POST", "/v1/stores/kb/query", body, NULL, NULL, &r), 504);
    CHECK(strstr(r.body, "\"code\":\"deadline\"") != NULL);
    free(r.body);
    free(body);
    vs_server_free(srv);
}

static void test_keys_and_buckets(void)
{
    char h[160], kpath[300];
    struct vs_diag d;
    CHECK_EQ_INT(vs_server_hash_key("alpha-key", h, sizeof h, &d), VS_OK);
    snprintf(kpath, sizeof kpath, "%s/keys", tmpdir);
    FILE *fp = fopen(kpath, "w");
    fprintf(fp, "# comment\n\n{\"name\":\"a\",\"hash\":\"%s\",\"scopes\":[\"read\"],\"rate\":1,\"burst\":2}\n", h);
    fclose(fp);
    struct vs_server_opts o = {0};
    struct vs_server *srv = new_server(&o, NULL);
    CHECK_EQ_INT(vs_server_load_keys(srv, kpath, &d), VS_OK);
    struct vs_server_response r;
    CHECK_EQ_INT(call(srv, "GET", "/v1/stores", NULL, NULL, NULL, &r), 401);
    free(r.body);
    CHECK_EQ_INT(call(srv, "GET", "/v1/stores", NULL, "Bearer alpha-kez", NULL, &r), 401);
    CHECK(strstr(r.body, "alpha") == NULL);
    free(r.body);
    CHECK_EQ_INT(call(srv, "GET", "/v1/stores", NULL, "Bearer alpha-key", NULL, &r), 200);
    free(r.body);
    CHECK_EQ_INT(call(srv, "GET", "/v1/stores", NULL, "Bearer alpha-key", NULL, &r), 200);
    free(r.body);
    CHECK_EQ_INT(call(srv, "GET", "/v1/stores", NULL, "Bearer alpha-key", NULL, &r), 429);
    CHECK_EQ_INT(r.retry_after, 1);
    free(r.body);
    usleep(1100000); /* one token back at 1/s */
    CHECK_EQ_INT(call(srv, "GET", "/v1/stores", NULL, "Bearer alpha-key", NULL, &r), 200);
    free(r.body);
    vs_server_free(srv);
    /* bad lines name their line */
    fp = fopen(kpath, "w");
    fprintf(fp, "{\"name\":\"a\",\"hash\":\"%s\",\"scopes\":[\"read\"]}\n{\"name\":\"b\",\"hash\":\"sha256:zz:00\",\"scopes\":[\"read\"]}\n", h);
    fclose(fp);
    srv = new_server(&o, NULL);
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_server_load_keys(srv, kpath, &d), VS_E_DATA);
    CHECK_EQ_INT(d.line, 2);
    CHECK_EQ_STR(d.field, "hash");
    vs_server_free(srv);
}

static void test_traceparent(void)
{
    struct vs_server_opts o = {0};
    struct vs_server *srv = new_server(&o, NULL);
    struct vs_server_response r;
    call(srv, "GET", "/healthz", NULL, NULL,
         "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", &r);
    CHECK_EQ_STR(r.trace_id, "0af7651916cd43dd8448eb211c80319c");
    free(r.body);
    const char *bad[] = {"00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
                         "00-00000000000000000000000000000000-b7ad6b7169203331-01",
                         "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
                         "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                         "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x",
                         "garbage"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        call(srv, "GET", "/healthz", NULL, NULL, bad[i], &r);
        CHECK_EQ_INT(strlen(r.trace_id), 32);
        CHECK(strcmp(r.trace_id, "0af7651916cd43dd8448eb211c80319c") != 0);
        free(r.body);
    }
    vs_server_free(srv);
}

struct qarg {
    struct vs_server *srv;
    int fails;
};

static void *query_loop(void *p)
{
    struct qarg *a = p;
    for (int i = 0; i < 200; i++) {
        struct vs_server_request rq = {"POST", "/v1/stores/kb/query", NULL, NULL, NULL,
                                       "{\"id\":\"q\",\"vector\":[1,1,0,0],\"k\":5}", 0, NULL};
        rq.len = strlen(rq.body);
        struct vs_server_response r;
        if (vs_server_handle(a->srv, &rq, &r) != VS_OK || r.status != 200)
            a->fails++;
        free(r.body);
    }
    return NULL;
}

static void test_concurrent_queries_during_upserts(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/cc.vs", tmpdir);
    make_store(path);
    struct vs_server_opts o = {0};
    struct vs_server *srv = new_server(&o, path);
    pthread_t th[4];
    struct qarg qa[4];
    for (int i = 0; i < 4; i++) {
        qa[i].srv = srv;
        qa[i].fails = 0;
        pthread_create(&th[i], NULL, query_loop, &qa[i]);
    }
    int wfails = 0;
    for (int i = 0; i < 10; i++) {
        char b[128];
        snprintf(b, sizeof b, "{\"id\":\"w%d\",\"vector\":[%d,1,1,1]}", i, i + 1);
        struct vs_server_response r;
        if (call(srv, "POST", "/v1/stores/kb/upsert", b, NULL, NULL, &r) != 200)
            wfails++;
        free(r.body);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(qa[i].fails, 0);
    }
    CHECK_EQ_INT(wfails, 0);
    struct vs_server_response r;
    call(srv, "GET", "/v1/stores/kb", NULL, NULL, NULL, &r);
    CHECK(strstr(r.body, "\"records\":60") != NULL);
    free(r.body);
    vs_server_free(srv);
    CHECK_EQ_INT(vs_store_verify(path, NULL), VS_OK);
}

static void test_mutated_bodies(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/fz.vs", tmpdir);
    make_store(path);
    struct vs_server_opts o = {0};
    o.max_batch = 8;
    struct vs_server *srv = new_server(&o, path);
    const char *seeds[] = {
        "{\"id\":\"q\",\"vector\":[1,0,0,1],\"k\":3,\"filter\":\"metadata.i < 10\"}",
        "{\"id\":\"a\",\"vector\":[1,2,3,4],\"text\":\"x\"}\n{\"id\":\"b\",\"vector\":[4,3,2,1]}",
        "{\"id\":\"q\",\"vector_b64\":\"AACAPwAAAAAAAAAAAACAPw==\",\"explain\":true}"};
    const char *paths[] = {"/v1/stores/kb/query", "/v1/stores/kb/upsert",
                           "/v1/stores/kb/delete", "/v1/stores/kb/snapshot"};
    unsigned seed = 12345;
    int bad = 0;
    char buf[512];
    for (int it = 0; it < 1500; it++) {
        const char *s = seeds[it % 3];
        size_t n = strlen(s);
        memcpy(buf, s, n);
        int muts = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 4;
        for (int m = 0; m < muts; m++) {
            seed = seed * 1103515245u + 12345u;
            size_t pos = (seed >> 8) % n;
            int kind = (int)(seed >> 4) % 3;
            if (kind == 0)
                buf[pos] = (char)(seed >> 20);
            else if (kind == 1 && n > 1)
                n = pos + 1; /* truncate */
            else if (n < sizeof buf - 1)
                buf[pos] = "{}[]\",:0e-9\\\n"[(seed >> 12) % 13];
        }
        struct vs_server_request rq = {"POST", paths[(it / 3) % 4], NULL, NULL, NULL, buf, n, NULL};
        struct vs_server_response r;
        if (vs_server_handle(srv, &rq, &r) != VS_OK || !r.body)
            bad++;
        else if (r.status != 200) {
            json_t *e = body_json(&r);
            if (!json_is_string(json_object_get(json_object_get(e, "error"), "code")))
                bad++;
            json_decref(e);
        }
        free(r.body);
    }
    CHECK_EQ_INT(bad, 0);
    vs_server_free(srv);
    CHECK_EQ_INT(vs_store_verify(path, NULL), VS_OK);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vs-test-server-XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    RUN(test_sha256_fips_examples);
    RUN(test_endpoints);
    RUN(test_deadline);
    RUN(test_keys_and_buckets);
    RUN(test_traceparent);
    RUN(test_concurrent_queries_during_upserts);
    RUN(test_mutated_bodies);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", tmpdir);
    return vs_test_done();
}
