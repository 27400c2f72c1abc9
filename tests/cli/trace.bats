#!/usr/bin/env bats
# Tracing of the batch programs (cmd/cli_trace.c): with the OTEL_* variables each
# program exports one span for its run over OTLP/HTTP JSON, a child of
# $TRACEPARENT, to a collector stub on 127.0.0.1; without them nothing is
# sent; a collector that cannot be reached is a warning, never an exit code.
load helpers

TP_TRACE=4bf92f3577b34da6a3ce929d0e0e4736
TP_PARENT=00f067aa0ba902b7
TP="00-$TP_TRACE-$TP_PARENT-01"

setup() {
    unset TRACEPARENT OTEL_EXPORTER_OTLP_ENDPOINT OTEL_EXPORTER_OTLP_TRACES_ENDPOINT \
        OTEL_SERVICE_NAME OTEL_SDK_DISABLED OTEL_TRACES_EXPORTER OTEL_EXPORTER_OTLP_PROTOCOL \
        OTEL_RESOURCE_ATTRIBUTES OTEL_EXPORTER_OTLP_HEADERS
    COL_PID=""
    printf '{"id":"a","text":"red apples and pears"}\n{"id":"b","text":"blue sea and sky"}\n' \
        > "$BATS_TEST_TMPDIR/docs.ndjson"
    vs-embed --dim 16 "$BATS_TEST_TMPDIR/docs.ndjson" | vs-ingest -q "$BATS_TEST_TMPDIR/kb.vs"
    printf '{"id":"q1","text":"apples"}\n' > "$BATS_TEST_TMPDIR/q.ndjson"
}

teardown() {
    if [ -n "$COL_PID" ]; then
        kill "$COL_PID" 2>/dev/null || true
        wait "$COL_PID" 2>/dev/null || true
    fi
}

# start_collector: the stub on a free port; sets COL (its base URL).
start_collector() {
    $PY "$BATS_TEST_DIRNAME/otlp_collector.py" "$BATS_TEST_TMPDIR/cport" "$BATS_TEST_TMPDIR/spans" &
    COL_PID=$!
    local i
    for i in $(seq 100); do [ -s "$BATS_TEST_TMPDIR/cport" ] && break; sleep 0.05; done
    COL="http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/cport")"
    touch "$BATS_TEST_TMPDIR/spans"
}

# pipeline: vs-embed | vs-query --stats on the test store, output in
# $BATS_TEST_TMPDIR/out (the --stats values become span attributes)
pipeline() {
    vs-embed --dim 16 --as query "$BATS_TEST_TMPDIR/q.ndjson" 2>"$BATS_TEST_TMPDIR/err1" |
        vs-query --stats -k 1 "$BATS_TEST_TMPDIR/kb.vs" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err2"
}

@test "trace: TRACEPARENT=... vs-embed | vs-query gives two spans of one trace under the given span" {
    start_collector
    export OTEL_EXPORTER_OTLP_ENDPOINT="$COL" TRACEPARENT="$TP" OTEL_RESOURCE_ATTRIBUTES="deployment.environment=test"
    pipeline
    [ ! -s "$BATS_TEST_TMPDIR/err1" ]
    [[ "$(cat "$BATS_TEST_TMPDIR/err2")" == '{"queries":1,'* ]] # --stats only
    out=$(cat "$BATS_TEST_TMPDIR/out")
    [ -n "$out" ]
    expect_ndjson
    $PY - "$BATS_TEST_TMPDIR/spans" "$TP_TRACE" "$TP_PARENT" <<'PYEOF'
import json, re, sys
spans = []
for l in open(sys.argv[1]):
    for rs in json.loads(l)["resourceSpans"]:
        res = {a["key"]: a["value"]["stringValue"] for a in rs["resource"]["attributes"]}
        assert res["deployment.environment"] == "test", res
        for ss in rs["scopeSpans"]:
            assert ss["scope"]["name"] == "vecstore"
            for s in ss["spans"]:
                s["service"] = res["service.name"]
                spans.append(s)
top = [s for s in spans if s["name"].startswith("vs-")]
stages = [s for s in spans if not s["name"].startswith("vs-")]
names = sorted(s["name"] for s in top)
assert names == ["vs-embed", "vs-query"], names
# the stages of each run are child spans of its span, in order, inside it
for prog, want in (("vs-embed", ["model", "embed"]), ("vs-query", ["open", "search"])):
    p = [s for s in top if s["name"] == prog][0]
    kids = sorted((s for s in stages if s.get("parentSpanId") == p["spanId"]),
                  key=lambda s: int(s["startTimeUnixNano"]))
    assert [k["name"] for k in kids] == want, (prog, kids)
    for k in kids:
        assert k["traceId"] == sys.argv[2] and k["service"] == prog, k
        assert int(p["startTimeUnixNano"]) <= int(k["startTimeUnixNano"]) <= int(k["endTimeUnixNano"]) <= int(p["endTimeUnixNano"]), (k, p)
    assert kids[0]["endTimeUnixNano"] == kids[1]["startTimeUnixNano"]
assert len(stages) == 4, stages
spans = top
for s in spans:
    assert s["service"] == s["name"], s
    assert s["traceId"] == sys.argv[2], s
    assert s["parentSpanId"] == sys.argv[3], s
    assert re.fullmatch(r"[0-9a-f]{16}", s["spanId"]) and s["spanId"] != sys.argv[3], s
    assert int(s["endTimeUnixNano"]) >= int(s["startTimeUnixNano"]) > 1.6e18, s
    assert s["status"] == {"code": 0}, s
    a = {x["key"]: x["value"] for x in s["attributes"]}
    assert a["process.exit.code"] == {"intValue": "0"}, a
assert spans[0]["spanId"] != spans[1]["spanId"]
q = [s for s in spans if s["name"] == "vs-query"][0]
a = {x["key"]: x["value"] for x in q["attributes"]}
assert a["vecstore.queries"] == {"intValue": "1"}, a
PYEOF
}

