#!/bin/bash
# The README's set-up on a fresh Debian machine, proven in a fresh root.
#
# Makes a minimal Debian root (debootstrap --variant=minbase, the host's
# release, architecture and mirror, plus make and sudo: what a newcomer has
# before the README's first command), copies the repository into the home of a
# user who may sudo, and in a chroot, as that user:
#   3. make demo                   once: it must pass the first time
#   4. the PATH line the demo printed finds the programs in build/bin
#   5. make install PREFIX=~/.local (no root) and a login shell finds them
#   6. make test TESTS=REGEX        a reduced pass (the full make check is
#                                   proven by CI itself)
# With --debs DIR, the Debian packages built from the repository
# (dpkg-buildpackage: docs/release-1.0.md) are proven instead, as root and
# the same user: 2. apt installs DIR's .deb files (their dependencies from
# the mirror); 3. the packaged demo runs; 4. every program's --version,
# the man pages and libvecstore.so.1 are in place; 5. a C program builds
# against libvecstore-dev with pkg-config and runs; 6. apt purges the
# packages and leaves none of their files.
# Prints TAP (1..6), one line a step; on a failure, the step's last lines as
# TAP comments. The bare root is cached as a tarball under
# $VS_FRESH_ROOT_CACHE (default ~/.cache/vecstore/fresh-root), so a second run
# skips debootstrap; without the cache it is made anew.
#
# Needs root (debootstrap, chroot, mounts), network to the host's Debian
# mirror, and installs debootstrap on the host when it is missing. /proc, /dev
# and /sys are mounted inside a private mount and PID namespace (unshare), so
# they vanish with it; the trap unmounts anything left under the root before
# deleting it, and the PID namespace ends every process the steps started.
# The root is a tmpfs (4 GB at most) when 8 GB of memory are available, so
# the disk does not slow installing, building and removing it.
#
#   tests/fresh-root/run.sh [--ref REF] [--tests REGEX] [--no-cache] [--log FILE]
#   tests/fresh-root/run.sh --debs DIR [--no-cache] [--log FILE]
#     --ref REF       copy in the commit REF (git archive) instead of the
#                     working tree (tracked and untracked files, less ignored)
#     --tests REGEX   bats files for step 6, as tests/run.sh's TESTS
#                     (default: demo\|install\|readme\|vs-index)
#     --debs DIR      install and check the .deb files in DIR instead
#     --no-cache      neither read nor write the cached bare root
#     --log FILE      write every step's full output to FILE
# A step is stopped after 30 min (debootstrap 20 min, the small ones 5 min).
# Exit: 0 every step passed, 1 a step failed, 2 usage.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

usage() {
    sed -n '/^#   tests\/fresh-root\/run.sh/,/^# Exit:/s/^# \{0,3\}//p' "$0"
}

