#!/usr/bin/env bats
# vs-rerank: grouping by qid, bm25 (against a Python BM25 over the candidate
# set), mmr (against a numpy MMR), blending, -k, --min-score, and the api
# method against tests/mock_rerank.py.
load helpers

KEY=rk-test-SECRET-77

setup() {
    SCRATCH=$(mktemp -d)
    R="$FIXTURES/rerank"
    MOCK_PID=
}

teardown() {
    if [ -n "$MOCK_PID" ]; then
        kill "$MOCK_PID" 2>/dev/null || true
        wait "$MOCK_PID" 2>/dev/null || true
    fi
    rm -rf "$SCRATCH"
}

start_mock() {
    mkdir -p "$SCRATCH/mock"
    $PY "$BATS_TEST_DIRNAME/../mock_rerank.py" --port-file "$SCRATCH/mock/port" \
        --log "$SCRATCH/mock/log" --key "$KEY" &
    MOCK_PID=$!
    for _ in $(seq 50); do [ -f "$SCRATCH/mock/port" ] && break; sleep 0.1; done
    URL="http://127.0.0.1:$(cat "$SCRATCH/mock/port")"
    export VS_RERANK_API_KEY="$KEY"
}

@test "vs-rerank --help lists the options and exits 0" {
    run_split vs-rerank --help || true
    expect_status 0
    [[ "$out" == *"Usage: vs-rerank"* ]]
    [[ "$out" == *"--blend-mode"* ]]
    [ -z "$err" ]
}

@test "vs-rerank --help and the man page list the same options" {
    help_matches_man vs-rerank
}

@test "vs-rerank: unknown option and bad values exit 2" {
    run_split vs-rerank --no-such-option || true
    expect_status 2
    [[ "$err" == *"vs-rerank:"* ]]
    [ -z "$out" ]
    run_split vs-rerank --blend 1.5 "$R/hits.jsonl" || true
    expect_status 2
    run_split vs-rerank --blend-mode minmax "$R/hits.jsonl" || true
    expect_status 2
    [[ "$err" == *"needs --blend"* ]]
    run_split vs-rerank -m nope "$R/hits.jsonl" || true
    expect_status 2
    run_split vs-rerank -m api "$R/hits.jsonl" || true
    expect_status 2
    [[ "$err" == *"--url"* ]]
    run_split vs-rerank --url http://127.0.0.1:1/ "$R/hits.jsonl" || true
    expect_status 2
}

@test "vs-rerank: cross-encoder and late-interaction need a model; option mismatches exit 2" {
    run_split vs-rerank -m cross-encoder --queries "$R/queries.jsonl" "$R/hits.jsonl" || true
    expect_status 2
    [[ "$err" == *"--model"* ]]
    run_split vs-rerank -m late-interaction --queries "$R/queries.jsonl" "$R/hits.jsonl" || true
    expect_status 2
    [[ "$err" == *"--model"* ]]
    [ -z "$out" ]
    run_split vs-rerank -m cross-encoder --model "$SCRATCH/none" --queries "$R/queries.jsonl" "$R/hits.jsonl" || true
    expect_status 5
    run_split vs-rerank -m late-interaction --model "$SCRATCH/none" --queries "$R/queries.jsonl" "$R/hits.jsonl" || true
    expect_status 5
    [[ "$err" == *"none"* ]]
    run_split vs-rerank --sigmoid "$R/hits.jsonl" || true
    expect_status 2
    run_split vs-rerank -m late-interaction --model "$SCRATCH/none" --sigmoid "$R/hits.jsonl" || true
    expect_status 2
    run_split vs-rerank --threads 2 "$R/hits.jsonl" || true
    expect_status 2
}

# pairs QUERIES HITS: {"query", "text"} per hit, input order
pairs() {
    $PY -c '
import json, sys
q = {json.loads(l)["id"]: json.loads(l)["text"] for l in open(sys.argv[1])}
for l in open(sys.argv[2]):
    o = json.loads(l); print(json.dumps({"query": q[o["qid"]], "text": o["text"]}))
' "$1" "$2"
}

# ce_ref DIR QUERIES HITS [--sigmoid]: the numpy score of each hit, input order
ce_ref() {
    $PY -c '
import json, sys
q = {json.loads(l)["id"]: json.loads(l)["text"] for l in open(sys.argv[1])}
for l in open(sys.argv[2]):
    o = json.loads(l); print(json.dumps({"query": q[o["qid"]], "text": o["text"]}))
' "$2" "$3" | $PY "$BATS_TEST_DIRNAME/../ref_cross_encoder.py" score "$1" $4
}

