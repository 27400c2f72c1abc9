/* test_trace.c: W3C traceparent parsing, ids, OTLP KeyValue shapes, and the
 * exporter's configuration from OTEL_* and its counts (no collector: the
 * endpoint is a closed port on 127.0.0.1, so every POST fails). */
#include "test.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vs_trace.h"

static void clear_env(void)
{
    const char *v[] = {"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER",
                       "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                       "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                       "OTEL_BSP_SCHEDULE_DELAY", "OTEL_SERVICE_NAME"};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        unsetenv(v[i]);
}

static void test_traceparent(void)
{
    char t[VS_TRACE_ID_LEN], p[VS_SPAN_ID_LEN];
    CHECK_EQ_INT(vs_trace_parse_traceparent(
                     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", t, p), 0);
    CHECK_EQ_STR(t, "4bf92f3577b34da6a3ce929d0e0e4736");
    CHECK_EQ_STR(p, "00f067aa0ba902b7");
    /* a later version may carry more fields after a '-' */
    CHECK_EQ_INT(vs_trace_parse_traceparent(
                     "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-more", t, NULL), 0);
    const char *bad[] = {
        NULL, "", "garbage",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", /* upper case */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01", /* zero trace id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", /* zero parent */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", /* version ff */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", /* 00 is exact */
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", /* no '-' */
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(vs_trace_parse_traceparent(bad[i], t, p), -1);
}

static void test_ids(void)
{
    char a[VS_TRACE_ID_LEN], b[VS_TRACE_ID_LEN], s[VS_SPAN_ID_LEN];
    CHECK_EQ_INT(vs_trace_random_hex(a, 16), 0);
    CHECK_EQ_INT(vs_trace_random_hex(b, 16), 0);
    CHECK_EQ_INT(vs_trace_random_hex(s, 8), 0);
    CHECK_EQ_INT(strlen(a), 32);
    CHECK_EQ_INT(strlen(s), 16);
    CHECK(strcmp(a, b) != 0);
    for (size_t i = 0; i < 32; i++)
        CHECK(isxdigit((unsigned char)a[i]) && !isupper((unsigned char)a[i]));
    CHECK_EQ_INT(vs_trace_random_hex(a, 17), -1);
    CHECK_EQ_INT(vs_trace_random_hex(a, 4), -1);
    CHECK(vs_trace_now_ns() > 1600000000ULL * 1000000000ULL);
}

/* The generator behind the ids: SipHash-2-4 as published (the reference
 * test vector for key 00..0f and message 00..07: 62 24 93 9a 79 f5 f5 93,
 * as `openssl mac ... SIPHASH` prints it), ids that do not repeat within a
 * thread, across threads, nor in a child after fork. */
#define NIDS 4096
static char ids[3 * NIDS][VS_SPAN_ID_LEN];
static void *ids_thread(void *arg)
{
    char(*out)[VS_SPAN_ID_LEN] = arg;
    for (size_t i = 0; i < NIDS; i++)
        if (vs_trace_random_hex(out[i], 8) != 0)
            out[i][0] = 0;
    return NULL;
}
static int cmp_id(const void *a, const void *b) { return strcmp(a, b); }

static void test_id_generator(void)
{
    CHECK(vs_trace_siphash_u64(0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL,
                               0x0706050403020100ULL) == 0x93f5f5799a932462ULL);
    pthread_t th[2];
    for (int t = 0; t < 2; t++)
        CHECK_EQ_INT(pthread_create(&th[t], NULL, ids_thread, ids + (size_t)t * NIDS), 0);
    ids_thread(ids + 2 * NIDS);
    for (int t = 0; t < 2; t++)
        pthread_join(th[t], NULL);
    qsort(ids, 3 * NIDS, VS_SPAN_ID_LEN, cmp_id);
    size_t dup = 0;
    for (size_t i = 0; i < 3 * NIDS; i++) {
        CHECK_EQ_INT(strlen(ids[i]), 16);
        if (i && strcmp(ids[i - 1], ids[i]) == 0)
            dup++;
    }
    CHECK_EQ_INT(dup, 0);
    /* a child after fork draws a new key: its next id is not the parent's */
    int fd[2];
    CHECK_EQ_INT(pipe(fd), 0);
    char mine[VS_TRACE_ID_LEN], child[VS_TRACE_ID_LEN] = "";
    CHECK_EQ_INT(vs_trace_random_hex(mine, 16), 0);
    pid_t pid = fork();
    if (pid == 0) {
        char c[VS_TRACE_ID_LEN];
        int ok = vs_trace_random_hex(c, 16) == 0 && write(fd[1], c, 32) == 32;
        _exit(ok ? 0 : 1);
    }
    CHECK(pid > 0);
    CHECK_EQ_INT(read(fd[0], child, 32), 32);
    child[32] = 0;
    int ws = 0;
    waitpid(pid, &ws, 0);
    CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    CHECK_EQ_INT(vs_trace_random_hex(mine, 16), 0); /* the parent's next */
    CHECK(strcmp(mine, child) != 0);
    close(fd[0]);
    close(fd[1]);
}

static void test_attrs(void)
{
    json_t *a = json_pack("[o,o,o,o]", vs_trace_attr_s("k", "v"),
                          vs_trace_attr_i("n", -9007199254740993LL),
                          vs_trace_attr_d("x", 0.5),
                          vs_trace_attr_s("bad", "\xff"));
    char *s = json_dumps(a, JSON_COMPACT);
    CHECK_EQ_STR(s, "[{\"key\":\"k\",\"value\":{\"stringValue\":\"v\"}},"
                    "{\"key\":\"n\",\"value\":{\"intValue\":\"-9007199254740993\"}},"
                    "{\"key\":\"x\",\"value\":{\"doubleValue\":0.5}},"
                    "{\"key\":\"bad\",\"value\":{\"stringValue\":\"(not utf-8)\"}}]");
    free(s);
    json_decref(a);
}

static void test_config(void)
{
    struct vs_otlp *x = (struct vs_otlp *)1;
    struct vs_diag d;
    clear_env();
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_otlp_new_from_env("t", VS_OTLP_BATCH, &x, &d), VS_OK);
    CHECK(x == NULL); /* no endpoint: off */
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9", 1);
    setenv("OTEL_SDK_DISABLED", "TRUE", 1);
    CHECK_EQ_INT(vs_otlp_new_from_env("t", VS_OTLP_BATCH, &x, &d), VS_OK);
    CHECK(x == NULL);
    unsetenv("OTEL_SDK_DISABLED");
    setenv("OTEL_TRACES_EXPORTER", "none", 1);
    CHECK_EQ_INT(vs_otlp_new_from_env("t", VS_OTLP_BATCH, &x, &d), VS_OK);
    CHECK(x == NULL);
    setenv("OTEL_TRACES_EXPORTER", "zipkin", 1);
    CHECK_EQ_INT(vs_otlp_new_from_env("t", VS_OTLP_BATCH, &x, &d), VS_E_UNSUPPORTED);
    unsetenv("OTEL_TRACES_EXPORTER");
    setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", 1);
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_otlp_new_from_env("t", VS_OTLP_BATCH, &x, &d), VS_E_UNSUPPORTED);
    CHECK(strstr(d.detail, "http/json") != NULL);
    setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", 1);
    CHECK_EQ_INT(vs_otlp_new_from_env("t", VS_OTLP_BATCH, &x, &d), VS_OK);
    CHECK_EQ_STR(vs_otlp_url(x), "http://127.0.0.1:9/v1/traces");
    vs_otlp_free(x);
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9/", 1);
    CHECK_EQ_INT(vs_otlp_new_from_env("t", VS_OTLP_BATCH, &x, &d), VS_OK);
    CHECK_EQ_STR(vs_otlp_url(x), "http://127.0.0.1:9/v1/traces");
    vs_otlp_free(x);
    setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:9/custom", 1);
    CHECK_EQ_INT(vs_otlp_new_from_env("t", VS_OTLP_BATCH, &x, &d), VS_OK);
    CHECK_EQ_STR(vs_otlp_url(x), "http://127.0.0.1:9/custom");
    vs_otlp_free(x);
    CHECK_EQ_STR(vs_otlp_url(NULL), "");
    clear_env();
}

static void test_counts(void)
{
    struct vs_otlp *x = NULL;
    struct vs_diag d;
    clear_env();
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9", 1);
    setenv("OTEL_BSP_SCHEDULE_DELAY", "60000", 1); /* only shutdown exports */
    CHECK_EQ_INT(vs_otlp_new_from_env("t", VS_OTLP_BATCH, &x, &d), VS_OK);
    CHECK(x != NULL);
    const char *tid = "4bf92f3577b34da6a3ce929d0e0e4736";
    vs_otlp_span(x, tid, "00f067aa0ba902b7", NULL, "a", 1, 1, 2, 0, NULL);
    vs_otlp_span(x, tid, "00f067aa0ba902b8", "00f067aa0ba902b7", "b", 1, 1, 2, 1,
                 json_pack("[o]", vs_trace_attr_i("n", 1)));
    vs_otlp_shutdown(x);
    uint64_t ex, dr, fa;
    vs_otlp_counts(x, &ex, &dr, &fa);
    CHECK_EQ_INT(ex, 0);
    CHECK_EQ_INT(dr, 0);
    CHECK_EQ_INT(fa, 2); /* nothing listens on port 9 */
    /* after shutdown a span is dropped, not queued */
    vs_otlp_span(x, tid, "00f067aa0ba902b9", NULL, "c", 1, 1, 2, 0, NULL);
    vs_otlp_counts(x, &ex, &dr, &fa);
    CHECK_EQ_INT(dr, 1);
    vs_otlp_free(x);
    /* NULL is tracing off: no-ops */
    vs_otlp_span(NULL, tid, "00f067aa0ba902b7", NULL, "a", 1, 1, 2, 0,
                 json_pack("[o]", vs_trace_attr_i("n", 1)));
    vs_otlp_counts(NULL, &ex, &dr, &fa);
    CHECK_EQ_INT(ex + dr + fa, 0);
    vs_otlp_shutdown(NULL);
    vs_otlp_free(NULL);
    clear_env();
}

int main(void)
{
    RUN(test_traceparent);
    RUN(test_ids);
    RUN(test_id_generator);
    RUN(test_attrs);
    RUN(test_config);
    RUN(test_counts);
    return vs_test_done();
}
