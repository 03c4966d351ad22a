"""Export variants: what each form a zoo entry declares (ModelEntry.export_variants) means to the
exporter. A form may rewrite the PyTorch model before tracing, post-process the ONNX graph, and
need a newer opset than the entry's.

The quant side builds its evaluator through `build_export_model` too, so that it computes what
the exported graph computes.
"""
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

from edgec.errors import EdgecError
from edgec.exporter.gridsample import decompose_grid_samples, int32_gather_indices


@dataclass(frozen=True)
class ExportForm:
    """What exporting in one form of one aspect takes."""
    rewrite_model: Optional[Callable[[object], object]] = None  # in place, before tracing
    rewrite_onnx: Optional[Callable[[object], object]] = None  # in place, after simplifying
    min_opset: int = 0


EXPORT_FORMS: Dict[Tuple[str, str], ExportForm] = {
    # GridSample5d as written: ONNX defines N-D GridSample from opset 20.
    ("grid_sample", "native"): ExportForm(min_opset=20),
    # Standard ops with int32 gather indices (TensorRT 8.x has no int64 tensors).
    ("grid_sample", "decomposed"): ExportForm(rewrite_model=decompose_grid_samples,
                                              rewrite_onnx=int32_gather_indices),
}


def chosen_forms(entry) -> List[ExportForm]:
    """The export forms of the variants chosen for `entry`."""
    forms = []
    for aspect, form in entry.variant_key().items():
        if (aspect, form) not in EXPORT_FORMS:
            raise EdgecError("model %s: the exporter has no %s form %r"
                             % (entry.name, aspect, form))
        forms.append(EXPORT_FORMS[(aspect, form)])
    return forms


def build_export_model(entry, checkpoint: Optional[str] = None):
    """entry.build(checkpoint), rewritten into the entry's chosen export variants."""
    model = entry.build(checkpoint)
    for form in chosen_forms(entry):
        if form.rewrite_model is not None:
            form.rewrite_model(model)
    return model


def rewrite_onnx(entry, onnx_model) -> None:
    """Post-process the simplified ONNX graph of `entry` as its chosen variants need."""
    for form in chosen_forms(entry):
        if form.rewrite_onnx is not None:
            form.rewrite_onnx(onnx_model)


def export_opset(entry, opset: int) -> int:
    """`opset`, raised to what the chosen variants need."""
    return max([opset] + [form.min_opset for form in chosen_forms(entry)])
