#!/usr/bin/env bats
# vs-query --shard over local stores and vs-serve URLs: text and hybrid with
# global term statistics equal one store holding every record; a remote
# shard that fails is exit 5 naming it, or left out and marked with
# --partial. Servers listen on 127.0.0.1, ports the kernel picks.
load helpers

setup() {
    cd "$BATS_TEST_TMPDIR"
    mkdir docs
    # random words, so that no two hits of a query tie (equal scores may
    # come in another order from shards than from one store)
    $PY - <<'EOF'
import random
random.seed(7)
W = ['alpha', 'beta', 'gamma', 'delta', 'index', 'shard', 'vector', 'query', 'score',
     'merge', 'graph', 'text', 'store', 'segment', 'token', 'model', 'search', 'rank',
     'fusion'] + ['w%d' % i for i in range(60)]
for i in range(60):
    words = [random.choice(W) for _ in range(random.randint(8, 30))]
    open('docs/d%d.txt' % i, 'w').write(' '.join(words) + '\n')
EOF
    vs-chunk docs 2>/dev/null | vs-embed --model hash 2>/dev/null > emb.ndjson
    vs-ingest -q one.vs < emb.ndjson
    for i in 0 1 2; do vs-shard "$i/3" emb.ndjson | vs-ingest -q "kb$i.vs"; done
    printf '%s\n' '{"id":"a","text":"alpha shard w3 gamma"}' \
        '{"id":"b","text":"vector index w10 w11 fusion"}' \
        '{"id":"c","text":"\"merge graph\" token w5","k":3}' > q.ndjson
    SRV=()
}

teardown() {
    local p
    for p in "${SRV[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done
}

# serve NAME STORE [ARGS...]: vs-serve on a free port; sets URL_<NAME>
serve() {
    local name=$1 store=$2
    shift 2
    start_server "$@" "kb=$store"
    SRV+=("$SRV_PID")
    printf -v "URL_$name" '%s/v1/stores/kb' "$U"
}

hits() { grep -v '"op":"begin"\|"op":"end"' "$1"; }

@test "shards: text and hybrid over local shards are one store's hits, byte for byte" {
    for mode in text hybrid vector; do
        for fusion in weighted rrf; do
            vs-query --mode "$mode" --fusion "$fusion" -k 5 one.vs q.ndjson > one.out
            run_split vs-query --mode "$mode" --fusion "$fusion" -k 5 \
                --shard kb0.vs --shard kb1.vs --shard kb2.vs q.ndjson
            expect_status 0
            [ -z "$err" ]
            [ "$(hits one.out | wc -l)" -eq 13 ]
            [ "$out" = "$(hits one.out)" ]
        done
    done
    # the first phase matters: a shard's own statistics give other scores
    vs-query --mode text -k 5 kb0.vs q.ndjson > own.out
    id=$($PY -c 'import json,sys; print(json.loads(open("own.out").readline())["id"])')
    own=$(grep "\"qid\":\"a\",\"id\":\"$id\"" own.out | $PY -c 'import json,sys; print(json.loads(sys.stdin.readline())["score"])')
    vs-query --mode text -k 60 one.vs q.ndjson > one60.out
    all=$(grep "\"qid\":\"a\",\"id\":\"$id\"" one60.out | $PY -c 'import json,sys; print(json.loads(sys.stdin.readline())["score"])')
    [ -n "$own" ]
    [ -n "$all" ]
    [ "$own" != "$all" ]
}

@test "shards: remote shards (vs-serve URLs, a key from VS_QUERY_SHARD_KEY) mixed with a local one equal one store" {
    h=$(vs-serve --hash-key <<< shard-key | $PY -c 'import json,sys; print(json.load(sys.stdin)["hash"])')
    printf '{"name":"coord","hash":"%s","scopes":["read"]}\n' "$h" > keys
    serve 0 kb0.vs --keys keys
    serve 1 kb1.vs --keys keys
    for mode in text hybrid; do
        vs-query --mode "$mode" -k 5 one.vs q.ndjson > one.out
        VS_QUERY_SHARD_KEY=shard-key run_split vs-query --mode "$mode" -k 5 \
            --shard "$URL_0" --shard kb2.vs --shard "$URL_1" q.ndjson
        expect_status 0
        [ -z "$err" ]
        [ "$out" = "$(hits one.out)" ]
    done
    vs-query --mode vector --exact -k 4 one.vs q.ndjson > one.out
    VS_QUERY_SHARD_KEY=shard-key run_split vs-query --mode vector --exact -k 4 \
        --shard "$URL_0" --shard kb2.vs --shard "$URL_1" q.ndjson
    expect_status 0
    [ "$out" = "$(hits one.out)" ]
    # no key: the shard's 401 is exit 5 naming the shard, nothing written
    run_split env -u VS_QUERY_SHARD_KEY vs-query --mode text -k 5 \
        --shard kb2.vs --shard "$URL_0" q.ndjson
    expect_status 5
    [ -z "$out" ]
    [[ "$err" == "vs-query: error: $URL_0: "*"HTTP 401"* ]]
}