ref="" tests='demo\|install\|readme\|vs-index' use_cache=1 log=/dev/null debs="" tests_given=0
while [ $# -gt 0 ]; do
    case "$1" in
        --ref) [ $# -ge 2 ] || { echo "fresh-root: error: --ref needs a value" >&2; exit 2; }
               ref=$2; shift 2 ;;
        --tests) [ $# -ge 2 ] || { echo "fresh-root: error: --tests needs a value" >&2; exit 2; }
                 tests=$2; tests_given=1; shift 2 ;;
        --debs) [ $# -ge 2 ] || { echo "fresh-root: error: --debs needs a value" >&2; exit 2; }
                debs=$2; shift 2 ;;
        --no-cache) use_cache=0; shift ;;
        --log) [ $# -ge 2 ] || { echo "fresh-root: error: --log needs a value" >&2; exit 2; }
               log=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "fresh-root: error: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
if [ -n "$debs" ]; then
    if [ -n "$ref" ] || [ "$tests_given" -eq 1 ]; then
        echo "fresh-root: error: --debs installs packages: --ref and --tests do not apply" >&2
        exit 2
    fi
    ls "$debs"/*.deb >/dev/null 2>&1 ||
        { echo "fresh-root: error: --debs '$debs': no .deb files there" >&2; exit 2; }
    debs=$(cd "$debs" && pwd)
fi
if [ -n "$ref" ] && ! git -C "$repo" rev-parse -q --verify "$ref^{commit}" >/dev/null; then
    echo "fresh-root: error: --ref '$ref': not a commit in $repo" >&2
    exit 2
fi
: >"$log" || { echo "fresh-root: error: --log '$log': cannot write" >&2; exit 2; }

echo "1..6"
start=$(date +%s)
step=0 failed=0
work="" root="" limit=300 where=""
user=newcomer
includes=make,sudo

# TAP for one step: ok/not ok, and on failure the tail of SHOWN_FILE (for
# step 6: the failed tests alone) when it is not empty, else of the output.
report() { # report STATUS DESCRIPTION OUTPUT_FILE [SHOWN_FILE]
    step=$((step + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $step - $2"
    else
        echo "not ok $step - $2"
        failed=$((failed + 1))
        local shown=$3
        [ -s "${4:-}" ] && shown=$4
        [ -s "$shown" ] && tail -n 30 "$shown" | sed 's/^/#   /'
    fi
    { echo "==== step $step: $2 (status $1)"; cat "$3" 2>/dev/null; } >>"$log"
}
# The remaining steps cannot run: report each as failed, with the reason.
give_up() { # give_up REASON
    while [ "$step" -lt 6 ]; do
        step=$((step + 1)); failed=$((failed + 1))
        echo "not ok $step - not run: $1"
    done
    finish
}
finish() {
    echo "# $((6 - failed)) of 6 steps passed in $(( $(date +%s) - start )) s"
    [ "$failed" -eq 0 ]
    exit $?
}

cleanup() {
    [ -n "$root" ] || return 0
    # Mounts live in the steps' private namespaces; unmount anything that
    # still shows under the root here before deleting it, deepest first.
    local m left=0
    [ "$where" = "on disk in $work" ] ||
        echo "# the root used $(df -m --output=used "$root" | tail -n 1 | tr -d ' ') MB"
    for m in $(awk -v r="$root" 'index($2, r "/") == 1 || $2 == r { print $2 }' /proc/self/mounts | sort -r); do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || left=1
    done
    if [ "$left" -eq 0 ] && ! awk -v r="$root" 'index($2, r "/") == 1 || $2 == r { f = 1 } END { exit !f }' /proc/self/mounts; then
        local t=$(date +%s)
        rm -rf --one-file-system "$work"
        echo "# the root removed in $(( $(date +%s) - t )) s"
    else
        echo "# fresh-root: mounts remain under $root: left in place" >&2
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Run a command in the root in its own mount and PID namespaces, with /proc,
# /dev (and /dev/pts) and /sys mounted; as root, or as the user with -u. It
# is killed, with every process it started, after $limit seconds.
in_root() { # in_root [-u] CMD...
    local spec="" name=root home=/root
    if [ "$1" = "-u" ]; then
        spec="--userspec=$(awk -F: -v u="$user" '$1 == u { print $3 ":" $4 }' "$root/etc/passwd")"
        name=$user home=/home/$user
        shift
    fi
    local envs=(HOME="$home" USER="$name" LOGNAME="$name" SHELL=/bin/bash
                PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8 TERM=dumb)
    local v
    for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
        [ -n "${!v:-}" ] && envs+=("$v=${!v}")
    done
    timeout -k 30 "$limit" unshare --mount --pid --fork --kill-child --propagation private -- /bin/sh -c '
        set -e
        r=$1; shift
        mount -t proc proc "$r/proc"
        mount --rbind /dev "$r/dev"
        mount --rbind /sys "$r/sys"
        exec "$@"' sh "$root" chroot $spec "$root" /usr/bin/env -i "${envs[@]}" "$@"
}

fail_host() { # fail_host MESSAGE: the fresh root cannot be made on this host
    local f
    f=$(mktemp); echo "$1" >"$f"
    report 1 "bare Debian root" "$f"; rm -f "$f"
    give_up "no root to run in"
}

# ---- 1. the bare root -------------------------------------------------------
[ "$(id -u)" -eq 0 ] || fail_host "fresh-root: error: needs root (debootstrap, chroot, mount)"
for c in unshare chroot tar zstd; do
    command -v "$c" >/dev/null || fail_host "fresh-root: error: '$c' not found"
done
. /etc/os-release
suite=${VERSION_CODENAME:-}
[ "${ID:-}" = debian ] && [ -n "$suite" ] ||
    fail_host "fresh-root: error: the host is not Debian (/etc/os-release ID=${ID:-?}): no release to copy"
arch=$(dpkg --print-architecture)

# The host's Debian entries for its release (deb822 *.sources and one-line
# *.list), given to the root's apt as they are; the first URI serving the
# release itself is debootstrap's mirror.
deb822=$(for f in /etc/apt/sources.list.d/*.sources; do [ -f "$f" ] && cat "$f" && echo; done |
    awk -v s="$suite" '
        function flush() {
            if (keep && deb && !off) printf "%s\n", st
            st = ""; keep = deb = off = 0
        }
        /^[ \t]*$/ { flush(); next }
        { st = st $0 "\n" }
        tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
        tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == s || index($i, s "-") == 1) keep = 1 }
        tolower($1) == "enabled:" && tolower($2) == "no" { off = 1 }
        END { flush() }')
# one-line: deb [OPTIONS] URI SUITE COMPONENT...; prints "URI SUITE<TAB>line"
oneline_entries() {
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk -v s="$suite" '
        $1 == "deb" {
            i = 2
            if ($2 ~ /^\[/) { while (i < NF && $i !~ /\]$/) i++; i++ }
            if ($(i+1) == s || index($(i+1), s "-") == 1) print $i " " $(i+1) "\t" $0
        }'
}
oneline=$(oneline_entries | cut -f2-)
mirror=$(printf '%s\n' "$deb822" | awk -v s="$suite" '
        /^[ \t]*$/ { if (u != "" && hit && m == "") m = u; u = ""; hit = 0; next }
        tolower($1) == "uris:" { u = $2 }
        tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == s) hit = 1 }
        END { if (u != "" && hit && m == "") m = u; print m }')
[ -n "$mirror" ] || mirror=$(oneline_entries | cut -f1 | awk -v s="$suite" '$2 == s { print $1; exit }')
[ -n "$mirror" ] || fail_host "fresh-root: error: no Debian '$suite' entry in /etc/apt/sources.list*"

if ! command -v debootstrap >/dev/null; then
    out=$(mktemp)
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap; } >"$out" 2>&1; then
        report 1 "bare Debian root (installing debootstrap on the host failed)" "$out"; rm -f "$out"
        give_up "no root to run in"
    fi
    rm -f "$out"
fi

work=$(mktemp -d "${TMPDIR:-/var/tmp}/vecstore-fresh-root.XXXXXX")
root=$work/root
mkdir "$root"
where="on disk in $work"
avail=$(awk '$1 == "MemAvailable:" { print int($2 / 1048576) }' /proc/meminfo)
if [ "${avail:-0}" -ge 8 ] && mount -t tmpfs -o size=4g,mode=755 vecstore-fresh-root "$root" 2>/dev/null; then
    where="in a tmpfs at $root"
fi
key=$(printf '%s %s %s %s\n' "$suite" "$arch" "$mirror" "$includes" | sha256sum | cut -c1-12)
cache=${VS_FRESH_ROOT_CACHE:-${HOME:-/root}/.cache/vecstore/fresh-root}
tarball=$cache/debian-$suite-$arch-minbase-$key.tar.zst
t0=$(date +%s)
if [ "$use_cache" -eq 1 ] && [ -s "$tarball" ] &&
   tar --zstd -xpf "$tarball" -C "$root" --numeric-owner 2>"$work/step1"; then
    how="from the cache $tarball"
else
    find "$root" -mindepth 1 -maxdepth 1 -exec rm -rf --one-file-system {} +
    if ! timeout -k 30 1200 unshare --mount --pid --fork --kill-child --propagation private -- \
            debootstrap --variant=minbase --include="$includes" --arch="$arch" \
            "$suite" "$root" "$mirror" >"$work/step1" 2>&1; then
        report 1 "bare Debian root: debootstrap $suite $arch from $mirror" "$work/step1"
        give_up "no root to run in"
    fi
    rm -f "$root"/var/cache/apt/archives/*.deb
    how="by debootstrap from $mirror"
    if [ "$use_cache" -eq 1 ]; then
        mkdir -p "$cache" &&
        tar --zstd -cpf "$tarball.tmp" -C "$root" --numeric-owner --one-file-system . 2>>"$work/step1" &&
        mv "$tarball.tmp" "$tarball" || { rm -f "$tarball.tmp"; how="$how (could not write the cache)"; }
    fi
fi
report 0 "bare Debian $suite $arch root $how, $where, in $(( $(date +%s) - t0 )) s" "$work/step1"

# ---- 2. the repository, in the home of a user who may sudo -----------------
if [ -n "$ref" ]; then
    what="git archive $ref ($(git -C "$repo" rev-parse --short "$ref"))"
else
    what="the working tree at $(git -C "$repo" rev-parse --short HEAD)"
fi
t0=$(date +%s)
# The root's network and apt (the host's entries), and the user who may sudo.
prepare_root() {
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    cp /etc/hosts "$root/etc/hosts"
    rm -f "$root"/etc/apt/sources.list "$root"/etc/apt/sources.list.d/*
    [ -z "$deb822" ] || printf '%s\n' "$deb822" >"$root/etc/apt/sources.list.d/debian.sources"
    [ -z "$oneline" ] || printf '%s\n' "$oneline" >"$root/etc/apt/sources.list"
    # the keyrings those entries name, when the root lacks them
    for k in $(printf '%s\n%s\n' "$deb822" "$oneline" | grep -oiE '(signed-by[:=] *)[^] ]+' | sed -E 's/^[^:=]*[:=] *//'); do
        [ -f "$k" ] && [ ! -e "$root$k" ] && install -D -m 644 "$k" "$root$k"
    done
    # the host's apt settings for fetching (proxies, a snapshot's expired Release files)
    for f in /etc/apt/apt.conf.d/*; do
        [ -f "$f" ] && grep -q '^[[:space:]]*Acquire::' "$f" && cp "$f" "$root/etc/apt/apt.conf.d/"
    done
    in_root useradd -m -s /bin/bash "$user"
    echo "$user ALL=(ALL) NOPASSWD: ALL" >"$root/etc/sudoers.d/$user"
    chmod 440 "$root/etc/sudoers.d/$user"
}

[ -z "$debs" ] || . "$here/debs.sh"   # steps 2-6 for --debs; ends with finish

(
    set -e
    prepare_root
    dest=$root/home/$user/vecstore
    mkdir "$dest"
    if [ -n "$ref" ]; then
        git -C "$repo" archive "$ref" | tar -x -C "$dest"
    else
        (cd "$repo" && git ls-files -z -c -o --exclude-standard |
            tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -x -C "$dest"
    fi
    [ -f "$dest/Makefile" ]
    uid=$(awk -F: -v u="$user" '$1 == u { print $3 ":" $4 }' "$root/etc/passwd")
    chown -R "$uid" "$dest"
) >"$work/step2" 2>&1
st=$?
report $st "repository ($what) copied into ~$user/vecstore; $user may sudo; in $(( $(date +%s) - t0 )) s" "$work/step2"
[ $st -eq 0 ] || give_up "no repository in the root"

# ---- 3. make demo, once ---------------------------------------------------
limit=1800
t0=$(date +%s)
in_root -u /bin/bash -c 'cd ~/vecstore && make demo' >"$work/step3" 2>&1
st=$?
report $st "make demo, first try, in $(( $(date +%s) - t0 )) s" "$work/step3"

# ---- 4. the PATH line the demo printed -------------------------------------
limit=300
line=$(grep -E '^[[:space:]]*export PATH=' "$work/step3" | head -n 1 | sed 's/^[[:space:]]*//')
if [ -n "$line" ]; then
    in_root -u /bin/bash -c "$line"'
        p=$(command -v vs-query) || { echo "vs-query not on PATH after: $0"; exit 1; }
        [ "$p" = "$HOME/vecstore/build/bin/vs-query" ] || { echo "vs-query found at $p"; exit 1; }
        vs-index --version' "$line" >"$work/step4" 2>&1
    st=$?
else
    echo "make demo printed no 'export PATH=' line" >"$work/step4"; st=1
fi
report $st "make demo's line '${line:-none}' puts the programs on PATH" "$work/step4"

# ---- 5. make install PREFIX=~/.local, as the user ----------------------------
if grep -qF 'make install PREFIX=~/.local' "$work/step3"; then
    in_root -u /bin/bash -c 'cd ~/vecstore && make install PREFIX=~/.local &&
        cd / && bash -lc "
            p=\$(command -v vs-ingest) || { echo \"a login shell does not find vs-ingest\"; exit 1; }
            [ \"\$p\" = \"\$HOME/.local/bin/vs-ingest\" ] || { echo \"vs-ingest found at \$p\"; exit 1; }
            [ -f \"\$HOME/.local/share/man/man1/vs-ingest.1\" ] || { echo \"no man page\"; exit 1; }
            vs-ingest --version"' >"$work/step5" 2>&1
    st=$?
else
    echo "make demo did not print 'make install PREFIX=~/.local'" >"$work/step5"; st=1
fi
report $st "make install PREFIX=~/.local without root; a login shell finds the programs" "$work/step5"

# ---- 6. a reduced test pass ---------------------------------------------------
limit=1800
t0=$(date +%s)
in_root -u /bin/bash -c 'cd ~/vecstore && make test TESTS="$0"' "$tests" >"$work/step6" 2>&1
st=$?
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$work/step6" | tail -n 1)
[ -n "$summary" ] || st=1
# what a failure shows: each failed test with its comment lines (the last
# 30 lines of them)
awk '/^not ok /{p=1; print; next} p && /^#/{print; next} {p=0}' "$work/step6" >"$work/step6.failed"
report $st "make test TESTS='$tests': ${summary:-no summary line} in $(( $(date +%s) - t0 )) s" "$work/step6" "$work/step6.failed"
finish
