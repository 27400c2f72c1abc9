/* test_embed_records.c: vs_embed_records (batches, pass-through, bad
 * records, dry run) and the --dry-run and --stats objects, called directly. */
#include "test.h"
#include "vs_internal.h"
#include "vs_embed_records.h"

static char dir[256];

/* What the sink saw. */
struct seen {
    json_t *out;    /* written records (copies) */
    int warnings;
    int last_warn;
    char warn_detail[1024];
    long warn_line;
    int flushes, progress;
    int fail_at;    /* write returns VS_E_NOSPC at this record (1-based), 0 = never */
};

static int w_write(const json_t *rec, void *arg, struct vs_diag *d)
{
    struct seen *s = arg;
    if (s->fail_at && (int)json_array_size(s->out) + 1 == s->fail_at)
        return vs_diag_set(d, VS_E_NOSPC, "sink is full");
    json_array_append_new(s->out, json_deep_copy(rec));
    return VS_OK;
}

static void w_warn(int status, const struct vs_diag *d, void *arg)
{
    struct seen *s = arg;
    s->warnings++;
    s->last_warn = status;
    s->warn_line = d->line;
    snprintf(s->warn_detail, sizeof s->warn_detail, "%s", d->detail);
}

static int w_flush(void *arg, struct vs_diag *d)
{
    ((struct seen *)arg)->flushes++;
    return VS_OK;
}

static void w_progress(const struct vs_embed_counts *c, void *arg)
{
    ((struct seen *)arg)->progress++;
}

/* Run vs_embed_records over text with the hash embedder (dim 16). */
static int run(const char *text, const struct vs_embed_records_opts *o,
               struct seen *s, struct vs_embed_counts *c, struct vs_diag *d)
{
    struct vs_embedder *e = NULL;
    if (vs_embedder_new("hash", 16, &e, NULL) != VS_OK)
        return -1;
    struct vs_embed_sink sink = {w_write, w_warn, w_flush, w_progress, s};
    memset(c, 0, sizeof *c);
    s->out = json_array();
    int st = vs_embed_records(e, o, vs_test_write(dir, "in.ndjson", text), &sink, c, d);
    vs_embedder_free(e);
    return st;
}

static const char *str(const json_t *a, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(a, i), key));
}

static void test_happy_path_batches_and_order(void)
{
    struct vs_embed_records_opts o;
    vs_embed_records_opts_init(&o);
    CHECK_EQ_STR(o.field, "text");
    CHECK_EQ_INT(o.batch, 256);
    o.batch = 2; /* 5 records: batches of 2, 2, 1 */
    struct seen s = {0};
    struct vs_embed_counts c;
    struct vs_diag d;
    int st = run("{\"id\":\"a\",\"text\":\"alpha beta\"}\n"
                 "{\"id\":\"b\",\"text\":\"gamma\"}\n"
                 "{\"id\":\"c\",\"text\":\"delta epsilon\"}\n"
                 "{\"id\":\"d\",\"text\":\"zeta\"}\n"
                 "{\"id\":\"e\",\"text\":\"eta theta\"}\n",
                 &o, &s, &c, &d);
    CHECK_EQ_INT(st, VS_OK);
    CHECK_EQ_INT(json_array_size(s.out), 5);
    CHECK_EQ_STR(str(s.out, 0, "id"), "a");
    CHECK_EQ_STR(str(s.out, 4, "id"), "e");
    CHECK_EQ_STR(str(s.out, 2, "vector_model"), "hash-v1:16");
    CHECK_EQ_INT(c.in, 5);
    CHECK_EQ_INT(c.out, 5);
    CHECK_EQ_INT(c.skipped + c.failed + c.passed + c.truncated, 0);
    CHECK_EQ_INT(s.progress, 3); /* once per batch */
    CHECK_EQ_INT(s.flushes, 0);  /* local embedder: no flush */
    CHECK_EQ_INT(s.warnings, 0);
    /* the vector is the embedder's vector of the text */
    struct vs_embedder *e;
    CHECK_EQ_INT(vs_embedder_new("hash", 16, &e, NULL), VS_OK);
    float want[16], *got = NULL;
    size_t dim = 0;
    CHECK_EQ_INT(vs_embedder_embed_one(e, "delta epsilon", want, NULL), VS_OK);
    CHECK_EQ_INT(vs_record_vector(json_array_get(s.out, 2), &got, &dim, NULL), VS_OK);
    CHECK_EQ_INT(dim, 16);
    for (size_t i = 0; got && i < 16; i++)
        CHECK_NEAR(got[i], want[i], 1e-6);
    free(got);
    vs_embedder_free(e);
    json_decref(s.out);
}

