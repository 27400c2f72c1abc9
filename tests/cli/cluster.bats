#!/usr/bin/env bats
# The scale-out recipes of docs/scale-out.md on test hosts made of network
# namespaces (tests/cluster/hosts.sh): real sshd and GNU parallel, traffic
# only on the namespaces' own addresses. `make cluster-test` runs the same
# scripts with their full output.

load helpers

setup() {
    ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
}

# the namespace hosts' needs, else skip with the reason
need_hosts() {
    [ "$(id -u)" -eq 0 ] || skip "network namespaces need root"
    if ! ip netns add "vsprobe$$" 2>/dev/null; then
        skip "this machine does not allow network namespaces (ip netns add failed)"
    fi
    ip netns del "vsprobe$$"
    for p in sshd parallel rsync ssh; do
        command -v "$p" >/dev/null || [ -x "/usr/sbin/$p" ] ||
            skip "$p is not installed (scripts/deps.sh installs openssh-server, parallel, rsync)"
    done
}

@test "GNU parallel over ssh and make -j build shards on 2 hosts; they hold one store's records and merge to its hits" {
    need_hosts
    run_split "$ROOT/tests/cluster/build-recipes.sh" "$VS_BIN"
    expect_status 0
    [[ "$out" == "1..8"* ]]
    [ "$(printf '%s\n' "$out" | grep -c '^ok ')" -eq 8 ]
    [ -z "$(ip netns list | grep "^vs[0-9]*\(h[0-9]\|sw\)" || true)" ]
}

@test "remote shards on 2 namespace hosts: vs-query --shard and a vs-serve --shard coordinator on a third equal one store; a cut host is named" {
    need_hosts
    run_split "$ROOT/tests/cluster/remote-shards.sh" "$VS_BIN"
    expect_status 0
    [[ "$out" == "1..8"* ]]
    [ "$(printf '%s\n' "$out" | grep -c '^ok ')" -eq 8 ]
    [ -z "$(ip netns list | grep "^vs[0-9]*\(h[0-9]\|sw\)" || true)" ]
}

@test "2 vs-serve replicas behind HAProxy: a replica cut off mid-run fails at most the query in flight" {
    need_hosts
    command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] ||
        skip "haproxy is not installed (scripts/deps.sh installs it)"
    run_split env QUERIES=120 CLUSTER_RESULTS="$BATS_TEST_TMPDIR/cluster.txt" \
        "$ROOT/tests/cluster/replicas-failover.sh" "$VS_BIN"
    expect_status 0
    [[ "$out" == "1..6"* ]]
    [ "$(printf '%s\n' "$out" | grep -c '^ok ')" -eq 6 ]
    grep -q '"failed": [01],' "$BATS_TEST_TMPDIR/cluster.txt"
    [ -z "$(ip netns list | grep "^vs[0-9]*\(h[0-9]\|sw\)" || true)" ]
}

@test "bench/replicas.sh: wrk through HAProxy to R = 1 and 2 replicas on namespace hosts, no failed request" {
    need_hosts
    for t in haproxy wrk; do
        command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || skip "$t is not installed (scripts/deps.sh --bench)"
    done
    # bench programs are compiled without the sanitizers (bench/cc_lib.sh)
    ! grep -qa -e __asan_init -e __ubsan_handle "$VS_BIN/vs-index" ||
        skip "bench/replicas.sh runs in the pass against a normal build"
    build=$(cd "$VS_BIN/.." && pwd)
    run_split env REPL_N=1500 REPL_SECONDS=1 REPL_CONNS=4 REPL_RESULTS="$BATS_TEST_TMPDIR/cluster.txt" \
        "$ROOT/bench/replicas.sh" "$build"
    expect_status 0
    [ "$(cat "$BATS_TEST_TMPDIR/cluster.txt")" = "$out" ]
    # a row for each of R = 1 and R = 2 (and their netem rows where the
    # kernel has netem): a rate, no non-2xx answer, no socket error
    [ "$(printf '%s\n' "$out" | grep -c '^| R=[12]\( +1ms\)\? | 4 | [0-9.]* | [0-9.]* | [0-9.]* | 0 | none |$')" -ge 2 ]
    printf '%s\n' "$out" | grep -q '^| R=1 | 4 | '
    printf '%s\n' "$out" | grep -q '^| R=2 | 4 | '
    [ -z "$(ip netns list | grep "^vs[0-9]*\(h[0-9]\|sw\)" || true)" ]
}

@test "publish shards to an S3-compatible store and pull them on a serving host: whole generations only" {
    need_hosts
    venv=${VS_VENV:-${HOME:-/tmp}/.cache/vecstore/venv}
    [ -x "$venv/bin/moto_server" ] ||
        skip "no S3 test server in $venv (scripts/venv.sh cluster installs moto; .ci/run does)"
    command -v rclone >/dev/null || skip "rclone is not installed (scripts/deps.sh installs it)"
    run_split "$ROOT/tests/cluster/s3-publish.sh" "$VS_BIN"
    expect_status 0
    [[ "$out" == "1..7"* ]]
    [ "$(printf '%s\n' "$out" | grep -c '^ok ')" -eq 7 ]
    [ -z "$(ip netns list | grep "^vs[0-9]*\(h[0-9]\|sw\)" || true)" ]
}

@test "the Kubernetes recipe parses as YAML: two Services and a StatefulSet probing /readyz" {
    run_split $PY -c '
import sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
print(" ".join(d["kind"] for d in docs))
ss = [d for d in docs if d["kind"] == "StatefulSet"][0]
c = ss["spec"]["template"]["spec"]["containers"][0]
print(c["readinessProbe"]["httpGet"]["path"], ss["spec"]["serviceName"])' "$ROOT/examples/scale-out/k8s/statefulset.yaml"
    expect_status 0
    [ "$out" = "Service Service StatefulSet
/readyz vs-kb-0-pods" ]
}

@test "a Slurm array job builds the shards on a one-node cluster; a failing task fails the job" {
    need_hosts
    for p in munged slurmctld slurmd sbatch; do
        command -v "$p" >/dev/null || [ -x "/usr/sbin/$p" ] ||
            skip "$p is not installed (scripts/deps.sh installs munge, slurmctld, slurmd, slurm-client)"
    done
    run_split "$ROOT/tests/cluster/slurm-array.sh" "$VS_BIN"
    expect_status 0
    [[ "$out" == "1..4"* ]]
    [ "$(printf '%s\n' "$out" | grep -c '^ok ')" -eq 4 ]
    [ -z "$(ip netns list | grep "^vs[0-9]*\(h[0-9]\|sw\)" || true)" ]
}
