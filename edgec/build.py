"""`edgec build`: every stage from checkpoint to bundle, cached, in one output folder."""
import json
import os
from typing import Callable, Dict, List, Optional


DEMO_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "demo")
DEMO_MODEL = "lite-wav2lip"


def _size(path: str) -> str:
    size = os.path.getsize(path)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return ("%d %s" % (size, unit)) if unit == "B" else ("%.1f %s" % (size, unit))
        size /= 1024.0
    return ""


def bundle_info(out_dir: str) -> Dict[str, object]:
    """What the manifest says about the build: model, inputs, precision per layer, versions."""
    info = {}  # type: Dict[str, object]
    export_path = os.path.join(out_dir, "export.json")
    if os.path.isfile(export_path):
        with open(export_path) as handle:
            export = json.load(handle)
        info.update({"model": export["model"], "inputs": export["inputs"],
                     "outputs": export["outputs"], "weights": export["weights"],
                     "versions": export["versions"]})
    plan_path = os.path.join(out_dir, "plan.json")
    if os.path.isfile(plan_path):
        with open(plan_path) as handle:
            info["mix_precision_per_layer"] = json.load(handle)["precisions"]
    return info


def run_build(model_name, inputs, checkpoint, onnx_path, data_dir, n_samples, seed, reader,
              method, percentile, holdout, precision, budget, eval_samples, device, out_dir,
              progress, demo, say: Callable[[str], None], engine=None,
              grid_sample: str = "auto") -> Dict[str, object]:
    from edgec.pipeline import StageRunner, file_key, folder_key
    from edgec.runtime.bundle import pack
    from edgec.runtime.trt_detect import tensorrt_version
    from edgec.stages import (ModelSource, calibrated_model, stage_export, stage_quantize,
                              stage_sweep)

    notes = []  # type: List[str]
    if demo:
        model_name, data_dir = DEMO_MODEL, DEMO_DATA
        notes.append("This was the demo default (lite-wav2lip, shipped demo data).")
    source = ModelSource(model_name, inputs, checkpoint, onnx_path, reader, grid_sample)
    if not checkpoint and not onnx_path:
        say("weights are random: no --checkpoint given")
        notes.append("Weights were random (no --checkpoint): quality numbers describe "
                     "quantization of a random network.")
    # export, [samples, calibrate, [sweep,] quantize,] pack
    stages = {"fp32": 3, "fp16": 6, "int8": 6, "mix": 7}[precision]
    runner = StageRunner(out_dir, total_stages=stages, report=say)
    report = None
    store = None
    if precision == "fp32":
        stage_export(runner, source)
    else:
        onnx_file, store, _, ranges = calibrated_model(
            runner, source, data_dir, n_samples, seed, method, percentile, holdout, progress)
        plan_path = None
        if precision == "mix":
            plan_path = stage_sweep(runner, source, onnx_file, ranges, store, budget, holdout,
                                    eval_samples, 32, device, True, progress)
        report = stage_quantize(runner, source, onnx_file, ranges, store, precision, plan_path,
                                holdout, eval_samples, progress)
    reference_path = os.path.join(out_dir, REFERENCE_FILE)
    runner.run("reference", {"onnx": file_key(os.path.join(out_dir, "model.onnx")),
                             "samples": folder_key(store) if store else None,
                             "holdout": holdout, "seed": seed, "count": REFERENCE_SAMPLES},
               [reference_path], lambda: write_reference(out_dir, store, holdout, seed))
    bundle_path = os.path.join(out_dir, "bundle.tar.gz")
    runner.run("pack", {"files": _bundle_inputs(out_dir)}, [bundle_path],
               lambda: pack(out_dir, bundle_path, bundle_info(out_dir)))

    version = tensorrt_version()
    engine_record = None
    if version is None:
        notes.append("No engine was built: TensorRT is not installed here. On the Jetson: "
                     "edgec build --bundle %s --precision %s, then edgec bench "
                     "model.%s.engine --reference %s" % (bundle_path, precision, precision,
                                                         REFERENCE_FILE))
    elif engine is not None:
        from edgec.runtime.trt_builder import build_in_folder

        model = source.model_name or os.path.basename(str(source.onnx_path))
        engine_record = build_in_folder(out_dir, engine, {"model": model})
        notes.append("Built model.%s.engine with TensorRT %s for this host's GPU (engines are "
                     "not portable: the device builds its own from the bundle)."
                     % (precision, version))
    return {"out_dir": out_dir, "precision": precision, "bundle": bundle_path,
            "stages": runner.log, "table": _table(out_dir, precision, report),
            "quality": report["quality"]["onnxruntime"] if report else None,
            "demo": demo, "tensorrt": version, "engine": engine_record, "notes": notes}


REFERENCE_FILE = "reference.npz"
REFERENCE_SAMPLES = 8


def write_reference(out_dir: str, store_path: Optional[str], holdout: float, seed: int) -> None:
    """reference.npz: FP32 ONNX Runtime outputs on a few held-out calibration samples (uniform
    random inputs when no samples exist), so the device can check its engine with
    `edgec bench ENGINE --reference reference.npz`."""
    from edgec.calib.store import SampleStore
    from edgec.quant.quantize import held_out_indices
    from edgec.runtime.bench import random_inputs, save_reference
    from edgec.runtime.ort_backend import OnnxRuntimeRunner

    with OnnxRuntimeRunner(os.path.join(out_dir, "model.onnx")) as runner:
        if store_path:
            samples = SampleStore(store_path)
            inputs = samples.get(held_out_indices(samples, holdout, REFERENCE_SAMPLES))
            inputs = {k: v.astype("float32") for k, v in inputs.items()}
        else:
            inputs = random_inputs(runner.inputs(), REFERENCE_SAMPLES, seed)
        save_reference(os.path.join(out_dir, REFERENCE_FILE), inputs, runner.infer(inputs))


def _bundle_inputs(out_dir: str) -> Dict[str, str]:
    from edgec.fileio import sha256_file
    from edgec.runtime.bundle import BUNDLE_FILES

    return {n: sha256_file(os.path.join(out_dir, n)) for n in BUNDLE_FILES
            if os.path.isfile(os.path.join(out_dir, n))}


def _table(out_dir: str, precision: str, report: Optional[Dict[str, object]]) -> List[List[str]]:
    rows = []
    describe = {"model.onnx": "FP32 ONNX (dynamic batch, parity-checked)",
                "ranges.json": "activation statistics", "calib.cache": "TensorRT calibration cache",
                "sensitivity.json": "sweep measurements", "sensitivity.png": "sweep plot",
                "plan.json": "MIX precision plan", "bundle.tar.gz": "bundle for the device",
                "reference.npz": "FP32 outputs on held-out samples (device output check)"}
    if report is not None:
        ort = report["quality"]["onnxruntime"]
        mix = "%d FP16 / %d INT8 layers" % (len(report["fp16_layers"]), report["int8_layers"])
        if report.get("int8_mac_share") is not None:
            mix += ", %.0f%% of MACs INT8" % (100 * report["int8_mac_share"])
        describe["model.%s.onnx" % precision] = "%s: %s; PSNR %.2f dB, SSIM %s vs FP32" % (
            precision.upper(), mix, ort["psnr_db"], ort["ssim"])
    for name in ("model.onnx", "model.%s.onnx" % precision, "ranges.json", "calib.cache",
                 "sensitivity.json", "sensitivity.png", "plan.json", "reference.npz",
                 "bundle.tar.gz"):
        path = os.path.join(out_dir, name)
        if os.path.isfile(path) and name in describe:
            rows.append([path, _size(path), describe[name]])
    return rows
