"""LivePortrait's five inference modules, written for export.

Sizes follow the configuration LivePortrait ships (src/config/models.yaml of the public
project). Submodule and parameter names are those of the released per-module weight files, so
their state dicts load strictly; the code itself is edgec's own. Differences from a training
implementation, each for export: spectral normalisation is folded into plain weights when a
checkpoint is loaded; every conv followed by a BatchNorm declares the pair (`fold_pairs`) so it is
folded before export; the 5-D grid sample is a module (edgec.models.gridsample) that the exporter
can swap for a decomposition TensorRT 8.x can build.
"""
from typing import Dict, List, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from edgec.models.gridsample import GridSample5d
from edgec.models.norms import ExplicitLayerNorm

NUM_KP = 21


# -- blocks -----------------------------------------------------------------------------------

class ConvNormAct(nn.Module):
    """conv -> BatchNorm -> activation (-> optional average pool)."""
    fold_pairs = (("conv", "norm"),)

    def __init__(self, conv: nn.Module, norm: nn.Module, leaky: bool = False,
                 pool: nn.Module = None):
        super().__init__()
        self.conv = conv
        self.norm = norm
        self.leaky = leaky
        if pool is not None:
            self.pool = pool

    def forward(self, x):
        x = self.norm(self.conv(x))
        x = F.leaky_relu(x) if self.leaky else F.relu(x)
        return self.pool(x) if hasattr(self, "pool") else x


def same_block_2d(cin: int, cout: int, leaky: bool = False) -> ConvNormAct:
    return ConvNormAct(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), leaky)


def down_block_2d(cin: int, cout: int) -> ConvNormAct:
    return ConvNormAct(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout),
                       pool=nn.AvgPool2d(2))


def down_block_3d(cin: int, cout: int) -> ConvNormAct:
    return ConvNormAct(nn.Conv3d(cin, cout, 3, padding=1), nn.BatchNorm3d(cout),
                       pool=nn.AvgPool3d((1, 2, 2)))


class UpBlock3d(nn.Module):
    """Nearest x2 upsampling of H and W, then conv -> BatchNorm -> ReLU."""
    fold_pairs = (("conv", "norm"),)

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, 3, padding=1)
        self.norm = nn.BatchNorm3d(cout)

    def forward(self, x):
        x = F.interpolate(x, scale_factor=(1.0, 2.0, 2.0))
        return F.relu(self.norm(self.conv(x)))


class ResBlock3d(nn.Module):
    """Pre-activation residual block (BN -> ReLU -> conv, twice) on a feature volume. norm2
    directly follows conv1, so that pair folds; norm1 acts on the block's input and stays."""
    fold_pairs = (("conv1", "norm2"),)

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv3d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv3d(channels, channels, 3, padding=1)
        self.norm1 = nn.BatchNorm3d(channels)
        self.norm2 = nn.BatchNorm3d(channels)

    def forward(self, x):
        out = self.conv1(F.relu(self.norm1(x)))
        return x + self.conv2(F.relu(self.norm2(out)))


# -- F: appearance feature extractor ------------------------------------------------------------

class AppearanceFeatureExtractor(nn.Module):
    """Image B x 3 x 256 x 256 -> feature volume B x 32 x 16 x 64 x 64."""

    def __init__(self, image_channel=3, block_expansion=64, num_down_blocks=2, max_features=512,
                 reshape_channel=32, reshape_depth=16, num_resblocks=6):
        super().__init__()
        self.reshape_channel, self.reshape_depth = reshape_channel, reshape_depth
        self.first = same_block_2d(image_channel, block_expansion)
        widths = [min(max_features, block_expansion * 2 ** i) for i in range(num_down_blocks + 1)]
        self.down_blocks = nn.ModuleList(down_block_2d(a, b) for a, b in zip(widths, widths[1:]))
        self.second = nn.Conv2d(widths[-1], max_features, 1)
        self.resblocks_3d = nn.Sequential()
        for index in range(num_resblocks):
            self.resblocks_3d.add_module("3dr%d" % index, ResBlock3d(reshape_channel))

    def forward(self, image):
        x = self.first(image)
        for block in self.down_blocks:
            x = block(x)
        x = self.second(x)
        volume = x.reshape(x.shape[0], self.reshape_channel, self.reshape_depth,
                           x.shape[2], x.shape[3])
        return self.resblocks_3d(volume)


