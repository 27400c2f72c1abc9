#!/bin/sh
# bench/scale_plot.sh TSV OUTDIR: the PNGs of bench/scale.sh's table (one
# per quantity, rows on a log axis) with gnuplot (scripts/deps.sh --bench):
#   scale_query.png   CPU microseconds per query at recall@10 0.95 (graph)
#                     and of the exact scan
#   scale_build.png   build CPU microseconds per vector
#   scale_memory.png  resident bytes per vector after the queries: private
#                     and mapped file
#   scale_cold.png    cold open, process start to first answer, min/median ms
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
    awk -F'\t' -v d="$dim" 'NR > 1 && $2 == d' "$tsv" | sed 's/\t-\t/\tNaN\t/g; s/\t-$/\tNaN/' > "$work/$dim.dat"
done
if [ -z "$dims" ] || [ ! -s "$work/${dims%% *}.dat" ]; then
    echo "scale_plot.sh: no rows of dimension ${dims:-any} in $tsv" >&2
    exit 2
fi
# columns: 1 rows, 2 dim, 3 build wall s, 4 build cpu s, 5 build cpu us/vec,
# 6 build rss KiB, 7 disk B/vec, 8 graph B/vec, 9 vectors B/vec, 10 ef@0.95,
# 11 us/query@0.95, 12 us/query exact, 13 anon B/vec, 14 file B/vec,
# 15 cold min ms, 16 cold median ms, 17 load, 18 commit, 19 date
# lines COLUMN:TITLE...: the plot clauses, one per dimension and line
lines() {
    sep=
    for dim in $dims; do
        for l in "$@"; do
            printf "%s'%s' using 1:%s with linespoints title '%s-d %s'" \
                "$sep" "$work/$dim.dat" "${l%%:*}" "$dim" "${l#*:}"
            sep=", "
        done
    done
}
what="Gaussian mixture ($(echo $dims | sed 's/ /-d, /g')-d), M 16, ef_construction 200"
# (gnuplot's warning about a one-point axis, while the first set of a run
# is drawn alone, is left out)
plot() { # FILE TITLE YLABEL LOGY PLOTCMD
    gnuplot 2>&1 >/dev/null <<EOF | { grep -v '^Warning: empty [xy] range' >&2 || true; }
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
plot scale_cold.png "Cold open: new vs-query process to first answer" \
    "milliseconds" "" \
    "$(lines "15:min" "16:median")"
plot scale_bytes.png "Bytes per vector on disk" \
    "bytes per vector" "" \
    "$(lines "7:store" "9:vectors" "8:graph")"
echo "scale_plot.sh: $out/scale_query.png scale_build.png scale_memory.png scale_cold.png scale_bytes.png"
