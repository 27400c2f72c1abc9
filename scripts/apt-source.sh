# shellcheck shell=sh
# Sourced by scripts/wasm-deps.sh and scripts/pgvector.sh: fetch Debian source
# packages with `apt-get source` through a private apt configuration (deb-src
# lines signed by the Debian archive keyring), so the machine's own apt
# settings are not touched; apt checks the Release signature and the files'
# checksums. The caller defines die() first.
#
#   apt_source_init APT_DIR SRC_DIR SUITE...   (e.g. bookworm bookworm-updates)
#   apt_source_fetch PACKAGE                   -> the unpacked folder on stdout
#
# An unpacked source and an updated index are reused by a later run.

apt_source_init() {
    _apt_dir=$1 _apt_src=$2
    shift 2
    mkdir -p "$_apt_dir/lists/partial" "$_apt_dir/cache/archives/partial" \
        "$_apt_dir/parts" "$_apt_src"
    _key=/usr/share/keyrings/debian-archive-keyring.gpg
    [ -f "$_key" ] || die "$_key missing (debian-archive-keyring)"
    : > "$_apt_dir/sources.list"
    for _suite in "$@"; do
        echo "deb-src [signed-by=$_key] http://deb.debian.org/debian $_suite main" \
            >> "$_apt_dir/sources.list"
    done
    _apt_opt="-o Dir::Etc::SourceList=$_apt_dir/sources.list
 -o Dir::Etc::SourceParts=$_apt_dir/parts -o Dir::State::Lists=$_apt_dir/lists
 -o Dir::Cache=$_apt_dir/cache -o Debug::NoLocking=1"
    if [ ! -f "$_apt_dir/.updated" ]; then
        # shellcheck disable=SC2086
        apt-get -qq $_apt_opt update >&2 || die "apt-get update (deb-src $*) failed"
        touch "$_apt_dir/.updated"
    fi
}

apt_source_fetch() {
    _d=$(find "$_apt_src" -maxdepth 1 -type d -name "$1-[0-9]*" | head -n 1)
    if [ -z "$_d" ]; then
        # shellcheck disable=SC2086
        (cd "$_apt_src" && apt-get -qq $_apt_opt source "$1" >&2) \
            || die "apt-get source $1 failed"
        _d=$(find "$_apt_src" -maxdepth 1 -type d -name "$1-[0-9]*" | head -n 1)
    fi
    [ -n "$_d" ] || die "no unpacked source for $1"
    echo "$_d"
}
