"""LatentSync's stage-2 3-D UNet (LatentSync 1.5 at 256 px, 1.6 at 512 px: one architecture),
written for export. Read from bytedance/LatentSync at a229c394 (configs/unet/stage2.yaml,
latentsync/models/*.py); the code is edgec's own, the parameter and buffer names are those of
the released `latentsync_unet.pt` state dict (1,246 entries), so it loads strictly.

The SD-1.5 layout: blocks of 320/640/1280/1280 channels, 2 ResNets a down block and 3 an up
block, a spatial transformer (self-attention, then cross-attention on 384-d Whisper-tiny
audio tokens, then a GEGLU feed-forward; 8 heads) after every ResNet of the first three down
blocks, the middle and the last three up blocks, and a temporal motion module (two
self-attentions across the frames with sinusoidal positions up to 24, 8 heads) after every
ResNet of the down and up blocks. 13 input channels: noisy latents 4 | mask 1 | masked-image
latents 4 | reference latents 4.

Frames are folded into the batch, (B F) C H W, so every conv is a 2-D conv (LatentSync's
"inflated" convs are per-frame 2-D convs too). What couples the frames: the ResNets' and the
output's GroupNorms take statistics over all F frames of a sample (nn.GroupNorm on the 5-D
tensor there), and the motion modules attend across them. One sample's 16 frames therefore
run through together; the batch axis is the sample (B), and guidance's two halves are two
samples.
"""
import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from edgec.models.attention import Attention
from edgec.models.norms import ExplicitGroupNorm, ExplicitLayerNorm

FRAMES = 16
AUDIO_TOKENS = 50  # 10 Whisper steps (200 ms) x 5 hidden states, per video frame
AUDIO_DIM = 384  # Whisper-tiny's width
LATENT_CHANNELS = 4
IN_CHANNELS = 13


class GEGLU(nn.Module):
    def __init__(self, dim_in: int, dim_out: int):
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out * 2)

    def forward(self, x):
        value, gate = self.proj(x).chunk(2, dim=-1)
        return value * F.gelu(gate)  # exact (erf) GELU


class FeedForward(nn.Module):
    """Keys net.0.proj and net.2 (net.1 is a parameter-free dropout in training)."""

    def __init__(self, dim: int, mult: int = 4):
        super().__init__()
        self.net = nn.ModuleList([GEGLU(dim, dim * mult), nn.Identity(),
                                  nn.Linear(dim * mult, dim)])

    def forward(self, x):
        return self.net[2](self.net[0](x))


class ResnetBlock(nn.Module):
    def __init__(self, cin: int, cout: int, temb_dim: int, eps: float = 1e-5):
        super().__init__()
        self.norm1 = ExplicitGroupNorm(32, cin, eps)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb_dim, cout)
        self.norm2 = ExplicitGroupNorm(32, cout, eps)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb, frames: int):
        """temb: [(B F), temb_dim], SiLU already applied."""
        h = self.conv1(F.silu(self.norm1(x, frames)))
        h = h + self.time_emb_proj(temb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h, frames)))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


class TransformerBlock(nn.Module):
    def __init__(self, dim: int, heads: int, context_dim: int):
        super().__init__()
        self.norm1 = ExplicitLayerNorm(dim, eps=1e-5)
        self.attn1 = Attention(dim, heads)
        self.norm2 = ExplicitLayerNorm(dim, eps=1e-5)
        self.attn2 = Attention(dim, heads, context_dim)
        self.norm3 = ExplicitLayerNorm(dim, eps=1e-5)
        self.ff = FeedForward(dim)

    def forward(self, x, context):
        x = x + self.attn1(self.norm1(x))
        x = x + self.attn2(self.norm2(x), context)
        return x + self.ff(self.norm3(x))


class SpatialTransformer(nn.Module):
    """Per frame: GroupNorm, 1x1 conv in, one transformer block over the H x W tokens, 1x1
    conv out, residual."""

    def __init__(self, channels: int, heads: int, context_dim: int):
        super().__init__()
        self.norm = ExplicitGroupNorm(32, channels, 1e-6)
        self.proj_in = nn.Conv2d(channels, channels, 1)
        self.transformer_blocks = nn.ModuleList([TransformerBlock(channels, heads, context_dim)])
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x, context):
        bf, c, h, w = x.shape
        tokens = self.proj_in(self.norm(x)).permute(0, 2, 3, 1).reshape(bf, h * w, c)
        for block in self.transformer_blocks:
            tokens = block(tokens, context)
        return self.proj_out(tokens.reshape(bf, h, w, c).permute(0, 3, 1, 2)) + x


