#!/bin/sh
# bench/rerank_speed.sh [BUILD_DIR]: cross-encoder speed against ONNX Runtime.
#
# Builds a cross-encoder shaped like cross-encoder/ms-marco-MiniLM-L-6-v2
# (BertForSequenceClassification: 6 layers, hidden 384, 12 heads,
# intermediate 1536, 512 positions, one label, the real 30,522-token
# vocabulary from $VS_DATA/models/minilm-tokenizer) with random weights
# (tests/ref_cross_encoder.py make) and the same numbers as an ONNX graph
# (bench/rerank_onnx.py, Debian's python3-onnx). Pairs: the first 8 Cranfield
# queries, each with 32 passages (Cranfield documents, title and text, the
# first 60 words): 256 pairs. Scores them at batch 32 with 1 and 2 threads:
#   - ours: vs-rerank -m cross-encoder --model DIR --threads N, end to end
#     (model load, tokenization, NDJSON in and out); also without the model
#     load (the same command on empty input, subtracted);
#   - ONNX Runtime (onnxruntime-node, bench/rerank_ort.js): session.run on
#     the pairs tokenized beforehand, batches of 32 padded to their longest,
#     after a warm-up pass: inference only.
# Checks that both give the same logits (max abs difference below 1e-4,
# else exit 1), prints a table and appends it, dated, to
# bench/results/rerank_speed.txt.
# Needs node and onnxruntime-node in $ORT_DIR/node_modules (default
# ~/.cache/vecstore/ort; here ORT_DIR=/work/ort): without it the benchmark
# is skipped (exit 0) with a message saying so.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
PY=/usr/bin/python3
VS_DATA=${VS_DATA:-../shared/data}
ORT_DIR=${ORT_DIR:-${HOME:-/tmp}/.cache/vecstore/ort}
vocab=$VS_DATA/models/minilm-tokenizer/vocab.txt
data=$VS_DATA/datasets/cranfield
skip() { echo "rerank_speed.sh: skipped: $1" >&2; exit 0; }
die() { echo "rerank_speed.sh: $1" >&2; exit 2; }
[ -x "$build/bin/vs-rerank" ] || die "$build/bin/vs-rerank not found (make BUILD=$build)"
[ -d "$ORT_DIR/node_modules/onnxruntime-node" ] ||
    skip "onnxruntime-node not found in ORT_DIR=$ORT_DIR (npm install --prefix \$ORT_DIR --ignore-scripts onnxruntime-node)"
command -v node >/dev/null || skip "node is not installed"
[ -f "$vocab" ] && [ -f "$data/corpus.jsonl" ] || skip "no $vocab or $data (set VS_DATA)"
$PY -c 'import onnx' 2>/dev/null || skip "python3-onnx is not installed (scripts/deps.sh --bench)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p bench/results

$PY tests/ref_cross_encoder.py make "$tmp/ce" --hidden 384 --layers 6 --heads 12 \
    --inter 1536 --max-pos 512 --vocab "$vocab" --seed 7 >/dev/null
$PY bench/rerank_onnx.py "$tmp/ce" "$tmp/ce.onnx"
$PY - "$data" "$tmp/ce/vocab.txt" "$tmp" <<'PYEOF'
import json, sys
sys.path.insert(0, "tests")
from wordpiece_ref import basic, wordpiece
data, vocab_path, tmp = sys.argv[1:4]
vocab = {}
for i, l in enumerate(open(vocab_path, encoding="utf-8")):
    vocab.setdefault(l.rstrip("\n"), i)
unk, maxp = vocab["[UNK]"], 512
def pieces(t):
    return [vocab.get(p, unk) for w in basic(t) for p in wordpiece(w, vocab)]
docs = []
for l in open(data + "/corpus.jsonl"):
    o = json.loads(l)
    words = (o.get("title", "") + " " + o.get("text", "")).split()
    if len(words) >= 20:
        docs.append((o["_id"], " ".join(words[:60])))
