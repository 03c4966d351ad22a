"""The workflow stages behind `edgec export / calibrate / quantize / sweep / build`, each a small
function over an output folder, cached by edgec.pipeline. CLI commands compose them."""
import os
from typing import Dict, List, Optional, Sequence, Tuple

from edgec.errors import EdgecError
from edgec.pipeline import StageRunner, file_key, folder_key


class ModelSource(object):
    """Where the FP32 model comes from: a zoo/factory model (+ checkpoint) or an ONNX file."""

    def __init__(self, model_name: Optional[str] = None, inputs: Sequence[str] = (),
                 checkpoint: Optional[str] = None, onnx_path: Optional[str] = None,
                 reader: Optional[str] = None, grid_sample: str = "auto"):
        if bool(model_name) == bool(onnx_path):
            raise EdgecError("give exactly one of --model and --onnx")
        if onnx_path and checkpoint:
            raise EdgecError("--checkpoint goes with --model, not with --onnx")
        self.model_name = model_name
        self.inputs = list(inputs)
        self.checkpoint = checkpoint
        self.onnx_path = onnx_path
        self.reader = reader
        self.grid_sample = grid_sample
        self._entry = None

    @property
    def entry(self):
        if self._entry is None and self.model_name:
            from edgec.models import resolve_model

            self._entry = resolve_model(self.model_name, self.inputs, self.grid_sample)
        return self._entry

    def key(self) -> Dict[str, object]:
        if self.onnx_path:
            return {"onnx": file_key(self.onnx_path)}
        return {"model": self.model_name, "inputs": self.inputs,
                "checkpoint": file_key(self.checkpoint) if self.checkpoint else None,
                "grid_sample": self.grid_sample}

    def data_family(self) -> Optional[str]:
        if self.reader:
            return self.reader
        return self.entry.data_family if self.entry is not None else None


# Heavy modules (torch, onnx) are imported inside each stage's work function, so a build whose
# stages are all reused starts and finishes fast.

def stage_export(runner: StageRunner, source: ModelSource, opset: int = 17,
                 tolerance: float = 1e-4) -> str:
    out = runner.out_dir
    onnx_path = os.path.join(out, "model.onnx")
    key = dict(source.key(), opset=opset, tolerance=tolerance)

    def work():
        from edgec.exporter.export import export_zoo_model, import_onnx

        if source.onnx_path:
            import_onnx(source.onnx_path, out)
        else:
            export_zoo_model(source.entry, out, source.checkpoint, opset=opset,
                             tolerance=tolerance)
    runner.run("export", key, [onnx_path, os.path.join(out, "export.json")], work)
    return onnx_path


def onnx_inputs(onnx_path: str) -> List[Tuple[str, Tuple[int, ...]]]:
    """(name, shape without batch) of each graph input, from export.json beside the model when
    there is one (no need to parse the ONNX file)."""
    import json

    record = os.path.join(os.path.dirname(onnx_path), "export.json")
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


def stage_samples(runner: StageRunner, source: ModelSource, onnx_path: str, data_dir: str,
                  n: int, seed: int, progress: bool = True) -> Tuple[str, Dict[str, object]]:
    from edgec.calib.store import SampleStore

    store_path = os.path.join(runner.out_dir, "samples")
    summary = {}  # type: Dict[str, object]
    inputs = onnx_inputs(onnx_path)

    def build():
        from edgec.calib.datasets import build_store

        _, made = build_store(data_dir, store_path, inputs, source.data_family(), n, seed,
                              progress)
        summary.update(made)

    key = {"data": folder_key(data_dir), "n": n, "seed": seed, "family": source.data_family(),
           "inputs": inputs}
    runner.run("samples", key, [store_path], build)
    if not summary:
        summary.update(SampleStore(store_path).manifest.get("summary", {}))
    return store_path, summary