@test "vs-rerank: cross-encoder matches a numpy reference (pairs, truncation, sigmoid, threads)" {
    $PY "$BATS_TEST_DIRNAME/../ref_cross_encoder.py" make "$SCRATCH/ce" --max-pos 32 >/dev/null
    printf '%s\n' '{"id":"q1","text":"boundary layer heat transfer"}' \
        '{"id":"q2","text":"wave theory results of the pressure test data for the high speed flow over a plate with heat and more wave theory results of the pressure test data for the high speed flow"}' > "$SCRATCH/q.jsonl"
    printf '%s\n' '{"qid":"q1","id":"a","rank":1,"score":0.9,"text":"the wing of the plane"}' \
        '{"qid":"q1","id":"b","rank":2,"score":0.8,"text":"heat transfer in boundary layer flow with a very long passage that goes on about shock waves and pressure and mach number effects on the wing surface in high speed air"}' \
        '{"qid":"q1","id":"c","rank":3,"score":0.7,"text":"boundary layer heat"}' \
        '{"qid":"q1","id":"e","rank":4,"score":0.6,"text":""}' \
        '{"qid":"q2","id":"d","rank":1,"score":0.7,"text":"Théorie des ondes: résultats!"}' \
        '{"qid":"q2","id":"f","rank":2,"score":0.6,"text":"flow"}' > "$SCRATCH/h.jsonl"
    ce_ref "$SCRATCH/ce" "$SCRATCH/q.jsonl" "$SCRATCH/h.jsonl" > "$SCRATCH/ref.jsonl"
    for args in "--threads 1" "--threads 2" "--sigmoid"; do
        run_split vs-rerank -m cross-encoder --model "$SCRATCH/ce" $args --queries "$SCRATCH/q.jsonl" --stats "$SCRATCH/h.jsonl" || true
        expect_status 0
        expect_ndjson
        [[ "$err" == *'"truncated":3'* ]]
        sig=0
        if [ "$args" = "--sigmoid" ]; then sig=1; fi
        printf '%s\n' "$out" | $PY -c '
import json, math, sys
ref = [json.loads(l)["score"] for l in open(sys.argv[1])]
hits = [json.loads(l) for l in open(sys.argv[2])]
if sys.argv[3] == "1":
    ref = [1 / (1 + math.exp(-r)) for r in ref]
exp = {(h["qid"], h["id"]): r for h, r in zip(hits, ref)}
got = [json.loads(l) for l in sys.stdin]
assert len(got) == len(hits)
for g in got:
    assert abs(g["score"] - exp[(g["qid"], g["id"])]) < 1e-4, (g, exp)
for qid in ("q1", "q2"):
    mine = [g for g in got if g["qid"] == qid]
    assert [g["score"] for g in mine] == sorted((g["score"] for g in mine), reverse=True)
' "$SCRATCH/ref.jsonl" "$SCRATCH/h.jsonl" $sig
    done
    # the reference agrees on which pairs were cut
    [ "$($PY -c 'import json,sys; print(sum(json.loads(l)["truncated"] for l in open(sys.argv[1])))' "$SCRATCH/ref.jsonl")" -eq 3 ]
}

@test "vs-rerank: empty input gives no output" {
    run_split vs-rerank --queries "$R/queries.jsonl" /dev/null || true
    expect_status 0
    [ -z "$out" ]
    [ -z "$err" ]
}

@test "vs-rerank: a malformed line exits 3 with its line" {
    printf '%s\n' '{"qid":"q1","id":"a","rank":1,"score":1,"text":"x"}' '{"qid": ' > "$SCRATCH/bad.jsonl"
    run_split vs-rerank --queries "$R/queries.jsonl" "$SCRATCH/bad.jsonl" || true
    expect_status 3
    [[ "$err" == *"bad.jsonl:2:"* ]]
    # a hit without text for bm25, a hit without qid
    printf '%s\n' '{"qid":"q1","id":"a","rank":1}' > "$SCRATCH/notext.jsonl"
    run_split vs-rerank --queries "$R/queries.jsonl" "$SCRATCH/notext.jsonl" || true
    expect_status 3
    [[ "$err" == *"notext.jsonl:1:"*"'text'"* ]]
    printf '%s\n' '{"id":"a","text":"x"}' > "$SCRATCH/noqid.jsonl"
    run_split vs-rerank --queries "$R/queries.jsonl" "$SCRATCH/noqid.jsonl" || true
    expect_status 3
    [[ "$err" == *"noqid.jsonl:1:"*"'qid'"* ]]
    # a bad query record
    printf '%s\n' '{"id":"q1","text":"a"}' '{"id":"q1","text":"b"}' > "$SCRATCH/dupq.jsonl"
    run_split vs-rerank --queries "$SCRATCH/dupq.jsonl" "$R/hits.jsonl" || true
    expect_status 3
    [[ "$err" == *"dupq.jsonl:2:"* ]]
}

