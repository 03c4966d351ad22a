"""The contract between the workstation and the device: the names of the files in a build folder
(and so in a bundle), the format tag of every edgec file, and the readers both sides need (the
precision plan and the TensorRT calibration cache).

The workstation writes these files (`edgec build`, `quantize`, `sweep`, `calibrate`); the device
reads them (`edgec build --bundle`, `edgec bench`) and writes its own (engine sidecars, results)
that the workstation reads back (`edgec report`, `edgec predict --fit`). Keeping every name and
tag here means the two sides cannot drift apart. Standard library only, Python 3.6 compatible:
runs on JetPack 4.6.
"""
import os
import re
import struct
from typing import Any, Dict, Sequence, Tuple  # noqa: F401

from edgec.errors import EdgecError
from edgec.fileio import atomic_write_text, read_json

# -- Format tags: the "format" field of each edgec JSON file. Bump N when a reader of the old
# layout would misread the new one.
PLAN_FORMAT = "edgec-plan/1"  # plan.json
RANGES_FORMAT = "edgec-ranges/1"  # ranges.json
SENSITIVITY_FORMAT = "edgec-sensitivity/1"  # sensitivity.json
SWEEP_STATE_FORMAT = "edgec-sweep-state/1"  # sweep.state.json
BUNDLE_FORMAT = "edgec-bundle/1"  # the bundle's manifest.json
SIDECAR_FORMAT = "edgec-engine/1"  # <engine>.json
RESULT_FORMAT = "edgec-result/1"  # result.json of `edgec bench`
LATENCY_FIT_FORMAT = "edgec-latency-fit/2"  # the latency estimator's fitted parameters
SELFTEST_FORMAT = "edgec-selftest/1"  # selftest.json of `edgec selftest`
PROFILE_FORMAT = "edgec-profile/1"  # profile.json of `edgec bench --profile`

# -- Precisions.
PRECISIONS = ("fp32", "fp16", "int8", "mix")  # what a build folder holds a model and engine for
LAYER_PRECISIONS = ("fp32", "fp16", "int8")  # what plan.json may give one layer
# What a TensorRT MIX build can pin a layer to; its other layers are the builder's choice.
ENGINE_LAYER_PRECISIONS = ("fp16", "int8")

# -- The build folder (`edgec build -o OUT`); an unpacked bundle holds the BUNDLE_FILES subset.
MODEL_ONNX = "model.onnx"  # FP32, dynamic batch
# Its tensors, where the model is beyond protobuf's 2 GB (LatentSync's UNet is 5.07 GB in
# FP32): model.onnx then holds the graph and names this file for every weight.
MODEL_ONNX_DATA = MODEL_ONNX + ".data"  # = onnx_data(MODEL_ONNX)
EXPORT_JSON = "export.json"  # model, inputs, outputs, per-layer MACs, versions
SAMPLES_DIR = "samples"  # the calibration sample store
RANGES_JSON = "ranges.json"  # activation statistics and thresholds
CALIB_CACHE = "calib.cache"  # TensorRT calibration cache (text)
SENSITIVITY_JSON = "sensitivity.json"
SENSITIVITY_PNG = "sensitivity.png"
SWEEP_STATE_JSON = "sweep.state.json"  # an interrupted sweep's progress; gone when it ends
SWEEP_TIMING_JSON = "sweep.timing.json"
PLAN_JSON = "plan.json"  # the MIX precision plan
QUALITY_JSON = "quality.json"  # every precision's quality report
COMPARE_PNG = "compare.png"  # held-out outputs per precision, PSNR vs FP32, error maps
REFERENCE_NPZ = "reference.npz"  # FP32 outputs for the device's output check
BUNDLE_TAR = "bundle.tar.gz"
STAMP_DIR = ".edgec"  # stage cache stamps
SWEEP_OUTPUTS = (SENSITIVITY_JSON, PLAN_JSON, SENSITIVITY_PNG)

# -- Inside the bundle.
BUNDLE_MANIFEST = "manifest.json"

