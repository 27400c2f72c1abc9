#!/usr/bin/env bats
# Smoke run of bench/text.sh at a tiny size, vecstore only (the peers need
# the `text` venv group, which make check does not install): the script
# runs end to end, and the pruned and exhaustive searches give the same
# top 10. Not a measurement: timing is not checked.

load helpers

setup() {
    BUILD=$(cd "$VS_BIN/.." && pwd)
    ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
    [ -f "$BUILD/libvecstore.a" ] || skip "no libvecstore.a in $BUILD"
    # the bench programs link the library without sanitizer run-times
    if nm -A "$BUILD/libvecstore.a" 2>/dev/null | grep -q '__asan_\|__ubsan_'; then
        skip "sanitizer build: the bench programs are built without sanitizers"
    fi
    command -v pkg-config > /dev/null || skip "pkg-config not installed"
    $PY -c 'import numpy' 2> /dev/null || skip "python3-numpy not installed"
    cd "$BATS_TEST_TMPDIR"
}

@test "bench/text.sh: a tiny Zipf run reports vecstore pruned and exhaustive, same hits" {
    res=$BATS_TEST_TMPDIR/text.txt
    run_split env TEXT_RESULTS="$res" TEXT_DOCS=2500 TEXT_SETS=zipf TEXT_ZIPF_DIR="$BATS_TEST_TMPDIR/z" \
        TEXT_ENGINES="vecstore vecstore-exhaustive" sh "$ROOT/bench/text.sh" "$BUILD"
    expect_status 0
    [ -z "$err" ]
    [ "$(cat "$res")" = "$out" ]
    [[ "$out" == "== text "*"engines: vecstore vecstore-exhaustive"* ]]
    [[ "$out" == *'zipf corpus generated in '*'"docs": 2500, "queries": 1000'* ]]
    [[ "$out" == *"Zipf synthetic (2500 docs, 1,000 queries x 2): top-10 queries"* ]]
    # the rows: index seconds, bytes, queries per second (the median of
    # the rounds) and their range; the exhaustive search's top 10 are
    # vecstore's (overlap 1.000)
    [[ "$out" == *"CPU time, median of 1; analyzer plain"* ]]
    printf '%s\n' "$out" | grep -E '^vecstore bm25 [0-9.]+ +[0-9.]+ +[0-9]+ +([0-9.]+) +\1-\1 +- +-$'
    printf '%s\n' "$out" | grep -E '^vecstore, no pruning +[0-9.]+ +[0-9]+ +([0-9.]+) +\1-\1 +- +1\.000$'
}

@test "bench/text.sh: an unknown data set is a usage error" {
    run_split env TEXT_RESULTS="$BATS_TEST_TMPDIR/t.txt" TEXT_SETS=nosuch \
        TEXT_ENGINES=vecstore sh "$ROOT/bench/text.sh" "$BUILD"
    expect_status 2
    [[ "$err" == *"text.sh: unknown set 'nosuch' (scifact, zipf)"* ]]
    [ ! -s "$BATS_TEST_TMPDIR/t.txt" ]
}