@test "vs-rerank: hits of one qid not together is an error at the line" {
    (cat "$R/hits.jsonl"; head -1 "$R/hits.jsonl") > "$SCRATCH/mixed.jsonl"
    run_split vs-rerank --queries "$R/queries.jsonl" "$SCRATCH/mixed.jsonl" || true
    expect_status 3
    [[ "$err" == *"mixed.jsonl:7:"*"not together"* ]]
    # the groups before the violation were written
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 6 ]
}

@test "vs-rerank: no query text is an error naming the qid" {
    run_split vs-rerank "$R/hits.jsonl" || true
    expect_status 3
    [ -z "$out" ]
    [ "$err" = "vs-rerank: error: $R/hits.jsonl:1: no text for query 'q1': give --queries FILE, or a \"query\" field on its hits" ]
    # a carried query field is enough
    $PY -c '
import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l); o["query"] = "heat" if o["qid"] == "q1" else "wing"; print(json.dumps(o))
' "$R/hits.jsonl" > "$SCRATCH/carry.jsonl"
    run_split vs-rerank -k 1 "$SCRATCH/carry.jsonl" || true
    expect_status 0
    [ "$(printf '%s\n' "$out" | $PY -c 'import json,sys; print(" ".join(json.loads(l)["id"] for l in sys.stdin))')" = "c a" ]
}

@test "vs-rerank: bm25 happy path matches the golden output and a Python BM25" {
    run_split vs-rerank --queries "$R/queries.jsonl" "$R/hits.jsonl" || true
    expect_status 0
    [ -z "$err" ]
    expect_ndjson
    [ "$out" = "$(cat "$R/bm25.expected.jsonl")" ]
    # independent BM25 over each query's candidate set (k1 1.2, b 0.75;
    # these texts need no stemming; the, of, in, a are stop words)
    printf '%s\n' "$out" | $PY -c '
import json, math, sys
stop = {"the", "of", "in", "a"}
qs = {json.loads(l)["id"]: json.loads(l)["text"] for l in open(sys.argv[1])}
hits = {}
for l in open(sys.argv[2]):
    o = json.loads(l); hits.setdefault(o["qid"], []).append(o)
def toks(s): return [w for w in s.lower().split() if w not in stop]
got = [json.loads(l) for l in sys.stdin]
for qid, hs in hits.items():
    docs = [toks(h["text"]) for h in hs]
    N = len(docs); avg = sum(map(len, docs)) / N
    exp = {}
    for h, d in zip(hs, docs):
        s = 0.0
        for t in toks(qs[qid]):
            df = sum(t in x for x in docs)
            if not df: continue
            idf = math.log(1 + (N - df + 0.5) / (df + 0.5))
            tf = d.count(t)
            s += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len(d) / avg))
        exp[h["id"]] = s
    mine = [g for g in got if g["qid"] == qid]
    assert [g["id"] for g in mine] == sorted(exp, key=lambda i: (-exp[i], [h["id"] for h in hs].index(i))), (qid, mine)
    for g in mine:
        assert abs(g["score"] - exp[g["id"]]) < 1e-9, (g, exp)
        assert g["retrieval_rank"] == [h["id"] for h in hs].index(g["id"]) + 1
    assert [g["rank"] for g in mine] == list(range(1, len(mine) + 1))
' "$R/queries.jsonl" "$R/hits.jsonl"
}