# -- M: motion extractor (ConvNeXt-V2 tiny) ----------------------------------------------------

class GlobalResponseNorm(nn.Module):
    """ConvNeXt-V2's GRN on channels-last input: x + gamma * (x * N(x)) + beta, where N is the
    spatial L2 norm of each channel divided by its mean over channels."""

    def __init__(self, channels: int):
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1, 1, 1, channels))
        self.beta = nn.Parameter(torch.zeros(1, 1, 1, channels))

    def forward(self, x):
        spatial = torch.sqrt((x * x).sum(dim=(1, 2), keepdim=True))
        normalized = spatial / (spatial.mean(dim=-1, keepdim=True) + 1e-6)
        return self.gamma * (x * normalized) + self.beta + x


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = ExplicitLayerNorm(dim)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.grn = GlobalResponseNorm(4 * dim)
        self.pwconv2 = nn.Linear(4 * dim, dim)

    def forward(self, x):
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(self.grn(self.act(self.pwconv1(self.norm(y)))))
        return x + y.permute(0, 3, 1, 2)


class ConvNeXtV2(nn.Module):
    """ConvNeXt-V2 backbone with LivePortrait's heads: keypoints, head pose bins, translation,
    expression and scale."""

    def __init__(self, depths=(3, 3, 9, 3), dims=(96, 192, 384, 768), num_kp=NUM_KP,
                 num_bins=66):
        super().__init__()
        self.downsample_layers = nn.ModuleList([nn.Sequential(
            nn.Conv2d(3, dims[0], 4, stride=4), ExplicitLayerNorm(dims[0], channels_first=True))])
        for i in range(3):
            self.downsample_layers.append(nn.Sequential(
                ExplicitLayerNorm(dims[i], channels_first=True),
                nn.Conv2d(dims[i], dims[i + 1], 2, stride=2)))
        self.stages = nn.ModuleList(nn.Sequential(*[ConvNeXtBlock(dim) for _ in range(depth)])
                                    for depth, dim in zip(depths, dims))
        self.norm = ExplicitLayerNorm(dims[-1])
        self.fc_kp = nn.Linear(dims[-1], 3 * num_kp)
        self.fc_scale = nn.Linear(dims[-1], 1)
        self.fc_pitch = nn.Linear(dims[-1], num_bins)
        self.fc_yaw = nn.Linear(dims[-1], num_bins)
        self.fc_roll = nn.Linear(dims[-1], num_bins)
        self.fc_t = nn.Linear(dims[-1], 3)
        self.fc_exp = nn.Linear(dims[-1], 3 * num_kp)

    def forward(self, x):
        for down, stage in zip(self.downsample_layers, self.stages):
            x = stage(down(x))
        x = self.norm(x.mean(dim=(-2, -1)))
        return (self.fc_pitch(x), self.fc_yaw(x), self.fc_roll(x), self.fc_t(x),
                self.fc_exp(x), self.fc_scale(x), self.fc_kp(x))


MOTION_OUTPUTS = ["pitch", "yaw", "roll", "t", "exp", "scale", "kp"]


class MotionExtractor(nn.Module):
    """Image B x 3 x 256 x 256 -> head pose bins (66 each), translation, expression (63),
    scale, canonical keypoints (63)."""

    def __init__(self, num_kp=NUM_KP):
        super().__init__()
        self.detector = ConvNeXtV2(num_kp=num_kp)

    def forward(self, image):
        return self.detector(image)


# -- W: warping module ---------------------------------------------------------------------------

def coordinate_grid(depth: int, height: int, width: int, like: torch.Tensor) -> torch.Tensor:
    """D x H x W x 3 grid of (x, y, z) in [-1, 1] (x right, y down, z inward)."""
    def axis(n):
        return torch.arange(n, dtype=like.dtype, device=like.device) * (2.0 / (n - 1)) - 1
    z, y, x = torch.meshgrid(axis(depth), axis(height), axis(width), indexing="ij")
    return torch.stack([x, y, z], dim=-1)


