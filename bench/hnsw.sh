#!/bin/sh
# bench/hnsw.sh [BUILD_DIR]: approximate search (HNSW) against the peers.
#
# Engines, all with M=16, ef_construction=200, k=10, L2:
#   ours       lib/hnsw.c through bench/hnsw_bench.c (BUILD_DIR/libvecstore.a)
#   ours-sq8   the same graph walked with sq8 codes, the ef best re-scored
#              from float32 (the store option --quant sq8)
#   hnswlib    Debian's libhnswlib-dev headers in our driver bench/hnsw_peer.cpp,
#              compiled with -O3 -march=native
#   pyhnswlib  Debian's python3-hnswlib   } bench/hnsw_peers.py
#   faiss      Debian's python3-faiss       } (faiss: IndexHNSWFlat, and
#                                           }  IndexFlatL2 as exact reference)
# Every engine is timed the same way: builds on 1 and 2 threads (wall and
# process CPU seconds, the load before and after); per ef: recall@10,
# queries per wall second and per CPU second of the querying thread on
# 1 thread (cpuqps1), queries per wall second on 2 threads, p50/p99
# single-query latency; graph and vector bytes per vector.
# Data (ground truth by exact search, bench/hnsw_bench truth):
#   synth      Gaussian mixture, HNSW_N rows (default 100000) x 128 and
#              HNSW_NQ queries (default 1000), fixed seeds
#   fmnist     Fashion-MNIST 784-d (dataset-fashion-mnist), the ann-benchmarks
#              split: the first HNSW_MNIST_N (default 60000) training images,
#              the first HNSW_MNIST_NQ test images as queries: default 2000, not
#              the split's 10000, with which the whole run took 52 minutes
#              (Fashion-MNIST 36 of them) at load 4-8; HNSW_MNIST_NQ=10000
#              for the full split
#   scifact    SciFact corpus (5183 abstracts) and all its 1109 queries
#              ($VS_DATA or ../shared/data), embedded by vs-embed with each
#              model of HNSW_SCIFACT_MODELS (default "hash use-lite"): hash is
#              the 384-d hash embedder (not a neural model), use-lite the
#              512-d USE-lite network when scripts/get-model.sh has put it in
#              ~/.cache/vecstore/models (skipped otherwise). The vectors are
#              cached in BUILD_DIR/bench/cache (embedding takes minutes).
# ef values: HNSW_EFS (default 16 32 64 128 256); SciFact's HNSW_SCIFACT_EFS
# (default HNSW_EFS and 512: its hash vectors need ef 512 for recall 0.99,
# and the set is small). HNSW_PEERS=0 skips the
# Python peers. HNSW_SETS (default "synth fmnist scifact") picks the data
# sets; the filtered and vector-code tables run with synth.
# HNSW_BENCH_REPS (default 2): timed passes per figure, the best kept.
# At the end, the summary: queries per CPU second at recall@10 = 0.95 and
# 0.99 (interpolated between the two ef that bracket it, log-linear in QPS,
# linear in recall) per engine and set, with the ratios to native hnswlib
# and faiss; and the build table. Everything is printed and appended to
# bench/results/hnsw.txt (or HNSW_RESULTS) with the date, commit, load and
# command.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
PY=/usr/bin/python3
N=${HNSW_N:-100000}
NQ=${HNSW_NQ:-1000}
MN=${HNSW_MNIST_N:-60000}
MNQ=${HNSW_MNIST_NQ:-2000}
EFS=${HNSW_EFS:-16 32 64 128 256}
PEERS=${HNSW_PEERS:-1}
SETS=${HNSW_SETS:-synth fmnist scifact}
SFMODELS=${HNSW_SCIFACT_MODELS:-hash use-lite}
SFEFS=${HNSW_SCIFACT_EFS:-$EFS 512}
DATA=${VS_DATA:-../shared/data}
RESULTS=${HNSW_RESULTS:-bench/results/hnsw.txt}
M=16
EFC=200
if [ ! -f "$build/libvecstore.a" ] || [ ! -x "$build/bin/vs-embed" ]; then
    echo "hnsw.sh: $build/libvecstore.a or $build/bin/vs-embed not found (make BUILD=$build)" >&2
    exit 2
