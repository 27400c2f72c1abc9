#!/bin/sh
# bench/scale.sh [BUILD_DIR]: how the cost grows with the rows, one store
# per set of SCALE_SETS (default "10000x128 100000x128 300000x128
# 1000000x128 10000000x16", ROWSxDIM, the Gaussian mixture of
# bench/hnsw.sh: hnsw_bench gen, rows from seed 1, SCALE_NQ queries (default
# 1000) from seed 2, exact top 10 by hnsw_bench truth), HNSW M=16,
# ef_construction=200, built through the programs (vs-index create,
# vs-ingest of the rows as NDJSON). Per set:
#   - build: vs-ingest's wall and CPU seconds (user + system, so a loaded
#     machine shows in wall, not in CPU), CPU microseconds per vector, and
#     its peak resident memory;
#   - bytes per vector on disk: the store, its graph section, its vectors;
#   - queries (bench/scale_query.c: the library's query path as vs-query
#     runs it, one thread, without process start and output): recall@10 and
#     CPU microseconds per query for each ef of SCALE_EFS, interpolated at
#     recall@10 = 0.95 (log-linear in time between the two ef that bracket
#     it; "-" when no ef reaches it), and the exact scan's time;
#   - memory after the queries: private (RssAnon) and mapped-file (RssFile)
#     bytes per vector of that process;
#   - cold open: a new `vs-query -k 10` process on one query, start to exit,
#     SCALE_COLD_RUNS times (default 5), run by bench/cold_time.c: min and
#     median of its wall ms (which a loaded machine stretches) and of its
#     CPU ms (user + system of that process, getrusage: what the open
#     costs whatever the load), and the median of its minor and major page
#     faults (the page cache is warm, as in bench/cold.sh: the machine is
#     shared, we do not drop it).
# Graph order (format 3) against the rows as inserted: bench/scale_order.c on
# SCALE_ORDER (default 100000x128, "" for none): one graph, its bytes per
# vector in each numbering and queries per CPU second at SCALE_ORDER_EFS
# (default "32 64 128"), alternated in one process; the graph as inserted
# is kept in SCALE_DIR.
# 10M rows at low dimension (10000000x16, the issue's "if it fits in 24 GiB":
# about 3,500 CPU s of build, vs-ingest's peak RSS 6.1 GiB): a set whose
# build would not fit in the memory available is skipped with a message.
# Everything runs under nice (10: do not wrap the script in another nice,
# which would take it to 19; SCALE_NICE="" runs it at the caller's
# priority, for a long set on a machine others are loading). Stores are kept in SCALE_DIR (default
# BUILD_DIR/bench/scale) and reused (a 1M build takes tens of minutes on a
# shared machine); remove it after changing the segment format.
# Resumable: a set's results are written as soon as it is measured
# (SCALE_DIR/s-ROWS-DIM.row, its TSV row with the commit and date, and
# .queries, its per-ef lines), and a set whose .row exists is not measured
# again (a message says so; delete the .row, or SCALE_FORCE=1, to measure
# again: the store is kept, only the queries and cold opens are rerun; a
# .row of an older scale.sh, with other columns, is measured again); the graph-order comparison likewise keeps
# SCALE_DIR/order-ROWS-DIM.txt. After each set, bench/results/scale.tsv is
# rewritten with the row of every set measured in SCALE_DIR (so a run of
# SCALE_SETS=10000000x16 adds its point to the earlier ones) and
# bench/scale_plot.sh redraws one PNG per quantity into bench/results/
# (gnuplot: scripts/deps.sh --bench): a point finished before a later one
# fails is kept. At the end the table, with the date, commit, load before
# and after and the command, is printed and appended to
# bench/results/scale.txt. SCALE_RESULTS=DIR writes the three there instead.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
SETS=${SCALE_SETS:-10000x128 100000x128 300000x128 1000000x128 10000000x16}
NQ=${SCALE_NQ:-1000}
EFS=${SCALE_EFS:-10 16 24 32 48 64 96 128 192 256 384}
RUNS=${SCALE_COLD_RUNS:-5}
ORDER=${SCALE_ORDER-100000x128}
ORDER_EFS=${SCALE_ORDER_EFS:-32 64 128}
DIR=${SCALE_DIR:-$build/bench/scale}
FORCE=${SCALE_FORCE:-0}
RES=${SCALE_RESULTS:-bench/results}
PY=/usr/bin/python3
NICE=${SCALE_NICE-nice -n 10}
if [ ! -x "$build/bin/vs-query" ] || [ ! -f "$build/libvecstore.a" ]; then
    echo "scale.sh: $build/bin/vs-query not found (make BUILD=$build)" >&2
    exit 2
