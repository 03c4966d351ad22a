"""Calibration: activation ranges of the FP32 ONNX over the calibration split of a sample store,
written as `ranges.json` (statistics, thresholds per method) and `calib.cache` (TensorRT)."""
import os
from typing import Dict, Optional

import onnx

from edgec import artifacts
from edgec.artifacts import DEFAULT_CALIB_CACHE_HEADER, RANGES_FORMAT
from edgec.calib.store import SampleStore
from edgec.exporter.onnx_layers import quantizable_nodes
from edgec.fileio import atomic_write_json, sha256_file
from edgec.quant.observe import HIST_BINS, ActivationObserver
from edgec.quant.ranges import DEFAULT_PERCENTILE, METHODS, scale_from_threshold, thresholds
from edgec.versions import library_versions

DEFAULT_HOLDOUT = 0.2


def layer_tensors(model: onnx.ModelProto) -> Dict[str, Dict[str, str]]:
    """Quantizable layer -> its ONNX input and output tensor names."""
    return {node.name: {"op": node.op_type, "input": node.input[0], "output": node.output[0]}
            for node in quantizable_nodes(model)}


def calibrate(onnx_path: str, store_path: str, out_dir: str, method: str = "percentile",
              percentile: float = DEFAULT_PERCENTILE, holdout: float = DEFAULT_HOLDOUT,
              split_seed: int = 0, batch_size: int = 64, progress: bool = True,
              cache_header: str = DEFAULT_CALIB_CACHE_HEADER) -> Dict[str, object]:
    if method not in METHODS:
        raise ValueError("unknown method %r" % method)
    model = onnx.load(onnx_path)
    store = SampleStore(store_path)
    calib_idx, holdout_idx = store.split(holdout, split_seed)
    if len(calib_idx) == 0:
        calib_idx = holdout_idx  # too few samples to hold any out
    observer = ActivationObserver(model)
    stats = observer.collect(store, calib_idx, batch_size, progress)
    tensors = {}
    for name, entry in stats.items():
        entry = dict(entry)
        entry["thresholds"] = thresholds(entry, METHODS, percentile)
        tensors[name] = entry
    scales = {name: scale_from_threshold(entry["thresholds"][method])
              for name, entry in tensors.items()}
    layers = layer_tensors(model)
    missing = [n for n, t in layers.items() if t["input"] not in scales]
    if missing:
        raise RuntimeError("no statistics for the inputs of layers %s" % missing)
    record = {
        "format": RANGES_FORMAT,
        "model": {"onnx": os.path.basename(onnx_path), "sha256": sha256_file(onnx_path)},
        "samples": {"store": os.path.basename(os.path.normpath(store_path)),
                    "count": store.count, "calibration": len(calib_idx),
                    "held_out": len(holdout_idx), "holdout_fraction": holdout,
                    "split_seed": split_seed, "sha256": store.manifest.get("sha256"),
                    "sampling_seed": store.manifest.get("seed"),
                    "source": store.manifest.get("source")},
        "method": method, "percentile": percentile, "histogram_bins": HIST_BINS,
        "histogram": "counts of |x| in equal bins over [0, absmax]",
        "layers": layers, "tensors": tensors,
        "versions": library_versions(("onnx", "onnxruntime", "numpy")),
    }
    atomic_write_json(os.path.join(out_dir, artifacts.RANGES_JSON), record)
    artifacts.write_calib_cache(os.path.join(out_dir, artifacts.CALIB_CACHE), scales, cache_header)
    return record


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
