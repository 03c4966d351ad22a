"""The model zoo: one registry, one entry per model.

An entry declares everything later stages need in one place (as Optimum's export configs do):
input names, shapes and value ranges, the dynamic batch axis, dummy inputs, how to build and load
the model, and how to name its quantizable layers.
"""
import importlib
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from edgec.errors import EdgecError


@dataclass(frozen=True)
class InputSpec:
    name: str
    shape: Tuple[int, ...]  # without the batch axis
    low: float = 0.0  # range of the dummy values
    high: float = 1.0
    dtype: str = "float32"


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
    # Models with a 5-D grid sample: the forms they can export (edgec.exporter.gridsample).
    grid_forms: Tuple[str, ...] = ()
    grid_form: Optional[str] = None  # the chosen form (resolve_model); None: grid_forms[0]
    # Batch sizes of the export parity check (large modules check fewer).
    parity_batches: Tuple[int, ...] = (1, 8)

    def input_shapes(self, batch: int = 1) -> Dict[str, Tuple[int, ...]]:
        return {i.name: (batch,) + tuple(i.shape) for i in self.inputs}

    def dummy_inputs(self, batch: int = 1, seed: int = 0) -> Dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        return {i.name: rng.uniform(i.low, i.high, size=(batch,) + tuple(i.shape)).astype(i.dtype)
                for i in self.inputs}

    @property
    def chosen_grid_form(self) -> Optional[str]:
        """The 5-D grid-sample form this entry builds with (None: it has no grid sample)."""
        if not self.grid_forms:
            return None
        return self.grid_form or self.grid_forms[0]

    def build(self, checkpoint: Optional[str] = None):
        """The model in eval mode, with weights from `checkpoint` (random otherwise), its 5-D
        grid samples in the chosen form where it has any."""
        import torch

        torch.manual_seed(0)  # random weights are reproducible
        model = self.factory()
        if checkpoint is not None:
            from edgec.models.checkpoint import load_checkpoint

            load_checkpoint(model, checkpoint, self.name, self.checkpoint_adapter)
        else:
            _randomize_batchnorm(model)
        if self.chosen_grid_form:
            from edgec.models.liveportrait import set_grid_form

            set_grid_form(model, self.chosen_grid_form)
        return model.eval()

    def example_tensors(self):
        """Batch-1 dummy inputs as torch tensors, in input order."""
        import torch

        dummy = self.dummy_inputs(1)
        return [torch.from_numpy(dummy[i.name]) for i in self.inputs]

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


_REGISTRY: Dict[str, ModelEntry] = {}


def register(entry: ModelEntry) -> ModelEntry:
    if entry.name in _REGISTRY:
        raise ValueError("model %r registered twice" % entry.name)
    _REGISTRY[entry.name] = entry
    return entry


def model_names() -> List[str]:
    _load_zoo()
    return sorted(_REGISTRY)


def get_model(name: str) -> ModelEntry:
    _load_zoo()
    if name in _REGISTRY:
        return _REGISTRY[name]
    if ":" in name:
        raise EdgecError(
            "model %r is a factory reference: give its inputs with --input NAME:SHAPE" % name)
    raise EdgecError("unknown model %r; known models: %s (or use package.module:factory)"
                     % (name, ", ".join(sorted(_REGISTRY))))


def _load_zoo() -> None:
    # Importing the zoo module registers its entries; done lazily so `edgec bench` never
    # imports torch.
    importlib.import_module("edgec.models.zoo")


_SHAPE_RE = re.compile(r"^([A-Za-z_][\w.]*):(\d+(?:x\d+)*)$")


def parse_input_option(text: str) -> Tuple[str, Tuple[int, ...]]:
    """`name:1x3x224x224` -> ("name", (1, 3, 224, 224)); the first axis is the batch."""
    match = _SHAPE_RE.match(text.strip())
    if not match:
        raise EdgecError("--input %r: expected NAME:SHAPE such as image:1x3x224x224" % text)
    return match.group(1), tuple(int(d) for d in match.group(2).split("x"))


def factory_entry(reference: str, inputs: Sequence[str]) -> ModelEntry:
    """A zoo entry for `package.module:factory`, a callable returning an nn.Module."""
    if ":" not in reference:
        raise EdgecError("--model %r: expected a zoo name or package.module:factory" % reference)
    module_name, attr = reference.split(":", 1)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise EdgecError("--model %r: cannot import module %r: %s" % (reference, module_name, exc))
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise EdgecError("--model %r: %r has no callable %r" % (reference, module_name, attr))
    if not inputs:
        raise EdgecError("--model %r: give its inputs with --input NAME:SHAPE (one per input)"
                         % reference)
    specs = [InputSpec(name, shape[1:]) for name, shape in map(parse_input_option, inputs)]
    return ModelEntry(name=reference, summary="user model %s" % reference, factory=factory,
                      inputs=specs, outputs=["output"])


GRID_SAMPLE_CHOICES = ("auto", "decomposed", "native")


def resolve_model(name: str, inputs: Sequence[str] = (), grid_sample: str = "auto"
                  ) -> ModelEntry:
    """The entry for a zoo name or factory reference. `grid_sample` picks the form of 5-D grid
    samples: "auto" is the entry's first form (decomposed: what TensorRT needs)."""
    import dataclasses

    _load_zoo()
    if name in _REGISTRY:
        entry = _REGISTRY[name]
    elif ":" in name:
        entry = factory_entry(name, inputs)
    else:
        entry = get_model(name)
    if grid_sample not in GRID_SAMPLE_CHOICES:
        raise EdgecError("--grid-sample %r: expected one of %s"
                         % (grid_sample, ", ".join(GRID_SAMPLE_CHOICES)))
    if grid_sample == "auto":
        return entry
    if grid_sample not in entry.grid_forms:
        raise EdgecError("--grid-sample %s: model %s has no 5-D grid sample to choose a form for"
                         % (grid_sample, entry.name))
    return dataclasses.replace(entry, grid_form=grid_sample)
