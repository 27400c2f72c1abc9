/* fuzz_filter.c: libFuzzer target for the filter language
 * (lib/core/filter.c).
 *
 * The input (up to its first NUL) is compiled. A filter that compiles must
 * keep its text, compile again from that text, and match each of a few
 * documents exactly when NOT (filter) does not (docs/filter.md: NOT is
 * plain negation whatever the fields hold). A filter that does not compile
 * must name a column inside the text (or just past it). */
#include <jansson.h>

#include "fuzz.h"
#include "vs_filter.h"

static json_t *docs[6];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *const text[] = {
        ("{\"id\":\"a\",\"text\":\"alpha\",\"source\":\"docs/a.md\","
         "\"metadata\":{\"lang\":\"en\",\"year\":2021,\"tags\":[\"rust\",\"c\"],"
         "\"n\":{\"x\":1.5,\"y\":null},\"ok\":true}}"),
        ("{\"id\":\"b\",\"text\":\"beta\",\"source\":\"tmp/b.txt\","
         "\"metadata\":{\"lang\":\"de\",\"year\":\"2019\",\"tags\":\"c\",\"ok\":false}}"),
        "{\"id\":\"c\"}",
        "{\"id\":\"d\",\"metadata\":{\"year\":-1e300,\"a\":{\"b\":{\"c\":[1,[2,3]]}}}}",
        "{\"id\":\"\\u00e9\",\"metadata\":{\"lang\":\"\\u00e9n\",\"tags\":[]}}",
        "{\"id\":\"f\",\"doc_id\":\"x\",\"chunk\":3,\"metadata\":[]}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        json_error_t je;
        docs[i] = json_loads(text[i], 0, &je);
        if (!docs[i])
            abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *expr = fuzz_str(data, size);
    size_t len = strlen(expr);
    struct vs_filter *f = NULL, *f2 = NULL, *nf = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    int st = vs_filter_compile(expr, &f, &d);
    FUZZ_CHECK(st == VS_OK || st == VS_E_FILTER);
    if (st != VS_OK) {
        FUZZ_CHECK(f == NULL);
        FUZZ_CHECK(d.col >= 1 && (size_t)d.col <= len + 1);
        free(expr);
        return 0;
    }
    FUZZ_CHECK(strcmp(vs_filter_text(f), expr) == 0);
    FUZZ_CHECK(vs_filter_compile(vs_filter_text(f), &f2, &d) == VS_OK);
    char *neg = malloc(len + 16);
    FUZZ_CHECK(neg != NULL);
    snprintf(neg, len + 16, "NOT (%s)", expr);
    int nst = vs_filter_compile(neg, &nf, &d);
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        int m = vs_filter_match(f, docs[i]);
        FUZZ_CHECK(m == 0 || m == 1);
        FUZZ_CHECK(vs_filter_match(f2, docs[i]) == m);
        if (nst == VS_OK)
            FUZZ_CHECK(vs_filter_match(nf, docs[i]) == !m);
    }
    vs_filter_free(nf);
    vs_filter_free(f2);
    vs_filter_free(f);
    free(neg);
    free(expr);
    return 0;
}
