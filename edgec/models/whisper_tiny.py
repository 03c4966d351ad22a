"""Whisper-tiny's audio encoder, as LatentSync uses it for its audio tokens: a 30 s window of
80 log-mel bands at 100 frames/s -> 1500 steps (50/s) x 384, and LatentSync takes five hidden
states of every step (after the positional embedding and after each of the 4 blocks, before
the final LayerNorm). Parameter names are those of OpenAI's `tiny.pt` encoder (the checkpoint
adapter takes its `model_state_dict` and drops the text decoder)."""
import math

import torch
import torch.nn.functional as F
from torch import nn

from edgec.models.attention import AttentionCore
from edgec.models.norms import ExplicitLayerNorm

MELS = 80
MEL_FRAMES = 3000  # 30 s at 100 frames/s
STEPS = 1500
WIDTH = 384
HEADS = 6
BLOCKS = 4


def sinusoids(length: int, channels: int, max_timescale: float = 10000.0) -> torch.Tensor:
    """Whisper's positional embedding: [sin | cos] at geometric timescales."""
    increment = math.log(max_timescale) / (channels // 2 - 1)
    inverse = torch.exp(-increment * torch.arange(channels // 2, dtype=torch.float32))
    scaled = torch.arange(length, dtype=torch.float32)[:, None] * inverse[None, :]
    return torch.cat([torch.sin(scaled), torch.cos(scaled)], dim=1)


class WhisperAttention(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.query = nn.Linear(width, width)
        self.key = nn.Linear(width, width, bias=False)
        self.value = nn.Linear(width, width)
        self.out = nn.Linear(width, width)
        self.core = AttentionCore(heads)

    def forward(self, x):
        return self.out(self.core(self.query(x), self.key(x), self.value(x)))


class WhisperBlock(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.attn = WhisperAttention(width, heads)
        self.attn_ln = ExplicitLayerNorm(width, eps=1e-5)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(),
                                 nn.Linear(4 * width, width))
        self.mlp_ln = ExplicitLayerNorm(width, eps=1e-5)

    def forward(self, x):
        x = x + self.attn(self.attn_ln(x))
        return x + self.mlp(self.mlp_ln(x))


class WhisperTinyEncoder(nn.Module):
    """mel [N, 80, 3000] -> hidden states [N, 5, 1500, 384]."""

    def __init__(self, width: int = WIDTH, heads: int = HEADS, blocks: int = BLOCKS,
                 steps: int = STEPS):
        super().__init__()
        self.conv1 = nn.Conv1d(MELS, width, 3, padding=1)
        self.conv2 = nn.Conv1d(width, width, 3, stride=2, padding=1)
        self.register_buffer("positional_embedding", sinusoids(steps, width))
        self.blocks = nn.ModuleList([WhisperBlock(width, heads) for _ in range(blocks)])
        # In the checkpoint and loaded strictly; LatentSync's tokens are taken before it.
        self.ln_post = ExplicitLayerNorm(width, eps=1e-5)

    def forward(self, mel):
        x = F.gelu(self.conv2(F.gelu(self.conv1(mel)))).transpose(1, 2)
        x = x + self.positional_embedding
        states = [x]
        for block in self.blocks:
            x = block(x)
            states.append(x)
        return torch.stack(states, dim=1)


def whisper_encoder_state(obj):
    """OpenAI's checkpoint ({"dims", "model_state_dict"}) -> the encoder's state dict."""
    state = obj["model_state_dict"] if isinstance(obj, dict) and "model_state_dict" in obj \
        else obj
    return {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
