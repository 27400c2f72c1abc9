/* test_analyzer.c: folding, accents, segmentation rules, stop words,
 * stemming per language, spec parsing. */
#include "test.h"
#include "vs_internal.h"

struct toks {
    char s[1024]; /* "term@pos term@pos" */
};

static int collect(void *arg, const char *term, size_t len, uint32_t pos)
{
    struct toks *t = arg;
    size_t n = strlen(t->s);
    snprintf(t->s + n, sizeof t->s - n, "%s%.*s@%u", n ? " " : "", (int)len,
             term, pos);
    return VS_OK;
}

/* Analyze text with spec; return the "term@pos ..." string (static). */
static const char *run(const char *spec, const char *text)
{
    static struct toks t;
    struct vs_analyzer *a = NULL;
    struct vs_diag d;
    t.s[0] = '\0';
    if (vs_analyzer_new(spec, &a, &d) != VS_OK)
        return "(spec error)";
    if (vs_analyzer_run(a, text, strlen(text), collect, &t, NULL, &d) != VS_OK)
        snprintf(t.s, sizeof t.s, "(run error)");
    vs_analyzer_free(a);
    return t.s;
}

#define PLAIN "v1;lang=none;stop=none"

static void test_case_folding(void)
{
    CHECK_EQ_STR(run(PLAIN, "Hello WORLD"), "hello@0 world@1");
    CHECK_EQ_STR(run(PLAIN, "Straße ΣΊΣΥΦΟΣ"), "strasse@0 σισυφοσ@1");
    CHECK_EQ_STR(run(PLAIN ";fold=0", "Hello WORLD"), "Hello@0 WORLD@1");
    /* NFKC: ligatures and full-width forms */
    CHECK_EQ_STR(run(PLAIN, "\xEF\xAC\x81le \xEF\xBC\xA1\xEF\xBC\xA2\xEF\xBC\xA3"),
                 "file@0 abc@1");
}

static void test_accents(void)
{
    CHECK_EQ_STR(run(PLAIN, "Café naïve Ångström"), "cafe@0 naive@1 angstrom@2");
    /* decomposed input (e + combining acute) gives the same */
    CHECK_EQ_STR(run(PLAIN, "Cafe\xCC\x81"), "cafe@0");
    CHECK_EQ_STR(run(PLAIN ";marks=keep", "Café Cafe\xCC\x81"), "café@0 café@1");
}

static void test_hyphens_and_punctuation(void)
{
    CHECK_EQ_STR(run(PLAIN, "e-mail"), "e@0 mail@1");
    CHECK_EQ_STR(run(PLAIN, "COVID-19, (IL-6)!"), "covid@0 19@1 il@2 6@3");
    CHECK_EQ_STR(run(PLAIN, "a.b snake_case x/y"), "a@0 b@1 snake@2 case@3 x@4 y@5");
    CHECK_EQ_STR(run(PLAIN, ""), "");
    CHECK_EQ_STR(run(PLAIN, "  ...  "), "");
}

static void test_numbers(void)
{
    CHECK_EQ_STR(run(PLAIN, "pi is 3.14. Costs 1,000 in v1.2"),
                 "pi@0 is@1 3.14@2 costs@3 1000@4 in@5 v1.2@6");
    CHECK_EQ_STR(run(PLAIN, "1990s .5 5."), "1990s@0 5@1 5@2");
}

static void test_apostrophes(void)
{
    CHECK_EQ_STR(run(PLAIN, "don't John's o\xE2\x80\x99neill 'quoted'"),
                 "dont@0 john@1 oneill@2 quoted@3");
}

static void test_stop_words(void)
{
    CHECK_EQ_STR(run("v1;lang=none;stop=en", "The state of the art"),
                 "state@1 art@4");
    CHECK_EQ_STR(run("v1;lang=none;stop=en", "not against"), "not@0 against@1");
    struct vs_analyzer *a;
    struct vs_diag d;
    CHECK_EQ_INT(vs_analyzer_new("v1;stop=en", &a, &d), VS_OK);
    CHECK(vs_analyzer_is_stop(a, "the", 3));
    CHECK(vs_analyzer_is_stop(a, "yourselves", 10));
    CHECK(!vs_analyzer_is_stop(a, "cat", 3));
    vs_analyzer_free(a);
}

