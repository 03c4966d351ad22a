"""Normalisations written out as plain arithmetic for export. Opset 17 exports nn.LayerNorm as
the LayerNormalization op, which TensorRT's ONNX parser imports only from 8.6 on, and
nn.GroupNorm as InstanceNormalization over a reshape, which TensorRT 8.x builds through a
plugin; JetPack 4.6 and 5.1 ship 8.2 and 8.5. Written out, both are ReduceMean, Sub, Mul, Sqrt
and Div, which every TensorRT version builds natively. Parameters are named weight/bias, as
nn.LayerNorm's and nn.GroupNorm's, so released weights load strictly."""
import torch
from torch import nn


class ExplicitLayerNorm(nn.Module):
    """LayerNorm over one axis: the last, or the channels of N x C x H x W."""

    def __init__(self, channels: int, channels_first: bool = False, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.axis = 1 if channels_first else -1
        self.eps = eps

    def forward(self, x):
        mean = x.mean(self.axis, keepdim=True)
        var = (x - mean).pow(2).mean(self.axis, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        if self.axis == 1:
            return x * self.weight[:, None, None] + self.bias[:, None, None]
        return x * self.weight + self.bias


class ExplicitGroupNorm(nn.Module):
    """GroupNorm of N x C x ... (any number of trailing axes), its statistics over each group's
    channels and every trailing position. `frames` > 1 takes a (B F) x C x H x W input whose
    statistics span the F frames of each sample, as nn.GroupNorm on B x C x F x H x W does
    (LatentSync's ResNet norms)."""

    def __init__(self, groups: int, channels: int, eps: float = 1e-5):
        super().__init__()
        self.groups = groups
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x, frames: int = 1):
        shape = x.shape
        channels = shape[1]
        # A plain int 1 takes the short path; a traced frame count (an fx Proxy, never used in
        # a branch) the general one, which for one frame computes the same.
        per_frame = isinstance(frames, int) and frames == 1
        if not per_frame:  # (B F) C H W -> B F G (C/G H W): one group spans the sample's frames
            grouped = x.reshape(-1, frames, self.groups, channels // self.groups,
                                shape[2] * shape[3]).transpose(1, 2)
            grouped = grouped.reshape(grouped.shape[0], self.groups, -1)
        else:
            grouped = x.reshape(shape[0], self.groups, -1)
        mean = grouped.mean(-1, keepdim=True)
        var = (grouped - mean).pow(2).mean(-1, keepdim=True)
        normed = (grouped - mean) / torch.sqrt(var + self.eps)
        if not per_frame:
            normed = normed.reshape(-1, self.groups, frames, channels // self.groups,
                                    shape[2] * shape[3]).transpose(1, 2)
        # The affine on N x C x (positions), so no rank is needed (fx traces no len()).
        normed = normed.reshape(shape[0], channels, -1)
        return (normed * self.weight[:, None] + self.bias[:, None]).reshape(shape)
