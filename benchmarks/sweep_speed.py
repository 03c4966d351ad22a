"""Time edgec's sensitivity sweep against a naive baseline on the same samples.

Naive baseline: for every configuration of the sweep (per-layer both ways, boundary both ways),
write the Q/DQ ONNX, load it in ONNX Runtime and evaluate it against the FP32 model over the
samples, batched like edgec, the FP32 reference run alongside as a plain evaluation loop does
(`--naive-cached-reference` gives the baseline a reference computed once instead). edgec: the
fake-quant evaluator with base reuse. Both compute the same metrics against the same FP32
reference, and the run checks that they agree, so a fast but wrong sweep is caught.

    python benchmarks/sweep_speed.py --model lite-wav2lip --samples 256           # CPU, both
    python benchmarks/sweep_speed.py --model wav2lip --samples 10000 --device cuda --no-naive

Samples are random model inputs in each input's range (a store built directly, no video
decoding), calibrated on a separate 512.
"""
import argparse
import json
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


_STARTED = time.perf_counter()


def stage(label):
    """A progress line on stderr with the time since the start: a run cut off at its time
    limit still says how far it got."""
    sys.stderr.write("[%7.1f s] %s\n" % (time.perf_counter() - _STARTED, label))
    sys.stderr.flush()


def make_store(entry, path, count, seed=0):
    from edgec.calib.store import SampleStoreWriter, StoreInput

    if os.path.isfile(os.path.join(path, "manifest.json")):
        return path
    rng = np.random.default_rng(seed)
    writer = SampleStoreWriter(path, [StoreInput(i.name, i.shape, "float32") for i in entry.inputs],
                               count)
    for start in range(0, count, 256):
        n = min(256, count - start)
        values = {i.name: rng.uniform(i.low, i.high, size=(n,) + tuple(i.shape)).astype(np.float32)
                  for i in entry.inputs}
        for row in range(n):
            writer.append({k: v[row] for k, v in values.items()})
    return writer.close({"source": "random inputs (benchmark)", "seed": seed})


def check_against_onnxruntime(args, engine, evaluator, spec, model, store, indices, names,
                              configs, macs):
    """Re-evaluate configurations in ONNX Runtime on a subset and compare. Chosen where INT8
    error dominates: at least 6 dB below the best configuration on the subset, the same rule as
    the naive loop's agreement (nearer FP16 both sides measure float rounding noise; ONNX
    Runtime's FP16 kernels are not PyTorch's). These are the layers a plan keeps FP16."""
    import torch

    from edgec.quant.qdq.writer import write_qdq
    from edgec.quant.qdq.spec import PrecisionPlan
    from edgec.quant.quality.metrics import QualitySums
    from edgec.quant.search.sweep import SweepEngine
    from edgec.runtime.ort_backend import OnnxRuntimeRunner

    subset = indices[:args.check_samples]
    small = SweepEngine(evaluator, spec.layer_names, macs,
                        ([b[n] for n in names] for b in store.batches(subset, 64)), args.device,
                        peak=engine.peak)
    with OnnxRuntimeRunner(os.path.join(args.work, args.model, "model.onnx")) as ref:
        output = args.output_name
        references = [torch.from_numpy(ref.infer(b)[output]) for b in store.batches(subset, 64)]
    sums = {c.key: QualitySums() for c in configs}
    small.evaluate_batches(configs, sums, 0, lambda done: None)
    psnr = {k: v.result(small.peak)["psnr_db"] for k, v in sums.items()}
    best = max(psnr.values())
    dominated = sorted((c for c in configs if psnr[c.key] < best - 6), key=lambda c: psnr[c.key])
    rule = "at least 6 dB below the best configuration (%.2f dB) on the subset" % best
    if not dominated:
        dominated, rule = list(configs), "none is 6 dB below the best: a spread of all"
    # Evenly over the PSNR range: the lowest, the highest still dominated, and between.
    places = np.linspace(0, len(dominated) - 1, min(args.check_configs, len(dominated)))
    chosen = [dominated[i] for i in sorted(set(int(round(p)) for p in places))]
    rows = []
    for config in chosen:
        ours = small.evaluate_plan(config.precisions)
        sums = QualitySums()
        data = write_qdq(model, spec, PrecisionPlan(config.precisions)).SerializeToString()
        with OnnxRuntimeRunner(data) as runner:
            for batch, reference in zip(store.batches(subset, 64), references):
                sums.update(reference, torch.from_numpy(runner.infer(batch)[output]),
                            engine.peak)
        theirs = sums.result(engine.peak)
        rows.append({"configuration": config.key, "edgec_psnr_db": ours["psnr_db"],
                     "onnxruntime_psnr_db": theirs["psnr_db"]})
    return {"samples": len(subset), "chosen": rule, "rows": rows,
            "max_psnr_gap_db": max(abs(r["edgec_psnr_db"] - r["onnxruntime_psnr_db"])
                                   for r in rows)}


