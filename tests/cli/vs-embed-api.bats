#!/usr/bin/env bats
# vs-embed with API models (openai:, ollama:, cohere:) against tests/mock_embed.py,
# and the cl100k_base token counts against js-tiktoken's own counter.
load helpers

KEY=sk-test-VERYSECRET-4242

setup() {
    SCRATCH=$(mktemp -d)
    mkdir -p "$SCRATCH/mock"
    $PY "$BATS_TEST_DIRNAME/../mock_embed.py" --port-file "$SCRATCH/mock/port" \
        --log "$SCRATCH/mock/log" --key "$KEY" &
    MOCK_PID=$!
    for _ in $(seq 50); do [ -f "$SCRATCH/mock/port" ] && break; sleep 0.1; done
    URL="http://127.0.0.1:$(cat "$SCRATCH/mock/port")"
    export VS_MODEL_DIR="$FIXTURES/bpe"   # the toy rank table
    export VS_CACHE_DIR="$SCRATCH/cache"
    export OPENAI_API_KEY="$KEY" COHERE_API_KEY="$KEY"
    cd "$SCRATCH"
    printf '%s\n' '{"id":"a","text":"the vector"}' '{"id":"b","text":"hello there","n":1}' \
        '{"id":"c","text":"a third text"}' '{"id":"d","text":"and the fourth"}' > in.jsonl
}

# traced CMD...: run CMD under strace, its sleeps (nanosleep) in
# $SCRATCH/sleeps, one duration in seconds per line: the waits the program
# asked for, whatever the load of the machine. (LeakSanitizer cannot run
# under ptrace: leaks are checked by the other tests.)
traced() {
    command -v strace >/dev/null && strace -o /dev/null true ||
        skip "strace is missing or cannot trace here (scripts/deps.sh installs it)"
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
        strace -f -e trace=nanosleep,clock_nanosleep -o "$SCRATCH/strace.txt" "$@"
    $PY -c '
import re, sys
for l in open(sys.argv[1]):
    m = re.search(r"nanosleep\((?:\w+, 0, )?\{tv_sec=(\d+), tv_nsec=(\d+)\}", l)
    if m:
        print("%.9f" % (int(m.group(1)) + int(m.group(2)) / 1e9))' "$SCRATCH/strace.txt" > "$SCRATCH/sleeps"
}

teardown() {
    kill "$MOCK_PID" 2>/dev/null || true
    wait "$MOCK_PID" 2>/dev/null || true
    rm -rf "$SCRATCH"
}

# vectors_from_mock DIM < NDJSON: every record's vector is the mock's vector
# of its text, records in the order of file $2 (ids).
vectors_ok() {
    $PY -c '
import json, sys
sys.path.insert(0, sys.argv[3])
from mock_embed import vector
dim = int(sys.argv[1])
want = [json.loads(l)["id"] for l in open(sys.argv[2])]
got = [json.loads(l) for l in sys.stdin if l.strip()]
assert [g["id"] for g in got] == want, ([g["id"] for g in got], want)
for g in got:
    v = vector(g["text"], dim)
    assert len(g["vector"]) == dim
    assert max(abs(a - b) for a, b in zip(g["vector"], v)) < 1e-6, g["id"]
' "$1" "$2" "$BATS_TEST_DIRNAME/.."
}

log_field() { # log_field EXPR: print EXPR over the mock log lines (as o)
    $PY -c '
import json, sys
for o in map(json.loads, open(sys.argv[1])):
    v = eval(sys.argv[2])
    print(*v) if isinstance(v, tuple) else print(v)
' "$SCRATCH/mock/log" "$1"
}

@test "vs-embed openai: vectors from the server, in input order, fields kept, key sent" {
    run_split vs-embed --model openai:ok-4:4 --base-url "$URL/v1" in.jsonl || true
    expect_status 0
    expect_ndjson
    [ -z "$err" ]
    printf '%s\n' "$out" | vectors_ok 4 in.jsonl
    printf '%s\n' "$out" | sed -n 2p | $PY -c '
import json, sys
o = json.loads(sys.stdin.read())
assert list(o) == ["id", "text", "n", "vector", "vector_model"], list(o)
assert o["vector_model"] == "openai:ok-4:4"
'
    [ "$(log_field 'o["auth_ok"], o["n"], o["path"]')" = "True 4 /v1/embeddings" ]
}

@test "vs-embed openai: one connection is reused for all requests of a worker" {
    run_split vs-embed --model openai:ok-4:4 --base-url "$URL/v1" --request-size 1 --no-cache in.jsonl || true
    expect_status 0
    [ "$(log_field 'o["port"]' | wc -l)" -eq 4 ]
    [ "$(log_field 'o["port"]' | sort -u | wc -l)" -eq 1 ]
}

@test "vs-embed openai: items out of order are placed by index" {
    run_split vs-embed --model openai:shuffle-4:4 --base-url "$URL/v1" in.jsonl || true
    expect_status 0
    printf '%s\n' "$out" | vectors_ok 4 in.jsonl
}

