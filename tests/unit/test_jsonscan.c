/* test_jsonscan.c: vs_json_scan_doc (lib/core/jsonscan.c) accepts a stored
 * record only when its members' bytes are what jansson gives when it loads
 * the record and dumps the member, and finds those members. */
#include "test.h"

#include <jansson.h>
#include <stdint.h>

#include "vs_jsonfmt.h"
#include "vs_jsonscan.h"

static const char *const keys[] = {"doc_id", "text", "metadata"};

/* text scans (want 1) with each found member dumped by jansson the same,
 * or is refused (want 0) */
static void check_doc(const char *text, size_t len, int want)
{
    struct vs_json_span sp[3];
    int got = vs_json_scan_doc(text, len, keys, 3, sp);
    if (got != want)
        printf("#   %.*s: scanned %d, want %d\n", (int)len, text, got, want);
    CHECK_EQ_INT(got, want);
    if (!got)
        return;
    json_error_t je;
    json_t *doc = json_loadb(text, len, 0, &je);
    CHECK(doc != NULL);
    if (!doc)
        return;
    /* the whole text is what jansson writes back */
    char *all = json_dumps(doc, VS_JSON_DUMP_FLAGS);
    CHECK(all && strlen(all) == len && memcmp(all, text, len) == 0);
    free(all);
    for (int i = 0; i < 3; i++) {
        json_t *m = json_object_get(doc, keys[i]);
        CHECK((m != NULL) == (sp[i].p != NULL));
        if (!m || !sp[i].p)
            continue;
        char *v = json_dumps(m, VS_JSON_DUMP_FLAGS | JSON_ENCODE_ANY);
        CHECK(v && strlen(v) == sp[i].n && memcmp(v, sp[i].p, sp[i].n) == 0);
        if (v && (strlen(v) != sp[i].n || memcmp(v, sp[i].p, sp[i].n) != 0))
            printf("#   member %s: '%s' != '%.*s'\n", keys[i], v, (int)sp[i].n, sp[i].p);
        free(v);
    }
    json_decref(doc);
}

static void ok(const char *t) { check_doc(t, strlen(t), 1); }
static void no(const char *t) { check_doc(t, strlen(t), 0); }

static void test_accepts_jansson_form(void)
{
    ok("{}");
    ok("{\"text\":\"record 1 about topic 1\",\"metadata\":{\"n\":1,\"group\":\"g1\"}}");
    ok("{\"id\":\"a\",\"doc_id\":\"d\",\"text\":\"x\",\"metadata\":{}}");
    ok("{\"doc_id\":null,\"text\":\"\",\"metadata\":[1,-2,true,false,null,[],{}]}");
    ok("{\"text\":\"tab\\there \\\"q\\\" \\\\ \\n\\r\\b\\f \\u0001\\u001F\"}");
    ok("{\"text\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 / \x7f\"}");
    ok("{\"metadata\":{\"a\":{\"b\":{\"c\":[0,123456789012345678]}}}}");
    ok("{\"metadata\":{\"x\":1.5,\"y\":-0.25,\"z\":1e20,\"w\":1e-5,\"v\":0.1,\"u\":1.0}}");
    ok("{\"metadata\":{\"n\":-0.0,\"p\":3.14159265358979}}");
    /* members whose names are a key's prefix or extension are not the key */
    ok("{\"tex\":1,\"texts\":2,\"doc_i\":3,\"doc_idx\":4,\"metadat\":5,\"\":6,\"t\":7}");
    ok("{\"texts\":\"a\",\"text\":\"b\",\"textt\":\"c\",\"metadata\":{\"text\":0}}");
}

