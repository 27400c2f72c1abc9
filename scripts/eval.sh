#!/bin/bash
# scripts/eval.sh BIN_DIR: retrieval quality on the BEIR collections in
# $VS_DATA (ADI, Cranfield, SciFact) with the real programs, for BM25, the
# hash embedder and each trained model in the model directory ($VS_MODEL_DIR,
# default ~/.cache/vecstore/models: minilm = all-MiniLM-L6-v2, bge-small =
# bge-small-en-v1.5, fetched by scripts/get-model.sh), alone and fused:
#   BEIR corpus -> {"id","text"} records (title and text joined) ->
#   vs-embed --model M (--keep-going) -> vs-ingest -> vs-query -k 100 ->
#   vs-eval ndcg@10, recall@100 on the judged test queries (embedded with
#   --as query).
# Fusion settings are chosen per model on SciFact's train queries
# (qrels/train.tsv, 809 queries) only; the test figures are reported. The
# "default" row runs vs-embed and vs-query with no model or mode options,
# as a user would (query texts go to vs-query unembedded). Prints the table,
# writes it to BIN_DIR/../eval.md and, only when every collection and
# minilm were measured, into docs/eval.md ("Retrieval quality table"
# section). Missing data (a collection, SciFact's train qrels) or a missing
# minilm is exit 5 with a message naming it, before anything is measured,
# and docs/eval.md is left as it was. Embeddings come from the embedding
# cache on a rerun.
set -euo pipefail
bin=${1:?usage: scripts/eval.sh BIN_DIR}
bin=$(cd "$bin" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
data=${VS_DATA:-$root/../shared/data}
md=${VS_MODEL_DIR:-${HOME:-/tmp}/.cache/vecstore/models}
PY=/usr/bin/python3
. "$root/scripts/beir.sh"
export PATH="$bin:$PATH"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

out_md=$(cd "$bin/.." && pwd)/eval.md
missing=()
for c in adi cranfield scifact; do
    for f in corpus.jsonl queries.jsonl qrels/test.tsv; do
        [ -f "$data/datasets/$c/$f" ] || missing+=("$data/datasets/$c/$f")
    done
done
[ -f "$data/datasets/scifact/qrels/train.tsv" ] || missing+=("$data/datasets/scifact/qrels/train.tsv")
models=(hash)
declare -A folder=([minilm]=all-MiniLM-L6-v2 [bge-small]=bge-small-en-v1.5)
for m in minilm bge-small; do
    if [ -s "$md/${folder[$m]}/model.safetensors" ]; then
        models+=("$m")
    elif [ "$m" = minilm ]; then
        missing+=("$md/${folder[$m]} (scripts/get-model.sh minilm)")
    else
        echo "eval: no $m in $md (scripts/get-model.sh $m), not measured" >&2
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    printf 'eval: error: missing %s\n' "${missing[@]}" >&2
    echo "eval: error: nothing measured; docs/eval.md left as it was (set VS_DATA, VS_MODEL_DIR)" >&2
    exit 5
fi

# embed W/corpus.ndjson and W/queries.ndjson with model M into W/kb-M.vs
# and W/q-M.vec
embed_set() {
    local w=$1 m=$2
    if [ ! -d "$w/kb-$m.vs" ]; then
        vs-embed -q --keep-going --model "$m" "$w/corpus.ndjson" | vs-ingest -q "$w/kb-$m.vs"
    fi
    vs-embed -q --model "$m" --as query "$w/queries.ndjson" > "$w/q-$m.vec"
}

# score W M QRELS OPTS: "NDCG@10 RECALL@100" of vs-query OPTS over kb-M.vs
score() {
    # shellcheck disable=SC2086
    vs-query $4 -k 100 --no-text --no-metadata "$1/kb-$2.vs" "$1/q-$2.vec" > "$1/run.ndjson"
    vs-eval --qrels "$3" -m ndcg@10 -m recall@100 --format tsv "$1/run.ndjson" |
        awk '$1=="ndcg_cut_10"{n=$3} $1=="recall_100"{r=$3} END{print n, r}'
}

# Fusion settings tried on SciFact's train queries.
grid=("rrf 10|--mode hybrid --fusion rrf --rrf-k 10" "rrf 60|--mode hybrid --fusion rrf --rrf-k 60")
for a in 0.2 0.3 0.4 0.5 0.6 0.7 0.8; do
    grid+=("weighted $a|--mode hybrid --fusion weighted --alpha $a"
           "dbsf $a|--mode hybrid --fusion dbsf --alpha $a")
done
declare -A chosen chosen_train
tune_rows=()
sf=$data/datasets/scifact
{
    w=$tmp/scifact-train
    mkdir -p "$w"
    beir_prepare "$sf" "$w" train
    for m in "${models[@]}"; do
        embed_set "$w" "$m"
        best=-1
        for g in "${grid[@]}"; do
            read -r ndcg _ < <(score "$w" "$m" "$sf/qrels/train.tsv" "${g#*|}")
            tune_rows+=("| $m | ${g%%|*} | $ndcg |")
            if [ "$(echo "$ndcg > $best" | bc)" = 1 ]; then
                best=$ndcg chosen[$m]=$g
            fi
        done
        chosen_train[$m]=$best
        echo "eval: $m: fusion chosen on SciFact train: ${chosen[$m]%%|*} (ndcg@10 $best)" >&2
    done
}

rows=()
verdicts=()
default_model=
for c in adi cranfield scifact; do
    src=$data/datasets/$c
    if [ ! -f "$src/corpus.jsonl" ] || [ ! -f "$src/qrels/test.tsv" ]; then
        echo "eval: $c: not in $data/datasets, skipped" >&2
        continue
    fi
    w=$tmp/$c
    mkdir -p "$w"
    beir_prepare "$src" "$w"
    nq=$(wc -l < "$w/queries.ndjson")
    qrels=$src/qrels/test.tsv
    add() { rows+=("| $c ($nq queries) | $1 | $2 | $3 |"); printf '%-10s %-32s ndcg@10 %s  recall@100 %s\n' "$c" "$1" "$2" "$3"; }
    for m in "${models[@]}"; do
        t0=$(date +%s.%N)
        embed_set "$w" "$m"
        echo "eval: $c: $m: $(wc -l < "$w/corpus.ndjson") documents and $nq queries embedded in $(printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)") s" >&2
    done
    read -r bm_n bm_r < <(score "$w" hash "$qrels" "--mode text")
    add bm25 "$bm_n" "$bm_r"
    for m in "${models[@]}"; do
        read -r n r < <(score "$w" "$m" "$qrels" "--mode vector")
        add "$m" "$n" "$r"
        read -r n r < <(score "$w" "$m" "$qrels" "--mode hybrid --fusion rrf")
        add "bm25 + $m, rrf 60" "$n" "$r"
        read -r n r < <(score "$w" "$m" "$qrels" "--mode hybrid --fusion weighted --alpha 0.5")
        add "bm25 + $m, weighted 0.5" "$n" "$r"
        if [ "${chosen[$m]%%|*}" != "rrf 60" ] && [ "${chosen[$m]%%|*}" != "weighted 0.5" ]; then
            read -r n r < <(score "$w" "$m" "$qrels" "${chosen[$m]#*|}")
            add "bm25 + $m, ${chosen[$m]%%|*}" "$n" "$r"
        fi
    done
    # the default pipeline: no model or mode options; the queries go to
    # vs-query as text, which embeds them with the store's model (as queries)
    vs-embed --keep-going "$w/corpus.ndjson" 2> "$w/default.err" | vs-ingest -q "$w/kb-default.vs"
    cp "$w/queries.ndjson" "$w/q-default.vec"
    default_model=$(vs-index info "$w/kb-default.vs" | "$PY" -c 'import json,sys; print(json.load(sys.stdin).get("model",""))')
    read -r n r < <(score "$w" default "$qrels" "")
    add "default (vs-embed; vs-query)" "$n" "$r"
    if [ "$(echo "$n >= $bm_n" | bc)" = 1 ]; then v="at least as good as"; else v="worse than"; fi
    verdicts+=("* $c: default pipeline ndcg@10 $n, $v bm25 ($bm_n)")
