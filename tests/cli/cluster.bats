#!/usr/bin/env bats
# The scale-out recipes of docs/scale-out.md on test hosts made of network
# namespaces (tests/cluster/hosts.sh): real sshd and GNU parallel, traffic
# only on the namespaces' own addresses. `make cluster-test` runs the same
# scripts with their full output.

load helpers

setup() {
    ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
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

@test "GNU parallel over ssh builds shards on 2 hosts; they hold one store's records and merge to its hits" {
    run_split "$ROOT/tests/cluster/parallel-build.sh" "$VS_BIN"
    expect_status 0
    [[ "$out" == "1..5"* ]]
    [ "$(printf '%s\n' "$out" | grep -c '^ok ')" -eq 5 ]
    [ -z "$(ip netns list | grep "^vs[0-9]*\(h[0-9]\|sw\)" || true)" ]
}