@test "vs-embed openai: text-embedding-3-small with a smaller DIM sends dimensions" {
    run_split vs-embed --model openai:text-embedding-3-small:4 --base-url "$URL/v1" in.jsonl || true
    expect_status 0
    [ "$(log_field 'o["dimensions"], o["model"]')" = "4 text-embedding-3-small" ]
    run_split vs-embed --model openai:text-embedding-ada-002:4 --base-url "$URL/v1" in.jsonl || true
    expect_status 2
    [[ "$err" == *"has dimension 1536"* ]]
}

@test "vs-embed ollama and cohere: their endpoints and shapes; --as sets input_type" {
    run_split vs-embed --model ollama:ok-4:4 --base-url "$URL" --api-key-env OPENAI_API_KEY in.jsonl || true
    expect_status 0
    printf '%s\n' "$out" | vectors_ok 4 in.jsonl
    run_split vs-embed --dry-run --model cohere:embed-english-light-v3.0 in.jsonl || true
    expect_status 0
    [[ "$out" == *'"model":"cohere:embed-english-light-v3.0:384"'* ]]
    # the mock answers 8 numbers for this name: the dimension is checked
    run_split vs-embed --model cohere:embed-english-light-v3.0 --base-url "$URL/v1" --no-cache in.jsonl || true
    expect_status 5
    [[ "$err" == *"embedding 0 has 8 numbers, expected 384"* ]]
    run_split vs-embed --model cohere:ok-4:4 --as query --base-url "$URL/v1" in.jsonl || true
    expect_status 0
    printf '%s\n' "$out" | vectors_ok 4 in.jsonl
    [ "$(log_field 'o["path"], o["input_type"]' | sort -u | tr '\n' ';')" = "/api/embed None;/v1/embed search_document;/v1/embed search_query;" ]
}

@test "vs-embed openai: 429 with Retry-After waits that long, then succeeds" {
    run_split vs-embed --model openai:ratelimit-4:4 --base-url "$URL/v1" --stats --no-cache in.jsonl || true
    expect_status 0
    printf '%s\n' "$out" | vectors_ok 4 in.jsonl
    [[ "$err" == *'"retries":2'* ]]
    [[ "$err" == *'"attempts":3'* ]]
    [ "$(log_field 'o["status"]' | tr '\n' ' ')" = "429 429 200 " ]
    $PY -c 'import json,sys; t=[json.loads(l)["t"] for l in open(sys.argv[1])]; assert t[1]-t[0] >= 0.95 and t[2]-t[1] >= 0.95, t' "$SCRATCH/mock/log"
}

@test "vs-embed openai: 429 without Retry-After and 500s back off with jitter within 0.5, 1, 2 s" {
    # the waits are the ones vs-embed asks the kernel for (strace), not
    # times measured on a machine that may be loaded
    traced vs-embed --model openai:ratelimit0-4:4 --base-url "$URL/v1" --stats --no-cache in.jsonl \
        > "$SCRATCH/out" 2> "$SCRATCH/err"
    [[ "$(cat "$SCRATCH/err")" == *'"retries":3'* ]]
    [ "$(wc -l < "$SCRATCH/mock/log")" -eq 4 ]
    $PY -c '
import sys
s = [float(l) for l in open(sys.argv[1])]
assert len(s) == 3, s
for x, ceil in zip(s, [0.5, 1.0, 2.0]):
    assert 0 < x <= ceil, s
assert s != [0.5, 1.0, 2.0], s   # jitter: not the ceilings themselves
' "$SCRATCH/sleeps"
    run_split vs-embed --model openai:flaky-4:4 --base-url "$URL/v1" --stats --no-cache in.jsonl || true
    expect_status 0
    printf '%s\n' "$out" | vectors_ok 4 in.jsonl
    [[ "$err" == *'"retries":2'* ]]
}

@test "vs-embed openai: Retry-After as an HTTP date is honoured; a 401 is not retried" {
    traced vs-embed --model openai:ratelimitdate-4:4 --base-url "$URL/v1" --stats --no-cache in.jsonl \
        > "$SCRATCH/out"
    vectors_ok 4 in.jsonl < "$SCRATCH/out"
    [ "$(log_field 'o["status"]' | tr '\n' ' ')" = "429 200 " ]
    # the date has whole seconds, 2 s ahead of the mock's clock: the retry
    # comes 1 s later at least (a slow machine only makes it later) ...
    $PY -c 'import json,sys; t=[json.loads(l)["t"] for l in open(sys.argv[1])]; assert t[1]-t[0] >= 0.95, t' "$SCRATCH/mock/log"
    # ... and vs-embed waits at most the 2 s: what it asked the kernel for
    $PY -c 'import sys; s=[float(l) for l in open(sys.argv[1])]; assert len(s) == 1 and 0 < s[0] <= 2.0, s' "$SCRATCH/sleeps"
    : > "$SCRATCH/mock/log"
    run_split vs-embed --model openai:echokey-4:4 --base-url "$URL/v1" --max-retries 3 --no-cache in.jsonl
    expect_status 5
    [[ "$err" == *"answered HTTP 401"* ]]
    [ "$(wc -l < "$SCRATCH/mock/log")" -eq 1 ]
}

