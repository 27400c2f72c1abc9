#!/bin/sh
# bench/py/run.sh [BUILD_DIR]: vecstore's Python package against the Python
# libraries users would pick instead, installed from PyPI into the project's
# venv (scripts/venv.sh peers: faiss-cpu, hnswlib, usearch, chromadb,
# lancedb, scann, ngt at pinned versions). make bench runs it (bench/run.sh).
#
# 1. Approximate search (bench/py/ann.py, one process per engine): vecstore
#    (float32 and sq8 codes), faiss IndexHNSWFlat, hnswlib, usearch (f32 and
#    i8), NGT (ANNG; the PyPI ngt package opens QG/QBG indexes but cannot
#    build them), ScaNN (tree + AH + reorder, swept over leaves and reorder
#    count); graph degree 16, construction beam 200; a build still
#    running after PYB_BUILD_LIMIT wall seconds (default 1200) is stopped
#    and reported as such (bench/py/ann.py); build time (wall
#    and CPU seconds on 2 threads), memory growth, bytes on disk; per search
#    setting recall@10, queries per CPU second on 1 thread and per wall
#    second on 2; at the end the figures at recall@10 0.95 and 0.99, read on
#    each engine's recall/QPS frontier (bench/py/report.py). After its usual
#    settings an engine tries wider ones (ef 384, 512; ScaNN more leaves)
#    one at a time while none reached recall@10 PYB_EXTRA_UNTIL (default
#    0.995), so that 0.99 is reached on aniso and scifact too.
#    Sets (PYB_SETS, default "synth aniso scifact"):
#      synth    Gaussian mixture PYB_N (default 100000) x 128 and PYB_NQ
#               (default 1000) queries (bench/hnsw_bench gen, the rows of
#               bench/hnsw.sh), the exact top 10 by bench/hnsw_bench truth
#      aniso    a stand-in for SIFT-1M / GloVe (not downloadable here): no
#               clusters, PYB_N x 128 rows and PYB_NQ queries drawn from one
#               Gaussian whose variances fall as a power law (1/j, j = 1..128:
#               about 18 effective dimensions, the order measured on SIFT),
#               turned by a random rotation (QR of a Gaussian matrix) so
#               that every coordinate mixes all the directions; numpy's
#               PCG64 with fixed seeds (rotation 25, rows 1, queries 2); the
#               exact top 10 by bench/hnsw_bench truth (bench/README.md says
#               why this set)
#      scifact  the SciFact corpus (5183 abstracts, title + text) and its
#               1109 queries embedded with all-MiniLM-L6-v2 by vs-embed
#               --model minilm (scripts/get-model.sh minilm; skipped when
#               absent), cached in BUILD_DIR/bench/cache/scifact-minilm.*
#               (the cache of bench/hnsw.sh). PYB_SCIFACT_DOCS=N: the
#               first N documents only (vs-embed's pure-C MiniLM takes
#               about 0.3 CPU seconds a document; cache scifact-minilm-N.*)
# 2. End to end (bench/py/e2e.py): ingest the synth rows as records with
#    text and metadata into vecstore (the programs, and the Python package),
#    chromadb and lancedb; query with text and metadata back (ef PYB_E2E_EF,
#    default 64).
# 3. Per-call overhead of one query: bench/py/percall.c (the C library
#    through lib/vecstore.h) and bench/py/percall.py (the Python package) on
#    the same store (the synth rows) and PYB_PERCALL_N (default 2000)
#    queries.
# Engines: PYB_ENGINES (default every ann.py engine), PYB_E2E (default
# "vecstore-cli vecstore-py chromadb lancedb"; "none": no end-to-end part;
# PYB_PERCALL_N=0: no per-call part); an engine whose package is
# not installed is reported as such. PYB_PYTHON: the interpreter (default:
# the venv's, after scripts/venv.sh peers). BENCH_REPS (default 3): timed
# reps per setting, the best kept; a rep is as many passes over the whole
# query set as take PYB_MIN_CPU (default 0.3) CPU seconds on 1 thread (wall
# seconds on 2), the same for every engine (bench/py/ann.py). PYB_RACE
# (default "vecstore faiss hnswlib"; "" for none): those of ENGINES are
# built again in one process and their reps alternated (ann.py race;
# PYB_RACE_REPS reps, default 5, the best kept), and their recall and
# speed figures are taken from that race, so that they were timed in the
# same seconds of a shared machine. The report is printed and written to
# bench/results/py-DATE.txt (a file per run; PYB_RESULTS names another),
# with the commit, the load average at the start and the end and the
# command; the engines' own output goes to BUILD_DIR/bench/py-log.txt.
# Smoke size for tests: PYB_N=2000 PYB_NQ=50 PYB_SETS=synth.
set -eu
# the body is one function, read whole before it runs: editing this file
# during a run does not change the run
main() {
cd "$(dirname "$0")/../.."
build=${1:-build}
N=${PYB_N:-100000}
NQ=${PYB_NQ:-1000}
SETS=${PYB_SETS:-synth aniso scifact}
ENGINES=${PYB_ENGINES:-vecstore vecstore-sq8 faiss hnswlib usearch usearch-i8 ngt scann}
E2E=${PYB_E2E:-vecstore-cli vecstore-py chromadb lancedb}
E2E_EF=${PYB_E2E_EF:-64}
RACE=${PYB_RACE-vecstore faiss hnswlib}
PCN=${PYB_PERCALL_N:-2000}
DATA=${VS_DATA:-../shared/data}
RESULTS=${PYB_RESULTS:-bench/results/py-$(date -u +%Y%m%dT%H%M%SZ).txt}
me=bench/py/run.sh
if [ ! -f "$build/libvecstore.a" ] || [ ! -x "$build/bin/vs-ingest" ]; then
    echo "$me: $build/libvecstore.a or $build/bin/vs-ingest not found (make BUILD=$build)" >&2
    exit 2
fi
PY=${PYB_PYTHON:-$(scripts/venv.sh peers)}
"$PY" -c 'import numpy' 2>/dev/null || { echo "$me: $PY has no numpy (scripts/venv.sh peers)" >&2; exit 2; }
make -s BUILD="$build" PYTHON="$PY" python-ext >&2
babs=$(cd "$build" && pwd)
export PYTHONPATH="$babs/python${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$build/bench" "$build/bench/cache" "$(dirname "$RESULTS")"
. bench/cc_lib.sh
bench_cc "$build" "$build/bench/hnsw_bench" bench/hnsw_bench.c
bench_cc "$build" "$build/bench/percall" bench/py/percall.c
B=$build/bench/hnsw_bench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log=$build/bench/py-log.txt
: > "$log"
start=$(date +%s)
cmd="$me $build"
for v in PYB_N PYB_NQ PYB_SETS PYB_SCIFACT_DOCS PYB_BUILD_LIMIT PYB_EXTRA_UNTIL PYB_ENGINES PYB_E2E PYB_E2E_EF PYB_PERCALL_N PYB_RACE PYB_RACE_REPS BENCH_REPS PYB_MIN_CPU VS_DATA; do
    # set, even to nothing (PYB_RACE='': no race), is part of the command
    eval "isset=\${$v+1} val=\${$v:-}"
    # shellcheck disable=SC2154
    [ -n "$isset" ] && cmd="$v='$val' $cmd"
done
commit=${VS_BENCH_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo none)}
report=$tmp/report
{
echo "== bench/py $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $commit, $(nproc) cores," \
     "load $(cut -d' ' -f1-3 /proc/loadavg) at the start"
echo "command: $cmd"
echo "python: $("$PY" -c 'import sys; print(sys.version.split()[0])'), $PY"
"$PY" - <<'PYEOF'
from importlib.metadata import version, PackageNotFoundError
have = []
for p in ("numpy", "faiss-cpu", "hnswlib", "usearch", "ngt", "scann", "chromadb", "lancedb"):
    try:
        have.append(f"{p} {version(p)}")
    except PackageNotFoundError:
        have.append(f"{p} not installed")
print("packages: " + ", ".join(have))
try:
    import faiss
    print("faiss kernel: get_compile_options() = " + faiss.get_compile_options())
except ImportError:
    pass
PYEOF
echo "note: the machine is shared: compare the CPU-second rates (cpuqps1, *_cpu); wall figures"
echo "depend on the load. OPENBLAS_NUM_THREADS=1 in every engine's process."
} > "$report"

