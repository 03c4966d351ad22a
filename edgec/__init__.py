"""edgec: compile talking-face generators from PyTorch to TensorRT engines for Jetson devices."""

__version__ = "0.2.0"
