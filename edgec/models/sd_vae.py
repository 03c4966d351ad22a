"""The Stable Diffusion VAE (kl-f8, as stabilityai/sd-vae-ft-mse, which LatentSync decodes and
encodes with), written for export. Diffusers' AutoencoderKL layout and parameter names:
blocks of 128/256/512/512 channels, 2 ResNets a down block and 3 an up block, one
single-head self-attention in each middle block, GroupNorm 32 (eps 1e-6), 4 latent channels,
8x down. Latents are scaled by 0.18215 outside the network, as LatentSync does."""
from typing import Sequence

import torch.nn.functional as F
from torch import nn

from edgec.models.attention import Attention
from edgec.models.norms import ExplicitGroupNorm

SCALING = 0.18215
LATENT_CHANNELS = 4
BLOCKS = (128, 256, 512, 512)


class VaeResnet(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.norm1 = ExplicitGroupNorm(32, cin, 1e-6)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = ExplicitGroupNorm(32, cout, 1e-6)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


class VaeAttention(Attention):
    """One head over the H x W positions, with its own GroupNorm and a residual."""

    def __init__(self, channels: int):
        super().__init__(channels, 1, bias=True)
        self.group_norm = ExplicitGroupNorm(32, channels, 1e-6)

    def forward(self, x, context=None):
        n, c, h, w = x.shape
        tokens = self.group_norm(x).reshape(n, c, h * w).transpose(1, 2)
        out = super().forward(tokens)
        return out.transpose(1, 2).reshape(n, c, h, w) + x


class VaeMid(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.resnets = nn.ModuleList([VaeResnet(channels, channels) for _ in range(2)])
        self.attentions = nn.ModuleList([VaeAttention(channels)])

    def forward(self, x):
        return self.resnets[1](self.attentions[0](self.resnets[0](x)))


class Downsample(nn.Module):
    """Pad one row and column at the bottom right, then a 3x3 conv at stride 2 (no padding)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class VaeBlock(nn.Module):
    def __init__(self, cin: int, cout: int, resnets: int, resample=None):
        super().__init__()
        self.resnets = nn.ModuleList([VaeResnet(cin if i == 0 else cout, cout)
                                      for i in range(resnets)])
        if resample == "down":
            self.downsamplers = nn.ModuleList([Downsample(cout)])
        elif resample == "up":
            self.upsamplers = nn.ModuleList([Upsample(cout)])

    def forward(self, x):
        for resnet in self.resnets:
            x = resnet(x)
        for resample in getattr(self, "downsamplers", ()) or getattr(self, "upsamplers", ()):
            x = resample(x)
        return x


def _stages(channels: Sequence[int], resnets: int, resample: str) -> nn.ModuleList:
    """One VaeBlock per width, each resampling but the last."""
    stages = nn.ModuleList()
    previous = channels[0]
    for i, out in enumerate(channels):
        stages.append(VaeBlock(previous, out, resnets,
                               resample if i < len(channels) - 1 else None))
        previous = out
    return stages


class Encoder(nn.Module):
    def __init__(self, blocks: Sequence[int] = BLOCKS):
        super().__init__()
        self.conv_in = nn.Conv2d(3, blocks[0], 3, padding=1)
        self.down_blocks = _stages(blocks, 2, "down")
        self.mid_block = VaeMid(blocks[-1])
        self.conv_norm_out = ExplicitGroupNorm(32, blocks[-1], 1e-6)
        self.conv_out = nn.Conv2d(blocks[-1], 2 * LATENT_CHANNELS, 3, padding=1)

    def forward(self, x):
        x = self.conv_in(x)
        for block in self.down_blocks:
            x = block(x)
        return self.conv_out(F.silu(self.conv_norm_out(self.mid_block(x))))


class Decoder(nn.Module):
    def __init__(self, blocks: Sequence[int] = BLOCKS):
        super().__init__()
        reverse = list(blocks)[::-1]
        self.conv_in = nn.Conv2d(LATENT_CHANNELS, reverse[0], 3, padding=1)
        self.mid_block = VaeMid(reverse[0])
        self.up_blocks = _stages(reverse, 3, "up")
        self.conv_norm_out = ExplicitGroupNorm(32, reverse[-1], 1e-6)
        self.conv_out = nn.Conv2d(reverse[-1], 3, 3, padding=1)

    def forward(self, z):
        x = self.mid_block(self.conv_in(z))
        for block in self.up_blocks:
            x = block(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class VaeEncoder(nn.Module):
    """image [N, 3, H, W] in [-1, 1] -> the latent distribution's mean and log-variance
    [N, 4, H/8, W/8] each (LatentSync samples mean + exp(logvar / 2) * noise, then scales)."""

    def __init__(self, blocks: Sequence[int] = BLOCKS):
        super().__init__()
        self.encoder = Encoder(blocks)
        self.quant_conv = nn.Conv2d(2 * LATENT_CHANNELS, 2 * LATENT_CHANNELS, 1)

    def forward(self, image):
        moments = self.quant_conv(self.encoder(image))
        mean, logvar = moments.chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)


class VaeDecoder(nn.Module):
    """latents [N, 4, h, w] (already divided by 0.18215) -> image [N, 3, 8h, 8w], about [-1, 1]."""

    def __init__(self, blocks: Sequence[int] = BLOCKS):
        super().__init__()
        self.post_quant_conv = nn.Conv2d(LATENT_CHANNELS, LATENT_CHANNELS, 1)
        self.decoder = Decoder(blocks)

    def forward(self, latents):
        return self.decoder(self.post_quant_conv(latents))


# Diffusers renamed the middle attention's parameters; sd-vae-ft-mse's older files have these.
_LEGACY_ATTENTION = {"query.": "to_q.", "key.": "to_k.", "value.": "to_v.",
                     "proj_attn.": "to_out.0."}


def vae_part(state, prefix: str):
    """The encoder's or decoder's share of a whole-VAE state dict (diffusers'
    diffusion_pytorch_model.bin holds both): `prefix` is "encoder." (with quant_conv.) or
    "decoder." (with post_quant_conv.); old attention names are mapped to current ones."""
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    keep = (prefix, "quant_conv.") if prefix == "encoder." else (prefix, "post_quant_conv.")
    part = {}
    for key, value in state.items():
        if not key.startswith(keep):
            continue
        for old, new in _LEGACY_ATTENTION.items():
            if ".attentions.0." + old in key:
                key = key.replace(".attentions.0." + old, ".attentions.0." + new)
                if value.dim() == 4:  # old files stored them as 1x1 convs
                    value = value[:, :, 0, 0]
        part[key] = value
    return part
