# helpers.bash: loaded by every bats file (load helpers).
# Programs come from $VS_BIN (set by tests/run.sh), else build/bin.
VS_BIN="${VS_BIN:-$BATS_TEST_DIRNAME/../../build/bin}"
PATH="$VS_BIN:$PATH"
VS_DATA="${VS_DATA:-$BATS_TEST_DIRNAME/../../../shared/data}"
FIXTURES="$BATS_TEST_DIRNAME/../fixtures"
# No test reads or fills the user's embedding cache; tests that look at the
# cache set their own VS_CACHE_DIR.
export VS_CACHE_DIR="$BATS_FILE_TMPDIR/vs-cache"
# Models fetched by scripts/get-model.sh are in $VS_FETCHED_MODELS for the
# tests that use them; VS_MODEL_DIR itself is an empty folder, so a plain
# vs-embed uses the hash embedder whatever this machine has fetched.
# Done once per bats file, so that a VS_MODEL_DIR its setup_file exports
# holds in its tests.
if [ "${VS_ISOLATED_FOR:-}" != "$BATS_FILE_TMPDIR" ]; then
    export VS_ISOLATED_FOR="$BATS_FILE_TMPDIR"
    export VS_FETCHED_MODELS="${VS_FETCHED_MODELS:-${VS_MODEL_DIR:-$HOME/.cache/vecstore/models}}"
    export VS_MODEL_DIR="$BATS_FILE_TMPDIR/no-models"
    mkdir -p "$VS_MODEL_DIR"
fi
PY=/usr/bin/python3   # Debian's python3, which has python3-numpy
# run ! CMD (bats 1.5) is how a test says CMD must fail
bats_require_minimum_version 1.5.0

# run_split CMD...: run a command capturing stdout, stderr and status apart:
# $status, $out (stdout), $err (stderr).
run_split() {
    local o e
    o=$(mktemp) e=$(mktemp)
    # bats runs tests under set -e: take the status without tripping it
    "$@" >"$o" 2>"$e" && status=0 || status=$?
    out=$(cat "$o")
    err=$(cat "$e")
    rm -f "$o" "$e"
}

# Fail with context unless the status is as expected.
expect_status() {
    if [ "$status" -ne "$1" ]; then
        echo "expected status $1, got $status" >&2
        echo "stdout: $out" >&2
        echo "stderr: $err" >&2
        return 1
    fi
}

# Every line of stdout is a JSON object.
expect_ndjson() {
    [ -z "$out" ] && return 0
    printf '%s\n' "$out" | $PY -c '
import json, sys
for i, l in enumerate(sys.stdin, 1):
    o = json.loads(l)
    assert isinstance(o, dict), "line %d is not an object" % i
'
}

# unmark_out [--cut] PROGRAM: $out is a complete record stream of PROGRAM
# (docs/streams.md): its first line is PROGRAM's begin marker and its last
# the end marker counting the records between them. With --cut, $out is a
# cut stream instead: the begin marker and no end marker anywhere (what a
# program that failed leaves). Fails otherwise; on success $out becomes the
# records alone.
unmark_out() {
    local r cut=0
    if [ "$1" = --cut ]; then
        cut=1
        shift
    fi
    r=$(printf '%s\n' "$out" | $PY -c '
import sys
prog, cut = sys.argv[1], sys.argv[2] == "1"
lines = sys.stdin.read().split("\n")
while lines and lines[-1] == "":
    lines.pop()
begin = "{\"op\":\"begin\",\"stream\":\"vecstore/1\",\"program\":\"%s\"}" % prog
end = "{\"op\":\"end\",\"stream\":\"vecstore/1\",\"program\":\"%s\",\"records\":%d}" % (prog, len(lines) - 2)
if cut:
    if not lines or lines[0] != begin or any(l.startswith("{\"op\":\"end\"") for l in lines):
        sys.exit("not a cut stream of %s: first %r, last %r" % (prog, lines[:1], lines[-1:]))
    sys.stdout.write("\n".join(lines[1:]))
    sys.exit(0)
if len(lines) < 2 or lines[0] != begin or lines[-1] != end:
    sys.exit("not a complete stream of %s: first %r, last %r" % (prog, lines[:1], lines[-1:]))
sys.stdout.write("\n".join(lines[1:-1]))
' "$1" "$cut") || { echo "stdout: $out" >&2; return 1; }
    out=$r
}

# mark [PROGRAM]: copy the lines of stdin between a begin and an end marker
# (docs/streams.md), counting the non-blank lines, as a vecstore program
# writes a complete stream; hand-written input needs them for --by-doc and
# --sync.
mark() {
    $PY -c '
import sys
p = sys.argv[1]
lines = [l for l in sys.stdin.read().split("\n") if l.strip()]
print("{\"op\":\"begin\",\"stream\":\"vecstore/1\",\"program\":\"%s\"}" % p)
for l in lines:
    print(l)
print("{\"op\":\"end\",\"stream\":\"vecstore/1\",\"program\":\"%s\",\"records\":%d}" % (p, len(lines)))
' "${1:-test}"
}

need_data() {
    [ -d "$VS_DATA/datasets" ] || skip "shared data not found at VS_DATA=$VS_DATA"
}

# The options named in --help and in the man page must be the same set.
help_matches_man() {
    local prog=$1
    local a b
    a=$("$prog" --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
    b=$(sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$BATS_TEST_DIRNAME/../../man/$prog.1" | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
    if [ "$a" != "$b" ]; then
        diff <(echo "$a") <(echo "$b") >&2
        return 1
    fi
}

# wait_until SECONDS CMD...: run CMD every 0.05 s until it succeeds; fail
# naming CMD after SECONDS (a generous bound on a wait for an event, never a
# check on how fast something is).
wait_until() {
    local n=$(($1 * 20)) i
    shift
    for ((i = 0; i < n; i++)); do
        "$@" && return 0
        sleep 0.05
    done
    echo "timed out waiting for: $*" >&2
    return 1
}

# lock_held STORE PID: the store's LOCK file names PID, i.e. the writer PID
# holds the lock (a writer writes its pid there once it has the lock and
# empties the file when it lets go).
lock_held() {
    [ "$(cat "$1/LOCK" 2>/dev/null)" = "$2" ]
}

# pipe_drained FD: the pipe open on FD holds no unread bytes (the reader at
# the other end has read all that was written).
pipe_drained() {
    [ "$($PY -c '
import array, fcntl, sys, termios
a = array.array("i", [0])
fcntl.ioctl(int(sys.argv[1]), termios.FIONREAD, a)
print(a[0])' "$1")" -eq 0 ]
}

# start_server ARGS...: vs-serve on 127.0.0.1, a free port (its stderr in
# $SRV_ERR); sets PORT, U and SRV_PID. Shared by vs-serve.bats and
# hardening.bats.
start_server() {
    SRV_ERR="$BATS_TEST_TMPDIR/serve.err"
    vs-serve --listen 127.0.0.1:0 "$@" >/dev/null 2>"$SRV_ERR" &
    SRV_PID=$!
    local i
    for i in $(seq 200); do
        grep -q 'listening on' "$SRV_ERR" && break
        kill -0 "$SRV_PID" 2>/dev/null || { cat "$SRV_ERR" >&2; return 1; }
        sleep 0.05
    done
    PORT=$(sed -n 's/.*listening on https*:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$SRV_ERR")
    [ -n "$PORT" ] || { cat "$SRV_ERR" >&2; return 1; }
    U="http://127.0.0.1:$PORT"
}
