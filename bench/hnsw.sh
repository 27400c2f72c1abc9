#!/bin/sh
# bench/hnsw.sh [BUILD_DIR]: approximate search (HNSW) against the peers.
#
# Engines, all with M=16, ef_construction=200, k=10, L2:
#   ours       lib/hnsw.c through bench/hnsw_bench.c (BUILD_DIR/libvecstore.a)
#   hnswlib    Debian's libhnswlib-dev headers in our driver bench/hnsw_peer.cpp,
#              compiled with -O3 -march=native
#   pyhnswlib  Debian's python3-hnswlib  } bench/hnsw_peers.py (build on 2
#   faiss      Debian's python3-faiss    }  threads, queries on 1 thread)
# Data (ground truth by exact search):
#   synth      Gaussian mixture, HNSW_N rows (default 100000) x 128, fixed seeds
#   fmnist     Fashion-MNIST 784-d (dataset-fashion-mnist): train / test split,
#              first HNSW_MNIST_N (60000) rows and HNSW_MNIST_NQ (1000) queries
#   scifact    SciFact corpus and queries, 384-d hash vectors from vs-embed
#              ($VS_DATA or ../shared/data; skipped when absent)
# Queries: HNSW_NQ (default 1000). ef values: HNSW_EFS (16 32 64 128 256).
# HNSW_PEERS=0 skips the Python peers. Per engine and ef: recall@10, QPS on
# 1 and 2 threads, p50/p99 single-query latency; build time on 1 and 2
# threads; graph bytes per vector on disk and in memory. Then filtered
# search and vector codes (f16, sq8, binary) on synth. HNSW_SETS (default
# "synth fmnist scifact") picks the data sets after synth, which always runs.
# The table is printed and appended to bench/results/hnsw.txt.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
PY=/usr/bin/python3
N=${HNSW_N:-100000}
NQ=${HNSW_NQ:-1000}
MN=${HNSW_MNIST_N:-60000}
MNQ=${HNSW_MNIST_NQ:-1000}
EFS=${HNSW_EFS:-16 32 64 128 256}
PEERS=${HNSW_PEERS:-1}
SETS=${HNSW_SETS:-synth fmnist scifact}
DATA=${VS_DATA:-../shared/data}
M=16
EFC=200
if [ ! -f "$build/libvecstore.a" ] || [ ! -x "$build/bin/vs-embed" ]; then
    echo "hnsw.sh: $build/libvecstore.a or $build/bin/vs-embed not found (make BUILD=$build)" >&2
    exit 2
fi
mkdir -p "$build/bench" bench/results
pkgs="jansson libzstd libxxhash libutf8proc yaml-0.1 libcurl libxml-2.0"
pkg-config --exists poppler-glib 2>/dev/null && pkgs="$pkgs poppler-glib"
# shellcheck disable=SC2046
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Ilib -fopenmp -o "$build/bench/hnsw_bench" \
    bench/hnsw_bench.c "$build/libvecstore.a" $(pkg-config --libs $pkgs) \
    -lstemmer -lmd4c -lopenblas -lm -lpthread
peer=""
if [ -f /usr/include/hnswlib/hnswlib.h ]; then
    ${CXX:-g++} -O3 -march=native -fopenmp -o "$build/bench/hnsw_peer" bench/hnsw_peer.cpp -lzstd
    peer=$build/bench/hnsw_peer
fi
B=$build/bench/hnsw_bench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

val() { awk -v k="$2" '$1 == k { print $2; exit }' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a == a + 0) printf "%.2f", a / b; else printf "n/a" }'; }

report=$tmp/report
{
echo "== hnsw $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $(git rev-parse --short HEAD 2>/dev/null || echo none)," \
     "$(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg); M=$M ef_construction=$EFC k=10, L2"
} > "$report"

