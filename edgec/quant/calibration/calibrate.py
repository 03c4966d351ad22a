"""Calibration: activation ranges of the FP32 ONNX over the calibration split of a sample store,
written as `ranges.json` (statistics, thresholds per method) and `calib.cache` (TensorRT)."""
import os
from typing import Dict, Optional

import numpy as np
import onnx

from edgec import artifacts
from edgec.artifacts import DEFAULT_CALIB_CACHE_HEADER, RANGES_FORMAT
from edgec.exporter.onnx_layers import quantizable_nodes
from edgec.fileio import atomic_write_json, sha256_file
from edgec.quant.calibration.ort_observer import HIST_BINS, ActivationObserver
from edgec.quant.calibration.thresholds import (METHODS, STATISTIC_METHODS, scale_from_threshold,
                                                thresholds)
from edgec.quant.quality.splits import CALIBRATION, SPLIT_SEED, SampleSplits
from edgec.settings import CalibrationSettings
from edgec.versions import library_versions

# A layer input clipped this many times below its maximum is reported: entropy calibration
# (TensorRT's and ModelOpt's algorithm) clips the demo network's first audio activations 12x
# and 8x below their maxima, and its INT8 loses 16 dB to percentile's.
CLIP_WARNING_RATIO = 4.0


def layer_tensors(model: onnx.ModelProto) -> Dict[str, Dict[str, str]]:
    """Quantizable layer -> its ONNX input and output tensor names."""
    return {node.name: {"op": node.op_type, "input": node.input[0], "output": node.output[0]}
            for node in quantizable_nodes(model)}


def calibrate(onnx_path: str, splits: SampleSplits, out_dir: str, *,
              settings: Optional[CalibrationSettings] = None, batch_size: int = 64,
              progress: bool = True, cache_header: str = DEFAULT_CALIB_CACHE_HEADER,
              output_search=None, entry=None, checkpoint: Optional[str] = None
              ) -> Dict[str, object]:
    """Statistics on the calibration split of `splits`, thresholds by `settings.method`.
    `output_search`: what the output method runs (search.output_thresholds bound to the PyTorch
    model; passed in, so calibration does not import the evaluator above it).
    `settings.calibration_device` (default here: cpu): cpu observes with ONNX Runtime, cuda
    with the PyTorch model `entry` (+ `checkpoint`) on the GPU, auto picks cuda where it can
    (see observer_for)."""
    settings = settings or CalibrationSettings(calibration_device="cpu")
    method, percentile = settings.method, settings.percentile
    holdout, device = splits.holdout, settings.calibration_device
    if method not in METHODS:
        raise ValueError("unknown method %r" % method)
    if method == "output" and output_search is None:
        from edgec.errors import EdgecError

        raise EdgecError("--method output scores thresholds by the model's output error with "
                         "the PyTorch model: give --model (an ONNX file alone cannot)")
    from edgec.exporter.external import has_external_data

    # Beyond protobuf's limit only the graph is read: the observer then is the PyTorch model's.
    external = has_external_data(onnx_path)
    if external and method == "output":
        from edgec.errors import EdgecError

        raise EdgecError("--method output is not available for %s: its weights are in an "
                         "external data file, and the output search runs the ONNX graph "
                         "whole; use percentile, mse, entropy or max" % onnx_path)
    model = onnx.load(onnx_path, load_external_data=not external)
    store = splits.store
    calib_idx = splits.indices(CALIBRATION)
    observer = observer_for(model, device, entry, checkpoint, store, calib_idx, onnx_path,
                            external)
    stats = observer.collect(store, calib_idx, batch_size, progress)
    described = observer.description()
    tensors = {}
    for name, stat in stats.items():
        stat = dict(stat)
        stat["thresholds"] = thresholds(stat, STATISTIC_METHODS, percentile)
        tensors[name] = stat
    layers = layer_tensors(model)
    search = None
    if method == "output":
        search = output_search(model, tensors, layers, store, calib_idx, percentile, progress)
    scales = {name: scale_from_threshold(stat["thresholds"][method])
              for name, stat in tensors.items()}
    missing = [n for n, t in layers.items() if t["input"] not in scales]
    if missing:
        raise RuntimeError("no statistics for the inputs of layers %s" % missing)
    record = {
        "format": RANGES_FORMAT,
        "model": {"onnx": os.path.basename(onnx_path), "sha256": sha256_file(onnx_path)},
        "samples": {"store": os.path.basename(os.path.normpath(store.path)),
                    "count": store.count, "calibration": len(calib_idx),
                    "held_out": store.count - len(calib_idx),
                    "splits": splits.sizes(),
                    "holdout_fraction": holdout,
                    "split_seed": SPLIT_SEED, "sha256": store.manifest.get("sha256"),
                    "sampling_seed": store.manifest.get("seed"),
                    "source": store.manifest.get("source")},
        "method": method, "percentile": percentile, "histogram_bins": HIST_BINS,
        "histogram": "counts of |x| in equal bins over [0, absmax]",
        "layers": layers, "tensors": tensors, "output_search": search,
        "warnings": clipping_warnings(tensors, layers, method),
        "observer": described,
        "versions": library_versions(("onnx", "onnxruntime", "numpy", "torch")
                                     if described["backend"] == "pytorch"
                                     else ("onnx", "onnxruntime", "numpy")),
    }
    atomic_write_json(os.path.join(out_dir, artifacts.RANGES_JSON), record)
    artifacts.write_calib_cache(os.path.join(out_dir, artifacts.CALIB_CACHE), scales, cache_header)
    return record