ann() { # ann NAME D: every engine on $tmp/NAME.{x,q,t}
    for e in $ENGINES; do
        echo "== $1 $e" >> "$log"
        st=0
        "$PY" bench/py/ann.py "$e" "$tmp/$1.x" "$tmp/$1.q" "$tmp/$1.t" "$2" "$tmp/w-$1-$e" \
            > "$tmp/$1.ann.$e" 2> "$tmp/ann.err" || st=$?
        cat "$tmp/ann.err" >> "$log"
        # faulthandler's watchdog (PYB_BUILD_LIMIT) prints "Timeout (H:MM:SS)!"
        if [ "$st" != 0 ] && grep -q '^Timeout (' "$tmp/ann.err"; then
            echo "build_timeout 1" >> "$tmp/$1.ann.$e"
        elif [ "$st" != 0 ]; then
            echo "($1 $e: ann.py failed, exit $st; see $log)" >> "$report"
        fi
        rm -rf "$tmp/w-$1-$e"
    done
    # the search figures of the PYB_RACE engines again, their reps
    # alternated in one process (ann.py race), in place of their own
    r=""
    for e in $RACE; do
        case " $ENGINES " in *" $e "*)
            grep -q '^build_s ' "$tmp/$1.ann.$e" && r="$r${r:+,}$e" ;;
        esac
    done
    case $r in *,*)
        echo "== $1 race $r" >> "$log"
        if "$PY" bench/py/ann.py race "$r" "$tmp/$1.x" "$tmp/$1.q" "$tmp/$1.t" "$2" "$tmp/w-$1-race" \
            > "$tmp/$1.race" 2>> "$log"; then
            while read -r e k v; do
                echo "$k $v" >> "$tmp/$1.ann.$e"
            done < "$tmp/$1.race"
            echo "$1: the search figures of $r are from their race (bench/py/ann.py race)" >> "$report"
        else
            echo "($1 race $r: ann.py failed; see $log)" >> "$report"
        fi
        rm -rf "$tmp/w-$1-race" ;;
    esac
}

