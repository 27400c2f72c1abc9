#!/bin/sh
# bench/bm25.sh [BUILD_DIR]: BM25 quality and speed.
#
# Builds bench/bm25_bench.c against BUILD_DIR/libvecstore.a (default build),
# then on the BEIR collections in $VS_DATA/datasets (ADI, Cranfield,
# SciFact):
#   quality  nDCG@10 and recall@100 (bench/trec_metrics.py) of a plain
#            unstemmed BM25 (k1 0.9, b 0.4), of the library defaults, and of
#            SQLite FTS5 (porter unicode61, bm25()) as a peer;
#   speed    on SciFact, indexing time and top-10 queries/s of ours and of
#            FTS5 (bench/fts5_bench.py, in-memory database), measured in CPU
#            time of the process (the machine is shared, so wall time is
#            noisy), best of 3 runs each, interleaved. Ours runs the query
#            set 5 times a run, FTS5 (about 100 times slower) once.
# The report is printed and appended, dated, to bench/results/bm25.txt.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
data=${VS_DATA:-../shared/data}/datasets
PY=/usr/bin/python3
if [ ! -f "$build/libvecstore.a" ]; then
    echo "bm25.sh: $build/libvecstore.a not found (make BUILD=$build lib)" >&2
    exit 2
fi
if [ ! -d "$data" ]; then
    echo "bm25.sh: no collections at $data (set VS_DATA)" >&2
    exit 2
fi
mkdir -p "$build/bench" bench/results
bin=$build/bench/bm25_bench
. bench/cc_lib.sh
bench_cc "$build" "$bin" bench/bm25_bench.c
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

field() { # field JSON KEY
    printf '%s' "$1" | $PY -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}

report=$tmp/report
{
echo "== bm25 $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $(git rev-parse --short HEAD 2>/dev/null || echo none)," \
     "$(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
echo
echo "quality (test queries; nDCG@10 / recall@100)"
printf '%-10s %-48s %8s %10s\n' collection system "nDCG@10" "recall@100"
for ds in adi cranfield scifact; do
    dir=$data/$ds
    [ -f "$dir/corpus.jsonl" ] || { echo "$ds: not found, skipped"; continue; }
    qrels=$dir/qrels/test.tsv
    run_ours() { # label, bench options...
        label=$1
        shift
        "$bin" "$@" "$dir" >"$tmp/run" 2>"$tmp/err"
        m=$($PY bench/trec_metrics.py "$tmp/run" "$qrels")
        printf '%-10s %-48s %8s %10s\n' "$ds" "$label" "$(field "$m" 'ndcg@10')" \
            "$(field "$m" 'recall@100')"
    }
    run_ours "plain: no stem, no stop, k1 0.9 b 0.4" \
        --analyzer "v1;lang=none;stop=none" --k1 0.9 --b 0.4
    run_ours "english stem + stop=en, k1 0.9 b 0.4" --k1 0.9 --b 0.4
    run_ours "default: english stem + stop=en, k1 1.2 b 0.75"
    $PY bench/fts5_bench.py "$dir" "$tmp/run" 100 1 >/dev/null
    m=$($PY bench/trec_metrics.py "$tmp/run" "$qrels")
    printf '%-10s %-48s %8s %10s\n' "$ds" "sqlite fts5 porter unicode61 bm25()" \
        "$(field "$m" 'ndcg@10')" "$(field "$m" 'recall@100')"
done
echo
dir=$data/scifact
if [ -f "$dir/corpus.jsonl" ]; then
    best_ix=999 best_qps=0 fts_ix=999 fts_qps=0
    for i in 1 2 3; do
        j=$("$bin" --depth 10 --repeat 5 "$dir" 2>&1 >/dev/null)
        f=$($PY bench/fts5_bench.py "$dir" "$tmp/frun" 10 1)
        best_ix=$($PY -c "print(min($best_ix, $(field "$j" index_s)))")
        best_qps=$($PY -c "print(max($best_qps, $(field "$j" qps)))")
        fts_ix=$($PY -c "print(min($fts_ix, $(field "$f" index_s)))")
        fts_qps=$($PY -c "print(max($fts_qps, $(field "$f" qps)))")
    done
    echo "speed on SciFact ($(field "$j" docs) docs, top-10 queries, CPU time, best of 3)"
    printf '%-34s %12s %14s\n' system "index cpu s" "queries/cpu s"
    printf '%-34s %12s %14s\n' "vecstore bm25 (default analyzer)" "$best_ix" "$best_qps"
    printf '%-34s %12s %14s\n' "sqlite $(field "$f" sqlite) fts5 (python3 sqlite3)" "$fts_ix" "$fts_qps"
    $PY -c "print('ratio: indexing %.2fx FTS5 speed, queries %.1fx FTS5' % ($fts_ix / $best_ix, $best_qps / $fts_qps))"
    echo "index bytes (serialised, zstd): $(field "$j" index_bytes)"
fi
echo
} >"$report"
cat "$report"
cat "$report" >>bench/results/bm25.txt
