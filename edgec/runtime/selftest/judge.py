"""What the self-test judges, as small pure functions and their thresholds (each threshold
with where it comes from); tested without TensorRT. Python 3.6 compatible."""
from typing import Any, Dict, List, Optional, Sequence, Tuple  # noqa: F401

import numpy as np

from edgec import artifacts
from edgec.errors import EdgecError

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"

NO_TENSORRT = ("TensorRT is not installed on this host (`import tensorrt` finds no TensorRT), so "
               "no engine can be built or run here; run `edgec selftest` on the Jetson, or in "
               "the L4T container (Dockerfile.l4t), where TensorRT is present")

# -- Output check thresholds: PSNR (dB) against reference.npz, the FP32 ONNX's outputs in ONNX
# Runtime on the workstation (8 held-out samples). What the shipped network gets there:
#   FP32: exact arithmetic (PyTorch vs ONNX Runtime) 151 dB; TF32, i.e. conv operands rounded to
#     10-bit mantissas, which TensorRT does for FP32 layers on compute capability 8.0+ (Orin)
#     unless the TF32 flag is cleared (edgec's builder leaves it set): 84.7 dB (simulated);
#   FP16: model.fp16.onnx in ONNX Runtime 86.7 dB; FP16 tensors between layers 82.3 dB, FP16
#     accumulation as well (the worst case: HFMA2 kernels, e.g. on the Nano's Maxwell GPU)
#     72.7 dB (both simulated);
#   INT8: model.int8.onnx 55.0 dB; every tensor of calib.cache quantized, as TensorRT 8.x's
#     implicit INT8 may do, 54.5 dB (simulated);
#   MIX: model.mix.onnx 71.3 dB.
# A wrong scale (a calibration cache TensorRT ignored, deconvolution weight scales read on the
# wrong axis) costs tens of dB. Each threshold sits 10 to 15 dB under its precision's worst
# expected case, and far above a broken build.
FP32_PSNR_DB = 90.0  # no TF32: near-exact, with room for Winograd/FFT convolution tactics
FP32_TF32_PSNR_DB = 75.0  # compute capability >= 8.0, where FP32 layers may run in TF32
FP16_PSNR_DB = 60.0
INT8_PSNR_DB = 40.0
MIX_PSNR_DB = 40.0  # between FP16 and INT8; TensorRT 8.x may run layers outside the plan in INT8

# -- CUDA events vs the host clock (`timed_infer` in a loop).
CLOCK_RUNS = 50
CLOCK_WARMUP_RUNS = 10
# cudaEventElapsedTime resolves about 0.5 us; a host time shorter than the events by more than
# this means the events measured something the host never waited for.
EVENT_RESOLUTION_MS = 0.002
# The host clock also covers staging the inputs, the Python calls before the first event and the
# wake-up after the last: "close" is a median gap of at most 1 ms, or a quarter of the event
# time for slower engines (0.07 ms on an H100, benchmarks/cuda_runtime_check.py).
CLOCK_CLOSE_MS = 1.0
CLOCK_CLOSE_FRACTION = 0.25

# -- Polygraphy, the independent oracle: 0.49.6 or newer; its changelog dropped TensorRT < 8.5
# in 0.48.
POLYGRAPHY_MIN = (0, 49, 6)
POLYGRAPHY_MIN_TENSORRT = (8, 5)

# ONNX Runtime's first release that reads each ONNX opset (its release notes); 1.10, the last
# for Python 3.6 (JetPack 4.6), reads up to opset 15.
ORT_FOR_OPSET = {16: (1, 11), 17: (1, 12)}

TEGRASTATS_TIMEOUT_S = 5.0

ENGINE_CHECKS = (["%s.%s" % (kind, p) for p in artifacts.PRECISIONS
                  for kind in ("build", "reference", "layers")]
                 + ["timing_cache", "dla", "clocks", "polygraphy.fp32", "polygraphy.fp16"])


# -- Small pure functions (tested without TensorRT) -----------------------------------------

def version_tuple(text):
    # type: (Optional[str]) -> Optional[Tuple[int, ...]]
    """"8.5.2.2" -> (8, 5, 2, 2), "0.49.6" -> (0, 49, 6), "1.10.0+cpu" -> (1, 10, 0); None when
    no leading number."""
    if not text:
        return None
    parts = []  # type: List[int]
    for piece in str(text).strip().split("."):
        digits = ""
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            break
        parts.append(int(digits))
        if len(digits) != len(piece):
            break
    return tuple(parts) if parts else None


