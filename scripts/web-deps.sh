#!/bin/sh
# web-deps.sh: install the npm packages of the browser tests, the JS examples
# and the WebAssembly peer benchmarks (tests/wasm/browser/package.json and
# its package-lock.json) into build-web/node_modules with `npm ci`, and print
# the folder. Nothing is installed globally, and no browser is downloaded:
# the tests drive Debian's chromium (scripts/deps.sh --web) through
# playwright-core.
#
#   scripts/web-deps.sh [DIR]     DIR: default build-web (in the repository)
#
# Does nothing when DIR already holds an install of the same lock file (a
# stamp file). Exit 5 when npm is missing or `npm ci` fails.
set -eu
cd "$(dirname "$0")/.."
me=web-deps.sh
die() { echo "$me: error: $1" >&2; exit "${2:-5}"; }
case "${1:-}" in -h|--help) sed -n '2,/^set -eu/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;; esac

src=tests/wasm/browser
dir=${1:-build-web}
command -v npm >/dev/null 2>&1 || die "npm is not installed (Node.js 20 or later with npm is needed)"
mkdir -p "$dir"
sum=$(cat "$src/package.json" "$src/package-lock.json" | cksum | cut -d' ' -f1)
stamp="$dir/node_modules/.vecstore-web-deps"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
    (cd "$dir" && pwd)
    exit 0
fi
cp "$src/package.json" "$src/package-lock.json" "$dir/"
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2) || die "npm ci in $dir failed"
echo "$sum" > "$stamp"
(cd "$dir" && pwd)
