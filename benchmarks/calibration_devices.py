"""Calibration with ONNX Runtime on the CPU against PyTorch on the GPU, on the same samples:
the time of each, peak host and device memory, and how far their statistics and thresholds
differ. The tolerance edgec states (tests/test_observe_torch.py checks it): absmax within 1e-4
of itself; the max, percentile and mse thresholds within one histogram bin (absmax / 2048);
entropy's threshold, scored on the other path's histogram, within 1% of that histogram's least
KL divergence (KL's minimum is flat: a count moved between bins can move it tens of bins).

    python benchmarks/calibration_devices.py --model liveportrait-spade --samples 32

Samples are random inputs in each input's range (benchmarks.sweep_speed.make_store).
"""
import argparse
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def agreement(ours, theirs):
    """Largest differences between two statistics records, tensor by tensor."""
    import numpy as np

    from edgec.quant.calibration.ort_observer import HIST_BINS
    from edgec.quant.calibration.thresholds import STATISTIC_METHODS, entropy_excess, thresholds

    worst = {"absmax_relative": 0.0, "histogram_moved_share": 0.0}
    bins = {m: 0.0 for m in STATISTIC_METHODS}
    for name, a in theirs.items():
        b = ours[name]
        scale = max(a["absmax"], 1e-12)
        worst["absmax_relative"] = max(worst["absmax_relative"],
                                       abs(a["absmax"] - b["absmax"]) / scale)
        ha, hb = np.asarray(a["histogram"]), np.asarray(b["histogram"])
        worst["histogram_moved_share"] = max(worst["histogram_moved_share"],
                                             0.5 * np.abs(ha - hb).sum() / max(ha.sum(), 1))
        ta = thresholds(a, STATISTIC_METHODS)
        tb = thresholds(b, STATISTIC_METHODS)
        for method in STATISTIC_METHODS:
            bins[method] = max(bins[method], abs(ta[method] - tb[method]) / (scale / HIST_BINS))
        worst["entropy_kl_excess"] = max(worst.get("entropy_kl_excess", 0.0),
                                         entropy_excess(a, tb["entropy"]))
    worst["threshold_difference_in_bins"] = bins
    return worst


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="lite-wav2lip")
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--work", default="/tmp/edgec-calib-devices")
    parser.add_argument("--no-onnxruntime", action="store_true",
                        help="time the PyTorch path alone")
    args = parser.parse_args()

    import numpy as np
    import onnx
    import torch

    from benchmarks.sweep_speed import make_store
    from edgec.calib.store import SampleStore
    from edgec.exporter.export import export_zoo_model
    from edgec.models import get_model
    from edgec.quant.calibration.ort_observer import ActivationObserver
    from edgec.quant.calibration.torch_observer import TorchActivationObserver

    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    entry = get_model(args.model)
    work = os.path.join(args.work, args.model)
    if not os.path.isfile(os.path.join(work, "model.onnx")):
        export_zoo_model(entry, work)
    model = onnx.load(os.path.join(work, "model.onnx"))
    store = SampleStore(make_store(entry, os.path.join(work, "samples-%d" % args.samples),
                                   args.samples))
    indices = np.arange(store.count)
    report = {"model": args.model, "samples": store.count, "batch_size": args.batch_size,
              "cores": os.cpu_count(), "torch": torch.__version__}
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        report["gpu"] = torch.cuda.get_device_name(0)
    start = time.perf_counter()
    observer = TorchActivationObserver(model, entry, None, store, indices, args.device)
    setup = time.perf_counter() - start
    ours = observer.collect(store, indices, args.batch_size, progress=False)
    if args.device == "cuda":
        torch.cuda.synchronize()
    report["pytorch"] = dict(observer.description(), setup_seconds=round(setup, 2),
                             seconds=round(time.perf_counter() - start, 2),
                             batch_size=observer.batch_size_for(args.batch_size))
    if args.device == "cuda":
        report["pytorch"]["peak_device_gb"] = round(torch.cuda.max_memory_allocated() / 1e9, 2)
    report["peak_host_gb_after_pytorch"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2)
    print(json.dumps(report), flush=True)
    if not args.no_onnxruntime:
        start = time.perf_counter()
        theirs = ActivationObserver(model).collect(store, indices, args.batch_size, False)
        report["onnxruntime_cpu"] = {"seconds": round(time.perf_counter() - start, 2)}
        report["peak_host_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
                                       2)
        report["agreement"] = agreement(ours, theirs)
        report["speedup"] = round(report["onnxruntime_cpu"]["seconds"]
                                  / report["pytorch"]["seconds"], 2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
