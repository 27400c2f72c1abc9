#!/usr/bin/env bats
# vs-embed --model use-lite against the vectors the model's own JavaScript
# runtime produced ($VS_DATA/golden/use-lite-vectors.jsonl). Skipped when
# the model has not been fetched (scripts/get-model.sh use-lite).
load helpers

setup() {
    SCRATCH=$(mktemp -d)
    export VS_CACHE_DIR="$SCRATCH/cache"
    export VS_MODEL_DIR="$VS_FETCHED_MODELS" MD="$VS_FETCHED_MODELS"
}
teardown() { rm -rf "$SCRATCH"; }

need_model() {
    [ -r "$MD/use-lite/model.json" ] || skip "no use-lite model (scripts/get-model.sh use-lite)"
    need_data
    [ -r "$VS_DATA/golden/use-lite-vectors.jsonl" ] || skip "no $VS_DATA/golden/use-lite-vectors.jsonl"
}

@test "vs-embed use-lite: vectors match the JavaScript runtime (cosine > 0.9999); rerun is all cache hits" {
    need_model
    $PY -c '
import json, sys
for i, l in enumerate(open(sys.argv[1])):
    print(json.dumps({"id": i, "text": json.loads(l)["text"]}))
' "$VS_DATA/golden/use-lite-vectors.jsonl" > "$SCRATCH/in.jsonl"
    run_split vs-embed --model use-lite --stats "$SCRATCH/in.jsonl"
    expect_status 0
    expect_ndjson
    printf '%s\n' "$out" > "$SCRATCH/got.jsonl"
    $PY -c '
import json, sys, numpy as np
want = [json.loads(l)["vector"] for l in open(sys.argv[1])]
got = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
assert len(got) == len(want) == 49, (len(got), len(want))
for g, w in zip(got, want):
    a, b = np.array(g["vector"]), np.array(w)
    c = a @ b / np.linalg.norm(a) / np.linalg.norm(b)
    assert c > 0.9999, (g["id"], c)
    assert g["vector_model"].startswith("use-lite@"), g["vector_model"]
' "$VS_DATA/golden/use-lite-vectors.jsonl" "$SCRATCH/got.jsonl"
    first="$out"
    run_split vs-embed --model use-lite --stats "$SCRATCH/in.jsonl"
    expect_status 0
    [ "$out" = "$first" ]
    [[ "$err" == *'"cache_hits":49,"cache_misses":0'* ]]
}

@test "vs-embed use-lite: missing model is exit 2; wrong dimension or checksum refused" {
    run_split env VS_MODEL_DIR="$SCRATCH/none" vs-embed --model use-lite < /dev/null || true
    expect_status 2
    [[ "$err" == *"not available"* ]]
    need_model
    echo '{"text":"hello"}' > "$SCRATCH/in.jsonl"
    run_split vs-embed --model use-lite --dim 384 "$SCRATCH/in.jsonl" || true
    expect_status 2
    run_split vs-embed --model use-lite@0000000000000000 "$SCRATCH/in.jsonl" || true
    [ "$status" -ne 0 ]
    [[ "$err" == *"other weights"* ]]
}
