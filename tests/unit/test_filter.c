/* test_filter.c: the filter language: parsing, errors with columns, and the
 * evaluation rules of docs/filter.md. */
#include "test.h"
#include "vs_internal.h"

static json_t *doc(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    if (!j)
        printf("# bad test JSON: %s\n", e.text);
    return j;
}

/* 1/0 for match, -1 when the filter does not compile. */
static int m(const char *expr, const json_t *d)
{
    struct vs_filter *f;
    struct vs_diag dg;
    vs_diag_clear(&dg);
    int st = vs_filter_compile(expr, &f, &dg);
    if (st != VS_OK) {
        printf("# compile '%s': %s\n", expr, dg.detail);
        return -1;
    }
    int r = vs_filter_match(f, d);
    vs_filter_free(f);
    return r;
}

/* The column of the compile error, or 0 when it compiles. */
static long errcol(const char *expr)
{
    struct vs_filter *f = NULL;
    struct vs_diag dg;
    vs_diag_clear(&dg);
    int st = vs_filter_compile(expr, &f, &dg);
    vs_filter_free(f);
    if (st == VS_OK)
        return 0;
    if (st != VS_E_FILTER)
        return -1;
    return dg.col;
}

static const char *D1 =
    "{\"id\":\"d1\",\"text\":\"hello rust world\",\"source\":\"src/a.md\","
    "\"metadata\":{\"lang\":\"en\",\"year\":2021,\"score\":0.5,"
    "\"tags\":[\"rust\",\"c\",7],\"draft\":false,\"owner\":null,"
    "\"author\":{\"name\":\"Ada\",\"langs\":[\"en\",\"fr\"]},"
    "\"id\":\"meta-id\"}}";

static void test_comparisons(void)
{
    json_t *d = doc(D1);
    CHECK_EQ_INT(m("lang = \"en\"", d), 1);
    CHECK_EQ_INT(m("lang = 'en'", d), 1);
    CHECK_EQ_INT(m("lang != \"en\"", d), 0);
    CHECK_EQ_INT(m("lang != \"de\"", d), 1);
    CHECK_EQ_INT(m("year = 2021", d), 1);
    CHECK_EQ_INT(m("year = 2021.0", d), 1);
    CHECK_EQ_INT(m("year >= 2020", d), 1);
    CHECK_EQ_INT(m("year > 2021", d), 0);
    CHECK_EQ_INT(m("year <= 2021", d), 1);
    CHECK_EQ_INT(m("year < 2021", d), 0);
    CHECK_EQ_INT(m("score < 0.75", d), 1);
    CHECK_EQ_INT(m("score > -1e3", d), 1);
    CHECK_EQ_INT(m("lang < \"fr\"", d), 1);
    CHECK_EQ_INT(m("lang >= \"fr\"", d), 0);
    CHECK_EQ_INT(m("draft = false", d), 1);
    CHECK_EQ_INT(m("draft = true", d), 0);
    CHECK_EQ_INT(m("owner = null", d), 1);
    CHECK_EQ_INT(m("owner EXISTS", d), 1);
    json_decref(d);
}

static void test_mixed_types_and_missing(void)
{
    json_t *d = doc(D1);
    /* a string compared with a number is false either way */
    CHECK_EQ_INT(m("year = \"2021\"", d), 0);
    CHECK_EQ_INT(m("lang > 1", d), 0);
    CHECK_EQ_INT(m("lang < 1", d), 0);
    CHECK_EQ_INT(m("draft < true", d), 0);
    CHECK_EQ_INT(m("draft = 0", d), 0);
    /* != with another type is true: the values are not equal */
    CHECK_EQ_INT(m("year != \"2021\"", d), 1);
    /* missing fields never match a comparison */
    CHECK_EQ_INT(m("nope = 1", d), 0);
    CHECK_EQ_INT(m("nope != 1", d), 0);
    CHECK_EQ_INT(m("nope < 1", d), 0);
    CHECK_EQ_INT(m("nope IN [1, 2]", d), 0);
    CHECK_EQ_INT(m("nope CONTAINS \"x\"", d), 0);
    CHECK_EQ_INT(m("nope STARTSWITH \"x\"", d), 0);
    CHECK_EQ_INT(m("nope = null", d), 0);
    CHECK_EQ_INT(m("nope EXISTS", d), 0);
    CHECK_EQ_INT(m("NOT nope EXISTS", d), 1);
    CHECK_EQ_INT(m("nope NOT EXISTS", d), 1);
    CHECK_EQ_INT(m("nope NOT IN [1]", d), 1);
    CHECK_EQ_INT(m("NOT nope = 1", d), 1);
    /* arrays are not scalars: only CONTAINS and EXISTS look inside */
    CHECK_EQ_INT(m("tags = \"rust\"", d), 0);
    CHECK_EQ_INT(m("tags IN [\"rust\"]", d), 0);
    json_decref(d);
}

