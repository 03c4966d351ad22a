"""edgec's INT8 against ONNX Runtime's own quantize_static, side by side in one run.

Both quantize the same FP32 ONNX with the same calibration samples (the calibration split of
one sample store) to QDQ INT8 on Conv / ConvTranspose (per-channel symmetric weights,
symmetric activations, 99.99th-percentile ranges for both unless --method says otherwise); both
are evaluated in ONNX Runtime against FP32 on the same held-out samples.

    python benchmarks/ort_quantize_static.py --model lite-wav2lip --data DIR -n 512
"""
import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="lite-wav2lip")
    parser.add_argument("--data", default=None, help="default: a synthetic LRS2-layout tree")
    parser.add_argument("-n", type=int, default=512)
    parser.add_argument("--work", default="/tmp/edgec-ort-static")
    parser.add_argument("--eval-samples", type=int, default=256)
    args = parser.parse_args()

    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)

    from edgec.calib import synthetic
    from edgec.calib.store import SampleStore
    from edgec.pipeline.cache import StageRunner
    from edgec.pipeline.stages import stage_calibrate, stage_export, stage_samples
    from edgec.quant.calibrate import DEFAULT_HOLDOUT, load_ranges
    from edgec.quant.qdq import write_qdq
    from edgec.quant.quantize import evaluate_onnx, held_out_indices
    from edgec.quant.spec import PrecisionPlan, QuantSpec
    from edgec.settings import CalibrationSettings, ModelSource, SampleSettings

    data = args.data
    if data is None:
        data = os.path.join(args.work, "data")
        if not os.path.isdir(data):
            synthetic.write_lrs2_tree(data, speakers=4, clips_per_speaker=2, n_frames=100)
    source = ModelSource(args.model)
    runner = StageRunner(os.path.join(args.work, args.model))
    onnx_path = stage_export(runner, source)
    store_path, _ = stage_samples(runner, source, onnx_path, SampleSettings(data, args.n, 0),
                                  progress=False)
    start = time.perf_counter()
    forced = StageRunner(runner.out_dir, force=True)  # time a real calibration, not a cache hit
    ranges_path = stage_calibrate(forced, onnx_path, store_path,
                                  CalibrationSettings("percentile", 99.99, DEFAULT_HOLDOUT),
                                  progress=False)
    edgec_calib = time.perf_counter() - start
    store = SampleStore(store_path)
    calib_idx, _ = store.split(DEFAULT_HOLDOUT, 0)
    held = held_out_indices(store, DEFAULT_HOLDOUT, args.eval_samples)

    model = onnx.load(onnx_path)
    start = time.perf_counter()
    spec = QuantSpec.from_onnx(model, load_ranges(ranges_path))
    ours = write_qdq(model, spec, PrecisionPlan.uniform(spec.layer_names, "int8"))
    edgec_write = time.perf_counter() - start

    class Reader(CalibrationDataReader):
        def __init__(self):
            # One sample per run: ORT's histogram collector needs equal shapes across runs.
            self.batches = iter(store.batches(calib_idx, 1))

        def get_next(self):
            return next(self.batches, None)

    ort_path = os.path.join(tempfile.mkdtemp(), "ort_int8.onnx")
    start = time.perf_counter()
    quantize_static(onnx_path, ort_path, Reader(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                    per_channel=True, op_types_to_quantize=["Conv", "ConvTranspose"],
                    calibrate_method=CalibrationMethod.Percentile,
                    extra_options={"ActivationSymmetric": True, "WeightSymmetric": True,
                                   "CalibPercentile": 99.99})
    ort_seconds = time.perf_counter() - start

    report = {"model": args.model, "calibration_samples": int(len(calib_idx)),
              "held_out_samples": int(len(held)), "data": os.path.abspath(data)}
    for name, candidate in (("edgec", ours.SerializeToString()), ("ort_quantize_static", ort_path)):
        quality = evaluate_onnx(onnx_path, candidate, store, held, progress=False)["onnxruntime"]
        graph = onnx.load_from_string(candidate) if isinstance(candidate, bytes) \
            else onnx.load(candidate)
        report[name] = {"psnr_db": quality["psnr_db"], "ssim": quality["ssim"],
                        "max_abs_error": round(quality["max_abs_error"], 6),
                        "quantize_linear_nodes": sum(n.op_type == "QuantizeLinear"
                                                     for n in graph.graph.node)}
    report["edgec"]["seconds"] = {"calibrate": round(edgec_calib, 2),
                                  "write_qdq": round(edgec_write, 2)}
    report["ort_quantize_static"]["seconds"] = {"calibrate_and_write": round(ort_seconds, 2)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