class HourglassEncoder(nn.Module):
    def __init__(self, block_expansion, in_features, num_blocks, max_features):
        super().__init__()
        widths = [in_features] + [min(max_features, block_expansion * 2 ** (i + 1))
                                  for i in range(num_blocks)]
        self.down_blocks = nn.ModuleList(down_block_3d(a, b) for a, b in zip(widths, widths[1:]))

    def forward(self, x):
        outs = [x]
        for block in self.down_blocks:
            outs.append(block(outs[-1]))
        return outs


class HourglassDecoder(nn.Module):
    fold_pairs = (("conv", "norm"),)

    def __init__(self, block_expansion, in_features, num_blocks, max_features):
        super().__init__()
        blocks = []
        for i in reversed(range(num_blocks)):
            width = min(max_features, block_expansion * 2 ** (i + 1))
            cin = width if i == num_blocks - 1 else 2 * width
            blocks.append(UpBlock3d(cin, min(max_features, block_expansion * 2 ** i)))
        self.up_blocks = nn.ModuleList(blocks)
        self.out_filters = block_expansion + in_features
        self.conv = nn.Conv3d(self.out_filters, self.out_filters, 3, padding=1)
        self.norm = nn.BatchNorm3d(self.out_filters)

    def forward(self, skips: List[torch.Tensor]):
        out = skips[-1]
        for block, skip in zip(self.up_blocks, reversed(skips[:-1])):
            out = torch.cat([block(out), skip], dim=1)
        return F.relu(self.norm(self.conv(out)))


class Hourglass(nn.Module):
    def __init__(self, block_expansion, in_features, num_blocks, max_features):
        super().__init__()
        self.encoder = HourglassEncoder(block_expansion, in_features, num_blocks, max_features)
        self.decoder = HourglassDecoder(block_expansion, in_features, num_blocks, max_features)
        self.out_filters = self.decoder.out_filters

    def forward(self, x):
        return self.decoder(self.encoder(x))


# Shape-dependent arithmetic between the convolutions lives in these functions, which
# torch.fx records as single calls (the sweep's evaluator traces the modules with fx; the
# convolutions stay visible and switchable).

def sparse_motions(feature: torch.Tensor, kp_driving: torch.Tensor,
                   kp_source: torch.Tensor) -> torch.Tensor:
    """B x (K+1) x D x H x W x 3: the identity (background) and, per keypoint, the identity
    shifted by that keypoint's source - driving offset."""
    batch, d, h, w = feature.shape[0], feature.shape[2], feature.shape[3], feature.shape[4]
    k = kp_driving.shape[1]
    identity = coordinate_grid(d, h, w, feature).reshape(1, 1, d, h, w, 3)
    shift = (kp_source - kp_driving).reshape(batch, k, 1, 1, 1, 3)
    return torch.cat([identity.expand(batch, 1, d, h, w, 3), identity + shift], dim=1)


def features_per_motion(feature: torch.Tensor, motions: torch.Tensor) -> torch.Tensor:
    """The features once per motion, batched for one grid sample: B*(K+1) x C x D x H x W."""
    batch, channels = feature.shape[0], feature.shape[1]
    d, h, w = feature.shape[2], feature.shape[3], feature.shape[4]
    k1 = motions.shape[1]
    repeated = feature.unsqueeze(1).expand(batch, k1, channels, d, h, w)
    return repeated.reshape(batch * k1, channels, d, h, w)


def motions_batched(motions: torch.Tensor) -> torch.Tensor:
    """B x (K+1) x D x H x W x 3 -> B*(K+1) x D x H x W x 3 (the grids of features_per_motion)."""
    return motions.reshape(motions.shape[0] * motions.shape[1], motions.shape[2],
                           motions.shape[3], motions.shape[4], 3)


