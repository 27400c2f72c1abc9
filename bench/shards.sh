#!/bin/sh
# bench/shards.sh [BUILD_DIR]: sharded stores (vs-shard, vs-query --merge)
# against one store holding every record.
#
# SHARDS_N (default 100000) rows x 128 of the Gaussian mixture of
# bench/hnsw.sh (hnsw_bench gen N 128 1) and SHARDS_NQ (default 1000)
# queries (gen NQ 128 2), with their exact top 10 (hnsw_bench truth). For
# each S of SHARDS_S (default "1 2 4"): S stores made with `vs-index create
# --metric l2 --hnsw-m 16 --ef-construction 200`, filled by
# `vs-shard I/S x.ndjson | vs-ingest` one after the other (build time is
# the sum: this machine's 2 cores do not let S builds run apart); then
# (1) `vs-query --exact -k 10` on every shard, merged with `vs-query
# --merge -k 10`, compared byte for byte with the exact hits of S = 1; (2)
# for each ef of SHARDS_EFS (default "16 32 64 128"), `vs-query --ef EF -k
# 10` on every shard (1 thread each), merged: recall@10 against the truth,
# its difference from S = 1 at the same ef, and the CPU seconds of all the
# shard queries and the merge (queries per CPU second). The table is printed
# and appended to bench/results/shards.txt (or SHARDS_RESULTS).
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
PY=/usr/bin/python3
N=${SHARDS_N:-100000}
NQ=${SHARDS_NQ:-1000}
SS=${SHARDS_S:-1 2 4}
EFS=${SHARDS_EFS:-16 32 64 128}
RESULTS=${SHARDS_RESULTS:-bench/results/shards.txt}
if [ ! -x "$build/bin/vs-shard" ] || [ ! -f "$build/libvecstore.a" ]; then
    echo "shards.sh: $build/bin/vs-shard not found (make BUILD=$build)" >&2
    exit 2
fi
mkdir -p "$build/bench" bench/results
. bench/cc_lib.sh
bench_cc "$build" "$build/bench/hnsw_bench" bench/hnsw_bench.c
B=$build/bench/hnsw_bench
bin=$build/bin
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
load0=$(cut -d' ' -f1-3 /proc/loadavg)
commit=${VS_BENCH_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo none)}
cmd="bench/shards.sh $build"
for v in SHARDS_N SHARDS_NQ SHARDS_S SHARDS_EFS; do
    eval "val=\${$v:-}"
    # shellcheck disable=SC2154
    [ -n "$val" ] && cmd="$v='$val' $cmd"
done

"$B" gen "$N" 128 1 "$tmp/x"
"$B" gen "$NQ" 128 2 "$tmp/q"
"$B" truth "$tmp/x" "$tmp/q" 128 10 "$tmp/t"
$PY bench/vectors_ndjson.py "$tmp/x" 128 r > "$tmp/x.ndjson"
$PY bench/vectors_ndjson.py "$tmp/q" 128 q > "$tmp/q.ndjson"

# cpu CMD...: run CMD, add its user + system seconds to $tmp/cpu
cpu() {
    $PY -c '
import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
r = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "a") as f:
    f.write("%.6f\n" % (r.ru_utime + r.ru_stime))
sys.exit(rc)' "$tmp/cpu" "$@"
}
cpu_sum() { $PY -c 'import sys; print("%.3f" % sum(float(l) for l in open(sys.argv[1])))' "$tmp/cpu"; }