class PositionalEncoding(nn.Module):
    """Sinusoidal frame positions (sin on even, cos on odd channels). A persistent buffer, as
    in the released state dict (key ...pos_encoder.pe)."""

    def __init__(self, dim: int, max_len: int = 24):
        super().__init__()
        position = torch.arange(max_len, dtype=torch.float32)[:, None]
        freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32)
                         * (-math.log(10000.0) / dim))
        pe = torch.zeros(1, max_len, dim)
        pe[0, :, 0::2] = torch.sin(position * freq)
        pe[0, :, 1::2] = torch.cos(position * freq)
        self.register_buffer("pe", pe)

    def forward(self, x):
        return x + torch.narrow(self.pe, 1, 0, x.shape[1])  # a function call: fx traces it


class TemporalAttention(Attention):
    def __init__(self, dim: int, heads: int, max_len: int):
        super().__init__(dim, heads)
        self.pos_encoder = PositionalEncoding(dim, max_len)

    def forward(self, x, context=None):
        return super().forward(self.pos_encoder(x))


class TemporalTransformerBlock(nn.Module):
    def __init__(self, dim: int, heads: int, attentions: int, max_len: int):
        super().__init__()
        self.attention_blocks = nn.ModuleList([TemporalAttention(dim, heads, max_len)
                                               for _ in range(attentions)])
        self.norms = nn.ModuleList([ExplicitLayerNorm(dim, eps=1e-5) for _ in range(attentions)])
        self.ff = FeedForward(dim)
        self.ff_norm = ExplicitLayerNorm(dim, eps=1e-5)

    def forward(self, x):
        for attention, norm in zip(self.attention_blocks, self.norms):
            x = x + attention(norm(x))
        return x + self.ff(self.ff_norm(x))


class TemporalTransformer(nn.Module):
    """Per-frame GroupNorm and projection in, attention across the frames of every position,
    projection out, residual."""

    def __init__(self, channels: int, heads: int, attentions: int, max_len: int):
        super().__init__()
        self.norm = ExplicitGroupNorm(32, channels, 1e-6)
        self.proj_in = nn.Linear(channels, channels)
        self.transformer_blocks = nn.ModuleList([TemporalTransformerBlock(
            channels, heads, attentions, max_len)])
        self.proj_out = nn.Linear(channels, channels)

    def forward(self, x, frames: int):
        bf, c, h, w = x.shape
        b = bf // frames
        tokens = self.proj_in(self.norm(x).permute(0, 2, 3, 1).reshape(bf, h * w, c))
        tokens = tokens.reshape(b, frames, h * w, c).transpose(1, 2).reshape(b * h * w, frames, c)
        for block in self.transformer_blocks:
            tokens = block(tokens)
        tokens = tokens.reshape(b, h * w, frames, c).transpose(1, 2).reshape(bf, h * w, c)
        return self.proj_out(tokens).reshape(bf, h, w, c).permute(0, 3, 1, 2) + x


class MotionModule(nn.Module):
    def __init__(self, channels: int, heads: int = 8, attentions: int = 2, max_len: int = 24):
        super().__init__()
        self.temporal_transformer = TemporalTransformer(channels, heads, attentions, max_len)

    def forward(self, x, frames: int):
        return self.temporal_transformer(x, frames)


class Resampler(nn.Module):
    """3x3 conv at stride 2 (down), or nearest 2x then a 3x3 conv (up); key `conv`."""

    def __init__(self, channels: int, down: bool):
        super().__init__()
        self.down = down
        self.conv = nn.Conv2d(channels, channels, 3, stride=2 if down else 1, padding=1)

    def forward(self, x):
        if not self.down:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return self.conv(x)


class UNetBlock(nn.Module):
    """resnets.N, then attentions.N and motion_modules.N where the block has them, per layer;
    then downsamplers.0 or upsamplers.0."""

    def __init__(self, resnet_io: Sequence[Tuple[int, int]], channels: int, temb_dim: int,
                 cross: bool, motion: bool, heads: int, context_dim: int,
                 resample: Optional[str]):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock(i, o, temb_dim) for i, o in resnet_io])
        layers = len(resnet_io)
        self.attentions = nn.ModuleList([SpatialTransformer(channels, heads, context_dim)
                                         for _ in range(layers)]) if cross else None
        self.motion_modules = nn.ModuleList([MotionModule(channels)
                                             for _ in range(layers)]) if motion else None
        if resample == "down":
            self.downsamplers = nn.ModuleList([Resampler(channels, True)])
        elif resample == "up":
            self.upsamplers = nn.ModuleList([Resampler(channels, False)])

    def layer(self, index: int, x, temb, context, frames: int):
        x = self.resnets[index](x, temb, frames)
        if self.attentions is not None:
            x = self.attentions[index](x, context)
        if self.motion_modules is not None:
            x = self.motion_modules[index](x, frames)
        return x


