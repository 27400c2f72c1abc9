#!/bin/sh
# bench/startup.sh [BUILD_DIR] [OTHER_BIN_DIR]: start-up cost of every
# program (`PROG --version`): shared libraries loaded (ldd), instructions
# executed (valgrind --tool=callgrind: repeatable on a loaded machine),
# threads started (strace -f, clone calls) and wall milliseconds, the best
# and the median of STARTUP_RUNS (default 50) runs. With OTHER_BIN_DIR (the
# bin/ of another build, say main's) each program is measured there too,
# side by side. The table is printed and appended to
# bench/results/startup.txt (or STARTUP_RESULTS).
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
other=${2:-}
RUNS=${STARTUP_RUNS:-50}
RESULTS=${STARTUP_RESULTS:-bench/results/startup.txt}
PY=/usr/bin/python3
if [ ! -x "$build/bin/vs-query" ]; then
    echo "startup.sh: $build/bin/vs-query not found (make BUILD=$build)" >&2
    exit 2
fi
mkdir -p bench/results
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
    wall=$($PY - "$2" "$RUNS" <<'PYEOF'
import subprocess, sys, time
prog, n = sys.argv[1], int(sys.argv[2])
t = []
for _ in range(n):
    t0 = time.monotonic()
    subprocess.run([prog, "--version"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t.append((time.monotonic() - t0) * 1e3)
t.sort()
print("%.2f %.2f" % (t[0], t[len(t) // 2]))
PYEOF
)
    printf '%-10s %-6s %5s %9s %7s %8s %9s\n' "$(basename "$2")" "$1" "$libs" "$ir" "$th" \
        "${wall% *}" "${wall#* }"
}

report=$(mktemp)
trap 'rm -f "$report"' EXIT
{
echo "== startup $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $commit, $(nproc) cores," \
     "load $load0 at the start"
echo "command: bench/startup.sh $build${other:+ $other}"
echo "PROG --version: libs = shared libraries loaded (ldd), Mins = million instructions"
echo "(callgrind), threads = threads started (strace -f), wall best / median of $RUNS runs (ms;"
echo "the wall times follow the machine's load, the instruction counts do not)"
printf '%-10s %-6s %5s %9s %7s %8s %9s\n' program build libs Mins threads best_ms median_ms
for p in "$build"/bin/vs-*; do
    name=$(basename "$p")
    [ -n "$other" ] && [ -x "$other/$name" ] && measure other "$other/$name"
    measure this "$p"
done
echo "load $(cut -d' ' -f1-3 /proc/loadavg) at the end"
} > "$report"
cat "$report"
cat "$report" >> "$RESULTS"
