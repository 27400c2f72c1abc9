#!/usr/bin/env bats
# The store under stress: crashes (SIGKILL at random instants), damaged
# files, concurrent readers and writers. Every failure must be a clean exit
# 4 with one line on stderr, never a crash or a wrong answer.
# run_split is called as `run_split ... || true` so that bats' errexit does
# not stop the test on the non-zero statuses we want to check.

load helpers

DAMAGE="$BATS_TEST_DIRNAME/../fixtures/store_damage.py"

setup() {
    T=$(mktemp -d)
}

teardown() {
    # stop the background processes this test started (only those: bats
    # has its own background jobs, e.g. the BATS_TEST_TIMEOUT countdown)
    for p in ${BG:-}; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$T"
}

# gen_records FILE PREFIX N [DIM]: N records with ids PREFIX0.. and vectors
gen_records() {
    $PY - "$@" <<'EOF'
import sys
path, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
dim = int(sys.argv[4]) if len(sys.argv) > 4 else 8
with open(path, "w") as f:
    for i in range(n):
        vec = ",".join(str((i * 7 + k * 13) % 101 - 50) for k in range(dim))
        f.write('{"id":"%s%d","text":"record %d of %s","metadata":{"i":%d},"vector":[%s]}\n'
                % (prefix, i, i, prefix, i, vec))
EOF
}

now_us() { echo $(( $(date +%s%N) / 1000 )); }

# sleep a random time in [0, max_us)
random_sleep() {
    local us=$(( (RANDOM * 32768 + RANDOM) % ($1 + 1) ))
    sleep "$(printf '%d.%06d' $((us / 1000000)) $((us % 1000000)))"
}

# kill_at STORE PID MAX_US: SIGKILL the writer PID of STORE at a random
# instant in [0, MAX_US) and set WHERE to where the kill landed: "mid" (the
# writer held the store's lock: the store was being changed), "before" (it
# had not taken the lock yet) or "after" (it had finished by itself)
kill_at() {
    local st held=0
    random_sleep "$3"
    if lock_held "$1" "$2"; then held=1; fi
    kill -9 "$2" 2>/dev/null || true
    wait "$2" 2>/dev/null && st=0 || st=$?
    if [ "$st" -ne 137 ]; then
        WHERE=after
    elif [ "$held" -eq 1 ]; then
        WHERE=mid
    else
        WHERE=before
    fi
}

