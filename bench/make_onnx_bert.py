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
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from bert_ref import load_safetensors  # noqa: E402


def main():
    d, outp = sys.argv[1], sys.argv[2]
    cfg = json.load(open(os.path.join(d, "config.json")))
    pool = json.load(open(os.path.join(d, "1_Pooling", "config.json")))
    W = load_safetensors(os.path.join(d, "model.safetensors"), np.float32, "bert.")
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    dh, eps = H // nh, cfg["layer_norm_eps"]
    inits, nodes = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def node(op, ins, out, **kw):
        nodes.append(helper.make_node(op, ins, [out], **kw))
        return out

    for k, v in W.items():
        if k.startswith("pooler."):
            continue
        if k.endswith(".weight") and v.ndim == 2 and "embeddings" not in k:
            const(k + ".T", np.ascontiguousarray(v.T))
        else:
            const(k, v)
    const("shape_split", np.array([0, 0, nh, dh], dtype=np.int64))
    const("shape_merge", np.array([0, 0, H], dtype=np.int64))
    const("scale", np.array(1.0 / np.sqrt(dh), dtype=np.float32))
    const("one", np.array(1.0, dtype=np.float32))
    const("half", np.array(0.5, dtype=np.float32))
    const("sqrt2", np.array(np.sqrt(2.0), dtype=np.float32))
    const("neg", np.array(-10000.0, dtype=np.float32))
    const("ax1", np.array([1], dtype=np.int64))
    const("ax12", np.array([1, 2], dtype=np.int64))
    const("zero_i", np.array(0, dtype=np.int64))

    node("Shape", ["input_ids"], "ids_shape")
    node("Gather", ["ids_shape", "ax1"], "seqlen1", axis=0)
    node("Squeeze", ["seqlen1"], "seqlen")
    node("Range", ["zero_i", "seqlen", "one_i"], "pos_ids")
    const("one_i", np.array(1, dtype=np.int64))
    node("Gather", ["embeddings.word_embeddings.weight", "input_ids"], "we", axis=0)
    node("Gather", ["embeddings.position_embeddings.weight", "pos_ids"], "pe", axis=0)
    node("Gather", ["embeddings.token_type_embeddings.weight", "zero_i"], "te", axis=0)
    node("Add", ["we", "pe"], "e1")
    node("Add", ["e1", "te"], "e2")
    x = node("LayerNormalization", ["e2", "embeddings.LayerNorm.weight",
                                    "embeddings.LayerNorm.bias"], "x0",
             axis=-1, epsilon=eps)
    # additive mask [B, 1, 1, S]
    node("Cast", ["attention_mask"], "maskf", to=TensorProto.FLOAT)
    node("Sub", ["one", "maskf"], "inv")
    node("Mul", ["inv", "neg"], "addm")
    node("Unsqueeze", ["addm", "ax12"], "addm4")

    for i in range(cfg["num_hidden_layers"]):
        p = "encoder.layer.%d." % i

        def lin(v, name, tag):
            m = node("MatMul", [v, p + name + ".weight.T"], p + tag + "_mm")
            return node("Add", [m, p + name + ".bias"], p + tag)

        def heads(v, tag, perm):
            r = node("Reshape", [v, "shape_split"], p + tag + "_r")
            return node("Transpose", [r], p + tag + "_t", perm=perm)

        q = heads(lin(x, "attention.self.query", "q"), "q", [0, 2, 1, 3])
        k = heads(lin(x, "attention.self.key", "k"), "k", [0, 2, 3, 1])
        v = heads(lin(x, "attention.self.value", "v"), "v", [0, 2, 1, 3])
        s = node("MatMul", [q, k], p + "s")
        s = node("Mul", [s, "scale"], p + "ss")
        s = node("Add", [s, "addm4"], p + "sm")
        a = node("Softmax", [s], p + "a", axis=-1)
        c = node("MatMul", [a, v], p + "c")
        c = node("Transpose", [c], p + "ct", perm=[0, 2, 1, 3])
        c = node("Reshape", [c, "shape_merge"], p + "cm")
        o = lin(c, "attention.output.dense", "ao")
        r = node("Add", [o, x], p + "res1")
        x = node("LayerNormalization", [r, p + "attention.output.LayerNorm.weight",
                                        p + "attention.output.LayerNorm.bias"],
                 p + "ln1", axis=-1, epsilon=eps)
        h = lin(x, "intermediate.dense", "h")
        g = node("Div", [h, "sqrt2"], p + "g1")
        g = node("Erf", [g], p + "g2")
        g = node("Add", [g, "one"], p + "g3")
        g = node("Mul", [h, g], p + "g4")
        g = node("Mul", [g, "half"], p + "g5")
        o = lin(g, "output.dense", "fo")
        r = node("Add", [o, x], p + "res2")
        x = node("LayerNormalization", [r, p + "output.LayerNorm.weight",
                                        p + "output.LayerNorm.bias"],
                 p + "ln2", axis=-1, epsilon=eps)
    if pool["pooling_mode_cls_token"]:
        const("zero1", np.array([0], dtype=np.int64))
        node("Gather", [x, "zero1"], "cls3", axis=1)
        pooled = node("Squeeze", ["cls3", "ax1"], "pooled")
    else:
        node("Unsqueeze", ["maskf", "m2ax"], "m3")
        const("m2ax", np.array([2], dtype=np.int64))
        node("Mul", [x, "m3"], "xm")
        node("ReduceSum", ["xm", "ax1"], "sumv", keepdims=0)
        node("ReduceSum", ["maskf", "ax1"], "cnt", keepdims=1)
        pooled = node("Div", ["sumv", "cnt"], "pooled")
    node("LpNormalization", [pooled], "embedding", axis=-1, p=2)
    graph = helper.make_graph(
        nodes, "bert",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["B", "S"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["B", "S"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["B", H])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, outp)


main()
