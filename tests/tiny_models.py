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
