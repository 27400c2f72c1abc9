#!/usr/bin/env bats
# vs-shard: one shard of a record stream (jump consistent hash of XXH64 of
# the doc_id, else the id); the shards of a stream partition it.

load helpers

setup() {
    cd "$BATS_TEST_TMPDIR"
    mkdir docs
    for i in $(seq 1 24); do
        printf '# Doc %s\n\nParagraph one of document %s about topic %s.\n\nParagraph two, with more words so that it is long enough to stand alone as a chunk of its own here.\n' \
            "$i" "$i" "$((i % 5))" > "docs/d$i.md"
    done
    vs-chunk --size 60 --overlap 0 docs > all.ndjson
}

# the data records of a stream file, sorted
records() { grep -v '"op":"begin"\|"op":"end"' "$1" | sort; }

@test "vs-shard --help lists the options and matches the man page" {
    run_split vs-shard --help
    expect_status 0
    [[ "$out" == "usage: vs-shard"* ]]
    [ -z "$err" ]
    help_matches_man vs-shard
}

@test "vs-shard: the S shards partition the stream, each a complete marked stream, lines unchanged" {
    for i in 0 1 2; do
        run_split vs-shard "$i/3" all.ndjson
        expect_status 0
        [ -z "$err" ]
        unmark_out vs-shard
        printf '%s\n' "$out" > "s$i.ndjson"
    done
    cat s0.ndjson s1.ndjson s2.ndjson | grep -c . > n.txt
    [ "$(cat n.txt)" -eq "$(records all.ndjson | wc -l)" ]
    [ "$(cat s0.ndjson s1.ndjson s2.ndjson | sort)" = "$(records all.ndjson)" ]
    # no shard is empty with 24 documents in 3 shards
    [ -s s0.ndjson ]
    [ -s s1.ndjson ]
    [ -s s2.ndjson ]
}

@test "vs-shard: every chunk of a document is in one shard, the one --which names" {
    for i in 0 1 2 3; do
        vs-shard "$i/4" all.ndjson > "s$i.ndjson"
        run_split $PY -c '
import json, sys
docs = set()
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("op") not in ("begin", "end"):
        docs.add(r["doc_id"])
print("\n".join(sorted(docs)))' "s$i.ndjson"
        expect_status 0
        printf '%s\n' "$out" > "docs$i.txt"
        while read -r doc; do
            [ "$(vs-shard --which "$doc" 0/4)" = "$i" ] || false
        done < "docs$i.txt"
    done
    # no document in two shards
    [ -z "$(cat docs0.txt docs1.txt docs2.txt docs3.txt | sort | uniq -d)" ]
}