@test "vs-embed openai: a refused connection is retried, then exit 5" {
    # a port nobody listens on: the mock's, after the mock is gone
    kill "$MOCK_PID"; wait "$MOCK_PID" 2>/dev/null || true
    run_split vs-embed --model openai:ok-4:4 --base-url "$URL/v1" --max-retries 2 --no-cache in.jsonl
    expect_status 5
    [ -z "$out" ]
    [[ "$err" == "vs-embed: error: in.jsonl:1: "*"(after 2 retries)"* ]]
}

@test "vs-embed openai: a number too big for a double in a response is exit 5" {
    run_split vs-embed --model openai:overflow-4:4 --base-url "$URL/v1" --no-cache in.jsonl
    expect_status 5
    [ -z "$out" ]
    [[ "$err" == *"bad response from"* ]]
}

@test "vs-embed openai: a server that stays down is exit 5 after --max-retries, with its message" {
    run_split vs-embed --model openai:down-4:4 --base-url "$URL/v1" --max-retries 2 --no-cache in.jsonl || true
    expect_status 5
    [ -z "$out" ]
    [[ "$err" == "vs-embed: error: in.jsonl:1: "*"HTTP 500 (after 2 retries): the server is down"* ]]
    [ "$(wc -l < "$SCRATCH/mock/log")" -eq 3 ]
}

@test "vs-embed openai: a timeout is retried, then exit 5" {
    # the mock answers after 3 s: without the 0.5 s timeout the request
    # would succeed (exit 0), so exit 5 naming the timeout is the proof
    run_split vs-embed --model openai:slow-4:4 --base-url "$URL/v1" --timeout 0.5 --max-retries 1 --no-cache in.jsonl || true
    expect_status 5
    [[ "$err" == *"imeout"*"(after 1 retries)"* ]]
}

@test "vs-embed openai: invalid responses are exit 5 naming the problem" {
    for m in truncjson:"not a JSON object" wrongcount:"3 embeddings for 4 inputs" \
             wrongdim:"embedding 3 has 3 numbers, expected 4" dupindex:"index 0 appears twice" \
             badvalue:"not a number"; do
        run_split vs-embed --model "openai:${m%%:*}-4:4" --base-url "$URL/v1" --no-cache in.jsonl || true
        expect_status 5
        [[ "$err" == *"bad response from"*"${m#*:}"* ]] || { echo "$m: $err" >&2; false; }
        [ -z "$out" ]
    done
}

@test "vs-embed openai: a failed batch keeps the records already written; --keep-going writes an error field" {
    printf '%s\n' '{"id":"a","text":"one"}' '{"id":"b","text":"two"}' \
        '{"id":"c","text":"FAIL here"}' '{"id":"d","text":"four"}' '{"id":"e","text":"five"}' > f.jsonl
    run_split vs-embed --model openai:ok-4:4 --base-url "$URL/v1" --batch 2 --max-retries 0 --no-cache f.jsonl || true
    expect_status 5
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 2 ]
    [[ "$err" == *"f.jsonl:3: "*"cannot embed this"* ]]
    run_split vs-embed --model openai:ok-4:4 --base-url "$URL/v1" --batch 2 --max-retries 0 --no-cache --keep-going --stats f.jsonl || true
    expect_status 0
    expect_ndjson
    printf '%s\n' "$out" | $PY -c '
import json, sys
r = [json.loads(l) for l in sys.stdin]
assert [o["id"] for o in r] == list("abcde")
for o in r:
    if o["id"] in "cd":   # one request: c and d
        assert "vector" not in o and "cannot embed this" in o["error"], o
    else:
        assert "vector" in o and "error" not in o, o
'
    [[ "$err" == *warning*"f.jsonl:3:"* ]]
    [[ "$err" == *'"failed":2'* ]]
}

@test "vs-embed openai: --rpm spaces requests; --tpm spaces them by tokens" {
    run_split vs-embed --model openai:ok-4:4 --base-url "$URL/v1" --request-size 1 --rpm 300 --no-cache in.jsonl || true
    expect_status 0
    $PY -c '
import json, sys
t = [json.loads(l)["t"] for l in open(sys.argv[1])]
# the mock notes a time when its thread gets to the request: allow 0.1 s of scheduling noise
assert len(t) == 4 and all(b - a >= 0.1 for a, b in zip(t, t[1:])), t
assert t[-1] - t[0] >= 0.55, t
' "$SCRATCH/mock/log"
    : > "$SCRATCH/mock/log"
    # toy tokenizer: "the vector" is 2 tokens, "hello there" 6, "a third text" 9, "and the fourth" 8
    run_split vs-embed --model openai:ok-4:4 --base-url "$URL/v1" --request-size 1 --tpm 600 --no-cache in.jsonl || true
    expect_status 0
    $PY -c '
import json, sys
t = [json.loads(l)["t"] for l in open(sys.argv[1])]
toks = [2, 6, 9]
for a, b, k in zip(t, t[1:], toks):
    assert b - a >= 60.0 * k / 600 - 0.1, (t, k)
assert t[3] - t[0] >= 60.0 * 17 / 600 - 0.1, t
' "$SCRATCH/mock/log"
}

