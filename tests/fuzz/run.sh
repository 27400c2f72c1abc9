#!/bin/sh
# tests/fuzz/run.sh [SECONDS]: build the libFuzzer targets with clang
# (-fsanitize=fuzzer,address,undefined) against lib/ and run each for
# SECONDS (default 60) on 127.0.0.1-free, in-process input. Not part of
# `make check` (needs clang); corpus and crashes go to build-fuzz/.
set -eu
cd "$(dirname "$0")/../.."
secs=${1:-60}
out=build-fuzz
mkdir -p "$out/obj" "$out/corpus"
pkgs="jansson libzstd yaml-0.1 libxxhash libutf8proc libcurl libxml-2.0 openblas libmicrohttpd"
cflags="-std=c11 -D_GNU_SOURCE -DVS_VERSION=\"0.1.0\" -Ilib $(for d in lib/*/; do printf -- " -I%s" "${d%/}"; done) -Icmd $(pkg-config --cflags $pkgs) -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fopenmp"
libs="$(pkg-config --libs $pkgs) $(pkg-config --libs poppler-glib 2>/dev/null || true) -lstemmer -lmd4c -lm -lpthread -fopenmp"
[ -n "$(pkg-config --libs poppler-glib 2>/dev/null || true)" ] && cflags="$cflags -DVS_HAVE_POPPLER=1 $(pkg-config --cflags poppler-glib)"
objs=""
for f in lib/*/*.c; do
    o="$out/obj/$(basename "$f" .c).o"
    [ "$o" -nt "$f" ] || clang $cflags -c -o "$o" "$f"
    objs="$objs $o"
done
for t in tests/fuzz/fuzz_*.c; do
    name=$(basename "$t" .c)
    clang $cflags -fsanitize=fuzzer -o "$out/$name" "$t" $objs $libs
    mkdir -p "$out/corpus/$name"
    printf '\000\000{"id":"q","vector":[1,0,0,1],"k":3}' > "$out/corpus/$name/seed1"
    printf '\001\000{"id":"a","vector":[1,2,3,4]}\n{"id":"b","vector_b64":"AACAPwAAAAAAAAAAAACAPw=="}' > "$out/corpus/$name/seed2"
    "$out/$name" -max_total_time="$secs" -max_len=4096 "$out/corpus/$name"
done
