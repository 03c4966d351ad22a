"""A tiny ONNX model built with onnx.helper (no torch): Conv -> Sigmoid, dynamic batch, an old
opset so that the ONNX Runtime of Python 3.6 (1.10) loads it too."""
import numpy as np


def tiny_onnx(path, opset=13, seed=0):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.RandomState(seed)
    weight = numpy_helper.from_array(rng.randn(4, 3, 3, 3).astype(np.float32) * 0.2, "w")
    bias = numpy_helper.from_array(rng.randn(4).astype(np.float32) * 0.1, "b")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["image", "w", "b"], ["conv"], name="conv0", pads=[1] * 4),
         helper.make_node("Sigmoid", ["conv"], ["output"], name="sigmoid")],
        "tiny", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, 16, 16])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 4, 16, 16])],
        initializer=[weight, bias])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


if __name__ == "__main__":
    import sys

    tiny_onnx(sys.argv[1])
