#!/bin/sh
# examples/scale-out/pull.sh REMOTE:PATH LIVE: make the symlink LIVE point
# at the store last published to REMOTE:PATH (publish.sh), without a reader
# of LIVE ever seeing a half-copied store.
#
# Reads REMOTE:PATH/CURRENT, copies that publication into LIVE.DIGEST (once:
# a folder already there is used as is), checks it (vs-index verify), then
# swaps LIVE to it with one rename(2). vs-serve serving LIVE sees the new
# generation at its next request; requests in flight finish on the old
# files, which stay until removed (older LIVE.* folders are left for the
# operator: keep the previous one to roll back with `ln -sfn`).
set -eu
[ $# -eq 2 ] || { echo "usage: pull.sh REMOTE:PATH LIVE" >&2; exit 2; }
src=${1%/} live=${2%/}
# (rclone cat of a missing object prints nothing, with status 0 or not)
digest=$(rclone cat "$src/CURRENT" 2>/dev/null) || digest=
case $digest in
    "") echo "pull.sh: error: $src/CURRENT: nothing published there" >&2; exit 4 ;;
    *[!0-9a-f]*) echo "pull.sh: error: $src/CURRENT: not a digest: '$digest'" >&2; exit 4 ;;
esac
dir=$live.$digest
if [ ! -d "$dir" ]; then
    rm -rf "$dir.part"
    rclone copy "$src/$digest" "$dir.part"
    if ! vs-index verify "$dir.part" >/dev/null; then
        echo "pull.sh: error: $src/$digest: the copy does not verify; $live unchanged" >&2
        rm -rf "$dir.part"
        exit 4
    fi
    mv "$dir.part" "$dir"
fi
ln -sfn "$(basename "$dir")" "$live.next"
mv -T "$live.next" "$live"
echo "$dir"