fi
cache=$build/bench/cache
mkdir -p "$build/bench" "$cache" bench/results
. bench/cc_lib.sh
bench_cc "$build" "$build/bench/hnsw_bench" bench/hnsw_bench.c
peer=""
if [ -f /usr/include/hnswlib/hnswlib.h ]; then
    ${CXX:-g++} -O3 -march=native -fopenmp -o "$build/bench/hnsw_peer" bench/hnsw_peer.cpp -lzstd
    peer=$build/bench/hnsw_peer
fi
B=$build/bench/hnsw_bench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)

# the command as run, with the settings that came from the environment
cmd="bench/hnsw.sh $build"
for v in HNSW_N HNSW_NQ HNSW_MNIST_N HNSW_MNIST_NQ HNSW_EFS HNSW_PEERS HNSW_SETS \
         HNSW_SCIFACT_MODELS HNSW_SCIFACT_EFS HNSW_BENCH_REPS HNSW_PY_LAT_NQ VS_DATA VS_BENCH_COMMIT; do
    eval "val=\${$v:-}"
    # shellcheck disable=SC2154
    [ -n "$val" ] && cmd="$v='$val' $cmd"
done
pv() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo none; }
# VS_BENCH_COMMIT: the commit of a tree exported with git archive (no .git)
commit=${VS_BENCH_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo none)}
dirty=$(git --no-optional-locks status --porcelain -- lib cmd 2>/dev/null | awk '{ print $2 }' | tr '\n' ' ')
report=$tmp/report
{
echo "== hnsw $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $commit," \
     "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) at the start; M=$M ef_construction=$EFC k=10, L2"
echo "command: $cmd"
[ -n "$dirty" ] && echo "built from a working tree with uncommitted changes in: $dirty"
echo "peers: libhnswlib-dev $(pv libhnswlib-dev) (native driver, ${CXX:-g++} -O3 -march=native)," \
     "python3-hnswlib $(pv python3-hnswlib), python3-faiss $(pv python3-faiss)$([ "$PEERS" = 1 ] || echo ' (Python peers skipped)')"
} > "$report"

# The reporter: one set's tables (set NAME ROWS D NQ NOTE) and, at the end,
# the equal-recall and build summaries (summary). It reads the "key value"
# files $tmp/NAME.{ours,peer,py} and keeps each set's figures in NAME.json.
cat > "$tmp/report.py" <<'PYEOF'
import json, math, os, sys
tmp = os.environ["HNSW_TMP"]
ENGINES = ["ours", "ours-sq8", "hnswlib", "pyhnswlib", "faiss"]


def keys(path, split_engine):
    out = {}
    if not os.path.exists(path):
        return out
    for line in open(path):
        p = line.split()
        if len(p) != 2:
            continue
        k, v = p
        eng = None
        if "." in k:
            eng, k = k.split(".", 1)
        out.setdefault(eng if split_engine or eng else None, {})[k] = v
    return out


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def fmt(v, spec="%.2f"):
    return "-" if v is None else spec % v


def ratio(a, b):
    return None if a is None or b is None or b <= 0 else a / b


def load_set(name):
    ours = keys(f"{tmp}/{name}.ours", False)
    e = {"ours": ours.get(None, {}), "ours-sq8": ours.get("sq8", {}),
         "hnswlib": keys(f"{tmp}/{name}.peer", False).get(None, {})}
    e.update({k: v for k, v in keys(f"{tmp}/{name}.py", True).items() if k})
    return e


def curve(kv, efs):
    pts = []
    for ef in efs:
        r, c = num(kv.get(f"ef{ef}_recall")), num(kv.get(f"ef{ef}_cpuqps1"))
        if r is not None and c:
            pts.append((ef, r, c))
    return pts


def at_recall(pts, target):
    """(qps, text): interpolated between the first two successive ef that
    bracket target, log-linear in QPS, linear in recall."""
    if not pts:
        return None, "-"
    if pts[0][1] >= target:
        return pts[0][2], "ef%s>=" % pts[0][0]
    for (e1, r1, q1), (e2, r2, q2) in zip(pts, pts[1:]):
        if r1 < target <= r2:
            f = (target - r1) / (r2 - r1)
            return math.exp(math.log(q1) + f * (math.log(q2) - math.log(q1))), "ef%s-%s" % (e1, e2)
    return None, "not reached"