def hourglass_input(feature: torch.Tensor, motions: torch.Tensor, deformed: torch.Tensor,
                    kp_driving: torch.Tensor, kp_source: torch.Tensor) -> torch.Tensor:
    """Per keypoint: a Gaussian heatmap (variance 0.01) of driving minus source, and the source
    features warped by that keypoint's motion (`deformed`, B*(K+1) x C x D x H x W);
    B x (K+1)*(C+1) x D x H x W."""
    batch, channels = feature.shape[0], feature.shape[1]
    d, h, w = feature.shape[2], feature.shape[3], feature.shape[4]
    k1 = motions.shape[1]
    deformed = deformed.reshape(batch, k1, channels, d, h, w)
    grid = motions[:, :1]  # the identity grid

    def gaussian(kp):
        diff = grid - kp.reshape(batch, k1 - 1, 1, 1, 1, 3)
        return torch.exp(-0.5 * (diff * diff).sum(-1) / 0.01)
    heat = gaussian(kp_driving) - gaussian(kp_source)
    heat = torch.cat([torch.zeros_like(heat[:, :1]), heat], dim=1).unsqueeze(2)
    return torch.cat([heat, deformed], dim=2).reshape(batch, k1 * (channels + 1), d, h, w)


def mix_motions(motions: torch.Tensor, mask_logits: torch.Tensor) -> torch.Tensor:
    """Softmax over keypoints of the mask, used to blend their motions: B x D x H x W x 3."""
    mask = F.softmax(mask_logits, dim=1).unsqueeze(2)
    return (motions.permute(0, 1, 5, 2, 3, 4) * mask).sum(dim=1).permute(0, 2, 3, 4, 1)


def flatten_depth(volume: torch.Tensor) -> torch.Tensor:
    """B x C x D x H x W -> B x C*D x H x W."""
    return volume.reshape(volume.shape[0], volume.shape[1] * volume.shape[2], volume.shape[3],
                          volume.shape[4])


for _name in ("sparse_motions", "features_per_motion", "motions_batched", "hourglass_input",
              "mix_motions", "flatten_depth"):
    torch.fx.wrap(_name)


class DenseMotionNetwork(nn.Module):
    """Dense 3-D motion (and an occlusion map) from source and driving keypoints: a Gaussian
    heatmap per keypoint and the source features warped by each keypoint's translation go
    through a 3-D hourglass, whose softmax mask mixes the per-keypoint motions."""
    fold_pairs = (("compress", "norm"),)

    def __init__(self, block_expansion=32, num_blocks=5, max_features=1024, num_kp=NUM_KP,
                 feature_channel=32, reshape_depth=16, compress=4):
        super().__init__()
        self.num_kp = num_kp
        self.grid_sample = GridSample5d(align_corners=False)
        self.hourglass = Hourglass(block_expansion, (num_kp + 1) * (compress + 1), num_blocks,
                                   max_features)
        self.mask = nn.Conv3d(self.hourglass.out_filters, num_kp + 1, 7, padding=3)
        self.compress = nn.Conv3d(feature_channel, compress, 1)
        self.norm = nn.BatchNorm3d(compress)
        self.occlusion = nn.Conv2d(self.hourglass.out_filters * reshape_depth, 1, 7, padding=3)

    def forward(self, feature, kp_driving, kp_source):
        feature = F.relu(self.norm(self.compress(feature)))
        motions = sparse_motions(feature, kp_driving, kp_source)
        deformed = self.grid_sample(features_per_motion(feature, motions),
                                    motions_batched(motions))
        prediction = self.hourglass(hourglass_input(feature, motions, deformed, kp_driving,
                                                    kp_source))
        deformation = mix_motions(motions, self.mask(prediction))
        occlusion = torch.sigmoid(self.occlusion(flatten_depth(prediction)))
        return deformation, occlusion


class WarpingNetwork(nn.Module):
    """Feature volume B x 32 x 16 x 64 x 64 and keypoints B x 21 x 3 (driving, source) ->
    warped features B x 256 x 64 x 64, occlusion map B x 1 x 64 x 64, deformation
    B x 16 x 64 x 64 x 3."""

    def __init__(self, num_kp=NUM_KP, block_expansion=64, max_features=512, num_down_blocks=2,
                 reshape_channel=32):
        super().__init__()
        self.dense_motion_network = DenseMotionNetwork(num_kp=num_kp,
                                                       feature_channel=reshape_channel)
        self.grid_sample = GridSample5d(align_corners=False)
        width = block_expansion * 2 ** num_down_blocks
        self.third = same_block_2d(max_features, width, leaky=True)
        self.fourth = nn.Conv2d(width, width, 1)

    def forward(self, feature_3d, kp_driving, kp_source):
        deformation, occlusion = self.dense_motion_network(feature_3d, kp_driving, kp_source)
        out = self.grid_sample(feature_3d, deformation)
        out = self.fourth(self.third(flatten_depth(out)))
        return out * occlusion, occlusion, deformation


