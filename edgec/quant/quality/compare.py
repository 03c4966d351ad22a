"""compare.png: a few test-split samples through every precision's ONNX file side by side (the
Wav2Lip compression paper's Figure 4, for the user's own model). Each output is labelled with its
PSNR vs FP32; heat maps show where each precision's error lies (|output - FP32|, one colour scale
for all of them, so FP16's near-black map reads against INT8's).

The samples are spread over the test split the quality report uses (so the rows show several
clips; nothing was chosen on them). Only image models get a figure: the first output must be
(batch, 3, H, W) and an input must hold a picture of that size, 3 channels or Wav2Lip's 6 (masked target 0:3, reference
3:6; the reference is shown, since the target's mouth is masked out)."""
import io
import math
import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from edgec import artifacts

COMPARE_ROWS = 4  # test-split samples shown
SKIPPED = artifacts.COMPARE_PNG + " skipped: "
DPI = 110

# The figure's geometry in inches; figure_size() and _axes_box() place every axes from these, so
# the picture's size follows from its rows and columns alone.
CELL = 1.45  # one image's side
COLUMN_GAP = 0.12
ROW_LABEL = 0.32  # under each image: its PSNR (or maximum error)
LEFT = 0.4  # the row labels ("sample 12")
TITLE = 0.62  # two lines of figure title
HEADER = 0.42  # column titles, two lines for the input column
BLOCK_GAP = 0.35  # between the images and the heat maps
COLORBAR = 0.16
COLORBAR_LABELS = 0.95  # the colour bar's ticks and label
BOTTOM = 0.08


class ImageLayout(object):
    """Which tensors the figure shows: the image output, and the input channels shown beside it
    as the context the model saw."""

    def __init__(self, output: str, input_name: str, channels: Tuple[int, int]):
        self.output = output
        self.input_name = input_name
        self.channels = channels

    def input_title(self) -> str:
        first, stop = self.channels
        return "%s\n%s[%d:%d]" % ("reference" if first else "input", self.input_name, first,
                                  stop)


def _dims(value) -> List[object]:
    """A graph value's dims: ints, or the symbolic name of a dynamic dim."""
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
            for d in value.type.tensor_type.shape.dim]


def _same_size(a: Sequence[object], b: Sequence[object]) -> bool:
    """Spatial dims that agree wherever both are known."""
    return all(x == y or not isinstance(x, int) or not isinstance(y, int) for x, y in zip(a, b))


def image_layout(onnx_path: str) -> Tuple[Optional[ImageLayout], Optional[str]]:
    """(layout, None) for an image model; (None, why the figure does not apply) otherwise. Reads
    the graph's declared shapes only (no weights are run)."""
    import onnx

    graph = onnx.load(onnx_path, load_external_data=False).graph
    output = graph.output[0]
    out_dims = _dims(output)
    if len(out_dims) != 4 or out_dims[1] != 3:
        return None, ("output is not an image: %s has shape (%s), not (batch, 3, H, W)"
                      % (output.name, ", ".join(str(d) for d in out_dims)))
    weights = {t.name for t in graph.initializer}
    for value in graph.input:
        dims = _dims(value)
        if (value.name not in weights and len(dims) == 4 and dims[1] in (3, 6)
                and _same_size(dims[2:], out_dims[2:])):
            return ImageLayout(output.name, value.name, (3, 6) if dims[1] == 6 else (0, 3)), None
    return None, ("no input is an image of the output's size (3 channels, or Wav2Lip's 6: "
                  "masked target and reference)")


