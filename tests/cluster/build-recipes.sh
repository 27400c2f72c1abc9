#!/bin/bash
# tests/cluster/build-recipes.sh BIN_DIR: the two build recipes of
# docs/scale-out.md, run for real on S = 2 ssh hosts made by hosts.sh:
#
# GNU parallel: host 0 (the client) sends the corpus to each host with
# --transferfile, each host builds its shard (vs-chunk | vs-shard I/S |
# vs-embed | vs-ingest) and tars it, --return brings the tar back, --cleanup
# removes the host's copy.
# make -j: examples/scale-out/Makefile, one ssh call per shard (corpus in on
# stdin, the store's tar out on stdout).
#
# For each, on the client: the returned shards hold exactly the records of
# a store built in one piece here, and vs-query --merge of exact searches
# of the shards gives that store's hits byte for byte. TAP output; exit 0
# when every check passed.
set -u
bin=$(cd "${1:?usage: build-recipes.sh BIN_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
S=2
. "$here/hosts.sh"
cluster_test cluster 8
hosts_up_or_bail "$S"
echo "ok 1 - $S ssh hosts and a client in network namespaces ($HOSTS_NET.0/24)"
n=1

# the corpus: this repository's docs, as one tar the recipe ships
mkdir -p "$work/client" "$work/make"
tar -C "$root" -cf "$work/client/docs.tar" docs
cp "$work/client/docs.tar" "$work/make/docs.tar"
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

# the make recipe, as a user types it on the client
hosts=$(for i in $(seq 1 "$S"); do printf 'root@%s ' "$(host_addr "$i")"; done)
on 0 make -C "$work/make" -f "$root/examples/scale-out/Makefile" -j"$S" S="$S" \
    HOSTS="$hosts" SSH="ssh $(ssh_opts)" REMOTE_PATH="$bin" EMBED="vs-embed --model hash" \
    CORPUS=docs.tar > "$work/make.log" 2>&1
mrc=$?
check "make -j$S -f examples/scale-out/Makefile builds $S shards over ssh" [ "$mrc" -eq 0 ]

# one store built in one piece here, and the queries
cd "$work" || exit 1
tar xf client/docs.tar
"$bin/vs-chunk" docs | "$bin/vs-embed" --model hash 2>/dev/null | "$bin/vs-ingest" -q one.vs
printf '%s\n' '{"id":"q1","text":"crash safe store format"}' '{"id":"q2","text":"BM25 k1 b"}' |
    "$bin/vs-embed" --model hash 2>/dev/null > q.ndjson
"$bin/vs-query" --exact --mode vector --no-metadata -k 8 one.vs q.ndjson > one.hits

# in DIR: unpack the returned kb-I.tar
unpack() { (cd "$1" && for i in $(seq 0 $((S - 1))); do tar xf "kb-$i.tar" || exit 1; done); }
same_ids() { # DIR
    local a b
    a=$(for i in $(seq 0 $((S - 1))); do "$bin/vs-index" list-ids "$1/kb-$i.vs"; done | sort)
    b=$("$bin/vs-index" list-ids one.vs | sort)
    [ -n "$a" ] && [ "$a" = "$b" ]
}
same_hits() { # DIR
    local runs="" i
    for i in $(seq 0 $((S - 1))); do
        "$bin/vs-query" --exact --mode vector --no-metadata -k 8 "$1/kb-$i.vs" q.ndjson > "$1/h$i" || return 1
        runs="$runs $1/h$i"
    done
    # shellcheck disable=SC2086
    "$bin/vs-query" --merge -k 8 $runs > "$1/merged.hits" && cmp -s "$1/merged.hits" one.hits &&
        [ -s one.hits ]
}
for r in client:parallel make:make; do
    dir=$work/${r%%:*}
    unpack "$dir" 2>/dev/null
    check "${r#*:}: the returned shards hold exactly the records of one store" same_ids "$dir"
    check "${r#*:}: vs-query --merge of the shards' exact hits equals one store's, byte for byte" \
        same_hits "$dir"
done
if [ "$failed" -gt 0 ]; then
    sed 's/^/# /' "$work/parallel.log" "$work/make.log"
fi
exit $((failed > 0))
