"""`edgec quantize`: the model at one precision (FP16, INT8 or a MIX plan) as a Q/DQ ONNX file,
and its quality against FP32 on the test split (quality.splits), measured by running that file
in ONNX Runtime.
Where the PyTorch model is known, the fast evaluator runs the same plan and the agreement
between the two is reported too."""
import os
import shutil
import time
from typing import Dict, List, Optional

import numpy as np
import onnx

from edgec import artifacts
from edgec.calib.store import SampleStore
from edgec.exporter.external import (check_file, has_external_data, move_into_place,
                                     remove_stale_data, save_with_external_data, staging_folder)
from edgec.fileio import atomic_write_bytes, atomic_write_json, sha256_bytes, sha256_file
from edgec.quant.calibration.calibrate import load_ranges
from edgec.quant.qdq.spec import PrecisionPlan, QuantSpec
from edgec.quant.qdq.writer import write_qdq
from edgec.quant.quality.metrics import QualitySums, output_peak
from edgec.quant.quality.quality_json import merge_quality
from edgec.quant.quality.splits import TEST, SampleSplits
from edgec.runtime.ort_backend import OnnxRuntimeRunner


def plan_for(precision: str, spec: QuantSpec, plan_path: Optional[str]) -> PrecisionPlan:
    from edgec.errors import EdgecError

    if precision == "mix":
        if not plan_path:
            raise EdgecError("--precision mix needs --plan plan.json (made by `edgec sweep`)")
        plan = PrecisionPlan.load(plan_path)
        plan.check_layers(spec.layer_names, plan_path)
        return plan
    if plan_path:
        raise EdgecError("--plan goes with --precision mix only")
    return PrecisionPlan.uniform(spec.layer_names, precision)


def evaluate_onnx(reference_onnx, candidate_onnx, store: SampleStore, indices,
                  batch_size: int = 32, evaluator=None, progress: bool = True, region=None):
    """Quality of candidate vs reference in ONNX Runtime; with `evaluator` (a zero-argument
    function returning a FakeQuantModel set to the same plan), also the evaluator's quality and
    its agreement with ONNX Runtime. The FP32 reference outputs are computed first, so every
    metric uses the same peak. `region`: rows (fractions of the height) of the first output
    also scored alone.

    Three passes, one model in memory in each (reference, candidate, evaluator), the outputs
    kept between them: for LatentSync's UNet the three together (a 5 GB ONNX Runtime session,
    the 3.9 GB FP16 one, the PyTorch evaluator with its quantized weights) went past 24 GB and
    were killed; in turn they fit."""
    import torch

    from edgec.progress import progress_bar

    n_batches = (len(indices) + batch_size - 1) // batch_size

    def outputs(runner_source, what):
        # Beyond 2 GB (a path with external data): no pre-packed second copy of the weights.
        large = isinstance(runner_source, str) and has_external_data(runner_source)
        with OnnxRuntimeRunner(runner_source, low_memory=large) as runner:
            name = runner.outputs()[0].name
            names = [i.name for i in runner.inputs()]
            with progress_bar(n_batches, what, "batch", progress) as bar:
                found = []
                for batch in store.batches(indices, batch_size):
                    found.append(torch.from_numpy(runner.infer(batch)[name]))
                    bar.update(1)
        return found, names

    references, input_names = outputs(reference_onnx, "quality: FP32 reference")
    peak = output_peak(references)
    candidates, _ = outputs(candidate_onnx, "quality: candidate")
    ort_quality = QualitySums()
    for expected, got in zip(references, candidates):
        ort_quality.update(expected, got, peak, region)
    report = {"onnxruntime": ort_quality.result(peak)}
    if evaluator is None:
        return report
    model = evaluator()
    eval_quality, agreement = QualitySums(), QualitySums()
    with progress_bar(len(references), "quality: evaluator", "batch", progress) as bar:
        for batch, expected, got in zip(store.batches(indices, batch_size), references,
                                        candidates):
            with torch.no_grad():
                ours = model(*[torch.from_numpy(np.array(batch[n])) for n in input_names])
            eval_quality.update(expected, ours, peak, region)
            agreement.update(got, ours, peak, region)
            bar.update(1)
    report["evaluator"] = eval_quality.result(peak)
    report["evaluator_vs_onnxruntime"] = agreement.result(peak)
    return report


