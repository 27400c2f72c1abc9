#!/usr/bin/env bats
# docs/compare/: the figures quoted are the ones bench/compare/run.sh wrote,
# the sqlite-vec guide's migration block works on a table made by the real
# sqlite-vec, and a tiny bench/compare run reports its engines.
load helpers

ROOT="$BATS_TEST_DIRNAME/../.."
BUILD=$(cd "$VS_BIN/.." && pwd)
VENV_PY="${VS_VENV:-$HOME/.cache/vecstore/venv}/bin/python"

setup() {
    cd "$BATS_TEST_TMPDIR"
}

# the engines table of a compare report (its first "| engine |" table)
engines_table() {
    awk '/^\| engine \| version \|/ {t = 1} t && /^\|/ {print; next} t {exit}' "$1"
}

# vec0's path (without .so, as SQLite's .load takes it), or skip
vec0_or_skip() {
    [ -x "$VENV_PY" ] || skip "no project venv (scripts/venv.sh examples)"
    VEC0=$("$VENV_PY" -c 'import sqlite_vec; print(sqlite_vec.loadable_path())' 2> /dev/null) \
        || skip "sqlite-vec not in $VENV_PY (scripts/venv.sh examples)"
}

@test "compare-docs: the README's table is bench/results/compare.txt's" {
    doc="$ROOT/docs/compare/README.md"
    awk '/^<!-- compare.txt table -->$/ {t = 1; next} /^<!-- end compare.txt table -->$/ {t = 0} t' \
        "$doc" > doc.txt
    engines_table "$ROOT/bench/results/compare.txt" > res.txt
    [ -s res.txt ]
    grep -q "^| vecstore-cli |" res.txt
    grep -q "^| chromadb |" res.txt
    grep -q "^| faiss |" res.txt
    grep -q "^| sqlite-vec |" res.txt
    # the doc holds the table, then the run's header lines as a quote
    engines_table doc.txt > doc-table.txt
    diff res.txt doc-table.txt
    head -n 1 "$ROOT/bench/results/compare.txt" > head.txt
    grep -qF "$(cut -c1-60 head.txt)" doc.txt || { cat head.txt; false; }
}