@test "vs-embed openai: --request-tokens fills each request up to N tokens, in input order" {
    local t
    : > r.jsonl
    for t in "one" "the vector of words" "a much longer text with many more words in it than the others" \
             "x y" "hello there general" "short"; do
        printf '{"id":"r%d","text":"%s"}\n' "$(wc -l < r.jsonl)" "$t" >> r.jsonl
        # each text's token count on its own (one run per text)
        printf '{"id":"i","text":"%s"}\n' "$t" |
            vs-embed --model openai:ok-4:4 --base-url "$URL/v1" --no-cache --stats 2>&1 >/dev/null |
            jq .tokens >> tok.txt
    done
    : > "$SCRATCH/mock/log"
    run_split vs-embed --model openai:ok-4:4 --base-url "$URL/v1" --request-tokens 15 --stats --no-cache r.jsonl
    expect_status 0
    printf '%s\n' "$out" | vectors_ok 4 r.jsonl
    # the requests: texts in input order, a new request when the next text
    # would pass 15 tokens; a text longer than 15 goes alone
    $PY - tok.txt r.jsonl "$SCRATCH/mock/log" <<'PYEOF'
import json, sys
tok = [int(l) for l in open(sys.argv[1])]
texts = [json.loads(l)["text"] for l in open(sys.argv[2])]
want, cur, n = [], [], 0
for t, k in zip(texts, tok):
    if cur and n + k > 15:
        want.append(cur)
        cur, n = [], 0
    cur.append(t)
    n += k
want.append(cur)
got = [json.loads(l)["texts"] for l in open(sys.argv[3])]
assert got == want, (got, want, tok)
assert 1 < len(want) < len(texts), want   # batching happened, and limits did
PYEOF
    [[ "$err" == *"\"tokens\":$(paste -sd+ tok.txt | bc),\"usage_tokens\":"*'"requests":4,'* ]]
}

@test "vs-embed openai: --concurrency sends requests in parallel and keeps input order" {
    for i in $(seq 16); do printf '{"id":"r%02d","text":"record number %d"}\n' "$i" "$i"; done > c.jsonl
    # the mock holds each request until 4 are in flight at once (a client
    # sending one at a time would leave each alone, held 5 s, "inflight":1)
    run_split vs-embed --model openai:gather4-4:4 --base-url "$URL/v1" --request-size 2 --concurrency 4 --stats --no-cache c.jsonl || true
    expect_status 0
    printf '%s\n' "$out" | vectors_ok 4 c.jsonl
    [[ "$err" == *'"requests":8'* ]]
    [ "$(wc -l < "$SCRATCH/mock/log")" -eq 8 ]
    [ "$(log_field 'o["inflight"]' | sort -n | tail -1)" -eq 4 ]
}

@test "vs-embed openai: the cache makes a rerun after SIGKILL send only what is missing" {
    for i in $(seq 20); do printf '{"id":"r%02d","text":"record number %d"}\n' "$i" "$i"; done > k.jsonl
    vs-embed --model openai:slowish-4:4 --base-url "$URL/v1" --batch 2 > part.jsonl 2>/dev/null k.jsonl &
    local pid=$!
    for _ in $(seq 100); do [ "$(wc -l < part.jsonl)" -ge 6 ] && break; sleep 0.05; done
    kill -9 "$pid"
    wait "$pid" 2>/dev/null || true
    local first
    first=$(wc -l < "$SCRATCH/mock/log")
    [ "$first" -ge 3 ]
    [ "$first" -lt 10 ]
    run_split vs-embed --model openai:slowish-4:4 --base-url "$URL/v1" --batch 2 --stats k.jsonl || true
    expect_status 0
    printf '%s\n' "$out" | vectors_ok 4 k.jsonl
    # every text was sent once in all, give or take the batch in flight at the kill
    local total
    total=$(log_field 'o["n"]' | paste -sd+ | bc)
    [ "$total" -ge 20 ]
    [ "$total" -le 22 ]
    [[ "$err" == *'"cache_hits":'[1-9]* ]]
    # the partial output is a prefix of the full one
    [ "$(head -c "$(wc -c < part.jsonl)" <<<"$out")" = "$(cat part.jsonl)" ]
}

