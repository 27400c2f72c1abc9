#!/usr/bin/env bats
# The README's set-up on a fresh Debian machine: tests/fresh-root/run.sh makes
# a minimal Debian root and runs make demo (once), the demo's PATH line,
# make install PREFIX=~/.local and a reduced make test in it, as a user with
# sudo (docs/fresh-root.md). It needs root and the Debian mirror and takes
# minutes, so it runs only with VS_FRESH_ROOT=1 (CI sets it), and once per
# make check: in the pass against a normal build (the root builds its own
# programs; a sanitizer pass would only repeat it). One test a step.
load helpers

RUN="$BATS_TEST_DIRNAME/../fresh-root/run.sh"

# Why the steps do not run here, or nothing when they do.
why_not() {
    if [ "${VS_FRESH_ROOT:-0}" != 1 ]; then
        echo "fresh root off: VS_FRESH_ROOT=1 runs it (root, the Debian mirror, minutes; docs/fresh-root.md)"
    elif grep -qa -e __asan_init -e __ubsan_handle "$VS_BIN/vs-index"; then
        echo "fresh root runs in the pass against a normal build only (it builds its own programs)"
    fi
}

setup_file() {
    [ -z "$(why_not)" ] || return 0
    # a failed step is reported by its test below, not by setup_file
    local st=0
    "$RUN" --log "$BATS_FILE_TMPDIR/log" >"$BATS_FILE_TMPDIR/tap" 2>"$BATS_FILE_TMPDIR/err" || st=$?
    echo "$st" >"$BATS_FILE_TMPDIR/status"
}

# Pass when run.sh reported step N ok; else show its TAP line and comments.
step_ok() {
    local why
    why=$(why_not)
    [ -z "$why" ] || skip "$why"
    if ! grep -qE "^ok $1 - " "$BATS_FILE_TMPDIR/tap"; then
        sed -n "/^not ok $1 - /,/^\(not \)\{0,1\}ok /p" "$BATS_FILE_TMPDIR/tap" >&2
        cat "$BATS_FILE_TMPDIR/err" >&2
        echo "full output: $BATS_FILE_TMPDIR/log" >&2
        return 1
    fi
    # the steps' TAP is printed, so a CI log shows the times
    grep -E "^ok $1 - " "$BATS_FILE_TMPDIR/tap" | sed 's/^/# /' >&3
}

@test "fresh-root: --help lists the options; an unknown option or a bad --ref is a usage error" {
    run_split "$RUN" --help
    expect_status 0
    for o in --ref --tests --no-cache --log; do [[ "$out" == *"  $o "* ]]; done
    [ -z "$err" ]
    run_split "$RUN" --frobnicate
    expect_status 2
    [[ "$err" == "fresh-root: error: unknown option '--frobnicate'"* ]]
    [ -z "$out" ]
    run_split "$RUN" --ref no-such-commit-xyz
    expect_status 2
    [[ "$err" == "fresh-root: error: --ref 'no-such-commit-xyz': not a commit in "* ]]
    [ -z "$out" ]
}

@test "fresh-root 1: a bare Debian root (debootstrap, or the cached tarball)" { step_ok 1; }
@test "fresh-root 2: the repository copied into the home of a user who may sudo" { step_ok 2; }
@test "fresh-root 3: make demo passes the first time" { step_ok 3; }
@test "fresh-root 4: the export PATH line the demo printed finds the programs" { step_ok 4; }
@test "fresh-root 5: make install PREFIX=~/.local without root; a login shell finds them" { step_ok 5; }
@test "fresh-root 6: a reduced make test passes in the root" { step_ok 6; }

@test "fresh-root: run.sh exits 0 exactly when all six steps passed" {
    why=$(why_not)
    [ -z "$why" ] || skip "$why"
    oks=$(grep -cE '^ok [1-6] - ' "$BATS_FILE_TMPDIR/tap" || true)
    st=$(cat "$BATS_FILE_TMPDIR/status")
    if [ "$oks" -eq 6 ]; then [ "$st" -eq 0 ]; else [ "$st" -eq 1 ]; fi
}
