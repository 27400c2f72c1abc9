#!/bin/sh
# bench/hnsw_e2e.sh [BUILD_DIR]: vs-query end to end against the library.
#
# A store is built with the real programs: `vs-index create --metric l2
# --hnsw-m 16 --ef-construction 200`, then `vs-ingest` of E2E_N (default
# 100000) rows x 128 of the Gaussian mixture of bench/hnsw.sh (hnsw_bench gen
# N 128 1) as NDJSON records {"id":"rI","vector_b64":...}. Then `vs-query -k
# 10 --ef EF --threads T --no-text --no-metadata` reads a file of E2E_NQ
# (default 10000) query records (hnsw_bench gen NQ 128 2, the queries of
# bench/hnsw.sh and more) for each EF of E2E_EFS (default 32 48 64 96 128
# 192) and T = 1 and 2. Each run is one process: start-up, store open, NDJSON
# and base64 parsing, search and output included; queries/s are per wall
# second and per CPU second of the process (user + system of the process, from getrusage),
# best of E2E_REPS (default 2). Every run's hits are checked against the
# exact top 10 (hnsw_bench truth): recall@10, so the speed is that of
# correct answers. The library side is `hnsw_bench search` on the same rows
# and queries (one graph built on 2 threads, as a store without --seed
# builds it): recall, queries per CPU second of the querying thread on 1
# thread (cpuqps1) and per wall second on 2 threads. At the end, both at
# recall@10 = 0.95 and 0.99 (interpolated as in bench/hnsw.sh). The table
# is printed and appended to bench/results/hnsw.txt (or E2E_RESULTS).
# 2t/1t is vs-query's wall throughput on 2 threads over 1 (goal >= 1.8,
# meaningful only when the machine has 2 idle cores: on a loaded one the
# threads wait for the scheduler), cpu2/1 its CPU seconds per query on 2
# threads over 1 (1.00: the second thread adds no work, spinning included).
# E2E_WRAP (say "taskset -c 0,1" or "nice -n 5") is put before each
# vs-query command and recorded with the results.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
PY=/usr/bin/python3
N=${E2E_N:-100000}
NQ=${E2E_NQ:-10000}
EFS=${E2E_EFS:-32 48 64 96 128 192}
REPS=${E2E_REPS:-2}
RESULTS=${E2E_RESULTS:-bench/results/hnsw.txt}
if [ ! -x "$build/bin/vs-query" ] || [ ! -f "$build/libvecstore.a" ]; then
    echo "hnsw_e2e.sh: $build/bin/vs-query not found (make BUILD=$build)" >&2
    exit 2
fi
if [ ! -x /usr/bin/time ]; then
    echo "hnsw_e2e.sh: /usr/bin/time not found (apt-get install time)" >&2
    exit 2
fi
mkdir -p "$build/bench" bench/results
. bench/cc_lib.sh
bench_cc "$build" "$build/bench/hnsw_bench" bench/hnsw_bench.c
B=$build/bench/hnsw_bench
bin=$build/bin
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)

cmd="bench/hnsw_e2e.sh $build"
WRAP=${E2E_WRAP:-}
for v in E2E_N E2E_NQ E2E_EFS E2E_REPS E2E_WRAP VS_BENCH_COMMIT; do
    eval "val=\${$v:-}"
    # shellcheck disable=SC2154
    [ -n "$val" ] && cmd="$v='$val' $cmd"
done
load0=$(cut -d' ' -f1-3 /proc/loadavg)
# VS_BENCH_COMMIT: the commit of a tree exported with git archive (no .git)
commit=${VS_BENCH_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo none)}
dirty=$(git --no-optional-locks status --porcelain -- lib cmd 2>/dev/null | awk '{ print $2 }' | tr '\n' ' ')

"$B" gen "$N" 128 1 "$tmp/x"
"$B" gen "$NQ" 128 2 "$tmp/q"
"$B" truth "$tmp/x" "$tmp/q" 128 10 "$tmp/t"
$PY bench/vectors_ndjson.py "$tmp/x" 128 r > "$tmp/x.ndjson"
$PY bench/vectors_ndjson.py "$tmp/q" 128 q > "$tmp/q.ndjson"
: > "$tmp/empty.ndjson"

