#!/usr/bin/env bats
# tests/run.sh itself: TEST_JOBS unit test binaries at once, their output in
# name order, a non-zero exit without a failed test counted as a failure,
# each phase's time, the summary line; a bad TEST_JOBS is a usage error.
# The "unit tests" are three small scripts in a folder given as units:DIR,
# and TESTS matches no bats file, so nothing else runs.
load helpers

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

setup() {
    F=$BATS_TEST_TMPDIR/fake
    mkdir -p "$F/tests"
    # test_b sleeps so that, run at once, test_c ends first
    printf '#!/bin/sh\nsleep 0.3\necho "ok 1 - b one"\necho "not ok 2 - b two"\nexit 1\n' >"$F/tests/test_b"
    printf '#!/bin/sh\necho "ok 1 - a one"\necho "ok 2 - a two # SKIP not here"\n' >"$F/tests/test_a"
    printf '#!/bin/sh\necho "ok 1 - c one"\nexit 3\n' >"$F/tests/test_c"
    chmod +x "$F"/tests/test_*
}

# The lines a run prints for the three, with the time lines left out.
expected() {
    cat <<'EOF'
# ---- tests against BUILD (unit tests only) ----
# unit: test_a
ok 1 - a one
ok 2 - a two # SKIP not here
# unit: test_b
ok 1 - b one
not ok 2 - b two
# unit: test_c
ok 1 - c one
not ok - test_c exited with status 3
3 passed, 2 failed, 1 skipped
EOF
}

# the fake unit tests run with TEST_JOBS=$1: exit 1, the expected lines in
# name order (timings aside), and the phase's own timing line
runs_in_name_order() {
    run_split env TEST_JOBS="$1" TESTS=no-such-bats-file "$ROOT/tests/run.sh" "units:$F"
    expect_status 1
    [ "$err" = "" ]
    [ "$(printf '%s\n' "$out" | grep -v ' took [0-9]* s$')" = "$(expected | sed "s#BUILD#$F#")" ]
    [[ "$out" == *"# unit tests against $F (TEST_JOBS=$1) took "*" s"* ]]
}

@test "tests/run.sh: unit tests two at once print in name order; an exit without a failed test is one failure" {
    runs_in_name_order 2
    [[ "$out" == *"# the whole run took "*" s"* ]]
}

@test "tests/run.sh: TEST_JOBS=1 gives the same lines" {
    runs_in_name_order 1
}

@test "tests/run.sh: a TEST_JOBS that is not a positive number is exit 2" {
    for j in 0 two -1; do
        run_split env TEST_JOBS="$j" TESTS=no-such-bats-file "$ROOT/tests/run.sh" "units:$F"
        expect_status 2
        [ "$out" = "" ]
        [ "$err" = "run.sh: error: TEST_JOBS '$j' is not a positive number" ]
    done
}
