#!/usr/bin/python3
"""A random-weight late-interaction (ColBERT-shaped) model and an
independent numpy (float64) reference of its MaxSim scores, for vs-rerank's
tests.

    ref_late_interaction.py make DIR [--dim D] [--bias] [--plain]
                            [--meta JSON] [make_tiny_bert.py options]
        a random BERT (make_tiny_bert.py, weights under "bert.") whose
        vocabulary also has [unused0] and [unused1], plus ColBERT's
        projection linear.weight [D, H] (and linear.bias [D] with --bias);
        --plain leaves the projection out (a bare BERT); --meta writes JSON
        as ColBERT's artifact.metadata.
    ref_late_interaction.py score DIR < pairs.jsonl
        reads {"query", "text"} records and writes {"score", "truncated"}.
        With a projection (ColBERT): query ids [CLS] [unused0] pieces [SEP]
        cut to query_maxlen (32) and padded to it with [MASK], the padding
        masked out of attention (keys) unless attend_to_mask_tokens, but
        scored; passage ids [CLS] [unused1] pieces [SEP] cut to doc_maxlen
        (180); both limits capped at the model length; artifact.metadata
        overrides. Without: no markers, no padding, the model length. Every
        token's last hidden state, projected, unit length; score = sum over
        query tokens of the max dot product over the passage tokens that
        are not one ASCII punctuation mark (unless mask_punctuation is
        false)."""
import json
import os
import string
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bert_ref import encode, load_safetensors, read_safetensors  # noqa: E402
from ref_cross_encoder import write_st  # noqa: E402
from wordpiece_ref import basic, wordpiece  # noqa: E402


def make(d, opts):
    dim, bias, plain, meta = 16, False, False, None
    rest = []
    i = 0
    while i < len(opts):
        if opts[i] in ("--dim", "--meta"):
            if opts[i] == "--dim":
                dim = int(opts[i + 1])
            else:
                meta = opts[i + 1]
            i += 2
            continue
        if opts[i] == "--bias":
            bias = True
        elif opts[i] == "--plain":
            plain = True
        else:
            rest.append(opts[i])
        i += 1
    tool = os.path.join(HERE, "make_tiny_bert.py")
    subprocess.check_call([sys.executable, tool, d, "--prefix", "bert."] + rest)
    vocab = [l.rstrip("\n") for l in open(os.path.join(d, "vocab.txt"), encoding="utf-8")]
    vf = os.path.join(d, "vocab.src")
    with open(vf, "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t in vocab + [m for m in ("[unused0]", "[unused1]")
                                                    if m not in vocab]))
    subprocess.check_call([sys.executable, tool, d, "--prefix", "bert.", "--vocab", vf] + rest)
    os.remove(vf)
    if meta:
        with open(os.path.join(d, "artifact.metadata"), "w") as f:
            f.write(meta)
    if plain:
        return
    cfg = json.load(open(os.path.join(d, "config.json")))
    path = os.path.join(d, "model.safetensors")
    t = read_safetensors(path)
    rng = np.random.default_rng(777)
    H = cfg["hidden_size"]
    t["linear.weight"] = (rng.standard_normal((dim, H)) * H ** -0.5).astype(np.float32)
    if bias:
        t["linear.bias"] = (rng.standard_normal(dim) * 0.1).astype(np.float32)
    write_st(path, t)


def score(d):
    cfg = json.load(open(os.path.join(d, "config.json")))
    maxlen = cfg["max_position_embeddings"]
    sb = os.path.join(d, "sentence_bert_config.json")
    if os.path.exists(sb):
        maxlen = min(maxlen, json.load(open(sb))["max_seq_length"])
    vocab, inv = {}, {}
    for i, line in enumerate(open(os.path.join(d, "vocab.txt"), encoding="utf-8")):
        vocab.setdefault(line.rstrip("\n"), i)
        inv[i] = line.rstrip("\n")
    W = load_safetensors(os.path.join(d, "model.safetensors"))
    B = {k[5:]: v for k, v in W.items() if k.startswith("bert.")}
    lin = W.get("linear.weight")
    mp = os.path.join(d, "artifact.metadata")
    meta = json.load(open(mp)) if os.path.exists(mp) else {}
    colbert = lin is not None
    qmark = meta.get("query_token_id", "[unused0]")
    dmark = meta.get("doc_token_id", "[unused1]")
    marks = colbert and qmark in vocab and dmark in vocab
    qmax = min(meta.get("query_maxlen", 32), maxlen) if colbert else maxlen
    dmax = min(meta.get("doc_maxlen", 180), maxlen) if colbert else maxlen
    pad = colbert and "[MASK]" in vocab
    attend = meta.get("attend_to_mask_tokens", False)
    skip = meta.get("mask_punctuation", True)
    unk = vocab["[UNK]"]

    def embed(text, mark, limit, augment):
        pieces = [vocab.get(p, unk) for w in basic(text) for p in wordpiece(w, vocab)]
        room = limit - 2 - (1 if marks else 0)
        trunc = len(pieces) > room
        ids = [vocab["[CLS]"]] + ([vocab[mark]] if marks else []) + pieces[:room] + [vocab["[SEP]"]]
        nkeys = len(ids)
        if augment:
            ids += [vocab["[MASK]"]] * (limit - len(ids))
            if attend:
                nkeys = len(ids)
        x = encode(B, cfg, ids, [0] * len(ids), nkeys)
        if lin is not None:
            x = x @ lin.T + W.get("linear.bias", 0)
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        return ids, x, trunc

    for line in sys.stdin:
        rec = json.loads(line)
        _, q, tq = embed(rec["query"], qmark, qmax, pad)
        ids, p, tp = embed(rec["text"], dmark, dmax, False)
        keep = [j for j, t in enumerate(ids)
                if not (skip and len(inv[t]) == 1 and inv[t] in string.punctuation)]
        s = float((q @ p[keep].T).max(axis=1).sum())
        print(json.dumps({"score": s, "truncated": tq or tp}))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) >= 3 and sys.argv[1] == "score":
        score(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
