#!/bin/sh
# bench/ingest.sh BUILD_DIR: ingest throughput and store size.
#   N records (default 100000) of DIM-d vectors (default 384), generated here
#   (standard normal float32, a short text and metadata), ingested twice into
#   new cosine stores: vectors as JSON arrays (9 significant digits) and as
#   vector_b64. Reports records/s, input MB/s, bytes on disk per record next
#   to raw float32, and the time to open the store and read one record
#   (`vs-index get`), median of 5. Prints a table and appends it, dated, to
#   bench/results/ingest.txt.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
bin=$build/bin
N=${N:-100000}
DIM=${DIM:-384}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

/usr/bin/python3 - "$tmp" "$N" "$DIM" <<'PY'
import base64, sys
import numpy as np
d, n, dim = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(42)
with open(d + "/arr.jsonl", "w") as fa, open(d + "/b64.jsonl", "w") as fb:
    for start in range(0, n, 10000):
        V = rng.standard_normal((min(10000, n - start), dim)).astype(np.float32)
        for j, v in enumerate(V):
            i = start + j
            head = '{"id":"doc%d","text":"record %d about topic %d","metadata":{"n":%d,"topic":%d},' % (i, i, i % 17, i, i % 17)
            fa.write(head + '"vector":[' + ",".join("%.9g" % x for x in v) + "]}\n")
            fb.write(head + '"vector_b64":"' + base64.b64encode(v.tobytes()).decode() + '"}\n')
PY

now() { date +%s.%N; }
raw=$((DIM * 4))
out=$tmp/table.txt
{
    echo "ingest: $N records, dim $DIM, $(nproc) cpus, $(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    printf '%-12s %8s %8s %8s %9s %8s %10s %12s %8s %8s\n' input MB seconds 'rec/s' 'MB/s' 'cpu s' 'rec/cpu-s' 'disk B/rec' 'vs raw' 'get ms'
} >"$out"
for kind in arr b64; do
    f=$tmp/$kind.jsonl
    s=$tmp/$kind.vs
    mb=$(awk -v b="$(stat -c %s "$f")" 'BEGIN { printf "%.1f", b / 1e6 }')
    t0=$(now)
    /usr/bin/time -f '%U %S' -o "$tmp/cpu" "$bin/vs-ingest" -q "$s" "$f"
    t1=$(now)
    cpu=$(awk '{ printf "%.2f", $1 + $2 }' "$tmp/cpu")
    disk=$("$bin/vs-index" info "$s" | /usr/bin/python3 -c 'import json,sys; o=json.load(sys.stdin); print(o["bytes_on_disk"] / o["records"])')
    gets=""
    for i in 1 2 3 4 5; do
        g0=$(now)
        "$bin/vs-index" get "$s" "doc$((N / 2 + i))" >/dev/null
        g1=$(now)
        gets="$gets $(awk -v a="$g0" -v b="$g1" 'BEGIN { printf "%.1f", (b - a) * 1000 }')"
    done
    getms=$(echo $gets | tr ' ' '\n' | sort -n | sed -n 3p)
    case $kind in arr) name="json-array" ;; *) name="base64" ;; esac
    awk -v n="$N" -v mb="$mb" -v a="$t0" -v b="$t1" -v cpu="$cpu" -v disk="$disk" -v raw="$raw" -v get="$getms" -v name="$name" 'BEGIN {
        s = b - a
        printf "%-12s %8.1f %8.2f %8.0f %9.1f %8.2f %10.0f %12.1f %7.2fx %8s\n", name, mb, s, n / s, mb / s, cpu, n / cpu, disk, disk / raw, get
    }' >>"$out"
done
{
    echo "(raw float32 per record: $raw B; 'vs raw' = disk bytes per record / raw; random vectors"
    echo " compress little, docs do; 'cpu s' = user+sys of vs-ingest, steadier than wall time on a"
    echo " shared machine; wall time includes the fsyncs; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
} >>"$out"
cat "$out"
mkdir -p bench/results
{ cat "$out"; echo; } >>bench/results/ingest.txt
