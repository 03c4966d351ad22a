"""benchmarks/peer_quantizers.py: the pure parts (which convs a Q/DQ graph quantizes, matching
them to edgec's layers, the budget made from a peer's row, the ModelOpt skip). No ModelOpt,
no model, no samples: tiny graphs built with onnx.helper."""
import math
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from benchmarks import peer_quantizers as pq  # noqa: E402


def _weight(name, shape, seed):
    rng = np.random.RandomState(seed)
    return numpy_helper.from_array(rng.randn(*shape).astype(np.float32) * 0.1, name)


def fp32_graph():
    """image -> conv_a (Conv) -> relu -> conv_b (ConvTranspose) -> output."""
    nodes = [helper.make_node("Conv", ["image", "wa"], ["a"], name="conv_a", pads=[1] * 4),
             helper.make_node("Relu", ["a"], ["r"], name="relu"),
             helper.make_node("ConvTranspose", ["r", "wb"], ["output"], name="conv_b")]
    graph = helper.make_graph(
        nodes, "two", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, None)],
        initializer=[_weight("wa", (4, 3, 3, 3), 0), _weight("wb", (4, 2, 2, 2), 1)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])


def qdq_graph(quantize_a=True, quantize_b=False, rename=None, weight_qdq_pair=False,
              cast_after_dq=False):
    """The FP32 graph with conv_a's weight through DequantizeLinear (optionally Q -> DQ, as
    ModelOpt writes it, or DQ -> Cast), conv_b's left plain; `rename` renames the conv nodes."""
    model = fp32_graph()
    graph = model.graph
    rename = rename or {}
    inits = {t.name: t for t in graph.initializer}
    new_nodes = []
    for node in graph.node:
        if node.op_type in pq.CONV_OPS:
            quantize = quantize_a if node.name == "conv_a" else quantize_b
            weight = node.input[1]
            if quantize:
                scale = numpy_helper.from_array(np.array(0.01, np.float32), weight + "_scale")
                zero = numpy_helper.from_array(np.array(0, np.int8), weight + "_zp")
                graph.initializer.extend([scale, zero])
                if weight_qdq_pair:
                    new_nodes.append(helper.make_node(
                        "QuantizeLinear", [weight, scale.name, zero.name], [weight + "_q"]))
                    source = weight + "_q"
                else:
                    q = numpy_helper.from_array(
                        np.clip(np.round(numpy_helper.to_array(inits[weight]) / 0.01), -127,
                                127).astype(np.int8), weight + pq.ORT_WEIGHT_SUFFIX)
                    graph.initializer.append(q)
                    source = q.name
                new_nodes.append(helper.make_node(
                    "DequantizeLinear", [source, scale.name, zero.name], [weight + "_dq"],
                    name=weight + "_DequantizeLinear"))
                node.input[1] = weight + "_dq"
                if cast_after_dq:
                    new_nodes.append(helper.make_node("Cast", [weight + "_dq"], [weight + "_c"],
                                                      to=TensorProto.FLOAT))
                    node.input[1] = weight + "_c"
            node.name = rename.get(node.name, node.name)
        new_nodes.append(node)
    del graph.node[:]
    graph.node.extend(new_nodes)
    return model


def test_quantized_convs_tells_dequantized_weights_from_plain_ones():
    assert pq.quantized_convs(qdq_graph(True, False)) == {"conv_a": True, "conv_b": False}
    assert pq.quantized_convs(qdq_graph(False, True)) == {"conv_a": False, "conv_b": True}
    assert pq.quantized_convs(fp32_graph()) == {"conv_a": False, "conv_b": False}


@pytest.mark.parametrize("pair,cast", [(True, False), (False, True)])
def test_quantized_convs_follows_q_dq_pairs_and_casts(pair, cast):
    found = pq.quantized_convs(qdq_graph(True, False, weight_qdq_pair=pair, cast_after_dq=cast))
    assert found == {"conv_a": True, "conv_b": False}


def test_an_activation_qdq_alone_does_not_make_a_conv_int8():
    model = fp32_graph()
    graph = model.graph
    graph.initializer.extend([numpy_helper.from_array(np.array(0.02, np.float32), "s"),
                              numpy_helper.from_array(np.array(0, np.int8), "z")])
    nodes = [helper.make_node("QuantizeLinear", ["image", "s", "z"], ["iq"]),
             helper.make_node("DequantizeLinear", ["iq", "s", "z"], ["idq"])] + list(graph.node)
    nodes[2].input[0] = "idq"
    del graph.node[:]
    graph.node.extend(nodes)
    assert pq.quantized_convs(model)["conv_a"] is False


def test_map_layers_by_name_then_by_weight():
    names = ["conv_a", "conv_b"]
    assert pq.map_layers(fp32_graph(), qdq_graph(), names) == {"conv_a": "conv_a",
                                                               "conv_b": "conv_b"}
    renamed = qdq_graph(True, True, rename={"conv_a": "node_7", "conv_b": "node_9"})
    assert pq.map_layers(fp32_graph(), renamed, names) == {"conv_a": "node_7",
                                                           "conv_b": "node_9"}
    # Through a Q -> DQ pair the weight path still starts at the original initializer.
    paired = qdq_graph(True, False, rename={"conv_a": "x"}, weight_qdq_pair=True)
    assert pq.map_layers(fp32_graph(), paired, names)["conv_a"] == "x"


