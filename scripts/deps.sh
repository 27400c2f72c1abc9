#!/bin/sh
# Install the Debian packages that vecstore's build, tests and benchmarks need.
# Does nothing when they are all present. Uses sudo when not root.
#   scripts/deps.sh           build and test dependencies
#   scripts/deps.sh --bench   also the peers that `make bench` compares against
#   scripts/deps.sh --release also the release tools: make lint's cppcheck and
#                             clang-tidy, dpkg-buildpackage's debhelper, lintian
set -eu

BUILD_PKGS="build-essential pkg-config libjansson-dev libzstd-dev libyaml-dev
libxxhash-dev libutf8proc-dev libstemmer-dev libcurl4-openssl-dev libxml2-dev
libmd4c-dev libpoppler-glib-dev libopenblas-dev libmicrohttpd-dev"
# clang and libclang-rt-dev (its libFuzzer and sanitizer run-times): the
# HTTP fuzzing that `make check` runs (tests/fuzz/run.sh); xxhash: xxhsum,
# the independent XXH64 of vs-shard.bats; iproute2, openssh-server and
# -client, parallel, rsync, haproxy, rclone, munge and slurm: the scale-out
# recipes on namespace hosts (tests/cluster/, cluster.bats; their daemons
# run only inside the test's own namespaces, with configs of their own)
TEST_PKGS="bats procps python3 python3-numpy python3-yaml sqlite3 curl strace jq openssl
clang libclang-rt-dev xxhash iproute2 openssh-server openssh-client parallel rsync haproxy rclone
munge slurmctld slurmd slurm-client"
BENCH_PKGS="python3-faiss python3-hnswlib libhnswlib-dev wrk python3-onnx
dataset-fashion-mnist"

RELEASE_PKGS="cppcheck clang-tidy debhelper dpkg-dev fakeroot lintian debootstrap"

pkgs="$BUILD_PKGS $TEST_PKGS"
for a in "$@"; do
    case "$a" in
        --bench) pkgs="$pkgs $BENCH_PKGS" ;;
        --release) pkgs="$pkgs $RELEASE_PKGS" ;;
        *) echo "deps.sh: error: unknown option '$a' (--bench, --release)" >&2; exit 2 ;;
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
