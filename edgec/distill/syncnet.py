"""The lip-sync term: Wav2Lip's expert SyncNet (the colour model), frozen, scoring five
consecutive generated frames against their audio window.

Module names follow the original project's `SyncNet_color`, so its released `lipsync_expert.pth`
loads key for key (given by path: nothing is downloaded). Its audio encoder is the generator's.
The term is Wav2Lip's: binary cross-entropy of the cosine similarity of the two embeddings
against "in sync", on the lower halves of five frames stacked along channels (15 x 48 x 96).
"""
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edgec.errors import EdgecError
from edgec.models.wav2lip import AUDIO_ENCODER, Conv2d

SYNC_FRAMES = 5  # frames per audio window (16 mel steps = 0.2 s = 5 frames at 25 fps)

# (cin, cout, kernel, stride, padding, residual)
SYNC_FACE_ENCODER = (
    [(15, 32, 7, 1, 3, False), (32, 64, 5, (1, 2), 1, False)] + [(64, 64, 3, 1, 1, True)] * 2
    + [(64, 128, 3, 2, 1, False)] + [(128, 128, 3, 1, 1, True)] * 3
    + [(128, 256, 3, 2, 1, False)] + [(256, 256, 3, 1, 1, True)] * 2
    + [(256, 512, 3, 2, 1, False)] + [(512, 512, 3, 1, 1, True)] * 2
    + [(512, 512, 3, 2, 1, False), (512, 512, 3, 1, 0, False), (512, 512, 1, 1, 0, False)])


class SyncNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.face_encoder = nn.Sequential(*[Conv2d(*spec) for spec in SYNC_FACE_ENCODER])
        self.audio_encoder = nn.Sequential(*[Conv2d(*spec) for spec in AUDIO_ENCODER])

    def forward(self, mel: torch.Tensor, faces: torch.Tensor):
        audio = F.normalize(self.audio_encoder(mel).flatten(1), p=2, dim=1)
        face = F.normalize(self.face_encoder(faces).flatten(1), p=2, dim=1)
        return audio, face


def load_syncnet(path: str) -> SyncNet:
    from edgec.models.checkpoint import load_checkpoint

    model = SyncNet()
    try:
        load_checkpoint(model, path, "syncnet")
    except EdgecError as exc:
        raise EdgecError("--syncnet: %s (expected Wav2Lip's colour SyncNet, "
                         "lipsync_expert.pth)" % exc.message)
    return model.eval().requires_grad_(False)


def stack_lower_halves(frames: torch.Tensor) -> torch.Tensor:
    """(W*5, 3, H, W') generated frames, five per window in order -> (W, 15, H/2, W')."""
    count, channels, height, width = frames.shape
    lower = frames[:, :, height // 2:]
    return lower.reshape(count // SYNC_FRAMES, SYNC_FRAMES * channels, height - height // 2, width)


def sync_loss(syncnet: SyncNet, mel: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    """`mel`: (W, 1, 80, 16), the window starting at each run's first frame."""
    audio, face = syncnet(mel, stack_lower_halves(frames))
    similarity = F.cosine_similarity(audio, face).clamp(1e-7, 1 - 1e-7)
    return F.binary_cross_entropy(similarity, torch.ones_like(similarity))


def frame_runs(positions: Sequence[Sequence[int]], allowed: Sequence[int]) -> np.ndarray:
    """Start indices (into the store) of runs of SYNC_FRAMES consecutive frames of one clip,
    all among `allowed` samples. `positions`: [clip, frame] per sample, as the Wav2Lip reader
    records them in the store's manifest."""
    where = {}
    allowed_set = set(int(i) for i in allowed)
    for index, (clip, frame) in enumerate(positions):
        if index in allowed_set:
            where[(int(clip), int(frame))] = index
    starts = []
    for (clip, frame), index in sorted(where.items(), key=lambda kv: kv[1]):
        run = [where.get((clip, frame + k)) for k in range(SYNC_FRAMES)]
        if all(r is not None for r in run):
            starts.append(run)
    return np.asarray(starts, dtype=np.int64).reshape(-1, SYNC_FRAMES)
