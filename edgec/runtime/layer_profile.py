"""profile.json: per-layer times of one engine (or ONNX file) on one device, from
`edgec bench --profile`; read by `edgec sweep --target ... --profile` (the latency-aware planner)
and `edgec predict --fit` (the latency fit).

The device writes raw facts: every layer the backend reports (TensorRT's fused engine layers,
reformats included, or ONNX Runtime's nodes), its median time over the profiled runs and, where
the engine inspector says so, its precision. Which edgec layer an engine layer belongs to is
decided on the workstation (edgec.latency.attribution), which knows the model's layer names.

Python 3.6 compatible; numpy and the standard library.
"""
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple  # noqa: F401

import numpy as np

from edgec.artifacts import LAYER_PRECISIONS as PRECISIONS
from edgec.artifacts import PROFILE_FORMAT
from edgec.errors import EdgecError


class LayerTimes(object):
    """Per-layer times as a backend reports them, run after run (TensorRT's IProfiler calls
    `add` once per engine layer per enqueue; ONNX Runtime's trace is replayed into it)."""

    def __init__(self):
        # type: () -> None
        self.order = []  # type: List[str]
        self.samples = {}  # type: Dict[str, List[float]]

    def add(self, name, ms):
        # type: (str, float) -> None
        if name not in self.samples:
            self.order.append(name)
            self.samples[name] = []
        self.samples[name].append(float(ms))

    def rows(self, precisions=None, types=None):
        # type: (Optional[Dict[str, Optional[str]]], Optional[Dict[str, str]]) -> List[Dict[str, Any]]  # noqa: E501
        rows = []
        for name in self.order:
            values = sorted(self.samples[name])
            rows.append({"name": name, "median_ms": float(np.median(values)),
                         "max_ms": values[-1],
                         "runs": len(values),
                         "precision": (precisions or {}).get(name),
                         "type": (types or {}).get(name)})
        return rows


def make_profile(rows, backend, device, board, model, precision, batch, runs, source_file):
    # type: (List[Dict[str, Any]], Dict[str, Any], Dict[str, Any], Optional[str], Optional[str], Optional[str], int, int, str) -> Dict[str, Any]  # noqa: E501
    return {"format": PROFILE_FORMAT, "backend": backend, "device": device, "board": board,
            "model": model, "precision": precision, "batch": batch, "runs": runs,
            "file": source_file, "layers": rows,
            "total_ms": sum(r["median_ms"] for r in rows),
            "note": "median time of each layer over the profiled runs; profiling adds overhead, "
                    "so the total exceeds the benchmark's latency"}


def read_profile(path):
    # type: (str) -> Dict[str, Any]
    """A validated profile.json; EdgecError naming the file and the first problem."""
    from edgec.fileio import read_json

    return check_profile(read_json(path, "profile"), path)


def check_profile(data, path):
    # type: (Any, str) -> Dict[str, Any]
    """`data` read from `path`, validated as a profile.json."""
    from edgec.jetson.profiles import BY_KEY

    def bad(problem):
        return EdgecError("profile %s: %s (expected a profile.json of `edgec bench --profile`)"
                          % (path, problem))

    if not isinstance(data, dict):
        raise bad("not a JSON object")
    if data.get("format") != PROFILE_FORMAT:
        raise bad("format is %r, not %s" % (data.get("format"), PROFILE_FORMAT))
    board = data.get("board")
    if board is not None and board not in BY_KEY:
        raise bad("unknown board %r (known: %s)" % (board, ", ".join(sorted(BY_KEY))))
    batch = data.get("batch")
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise bad("batch must be a positive integer, not %r" % (batch,))
    if data.get("precision") not in PRECISIONS + ("mix",):
        raise bad("precision %r is not one of fp32, fp16, int8, mix" % (data.get("precision"),))
    layers = data.get("layers")
    if not isinstance(layers, list) or not layers:
        raise bad("no layers")
    for index, row in enumerate(layers):
        if not isinstance(row, dict) or not isinstance(row.get("name"), str) or not row["name"]:
            raise bad("layer %d has no name" % index)
        ms = row.get("median_ms")
        if isinstance(ms, bool) or not isinstance(ms, (int, float)) or not math.isfinite(ms) \
                or ms < 0:
            raise bad("layer %s: median_ms must be a finite number >= 0, not %r"
                      % (row["name"], ms))
        if row.get("precision") not in (None,) + PRECISIONS:
            raise bad("layer %s: precision %r is not one of fp32, fp16, int8"
                      % (row["name"], row.get("precision")))
    return data
