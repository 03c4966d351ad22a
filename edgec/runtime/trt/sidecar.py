"""The JSON written beside every engine (`model.int8.engine` -> `model.int8.engine.json`): what
the engine was built from, for and with, and the check that refuses to load it elsewhere.

TensorRT engines are not portable across TensorRT versions or GPU models. Loading one anyway
gives, at best, an opaque deserialisation error; the check here says what the engine was built
for and how to rebuild it. Pure Python, Python 3.6 compatible.
"""
import json
import os
import time
from typing import Any, Dict, List, Optional  # noqa: F401

from edgec.artifacts import SIDECAR_FORMAT, engine_sidecar
from edgec.errors import EdgecError
from edgec.fileio import atomic_write_json


def make_sidecar(tensorrt_version, device, precision, onnx_path, onnx_sha256, settings, layers,
                 build_seconds, source=None):
    # type: (str, Dict[str, Any], str, str, str, Dict[str, Any], Dict[str, Any], float, Optional[Dict[str, Any]]) -> Dict[str, Any]  # noqa: E501
    return {"format": SIDECAR_FORMAT, "tensorrt": tensorrt_version, "device": device,
            "precision": precision,
            "onnx": {"file": os.path.basename(onnx_path), "sha256": onnx_sha256},
            "settings": settings, "layers": layers, "build_seconds": round(build_seconds, 2),
            "source": source or {},
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def write_sidecar(engine_path, sidecar):
    # type: (str, Dict[str, Any]) -> str
    path = engine_sidecar(engine_path)
    atomic_write_json(path, sidecar)
    return path


def read_sidecar(engine_path):
    # type: (str) -> Optional[Dict[str, Any]]
    """The sidecar, None when there is none; EdgecError when it is damaged."""
    path = engine_sidecar(engine_path)
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as handle:
            data = json.load(handle)
    except ValueError as exc:
        raise EdgecError("engine sidecar %s is not valid JSON (%s); delete it and rebuild the "
                         "engine" % (path, exc))
    if not isinstance(data, dict) or data.get("format") != SIDECAR_FORMAT:
        raise EdgecError("%s is not an edgec engine sidecar (format %s expected)"
                         % (path, SIDECAR_FORMAT))
    return data


def _describe(tensorrt_version, device):
    # type: (str, Dict[str, Any]) -> str
    return "%s (compute capability %s) with TensorRT %s" % (
        device.get("name", "unknown GPU"), device.get("compute_capability", "?"),
        tensorrt_version)


def check_compatible(engine_path, sidecar, tensorrt_version, device, rebuild_hint=None):
    # type: (str, Dict[str, Any], str, Dict[str, Any], Optional[str]) -> List[str]
    """Raise when this host cannot run the engine; return warnings for what may still run.

    Refused: a different TensorRT version (engines are tied to the exact build), a different
    compute capability. Warned: the same compute capability on a differently named GPU (it runs,
    but the tactics were timed on another chip)."""
    built_trt = str(sidecar.get("tensorrt", ""))
    built_device = sidecar.get("device") or {}
    hint = rebuild_hint or ("rebuild it on this device from its bundle: edgec build --bundle "
                            "BUNDLE.tar.gz --precision %s" % sidecar.get("precision", "PRECISION"))
    problems = []
    if built_trt != tensorrt_version:
        problems.append("TensorRT %s here" % tensorrt_version)
    if str(built_device.get("compute_capability")) != str(device.get("compute_capability")):
        problems.append("compute capability %s here" % device.get("compute_capability"))
    if problems:
        raise EdgecError("engine %s was built for %s, but this host has %s (%s). TensorRT "
                         "engines are not portable across GPUs or TensorRT versions: %s"
                         % (engine_path, _describe(built_trt, built_device),
                            _describe(tensorrt_version, device), "; ".join(problems), hint))
    warnings = []
    if built_device.get("name") != device.get("name"):
        warnings.append("engine %s was built on %s and runs here on %s (same compute capability): "
                        "it works, but its kernels were timed on the other GPU; rebuild here for "
                        "representative timings" % (engine_path, built_device.get("name"),
                                                    device.get("name")))
    return warnings