# one-line stderr, exit 4, nothing on stdout
expect_clean_store_error() {
    expect_status 4
    [ -z "$out" ] || { echo "stdout: $out" >&2; return 1; }
    [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || { echo "stderr: $err" >&2; return 1; }
    [[ "$err" == "vs-index: error: "* ]]
}

@test "crash safety: SIGKILL at random instants of an ingest (20 of them mid-write) leaves the old or the new generation" {
    gen_records "$T/base.jsonl" a 5000
    gen_records "$T/new.jsonl" b 5000
    # the run: 5000 new records, 1000 deletes, 1000 overwrites of old ones
    $PY - "$T/run.jsonl" "$T/new.jsonl" <<'EOF'
import sys
out = open(sys.argv[1], "w")
out.write(open(sys.argv[2]).read())
for i in range(0, 2000, 2):
    out.write('{"id":"a%d","op":"delete"}\n' % i)
for i in range(1, 2000, 2):
    out.write('{"id":"a%d","text":"overwritten","vector":[1,2,3,4,5,6,7,8]}\n' % i)
EOF
    vs-ingest -q --metric l2 "$T/base.vs" "$T/base.jsonl"
    vs-index export "$T/base.vs" | md5sum >"$T/old.md5"
    cp -r "$T/base.vs" "$T/full.vs"
    t0=$(now_us)
    vs-ingest -q "$T/full.vs" "$T/run.jsonl"
    dur=$(( $(now_us) - t0 ))
    vs-index export "$T/full.vs" | md5sum >"$T/new.md5"
    [ "$(vs-index list-ids "$T/full.vs" | wc -l)" -eq 9000 ]
    # kill until 20 kills have landed mid-write (at most 120 trials): a kill
    # before the writer starts or after it ends proves nothing; the instants
    # are drawn from [0, 2 x the run's time), then from a narrower range
    # while kills keep landing after the end
    old=0 new=0 mid=0 before=0 after=0 i=0 span=$((dur * 2))
    while [ "$mid" -lt 20 ] && [ "$i" -lt 120 ]; do
        i=$((i + 1))
        rm -rf "$T/w.vs"
        cp -r "$T/base.vs" "$T/w.vs"
        vs-ingest -q "$T/w.vs" "$T/run.jsonl" 3>&- &
        pid=$!
        BG=$pid
        kill_at "$T/w.vs" "$pid" "$span"
        case $WHERE in
            mid) mid=$((mid + 1)) ;;
            before) before=$((before + 1)) ;;
            after) after=$((after + 1)); span=$((span * 3 / 4)) ;;
        esac
        run_split vs-index verify "$T/w.vs" || true
        expect_status 0
        got=$(vs-index export "$T/w.vs" | md5sum)
        if [ "$got" = "$(cat "$T/old.md5")" ]; then
            old=$((old + 1))
        elif [ "$got" = "$(cat "$T/new.md5")" ]; then
            new=$((new + 1))
        else
            echo "trial $i: the store holds neither the old nor the new records" >&2
            return 1
        fi
    done
    echo "# crash trials: $i ($mid mid-write, $before before, $after after); $old old, $new new (full run ${dur} us)" >&3
    [ "$mid" -ge 20 ]
    # the next writer removes what the killed ones left behind
    printf '{"id":"z","vector":[1,1,1,1,1,1,1,1]}\n' | vs-ingest -q "$T/w.vs"
    listed=$($PY -c '
import json, sys
t = open(sys.argv[1] + "/MANIFEST").read()
m = json.loads(t[: t.rindex("xxh64 ")])
names = [s["file"] for s in m["segments"]] + [s["del"] for s in m["segments"] if s["del"]]
print("\n".join(sorted(names)))' "$T/w.vs")
    [ "$(ls "$T/w.vs" | grep -v -e '^MANIFEST$' -e '^LOCK$' | sort)" = "$listed" ]
}

@test "crash safety: SIGKILL during compaction leaves the old or the new generation" {
    gen_records "$T/base.jsonl" a 8000
    vs-ingest -q --metric l2 --commit-every 1500 "$T/base.vs" "$T/base.jsonl"
    $PY -c '
for i in range(0, 8000, 3):
    print("{\"id\":\"a%d\",\"op\":\"delete\"}" % i)' | vs-ingest -q "$T/base.vs"
    want=$(vs-index export "$T/base.vs" | md5sum)
    cp -r "$T/base.vs" "$T/full.vs"
    t0=$(now_us)
    vs-index compact "$T/full.vs"
    dur=$(( $(now_us) - t0 ))
    [ "$(vs-index export "$T/full.vs" | md5sum)" = "$want" ]
    # until 8 kills have landed mid-compaction (at most 60 trials; see above)
    mid=0 i=0 span=$((dur * 2))
    while [ "$mid" -lt 8 ] && [ "$i" -lt 60 ]; do
        i=$((i + 1))
        rm -rf "$T/w.vs"
        cp -r "$T/base.vs" "$T/w.vs"
        vs-index compact "$T/w.vs" 3>&- &
        pid=$!
        BG=$pid
        kill_at "$T/w.vs" "$pid" "$span"
        if [ "$WHERE" = mid ]; then mid=$((mid + 1)); fi
        if [ "$WHERE" = after ]; then span=$((span * 3 / 4)); fi
        vs-index verify "$T/w.vs" >/dev/null
        [ "$(vs-index export "$T/w.vs" | md5sum)" = "$want" ]
    done
    echo "# compaction kills: $i trials, $mid mid-compaction (full run ${dur} us)" >&3
    [ "$mid" -ge 8 ]
}

