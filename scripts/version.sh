#!/bin/sh
# The version lives in one place, the file VERSION (X.Y.Z). Everything else
# that carries it is either built from it (the programs' --version, the
# library's trace and User-Agent strings, vecstore.pc: the Makefile passes
# it) or written by `set` and checked by `check` (the public header's
# VECSTORE_VERSION_* macros, which vs_version() returns; the man pages'
# .TH lines; debian/changelog; CHANGELOG.md's section; the Python and npm
# packages' metadata when they carry a literal version).
#   scripts/version.sh            print the version
#   scripts/version.sh check      exit 1, naming FILE:LINE, when a place disagrees
#   scripts/version.sh check-header   the header only (the build runs this)
#   scripts/version.sh set X.Y.Z  write X.Y.Z into VERSION, the header, the man
#                                 pages and the Python and npm metadata
#                                 (debian/changelog and CHANGELOG.md
#                                 get their entries by hand: they need words)
# Exit: 0 ok, 1 a place disagrees, 2 usage, 3 VERSION unreadable or malformed.
set -eu
cd "$(dirname "$0")/.."

usage() { sed -n '/^#   scripts\/version.sh /,/^# Exit:/s/^# \{0,3\}//p' "$0"; }

semver() { printf '%s\n' "$1" | grep -Eqx '(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)'; }

read_version() {
    [ -r VERSION ] || { echo "version: error: VERSION: cannot read" >&2; exit 3; }
    v=$(cat VERSION)
    semver "$v" || { echo "version: error: VERSION:1: '$v' is not X.Y.Z" >&2; exit 3; }
}

bad=0
# disagree FILE LINE WHAT FOUND
disagree() { echo "version: error: $1:$2: $3 is '$4', VERSION says '$v'" >&2; bad=1; }

# first_match FILE ERE: "LINE<TAB>TEXT" of the first line matching, or nothing
first_match() { grep -nE "$2" "$1" 2>/dev/null | head -n 1 | sed 's/:/\t/'; }

