#!/usr/bin/env bats
# The tutorials of docs/tutorials/ run as tests: every marked ```sh block,
# in order, in one scratch folder, with its expected output
# (tests/cli/docs_examples.py has the convention). A tutorial whose data,
# model or program is absent skips, naming it.
load helpers

DOCS_RUN="$BATS_TEST_DIRNAME/docs_examples.py"

# run_tutorial NAME: run docs/tutorials/NAME.md; skip with the runner's
# reason when it says 77
run_tutorial() {
    cd "$BATS_TEST_TMPDIR"
    run_split $PY "$DOCS_RUN" run "$BATS_TEST_DIRNAME/../../docs/tutorials/$1.md"
    if [ "$status" -eq 77 ]; then
        skip "$out"
    fi
    expect_status 0
    [[ "$out" == "docs/tutorials/$1.md: "*" examples passed" ]] || false
}

@test "tutorial: getting started" {
    run_tutorial getting-started
}

@test "tutorial: your first RAG app (ADI, all-MiniLM-L6-v2)" {
    # the real model: the one scripts/get-model.sh fetched
    export VS_MODEL_DIR="$VS_FETCHED_MODELS"
    run_tutorial rag-app
}

@test "tutorial: production" {
    run_tutorial production
}

@test "tutorial: advanced" {
    run_tutorial advanced
}

@test "tutorials: each says its time to complete at the top" {
    local f n=0
    for f in "$BATS_TEST_DIRNAME"/../../docs/tutorials/*.md; do
        n=$((n + 1))
        sed -n '1,5p' "$f" | grep -q '^\*Time to complete: [0-9][0-9]* minutes' ||
            { echo "$f: no time to complete in its first lines" >&2; return 1; }
    done
    [ "$n" -eq 4 ]
}