static void test_pass_through_keeps_order(void)
{
    struct vs_embed_records_opts o;
    vs_embed_records_opts_init(&o);
    o.field = "body";
    o.b64 = 1;
    struct seen s = {0};
    struct vs_embed_counts c;
    struct vs_diag d;
    int st = run("{\"id\":\"a\",\"body\":\"first text\"}\n"
                 "{\"op\":\"delete\",\"id\":\"x\"}\n"
                 "\n"
                 "{\"id\":\"b\",\"body\":\"second text\"}\n"
                 "{\"op\":\"keep\",\"id\":\"y\"}\n",
                 &o, &s, &c, &d);
    CHECK_EQ_INT(st, VS_OK);
    CHECK_EQ_INT(json_array_size(s.out), 4);
    CHECK_EQ_STR(str(s.out, 0, "id"), "a");
    CHECK_EQ_STR(str(s.out, 1, "id"), "x");
    CHECK(json_object_get(json_array_get(s.out, 1), "vector_b64") == NULL);
    CHECK_EQ_STR(str(s.out, 2, "id"), "b");
    CHECK_EQ_STR(str(s.out, 3, "op"), "keep");
    CHECK(str(s.out, 0, "vector_b64") != NULL);
    CHECK(json_object_get(json_array_get(s.out, 0), "vector") == NULL);
    CHECK_EQ_INT(c.in, 4);
    CHECK_EQ_INT(c.out, 2);
    CHECK_EQ_INT(c.passed, 2);
    json_decref(s.out);
}

