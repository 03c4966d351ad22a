"""The points the latency fit is made on, each with its layers and per-layer precisions: the
paper's Jetson latencies (edgec/data/latency_data.json), published TensorRT latencies of
standard networks (edgec/data/latency_public.json: torch2trt, NVIDIA's tf_to_trt, MLPerf
Inference; layer costs from edgec.latency.reference_nets), and the user's own bench results and
profiles; and the paper's hand-picked MIX plans."""
import json
import os
from typing import Any, Dict, List, Optional, Sequence  # noqa: F401  (type comments)

from edgec.errors import EdgecError
from edgec.jetson.profiles import BY_KEY, PROFILES, DeviceProfile  # noqa: F401
from edgec.latency.cost_model import BYTES, layer_precisions

DATA_FILE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data",
                         "latency_data.json")
PUBLIC_FILE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data",
                           "latency_public.json")


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
    edgec.latency.reference_nets, points that carry "layers" keep them."""
    from edgec.latency import reference_nets

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
    from edgec.latency.attribution import attribute

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


def paper_plan(model_name, layers):
    # type: (str, List[Dict[str, Any]]) -> Optional[Dict[str, str]]
    """The compression paper's hand-picked MIX plan for the two zoo models, else None."""
    prefixes = shipped_data()["mix_fp16_layer_prefixes"]
    if model_name not in prefixes:
        return None
    return prefix_plan(layers, prefixes[model_name])