# wall, user and system seconds of one command into $tmp/time (stdout to
# OUT), to the microsecond: /usr/bin/time's 10 ms steps made the CPU time of
# a short run 0.00, and its queries per CPU second a division by zero
timed() { # timed OUT CMD...
    out=$1
    shift
    $PY - "$out" "$tmp/time" "$@" <<'PYEOF'
import resource, subprocess, sys, time
t0 = time.monotonic()
with open(sys.argv[1], "wb") as o:
    rc = subprocess.call(sys.argv[3:], stdout=o)
w = time.monotonic() - t0
r = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[2], "w") as f:
    f.write("%.6f %.6f %.6f\n" % (w, r.ru_utime, r.ru_stime))
sys.exit(rc)
PYEOF
}

store=$tmp/store
"$bin/vs-index" -q create "$store" --metric l2 --hnsw-m 16 --ef-construction 200
timed /dev/null "$bin/vs-ingest" -q "$store" "$tmp/x.ndjson"
echo "ingest $(cat "$tmp/time")" > "$tmp/e2e"
"$bin/vs-index" -q info "$store" > "$tmp/info.json"
timed /dev/null "$bin/vs-query" -q -k 10 --threads 1 "$store" "$tmp/empty.ndjson"
echo "empty $(cat "$tmp/time")" >> "$tmp/e2e"
for ef in $EFS; do
    for th in 1 2; do
        r=0
        while [ "$r" -lt "$REPS" ]; do
            # shellcheck disable=SC2086
            timed "$tmp/hits" $WRAP "$bin/vs-query" -q -k 10 --ef "$ef" --threads "$th" \
                --no-text --no-metadata "$store" "$tmp/q.ndjson"
            echo "run $ef $th $(cat "$tmp/time")" >> "$tmp/e2e"
            r=$((r + 1))
        done
        $PY - "$tmp/hits" "$tmp/t" "$ef" "$th" >> "$tmp/e2e" <<'PYEOF'
import json, sys
import numpy as np
hits, truth, ef, th = sys.argv[1:5]
t = np.fromfile(truth, dtype=np.uint32).reshape(-1, 10)
got = [set() for _ in range(len(t))]
for line in open(hits):
    h = json.loads(line)
    got[int(h["qid"][1:])].add(int(h["id"][1:]))
found = sum(len(g & set(int(v) for v in row)) for g, row in zip(got, t))
print("recall %s %s %.4f %d" % (ef, th, found / t.size, sum(1 for g in got if len(g) < 10)))
PYEOF
    done
done
# shellcheck disable=SC2086
HNSW_BENCH_REPS=$REPS "$B" search "$tmp/x" "$tmp/q" "$tmp/t" 128 16 200 $EFS > "$tmp/lib"

