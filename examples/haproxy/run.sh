#!/bin/bash
# run.sh STORE WORK [QUERIES]: serve STORE from two vs-serve replicas (each
# over its own copy, WORK/r1.vs and WORK/r2.vs) behind HAProxy
# (haproxy.cfg), on 127.0.0.1 only. Sends QUERIES questions (default 20)
# through HAProxy, stops replica 1, sends QUERIES more, and prints how
# many each replica answered (their access logs) and how many failed.
# Everything it started is stopped on exit. Needs haproxy and curl.
set -euo pipefail
[ $# -ge 2 ] && [ $# -le 3 ] || { echo "usage: run.sh STORE WORK [QUERIES]" >&2; exit 2; }
store=$1 work=$2 n=${3:-20}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
work=$(cd "$work" && pwd)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# start_replica NAME: a copy of the store served on a free port; sets ADDR
start_replica() {
    rm -rf "$work/$1.vs"
    cp -r "$store" "$work/$1.vs"
    vs-serve --listen 127.0.0.1:0 --access-log "$work/$1.access.log" \
        "kb=$work/$1.vs" 2> "$work/$1.err" &
    pids+=($!)
    local i
    for ((i = 0; i < 200; i++)); do
        grep -q 'listening on' "$work/$1.err" && break
        sleep 0.05
    done
    ADDR=$(sed -n 's|.*listening on http://\(127\.0\.0\.1:[0-9]*\).*|\1|p' "$work/$1.err")
    [ -n "$ADDR" ] || { cat "$work/$1.err" >&2; exit 5; }
}
start_replica r1
export VS_REPLICA1=$ADDR
r1_pid=${pids[-1]}
start_replica r2
export VS_REPLICA2=$ADDR

# a free port for HAProxy (the kernel picks it, HAProxy binds it next)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export VS_HAPROXY_BIND=127.0.0.1:$port VS_HAPROXY_DIR=$work
haproxy -db -f "$here/haproxy.cfg" 2> "$work/haproxy.log" &
pids+=($!)
url=http://127.0.0.1:$port

# wait until HAProxy sees both replicas up
up() { python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"show stat\n")
out = b""
while True:
    b = s.recv(65536)
    if not b: break
    out += b
print(sum(1 for l in out.decode().splitlines() if l.startswith("replicas,r") and ",UP," in l))
' "$work/admin.sock" 2>/dev/null || echo 0; }
for ((i = 0; i < 200; i++)); do [ "$(up)" = 2 ] && break; sleep 0.05; done
[ "$(up)" = 2 ] || { echo "run.sh: HAProxy did not see both replicas up" >&2; cat "$work/haproxy.log" >&2; exit 5; }

failed=0
ask() { # ask N: N questions through HAProxy
    local i
    for ((i = 1; i <= $1; i++)); do
        curl -sf -o /dev/null -H 'Content-Type: application/json' \
            --data '{"id":"q'"$i"'","text":"how do I search a store?","k":3}' \
            "$url/v1/stores/kb/query" || failed=$((failed + 1))
    done
}
ask "$n"
kill "$r1_pid"
wait "$r1_pid" 2>/dev/null || true
ask "$n"
count() { grep -c '/v1/stores/kb/query' "$work/$1.access.log" || true; }
echo "queries: $((2 * n)), failed: $failed"
echo "replica r1 answered $(count r1), replica r2 answered $(count r2)"
