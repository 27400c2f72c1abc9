#!/bin/bash
# tests/python/run.sh BUILD: the Python package's tests as TAP on stdout
# (tests/run.sh counts them). Builds the extension against BUILD's
# libvecstore.a into BUILD/python (make python-ext), the wheel and sdist
# into dist/ (make python: test_wheel.py installs the wheel in a fresh
# venv), then runs pytest over tests/python/ from the project's venv
# (scripts/venv.sh py) with BUILD/bin on PATH (the interop tests run the
# programs). pytest's own report goes to BUILD/python-tests.log, whose
# tail is printed as TAP comments when a test failed.
# Against a sanitizer build (make check's ASan pass) the interpreter runs
# with the sanitizers' run-times preloaded (see below).
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

# a sanitizer build: the extension is built with its flags and the
# interpreter runs with libasan and libubsan preloaded; leaks are not
# reported (CPython does not free everything at exit), the wheel is not
# built (its library is a normal build) and test_memory.py skips (ASan's
# shadow memory is not the binding's)
san=()
if nm "$build/libvecstore.a" 2>/dev/null | grep -q __asan_; then
    asan=$(${CC:-cc} -print-file-name=libasan.so)
    ubsan=$(${CC:-cc} -print-file-name=libubsan.so)
    [ -f "$asan" ] && [ -f "$ubsan" ] || skip "no libasan.so/libubsan.so to preload for $build"
    san=(SANITIZE=address,undefined)
    export VS_PYTHON_WHEEL=0 VS_PYTHON_SANITIZED=1
fi

log=$root/$build/python-tests.log
if ! make --no-print-directory BUILD="$build" "${san[@]}" PYTHON="$py" python-ext >"$log" 2>&1; then
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
if [ ${#san[@]} -gt 0 ]; then
    VS_PYTEST_TAP=$tap PYTHONPATH="$root/$build/python:$root/tests/python" \
    PATH="$root/$build/bin:$PATH" LD_PRELOAD="$asan $ubsan" \
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:exitcode=99 \
        "$py" -m pytest -p tap_plugin -p no:cacheprovider -q -rfE tests/python >>"$log" 2>&1
else
    VS_PYTEST_TAP=$tap PYTHONPATH="$root/$build/python:$root/tests/python" \
    PATH="$root/$build/bin:$PATH" \
        "$py" -m pytest -p tap_plugin -p no:cacheprovider -q -rfE tests/python >>"$log" 2>&1
fi
rc=$?
cat "$tap"
if [ "$rc" -ne 0 ]; then
    echo "# pytest exited with $rc; the end of $log:"
    tail -30 "$log" | sed 's/^/#   /'
fi
# 5: no test collected
[ "$rc" -eq 0 ]
