"""The terms of the distillation objective, each comparing the student with the frozen teacher.

Following OMGD (Ren et al. 2021), which the compression paper's distillation builds on: output
terms (SSIM, total variation, and VGG-16 perceptual and style terms when VGG weights are given)
and channel distillation, the mean squared difference between per-channel global averages of
teacher activations and 1x1-adapted student activations.
"""
from typing import Dict, List, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from edgec.errors import EdgecError
from edgec.quant.quality.metrics import _gaussian_taps  # the evaluator's window, for one SSIM

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5


def _gaussian_window(channels: int, device, dtype) -> torch.Tensor:
    taps = _gaussian_taps(device, SSIM_WINDOW, SSIM_SIGMA).to(dtype)
    window = torch.outer(taps, taps)
    return window.expand(channels, 1, SSIM_WINDOW, SSIM_WINDOW).contiguous()


def ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean SSIM of images in [0, 1], differentiable (the quality evaluator's SSIM,
    edgec.quant.quality.metrics, works in place for speed): 11x11 Gaussian window, sigma 1.5, zero
    padding."""
    channels = a.shape[1]
    window = _gaussian_window(channels, a.device, a.dtype)
    pad = SSIM_WINDOW // 2

    def blur(x):
        return F.conv2d(x, window, padding=pad, groups=channels)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a ** 2
    var_b = blur(b * b) - mu_b ** 2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    value = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return value.mean()


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Sum of absolute neighbour differences per image, averaged over the batch (OMGD sums over
    pixels, which its 1e-5 weight assumes)."""
    dx = (image[:, :, :, 1:] - image[:, :, :, :-1]).abs().sum()
    dy = (image[:, :, 1:, :] - image[:, :, :-1, :]).abs().sum()
    return (dx + dy) / image.shape[0]


class ChannelAdapters(nn.Module):
    """One 1x1 conv (student channels -> teacher channels) + BatchNorm + ReLU per distilled
    layer; trained with the student, dropped afterwards."""

    def __init__(self, student_channels: Sequence[int], teacher_channels: Sequence[int]):
        super().__init__()
        self.adapters = nn.ModuleList()
        for s_ch, t_ch in zip(student_channels, teacher_channels):
            conv = nn.Conv2d(s_ch, t_ch, kernel_size=1, bias=False)
            nn.init.normal_(conv.weight, 0.0, (2.0 / t_ch) ** 0.5)
            self.adapters.append(nn.Sequential(conv, nn.BatchNorm2d(t_ch), nn.ReLU()))

    def forward(self, student_feats: List[torch.Tensor],
                teacher_feats: List[torch.Tensor]) -> torch.Tensor:
        total = student_feats[0].new_zeros(())
        for adapter, s, t in zip(self.adapters, student_feats, teacher_feats):
            total = total + ((adapter(s).mean(dim=(2, 3)) - t.detach().mean(dim=(2, 3))) ** 2).mean()
        return total


# VGG-16's convolutional part (torchvision's `features` indices), to read relu1_2, relu2_2,
# relu3_3 and relu4_3 from a state dict given by path: nothing is downloaded.
VGG16_CONFIG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512]
VGG16_TAPS = (3, 8, 15, 22)  # indices of the ReLUs after conv1_2, conv2_2, conv3_3, conv4_3
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class VGG16Features(nn.Module):
    def __init__(self):
        super().__init__()
        layers = []  # type: List[nn.Module]
        channels = 3
        for item in VGG16_CONFIG:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, int(item), 3, padding=1), nn.ReLU()]
                channels = int(item)
        self.features = nn.Sequential(*layers)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, image: torch.Tensor) -> List[torch.Tensor]:
        x = (image - self.mean) / self.std
        taps = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in VGG16_TAPS:
                taps.append(x)
        return taps


def load_vgg16(path: str) -> VGG16Features:
    """VGG-16 from a torchvision-layout state dict (`features.N.weight`, classifier ignored)."""
    from edgec.models.checkpoint import read_state_dict

    state = read_state_dict(path)
    model = VGG16Features()
    wanted = {k for k in model.state_dict() if k.startswith("features.")}
    missing = sorted(wanted - set(state))
    if missing:
        raise EdgecError("VGG-16 weights %s lack %d of the convolution tensors edgec needs "
                         "(%s...): expected torchvision's vgg16 state dict"
                         % (path, len(missing), ", ".join(missing[:3])))
    own = model.state_dict()
    for key in wanted:
        if tuple(state[key].shape) != tuple(own[key].shape):
            raise EdgecError("VGG-16 weights %s: %s has shape %s, expected %s"
                             % (path, key, list(state[key].shape), list(own[key].shape)))
    model.load_state_dict({k: state[k] for k in wanted}, strict=False)
    return model.eval().requires_grad_(False)


def gram(feature: torch.Tensor) -> torch.Tensor:
    b, c, h, w = feature.shape
    flat = feature.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def perceptual_terms(vgg: VGG16Features, student: torch.Tensor,
                     teacher: torch.Tensor) -> Dict[str, torch.Tensor]:
    """OMGD's feature term (L1 on relu2_2) and style term (L1 between Gram matrices, summed over
    the four taps)."""
    s_taps, t_taps = vgg(student), vgg(teacher.detach())
    style = sum(F.l1_loss(gram(s), gram(t)) for s, t in zip(s_taps, t_taps))
    return {"feature": F.l1_loss(s_taps[1], t_taps[1]), "style": style}