def set_report(name, rows, d, nq, note):
    efs = os.environ["SET_EFS"].split()
    e = load_set(name)
    o, h = e["ours"], e["hnswlib"]
    P = print
    P()
    P(f"-- {name}: {rows} x {d}, {nq} queries{note}")
    P("build: seconds on 1 and 2 threads; cores = process CPU seconds / wall seconds (what the")
    P("build actually got on the shared machine); load = 1-minute average before/after")
    P("%-10s %9s %5s %11s %9s %5s %11s %6s %8s %8s" % ("engine", "build1_s", "cores", "load1",
      "build2_s", "cores", "load2", "2t/1t", "ours/t1", "ours/t2"))
    o1, o2 = num(o.get("build_s_t1")), num(o.get("build_s_t2"))
    for eng in ("ours", "hnswlib", "pyhnswlib", "faiss"):
        kv = e.get(eng, {})
        b1, b2 = num(kv.get("build_s_t1")), num(kv.get("build_s_t2"))
        if b1 is None and b2 is None:
            continue
        c1, c2 = num(kv.get("build_cpu_s_t1")), num(kv.get("build_cpu_s_t2"))
        P("%-10s %9s %5s %11s %9s %5s %11s %6s %8s %8s" % (
            eng, fmt(b1, "%.2f"), fmt(ratio(c1, b1)), kv.get("build_load_t1", "-"),
            fmt(b2, "%.2f"), fmt(ratio(c2, b2)), kv.get("build_load_t2", "-"),
            fmt(ratio(b1, b2)), fmt(ratio(b1, o1)), fmt(ratio(b2, o2))))
    P("ours/t1, ours/t2: build throughput of ours over this engine's (goal vs hnswlib >= 1.0);"
      " 2t/1t of ours: goal >= 1.8")
    P("memory, bytes per vector:")
    P("  graph  ours: on disk %s (graph format 2: Rice-coded blocks of 64 nodes), after open %s, after the queries %s,"
      " every block decoded %s (incl. the on-disk copy)" % (o.get("disk_bpv", "-"),
      o.get("mem_open_bpv", "-"), o.get("mem_query_bpv", "-"), o.get("mem_bpv", "-")))
    P("         hnswlib: in memory %s (links of every level), in its file %s (vectors and labels"
      " subtracted); faiss: in memory %s (neighbours, offsets, levels)" % (
      h.get("mem_bpv", "-"), h.get("graph_file_bpv", "-"), e.get("faiss", {}).get("mem_bpv", "-")))
    P("  vectors  ours: float32 %s, kept by the segment beside the graph (sq8 codes: %s more);"
      " hnswlib: %s + %s label inline; faiss: %s" % (o.get("vec_bpv", "-"),
      e["ours-sq8"].get("code_bpv", "-"), h.get("vec_bpv", "-"), h.get("label_bpv", "-"),
      o.get("vec_bpv", "-")))
    P("search: qps1 = queries per wall second on 1 thread, cpuqps1 = per CPU second of the querying")
    P("thread (steady under load), qps2 = wall on 2 threads; p50/p99 of single queries (Python")
    P("peers: one query per call, Python included); ours/this compares cpuqps1")
    P("%-5s %-10s %7s %8s %8s %8s %9s %9s %9s" % ("ef", "engine", "recall", "qps1", "cpuqps1",
      "qps2", "p50_us", "p99_us", "ours/this"))
    for ef in efs:
        oc = num(o.get(f"ef{ef}_cpuqps1"))
        for eng in ENGINES:
            kv = e.get(eng, {})
            r = kv.get(f"ef{ef}_recall")
            if r is None:
                continue
            P("%-5s %-10s %7s %8s %8s %8s %9s %9s %9s" % (ef, eng, r, kv.get(f"ef{ef}_qps1", "-"),
              kv.get(f"ef{ef}_cpuqps1", "-"), kv.get(f"ef{ef}_qps2", "-"),
              kv.get(f"ef{ef}_p50_us", "-"), kv.get(f"ef{ef}_p99_us", "-"),
              fmt(ratio(oc, num(kv.get(f"ef{ef}_cpuqps1"))))))
    fl = e.get("faissflat", {})
    if "exact_recall" in fl:
        P("exact   faiss IndexFlatL2: recall %s, qps1 %s, cpuqps1 %s, qps2 %s, p50 %s us, p99 %s us" % (
          fl["exact_recall"], fl.get("exact_qps1"), fl.get("exact_cpuqps1"), fl.get("exact_qps2"),
          fl.get("exact_p50_us"), fl.get("exact_p99_us")))
    for eng in ("pyhnswlib", "faiss"):
        if e.get(eng, {}).get("missing"):
            P(f"{eng}: not installed")
    json.dump({"rows": rows, "d": d, "nq": nq, "efs": efs, "engines": e},
              open(f"{tmp}/{name}.json", "w"))