fi
mkdir -p "$DIR" "$build/bench" "$RES"
. bench/cc_lib.sh
bench_cc "$build" "$build/bench/hnsw_bench" bench/hnsw_bench.c
bench_cc "$build" "$build/bench/scale_query" bench/scale_query.c
bench_cc "$build" "$build/bench/scale_order" bench/scale_order.c
${CC:-cc} -std=c11 -O2 -Wall -Wextra -o "$build/bench/cold_time" bench/cold_time.c
B=$build/bench/hnsw_bench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }
load0=$(load)
start=$(date -u +%Y-%m-%dT%H:%M:%SZ)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
rows=$tmp/rows.tsv
HEADER='rows	dim	build_wall_s	build_cpu_s	build_cpu_us_per_vec	build_rss_kib	disk_B_per_vec	graph_B_per_vec	vectors_B_per_vec	ef_at_095	us_per_query_at_095	us_per_query_exact	rss_anon_B_per_vec	rss_file_B_per_vec	cold_min_ms	cold_median_ms	cold_cpu_min_ms	cold_cpu_median_ms	cold_minflt	cold_majflt	load	commit	date'
NCOL=$(printf '%s\n' "$HEADER" | awk -F'\t' '{print NF}')
# the columns of a TSV row file
ncol() { awk -F'\t' '{print NF; exit}' "$1"; }
# the TSV of every set measured in SCALE_DIR (header, then by dimension
# from the largest, then by rows), and its PNGs
collect() {
    printf '%s\n' "$HEADER" > "$rows"
    for f in "$DIR"/s-*.row; do
        [ -f "$f" ] || continue
        if [ "$(ncol "$f")" != "$NCOL" ]; then
            echo "scale.sh: $f: $(ncol "$f") columns, not $NCOL (an older scale.sh): left out, measure it again" >&2
            continue
        fi
        cat "$f"
    done | sort -t "$(printf '\t')" -k2,2nr -k1,1n >> "$rows"
    cp "$rows" "$RES/scale.tsv"
    if command -v gnuplot > /dev/null 2>&1; then
        sh bench/scale_plot.sh "$RES/scale.tsv" "$RES" > /dev/null
    fi
}

