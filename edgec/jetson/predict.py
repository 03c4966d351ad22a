"""Batch-N TensorRT latency of a model on a Jetson, predicted from its per-layer costs and the
device's data sheet, before the device exists.

Per layer l at precision p on device d:
    compute time = 2 * MACs / (peak ops of d at p * efficiency of p's class)
    memory time  = (weights + input and output activations at p's width)
                   / (bandwidth of d * memory efficiency)
    time         = max(compute time, memory time) + launch overhead of d
    launch overhead of d = overhead_us_ghz * (a57_factor on Cortex-A57 CPUs) / CPU GHz of d
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
costs come from edgec/jetson/reference_nets.py.
"""
import json
import math
import os
from typing import Any, Dict, List, Optional, Sequence  # noqa: F401  (type comments)

from edgec.artifacts import LATENCY_FIT_FORMAT
from edgec.errors import EdgecError
from edgec.jetson.profiles import BY_KEY, PROFILES, DeviceProfile  # noqa: F401

BYTES = {"fp32": 4, "fp16": 2, "int8": 1}
RESERVED_MIB = 1200  # OS, CUDA context and TensorRT libraries in the shared DRAM (assumed)
FIT_FILE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "latency_fit.json")
DATA_FILE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data",
                         "latency_data.json")
PUBLIC_FILE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data",
                           "latency_public.json")
CLASSES = ("fp32", "fp16_cuda", "fp16_tensor", "int8")
# Where a class has no data in a fit, it borrows its neighbour's fitted efficiency (and says so).
BORROW = {"fp32": "fp16_cuda", "fp16_cuda": "fp32", "fp16_tensor": "int8", "int8": "fp16_tensor"}
DEFAULTS = {"efficiency": 0.4, "memory_efficiency": 0.6, "overhead_us_ghz": 40.0,
            "a57_factor": 1.5, "timing_ms": 0.1}
NO_CALL_OVERHEAD = ("layer_profile",)  # per-layer times: no call around them
SCALE_PENALTY = 2.0  # ridge weight on a board's log scale, in units of one point's log error


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


def _peak_ops(profile, precision):
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
    return (params["a57_factor"] if profile.cpu_core == "a57" else 1.0) / profile.cpu_ghz


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


def layer_times(layers, precisions, key, params, batch=1):
    # type: (List[Dict[str, Any]], List[str], str, Dict[str, Any], int) -> List[Dict[str, Any]]
    profile = BY_KEY[key]
    overhead = overhead_us(params, key) * 1e-6
    scale = board_scale(params, key)
    bandwidth = profile.bandwidth_gbs * 1e9 * params["memory_efficiency"]
    rows = []
    for layer, precision in zip(layers, precisions):
        width = BYTES[precision]
        compute = 2.0 * layer["macs"] * batch / (
            _peak_ops(profile, precision)
            * efficiency(params, precision_class(profile, precision)))
        activations = (_numel(layer["input_shape"]) + _numel(layer["output_shape"])) * batch
        memory = (layer["params"] + activations) * width / bandwidth
        rows.append({"name": layer["name"], "precision": precision,
                     "ms": (max(compute, memory) + overhead) * scale * 1000.0,
                     "bound": "compute" if compute >= memory else "memory"})
    return rows


