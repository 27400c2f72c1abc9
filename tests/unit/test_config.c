/* test_config.c: the .vecstore.toml subset parser. */
#include "test.h"
#include "vs_internal.h"

static struct vs_config *parse(const char *s, int *st, struct vs_diag *d)
{
    struct vs_config *c = NULL;
    vs_diag_clear(d);
    *st = vs_config_parse(s, strlen(s), "t.toml", &c, d);
    return c;
}

static void test_values(void)
{
    const char *text =
        "# comment\n"
        "top = \"x\"   # trailing comment\n"
        "[ingest]\n"
        "metric = \"l2\"\n"
        "commit_every = 10_000\n"
        "ratio = 0.25\n"
        "neg = -3\n"
        "keep_going = true\n"
        "'quoted key' = 'lit\\eral'\n"
        "esc = \"a\\tb\\u00e9\"\n"
        "[query.hybrid]\n"
        "fusion = \"rrf\"\n"
        "list = [1, 2,\n   3, # c\n]\n"
        "dotted.key = \"d\"\n";
    int st;
    struct vs_diag d;
    struct vs_config *c = parse(text, &st, &d);
    CHECK_EQ_INT(st, VS_OK);
    CHECK_EQ_STR(vs_config_get(c, "top"), "x");
    CHECK_EQ_STR(vs_config_get(c, "ingest.metric"), "l2");
    CHECK_EQ_STR(vs_config_get(c, "ingest.commit_every"), "10000");
    CHECK_EQ_STR(vs_config_get(c, "ingest.ratio"), "0.25");
    CHECK_EQ_STR(vs_config_get(c, "ingest.neg"), "-3");
    CHECK_EQ_STR(vs_config_get(c, "ingest.keep_going"), "true");
    CHECK_EQ_STR(vs_config_get(c, "ingest.quoted key"), "lit\\eral");
    CHECK_EQ_STR(vs_config_get(c, "ingest.esc"), "a\tb\xc3\xa9");
    CHECK_EQ_STR(vs_config_get(c, "query.hybrid.fusion"), "rrf");
    CHECK_EQ_STR(vs_config_get(c, "query.hybrid.dotted.key"), "d");
    size_t n;
    CHECK(vs_config_array(c, "query.hybrid.list", &n));
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_STR(vs_config_array_get(c, "query.hybrid.list", 2), "3");
    CHECK_EQ_STR(vs_config_get(c, "query.hybrid.list"), "1,2,3");
    CHECK(vs_config_get(c, "nope") == NULL);
    CHECK_EQ_INT(vs_config_count(c), 11);
    CHECK_EQ_STR(vs_config_key(c, 0), "top");
    CHECK_EQ_INT(vs_config_key_line(c, 0), 2);
    CHECK_EQ_INT(vs_config_key_line(c, 1), 4);
    CHECK_EQ_INT(vs_config_key_line(c, 99), 0);
    vs_config_free(c);
}

static void test_errors(void)
{
    struct { const char *text; long line, col; const char *detail; } cases[] = {
        {"a = 1\nb = bare\n", 2, 5, "'bare' is not a valid value"},
        {"a = 1\na = 2\n", 2, 1, "key 'a' is defined twice"},
        {"[t]\nx=1\n[t]\n", 3, 4, "table [t] is defined twice"},
        {"x = {a=1}\n", 1, 5, "inline tables are not supported"},
        {"[[x]]\n", 1, 2, "arrays of tables are not supported"},
        {"x = \"abc\n", 1, 9, "unterminated string"},
        {"x = 1 2\n", 1, 7, "unexpected text after the value"},
        {"x 1\n", 1, 3, "expected '=' after the key"},
        {"x = 01\n", 1, 5, "'01' is not a valid value"},
        {"x = 1__0\n", 1, 6, "misplaced '_' in number"},
        {"x = [1, 2\n", 2, 1, "expected ',' or ']' in array"},
        {"x = \"\"\"a\"\"\"\n", 1, 5, "multi-line strings are not supported"},
        {"x = \"\\q\"\n", 1, 6, "unknown escape sequence"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int st;
        struct vs_diag d;
        struct vs_config *c = parse(cases[i].text, &st, &d);
        CHECK(c == NULL);
        CHECK_EQ_INT(st, VS_E_CONFIG);
        CHECK_EQ_STR(d.file, "t.toml");
        CHECK_EQ_INT(d.line, cases[i].line);
        CHECK_EQ_INT(d.col, cases[i].col);
        if (strncmp(d.detail, cases[i].detail, strlen(cases[i].detail)) != 0)
            CHECK_EQ_STR(d.detail, cases[i].detail);
    }
}

static void test_load_missing(void)
{
    struct vs_config *c;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_config_load("/nonexistent/x.toml", &c, &d), VS_E_CONFIG);
    CHECK(c == NULL);
    CHECK_EQ_STR(d.file, "/nonexistent/x.toml");
}

int main(void)
{
    RUN(test_values);
    RUN(test_errors);
    RUN(test_load_missing);
    return vs_test_done();
}
