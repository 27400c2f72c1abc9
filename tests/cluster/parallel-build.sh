#!/bin/bash
# tests/cluster/parallel-build.sh BIN_DIR: the GNU parallel recipe of
# docs/scale-out.md, run for real on S = 2 ssh hosts made by hosts.sh.
#
# Host 0 (the client) sends the corpus to each host with --transferfile,
# each host builds its shard (vs-chunk | vs-shard I/S | vs-embed |
# vs-ingest) and tars it, --return brings the tar back, --cleanup removes
# the host's copy. Then, on the client: the returned shards hold exactly
# the records of a store built in one piece here, and vs-query --merge of
# exact searches of the shards gives that store's hits byte for byte.
# TAP output; exit 0 when every check passed.
set -u
bin=$(cd "${1:?usage: parallel-build.sh BIN_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
S=2
work=$(mktemp -d "${TMPDIR:-/tmp}/vs-cluster.XXXXXX")
. "$here/hosts.sh"
trap 'hosts_down; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
n=0 failed=0
check() { # check NAME CMD...: one TAP line
    n=$((n + 1))
    if "${@:2}"; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=$((failed + 1)); fi
}
echo "1..5"
if ! hosts_up "$S" "$work/hosts" 2> "$work/up.err"; then
    echo "not ok 1 - hosts up: $(tail -n 1 "$work/up.err")"
    exit 1
fi
echo "ok 1 - $S ssh hosts and a client in network namespaces ($HOSTS_NET.0/24)"
n=1

# the corpus: this repository's docs, as one tar the recipe ships
mkdir -p "$work/client"
tar -C "$root" -cf "$work/client/docs.tar" docs
for i in $(seq 1 "$S"); do echo "1/ssh $(ssh_opts) root@$(host_addr "$i")"; done > "$work/client/hosts"

# the recipe (docs/scale-out.md), as a user types it on the client
recipe() {
    cd "$work/client" && PATH="$bin:$PATH" parallel --sshloginfile hosts --env PATH \
        --workdir ... --transferfile docs.tar --return "kb-{}.tar" --cleanup \
        "tar xf docs.tar && vs-chunk docs | vs-shard {}/$S | vs-embed --model hash | vs-ingest -q kb-{}.vs && tar cf kb-{}.tar kb-{}.vs" \
        ::: $(seq 0 $((S - 1)))
}
on 0 bash -c "$(declare -f recipe); work=$work bin=$bin S=$S; recipe" > "$work/parallel.log" 2>&1
prc=$?
check "parallel --sshloginfile builds $S shards on $S hosts and returns them" [ "$prc" -eq 0 ]
# each host ran one job: its sshd accepted a key login
both_hosts() {
    for i in $(seq 1 "$S"); do
        grep -q "Accepted publickey" "$work/hosts/sshd.$i.log" || return 1
    done
}
check "every host accepted the client's ssh login (the jobs ran there)" both_hosts

# on the client: unpack, compare with one store built here in one piece
cd "$work/client" || exit 1
for i in $(seq 0 $((S - 1))); do tar xf "kb-$i.tar" 2>/dev/null; done
tar xf docs.tar
"$bin/vs-chunk" docs | "$bin/vs-embed" --model hash 2>/dev/null | "$bin/vs-ingest" -q one.vs
same_ids() {
    local a b
    a=$(for i in $(seq 0 $((S - 1))); do "$bin/vs-index" list-ids "kb-$i.vs"; done | sort)
    b=$("$bin/vs-index" list-ids one.vs | sort)
    [ -n "$a" ] && [ "$a" = "$b" ]
}
check "the returned shards hold exactly the records of one store" same_ids
same_hits() {
    printf '%s\n' '{"id":"q1","text":"crash safe store format"}' '{"id":"q2","text":"BM25 k1 b"}' |
        "$bin/vs-embed" --model hash 2>/dev/null > q.ndjson
    "$bin/vs-query" --exact --mode vector --no-metadata -k 8 one.vs q.ndjson > one.hits
    local runs="" i
    for i in $(seq 0 $((S - 1))); do
        "$bin/vs-query" --exact --mode vector --no-metadata -k 8 "kb-$i.vs" q.ndjson > "h$i" || return 1
        runs="$runs h$i"
    done
    # shellcheck disable=SC2086
    "$bin/vs-query" --merge -k 8 $runs > merged.hits && cmp -s merged.hits one.hits && [ -s one.hits ]
}
check "vs-query --merge of the shards' exact hits equals one store's, byte for byte (file stamps left out: each host unpacked the corpus itself)" same_hits
if [ "$failed" -gt 0 ]; then
    sed 's/^/# /' "$work/parallel.log"
fi
exit $((failed > 0))