# -- G: SPADE decoder ------------------------------------------------------------------------------

class SPADE(nn.Module):
    """Instance norm whose scale and shift come from convolutions of a conditioning map."""

    def __init__(self, channels: int, label_channels: int, hidden: int = 128):
        super().__init__()
        self.param_free_norm = nn.InstanceNorm2d(channels, affine=False)
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_channels, hidden, 3, padding=1),
                                        nn.ReLU())
        self.mlp_gamma = nn.Conv2d(hidden, channels, 3, padding=1)
        self.mlp_beta = nn.Conv2d(hidden, channels, 3, padding=1)

    def forward(self, x, condition):
        condition = F.interpolate(condition, size=x.shape[2:], mode="nearest")
        shared = self.mlp_shared(condition)
        return self.param_free_norm(x) * (1 + self.mlp_gamma(shared)) + self.mlp_beta(shared)


class SPADEResnetBlock(nn.Module):
    def __init__(self, fin: int, fout: int, label_channels: int):
        super().__init__()
        middle = min(fin, fout)
        self.learned_shortcut = fin != fout
        self.conv_0 = nn.Conv2d(fin, middle, 3, padding=1)
        self.conv_1 = nn.Conv2d(middle, fout, 3, padding=1)
        self.norm_0 = SPADE(fin, label_channels)
        self.norm_1 = SPADE(middle, label_channels)
        if self.learned_shortcut:
            self.conv_s = nn.Conv2d(fin, fout, 1, bias=False)
            self.norm_s = SPADE(fin, label_channels)

    def forward(self, x, condition):
        shortcut = self.conv_s(self.norm_s(x, condition)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, condition), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, condition), 0.2))
        return shortcut + dx


class SPADEDecoder(nn.Module):
    """Warped features B x 256 x 64 x 64 -> image B x 3 x 512 x 512 (upscale 2)."""

    def __init__(self, upscale=2, max_features=512, block_expansion=64, out_channels=64,
                 num_down_blocks=2):
        super().__init__()
        channels = min(max_features, block_expansion * 2 ** num_down_blocks)
        self.fc = nn.Conv2d(channels, 2 * channels, 3, padding=1)
        for index in range(6):
            self.add_module("G_middle_%d" % index,
                            SPADEResnetBlock(2 * channels, 2 * channels, channels))
        self.up_0 = SPADEResnetBlock(2 * channels, channels, channels)
        self.up_1 = SPADEResnetBlock(channels, out_channels, channels)
        if upscale > 1:
            self.conv_img = nn.Sequential(nn.Conv2d(out_channels, 3 * 4, 3, padding=1),
                                          nn.PixelShuffle(2))
        else:
            self.conv_img = nn.Conv2d(out_channels, 3, 3, padding=1)

    def forward(self, feature):
        x = self.fc(feature)
        for index in range(6):
            x = getattr(self, "G_middle_%d" % index)(x, feature)
        x = self.up_0(F.interpolate(x, scale_factor=2.0), feature)
        x = self.up_1(F.interpolate(x, scale_factor=2.0), feature)
        return torch.sigmoid(self.conv_img(F.leaky_relu(x, 0.2)))


# -- S: stitching and retargeting MLPs ----------------------------------------------------------