@test "trace: nothing is sent without the OTEL variables, or when they switch tracing off" {
    start_collector
    export TRACEPARENT="$TP"
    pipeline
    [ -s "$BATS_TEST_TMPDIR/out" ]
    OTEL_EXPORTER_OTLP_ENDPOINT="$COL" OTEL_SDK_DISABLED=true pipeline
    OTEL_EXPORTER_OTLP_ENDPOINT="$COL" OTEL_TRACES_EXPORTER=none pipeline
    sleep 0.2
    [ ! -s "$BATS_TEST_TMPDIR/spans" ]
    # the same collector gets spans once the endpoint is set (the stub works)
    OTEL_EXPORTER_OTLP_ENDPOINT="$COL" pipeline
    [ -s "$BATS_TEST_TMPDIR/spans" ]
}

@test "trace: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is the full URL; OTEL_SERVICE_NAME names the service" {
    start_collector
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="$COL/v1/traces" OTEL_SERVICE_NAME=nightly \
        run_split vs-query -k 1 "$BATS_TEST_TMPDIR/kb.vs" < <(vs-embed --dim 16 "$BATS_TEST_TMPDIR/q.ndjson")
    expect_status 0
    $PY - "$BATS_TEST_TMPDIR/spans" <<'PYEOF'
import json, sys
rs = [r for l in open(sys.argv[1]) for r in json.loads(l)["resourceSpans"]]
assert len(rs) == 1
res = {a["key"]: a["value"]["stringValue"] for a in rs[0]["resource"]["attributes"]}
assert res["service.name"] == "nightly", res
s = rs[0]["scopeSpans"][0]["spans"]
s = [x for x in s if x["name"] == "vs-query"]
assert len(s) == 1 and "parentSpanId" not in s[0], s
PYEOF
}

@test "trace: a failed run keeps its exit code; its span has status error and the code" {
    start_collector
    printf '{"id":"q1","vector":[1,2]}\nnot json\n' > "$BATS_TEST_TMPDIR/bad.ndjson"
    OTEL_EXPORTER_OTLP_ENDPOINT="$COL" TRACEPARENT="$TP" \
        run_split vs-query "$BATS_TEST_TMPDIR/kb.vs" "$BATS_TEST_TMPDIR/bad.ndjson"
    expect_status 3
    [[ "$err" == *":1:"* ]]
    $PY - "$BATS_TEST_TMPDIR/spans" <<'PYEOF'
import json, sys
s = [s for l in open(sys.argv[1]) for r in json.loads(l)["resourceSpans"]
     for ss in r["scopeSpans"] for s in ss["spans"]]
s = [x for x in s if x["name"] == "vs-query"]
assert len(s) == 1 and s[0]["status"] == {"code": 2}, s
a = {x["key"]: x["value"] for x in s[0]["attributes"]}
assert a["process.exit.code"] == {"intValue": "3"}, a
PYEOF
}

@test "trace: an unreachable collector is one warning; output and exit code are unchanged" {
    pipeline
    cp "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/plain"
    export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:9 TRACEPARENT="$TP"
    run_split vs-query --stats -k 1 "$BATS_TEST_TMPDIR/kb.vs" < <(vs-embed --dim 16 --as query "$BATS_TEST_TMPDIR/q.ndjson" 2>/dev/null)
    expect_status 0
    [ "$out" = "$(cat "$BATS_TEST_TMPDIR/plain")" ]
    [[ "$err" == '{"queries":1,'*"
vs-query: warning: could not export the trace spans to 'http://127.0.0.1:9/v1/traces'" ]]
    # -q silences it; the exit code of a failure stays
    run_split vs-query -q "$BATS_TEST_TMPDIR/kb.vs" < <(printf 'nope\n')
    expect_status 3
    [[ "$err" != *warning* ]]
    # an unsupported protocol turns tracing off with a warning, exit 0
    OTEL_EXPORTER_OTLP_PROTOCOL=grpc run_split vs-query -k 1 "$BATS_TEST_TMPDIR/kb.vs" < "$BATS_TEST_TMPDIR/q.ndjson"
    expect_status 0
    [[ "$err" == *"warning: tracing off:"*"http/json"* ]]
}

@test "trace: an invalid TRACEPARENT starts a new trace" {
    start_collector
    OTEL_EXPORTER_OTLP_ENDPOINT="$COL" TRACEPARENT="00-$TP_TRACE-0000000000000000-01" \
        run_split vs-index info "$BATS_TEST_TMPDIR/kb.vs"
    expect_status 0
    $PY - "$BATS_TEST_TMPDIR/spans" "$TP_TRACE" <<'PYEOF'
import json, re, sys
s = [s for l in open(sys.argv[1]) for r in json.loads(l)["resourceSpans"]
     for ss in r["scopeSpans"] for s in ss["spans"]]
assert len(s) == 1 and s[0]["name"] == "vs-index", s
assert "parentSpanId" not in s[0] and s[0]["traceId"] != sys.argv[2], s
assert re.fullmatch(r"[0-9a-f]{32}", s[0]["traceId"]), s
PYEOF
}
