"""The benchmark loop: inputs, warm-up, measurement, statistics, and the output check.

Backend-neutral: it drives any Runner through `timed_infer`, which reads the clock only after
the work is complete (CUDA events after a synchronise for TensorRT; after a synchronous call
for ONNX Runtime). Warm-up runs first and is not measured. Python 3.6 compatible, numpy only.
"""
import time
from typing import Any, Dict, List, Optional, Tuple  # noqa: F401

import numpy as np

from edgec.errors import EdgecError
from edgec.runtime.runner import Runner, TensorInfo  # noqa: F401

REFERENCE_INPUT = "inputs/"
REFERENCE_OUTPUT = "outputs/"


def random_inputs(infos, batch, seed=0):
    # type: (List[TensorInfo], int, int) -> Dict[str, np.ndarray]
    """Uniform [0, 1) inputs (the range of Wav2Lip's face input) at the given batch."""
    rng = np.random.RandomState(seed)
    feed = {}
    for info in infos:
        shape = [batch if i == 0 and (d is None or d < 0) else d
                 for i, d in enumerate(info.shape)]
        if any(d is None or d < 0 for d in shape):
            raise EdgecError("input %s has a dynamic axis other than the batch (%s): give "
                             "inputs with --reference" % (info.name, info.shape))
        feed[info.name] = rng.random_sample(shape).astype(info.dtype)
    return feed


