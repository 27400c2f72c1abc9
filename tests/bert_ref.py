#!/usr/bin/python3
"""Reference BERT sentence-encoder forward pass in numpy (float64), for the
tests: reads a model folder written by make_tiny_bert.py or a real one such as
all-MiniLM-L6-v2 (the safetensors file parsed here by hand) and NDJSON records with "text" on stdin; writes
{"vector": [...], "truncated": bool} per record.

usage: bert_ref.py DIR [PREFIX] < records.jsonl"""
import json
import math
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wordpiece_ref import basic, wordpiece  # noqa: E402


def read_safetensors(path):
    """The tensors of a safetensors file as numpy arrays of their stored
    type (F32 or F16), by their stored names; tensors of other types (the
    I64 embeddings.position_ids of real checkpoints) are left out."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    hdr = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, e in hdr.items():
        if name == "__metadata__":
            continue
        dt = {"F32": "<f4", "F16": "<f2"}.get(e["dtype"])
        if dt is None:
            continue
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(raw[base + b:base + end], dtype=dt).reshape(e["shape"])
    return out


def load_safetensors(path, dtype=np.float64, strip=""):
    """read_safetensors converted to dtype; with strip, names that start
    with it lose it (e.g. "bert.")."""
    out = {}
    for name, a in read_safetensors(path).items():
        if strip and name.startswith(strip):
            name = name[len(strip):]
        out[name] = a.astype(dtype)
    return out


def layernorm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def gelu(x, act):
    if act == "gelu":
        erf = np.vectorize(math.erf)
        return 0.5 * x * (1 + erf(x / math.sqrt(2)))
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) *
                                  (x + 0.044715 * x ** 3)))


def encode(W, cfg, ids, types, nkeys=None):
    """The last hidden states (len(ids) x hidden) of a BERT encoder whose
    weights W (float64, names without "bert.") and config.json cfg are
    given, for token ids with their token types; with nkeys, every token
    attends only to the first nkeys tokens."""
    H, nh, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"]
    dh = H // nh
    L = len(ids)
    x = (W["embeddings.word_embeddings.weight"][ids] +
         W["embeddings.position_embeddings.weight"][:L] +
         W["embeddings.token_type_embeddings.weight"][types])
    x = layernorm(x, W["embeddings.LayerNorm.weight"],
                  W["embeddings.LayerNorm.bias"], eps)
    for i in range(cfg["num_hidden_layers"]):
        p = "encoder.layer.%d." % i

        def lin(v, name):
            return v @ W[p + name + ".weight"].T + W[p + name + ".bias"]

        q = lin(x, "attention.self.query").reshape(L, nh, dh).transpose(1, 0, 2)
        k = lin(x, "attention.self.key").reshape(L, nh, dh).transpose(1, 0, 2)
        v = lin(x, "attention.self.value").reshape(L, nh, dh).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / math.sqrt(dh)
        if nkeys is not None:
            s = s + np.where(np.arange(L) < nkeys, 0.0, -np.inf)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        ctx = (s @ v).transpose(1, 0, 2).reshape(L, H)
        x = layernorm(x + lin(ctx, "attention.output.dense"),
                      W[p + "attention.output.LayerNorm.weight"],
                      W[p + "attention.output.LayerNorm.bias"], eps)
        h = gelu(lin(x, "intermediate.dense"), cfg["hidden_act"])
        x = layernorm(x + lin(h, "output.dense"),
                      W[p + "output.LayerNorm.weight"],
                      W[p + "output.LayerNorm.bias"], eps)
    return x


def main():
    d = sys.argv[1]
    prefix = sys.argv[2] if len(sys.argv) > 2 else ""
    cfg = json.load(open(os.path.join(d, "config.json")))
    pool = json.load(open(os.path.join(d, "1_Pooling", "config.json")))
    maxlen = cfg["max_position_embeddings"]
    sb = os.path.join(d, "sentence_bert_config.json")
    if os.path.exists(sb):
        maxlen = min(maxlen, json.load(open(sb))["max_seq_length"])
    vocab = {}
    for i, line in enumerate(open(os.path.join(d, "vocab.txt"), encoding="utf-8")):
        vocab.setdefault(line.rstrip("\n"), i)
    W = load_safetensors(os.path.join(d, "model.safetensors"))
    if "bert.embeddings.word_embeddings.weight" in W:
        W = {k[5:]: v for k, v in W.items() if k.startswith("bert.")}
    for line in sys.stdin:
        text = prefix + json.loads(line)["text"]
        toks = [p for w in basic(text) for p in wordpiece(w, vocab)]
        trunc = len(toks) > maxlen - 2
        toks = toks[:maxlen - 2]
        ids = [vocab["[CLS]"]] + [vocab[t] for t in toks] + [vocab["[SEP]"]]
        x = encode(W, cfg, ids, [0] * len(ids))
        vec = x[0] if pool["pooling_mode_cls_token"] else x.mean(0)
        vec = vec / np.linalg.norm(vec)
        print(json.dumps({"vector": [round(float(c), 7) for c in vec],
                          "truncated": trunc}))


if __name__ == "__main__":
    main()
