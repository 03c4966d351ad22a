"""The workflow stages behind `edgec export / calibrate / quantize / sweep / build`, each a small
function over an output folder, cached by edgec.pipeline.cache. Each takes the settings objects
of edgec.settings, and its cache key is made of those objects' keys and its input files' hashes.

Heavy modules (torch, onnx) are imported inside each stage's work function, so a build whose
stages are all reused starts and finishes fast.
"""
import json
import os
import shutil
from typing import Any, Dict, List, Optional, Tuple

from edgec import artifacts
from edgec.errors import EdgecError
from edgec.fingerprints import file_key
from edgec.pipeline.cache import StageRunner
from edgec.settings import CalibrationSettings, ModelSource, SampleSettings, SweepSettings


def export_model(source: ModelSource, out_dir: str) -> Dict[str, Any]:
    """model.onnx and export.json in out_dir: the zoo model exported, or the ONNX file imported.
    Returns the export record."""
    from edgec.exporter.export import export_zoo_model, import_onnx

    source.validate()
    if source.onnx_path:
        return import_onnx(source.onnx_path, out_dir)
    return export_zoo_model(source.entry, out_dir, source.checkpoint, opset=source.opset,
                            tolerance=source.tolerance)


def stage_export(runner: StageRunner, source: ModelSource) -> str:
    source.validate()
    out = runner.out_dir
    onnx_path = os.path.join(out, artifacts.MODEL_ONNX)
    runner.run("export", source.key(), [onnx_path, os.path.join(out, artifacts.EXPORT_JSON)],
               lambda: export_model(source, out))
    return onnx_path


def onnx_inputs(onnx_path: str) -> List[Tuple[str, Tuple[int, ...]]]:
    """(name, shape without batch) of each graph input, from export.json beside the model when
    there is one (no need to parse the ONNX file)."""
    record = os.path.join(os.path.dirname(onnx_path), artifacts.EXPORT_JSON)
    if os.path.isfile(record):
        with open(record) as handle:
            return [(i["name"], tuple(i["shape"][1:])) for i in json.load(handle)["inputs"]]
    import onnx

    model = onnx.load(onnx_path, load_external_data=False)
    inits = {t.name for t in model.graph.initializer}
    found = []
    for value in model.graph.input:
        if value.name in inits:
            continue
        dims = [d.dim_value for d in value.type.tensor_type.shape.dim][1:]
        found.append((value.name, tuple(dims)))
    return found


def stage_samples(runner: StageRunner, source: ModelSource, onnx_path: str,
                  samples: SampleSettings, progress: bool = True
                  ) -> Tuple[str, Dict[str, object]]:
    from edgec.calib.store import SampleStore

    store_path = os.path.join(runner.out_dir, artifacts.SAMPLES_DIR)
    summary = {}  # type: Dict[str, object]
    inputs = onnx_inputs(onnx_path)

    def build():
        from edgec.calib.datasets import build_store

        _, made = build_store(samples.require_data(), store_path, inputs,
                              samples.family(source), samples.count, samples.seed, progress)
        summary.update(made)

    runner.run("samples", dict(samples.key(source), inputs=inputs), [store_path], build)
    if not summary:
        summary.update(SampleStore(store_path).manifest.get("summary", {}))
    return store_path, summary


def _samples_key(store_path: str) -> str:
    from edgec.calib.store import SampleStore

    return SampleStore(store_path).manifest["sha256"]


def stage_calibrate(runner: StageRunner, onnx_path: str, store_path: str,
                    calib: CalibrationSettings, progress: bool = True,
                    source: Optional[ModelSource] = None, splits=None) -> str:
    """`source`: the PyTorch model, for the output method (its weights join the key).
    `splits`: the store's splits where the caller has made them (CalibratedModel.splits)."""
    out = runner.out_dir
    ranges = os.path.join(out, artifacts.RANGES_JSON)
    key = dict(calib.key(), onnx=file_key(onnx_path), samples=_samples_key(store_path))
    output_method = calib.method == "output"
    if output_method:
        key["model"] = source.key() if source is not None else None

    def work():
        import functools

        from edgec.quant.calibration.calibrate import calibrate
        from edgec.quant.search.output_thresholds import output_thresholds

        search = None
        entry = source.entry if source is not None and source.model_name else None
        if output_method and entry is not None:
            search = functools.partial(output_thresholds, entry=entry,
                                       checkpoint=source.checkpoint)
        calibrate(onnx_path, splits or sample_splits(store_path, calib.holdout), out,
                  settings=calib,
                  progress=progress, output_search=search, entry=entry,
                  checkpoint=source.checkpoint if entry is not None else None)
    runner.run("calibrate", key, [ranges, os.path.join(out, artifacts.CALIB_CACHE)], work)
    return ranges


def sample_splits(store_path: str, holdout: float):
    """The calibration / selection / test splits of the sample store (quant.quality.splits)."""
    from edgec.calib.store import SampleStore
    from edgec.quant.quality.splits import SampleSplits

    return SampleSplits(SampleStore(store_path), holdout)


