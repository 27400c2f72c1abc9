#!/bin/sh
# bench/compare/run.sh [BUILD_DIR]: the figures of the comparison guides
# (docs/compare/), in one run: vecstore (the programs and the Python
# package), Chroma, FAISS and sqlite-vec, end to end as an application uses
# each: ingest CMP_N (default 100000) records of 128-dimensional vectors
# (bench/hnsw_bench's Gaussian mixture, seed 1) with a text and a metadata
# object into a new persisted collection, then answer CMP_NQ (default 1000)
# queries (seed 2) with the top 10, their text and metadata; recall@10
# against the exact top 10. HNSW engines: M 16, construction beam 200,
# search beam CMP_EF (default 64); sqlite-vec scans every row (it has no ANN
# index). One process per engine (bench/compare/engines.py, which adds FAISS
# and sqlite-vec to bench/py/e2e.py's engines).
#
# The peers come from PyPI through the project's venv (scripts/venv.sh
# peers: chromadb, faiss-cpu, sqlite-vec at pinned versions); an engine
# whose package is missing is reported as such. The report is printed and
# written to bench/results/compare.txt (CMP_RESULTS names another file)
# with the commit, the command, the package versions and the load average
# before and after each engine; the engines' own output goes to
# BUILD_DIR/bench/compare-log.txt. Smoke size: CMP_N=2000 CMP_NQ=20.
set -eu
main() {
cd "$(dirname "$0")/../.."
build=${1:-build}
N=${CMP_N:-100000}
NQ=${CMP_NQ:-1000}
EF=${CMP_EF:-64}
ENGINES=${CMP_ENGINES:-vecstore-cli vecstore-py chromadb faiss sqlite-vec}
RESULTS=${CMP_RESULTS:-bench/results/compare.txt}
me=bench/compare/run.sh
if [ ! -f "$build/libvecstore.a" ] || [ ! -x "$build/bin/vs-ingest" ]; then
    echo "$me: $build/libvecstore.a or $build/bin/vs-ingest not found (make BUILD=$build)" >&2
    exit 2
fi
PY=${CMP_PYTHON:-$(scripts/venv.sh peers)}
"$PY" -c 'import numpy' 2>/dev/null || { echo "$me: $PY has no numpy (scripts/venv.sh peers)" >&2; exit 2; }
make -s BUILD="$build" PYTHON="$PY" python-ext >&2
babs=$(cd "$build" && pwd)
export PYTHONPATH="$babs/python${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$build/bench" "$(dirname "$RESULTS")"
. bench/cc_lib.sh
bench_cc "$build" "$build/bench/hnsw_bench" bench/hnsw_bench.c
B=$build/bench/hnsw_bench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log=$build/bench/compare-log.txt
: > "$log"
start=$(date +%s)
cmd="$me $build"
for v in CMP_N CMP_NQ CMP_EF CMP_ENGINES; do
    eval "val=\${$v:-}"
    # shellcheck disable=SC2154
    [ -n "$val" ] && cmd="$v='$val' $cmd"
done
commit=${VS_BENCH_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo none)}
# sqlite-vec's vec0 library, loaded by Debian's python3 (engines.py says why)
SQLITE_VEC=$("$PY" -c 'import sqlite_vec; print(sqlite_vec.loadable_path())' 2>/dev/null || true)
report=$tmp/report
{
echo "== bench/compare $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $commit, $(nproc) cores," \
     "load $(cut -d' ' -f1-3 /proc/loadavg) at the start"
echo "command: $cmd"
echo "data: $N x 128 Gaussian mixture (bench/hnsw_bench gen, seed 1), $NQ queries (seed 2)," \
     "texts 'record I about topic I mod 97', metadata {n, group}"
"$PY" - <<'PYEOF'
from importlib.metadata import version, PackageNotFoundError
have = []
for p in ("chromadb", "faiss-cpu", "sqlite-vec"):
    try:
        have.append(f"{p} {version(p)}")
    except PackageNotFoundError:
        have.append(f"{p} not installed")
print("packages: " + ", ".join(have))
PYEOF
echo "note: the machine may be shared: compare CPU seconds (ingest_cpu, query_cpu) first;"
echo "wall figures depend on the load. OPENBLAS_NUM_THREADS=1 in every engine's process."
} > "$report"

