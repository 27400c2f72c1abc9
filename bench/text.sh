#!/bin/sh
# bench/text.sh [BUILD_DIR]: vecstore's BM25 against the search engines a
# search engineer would pick: Tantivy (PyPI tantivy), bm25s (PyPI) and
# Lucene (Maven Central's jars with our driver, bench/TextLucene.java).
#
# Set-up (make bench, never make check): the `text` venv group
# (scripts/venv.sh text: tantivy, bm25s, PyStemmer), Debian's JDK and Maven
# (scripts/deps.sh --bench); Lucene's jars are fetched once with Maven into
# ~/.cache/vecstore/lucene-$LUCENE (or $VS_LUCENE_DIR) and the driver is
# compiled into BUILD_DIR/bench/lucene.
#
# Data:
#   scifact  BEIR SciFact in $VS_DATA/datasets (5,183 abstracts, the 300
#            judged test queries): nDCG@10 by vs-eval against its qrels.
#            Analyzer "english": lowercase, vecstore's stop=en list (read
#            from lib/text/analyzer.c, given to every engine), Snowball
#            English stemming (libstemmer's; PyStemmer's for bm25s; Tantivy's
#            and Lucene's own Snowball ports). Tokenizers differ: ours and
#            Tantivy's split at every non-alphanumeric character; Lucene's
#            StandardTokenizer follows UAX #29 (keeps "3.14", "don't");
#            bm25s uses the regex \w+.
#   zipf     TEXT_DOCS (default 1,000,000) documents of bench/zipf_corpus.py
#            (Zipf vocabulary, fixed seed; generated once into
#            BUILD_DIR/bench/zipf-TEXT_DOCS) and its 1,000 queries.
#            Analyzer "plain": lowercase only (no stop words, no stemming),
#            so every engine indexes the same terms. No judgments: the table
#            gives each peer's top-10 overlap with vecstore's instead.
# vecstore's search prunes (block-max MaxScore, docs/bm25.md) where the query's
# posting lists are long; "vecstore, no pruning" is the same index scored
# exhaustively (same hits), the figure before pruning.
# Measures, for each engine on one thread: indexing CPU seconds and bytes
# on disk (vecstore: the serialised index its store writes; Tantivy and
# Lucene: their index folders; bm25s: its saved model), top-10 queries per
# CPU second (query parsing and search, every thread of the process, after
# an untimed warm-up pass for the peers), nDCG@10, overlap@10 with
# vecstore. k1 1.2, b 0.75 everywhere; every engine indexes positions
# except bm25s (which has none). Everything runs under nice; the load
# average before and after each data set goes into the report.
# The report is printed and appended, dated, to bench/results/text.txt.
#   TEXT_DOCS=N        synthetic corpus size (default 1000000; 0 skips it)
#   TEXT_SETS=LIST     data sets (default "scifact zipf")
#   TEXT_ROUNDS=N      rounds on SciFact (default 5; the Zipf corpus runs
#                      once): the engines take turns in each round, and the
#                      table gives each one's median queries/CPU s with the
#                      range over the rounds; the ratio to Tantivy is the
#                      median of the rounds' own ratios (ours and Tantivy's
#                      passes of the same round ran seconds apart, under the
#                      same load), with its range; a last line gives the
#                      same ratio to each peer run (Tantivy, Lucene, bm25s)
#   TEXT_RESULTS=FILE  where the report is appended (bench/results/text.txt)
#   TEXT_ZIPF_DIR=DIR  where the synthetic corpus is kept (BUILD_DIR/bench/
#                      zipf-TEXT_DOCS; made again when the generator changed)
#   TEXT_ENGINES=LIST  engines to run (default "vecstore vecstore-exhaustive
#                      tantivy bm25s lucene"; vecstore-exhaustive is ours
#                      without top-k pruning: bm25_bench --exhaustive)
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
data=${VS_DATA:-../shared/data}/datasets
docs=${TEXT_DOCS:-1000000}
results=${TEXT_RESULTS:-bench/results/text.txt}
engines=${TEXT_ENGINES:-vecstore vecstore-exhaustive tantivy bm25s lucene}
LUCENE=9.12.3
me=text.sh
for set in ${TEXT_SETS:-scifact zipf}; do
    case $set in scifact|zipf) ;; *) echo "$me: unknown set '$set' (scifact, zipf)" >&2; exit 2 ;; esac
done
for e in $engines; do
    case $e in vecstore|vecstore-exhaustive|tantivy|bm25s|lucene) ;;
    *) echo "$me: unknown engine '$e' (vecstore, vecstore-exhaustive, tantivy, bm25s, lucene)" >&2; exit 2 ;;
    esac
done
if [ ! -f "$build/libvecstore.a" ] || [ ! -x "$build/bin/vs-eval" ]; then
    echo "$me: $build/libvecstore.a or $build/bin/vs-eval not found (make BUILD=$build all)" >&2
    exit 2
