#!/bin/sh
# bench/serve_mixed.sh BUILD_DIR: vs-serve under mixed load, then kill -9.
# A store of N records (default 20000, dimension DIM=128, random). For MIX_S
# seconds (default 30) a writer upserts batches of B records (default 10)
# one request after another while wrk queries at 8 connections; the table
# gives queries/s, p50/p99 and errors during the writes, and upserts/s.
# Then the server is killed with SIGKILL while the writer is still writing:
# `vs-index verify` must pass and every upsert the server acknowledged
# (HTTP 200) must be in the store, read back through a restarted server and
# with `vs-index export`. Exit 1 when one is missing. Appends the table to
# bench/results/serve.txt.
#   N=5000 MIX_S=5 bench/serve_mixed.sh build
set -eu
build=${1:-build}
bin="$build/bin"
N=${N:-20000}
DIM=${DIM:-128}
MIX_S=${MIX_S:-30}
B=${B:-10}
PY=/usr/bin/python3
. "$(dirname "$0")/serve_lib.sh"
command -v wrk >/dev/null || { echo "serve_mixed.sh: wrk not installed (scripts/deps.sh --bench)" >&2; exit 5; }
tmp=$(mktemp -d)
pid="" wpid=""
cleanup() {
    [ -n "$wpid" ] && kill "$wpid" 2>/dev/null && wait "$wpid" 2>/dev/null
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

$PY - "$N" "$DIM" "$tmp" <<'EOF'
import json, random, sys
n, dim, tmp = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
r = random.Random(2)
with open(tmp + "/recs.ndjson", "w") as f:
    for i in range(n):
        v = [round(r.gauss(0, 1), 4) for _ in range(dim)]
        f.write(json.dumps({"id": "d%d" % i, "vector": v}) + "\n")
qs = [json.dumps({"id": "q%d" % i, "k": 10,
                  "vector": [round(r.gauss(0, 1), 4) for _ in range(dim)]}) for i in range(64)]
with open(tmp + "/queries.ndjson", "w") as f:
    f.write("".join(q + "\n" for q in qs))
EOF
serve_wrk_lua "$tmp/queries.ndjson" "$tmp/wrk.lua"
# the writer: batches of B new records, one request after another on one
# connection; each acknowledged id goes to acked (flushed at once), then
# the count of requests and the seconds taken to writer.out when it stops
cat > "$tmp/writer.py" <<'EOF'
import http.client, json, random, signal, sys, time
port, dim, b, acked = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
r = random.Random(5)
stop = False
def on_term(*a):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
out = open(acked, "a", buffering=1)
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
i = reqs = 0
t0 = time.time()
while not stop:
    ids = ["w%d" % (i + j) for j in range(b)]
    body = "\n".join(json.dumps({"id": x, "vector": [round(r.gauss(0, 1), 4) for _ in range(dim)]})
                     for x in ids) + "\n"
    try:
        conn.request("POST", "/v1/stores/kb/upsert", body, {"Content-Type": "application/x-ndjson"})
        resp = conn.getresponse()
        resp.read()
    except (OSError, http.client.HTTPException):
        break  # the server is gone (kill -9)
    if resp.status == 200:
        out.write("".join(x + "\n" for x in ids))
        reqs += 1
    i += b
with open(acked + ".stats", "w") as f:
    f.write("%d %.3f\n" % (reqs, time.time() - t0))
EOF

"$bin/vs-ingest" "$tmp/kb.vs" < "$tmp/recs.ndjson" 2>/dev/null
serve_start "$tmp/kb.vs" 4 400
$PY "$tmp/writer.py" "$port" "$DIM" "$B" "$tmp/acked" &
wpid=$!
sleep 1
r=$(wrk -t2 -c8 -d${MIX_S}s --timeout 10s -s "$tmp/wrk.lua" "http://127.0.0.1:$port/v1/stores/kb/query" |
    sed -n 's/^RESULT //p')
acked_during=$(wc -l < "$tmp/acked")
# kill -9 while the writer is still writing
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
pid=""
wait "$wpid" 2>/dev/null || true
wpid=""
nacked=$(wc -l < "$tmp/acked")
read -r wreqs wsecs < "$tmp/acked.stats"
verify=ok
"$bin/vs-index" verify "$tmp/kb.vs" >/dev/null 2>"$tmp/verify.err" || verify="FAILED: $(cat "$tmp/verify.err")"
# every acknowledged id is in the store: as exported, and as a restarted server finds it
"$bin/vs-index" export "$tmp/kb.vs" | $PY -c '
import json, sys
have = set(o["id"] for o in map(json.loads, sys.stdin) if "op" not in o)  # not the stream markers
acked = [l.strip() for l in open(sys.argv[1])]
print(sum(1 for a in acked if a not in have), len(have))' "$tmp/acked" > "$tmp/missing"
read -r missing total < "$tmp/missing"
serve_start "$tmp/kb.vs" 4 400
last=$(tail -n 1 "$tmp/acked")
served=$(curl -s --data-binary "{\"id\":\"q\",\"vector\":[$(seq -s, $DIM | sed 's/[0-9]*/0.5/g')],\"k\":1,\"filter\":\"id = \\\"$last\\\"\"}" \
    "http://127.0.0.1:$port/v1/stores/kb/query")
kill "$pid"; wait "$pid" 2>/dev/null || true
pid=""
case "$served" in *"\"id\":\"$last\""*) served=yes ;; *) served="NO: $served" ;; esac

out=${OUT:-bench/results/serve.txt}
{
    echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ) vs-serve mixed load, $N records dim $DIM, $(nproc) cores, load average $(cut -d" " -f1 /proc/loadavg) at the end, ${MIX_S}s of wrk -c8 queries (k=10) during upserts of $B records per request, then kill -9 mid-write"
    printf '%-28s %10s %10s %10s %8s\n' "run" "queries/s" "p50_ms" "p99_ms" "errors"
    serve_row "http c=8 during upserts" "$r"
    printf 'upserts: %d requests (%d records) acknowledged in %.1f s (%.1f requests/s), %d records by the end of the query run\n' \
        "$wreqs" "$nacked" "$wsecs" "$(echo "$wreqs $wsecs" | awk '{print $1 / $2}')" "$acked_during"
    printf 'after kill -9: vs-index verify %s; %d of %d acknowledged records missing (store holds %d); last acknowledged id found by a restarted server: %s\n' \
        "$verify" "$missing" "$nacked" "$total" "$served"
} > "$tmp/table"
cat "$tmp/table"
mkdir -p bench/results
cat "$tmp/table" >> "$out"
[ "$verify" = ok ] && [ "$missing" -eq 0 ] && [ "$served" = yes ]
