"""quality.json: every precision's quality report in one file."""
import glob
import json
import os
from typing import List

from edgec import artifacts
from edgec.fileio import atomic_write_json, sha256_file


def merge_quality(out_dir: str) -> None:
    merged = {}
    for path in sorted(glob.glob(os.path.join(out_dir, artifacts.quality_file("*")))):
        with open(path) as handle:
            report = json.load(handle)
        merged[report["precision"]] = report
    atomic_write_json(os.path.join(out_dir, artifacts.QUALITY_JSON), merged)


def current_precisions(out_dir: str, ranges_path: str) -> List[str]:
    """The precisions whose model file in out_dir is the one its quality report describes, made
    from this ranges file: a file left by an earlier model or calibration is not current."""
    ranges = sha256_file(ranges_path)
    found = []
    for precision in artifacts.PRECISIONS:
        report_path = os.path.join(out_dir, artifacts.quality_file(precision))
        model_path = os.path.join(out_dir, artifacts.model_onnx(precision))
        if precision == "fp32" or not (os.path.isfile(report_path)
                                       and os.path.isfile(model_path)):
            continue
        with open(report_path) as handle:
            report = json.load(handle)
        if report.get("ranges_sha256") == ranges and report.get("sha256") == sha256_file(
                model_path):
            found.append(precision)
    return found
