"""`edgec predict`: the latency estimator's table for a model across devices and precisions.
Workstation side (it reads the model's layer costs from the zoo or an ONNX file); the estimator
itself is edgec.latency (cost_model, fit, points)."""
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

from edgec import artifacts
from edgec.errors import EdgecError
from edgec.fileio import read_json
from edgec.jetson.profiles import BY_KEY, board_keys
from edgec.latency import cost_model
from edgec.latency import fit as latency_fit
from edgec.latency import points
from edgec.runtime.results import validate_result

_ZOO_LAYERS = {}  # type: Dict[str, List[Dict[str, Any]]]


def _summary(name: str) -> Dict[str, Any]:
    if name not in _ZOO_LAYERS:
        from edgec.models import get_model
        from edgec.models.summary import model_summary

        _ZOO_LAYERS[name] = model_summary(get_model(name), with_layers=True)
    return _ZOO_LAYERS[name]


def zoo_layers(name: str) -> List[Dict[str, Any]]:
    """The quantizable (conv) layers: what the latency fit and layer profiles pair with."""
    return _summary(name)["layers"]


def zoo_cost_layers(name: str) -> List[Dict[str, Any]]:
    """Every counted cost (convs, Linear layers, attention products): what a prediction
    sums."""
    return _summary(name)["cost_layers"]


def model_layers(target: str) -> Tuple[str, List[Dict[str, Any]], Optional[str]]:
    """(model name, per-layer costs, plan.json found beside an ONNX file or None)."""
    if target.lower().endswith(".onnx"):
        if not os.path.isfile(target):
            raise EdgecError("%s: no such ONNX file" % target)
        import onnx

        from edgec.exporter.onnx_layers import describe_layers

        try:
            layers = describe_layers(onnx.load(target))
        except Exception as exc:  # onnx raises several types for damaged files
            raise EdgecError("cannot read layer costs from %s: %s" % (target, exc))
        if not layers or any(layer["output_shape"] is None for layer in layers):
            raise EdgecError("%s: no conv layers with known shapes (shape inference failed)"
                             % target)
        beside = os.path.join(os.path.dirname(os.path.abspath(target)), artifacts.PLAN_JSON)
        return os.path.basename(target), layers, beside if os.path.isfile(beside) else None
    from edgec.models import model_names

    if target not in model_names():
        raise EdgecError("%r is neither a zoo model (%s) nor an .onnx file"
                         % (target, ", ".join(model_names())))
    return target, zoo_cost_layers(target), None


def _window_of(name: str):
    from edgec.models import get_model, model_names

    # An ONNX file: no pipeline known.
    return get_model(name).window if name in model_names() else None


def refit(paths: Sequence[str]) -> Dict[str, Any]:
    """The estimator refitted on the shipped data plus the user's Jetson measurements:
    result.json files of `edgec bench` (whole-engine latencies) and profile.json files of
    `edgec bench --profile` (one point per profiled layer)."""
    from edgec.runtime.layer_profile import check_profile

    measured = []  # type: List[Dict[str, Any]]
    for path in paths:
        data = read_json(path, "measurement")
        if isinstance(data, dict) and data.get("format") == artifacts.PROFILE_FORMAT:
            profile = check_profile(data, path)
            _, layers, _ = model_layers(str(profile.get("model")))
            measured += points.points_from_profile(profile, path, layers)
        else:
            result = validate_result(data, path)
            measured.append(points.point_from_result(result, path))
    all_points = points.fitting_points(zoo_layers, measured)
    return latency_fit.fit_record(all_points, [os.path.relpath(points.DATA_FILE),
                                               os.path.relpath(points.PUBLIC_FILE)]
                                  + list(paths))


DEVICES = tuple(board_keys())
PRECISIONS = ("fp32", "fp16", "int8", "mix")


def run_predict(target: str, devices: Sequence[str] = ("all",),
                precisions: Sequence[str] = ("all",), plan_path: Optional[str] = None,
                batch: int = 1, fit_results: Sequence[str] = (), params_path: Optional[str] = None,
                save_fit: Optional[str] = None) -> Dict[str, Any]:
    """Predicted latency of `target` (zoo name or .onnx) per device and precision ("all": every
    one); with `fit_results`, refitted on them first (and saved to `save_fit`)."""

    if save_fit and not fit_results:
        raise EdgecError("--save-fit needs --fit RESULT.json (there is nothing new to save)")
    devices = list(DEVICES) if "all" in devices else list(devices)
    precisions = list(PRECISIONS) if "all" in precisions else list(precisions)
    name, layers, beside = model_layers(target)
    window = _window_of(name)
    record = refit(fit_results) if fit_results else cost_model.load_params(params_path)
    if plan_path or beside:
        plan = artifacts.read_plan(plan_path or beside, artifacts.ENGINE_LAYER_PRECISIONS)
        plan_source = plan_path or beside
    else:
        plan = points.paper_plan(name, layers)
        plan_source = "the paper's hand-picked plan" if plan else None
    rows = []
    for key in devices:
        for precision in precisions:
            if precision == "mix" and plan is None:
                rows.append({"device": key, "device_name": BY_KEY[key].name,
                             "precision": "mix", "batch": batch, "status": "needs --plan",
                             "why": "no plan.json given or found beside the ONNX file"})
                continue
            row = cost_model.predict(layers, key, precision, record["params"],
                                  plan if precision == "mix" else None, batch)
            row["estimator_error"] = record["leave_one_board_out"]["by_board_precision"].get(
                "%s/%s" % (key, precision))
            if window is not None and row.get("status") == "ok":
                calls = -(-window.samples // batch)  # ceiling
                row["window"] = {"calls": calls, "frames": window.frames, "what": window.what,
                                 "ms": row["latency_ms"] * calls,
                                 "ms_per_frame": row["latency_ms"] * calls / window.frames}
            rows.append(row)
    if save_fit:
        from edgec.fileio import atomic_write_json

        atomic_write_json(save_fit, record)
    return {"model": name, "batch": batch, "rows": rows, "plan": plan_source,
            "estimator": {"leave_one_board_out": record["leave_one_board_out"]["summary"],
                          "by_board_precision":
                              record["leave_one_board_out"]["by_board_precision"],
                          "data": record["data"], "measured_boards":
                          sorted(record["params"].get("board_scale", {}))},
            "fit": record if fit_results else None}
