#!/usr/bin/env bats
# vs-chunk: documents to chunk records.
load helpers

setup() { SCRATCH=$(mktemp -d); }
teardown() { rm -rf "$SCRATCH"; }

# Compare NDJSON on stdin with a golden file, ignoring metadata.mtime and
# metadata.file_stamp (they hold the checkout time of the fixtures).
same_as_golden() {
    $PY -c '
import json, sys
def load(lines):
    out = []
    for l in lines:
        if l.strip():
            o = json.loads(l)
            o.get("metadata", {}).pop("mtime", None)
            o.get("metadata", {}).pop("file_stamp", None)
            out.append(o)
    return out
got = load(sys.stdin)
want = load(open(sys.argv[1], encoding="utf-8"))
if got != want:
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            print("record %d differs:\n got  %s\n want %s" % (i, g, w), file=sys.stderr)
            break
    print("got %d records, want %d" % (len(got), len(want)), file=sys.stderr)
    sys.exit(1)
' "$1"
}

@test "vs-chunk --help lists the options and exits 0" {
    run_split vs-chunk --help || true
    expect_status 0
    [[ "$out" == usage:\ vs-chunk* ]]
    [[ "$out" == *--splitter* ]]
    [ -z "$err" ]
}

@test "vs-chunk: --help and the man page list the same options" {
    help_matches_man vs-chunk
}

@test "vs-chunk: an unknown option is a usage error" {
    run_split vs-chunk --no-such-option || true
    expect_status 2
    [ -z "$out" ]
    [[ "$err" == *vs-chunk:* ]]
}

@test "vs-chunk: bad splitter, unit, size and overlap are usage errors" {
    run_split vs-chunk --splitter bogus "$FIXTURES/docs/notes.txt" || true
    expect_status 2
    [[ "$err" == *"unknown splitter 'bogus'"* ]]
    run_split vs-chunk --unit bytes "$FIXTURES/docs/notes.txt" || true
    expect_status 2
    run_split vs-chunk --size 0 "$FIXTURES/docs/notes.txt" || true
    expect_status 2
    run_split vs-chunk --size 10 --overlap 10 "$FIXTURES/docs/notes.txt" || true
    expect_status 2
    [[ "$err" == *overlap* ]]
    run_split vs-chunk --size ten "$FIXTURES/docs/notes.txt" || true
    expect_status 2
    [ -z "$out" ]
}

@test "vs-chunk: empty input gives no records and exit 0" {
    run_split vs-chunk < /dev/null || true
    expect_status 0
    unmark_out vs-chunk
    [ -z "$out" ]
    [ -z "$err" ]
    : > "$SCRATCH/empty.txt"
    run_split vs-chunk "$SCRATCH/empty.txt" || true
    expect_status 0
    unmark_out vs-chunk
    [ -z "$out" ]
}

@test "vs-chunk: a malformed record is exit 3 naming the line" {
    printf '{"id":"a","text":"one"}\n{"id":"b", nope\n{"id":"c","text":"three"}\n' > "$SCRATCH/in.jsonl"
    run_split vs-chunk < "$SCRATCH/in.jsonl" || true
    expect_status 3
    unmark_out --cut vs-chunk
    [[ "$err" == *"<stdin>:2:"* ]]
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ]
    run_split vs-chunk "$SCRATCH/in.jsonl" || true
    expect_status 3
    unmark_out --cut vs-chunk
    [[ "$err" == *"in.jsonl:2:"* ]]
}

@test "vs-chunk: a record without text is exit 3 naming line and field; --keep-going skips it" {
    printf '{"id":"a","text":"one"}\n{"id":"b","body":"x"}\n{"id":"c","text":"three"}\n' > "$SCRATCH/in.jsonl"
    run_split vs-chunk < "$SCRATCH/in.jsonl" || true
    expect_status 3
    unmark_out --cut vs-chunk
    [[ "$err" == *"<stdin>:2:"*"field 'text'"* ]]
    run_split vs-chunk --keep-going < "$SCRATCH/in.jsonl" || true
    expect_status 0
    unmark_out vs-chunk
    [[ "$err" == *warning*"<stdin>:2:"* ]]
    [ "$(printf '%s\n' "$out" | $PY -c 'import json,sys; print(",".join(json.loads(l)["id"] for l in sys.stdin))')" = "a#0,c#0" ]
    run_split vs-chunk --field body < "$SCRATCH/in.jsonl" || true
    expect_status 3
    unmark_out --cut vs-chunk
    [[ "$err" == *"<stdin>:1:"*"field 'body'"* ]]
}

