#!/usr/bin/env bats
# examples/make (chunk -> embed -> ingest -> eval with dependencies on the
# manifest) and examples/cron/reindex.sh (nightly sync with flock and logs).

load helpers

setup() {
    T=$(mktemp -d)
    EX=$BATS_TEST_DIRNAME/../../examples
}

teardown() {
    rm -rf "$T"
}

mtime() { stat -c %y "$1"; }

@test "examples/make: builds, rebuilds only what changed, follows the manifest" {
    cp -r "$EX/make" "$T/m"
    cd "$T/m"
    run_split make
    expect_status 0
    [ "$(jq -r .num_q eval.json)" = 2 ]
    jq -e '.measures.recall_5 == 1' eval.json
    m=$(mtime kb.vs/MANIFEST); e=$(mtime eval.json)
    run_split make
    expect_status 0
    [[ "$out" == *"Nothing to be done"* ]]
    # new vectors with the same contents: ingest runs, the manifest and the
    # evaluation stay
    sleep 0.05
    touch vectors.jsonl
    run_split make
    expect_status 0
    [[ "$out" == *"vs-ingest"* ]]
    [[ "$out" != *"vs-eval"* ]]
    [ "$(mtime kb.vs/MANIFEST)" = "$m" ] && [ "$(mtime eval.json)" = "$e" ]
    # a file removed: the store loses it, the evaluation reruns
    rm docs/search.md
    run_split make
    expect_status 0
    [[ "$out" == *"vs-eval"* ]]
    [ "$(vs-index list-ids kb.vs | jq -r .id | sort | tr '\n' ' ')" = "backup.md#0 install.md#0 " ]
}

@test "examples/cron/reindex.sh: logs, --stats, no new generation when nothing changed, flock" {
    mkdir -p "$T/docs"
    echo "Alpha text." > "$T/docs/a.md"
    echo "Bravo text." > "$T/docs/b.md"
    cd "$T"
    "$EX/cron/reindex.sh" docs kb.vs run.log
    [ "$(vs-index list-ids kb.vs | jq -r .id | sort | tr '\n' ' ')" = "a.md#0 b.md#0 " ]
    grep -q 'start: docs -> kb.vs' run.log
    grep -q '"upserts":2' run.log
    grep -q 'done: {"generation":1,' run.log
    # unchanged tree: no new generation
    "$EX/cron/reindex.sh" docs kb.vs run.log
    [ "$(vs-index info kb.vs | jq -r .generation)" = 1 ]
    grep -q '"unchanged":2' run.log
    # a vanished file is deleted
    rm docs/b.md
    "$EX/cron/reindex.sh" docs kb.vs run.log
    [ "$(vs-index list-ids kb.vs | jq -r .id)" = "a.md#0" ]
    # another run holds the lock: exit 0 at once, logged
    flock kb.vs.lock -c "'$EX/cron/reindex.sh' docs kb.vs run.log"
    run_split flock -n kb.vs.lock true
    expect_status 0
    ( exec 9> kb.vs.lock; flock 9; "$EX/cron/reindex.sh" docs kb.vs run.log )
    grep -q 'another reindex holds kb.vs.lock' run.log
    run_split "$EX/cron/reindex.sh" docs
    expect_status 2
}