one() { # one NAME D: data in $tmp/NAME.{x,q,t}
    name=$1 d=$2
    "$B" truth "$tmp/$name.x" "$tmp/$name.q" "$d" 10 "$tmp/$name.t"
    rows=$(( $(wc -c < "$tmp/$name.x") / (4 * d) ))
    nq=$(( $(wc -c < "$tmp/$name.q") / (4 * d) ))
    # shellcheck disable=SC2086
    "$B" run "$tmp/$name.x" "$tmp/$name.q" "$tmp/$name.t" "$d" $M $EFC $EFS > "$tmp/ours"
    : > "$tmp/peer"
    # shellcheck disable=SC2086
    [ -n "$peer" ] && "$peer" "$tmp/$name.x" "$tmp/$name.q" "$tmp/$name.t" "$d" $M $EFC $EFS > "$tmp/peer"
    : > "$tmp/py"
    # shellcheck disable=SC2086
    [ "$PEERS" = 1 ] && OMP_NUM_THREADS=2 $PY bench/hnsw_peers.py "$tmp/$name.x" "$tmp/$name.q" \
        "$tmp/$name.t" "$d" $M $EFC 2 $EFS > "$tmp/py"
    {
    echo
    echo "-- $name: $rows x $d, $nq queries"
    printf '%-10s %8s %8s %8s\n' engine build1_s build2_s "2t/1t"
    o1=$(val "$tmp/ours" build_s_t1) o2=$(val "$tmp/ours" build_s_t2)
    p1=$(val "$tmp/peer" build_s_t1) p2=$(val "$tmp/peer" build_s_t2)
    printf '%-10s %8s %8s %8s\n' ours "$o1" "$o2" "$(ratio "$o1" "$o2")"
    printf '%-10s %8s %8s %8s\n' hnswlib "$p1" "$p2" "$(ratio "$p1" "$p2")"
    echo "build throughput ours/hnswlib: 1 thread $(ratio "$p1" "$o1"), 2 threads $(ratio "$p2" "$o2")"
    echo "python peers, build on 2 threads: pyhnswlib $(val "$tmp/py" pyhnswlib.build_s_t2) s, faiss $(val "$tmp/py" faiss.build_s_t2) s"
    echo "graph bytes/vector: ours on disk $(val "$tmp/ours" disk_bpv) (zstd, varint), in memory $(val "$tmp/ours" mem_bpv) (all blocks decoded, incl. the on-disk copy);" \
         "hnswlib in memory $(val "$tmp/peer" mem_bpv), in its file $(val "$tmp/peer" graph_file_bpv) (vectors excluded)"
    echo "ours: open $(val "$tmp/ours" open_ms) ms (header + upper layers; level-0 blocks decoded on first touch);" \
         "graph memory right after open $(val "$tmp/ours" mem_open_bpv) bytes/vector"
    echo "cpuqps1: queries per CPU second of the querying thread (1 thread), which a loaded machine"
    echo "disturbs far less than wall-clock qps1; the ratio column compares cpuqps1 (python peers: qps1)"
    printf '%-5s %-10s %7s %8s %8s %8s %8s %8s %10s\n' ef engine recall qps1 cpuqps1 qps2 p50_us p99_us "ours/this"
    for ef in $EFS; do
        oq=$(val "$tmp/ours" "ef${ef}_cpuqps1")
        for e in ours hnswlib pyhnswlib faiss; do
            case $e in
                ours) f=$tmp/ours; pre="" ;;
                hnswlib) f=$tmp/peer; pre="" ;;
                *) f=$tmp/py; pre="$e." ;;
            esac
            r=$(val "$f" "${pre}ef${ef}_recall")
            [ -n "$r" ] || continue
            q1=$(val "$f" "${pre}ef${ef}_qps1")
            c1=$(val "$f" "${pre}ef${ef}_cpuqps1")
            printf '%-5s %-10s %7s %8s %8s %8s %8s %8s %10s\n' "$ef" "$e" "$r" "$q1" "${c1:--}" \
                "$(val "$f" "${pre}ef${ef}_qps2")" "$(val "$f" "${pre}ef${ef}_p50_us")" \
                "$(val "$f" "${pre}ef${ef}_p99_us")" "$(ratio "$oq" "${c1:-$q1}")"
        done
    done
    } >> "$report"
}

"$B" gen "$N" 128 1 "$tmp/synth.x"
"$B" gen "$NQ" 128 2 "$tmp/synth.q"
one synth 128
"$B" filter "$tmp/synth.x" "$tmp/synth.q" 128 $M $EFC 64 > "$tmp/filter"
# shellcheck disable=SC2086
"$B" quant "$tmp/synth.x" "$tmp/synth.q" "$tmp/synth.t" 128 $M $EFC $EFS > "$tmp/quant"
{
echo "vector codes (synth, 2-thread build; graph walked with the codes, the ef best re-scored from float32;"
echo "qps1 here is queries per CPU second on 1 thread):"
printf '%-5s %-7s %7s %9s %8s %9s %9s\n' ef codes recall "d_recall" qps1 "qps/f32" "bytes/vec"
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
} >> "$report"
{
echo "filtered (synth, ef 64, 2-thread build; exact scan below 5% admitted):"
printf '%-8s %7s %8s %7s %7s\n' "admit%" recall qps1 short exactq
for s in 50 10 1 0.1; do
    printf '%-8s %7s %8s %7s %7s\n' "$s" "$(val "$tmp/filter" "sel${s}_recall")" \
        "$(val "$tmp/filter" "sel${s}_qps1")" "$(val "$tmp/filter" "sel${s}_short")" \
        "$(val "$tmp/filter" "sel${s}_exact")"
done
} >> "$report"

fm=/usr/share/datasets/fashion-mnist
if [ "${SETS#*fmnist}" = "$SETS" ]; then
    :
elif [ -f "$fm/train-images-idx3-ubyte.gz" ]; then
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
    one fmnist 784
else
    echo "fmnist: skipped (apt-get install dataset-fashion-mnist)" >> "$report"
fi

sf=$DATA/datasets/scifact
if [ "${SETS#*scifact}" = "$SETS" ]; then
    :
elif [ -f "$sf/corpus.jsonl" ]; then
    "$build/bin/vs-embed" -q --keep-going "$sf/corpus.jsonl" > "$tmp/sf_c.jsonl"
    head -n "$NQ" "$sf/queries.jsonl" | "$build/bin/vs-embed" -q > "$tmp/sf_q.jsonl"
    $PY - "$tmp" <<'PYEOF'
import json, sys
import numpy as np
t = sys.argv[1]
for src, dst in (("sf_c.jsonl", "scifact.x"), ("sf_q.jsonl", "scifact.q")):
    v = [json.loads(l)["vector"] for l in open(t + "/" + src)]
    np.asarray(v, dtype=np.float32).tofile(t + "/" + dst)
PYEOF
    one scifact 384
else
    echo "scifact: skipped (no $sf)" >> "$report"
fi

cat "$report"
cat "$report" >> bench/results/hnsw.txt
