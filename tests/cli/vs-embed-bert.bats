#!/usr/bin/env bats
# vs-embed with BERT-family model folders: a small BERT with random weights
# generated here (tests/make_tiny_bert.py, a real safetensors file), checked
# against an independent numpy forward pass (tests/bert_ref.py) to 1e-4.
load helpers

MK="$BATS_TEST_DIRNAME/../make_tiny_bert.py"
REF="$BATS_TEST_DIRNAME/../bert_ref.py"

setup_file() {
    export MODELS=$(mktemp -d)
    $PY "$BATS_TEST_DIRNAME/../make_tiny_bert.py" "$MODELS/tiny"
    $PY "$BATS_TEST_DIRNAME/../make_tiny_bert.py" "$MODELS/tiny-other" --seed 2
    $PY "$BATS_TEST_DIRNAME/../make_tiny_bert.py" "$MODELS/tiny-f16" --dtype F16 \
        --pooling cls --act gelu_new --prefix bert. --layers 3 --seed 3 \
        --max-seq 16
    $PY "$BATS_TEST_DIRNAME/../make_tiny_bert.py" "$MODELS/e5-tiny" --seed 4
    cat > "$MODELS/texts.jsonl" <<'EOT'
{"id":"a","text":"The boundary layer flow, at Mach 3."}
{"id":"b","text":"heat transfer"}
{"id":"c","text":"Pressure distribution on a flat plate; shock wave theory (results) for high speed air."}
{"id":"d","text":"Café théorie: ÉTUDE of the wing body effects!"}
{"id":"e","text":"x"}
{"id":"f","text":"The effect of the number of layers on the model of the flow of air over the wing at high mach number and low pressure"}
EOT
}

teardown_file() { rm -rf "$MODELS"; }

setup() {
    SCRATCH=$(mktemp -d)
    export VS_CACHE_DIR="$SCRATCH/cache"
}
teardown() { rm -rf "$SCRATCH"; }

# Compare vectors (and the truncated flag) of NDJSON file $1 with the
# reference output $2, within 1e-4.
match_ref() {
    $PY -c '
import json, sys
got = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
want = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
assert len(got) == len(want), (len(got), len(want))
for g, w in zip(got, want):
    a, b = g["vector"], w["vector"]
    assert len(a) == len(b), (len(a), len(b))
    d = max(abs(x - y) for x, y in zip(a, b))
    assert d <= 1e-4, (g["id"], d)
    assert g.get("truncated", False) == w["truncated"], g["id"]
' "$1" "$2"
}

@test "vs-embed bert: a random-weight BERT (F32, mean pooling) matches the numpy reference" {
    run_split vs-embed --model "$MODELS/tiny" "$MODELS/texts.jsonl"
    expect_status 0
    [ -z "$err" ]
    expect_ndjson
    printf '%s\n' "$out" > "$SCRATCH/got.jsonl"
    $PY "$REF" "$MODELS/tiny" < "$MODELS/texts.jsonl" > "$SCRATCH/want.jsonl"
    match_ref "$SCRATCH/got.jsonl" "$SCRATCH/want.jsonl"
    # 32-dimensional vectors, the identity is name@xxh64 of the weights
    printf '%s\n' "$out" | $PY -c '
import json, re, sys
for l in sys.stdin:
    o = json.loads(l)
    assert len(o["vector"]) == 32
    assert re.fullmatch(r"tiny@[0-9a-f]{16}", o["vector_model"]), o["vector_model"]
'
}

@test "vs-embed bert: F16 weights, CLS pooling, tanh GELU, bert. prefix, truncation" {
    run_split vs-embed --model "$MODELS/tiny-f16" --stats "$MODELS/texts.jsonl"
    expect_status 0
    printf '%s\n' "$out" > "$SCRATCH/got.jsonl"
    $PY "$REF" "$MODELS/tiny-f16" < "$MODELS/texts.jsonl" > "$SCRATCH/want.jsonl"
    match_ref "$SCRATCH/got.jsonl" "$SCRATCH/want.jsonl"
    # max_seq_length 16 cuts the long texts (c, d, f), not the short ones
    # (the short ones carry no "truncated" field at all)
    [ "$(jq -r 'select(.truncated == true) | .id' "$SCRATCH/got.jsonl" | tr '\n' ' ')" = "c d f " ]
    [ "$(jq -r 'select(has("truncated") | not) | .id' "$SCRATCH/got.jsonl" | tr '\n' ' ')" = "a b e " ]
    [[ "$err" == *'"truncated":3,'* ]]
}

@test "vs-embed bert: 1 and 2 threads, and batches of 1, give the same vectors" {
    vs-embed --model "$MODELS/tiny" --no-cache --threads 1 --batch 1 "$MODELS/texts.jsonl" > "$SCRATCH/one.jsonl"
    vs-embed --model "$MODELS/tiny" --no-cache --threads 2 "$MODELS/texts.jsonl" > "$SCRATCH/two.jsonl"
    $PY "$REF" "$MODELS/tiny" < "$MODELS/texts.jsonl" > "$SCRATCH/want.jsonl"
    match_ref "$SCRATCH/one.jsonl" "$SCRATCH/want.jsonl"
    match_ref "$SCRATCH/two.jsonl" "$SCRATCH/want.jsonl"
}