def measure_floor(engine, configs, macs, device, limits):
    """What the sweep is measured against: every configuration's recomputed share of the
    model's conv MACs, as passes of the evaluator with every layer FP16 over the same batches
    (a configuration limited to leading batches: over those), timed here (after a warm-up
    pass)."""
    import torch

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    fp16 = {l: "fp16" for l in engine.layers}
    engine.evaluate_plan(fp16)
    sync()
    start = time.perf_counter()
    engine.evaluate_plan(fp16)
    sync()
    one_pass = time.perf_counter() - start
    passes = 0.0
    samples = float(engine.samples_in(len(engine.batches)))
    for config in configs:
        share = engine.samples_in(limits.get(config.key, len(engine.batches)))
        shares = []
        for base in ("fp16", "int8"):
            changed = [l for l in engine.layers if config.precisions[l] != base]
            shares.append(engine.runner.recompute_fraction(changed, macs))
        passes += min(shares) * share / samples
    return {"fp16_pass_seconds": round(one_pass, 4), "recomputed_passes": round(passes, 2),
            "seconds": round(passes * one_pass, 3),
            "what": "recomputed conv MACs of every configuration, as all-FP16 passes of the "
                    "evaluator over the same samples"}


def check_exhaustive(engine, configs, results, count, limits):
    """A spread of configurations evaluated whole (no reuse of a base's activations) on the
    same batches: the sweep's figures must be the same numbers."""
    chosen = configs[::max(1, len(configs) // max(count, 1))][:count]
    rows = []
    every = engine.batches
    for config in chosen:
        engine.batches = every[:limits.get(config.key, len(every))]
        try:
            whole = engine.evaluate_plan(config.precisions)
        finally:
            engine.batches = every
        rows.append({"configuration": config.key, "sweep_psnr_db": results[config.key]["psnr_db"],
                     "whole_psnr_db": whole["psnr_db"]})
    gaps = [abs(r["sweep_psnr_db"] - r["whole_psnr_db"]) for r in rows]
    return {"rows": rows, "max_psnr_gap_db": max(gaps) if gaps else None}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="lite-wav2lip")
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--calibration-samples", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--work", default="/tmp/edgec-sweep-bench")
    parser.add_argument("--no-naive", action="store_true")
    parser.add_argument("--naive-cached-reference", action="store_true")
    parser.add_argument("--repeats", type=int, default=1,
                        help="rounds of edgec then the naive loop, alternated; medians reported")
    parser.add_argument("--check-configs", type=int, default=6,
                        help="with --no-naive: configurations re-evaluated in ONNX Runtime on "
                             "--check-samples samples to check the fast path's numbers")
    parser.add_argument("--check-samples", type=int, default=256)
    parser.add_argument("--describe-samples", type=int, default=0,
                        help="as edgec sweep --describe-samples: the configurations no plan "
                             "reads (each layer alone INT8, boundaries) over this many leading "
                             "samples; 0 (default): all")
    parser.add_argument("--check-only", action="store_true",
                        help="only the ONNX Runtime check (no timing): its evaluator runs over "
                             "the --check-samples alone")
    parser.add_argument("--exhaustive-configs", type=int, default=8,
                        help="configurations evaluated whole (no reuse) over every sample on "
                             "the sweep's device: their figures must equal the sweep's")
    parser.add_argument("--output", default=None, help="write the report JSON here too")
    parser.add_argument("--cudnn-benchmark", action="store_true",
                        help="let cuDNN time its algorithms (edgec sweep does not: a resumed "
                             "sweep could pick others and differ in the last bits)")
    parser.add_argument("--analysis", choices=["all", "per-layer"], default="all",
                        help="per-layer: only each layer alone INT8 / alone FP16")
    args = parser.parse_args()
    if args.describe_samples and not args.no_naive:
        parser.error("--describe-samples needs --no-naive (the naive loop measures every "
                     "configuration on every sample)")

    import onnx
    import torch

    from edgec.calib.store import SampleStore
    from edgec.exporter.export import export_zoo_model
    from edgec.models import get_model
    from edgec.quant.calibration.calibrate import calibrate, load_ranges
    from edgec.quant.quality.splits import SampleSplits
    from edgec.settings import CalibrationSettings
    from edgec.quant.evaluator.fakequant import build_evaluator
    from edgec.quant.qdq.writer import write_qdq
    from edgec.quant.quality.splits import SELECTION, TEST, split_all
    from edgec.quant.qdq.spec import PrecisionPlan, QuantSpec
    from edgec.quant.quality.metrics import QualitySums
    from edgec.quant.search.sweep import SweepEngine, descriptive_limits, phase1_configs
    from edgec.quant.quantize import layer_macs
    from edgec.runtime.ort_backend import OnnxRuntimeRunner

    entry = get_model(args.model)
    work = os.path.join(args.work, args.model)
    total = args.samples + args.calibration_samples
    holdout = args.samples / float(total)
    onnx_path = os.path.join(work, "model.onnx")
    if not os.path.isfile(onnx_path):
        export_zoo_model(entry, work)
    stage("exported %s" % onnx_path)
    store_path = make_store(entry, os.path.join(work, "samples-%d" % total), total)
    stage("sample store of %d" % total)
    ranges_path = os.path.join(work, "ranges.json")
    if not os.path.isfile(ranges_path):
        # On a GPU, PyTorch observers (quant.calibration.torch_observer); ONNX Runtime on the CPU.
        calibrate(onnx_path, SampleSplits(SampleStore(store_path), holdout), work,
                  settings=CalibrationSettings(calibration_device=args.device),
                  progress=False, entry=entry)
    stage("calibrated (%s)" % args.device)
    model = onnx.load(onnx_path)
    spec = QuantSpec.from_onnx(model, load_ranges(ranges_path))
    store = SampleStore(store_path)
    # Speed, not a quality figure: every held-out sample (selection and test) is timed.
    splits = split_all(store.count, holdout)
    indices = np.sort(np.concatenate([splits[SELECTION], splits[TEST]]))[:args.samples]
    names = [i.name for i in entry.inputs]
    configs = {}
    every_config = phase1_configs(spec.layer_names)
    for config in every_config.values():
        configs.setdefault(config.signature(), config)
    configs = list(configs.values())
    if args.analysis == "per-layer":
        configs = [c for c in configs if "_alone/" in c.key]
    macs = layer_macs(work, model)
    torch.backends.cudnn.allow_tf32 = False  # the FP32 reference must be FP32
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    torch.backends.cudnn.deterministic = True  # as `edgec sweep` runs (exact resume)

    if args.device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    evaluator = build_evaluator(entry, spec, device=args.device)
    if args.check_only:
        indices = indices[:args.check_samples]
    engine = SweepEngine(evaluator, spec.layer_names, macs,
                         ([b[n] for n in names] for b in store.batches(indices, args.batch_size)),
                         args.device)
    if args.device == "cuda":
        torch.cuda.synchronize()
    setup = time.perf_counter() - start
    stage("evaluator and references ready (%.1f s)" % setup)
    described, limits = descriptive_limits(engine, every_config, configs,
                                           args.describe_samples)
    if args.check_only:
        args.output_name = entry.outputs[0]
        report = {"model": args.model, "device": args.device, "check": check_against_onnxruntime(
            args, engine, evaluator, spec, model, store, indices, names, configs, macs)}
        print(json.dumps(report, indent=2))
        if args.output:
            with open(args.output, "w") as handle:
                handle.write(json.dumps(report, indent=2) + "\n")
        return
    # Warm-up, not measured: every configuration on the first batch, so each compiled
    # epilogue variant (one per layer shape of flags) and cuDNN's kernel choice happen here.
    # `edgec sweep` pays this once too: reported as warmup_seconds.
    warm = {c.key: QualitySums() for c in configs}
    first = engine.batches
    engine.batches = first[:1]
    if args.device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    engine.evaluate_batches(configs, warm, 0, lambda done: None)
    if args.device == "cuda":
        torch.cuda.synchronize()
    warmup = time.perf_counter() - start
    engine.batches = first
    stage("warmed up; timing %d configurations" % len(configs))

    def time_edgec():
        sums = {c.key: QualitySums() for c in configs}
        if args.device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        engine.evaluate_batches(configs, sums, 0, lambda done: None, limits)
        results = {k: s.result(engine.peak) for k, s in sums.items()}  # reads every number
        if args.device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start, results

    def time_naive():
        def reference_outputs(runner):
            return [torch.from_numpy(runner.infer(batch)[entry.outputs[0]])
                    for batch in store.batches(indices, args.batch_size)]

        naive = {}
        start = time.perf_counter()
        fp32 = OnnxRuntimeRunner(onnx_path)
        fp32.activate()
        cached = reference_outputs(fp32) if args.naive_cached_reference else None
        for config in configs:
            plan = PrecisionPlan(config.precisions)
            data = write_qdq(model, spec, plan).SerializeToString()
            sums = QualitySums()
            with OnnxRuntimeRunner(data) as runner:
                for number, batch in enumerate(store.batches(indices, args.batch_size)):
                    reference = (cached[number] if cached is not None
                                 else torch.from_numpy(fp32.infer(batch)[entry.outputs[0]]))
                    output = runner.infer(batch)[entry.outputs[0]]
                    sums.update(reference, torch.from_numpy(output), engine.peak)
            naive[config.key] = sums.result(engine.peak)
        return time.perf_counter() - start, naive

    # Rounds alternate edgec and the naive loop, so both see the same machine (a shared
    # CPU's speed drifts by tens of percent over minutes here); medians are reported.
    edgec_times, naive_times = [], []
    for _ in range(args.repeats):
        seconds, ours_results = time_edgec()
        edgec_times.append(seconds)
        if not args.no_naive:
            seconds, naive = time_naive()
            naive_times.append(seconds)
    edgec_seconds = float(np.median(edgec_times))
    stage("swept in %.1f s" % edgec_seconds)
    floor = measure_floor(engine, configs, macs, args.device, limits)
    stage("floor measured")
    exhaustive = check_exhaustive(engine, configs, ours_results, args.exhaustive_configs,
                                  limits)

    report = {
        "model": args.model, "samples": len(indices), "layers": len(spec.layer_names),
        "configurations": len(configs), "batch_size": args.batch_size, "device": args.device,
        "plan_deciding_configurations": len(configs) - len(limits),
        "descriptive": {"configurations": len(limits),
                        "samples": engine.samples_in(described)},
        "edgec": {"setup_seconds": round(setup, 3), "warmup_seconds": round(warmup, 3),
                  "sweep_seconds": round(edgec_seconds, 3),
                  "rounds_seconds": [round(t, 3) for t in edgec_times],
                  "seconds_per_configuration": round(edgec_seconds / len(configs), 4)},
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "floor": floor, "exhaustive_check": exhaustive,
        "sweep_over_floor": round(edgec_seconds / floor["seconds"], 2),
        "batches": len(engine.batches), "max_batch_for_memory": engine.max_batch,
        "cache_gb_per_sample": round(engine.cache_bytes_per_sample / 1e9, 4),
        "peak_host_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
    }
    if args.device == "cuda":
        report["gpu"] = torch.cuda.get_device_name(0)
        report["peak_device_gb"] = round(torch.cuda.max_memory_allocated() / 1e9, 2)

    if not args.no_naive:
        naive_seconds = float(np.median(naive_times))
        # Agreement where INT8 error dominates: configurations at least 6 dB below all-FP16.
        # Closer to FP16, both sides measure float rounding noise (ONNX Runtime's FP16 kernels
        # are not PyTorch's), where dB gaps mean nothing.
        fp16_level = max(r["psnr_db"] for r in ours_results.values())
        compared = [k for k in naive if ours_results[k]["psnr_db"] < fp16_level - 6]
        if not compared:
            sys.exit("no configuration is 6 dB below FP16: nothing to check agreement on")
        gaps = [abs(naive[k]["psnr_db"] - ours_results[k]["psnr_db"]) for k in compared]
        report["naive_onnxruntime"] = {"sweep_seconds": round(naive_seconds, 3),
                                       "rounds_seconds": [round(t, 3) for t in naive_times],
                                       "reference": "cached" if args.naive_cached_reference
                                       else "run alongside each configuration",
                                       "seconds_per_configuration":
                                           round(naive_seconds / len(configs), 4)}
        report["speedup"] = round(naive_seconds / edgec_seconds, 2)
        report["speedup_per_round"] = [round(n / e, 2) for e, n in zip(edgec_times, naive_times)]
        report["agreement"] = {"configurations_compared": len(compared),
                               "max_psnr_gap_db": round(max(gaps), 4),
                               "median_psnr_gap_db": round(float(np.median(gaps)), 4)}
        if max(gaps) > 1.0:
            print(json.dumps(report, indent=2))
            sys.exit("edgec and the naive loop disagree by %.2f dB: a measuring bug" % max(gaps))
    print(json.dumps(report), flush=True)  # the timings, before the slower check
    if args.no_naive and args.check_configs:
        stage("checking %d configurations in ONNX Runtime" % args.check_configs)
        args.output_name = entry.outputs[0]
        report["check"] = check_against_onnxruntime(
            args, engine, evaluator, spec, model, store, indices, names, configs, macs)
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        with open(args.output, "w") as handle:
            handle.write(text + "\n")


if __name__ == "__main__":
    main()
