#!/usr/bin/env bats
# docs/migrate-pgvector.md against a real PostgreSQL 15 with pgvector (built
# from Debian's source package by scripts/pgvector.sh into build/pg/root):
# the page's marked blocks run as written, and the store they make answers
# exactly as pgvector does.
load helpers

PGROOT="${VS_PGVECTOR:-$BATS_TEST_DIRNAME/../../build/pg/root}"
DOC="$BATS_TEST_DIRNAME/../../docs/migrate-pgvector.md"
DIM=16

# as_pg CMD...: PostgreSQL's server refuses to run as root; run it as nobody then
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}

setup_file() {
    if [ ! -x "$PGROOT/bin/postgres" ] || [ ! -f "$PGROOT/usr/lib/postgresql/15/lib/vector.so" ]; then
        export PG_SKIP="pgvector not built ($PGROOT: scripts/pgvector.sh, which scripts/test-deps.sh runs)"
        return 0
    fi
    command -v psql >/dev/null || { export PG_SKIP="psql not installed (postgresql-client)"; return 0; }
    PGDIR=$(mktemp -d /tmp/vs-pg.XXXXXX)
    chmod 755 "$PGDIR"
    [ "$(id -u)" -ne 0 ] || chown nobody "$PGDIR"
    as_pg "$PGROOT/bin/initdb" -D "$PGDIR/data" -U vs --auth=trust -E UTF8 --no-locale \
        > "$PGDIR/initdb.log" 2>&1
    # a Unix socket in the scratch folder only: no TCP port
    as_pg "$PGROOT/bin/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 \
        -o "-c listen_addresses= -c unix_socket_directories=$PGDIR -c fsync=off" start >/dev/null
    export PGDIR PGHOST="$PGDIR" PGUSER=vs PGDATABASE=postgres
    # 300 rows of random 16-dimensional vectors (fixed seed), text, metadata
    psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE EXTENSION vector;
CREATE TABLE items (id bigserial PRIMARY KEY, content text, metadata jsonb,
                    embedding vector($DIM));
SELECT setseed(0.25);
INSERT INTO items (content, metadata, embedding)
SELECT 'chunk ' || g || ' says "hi" \\ back',
       jsonb_build_object('n', g, 'lang', CASE WHEN g % 3 = 0 THEN 'de' ELSE 'en' END),
       (SELECT array_agg(random() * 2 - 1)::real[] FROM generate_series(1, $DIM) WHERE g > 0)::vector
  FROM generate_series(1, 300) g;
SQL
    # the page's marked blocks, in order, in one scratch folder
    WORK="$PGDIR/work"
    mkdir -p "$WORK"
    chmod 777 "$WORK"
    awk '/^<!-- pgvector -->$/ {m = 1; next}
         m == 1 && /^```sh$/ {m = 2; next}
         m == 2 && /^```$/ {m = 0; next}
         m == 2 {print}' "$DOC" > "$WORK/doc.sh"
    cd "$WORK"
    rc=0
    bash -e -o pipefail doc.sh > doc.out 2> doc.err || rc=$?
    echo "$rc" > doc.rc
    export WORK
}

teardown_file() {
    if [ -n "${PGDIR:-}" ]; then
        as_pg "$PGROOT/bin/pg_ctl" -D "$PGDIR/data" -m immediate -w stop >/dev/null 2>&1 || true
        rm -rf "$PGDIR"
    fi
}

setup() {
    [ -z "${PG_SKIP:-}" ] || skip "$PG_SKIP"
    cd "$BATS_TEST_TMPDIR"
}

@test "migrate-pgvector: the page's blocks run and import every row" {
    [ "$(grep -c '^<!-- pgvector -->$' "$DOC")" -eq 2 ]
    cat "$WORK/doc.err" >&2
    [ "$(cat "$WORK/doc.rc")" -eq 0 ]
    [ ! -s "$WORK/doc.out" ]
    grep -q "300" "$WORK/doc.err"
    run_split vs-index info "$WORK/items.vs"
    expect_status 0
    [ "$(echo "$out" | jq -r .records)" -eq 300 ] || { echo "$out"; false; }
    [ "$(echo "$out" | jq -r .dimension)" -eq "$DIM" ]
    [ "$(echo "$out" | jq -r .metric)" = "cosine" ]
}

