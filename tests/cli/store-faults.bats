#!/usr/bin/env bats
# Fault injection for the store: a full disk. tests/fault/enospc.c is built
# here as an LD_PRELOAD shim that makes write/pwrite/fsync/rename on regular
# files fail with ENOSPC after a call count or byte budget. Around vs-ingest
# and vs-index compact, at every call budget and at byte budgets spread over
# the whole run, each failing run must exit 5 with one line on stderr, leave
# a store that `vs-index verify` accepts holding exactly the previous
# generation, and the next successful writer must leave no stray file.

load helpers

SHIM_SRC="$BATS_TEST_DIRNAME/../fault/enospc.c"

setup() {
    # an ASan/UBSan binary wants its runtime first in the library list
    case "$(basename "$(dirname "$VS_BIN")")" in
        *san*) skip "LD_PRELOAD fault shim is not used with sanitizer builds ($VS_BIN)" ;;
    esac
    # on tmpfs when there is one: fsync is then cheap, and the faults are
    # simulated anyway (keeps the ~100 runs of this file fast)
    T=$(mktemp -d /dev/shm/vs-faults.XXXXXX 2>/dev/null) || T=$(mktemp -d)
    SHIM="$T/enospc.so"
    cc -shared -fPIC -O1 -o "$SHIM" "$SHIM_SRC" -ldl 2>"$T/cc.err" ||
        skip "cannot build the fault shim: $(head -1 "$T/cc.err")"
    LD_PRELOAD="$SHIM" vs-index --version >/dev/null 2>&1 ||
        skip "the fault shim cannot be preloaded"
}

teardown() {
    if [ -n "${T:-}" ]; then rm -rf "$T"; fi
}

# gen_records FILE PREFIX N: N records with ids PREFIX0.. and 8-dim vectors
gen_records() {
    $PY - "$@" <<'PYEOF'
import sys
path, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(path, "w") as f:
    for i in range(n):
        vec = ",".join(str((i * 7 + k * 13) % 101 - 50) for k in range(8))
        f.write('{"id":"%s%d","text":"record %d of %s","metadata":{"i":%d},"vector":[%s]}\n'
                % (prefix, i, i, prefix, i, vec))
PYEOF
}

# state STORE: the records of the store, sorted
state() {
    vs-index export "$1" | sort
}

# generation STORE: the generation number and segment files of the store,
# then its records: a compaction keeps the records and changes the rest
generation() {
    vs-index info "$1" | jq -c '{generation, segments: [.segments[] | {file, rows, live, del}]}'
    state "$1"
}

# only_live_files STORE: the store holds MANIFEST, LOCK and the files the
# manifest names, nothing else (no temporaries, no unreferenced segments)
only_live_files() {
    local want have f
    want=$( { echo LOCK; echo MANIFEST
              grep -oE '"(file|del)": "[^"]+"' "$1/MANIFEST" | cut -d'"' -f4
            } | sort -u)
    have=$(for f in "$1"/* "$1"/.[!.]*; do [ -e "$f" ] && echo "${f##*/}"; done | sort)
    if [ "$want" != "$have" ]; then
        echo "files differ from the manifest's (< named, > present):" >&2
        diff <(echo "$want") <(echo "$have") >&2
        return 1
    fi
}

# count_run STORE CMD...: run CMD (a writer on a copy of STORE) under the shim
# without a budget; sets CALLS and BYTES to what it did
count_run() {
    local store=$1; shift
    rm -rf "$T/count" "$T/count.txt"
    cp -a "$store" "$T/count"
    LD_PRELOAD="$SHIM" VS_ENOSPC_COUNT="$T/count.txt" "${@/@STORE@/$T/count}" 2>/dev/null
    read -r CALLS BYTES <"$T/count.txt"
    generation "$T/count" >"$T/after.txt"
    [ "$CALLS" -gt 0 ] && [ "$BYTES" -gt 0 ]
}

