"""Quantization: ranges, precision plans, Q/DQ writer, fake-quant evaluation, sweep. No tensorrt."""
