"""Write a precision plan into the ONNX graph, following TensorRT's explicit-quantization rules.

- INT8 layer: QuantizeLinear/DequantizeLinear (symmetric, zero point 0) on its activation input,
  shared by every INT8 layer reading the same tensor and by residual Adds reading it (so
  TensorRT can fuse conv + add in INT8); weights stored as int8 with a per-output-channel
  DequantizeLinear.
- FP16 layer: Cast to float16 before, float16 weights and bias, Cast back to float32 after.
- FP32 layer and every other op: unchanged.
Exactly what edgec.quant.evaluator.fakequant computes, from the same QuantSpec.
"""
from typing import Dict

import numpy as np
import onnx
import onnx_graphsurgeon as gs

from edgec.quant.qdq.spec import PrecisionPlan, QuantSpec, quantize_weight


def _qdq(graph: gs.Graph, tensor: gs.Variable, scale: np.ndarray, zero: np.ndarray,
         prefix: str, axis=None) -> gs.Variable:
    attrs = {} if axis is None else {"axis": axis}
    scale_c = gs.Constant(prefix + "_scale", scale.astype(np.float32))
    zero_c = gs.Constant(prefix + "_zero_point", zero.astype(np.int8))
    quantized = gs.Variable(prefix + "_quantized", dtype=np.int8)
    dequantized = gs.Variable(prefix + "_dequantized", dtype=np.float32)
    graph.nodes.append(gs.Node("QuantizeLinear", prefix + "_QuantizeLinear", attrs,
                               [tensor, scale_c, zero_c], [quantized]))
    graph.nodes.append(gs.Node("DequantizeLinear", prefix + "_DequantizeLinear", attrs,
                               [quantized, scale_c, zero_c], [dequantized]))
    return dequantized


def _int8_weight(graph: gs.Graph, node: gs.Node, spec_layer) -> None:
    weight = node.inputs[1]
    q = quantize_weight(weight.values.astype(np.float32), spec_layer.weight_scale, spec_layer.axis)
    q_const = gs.Constant(node.name + "_weight_int8", q)
    scale_c = gs.Constant(node.name + "_weight_scale", spec_layer.weight_scale)
    zero_c = gs.Constant(node.name + "_weight_zero_point",
                         np.zeros_like(spec_layer.weight_scale, dtype=np.int8))
    dequantized = gs.Variable(node.name + "_weight_dequantized", dtype=np.float32)
    graph.nodes.append(gs.Node("DequantizeLinear", node.name + "_weight_DequantizeLinear",
                               {"axis": spec_layer.axis}, [q_const, scale_c, zero_c],
                               [dequantized]))
    node.inputs[1] = dequantized


def _fp16_layer(graph: gs.Graph, node: gs.Node) -> None:
    source = node.inputs[0]
    half_in = gs.Variable(node.name + "_input_fp16", dtype=np.float16)
    graph.nodes.append(gs.Node("Cast", node.name + "_cast_in", {"to": onnx.TensorProto.FLOAT16},
                               [source], [half_in]))
    node.inputs[0] = half_in
    for index in (1, 2):
        if index < len(node.inputs):
            const = node.inputs[index]
            node.inputs[index] = gs.Constant(const.name + "_fp16",
                                             const.values.astype(np.float16))
    output = node.outputs[0]
    half_out = gs.Variable(node.name + "_output_fp16", dtype=np.float16)
    node.outputs[0] = half_out
    graph.nodes.append(gs.Node("Cast", node.name + "_cast_out", {"to": onnx.TensorProto.FLOAT},
                               [half_out], [output]))


def write_qdq(model: onnx.ModelProto, spec: QuantSpec, plan: PrecisionPlan) -> onnx.ModelProto:
    """A new model with the plan applied; `model` is not modified."""
    plan.check_layers(spec.layer_names, "for this model")
    graph = gs.import_onnx(model)
    layer_nodes = [n for n in graph.nodes if n.name in spec.layers]
    dequantized_inputs: Dict[str, gs.Variable] = {}
    for node in layer_nodes:
        precision = plan.of(node.name)
        layer = spec.layers[node.name]
        if precision == "int8":
            source = node.inputs[0]
            if source.name not in dequantized_inputs:
                dequantized_inputs[source.name] = _qdq(
                    graph, source, np.array(layer.act_scale, dtype=np.float32),
                    np.array(0, dtype=np.int8), source.name.strip("/").replace("/", "_") + "_act")
            node.inputs[0] = dequantized_inputs[source.name]
            _int8_weight(graph, node, layer)
        elif precision == "fp16":
            _fp16_layer(graph, node)
    # Residual Adds read the same quantized tensor as the INT8 conv beside them.
    for node in list(graph.nodes):
        if node.op == "Add":
            for index, tensor in enumerate(node.inputs):
                if isinstance(tensor, gs.Variable) and tensor.name in dequantized_inputs:
                    node.inputs[index] = dequantized_inputs[tensor.name]
    graph.cleanup().toposort()
    out = gs.export_onnx(graph)
    out.ir_version = model.ir_version
    del out.opset_import[:]
    out.opset_import.extend(model.opset_import)
    out.producer_name = "edgec"
    onnx.helper.set_model_props(out, {"edgec_plan": plan.label(), "edgec_method": spec.method})
    return out
