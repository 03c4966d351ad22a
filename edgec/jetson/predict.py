"""Batch-N TensorRT latency of a model on a Jetson, predicted from its per-layer costs and the
device's limits, before the device exists.

Per layer l at precision p on device d:
    compute time = 2 * MACs / (peak ops of d at p * efficiency)
    memory time  = (weights + input and output activations at p's width) / (bandwidth * 0.6)
    time         = max(compute time, memory time) + per-layer overhead of d
and the engine's latency is the sum over layers. Efficiency is per device (eta_d) times a
per-precision-class factor shared by all devices (FP16 on tensor cores, FP16 on CUDA cores,
INT8), so that one device's FP16 data informs another's. The fitted values ship with their
data and their leave-one-out error (edgec/data/latency_fit.json); devices with no data borrow
the geometric mean of the fitted devices, and say so.
"""
import json
import math
import os
from typing import Any, Dict, List, Optional, Sequence  # noqa: F401  (type comments)

from edgec.artifacts import LATENCY_FIT_FORMAT
from edgec.errors import EdgecError
from edgec.jetson.profiles import BY_KEY, PROFILES, DeviceProfile  # noqa: F401

BYTES = {"fp32": 4, "fp16": 2, "int8": 1}
MEMORY_EFFICIENCY = 0.6  # achievable fraction of DRAM bandwidth (not fitted: too few points)
RESERVED_MIB = 1200  # OS, CUDA context and TensorRT libraries in the shared DRAM (assumed)
FIT_FILE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "latency_fit.json")
DATA_FILE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data",
                         "latency_data.json")
DEFAULTS = {"eta": 0.5, "overhead_us": 20.0, "k_fp16_tensor": 0.5, "k_fp16_cuda": 0.5,
            "k_int8": 0.5}


def layer_precisions(layers, precision, plan=None):
    # type: (List[Dict[str, Any]], str, Optional[Dict[str, str]]) -> List[str]
    if precision != "mix":
        return [precision] * len(layers)
    if not plan:
        raise EdgecError("MIX needs a plan: give --plan plan.json (from `edgec sweep`)")
    missing = [layer["name"] for layer in layers if layer["name"] not in plan]
    if missing:
        raise EdgecError("the plan has no precision for layers %s" % missing[:5])
    return [plan[layer["name"]] for layer in layers]


def _peak_ops(profile, precision):
    # type: (DeviceProfile, str) -> float
    if precision == "fp32":
        return profile.fp32_tflops * 1e12
    if precision == "fp16":
        return profile.fp16_tflops * 1e12
    if profile.int8_tops is None:
        raise EdgecError("%s has no INT8 on its GPU" % profile.name)
    return profile.int8_tops * 1e12


def _efficiency(params, key, profile, precision):
    # type: (Dict[str, Any], str, DeviceProfile, str) -> float
    eta = device_value(params, key, "eta")
    if precision == "fp16":
        eta *= params["k_fp16_tensor" if profile.tensor_cores else "k_fp16_cuda"]
    elif precision == "int8":
        eta *= params["k_int8"]
    return min(eta, 1.0)


def device_value(params, key, name):
    # type: (Dict[str, Any], str, str) -> float
    """A fitted per-device value, or the geometric mean over fitted devices."""
    devices = params["devices"]
    if key in devices:
        return float(devices[key][name])
    values = [float(v[name]) for v in devices.values()]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else DEFAULTS[name]


