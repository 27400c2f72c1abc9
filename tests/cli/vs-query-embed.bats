#!/usr/bin/env bats
# vs-query embeds a text-only query with the store's local model in the
# query role: for e5 models that is the "query: " prefix, as vs-embed --as query.
load helpers

setup_file() {
    export MODELS=$(mktemp -d) VS_MODEL_DIR
    VS_MODEL_DIR=$MODELS   # where vs-query finds the store's model by name
    $PY "$BATS_TEST_DIRNAME/../make_tiny_bert.py" "$MODELS/e5-tiny" --seed 4
}
teardown_file() { rm -rf "$MODELS"; }

@test "vs-query: text queries of an e5 store are embedded as queries" {
    d=$BATS_TEST_TMPDIR
    printf '%s\n' '{"id":"a","text":"boundary layer flow at Mach 3"}' \
                  '{"id":"b","text":"heat transfer in a pipe"}' \
                  '{"id":"c","text":"pressure on a flat plate"}' > "$d/docs.jsonl"
    vs-embed --model "$MODELS/e5-tiny" --as document "$d/docs.jsonl" | vs-ingest -q "$d/s.vs"
    echo '{"id":"q","text":"flow over a plate"}' > "$d/q.jsonl"
    run_split vs-query "$d/s.vs" --mode vector -k 3 --no-text "$d/q.jsonl"
    expect_status 0
    [ -z "$err" ]
    vs-embed --model "$MODELS/e5-tiny" --as query "$d/q.jsonl" |
        vs-query "$d/s.vs" --mode vector -k 3 --no-text > "$d/want_query"
    vs-embed --model "$MODELS/e5-tiny" --as document "$d/q.jsonl" |
        vs-query "$d/s.vs" --mode vector -k 3 --no-text > "$d/want_doc"
    # the same hits and scores as the query-role vector, not the document-role one
    [ "$out" = "$(cat "$d/want_query")" ]
    [ "$out" != "$(cat "$d/want_doc")" ]
}
