#!/bin/sh
# tests/fuzz/run.sh [SECONDS]: the libFuzzer targets tests/fuzz/fuzz_*.c,
# each run for SECONDS (default 60) from a small seed corpus, as TAP (one
# test per target) for tests/run.sh, which runs them for FUZZ_SECONDS
# (default 20) in `make check`.
#
# The library is built by the Makefile into build-fuzz/ with clang,
# SANITIZE=fuzzer-no-link,address,undefined and OPENMP=0 (clang's OpenMP
# runtime is not a dependency); each target links it with
# -fsanitize=fuzzer. Inputs are handled in-process (no socket). Corpus and
# crash files go to build-fuzz/. A target is skipped only when clang cannot
# link a libFuzzer program (scripts/deps.sh installs clang and
# libclang-rt-dev, which has libFuzzer). Exit 0 unless a target failed.
set -u
cd "$(dirname "$0")/../.."
secs=${1:-60}
out=build-fuzz
targets=$(ls tests/fuzz/fuzz_*.c)
n=$(echo "$targets" | wc -l)
echo "1..$n"
mkdir -p "$out/corpus"

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

# CI= and WERROR=0: clang's warnings are not the gate (the gcc builds are)
make --no-print-directory -j2 BUILD="$out" CC=clang CFLAGS="-O1 -g" OPENMP=0 CI= WERROR=0 \
    SANITIZE=fuzzer-no-link,address,undefined lib > "$out/lib.log" 2>&1 ||
    fail_all "cannot build the library with clang" "$out/lib.log"

pkgs="jansson libzstd yaml-0.1 libxxhash libutf8proc libcurl libxml-2.0 openblas libmicrohttpd"
pkg-config --exists poppler-glib 2>/dev/null && pkgs="$pkgs poppler-glib"
# shellcheck disable=SC2086
# lib/ has a folder per subsystem, each on the include path (as in the Makefile)
cflags="-std=c11 -D_GNU_SOURCE -Ilib $(for d in lib/*/; do printf -- " -I%s" "${d%/}"; done) -Icmd $(pkg-config --cflags $pkgs) -O1 -g -fsanitize=fuzzer,address,undefined"
# shellcheck disable=SC2086
libs="$(pkg-config --libs $pkgs) -lstemmer -lmd4c -lm -lpthread"

status=0 i=0
for t in $targets; do
    i=$((i + 1))
    name=$(basename "$t" .c)
    log=$out/$name.log
    # shellcheck disable=SC2086
    if ! clang $cflags -o "$out/$name" "$t" "$out/libvecstore.a" $libs > "$log" 2>&1; then
        echo "not ok $i - $name: does not build"
        tail -n 30 "$log" | sed 's/^/# /'
        status=1
        continue
    fi
    mkdir -p "$out/corpus/$name" "$out/crashes"
    printf '\000\000{"id":"q","vector":[1,0,0,1],"k":3}' > "$out/corpus/$name/seed1"
    printf '\001\000{"id":"a","vector":[1,2,3,4]}\n{"id":"b","vector_b64":"AACAPwAAAAAAAAAAAACAPw=="}' > "$out/corpus/$name/seed2"
    if "$out/$name" -max_total_time="$secs" -max_len=4096 -artifact_prefix="$out/crashes/$name-" \
            "$out/corpus/$name" > "$log" 2>&1; then
        runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 runs in \2 s/p' "$log" | tail -n 1)
        if [ -n "$runs" ]; then
            echo "ok $i - $name: $runs, no failure"
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
