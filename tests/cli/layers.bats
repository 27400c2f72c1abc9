#!/usr/bin/env bats
# The library's layout matches ARCHITECTURE.md: dependencies point down, no
# two files call each other in a circle (scripts/check-layers.py).
load helpers

@test "layers: lib/ depends only downward and has no file circles" {
    run_split "$PY" "$BATS_TEST_DIRNAME/../../scripts/check-layers.py" "$VS_BIN/.."
    expect_status 0
    [ -z "$out" ]
    [ -z "$err" ]
}

@test "layers: the check fails on an upward include and names it" {
    tmp="$BATS_TEST_TMPDIR/repo"
    mkdir -p "$tmp/scripts"
    cp -r "$BATS_TEST_DIRNAME/../../lib" "$BATS_TEST_DIRNAME/../../ARCHITECTURE.md" "$tmp/"
    cp "$BATS_TEST_DIRNAME/../../scripts/check-layers.py" "$tmp/scripts/"
    printf '#include "vs_query.h"\n' >> "$tmp/lib/core/status.c"
    run_split "$PY" "$tmp/scripts/check-layers.py"
    expect_status 1
    [[ "$out" == *"lib/core/status.c:"*"includes vs_query.h from lib/query/"* ]]
}

@test "layers: the check fails on a folder missing from ARCHITECTURE.md" {
    tmp="$BATS_TEST_TMPDIR/repo"
    mkdir -p "$tmp/scripts"
    cp -r "$BATS_TEST_DIRNAME/../../lib" "$BATS_TEST_DIRNAME/../../ARCHITECTURE.md" "$tmp/"
    cp "$BATS_TEST_DIRNAME/../../scripts/check-layers.py" "$tmp/scripts/"
    mkdir "$tmp/lib/extra"
    run_split "$PY" "$tmp/scripts/check-layers.py"
    expect_status 1
    [[ "$out" == *"lib/extra/: not in ARCHITECTURE.md's layer table"* ]]
}

@test "layers: the check finds two files that call each other (from their objects)" {
    tmp="$BATS_TEST_TMPDIR/repo"
    mkdir -p "$tmp/scripts" "$tmp/lib/core" "$tmp/build/lib/core"
    cp "$BATS_TEST_DIRNAME/../../scripts/check-layers.py" "$tmp/scripts/"
    printf '| layer | folder | owns |\n|---|---|---|\n| 0 | `core/` | x |\n' > "$tmp/ARCHITECTURE.md"
    printf 'int vs_b(int);\nint vs_a(int x) { return x ? vs_b(x - 1) : 0; }\n' > "$tmp/lib/core/a.c"
    printf 'int vs_a(int);\nint vs_b(int x) { return x ? vs_a(x - 1) : 1; }\n' > "$tmp/lib/core/b.c"
    for f in a b; do cc -c -o "$tmp/build/lib/core/$f.o" "$tmp/lib/core/$f.c"; done
    run_split "$PY" "$tmp/scripts/check-layers.py" "$tmp/build"
    expect_status 1
    [ "$out" = "files that call each other in a circle: a.c b.c" ]
    printf 'int vs_b(int x) { return x; }\n' > "$tmp/lib/core/b.c"
    cc -c -o "$tmp/build/lib/core/b.o" "$tmp/lib/core/b.c"
    run_split "$PY" "$tmp/scripts/check-layers.py" "$tmp/build"
    expect_status 0
}
