#!/usr/bin/env bats
# Issue 17, "Pipelines": plain questions (--query), BEIR query files, titles
# in the searchable text, document-level results (doc_id, --group-by,
# vs-eval --doc-level and its warning), vector_model checks, hit layouts.
load helpers

setup() {
    S=$(mktemp -d)
    # two documents in three chunks, as vs-chunk writes them, hash-embedded
    printf '%s\n' '{"id":"d1#0","doc_id":"d1","text":"heat transfer in a pipe"}' \
                  '{"id":"d1#1","doc_id":"d1","text":"heat pipe design notes"}' \
                  '{"id":"d2#0","doc_id":"d2","text":"boundary layer flow over a heated plate"}' \
                  '{"id":"x","text":"heat and pipes without a document"}' > "$S/chunks.jsonl"
    vs-embed "$S/chunks.jsonl" | vs-ingest -q "$S/kb.vs"
}
teardown() { rm -rf "$S"; }

@test "vs-query --query TEXT: the same hits as a query record, qids q1, q2" {
    echo '{"id":"q1","text":"heat pipe"}' | vs-query "$S/kb.vs" -k 3 > "$S/want"
    run_split vs-query "$S/kb.vs" -k 3 --query "heat pipe"
    expect_status 0
    [ -z "$err" ]
    [ "$out" = "$(cat "$S/want")" ]
    run_split vs-query "$S/kb.vs" -k 1 --no-text --query "heat pipe" --query "boundary layer"
    expect_status 0
    qids=$(printf '%s\n' "$out" | $PY -c 'import json,sys; print(" ".join(json.loads(l)["qid"] + ":" + json.loads(l)["id"] for l in sys.stdin))')
    [ "$qids" = "q1:d1#0 q2:d2#0" ]
    # a question where a FILE goes: the missing file, and how to ask
    run_split vs-query "$S/kb.vs" "how do I create a partial index"
    expect_status 5
    [ -z "$out" ]
    [[ "$err" == *"how do I create a partial index: No such file or directory (to ask a question, give it with --query TEXT)"* ]]
}

@test "vs-query --query: a store whose model is not here says so (vector: exit 3; auto: text only, warned)" {
    printf '%s\n' '{"id":"a","text":"heat pipe","vector":[1,0,0],"vector_model":"no-such-model:3"}' \
                  '{"id":"b","text":"plate flow","vector":[0,1,0],"vector_model":"no-such-model:3"}' |
        vs-ingest -q "$S/m.vs"
    run_split vs-query "$S/m.vs" --mode vector --query "heat pipe"
    expect_status 3
    [ -z "$out" ]
    [[ "$err" == *"option --query 1"*"'vector'"*"cannot be embedded"*"no-such-model:3"*"not available"* ]]
    run_split vs-query "$S/m.vs" --no-text --query "heat pipe"
    expect_status 0
    [[ "$out" == '{"qid":"q1","id":"a","rank":1,'*'"mode":"text"'* ]]
    [[ "$err" == *"1 query searched by text (BM25) only: field 'vector' is missing"*"no-such-model:3"* ]]
}

@test "vs-query --query with --fuse is a usage error; --help and man list --query and --group-by" {
    run_split vs-query --fuse --query x a b
    expect_status 2
    [[ "$err" == *"--query and --group-by search a store"* ]]
    [ -z "$out" ]
    vs-query --help | grep -q -- '--query TEXT'
    vs-query --help | grep -q -- '--group-by FIELD'
    help_matches_man vs-query
    help_matches_man vs-eval
    help_matches_man vs-chunk
}