static void test_in_contains_startswith(void)
{
    json_t *d = doc(D1);
    CHECK_EQ_INT(m("lang IN [\"de\", \"en\"]", d), 1);
    CHECK_EQ_INT(m("lang IN [\"de\"]", d), 0);
    CHECK_EQ_INT(m("lang IN []", d), 0);
    CHECK_EQ_INT(m("lang NOT IN [\"de\"]", d), 1);
    CHECK_EQ_INT(m("lang not in [\"en\", 3]", d), 0);
    CHECK_EQ_INT(m("year IN [1, 2021.0, \"x\"]", d), 1);
    CHECK_EQ_INT(m("tags CONTAINS \"rust\"", d), 1);
    CHECK_EQ_INT(m("tags CONTAINS \"ru\"", d), 0); /* elements compare whole */
    CHECK_EQ_INT(m("tags CONTAINS 7", d), 1);
    CHECK_EQ_INT(m("tags NOT CONTAINS \"go\"", d), 1);
    CHECK_EQ_INT(m("text CONTAINS \"rust\"", d), 1);
    CHECK_EQ_INT(m("text CONTAINS \"\"", d), 1);
    CHECK_EQ_INT(m("text CONTAINS \"Rust\"", d), 0);
    CHECK_EQ_INT(m("year CONTAINS 2", d), 0);
    CHECK_EQ_INT(m("source STARTSWITH \"src/\"", d), 1);
    CHECK_EQ_INT(m("source STARTSWITH \"tmp/\"", d), 0);
    CHECK_EQ_INT(m("source NOT STARTSWITH \"tmp/\"", d), 1);
    CHECK_EQ_INT(m("year STARTSWITH \"20\"", d), 0);
    json_decref(d);
}

/* A long IN list (lexed in linear time, searched by bisection) answers as
 * the short one: every member found, near misses not, strings with escapes
 * and prefixes of one another kept apart, numbers still compared by value. */
