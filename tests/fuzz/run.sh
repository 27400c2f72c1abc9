#!/bin/sh
# tests/fuzz/run.sh [SECONDS | --make-seeds]: the libFuzzer targets tests/fuzz/fuzz_*.c,
# each run for SECONDS (default 60) from its committed seed corpus, as TAP
# (one test per target) for tests/run.sh. `make fuzz` runs it with
# FUZZ_SECONDS (default 60); the suite runs each target for a few seconds.
# FUZZ_SEED (default 1) seeds libFuzzer's mutations, so the suite tries the
# same inputs each run and a red CI means a changed program, not a lucky
# draw; `make fuzz` passes 0 (a random seed) to explore.
#
# Per target NAME (fuzz_NAME.c):
#   tests/fuzz/corpus/NAME/   seeds, made from real inputs (read only: new
#                             inputs go to build-fuzz/corpus/NAME/)
#   tests/fuzz/crashes/NAME/  inputs that once crashed it: replayed first,
#                             each must now pass
#   #define FUZZ_MAX_LEN N    in the source: the largest input tried (4096
#                             when absent)
# A target is "ok" when the replay passes and libFuzzer ends its time
# without a failure; the line gives its executions and final coverage
# (libFuzzer's cov and ft). A failing input goes to build-fuzz/crashes/.
#
# The library is built by the Makefile into build-fuzz/ with clang,
# SANITIZE=fuzzer-no-link,address,undefined and OPENMP=0 (clang's OpenMP
# runtime is not a dependency); each target links it with -fsanitize=fuzzer.
# Inputs are handled in-process (no socket); files a target needs go to a
# temporary directory it removes at exit. A target is skipped only when
# clang cannot link a libFuzzer program (scripts/deps.sh installs clang and
# libclang-rt-dev, which has libFuzzer). Exit 0 unless a target failed.
#
# --make-seeds rewrites the binary seeds (store, segment, graph and code
# files) with tests/fuzz/make_seeds.c instead of fuzzing.
set -u
cd "$(dirname "$0")/../.."
secs=${1:-60}
out=build-fuzz
targets=$(ls tests/fuzz/fuzz_*.c)
n=$(echo "$targets" | wc -l)
[ "$secs" = --make-seeds ] || echo "1..$n"
mkdir -p "$out/corpus" "$out/crashes"

skip_all() {
    i=0
    for t in $targets; do
        i=$((i + 1))
        echo "ok $i - $(basename "$t" .c) # SKIP $1"
    done
    exit 0
}

# fail_all MSG LOG: every target fails (the build did), with LOG's tail
fail_all() {
    i=0
    for t in $targets; do
        i=$((i + 1))
        echo "not ok $i - $(basename "$t" .c): $1"
    done
    tail -n 30 "$2" | sed 's/^/# /'
    exit 1
}

command -v clang >/dev/null 2>&1 ||
    skip_all "clang is not installed (scripts/deps.sh installs it)"
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; return (int)(n & 0); }\n' \
    > "$out/probe.c"
clang -fsanitize=fuzzer -o "$out/probe" "$out/probe.c" 2> "$out/probe.err" ||
    skip_all "clang cannot link a libFuzzer program: $(head -n 1 "$out/probe.err") (scripts/deps.sh installs libclang-rt-dev)"

# WERROR=1: the library builds warning-free with clang too
make --no-print-directory -j2 BUILD="$out" CC=clang CFLAGS="-O1 -g" OPENMP=0 WERROR=1 \
    SANITIZE=fuzzer-no-link,address,undefined "$out/libvecstore.a" > "$out/lib.log" 2>&1 ||
    fail_all "cannot build the library with clang" "$out/lib.log"

pkgs="jansson libzstd yaml-0.1 libxxhash libutf8proc libcurl libxml-2.0 openblas libmicrohttpd"
pkg-config --exists poppler-glib 2>/dev/null && pkgs="$pkgs poppler-glib"
incs="-Ilib $(for d in lib/*/; do printf -- ' -I%s' "${d%/}"; done) -Icmd -Itests/fuzz"
# shellcheck disable=SC2086
cflags="-std=c11 -D_GNU_SOURCE $incs $(pkg-config --cflags $pkgs) -O1 -g -fsanitize=fuzzer,address,undefined"
# shellcheck disable=SC2086
libs="$(pkg-config --libs $pkgs) -lstemmer -lmd4c -lm -lpthread"

# the targets' own files (fuzz_dir in fuzz.h) go to one directory of this
# run, in memory where there is some, removed at the end (a target that
# crashed or was killed could not remove its own)
base=${TMPDIR:-/tmp}
[ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
TMPDIR=$(mktemp -d "$base/vs-fuzz-run.XXXXXX") || exit 5
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT

if [ "$secs" = --make-seeds ]; then
    # shellcheck disable=SC2086
    clang ${cflags%-fsanitize=*} -fsanitize=address,undefined -o "$out/make_seeds" \
        tests/fuzz/make_seeds.c "$out/libvecstore.a" $libs && "$out/make_seeds"
    exit
fi

status=0 i=0
for t in $targets; do
    i=$((i + 1))
    name=$(basename "$t" .c)
    short=${name#fuzz_}
    log=$out/$name.log
    # shellcheck disable=SC2086
    if ! clang $cflags -o "$out/$name" "$t" "$out/libvecstore.a" $libs > "$log" 2>&1; then
        echo "not ok $i - $name: does not build"
        tail -n 30 "$log" | sed 's/^/# /'
        status=1
        continue
    fi
    maxlen=$(sed -n 's/^#define FUZZ_MAX_LEN \([0-9][0-9]*\).*/\1/p' "$t" | head -n 1)
    crashes=$(ls -d tests/fuzz/crashes/"$short"/* 2>/dev/null || true)
    if [ -n "$crashes" ]; then
        # shellcheck disable=SC2086
        if ! "$out/$name" $crashes > "$log" 2>&1; then
            echo "not ok $i - $name: a committed crash input fails again (tests/fuzz/crashes/$short/)"
            tail -n 40 "$log" | sed 's/^/# /'
            status=1
            continue
        fi
    fi
    mkdir -p "$out/corpus/$short"
    seeds=""
    [ -d "tests/fuzz/corpus/$short" ] && seeds="tests/fuzz/corpus/$short"
    # shellcheck disable=SC2086
    if "$out/$name" -seed="${FUZZ_SEED:-1}" -max_total_time="$secs" -max_len="${maxlen:-4096}" -timeout=25 \
            -artifact_prefix="$out/crashes/$name-" "$out/corpus/$short" $seeds > "$log" 2>&1; then
        runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 runs in \2 s/p' "$log" | tail -n 1)
        cov=$(sed -n 's/^#[0-9]*[[:space:]]*DONE[[:space:]]*cov: \([0-9]*\) ft: \([0-9]*\).*/cov \1 ft \2/p' "$log" | tail -n 1)
        if [ -n "$runs" ]; then
            echo "ok $i - $name: $runs${cov:+, $cov}, no failure${crashes:+, $(echo "$crashes" | wc -l) crash inputs replayed}"
        else
            echo "not ok $i - $name: ended without libFuzzer's summary"
            tail -n 30 "$log" | sed 's/^/# /'
            status=1
        fi
    else
        echo "not ok $i - $name: failed (the input is in $out/crashes/)"
        tail -n 40 "$log" | sed 's/^/# /'
        status=1
    fi
done
exit $status
