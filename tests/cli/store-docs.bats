#!/usr/bin/env bats
# Stored records (docs) in segments with a docs dictionary (section 9,
# docs/store-format.md "Docs blocks"): tests/fixtures/store-docdict was
# written by the build that introduced the section (1000 records, 24-d
# cosine, no graph) and must keep opening, verifying and reading back the
# same records in every later build.

load helpers

setup() {
    cd "$BATS_TEST_TMPDIR"
    F=$FIXTURES/store-docdict
}

@test "store-docs: the committed store with a docs dictionary verifies and exports the same records" {
    run_split vs-index verify "$F" || true
    expect_status 0
    [ "$out" = "{\"ok\":true,\"store\":\"$F\",\"generation\":2,\"segments\":1,\"records\":1000}" ]
    run_split vs-index info "$F" || true
    expect_status 0
    [[ "$out" == *'{"name":"docdict","codec":"raw","bytes":2048,"raw_bytes":2048}'* ]]
    run_split vs-index export "$F" || true
    expect_status 0
    [ -z "$err" ]
    unmark_out vs-index
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 1000 ]
    [ "$(printf '%s\n' "$out" | sha256sum | cut -d' ' -f1)" = \
      "e54a5ead4a7c31658cde7b80baa56cd861e37178d80b1c1c175606a9c758144e" ]
    line=$(printf '%s\n' "$out" | sed -n 538p)
    [[ "$line" == '{"id":"r537","text":"record 537 about topic 52","metadata":{"n":537,"group":"g7","source":"docs/file4.md"},"vector":['* ]]
    # readers leave no trace in the fixture
    [ ! -e "$F/LOCK" ]
}

@test "store-docs: hits read their own records from dictionary blocks, in any order" {
    # 50 queries (the vectors of rows 0, 20, ..., 980), 10 hits each: every
    # hit's text and metadata are those of its id
    vs-index export "$F" | $PY -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if "id" in r and int(r["id"][1:]) % 20 == 0:
        print(json.dumps({"id": "q" + r["id"], "vector": r["vector"]}))
' > q.ndjson
    [ "$(wc -l < q.ndjson)" -eq 50 ]
    run_split vs-query -k 10 --threads 2 "$F" q.ndjson || true
    expect_status 0
    [ -z "$err" ]
    printf '%s\n' "$out" | $PY -c '
import json, sys
n = 0
for l in sys.stdin:
    h = json.loads(l)
    i = int(h["id"][1:])
    assert h["text"] == f"record {i} about topic {i % 97}", h
    assert h["metadata"] == {"n": i, "group": f"g{i % 10}", "source": f"docs/file{i % 13}.md"}, h
    n += 1
assert n == 500, n
'
}

@test "store-docs: a store with a docs dictionary takes new records and compacts" {
    cp -r "$F" kb.vs
    printf '{"id":"new1","vector":[%s],"text":"one more"}\n' "$(seq -s, 1 24)" | vs-ingest -q kb.vs
    run_split vs-index compact kb.vs || true
    expect_status 0
    run_split vs-index verify kb.vs || true
    expect_status 0
    [[ "$out" == *'"records":1001}'* ]]
    run_split vs-index export kb.vs || true
    expect_status 0
    unmark_out vs-index
    [ "$(printf '%s\n' "$out" | grep -c '"text":"record ')" -eq 1000 ]
    [[ "$out" == *'{"id":"new1","text":"one more","vector":['* ]]
}