report=$tmp/report
{
echo "== hnsw_e2e $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $commit," \
     "$(nproc) cores, load $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "command: $cmd"
[ -n "$dirty" ] && echo "built from a working tree with uncommitted changes in: $dirty"
$PY - "$tmp" "$N" "$NQ" "$EFS" <<'PYEOF'
import json, math, sys
tmp, n, nq, efs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split()
runs, rec, lib = {}, {}, {}
for line in open(tmp + "/e2e"):
    p = line.split()
    if p[0] in ("ingest", "empty"):
        runs[p[0]] = [float(v) for v in p[1:4]]
    elif p[0] == "run":
        runs.setdefault((p[1], p[2]), []).append([float(v) for v in p[3:6]])
    elif p[0] == "recall":
        rec[(p[1], p[2])] = (float(p[3]), int(p[4]))
for line in open(tmp + "/lib"):
    k, v = line.split()
    lib[k] = float(v)
info = json.load(open(tmp + "/info.json"))
segs = info["segments"]
hn = sum(s["bytes"] for g in segs for s in g["sections"] if s["name"] == "hnsw")
w, u, s = runs["ingest"]
print(f"store: vs-index create --metric l2 --hnsw-m 16 --ef-construction 200; vs-ingest of {n} x 128"
      f" rows (NDJSON, vector_b64): {w:.1f} s wall, {u + s:.1f} s CPU ({n / w:.0f} rows/s);"
      f" {len(segs)} segment(s), graph {hn / n:.1f} bytes/vector on disk")
w, u, s = runs["empty"]
print(f"vs-query on an empty query file (start-up and open): {w * 1e3:.0f} ms wall, {(u + s) * 1e3:.0f} ms CPU")
print(f"{nq} queries per run, k=10; e2e = vs-query (one process per run: start-up, NDJSON in and out"
      " included), best of the runs; lib = hnsw_bench search (the library on the same rows)")
print("qps = per wall second, /cpu = per CPU second (e2e: user + system of the process, all threads;"
      " lib 1t: the querying thread)")
print("%-5s %8s %8s %6s %8s %8s %8s %8s %8s %8s %8s %9s %6s %7s" % ("ef", "recall", "lib_rec",
      "short", "e2e_qps1", "e2e/cpu1", "e2e_qps2", "e2e/cpu2", "lib_cpu1", "lib_qps2", "e2e/lib1",
      "e2e/lib2", "2t/1t", "cpu2/1"))
def per(n, t):  # n per second of t; nan when t is below what can be measured
    return n / t if t > 0 else float("nan")


e2e_curve, lib_curve = [], []
for ef in efs:
    best = {}
    for th in ("1", "2"):
        r = runs.get((ef, th), [])
        best[th] = (max(per(nq, x[0]) for x in r), max(per(nq, x[1] + x[2]) for x in r)) if r else (0, 0)
    r1, short = rec.get((ef, "1"), (float("nan"), 0))
    lr, lc1, lq2 = lib.get(f"ef{ef}_recall"), lib.get(f"ef{ef}_cpuqps1"), lib.get(f"ef{ef}_qps2")
    e2e_curve.append((ef, r1, best["1"][1]))
    lib_curve.append((ef, lr, lc1))
    print("%-5s %8.4f %8.4f %6d %8.0f %8.0f %8.0f %8.0f %8.0f %8.0f %8.2f %9.2f %6.2f %7.2f" % (
        ef, r1, lr, short, best["1"][0], best["1"][1], best["2"][0], best["2"][1], lc1, lq2,
        best["1"][1] / lc1, best["2"][0] / lq2, per(best["2"][0], best["1"][0]),
        per(best["1"][1], best["2"][1])))
    r2 = rec.get((ef, "2"))
    if r2 and abs(r2[0] - r1) > 0.002:
        print(f"      (2 threads: recall {r2[0]:.4f})")


def at(pts, target):
    if pts and pts[0][1] >= target:
        return pts[0][2], f"ef{pts[0][0]}>="
    for (e1, a, q1), (e2, b, q2) in zip(pts, pts[1:]):
        if a < target <= b:
            f = (target - a) / (b - a)
            return math.exp(math.log(q1) + f * (math.log(q2) - math.log(q1))), f"ef{e1}-{e2}"
    return None, "not reached"


print("e2e/lib1: vs-query on 1 thread per CPU second over the library's cpuqps1; e2e/lib2: wall"
      " qps on 2 threads, vs-query over the library; short = queries with fewer than 10 hits;"
      " 2t/1t: vs-query's wall qps on 2 threads over 1 (goal >= 1.8; only meaningful on idle"
      " cores); cpu2/1: its CPU seconds per query on 2 threads over 1 (1.00 = no added work)")
for t in (0.95, 0.99):
    e, eh = at(e2e_curve, t)
    l, lh = at(lib_curve, t)
    if e and l:
        print(f"at recall@10 = {t}: vs-query {e:.0f} queries per CPU second ({eh}), library {l:.0f}"
              f" ({lh}): e2e/lib {e / l:.2f}")
    else:
        print(f"at recall@10 = {t}: vs-query {eh}, library {lh}")
PYEOF
echo "elapsed $(( $(date +%s) - start )) s"
} > "$report"
cat "$report"
cat "$report" >> "$RESULTS"
