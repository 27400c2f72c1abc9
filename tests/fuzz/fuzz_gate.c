/* fuzz_gate.c: libFuzzer target for evaluation gate files (YAML, through
 * libyaml; lib/eval/eval_gate.c).
 *
 * The input is written as a gate file and loaded. A load that fails must
 * be a config error (exit class 2) naming the file; one that succeeds is
 * checked against a result holding a value for every measure its rules
 * name, with itself as the baseline: one verdict per rule, each with a
 * pass flag, and the failed count agreeing with them. */
#include <jansson.h>

#include "fuzz.h"
#include "vs_eval.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) { return 0; }

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char path[512];
    fuzz_write("gates.yaml", data, size, path, sizeof path);
    struct vs_eval_gates *g = NULL;
    FUZZ_CHECK(vs_eval_gates_new(&g) == VS_OK);
    struct vs_diag d;
    vs_diag_clear(&d);
    int st = vs_eval_gates_load(g, path, &d);
    if (st != VS_OK) {
        FUZZ_CHECK(st == VS_E_CONFIG || st == VS_E_NOMEM);
        FUZZ_CHECK(strcmp(d.file, path) == 0);
        vs_eval_gates_free(g);
        return 0;
    }
    struct vs_eval_result *res = NULL;
    FUZZ_CHECK(vs_eval_result_new("fuzz", &res) == VS_OK);
    size_t n = vs_eval_gates_count(g);
    for (size_t i = 0; i < n; i++) {
        const char *m = vs_eval_gates_measure(g, i);
        FUZZ_CHECK(m != NULL && *m);
        FUZZ_CHECK(vs_eval_result_set_extra(res, m, 0.5 + (double)i / 64) == VS_OK);
    }
    json_t *verdicts = NULL;
    long failed = 0;
    st = vs_eval_gates_check(g, res, res, &verdicts, &failed, &d);
    FUZZ_CHECK(st == VS_OK);
    FUZZ_CHECK(json_array_size(verdicts) == n);
    long fails = 0;
    size_t i;
    json_t *v;
    json_array_foreach(verdicts, i, v) {
        json_t *pass = json_object_get(v, "pass");
        FUZZ_CHECK(json_is_boolean(pass));
        fails += json_is_false(pass);
    }
    FUZZ_CHECK(fails == failed);
    json_decref(verdicts);
    vs_eval_result_free(res);
    vs_eval_gates_free(g);
    return 0;
}
