#!/usr/bin/env bats
# vs-query: exact search, filters, formats, errors, and agreement with the
# numpy brute-force reference (tests/ref_search.py).
load helpers

setup() {
    ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
    REF="$ROOT/tests/ref_search.py"
    S=$(mktemp -d)
    cat > "$S/docs.ndjson" <<'EOF'
{"id":"a","text":"alpha","vector":[1,0,0],"metadata":{"lang":"en","year":2021}}
{"id":"b","text":"beta","vector":[0,1,0],"metadata":{"lang":"de","year":2019}}
{"id":"c","text":"gamma","vector":[1,1,0],"metadata":{"lang":"en","year":2018,"tags":["rust"]}}
{"id":"d","text":"delta","vector":[0,0,1],"source":"tmp/d.txt"}
EOF
    vs-ingest -q "$S/kb.vs" "$S/docs.ndjson"
    echo '{"id":"q1","vector":[1,0.1,0]}' > "$S/q1.ndjson"
}
teardown() { rm -rf "$S"; }

@test "vs-query --help lists the options and exits 0" {
    run_split vs-query --help || true
    expect_status 0
    [[ "$out" == *"Usage: vs-query"* ]]
    [[ "$out" == *"--filter EXPR"* ]]
    [ -z "$err" ]
}

@test "vs-query: --help and the man page list the same options" {
    help_matches_man vs-query
}

@test "vs-query: an unknown option is a usage error" {
    run_split vs-query --bogus "$S/kb.vs" || true
    expect_status 2
    [ -z "$out" ]
    [[ "$err" == *"--help"* ]]
}

@test "vs-query: missing STORE, bad -k, bad --format, bad --simd are usage errors" {
    run_split vs-query || true
    expect_status 2
    run_split vs-query -k 0 "$S/kb.vs" || true
    expect_status 2
    [[ "$err" == *"-k"* ]]
    run_split vs-query --format csv "$S/kb.vs" || true
    expect_status 2
    run_split vs-query --simd neon "$S/kb.vs" || true
    expect_status 2
    run_split vs-query --explain --format trec "$S/kb.vs" || true
    expect_status 2
}

@test "vs-query: a store that does not exist is exit 4" {
    run_split vs-query "$S/nope.vs" < "$S/q1.ndjson" || true
    expect_status 4
    [ -z "$out" ]
    [[ "$err" == *"nope.vs"* ]]
}

@test "vs-query: empty input gives no output and exit 0" {
    run_split vs-query "$S/kb.vs" < /dev/null || true
    expect_status 0
    [ -z "$out" ]
    [ -z "$err" ]
}

@test "vs-query: happy path matches the expected hits" {
    run_split vs-query -k 3 "$S/kb.vs" "$S/q1.ndjson" || true
    expect_status 0
    expected='{"qid":"q1","id":"a","rank":1,"score":0.9950372,"distance":0.004962802,"metric":"cosine","text":"alpha","metadata":{"lang":"en","year":2021}}
{"qid":"q1","id":"c","rank":2,"score":0.7739573,"distance":0.22604269,"metric":"cosine","text":"gamma","metadata":{"lang":"en","year":2018,"tags":["rust"]}}
{"qid":"q1","id":"b","rank":3,"score":0.09950372,"distance":0.9004963,"metric":"cosine","text":"beta","metadata":{"lang":"de","year":2019}}'
    [ "$out" = "$expected" ]
    [ -z "$err" ]
    expect_ndjson
}

@test "vs-query: default k is 10, capped by the store; --no-text --no-metadata" {
    run_split vs-query --no-text --no-metadata "$S/kb.vs" "$S/q1.ndjson" || true
    expect_status 0
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 4 ]
    [[ "$out" != *'"text"'* ]]
    [[ "$out" != *'"metadata"'* ]]
    expect_ndjson
}

@test "vs-query: a malformed line is exit 3 naming FILE:LINE, earlier queries answered" {
    printf '%s\n' '{"id":"q1","vector":[1,0,0]}' '{"id":"q2",' > "$S/bad.ndjson"
    run_split vs-query -k 1 "$S/kb.vs" "$S/bad.ndjson" || true
    expect_status 3
    [[ "$err" == *"bad.ndjson:2:"* ]]
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ]
    [[ "$out" == *'"qid":"q1","id":"a"'* ]]
}

@test "vs-query: dimension mismatch, missing vector, bad k, bad filter are exit 3" {
    echo '{"id":"q","vector":[1,0]}' > "$S/x.ndjson"
    run_split vs-query "$S/kb.vs" "$S/x.ndjson" || true
    expect_status 3
    [[ "$err" == *"x.ndjson:1:"*"field 'vector' has 2 numbers"*"dimension 3"* ]]
    printf '\n{"id":"q"}\n' > "$S/x.ndjson"
    run_split vs-query "$S/kb.vs" "$S/x.ndjson" || true
    expect_status 3
    [[ "$err" == *"x.ndjson:2:"*"'vector'"* ]]
    echo '{"id":"q","vector":[1,0,0],"k":0}' > "$S/x.ndjson"
    run_split vs-query "$S/kb.vs" "$S/x.ndjson" || true
    expect_status 3
    [[ "$err" == *"field 'k'"* ]]
    echo '{"id":"q","vector":[1,0,0],"filter":"lang = "}' > "$S/x.ndjson"
    run_split vs-query "$S/kb.vs" "$S/x.ndjson" || true
    expect_status 3
    [[ "$err" == *"field 'filter'"*"column 8"* ]]
    echo '{"vector":[1,0,0]}' > "$S/x.ndjson"
    run_split vs-query "$S/kb.vs" "$S/x.ndjson" || true
    expect_status 3
    [[ "$err" == *"field 'id' is missing"* ]]
    echo '{"id":"q","vector":[0,0,0]}' > "$S/x.ndjson"
    run_split vs-query "$S/kb.vs" "$S/x.ndjson" || true
    expect_status 3
    [[ "$err" == *"normalised"* ]]
}

