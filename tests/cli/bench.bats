#!/usr/bin/env bats
# Smoke runs of the HNSW benchmarks at a tiny size: the scripts run end to
# end and their figures hang together (recall in range, vs-query's answers
# as good as the library's). Not a measurement: timing is not checked.

load helpers

setup() {
    BUILD=$(cd "$VS_BIN/.." && pwd)
    ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
    [ -f "$BUILD/libvecstore.a" ] || skip "no libvecstore.a in $BUILD"
    # the bench programs link the library without sanitizer run-times
    if nm -A "$BUILD/libvecstore.a" 2>/dev/null | grep -q '__asan_\|__ubsan_'; then
        skip "sanitizer build: the bench programs are built without sanitizers"
    fi
    command -v pkg-config > /dev/null || skip "pkg-config not installed"
}

@test "bench/hnsw.sh: a tiny synth run reports every engine and the equal-recall summary" {
    [ -f /usr/include/hnswlib/hnswlib.h ] || skip "libhnswlib-dev not installed"
    $PY -c 'import faiss, hnswlib' 2> /dev/null || skip "python3-faiss or python3-hnswlib not installed"
    res=$BATS_TEST_TMPDIR/hnsw.txt
    run_split env HNSW_RESULTS="$res" HNSW_SETS=synth HNSW_N=1500 HNSW_NQ=60 \
        HNSW_EFS="10 16 64" HNSW_BENCH_REPS=1 HNSW_PY_LAT_NQ=20 sh "$ROOT/bench/hnsw.sh" "$BUILD"
    expect_status 0
    [ "$(cat "$res")" = "$out" ]
    [[ "$out" == *"command: "*"HNSW_N='1500'"*"bench/hnsw.sh $BUILD"* ]]
    [[ "$out" == *"-- synth: 1500 x 128, 60 queries"* ]]
    # per-ef rows: every engine, recall within [0, 1], increasing with ef for ours
    printf '%s\n' "$out" | awk '
        $1 ~ /^(10|16|64)$/ && $2 ~ /^(ours|ours-sq8|hnswlib|pyhnswlib|faiss)$/ {
            seen[$2]++
            if ($3 < 0 || $3 > 1) { print "bad recall: " $0; bad = 1 }
            if ($2 == "ours") { if ($3 + 0 < last) { print "recall fell: " $0; bad = 1 }; last = $3 + 0 }
        }
        END {
            for (e in seen) if (seen[e] != 3) { print e " rows: " seen[e]; bad = 1 }
            if (length(seen) != 5) { print "engines: " length(seen); bad = 1 }
            exit bad
        }'
    [[ "$out" == *"exact   faiss IndexFlatL2: recall 1.0000"* ]]
    # the summary: a row per engine with a figure or "not reached" at 0.95
    n=$(printf '%s\n' "$out" | awk '/^== summary: queries per CPU second/ { s = 1 }
        /^== summary: build/ { s = 0 } s && $1 == "synth" { n++ } END { print n + 0 }')
    [ "$n" -eq 5 ]
    printf '%s\n' "$out" | grep -E '^synth +ours +[0-9]+ ef(10>=|[0-9]+-[0-9]+) +[0-9.]+ +[0-9.]+ '
    printf '%s\n' "$out" | grep -E '^synth +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ '
}

@test "bench/hnsw_e2e.sh: vs-query finds what the library finds, on a store built by vs-ingest" {
    res=$BATS_TEST_TMPDIR/e2e.txt
    run_split env E2E_RESULTS="$res" E2E_N=1500 E2E_NQ=100 E2E_EFS="16 64" E2E_REPS=1 \
        sh "$ROOT/bench/hnsw_e2e.sh" "$BUILD"
    expect_status 0
    [ "$(cat "$res")" = "$out" ]
    [[ "$out" == *"vs-ingest of 1500 x 128 rows"*"1 segment(s)"* ]]
    # per ef: vs-query's recall within 0.02 of the library's, none short
    printf '%s\n' "$out" | awk '
        $1 ~ /^(16|64)$/ && NF == 14 {
            n++
            d = $2 - $3; if (d < 0) d = -d
            if (d > 0.02 || $4 != 0 || $2 < 0.8) { print "bad row: " $0; bad = 1 }
        }
        END { if (n != 2) { print "rows: " n; bad = 1 }; exit bad }'
    [[ "$out" == *"at recall@10 = 0.95: vs-query "* ]]
}

@test "bench/py/run.sh: a tiny run reports every engine, end to end and per call" {
    py=${VS_VENV:-$HOME/.cache/vecstore/venv}/bin/python
    [ -x "$py" ] || skip "no project venv (scripts/venv.sh examples)"
    "$py" -c 'import numpy' 2> /dev/null || skip "no numpy in $py"
    res=$BATS_TEST_TMPDIR/py.txt
    run_split env PYB_PYTHON="$py" PYB_RESULTS="$res" PYB_N=1500 PYB_NQ=40 PYB_SETS=synth \
        PYB_PERCALL_N=50 BENCH_REPS=1 PYB_RACE_REPS=1 PYB_MIN_CPU=0.02 sh "$ROOT/bench/py/run.sh" "$BUILD"
    expect_status 0
    [ "$(cat "$res")" = "$out" ]
    [[ "$out" == *"command: "*"PYB_N='1500' bench/py/run.sh $BUILD"* ]]
    [[ "$out" == *"-- synth: approximate search, k 10, L2 (1500 x 128, 40 queries"* ]]
    # every engine: rows with recall in [0, 1], or "not installed"; vecstore's
    # own recall at ef 256 is at least 0.95 on 1500 rows
    printf '%s\n' "$out" | awk '
        /^-- synth/ { s = 1 } /^-- end to end/ { s = 0 }
        s && / not installed / { seen[$1] = 1 }
        s && $1 ~ /^(vecstore|vecstore-sq8|faiss|hnswlib|usearch|usearch-i8|ngt|scann)$/ && NF == 6 && $3 ~ /^[0-9.]+$/ {
            seen[$1] = 1
            if ($3 < 0 || $3 > 1) { print "bad recall: " $0; bad = 1 }
            if ($1 == "vecstore" && $2 == 256 && $3 < 0.95) { print "low recall: " $0; bad = 1 }
        }
        END { if (length(seen) != 8) { print "engines: " length(seen); bad = 1 }; exit bad }'
    # end to end: both vecstore ways found what the exact search finds
    printf '%s\n' "$out" | grep -E '^vecstore-cli +[0-9.]+ +ef64 +[0-9.]+ +[0-9.]+ +[0-9./]+ +[0-9.]+ +[0-9.]+ +(0\.9[5-9]|1\.0)'
    printf '%s\n' "$out" | grep -E '^vecstore-py +[0-9.]+ +ef64 +[0-9.]+ +[0-9.]+ +[0-9./]+ +[0-9.]+ +[0-9.]+ +(0\.9[5-9]|1\.0)'
    printf '%s\n' "$out" | grep -E '^C: vs_db_search \(bench/py/percall.c\) +[0-9.]+ '
    printf '%s\n' "$out" | grep -E '^C: the same, ids_only +[0-9.]+ '
    printf '%s\n' "$out" | grep -E '^Python: Store.search_arrays\(v\) +[0-9.]+ +[0-9.]+ +[0-9.]+ +-?[0-9.]+ +-?[0-9.]+$'
    [[ "$out" != *"failed"* ]]
}

# The Python extension built for python $1, then in the test's folder a
# set for bench/py/ann.py: x (600 rows x 8), q (20 queries), t (their
# exact top 10).
tiny_ann_set() {
    (cd "$ROOT" && make -s BUILD="$BUILD" PYTHON="$1" python-ext) >&2
    cd "$BATS_TEST_TMPDIR"
    "$1" - <<'PYEOF'
import numpy as np
g = np.random.default_rng(7)
x = g.standard_normal((600, 8)).astype(np.float32)
q = g.standard_normal((20, 8)).astype(np.float32)
d = ((q[:, None, :] - x[None, :, :]) ** 2).sum(-1)
x.tofile("x"); q.tofile("q"); np.argsort(d, 1)[:, :10].astype(np.uint32).tofile("t")
PYEOF
}

@test "bench/py/ann.py: the extra settings run only while no setting reached PYB_EXTRA_UNTIL" {
    py=${VS_VENV:-$HOME/.cache/vecstore/venv}/bin/python
    [ -x "$py" ] || skip "no project venv (scripts/venv.sh examples)"
    "$py" -c 'import numpy' 2> /dev/null || skip "no numpy in $py"
    tiny_ann_set "$py"
    # recall 1.0 comes before ef 256 on 600 rows: no extra setting
    run_split env PYTHONPATH="$BUILD/python" BENCH_REPS=1 PYB_MIN_CPU=0.02 "$py" "$ROOT/bench/py/ann.py" vecstore x q t 8 w1
    expect_status 0
    [ "$(printf '%s\n' "$out" | grep '^values ')" = "values 10,16,24,32,48,64,128,256" ]
    [[ "$out" == *"p256_recall 1.0000"* ]]
    [[ "$out" != *"p384_"* ]]
    # a bar no setting reaches: every extra setting, one values line each
    run_split env PYTHONPATH="$BUILD/python" BENCH_REPS=1 PYB_MIN_CPU=0.02 PYB_EXTRA_UNTIL=1.5 "$py" "$ROOT/bench/py/ann.py" vecstore x q t 8 w2
    expect_status 0
    [ "$(printf '%s\n' "$out" | grep '^values ' | tail -n 1)" = "values 10,16,24,32,48,64,128,256,384,512" ]
    [ "$(printf '%s\n' "$out" | grep -c '^values ')" = 3 ]
    [[ "$out" == *"p512_recall 1.0000"* ]]
    [[ "$out" == *"p512_cpuqps1 "* ]]
}

@test "bench/py/ann.py race: two engines' settings, recall and rates, each line named by its engine" {
    py=${VS_VENV:-$HOME/.cache/vecstore/venv}/bin/python
    [ -x "$py" ] || skip "no project venv (scripts/venv.sh examples)"
    "$py" -c 'import numpy, faiss' 2> /dev/null || skip "no numpy or faiss in $py"
    tiny_ann_set "$py"
    run_split env PYTHONPATH="$BUILD/python" PYB_RACE_REPS=2 PYB_MIN_CPU=0.01 "$py" "$ROOT/bench/py/ann.py" \
        race vecstore,faiss x q t 8 w
    expect_status 0
    [ "$(printf '%s\n' "$out" | grep ' values ')" = "vecstore values 10,16,24,32,48,64,128,256
faiss values 10,16,24,32,48,64,128,256" ]
    # every line: an engine raced, a key, a value; 8 settings x 5 keys each
    printf '%s\n' "$out" | awk '$1 !~ /^(vecstore|faiss)$/ || NF != 3 { print "bad: " $0; exit 1 }'
    for e in vecstore faiss; do
        [ "$(printf '%s\n' "$out" | grep -cE "^$e p[0-9]+_(recall|passes|qps1|cpuqps1|qps2) ")" = 40 ]
        printf '%s\n' "$out" | grep -E "^$e p256_recall (1\.0000|0\.9[5-9])"
        printf '%s\n' "$out" | grep -E "^$e p10_cpuqps1 [1-9][0-9]*$"
    done
    # a wrong count of arguments is the usual usage error
    run_split env PYTHONPATH="$BUILD/python" "$py" "$ROOT/bench/py/ann.py" race vecstore x q t 8
    [ "$status" -ne 0 ]
    [[ "$err" == *"usage: ann.py"* ]]
}

@test "bench/py/report.py: an engine whose build was stopped at PYB_BUILD_LIMIT is reported as such" {
    cd "$BATS_TEST_TMPDIR"
    mkdir r
    # what bench/py/run.sh leaves: ann.py's lines up to the build, then its mark
    printf 'engine ngt\nversion 2.8.0\nparam epsilon\nbuild_limit_s 600\nbuild_timeout 1\n' > r/synth.ann.ngt
    # an engine that failed otherwise (no mark) stays "failed"
    printf 'engine scann\nversion 1.4.2\nparam leaves\nbuild_limit_s 600\n' > r/synth.ann.scann
    run_split python3 "$ROOT/bench/py/report.py" r synth=100_x_128,_10_queries
    expect_status 0
    [ "$err" = "" ]
    [[ "$out" == *"ngt: did not finish its build within 600 s (stopped; PYB_BUILD_LIMIT)"* ]]
    [[ "$out" == *"scann: failed (see the log)"* ]]
    [[ "$out" != *"ngt: failed"* ]]
}

@test "bench/py/report.py: an engine swept over two parameters is read on its recall/QPS frontier" {
    cd "$BATS_TEST_TMPDIR"
    mkdir r
    kv() { # kv FILE ENGINE VALUES then SETTING RECALL CPUQPS triples
        f=$1 e=$2 v=$3
        shift 3
        printf 'engine %s\nversion 1\nparam p\nbuild_s 1\nbuild_cpu_s 1\nvalues %s\n' "$e" "$v" > "$f"
        while [ $# -gt 0 ]; do
            printf 'p%s_recall %s\np%s_cpuqps1 %s\np%s_qps1 %s\np%s_qps2 %s\n' "$1" "$2" "$1" "$3" \
                "$1" "$3" "$1" "$3" >> "$f"
            shift 3
        done
    }
    kv r/synth.ann.vecstore vecstore 16,64 16 0.90 2000 64 0.99 1000
    # 3/100 is beaten by 1/100 (same recall, more QPS) and sits between
    # 3/800 and the others in the sweep's order: read in that order, 0.95
    # would fall between 3/100 and 3/800 (1500 -> 500 QPS)
    kv r/synth.ann.scann scann 3/100,3/800,1/100,1/800 3/100 0.88 1500 3/800 1.0 500 \
        1/100 0.88 3000 1/800 0.99 2000
    run_split python3 "$ROOT/bench/py/report.py" r synth=100_x_128,_10_queries
    expect_status 0
    [ "$err" = "" ]
    # 0.95: 3000 * (2000/3000)^(0.07/0.11) = 2318; vecstore 2000 * 0.5^(0.05/0.09) = 1361
    printf '%s\n' "$out" | grep -E '^scann +2318 +1/100-1/800 +0\.59 +- +2000 +1/100-1/800 +0\.50 +-$'
    printf '%s\n' "$out" | grep -E '^vecstore +1361 +16-64 +1\.00 +- +1000 +16-64 +1\.00 +-$'
}

@test "bench/shards.sh: merged exact hits of 1, 2 and 3 shards equal one store's; graph recall in range" {
    res=$BATS_TEST_TMPDIR/shards.txt
    run_split env SHARDS_RESULTS="$res" SHARDS_N=2500 SHARDS_NQ=50 SHARDS_S="1 2 3" SHARDS_EFS="16 64" \
        sh "$ROOT/bench/shards.sh" "$BUILD"
    expect_status 0
    [ "$(cat "$res")" = "$out" ]
    [[ "$out" == *"command: "*"SHARDS_N='2500'"*"bench/shards.sh $BUILD"* ]]
    # six rows (S 1, 2, 3 x ef 16, 64), every one exact=1 yes, recall >= 0.9
    printf '%s\n' "$out" | awk '
        $1 ~ /^[123]$/ && NF == 8 {
            n++
            if ($4 != "yes" || $6 < 0.9) { print "bad row: " $0; bad = 1 }
        }
        END { if (n != 6) { print "rows: " n; bad = 1 }; exit bad }'
}

@test "bench/scale.sh: a tiny run prints its table and draws one PNG per quantity; a second run keeps the measured set and adds the new one" {
    command -v gnuplot >/dev/null 2>&1 || skip "gnuplot not installed (scripts/deps.sh --bench)"
    res=$BATS_TEST_TMPDIR/res
    run_split env SCALE_RESULTS="$res" SCALE_DIR="$BATS_TEST_TMPDIR/scale" SCALE_SETS="1100x8" \
        SCALE_NQ=20 SCALE_EFS="16 64" SCALE_COLD_RUNS=1 SCALE_ORDER=1100x8 SCALE_ORDER_EFS=32 \
        sh "$ROOT/bench/scale.sh" "$BUILD"
    expect_status 0
    [[ "$out" == *"== scale: "*"load "*"command: SCALE_DIR=\"$BATS_TEST_TMPDIR/scale\" SCALE_SETS="* ]]
    [[ "$err" == *"scale.sh: 1100x8 measured: $res/scale.tsv and its PNGs updated"* ]]
    [[ "$err" != *"measured before"* ]]
    [ "$(awk -F'\t' 'NR > 1 {print $1 "x" $2}' "$res/scale.tsv" | tr '\n' ' ')" = "1100x8 " ]
    row1=$(sed -n 2p "$res/scale.tsv")
    # a row of an older scale.sh (19 columns, no cold CPU or faults) is left out, with a message
    printf '500\t8%s\n' "$(printf '\tx%.0s' $(seq 17))" > "$BATS_TEST_TMPDIR/scale/s-500-8.row"
    # a second run: 1100x8 and the graph order are not measured again, 2000x8 is added
    run_split env SCALE_RESULTS="$res" SCALE_DIR="$BATS_TEST_TMPDIR/scale" SCALE_SETS="1100x8 2000x8" \
        SCALE_NQ=20 SCALE_EFS="16 64" SCALE_COLD_RUNS=1 SCALE_ORDER=1100x8 SCALE_ORDER_EFS=32 \
        sh "$ROOT/bench/scale.sh" "$BUILD"
    expect_status 0
    [[ "$err" == *"scale.sh: 1100x8: measured before ($BATS_TEST_TMPDIR/scale/s-1100-8.row, commit "*"): kept"* ]]
    [[ "$err" == *"scale.sh: graph order 1100x8: measured before"* ]]
    [[ "$err" == *"scale.sh: 2000x8 measured: "* ]]
    [[ "$err" == *"scale.sh: $BATS_TEST_TMPDIR/scale/s-500-8.row: 19 columns, not 23 (an older scale.sh): left out"* ]]
    [ "$(awk -F'\t' 'NR > 1 {print $1 "x" $2}' "$res/scale.tsv" | tr '\n' ' ')" = "1100x8 2000x8 " ]
    [ "$(sed -n 2p "$res/scale.tsv")" = "$row1" ]
    # every row has its figures: graph bytes, query time at 0.95, cold open
    # wall and CPU, minor faults, commit
    [ "$(awk -F'\t' 'NR > 1 && NF == 23 && $8 > 0 && $11 > 0 && $15 > 0 && $17 > 0 && $17 <= $18 && $19 > 0 && $22 != ""' "$res/scale.tsv" | wc -l)" -eq 2 ]
    [[ "$out" == *"-- 1100x8: per ef"*"-- 2000x8: per ef"*"format3_graph_order_bytes_per_vector"*"ratio"* ]]
    [ "$(grep -c '^== scale: ' "$res/scale.txt")" -eq 2 ]
    for p in query build memory cold bytes; do
        [ "$(head -c 4 "$res/scale_$p.png" | od -An -c | tr -d ' ')" = '211PNG' ]
    done
}

@test "bench/cold_time.c: CPU and page faults of each run, the failing run named" {
    cd "$BATS_TEST_TMPDIR"
    ${CC:-cc} -std=c11 -O2 -Wall -Wextra -Werror -o cold_time "$ROOT/bench/cold_time.c"
    run_split ./cold_time 3 "$VS_BIN/vs-index" --version
    expect_status 0
    [ "$err" = "" ]
    [ "$(printf '%s\n' "$out" | cut -d' ' -f1 | tr '\n' ' ')" = "runs wall_min_ms wall_median_ms cpu_min_ms cpu_median_ms user_median_ms sys_median_ms minflt_median majflt_median maxrss_kib " ]
    [[ "$out" == "runs 3"* ]]
    # a process that ran: some CPU, some page faults, CPU min <= median
    printf '%s\n' "$out" | awk '{ v[$1] = $2 } END { exit !(v["cpu_min_ms"] > 0 && v["cpu_min_ms"] <= v["cpu_median_ms"] && v["wall_min_ms"] <= v["wall_median_ms"] && v["minflt_median"] > 0 && v["maxrss_kib"] > 0) }'
    run_split ./cold_time 2 "$VS_BIN/vs-index" info no-such-store
    expect_status 1
    [ "$out" = "" ]
    [[ "$err" == *"no such store"*"cold_time: run 1 of $VS_BIN/vs-index: exit status 4" ]]
    run_split ./cold_time 0 true
    expect_status 2
    [ "$err" = "usage: cold_time RUNS CMD [ARG...] (RUNS 1 to 10000)" ]
}

@test "bench/run.sh --list: the benchmarks, not the scripts they source or call; BENCH selects; an unknown one is a usage error" {
    cd "$BATS_TEST_TMPDIR"
    run_split sh "$ROOT/bench/run.sh" --list
    expect_status 0
    [ "$err" = "" ]
    # issue 25's tables are all there, py and compare last
    for b in hnsw_e2e startup serve text scale; do
        printf '%s\n' "$out" | grep -qx "$b"
    done
    [ "$(printf '%s\n' "$out" | tail -n 2 | tr '\n' ' ')" = "py compare " ]
    # sourced libraries and scale.sh's plotter are not run as benchmarks
    run ! grep -qx -e cc_lib -e serve_lib -e scale_plot -e run <<< "$out"
    # every name but py and compare is an executable script
    for b in $(printf '%s\n' "$out" | grep -vx -e py -e compare); do
        [ -x "$ROOT/bench/$b.sh" ]
    done
    run_split env BENCH=serve sh "$ROOT/bench/run.sh" --list
    expect_status 0
    [ "$out" = "$(printf 'serve\nserve_mixed')" ]
    run_split env BENCH=no-such-bench sh "$ROOT/bench/run.sh" build
    expect_status 2
    [ "$out" = "" ]
    [ "$err" = "bench/run.sh: no benchmark matches BENCH=no-such-bench (bench/run.sh --list)" ]
}
