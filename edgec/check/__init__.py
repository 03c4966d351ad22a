"""`edgec check`: will an ONNX import on a board's TensorRT (the rules per version, edgec's own
rules, and TensorRT-RTX as an optional real importer)."""
