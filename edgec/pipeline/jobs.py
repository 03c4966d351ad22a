"""One library function per workstation command (`edgec export / calibrate / quantize / sweep`):
each runs its stages in the output folder and returns a JSON-ready record, which the command
prints as a table or, with --json, as it is."""
import json
import os
from typing import Any, Dict, Optional

from edgec import artifacts
from edgec.errors import EdgecError
from edgec.pipeline.cache import StageRunner
from edgec.pipeline.stages import (calibrated_model, check_sweep, stage_compare, stage_export,
                                   stage_quantize, stage_sweep)
from edgec.settings import CalibrationSettings, ModelSource, SampleSettings, SweepSettings


def run_export(source: ModelSource, out_dir: str) -> Dict[str, Any]:
    """Export (or import) the model into out_dir: model.onnx and export.json, as the export
    stage, so a later calibrate, quantize, sweep or build in that folder reuses it (the UNet's
    export is 3 minutes here) and a repeated export is not redone."""
    runner = StageRunner(out_dir)
    stage_export(runner, source)
    with open(os.path.join(out_dir, artifacts.EXPORT_JSON)) as handle:
        record = json.load(handle)
    return dict(record, stages=runner.log)


def run_calibrate(source: ModelSource, samples: SampleSettings, calib: CalibrationSettings,
                  out_dir: str, progress: bool = True) -> Dict[str, Any]:
    from edgec.calib.store import SampleStore
    from edgec.quant.calibration.calibrate import load_ranges

    runner = StageRunner(out_dir)
    model = calibrated_model(runner, source, samples, calib, progress)
    return {"onnx": model.onnx, "samples": model.samples, "ranges": model.ranges,
            "warnings": load_ranges(model.ranges).get("warnings", []),
            "cache": os.path.join(out_dir, artifacts.CALIB_CACHE),
            "sample_count": SampleStore(model.samples).count, "method": calib.method,
            "data": model.data_summary, "stages": runner.log}


def run_quantize(source: ModelSource, samples: SampleSettings, calib: CalibrationSettings,
                 precision: str, plan_path: Optional[str], eval_samples: int, out_dir: str,
                 progress: bool = True) -> Dict[str, Any]:
    runner = StageRunner(out_dir)
    model = calibrated_model(runner, source, samples, calib, progress)
    report = stage_quantize(runner, source, model, precision, plan_path, eval_samples, progress)
    compare = stage_compare(runner, model, source.label)
    return dict(report, stages=runner.log, compare=compare)


def run_sweep(source: ModelSource, samples: SampleSettings, calib: CalibrationSettings,
              sweep: SweepSettings, out_dir: str, ranges_path: Optional[str] = None,
              progress: bool = True) -> Dict[str, Any]:
    check_sweep(sweep)
    runner = StageRunner(out_dir)
    model = calibrated_model(runner, source, samples, calib, progress, ranges_path)
    try:
        plan_path = stage_sweep(runner, source, model, sweep, progress)
    except KeyboardInterrupt:
        raise EdgecError("sweep interrupted; its progress is saved: run the same command with "
                         "--resume to continue")
    with open(os.path.join(out_dir, artifacts.SENSITIVITY_JSON)) as handle:
        record = json.load(handle)
    results = record["results"]
    return {"plan": plan_path, "selection": results["selection"],
            "all_fp16": results["all_fp16"], "all_int8": results["all_int8"],
            "budget": results["budget"]["text"], "samples": record["settings"]["samples"],
            "test": results["test"], "latency": results.get("latency"),
            "stages": runner.log}
