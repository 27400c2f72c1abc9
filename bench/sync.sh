#!/bin/sh
# bench/sync.sh BUILD_DIR: a nightly reindex of a document tree, with and
# without vs-chunk --since.
#   The SciFact corpus ($VS_DATA/datasets/scifact/corpus.jsonl) is written as
#   a tree of 5,183 text files (title and abstract), then the pipeline
#     vs-chunk [--since kb.vs] docs | vs-embed --model hash-v1:384 |
#       vs-ingest --sync --sync-scope docs/ --skip-unchanged kb.vs
#   runs: first (empty store), again over the unchanged tree without and
#   with --since, and after editing 1% of the files (52), without and with
#   --since. Reports wall and CPU seconds (user+sys, all three programs) of
#   each run, and vs-chunk's documents read. Appends the table, dated, with
#   the load, to bench/results/sync.txt.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
PATH=$PWD/$build/bin:$PATH
data=${VS_DATA:-../shared/data}
corpus=$data/datasets/scifact/corpus.jsonl
[ -f "$corpus" ] || { echo "bench/sync.sh: no $corpus" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

/usr/bin/python3 - "$corpus" "$tmp/docs" <<'PY'
import json, os, sys
out = sys.argv[2]
for line in open(sys.argv[1], encoding="utf-8"):
    o = json.loads(line)
    d = os.path.join(out, o["_id"][-2:])   # 100 directories
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, o["_id"] + ".txt"), "w", encoding="utf-8") as f:
        f.write(o.get("title", "") + "\n\n" + o["text"] + "\n")
PY
cd "$tmp"

# run NAME [--since kb.vs]: one pipeline; prints "NAME wall cpu docs_read"
run() {
    name=$1
    shift
    /usr/bin/time -f '%e %U %S' -o t.txt sh -c \
        "vs-chunk --size 1000 --stats $* docs 2> chunk.json |
         vs-embed --model hash-v1:384 |
         vs-ingest -q --sync --sync-scope docs/ --skip-unchanged --stats kb.vs 2> ingest.json"
    read -r wall user sys < t.txt
    docs=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["docs"])' chunk.json)
    commits=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["commits"])' ingest.json)
    cpu=$(echo "$user + $sys" | bc | sed "s/^\./0./")
    printf '| %s | %s | %s | %s | %s |\n' "$name" "$wall" "$cpu" "$docs" "$commits"
}

edit() {
    find docs -name '*.txt' | sort | awk 'NR % 100 == 1' | while read -r f; do
        echo "An added sentence." >> "$f"
    done
}

{
    echo "## $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
    echo
    echo "| run | wall s | CPU s | documents read | commits |"
    echo "|---|---|---|---|---|"
    run "first run (empty store)"
    run "unchanged tree"
    run "unchanged tree, --since" --since kb.vs
    cp -a kb.vs kb0.vs
    edit
    run "1% of files edited" 
    rm -rf kb.vs && mv kb0.vs kb.vs
    run "1% of files edited, --since" --since kb.vs
    echo
} > table.md
cat table.md
cd - > /dev/null
mkdir -p bench/results
cat "$tmp/table.md" >> bench/results/sync.txt
