#!/usr/bin/env bats
# make install puts every program and man page under DESTDIR/PREFIX.
load helpers

teardown() { [ -z "${H:-}" ] || rm -rf "$H"; }

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

@test "plain make builds the library and every program (its default goal is all)" {
    ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
    run_split make -n -C "$ROOT" BUILD="$BATS_TEST_TMPDIR/b"
    expect_status 0
    for p in "$ROOT"/cmd/vs-*.c; do
        n=$(basename "$p" .c)
        [[ "$out" == *"-o $BATS_TEST_TMPDIR/b/bin/$n "* ]] || { echo "no link of $n" >&2; return 1; }
    done
    [[ "$out" == *"$BATS_TEST_TMPDIR/b/libvecstore.a"* ]]
}

# As the README says: make install PREFIX=~/.local, typed by a user who is not
# root (when the tests run as root, as the unprivileged uid 65534), into a
# home of their own; then the programs run and their man pages are found.
@test "make install PREFIX=~/.local: works without root, programs run, man finds the pages; uninstall removes them" {
    ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
    build=$(dirname "$VS_BIN")
    H=$(mktemp -d "${TMPDIR:-/tmp}/vs-install-home.XXXXXX")
    as_user=()
    if [ "$(id -u)" -eq 0 ]; then
        chown 65534:65534 "$H"
        as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    fi
    run_split "${as_user[@]}" env HOME="$H" bash -c 'id -u; cd "$0" && make -s BUILD="$1" install PREFIX=~/.local' "$ROOT" "$build"
    expect_status 0
    [ "$(printf '%s\n' "$out" | head -n 1)" -ne 0 ] || false
    for p in "$ROOT"/cmd/vs-*.c; do
        n=$(basename "$p" .c)
        [ -x "$H/.local/bin/$n" ]
        [ -f "$H/.local/share/man/man1/$n.1" ]
    done
    run_split env PATH="$H/.local/bin:/usr/bin:/bin" vs-query --version
    expect_status 0
    [[ "$out" == "vs-query "* ]]
    if command -v manpath >/dev/null; then   # man-db finds PREFIX/share/man beside PATH's PREFIX/bin
        run_split env -u MANPATH PATH="$H/.local/bin:/usr/bin:/bin" manpath
        [[ "$out" == *"$H/.local/share/man"* ]]
    fi
    run_split "${as_user[@]}" env HOME="$H" bash -c 'cd "$0" && make -s BUILD="$1" uninstall PREFIX=~/.local' "$ROOT" "$build"
    expect_status 0
    [ -z "$(find "$H/.local" -type f)" ]
}
