#!/bin/sh
# bench/rerank.sh: does reranking vs-query's top 100 improve nDCG@10?
#
#   bench/rerank.sh [BUILD_DIR] [DATASET...]     (default: build, scifact cranfield)
#
# For each BEIR collection in $VS_DATA/datasets: the corpus (title and text
# joined) embedded with the hash model into a store, the test queries
# embedded the same way, vs-query --mode vector -k 100 --carry-query
# --with-vectors (exact cosine; the query text and the stored vectors on the
# hits), then the hits reranked by vs-rerank (bm25 with the candidate set's
# and with the store's statistics; mmr over the hits' vectors; blends) and
# every run scored with vs-eval (ndcg@10, map, recall@100, mrr). Prints a
# Markdown table (docs/rerank.md) under a dated line (commit, cores, load
# at the start and end, the command) and appends both to
# bench/results/rerank_quality.txt (or RERANK_RESULTS).
# With CE=1 (and $VS_DATA/models/minilm-tokenizer/vocab.txt) also a
# cross-encoder run and a late-interaction run with small random-weight
# models (hidden 64, 2 layers, 128 positions, MiniLM's vocabulary; the
# late-interaction one with a 32-wide projection): they prove the plumbing
# end to end, their quality is that of random weights.
set -eu
BUILD=${1:-build}
[ $# -gt 0 ] && shift
SETS=${*:-scifact cranfield}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/$BUILD/bin
VS_DATA=${VS_DATA:-$ROOT/../shared/data}
PY=/usr/bin/python3
RESULTS=${RERANK_RESULTS:-$ROOT/bench/results/rerank_quality.txt}
for b in vs-embed vs-ingest vs-query vs-rerank vs-eval; do
    [ -x "$BIN/$b" ] || { echo "rerank.sh: $BIN/$b not found (make BUILD=$BUILD all)" >&2; exit 2; }
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
load0=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$(date +%s)
commit=${VS_BENCH_COMMIT:-$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo none)}
cmd="bench/rerank.sh $BUILD $SETS"
[ -n "${CE:-}" ] && cmd="CE='$CE' $cmd"

{
echo "| collection | run | ndcg@10 | map | recall@100 | mrr |"
echo "|---|---|---|---|---|---|"
for ds in $SETS; do
    dir=$VS_DATA/datasets/$ds
    [ -f "$dir/corpus.jsonl" ] || { echo "$ds: not found at $dir, skipped" >&2; continue; }
    w=$TMP/$ds
    mkdir -p "$w"
    $PY - "$dir" "$w" <<'EOF'
import json, sys
d, w = sys.argv[1], sys.argv[2]
with open(w + "/corpus.jsonl", "w") as out:
    for l in open(d + "/corpus.jsonl"):
        o = json.loads(l)
        t = (o.get("title", "") + " " + o.get("text", "")).strip()
        out.write(json.dumps({"id": str(o["_id"]), "text": t}) + "\n")
judged = set()
for i, l in enumerate(open(d + "/qrels/test.tsv")):
    p = l.split("\t")
    if i == 0 and not p[-1].strip().lstrip("-").isdigit():
        continue
    judged.add(p[0])
with open(w + "/queries.jsonl", "w") as out:
    for l in open(d + "/queries.jsonl"):
        o = json.loads(l)
        if str(o["_id"]) in judged:
            out.write(json.dumps({"id": str(o["_id"]), "text": o["text"]}) + "\n")
EOF
    "$BIN/vs-embed" -q --keep-going "$w/corpus.jsonl" | "$BIN/vs-ingest" -q "$w/kb.vs" >/dev/null
    "$BIN/vs-embed" -q "$w/queries.jsonl" > "$w/qvec.jsonl"
    "$BIN/vs-query" --mode vector -k 100 --no-metadata --carry-query --with-vectors \
        "$w/kb.vs" "$w/qvec.jsonl" > "$w/dense.jsonl"
    nq=$(wc -l < "$w/queries.jsonl")
    score() { # NAME < run
        "$BIN/vs-eval" --qrels "$dir/qrels/test.tsv" -m ndcg@10 -m map -m recall@100 -m mrr \
            --format tsv | awk -v ds="$ds ($nq queries)" -v run="$1" '
            $2 == "all" { v[$1] = $3 }
            END { printf "| %s | %s | %.4f | %.4f | %.4f | %.4f |\n", ds, run,
                  v["ndcg_cut_10"], v["map"], v["recall_100"], v["recip_rank"] }'
    }
    score "dense (hash embedding, exact cosine), top 100" < "$w/dense.jsonl"
    "$BIN/vs-rerank" "$w/dense.jsonl" |
        score "rerank bm25 (candidate-set statistics)"
    "$BIN/vs-rerank" --store "$w/kb.vs" "$w/dense.jsonl" |
        score "rerank bm25 --store (the store's statistics)"
    "$BIN/vs-rerank" --queries "$w/queries.jsonl" --blend 0.5 "$w/dense.jsonl" |
        score "rerank bm25, --blend 0.5 (rrf)"
    "$BIN/vs-rerank" --queries "$w/queries.jsonl" --blend 0.5 --blend-mode minmax "$w/dense.jsonl" |
        score "rerank bm25, --blend 0.5 --blend-mode minmax"
    if [ "${CE:-0}" = 1 ] && [ -f "$VS_DATA/models/minilm-tokenizer/vocab.txt" ]; then
        [ -d "$TMP/ce" ] || $PY "$ROOT/tests/ref_cross_encoder.py" make "$TMP/ce" --hidden 64 \
            --layers 2 --heads 4 --inter 128 --max-pos 128 \
            --vocab "$VS_DATA/models/minilm-tokenizer/vocab.txt" >/dev/null
        "$BIN/vs-rerank" -m cross-encoder --model "$TMP/ce" "$w/dense.jsonl" |
            score "rerank cross-encoder, random weights (plumbing only)"
        [ -d "$TMP/li" ] || $PY "$ROOT/tests/ref_late_interaction.py" make "$TMP/li" --dim 32 \
            --hidden 64 --layers 2 --heads 4 --inter 128 --max-pos 128 \
            --vocab "$VS_DATA/models/minilm-tokenizer/vocab.txt" >/dev/null
        "$BIN/vs-rerank" -m late-interaction --model "$TMP/li" "$w/dense.jsonl" |
            score "rerank late-interaction, random weights (plumbing only)"
    fi
    for lam in 0.9 0.7 0.5; do
        "$BIN/vs-rerank" -m mmr --lambda $lam --queries "$w/qvec.jsonl" "$w/dense.jsonl" |
            score "rerank mmr, --lambda $lam"
    done
done
} > "$TMP/table"
mkdir -p "$(dirname "$RESULTS")"
{
    echo "== rerank $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $commit, $(uname -m), $(nproc) cores," \
        "load $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end;" \
        "$(($(date +%s) - t0)) s wall"
    echo "command: $cmd"
    cat "$TMP/table"
    echo
} > "$TMP/report"
cat "$TMP/report"
cat "$TMP/report" >> "$RESULTS"
