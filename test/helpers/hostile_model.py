"""Turns a tiny model's ONNX file (tiny_bert.py) into one that misbehaves, for the local embedder's tests.

Usage: python3 hostile_model.py <model.onnx> <kind> [<tokens>]

Rewrites <model.onnx> in place; the output keeps its name (last_hidden_state). Kinds:
- `rank2`: [batch, hidden] (already pooled) instead of [batch, seq, hidden];
- `rank4`: [batch, seq, hidden, 1];
- `wide`:  [batch, seq, 2 x hidden] (config.json still says hidden);
- `fewer`: only the first row of the batch ([1, seq, hidden]);
- `more`:  the batch twice over ([2 x batch, seq, hidden]);
- `slow`:  right, but batches whose longest text has more than <tokens> tokens (default 0: every batch)
  first run an ONNX Loop of 2^50 empty iterations: a computation that never ends in practice (ONNX
  Runtime cannot be interrupted while it runs).
Uses Debian's python3-onnx (onnx 1.12, opset 17) and numpy only.
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

path, kind = sys.argv[1], sys.argv[2]
tokens = int(sys.argv[3]) if len(sys.argv) > 3 else 0
model = onnx.load(path)
graph = model.graph

# tiny_bert.py ends with Identity(x) -> last_hidden_state: take x, and write a new last_hidden_state.
final = next(n for n in graph.node if n.output[0] == "last_hidden_state")
graph.node.remove(final)
x = final.input[0]
hidden = graph.output[0].type.tensor_type.shape.dim[2].dim_value


def const(name, value):
    graph.initializer.append(numpy_helper.from_array(np.asarray(value), name))
    return name


def node(op, inputs, name, **attrs):
    graph.node.append(helper.make_node(op, inputs, [name], **attrs))
    return name


shape = ["batch", "seq", hidden]
if kind == "rank2":
    node("ReduceMean", [x], "last_hidden_state", axes=[1], keepdims=0)
    shape = ["batch", hidden]
elif kind == "rank4":
    node("Unsqueeze", [x, const("h_axis3", np.array([3], np.int64))], "last_hidden_state")
    shape = ["batch", "seq", hidden, 1]
elif kind == "wide":
    node("Concat", [x, x], "last_hidden_state", axis=2)
    shape = ["batch", "seq", 2 * hidden]
elif kind == "fewer":
    starts, ends, axes = const("h_s", np.array([0], np.int64)), const("h_e", np.array([1], np.int64)), const("h_a", np.array([0], np.int64))
    node("Slice", [x, starts, ends, axes], "last_hidden_state")
    shape = [1, "seq", hidden]
elif kind == "more":
    node("Concat", [x, x], "last_hidden_state", axis=0)
    shape = ["batch2", "seq", hidden]
elif kind == "slow":
    # trip count: 2^50 when seq > tokens, else 0; the loop carries a float that stays 0 and is added to x,
    # so ONNX Runtime cannot drop the loop.
    seq = node("Gather", [node("Shape", ["input_ids"], "h_shape"), const("h_idx1", np.int64(1))], "h_seq")
    long = node("Greater", [seq, const("h_tokens", np.int64(tokens))], "h_long")
    trips = node("Mul", [node("Cast", [long], "h_long_i", to=TensorProto.INT64), const("h_huge", np.int64(2 ** 50))], "h_trips")
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Identity", ["acc_in"], ["acc_out"]),
        ],
        "endless_body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, []),
        ],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []), helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, [])],
    )
    graph.node.append(
        helper.make_node("Loop", [trips, const("h_true", np.array(True)), const("h_zero", np.float32(0))], ["h_acc"], body=body)
    )
    node("Add", [x, "h_acc"], "last_hidden_state")
else:
    raise SystemExit(f"unknown kind {kind}")

graph.output.remove(graph.output[0])
graph.output.append(helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, shape))
onnx.checker.check_model(model)
onnx.save(model, path)
