#!/usr/bin/env bats
# The shell and CI examples of examples/ (examples/README.md is the index):
# each runs here as a user would run it, on a slice of $VS_DATA or its own
# data, with the hash embedder (VS_MODEL_DIR is empty under bats), and the
# index itself is checked: every folder it lists has a README and is run
# by the test it names, and no example folder is left out of it.

load helpers

setup() {
    ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
    EX=$ROOT/examples
    cd "$BATS_TEST_TMPDIR"
}

@test "examples/rag-citations: every cited byte range of a Cranfield file is the passage quoted; a judged document is cited" {
    need_data
    local D=$VS_DATA/datasets/cranfield
    run_split "$EX/rag-citations/rag.sh" "$D" work \
        "what similarity laws must be obeyed when constructing aeroelastic models of heated high speed aircraft?"
    expect_status 0
    [[ "$out" == *"Sources:"* ]]
    [ "$(printf '%s\n' "$out" | grep -c '^\[[0-9]\] docs/[0-9]*\.txt:[0-9]*-[0-9]*$')" -eq 4 ]
    [ "$(wc -l < work/hits.ndjson)" -eq 4 ]
    # the source's bytes [start, end) are the hit's text, for every hit
    $PY - work <<'EOF'
import json, sys
work = sys.argv[1]
for line in open(work + "/hits.ndjson"):
    h = json.loads(line)
    m = h["metadata"]
    with open(work + "/" + m["source"], "rb") as f:
        got = f.read()[m["start"]:m["end"]].decode("utf-8")
    assert got == h["text"], (m, got, h["text"])
EOF
    # Cranfield query 1 judges documents 12 and 51 relevant, among others
    cited=$(sed -n 's/^\[[0-9]\] docs\/\([0-9]*\)\.txt:.*/\1/p' <<<"$out" | sort)
    judged=$(awk '$1 == 1 && $3 > 0 { print $2 }' "$D/qrels/test.tsv" | sort)
    [ -n "$(comm -12 <(echo "$cited") <(echo "$judged"))" ]
    grep -q '^Question: what similarity laws' work/prompt.txt
    grep -q '^\[1\] ' work/prompt.txt
    # a second question reuses the store (no new generation)
    gen=$(vs-index info work/kb.vs | jq .generation)
    run_split "$EX/rag-citations/rag.sh" "$D" work "how is heat transfer measured in hypersonic flow?"
    expect_status 0
    [ "$(vs-index info work/kb.vs | jq .generation)" = "$gen" ]
}

@test "examples/hybrid-tuning: one row per setting, sorted by nDCG@10, the best named last" {
    need_data
    run_split env ALPHAS="0.2 0.8" RRF_KS=60 "$EX/hybrid-tuning/tune.sh" "$VS_DATA/datasets/adi" work
    expect_status 0
    [ "$(sed -n 1p <<<"$out")" = $'setting\tndcg@10\trecall@100' ]
    # vector, text, 2 alphas, 1 RRF k, dbsf
    [ "$(grep -c $'^--[a-z].*\t0\\.[0-9]*\t[01]\\.[0-9]*$' <<<"$out")" -eq 6 ]
    for s in "--mode vector" "--mode text" "--fusion weighted --alpha 0.2" \
             "--fusion weighted --alpha 0.8" "--fusion rrf --rrf-k 60" "--fusion dbsf"; do
        grep -q -- "^$s"$'\t' <<<"$out" || { echo "no row for $s" >&2; false; }
    done
    # ascending nDCG@10
    sed -n '2,7p' <<<"$out" | cut -f2 | sort -c -g
    best=$(sed -n 7p <<<"$out" | cut -f1)
    [ "$(tail -1 <<<"$out")" = "best: vs-query $best" ]
    # on ADI with the hash embedder BM25 alone wins (README: with MiniLM hybrid does)
    [ "$best" = "--mode text" ]
}