fi
mkdir -p "$build/bench" bench/results
bin=$build/bench/bm25_bench
. bench/cc_lib.sh
bench_cc "$build" "$bin" bench/bm25_bench.c
PY=/usr/bin/python3
py=
case " $engines " in *" tantivy "*|*" bm25s "*) py=$(scripts/venv.sh text) ;; esac
case " $engines " in *" lucene "*)
    jars=${VS_LUCENE_DIR:-${HOME:-/tmp}/.cache/vecstore/lucene-$LUCENE}
    for a in lucene-core lucene-analysis-common; do
        [ -f "$jars/$a-$LUCENE.jar" ] && continue
        mvn -q -B -Dstyle.color=never dependency:copy -Dartifact="org.apache.lucene:$a:$LUCENE" \
            -DoutputDirectory="$jars" >&2 ||
            { echo "$me: cannot fetch $a $LUCENE from Maven Central" >&2; exit 5; }
    done
    mkdir -p "$build/bench/lucene"
    javac -nowarn -d "$build/bench/lucene" -cp "$jars/*" bench/TextLucene.java ||
        { echo "$me: cannot compile bench/TextLucene.java" >&2; exit 5; }
;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed -n '/stop_en\[\] = {/,/};/p' lib/text/analyzer.c | grep -o '"[a-z]*"' | tr -d '"' >"$tmp/stop"
[ "$(wc -l <"$tmp/stop")" -gt 100 ] || { echo "$me: cannot read the stop list from lib/text/analyzer.c" >&2; exit 5; }

load() { cut -d' ' -f1 /proc/loadavg; }
field() { # field JSON KEY
    printf '%s' "$1" | $PY -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$2"
}
# overlap RUN_A RUN_B: mean share of A's top-10 ids per query found in B's
overlap() {
    $PY -c '
import sys
def top(p):
    r = {}
    for line in open(p):
        q, _, d, rank, _, _ = line.split()
        if int(rank) <= 10:
            r.setdefault(q, set()).add(d)
    return r
a, b = top(sys.argv[1]), top(sys.argv[2])
print("%.3f" % (sum(len(a[q] & b.get(q, set())) / len(a[q]) for q in a) / max(len(a), 1)))' "$1" "$2"
}

report=$tmp/report
echo "== text $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $(git rev-parse --short HEAD 2>/dev/null || echo none)," \
     "$(nproc) cores, load $(load); engines: $engines" >"$report"
cat "$report"

# engine E DIR ANALYZER REPEAT RUN_OUT: run one engine; sets j (its JSON)
# and name
engine() {
    e=$1 dir=$2 an=$3 rep=$4 out=$5
    ix=$tmp/ix-$e
    rm -rf "$ix"
    mkdir -p "$ix"
    case $e in
        vecstore|vecstore-exhaustive)
            spec="v1;lang=english;stop=en"
            [ "$an" = plain ] && spec="v1;lang=none;stop=none"
            ex=
            [ "$e" = vecstore-exhaustive ] && ex=--exhaustive
            # shellcheck disable=SC2086
            nice "$bin" --analyzer "$spec" --depth 10 --repeat "$rep" $ex "$dir" \
                >"$out" 2>"$tmp/err" || { cat "$tmp/err" >&2; return 1; }
            j=$(tail -n 1 "$tmp/err")
            name="vecstore bm25 $(cat VERSION)"
            [ -n "$ex" ] && name="vecstore, no pruning" ;;
        tantivy|bm25s)
            j=$(nice "$py" bench/text_peers.py "$e" "$dir" "$out" "$an" "$tmp/stop" \
                "$rep" "$ix") || return 1
            name="$e $(field "$j" version | sed 's/^tantivy v\([0-9.]*\).*/\1/')" ;;
        lucene)
            j=$(nice java -cp "$jars/*:$build/bench/lucene" TextLucene "$dir" "$out" \
                "$an" "$tmp/stop" "$rep" "$ix") || return 1
            name="lucene $(field "$j" version)" ;;
    esac
    rm -rf "$ix"
}

