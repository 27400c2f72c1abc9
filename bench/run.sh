#!/bin/sh
# make bench: run every bench/*.sh against a build directory, side by side
# with the peers from Debian (installed here with scripts/deps.sh --bench).
# Each script prints its table and appends it, dated, to bench/results/NAME.txt.
# bench/text.sh (BM25 against Tantivy, bm25s and Lucene on SciFact and a 1M
# Zipf corpus) installs its peers itself: the venv group `text`
# (scripts/venv.sh text) and Lucene's jars from Maven Central with the JDK
# and Maven of deps.sh --bench; TEXT_DOCS=0 skips its 1M corpus.
# Then bench/py/run.sh: the Python package against the PyPI peers (faiss-cpu,
# hnswlib, usearch, NGT, ScaNN, chromadb, lancedb, installed into the
# project's venv by scripts/venv.sh peers), a file per run in
# bench/results/py-DATE.txt; BENCH=py runs only it. Then bench/compare/run.sh:
# the comparison guides' figures (vecstore, Chroma, FAISS, sqlite-vec end to
# end), bench/results/compare.txt; BENCH=compare runs only it.
#   bench/run.sh [BUILD_DIR]          all benchmarks
#   BENCH=exact bench/run.sh build    only those whose name matches
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
scripts/deps.sh --bench
mkdir -p bench/results
status=0
for b in bench/*.sh; do
    name=$(basename "$b" .sh)
    [ "$name" = run ] && continue
    case "$name" in *${BENCH:-}*) ;; *) continue ;; esac
    echo "== bench: $name"
    if ! "$b" "$build"; then
        echo "bench: $name failed" >&2
        status=1
    fi
done
case py in *${BENCH:-}*)
    echo "== bench: py"
    if ! bench/py/run.sh "$build"; then
        echo "bench: py failed" >&2
        status=1
    fi
;; esac
case compare in *${BENCH:-}*)
    echo "== bench: compare"
    if ! bench/compare/run.sh "$build"; then
        echo "bench: compare failed" >&2
        status=1
    fi
;; esac
exit $status