class ComparisonPlan(object):
    """What compare.png will show, decided before any inference: the precisions with a model
    file, and (read_layout) which tensors are pictures, or why there is no figure."""

    def __init__(self, out_dir: str, precisions: Sequence[str]):
        self.out_dir = out_dir
        self.path = os.path.join(out_dir, artifacts.COMPARE_PNG)
        wanted = [p for p in artifacts.PRECISIONS if p != "fp32" and p in precisions]
        self.precisions = ["fp32"] + [p for p in wanted if os.path.isfile(self.onnx(p))]
        self.missing = [p for p in artifacts.PRECISIONS if p not in self.precisions]
        self.layout = None  # type: Optional[ImageLayout]
        # Why there is no figure; None when there is one (or read_layout has yet to say).
        self.reason = (None if len(self.precisions) > 1
                       else "no FP16, INT8 or MIX model to compare with FP32")

    @property
    def skipped(self) -> Optional[str]:
        return SKIPPED + self.reason if self.reason else None

    def read_layout(self) -> Optional[str]:
        """Find the image output and input in the FP32 graph (imports onnx: a cached stage
        skips this); returns why there is no figure, or None."""
        if self.reason is None and self.layout is None:
            self.layout, self.reason = image_layout(self.onnx("fp32"))
        return self.reason

    def onnx(self, precision: str) -> str:
        return os.path.join(self.out_dir, artifacts.model_onnx(precision))

    def record(self) -> Dict[str, object]:
        """What the --json records carry: the picture's path, or why there is none."""
        if self.skipped:
            return {"path": None, "skipped": self.skipped}
        return {"path": self.path, "precisions": list(self.precisions),
                "missing": list(self.missing), "skipped": None}


def psnr_per_sample(reference: np.ndarray, candidate: np.ndarray, peak: float
                    ) -> List[Optional[float]]:
    """Each sample's PSNR (dB) against FP32, by the quality report's rules: identical outputs
    give PSNR_IDENTICAL, non-finite ones None."""
    from edgec.quant.quality.metrics import psnr_from_mse

    diff = candidate.astype(np.float64) - reference.astype(np.float64)
    return [psnr_from_mse(float(mse), peak) if math.isfinite(mse) else None
            for mse in np.mean(diff.reshape(len(diff), -1) ** 2, axis=1)]


def figure_size(rows: int, image_columns: int, error_columns: int) -> Tuple[float, float]:
    """(width, height) in inches; the PNG is that times DPI."""
    width = (LEFT + image_columns * (CELL + COLUMN_GAP) + BLOCK_GAP
             + error_columns * (CELL + COLUMN_GAP) + COLORBAR + COLORBAR_LABELS)
    return width, TITLE + HEADER + rows * (CELL + ROW_LABEL) + BOTTOM


def _axes_box(size: Tuple[float, float], row: int, column: int, image_columns: int
              ) -> Tuple[float, float, float, float]:
    """[left, bottom, width, height] in figure fractions of one image's axes."""
    width, height = size
    left = LEFT + column * (CELL + COLUMN_GAP) + (BLOCK_GAP if column >= image_columns else 0)
    top = height - TITLE - HEADER - row * (CELL + ROW_LABEL)
    return left / width, (top - CELL) / height, CELL / width, CELL / height


def _as_rgb(chw: np.ndarray) -> np.ndarray:
    """(3, H, W) -> (H, W, 3) in [0, 1], non-finite values black."""
    return np.clip(np.nan_to_num(np.transpose(chw, (1, 2, 0)), nan=0.0, posinf=0.0,
                                 neginf=0.0), 0.0, 1.0)


def write_comparison(plan: ComparisonPlan, splits, model_label: str,
                     rows: int = COMPARE_ROWS) -> Dict[str, object]:
    """Run the plan's ONNX files on test-split samples in ONNX Runtime and write compare.png.
    Returns plan.record() with the numbers the labels show: samples, peak, per-sample PSNR and
    maximum error per precision."""
    from edgec.quant.quality.metrics import output_peak
    from edgec.quant.quality.splits import TEST
    from edgec.runtime.ort_backend import OnnxRuntimeRunner

    plan.read_layout()
    layout = plan.layout
    assert layout is not None and not plan.skipped, plan.skipped
    store = splits.store
    # Spread over the whole test split (its samples run clip by clip), so the rows show
    # several clips rather than neighbouring frames of the first.
    held = splits.indices(TEST)
    picks = np.unique(np.linspace(0, len(held) - 1, min(rows, len(held))).round().astype(int))
    indices = [int(held[i]) for i in picks]
    feed = {name: value.astype(np.float32) for name, value in store.get(indices).items()}
    outputs = {}
    for precision in plan.precisions:
        with OnnxRuntimeRunner(plan.onnx(precision)) as runner:
            outputs[precision] = runner.infer(feed)[layout.output]
    reference = outputs["fp32"]
    peak = output_peak([reference])  # the quality report's convention, on these samples
    psnr = {p: psnr_per_sample(reference, outputs[p], peak) for p in plan.precisions[1:]}
    errors = {p: np.nan_to_num(np.abs(outputs[p] - reference).max(axis=1), nan=np.inf)
              for p in plan.precisions[1:]}  # (N, H, W): the worst channel at each pixel
    record = dict(plan.record(), samples=indices, peak=peak, psnr_db=psnr,
                  max_abs_error={p: [float(e.max()) for e in errors[p]] for p in errors},
                  input="%s[%d:%d]" % ((layout.input_name,) + layout.channels))
    first, stop = layout.channels
    context = feed[layout.input_name][:, first:stop]
    _draw(plan, model_label, indices, context, outputs, psnr, errors, peak)
    return record