class CalibratedModel(object):
    """What export, samples and calibrate leave in the output folder; the start of quantize,
    sweep and build. `holdout` fixes its splits, made once (`splits`) for every later stage."""

    def __init__(self, onnx, samples, data_summary, ranges, holdout):
        # type: (str, str, Dict[str, object], str, float) -> None
        self.onnx = onnx
        self.samples = samples
        self.data_summary = data_summary
        self.ranges = ranges
        self.holdout = holdout
        self._splits = None  # type: Any

    @property
    def splits(self):
        # type: () -> Any
        if self._splits is None:
            self._splits = sample_splits(self.samples, self.holdout)
        return self._splits

    def key(self) -> Dict[str, Any]:
        return {"onnx": file_key(self.onnx), "ranges": file_key(self.ranges),
                "samples": _samples_key(self.samples)}


def calibrated_model(runner: StageRunner, source: ModelSource, samples: SampleSettings,
                     calib: CalibrationSettings, progress: bool = True,
                     ranges_path: Optional[str] = None) -> CalibratedModel:
    """export -> samples -> calibrate (or the user's ranges file): what calibrate, quantize,
    sweep and build all start with."""
    source.validate()
    samples.require_data()
    onnx_file = stage_export(runner, source)
    store, summary = stage_samples(runner, source, onnx_file, samples, progress)
    model = CalibratedModel(onnx_file, store, summary,
                            os.path.join(runner.out_dir, artifacts.RANGES_JSON), calib.holdout)
    if ranges_path:
        from edgec.quant.calibration.calibrate import load_ranges

        load_ranges(ranges_path)  # a clear error for a file that is not a ranges file
        if os.path.abspath(ranges_path) != os.path.abspath(model.ranges):
            shutil.copyfile(ranges_path, model.ranges)
        return model
    stage_calibrate(runner, onnx_file, store, calib, progress, source, model.splits)
    return model


def stage_quantize(runner: StageRunner, source: ModelSource, model: CalibratedModel,
                   precision: str, plan_path: Optional[str], eval_samples: int,
                   progress: bool = True) -> Dict[str, object]:
    from edgec.quant.quality.quality_json import merge_quality

    out = runner.out_dir
    report_path = os.path.join(out, artifacts.quality_file(precision))
    key = dict(model.key(), precision=precision, holdout=model.holdout,
               plan=file_key(plan_path) if plan_path else None, eval_samples=eval_samples)

    def work():
        from edgec.quant.quantize import quantize

        quantize(out, model.onnx, model.ranges, model.splits, precision=precision,
                 plan_path=plan_path, entry=source.entry, checkpoint=source.checkpoint,
                 eval_samples=eval_samples, progress=progress)
    runner.run("quantize-" + precision, key,
               [os.path.join(out, artifacts.model_onnx(precision)), report_path], work)
    merge_quality(out)
    with open(report_path) as handle:
        return json.load(handle)


def check_sweep(sweep: SweepSettings) -> None:
    """A malformed budget, --profile without --target or a bad profile refused before any
    work is done (the budget's grammar is quant's, so the settings do not parse it)."""
    from edgec.quant.quality.budget import Budget

    Budget.parse(sweep.budget_text)
    sweep.check_target()


def stage_sweep(runner: StageRunner, source: ModelSource, model: CalibratedModel,
                sweep: SweepSettings, progress: bool = True) -> str:
    if source.entry is None:
        raise EdgecError("the sensitivity sweep needs the PyTorch model (--model): an ONNX "
                         "file alone has no fast evaluator; write a plan by hand for it")
    out = runner.out_dir
    key = dict(model.key(), holdout=model.holdout, **sweep.key())

    def work():
        from edgec.quant.search.folder_sweep import sweep as run_sweep

        run_sweep(out, source.entry, model.onnx, model.ranges, model.splits, settings=sweep,
                  checkpoint=source.checkpoint, progress=progress)
    runner.run("sweep", key, [os.path.join(out, n) for n in artifacts.SWEEP_OUTPUTS], work)
    return os.path.join(out, artifacts.PLAN_JSON)


def stage_compare(runner: StageRunner, model: CalibratedModel, label: str,
                  precisions: Optional[List[str]] = None) -> Dict[str, object]:
    """compare.png for `precisions` (None: every precision whose model file is current for this
    calibration), on the quality report's test split. A model whose output is not an
    image gets no figure, and the stage log and the returned record say why."""
    from edgec.quant.quality.compare import COMPARE_ROWS, ComparisonPlan, write_comparison
    from edgec.quant.quality.quality_json import current_precisions

    out = runner.out_dir
    if precisions is None:
        precisions = current_precisions(out, model.ranges)
    plan = ComparisonPlan(out, precisions)
    key = {"onnx": {p: file_key(plan.onnx(p)) for p in plan.precisions},
           "samples": _samples_key(model.samples), "holdout": model.holdout,
           "rows": COMPARE_ROWS,
           "model": label}
    # A current picture says the model is an image model; only a rerun reads the graph.
    if plan.reason or not runner.current("compare", key, [plan.path]):
        plan.read_layout()
    if plan.reason:
        runner.skip("compare", plan.reason)
        return plan.record()
    runner.run("compare", key, [plan.path],
               lambda: write_comparison(plan, model.splits, label))
    return plan.record()