# one DATASET_DIR LABEL ANALYZER(english|plain) REPEAT ROUNDS: every engine
# ROUNDS times, interleaved; the median indexing and query figures of the
# rounds are reported with the range of queries/CPU s (the machine is
# shared), nDCG@10 and overlap from the first round's run
one() {
    dir=$1 label=$2 an=$3 rep=$4 rounds=$5
    qrels=$dir/qrels/test.tsv
    [ -f "$qrels" ] || qrels=
    l0=$(load)
    r=1
    while [ "$r" -le "$rounds" ]; do
        for e in $engines; do
            engine "$e" "$dir" "$an" "$rep" "$tmp/run-$e-$r" || return 1
            [ "$r" = 1 ] && { mv "$tmp/run-$e-1" "$tmp/run-$e"; echo "$name" >"$tmp/name-$e"; }
            rm -f "$tmp/run-$e-$r"
            printf '%s\n' "$j" >>"$tmp/json-$e"
        done
        r=$((r + 1))
    done
    {
        echo
        echo "$label: top-10 queries, one thread, CPU time, median of $rounds; analyzer $an;" \
            "load $l0 before, $(load) after"
        printf '%-26s %10s %12s %13s %17s %8s %8s\n' system "index cpu s" "index bytes" \
            "queries/cpu s" "range" "nDCG@10" "overlap"
    } | tee -a "$report"
    ours_qps=0 tantivy_qps=0 ours_ndcg= tantivy_ndcg=
    # ratio PEER: the median of the rounds' own ratios of ours to PEER's
    ratio() {
        $PY -c '
import json, statistics, sys
a = [json.loads(l)["qps"] for l in open(sys.argv[1]) if l.strip()]
b = [json.loads(l)["qps"] for l in open(sys.argv[2]) if l.strip()]
r = [x / y for x, y in zip(a, b)]
print("%.2fx (rounds %s)" % (statistics.median(r), " ".join("%.2f" % x for x in r)))' \
            "$tmp/json-vecstore" "$tmp/json-$1"
    }
    ratio= ratios=
    case " $engines " in *" vecstore "*)
        for e in tantivy lucene bm25s; do
            case " $engines " in *" $e "*)
                x=$(ratio "$e")
                [ "$e" = tantivy ] && ratio=$x
                ratios="$ratios${ratios:+; }$x $e" ;;
            esac
        done ;;
    esac
    for e in $engines; do
        j=$($PY -c '
import json, statistics, sys
v = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
o = dict(v[0])
o["index_s"] = round(statistics.median(x["index_s"] for x in v), 4)
# the round of median queries/CPU s (the lower middle one for an even count)
b = sorted(v, key=lambda x: x["qps"])[(len(v) - 1) // 2]
for f in ("qps", "query_s", "query_thread_s"):
    if f in b:
        o[f] = b[f]
o["range"] = "%.1f-%.1f" % (min(x["qps"] for x in v), max(x["qps"] for x in v))
print(json.dumps(o))' "$tmp/json-$e")
        rm -f "$tmp/json-$e"
        name=$(cat "$tmp/name-$e")
        qps=$(field "$j" qps)
        ndcg=-
        if [ -n "$qrels" ]; then
            ndcg=$("$build/bin/vs-eval" --qrels "$qrels" -m ndcg@10 -c "$tmp/run-$e" |
                $PY -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["measures"]["ndcg_cut_10"])')
        fi
        ov=-
        [ "$e" != vecstore ] && [ -f "$tmp/run-vecstore" ] && ov=$(overlap "$tmp/run-vecstore" "$tmp/run-$e")
        [ "$e" = vecstore ] && { ours_qps=$qps; ours_ndcg=$ndcg; }
        [ "$e" = tantivy ] && { tantivy_qps=$qps; tantivy_ndcg=$ndcg; }
        printf '%-26s %10s %12s %13s %17s %8s %8s\n' "$name" "$(field "$j" index_s)" \
            "$(field "$j" index_bytes)" "$qps" "$(field "$j" range)" "$ndcg" "$ov" |
            tee -a "$report"
        [ "$e" = lucene ] && echo "  (lucene: the searching thread alone $(field "$j" query_thread_s) s" \
            "of $(field "$j" query_s) s; the rest is JIT and GC)" | tee -a "$report"
        [ "$e" = tantivy ] && [ "$(field "$j" segments)" != 1 ] &&
            echo "  (tantivy: $(field "$j" segments) segments after its merges)" | tee -a "$report"
    done
    if [ -n "$ratio" ] && [ "$ours_qps" != 0 ] && [ "$tantivy_qps" != 0 ]; then
        echo "ratio: vecstore $ratio Tantivy queries/CPU s (goal 1.5x); nDCG@10" \
            "$ours_ndcg vs $tantivy_ndcg" | tee -a "$report"
    fi
    [ -n "$ratios" ] && echo "vecstore's queries/CPU s over each peer's: $ratios" | tee -a "$report"
    return 0
}

for set in ${TEXT_SETS:-scifact zipf}; do
    case $set in
    scifact)
        if [ -f "$data/scifact/corpus.jsonl" ]; then
            one "$data/scifact" "SciFact (5,183 docs, 300 judged queries x 20)" english 20 \
                "${TEXT_ROUNDS:-5}"
        else
            echo "$me: no SciFact at $data/scifact (set VS_DATA): skipped" | tee -a "$report"
        fi ;;
    zipf)
        [ "$docs" -gt 0 ] || continue
        z=${TEXT_ZIPF_DIR:-$build/bench/zipf-$docs}
        stamp="$(cksum <bench/zipf_corpus.py) $docs"
        if [ ! -f "$z/queries.jsonl" ] || [ "$(cat "$z/stamp" 2>/dev/null)" != "$stamp" ]; then
            t0=$(date +%s)
            g=$(nice "$PY" bench/zipf_corpus.py "$z" "$docs" 1000 25)
            echo "$stamp" >"$z/stamp"
            echo "zipf corpus generated in $(($(date +%s) - t0)) s wall: $g" | tee -a "$report"
        fi
        one "$z" "Zipf synthetic ($docs docs, 1,000 queries x 2)" plain 2 1 ;;
    esac
done
echo >>"$report"
cat "$report" >>"$results"
