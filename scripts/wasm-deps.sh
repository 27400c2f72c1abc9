#!/bin/sh
# Build the C libraries the WebAssembly core needs (zstd, jansson, xxhash,
# utf8proc, libstemmer) from their Debian source packages with emcc, into
# build-wasm/deps/{include,lib}. Nothing is vendored into the repository.
#
#   scripts/wasm-deps.sh [BUILD_DIR]      (default build-wasm)
#
# The sources come from `apt-get source` run against a private apt
# configuration in BUILD_DIR/apt (a deb-src line for Debian bookworm signed by
# the Debian archive keyring), so the machine's own apt settings are not
# touched; apt checks the Release signature and the files' checksums. Each
# library is unpacked and built once: a later run with the stamp present does
# nothing. Exit: 0 built or up to date, 5 a download or build failed.
set -eu

B=${1:-build-wasm}
mkdir -p "$B"
B=$(cd "$B" && pwd)
APT="$B/apt"
SRC="$B/src"
OUT="$B/deps"
STAMP="$OUT/.stamp-v4"
[ -f "$STAMP" ] && exit 0

die() { echo "wasm-deps.sh: error: $*" >&2; exit 5; }
command -v emcc >/dev/null 2>&1 || die "emcc not found (scripts/deps.sh --wasm installs emscripten)"
command -v dpkg-source >/dev/null 2>&1 || die "dpkg-source not found (dpkg-dev)"
# Debian's emcc runs its JS tools with the node first on PATH; they need
# Debian's acorn (node-acorn) from /usr/share/nodejs.
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}

mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/parts" "$SRC" \
    "$OUT/include" "$OUT/lib"
KEY=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$KEY" ] || die "$KEY missing (debian-archive-keyring)"
cat > "$APT/sources.list" <<EOS
deb-src [signed-by=$KEY] http://deb.debian.org/debian bookworm main
deb-src [signed-by=$KEY] http://deb.debian.org/debian bookworm-updates main
EOS
APTOPT="-o Dir::Etc::SourceList=$APT/sources.list -o Dir::Etc::SourceParts=$APT/parts
 -o Dir::State::Lists=$APT/lists -o Dir::Cache=$APT/cache -o Debug::NoLocking=1"
if [ ! -f "$APT/.updated" ]; then
    # shellcheck disable=SC2086
    apt-get -qq $APTOPT update >&2 || die "apt-get update (deb-src) failed"
    touch "$APT/.updated"
fi

fetch() { # source package name -> its unpacked directory on stdout
    d=$(find "$SRC" -maxdepth 1 -type d -name "$1-[0-9]*" | head -n 1)
    if [ -z "$d" ]; then
        # shellcheck disable=SC2086
        (cd "$SRC" && apt-get -qq $APTOPT source "$1" >&2) || die "apt-get source $1 failed"
        d=$(find "$SRC" -maxdepth 1 -type d -name "$1-[0-9]*" | head -n 1)
    fi
    [ -n "$d" ] || die "no unpacked source for $1"
    echo "$d"
}

# no -msimd128: the same archives serve the SIMD128 and the scalar module.
# -Os where speed matters little (zstd's compressor: commits in a page are
# small; jansson, utf8proc, the stemmers), -O3 for zstd's decompressor
# (opening a store) and xxhash (every checksum): 40 KB less gzipped.
CF_SMALL="-Os -fno-exceptions"
CF_FAST="-O3 -fno-exceptions"
CF=$CF_SMALL
lib() { # archive name, object files...
    a="$OUT/lib/$1"; shift
    rm -f "$a"; emar rcs "$a" "$@"
}
# built by an earlier run of this script as it is now (a changed script,
# e.g. new flags, builds again)
have() { [ -f "$OUT/lib/$1" ] && [ "$OUT/lib/$1" -nt "$0" ]; }
JOBS=${JOBS:-2}
objs() { # build dir, cflags, sources... -> compiles each into build dir, JOBS at once
    od=$1; fl=$2; shift 2
    rm -rf "$od"; mkdir -p "$od"
    # shellcheck disable=SC2086
    printf '%s\n' "$@" | xargs -P "$JOBS" -I{} sh -c \
        'emcc $1 $2 -c "$3" -o "$4/$(basename "$3").o"' sh "$CF" "$fl" {} "$od" ||
        die "emcc failed in $od"
}

