#!/bin/bash
# tests/cluster/replicas-failover.sh BIN_DIR: one store served by R = 2
# vs-serve replicas on two namespace hosts, HAProxy in front on the client
# host (round robin, health checks on GET /readyz every 200 ms, two misses
# mark a replica down, a failed connection retried on the other replica);
# a client sends QUERIES queries (default 300) one after another and, after
# a third of them, replica 1's link is cut (ip link set down). Checked: both
# replicas answered before the cut; at most one query failed (the one in
# flight); HAProxy marked replica 1 down; every answer equals the store's
# own (vs-query). Figures (TAP comments, and appended to
# bench/results/cluster.txt): failed queries, the time from the cut to the
# DOWN mark, latency p50/p99 before and after the cut. TAP; exit 0 when
# every check passed.
set -u
bin=$(cd "${1:?usage: replicas-failover.sh BIN_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
NQ=${QUERIES:-300}
HOSTS_SSH=0
. "$here/hosts.sh"
cluster_test replicas 6
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || {
    echo "not ok 1 - no haproxy (scripts/deps.sh installs it)"; exit 1; }
hosts_up_or_bail 2

cd "$work" || exit 1
"$bin/vs-chunk" "$root/docs" 2>/dev/null | "$bin/vs-embed" --model hash 2>/dev/null |
    "$bin/vs-ingest" -q kb.vs
printf '%s\n' '{"id":"q1","text":"crash safe store format"}' '{"id":"q2","text":"BM25 k1 and b"}' \
    '{"id":"q3","text":"health checks and metrics"}' > q.ndjson
for i in 1 2; do
    start_on "$i" "serve.$i.log" "$bin/vs-serve" --listen "$(host_addr "$i"):8080" \
        --insecure-no-auth --access-log "access.$i.log" "kb=kb.vs"
done
up=ok
for i in 1 2; do wait_port "$i" 8080 2>> up.err || up=; done
cat > haproxy.cfg <<CFG
global
    stats socket $work/haproxy.sock mode 600 level admin
defaults
    mode http
    timeout connect 300ms
    timeout client 10s
    timeout server 10s
    retries 2
    option redispatch
frontend fe
    bind 127.0.0.1:8000
    default_backend vs
backend vs
    balance roundrobin
    option httpchk GET /readyz
    default-server inter 200ms fall 2 rise 2
    server r1 $(host_addr 1):8080 check
    server r2 $(host_addr 2):8080 check
CFG
start_on 0 haproxy.log haproxy -f haproxy.cfg -db
wait_port 0 8000 2>> up.err || up=
check "2 vs-serve replicas on 2 namespace hosts, HAProxy on the client host" [ -n "$up" ]

# the store's own answers, as vs-serve gives them (the hits vs-query writes)
"$bin/vs-query" -k 5 kb.vs q.ndjson > want.ndjson 2>/dev/null

# the client: NQ queries through HAProxy; after NQ/3, cut replica 1 and
# watch HAProxy's view of it on the stats socket
on 0 /usr/bin/python3 - "$NQ" "$work" "ip -n ${HOSTS_PREFIX}h1 link set eth0 down" > client.out 2> client.err <<'PYEOF'
import http.client, json, socket, subprocess, sys, threading, time
nq, work, cut = int(sys.argv[1]), sys.argv[2], sys.argv[3]
queries = [json.loads(l) for l in open(work + "/q.ndjson")]
want = {}
for l in open(work + "/want.ndjson"):
    h = json.loads(l)
    want.setdefault(h["qid"], []).append(h["id"])
state = {"cut": None, "down": None}

def r1_status():
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(1)
    s.connect(work + "/haproxy.sock")
    s.sendall(b"show stat\n")
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    for line in data.decode().splitlines():
        f = line.split(",")
        if len(f) > 17 and f[0] == "vs" and f[1] == "r1":
            return f[17]
    return None

def watch():
    for _ in range(400):  # at most 20 s
        if state["cut"] is not None:
            st = r1_status()
            if st and st.startswith("DOWN"):
                state["down"] = time.monotonic()
                return
        time.sleep(0.05)

threading.Thread(target=watch, daemon=True).start()
fails, wrong, lat = 0, 0, []
for i in range(nq):
    if i == nq // 3:
        subprocess.check_call(cut, shell=True)
        state["cut"] = time.monotonic()
    q = queries[i % len(queries)]
    t0 = time.monotonic()
    try:
        c = http.client.HTTPConnection("127.0.0.1", 8000, timeout=10)
        c.request("POST", "/v1/stores/kb/query", body=json.dumps(dict(q, k=5)),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        body = r.read()
        c.close()
        ok = r.status == 200
        if ok:
            ids = [h["id"] for h in json.loads(body)["hits"]]
            if ids != want[q["id"]]:
                wrong += 1
    except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
        print("query %d: %s" % (i, e), file=sys.stderr)
        ok = False
    lat.append((i >= nq // 3, time.monotonic() - t0))
    fails += not ok
for _ in range(100):  # wait for the DOWN mark at most 5 s more
    if state["down"] is not None:
        break
    time.sleep(0.05)

def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))] * 1e3 if v else float("nan")

before = [t for a, t in lat if not a]
after = [t for a, t in lat if a]
down = (state["down"] - state["cut"]) * 1e3 if state["down"] else -1
print(json.dumps({"queries": nq, "failed": fails, "wrong": wrong, "down_ms": round(down),
                  "p50_before_ms": round(pct(before, .5), 2), "p99_before_ms": round(pct(before, .99), 2),
                  "p50_after_ms": round(pct(after, .5), 2), "p99_after_ms": round(pct(after, .99), 2),
                  "max_after_ms": round(max(after) * 1e3, 1) if after else None}))
PYEOF
res=$(cat client.out)
field() { /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$res" "$1" 2>/dev/null; }
# query requests in a replica's access log (not the health checks)
served() { grep -c '"endpoint":"query"' "access.$1.log"; }
both_served() { [ "$(served 1)" -gt 0 ] && [ "$(served 2)" -gt 0 ]; }
check "both replicas answered queries before the cut" both_served
check "at most one query failed across the cut (failed: $(field failed))" [ "$(field failed)" -le 1 ] 2>/dev/null
check "HAProxy marked replica 1 DOWN after its link was cut" [ "$(field down_ms)" -ge 0 ] 2>/dev/null
check "every answer has the store's own hits (wrong: $(field wrong))" [ "$(field wrong)" = 0 ]
check "replica 2 answered every query after the cut ($(served 2) queries in all)" [ "$(served 2)" -ge "$((NQ - NQ / 3 - 1))" ]
echo "# figures: $res"
if [ -n "$res" ]; then
    mkdir -p "$root/bench/results"
    {
        echo "== replicas-failover $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null)," \
             "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
        echo "command: tests/cluster/replicas-failover.sh (QUERIES=$NQ); haproxy inter 200ms fall 2, timeout connect 300ms, retries 2, redispatch"
        echo "$res"
    } >> "${CLUSTER_RESULTS:-$root/bench/results/cluster.txt}"
fi
[ "$failed" -gt 0 ] && { sed 's/^/# /' client.err up.err haproxy.log 2>/dev/null | tail -n 30; }
exit $((failed > 0))
