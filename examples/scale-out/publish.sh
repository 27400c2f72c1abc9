#!/bin/sh
# examples/scale-out/publish.sh STORE REMOTE:PATH: publish a built store (a
# shard) to an object store with rclone, so serving hosts can pull it
# (pull.sh). docs/scale-out.md explains the layout.
#
# The store is checked first (vs-index verify) and copied to
# REMOTE:PATH/DIGEST/, DIGEST being its content digest (vs-index info
# --digest): a publication is never changed once written. The pointer
# REMOTE:PATH/CURRENT, naming that folder, is written last, so a host that
# reads CURRENT finds every file of the publication it names. rclone takes
# the remote from its config or from RCLONE_CONFIG_* variables.
set -eu
[ $# -eq 2 ] || { echo "usage: publish.sh STORE REMOTE:PATH" >&2; exit 2; }
store=$1 dest=${2%/}
vs-index verify "$store" >/dev/null
digest=$(vs-index info --digest "$store" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["digest"])')
# the files first (MANIFEST among them: inside its own folder it names
# only files already there), the pointer last
rclone copy --exclude LOCK "$store" "$dest/$digest"
printf '%s\n' "$digest" | rclone rcat "$dest/CURRENT"
echo "$dest/$digest"
