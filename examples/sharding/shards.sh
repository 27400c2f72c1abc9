#!/bin/bash
# shards.sh BEIR_DIR WORK [S]: split a collection into S shards by document
# (vs-shard), build each shard's store in its own pipeline, and search all
# of them as one (vs-query --shard ... merges the shards' hits by score).
# Checks the answer against one store holding everything: exact vector
# search over the shards must give the same top 10 as over the whole
# store, and prints the per-shard record counts and how many of the
# hybrid top 10 agree (BM25 statistics are each shard's own).
# Environment: MODEL (vs-embed --model; default the best model fetched,
# else hash).
set -euo pipefail
[ $# -ge 2 ] && [ $# -le 3 ] || { echo "usage: shards.sh BEIR_DIR WORK [S]" >&2; exit 2; }
beir=$1 work=$2 s=${3:-3}
[ -f "$beir/corpus.jsonl" ] || { echo "shards.sh: no corpus.jsonl in '$beir'" >&2; exit 2; }
model=()
[ -n "${MODEL:-}" ] && model=(--model "$MODEL")
beir=$(cd "$beir" && pwd)   # the script works in WORK
mkdir -p "$work"
cd "$work"
rm -rf whole.vs shard-*.vs
# chunk and embed once; every shard pipeline reads the same records
vs-chunk --size 400 "$beir/corpus.jsonl" | vs-embed "${model[@]}" > chunks.ndjson
vs-ingest -q whole.vs < chunks.ndjson
# S independent pipelines (on S machines in real life: see docs/scale-out.md)
pids=()
for ((i = 0; i < s; i++)); do
    vs-shard "$i/$s" chunks.ndjson | vs-ingest -q "shard-$i.vs" &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
shards=()
for ((i = 0; i < s; i++)); do shards+=(--shard "shard-$i.vs"); done

echo "records per shard:"
vs-shard --count "0/$s" chunks.ndjson
vs-embed -q --model "$(vs-index info whole.vs | jq -r .model)" \
    < "$beir/queries.jsonl" > queries.ndjson
vs-query whole.vs -k 10 --exact --mode vector --format trec < queries.ndjson > whole-vector.trec
vs-query "${shards[@]}" -k 10 --exact --mode vector --format trec < queries.ndjson > shards-vector.trec
vs-query whole.vs -k 10 < queries.ndjson --format trec > whole-hybrid.trec
vs-query "${shards[@]}" -k 10 --format trec < queries.ndjson > shards-hybrid.trec
if cmp -s <(cut -d' ' -f1,3,4 whole-vector.trec) <(cut -d' ' -f1,3,4 shards-vector.trec); then
    echo "exact vector top 10: the same over $s shards as over the whole store"
else
    echo "exact vector top 10: the shards differ from the whole store" >&2
    exit 1
fi
same=$(comm -12 <(cut -d' ' -f1,3 whole-hybrid.trec | sort) \
                <(cut -d' ' -f1,3 shards-hybrid.trec | sort) | wc -l)
echo "hybrid top 10: $same of $(wc -l < whole-hybrid.trec) hits in both"
