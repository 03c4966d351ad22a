"""DLA layer rules, the INT8-no-faster rule of the cost model, and GPU/DLA placement of a plan
(edgec.latency.dla, edgec.latency.cost_model, edgec.quant.search.placement)."""
import json

import pytest

from edgec import artifacts
from edgec.errors import EdgecError
from edgec.jetson.profiles import BY_KEY
from edgec.latency import cost_model, dla
from edgec.quant.search.latency_objective import LatencyCost
from edgec.quant.search.placement import DLA, GPU, Placement, PlacedCost, place


def _conv(name, kind="Conv", kernel=(3, 3), stride=(1, 1), channels=64, size=64, macs=None):
    shape = [1, channels, size, size]
    return {"name": name, "kind": kind, "in_channels": channels, "out_channels": channels,
            "kernel": list(kernel), "stride": list(stride), "input_shape": shape,
            "output_shape": shape, "params": channels * channels * 9,
            "macs": macs if macs is not None else channels * channels * 9 * size * size}


@pytest.mark.parametrize("layer, attributes, precision, board, reason", [
    (_conv("c"), {}, "int8", "agx-orin", None),
    (_conv("c"), {}, "fp16", "agx-orin", "no published FP16 throughput"),
    (_conv("c"), {}, "fp16", "agx-xavier", None),
    (_conv("c"), {}, "int8", "orin-nano", "has no DLA"),
    (_conv("c"), {}, "int8", "xavier-nx", "no published INT8 throughput"),
    (_conv("c", kernel=(33, 1)), {}, "int8", "agx-orin", "kernel [33, 1] outside [1, 32]"),
    (_conv("c", stride=(9, 9)), {}, "int8", "agx-orin", "stride [9, 9] outside [1, 8]"),
    (_conv("c", kernel=(3, 3, 3)), {}, "int8", "agx-orin", "2-D convolutions only"),
    (_conv("c", channels=9000), {}, "int8", "agx-orin", "more than 8192 channels"),
    (dict(_conv("l"), kind="Linear"), {}, "int8", "agx-orin", "MatrixMultiply"),
    (_conv("d", "ConvTranspose"), {"pads": [1, 1, 1, 1]}, "fp16", "agx-xavier",
     "padding must be 0"),
    (_conv("d", "ConvTranspose"), {"group": 2}, "fp16", "agx-xavier", "grouped or dilated"),
    (_conv("d", "ConvTranspose"), {"pads": [0, 0, 0, 0]}, "fp16", "agx-xavier", None),
    (_conv("d", "ConvTranspose"), {}, "int8", "agx-orin", "TensorRT issue 3365"),
])
def test_dla_rules(layer, attributes, precision, board, reason):
    why = dla.refusal(layer, attributes, precision, BY_KEY[board])
    if reason is None:
        assert why is None
    else:
        assert why is not None and reason in why


def test_orin_dla_figures_follow_nvidias_sparse_totals():
    # 105 sparse INT8 TOPS for AGX Orin 64GB's two cores: 26.25 dense per core; the GPU's
    # dense INT8 peak is more than three times one core's.
    assert BY_KEY["agx-orin"].dla_int8_tops == pytest.approx(26.25)
    assert BY_KEY["orin-nx-8gb"].dla_int8_tops == pytest.approx(10.0)
    assert BY_KEY["agx-orin"].int8_tops > 3 * BY_KEY["agx-orin"].dla_int8_tops
    assert all(p.dla_fp16_tflops is None for p in BY_KEY.values() if p.arch == "Ampere")
    assert all(p.dla_int8_tops is None for p in BY_KEY.values() if not p.dla_cores)


def test_int8_conv_transpose_runs_as_fp16_plus_reformats_on_volta_with_tensorrt_8():
    params = cost_model.load_params()["params"]
    up = _conv("up", "ConvTranspose")
    for board in ("agx-xavier", "xavier-nx"):
        fp16, int8 = (cost_model.layer_times([up], [p], board, params)[0]
                      for p in ("fp16", "int8"))
        assert int8["ms"] > fp16["ms"] and "TensorRT issue 1699" in int8["int8_runs_as_fp16"]
        conv = cost_model.layer_times([_conv("c")], ["int8"], board, params)[0]
        assert "int8_runs_as_fp16" not in conv
    # Orin (TensorRT 10.3) has no such report: INT8 keeps its own, faster time.
    fp16, int8 = (cost_model.layer_times([up], [p], "agx-orin", params)[0]
                  for p in ("fp16", "int8"))
    assert int8["ms"] < fp16["ms"] and "int8_runs_as_fp16" not in int8
    cost = LatencyCost("agx-xavier", [up, _conv("c")], [("c", "up")], params)
    assert "up" in cost.int8_not_faster()