def summary():
    sets = [s for s in os.environ["DONE"].split() if os.path.exists(f"{tmp}/{s}.json")]
    P = print
    P()
    P("== summary: queries per CPU second of the querying thread (1 thread) at equal recall@10,")
    P("interpolated between the two ef that bracket it (log-linear in QPS, linear in recall);")
    P("'efA>=' = already reached at the lowest ef (the figure is that ef's, a lower bound);")
    P("x/hnswlib and x/faiss: this engine over native hnswlib and over faiss IndexHNSWFlat")
    P("(goals for ours: >= 1.2 and >= 3 at both recalls on every set)")
    P("%-16s %-10s %9s %-12s %9s %8s %9s %-12s %9s %8s" % ("set", "engine", "qps@0.95", "ef",
      "x/hnswlib", "x/faiss", "qps@0.99", "ef", "x/hnswlib", "x/faiss"))
    for s in sets:
        js = json.load(open(f"{tmp}/{s}.json"))
        e, efs = js["engines"], js["efs"]
        res = {eng: [at_recall(curve(e.get(eng, {}), efs), t) for t in (0.95, 0.99)]
               for eng in ENGINES}
        for eng in ENGINES:
            if not curve(e.get(eng, {}), efs):
                continue
            cols = []
            for i in range(2):
                q, how = res[eng][i]
                cols += [fmt(q, "%.0f"), how, fmt(ratio(q, res["hnswlib"][i][0])),
                         fmt(ratio(q, res["faiss"][i][0]))]
            P("%-16s %-10s %9s %-12s %9s %8s %9s %-12s %9s %8s" % tuple([s, eng] + cols))
    P()
    P("== summary: build seconds (wall) on 1 and 2 threads; cores = CPU s / wall s of the 2-thread build")
    P("%-16s %8s %8s %6s %6s %9s %9s %9s %8s %8s %8s %8s %11s" % ("set", "ours_t1", "ours_t2",
      "2t/1t", "cores", "cpu1/cpu2", "hnswl_t1", "hnswl_t2", "x/hnsw1", "x/hnsw2", "faiss_t1", "x/faiss1",
      "load2"))
    for s in sets:
        e = json.load(open(f"{tmp}/{s}.json"))["engines"]
        o, h, f = e["ours"], e["hnswlib"], e.get("faiss", {})
        g = lambda kv, k: num(kv.get(k))
        P("%-16s %8s %8s %6s %6s %9s %9s %9s %8s %8s %8s %8s %11s" % (
            s, fmt(g(o, "build_s_t1")), fmt(g(o, "build_s_t2")),
            fmt(ratio(g(o, "build_s_t1"), g(o, "build_s_t2"))),
            fmt(ratio(g(o, "build_cpu_s_t2"), g(o, "build_s_t2"))),
            fmt(ratio(g(o, "build_cpu_s_t1"), g(o, "build_cpu_s_t2"))),
            fmt(g(h, "build_s_t1")), fmt(g(h, "build_s_t2")),
            fmt(ratio(g(h, "build_s_t1"), g(o, "build_s_t1"))),
            fmt(ratio(g(h, "build_s_t2"), g(o, "build_s_t2"))),
            fmt(g(f, "build_s_t1")), fmt(ratio(g(f, "build_s_t1"), g(o, "build_s_t1"))),
            o.get("build_load_t2", "-")))
    P("(x/hnsw1, x/hnsw2, x/faiss1: build throughput of ours over the peer's; goals >= 1.0 vs"
      " hnswlib at both, 2t/1t >= 1.8; cores: how much of 2 cores the 2-thread build got;"
      " cpu1/cpu2: CPU seconds of the 1-thread build over the 2-thread one's, 1.00 = the"
      " threads added no work, spinning included)")