@test "vs-embed openai: the API key never appears in any output, log or cache file" {
    : > all.txt
    for m in ok-4 echokey-4 down-4 wrongdim-4; do
        vs-embed -v -v --stats --model "openai:$m:4" --base-url "$URL/v1" --max-retries 1 in.jsonl >> all.txt 2>&1 || true
        vs-embed -v -v --stats --keep-going --model "openai:$m:4" --base-url "$URL/v1" --max-retries 0 in.jsonl >> all.txt 2>&1 || true
    done
    vs-embed --dry-run --stats --model openai:text-embedding-3-small in.jsonl >> all.txt 2>&1
    grep -q 'redacted' all.txt
    grep -q 'answered HTTP 401' all.txt
    if grep -rq 'VERYSECRET' all.txt "$SCRATCH/cache"; then false; fi
    [ "$(log_field 'o["auth_ok"]' | sort -u)" = "True" ]
}

@test "vs-embed azure: the deployment URL with api-version, the key in an api-key header, no model in the body" {
    export AZURE_OPENAI_API_KEY=$KEY
    run_split vs-embed --model azure:ok-4:4 --base-url "$URL/" in.jsonl
    expect_status 0
    expect_ndjson
    [ -z "$err" ]
    printf '%s\n' "$out" | vectors_ok 4 in.jsonl
    [ "$(printf '%s\n' "$out" | jq -r .vector_model | sort -u)" = "azure:ok-4:4" ]
    [ "$(log_field 'o["path"], o["api_version"], o["auth_ok"], o["authorization"], o["body_model"], o["n"]')" = \
      "/openai/deployments/ok-4/embeddings?api-version=2024-10-21 2024-10-21 True False None 4" ]
    # the version from the flag, the environment, the config file
    : > "$SCRATCH/mock/log"
    vs-embed --no-cache --model azure:ok-4:4 --base-url "$URL" --api-version 2025-04-01-preview in.jsonl > /dev/null
    VS_EMBED_API_VERSION=2024-06-01 vs-embed --no-cache --model azure:ok-4:4 --base-url "$URL" in.jsonl > /dev/null
    printf '[embed]\napi_version = "2023-05-15"\n' > cfg.toml
    vs-embed --config cfg.toml --no-cache --model azure:ok-4:4 --base-url "$URL" in.jsonl > /dev/null
    [ "$(log_field 'o["api_version"]' | tr '\n' ' ')" = "2025-04-01-preview 2024-06-01 2023-05-15 " ]
    # the endpoint from AZURE_OPENAI_ENDPOINT; a deployment named after a
    # model, or @MODEL: its dimension; a smaller DIM is sent as dimensions
    : > "$SCRATCH/mock/log"
    AZURE_OPENAI_ENDPOINT=$URL run_split vs-embed --no-cache --model azure:emb@text-embedding-3-small:4 in.jsonl
    expect_status 0
    printf '%s\n' "$out" | vectors_ok 4 in.jsonl
    [ "$(log_field 'o["path"], o["dimensions"]')" = "/openai/deployments/emb/embeddings?api-version=2024-10-21 4" ]
    run_split vs-embed --dry-run --model azure:text-embedding-3-large --base-url "$URL" in.jsonl
    expect_status 0
    [ "$(jq -r '.model' <<<"$out")" = "azure:text-embedding-3-large:3072" ]
    jq -e '.price_usd_per_1m_tokens == 0.13' <<<"$out"
    # retries work as for openai:
    : > "$SCRATCH/mock/log"
    run_split vs-embed --no-cache --model azure:flaky-4:4 --base-url "$URL" in.jsonl
    expect_status 0
    [ "$(log_field 'o["status"]' | tr '\n' ' ')" = "500 500 200 " ]
}

@test "vs-embed azure: usage errors, and the key never appears in any output" {
    export AZURE_OPENAI_API_KEY=$KEY
    run_split env -u AZURE_OPENAI_API_KEY vs-embed --model azure:ok-4:4 --base-url "$URL" in.jsonl
    expect_status 2
    [[ "$err" == *"AZURE_OPENAI_API_KEY is not set"* ]]
    run_split env -u AZURE_OPENAI_ENDPOINT vs-embed --model azure:ok-4:4 in.jsonl
    expect_status 2
    [[ "$err" == *"--base-url"*"AZURE_OPENAI_ENDPOINT"* ]]
    run_split vs-embed --model 'azure:a/b:4' --base-url "$URL" in.jsonl
    expect_status 2
    [[ "$err" == *"deployment name"* ]]
    run_split vs-embed --model azure:mydeployment --base-url "$URL" in.jsonl
    expect_status 2
    [[ "$err" == *"no known dimension"* ]]
    run_split vs-embed --model azure:ok-4:4 --base-url "$URL" --api-version '2024&x=1' in.jsonl
    expect_status 2
    run_split vs-embed --model openai:ok-4:4 --base-url "$URL/v1" --api-version 2024-10-21 in.jsonl
    expect_status 2
    [[ "$err" == *"--api-version applies to azure: models only"* ]]
    [ ! -s "$SCRATCH/mock/log" ]
    # the key: sent, never shown (a server echoing it is redacted)
    : > all.txt
    for m in ok-4 echokey-4 down-4 truncjson-4; do
        vs-embed -v -v --stats --keep-going --model "azure:$m:4" --base-url "$URL" --max-retries 0 in.jsonl >> all.txt 2>&1 || true
    done
    grep -q 'redacted' all.txt
    grep -q 'answered HTTP 401' all.txt
    if grep -rq 'VERYSECRET' all.txt "$SCRATCH/cache"; then false; fi
    [ "$(log_field 'o["auth_ok"]' | sort -u)" = "True" ]
    [ "$(log_field 'o["authorization"]' | sort -u)" = "False" ]
}

