"""The quantization spec (what INT8 and FP16 mean for each layer) and the Q/DQ ONNX writer that
follows TensorRT's explicit-quantization rules. Imports calibration (scales from ranges.json)."""
