#!/bin/sh
# Build pgvector, PostgreSQL's vector type, from its Debian source package
# into a private copy of Debian's PostgreSQL 15, for the pgvector migration
# test (tests/cli/migrate-pgvector.bats) and docs/migrate-pgvector.md.
#
#   scripts/pgvector.sh [BUILD_DIR]      (default build)
#
# Debian 12 packages PostgreSQL 15 but not pgvector (it entered Debian in 13
# as postgresql-17-pgvector), so the source package comes from Debian 13
# with `apt-get source` run against a private apt configuration in
# BUILD_DIR/pg/apt (a deb-src line signed by the Debian archive keyring:
# apt checks the Release signature and the files' checksums; the machine's
# own apt settings are not touched), and is compiled with PGXS against
# postgresql-server-dev-15 (scripts/deps.sh installs both).
#
# Nothing is installed into the system's PostgreSQL: BUILD_DIR/pg/root is a
# relocated copy of it (PostgreSQL finds its share and lib folders relative
# to the postgres binary, so the binaries are copied, the share folder is
# copied, the lib folder's modules are linked) with vector.so and the
# extension's SQL files added. Start it with BUILD_DIR/pg/root/bin/...;
# tests/cli/migrate-pgvector.bats shows how (initdb into a scratch folder,
# a Unix socket only, no TCP port).
#
# A later run with the stamp present does nothing. Exit: 0 built or up to
# date, 5 a download or build failed or PostgreSQL 15 is missing.
set -eu

B=${1:-build}
mkdir -p "$B/pg"
P=$(cd "$B/pg" && pwd)
STAMP="$P/.stamp-v1"
[ -f "$STAMP" ] && exit 0

die() { echo "pgvector.sh: error: $*" >&2; exit 5; }
PGBIN=/usr/lib/postgresql/15/bin
PGSHARE=/usr/share/postgresql/15
PGLIB=/usr/lib/postgresql/15/lib
[ -x "$PGBIN/postgres" ] || die "$PGBIN/postgres not found (scripts/deps.sh installs postgresql-15)"
[ -x "$PGBIN/pg_config" ] || die "$PGBIN/pg_config not found (postgresql-server-dev-15)"
[ -f "$PGLIB/pgxs/src/makefiles/pgxs.mk" ] \
    || die "PGXS not found (scripts/deps.sh installs postgresql-server-dev-15)"
command -v dpkg-source >/dev/null 2>&1 || die "dpkg-source not found (dpkg-dev)"

. "$(dirname "$0")/apt-source.sh"
apt_source_init "$P/apt" "$P/src" trixie
d=$(apt_source_fetch pgvector)

# the relocated PostgreSQL: same relative layout as Debian's (bin and lib
# under usr/lib/postgresql/15, share under usr/share/postgresql/15)
R="$P/root"
rm -rf "$R"
mkdir -p "$R/usr/lib/postgresql/15/bin" "$R/usr/lib/postgresql/15/lib" "$R/usr/share/postgresql"
for f in postgres initdb pg_ctl; do cp "$PGBIN/$f" "$R/usr/lib/postgresql/15/bin/"; done
cp -R "$PGSHARE" "$R/usr/share/postgresql/15"
for f in "$PGLIB"/*; do ln -s "$f" "$R/usr/lib/postgresql/15/lib/"; done
ln -s usr/lib/postgresql/15/bin "$R/bin"

# pgvector's own Makefile builds with -march=native unless OPTFLAGS is set:
# keep the build portable
(cd "$d" && make -s clean >/dev/null 2>&1 || true
 make -s PG_CONFIG="$PGBIN/pg_config" OPTFLAGS="" >&2 \
   && make -s PG_CONFIG="$PGBIN/pg_config" OPTFLAGS="" DESTDIR="$R" install >&2) \
    || die "building pgvector failed"
[ -f "$R$PGLIB/vector.so" ] && [ -f "$R$PGSHARE/extension/vector.control" ] \
    || die "pgvector's files are not in $R"
echo "$(basename "$d")" > "$STAMP"
echo "pgvector.sh: $(basename "$d") built into $R" >&2
