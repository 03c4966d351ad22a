"""Profile a few sweep configurations with torch.profiler (where the time goes, by kernel).

    python benchmarks/profile_sweep.py --model wav2lip --device cuda --batches 4
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="wav2lip")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--work", default="/tmp/w")
    args = parser.parse_args()

    import onnx
    import torch

    from benchmarks.sweep_speed import make_store
    from edgec.calib.store import SampleStore
    from edgec.exporter.export import export_zoo_model
    from edgec.models import get_model
    from edgec.quant.calibrate import calibrate, load_ranges
    from edgec.quant.fakequant import build_evaluator
    from edgec.quant.spec import QuantSpec
    from edgec.quant.metrics import QualitySums
    from edgec.quant.sweep import SweepEngine, phase1_configs
    from edgec.quant.quantize import layer_macs

    entry = get_model(args.model)
    work = os.path.join(args.work, args.model + "-profile")
    count = args.batches * args.batch_size
    if not os.path.isfile(os.path.join(work, "model.onnx")):
        export_zoo_model(entry, work)
    store_path = make_store(entry, os.path.join(work, "samples"), count + 256)
    if not os.path.isfile(os.path.join(work, "ranges.json")):
        calibrate(os.path.join(work, "model.onnx"), store_path, work,
                  holdout=count / float(count + 256), progress=False)
    model = onnx.load(os.path.join(work, "model.onnx"))
    spec = QuantSpec.from_onnx(model, load_ranges(os.path.join(work, "ranges.json")))
    store = SampleStore(store_path)
    names = [i.name for i in entry.inputs]
    engine = SweepEngine(build_evaluator(entry, spec, device=args.device), spec.layer_names,
                         layer_macs(work, model), ([b[n] for n in names] for b in
                                             store.batches(range(count), args.batch_size)),
                         args.device)
    configs = [c for c in phase1_configs(spec.layer_names).values()][:12]
    sums = {c.key: QualitySums() for c in configs}
    engine.evaluate_batches(configs[:2], sums, 0, lambda d: None)  # warm-up
    activities = [torch.profiler.ProfilerActivity.CPU]
    if args.device == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=activities) as prof:
        engine.evaluate_batches(configs, sums, 0, lambda d: None)
        if args.device == "cuda":
            torch.cuda.synchronize()
    key = "cuda_time_total" if args.device == "cuda" else "cpu_time_total"
    print(prof.key_averages().table(sort_by=key, row_limit=40, max_name_column_width=50))


if __name__ == "__main__":
    main()