static void test_refuses_other_forms(void)
{
    no("");
    no("[]");
    no("{ }");
    no("{\"text\": \"x\"}");                    /* whitespace */
    no("{\"text\":\"x\"} ");                    /* trailing bytes */
    no("{\"text\":\"x\",\"text\":\"y\"}");      /* duplicate */
    no("{\"metadata\":{\"a\":1,\"a\":2}}");     /* nested duplicate */
    no("{\"text\":\"\\/\"}");                   /* escape jansson does not write */
    no("{\"text\":\"\\u0041\"}");
    no("{\"text\":\"\\u001f\"}");               /* lower case hex */
    no("{\"text\":\"\\u000A\"}");               /* \n has its short form */
    no("{\"text\":\"\\u0000\"}");               /* NUL */
    no("{\"text\":\"\x01\"}");                  /* raw control byte */
    no("{\"text\":\"\xc0\xaf\"}");              /* overlong */
    no("{\"text\":\"\xed\xa0\x80\"}");          /* surrogate */
    no("{\"text\":\"\xf4\x90\x80\x80\"}");      /* past U+10FFFF */
    no("{\"text\":\"\xe2\x82\"}");              /* cut sequence */
    no("{\"metadata\":{\"n\":-0}}");
    no("{\"metadata\":{\"n\":01}}");
    no("{\"metadata\":{\"n\":1234567890123456789}}"); /* 19 digits */
    no("{\"metadata\":{\"x\":1.50}}");          /* jansson writes 1.5 */
    no("{\"metadata\":{\"x\":1E5}}");
    no("{\"metadata\":{\"x\":1e+20}}");
    no("{\"metadata\":{\"x\":1e-05}}");
    no("{\"metadata\":{\"x\":0.30000000000000004}}"); /* 17 digits */
    no("{\"metadata\":{\"x\":1e999}}");
    no("{\"metadata\":tru}");
    no("{\"metadata\":[1,]}");
    no("{\"metadata\":{\"a\"}}");
    no("{\"text\":\"unterminated}");
    size_t n = 0;
    char deep[300];
    n += (size_t)snprintf(deep, sizeof deep, "{\"metadata\":");
    for (int i = 0; i < 70; i++)
        deep[n++] = '[';
    for (int i = 0; i < 70; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    check_doc(deep, n, 0);
}

/* random records built by jansson and dumped as the store writes them
 * always scan, and their members come back byte for byte */
static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static json_t *random_value(int depth)
{
    switch (next() % (depth > 3 ? 5 : 7)) {
    case 0: return json_integer((json_int_t)(next() % 2000000) - 1000000);
    case 1: {
        double v;
        uint64_t b = next();
        memcpy(&v, &b, sizeof v);
        if (!isfinite(v))
            v = 0.5;
        return json_real(next() % 2 ? v : (double)(int64_t)(next() % 100000) / 1000.0);
    }
    case 2: {
        char s[24];
        size_t n = next() % 20;
        for (size_t i = 0; i < n; i++) {
            unsigned c = (unsigned)(next() % 100);
            s[i] = c < 5 ? (char)(1 + next() % 31) : c < 8 ? '"' : c < 10 ? '\\' : c < 12 ? '/'
                                                              : (char)('a' + c % 26);
        }
        return json_stringn(s, n);
    }
    case 3: return json_boolean(next() % 2);
    case 4: return json_null();
    case 5: {
        json_t *a = json_array();
        for (size_t i = next() % 4; i > 0; i--)
            json_array_append_new(a, random_value(depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (size_t i = next() % 4; i > 0; i--) {
            char k[8];
            snprintf(k, sizeof k, "k%u", (unsigned)(next() % 6));
            json_object_set_new(o, k, random_value(depth + 1));
        }
        return o;
    }
    }
}

static void test_random_records(void)
{
    for (int i = 0; i < 3000; i++) {
        json_t *rec = json_object();
        if (next() % 3)
            json_object_set_new(rec, "id", json_string("x"));
        if (next() % 3)
            json_object_set_new(rec, "text", random_value(3));
        if (next() % 3)
            json_object_set_new(rec, "metadata", random_value(0));
        if (next() % 4 == 0)
            json_object_set_new(rec, "doc_id", random_value(4));
        char *t = json_dumps(rec, VS_JSON_DUMP_FLAGS);
        CHECK(t != NULL);
        if (t)
            check_doc(t, strlen(t), 1);
        free(t);
        json_decref(rec);
    }
}

/* Strings of every length 0..40 with one byte of each kind at every
 * offset (the scanner reads plain ASCII 8 bytes at a time): each record is
 * scanned as jansson writes it, or refused, as the byte-at-a-time reading
 * would. */
static void test_string_offsets(void)
{
    /* what goes at the offset, and whether the record is in jansson's form */
    static const struct {
        const char *b;
        int want;
    } kinds[] = {{"\\\"", 1},       {"\\\\", 1},     {"\\n", 1},         {"\\u0001", 1},
                 {"\xc3\xa9", 1},   {"\xe2\x82\xac", 1}, {"\xf0\x9f\x98\x80", 1}, {"\x7f", 1},
                 {" ", 1},          {"~", 1},        {"\x01", 0},        {"\x1f", 0},
                 {"\t", 0},         {"\\/", 0},      {"\\u00e9", 0},     {"\xc3", 0},
                 {"\x80", 0},       {"\xff", 0},     {"\xed\xa0\x80", 0}, {"\\x", 0}};
    char text[128], body[64];
    for (size_t len = 0; len <= 40; len++)
        for (size_t at = 0; at <= len; at++)
            for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
                for (size_t i = 0; i < len; i++)
                    body[i] = (char)('a' + (i * 7 + len) % 26);
                size_t bl = strlen(kinds[k].b);
                /* the kind's bytes at offset at, the plain letters around */
                memmove(body + at + bl, body + at, len - at);
                memcpy(body + at, kinds[k].b, bl);
                int n = snprintf(text, sizeof text, "{\"text\":\"%.*s\",\"metadata\":{}}",
                                 (int)(len + bl), body);
                check_doc(text, (size_t)n, kinds[k].want);
            }
    /* an unterminated string at every length: refused */
    for (size_t len = 0; len <= 40; len++) {
        int n = snprintf(text, sizeof text, "{\"text\":\"%.*s", (int)len,
                         "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
        check_doc(text, (size_t)n, 0);
    }
}

int main(void)
{
    RUN(test_accepts_jansson_form);
    RUN(test_refuses_other_forms);
    RUN(test_random_records);
    RUN(test_string_offsets);
    return vs_test_done();
}
