"""Each import rule of edgec/check/rules.py on a small graph: flagged on the versions it names,
silent from the version that lifts it; edgec's own rules; the opset rule from ONNX's schemas."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgec.check import checker, rules
from edgec.jetson.profiles import BY_KEY

FLOAT = TensorProto.FLOAT


def _model(path, nodes, inputs, outputs, inits=(), opset=17, functions=(), domains=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)] + [
        helper.make_opsetid(d, 1) for d in domains], functions=list(functions))
    model.ir_version = 8
    onnx.save(model, str(path))
    return checker.Graph(str(path))


def _io(name, shape, dtype=FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def _array(name, values, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(values, dtype=dtype), name)


def _unary(op, **attributes):
    def make(path):
        return _model(path, [helper.make_node(op, ["x"], ["y"], name="n0", **attributes)],
                      [_io("x", [1, 4, 8, 8])], [_io("y", None)])
    return make


def _gridsample(rank):
    def make(path):
        shape = [1, 4] + [8] * (rank - 2)
        grid = [1] + [8] * (rank - 2) + [rank - 2]
        return _model(path, [helper.make_node("GridSample", ["x", "g"], ["y"], name="n0")],
                      [_io("x", shape), _io("g", grid)], [_io("y", None)],
                      opset=20 if rank == 5 else 17)
    return make


def _with_tensor_input(op, index, extra_inputs):
    """`op` whose input `index` is a graph input (a tensor, not an initializer)."""
    def make(path):
        names = ["x"] + ["c%d" % i for i in range(1, index)] + ["axes"]
        inits = [_array("c%d" % i, v, np.int64) for i, v in enumerate(extra_inputs, 1)]
        return _model(path, [helper.make_node(op, names, ["y"], name="n0")],
                      [_io("x", [1, 4, 8, 8]), _io("axes", [1], TensorProto.INT64)],
                      [_io("y", None)], inits)
    return make


def _layernorm(op):
    def make(path):
        inputs = ["x", "s", "b"]
        attributes = {"num_groups": 2} if op == "GroupNormalization" else {}
        return _model(path, [helper.make_node(op, inputs, ["y"], name="n0", **attributes)],
                      [_io("x", [1, 4, 8, 8])], [_io("y", None)],
                      [_array("s", np.ones(8 if op == "LayerNormalization" else 4)),
                       _array("b", np.zeros(8 if op == "LayerNormalization" else 4))],
                      opset=21 if op == "GroupNormalization" else 17)
    return make


def _instance_norm(path):
    return _model(path, [helper.make_node("InstanceNormalization", ["x", "s", "b"], ["y"],
                                          name="n0")],
                  [_io("x", [1, 4, 8, 8]), _io("s", [4]), _io("b", [4])], [_io("y", None)])


def _einsum(path):
    return _model(path, [helper.make_node("Einsum", ["x", "x"], ["y"], name="n0",
                                          equation="...ij,...jk->...ik")],
                  [_io("x", [2, 8, 8])], [_io("y", None)])


def _qdq_zero_point(path):
    return _model(path, [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"], name="n0")],
                  [_io("x", [1, 4])], [_io("y", None)],
                  [_array("s", 0.1), _array("z", 3, np.int8)])


def _scatter(path):
    return _model(path, [helper.make_node("ScatterND", ["x", "i", "u"], ["y"], name="n0",
                                          reduction="add")],
                  [_io("x", [4]), _io("u", [1])], [_io("y", None)], [_array("i", [[1]], np.int64)])


def _resize(path):
    return _model(path, [helper.make_node("Resize", ["x", "", "s"], ["y"], name="n0",
                                          mode="cubic")],
                  [_io("x", [1, 4, 8, 8])], [_io("y", None)], [_array("s", [1, 1, 2, 2])])


def _deform(path):
    return _model(path, [helper.make_node("DeformConv", ["x", "w", "o"], ["y"], name="n0")],
                  [_io("x", [1, 4, 8, 8]), _io("o", [1, 18, 8, 8])], [_io("y", None)],
                  [_array("w", np.ones((4, 4, 3, 3)))], opset=19)


def _attention(path):
    return _model(path, [helper.make_node("Attention", ["q", "q", "q"], ["y"], name="n0")],
                  [_io("q", [1, 2, 4, 8])], [_io("y", None)], opset=23)


def _rms(path):
    return _model(path, [helper.make_node("RMSNormalization", ["x", "s"], ["y"], name="n0")],
                  [_io("x", [1, 4, 8])], [_io("y", None)], [_array("s", np.ones(8))], opset=23)


def _col2im(path):
    return _model(path, [helper.make_node("Col2Im", ["x", "i", "b"], ["y"], name="n0")],
                  [_io("x", [1, 4, 16])], [_io("y", None)],
                  [_array("i", [4, 4], np.int64), _array("b", [2, 2], np.int64)], opset=18)


# rule id -> (graph maker, a version it is flagged on, the first version it is not or None)
CASES = {
    "no-gridsample": (_gridsample(4), (8, 2), (8, 5)),
    "gridsample-5d": (_gridsample(5), (10, 16), (11, 2)),
    "no-layernorm": (_layernorm("LayerNormalization"), (8, 5), (8, 6)),
    "no-groupnorm": (_layernorm("GroupNormalization"), (8, 5), (8, 6)),
    "no-deformconv": (_deform, (8, 6), (10, 1)),
    "no-attention": (_attention, (10, 13), (10, 14)),
    "no-rope-rmsnorm": (_rms, (10, 14), (10, 15)),
    "no-col2im": (_col2im, (10, 16), None),
    "einsum-ellipsis": (_einsum, (8, 6), (10, 1)),
    "slice-axes-tensor": (_with_tensor_input("Slice", 3, [[0], [2]]), (8, 6), (10, 3)),
    "pad-axes-tensor": (_with_tensor_input("Pad", 3, [[0, 0, 1, 1, 0, 0, 1, 1], 0]), (10, 3),
                        (10, 4)),
    "squeeze-axes-tensor": (_with_tensor_input("Unsqueeze", 1, []), (10, 16), None),
    "instancenorm-params": (_instance_norm, (8, 5), (8, 6)),
    "resize-mode": (_resize, (10, 16), None),
    "qdq-zero-point": (_qdq_zero_point, (10, 3), None),
    "scatternd-reduction": (_scatter, (10, 16), None),
}


def test_every_rule_has_a_case():
    assert sorted(CASES) == sorted(rule.rule for rule in rules.RULES)
    assert all(rule.source and rule.reason for rule in rules.RULES)
    assert all(rule.severity in ("error", "warning") for rule in rules.RULES)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fires_before_its_version_and_not_after(tmp_path, rule_id):
    make, flagged, lifted = CASES[rule_id]
    graph = make(tmp_path / "m.onnx")
    hits = [f for f in checker.parser_findings(graph, flagged) if f["rule"] == rule_id]
    assert hits and hits[0]["node"] == "n0" and hits[0]["source"]
    if lifted is not None:
        assert not [f for f in checker.parser_findings(graph, lifted) if f["rule"] == rule_id]


def test_a_4d_gridsample_is_not_a_5d_one(tmp_path):
    graph = _gridsample(4)(tmp_path / "m.onnx")
    assert not [f for f in checker.parser_findings(graph, (10, 3))
                if f["rule"] == "gridsample-5d"]


def test_constant_axes_and_zero_zero_points_pass(tmp_path):
    graph = _model(tmp_path / "m.onnx", [
        helper.make_node("Unsqueeze", ["x", "a"], ["u"], name="u0"),
        helper.make_node("QuantizeLinear", ["u", "s", "z"], ["y"], name="q0")],
        [_io("x", [4])], [_io("y", None)],
        [_array("a", [0], np.int64), _array("s", 0.1), _array("z", 0, np.int8)])
    assert checker.parser_findings(graph, (8, 6)) == []


def test_unknown_domain_and_unknown_op_need_a_plugin(tmp_path):
    graph = _model(tmp_path / "m.onnx", [
        helper.make_node("Relu", ["x"], ["r"], name="relu0"),
        helper.make_node("FancyWarp", ["r"], ["y"], name="fancy_warp0", domain="com.example")],
        [_io("x", [1, 4])], [_io("y", None)], domains=["com.example"])
    found = checker.parser_findings(graph, (10, 16))
    assert [(f["rule"], f["node"], f["severity"]) for f in found] == \
        [("unknown-op", "fancy_warp0", "error")]
    assert "com.example" in found[0]["reason"]


def test_opset_above_the_documented_one_names_nodes_that_use_what_changed(tmp_path):
    # Opset 17 on TensorRT 8.2 (documents 13): Shape gained start/end at 15, which this node
    # uses; LayerNormalization did not exist at 13; Relu only gained types (not flagged).
    graph = _model(tmp_path / "m.onnx", [
        helper.make_node("Relu", ["x"], ["r"], name="relu0"),
        helper.make_node("Shape", ["r"], ["s"], name="shape0", start=1),
        helper.make_node("LayerNormalization", ["r", "g", "b"], ["y"], name="ln0")],
        [_io("x", [1, 4, 8])], [_io("y", None), _io("s", None)],
        [_array("g", np.ones(8)), _array("b", np.zeros(8))], opset=17)
    found = {(f["rule"], f["node"]) for f in checker.parser_findings(graph, (8, 2))}
    assert ("opset", None) in found and ("opset-changed-op", "shape0") in found
    assert ("opset-new-op", "ln0") in found and not any(n == "relu0" for _, n in found)
    assert not [f for f in checker.parser_findings(graph, (8, 6)) if f["rule"].startswith(
        "opset")]
    assert rules.max_opset((8, 2))[0] == 13 and rules.max_opset((10, 16))[0] == 24


def test_local_functions_and_int64_io_before_9(tmp_path):
    function = helper.make_function("local", "Twice", ["a"], ["b"],
                                    [helper.make_node("Add", ["a", "a"], ["b"])],
                                    [helper.make_opsetid("", 17)])
    graph = _model(tmp_path / "m.onnx",
                   [helper.make_node("Twice", ["x"], ["y"], name="t0", domain="local")],
                   [_io("x", [4], TensorProto.INT64)], [_io("y", None, TensorProto.INT64)],
                   functions=[function], domains=["local"])
    rules_found = {f["rule"]: f for f in checker.parser_findings(graph, (8, 6))}
    assert rules_found["local-functions"]["severity"] == "error"
    assert rules_found["int64-io"]["severity"] == "warning" and "x" in \
        rules_found["int64-io"]["reason"]
    assert "int64-io" not in {f["rule"] for f in checker.parser_findings(graph, (10, 3))}


def test_edgec_rules_int8_deconv_axis_external_data_and_memory(tmp_path):
    weights = _array("w", np.ones((4, 2, 3, 3)))
    nodes = [helper.make_node("DequantizeLinear", ["wq", "ws"], ["wd"], name="dq0", axis=1),
             helper.make_node("ConvTranspose", ["x", "wd"], ["y"], name="up0")]
    graph = _model(tmp_path / "m.onnx", nodes, [_io("x", [1, 4, 8, 8])], [_io("y", None)],
                   [_array("wq", np.ones((4, 2, 3, 3)), np.int8), _array("ws", np.ones(2))])
    found = {f["rule"] for f in checker.edgec_findings(graph, (8, 5), BY_KEY["nano"])}
    assert {"no-int8", "deconv-scale-axis"} <= found
    assert not {"no-int8", "deconv-scale-axis"} & {
        f["rule"] for f in checker.edgec_findings(graph, (10, 3), BY_KEY["orin-nano"])}

    model = helper.make_model(helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], name="c0")], "g", [_io("x", [1, 2, 8, 8])],
        [_io("y", None)], initializer=[weights]))
    path = tmp_path / "ext" / "m.onnx"
    path.parent.mkdir()
    onnx.save(model, str(path), save_as_external_data=True, location="m.onnx.data",
              size_threshold=0)
    assert checker.edgec_findings(checker.Graph(str(path)), (10, 3), BY_KEY["agx-orin"]) == []
    (tmp_path / "ext" / "m.onnx.data").unlink()
    found = checker.edgec_findings(checker.Graph(str(path)), (10, 3), BY_KEY["agx-orin"])
    assert [f["rule"] for f in found] == ["external-data"] and "m.onnx.data" in \
        found[0]["reason"]

    huge = TensorProto(name="huge", dims=[2 ** 30 + 2 ** 29], data_type=FLOAT)
    big = helper.make_model(helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="r0")], "g", [_io("x", [1])],
        [_io("y", None)], initializer=[huge]))
    onnx.save(big, str(tmp_path / "big.onnx"))  # dims say 6 GiB of weights; none stored
    found = checker.edgec_findings(checker.Graph(str(tmp_path / "big.onnx")), (10, 3),
                                   BY_KEY["orin-nano-4gb"])
    assert [f["rule"] for f in found] == ["memory"]
    assert not checker.edgec_findings(checker.Graph(str(tmp_path / "big.onnx")), (10, 3),
                                      BY_KEY["agx-orin"])


def test_every_board_is_checked_on_each_jetpack_line():
    pairs = [(p.key, j.group) for p, j, _ in checker.targets([])]
    assert ("nano", "jp46") in pairs and ("agx-xavier", "jp51") in pairs
    assert {("orin-nano", g) for g in ("jp51", "jp60", "jp62", "jp72")} <= set(pairs)
    assert {p.key for p, _, _ in checker.targets([])} == set(BY_KEY)
