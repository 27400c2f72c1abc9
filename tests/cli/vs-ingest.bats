#!/usr/bin/env bats
# vs-ingest: the only writer of a store.

load helpers

setup() {
    T=$(mktemp -d)
    S=$T/kb.vs
    SMALL=$FIXTURES/ingest/small.jsonl
}

teardown() {
    rm -rf "$T"
}

@test "vs-ingest --help lists the options and matches the man page" {
    run_split vs-ingest --help || true
    expect_status 0
    [[ "$out" == *"Usage: vs-ingest"* ]]
    [ -z "$err" ]
    help_matches_man vs-ingest
}

@test "vs-ingest: unknown option is a usage error" {
    run_split vs-ingest --no-such-option "$S" || true
    expect_status 2
    [ -z "$out" ]
    [[ "$err" == *"--help"* ]]
    [ ! -e "$S" ]
}

@test "vs-ingest: missing STORE and bad option values are usage errors" {
    run_split vs-ingest || true
    expect_status 2
    [[ "$err" == *"missing STORE"* ]]
    run_split vs-ingest --metric hamming "$S" "$SMALL" || true
    expect_status 2
    [[ "$err" == *"unknown metric 'hamming'"* ]]
    run_split vs-ingest --commit-every 0 "$S" "$SMALL" || true
    expect_status 2
    [ ! -e "$S" ]
}

@test "vs-ingest: empty input creates nothing and commits nothing" {
    run_split vs-ingest "$S" </dev/null || true
    expect_status 0
    [ -z "$out" ]
    [[ "$err" == *"0 records read"* ]]
    [ ! -e "$S" ]
    vs-index create "$S" --dim 4
    run_split vs-ingest "$S" </dev/null || true
    expect_status 0
    run_split vs-index info "$S" || true
    [ "$($PY -c 'import json,sys; o=json.loads(sys.argv[1]); print(o["records"], o["generation"])' "$out")" = "0 1" ]
}

@test "vs-ingest: happy path, stored records match the expected export" {
    run_split vs-ingest --metric l2 "$S" "$SMALL" || true
    expect_status 0
    [ -z "$out" ]
    [ "$err" = "vs-ingest: $S: 5 records read, 5 upserts, 0 deletes, 0 skipped, 1 commits; generation 1 holds 5 records" ]
    run_split vs-index export "$S" || true
    expect_status 0
    expect_ndjson
    [ "$out" = "$(cat "$FIXTURES/ingest/small.expected.jsonl")" ]
}

@test "vs-ingest: -q prints nothing; --stats prints counters" {
    run_split vs-ingest -q --stats --metric l2 "$S" "$SMALL" || true
    expect_status 0
    [ -z "$out" ]
    $PY -c '
import json, sys
o = json.loads(sys.argv[1])
assert o["records_in"] == 5 and o["upserts"] == 5 and o["commits"] == 1, o
assert o["skipped"] == 0 and o["deletes"] == 0 and o["exit"] == 0, o
assert "elapsed_s" in o
' "$err"
}

@test "vs-ingest: malformed line gives exit 3 with FILE:LINE and commits nothing" {
    vs-ingest -q --metric l2 "$S" "$SMALL"
    before=$(vs-index export "$S")
    printf '%s\n' '{"id":"n1","vector":[1,2,3,4]}' '{"id":"n2","vector":[1,2' '{"id":"n3","vector":[1,2,3,4]}' >"$T/bad.jsonl"
    run_split vs-ingest "$S" "$T/bad.jsonl" || true
    expect_status 3
    [ -z "$out" ]
    [[ "$err" == "vs-ingest: error: $T/bad.jsonl:2:"* ]]
    [ "$(vs-index export "$S")" = "$before" ]
    # on stdin the name is <stdin>
    run_split vs-ingest "$S" <"$T/bad.jsonl" || true
    expect_status 3
    [[ "$err" == *"<stdin>:2:"* ]]
}