@test "examples/rerank: vs-rerank's methods over 50 vector candidates, compared with the retrieval" {
    need_data
    run_split "$EX/rerank/rerank.sh" "$VS_DATA/datasets/adi" work
    expect_status 0
    [ "$(sed -n 1p <<<"$out")" = $'method\tndcg@10\tdifference\tp' ]
    [ "$(cut -f1 <<<"$out" | tail -n +2 | tr '\n' ' ')" = "retrieval bm25 bm25-blend mmr " ]
    base=$(awk -F'\t' '$1 == "retrieval" { print $2 }' <<<"$out")
    bm25=$(awk -F'\t' '$1 == "bm25" { print $2 }' <<<"$out")
    diff=$(awk -F'\t' '$1 == "bm25" { print $3 }' <<<"$out")
    # BM25 reranking of hash-vector candidates helps on ADI, significantly
    awk -v a="$bm25" -v b="$base" -v d="$diff" 'BEGIN { exit !(a > b && d > 0.05) }'
    awk -F'\t' '$1 == "bm25" { exit !($4 < 0.05) }' <<<"$out"
    # each reranked file: 10 hits a query, retrieval ranks kept
    for m in bm25 bm25-blend mmr; do
        [ "$(jq -s 'group_by(.qid) | map(length) | max' "work/$m.ndjson")" = 10 ]
        [ "$(jq -s 'map(select(.retrieval_rank == null)) | length' "work/$m.ndjson")" = 0 ]
    done
}

@test "examples/sharding: 3 shards hold every record once and give the whole store's exact top 10" {
    need_data
    # MODEL picks the embedder (the other tests leave it to vs-embed: hash here)
    MODEL=hash-v1:128 run_split "$EX/sharding/shards.sh" "$VS_DATA/datasets/adi" work 3
    expect_status 0
    for s in whole shard-0 shard-1 shard-2; do
        [ "$(vs-index info "work/$s.vs" | jq -r '.model + " " + (.dimension | tostring)')" = "hash-v1:128 128" ]
    done
    [[ "$out" == *"exact vector top 10: the same over 3 shards as over the whole store"* ]]
    [ "$(sed -n '/^records per shard:/,/^exact/p' <<<"$out" | awk -F'\t' 'NF == 2 { s += $2 } END { print s }')" -eq 138 ]
    total=0
    for i in 0 1 2; do
        total=$((total + $(vs-index info "work/shard-$i.vs" | jq .records)))
    done
    [ "$total" -eq "$(vs-index info work/whole.vs | jq .records)" ]
    [[ "$out" =~ hybrid\ top\ 10:\ [0-9]+\ of\ 350\ hits\ in\ both ]]
    [[ "$err" == *"the merge is not the ranking of one store"* ]]
}

@test "examples/haproxy: two vs-serve replicas behind HAProxy, one stopped halfway, no query fails" {
    command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] ||
        skip "haproxy is not installed (scripts/deps.sh installs it)"
    command -v curl >/dev/null || skip "curl is not installed"
    PATH=$PATH:/usr/sbin
    vs-embed -q --model hash-v1:256 < "$EX/filters/books.jsonl" | vs-ingest -q books.vs
    run_split "$EX/haproxy/run.sh" books.vs work 10
    expect_status 0
    [[ "$out" == *"queries: 20, failed: 0"* ]]
    r1=$(sed -n 's/.*r1 answered \([0-9]*\),.*/\1/p' <<<"$out")
    r2=$(sed -n 's/.*r2 answered \([0-9]*\)$/\1/p' <<<"$out")
    [ "$r1" -ge 1 ]
    [ "$r2" -gt "$r1" ]
    [ "$((r1 + r2))" -eq 20 ]
    # nothing it started is left: the replicas' and HAProxy's ports are closed
    for f in work/r1.err work/r2.err; do
        port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$f")
        run ! curl -sf "http://127.0.0.1:$port/healthz"
    done
}

