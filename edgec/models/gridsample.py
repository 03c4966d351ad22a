"""Trilinear sampling of a 5-D volume, as a module of its own so that the exporter can swap in
another form of it (edgec.exporter.gridsample: a decomposition TensorRT 8.x can build)."""
import torch.nn.functional as F
from torch import nn


class GridSample5d(nn.Module):
    """F.grid_sample on N x C x D x H x W with a N x Do x Ho x Wo x 3 grid of (x, y, z) in
    [-1, 1]: bilinear, zeros padding. Exports as ONNX GridSample (opset 20 for 5-D input)."""

    def __init__(self, align_corners: bool = False):
        super().__init__()
        self.align_corners = align_corners

    def forward(self, volume, grid):
        return F.grid_sample(volume, grid, mode="bilinear", padding_mode="zeros",
                             align_corners=self.align_corners)
