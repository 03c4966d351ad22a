"""The quantization spec and the precision plan: the one description of "what INT8 / FP16 means
for this model" that the fake-quant evaluator and the Q/DQ ONNX writer both read.

- Activations: per-tensor symmetric INT8, scale = threshold / 127 from calibration, zero point 0,
  values clamped to [-128, 127] (QuantizeLinear's int8 saturation).
- Weights: per-output-channel symmetric INT8, scale = max|w| / 127 over the channel, values in
  [-127, 127] (TensorRT's weight range). The output-channel axis is 0 for Conv, 1 for
  ConvTranspose.
- FP16 layers: input, weights and bias rounded to float16, output rounded to float16.
"""
from typing import Dict, List, Optional

import numpy as np
import onnx
from onnx import numpy_helper

from edgec.artifacts import LAYER_PRECISIONS, PLAN_FORMAT, read_plan_devices, read_plan_record
from edgec.errors import EdgecError
from edgec.exporter.onnx_layers import initializer_map, quantizable_nodes
from edgec.fileio import atomic_write_json

ACT_QMIN, ACT_QMAX = -128, 127
WEIGHT_QMAX = 127


def weight_axis(op_type: str) -> int:
    return 1 if op_type == "ConvTranspose" else 0


def weight_scales(weight: np.ndarray, axis: int) -> np.ndarray:
    """Per-output-channel symmetric scales (float32); all-zero channels get a tiny scale."""
    reduce_axes = tuple(i for i in range(weight.ndim) if i != axis)
    absmax = np.abs(weight).max(axis=reduce_axes).astype(np.float32)
    return np.maximum(absmax, np.float32(1e-8)) / np.float32(WEIGHT_QMAX)


def quantize_weight(weight: np.ndarray, scales: np.ndarray, axis: int) -> np.ndarray:
    shape = [1] * weight.ndim
    shape[axis] = -1
    q = np.round(weight / scales.reshape(shape))
    return np.clip(q, -WEIGHT_QMAX, WEIGHT_QMAX).astype(np.int8)


class LayerQuant(object):
    """Everything needed to quantize one layer."""

    def __init__(self, name: str, op_type: str, input_tensor: str, output_tensor: str,
                 act_scale: float, weight_scale: np.ndarray, axis: int):
        self.name = name
        self.op_type = op_type
        self.input_tensor = input_tensor
        self.output_tensor = output_tensor
        self.act_scale = np.float32(act_scale)
        self.weight_scale = weight_scale.astype(np.float32)
        self.axis = axis


class QuantSpec(object):
    """Per-layer activation and weight scales for one FP32 ONNX model and one ranges file."""

    def __init__(self, layers: Dict[str, LayerQuant], method: str, provenance: Dict[str, object]):
        self.layers = layers
        self.method = method
        self.provenance = provenance

    @property
    def layer_names(self) -> List[str]:
        return list(self.layers)

    @classmethod
    def from_onnx(cls, model: onnx.ModelProto, ranges: Dict[str, object],
                  method: Optional[str] = None) -> "QuantSpec":
        from edgec.quant.calibration.calibrate import scales_for

        method = method or ranges["method"]
        act = scales_for(ranges, method)
        inits = initializer_map(model)
        layers = {}
        for node in quantizable_nodes(model):
            if node.input[0] not in act:
                raise EdgecError("ranges have no statistics for tensor %r, the input of layer %r: "
                                 "they were measured on another model" % (node.input[0], node.name))
            weight = numpy_helper.to_array(inits[node.input[1]])
            axis = weight_axis(node.op_type)
            layers[node.name] = LayerQuant(node.name, node.op_type, node.input[0], node.output[0],
                                           act[node.input[0]], weight_scales(weight, axis), axis)
        provenance = {"method": method, "ranges_model_sha256": ranges["model"]["sha256"],
                      "calibration_samples": ranges["samples"]["calibration"],
                      "percentile": ranges.get("percentile")}
        return cls(layers, method, provenance)


class PrecisionPlan(object):
    """Layer name -> fp32 / fp16 / int8, plus where the plan came from."""

    def __init__(self, precisions: Dict[str, str], provenance: Optional[Dict[str, object]] = None):
        bad = {k: v for k, v in precisions.items() if v not in LAYER_PRECISIONS}
        if bad:
            raise EdgecError("plan has unknown precisions %s (use %s)" % (bad, LAYER_PRECISIONS))
        self.precisions = dict(precisions)
        self.provenance = provenance or {}
        # Layer -> "gpu" | "dla" where a latency-aware plan places layers on a DLA
        # (search.placement); builds with --dla-core follow it.
        self.devices = {}  # type: Dict[str, str]

    @classmethod
    def uniform(cls, layers: List[str], precision: str, **provenance) -> "PrecisionPlan":
        return cls({name: precision for name in layers}, dict(provenance, kind=precision))

    def of(self, layer: str) -> str:
        return self.precisions[layer]

    def layers_at(self, precision: str) -> List[str]:
        return [k for k, v in self.precisions.items() if v == precision]

    def check_layers(self, layers: List[str], where: str) -> None:
        missing = [l for l in layers if l not in self.precisions]
        unknown = [l for l in self.precisions if l not in layers]
        if missing or unknown:
            raise EdgecError("plan %s does not fit the model: %s%s" % (
                where, "no precision for layers %s" % missing if missing else "",
                ("; " if missing and unknown else "")
                + ("unknown layers %s" % unknown if unknown else "")))

    def label(self) -> str:
        kinds = set(self.precisions.values())
        return kinds.pop() if len(kinds) == 1 else "mix"

    def int8_mac_share(self, macs: Dict[str, int]) -> float:
        total = sum(macs.values())
        return sum(macs[k] for k in self.layers_at("int8")) / float(total) if total else 0.0

    def to_dict(self) -> Dict[str, object]:
        record = {"format": PLAN_FORMAT, "precisions": self.precisions,
                  "provenance": self.provenance}  # type: Dict[str, object]
        if self.devices:
            record["devices"] = self.devices
        return record

    def save(self, path: str) -> None:
        atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str) -> "PrecisionPlan":
        record = read_plan_record(path)
        plan = cls(record["precisions"], record.get("provenance"))
        plan.devices = read_plan_devices(path)
        return plan