@test "migrate-pgvector: text, metadata and vectors come over as they were" {
    run_split vs-index get "$WORK/items.vs" 7
    expect_status 0
    [ "$(echo "$out" | jq -r .text)" = 'chunk 7 says "hi" \ back' ] || { echo "$out"; false; }
    [ "$(echo "$out" | jq -c .metadata)" = '{"n":7,"lang":"en"}' ] || { echo "$out"; false; }
    # a cosine store keeps unit vectors: pgvector's, normalised
    want=$(psql -X -A -t -c "SELECT embedding::text FROM items WHERE id = 7")
    echo "$out" | jq -c .vector > got.json
    echo "$want" > want.json
    "$PY" -c 'import json,sys,numpy as np
g = np.array(json.load(open("got.json")), dtype=np.float32)
w = np.array(json.load(open("want.json")), dtype=np.float32)
sys.exit(0 if np.allclose(g, w / np.linalg.norm(w), rtol=0, atol=1e-6) else 1)' || { echo "got $(cat got.json) want $want"; false; }
}

@test "migrate-pgvector: exact search gives pgvector's ids, order and scores" {
    for n in 1 2 3 4 5; do
        q=$(psql -X -A -t -c "SELECT setseed(0.$n); SELECT (SELECT array_agg(random() * 2 - 1)::real[] FROM generate_series(1, $DIM))::vector::text" | tail -n 1)
        psql -X -A -t -F ' ' -c "SELECT id, 1 - (embedding <=> '$q') FROM items ORDER BY embedding <=> '$q' LIMIT 10" > pg.txt
        echo "{\"id\":\"q$n\",\"vector\":$q}" | vs-query --exact -k 10 --format trec "$WORK/items.vs" > vs.txt
        [ "$(wc -l < pg.txt)" -eq 10 ]
        [ "$(wc -l < vs.txt)" -eq 10 ]
        [ "$(cut -d' ' -f1 pg.txt)" = "$(cut -d' ' -f3 vs.txt)" ] || { paste pg.txt vs.txt; false; }
        paste -d' ' pg.txt vs.txt | awk '{d = $2 - $7; if (d < 0) d = -d; if (d > 1e-5) {print; bad = 1}} END {exit bad}'
    done
}

@test "migrate-pgvector: a cut export leaves the store as it was" {
    cp -R "$WORK/items.vs" items.vs
    before=$(vs-index info --digest items.vs | jq -r .digest)
    psql -X -q -A -t -f "$WORK/export.sql" > full.ndjson
    [ "$(head -n 1 full.ndjson)" = '{"op":"begin","stream":"vecstore/1","program":"psql"}' ]
    [ "$(tail -n 1 full.ndjson | jq -r .records)" -eq 300 ]
    # every row changed, then the last line (the end marker) lost
    sed 's/"chunk /"changed /' full.ndjson | head -n -1 > cut.ndjson
    run_split vs-ingest items.vs < cut.ndjson
    expect_status 3
    [ -z "$out" ]
    [[ "$err" == *"stream from psql ended without its end marker after 300 records"* ]] || { echo "$err"; false; }
    [ "$(vs-index info --digest items.vs | jq -r .digest)" = "$before" ]
}

@test "migrate-pgvector: a NULL embedding is refused by line and field, store unchanged" {
    cp -R "$WORK/items.vs" items.vs
    before=$(vs-index info --digest items.vs | jq -r .digest)
    psql -X -q -c "INSERT INTO items (content, embedding) VALUES ('no vector yet', NULL)"
    run_split bash -o pipefail -c "psql -X -q -A -t -f '$WORK/export.sql' | vs-ingest items.vs"
    psql -X -q -c "DELETE FROM items WHERE embedding IS NULL"
    expect_status 3
    [ -z "$out" ]
    [[ "$err" == *"<stdin>:302: field 'vector'"* ]] || { echo "$err"; false; }
    [ "$(vs-index info --digest items.vs | jq -r .digest)" = "$before" ]
}
