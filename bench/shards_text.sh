#!/bin/sh
# bench/shards_text.sh [BUILD_DIR]: text and hybrid search over shards
# (global BM25 statistics) against one store holding every record, with
# local shards and with remote ones (one vs-serve per shard on 127.0.0.1).
#
# Cranfield from VS_DATA (1400 documents, the empty ones left out, 225 queries; skipped with a
# message when absent), embedded with the hash model; for each S of
# SHARDS_S (default "1 2 4"): S stores by vs-shard I/S, then for each mode
# (text, hybrid) `vs-query --mode MODE -k 10` on one store and with
# --shard over the S local stores and over S vs-serve URLs: queries whose
# hits (ids and scores) equal one store's, hit lines equal byte for byte,
# and wall seconds of the run (queries one after another, every shard in
# turn; the 2 cores of this machine are shared). For contrast, the same
# merge with each shard's own statistics (--mode auto's per-shard scores,
# `vs-query --merge` of per-shard text runs). The table is printed and
# appended to bench/results/shards.txt (or SHARDS_RESULTS).
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
PY=/usr/bin/python3
SS=${SHARDS_S:-1 2 4}
RESULTS=${SHARDS_RESULTS:-bench/results/shards.txt}
DATA=${VS_DATA:-../shared/data}/datasets/cranfield
if [ ! -f "$DATA/corpus.jsonl" ]; then
    echo "shards_text.sh: skipped: no Cranfield at $DATA (set VS_DATA)" >&2
    exit 0
fi
bin=$(cd "$build/bin" && pwd)
tmp=$(mktemp -d)
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
load0=$(cut -d' ' -f1-3 /proc/loadavg)
commit=${VS_BENCH_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo none)}

$PY - "$DATA" "$tmp" <<'PYEOF'
import json, sys
d, t = sys.argv[1], sys.argv[2]
with open(t + "/docs.ndjson", "w") as out:
    for line in open(d + "/corpus.jsonl"):
        r = json.loads(line)
        text = (r.get("title", "") + " " + r["text"]).strip()
        if text:  # Cranfield has a few empty documents
            out.write(json.dumps({"id": r["_id"], "doc_id": r["_id"], "text": text}) + "\n")
with open(t + "/q.ndjson", "w") as out:
    for line in open(d + "/queries.jsonl"):
        r = json.loads(line)
        out.write(json.dumps({"id": r["_id"], "text": r["text"]}) + "\n")
PYEOF
"$bin/vs-embed" -q --model hash "$tmp/docs.ndjson" > "$tmp/emb.ndjson"
"$bin/vs-ingest" -q "$tmp/one.vs" "$tmp/emb.ndjson"

now() { $PY -c 'import time; print(time.monotonic())'; }
since() { $PY -c "import time; print('%.2f' % (time.monotonic() - $1))"; }
# compare WANT GOT: "queries_equal lines_equal" (ids and scores per query;
# whole hit lines), over the queries of WANT
compare() {
    $PY - "$1" "$2" <<'PYEOF'
import json, sys
def load(p):
    by, lines = {}, {}
    for line in open(p):
        h = json.loads(line)
        if "id" not in h:
            continue
        by.setdefault(h["qid"], []).append((h["id"], h["score"]))
        lines.setdefault(h["qid"], []).append(line)
    return by, lines
a, al = load(sys.argv[1])
b, bl = load(sys.argv[2])
same = sum(sorted(a[q]) == sorted(b.get(q, [])) for q in a)
print(same, sum(al[q] == bl.get(q) for q in a), len(a))
PYEOF
}

: > "$tmp/rows"
for S in $SS; do
    shards="" urls=""
    i=0
    while [ "$i" -lt "$S" ]; do
        "$bin/vs-shard" "$i/$S" "$tmp/emb.ndjson" | "$bin/vs-ingest" -q "$tmp/s$S-$i.vs"
        shards="$shards --shard $tmp/s$S-$i.vs"
        "$bin/vs-serve" --listen 127.0.0.1:0 "kb=$tmp/s$S-$i.vs" 2> "$tmp/srv$S-$i.err" &
        pids="$pids $!"
        n=0
        until grep -q 'listening on' "$tmp/srv$S-$i.err"; do
            n=$((n + 1))
            [ "$n" -lt 200 ] || { cat "$tmp/srv$S-$i.err" >&2; exit 1; }
            sleep 0.05
        done
        port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/srv$S-$i.err")
        urls="$urls --shard http://127.0.0.1:$port/v1/stores/kb"
        i=$((i + 1))
    done
    for mode in text hybrid; do
        "$bin/vs-query" -q --mode "$mode" -k 10 "$tmp/one.vs" "$tmp/q.ndjson" > "$tmp/one-$mode"
        for where in local remote; do
            if [ "$where" = local ]; then set -- $shards; else set -- $urls; fi
            t0=$(now)
            "$bin/vs-query" -q --mode "$mode" -k 10 "$@" "$tmp/q.ndjson" > "$tmp/got"
            wall=$(since "$t0")
            echo "$S $mode $where $(compare "$tmp/one-$mode" "$tmp/got") $wall" >> "$tmp/rows"
        done
    done
    # contrast: each shard's own statistics, merged by score
    runs=""
    i=0
    while [ "$i" -lt "$S" ]; do
        "$bin/vs-query" -q --mode text -k 10 "$tmp/s$S-$i.vs" "$tmp/q.ndjson" > "$tmp/own$i"
        runs="$runs $tmp/own$i"
        i=$((i + 1))
    done
    # shellcheck disable=SC2086
    "$bin/vs-query" -q --merge -k 10 $runs > "$tmp/got"
    echo "$S text own $(compare "$tmp/one-text" "$tmp/got") -" >> "$tmp/rows"
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    pids=""
done

report=$tmp/report
{
echo "== shards_text $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $commit," \
     "$(nproc) cores, load $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "command: bench/shards_text.sh $build"
echo "Cranfield 1400 docs (hash model), 225 queries, k 10; vs-query --shard over S stores"
echo "(local) or S vs-serve URLs (remote) against one store; own: per-shard statistics merged"
printf '%-3s %-7s %-7s %10s %10s %8s\n' S mode shards q_equal lines_eq wall_s
while read -r s m w qe le n wall; do
    printf '%-3s %-7s %-7s %6s/%-3s %6s/%-3s %8s\n' "$s" "$m" "$w" "$qe" "$n" "$le" "$n" "$wall"
done < "$tmp/rows"
echo "q_equal: queries whose hit ids and scores equal one store's; lines_eq: whose hit lines"
echo "are byte-identical (ranks of equal scores may differ); wall_s: whole run, one process"
} > "$report"
cat "$report"
cat "$report" >> "$RESULTS"
