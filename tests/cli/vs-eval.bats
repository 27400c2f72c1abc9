#!/usr/bin/env bats
# vs-eval: trec_eval measures, formats, comparisons, gates, ANN, RAG judge.
load helpers

E="$BATS_TEST_DIRNAME/../fixtures/eval"
ROOT="$BATS_TEST_DIRNAME/../.."
M="-m num_ret -m num_rel -m num_rel_ret -m map -m Rprec -m bpref -m recip_rank -m P_5 -m P_10 -m recall_5 -m ndcg -m ndcg_cut_5 -m map_cut_4 -m success_1 -m judged_5"

setup_file() {
    export MOCK_DIR
    MOCK_DIR=$(mktemp -d)
    /usr/bin/python3 "$BATS_TEST_DIRNAME/../mock_llm.py" --port-file "$MOCK_DIR/port" \
        --log "$MOCK_DIR/log" --key sk-test-SECRET-4242 3>&- &
    echo $! > "$MOCK_DIR/pid"
    for _ in $(seq 50); do [ -f "$MOCK_DIR/port" ] && break; sleep 0.1; done
}

teardown_file() {
    kill "$(cat "$MOCK_DIR/pid")" 2>/dev/null || true
    rm -rf "$MOCK_DIR"
}

# json FIELD_EXPR: evaluate a python expression on the last stdout record `o`
json() {
    printf '%s\n' "$out" | tail -1 | $PY -c "
import json, sys
o = json.loads(sys.stdin.read())
*pre, last = sys.argv[1].split('; ')
for s in pre:
    exec(s)
print(eval(last))" "$1"
}

@test "vs-eval --help lists the options and matches the man page" {
    run_split vs-eval --help || true
    expect_status 0
    [[ "$out" == *"--qrels"* && "$out" == *"--gate"* && "$out" == *"--rag"* ]]
    help_matches_man vs-eval
}

@test "vs-eval: unknown option, missing --qrels, bad --format are usage errors" {
    run_split vs-eval --no-such-option || true
    expect_status 2
    run_split vs-eval "$E/run.trec" || true
    expect_status 2
    [[ "$err" == *"--qrels"* ]]
    run_split vs-eval --qrels "$E/qrels.trec" --format xml "$E/run.trec" || true
    expect_status 2
    run_split vs-eval --qrels "$E/qrels.trec" -m ndgc@10 "$E/run.trec" || true
    expect_status 2
    [[ "$err" == *"unknown measure 'ndgc@10'"* ]]
    run_split vs-eval --qrels "$E/qrels.trec" --explain "$E/run.trec" || true
    expect_status 2
}

@test "vs-eval: empty input gives an empty evaluation" {
    run_split vs-eval --qrels "$E/qrels.trec" -m map < /dev/null || true
    expect_status 0
    expect_ndjson
    [ "$(json 'o["num_q"], o["measures"]["map"]')" = "(0, 0.0)" ]
}

@test "vs-eval: a malformed run line is exit 3 with FILE:LINE" {
    printf 'q1 Q0 a 1 0.5 t\nq1 Q0 b 2\n' > "$BATS_TEST_TMPDIR/bad.run"
    run_split vs-eval --qrels "$E/qrels.trec" "$BATS_TEST_TMPDIR/bad.run" || true
    expect_status 3
    [[ "$err" == *"bad.run:2:"* ]]
    [ -z "$out" ]
    printf '{"qid":"q1","id":"a","score":1}\n{"qid":"q1","id":"b","score":"x"}\n' |
        { run_split vs-eval --qrels "$E/qrels.trec" || true; expect_status 3; [[ "$err" == *"<stdin>:2:"* ]]; }
}

