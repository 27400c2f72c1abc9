#!/usr/bin/env bats
# Messages for missing fields (issue 17): every program, and the HTTP API,
# says which field is missing, in one wording: "FILE:LINE: field 'F' is
# missing (why)" on the command line, {"message": "field 'F' is missing
# (why)", "field": "F", "line": N} over HTTP.
load helpers

setup() {
    cd "$BATS_TEST_TMPDIR"
    printf '{"id":"a","text":"wal mode journal","vector":[1,0,0]}\n{"id":"b","text":"partial index","vector":[0,1,0]}\n' |
        vs-ingest -q kb.vs
}

# the first line of $err
err1() { printf '%s\n' "$err" | head -1; }

@test "messages: a missing field is named, with the line, by every program" {
    run_split vs-chunk <<< '{"text":"no id"}'
    expect_status 3
    [ "$(err1)" = "vs-chunk: error: <stdin>:1: field 'id' is missing" ]
    run_split vs-embed --model hash <<< '{"id":"a"}'
    expect_status 3
    [ "$(err1)" = "vs-embed: error: <stdin>:1: field 'text' is missing" ]
    run_split vs-ingest kb.vs <<< '{"vector":[1,0,0]}'
    expect_status 3
    [ "$(err1)" = "vs-ingest: error: <stdin>:1: field 'id' is missing" ]
    run_split vs-query kb.vs <<< '{"vector":[1,0,0]}'
    expect_status 3
    [ "$(err1)" = "vs-query: error: <stdin>:1: field 'id' is missing (each query needs an \"id\" or a BEIR \"_id\")" ]
    run_split vs-rerank --method bm25 <<< '{"id":"a","score":1,"text":"wal"}'
    expect_status 3
    [ "$(err1)" = "vs-rerank: error: <stdin>:1: field 'qid' is missing" ]
    run_split vs-rerank --method bm25 <<< '{"qid":"q","id":"a","score":1}'
    expect_status 3
    [ "$(err1)" = "vs-rerank: error: <stdin>:1: field 'text' is missing (method bm25 scores the hit's text)" ]
    printf '{"qid":"q","id":"a"}\n' > run.ndjson
    run_split vs-query --fuse run.ndjson
    expect_status 3
    [ "$(err1)" = "vs-query: error: run.ndjson:1: field 'score' is missing" ]
    [ -z "$out" ]
}

@test "messages: vs-rerank without query text says which query and how to give it" {
    run_split vs-rerank --method bm25 <<< '{"qid":"wal","id":"a","score":1,"text":"wal mode"}'
    expect_status 3
    [ -z "$out" ]
    [ "$err" = "vs-rerank: error: <stdin>:1: no text for query 'wal': give --queries FILE, or a \"query\" field on its hits" ]
}

@test "messages: the HTTP API names the missing field as the programs do" {
    start_server kb.vs
    post() { curl -s -X POST "$U/v1/stores/kb/$1" -d "$2"; }
    run_split post query '{"text":"wal"}'
    [ "$out" = '{"error":{"code":"field","message":"field '"'id'"' is missing (each query needs an \"id\" or a BEIR \"_id\")","line":1,"field":"id"}}' ]
    run_split post query '{"id":"q","vector":[1,0]}'
    [ "$out" = '{"error":{"code":"dimension","message":"field '"'vector'"' has 2 numbers, store '"'kb.vs'"' has dimension 3","line":1,"field":"vector"}}' ]
    run_split post upsert '{"vector":[1,0,0]}'
    [ "$out" = '{"error":{"code":"field","message":"field '"'id'"' is missing (a record to upsert needs one)","line":1,"field":"id"}}' ]
    run_split post upsert '{"id":"c"}'
    [[ "$out" == '{"error":{"code":"field","message":"field '"'vector'"' is missing (a record to upsert needs '* ]]
    run_split post delete '{"id":3}'
    [ "$out" = '{"error":{"code":"field","message":"field '"'id'"' must be a string","line":1,"field":"id"}}' ]
    run_split post delete '{}'
    [ "$out" = '{"error":{"code":"field","message":"field '"'id'"' is missing (a delete names a record by its id)","line":1,"field":"id"}}' ]
    kill "$SRV_PID"
    wait "$SRV_PID" || true
}
