#!/bin/bash
# tests/cluster/s3-publish.sh BIN_DIR: the publishing recipe of
# docs/scale-out.md (examples/scale-out/publish.sh and pull.sh, rclone) on
# namespace hosts: host 1 runs an S3-compatible server (moto, from the
# project's venv: scripts/venv.sh cluster), host 0 builds and publishes,
# host 2 pulls and serves with vs-serve. Checked: a pull with nothing
# published changes nothing; a publication whose pointer is not written
# yet is not seen; a publication swapped in while a client reads the
# store all the time gives only whole generations (the old one, then the
# new one, never an error); a damaged publication is refused and the
# served store stays. TAP; exit 0 when every check passed.
set -u
bin=$(cd "${1:?usage: s3-publish.sh BIN_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${VS_VENV:-${HOME:-/tmp}/.cache/vecstore/venv}
HOSTS_SSH=0
. "$here/hosts.sh"
cluster_test s3 7
[ -x "$venv/bin/moto_server" ] || { echo "not ok 1 - no $venv/bin/moto_server (scripts/venv.sh cluster)"; exit 1; }
command -v rclone >/dev/null || { echo "not ok 1 - no rclone (scripts/deps.sh installs it)"; exit 1; }
hosts_up_or_bail 2
cd "$work" || exit 1
export PATH="$bin:$root/examples/scale-out:$PATH"
# plain http to the test server: a CA bundle from the environment (some CI
# machines set one) makes rclone's S3 client refuse its transport
unset AWS_CA_BUNDLE
s3=$(host_addr 1)
export RCLONE_CONFIG_S3_TYPE=s3 RCLONE_CONFIG_S3_PROVIDER=Other \
    RCLONE_CONFIG_S3_ENDPOINT="http://$s3:5000" RCLONE_CONFIG_S3_ACCESS_KEY_ID=test \
    RCLONE_CONFIG_S3_SECRET_ACCESS_KEY=test RCLONE_CONFIG_S3_REGION=us-east-1
start_on 1 moto.log "$venv/bin/moto_server" -H "$s3" -p 5000
up=ok
wait_port 1 5000 2>> up.err || up=
on 0 rclone mkdir s3:shards 2>> up.err || up=
check "an S3-compatible server on host 1, a bucket made over the namespace network" [ -n "$up" ]

# two generations of a store: A (the docs), B (A and the README)
vs-chunk "$root/docs" 2>/dev/null | vs-embed --model hash 2>/dev/null | vs-ingest -q a.vs
cp -a a.vs b.vs
vs-chunk "$root/README.md" 2>/dev/null | vs-embed --model hash 2>/dev/null | vs-ingest -q b.vs
records() { vs-index info "$1" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["records"])'; }
ra=$(records a.vs) rb=$(records b.vs)

nothing() {
    on 2 pull.sh s3:shards/kb live/kb.vs > pull0.out 2> pull0.err
    local rc=$?
    [ "$rc" -eq 4 ] && grep -q "nothing published" pull0.err && [ ! -e live/kb.vs ]
}
mkdir -p live
check "pull with nothing published: exit 4, no store made" nothing

first() {
    on 0 publish.sh a.vs s3:shards/kb > pub.a 2> pub.err &&
        on 2 pull.sh s3:shards/kb live/kb.vs > pull.a 2>> pull.err &&
        [ "$(records live/kb.vs)" = "$ra" ]
}
check "publish on host 0, pull on host 2: the served folder holds the store ($ra records)" first

start_on 2 serve.log vs-serve --listen "$(host_addr 2):8080" --insecure-no-auth "kb=$work/live/kb.vs"
wait_port 2 8080 2>> up.err

# B's files uploaded but its pointer not yet written (a publish cut short)
half() {
    local d
    d=$(vs-index info --digest b.vs | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["digest"])')
    on 0 rclone copy b.vs "s3:shards/kb/$d" 2>> pub.err &&
        on 2 pull.sh s3:shards/kb live/kb.vs > pull.h 2>> pull.err &&
        [ "$(records live/kb.vs)" = "$ra" ]
}
check "a publication without its pointer (CURRENT) is not pulled: still $ra records" half

# a client reads the store's record count all the time while B is swapped in
on 0 /usr/bin/python3 - "$(host_addr 2)" "$ra" "$rb" "$work/stop" > reader.out 2> reader.err <<'PYEOF' &
import http.client, json, os, sys, time
host, ra, rb, stop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
seen, bad, n = [], 0, 0
t_end, t_stop = time.monotonic() + 60, None
while time.monotonic() < t_end:
    n += 1
    try:
        c = http.client.HTTPConnection(host, 8080, timeout=5)
        c.request("GET", "/v1/stores/kb")
        r = c.getresponse()
        body = r.read()
        c.close()
        rec = json.loads(body)["records"] if r.status == 200 else None
    except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
        rec = None
    if rec not in (ra, rb):
        bad += 1
    if not seen or seen[-1] != rec:
        seen.append(rec)
    if t_stop is None and os.path.exists(stop):
        t_stop = time.monotonic()
    if t_stop is not None and (rec == rb or time.monotonic() > t_stop + 5):
        break
    time.sleep(0.005)
print(json.dumps({"requests": n, "bad": bad, "sequence": seen}))
PYEOF
rpid=$!
sleep 0.5
on 0 publish.sh b.vs s3:shards/kb > pub.b 2>> pub.err
on 2 pull.sh s3:shards/kb live/kb.vs > pull.b 2>> pull.err
touch stop
wait "$rpid"
res=$(cat reader.out)
whole() {
    /usr/bin/python3 -c '
import json, sys
r = json.loads(sys.argv[1]); ra, rb = int(sys.argv[2]), int(sys.argv[3])
sys.exit(0 if r["bad"] == 0 and r["sequence"] == [ra, rb] else 1)' "$res" "$ra" "$rb"
}
check "while B is swapped in, a reader sees $ra records, then $rb, nothing else ($res)" whole

# a damaged publication: a segment cut short on the server
damaged() {
    vs-chunk "$root/CHANGELOG.md" 2>/dev/null | vs-embed --model hash 2>/dev/null | vs-ingest -q b.vs
    local d seg
    d=$(on 0 publish.sh b.vs s3:shards/kb 2>> pub.err) || return 1
    seg=$(cd b.vs && ls seg-*.vseg | tail -n 1)
    head -c 100 "b.vs/$seg" | on 0 rclone rcat "$d/$seg" 2>> pub.err
    on 2 pull.sh s3:shards/kb live/kb.vs > pull.d 2> pull.d.err
    local rc=$?
    [ "$rc" -eq 4 ] && grep -q "does not verify" pull.d.err && [ "$(records live/kb.vs)" = "$rb" ]
}
check "a damaged publication is refused (exit 4) and the served store stays at $rb records" damaged
# every request moto logged came from host 0 (publishing) or host 2 (pulling)
from_hosts() {
    local ips
    ips=$(grep -oE '^[0-9.]+ - - ' moto.log | cut -d' ' -f1 | sort -u | tr '\n' ' ')
    [ "$ips" = "$(printf '%s\n' "$(host_addr 0)" "$(host_addr 2)" | sort | tr '\n' ' ')" ]
}
check "the S3 requests came from hosts 0 and 2 over the namespace network, from nowhere else" from_hosts
if [ "$failed" -gt 0 ]; then
    tail -n 20 pub.err pull.err up.err moto.log reader.err 2>/dev/null | sed 's/^/# /'
fi
exit $((failed > 0))
