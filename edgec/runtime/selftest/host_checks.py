"""The checks that run on every host: the board, tegrastats, the CUDA runtime, the bundle, and
the FP32 ONNX in ONNX Runtime. Python 3.6 compatible."""
import os
import shutil
import time
from typing import Any, Dict, List, Optional  # noqa: F401

import numpy as np

from edgec import artifacts
from edgec.errors import EdgecError
from edgec.runtime.selftest.judge import onnxruntime_gate, psnr_threshold, version_tuple
from edgec.runtime.selftest.record import Context, failed, passed, skipped  # noqa: F401

# -- Checks that run everywhere -------------------------------------------------------------

def check_board(ctx):
    # type: (Context) -> Dict[str, Any]
    from edgec.jetson.detect import COMPATIBLE, detect_board
    from edgec.jetson.profiles import BY_KEY

    board = detect_board(ctx.jetson_root)
    ctx.board = board
    if board is None:
        return skipped("not a Jetson: %s is missing or names no NVIDIA Tegra SoC"
                       % os.path.join(ctx.jetson_root, COMPATIBLE))
    profile = BY_KEY.get(board["profile"] or "")
    ctx.profile = profile
    messages = list(board["warnings"])
    details = {"board": board}  # type: Dict[str, Any]
    if profile is not None:
        # The TensorRT of the board's own JetPack line (its L4T release) where it is known:
        # an Orin runs JetPack 6.0 (TensorRT 8.6), 6.2 (10.3) or 7.2 (10.16).
        jetpack = board.get("jetpack_line") or profile.jetpack
        tensorrt = board.get("tensorrt") or profile.tensorrt
        details["profile"] = {"dla_cores": profile.dla_cores, "int8": profile.supports("int8"),
                              "compute_capability": profile.compute_capability,
                              "jetpack": jetpack, "tensorrt": tensorrt}
        installed = version_tuple(ctx.tensorrt_version)
        expected = version_tuple(tensorrt)
        if installed and expected and installed[:2] != expected[:2]:
            messages.append("TensorRT %s is installed; %s on JetPack %s ships %s"
                            % (ctx.tensorrt_version, profile.name, jetpack, tensorrt))
    return passed("%s, L4T %s, JetPack %s" % (board["name"], board["l4t"] or "unknown",
                                              board["jetpack"] or "unknown"),
                  details, messages)


def check_tegrastats(ctx, timeout_s):
    # type: (Context, float) -> Dict[str, Any]
    from edgec.jetson.clocks import gpu_devfreq_path
    from edgec.jetson.monitor import TegrastatsSampler

    command = shutil.which("tegrastats")
    if command is None:
        return skipped("tegrastats is not on PATH%s" % (
            "" if ctx.board else " (this host is not a Jetson)"))
    sampler = TegrastatsSampler(100, command, gpu_devfreq_path(ctx.jetson_root))
    sampler.start()
    deadline = time.time() + timeout_s
    try:
        while not sampler.samples and time.time() < deadline:
            time.sleep(0.05)
    finally:
        samples = sampler.stop()
    if not samples:
        return failed("%s printed no line edgec can parse within %.0f s (%d lines it could not "
                      "parse)" % (command, timeout_s, sampler.unparsed))
    sample = samples[0]
    total = sample.get("total_power") or {}
    gr3d = sample.get("gr3d") or {}
    summary = "RAM %d/%d MB" % (sample["ram_mb"]["used"], sample["ram_mb"]["total"])
    if total:
        summary += ", %s %.0f mW" % (total["rail"], total["current_mw"])
    if gr3d.get("mhz") is not None:
        summary += ", GPU %.0f MHz%s" % (gr3d["mhz"], " (sysfs)" if gr3d.get("mhz_source")
                                           else "")
    return passed(summary, {"command": command, "sample": sample, "samples": len(samples)})


def check_cuda(ctx):
    # type: (Context) -> Dict[str, Any]
    from edgec.runtime import cuda

    # Without TensorRT a missing CUDA runtime or GPU is what this host is, not a fault.
    outcome = failed if ctx.tensorrt_version is not None else skipped
    try:
        version = cuda.runtime_version()
    except EdgecError as exc:
        return outcome(exc.message)
    ctx.cuda = {"cuda_runtime": version}
    try:
        info = cuda.device_info()
    except EdgecError as exc:
        ctx.cuda["error"] = exc.message
        return outcome("CUDA runtime %s is installed, but no GPU can be used: %s"
                       % (version, exc.message), {"runtime_version": version})
    ctx.cuda = info
    ctx.compute_capability = info.get("compute_capability")
    return passed("CUDA runtime %s, %s (compute capability %s)"
                  % (version, info.get("name"), info.get("compute_capability")),
                  {"runtime_version": version, "device": info})