@test "shards: a remote shard that cannot be reached is exit 5 naming it; --partial leaves it out and marks the hits" {
    serve 0 kb0.vs
    dead=http://127.0.0.1:1/v1/stores/kb
    run_split vs-query --mode text -k 5 --shard "$URL_0" --shard "$dead" q.ndjson
    expect_status 5
    [ -z "$out" ]
    [[ "$err" == "vs-query: error: $dead: "*"failed"* ]]
    [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ]
    run_split vs-query --partial --mode text -k 5 --shard "$URL_0" --shard "$dead" q.ndjson
    expect_status 0
    [[ "$err" == "vs-query: warning: shard left out (--partial), its hits are missing: $dead: "* ]]
    [ "$(printf '%s\n' "$out" | wc -l)" -gt 0 ]
    [ "$(printf '%s\n' "$out" | grep -c '"partial":true')" -eq "$(printf '%s\n' "$out" | wc -l)" ]
    # what is left is shard 0's part of the global answer: no hit of another shard
    vs-index list-ids kb0.vs | $PY -c 'import json,sys; [print(json.loads(l)["id"]) for l in sys.stdin]' | sort > ids0
    [ -s ids0 ]
    printf '%s\n' "$out" | $PY -c 'import json,sys; [print(json.loads(l)["id"]) for l in sys.stdin]' | sort -u > got
    [ -z "$(comm -23 got ids0)" ]
    # every shard up: no mark
    run_split vs-query --mode text -k 5 --shard "$URL_0" --shard kb1.vs q.ndjson
    expect_status 0
    [[ "$out" != *'"partial"'* ]]
}

@test "shards: usage errors: --partial without --shard, text over shards with --explain" {
    run_split vs-query --partial one.vs q.ndjson
    expect_status 2
    [[ "$err" == *"--partial is for --shard"* ]]
    run_split vs-query --mode text --explain --shard kb0.vs --shard kb1.vs q.ndjson
    expect_status 2
    [ -z "$out" ]
    [[ "$err" == *"do not take group-by, explain"* ]]
}

@test "shards: POST .../shard refuses a bad header with 400 naming line 1" {
    serve 0 kb0.vs
    run curl -s -o body -w '%{http_code}' "$URL_0/shard" --data-binary $'{"phase":"nope"}\n{"id":"a","text":"x"}'
    [ "$output" = 400 ]
    grep -q '"line":1' body
    grep -q '"field":"phase"' body
    run curl -s -o body -w '%{http_code}' "$URL_0/shard" --data-binary $'{"phase":"stats"}\n{"id":"a","text":"alpha"}'
    [ "$output" = 200 ]
    $PY -c 'import json; o = json.load(open("body")); assert o["docs"] > 0 and o["df"]["alpha"] > 0 and o["metric"] == "cosine", o'
}

@test "shards: vs-serve --shard serves local and remote shards as one collection, answers equal one store" {
    serve 0 kb0.vs
    serve 1 kb1.vs
    start_server --shard "all=$URL_0" --shard all=kb2.vs --shard "all=$URL_1"
    SRV+=("$SRV_PID")
    for mode in text hybrid vector; do
        $PY -c 'import json,sys
for l in open("q.ndjson"):
    r = json.loads(l); r["mode"] = sys.argv[1]; print(json.dumps(r))' "$mode" > req.ndjson
        vs-query --mode "$mode" one.vs q.ndjson > one.out
        run curl -s -H 'Content-Type: application/x-ndjson' --data-binary @req.ndjson "$U/v1/stores/all/query"
        [ "$status" -eq 0 ]
        [ "$output" = "$(hits one.out)" ]
    done
    # one record: {"hits": [...]}, as for a store
    run curl -s "$U/v1/stores/all/query" -d '{"id":"x","text":"alpha","k":2,"mode":"text"}'
    [[ "$output" == '{"hits":[{"qid":"x","id":'* ]]
    run curl -s "$U/v1/stores/all"
    [ "$output" = "{\"name\":\"all\",\"shards\":[\"$URL_0\",\"kb2.vs\",\"$URL_1\"]}" ]
    run curl -s -o body -w '%{http_code}' "$U/v1/stores/all/upsert" -d '{"id":"z","text":"x"}'
    [ "$output" = 400 ]
    grep -q '"code":"unsupported"' body
    # a shard that is gone: 502 naming it
    kill "${SRV[0]}"
    wait "${SRV[0]}" 2>/dev/null || true
    run curl -s -o body -w '%{http_code}' "$U/v1/stores/all/query" -d '{"id":"x","text":"alpha","mode":"text"}'
    [ "$output" = 502 ]
    grep -q "$URL_0" body
}

