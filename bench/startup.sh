#!/bin/sh
# bench/startup.sh [BUILD_DIR] [OTHER_BIN_DIR]: start-up cost of every
# program (`PROG --version`): shared libraries loaded (ldd), instructions
# executed (valgrind --tool=callgrind: repeatable on a loaded machine),
# threads started (strace -f, clone calls), and the wall and the CPU (user +
# system of the process, getrusage) milliseconds, the best and the median of
# STARTUP_RUNS (default 50) runs (bench/cold_time.c runs them: a loaded
# machine stretches the wall time, hardly the CPU time). With OTHER_BIN_DIR (the
# bin/ of another build, say main's) each program is measured there too,
# side by side. The table is printed and appended to
# bench/results/startup.txt (or STARTUP_RESULTS).
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
other=${2:-}
RUNS=${STARTUP_RUNS:-50}
RESULTS=${STARTUP_RESULTS:-bench/results/startup.txt}
if [ ! -x "$build/bin/vs-query" ]; then
    echo "startup.sh: $build/bin/vs-query not found (make BUILD=$build)" >&2
    exit 2
fi
mkdir -p bench/results "$build/bench"
${CC:-cc} -std=c11 -O2 -Wall -Wextra -o "$build/bench/cold_time" bench/cold_time.c
load0=$(cut -d' ' -f1-3 /proc/loadavg)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo none)

measure() { # measure LABEL BINARY: one table line
    libs=$(ldd "$2" 2>/dev/null | grep -c '=>\|ld-linux' || true)
    ir=-
    if command -v valgrind > /dev/null; then
        ir=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$2" --version 2>&1 > /dev/null |
             awk '/refs:/ { gsub(",", "", $NF); printf "%.2f", $NF / 1e6 }')
    fi
    th=-
    if command -v strace > /dev/null; then
        th=$(strace -f -e trace=clone,clone3 "$2" --version 2>&1 > /dev/null | grep -c 'clone' || true)
    fi
    # shellcheck disable=SC2046
    set -- "$@" $("$build/bench/cold_time" "$RUNS" "$2" --version |
        awk '{ v[$1] = $2 } END { print v["wall_min_ms"], v["wall_median_ms"], v["cpu_min_ms"], v["cpu_median_ms"] }')
    printf '%-10s %-6s %5s %9s %7s %8s %9s %8s %9s\n' "$(basename "$2")" "$1" "$libs" "$ir" "$th" \
        "$3" "$4" "$5" "$6"
}

report=$(mktemp)
trap 'rm -f "$report"' EXIT
{
echo "== startup $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $commit, $(nproc) cores," \
     "load $load0 at the start"
echo "command: bench/startup.sh $build${other:+ $other}"
echo "PROG --version: libs = shared libraries loaded (ldd), Mins = million instructions"
echo "(callgrind), threads = threads started (strace -f), wall and CPU (user + system) ms, best and"
echo "median of $RUNS runs (bench/cold_time.c; the wall times follow the machine's load, the"
echo "CPU times much less, the instruction counts not at all)"
printf '%-10s %-6s %5s %9s %7s %8s %9s %8s %9s\n' program build libs Mins threads best_ms median_ms cpu_best cpu_median
for p in "$build"/bin/vs-*; do
    name=$(basename "$p")
    [ -n "$other" ] && [ -x "$other/$name" ] && measure other "$other/$name"
    measure this "$p"
done
echo "load $(cut -d' ' -f1-3 /proc/loadavg) at the end"
} > "$report"
cat "$report"
cat "$report" >> "$RESULTS"
