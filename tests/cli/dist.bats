#!/usr/bin/env bats
# make dist: a source tarball of one commit, the same bytes every time,
# that builds and passes tests unpacked on its own (no .git, no build/).
load helpers

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
# building and testing the unpacked tarball takes minutes on a busy machine
BATS_TEST_TIMEOUT=1800

# Why make dist cannot run here, or nothing.
why_not() {
    git -C "$ROOT" rev-parse -q --verify 'HEAD^{commit}' >/dev/null 2>&1 ||
        echo "not a git checkout: make dist packs a commit (an unpacked tarball has no .git)"
}

setup_file() {
    [ -z "$(why_not)" ] || return 0
    # the commit, pinned: HEAD may move while the tests run
    git -C "$ROOT" rev-parse HEAD >"$BATS_FILE_TMPDIR/commit"
    make -s -C "$ROOT" dist DIST_REF="$(cat "$BATS_FILE_TMPDIR/commit")" DIST_DIR="$BATS_FILE_TMPDIR/a" \
        >"$BATS_FILE_TMPDIR/a.out" 2>&1 || true
}

setup() {
    why=$(why_not)
    [ -z "$why" ] || skip "$why"
    C=$(cat "$BATS_FILE_TMPDIR/commit")
    V=$(git -C "$ROOT" show "$C:VERSION")
    TGZ="$BATS_FILE_TMPDIR/a/vecstore-$V.tar.gz"
}

@test "dist: make dist twice gives the same bytes, named by the commit's VERSION" {
    [ -s "$TGZ" ]
    out=$(cat "$BATS_FILE_TMPDIR/a.out")
    sum=$(sha256sum <"$TGZ" | cut -d' ' -f1)
    [[ "$out" == "$TGZ: $(git -C "$ROOT" rev-parse --short "$C"), sha256 $sum"* ]]
    sleep 1   # a later second: nothing in the tarball may follow the clock
    run_split make -s -C "$ROOT" dist DIST_REF="$C" DIST_DIR="$BATS_TEST_TMPDIR/b"
    expect_status 0
    [ "$(sha256sum <"$BATS_TEST_TMPDIR/b/vecstore-$V.tar.gz" | cut -d' ' -f1)" = "$sum" ]
    # gzip -n: no name and no time stamp in the gzip header (bytes 4-7 zero)
    [ "$(od -An -tx1 -j3 -N5 "$TGZ" | tr -d ' ')" = "0000000000" ]
}

@test "dist: DIST_REF that is not a commit is a usage error" {
    run_split make -s -C "$ROOT" dist DIST_REF=no-such-ref-xyz DIST_DIR="$BATS_TEST_TMPDIR/c"
    expect_status 2
    [[ "$err" == *"make dist: error: 'no-such-ref-xyz' is not a commit of a git checkout (dist packs a commit)"* ]]
    [ ! -e "$BATS_TEST_TMPDIR/c/vecstore-$V.tar.gz" ]
}

@test "dist: the tarball holds exactly the commit's files under vecstore-VERSION/, owner 0, every mtime the commit's date" {
    [ -s "$TGZ" ]
    when=$(git -C "$ROOT" log -1 --format=%ct "$C")
    want=$(git -C "$ROOT" ls-tree -r --name-only "$C" | sed "s|^|vecstore-$V/|" | sort)
    run_split /usr/bin/python3 - "$TGZ" "$when" <<'PY'
import sys, tarfile
bad = 0
with tarfile.open(sys.argv[1]) as t:
    for m in t.getmembers():
        if m.uid != 0 or m.gid != 0 or int(m.mtime) != int(sys.argv[2]):
            print("bad entry %s uid %d gid %d mtime %d" % (m.name, m.uid, m.gid, m.mtime), file=sys.stderr)
            bad = 1
        if m.isfile() or m.issym():
            print(m.name)
sys.exit(bad)
PY
    expect_status 0
    [ -z "$err" ]
    diff <(printf '%s\n' "$want") <(printf '%s\n' "$out" | sort)
    [ "$(printf '%s\n' "$out" | wc -l)" -ge 400 ]
}

@test "dist: unpacked alone, the tarball builds (make all units) and passes a reduced test run" {
    # it builds its own programs: once, in the pass against a normal build
    if grep -qa -e __asan_init -e __ubsan_handle "$VS_BIN/vs-index"; then
        skip "the unpacked tarball is built and tested in the pass against a normal build"
    fi
    [ -s "$TGZ" ]
    mkdir "$BATS_TEST_TMPDIR/u"
    tar -xzf "$TGZ" -C "$BATS_TEST_TMPDIR/u"
    cd "$BATS_TEST_TMPDIR/u/vecstore-$V"
    [ ! -e .git ]
    run_split make -j2 all units
    expect_status 0
    [ -x build/bin/vs-query ]
    [ "$(build/bin/vs-query --version)" = "vs-query $V" ]
    # every unit test, and the bats files of the version, the store and the
    # demo; the demo with the hash embedder (the suite's own demo.bats runs
    # the fetched models), each test given 10 minutes on a busy machine
    mkdir "$BATS_TEST_TMPDIR/no-models"
    # (VS_FRESH_ROOT unset: the tarball has no debian/, so release.bats's
    # package tests are not for it; the suite's own release.bats runs them)
    run_split env -u VS_FRESH_ROOT FUZZ_SECONDS=0 TESTS='release\|vs-index\|demo' BATS_TEST_TIMEOUT=600 \
        VS_FETCHED_MODELS="$BATS_TEST_TMPDIR/no-models" tests/run.sh build
    last=$(printf '%s\n' "$out" | tail -n 1)
    if [ "$status" -ne 0 ]; then printf '%s\n' "$out" | grep -E '^not ok' >&2; fi
    expect_status 0
    [[ "$last" =~ ^[0-9]+\ passed,\ 0\ failed,\ [0-9]+\ skipped$ ]]
    [ "${last%% *}" -ge 100 ]
}
