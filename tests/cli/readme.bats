#!/usr/bin/env bats
# Every README example marked <!-- test --> runs, in order, in one scratch
# directory, and exits 0 (jq builds tests from its manual in the same spirit).
load helpers

setup() {
    ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
    SCRATCH=$(mktemp -d)
}
teardown() { rm -rf "$SCRATCH"; }

# Print the examples as a shell script: each marked ```sh block becomes a
# function call that reports its number on failure.
extract() {
    awk '
        /<!-- test -->/ { want = 1; next }
        want && /^```sh/ { inblock = 1; n++; print "echo \"# example " n "\" >&2"; next }
        inblock && /^```/ { inblock = 0; want = 0; print "echo \"# example " n " ok\" >&2"; next }
        inblock { print; next }
        /^[^[:space:]]/ { want = 0 }
    ' "$ROOT/README.md"
}

@test "README: the marked examples exist" {
    n=$(extract | grep -c '^echo "# example [0-9]* ok"')
    [ "$n" -ge 3 ]
}

@test "README: every marked example runs and exits 0" {
    extract > "$SCRATCH/examples.sh"
    cp -r "$ROOT/README.md" "$ROOT/docs" "$SCRATCH/"
    cd "$SCRATCH"
    run_split bash -e examples.sh
    expect_status 0
    # every example reported success
    total=$(grep -c '^echo "# example [0-9]* ok"' examples.sh)
    done_=$(printf '%s\n' "$err" | grep -c '^# example [0-9]* ok$')
    [ "$total" -eq "$done_" ]
}
