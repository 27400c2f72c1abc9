#!/usr/bin/env bats
# The public C API: libvecstore.so.1 exports exactly lib/vecstore.h's
# functions, make install puts header, both libraries, vecstore.pc and the
# man page under PREFIX, and the programs of examples/c/ build against the
# installed library through pkg-config (shared and static) and run.
load helpers

setup() {
    ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
    build=$(cd "$(dirname "$VS_BIN")" && pwd)
    # a sanitizer build's library needs the sanitizer runtime in the program
    SANFLAGS=
    if ldd "$build/libvecstore.so.1" | grep -q libasan; then
        SANFLAGS="-fsanitize=address,undefined"
    fi
}

@test "api: nm -D of libvecstore.so.1 lists exactly the functions of vecstore.h" {
    run_split nm -D --defined-only "$build/libvecstore.so.1"
    expect_status 0
    got=$(printf '%s\n' "$out" | awk '$2 == "T" {print $3}' | sed 's/@.*//' | sort -u)
    # every declaration of the header starts with VS_API
    want=$(grep -E '^VS_API ' "$ROOT/lib/vecstore.h" | grep -oE 'vs_[a-z0-9_]+\(' | tr -d '(' | sort -u)
    [ "$(printf '%s\n' "$want" | wc -l)" -eq "$(grep -c '^VS_API ' "$ROOT/lib/vecstore.h")" ]
    [ "$(printf '%s\n' "$want" | wc -l)" -ge 35 ]
    diff <(printf '%s\n' "$want") <(printf '%s\n' "$got")
    # nothing else: no data symbols, no internal vs_ functions
    other=$(printf '%s\n' "$out" | awk '$2 != "T" && $2 != "A" {print}')
    [ -z "$other" ]
    run_split readelf -d "$build/libvecstore.so.1"
    expect_status 0
    [[ "$out" == *"Library soname: [libvecstore.so.1]"* ]]
}

@test "api: vecstore.h's status list is lib/core/vs_status.h's" {
    pub=$(grep -oE '^ *VS_(OK|E_[A-Z_]+) = [0-9]+' "$ROOT/lib/vecstore.h" | tr -d ' ')
    int=$(grep -oE 'X\(VS_(OK|E_[A-Z_]+), *[0-9]+' "$ROOT/lib/core/vs_status.h" |
          sed -E 's/X\(([A-Z_]+), *([0-9]+)/\1=\2/')
    [ "$(printf '%s\n' "$int" | wc -l)" -ge 27 ]
    diff <(printf '%s\n' "$int") <(printf '%s\n' "$pub")
}

@test "api: vecstore.h compiles alone as C99 and C++" {
    printf '#include "vecstore.h"\nint main(void) { return vs_version() == 0; }\n' > "$BATS_TEST_TMPDIR/t.c"
    run_split cc -std=c99 -pedantic -Wall -Wextra -Werror -fsyntax-only -I"$ROOT/lib" "$BATS_TEST_TMPDIR/t.c"
    expect_status 0
    run_split c++ -Wall -Werror -fsyntax-only -I"$ROOT/lib" -x c++ "$BATS_TEST_TMPDIR/t.c"
    expect_status 0
}

