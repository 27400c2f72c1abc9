#!/usr/bin/env bats
# vs-embed: vectors for records, with the hash-v1 embedder.
load helpers

setup() { SCRATCH=$(mktemp -d); }
teardown() { rm -rf "$SCRATCH"; }

# Compare the vectors of NDJSON on stdin with file $1 (records with "id" and
# "vector"), within 1e-6.
vectors_match() {
    $PY -c '
import json, sys, base64, struct
def vec(o):
    if "vector_b64" in o:
        b = base64.b64decode(o["vector_b64"])
        return list(struct.unpack("<%df" % (len(b) // 4), b))
    return o["vector"]
got = [json.loads(l) for l in sys.stdin if l.strip()]
want = [json.loads(l) for l in open(sys.argv[1])]
assert len(got) == len(want), (len(got), len(want))
for g, w in zip(got, want):
    assert g["id"] == w["id"]
    a, b = vec(g), vec(w)
    assert len(a) == len(b), (len(a), len(b))
    d = max(abs(x - y) for x, y in zip(a, b))
    assert d <= 1e-6, (g["id"], d)
' "$1"
}

@test "vs-embed --help lists the options and exits 0" {
    run_split vs-embed --help || true
    expect_status 0
    [[ "$out" == usage:\ vs-embed* ]]
    [[ "$out" == *--model* ]]
    [ -z "$err" ]
}

@test "vs-embed: --help and the man page list the same options" {
    help_matches_man vs-embed
}

@test "vs-embed: an unknown option is a usage error" {
    run_split vs-embed --no-such-option || true
    expect_status 2
    [ -z "$out" ]
    [[ "$err" == *vs-embed:* ]]
}

@test "vs-embed: an unavailable model or a bad dimension is exit 2" {
    run_split vs-embed --model bert-base < "$FIXTURES/embed/texts.jsonl" || true
    expect_status 2
    [ -z "$out" ]
    [[ "$err" == "vs-embed: error: model 'bert-base' is not available"* ]]
    run_split vs-embed --dim 0 < "$FIXTURES/embed/texts.jsonl" || true
    expect_status 2
    run_split vs-embed --model hash-v1:64 --dim 32 < "$FIXTURES/embed/texts.jsonl" || true
    expect_status 2
    [ -z "$out" ]
}

@test "vs-embed: empty input gives no records and exit 0" {
    run_split vs-embed < /dev/null || true
    expect_status 0
    [ -z "$out" ]
    [ "$err" = "vs-embed: model hash (no trained model in $VS_MODEL_DIR; scripts/get-model.sh minilm fetches one)" ]
    run_split vs-embed -q < /dev/null || true
    expect_status 0
    [ -z "$out" ]
    [ -z "$err" ]
}

@test "vs-embed: a malformed line is exit 3 naming the line" {
    printf '{"id":"a","text":"one"}\n{"id":"b",\n' > "$SCRATCH/in.jsonl"
    run_split vs-embed "$SCRATCH/in.jsonl" || true
    expect_status 3
    [[ "$err" == *"in.jsonl:2:"* ]]
    run_split vs-embed --keep-going < "$SCRATCH/in.jsonl" || true
    expect_status 0
    [[ "$err" == *warning*"<stdin>:2:"* ]]
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ]
}

@test "vs-embed: missing, non-string, empty and blank texts are exit 3 with the line; --keep-going skips them" {
    # "?!" (symbols only) is content: it has a vector (docs/embedding.md)
    printf '{"id":"a","text":"ok"}\n{"id":"b"}\n{"id":"c","text":7}\n{"id":"d","text":""}\n{"id":"e","text":"   \\u00a0"}\n{"id":"f","text":"fine"}\n{"id":"g","text":"?!"}\n' > "$SCRATCH/in.jsonl"
    run_split vs-embed < "$SCRATCH/in.jsonl" || true
    expect_status 3
    [[ "$err" == *"<stdin>:2: field 'text'"*missing* ]]
    run_split vs-embed --keep-going < "$SCRATCH/in.jsonl" || true
    expect_status 0
    [[ "$err" == *"<stdin>:2:"*"<stdin>:3:"*"<stdin>:4:"*empty*"<stdin>:5:"*"no content to embed"* ]]
    [[ "$err" != *"<stdin>:7:"* ]]
    ids=$(printf '%s\n' "$out" | $PY -c 'import json,sys; print(",".join(json.loads(l)["id"] for l in sys.stdin))')
    [ "$ids" = "a,f,g" ]
    printf '{"id":"a","text":""}\n' > "$SCRATCH/empty.jsonl"
    run_split vs-embed "$SCRATCH/empty.jsonl" || true
    expect_status 3
    [[ "$err" == *"empty.jsonl:1: field 'text' is empty"* ]]
}

@test "vs-embed: hash-v1 vectors match the committed golden vectors" {
    run_split vs-embed --dim 32 "$FIXTURES/embed/texts.jsonl" || true
    expect_status 0
    expect_ndjson
    printf '%s\n' "$out" | vectors_match "$FIXTURES/embed/golden-hash-v1-32.jsonl"
    run_split vs-embed --model hash-v1:32 --b64 "$FIXTURES/embed/texts.jsonl" || true
    expect_status 0
    printf '%s\n' "$out" | vectors_match "$FIXTURES/embed/golden-hash-v1-32.jsonl"
}

@test "vs-embed: hash-v1 agrees with an independent Python implementation of docs/embedding.md" {
    $PY "$FIXTURES/embed/hashembed_ref.py" 384 < "$FIXTURES/embed/texts.jsonl" > "$SCRATCH/ref.jsonl"
    run_split vs-embed "$FIXTURES/embed/texts.jsonl" || true
    expect_status 0
    printf '%s\n' "$out" | vectors_match "$SCRATCH/ref.jsonl"
}

@test "vs-embed: fields pass through in order; vector and vector_model are added" {
    printf '{"z":1,"id":"x","body":"Hello world","a":[true]}\n' > "$SCRATCH/in.jsonl"
    run_split vs-embed --field body --dim 4 "$SCRATCH/in.jsonl" || true
    expect_status 0
    printf '%s\n' "$out" | $PY -c '
import json, sys, math
o = json.loads(sys.stdin.readline())
assert list(o) == ["z", "id", "body", "a", "vector", "vector_model"], list(o)
assert o["vector_model"] == "hash-v1:4"
assert abs(math.sqrt(sum(x * x for x in o["vector"])) - 1) < 1e-6
'
}

@test "vs-embed: output does not depend on the thread count or the batch size" {
    need_data
    head -300 "$VS_DATA/datasets/scifact/corpus.jsonl" > "$SCRATCH/c.jsonl"
    OMP_NUM_THREADS=1 vs-embed --b64 --batch 7 "$SCRATCH/c.jsonl" > "$SCRATCH/a"
    OMP_NUM_THREADS=2 vs-embed --b64 "$SCRATCH/c.jsonl" > "$SCRATCH/b"
    cmp "$SCRATCH/a" "$SCRATCH/b"
    [ "$(wc -l < "$SCRATCH/a")" -eq 300 ]
}

@test "vs-embed: related texts score higher than unrelated ones" {
    printf '%s\n' '{"id":"q","text":"How do vaccines train the immune system?"}' \
        '{"id":"rel","text":"Vaccination trains the immune system to recognise a pathogen."}' \
        '{"id":"unrel","text":"The stock market closed higher on Friday."}' > "$SCRATCH/in.jsonl"
    run_split vs-embed "$SCRATCH/in.jsonl" || true
    expect_status 0
    printf '%s\n' "$out" | $PY -c '
import json, sys
v = {o["id"]: o["vector"] for o in map(json.loads, sys.stdin)}
dot = lambda a, b: sum(x * y for x, y in zip(a, b))
assert dot(v["q"], v["rel"]) > dot(v["q"], v["unrel"]) + 0.1, (dot(v["q"], v["rel"]), dot(v["q"], v["unrel"]))
'
}

@test "vs-embed: writing to /dev/full is exit 5" {
    run_split sh -c 'vs-embed "$1" > /dev/full' sh "$FIXTURES/embed/texts.jsonl" || true
    expect_status 5
    [[ "$err" == *error* ]]
}

@test "vs-embed: chunks of a directory embed end to end" {
    run_split sh -c 'vs-chunk --keep-going "$1" 2>/dev/null | vs-embed --dim 16' sh "$FIXTURES/docs" || true
    expect_status 0
    expect_ndjson
    [ "$(printf '%s\n' "$out" | grep -c '"vector_model":"hash-v1:16"')" -eq 6 ]
}

@test "vs-embed: settings come from the environment; a flag wins" {
    VS_EMBED_DIM=8 run_split vs-embed "$FIXTURES/embed/texts.jsonl" || true
    expect_status 0
    [[ "$out" == *'"vector_model":"hash-v1:8"'* ]]
    VS_EMBED_DIM=8 run_split vs-embed --dim 16 "$FIXTURES/embed/texts.jsonl" || true
    expect_status 0
    [[ "$out" == *'"vector_model":"hash-v1:16"'* ]]
    VS_EMBED_MODEL=gpt run_split vs-embed "$FIXTURES/embed/texts.jsonl" || true
    expect_status 2
    [[ "$err" == *"model 'gpt' is not available"* ]]
}
