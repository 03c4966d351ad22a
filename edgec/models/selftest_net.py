"""The tiny network behind `edgec selftest`'s shipped bundle (edgec/data/selftest).

Small enough that its bundle is tens of KB, yet it holds each construct a device build has to
get right: plain and strided convolutions, a ConvTranspose with in_channels != out_channels
(TensorRT's per-channel weight-scale axis for deconvolutions differs between versions: 8.x
takes axis 0, the Q/DQ ONNX that 10+ builds from has axis 1), ReLUs, a residual Add and a
channel Concat. The weights are a fixed function of a seed, so the same bundle is made every
time with the same torch.

    edgec build --model edgec.models.selftest_net:SelftestNet --input image:1x3x16x16 ...
"""
import torch
from torch import nn

SEED = 20240917


class SelftestNet(nn.Module):
    """image (N, 3, H, W) -> (N, 3, H, W), H and W even; the bundle uses 16 x 16 (its
    reference outputs are most of its size)."""

    def __init__(self, seed: int = SEED):
        super().__init__()
        # Default initialisation under a private seed: deterministic, and the caller's global
        # random state is left as it was.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.stem = nn.Conv2d(3, 8, 3, padding=1)  # H x W
            self.down = nn.Conv2d(8, 16, 3, stride=2, padding=1)  # strided: H/2 x W/2
            self.body = nn.Conv2d(16, 16, 3, padding=1)  # + residual
            self.up = nn.ConvTranspose2d(16, 8, 2, stride=2)  # C_in 16 != C_out 8: H x W
            self.head = nn.Conv2d(16, 3, 3, padding=1)  # after concat(up, stem)
        self.relu = nn.ReLU()

    def forward(self, image):
        stem = self.relu(self.stem(image))
        down = self.relu(self.down(stem))
        body = self.relu(self.body(down) + down)
        up = self.relu(self.up(body))
        return self.head(torch.cat([up, stem], dim=1))