@test "examples/backup: snapshots verify, match the live store's digest, the oldest beyond KEEP go" {
    vs-embed -q --model hash-v1:256 < "$EX/filters/books.jsonl" | vs-ingest -q books.vs
    run_split "$EX/backup/backup.sh" books.vs backups 2
    expect_status 0
    first=$out
    [ -d "$first" ]
    [[ "$err" == "generation 1, 12 records, digest "* ]]
    vs-index verify "$first"
    [ "$(vs-index info --digest "$first" | jq -r .digest)" = "$(vs-index info --digest books.vs | jq -r .digest)" ]
    echo '{"id":"new","text":"a new book","metadata":{"year":2026}}' |
        vs-embed -q --model hash-v1:256 | vs-ingest -q books.vs
    run_split "$EX/backup/backup.sh" books.vs backups 2
    expect_status 0
    second=$out
    [[ "$err" == "generation 2, 13 records, digest "* ]]
    # the first backup is still generation 1 with 12 records
    [ "$(vs-index info "$first" | jq .records)" -eq 12 ]
    run_split "$EX/backup/backup.sh" books.vs backups 2
    expect_status 0
    [[ "$err" == *"removed $first"* ]]
    [ ! -e "$first" ]
    [ -d "$second" ]
    [ "$(ls backups | wc -l)" -eq 2 ]
}

@test "examples/filters: each filter finds exactly the books it should" {
    run_split "$EX/filters/filters.sh" work
    expect_status 0
    want=$(cat <<'EOF'
lang = "en"                                                    taocp-1 rust-book k-and-r unix-env sicp
year >= 2010 AND lang = "en"                                   rust-book ddia pg-internals
tags CONTAINS "rust"                                           rust-book rust-de
tags CONTAINS "programming" AND NOT tags CONTAINS "c"          rust-book sicp rust-de
lang IN ["fr", "de"]                                           algo-fr rust-de
publisher.name STARTSWITH "Addison"                            taocp-1 dragon
NOT publisher EXISTS                                           pg-internals
(year < 1980 OR year > 2020) AND lang != "de"                  taocp-1 k-and-r pg-internals
query record: search-engines pg-internals iir
{"filter":"(lang = \"en\") AND (year >= 2000)","filter_matched":5,"exact":true}
EOF
)
    [ "$out" = "$want" ] || { diff <(echo "$want") <(echo "$out") >&2; false; }
    [ -z "$err" ]
}

@test "examples: the scripts say their usage (exit 2) for wrong arguments and a folder without corpus.jsonl" {
    for s in rag-citations/rag.sh hybrid-tuning/tune.sh rerank/rerank.sh sharding/shards.sh \
             haproxy/run.sh backup/backup.sh filters/filters.sh; do
        run_split "$EX/$s"
        expect_status 2
        [ -z "$out" ]
        [[ "$err" == "usage: $(basename "$s") "* ]]
    done
    mkdir empty
    for s in hybrid-tuning/tune.sh rerank/rerank.sh sharding/shards.sh; do
        run_split "$EX/$s" empty work
        expect_status 2
        [ "$err" = "$(basename "$s"): no corpus.jsonl in 'empty'" ]
        [ ! -e work ]
    done
    run_split "$EX/rag-citations/rag.sh" empty work "a question"
    expect_status 2
    [ "$err" = "rag.sh: no corpus.jsonl in 'empty'" ]
}

# ci_steps KIND FILE JOB: the job's steps as a script (tests/cli/examples_ci.py)
# in ci.sh, run from a folder where examples/ is the repository's; the
# skipped steps in $skipped
ci_steps() {
    ln -s "$EX" examples
    "$PY" "$BATS_TEST_DIRNAME/examples_ci.py" "$@" > ci.sh 2> skipped.txt
    skipped=$(cat skipped.txt)
}