def quantize(out_dir: str, onnx_path: str, ranges_path: str, splits: SampleSplits, *,
             precision: str, plan_path: Optional[str] = None, entry=None,
             checkpoint: Optional[str] = None, eval_samples: int = 512,
             progress: bool = True) -> Dict[str, object]:
    """model.<precision>.onnx in out_dir from the FP32 file and its ranges, and its quality
    report on the test split of `splits` (ONNX Runtime; the evaluator beside it where the
    PyTorch model `entry` is known)."""
    external = has_external_data(onnx_path)
    model = onnx.load(onnx_path)
    ranges = load_ranges(ranges_path)
    spec = QuantSpec.from_onnx(model, ranges)
    plan = plan_for(precision, spec, plan_path)
    out_name = artifacts.model_onnx(precision)
    start = time.time()
    quantized = write_qdq(model, spec, plan)
    del model  # a 5 GB UNet's graph: two copies at most at any time
    staged = None
    try:
        if external:  # no bytes form beyond 2 GB: written and checked in a staging folder
            staged = staging_folder(out_dir)
            candidate = save_with_external_data(quantized, staged, out_name)
            check_file(candidate, "the quantized model %s" % out_name)
        else:
            onnx.checker.check_model(quantized)
            candidate = quantized.SerializeToString()
        del quantized
        write_seconds = time.time() - start
        report = _evaluate(out_dir, onnx_path, candidate, spec, plan, precision, ranges,
                           ranges_path, splits, entry, checkpoint, eval_samples, progress)
        if external:
            hashes = move_into_place(staged, out_dir, out_name)
            data_name = artifacts.onnx_data(out_name)
            report["external_data"] = {"file": data_name, "sha256": hashes[data_name],
                                       "bytes": os.path.getsize(os.path.join(out_dir,
                                                                             data_name)),
                                       "why": "weights beyond protobuf's 2 GB limit"}
        else:
            hashes = {out_name: sha256_bytes(candidate)}
            remove_stale_data(out_dir, out_name)
            atomic_write_bytes(os.path.join(out_dir, out_name), candidate)
        report.update(sha256=hashes[out_name], write_seconds=round(write_seconds, 3))
    finally:
        if staged is not None:
            shutil.rmtree(staged, ignore_errors=True)
    atomic_write_json(os.path.join(out_dir, artifacts.quality_file(precision)), report)
    merge_quality(out_dir)
    return report


def _evaluate(out_dir, onnx_path, candidate, spec, plan, precision, ranges, ranges_path,
              splits, entry, checkpoint, eval_samples, progress):
    """The quality report of `candidate` (bytes, or the path of a staged file)."""
    def make_evaluator():
        from edgec.quant.evaluator.fakequant import build_evaluator

        model = build_evaluator(entry, spec, checkpoint)
        model.set_plan(plan)
        return model
    indices = splits.indices(TEST, eval_samples)
    region = entry.quality_region if entry is not None else None
    quality = evaluate_onnx(onnx_path, candidate, splits.store, indices,
                            evaluator=make_evaluator if entry is not None else None,
                            progress=progress, region=region.rows() if region else None)
    macs = layer_macs(out_dir)
    return {
        "precision": precision, "file": artifacts.model_onnx(precision),
        "plan": plan.to_dict(), "fp16_layers": plan.layers_at("fp16"),
        "int8_layers": len(plan.layers_at("int8")),
        "int8_mac_share": plan.int8_mac_share(macs) if macs else None,
        "quantization": {"activations": "per-tensor symmetric int8 (%s thresholds)" % spec.method,
                         "weights": "per-output-channel symmetric int8 [-127, 127]",
                         "fp16_layers": "float16 weights and Cast around the layer"},
        "ranges_sha256": sha256_file(ranges_path),
        "calibration_warnings": ranges.get("warnings", []),
        "evaluation": dict(splits.describe(TEST, indices),
                           reference="FP32 ONNX in ONNX Runtime",
                           region=region.name if region else None),
        "quality": quality,
        "fid": "unavailable: FID needs a local Inception weights file, and edgec never "
               "downloads one",
    }


def layer_records(out_dir: str, onnx_model=None) -> List[Dict[str, object]]:
    """Costs and shapes of each quantizable layer: the zoo's from export.json (PyTorch shapes,
    exact); for imported ONNX files, counted on the ONNX graph (needs shape inference)."""
    import json

    path = os.path.join(out_dir, artifacts.EXPORT_JSON)
    if os.path.isfile(path):
        with open(path) as handle:
            layers = json.load(handle)["layers"]
        if layers:
            return layers
    if onnx_model is None:
        return []
    from edgec.exporter.onnx_layers import describe_layers

    return describe_layers(onnx_model)


def layer_macs(out_dir: str, onnx_model=None) -> Dict[str, int]:
    """MACs per quantizable layer (see layer_records)."""
    return {l["name"]: l["macs"] for l in layer_records(out_dir, onnx_model)}
