#!/bin/sh
# The browser tests (tests/wasm/browser/*.test.mjs) and the JS examples'
# tests (examples/js/*/test.mjs), in headless Debian chromium through
# playwright-core, with Node's test runner; TAP on stdout, for tests/run.sh's
# tap_cmd.
#
#   tests/wasm/browser/run.sh [FILE...]   default: every browser and example test
#
# Needs /usr/bin/chromium (scripts/deps.sh --web), the npm packages in
# build-web/ (scripts/web-deps.sh, run here: nothing when already installed)
# and the package tarball dist/vecstore-*.tgz (make wasm). Outside CI a
# missing one is one skipped test naming it; under CI (CI set) it fails.
set -u
cd "$(dirname "$0")/../../.."

skip_or_fail() {
    if [ -n "${CI:-}" ]; then
        echo "not ok 1 - browser tests cannot run: $1"
        echo "1..1"
        exit 1
    fi
    echo "ok 1 - browser tests # SKIP $1"
    echo "1..1"
    exit 0
}

command -v node >/dev/null 2>&1 || skip_or_fail "no node (Node.js 20 or later)"
[ -x "${VS_CHROMIUM:-/usr/bin/chromium}" ] ||
    skip_or_fail "no ${VS_CHROMIUM:-/usr/bin/chromium} (scripts/deps.sh --web installs Debian's chromium)"
ls dist/vecstore-*.tgz >/dev/null 2>&1 || skip_or_fail "no dist/vecstore-*.tgz (make wasm builds the npm package)"
if ! scripts/web-deps.sh >/dev/null 2>web-deps.err; then
    msg=$(tail -n 1 web-deps.err); rm -f web-deps.err
    skip_or_fail "scripts/web-deps.sh failed: $msg"
fi
rm -f web-deps.err

if [ $# -eq 0 ]; then
    set -- tests/wasm/browser/*.test.mjs
    for t in examples/js/*/test.mjs; do [ -f "$t" ] && set -- "$@" "$t"; done
fi
# one file at a time: each launches its own chromium, and the machine has 2 cores
# a test that hangs (a promise never settled in the page) fails after 10 minutes
exec node --test --test-reporter=tap --test-concurrency=1 --test-timeout=600000 "$@"