# -- Written by `edgec bench`, `edgec selftest` and `edgec report`.
RESULT_JSON = "result.json"
SELFTEST_JSON = "selftest.json"
PROFILE_JSON = "profile.json"  # per-layer times of `edgec bench --profile`
REPORT_MARKDOWN = "report.md"
REPORT_CSV = "results.csv"
REPORT_CHART = "latency.png"

# -- The distillation folder (`edgec distill -o OUT`).
DISTILL_STUDENT = "student.pth"  # the student's plain state dict: `--checkpoint` loads it
DISTILL_CHECKPOINT = "distill.checkpoint.pt"  # student, adapters, optimizer, step: --resume
DISTILL_JSON = "distill.json"  # settings, losses, held-out quality
DISTILL_LOSS_PNG = "distill-loss.png"
DISTILL_TRAIN_SAMPLES = "train-samples"  # sample stores made from --data and --eval-data
DISTILL_EVAL_SAMPLES = "eval-samples"


def model_onnx(precision):
    # type: (str) -> str
    """The ONNX file of one precision: model.onnx for FP32, model.<precision>.onnx (Q/DQ INT8,
    FP16 casts) otherwise."""
    return MODEL_ONNX if precision == "fp32" else "model.%s.onnx" % precision


def onnx_data(onnx_name):
    # type: (str) -> str
    """The external data file an ONNX file of the build folder names for its weights, where it
    has one: model.fp16.onnx -> model.fp16.onnx.data."""
    return onnx_name + ".data"


def engine_file(precision):
    # type: (str) -> str
    return "model.%s.engine" % precision


def engine_sidecar(engine_path):
    # type: (str) -> str
    """The JSON beside an engine: model.int8.engine -> model.int8.engine.json."""
    return engine_path + ".json"


def quality_file(precision):
    # type: (str) -> str
    """One precision's quality report; quality_file("*") is the glob of all of them."""
    return "quality.%s.json" % precision


# What a bundle may carry; the device needs nothing else.
BUNDLE_FILES = tuple(model_onnx(p) for p in PRECISIONS) + tuple(
    onnx_data(model_onnx(p)) for p in PRECISIONS) + (
    PLAN_JSON, CALIB_CACHE, EXPORT_JSON, QUALITY_JSON, REFERENCE_NPZ)


# -- plan.json: {"format": PLAN_FORMAT, "precisions": {layer: precision}, "provenance": {...}}

def read_plan_record(path, precisions=LAYER_PRECISIONS):
    # type: (str, Sequence[str]) -> Dict[str, Any]
    """plan.json as written, after checking it: an EdgecError naming the file when it is
    missing, not JSON, not an edgec plan, empty, or gives a layer a precision outside
    `precisions`."""
    if not os.path.isfile(path):
        raise EdgecError("plan %s: no such file" % path)
    data = read_json(path, "plan")
    plan = data if isinstance(data, dict) else {}  # type: Dict[str, Any]
    layers = plan.get("precisions")
    if plan.get("format") != PLAN_FORMAT or not isinstance(layers, dict) or not layers:
        raise EdgecError("plan %s is not an edgec plan (format %s with 'precisions'); make one "
                         "with `edgec sweep`" % (path, PLAN_FORMAT))
    bad = sorted(name for name, precision in layers.items() if precision not in precisions)
    if bad:
        found = sorted(set(str(layers[name]) for name in bad))
        raise EdgecError("plan %s: layers %s have a precision other than %s (found %s)"
                         % (path, bad[:5], "/".join(precisions), ", ".join(found)))
    return plan


PLAN_DEVICES = ("gpu", "dla")  # what plan.json's optional "devices" may give one layer


