"""Batch-N TensorRT latency of a model on a Jetson, predicted from its per-layer costs and the
device's data sheet, before the device exists.

Per layer l at precision p on device d:
    compute time = 2 * MACs / (peak ops of d at p * efficiency of p's class)
    memory time  = (weights + input and output activations at p's width)
                   / (bandwidth of d * memory efficiency)
    time         = max(compute time, memory time) + launch overhead of d
    launch overhead of d = overhead_us_ghz * (a57_factor on Cortex-A57 CPUs, a78ae_factor on
                           Orin's Cortex-A78AE) / CPU GHz of d
and the engine's latency is the sum over layers, times a per-board scale that is 1 for a board
without measurements of its own. Every other parameter is shared by all boards: the efficiency
of each precision class (FP32 and FP16 on CUDA cores for Maxwell/Pascal, FP16 and INT8 on
Volta's tensor cores), the memory efficiency, the launch overhead (slow Cortex-A57 CPUs launch
kernels slower than Carmel), and each published source's own timing overhead per call. So a
board's prediction follows from its data sheet and the other boards' data, which is what
leave-one-board-out measures (`leave_one_board_out`).

The fit (edgec/data/latency_fit.json, made by scripts/fit_latency.py) is on the paper's Jetson
latencies (edgec/data/latency_data.json) and published TensorRT latencies of standard networks
(edgec/data/latency_public.json: torch2trt, NVIDIA's tf_to_trt, MLPerf Inference), whose layer
costs come from edgec/latency/reference_nets.py.
"""
from typing import Any, Dict, List, Optional, Sequence  # noqa: F401  (type comments)

from edgec.artifacts import LATENCY_FIT_FORMAT
from edgec.errors import EdgecError
from edgec.settings import LATENCY_FIT_FILE
from edgec.jetson.profiles import BY_KEY, PROFILES, DeviceProfile  # noqa: F401

BYTES = {"fp32": 4, "fp16": 2, "int8": 1}
RESERVED_MIB = 1200  # OS, CUDA context and TensorRT libraries in the shared DRAM (assumed)
FIT_FILE = LATENCY_FIT_FILE
CLASSES = ("fp32", "fp16_cuda", "fp16_tensor", "int8")
# Where a class has no data in a fit, it borrows its neighbour's fitted efficiency (and says so).
BORROW = {"fp32": "fp16_cuda", "fp16_cuda": "fp32", "fp16_tensor": "int8", "int8": "fp16_tensor"}
DEFAULTS = {"efficiency": 0.4, "memory_efficiency": 0.6, "overhead_us_ghz": 40.0,
            "a57_factor": 1.5, "a78ae_factor": 1.0, "timing_ms": 0.1}
# The CPU classes whose launch overhead per GHz is fitted apart from Carmel's (the reference).
CPU_FACTORS = {"a57": "a57_factor", "a78ae": "a78ae_factor"}
NO_CALL_OVERHEAD = ("layer_profile",)  # per-layer times: no call around them


def precision_class(profile, precision):
    # type: (DeviceProfile, str) -> str
    if precision == "fp16":
        return "fp16_tensor" if profile.tensor_cores else "fp16_cuda"
    return precision


# Layers edgec does not quantize (its Q/DQ covers convs): in an INT8 or MIX engine they run in
# FP16, the engine's other enabled precision.
UNQUANTIZED_KINDS = ("Linear", "Attention")


def layer_precisions(layers, precision, plan=None):
    # type: (List[Dict[str, Any]], str, Optional[Dict[str, str]]) -> List[str]
    other = "fp16" if precision in ("int8", "mix") else precision
    quantized = [layer.get("kind") not in UNQUANTIZED_KINDS for layer in layers]
    if precision != "mix":
        return [precision if q else other for q in quantized]
    if not plan:
        raise EdgecError("MIX needs a plan: give --plan plan.json (from `edgec sweep`)")
    missing = [layer["name"] for layer, q in zip(layers, quantized)
               if q and layer["name"] not in plan]
    if missing:
        raise EdgecError("the plan has no precision for layers %s" % missing[:5])
    return [plan[layer["name"]] if q else other for layer, q in zip(layers, quantized)]


def peak_ops(profile, precision):
    # type: (DeviceProfile, str) -> float
    if precision == "fp32":
        return profile.fp32_tflops * 1e12
    if precision == "fp16":
        return profile.fp16_tflops * 1e12
    if profile.int8_tops is None:
        raise EdgecError("%s has no INT8 on its GPU" % profile.name)
    return profile.int8_tops * 1e12


def cpu_factor(params, key):
    # type: (Dict[str, Any], str) -> float
    """How much slower device `key`'s CPU launches work than a 1 GHz Carmel core."""
    profile = BY_KEY[key]
    name = CPU_FACTORS.get(profile.cpu_core)
    return (params.get(name, 1.0) if name else 1.0) / profile.cpu_ghz