def test_map_layers_refuses_a_layer_it_cannot_find():
    other = qdq_graph(rename={"conv_a": "renamed"})
    for tensor in other.graph.initializer:  # the weight is renamed too: nothing to match by
        if tensor.name.startswith("wa"):
            tensor.name = "other" + tensor.name
    for node in other.graph.node:
        node.input[:] = ["other" + i if i.startswith("wa") else i for i in node.input]
    with pytest.raises(ValueError, match="conv_a"):
        pq.map_layers(fp32_graph(), other, ["conv_a", "conv_b"])


def test_plan_keeping_puts_what_the_peer_left_unquantized_in_fp16():
    int8 = pq.quantized_convs(qdq_graph(True, False))
    plan = pq.plan_keeping(["conv_a", "conv_b"], int8)
    assert plan == {"conv_a": "int8", "conv_b": "fp16"}
    from edgec.quant.qdq.spec import PrecisionPlan

    assert PrecisionPlan(plan).layers_at("fp16") == ["conv_b"]


def test_conv_summary_counts_and_weights_by_macs():
    convs, share = pq.conv_summary({"a": True, "b": False, "c": True},
                                   {"a": 10, "b": 30, "c": 60})
    assert convs == "2/3"
    assert share == pytest.approx(0.7)
    assert pq.conv_summary({"a": True}, {})[1] is None


def test_budget_meeting_is_at_least_the_measured_row():
    row = {"psnr_db": 46.0812, "ssim": 0.996912}
    text = pq.budget_meeting(row)
    from edgec.quant.quality.budget import Budget

    budget = Budget.parse(text)
    bounds = {term.metric: term.bound(None) for term in budget.terms}
    # Rounded up, never down: meeting the budget means meeting the row, within one step.
    assert row["psnr_db"] <= bounds["psnr"] < row["psnr_db"] + 0.01
    assert row["ssim"] <= bounds["ssim"] < row["ssim"] + 1e-5
    assert budget.holds({"psnr_db": bounds["psnr"], "ssim": bounds["ssim"]})
    assert not budget.holds({"psnr_db": row["psnr_db"] - 0.01, "ssim": 1.0})
    assert not budget.holds({"psnr_db": 99.0, "ssim": row["ssim"] - 1e-5})
    assert pq.budget_meeting(None) == pq.FALLBACK_BUDGET
    assert pq.budget_meeting({"psnr_db": math.inf, "ssim": 1.0}) == pq.FALLBACK_BUDGET
    assert pq.budget_meeting({"psnr_db": None, "ssim": 0.9}) == pq.FALLBACK_BUDGET


def test_missing_modelopt_gives_the_install_message(monkeypatch):
    for name in list(sys.modules):
        if name == "modelopt" or name.startswith("modelopt."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "modelopt", None)  # import modelopt -> ImportError
    module, message = pq.load_modelopt()
    assert module is None
    assert "skipped" in message and pq.MODELOPT_INSTALL in message


def test_fp16_quantize_inputs_counts_float16_quantize_nodes():
    model = qdq_graph(True, False, weight_qdq_pair=True)
    assert pq.fp16_quantize_inputs(model) == 0
    graph = model.graph
    graph.node.insert(0, helper.make_node("Cast", ["image"], ["image16"],
                                          to=TensorProto.FLOAT16))
    graph.node.insert(1, helper.make_node("QuantizeLinear", ["image16", "wa_scale", "wa_zp"],
                                          ["iq"]))
    assert pq.fp16_quantize_inputs(model) == 1


def test_fp16_quantize_probe_tells_rounding_from_truncation():
    def session(round_fn):
        class Session(object):
            def __init__(self, data):
                model = onnx.load_from_string(data)
                inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
                self.scale = inits["scale"].astype(np.float64)

            def run(self, _, feeds):
                return [round_fn(feeds["x"].astype(np.float64) / self.scale).astype(np.int8)]
        return Session

    assert pq.fp16_quantize_rounds(session(np.rint)) is True
    assert pq.fp16_quantize_rounds(session(np.trunc)) is False


def test_markdown_table_has_a_line_per_row_and_marks_caveats():
    rows = [{"row": "x", "psnr_db": 40.0, "ssim": 0.99, "max_abs_error": 0.1,
             "convs_int8": "1/2", "int8_mac_share": 0.5, "seconds": 1.0},
            {"row": "y", "psnr_db": None, "ssim": None, "max_abs_error": None,
             "convs_int8": "0/2", "int8_mac_share": None, "seconds": None, "caveat": "c"}]
    lines = pq.markdown_table(rows).splitlines()
    assert len(lines) == 2 + len(rows)
    assert "50.0%" in lines[2] and "| y * |" in lines[3]