@test "vs-rerank: --format text and trec write what vs-query writes in those formats" {
    cd "$SCRATCH"
    run_split vs-rerank --queries "$R/queries.jsonl" -k 2 --format text "$R/hits.jsonl"
    expect_status 0
    [ -z "$err" ]
    nd=$(vs-rerank --queries "$R/queries.jsonl" -k 2 "$R/hits.jsonl")
    # per query a blank line and its id, then per hit rank, score, id and its text
    printf '%s\n' "$out" > text.out
    printf '%s\n' "$nd" | $PY -c '
import json, sys
lines = open("text.out").read().split("\n")
want, q = [], None
for l in sys.stdin:
    h = json.loads(l)
    if h["qid"] != q:
        q = h["qid"]; want += ["", q]
    want.append((h["rank"], h["score"], h["id"])); want.append("     " + " ".join(h["text"].split()))
assert len(lines) == len(want) + 1 and lines[-1] == "", (lines, want)
for got, w in zip(lines, want):
    if isinstance(w, tuple):
        r, sc, i = got.split()
        assert (int(r.rstrip(".")), i) == (w[0], w[2]) and abs(float(sc) - w[1]) <= 5e-6 * max(1.0, abs(w[1])), (got, w)
    else:
        assert got == w, (got, w)
'
    # six significant digits, as vs-query --format text
    [[ "$out" == *"q1"*"  1. 1.98485    b"* ]]
    run_split vs-rerank --queries "$R/queries.jsonl" -k 2 --format trec "$R/hits.jsonl"
    expect_status 0
    [ "$(printf '%s\n' "$out" | awk '{print $1, $2, $3, $4}' | tr '\n' ';')" = \
      "$(printf '%s\n' "$nd" | jq -r '"\(.qid) Q0 \(.id) \(.rank)"' | tr '\n' ';')" ]
    run_split vs-rerank --format xml "$R/hits.jsonl"
    expect_status 2
    [ -z "$out" ]
    [[ "$err" == *"unknown format 'xml' (ndjson, trec, text)"* ]]
}

@test "vs-rerank: -k and --min-score cut each query's hits" {
    run_split vs-rerank --queries "$R/queries.jsonl" -k 1 "$R/hits.jsonl" || true
    expect_status 0
    [ "$(printf '%s\n' "$out" | $PY -c 'import json,sys; print(" ".join(json.loads(l)["qid"]+json.loads(l)["id"] for l in sys.stdin))')" = "q1b q2a" ]
    run_split vs-rerank --queries "$R/queries.jsonl" --min-score 0.4 "$R/hits.jsonl" || true
    expect_status 0
    [ "$(printf '%s\n' "$out" | $PY -c 'import json,sys; print(" ".join(json.loads(l)["qid"]+json.loads(l)["id"] for l in sys.stdin))')" = "q1b q1c q2a q2d" ]
}

@test "vs-rerank: --blend rrf and minmax mix retrieval and rerank" {
    run_split vs-rerank --queries "$R/queries.jsonl" --blend 0.5 --blend-mode minmax "$R/hits.jsonl" || true
    expect_status 0
    expect_ndjson
    printf '%s\n' "$out" | $PY -c '
import json, sys
got = [json.loads(l) for l in sys.stdin]
for qid in ("q1", "q2"):
    g = [x for x in got if x["qid"] == qid]
    r = [x["rerank_score"] for x in g]; s = [x["retrieval_score"] for x in g]
    for x in g:
        exp = 0.5 * (x["rerank_score"] - min(r)) / (max(r) - min(r)) + 0.5 * (x["retrieval_score"] - min(s)) / (max(s) - min(s))
        assert abs(x["score"] - exp) < 1e-9, (x, exp)
    assert [x["score"] for x in g] == sorted((x["score"] for x in g), reverse=True)
'
    run_split vs-rerank --queries "$R/queries.jsonl" --blend 0 "$R/hits.jsonl" || true
    expect_status 0
    # alpha 0 is the retrieval order
    [ "$(printf '%s\n' "$out" | $PY -c 'import json,sys; print(" ".join(str(json.loads(l)["retrieval_rank"]) for l in sys.stdin))')" = "1 2 3 1 2 3" ]
    run_split vs-rerank --queries "$R/queries.jsonl" --blend 0.5 "$R/hits.jsonl" || true
    expect_status 0
    printf '%s\n' "$out" | $PY -c '
import json, sys
for x in map(json.loads, sys.stdin):
    assert "rerank_score" in x
' 
    # q1: bm25 order b c a, retrieval a b c: b = 0.5/61 + 0.5/62 is first
    [ "$(printf '%s\n' "$out" | head -1 | $PY -c 'import json,sys; x=json.load(sys.stdin); print(x["id"], abs(x["score"]-(0.5/61+0.5/62))<1e-12)')" = "b True" ]
}

