"""edgec's INT8 beside the quantizers users would otherwise pick, on one trained model.

Every row quantizes the same FP32 ONNX (edgec's export of --model with --checkpoint), calibrates
on the same samples (the calibration split of one sample store) and is measured by the same
evaluator: the candidate and the FP32 model in ONNX Runtime (CPU) on the test split.

Rows:
- edgec FP16; edgec INT8 for each threshold method (--method first, then percentile, max,
  entropy, mse; one calibration pass measures all of them; output when --method output, whose
  calibration also runs the output-error search);
- NVIDIA ModelOpt ONNX PTQ (`modelopt.onnx.quantization.quantize`, quantize_mode int8,
  calibration entropy, its default, and max; calibrated on the CPU execution provider; the
  network ModelOpt leaves unquantized kept in FP32, and once more in FP16, ModelOpt's default
  high_precision_dtype);
- ONNX Runtime quantize_static in the setting its docs give for TensorRT (QDQ, int8 activations
  and weights, per-channel, symmetric, Conv / ConvTranspose), Entropy and Percentile 99.99;
- edgec INT8 with the convs ModelOpt left unquantized in FP16, per edgec method;
- edgec MIX from the sweep at --budget (default: ModelOpt's measured PSNR and SSIM).

"convs INT8" counts the Conv / ConvTranspose nodes whose weight comes through a
DequantizeLinear; "INT8 MACs" is their share of the convolution MACs. Results go to
--work/peer_quantizers.json; a markdown table (or, with --json, the JSON) is printed.

    python benchmarks/peer_quantizers.py            # the shipped demo network and data
    python benchmarks/peer_quantizers.py --reevaluate   # the same files, this environment's ORT

ModelOpt's default graph (the unquantized network in FP16) quantizes float16 tensors, and ONNX
Runtime's CPU execution of such graphs is wrong in two ways, both checked at run time and
reported beside the row: onnxruntime 1.24 (what ModelOpt 0.47 pins) truncates float16 inputs of
QuantizeLinear instead of rounding them, and its graph optimizations (1.24 and 1.32) miscompute
a Conv there; the row carries the same metrics with optimizations off, and --reevaluate
measures every saved file again with another environment's onnxruntime.

ModelOpt is optional: without it its rows (and the rows that depend on them) are skipped with
a message saying how to install it.
"""
import argparse
import contextlib
import math
import os
import re
import shutil
import sys
import time
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

MODELOPT_INSTALL = 'pip install "nvidia-modelopt[onnx]"'
CONV_OPS = ("Conv", "ConvTranspose")
# Nodes a weight may pass through between its initializer and the conv.
WEIGHT_PATH_OPS = ("DequantizeLinear", "QuantizeLinear", "Cast", "Identity")
# ONNX Runtime's name for a weight it quantized itself (AddQDQPairToWeight off).
ORT_WEIGHT_SUFFIX = "_quantized"
EDGEC_METHODS = ("percentile", "max", "entropy", "mse", "output")  # rows, where ranges has them
FALLBACK_BUDGET = "psnr>=45"
RESULTS_JSON = "peer_quantizers.json"
REEVALUATED_JSON = "peer_quantizers.onnxruntime-%s.json"
# Rows whose graph quantizes float16 tensors (ModelOpt's default high_precision_dtype) meet two
# ONNX Runtime CPU faults, both checked at run time: see fp16_quantize_rounds and
# Bench.quality's cross-check with graph optimizations off.
FP16_TRUNCATES = ("%d QuantizeLinear nodes take float16 inputs, which this onnxruntime's CPU "
                  "kernel truncates instead of rounding (1.24 does; 1.32 rounds): understated; "
                  "run --reevaluate with a newer onnxruntime")
OPTIMIZER_DIFFERS = ("ONNX Runtime's CPU graph optimizations change this float16 Q/DQ graph's "
                     "output: with them off the same metrics give %s dB, SSIM %s, max error %s "
                     "(crosscheck_ort_optimizations_off)")
CROSSCHECK_DB = 0.5  # a larger PSNR gap between ORT optimized and not is reported


# ---------------------------------------------------------------- pure parts (tested)

def load_modelopt():
    """(modelopt.onnx.quantization, None), or (None, why the ModelOpt rows are skipped)."""
    try:
        import modelopt.onnx.quantization as moq
    except Exception as exc:  # ImportError, or a broken install failing at import time
        return None, ("ModelOpt rows skipped: nvidia-modelopt cannot be imported here (%s: %s); "
                      "install it with: %s" % (type(exc).__name__, exc, MODELOPT_INSTALL))
    return moq, None


