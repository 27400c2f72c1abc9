#!/usr/bin/env bats
# make demo's script: chunk, embed, ingest, info, questions with answers.
# The model is the best trained model the model cache holds (minilm,
# bge-small), else USE-lite, else hash; the demo names it on stderr and the
# store's info shows it.
load helpers

# the demo with a trained model (bge-small from the model cache) embeds its
# corpus with the BERT engine: 37 s in a normal build on the 2-core AVX2
# host, over 180 s (the default limit) in the ASan+UBSan build while the
# machine was busy
BATS_TEST_TIMEOUT=600

setup() {
    SCRATCH=$(mktemp -d)
    export VS_CACHE_DIR="$SCRATCH/cache"
}
teardown() { rm -rf "$SCRATCH"; }

answers_every_question() {
    [ "$(printf '%s\n' "$out" | grep -c '^? ')" -eq 4 ]
    [ "$(printf '%s\n' "$out" | grep -c '^  1\. ')" -eq 4 ]
    [[ "$err" == *"upserts"* ]]
}

@test "demo: runs end to end with the model the cache holds, and says which" {
    models="$VS_FETCHED_MODELS"
    VS_MODEL_DIR="$models" run_split "$BATS_TEST_DIRNAME/../../examples/demo.sh" "$VS_BIN"
    expect_status 0
    answers_every_question
    if [ -s "$models/bge-small-en-v1.5/model.safetensors" ]; then
        [[ "$err" == *"demo: embedding model: the best trained model in $models"* ]]
        [[ "$err" == *"vs-embed: model bge-small ($models/bge-small-en-v1.5, the best local model;"* ]]
        [[ "$out" == *'"dimension":384,'*'"model":"bge-small-en-v1.5@'* ]]
    elif [ -s "$models/all-MiniLM-L6-v2/model.safetensors" ]; then
        [[ "$err" == *"demo: embedding model: the best trained model in $models"* ]]
        [[ "$err" == *"vs-embed: model minilm ($models/all-MiniLM-L6-v2, the best local model;"* ]]
        [[ "$out" == *'"dimension":384,'*'"model":"all-MiniLM-L6-v2@'* ]]
    elif [ -r "$models/use-lite/model.json" ]; then
        [[ "$err" == *"demo: embedding model: use-lite (found in $models/use-lite)"* ]]
        [[ "$out" == *'"dimension":512,'*'"model":"use-lite@'* ]]
        [[ "$out" != *'"model":"hash-v1'* ]]
    else
        [[ "$err" == *"demo: embedding model: hash (no trained model in $models;"* ]]
        [[ "$out" == *'"model":"hash-v1:384"'* ]]
    fi
}

@test "demo: without a model in the model cache it uses the hash embedder and says so" {
    mkdir -p "$SCRATCH/models"
    VS_MODEL_DIR="$SCRATCH/models" run_split "$BATS_TEST_DIRNAME/../../examples/demo.sh" "$VS_BIN"
    expect_status 0
    answers_every_question
    [[ "$err" == *"demo: embedding model: hash (no trained model in $SCRATCH/models; scripts/get-model.sh minilm fetches one)"* ]]
    [[ "$out" == *'"model":"hash-v1:384"'* ]]
    [[ "$out" == *'(model: hash, no model file needed)'* ]]
}

# The export line the demo printed, run in a fresh shell whose PATH lacks the
# programs: prints where vs-query is then found.
found_after_export_line() {
    local line
    line=$(printf '%s\n' "$out" | sed -n 's/^     \(export PATH=.*\)$/\1/p')
    [ "$(printf '%s\n' "$line" | grep -c .)" -eq 1 ] || { echo "export lines: '$line'" >&2; return 1; }
    env PATH=/usr/bin:/bin bash -c "$line"'; command -v vs-query'
}

@test "demo: says the programs are not on PATH, how to install them, and an export line that works" {
    PATH=/usr/bin:/bin run_split "$BATS_TEST_DIRNAME/../../examples/demo.sh" "$VS_BIN"
    expect_status 0
    answers_every_question
    [[ "$out" == *"== the programs are in $VS_BIN, not on your PATH; either install them"* ]]
    printf '%s\n' "$out" | grep -qE '^     make install PREFIX=~/\.local( BUILD=[^ ]+)?$' || false
    [ "$(found_after_export_line)" = "$VS_BIN/vs-query" ]
}

@test "demo: the export line quotes a folder name with quotes, dollars and backquotes" {
    odd="$SCRATCH/it's a \"\$HOME\` dir"
    ln -s "$VS_BIN" "$odd"
    PATH=/usr/bin:/bin run_split "$BATS_TEST_DIRNAME/../../examples/demo.sh" "$odd"
    expect_status 0
    [[ "$out" == *"== the programs are in $odd, not on your PATH"* ]]
    [ "$(found_after_export_line)" = "$odd/vs-query" ]
}

@test "demo: when the programs are already on PATH it says so and prints no export line" {
    PATH="$VS_BIN:/usr/bin:/bin" run_split "$BATS_TEST_DIRNAME/../../examples/demo.sh" "$VS_BIN"
    expect_status 0
    answers_every_question
    [[ "$out" == *"== the programs are on your PATH (from $VS_BIN)" ]]
    [[ "$out" != *"export PATH="* ]]
    [[ "$out" != *"make install"* ]]
}