@test "vs-rerank: mmr matches a numpy MMR (query vector and retrieval scores)" {
    run_split vs-rerank -m mmr --lambda 0.3 --queries "$R/queries.jsonl" "$R/hits.jsonl" || true
    expect_status 0
    expect_ndjson
    printf '%s\n' "$out" | $PY -c '
import json, sys
import numpy as np
qs = {}
for l in open(sys.argv[1]):
    o = json.loads(l); qs[o["id"]] = o.get("vector")
hits = {}
for l in open(sys.argv[2]):
    o = json.loads(l); hits.setdefault(o["qid"], []).append(o)
lam = 0.3
got = [json.loads(l) for l in sys.stdin]
def cos(a, b):
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return 0.0 if na == 0 or nb == 0 else float(a @ b / (na * nb))
for qid, hs in hits.items():
    V = [np.array(h["vector"], float) for h in hs]
    rel = [cos(np.array(qs[qid], float), v) for v in V] if qs[qid] else [h["score"] for h in hs]
    chosen, vals = [], []
    while len(chosen) < len(hs):
        best, bv = None, None
        for i in range(len(hs)):
            if i in chosen: continue
            red = max([cos(V[i], V[j]) for j in chosen], default=0.0)
            v = lam * rel[i] - (1 - lam) * red
            if bv is None or v > bv + 1e-12:
                best, bv = i, v
        chosen.append(best); vals.append(bv)
    mine = [g for g in got if g["qid"] == qid]
    assert [g["id"] for g in mine] == [hs[i]["id"] for i in chosen], (qid, mine, chosen)
    for g, v in zip(mine, vals):
        assert abs(g["score"] - v) < 1e-6, (g, v)
' "$R/queries.jsonl" "$R/hits.jsonl"
}

@test "vs-rerank: mmr needs the hits' vectors" {
    printf '%s\n' '{"qid":"q1","id":"a","rank":1,"score":1,"text":"x"}' > "$SCRATCH/nov.jsonl"
    run_split vs-rerank -m mmr "$SCRATCH/nov.jsonl" || true
    expect_status 3
    [[ "$err" == *"nov.jsonl:1:"*"'vector'"* ]]
}

@test "vs-rerank: api method against the mock (Cohere and TEI shapes, key)" {
    start_mock
    run_split vs-rerank -m api --url "$URL/v1/rerank" --model ok --queries "$R/queries.jsonl" --stats "$R/hits.jsonl" || true
    expect_status 0
    expect_ndjson
    printf '%s\n' "$out" | $PY -c '
import json, sys
sys.path.insert(0, sys.argv[3])
from mock_rerank import score
qs = {json.loads(l)["id"]: json.loads(l)["text"] for l in open(sys.argv[1])}
hits = {}
for l in open(sys.argv[2]):
    o = json.loads(l); hits.setdefault(o["qid"], []).append(o)
got = [json.loads(l) for l in sys.stdin]
for qid, hs in hits.items():
    exp = {h["id"]: score(qs[qid], h["text"], i) for i, h in enumerate(hs)}
    mine = [g for g in got if g["qid"] == qid]
    assert [g["id"] for g in mine] == sorted(exp, key=lambda i: -exp[i])
    for g in mine:
        assert abs(g["score"] - exp[g["id"]]) < 1e-12
' "$R/queries.jsonl" "$R/hits.jsonl" "$BATS_TEST_DIRNAME/.."
    [[ "$err" == *'"requests":2'* ]]
    $PY -c '
import json, sys
log = [json.loads(l) for l in open(sys.argv[1])]
assert len(log) == 2 and all(x["auth_ok"] for x in log), log
assert [x["n"] for x in log] == [3, 3] and log[0]["query"] == "boundary layer heat transfer"
' "$SCRATCH/mock/log"
    run_split vs-rerank -m api --url "$URL/rerank" --queries "$R/queries.jsonl" -k 1 "$R/hits.jsonl" || true
    expect_status 0
    [ "$(printf '%s\n' "$out" | $PY -c 'import json,sys; print(" ".join(json.loads(l)["id"] for l in sys.stdin))')" = "b a" ]
}

@test "vs-rerank: api retries 429 and 5xx, then fails with 5" {
    start_mock
    run_split vs-rerank -m api --url "$URL/v1/rerank" --model flaky --queries "$R/queries.jsonl" --stats "$R/hits.jsonl" || true
    expect_status 0
    [[ "$err" == *'"retries":2'* ]]
    run_split vs-rerank -m api --url "$URL/v1/rerank" --model ratelimit --queries "$R/queries.jsonl" -k 1 "$R/hits.jsonl" || true
    expect_status 0
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 2 ]
    run_split vs-rerank -m api --url "$URL/v1/rerank" --model down --max-retries 1 --queries "$R/queries.jsonl" "$R/hits.jsonl" || true
    expect_status 5
    [[ "$err" == *"HTTP 500"* ]]
    [ -z "$out" ]
}

