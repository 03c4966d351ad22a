"""The `output` threshold method against a plain implementation of its definition: a fresh
evaluator built for every candidate, full forward passes, squared errors summed in numpy."""
import json

import numpy as np
import onnx
import pytest
import torch


def _arrays(folder, count=24):
    folder.mkdir()
    rng = np.random.default_rng(3)
    np.savez(folder / "part0.npz", image=rng.random((count, 3, 32, 32), dtype=np.float32))
    return folder


@pytest.fixture(scope="module")
def output_calibrated(tmp_path_factory):
    from click.testing import CliRunner

    from edgec.cli import main

    root = tmp_path_factory.mktemp("output-method")
    data = _arrays(root / "arrays")
    out = root / "out"
    result = CliRunner().invoke(main, [
        "calibrate", "--model", "tests.tiny_models:tiny_convnet", "--input", "image:1x3x32x32",
        "--data", str(data), "-n", "24", "--method", "output", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    return out


def _plain_search(out):
    """The method's definition, written out: graph order, every layer INT8, candidates the four
    statistics thresholds and absmax * 2^(-k/4) (k = 0..12), the least summed squared output
    error over the search samples, ties to the larger threshold."""
    from edgec.calib.store import SampleStore
    from edgec.models import model_source
    from edgec.quant.evaluator.fakequant import build_evaluator
    from edgec.quant.qdq.spec import PrecisionPlan, QuantSpec
    from edgec.quant.quality.splits import CALIBRATION, split_indices

    ranges = json.loads((out / "ranges.json").read_text())
    model = onnx.load(str(out / "model.onnx"))
    entry = model_source("tests.tiny_models:tiny_convnet", inputs=("image:1x3x32x32",)).entry
    store = SampleStore(str(out / "samples"))
    calib = split_indices(store, ranges["samples"]["holdout_fraction"], CALIBRATION)
    picked = np.unique(calib[np.linspace(0, len(calib) - 1, min(64, len(calib)))
                             .round().astype(int)])
    images = torch.from_numpy(store.get(picked)["image"].astype(np.float32))
    order = []
    for node in model.graph.node:
        if node.op_type in ("Conv", "ConvTranspose") and node.input[0] not in order:
            order.append(node.input[0])
    current = {name: t["thresholds"]["mse"] for name, t in ranges["tensors"].items()}

    def outputs(thresholds, precision):
        record = json.loads(json.dumps(ranges))
        for name, value in thresholds.items():
            record["tensors"][name]["thresholds"]["mse"] = value
        spec = QuantSpec.from_onnx(model, record, "mse")
        evaluator = build_evaluator(entry, spec)
        evaluator.set_plan(PrecisionPlan.uniform(spec.layer_names, precision))
        with torch.no_grad():
            return evaluator(images).double().numpy()

    reference = outputs(current, "fp32")
    chosen = {}
    for tensor in order:
        stats = ranges["tensors"][tensor]
        values = {stats["thresholds"][m] for m in ("max", "percentile", "entropy", "mse")}
        values |= {stats["absmax"] * 2.0 ** (-k / 4.0) for k in range(13)}
        candidates = sorted(v for v in values if v > 0)
        errors = [float(((outputs(dict(current, **{tensor: c}), "int8") - reference) ** 2).sum())
                  for c in candidates]
        best = min(errors)
        current[tensor] = max(c for c, e in zip(candidates, errors) if e == best)
        chosen[tensor] = (current[tensor], candidates, errors)
    return chosen


def test_output_thresholds_match_the_plain_search(output_calibrated):
    ranges = json.loads((output_calibrated / "ranges.json").read_text())
    found = ranges["output_search"]["tensors"]
    plain = _plain_search(output_calibrated)
    assert sorted(found) == sorted(plain) and len(plain) == 3  # three convs, three inputs
    for tensor, (threshold, candidates, errors) in plain.items():
        assert found[tensor]["candidates"] == pytest.approx(candidates, rel=1e-12)
        assert found[tensor]["errors"] == pytest.approx(errors, rel=1e-5)
        assert found[tensor]["threshold"] == pytest.approx(threshold, rel=1e-12)
        assert ranges["tensors"][tensor]["thresholds"]["output"] == found[tensor]["threshold"]
    # The search must matter somewhere: some candidate scores differently from the chosen one.
    assert any(len(set(e)) > 1 for _, _, e in plain.values())


def test_output_method_lowers_the_output_error_against_its_start(output_calibrated):
    """Each tensor's chosen threshold scores no worse than the mse threshold it started from
    (which is among its candidates)."""
    ranges = json.loads((output_calibrated / "ranges.json").read_text())
    for tensor, found in ranges["output_search"]["tensors"].items():
        start = ranges["tensors"][tensor]["thresholds"]["mse"]
        index = int(np.argmin(np.abs(np.asarray(found["candidates"]) - start)))
        assert found["candidates"][index] == pytest.approx(start)
        assert min(found["errors"]) <= found["errors"][index]


def test_output_method_needs_the_pytorch_model(run_cli, tmp_path, output_calibrated):
    data = _arrays(tmp_path / "arrays", 12)
    result = run_cli("calibrate", "--onnx", output_calibrated / "model.onnx", "--data", data,
                     "-n", 12, "--method", "output", "-o", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "--method output" in result.output and "Traceback" not in result.output
