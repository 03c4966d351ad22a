"""What a Jetson's DLA can run of a model's convolutions, and how long a layer takes there.

The rules are data, each with its source: TensorRT's "DLA Supported Layers and Restrictions"
(developer guide, 8.x to 10.7 and 11.4.1) for the layer limits, and public issues for what the
limits do not say. A layer the rules refuse stays on the GPU, with the reason in the plan.

A DLA layer's time follows the GPU layers' roofline (cost_model.layer_times) with the DLA core's
dense peak (edgec.jetson.profiles: `dla_int8_tops`, `dla_fp16_tflops`) in place of the GPU's,
the same fitted efficiency of the precision's class (no DLA latency is in the fit's data: an
assumption, stated in every plan that places a layer), the board's DRAM bandwidth, and no
launch overhead per layer: a DLA subgraph is one task, and each subgraph costs one submission
(`subgraph_ms`). Python 3.6 compatible.
"""
from typing import Any, Dict, Optional, Sequence, Tuple  # noqa: F401

from edgec.jetson.profiles import BY_KEY, DeviceProfile  # noqa: F401
from edgec.latency.cost_model import BYTES, board_scale, efficiency, numel, overhead_us

LAYER_GUIDE = ("TensorRT developer guide, DLA Supported Layers and Restrictions (8.x to 10.7, "
               "11.4.1)")
# At most this many DLA subgraphs (loadables) per core (same guide, general restrictions).
MAX_SUBGRAPHS = 16
# TensorRT versions with DLA: to 10.7, and from 11.4.1 on AGX Orin with JetPack 7.2.2+
# (edgec.runtime.trt.versions.ApiPaths.dla decides it for a build).
TENSORRT_NOTE = ("DLA builds need TensorRT <= 10.7 (JetPack 5.1, 6.x) or 11.4.1+ on AGX Orin "
                 "(JetPack 7.2.2+); JetPack 7.2's TensorRT 10.16 has no DLA")


def _all_within(values, low, high):
    # type: (Sequence[int], int, int) -> bool
    return all(low <= int(v) <= high for v in values)


def refusal(layer, attributes, precision, profile):
    # type: (Dict[str, Any], Dict[str, Any], str, DeviceProfile) -> Optional[str]
    """Why `layer` (a layer record, edgec.models.layers.Layer keys) at `precision` cannot run on
    `profile`'s DLA, or None when it can. `attributes`: its ONNX node's attributes (pads,
    group, dilations)."""
    if not profile.dla_cores:
        return "%s has no DLA" % profile.name
    peak = profile.dla_int8_tops if precision == "int8" else profile.dla_fp16_tflops
    if precision not in ("fp16", "int8"):
        return "the DLA runs FP16 and INT8 only (%s)" % LAYER_GUIDE
    if peak is None:
        return ("no published %s throughput for %s's DLA (Orin's DLA traded FP16 for INT8: "
                "NVIDIA's DLA FAQ)" % (precision.upper(), profile.name))
    kind = layer.get("kind")
    kernel = list(layer.get("kernel") or [])
    if kind not in ("Conv", "ConvTranspose"):
        return ("%s layers become TensorRT MatrixMultiply/attention layers, which the DLA does "
                "not run (%s)" % (kind, LAYER_GUIDE))
    if len(kernel) != 2:
        return ("the DLA runs 2-D convolutions only; this one is %d-D (%s)"
                % (len(kernel), LAYER_GUIDE))
    if max(int(layer["in_channels"]), int(layer["out_channels"])) > 8192:
        return "more than 8192 channels (%s)" % LAYER_GUIDE
    if kind == "Conv":
        if not _all_within(kernel, 1, 32):
            return "kernel %s outside [1, 32] (%s)" % (kernel, LAYER_GUIDE)
        if not _all_within(layer.get("stride") or [1, 1], 1, 8):
            return "stride %s outside [1, 8] (%s)" % (layer.get("stride"), LAYER_GUIDE)
        return None
    if int(attributes.get("group", 1)) != 1 or any(
            int(d) != 1 for d in attributes.get("dilations", [1, 1])):
        return "grouped or dilated deconvolution (%s)" % LAYER_GUIDE
    if any(int(p) for p in attributes.get("pads", [])) or any(
            int(p) for p in attributes.get("output_padding", [])):
        return ("deconvolution padding must be 0 on the DLA; this one pads %s (%s)"
                % (list(attributes.get("pads", [])) + list(attributes.get("output_padding", [])),
                   LAYER_GUIDE))
    if precision == "int8" and profile.arch == "Ampere":
        return ("INT8 ConvTranspose is not placed on Orin's DLA (TensorRT issue 3365); FP16 "
                "has no published throughput there")
    return None


def layer_ms(layer, precision, key, params, batch=1):
    # type: (Dict[str, Any], str, str, Dict[str, Any], int) -> float
    """One layer's time on one DLA core of board `key`, ms (see the module docstring)."""
    profile = BY_KEY[key]
    peak = profile.dla_int8_tops if precision == "int8" else profile.dla_fp16_tflops
    cls = "int8" if precision == "int8" else "fp16_tensor"
    compute = 2.0 * layer["macs"] * batch / (float(peak) * 1e12 * efficiency(params, cls))
    activations = (numel(layer["input_shape"]) + numel(layer["output_shape"])) * batch
    memory = ((layer["params"] + activations) * BYTES[precision]
              / (profile.bandwidth_gbs * 1e9 * params["memory_efficiency"]))
    return max(compute, memory) * board_scale(params, key) * 1000.0


def subgraph_ms(key, params):
    # type: (str, Dict[str, Any]) -> float
    """One DLA subgraph's submission and completion signal: one launch of the board's CPU."""
    return overhead_us(params, key) * board_scale(params, key) * 1e-3