@test "vs-embed openai: a missing key is exit 2 naming the variable, never a request" {
    run_split env -u OPENAI_API_KEY vs-embed --model openai:text-embedding-3-small in.jsonl || true
    expect_status 2
    [[ "$err" == *"OPENAI_API_KEY is not set"* ]]
    run_split vs-embed --model openai:ok-4:4 --base-url "$URL/v1" --api-key-env NO_SUCH_KEY_VAR in.jsonl || true
    expect_status 2
    [[ "$err" == *"NO_SUCH_KEY_VAR is not set"* ]]
    [ ! -s "$SCRATCH/mock/log" ]
    MY_KEY=$KEY run_split env -u OPENAI_API_KEY MY_KEY="$KEY" vs-embed --model openai:ok-4:4 --base-url "$URL/v1" --api-key-env MY_KEY in.jsonl || true
    expect_status 0
}

@test "vs-embed --dry-run: requests, tokens and cost from the price table or the config" {
    run_split vs-embed --dry-run --model openai:text-embedding-3-small --request-size 3 in.jsonl || true
    expect_status 0
    [ "$out" = '{"dry_run":true,"model":"openai:text-embedding-3-small:1536","records":4,"requests":2,"tokens":25,"cache_hits":0,"truncated":0,"split":0,"price_usd_per_1m_tokens":0.02,"price_date":"2025-01-15","cost_usd":5e-7}' ]
    [ ! -s "$SCRATCH/mock/log" ]
    printf '[embed.price]\n"text-embedding-3-small" = 1000000\nfoo = 2\n' > .vecstore.toml
    run_split vs-embed --dry-run --model openai:text-embedding-3-small in.jsonl || true
    expect_status 0
    [[ "$out" == *'"requests":1,"tokens":25,'*'"price_usd_per_1m_tokens":1000000.0,'*'"cost_usd":25.0}' ]]
    run_split vs-embed --dry-run --model openai:unknown-model:8 in.jsonl || true
    expect_status 0
    [[ "$out" == *'"price_usd_per_1m_tokens":null,'*'"cost_usd":null}' ]]
    run_split vs-embed --dry-run --model hash in.jsonl || true
    expect_status 2
    [[ "$err" == *"--dry-run applies to API models only"* ]]
}

@test "vs-embed openai: over-long texts are truncated (truncated: true) or split and averaged" {
    printf '%s\n' '{"id":"long","text":"the vector the vector the vector"}' '{"id":"short","text":"the"}' > l.jsonl
    run_split vs-embed --model openai:ok-4:4 --base-url "$URL/v1" --max-tokens 4 --no-cache l.jsonl || true
    expect_status 0
    [ "$(log_field 'o["texts"]')" = "['the vector the vector', 'the']" ]
    # one warning at the end, with the count
    [ "$err" = 'vs-embed: warning: 1 of 2 records were longer than the model reads and were cut (they carry "truncated": true; --split-long embeds them in parts, or chunk them smaller)' ]
    printf '%s\n' "$out" | $PY -c '
import json, sys
sys.path.insert(0, sys.argv[1])
from mock_embed import vector
a, b = [json.loads(l) for l in sys.stdin]
assert a["truncated"] is True and "truncated" not in b
v = vector("the vector the vector", 4)
assert max(abs(x - y) for x, y in zip(a["vector"], v)) < 1e-6
' "$BATS_TEST_DIRNAME/.."
    : > "$SCRATCH/mock/log"
    run_split vs-embed --model openai:ok-4:4 --base-url "$URL/v1" --max-tokens 4 --split-long --no-cache --stats l.jsonl || true
    expect_status 0
    [[ "$err" != *warning* ]]
    [ "$(log_field 'o["texts"]')" = "['the vector the vector', ' the vector', 'the']" ]
    [[ "$err" == *'"split":1'* ]]
    printf '%s\n' "$out" | $PY -c '
import json, sys, math
sys.path.insert(0, sys.argv[1])
from mock_embed import vector
a = json.loads(sys.stdin.readline())
assert "truncated" not in a
p, q = vector("the vector the vector", 4), vector(" the vector", 4)
m = [4 * x + 2 * y for x, y in zip(p, q)]   # weighted by tokens: 4 and 2
n = math.sqrt(sum(x * x for x in m))
assert max(abs(x - y / n) for x, y in zip(a["vector"], m)) < 1e-6
' "$BATS_TEST_DIRNAME/.."
}