@test "vs-ingest: --keep-going skips bad records with a warning and commits the rest" {
    printf '%s\n' '{"id":"n1","vector":[1,2,3,4]}' 'not json' '{"vector":[1,1,1,1]}' \
        '{"id":"n4","vector":[1,2,3]}' '{"id":"n5","vector":[4,3,2,1]}' >"$T/mixed.jsonl"
    run_split vs-ingest --keep-going --stats "$S" "$T/mixed.jsonl" || true
    expect_status 0
    [[ "$err" == *"warning: $T/mixed.jsonl:2:"* ]]
    [[ "$err" == *"warning: $T/mixed.jsonl:3: field 'id'"* ]]
    [[ "$err" == *"warning: $T/mixed.jsonl:4: field 'vector' has 3 numbers"* ]]
    [[ "$err" == *'"skipped":3'* ]]
    [ "$(vs-index list-ids "$S" | tr -d '\n')" = '{"id":"n1"}{"id":"n5"}' ]
}

@test "vs-ingest: dimension mismatch is exit 3 and leaves the store unchanged" {
    vs-ingest -q --metric l2 "$S" "$SMALL"
    before=$(vs-index export "$S")
    gen=$(vs-index info "$S")
    printf '%s\n' '{"id":"new","vector":[1,2,3,4]}' '{"id":"x","vector":[1,2,3]}' >"$T/dim.jsonl"
    run_split vs-ingest "$S" "$T/dim.jsonl" || true
    expect_status 3
    [[ "$err" == *"$T/dim.jsonl:2: field 'vector' has 3 numbers, store '$S' has dimension 4"* ]]
    [ "$(vs-index export "$S")" = "$before" ]
    [ "$(vs-index info "$S")" = "$gen" ]
}

@test "vs-ingest: model mismatch is exit 3; --model pins and checks the model" {
    run_split vs-ingest --model m1 "$S" "$SMALL" || true
    expect_status 0
    [[ "$(vs-index info "$S")" == *'"model":"m1"'* ]]
    printf '{"id":"z","vector":[1,2,3,4],"vector_model":"m2"}\n' >"$T/m.jsonl"
    run_split vs-ingest "$S" "$T/m.jsonl" || true
    expect_status 3
    [[ "$err" == *":1: field 'vector_model' is 'm2', store '$S' holds vectors of 'm1'"* ]]
    printf '{"id":"z","vector":[1,2,3,4]}\n' >"$T/m2.jsonl"
    run_split vs-ingest --model m2 "$S" "$T/m2.jsonl" || true
    expect_status 3
    run_split vs-ingest --metric dot "$S" "$T/m2.jsonl" || true
    expect_status 3
    [[ "$err" == *"option --metric is 'dot', the store uses 'cosine'"* ]]
    [ "$(vs-index list-ids "$S" | wc -l)" -eq 5 ]
}

@test "vs-ingest: missing id, missing vector, NaN in vector_b64 are exit 3" {
    printf '{"text":"no id","vector":[1,2]}\n' >"$T/a.jsonl"
    run_split vs-ingest "$S" "$T/a.jsonl" || true
    expect_status 3
    [[ "$err" == *"a.jsonl:1: field 'id' is missing"* ]]
    printf '{"id":"a","text":"no vector"}\n' >"$T/b.jsonl"
    run_split vs-ingest "$S" "$T/b.jsonl" || true
    expect_status 3
    [[ "$err" == *"b.jsonl:1: field 'vector'"* ]]
    nan=$($PY -c 'import base64,struct; print(base64.b64encode(struct.pack("<2f", 1.0, float("nan"))).decode())')
    printf '{"id":"a","vector_b64":"%s"}\n' "$nan" >"$T/c.jsonl"
    run_split vs-ingest "$S" "$T/c.jsonl" || true
    expect_status 3
    [[ "$err" == *"c.jsonl:1: field 'vector_b64'"*"finite"* ]]
    printf '{"id":"a","vector":[0,0]}\n' >"$T/d.jsonl"
    run_split vs-ingest "$S" "$T/d.jsonl" || true
    expect_status 3
    [[ "$err" == *"cannot be normalised"* ]]
    [ ! -e "$S" ]
}

