#!/usr/bin/env bats
# make demo's script: chunk, embed, ingest, info, questions with answers.
# The model is USE-lite when the model cache holds it, hash otherwise; the
# demo names it on stderr and the store's info shows it.
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
    models="${VS_MODEL_DIR:-$HOME/.cache/vecstore/models}"
    run_split "$BATS_TEST_DIRNAME/../../examples/demo.sh" "$VS_BIN"
    expect_status 0
    answers_every_question
    if [ -r "$models/use-lite/model.json" ]; then
        [[ "$err" == *"demo: embedding model: use-lite (found in $models/use-lite)"* ]]
        [[ "$out" == *'"dimension":512,'*'"model":"use-lite@'* ]]
        [[ "$out" != *'"model":"hash-v1'* ]]
    else
        [[ "$err" == *"demo: embedding model: hash (no use-lite in $models;"* ]]
        [[ "$out" == *'"model":"hash-v1:384"'* ]]
    fi
}

@test "demo: without use-lite in the model cache it uses the hash embedder and says so" {
    mkdir -p "$SCRATCH/models"
    VS_MODEL_DIR="$SCRATCH/models" run_split "$BATS_TEST_DIRNAME/../../examples/demo.sh" "$VS_BIN"
    expect_status 0
    answers_every_question
    [[ "$err" == *"demo: embedding model: hash (no use-lite in $SCRATCH/models;"* ]]
    [[ "$out" == *'"model":"hash-v1:384"'* ]]
    [[ "$out" == *'(model: hash, no model file needed)'* ]]
}
