#!/bin/sh
# bench/scale_plot.sh TSV OUTDIR: the PNGs of bench/scale.sh's table (one
# per quantity, rows on a log axis) with gnuplot (scripts/deps.sh --bench):
#   scale_query.png   CPU microseconds per query at recall@10 0.95 (graph)
#                     and of the exact scan
#   scale_build.png   build CPU microseconds per vector
#   scale_memory.png  resident bytes per vector after the queries: private
#                     and mapped file
#   scale_cold.png    cold open, a new vs-query process on one query, start
#                     to exit: min/median wall ms and CPU (user + system)
#                     ms on the left axis, median minor and major page
#                     faults on the right (log) axis
#   scale_bytes.png   bytes per vector on disk: store, graph, vectors
# Each dimension in the TSV is its own set of lines, labelled with it (e.g.
# 128-d from 10k to 1M and 16-d at 10M: like is compared with like along a
# line); SCALE_PLOT_DIM=D draws only the rows of dimension D.
set -eu
tsv=$1
out=$2
if [ ! -s "$tsv" ]; then
    echo "scale_plot.sh: $tsv is empty" >&2
    exit 2
fi
mkdir -p "$out"
dims=${SCALE_PLOT_DIM:-$(awk -F'\t' 'NR > 1 {print $2}' "$tsv" | sort -nru | tr '\n' ' ')}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for dim in $dims; do
    # "-" (not measured, or recall 0.95 not reached) is NaN to gnuplot
    awk -F'\t' -v OFS='\t' -v d="$dim" 'NR > 1 && $2 == d {
        for (i = 1; i <= NF; i++) if ($i == "-") $i = "NaN"
        print }' "$tsv" > "$work/$dim.dat"
done
if [ -z "$dims" ] || [ ! -s "$work/${dims%% *}.dat" ]; then
    echo "scale_plot.sh: no rows of dimension ${dims:-any} in $tsv" >&2
    exit 2
fi
# columns: 1 rows, 2 dim, 3 build wall s, 4 build cpu s, 5 build cpu us/vec,
# 6 build rss KiB, 7 disk B/vec, 8 graph B/vec, 9 vectors B/vec, 10 ef@0.95,
# 11 us/query@0.95, 12 us/query exact, 13 anon B/vec, 14 file B/vec,
# 15 cold min ms, 16 cold median ms, 17 cold CPU min ms, 18 cold CPU
# median ms, 19 cold minor faults, 20 cold major faults, 21 load, 22 commit,
# 23 date
# lines COLUMN:TITLE...: the plot clauses, one per dimension and line
lines() {
    sep=
    for dim in $dims; do
        for l in "$@"; do
            # COLUMN may end in @y2: drawn on the right axis
            c=${l%%:*}
            ax=
            case $c in *@y2) c=${c%@y2} ax=" axes x1y2" ;; esac
            printf "%s'%s' using 1:%s%s with linespoints title '%s-d %s'" \
                "$sep" "$work/$dim.dat" "$c" "$ax" "$dim" "${l#*:}"
            sep=", "
        done
    done
}
what="Gaussian mixture ($(echo $dims | sed 's/ /-d, /g')-d), M 16, ef_construction 200"
# (gnuplot's warning about a one-point axis, while the first set of a run
# is drawn alone, is left out)
plot() { # FILE TITLE YLABEL LOGY PLOTCMD
    gnuplot 2>&1 >/dev/null <<EOF | { grep -v '^Warning: empty [xy]2\{0,1\} range' >&2 || true; }
set terminal png size 800,520 noenhanced
set output "$out/$1"
set title "$2\\n$what"
set xlabel "vectors"
set ylabel "$3"
set logscale x
$4
set key top left
set grid
set datafile separator "\t"
set format x "%.0s%c"
plot $5
EOF
}
plot scale_query.png "Query time at recall@10 0.95 (one thread, CPU)" \
    "microseconds per query" "set logscale y" \
    "$(lines "11:HNSW at recall 0.95" "12:exact scan")"
plot scale_build.png "Build time per vector (vs-ingest, CPU)" \
    "CPU microseconds per vector" "" \
    "$(lines "5:build CPU per vector")"
plot scale_memory.png "Resident memory per vector after the queries" \
    "bytes per vector" "" \
    "$(lines "13:private (RssAnon)" "14:mapped file (RssFile)" "(\$13+\$14):total")"
plot scale_cold.png "Cold open: a new vs-query process on one query, start to exit" \
    "milliseconds" 'set y2label "page faults (median of the runs)"
set logscale y2
set y2tics
set ytics nomirror
set yrange [0:*]' \
    "$(lines "15:wall min" "16:wall median" "17:CPU min" "18:CPU median" \
        "19@y2:minor faults" "20@y2:major faults (0 not drawn)")"
plot scale_bytes.png "Bytes per vector on disk" \
    "bytes per vector" "" \
    "$(lines "7:store" "9:vectors" "8:graph")"
echo "scale_plot.sh: $out/scale_query.png scale_build.png scale_memory.png scale_cold.png scale_bytes.png"
