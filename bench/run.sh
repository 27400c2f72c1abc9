#!/bin/sh
# make bench: run every bench/*.sh against a build directory, side by side
# with the peers from Debian (installed here with scripts/deps.sh --bench).
# Each script prints its table and appends it, dated, to bench/results/NAME.txt.
#   bench/run.sh [BUILD_DIR]          all benchmarks
#   BENCH=exact bench/run.sh build    only those whose name matches
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
scripts/deps.sh --bench
mkdir -p bench/results
status=0
for b in bench/*.sh; do
    name=$(basename "$b" .sh)
    [ "$name" = run ] && continue
    case "$name" in *${BENCH:-}*) ;; *) continue ;; esac
    echo "== bench: $name"
    if ! "$b" "$build"; then
        echo "bench: $name failed" >&2
        status=1
    fi
done
exit $status