@test "compare-docs: every page links back and every link to a page resolves" {
    for p in chroma faiss sqlite-vec pinecone weaviate; do
        [ -f "$ROOT/docs/compare/$p.md" ]
        grep -q "($p.md)" "$ROOT/docs/compare/README.md" || { echo "README misses $p.md"; false; }
    done
    # relative links in the pages point at files that exist
    for f in "$ROOT"/docs/compare/*.md; do
        grep -o '](\.\.\?/[^)#]*\|]([a-z-]*\.md' "$f" | sed 's/^](//' | while read -r l; do
            [ -e "$(dirname "$f")/$l" ] || { echo "$f: $l"; exit 1; }
        done
    done
}

@test "compare-docs: the sqlite-vec guide's block moves a real sqlite-vec table, same neighbours" {
    vec0_or_skip
    command -v sqlite3 > /dev/null || skip "sqlite3 not installed"
    # a vec0 table made by sqlite-vec itself: 200 rows of 8 dimensions
    /usr/bin/python3 - "$VEC0" <<'PY'
import json, random, sqlite3, struct, sys
random.seed(7)
c = sqlite3.connect("items.db")
c.enable_load_extension(True)
c.load_extension(sys.argv[1])
c.execute("CREATE VIRTUAL TABLE vec_items USING vec0(embedding float[8], +text text, +metadata text)")
for i in range(1, 201):
    v = [random.uniform(-1, 1) for _ in range(8)]
    c.execute("INSERT INTO vec_items(rowid, embedding, text, metadata) VALUES (?, ?, ?, ?)",
              (i, struct.pack("8f", *v), f'row {i} "quoted"',
               None if i == 5 else json.dumps({"n": i})))
c.commit()
PY
    awk '/^<!-- sqlite-vec -->$/ {m = 1; next} m == 1 && /^```sh$/ {m = 2; next}
         m == 2 && /^```$/ {exit} m == 2 {print}' "$ROOT/docs/compare/sqlite-vec.md" \
        | sed "s|^\.load \./vec0$|.load $VEC0|" > block.sh
    grep -q "^\.load $VEC0$" block.sh
    run_split bash -e -o pipefail block.sh
    expect_status 0
    [ -z "$out" ]
    [[ "$err" == *"200 records read, 200 upserts"* ]] || { echo "$err"; false; }
    [ "$(vs-index get items.vs 5 | jq -c .metadata)" = '{}' ]
    [ "$(vs-index get items.vs 9 | jq -r .text)" = 'row 9 "quoted"' ]
    # exact search gives sqlite-vec's own neighbours, in its order
    /usr/bin/python3 - "$VEC0" <<'PY'
import json, random, sqlite3, struct, sys
random.seed(11)
c = sqlite3.connect("items.db")
c.enable_load_extension(True)
c.load_extension(sys.argv[1])
with open("q.ndjson", "w") as q, open("want.txt", "w") as w:
    for n in range(5):
        v = [random.uniform(-1, 1) for _ in range(8)]
        q.write(json.dumps({"id": f"q{n}", "vector": v}) + "\n")
        for (rowid,) in c.execute("SELECT rowid FROM vec_items WHERE embedding MATCH ? AND k = 10 "
                                  "ORDER BY distance", (struct.pack("8f", *v),)):
            w.write(f"q{n} {rowid}\n")
PY
    vs-query --exact -k 10 --format trec items.vs < q.ndjson | cut -d' ' -f1,3 > got.txt
    [ "$(wc -l < want.txt)" -eq 50 ]
    diff want.txt got.txt
}

@test "bench/compare/run.sh: a tiny run reports each engine and the ratios" {
    # bench programs are compiled without the sanitizers (bench/cc_lib.sh)
    ! grep -qa -e __asan_init -e __ubsan_handle "$VS_BIN/vs-index" ||
        skip "bench/compare/run.sh runs in the pass against a normal build"
    vec0_or_skip
    "$VENV_PY" -c 'import numpy, faiss' 2> /dev/null || skip "no faiss-cpu in $VENV_PY (scripts/venv.sh examples)"
    res=$BATS_TEST_TMPDIR/compare.txt
    run_split env CMP_PYTHON="$VENV_PY" CMP_RESULTS="$res" CMP_N=1200 CMP_NQ=20 \
        CMP_ENGINES="vecstore-cli faiss sqlite-vec" sh "$ROOT/bench/compare/run.sh" "$BUILD"
    expect_status 0
    [ "$(cat "$res")" = "$out" ]
    [[ "$out" == *"command: CMP_ENGINES='vecstore-cli faiss sqlite-vec'"*"bench/compare/run.sh $BUILD"* ]]
    # one row per engine with a recall in [0.9, 1]: 1200 rows at ef 64
    for e in vecstore-cli faiss sqlite-vec; do
        row=$(echo "$out" | grep "^| $e | [v0-9]")
        r=$(echo "$row" | awk -F' [|] ' '{print $9}')
        awk -v r="$r" 'BEGIN {exit !(r >= 0.9 && r <= 1)}' || { echo "$row"; false; }
    done
    # the ratio table: a row for each engine but vecstore-cli
    echo "$out" | sed -n '/^vecstore-cli over each engine/,$p' > ratios.txt
    grep -q '^| faiss | [0-9.]* | [0-9.]* | [0-9.]* | [0-9.]* | [0-9.]* |$' ratios.txt
    grep -q '^| sqlite-vec | [0-9.]* | [0-9.]* | [0-9.]* | [0-9.]* | [0-9.]* |$' ratios.txt
    run ! grep -q '^| vecstore-cli |' ratios.txt
}