queries = [json.loads(l) for l in open(data + "/queries.jsonl")][:8]
tokens = 0
with open(tmp + "/q.jsonl", "w") as fq, open(tmp + "/hits.jsonl", "w") as fh, \
        open(tmp + "/pairs.jsonl", "w") as fp:
    for qi, q in enumerate(queries):
        fq.write(json.dumps({"id": q["_id"], "text": q["text"]}) + "\n")
        qp = pieces(q["text"])[:maxp - 4]
        for r in range(32):
            did, text = docs[(qi * 32 + r) % len(docs)]
            fh.write(json.dumps({"qid": q["_id"], "id": did, "rank": r + 1,
                                 "score": 1.0 - r / 100, "text": text}) + "\n")
            dp = pieces(text)[:maxp - len(qp) - 3]
            ids = [vocab["[CLS]"]] + qp + [vocab["[SEP]"]] + dp + [vocab["[SEP]"]]
            types = [0] * (len(qp) + 2) + [1] * (len(dp) + 1)
            tokens += len(ids)
            fp.write(json.dumps({"ids": ids, "types": types}) + "\n")
print("%d pairs, %d tokens" % (len(queries) * 32, tokens), file=sys.stderr)
PYEOF

now() { $PY -c 'import time; print(time.time())'; }
{
    echo "== $(date -u +%Y-%m-%dT%H:%MZ) $(uname -m), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "model: ms-marco-MiniLM-L-6-v2 shape, random weights; 256 Cranfield pairs (8 queries x 32 passages of 60 words); batch 32"
    printf '%-8s %-32s %10s %10s\n' threads system seconds pairs/s
} > "$tmp/table"
status=0
for t in 1 2; do
    t0=$(now)
    "$build/bin/vs-rerank" -m cross-encoder --model "$tmp/ce" --threads "$t" \
        --queries "$tmp/q.jsonl" "$tmp/hits.jsonl" > "$tmp/ours$t.jsonl"
    t1=$(now)
    "$build/bin/vs-rerank" -m cross-encoder --model "$tmp/ce" --threads "$t" \
        --queries "$tmp/q.jsonl" /dev/null
    t2=$(now)
    NODE_PATH="$ORT_DIR/node_modules" node bench/rerank_ort.js "$tmp/ce.onnx" \
        "$tmp/pairs.jsonl" "$t" 32 "$tmp/ort$t.jsonl" 2>/dev/null > "$tmp/ort$t.json"
    $PY - "$t" "$t0" "$t1" "$t2" "$tmp/ort$t.json" "$tmp/hits.jsonl" "$tmp/ours$t.jsonl" \
        "$tmp/ort$t.jsonl" >> "$tmp/table" <<'PYEOF' || status=1
import json, sys
t, t0, t1, t2 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
ort = json.load(open(sys.argv[5]))
hits = [json.loads(l) for l in open(sys.argv[6])]
ours = {(o["qid"], o["id"]): o["score"] for o in map(json.loads, open(sys.argv[7]))}
ref = [json.loads(l)["score"] for l in open(sys.argv[8])]
diff = max(abs(ours[(h["qid"], h["id"])] - r) for h, r in zip(hits, ref))
n, e2e, load = ort["pairs"], t1 - t0, t2 - t1
inf = e2e - load
print("%-8s %-32s %10.3f %10.1f" % (t, "vs-rerank (end to end)", e2e, n / e2e))
print("%-8s %-32s %10.3f %10.1f" % (t, "vs-rerank (minus model load)", inf, n / inf))
print("%-8s %-32s %10.3f %10.1f" % (t, "onnxruntime-node", ort["seconds"], ort["pairs_per_s"]))
print("%-8s ratio ours/ORT: %.2fx end to end, %.2fx without load; max |diff| %.2e"
      % (t, ort["seconds"] / e2e, ort["seconds"] / inf, diff))
if diff > 1e-4:
    print("scores differ by %.2e > 1e-4" % diff, file=sys.stderr)
    sys.exit(1)
PYEOF
done
cat "$tmp/table"
cat "$tmp/table" >> bench/results/rerank_speed.txt
exit $status