class MidBlock(nn.Module):
    def __init__(self, channels: int, temb_dim: int, heads: int, context_dim: int):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock(channels, channels, temb_dim)
                                      for _ in range(2)])
        self.attentions = nn.ModuleList([SpatialTransformer(channels, heads, context_dim)])

    def forward(self, x, temb, context, frames: int):
        x = self.resnets[0](x, temb, frames)
        return self.resnets[1](self.attentions[0](x, context), temb, frames)


class LatentSyncUNet(nn.Module):
    """forward(sample [B, 13, F, h, w], timestep [B], audio [B, F, 50, 384]) -> predicted noise
    [B, 4, F, h, w] (epsilon)."""

    def __init__(self, channels: Sequence[int] = (320, 640, 1280, 1280), heads: int = 8,
                 context_dim: int = AUDIO_DIM, layers_per_block: int = 2,
                 in_channels: int = IN_CHANNELS):
        super().__init__()
        channels = list(channels)
        count = len(channels)
        temb_dim = channels[0] * 4
        self.base = channels[0]
        self.conv_in = nn.Conv2d(in_channels, channels[0], 3, padding=1)
        self.time_embedding = nn.Module()
        self.time_embedding.linear_1 = nn.Linear(channels[0], temb_dim)
        self.time_embedding.linear_2 = nn.Linear(temb_dim, temb_dim)
        self.down_blocks = nn.ModuleList()
        previous = channels[0]
        for i, out in enumerate(channels):
            io = [(previous if j == 0 else out, out) for j in range(layers_per_block)]
            self.down_blocks.append(UNetBlock(io, out, temb_dim, i < count - 1, True, heads,
                                              context_dim, "down" if i < count - 1 else None))
            previous = out
        self.mid_block = MidBlock(channels[-1], temb_dim, heads, context_dim)
        reverse = channels[::-1]
        self.up_blocks = nn.ModuleList()
        previous = reverse[0]
        for i, out in enumerate(reverse):
            skip = reverse[min(i + 1, count - 1)]
            io = [((previous if j == 0 else out) + (skip if j == layers_per_block else out), out)
                  for j in range(layers_per_block + 1)]
            self.up_blocks.append(UNetBlock(io, out, temb_dim, i > 0, True, heads, context_dim,
                                            "up" if i < count - 1 else None))
            previous = out
        self.conv_norm_out = ExplicitGroupNorm(32, channels[0], 1e-5)
        self.conv_out = nn.Conv2d(channels[0], LATENT_CHANNELS, 3, padding=1)

    def timestep_features(self, timestep):
        """[cos | sin] of the timestep at frequencies exp(-ln(1e4) k / (C/2)) (diffusers'
        Timesteps with flip_sin_to_cos, no shift)."""
        half = self.base // 2
        freqs = torch.exp(torch.arange(half, dtype=torch.float32, device=timestep.device)
                          * (-math.log(10000.0) / half))
        angle = timestep.float()[:, None] * freqs[None, :]
        return torch.cat([torch.cos(angle), torch.sin(angle)], dim=-1)

    def forward(self, sample, timestep, audio):
        b, c, frames, h, w = sample.shape
        x = sample.transpose(1, 2).reshape(b * frames, c, h, w)
        emb = self.time_embedding.linear_1(self.timestep_features(timestep.reshape(b)))
        emb = self.time_embedding.linear_2(F.silu(emb))
        temb = F.silu(emb)[:, None, :].expand(b, frames, emb.shape[1]).reshape(b * frames, -1)
        context = audio.reshape(b * frames, audio.shape[2], audio.shape[3])

        x = self.conv_in(x)
        skips = [x]  # type: List[torch.Tensor]
        for block in self.down_blocks:
            for index in range(len(block.resnets)):
                x = block.layer(index, x, temb, context, frames)
                skips.append(x)
            if hasattr(block, "downsamplers"):
                x = block.downsamplers[0](x)
                skips.append(x)
        x = self.mid_block(x, temb, context, frames)
        for block in self.up_blocks:
            for index in range(len(block.resnets)):
                x = block.layer(index, torch.cat([x, skips.pop()], dim=1), temb, context, frames)
            if hasattr(block, "upsamplers"):
                x = block.upsamplers[0](x)
        x = self.conv_out(F.silu(self.conv_norm_out(x, frames)))
        return x.reshape(b, frames, LATENT_CHANNELS, h, w).transpose(1, 2)
