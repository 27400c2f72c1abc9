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
STAMP="$OUT/.stamp-v6"
[ -f "$STAMP" ] && exit 0

die() { echo "wasm-deps.sh: error: $*" >&2; exit 5; }
command -v emcc >/dev/null 2>&1 || die "emcc not found (scripts/deps.sh --wasm installs emscripten)"
command -v dpkg-source >/dev/null 2>&1 || die "dpkg-source not found (dpkg-dev)"
# Debian's emcc runs its JS tools with the node first on PATH; they need
# Debian's acorn (node-acorn) from /usr/share/nodejs.
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}

mkdir -p "$OUT/include" "$OUT/lib"
. "$(dirname "$0")/apt-source.sh"
apt_source_init "$APT" "$SRC" bookworm bookworm-updates

# no -msimd128: the same archives serve the SIMD128 and the scalar module.
# -Os where speed matters little (jansson, utf8proc, the stemmers), -Oz for
# zstd's compressor (commits in a page are small), -O3 for zstd's
# decompressor (opening a store, stored text) and xxhash (every checksum).
# -fmacro-prefix-map: the sources' __FILE__ (jansson's asserts) without this
# checkout's path, so the module's bytes do not depend on where it is built
PM="-fmacro-prefix-map=$SRC/="
CF_SMALL="-Os -fno-exceptions $PM"
CF_FAST="-O3 -fno-exceptions $PM"
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

# zstd: the library's common, compress and decompress parts, single-threaded,
# built small with its documented size knobs (lib/README.md: one Huffman and
# one sequence decoder, no inlining, no error strings, no legacy formats).
# Our code compresses at levels 1 to 3 only (store blocks, BM25 postings,
# HNSW graphs), which use the fast and double-fast match finders; the other
# strategies (greedy to btultra2, levels 4 and up) are reached only through
# ZSTD_selectBlockCompressor's tables, so zstd_compress.c is compiled with
# their names mapped to double-fast's (the same signatures; any level still
# writes a valid frame) and the linker drops lazy and opt (zstd 1.5.6 has
# ZSTD_EXCLUDE_*_BLOCK_COMPRESSOR for this; Debian bookworm's 1.5.4 does
# not). 267 KB of code became 62 KB; the module 33 + 9 KB smaller gzipped.
if ! have libzstd.a; then
z=$(apt_source_fetch libzstd)
ZF="-DZSTD_MULTITHREAD=0 -DZSTD_DISABLE_ASM -DHUF_FORCE_DECOMPRESS_X1
 -DZSTD_FORCE_DECOMPRESS_SEQUENCES_SHORT -DZSTD_NO_INLINE -DZSTD_STRIP_ERROR_STRINGS
 -DZSTD_LEGACY_SUPPORT=0 -DZSTD_NO_UNUSED_FUNCTIONS -I$z/lib -I$z/lib/common"
DF=""
for s in greedy lazy lazy2 btlazy2 btopt btultra btultra2; do
    for v in "" _row; do
        DF="$DF -DZSTD_compressBlock_$s$v=ZSTD_compressBlock_doubleFast"
        DF="$DF -DZSTD_compressBlock_${s}_extDict$v=ZSTD_compressBlock_doubleFast_extDict"
        for m in dictMatchState dedicatedDictSearch; do
            DF="$DF -DZSTD_compressBlock_${s}_$m$v=ZSTD_compressBlock_doubleFast_dictMatchState"
        done
    done
