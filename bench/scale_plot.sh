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
# Only the rows of dimension SCALE_PLOT_DIM (default the first row's) are
# drawn, so the lines compare like with like.
set -eu
tsv=$1
out=$2
if [ ! -s "$tsv" ]; then
    echo "scale_plot.sh: $tsv is empty" >&2
    exit 2
fi
mkdir -p "$out"
dim=${SCALE_PLOT_DIM:-$(awk -F'\t' 'NR == 2 {print $2}' "$tsv")}
dat=$(mktemp)
trap 'rm -f "$dat"' EXIT
awk -F'\t' -v d="$dim" 'NR > 1 && $2 == d' "$tsv" | sed 's/\t-\t/\tNaN\t/g; s/\t-$/\tNaN/' > "$dat"
if [ ! -s "$dat" ]; then
    echo "scale_plot.sh: no rows of dimension $dim in $tsv" >&2
    exit 2
fi
# columns: 1 rows, 2 dim, 3 build wall s, 4 build cpu s, 5 build cpu us/vec,
# 6 build rss KiB, 7 disk B/vec, 8 graph B/vec, 9 vectors B/vec, 10 ef@0.95,
# 11 us/query@0.95, 12 us/query exact, 13 anon B/vec, 14 file B/vec,
# 15 cold min ms, 16 cold median ms, 17 load
plot() { # FILE TITLE YLABEL LOGY PLOTCMD
    gnuplot <<EOF
set terminal png size 800,520 noenhanced
set output "$out/$1"
set title "$2\\n$dim-d Gaussian mixture, M 16, ef_construction 200"
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
    "'$dat' using 1:11 with linespoints title 'HNSW at recall 0.95', '$dat' using 1:12 with linespoints title 'exact scan'"
plot scale_build.png "Build time per vector (vs-ingest, CPU)" \
    "CPU microseconds per vector" "" \
    "'$dat' using 1:5 with linespoints title 'build CPU per vector'"
plot scale_memory.png "Resident memory per vector after 1000 queries" \
    "bytes per vector" "" \
    "'$dat' using 1:13 with linespoints title 'private (RssAnon)', '$dat' using 1:14 with linespoints title 'mapped file (RssFile)', '$dat' using 1:(\$13+\$14) with linespoints title 'total'"
plot scale_cold.png "Cold open: new vs-query process to first answer" \
    "milliseconds" "" \
    "'$dat' using 1:15 with linespoints title 'min', '$dat' using 1:16 with linespoints title 'median'"
plot scale_bytes.png "Bytes per vector on disk" \
    "bytes per vector" "" \
    "'$dat' using 1:7 with linespoints title 'store', '$dat' using 1:9 with linespoints title 'vectors', '$dat' using 1:8 with linespoints title 'graph'"
echo "scale_plot.sh: $out/scale_query.png scale_build.png scale_memory.png scale_cold.png scale_bytes.png"
