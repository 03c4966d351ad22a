"""Measured engine layer times (profile.json, written by `edgec bench --profile` on the board)
credited to edgec's layers: what the latency fit and the latency-aware planner read. The board
writes the profile; this side of it is workstation judgement (as Polygraphy keeps its
comparator apart from its backends)."""
from typing import Any, Dict, Sequence  # noqa: F401 (type comments)

from edgec.artifacts import LAYER_PRECISIONS as PRECISIONS
from edgec.runtime.trt.layers import belongs_to_node, fused_parts, is_reformat_layer


def attribute(profile, layer_names):
    # type: (Dict[str, Any], Sequence[str]) -> Dict[str, Any]
    """Engine layer times credited to edgec layers. An engine layer that fuses an edgec layer
    (its ONNX node name) with pointwise neighbours is credited whole to that layer; one that
    names none is "other" (pooling, concatenation, plugins), reformats are kept apart.

    {"layers": {layer: {"ms", "precision", "engine_layers"}}, "reformat_ms", "other_ms",
     "unmatched": [edgec layers no engine layer names]}. A layer's precision is the engine
    inspector's where recorded, else the profile's engine precision (fp16/int8 engines: every
    quantizable layer is assumed to run at it), else None."""
    engine_precision = profile.get("precision")
    default = engine_precision if engine_precision in PRECISIONS else None
    credited = {}  # type: Dict[str, Dict[str, Any]]
    reformat_ms = other_ms = 0.0
    for row in profile["layers"]:
        if is_reformat_layer(row):
            reformat_ms += row["median_ms"]
            continue
        parts = fused_parts(row["name"]) or [row["name"]]
        owner = next((name for name in layer_names
                      if any(belongs_to_node(part, name) for part in parts)), None)
        if owner is None:
            other_ms += row["median_ms"]
            continue
        entry = credited.setdefault(owner, {"ms": 0.0, "precision": None, "engine_layers": []})
        entry["ms"] += row["median_ms"]
        entry["engine_layers"].append(row["name"])
        entry["precision"] = entry["precision"] or row.get("precision") or default
    return {"layers": credited, "reformat_ms": reformat_ms, "other_ms": other_ms,
            "unmatched": [name for name in layer_names if name not in credited]}
