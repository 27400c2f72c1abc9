#!/bin/sh
# bench/serve.sh BUILD_DIR: vs-serve under load with wrk on 127.0.0.1.
# A store of N records (default 100000, dimension DIM=128, random; exact
# scan, or HNSW graphs of HNSW_M links per node when HNSW_M is set, searched
# with ef 64 by both programs), one query of k=10 per request (keep-alive) at
# 1, 8 and 64 connections for DUR seconds each (default 10): queries/s,
# p50/p99 latency, queries per batch (the server's vs_query_batches_total)
# and the ratio to vs-query, which searches the same queries in batch on 2
# threads first (the server also searches on 2 threads); cpu_ms/q is the
# CPU (user + system) per query of vs-query (/usr/bin/time) and of the
# server over the wrk run (/proc/PID/stat, the client not counted), x_cpu
# vs-query's over it (on a loaded machine the wall ratio depends on the
# share of the cores each process gets; the CPU ratio much less); the row
# "vs-query batch 8" is vs-query searching 8 queries per pass, as the
# server's exact scan does at 8 connections (one query per client per
# batch): the most the server can do at c=8 with the same scan; wrk_ms/q
# the client's own CPU per request (/usr/bin/time on wrk: it runs on the
# same cores, taking CPU the server could use; vs-query has no client);
# then a soak of
# SOAK_S seconds (default 300: five minutes) at 8 connections with the
# server's RSS at start and end. Appends the table to
# bench/results/serve.txt (or $OUT). bench/serve_mixed.sh is the mixed load
# (queries during upserts, kill -9 mid-write).
#   N=20000 DUR=5 SOAK_S=10 bench/serve.sh build
#   HNSW_M=16 bench/serve.sh build
set -eu
build=${1:-build}
bin="$build/bin"
N=${N:-100000}
DIM=${DIM:-128}
DUR=${DUR:-10}
SOAK_S=${SOAK_S:-300}
HNSW_M=${HNSW_M:-}
PY=/usr/bin/python3
. "$(dirname "$0")/serve_lib.sh"
command -v wrk >/dev/null || { echo "serve.sh: wrk not installed (scripts/deps.sh --bench)" >&2; exit 5; }
tmp=$(mktemp -d)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

$PY - "$N" "$DIM" "$tmp" <<'EOF'
import json, random, sys
n, dim, tmp = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
r = random.Random(1)
with open(tmp + "/recs.ndjson", "w") as f:
    for i in range(n):
        v = [round(r.gauss(0, 1), 4) for _ in range(dim)]
        f.write(json.dumps({"id": "d%d" % i, "vector": v, "text": "doc %d" % i,
                            "metadata": {"n": i}}) + "\n")
qs = []
for i in range(64):
    qs.append(json.dumps({"id": "q%d" % i, "k": 10,
                          "vector": [round(r.gauss(0, 1), 4) for _ in range(dim)]}))
with open(tmp + "/queries.ndjson", "w") as f:
    for q in qs:
        f.write(q + "\n")
EOF
serve_wrk_lua "$tmp/queries.ndjson" "$tmp/wrk.lua"
index=exact
if [ -n "$HNSW_M" ]; then
    "$bin/vs-index" create --hnsw-m "$HNSW_M" "$tmp/kb.vs" >/dev/null
    index="HNSW m=$HNSW_M ef=64"
fi
"$bin/vs-ingest" "$tmp/kb.vs" < "$tmp/recs.ndjson" 2>/dev/null
# the same 64 queries in batch, repeated: enough for about DUR seconds
for i in $(seq 100); do cat "$tmp/queries.ndjson"; done > "$tmp/batch.ndjson"
vsq_rate() { # "queries/s CPU_ms_per_query" of vs-query over the file $1 of $2 queries (THREADS, default 2; BATCH, default 64)
    t0=$(date +%s.%N)
    /usr/bin/time -f "%U %S" -o "$tmp/time" "$bin/vs-query" --threads "${THREADS:-2}" --batch "${BATCH:-64}" "$tmp/kb.vs" < "$1" > /dev/null
    t1=$(date +%s.%N)
    echo "$t0 $t1 $(cat "$tmp/time")" | awk -v n="$2" '{print n / ($2 - $1), ($3 + $4) * 1000 / n}'
}
nq=6400
set -- $(vsq_rate "$tmp/batch.ndjson" $nq)
vq=$1 vqc=$2
while awk -v q="$vq" -v n="$nq" -v d="$DUR" 'BEGIN {exit !(n / q < d / 2 && n < 1000000)}'; do
    cat "$tmp/batch.ndjson" "$tmp/batch.ndjson" > "$tmp/b2" && mv "$tmp/b2" "$tmp/batch.ndjson"
    nq=$((nq * 2))
    set -- $(vsq_rate "$tmp/batch.ndjson" $nq)
    vq=$1 vqc=$2