def psnr_threshold(precision, compute_capability=None):
    # type: (str, Optional[str]) -> float
    """The lowest PSNR (dB) an engine of `precision` must reach against the FP32 reference.
    `compute_capability`: the GPU's ("8.7"), None for a CPU backend (ONNX Runtime)."""
    if precision == "fp32":
        capability = version_tuple(compute_capability)
        if capability is not None and capability[0] >= 8:
            return FP32_TF32_PSNR_DB
        return FP32_PSNR_DB
    thresholds = {"fp16": FP16_PSNR_DB, "int8": INT8_PSNR_DB, "mix": MIX_PSNR_DB}
    if precision not in thresholds:
        raise EdgecError("no output threshold for precision %r (expected one of %s)"
                         % (precision, ", ".join(artifacts.PRECISIONS)))
    return thresholds[precision]


def _median(values):
    # type: (Sequence[float]) -> float
    return float(np.median(np.asarray(values, dtype=np.float64)))


def compare_clocks(pairs):
    # type: (Sequence[Tuple[float, float]]) -> Dict[str, Any]
    """(end-to-end CUDA event ms, host perf_counter ms around the same call) per run. After
    synchronisation the host clock must read at least the event time (within the events'
    resolution) on every run, and close to it: the median gap is at most CLOCK_CLOSE_MS or
    CLOCK_CLOSE_FRACTION of the median event time."""
    if not pairs:
        raise EdgecError("no timed runs to compare")
    events = [float(e) for e, _ in pairs]
    hosts = [float(h) for _, h in pairs]
    gaps = [h - e for e, h in zip(events, hosts)]
    behind = [i for i, gap in enumerate(gaps) if gap < -EVENT_RESOLUTION_MS]
    not_positive = [i for i, e in enumerate(events) if not e > 0]
    median_event = _median(events)
    median_gap = _median(gaps)
    bound = max(CLOCK_CLOSE_MS, CLOCK_CLOSE_FRACTION * median_event)
    problems = []
    if not_positive:
        problems.append("%d runs have a non-positive event time" % len(not_positive))
    if behind:
        worst = min(gaps)
        problems.append("on %d of %d runs the host clock read less than the CUDA events "
                        "(worst by %.4f ms): the events were read before the work finished"
                        % (len(behind), len(pairs), -worst))
    if median_gap > bound:
        problems.append("the host clock reads %.3f ms more than the events (median), over the "
                        "%.3f ms allowed: time outside the events dominates"
                        % (median_gap, bound))
    return {"passed": not problems, "problems": problems, "runs": len(pairs),
            "event_ms_median": round(median_event, 4), "host_ms_median": round(_median(hosts), 4),
            "host_minus_event_ms": {"median": round(median_gap, 4),
                                    "min": round(min(gaps), 4), "max": round(max(gaps), 4),
                                    "p90": round(float(np.percentile(gaps, 90)), 4)},
            "runs_host_behind_events": len(behind), "allowed_gap_ms": round(bound, 4)}


def polygraphy_gate(polygraphy_version, tensorrt_version):
    # type: (Optional[str], Optional[str]) -> Tuple[bool, Optional[str]]
    """(usable, why not): the oracle needs Polygraphy >= 0.49.6 on TensorRT >= 8.5."""
    if tensorrt_version is None:
        return False, NO_TENSORRT
    if polygraphy_version is None:
        return False, ("Polygraphy is not installed (pip install 'polygraphy>=%s'), so there is "
                       "no independent build to compare with"
                       % ".".join(map(str, POLYGRAPHY_MIN)))
    found = version_tuple(polygraphy_version)
    if found is None or found < POLYGRAPHY_MIN:
        return False, ("Polygraphy %s is older than %s" % (polygraphy_version,
                                                           ".".join(map(str, POLYGRAPHY_MIN))))
    trt = version_tuple(tensorrt_version)
    if trt is None or trt[:2] < POLYGRAPHY_MIN_TENSORRT:
        return False, ("TensorRT %s: Polygraphy supports TensorRT %s and newer only (its "
                       "changelog dropped older versions in 0.48)"
                       % (tensorrt_version, ".".join(map(str, POLYGRAPHY_MIN_TENSORRT))))
    return True, None


