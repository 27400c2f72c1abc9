#!/usr/bin/env bats
# The documentation's shell examples as tests (tests/cli/docs_examples.py):
# a ```sh block after a <!-- test --> line (or <!-- test exit=N -->) in
# README.md or docs/**/*.md runs against the built programs in a scratch
# folder, blocks of one page in order in one shell, and an <!-- output -->
# block after it is its exact standard output. A failing block is reported
# as FILE:LINE. The tutorials run in tutorials.bats; this file runs the
# other pages and checks the runner itself on pages made here.
load helpers

ROOT="$BATS_TEST_DIRNAME/../.."
DOCS_RUN="$BATS_TEST_DIRNAME/docs_examples.py"

setup() {
    cd "$BATS_TEST_TMPDIR"
}

# page NAME: write stdin to pages/NAME.md in a repository-like folder
page() {
    mkdir -p fake/docs
    cat > "fake/docs/$1.md"
}

@test "docs examples: the runner passes a page whose blocks do what it says" {
    page good <<'PAGE'
# A page

<!-- test -->
```sh
x=41
printf '%s\n' '{"id":"a","vector":[1,0]}' > a.ndjson
```

Variables and the folder carry over to the next block:

<!-- test -->
```sh
echo $((x + 1))
vs-ingest s.vs a.ndjson 2>/dev/null
vs-index list-ids s.vs
```

<!-- output -->
```json
42
...
```

<!-- test exit=4 -->
```sh
vs-index info nothing.vs
```

```sh
this block has no marker and never runs
```
PAGE
    mkdir work
    cd work
    run_split $PY "$DOCS_RUN" run ../fake/docs/good.md ../fake
    expect_status 0
    [ "$out" = "docs/good.md: 3 examples passed" ]
    [ -z "$err" ]
}

@test "docs examples: a failing block is named by FILE:LINE with its stderr" {
    page bad <<'PAGE'
<!-- test -->
```sh
echo fine
```

<!-- test -->
```sh
vs-query missing.vs --query "tea"
echo "never reached"
```
PAGE
    run_split $PY "$DOCS_RUN" run fake/docs/bad.md fake
    expect_status 1
    [[ "${out%%$'\n'*}" == "docs/bad.md:7: the example exited 4, expected 0" ]] || false
    [[ "$out" == *"vs-query: error: "*"missing.vs"* ]] || false
    # the block stopped at its failing command
    local so=${out#*--- its stdout (end):}
    so=${so%%--- its stderr*}
    [[ "$so" != *"never reached"* ]] || false
}

@test "docs examples: an output that differs, a wrong exit code and a stray marker fail" {
    page out <<'PAGE'
<!-- test -->
```sh
echo one
echo two
```

<!-- output -->
```text
one
three
```
PAGE
    run_split $PY "$DOCS_RUN" run fake/docs/out.md fake
    expect_status 1
    [[ "${out%%$'\n'*}" == "docs/out.md:2: the example's output differs from the page" ]] || false

    page code <<'PAGE'
<!-- test exit=2 -->
```sh
vs-query --help > /dev/null
```
PAGE
    run_split $PY "$DOCS_RUN" run fake/docs/code.md fake
    expect_status 1
    [ "${out%%$'\n'*}" = "docs/code.md:2: the example exited 0, expected 2" ]

    page stray <<'PAGE'
<!-- test -->
Some words where a block should be.
PAGE
    run_split $PY "$DOCS_RUN" lint fake/docs/stray.md
    expect_status 1
    [ "$out" = "fake/docs/stray.md:1: a marker is not followed by a fenced block" ]

    page bash <<'PAGE'
<!-- test -->
```bash
echo this would never run
```
PAGE
    run_split $PY "$DOCS_RUN" lint fake/docs/bash.md
    expect_status 1
    [ "$out" = "fake/docs/bash.md:2: a marked block must be \`\`\`sh (or \`\`\`python for test_docs.py), not 'bash'" ]
}

@test "docs examples: a page needing what is absent skips, saying what" {
    page needs <<'PAGE'
<!-- test-requires: cmd:no-such-program-here -->
<!-- test -->
```sh
no-such-program-here
```
PAGE
    run_split $PY "$DOCS_RUN" run fake/docs/needs.md fake
    expect_status 77
    [ "$out" = "docs/needs.md: skipped: no-such-program-here is not installed (scripts/deps.sh installs it)" ]
}

@test "docs examples: the markers of every page are well formed" {
    run_split $PY "$DOCS_RUN" lint "$ROOT/README.md" "$ROOT"/docs/*.md "$ROOT"/docs/tutorials/*.md
    expect_status 0
    [ -z "$out" ]
}

@test "docs examples: README.md's quick start runs" {
    run_split $PY "$DOCS_RUN" run "$ROOT/README.md"
    expect_status 0
    [[ "$out" == "README.md: "*" examples passed" ]] || false
}

@test "docs examples: every other page with marked blocks runs" {
    local f n=0 failed=0
    run_split $PY "$DOCS_RUN" list "$ROOT"
    expect_status 0
    for f in $out; do
        case "$f" in README.md|docs/tutorials/*) continue ;; esac
        n=$((n + 1))
        mkdir -p "$BATS_TEST_TMPDIR/$n"
        cd "$BATS_TEST_TMPDIR/$n"
        $PY "$DOCS_RUN" run "$ROOT/$f" >&2 || failed=$((failed + 1))
    done
    [ "$failed" -eq 0 ]
    # the pages marked so far: troubleshooting and performance at least
    [ "$n" -ge 2 ]
}

@test "troubleshooting: every message it quotes is one the sources print" {
    run_split $PY "$DOCS_RUN" messages "$ROOT/docs/troubleshooting.md" "$ROOT"
    expect_status 0
    [[ "$out" == *"docs/troubleshooting.md: "*" messages checked" ]] || false
    # and the check finds a message that no source prints
    page msgs <<'PAGE'
<!-- messages -->
| message | meaning | what to do |
|---|---|---|
| `no such store` | real | |
| `the store is on fire: …` | invented | |
PAGE
    run_split $PY "$DOCS_RUN" messages fake/docs/msgs.md "$ROOT"
    expect_status 1
    [ "$out" = "fake/docs/msgs.md:5: 'the store is on fire: ' is not in cmd/ or lib/" ]
}

@test "troubleshooting: every exit status of every man page has its row" {
    run_split $PY "$DOCS_RUN" exits "$ROOT/docs/troubleshooting.md" "$ROOT"
    expect_status 0
    [ -z "$out" ]
    # a page without vs-shard's exit 3 row is caught
    sed '/^### vs-shard/,$ { /^| 3 |/d }' "$ROOT/docs/troubleshooting.md" > less.md
    run_split $PY "$DOCS_RUN" exits less.md "$ROOT"
    expect_status 1
    [ "$out" = "less.md: section vs-shard has no row for exit 3 (man/vs-shard.1 lists it)" ]
}