def load_reference(path):
    # type: (str) -> Tuple[Dict[str, np.ndarray], Dict[str, np.ndarray]]
    """(inputs, outputs) from a reference .npz (keys `inputs/<name>`, `outputs/<name>`).
    Loaded without pickle: a reference file cannot run code."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (IOError, OSError, ValueError) as exc:
        raise EdgecError("reference %s cannot be read as an .npz of arrays: %s" % (path, exc))
    inputs = {k[len(REFERENCE_INPUT):]: v for k, v in arrays.items()
              if k.startswith(REFERENCE_INPUT)}
    outputs = {k[len(REFERENCE_OUTPUT):]: v for k, v in arrays.items()
               if k.startswith(REFERENCE_OUTPUT)}
    if not inputs or not outputs:
        raise EdgecError("reference %s must hold inputs/<name> and outputs/<name> arrays (found "
                         "%s); write one with `edgec bench MODEL.onnx --save-reference FILE`"
                         % (path, sorted(arrays)[:6]))
    return inputs, outputs


def save_reference(path, inputs, outputs):
    # type: (str, Dict[str, np.ndarray], Dict[str, np.ndarray]) -> None
    import io

    from edgec.fileio import atomic_write_bytes

    arrays = {}
    for name, value in inputs.items():
        arrays[REFERENCE_INPUT + name] = value
    for name, value in outputs.items():
        arrays[REFERENCE_OUTPUT + name] = value
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds loosely
    atomic_write_bytes(path, buffer.getvalue())


def compare_outputs(outputs, reference, min_psnr, max_abs=None):
    # type: (Dict[str, np.ndarray], Dict[str, np.ndarray], float, Optional[float]) -> Dict[str, Any]
    """PSNR (peak: the reference's range) and max abs error per output; passed when every
    output meets the thresholds and nothing is missing or non-finite."""
    rows = {}  # type: Dict[str, Dict[str, Any]]
    passed = True
    for name, expected in sorted(reference.items()):
        if name not in outputs:
            rows[name] = {"error": "output missing"}
            passed = False
            continue
        got = np.asarray(outputs[name], dtype=np.float64)
        want = np.asarray(expected, dtype=np.float64)
        if got.shape != want.shape:
            rows[name] = {"error": "shape %s, reference %s" % (list(got.shape), list(want.shape))}
            passed = False
            continue
        finite = bool(np.all(np.isfinite(got)))
        error = np.abs(got - want)
        if not finite:
            rows[name] = {"psnr_db": None, "max_abs_error": None, "finite": False,
                          "passed": False}
            passed = False
            continue
        mse = float(np.mean(error ** 2))
        peak = float(want.max() - want.min()) or 1.0
        psnr = float("inf") if mse == 0 else float(10 * np.log10(peak ** 2 / mse))
        ok = bool(psnr >= min_psnr and (max_abs is None or float(error.max()) <= max_abs))
        # An exact match has infinite PSNR, stored as null (JSON has no infinity).
        rows[name] = {"psnr_db": None if psnr == float("inf") else round(psnr, 3),
                      "max_abs_error": float(error.max()), "finite": True, "passed": ok}
        passed = passed and ok
    return {"passed": passed, "min_psnr_db": min_psnr, "max_abs_error_limit": max_abs,
            "outputs": rows}


def check_text(check):
    # type: (Dict[str, Any]) -> str
    """One line per output check: what each output got (PSNR, max error) or why it failed."""
    parts = []
    for name, row in sorted(check["outputs"].items()):
        if "error" in row:
            parts.append("%s: %s" % (name, row["error"]))
        elif not row["finite"]:
            parts.append("%s: non-finite values (NaN or infinity)" % name)
        else:
            parts.append("%s: PSNR %s dB, max abs error %s" % (
                name, "inf" if row["psnr_db"] is None else "%.2f" % row["psnr_db"],
                "%.3g" % row["max_abs_error"]))
    return "; ".join(parts)


def _stats(values):
    # type: (List[float]) -> Optional[Dict[str, float]]
    if not values:
        return None
    data = np.asarray(values, dtype=np.float64)
    return {"median": float(np.median(data)), "p90": float(np.percentile(data, 90)),
            "p99": float(np.percentile(data, 99)), "mean": float(data.mean()),
            "min": float(data.min()), "max": float(data.max()), "n": int(data.size)}


def _measure(runner, feed, iterations, duration_s, min_iterations):
    # type: (Runner, Dict[str, np.ndarray], Optional[int], Optional[float], int) -> Tuple[List[float], List[float], float]  # noqa: E501
    """(end-to-end ms per run, compute-only ms per run, seconds taken)."""
    end_to_end, compute = [], []  # type: List[float], List[float]
    started = time.perf_counter()
    while True:
        total, inner = runner.timed_infer(feed)
        end_to_end.append(total)
        if inner is not None:
            compute.append(inner)
        count = len(end_to_end)
        elapsed = time.perf_counter() - started
        if iterations is not None and count >= iterations:
            return end_to_end, compute, elapsed
        if duration_s is not None and iterations is None and count >= min_iterations \
                and elapsed >= duration_s:
            return end_to_end, compute, elapsed


def run_benchmark(runner, feed, warmup_s=1.0, iterations=None, duration_s=None,
                  min_iterations=10, monitor=None):
    # type: (Runner, Dict[str, np.ndarray], float, Optional[int], Optional[float], int, Any) -> Dict[str, Any]  # noqa: E501
    """Warm up for `warmup_s` (at least 3 runs), then measure `iterations` runs, or for
    `duration_s` seconds (at least `min_iterations` runs). Returns latency statistics (ms).
    `monitor` (power sampling) is started after warm-up and stopped right after the last
    measured run, so its samples cover exactly the measured runs."""
    if iterations is None and duration_s is None:
        duration_s = 3.0
    warm_runs = 0
    started = time.perf_counter()
    while warm_runs < 3 or time.perf_counter() - started < warmup_s:
        runner.timed_infer(feed)
        warm_runs += 1
    warm_seconds = time.perf_counter() - started
    if monitor is not None:
        monitor.start()
    try:
        end_to_end, compute, measured_seconds = _measure(runner, feed, iterations, duration_s,
                                                         min_iterations)
    finally:
        if monitor is not None:
            monitor.stop()
    batch = int(next(iter(feed.values())).shape[0]) if feed else 1
    latency = _stats(end_to_end)
    assert latency is not None
    return {"warmup": {"runs": warm_runs, "seconds": round(warm_seconds, 3)},
            "measured": {"runs": len(end_to_end), "seconds": round(measured_seconds, 3)},
            "batch": batch, "latency_ms": latency, "compute_ms": _stats(compute),
            "throughput_per_s": batch * 1000.0 / latency["median"] if latency["median"] else None}
