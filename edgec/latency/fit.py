"""The estimator's fit (edgec.latency.cost_model's shared parameters) on measured latencies,
and its leave-one-board-out error per board and precision: what every prediction prints beside
it. Made into edgec/data/latency_fit.json by scripts/fit_latency.py, or refitted on a user's own
results by `edgec predict --fit`."""
import math
from typing import Any, Dict, List, Optional, Sequence  # noqa: F401  (type comments)

from edgec.artifacts import LATENCY_FIT_FORMAT
from edgec.jetson.profiles import BY_KEY, PROFILES, DeviceProfile  # noqa: F401
from edgec.latency.cost_model import (CLASSES, CPU_FACTORS, DEFAULTS, NO_CALL_OVERHEAD,
                                      RESERVED_MIB, board_scale, cpu_factor, efficiency,
                                      layer_terms, overhead_us, precision_class)

SCALE_PENALTY = 2.0  # ridge weight on a board's log scale, in units of one point's log error


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
    cores = set(BY_KEY[p["device"]].cpu_core for p in points)
    if "carmel" in cores:  # a factor relative to Carmel needs Carmel's points too
        names += [CPU_FACTORS[core] for core in sorted(cores) if core in CPU_FACTORS]
    names += ["timing_ms:" + t for t in sorted(set(p.get("timing") or "paper" for p in points))
              if t not in NO_CALL_OVERHEAD]
    names += ["board_scale:" + k for k in sorted(set(p["device"] for p in points))]
    return names


def _params_from(names, values):
    # type: (List[str], Sequence[float]) -> Dict[str, Any]
    params = {"efficiency": {}, "memory_efficiency": DEFAULTS["memory_efficiency"],
              "overhead_us_ghz": DEFAULTS["overhead_us_ghz"], "a57_factor": 1.0,
              "a78ae_factor": 1.0,
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
        terms = [layer_terms(l, p, profile, batch) for l, p in zip(layers, precisions)]
        self.classes = [t["class"] for t in terms]
        self.work = np.array([t["work"] for t in terms])
        self.traffic = np.array([t["traffic"] for t in terms])
        self.reformat_traffic = float(sum(t["reformat_traffic"] for t in terms))
        self.launches = self.count + sum(t["reformat_launches"] for t in terms)
        self.bandwidth = profile.bandwidth_gbs * 1e9

    def total(self, params):
        # type: (Dict[str, Any]) -> float
        import numpy as np

        eff = np.array([efficiency(params, c) for c in self.classes])
        compute = self.work / eff
        memory = self.traffic / (self.bandwidth * params["memory_efficiency"])
        engine = (np.maximum(compute, memory).sum()
                  + self.reformat_traffic / (self.bandwidth * params["memory_efficiency"])
                  + self.launches * overhead_us(params, self.key) * 1e-6) * 1000.0
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
