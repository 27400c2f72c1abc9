#!/bin/bash
# tune.sh BEIR_DIR WORK: choose hybrid search's fusion settings on judged
# queries. Builds WORK/kb.vs from BEIR_DIR (corpus.jsonl, queries.jsonl,
# qrels/test.tsv) once, then scores vector alone, BM25 alone, weighted
# fusion at several --alpha and RRF at several --rrf-k with vs-eval
# (nDCG@10 and recall@100, a hit counting as its document), and prints a
# table, best last, then the vs-query options of the best setting.
# Environment: MODEL (vs-embed --model; default the best model fetched,
# else hash), ALPHAS (default "0.1 0.3 0.5 0.7 0.9"), RRF_KS (default
# "10 60").
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: tune.sh BEIR_DIR WORK" >&2; exit 2; }
beir=$1 work=$2
[ -f "$beir/corpus.jsonl" ] || { echo "tune.sh: no corpus.jsonl in '$beir'" >&2; exit 2; }
model=()
[ -n "${MODEL:-}" ] && model=(--model "$MODEL")
mkdir -p "$work"
if [ ! -d "$work/kb.vs" ]; then
    vs-chunk --size 400 "$beir/corpus.jsonl" | vs-embed "${model[@]}" |
        vs-ingest -q "$work/kb.vs"
fi
# the queries embedded once (the store pins the model, so the same one)
vs-embed -q --model "$(vs-index info "$work/kb.vs" | jq -r .model)" \
    < "$beir/queries.jsonl" > "$work/queries.ndjson"

score() { # score LABEL VS-QUERY-OPTIONS...: one row "LABEL ndcg recall"
    local label=$1
    shift
    vs-query "$work/kb.vs" -k 100 --group-by doc_id --no-text "$@" \
        < "$work/queries.ndjson" > "$work/run.ndjson"
    vs-eval --qrels "$beir/qrels/test.tsv" --doc-level -m ndcg@10 -m recall@100 \
        "$work/run.ndjson" |
        jq -r --arg l "$label" '"\($l)\t\(.measures.ndcg_cut_10)\t\(.measures.recall_100)"'
}

{
    score "--mode vector" --mode vector
    score "--mode text" --mode text
    for a in ${ALPHAS:-0.1 0.3 0.5 0.7 0.9}; do
        score "--fusion weighted --alpha $a" --fusion weighted --alpha "$a"
    done
    for k in ${RRF_KS:-10 60}; do
        score "--fusion rrf --rrf-k $k" --fusion rrf --rrf-k "$k"
    done
    score "--fusion dbsf" --fusion dbsf
} | sort -t $'\t' -k2,2g -k1,1r > "$work/table.tsv"
printf 'setting\tndcg@10\trecall@100\n'
awk -F'\t' '{ printf "%s\t%.4f\t%.4f\n", $1, $2, $3 }' "$work/table.tsv"
echo "best: vs-query $(tail -1 "$work/table.tsv" | cut -f1)"