def _draw(plan: ComparisonPlan, model_label: str, indices: List[int], context: np.ndarray,
          outputs: Dict[str, np.ndarray], psnr: Dict[str, List[Optional[float]]],
          errors: Dict[str, np.ndarray], peak: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edgec.fileio import atomic_write_bytes

    layout = plan.layout
    assert layout is not None
    compared = plan.precisions[1:]
    image_columns = 1 + len(plan.precisions)
    size = figure_size(len(indices), image_columns, len(compared))
    fig = plt.figure(figsize=size, dpi=DPI)
    finite = [e[np.isfinite(e)] for e in errors.values()]
    top = max([float(e.max()) for e in finite if e.size] + [0.0])
    vmax = top if top > 0 else 1e-6  # one scale for every heat map
    heat = None
    for row, sample in enumerate(indices):
        cells = [(layout.input_title(), _as_rgb(context[row]), "")]
        for precision in plan.precisions:
            label = "reference" if precision == "fp32" else _psnr_text(psnr[precision][row])
            cells.append((precision.upper(), _as_rgb(outputs[precision][row]), label))
        for column, (title, picture, label) in enumerate(cells):
            axes = fig.add_axes(_axes_box(size, row, column, image_columns))
            axes.imshow(picture, interpolation="nearest")
            _frame(axes, title if row == 0 else "", label)
            if column == 0:
                axes.set_ylabel("sample %d" % sample, fontsize=8)
        for offset, precision in enumerate(compared):
            axes = fig.add_axes(_axes_box(size, row, image_columns + offset, image_columns))
            worst = errors[precision][row]
            heat = axes.imshow(worst, interpolation="nearest", cmap="inferno", vmin=0.0,
                               vmax=vmax)
            _frame(axes, "|%s - FP32|" % precision.upper() if row == 0 else "",
                   "max %.2g" % float(worst.max()))
    width, height = size
    bar_left = width - COLORBAR - COLORBAR_LABELS + COLUMN_GAP
    bar_axes = fig.add_axes((bar_left / width, (BOTTOM + ROW_LABEL) / height, COLORBAR / width,
                             (height - TITLE - HEADER - BOTTOM - ROW_LABEL) / height))
    assert heat is not None  # the plan compares at least one precision with FP32
    bar = fig.colorbar(heat, cax=bar_axes)
    bar.set_label("|output - FP32|, worst of R, G, B", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    reference = outputs["fp32"]
    title = "%s: %s on %d test-split samples, PSNR vs FP32" % (
        model_label, " | ".join(p.upper() for p in plan.precisions), len(indices))
    if plan.missing:
        title += "; not built: %s (no %s)" % (", ".join(p.upper() for p in plan.missing),
                                             ", ".join(artifacts.model_onnx(p)
                                                       for p in plan.missing))
    detail = ("outputs drawn as RGB in [0, 1]; FP32 values span %.3g to %.3g (PSNR peak %.3g); "
              "heat maps share one scale" % (float(np.nanmin(reference)),
                                             float(np.nanmax(reference)), peak))
    fig.text(0.5, 1 - 0.12 / height, title, ha="center", va="top", fontsize=10)
    fig.text(0.5, 1 - 0.36 / height, detail, ha="center", va="top", fontsize=8, color="#444444")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    plt.close(fig)
    atomic_write_bytes(plan.path, buffer.getvalue())


def _psnr_text(value: Optional[float]) -> str:
    return "PSNR n/a (non-finite)" if value is None else "PSNR %.2f dB" % value


def _frame(axes, title: str, label: str) -> None:
    axes.set_xticks([])
    axes.set_yticks([])
    if title:
        axes.set_title(title, fontsize=8)
    if label:
        axes.set_xlabel(label, fontsize=8)