@test "vs-query: --keep-going skips bad records with a warning" {
    printf '%s\n' '{"id":"q1","vector":[1,0,0]}' 'nope' '{"id":"q2","vector":[1]}' \
        '{"id":"q3","vector":[0,0,1]}' > "$S/mix.ndjson"
    run_split vs-query -k 1 --keep-going --no-text --no-metadata "$S/kb.vs" "$S/mix.ndjson" || true
    expect_status 0
    [ "$out" = '{"qid":"q1","id":"a","rank":1,"score":1.0,"distance":0.0,"metric":"cosine"}
{"qid":"q3","id":"d","rank":1,"score":1.0,"distance":0.0,"metric":"cosine"}' ]
    [[ "$err" == *"warning"*"mix.ndjson:2:"* ]]
    [[ "$err" == *"warning"*"mix.ndjson:3:"* ]]
}

@test "vs-query: writing to /dev/full is exit 5" {
    run_split vs-query "$S/kb.vs" "$S/q1.ndjson"  || true
    expect_status 0
    status=0
    vs-query "$S/kb.vs" "$S/q1.ndjson" > /dev/full 2> "$S/err" || status=$?
    [ "$status" -eq 5 ]
    grep -q "error" "$S/err"
}

@test "vs-query: --filter selects records; a bad --filter is exit 2 with its column" {
    run_split vs-query --no-text --no-metadata \
        --filter 'lang = "en" AND (year >= 2020 OR tags CONTAINS "rust") AND NOT source STARTSWITH "tmp/"' \
        "$S/kb.vs" "$S/q1.ndjson" || true
    expect_status 0
    [ "$(printf '%s\n' "$out" | $PY -c 'import sys,json; print(" ".join(json.loads(l)["id"] for l in sys.stdin))')" = "a c" ]
    run_split vs-query --filter 'NOT source EXISTS' --no-text --no-metadata "$S/kb.vs" "$S/q1.ndjson" || true
    expect_status 0
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 3 ]
    run_split vs-query --filter 'lang = "en" AND' "$S/kb.vs" "$S/q1.ndjson" || true
    expect_status 2
    [ -z "$out" ]
    [[ "$err" == *"--filter"*"column 16"* ]]
}

@test "vs-query: a query's filter combines with --filter by AND" {
    echo '{"id":"q1","vector":[1,0.1,0],"filter":"year < 2020"}' > "$S/qf.ndjson"
    run_split vs-query --no-text --no-metadata --filter 'lang = "en"' "$S/kb.vs" "$S/qf.ndjson" || true
    expect_status 0
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ]
    [[ "$out" == *'"id":"c"'* ]]
}

