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
    [ "$(mtime kb.vs/MANIFEST)" = "$m" ]
    [ "$(mtime eval.json)" = "$e" ]
    # a file removed: the store loses it, the evaluation reruns
    rm docs/search.md
    run_split make
    expect_status 0
    [[ "$out" == *"vs-eval"* ]]
    [ "$(vs-index list-ids kb.vs | jq -r .id | sort | tr '\n' ' ')" = "backup.md#0 install.md#0 " ]
}

@test "examples/cron/reindex.sh: --since reads nothing and writes no generation on an unchanged tree; metrics file" {
    mkdir -p "$T/docs" "$T/textfile"
    echo "Alpha text." > "$T/docs/a.md"
    echo "Bravo text." > "$T/docs/b.md"
    echo "Charlie text." > "$T/docs/c.md"
    cd "$T"
    export REINDEX_METRICS=$T/textfile/reindex.prom
    "$EX/cron/reindex.sh" docs kb.vs run.log
    grep -q '"docs":3,' run.log
    grep -qx 'vecstore_ingest_last_run_records{store="kb.vs",action="added"} 3' "$REINDEX_METRICS"
    grep -qx 'vecstore_ingest_last_run_exit_status{store="kb.vs"} 0' "$REINDEX_METRICS"
    ok1=$(sed -n 's/^vecstore_ingest_last_success_timestamp_seconds{store="kb.vs"} //p' "$REINDEX_METRICS")
    [ -n "$ok1" ]
    m=$(mtime kb.vs/MANIFEST)
    # second run over the unchanged tree: vs-chunk opens no document (its
    # stats: docs 0, files_unchanged 3), the ingest keeps 3 documents and
    # commits nothing
    : > run.log
    sleep 0.05
    "$EX/cron/reindex.sh" docs kb.vs run.log
    grep -q '"docs":0,"chunks":0,"bytes":0,.*"files_unchanged":3' run.log
    grep -q '"kept":3' run.log
    grep -q '"commits":0' run.log
    [ "$(vs-index info kb.vs | jq -r .generation)" = 1 ]
    [ "$(mtime kb.vs/MANIFEST)" = "$m" ]
    grep -qx 'vecstore_ingest_last_run_commits{store="kb.vs"} 0' "$REINDEX_METRICS"
    grep -qx 'vecstore_ingest_last_run_documents_kept{store="kb.vs"} 3' "$REINDEX_METRICS"
    grep -qx 'vecstore_store_generation{store="kb.vs"} 1' "$REINDEX_METRICS"
    # one file edited, one removed: only the edited one is read
    echo "Bravo text, edited." > docs/b.md
    rm docs/c.md
    : > run.log
    "$EX/cron/reindex.sh" docs kb.vs run.log
    grep -q '"docs":1,.*"files_unchanged":1' run.log
    [ "$(vs-index list-ids kb.vs | jq -r .id | sort | tr '\n' ' ')" = "a.md#0 b.md#0 " ]
    grep -qx 'vecstore_ingest_last_run_records{store="kb.vs",action="replaced"} 1' "$REINDEX_METRICS"
    grep -qx 'vecstore_ingest_last_run_records{store="kb.vs",action="deleted"} 1' "$REINDEX_METRICS"
    ok2=$(sed -n 's/^vecstore_ingest_last_success_timestamp_seconds{store="kb.vs"} //p' "$REINDEX_METRICS")
    # embedding fails: the status is recorded, the last success stays
    VS_EMBED_OPTS="--model no-such-model" run_split "$EX/cron/reindex.sh" docs kb.vs run.log
    expect_status 2
    grep -q 'chunk/embed failed with status 2' run.log
    grep -qx 'vecstore_ingest_last_run_exit_status{store="kb.vs"} 2' "$REINDEX_METRICS"
    grep -qx "vecstore_ingest_last_success_timestamp_seconds{store=\"kb.vs\"} $ok2" "$REINDEX_METRICS"
    [ "$(ls textfile)" = reindex.prom ]
    # a failure on a first run writes a small file of its own
    REINDEX_METRICS=$T/textfile/new.prom VS_EMBED_OPTS="--model no-such-model" \
        run_split "$EX/cron/reindex.sh" docs new.vs run.log
    expect_status 2
    [ "$(grep -v '^#' textfile/new.prom | sed 's/ [0-9]*$//')" = 'vecstore_ingest_last_run_exit_status{store="new.vs"}
vecstore_ingest_last_run_timestamp_seconds{store="new.vs"}' ]
    grep -qx 'vecstore_ingest_last_run_exit_status{store="new.vs"} 2' textfile/new.prom
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
    grep -q '"kept":2' run.log # vs-chunk --since: nothing read, both kept
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