@test "vs-chunk: a directory of every format matches the golden output; a binary file read is skipped with exit 3" {
    cd "$FIXTURES"
    # sub/blob.bin is no document format: a directory walk leaves it out quietly
    run_split vs-chunk docs
    expect_status 0
    unmark_out vs-chunk
    [ -z "$err" ]
    printf '%s\n' "$out" | same_as_golden chunk/docs-recursive.jsonl
    expect_ndjson
    # asked for by --include, it is read, found binary, skipped with exit 3
    run_split vs-chunk --include '*' docs || true
    expect_status 3
    unmark_out --cut vs-chunk
    [[ "$err" == *"warning: docs/sub/blob.bin: binary file"* ]]
    printf '%s\n' "$out" | same_as_golden chunk/docs-recursive.jsonl
    run_split vs-chunk --keep-going --include '*' docs || true
    expect_status 0
    unmark_out vs-chunk
    printf '%s\n' "$out" | same_as_golden chunk/docs-recursive.jsonl
}

@test "vs-chunk: markdown splitter carries the heading path; code-block '#' is no heading" {
    cd "$FIXTURES"
    run_split vs-chunk --splitter markdown --size 60 --overlap 20 docs/guide.md docs/page.html || true
    expect_status 0
    unmark_out vs-chunk
    printf '%s\n' "$out" | same_as_golden chunk/docs-markdown-60.jsonl
    [[ "$out" != *'"headings":["Guide","Install","this is a comment'* ]]
}

@test "vs-chunk: HTML drops scripts and styles and keeps the title; PDF text has pages" {
    run_split vs-chunk "$FIXTURES/docs/page.html" || true
    expect_status 0
    unmark_out vs-chunk
    [[ "$out" != *hidden* && "$out" != *color* ]]
    [[ "$out" == *'"title":"Sample Page"'* ]]
    run_split vs-chunk --splitter recursive --size 40 "$FIXTURES/docs/sample.pdf" || true
    expect_status 0
    unmark_out vs-chunk
    [[ "$out" == *'"text":"Page two talks about chunking."'*'"page":2'* ]]
    [[ "$out" == *'"title":"Sample PDF"'* ]]
}

@test "vs-chunk: offsets point back into the file and sizes are never exceeded" {
    f="$FIXTURES/docs/notes.txt"
    for args in "--splitter fixed --size 17 --overlap 5" "--splitter recursive --size 25 --overlap 8" \
                "--splitter sentence --size 30" "--splitter fixed --unit words --size 4 --overlap 1" \
                "--splitter recursive --unit words --size 6 --overlap 2"; do
        run_split vs-chunk $args "$f" || true
        expect_status 0
        unmark_out vs-chunk
        unit=chars
        if [[ "$args" == *words* ]]; then unit=words; fi
        size=$(echo "$args" | sed -E 's/.*--size ([0-9]+).*/\1/')
        printf '%s\n' "$out" | $PY -c '
import json, sys
src = open(sys.argv[1], "rb").read()
unit, size = sys.argv[2], int(sys.argv[3])
n = 0
for l in sys.stdin:
    o = json.loads(l)
    b = src[o["start"]:o["end"]]
    assert b.decode("utf-8") == o["text"], (o, b)
    m = len(o["text"]) if unit == "chars" else len(o["text"].split())
    assert m <= size, (m, size, o["text"])
    assert o["id"] == "%s#%d" % (o["doc_id"], o["chunk"])
    n += 1
assert n > 1
' "$f" "$unit" "$size"
    done
}

@test "vs-chunk: fixed windows in characters count code points, not bytes" {
    printf '{"id":"u","text":"ééééé東京"}\n' > "$SCRATCH/u.jsonl"
    run_split vs-chunk --splitter fixed --size 3 --overlap 1 "$SCRATCH/u.jsonl" || true
    expect_status 0
    unmark_out vs-chunk
    got=$(printf '%s\n' "$out" | $PY -c 'import json,sys; print("|".join(json.loads(l)["text"] for l in sys.stdin))')
    [ "$got" = "ééé|ééé|é東京" ]
}