def entropy_crosscheck(ranges) -> Dict[str, object]:
    """edgec's entropy thresholds beside ModelOpt's PyTorch entropy calibrator
    (modelopt.torch.quantization.calib.histogram) on the same 2048-bin |x| histograms of the
    tensors the layers quantize. (ModelOpt's ONNX path calibrates with ONNX Runtime's
    EntropyCalibrater instead: 128 signed bins over the first batch's range, grown by merging,
    so its threshold never falls below the first calibration batch's maximum.)"""
    import numpy as np

    try:
        from modelopt.torch.quantization.calib.histogram import _compute_amax_entropy
    except Exception as exc:
        return {"skipped": "ModelOpt's PyTorch calibrator cannot be imported here (%s: %s)"
                           % (type(exc).__name__, exc)}
    rows = {}
    for name in sorted({layer["input"] for layer in ranges["layers"].values()}):
        stats = ranges["tensors"][name]
        hist = np.asarray(stats["histogram"], dtype=np.float64)
        edges = np.linspace(0.0, stats["absmax"], len(hist) + 1)
        theirs = float(_compute_amax_entropy(hist.copy(), edges, 8, unsigned=False))
        rows[name] = {"edgec": stats["thresholds"]["entropy"], "modelopt_torch": theirs,
                      "absmax": stats["absmax"]}
    worst = max(abs(r["edgec"] - r["modelopt_torch"]) / max(r["absmax"], 1e-12)
                for r in rows.values())
    return {"tensors": rows, "largest_difference_over_absmax": worst}


def conv_weights(model) -> Dict[str, Dict[str, object]]:
    """Conv / ConvTranspose node name -> {"op", "quantized", "weight"}: quantized when its weight
    input comes from a DequantizeLinear (through Cast / Identity / QuantizeLinear nodes too);
    "weight" is the tensor the weight path starts from (an initializer, normally)."""
    producers = {out: node for node in model.graph.node for out in node.output}
    found = {}
    for node in model.graph.node:
        if node.op_type not in CONV_OPS:
            continue
        tensor, quantized, seen = node.input[1], False, set()
        while tensor in producers and tensor not in seen:
            seen.add(tensor)
            producer = producers[tensor]
            if producer.op_type not in WEIGHT_PATH_OPS:
                break
            quantized = quantized or producer.op_type == "DequantizeLinear"
            tensor = producer.input[0]
        found[node.name] = {"op": node.op_type, "quantized": quantized, "weight": tensor}
    return found


def quantized_convs(model) -> Dict[str, bool]:
    """Conv / ConvTranspose node name -> whether its weight is INT8 (comes via DequantizeLinear)."""
    return {name: bool(info["quantized"]) for name, info in conv_weights(model).items()}


def _plus(*seconds) -> Optional[float]:
    """A sum of timings, None when one was not measured (a reused stage)."""
    return None if any(s is None for s in seconds) else float(sum(seconds))


def _rounded(seconds: Optional[float], digits: int = 2) -> Optional[float]:
    return None if seconds is None else round(seconds, digits)


def _round_or_none(value, digits: int):
    return None if value is None else round(float(value), digits)


def _weight_root(name: str) -> str:
    return name[:-len(ORT_WEIGHT_SUFFIX)] if name.endswith(ORT_WEIGHT_SUFFIX) else name


def map_layers(reference, candidate, layer_names: List[str]) -> Dict[str, str]:
    """edgec layer (a conv node of the FP32 export) -> the same conv in `candidate`: by node name
    when the candidate has a conv of that name and op type, else by the weight initializer the
    conv reads (a unique match). A layer found neither way is an error."""
    ref = conv_weights(reference)
    cand = conv_weights(candidate)
    by_weight = {}  # type: Dict[str, List[str]]
    for name, info in cand.items():
        by_weight.setdefault(_weight_root(str(info["weight"])), []).append(name)
    mapping, missing = {}, []
    for layer in layer_names:
        if layer not in ref:
            missing.append(layer)
        elif layer in cand and cand[layer]["op"] == ref[layer]["op"]:
            mapping[layer] = layer
        else:
            matches = [n for n in by_weight.get(str(ref[layer]["weight"]), [])
                       if cand[n]["op"] == ref[layer]["op"]]
            if len(matches) == 1:
                mapping[layer] = matches[0]
            else:
                missing.append(layer)
    taken = list(mapping.values())
    twice = sorted({n for n in taken if taken.count(n) > 1})
    if missing or twice:
        raise ValueError("cannot match edgec layers to the quantized graph's convs: %s%s"
                         % ("not found %s" % missing if missing else "",
                            "; matched twice %s" % twice if twice else ""))
    return mapping