check_header() {
    h=lib/vecstore.h
    major=${v%%.*} rest=${v#*.}
    minor=${rest%%.*} patch=${rest#*.}
    for part in "MAJOR $major" "MINOR $minor" "PATCH $patch" "STRING \"$v\""; do
        name=${part%% *} want=${part#* }
        m=$(first_match "$h" "^#define VECSTORE_VERSION_$name ")
        if [ -z "$m" ]; then
            echo "version: error: $h: no #define VECSTORE_VERSION_$name" >&2; bad=1; continue
        fi
        got=$(printf '%s\n' "$m" | cut -f2 | awk '{ print $3 }')
        [ "$got" = "$want" ] || disagree "$h" "$(printf '%s\n' "$m" | cut -f1)" "VECSTORE_VERSION_$name" "$got"
    done
}

check_man() {
    for f in man/*.1 man/*.3; do
        [ -f "$f" ] || continue
        m=$(first_match "$f" '^\.TH ')
        got=$(printf '%s\n' "$m" | cut -f2 | sed -n 's/.*"vecstore \([0-9][^"]*\)".*/\1/p')
        [ "$got" = "$v" ] || disagree "$f" "$(printf '%s\n' "$m" | cut -f1)" ".TH's \"vecstore VERSION\"" "${got:-none}"
    done
}

check_debian() {
    [ -f debian/changelog ] || return 0
    got=$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' debian/changelog)
    up=${got#*:}; up=${up%-*}
    [ "$up" = "$v" ] || disagree debian/changelog 1 "the upstream version of '$got'" "$up"
}

check_changelog() {
    grep -qE "^## \[$v\]" CHANGELOG.md ||
        { echo "version: error: CHANGELOG.md: no '## [$v]' section" >&2; bad=1; }
}

# A literal version in the Python or npm package metadata (one read from
# VERSION at build time needs no check).
check_packages() {
    for f in python/pyproject.toml; do
        [ -f "$f" ] || continue
        m=$(first_match "$f" '^version *= *"')
        [ -n "$m" ] || continue
        got=$(printf '%s\n' "$m" | cut -f2 | sed 's/^version *= *"\([^"]*\)".*/\1/')
        [ "$got" = "$v" ] || disagree "$f" "$(printf '%s\n' "$m" | cut -f1)" "version" "$got"
    done
    for f in python/vecstore/__init__.py; do
        [ -f "$f" ] || continue
        m=$(first_match "$f" '^__version__ *= *"')
        [ -n "$m" ] || continue
        got=$(printf '%s\n' "$m" | cut -f2 | sed 's/^__version__ *= *"\([^"]*\)".*/\1/')
        [ "$got" = "$v" ] || disagree "$f" "$(printf '%s\n' "$m" | cut -f1)" "__version__" "$got"
    done
    for f in wasm/js/package.json wasm/package.json; do
        [ -f "$f" ] || continue
        m=$(first_match "$f" '^  "version" *: *"')
        [ -n "$m" ] || continue
        got=$(printf '%s\n' "$m" | cut -f2 | sed 's/^ *"version" *: *"\([^"]*\)".*/\1/')
        [ "$got" = "$v" ] || disagree "$f" "$(printf '%s\n' "$m" | cut -f1)" "\"version\"" "$got"
    done
    for f in wasm/wasm.mk; do
        [ -f "$f" ] || continue
        m=$(first_match "$f" '^VERSION *:?= *[0-9]')
        [ -n "$m" ] || continue
        got=$(printf '%s\n' "$m" | cut -f2 | sed 's/^VERSION *:*= *//')
        [ "$got" = "$v" ] || disagree "$f" "$(printf '%s\n' "$m" | cut -f1)" "VERSION" "$got"
    done
}

case "${1:-}" in
    "")
        [ $# -eq 0 ] || { usage >&2; exit 2; }
        read_version; echo "$v" ;;
    check)
        [ $# -eq 1 ] || { usage >&2; exit 2; }
        read_version
        check_header; check_man; check_debian; check_changelog; check_packages
        exit $bad ;;
    check-header)
        [ $# -eq 1 ] || { usage >&2; exit 2; }
        read_version; check_header
        exit $bad ;;
    set)
        [ $# -eq 2 ] || { echo "version: error: set needs one X.Y.Z" >&2; usage >&2; exit 2; }
        semver "$2" || { echo "version: error: set: '$2' is not X.Y.Z" >&2; exit 2; }
        v=$2
        major=${v%%.*} rest=${v#*.}
        minor=${rest%%.*} patch=${rest#*.}
        printf '%s\n' "$v" >VERSION
        sed -i -e "s/^#define VECSTORE_VERSION_MAJOR .*/#define VECSTORE_VERSION_MAJOR $major/" \
               -e "s/^#define VECSTORE_VERSION_MINOR .*/#define VECSTORE_VERSION_MINOR $minor/" \
               -e "s/^#define VECSTORE_VERSION_PATCH .*/#define VECSTORE_VERSION_PATCH $patch/" \
               -e "s/^#define VECSTORE_VERSION_STRING .*/#define VECSTORE_VERSION_STRING \"$v\"/" \
               lib/vecstore.h
        for f in man/*.1 man/*.3; do
            [ -f "$f" ] && sed -i "/^\.TH /s/\"vecstore [0-9][^\"]*\"/\"vecstore $v\"/" "$f"
        done
        # the Python and npm packages' literal versions
        [ ! -f python/pyproject.toml ] || sed -i "s/^version *= *\"[^\"]*\"/version = \"$v\"/" python/pyproject.toml
        [ ! -f python/vecstore/__init__.py ] || sed -i "s/^__version__ *= *\"[^\"]*\"/__version__ = \"$v\"/" python/vecstore/__init__.py
        for f in wasm/js/package.json wasm/package.json; do
            [ ! -f "$f" ] || sed -i "0,/^  \"version\" *: *\"[^\"]*\"/s//  \"version\": \"$v\"/" "$f"
        done
        [ ! -f wasm/wasm.mk ] || sed -i "s/^VERSION\( *:*= *\)[0-9][0-9.]*\$/VERSION\1$v/" wasm/wasm.mk
        echo "version: $v written to VERSION, lib/vecstore.h, man/ and the Python and npm metadata; add its debian/changelog and CHANGELOG.md entries" ;;
    -h|--help) usage ;;
    *) echo "version: error: unknown command '$1'" >&2; usage >&2; exit 2 ;;
esac
