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
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from bert_ref import load_safetensors  # noqa: E402


def main():
    d, outp = sys.argv[1], sys.argv[2]
    cfg = json.load(open(os.path.join(d, "config.json")))
    W = load_safetensors(os.path.join(d, "model.safetensors"), np.float32, "bert.")
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    dh, eps = H // nh, cfg["layer_norm_eps"]
    inits, nodes = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def op(kind, ins, out, **kw):
        nodes.append(helper.make_node(kind, ins, [out], **kw))
        return out

    def dense(x, wname, bname, out):
        # x [.., K] @ W^T + b, with W stored transposed once
        wt = const(wname + ".T", np.ascontiguousarray(W[wname].T))
        m = op("MatMul", [x, wt], out + "_mm")
        return op("Add", [m, const(bname, W[bname])], out)

    for k in ("embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
              "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight",
              "embeddings.LayerNorm.bias"):
        const(k, W[k])
    const("split4", np.array([0, 0, nh, dh], dtype=np.int64))
    const("merge3", np.array([0, 0, H], dtype=np.int64))
    const("scale", np.array(1.0 / np.sqrt(dh), dtype=np.float32))
    const("one", np.array(1.0, dtype=np.float32))
    const("half", np.array(0.5, dtype=np.float32))
    const("rsqrt2", np.array(1.0 / np.sqrt(2.0), dtype=np.float32))
    const("big_neg", np.array(-10000.0, dtype=np.float32))
    const("i0", np.array(0, dtype=np.int64))
    const("i1", np.array(1, dtype=np.int64))
    const("ax1", np.array([1], dtype=np.int64))
    const("ax12", np.array([1, 2], dtype=np.int64))

    op("Shape", ["input_ids"], "shape")
    op("Gather", ["shape", "i1"], "seq", axis=0)
    op("Range", ["i0", "seq", "i1"], "positions")
    op("Gather", ["embeddings.word_embeddings.weight", "input_ids"], "e_word", axis=0)
    op("Gather", ["embeddings.position_embeddings.weight", "positions"], "e_pos", axis=0)
    op("Gather", ["embeddings.token_type_embeddings.weight", "token_type_ids"], "e_type",
       axis=0)
    op("Add", ["e_word", "e_pos"], "e_sum1")
    op("Add", ["e_sum1", "e_type"], "e_sum")
    x = op("LayerNormalization", ["e_sum", "embeddings.LayerNorm.weight",
                                  "embeddings.LayerNorm.bias"], "h0", axis=-1, epsilon=eps)
    op("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    op("Sub", ["one", "mask_f"], "mask_inv")
    op("Mul", ["mask_inv", "big_neg"], "mask_add")
    op("Unsqueeze", ["mask_add", "ax12"], "mask4")
    for i in range(cfg["num_hidden_layers"]):
        p = "encoder.layer.%d." % i

        def heads(v, tag, perm):
            r = op("Reshape", [v, "split4"], p + tag + "_split")
            return op("Transpose", [r], p + tag + "_heads", perm=perm)

        q = heads(dense(x, p + "attention.self.query.weight", p + "attention.self.query.bias",
                        p + "q"), "q", [0, 2, 1, 3])
        k = heads(dense(x, p + "attention.self.key.weight", p + "attention.self.key.bias",
                        p + "k"), "k", [0, 2, 3, 1])
        v = heads(dense(x, p + "attention.self.value.weight", p + "attention.self.value.bias",
                        p + "v"), "v", [0, 2, 1, 3])
        s = op("MatMul", [q, k], p + "scores")
        s = op("Mul", [s, "scale"], p + "scaled")
        s = op("Add", [s, "mask4"], p + "masked")
        a = op("Softmax", [s], p + "probs", axis=-1)
        c = op("MatMul", [a, v], p + "ctx")
        c = op("Transpose", [c], p + "ctx_t", perm=[0, 2, 1, 3])
        c = op("Reshape", [c, "merge3"], p + "ctx_m")
        o = dense(c, p + "attention.output.dense.weight", p + "attention.output.dense.bias",
                  p + "attn_out")
        r = op("Add", [o, x], p + "res1")
        x = op("LayerNormalization", [r, const(p + "ln1.g", W[p + "attention.output.LayerNorm.weight"]),
                                      const(p + "ln1.b", W[p + "attention.output.LayerNorm.bias"])],
               p + "ln1", axis=-1, epsilon=eps)
        h = dense(x, p + "intermediate.dense.weight", p + "intermediate.dense.bias", p + "inter")
        g = op("Mul", [h, "rsqrt2"], p + "g1")
        g = op("Erf", [g], p + "g2")
        g = op("Add", [g, "one"], p + "g3")
        g = op("Mul", [h, g], p + "g4")
        g = op("Mul", [g, "half"], p + "g5")
        o = dense(g, p + "output.dense.weight", p + "output.dense.bias", p + "ffn_out")
        r = op("Add", [o, x], p + "res2")
        x = op("LayerNormalization", [r, const(p + "ln2.g", W[p + "output.LayerNorm.weight"]),
                                      const(p + "ln2.b", W[p + "output.LayerNorm.bias"])],
               p + "ln2", axis=-1, epsilon=eps)
    op("Gather", [x, "i0"], "cls", axis=1)
    pooled = dense("cls", "pooler.dense.weight", "pooler.dense.bias", "pool_lin")
    op("Tanh", [pooled], "pooled")
    dense("pooled", "classifier.weight", "classifier.bias", "logits")
    labels = W["classifier.weight"].shape[0]
    ins = [helper.make_tensor_value_info(n, TensorProto.INT64, ["B", "S"])
           for n in ("input_ids", "attention_mask", "token_type_ids")]
    graph = helper.make_graph(nodes, "cross_encoder", ins,
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                                             ["B", labels])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, outp)


main()