for set in $SETS; do
    n=${set%x*}
    d=${set#*x}
    st=$DIR/s-$n-$d
    if [ "$FORCE" = 1 ]; then
        rm -f "$st.row" "$st.queries"
    elif [ -f "$st.row" ] && [ "$(ncol "$st.row")" != "$NCOL" ]; then
        echo "scale.sh: $set: $st.row has $(ncol "$st.row") columns, not $NCOL (an older scale.sh): measured again" >&2
        rm -f "$st.row" "$st.queries"
    elif [ -f "$st.row" ]; then
        echo "scale.sh: $set: measured before ($st.row, commit $(cut -f22 "$st.row")): kept (delete it or SCALE_FORCE=1 to measure again)" >&2
        continue
    fi
    # memory a build needs: the rows twice (ingest and the graph builder's
    # copy), the graph (about 33 ids a node, 4 bytes each, and locks) and
    # the ingested records; vs-ingest's peak RSS measured 1,665 B a vector
    # at 1M x 128 and 658 at 10M x 16; d * 8 + 650 covers both
    need_kib=$(( (n * (d * 8 + 650)) / 1024 ))
    avail_kib=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
    if [ ! -f "$st/done" ] && [ "$need_kib" -gt $((avail_kib * 8 / 10)) ]; then
        echo "scale.sh: $set skipped: its build needs about $((need_kib / 1048576)) GiB, $((avail_kib / 1048576)) GiB are available" >&2
        continue
    fi
    [ -f "$DIR/q-$d.f32" ] || $NICE "$B" gen "$NQ" "$d" 2 "$DIR/q-$d.f32"
    if [ ! -f "$st/done" ]; then
        rm -rf "$st"
        $NICE "$B" gen "$n" "$d" 1 "$tmp/x.f32"
        $NICE "$B" truth "$tmp/x.f32" "$DIR/q-$d.f32" "$d" 10 "$st.truth"
        $NICE $PY bench/vectors_ndjson.py "$tmp/x.f32" "$d" r > "$tmp/x.ndjson"
        rm -f "$tmp/x.f32"
        "$build/bin/vs-index" -q create "$st" --metric l2 --hnsw-m 16 --ef-construction 200
        /usr/bin/time -f '%e %U %S %M' -o "$st.time" $NICE "$build/bin/vs-ingest" -q "$st" "$tmp/x.ndjson"
        rm -f "$tmp/x.ndjson"
        printf '%s\n' "$(load)" > "$st.load"
        : > "$st/done"
    fi
    "$build/bin/vs-index" info "$st" > "$tmp/info.json"
    # shellcheck disable=SC2086
    $NICE "$build/bench/scale_query" "$st" "$DIR/q-$d.f32" "$st.truth" "$d" 0 $EFS > "$tmp/q.txt"
    # one query record for the cold runs
    $PY - "$DIR/q-$d.f32" "$d" > "$tmp/q1.ndjson" <<'PYEOF'
import base64, sys
import numpy as np
v = np.fromfile(sys.argv[1], dtype="<f4").reshape(-1, int(sys.argv[2]))[0]
print('{"id":"q0","vector_b64":"%s"}' % base64.b64encode(v.tobytes()).decode())
PYEOF
    $NICE "$build/bench/cold_time" "$RUNS" "$build/bin/vs-query" -k 10 "$st" "$tmp/q1.ndjson" > "$tmp/cold.txt"
    $PY - "$n" "$d" "$st.time" "$tmp/info.json" "$tmp/q.txt" "$tmp/cold.txt" "$st.load" \
        "$commit" "$(date -u +%Y-%m-%dT%H:%MZ)" > "$tmp/row" <<'PYEOF'
import json, math, sys
n, d = int(sys.argv[1]), int(sys.argv[2])
wall, user, sys_, rss = open(sys.argv[3]).read().split()
info = json.load(open(sys.argv[4]))
sect = {}
for s in info["segments"]:
    for x in s["sections"]:
        sect[x["name"]] = sect.get(x["name"], 0) + x["bytes"]
pts, exact, anon, filek = [], None, 0, 0
for line in open(sys.argv[5]):
    f = line.split()
    if f[0] == "ef":
        ef, rec, us = int(f[1]), float(f[3]), float(f[5])
        if ef == 0:
            exact = us
        else:
            pts.append((ef, rec, us))
    elif f[0] == "rss_anon_kib":
        anon = int(f[1])
    elif f[0] == "rss_file_kib":
        filek = int(f[1])
ef95 = us95 = "-"
for (e0, r0, u0), (e1, r1, u1) in zip(pts, pts[1:]):
    if r0 < 0.95 <= r1:
        t = (0.95 - r0) / (r1 - r0)
        ef95 = "%.0f" % (e0 + t * (e1 - e0))
        us95 = "%.1f" % math.exp(math.log(u0) + t * (math.log(u1) - math.log(u0)))
        break
if ef95 == "-" and pts and pts[0][1] >= 0.95:
    ef95, us95 = str(pts[0][0]), "%.1f" % pts[0][2]
cold = dict(line.split() for line in open(sys.argv[6]))
cpu = float(user) + float(sys_)
print("\t".join(str(x) for x in [
    n, d, wall, "%.2f" % cpu, "%.1f" % (cpu * 1e6 / n), rss,
    "%.1f" % (info["bytes_on_disk"] / n), "%.1f" % (sect.get("hnsw", 0) / n),
    "%.1f" % (sect.get("vectors", 0) / n), ef95, us95, "%.1f" % exact,
    "%.1f" % (anon * 1024.0 / n), "%.1f" % (filek * 1024.0 / n),
    "%.1f" % float(cold["wall_min_ms"]), "%.1f" % float(cold["wall_median_ms"]),
    "%.1f" % float(cold["cpu_min_ms"]), "%.1f" % float(cold["cpu_median_ms"]),
    cold["minflt_median"], cold["majflt_median"],
    open(sys.argv[7]).read().split()[0], sys.argv[8], sys.argv[9]]))
PYEOF
    sed 's/^/# /' "$tmp/q.txt" > "$st.queries"
    mv "$tmp/row" "$st.row"
    collect
    echo "scale.sh: $set measured: $RES/scale.tsv and its PNGs updated" >&2
done
collect
if [ -n "$ORDER" ]; then
    n=${ORDER%x*}
    d=${ORDER#*x}
    ord=$DIR/order-$n-$d
    [ "$FORCE" = 1 ] && rm -f "$ord.txt"
    if [ -f "$ord.txt" ]; then
        echo "scale.sh: graph order $ORDER: measured before ($ord.txt): kept" >&2
    else
        [ -f "$DIR/q-$d.f32" ] || $NICE "$B" gen "$NQ" "$d" 2 "$DIR/q-$d.f32"
        $NICE "$B" gen "$n" "$d" 1 "$tmp/x.f32"
        [ -f "$ord.truth" ] || $NICE "$B" truth "$tmp/x.f32" "$DIR/q-$d.f32" "$d" 10 "$ord.truth"
        # shellcheck disable=SC2086
        $NICE "$build/bench/scale_order" "$tmp/x.f32" "$DIR/q-$d.f32" "$ord.truth" "$d" \
            "$ord.graph" $ORDER_EFS | sed 's/^/# /' > "$tmp/order.txt"
        echo "# commit $commit, $(date -u +%Y-%m-%dT%H:%MZ), efs $ORDER_EFS" >> "$tmp/order.txt"
        mv "$tmp/order.txt" "$ord.txt"
        rm -f "$tmp/x.f32"
    fi
fi
load1=$(load)
{
    echo "== scale: $start, commit $commit, load $load0 before, $load1 after (1, 5, 15 min)"
    echo "command: SCALE_DIR=\"$DIR\" SCALE_SETS=\"$SETS\" SCALE_NQ=$NQ SCALE_EFS=\"$EFS\" SCALE_COLD_RUNS=$RUNS SCALE_ORDER=\"$ORDER\" SCALE_ORDER_EFS=\"$ORDER_EFS\" bench/scale.sh $build"
    echo "M 16, ef_construction 200, k 10; query times are CPU of the querying thread; cold: a new vs-query process on one query, $RUNS runs (bench/cold_time.c), min and median of wall and of CPU (user + system) ms, median minor and major page faults; load column: 1-min load when the store was built; every set measured in $DIR (commit and date: when that row was measured)"
    column -t -s "$(printf '\t')" "$rows"
    # in the table's order
    for f in $(awk -F'\t' -v dir="$DIR" 'NR > 1 {print dir "/s-" $1 "-" $2 ".queries"}' "$rows"); do
        [ -f "$f" ] || continue
        set=$(basename "$f" .queries | sed 's/^s-//; s/-/x/')
        echo "-- $set: per ef (ef 0 = exact scan)"
        cat "$f"
    done
    if [ -n "$ORDER" ]; then
        echo "-- graph order against rows as inserted, $ORDER (bench/scale_order.c, one graph, alternated passes, best of 3)"
        cat "$DIR/order-${ORDER%x*}-${ORDER#*x}.txt"
    fi
    echo
} | tee -a "$RES/scale.txt"
if command -v gnuplot > /dev/null 2>&1; then
    echo "scale.sh: $RES/scale.tsv, scale_query.png scale_build.png scale_memory.png scale_cold.png scale_bytes.png"
else
    echo "scale.sh: gnuplot not found (scripts/deps.sh --bench): no plots" >&2
    exit 1
fi
