"""A zoo entry: everything later stages need to know about one model, in one place (as
Optimum's export configs do): input names, shapes and value ranges, the dynamic batch axis, dummy
inputs, how to build and load the model, how to name its quantizable layers, and how it exports
(opset, parity check, export variants).
"""
import dataclasses
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from edgec.errors import EdgecError

DEFAULT_OPSET = 17
DEFAULT_PARITY_TOLERANCE = 1e-4


@dataclass(frozen=True)
class InputSpec:
    name: str
    shape: Tuple[int, ...]  # without the batch axis
    low: float = 0.0  # range of the dummy values
    high: float = 1.0
    dtype: str = "float32"


@dataclass(frozen=True)
class QualityRegion:
    """Rows of the first output scored on their own (budget term region_psnr), as fractions of
    its height."""
    name: str
    first: float
    stop: float

    def rows(self) -> Tuple[float, float]:
        return (self.first, self.stop)


@dataclass(frozen=True)
class PublicFigure:
    """A published size of this model or of what it derives from, shown beside edgec's own
    count (`edgec models`): `figure` is "params" or "macs"."""
    figure: str
    value: float
    source: str
    note: str = ""


@dataclass(frozen=True)
class Window:
    """`samples` model inputs (batch rows) make `frames` frames of video."""
    samples: int
    frames: int
    what: str


@dataclass
class ModelEntry:
    name: str
    summary: str
    factory: Callable[[], "object"]  # returns a torch nn.Module
    inputs: List[InputSpec]
    outputs: List[str]
    layer_namer: Callable[[str], str] = field(default=lambda path: path)
    # Which calibration reader produces this model's inputs from videos ("wav2lip",
    # "portrait", or None: .npz arrays of its inputs only).
    data_family: Optional[str] = None
    # Turns the object a released weight file holds into a flat state dict (None: as is).
    checkpoint_adapter: Optional[Callable[[object], object]] = None
    # The other models a checkpoint that does not fit this one may belong to, named in the
    # error (the registry sets it: an entry cannot import the zoo it is part of).
    zoo_entries: Optional[Callable[[], Sequence["ModelEntry"]]] = field(
        default=None, repr=False, compare=False)

    # The part of the output the quality report also scores alone (None: the whole output).
    quality_region: Optional[QualityRegion] = None

    # -- export --
    # The ONNX opset the model exports at; a variant may need a newer one (the exporter raises
    # it, see edgec.exporter.variants).
    opset: int = DEFAULT_OPSET
    # Largest absolute ONNX Runtime vs PyTorch error the export accepts.
    parity_tolerance: float = DEFAULT_PARITY_TOLERANCE
    # Batch sizes of the export parity check (large modules check fewer).
    parity_batches: Tuple[int, ...] = (1, 8)
    # Forms the model can export in, per aspect; the first is the default. The exporter
    # rewrites the model into the chosen form before tracing (edgec.exporter.variants), e.g.
    # {"grid_sample": ("decomposed", "native")}.
    export_variants: Mapping[str, Tuple[str, ...]] = field(default_factory=dict)
    # The chosen forms (with_variants); aspects left out take their default.
    chosen_variants: Mapping[str, str] = field(default_factory=dict)
    # Summaries (`edgec models`, layer costs) build the model on PyTorch's meta device: shapes
    # only, no weights (LatentSync's UNet would take 5 GB and a 2-TMAC forward pass).
    summarize_on_meta: bool = False
    public_figures: Tuple[PublicFigure, ...] = ()
    # How often the model runs for one window of video, where it is one stage of a longer
    # pipeline (edgec predict reports the window's time and the time per frame).
    window: Optional["Window"] = None
    # Smaller input shapes (no batch axis) the exporter traces a model beyond 2 GB with: the
    # tracer holds every intermediate value, and at LatentSync's 16 x 32 x 32 it ran out of
    # this machine's 24 GB. The graph is shape-generic; the entry's own shapes are set on it
    # after the trace, and its parity run is at those shapes.
    trace_shapes: Mapping[str, Tuple[int, ...]] = field(default_factory=dict)

    def input_shapes(self, batch: int = 1) -> Dict[str, Tuple[int, ...]]:
        return {i.name: (batch,) + tuple(i.shape) for i in self.inputs}

    def dummy_inputs(self, batch: int = 1, seed: int = 0) -> Dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        return {i.name: rng.uniform(i.low, i.high, size=(batch,) + tuple(i.shape)).astype(i.dtype)
                for i in self.inputs}

    def variant_key(self) -> Dict[str, str]:
        """The chosen form of every aspect the model has variants of (JSON-able; {} for a model
        without variants)."""
        return {aspect: self.chosen_variants.get(aspect, forms[0])
                for aspect, forms in sorted(self.export_variants.items())}

    def with_variants(self, choices: Mapping[str, str], option: str = "variant"
                      ) -> "ModelEntry":
        """A copy with these forms chosen; `option` names the command-line option in errors."""
        for aspect, form in choices.items():
            forms = self.export_variants.get(aspect)
            if not forms:
                raise EdgecError("%s %s: model %s has no %s variants to choose from"
                                 % (option, form, self.name, aspect))
            if form not in forms:
                raise EdgecError("%s %s: model %s exports its %s as %s"
                                 % (option, form, self.name, aspect, " or ".join(forms)))
        return dataclasses.replace(self, chosen_variants=dict(self.chosen_variants, **choices))

    def build(self, checkpoint: Optional[str] = None):
        """The model in eval mode, as written (export variants are applied by the exporter),
        with weights from `checkpoint` (random otherwise)."""
        import torch

        torch.manual_seed(0)  # random weights are reproducible
        model = self.factory()
        if checkpoint is not None:
            from edgec.models.checkpoint import load_checkpoint

            others = self.zoo_entries() if self.zoo_entries else ()
            load_checkpoint(model, checkpoint, self.name, self.checkpoint_adapter,
                            candidates=[(e.name, e.factory) for e in others])
        else:
            _randomize_batchnorm(model)
        return model.eval()

    def build_meta(self):
        """The model on the meta device: every shape, no weights."""
        import torch

        with torch.device("meta"):
            return self.factory().eval()

    def example_tensors(self, device: str = "cpu"):
        """Batch-1 dummy inputs as torch tensors, in input order."""
        import torch

        dummy = self.dummy_inputs(1)
        return [torch.from_numpy(dummy[i.name]).to(device) for i in self.inputs]

    def layers(self, model=None, shapes=None):
        """The quantizable layers; `shapes` from edgec.models.layers.io_shapes saves the
        forward pass when the caller has already made it."""
        from edgec.models.layers import find_layers

        model = model if model is not None else self.build()
        return find_layers(model, self.example_tensors(), self.layer_namer, shapes)


def _randomize_batchnorm(model) -> None:
    """Give BatchNorm layers non-trivial statistics so untrained models have realistic
    per-channel ranges (identity BN would hide per-channel weight quantization effects)."""
    import torch

    gen = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm) and module.affine:
            n = module.num_features
            with torch.no_grad():
                module.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                module.running_var.copy_(torch.rand(n, generator=gen) * 0.5 + 0.5)
                module.weight.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
                module.bias.copy_(torch.randn(n, generator=gen) * 0.1)