done
CF="-Oz -fno-exceptions"
objs "$B/obj/zstd" "$ZF" "$z"/lib/common/*.c \
    $(ls "$z"/lib/compress/*.c | grep -v '/zstd_compress\.c$')
objs "$B/obj/zstd-c" "$ZF $DF" "$z/lib/compress/zstd_compress.c"
# the decompressor (opening a store, reading stored text for hits) at -O3
# and inlined: ZSTD_NO_INLINE is left out of it
CF=$CF_FAST
objs "$B/obj/zstd-d" "$(echo "$ZF" | sed 's/-DZSTD_NO_INLINE//')" "$z"/lib/decompress/*.c
CF=$CF_SMALL
lib libzstd.a "$B"/obj/zstd/*.o "$B"/obj/zstd-c/*.o "$B"/obj/zstd-d/*.o
cp "$z/lib/zstd.h" "$z/lib/zstd_errors.h" "$OUT/include/"
fi

# xxhash: one file
if ! have libxxhash.a; then
x=$(apt_source_fetch xxhash)
CF=$CF_FAST
objs "$B/obj/xxhash" "-I$x" "$x/xxhash.c"
CF=$CF_SMALL
lib libxxhash.a "$B"/obj/xxhash/*.o
cp "$x/xxhash.h" "$OUT/include/"
fi

# utf8proc, its Unicode tables packed: utf8proc_data.c's arrays (333 KB,
# 75 KB gzipped as they are) are written out by a program built from that
# file, their bytes split into two planes (the low bytes of every 16-bit
# word, then the high bytes: the tables are 16-bit words and structs of
# them) and compressed with zstd -19 (42 KB), and a generated
# utf8proc_data.c holds that blob and the same arrays, uninitialised, which
# a constructor fills with ZSTD_decompress before anything runs (a failure
# aborts: the module's instantiation fails, it never runs with empty
# tables). utf8proc.c itself is compiled unchanged, next to that file.
if ! have libutf8proc.a; then
u=$(apt_source_fetch utf8proc)
command -v zstd >/dev/null 2>&1 || die "zstd (the command) not found (scripts/deps.sh --wasm)"
P="$B/obj/utf8proc-pack"
rm -rf "$P"; mkdir -p "$P/orig" "$P/packed"
cp "$u/utf8proc.c" "$u/utf8proc.h" "$u/utf8proc_data.c" "$P/orig/"
cp "$u/utf8proc.c" "$u/utf8proc.h" "$P/packed/"
TABLES="utf8proc_sequences utf8proc_stage1table utf8proc_stage2table utf8proc_properties utf8proc_combinations"
{
    echo '#include <stdio.h>'
    echo '#include <stdlib.h>'
    echo '#include "utf8proc.h"'
    echo '#include "utf8proc_data.c"'
    echo 'int main(int argc, char **argv) {'
    echo '  size_t n = 0, o = 0; (void)argc;'
    for t in $TABLES; do echo "  n += sizeof $t;"; done
    echo '  unsigned char *img = malloc(n), *pl = malloc(n);'
    echo '  if (!img || !pl) return 1;'
    for t in $TABLES; do
        echo "  memcpy(img + o, $t, sizeof $t); o += sizeof $t;"
        printf '  printf("%%s %%zu\\n", "%s", sizeof %s / sizeof %s[0]);\n' "$t" "$t" "$t"
    done
    echo '  for (size_t i = 0; i < n / 2; i++) { pl[i] = img[2 * i]; pl[n / 2 + i] = img[2 * i + 1]; }'
    echo '  FILE *f = fopen(argv[1], "wb");'
    echo '  if (!f || fwrite(pl, 1, n, f) != n || fclose(f)) return 1;'
    echo '  return 0;'
    echo '}'
} > "$P/orig/dump.c"
sed -i '1i #include <string.h>' "$P/orig/dump.c"
emcc -O1 -sNODERAWFS=1 -sWASM_ASYNC_COMPILATION=0 -DUTF8PROC_STATIC -I"$P/orig" -o "$P/dump.js" "$P/orig/dump.c" ||
    die "emcc failed on the utf8proc table dump"
node "$P/dump.js" "$P/planes.bin" > "$P/counts.txt" || die "the utf8proc table dump failed"
zstd -q -19 -f "$P/planes.bin" -o "$P/planes.zst" || die "zstd -19 failed"
{
    echo "/* Generated by scripts/wasm-deps.sh from utf8proc $(basename "$u")'s"
    echo " * utf8proc_data.c (its copyright applies): the same tables, filled at"
    echo " * start-up from a zstd frame of their bytes in two planes. */"
    echo '#include <stdlib.h>'
    echo '#include <zstd.h>'
    while read -r t c; do
        case $t in
            utf8proc_properties) echo "static utf8proc_property_t $t[$c];" ;;
            *) echo "static utf8proc_uint16_t $t[$c];" ;;
        esac
    done < "$P/counts.txt"
    echo 'static const unsigned char vs_utf8proc_packed[] = {'
    od -An -v -tu1 "$P/planes.zst" | sed 's/  */,/g; s/^,//; s/$/,/'
    echo '};'
    echo '__attribute__((constructor)) static void vs_utf8proc_unpack(void) {'
    echo '  size_t n = 0, o = 0;'
    for t in $TABLES; do echo "  n += sizeof $t;"; done
    echo '  unsigned char *pl = malloc(n);'
    echo '  if (!pl || ZSTD_decompress(pl, n, vs_utf8proc_packed, sizeof vs_utf8proc_packed) != n) abort();'
    for t in $TABLES; do
        echo "  for (size_t i = 0; i < sizeof $t / 2; i++) { ((unsigned char *)$t)[2 * i] = pl[(o + 2 * i) / 2]; ((unsigned char *)$t)[2 * i + 1] = pl[n / 2 + (o + 2 * i) / 2]; }"
        echo "  o += sizeof $t;"
    done
    echo '  free(pl);'
    echo '}'
} > "$P/packed/utf8proc_data.c"
objs "$B/obj/utf8proc" "-DUTF8PROC_STATIC -I$P/packed -I$OUT/include" "$P/packed/utf8proc.c"
lib libutf8proc.a "$B"/obj/utf8proc/*.o
cp "$u/utf8proc.h" "$OUT/include/"
fi

# jansson: configure's jansson_config.h and config.h written here for
# a 32-bit WebAssembly target with C11 atomics and no threads
if ! have libjansson.a; then
j=$(apt_source_fetch jansson)
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
# compile those and the runtime with emcc. Two archives: libstemmer-all.a
# with the 29 languages (the package's vecstore-all.wasm, init({languages:
# "all"})) and libstemmer.a with English and Porter only (the default
# modules: the other 27 are 70 KB gzipped), its module list generated by
# snowball's own mkmodules.pl from the English and Porter lines of
# modules.txt. An analyzer naming another language fails there with
# "unknown stemmer language", as any unknown name does.
if ! have libstemmer.a || ! have libstemmer-all.a; then
s=$(apt_source_fetch snowball)
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
lib libstemmer-all.a "$B"/obj/stemmer/*.o
# the English-only module table, in a folder beside libstemmer/ (its
# generated #include lines are relative: ../src_c/)
e="$s/libstemmer_en"
mkdir -p "$e"
grep -E '^(english|porter)[[:space:]]' "$s/libstemmer/modules.txt" > "$e/modules.txt"
[ "$(wc -l < "$e/modules.txt")" -eq 2 ] || die "no english and porter lines in snowball's modules.txt"
perl "$s/libstemmer/mkmodules.pl" "$e/modules_utf8.h" src_c "$e/modules.txt" \
    "$e/mkinc_utf8.mak" utf8 >&2 || die "snowball's mkmodules.pl failed"
cp "$s/libstemmer/libstemmer_utf8.c" "$e/libstemmer_utf8.c"
mkdir -p "$B/obj/stemmer-en"
rm -f "$B"/obj/stemmer-en/*.o
for f in "$s/src_c/stem_UTF_8_english.c" "$s/src_c/stem_UTF_8_porter.c" "$e/libstemmer_utf8.c"; do
    emcc $CF -I"$s/include" -I"$s/runtime" -c "$f" -o "$B/obj/stemmer-en/$(basename "$f").o" ||
        die "emcc failed on $f"
done
lib libstemmer.a "$B"/obj/stemmer-en/*.o "$B"/obj/stemmer/api.c.o "$B"/obj/stemmer/utilities.c.o
cp "$s/include/libstemmer.h" "$OUT/include/"
fi
# the libraries' copyright files, shipped in the npm package
mkdir -p "$OUT/licenses"
for p in libzstd xxhash utf8proc jansson snowball; do
    cp "$(apt_source_fetch "$p")/debian/copyright" "$OUT/licenses/$p.copyright"
done
touch "$STAMP"