static void test_long_in_list(void)
{
    size_t n = 20000, cap = n * 16 + 64, len = 0;
    char *expr = malloc(cap);
    CHECK(expr != NULL);
    if (!expr)
        return;
    len += (size_t)snprintf(expr + len, cap - len, "v IN [");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(expr + len, cap - len, "%s\"k%zu\"", i ? "," : "", i * 2);
    snprintf(expr + len, cap - len, ",\"a\\\"b\",\"k\",7]");
    struct vs_filter *f;
    struct vs_diag dg;
    vs_diag_clear(&dg);
    CHECK_EQ_INT(vs_filter_compile(expr, &f, &dg), VS_OK);
    free(expr);
    static const struct { const char *v; int want; } cases[] = {
        {"{\"v\":\"k0\"}", 1},     {"{\"v\":\"k39998\"}", 1}, {"{\"v\":\"k2\"}", 1},
        {"{\"v\":\"k1\"}", 0},     {"{\"v\":\"k39999\"}", 0}, {"{\"v\":\"k40000\"}", 0},
        {"{\"v\":\"k\"}", 1},      {"{\"v\":\"\"}", 0},         {"{\"v\":\"a\\\"b\"}", 1},
        {"{\"v\":7}", 1},          {"{\"v\":7.0}", 1},          {"{\"v\":8}", 0},
        {"{\"v\":null}", 0},       {"{\"w\":\"k0\"}", 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *d = doc(cases[i].v);
        CHECK_EQ_INT(vs_filter_match(f, d), cases[i].want);
        json_decref(d);
    }
    vs_filter_free(f);
}

static void test_paths(void)
{
    json_t *d = doc(D1);
    CHECK_EQ_INT(m("author.name = \"Ada\"", d), 1);
    CHECK_EQ_INT(m("author.langs CONTAINS \"fr\"", d), 1);
    CHECK_EQ_INT(m("author.langs.1 = \"fr\"", d), 1);
    CHECK_EQ_INT(m("author.langs.2 EXISTS", d), 0);
    CHECK_EQ_INT(m("author.name.x EXISTS", d), 0);
    CHECK_EQ_INT(m("metadata.author.name = \"Ada\"", d), 1);
    /* metadata first, then the top level */
    CHECK_EQ_INT(m("id = \"meta-id\"", d), 1);
    CHECK_EQ_INT(m("text STARTSWITH \"hello\"", d), 1);
    CHECK_EQ_INT(m("source = \"src/a.md\"", d), 1);
    json_decref(d);
    json_t *d2 = doc("{\"id\":\"x\",\"doc_id\":\"D\",\"metadata\":{\"my-field\":1,\"naïve\":2}}");
    CHECK_EQ_INT(m("id = \"x\"", d2), 1);
    CHECK_EQ_INT(m("doc_id = \"D\"", d2), 1);
    CHECK_EQ_INT(m("my-field = 1", d2), 1);
    CHECK_EQ_INT(m("naïve = 2", d2), 1);
    json_decref(d2);
    json_t *d3 = doc("{\"id\":\"x\",\"metadata\":\"not an object\"}");
    CHECK_EQ_INT(m("id = \"x\"", d3), 1);
    json_decref(d3);
}

static void test_boolean_logic(void)
{
    json_t *d = doc(D1);
    CHECK_EQ_INT(m("lang = \"en\" AND (year >= 2020 OR tags CONTAINS \"rust\") "
                   "AND NOT source STARTSWITH \"tmp/\"", d), 1);
    CHECK_EQ_INT(m("lang = \"de\" OR year = 2021", d), 1);
    CHECK_EQ_INT(m("lang = \"de\" OR year = 2020", d), 0);
    /* AND binds tighter than OR */
    CHECK_EQ_INT(m("year = 2021 OR year = 1 AND lang = \"de\"", d), 1);
    CHECK_EQ_INT(m("(year = 2021 OR year = 1) AND lang = \"de\"", d), 0);
    CHECK_EQ_INT(m("NOT NOT lang = \"en\"", d), 1);
    CHECK_EQ_INT(m("not (lang = \"en\" and year = 2021)", d), 0);
    CHECK_EQ_INT(m("((((lang = \"en\"))))", d), 1);
    json_decref(d);
    CHECK_EQ_INT(vs_filter_match(NULL, NULL), 1);
}

static void test_strings_and_numbers(void)
{
    json_t *d = doc("{\"metadata\":{\"q\":\"a\\\"b\\\\c\",\"u\":\"\\u00e9\\ud83d\\ude00\","
                    "\"big\":9007199254740993,\"neg\":-2.5,\"e\":1e-3}}");
    CHECK_EQ_INT(m("q = \"a\\\"b\\\\c\"", d), 1);
    CHECK_EQ_INT(m("q = 'a\"b\\\\c'", d), 1);
    CHECK_EQ_INT(m("u = \"\\u00e9\\ud83d\\ude00\"", d), 1);
    CHECK_EQ_INT(m("u = \"é😀\"", d), 1);
    CHECK_EQ_INT(m("big = 9007199254740993", d), 1); /* exact integers */
    CHECK_EQ_INT(m("big = 9007199254740992", d), 0);
    CHECK_EQ_INT(m("neg = -2.5", d), 1);
    CHECK_EQ_INT(m("neg < -2", d), 1);
    CHECK_EQ_INT(m("e = 0.001", d), 1);
    CHECK_EQ_INT(m("e = .001", d), 1);
    json_decref(d);
}

static void test_errors(void)
{
    CHECK_EQ_INT(errcol(""), 1);
    CHECK_EQ_INT(errcol("   "), 4);
    CHECK_EQ_INT(errcol("lang"), 5);
    CHECK_EQ_INT(errcol("lang ="), 7);
    CHECK_EQ_INT(errcol("lang = en"), 8);
    CHECK_EQ_INT(errcol("lang == \"en\""), 6);
    CHECK_EQ_INT(errcol("lang = \"en"), 8);
    CHECK_EQ_INT(errcol("(lang = 1"), 1);
    CHECK_EQ_INT(errcol("lang = 1)"), 9);
    CHECK_EQ_INT(errcol("lang = 1 lang = 2"), 10);
    CHECK_EQ_INT(errcol("x IN [1, 2"), 11);
    CHECK_EQ_INT(errcol("x IN 1"), 6);
    CHECK_EQ_INT(errcol("x STARTSWITH 1"), 14);
    CHECK_EQ_INT(errcol("x NOT = 1"), 7);
    CHECK_EQ_INT(errcol("a = 1 AND"), 10);
    CHECK_EQ_INT(errcol("a = 1 OR OR b = 2"), 10);
    CHECK_EQ_INT(errcol("a = 12abc"), 5);
    CHECK_EQ_INT(errcol("a = \"\\x\""), 6);
    CHECK_EQ_INT(errcol("a. = 1"), 2);
    CHECK_EQ_INT(errcol("a = 1 # 2"), 7);
    CHECK_EQ_INT(errcol("a = 1e999"), 5);
    CHECK_EQ_INT(errcol("AND = 1"), 1);
    /* deep nesting is an error, never a stack overflow */
    char deep[2000];
    memset(deep, '(', 1000);
    strcpy(deep + 1000, "a = 1");
    CHECK(errcol(deep) > 0);
    /* the diag names the column in the detail too */
    struct vs_filter *f = NULL;
    struct vs_diag dg;
    vs_diag_clear(&dg);
    CHECK_EQ_INT(vs_filter_compile("lang = ", &f, &dg), VS_E_FILTER);
    CHECK(f == NULL);
    CHECK(strstr(dg.detail, "column 8") != NULL);
    CHECK_EQ_INT(vs_status_exit(VS_E_FILTER), 2);
}

static void test_text_kept(void)
{
    struct vs_filter *f;
    CHECK_EQ_INT(vs_filter_compile("a = 1", &f, NULL), VS_OK);
    CHECK_EQ_STR(vs_filter_text(f), "a = 1");
    vs_filter_free(f);
    vs_filter_free(NULL);
}

int main(void)
{
    RUN(test_comparisons);
    RUN(test_mixed_types_and_missing);
    RUN(test_in_contains_startswith);
    RUN(test_long_in_list);
    RUN(test_paths);
    RUN(test_boolean_logic);
    RUN(test_strings_and_numbers);
    RUN(test_errors);
    RUN(test_text_kept);
    return vs_test_done();
}
