#!/bin/bash
# tests/cluster/remote-shards.sh BIN_DIR: a sharded collection over the
# network. Hosts 1 and 2 each serve one shard with vs-serve; host 3 runs a
# coordinator vs-serve --shard over both (one named by its store URL, one
# by the bare http://HOST:PORT), and vs-query --shard from host 3 too.
# Checked from host 0: exact hits of vs-query --shard and of the
# coordinator equal one store's, byte for byte; text hits too; the
# coordinator lists the collection and is ready; with host 1's link cut
# it is not ready naming the shard, a query is 504 at its --timeout-ms
# naming it, and vs-query --partial --shard-timeout answers from shard 2.
# TAP; exit 0 when every check passed.
set -u
bin=$(cd "${1:?usage: remote-shards.sh BIN_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
HOSTS_SSH=0
. "$here/hosts.sh"
cluster_test remote-shards 8
hosts_up_or_bail 3

cd "$work" || exit 1
"$bin/vs-chunk" "$root/docs" 2>/dev/null | "$bin/vs-embed" --model hash 2>/dev/null > emb.ndjson
"$bin/vs-ingest" -q one.vs < emb.ndjson
for i in 0 1; do "$bin/vs-shard" "$i/2" emb.ndjson | "$bin/vs-ingest" -q "kb$i.vs"; done
printf '%s\n' '{"id":"q1","text":"crash safe store format"}' '{"id":"q2","text":"BM25 k1 and b"}' \
    '{"id":"q3","text":"health checks and metrics"}' | "$bin/vs-embed" --model hash 2>/dev/null > q.ndjson
for i in 1 2; do
    start_on "$i" "serve.$i.log" "$bin/vs-serve" --listen "$(host_addr "$i"):8080" \
        --insecure-no-auth "kb=kb$((i - 1)).vs"
done
S1=http://$(host_addr 1):8080/v1/stores/kb
S2=http://$(host_addr 2):8080
start_on 3 coord.log "$bin/vs-serve" --listen "$(host_addr 3):8080" --insecure-no-auth \
    --timeout-ms 1500 --shard "all=$S1" --shard "all=$S2"
C=http://$(host_addr 3):8080
up=ok
for i in 1 2 3; do wait_port "$i" 8080 2>> up.err || up=; done
check "2 shards served by vs-serve on 2 namespace hosts, a coordinator on a third" [ -n "$up" ]

hits() { grep -v '"op":"begin"\|"op":"end"' "$@"; }
"$bin/vs-query" --exact --mode vector -k 8 one.vs q.ndjson | hits > one.exact
"$bin/vs-query" --mode text -k 8 one.vs q.ndjson | hits > one.text
[ -s one.exact ] && [ -s one.text ] || { echo "not ok 2 - one store's hits are empty"; exit 1; }
on 3 "$bin/vs-query" --exact --mode vector -k 8 --shard "$S1" --shard "$S2" q.ndjson > q3.exact 2> q3.err
check "vs-query --shard URL --shard http://HOST:PORT on host 3: exact hits equal one store's, byte for byte" \
    cmp -s q3.exact one.exact
on 3 "$bin/vs-query" --mode text -k 8 --shard "$S1" --shard "$S2" q.ndjson > q3.text 2>> q3.err
check "vs-query --shard over the network: text hits (global BM25 statistics) equal one store's" \
    cmp -s q3.text one.text
/usr/bin/python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l); r.update(mode="vector", exact=True, k=8); print(json.dumps(r))' q.ndjson > req.ndjson
on 0 curl -s -m 10 -H 'Content-Type: application/x-ndjson' --data-binary @req.ndjson \
    "$C/v1/stores/all/query" > coord.exact
check "the vs-serve --shard coordinator, asked from host 0: exact hits equal one store's" \
    cmp -s coord.exact one.exact
listed() {
    [ "$(on 0 curl -s -m 5 "$C/v1/stores")" = '{"stores":["all"],"sharded":["all"]}' ] &&
        [ "$(on 0 curl -s -m 5 -o /dev/null -w '%{http_code}' "$C/readyz")" = 200 ]
}
check "the coordinator lists the collection (GET /v1/stores) and is ready (/readyz)" listed

link_down 1
cut_ready() {
    local code
    code=$(on 0 curl -s -m 10 -o ready.body -w '%{http_code}' "$C/readyz")
    [ "$code" = 503 ] && grep -q "all: shard $S1: " ready.body
}
check "host 1 cut off: /readyz is 503 naming its shard" cut_ready
cut_query() {
    local code
    code=$(on 0 curl -s -m 10 -o q.body -w '%{http_code}' --data-binary @req.ndjson \
        -H 'Content-Type: application/x-ndjson' "$C/v1/stores/all/query")
    [ "$code" = 504 ] && grep -q "$S1" q.body
}
check "host 1 cut off: a coordinator query is 504 at its --timeout-ms, naming the shard" cut_query
partial() {
    on 3 "$bin/vs-query" --partial --shard-timeout 1000 --exact --mode vector -k 8 \
        --shard "$S1" --shard "$S2" q.ndjson > part.out 2> part.err || return 1
    grep -q "left out (--partial), its hits are missing: $S1: " part.err &&
        [ -s part.out ] && [ "$(grep -c '"partial":true' part.out)" -eq "$(wc -l < part.out)" ]
}
check "host 1 cut off: vs-query --partial --shard-timeout answers from shard 2, marked" partial
if [ "$failed" -gt 0 ]; then
    sed 's/^/# /' up.err q3.err coord.log part.err 2>/dev/null | tail -n 20
fi
exit $((failed > 0))
