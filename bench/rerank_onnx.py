#!/usr/bin/python3
"""Build an ONNX graph of the cross-encoder in model folder DIR (as written
by tests/ref_cross_encoder.py make: a BertForSequenceClassification with
the same numbers as its model.safetensors), for the ONNX Runtime side of
bench/rerank_speed.sh.

Inputs input_ids, attention_mask, token_type_ids [batch, seq] int64;
output logits [batch, labels]: the BERT encoder (padding masked out of the
attention), the pooler tanh(W x[CLS] + b), the classifier.
usage: rerank_onnx.py DIR OUT.onnx"""
import json
import os
import sys

import numpy as np

from onnx_bert import Graph, encoder, load_safetensors


def main():
    d, outp = sys.argv[1], sys.argv[2]
    cfg = json.load(open(os.path.join(d, "config.json")))
    W = load_safetensors(os.path.join(d, "model.safetensors"), np.float32, "bert.")
    g = Graph()
    x, _ = encoder(g, W, cfg, True)
    g.op("Gather", [x, "i0"], "cls", axis=1)
    pooled = g.dense(W, "cls", "pooler.dense.weight", "pooler.dense.bias", "pool_lin")
    g.op("Tanh", [pooled], "pooled")
    g.dense(W, "pooled", "classifier.weight", "classifier.bias", "logits")
    labels = W["classifier.weight"].shape[0]
    g.save("cross_encoder", ("input_ids", "attention_mask", "token_type_ids"),
           [("logits", ["B", labels])], outp)


main()
