"""The Wav2Lip generator and its compressed student, Lite Wav2Lip.

Module names and nesting follow the original project, so its checkpoints load key for key:
`face_encoder_blocks`, `audio_encoder`, `face_decoder_blocks`, `output_block`, each conv a
`conv_block` of Conv + BatchNorm. The student is the same topology at x0.25 channels with every
residual conv removed.
"""
from typing import List, Sequence, Tuple

import torch
from torch import nn

# (cin, cout, kernel, stride, padding, residual) at full width.
ConvSpec = Tuple[int, int, int, object, int, bool]

FACE_ENCODER: List[List[ConvSpec]] = [
    [(6, 16, 7, 1, 3, False)],
    [(16, 32, 3, 2, 1, False)] + [(32, 32, 3, 1, 1, True)] * 2,
    [(32, 64, 3, 2, 1, False)] + [(64, 64, 3, 1, 1, True)] * 3,
    [(64, 128, 3, 2, 1, False)] + [(128, 128, 3, 1, 1, True)] * 2,
    [(128, 256, 3, 2, 1, False)] + [(256, 256, 3, 1, 1, True)] * 2,
    [(256, 512, 3, 2, 1, False), (512, 512, 3, 1, 1, True)],
    [(512, 512, 3, 1, 0, False), (512, 512, 1, 1, 0, False)],
]

AUDIO_ENCODER: List[ConvSpec] = (
    [(1, 32, 3, 1, 1, False)] + [(32, 32, 3, 1, 1, True)] * 2
    + [(32, 64, 3, (3, 1), 1, False)] + [(64, 64, 3, 1, 1, True)] * 2
    + [(64, 128, 3, 3, 1, False)] + [(128, 128, 3, 1, 1, True)] * 2
    + [(128, 256, 3, (3, 2), 1, False), (256, 256, 3, 1, 1, True)]
    + [(256, 512, 3, 1, 0, False), (512, 512, 1, 1, 0, False)]
)

# First entry of each block: (cin, cout, kernel, stride, padding, output_padding, transposed).
DECODER_HEADS = [
    (512, 512, 1, 1, 0, 0, False),
    (1024, 512, 3, 1, 0, 0, True),
    (1024, 512, 3, 2, 1, 1, True),
    (768, 384, 3, 2, 1, 1, True),
    (512, 256, 3, 2, 1, 1, True),
    (320, 128, 3, 2, 1, 1, True),
    (160, 64, 3, 2, 1, 1, True),
]
DECODER_RESIDUALS = [0, 1, 2, 2, 2, 2, 2]


class Conv2d(nn.Module):
    """Conv -> BatchNorm -> (+ input) -> ReLU, as in the original project."""

    def __init__(self, cin, cout, kernel_size, stride, padding, residual=False):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.Conv2d(cin, cout, kernel_size, stride, padding), nn.BatchNorm2d(cout))
        self.act = nn.ReLU()
        self.residual = residual

    def forward(self, x):
        out = self.conv_block(x)
        if self.residual:
            out = out + x
        return self.act(out)


class Conv2dTranspose(nn.Module):
    """ConvTranspose -> BatchNorm -> ReLU."""

    def __init__(self, cin, cout, kernel_size, stride, padding, output_padding=0):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ConvTranspose2d(cin, cout, kernel_size, stride, padding, output_padding),
            nn.BatchNorm2d(cout))
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.conv_block(x))


def _scaled(channels: int, width: float) -> int:
    # Inputs (6 face channels, 1 mel channel) and the RGB output keep their size.
    return channels if channels in (1, 3, 6) else max(1, int(round(channels * width)))


class Wav2Lip(nn.Module):
    """Wav2Lip generator: mel (B,1,80,16) + face (B,6,96,96) -> face (B,3,96,96)."""

    def __init__(self, width: float = 1.0, residual: bool = True):
        super().__init__()
        self.width = width
        self.has_residual = residual

        def conv(spec):
            cin, cout, k, s, p, res = spec
            return Conv2d(_scaled(cin, width), _scaled(cout, width), k, s, p, res)

        def keep(specs: Sequence[ConvSpec]) -> List[ConvSpec]:
            return [s for s in specs if residual or not s[5]]

        self.face_encoder_blocks = nn.ModuleList(
            [nn.Sequential(*[conv(s) for s in keep(block)]) for block in FACE_ENCODER])
        self.audio_encoder = nn.Sequential(*[conv(s) for s in keep(AUDIO_ENCODER)])
        blocks = []
        for head, n_res in zip(DECODER_HEADS, DECODER_RESIDUALS):
            cin, cout, k, s, p, op, transposed = head
            cin, cout = _scaled(cin, width), _scaled(cout, width)
            first = (Conv2dTranspose(cin, cout, k, s, p, op) if transposed
                     else Conv2d(cin, cout, k, s, p))
            res = [Conv2d(cout, cout, 3, 1, 1, True) for _ in range(n_res if residual else 0)]
            blocks.append(nn.Sequential(first, *res))
        self.face_decoder_blocks = nn.ModuleList(blocks)
        self.output_block = nn.Sequential(
            Conv2d(_scaled(80, width), _scaled(32, width), 3, 1, 1),
            nn.Conv2d(_scaled(32, width), 3, kernel_size=1, stride=1, padding=0),
            nn.Sigmoid())

    def forward(self, mel: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        x = self.audio_encoder(mel)
        feats = []
        f = face
        for block in self.face_encoder_blocks:
            f = block(f)
            feats.append(f)
        for block in self.face_decoder_blocks:
            x = torch.cat((block(x), feats.pop()), dim=1)
        return self.output_block(x)


def wav2lip_layer_name(module_path: str) -> str:  # noqa: D401
    """Short stable name for a conv of the Wav2Lip family, e.g. `enc1.2`, `audio.4`, `dec3.0`."""
    parts = module_path.split(".")
    if parts[0] == "face_encoder_blocks":
        return "enc%s.%s" % (parts[1], parts[2])
    if parts[0] == "face_decoder_blocks":
        return "dec%s.%s" % (parts[1], parts[2])
    if parts[0] == "audio_encoder":
        return "audio.%s" % parts[1]
    if parts[0] == "output_block":
        return "out.%s" % parts[1]
    return module_path