@test "api: make install PREFIX=~/.local, then the examples build with pkg-config (shared and static) and run" {
    export HOME="$BATS_TEST_TMPDIR/home"
    mkdir -p "$HOME"
    P="$HOME/.local"
    run_split make -s -C "$ROOT" BUILD="$build" install PREFIX="$P"
    expect_status 0
    [ -f "$P/include/vecstore.h" ]
    [ -f "$P/lib/libvecstore.a" ]
    [ -x "$P/lib/libvecstore.so.1" ]
    [ "$(readlink "$P/lib/libvecstore.so")" = libvecstore.so.1 ]
    [ -f "$P/share/man/man3/vecstore.3" ]
    [ -x "$P/bin/vs-query" ]
    export PKG_CONFIG_PATH="$P/lib/pkgconfig"
    run_split pkg-config --modversion vecstore
    expect_status 0
    [ "$out" = "$(cat "$ROOT/VERSION")" ]
    run_split pkg-config --cflags --libs vecstore
    expect_status 0
    [ "$(echo $out)" = "-I$P/include -L$P/lib -lvecstore" ]

    cd "$BATS_TEST_TMPDIR"
    for e in build_store hybrid_search embed_search; do
        run_split cc -std=c99 -Wall -Wextra -Werror $SANFLAGS -o "$e" "$ROOT/examples/c/$e.c" \
            $(pkg-config --cflags --libs vecstore)
        expect_status 0
        static=$(pkg-config --cflags --static --libs vecstore | sed 's/-lvecstore/-l:libvecstore.a/')
        run_split cc -std=c99 -Wall -Wextra -Werror $SANFLAGS -o "$e-static" "$ROOT/examples/c/$e.c" $static
        expect_status 0
    done
    # the shared programs use the installed library, the static ones none
    run_split env LD_LIBRARY_PATH="$P/lib" ldd ./build_store
    [[ "$out" == *"libvecstore.so.1 => $P/lib/libvecstore.so.1"* ]]
    run_split ldd ./build_store-static
    [[ "$out" != *libvecstore* ]]

    printf 'a\tapples and pears\t1 0 0 0\nb\ta banana split\t0 1 0 0\nc\tgreen apples\t0.9 0.1 0 0\n' > rows.txt
    for s in "" -static; do
        run_split env LD_LIBRARY_PATH="$P/lib" ./build_store$s "st$s" < rows.txt
        expect_status 0
        [ "$out" = "stored 3 records, dim 4, generation 2" ]
        [ -z "$err" ]
        run_split env LD_LIBRARY_PATH="$P/lib" ./hybrid_search$s "st$s" apples 1,0,0,0 3
        expect_status 0
        [ -z "$err" ]
        [ "$out" = "1 a 0.032787 vector=0.0000 text=0.4700 apples and pears
2 c 0.032258 vector=-0.0200 text=0.4700 green apples
3 b 0.015873 vector=-2.0000 text=- a banana split" ]
        # the installed vs-query reads the store the library wrote
        run_split "$P/bin/vs-query" --format trec -k 1 "st$s" <<< '{"id": "q", "vector": [0, 1, 0, 0]}'
        expect_status 0
        [[ "$out" == "q Q0 b 1 "* ]]
        run_split env LD_LIBRARY_PATH="$P/lib" ./embed_search$s "emb$s" hash "cat on a mat" \
            <<< $'the cat sat on the mat\ndogs chase cats\nstock markets fell today'
        expect_status 0
        [ "$(printf '%s\n' "$out" | head -2)" = "model hash-v1:384, 3 documents
1 d1 0.5995 the cat sat on the mat" ]
        [ "$(printf '%s\n' "$out" | wc -l)" -eq 4 ]
    done
    # errors come back as statuses with the library's detail
    run_split env LD_LIBRARY_PATH="$P/lib" ./embed_search bad nosuch q <<< x
    expect_status 1
    [ -z "$out" ]
    [ "$err" = "embed_search: model: model 'nosuch' is not available (unsupported)" ]
    run_split env LD_LIBRARY_PATH="$P/lib" ./build_store st <<< $'d\t\t1 2 3'
    expect_status 1
    [[ "$err" == *"<stdin>:1: "*"(dimension)"* ]]

    run_split make -s -C "$ROOT" BUILD="$build" uninstall PREFIX="$P"
    expect_status 0
    [ ! -e "$P/include/vecstore.h" ]
    [ ! -e "$P/lib/libvecstore.so.1" ]
    [ ! -e "$P/lib/pkgconfig/vecstore.pc" ]
}

@test "api: embedding and search through the API give the programs' scores (hash; use-lite when fetched)" {
    cd "$BATS_TEST_TMPDIR"
    run_split cc -std=c99 $SANFLAGS -I"$ROOT/lib" -o embed_search "$ROOT/examples/c/embed_search.c" \
        "$build/libvecstore.so.1" -Wl,-rpath,"$build"
    expect_status 0
    models=hash
    # helpers.bash empties VS_MODEL_DIR per file; fetched models are here
    export VS_MODEL_DIR="$VS_FETCHED_MODELS"
    if [ -r "$VS_MODEL_DIR/use-lite/model.json" ]; then models="hash use-lite"; fi
    for m in $models; do
        run_split ./embed_search "api-$m" "$m" "cat on a mat" \
            <<< $'the cat sat on the mat\ndogs chase cats\nstock markets fell today'
        expect_status 0
        api=$(printf '%s\n' "$out" | tail -n +2 | awk '{printf "%s %s %.4f\n", $1, $2, $3}')
        printf '{"id":"d1","text":"the cat sat on the mat"}\n{"id":"d2","text":"dogs chase cats"}\n{"id":"d3","text":"stock markets fell today"}\n' |
            vs-embed --model "$m" | vs-ingest "prog-$m" 2>/dev/null
        run_split sh -c "echo '{\"id\":\"q\",\"text\":\"cat on a mat\"}' | vs-embed --model $m --as query |
            vs-query --mode vector --format trec -k 3 prog-$m"
        expect_status 0
        prog=$(printf '%s\n' "$out" | awk '{printf "%s %s %.4f\n", $4, $3, $5}')
        [ "$(printf '%s\n' "$api" | wc -l)" -eq 3 ]
        [ "$api" = "$prog" ]
    done
    [ "$models" = "hash use-lite" ] || skip "use-lite not fetched: only hash compared (scripts/get-model.sh use-lite)"
}
