#!/usr/bin/env bash
# reindex.sh DOCS STORE [LOG]: nightly reindex of a document tree into a
# vecstore store. Only what changed is read and written: files whose stamp
# (times, size, inode) the store already holds are not even opened
# (vs-chunk --since; a keep marker stands for each), documents whose text is
# unchanged are skipped (--skip-unchanged), vanished files are deleted
# (--sync, limited to DOCS/ by --sync-scope), and a run that changes nothing
# makes no new generation. Safe to run twice at once (flock: the second run
# exits 0 at once) and safe to kill: the store keeps its previous generation
# and the next run completes the sync.
#
# A failed or killed stage never empties the index: vs-chunk and vs-embed
# end a complete stream with an end marker (docs/streams.md), this script
# checks that the embedded stream has it, and vs-ingest --sync refuses a
# stream without it and a run that would delete more than --max-delete of
# the store (default 50%), committing nothing. set -o pipefail alone would
# miss a stage that dies after its last write or a truncated file: the
# marker is the guarantee. Every refusal is logged with its reason.
#
# crontab:  17 3 * * *  /path/to/reindex.sh /srv/docs /srv/kb.vs /var/log/reindex.log
# Environment: REINDEX_LOCK (default STORE.lock), VS_EMBED_OPTS (e.g.
# "--model hash-v1:256"), REINDEX_METRICS (a *.prom file in node_exporter's
# textfile directory, e.g. /var/lib/node_exporter/textfile/reindex.prom:
# vs-ingest --metrics-file writes the run's counters, duration, exit status
# and last success time there; when chunking or embedding fails, this script
# sets the exit status and run time in it and leaves the rest),
# REINDEX_MAX_DELETE (vs-ingest --max-delete, N records or P%; default
# vs-ingest's 50%), PATH must reach the vs-* programs.
set -euo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: reindex.sh DOCS STORE [LOG]" >&2
    exit 2
fi
docs=${1%/} store=$2 log=${3:-/dev/stderr}
lock=${REINDEX_LOCK:-$store.lock}
metrics=${REINDEX_METRICS:-}

ts() { date -u +%Y-%m-%dT%H:%M:%SZ; }
say() { printf '%s reindex[%d]: %s\n' "$(ts)" "$$" "$*" >> "$log"; }

exec 9> "$lock"
if ! flock -n 9; then
    say "another reindex holds $lock; nothing to do"
    exit 0
fi

tmp=$(mktemp "${TMPDIR:-/tmp}/reindex.XXXXXX")
trap 'rm -f "$tmp" "$tmp.prom" "$tmp.err"' EXIT

# A failure before vs-ingest runs: record its status and time in the
# metrics file (same format as vs-ingest's, replaced atomically).
fail_metrics() {
    [ -n "$metrics" ] || return 0
    local lab now
    lab="store=\"$(printf '%s' "$store" | sed 's/\\/\\\\/g; s/"/\\"/g')\""
    now=$(date +%s)
    if [ -f "$metrics" ] && grep -q '^vecstore_ingest_last_run_exit_status{' "$metrics"; then
        sed -e "s/^\(vecstore_ingest_last_run_exit_status{[^}]*}\) .*/\1 $1/" \
            -e "s/^\(vecstore_ingest_last_run_timestamp_seconds{[^}]*}\) .*/\1 $now/" \
            "$metrics" > "$tmp.prom"
    else
        printf '%s\n' \
            '# HELP vecstore_ingest_last_run_exit_status exit status of the last run (0 success)' \
            '# TYPE vecstore_ingest_last_run_exit_status gauge' \
            "vecstore_ingest_last_run_exit_status{$lab} $1" \
            '# HELP vecstore_ingest_last_run_timestamp_seconds when the last run ended (Unix time)' \
            '# TYPE vecstore_ingest_last_run_timestamp_seconds gauge' \
            "vecstore_ingest_last_run_timestamp_seconds{$lab} $now" > "$tmp.prom"
    fi
    chmod 644 "$tmp.prom"
    mv "$tmp.prom" "$metrics.tmp.$$" && mv "$metrics.tmp.$$" "$metrics"
}

say "start: $docs -> $store"
# vs-chunk: files it cannot read are skipped with a warning (--keep-going);
# --since: files the store holds unchanged are not read; --stats: files read
# (docs) and not read (files_unchanged) go to the log
status=0
# shellcheck disable=SC2086
vs-chunk --keep-going --since "$store" --stats "$docs" 2>> "$log" |
    vs-embed ${VS_EMBED_OPTS:-} > "$tmp" 2>> "$log" || status=$?
if [ "$status" -ne 0 ]; then
    say "chunk/embed failed with status $status; store left as it was"
    fail_metrics "$status"
    exit "$status"
fi
# the stream must end with vs-embed's end marker (vs-ingest checks it too)
last=$(tail -n 1 "$tmp")
case $last in
'{"op":"end","stream":"vecstore/1","program":"vs-embed",'*) ;;
*)
    say "chunk/embed stream has no end marker (a stage failed or was killed); store left as it was"
    fail_metrics 3
    exit 3
    ;;
esac
# --stats: the counters (upserts, deletes, unchanged, kept, commits) go to the
# log; --metrics-file: the same for Prometheus
vs-ingest --sync --sync-scope "$docs/" --skip-unchanged --wait=600 --stats \
    ${REINDEX_MAX_DELETE:+--max-delete "$REINDEX_MAX_DELETE"} \
    ${metrics:+--metrics-file "$metrics"} "$store" "$tmp" 2> "$tmp.err" || status=$?
cat "$tmp.err" >> "$log"
if [ "$status" -ne 0 ]; then
    why=$(grep -m 1 '^vs-ingest: error: ' "$tmp.err" | sed 's/^vs-ingest: error: //' || true)
    say "vs-ingest failed with status $status${why:+: $why}; store left at its previous generation"
    exit "$status"
fi
say "done: $(vs-index info --digest "$store" | jq -c '{generation, records, digest}')"