def plan_keeping(layer_names: List[str], int8: Dict[str, bool]) -> Dict[str, str]:
    """Precisions for edgec: INT8 where the peer quantized the conv, FP16 where it did not."""
    return {layer: "int8" if int8[layer] else "fp16" for layer in layer_names}


def conv_summary(int8: Dict[str, bool], macs: Dict[str, int]) -> Tuple[str, Optional[float]]:
    """("k/N" convs in INT8, INT8 share of the conv MACs or None without MAC counts)."""
    count = sum(1 for v in int8.values() if v)
    total = sum(macs.get(layer, 0) for layer in int8)
    share = (sum(macs.get(layer, 0) for layer, v in int8.items() if v) / float(total)
             if total else None)
    return "%d/%d" % (count, len(int8)), share


def budget_meeting(row: Optional[Dict[str, object]]) -> str:
    """A sweep budget at least as strict as a row's measured PSNR and SSIM (rounded up, so
    meeting it means meeting the row); the fallback when there is no row or no finite PSNR."""
    if not row or row.get("psnr_db") is None or row.get("ssim") is None \
            or not math.isfinite(float(row["psnr_db"])):
        return FALLBACK_BUDGET
    psnr = math.ceil(float(row["psnr_db"]) * 100) / 100.0
    ssim = min(1.0, math.ceil(float(row["ssim"]) * 1e5) / 1e5)
    return "psnr>=%.2f,ssim>=%.5f" % (psnr, ssim)


def fp16_quantize_inputs(model) -> int:
    """How many QuantizeLinear nodes of `model` quantize a float16 tensor (ModelOpt's default
    high_precision_dtype fp16 writes them; edgec and ONNX Runtime's quantizer do not)."""
    from onnx import TensorProto

    half = {v.name for v in list(model.graph.value_info) + list(model.graph.input)
            if v.type.tensor_type.elem_type == TensorProto.FLOAT16}
    half |= {t.name for t in model.graph.initializer if t.data_type == TensorProto.FLOAT16}
    for node in model.graph.node:
        if node.op_type == "Cast" and any(a.name == "to" and a.i == TensorProto.FLOAT16
                                          for a in node.attribute):
            half.update(node.output)
    return sum(1 for n in model.graph.node if n.op_type == "QuantizeLinear" and n.input[0] in half)