@test "vs-query and vs-rerank: BEIR queries.jsonl (_id) are query records" {
    printf '%s\n' '{"_id":"7","text":"heat pipe","metadata":{}}' > "$S/queries.jsonl"
    run_split vs-query "$S/kb.vs" -k 2 --no-text "$S/queries.jsonl"
    expect_status 0
    [ -z "$err" ]
    [[ "$out" == '{"qid":"7","id":"d1#0",'* ]]
    vs-query "$S/kb.vs" -k 3 --mode text "$S/queries.jsonl" > "$S/hits"
    run_split vs-rerank --queries "$S/queries.jsonl" "$S/hits"
    expect_status 0
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 3 ]
    [[ "$out" == '{"qid":"7",'* ]]
    # a record with neither id nor _id names both
    run_split vs-query "$S/kb.vs" --query x "$S/queries.jsonl" <(echo '{"text":"heat"}')
    expect_status 3
    [[ "$err" == *":1: field 'id' is missing (each query needs an \"id\" or a BEIR \"_id\")"* ]]
}

@test "vs-query: a vector_model other than the store's is exit 3 naming the line and field" {
    printf '%s\n' '{"id":"ok","text":"heat pipe"}' '{"id":"other","text":"heat pipe"}' > "$S/q.jsonl"
    { head -1 "$S/q.jsonl" | vs-embed; tail -1 "$S/q.jsonl" | vs-embed --model hash-v1:384 --b64 |
        sed 's/"vector_model":"hash-v1:384"/"vector_model":"use-lite"/'; } > "$S/qv.jsonl"
    run_split vs-query "$S/kb.vs" --mode vector -k 1 --no-text "$S/qv.jsonl"
    expect_status 3
    [[ "$out" == '{"qid":"ok",'* ]]           # the query before it is answered
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ]
    [[ "$err" == *"qv.jsonl:2: field 'vector_model' is 'use-lite', store '$S/kb.vs' holds vectors of 'hash-v1:384'"* ]]
    # the store's own model is fine, and so is a query without vector_model
    head -1 "$S/qv.jsonl" | grep -q '"vector_model":"hash-v1:384"'
}

@test "vs-query: hits carry doc_id; --group-by doc_id gives k documents by their best chunk" {
    run_split vs-query "$S/kb.vs" --mode vector -k 4 --no-text --query "heat pipe"
    expect_status 0
    printf '%s\n' "$out" | $PY -c '
import json, sys
hs = [json.loads(l) for l in sys.stdin]
assert [h.get("doc_id") for h in hs if h["id"] != "x"] == [h["id"].split("#")[0] for h in hs if h["id"] != "x"], hs
assert all("doc_id" not in h for h in hs if h["id"] == "x"), hs
assert all("distance" in h for h in hs), hs'
    vs-query "$S/kb.vs" -k 10 --no-text --query "heat pipe" > "$S/all"
    for mode in vector text hybrid; do
        run_split vs-query "$S/kb.vs" --mode $mode -k 3 --no-text --group-by doc_id --query "heat pipe"
        expect_status 0
        [ -z "$err" ]
        printf '%s\n' "$out" | $PY -c '
import json, sys
mode = sys.argv[2]
hs = [json.loads(l) for l in sys.stdin]
ungrouped = [json.loads(l) for l in open(sys.argv[1])]
# one hit per document (x, without doc_id, is its own group), ranks 1..n
groups = [h.get("doc_id", "id:" + h["id"]) for h in hs]
assert len(groups) == len(set(groups)) == 3, hs
assert [h["rank"] for h in hs] == [1, 2, 3], hs
assert all(h["mode"] == mode and "distance" not in h for h in hs), hs
# each is the best chunk of its document in the ungrouped order (hybrid)
if mode == "hybrid":
    best = {}
    for u in ungrouped:
        best.setdefault(u.get("doc_id", "id:" + u["id"]), u["id"])
    order = []
    for u in ungrouped:
        g = u.get("doc_id", "id:" + u["id"])
        if g not in order: order.append(g)
    assert [h["id"] for h in hs] == [best[g] for g in order[:3]], (hs, ungrouped)
' "$S/all" $mode
    done
    run_split vs-query "$S/kb.vs" --group-by '' --query x
    expect_status 2
    [[ "$err" == *"group-by ''"* ]]
}

