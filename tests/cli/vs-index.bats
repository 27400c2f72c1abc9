#!/usr/bin/env bats
# vs-index: store administration.
# run_split is called as `run_split ... || true` so that bats' errexit does
# not stop the test on the non-zero statuses we want to check.

load helpers

setup() {
    T=$(mktemp -d)
    S=$T/kb.vs
    SMALL=$FIXTURES/ingest/small.jsonl
}

teardown() {
    rm -rf "$T"
}

info_field() { # info_field STORE KEY
    vs-index info "$1" | $PY -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}

@test "vs-index --help lists the options and matches the man page" {
    run_split vs-index --help || true
    expect_status 0
    [[ "$out" == *"Usage: vs-index"* ]]
    [ -z "$err" ]
    help_matches_man vs-index
}

@test "vs-index: unknown option, unknown subcommand, wrong arguments are usage errors" {
    run_split vs-index --bogus info "$S" || true
    expect_status 2
    [ -z "$out" ]
    run_split vs-index frobnicate "$S" || true
    expect_status 2
    [[ "$err" == *"unknown subcommand 'frobnicate'"* ]]
    run_split vs-index info || true
    expect_status 2
    run_split vs-index snapshot "$S" || true
    expect_status 2
    run_split vs-index info "$S" extra || true
    expect_status 2
    # an option of another subcommand is refused, not ignored
    run_split vs-index export --dim 3 "$S" || true
    expect_status 2
    run_split vs-index info --b64 "$S" || true
    expect_status 2
    run_split vs-index create --dim 0 "$S" || true
    expect_status 2
    run_split vs-index create --metric cosh "$S" || true
    expect_status 2
    [ ! -e "$S" ]
}

@test "vs-index: a missing store is exit 4" {
    for sub in info verify export list-ids compact; do
        run_split vs-index "$sub" "$T/none.vs" || true
        expect_status 4
        [ -z "$out" ]
        [[ "$err" == "vs-index: error: $T/none.vs: no such store" ]]
    done
}

@test "vs-index create: settings are pinned and shown by info" {
    run_split vs-index create --dim 4 --metric dot --model m1 --normalize "$S" || true
    expect_status 0
    [ -z "$out" ]
    run_split vs-index info "$S" || true
    expect_status 0
    expect_ndjson
    $PY -c '
import json, sys
o = json.loads(sys.argv[1])
assert (o["records"], o["tombstones"], o["dimension"], o["metric"], o["normalize"], o["model"]) == (0, 0, 4, "dot", True, "m1"), o
assert o["segments"] == [] and o["generation"] == 1, o
for k in ("bytes_on_disk", "raw_bytes", "compression_ratio", "format_version"):
    assert k in o, k
' "$out"
    run_split vs-index create --dim 4 "$S" || true
    expect_status 4
    [[ "$err" == *"already exists"* ]]
    printf '{"id":"a","vector":[1,2,3]}\n' >"$T/d3.jsonl"
    run_split vs-ingest "$S" "$T/d3.jsonl" || true
    expect_status 3
}

@test "vs-index: empty store exports no records, only the stream's two markers" {
    vs-index create "$S"
    run_split vs-index export "$S" || true
    expect_status 0
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 2 ]
    unmark_out vs-index
    [ -z "$out" ]
    run_split vs-index list-ids "$S" || true
    expect_status 0
    [ -z "$out" ]
    run_split vs-index verify "$S" || true
    expect_status 0
}

@test "vs-index: info, export, list-ids and get on a small store" {
    vs-ingest -q --metric l2 "$S" "$SMALL"
    run_split vs-index export "$S" || true
    expect_status 0
    expect_ndjson
    unmark_out vs-index
    [ "$out" = "$(cat "$FIXTURES/ingest/small.expected.jsonl")" ]
    run_split vs-index list-ids "$S" || true
    expect_status 0
    expect_ndjson
    [ "$(echo "$out" | tr -d '\n')" = '{"id":"doc1"}{"id":"doc2"}{"id":"doc3"}{"id":"doc4"}{"id":"doc5"}' ]
    run_split vs-index get "$S" doc4 doc2 || true
    expect_status 0
    [ "$out" = "$(grep -e '"doc4"' "$FIXTURES/ingest/small.expected.jsonl"; grep -e '"doc2"' "$FIXTURES/ingest/small.expected.jsonl")" ]
    run_split vs-index get "$S" nope || true
    expect_status 1
    [ -z "$out" ]
    [[ "$err" == *"field 'id' names no record: 'nope'"* ]]
    [ "$(info_field "$S" records)" = 5 ]
}

@test "vs-index get: ids from stdin; a malformed line is exit 3 with its line" {
    vs-ingest -q --metric l2 "$S" "$SMALL"
    run_split vs-index get "$S" < <(printf '{"id":"doc3"}\n{"id":"doc1"}\n') || true
    expect_status 0
    [ "$(echo "$out" | $PY -c 'import json,sys; print(" ".join(json.loads(l)["id"] for l in sys.stdin))')" = "doc3 doc1" ]
    run_split vs-index get "$S" < <(printf '{"id":"doc3"}\n{"id":\n') || true
    expect_status 3
    [[ "$err" == "vs-index: error: <stdin>:2:"* ]]
    run_split vs-index get "$S" < <(printf '{"id":"doc3"}\n{"id":"zz"}\n') || true
    expect_status 1
    [[ "$err" == *"<stdin>:2: field 'id' names no record: 'zz'"* ]]
    run_split vs-index get "$S" </dev/null || true
    expect_status 0
    [ -z "$out" ]
}