: > "$tmp/rows"
for S in $SS; do
    : > "$tmp/cpu"
    t0=$($PY -c 'import time; print(time.monotonic())')
    i=0
    while [ "$i" -lt "$S" ]; do
        st=$tmp/s$S-$i.vs
        "$bin/vs-index" -q create "$st" --metric l2 --hnsw-m 16 --ef-construction 200
        "$bin/vs-shard" "$i/$S" "$tmp/x.ndjson" > "$tmp/part"
        cpu "$bin/vs-ingest" -q "$st" "$tmp/part"
        i=$((i + 1))
    done
    wall=$($PY -c "import time; print('%.2f' % (time.monotonic() - $t0))")
    echo "build $S $wall $(cpu_sum)" >> "$tmp/rows"
    runs=""
    i=0
    while [ "$i" -lt "$S" ]; do
        "$bin/vs-query" -q --exact -k 10 --threads 1 --no-text --no-metadata \
            "$tmp/s$S-$i.vs" "$tmp/q.ndjson" > "$tmp/e$i"
        runs="$runs $tmp/e$i"
        i=$((i + 1))
    done
    # shellcheck disable=SC2086
    "$bin/vs-query" --merge -k 10 $runs > "$tmp/exact$S"
    same=no
    cmp -s "$tmp/exact$S" "$tmp/exact$(echo "$SS" | cut -d' ' -f1)" && same=yes
    echo "exact $S $same" >> "$tmp/rows"
    for ef in $EFS; do
        : > "$tmp/cpu"
        runs=""
        i=0
        while [ "$i" -lt "$S" ]; do
            cpu "$bin/vs-query" -q --ef "$ef" -k 10 --threads 1 --no-text --no-metadata \
                "$tmp/s$S-$i.vs" "$tmp/q.ndjson" > "$tmp/g$i"
            runs="$runs $tmp/g$i"
            i=$((i + 1))
        done
        # shellcheck disable=SC2086
        cpu "$bin/vs-query" --merge -k 10 $runs > "$tmp/hits"
        rec=$($PY - "$tmp/hits" "$tmp/t" <<'PYEOF'
import json, sys
import numpy as np
t = np.fromfile(sys.argv[2], dtype=np.uint32).reshape(-1, 10)
got = [set() for _ in range(len(t))]
for line in open(sys.argv[1]):
    h = json.loads(line)
    if "id" in h:
        got[int(h["qid"][1:])].add(int(h["id"][1:]))
print("%.4f" % (sum(len(g & set(int(v) for v in row)) for g, row in zip(got, t)) / t.size))
PYEOF
)
        echo "graph $S $ef $rec $(cpu_sum)" >> "$tmp/rows"
    done
done

report=$tmp/report
{
echo "== shards $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $commit," \
     "$(nproc) cores, load $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "command: $cmd"
$PY - "$tmp/rows" "$N" "$NQ" <<'PYEOF'
import sys
rows, n, nq = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
build, exact, graph = {}, {}, {}
for line in open(rows):
    p = line.split()
    if p[0] == "build":
        build[p[1]] = (float(p[2]), float(p[3]))
    elif p[0] == "exact":
        exact[p[1]] = p[2]
    else:
        graph[(p[1], p[2])] = (float(p[3]), float(p[4]))
print(f"{n} x 128 rows (l2, HNSW M 16, ef_construction 200), {nq} queries, k 10; shards by"
      " vs-shard, queried one after another on 1 thread each, merged by vs-query --merge")
print("%-3s %9s %9s %7s %5s %8s %8s %9s" % ("S", "build_s", "build_cpu", "exact=1", "ef",
      "recall", "d_rec", "qps/cpu"))
ss = sorted(build, key=int)
for s in ss:
    for ef in sorted({e for (x, e) in graph if x == s}, key=int):
        r, c = graph[(s, ef)]
        r1 = graph.get((ss[0], ef), (r, 0))[0]
        print("%-3s %9.1f %9.1f %7s %5s %8.4f %+8.4f %9.0f" % (s, build[s][0], build[s][1],
              exact[s], ef, r, r - r1, nq / c if c > 0 else float("nan")))
print("exact=1: the merged exact hits equal S = %s's byte for byte; d_rec: recall minus S = %s's"
      " at the same ef; qps/cpu: queries per CPU second of all shard queries and the merge"
      % (ss[0], ss[0]))
PYEOF
} > "$report"
cat "$report"
cat "$report" >> "$RESULTS"