@test "vs-query: --format trec writes run lines" {
    run_split vs-query -k 2 --format trec "$S/kb.vs" "$S/q1.ndjson" || true
    expect_status 0
    [ "$out" = "q1 Q0 a 1 0.9950372 vecstore
q1 Q0 c 2 0.7739573 vecstore" ]
}

@test "vs-query: --explain reports what was searched" {
    echo '{"id":"q1","vector":[1,0.1,0],"filter":"lang = \"en\""}' > "$S/qf.ndjson"
    echo '{"id":"q2","vector":[1,0.1,0],"filter":"lang = \"fr\""}' >> "$S/qf.ndjson"
    run_split vs-query --explain --exact "$S/kb.vs" "$S/qf.ndjson" || true
    expect_status 0
    expect_ndjson
    printf '%s\n' "$out" | $PY -c '
import json, sys
recs = [json.loads(l) for l in sys.stdin]
assert [r.get("id") for r in recs] == ["a", "c", None], recs
e = recs[0]["explain"]
assert e["exact"] is True and e["mode"] == "exact", e
assert e["records_scanned"] == 4 and e["filter_matched"] == 2, e
assert e["filter_selectivity"] == 0.5 and e["hits"] == 2, e
assert e["distance_computations"] >= 2, e
assert "explain" not in recs[1]
assert recs[2]["qid"] == "q2" and recs[2]["hits"] == 0
assert recs[2]["explain"]["filter_matched"] == 0
'
}

@test "vs-query: --fail-empty is exit 1 only when nothing was found" {
    run_split vs-query --fail-empty --filter 'lang = "fr"' "$S/kb.vs" "$S/q1.ndjson" || true
    expect_status 1
    [ -z "$out" ]
    run_split vs-query --fail-empty "$S/kb.vs" "$S/q1.ndjson" || true
    expect_status 0
}

@test "vs-query: ties are broken by id; tombstones are skipped; k beyond the store" {
    printf '%s\n' '{"id":"z","vector":[1,2]}' '{"id":"m","vector":[1,2]}' \
        '{"id":"a","vector":[1,2]}' '{"id":"x","vector":[0,1]}' '{"id":"gone","vector":[1,2]}' \
        | vs-ingest -q --metric l2 "$S/t.vs"
    printf '%s\n' '{"id":"gone","op":"delete"}' '{"id":"x","vector":[5,5]}' | vs-ingest -q "$S/t.vs"
    echo '{"id":"q","vector":[1,2],"k":50}' > "$S/q.ndjson"
    run_split vs-query --format trec "$S/t.vs" "$S/q.ndjson" || true
    expect_status 0
    [ "$out" = "q Q0 a 1 0 vecstore
q Q0 m 2 0 vecstore
q Q0 z 3 0 vecstore
q Q0 x 4 -25 vecstore" ]
}

@test "vs-query: text queries are embedded with the store's model" {
    printf '%s\n' '{"id":"1","text":"the quick brown fox"}' '{"id":"2","text":"lorem ipsum dolor"}' \
        '{"id":"3","text":"vectors and pipes in C"}' | vs-embed --dim 64 | vs-ingest -q "$S/e.vs"
    echo '{"id":"q","text":"vectors and pipes in C"}' > "$S/q.ndjson"
    run_split vs-query --mode vector -k 1 --no-metadata "$S/e.vs" "$S/q.ndjson" || true
    expect_status 0
    printf '%s\n' "$out" | $PY -c '
import json, sys
h = json.loads(sys.stdin.read())
assert h["id"] == "3" and h["rank"] == 1 and h["score"] > 0.9999, h
'
}

@test "vs-query: a text query needs a local model pinned by the store" {
    echo '{"id":"q","text":"alpha"}' > "$S/q.ndjson"
    run_split vs-query --mode vector "$S/kb.vs" "$S/q.ndjson" || true
    expect_status 3
    [[ "$err" == *"q.ndjson:1:"*"pins no embedding model"* ]]
    echo '{"id":"a","vector":[1,0],"vector_model":"no-such-model"}' | vs-ingest -q "$S/m.vs"
    run_split vs-query --mode vector "$S/m.vs" "$S/q.ndjson" || true
    expect_status 3
    [[ "$err" == *"'no-such-model' is not available here"* ]]
}

gen_random() { # DIR METRIC: random integer data, overwrites, deletes, queries
    $PY - "$1" "$2" <<'EOF'
import json, random, sys
d, metric = sys.argv[1], sys.argv[2]
rnd = random.Random(42 + len(metric))
dim = 12
def vec():
    while True:
        v = [rnd.randint(-3, 3) for _ in range(dim)]
        if any(v): return v
docs = {}
with open(d + "/ins1.ndjson", "w") as f:
    for i in range(300):
        v = vec() if i % 7 or i == 0 else docs["d%03d" % (i - 1)]["vector"]  # exact duplicates: ties
        r = {"id": "d%03d" % i, "vector": v, "metadata": {"grp": i % 5, "year": 2000 + i % 30}}
        docs[r["id"]] = r
        f.write(json.dumps(r) + "\n")
with open(d + "/ins2.ndjson", "w") as f:
    for i in range(0, 300, 11):  # overwrite: the old rows become tombstones
        r = {"id": "d%03d" % i, "vector": vec(), "metadata": {"grp": 9, "year": 1999}}
        docs[r["id"]] = r
        f.write(json.dumps(r) + "\n")
    for i in range(3, 300, 13):
        docs.pop("d%03d" % i, None)
        f.write(json.dumps({"id": "d%03d" % i, "op": "delete"}) + "\n")
with open(d + "/final.ndjson", "w") as f:
    for r in docs.values():
        f.write(json.dumps(r) + "\n")
filters = [None, "grp = 1", "year >= 2020 AND grp IN [1, 2]", "grp = 9 OR year < 2003", "grp = 42"]
with open(d + "/queries.ndjson", "w") as f:
    for i in range(40):
        q = {"id": "q%02d" % i, "vector": vec() if i % 9 else docs["d%03d" % (5 + i)]["vector"]}
        if filters[i % 5]: q["filter"] = filters[i % 5]
        if i % 6 == 0: q["k"] = 1000  # more than the store holds
        f.write(json.dumps(q) + "\n")
EOF
}

check_metric() { # METRIC TOL [vs-query options]
    local metric=$1 tol=$2
    shift 2
    gen_random "$S" "$metric"
    vs-ingest -q --metric "$metric" "$S/$metric.vs" "$S/ins1.ndjson"
    vs-ingest -q "$S/$metric.vs" "$S/ins2.ndjson"
    local norm=
    if [ "$metric" = cosine ]; then norm=--normalize; fi
    vs-query -k 7 --no-text "$@" "$S/$metric.vs" "$S/queries.ndjson" > "$S/hits.ndjson"
    $PY "$REF" --docs "$S/final.ndjson" --queries "$S/queries.ndjson" --metric "$metric" \
        -k 7 $norm --tol "$tol" --check "$S/hits.ndjson"
}

@test "vs-query agrees with the numpy reference: l2 (exact ids, ties, deletes, filters)" {
    check_metric l2 0
}

@test "vs-query agrees with the numpy reference: dot (exact ids, ties, deletes, filters)" {
    check_metric dot 0
}

@test "vs-query agrees with the numpy reference: cosine" {
    check_metric cosine 1e-5
}

@test "vs-query agrees with the reference with a global --filter, 1 thread, batch 1" {
    gen_random "$S" l2
    vs-ingest -q --metric l2 "$S/g.vs" "$S/ins1.ndjson"
    vs-ingest -q "$S/g.vs" "$S/ins2.ndjson"
    vs-query -k 5 --threads 1 --batch 1 --filter 'NOT grp = 2' "$S/g.vs" "$S/queries.ndjson" > "$S/hits.ndjson"
    $PY "$REF" --docs "$S/final.ndjson" --queries "$S/queries.ndjson" --metric l2 -k 5 \
        --filter 'NOT grp = 2' --tol 0 --check "$S/hits.ndjson"
}

@test "vs-query: every kernel set the CPU runs agrees with the reference" {
    gen_random "$S" dot
    vs-ingest -q --metric dot "$S/k.vs" "$S/ins1.ndjson"
    vs-ingest -q "$S/k.vs" "$S/ins2.ndjson"
    n=0
    for simd in scalar sse avx2 avx512; do
        vs-query --simd "$simd" "$S/k.vs" < /dev/null 2>/dev/null || continue
        vs-query -k 7 --simd "$simd" "$S/k.vs" "$S/queries.ndjson" > "$S/hits-$simd.ndjson"
        $PY "$REF" --docs "$S/final.ndjson" --queries "$S/queries.ndjson" --metric dot -k 7 \
            --tol 0 --check "$S/hits-$simd.ndjson"
        n=$((n + 1))
    done
    [ "$n" -ge 1 ]
}

@test "vs-query: output is the same for every batch size and thread count" {
    if vs-query --threads 2 "$S/none.vs" </dev/null 2>&1 | grep -q 'no OpenMP'; then
        skip "this build has no OpenMP (OPENMP=0): one thread only"
    fi
    gen_random "$S" cosine
    vs-ingest -q "$S/c.vs" "$S/ins1.ndjson"
    vs-ingest -q "$S/c.vs" "$S/ins2.ndjson"
    vs-query --threads 1 --batch 1 "$S/c.vs" "$S/queries.ndjson" > "$S/a.ndjson"
    vs-query --threads 2 --batch 64 "$S/c.vs" "$S/queries.ndjson" > "$S/b.ndjson"
    vs-query --threads 2 --batch 7 "$S/c.vs" "$S/queries.ndjson" > "$S/c.ndjson"
    [ -s "$S/a.ndjson" ]
    cmp "$S/a.ndjson" "$S/b.ndjson"
    cmp "$S/a.ndjson" "$S/c.ndjson"
}

@test "vs-query: settings come from the environment, flags win" {
    VS_QUERY_K=2 vs-query "$S/kb.vs" "$S/q1.ndjson" > "$S/o"
    [ "$(wc -l < "$S/o")" -eq 2 ]
    VS_QUERY_K=2 vs-query -k 1 "$S/kb.vs" "$S/q1.ndjson" > "$S/o"
    [ "$(wc -l < "$S/o")" -eq 1 ]
    run_split env VS_QUERY_K=zero vs-query "$S/kb.vs" "$S/q1.ndjson" || true
    expect_status 2
}

@test "vs-query: settings come from --config FILE ([query] k)" {
    printf '[query]\nk = 3\n' > "$S/conf.toml"
    vs-query --config "$S/conf.toml" "$S/kb.vs" "$S/q1.ndjson" > "$S/o"
    [ "$(wc -l < "$S/o")" -eq 3 ]
    printf '[query]\nk = "many"\n' > "$S/conf.toml"
    run_split vs-query --config "$S/conf.toml" "$S/kb.vs" "$S/q1.ndjson" || true
    expect_status 2
}

@test "vs-query --stats counts queries and hits" {
    run_split vs-query --stats -k 2 "$S/kb.vs" "$S/q1.ndjson" || true
    expect_status 0
    printf '%s\n' "$err" | $PY -c '
import json, sys
s = json.loads(sys.stdin.read())
assert s["queries"] == 1 and s["hits"] == 2 and s["exit"] == 0, s
assert s["distance_computations"] == 4, s
'
}

@test "vs-query on real data (cranfield, hash embeddings) agrees with the reference" {
    need_data
    $PY - "$VS_DATA/datasets/cranfield" "$S" <<'EOF'
import json, sys
src, d = sys.argv[1], sys.argv[2]
with open(src + "/corpus.jsonl") as f, open(d + "/corpus.ndjson", "w") as o:
    for l in f:
        r = json.loads(l)
        o.write(json.dumps({"id": r["_id"], "text": (r.get("title", "") + " " + r["text"]).strip()}) + "\n")
with open(src + "/queries.jsonl") as f, open(d + "/queries.ndjson", "w") as o:
    for i, l in enumerate(f):
        if i >= 40: break
        r = json.loads(l)
        o.write(json.dumps({"id": r["_id"], "text": r["text"]}) + "\n")
EOF
    vs-embed --keep-going -q --dim 128 "$S/corpus.ndjson" > "$S/corpus.vec"
    vs-ingest -q "$S/cran.vs" "$S/corpus.vec"
    vs-embed -q --dim 128 "$S/queries.ndjson" > "$S/queries.vec"
    vs-query --mode vector -k 10 --no-text "$S/cran.vs" "$S/queries.vec" > "$S/hits.ndjson"
    [ "$(wc -l < "$S/hits.ndjson")" -eq 400 ]
    $PY "$REF" --docs "$S/corpus.vec" --queries "$S/queries.vec" --metric cosine -k 10 \
        --normalize --tol 1e-5 --check "$S/hits.ndjson"
    # text-only queries, embedded by vs-query with the store's model and
    # normalised like the store's vectors, give exactly the same hits
    vs-query --mode vector -k 10 --no-text "$S/cran.vs" "$S/queries.ndjson" > "$S/hits2.ndjson"
    cmp "$S/hits.ndjson" "$S/hits2.ndjson"
}

# ---- text (BM25), hybrid, fusion, MMR, explain (issue 4) ----

# A tiny store with text whose analysis is splitting at spaces (no stop
# words), so tests/ref_hybrid.py can recompute every score.
text_store() {
    cat > "$S/tdocs.ndjson" <<'EOF2'
{"id":"t1","text":"apple banana","vector":[1,0,0],"metadata":{"shelf":1}}
{"id":"t2","text":"apple apple cherry","vector":[0.9,0.3,0],"metadata":{"shelf":2}}
{"id":"t3","text":"cherry date fig","vector":[0,1,0],"metadata":{"shelf":1}}
{"id":"t4","text":"banana","vector":[0,0.2,1],"metadata":{"shelf":2}}
{"id":"t5","text":"grape melon","vector":[0.5,0.5,0.5],"metadata":{"shelf":3}}
EOF2
    vs-ingest -q "$S/t.vs" "$S/tdocs.ndjson"
    printf '%s\n' '{"id":"q1","text":"apple cherry","vector":[1,0.2,0]}' \
        '{"id":"q2","text":"banana","vector":[0,0,1]}' \
        '{"id":"q3","text":"fig date apple","vector":[0.2,1,0.1]}' > "$S/tq.ndjson"
}

@test "vs-query --mode text: BM25 scores and order match the reference; no vector needed" {
    text_store
    run_split vs-query --mode text --no-text "$S/t.vs" "$S/tq.ndjson" || true
    expect_status 0
    [ -z "$err" ]
    expect_ndjson
    printf '%s\n' "$out" > "$S/h.ndjson"
    $PY "$ROOT/tests/ref_hybrid.py" --mode text "$S/tdocs.ndjson" "$S/tq.ndjson" "$S/h.ndjson"
    # q2 "banana": t1 and t4 only; t4 is shorter so it ranks first
    [ "$(grep '"qid":"q2"' "$S/h.ndjson" | $PY -c 'import json,sys; print(" ".join(json.loads(l)["id"] for l in sys.stdin))')" = "t4 t1" ]
    echo '{"id":"x","text":"melon"}' | vs-query --mode text "$S/t.vs" > "$S/x.ndjson"
    [ "$($PY -c 'import json,sys; h=json.load(open(sys.argv[1])); print(h["id"], h["mode"], h["score_vector"], h["text"], h["metadata"]["shelf"])' "$S/x.ndjson")" = "t5 text None grape melon 3" ]
}

@test "vs-query --mode text: --k1 and --b change the scores and are echoed" {
    text_store
    run_split vs-query --mode text --k1 2 --b 0.3 "$S/t.vs" "$S/tq.ndjson" || true
    expect_status 0
    printf '%s\n' "$out" > "$S/h.ndjson"
    $PY "$ROOT/tests/ref_hybrid.py" --mode text --k1 2 --b 0.3 "$S/tdocs.ndjson" "$S/tq.ndjson" "$S/h.ndjson"
    # the default k1 and b give other scores: the reference check above can tell them apart
    run ! $PY "$ROOT/tests/ref_hybrid.py" --mode text "$S/tdocs.ndjson" "$S/tq.ndjson" "$S/h.ndjson"
    [ "$(head -1 "$S/h.ndjson" | $PY -c 'import json,sys; h=json.load(sys.stdin); print(h["bm25"], h["fusion"])')" = "{'k1': 2.0, 'b': 0.3} None" ]
}

@test "vs-query hybrid: rrf, weighted and dbsf fusion match the reference; fields echoed" {
    text_store
    for f in "rrf" "rrf --rrf-k 5" "weighted" "weighted --alpha 0.2" "dbsf --alpha 0.7"; do
        set -- $f
        run_split vs-query --mode hybrid --fusion "$@" --no-text "$S/t.vs" "$S/tq.ndjson" || true
        expect_status 0
        [ -z "$err" ]
        printf '%s\n' "$out" > "$S/h.ndjson"
        shift
        $PY "$ROOT/tests/ref_hybrid.py" --fusion $f "$S/tdocs.ndjson" "$S/tq.ndjson" "$S/h.ndjson"
    done
    # the default mode is hybrid when the store has text and the query has text
    vs-query "$S/t.vs" "$S/tq.ndjson" > "$S/d.ndjson"
    $PY "$ROOT/tests/ref_hybrid.py" "$S/tdocs.ndjson" "$S/tq.ndjson" "$S/d.ndjson"
    $PY - "$S/d.ndjson" <<'EOF2'
import json, sys
for l in open(sys.argv[1]):
    h = json.loads(l)
    assert h["mode"] == "hybrid" and h["fusion"] == {"method": "weighted", "alpha": 0.5}, h
    assert set(["score_vector", "score_text", "rank_vector", "rank_text", "bm25", "metric"]) <= set(h), h
EOF2
    # q1 by hand: t2 is first on both sides (cosine 0.992; apple x2 + cherry),
    # so both normalised scores are 1: 0.5 * 1 + 0.5 * 1
    [ "$(head -1 "$S/d.ndjson" | $PY -c 'import json,sys; h=json.load(sys.stdin); print(h["id"], round(h["score"], 12), h["rank_vector"], h["rank_text"])')" = "t2 1.0 1 1" ]
}

@test "vs-query hybrid --candidates: each side gives its top C (at least k) to the fusion" {
    text_store
    # q2 "banana": t1 is 3rd on the vector side, 2nd on the text side; with
    # 2 candidates it is fused from the text side alone
    run_split vs-query --mode hybrid -k 2 --candidates 2 --no-text "$S/t.vs" "$S/tq.ndjson"
    expect_status 0
    [ -z "$err" ]
    printf '%s\n' "$out" > "$S/h.ndjson"
    $PY "$ROOT/tests/ref_hybrid.py" -k 2 --candidates 2 "$S/tdocs.ndjson" "$S/tq.ndjson" "$S/h.ndjson"
    # the same hits fused from every candidate (the default 100) differ
    run ! $PY "$ROOT/tests/ref_hybrid.py" -k 2 "$S/tdocs.ndjson" "$S/tq.ndjson" "$S/h.ndjson"
    [ "$(jq -c 'select(.qid == "q2" and .rank == 2) | [.id, .rank_vector, .score_vector, .rank_text]' "$S/h.ndjson")" = '["t1",null,null,2]' ]
    # fewer candidates than k: k of them
    vs-query --mode hybrid -k 3 --candidates 1 --no-text "$S/t.vs" "$S/tq.ndjson" > "$S/h3.ndjson"
    $PY "$ROOT/tests/ref_hybrid.py" -k 3 --candidates 3 "$S/tdocs.ndjson" "$S/tq.ndjson" "$S/h3.ndjson"
}

@test "vs-query --mmr --candidates: MMR picks only among the top C (at least k) by relevance" {
    printf '%s\n' '{"id":"a","text":"x","vector":[1,0]}' '{"id":"a2","text":"x","vector":[1,0.01]}' \
        '{"id":"b","text":"x","vector":[0.6,0.8]}' '{"id":"c","text":"x","vector":[0,1]}' |
        vs-ingest -q "$S/m.vs"
    echo '{"id":"q","vector":[1,0.05]}' > "$S/q.ndjson"
    ids() { printf '%s\n' "$out" | jq -r .id | tr '\n' ' '; }
    # from all four, lambda 0.3 takes c (the most diverse) before a
    run_split vs-query --mode vector --mmr 0.3 -k 3 "$S/m.vs" "$S/q.ndjson"
    expect_status 0
    [ "$(ids)" = "a2 c b " ]
    # the top 3 by relevance are a2, a, b: c is no candidate
    run_split vs-query --mode vector --mmr 0.3 -k 3 --candidates 3 "$S/m.vs" "$S/q.ndjson"
    expect_status 0
    [ -z "$err" ]
    [ "$(ids)" = "a2 a b " ]
    # fewer candidates than k: k of them
    run_split vs-query --mode vector --mmr 0.3 -k 3 --candidates 1 "$S/m.vs" "$S/q.ndjson"
    expect_status 0
    [ "$(ids)" = "a2 a b " ]
    run_split vs-query --mode vector --mmr 0.3 -k 3 --candidates 4 "$S/m.vs" "$S/q.ndjson"
    expect_status 0
    [ "$(ids)" = "a2 c b " ]
}

@test "vs-query: a query without text is vector search; text mode without text is exit 3 naming the line" {
    text_store
    echo '{"id":"v","vector":[1,0,0]}' | vs-query -k 1 "$S/t.vs" > "$S/v.ndjson"
    [ "$($PY -c 'import json,sys; h=json.load(open(sys.argv[1])); print(h["id"], "mode" in h, h["distance"] < 1e-6)' "$S/v.ndjson")" = "t1 False True" ]
    printf '%s\n' '{"id":"a","text":"apple"}' '{"id":"b","vector":[1,0,0]}' > "$S/bad.ndjson"
    run_split vs-query --mode text "$S/t.vs" "$S/bad.ndjson" || true
    expect_status 3
    [[ "$err" == *"bad.ndjson:2:"*"'text'"* ]]
    [ "$(printf '%s\n' "$out" | grep -c '"qid":"a"')" -eq 2 ]
    run_split vs-query --mode fuzzy "$S/t.vs" "$S/bad.ndjson" || true
    expect_status 2
    [ -z "$out" ]
    run_split vs-query --fusion best "$S/t.vs" "$S/bad.ndjson" || true
    expect_status 2
    run_split vs-query --mmr 2 "$S/t.vs" "$S/bad.ndjson" || true
    expect_status 2
}

@test "vs-query: filters apply to both sides, with k hits whenever k records match" {
    text_store
    # shelf 2 holds t2 and t4: text-only "apple" matches t2 only
    echo '{"id":"q","text":"apple","vector":[1,0,0]}' > "$S/q.ndjson"
    run_split vs-query --mode text --filter 'shelf = 2' "$S/t.vs" "$S/q.ndjson" || true
    expect_status 0
    [ "$(printf '%s\n' "$out" | $PY -c 'import json,sys; print(" ".join(json.loads(l)["id"] for l in sys.stdin))')" = "t2" ]
    # hybrid: the vector side fills k = 2 with the filter's records
    run_split vs-query --mode hybrid -k 2 --filter 'shelf = 2' "$S/t.vs" "$S/q.ndjson" || true
    expect_status 0
    [ "$(printf '%s\n' "$out" | $PY -c 'import json,sys; print(" ".join(json.loads(l)["id"] for l in sys.stdin))')" = "t2 t4" ]
    # a record filter ANDed with the global one, on the text side too
    echo '{"id":"q","text":"apple banana","filter":"shelf = 1"}' > "$S/q2.ndjson"
    run_split vs-query --mode text "$S/t.vs" "$S/q2.ndjson" || true
    [ "$(printf '%s\n' "$out" | $PY -c 'import json,sys; print(" ".join(json.loads(l)["id"] for l in sys.stdin))')" = "t1" ]
    run_split vs-query --mode text --filter 'shelf = 2' "$S/t.vs" "$S/q2.ndjson" || true
    expect_status 0
    [ -z "$out" ]
}

@test "vs-query --explain: matched terms with BM25 contributions summing to score_text, and the vector score" {
    text_store
    echo '{"id":"q","text":"apple \"apple cherry\" +cherry","vector":[1,0.2,0]}' > "$S/q.ndjson"
    run_split vs-query --explain --mode hybrid "$S/t.vs" "$S/q.ndjson" || true
    expect_status 0
    expect_ndjson
    printf '%s\n' "$out" | $PY -c '
import json, sys
hs = [json.loads(l) for l in sys.stdin]
t2 = [h for h in hs if h["id"] == "t2"][0]
e = t2["explain"]
terms = {t["term"]: t for t in e["terms"]}
assert set(terms) == {"appl", "appl cherri", "cherri"}, e
assert terms["appl"]["tf"] == 2 and terms["appl cherri"]["tf"] == 1 and terms["cherri"].get("required"), e
assert abs(sum(t["score"] for t in e["terms"]) - t2["score_text"]) < 1e-9, t2
assert e["score_vector"] == t2["score_vector"] and e["score_vector"] > 0.9, t2
assert all("explain" in h for h in hs)
assert [h["id"] for h in hs if h["score_text"] is not None] == ["t2", "t3"] or \
       sorted(h["id"] for h in hs if h["score_text"] is not None) == ["t2", "t3"], hs
'
}

@test "vs-query --mmr: lambda 1 keeps the relevance order, lambda 0 picks diverse vectors" {
    printf '%s\n' '{"id":"a","text":"x","vector":[1,0]}' '{"id":"a2","text":"x","vector":[1,0.01]}' \
        '{"id":"b","text":"x","vector":[0.6,0.8]}' '{"id":"c","text":"x","vector":[0,1]}' |
        vs-ingest -q "$S/m.vs"
    echo '{"id":"q","vector":[1,0.05]}' > "$S/q.ndjson"
    ids() { printf '%s\n' "$out" | $PY -c 'import json,sys; print(" ".join(json.loads(l)["id"] for l in sys.stdin))'; }
    run_split vs-query --mode vector -k 3 "$S/m.vs" "$S/q.ndjson" || true
    [ "$(ids)" = "a2 a b" ]
    run_split vs-query --mode vector --mmr 1 -k 3 "$S/m.vs" "$S/q.ndjson" || true
    expect_status 0
    [ "$(ids)" = "a2 a b" ]
    # lambda 0.3: after a2, its near-duplicate a is pushed behind b and c
    run_split vs-query --mode vector --mmr 0.3 -k 3 "$S/m.vs" "$S/q.ndjson" || true
    expect_status 0
    [ "$(ids)" = "a2 c b" ]
    [ "$(printf '%s\n' "$out" | head -1 | $PY -c 'import json,sys; print(json.load(sys.stdin)["mmr"]["lambda"])')" = "0.3" ]
}

@test "vs-query --fuse: fuses runs by qid (rrf, weighted by default), errors name RUN:LINE" {
    printf '%s\n' '{"qid":"1","id":"a","score":3}' '{"qid":"1","id":"b","score":2}' \
        '{"qid":"2","id":"x","score":1}' > "$S/r1.ndjson"
    printf '%s\n' '{"qid":"1","id":"b","score":0.9,"text":"bee"}' '{"qid":"1","id":"c","score":0.5}' \
        '{"qid":"3","id":"y","score":7}' > "$S/r2.ndjson"
    run_split vs-query --fuse --fusion rrf "$S/r1.ndjson" "$S/r2.ndjson" || true
    expect_status 0
    [ -z "$err" ]
    expect_ndjson
    printf '%s\n' "$out" | $PY -c '
import json, sys
hs = [json.loads(l) for l in sys.stdin]
got = [(h["qid"], h["id"], h["rank"], round(h["score"], 12)) for h in hs]
r = lambda *x: round(sum(1 / (60 + i) for i in x), 12)
want = [("1", "b", 1, r(2, 1)), ("1", "a", 2, r(1)), ("1", "c", 3, r(2)),
        ("2", "x", 1, r(1)), ("3", "y", 1, r(1))]
assert got == want, (got, want)
assert hs[0]["scores"] == [2, 0.9] and hs[0]["ranks"] == [2, 1] and hs[0]["text"] == "bee", hs[0]
assert hs[1]["scores"] == [3, None] and hs[0]["fusion"] == {"method": "rrf", "rrf_k": 60.0}
'
    run_split vs-query --fuse -k 1 --fusion weighted --alpha 0.25 "$S/r1.ndjson" "$S/r2.ndjson" || true
    expect_status 0
    # qid 1: a = 0.25*1, b = 0.25*0 + 0.75*1, c = 0 -> b first
    [ "$(printf '%s\n' "$out" | head -1 | $PY -c 'import json,sys; h=json.load(sys.stdin); print(h["id"], h["score"], h["fusion"]["method"])')" = "b 0.75 weighted" ]
    # the default: weighted, alpha 0.5; qid 1: a = 0.5, b = 0 + 0.5, c = 0; a
    # and b tie at 0.5 (ties by id: a first)
    run_split vs-query --fuse -k 1 "$S/r1.ndjson" "$S/r2.ndjson" || true
    expect_status 0
    [ "$(printf '%s\n' "$out" | head -1 | $PY -c 'import json,sys; h=json.load(sys.stdin); print(h["id"], h["score"], h["fusion"])')" = "a 0.5 {'method': 'weighted', 'alpha': 0.5}" ]
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 3 ]
    printf '%s\n' '{"qid":"1","id":"a","score":3}' '{"qid":"1","id":"b"}' > "$S/bad.ndjson"
    run_split vs-query --fuse "$S/r1.ndjson" "$S/bad.ndjson" || true
    expect_status 3
    [[ "$err" == *"bad.ndjson:2:"*"score"* ]]
    [ -z "$out" ]
    run_split vs-query --fuse || true
    expect_status 2
    run_split vs-query --fuse "$S/r1.ndjson" "$S/none.ndjson" || true
    expect_status 5
}

@test "vs-query --fuse: empty runs give nothing; output to /dev/full is exit 5" {
    : > "$S/e.ndjson"
    run_split vs-query --fuse "$S/e.ndjson" "$S/e.ndjson" || true
    expect_status 0
    [ -z "$out" ]
    printf '%s\n' '{"qid":"1","id":"a","score":3}' > "$S/r.ndjson"
    run vs-query --fuse "$S/r.ndjson" "$S/r.ndjson"
    [ "$status" -eq 0 ]
    vs-query --fuse "$S/r.ndjson" > /dev/full 2> "$S/err" && false || [ $? -eq 5 ]
}

@test "vs-query text search: deleted records are never returned; compaction keeps text search working" {
    text_store
    printf '%s\n' '{"id":"t6","text":"apple kiwi","vector":[1,0,1]}' | vs-ingest -q "$S/t.vs"
    printf '%s\n' '{"id":"t2","op":"delete"}' '{"id":"t1","text":"kiwi lime","vector":[1,0,0]}' | vs-ingest -q "$S/t.vs"
    echo '{"id":"q","text":"apple kiwi"}' > "$S/q.ndjson"
    vs-query --mode text --no-text "$S/t.vs" "$S/q.ndjson" > "$S/before.ndjson"
    ids() { $PY -c 'import json,sys; print(" ".join(json.loads(l)["id"] for l in open(sys.argv[1])))' "$1"; }
    [ "$(ids "$S/before.ndjson")" = "t6 t1" ]
    run_split vs-index compact "$S/t.vs" || true
    expect_status 0
    vs-index info "$S/t.vs" > "$S/info.json"
    $PY - "$S/info.json" <<'EOF2'
import json, sys
i = json.load(open(sys.argv[1]))
assert i["tombstones"] == 0 and len(i["segments"]) == 1, i
assert "bm25" in [s["name"] for s in i["segments"][0]["sections"]], i
assert i["analyzer"].startswith("v1;lang=english") and i["text_field"] == "text", i
EOF2
    vs-query --mode text --no-text "$S/t.vs" "$S/q.ndjson" > "$S/after.ndjson"
    [ "$(ids "$S/after.ndjson")" = "t6 t1" ]
    # the compacted segment scores as an index built from the live records
    grep -v '"id":"t2"' "$S/tdocs.ndjson" | sed 's/"apple banana"/"kiwi lime"/' > "$S/live.ndjson"
    echo '{"id":"t6","text":"apple kiwi","vector":[1,0,1]}' >> "$S/live.ndjson"
    $PY "$ROOT/tests/ref_hybrid.py" --mode text "$S/live.ndjson" "$S/q.ndjson" "$S/after.ndjson"
}

@test "vs-query: the v1 fixture store (no text index) opens and searches as vector only" {
    F=$FIXTURES/store-v1
    cp -r "$F" "$S/v1.vs"
    echo '{"id":"q","text":"anything","vector":[1,0,0,0]}' > "$S/q.ndjson"
    dim=$(vs-index info "$S/v1.vs" | $PY -c 'import json,sys; i=json.load(sys.stdin); print(i["dimension"], i["analyzer"])')
    [[ "$dim" == *" None" ]]
    $PY -c 'import sys; n=int(sys.argv[1]); print("{\"id\":\"q\",\"text\":\"anything\",\"vector\":[%s]}" % ",".join(["1"] + ["0"] * (n - 1)))' "${dim%% *}" > "$S/q.ndjson"
    run_split vs-query -k 2 "$S/v1.vs" "$S/q.ndjson" || true
    expect_status 0
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 2 ]
    [[ "$out" != *'"mode"'* ]]
    run_split vs-query --mode text "$S/v1.vs" "$S/q.ndjson" || true
    expect_status 2
    [[ "$err" == *"no text index"* ]]
    [ -z "$out" ]
}

