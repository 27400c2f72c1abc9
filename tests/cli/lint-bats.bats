#!/usr/bin/env bats
# tests/lint-bats.py: finds the bats checks that bats ignores (a `! CMD` or
# an `A && B` list that is not a test's last command) and passes the forms
# that do fail.
load helpers

LINT="$BATS_TEST_DIRNAME/../lint-bats.py"

setup() {
    T=$(mktemp -d)
}
teardown() { rm -rf "$T"; }

@test "lint-bats: a mid-test '! CMD' and '[ A ] && [ B ]' are reported with file:line" {
    # (written @TEST here: bats itself would take "@test" in a here-document)
    sed 's/^@TEST/@test/' > "$T/bad.bats" <<'EOF'
load helpers

@TEST "one" {
    ! grep -q x "$f"
    [ "$a" = 1 ] && [ "$b" = 2 ]
    true
}

helper() {
    for i in 1 2; do
        [ "$i" -gt 0 ] && [ "$i" -lt 3 ]
    done
}
EOF
    run_split /usr/bin/python3 "$LINT" "$T/bad.bats"
    expect_status 1
    [ -z "$err" ]
    [ "$(printf '%s\n' "$out" | grep -c '^# ')" -eq 3 ]
    [[ "$out" == *"not ok 1 - lint-bats: $T/bad.bats (3 findings)"* ]]
    [[ "$out" == *"# $T/bad.bats:4: '! CMD' is not the last command of 'one'"* ]]
    [[ "$out" == *"# $T/bad.bats:5: 'A && B' is not the last command of 'one'"* ]]
    [[ "$out" == *"# $T/bad.bats:11: 'A && B' is not the last command of 'helper'"* ]]
}

@test "lint-bats: the forms that fail, the last line, conditions and quoted text pass" {
    sed 's/^@TEST/@test/' > "$T/good.bats" <<'EOF'
@TEST "two" {
    run ! grep -q x "$f"
    [ "$a" = 1 ] && [ "$b" = 2 ] || false
    ! cmp -s a b || return 1
    cmd >/dev/full && s=0 || s=$?
    command -v strace >/dev/null && strace true || skip "no strace"
    for i in $(seq 10); do [ -s port ] && break; sleep 0.1; done
    [[ "$x" == a && "$y" == b ]]
    if [ -n "$a" ] && ! [ -n "$b" ]; then echo "a && b"; fi
    n=$(a && b)
    ( cd "$T" && make )
    $PY -c '
import sys
! this is python && text
'
    cat <<EOT
! heredoc text
a && b
EOT
    for ((i = 0; i < 3; i++)); do echo "$i"; done
    case "$x" in a) y=1 ;; *) y=2 ;; esac
    ! grep -q y "$f"
}
EOF
    run_split /usr/bin/python3 "$LINT" "$T/good.bats"
    expect_status 0
    [ -z "$err" ]
    [ "$out" = "1..1
ok 1 - lint-bats: $T/good.bats (1 functions)" ]
}

@test "lint-bats: a file that does not parse is exit 3 naming file:line" {
    printf '@%s "x" {\n    echo "unterminated\n}\n' test > "$T/broken.bats"
    run_split /usr/bin/python3 "$LINT" "$T/broken.bats"
    expect_status 3
    [[ "$out" == *"not ok 1 - lint-bats: $T/broken.bats"* ]]
    [[ "$out" == *"# $T/broken.bats:2: cannot parse: unterminated double quote"* ]]
}

@test "lint-bats: no file is a usage error" {
    run_split /usr/bin/python3 "$LINT"
    expect_status 2
    [ -z "$out" ]
    [[ "$err" == *"lint-bats.py FILE..."* ]]
}