def overhead_us(params, key):
    # type: (Dict[str, Any], str) -> float
    """Per-layer launch overhead of device `key`, microseconds."""
    return params["overhead_us_ghz"] * cpu_factor(params, key)


def efficiency(params, cls):
    # type: (Dict[str, Any], str) -> float
    values = params["efficiency"]
    return min(float(values[cls] if cls in values else values[BORROW[cls]]), 1.0)


def board_scale(params, key):
    # type: (Dict[str, Any], str) -> float
    return float(params.get("board_scale", {}).get(key, 1.0))


# Layers whose INT8 kernels public reports show no faster than FP16 on a GPU architecture and
# TensorRT generation. There the estimator runs the layer's INT8 as FP16 plus the two reformats
# into and out of it (what TensorRT does when it has no INT8 tactic), so INT8 costs more than
# FP16 and the latency-aware planner keeps the layer FP16.
INT8_NO_SPEEDUP = (
    {"kind": "ConvTranspose", "arch": "Volta", "tensorrt_major_below": 10,
     "source": "TensorRT issue 1699 (INT8 deconvolution no faster than FP16 on AGX Xavier, "
               "TensorRT 8.x); torch2trt issue 601 (the same on AGX Xavier)"},
)  # type: Sequence[Dict[str, Any]]


def int8_no_speedup(profile, layer):
    # type: (DeviceProfile, Dict[str, Any]) -> Optional[Dict[str, Any]]
    """The INT8_NO_SPEEDUP rule that covers `layer` on `profile` (its TensorRT), or None."""
    major = int(profile.tensorrt.split(".")[0])
    for rule in INT8_NO_SPEEDUP:
        if (layer.get("kind") == rule["kind"] and profile.arch == rule["arch"]
                and major < rule["tensorrt_major_below"]):
            return rule
    return None


def layer_terms(layer, precision, profile, batch=1):
    # type: (Dict[str, Any], str, DeviceProfile, int) -> Dict[str, Any]
    """One layer's work at peak (s), DRAM traffic (bytes), efficiency class, and the extra
    reformat traffic and launches an INT8_NO_SPEEDUP rule adds: the terms `layer_times` and
    the fit (edgec.latency.fit) both combine."""
    rule = int8_no_speedup(profile, layer) if precision == "int8" else None
    runs_as = "fp16" if rule else precision
    activations = (numel(layer["input_shape"]) + numel(layer["output_shape"])) * batch
    return {"work": 2.0 * layer["macs"] * batch / peak_ops(profile, runs_as),
            "traffic": (layer["params"] + activations) * BYTES[runs_as],
            "class": precision_class(profile, runs_as),
            "reformat_traffic": activations * (BYTES["int8"] + BYTES["fp16"]) if rule else 0,
            "reformat_launches": 0, "rule": rule}


def layer_times(layers, precisions, key, params, batch=1):
    # type: (List[Dict[str, Any]], List[str], str, Dict[str, Any], int) -> List[Dict[str, Any]]
    profile = BY_KEY[key]
    overhead = overhead_us(params, key) * 1e-6
    scale = board_scale(params, key)
    bandwidth = profile.bandwidth_gbs * 1e9 * params["memory_efficiency"]
    rows = []
    for layer, precision in zip(layers, precisions):
        terms = layer_terms(layer, precision, profile, batch)
        compute = terms["work"] / efficiency(params, terms["class"])
        memory = terms["traffic"] / bandwidth
        extra = terms["reformat_traffic"] / bandwidth + terms["reformat_launches"] * overhead
        row = {"name": layer["name"], "precision": precision,
               "ms": (max(compute, memory) + overhead + extra) * scale * 1000.0,
               "bound": "compute" if compute >= memory else "memory"}
        if terms["rule"]:
            row["int8_runs_as_fp16"] = terms["rule"]["source"]
        rows.append(row)
    return rows


def numel(shape):
    # type: (Optional[Sequence[int]]) -> int
    total = 1
    for value in shape or []:
        total *= int(value)
    return total


def memory_needed_mib(layers, precisions, batch=1):
    # type: (List[Dict[str, Any]], List[str], int) -> float
    """Weights at their precision plus the largest layer's input and output (TensorRT reuses
    activation memory between layers), twice for double buffering."""
    weights = sum(layer["params"] * BYTES[p] for layer, p in zip(layers, precisions))
    peak = max((numel(layer["input_shape"]) + numel(layer["output_shape"])) * BYTES[p] * batch
               for layer, p in zip(layers, precisions))
    return (weights + 2 * peak) / 2.0 ** 20