@test "vs-embed bert: --as query/document applies the e5 prefixes" {
    vs-embed --model "$MODELS/e5-tiny" --as query "$MODELS/texts.jsonl" > "$SCRATCH/q.jsonl"
    $PY "$REF" "$MODELS/e5-tiny" "query: " < "$MODELS/texts.jsonl" > "$SCRATCH/wq.jsonl"
    match_ref "$SCRATCH/q.jsonl" "$SCRATCH/wq.jsonl"
    vs-embed --model "$MODELS/e5-tiny" "$MODELS/texts.jsonl" > "$SCRATCH/d.jsonl"
    $PY "$REF" "$MODELS/e5-tiny" "passage: " < "$MODELS/texts.jsonl" > "$SCRATCH/wd.jsonl"
    match_ref "$SCRATCH/d.jsonl" "$SCRATCH/wd.jsonl"
    # a model without prefixes: --as query changes nothing
    vs-embed --model "$MODELS/tiny" --as query "$MODELS/texts.jsonl" > "$SCRATCH/tq.jsonl"
    $PY "$REF" "$MODELS/tiny" < "$MODELS/texts.jsonl" > "$SCRATCH/tw.jsonl"
    match_ref "$SCRATCH/tq.jsonl" "$SCRATCH/tw.jsonl"
    run_split vs-embed --model "$MODELS/tiny" --as answer "$MODELS/texts.jsonl" || true
    expect_status 2
    [ -z "$out" ]
    [[ "$err" == *"--as"* ]]
    run_split vs-embed --model "$MODELS/tiny" --threads 0 "$MODELS/texts.jsonl" || true
    expect_status 2
}

@test "vs-embed bert: a name in VS_MODEL_DIR; the identity pins the weights" {
    run_split env VS_MODEL_DIR="$MODELS" vs-embed --model tiny "$MODELS/texts.jsonl"
    expect_status 0
    id=$(printf '%s\n' "$out" | head -1 | $PY -c 'import json,sys; print(json.load(sys.stdin)["vector_model"])')
    other=$(vs-embed --model "$MODELS/tiny-other" "$MODELS/texts.jsonl" | head -1 | $PY -c 'import json,sys; print(json.load(sys.stdin)["vector_model"])')
    [ "${id%@*}" = tiny ]
    [ "${id#*@}" != "${other#*@}" ]
    # the identity recreates the same model; another checksum is refused
    run_split env VS_MODEL_DIR="$MODELS" vs-embed --model "$id" "$MODELS/texts.jsonl"
    expect_status 0
    run_split env VS_MODEL_DIR="$MODELS" vs-embed --model "tiny@${other#*@}" "$MODELS/texts.jsonl" || true
    expect_status 3
    [ -z "$out" ]
    [[ "$err" == *"other weights"* ]]
    # a store pinned to one model refuses vectors of the other
    vs-embed --model "$MODELS/tiny" "$MODELS/texts.jsonl" | vs-ingest -q "$SCRATCH/store"
    run_split sh -c "vs-embed --model '$MODELS/tiny-other' '$MODELS/texts.jsonl' | vs-ingest -q '$SCRATCH/store'" || true
    expect_status 3
    [[ "$err" == *vector_model* ]]
}

@test "vs-embed bert: empty input, empty text, malformed line, broken model folders" {
    run_split vs-embed --model "$MODELS/tiny" < /dev/null
    expect_status 0
    [ -z "$out" ]
    printf '{"id":"a","text":"heat"}\n{"id":"b","text":""}\n' > "$SCRATCH/in.jsonl"
    run_split vs-embed --model "$MODELS/tiny" "$SCRATCH/in.jsonl" || true
    expect_status 3
    [[ "$err" == *"in.jsonl:2:"* ]]
    printf '{"id":"a","text":"heat"}\n{"id":"b",\n' > "$SCRATCH/bad.jsonl"
    run_split vs-embed --model "$MODELS/tiny" "$SCRATCH/bad.jsonl" || true
    expect_status 3
    [[ "$err" == *"bad.jsonl:2:"* ]]
    cp -r "$MODELS/tiny" "$SCRATCH/m"
    echo '{"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64, "vocab_size": 200}' > "$SCRATCH/m/config.json"
    run_split vs-embed --model "$SCRATCH/m" "$MODELS/texts.jsonl" || true
    expect_status 3
    [[ "$err" == *"shape"* ]]
    echo '{"model_type": "roberta"}' > "$SCRATCH/m/config.json"
    run_split vs-embed --model "$SCRATCH/m" "$MODELS/texts.jsonl" || true
    expect_status 2
    [[ "$err" == *"not supported"* ]]
    cp "$MODELS/tiny/config.json" "$SCRATCH/m/config.json"
    head -c 100 "$MODELS/tiny/model.safetensors" > "$SCRATCH/m/model.safetensors"
    run_split vs-embed --model "$SCRATCH/m" "$MODELS/texts.jsonl" || true
    expect_status 3
    [ -z "$out" ]
}

