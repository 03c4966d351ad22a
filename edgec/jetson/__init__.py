"""Jetson support: board detection and profiles, tegrastats, clocks and power. No torch, no onnx;
Python 3.6 compatible (runs on JetPack 4.6)."""
