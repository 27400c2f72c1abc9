#!/usr/bin/env bats
# vs-ingest: idempotent runs, --by-doc, --sync, --dry-run, --skip-unchanged;
# vs-index info --digest.

load helpers

setup() {
    T=$(mktemp -d)
    S=$T/kb.vs
}

teardown() {
    rm -rf "$T"
}

# rec DOC CHUNK TEXT [SOURCE [HASH]]: one chunk record with a 3-d vector
rec() {
    local src=${4-d/$1} h=""
    if [ -n "${5:-}" ]; then h=",\"doc_hash\":\"$5\""; fi
    printf '{"id":"%s#%s","doc_id":"%s","chunk":%s,"text":"%s","source":"%s"%s,"vector":[1,%s,0.5]}\n' \
        "$1" "$2" "$1" "$2" "$3" "$src" "$h" "$2"
}

ids() { vs-index list-ids "$1" | jq -r .id | sort | tr '\n' ' '; }
gen() { vs-index info "$1" | jq -r .generation; }
digest() { vs-index info --digest "$1" | jq -r .digest; }

@test "vs-ingest-sync: the same ingest twice keeps the generation, digest and MANIFEST mtime" {
    { rec a 0 x; rec a 1 y; rec b 0 z; } > "$T/r.jsonl"
    vs-ingest -q "$S" "$T/r.jsonl"
    g1=$(gen "$S"); d1=$(digest "$S"); m1=$(stat -c %y "$S/MANIFEST")
    [[ "$d1" =~ ^[0-9a-f]{32}$ ]]
    sleep 0.05
    run_split vs-ingest --stats "$S" "$T/r.jsonl"
    expect_status 0
    [ -z "$out" ]
    [[ "$err" == *"3 records unchanged"* ]]
    [[ "$err" == *'"unchanged":3'* ]]
    [[ "$err" == *'"commits":0'* ]]
    [ "$(gen "$S")" = "$g1" ]
    [ "$(digest "$S")" = "$d1" ]
    [ "$(stat -c %y "$S/MANIFEST")" = "$m1" ]
}

@test "vs-ingest-sync: the digest changes exactly when the contents change" {
    { rec a 0 x; rec b 0 z; } > "$T/r.jsonl"
    vs-ingest -q "$S" "$T/r.jsonl"
    d1=$(digest "$S")
    rec a 0 x2 | vs-ingest -q "$S"
    d2=$(digest "$S")
    [ "$d1" != "$d2" ]
    rec a 0 x | vs-ingest -q "$S"
    [ "$(digest "$S")" = "$d1" ]
    vs-index -q compact "$S"
    [ "$(digest "$S")" = "$d1" ]
    # a vector change alone changes it too
    printf '{"id":"a#0","doc_id":"a","chunk":0,"text":"x","source":"d/a","vector":[1,0.01,0.5]}\n' |
        vs-ingest -q "$S"
    [ "$(digest "$S")" != "$d1" ]
    # same contents in another store, ingested in another order: same digest
    { rec b 0 z; rec a 0 x; } | vs-ingest -q "$T/other.vs"
    [ "$(digest "$T/other.vs")" = "$d1" ]
    run_split vs-index --digest verify "$S"
    expect_status 2
}

