#!/usr/bin/env bats
# vs-chunk --since STORE: files whose stamp the store already holds are not
# read; keep markers stand for them, and vs-ingest --sync keeps them.
load helpers

setup() {
    T=$(mktemp -d)
    cd "$T"
    mkdir docs
    printf 'Alpha one.\n\nAlpha two.\n' > docs/a.md
    printf 'Bravo text.\n' > docs/b.md
    printf 'Charlie text, long enough to stay.\n' > docs/c.md
    printf 'Delta text.\n' > docs/d.md
}

teardown() {
    cd /
    rm -rf "$T"
}

# chunk -> embed -> ingest --sync, with extra vs-chunk options ($@)
pipeline() {
    local store=$1
    shift
    vs-chunk --size 12 "$@" docs > chunks.jsonl
    vs-embed --model hash-v1:64 chunks.jsonl > vecs.jsonl
    vs-ingest -q --sync --sync-scope docs/ --skip-unchanged --stats "$store" vecs.jsonl 2> ingest.err
}

gen() { vs-index info "$1" | jq -r .generation; }
ids() { vs-index list-ids "$1" | jq -r .id | sort | tr '\n' ' '; }

@test "vs-chunk-since: an unchanged tree opens no file and the sync deletes nothing" {
    pipeline kb.vs
    [ "$(gen kb.vs)" = 1 ]
    digest=$(vs-index info --digest kb.vs | jq -r .digest)
    # every chunk of a file carries its stamp
    jq -e '.metadata.file_stamp | test("^v2 [0-9]+\\.[0-9]{9} [0-9]+\\.[0-9]{9} [0-9]+ [0-9]+ recursive/chars/12/0/1/0$")' chunks.jsonl
    # strace proves that no document is opened (only the store's files are)
    # (LeakSanitizer cannot run under ptrace: leaks are checked by the other
    # tests; a failing vs-chunk fails this test, only a missing or blocked
    # strace skips it)
    command -v strace >/dev/null && strace -o /dev/null true ||
        skip "strace is missing or cannot trace here (scripts/deps.sh installs it)"
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
        strace -f -e trace=open,openat -o trace.txt vs-chunk --size 12 --since kb.vs --stats docs > chunks2.jsonl 2> stats.json
    [ "$(grep -c 'docs/[a-d]\.md' trace.txt)" = 0 ]
    grep -q 'kb.vs/' trace.txt # the trace did see the opens of the store
    run_split cat chunks2.jsonl
    expect_ndjson
    [ "$out" = '{"op":"keep","doc_id":"a.md","source":"docs/a.md"}
{"op":"keep","doc_id":"b.md","source":"docs/b.md"}
{"op":"keep","doc_id":"c.md","source":"docs/c.md"}
{"op":"keep","doc_id":"d.md","source":"docs/d.md"}' ]
    jq -e '.docs == 0 and .bytes == 0 and .chunks == 0 and .files_unchanged == 4' stats.json
    # keep markers pass vs-embed; the sync keeps everything, no new generation
    vs-embed --model hash-v1:64 chunks2.jsonl > vecs2.jsonl
    cmp chunks2.jsonl vecs2.jsonl
    vs-ingest --sync --sync-scope docs/ --stats kb.vs vecs2.jsonl 2> ingest.err
    jq -e '.kept == 4 and .deletes == 0 and .upserts == 0 and .commits == 0' <(tail -1 ingest.err)
    [ "$(gen kb.vs)" = 1 ]
    [ "$(vs-index info --digest kb.vs | jq -r .digest)" = "$digest" ]
    # and so does --by-doc, and a plain ingest
    vs-ingest -q --by-doc kb.vs vecs2.jsonl
    vs-ingest -q kb.vs vecs2.jsonl
    [ "$(gen kb.vs)" = 1 ]
}

@test "vs-chunk-since: edited, shortened, added, renamed and deleted files end as without --since" {
    pipeline kb.vs
    pipeline ref.vs
    printf 'Alpha one, edited.\n\nAlpha two.\n' > docs/a.md   # edited
    printf 'Charlie.\n' > docs/c.md                            # shortened
    rm docs/b.md                                               # deleted
    mv docs/d.md docs/e.md                                     # renamed
    printf 'Foxtrot new.\n' > docs/f.md                        # added
    pipeline kb.vs --since kb.vs
    [ "$(jq -c 'select(.op == "keep")' chunks.jsonl)" = "" ]
    # reference: a full run without --since over a copy of the old store
    pipeline ref.vs
    [ "$(ids kb.vs)" = "a.md#0 a.md#1 a.md#2 c.md#0 e.md#0 f.md#0 " ]
    [ "$(vs-index info --digest kb.vs | jq -r .digest)" = "$(vs-index info --digest ref.vs | jq -r .digest)" ]
    # one file unchanged among changed ones: read only the changed ones
    printf 'Foxtrot newer.\n' > docs/f.md
    vs-chunk --size 12 --since kb.vs --stats docs > chunks.jsonl 2> stats.json
    jq -e '.docs == 1 and .files_unchanged == 3' stats.json
    [ "$(jq -r 'select(.op == "keep") | .doc_id' chunks.jsonl | tr '\n' ' ')" = "a.md c.md e.md " ]
    vs-embed --model hash-v1:64 chunks.jsonl | vs-ingest -q --sync --sync-scope docs/ kb.vs
    pipeline ref.vs
    [ "$(vs-index info --digest kb.vs | jq -r .digest)" = "$(vs-index info --digest ref.vs | jq -r .digest)" ]
}

@test "vs-chunk-since: an edit that keeps the size, a touch, new chunking options are read again" {
    pipeline kb.vs
    # same size, same inode: only the times differ
    printf 'Bravo TEXT.\n' > docs/b.md
    touch -d '2020-01-01 00:00:00' docs/b.md
    vs-chunk --size 12 --since kb.vs --stats docs > chunks.jsonl 2> stats.json
    jq -e '.docs == 1 and .files_unchanged == 3' stats.json
    [ "$(jq -r 'select(.op != "keep") | .text' chunks.jsonl)" = "Bravo TEXT." ]
    # a touch: read again, and with --skip-unchanged rewritten once (its new
    # stamp is stored), then left alone
    pipeline kb.vs --since kb.vs
    g=$(gen kb.vs)
    touch docs/c.md
    pipeline kb.vs --since kb.vs
    [ "$(jq -r 'select(.op != "keep") | .doc_id' chunks.jsonl | sort -u)" = "c.md" ]
    [ "$(gen kb.vs)" = $((g + 1)) ]
    pipeline kb.vs --since kb.vs
    [ "$(jq -r 'select(.op != "keep") | .doc_id' chunks.jsonl)" = "" ]
    [ "$(gen kb.vs)" = $((g + 1)) ]
    # other chunking options: every file is read again
    vs-chunk --size 40 --since kb.vs --stats docs > chunks.jsonl 2> stats.json
    jq -e '.docs == 4 and .files_unchanged == 0' stats.json
}

@test "vs-chunk-since: --dry-run lists no kept document; keep markers need the document stored" {
    pipeline kb.vs
    rm docs/d.md
    vs-chunk --size 12 --since kb.vs docs | vs-embed --model hash-v1:64 > vecs.jsonl
    run_split vs-ingest --sync --dry-run kb.vs vecs.jsonl
    expect_status 0
    [ "$out" = '{"action":"delete","id":"d.md#0","doc_id":"d.md"}' ]
    [ "$(gen kb.vs)" = 1 ]
    # the real run then does exactly that
    cp -a kb.vs real.vs
    vs-ingest -q --sync real.vs vecs.jsonl
    [ "$(ids real.vs)" = "$(ids kb.vs | sed 's/d\.md#0 //')" ]
    [ "$(gen real.vs)" = 2 ]
    # a keep marker for a document the store does not hold: exit 3, FILE:LINE
    printf '{"op":"keep","doc_id":"zz.md","source":"docs/zz.md"}\n' >> vecs.jsonl
    run_split vs-ingest --sync kb.vs vecs.jsonl
    expect_status 3
    [[ "$err" == *"vecs.jsonl:4:"*"zz.md"*"does not hold"* ]]
    [ "$(gen kb.vs)" = 1 ]
    printf '{"op":"keep"}\n' > bad.jsonl
    run_split vs-ingest --by-doc kb.vs bad.jsonl
    expect_status 3
    [[ "$err" == *"bad.jsonl:1:"*"doc_id"* ]]
}

@test "vs-chunk-since: a missing store reads every file; a damaged one is exit 4" {
    run_split vs-chunk --size 12 --since none.vs --stats docs
    expect_status 0
    expect_ndjson
    [ "$(printf '%s\n' "$out" | jq -r .doc_id | sort -u | tr '\n' ' ')" = "a.md b.md c.md d.md " ]
    [[ "$err" == *'"files_unchanged":0'* ]]
    mkdir bad.vs
    echo garbage > bad.vs/MANIFEST
    run_split vs-chunk --since bad.vs docs
    expect_status 4
    [ -z "$out" ]
    [[ "$err" == vs-chunk:\ error:* ]]
}

@test "vs-chunk-since: keep markers go to /dev/full -> 5" {
    pipeline kb.vs
    run_split sh -c 'vs-chunk --size 12 --since kb.vs docs > /dev/full'
    expect_status 5
}

@test "vs-chunk-since: SIGKILL in the middle of a --since sync leaves the previous state; a rerun completes it" {
    pipeline kb.vs
    g=$(gen kb.vs); dg=$(vs-index info --digest kb.vs | jq -r .digest)
    printf 'Bravo, edited.\n' > docs/b.md
    rm docs/d.md
    vs-chunk --size 12 --since kb.vs docs | vs-embed --model hash-v1:64 > vecs.jsonl
    [ "$(jq -r 'select(.op == "keep") | .doc_id' vecs.jsonl | tr '\n' ' ')" = "a.md c.md " ]
    # the ingest dies after the first records, before its commit
    mkfifo fifo
    vs-ingest -q --sync --sync-scope docs/ kb.vs < fifo &
    pid=$!
    exec 5> fifo
    head -n 1 vecs.jsonl >&5
    # the kill lands mid-write: the writer holds the store's lock and has
    # read the first record (no sleep: both are waited for)
    wait_until 60 lock_held kb.vs "$pid"
    wait_until 60 pipe_drained 5
    kill -KILL "$pid"
    wait "$pid" && st=0 || st=$?
    exec 5>&-
    [ "$st" -eq 137 ]   # it died by the kill, not by itself ...
    [ "$(cat kb.vs/LOCK)" = "$pid" ]   # ... holding the lock (a writer empties LOCK when it lets go)
    [ "$(gen kb.vs)" = "$g" ]
    [ "$(vs-index info --digest kb.vs | jq -r .digest)" = "$dg" ]
    # the rerun (--since again: the stamps are still the old ones) completes it
    pipeline kb.vs --since kb.vs
    [ "$(gen kb.vs)" = $((g + 1)) ]
    [ "$(ids kb.vs | tr ' ' '\n' | grep -c '^d\.md')" = 0 ]
    [ "$(vs-index get kb.vs 'b.md#0' | jq -r .text)" = "Bravo," ]
    pipeline ref.vs
    [ "$(vs-index info --digest kb.vs | jq -r .digest)" = "$(vs-index info --digest ref.vs | jq -r .digest)" ]
}