if sys.argv[1] == "set":
    set_report(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6])
else:
    summary()
PYEOF
export HNSW_TMP="$tmp"
DONE=""

one() { # one NAME D NOTE [EFS]: data in $tmp/NAME.{x,q}
    name=$1 d=$2 note=${3:-} efs=${4:-$EFS}
    t0=$(date +%s)
    "$B" truth "$tmp/$name.x" "$tmp/$name.q" "$d" 10 "$tmp/$name.t"
    rows=$(( $(wc -c < "$tmp/$name.x") / (4 * d) ))
    nq=$(( $(wc -c < "$tmp/$name.q") / (4 * d) ))
    # shellcheck disable=SC2086
    "$B" run "$tmp/$name.x" "$tmp/$name.q" "$tmp/$name.t" "$d" $M $EFC $efs > "$tmp/$name.ours"
    if [ -n "$peer" ]; then
        # shellcheck disable=SC2086
        "$peer" "$tmp/$name.x" "$tmp/$name.q" "$tmp/$name.t" "$d" $M $EFC $efs > "$tmp/$name.peer" ||
            echo "$name: the native hnswlib driver failed" >> "$report"
    fi
    if [ "$PEERS" = 1 ]; then
        # shellcheck disable=SC2086
        OMP_NUM_THREADS=2 $PY bench/hnsw_peers.py "$tmp/$name.x" "$tmp/$name.q" \
            "$tmp/$name.t" "$d" $M $EFC $efs > "$tmp/$name.py" ||
            echo "$name: bench/hnsw_peers.py failed" >> "$report"
    fi
    SET_EFS=$efs $PY "$tmp/report.py" set "$name" "$rows" "$d" "$nq" "$note" >> "$report"
    echo "($name: $(( $(date +%s) - t0 )) s for the exact truth and every engine, load $(cut -d' ' -f1 /proc/loadavg) at the end)" >> "$report"
    DONE="$DONE $name"
}

case " $SETS " in *" synth "*)
    "$B" gen "$N" 128 1 "$tmp/synth.x"
    "$B" gen "$NQ" 128 2 "$tmp/synth.q"
    one synth 128 " (Gaussian mixture, hnsw_bench gen $N 128 1 / gen $NQ 128 2)"
    "$B" filter "$tmp/synth.x" "$tmp/synth.q" 128 $M $EFC 64 > "$tmp/filter"
    # shellcheck disable=SC2086
    "$B" quant "$tmp/synth.x" "$tmp/synth.q" "$tmp/synth.t" 128 $M $EFC $EFS > "$tmp/quant"
    {
    echo "vector codes (synth, another 2-thread build; graph walked with the codes, the ef best"
    echo "re-scored from float32; qps1 here is queries per CPU second on 1 thread):"
    printf '%-5s %-7s %7s %9s %8s %9s %9s\n' ef codes recall "d_recall" qps1 "qps/f32" "bytes/vec"
    val() { awk -v k="$2" '$1 == k { print $2; exit }' "$1"; }
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a == a + 0) printf "%.2f", a / b; else printf "n/a" }'; }
    for ef in $EFS; do
        rf=$(val "$tmp/quant" "none.ef${ef}_recall") qf=$(val "$tmp/quant" "none.ef${ef}_qps1")
        for k in none f16 sq8 binary; do
            r=$(val "$tmp/quant" "$k.ef${ef}_recall") q1=$(val "$tmp/quant" "$k.ef${ef}_qps1")
            printf '%-5s %-7s %7s %9s %8s %9s %9s\n' "$ef" "$k" "$r" \
                "$(awk -v a="$r" -v b="$rf" 'BEGIN { printf "%+.4f", a - b }')" "$q1" \
                "$(ratio "$q1" "$qf")" "$(val "$tmp/quant" "$k.code_bpv")"
        done
    done
    echo "code bytes / float32 bytes: f16 $(ratio "$(val "$tmp/quant" f16.code_bpv)" "$(val "$tmp/quant" none.code_bpv)")," \
         "sq8 $(ratio "$(val "$tmp/quant" sq8.code_bpv)" "$(val "$tmp/quant" none.code_bpv)")," \
         "binary $(ratio "$(val "$tmp/quant" binary.code_bpv)" "$(val "$tmp/quant" none.code_bpv)")"
    echo "filtered (synth, ef 64, 2-thread build; exact scan below 5% admitted):"
    printf '%-8s %7s %8s %7s %7s\n' "admit%" recall qps1 short exactq
    for s in 50 10 1 0.1; do
        printf '%-8s %7s %8s %7s %7s\n' "$s" "$(val "$tmp/filter" "sel${s}_recall")" \
            "$(val "$tmp/filter" "sel${s}_qps1")" "$(val "$tmp/filter" "sel${s}_short")" \
            "$(val "$tmp/filter" "sel${s}_exact")"
    done
    } >> "$report"
    rm -f "$tmp/synth.x"
