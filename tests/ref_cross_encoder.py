#!/usr/bin/python3
"""A random-weight cross-encoder and an independent numpy (float64)
reference of its scores, for vs-rerank's tests.

    ref_cross_encoder.py make DIR [make_tiny_bert.py options]
        writes a BertForSequenceClassification folder shaped like
        cross-encoder/ms-marco-MiniLM-L-6-v2: make_tiny_bert.py's random
        BERT under the "bert." prefix (with its pooler), plus
        classifier.weight [1, H] and classifier.bias [1], and num_labels 1
        in config.json.
    ref_cross_encoder.py score DIR [--sigmoid] < pairs.jsonl
        reads {"query", "text"} records and writes {"score", "truncated"}:
        [CLS] q [SEP] d [SEP] with token types 0 then 1, the query kept
        (cut to max_position_embeddings - 2 ids with its [CLS] and [SEP])
        and the passage cut to what is left; the BERT encoder; pooler
        tanh(W x[CLS] + b); logit 0 of the classifier (sigmoid optional)."""
import json
import math
import os
import struct
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bert_ref import encode, load_safetensors, read_safetensors  # noqa: E402
from wordpiece_ref import basic, wordpiece  # noqa: E402


def write_st(path, t):
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(t):
        arr = np.ascontiguousarray(t[name])
        raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        dt = "F16" if arr.dtype.itemsize == 2 else "F32"
        header[name] = {"dtype": dt, "shape": list(arr.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * (-len(hj) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)) + hj)
        for b in blobs:
            f.write(b)


def make(d, opts):
    subprocess.check_call([sys.executable, os.path.join(HERE, "make_tiny_bert.py"), d,
                           "--prefix", "bert."] + opts)
    cfg = json.load(open(os.path.join(d, "config.json")))
    cfg["architectures"] = ["BertForSequenceClassification"]
    cfg["num_labels"] = 1
    cfg["id2label"] = {"0": "LABEL_0"}
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"), indent=2)
    path = os.path.join(d, "model.safetensors")
    t = read_safetensors(path)
    H = cfg["hidden_size"]
    rng = np.random.default_rng(4242)
    t["classifier.weight"] = (rng.standard_normal((1, H)) * 0.5).astype(np.float32)
    t["classifier.bias"] = np.array([0.1], dtype=np.float32)
    write_st(path, t)


def score(d, sigmoid):
    cfg = json.load(open(os.path.join(d, "config.json")))
    vocab = {}
    for i, line in enumerate(open(os.path.join(d, "vocab.txt"), encoding="utf-8")):
        vocab.setdefault(line.rstrip("\n"), i)
    W = load_safetensors(os.path.join(d, "model.safetensors"))
    B = {k[5:]: v for k, v in W.items() if k.startswith("bert.")}
    maxp = cfg["max_position_embeddings"]
    unk = vocab["[UNK]"]
    for line in sys.stdin:
        rec = json.loads(line)
        q = [vocab.get(p, unk) for w in basic(rec["query"]) for p in wordpiece(w, vocab)]
        p = [vocab.get(x, unk) for w in basic(rec["text"]) for x in wordpiece(w, vocab)]
        trunc = len(q) > maxp - 4
        q = q[:maxp - 4]
        room = maxp - (len(q) + 2) - 1
        trunc = trunc or len(p) > room
        p = p[:room]
        ids = [vocab["[CLS]"]] + q + [vocab["[SEP]"]] + p + [vocab["[SEP]"]]
        tt = [0] * (len(q) + 2) + [1] * (len(p) + 1)
        x = encode(B, cfg, ids, tt)
        pooled = np.tanh(B["pooler.dense.weight"] @ x[0] + B["pooler.dense.bias"])
        logit = float(W["classifier.weight"][0] @ pooled + W["classifier.bias"][0])
        s = 1 / (1 + math.exp(-logit)) if sigmoid else logit
        print(json.dumps({"score": s, "truncated": trunc}))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) >= 3 and sys.argv[1] == "score":
        score(sys.argv[2], "--sigmoid" in sys.argv[3:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
