"""Quantizable layers (Conv / ConvTranspose nodes) of an ONNX graph, with their costs.

Used for ONNX files exported elsewhere (`--onnx`) and by every stage after export, which work on
the ONNX file and find layers by node name.
"""
from typing import Dict, List, Optional

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference

QUANTIZABLE_OPS = ("Conv", "ConvTranspose")


def initializer_map(model: onnx.ModelProto) -> Dict[str, onnx.TensorProto]:
    return {t.name: t for t in model.graph.initializer}


def quantizable_nodes(model: onnx.ModelProto) -> List[onnx.NodeProto]:
    """Conv / ConvTranspose nodes whose weight is an initializer, in graph order."""
    inits = initializer_map(model)
    return [n for n in model.graph.node
            if n.op_type in QUANTIZABLE_OPS and len(n.input) > 1 and n.input[1] in inits]


def name_unnamed_layers(model: onnx.ModelProto) -> None:
    """Give every quantizable node a unique, stable name (graph order) where it has none."""
    seen = set()
    for index, node in enumerate(quantizable_nodes(model)):
        if not node.name or node.name in seen:
            node.name = "%s_%d" % (node.op_type.lower(), index)
        seen.add(node.name)


def _static_shapes(model: onnx.ModelProto, batch: int = 1) -> Dict[str, List[int]]:
    """Tensor shapes with the symbolic batch axis fixed to `batch`."""
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    for value in list(fixed.graph.input) + list(fixed.graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            dims[0].dim_value = batch
    del fixed.graph.value_info[:]
    inferred = shape_inference.infer_shapes(fixed, data_prop=True)
    shapes = {}
    for value in (list(inferred.graph.value_info) + list(inferred.graph.input)
                  + list(inferred.graph.output)):
        dims = value.type.tensor_type.shape.dim
        if dims and all(d.HasField("dim_value") for d in dims):
            shapes[value.name] = [d.dim_value for d in dims]
    return shapes


def describe_layers(model: onnx.ModelProto) -> List[Dict[str, object]]:
    """One dict per quantizable node, with the same keys as edgec.models.layers.Layer."""
    inits = initializer_map(model)
    shapes = _static_shapes(model)
    layers = []
    for node in quantizable_nodes(model):
        weight = numpy_helper.to_array(inits[node.input[1]])
        bias = (int(np.prod(numpy_helper.to_array(inits[node.input[2]]).shape))
                if len(node.input) > 2 and node.input[2] in inits else 0)
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        group = int(attrs.get("group", 1))
        in_shape: Optional[List[int]] = shapes.get(node.input[0])
        out_shape: Optional[List[int]] = shapes.get(node.output[0])
        kernel = list(weight.shape[2:])
        transposed = node.op_type == "ConvTranspose"
        # ConvTranspose weights are (cin, cout/group, k...); Conv weights (cout, cin/group, k...).
        cin = weight.shape[0] if transposed else weight.shape[1] * group
        cout = weight.shape[1] * group if transposed else weight.shape[0]
        per_position = cin // group * int(np.prod(kernel))
        out_grid = (int(np.prod(out_shape[2:])) * cout * per_position) if out_shape else 0
        if transposed and in_shape:
            macs = int(np.prod(in_shape[2:])) * cin * (cout // group) * int(np.prod(kernel))
        else:
            macs = out_grid
        layers.append({
            "name": node.name, "module_path": node.name, "kind": node.op_type,
            "in_channels": int(cin), "out_channels": int(cout), "kernel": kernel,
            "stride": list(attrs.get("strides", [1] * len(kernel))),
            "input_shape": in_shape, "output_shape": out_shape,
            "params": int(weight.size) + bias, "macs": int(macs), "macs_output_grid": int(out_grid),
        })
    return layers