;; esac

fm=/usr/share/datasets/fashion-mnist
case " $SETS " in *" fmnist "*)
    if [ -f "$fm/train-images-idx3-ubyte.gz" ]; then
        $PY - "$fm" "$tmp" "$MN" "$MNQ" <<'PYEOF'
import gzip, sys
import numpy as np
fm, tmp, n, nq = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def idx(p):
    b = gzip.open(p).read()
    return np.frombuffer(b, dtype=np.uint8, offset=16).reshape(-1, 784).astype(np.float32)
idx(fm + "/train-images-idx3-ubyte.gz")[:n].tofile(tmp + "/fmnist.x")
idx(fm + "/t10k-images-idx3-ubyte.gz")[:nq].tofile(tmp + "/fmnist.q")
PYEOF
        if [ "$MNQ" -lt 10000 ]; then
            fnote=", the first $MNQ of the 10000 test images (HNSW_MNIST_NQ=10000 for the whole split)"
        else
            fnote=""
        fi
        one fmnist 784 " (Fashion-MNIST train / t10k, pixel values 0-255$fnote)"
        rm -f "$tmp/fmnist.x"
    else
        echo "fmnist: skipped (apt-get install dataset-fashion-mnist)" >> "$report"
    fi
;; esac

sf=$DATA/datasets/scifact
case " $SETS " in *" scifact "*)
    for model in $SFMODELS; do
        tag=$(echo "$model" | tr -cd 'a-z0-9')
        name=scifact-$tag
        c=$cache/$name
        if [ ! -f "$sf/corpus.jsonl" ]; then
            echo "$name: skipped (no $sf)" >> "$report"
            continue
        fi
        if [ ! -f "$c.done" ]; then
            # title and abstract, as vs-chunk would give them whole
            if ! $PY - "$sf" "$tmp" <<'PYEOF'
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
            then
                echo "$name: skipped (could not read $sf)" >> "$report"
                continue
            fi
            if ! "$build/bin/vs-embed" -q --keep-going --model "$model" "$tmp/sf_c.in" > "$tmp/sf_c.jsonl" ||
               ! "$build/bin/vs-embed" -q --model "$model" --as query "$tmp/sf_q.in" > "$tmp/sf_q.jsonl"; then
                echo "$name: skipped (vs-embed --model $model failed; for use-lite: scripts/get-model.sh use-lite)" >> "$report"
                continue
            fi
            $PY - "$tmp" "$c" <<'PYEOF'
import json, sys
import numpy as np
t, c = sys.argv[1], sys.argv[2]
for src, dst in (("sf_c.jsonl", ".x"), ("sf_q.jsonl", ".q")):
    v = np.asarray([json.loads(l)["vector"] for l in open(t + "/" + src)], dtype=np.float32)
    v.tofile(c + dst)
    open(c + ".d", "w").write("%d\n" % v.shape[1])
PYEOF
            : > "$c.done"
        fi
        cp "$c.x" "$tmp/$name.x"
        cp "$c.q" "$tmp/$name.q"
        if [ "$model" = hash ]; then
            what="vs-embed hash embedder, not a neural model"
        else
            what="vs-embed --model $model"
        fi
        one "$name" "$(cat "$c.d")" " (title + abstract; queries with --as query; $what; cached in $c.*)" "$SFEFS"
        rm -f "$tmp/$name.x"
    done
;; esac

DONE=$DONE $PY "$tmp/report.py" summary >> "$report"
echo "elapsed $(( $(date +%s) - start )) s; load at the end $(cut -d' ' -f1-3 /proc/loadavg)" >> "$report"
cat "$report"
cat "$report" >> "$RESULTS"