@test "vs-eval: a malformed qrels line is exit 3 with FILE:LINE" {
    printf 'q1 0 a 1\nq1 0 b one\n' > "$BATS_TEST_TMPDIR/bad.qrels"
    run_split vs-eval --qrels "$BATS_TEST_TMPDIR/bad.qrels" "$E/run.trec" || true
    expect_status 3
    [[ "$err" == *"bad.qrels:2:"* && "$err" == *"not an integer"* ]]
}

@test "vs-eval: a document listed twice for a query is reported, not counted twice" {
    printf 'q1 Q0 a 1 0.5 t\nq1 Q0 b 2 0.4 t\nq1 Q0 a 3 0.3 t\n' > "$BATS_TEST_TMPDIR/dup.run"
    run_split vs-eval --qrels "$E/qrels.trec" "$BATS_TEST_TMPDIR/dup.run" || true
    expect_status 3
    [[ "$err" == *"dup.run:3:"* && "$err" == *"duplicate document 'a' for query 'q1'"* ]]
}

@test "vs-eval --format tsv -q: trec_eval's layout byte for byte (hand-checked golden)" {
    run_split vs-eval --qrels "$E/qrels.trec" $M -q --format tsv "$E/run.trec" || true
    expect_status 0
    diff <(printf '%s\n' "$out") "$E/expected_q.tsv"
}

@test "vs-eval: default NDJSON summary, runid and the documented default set" {
    run_split vs-eval --qrels "$E/qrels.trec" "$E/run.trec" || true
    expect_status 0
    expect_ndjson
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ]
    [ "$(json 'o["runid"], o["num_q"], round(o["measures"]["map"], 6), o["measures"]["num_ret"]')" = "('tagA', 2, 0.108333, 7)" ]
    [ "$(json 'len(o["measures"])')" -eq 39 ]
    [ "$(json '"P_1000" in o["measures"] and "success_10" in o["measures"] and "ndcg_cut_1000" in o["measures"]')" = True ]
}

@test "vs-eval -q: one NDJSON record per query, then the summary" {
    run_split vs-eval --qrels "$E/qrels.trec" -m map -m p@5 -q "$E/run.trec" || true
    expect_status 0
    expect_ndjson
    [ "$(printf '%s\n' "$out" | head -1)" = '{"run":"'"$E"'/run.trec","qid":"q1","measures":{"map":0.216666666666667,"P_5":0.4}}' ]
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 3 ]
}

@test "vs-eval: BEIR TSV, NDJSON and TREC qrels give the same numbers" {
    a=$(vs-eval --qrels "$E/qrels.trec" $M --format tsv "$E/run.trec")
    b=$(vs-eval --qrels "$E/qrels.tsv" $M --format tsv "$E/run.trec")
    c=$(vs-eval --qrels "$E/qrels.ndjson" $M --format tsv "$E/run.trec")
    [ "$a" = "$b" ] && [ "$a" = "$c" ]
}

@test "vs-eval: NDJSON hits equal the TREC run, and carry latency percentiles" {
    a=$(vs-eval --qrels "$E/qrels.trec" $M --format tsv "$E/run.trec")
    run_split vs-eval --qrels "$E/qrels.trec" $M --format tsv "$E/run.ndjson" || true
    expect_status 0
    [ "$(printf '%s\n' "$out" | grep -v latency)" = "$a" ]
    # per-query latency: q1 1200, q2 800, q9 5000 -> nearest rank p50 1200, p95/p99 5000
    [[ "$out" == *"latency_p50_us        "$'\t'"all"$'\t'"1200.0000"* ]]
    [[ "$out" == *"latency_p99_us        "$'\t'"all"$'\t'"5000.0000"* ]]
}

@test "vs-eval: short measure names select trec_eval measures" {
    run_split vs-eval --qrels "$E/qrels.trec" -m ndcg@5 -m p@5 -m r@5 -m mrr -m map@4 -m hit@1 --format tsv "$E/run.trec" || true
    expect_status 0
    [ "$(printf '%s\n' "$out" | cut -f1 | tr -d ' ' | tr '\n' ' ')" = "recip_rank P_5 recall_5 ndcg_cut_5 map_cut_4 success_1 " ]
}

