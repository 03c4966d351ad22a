"""Quantization, in pipeline order; each package imports only those listed before it:

- quality: metrics, budgets, splits, quality.json, compare.png;
- calibration: observers, threshold methods, ranges.json and calib.cache;
- qdq: the quantization spec and the Q/DQ ONNX writer;
- evaluator: the fake-quant PyTorch model and its partial runner;
- quantize (module): one precision written and measured;
- search: the sensitivity sweep, plan selection, the output threshold search.

No tensorrt anywhere; the order is checked by tests/unit/test_layering.py."""