@test "vs-embed: API-only options are refused for local models" {
    run_split vs-embed --rpm 10 in.jsonl || true
    expect_status 2
    [[ "$err" == *"--rpm applies to API models only"* ]]
    [ -z "$out" ]
}

@test "vs-embed openai: malformed line is exit 3 with the line; /dev/full is exit 5" {
    printf '{"id":"a","text":"one"}\n{"id":\n' > bad.jsonl
    run_split vs-embed --model openai:ok-4:4 --base-url "$URL/v1" bad.jsonl || true
    expect_status 3
    [[ "$err" == *"bad.jsonl:2:"* ]]
    run_split sh -c 'vs-embed --model openai:ok-4:4 --base-url "$1" in.jsonl > /dev/full' sh "$URL/v1" || true
    expect_status 5
}

@test "vs-embed: cl100k_base token counts equal js-tiktoken's own counter" {
    command -v node >/dev/null || skip "node is not installed"
    local md="${VS_TOKENIZER_DIR:-$HOME/.cache/vecstore/models}"
    VS_MODEL_DIR="$md" "$BATS_TEST_DIRNAME/../../scripts/get-model.sh" cl100k_base >/dev/null 2>&1 ||
        skip "cannot fetch cl100k_base with npm (offline?)"
    [ -d "$md/npm/node_modules/js-tiktoken" ] || skip "js-tiktoken package not unpacked in $md"
    # One text a file; U+0085 and U+FEFF are left out: JavaScript's \s differs
    # from the Unicode White_Space that tiktoken (and we) use for those two.
    $PY - > texts.jsonl <<'EOF'
import json, random
T = ["hello world", "Hello, World! It's a test; we'll see don't I'd you're they've I'm",
     "  leading spaces   and   multiple\n\nnewlines\r\n\ttabs\t \n x",
     "numbers 1234567 3.14159 1,000,000 and 42nd", "unicode: café naïve 日本語のテキスト 中文 한국어 русский",
     "emoji 😀👍🏽 🇫🇷 and symbols ©®™ → ∑∫√", "code: def f(x):\n    return x**2 + {'a': [1,2]}\n",
     "'S 'T 'RE 'Ve 'lL 'D ' 's", "trailing space ", "   ", "\n\n\n", " \u3000word \u00a0nbsp",
     "Mixed123abc456 x1y2z3", "a" * 3000, "(hello) [world] {x} <tag attr=\"v\">", "Ⅻ ½ ٣٤٥ ①②"]
random.seed(7)
pool = list("aAzZ09 '\t\n\r.,!?-_()[]{}\"$%&*+/\\|~`^@#<>=;:") + \
    ["é", "ß", "日", "😀", "\u3000", "\u00a0", "\u2028", "٣", "½", "\u0301", "ſ", "\u200b", "𝔘"]
for i in range(60):
    T.append("".join(random.choice(pool) for _ in range(random.randint(1, 80))))
for t in T:
    print(json.dumps(t))
EOF
    # token counts per group of 4 texts (one vs-embed run a group)
    NODE_PATH="$md/npm/node_modules" node -e '
const {getEncoding} = require("js-tiktoken"); const e = getEncoding("cl100k_base");
const L = require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean);
for (let i = 0; i < L.length; i += 4)
    console.log(L.slice(i, i + 4).reduce((n, l) => n + e.encode(JSON.parse(l)).length, 0));' < texts.jsonl > want.txt
    split -l 4 -d -a 3 texts.jsonl grp.
    : > got.txt
    for g in grp.*; do
        $PY -c '
import json, sys
for i, l in enumerate(open(sys.argv[1])):
    print(json.dumps({"id": str(i), "text": json.loads(l)}))' "$g" |
            VS_MODEL_DIR="$md" vs-embed --dry-run --model openai:text-embedding-3-small |
            $PY -c 'import json,sys; print(json.load(sys.stdin)["tokens"])' >> got.txt
    done
    diff want.txt got.txt
    [ "$(wc -l < got.txt)" -eq 19 ]
}

@test "vs-embed: cl100k_base token total over 300 SciFact documents equals js-tiktoken's" {
    need_data
    command -v node >/dev/null || skip "node is not installed"
    local md="${VS_TOKENIZER_DIR:-$HOME/.cache/vecstore/models}"
    VS_MODEL_DIR="$md" "$BATS_TEST_DIRNAME/../../scripts/get-model.sh" cl100k_base >/dev/null 2>&1 ||
        skip "cannot fetch cl100k_base with npm (offline?)"
    [ -d "$md/npm/node_modules/js-tiktoken" ] || skip "js-tiktoken package not unpacked in $md"
    head -300 "$VS_DATA/datasets/scifact/corpus.jsonl" > s.jsonl
    want=$(NODE_PATH="$md/npm/node_modules" node -e '
const {getEncoding} = require("js-tiktoken"); const e = getEncoding("cl100k_base"); let n = 0;
for (const l of require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean))
    n += e.encode(JSON.parse(l).text).length;
console.log(n);' < s.jsonl)
    got=$(VS_MODEL_DIR="$md" vs-embed --dry-run --model openai:text-embedding-3-small s.jsonl |
        $PY -c 'import json,sys; print(json.load(sys.stdin)["tokens"])')
    [ "$want" = "$got" ]
}

