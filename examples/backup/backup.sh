#!/bin/bash
# backup.sh STORE BACKUPS [KEEP]: take a consistent backup of STORE while
# readers and writers keep using it, check it, and keep the KEEP newest
# (default 7). vs-index snapshot copies one generation (the segments it
# names, hard-linked when on the same file system, and its manifest), so
# a backup never mixes two commits; vs-index verify reads every checksum
# of the copy; and when the live store is still at the generation copied,
# the digest of their visible contents must be the same. Prints the
# backup's folder.
#   crontab: 30 2 * * *  /path/to/backup.sh /srv/kb.vs /srv/backups/kb 14
# To restore: stop the writers, then
#   vs-index verify BACKUP && mv STORE STORE.broken && cp -a BACKUP STORE
set -euo pipefail
[ $# -ge 2 ] && [ $# -le 3 ] || { echo "usage: backup.sh STORE BACKUPS [KEEP]" >&2; exit 2; }
store=$1 backups=$2 keep=${3:-7}
mkdir -p "$backups"
name=$(date -u +%Y%m%dT%H%M%SZ)
dest=$backups/$name.vs
n=1
while [ -e "$dest" ]; do dest=$backups/$name-$n.vs; n=$((n + 1)); done
vs-index -q snapshot "$store" "$dest"
vs-index -q verify "$dest" > /dev/null
info=$(vs-index info --digest "$dest")
live=$(vs-index info --digest "$store")
if [ "$(jq .generation <<<"$live")" = "$(jq .generation <<<"$info")" ] &&
   [ "$(jq .digest <<<"$live")" != "$(jq .digest <<<"$info")" ]; then
    echo "backup.sh: $dest differs from $store at the same generation" >&2
    exit 4
fi
echo "$dest"
jq -r '"generation \(.generation), \(.records) records, digest \(.digest)"' <<<"$info" >&2
# the oldest beyond KEEP go (newest first by time of the snapshot)
ls -1dt "$backups"/*.vs | tail -n +"$((keep + 1))" | while read -r old; do
    rm -rf "$old"
    echo "removed $old" >&2
done
