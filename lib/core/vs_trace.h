/* vs_trace.h: OpenTelemetry spans exported over OTLP/HTTP with the JSON
 * encoding, and W3C trace context (traceparent) parsing. Used by vs-serve
 * (a server span per request and its children) and by every batch program
 * through cmd/cli.c (one span per process, parented to $TRACEPARENT).
 *
 * Configuration is the standard OTEL_* environment (see lib/trace.c's
 * header); with no endpoint set, vs_otlp_new_from_env gives NULL and every
 * other call is a no-op on NULL, so callers need no tracing switch.
 *
 * Ids are lowercase hex strings: trace ids 32 digits, span ids 16, held in
 * char arrays of VS_TRACE_ID_LEN and VS_SPAN_ID_LEN bytes (with the NUL).
 *
 * json_t rules: vs_otlp_span steals attrs.
 */
#ifndef VS_TRACE_H
#define VS_TRACE_H

#include <jansson.h>
#include <stdint.h>

#include "vs_status.h"

#define VS_TRACE_ID_LEN 33
#define VS_SPAN_ID_LEN 17

struct vs_otlp;

/* How the exporter behaves. */
enum {
    /* a long-running process (vs-serve): retries with backoff */
    VS_OTLP_SERVER = 0,
    /* a batch program flushing once at exit: no retries and a connect
     * timeout of at most 1 s, so an unreachable collector costs little */
    VS_OTLP_BATCH = 1
};

/* An exporter configured from the OTEL_* variables, with service as the
 * default service.name. VS_OK with *out NULL when tracing is off (no
 * endpoint, OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none).
 * Errors: VS_E_UNSUPPORTED (a protocol other than http/json, an exporter
 * other than otlp/none), VS_E_NOMEM, VS_E_INTERNAL (no thread). */
int vs_otlp_new_from_env(const char *service, int mode, struct vs_otlp **out,
                         struct vs_diag *d);
/* Export what is queued (each POST bounded by the export timeout) and
 * stop the background thread; later spans are dropped. vs_otlp_counts is
 * final afterwards. Accepts NULL. */
void vs_otlp_shutdown(struct vs_otlp *x);
/* Shut down (as above) and free. Accepts NULL. */
void vs_otlp_free(struct vs_otlp *x);
/* Queue one span: ids as hex, parent_id NULL or "" for a root span, kind
 * 1 internal, 2 server, 3 client; times in Unix nanoseconds; error sets
 * the status code to ERROR. attrs: a JSON array of OTLP KeyValue objects
 * (see vs_trace_attr_*) or NULL; stolen. Never blocks on the network: a
 * full queue drops the span (counted). */
void vs_otlp_span(struct vs_otlp *x, const char *trace_id, const char *span_id,
                  const char *parent_id, const char *name, int kind,
                  uint64_t start_ns, uint64_t end_ns, int error, json_t *attrs);
/* Spans exported, dropped (queue full) and failed (the POST failed). */
void vs_otlp_counts(struct vs_otlp *x, uint64_t *exported, uint64_t *dropped,
                    uint64_t *failed);
/* The URL spans are posted to ("" for NULL). */
const char *vs_otlp_url(const struct vs_otlp *x);

/* W3C traceparent "00-<32 hex>-<16 hex>-<2 hex>" (lowercase, ids not all
 * zeros, version ff refused, a later version may carry more after a '-'):
 * 0 with trace_id and parent_id (may be NULL) filled, -1 when s is NULL or
 * not valid. */
int vs_trace_parse_traceparent(const char *s, char trace_id[VS_TRACE_ID_LEN],
                               char parent_id[VS_SPAN_ID_LEN]);
/* nbytes (8 or 16) random bytes as 2*nbytes lowercase hex digits and a
 * NUL: 0, or -1 when nbytes is neither or no randomness could be had.
 * From a per-thread generator seeded once from getrandom (trace.c): a
 * thread's ids never repeat and cannot be predicted from earlier ones. */
int vs_trace_random_hex(char *out, size_t nbytes);
/* SipHash-2-4 of the 8-byte little-endian message m under the key
 * (k0, k1), the generator's function (exposed for its test vector). */
uint64_t vs_trace_siphash_u64(uint64_t k0, uint64_t k1, uint64_t m);
/* Wall-clock time in Unix nanoseconds (span times). */
uint64_t vs_trace_now_ns(void);

/* OTLP KeyValue objects (new references, NULL on no memory): a string, an
 * integer (int64 as a decimal string, as the JSON mapping has it), a
 * double. */
json_t *vs_trace_attr_s(const char *key, const char *v);
json_t *vs_trace_attr_i(const char *key, long long v);
json_t *vs_trace_attr_d(const char *key, double v);

#endif