def _chain(names, kind="Conv"):
    return [_conv(n, kind) for n in names]


def _cost(board, layers):
    params = cost_model.load_params()["params"]
    edges = [(a["name"], b["name"]) for a, b in zip(layers, layers[1:])]
    return LatencyCost(board, layers, edges, params), params


def test_all_gpu_placement_costs_what_the_latency_objective_says():
    layers = _chain(["a", "b", "c", "d"])
    cost, params = _cost("agx-orin", layers)
    plan = {"a": "fp16", "b": "int8", "c": "int8", "d": "fp16"}
    placement = Placement(cost, {}, plan)
    row = placement.evaluate({n: GPU for n in plan})
    assert row["latency_ms"] == pytest.approx(cost(plan))
    assert row["interval_ms"] == row["latency_ms"] and row["dla_ms"] == 0


def test_placement_offloads_int8_runs_and_charges_crossings():
    names = ["a", "b", "c", "d", "e", "f"]
    layers = _chain(names)
    cost, params = _cost("agx-orin", layers)
    plan = {n: "int8" for n in names}
    record = place(cost, {}, plan)
    with_dla, gpu_only = record["with_dla"], record["gpu_only"]
    assert record["dla_layers"] and set(record["dla_layers"]) < set(names)
    assert with_dla["interval_ms"] < gpu_only["interval_ms"]
    assert with_dla["latency_ms"] >= with_dla["interval_ms"]
    assert with_dla["subgraphs"] <= dla.MAX_SUBGRAPHS and with_dla["crossings"] >= 1
    # One frame alone is not faster on the slower DLA core than on the GPU.
    assert with_dla["latency_ms"] > gpu_only["latency_ms"] * 0.9
    # FP16 layers have no DLA time on Orin: the same chain in FP16 places nothing.
    record = place(cost, {}, {n: "fp16" for n in names})
    assert record["dla_layers"] == [] and "none" in record["why"] or "no layer" in record["why"]
    assert set(record["refused"]) == set(names)


def test_a_board_without_dla_places_nothing():
    layers = _chain(["a", "b"])
    cost, params = _cost("orin-nano", layers)
    record = place(cost, {}, {"a": "int8", "b": "int8"})
    assert record["with_dla"] is None and "has no DLA" in record["why"]
    assert set(record["devices"].values()) == {GPU}


def test_placed_cost_prefers_int8_where_the_dla_takes_it():
    names = ["a", "b", "c", "d"]
    layers = _chain(names)
    cost, params = _cost("agx-orin", layers)
    placed = PlacedCost(cost, {})
    fp16 = {n: "fp16" for n in names}
    int8 = {n: "int8" for n in names}
    assert placed(int8) < placed(fp16)
    row = placed.describe(int8)
    assert row["objective"].startswith("frame interval") and row["dla_layers"] >= 1
    assert placed.placed(int8)["devices"]["a"] in (GPU, DLA)


def test_plan_devices_are_checked_naming_the_file(tmp_path):
    path = tmp_path / "plan.json"
    record = {"format": artifacts.PLAN_FORMAT, "precisions": {"a": "int8", "b": "fp16"}}
    path.write_text(json.dumps(record))
    assert artifacts.read_plan_devices(str(path)) == {}
    path.write_text(json.dumps(dict(record, devices={"a": "dla", "b": "gpu"})))
    assert artifacts.read_plan_devices(str(path)) == {"a": "dla", "b": "gpu"}
    for devices, message in (({"a": "npu"}, "device other than gpu/dla"),
                             ({"zz": "dla"}, "no precision")):
        path.write_text(json.dumps(dict(record, devices=devices)))
        with pytest.raises(EdgecError) as caught:
            artifacts.read_plan_devices(str(path))
        assert str(path) in caught.value.message and message in caught.value.message
