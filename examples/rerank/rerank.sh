#!/bin/bash
# rerank.sh BEIR_DIR WORK: retrieve 50 candidates by vector search, re-order
# them with vs-rerank and measure what each reranker changes. Builds
# WORK/kb.vs from BEIR_DIR (corpus.jsonl, queries.jsonl, qrels/test.tsv)
# once, then for each method writes WORK/METHOD.ndjson (10 hits a query)
# and prints a table: method, nDCG@10, its difference from the retrieval
# alone and the randomization test's p-value (vs-eval --baseline).
# Methods: bm25 with the store's statistics, bm25 blended with the
# retrieval ranks (RRF), MMR over the stored vectors, and, when CROSS_ENCODER
# names a cross-encoder model folder, that model.
# Environment: MODEL (vs-embed --model; default the best model fetched,
# else hash), CROSS_ENCODER (optional model folder).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: rerank.sh BEIR_DIR WORK" >&2; exit 2; }
beir=$1 work=$2
[ -f "$beir/corpus.jsonl" ] || { echo "rerank.sh: no corpus.jsonl in '$beir'" >&2; exit 2; }
model=()
[ -n "${MODEL:-}" ] && model=(--model "$MODEL")
beir=$(cd "$beir" && pwd)   # the script works in WORK
mkdir -p "$work"
cd "$work"
if [ ! -d kb.vs ]; then
    vs-chunk --size 400 "$beir/corpus.jsonl" | vs-embed "${model[@]}" | vs-ingest -q kb.vs
fi
vs-embed -q --model "$(vs-index info kb.vs | jq -r .model)" \
    < "$beir/queries.jsonl" > queries.ndjson
# 50 candidates a query (one per document), with the query text for the
# rerankers and the stored vectors for MMR
vs-query kb.vs -k 50 --mode vector --group-by doc_id --carry-query --with-vectors \
    < queries.ndjson > candidates.ndjson
vs-rerank -k 10 --method bm25 --store kb.vs < candidates.ndjson > bm25.ndjson
vs-rerank -k 10 --method bm25 --store kb.vs --blend 0.5 < candidates.ndjson > bm25-blend.ndjson
vs-rerank -k 10 --method mmr --lambda 0.7 < candidates.ndjson > mmr.ndjson
methods="bm25 bm25-blend mmr"
if [ -n "${CROSS_ENCODER:-}" ]; then
    vs-rerank -k 10 --method cross-encoder --model "$CROSS_ENCODER" \
        < candidates.ndjson > cross-encoder.ndjson
    methods="$methods cross-encoder"
fi
jq -c 'select(.rank <= 10) | del(.vector)' candidates.ndjson > retrieval.ndjson

printf 'method\tndcg@10\tdifference\tp\n'
vs-eval --qrels "$beir/qrels/test.tsv" --doc-level -m ndcg@10 retrieval.ndjson |
    jq -r '"retrieval\t\(.measures.ndcg_cut_10 * 10000 | round / 10000)\t\t"'
for m in $methods; do
    vs-eval --qrels "$beir/qrels/test.tsv" --doc-level -m ndcg@10 \
        --baseline retrieval.ndjson "$m.ndjson" | jq -r --arg m "$m" '
        .compare.ndcg_cut_10 as $c |
        "\($m)\t\(.measures.ndcg_cut_10 * 10000 | round / 10000)\t\($c.diff * 10000 | round / 10000)\t\($c.p_randomization * 10000 | round / 10000)"'
done