@test "vs-query --group-by metadata.NAME groups by a metadata field" {
    printf '%s\n' '{"id":"a","text":"heat pipe","metadata":{"book":"one"}}' \
                  '{"id":"b","text":"heat pipe pipe","metadata":{"book":"one"}}' \
                  '{"id":"c","text":"heat","metadata":{"book":"two"}}' |
        vs-embed | vs-ingest -q "$S/b.vs"
    run_split vs-query "$S/b.vs" --mode text -k 5 --no-text --group-by metadata.book --query "heat pipe"
    expect_status 0
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 2 ]
    [[ "$(printf '%s\n' "$out" | sed -n 2p)" == *'"id":"c"'* ]]
}

@test "vs-eval: no judged hit is a loud warning, a failed gate under --fail-under; --doc-level scores documents" {
    printf 'q1 0 d1 1\nq1 0 d2 0\n' > "$S/qrels.txt"
    printf '%s\n' '{"qid":"q1","id":"d2#0","score":0.9}' '{"qid":"q1","id":"d1#3","score":0.8}' \
                  '{"qid":"q1","id":"d1#1","score":0.85}' > "$S/run.ndjson"
    run_split vs-eval --quiet --qrels "$S/qrels.txt" -m ndcg@10 "$S/run.ndjson"
    expect_status 0
    [[ "$out" == *'"ndcg_cut_10":0.0'* ]]
    [[ "$err" == *"warning: run '$S/run.ndjson': none of its 3 hits is judged"*"use --doc-level"* ]]
    run_split vs-eval --qrels "$S/qrels.txt" -m ndcg@10 --fail-under ndcg@10=0 "$S/run.ndjson"
    expect_status 1
    [[ "$err" == *"gate failed: judged hits > 0 (judged_hits: 0.000000, run '$S/run.ndjson')"* ]]
    [[ "$out" == *'{"rule":"judged hits > 0","measure":"judged_hits","value":0,"op":">","threshold":0,"pass":false}'* ]]
    # documents: d2 (rel 0) first, d1 by its best chunk (0.85) second
    run_split vs-eval --qrels "$S/qrels.txt" -m ndcg@10 -m num_ret --doc-level "$S/run.ndjson"
    expect_status 0
    [ -z "$err" ]
    [ "$out" = '{"run":"'"$S"'/run.ndjson","runid":"'"$S"'/run.ndjson","num_q":1,"measures":{"num_ret":2,"ndcg_cut_10":0.630929753571458}}' ]
    # a hit's doc_id wins over its id; TREC runs map X#n too
    printf '%s\n' '{"qid":"q1","id":"chunk-a","doc_id":"d1","score":0.9}' > "$S/run2.ndjson"
    run_split vs-eval --qrels "$S/qrels.txt" -m ndcg@10 --doc-level "$S/run2.ndjson"
    [[ "$out" == *'"ndcg_cut_10":1.0'* ]]
    printf 'q1 Q0 d1#4 1 0.5 t\n' > "$S/run.trec"
    run_split vs-eval --qrels "$S/qrels.txt" -m ndcg@10 --doc-level "$S/run.trec"
    expect_status 0
    [[ "$out" == *'"ndcg_cut_10":1.0'* ]]
    run_split vs-eval --rag --doc-level --judge-url http://127.0.0.1:9 --judge-model m
    expect_status 2
}

@test "vs-query | vs-eval --doc-level on a chunked store, through the programs" {
    printf 'q1\t0\td1\t1\n' > "$S/qrels.tsv"
    echo '{"_id":"q1","text":"heat pipe"}' > "$S/q.jsonl"
    vs-query "$S/kb.vs" -k 3 --group-by doc_id "$S/q.jsonl" > "$S/run.ndjson"
    run_split vs-eval --qrels "$S/qrels.tsv" -m recip_rank --doc-level "$S/run.ndjson"
    expect_status 0
    [[ "$out" == *'"recip_rank":1.0'* ]]
}

