"""`edgec bench` with the ONNX Runtime backend: the latency table, result.json, the output check
that catches a wrong model, and the benchmark loop's warm-up separation."""
import json
import time

import numpy as np
import pytest
from onnx_fixtures import tiny_onnx

from edgec.errors import EdgecError
from edgec.runtime.bench import compare_outputs, run_benchmark
from edgec.runtime.results import validate_result
from edgec.runtime.runner import Runner, TensorInfo


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench")
    return {"good": tiny_onnx(str(folder / "model.onnx"), seed=0),
            "other": tiny_onnx(str(folder / "other.fp16.onnx"), seed=1), "folder": folder}


def test_bench_prints_the_table_and_writes_result_json(run_cli, models, tmp_path):
    out = tmp_path / "result.json"
    result = run_cli("bench", models["good"], "--iterations", 25, "--warmup", 0.1, "--batch", 2,
                     "-o", out)
    assert result.exit_code == 0, result.output
    for text in ("latency (ms)", "median", "p90", "p99", "end to end", "throughput",
                 "backend onnxruntime", "batch 2, 25 runs"):
        assert text in result.output
    data = validate_result(json.loads(out.read_text()), str(out))
    latency = data["latency_ms"]
    assert latency["n"] == 25 and data["runs"]["measured"]["runs"] == 25
    assert 0 < latency["min"] <= latency["median"] <= latency["p90"] <= latency["p99"] \
        <= latency["max"]
    assert data["runs"]["warmup"]["runs"] >= 3
    assert data["throughput_per_s"] == pytest.approx(2 * 1000.0 / latency["median"])
    assert data["model"]["precision"] == "fp32" and data["model"]["sha256"]
    assert data["settings"]["batch"] == 2 and data["settings"]["warmup_s"] == 0.1
    assert data["host"]["cpu_count"] >= 1 and data["versions"]["numpy"] == np.__version__
    assert data["memory"]["host_peak_rss_bytes"] > 0
    assert data["check"] is None and data["compute_ms"] is None


def test_reference_round_trip_passes_and_a_wrong_model_fails(run_cli, models, tmp_path):
    reference = tmp_path / "reference.npz"
    made = run_cli("bench", models["good"], "--iterations", 10, "--warmup", 0, "--batch", 3,
                   "--save-reference", reference, "-o", tmp_path / "a.json")
    assert made.exit_code == 0, made.output
    same = run_cli("bench", models["good"], "--iterations", 10, "--warmup", 0,
                   "--reference", reference, "-o", tmp_path / "b.json")
    assert same.exit_code == 0 and "output check passed" in same.output
    assert json.loads((tmp_path / "b.json").read_text())["batch"] == 3  # the reference's batch
    wrong = run_cli("bench", models["other"], "--iterations", 10, "--warmup", 0,
                    "--reference", reference, "-o", tmp_path / "c.json")
    assert wrong.exit_code == 1
    assert "output check FAILED" in wrong.output and "c.json" in wrong.output
    record = json.loads((tmp_path / "c.json").read_text())
    assert record["check"]["passed"] is False and record["model"]["precision"] == "fp16"
    assert record["check"]["outputs"]["output"]["psnr_db"] < 30


def test_reference_problems_are_named(run_cli, models, tmp_path):
    reference = tmp_path / "r.npz"
    run_cli("bench", models["good"], "--iterations", 3, "--warmup", 0, "--batch", 2,
            "--save-reference", reference, "-o", tmp_path / "a.json")
    mismatch = run_cli("bench", models["good"], "--reference", reference, "--batch", 4)
    assert mismatch.exit_code == 2 and "holds a batch of 2" in mismatch.output
    pickled = tmp_path / "p.npz"
    np.savez(str(pickled), **{"inputs/image": np.array([object()], dtype=object)})
    refused = run_cli("bench", models["good"], "--reference", pickled)
    assert refused.exit_code == 2 and "p.npz cannot be read" in refused.output
    assert "Traceback" not in refused.output


def test_bad_targets(run_cli, tmp_path):
    missing = run_cli("bench", tmp_path / "nope.onnx")
    assert missing.exit_code == 2 and "nope.onnx: no such file" in missing.output
    odd = tmp_path / "model.bin"
    odd.write_bytes(b"x")
    assert "cannot tell what this is" in run_cli("bench", odd).output
    engine = tmp_path / "model.int8.engine"
    engine.write_bytes(b"not really an engine")
    result = run_cli("bench", engine)
    assert result.exit_code == 2 and "TensorRT is not installed on this host" in result.output
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"garbage")
    result = run_cli("bench", broken)
    assert result.exit_code == 2 and "cannot load" in result.output and "broken.onnx" in \
        result.output


class SlowStartRunner(Runner):
    """First runs take 50 ms (cold caches), later ones 1 ms."""
    backend = "test"

    def __init__(self):
        super(SlowStartRunner, self).__init__()
        self.calls = 0

    def activate(self):
        self.active = True

    def inputs(self):
        return [TensorInfo("x", (-1, 2), "float32")]

    def _infer(self, feed):
        self.calls += 1
        time.sleep(0.05 if self.calls <= 3 else 0.001)
        return {"y": feed["x"] * 2}


def test_runner_base_checks_the_feed_for_every_backend():
    runner = SlowStartRunner()
    good = {"x": np.zeros((3, 2), np.float32)}
    assert runner.infer(good)["y"].shape == (3, 2) and runner.calls == 1
    for feed, words in (({}, "lacks ['x']"), (dict(good, z=good["x"]), "unknown ['z']"),
                        ({"x": np.zeros((3, 4), np.float32)}, "has shape (3, 4)"),
                        ({"x": np.zeros((3, 2), np.float64)}, "is float64")):
        with pytest.raises(EdgecError) as caught:
            runner.timed_infer(feed)
        assert words in caught.value.message
    assert runner.calls == 1  # a refused feed never reaches the backend


class Monitor(object):
    def __init__(self, runner):
        self.runner, self.calls_at_start, self.calls_at_stop = runner, None, None

    def start(self):
        self.calls_at_start = self.runner.calls

    def stop(self):
        self.calls_at_stop = self.runner.calls


def test_warmup_is_not_measured_and_the_monitor_covers_exactly_the_measured_runs():
    runner = SlowStartRunner()
    monitor = Monitor(runner)
    timing = run_benchmark(runner, {"x": np.ones((1, 2), np.float32)}, warmup_s=0.0,
                           iterations=20, monitor=monitor)
    assert timing["warmup"]["runs"] == 3
    assert timing["latency_ms"]["max"] < 40  # none of the slow cold runs
    assert monitor.calls_at_stop - monitor.calls_at_start == 20


def test_compare_outputs_flags_non_finite_and_shape_errors():
    reference = {"y": np.linspace(0, 1, 16).reshape(4, 4)}
    assert compare_outputs({"y": reference["y"] + 1e-4}, reference, 30)["passed"]
    nan = reference["y"].copy()
    nan[0, 0] = np.nan
    bad = compare_outputs({"y": nan}, reference, 30)
    assert not bad["passed"] and bad["outputs"]["y"]["finite"] is False
    assert not compare_outputs({"y": np.zeros((2, 2))}, reference, 30)["passed"]
    assert not compare_outputs({}, reference, 30)["passed"]
    strict = compare_outputs({"y": reference["y"] + 1e-2}, reference, 30, max_abs=1e-3)
    assert not strict["passed"]
