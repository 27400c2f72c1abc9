#!/usr/bin/env bats
# The release: the version in one place (VERSION) and everything that shows
# it agreeing (scripts/version.sh); make lint's script refuses what it
# should. The heavy parts (the Debian packages built, checked by lintian and
# installed in a fresh Debian root) run only with VS_FRESH_ROOT=1, as
# fresh-root.bats: they need root, the Debian mirror and minutes.
load helpers

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

# Why the Debian package tests do not run here, or nothing when they do.
deb_why_not() {
    local t
    if [ "${VS_FRESH_ROOT:-0}" != 1 ]; then
        echo "Debian packages off: VS_FRESH_ROOT=1 builds them, runs lintian and installs them in a fresh root (root, the Debian mirror, minutes)"
        return
    fi
    if grep -qa -e __asan_init -e __ubsan_handle "$VS_BIN/vs-index"; then
        echo "Debian packages are built once, in the pass against a normal build"
        return
    fi
    for t in dpkg-buildpackage dh lintian; do
        command -v "$t" >/dev/null || { echo "$t not installed (scripts/deps.sh --release installs it)"; return; }
    done
}

# With VS_FRESH_ROOT=1: the packages built from a copy of the working tree
# (tracked and untracked files, less ignored: as fresh-root/run.sh copies
# it), lintian on them, and fresh-root/run.sh --debs; each test below reads
# one result.
setup_file() {
    [ -z "$(deb_why_not)" ] || return 0
    local D="$BATS_FILE_TMPDIR/deb" v
    v=$(cat "$ROOT/VERSION")
    mkdir -p "$D/src/vecstore-$v" "$D/debs"
    (cd "$ROOT" && git ls-files -z -c -o --exclude-standard |
        tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -x -C "$D/src/vecstore-$v"
    local st=0
    (cd "$D/src/vecstore-$v" && dpkg-buildpackage -us -uc -b -j2) >"$D/build.log" 2>&1 || st=$?
    echo "$st" >"$D/build.status"
    [ "$st" -eq 0 ] || return 0
    # the packages (not their -dbgsym debug symbols)
    local f
    for f in "$D"/src/*.deb; do
        case "$f" in *-dbgsym_*) ;; *) cp "$f" "$D/debs/" ;; esac
    done
    st=0
    lintian --fail-on error --tag-display-limit 0 "$D"/src/*.changes >"$D/lintian.log" 2>&1 || st=$?
    echo "$st" >"$D/lintian.status"
    st=0
    "$ROOT/tests/fresh-root/run.sh" --debs "$D/debs" --log "$D/root.log" >"$D/root.tap" 2>"$D/root.err" || st=$?
    echo "$st" >"$D/root.status"
}

setup() {
    build=$(cd "$(dirname "$VS_BIN")" && pwd)
    V=$(cat "$ROOT/VERSION")
    SANFLAGS=
    if ldd "$build/libvecstore.so.1" | grep -q libasan; then
        SANFLAGS="-fsanitize=address,undefined"
    fi
}

# A scratch copy of what scripts/version.sh reads, to break on purpose.
version_tree() {
    T="$BATS_TEST_TMPDIR/tree"
    mkdir -p "$T/scripts" "$T/lib" "$T/man" "$T/debian"
    cp "$ROOT/VERSION" "$ROOT/CHANGELOG.md" "$T/"
    cp "$ROOT/scripts/version.sh" "$T/scripts/"
    cp "$ROOT/lib/vecstore.h" "$T/lib/"
    cp "$ROOT"/man/*.1 "$ROOT"/man/*.3 "$T/man/"
    cp "$ROOT/debian/changelog" "$T/debian/"
}

@test "release: VERSION is X.Y.Z and 1.0.0" {
    [[ "$V" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]
    [ "$V" = 1.0.0 ]
    [ "$(wc -l <"$ROOT/VERSION")" -eq 1 ]
}

@test "release: scripts/version.sh check: header, man pages, CHANGELOG.md and debian/changelog agree" {
    run_split "$ROOT/scripts/version.sh" check
    expect_status 0
    [ -z "$out" ]
    [ -z "$err" ]
    run_split "$ROOT/scripts/version.sh"
    expect_status 0
    [ "$out" = "$V" ]
    grep -qE "^## \[$V\] - (Unreleased|[0-9]{4}-[0-9]{2}-[0-9]{2})$" "$ROOT/CHANGELOG.md"
    [ "$(head -n 1 "$ROOT/debian/changelog" | cut -d' ' -f2)" = "($V-1)" ]
}

@test "release: scripts/version.sh check names the file and line of each disagreement" {
    version_tree
    sed -i 's/^#define VECSTORE_VERSION_MINOR .*/#define VECSTORE_VERSION_MINOR 7/' "$T/lib/vecstore.h"
    sed -i '/^\.TH /s/"vecstore [0-9][^"]*"/"vecstore 0.9.9"/' "$T/man/vs-index.1"
    line=$(grep -n '^#define VECSTORE_VERSION_MINOR' "$T/lib/vecstore.h" | cut -d: -f1)
    run_split "$T/scripts/version.sh" check
    expect_status 1
    [ -z "$out" ]
    [[ "$err" == *"version: error: lib/vecstore.h:$line: VECSTORE_VERSION_MINOR is '7', VERSION says '$V'"* ]]
    [[ "$err" == *"version: error: man/vs-index.1:1: .TH's \"vecstore VERSION\" is '0.9.9', VERSION says '$V'"* ]]
    [ "$(printf '%s\n' "$err" | wc -l)" -eq 2 ]
    run_split "$T/scripts/version.sh" check-header
    expect_status 1
    [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ]
}

@test "release: scripts/version.sh set writes the header and man pages; check then passes" {
    version_tree
    sed -i '1s/(.*-1)/(2.3.4-1)/' "$T/debian/changelog"
    printf '## [2.3.4] - Unreleased\n' >>"$T/CHANGELOG.md"
    run_split "$T/scripts/version.sh" set 2.3.4
    expect_status 0
    [ "$(cat "$T/VERSION")" = 2.3.4 ]
    grep -qx '#define VECSTORE_VERSION_STRING "2.3.4"' "$T/lib/vecstore.h"
    grep -qx '#define VECSTORE_VERSION_MAJOR 2' "$T/lib/vecstore.h"
    grep -q '"vecstore 2.3.4"' "$T/man/vs-query.1"
    run_split "$T/scripts/version.sh" check
    expect_status 0
    [ -z "$err" ]
    run_split "$T/scripts/version.sh" set 2.3
    expect_status 2
    [ "$err" = "version: error: set: '2.3' is not X.Y.Z" ]
    echo "v1" >"$T/VERSION"
    run_split "$T/scripts/version.sh" check
    expect_status 3
    [ "$err" = "version: error: VERSION:1: 'v1' is not X.Y.Z" ]
    run_split "$T/scripts/version.sh" frobnicate
    expect_status 2
    [[ "$err" == "version: error: unknown command 'frobnicate'"* ]]
}

@test "release: every program's --version prints VERSION" {
    n=0
    for p in "$ROOT"/cmd/vs-*.c; do
        prog=$(basename "$p" .c)
        run_split "$VS_BIN/$prog" --version
        expect_status 0
        [ "$out" = "$prog $V" ]
        [ -z "$err" ]
        n=$((n + 1))
    done
    [ "$n" -ge 8 ]
}

@test "release: vs_version() of both libraries and VECSTORE_VERSION_STRING print VERSION; vecstore.pc says it" {
    cd "$BATS_TEST_TMPDIR"
    cat >t.c <<'C'
#include <stdio.h>
#include "vecstore.h"
int main(void) { printf("%s %s %d\n", vs_version(), VECSTORE_VERSION_STRING, vs_version_number()); return 0; }
C
    IFS=. read -r ma mi pa <<<"$V"
    want="$V $V $((ma * 10000 + mi * 100 + pa))"
    # shared
    run_split cc $SANFLAGS -I"$ROOT/lib" t.c -L"$build" -lvecstore -o t-shared
    expect_status 0
    run_split env LD_LIBRARY_PATH="$build" ./t-shared
    expect_status 0
    [ "$out" = "$want" ]
    # static, with the libraries vecstore.pc names
    libs=$(PKG_CONFIG_PATH="$build" pkg-config --libs --static vecstore | sed 's/-lvecstore//')
    run_split cc $SANFLAGS -I"$ROOT/lib" t.c "$build/libvecstore.a" $libs -o t-static
    expect_status 0
    run_split ./t-static
    expect_status 0
    [ "$out" = "$want" ]
    run_split env PKG_CONFIG_PATH="$build" pkg-config --modversion vecstore
    expect_status 0
    [ "$out" = "$V" ]
}

@test "release: the build stops when the header's version disagrees with VERSION" {
    version_tree
    cp "$ROOT/Makefile" "$T/"
    cd "$T"
    echo 9.9.9 >VERSION
    # the stamp every library and CLI object depends on
    run_split make -s BUILD=b b/.version-9.9.9
    expect_status 2
    [[ "$err" == *"version: error: lib/vecstore.h:"*": VECSTORE_VERSION_MAJOR is '${V%%.*}', VERSION says '9.9.9'"* ]]
    [ ! -e b/.version-9.9.9 ]
    echo "$V" >VERSION
    run_split make -s BUILD=b "b/.version-$V"
    expect_status 0
    [ -f "b/.version-$V" ]
    [ -f "$build/.version-$V" ]
}

# make lint's script on a scratch tree: both tools find a planted bug, and
# an entry in each suppressions file is what lets it pass.
@test "release: every man page renders at 80 columns without a groff warning (lintian's groff-message)" {
    command -v man > /dev/null || skip "man not installed"
    for f in "$ROOT"/man/*.[13]; do
        w=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$f" 2>&1 > /dev/null)
        [ -z "$w" ] || { echo "$f: $w"; false; }
    done
    # a table too wide is what the check is for: it finds a planted one
    cd "$BATS_TEST_TMPDIR"
    { echo "'\\\" t"; printf '.TH X 1\n.SH T\n.TS\nl l.\n1\t'; printf 'word %.0s' $(seq 40); printf '\n.TE\n'; } > wide.1
    w=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z wide.1 2>&1 > /dev/null)
    [[ "$w" == *"table wider than line width"* ]] || { echo "no warning: $w"; false; }
}

@test "release: scripts/lint.sh reports a planted null dereference by both tools; suppressions silence it" {
    for t in cppcheck clang-tidy; do
        command -v "$t" >/dev/null || skip "$t not installed (scripts/deps.sh --release installs it)"
    done
    T="$BATS_TEST_TMPDIR/tree"
    mkdir -p "$T/scripts" "$T/lib/x"
    cp "$ROOT/scripts/lint.sh" "$T/scripts/"
    cp "$ROOT/.cppcheck-suppressions" "$ROOT/.clang-tidy" "$ROOT/.clang-tidy-suppressions" "$T/"
    cat >"$T/lib/x/bad.c" <<'C'
#include <stddef.h>
int deref(void);
int deref(void)
{
    int *p = NULL;
    return *p;
}
C
    cd "$T"
    export LINT_FLAGS="-std=c11 -D_GNU_SOURCE -Ilib/x"
    run_split scripts/lint.sh lib/x/bad.c
    expect_status 1
    [[ "$out" == *"lib/x/bad.c:6: cppcheck nullPointer: "* ]]
    [[ "$out" == *"lib/x/bad.c:6: clang-tidy clang-analyzer-core.NullDereference: "* ]]
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 2 ]
    [[ "$err" == *"lint: 2 findings: fix them, or justify them in "* ]]
    printf '# planted\nnullPointer:lib/x/bad.c\n' >>.cppcheck-suppressions
    printf '# planted\nclang-analyzer-core.NullDereference:lib/x/bad.c\n' >>.clang-tidy-suppressions
    run_split scripts/lint.sh lib/x/bad.c
    expect_status 0
    [ -z "$out" ]
    [[ "$err" == *"lint: no findings in 1 files"* ]]
}

@test "release: scripts/lint.sh checks the Python extension's C files with Python's headers and cppcheck's model of its API" {
    for t in cppcheck clang-tidy; do
        command -v "$t" >/dev/null || skip "$t not installed (scripts/deps.sh --release installs it)"
    done
    py_inc=$(python3 -c "import sysconfig; print(sysconfig.get_paths()['include'])" 2>/dev/null)
    [ -f "$py_inc/Python.h" ] || skip "no Python headers for python3 (the ones python-ext builds with)"
    T="$BATS_TEST_TMPDIR/tree"
    mkdir -p "$T/scripts" "$T/python/vecstore"
    cp "$ROOT/scripts/lint.sh" "$T/scripts/"
    cp "$ROOT/.cppcheck-suppressions" "$ROOT/.clang-tidy" "$ROOT/.clang-tidy-suppressions" "$T/"
    # Py_BEGIN_ALLOW_THREADS opens a block its partner closes: without
    # cppcheck's python model the file reads as broken code
    cat >"$T/python/vecstore/bad.c" <<'C'
#define PY_SSIZE_T_CLEAN
#include <Python.h>
int deref(void);
int deref(void)
{
    int *p = NULL;
    int v = 0;
    Py_BEGIN_ALLOW_THREADS
    v = 1;
    Py_END_ALLOW_THREADS
    return *p + v;
}
C
    cd "$T"
    export LINT_FLAGS="-std=c11 -D_GNU_SOURCE"
    run_split env LINT_PY_INCLUDE= scripts/lint.sh python/vecstore/bad.c
    expect_status 2
    [ -z "$out" ]
    [ "$err" = "lint: error: python/vecstore/bad.c needs Python's headers: LINT_PY_INCLUDE='' has no Python.h (run it as make lint)" ]
    run_split env LINT_PY_INCLUDE="$py_inc" scripts/lint.sh python/vecstore/bad.c
    expect_status 1
    [[ "$out" == *"python/vecstore/bad.c:11: cppcheck nullPointer: "* ]]
    [[ "$out" == *"python/vecstore/bad.c:11: clang-tidy clang-analyzer-core.NullDereference: "* ]]
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 2 ]
    [[ "$err" == *"lint: 2 findings: fix them, or justify them in "* ]]
}

@test "release: scripts/lint.sh usage errors: an unknown option, no LINT_FLAGS, a missing file" {
    run_split "$ROOT/scripts/lint.sh" --help
    expect_status 0
    [[ "$out" == *"scripts/lint.sh [FILE.c...]"* ]]
    run_split "$ROOT/scripts/lint.sh" --frobnicate
    expect_status 2
    [ "$err" = "lint: error: unknown option '--frobnicate'" ]
    for t in cppcheck clang-tidy; do
        command -v "$t" >/dev/null || skip "$t not installed (scripts/deps.sh --release installs it)"
    done
    run_split env LINT_FLAGS= "$ROOT/scripts/lint.sh"
    expect_status 2
    [ "$err" = "lint: error: LINT_FLAGS is empty (run it as make lint)" ]
    run_split env LINT_FLAGS=-Ilib "$ROOT/scripts/lint.sh" lib/no-such.c
    expect_status 2
    [ "$err" = "lint: error: lib/no-such.c: no such file" ]
}

# ---- the Debian packages (VS_FRESH_ROOT=1) -----------------------------------

deb_built() {
    local why
    why=$(deb_why_not)
    [ -z "$why" ] || skip "$why"
    D="$BATS_FILE_TMPDIR/deb"
    if [ "$(cat "$D/build.status")" -ne 0 ]; then
        tail -n 40 "$D/build.log" >&2
        return 1
    fi
}

@test "release: dpkg-buildpackage -us -uc -b builds vecstore, libvecstore1 and libvecstore-dev with their files" {
    deb_built
    a=$(dpkg-architecture -qDEB_HOST_ARCH)
    m=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
    [ "$(ls "$D"/debs/*.deb | wc -l)" -eq 3 ]
    for p in vecstore libvecstore1 libvecstore-dev; do
        [ -f "$D/debs/${p}_$V-1_$a.deb" ]
    done
    run_split dpkg-deb -c "$D/debs/vecstore_$V-1_$a.deb"
    expect_status 0
    out+=$'\n' # every entry, the last one too, ends with a newline
    for prog in "$ROOT"/cmd/vs-*.c; do
        b=$(basename "$prog" .c)
        [[ "$out" == *" ./usr/bin/$b"$'\n'* ]]
        [[ "$out" == *" ./usr/share/man/man1/$b.1.gz"$'\n'* ]]
    done
    [[ "$out" == *" ./usr/share/vecstore/demo/examples/demo.sh"$'\n'* ]]
    run_split dpkg-deb -c "$D/debs/libvecstore-dev_$V-1_$a.deb"
    expect_status 0
    out+=$'\n'
    for f in usr/include/vecstore.h "usr/lib/$m/libvecstore.a" "usr/lib/$m/pkgconfig/vecstore.pc" \
             usr/share/man/man3/vecstore.3.gz; do
        [[ "$out" == *" ./$f"$'\n'* ]]
    done
    [[ "$out" == *" ./usr/lib/$m/libvecstore.so -> libvecstore.so.1"* ]]
    # the shared library with its soname, and the shlibs file naming it
    rm -rf "$D/x"
    dpkg-deb -x "$D/debs/libvecstore1_$V-1_$a.deb" "$D/x"
    run_split readelf -d "$D/x/usr/lib/$m/libvecstore.so.1"
    expect_status 0
    [[ "$out" == *"Library soname: [libvecstore.so.1]"* ]]
    run_split dpkg-deb -I "$D/debs/libvecstore1_$V-1_$a.deb" shlibs
    expect_status 0
    [ "$out" = "libvecstore 1 libvecstore1 (>= $V)" ]
    # the .pc file of the package names /usr and the multiarch folder
    rm -rf "$D/y"
    dpkg-deb -x "$D/debs/libvecstore-dev_$V-1_$a.deb" "$D/y"
    grep -qx "libdir=/usr/lib/$m" "$D/y/usr/lib/$m/pkgconfig/vecstore.pc"
    grep -qx "Version: $V" "$D/y/usr/lib/$m/pkgconfig/vecstore.pc"
}

@test "release: lintian finds no error in the packages (its warnings are listed)" {
    deb_built
    if [ "$(cat "$D/lintian.status")" -ne 0 ]; then
        cat "$D/lintian.log" >&2
        return 1
    fi
    run ! grep -E '^E: ' "$D/lintian.log"
    # the warnings, so a CI log shows them
    { grep -E '^[WI]: ' "$D/lintian.log" || true; } | sed 's/^/# /' >&3
}

# Pass when fresh-root/run.sh --debs reported step N ok.
root_step_ok() {
    deb_built
    if ! grep -qE "^ok $1 - " "$D/root.tap"; then
        sed -n "/^not ok $1 - /,/^\(not \)\{0,1\}ok /p" "$D/root.tap" >&2
        cat "$D/root.err" >&2
        return 1
    fi
    grep -E "^ok $1 - " "$D/root.tap" | sed 's/^/# /' >&3
}

@test "release: the packages in a fresh root 1: a bare Debian root" { root_step_ok 1; }
@test "release: the packages in a fresh root 2: apt installs the three .deb files" { root_step_ok 2; }
@test "release: the packages in a fresh root 3: the packaged demo runs" { root_step_ok 3; }
@test "release: the packages in a fresh root 4: --version, man pages, libvecstore.so.1" { root_step_ok 4; }
@test "release: the packages in a fresh root 5: a C program builds against libvecstore-dev" { root_step_ok 5; }
@test "release: the packages in a fresh root 6: apt purges them and leaves none of their files" { root_step_ok 6; }