"$B" gen "$N" 128 1 "$tmp/x"
"$B" gen "$NQ" 128 2 "$tmp/q"
"$B" truth "$tmp/x" "$tmp/q" 128 10 "$tmp/t"
for e in $ENGINES; do
    echo "== $e" >> "$log"
    py=$PY
    if [ "$e" = sqlite-vec ]; then
        py=/usr/bin/python3
        if [ -z "$SQLITE_VEC" ]; then
            echo "engine $e" > "$tmp/r.$e"
            echo "missing sqlite-vec_(scripts/venv.sh_peers)" >> "$tmp/r.$e"
            continue
        fi
    fi
    l0=$(cut -d' ' -f1 /proc/loadavg)
    VS_SQLITE_VEC="${SQLITE_VEC%.so}" "$py" bench/compare/engines.py "$e" "$tmp/x" "$tmp/q" "$tmp/t" 128 \
        "$tmp/w-$e" "$EF" "$build/bin" > "$tmp/r.$e" 2>> "$log" \
        || echo "($e: engines.py failed, exit $?; see $log)" >> "$report"
    echo "load $l0/$(cut -d' ' -f1 /proc/loadavg)" >> "$tmp/r.$e"
    rm -rf "$tmp/w-$e"
done

/usr/bin/python3 - "$tmp" "$NQ" $ENGINES >> "$report" <<'PYEOF'
import sys
tmp, nq, engines = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
rows = {}
for e in engines:
    r = {}
    try:
        for line in open(f"{tmp}/r.{e}"):
            k, _, v = line.strip().partition(" ")
            r[k] = v
    except FileNotFoundError:
        pass
    rows[e] = r
print()
print("| engine | version | ingest s | ingest CPU s | on disk MB | query s (%d) | query CPU s | queries/s | recall@10 | memory MB | load before/after |" % nq)
print("|---|---|---|---|---|---|---|---|---|---|---|")
for e, r in rows.items():
    if "missing" in r or "query_s" not in r:
        print(f"| {e} | {r.get('missing', 'failed').replace('_', ' ')} | | | | | | | | | |")
        continue
    qps = nq / float(r["query_s"])
    print(f"| {e} | {r.get('version', '?')} | {float(r['ingest_s']):.2f} | {float(r['ingest_cpu_s']):.2f} "
          f"| {int(r['disk_bytes']) / 1e6:.1f} | {float(r['query_s']):.3f} | {float(r['query_cpu_s']):.3f} "
          f"| {qps:.0f} | {r['recall']} | {r['mem_mb']} | {r.get('load', '')} |")
base = rows.get("vecstore-cli", {})
if "query_s" in base:
    print()
    print("vecstore-cli over each engine (> 1: vecstore ahead; CPU seconds, then wall):")
    print("| engine | ingest CPU | ingest wall | query CPU | query wall | bytes on disk |")
    print("|---|---|---|---|---|---|")
    for e, r in rows.items():
        if e == "vecstore-cli" or "query_s" not in r:
            continue
        def ratio(k):
            return float(r[k]) / max(float(base[k]), 1e-9)
        print(f"| {e} | {ratio('ingest_cpu_s'):.2f} | {ratio('ingest_s'):.2f} | {ratio('query_cpu_s'):.2f} "
              f"| {ratio('query_s'):.2f} | {ratio('disk_bytes'):.2f} |")
PYEOF
echo "" >> "$report"
echo "elapsed $(( $(date +%s) - start )) s; load at the end $(cut -d' ' -f1-3 /proc/loadavg)" >> "$report"
cat "$report"
cp "$report" "$RESULTS"
}
main "$@"