def predict(layers, key, precision, params, plan=None, batch=1):
    # type: (List[Dict[str, Any]], str, str, Dict[str, Any], Optional[Dict[str, str]], int) -> Dict[str, Any]  # noqa: E501
    profile = BY_KEY[key]
    row = {"device": key, "device_name": profile.name, "precision": precision, "batch": batch,
           "measured_board": key in params.get("board_scale", {})}  # type: Dict[str, Any]
    if not profile.supports(precision):
        row.update(status="unsupported",
                   why="%s has no INT8 on its GPU (%s, no tensor cores, no DP4A)"
                   % (profile.name, profile.arch))
        return row
    precisions = layer_precisions(layers, precision, plan)
    needed = memory_needed_mib(layers, precisions, batch)
    available = profile.memory_gb * 1024.0 - RESERVED_MIB
    row["memory_mib"] = {"needed": round(needed, 1), "available": round(available, 1)}
    if needed > available:
        row.update(status="does not fit",
                   why="needs %.0f MiB of %.0f MiB available" % (needed, available))
        return row
    times = layer_times(layers, precisions, key, params, batch)
    total = sum(t["ms"] for t in times)
    top = sorted(times, key=lambda t: -t["ms"])[:3]
    overhead_ms = overhead_us(params, key) * board_scale(params, key) * 1e-3 * len(times)
    row.update(status="ok", latency_ms=total, overhead_share=overhead_ms / total,
               dominant=[{"layer": t["name"], "ms": t["ms"], "bound": t["bound"],
                          "share": t["ms"] / total} for t in top],
               compute_bound_layers=sum(1 for t in times if t["bound"] == "compute"),
               memory_bound_layers=sum(1 for t in times if t["bound"] == "memory"))
    return row


# -- per-layer costs for the planner -------------------------------------------------------------

def plan_costs(layers, key, params, measured=None, batch=1):
    # type: (List[Dict[str, Any]], str, Dict[str, Any], Optional[Dict[str, Dict[str, float]]], int) -> Dict[str, Dict[str, Any]]  # noqa: E501
    """Each layer's time on device `key` in FP16 and in INT8, for choosing a MIX plan.

    Predicted by `layer_times`, unless `measured` ({layer: {precision: ms}}, from profile.json
    files of this device) has the layer: both precisions measured are used as they are; one
    measured precision scales the other's prediction by the same measured/predicted ratio, so a
    profile corrects the layer's level and the model keeps the precision ratio it was fitted
    on. On a board without INT8 the INT8 time is None."""
    profile = BY_KEY[key]
    fp16 = layer_times(layers, ["fp16"] * len(layers), key, params, batch)
    int8 = (layer_times(layers, ["int8"] * len(layers), key, params, batch)
            if profile.supports("int8") else [None] * len(layers))
    table = {}  # type: Dict[str, Dict[str, Any]]
    for layer, half, quarter in zip(layers, fp16, int8):
        predicted = {"fp16": half["ms"], "int8": quarter["ms"] if quarter else None}
        seen = dict((measured or {}).get(layer["name"]) or {})
        row = dict(predicted, source="predicted")
        if seen.get("fp16") is not None and seen.get("int8") is not None:
            row.update(fp16=seen["fp16"], int8=seen["int8"], source="profiled")
        elif len(seen) == 1:
            have = next(iter(seen))
            ratio = seen[have] / predicted[have] if predicted[have] else 1.0
            other = "int8" if have == "fp16" else "fp16"
            row.update({have: seen[have],
                        other: predicted[other] * ratio if predicted[other] is not None
                        else None,
                        "source": "profiled %s, %s scaled from it" % (have, other)})
        table[layer["name"]] = row
    return table


def reformat_ms(shape, key, params, batch=1, widths=("fp16", "int8")):
    # type: (Sequence[int], str, Dict[str, Any], int, Sequence[str]) -> float
    """One precision conversion of a tensor of `shape` (batch 1): read at one width, written at
    the other, at the device's achievable bandwidth, plus one layer's launch overhead (TensorRT
    inserts a reformat layer at a precision boundary unless it fuses the conversion)."""
    profile = BY_KEY[key]
    traffic = numel(shape) * batch * sum(BYTES[w] for w in widths)
    seconds = traffic / (profile.bandwidth_gbs * 1e9 * params["memory_efficiency"])
    return (seconds + overhead_us(params, key) * 1e-6) * board_scale(params, key) * 1000.0


def load_params(path=None):
    # type: (Optional[str]) -> Dict[str, Any]
    from edgec.fileio import read_json

    path = path or FIT_FILE
    data = read_json(path, "latency fit")
    if not isinstance(data, dict) or data.get("format") != LATENCY_FIT_FORMAT:
        raise EdgecError("%s is not an edgec latency fit (format %s)" % (path, LATENCY_FIT_FORMAT))
    return data


def all_devices():
    # type: () -> List[str]
    return [p.key for p in PROFILES]
