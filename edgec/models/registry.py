"""Looking models up: zoo names (edgec.models.zoo) and `package.module:factory` references,
with the export variant chosen on the command line."""
import dataclasses
import importlib
import re
from typing import Dict, List, Optional, Sequence, Tuple

from edgec.errors import EdgecError
from edgec.models import zoo
from edgec.models.entry import InputSpec, ModelEntry


def _zoo_entries() -> List[ModelEntry]:
    return [_BY_NAME[name] for name in model_names()]


# Each entry knows the zoo, to name the model a mismatched checkpoint fits.
_BY_NAME: Dict[str, ModelEntry] = {}
for _entry in zoo.ENTRIES:
    if _entry.name in _BY_NAME:
        raise ValueError("model %r is in the zoo twice" % _entry.name)
    _BY_NAME[_entry.name] = dataclasses.replace(_entry, zoo_entries=_zoo_entries)


def model_names() -> List[str]:
    return sorted(_BY_NAME)


def get_model(name: str) -> ModelEntry:
    if name in _BY_NAME:
        return _BY_NAME[name]
    if ":" in name:
        raise EdgecError(
            "model %r is a factory reference: give its inputs with --input NAME:SHAPE" % name)
    raise EdgecError("unknown model %r; known models: %s (or use package.module:factory)"
                     % (name, ", ".join(model_names())))


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
                      inputs=specs, outputs=["output"], zoo_entries=_zoo_entries)


GRID_SAMPLE_CHOICES = ("auto", "decomposed", "native")


def resolve_model(name: str, inputs: Sequence[str] = (), grid_sample: str = "auto"
                  ) -> ModelEntry:
    """The entry for a zoo name or factory reference. `grid_sample` picks the form of 5-D grid
    samples: "auto" is the entry's first form (decomposed: what TensorRT needs)."""
    if name in _BY_NAME:
        entry = _BY_NAME[name]
    elif ":" in name:
        entry = factory_entry(name, inputs)
    else:
        entry = get_model(name)
    if grid_sample not in GRID_SAMPLE_CHOICES:
        raise EdgecError("--grid-sample %r: expected one of %s"
                         % (grid_sample, ", ".join(GRID_SAMPLE_CHOICES)))
    if grid_sample == "auto":
        return entry
    if "grid_sample" not in entry.export_variants:
        raise EdgecError("--grid-sample %s: model %s has no 5-D grid sample to choose a form for"
                         % (grid_sample, entry.name))
    return entry.with_variants({"grid_sample": grid_sample}, option="--grid-sample")


def model_source(model_name: Optional[str] = None, **settings):
    """edgec.settings.ModelSource for a zoo or factory model, resolving its entry here."""
    from edgec.settings import ModelSource

    return ModelSource(model_name, resolve_entry=resolve_model, **settings)
