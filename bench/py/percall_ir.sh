#!/bin/sh
# bench/py/percall_ir.sh BUILD STORE QUERIES D EF [N1 N2]: the per-call
# overhead of one query in instructions (valgrind's callgrind), which the
# load of a shared machine does not move. Each program (bench/py/percall.c
# through the C library; bench/py/percall.py's search_arrays and search
# paths) runs under callgrind on the first N1 and then N2 queries (default
# 50 and 150); each searches its queries twice (a warm-up and a timed
# pass), so (Ir(N2) - Ir(N1)) / (2 (N2 - N1)) is one call's instructions
# without the start-up (interpreter, imports, opening the store). The
# same queries run the same graph walk on every path: the differences are
# the binding's cost. Prints "key value" lines: c_ir (vs_db_search, hit
# records' scores), c_ids_ir (ids_only, what search_arrays asks),
# py_arrays_ir, py_hits_ir per call, and the differences of search_arrays
# to c_ids_ir and of search to c_ir. The paths must not contain spaces. PYB_PYTHON: the
# interpreter (default: the project's venv, scripts/venv.sh peers); the
# extension is $BUILD/python (make python-ext). Exit 2 for usage, 5 when a
# run fails.
set -eu
cd "$(dirname "$0")/../.."
me=bench/py/percall_ir.sh
[ $# -ge 5 ] || { echo "usage: $me BUILD STORE QUERIES D EF [N1 N2]" >&2; exit 2; }
build=$1 store=$2 queries=$3 d=$4 ef=$5 n1=${6:-50} n2=${7:-150}
[ "$n2" -gt "$n1" ] || { echo "$me: N2 must be larger than N1" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "$me: valgrind not found" >&2; exit 5; }
PY=${PYB_PYTHON:-$(scripts/venv.sh peers)}
[ -x "$build/bench/percall" ] || { echo "$me: $build/bench/percall not built (bench/py/run.sh builds it)" >&2; exit 2; }
babs=$(cd "$build" && pwd)
export PYTHONPATH="$babs/python${PYTHONPATH:+:$PYTHONPATH}" OPENBLAS_NUM_THREADS=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ir() { # ir N CMD...: the instructions callgrind counts for CMD
    n=$1
    shift
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$@" > "$tmp/out" 2> "$tmp/err" ||
        { echo "$me: failed under callgrind: $*" >&2; tail -5 "$tmp/err" >&2; exit 5; }
    sed -n 's/^summary: //p' "$tmp/cg.out"
}
per_call() { # per_call PROGRAM-AND-ARGS-BEFORE-N -- ARGS-AFTER-N: Ir of one call
    pre="" post="" seen=0
    for x in "$@"; do
        if [ "$x" = -- ]; then seen=1; continue; fi
        if [ $seen = 0 ]; then pre="$pre $x"; else post="$post $x"; fi
    done
    # shellcheck disable=SC2086
    a=$(ir "$n1" $pre "$n1" $post)
    # shellcheck disable=SC2086
    b=$(ir "$n2" $pre "$n2" $post)
    echo $(( (b - a) / (2 * (n2 - n1)) ))
}
c=$(per_call "$build/bench/percall" "$store" "$queries" "$d" "$ef" -- hits)
ci=$(per_call "$build/bench/percall" "$store" "$queries" "$d" "$ef" -- ids)
pa=$(per_call "$PY" bench/py/percall.py "$store" "$queries" "$d" "$ef" -- arrays)
ph=$(per_call "$PY" bench/py/percall.py "$store" "$queries" "$d" "$ef" -- hits)
echo "c_ir $c"
echo "c_ids_ir $ci"
echo "py_arrays_ir $pa"
echo "py_arrays_minus_c_ids_ir $(( pa - ci ))"
echo "py_hits_ir $ph"
echo "py_hits_minus_c_ir $(( ph - c ))"
