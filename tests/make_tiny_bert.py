#!/usr/bin/python3
"""Write a BERT model with random weights as a Hugging Face folder:
config.json, model.safetensors (written by hand: 8-byte header length, JSON
header, raw little-endian data), vocab.txt and 1_Pooling/config.json.

usage: make_tiny_bert.py DIR [--hidden 32] [--layers 2] [--heads 4]
       [--inter 64] [--max-pos 64] [--vocab FILE] [--dtype F32|F16]
       [--pooling mean|cls] [--act gelu|gelu_new] [--prefix bert.] [--seed 1]"""
import argparse
import json
import os
import struct

import numpy as np

WORDS = ("the of and to in is for on with flow layer boundary heat "
         "transfer pressure wing mach number body plate shock wave "
         "theory results method model data test air speed surface "
         "high low effect effects study").split()


def tiny_vocab():
    v = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    v += list(".,;:!?()-'\"/=")
    v += [chr(c) for c in range(ord("a"), ord("z") + 1)]
    v += [str(i) for i in range(10)]
    v += ["##" + chr(c) for c in range(ord("a"), ord("z") + 1)]
    v += ["##" + str(i) for i in range(10)]
    v += WORDS + ["##s", "##ed", "##ing", "##er", "query", "passage"]
    return v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--inter", type=int, default=64)
    ap.add_argument("--max-pos", type=int, default=64)
    ap.add_argument("--max-seq", type=int, default=0)
    ap.add_argument("--vocab")
    ap.add_argument("--dtype", default="F32", choices=["F32", "F16"])
    ap.add_argument("--pooling", default="mean", choices=["mean", "cls"])
    ap.add_argument("--act", default="gelu")
    ap.add_argument("--prefix", default="")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    os.makedirs(os.path.join(a.dir, "1_Pooling"), exist_ok=True)
    if a.vocab:
        with open(a.vocab, encoding="utf-8") as f:
            vocab = [line.rstrip("\n") for line in f]
    else:
        vocab = tiny_vocab()
    with open(os.path.join(a.dir, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t in vocab))
    H, I, V = a.hidden, a.inter, len(vocab)
    cfg = {"model_type": "bert", "architectures": ["BertModel"],
           "hidden_size": H, "num_hidden_layers": a.layers,
           "num_attention_heads": a.heads, "intermediate_size": I,
           "max_position_embeddings": a.max_pos, "type_vocab_size": 2,
           "vocab_size": V, "layer_norm_eps": 1e-12, "hidden_act": a.act,
           "position_embedding_type": "absolute", "pad_token_id": 0}
    with open(os.path.join(a.dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(a.dir, "1_Pooling", "config.json"), "w") as f:
        json.dump({"word_embedding_dimension": H,
                   "pooling_mode_cls_token": a.pooling == "cls",
                   "pooling_mode_mean_tokens": a.pooling == "mean",
                   "pooling_mode_max_tokens": False,
                   "pooling_mode_mean_sqrt_len_tokens": False}, f)
    if a.max_seq:
        with open(os.path.join(a.dir, "sentence_bert_config.json"), "w") as f:
            json.dump({"max_seq_length": a.max_seq, "do_lower_case": False}, f)
    rng = np.random.default_rng(a.seed)
    t = {}

    def w(name, *shape, scale=0.2, center=0.0):
        t[a.prefix + name] = (center + scale *
                              rng.standard_normal(shape)).astype(np.float32)

    w("embeddings.word_embeddings.weight", V, H, scale=0.5)
    w("embeddings.position_embeddings.weight", a.max_pos, H, scale=0.5)
    w("embeddings.token_type_embeddings.weight", 2, H, scale=0.5)
    w("embeddings.LayerNorm.weight", H, scale=0.1, center=1.0)
    w("embeddings.LayerNorm.bias", H, scale=0.1)
    for i in range(a.layers):
        p = "encoder.layer.%d." % i
        for k in ("query", "key", "value"):
            w(p + "attention.self.%s.weight" % k, H, H, scale=H ** -0.5)
            w(p + "attention.self.%s.bias" % k, H, scale=0.1)
        w(p + "attention.output.dense.weight", H, H, scale=H ** -0.5)
        w(p + "attention.output.dense.bias", H, scale=0.1)
        w(p + "attention.output.LayerNorm.weight", H, scale=0.1, center=1.0)
        w(p + "attention.output.LayerNorm.bias", H, scale=0.1)
        w(p + "intermediate.dense.weight", I, H, scale=H ** -0.5)
        w(p + "intermediate.dense.bias", I, scale=0.1)
        w(p + "output.dense.weight", H, I, scale=I ** -0.5)
        w(p + "output.dense.bias", H, scale=0.1)
        w(p + "output.LayerNorm.weight", H, scale=0.1, center=1.0)
        w(p + "output.LayerNorm.bias", H, scale=0.1)
    w("pooler.dense.weight", H, H)
    w("pooler.dense.bias", H)
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(t):
        arr = t[name]
        if a.dtype == "F16":
            arr = arr.astype("<f2")
        raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": a.dtype, "shape": list(arr.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * (-len(hj) % 8)
    with open(os.path.join(a.dir, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


main()