@test "vs-rerank: api answers that are wrong are errors (5), the key stays secret" {
    start_mock
    for m in missing dupindex badjson; do
        run_split vs-rerank -m api --url "$URL/v1/rerank" --model $m --queries "$R/queries.jsonl" "$R/hits.jsonl" || true
        expect_status 5
        [[ "$err" == *"rerank answer"* ]] || [[ "$err" == *"JSON"* ]] || [[ "$err" == *"not"* ]]
    done
    VS_RERANK_API_KEY=wrong run_split vs-rerank -m api --url "$URL/v1/rerank" --queries "$R/queries.jsonl" "$R/hits.jsonl" || true
    expect_status 5
    [[ "$err" == *"401"* ]]
    [[ "$err" != *"wrong"* ]]
}

@test "vs-rerank: an explain record of a query without hits passes through" {
    printf '%s\n' '{"qid":"q0","hits":0,"explain":{}}' > "$SCRATCH/in.jsonl"
    head -3 "$R/hits.jsonl" >> "$SCRATCH/in.jsonl"
    run_split vs-rerank --queries "$R/queries.jsonl" "$SCRATCH/in.jsonl" || true
    expect_status 0
    [ "$(printf '%s\n' "$out" | head -1)" = '{"qid":"q0","hits":0,"explain":{}}' ]
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 4 ]
}

@test "vs-rerank: stdout to /dev/full exits 5" {
    run_split vs-rerank --queries "$R/queries.jsonl" "$R/hits.jsonl" || true
    expect_status 0
    vs-rerank --queries "$R/queries.jsonl" "$R/hits.jsonl" > /dev/full 2>"$SCRATCH/err" && st=0 || st=$?
    [ "$st" -eq 5 ]
}

@test "vs-rerank: vs-query top hits reranked end to end" {
    cd "$SCRATCH"
    printf '%s\n' '{"id":"d1","text":"boundary layer heat transfer","vector":[1,0,0]}' \
        '{"id":"d2","text":"wing theory","vector":[0.9,0.1,0]}' \
        '{"id":"d3","text":"heat flow","vector":[0.8,0.2,0]}' > docs.jsonl
    vs-ingest -q kb.vs docs.jsonl
    printf '%s\n' '{"id":"q","text":"wing","vector":[1,0,0]}' > q.jsonl
    vs-query --mode vector -k 3 kb.vs q.jsonl > hits.jsonl
    run_split vs-rerank --queries q.jsonl -k 1 hits.jsonl || true
    expect_status 0
    [ "$(printf '%s\n' "$out" | $PY -c 'import json,sys; x=json.load(sys.stdin); print(x["id"], x["retrieval_rank"])')" = "d2 2" ]
}

@test "vs-rerank: vs-query --carry-query --with-vectors | vs-rerank -m mmr needs no --queries" {
    cd "$SCRATCH"
    $PY -c '
import json, random
random.seed(7)
words = "wing heat flow layer shock wave plate pressure mach boundary".split()
for i in range(30):
    print(json.dumps({"id": "d%02d" % i, "text": " ".join(random.choice(words) for _ in range(6)),
                      "vector": [round(random.uniform(-1, 1), 3) for _ in range(8)]}))
for i in range(3):
    open("q.jsonl", "a").write(json.dumps({"id": "q%d" % i, "text": " ".join(random.sample(words, 2)),
                      "vector": [round(random.uniform(-1, 1), 3) for _ in range(8)]}) + "\n")
' > docs.jsonl
    vs-ingest -q kb.vs docs.jsonl
    vs-query --mode vector -k 12 --carry-query --with-vectors kb.vs q.jsonl > hits.jsonl
    run_split vs-rerank -m mmr --lambda 0.6 -k 5 hits.jsonl || true
    expect_status 0
    expect_ndjson
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 15 ]
    printf '%s\n' "$out" | $PY -c '
import json, sys
import numpy as np
hits = {}
for l in open(sys.argv[1]):
    o = json.loads(l); hits.setdefault(o["qid"], []).append(o)
