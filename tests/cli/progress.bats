#!/usr/bin/env bats
# Progress lines (issue 17): count and rate always; where the total is
# known (the files of a walk, the size of input files) how far the run is
# and an ETA. Off a terminal they come with -v, every VS_PROGRESS_SECONDS
# (0 here: at every step).
load helpers

setup() {
    cd "$BATS_TEST_TMPDIR"
    export VS_PROGRESS_SECONDS=0
}

@test "progress: a directory walk counts files against the total, with an ETA" {
    mkdir d
    for i in 1 2 3 4 5; do printf 'first part %d\n\nsecond part\n' "$i" > "d/f$i.txt"; done
    printf 'not a document\n' > d/image.png
    run_split vs-chunk -v --size 12 --min-size 0 d
    expect_status 0
    unmark_out vs-chunk
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 10 ]
    # every line: count, rate, time, then files done of the 5 documents
    bad=$(printf '%s\n' "$err" | grep -vE '^vs-chunk: [0-9]+ chunks, [0-9]+/s, [0-9]+ s, [0-4] of 5 files done(, ETA [0-9]+ s)?$' || true)
    [ -z "$bad" ]
    [ "$(printf '%s\n' "$err" | wc -l)" -eq 10 ]
    printf '%s\n' "$err" | grep -qE ', [1-4] of 5 files done, ETA [0-9]+ s$'
    [ "$(printf '%s\n' "$err" | head -1)" = "$(printf '%s\n' "$err" | head -1 | sed 's/, ETA.*//')" ]   # none done: no ETA yet
    # -q: none; without -v off a terminal: none
    run_split vs-chunk -v -q d
    expect_status 0
    [ -z "$err" ]
    run_split vs-chunk d
    [ -z "$err" ]
}

@test "progress: an input file's size gives the share read and an ETA; a pipe only the count" {
    $PY -c '
for i in range(3000):
    print("{\"id\":\"r%d\",\"text\":\"record %d with a few more words to make it longer\"}" % (i, i))' > in.jsonl
    run_split vs-embed -v --model hash in.jsonl
    expect_status 0
    [ "$(printf '%s\n' "$out" | grep -c '"vector"')" -eq 3000 ]
    lines=$(printf '%s\n' "$err" | grep -E '^vs-embed: [0-9]+ records, [0-9]+/s, [0-9]+ s, [0-9]+% of the input' || true)
    [ -n "$lines" ]
    printf '%s\n' "$lines" | grep -qE ', [0-9]{1,2}% of the input, ETA [0-9]+ s$'
    run_split vs-embed -v --model hash < in.jsonl      # standard input that is a file
    expect_status 0
    printf '%s\n' "$err" | grep -qE '% of the input, ETA [0-9]+ s$'
    run_split sh -c 'cat in.jsonl | vs-embed -v --model hash'
    expect_status 0
    printf '%s\n' "$err" | grep -qE '^vs-embed: [0-9]+ records, [0-9]+/s, [0-9]+ s$'
    [[ "$err" != *"of the input"* ]]
}
