"""Latency-aware MIX plans: profile.json (written for real by ONNX Runtime's profiler, read and
validated), the planner's cost table and boundaries, the plan selection under a latency cost,
and `edgec sweep --target --profile` end to end with a fixture profile."""
import json

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx_fixtures import tiny_onnx

from edgec.errors import EdgecError
from edgec.latency import cost_model, points
from edgec.latency.attribution import attribute
from edgec.quant.quality.budget import Budget
from edgec.quant.search.latency_objective import LatencyCost, MacCost, conv_edges, measured_times
from edgec.quant.search.sweep import select_plan
from edgec.runtime.layer_profile import read_profile


def _layers(names, size=16):
    return [{"name": n, "macs": 1000 * (i + 1) * size * size, "params": 100,
             "input_shape": [1, 8, size, size], "output_shape": [1, 8, size, size]}
            for i, n in enumerate(names)]


def _profile(board, precision, rows, model="toy"):
    return {"format": "edgec-profile/1", "backend": {"backend": "tensorrt", "version": "8.5.2"},
            "device": {}, "board": board, "model": model, "precision": precision, "batch": 1,
            "runs": 20, "file": "model.engine",
            "layers": [{"name": n, "median_ms": ms, "precision": p} for n, ms, p in rows]}


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


# -- profile.json -------------------------------------------------------------------------------

def test_bench_profile_on_onnx_runtime_names_the_layers(run_cli, tmp_path):
    model = tiny_onnx(str(tmp_path / "tiny.onnx"))
    result = run_cli("bench", model, "--iterations", 5, "--warmup", 0, "--profile",
                     str(tmp_path / "p.json"), "--profile-runs", 4, "-o", tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    profile = read_profile(str(tmp_path / "p.json"))
    assert profile["runs"] == 4 and profile["backend"]["backend"] == "onnxruntime"
    names = [row["name"] for row in profile["layers"]]
    assert "conv0" in names and all(row["runs"] == 4 for row in profile["layers"])
    credited = attribute(profile, ["conv0"])
    assert credited["layers"]["conv0"]["ms"] > 0 and credited["unmatched"] == []
    assert json.loads((tmp_path / "r.json").read_text())["profile"]["layers"] == len(names)


@pytest.mark.parametrize("change, message", [
    ({"format": "edgec-result/1"}, "format is"),
    ({"board": "orin"}, "unknown board"),
    ({"batch": 0}, "batch must be"),
    ({"layers": []}, "no layers"),
    ({"layers": [{"name": "a", "median_ms": -1}]}, "median_ms must be"),
    ({"layers": [{"name": "a", "median_ms": "fast"}]}, "median_ms must be"),
    ({"layers": [{"name": "a", "median_ms": 1, "precision": "int4"}]}, "precision"),
    ({"layers": [{"median_ms": 1}]}, "has no name"),
])
def test_a_malformed_profile_is_refused_naming_the_file(tmp_path, change, message):
    path = _write(tmp_path, "bad.json", dict(_profile("xavier-nx", "int8", [("a", 1, None)]),
                                             **change))
    with pytest.raises(EdgecError) as error:
        read_profile(path)
    assert path in str(error.value) and message in str(error.value)


def test_attribution_credits_fused_layers_and_keeps_reformats_apart():
    profile = _profile("xavier-nx", "int8", [
        ("enc1.2 + Relu_5", 0.2, "int8"), ("Reformatting CopyNode for Input Tensor 0 to enc1.2",
                                           0.05, "fp16"),
        ("PWN(enc1.20, Add_7)", 0.3, None), ("MaxPool_9", 0.1, "fp16")])
    credited = attribute(profile, ["enc1.2", "enc1.20", "enc3.0"])
    assert credited["layers"]["enc1.2"]["ms"] == pytest.approx(0.2)
    assert credited["layers"]["enc1.20"]["precision"] == "int8"  # the engine's, assumed
    assert credited["reformat_ms"] == pytest.approx(0.05)
    assert credited["other_ms"] == pytest.approx(0.1) and credited["unmatched"] == ["enc3.0"]


# -- the cost table and boundaries ---------------------------------------------------------------

def _chain_onnx(names):
    rng = np.random.RandomState(0)
    nodes, inits, previous = [], [], "image"
    for name in names:
        inits.append(numpy_helper.from_array(rng.randn(8, 8, 3, 3).astype(np.float32), name + "_w"))
        nodes.append(helper.make_node("Conv", [previous, name + "_w"], [name + "_y"], name=name,
                                      pads=[1] * 4))
        nodes.append(helper.make_node("Relu", [name + "_y"], [name + "_r"], name=name + "_relu"))
        previous = name + "_r"
    nodes.append(helper.make_node("Add", [names[0] + "_r", previous], ["out"], name="skip"))
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info(
        "image", TensorProto.FLOAT, [1, 8, 16, 16])], [helper.make_tensor_value_info(
            "out", TensorProto.FLOAT, [1, 8, 16, 16])], initializer=inits)
    return helper.make_model(graph)


def test_edges_follow_the_graph_through_activations():
    model = _chain_onnx(["a", "b", "c"])
    assert conv_edges(model, ["a", "b", "c"]) == [("a", "b"), ("b", "c")]


