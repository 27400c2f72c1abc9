#!/usr/bin/env bats
# make demo's script: chunk, embed, ingest, info, questions with answers.
# The model is the best trained model the model cache holds (minilm,
# bge-small), else USE-lite, else hash; the demo names it on stderr and the
# store's info shows it.
load helpers

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