def stage_calibrate(runner: StageRunner, onnx_path: str, store_path: str, method: str,
                    percentile: float, holdout: float, progress: bool = True) -> str:
    from edgec.calib.store import SampleStore

    out = runner.out_dir
    ranges = os.path.join(out, "ranges.json")
    key = {"onnx": file_key(onnx_path), "samples": SampleStore(store_path).manifest["sha256"],
           "method": method, "percentile": percentile, "holdout": holdout}

    def work():
        from edgec.quant.calibrate import calibrate

        calibrate(onnx_path, store_path, out, method, percentile, holdout, progress=progress)
    runner.run("calibrate", key, [ranges, os.path.join(out, "calib.cache")], work)
    return ranges


def stage_quantize(runner: StageRunner, source: ModelSource, onnx_path: str, ranges: str,
                   store_path: str, precision: str, plan_path: Optional[str], holdout: float,
                   eval_samples: int, progress: bool = True) -> Dict[str, object]:
    import json

    from edgec.calib.store import SampleStore
    from edgec.quant.quality_files import merge_quality

    out = runner.out_dir
    report_path = os.path.join(out, "quality.%s.json" % precision)
    key = {"onnx": file_key(onnx_path), "ranges": file_key(ranges),
           "samples": SampleStore(store_path).manifest["sha256"], "precision": precision,
           "plan": file_key(plan_path) if plan_path else None, "holdout": holdout,
           "eval_samples": eval_samples}
    def work():
        from edgec.quant.quantize import quantize

        quantize(out, onnx_path, ranges, store_path, precision, plan_path, source.entry,
                 source.checkpoint, holdout, eval_samples, progress)
    runner.run("quantize-" + precision, key,
               [os.path.join(out, "model.%s.onnx" % precision), report_path], work)
    merge_quality(out)
    with open(report_path) as handle:
        return json.load(handle)


def stage_sweep(runner: StageRunner, source: ModelSource, onnx_path: str, ranges: str,
                store_path: str, budget: str, holdout: float, eval_samples: int,
                batch_size: int, device: str, resume: bool, progress: bool = True) -> str:
    from edgec.calib.store import SampleStore

    if source.entry is None:
        raise EdgecError("the sensitivity sweep needs the PyTorch model (--model): an ONNX "
                         "file alone has no fast evaluator; write a plan by hand for it")
    out = runner.out_dir
    key = {"onnx": file_key(onnx_path), "ranges": file_key(ranges),
           "samples": SampleStore(store_path).manifest["sha256"], "budget": budget,
           "holdout": holdout, "eval_samples": eval_samples, "batch_size": batch_size}
    def work():
        from edgec.quant.sweep_stage import sweep

        sweep(out, source.entry, source.checkpoint, onnx_path, ranges, store_path, budget,
              holdout, eval_samples, batch_size, device, resume, progress)
    runner.run("sweep", key, [os.path.join(out, n) for n in
                              ("sensitivity.json", "plan.json", "sensitivity.png")], work)
    return os.path.join(out, "plan.json")


def calibrated_model(runner: StageRunner, source: ModelSource, data_dir: Optional[str], n: int,
                     seed: int, method: str, percentile: float, holdout: float,
                     progress: bool = True, ranges_path: Optional[str] = None
                     ) -> Tuple[str, str, Dict[str, object], str]:
    """export -> samples -> calibrate (or the user's ranges file): what calibrate, quantize,
    sweep and build all start with. Returns (onnx, sample store, data summary, ranges)."""
    if not data_dir:
        raise EdgecError("--data is required: this command needs calibration data (a folder of "
                         "videos, Wav2Lip frame folders or .npz/.npy arrays)")
    onnx_file = stage_export(runner, source)
    store, summary = stage_samples(runner, source, onnx_file, data_dir, n, seed, progress)
    if ranges_path:
        import shutil

        from edgec.quant.calibrate import load_ranges

        load_ranges(ranges_path)  # a clear error for a file that is not a ranges file
        target = os.path.join(runner.out_dir, "ranges.json")
        if os.path.abspath(ranges_path) != os.path.abspath(target):
            shutil.copyfile(ranges_path, target)
        return onnx_file, store, summary, target
    ranges = stage_calibrate(runner, onnx_file, store, method, percentile, holdout, progress)
    return onnx_file, store, summary, ranges