@test "vs-query text mode: output to /dev/full is exit 5" {
    text_store
    run bash -c "vs-query --mode text '$S/t.vs' '$S/tq.ndjson' > /dev/full"
    [ "$status" -eq 5 ]
}

@test "vs-ingest: --analyzer, --language and --text-field make the store's text index" {
    printf '%s\n' '{"id":"1","body":"Les chats mangent","text":"ignored words","vector":[1,0]}' > "$S/fr.ndjson"
    run_split vs-ingest -q --language french --text-field body "$S/fr.vs" "$S/fr.ndjson" || true
    expect_status 0
    [ "$(vs-index info "$S/fr.vs" | $PY -c 'import json,sys; i=json.load(sys.stdin); print(i["analyzer"], i["text_field"])')" = "v1;lang=french;stop=en;fold=1;marks=strip body" ]
    echo '{"id":"q","text":"chat"}' | vs-query --mode text "$S/fr.vs" > "$S/h.ndjson"
    [ "$(wc -l < "$S/h.ndjson")" -eq 1 ]
    echo '{"id":"q","text":"ignored"}' | vs-query --mode text "$S/fr.vs" > "$S/h2.ndjson"
    [ ! -s "$S/h2.ndjson" ]
    run_split vs-ingest --language english "$S/fr.vs" "$S/fr.ndjson" || true
    expect_status 3
    [[ "$err" == *"the store has analyzer"* ]]
    run_split vs-ingest --language klingon "$S/k.vs" "$S/fr.ndjson" || true
    expect_status 2
    [ ! -e "$S/k.vs" ]
    run_split vs-ingest -q --analyzer none "$S/n.vs" "$S/fr.ndjson" || true
    expect_status 0
    run_split vs-query --mode hybrid "$S/n.vs" "$S/q1.ndjson" || true
    expect_status 2
}