@test "vs-chunk: --include and --exclude select files; output order is sorted" {
    cd "$FIXTURES"
    run_split vs-chunk --include '*.md' --include '*.txt' docs || true
    expect_status 0
    unmark_out vs-chunk
    ids=$(printf '%s\n' "$out" | $PY -c 'import json,sys; print(" ".join(sorted(set(json.loads(l)["doc_id"] for l in sys.stdin))))')
    [ "$ids" = "guide.md notes.txt" ]
    run_split vs-chunk --exclude sub --exclude '*.pdf' docs || true
    expect_status 0
    unmark_out vs-chunk
    order=$(printf '%s\n' "$out" | $PY -c '
import json, sys
seen = []
for l in sys.stdin:
    d = json.loads(l)["doc_id"]
    if d not in seen: seen.append(d)
print(" ".join(seen))')
    [ "$order" = "guide.md notes.txt page.html" ]
}

@test "vs-chunk: records pass their other fields through" {
    run_split vs-chunk "$FIXTURES/docs/sub/records.jsonl" || true
    expect_status 0
    unmark_out vs-chunk
    first=$(printf '%s\n' "$out" | head -1)
    # the title goes before the text (offsets are into "TITLE\n\nTEXT")
    [[ "$first" == '{"id":"d1#0","doc_id":"d1","chunk":0,"text":"First\n\nThe first record. It has two sentences.","start":0,"end":46,"source":'*'"metadata":{"title":"First","lang":"en"},"extra":7}' ]]
}

@test "vs-chunk: a missing path is a warning and exit 3" {
    run_split vs-chunk "$SCRATCH/nope" "$FIXTURES/docs/notes.txt" || true
    expect_status 3
    unmark_out --cut vs-chunk
    [[ "$err" == *nope* ]]
    [ -n "$out" ]
}

@test "vs-chunk: writing to /dev/full is exit 5" {
    run_split sh -c 'vs-chunk "$1" > /dev/full' sh "$FIXTURES/docs/notes.txt" || true
    expect_status 5
    [[ "$err" == *error* ]]
}

@test "vs-chunk: a BEIR corpus.jsonl works as is" {
    need_data
    corpus="$VS_DATA/datasets/scifact/corpus.jsonl"
    run_split sh -c 'head -200 "$1" | vs-chunk --size 500 --overlap 100' sh "$corpus" || true
    expect_status 0
    unmark_out vs-chunk
    printf '%s\n' "$out" | $PY -c '
import json, sys
docs = {}
for l in open(sys.argv[1], encoding="utf-8"):
    o = json.loads(l)
    docs[o["_id"]] = o
    if len(docs) == 200: break
seen = set()
for l in sys.stdin:
    c = json.loads(l)
    d = docs[c["doc_id"]]
    full = d["title"] + "\n\n" + d["text"] if d["title"] else d["text"]
    assert full.encode()[c["start"]:c["end"]].decode() == c["text"]
    # a short title line merges into the next piece: size + min-size - 1
    assert len(c["text"]) <= 500 + 50 - 1, (c["id"], len(c["text"]))
    if d["title"]: assert c["metadata"]["title"] == d["title"]
    seen.add(c["doc_id"])
assert len(seen) == sum(1 for d in docs.values() if d["text"].strip()), len(seen)
' "$corpus"
}

@test "vs-chunk: settings come from the environment; a flag wins" {
    printf '{"id":"s","text":"one two three four five six seven"}\n' > "$SCRATCH/s.jsonl"
    VS_CHUNK_SPLITTER=fixed VS_CHUNK_UNIT=words VS_CHUNK_SIZE=3 run_split vs-chunk "$SCRATCH/s.jsonl" || true
    expect_status 0
    unmark_out vs-chunk
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 3 ]
    VS_CHUNK_SPLITTER=fixed VS_CHUNK_UNIT=words VS_CHUNK_SIZE=3 run_split vs-chunk --size 4 "$SCRATCH/s.jsonl" || true
    expect_status 0
    unmark_out vs-chunk
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 2 ]
    VS_CHUNK_SPLITTER=nope run_split vs-chunk "$SCRATCH/s.jsonl" || true
    expect_status 2
}

