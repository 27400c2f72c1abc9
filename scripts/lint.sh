#!/bin/bash
# Static analysis of lib/, cmd/ and the Python extension's C files:
# cppcheck and clang-tidy, with the
# project's configurations. A finding is printed as FILE:LINE: TOOL ID:
# message; the run fails when one is left that the configuration does not
# justify:
#   .cppcheck-suppressions   cppcheck IDs, each with its reason (ID or ID:FILE)
#   .clang-tidy              the checks clang-tidy runs (and why some are off)
#   .clang-tidy-suppressions clang-tidy findings justified one file at a time
#                            (CHECK:FILE, each with its reason)
#   scripts/lint.sh [FILE.c...]     default: lib/*/*.c cmd/*.c python/vecstore/*.c
# Environment: LINT_FLAGS, the compiler flags (make lint passes the build's,
# less warnings); LINT_PY_INCLUDE, Python's header folder, needed for
# python/*.c (make lint passes the one python-ext builds with); LINT_JOBS,
# clang-tidy processes at once (default 2).
# Exit: 0 no finding, 1 findings, 2 usage, 5 a tool is missing or failed.
set -u
cd "$(dirname "$0")/.."

case "${1:-}" in
    -h|--help) sed -n '/^#   scripts\/lint.sh/,/^# Exit:/s/^# \{0,3\}//p' "$0"; exit 0 ;;
    -*) echo "lint: error: unknown option '$1'" >&2; exit 2 ;;
esac
for t in cppcheck clang-tidy; do
    command -v "$t" >/dev/null ||
        { echo "lint: error: $t not found (scripts/deps.sh --release installs it)" >&2; exit 5; }
done
[ -n "${LINT_FLAGS:-}" ] ||
    { echo "lint: error: LINT_FLAGS is empty (run it as make lint)" >&2; exit 2; }
if [ $# -gt 0 ]; then files=("$@"); else files=(lib/*/*.c cmd/*.c python/vecstore/*.c); fi
for f in "${files[@]}"; do
    [ -f "$f" ] || { echo "lint: error: $f: no such file" >&2; exit 2; }
    case "$f" in python/*)
        [ -f "${LINT_PY_INCLUDE:-}/Python.h" ] ||
            { echo "lint: error: $f needs Python's headers: LINT_PY_INCLUDE='${LINT_PY_INCLUDE:-}' has no Python.h (run it as make lint)" >&2; exit 2; }
    esac
done
jobs=${LINT_JOBS:-2}
work=$(mktemp -d "${TMPDIR:-/tmp}/vecstore-lint.XXXXXX")
trap 'rm -rf "$work"' EXIT
eval "flags=($LINT_FLAGS)"
# clang finds GCC's omp.h (alone: GCC's other headers, stdatomic.h among
# them, are not for clang)
mkdir "$work/omp"
ln -s "$(gcc -print-file-name=include)/omp.h" "$work/omp/omp.h"
flags+=(-idirafter "$work/omp")
# cppcheck gets the project's own include folders and macros, not the
# system's headers (it has its own models of libc and POSIX)
cpp_flags=()
for a in "${flags[@]}"; do
    case "$a" in -Ilib*|-Icmd*|-D*) cpp_flags+=("$a") ;; esac
done


# suppressed FILE ID PATH: 0 when a CHECK:PATH or CHECK entry of FILE covers it
suppressed() {
    awk -v id="$2" -v path="$3" '
        /^[ \t]*(#|$)/ { next }
        { sub(/[ \t]*#.*/, ""); if ($0 == id || $0 == id ":" path) { found = 1; exit } }
        END { exit !found }' "$1"
}

# ---- cppcheck: one run over all files (its whole-program checks need them)
t0=$(date +%s)
# (--library=python: cppcheck's model of Python's C API, whose macros open
# and close blocks)
cppcheck -q --std=c11 --library=posix --library=gnu --library=python "${cpp_flags[@]}" \
    --enable=warning,style,performance,portability \
    --suppressions-list=.cppcheck-suppressions \
    --template='{file}:{line}: cppcheck {id}: {message}' \
    "${files[@]}" >"$work/cppcheck" 2>&1
st=$?
[ $st -eq 0 ] || { cat "$work/cppcheck" >&2; echo "lint: error: cppcheck failed (status $st)" >&2; exit 5; }
grep -E '^[^ ]+:[0-9]+: cppcheck ' "$work/cppcheck" >"$work/found" || true
echo "# cppcheck: $(wc -l <"$work/found") findings in $(( $(date +%s) - t0 )) s" >&2

# ---- clang-tidy: one process a file, LINT_JOBS at once (python/*.c with
# Python's headers as system headers); findings in the project's own files
# only (lib/, cmd/ and python/, headers included)
t0=$(date +%s)
mkdir "$work/tidy"
printf '%s\0' "${files[@]}" | xargs -0 -P "$jobs" -I{} sh -c '
    w=$1 f=$2; shift 2
    out=$w/tidy/$(printf "%s" "$f" | tr / _)
    case "$f" in python/*) set -- "$@" -isystem "$LINT_PY_INCLUDE" ;; esac
    clang-tidy -quiet "$f" -- "$@" >"$out" 2>&1
    st=$?
    # clang-tidy exits 1 with findings that are not errors
    if [ $st -ne 0 ] && ! grep -q " \[[a-z.-]*\]$" "$out"; then
        { echo "lint: error: clang-tidy $f: status $st"; tail -n 5 "$out"; } >"$out.failed"
    fi' sh "$work" {} "${flags[@]}"
if ls "$work"/tidy/*.failed >/dev/null 2>&1; then
    cat "$work"/tidy/*.failed >&2; exit 5
fi
here=$PWD/
cat "$work"/tidy/* | sed -n "s#^$here##; s#^\(\(lib\|cmd\|python\)/[^:]*\):\([0-9]*\):[0-9]*: \(warning\|error\): \(.*\) \[\([^]]*\)\]\$#\1:\3: clang-tidy \6: \5#p" |
    sort -u >"$work/tidy-found"
n=0
while IFS= read -r line; do
    path=${line%%:*}; rest=${line#*clang-tidy }; id=${rest%%:*}
    # one finding may carry several names (a check and its CERT alias):
    # an entry for any of them covers it
    hit=0
    for one in ${id//,/ }; do
        if suppressed .clang-tidy-suppressions "$one" "$path"; then hit=1; break; fi
    done
    [ "$hit" -eq 0 ] || continue
    echo "$line" >>"$work/found"; n=$((n + 1))
done <"$work/tidy-found"
echo "# clang-tidy: $n findings in $(( $(date +%s) - t0 )) s ($jobs at once)" >&2

if [ -s "$work/found" ]; then
    sort -t: -k1,1 -k2,2n "$work/found"
    echo "lint: $(wc -l <"$work/found") findings: fix them, or justify them in .cppcheck-suppressions, .clang-tidy or .clang-tidy-suppressions" >&2
    exit 1
fi
echo "lint: no findings in ${#files[@]} files" >&2