@test "get-model.sh: an unknown name is exit 2 with the known names" {
    run_split "$BATS_TEST_DIRNAME/../../scripts/get-model.sh" no-such-model || true
    expect_status 2
    [[ "$err" == *"unknown model 'no-such-model' (known: "*cl100k_base* ]]
}

@test "examples/cloud/embed-corpus.sh: --dry-run estimates; the whole pipeline runs against the mock" {
    need_data
    local ex="$BATS_TEST_DIRNAME/../../examples/cloud/embed-corpus.sh" D="$VS_DATA/datasets/scifact"
    # the toy table stands in for cl100k_base: no fetch needed
    run_split env OUT="$SCRATCH/ex" VS_BIN="$VS_BIN" "$ex" --dry-run "$D" || true
    expect_status 0
    [[ "$err" == *'"model":"openai:text-embedding-3-small:1536","records":5183,'*'"cost_usd":'* ]]
    [ ! -s "$SCRATCH/mock/log" ]
    mkdir -p sub/qrels
    head -40 "$D/corpus.jsonl" > sub/corpus.jsonl
    head -5 "$D/queries.jsonl" > sub/queries.jsonl
    cp "$D/qrels/test.tsv" sub/qrels/
    run_split env OUT="$SCRATCH/ex2" VS_BIN="$VS_BIN" VS_EMBED_BASE_URL="$URL/v1" "$ex" sub openai:ok-16:16 || true
    expect_status 0
    [[ "$out" == *'"measures":'* ]]
    [ "$(wc -l < "$SCRATCH/ex2/corpus.emb.jsonl")" -eq 40 ]
    [ "$(log_field 'o["n"]' | paste -sd+ | bc)" -eq 45 ]
}

@test "examples/cloud/embed-corpus.sh: the pipeline with an azure: deployment, endpoint and version from the environment" {
    need_data
    local ex="$BATS_TEST_DIRNAME/../../examples/cloud/embed-corpus.sh" D="$VS_DATA/datasets/scifact"
    mkdir -p sub/qrels
    head -30 "$D/corpus.jsonl" > sub/corpus.jsonl
    head -4 "$D/queries.jsonl" > sub/queries.jsonl
    cp "$D/qrels/test.tsv" sub/qrels/
    run_split env OUT="$SCRATCH/ex3" VS_BIN="$VS_BIN" AZURE_OPENAI_API_KEY="$KEY" \
        AZURE_OPENAI_ENDPOINT="$URL" VS_EMBED_API_VERSION=2024-06-01 "$ex" sub azure:ok-16:16
    expect_status 0
    [[ "$out" == *'"measures":'* ]]
    [ "$(wc -l < "$SCRATCH/ex3/corpus.emb.jsonl")" -eq 30 ]
    [ "$(log_field 'o["n"]' | paste -sd+ | bc)" -eq 34 ]
    [ "$(log_field 'o["api_version"], o["auth_ok"]' | sort -u)" = "2024-06-01 True" ]
    if grep -rq 'VERYSECRET' "$SCRATCH/ex3"; then false; fi
}

@test "vs-query: a store of an API model answers query texts by text; vector mode asks for vectors, never calls the API" {
    vs-embed --model openai:ok-4:4 --base-url "$URL/v1" in.jsonl > emb.jsonl
    vs-ingest -q kb.vs < emb.jsonl
    echo '{"id":"q1","text":"a third text"}' > q.jsonl
    : > "$SCRATCH/mock/log"
    run_split env VS_EMBED_BASE_URL="$URL/v1" vs-query kb.vs -k 1 q.jsonl
    expect_status 0
    [[ "$out" == *'"qid":"q1","id":"c","rank":1,'*'"mode":"text"'* ]]
    run_split env VS_EMBED_BASE_URL="$URL/v1" vs-query --mode vector kb.vs -k 1 q.jsonl
    expect_status 3
    [[ "$err" == *"q.jsonl:1:"*"remote API"*"embed the queries with vs-embed first"* ]]
    [ ! -s "$SCRATCH/mock/log" ]
    # queries embedded by vs-embed --as query: vector search finds the text
    vs-embed --model openai:ok-4:4 --base-url "$URL/v1" --as query q.jsonl > qv.jsonl
    run_split vs-query --mode vector kb.vs -k 1 qv.jsonl
    expect_status 0
    [[ "$out" == *'"qid":"q1","id":"c","rank":1,'* ]]
}