def test_profiled_times_replace_predictions_and_boundaries_are_charged(tmp_path):
    names = ["a", "b", "c"]
    layers = _layers(names)
    params = cost_model.load_params()["params"]
    int8 = _write(tmp_path, "int8.json", _profile("xavier-nx", "int8", [
        ("a + Relu", 0.9, None), ("b", 0.01, None), ("c", 0.02, None)]))
    fp16 = _write(tmp_path, "fp16.json", _profile("xavier-nx", "fp16", [("a", 0.1, "fp16")]))
    measured = measured_times([int8, fp16], "xavier-nx", names)
    cost = LatencyCost("xavier-nx", layers, [("a", "b"), ("b", "c")], params, measured)
    assert cost.table["a"] == {"fp16": 0.1, "int8": 0.9, "source": "profiled"}
    assert cost.table["b"]["int8"] == 0.01 and cost.table["b"]["source"].startswith(
        "profiled int8")
    assert cost.int8_not_faster() == ["a"]
    plan = {"a": "fp16", "b": "int8", "c": "int8"}
    row = cost.breakdown(plan)
    assert row["boundaries"] == 1 and row["boundary_ms"] > 0
    assert row["ms"] == pytest.approx(0.1 + 0.01 + 0.02 + row["boundary_ms"])
    with pytest.raises(EdgecError, match="measured on agx-xavier, not on the target xavier-nx"):
        measured_times([_write(tmp_path, "agx.json", _profile("agx-xavier", "int8",
                                                               [("a", 1, None)]))],
                       "xavier-nx", names)
    with pytest.raises(EdgecError, match="names none of this model's layers"):
        measured_times([_write(tmp_path, "other.json", _profile("xavier-nx", "int8",
                                                                 [("zz", 1, None)]))],
                       "xavier-nx", names)
    with pytest.raises(EdgecError, match="no INT8"):
        LatencyCost("nano", layers, [], params)


# -- plan selection under a cost -----------------------------------------------------------------

class _Engine(object):
    def __init__(self, layers, macs):
        self.layers = layers
        self.macs = macs


def _quality(gains, floor):
    """A quality model: PSNR rises by each FP16 layer's gain (what phase 1 would measure)."""
    def evaluate(precisions):
        return {"psnr_db": floor + sum(g for l, g in gains.items() if precisions[l] == "fp16"),
                "ssim": None}
    return evaluate


def test_mac_cost_and_latency_cost_choose_differently_for_a_reason():
    names = ["a", "b", "c", "d"]
    gains = {"a": 3.0, "b": 1.0, "c": 2.5, "d": 0.5}
    macs = {"a": 4000, "b": 100, "c": 3000, "d": 50}
    engine = _Engine(names, macs)
    evaluate = _quality(gains, 40.0)
    budget = Budget.parse("psnr>=42.5")
    all_fp16, all_int8 = evaluate({l: "fp16" for l in names}), evaluate({l: "int8" for l in names})
    by_macs = select_plan(engine, budget, gains, all_fp16, all_int8, evaluate)
    # Gain per MAC adds b, d (0.01 dB/MAC each), then c reaches the budget; pruning drops
    # d and b, which c alone does not need (42.5 dB).
    assert budget.holds(by_macs["metrics"], all_fp16) and by_macs["fp16_layers"] == ["c"]
    assert [s["action"] for s in by_macs["steps"]][:3] == ["add b", "add d", "add c"]  # tie: order
    assert by_macs == select_plan(engine, budget, gains, all_fp16, all_int8, evaluate,
                                  MacCost(macs))

    class Cost(object):
        """a is slow in INT8 on this board (free in FP16); c costs a lot in FP16."""
        target = "toy"
        times = {"a": (1.0, 2.0), "b": (0.2, 0.1), "c": (3.0, 1.0), "d": (0.2, 0.1)}

        def __call__(self, precisions):
            return sum(self.times[l][0 if p == "fp16" else 1] for l, p in precisions.items())

        def describe(self, precisions):
            return {"objective": "toy latency", "predicted_ms": self(precisions)}

    cost = Cost()
    by_latency = select_plan(engine, budget, gains, all_fp16, all_int8, evaluate, cost)
    assert by_latency["free_fp16_layers"] == ["a"]  # taken before any quality trade-off
    assert by_latency["fp16_layers"] == ["a"]  # a alone gives 43 dB: nothing else is needed
    assert budget.holds(by_latency["metrics"], all_fp16)
    assert cost(by_latency["precisions"]) < cost(by_macs["precisions"])
    # Exhaustively, no plan meeting the budget is faster.
    import itertools
    fastest = min(cost(dict(zip(names, c))) for c in itertools.product(("fp16", "int8"),
                                                                     repeat=4)
                  if evaluate(dict(zip(names, c)))["psnr_db"] >= 42.5)
    assert cost(by_latency["precisions"]) == pytest.approx(fastest)


# -- end to end: edgec sweep --target --profile ------------------------------------------------