got = [json.loads(l) for l in sys.stdin]
lam = 0.6
def cos(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
for qid, hs in hits.items():
    V = [np.array(h["vector"], float) for h in hs]
    rel = [h["score"] for h in hs]
    chosen, vals = [], []
    while len(chosen) < 5:
        best, bv = None, None
        for i in range(len(hs)):
            if i in chosen: continue
            v = lam * rel[i] - (1 - lam) * max([cos(V[i], V[j]) for j in chosen], default=0.0)
            if bv is None or v > bv + 1e-12:
                best, bv = i, v
        chosen.append(best); vals.append(bv)
    mine = [g for g in got if g["qid"] == qid]
    assert [g["id"] for g in mine] == [hs[i]["id"] for i in chosen], (qid, mine, chosen)
    assert [g["retrieval_rank"] for g in mine] == [i + 1 for i in chosen]
    for g, v in zip(mine, vals):
        assert abs(g["score"] - v) < 1e-6, (g, v)
' hits.jsonl
    # the carried query text serves bm25 the same as --queries does
    run_split vs-rerank -m bm25 hits.jsonl || true
    expect_status 0
    a=$out
    run_split vs-rerank -m bm25 --queries q.jsonl hits.jsonl || true
    expect_status 0
    [ "$a" = "$out" ]
    [ "$(grep -c '"query"' hits.jsonl)" -eq 36 ]
}

@test "vs-rerank: bm25 --store gives the store's own BM25 scores (two segments, an overwrite)" {
    cd "$SCRATCH"
    $PY -c '
import json, random
random.seed(11)
words = "wing heat flow layer shock wave plate pressure mach boundary the of running runs".split()
docs = [{"id": "d%02d" % i, "text": " ".join(random.choice(words) for _ in range(random.randint(3, 12))),
         "vector": [round(random.uniform(-1, 1), 3) for _ in range(8)]} for i in range(40)]
with open("a.jsonl", "w") as f:
    for d in docs[:25]: f.write(json.dumps(d) + "\n")
with open("b.jsonl", "w") as f:
    for d in docs[25:]: f.write(json.dumps(d) + "\n")
    d = dict(docs[3]); d["text"] = "shock shock wave running"; f.write(json.dumps(d) + "\n")
with open("q.jsonl", "w") as f:
    for i in range(4):
        f.write(json.dumps({"id": "q%d" % i, "text": " ".join(random.sample(words, 3)),
                            "vector": [round(random.uniform(-1, 1), 3) for _ in range(8)]}) + "\n")
'
    vs-ingest -q kb.vs a.jsonl
    vs-ingest -q kb.vs b.jsonl
    vs-query --mode vector -k 15 --carry-query kb.vs q.jsonl > hits.jsonl
    vs-query --mode text -k 40 kb.vs q.jsonl > text.jsonl
    run_split vs-rerank -m bm25 --store kb.vs hits.jsonl || true
    expect_status 0
    expect_ndjson
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 60 ]
    printf '%s\n' "$out" > store.jsonl
    vs-rerank -m bm25 hits.jsonl > cand.jsonl
    $PY -c '
import json, sys
ref = {}
for l in open("text.jsonl"):
    o = json.loads(l); ref[(o["qid"], o["id"])] = o["score_text"]
got = [json.loads(l) for l in open("store.jsonl")]
cand = {(o["qid"], o["id"]): o["score"] for o in map(json.loads, open("cand.jsonl"))}
nonzero = differ = 0
for g in got:
    want = ref.get((g["qid"], g["id"]), 0.0)
    assert abs(g["score"] - want) < 1e-9, (g, want)
    nonzero += want > 0
    differ += abs(cand[(g["qid"], g["id"])] - want) > 1e-6
for q in {g["qid"] for g in got}:
    s = [g["score"] for g in got if g["qid"] == q]
    assert s == sorted(s, reverse=True)
assert nonzero > 20 and differ > 10, (nonzero, differ)
'
    # errors: an id not in the store is a data error at its line; option conflicts
    printf '%s\n' '{"qid":"q0","id":"d01","query":"wing"}' '{"qid":"q0","id":"zz","query":"wing"}' > bad.jsonl
    run_split vs-rerank -m bm25 --store kb.vs bad.jsonl || true
    expect_status 3
    [[ "$err" == *"bad.jsonl:2:"*"'zz'"* ]]
    run_split vs-rerank -m bm25 --store nope.vs hits.jsonl || true
    expect_status 4
    run_split vs-rerank -m bm25 --store kb.vs --analyzer en hits.jsonl || true
    expect_status 2
    run_split vs-rerank -m mmr --store kb.vs hits.jsonl || true
    expect_status 2
}