make_store() { # a store with two segments and a deletion file
    gen_records "$T/a.jsonl" a 600
    gen_records "$T/b.jsonl" b 100
    vs-ingest -q --metric l2 "$T/s.vs" "$T/a.jsonl"
    { cat "$T/b.jsonl"; printf '{"id":"a5","op":"delete"}\n'; } | vs-ingest -q "$T/s.vs"
    [ "$(ls "$T/s.vs" | grep -c '^seg-')" -eq 2 ]
    [ "$(ls "$T/s.vs" | grep -c '^del-')" -eq 1 ]
    GOOD=$(vs-index export "$T/s.vs")
    GOOD_IDS=$(vs-index list-ids "$T/s.vs")
    GOOD_INFO=$(vs-index info "$T/s.vs" | info_answer)
}

# info_answer: the answer of `vs-index info` on stdin, less what differs
# between two copies of a store, or between a truncated file and the whole
# one, without being an answer about the records (the path, byte counts)
info_answer() {
    jq -c 'del(.store, .bytes_on_disk, .compression_ratio) | .segments |= map(del(.bytes))'
}

# expect_prefix_of GOOD WHAT: a command that failed on a damaged store
# printed nothing but a prefix of GOOD's lines (streamed before the damage)
expect_prefix_of() {
    [ -z "$out" ] || [ "${1#"$out"$'\n'}" != "$1" ] || [ "$out" = "$1" ] ||
        { echo "$2 of a damaged store printed a wrong record" >&2; return 1; }
}

# check_damaged STORE: verify must fail with exit 4; export, info and
# list-ids either fail cleanly (exit 4, one line) or, when they do not read
# the damaged part (e.g. an optional section such as bm25), give exactly the
# answer of the undamaged store ($GOOD, $GOOD_INFO, $GOOD_IDS): never a
# wrong answer.
check_damaged() {
    run_split vs-index verify "$1" || true
    expect_clean_store_error
    verr=$err
    run_split vs-index export "$1" || true
    if [ "$status" -eq 0 ]; then
        [ "$out" = "$GOOD" ] || { echo "export of a damaged store gave a wrong answer" >&2; return 1; }
    else
        # export streams: records before the damaged block may have been
        # written, and each of them must be right
        expect_status 4
        [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ]
        [[ "$err" == "vs-index: error: "* ]]
        expect_prefix_of "$GOOD" export
    fi
    run_split vs-index info "$1" || true
    if [ "$status" -eq 0 ]; then
        [ "$(printf '%s\n' "$out" | info_answer)" = "$GOOD_INFO" ] ||
            { echo "info of a damaged store gave a wrong answer: $out" >&2; return 1; }
    else
        expect_clean_store_error
    fi
    run_split vs-index list-ids "$1" || true
    if [ "$status" -eq 0 ]; then
        [ "$out" = "$GOOD_IDS" ] ||
            { echo "list-ids of a damaged store gave a wrong answer" >&2; return 1; }
    else
        expect_status 4
        [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ]
        [[ "$err" == "vs-index: error: "* ]]
        expect_prefix_of "$GOOD_IDS" list-ids
    fi
}

@test "corruption: bit flips anywhere in a segment give exit 4, never a crash" {
    make_store
    seg=$T/s.vs/seg-00000001.vseg
    size=$(stat -c %s "$seg")
    for off in 0 9 20 40 60 100 $((size / 5)) $((size / 3)) $((size / 2)) $((size * 2 / 3)) \
               $((size * 4 / 5)) $((size - 200)) $((size - 60)) $((size - 1)); do
        rm -rf "$T/d.vs"
        cp -r "$T/s.vs" "$T/d.vs"
        $PY "$DAMAGE" flip "$T/d.vs/seg-00000001.vseg" "$off"
        check_damaged "$T/d.vs"
        [[ "$verr" == *"seg-00000001.vseg"* ]]
    done
}