def check_bundle(ctx):
    # type: (Context) -> Dict[str, Any]
    from edgec.fileio import read_json
    from edgec.runtime import bundle
    from edgec.runtime.bench import load_reference

    manifest = bundle.unpack(ctx.bundle_path, ctx.bundle_dir)
    ctx.manifest = manifest
    needed = [artifacts.model_onnx(p) for p in artifacts.PRECISIONS] + [
        artifacts.CALIB_CACHE, artifacts.PLAN_JSON, artifacts.REFERENCE_NPZ]
    missing = [n for n in needed if not os.path.isfile(os.path.join(ctx.bundle_dir, n))]
    if missing:
        return failed("bundle %s lacks %s" % (ctx.bundle_path, ", ".join(missing)),
                      {"files": sorted(manifest.get("files", {}))})
    def path(name):
        # type: (str) -> str
        return os.path.join(ctx.bundle_dir, name)

    header, scales = artifacts.read_calib_cache(path(artifacts.CALIB_CACHE))
    ctx.plan = artifacts.read_plan(path(artifacts.PLAN_JSON), artifacts.ENGINE_LAYER_PRECISIONS)
    inputs, outputs = load_reference(path(artifacts.REFERENCE_NPZ))
    ctx.reference = (inputs, outputs)
    if os.path.isfile(path(artifacts.QUALITY_JSON)):
        quality = read_json(path(artifacts.QUALITY_JSON), "quality report")
        ctx.quality = quality if isinstance(quality, dict) else {}
    if os.path.isfile(path(artifacts.EXPORT_JSON)):
        export = read_json(path(artifacts.EXPORT_JSON), "export record")
        opset = export.get("opset") if isinstance(export, dict) else None
        ctx.opset = int(opset) if isinstance(opset, int) else None
    samples = int(next(iter(inputs.values())).shape[0])
    details = {"bundle": ctx.bundle_path, "unpacked_to": ctx.bundle_dir,
               "files": {n: f.get("bytes") for n, f in sorted(manifest["files"].items())},
               "created": manifest.get("created"),
               "calibration_cache": {"header": header, "tensors": len(scales)},
               "plan": dict(ctx.plan), "opset": ctx.opset,
               "reference": {"samples": samples,
                             "inputs": {k: list(v.shape) for k, v in sorted(inputs.items())},
                             "outputs": {k: list(v.shape) for k, v in sorted(outputs.items())}},
               "workstation_psnr_db": {p: workstation_psnr(ctx.quality, p)
                                       for p in artifacts.PRECISIONS if p != "fp32"}}
    return passed("%d files verified against the manifest; %d reference samples"
                  % (len(manifest["files"]), samples), details)


def workstation_psnr(quality, precision):
    # type: (Dict[str, Any], str) -> Optional[float]
    """The ONNX Runtime PSNR the workstation measured for `precision` (quality.json)."""
    try:
        return float(quality[precision]["quality"]["onnxruntime"]["psnr_db"])
    except (KeyError, TypeError, ValueError):
        return None


def infer_per_sample(runner, inputs):
    # type: (Any, Dict[str, np.ndarray]) -> Dict[str, np.ndarray]
    """Outputs for every reference sample, run one at a time at batch 1 (the engines' batch),
    inputs cast to the types the runner takes."""
    dtypes = {info.name: info.dtype for info in runner.inputs()}
    count = int(next(iter(inputs.values())).shape[0])
    parts = {}  # type: Dict[str, List[np.ndarray]]
    for index in range(count):
        feed = {name: np.ascontiguousarray(value[index:index + 1]).astype(
            dtypes.get(name, value.dtype)) for name, value in inputs.items()}
        for name, value in runner.infer(feed).items():
            parts.setdefault(name, []).append(np.array(value))
    return {name: np.concatenate(values) for name, values in parts.items()}


def psnr_summary(check):
    # type: (Dict[str, Any]) -> str
    from edgec.runtime.bench import check_text

    return "%s (threshold %.0f dB)" % (check_text(check), check["min_psnr_db"])


def check_onnxruntime(ctx):
    # type: (Context) -> Dict[str, Any]
    from edgec.runtime.bench import compare_outputs

    try:
        import onnxruntime
        version = str(onnxruntime.__version__)  # type: Optional[str]
    except ImportError:
        version = None
    usable, why = onnxruntime_gate(version, ctx.opset)
    if not usable:
        return skipped(why or "")
    from edgec.runtime.ort_backend import OnnxRuntimeRunner

    assert ctx.reference is not None
    inputs, reference = ctx.reference
    threshold = psnr_threshold("fp32", None)
    with OnnxRuntimeRunner(os.path.join(ctx.bundle_dir, artifacts.MODEL_ONNX)) as runner:
        outputs = infer_per_sample(runner, inputs)
        providers = runner.describe()["providers"]
    check = compare_outputs(outputs, reference, threshold)
    details = {"onnxruntime": version, "providers": providers, "check": check}
    if not check["passed"]:
        return failed("FP32 ONNX in ONNX Runtime: " + psnr_summary(check), details)
    return passed("FP32 ONNX: " + psnr_summary(check), details)