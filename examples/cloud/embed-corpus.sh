#!/bin/sh
# embed-corpus.sh: embed a BEIR corpus with a cloud embedding API, then build
# a store and evaluate it. Needs a key; estimates the cost first.
#
#   examples/cloud/embed-corpus.sh [--dry-run] [CORPUS_DIR] [MODEL]
#
#   CORPUS_DIR  a BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv),
#               default $VS_DATA/datasets/scifact
#   MODEL       default openai:text-embedding-3-small (key: OPENAI_API_KEY);
#               cohere:embed-english-v3.0 uses COHERE_API_KEY;
#               azure:DEPLOYMENT[@MODEL][:DIM] (Azure OpenAI) uses
#               AZURE_OPENAI_API_KEY and AZURE_OPENAI_ENDPOINT
#               (https://NAME.openai.azure.com), VS_EMBED_API_VERSION
#
# --dry-run prints the estimate (requests, tokens, cost) and stops; it needs
# no key. Vectors are cached (~/.cache/vecstore/embeddings), so an
# interrupted run resumes where it stopped when started again.
# Programs come from $VS_BIN (default build/bin); the token table from
# scripts/get-model.sh cl100k_base (fetched here when missing).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
PATH="${VS_BIN:-$root/build/bin}:$PATH"
dry=0
if [ "${1:-}" = "--dry-run" ]; then
    dry=1
    shift
fi
corpus=${1:-${VS_DATA:-$root/../shared/data}/datasets/scifact}
model=${2:-openai:text-embedding-3-small}
out=${OUT:-$PWD/cloud-$(basename "$corpus")}

[ -f "$corpus/corpus.jsonl" ] || { echo "embed-corpus.sh: error: no corpus.jsonl in '$corpus'" >&2; exit 2; }
"$root/scripts/get-model.sh" cl100k_base >/dev/null

mkdir -p "$out"
# BEIR records have "_id" (and a title): records with "id" and "text".
python3 - "$corpus" "$out" <<'PY'
import json, sys
src, dst = sys.argv[1], sys.argv[2]
for name in ("corpus", "queries"):
    with open("%s/%s.jsonl" % (src, name)) as f, open("%s/%s.ndjson" % (dst, name), "w") as g:
        for line in f:
            o = json.loads(line)
            text = "\n".join(t for t in (o.get("title"), o.get("text")) if t)
            g.write(json.dumps({"id": str(o["_id"]), "text": text}) + "\n")
PY

echo "estimate for $model:" >&2
vs-embed --model "$model" --dry-run "$out/corpus.ndjson" >&2
[ "$dry" -eq 1 ] && exit 0

# Four requests in flight, within OpenAI's lower tier limits; adjust
# --rpm/--tpm to your account.
vs-embed --model "$model" --concurrency 4 --rpm 3000 --tpm 1000000 --b64 --stats \
    "$out/corpus.ndjson" > "$out/corpus.emb.jsonl"
vs-embed --model "$model" --as query --b64 "$out/queries.ndjson" > "$out/queries.emb.jsonl"
rm -rf "$out/kb.vs"
vs-ingest "$out/kb.vs" < "$out/corpus.emb.jsonl"
vs-query "$out/kb.vs" -k 100 < "$out/queries.emb.jsonl" > "$out/run.ndjson"
vs-eval --qrels "$corpus/qrels/test.tsv" < "$out/run.ndjson"
