#!/usr/bin/env bats
# make install puts every program and man page under DESTDIR/PREFIX.
load helpers

@test "make install: programs and man pages under DESTDIR and PREFIX" {
    ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
    build=$(dirname "$VS_BIN")
    run_split make -s -C "$ROOT" BUILD="$build" install DESTDIR="$BATS_TEST_TMPDIR/d" PREFIX=/opt/vs
    expect_status 0
    for p in "$ROOT"/cmd/vs-*.c; do
        n=$(basename "$p" .c)
        [ -x "$BATS_TEST_TMPDIR/d/opt/vs/bin/$n" ]
        [ -f "$BATS_TEST_TMPDIR/d/opt/vs/share/man/man1/$n.1" ]
    done
    run_split "$BATS_TEST_TMPDIR/d/opt/vs/bin/vs-index" --version
    expect_status 0
    [[ "$out" == "vs-index "* ]]
}