def fp16_quantize_rounds(session_factory=None) -> bool:
    """Whether this ONNX Runtime's CPU QuantizeLinear rounds float16 inputs to nearest, as the
    ONNX spec says. onnxruntime 1.24 truncates them toward zero (1.32 rounds), which puts
    every float16 Q/DQ graph one level off on about half its values."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    values = np.array([1.0957031, -3.671875, 2.5058594, 0.7], dtype=np.float16)
    scale = np.array(0.0315, dtype=np.float16)
    graph = helper.make_graph(
        [helper.make_node("QuantizeLinear", ["x", "scale", "zero"], ["y"])], "probe",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT16, [len(values)])],
        [helper.make_tensor_value_info("y", TensorProto.INT8, [len(values)])],
        initializer=[numpy_helper.from_array(scale, "scale"),
                     numpy_helper.from_array(np.array(0, dtype=np.int8), "zero")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    model.ir_version = 9
    if session_factory is None:
        import onnxruntime

        def session_factory(data):
            return onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    got = session_factory(model.SerializeToString()).run(None, {"x": values})[0]
    expected = np.clip(np.rint(values.astype(np.float64) / np.float64(scale)), -128, 127)
    return bool(np.array_equal(got.astype(np.float64), expected))


def slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


def markdown_table(rows: List[Dict[str, object]]) -> str:
    head = ["row", "PSNR dB", "SSIM", "max abs err", "convs INT8", "INT8 MACs", "seconds"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]

    def fmt(value, pattern):
        return "-" if value is None else pattern % value

    for row in rows:
        share = row.get("int8_mac_share")
        lines.append("| " + " | ".join([
            str(row["row"]) + (" *" if row.get("caveat") else ""),
            fmt(row.get("psnr_db"), "%.2f"), fmt(row.get("ssim"), "%.5f"),
            fmt(row.get("max_abs_error"), "%.4f"), str(row.get("convs_int8", "-")),
            "-" if share is None else "%.1f%%" % (100 * share),
            fmt(row.get("seconds"), "%.1f")]) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------- the run

class Bench(object):
    """What every row shares: the FP32 model, its layers and MACs, the samples, the evaluator."""

    def __init__(self, onnx_path, out_dir, store, calib_idx, test_idx, save_dir,
                 fp16_rounds=True):
        import onnx

        from edgec.quant.quantize import layer_macs

        self.onnx_path = onnx_path
        self.model = onnx.load(onnx_path)
        self.store = store
        self.calib_idx = calib_idx
        self.test_idx = test_idx
        self.macs = layer_macs(out_dir, self.model)
        self.layer_names = None  # type: Optional[List[str]]
        self.rows = []  # type: List[Dict[str, object]]
        self.fp16_rounds = fp16_rounds  # False: this ORT truncates float16 QuantizeLinear
        self.save_dir = save_dir  # every candidate is kept there, for --reevaluate

    def quality(self, candidate, graph) -> Dict[str, object]:
        """The one evaluator: candidate vs FP32 in ONNX Runtime (CPU) on the test split."""
        from edgec.quant.quantize import evaluate_onnx

        quality = evaluate_onnx(self.onnx_path, candidate, self.store, self.test_idx,
                                progress=False)["onnxruntime"]
        found = {"psnr_db": quality["psnr_db"], "ssim": quality["ssim"],
                 "max_abs_error": _round_or_none(quality["max_abs_error"], 6)}
        half_q = fp16_quantize_inputs(graph)
        caveats = []
        if half_q and not self.fp16_rounds:
            caveats.append(FP16_TRUNCATES % half_q)
        if half_q:
            plain = self.quality_unoptimized(candidate)
            found["crosscheck_ort_optimizations_off"] = plain
            if plain["psnr_db"] is None or quality["psnr_db"] is None \
                    or abs(plain["psnr_db"] - quality["psnr_db"]) > CROSSCHECK_DB:
                caveats.append(OPTIMIZER_DIFFERS % (plain["psnr_db"], plain["ssim"],
                                                    plain["max_abs_error"]))
        if caveats:
            found["caveat"] = "; ".join(caveats)
        return found

    def quality_unoptimized(self, candidate, batch_size: int = 32) -> Dict[str, object]:
        """The evaluator's metrics with ONNX Runtime's graph optimizations off for the candidate
        (the FP32 reference as the evaluator runs it): a cross-check, only for graphs that
        quantize float16 tensors, whose optimized CPU execution is wrong in onnxruntime 1.24
        and 1.32 (a 1x1-output Conv after DequantizeLinear returns values near -5e4)."""
        import torch

        from edgec.quant.quality.metrics import QualitySums, output_peak
        from edgec.runtime.ort_backend import OnnxRuntimeRunner

        with OnnxRuntimeRunner(self.onnx_path) as ref:
            name = ref.outputs()[0].name
            references = [torch.from_numpy(ref.infer(b)[name])
                          for b in self.store.batches(self.test_idx, batch_size)]
        peak = output_peak(references)
        sums = QualitySums()
        with OnnxRuntimeRunner(candidate, optimize=False) as cand:
            for batch, expected in zip(self.store.batches(self.test_idx, batch_size),
                                       references):
                sums.update(expected, torch.from_numpy(cand.infer(batch)[name]), peak)
        result = sums.result(peak)
        return {"psnr_db": result["psnr_db"], "ssim": result["ssim"],
                "max_abs_error": _round_or_none(result["max_abs_error"], 6)}

    def measure(self, label, candidate, seconds, **extra) -> Dict[str, object]:
        """One row: `candidate` (a path or serialized bytes) against FP32 on the test split."""
        import onnx

        from edgec.fileio import atomic_write_bytes

        if isinstance(candidate, bytes):
            path = os.path.join(self.save_dir, slug(label) + ".onnx")
            atomic_write_bytes(path, candidate)
            candidate = path
        graph = onnx.load(candidate)
        mapping = map_layers(self.model, graph, self.layer_names)
        quantized = quantized_convs(graph)
        int8 = {layer: quantized[mapping[layer]] for layer in self.layer_names}
        convs, share = conv_summary(int8, self.macs)
        row = {"row": label}  # type: Dict[str, object]
        row.update(self.quality(candidate, graph))
        row.update({"convs_int8": convs,
                    "int8_mac_share": None if share is None else round(share, 4),
                    "seconds": _rounded(seconds),
                    "quantize_linear_nodes": sum(n.op_type == "QuantizeLinear"
                                                 for n in graph.graph.node),
                    "fp16_or_fp32_convs": sorted(l for l, v in int8.items() if not v),
                    "layers_matched": {"by_node_name": sum(1 for l, n in mapping.items() if l == n),
                                       "by_weight": sum(1 for l, n in mapping.items() if l != n)},
                    "file": os.path.abspath(candidate)})
        row.update(extra)
        self.rows.append(row)
        print("  %-58s %s dB" % (label, "-" if row["psnr_db"] is None
                                 else "%.2f" % row["psnr_db"]), file=sys.stderr, flush=True)
        return row

    def calibration_data(self) -> Dict[str, object]:
        """The calibration split as ModelOpt takes it: input name -> stacked float32 array."""
        return {name: values.astype("float32")
                for name, values in self.store.get(self.calib_idx).items()}


def edgec_rows(bench, ranges, methods, calib_seconds):
    """FP16 and INT8 per method; returns {method: QuantSpec}."""
    from edgec.quant.qdq.writer import write_qdq
    from edgec.quant.qdq.spec import PrecisionPlan, QuantSpec

    specs = {}
    for method in methods:
        start = time.perf_counter()
        spec = QuantSpec.from_onnx(bench.model, ranges, method)
        specs[method] = (spec, time.perf_counter() - start)
    first = specs[methods[0]][0]
    bench.layer_names = first.layer_names
    start = time.perf_counter()
    fp16 = write_qdq(bench.model, first, PrecisionPlan.uniform(first.layer_names, "fp16"))
    bench.measure("edgec FP16", fp16.SerializeToString(), time.perf_counter() - start)
    for method in methods:
        spec, spec_seconds = specs[method]
        start = time.perf_counter()
        int8 = write_qdq(bench.model, spec, PrecisionPlan.uniform(spec.layer_names, "int8"))
        write = time.perf_counter() - start + spec_seconds
        bench.measure("edgec INT8 %s" % method, int8.SerializeToString(),
                      _plus(calib_seconds, write),
                      seconds_detail={"calibrate (one pass, all methods)": _rounded(calib_seconds),
                                      "write_qdq": round(write, 3)})
    return {m: s for m, (s, _) in specs.items()}


def ort_rows(bench, scratch, percentile):
    """ONNX Runtime quantize_static, TensorRT setting, Entropy and Percentile."""
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self):
            # One sample per run: ORT's histogram collectors need equal shapes across runs.
            self.batches = iter(bench.store.batches(bench.calib_idx, 1))

        def get_next(self):
            return next(self.batches, None)

    for label, method, extra in (
            ("entropy", CalibrationMethod.Entropy, {}),
            ("percentile %g" % percentile, CalibrationMethod.Percentile,
             {"CalibPercentile": percentile})):
        path = os.path.join(scratch, "ort_%s.onnx" % method.name.lower())
        start = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr):  # its progress prints
            quantize_static(bench.onnx_path, path, Reader(), quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                            per_channel=True, op_types_to_quantize=list(CONV_OPS),
                            calibrate_method=method,
                            extra_options=dict(extra, ActivationSymmetric=True,
                                               WeightSymmetric=True))
        bench.measure("ORT quantize_static %s" % label, path, time.perf_counter() - start)


def modelopt_rows(bench, moq, scratch, methods, precisions):
    """ModelOpt INT8 per calibration method (and high-precision dtype). Returns the rows."""
    source = os.path.join(scratch, "model.onnx")  # ModelOpt writes its intermediates beside it
    shutil.copyfile(bench.onnx_path, source)
    data = bench.calibration_data()
    made = []
    for method in methods:
        for high in precisions:
            out = os.path.join(scratch, "modelopt_%s_%s.onnx" % (method, high))
            start = time.perf_counter()
            with contextlib.redirect_stdout(sys.stderr):  # ORT's calibration progress prints
                moq.quantize(source, quantize_mode="int8", calibration_data=data,
                             calibration_method=method, calibration_eps=["cpu"],
                             high_precision_dtype=high, output_path=out, log_level="WARNING")
            seconds = time.perf_counter() - start
            rest = "rest FP32" if high == "fp32" else "rest %s (ModelOpt's default)" % high.upper()
            made.append(bench.measure("ModelOpt INT8 %s, %s" % (method, rest), out, seconds,
                                      modelopt={"calibration_method": method,
                                                "high_precision_dtype": high}))
    return made


def peer_layer_rows(bench, specs, modelopt_row, calib_seconds):
    """edgec INT8 with the convs ModelOpt left unquantized in FP16."""
    from edgec.quant.qdq.writer import write_qdq
    from edgec.quant.qdq.spec import PrecisionPlan

    left = set(modelopt_row["fp16_or_fp32_convs"])
    precisions = plan_keeping(bench.layer_names, {l: l not in left for l in bench.layer_names})
    for method, spec in specs.items():
        start = time.perf_counter()
        plan = PrecisionPlan(precisions, {"kind": "mix", "made_by": "peer_quantizers.py: the "
                                          "convs %s left unquantized, in FP16"
                                          % modelopt_row["row"]})
        data = write_qdq(bench.model, spec, plan).SerializeToString()
        write = time.perf_counter() - start
        bench.measure("edgec INT8 %s, ModelOpt's unquantized convs FP16" % method, data,
                      _plus(calib_seconds, write),
                      seconds_detail={"calibrate (one pass, all methods)": _rounded(calib_seconds),
                                      "write_qdq": round(write, 3)})


def mix_row(bench, runner_dir, source, ranges_path, store_path, calib, budget, eval_samples,
            reuse, calib_seconds):
    from edgec.pipeline.cache import StageRunner
    from edgec.pipeline.stages import CalibratedModel, check_sweep, stage_quantize, stage_sweep
    from edgec.settings import SweepSettings

    runner = StageRunner(runner_dir, force=not reuse)
    model = CalibratedModel(bench.onnx_path, store_path, {}, ranges_path, calib.holdout)
    sweep = SweepSettings(budget, eval_samples)
    check_sweep(sweep)
    plan_path = stage_sweep(runner, source, model, sweep, progress=False)
    report = stage_quantize(runner, source, model, "mix", plan_path, eval_samples,
                            progress=False)
    stages = {entry["stage"]: entry for entry in runner.log}
    reused = stages["sweep"].get("reused", False)
    sweep_seconds = None if reused else stages["sweep"]["seconds"]
    # The sweep (and calibration) make the plan; the quantize stage's time is mostly its own
    # quality check, so it is listed but not counted.
    detail = {"calibrate (one pass, all methods)": _rounded(calib_seconds),
              "sweep": sweep_seconds,
              "quantize stage (write + its own evaluation)": stages["quantize-mix"]["seconds"]}
    bench.measure("edgec MIX %s (%s)" % (budget, calib.method),
                  os.path.join(runner_dir, str(report["file"])),
                  _plus(calib_seconds, sweep_seconds),
                  budget=budget, plan=plan_path, sweep_reused=reused, seconds_detail=detail)


def main(argv=None):
    from edgec.settings import CALIBRATION_METHODS, DEFAULT_HOLDOUT, DEFAULT_PERCENTILE

    demo = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "edgec",
                        "data", "demo")
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="lite-wav2lip")
    parser.add_argument("--checkpoint", default=os.path.join(demo, "lite-wav2lip-demo.pth"),
                        help="default: the shipped demo network")
    parser.add_argument("--data", default=demo, help="default: the shipped demo data")
    parser.add_argument("-n", type=int, default=10000,
                        help="samples to draw (the demo data holds fewer: all of them)")
    parser.add_argument("--holdout", type=float, default=DEFAULT_HOLDOUT)
    parser.add_argument("--eval-samples", type=int, default=512,
                        help="at most this many test-split samples per evaluation")
    parser.add_argument("--method", default="percentile", choices=CALIBRATION_METHODS,
                        help="edgec's threshold method for the first INT8 row and the MIX plan")
    parser.add_argument("--budget", default=None,
                        help="the MIX sweep's budget; default: ModelOpt's measured PSNR and SSIM "
                             "(%s without ModelOpt)" % FALLBACK_BUDGET)
    parser.add_argument("--work", default="/tmp/edgec-peer-quantizers")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse a cached calibration and sweep (their seconds are then not "
                             "measured)")
    parser.add_argument("--json", action="store_true", help="print the JSON, not the table")
    parser.add_argument("--reevaluate", action="store_true",
                        help="quantize nothing: evaluate the files of --work's %s again with "
                             "this environment's onnxruntime (for example one whose float16 "
                             "QuantizeLinear rounds), into %s" % (RESULTS_JSON, REEVALUATED_JSON))
    args = parser.parse_args(argv)
    if args.reevaluate:
        return reevaluate(args.work, args.json)

    import onnxruntime

    from edgec import __version__ as edgec_version
    from edgec.calib.store import SampleStore
    from edgec.fileio import atomic_write_json, sha256_file
    from edgec.pipeline.cache import StageRunner
    from edgec.pipeline.stages import stage_calibrate, stage_export, stage_samples
    from edgec.quant.calibration.calibrate import load_ranges
    from edgec.quant.quality.splits import SPLITS, split_indices
    from edgec.models import model_source
    from edgec.settings import CalibrationSettings, SampleSettings

    moq, modelopt_missing = load_modelopt()
    if modelopt_missing:
        print(modelopt_missing, file=sys.stderr)

    source = model_source(args.model, checkpoint=args.checkpoint)
    out_dir = os.path.join(args.work, args.model)
    runner = StageRunner(out_dir)
    onnx_path = stage_export(runner, source)
    store_path, _ = stage_samples(runner, source, onnx_path,
                                  SampleSettings(args.data, args.n, 0), progress=False)
    calib = CalibrationSettings(args.method, DEFAULT_PERCENTILE, args.holdout)
    calib_runner = StageRunner(out_dir, force=not args.reuse)  # time a real calibration
    start = time.perf_counter()
    ranges_path = stage_calibrate(calib_runner, onnx_path, store_path, calib, progress=False,
                                  source=source)
    calib_seconds = None if calib_runner.log[-1].get("reused") else time.perf_counter() - start
    store = SampleStore(store_path)
    split_sizes = {s: int(len(split_indices(store, args.holdout, s))) for s in SPLITS}
    calib_idx = split_indices(store, args.holdout, "calibration")
    test_idx = split_indices(store, args.holdout, "test", args.eval_samples)
    fp16_rounds = fp16_quantize_rounds()
    scratch = os.path.join(args.work, "peers")
    if os.path.isdir(scratch):
        shutil.rmtree(scratch)
    os.makedirs(scratch)
    bench = Bench(onnx_path, out_dir, store, calib_idx, test_idx, scratch, fp16_rounds)

    versions = {"edgec": edgec_version, "onnxruntime": onnxruntime.__version__,
                "modelopt": None}
    if moq is not None:
        import modelopt

        versions["modelopt"] = modelopt.__version__
    settings = {
        "model": args.model, "checkpoint": os.path.abspath(args.checkpoint),
        "checkpoint_sha256": sha256_file(args.checkpoint), "data": os.path.abspath(args.data),
        "fp32_onnx": os.path.abspath(onnx_path), "sample_store": os.path.abspath(store_path),
        "samples": {"store": store.count, "splits": split_sizes,
                    "calibration_used": int(len(calib_idx)), "test_used": int(len(test_idx)),
                    "holdout": args.holdout},
        "edgec_method": args.method, "percentile": DEFAULT_PERCENTILE,
        "evaluator": "edgec.quant.quantize.evaluate_onnx: candidate vs FP32 in ONNX Runtime "
                     "(CPU) on the test split",
        "onnxruntime_fp16_quantize_rounds": fp16_rounds,
        "versions": versions,
    }
    ranges = load_ranges(ranges_path)
    measured = set.intersection(*[set(t["thresholds"]) for t in ranges["tensors"].values()])
    methods = [args.method] + [m for m in EDGEC_METHODS if m != args.method and m in measured]
    print("edgec rows", file=sys.stderr, flush=True)
    specs = edgec_rows(bench, ranges, methods, calib_seconds)
    # ONNX Runtime before ModelOpt: ModelOpt patches onnxruntime.quantization in-process.
    print("ONNX Runtime quantize_static rows", file=sys.stderr, flush=True)
    ort_rows(bench, scratch, DEFAULT_PERCENTILE)
    skipped = []
    modelopt_primary = None
    if moq is not None:
        print("ModelOpt rows", file=sys.stderr, flush=True)
        made = modelopt_rows(bench, moq, scratch, ["entropy", "max"], ["fp32"])
        made += modelopt_rows(bench, moq, scratch, ["entropy"], ["fp16"])
        modelopt_primary = made[0]
        settings["modelopt"] = {
            "call": "modelopt.onnx.quantization.quantize(onnx, quantize_mode='int8', "
                    "calibration_data={input: calibration split}, calibration_method=M, "
                    "calibration_eps=['cpu'], high_precision_dtype=H)",
            "unquantized_convs": {row["row"]: row["fp16_or_fp32_convs"] for row in made}}
        peer_layer_rows(bench, specs, modelopt_primary, calib_seconds)
    else:
        skipped.append(modelopt_missing)
    budget = args.budget or budget_meeting(modelopt_primary)
    print("edgec MIX (sweep at %s)" % budget, file=sys.stderr, flush=True)
    mix_row(bench, out_dir, source, ranges_path, store_path, calib, budget, args.eval_samples,
            args.reuse, calib_seconds)

    check = entropy_crosscheck(ranges)
    settings["entropy_vs_modelopt_torch"] = (
        check.get("skipped") or "edgec's entropy thresholds vs ModelOpt's PyTorch entropy "
        "calibrator on the same histograms, %d tensors: largest difference %.2g of the tensor's "
        "maximum" % (len(check["tensors"]), check["largest_difference_over_absmax"]))
    report = {"settings": settings, "rows": bench.rows, "skipped": skipped,
              "entropy_crosscheck": check}
    atomic_write_json(os.path.join(args.work, RESULTS_JSON), report)
    show(report, args.json)
    return report


def show(report, as_json: bool) -> None:
    if as_json:
        import json

        print(json.dumps(report, indent=2))
        return
    print(settings_text(report["settings"], report["skipped"]))
    print()
    print(markdown_table(report["rows"]))
    notes = ["%s: %s" % (row["row"], row["caveat"]) for row in report["rows"]
             if row.get("caveat")]
    if notes:
        print()
        print("\n".join("* " + note for note in notes))


def reevaluate(work: str, as_json: bool) -> Dict[str, object]:
    """The saved files of a run evaluated again, by the same evaluator on the same test
    samples, with this environment's onnxruntime; the rest of each row is kept as measured."""
    import json

    import onnx
    import onnxruntime

    from edgec.calib.store import SampleStore
    from edgec.fileio import atomic_write_json
    from edgec.quant.quality.splits import split_indices

    with open(os.path.join(work, RESULTS_JSON)) as handle:
        report = json.load(handle)
    settings = report["settings"]
    store = SampleStore(settings["sample_store"])
    samples = settings["samples"]
    test_idx = split_indices(store, samples["holdout"], "test", samples["test_used"])
    made_with = settings["versions"]["onnxruntime"]
    fp16_rounds = fp16_quantize_rounds()
    bench = Bench(settings["fp32_onnx"], os.path.dirname(settings["fp32_onnx"]), store, [],
                  test_idx, None, fp16_rounds)
    for row in report["rows"]:
        row.pop("caveat", None)
        row.pop("crosscheck_ort_optimizations_off", None)
        first = {k: row[k] for k in ("psnr_db", "ssim", "max_abs_error")}
        row.update(bench.quality(row["file"], onnx.load(row["file"])))
        row["first_measured"] = dict(first, onnxruntime=made_with)
        print("  %-58s %s dB" % (row["row"], "-" if row["psnr_db"] is None
                                 else "%.2f" % row["psnr_db"]), file=sys.stderr, flush=True)
    settings["versions"] = dict(settings["versions"], onnxruntime=onnxruntime.__version__)
    settings["onnxruntime_fp16_quantize_rounds"] = fp16_rounds
    settings["reevaluated"] = ("quality columns from onnxruntime %s; the files were made (and "
                               "first measured) with onnxruntime %s"
                               % (onnxruntime.__version__, made_with))
    atomic_write_json(os.path.join(work, REEVALUATED_JSON % onnxruntime.__version__), report)
    show(report, as_json)
    return report


