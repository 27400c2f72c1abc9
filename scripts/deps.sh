#!/bin/sh
# Install the Debian packages that vecstore's build, tests and benchmarks need.
# Does nothing when they are all present. Uses sudo when not root.
#   scripts/deps.sh           build and test dependencies
#   scripts/deps.sh --bench   also the peers that `make bench` compares against
#   scripts/deps.sh --wasm    also the WebAssembly build (make wasm, which
#                             make check runs): emcc, node, npm, dpkg-source
#   scripts/deps.sh --web     also Debian's chromium, the browser that the
#                             browser tests (tests/wasm/browser/), the JS
#                             examples and bench/wasm/ drive headless
#   scripts/deps.sh --release also the release tools: make lint's cppcheck and
#                             clang-tidy, dpkg-buildpackage's debhelper, lintian
#   scripts/deps.sh --pg      also PostgreSQL 15 for the pgvector migration test
# (the flags combine: scripts/deps.sh --bench --wasm --web --release)
set -eu

BUILD_PKGS="build-essential pkg-config libjansson-dev libzstd-dev libyaml-dev
libxxhash-dev libutf8proc-dev libstemmer-dev libcurl4-openssl-dev libxml2-dev
libmd4c-dev libpoppler-glib-dev libopenblas-dev libmicrohttpd-dev"
# clang and libclang-rt-dev (its libFuzzer and sanitizer run-times): the
# HTTP fuzzing that `make check` runs (tests/fuzz/run.sh); xxhash: xxhsum,
# the independent XXH64 of vs-shard.bats; iproute2, openssh-server and
# -client, parallel, rsync, haproxy, rclone, munge and slurm: the scale-out
# recipes on namespace hosts (tests/cluster/, cluster.bats; their daemons
# run only inside the test's own namespaces, with configs of their own);
# python3-dev and python3-venv: the Python package's tests
# (tests/python/run.sh) where the python3 on PATH is Debian's (its headers,
# and venv for scripts/venv.sh)
TEST_PKGS="bats procps python3 python3-numpy python3-yaml sqlite3 curl strace jq openssl
clang libclang-rt-dev xxhash iproute2 openssh-server openssh-client parallel rsync haproxy rclone
munge slurmctld slurmd slurm-client python3-dev python3-venv"
# --pg: PostgreSQL 15, its client and postgresql-server-dev-15 for the
# pgvector migration test (migrate-pgvector.bats), which builds pgvector
# from Debian's source package (scripts/pgvector.sh) and runs a private
# server of its own on a Unix socket. Not in make demo's set: Debian's
# package also sets up and starts its usual "main" cluster.
# scripts/test-deps.sh (make check, CI) installs it.
PG_PKGS="postgresql-15 postgresql-client-15 postgresql-server-dev-15 dpkg-dev
debian-archive-keyring"
# openjdk-17-jdk-headless and maven: bench/text.sh fetches Lucene's jars from
# Maven Central and compiles its driver (bench/TextLucene.java)
BENCH_PKGS="python3-faiss python3-hnswlib libhnswlib-dev wrk python3-onnx
dataset-fashion-mnist openjdk-17-jdk-headless maven"
# the tests' npm packages (playwright-core, not its browser downloads) come
# from scripts/web-deps.sh
WEB_PKGS="chromium"

RELEASE_PKGS="cppcheck clang-tidy debhelper dpkg-dev fakeroot lintian debootstrap"
# emscripten (Debian's emcc 3.1.6; its JS tools need node-acorn), npm for
# `npm pack` (Debian's, unless a node install such as NodeSource's brings
# its own: the two conflict), dpkg-dev for `apt-get source` of the C
# dependencies scripts/wasm-deps.sh compiles (wasm/README.md says why)
WASM_PKGS="emscripten node-acorn dpkg-dev debian-archive-keyring xz-utils"
command -v npm >/dev/null 2>&1 || WASM_PKGS="$WASM_PKGS npm"

pkgs="$BUILD_PKGS $TEST_PKGS"
for arg in "$@"; do
    case "$arg" in
        --bench) pkgs="$pkgs $BENCH_PKGS" ;;
        --wasm) pkgs="$pkgs $WASM_PKGS" ;;
        --web) pkgs="$pkgs $WEB_PKGS" ;;
        --release) pkgs="$pkgs $RELEASE_PKGS" ;;
        --pg) pkgs="$pkgs $PG_PKGS" ;;
        *) echo "deps.sh: error: unknown option '$arg' (--bench, --wasm, --web, --release, --pg)" >&2; exit 2 ;;
    esac
done

missing=""
for p in $pkgs; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0

echo "deps.sh: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
        echo "deps.sh: error: not root and no sudo; install:$missing" >&2
        exit 5
    }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
