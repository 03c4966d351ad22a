"""Calibration data: readers that yield a model's exact inputs, sampling, and the sample store."""