done
set -- $(THREADS=1 vsq_rate "$tmp/batch.ndjson" $nq)
vq1=$1 vqc1=$2
set -- $(BATCH=8 vsq_rate "$tmp/batch.ndjson" $nq)
vq8=$1 vqc8=$2
serve_start "$tmp/kb.vs" 2 200
url="http://127.0.0.1:$port/v1/stores/kb/query"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; } # user + system clock ticks
tck=$(getconf CLK_TCK)
counter() { # the server's metric $1 for store kb
    curl -s "http://127.0.0.1:$port/metrics" | sed -n "s/^$1{store=\"kb\"} //p"
}

out=${OUT:-bench/results/serve.txt}
# the commit of the source tree the build belongs to (BUILD_DIR's parent,
# as make BUILD=... places it), "-dirty" when that tree has changes, not
# the commit of the directory this script runs in
src=$(cd "$build/.." && pwd)
commit=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo '?')
[ "$commit" != '?' ] && ! git -C "$src" diff --quiet HEAD -- lib cmd Makefile 2>/dev/null && commit="$commit-dirty"
[ "$src" != "$(pwd)" ] && commit="$commit: $src/$(basename "$build")"
{
    echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ) vs-serve ($commit), $N records dim $DIM, $index, k=10, $(nproc) cores, vs-serve --threads 2, load average $(cut -d" " -f1 /proc/loadavg) before, wrk ${DUR}s per row, one query per request, keep-alive (errors: non-2xx + socket errors, 10 s client timeout)"
    printf '%-28s %10s %10s %10s %8s %9s %11s %9s %9s %9s\n' "run" "queries/s" "p50_ms" "p99_ms" "errors" "per_batch" "x_vs-query" "cpu_ms/q" "x_cpu" "wrk_ms/q"
    printf '%-28s %10.0f %10s %10s %8d %9s %11s %9.3f %9s %9s\n' "vs-query batch (2 threads)" "$vq" "-" "-" 0 64 1.00 "$vqc" 1.00 -
    printf '%-28s %10.0f %10s %10s %8d %9s %11.2f %9.3f %9.2f %9s\n' "vs-query batch (1 thread)" "$vq1" "-" "-" 0 64 \
        "$(echo "$vq1 $vq" | awk '{print $1 / $2}')" "$vqc1" "$(echo "$vqc $vqc1" | awk '{print $1 / $2}')" -
    printf '%-28s %10.0f %10s %10s %8d %9s %11.2f %9.3f %9.2f %9s\n' "vs-query batch 8 (2 threads)" "$vq8" "-" "-" 0 8 \
        "$(echo "$vq8 $vq" | awk '{print $1 / $2}')" "$vqc8" "$(echo "$vqc $vqc8" | awk '{print $1 / $2}')" -
} > "$tmp/table"
for c in 1 8 64; do
    t=$([ $c -eq 1 ] && echo 1 || echo 2)
    q0=$(counter vs_queries_total) b0=$(counter vs_query_batches_total) c0=$(cpu)
    r=$(/usr/bin/time -f "%U %S" -o "$tmp/wtime" wrk -t$t -c$c -d${DUR}s --timeout 10s -s "$tmp/wrk.lua" "$url" | sed -n 's/^RESULT //p')
    c1=$(cpu) q1=$(counter vs_queries_total) b1=$(counter vs_query_batches_total)
    row=$(serve_row "http c=$c" "$r")
    cq=$(echo "$c0 $c1 $q0 $q1 $tck" | awk '{print ($4 > $3 ? ($2 - $1) * 1000 / $5 / ($4 - $3) : 0)}')
    # shellcheck disable=SC2086
    set -- $r
    printf '%s %9.1f %11.2f %9.3f %9.2f %9.3f\n' "$row" "$(echo "$q0 $q1 $b0 $b1" | awk '{print ($4 > $3 ? ($2 - $1) / ($4 - $3) : 0)}')" \
        "$(echo "$1 $4 $vq" | awk '{print $1 / ($2 / 1e6) / $3}')" "$cq" \
        "$(echo "$vqc $cq" | awk '{print ($2 > 0 ? $1 / $2 : 0)}')" \
        "$(awk -v n="$1" '{print (n > 0 ? ($1 + $2) * 1000 / n : 0)}' "$tmp/wtime")" >> "$tmp/table"
done
r0=$(rss)
r=$(wrk -t2 -c8 -d${SOAK_S}s --timeout 10s -s "$tmp/wrk.lua" "$url" | sed -n 's/^RESULT //p')
r1=$(rss)
set -- $r
printf 'soak %ss c=8: %d requests, %d errors, RSS %s kB at start, %s kB at end\n' \
    "$SOAK_S" "$1" $(($2 + $3)) "$r0" "$r1" >> "$tmp/table"
cat "$tmp/table"
mkdir -p bench/results
cat "$tmp/table" >> "$out"
