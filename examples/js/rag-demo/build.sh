#!/bin/sh
# examples/js/rag-demo/build.sh OUT [BIN_DIR]: make the browser RAG demo in
# folder OUT, ready for any static file server:
#   OUT/kb.tar              the project's own docs (README.md, docs/*.md),
#                           chunked, embedded (hash model) and ingested by the
#                           vs-* programs, as a tar of the store's files
#   OUT/index.html, app.js  the page
#   OUT/vendor/vecstore/    the npm package, unpacked from dist/vecstore-*.tgz
#                           (make wasm); the page's import map points there
# Then: python3 -m http.server -b 127.0.0.1 -d OUT 8000 and open
# http://127.0.0.1:8000/ (any static server; nothing else runs).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=${1:?usage: build.sh OUT [BIN_DIR]}
bin=${2:-$root/build/bin}
mkdir -p "$out"
out=$(cd "$out" && pwd)
tgz=$(ls "$root"/dist/vecstore-*.tgz 2>/dev/null | tail -n 1)
[ -n "$tgz" ] || { echo "build.sh: error: no dist/vecstore-*.tgz (make wasm)" >&2; exit 5; }
[ -x "$bin/vs-ingest" ] || { echo "build.sh: error: no $bin/vs-ingest (make)" >&2; exit 5; }

work=$(mktemp -d "${TMPDIR:-/tmp}/rag-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$root"
"$bin/vs-chunk" --splitter recursive --size 600 --overlap 80 --include '*.md' README.md docs |
    "$bin/vs-embed" -q --model hash --b64 |
    "$bin/vs-ingest" -q "$work/kb.vs"
# the files of the current generation: MANIFEST and what it names (not LOCK)
(cd "$work/kb.vs" && tar -cf "$out/kb.tar" MANIFEST $(ls | grep -E '\.(vseg|vdel)$'))
rm -rf "$out/vendor/vecstore"
mkdir -p "$out/vendor/vecstore"
tar -xzf "$tgz" -C "$out/vendor/vecstore" --strip-components=1
cp "$here/index.html" "$here/app.js" "$out/"
echo "build.sh: $out: kb.tar ($(wc -c < "$out/kb.tar") bytes), index.html, app.js, vendor/vecstore" >&2