@test "shards: vs-serve --shard usage: NAME=SHARD, a local shard must open" {
    run_split vs-serve --listen 127.0.0.1:0 --shard nosign
    expect_status 2
    [[ "$err" == *"--shard 'nosign': expected NAME=STORE or NAME=URL"* ]]
    run_split vs-serve --listen 127.0.0.1:0 --shard all=missing.vs
    expect_status 4
    [[ "$err" == *"missing.vs"* ]]
    run_split vs-serve --listen 127.0.0.1:0 --shard all=http://127.0.0.1:1/v1/kb
    expect_status 2
    [ -z "$out" ]
    [[ "$err" == *"shard URL 'http://127.0.0.1:1/v1/kb': expected http(s)://HOST:PORT/v1/stores/NAME"* ]]
}

# slow_shard: a port that takes connections and never answers (the kernel
# accepts them; nothing reads), for at most 30 s; sets SLOW (a store URL)
slow_shard() {
    $PY -c '
import os, socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
open("slow.port.t", "w").write(str(s.getsockname()[1]))
os.rename("slow.port.t", "slow.port")
time.sleep(30)' &
    SRV+=("$!")
    local i
    for i in $(seq 100); do [ -s slow.port ] && break; sleep 0.1; done
    [ -s slow.port ] || false
    SLOW="http://127.0.0.1:$(cat slow.port)/v1/stores/kb"
}

@test "shards: --shard-timeout: a shard that does not answer in time is exit 5 naming it; --partial keeps the others" {
    serve 0 kb0.vs
    slow_shard
    run_split vs-query --mode text -k 5 --shard-timeout 400 --shard "$URL_0" --shard "$SLOW" \
        --shard kb2.vs q.ndjson
    expect_status 5
    [ -z "$out" ]
    [[ "$err" == "vs-query: error: $SLOW: no answer from '$SLOW/shard' before the deadline"* ]]
    [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ]
    for mode in text hybrid vector; do
        run_split vs-query --partial --mode "$mode" -k 5 --shard-timeout 400 --shard "$URL_0" \
            --shard "$SLOW" --shard kb2.vs q.ndjson
        expect_status 0
        [[ "$err" == "vs-query: warning: shard left out (--partial), its hits are missing: $SLOW: no answer"* ]]
        [ "$(printf '%s\n' "$err" | grep -c 'left out')" -ge 1 ]
        [[ "$err" != *"$URL_0:"* ]]
        [[ "$err" != *"kb2.vs:"* ]]
        # the others' hits are there: ids of shards 0 and 2 only, all marked
        printf '%s\n' "$out" | $PY -c 'import json,sys; [print(json.loads(l)["id"]) for l in sys.stdin]' | sort -u > got
        (vs-index list-ids kb0.vs; vs-index list-ids kb2.vs) | $PY -c 'import json,sys; [print(json.loads(l)["id"]) for l in sys.stdin]' | sort > ids02
        [ -s got ]
        [ -z "$(comm -23 got ids02)" ]
        [ "$(printf '%s\n' "$out" | grep -c '"partial":true')" -eq "$(printf '%s\n' "$out" | wc -l)" ]
    done
    run_split vs-query --shard-timeout 400 one.vs q.ndjson
    expect_status 2
    [[ "$err" == *"--shard-timeout is for --shard"* ]]
    run_split vs-query --shard-timeout 0 --shard kb0.vs q.ndjson
    expect_status 2
    [[ "$err" == *"--shard-timeout"* ]]
}

