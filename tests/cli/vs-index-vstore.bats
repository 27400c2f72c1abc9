#!/usr/bin/env bats
# vs-index create --vector-storage f16: a store whose segments keep half
# floats; ingest, query (exact and HNSW), verify, compact, export and
# snapshot work on it, scores are within f16 rounding of a float32 store's,
# the manifest is format version 2, and bad settings or values are refused.
load helpers

setup() {
    T=$(mktemp -d)
    cd "$T"
    # 1200 random 32-d records (fixed seed) and 20 queries
    $PY - <<'PYEOF'
import json
import numpy as np
rng = np.random.default_rng(3)
x = rng.normal(size=(1200, 32)).astype(np.float32)
with open("docs.ndjson", "w") as f:
    for i, v in enumerate(x):
        f.write(json.dumps({"id": "d%04d" % i, "vector": [float(a) for a in v],
                            "text": "row %d" % i}) + "\n")
q = rng.normal(size=(20, 32)).astype(np.float32)
with open("q.ndjson", "w") as f:
    for i, v in enumerate(q):
        f.write(json.dumps({"id": "q%d" % i, "vector": [float(a) for a in v]}) + "\n")
PYEOF
}
teardown() { rm -rf "$T"; }

# info_py STORE: run the Python on stdin with `vs-index info STORE` in o
info_py() {
    local code
    code=$(cat)
    vs-index info "$1" | $PY -c 'import json, sys
o = json.load(sys.stdin)
'"$code"
}

@test "--vector-storage f16: half the vector bytes, version 2, same hits as float32 within f16 rounding" {
    for k in float32 f16; do
        run_split vs-index create "$k.vs" --metric l2 --hnsw-m 8 --ef-construction 40 --seed 1 \
            --vector-storage "$k"
        expect_status 0
        [ -z "$out" ]
        vs-ingest -q "$k.vs" docs.ndjson
    done
    # info names the setting, the format version and the section's codec
    info_py f16.vs <<'EOF' > f16.txt
v = next(s for s in o["segments"][0]["sections"] if s["name"] == "vectors")
print(o["vector_storage"], o["format_version"], v["codec"], v["bytes"], v["raw_bytes"])
EOF
    [ "$(cat f16.txt)" = "f16 2 f16 76800 153600" ]
    info_py float32.vs <<'EOF' > f32.txt
v = next(s for s in o["segments"][0]["sections"] if s["name"] == "vectors")
print(o["vector_storage"], o["format_version"], v["bytes"])
EOF
    [ "$(cat f32.txt)" = "float32 1 153600" ]
    grep -q '"version": 2,' f16.vs/MANIFEST
    grep -q '"vector_storage": "f16"' f16.vs/MANIFEST
    run ! grep -q vector_storage float32.vs/MANIFEST
    # exact and HNSW: the same ids, distances within f16 rounding
    for mode in --exact "--ef 64"; do
        # shellcheck disable=SC2086
        run_split vs-query -k 5 $mode f16.vs q.ndjson
        expect_status 0
        [ -z "$err" ]
        printf '%s\n' "$out" > h16.ndjson
        # shellcheck disable=SC2086
        vs-query -k 5 $mode float32.vs q.ndjson > h32.ndjson
        $PY - <<'EOF'
import json
a = [json.loads(l) for l in open("h32.ndjson") if '"qid"' in l]
b = [json.loads(l) for l in open("h16.ndjson") if '"qid"' in l]
assert len(a) == len(b) == 100, (len(a), len(b))
same = sum(x["id"] == y["id"] for x, y in zip(a, b))
assert same >= 98, same
for x, y in zip(a, b):
    if x["id"] == y["id"]:
        assert abs(x["distance"] - y["distance"]) <= 2e-3 * x["distance"] + 1e-3, (x, y)
assert any(x["distance"] != y["distance"] for x, y in zip(a, b))  # really f16
EOF
    done
}