@test "examples/ci-github: the workflow's steps pass on ADI and fail the job on a worse search mode" {
    need_data
    ci_steps github examples/ci-github/.github/workflows/retrieval-gate.yml gate
    # the steps left out: the checkout, the installation and build (done by
    # the test suite) and the artifact upload; nothing else
    [ "$skipped" = "skip: actions/checkout@v4
skip: install dependencies
skip: build
skip: keep the evaluation" ]
    COLLECTION=$VS_DATA/datasets/adi run_split bash ci.sh
    expect_status 0
    [[ "$err" == *"step: index the judged collection"*"step: search"*"step: quality gate"* ]]
    [ "$(grep -c 'vs-eval: gate passed' <<<"$err")" -eq 4 ]
    jq -e '.measures.ndcg_cut_10 >= 0.40' eval.json
    rm -rf kb.vs
    COLLECTION=$VS_DATA/datasets/adi SEARCH_MODE=vector run_split bash ci.sh
    expect_status 1
    [[ "$err" == *"vs-eval: gate failed: ndcg@10 regression <= 0.02 against baseline"* ]]
}

@test "examples/ci-gitlab: the quality-gate job's script passes on ADI, fails on a worse search mode, keeps its metrics" {
    need_data
    ci_steps gitlab examples/ci-gitlab/.gitlab-ci.yml quality-gate
    [ "$skipped" = "skip: default before_script" ]
    COLLECTION=$VS_DATA/datasets/adi CI_PROJECT_DIR=$PWD run_split bash ci.sh
    expect_status 0
    [ "$(grep -c 'vs-eval: gate passed' <<<"$err")" -eq 4 ]
    grep -q '^ndcg_cut_10 0\.4' metrics.txt
    rm -rf kb.vs metrics.txt
    COLLECTION=$VS_DATA/datasets/adi CI_PROJECT_DIR=$PWD SEARCH_MODE=vector run_split bash ci.sh
    expect_status 1
    [[ "$err" == *"vs-eval: gate failed: ndcg@10 >= 0.40"* ]]
    # after_script ran all the same
    grep -q '^ndcg_cut_10 0\.3' metrics.txt
}

@test "examples/README.md: at least 28 examples in 7 language families, each folder with a README and run by the test named" {
    run_split "$PY" - "$ROOT" <<'EOF'
import os, re, sys
root = sys.argv[1]
rows = []
for line in open(os.path.join(root, "examples/README.md"), encoding="utf-8"):
    m = re.match(r"\| `([^`]+)/` \| ([^|]+) \| [^|]+ \| `([^`]+)` \|$", line.strip())
    if m:
        rows.append((m.group(1), m.group(2).strip(), m.group(3)))
bad = []
folders = set()
for folder, lang, test in rows:
    folders.add(folder)
    d = os.path.join(root, folder)
    readme = os.path.join(d, "README.md")
    if not os.path.isfile(readme) or os.path.getsize(readme) < 200:
        bad.append("%s: no README.md (or one under 200 bytes)" % folder)
    t = os.path.join(root, test)
    if not os.path.isfile(t):
        bad.append("%s: its test %s does not exist" % (folder, test))
        continue
    text = open(t, encoding="utf-8").read()
    # the test names the folder; a test inside the folder (examples/js/*/test.mjs)
    # is run by tests/wasm/browser/run.sh's loop over examples/js/*/test.mjs
    if test.startswith(folder + "/"):
        loop = open(os.path.join(root, "tests/wasm/browser/run.sh")).read()
        if "examples/js/*/test.mjs" not in loop or not re.fullmatch(r"examples/js/[^/]+/test\.mjs", test):
            bad.append("%s: %s is not run by tests/wasm/browser/run.sh" % (folder, test))
    elif folder not in text:
        bad.append("%s: %s does not name it" % (folder, test))
families = {"shell", "Make", "cron", "CI", "C", "Python", "JavaScript"}
langs = {lang for _, lang, _ in rows}
if langs != families:
    bad.append("language families %s, expected %s" % (sorted(langs), sorted(families)))
if len(rows) < 28:
    bad.append("%d examples in the index, fewer than 28" % len(rows))
# every example folder is in the index: examples/*, examples/js/*, python/examples/*
# (every folder there but python/examples/data and caches)
for base in ("examples", "examples/js", "python/examples"):
    for name in sorted(os.listdir(os.path.join(root, base))):
        rel = base + "/" + name
        if not os.path.isdir(os.path.join(root, rel)) or rel in ("examples/js", "python/examples/data"):
            continue
        if name.startswith((".", "__")) or name == "node_modules":  # caches, not examples
            continue
        if rel not in folders:
            bad.append("%s is not in examples/README.md" % rel)
print("%d examples" % len(rows))
if bad:
    sys.exit("\n".join(bad))
EOF
    expect_status 0
    [[ "$out" =~ ^[0-9]+\ examples$ ]]
    [ "${out%% *}" -ge 28 ]
}
