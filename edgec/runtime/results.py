"""What `edgec bench` measures on, and the result.json it writes.

A result carries everything needed to trust and compare it: host, device, backend and library
versions, the model and precision, every setting, the latency statistics and the output check.
`edgec report` reads these files back (validate_result). Python 3.6 compatible.
"""
import json
import os
import platform
import socket
import time
from typing import Any, Dict, List, Optional, Tuple  # noqa: F401

from edgec import __version__
from edgec.artifacts import EXPORT_JSON, PRECISIONS, RESULT_FORMAT
from edgec.errors import EdgecError

ENGINE_SUFFIXES = (".engine", ".plan", ".trt")


def _read_first(path, prefix):
    # type: (str, str) -> Optional[str]
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
    except (IOError, OSError):
        return None
    return None


def host_info():
    # type: () -> Dict[str, Any]
    memory = _read_first("/proc/meminfo", "MemTotal")
    return {"hostname": socket.gethostname(), "os": platform.platform(),
            "machine": platform.machine(), "python": platform.python_version(),
            "cpu": _read_first("/proc/cpuinfo", "model name") or platform.processor() or None,
            "cpu_count": os.cpu_count(),
            "memory_total_mib": int(memory.split()[0]) // 1024 if memory else None}


def peak_host_rss_bytes():
    # type: () -> Optional[int]
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # KiB on Linux


class Target(object):
    """The file to benchmark, its backend, and the model and precision it holds."""

    def __init__(self, path, model_name=None, precision=None):
        # type: (str, Optional[str], Optional[str]) -> None
        if not os.path.isfile(path):
            raise EdgecError("%s: no such file to benchmark (give an .onnx file or a TensorRT "
                             "engine)" % path)
        self.path = path
        lowered = path.lower()
        if lowered.endswith(".onnx"):
            self.backend = "onnxruntime"
        elif lowered.endswith(ENGINE_SUFFIXES):
            self.backend = "tensorrt"
        else:
            raise EdgecError("%s: cannot tell what this is from its name; give an .onnx file or "
                             "a TensorRT engine (.engine, .plan)" % path)
        self.model_name, self.precision = self._identify(model_name, precision)

    def _identify(self, model_name, precision):
        # type: (Optional[str], Optional[str]) -> Tuple[str, str]
        """From the engine's sidecar, or for ONNX from the file name (model.<precision>.onnx)
        and the export.json beside it; explicit options win."""
        found_model, found_precision = None, None
        if self.backend == "tensorrt":
            from edgec.runtime.trt.sidecar import read_sidecar

            sidecar = read_sidecar(self.path) or {}
            found_precision = sidecar.get("precision")
            found_model = (sidecar.get("source") or {}).get("model")
        else:
            parts = os.path.basename(self.path).split(".")
            found_precision = parts[-2] if len(parts) >= 3 and parts[-2] in PRECISIONS \
                else "fp32"
            export = os.path.join(os.path.dirname(os.path.abspath(self.path)), EXPORT_JSON)
            if os.path.isfile(export):
                try:
                    with open(export) as handle:
                        found_model = json.load(handle).get("model")
                except ValueError:
                    found_model = None
        name = model_name or found_model or os.path.splitext(os.path.basename(self.path))[0]
        chosen = precision or found_precision or "unknown"
        return str(name), str(chosen)

    def runner(self, batch):
        # type: (int) -> Any
        if self.backend == "onnxruntime":
            from edgec.runtime.ort_backend import OnnxRuntimeRunner

            return OnnxRuntimeRunner(self.path)
        from edgec.runtime.trt.detect import tensorrt_version

        if tensorrt_version() is None:
            raise EdgecError("%s is a TensorRT engine, but TensorRT is not installed on this "
                             "host, so it cannot run here. Benchmark it on the device it was "
                             "built for (or in the L4T container); on this host, benchmark the "
                             "ONNX file instead (ONNX Runtime backend)" % self.path)
        from edgec.runtime.trt.runner import TensorRTRunner

        return TensorRTRunner(self.path, batch=batch)


def make_result(target, runner, timing, settings, check, device, memory, warnings, extra=None):
    # type: (Target, Any, Dict[str, Any], Dict[str, Any], Optional[Dict[str, Any]], Dict[str, Any], Dict[str, Any], List[str], Optional[Dict[str, Any]]) -> Dict[str, Any]  # noqa: E501
    from edgec.fileio import sha256_file

    import numpy as np

    result = {
        "format": RESULT_FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "edgec": __version__,
        "host": host_info(),
        "device": device,
        "backend": runner.describe(),
        "versions": {"numpy": np.__version__, "python": platform.python_version()},
        "model": {"name": target.model_name, "precision": target.precision,
                  "file": os.path.basename(target.path), "sha256": sha256_file(target.path)},
        "settings": settings,
        "latency_ms": timing["latency_ms"],
        "compute_ms": timing["compute_ms"],
        "throughput_per_s": timing["throughput_per_s"],
        "batch": timing["batch"],
        "runs": {"warmup": timing["warmup"], "measured": timing["measured"]},
        "memory": memory,
        "check": check,
        "warnings": warnings,
    }
    result.update(extra or {})
    return result


REQUIRED = {"format": str, "device": dict, "model": dict, "latency_ms": dict, "settings": dict}


def validate_result(data, where):
    # type: (Any, str) -> Dict[str, Any]
    """The result if it is a well-formed edgec result, else EdgecError naming what is wrong."""
    if not isinstance(data, dict):
        raise EdgecError("%s is not an edgec result (a JSON object expected)" % where)
    if data.get("format") != RESULT_FORMAT:
        raise EdgecError("%s is not an edgec result: format %r, expected %s"
                         % (where, data.get("format"), RESULT_FORMAT))
    for key, kind in sorted(REQUIRED.items()):
        if not isinstance(data.get(key), kind):
            raise EdgecError("%s: field %r is missing or not a %s" % (where, key, kind.__name__))
    latency = data["latency_ms"]
    median = latency.get("median")
    if not isinstance(median, (int, float)) or not median > 0:
        raise EdgecError("%s: latency_ms.median must be a positive number, found %r"
                         % (where, median))
    for key in ("name", "precision"):
        if not isinstance(data["model"].get(key), str) or not data["model"][key]:
            raise EdgecError("%s: model.%s is missing" % (where, key))
    if not isinstance(data["device"].get("name"), str):
        raise EdgecError("%s: device.name is missing" % where)
    return data