def observer_for(model: onnx.ModelProto, device: str, entry, checkpoint: Optional[str], store,
                 indices, onnx_path: str, external: bool = False):
    """ONNX Runtime on the CPU, or the PyTorch model on the GPU (calibration.torch_observer):
    `device` cpu, cuda, or auto (cuda where PyTorch sees a GPU and the model is known).
    `external` (weights in a data file): the layers' inputs alone, by the PyTorch model on
    either device (edgec.quant.calibration.layer_observer)."""
    from edgec.errors import EdgecError

    if device not in ("auto", "cpu", "cuda"):
        raise ValueError("unknown calibration device %r" % device)
    if device == "auto":
        device = "cuda" if entry is not None and _cuda_available() else "cpu"
    if external and entry is None:
        raise EdgecError("%s keeps its weights in an external data file: calibrating it "
                         "observes the PyTorch model, so give --model" % onnx_path)
    if device == "cpu" and not external:
        return ActivationObserver(model)
    if entry is None:
        raise EdgecError("--calibration-device cuda observes the PyTorch model: give --model "
                         "(%s alone is an ONNX file)" % onnx_path)
    if device == "cuda" and not _cuda_available():
        raise EdgecError("--calibration-device cuda: PyTorch sees no CUDA device here")
    if external:
        from edgec.quant.calibration.layer_observer import LayerInputObserver

        return LayerInputObserver(model, entry, checkpoint, device)
    from edgec.quant.calibration.torch_observer import TorchActivationObserver

    return TorchActivationObserver(model, entry, checkpoint, store, indices, "cuda")


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def clipping_warnings(tensors, layers, method: str):
    """One line per layer input whose threshold lies CLIP_WARNING_RATIO or more below its
    maximum, with the share of values it clips."""
    lines = []
    for name in sorted({t["input"] for t in layers.values()}):
        stats = tensors[name]
        threshold, absmax = stats["thresholds"][method], stats["absmax"]
        if threshold <= 0 or absmax < CLIP_WARNING_RATIO * threshold:
            continue
        hist = np.asarray(stats["histogram"], dtype=np.float64)
        edges = np.linspace(0.0, absmax, len(hist) + 1)
        clipped = hist[edges[:-1] >= threshold].sum() / max(hist.sum(), 1.0)
        readers = sorted(l for l, t in layers.items() if t["input"] == name)
        lines.append("%s thresholds clip %s (read by %s) at %.4g, %.1fx below its maximum %.4g "
                     "(%.3f%% of values clipped): compare --method percentile or output"
                     % (method, name, ", ".join(readers), threshold, absmax / threshold, absmax,
                        100 * clipped))
    return lines


def load_ranges(path: str) -> Dict[str, object]:
    import json

    from edgec.errors import EdgecError

    try:
        with open(path) as handle:
            record = json.load(handle)
    except (OSError, ValueError) as exc:
        raise EdgecError("ranges file %s cannot be read: %s" % (path, exc))
    if not isinstance(record, dict) or record.get("format") != RANGES_FORMAT:
        raise EdgecError("%s is not an edgec ranges file (format %s expected)"
                         % (path, RANGES_FORMAT))
    return record


def scales_for(record: Dict[str, object], method: Optional[str] = None) -> Dict[str, float]:
    method = method or record["method"]
    return {name: scale_from_threshold(entry["thresholds"][method])
            for name, entry in record["tensors"].items()}