@test "vs-eval: -c averages over every judged query, -l sets the relevance level" {
    run_split vs-eval --qrels "$E/qrels.trec" -m map -m num_rel -c "$E/run.trec" || true
    expect_status 0
    [ "$(json 'o["num_q"], round(o["measures"]["map"], 6), o["measures"]["num_rel"]')" = "(3, 0.072222, 4)" ]
    run_split vs-eval --qrels "$E/qrels.trec" -m map -m num_rel -l 2 "$E/run.trec" || true
    [ "$(json 'round(o["measures"]["map"], 6), o["measures"]["num_rel"]')" = "(0.125, 1)" ]
}

@test "vs-eval: writing to /dev/full is exit 5" {
    run_split vs-eval --qrels "$E/qrels.trec" "$E/run.trec" --stats || true
    expect_status 0
    vs-eval --qrels "$E/qrels.trec" "$E/run.trec" > /dev/full 2>/dev/null && s=0 || s=$?
    [ "$s" -eq 5 ]
    vs-eval --qrels "$E/qrels.trec" --format tsv "$E/run.trec" > /dev/full 2>/dev/null && s=0 || s=$?
    [ "$s" -eq 5 ]
}

@test "vs-eval: several runs at once, one summary each, named by file" {
    run_split vs-eval --qrels "$E/qrels.trec" -m map "$E/run.trec" "$E/baseline.trec" || true
    expect_status 0
    [ "$(printf '%s\n' "$out" | $PY -c 'import json,sys; print(" ".join(json.loads(l)["runid"] for l in sys.stdin))')" = "tagA base" ]
}

@test "vs-eval --baseline: paired tests; all 8 queries better gives p = 2/2^8" {
    run_split vs-eval --qrels "$E/paired.qrels" -m mrr --baseline "$E/paired_worse.trec" "$E/paired_better.trec" || true
    expect_status 0
    [ "$(json 'c=o["compare"]["recip_rank"]; (c["diff"], c["p_randomization"], c["improved"], c["worse"], c["n"])')" = "(0.5, 0.0078125, 8, 0, 8)" ]
    # reversed: the same p, every query worse
    run_split vs-eval --qrels "$E/paired.qrels" -m mrr --baseline "$E/paired_better.trec" "$E/paired_worse.trec" || true
    [ "$(json 'c=o["compare"]["recip_rank"]; (c["diff"], c["p_randomization"], c["worse"])')" = "(-0.5, 0.0078125, 8)" ]
    # Monte Carlo when 2^n exceeds --permutations: p = (count+1)/(N+1), seeded
    run_split vs-eval --qrels "$E/paired.qrels" -m mrr --permutations 100 --seed 7 --baseline "$E/paired_worse.trec" "$E/paired_better.trec" || true
    p1=$(json 'o["compare"]["recip_rank"]["p_randomization"]')
    run_split vs-eval --qrels "$E/paired.qrels" -m mrr --permutations 100 --seed 7 --baseline "$E/paired_worse.trec" "$E/paired_better.trec" || true
    [ "$p1" = "$(json 'o["compare"]["recip_rank"]["p_randomization"]')" ]
    $PY -c "p=$p1; assert 1/101 <= p <= 5/101, p"
}

