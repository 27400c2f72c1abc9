#!/bin/sh
# bench/exact.sh [BUILD_DIR]: exact vector search speed.
#
# Generates its own data (random unit vectors, fixed seeds): 100k x 128 and
# 100k x 384 stores, 1000 queries each. Builds bench/exact_bench.c against
# BUILD_DIR/libvecstore.a (default build), then measures in the same run:
#   - the machine's memory bandwidth (streaming read of 1 GiB, 1 and 2
#     threads, best of 5);
#   - our search through the library (lib/flat.c): one query at a time and
#     batches of 256, on 1 and 2 threads, with the scan rate in GB/s;
#   - faiss IndexFlatIP and numpy (bench/exact_peers.py) on the same data;
#   - vs-query end to end (store open, parsing vector_b64 queries, output)
#     on a store made with vs-ingest.
# Prints a table and appends it, dated, to bench/results/exact.txt.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
PY=/usr/bin/python3
N=${EXACT_N:-100000}
NQ=1000
if [ ! -f "$build/libvecstore.a" ] || [ ! -x "$build/bin/vs-query" ]; then
    echo "exact.sh: $build/libvecstore.a or $build/bin/vs-query not found (make BUILD=$build)" >&2
    exit 2
fi
mkdir -p "$build/bench" bench/results
bin=$build/bench/exact_bench
. bench/cc_lib.sh
bench_cc "$build" "$bin" bench/exact_bench.c
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

val() { # val FILE KEY
    awk -v k="$2" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "$1"
}
ratio() { # ratio A B -> A/B with 2 decimals
    awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a == a + 0) printf "%.2f", a / b; else printf "n/a" }'
}

"$bin" bw > "$tmp/bw"
bw1=$(val "$tmp/bw" bw_gbps_t1)
bw2=$(val "$tmp/bw" bw_gbps_t2)

report=$tmp/report
{
echo "== exact $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $(git rev-parse --short HEAD 2>/dev/null || echo none)," \
     "$(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg), kernels $(grep -o 'avx512f' /proc/cpuinfo | head -1 || echo no-avx512)"
echo "memory bandwidth (streaming read, 1 GiB): ${bw1} GB/s on 1 thread, ${bw2} GB/s on 2"
echo "data: $N random unit vectors, $NQ queries, k 10, inner product; QPS best of 3"
echo
printf '%-5s %-34s %12s %12s\n' dim system "single QPS" "batch QPS"
} > "$report"

for d in 128 384; do
    "$bin" gen "$N" "$d" 1 "$tmp/x.f32"
    "$bin" gen "$NQ" "$d" 2 "$tmp/q.f32"
    "$bin" search "$tmp/x.f32" "$tmp/q.f32" "$d" 256 > "$tmp/ours"
    OMP_NUM_THREADS=2 $PY bench/exact_peers.py "$tmp/x.f32" "$tmp/q.f32" "$d" 2 > "$tmp/peers"
    # vs-query end to end: a store made by vs-ingest, queries as vector_b64
    $PY - "$tmp/x.f32" "$tmp/q.f32" "$d" "$tmp" <<'EOF'
import base64, json, sys
import numpy as np
x = np.fromfile(sys.argv[1], dtype=np.float32).reshape(-1, int(sys.argv[3]))
q = np.fromfile(sys.argv[2], dtype=np.float32).reshape(-1, int(sys.argv[3]))
with open(sys.argv[4] + "/docs.ndjson", "w") as f:
    for i, v in enumerate(x):
        f.write(json.dumps({"id": str(i), "vector_b64": base64.b64encode(v.tobytes()).decode()}) + "\n")
with open(sys.argv[4] + "/queries.ndjson", "w") as f:
    for i, v in enumerate(q):
        f.write(json.dumps({"id": "q%d" % i, "vector_b64": base64.b64encode(v.tobytes()).decode()}) + "\n")
head = q[:50]
with open(sys.argv[4] + "/single.ndjson", "w") as f:
    for i, v in enumerate(head):
        f.write(json.dumps({"id": "q%d" % i, "vector_b64": base64.b64encode(v.tobytes()).decode()}) + "\n")
EOF
    rm -rf "$tmp/s.vs"
    "$build/bin/vs-ingest" -q --metric dot "$tmp/s.vs" "$tmp/docs.ndjson"
    best_e2e=0 best_e2e1=0
    for rep in 1 2; do
        qps=$("$build/bin/vs-query" --stats --no-text --no-metadata --batch 256 "$tmp/s.vs" \
              "$tmp/queries.ndjson" 2>&1 >/dev/null | $PY -c 'import json,sys; print(json.loads(sys.stdin.read())["queries_per_s"])')
        best_e2e=$(awk -v a="$qps" -v b="$best_e2e" 'BEGIN { print (a > b ? a : b) }')
        qps=$("$build/bin/vs-query" --stats --no-text --no-metadata --batch 1 "$tmp/s.vs" \
              "$tmp/single.ndjson" 2>&1 >/dev/null | $PY -c 'import json,sys; print(json.loads(sys.stdin.read())["queries_per_s"])')
        best_e2e1=$(awk -v a="$qps" -v b="$best_e2e1" 'BEGIN { print (a > b ? a : b) }')
    done
    # the answers agree (first query's top 10)
    agree=yes
    [ "$(val "$tmp/ours" top0)" = "$(val "$tmp/peers" faiss_top0)" ] || agree="NO (faiss differs)"
    {
    printf '%-5s %-34s %12s %12s\n' "$d" "vecstore lib, 1 thread" "$(val "$tmp/ours" single_qps_t1)" "$(val "$tmp/ours" batch_qps_t1)"
    printf '%-5s %-34s %12s %12s\n' "$d" "vecstore lib, 2 threads" "$(val "$tmp/ours" single_qps_t2)" "$(val "$tmp/ours" batch_qps_t2)"
    printf '%-5s %-34s %12s %12.1f\n' "$d" "vs-query end to end, 2 threads" "$(printf '%.1f' "$best_e2e1")" "$best_e2e"
    printf '%-5s %-34s %12s %12s\n' "$d" "faiss IndexFlatIP, 2 threads" "$(val "$tmp/peers" faiss_single_qps)" "$(val "$tmp/peers" faiss_batch_qps)"
    printf '%-5s %-34s %12s %12s\n' "$d" "numpy (matmul + argpartition)" "$(val "$tmp/peers" numpy_single_qps)" "$(val "$tmp/peers" numpy_batch_qps)"
    s1=$(val "$tmp/ours" single_gbps_t1) s2=$(val "$tmp/ours" single_gbps_t2)
    echo "      single-query scan: ${s1} GB/s on 1 thread ($(ratio "$bw1" "$s1")x the bandwidth time)," \
         "${s2} GB/s on 2 ($(ratio "$bw2" "$s2")x)"
    echo "      ours / faiss: batch $(ratio "$(val "$tmp/ours" batch_qps_t2)" "$(val "$tmp/peers" faiss_batch_qps)")x," \
         "single $(ratio "$(val "$tmp/ours" single_qps_t2)" "$(val "$tmp/peers" faiss_single_qps)")x;" \
         "same top-10 as faiss: $agree"
    } >> "$report"
done
echo "(single QPS: one query per call; batch QPS: $NQ queries in batches of 256 (ours), one call (faiss), 250 (numpy);" \
     "scan GB/s = store bytes / single-query time; 'x the bandwidth time' = single-query time / (bytes / bandwidth), goal <= 1.5)" >> "$report"
echo >> "$report"
cat "$report"
cat "$report" >> bench/results/exact.txt