@test "vs-ingest: upserts replace, deletes by id and by filter" {
    vs-ingest -q --metric l2 "$S" "$SMALL"
    printf '%s\n' '{"id":"doc1","op":"delete"}' '{"id":"nope","op":"delete"}' \
        '{"id":"doc2","text":"replaced","vector":[9,9,9,9]}' \
        '{"op":"delete","filter":"lang = \"de\" OR year >= 2024"}' >"$T/ops.jsonl"
    run_split vs-ingest --stats "$S" "$T/ops.jsonl" || true
    expect_status 0
    [[ "$err" == *'"deletes":3'* ]]
    run_split vs-index export "$S" || true
    expect_status 0
    [ "$(printf '%s\n' "$out" | $PY -c '
import json, sys
print(" ".join(sorted(json.loads(l)["id"] + ":" + json.loads(l).get("text", "") for l in sys.stdin)))')" = "doc2:replaced doc4:A dog sleeps." ]
    printf '{"op":"delete","filter":"lang = = 1"}\n' >"$T/badf.jsonl"
    run_split vs-ingest "$S" "$T/badf.jsonl" || true
    expect_status 3
    [[ "$err" == *"badf.jsonl:1:"* ]]
    printf '{"id":"x","op":"frobnicate","vector":[1,1,1,1]}\n' >"$T/op.jsonl"
    run_split vs-ingest "$S" "$T/op.jsonl" || true
    expect_status 3
    [[ "$err" == *"field 'op'"* ]]
}

@test "vs-ingest: export then re-ingest gives an identical store" {
    vs-ingest -q --metric dot "$S" "$SMALL"
    vs-index export "$S" >"$T/e1.jsonl"
    vs-index export --b64 "$S" >"$T/e1b.jsonl"
    vs-ingest -q --metric dot "$T/copy.vs" "$T/e1.jsonl"
    vs-ingest -q --metric dot "$T/copyb.vs" "$T/e1b.jsonl"
    [ "$(vs-index export "$T/copy.vs")" = "$(cat "$T/e1.jsonl")" ]
    [ "$(vs-index export "$T/copyb.vs")" = "$(cat "$T/e1.jsonl")" ]
}

@test "vs-ingest: --commit-every commits in steps and keeps segments few" {
    $PY -c '
for i in range(1000):
    print("{\"id\":\"r%d\",\"vector\":[%d,1]}" % (i, i))' >"$T/many.jsonl"
    run_split vs-ingest --stats --metric l2 --commit-every 10 "$S" "$T/many.jsonl" || true
    expect_status 0
    [[ "$err" == *'"commits":100'* ]]
    run_split vs-index info "$S" || true
    $PY -c '
import json, sys
o = json.loads(sys.argv[1])
assert o["records"] == 1000 and o["generation"] == 100, o
assert len(o["segments"]) <= 8, len(o["segments"])
' "$out"
}

@test "vs-ingest: settings come from the environment and the config file" {
    printf '[ingest]\nmetric = "l2"\n' >"$T/vs.toml"
    run_split vs-ingest --config "$T/vs.toml" "$S" "$SMALL" || true
    expect_status 0
    [[ "$(vs-index info "$S")" == *'"metric":"l2"'* ]]
    VS_INGEST_METRIC=dot run_split vs-ingest --config "$T/vs.toml" "$T/b.vs" "$SMALL" || true
    expect_status 0
    [[ "$(vs-index info "$T/b.vs")" == *'"metric":"dot"'* ]]
    VS_INGEST_METRIC=dot run_split vs-ingest --metric cosine --config "$T/vs.toml" "$T/c.vs" "$SMALL" || true
    [[ "$(vs-index info "$T/c.vs")" == *'"metric":"cosine"'* ]]
}

@test "vs-ingest: a store path that cannot be created is a system error; not a store is 4" {
    run_split vs-ingest /proc/no/such/kb.vs "$SMALL" || true
    expect_status 5
    [[ "$err" == "vs-ingest: error: /proc/no/such/kb.vs: cannot create the store"* ]]
    mkdir "$T/notastore"
    echo hi >"$T/notastore/file"
    run_split vs-ingest "$T/notastore" "$SMALL" || true
    expect_status 4
    [[ "$err" == *"not a store"* ]]
    [ "$(ls "$T/notastore")" = file ]
}

@test "vs-ingest: stdout is unused, so /dev/full does not matter; export to /dev/full is 5" {
    vs-ingest -q --metric l2 "$S" "$SMALL" >/dev/full
    vs-index export "$S" >/dev/full 2>"$T/e" && st=0 || st=$?
    [ "$st" -eq 5 ]
    [[ "$(cat "$T/e")" == *"vs-index: error:"* ]]
}