done
doc=$root/docs/eval.md
table=$out_md
{
    echo "## Retrieval quality table"
    echo
    echo "Written by \`make eval\` (scripts/eval.sh) on $(date -u +%Y-%m-%d) (load average"
    echo "$(cut -d' ' -f1-3 /proc/loadavg) at the end; quality figures do not depend on it)."
    echo "Each BEIR collection's documents become one record each (title and text"
    echo "joined), embedded with \`vs-embed --model M --keep-going\` and ingested with"
    echo "the default analyzer; the judged test queries are embedded with"
    echo "\`--as query\` and searched with \`vs-query -k 100\`, scored by"
    echo "\`vs-eval -m ndcg@10 -m recall@100\`. bm25 is \`--mode text\` (k1 1.2,"
    echo "b 0.75); a model's own row is \`--mode vector\` (exact cosine); \`bm25 + M\`"
    echo "fuses the top 100 of each side (\`--mode hybrid\`): rrf (k 60), weighted"
    echo "(alpha 0.5, vs-query's default) and the fusion chosen on SciFact's train"
    echo "queries (below) when it is another. Models:"
    echo "hash (the built-in hash embedder, 384 dims)"
    for m in "${models[@]}"; do
        [ "$m" = hash ] || echo "and $m (${folder[$m]}, $(basename "$(ls -d "$md/${folder[$m]}")"), scripts/get-model.sh $m)"
    done
    echo "were present. The default row runs \`vs-embed\` on the documents and"
    echo "\`vs-query\` on the query texts with no model or mode options (model:"
    echo "\`${default_model:-?}\`; vs-query embeds the texts with the store's model as"
    echo "queries and fuses by default: hybrid, weighted, alpha 0.5)."
    echo
    echo "| collection | method | ndcg@10 | recall@100 |"
    echo "|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo
    echo "The default pipeline against BM25 (nDCG@10):"
    echo
    printf '%s\n' "${verdicts[@]}"
    echo
    if [ ${#tune_rows[@]} -gt 0 ]; then
        echo "Fusion chosen on SciFact's 809 train queries (\`qrels/train.tsv\`), never on"
        echo "test queries: nDCG@10 on train for each setting tried (alpha is the"
        echo "weight of the vector side), the best one per model used above."
        echo
        echo "| model | fusion | train ndcg@10 |"
        echo "|---|---|---|"
        printf '%s\n' "${tune_rows[@]}"
        echo
        for m in "${models[@]}"; do
            echo "* $m: ${chosen[$m]%%|*} (train ndcg@10 ${chosen_train[$m]})"
        done
        echo
    fi
} > "$table"
cat "$table" >&2
echo "eval: table written to $table" >&2
if [ -f "$doc" ] && grep -q '^## Retrieval quality table' "$doc"; then
    "$PY" - "$doc" "$table" <<'PYEOF'
import sys
doc, table = sys.argv[1], sys.argv[2]
s = open(doc).read()
t = open(table).read()
a = s.index("## Retrieval quality table")
b = s.find("\n## ", a + 1)
s = s[:a] + t + (s[b + 1:] if b >= 0 else "")
open(doc, "w").write(s)
PYEOF
    echo "eval: table written into docs/eval.md" >&2
fi
