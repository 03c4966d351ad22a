"""Where a sweep's time goes: each stage timed (export, calibration, the engine's setup), then
the per-layer configurations of one batch timed one by one beside the share of MACs each
recomputes, then a few of them under torch.profiler (by kernel).

    python benchmarks/profile_sweep.py --model liveportrait-spade --device cuda --batch-size 16

Lines are printed as stages end, so a run cut short still says where it was.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def say(*parts):
    print(*parts, flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="wav2lip")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--calibration-samples", type=int, default=64)
    parser.add_argument("--configs", type=int, default=24, help="configurations timed alone")
    parser.add_argument("--profiled", type=int, default=6, help="configurations profiled")
    parser.add_argument("--work", default="/tmp/w")
    args = parser.parse_args()

    import numpy as np
    import onnx
    import torch

    from benchmarks.sweep_speed import make_store
    from edgec.calib.store import SampleStore
    from edgec.exporter.export import export_zoo_model
    from edgec.models import get_model
    from edgec.quant.calibration.calibrate import calibrate, load_ranges
    from edgec.quant.quality.splits import SampleSplits
    from edgec.settings import CalibrationSettings
    from edgec.quant.evaluator.fakequant import build_evaluator
    from edgec.quant.quality.metrics import QualitySums
    from edgec.quant.quantize import layer_macs
    from edgec.quant.qdq.spec import QuantSpec
    from edgec.quant.search.sweep import SweepEngine, phase1_configs

    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.deterministic = True
    entry = get_model(args.model)
    work = os.path.join(args.work, args.model + "-profile")
    count = args.batch_size
    started = time.perf_counter()
    if not os.path.isfile(os.path.join(work, "model.onnx")):
        export_zoo_model(entry, work)
    say("export: %.1f s" % (time.perf_counter() - started))
    total = count + args.calibration_samples
    store_path = make_store(entry, os.path.join(work, "samples-%d" % total), total)
    started = time.perf_counter()
    if not os.path.isfile(os.path.join(work, "ranges.json")):
        calibrate(os.path.join(work, "model.onnx"),
                  SampleSplits(SampleStore(store_path), count / float(total)), work,
                  settings=CalibrationSettings(calibration_device=args.device),
                  progress=False, entry=entry)
    ranges = load_ranges(os.path.join(work, "ranges.json"))
    say("calibration (%s, %d samples): %.1f s" % (ranges.get("observer"),
                                                 ranges["samples"]["calibration"],
                                                 time.perf_counter() - started))
    model = onnx.load(os.path.join(work, "model.onnx"))
    spec = QuantSpec.from_onnx(model, ranges)
    store = SampleStore(store_path)
    names = [i.name for i in entry.inputs]
    macs = layer_macs(work, model)
    started = time.perf_counter()
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    engine = SweepEngine(build_evaluator(entry, spec, device=args.device), spec.layer_names,
                         macs, ([b[n] for n in names] for b in
                                store.batches(range(count), args.batch_size)), args.device)
    if args.device == "cuda":
        torch.cuda.synchronize()
    say("engine setup: %.1f s, %d layers, %.1f GMACs a sample" % (
        time.perf_counter() - started, len(spec.layer_names), sum(macs.values()) / 1e9))
    configs = [c for c in phase1_configs(spec.layer_names).values() if "_alone/" in c.key]

    def sync():
        if args.device == "cuda":
            torch.cuda.synchronize()

    # Warm-up (compilation of the fused steps, cuDNN's first calls): not timed.
    engine.evaluate_batches(configs[:4], {c.key: QualitySums() for c in configs[:4]}, 0,
                            lambda d: None)
    sync()
    # One batch's bases (all FP16, all INT8), timed alone.
    runner = engine.runner
    batch = engine.batches[0]
    for base in ("fp16", "int8"):
        engine._set({l: base for l in engine.layers})
        sync()
        t = time.perf_counter()
        env = runner.run_full(batch)
        sync()
        held = sum(v.numel() * v.element_size() for v in env.values()
                   if isinstance(v, torch.Tensor))
        say("base all-%s: %.3f s, the cache holds %.2f GB" % (base, time.perf_counter() - t,
                                                             held / 1e9))
        del env
    engine._set({l: "fp16" for l in engine.layers})
    sync()
    t = time.perf_counter()
    with torch.no_grad():
        engine.evaluator(*batch)
    sync()
    fp16_pass = time.perf_counter() - t
    say("one all-FP16 pass of the batch: %.3f s" % fp16_pass)
    picked = configs[::max(1, len(configs) // args.configs)][:args.configs]
    rows = []
    for config in picked:
        sums = {config.key: QualitySums()}
        sync()
        t = time.perf_counter()
        engine.evaluate_batches([config], sums, 0, lambda d: None)
        sums[config.key].result(engine.peak)
        sync()
        seconds = time.perf_counter() - t
        base = "fp16" if config.key.startswith("int8_alone") else "int8"
        changed = [l for l in engine.layers if config.precisions[l] != base]
        fraction = runner.recompute_fraction(changed, macs)
        rows.append((seconds, fraction))
        say("  %-40s %.3f s (incl. 2 bases), recomputes %.0f%% of MACs"
            % (config.key[:40], seconds, 100 * fraction))
    fractions = [runner.recompute_fraction(
        [l for l in engine.layers if c.precisions[l] != ("fp16" if c.key.startswith("int8")
                                                          else "int8")], macs)
        for c in configs]
    say("all %d per-layer configurations recompute %.1f passes' worth of MACs a batch "
        "(floor at the FP16 pass: %.2f s a batch)" % (len(configs), sum(fractions),
                                                     sum(fractions) * fp16_pass))
    activities = [torch.profiler.ProfilerActivity.CPU]
    if args.device == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    chosen = picked[:args.profiled]
    sums = {c.key: QualitySums() for c in chosen}
    with torch.profiler.profile(activities=activities) as prof:
        engine.evaluate_batches(chosen, sums, 0, lambda d: None)
        sync()
    key = "cuda_time_total" if args.device == "cuda" else "cpu_time_total"
    say(prof.key_averages().table(sort_by=key, row_limit=30, max_name_column_width=60))
    if args.device == "cuda":
        say("peak device memory: %.2f GB" % (torch.cuda.max_memory_allocated() / 1e9))
    say("median seconds per config (with bases): %.3f" % float(np.median([r[0] for r in rows])))


if __name__ == "__main__":
    main()
