"""The distillation objective: which terms, with which weights, on which layers.

Defaults. The compression paper (Kim et al. 2023, arXiv 2304.00471) names its terms (channel
distillation on the decoder, SSIM, total variation, perceptual and style, lip-sync) but no stored
copy of it gives their weights, so the defaults are those of OMGD, whose scheme the paper
follows: `--AGD_weights 1e1,1e4,1e1,1e-5` read as SSIM 10, style 1e4, feature 10, TV 1e-5 (the
order in OMGD's distiller code), and lambda_CD 10 (OMGD's U-Net pix2pix script; Wav2Lip is a
U-Net). OMGD has no pixel term; `l1` is edgec's addition, off by default. The lip-sync term
takes Wav2Lip's own weight for it (syncnet_wt 0.03).
"""
from collections import OrderedDict
from typing import Dict, List, Optional

import torch
from torch import nn

from edgec.distill.losses import (ChannelAdapters, VGG16Features, perceptual_terms, ssim,
                                  total_variation)
from edgec.errors import EdgecError

DEFAULT_WEIGHTS = OrderedDict([("ssim", 10.0), ("tv", 1e-5), ("cd", 10.0), ("feature", 10.0),
                               ("style", 1e4), ("l1", 0.0), ("sync", 0.03)])
DECODER_BLOCKS = "face_decoder_blocks"  # the seven Wav2Lip decoder blocks


class LayerTaps(object):
    """Outputs of named submodules, captured by forward hooks on every forward pass."""

    def __init__(self, model: nn.Module, names: List[str]):
        modules = dict(model.named_modules())
        self.names = names
        self.values = {}  # type: Dict[str, torch.Tensor]
        self.handles = []
        for name in names:
            self.handles.append(modules[name].register_forward_hook(self._keep(name)))

    def _keep(self, name):
        def hook(module, inputs, output):
            self.values[name] = output
        return hook

    def take(self) -> List[torch.Tensor]:
        values = [self.values[n] for n in self.names]
        self.values = {}
        return values

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def decoder_block_names(model: nn.Module, role: str, model_name: str) -> List[str]:
    """The last layer of each decoder block, where channel distillation taps (the block's output
    before the U-Net concatenation)."""
    blocks = getattr(model, DECODER_BLOCKS, None)
    if not isinstance(blocks, nn.ModuleList) or len(blocks) == 0:
        raise EdgecError("%s %s has no %s: channel distillation taps the decoder blocks of the "
                         "Wav2Lip family" % (role, model_name, DECODER_BLOCKS))
    return ["%s.%d" % (DECODER_BLOCKS, i) for i in range(len(blocks))]


def block_channels(model: nn.Module, names: List[str], example: Dict[str, torch.Tensor]
                   ) -> List[int]:
    taps = LayerTaps(model, names)
    with torch.no_grad():
        model(**example)
    channels = [int(t.shape[1]) for t in taps.take()]
    taps.remove()
    return channels


class DistillObjective(nn.Module):
    """Weighted sum of the terms; `forward` returns (total, {term: value}) for the log."""

    def __init__(self, weights: Dict[str, float], adapters: ChannelAdapters,
                 vgg: Optional[VGG16Features], syncnet=None):
        super().__init__()
        self.weights = dict(weights)
        self.adapters = adapters
        self.vgg = vgg
        self.syncnet = syncnet

    def active_terms(self) -> List[str]:
        terms = [t for t in ("ssim", "tv", "cd", "l1") if self.weights.get(t)]
        if self.vgg is not None:
            terms += [t for t in ("feature", "style") if self.weights.get(t)]
        if self.syncnet is not None and self.weights.get("sync"):
            terms.append("sync")
        return terms

    def forward(self, student_out, teacher_out, student_feats, teacher_feats, sync_mel=None,
                sync_frames=None):
        """`sync_mel`, `sync_frames`: audio windows and the student's frames for them, five per
        window (when a SyncNet is given)."""
        teacher_out = teacher_out.detach()
        values = OrderedDict()  # type: Dict[str, torch.Tensor]
        terms = self.active_terms()
        if "ssim" in terms:
            values["ssim"] = 1.0 - ssim(student_out, teacher_out)
        if "tv" in terms:
            values["tv"] = total_variation(student_out)
        if "cd" in terms:
            values["cd"] = self.adapters(student_feats, teacher_feats)
        if "l1" in terms:
            values["l1"] = (student_out - teacher_out).abs().mean()
        if self.vgg is not None and ("feature" in terms or "style" in terms):
            perceptual = perceptual_terms(self.vgg, student_out, teacher_out)
            for name in ("feature", "style"):
                if name in terms:
                    values[name] = perceptual[name]
        if "sync" in terms:
            from edgec.distill.syncnet import sync_loss

            values["sync"] = sync_loss(self.syncnet, sync_mel, sync_frames)
        total = sum(self.weights[name] * value for name, value in values.items())
        return total, values
