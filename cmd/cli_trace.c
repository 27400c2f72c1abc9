/* cli_trace.c: the process span of a batch program and its stages, exported
 * over OTLP/HTTP at exit when the OTEL_* variables ask for it. */
#include "cli.h"

#include <stdlib.h>

#include "vs_trace.h"

void vs_cli_no_trace(void) { vs_cli.no_trace = 1; }

void vs_cli_stage(const char *name)
{
    int n = vs_cli.nstages;
    if (n >= (int)(sizeof vs_cli.stage / sizeof vs_cli.stage[0]))
        return;
    vs_cli.stage[n] = name;
    vs_cli.stage_ns[n] = vs_trace_now_ns();
    vs_cli.nstages = n + 1;
}

void vs_cli_trace_export(int code)
{
    struct vs_otlp *x = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    if (vs_cli.no_trace)
        return;
    if (vs_otlp_new_from_env(vs_cli.prog, VS_OTLP_BATCH, &x, &d) != VS_OK) {
        vs_cli_warn("tracing off: %s", d.detail);
        return;
    }
    if (!x)
        return;
    char trace_id[VS_TRACE_ID_LEN], parent[VS_SPAN_ID_LEN] = "", span[VS_SPAN_ID_LEN];
    const char *tp = getenv("TRACEPARENT");
    if (vs_trace_parse_traceparent(tp, trace_id, parent) != 0) {
        if (tp && *tp)
            vs_cli_info(1, "TRACEPARENT '%.80s' is not a W3C traceparent; starting a new trace", tp);
        parent[0] = 0;
        if (vs_trace_random_hex(trace_id, 16) != 0) {
            vs_otlp_free(x);
            return;
        }
    }
    if (vs_trace_random_hex(span, 8) != 0) {
        vs_otlp_free(x);
        return;
    }
    json_t *attrs = json_array();
    json_array_append_new(attrs, vs_trace_attr_s("process.executable.name", vs_cli.prog));
    json_array_append_new(attrs, vs_trace_attr_i("process.exit.code", code));
    const char *k;
    json_t *v;
    json_object_foreach(vs_cli.stat, k, v) {
        char key[160];
        snprintf(key, sizeof key, "vecstore.%s", k);
        if (json_is_integer(v))
            json_array_append_new(attrs, vs_trace_attr_i(key, (long long)json_integer_value(v)));
        else if (json_is_real(v))
            json_array_append_new(attrs, vs_trace_attr_d(key, json_real_value(v)));
        else if (json_is_string(v))
            json_array_append_new(attrs, vs_trace_attr_s(key, json_string_value(v)));
    }
    uint64_t end = vs_trace_now_ns();
    for (int i = 0; i < vs_cli.nstages; i++) {
        char id[VS_SPAN_ID_LEN];
        if (vs_trace_random_hex(id, 8) == 0)
            vs_otlp_span(x, trace_id, id, span, vs_cli.stage[i], 1, vs_cli.stage_ns[i],
                         i + 1 < vs_cli.nstages ? vs_cli.stage_ns[i + 1] : end, 0, NULL);
    }
    vs_otlp_span(x, trace_id, span, parent, vs_cli.prog, 1, vs_cli.t0_ns, end,
                 code != 0 && code != VS_EXIT_NEGATIVE, attrs);
    vs_otlp_shutdown(x);
    uint64_t exported, dropped, failed;
    vs_otlp_counts(x, &exported, &dropped, &failed);
    if (failed || dropped)
        vs_cli_warn("could not export the trace spans to '%s'", vs_otlp_url(x));
    vs_otlp_free(x);
}