@test "corruption: truncated segments give exit 4 naming the file" {
    make_store
    seg=seg-00000002.vseg
    size=$(stat -c %s "$T/s.vs/$seg")
    for len in 0 10 63 64 100 $((size / 2)) $((size - 1)); do
        rm -rf "$T/d.vs"
        cp -r "$T/s.vs" "$T/d.vs"
        truncate -s "$len" "$T/d.vs/$seg"
        run_split vs-index verify "$T/d.vs" || true
        expect_clean_store_error
        [[ "$err" == *"$seg"* ]]
        check_damaged "$T/d.vs"
    done
}

@test "corruption: a segment of another format version is exit 4 'version'" {
    make_store
    $PY "$DAMAGE" seg-version "$T/s.vs/seg-00000001.vseg" 2
    run_split vs-index verify "$T/s.vs" || true
    expect_clean_store_error
    [[ "$err" == *"seg-00000001.vseg"*"format version 2 is not supported"* ]]
    run_split vs-index export "$T/s.vs" || true
    expect_clean_store_error
}

@test "corruption: a manifest of another format version is exit 4 'version'" {
    make_store
    $PY "$DAMAGE" manifest-version "$T/s.vs" 9
    run_split vs-index info "$T/s.vs" || true
    expect_clean_store_error
    [[ "$err" == *"MANIFEST"*"store format version 9 is not supported"* ]]
    # and the writer refuses it too
    run_split vs-ingest "$T/s.vs" "$T/b.jsonl" || true
    expect_status 4
}

@test "corruption: a missing segment or deletion file is exit 4" {
    make_store
    cp -r "$T/s.vs" "$T/d.vs"
    rm "$T/s.vs/seg-00000002.vseg"
    run_split vs-index verify "$T/s.vs" || true
    expect_clean_store_error
    [[ "$err" == *"seg-00000002.vseg"*"missing"* ]]
    rm "$T/d.vs"/del-*.vdel
    run_split vs-index export "$T/d.vs" || true
    expect_clean_store_error
    [[ "$err" == *"del-"*"missing"* ]]
}

@test "corruption: a damaged deletion file is exit 4" {
    make_store
    del=$(ls "$T/s.vs" | grep '^del-')
    $PY "$DAMAGE" flip "$T/s.vs/$del" 40
    run_split vs-index list-ids "$T/s.vs" || true
    expect_clean_store_error
    [[ "$err" == *"$del"*"checksum mismatch"* ]]
}

@test "corruption: a damaged manifest is exit 4 for readers and the writer" {
    make_store
    cp -r "$T/s.vs" "$T/t.vs"
    cp -r "$T/s.vs" "$T/u.vs"
    $PY "$DAMAGE" flip "$T/s.vs/MANIFEST" 30
    for sub in info verify export list-ids compact; do
        run_split vs-index "$sub" "$T/s.vs" || true
        expect_clean_store_error
        [[ "$err" == *"MANIFEST: manifest is damaged: checksum mismatch" ]]
    done
    run_split vs-ingest "$T/s.vs" "$T/b.jsonl" || true
    expect_status 4
    truncate -s 20 "$T/t.vs/MANIFEST"
    run_split vs-index info "$T/t.vs" || true
    expect_clean_store_error
    : >"$T/u.vs/MANIFEST"
    run_split vs-index info "$T/u.vs" || true
    expect_clean_store_error
}

# reader LOG: until $T/stop exists, read the store (list-ids, info) and
# append "IDS RECORDS" per read to LOG; a failed read appends "FAIL ..."
reader() {
    local n r
    while [ ! -e "$T/stop" ]; do
        vs-index list-ids "$T/s.vs" >"$T/ids" 2>"$T/rerr" ||
            { echo "FAIL list-ids: $(cat "$T/rerr")" >>"$1"; return 1; }
        n=$(wc -l <"$T/ids")
        r=$(vs-index info "$T/s.vs" 2>"$T/rerr" | jq -e .records) ||
            { echo "FAIL info: $(cat "$T/rerr")" >>"$1"; return 1; }
        echo "$n $r" >>"$1"
    done
}