@test "vs-ingest-sync: --by-doc replaces a document's chunk set in one commit" {
    { for i in 0 1 2 3 4; do rec a $i "a$i"; done; rec b 0 b0; rec b 1 b1; } | vs-ingest -q "$S"
    g=$(gen "$S")
    { rec a 0 a0; rec a 1 "a1 edited"; rec a 2 a2; } | mark > "$T/r2.jsonl"
    run_split vs-ingest --by-doc --stats "$S" "$T/r2.jsonl"
    expect_status 0
    [[ "$err" == *'"deletes":2'* ]]
    [[ "$err" == *'"upserts":1'* ]]
    [[ "$err" == *'"commits":1'* ]]
    [ "$(ids "$S")" = "a#0 a#1 a#2 b#0 b#1 " ]
    [ "$(gen "$S")" = $((g + 1)) ]
    [ "$(vs-index get "$S" 'a#1' | jq -r .text)" = "a1 edited" ]
    # without --by-doc the extra chunks would stay
    rec b 0 b0 | vs-ingest -q "$S"
    [ "$(ids "$S")" = "a#0 a#1 a#2 b#0 b#1 " ]
    # --by-doc deletes by absence: hand-written input without an end marker
    # is refused, and nothing changes (docs/streams.md)
    g=$(gen "$S")
    run_split vs-ingest --by-doc "$S" <<< "$(rec b 0 b0)"
    expect_status 3
    [ -z "$out" ]
    [ "$err" = "vs-ingest: error: <stdin>: --by-doc deletes what the run does not hold, so it needs a stream ended by its end marker; this input has no stream markers (nothing was committed; docs/streams.md, or --trust-partial)" ]
    [ "$(ids "$S")" = "a#0 a#1 a#2 b#0 b#1 " ]
    [ "$(gen "$S")" = "$g" ]
    vs-ingest -q --by-doc --trust-partial "$S" <<< "$(rec b 0 b0)"
    [ "$(ids "$S")" = "a#0 a#1 a#2 b#0 " ]
}

@test "vs-ingest-sync: --sync deletes absent documents, --sync-scope limits it by source" {
    { rec a 0 a0; rec a 1 a1; rec b 0 b0; rec c 0 c0 e/c; rec k 0 k0 ""; } | vs-ingest -q "$S"
    { rec a 0 a0; rec x 0 x0; } | mark > "$T/r2.jsonl"
    vs-ingest -q --sync --sync-scope d/ "$S" "$T/r2.jsonl"
    [ "$(ids "$S")" = "a#0 c#0 k#0 x#0 " ]
    vs-ingest -q --sync "$S" "$T/r2.jsonl"
    [ "$(ids "$S")" = "a#0 x#0 " ]
    run_split vs-ingest --sync-scope d/ "$S" "$T/r2.jsonl"
    expect_status 2
    [[ "$err" == *"--sync-scope needs --sync"* ]]
}

@test "vs-ingest-sync: --dry-run lists what the real run then does, and changes nothing" {
    { rec a 0 a0; rec a 1 a1; rec b 0 b0; rec c 0 c0; } | vs-ingest -q "$S"
    { printf '{"id":"c#0","op":"delete"}\n'; rec a 0 "a0 new"; rec a 1 a1; rec x 0 x0; } |
        mark > "$T/r2.jsonl"
    g=$(gen "$S"); dg=$(digest "$S"); before=$(ids "$S")
    run_split vs-ingest --sync --dry-run "$S" "$T/r2.jsonl"
    expect_status 0
    expect_ndjson
    [ "$(printf '%s\n' "$out" | jq -r '.action + " " + .id' | sort | tr '\n' ',')" = \
      "add x#0,delete b#0,delete c#0,replace a#0," ]
    [[ "$err" == *"nothing written"* ]]
    [ "$(gen "$S")" = "$g" ]
    [ "$(digest "$S")" = "$dg" ]
    [ "$(ids "$S")" = "$before" ]
    plan="$out"
    vs-index export "$S" | grep -v '"op":"' > "$T/before.jsonl"
    vs-ingest -q --sync "$S" "$T/r2.jsonl"
    vs-index export "$S" | grep -v '"op":"' > "$T/after.jsonl"
    # every listed action happened, and nothing else changed
    /usr/bin/python3 - "$T/before.jsonl" "$T/after.jsonl" <<PY
import json, sys
b = {r["id"]: r for r in map(json.loads, open(sys.argv[1]))}
a = {r["id"]: r for r in map(json.loads, open(sys.argv[2]))}
plan = [json.loads(l) for l in """$plan""".splitlines()]
acts = {p["id"]: p["action"] for p in plan}
for i in set(b) | set(a):
    if i not in a: got = "delete"
    elif i not in b: got = "add"
    elif a[i] != b[i]: got = "replace"
    else: got = None
    assert acts.get(i) == got, (i, acts.get(i), got)
PY
}

