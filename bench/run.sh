#!/bin/sh
# make bench (bench/run.sh [BUILD_DIR]): every benchmark against a build,
# one after the other; each prints its table and appends it, dated, to its
# file in bench/results/. bench/README.md says which benchmark makes which
# table and file, what it needs and how long it takes at full size.
#   bench/run.sh [BUILD_DIR]            all of them (BUILD_DIR: build)
#   BENCH=PATTERN bench/run.sh build    those whose name contains PATTERN
#                                       (BENCH=scale, BENCH=py, BENCH=serve)
#   bench/run.sh --list                 their names, in the order they run
# The benchmarks: every executable bench/*.sh, by name, except this one and
# scale_plot.sh (scale.sh draws its PNGs with it; the bench/*.sh that are
# not executable, cc_lib.sh and serve_lib.sh, are sourced by the others),
# then py (bench/py/run.sh: the Python package against the PyPI peers) and
# compare (bench/compare/run.sh: the comparison guides' figures).
# Set-up: scripts/deps.sh --bench first (Debian's peers, gnuplot, wrk,
# valgrind, the JDK and Maven); the PyPI peers are installed into the
# project's venv by the scripts that race them (scripts/venv.sh peers for
# py and compare, scripts/venv.sh text for text.sh), never by make check.
# After each benchmark its wall seconds; at the end one line per benchmark
# (ok or failed, wall seconds) and the load. Exit 1 when one failed (the
# others still run), 2 on usage.
set -eu
cd "$(dirname "$0")/.."

# the benchmarks whose name contains $BENCH, in the order they run
names() {
    for b in bench/*.sh; do
        name=$(basename "$b" .sh)
        case "$name" in run | scale_plot) continue ;; esac
        [ -x "$b" ] || continue
        echo "$name"
    done
    echo py
    echo compare
}
selected() {
    names | while read -r name; do
        case "$name" in *${BENCH:-}*) echo "$name" ;; esac
    done
}
script() {
    case "$1" in
    py) echo bench/py/run.sh ;;
    compare) echo bench/compare/run.sh ;;
    *) echo "bench/$1.sh" ;;
    esac
}

case "${1:-}" in
--list)
    selected
    exit 0
    ;;
-*)
    echo "usage: bench/run.sh [BUILD_DIR] | --list (BENCH=PATTERN selects)" >&2
    exit 2
    ;;
esac
build=${1:-build}
list=$(selected)
if [ -z "$list" ]; then
    echo "bench/run.sh: no benchmark matches BENCH=${BENCH:-} (bench/run.sh --list)" >&2
    exit 2
fi
scripts/deps.sh --bench
mkdir -p bench/results
status=0
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
t_all=$(date +%s)
echo "== bench: $(echo $list | wc -w) benchmarks against $build, $(date -u +%Y-%m-%dT%H:%M:%SZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
for name in $list; do
    echo "== bench: $name ($(script "$name"))"
    t0=$(date +%s)
    if "$(script "$name")" "$build"; then
        r=ok
    else
        r=failed
        status=1
        echo "bench: $name failed" >&2
    fi
    t1=$(date +%s)
    echo "== bench: $name $r, $((t1 - t0)) s wall"
    printf '%-14s %-6s %6s s\n' "$name" "$r" "$((t1 - t0))" >> "$summary"
done
echo "== bench: done in $(($(date +%s) - t_all)) s wall, load $(cut -d' ' -f1-3 /proc/loadavg) at the end"
cat "$summary"
exit $status
