"""Embed token id sequences with ONNX Runtime from PyPI (onnxruntime, in
the project venv: scripts/venv.sh bench), for bench/ort_models.sh; the same
protocol as bench/ort_bench.js.

usage: ort_bench.py MODEL.onnx IDS.jsonl THREADS BATCH OUT.jsonl
IDS.jsonl holds one JSON array of token ids a line ([CLS] ... [SEP]).
Batches of BATCH consecutive sequences are padded to their longest; one
warm-up pass, then a timed pass. Prints {"threads", "batch", "sentences",
"seconds", "sentences_per_s", "cpu_seconds" (user + system CPU time of the
process during the timed pass), "version"} and writes one {"vector": [...]}
a line to OUT.jsonl."""
import json
import sys
import time

import numpy as np
import onnxruntime as ort


def main():
    model, ids_path, threads, batch, out_path = sys.argv[1:6]
    threads, batch = int(threads), int(batch)
    seqs = [json.loads(l) for l in open(ids_path) if l.strip()]
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    feeds = []
    for i in range(0, len(seqs), batch):
        part = seqs[i:i + batch]
        L = max(len(s) for s in part)
        ids = np.zeros((len(part), L), dtype=np.int64)
        mask = np.zeros((len(part), L), dtype=np.int64)
        for b, s in enumerate(part):
            ids[b, :len(s)] = s
            mask[b, :len(s)] = 1
        feeds.append({"input_ids": ids, "attention_mask": mask})

    def run():
        return [sess.run(["embedding"], f)[0] for f in feeds]

    run()  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    outs = run()
    sec, cpu = time.perf_counter() - t0, time.process_time() - c0
    with open(out_path, "w") as f:
        for e in outs:
            for v in e:
                f.write(json.dumps({"vector": [float(x) for x in v]}) + "\n")
    print(json.dumps({"threads": threads, "batch": batch, "sentences": len(seqs),
                      "seconds": sec, "sentences_per_s": len(seqs) / sec,
                      "cpu_seconds": cpu,
                      "version": ort.__version__}))


main()
