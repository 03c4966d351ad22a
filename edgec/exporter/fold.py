"""Fold BatchNorm into the preceding conv, in PyTorch, before export.

Folding first means the ONNX file, the fake-quant evaluator and TensorRT all see the same conv
weights, so per-channel weight scales computed by edgec are the ones the engine uses, and ONNX
conv nodes can be matched to PyTorch layers by their weights.
"""
import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from edgec.models.layers import CONV_TYPES

_BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of `model` (eval mode) where every conv directly followed by a BatchNorm inside an
    nn.Sequential carries the BN's affine transform and the BN is replaced by Identity. A model
    without BatchNorm is returned as it is: nothing to fold, and no second copy of weights
    (LatentSync's UNet has 5 GB of them)."""
    if not any(isinstance(m, _BN_TYPES) for m in model.modules()):
        return model.eval()
    folded = copy.deepcopy(model).eval()
    for module in folded.modules():
        # Modules that apply a BatchNorm right after a conv outside a Sequential declare the
        # pair (attribute names) in `fold_pairs`.
        for conv_name, bn_name in getattr(module, "fold_pairs", ()):
            conv, bn = getattr(module, conv_name), getattr(module, bn_name)
            if isinstance(conv, CONV_TYPES) and isinstance(bn, _BN_TYPES):
                transpose = isinstance(conv, (nn.ConvTranspose1d, nn.ConvTranspose2d,
                                              nn.ConvTranspose3d))
                setattr(module, conv_name, fuse_conv_bn_eval(conv, bn, transpose=transpose))
                setattr(module, bn_name, nn.Identity())
        if not isinstance(module, nn.Sequential):
            continue
        names = list(module._modules)
        for first, second in zip(names, names[1:]):
            conv, bn = module._modules[first], module._modules[second]
            if isinstance(conv, CONV_TYPES) and isinstance(bn, _BN_TYPES):
                transpose = isinstance(conv, (nn.ConvTranspose1d, nn.ConvTranspose2d,
                                              nn.ConvTranspose3d))
                module._modules[first] = fuse_conv_bn_eval(conv, bn, transpose=transpose)
                module._modules[second] = nn.Identity()
    return folded


@torch.no_grad()
def folding_error(model: nn.Module, folded: nn.Module, inputs) -> float:
    return float((model(*inputs) - folded(*inputs)).abs().max())