@test "vs-index export: --b64 and --filter" {
    vs-ingest -q --metric l2 "$S" "$SMALL"
    run_split vs-index export --b64 "$S" || true
    expect_status 0
    expect_ndjson
    [[ "$out" == *'"vector_b64":"AACAPwAAAEAAAEBAAACAQA=="'* ]]
    [[ "$out" != *'"vector":'* ]]
    run_split vs-index export --filter 'lang = "en" AND year >= 2020' "$S" || true
    expect_status 0
    unmark_out vs-index
    [ "$(echo "$out" | $PY -c 'import json,sys; print(" ".join(json.loads(l)["id"] for l in sys.stdin))')" = "doc4 doc5" ]
    run_split vs-index export --filter 'lang = = 1' "$S" || true
    expect_status 2
    [ -z "$out" ]
}

@test "vs-index compact: tombstones go away and space is given back" {
    $PY -c '
for i in range(2000):
    print("{\"id\":\"r%d\",\"text\":\"%s\",\"vector\":[%d,1,2,3]}" % (i, "x" * 100, i))' >"$T/a.jsonl"
    vs-ingest -q --metric l2 "$S" "$T/a.jsonl"
    $PY -c '
for i in range(0, 2000, 2):
    print("{\"id\":\"r%d\",\"op\":\"delete\"}" % i)' | vs-ingest -q "$S"
    [ "$(info_field "$S" tombstones)" = 1000 ]
    before=$(info_field "$S" bytes_on_disk)
    ids=$(vs-index list-ids "$S" | sort)
    run_split vs-index compact "$S" || true
    expect_status 0
    [ -z "$out" ]
    [ "$(info_field "$S" tombstones)" = 0 ]
    [ "$(info_field "$S" records)" = 1000 ]
    after=$(info_field "$S" bytes_on_disk)
    [ "$after" -lt "$before" ]
    [ "$(vs-index list-ids "$S" | sort)" = "$ids" ]
    [ "$(ls "$S" | grep -c -e '^seg-' -e '^del-')" -eq 1 ]
    vs-index verify "$S" >/dev/null
}

@test "vs-index snapshot: a new store of hard links that opens and verifies" {
    vs-ingest -q --metric l2 "$S" "$SMALL"
    printf '{"id":"doc1","op":"delete"}\n' | vs-ingest -q "$S"
    run_split vs-index snapshot "$S" "$T/snap.vs" || true
    expect_status 0
    [ "$(vs-index export "$T/snap.vs")" = "$(vs-index export "$S")" ]
    vs-index verify "$T/snap.vs" >/dev/null
    seg=$(ls "$S" | grep '^seg-' | head -1)
    [ "$(stat -c %i "$S/$seg")" = "$(stat -c %i "$T/snap.vs/$seg")" ]
    # later writes to the store do not change the snapshot
    printf '{"id":"doc2","op":"delete"}\n' | vs-ingest -q "$S"
    vs-index compact "$S"
    [ "$(vs-index list-ids "$T/snap.vs" | wc -l)" -eq 4 ]
    run_split vs-index snapshot "$S" "$T/snap.vs" || true
    expect_status 4
    [[ "$err" == *"$T/snap.vs"* ]]
}

@test "vs-index verify: a healthy store gives a short JSON report" {
    vs-ingest -q --metric l2 "$S" "$SMALL"
    run_split vs-index verify "$S" || true
    expect_status 0
    expect_ndjson
    [ "$out" = "{\"ok\":true,\"store\":\"$S\",\"generation\":1,\"segments\":1,\"records\":5}" ]
}

@test "vs-index: the committed format-version-1 store opens, verifies and exports" {
    F=$FIXTURES/store-v1
    run_split vs-index verify "$F" || true
    expect_status 0
    [[ "$out" == *'"ok":true'* ]]
    run_split vs-index export "$F" || true
    expect_status 0
    unmark_out vs-index
    [ "$out" = "$(cat "$FIXTURES/store-v1.expected.jsonl")" ]
    run_split vs-index info "$F" || true
    $PY -c '
import json, sys
o = json.loads(sys.argv[1])
assert (o["records"], o["tombstones"], o["dimension"], o["metric"], o["model"], o["format_version"]) == (5, 1, 4, "cosine", "fixture-model", 1), o
assert [s["del"] for s in o["segments"]] == ["del-00000001-00000002.vdel", None], o
' "$out"
    # readers leave no trace in the fixture
    [ ! -e "$F/LOCK" ]
    # a copy can be written to by this version
    cp -r "$F" "$T/v1.vs"
    printf '{"id":"doc7","vector":[1,1,1,1],"text":"seven"}\n' | vs-ingest -q "$T/v1.vs"
    [ "$(vs-index list-ids "$T/v1.vs" | wc -l)" -eq 6 ]
}

@test "vs-index: output to /dev/full is exit 5" {
    vs-ingest -q --metric l2 "$S" "$SMALL"
    for sub in export info list-ids verify; do
        vs-index "$sub" "$S" >/dev/full 2>"$T/err" && st=0 || st=$?
        [ "$st" -eq 5 ]
        grep -q "vs-index: error:" "$T/err"
    done
    vs-index get "$S" doc1 >/dev/full 2>"$T/err" && st=0 || st=$?
    [ "$st" -eq 5 ]
}
