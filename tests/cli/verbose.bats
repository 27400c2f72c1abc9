#!/usr/bin/env bats
# -v on vs-chunk, vs-ingest, vs-query, vs-rerank, vs-eval and vs-serve (the
# messages it adds, absent without it) and vs-index --stats.
load helpers

BADTP=not-a-traceparent
NOTE="TRACEPARENT '$BADTP' is not a W3C traceparent; starting a new trace"

setup() {
    T=$BATS_TEST_TMPDIR
    unset TRACEPARENT OTEL_EXPORTER_OTLP_ENDPOINT OTEL_EXPORTER_OTLP_TRACES_ENDPOINT \
        OTEL_SDK_DISABLED OTEL_TRACES_EXPORTER
    COL_PID="" SRV_PID=""
    mkdir -p "$T/docs"
    printf '# Alpha\n\nThe first document, about alpha.\n' > "$T/docs/a.md"
    printf 'The second document, plain text.\n' > "$T/docs/b.txt"
    printf '%s\n' '{"id":"a","text":"red apples","vector":[1,0,0]}' \
        '{"id":"b","text":"blue sea","vector":[0,1,0]}' > "$T/recs.ndjson"
    vs-ingest -q "$T/kb.vs" "$T/recs.ndjson"
    printf '{"id":"q1","vector":[1,0.1,0]}\n' > "$T/q.ndjson"
}

teardown() {
    local p
    for p in $SRV_PID $COL_PID; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
}

# with_tracing: an OTLP collector stub on 127.0.0.1, the programs pointed at
# it, and a TRACEPARENT that is not one (the note -v adds)
with_tracing() {
    $PY "$BATS_TEST_DIRNAME/otlp_collector.py" "$T/cport" "$T/spans" &
    COL_PID=$!
    wait_until 60 test -s "$T/cport"
    export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$(cat "$T/cport")"
    export TRACEPARENT=$BADTP
}

# quiet_then_verbose PROG ARGS...: PROG ARGS succeeds without the note on
# stderr, and PROG -v ARGS succeeds with it, as one line
quiet_then_verbose() {
    local prog=$1
    shift
    run_split "$prog" "$@"
    expect_status 0
    [[ "$err" != *"$NOTE"* ]] || { echo "without -v: $err" >&2; return 1; }
    run_split "$prog" -v "$@"
    expect_status 0
    [ "$(printf '%s\n' "$err" | grep -cxF "$prog: $NOTE")" -eq 1 ] ||
        { echo "with -v: $err" >&2; return 1; }
}

@test "-v: vs-chunk, vs-ingest, vs-query, vs-rerank and vs-eval note a TRACEPARENT they cannot use" {
    with_tracing
    quiet_then_verbose vs-chunk --size 40 "$T/docs"
    quiet_then_verbose vs-ingest "$T/kb.vs" "$T/recs.ndjson"
    quiet_then_verbose vs-query "$T/kb.vs" "$T/q.ndjson"
    quiet_then_verbose vs-rerank --queries "$FIXTURES/rerank/queries.jsonl" "$FIXTURES/rerank/hits.jsonl"
    quiet_then_verbose vs-eval --qrels "$FIXTURES/eval/qrels.trec" "$FIXTURES/eval/run.trec"
    # each run still went to the collector as a span
    wait_until 60 test -s "$T/spans"
}

@test "-v, -vv: vs-chunk --since names a missing store, then each file and its format" {
    run_split vs-chunk --size 40 --since "$T/none.vs" "$T/docs"
    expect_status 0
    [ -z "$err" ]
    run_split vs-chunk -v --size 40 --since "$T/none.vs" "$T/docs"
    expect_status 0
    [ "$err" = "vs-chunk: $T/none.vs: no store yet, every file is read" ]
    run_split vs-chunk -v -v --size 40 --since "$T/none.vs" "$T/docs"
    expect_status 0
    # -vv also says which .vecstore.toml applies (or that none does)
    [ "$(printf '%s\n' "$err" | grep -c '^vs-chunk: config: ')" -eq 1 ]
    [ "$(printf '%s\n' "$err" | grep -v '^vs-chunk: config: ' | sort)" = "vs-chunk: $T/docs/a.md: markdown
vs-chunk: $T/docs/b.txt: text
vs-chunk: $T/none.vs: no store yet, every file is read" ]
}

# serve_and_stop ARGS...: vs-serve ARGS on a free port until it says it
# listens, then SIGTERM; its stderr in $T/serve.err
serve_and_stop() {
    vs-serve --listen 127.0.0.1:0 "$@" "$T/kb.vs" >/dev/null 2>"$T/serve.err" &
    SRV_PID=$!
    wait_until 60 grep -q 'listening on' "$T/serve.err"
    kill -TERM "$SRV_PID"
    wait "$SRV_PID"
    SRV_PID=""
}

@test "-v: vs-serve names the signal that stops it" {
    serve_and_stop
    run ! grep -q 'signal' "$T/serve.err"
    serve_and_stop -v
    grep -qx 'vs-serve: signal 15: stopping' "$T/serve.err"
}

@test "vs-index --stats: records_out, elapsed_s and exit as one JSON line on stderr" {
    for sub in export list-ids; do
        run_split vs-index --stats "$sub" "$T/kb.vs"
        expect_status 0
        # export is a marked record stream (docs/streams.md), list-ids a listing
        if [ "$sub" = export ]; then unmark_out vs-index; fi
        [ "$(printf '%s\n' "$out" | wc -l)" -eq 2 ]
        printf '%s\n' "$err" | jq -e '.records_out == 2 and .exit == 0 and .elapsed_s >= 0 and (keys | length) == 3'
    done
    for sub in info verify compact; do
        run_split vs-index -q --stats "$sub" "$T/kb.vs"
        expect_status 0
        printf '%s\n' "$err" | jq -e '.exit == 0 and .elapsed_s >= 0'
    done
    # a failing run reports its exit status too
    run_split vs-index --stats info "$T/none.vs"
    expect_status 4
    [ "$(printf '%s\n' "$err" | head -1)" = "vs-index: error: $T/none.vs: no such store" ]
    printf '%s\n' "$err" | tail -1 | jq -e '.exit == 4'
    # and without --stats there is no JSON
    run_split vs-index export "$T/kb.vs"
    expect_status 0
    [ -z "$err" ]
}
