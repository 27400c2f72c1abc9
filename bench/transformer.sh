#!/bin/sh
# bench/transformer.sh [BUILD_DIR]: BERT encoder speed against ONNX Runtime.
#
# Builds an all-MiniLM-L6-v2-shaped BERT (6 layers, hidden 384, 12 heads,
# intermediate 1536, the real 30,522-token vocabulary from
# $VS_DATA/models/minilm-tokenizer) with random weights as a safetensors
# folder (tests/make_tiny_bert.py) and the same numbers as an ONNX graph
# (bench/make_onnx_bert.py, Debian's python3-onnx), takes 1,000 sentences of
# the Cranfield corpus, and in one run embeds them at batch 32 with 1 and 2
# threads:
#   - ours: vs-embed --model DIR --no-cache --batch 32 --threads N, end to end (model
#     load, tokenization, NDJSON in and out); also without the model load
#     (the time of the same command on empty input subtracted);
#   - ONNX Runtime (onnxruntime-node, bench/ort_bench.js): session.run on
#     token ids tokenized beforehand, batches padded to their longest, after
#     a warm-up pass: inference only.
# Checks that both give the same vectors (max abs difference), prints a
# table and appends it, dated, to bench/results/transformer.txt.
# Needs node and onnxruntime-node in $ORT_DIR/node_modules (default
# ~/.cache/vecstore/ort): npm install --prefix "$ORT_DIR" --ignore-scripts onnxruntime-node
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
PY=/usr/bin/python3
VS_DATA=${VS_DATA:-../shared/data}
ORT_DIR=${ORT_DIR:-${HOME:-/tmp}/.cache/vecstore/ort}
vocab=$VS_DATA/models/minilm-tokenizer/vocab.txt
corpus=$VS_DATA/datasets/cranfield/corpus.jsonl
die() { echo "transformer.sh: $1" >&2; exit 2; }
[ -x "$build/bin/vs-embed" ] || die "$build/bin/vs-embed not found (make BUILD=$build)"
[ -f "$vocab" ] && [ -f "$corpus" ] || die "no $vocab or $corpus (set VS_DATA)"
[ -d "$ORT_DIR/node_modules/onnxruntime-node" ] ||
    die "onnxruntime-node not found in $ORT_DIR (npm install --prefix $ORT_DIR --ignore-scripts onnxruntime-node)"
$PY -c 'import onnx' 2>/dev/null || die "python3-onnx is not installed (scripts/deps.sh --bench)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p bench/results

$PY tests/make_tiny_bert.py "$tmp/minilm" --hidden 384 --layers 6 --heads 12 \
    --inter 1536 --max-pos 512 --max-seq 256 --vocab "$vocab" --seed 7
$PY bench/make_onnx_bert.py "$tmp/minilm" "$tmp/minilm.onnx"
$PY - "$corpus" "$tmp/minilm/vocab.txt" "$tmp/sent.jsonl" "$tmp/ids.jsonl" <<'PYEOF'
import json, re, sys
sys.path.insert(0, "tests")
from wordpiece_ref import basic, wordpiece
vocab = {}
for i, l in enumerate(open(sys.argv[2], encoding="utf-8")):
    vocab.setdefault(l.rstrip("\n"), i)
sent, ids, tokens = open(sys.argv[3], "w"), open(sys.argv[4], "w"), 0
n = 0
for line in open(sys.argv[1]):
    for s in re.split(r"(?<=\.)\s+", json.loads(line)["text"].strip()):
        if n < 1000 and len(s.split()) >= 4:
            sent.write(json.dumps({"id": str(n), "text": s}) + "\n")
            t = [p for w in basic(s) for p in wordpiece(w, vocab)][:254]
            row = [vocab["[CLS]"]] + [vocab[p] for p in t] + [vocab["[SEP]"]]
            tokens += len(row)
            ids.write(json.dumps(row) + "\n")
            n += 1
print("%d sentences, %d tokens" % (n, tokens), file=sys.stderr)
PYEOF

now() { $PY -c 'import time; print(time.time())'; }
{
    echo "== $(date -u +%Y-%m-%dT%H:%MZ) $(uname -m), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "model: all-MiniLM-L6-v2 shape, random weights; 1000 Cranfield sentences; batch 32"
    printf '%-8s %-30s %12s %12s\n' threads system seconds sentences/s
} > "$tmp/table"
for t in 1 2; do
    t0=$(now)
    "$build/bin/vs-embed" --model "$tmp/minilm" --no-cache --batch 32 --threads "$t" "$tmp/sent.jsonl" > "$tmp/ours$t.jsonl"
    t1=$(now)
    "$build/bin/vs-embed" --model "$tmp/minilm" --no-cache --threads "$t" < /dev/null
    t2=$(now)
    NODE_PATH="$ORT_DIR/node_modules" node bench/ort_bench.js "$tmp/minilm.onnx" \
        "$tmp/ids.jsonl" "$t" 32 "$tmp/ort$t.jsonl" 2>/dev/null > "$tmp/ort$t.json"
    $PY - "$t" "$t0" "$t1" "$t2" "$tmp/ort$t.json" "$tmp/ours$t.jsonl" "$tmp/ort$t.jsonl" >> "$tmp/table" <<'PYEOF'
import json, sys
t, t0, t1, t2 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
ort = json.load(open(sys.argv[5]))
ours = [json.loads(l)["vector"] for l in open(sys.argv[6])]
theirs = [json.loads(l)["vector"] for l in open(sys.argv[7])]
assert len(ours) == len(theirs) == 1000
diff = max(abs(a - b) for u, v in zip(ours, theirs) for a, b in zip(u, v))
e2e, load = t1 - t0, t2 - t1
row = "%-8s %-30s %12.3f %12.1f"
print(row % (t, "vs-embed (end to end)", e2e, 1000 / e2e))
print(row % (t, "vs-embed (minus model load)", e2e - load, 1000 / (e2e - load)))
print(row % (t, "onnxruntime-node %s" % "1.30.0", ort["seconds"], ort["sentences_per_s"]))
print("%-8s ratio ours/ORT: %.2fx end to end, %.2fx without load; max |diff| %.2e"
      % (t, ort["seconds"] / e2e, ort["seconds"] / (e2e - load), diff))
PYEOF
done
cat "$tmp/table"
cat "$tmp/table" >> bench/results/transformer.txt
