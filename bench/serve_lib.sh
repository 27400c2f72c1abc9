# bench/serve_lib.sh: shell functions shared by bench/serve.sh and
# bench/serve_mixed.sh (source it from POSIX sh; it runs nothing). Uses the
# callers' variables bin (the programs), tmp (scratch directory) and PY.

# serve_wrk_lua QUERIES OUT: write a wrk script to OUT that POSTs the
# NDJSON query records of the file QUERIES in turn and, when done, prints
# "RESULT requests status_errors socket_errors duration_us p50_us p99_us".
serve_wrk_lua() {
    $PY - "$1" "$2" <<'PYEOF'
import sys
qs = [l.rstrip("\n") for l in open(sys.argv[1]) if l.strip()]
with open(sys.argv[2], "w") as f:
    f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n')
    f.write("local bodies = {\n")
    for q in qs:
        f.write("  [==[%s]==],\n" % q)
    f.write("}\nlocal i = 0\nrequest = function()\n  i = i %% %d + 1\n"
            "  return wrk.format(nil, nil, nil, bodies[i])\nend\n" % len(qs))
    f.write('done = function(summary, latency, requests)\n'
            '  io.write(string.format("RESULT %d %d %d %d %.1f %.1f\\n", summary.requests,'
            ' summary.errors.status, summary.errors.connect + summary.errors.read +'
            ' summary.errors.write + summary.errors.timeout, summary.duration,'
            ' latency:percentile(50), latency:percentile(99)))\nend\n')
PYEOF
}

# serve_start STORE THREADS TRIES: start vs-serve on STORE at an ephemeral
# port of 127.0.0.1 with THREADS threads, its stderr in $tmp/err; wait up to
# TRIES x 50 ms for it to listen (else show its stderr and exit 5). Sets pid
# and port.
serve_start() {
    : > "$tmp/err"
    "$bin/vs-serve" --listen 127.0.0.1:0 --threads "$2" "$1" 2>"$tmp/err" &
    pid=$!
    i=0
    until grep -q 'listening on' "$tmp/err"; do
        i=$((i + 1)); [ $i -gt "$3" ] && { cat "$tmp/err" >&2; exit 5; }
        sleep 0.05
    done
    port=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$tmp/err")
}

# serve_row LABEL RESULT: one table row (queries/s, p50 and p99 in ms,
# errors) from the words of a wrk RESULT line.
serve_row() {
    label=$1
    # shellcheck disable=SC2086
    set -- $2
    printf '%-28s %10.0f %10.2f %10.2f %8d\n' "$label" \
        "$(echo "$1 $4" | awk '{print $1 / ($2 / 1e6)}')" \
        "$(echo "$5" | awk '{print $1 / 1000}')" "$(echo "$6" | awk '{print $1 / 1000}')" \
        $(($2 + $3))
}
