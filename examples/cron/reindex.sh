#!/usr/bin/env bash
# reindex.sh DOCS STORE [LOG]: nightly reindex of a document tree into a
# vecstore store. Only what changed is written: documents whose text is
# unchanged are skipped (--skip-unchanged), vanished files are deleted
# (--sync, limited to DOCS/ by --sync-scope), and a run that changes nothing
# makes no new generation. Safe to run twice at once (flock: the second run
# exits 0 at once) and safe to kill: the store keeps its previous generation
# and the next run completes the sync.
#
# crontab:  17 3 * * *  /path/to/reindex.sh /srv/docs /srv/kb.vs /var/log/reindex.log
# Environment: REINDEX_LOCK (default STORE.lock), VS_EMBED_OPTS (e.g.
# "--model hash-v1:256"), PATH must reach the vs-* programs.
# A Prometheus textfile (--metrics-file) is not supported yet.
set -euo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: reindex.sh DOCS STORE [LOG]" >&2
    exit 2
fi
docs=${1%/} store=$2 log=${3:-/dev/stderr}
lock=${REINDEX_LOCK:-$store.lock}

ts() { date -u +%Y-%m-%dT%H:%M:%SZ; }
say() { printf '%s reindex[%d]: %s\n' "$(ts)" "$$" "$*" >> "$log"; }

exec 9> "$lock"
if ! flock -n 9; then
    say "another reindex holds $lock; nothing to do"
    exit 0
fi

tmp=$(mktemp "${TMPDIR:-/tmp}/reindex.XXXXXX")
trap 'rm -f "$tmp"' EXIT

say "start: $docs -> $store"
# vs-chunk: exit 3 for files it cannot read (they are skipped with a warning)
status=0
# shellcheck disable=SC2086
vs-chunk --keep-going "$docs" 2>> "$log" | vs-embed ${VS_EMBED_OPTS:-} > "$tmp" 2>> "$log" ||
    status=$?
if [ "$status" -ne 0 ]; then
    say "chunk/embed failed with status $status; store left as it was"
    exit "$status"
fi
# --stats: the counters (upserts, deletes, unchanged, commits) go to the log
vs-ingest --sync --sync-scope "$docs/" --skip-unchanged --wait=600 --stats \
    "$store" "$tmp" 2>> "$log" || status=$?
if [ "$status" -ne 0 ]; then
    say "vs-ingest failed with status $status; store left at its previous generation"
    exit "$status"
fi
say "done: $(vs-index info --digest "$store" | jq -c '{generation, records, digest}')"
