#!/usr/bin/python3
"""Build an ONNX graph of the BERT sentence encoder in model folder DIR (as
written by tests/make_tiny_bert.py: same numbers as its model.safetensors),
for the ONNX Runtime side of bench/transformer.sh.

Inputs input_ids and attention_mask [batch, seq] int64; output embedding
[batch, hidden]: mean (or CLS) pooling over the mask, L2-normalised.
usage: make_onnx_bert.py DIR OUT.onnx"""
import json
import os
import sys

import numpy as np

from onnx_bert import Graph, encoder, load_safetensors


def main():
    d, outp = sys.argv[1], sys.argv[2]
    cfg = json.load(open(os.path.join(d, "config.json")))
    pool = json.load(open(os.path.join(d, "1_Pooling", "config.json")))
    W = load_safetensors(os.path.join(d, "model.safetensors"), np.float32, "bert.")
    g = Graph()
    x, maskf = encoder(g, W, cfg, False)
    const, op = g.const, g.op
    const("ax1", np.array([1], dtype=np.int64))
    if pool["pooling_mode_cls_token"]:
        op("Gather", [x, "i0"], "pooled", axis=1)
    else:
        const("ax2", np.array([2], dtype=np.int64))
        op("Unsqueeze", [maskf, "ax2"], "m3")
        op("Mul", [x, "m3"], "xm")
        op("ReduceSum", ["xm", "ax1"], "sumv", keepdims=0)
        op("ReduceSum", [maskf, "ax1"], "cnt", keepdims=1)
        op("Div", ["sumv", "cnt"], "pooled")
    op("LpNormalization", ["pooled"], "embedding", axis=-1, p=2)
    g.save("bert", ("input_ids", "attention_mask"),
           [("embedding", ["B", cfg["hidden_size"]])], outp)


main()