@test "vs-ingest-sync: --dry-run errors: missing store 4, filter delete 2, /dev/full 5" {
    run_split vs-ingest --dry-run "$S" < /dev/null
    expect_status 4
    [ ! -e "$S" ]
    rec a 0 a0 | vs-ingest -q "$S"
    run_split vs-ingest --dry-run "$S" <<< '{"op":"delete","filter":"chunk = 0"}'
    expect_status 2
    [[ "$err" == *"filter"* ]]
    run bash -c "rec() { :; }; printf '%s\n' '{\"id\":\"n\",\"vector\":[1,2,3]}' | vs-ingest --dry-run '$S' > /dev/full"
    [ "$status" -eq 5 ]
}

@test "vs-ingest-sync: --skip-unchanged leaves documents with the stored doc_hash alone" {
    { rec a 0 a0 d/a h1; rec a 1 a1 d/a h1; rec b 0 b0 d/b h2; } | vs-ingest -q "$S"
    g=$(gen "$S"); dg=$(digest "$S")
    # same hashes, other texts: not read at all; b is present for --sync
    { rec a 0 other d/a h1; rec b 0 other d/b h2; } | mark > "$T/r2.jsonl"
    run_split vs-ingest --skip-unchanged --sync --stats "$S" "$T/r2.jsonl"
    expect_status 0
    [[ "$err" == *'"unchanged":2'* ]]
    [ "$(gen "$S")" = "$g" ]
    [ "$(digest "$S")" = "$dg" ]
    [ "$(ids "$S")" = "a#0 a#1 b#0 " ]
    # a new hash replaces the document
    rec a 0 "a0 v2" d/a h3 | mark | vs-ingest -q --skip-unchanged --by-doc "$S"
    [ "$(ids "$S")" = "a#0 b#0 " ]
    [ "$(vs-index get "$S" 'a#0' | jq -r .doc_hash)" = h3 ]
}

# pipeline over the tree $T/docs: chunk, embed (hash model), ingest
pipeline() {
    (cd "$T" && vs-chunk --size 40 --overlap 0 docs | vs-embed --model hash) > "$T/chunks.jsonl"
    vs-ingest -q "$@" "$S" "$T/chunks.jsonl"
}

