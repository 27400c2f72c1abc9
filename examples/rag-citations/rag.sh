#!/bin/bash
# rag.sh BEIR_DIR WORK QUESTION: retrieval-augmented generation over a real
# document set, with every passage cited by file and byte range.
#
# The first run writes each document of the BEIR corpus BEIR_DIR
# (corpus.jsonl: _id, title, text) as a file WORK/docs/ID.txt, chunks the
# folder by sentences (vs-chunk gives each chunk start/end, byte offsets
# into its file), keeps source/start/end in the metadata (vs-ingest stores
# metadata, not the chunk's top-level fields), embeds and ingests into
# WORK/kb.vs. Later runs reuse the store.
#
# Each run asks QUESTION (hybrid search, best chunk per document) and
# writes to stdout a context block, each passage numbered [N], then the
# sources "[N] FILE:START-END", and WORK/prompt.txt, a prompt for an LLM
# that must answer from those passages and cite them by number.
# Environment: K (passages, default 4), MODEL (vs-embed --model; default
# the best model fetched, else hash).
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: rag.sh BEIR_DIR WORK QUESTION" >&2; exit 2; }
beir=$1 work=$2 question=$3
k=${K:-4}
[ -f "$beir/corpus.jsonl" ] || { echo "rag.sh: no corpus.jsonl in '$beir'" >&2; exit 2; }
model=()
[ -n "${MODEL:-}" ] && model=(--model "$MODEL")
beir=$(cd "$beir" && pwd)   # the script works in WORK
mkdir -p "$work"
cd "$work"

if [ ! -d kb.vs ]; then
    mkdir -p docs
    # one file per document: "TITLE\n\nTEXT\n"
    python3 -c '
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    d = json.loads(line)
    with open("docs/%s.txt" % d["_id"], "w", encoding="utf-8") as f:
        f.write((d.get("title") or "") + "\n\n" + d["text"] + "\n")
' "$beir/corpus.jsonl"
    vs-chunk --splitter sentence --size 400 docs |
        jq -c 'if has("start") then .metadata += {source, start, "end": .end} else . end' |
        vs-embed "${model[@]}" | vs-ingest -q kb.vs
fi

vs-query kb.vs -k "$k" --group-by doc_id --query "$question" > hits.ndjson
jq -r '"[\(.rank)] \(.text | gsub("\\s+"; " "))\n"' hits.ndjson > context.txt
jq -r '"[\(.rank)] \(.metadata.source):\(.metadata.start)-\(.metadata.end)"' \
    hits.ndjson > sources.txt
{
    echo "Answer the question from the numbered passages only, citing each"
    echo "claim with its number, e.g. [2]. Say so if they do not answer it."
    echo
    echo "Question: $question"
    echo
    cat context.txt
} > prompt.txt
cat context.txt
echo "Sources:"
cat sources.txt