def layer_times(layers, precisions, key, params, batch=1):
    # type: (List[Dict[str, Any]], List[str], str, Dict[str, Any], int) -> List[Dict[str, Any]]
    profile = BY_KEY[key]
    overhead = device_value(params, key, "overhead_us") * 1e-6
    rows = []
    for layer, precision in zip(layers, precisions):
        width = BYTES[precision]
        compute = 2.0 * layer["macs"] * batch / (
            _peak_ops(profile, precision) * _efficiency(params, key, profile, precision))
        activations = (_numel(layer["input_shape"]) + _numel(layer["output_shape"])) * batch
        traffic = (layer["params"] + activations) * width
        memory = traffic / (profile.bandwidth_gbs * 1e9 * MEMORY_EFFICIENCY)
        rows.append({"name": layer["name"], "precision": precision,
                     "ms": (max(compute, memory) + overhead) * 1000.0,
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
           "fitted_device": key in params["devices"]}  # type: Dict[str, Any]
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
    overhead_ms = device_value(params, key, "overhead_us") * 1e-3 * len(times)
    row.update(status="ok", latency_ms=total, overhead_share=overhead_ms / total,
               dominant=[{"layer": t["name"], "ms": t["ms"], "bound": t["bound"],
                          "share": t["ms"] / total} for t in top],
               compute_bound_layers=sum(1 for t in times if t["bound"] == "compute"),
               memory_bound_layers=sum(1 for t in times if t["bound"] == "memory"))
    return row


# -- fitting -----------------------------------------------------------------------------------

def _vector_names(points):
    # type: (List[Dict[str, Any]]) -> List[str]
    names = []
    for key in sorted(set(p["device"] for p in points)):
        names += ["eta:" + key, "overhead_us:" + key]
    used = set()
    for point in points:
        profile = BY_KEY[point["device"]]
        precisions = set(point["precisions"])
        if "fp16" in precisions:
            used.add("k_fp16_tensor" if profile.tensor_cores else "k_fp16_cuda")
        if "int8" in precisions:
            used.add("k_int8")
    return names + sorted(used)


def _params_from(names, values, base=None):
    # type: (List[str], Sequence[float], Optional[Dict[str, Any]]) -> Dict[str, Any]
    params = {"devices": {}}  # type: Dict[str, Any]
    for name in ("k_fp16_tensor", "k_fp16_cuda", "k_int8"):
        params[name] = (base or {}).get(name, DEFAULTS[name])
    for name, value in zip(names, values):
        if ":" in name:
            field, key = name.split(":")
            params["devices"].setdefault(key, {})[field] = float(value)
        else:
            params[name] = float(value)
    return params


def _predict_point(point, params):
    # type: (Dict[str, Any], Dict[str, Any]) -> float
    times = layer_times(point["layers"], point["precisions"], point["device"], params,
                        point.get("batch") or 1)
    return sum(t["ms"] for t in times)


def fit(points):
    # type: (List[Dict[str, Any]]) -> Dict[str, Any]
    """Least squares on log latency (relative errors weigh a 0.6 ms and a 44 ms point alike)."""
    import numpy as np
    from scipy.optimize import least_squares

    names = _vector_names(points)
    start = np.log([DEFAULTS[n.split(":")[0]] for n in names])
    upper = np.array([0.0 if not n.startswith("overhead") else np.log(5000.0) for n in names])
    lower = np.array([np.log(1e-3) if not n.startswith("overhead") else np.log(0.1)
                      for n in names])

    def residuals(log_values):
        params = _params_from(names, np.exp(log_values))
        return [math.log(_predict_point(p, params)) - math.log(p["latency_ms"]) for p in points]

    solution = least_squares(residuals, start, bounds=(lower, upper))
    return _params_from(names, np.exp(solution.x))


def leave_one_out(points):
    # type: (List[Dict[str, Any]]) -> List[Dict[str, Any]]
    rows = []
    for index, point in enumerate(points):
        rest = points[:index] + points[index + 1:]
        params = fit(rest)
        predicted = _predict_point(point, params)
        rows.append({"device": point["device"], "model": point["model"],
                     "precision": point["precision"], "measured_ms": point["latency_ms"],
                     "predicted_ms": predicted,
                     "error_percent": 100.0 * (predicted / point["latency_ms"] - 1.0)})
    return rows


def error_summary(rows):
    # type: (List[Dict[str, Any]]) -> Dict[str, float]
    errors = sorted(abs(r["error_percent"]) for r in rows)
    middle = len(errors) // 2
    median = errors[middle] if len(errors) % 2 else (errors[middle - 1] + errors[middle]) / 2.0
    return {"median_abs_percent": median, "worst_abs_percent": errors[-1], "points": len(rows)}


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


def fitting_points(layers_for, results=()):
    # type: (Any, Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]
    """The shipped data points plus the user's bench results, each with its model's layers
    (`layers_for(model name)`) and per-layer precisions."""
    points = []
    for entry in list(shipped_data()["points"]) + list(results):
        layers = layers_for(entry["model"])
        if entry["precision"] == "mix":
            plan = entry.get("plan") or paper_plan(entry["model"], layers)
            precisions = layer_precisions(layers, "mix", plan)
        else:
            precisions = [entry["precision"]] * len(layers)
        points.append(dict(entry, layers=layers, precisions=precisions))
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
            "latency_ms": float(result["latency_ms"]["median"]), "plan": plan, "source": where}


def fit_record(points, sources):
    # type: (List[Dict[str, Any]], List[str]) -> Dict[str, Any]
    """Fitted parameters with the data they came from and their leave-one-out error."""
    rows = leave_one_out(points)
    return {"format": LATENCY_FIT_FORMAT, "params": fit(points),
            "data": {"points": len(points), "sources": sources},
            "leave_one_out": {"summary": error_summary(rows), "points": rows},
            "assumptions": {"memory_efficiency": MEMORY_EFFICIENCY,
                            "reserved_mib": RESERVED_MIB}}


def paper_plan(model_name, layers):
    # type: (str, List[Dict[str, Any]]) -> Optional[Dict[str, str]]
    """The compression paper's hand-picked MIX plan for the two zoo models, else None."""
    prefixes = shipped_data()["mix_fp16_layer_prefixes"]
    if model_name not in prefixes:
        return None
    return prefix_plan(layers, prefixes[model_name])