# seen N: the reader has logged a list-ids of N records (or has failed)
seen() {
    grep -q -e "^$1 " -e '^FAIL' "$T/reads"
}

@test "concurrency: readers during writes always see one whole generation" {
    # each commit adds exactly 500 records: a reader must see a multiple of
    # 500. The writer gets its input 500 records at a time, the next batch
    # once the reader has seen the last commit, while the reader reads on
    # without pause: every generation is read, and reads overlap commits.
    gen_records "$T/all.jsonl" r 10000 4
    vs-index create --metric l2 "$T/s.vs"
    mkfifo "$T/fifo"
    : >"$T/reads"
    reader "$T/reads" 3>&- &
    rpid=$!
    vs-ingest -q --commit-every 500 "$T/s.vs" <"$T/fifo" 3>&- &
    wpid=$!
    BG="$rpid $wpid"
    exec 7>"$T/fifo"
    for k in $(seq 20); do
        sed -n "$(( (k - 1) * 500 + 1 )),$(( k * 500 ))p" "$T/all.jsonl" >&7
        wait_until 120 seen $((k * 500))
    done
    exec 7>&-
    wait "$wpid"
    touch "$T/stop"
    wait "$rpid"
    reads=$(wc -l <"$T/reads")
    echo "# $reads reads during the write" >&3
    run ! grep '^FAIL' "$T/reads"
    # every read saw whole generations, and each of the 20 commits was seen
    run_split awk '$1 % 500 || $2 % 500 { print "read " NR ": " $0 }' "$T/reads"
    [ -z "$out" ] || { echo "$out" >&2; false; }
    [ "$(awk '$1 > 0 { print $1 }' "$T/reads" | sort -un | wc -l)" -eq 20 ]
    [ "$reads" -ge 20 ]
    [ "$(vs-index list-ids "$T/s.vs" | wc -l)" -eq 10000 ]
    vs-index verify "$T/s.vs" >/dev/null
}

@test "concurrency: a second writer fails naming the holder's pid, or waits with --wait" {
    gen_records "$T/a.jsonl" a 100
    gen_records "$T/b.jsonl" b 100
    vs-ingest -q --metric l2 "$T/s.vs" "$T/a.jsonl"
    mkfifo "$T/fifo"
    # the first writer holds the lock while its input stays open
    vs-ingest -q "$T/s.vs" <"$T/fifo" 3>&- &
    wpid=$!
    BG=$wpid
    exec 7>"$T/fifo"
    # (every command below that outlives this test's use of fd 7 closes it)
    for i in $(seq 100); do
        [ -s "$T/s.vs/LOCK" ] && break
        sleep 0.05
    done
    run_split vs-ingest "$T/s.vs" "$T/b.jsonl" || true
    expect_status 4
    [ "$err" = "vs-ingest: error: $T/s.vs: locked by pid $wpid (use --wait to wait)" ]
    run_split vs-index compact "$T/s.vs" || true
    expect_status 4
    [[ "$err" == *"locked by pid $wpid"* ]]
    run_split vs-ingest --wait=0.3 "$T/s.vs" "$T/b.jsonl" || true
    expect_status 4
    [[ "$err" == *"locked by pid $wpid (gave up waiting)"* ]]
    # readers are not blocked by the writer
    [ "$(vs-index list-ids "$T/s.vs" | wc -l)" -eq 100 ]
    # with --wait the second writer goes on once the first is done
    vs-ingest -q --wait "$T/s.vs" "$T/b.jsonl" 3>&- 7>&- &
    w2=$!
    BG="$wpid $w2"
    sleep 0.3
    kill -0 "$w2"
    printf '{"id":"c1","vector":[1,2,3,4,5,6,7,8]}\n' >&7
    exec 7>&-
    wait "$wpid"
    wait "$w2"
    [ "$(vs-index list-ids "$T/s.vs" | wc -l)" -eq 201 ]
}
