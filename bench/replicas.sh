#!/bin/bash
# bench/replicas.sh [BUILD_DIR]: queries/s and latency through HAProxy to
# R = 1 and R = 2 vs-serve replicas of one store, on network-namespace
# hosts (tests/cluster/hosts.sh: host 0 the client with HAProxy and wrk,
# hosts 1 and 2 a replica each), at REPL_CONNS connections (default "8
# 64") for REPL_SECONDS each (default 10), then again with `tc netem`
# adding REPL_DELAY (default 1ms) to every packet the replicas send, when
# the kernel allows netem. The store: REPL_N (default 20000) synthetic
# 128-dimensional vectors with an HNSW graph (M 16); the queries: vector
# queries, k 10, ef 64 (the store's default search).
#
# All hosts share this machine's cores (nproc), so R = 2 cannot give more
# CPU than R = 1 has: on a 2-core machine the figure shows what HAProxy
# and the second replica cost or gain, not what two machines would give.
# Needs root (namespaces), haproxy, wrk (scripts/deps.sh --bench). The
# table is printed and appended, dated, with the load, to
# bench/results/cluster.txt (REPL_RESULTS names another file).
set -u
main() {
cd "$(dirname "$0")/.." || exit 2
root=$(pwd)
build=${1:-build}
bin=$(cd "$build/bin" 2>/dev/null && pwd) || { echo "bench/replicas.sh: no $build/bin" >&2; exit 2; }
if [ "$(id -u)" -ne 0 ]; then
    echo "bench/replicas.sh: skipped: network namespaces need root"
    return 0
fi
for t in haproxy wrk ip tc; do
    command -v "$t" > /dev/null || [ -x "/usr/sbin/$t" ] ||
        { echo "bench/replicas.sh: skipped: $t not installed (scripts/deps.sh --bench)"; return 0; }
done
N=${REPL_N:-20000}
CONNS=${REPL_CONNS:-8 64}
SECS=${REPL_SECONDS:-10}
DELAY=${REPL_DELAY:-1ms}
RESULTS=${REPL_RESULTS:-$root/bench/results/cluster.txt}
HOSTS_SSH=0
. "$root/tests/cluster/hosts.sh"
cluster_test replicas-bench 1 > /dev/null
if ! hosts_up 2 "$work/hosts" 2> "$work/up.err"; then
    echo "bench/replicas.sh: hosts did not come up: $(tail -n 1 "$work/up.err")" >&2
    exit 5
fi
l0=$(cut -d' ' -f1-3 /proc/loadavg)
. bench/cc_lib.sh
bench_cc "$build" "$work/hnsw_bench" bench/hnsw_bench.c || exit 5
cd "$work" || exit 5
"$work/hnsw_bench" gen "$N" 128 1 x.bin
"$work/hnsw_bench" gen 200 128 2 q.bin
/usr/bin/python3 "$root/bench/vectors_ndjson.py" x.bin 128 "" > records.ndjson
/usr/bin/python3 "$root/bench/vectors_ndjson.py" q.bin 128 q > queries.ndjson
"$bin/vs-index" create --metric l2 --hnsw-m 16 kb.vs 2> /dev/null
"$bin/vs-ingest" -q kb.vs < records.ndjson
for i in 1 2; do
    start_on "$i" "serve.$i.log" "$bin/vs-serve" --listen "$(host_addr "$i"):8080" \
        --insecure-no-auth "kb=kb.vs"
done
for i in 1 2; do wait_port "$i" 8080 2>> up.err || { echo "replica $i did not start" >&2; exit 5; }; done
# one HAProxy, two frontends: 8001 to replica 1 only, 8002 to both
cat > haproxy.cfg <<CFG
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    option http-keep-alive
frontend r1
    bind 127.0.0.1:8001
    default_backend one
frontend r2
    bind 127.0.0.1:8002
    default_backend two
backend one
    server a $(host_addr 1):8080 maxconn 64
backend two
    balance roundrobin
    server a $(host_addr 1):8080 maxconn 64
    server b $(host_addr 2):8080 maxconn 64
CFG
start_on 0 haproxy.log haproxy -f haproxy.cfg -db
wait_port 0 8001 2>> up.err && wait_port 0 8002 2>> up.err || { echo "haproxy did not start" >&2; exit 5; }
# wrk sends the 200 query vectors in turn
/usr/bin/python3 - queries.ndjson > post.lua <<'PYEOF'
import json, sys
qs = [l.strip() for l in open(sys.argv[1]) if l.strip()]
print("local bodies = {")
for q in qs:
    r = json.loads(q)
    r["k"] = 10
    print("  [==[%s]==]," % json.dumps(r, separators=(",", ":")))
print("}")
print("local i = 0")
print('wrk.method = "POST"')
print('wrk.headers["Content-Type"] = "application/json"')
print("request = function()")
print("  i = i % #bodies + 1")
print('  return wrk.format(nil, "/v1/stores/kb/query", nil, bodies[i])')
print("end")
PYEOF
rows=$work/rows
: > "$rows"
run() { # LABEL PORT CONNS
    on 0 wrk -t2 -c"$3" -d"${SECS}s" --latency -s post.lua "http://127.0.0.1:$2" > "wrk.$1.$3.out" 2>&1
    /usr/bin/python3 - "wrk.$1.$3.out" "$1" "$3" >> "$rows" <<'PYEOF'
import re, sys
t = open(sys.argv[1]).read()
def lat(p):
    m = re.search(r"^\s*%s%%\s+([\d.]+)(us|ms|s)\s*$" % p, t, re.M)
    if not m:
        return "-"
    v = float(m.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[m.group(2)]
    return "%.2f" % v
rps = re.search(r"Requests/sec:\s+([\d.]+)", t)
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
err = re.search(r"Socket errors:.*", t)
print("| %s | %s | %s | %s | %s | %s | %s |" % (sys.argv[2], sys.argv[3], rps.group(1) if rps else "failed",
      lat("50"), lat("99"), bad.group(1) if bad else "0", err.group(0).split(":", 1)[1].strip() if err else "none"))
PYEOF
}
for c in $CONNS; do
    run "R=1" 8001 "$c"
    run "R=2" 8002 "$c"
done
netem="no"
if on 1 tc qdisc add dev eth0 root netem delay "$DELAY" 2> netem.err &&
   on 2 tc qdisc add dev eth0 root netem delay "$DELAY" 2>> netem.err; then
    netem="yes"
    for c in $CONNS; do
        run "R=1 +$DELAY" 8001 "$c"
        run "R=2 +$DELAY" 8002 "$c"
    done
fi
report=$work/report
{
    echo "== replicas $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null), $(nproc) cores, load $l0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
    echo "command: bench/replicas.sh $build (REPL_N=$N REPL_CONNS='$CONNS' REPL_SECONDS=$SECS REPL_DELAY=$DELAY); $N x 128 HNSW M 16, vector queries k 10; wrk -t2 on the client host through HAProxy (keep-alive) to 1 or 2 vs-serve replicas on namespace hosts; every host shares the machine's $(nproc) cores"
    if [ "$netem" = no ]; then
        echo "netem: not available here ($(tail -n 1 netem.err 2>/dev/null))"
    fi
    echo "| replicas | connections | queries/s | p50 ms | p99 ms | non-2xx | socket errors |"
    echo "|---|---|---|---|---|---|---|"
    cat "$rows"
} > "$report"
cat "$report"
mkdir -p "$(dirname "$RESULTS")"
cat "$report" >> "$RESULTS"
}
main "$@"
