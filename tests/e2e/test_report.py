"""`edgec report` on a real bench result plus device fixtures (the paper's published latencies,
labelled as fixtures): the paper-layout table, CSV, chart, and refusal of bad inputs."""
import csv
import json

import pytest
from fleet_fixtures import PAPER_TABLE_4, bench_tiny_model, write_paper_fixtures


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fleet")
    measured = bench_tiny_model(folder)
    fixtures = write_paper_fixtures(json.load(open(measured)), str(folder / "devices"))
    return folder, measured, fixtures


def test_report_table_csv_and_chart(run_cli, fleet, tmp_path):
    folder, measured, fixtures = fleet
    out = tmp_path / "report"
    result = run_cli("report", measured, folder / "devices", "-o", out)
    assert result.exit_code == 0, result.output
    text = (out / "report.md").read_text()
    header = [line for line in text.splitlines() if line.startswith("| precision")][0]
    devices = [c.strip() for c in header.strip("|").split("|")][2:]
    assert devices[:2] == ["Jetson AGX Xavier", "Jetson Nano"] and len(devices) == 3
    # Speed-up over the FP32 teacher on the same device, from the numbers in the files.
    teacher = PAPER_TABLE_4[("fp32", "wav2lip")]["Jetson AGX Xavier"]
    student_mix = PAPER_TABLE_4[("mix", "lite-wav2lip")]["Jetson AGX Xavier"]
    assert "| MIX | lite-wav2lip | %.2f (×%.2f) |" % (student_mix, teacher / student_mix) in text
    assert "| FP16 | wav2lip | 3.64 (×%.2f) | 44.26 |" % (teacher / 3.64) in text
    assert "| INT8 | wav2lip | 2.38 (×3.89) | — |" in text  # no INT8 measured on the Nano
    rows = list(csv.DictReader(open(str(out / "results.csv"))))
    assert len(rows) == len(fixtures) + 1
    assert {r["source"] for r in rows} >= {measured}
    png = (out / "latency.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10000


def test_report_refuses_duplicates_and_malformed_results(run_cli, fleet, tmp_path):
    folder, measured, _ = fleet
    copy = tmp_path / "again.json"
    copy.write_text(open(measured).read())
    duplicate = run_cli("report", measured, copy, "-o", tmp_path / "r")
    assert duplicate.exit_code == 2
    assert "both measure lite-wav2lip fp32" in duplicate.output and "again.json" in \
        duplicate.output
    data = json.load(open(measured))
    del data["latency_ms"]["median"]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(data))
    result = run_cli("report", broken, "-o", tmp_path / "r")
    assert result.exit_code == 2 and "broken.json: latency_ms.median" in result.output
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{")
    assert "garbage.json is not valid JSON" in run_cli("report", garbage).output
    assert not (tmp_path / "r").exists()
