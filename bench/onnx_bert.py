"""The BERT encoder as ONNX nodes, shared by bench/make_onnx_bert.py (the
sentence encoder of bench/transformer.sh) and bench/rerank_onnx.py (the
cross-encoder of bench/rerank_speed.sh). Weights come from a model
folder's model.safetensors through tests/bert_ref.py, as float32 with the
"bert." prefix dropped."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from bert_ref import load_safetensors  # noqa: E402

__all__ = ["Graph", "encoder", "load_safetensors"]


class Graph:
    """Initializers and nodes of an ONNX graph being built."""

    def __init__(self):
        self.inits, self.nodes = [], []

    def const(self, name, arr):
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def op(self, kind, ins, out, **kw):
        self.nodes.append(helper.make_node(kind, ins, [out], **kw))
        return out

    def dense(self, W, x, wname, bname, out):
        """x [.., K] @ W[wname]^T + W[bname], the weight stored transposed."""
        wt = self.const(wname + ".T", np.ascontiguousarray(W[wname].T))
        m = self.op("MatMul", [x, wt], out + "_mm")
        return self.op("Add", [m, self.const(bname, W[bname])], out)

    def save(self, name, inputs, outputs, path):
        """Check the graph (inputs int64 [B, S]; outputs float32 given as
        (name, shape)) at opset 17 and write it to path."""
        ins = [helper.make_tensor_value_info(n, TensorProto.INT64, ["B", "S"]) for n in inputs]
        outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs]
        graph = helper.make_graph(self.nodes, name, ins, outs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        onnx.save(model, path)


def encoder(g, W, cfg, token_types):
    """Add the BERT encoder to g: embeddings of input_ids (with positions and
    the token types of input token_type_ids if token_types, else type 0),
    layer norm, then the layers of config cfg with padding (attention_mask
    0) masked out of attention. Returns the names of the last hidden states
    [B, S, H] and of the mask as float [B, S]."""
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    dh, eps = H // nh, cfg["layer_norm_eps"]
    const, op = g.const, g.op
    for k in ("embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
              "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight",
              "embeddings.LayerNorm.bias"):
        const(k, W[k])
    const("split4", np.array([0, 0, nh, dh], dtype=np.int64))
    const("merge3", np.array([0, 0, H], dtype=np.int64))
    const("scale", np.array(1.0 / np.sqrt(dh), dtype=np.float32))
    const("one", np.array(1.0, dtype=np.float32))
    const("half", np.array(0.5, dtype=np.float32))
    const("sqrt2", np.array(np.sqrt(2.0), dtype=np.float32))
    const("big_neg", np.array(-10000.0, dtype=np.float32))
    const("i0", np.array(0, dtype=np.int64))
    const("i1", np.array(1, dtype=np.int64))
    const("ax12", np.array([1, 2], dtype=np.int64))

    op("Shape", ["input_ids"], "shape")
    op("Gather", ["shape", "i1"], "seq", axis=0)
    op("Range", ["i0", "seq", "i1"], "positions")
    op("Gather", ["embeddings.word_embeddings.weight", "input_ids"], "e_word", axis=0)
    op("Gather", ["embeddings.position_embeddings.weight", "positions"], "e_pos", axis=0)
    op("Gather", ["embeddings.token_type_embeddings.weight",
                  "token_type_ids" if token_types else "i0"], "e_type", axis=0)
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

        def lin(v, name, tag):
            return g.dense(W, v, p + name + ".weight", p + name + ".bias", p + tag)

        q = heads(lin(x, "attention.self.query", "q"), "q", [0, 2, 1, 3])
        k = heads(lin(x, "attention.self.key", "k"), "k", [0, 2, 3, 1])
        v = heads(lin(x, "attention.self.value", "v"), "v", [0, 2, 1, 3])
        s = op("MatMul", [q, k], p + "scores")
        s = op("Mul", [s, "scale"], p + "scaled")
        s = op("Add", [s, "mask4"], p + "masked")
        a = op("Softmax", [s], p + "probs", axis=-1)
        c = op("MatMul", [a, v], p + "ctx")
        c = op("Transpose", [c], p + "ctx_t", perm=[0, 2, 1, 3])
        c = op("Reshape", [c, "merge3"], p + "ctx_m")
        o = lin(c, "attention.output.dense", "attn_out")
        r = op("Add", [o, x], p + "res1")
        x = op("LayerNormalization", [r, const(p + "ln1.g", W[p + "attention.output.LayerNorm.weight"]),
                                      const(p + "ln1.b", W[p + "attention.output.LayerNorm.bias"])],
               p + "ln1", axis=-1, epsilon=eps)
        h = lin(x, "intermediate.dense", "inter")
        gl = op("Div", [h, "sqrt2"], p + "g1")
        gl = op("Erf", [gl], p + "g2")
        gl = op("Add", [gl, "one"], p + "g3")
        gl = op("Mul", [h, gl], p + "g4")
        gl = op("Mul", [gl, "half"], p + "g5")
        o = lin(gl, "output.dense", "ffn_out")
        r = op("Add", [o, x], p + "res2")
        x = op("LayerNormalization", [r, const(p + "ln2.g", W[p + "output.LayerNorm.weight"]),
                                      const(p + "ln2.b", W[p + "output.LayerNorm.bias"])],
               p + "ln2", axis=-1, epsilon=eps)
    return x, "mask_f"