def read_plan_devices(path):
    # type: (str) -> Dict[str, str]
    """{layer: "gpu" | "dla"} from plan.json's "devices" (a latency-aware plan for a board with a
    DLA), {} when it has none; a device other than those, or a layer the plan does not name,
    is an EdgecError naming the file."""
    plan = read_plan_record(path)
    devices = plan.get("devices") or {}
    if not isinstance(devices, dict):
        raise EdgecError("plan %s: 'devices' must map layers to gpu or dla" % path)
    bad = sorted(n for n, d in devices.items() if d not in PLAN_DEVICES)
    unknown = sorted(n for n in devices if n not in plan["precisions"])
    if bad or unknown:
        raise EdgecError("plan %s: %s" % (path, "; ".join(
            (["layers %s have a device other than gpu/dla" % bad[:5]] if bad else [])
            + (["devices names layers %s that have no precision" % unknown[:5]]
               if unknown else []))))
    return dict(devices)


def read_plan(path, precisions=LAYER_PRECISIONS):
    # type: (str, Sequence[str]) -> Dict[str, str]
    """{layer (ONNX node name): precision} from plan.json, checked as read_plan_record does."""
    return dict(read_plan_record(path, precisions)["precisions"])


# -- calib.cache, TensorRT's text calibration cache: a header line `TRT-<version>-<Calibrator>`
# (e.g. `TRT-8201-EntropyCalibration2`), then one `tensor_name: <scale>` line per tensor, the
# scale a float32 as 8 big-endian hex digits. The workstation writes it; the device serves it to
# TensorRT through a calibrator that never sees data.

CALIB_CACHE_HEADER_RE = re.compile(r"^TRT-(\d+)-(\w+)$")
DEFAULT_CALIB_CACHE_HEADER = "TRT-8201-EntropyCalibration2"
_SCALE_HEX_RE = re.compile(r"^[0-9a-fA-F]{8}$")


def _scale_to_hex(scale):
    # type: (float) -> str
    return struct.pack(">f", scale).hex()


def _hex_to_scale(text):
    # type: (str) -> float
    return struct.unpack(">f", bytes.fromhex(text))[0]


def format_calib_cache(scales, header=DEFAULT_CALIB_CACHE_HEADER):
    # type: (Dict[str, float], str) -> str
    if not CALIB_CACHE_HEADER_RE.match(header):
        raise ValueError("bad calibration cache header %r" % header)
    lines = [header] + ["%s: %s" % (name, _scale_to_hex(scales[name])) for name in sorted(scales)]
    return "\n".join(lines) + "\n"


def write_calib_cache(path, scales, header=DEFAULT_CALIB_CACHE_HEADER):
    # type: (str, Dict[str, float], str) -> None
    atomic_write_text(path, format_calib_cache(scales, header))


def parse_calib_cache(text, where="<calibration cache>"):
    # type: (str, str) -> Tuple[str, Dict[str, float]]
    """(header, {tensor: scale}); raises EdgecError naming the file and line on damage."""
    lines = text.splitlines()
    if not lines or not CALIB_CACHE_HEADER_RE.match(lines[0].strip()):
        raise EdgecError("%s is not a TensorRT calibration cache: the first line should look "
                         "like %s, found %r" % (where, DEFAULT_CALIB_CACHE_HEADER,
                                                lines[0][:60] if lines else ""))
    scales = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        name, sep, value = line.rpartition(":")
        value = value.strip()
        if not sep or not name or not _SCALE_HEX_RE.match(value):
            raise EdgecError("%s line %d: expected 'tensor_name: <8 hex digits>', found %r"
                             % (where, number, line[:80]))
        scale = _hex_to_scale(value)
        if not (scale == scale) or scale < 0 or scale == float("inf"):
            raise EdgecError("%s line %d: tensor %r has an invalid scale %r"
                             % (where, number, name, scale))
        scales[name] = scale
    return lines[0].strip(), scales


def read_calib_cache(path):
    # type: (str) -> Tuple[str, Dict[str, float]]
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        raise EdgecError("calibration cache %s cannot be read: %s" % (path, exc))
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise EdgecError("%s is not a TensorRT calibration cache (binary data)" % path)
    return parse_calib_cache(text, path)