def test_sweep_with_target_and_a_fixture_profile(run_cli, lrs2_tree, tmp_path):
    out = tmp_path / "out"
    args = ["sweep", "--model", "lite-wav2lip", "--data", lrs2_tree, "-n", 40,
            "--eval-samples", 8, "--batch-size", 4, "--budget", "psnr>=0", "-o", out]
    refused = run_cli(*(args + ["--profile", _write(tmp_path, "x.json", {"format": "x"})]))
    assert refused.exit_code == 2 and "needs --target" in refused.output
    bad = _write(tmp_path, "bad.json", {"format": "edgec-profile/1"})
    refused = run_cli(*(args + ["--target", "xavier-nx", "--profile", bad]))
    assert refused.exit_code == 2 and bad in refused.output and not out.exists()
    # The fixture: this board's INT8 engine runs out.1 far slower than its FP16 engine.
    int8 = _write(tmp_path, "int8.json", _profile("xavier-nx", "int8", [
        ("out.1 + Sigmoid", 5.0, "int8"), ("enc0.0 + Relu", 0.05, "int8")], "lite-wav2lip"))
    fp16 = _write(tmp_path, "fp16.json", _profile("xavier-nx", "fp16", [
        ("out.1 + Sigmoid", 0.5, "fp16")], "lite-wav2lip"))
    result = run_cli(*(args + ["--target", "xavier-nx", "--profile", int8, "--profile", fp16]))
    assert result.exit_code == 0, result.output
    assert "predicted latency on xavier-nx" in result.output and "out.1" in result.output
    plan = json.loads((out / "plan.json").read_text())
    latency = plan["provenance"]["latency"]
    assert plan["precisions"]["out.1"] == "fp16"  # INT8 is slower there: FP16, quality aside
    # out.1 from the profile; the decoder's ConvTranspose layers from the cost model's rule
    # (INT8 deconvolution no faster than FP16 on Volta with TensorRT 8.x: TensorRT 1699).
    from edgec.pipeline.predict import zoo_layers

    deconvs = sorted(l["name"] for l in zoo_layers("lite-wav2lip") if l["kind"] == "ConvTranspose")
    assert deconvs and sorted(latency["int8_not_faster"]) == sorted(deconvs + ["out.1"])
    assert all(plan["precisions"][n] == "fp16" for n in deconvs)
    assert latency["profiles"] == [int8, fp16]
    assert latency["mac_share_plan"]["fp16_layers"] == []  # psnr>=0: all INT8 by MACs
    assert latency["plan"]["predicted_ms"] < latency["mac_share_plan"]["predicted_ms"]
    assert plan["provenance"]["objective"] == "latency on xavier-nx"


def test_predict_refits_on_a_profile(run_cli, tmp_path):
    from edgec.pipeline.predict import zoo_layers

    names = [layer["name"] for layer in zoo_layers("lite-wav2lip")]
    profile = _write(tmp_path, "p.json", _profile(
        "xavier-nx", "fp16", [(n + " + Relu", 0.2, "fp16") for n in names], "lite-wav2lip"))
    result = run_cli("predict", "lite-wav2lip", "--device", "xavier-nx", "--precision", "fp16",
                     "--fit", profile, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["fit"]["data"]["points"] == len(points.fitting_points(zoo_layers)) + len(names)
    before = json.loads(run_cli("predict", "lite-wav2lip", "--device", "xavier-nx",
                                "--precision", "fp16", "--json").output)["rows"][0]
    # 23 layers at 0.2 ms each (4.6 ms) pull the board's prediction up.
    assert report["rows"][0]["latency_ms"] > before["latency_ms"]


def test_sweep_with_the_targets_dla(run_cli, lrs2_tree, tmp_path):
    """--dla: the plan says GPU or DLA per layer and carries both figures; refused, naming the
    reason, without --target or on a board without a DLA."""
    out = tmp_path / "out"
    args = ["sweep", "--model", "lite-wav2lip", "--data", lrs2_tree, "-n", 40,
            "--eval-samples", 8, "--batch-size", 4, "--budget", "psnr>=0", "-o", out, "--dla"]
    refused = run_cli(*args)
    assert refused.exit_code == 2 and "--dla needs --target" in refused.output
    refused = run_cli(*(args + ["--target", "orin-nano"]))
    assert refused.exit_code == 2 and "Orin Nano 8GB has no DLA" in refused.output
    result = run_cli(*(args + ["--target", "agx-orin"]))
    assert result.exit_code == 0, result.output
    plan = json.loads((out / "plan.json").read_text())
    placement = plan["provenance"]["latency"]["placement"]
    assert plan["provenance"]["objective"] == "frame interval on agx-orin with its DLA"
    assert placement["dla_layers"], placement  # psnr>=0: INT8 everywhere, the DLA takes some
    assert plan["devices"] == placement["devices"]
    assert sorted(n for n, d in plan["devices"].items() if d == "dla") == \
        sorted(placement["dla_layers"])
    assert all(plan["precisions"][n] == "int8" for n in placement["dla_layers"])  # Orin: INT8
    assert placement["with_dla"]["interval_ms"] < placement["gpu_only"]["interval_ms"]
    assert "DLA on agx-orin" in result.output and "--dla-core" in result.output