@test "vs-chunk: a BEIR title is searchable text by default; --title metadata keeps it out" {
    printf '%s\n' '{"_id":"p","title":"Partial indexes","text":"An index over a subset of rows."}' > "$S/c.jsonl"
    run_split vs-chunk "$S/c.jsonl"
    expect_status 0
    unmark_out vs-chunk
    [[ "$out" == '{"id":"p#0","doc_id":"p","chunk":0,"text":"Partial indexes\n\nAn index over a subset of rows.","start":0,"end":48,'*'"metadata":{"title":"Partial indexes"}'* ]]
    vs-chunk "$S/c.jsonl" | vs-embed | vs-ingest -q "$S/t.vs"
    run_split vs-query "$S/t.vs" --mode text --no-text --query "partial"
    expect_status 0
    [[ "$out" == *'"id":"p#0"'* ]]
    run_split vs-chunk --title metadata "$S/c.jsonl"
    expect_status 0
    [[ "$out" == *'"text":"An index over a subset of rows.","start":0,"end":31,'*'"metadata":{"title":"Partial indexes"}'* ]]
    run_split vs-chunk --title nowhere "$S/c.jsonl"
    expect_status 2
    [[ "$err" == *"option '--title' needs text or metadata, not "* ]]
    [ -z "$out" ]
}

@test "vs-chunk on SciFact: BM25 nDCG@10 is higher with titles in the text" {
    need_data
    D="$VS_DATA/datasets/scifact"
    awk -F'\t' 'NR>1{print $1}' "$D/qrels/test.tsv" | sort -u > "$S/tq"
    grep -F -f <(sed 's/.*/"_id": "&"/' "$S/tq") "$D/queries.jsonl" > "$S/q.jsonl"
    [ "$(wc -l < "$S/q.jsonl")" -eq 300 ]
    for t in metadata text; do
        vs-chunk --size 100000 --title $t "$D/corpus.jsonl" | vs-embed --model hash-v1:16 |
            vs-ingest -q "$S/$t.vs"
        vs-query "$S/$t.vs" --mode text -k 10 --no-text --no-metadata "$S/q.jsonl" > "$S/$t.run"
        vs-eval --qrels "$D/qrels/test.tsv" -m ndcg@10 --doc-level "$S/$t.run" |
            $PY -c 'import json,sys; print(json.load(sys.stdin)["measures"]["ndcg_cut_10"])' > "$S/$t.ndcg"
    done
    echo "metadata $(cat "$S/metadata.ndcg") text $(cat "$S/text.ndcg")" >&3
    $PY -c 'import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); assert 0.66 < a < 0.68 and 0.68 < b < 0.70, (a, b)' \
        "$(cat "$S/metadata.ndcg")" "$(cat "$S/text.ndcg")"
}

@test "hit layouts: vector hits have distance, text and hybrid do not; the fusion is the same with --explain" {
    run_split vs-query "$S/kb.vs" --mode hybrid -k 2 --query "heat pipe"
    expect_status 0
    a=$(printf '%s\n' "$out" | grep -o '"fusion":{[^}]*}' | sort -u)
    [ "$a" = '"fusion":{"method":"weighted","alpha":0.5}' ]
    [[ "$out" != *'"distance"'* ]]
    run_split vs-query "$S/kb.vs" --mode hybrid -k 2 --explain --query "heat pipe"
    expect_status 0
    b=$(printf '%s\n' "$out" | grep -o '"fusion":{[^}]*}' | sort -u)
    [ "$a" = "$b" ]
    run_split vs-query "$S/kb.vs" --mode vector -k 1 --query "heat pipe"
    [[ "$out" == '{"qid":"q1","id":"d1#1","rank":1,"score":'*',"distance":'*',"metric":"cosine","doc_id":"d1","text":"heat pipe design notes"}' ]]
    # with neither text nor metadata no stored record is read: no doc_id
    run_split vs-query "$S/kb.vs" --mode vector -k 1 --no-text --no-metadata --query "heat pipe"
    expect_status 0
    [[ "$out" == '{"qid":"q1","id":"d1#1","rank":1,"score":'*',"distance":'*',"metric":"cosine"}' ]]
}