@test "shards: a bare http://HOST:PORT shard is the one store its vs-serve serves; several stores or another path is a usage error" {
    serve 0 kb0.vs
    base=${URL_0%/v1/stores/kb}
    vs-query --mode vector --exact -k 4 one.vs q.ndjson > one.out
    for b in "$base" "$base/"; do
        run_split vs-query --mode vector --exact -k 4 --shard "$b" --shard kb1.vs --shard kb2.vs q.ndjson
        expect_status 0
        [ -z "$err" ]
        [ "$out" = "$(hits one.out)" ]
    done
    start_server --insecure-no-auth a=kb1.vs b=kb2.vs
    SRV+=("$SRV_PID")
    run_split vs-query --shard "$U" --shard kb0.vs q.ndjson
    expect_status 2
    [ -z "$out" ]
    [ "$(printf '%s\n' "$err" | head -n 1)" = "vs-query: error: shard URL '$U': that vs-serve serves 2 stores (a, b): name one, $U/v1/stores/NAME" ]
    run_split vs-query --shard "$base/v1/kb" --shard kb1.vs q.ndjson
    expect_status 2
    [[ "$err" == "vs-query: error: shard URL '$base/v1/kb': expected http(s)://HOST:PORT/v1/stores/NAME"* ]]
}

@test "shards: a vs-serve --shard collection is in GET /v1/stores, /readyz (503 naming a shard that is down) and /metrics; its deadline is --timeout-ms (504)" {
    serve 0 kb0.vs
    serve 1 kb1.vs
    slow_shard
    start_server --insecure-no-auth --shard "all=${URL_0%/v1/stores/kb}" --shard all=kb2.vs \
        --shard "all=$URL_1" kb=one.vs
    SRV+=("$SRV_PID")
    C=$U
    run curl -s "$C/v1/stores"
    [ "$output" = '{"stores":["kb","all"],"sharded":["all"]}' ]
    run curl -s -o body -w '%{http_code}' "$C/readyz"
    [ "$output" = 200 ]
    [ "$(cat body)" = '{"status":"ready","stores":1,"sharded":1,"shards_down":[]}' ]
    run curl -s -o body -w '%{http_code}' "$C/v1/stores/all/query" -d '{"id":"x","text":"alpha","mode":"text"}'
    [ "$output" = 200 ]
    run curl -s "$C/metrics"
    # two requests (statistics, search) to each shard, none failed
    [[ "$output" == *"vs_queries_total{store=\"all\"} 1"* ]]
    for sh in "${URL_0%/v1/stores/kb}" kb2.vs "$URL_1"; do
        [[ "$output" == *"vs_shard_requests_total{collection=\"all\",shard=\"$sh\"} 2"* ]]
        [[ "$output" == *"vs_shard_errors_total{collection=\"all\",shard=\"$sh\"} 0"* ]]
        [[ "$output" == *"vs_shard_request_duration_seconds_count{collection=\"all\",shard=\"$sh\"} 2"* ]]
        [[ "$output" == *"vs_shard_request_duration_seconds_bucket{collection=\"all\",shard=\"$sh\",le=\"+Inf\"} 2"* ]]
    done
    # shard 1 gone: not ready, naming it; a query is 502 naming it, counted
    kill "${SRV[1]}"
    wait "${SRV[1]}" 2>/dev/null || true
    run curl -s -o body -w '%{http_code}' "$C/readyz"
    [ "$output" = 503 ]
    $PY -c 'import json,sys; o = json.load(open("body")); assert o["status"] == "not_ready" and o["sharded"] == 0 and len(o["shards_down"]) == 1 and o["shards_down"][0].startswith("all: shard " + sys.argv[1] + ": "), o' "$URL_1"
    run curl -s -o body -w '%{http_code}' "$C/v1/stores/all/query" -d '{"id":"x","text":"alpha","mode":"text"}'
    [ "$output" = 502 ]
    grep -q "$URL_1" body
    run curl -s "$C/metrics"
    [[ "$output" == *"vs_shard_errors_total{collection=\"all\",shard=\"$URL_1\"} 1"* ]]
    # a shard that does not answer: 504 at the request's deadline, naming it
    start_server --insecure-no-auth --timeout-ms 500 --shard "all=$URL_0" --shard "all=$SLOW"
    SRV+=("$SRV_PID")
    run curl -s -o body -w '%{http_code}' "$U/v1/stores/all/query" -d '{"id":"x","text":"alpha","mode":"text"}'
    [ "$output" = 504 ]
    grep -q "no answer from '$SLOW/shard' before the deadline" body
    run curl -s -o body -w '%{http_code}' "$U/readyz"
    [ "$output" = 503 ]
    grep -q "all: shard $SLOW: " body
}