@test "vs-ingest-sync: a tree with files added, edited, shortened, renamed, deleted and unchanged" {
    mkdir -p "$T/docs"
    for i in 1 2 3 4 5 6; do echo "Paragraph $i of the long file a, with words."; echo; done > "$T/docs/a.md"
    echo "Bravo text." > "$T/docs/b.md"
    echo "Charlie text." > "$T/docs/c.md"
    echo "Delta text." > "$T/docs/d.md"
    echo "Echo text." > "$T/docs/e.md"
    pipeline --sync --sync-scope docs/
    na=$(vs-index list-ids "$S" | grep -c '"a.md#')
    [ "$na" -ge 4 ]
    # doc_hash: one value for all chunks of a document
    [ "$(vs-index export "$S" | jq -r 'select(.doc_id=="a.md") | .doc_hash' | sort -u | wc -l)" = 1 ]
    hb=$(vs-index get "$S" 'b.md#0' | jq -r .doc_hash)
    vs-index get "$S" 'e.md#0' > "$T/e-before.json"
    g1=$(gen "$S")
    # changes between runs
    for i in 1 2; do echo "Paragraph $i of the long file a, with words."; echo; done > "$T/docs/a.md"
    echo "Bravo text, edited." > "$T/docs/b.md"
    mv "$T/docs/c.md" "$T/docs/c2.md"
    rm "$T/docs/d.md"
    echo "Foxtrot text." > "$T/docs/f.md"
    # 10 of the 16 records go: more than the default --max-delete 50%
    dg1=$(digest "$S")
    run_split pipeline --sync --sync-scope docs/
    expect_status 3
    [ "$err" = "vs-ingest: error: $S: the run would delete 10 of 16 records (62.5%), more than --max-delete 50%; nothing was committed" ]
    [ "$(gen "$S")" = "$g1" ]
    [ "$(digest "$S")" = "$dg1" ]
    pipeline --sync --sync-scope docs/ --max-delete 10
    [ "$(gen "$S")" = $((g1 + 1)) ]
    [ "$(vs-index list-ids "$S" | jq -r .id | grep -v '^a\.md#' | sort | tr '\n' ' ')" = \
      "b.md#0 c2.md#0 e.md#0 f.md#0 " ]
    na2=$(vs-index list-ids "$S" | grep -c '"a.md#')
    [ "$na2" -lt "$na" ]
    [ "$na2" -ge 1 ]
    [ "$na2" = "$(grep -c '"doc_id":"a.md"' "$T/chunks.jsonl")" ]
    [ "$(vs-index list-ids "$S" | jq -r .id | grep '^a\.md#' | sort -t'#' -k2n | tail -n 1)" = "a.md#$((na2 - 1))" ]
    [ "$(vs-index get "$S" 'b.md#0' | jq -r .text)" = "Bravo text, edited." ]
    [ "$(vs-index get "$S" 'b.md#0' | jq -r .doc_hash)" != "$hb" ]
    diff "$T/e-before.json" <(vs-index get "$S" 'e.md#0')
    # the store holds exactly what a fresh ingest of the tree gives
    vs-ingest -q "$T/fresh.vs" "$T/chunks.jsonl"
    [ "$(digest "$S")" = "$(digest "$T/fresh.vs")" ]
    # an identical second run: no new generation
    d2=$(digest "$S"); g2=$(gen "$S")
    pipeline --sync --sync-scope docs/
    [ "$(gen "$S")" = "$g2" ]
    [ "$(digest "$S")" = "$d2" ]
    # touch only: same doc_hash, another file stamp: --skip-unchanged
    # rewrites the document once (so that vs-chunk --since can trust its
    # stamp), then leaves it alone
    touch -d '2001-01-01' "$T/docs/e.md"
    pipeline --sync --skip-unchanged
    [ "$(gen "$S")" = $((g2 + 1)) ]
    [ "$(vs-index get "$S" 'e.md#0' | jq -r .metadata.mtime)" = 2001-01-01T00:00:00Z ]
    pipeline --sync --skip-unchanged
    [ "$(gen "$S")" = $((g2 + 1)) ]
    # stamps alone (doc_hash the same, no file_stamp on either side): left
    jq -c 'del(.metadata.file_stamp)' "$T/chunks.jsonl" > "$T/nostamp.jsonl"
    vs-ingest -q --by-doc "$S" "$T/nostamp.jsonl"
    g3=$(gen "$S")
    jq -c '.text = "changed"' "$T/nostamp.jsonl" | vs-ingest -q --skip-unchanged --by-doc "$S"
    [ "$(gen "$S")" = "$g3" ]
}