@test "an f16 store verifies, compacts, exports, snapshots; records keep their f16 values" {
    vs-index -q create s.vs --metric l2 --hnsw-m 8 --vector-storage f16
    head -600 docs.ndjson | vs-ingest -q s.vs
    tail -600 docs.ndjson | vs-ingest -q s.vs
    printf '{"id":"d0001","op":"delete"}\n' | vs-ingest -q s.vs
    run_split vs-index verify s.vs
    expect_status 0
    [[ "$out" == '{"ok":true,"store":"s.vs",'*'"records":1199}' ]]
    run_split vs-index compact s.vs
    expect_status 0
    [ "$(ls s.vs/*.vseg | wc -l)" -eq 1 ]
    run_split vs-index verify s.vs
    expect_status 0
    [[ "$out" == *'"segments":1,"records":1199}' ]]
    vs-index export s.vs > exp.ndjson
    vs-index -q snapshot s.vs snap.vs
    vs-index export snap.vs > snap.ndjson
    cmp exp.ndjson snap.ndjson
    # every exported vector is the f16 rounding of the ingested one
    $PY - <<'EOF'
import json
import numpy as np
src = {r["id"]: r["vector"] for r in map(json.loads, open("docs.ndjson"))}
out = [json.loads(l) for l in open("exp.ndjson") if '"vector"' in l]
assert len(out) == 1199 and "d0001" not in {r["id"] for r in out}
for r in out:
    want = np.array(src[r["id"]], np.float32).astype(np.float16).astype(np.float32)
    assert np.array_equal(np.array(r["vector"], np.float32), want), r["id"]
EOF
}

@test "--vector-storage: an unknown kind or another subcommand is exit 2; a value beyond f16 is exit 3" {
    run_split vs-index create x.vs --vector-storage f8
    expect_status 2
    [ -z "$out" ]
    [[ "$err" == *"unknown --vector-storage 'f8' (float32, f16)"* ]]
    [ ! -e x.vs ]
    vs-index -q create s.vs --metric dot --vector-storage f16
    run_split vs-index info s.vs --vector-storage f16
    expect_status 2
    [[ "$err" == *"--vector-storage only apply to 'create'"* ]]
    head -3 docs.ndjson | vs-ingest -q s.vs
    before=$(cat s.vs/MANIFEST)
    printf '{"id":"big","vector":[70000,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}\n' > big.ndjson
    run_split vs-ingest s.vs big.ndjson
    expect_status 3
    [ -z "$out" ]
    [[ "$err" == *"big.ndjson:1: field 'vector'"*"outside f16's range"* ]]
    [ "$(cat s.vs/MANIFEST)" = "$before" ]
}

@test "a version 2 manifest must name its vector storage, and only f16" {
    vs-index -q create s.vs --dim 32 --vector-storage f16
    fix() {
        $PY -c 'import ctypes, json, sys
xx = ctypes.CDLL("libxxhash.so.0")
xx.XXH64.restype = ctypes.c_uint64
xx.XXH64.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint64]
p = "s.vs/MANIFEST"
t = open(p).read()
m = json.loads(t[: t.rindex("xxh64 ")])
exec(sys.argv[1])
body = (json.dumps(m, indent=1) + "\n").encode()
open(p, "wb").write(body + b"xxh64 %016x\n" % xx.XXH64(body, len(body), 0))' "$1"
    }
    fix 'm["vector_storage"] = "bf16"'
    run_split vs-index info s.vs
    expect_status 4
    [[ "$err" == *"manifest is damaged: invalid vector_storage"* ]]
    fix 'del m["vector_storage"]'
    run_split vs-index info s.vs
    expect_status 4
    [[ "$err" == *"invalid vector_storage"* ]]
    fix 'm["version"] = 3'
    run_split vs-index info s.vs
    expect_status 4
    [[ "$err" == *"store format version 3 is not supported (this build reads versions 1 and 2)"* ]]
}