def settings_text(settings, skipped) -> str:
    samples = settings["samples"]
    lines = [
        "model %s, checkpoint %s (sha256 %s)" % (settings["model"], settings["checkpoint"],
                                                 settings["checkpoint_sha256"]),
        "data %s: %d samples; splits (holdout %g) %s; calibration on %d, evaluation on %d test "
        "samples" % (settings["data"], samples["store"], samples["holdout"],
                     ", ".join("%s %d" % kv for kv in samples["splits"].items()),
                     samples["calibration_used"], samples["test_used"]),
        "evaluator: %s" % settings["evaluator"],
    ] + ([settings["reevaluated"]] if settings.get("reevaluated") else []) + [
        "versions: " + ", ".join("%s %s" % (k, v or "not installed")
                                 for k, v in settings["versions"].items()),
        "this onnxruntime's CPU QuantizeLinear rounds float16 inputs: %s"
        % ("yes" if settings.get("onnxruntime_fp16_quantize_rounds") else "NO (truncates)"),
        "seconds: the quantizer's own time from the FP32 ONNX and the calibration samples "
        "(edgec: its calibration pass + writing; MIX: calibration + sweep; ModelOpt / ORT: the "
        "quantize call, calibration included)",
    ]
    if settings.get("entropy_vs_modelopt_torch"):
        lines.append(settings["entropy_vs_modelopt_torch"])
    if "modelopt" in settings:
        lines.append("ModelOpt: %s" % settings["modelopt"]["call"])
        for row, convs in settings["modelopt"]["unquantized_convs"].items():
            lines.append("  %s left unquantized: %s" % (row, ", ".join(convs) or "none"))
    lines += skipped
    return "\n".join("- " + line for line in lines)


if __name__ == "__main__":
    main()