@test "vs-shard --which: XXH64 (xxhsum -H1) then the jump consistent hash, computed independently" {
    command -v xxhsum >/dev/null || skip "xxhsum is not installed (scripts/deps.sh installs xxhash)"
    for key in "docs/d1.md" "a" "Café/naïve.md" "x#3" "$(printf 'k%.0s' $(seq 1 300))"; do
        h=$(printf '%s' "$key" | xxhsum -H1 - | cut -d' ' -f1)
        for s in 1 2 7 1000 65536; do
            want=$($PY -c '
import sys
key, n = int(sys.argv[1], 16), int(sys.argv[2])
b, j = -1, 0
while j < n:
    b = j
    key = (key * 2862933555777941757 + 1) % 2**64
    j = int((b + 1) * (float(1 << 31) / float((key >> 33) + 1)))
print(b)' "$h" "$s")
            run_split vs-shard --which "$key" "0/$s"
            expect_status 0
            [ "$out" = "$want" ] || { echo "key '$key' S=$s: got $out, want $want" >&2; false; }
        done
    done
}

@test "vs-shard: from S to S+1 shards a record stays in its shard or moves to the new one" {
    for i in 0 1 2 3; do vs-shard "$i/4" all.ndjson | grep -v '"op":"begin"\|"op":"end"' | sort > "a$i"; done
    for i in 0 1 2 3 4; do vs-shard "$i/5" all.ndjson | grep -v '"op":"begin"\|"op":"end"' | sort > "b$i"; done
    moved=0
    for i in 0 1 2 3; do
        # what left shard i went to shard 4, nowhere else
        comm -23 "a$i" "b$i" > gone
        [ -z "$(comm -23 gone b4)" ]
        moved=$((moved + $(wc -l < gone)))
        # nothing arrived in shard i from another old shard
        [ -z "$(comm -13 "a$i" "b$i")" ]
    done
    [ "$moved" -eq "$(wc -l < b4)" ]
}

@test "vs-shard --count: records per shard, summing to the input's" {
    run_split vs-shard --count 0/3 all.ndjson
    expect_status 0
    [ -z "$err" ]
    [ "$(printf '%s\n' "$out" | cut -f1 | tr '\n' ' ')" = "0 1 2 " ]
    for i in 0 1 2; do
        want=$(vs-shard "$i/3" all.ndjson | grep -vc '"op":"begin"\|"op":"end"')
        [ "$(printf '%s\n' "$out" | awk -v i="$i" '$1 == i {print $2}')" = "$want" ]
    done
}

@test "vs-shard: deletes without doc_id and deletes by filter go to every shard; keep follows its document" {
    printf '%s\n' '{"op":"delete","id":"docs/d1.md#0"}' '{"op":"delete","filter":"lang = \"en\""}' \
        '{"op":"keep","doc_id":"docs/d7.md","source":"docs/d7.md"}' \
        '{"op":"delete","id":"docs/d9.md#1","doc_id":"docs/d9.md"}' > ops.ndjson
    k=$(vs-shard --which docs/d7.md 0/3)
    d9=$(vs-shard --which docs/d9.md 0/3)
    for i in 0 1 2; do
        run_split vs-shard "$i/3" ops.ndjson
        expect_status 0
        [ "$(printf '%s\n' "$out" | grep -c '"op":"delete","id":"docs/d1.md#0"')" -eq 1 ]
        [ "$(printf '%s\n' "$out" | grep -c '"filter"')" -eq 1 ]
        [ "$(printf '%s\n' "$out" | grep -c '"op":"keep"')" -eq "$([ "$i" = "$k" ] && echo 1 || echo 0)" ]
        [ "$(printf '%s\n' "$out" | grep -c 'd9.md')" -eq "$([ "$i" = "$d9" ] && echo 1 || echo 0)" ]
    done
}

@test "vs-shard: a cut stream is exit 3 with no end marker, so vs-ingest --sync after it commits nothing" {
    head -n 5 all.ndjson > cut.ndjson
    run_split vs-shard 0/1 cut.ndjson
    expect_status 3
    [[ "$err" == *"cut.ndjson:5"*"without its end marker"* ]]
    unmark_out --cut vs-shard
    vs-embed --model hash all.ndjson 2>/dev/null | vs-ingest kb.vs 2>/dev/null
    before=$(vs-index list-ids kb.vs | sort)
    [ -n "$before" ]
    set +e
    vs-shard 0/1 cut.ndjson 2>/dev/null | vs-embed --model hash 2>/dev/null | vs-ingest --sync kb.vs 2>ingest.err
    rc=${PIPESTATUS[2]}
    set -e
    [ "$rc" -eq 3 ]
    grep -q "nothing was committed" ingest.err
    [ "$(vs-index list-ids kb.vs | sort)" = "$before" ]
}

@test "vs-shard: sharded ingest holds the same records as one store" {
    vs-embed --model hash all.ndjson 2>/dev/null > emb.ndjson
    vs-ingest one.vs < emb.ndjson 2>/dev/null
    for i in 0 1; do
        vs-shard "$i/2" emb.ndjson | vs-ingest "kb$i.vs" 2>/dev/null
    done
    vs-index list-ids one.vs | sort > one.ids
    cat <(vs-index list-ids kb0.vs) <(vs-index list-ids kb1.vs) | sort > both.ids
    [ -s one.ids ]
    [ "$(cat one.ids)" = "$(cat both.ids)" ]
    [ -z "$(comm -12 <(vs-index list-ids kb0.vs | sort) <(vs-index list-ids kb1.vs | sort))" ]
}

@test "vs-shard: usage errors are exit 2; bad records exit 3 naming FILE:LINE and field" {
    run_split vs-shard
    expect_status 2
    [[ "$err" == *"missing I/S"* ]]
    for spec in 4/4 1/0 x/2 1/2x 0/65537 1; do
        run_split vs-shard "$spec" all.ndjson
        expect_status 2
        [ -z "$out" ]
        [[ "$err" == *"is not I/S"* ]]
    done
    run_split vs-shard --which a --count 0/2
    expect_status 2
    printf '%s\n' '{"id":"a"}' 'not json' > bad.ndjson
    run_split vs-shard 0/1 bad.ndjson
    expect_status 3
    [[ "$err" == *"bad.ndjson:2"* ]]
    printf '%s\n' '{"text":"no id"}' > noid.ndjson
    run_split vs-shard 0/1 noid.ndjson
    expect_status 3
    [[ "$err" == *"noid.ndjson:1"*"field 'id' is missing"* ]]
    printf '%s\n' '{"id":"a","doc_id":7}' > baddoc.ndjson
    run_split vs-shard 0/1 baddoc.ndjson
    expect_status 3
    [[ "$err" == *"baddoc.ndjson:1"*"field 'doc_id' must be a string"* ]]
    run_split vs-shard 0/1 missing.ndjson
    expect_status 5
    [[ "$err" == *"missing.ndjson"* ]]
}

# shards of the same records, embedded once, and three queries
shard_stores() {
    vs-embed --model hash all.ndjson 2>/dev/null > emb.ndjson
    vs-ingest one.vs < emb.ndjson 2>/dev/null
    for i in 0 1 2; do vs-shard "$i/3" emb.ndjson | vs-ingest "s$i.vs" 2>/dev/null; done
    # a marked stream of three queries, so hits are marked too
    printf '%s\n' '{"op":"begin","stream":"vecstore/1","program":"test"}' \
        '{"id":"q1","text":"paragraph about topic 3"}' '{"id":"q2","text":"document 17"}' \
        '{"id":"q3","text":"long enough to stand alone"}' \
        '{"op":"end","stream":"vecstore/1","program":"test","records":3}' |
        vs-embed --model hash 2>/dev/null > q.ndjson
}

@test "vs-query --merge of exact searches of the shards gives the hits of one store, byte for byte" {
    shard_stores
    vs-query --exact --mode vector -k 7 one.vs q.ndjson > one.hits
    for i in 0 1 2; do vs-query --exact --mode vector -k 7 "s$i.vs" q.ndjson > "h$i.hits"; done
    run_split vs-query --merge -k 7 h0.hits h1.hits h2.hits
    expect_status 0
    [ -z "$err" ]
    [ "$out" = "$(cat one.hits)" ]
    [ "$(grep -c '"qid"' one.hits)" -eq 21 ]
    # the runs given in another order, and as plain unmarked lines, merge the same
    run_split vs-query --merge -k 7 h2.hits h0.hits h1.hits
    [ "$out" = "$(cat one.hits)" ]
    cat h0.hits h1.hits h2.hits | grep -v '"op":"begin"\|"op":"end"' > loose.hits
    run_split vs-query --merge -k 7 loose.hits
    expect_status 0
    [ "$out" = "$(grep -v '"op":"begin"\|"op":"end"' one.hits)" ]
}

@test "vs-query --merge: a qid with no hits gets a hits 0 record; text and hybrid hits are merged with a warning" {
    shard_stores
    printf '%s\n' '{"qid":"q9","hits":0}' > empty.hits
    run_split vs-query --merge empty.hits
    expect_status 0
    [ "$out" = '{"qid":"q9","hits":0}' ]
    [ -z "$err" ]
    for i in 0 1 2; do vs-query -k 3 "s$i.vs" q.ndjson > "t$i.hits"; done
    run_split vs-query --merge -k 3 t0.hits t1.hits t2.hits
    expect_status 0
    [[ "$err" == *"warning: 9 merged hits are BM25, hybrid or fused hits"*"not the ranking of one store"* ]]
    unmark_out vs-query
    [ "$(printf '%s\n' "$out" | grep -c '"qid"')" -eq 9 ]
}

@test "vs-query --merge: search options are usage errors; a cut run is exit 3; a bad hit names RUN:LINE" {
    shard_stores
    vs-query --exact --mode vector -k 3 s0.vs q.ndjson > h0.hits
    for opt in --exact "--ef 10" "--filter x=1" --fuse "--mode vector" --explain; do
        # shellcheck disable=SC2086
        run_split vs-query --merge $opt h0.hits
        expect_status 2
        [ -z "$out" ]
        [[ "$err" == *"--merge merges hit streams: it takes -k and --format, not --"* ]]
    done
    run_split vs-query --merge
    expect_status 2
    [[ "$err" == *"--merge needs at least one RUN file"* ]]
    head -n 3 h0.hits > cut.hits
    run_split vs-query --merge cut.hits
    expect_status 3
    [[ "$err" == *"cut.hits"*"without its end marker"* ]]
    printf '%s\n' '{"qid":"a","id":"x","score":1}' '{"qid":"a","id":"y"}' > bad.hits
    run_split vs-query --merge bad.hits
    expect_status 3
    [[ "$err" == *"bad.hits:2"*"field 'score' is missing"* ]]
}

@test "vs-query --shard: one process over the shard stores gives one store's exact hits, from a file or stdin" {
    shard_stores
    vs-query --exact --mode vector -k 7 one.vs q.ndjson > one.hits
    run_split vs-query --exact --mode vector -k 7 --shard s0.vs --shard s1.vs --shard s2.vs q.ndjson
    expect_status 0
    [ -z "$err" ]
    [ "$out" = "$(cat one.hits)" ]
    run_split vs-query --exact --mode vector -k 7 --shard s0.vs --shard s1.vs --shard s2.vs < q.ndjson
    expect_status 0
    [ "$out" = "$(cat one.hits)" ]
    # a query's own k wins over -k, in the union of the shards
    printf '%s\n' '{"id":"a","text":"document 5","k":12}' | vs-embed --model hash 2>/dev/null > qk.ndjson
    vs-query --exact --mode vector one.vs qk.ndjson > want.hits
    [ "$(grep -c '"qid"' want.hits)" -eq 12 ]
    run_split vs-query --exact --mode vector --shard s0.vs --shard s1.vs --shard s2.vs qk.ndjson
    expect_status 0
    [ "$out" = "$(cat want.hits)" ]
}

@test "vs-query --shard: --query output is unmarked as for one store; hybrid merges warn; MMR and metadata groups are refused" {
    shard_stores
    run_split vs-query -k 3 --shard s0.vs --shard s1.vs --shard s2.vs --query "topic 3"
    expect_status 0
    [ "$(printf '%s\n' "$out" | head -n 1 | cut -c1-12)" = '{"qid":"q1",' ]
    [ "$(printf '%s\n' "$out" | grep -c '"qid":"q1"')" -eq 3 ]
    [[ "$err" == *"warning: 3 hits are BM25, hybrid or fused hits"* ]]
    run_split vs-query --mmr 0.5 --shard s0.vs --shard s1.vs q.ndjson
    expect_status 2
    [[ "$err" == *"MMR over shards is not built"* ]]
    run_split vs-query --group-by metadata.title --shard s0.vs --shard s1.vs q.ndjson
    expect_status 2
    [[ "$err" == *"only doc_id"* ]]
    run_split vs-query --fuse --shard s0.vs a b
    expect_status 2
    run_split vs-query --shard s0.vs --shard missing.vs q.ndjson
    expect_status 4
    [[ "$err" == *"missing.vs"* ]]
    [ -z "$out" ]
}
