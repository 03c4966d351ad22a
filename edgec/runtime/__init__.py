"""The thin device runtime. Python 3.6 compatible; imports neither torch nor onnx."""