# zstd: the library's common, compress and decompress parts, single-threaded
if ! have libzstd.a; then
z=$(fetch libzstd)
objs "$B/obj/zstd" "-DZSTD_MULTITHREAD=0 -DZSTD_DISABLE_ASM -I$z/lib -I$z/lib/common" \
    "$z"/lib/common/*.c "$z"/lib/compress/*.c
CF=$CF_FAST
objs "$B/obj/zstd-d" "-DZSTD_MULTITHREAD=0 -DZSTD_DISABLE_ASM -I$z/lib -I$z/lib/common" \
    "$z"/lib/decompress/*.c
CF=$CF_SMALL
lib libzstd.a "$B"/obj/zstd/*.o "$B"/obj/zstd-d/*.o
cp "$z/lib/zstd.h" "$z/lib/zstd_errors.h" "$OUT/include/"
fi

# xxhash: one file
if ! have libxxhash.a; then
x=$(fetch xxhash)
CF=$CF_FAST
objs "$B/obj/xxhash" "-I$x" "$x/xxhash.c"
CF=$CF_SMALL
lib libxxhash.a "$B"/obj/xxhash/*.o
cp "$x/xxhash.h" "$OUT/include/"
fi

# utf8proc
if ! have libutf8proc.a; then
u=$(fetch utf8proc)
objs "$B/obj/utf8proc" "-DUTF8PROC_STATIC -I$u" "$u/utf8proc.c"
lib libutf8proc.a "$B"/obj/utf8proc/*.o
cp "$u/utf8proc.h" "$OUT/include/"
fi

# jansson: configure's jansson_config.h and config.h written here for
# a 32-bit WebAssembly target with C11 atomics and no threads
if ! have libjansson.a; then
j=$(fetch jansson)
mkdir -p "$B/obj/jansson-cfg"
sed -e 's/@json_inline@/inline/' -e 's/@json_have_long_long@/1/' \
    -e 's/@json_have_localeconv@/0/' -e 's/@json_have_atomic_builtins@/1/' \
    -e 's/@json_have_sync_builtins@/1/' "$j/src/jansson_config.h.in" \
    > "$B/obj/jansson-cfg/jansson_config.h"
cat > "$B/obj/jansson-cfg/jansson_private_config.h" <<EOS
#define HAVE_STDINT_H 1
#define HAVE_INTTYPES_H 1
#define HAVE_UNISTD_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_SYS_STAT_H 1
#define HAVE_FCNTL_H 1
#define HAVE_SYS_TIME_H 1
#define HAVE_STRTOLL 1
#define HAVE_ATOMIC_BUILTINS 1
#define HAVE_SYNC_BUILTINS 1
#define INITIAL_HASHTABLE_ORDER 3
#define USE_URANDOM 1
EOS
objs "$B/obj/jansson" "-DHAVE_CONFIG_H -I$B/obj/jansson-cfg -I$j/src" "$j"/src/*.c
lib libjansson.a "$B"/obj/jansson/*.o
cp "$j/src/jansson.h" "$B/obj/jansson-cfg/jansson_config.h" "$OUT/include/"
fi

# libstemmer (snowball): the Debian source has the algorithms (.sbl), not
# their C: build the snowball compiler natively with the package's own
# GNUmakefile, let it generate the UTF-8 stemmers and libstemmer_utf8.c, then
# compile those and the runtime with emcc
if ! have libstemmer.a; then
s=$(fetch snowball)
make -s -C "$s" snowball libstemmer/libstemmer_utf8.c libstemmer/modules_utf8.h \
    >&2 || die "snowball's generator failed"
srcs=$(sed -n 's/^ *\(src_c\/stem_UTF_8_[a-z_0-9]*\.c\).*/\1/p' "$s/libstemmer/mkinc_utf8.mak")
[ -n "$srcs" ] || die "no stemmers listed in $s/libstemmer/mkinc_utf8.mak"
# shellcheck disable=SC2086
make -s -C "$s" $srcs >&2 || die "snowball could not generate the stemmers"
set --
for f in $srcs; do set -- "$@" "$s/$f"; done
objs "$B/obj/stemmer" "-I$s/include -I$s/runtime" "$@" "$s"/runtime/*.c \
    "$s/libstemmer/libstemmer_utf8.c"
lib libstemmer.a "$B"/obj/stemmer/*.o
cp "$s/include/libstemmer.h" "$OUT/include/"
fi
# the libraries' copyright files, shipped in the npm package
mkdir -p "$OUT/licenses"
for p in libzstd xxhash utf8proc jansson snowball; do
    cp "$(fetch "$p")/debian/copyright" "$OUT/licenses/$p.copyright"
done
touch "$STAMP"
