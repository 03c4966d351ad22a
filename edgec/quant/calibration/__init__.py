"""Activation statistics (one observer per module: ONNX Runtime, PyTorch, layer inputs only),
threshold methods, and the calibration step that writes ranges.json and calib.cache. Imports
quality (the splits) and nothing above it."""
