"""`edgec selftest`: a structured first contact with a device.

It unpacks the tiny bundle shipped in the package (edgec/data/selftest, made by
scripts/make_selftest_bundle.py), and, where TensorRT is installed, builds it at every precision
through edgec's own builder, checks each engine against the bundle's FP32 reference outputs,
reads back the precision each layer was built in (is the MIX plan honoured?), round-trips a
timing cache, tries the DLA where the board has one, compares the runner's CUDA event times with
the host clock, and builds the same FP32 and FP16 engines through Polygraphy as an independent
oracle. Without TensorRT it says so and runs what it can: Jetson detection, a tegrastats sample,
the CUDA runtime, the bundle, and the FP32 ONNX through ONNX Runtime.

Every check records passed, failed or skipped, with why and TensorRT's own messages; one check
that breaks is recorded and the others still run. The checks live in `host_checks` (every host)
and `engine_checks` (TensorRT hosts), what they are judged by in `judge`, the record in
`record`; this module runs them in order. Python 3.6 compatible, numpy only (TensorRT,
onnxruntime and Polygraphy when installed): runs on JetPack 4.6.
"""
import os
import platform
import shutil
import tempfile
import time
from typing import Any, Dict, List, Optional  # noqa: F401

import numpy as np

from edgec import __version__, artifacts
from edgec.runtime.selftest.engine_checks import (check_build, check_clocks, check_dla,  # noqa: F401
                                                 check_engine_reference, check_layers,
                                                 check_polygraphy, check_timing_cache,
                                                 polygraphy_version)
from edgec.runtime.selftest.host_checks import (check_board, check_bundle, check_cuda,  # noqa: F401
                                               check_onnxruntime, check_tegrastats,
                                               workstation_psnr)
from edgec.runtime.selftest.judge import (CLOCK_RUNS, ENGINE_CHECKS, EVENT_RESOLUTION_MS,  # noqa: F401
                                         FAILED, FP16_PSNR_DB, FP32_PSNR_DB,
                                         FP32_TF32_PSNR_DB, INT8_PSNR_DB, MIX_PSNR_DB,
                                         NO_TENSORRT, PASSED, SKIPPED, TEGRASTATS_TIMEOUT_S,
                                         check_layer_precisions, compare_clocks,
                                         compare_layer_precisions, onnxruntime_gate,
                                         polygraphy_build_plan, polygraphy_gate,
                                         psnr_threshold, version_tuple)
from edgec.runtime.selftest.record import Checks, Context, failed, passed, skipped  # noqa: F401

SELFTEST_JSON = artifacts.SELFTEST_JSON
SELFTEST_FORMAT = artifacts.SELFTEST_FORMAT
SHIPPED_BUNDLE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                              "data", "selftest", "bundle.tar.gz")


# -- The whole run ------------------------------------------------------------------------

def _onnxruntime_version():
    # type: () -> Optional[str]
    try:
        import onnxruntime
    except ImportError:
        return None
    return str(onnxruntime.__version__)


def _environment(ctx):
    # type: (Context) -> Dict[str, Any]
    cuda = {"available": False, "runtime": None, "device": None,
            "compute_capability": None}  # type: Dict[str, Any]
    if ctx.cuda is not None:
        cuda.update({"runtime": ctx.cuda.get("cuda_runtime"), "device": ctx.cuda.get("name"),
                     "compute_capability": ctx.cuda.get("compute_capability")})
        cuda["available"] = cuda["device"] is not None
        if ctx.cuda.get("error"):
            cuda["error"] = ctx.cuda["error"]
    return {"edgec": __version__, "python": platform.python_version(),
            "numpy": np.__version__, "platform": platform.platform(),
            "machine": platform.machine(), "tensorrt": ctx.tensorrt_version,
            "cuda": cuda, "board": ctx.board, "jetson_root": ctx.jetson_root,
            "polygraphy": polygraphy_version(), "onnxruntime": _onnxruntime_version()}