class RetargetingMLP(nn.Module):
    def __init__(self, input_size: int, hidden_sizes: Sequence[int], output_size: int):
        super().__init__()
        layers = []  # type: List[nn.Module]
        sizes = [input_size] + list(hidden_sizes)
        for a, b in zip(sizes, sizes[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        layers.append(nn.Linear(sizes[-1], output_size))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x):
        return self.mlp(x)


class StitchingRetargeting(nn.Module):
    """The stitching MLP (126 -> 65) and the lip (65 -> 63) and eye (66 -> 63) retargeting MLPs,
    one module with three inputs and three outputs."""

    def __init__(self):
        super().__init__()
        self.stitching = RetargetingMLP(126, (128, 128, 64), 65)
        self.lip = RetargetingMLP(65, (128, 128, 64), 63)
        self.eye = RetargetingMLP(66, (256, 256, 128, 128, 64), 63)

    def forward(self, stitching_input, lip_input, eye_input):
        return self.stitching(stitching_input), self.lip(lip_input), self.eye(eye_input)


# -- checkpoints -------------------------------------------------------------------------------

def fold_spectral_norm(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Released SPADE weights keep spectral normalisation's parametrisation (`weight_orig`,
    `weight_u`, `weight_v`). In eval mode the layer uses weight_orig / sigma with
    sigma = u . (W v), W the weight reshaped to (out, -1); store that weight instead."""
    out = {}
    for key, value in state.items():
        if key.endswith(".weight_orig"):
            base = key[:-len("_orig")]
            u, v = state[base + "_u"], state[base + "_v"]
            sigma = torch.dot(u, value.reshape(value.shape[0], -1) @ v)
            out[base] = value / sigma
        elif key.endswith((".weight_u", ".weight_v")):
            continue
        else:
            out[key] = value
    return out


STITCHING_GROUPS = (("retarget_shoulder", "stitching"), ("retarget_mouth", "lip"),
                    ("retarget_eye", "eye"))


def flatten_stitching(obj: Dict[str, object]) -> Dict[str, object]:
    """The released stitching file nests one state dict per MLP (retarget_shoulder,
    retarget_mouth, retarget_eye, keys prefixed `module.`); flatten to this module's names."""
    flat = {}
    for group, prefix in STITCHING_GROUPS:
        for key, value in obj[group].items():  # type: ignore[union-attr]
            key = key[len("module."):] if key.startswith("module.") else key
            flat["%s.%s" % (prefix, key)] = value
    return flat


# -- keypoints in the driving pose (used to make calibration inputs for W, G and S) -------------

def headpose_degrees(bins: torch.Tensor) -> torch.Tensor:
    """66 pose bins of 3 degrees -> the softmax-expected angle, centred at 97.5 degrees."""
    index = torch.arange(bins.shape[1], dtype=bins.dtype)
    return (F.softmax(bins, dim=1) * index).sum(dim=1) * 3 - 97.5


def rotation_matrix(pitch: torch.Tensor, yaw: torch.Tensor, roll: torch.Tensor) -> torch.Tensor:
    """Degrees -> B x 3 x 3, applied to row vectors (x @ R): (Rz Ry Rx) transposed."""
    x, y, z = (torch.deg2rad(a) for a in (pitch, yaw, roll))
    one, zero = torch.ones_like(x), torch.zeros_like(x)
    rx = torch.stack([one, zero, zero, zero, x.cos(), -x.sin(), zero, x.sin(), x.cos()], 1)
    ry = torch.stack([y.cos(), zero, y.sin(), zero, one, zero, -y.sin(), zero, y.cos()], 1)
    rz = torch.stack([z.cos(), -z.sin(), zero, z.sin(), z.cos(), zero, zero, zero, one], 1)
    rot = rz.reshape(-1, 3, 3) @ ry.reshape(-1, 3, 3) @ rx.reshape(-1, 3, 3)
    return rot.transpose(1, 2)


def posed_keypoints(pitch, yaw, roll, t, exp, scale, kp) -> torch.Tensor:
    """The motion extractor's outputs -> keypoints in the image's pose, B x 21 x 3:
    scale * (canonical @ R + expression) + (tx, ty, 0)."""
    batch = kp.shape[0]
    rot = rotation_matrix(headpose_degrees(pitch), headpose_degrees(yaw), headpose_degrees(roll))
    points = kp.reshape(batch, -1, 3) @ rot + exp.reshape(batch, -1, 3)
    points = points * scale.reshape(batch, 1, 1)
    shift = torch.cat([t[:, :2], torch.zeros_like(t[:, 2:])], dim=1)
    return points + shift.reshape(batch, 1, 3)
