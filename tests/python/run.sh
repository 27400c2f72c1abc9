#!/bin/bash
# tests/python/run.sh BUILD: the Python package's tests as TAP on stdout
# (tests/run.sh counts them). Builds the extension against BUILD's
# libvecstore.a into BUILD/python (make python-ext), the wheel and sdist
# into dist/ (make python: test_wheel.py installs the wheel in a fresh
# venv), then runs pytest over tests/python/ from the project's venv
# (scripts/venv.sh py) with BUILD/bin on PATH (the interop tests run the
# programs). pytest's own report goes to BUILD/python-tests.log, whose
# tail is printed as TAP comments when a test failed.
# When no Python with headers and venv can be had (a fresh root without
# python3-dev / python3-venv, no PyPI), one "ok # SKIP" line says why.
# VS_PYTHON_WHEEL=0 leaves out make python (and so the wheel test skips).
set -u
cd "$(dirname "$0")/../.."
root=$PWD
build=${1:?usage: tests/python/run.sh BUILD}
mkdir -p "$root/$build"

skip() { echo "ok 1 - tests/python # SKIP $1"; echo "1..1"; exit 0; }

py=$(scripts/venv.sh py 2>"$root/$build/python-venv.log") ||
    skip "no venv for the py group (scripts/venv.sh py: $(tail -1 "$root/$build/python-venv.log"))"
inc=$("$py" -c "import sysconfig; print(sysconfig.get_paths()['include'])")
[ -f "$inc/Python.h" ] || skip "the venv's interpreter has no headers ($inc/Python.h; Debian: python3-dev)"

log=$root/$build/python-tests.log
if ! make --no-print-directory BUILD="$build" PYTHON="$py" python-ext >"$log" 2>&1; then
    echo "not ok 1 - make python-ext BUILD=$build"
    sed 's/^/#   /' "$log" | tail -20
    echo "1..1"
    exit 1
fi
if [ "${VS_PYTHON_WHEEL:-1}" != 0 ]; then
    if ! make --no-print-directory python >>"$log" 2>&1; then
        echo "not ok 1 - make python (wheel and sdist)"
        sed 's/^/#   /' "$log" | tail -20
        echo "1..1"
        exit 1
    fi
    export VS_WHEEL_DIR=$root/dist
fi
tap=$(mktemp)
trap 'rm -f "$tap"' EXIT
VS_PYTEST_TAP=$tap PYTHONPATH="$root/$build/python:$root/tests/python" \
PATH="$root/$build/bin:$PATH" \
    "$py" -m pytest -p tap_plugin -p no:cacheprovider -q -rfE tests/python >>"$log" 2>&1
rc=$?
cat "$tap"
if [ "$rc" -ne 0 ]; then
    echo "# pytest exited with $rc; the end of $log:"
    tail -30 "$log" | sed 's/^/#   /'
fi
# 5: no test collected
[ "$rc" -eq 0 ]