def run_selftest(bundle_path=None, keep_dir=None, jetson_root=None, clock_runs=CLOCK_RUNS,
                 tegrastats_timeout_s=TEGRASTATS_TIMEOUT_S):
    # type: (Optional[str], Optional[str], Optional[str], int, float) -> Dict[str, Any]
    """Every check, in order; returns the JSON-ready record. `bundle_path`: the bundle to test
    (default: the one shipped in the package); `keep_dir`: where the unpacked bundle and the
    engines stay (default: a temporary folder, removed afterwards); `jetson_root`: where
    /proc/device-tree and /etc/nv_tegra_release are read (default $EDGEC_JETSON_ROOT or /)."""
    from edgec.runtime.trt import detect

    bundle_path = bundle_path or SHIPPED_BUNDLE
    jetson_root = jetson_root or os.environ.get("EDGEC_JETSON_ROOT", "/")
    if keep_dir:
        if not os.path.isdir(keep_dir):
            os.makedirs(keep_dir)
        work_dir = os.path.abspath(keep_dir)
    else:
        work_dir = tempfile.mkdtemp(prefix="edgec-selftest-")
    ctx = Context(bundle_path, work_dir, jetson_root, detect.tensorrt_version())
    checks = Checks()
    started = time.time()
    try:
        checks.run("jetson.detect", check_board, (ctx,))
        checks.run("jetson.tegrastats", check_tegrastats, (ctx, tegrastats_timeout_s))
        checks.run("cuda.runtime", check_cuda, (ctx,))
        checks.run("bundle.unpack", check_bundle, (ctx,))
        checks.run("onnxruntime.fp32", check_onnxruntime, (ctx,), needs=["bundle.unpack"])
        if ctx.tensorrt_version is None:
            for name in ENGINE_CHECKS:
                checks.add(name, skipped(NO_TENSORRT))
        else:
            _engine_checks(ctx, checks, clock_runs)
    finally:
        if not keep_dir:
            shutil.rmtree(work_dir, ignore_errors=True)
    counts = checks.summary()
    notes = []  # type: List[str]
    if ctx.tensorrt_version is None:
        notes.append(NO_TENSORRT + ".")
    if keep_dir:
        notes.append("The unpacked bundle and the engines are kept in %s." % work_dir)
    return {"format": SELFTEST_FORMAT,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "seconds": round(time.time() - started, 2),
            "environment": _environment(ctx), "bundle": bundle_path,
            "kept_in": work_dir if keep_dir else None,
            "thresholds_psnr_db": {"fp32": psnr_threshold("fp32", ctx.compute_capability),
                                   "fp16": FP16_PSNR_DB, "int8": INT8_PSNR_DB,
                                   "mix": MIX_PSNR_DB,
                                   "onnxruntime_fp32": psnr_threshold("fp32", None)},
            "checks": checks.records, "summary": counts, "passed": counts[FAILED] == 0,
            "notes": notes}


def _engine_checks(ctx, checks, clock_runs):
    # type: (Context, Checks, int) -> None
    for precision in artifacts.PRECISIONS:
        build = "build." + precision
        checks.run(build, check_build, (ctx, precision), needs=["bundle.unpack"])
        checks.run("reference." + precision, check_engine_reference, (ctx, precision),
                   needs=[build])
        checks.run("layers." + precision, check_layers, (ctx, precision), needs=[build])
    checks.run("timing_cache", check_timing_cache, (ctx,), needs=["bundle.unpack"])
    checks.run("dla", check_dla, (ctx,), needs=["bundle.unpack"])
    checks.run("clocks", check_clocks, (ctx, clock_runs), needs=["bundle.unpack"])
    usable, why = polygraphy_gate(polygraphy_version(), ctx.tensorrt_version)
    for precision in ("fp32", "fp16"):
        name = "polygraphy." + precision
        if not usable:
            checks.add(name, skipped(why or ""))
        else:
            checks.run(name, check_polygraphy, (ctx, precision),
                       needs=["reference." + precision])