@test "vs-query --format text: a heading per query, rank, score, id and the text" {
    d=$BATS_TEST_TMPDIR
    printf '%s\n' '{"id":"a","text":"alpha  line\none","vector":[1,0]}' \
                  '{"id":"b","text":"beta","vector":[0.6,0.8]}' > "$d/r.ndjson"
    vs-ingest -q "$d/t.vs" "$d/r.ndjson"
    printf '%s\n' '{"id":"q1","vector":[1,0]}' '{"id":"q2","vector":[0,1]}' > "$d/q.ndjson"
    run_split vs-query "$d/t.vs" --mode vector -k 2 --format text "$d/q.ndjson"
    expect_status 0
    [ -z "$err" ]
    expected=$(printf '\nq1\n  1. 1          a\n     alpha line one\n  2. 0.6        b\n     beta\n\nq2\n  1. 0.8        b\n     beta\n  2. 0          a\n     alpha line one')
    [ "$out" = "$expected" ]
    run_split vs-query "$d/t.vs" --format yaml "$d/q.ndjson"
    expect_status 2
    [ -z "$out" ]
    [[ "$err" == *"unknown format 'yaml' (ndjson, trec, text)"* ]]
}

@test "vs-query: --carry-query puts the query text on its hits, --with-vectors the stored vectors" {
    printf '%s\n' '{"id":"q1","text":"alpha gamma","vector":[1,0.1,0]}' '{"id":"q2","vector":[0,1,0.2]}' > "$S/qs.ndjson"
    head -1 "$S/qs.ndjson" > "$S/q1t.ndjson"
    for mode in vector text hybrid; do
        qf="$S/qs.ndjson"; [ $mode = vector ] || qf="$S/q1t.ndjson"
        run_split vs-query -k 3 --mode $mode --carry-query --with-vectors "$S/kb.vs" "$qf" || true
        expect_status 0
        expect_ndjson
        printf '%s\n' "$out" | $PY -c '
import json, sys
import numpy as np
docs = {}
for l in open(sys.argv[1]):
    o = json.loads(l); v = np.array(o["vector"], float); docs[o["id"]] = v / np.linalg.norm(v)
n = {"q1": 0, "q2": 0}
for l in sys.stdin:
    h = json.loads(l)
    n[h["qid"]] += 1
    if h["qid"] == "q1":
        assert h["query"] == "alpha gamma", h
    else:
        assert "query" not in h, h
    assert list(h)[-1] == "vector", h
    assert np.allclose(h["vector"], docs[h["id"]], atol=1e-7), h
assert n["q1"] == (2 if sys.argv[2] == "text" else 3), n
assert n["q2"] == (3 if sys.argv[2] == "vector" else 0), n
' "$S/docs.ndjson" $mode
    done
    # without the options, neither field
    run_split vs-query -k 3 "$S/kb.vs" "$S/qs.ndjson" || true
    expect_status 0
    [[ "$out" != *'"query"'* ]]
    [[ "$out" != *'"vector"'* ]]
}

