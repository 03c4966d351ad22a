"""Small user-defined models for tests of `--model package.module:factory`."""
from torch import nn


class TinyConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(8, 8, 3, stride=2, padding=1), nn.ReLU())
        self.head = nn.ConvTranspose2d(8, 3, 2, stride=2)

    def forward(self, image):
        return self.head(self.features(image))


def tiny_convnet():
    return TinyConvNet()


class TinySpadeNet(nn.Module):
    """The parts of LivePortrait's SPADE decoder and motion extractor that the PyTorch
    observers and the sweep's partial runs must handle: a parameter-free instance norm, a
    conditioning map resized to x.shape and convolved, and a Linear + GELU over channels
    (exported as MatMul, Add and an erf decomposition with no PyTorch counterpart)."""

    def __init__(self):
        super().__init__()
        self.conv_in = nn.Conv2d(4, 8, 3, stride=2, padding=1)
        self.norm = nn.InstanceNorm2d(8, affine=False)
        self.mlp_shared = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(8, 8, 3, padding=1)
        self.mlp_beta = nn.Conv2d(8, 8, 3, padding=1)
        self.pw1 = nn.Linear(8, 16)
        self.act = nn.GELU()
        self.pw2 = nn.Linear(16, 8)
        self.conv_out = nn.Conv2d(8, 3, 3, padding=1)

    def forward(self, feature):
        x = self.conv_in(feature)
        condition = nn.functional.interpolate(feature, size=x.shape[2:], mode="nearest")
        shared = self.mlp_shared(condition)
        x = self.norm(x) * (1 + self.mlp_gamma(shared)) + self.mlp_beta(shared)
        y = self.pw2(self.act(self.pw1(x.permute(0, 2, 3, 1)))).permute(0, 3, 1, 2)
        return self.conv_out(x + y)


def tiny_spade():
    return TinySpadeNet()
