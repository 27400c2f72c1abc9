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
    code=$(cat "$ROOT"/cmd/*.c | grep -oE '(vs_cli_setting|setting_[a-z]+)\("[a-z_.]+"' |
           sed -E 's/.*\("//; s/"$//' | sort -u)
    code=$(printf '%s\nembed.price.\n' "$code" | sort -u)   # read as embed.price.MODEL
    known=$(sed -n '/known_keys\[\] = {/,/^};/p' "$ROOT/cmd/cli_config.c" | grep -oE '"[a-z_.]+"' | tr -d '"' | sort -u)
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