static void test_stemming_languages(void)
{
    CHECK_EQ_STR(run("v1;lang=english;stop=none", "running runs generously cats"),
                 "run@0 run@1 generous@2 cat@3");
    CHECK_EQ_STR(run("v1;lang=porter;stop=none", "generalization"), "gener@0");
    CHECK_EQ_STR(run("v1;lang=german;stop=none;marks=keep", "Häuser"), "haus@0");
    CHECK_EQ_STR(run("v1;lang=french;stop=none;marks=keep", "continuellement"),
                 "continuel@0");
    CHECK_EQ_STR(run("v1;lang=spanish;stop=none", "corriendo"), "corr@0");
    /* tokens with digits are not stemmed */
    CHECK_EQ_STR(run("v1;lang=english;stop=none", "1990s covid19s"),
                 "1990s@0 covid19s@1");
    int found = 0;
    for (const char **l = vs_analyzer_languages(); *l; l++)
        found += strcmp(*l, "english") == 0;
    CHECK_EQ_INT(found, 1);
}

static void test_scripts_and_bad_bytes(void)
{
    CHECK_EQ_STR(run(PLAIN, "東京大学 tokyo"), "東@0 京@1 大@2 学@3 tokyo@4");
    CHECK_EQ_STR(run(PLAIN, "ab\xff" "cd \xc3"), "ab@0 cd@1");
    const char nul[] = "ab\0cd";
    struct toks t = {{0}};
    struct vs_analyzer *a;
    struct vs_diag d;
    CHECK_EQ_INT(vs_analyzer_new(PLAIN, &a, &d), VS_OK);
    uint32_t npos = 0;
    CHECK_EQ_INT(vs_analyzer_run(a, nul, 5, collect, &t, &npos, &d), VS_OK);
    CHECK_EQ_STR(t.s, "ab@0 cd@1");
    CHECK_EQ_INT(npos, 2);
    /* an over-long token is dropped but keeps its position */
    char big[400];
    memset(big, 'x', 300);
    strcpy(big + 300, " ok");
    t.s[0] = '\0';
    CHECK_EQ_INT(vs_analyzer_run(a, big, strlen(big), collect, &t, &npos, &d), VS_OK);
    CHECK_EQ_STR(t.s, "ok@1");
    vs_analyzer_free(a);
}

/* The token cache must never change the answer: analyze a long text of many
 * distinct tokens (forcing evictions) twice with one analyzer and once
 * with a fresh one per token, and compare. */
static void test_cache_consistency(void)
{
    size_t n = 40000, cap = n * 24;
    char *text = malloc(cap);
    size_t len = 0;
    unsigned seed = 7;
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        static const char *const stems[] = {"running", "the", "Nation", "cats",
                                            "generalization", "of", "x"};
        len += (size_t)snprintf(text + len, cap - len, "%s%u ",
                                stems[(seed >> 16) % 7], (seed >> 8) % 3000);
        if (i % 5 == 0)
            len += (size_t)snprintf(text + len, cap - len, "%s ",
                                    stems[(seed >> 20) % 7]);
    }
    struct toks *t1 = calloc(1, sizeof *t1);
    struct vs_analyzer *a;
    struct vs_diag d;
    CHECK_EQ_INT(vs_analyzer_new(NULL, &a, &d), VS_OK);
    /* digest of all terms: sum of a rolling hash (toks.s is too small) */
    unsigned long h1 = 0, h2 = 0;
    for (int pass = 0; pass < 2; pass++) {
        unsigned long *h = pass ? &h2 : &h1;
        const char *p = text;
        while (*p) {
            const char *e = strchr(p, ' ');
            t1->s[0] = '\0';
            CHECK_EQ_INT(vs_analyzer_run(a, p, (size_t)(e - p), collect, t1, NULL, &d),
                         VS_OK);
            for (const char *c = t1->s; *c; c++)
                *h = *h * 31 + (unsigned char)*c;
            p = e + 1;
        }
    }
    CHECK(h1 == h2);
    CHECK(h1 != 0);
    /* the warm analyzer agrees with a fresh one, token by token */
    struct toks *t2 = calloc(1, sizeof *t2);
    const char *p = text;
    int same = 1;
    for (int i = 0; i < 300 && *p; i++) {
        const char *e = strchr(p, ' ');
        struct vs_analyzer *f;
        CHECK_EQ_INT(vs_analyzer_new(NULL, &f, &d), VS_OK);
        t1->s[0] = t2->s[0] = '\0';
        vs_analyzer_run(f, p, (size_t)(e - p), collect, t1, NULL, &d);
        vs_analyzer_run(a, p, (size_t)(e - p), collect, t2, NULL, &d);
        same &= strcmp(t1->s, t2->s) == 0;
        vs_analyzer_free(f);
        p = e + 1;
    }
    CHECK(same);
    vs_analyzer_free(a);
    free(t2);
    free(t1);
    free(text);
}