setargs=""
case " $SETS " in *" synth "*)
    "$B" gen "$N" 128 1 "$tmp/synth.x"
    "$B" gen "$NQ" 128 2 "$tmp/synth.q"
    "$B" truth "$tmp/synth.x" "$tmp/synth.q" 128 10 "$tmp/synth.t"
    ann synth 128
    setargs="$setargs synth=${N}_x_128,_${NQ}_queries,_Gaussian_mixture"
;; esac

case " $SETS " in *" aniso "*)
    "$PY" - "$N" "$NQ" "$tmp" <<'PYEOF'
import sys
import numpy as np
n, nq, t = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
d = 128
# a random rotation (seed 25) of a Gaussian whose variance along its j-th
# axis is 1/j: no clusters, about 18 effective dimensions
rot, _ = np.linalg.qr(np.random.default_rng(25).standard_normal((d, d)))
sd = 1.0 / np.sqrt(np.arange(1, d + 1))
for seed, rows, ext in ((1, n, "x"), (2, nq, "q")):
    z = np.random.default_rng(seed).standard_normal((rows, d)) * sd
    (z @ rot.T).astype(np.float32).tofile(f"{t}/aniso.{ext}")
PYEOF
    "$B" truth "$tmp/aniso.x" "$tmp/aniso.q" 128 10 "$tmp/aniso.t"
    ann aniso 128
    setargs="$setargs aniso=${N}_x_128,_${NQ}_queries,_Gaussian_with_1/j_variances,_rotated"
;; esac

sf=$DATA/datasets/scifact
SFN=${PYB_SCIFACT_DOCS:-}
c=$build/bench/cache/scifact-minilm${SFN:+-$SFN}
case " $SETS " in *" scifact "*)
    if [ ! -f "$sf/corpus.jsonl" ]; then
        echo "scifact: skipped (no $sf)" >> "$report"
    else
        if [ ! -f "$c.done" ]; then
            "$PY" - "$sf" "$tmp" <<'PYEOF'
import json, sys
sf, tmp = sys.argv[1], sys.argv[2]
with open(tmp + "/sf_c.in", "w") as o:
    for l in open(sf + "/corpus.jsonl"):
        r = json.loads(l)
        o.write(json.dumps({"id": r["_id"], "text": (r.get("title", "") + "\n" + r["text"]).strip()}) + "\n")
with open(tmp + "/sf_q.in", "w") as o:
    for l in open(sf + "/queries.jsonl"):
        r = json.loads(l)
        o.write(json.dumps({"id": r["_id"], "text": r["text"]}) + "\n")
PYEOF
            if [ -n "$SFN" ]; then
                head -n "$SFN" "$tmp/sf_c.in" > "$tmp/sf_c.head" && mv "$tmp/sf_c.head" "$tmp/sf_c.in"
            fi
            if "$build/bin/vs-embed" -q --keep-going --model minilm "$tmp/sf_c.in" > "$tmp/sf_c.jsonl" 2>> "$log" &&
               "$build/bin/vs-embed" -q --model minilm --as query "$tmp/sf_q.in" > "$tmp/sf_q.jsonl" 2>> "$log"; then
                "$PY" - "$tmp" "$c" <<'PYEOF'
