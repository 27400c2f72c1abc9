/* fuzz_config.c: libFuzzer target for the .vecstore.toml parser
 * (lib/core/config.c).
 *
 * The input is parsed as a config text. On success every key listed must
 * be found again by name, with a value, a line inside the text, and for an
 * array as many elements as it says; a failure must be a config error with
 * a line and column inside the text. */
#include "fuzz.h"
#include "vs_config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) { return 0; }

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    struct vs_config *c = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    long nlines = 1;
    for (size_t i = 0; i < size; i++)
        nlines += data[i] == '\n';
    int st = vs_config_parse((const char *)data, size, "fuzz.toml", &c, &d);
    FUZZ_CHECK(st == VS_OK || st == VS_E_CONFIG);
    if (st != VS_OK) {
        FUZZ_CHECK(c == NULL);
        FUZZ_CHECK(d.line >= 1 && d.line <= nlines);
        FUZZ_CHECK(d.col >= 0);
        return 0;
    }
    size_t n = vs_config_count(c);
    for (size_t i = 0; i < n; i++) {
        const char *key = vs_config_key(c, i);
        FUZZ_CHECK(key != NULL);
        long line = vs_config_key_line(c, i);
        FUZZ_CHECK(line >= 1 && line <= nlines);
        FUZZ_CHECK(vs_config_get(c, key) != NULL);
        size_t na = 0;
        if (vs_config_array(c, key, &na)) {
            for (size_t j = 0; j < na; j++)
                FUZZ_CHECK(vs_config_array_get(c, key, j) != NULL);
            FUZZ_CHECK(vs_config_array_get(c, key, na) == NULL);
        }
    }
    FUZZ_CHECK(vs_config_key(c, n) == NULL || n == 0);
    FUZZ_CHECK(vs_config_key_line(c, n) == 0);
    vs_config_free(c);
    return 0;
}
