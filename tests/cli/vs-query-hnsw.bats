#!/usr/bin/env bats
# HNSW graphs through the programs: vs-ingest --hnsw-m/--ef-construction,
# vs-index info, vs-query --ef/--exact/--explain, deletes and compaction,
# and a store without graphs still searched exactly.
load helpers

setup() {
    S=$(mktemp -d)
    # 3000 random 16-d records (fixed seed); every 10th has metadata.tag = 1
    $PY - "$S" <<'PYEOF'
import json, sys
import numpy as np
rng = np.random.default_rng(5)
x = rng.normal(size=(3000, 16)).astype(np.float32)
with open(sys.argv[1] + "/docs.ndjson", "w") as f:
    for i, v in enumerate(x):
        f.write(json.dumps({"id": "d%04d" % i, "vector": [float(a) for a in v],
                            "metadata": {"tag": int(i % 10 == 0)}}) + "\n")
q = rng.normal(size=(50, 16)).astype(np.float32)
with open(sys.argv[1] + "/q.ndjson", "w") as f:
    for i, v in enumerate(q):
        f.write(json.dumps({"id": "q%d" % i, "vector": [float(a) for a in v]}) + "\n")
PYEOF
    vs-ingest -q --metric l2 --hnsw-m 8 --ef-construction 64 "$S/g.vs" "$S/docs.ndjson"
}
teardown() { rm -rf "$S"; }

@test "vs-index info shows the hnsw settings and section" {
    run_split vs-index info "$S/g.vs"
    expect_status 0
    [[ "$out" == *'"hnsw":{"M":8,"ef_construction":64,"min_rows":1000}'* ]]
    [[ "$out" == *'{"name":"hnsw","codec":"raw","bytes":'* ]]
}

@test "vs-query: graph search agrees with --exact on >= 95% of hits" {
    run_split vs-query -k 10 --no-metadata "$S/g.vs" "$S/q.ndjson"
    expect_status 0
    expect_ndjson
    printf '%s\n' "$out" > "$S/g.out"
    run_split vs-query -k 10 --exact --no-metadata "$S/g.vs" "$S/q.ndjson"
    expect_status 0
    printf '%s\n' "$out" > "$S/e.out"
    $PY - "$S" <<'PYEOF'
import json, sys
d = sys.argv[1]
def load(p):
    r = {}
    for l in open(p):
        o = json.loads(l)
        r.setdefault(o["qid"], set()).add(o["id"])
    return r
g, e = load(d + "/g.out"), load(d + "/e.out")
assert len(e) == 50 and all(len(v) == 10 for v in e.values())
assert all(len(g[q]) == 10 for q in e)
hit = sum(len(g[q] & e[q]) for q in e)
assert hit >= 0.95 * 500, hit
PYEOF
}

@test "vs-query --explain reports the per-segment choice; --exact says exact" {
    run_split vs-query -k 5 --explain --ef 40 "$S/g.vs" "$S/q.ndjson"
    expect_status 0
    first=$(printf '%s\n' "$out" | head -1)
    [[ "$first" == *'"mode":"hnsw"'* ]]
    [[ "$first" == *'"segment_search":[{"segment":0,"method":"hnsw","ef":40,"visited":'* ]]
    run_split vs-query -k 5 --explain --exact "$S/g.vs" "$S/q.ndjson"
    expect_status 0
    first=$(printf '%s\n' "$out" | head -1)
    [[ "$first" == *'"mode":"exact"'* ]]
    [[ "$first" == *'"method":"exact","reason":"exact requested"'* ]]
}

@test "vs-query: a selective filter is scanned exactly and gives k hits" {
    run_split vs-query -k 10 --explain --filter 'metadata.tag = 1' "$S/g.vs" "$S/q.ndjson"
    expect_status 0
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 500 ]
    [[ "$(printf '%s\n' "$out" | head -1)" == *'"method":"hnsw"'* ]] ||
        [[ "$(printf '%s\n' "$out" | head -1)" == *'"method":"exact_filter"'* ]]
    run_split vs-query -k 10 --explain --filter 'id = "d0042" OR id = "d1234"' "$S/g.vs" "$S/q.ndjson"
    expect_status 0
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 100 ]
    [[ "$(printf '%s\n' "$out" | head -1)" == *'"method":"exact_filter"'* ]]
}

@test "deleted records are never returned by graph search" {
    head -n 1500 "$S/docs.ndjson" | $PY -c '
import json, sys
for l in sys.stdin:
    print(json.dumps({"id": json.loads(l)["id"], "op": "delete"}))' > "$S/del.ndjson"
    vs-ingest -q "$S/g.vs" "$S/del.ndjson"
    run_split vs-query -k 10 --no-metadata "$S/g.vs" "$S/q.ndjson"
    expect_status 0
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 500 ]
    ! printf '%s\n' "$out" | grep -qE '"id":"d(0[0-9]{3}|1[0-4][0-9]{2})"'
}

@test "vs-ingest: hnsw options are checked" {
    run_split vs-ingest --hnsw-m 1 "$S/x.vs" "$S/docs.ndjson"
    expect_status 2
    run_split vs-ingest --ef-construction 10 "$S/x.vs" "$S/docs.ndjson"
    expect_status 2
    [[ "$err" == *"--ef-construction needs --hnsw-m"* ]]
    run_split vs-ingest --hnsw-m 12 "$S/g.vs" "$S/docs.ndjson"
    expect_status 3
    [[ "$err" == *"HNSW M 12"* ]]
    run_split vs-query --ef 0 "$S/g.vs" "$S/q.ndjson"
    expect_status 2
}

@test "a store without graphs is searched exactly (no segment_search)" {
    vs-ingest -q --metric l2 "$S/plain.vs" "$S/docs.ndjson"
    run_split vs-query -k 3 --explain "$S/plain.vs" "$S/q.ndjson"
    expect_status 0
    [[ "$(printf '%s\n' "$out" | head -1)" == *'"mode":"exact"'* ]]
    [[ "$(printf '%s\n' "$out" | head -1)" != *'segment_search'* ]]
}
