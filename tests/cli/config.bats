#!/usr/bin/env bats
# .vecstore.toml: the example, the keys the programs read, and precedence
# (flag, then VS_* environment, then the file, then the default).
load helpers

setup() {
    ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
    cd "$BATS_TEST_TMPDIR"
    printf 'one two three four five six seven eight nine ten\n' > doc.txt
}

# keys in a TOML file, as dotted names (tables and bare/quoted keys)
toml_keys() {
    awk '
        /^[[:space:]]*\[/ { t = $0; sub(/^[[:space:]]*\[/, "", t); sub(/\].*/, "", t); next }
        /^[[:space:]]*("[^"]*"|[A-Za-z0-9_-]+)[[:space:]]*=/ {
            k = $0; sub(/^[[:space:]]*/, "", k); sub(/[[:space:]]*=.*/, "", k); gsub(/"/, "", k)
            print (t == "" ? k : t "." k)
        }' "$1"
}

uncommented_example() {
    sed -E 's/^# ?((\[[a-z.]+\].*)|([A-Za-z_"][A-Za-z0-9_."-]* = .*))$/\1/' "$ROOT/.vecstore.toml.example"
}

@test "config: the example, every key uncommented, is accepted" {
    run_split vs-chunk --config "$ROOT/.vecstore.toml.example" doc.txt
    expect_status 0
    uncommented_example > all.toml
    run_split vs-chunk --config all.toml doc.txt
    expect_status 0
    [ -n "$out" ]
    [ -z "$err" ]
}

@test "config: the example, the programs and cli_config.c's list name the same keys" {
    uncommented_example > all.toml
    ex=$(toml_keys all.toml | sed 's/^embed\.price\..*/embed.price./' | sort -u)
    # keys the programs name: in calls (vs_cli_setting("query.k")) and in
    # tables of options and keys (vs-serve's {OPT_THREADS, "serve.threads"})
    code=$(cat $(ls "$ROOT"/cmd/*.c | grep -v cli_config.c) |
           grep -oE '"(chunk|embed|eval|ingest|query|rerank|serve)\.[a-z0-9_]+"' |
           tr -d '"' | sort -u)
    code=$(printf '%s\nembed.price.\n' "$code" | sort -u)   # read as embed.price.MODEL
    known=$(sed -n '/known_keys\[\] = {/,/^};/p' "$ROOT/cmd/cli_config.c" | grep -oE '"[a-z0-9_.]+"' | tr -d '"' | sort -u)
    if [ "$ex" != "$code" ] || [ "$ex" != "$known" ]; then
        echo "example vs code:"; diff <(echo "$ex") <(echo "$code") || true
        echo "example vs cli_config.c:"; diff <(echo "$ex") <(echo "$known") || true
        return 1
    fi
}

@test "config: precedence is flag, then environment, then file, then default" {
    printf '[chunk]\nsplitter = "fixed"\nunit = "words"\nsize = 5\n' > .vecstore.toml
    run_split vs-chunk doc.txt                       # file: 5 words a chunk
    expect_status 0
    unmark_out vs-chunk
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 2 ]
    VS_CHUNK_SIZE=2 run_split vs-chunk doc.txt       # environment over file
    expect_status 0
    unmark_out vs-chunk
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 5 ]
    VS_CHUNK_SIZE=2 run_split vs-chunk --size 10 doc.txt   # flag over both
    expect_status 0
    unmark_out vs-chunk
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ]
    rm .vecstore.toml
    run_split vs-chunk --splitter fixed --unit words doc.txt   # default size 1000
    expect_status 0
    unmark_out vs-chunk
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ]
}

@test "config: an unknown key is exit 2 naming FILE:LINE" {
    printf '[chunk]\nsize = 5\nsiez = 6\n' > bad.toml
    run_split vs-chunk --config bad.toml doc.txt
    expect_status 2
    [ -z "$out" ]
    [ "$err" = "vs-chunk: error: bad.toml:3: unknown key 'chunk.siez' (see .vecstore.toml.example)" ]
}

@test "config: a syntax error is exit 2 naming FILE:LINE:COL" {
    printf '[chunk]\nsize = five\n' > .vecstore.toml
    run_split vs-chunk doc.txt
    expect_status 2
    [ -z "$out" ]
    [[ "$err" == "vs-chunk: error: .vecstore.toml:2:8: 'five' is not a valid value"* ]]
}

@test "config: --config naming a missing file is exit 2" {
    run_split vs-chunk --config nope.toml doc.txt
    expect_status 2
    [[ "$err" == *"nope.toml"* ]]
}

@test "config: the nearest .vecstore.toml of a parent directory is read, and -v names it" {
    mkdir -p proj/a/b
    printf '[chunk]\nsplitter = "fixed"\nunit = "words"\nsize = 5\n' > proj/.vecstore.toml
    cp doc.txt proj/a/b/
    cd proj/a/b
    run_split vs-chunk -v doc.txt
    expect_status 0
    unmark_out vs-chunk
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 2 ]
    [ "$err" = "vs-chunk: config: ../../.vecstore.toml" ]
    # a nearer file wins over the parent's
    printf '[chunk]\nsplitter = "fixed"\nunit = "words"\nsize = 2\n' > ../.vecstore.toml
    run_split vs-chunk -v doc.txt
    expect_status 0
    unmark_out vs-chunk
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 5 ]
    [ "$err" = "vs-chunk: config: ../.vecstore.toml" ]
    # --config still names the file; -vv says when there is none
    run_split vs-chunk -v --config ../../.vecstore.toml doc.txt
    expect_status 0
    unmark_out vs-chunk
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 2 ]
    [ "$err" = "vs-chunk: config: ../../.vecstore.toml" ]
    cd "$BATS_TEST_TMPDIR"
    run_split vs-chunk -vv doc.txt
    expect_status 0
    [[ "$err" == *"config: no .vecstore.toml here or in a parent directory"* ]]
}

@test "config: a bad value names FILE:LINE of the file, or the variable, that set it" {
    printf '[chunk]\n\nsize = "big"\n' > .vecstore.toml
    run_split vs-chunk doc.txt
    expect_status 2
    [ -z "$out" ]
    [[ "$err" == "vs-chunk: error: .vecstore.toml:3: setting 'chunk.size' needs an integer from 0 to "*", not 'big'"* ]]
    rm .vecstore.toml
    VS_CHUNK_OVERLAP=x run_split vs-chunk doc.txt
    expect_status 2
    [[ "$err" == "vs-chunk: error: VS_CHUNK_OVERLAP: setting 'chunk.overlap' needs an integer from 0 to "*", not 'x'"* ]]
    run_split vs-chunk --size big doc.txt
    expect_status 2
    [[ "$err" == "vs-chunk: error: option '--size' needs an integer from 0 to "*", not 'big'"* ]]
}

@test "config: -v gives periodic progress lines when stderr is not a terminal; -q none" {
    for i in 1 2 3; do printf '{"id":"r%d","text":"record number %d"}\n' "$i" "$i"; done > in.jsonl
    VS_PROGRESS_SECONDS=0 run_split vs-embed -v --model hash-v1:8 in.jsonl
    expect_status 0
    [ "$(printf '%s\n' "$out" | grep -c '"vector"')" -eq 3 ]
    [[ "$err" =~ vs-embed:\ 3\ records,\ [0-9]+/s,\ [0-9]+\ s ]]
    VS_PROGRESS_SECONDS=0 run_split vs-embed --model hash-v1:8 in.jsonl
    expect_status 0
    [[ "$err" != *records,* ]]
    VS_PROGRESS_SECONDS=0 run_split vs-embed -q --model hash-v1:8 in.jsonl
    expect_status 0
    [ -z "$err" ]
}

# a store of three records with texts and 4-d vectors, for vs-query
make_store() {
    for r in 'a|wal mode journal|1,0,0,0' 'b|partial index rows|0,1,0,0' 'c|wal checkpoint|0,0,1,0'; do
        IFS='|' read -r id text vec <<< "$r"
        printf '{"id":"%s","text":"%s","vector":[%s]}\n' "$id" "$text" "$vec"
    done | vs-ingest -q kb.vs
}

@test "config: [query] mode, fusion, alpha, group_by and keep_going set vs-query's options; flags win" {
    make_store
    q='{"id":"q1","text":"wal","vector":[1,0,0,0]}'
    printf '[query]\nmode = "text"\n' > .vecstore.toml
    run_split vs-query kb.vs <<< "$q"
    expect_status 0
    [[ "$out" == *'"mode":"text"'* ]]
    [[ "$out" != *'"mode":"hybrid"'* ]]
    run_split vs-query --mode vector kb.vs <<< "$q"     # the flag wins
    expect_status 0
    [[ "$out" == *'"distance"'* ]]
    [[ "$out" != *'"mode":"text"'* ]]
    printf '[query]\nmode = "hybrid"\nfusion = "weighted"\nalpha = 0.25\ngroup_by = "doc_id"\n' > .vecstore.toml
    run_split vs-query kb.vs <<< "$q"
    expect_status 0
    [[ "$out" == *'"fusion":{"method":"weighted","alpha":0.25'* ]]
    # group_by: a.1 and a.2 are chunks of one document, one hit for both
    printf '{"id":"a.1","doc_id":"a","text":"wal one","vector":[1,0,0,0]}\n{"id":"a.2","doc_id":"a","text":"wal two","vector":[0.9,0.1,0,0]}\n' |
        vs-ingest -q kb.vs
    run_split vs-query kb.vs <<< "$q"
    expect_status 0
    [ "$(printf '%s\n' "$out" | grep -c '"doc_id":"a"')" -eq 1 ]
    run_split vs-query kb.vs --mode hybrid <<< "$q"     # flags do not undo a setting they do not name
    expect_status 0
    [ "$(printf '%s\n' "$out" | grep -c '"doc_id":"a"')" -eq 1 ]
    # keep_going: a bad query record is skipped with a warning
    printf '[query]\nkeep_going = true\n' > .vecstore.toml
    run_split vs-query kb.vs <<< "$(printf '%s\n{"id":"bad"}\n' "$q")"
    expect_status 0
    [[ "$err" == "vs-query: warning: <stdin>:2: "* ]]
    rm .vecstore.toml
    run_split vs-query kb.vs <<< "$(printf '%s\n{"id":"bad"}\n' "$q")"
    expect_status 3
}

@test "config: a bad [query] value is exit 2 naming FILE:LINE" {
    make_store
    printf '[query]\nk = 5\nmode = "vectr"\n' > .vecstore.toml
    run_split vs-query kb.vs < /dev/null
    expect_status 2
    [ -z "$out" ]
    [ "$(printf '%s\n' "$err" | head -1)" = "vs-query: error: .vecstore.toml:3: setting 'query.mode' needs vector, text, hybrid or auto, not 'vectr'" ]
    printf '[query]\nfusion = "rrf"\nalpha = 2\n' > .vecstore.toml
    run_split vs-query kb.vs < /dev/null
    expect_status 2
    [ "$(printf '%s\n' "$err" | head -1)" = "vs-query: error: .vecstore.toml:3: setting 'query.alpha' needs a number from 0 to 1, not '2'" ]
}

@test "config: [embed] keep_going and field set vs-embed's options" {
    printf '{"id":"a","body":"some words"}\n{"id":"b","body":""}\n' > in.jsonl
    printf '[embed]\nmodel = "hash"\nfield = "body"\nkeep_going = true\n' > .vecstore.toml
    run_split vs-embed in.jsonl
    expect_status 0
    [ "$(printf '%s\n' "$out" | grep -c '"vector"')" -eq 1 ]
    [[ "$err" == "vs-embed: warning: in.jsonl:2: "* ]]
    printf '[embed]\nmodel = "hash"\nfield = "body"\nkeep_going = maybe\n' > .vecstore.toml
    run_split vs-embed in.jsonl
    expect_status 2
    [[ "$err" == "vs-embed: error: .vecstore.toml:"*": 'maybe' is not a valid value"* ]]
    printf '[embed]\nmodel = "hash"\nbatch = 0\n' > .vecstore.toml
    run_split vs-embed in.jsonl
    expect_status 2
    [ -z "$out" ]
    [ "$(printf '%s\n' "$err" | head -1)" = "vs-embed: error: .vecstore.toml:3: setting 'embed.batch' needs an integer from 1 to 65536, not '0'" ]
}

@test "config: [serve] keys set vs-serve's options; paths are relative to the file; bad values name FILE:LINE" {
    make_store
    mkdir -p proj/sub
    printf '[serve]\nmax_k = 3\naccess_log = "access.ndjson"\n' > proj/.vecstore.toml
    cd proj/sub
    start_server ../../kb.vs
    run_split curl -s -X POST "$U/v1/stores/kb/query" -d '{"id":"q","vector":[1,0,0,0],"k":5}'
    [[ "$out" == *'"error"'* ]]
    [[ "$out" == *'k'* ]]
    run_split curl -s -X POST "$U/v1/stores/kb/query" -d '{"id":"q","vector":[1,0,0,0],"k":3}'
    [[ "$out" == *'"hits"'* ]]
    kill "$SRV_PID"
    wait "$SRV_PID" || true
    [ -s ../access.ndjson ]       # next to the file that named it
    [ ! -e access.ndjson ]
    cd "$BATS_TEST_TMPDIR"
    printf '[serve]\nlisten = "127.0.0.1:0"\n\nmax_body = "big"\n' > .vecstore.toml
    run_split vs-serve kb.vs
    expect_status 2
    [ -z "$out" ]
    [ "$(printf '%s\n' "$err" | head -1)" = "vs-serve: error: .vecstore.toml:4: setting 'serve.max_body' needs an integer from 1 to 2147483648, not 'big'" ]
    # --insecure-no-auth has no key: a file must not turn authentication off
    printf '[serve]\ninsecure_no_auth = true\n' > .vecstore.toml
    run_split vs-serve kb.vs
    expect_status 2
    [ "$err" = "vs-serve: error: .vecstore.toml:2: unknown key 'serve.insecure_no_auth' (see .vecstore.toml.example)" ]
}