def _numel(shape):
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
    peak = max((_numel(layer["input_shape"]) + _numel(layer["output_shape"])) * BYTES[p] * batch
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
    traffic = _numel(shape) * batch * sum(BYTES[w] for w in widths)
    seconds = traffic / (profile.bandwidth_gbs * 1e9 * params["memory_efficiency"])
    return (seconds + overhead_us(params, key) * 1e-6) * board_scale(params, key) * 1000.0


# -- fitting -----------------------------------------------------------------------------------
# Parameters travel as one vector of logs (all are positive): the class efficiencies with data,
# memory efficiency, overhead, the A57 factor, each timing source's per-call overhead, and the
# log scale of each board with data.

def _classes_of(points):
    # type: (List[Dict[str, Any]]) -> List[str]
    used = set()  # type: set
    for point in points:
        profile = BY_KEY[point["device"]]
        used.update(precision_class(profile, p) for p in point["precisions"])
    return [c for c in CLASSES if c in used]


def _names(points):
    # type: (List[Dict[str, Any]]) -> List[str]
    names = ["efficiency:" + c for c in _classes_of(points)]
    names += ["memory_efficiency", "overhead_us_ghz"]
    if any(BY_KEY[p["device"]].cpu_core == "a57" for p in points) and \
            any(BY_KEY[p["device"]].cpu_core != "a57" for p in points):
        names.append("a57_factor")
    names += ["timing_ms:" + t for t in sorted(set(p.get("timing") or "paper" for p in points))
              if t not in NO_CALL_OVERHEAD]
    names += ["board_scale:" + k for k in sorted(set(p["device"] for p in points))]
    return names


def _params_from(names, values):
    # type: (List[str], Sequence[float]) -> Dict[str, Any]
    params = {"efficiency": {}, "memory_efficiency": DEFAULTS["memory_efficiency"],
              "overhead_us_ghz": DEFAULTS["overhead_us_ghz"], "a57_factor": 1.0,
              "timing_ms": {}, "board_scale": {}}  # type: Dict[str, Any]
    for name, value in zip(names, values):
        if ":" in name:
            group, key = name.split(":")
            params[group][key] = float(value)
        else:
            params[name] = float(value)
    return params


def _start(name):
    # type: (str) -> float
    if name.startswith("board_scale"):
        return 1.0
    return DEFAULTS[name.split(":")[0]]


class _Arrays(object):
    """One point's per-layer terms as numpy arrays, so the fit's thousands of evaluations do
    not loop in Python; `total` computes exactly `layer_times`' formula."""

    def __init__(self, point):
        # type: (Dict[str, Any]) -> None
        import numpy as np

        profile = BY_KEY[point["device"]]
        batch = point.get("batch") or 1
        layers, precisions = point["layers"], point["precisions"]
        self.key = point["device"]
        self.timing = point.get("timing") or "paper"
        self.count = len(layers)
        self.classes = [precision_class(profile, p) for p in precisions]
        self.work = np.array([2.0 * l["macs"] * batch / _peak_ops(profile, p)
                              for l, p in zip(layers, precisions)])
        self.traffic = np.array([(l["params"] + (_numel(l["input_shape"])
                                                 + _numel(l["output_shape"])) * batch)
                                 * BYTES[p] for l, p in zip(layers, precisions)])
        self.bandwidth = profile.bandwidth_gbs * 1e9

    def total(self, params):
        # type: (Dict[str, Any]) -> float
        import numpy as np

        eff = np.array([efficiency(params, c) for c in self.classes])
        compute = self.work / eff
        memory = self.traffic / (self.bandwidth * params["memory_efficiency"])
        engine = (np.maximum(compute, memory).sum()
                  + self.count * overhead_us(params, self.key) * 1e-6) * 1000.0
        call = params["timing_ms"].get(self.timing, 0.0) * cpu_factor(params, self.key)
        return (engine + call) * board_scale(params, self.key)


def predicted_ms(point, params):
    # type: (Dict[str, Any], Dict[str, Any]) -> float
    """A fitting point's predicted latency: the engine plus its source's per-call timing
    overhead (scaled by the board's CPU, like the launch overhead)."""
    return _Arrays(point).total(params)


def fit(points, arrays=None):
    # type: (List[Dict[str, Any]], Optional[List[Any]]) -> Dict[str, Any]
    """Least squares on log latency (relative errors weigh a 0.6 ms and a 400 ms point alike),
    with a ridge penalty holding each board's scale near 1 so that shared parameters explain
    what they can."""
    import numpy as np
    from scipy.optimize import least_squares

    names = _names(points)
    arrays = arrays or [_Arrays(p) for p in points]
    measured = np.log([p["latency_ms"] for p in points])
    start = np.log([_start(n) for n in names])
    lower = np.array([np.log(1e-3) if n.split(":")[0] in ("efficiency", "memory_efficiency")
                      else np.log(1e-4) for n in names])
    upper = np.array([0.0 if n.split(":")[0] in ("efficiency", "memory_efficiency")
                      else np.log(1e4) for n in names])
    scales = np.array([n.startswith("board_scale") for n in names])
    penalty = math.sqrt(SCALE_PENALTY)

    def residuals(log_values):
        params = _params_from(names, np.exp(log_values))
        predicted = np.log([a.total(params) for a in arrays])
        return np.concatenate([predicted - measured, penalty * log_values[scales]])

    solution = least_squares(residuals, np.clip(start, lower + 1e-9, upper - 1e-9),
                             bounds=(lower, upper))
    params = _params_from(names, np.exp(solution.x))
    params["fitted_classes"] = _classes_of(points)
    return params


def _error_rows(points, params, arrays=None):
    # type: (List[Dict[str, Any]], Dict[str, Any], Optional[List[Any]]) -> List[Dict[str, Any]]
    rows = []
    for index, point in enumerate(points):
        predicted = arrays[index].total(params) if arrays else predicted_ms(point, params)
        rows.append({"device": point["device"], "model": point["model"],
                     "precision": point["precision"], "timing": point.get("timing") or "paper",
                     "measured_ms": point["latency_ms"], "predicted_ms": predicted,
                     "error_percent": 100.0 * (predicted / point["latency_ms"] - 1.0)})
    return rows


def leave_one_board_out(points, arrays=None):
    # type: (List[Dict[str, Any]], Optional[List[Any]]) -> List[Dict[str, Any]]
    """Fit without one board's points, predict them; for every board with points. A class
    without data in the fold borrows its neighbour's efficiency (the row says so)."""
    arrays = arrays or [_Arrays(p) for p in points]
    rows = []
    for key in [p.key for p in PROFILES]:
        held = [i for i, p in enumerate(points) if p["device"] == key]
        if not held:
            continue
        kept = [i for i in range(len(points)) if i not in held]
        params = fit([points[i] for i in kept], [arrays[i] for i in kept])
        for row, index in zip(_error_rows([points[i] for i in held], params,
                                          [arrays[i] for i in held]), held):
            cls = precision_class(BY_KEY[key], points[index]["precision"]) \
                if points[index]["precision"] != "mix" else None
            row["borrowed_class"] = cls if cls and cls not in params["fitted_classes"] \
                else None
            rows.append(row)
    return rows


def error_summary(rows):
    # type: (List[Dict[str, Any]]) -> Dict[str, float]
    errors = sorted(abs(r["error_percent"]) for r in rows)
    middle = len(errors) // 2
    median = errors[middle] if len(errors) % 2 else (errors[middle - 1] + errors[middle]) / 2.0
    return {"median_abs_percent": median, "worst_abs_percent": errors[-1], "points": len(rows)}


def by_board_and_precision(rows):
    # type: (List[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]
    """{"board/precision": error summary} of leave-one-board-out rows."""
    groups = {}  # type: Dict[str, List[Dict[str, Any]]]
    for row in rows:
        groups.setdefault("%s/%s" % (row["device"], row["precision"]), []).append(row)
    return {key: dict(error_summary(group), borrowed_class=group[0].get("borrowed_class"))
            for key, group in sorted(groups.items())}


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


_SHIPPED = {}  # type: Dict[str, Any]


def shipped_data():
    # type: () -> Dict[str, Any]
    """edgec/data/latency_data.json (the paper's points and MIX plans), read once."""
    if not _SHIPPED:
        with open(DATA_FILE) as handle:
            _SHIPPED.update(json.load(handle))
    return _SHIPPED


def prefix_plan(layers, fp16_prefixes):
    # type: (List[Dict[str, Any]], Sequence[str]) -> Dict[str, str]
    return {layer["name"]: "fp16" if any(layer["name"].startswith(p) for p in fp16_prefixes)
            else "int8" for layer in layers}


def public_data():
    # type: () -> Dict[str, Any]
    """edgec/data/latency_public.json: published latencies of standard networks, read once."""
    if "public" not in _SHIPPED:
        with open(PUBLIC_FILE) as handle:
            _SHIPPED["public"] = json.load(handle)
    return _SHIPPED["public"]


def fitting_points(layers_for, results=(), public=True):
    # type: (Any, Sequence[Dict[str, Any]], bool) -> List[Dict[str, Any]]
    """The paper's points, the published standard-network points (`public`) and the user's
    own (bench results, profiled layers), each with its layers and per-layer precisions.
    `layers_for(model name)` gives a zoo model's layers; standard networks' come from
    edgec.jetson.reference_nets, points that carry "layers" keep them."""
    from edgec.jetson import reference_nets

    entries = [dict(e, timing="paper") for e in shipped_data()["points"]]
    if public:
        entries += list(public_data()["points"])
    points = []
    for entry in entries + list(results):
        if "layers" in entry:
            points.append(dict(entry))
            continue
        if entry["model"] in reference_nets.NETWORKS:
            layers = reference_nets.network_layers(entry["model"])
        else:
            layers = layers_for(entry["model"])
        if entry["precision"] == "mix":
            plan = entry.get("plan") or paper_plan(entry["model"], layers)
            precisions = layer_precisions(layers, "mix", plan)
        else:
            precisions = [entry["precision"]] * len(layers)
        points.append(dict(entry, layers=layers, precisions=precisions))
    return points


def points_from_profile(profile, where, layers):
    # type: (Dict[str, Any], str, List[Dict[str, Any]]) -> List[Dict[str, Any]]
    """One fitting point per profiled layer of a Jetson profile.json (its engine layer time,
    no per-call overhead): a user's own board refines the model layer by layer."""
    from edgec.runtime.layer_profile import attribute

    if profile.get("board") not in BY_KEY:
        raise EdgecError("profile %s was not measured on a profiled Jetson (board %r)"
                         % (where, profile.get("board")))
    by_name = {layer["name"]: layer for layer in layers}
    credited = attribute(profile, [layer["name"] for layer in layers])
    points = []
    for name, row in sorted(credited["layers"].items()):
        if row["precision"] not in BYTES or row["ms"] <= 0:
            continue
        points.append({"device": profile["board"], "model": "%s:%s" % (profile.get("model"),
                                                                       name),
                       "precision": row["precision"], "batch": profile["batch"],
                       "latency_ms": row["ms"], "timing": "layer_profile", "source": where,
                       "layers": [by_name[name]], "precisions": [row["precision"]]})
    if not points:
        raise EdgecError("profile %s names none of the model's layers" % where)
    return points


def point_from_result(result, where):
    # type: (Dict[str, Any], str) -> Dict[str, Any]
    """A fitting point from an `edgec bench` result.json measured on a profiled Jetson."""
    board = ((result.get("jetson") or {}).get("board") or {})
    key = board.get("profile")
    if key not in BY_KEY:
        raise EdgecError("result %s was not measured on a profiled Jetson (device %r); only "
                         "Jetson results can refit the estimator"
                         % (where, result.get("device", {}).get("name")))
    if result.get("backend", {}).get("backend") != "tensorrt":
        raise EdgecError("result %s was measured with %s, not TensorRT"
                         % (where, result.get("backend", {}).get("backend")))
    sidecar = result["backend"].get("sidecar") or {}
    plan = None
    if result["model"]["precision"] == "mix":
        plan = {name: row["planned"] for name, row in
                ((sidecar.get("layers") or {}).get("planned_vs_built") or {}).items()}
        if not plan:
            raise EdgecError("result %s is MIX but its engine sidecar lists no plan" % where)
    return {"device": key, "model": result["model"]["name"],
            "precision": result["model"]["precision"], "batch": int(result.get("batch", 1)),
            "latency_ms": float(result["latency_ms"]["median"]), "plan": plan, "source": where,
            "timing": "edgec"}


def fit_record(points, sources):
    # type: (List[Dict[str, Any]], List[str]) -> Dict[str, Any]
    """Fitted parameters with the data they came from, their in-sample error and their
    leave-one-board-out error (per board and precision)."""
    arrays = [_Arrays(p) for p in points]
    params = fit(points, arrays)
    rows = leave_one_board_out(points, arrays)
    return {"format": LATENCY_FIT_FORMAT, "params": params,
            "data": {"points": len(points), "sources": sources,
                     "boards": sorted(set(p["device"] for p in points))},
            "in_sample": error_summary(_error_rows(points, params, arrays)),
            "leave_one_board_out": {"summary": error_summary(rows),
                                    "by_board_precision": by_board_and_precision(rows),
                                    "points": rows},
            "assumptions": {"reserved_mib": RESERVED_MIB,
                            "engine_latency": "predictions are the engine's time; each "
                                              "source's per-call timing overhead is fitted "
                                              "apart and left out"}}


def paper_plan(model_name, layers):
    # type: (str, List[Dict[str, Any]]) -> Optional[Dict[str, str]]
    """The compression paper's hand-picked MIX plan for the two zoo models, else None."""
    prefixes = shipped_data()["mix_fp16_layer_prefixes"]
    if model_name not in prefixes:
        return None
    return prefix_plan(layers, prefixes[model_name])
