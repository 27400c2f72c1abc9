# scripts/beir.sh: shell functions shared by scripts/eval.sh and
# bench/uselite_eval.sh (source it; it sets no options and runs nothing).
# Needs PY (a Python 3 with json) and vs-query, vs-eval on PATH.

# beir_prepare SRC DIR [SPLIT]: from a BEIR collection SRC (corpus.jsonl,
# queries.jsonl, qrels/SPLIT.tsv; SPLIT default test) write
# DIR/corpus.ndjson, one {"id","text"} record per document (title and text
# joined), and DIR/queries.ndjson, the queries that have judgements in
# qrels/SPLIT.tsv.
beir_prepare() {
    "$PY" - "$1" "$2" "${3:-test}" <<'PYEOF'
import json, sys
src, w, split = sys.argv[1], sys.argv[2], sys.argv[3]
judged = set()
with open(src + "/qrels/" + split + ".tsv") as f:
    next(f)
    for l in f:
        judged.add(l.split("\t")[0])
with open(src + "/corpus.jsonl") as f, open(w + "/corpus.ndjson", "w") as o:
    for l in f:
        r = json.loads(l)
        t = (r.get("title", "") + " " + r.get("text", "")).strip()
        o.write(json.dumps({"id": str(r["_id"]), "text": t}) + "\n")
with open(src + "/queries.jsonl") as f, open(w + "/queries.ndjson", "w") as o:
    for l in f:
        r = json.loads(l)
        if str(r["_id"]) in judged:
            o.write(json.dumps({"id": str(r["_id"]), "text": r["text"]}) + "\n")
PYEOF
}

# beir_score SRC DIR OPTS: search DIR/kb.vs with DIR/queries.vec using the
# vs-query options OPTS (one word-split string) at -k 100, and print
# "NDCG@10 RECALL@100" as judged by SRC/qrels/test.tsv. Leaves the run in
# DIR/run.ndjson.
beir_score() {
    # shellcheck disable=SC2086
    vs-query $3 -k 100 --no-text --no-metadata "$2/kb.vs" "$2/queries.vec" > "$2/run.ndjson"
    vs-eval --qrels "$1/qrels/test.tsv" -m ndcg@10 -m recall@100 \
        --format tsv "$2/run.ndjson" |
        awk '$1=="ndcg_cut_10"{n=$3} $1=="recall_100"{r=$3} END{print n, r}'
}
