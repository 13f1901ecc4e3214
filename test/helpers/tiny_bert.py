"""Writes a tiny BERT-style encoder as ONNX, for the local embedder's tests (no model hub needed).

Usage: python3 tiny_bert.py <out_dir> <vocab_size> <hidden> <max_positions>

Writes <out_dir>/onnx/model.onnx (float weights) and <out_dir>/onnx/model_quantized.onnx (the same
graph with int8 weights and DequantizeLinear, like the quantised files on the model hub). Inputs are
BERT's (input_ids, attention_mask, token_type_ids: int64 [batch, seq]); the output is last_hidden_state
(float [batch, seq, hidden]): word + position + token-type embeddings, LayerNorm, one self-attention
layer that masks padding (so padded and unpadded inputs give the same vectors for real tokens), and a
ReLU feed-forward block, each with a residual connection and LayerNorm. Weights come from a fixed seed.
Uses Debian's python3-onnx (onnx 1.12, opset 17) and numpy only.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out_dir, vocab, hidden, max_pos = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.RandomState(1234)


def weights():
    w = {
        "word": rng.normal(0, 1.0, (vocab, hidden)),
        "pos": rng.normal(0, 0.1, (max_pos, hidden)),
        "type": rng.normal(0, 0.1, (2, hidden)),
        "wq": rng.normal(0, hidden ** -0.5, (hidden, hidden)),
        "wk": rng.normal(0, hidden ** -0.5, (hidden, hidden)),
        "wv": rng.normal(0, hidden ** -0.5, (hidden, hidden)),
        "wo": rng.normal(0, hidden ** -0.5, (hidden, hidden)),
        "w1": rng.normal(0, hidden ** -0.5, (hidden, 2 * hidden)),
        "w2": rng.normal(0, (2 * hidden) ** -0.5, (2 * hidden, hidden)),
    }
    return {k: v.astype(np.float32) for k, v in w.items()}


def build(w, quantised):
    inits = []
    nodes = []

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def weight(name):
        """A weight as a float tensor: stored as is, or as int8 + scale behind DequantizeLinear."""
        if not quantised:
            return const(name, w[name])
        scale = float(np.abs(w[name]).max() / 127.0)
        q = np.clip(np.round(w[name] / scale), -127, 127).astype(np.int8)
        const(name + "_q", q)
        const(name + "_scale", np.float32(scale))
        const(name + "_zero", np.int8(0))
        nodes.append(helper.make_node("DequantizeLinear", [name + "_q", name + "_scale", name + "_zero"], [name]))
        return name

    def node(op, inputs, name, **attrs):
        nodes.append(helper.make_node(op, inputs, [name], **attrs))
        return name

    gamma = const("ln_gamma", np.ones(hidden, np.float32))
    beta = const("ln_beta", np.zeros(hidden, np.float32))

    def layer_norm(x, name):
        return node("LayerNormalization", [x, gamma, beta], name, axis=-1, epsilon=1e-12)

    # Embeddings: word + position (0..seq-1) + token type.
    word = node("Gather", [weight("word"), "input_ids"], "word_emb")
    shape = node("Shape", ["input_ids"], "ids_shape")
    seq = node("Gather", [shape, const("one", np.int64(1))], "seq_len")
    positions = node("Range", [const("zero", np.int64(0)), seq, const("step", np.int64(1))], "positions")
    pos = node("Gather", [weight("pos"), positions], "pos_emb")
    typ = node("Gather", [weight("type"), "token_type_ids"], "type_emb")
    x = layer_norm(node("Add", [node("Add", [word, pos], "wp"), typ], "emb_sum"), "x0")

    # Self-attention, padding masked out with a large negative bias before the softmax.
    q = node("MatMul", [x, weight("wq")], "q")
    k = node("MatMul", [x, weight("wk")], "k")
    v = node("MatMul", [x, weight("wv")], "v")
    kt = node("Transpose", [k], "kt", perm=[0, 2, 1])
    scores = node("Mul", [node("MatMul", [q, kt], "qk"), const("inv_sqrt", np.float32(hidden ** -0.5))], "scores")
    mask = node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    bias = node("Mul", [node("Sub", [const("f_one", np.float32(1)), mask], "inv_mask"), const("neg", np.float32(-10000))], "mask_bias")
    bias3 = node("Unsqueeze", [bias, const("axis1", np.array([1], np.int64))], "mask_bias3")
    probs = node("Softmax", [node("Add", [scores, bias3], "masked")], "probs", axis=-1)
    attn = node("MatMul", [node("MatMul", [probs, v], "ctx"), weight("wo")], "attn")
    x1 = layer_norm(node("Add", [x, attn], "res1"), "x1")

    # Feed-forward.
    ff = node("MatMul", [node("Relu", [node("MatMul", [x1, weight("w1")], "ff1")], "ff1r"), weight("w2")], "ff2")
    node("LayerNormalization", [node("Add", [x1, ff], "res2"), gamma, beta], "last_hidden_state", axis=-1, epsilon=1e-12)

    ints = lambda name: helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "seq"])
    graph = helper.make_graph(
        nodes,
        "tiny_bert",
        [ints("input_ids"), ints("attention_mask"), ints("token_type_ids")],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", hidden])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="doctor-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


w = weights()
os.makedirs(os.path.join(out_dir, "onnx"), exist_ok=True)
onnx.save(build(w, False), os.path.join(out_dir, "onnx", "model.onnx"))
onnx.save(build(w, True), os.path.join(out_dir, "onnx", "model_quantized.onnx"))
