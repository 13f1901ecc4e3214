"""Writes a BERT-style encoder as ONNX, for the local embedder's tests and benchmark (no model hub needed).

Usage: python3 tiny_bert.py <out_dir> <vocab_size> <hidden> <max_positions> [<layers> [<ffn> [<quantised_only> [<mode>]]]]

Writes <out_dir>/onnx/model.onnx (float weights) and <out_dir>/onnx/model_quantized.onnx (int8 weights);
with <quantised_only> 1 only the latter. <mode> says how the quantised file computes:
- `weight` (default): int8 weights behind DequantizeLinear, float arithmetic: a text's vector does not
  depend on the other texts of its batch, which lets the tests check the padding mask exactly;
- `dynamic`: the way ONNX Runtime's quantize_dynamic writes the model hub's `_quantized` files (each
  MatMul becomes DynamicQuantizeLinear + MatMulInteger + rescale): the same arithmetic cost as a real
  quantised model. Activations are quantised with one scale per tensor, i.e. per batch, so a text's
  vector moves slightly (~1e-3) with the other texts of its batch, as with those real files.

Inputs are BERT's (input_ids, attention_mask, token_type_ids: int64 [batch, seq]); the output is
last_hidden_state (float [batch, seq, hidden]): word + position + token-type embeddings, LayerNorm, then
<layers> encoder layers (default 1), each: self-attention that masks padding (so padded and unpadded
inputs give the same vectors for real tokens) and a GELU feed-forward block of <ffn> units (default
2 x hidden), each with a residual connection and LayerNorm. Attention is single-head: the same matrix
products (and so nearly the same work) as a multi-head layer of that width. Weights come from a fixed seed.
Uses Debian's python3-onnx (onnx 1.12, opset 17) and numpy only.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out_dir, vocab, hidden, max_pos = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
layers = int(sys.argv[5]) if len(sys.argv) > 5 else 1
ffn = int(sys.argv[6]) if len(sys.argv) > 6 else 2 * hidden
quantised_only = len(sys.argv) > 7 and sys.argv[7] == "1"
mode = sys.argv[8] if len(sys.argv) > 8 else "weight"
rng = np.random.RandomState(1234)


def weights():
    w = {
        "word": rng.normal(0, 1.0, (vocab, hidden)),
        "pos": rng.normal(0, 0.1, (max_pos, hidden)),
        "type": rng.normal(0, 0.1, (2, hidden)),
    }
    for l in range(layers):
        for name in ("wq", "wk", "wv", "wo"):
            w[f"{name}{l}"] = rng.normal(0, hidden ** -0.5, (hidden, hidden))
        w[f"w1_{l}"] = rng.normal(0, hidden ** -0.5, (hidden, ffn))
        w[f"w2_{l}"] = rng.normal(0, ffn ** -0.5, (ffn, hidden))
    return {k: v.astype(np.float32) for k, v in w.items()}


def build(w, quantised):
    inits = []
    nodes = []
    counter = [0]

    def fresh(base):
        counter[0] += 1
        return f"{base}_{counter[0]}"

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(op, inputs, name, **attrs):
        nodes.append(helper.make_node(op, inputs, [name], **attrs))
        return name

    def int8_weight(name):
        scale = float(np.abs(w[name]).max() / 127.0)
        q = np.clip(np.round(w[name] / scale), -127, 127).astype(np.int8)
        return const(name + "_q", q), scale

    def table(name):
        """An embedding table: float, or int8 + scale behind DequantizeLinear."""
        if not quantised:
            return const(name, w[name])
        q, scale = int8_weight(name)
        return node("DequantizeLinear", [q, const(name + "_scale", np.float32(scale)), const(name + "_zero", np.int8(0))], name)

    def matmul(x, name):
        """x @ w[name]: float weights, int8 weights dequantised, or quantised dynamically (uint8
        activations, int8 weights, int32 sums)."""
        if not quantised:
            return node("MatMul", [x, const(name, w[name])], fresh(name))
        if mode == "weight":
            return node("MatMul", [x, table(name)], fresh(name))
        q, w_scale = int8_weight(name)
        xq, xs, xz = fresh("xq"), fresh("xs"), fresh("xz")
        nodes.append(helper.make_node("DynamicQuantizeLinear", [x], [xq, xs, xz]))
        acc = node("MatMulInteger", [xq, q, xz, const(name + "_wzero", np.int8(0))], fresh(name + "_int"))
        scale = node("Mul", [xs, const(name + "_wscale", np.float32(w_scale))], fresh(name + "_scale"))
        return node("Mul", [node("Cast", [acc], fresh(name + "_f"), to=TensorProto.FLOAT), scale], fresh(name))

    gamma = const("ln_gamma", np.ones(hidden, np.float32))
    beta = const("ln_beta", np.zeros(hidden, np.float32))

    def layer_norm(x, name):
        return node("LayerNormalization", [x, gamma, beta], fresh(name), axis=-1, epsilon=1e-12)

    def gelu(x):
        # 0.5 * x * (1 + erf(x / sqrt(2))), as BERT exports write it
        e = node("Erf", [node("Div", [x, const(fresh("sqrt2"), np.float32(2 ** 0.5))], fresh("gd"))], fresh("ge"))
        return node("Mul", [node("Mul", [x, node("Add", [e, const(fresh("one"), np.float32(1))], fresh("ga"))], fresh("gm")), const(fresh("half"), np.float32(0.5))], fresh("gelu"))

    # Embeddings: word + position (0..seq-1) + token type.
    word = node("Gather", [table("word"), "input_ids"], "word_emb")
    shape = node("Shape", ["input_ids"], "ids_shape")
    seq = node("Gather", [shape, const("idx1", np.int64(1))], "seq_len")
    positions = node("Range", [const("zero", np.int64(0)), seq, const("step", np.int64(1))], "positions")
    pos = node("Gather", [table("pos"), positions], "pos_emb")
    typ = node("Gather", [table("type"), "token_type_ids"], "type_emb")
    x = layer_norm(node("Add", [node("Add", [word, pos], "wp"), typ], "emb_sum"), "x0")

    # Padding mask: a large negative bias on padded keys before each softmax.
    mask = node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    bias = node("Mul", [node("Sub", [const("f_one", np.float32(1)), mask], "inv_mask"), const("neg", np.float32(-10000))], "mask_bias")
    bias3 = node("Unsqueeze", [bias, const("axis1", np.array([1], np.int64))], "mask_bias3")
    inv_sqrt = const("inv_sqrt", np.float32(hidden ** -0.5))

    for l in range(layers):
        q, k, v = matmul(x, f"wq{l}"), matmul(x, f"wk{l}"), matmul(x, f"wv{l}")
        kt = node("Transpose", [k], fresh("kt"), perm=[0, 2, 1])
        scores = node("Mul", [node("MatMul", [q, kt], fresh("qk")), inv_sqrt], fresh("scores"))
        probs = node("Softmax", [node("Add", [scores, bias3], fresh("masked"))], fresh("probs"), axis=-1)
        attn = matmul(node("MatMul", [probs, v], fresh("ctx")), f"wo{l}")
        x = layer_norm(node("Add", [x, attn], fresh("res1")), "x1")
        ff = matmul(gelu(matmul(x, f"w1_{l}")), f"w2_{l}")
        x = layer_norm(node("Add", [x, ff], fresh("res2")), "x2")
    node("Identity", [x], "last_hidden_state")

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
if not quantised_only:
    onnx.save(build(w, False), os.path.join(out_dir, "onnx", "model.onnx"))
onnx.save(build(w, True), os.path.join(out_dir, "onnx", "model_quantized.onnx"))