@test "vs-chunk: a damaged PDF is a warning and exit 3, never a crash" {
    printf '%%PDF-1.4\ngarbage\n' > "$SCRATCH/bad.pdf"
    head -c 600 "$FIXTURES/docs/sample.pdf" > "$SCRATCH/trunc.pdf"
    run_split vs-chunk "$SCRATCH" || true
    expect_status 3
    unmark_out --cut vs-chunk
    [ -z "$out" ]
    [[ "$err" == *"bad.pdf: cannot read the PDF"*"trunc.pdf: cannot read the PDF"* ]]
    run_split vs-chunk --keep-going "$SCRATCH" || true
    expect_status 0
    unmark_out vs-chunk
}

@test "vs-chunk: poppler-glib is loaded on the first PDF: not linked, and its absence is exit 5 naming the package" {
    # no PDF stack at start-up (bench/startup.sh measures the cost)
    run_split ldd "$(command -v vs-chunk)" || true
    expect_status 0
    [[ "$out" != *poppler* && "$out" != *glib* && "$out" != *cairo* ]] || false
    lib=$(ldconfig -p | sed -n 's/^[[:space:]]*libpoppler-glib\.so\.8 .* => //p' | head -n 1)
    [ -n "$lib" ] || skip "libpoppler-glib.so.8 is not installed"
    # hide it: an empty file over it, in a mount namespace of our own
    unshare -r -m true 2>/dev/null || skip "unshare -r -m is not permitted here"
    lib=$(readlink -f "$lib")
    cp "$FIXTURES/docs/notes.txt" "$FIXTURES/docs/sample.pdf" "$SCRATCH/"
    run_split unshare -r -m sh -c 'mount --bind /dev/null "$1" && shift && exec "$@"' sh "$lib" \
        vs-chunk "$SCRATCH/notes.txt" "$SCRATCH/sample.pdf" || true
    expect_status 5
    # (dlerror names the file by the path it tried: /lib or /usr/lib)
    [[ "$err" == "vs-chunk: error: $SCRATCH/sample.pdf: reading a PDF needs libpoppler-glib.so.8 (Debian package libpoppler-glib8): "*"libpoppler-glib.so.8: file too short" ]] || false
    [ "$(printf '%s\n' "$err" | wc -l)" = 1 ]
    unmark_out --cut vs-chunk
    # --keep-going does not hide it either: every PDF would fail the same way
    run_split unshare -r -m sh -c 'mount --bind /dev/null "$1" && shift && exec "$@"' sh "$lib" \
        vs-chunk --keep-going "$SCRATCH/notes.txt" "$SCRATCH/sample.pdf" || true
    expect_status 5
    # text files alone need no PDF library
    run_split unshare -r -m sh -c 'mount --bind /dev/null "$1" && shift && exec "$@"' sh "$lib" \
        vs-chunk "$SCRATCH/notes.txt" || true
    expect_status 0
    [ -z "$err" ]
}

@test "vs-chunk: a directory walk reads documents only, honours ignore files, --include and --no-ignore" {
    cd "$SCRATCH"
    mkdir -p site/css site/build site/sub
    printf 'Real text.\n' > site/a.txt
    printf '# Title\n\nMarkdown body.\n' > site/b.md
    printf 'body { color: red }\n' > site/css/style.css
    printf '\211PNG\r\n' > site/logo.png
    printf 'console.log(1)\n' > site/app.js
    printf 'User-agent: *\n' > site/robots.txt
    printf 'built\n' > site/build/out.txt
    printf 'draft\n' > site/sub/draft.txt
    printf 'kept\n' > site/sub/keep.txt
    printf 'build/\nrobots.txt\n' > site/.gitignore
    printf 'draft*\n' > site/.vecstoreignore
    run_split vs-chunk -vv --stats site
    expect_status 0
    unmark_out vs-chunk
    [ "$(printf '%s\n' "$out" | jq -r .doc_id | tr '\n' ' ')" = "a.txt b.md sub/keep.txt " ]
    [[ "$err" == *"site/logo.png: left out: not a document format (--include reads it)"* ]]
    [[ "$err" == *"site/build: left out: ignored by site/.gitignore"* ]]
    [[ "$err" == *"site/sub/draft.txt: left out: ignored by site/.vecstoreignore"* ]]
    [[ "$err" != *warning* ]]
    [ "$(printf '%s\n' "$err" | tail -1 | jq -r .files_left_out)" = 6 ]
    run_split vs-chunk --no-ignore site
    expect_status 0
    unmark_out vs-chunk
    [ "$(printf '%s\n' "$out" | jq -r .doc_id | tr '\n' ' ')" = "a.txt b.md build/out.txt robots.txt sub/draft.txt sub/keep.txt " ]
    run_split vs-chunk --include '*.css' --include '*.js' site
    expect_status 0
    unmark_out vs-chunk
    [ "$(printf '%s\n' "$out" | jq -r .doc_id | tr '\n' ' ')" = "app.js css/style.css " ]
    [ -z "$err" ]
    # a file named on the command line is read whatever its name
    run_split vs-chunk site/app.js
    expect_status 0
    unmark_out vs-chunk
    [ "$(printf '%s\n' "$out" | jq -r .text)" = "console.log(1)" ]
}