static void test_bad_records_stop_or_are_skipped(void)
{
    static const struct {
        const char *line2;
        int status;
        const char *detail;
    } cases[] = {
        {"{\"id\":\"b\"}", VS_E_FIELD, "is missing"},
        {"{\"id\":\"b\",\"text\":7}", VS_E_FIELD, "is not a string"},
        {"{\"id\":\"b\",\"text\":\"\"}", VS_E_FIELD, "is empty"},
        {"{\"id\":\"b\",\"text\":\"!!! ...\"}", VS_E_FIELD, "has no letters or digits to embed"},
        {"{\"id\":\"b\",\"text\":\"\\u00e9t\\u00e9", VS_E_JSON, NULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char text[512];
        snprintf(text, sizeof text, "{\"id\":\"a\",\"text\":\"one\"}\n%s\n"
                 "{\"id\":\"c\",\"text\":\"three\"}\n", cases[k].line2);
        struct vs_embed_records_opts o;
        vs_embed_records_opts_init(&o);
        struct seen s = {0};
        struct vs_embed_counts c;
        struct vs_diag d;
        /* without keep_going: the first bad record stops the run */
        CHECK_EQ_INT(run(text, &o, &s, &c, &d), cases[k].status);
        CHECK_EQ_INT(d.line, 2);
        CHECK(strstr(d.file, "in.ndjson") != NULL);
        if (cases[k].detail) {
            CHECK_EQ_STR(d.field, "text");
            CHECK_EQ_STR(d.detail, cases[k].detail);
        }
        CHECK(json_array_size(s.out) <= 1);
        json_decref(s.out);
        /* with keep_going: a warning, and the others are written */
        o.keep_going = 1;
        struct seen s2 = {0};
        CHECK_EQ_INT(run(text, &o, &s2, &c, &d), VS_OK);
        CHECK_EQ_INT(s2.warnings, 1);
        CHECK_EQ_INT(s2.last_warn, cases[k].status);
        CHECK_EQ_INT(s2.warn_line, 2);
        if (cases[k].detail)
            CHECK_EQ_STR(s2.warn_detail, cases[k].detail);
        CHECK_EQ_INT(json_array_size(s2.out), 2);
        CHECK_EQ_STR(str(s2.out, 1, "id"), "c");
        CHECK_EQ_INT(c.skipped, 1);
        CHECK_EQ_INT(c.out, 2);
        json_decref(s2.out);
    }
}

static void test_dry_run_and_write_failure(void)
{
    const char *text = "{\"id\":\"a\",\"text\":\"one\"}\n{\"op\":\"keep\",\"id\":\"k\"}\n"
                       "{\"id\":\"b\",\"text\":\"two\"}\n";
    struct vs_embed_records_opts o;
    vs_embed_records_opts_init(&o);
    o.dry_run = 1;
    struct seen s = {0};
    struct vs_embed_counts c;
    struct vs_diag d;
    CHECK_EQ_INT(run(text, &o, &s, &c, &d), VS_OK);
    CHECK_EQ_INT(json_array_size(s.out), 0); /* nothing written */
    CHECK_EQ_INT(c.out, 2);
    CHECK_EQ_INT(c.passed, 1);
    json_decref(s.out);
    /* a failing sink stops the run with its status and diag */
    o.dry_run = 0;
    struct seen s2 = {.fail_at = 2};
    CHECK_EQ_INT(run(text, &o, &s2, &c, &d), VS_E_NOSPC);
    CHECK_EQ_STR(d.detail, "sink is full");
    CHECK_EQ_INT(json_array_size(s2.out), 1);
    CHECK_EQ_INT(c.passed, 0);
    json_decref(s2.out);
    /* a missing file is the reader's error */
    struct vs_embedder *e;
    CHECK_EQ_INT(vs_embedder_new("hash", 16, &e, NULL), VS_OK);
    struct vs_embed_sink sink = {w_write, NULL, NULL, NULL, &s2};
    char path[600];
    snprintf(path, sizeof path, "%s/missing.ndjson", dir);
    CHECK(vs_embed_records(e, &o, path, &sink, &c, &d) != VS_OK);
    vs_embedder_free(e);
}

static void test_summary_objects(void)
{
    struct vs_embedder *e;
    char key[64];
    CHECK_EQ_INT(vs_embedder_new("hash", 16, &e, NULL), VS_OK);
    struct vs_embed_stats es;
    vs_embedder_stats(e, &es);
    struct vs_embed_counts c = {5, 3, 1, 0, 0, 1};
    json_t *st = vs_embed_stats_json(e, &es, &c, 0);
    char *s = json_dumps(st, JSON_COMPACT);
    CHECK_EQ_STR(s, "{\"records_in\":5,\"records_out\":3,\"skipped\":1,"
                    "\"truncated\":0,\"passed_through\":1}");
    free(s);
    json_decref(st);
    json_t *dr = vs_embed_dry_run_json(e, &es, 3);
    CHECK(json_is_true(json_object_get(dr, "dry_run")));
    CHECK_EQ_STR(json_string_value(json_object_get(dr, "model")), "hash-v1:16");
    CHECK_EQ_INT(json_integer_value(json_object_get(dr, "records")), 3);
    CHECK(json_is_null(json_object_get(dr, "cost_usd"))); /* no price: unknown */
    json_decref(dr);
    /* provider and dimension are cut from the identity */
    CHECK_EQ_INT(vs_embed_price_key(e, key, sizeof key), VS_OK);
    CHECK_EQ_STR(key, "embed.price.16");
    CHECK_EQ_INT(vs_embed_price_key(e, key, 8), VS_E_USAGE);
    vs_embedder_free(e);
    struct vs_embed_opts ao;
    vs_embed_opts_init(&ao);
    ao.base_url = "http://127.0.0.1:9";
    if (vs_embedder_new_opts("ollama:nomic-embed-text:768", 0, &ao, &e, NULL) != VS_OK)
        SKIP("ollama embedder not available");
    CHECK_EQ_INT(vs_embed_price_key(e, key, sizeof key), VS_OK);
    CHECK_EQ_STR(key, "embed.price.nomic-embed-text");
    vs_embedder_stats(e, &es);
    st = vs_embed_stats_json(e, &es, &c, 0);
    CHECK(json_object_get(st, "requests") != NULL);
    CHECK_EQ_INT(json_integer_value(json_object_get(st, "records_in")), 5);
    json_decref(st);
    vs_embedder_free(e);
}

/* An API embedder whose server refuses connections: each failed text stops
 * the run, or with keep_going is written with "error" (and the batch is
 * flushed, as a remote embedder's batches are). */
static void test_api_failures(void)
{
    struct vs_embed_opts ao;
    vs_embed_opts_init(&ao);
    ao.base_url = "http://127.0.0.1:9";
    ao.max_retries = 0;
    ao.no_cache = 1;
    struct vs_embedder *e;
    if (vs_embedder_new_opts("ollama:nomic-embed-text:8", 0, &ao, &e, NULL) != VS_OK)
        SKIP("ollama embedder not available");
    const char *path = vs_test_write(dir, "api.ndjson", "{\"id\":\"a\",\"text\":\"one\"}\n"
                                                "{\"id\":\"b\",\"text\":\"two\"}\n");
    struct vs_embed_records_opts o;
    vs_embed_records_opts_init(&o);
    struct seen s = {.out = json_array()};
    struct vs_embed_sink sink = {w_write, w_warn, w_flush, w_progress, &s};
    struct vs_embed_counts c = {0};
    struct vs_diag d;
    int st = vs_embed_records(e, &o, path, &sink, &c, &d);
    CHECK(st == VS_E_NETWORK || st == VS_E_REMOTE);
    CHECK_EQ_INT(d.line, 1);
    CHECK_EQ_INT(json_array_size(s.out), 0);
    CHECK_EQ_INT(s.flushes, 0); /* a failed batch is not flushed */
    o.keep_going = 1;
    memset(&c, 0, sizeof c);
    CHECK_EQ_INT(vs_embed_records(e, &o, path, &sink, &c, &d), VS_OK);
    CHECK_EQ_INT(json_array_size(s.out), 2);
    CHECK(str(s.out, 1, "error") != NULL);
    CHECK(json_object_get(json_array_get(s.out, 1), "vector") == NULL);
    CHECK_EQ_INT(c.failed, 2);
    CHECK_EQ_INT(c.out, 0);
    CHECK_EQ_INT(s.warnings, 2);
    CHECK_EQ_INT(s.flushes, 1);
    json_decref(s.out);
    vs_embedder_free(e);
}

int main(void)
{
    if (vs_test_tmpdir(dir, sizeof dir, "embed-records") != 0)
        return 1;
    RUN(test_happy_path_batches_and_order);
    RUN(test_pass_through_keeps_order);
    RUN(test_bad_records_stop_or_are_skipped);
    RUN(test_dry_run_and_write_failure);
    RUN(test_summary_objects);
    RUN(test_api_failures);
    vs_test_rmtree(dir);
    return vs_test_done();
}
