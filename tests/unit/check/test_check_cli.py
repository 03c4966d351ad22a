"""`edgec check` from the command line: exit status, named nodes, folders and bundles, and
TensorRT-RTX as the real importer where it is installed."""
import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgec.check import rtx

HAVE_RTX = rtx.rtx_version() is not None
needs_rtx = pytest.mark.skipif(not HAVE_RTX, reason="TensorRT-RTX not installed "
                                                     "(pip install 'edgec[rtx]')")


def _fancy(path):
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"], name="relu0"),
         helper.make_node("FancyWarp", ["r"], ["y"], name="fancy_warp0", domain="com.example")],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.example", 1)])
    onnx.save(model, str(path))
    return str(path)


def _conv_folder(folder):
    """A build folder's FP32 model.onnx and a Q/DQ model.int8.onnx, as edgec writes them."""
    folder.mkdir()
    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    io = ([helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 8, 8])],
          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    fp32 = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], name="c0")], "g",
                             *io, initializer=[w])
    onnx.save(helper.make_model(fp32, opset_imports=[helper.make_opsetid("", 17)]),
              str(folder / "model.onnx"))
    inits = [numpy_helper.from_array(np.ones((4, 3, 3, 3), np.int8), "wq"),
             numpy_helper.from_array(np.full(4, 0.01, np.float32), "ws"),
             numpy_helper.from_array(np.float32(0.02), "xs")]
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs"], ["xq"], name="q0"),
             helper.make_node("DequantizeLinear", ["xq", "xs"], ["xd"], name="dq0"),
             helper.make_node("DequantizeLinear", ["wq", "ws"], ["wd"], name="dqw", axis=0),
             helper.make_node("Conv", ["xd", "wd"], ["y"], name="c0")]
    int8 = helper.make_graph(nodes, "g", *io, initializer=inits)
    onnx.save(helper.make_model(int8, opset_imports=[helper.make_opsetid("", 17)]),
              str(folder / "model.int8.onnx"))
    (folder / "calib.cache").write_text("TRT-8502-EntropyCalibration2\nx: 3c23d70a\n")
    return str(folder)


def test_an_op_of_an_unknown_domain_fails_naming_the_node(run_cli, tmp_path):
    path = _fancy(tmp_path / "fancy.onnx")
    result = run_cli("check", path, "--target", "orin-nano", "--no-rtx")
    assert result.exit_code == 1
    assert "fancy_warp0" in result.output and "FancyWarp" in result.output
    assert "10.3.0" in result.output and "com.example" in result.output
    assert "no real importer ran: --no-rtx" in result.output


def test_a_folder_is_checked_per_precision_in_the_file_each_version_builds(run_cli, tmp_path):
    folder = _conv_folder(tmp_path / "build")
    result = run_cli("check", folder, "--target", "nano", "--target", "orin-nano", "--json",
                     "--no-rtx")
    assert result.exit_code == 1  # INT8 on a Nano
    rows = json.loads(result.output)["rows"]
    verdict = {(r["board"], r["tensorrt"], r["precision"]): (r["verdict"], r["file"])
               for r in rows}
    assert verdict[("nano", "8.2.1", "int8")][0] == "cannot import"
    assert verdict[("nano", "8.2.1", "fp32")][0] == "imports, with warnings"  # opset 17 > 13
    # TensorRT 8.x builds INT8 from the FP32 ONNX and calib.cache; 10+ from the Q/DQ file.
    assert verdict[("orin-nano", "8.6.2", "int8")] == ("imports", "model.onnx")
    assert verdict[("orin-nano", "10.3.0", "int8")] == ("imports", "model.int8.onnx")
    ok = run_cli("check", folder, "--target", "orin-nano", "--no-rtx")
    assert ok.exit_code == 0, ok.output
    missing = run_cli("check", str(tmp_path / "nothing"))
    assert missing.exit_code == 2 and "no such file or folder" in missing.output


@needs_rtx
def test_tensorrt_rtx_names_the_node_it_refuses(run_cli, tmp_path):
    result = run_cli("check", _fancy(tmp_path / "fancy.onnx"), "--target", "agx-orin")
    assert result.exit_code == 1
    assert "TensorRT-RTX %s" % rtx.rtx_version() in result.output
    assert "In node 1 with name: fancy_warp0 and operator: FancyWarp" in result.output


@needs_rtx
def test_tensorrt_rtx_builds_every_precision_of_a_folder(run_cli, tmp_path):
    folder = _conv_folder(tmp_path / "build")
    result = run_cli("check", folder, "--target", "agx-orin", "--rtx", "--json")
    assert result.exit_code == 0, result.output
    built = {r["file"]: r for r in json.loads(result.output)["rtx"]}
    assert set(built) == {"model.onnx", "model.int8.onnx"}
    assert all(r["parsed"] and r["built"] and r["engine_bytes"] > 0 for r in built.values())