@test "vs-eval --baseline: t-test p from a known case" {
    # per-query diffs 0.5, 0.5, 0.5 ... all equal -> sd 0, p_ttest 0; mixed case below
    printf 'a 0 r 1\na 0 n 0\nb 0 r 1\nb 0 n 0\nc 0 r 1\nc 0 n 0\n' > "$BATS_TEST_TMPDIR/q"
    printf 'a Q0 r 1 2 x\nb Q0 r 1 2 x\nb Q0 n 2 1 x\nc Q0 n 1 2 x\nc Q0 r 2 1 x\n' > "$BATS_TEST_TMPDIR/run"
    printf 'a Q0 n 1 2 y\na Q0 r 2 1 y\nb Q0 n 1 2 y\nb Q0 r 2 1 y\nc Q0 n 1 2 y\nc Q0 r 2 1 y\n' > "$BATS_TEST_TMPDIR/base"
    run_split vs-eval --qrels "$BATS_TEST_TMPDIR/q" -m mrr --baseline "$BATS_TEST_TMPDIR/base" "$BATS_TEST_TMPDIR/run" || true
    expect_status 0
    # diffs 0.5, 0.5, 0: mean 1/3, sd 0.288675, t = 2, df 2: p = 0.183503
    [ "$(json 'c=o["compare"]["recip_rank"]; (round(c["p_ttest"], 6), c["improved"], c["ties"])')" = "(0.183503, 2, 1)" ]
}

@test "vs-eval --gate: all rules pass -> exit 0, verdict on stderr and in the output" {
    run_split vs-eval --qrels "$E/qrels.trec" --gate "$E/gate_pass.yaml" "$E/run.trec" || true
    expect_status 0
    [ "$(printf '%s\n' "$err" | grep -c 'gate passed')" -eq 3 ]
    [ "$(json '[g["pass"] for g in o["gates"]]')" = "[True, True, True]" ]
}

@test "vs-eval --gate: a failing rule -> exit 1 from the same numbers" {
    run_split vs-eval --qrels "$E/qrels.trec" --gate "$E/gate_fail.yaml" "$E/run.trec" || true
    expect_status 1
    [[ "$err" == *"gate failed: map >= 0.5 (map: 0.108333"* ]]
    [ "$(json '[(g["measure"], g["pass"]) for g in o["gates"]]')" = "[('map', False), ('P_5', True)]" ]
    run_split vs-eval --qrels "$E/qrels.trec" --fail-under ndcg@5=0.2 "$E/run.trec" || true
    expect_status 1
    run_split vs-eval --qrels "$E/qrels.trec" --fail-under ndcg@5=0.19 "$E/run.trec" || true
    expect_status 0
}

@test "vs-eval --gate: a bad gate file is exit 2 with file:line:col" {
    run_split vs-eval --qrels "$E/qrels.trec" --gate "$E/gate_bad.yaml" "$E/run.trec" || true
    expect_status 2
    [[ "$err" == *"gate_bad.yaml:3:5:"*"unknown measure 'ndgc@10'"* ]]
    run_split vs-eval --qrels "$E/qrels.trec" --gate "$E/gate_syntax.yaml" "$E/run.trec" || true
    expect_status 2
    [[ "$err" == *"gate_syntax.yaml:4:"* ]]
    run_split vs-eval --qrels "$E/qrels.trec" --gate "$E/gate_regress.yaml" "$E/run.trec" || true
    expect_status 2
    [[ "$err" == *"--baseline"* ]]
    run_split vs-eval --qrels "$E/qrels.trec" --fail-under map "$E/run.trec" || true
    expect_status 2
}

@test "vs-eval --gate: regression against a baseline" {
    run_split vs-eval --qrels "$E/qrels.trec" --gate "$E/gate_regress.yaml" --baseline "$E/baseline.trec" "$E/run.trec" || true
    expect_status 1
    [ "$(json 'g=o["gates"][0]; (round(g["regression"], 6), g["pass"])')" = "(0.391667, False)" ]
    run_split vs-eval --qrels "$E/qrels.trec" --gate "$E/gate_regress.yaml" --baseline "$E/run.trec" "$E/baseline.trec" || true
    expect_status 0
}