# one_fault PRISTINE KIND BUDGET PROG CMD...: on a fresh copy of PRISTINE run
# CMD (@STORE@ stands for the store) with the shim failing after BUDGET calls
# or bytes (KIND = CALLS or BYTES), then check the aftermath. (Plain
# redirections rather than run_split: this runs ~60 times per file.)
one_fault() {
    local pristine=$1 kind=$2 budget=$3 prog=$4; shift 4
    local s="$T/s" line
    rm -rf "$s"
    cp -a "$pristine" "$s"
    status=0
    env LD_PRELOAD="$SHIM" "VS_ENOSPC_$kind=$budget" "${@/@STORE@/$s}" \
        >"$T/out" 2>"$T/err" || status=$?
    out=$(<"$T/out") err=$(<"$T/err")
    mapfile -t line <"$T/err"
    if [ "$status" -ne 5 ] || [ -n "$out" ] || [ "${#line[@]}" -ne 1 ] ||
       [[ "$err" != "$prog: error: "* ]]; then
        echo "$kind budget $budget: expected exit 5 and one error line" >&2
        expect_status 5 || true
        return 1
    fi
    vs-index verify "$s" >/dev/null ||
        { echo "$kind budget $budget: verify failed" >&2; return 1; }
    generation "$s" >"$T/now.txt"
    cmp -s "$T/before.txt" "$T/now.txt" ||
        { echo "$kind budget $budget: the store is not the previous generation" >&2; return 1; }
    # the next successful writer commits and sweeps what the failure left
    "${@/@STORE@/$s}" 2>"$T/err" ||
        { echo "$kind budget $budget: the retry failed: $(<"$T/err")" >&2; return 1; }
    generation "$s" >"$T/now.txt"
    cmp -s "$T/after.txt" "$T/now.txt" ||
        { echo "$kind budget $budget: the retry gave another store" >&2; return 1; }
    only_live_files "$s" || { echo "$kind budget $budget: stray files" >&2; return 1; }
}

# all_faults PRISTINE PROG CMD...: one_fault at every call budget below the
# run's count and at byte budgets spread over its bytes
all_faults() {
    local pristine=$1 prog=$2; shift 2
    generation "$pristine" >"$T/before.txt"
    count_run "$pristine" "$@"
    # the run changes the store (else "keeps the previous state" holds trivially)
    run ! cmp -s "$T/before.txt" "$T/after.txt"
    local c b n=0
    for ((c = 0; c < CALLS; c++)); do
        one_fault "$pristine" CALLS "$c" "$prog" "$@"
        n=$((n + 1))
    done
    # the last budget leaves 32 bytes of slack: a run's byte count varies by a
    # few bytes from run to run (the pid written into LOCK has 1 to 7 digits)
    for b in 0 64 65 $((BYTES / 3)) \
             $((BYTES * 2 / 3)) $((BYTES - 32)); do
        one_fault "$pristine" BYTES "$b" "$prog" "$@"
        n=$((n + 1))
    done
    echo "# $n faults injected ($CALLS calls, $BYTES bytes in the run)" >&3
}

@test "shim: counts a run and fails it at a budget" {
    gen_records "$T/a.jsonl" a 20
    LD_PRELOAD="$SHIM" VS_ENOSPC_COUNT="$T/c.txt" vs-ingest -q "$T/s0" "$T/a.jsonl"
    read -r calls bytes <"$T/c.txt"
    [ "$calls" -ge 3 ]
    [ "$bytes" -ge 64 ]
    run_split env LD_PRELOAD="$SHIM" VS_ENOSPC_CALLS=0 vs-ingest "$T/s1" "$T/a.jsonl"
    expect_status 5
    [[ "$err" == *"no space left on device"* ]]
    # writes to a pipe are not counted: the shim does not disturb stdout
    run_split env LD_PRELOAD="$SHIM" VS_ENOSPC_CALLS=0 vs-index export "$T/s0"
    expect_status 0
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 20 ]
}

@test "disk full: vs-ingest fails cleanly at every budget and keeps the previous generation" {
    gen_records "$T/base.jsonl" a 300
    gen_records "$T/new.jsonl" b 200
    # the run: new records, overwrites of old ones and deletes
    { cat "$T/new.jsonl"
      head -50 "$T/base.jsonl" | sed 's/record /changed /'
      for i in $(seq 100 139); do echo "{\"id\":\"a$i\",\"op\":\"delete\"}"; done
    } >"$T/run.jsonl"
    vs-ingest -q "$T/p" "$T/base.jsonl"
    vs-ingest -q "$T/p" <(head -20 "$T/new.jsonl" | sed 's/"b/"c/')
    all_faults "$T/p" vs-ingest vs-ingest -q @STORE@ "$T/run.jsonl"
}