@test "vs-embed bert: writing to /dev/full is exit 5" {
    run_split sh -c "vs-embed --model '$MODELS/tiny' '$MODELS/texts.jsonl' > /dev/full" || true
    expect_status 5
}

# The value of cache_hits / cache_misses in a --stats line ($1 = stderr).
stat_of() {
    printf '%s\n' "$1" | $PY -c '
import json, sys
for l in sys.stdin:
    if l.startswith("{"):
        print(json.loads(l)[sys.argv[1]])
' "$2"
}

@test "vs-embed bert: a rerun over unchanged text is all cache hits with identical output (truncated flag kept)" {
    run_split vs-embed --model "$MODELS/tiny-f16" --stats "$MODELS/texts.jsonl"
    expect_status 0
    first="$out"
    [ "$(stat_of "$err" cache_hits)" = 0 ]
    [ "$(stat_of "$err" cache_misses)" = 6 ]
    [ -n "$(find "$VS_CACHE_DIR" -name '*.zst')" ]
    run_split vs-embed --model "$MODELS/tiny-f16" --stats "$MODELS/texts.jsonl"
    expect_status 0
    [ "$out" = "$first" ]
    [ "$(stat_of "$err" cache_hits)" = 6 ]
    [ "$(stat_of "$err" cache_misses)" = 0 ]
    [[ "$out" == *'"truncated":true'* ]]
    printf '%s\n' "$out" > "$SCRATCH/got.jsonl"
    $PY "$REF" "$MODELS/tiny-f16" < "$MODELS/texts.jsonl" > "$SCRATCH/want.jsonl"
    match_ref "$SCRATCH/got.jsonl" "$SCRATCH/want.jsonl"
    # one changed text is the only miss
    sed 's/heat transfer/heat flux/' "$MODELS/texts.jsonl" > "$SCRATCH/t2.jsonl"
    run_split vs-embed --model "$MODELS/tiny-f16" --stats "$SCRATCH/t2.jsonl"
    expect_status 0
    [ "$(stat_of "$err" cache_hits)" = 5 ]
    [ "$(stat_of "$err" cache_misses)" = 1 ]
}

@test "vs-embed bert: the cache key holds the weights and the role's prefix" {
    mkdir "$SCRATCH/a" "$SCRATCH/b"
    cp -r "$MODELS/e5-tiny" "$SCRATCH/a/e5-tiny"
    cp -r "$MODELS/tiny-other" "$SCRATCH/b/e5-tiny"
    vs-embed --model "$SCRATCH/a/e5-tiny" "$MODELS/texts.jsonl" > /dev/null
    # same name, other weights: all misses, and the right vectors
    run_split vs-embed --model "$SCRATCH/b/e5-tiny" --stats "$MODELS/texts.jsonl"
    expect_status 0
    [ "$(stat_of "$err" cache_hits)" = 0 ]
    printf '%s\n' "$out" > "$SCRATCH/got.jsonl"
    $PY "$REF" "$SCRATCH/b/e5-tiny" "passage: " < "$MODELS/texts.jsonl" > "$SCRATCH/want.jsonl"
    match_ref "$SCRATCH/got.jsonl" "$SCRATCH/want.jsonl"
    # same weights, query role: all misses, the query prefix
    run_split vs-embed --model "$SCRATCH/a/e5-tiny" --as query --stats "$MODELS/texts.jsonl"
    expect_status 0
    [ "$(stat_of "$err" cache_hits)" = 0 ]
    printf '%s\n' "$out" > "$SCRATCH/got.jsonl"
    $PY "$REF" "$SCRATCH/a/e5-tiny" "query: " < "$MODELS/texts.jsonl" > "$SCRATCH/want.jsonl"
    match_ref "$SCRATCH/got.jsonl" "$SCRATCH/want.jsonl"
    run_split vs-embed --model "$SCRATCH/a/e5-tiny" --as query --stats "$MODELS/texts.jsonl"
    [ "$(stat_of "$err" cache_hits)" = 6 ]
}

@test "vs-embed bert: --no-cache neither reads nor writes the cache; hash has no cache" {
    vs-embed --model "$MODELS/tiny" "$MODELS/texts.jsonl" > "$SCRATCH/one.jsonl"
    run_split vs-embed --model "$MODELS/tiny" --no-cache --stats "$MODELS/texts.jsonl"
    expect_status 0
    [[ "$err" != *cache_hits* ]]
    printf '%s\n' "$out" > "$SCRATCH/two.jsonl"
    cmp "$SCRATCH/one.jsonl" "$SCRATCH/two.jsonl"
    rm -rf "$VS_CACHE_DIR"
    vs-embed --model "$MODELS/tiny" --no-cache "$MODELS/texts.jsonl" > /dev/null
    [ ! -e "$VS_CACHE_DIR" ]
    run_split vs-embed --no-cache "$MODELS/texts.jsonl" || true
    expect_status 2
    [[ "$err" == *"hash model has no cache"* ]]
}