@test "vs-ingest-sync: SIGKILL in the middle of a sync leaves the previous state; a rerun completes it" {
    { for i in 0 1 2; do rec a $i "a$i"; done; rec b 0 b0; rec c 0 c0; } | vs-ingest -q "$S"
    g=$(gen "$S"); dg=$(digest "$S")
    { rec a 0 "a0 new"; rec x 0 x0; } | mark > "$T/r2.jsonl"
    mkfifo "$T/fifo"
    vs-ingest -q --sync "$S" < "$T/fifo" &
    pid=$!
    exec 5> "$T/fifo"
    head -n 1 "$T/r2.jsonl" >&5
    # the kill lands mid-write: the writer holds the store's lock and has
    # read the first record (no sleep: both are waited for)
    wait_until 60 lock_held "$S" "$pid"
    wait_until 60 pipe_drained 5
    kill -KILL "$pid"
    wait "$pid" && st=0 || st=$?
    exec 5>&-
    [ "$st" -eq 137 ]   # it died by the kill, not by itself ...
    [ "$(cat "$S"/LOCK)" = "$pid" ]   # ... holding the lock (a writer empties LOCK when it lets go)
    [ "$(gen "$S")" = "$g" ]
    [ "$(digest "$S")" = "$dg" ]
    vs-index -q verify "$S" > /dev/null
    vs-ingest -q --sync --max-delete 100% "$S" "$T/r2.jsonl"
    [ "$(ids "$S")" = "a#0 x#0 " ]
    [ "$(vs-index get "$S" 'a#0' | jq -r .text)" = "a0 new" ]
}

# Check a Prometheus text-format file (exposition format 0.0.4) and print
# its samples as JSON {"name{labels}": value}.
prom_parse() {
    $PY - "$1" <<'PYEOF'
import json, math, re, sys
name_re = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
lab_re = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
sample = re.compile(r'^(%s)(\{%s(?:,%s)*\})? (\S+)$' % (name_re, lab_re, lab_re))
text = open(sys.argv[1], encoding="utf-8").read()
assert text.endswith("\n"), "no final newline"
helps, types, seen, out = {}, {}, [], {}
for i, line in enumerate(text.splitlines(), 1):
    if line.startswith("# HELP "):
        n = line.split(" ")[2]
        assert n not in helps, "line %d: second HELP for %s" % (i, n)
        helps[n] = i
    elif line.startswith("# TYPE "):
        _, _, n, t = line.split(" ")
        assert t in ("gauge", "counter", "untyped"), "line %d: type %s" % (i, t)
        assert n not in types and n not in seen, "line %d: TYPE after samples" % i
        types[n] = t
    else:
        m = sample.match(line)
        assert m, "line %d is not a sample: %r" % (i, line)
        n = m.group(1)
        assert n in types and n in helps, "line %d: %s has no TYPE/HELP" % (i, n)
        assert not seen or seen[-1] == n or n not in seen, "line %d: %s not grouped" % (i, n)
        seen.append(n)
        v = float(m.group(3))
        assert math.isfinite(v)
        out[n + (m.group(2) or "")] = v
print(json.dumps(out))
PYEOF
}