@test "vs-eval --against: overlap recall@k and k shortfall, gated" {
    run_split vs-eval --against "$E/exact.ndjson" -k 3 "$E/approx.ndjson" || true
    expect_status 0
    [ "$(json 'round(o["measures"]["ann_recall_3"], 6), o["measures"]["k_shortfall"], o["num_q"]')" = "(0.777778, 1, 3)" ]
    run_split vs-eval --against "$E/exact.ndjson" -k 3 --gate "$E/gate_ann.yaml" "$E/approx.ndjson" || true
    expect_status 1
    [ "$(printf '%s\n' "$err" | grep -c 'gate failed')" -eq 2 ]
    run_split vs-eval --against "$E/exact.ndjson" -k 3 --gate "$E/gate_ann.yaml" "$E/exact.ndjson" || true
    expect_status 0
}

@test "vs-eval: equals the Python reference on SciFact and Cranfield (generated runs)" {
    need_data
    for ds in scifact cranfield; do
        q="$VS_DATA/datasets/$ds/qrels/test.tsv"
        $PY "$ROOT/tests/eval_ref.py" genrun "$q" 11 > "$BATS_TEST_TMPDIR/$ds.run"
        $PY "$ROOT/tests/eval_ref.py" $M -q "$q" "$BATS_TEST_TMPDIR/$ds.run" > "$BATS_TEST_TMPDIR/$ds.ref"
        run_split vs-eval --qrels "$q" $M -q --format tsv "$BATS_TEST_TMPDIR/$ds.run" || true
        expect_status 0
        diff <(printf '%s\n' "$out") "$BATS_TEST_TMPDIR/$ds.ref"
        # graded levels and -c on Cranfield too
        $PY "$ROOT/tests/eval_ref.py" -m map -m bpref -m ndcg_cut_10 -l 2 -c "$q" "$BATS_TEST_TMPDIR/$ds.run" > "$BATS_TEST_TMPDIR/$ds.ref2"
        run_split vs-eval --qrels "$q" -m map -m bpref -m ndcg_cut_10 -l 2 -c --format tsv "$BATS_TEST_TMPDIR/$ds.run" || true
        diff <(printf '%s\n' "$out") "$BATS_TEST_TMPDIR/$ds.ref2"
    done
}

# ---- RAG with the mock judge --------------------------------------------

rag() {
    VS_JUDGE_KEY=sk-test-SECRET-4242 run_split vs-eval --rag \
        --judge-url "http://127.0.0.1:$(cat "$MOCK_DIR/port")/v1" "$@" || true
}

@test "vs-eval --rag: judge scores, raw verdicts with --explain" {
    rag --judge-model judge-ok -q --explain "$E/rag.ndjson" || true
    expect_status 0
    expect_ndjson
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 3 ]
    r1=$(printf '%s\n' "$out" | head -1)
    [ "$(printf '%s' "$r1" | $PY -c 'import json,sys; o=json.load(sys.stdin); m=o["measures"]; print(o["qid"], round(m["faithfulness"],4), m["answer_relevance"], round(m["context_precision"],4), m["context_recall"], sorted(o["judge"]))')" = "r1 0.6667 0.5 0.8333 0.75 ['answer_relevance', 'context_precision', 'context_recall', 'faithfulness']" ]
    # r2 has no reference: context_recall is null and the mean is over r1 only
    [ "$(json 'm=o["measures"]; (round(m["faithfulness"],4), m["answer_relevance"], round(m["context_precision"],4), m["context_recall"], o["num_q"])')" = "(0.3333, 0.25, 0.9167, 0.75, 2)" ]
}

@test "vs-eval --rag: 429 with Retry-After and 500 are retried" {
    rag --judge-model judge-flaky --stats "$E/rag.ndjson" || true
    expect_status 0
    [[ "$err" == *'"judge_retries":2'* ]]
    log="$MOCK_DIR/log"
    [ "$(grep '"judge-flaky"' "$log" | head -3 | $PY -c 'import json,sys; print([json.loads(l)["status"] for l in sys.stdin])')" = "[429, 500, 200]" ]
    # Retry-After: 1 was honoured
    $PY -c 'import json,sys; t=[json.loads(l)["t"] for l in open(sys.argv[1]) if "judge-flaky" in l]; assert t[1]-t[0] >= 0.95, t' "$log"
}