@test "disk full: vs-ingest creating a store fails cleanly and a retry creates it" {
    gen_records "$T/a.jsonl" a 100
    # the previous generation of a store not yet created: nothing
    mkdir "$T/empty"
    : >"$T/before.txt"
    count_run "$T/empty" vs-ingest -q @STORE@/s "$T/a.jsonl" 2>/dev/null
    state "$T/count/s" >"$T/after.txt"
    [ "$(wc -l <"$T/after.txt")" -eq 100 ]
    local c
    for ((c = 0; c < CALLS; c++)); do
        rm -rf "$T/e"
        cp -a "$T/empty" "$T/e"
        status=0
        env LD_PRELOAD="$SHIM" VS_ENOSPC_CALLS="$c" vs-ingest -q "$T/e/s" "$T/a.jsonl" \
            >"$T/out" 2>"$T/err" || status=$?
        out=$(<"$T/out") err=$(<"$T/err")
        expect_status 5
        mapfile -t lines <"$T/err"
        [ "${#lines[@]}" -eq 1 ]
        [ -z "$out" ]
        # either no store or an empty, valid one
        if [ -e "$T/e/s/MANIFEST" ]; then
            vs-index verify "$T/e/s" >/dev/null
            [ -z "$(vs-index export "$T/e/s")" ]
        fi
        vs-ingest -q "$T/e/s" "$T/a.jsonl"
        vs-index export "$T/e/s" | sort | cmp -s - "$T/after.txt"
        only_live_files "$T/e/s"
    done
}

@test "disk full: vs-index compact fails cleanly at every budget and keeps the previous generation" {
    gen_records "$T/base.jsonl" a 300
    vs-ingest -q "$T/p" "$T/base.jsonl"
    vs-ingest -q "$T/p" <(sed -n '1,80p' "$T/base.jsonl" | sed 's/record /again /')
    vs-ingest -q "$T/p" <(for i in $(seq 200 259); do echo "{\"id\":\"a$i\",\"op\":\"delete\"}"; done)
    all_faults "$T/p" vs-index vs-index -q compact @STORE@
}

# wait_for FILE: until FILE exists (at most 10 s)
wait_for() {
    local i
    for ((i = 0; i < 1000; i++)); do
        [ -e "$1" ] && return 0
        sleep 0.01
    done
    echo "timed out waiting for $1" >&2
    return 1
}

@test "reader retry: a generation replaced between manifest and segment open is re-read" {
    local pause="$T/pause.so" h="$T/hs" pid rc=0
    cc -shared -fPIC -O1 -o "$pause" "$BATS_TEST_DIRNAME/../fault/pause_open.c" -ldl ||
        skip "cannot build the pause shim"
    gen_records "$T/base.jsonl" a 200
    vs-ingest -q "$T/p" <(head -100 "$T/base.jsonl")
    vs-ingest -q "$T/p" <(tail -100 "$T/base.jsonl")
    state "$T/p" >"$T/before.txt"
    mkdir "$h"
    # the reader reads generation 2's manifest, then stops before its first
    # segment open
    VS_PAUSE_MATCH=.vseg VS_PAUSE_DIR="$h" LD_PRELOAD="$pause" \
        vs-index export "$T/p" >"$T/read.txt" 2>"$T/read.err" &
    pid=$!
    wait_for "$h/paused" || { kill "$pid"; return 1; }
    # meanwhile a writer changes records and compacts: generation 2's
    # segments are deleted
    vs-ingest -q "$T/p" <(head -30 "$T/base.jsonl" | sed 's/record /changed /')
    vs-index -q compact "$T/p"
    state "$T/p" >"$T/after.txt"
    run ! cmp -s "$T/before.txt" "$T/after.txt"
    [ ! -e "$T/p/seg-00000001.vseg" ]
    touch "$h/go"
    wait "$pid" || rc=$?
    [ "$rc" -eq 0 ] || { echo "reader exit $rc: $(<"$T/read.err")" >&2; return 1; }
    # the reader met the vanished segment, re-read the manifest and returned
    # the whole new generation
    [ -e "$h/enoent" ]
    sort "$T/read.txt" | cmp - "$T/after.txt"
}
