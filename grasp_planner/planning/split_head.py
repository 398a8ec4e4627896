"""The split-head trick: the head's first layer, W1 [f; p] + b1, done as c = W1f f + b1 once per image.

Per pose only ``W1p p`` is left, so scoring 13 poses costs 0.04 ms instead of 0.5 ms
(docs: shared/notes/cnn-planner-perf.md). We rewrite the exported head ONNX graph: its inputs
become ``image_term`` (N, hidden) and ``pose``; ``Concat -> Gemm`` becomes ``MatMul(pose, W1p^T) +
image_term``. Only graphs of exactly that shape are rewritten; anything else returns None and
the caller uses the plain head. The caller checks the rewritten graph against the plain one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SplitHead:
    """The rewritten head (serialized ONNX) and the image half of the first layer."""

    model_bytes: bytes
    image_weight: np.ndarray   # (hidden, F) float32: W1 columns that multiply the image features
    bias: np.ndarray           # (hidden,) float32

    def image_term(self, features: np.ndarray) -> np.ndarray:
        """``W1f f + b1`` for features ``(N, F)`` -> ``(N, hidden)`` float32."""
        return (features @ self.image_weight.T + self.bias).astype(np.float32)


def split_head(head_bytes: bytes, features_name: str = "features", pose_name: str = "pose") -> SplitHead | None:
    """Rewrite a head graph whose first layer is ``Gemm(Concat(features, pose))``; None if it is not."""
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:  # the plain head still works without the onnx package
        return None
    model = onnx.load_from_string(head_bytes)
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    concat = [n for n in graph.node if n.op_type == "Concat" and list(n.input) == [features_name, pose_name]]
    if len(concat) != 1:
        return None
    concat = concat[0]
    axis = [a.i for a in concat.attribute if a.name == "axis"]
    users = [n for n in graph.node if concat.output[0] in n.input]
    if axis not in ([1], [-1]) or len(users) != 1 or users[0].op_type != "Gemm":
        return None
    gemm = users[0]
    attrs = {a.name: (a.f if a.type == onnx.AttributeProto.FLOAT else a.i) for a in gemm.attribute}
    if attrs.get("transA", 0) != 0 or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
        return None
    if len(gemm.input) != 3 or gemm.input[1] not in inits or gemm.input[2] not in inits:
        return None
    weight = numpy_helper.to_array(inits[gemm.input[1]]).astype(np.float32)
    if attrs.get("transB", 0) == 0:
        weight = weight.T                       # now (hidden, F + D) either way
    bias = numpy_helper.to_array(inits[gemm.input[2]]).astype(np.float32).reshape(-1)
    n_feat = _static_width(graph, features_name)
    if n_feat is None or weight.shape[1] <= n_feat or bias.shape[0] != weight.shape[0]:
        return None

    pose_weight_t = np.ascontiguousarray(weight[:, n_feat:].T)   # (D, hidden)
    w_name, term_name, prod_name = "split_pose_weight_t", "image_term", "split_pose_product"
    new_nodes = []
    for node in graph.node:
        if node is concat:
            continue
        if node is gemm:
            new_nodes.append(helper.make_node("MatMul", [pose_name, w_name], [prod_name]))
            new_nodes.append(helper.make_node("Add", [prod_name, term_name], list(gemm.output)))
            continue
        new_nodes.append(node)
    used = {name for node in new_nodes for name in node.input}
    new_inits = [t for t in graph.initializer if t.name in used]
    new_inits.append(numpy_helper.from_array(pose_weight_t, w_name))
    term_input = helper.make_tensor_value_info(term_name, onnx.TensorProto.FLOAT, ["N", weight.shape[0]])
    inputs = [term_input] + [i for i in graph.input if i.name == pose_name]
    new_graph = helper.make_graph(new_nodes, graph.name + "_split", inputs, list(graph.output), new_inits)
    new_model = helper.make_model(new_graph, opset_imports=list(model.opset_import))
    new_model.ir_version = model.ir_version
    onnx.checker.check_model(new_model)
    return SplitHead(new_model.SerializeToString(), np.ascontiguousarray(weight[:, :n_feat]), bias)


def _static_width(graph, name: str) -> int | None:
    """The fixed second dimension of a graph input, or None if it is symbolic or absent."""
    for value in graph.input:
        if value.name == name:
            dims = value.type.tensor_type.shape.dim
            if len(dims) == 2 and dims[1].HasField("dim_value"):
                return int(dims[1].dim_value)
    return None
