#!/bin/bash
# bench/cluster_build.sh [BUILD_DIR]: the build speed-up of the GNU parallel
# recipe (docs/scale-out.md, as tests/cluster/build-recipes.sh runs it)
# over ssh hosts made of network namespaces (tests/cluster/hosts.sh): the
# corpus (this repository's docs/, as one tar) embedded with the MiniLM
# model (CBUILD_MODEL, default all-MiniLM-L6-v2, from VS_MODEL_DIR; --threads
# 1 and --no-cache per job: the embedding cache would serve the second run
# from the first) into S = 1 store on one host, then S = 2 shards on two
# hosts at once. Measured: wall seconds of the whole parallel run on the client
# (ssh, transfer, build, return) and the CPU seconds (user + system) of
# every job on its host (GNU time, returned with the shard). Every host
# shares this machine's cores (nproc): with 2 cores, S = 2 can at best
# halve the wall time, and other work on the machine (the load, printed)
# takes its share. The table is printed and appended, dated, to
# bench/results/cluster.txt (CBUILD_RESULTS names another file).
set -u
cd "$(dirname "$0")/.." || exit 2
root=$(pwd)
build=${1:-build}
bin=$(cd "$build/bin" 2>/dev/null && pwd) || { echo "bench/cluster_build.sh: no $build/bin" >&2; exit 2; }
if [ "$(id -u)" -ne 0 ]; then
    echo "bench/cluster_build.sh: skipped: network namespaces need root"
    exit 0
fi
for t in parallel sshd ssh /usr/bin/time; do
    command -v "$t" > /dev/null || [ -x "/usr/sbin/$t" ] ||
        { echo "bench/cluster_build.sh: skipped: $t not installed (scripts/deps.sh)"; exit 0; }
done
model=${CBUILD_MODEL:-all-MiniLM-L6-v2}
mdir=${VS_MODEL_DIR:-${VS_FETCHED_MODELS:-$HOME/.cache/vecstore/models}}
[ -d "$mdir/$model" ] ||
    { echo "bench/cluster_build.sh: skipped: no model $mdir/$model (scripts/get-model.sh)"; exit 0; }
export VS_MODEL_DIR=$mdir
. "$root/tests/cluster/hosts.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/vs-cbuild.XXXXXX")
trap 'hosts_down; rm -rf "$work"' EXIT
hosts_up 2 "$work/hosts" || { echo "bench/cluster_build.sh: the hosts did not come up" >&2; exit 1; }
tar -C "$root" -cf "$work/docs.tar" docs
chunks=$(tar -C "$work" -xf "$work/docs.tar" && "$bin/vs-chunk" "$work/docs" 2>/dev/null |
    grep -vc '"op":"begin"\|"op":"end"')
load0=$(cut -d' ' -f1-3 /proc/loadavg)

recipe() { # S: the recipe of docs/scale-out.md, each job timed on its host
    cd "$work/s$S" && PATH="$bin:$PATH" parallel --sshloginfile hosts --env PATH \
        --env VS_MODEL_DIR --workdir ... --transferfile docs.tar \
        --return "kb-{}.tar" --return "cpu-{}.txt" --cleanup \
        "tar xf docs.tar && /usr/bin/time -o cpu-{}.txt -f '%U %S' bash -o pipefail -c 'vs-chunk docs | vs-shard {}/$S | vs-embed -q --no-cache --threads 1 --model $model | vs-ingest -q kb-{}.vs' && tar cf kb-{}.tar kb-{}.vs" \
        ::: $(seq 0 $((S - 1)))
}
rows=""
for S in 1 2; do
    mkdir -p "$work/s$S"
    cp "$work/docs.tar" "$work/s$S/"
    for i in $(seq 1 "$S"); do echo "1/ssh $(ssh_opts) root@$(host_addr "$i")"; done > "$work/s$S/hosts"
    t0=$(date +%s.%N)
    on 0 bash -c "$(declare -f recipe); work=$work bin=$bin S=$S model=$model; recipe" > "$work/s$S.log" 2>&1 ||
        { echo "bench/cluster_build.sh: S=$S failed:" >&2; cat "$work/s$S.log" >&2; exit 1; }
    t1=$(date +%s.%N)
    cpu=$(cat "$work/s$S"/cpu-*.txt | awk '{u += $1; s += $2} END {printf "%.1f", u + s}')
    per=$(for f in "$work/s$S"/cpu-*.txt; do awk '{printf "%.1f ", $1 + $2}' "$f"; done)
    recs=$(for i in $(seq 0 $((S - 1))); do (cd "$work/s$S" && tar xf "kb-$i.tar" && "$bin/vs-index" list-ids "kb-$i.vs"); done | wc -l)
    wall=$(echo "$t1 - $t0" | bc)
    rows="$rows| S=$S | $S | $(printf '%.1f' "$wall") | $cpu | ${per% } | $recs | $(cut -d' ' -f1 /proc/loadavg) |
"
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
out=$(
    echo "== cluster-build $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null), $(nproc) cores, load $load0 at the start, $load1 at the end"
    echo "command: bench/cluster_build.sh $build; GNU parallel --sshloginfile over S namespace ssh hosts, one job each; docs/ ($chunks chunks), vs-embed --model $model --threads 1 --no-cache; every host shares the machine's $(nproc) cores"
    echo "| shards | hosts | wall s | CPU s (all jobs) | CPU s per job | records | load (1 min) after |"
    echo "|---|---|---|---|---|---|---|"
    printf '%s' "$rows"
)
echo "$out"
echo "$out" >> "${CBUILD_RESULTS:-$root/bench/results/cluster.txt}"
