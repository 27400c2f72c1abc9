# shellcheck shell=sh
# bench/cc_lib.sh: sourced by the bench scripts (run from the repository
# root). bench_cc BUILD OUT SRC compiles the bench program SRC into OUT
# against BUILD/libvecstore.a and the Debian libraries the library uses.
bench_cc() {
    _pkgs="jansson libzstd libxxhash libutf8proc yaml-0.1 libcurl libxml-2.0"
    pkg-config --exists poppler-glib 2>/dev/null && _pkgs="$_pkgs poppler-glib"
    # shellcheck disable=SC2046,SC2086
    ${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Ilib $(for d in lib/*/; do printf -- " -I%s" "${d%/}"; done) -fopenmp -o "$2" "$3" "$1/libvecstore.a" \
        $(pkg-config --libs $_pkgs) -lstemmer -lmd4c -lopenblas -lm -lpthread
}