@test "vs-eval --rag: timeouts and a dead judge are exit 5 after the retries" {
    rag --judge-model judge-slow --timeout 0.5 --retries 1 "$E/rag.ndjson" || true
    expect_status 5
    [[ "$err" == *"Timeout"*"after 1 retries"* ]]
    rag --judge-model judge-down --retries 1 "$E/rag.ndjson" || true
    expect_status 5
    [[ "$err" == *"HTTP 500"* ]]
    rag --judge-model judge-badjson "$E/rag.ndjson" || true
    expect_status 5
    [[ "$err" == *"not the JSON asked for"* ]]
}

@test "vs-eval --rag: the key is sent but never printed" {
    rag --judge-model judge-ok -q --explain -v --stats "$E/rag.ndjson" || true
    expect_status 0
    [[ "$out$err" != *"SECRET-4242"* ]]
    OPENAI_API_KEY=sk-wrong-SECRET-9999 VS_JUDGE_KEY= run_split vs-eval --rag \
        --judge-url "http://127.0.0.1:$(cat "$MOCK_DIR/port")/v1" --judge-model judge-ok -v "$E/rag.ndjson" || true
    expect_status 5
    [[ "$err" == *"HTTP 401"* && "$out$err" != *"SECRET-9999"* ]]
}

@test "vs-eval --rag: a bad record is exit 3, gates apply to RAG measures" {
    printf '{"question":"q","contexts":"not a list","answer":"a"}\n' > "$BATS_TEST_TMPDIR/bad.ndjson"
    rag --judge-model judge-ok "$BATS_TEST_TMPDIR/bad.ndjson" || true
    expect_status 3
    [[ "$err" == *"bad.ndjson:1:"*"contexts"* ]]
    rag --judge-model judge-ok --fail-under faithfulness=0.5 "$E/rag.ndjson" || true
    expect_status 1
    rag --judge-model judge-ok --fail-under context_precision=0.9 "$E/rag.ndjson" || true
    expect_status 0
    rag "$E/rag.ndjson" || true
    expect_status 2
}

@test "examples/gate: the CI job fails on the regression, passes on main" {
    run_split "$ROOT/examples/gate/ci.sh" "$VS_BIN" || true
    expect_status 1
    expect_ndjson
    [ "$(printf '%s\n' "$err" | grep -c 'gate failed')" -eq 2 ]
    [ "$(json '[g["pass"] for g in o["gates"]]')" = "[True, True, False, False]" ]
    run_split "$ROOT/examples/gate/ci.sh" "$VS_BIN" "$ROOT/examples/gate/main.trec" || true
    expect_status 0
}

@test "vs-eval --quiet: passed gates are silent, failed gates still reported" {
    run_split vs-eval --quiet --qrels "$E/qrels.trec" --gate "$E/gate_pass.yaml" "$E/run.trec" || true
    expect_status 0
    [ -z "$err" ]
    run_split vs-eval --quiet --qrels "$E/qrels.trec" --gate "$E/gate_fail.yaml" "$E/run.trec" || true
    expect_status 1
    [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ]
    [[ "$err" == *"gate failed: map >= 0.5"* ]]
}

@test "vs-eval --rag --rpm: the client-side rate limit spaces the judge's requests" {
    rag --judge-model judge-ok --rpm 600 "$E/rag.ndjson"
    expect_status 0
    # 7 requests at most 10 a second: the last starts >= 0.6 s after the first
    $PY -c 'import json,sys; t=[json.loads(l)["t"] for l in open(sys.argv[1]) if "judge-ok" in l][-7:]; assert t[-1]-t[0] >= 0.55, t' "$MOCK_DIR/log"
}
