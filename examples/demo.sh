#!/bin/sh
# make demo: the main job on a bundled default. Chunks the project's own
# documentation (README.md and docs/), embeds it with the hash
# embedder, ingests it into a store, shows the store, and asks a handful of
# questions, printing the answers readably.
#   examples/demo.sh [BIN_DIR] [STORE]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bin=${1:-$root/build/bin}
case "$bin" in /*) ;; *) bin=$root/$bin ;; esac
PATH="$bin:$PATH"
work=$(mktemp -d "${TMPDIR:-/tmp}/vecstore-demo.XXXXXX")
store=${2:-$work/demo.vs}
trap 'rm -rf "$work"' EXIT

cd "$root"
echo "== 1. chunk the bundled documents (README.md and docs/)"
vs-chunk --splitter recursive --size 600 --overlap 80 --include '*.md' \
    README.md docs > "$work/chunks.ndjson"
echo "   $(wc -l < "$work/chunks.ndjson") chunks"

echo "== 2. embed them (model: hash, no model file needed)"
vs-embed --b64 < "$work/chunks.ndjson" > "$work/embedded.ndjson"

echo "== 3. ingest into $store"
vs-ingest "$store" "$work/embedded.ndjson"
vs-index info "$store"

echo "== 4. ask questions (hybrid: BM25 and hash vectors fused by RRF)"
while IFS= read -r q; do
    [ -n "$q" ] || continue
    printf '\n? %s\n' "$q"
    printf '{"id":"q","text":"%s"}\n' "$q" |
        vs-query "$store" -k 3 --format text | tail -n +3
done <<'Q'
how do I delete records matching a filter?
what happens if the machine crashes during a write?
which exit code means the store is locked or corrupt?
how are vectors passed as base64?
Q