@test "vs-ingest-sync: --metrics-file writes the run's counters in Prometheus text format, atomically" {
    mkdir "$T/prom"
    M=$T/prom/vecstore.prom
    { rec a 0 a0; rec a 1 a1; rec b 0 b0; rec c 0 c0; } > "$T/r1.jsonl"
    t0=$(date +%s)
    run_split vs-ingest -q --metrics-file "$M" "$S" "$T/r1.jsonl"
    expect_status 0
    [ -z "$out" ]
    [ -z "$err" ]
    [ "$(stat -c %a "$M")" = 644 ]
    [ "$(ls "$T/prom")" = vecstore.prom ] # no temporary file left
    j=$(prom_parse "$M")
    l='{store=\"'$S'\"'
    [ "$(jq ".\"vecstore_ingest_last_run_records$l,action=\\\"read\\\"}\"" <<<"$j")" = 4 ]
    [ "$(jq ".\"vecstore_ingest_last_run_records$l,action=\\\"added\\\"}\"" <<<"$j")" = 4 ]
    [ "$(jq ".\"vecstore_ingest_last_run_exit_status$l}\"" <<<"$j")" = 0 ]
    [ "$(jq ".\"vecstore_ingest_last_run_commits$l}\"" <<<"$j")" = 1 ]
    [ "$(jq ".\"vecstore_store_generation$l}\"" <<<"$j")" = 1 ]
    [ "$(jq ".\"vecstore_store_records$l}\"" <<<"$j")" = 4 ]
    ok1=$(jq ".\"vecstore_ingest_last_success_timestamp_seconds$l}\"" <<<"$j")
    jq -e ".\"vecstore_ingest_last_run_timestamp_seconds$l}\" == $ok1 and $ok1 >= $t0 and $ok1 < $t0 + 60" <<<"$j"
    jq -e ".\"vecstore_ingest_last_run_duration_seconds$l}\" >= 0" <<<"$j"
    # every action is there, in one group with one HELP and TYPE
    [ "$(grep -c '^vecstore_ingest_last_run_records{' "$M")" = 6 ]
    [ "$(grep -c '^# TYPE vecstore_ingest_last_run_records gauge$' "$M")" = 1 ]
    # a sync: replaced, deleted, unchanged, skipped (--keep-going)
    { rec a 0 a0; rec b 0 "b0 new"; echo '{"id":'; } | mark > "$T/r2.jsonl"
    vs-ingest -q --sync --keep-going --metrics-file "$M" "$S" "$T/r2.jsonl"
    j=$(prom_parse "$M")
    for kv in read=3 added=0 replaced=1 deleted=2 unchanged=1 skipped=1; do
        [ "$(jq ".\"vecstore_ingest_last_run_records$l,action=\\\"${kv%=*}\\\"}\"" <<<"$j")" = "${kv#*=}" ]
    done
    ok2=$(jq ".\"vecstore_ingest_last_success_timestamp_seconds$l}\"" <<<"$j")
    # a failed run: its exit status; the last success time is the previous one
    echo '{"id":' > "$T/bad.jsonl"
    run_split vs-ingest -q --metrics-file "$M" "$S" "$T/bad.jsonl"
    expect_status 3
    j=$(prom_parse "$M")
    [ "$(jq ".\"vecstore_ingest_last_run_exit_status$l}\"" <<<"$j")" = 3 ]
    [ "$(jq ".\"vecstore_ingest_last_success_timestamp_seconds$l}\"" <<<"$j")" = "$ok2" ]
    jq -e ".\"vecstore_ingest_last_run_timestamp_seconds$l}\" >= $ok2" <<<"$j"
    # a store error (locked by nobody, but not a store): exit 4 is recorded
    mkdir "$T/notastore"; echo junk > "$T/notastore/MANIFEST"
    run_split vs-ingest -q --metrics-file "$T/prom/other.prom" "$T/notastore" "$T/r1.jsonl"
    expect_status 4
    grep -qx "vecstore_ingest_last_run_exit_status{store=\"$T/notastore\"} 4" "$T/prom/other.prom"
    [ "$(grep -c last_success "$T/prom/other.prom")" = 0 ]
}

@test "vs-ingest-sync: --metrics-file errors: unwritable is exit 5, --dry-run excludes it" {
    rec a 0 a0 > "$T/r.jsonl"
    run_split vs-ingest -q --metrics-file "$T/no/such/dir/m.prom" "$S" "$T/r.jsonl"
    expect_status 5
    [[ "$err" == *"vs-ingest: error: "*"no/such/dir/m.prom"* ]]
    [ "$(gen "$S")" = 1 ] # the ingest itself was done
    run_split vs-ingest --dry-run --metrics-file "$T/m.prom" "$S" "$T/r.jsonl"
    expect_status 2
    [[ "$err" == *"--metrics-file and --dry-run"* ]]
    [ ! -e "$T/m.prom" ]
    # label values are escaped
    mkdir "$T/we\"ird"
    vs-ingest -q --metrics-file "$T/m.prom" "$T/we\"ird/kb.vs" "$T/r.jsonl"
    prom_parse "$T/m.prom" | jq -e 'keys | any(test("store=\"[^\"]*we\\\\\"ird/kb.vs\""))'
}