@test "vs-chunk: HTML pages give their main content; --html-all keeps the furniture" {
    cd "$SCRATCH"
    cat > page.html <<'EOF'
<html><head><title>Partial indexes</title></head><body>
<div class="nosearch"><div class="tagline">Small. Fast. Reliable.</div>
<div class="menu mainmenu"><ul><li><a href="/">Home</a><li><a href="/about">About</a><li><a href="/dl">Download</a></ul></div></div>
<h1>Partial Indexes</h1>
<p>A partial index is an index over a subset of the rows of a table, chosen by a WHERE clause.</p>
<footer>This page last modified on 2024-01-01</footer>
</body></html>
EOF
    run_split vs-chunk page.html
    expect_status 0
    unmark_out vs-chunk
    [ "$(printf '%s\n' "$out" | jq -r .text)" = "Partial Indexes

A partial index is an index over a subset of the rows of a table, chosen by a WHERE clause." ]
    [ "$(printf '%s\n' "$out" | jq -r .metadata.title)" = "Partial indexes" ]
    run_split vs-chunk --html-all page.html
    expect_status 0
    unmark_out vs-chunk
    [[ "$(printf '%s\n' "$out" | jq -r .text)" == "Small. Fast. Reliable."*"Home"*"Partial Indexes"*"last modified"* ]]
    # the setting does the same
    printf '[chunk]\nhtml_all = true\n' > cfg.toml
    run_split vs-chunk --config cfg.toml page.html
    expect_status 0
    unmark_out vs-chunk
    [[ "$(printf '%s\n' "$out" | jq -r .text)" == "Small. Fast. Reliable."* ]]
    printf '[chunk]\nhtml_all = "maybe"\n' > cfg.toml
    run_split vs-chunk --config cfg.toml page.html
    expect_status 2
    [ -z "$out" ]
    [[ "$err" == *"setting 'chunk.html_all' needs true or false, not 'maybe'"* ]]
}

@test "vs-chunk: tiny pieces merge into a neighbour (--min-size, default a tenth of --size)" {
    cd "$SCRATCH"
    printf 'Bug Fixes:\n\n%s\n\n%s\n\nEnd.\n' \
        "Fixed a crash when the disk fills during a commit of many rows, and another one when it fills during the checkpoint." \
        "Another long paragraph about the write-ahead log and its checkpoints, and about what a reader sees in the meantime." > notes.txt
    run_split vs-chunk --size 120 --min-size 0 notes.txt
    expect_status 0
    unmark_out vs-chunk
    [ "$(printf '%s\n' "$out" | jq -r '.text | length' | tr '\n' ' ')" = "10 116 115 4 " ]
    run_split vs-chunk --size 120 notes.txt
    expect_status 0
    unmark_out vs-chunk
    [ "$(printf '%s\n' "$out" | jq -r '.text | length' | tr '\n' ' ')" = "128 121 " ]
    [[ "$(printf '%s\n' "$out" | head -1 | jq -r .text)" == "Bug Fixes:"* ]]
    # offsets still point into the file
    [ "$(printf '%s\n' "$out" | head -1 | jq -r '"\(.start) \(.end)"')" = "0 128" ]
    run_split vs-chunk --size 120 --min-size 120 notes.txt
    expect_status 2
    [[ "$err" == *"minimum size 120 must be smaller than the size 120"* ]]
}