import json, sys
import numpy as np
t, c = sys.argv[1], sys.argv[2]
for src, dst in (("sf_c.jsonl", ".x"), ("sf_q.jsonl", ".q")):
    v = np.asarray([json.loads(l)["vector"] for l in open(t + "/" + src) if '"vector"' in l], dtype=np.float32)
    v.tofile(c + dst)
    open(c + ".d", "w").write("%d\n" % v.shape[1])
PYEOF
                : > "$c.done"
            fi
        fi
        if [ -f "$c.done" ]; then
            cp "$c.x" "$tmp/scifact.x"
            cp "$c.q" "$tmp/scifact.q"
            d=$(cat "$c.d")
            "$B" truth "$tmp/scifact.x" "$tmp/scifact.q" "$d" 10 "$tmp/scifact.t"
            ann scifact "$d"
            rows=$(( $(wc -c < "$tmp/scifact.x") / (4 * d) ))
            nq=$(( $(wc -c < "$tmp/scifact.q") / (4 * d) ))
            setargs="$setargs scifact=${rows}_x_${d},_${nq}_queries,_all-MiniLM-L6-v2_by_vs-embed${SFN:+,_the_first_${SFN}_documents}"
        else
            echo "scifact: skipped (vs-embed --model minilm failed: scripts/get-model.sh minilm; see $log)" >> "$report"
        fi
    fi
;; esac

[ "$E2E" = none ] && E2E=""
if [ ! -f "$tmp/synth.x" ] && { [ -n "$E2E" ] || [ "$PCN" != 0 ]; }; then
    "$B" gen "$N" 128 1 "$tmp/synth.x"
    "$B" gen "$NQ" 128 2 "$tmp/synth.q"
    "$B" truth "$tmp/synth.x" "$tmp/synth.q" 128 10 "$tmp/synth.t"
fi
for e in $E2E; do
    echo "== e2e $e" >> "$log"
    "$PY" bench/py/e2e.py "$e" "$tmp/synth.x" "$tmp/synth.q" "$tmp/synth.t" 128 "$tmp/e2e-$e" \
        "$E2E_EF" "$build/bin" > "$tmp/e2e.$e" 2>> "$log" || echo "(e2e $e: e2e.py failed, exit $?; see $log)" >> "$report"
    [ "$e" = vecstore-py ] && [ -d "$tmp/e2e-$e/py.vs" ] && mv "$tmp/e2e-$e/py.vs" "$tmp/percall.vs"
    rm -rf "$tmp/e2e-$e"
done

# per call: a store of the synth rows (the one e2e's vecstore-py made, else a new one)
if [ "$PCN" != 0 ] && [ ! -d "$tmp/percall.vs" ]; then
    "$PY" - "$tmp" <<'PYEOF' 2>> "$log" || echo "(per call: no store of the synth rows; see $log)" >> "$report"
import sys
import numpy as np
import vecstore
t = sys.argv[1]
x = np.fromfile(t + "/synth.x", dtype=np.float32).reshape(-1, 128)
with vecstore.open(t + "/percall.vs", create=True, dim=128, metric="l2", hnsw_m=16, autocommit=False) as s:
    s.upsert([str(i) for i in range(len(x))], x)
PYEOF
fi
[ "$PCN" = 0 ] || { "$B" gen "$PCN" 128 3 "$tmp/pc.q"
{
    echo "setting ef$E2E_EF"
    echo "n $PCN"
    "$build/bench/percall" "$tmp/percall.vs" "$tmp/pc.q" 128 "$E2E_EF" "$PCN"
    "$PY" bench/py/percall.py "$tmp/percall.vs" "$tmp/pc.q" 128 "$E2E_EF" "$PCN"
} > "$tmp/percall" 2>> "$log" || echo "(per call: failed; see $log)" >> "$report"; }

# shellcheck disable=SC2086
E2E_ROWS=$N "$PY" bench/py/report.py "$tmp" $setargs >> "$report"
echo >> "$report"
echo "elapsed $(( $(date +%s) - start )) s; load at the end $(cut -d' ' -f1-3 /proc/loadavg)" >> "$report"
cat "$report"
cp "$report" "$RESULTS"
}
# one line: sh has read it whole before main runs, and exits after it
# without reading on (an edit during a run would shift what it reads next)
main "$@"; exit
