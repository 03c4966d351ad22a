import json

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from edgec.quant.qdq.spec import PrecisionPlan


def _mix_plan(path, layer_names, fp16):
    PrecisionPlan({n: ("fp16" if n in fp16 else "int8") for n in layer_names},
                  {"kind": "hand-written for a test"}).save(str(path))
    return path


@pytest.mark.parametrize("name,n,fp16", [
    ("lite-wav2lip", 60, {"out.0", "out.1", "dec6.0"}),
    pytest.param("wav2lip", 40, {"out.0", "out.1", "dec6.0", "dec6.1", "dec6.2", "enc0.0"},
                 marks=pytest.mark.slow),
])
def test_fp16_int8_mix_quality_order(run_cli, lrs2_tree, tmp_path, name, n, fp16):
    out = tmp_path / "out"
    common = ["--model", name, "--data", lrs2_tree, "-n", n, "--eval-samples", 12, "-o", out]
    reports = {}
    for precision in ("fp16", "int8"):
        result = run_cli("quantize", "--precision", precision, "--json", *common)
        assert result.exit_code == 0, result.output
        reports[precision] = json.loads(result.output)
    layers = [l["name"] for l in json.loads((out / "export.json").read_text())["layers"]]
    plan = _mix_plan(tmp_path / "plan.json", layers, fp16)
    result = run_cli("quantize", "--precision", "mix", "--plan", plan, "--json", *common)
    assert result.exit_code == 0, result.output
    reports["mix"] = json.loads(result.output)
    assert all(stage["reused"] for stage in reports["mix"]["stages"][:3])

    for precision, report in reports.items():
        model = onnx.load(str(out / ("model.%s.onnx" % precision)))
        onnx.checker.check_model(model, full_check=True)
        quality = report["quality"]
        # The fast evaluator and ONNX Runtime agree on the same plan.
        assert quality["evaluator_vs_onnxruntime"]["psnr_db"] >= 40, precision
    psnr = {p: r["quality"]["onnxruntime"]["psnr_db"] for p, r in reports.items()}
    assert psnr["int8"] <= psnr["mix"] <= psnr["fp16"], psnr
    merged = json.loads((out / "quality.json").read_text())
    assert set(merged) == {"fp16", "int8", "mix"}
    assert sorted(merged["mix"]["fp16_layers"]) == sorted(fp16)
    assert 0 < merged["mix"]["int8_mac_share"] < 1


@pytest.mark.slow
def test_qdq_structure_follows_tensorrt_rules(run_cli, lrs2_tree, tmp_path):
    out = tmp_path / "out"
    args = ["--model", "wav2lip", "--data", lrs2_tree, "-n", 20, "--eval-samples", 4, "-o", out]
    assert run_cli("quantize", "--precision", "int8", *args).exit_code == 0
    model = onnx.load(str(out / "model.int8.onnx"))
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    producers = {o: n for n in model.graph.node for o in n.output}
    convs = [n for n in model.graph.node if n.op_type in ("Conv", "ConvTranspose")]
    assert len(convs) == 51
    for conv in convs:
        act = producers[conv.input[0]]
        weight = producers[conv.input[1]]
        assert act.op_type == "DequantizeLinear" and weight.op_type == "DequantizeLinear"
        assert inits[act.input[2]].dtype == np.int8 and inits[act.input[2]] == 0
        assert inits[weight.input[0]].dtype == np.int8
        assert np.abs(inits[weight.input[0]].astype(int)).max() <= 127
        axis = [a.i for a in weight.attribute if a.name == "axis"][0]
        assert axis == (1 if conv.op_type == "ConvTranspose" else 0)
        assert inits[weight.input[1]].shape == (inits[weight.input[0]].shape[axis],)
    adds = [n for n in model.graph.node if n.op_type == "Add"]
    assert len(adds) == 28  # every residual
    for add in adds:
        assert any(producers[i].op_type == "DequantizeLinear" for i in add.input)


def test_fp16_layers_get_casts_and_half_weights(run_cli, lrs2_tree, tmp_path):
    out = tmp_path / "out"
    args = ["--model", "lite-wav2lip", "--data", lrs2_tree, "-n", 20, "--eval-samples", 4,
            "-o", out]
    assert run_cli("quantize", "--precision", "fp16", *args).exit_code == 0
    model = onnx.load(str(out / "model.fp16.onnx"))
    inits = {t.name: t for t in model.graph.initializer}
    producers = {o: n for n in model.graph.node for o in n.output}
    for conv in [n for n in model.graph.node if n.op_type in ("Conv", "ConvTranspose")]:
        assert producers[conv.input[0]].op_type == "Cast"
        assert inits[conv.input[1]].data_type == onnx.TensorProto.FLOAT16
    assert not [n for n in model.graph.node if n.op_type == "QuantizeLinear"]


def test_mix_needs_a_matching_plan(run_cli, lrs2_tree, tmp_path):
    out = tmp_path / "out"
    args = ["--model", "lite-wav2lip", "--data", lrs2_tree, "-n", 20, "--eval-samples", 4,
            "-o", out]
    result = run_cli("quantize", "--precision", "mix", *args)
    assert result.exit_code == 2 and "--plan" in result.output
    bad = tmp_path / "bad-plan.json"
    PrecisionPlan({"no.such.layer": "fp16"}).save(str(bad))
    result = run_cli("quantize", "--precision", "mix", "--plan", bad, *args)
    assert result.exit_code == 2
    assert str(bad) in result.output and "no.such.layer" in result.output
    assert not (out / "model.mix.onnx").exists()


def test_evaluator_matches_onnxruntime_layer_by_layer(run_cli, lrs2_tree, tmp_path):
    """Each single-INT8-layer plan, in the evaluator and in ONNX Runtime: same numbers."""
    import torch

    from edgec.calib.store import SampleStore
    from edgec.models import get_model
    from edgec.quant.calibration.calibrate import load_ranges
    from edgec.quant.evaluator.fakequant import build_evaluator
    from edgec.quant.qdq.spec import QuantSpec
    from edgec.quant.qdq.writer import write_qdq
    from edgec.runtime.ort_backend import OnnxRuntimeRunner

    out = tmp_path / "out"
    assert run_cli("calibrate", "--model", "lite-wav2lip", "--data", lrs2_tree, "-n", 20,
                   "-o", out).exit_code == 0
    model = onnx.load(str(out / "model.onnx"))
    spec = QuantSpec.from_onnx(model, load_ranges(str(out / "ranges.json")))
    evaluator = build_evaluator(get_model("lite-wav2lip"), spec)
    batch = SampleStore(str(out / "samples")).get(slice(0, 8))
    for layer in ("enc0.0", "audio.2", "dec3.0", "out.1"):
        plan = PrecisionPlan({n: ("int8" if n == layer else "fp32") for n in spec.layer_names})
        with OnnxRuntimeRunner(write_qdq(model, spec, plan).SerializeToString()) as runner:
            expected = runner.infer(batch)["output"]
        evaluator.set_plan(plan)
        with torch.no_grad():
            got = evaluator(torch.from_numpy(batch["mel"]), torch.from_numpy(batch["face"]))
        assert np.abs(got.numpy() - expected).max() < 1e-3, layer
