"""The latency estimator: its leave-one-out error over the shipped data, unsupported and
out-of-memory cases, ONNX input, and refitting from a Jetson result."""
import copy
import json

import pytest

from edgec.jetson import predict
from edgec.pipeline.predict import zoo_layers
from onnx_fixtures import tiny_onnx


@pytest.fixture(scope="module")
def shipped_points():
    return predict.fitting_points(zoo_layers)


def test_leave_one_out_error_of_the_shipped_fit(shipped_points):
    """Recomputes the shipped estimator and its leave-one-out error from the shipped data; the
    shipped file must be what this data gives (so its stated error is true)."""
    record = predict.fit_record(shipped_points, ["data"])
    summary = record["leave_one_out"]["summary"]
    print("\nleave-one-out over %d points: median %.1f%%, worst %.1f%%"
          % (summary["points"], summary["median_abs_percent"], summary["worst_abs_percent"]))
    for row in record["leave_one_out"]["points"]:
        print("  %-10s %-12s %-4s measured %6.2f ms, predicted %6.2f ms (%+.0f%%)"
              % (row["device"], row["model"], row["precision"], row["measured_ms"],
                 row["predicted_ms"], row["error_percent"]))
    shipped = predict.load_params()
    assert summary["points"] == len(shipped_points) == 11
    assert summary["median_abs_percent"] == pytest.approx(
        shipped["leave_one_out"]["summary"]["median_abs_percent"], rel=0.02)
    assert summary["worst_abs_percent"] == pytest.approx(
        shipped["leave_one_out"]["summary"]["worst_abs_percent"], rel=0.02)
    # In-sample, the fit explains the data it was fitted on much better than out of sample.
    in_sample = [abs(predict._predict_point(p, shipped["params"]) / p["latency_ms"] - 1)
                 for p in shipped_points]
    assert max(in_sample) < 0.35
    assert summary["median_abs_percent"] < 50


def test_unsupported_and_out_of_memory_are_reported_without_a_number(run_cli):
    result = run_cli("predict", "wav2lip", "--device", "nano", "--device", "tx2", "--json")
    assert result.exit_code == 0, result.output
    rows = {(r["device"], r["precision"]): r for r in json.loads(result.output)["rows"]}
    for key in (("nano", "int8"), ("nano", "mix"), ("tx2", "int8"), ("tx2", "mix")):
        assert rows[key]["status"] == "unsupported" and "latency_ms" not in rows[key]
    assert rows[("nano", "fp16")]["latency_ms"] > rows[("tx2", "fp16")]["latency_ms"]
    huge = json.loads(run_cli("predict", "wav2lip", "--device", "nano", "--precision", "fp32",
                              "--batch", 4096, "--json").output)["rows"][0]
    assert huge["status"] == "does not fit" and "latency_ms" not in huge


def test_predictions_order_and_table(run_cli):
    result = run_cli("predict", "lite-wav2lip", "--json")
    rows = {(r["device"], r["precision"]): r for r in json.loads(result.output)["rows"]}
    agx = [rows[("agx-xavier", p)]["latency_ms"] for p in ("fp32", "fp16", "mix", "int8")]
    assert agx == sorted(agx, reverse=True)  # fewer bits, less time
    assert rows[("agx-xavier", "fp16")]["latency_ms"] < rows[("nano", "fp16")]["latency_ms"]
    text = run_cli("predict", "lite-wav2lip").output
    assert "leave-one-out over 11 measured points" in text and "unsupported" in text
    assert "Jetson TX2 *" in text  # no data for the TX2: marked as borrowed


def test_onnx_input_and_mix_needs_a_plan(run_cli, tmp_path):
    model = tiny_onnx(str(tmp_path / "tiny.onnx"))
    result = run_cli("predict", model, "--device", "agx-xavier", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["precision"]: r for r in json.loads(result.output)["rows"]}
    assert rows["fp32"]["status"] == "ok" and rows["mix"]["status"] == "needs --plan"
    assert run_cli("predict", "no-such-model").exit_code == 2


def _jetson_result(tmp_path, latency_ms):
    result = {"format": "edgec-result/1", "device": {"name": "Jetson Xavier NX"},
              "model": {"name": "lite-wav2lip", "precision": "fp16"}, "batch": 1,
              "latency_ms": {"median": latency_ms}, "settings": {"batch": 1},
              "backend": {"backend": "tensorrt", "version": "8.5.2", "sidecar": {}},
              "jetson": {"board": {"profile": "xavier-nx"}}}
    path = tmp_path / "nx.json"
    path.write_text(json.dumps(result))
    return str(path), result


def test_refit_from_a_jetson_result(run_cli, tmp_path):
    path, _ = _jetson_result(tmp_path, 1.30)
    saved = tmp_path / "fit.json"
    result = run_cli("predict", "lite-wav2lip", "--device", "xavier-nx", "--precision", "fp16",
                     "--fit", path, "--save-fit", saved, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert "xavier-nx" in report["estimator"]["fitted_devices"]
    assert report["estimator"]["leave_one_out"]["points"] == 12
    assert report["rows"][0]["fitted_device"] is True
    assert report["rows"][0]["latency_ms"] == pytest.approx(1.30, rel=0.25)
    again = run_cli("predict", "lite-wav2lip", "--device", "xavier-nx", "--precision", "fp16",
                    "--params", saved, "--json")
    assert json.loads(again.output)["rows"][0]["latency_ms"] == pytest.approx(
        report["rows"][0]["latency_ms"])


def test_refit_refuses_results_that_are_not_jetson_tensorrt(run_cli, tmp_path):
    path, result = _jetson_result(tmp_path, 1.3)
    cpu = copy.deepcopy(result)
    cpu["backend"]["backend"] = "onnxruntime"
    (tmp_path / "cpu.json").write_text(json.dumps(cpu))
    refused = run_cli("predict", "lite-wav2lip", "--fit", tmp_path / "cpu.json")
    assert refused.exit_code == 2 and "not TensorRT" in refused.output
    del cpu["jetson"]
    (tmp_path / "cpu.json").write_text(json.dumps(cpu))
    refused = run_cli("predict", "lite-wav2lip", "--fit", tmp_path / "cpu.json")
    assert refused.exit_code == 2 and "not measured on a profiled Jetson" in refused.output
