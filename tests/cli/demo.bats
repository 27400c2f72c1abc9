#!/usr/bin/env bats
# make demo's script: chunk, embed, ingest, info, questions with answers.
load helpers

@test "demo: runs end to end and answers every question" {
    run_split "$BATS_TEST_DIRNAME/../../examples/demo.sh" "$VS_BIN"
    expect_status 0
    [ "$(printf '%s\n' "$out" | grep -c '^? ')" -eq 4 ]
    [ "$(printf '%s\n' "$out" | grep -c '^  1\. ')" -eq 4 ]
    [[ "$out" == *'"model":"hash-v1:384"'* ]]
    [[ "$err" == *"upserts"* ]]
}