@test "vs-rerank: late-interaction matches a numpy MaxSim reference (projection, markers, [MASK] padding, metadata, plain BERT)" {
    $PY "$BATS_TEST_DIRNAME/../ref_late_interaction.py" make "$SCRATCH/li" --max-pos 24 --bias >/dev/null
    $PY "$BATS_TEST_DIRNAME/../ref_late_interaction.py" make "$SCRATCH/meta" --max-pos 40 \
        --meta '{"query_maxlen":12,"doc_maxlen":20,"attend_to_mask_tokens":true,"mask_punctuation":false,"similarity":"cosine"}' >/dev/null
    $PY "$BATS_TEST_DIRNAME/../ref_late_interaction.py" make "$SCRATCH/plain" --plain --max-pos 24 >/dev/null
    printf '%s\n' '{"id":"q1","text":"boundary layer heat transfer"}' \
        '{"id":"q2","text":"wave theory results of the pressure test data for the high speed flow over a plate with heat and more wave"}' > "$SCRATCH/q.jsonl"
    printf '%s\n' '{"qid":"q1","id":"a","rank":1,"score":0.9,"text":"the wing of the plane."}' \
        '{"qid":"q1","id":"b","rank":2,"score":0.8,"text":"heat transfer in boundary layer flow with a very long passage that goes on about shock waves and pressure"}' \
        '{"qid":"q1","id":"c","rank":3,"score":0.7,"text":"boundary, layer; heat!"}' \
        '{"qid":"q1","id":"e","rank":4,"score":0.6,"text":""}' \
        '{"qid":"q2","id":"d","rank":1,"score":0.7,"text":"Théorie des ondes: résultats!"}' \
        '{"qid":"q2","id":"f","rank":2,"score":0.6,"text":"flow"}' > "$SCRATCH/h.jsonl"
    for m in li meta plain; do
        pairs "$SCRATCH/q.jsonl" "$SCRATCH/h.jsonl" |
            $PY "$BATS_TEST_DIRNAME/../ref_late_interaction.py" score "$SCRATCH/$m" > "$SCRATCH/ref.jsonl"
        nt=$($PY -c 'import json,sys; print(sum(json.loads(l)["truncated"] for l in open(sys.argv[1])))' "$SCRATCH/ref.jsonl")
        [ "$nt" -ge 3 ]
        for t in 1 2; do
            run_split vs-rerank -m late-interaction --model "$SCRATCH/$m" --threads $t --queries "$SCRATCH/q.jsonl" --stats "$SCRATCH/h.jsonl" || true
            expect_status 0
            expect_ndjson
            [[ "$err" == *"\"truncated\":$nt"* ]]
            printf '%s\n' "$out" | $PY -c '
import json, sys
ref = [json.loads(l)["score"] for l in open(sys.argv[1])]
hits = [json.loads(l) for l in open(sys.argv[2])]
exp = {(h["qid"], h["id"]): r for h, r in zip(hits, ref)}
got = [json.loads(l) for l in sys.stdin]
assert len(got) == len(hits)
for g in got:
    assert abs(g["score"] - exp[(g["qid"], g["id"])]) < 1e-4, (g, exp)
for qid in ("q1", "q2"):
    mine = [g for g in got if g["qid"] == qid]
    assert [g["score"] for g in mine] == sorted((g["score"] for g in mine), reverse=True)
' "$SCRATCH/ref.jsonl" "$SCRATCH/h.jsonl"
        done
    done
    # the projection changes the scores: the two models disagree
    run_split vs-rerank -m late-interaction --model "$SCRATCH/li" --queries "$SCRATCH/q.jsonl" "$SCRATCH/h.jsonl"
    a=$out
    run_split vs-rerank -m late-interaction --model "$SCRATCH/plain" --queries "$SCRATCH/q.jsonl" "$SCRATCH/h.jsonl"
    [ "$a" != "$out" ]
    # a similarity other than cosine is refused
    echo '{"similarity":"l2"}' > "$SCRATCH/li/artifact.metadata"
    run_split vs-rerank -m late-interaction --model "$SCRATCH/li" --queries "$SCRATCH/q.jsonl" "$SCRATCH/h.jsonl" || true
    expect_status 2
    [[ "$err" == *"similarity"* ]]
    rm "$SCRATCH/li/artifact.metadata"
    # invalid UTF-8 in a passage is a data error
    printf '{"qid":"q1","id":"x","query":"heat","text":"\xff\xfe"}\n' > "$SCRATCH/bad.jsonl"
    run_split vs-rerank -m late-interaction --model "$SCRATCH/li" "$SCRATCH/bad.jsonl" || true
    [ "$status" -eq 3 ]
}