static int stop_at_two(void *arg, const char *term, size_t len, uint32_t pos)
{
    (void)term, (void)len;
    ++*(int *)arg;
    return pos == 1 ? VS_E_INTERNAL : VS_OK;
}

static void test_emit_can_stop(void)
{
    struct vs_analyzer *a;
    struct vs_diag d;
    int n = 0;
    CHECK_EQ_INT(vs_analyzer_new(PLAIN, &a, &d), VS_OK);
    CHECK_EQ_INT(vs_analyzer_run(a, "a b c d", 7, stop_at_two, &n, NULL, &d),
                 VS_E_INTERNAL);
    CHECK_EQ_INT(n, 2);
    vs_analyzer_free(a);
}

static void test_spec(void)
{
    struct vs_analyzer *a;
    struct vs_diag d;
    CHECK_EQ_INT(vs_analyzer_new(NULL, &a, &d), VS_OK);
    CHECK_EQ_STR(vs_analyzer_id(a), VS_ANALYZER_DEFAULT);
    vs_analyzer_free(a);
    CHECK_EQ_INT(vs_analyzer_new("v1;marks=keep;fold=0;lang=porter", &a, &d), VS_OK);
    CHECK_EQ_STR(vs_analyzer_id(a), "v1;lang=porter;stop=en;fold=0;marks=keep");
    /* the id builds the same analyzer again */
    struct vs_analyzer *b;
    CHECK_EQ_INT(vs_analyzer_new(vs_analyzer_id(a), &b, &d), VS_OK);
    CHECK_EQ_STR(vs_analyzer_id(b), vs_analyzer_id(a));
    vs_analyzer_free(b);
    vs_analyzer_free(a);
    CHECK_EQ_INT(vs_analyzer_new("v2;lang=english", &a, &d), VS_E_CONFIG);
    CHECK_EQ_INT(vs_analyzer_new("v1;lang=klingon", &a, &d), VS_E_CONFIG);
    CHECK(strstr(d.detail, "klingon") != NULL);
    CHECK_EQ_INT(vs_analyzer_new("v1;colour=blue", &a, &d), VS_E_CONFIG);
    CHECK_EQ_INT(vs_analyzer_new("v1;fold=yes", &a, &d), VS_E_CONFIG);
    CHECK_EQ_INT(vs_analyzer_new("v1;stop", &a, &d), VS_E_CONFIG);
    CHECK(a == NULL);
    vs_analyzer_free(NULL);
}

int main(void)
{
    RUN(test_case_folding);
    RUN(test_accents);
    RUN(test_hyphens_and_punctuation);
    RUN(test_numbers);
    RUN(test_apostrophes);
    RUN(test_stop_words);
    RUN(test_stemming_languages);
    RUN(test_scripts_and_bad_bytes);
    RUN(test_cache_consistency);
    RUN(test_emit_can_stop);
    RUN(test_spec);
    return vs_test_done();
}
