#!/bin/sh
# bench/serve.sh BUILD_DIR: vs-serve under load with wrk on 127.0.0.1.
# A store of N records (default 100000, dimension DIM=128, random), queries
# of k=10 at 1, 8 and 64 connections for DUR seconds each (default 10):
# queries/s and p50/p99 latency; the same queries with vs-query in batch;
# then a soak of SOAK_S seconds (default 300: five minutes) at 8
# connections with the server's RSS at start and end. Appends the table to
# bench/results/serve.txt (or $OUT). bench/serve_mixed.sh is the mixed load
# (queries during upserts, kill -9 mid-write).
#   N=20000 DUR=5 SOAK_S=10 bench/serve.sh build
set -eu
build=${1:-build}
bin="$build/bin"
N=${N:-100000}
DIM=${DIM:-128}
DUR=${DUR:-10}
SOAK_S=${SOAK_S:-300}
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
"$bin/vs-ingest" "$tmp/kb.vs" < "$tmp/recs.ndjson" 2>/dev/null
serve_start "$tmp/kb.vs" 2 200
url="http://127.0.0.1:$port/v1/stores/kb/query"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }

out=${OUT:-bench/results/serve.txt}
{
    echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ) vs-serve, $N records dim $DIM, k=10, $(nproc) cores, load average $(cut -d" " -f1 /proc/loadavg) before, wrk ${DUR}s per row (errors: non-2xx + socket errors, 10 s client timeout)"
    printf '%-28s %10s %10s %10s %8s\n' "run" "queries/s" "p50_ms" "p99_ms" "errors"
} > "$tmp/table"
for c in 1 8 64; do
    t=$([ $c -eq 1 ] && echo 1 || echo 2)
    r=$(wrk -t$t -c$c -d${DUR}s --timeout 10s -s "$tmp/wrk.lua" "$url" | sed -n 's/^RESULT //p')
    serve_row "http c=$c" "$r" >> "$tmp/table"
done
# the same 64 queries in batch, repeated to 6400
for i in $(seq 100); do cat "$tmp/queries.ndjson"; done > "$tmp/batch.ndjson"
t0=$(date +%s.%N)
"$bin/vs-query" --threads 2 "$tmp/kb.vs" < "$tmp/batch.ndjson" > /dev/null
t1=$(date +%s.%N)
printf '%-28s %10.0f %10s %10s %8d\n' "vs-query batch (2 threads)" \
    "$(echo "$t0 $t1" | awk '{print 6400 / ($2 - $1)}')" "-" "-" 0 >> "$tmp/table"
r0=$(rss)
r=$(wrk -t2 -c8 -d${SOAK_S}s --timeout 10s -s "$tmp/wrk.lua" "$url" | sed -n 's/^RESULT //p')
r1=$(rss)
set -- $r
printf 'soak %ss c=8: %d requests, %d errors, RSS %s kB at start, %s kB at end\n' \
    "$SOAK_S" "$1" $(($2 + $3)) "$r0" "$r1" >> "$tmp/table"
cat "$tmp/table"
mkdir -p bench/results
cat "$tmp/table" >> "$out"