@test "vs-query: --carry-query and --with-vectors need ndjson output and a store" {
    run_split vs-query --carry-query --format trec "$S/kb.vs" < "$S/q1.ndjson" || true
    expect_status 2
    [[ "$err" == *"--format ndjson"* ]]
    run_split vs-query --with-vectors --format text "$S/kb.vs" < "$S/q1.ndjson" || true
    expect_status 2
    run_split vs-query --fuse --with-vectors "$S/q1.ndjson" || true
    expect_status 2
    [[ "$err" == *"--fuse"* ]]
}

@test "vs-query on 2 threads: texts embedded (vector mode) and hybrid queries over many batches give the 1-thread output" {
    cd "$S"
    for i in $(seq 1 60); do
        echo "{\"id\":\"d$i\",\"text\":\"document $i on topic $((i % 7)) and word$((i % 13))\"}"
    done > hd.ndjson
    vs-embed -q --model hash --dim 32 hd.ndjson > hd.vec
    vs-ingest -q h.vs hd.vec
    for i in $(seq 1 20); do
        echo "{\"id\":\"q$i\",\"text\":\"topic $((i % 7)) word$((i % 13))\"}"
    done > hq.ndjson
    for m in vector auto; do
        run_split vs-query -k 3 --batch 3 --threads 1 --mode "$m" h.vs hq.ndjson
        expect_status 0
        local o1=$out
        [ "$(printf '%s\n' "$out" | wc -l)" -eq 60 ]
        run_split vs-query -k 3 --batch 3 --threads 2 --mode "$m" h.vs hq.ndjson
        expect_status 0
        [ -z "$err" ]
        [ "$out" = "$o1" ] || false
    done
    [[ "$out" == *'"mode":"hybrid"'* ]]
}