def polygraphy_build_plan(precision, tensorrt_version):
    # type: (str, str) -> Tuple[str, Dict[str, Any]]
    """(ONNX file, CreateConfig precision flags) for Polygraphy's build of `precision`.
    TensorRT 11 has strong typing only: no precision flags, the FP16 ONNX (casts and float16
    weights). Before it: the FP32 ONNX and the fp16 flag (weak typing, which also makes the
    oracle independent of edgec's FP16 file on TensorRT 10)."""
    if precision not in ("fp32", "fp16"):
        raise EdgecError("the Polygraphy oracle builds fp32 and fp16 only, not %r" % precision)
    major = (version_tuple(tensorrt_version) or (0,))[0]
    if precision == "fp32":
        return artifacts.MODEL_ONNX, {}
    if major >= 11:
        return artifacts.model_onnx("fp16"), {}
    return artifacts.MODEL_ONNX, {"fp16": True}


def onnxruntime_gate(ort_version, opset):
    # type: (Optional[str], Optional[int]) -> Tuple[bool, Optional[str]]
    """(usable, why not) for running an ONNX file of `opset` in this ONNX Runtime."""
    if ort_version is None:
        return False, ("onnxruntime is not installed (the device path's optional ONNX backend: "
                       "pip install onnxruntime)")
    if opset is None:
        return True, None  # unknown: try it
    needed = ORT_FOR_OPSET.get(opset)
    found = version_tuple(ort_version)
    if needed is not None and found is not None and found[:2] < needed:
        return False, ("onnxruntime %s cannot read the bundle's ONNX opset %d (ONNX Runtime %s "
                       "or newer reads it; 1.10 is the last release for Python 3.6)"
                       % (ort_version, opset, ".".join(map(str, needed))))
    return True, None


def check_layer_precisions(precision, rows, plan=None):
    # type: (str, List[Dict[str, Any]], Optional[Dict[str, Any]]) -> Dict[str, Any]
    """What the engine inspector says each layer runs in, judged for `precision`: an FP32 engine
    runs no FP16 or INT8 layer, an FP16 engine no INT8 layer, an INT8 engine at least one INT8
    layer, and a MIX engine gives every planned layer it names its planned precision.
    `plan`: planned_vs_built rows {layer: {planned, built, engine_layer}} for MIX."""
    counts = {}  # type: Dict[str, int]
    for row in rows:
        key = row.get("precision") or "unknown"
        counts[key] = counts.get(key, 0) + 1
    problems = []  # type: List[str]
    notes = []  # type: List[str]
    forbidden = {"fp32": ("fp16", "int8"), "fp16": ("int8",)}.get(precision, ())
    for lowered in forbidden:
        names = [r["name"] for r in rows if r.get("precision") == lowered]
        if names:
            problems.append("%d layers of the %s engine run in %s: %s"
                            % (len(names), precision.upper(), lowered.upper(),
                               ", ".join(names[:5])))
    if precision == "int8" and not counts.get("int8"):
        problems.append("no layer of the INT8 engine runs in INT8 (the calibration scales or "
                        "Q/DQ nodes were not used)")
    mismatched, unknown, honoured = [], [], []  # type: List[str], List[str], List[str]
    for layer, row in sorted((plan or {}).items()):
        if row.get("built") is None:
            unknown.append(layer)
        elif row["built"] != row["planned"]:
            mismatched.append("%s planned %s, built %s (%s)" % (layer, row["planned"],
                                                                row["built"],
                                                                row.get("engine_layer")))
        else:
            honoured.append(layer)
    if mismatched:
        problems.append("the MIX plan is not honoured: " + "; ".join(mismatched))
    if unknown:
        notes.append("no engine layer names planned layers %s (fused beyond recognition): "
                     "their precision is not known" % ", ".join(unknown))
    result = {"passed": not problems, "problems": problems, "notes": notes,
              "layer_precision_counts": counts, "layers": len(rows)}
    if plan is not None:
        result["plan"] = {"honoured": honoured, "mismatched": mismatched, "unknown": unknown}
        if not honoured and not mismatched:
            result["undecided"] = True
    return result


def compare_layer_precisions(ours, theirs):
    # type: (List[Dict[str, Any]], List[Dict[str, Any]]) -> Dict[str, Any]
    """Layers that edgec's and Polygraphy's engines both name, and where their precisions
    differ."""
    mine = {r["name"]: r.get("precision") for r in ours}
    other = {r["name"]: r.get("precision") for r in theirs}
    common = sorted(set(mine) & set(other))
    differ = ["%s: edgec %s, Polygraphy %s" % (n, mine[n], other[n]) for n in common
              if mine[n] != other[n]]
    return {"common_layers": len(common), "differ": differ,
            "edgec_only": len(set(mine) - set(other)), "polygraphy_only": len(set(other) -
                                                                           set(mine))}


# -- The check runner ---------------------------------------------------------------------
