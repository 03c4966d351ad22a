"""quality.json: every precision's quality report in one file."""
import glob
import json
import os

from edgec import artifacts
from edgec.fileio import atomic_write_json


def merge_quality(out_dir: str) -> None:
    merged = {}
    for path in sorted(glob.glob(os.path.join(out_dir, artifacts.quality_file("*")))):
        with open(path) as handle:
            report = json.load(handle)
        merged[report["precision"]] = report
    atomic_write_json(os.path.join(out_dir, artifacts.QUALITY_JSON), merged)
