"""`edgec report` over many boards of one kind: each board kept, the cell the median of the
boards with their spread; the same board twice is refused."""
import csv
import json

import pytest
from fleet_fixtures import bench_tiny_model

from edgec.errors import EdgecError
from edgec.pipeline.report import load_results, markdown, write_report


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    return json.load(open(bench_tiny_model(tmp_path_factory.mktemp("bench"))))


def _board(tmp_path, measured, host, median_ms):
    data = json.loads(json.dumps(measured))
    data["latency_ms"]["median"] = median_ms
    path = tmp_path / ("%s.json" % host)
    path.write_text(json.dumps(data))
    return str(path)


def test_boards_of_one_kind_are_kept_with_their_spread(tmp_path, measured):
    paths = [_board(tmp_path, measured, h, ms) for h, ms in
             (("nano-1", 3.0), ("nano-2", 5.0), ("nano-3", 4.0))]
    hosts = {p: p.rsplit("/", 1)[1][:-5] for p in paths}
    summary = write_report(paths, str(tmp_path / "report"), hosts=hosts)
    assert summary["results"] == 3
    cell = summary["tables"]["tables"][0]["rows"][0]["cells"][0]
    assert (cell["median_ms"], cell["min_ms"], cell["max_ms"], cell["boards"]) == \
        (4.0, 3.0, 5.0, 3)
    assert "4.00 [3.00-5.00, 3 boards]" in markdown(summary["tables"])
    rows = list(csv.DictReader(open(summary["files"]["csv"])))
    assert sorted(r["board"] for r in rows) == ["nano-1", "nano-2", "nano-3"]


def test_the_same_board_twice_is_refused_naming_both_files(tmp_path, measured):
    first = _board(tmp_path, measured, "a", 3.0)
    second = _board(tmp_path, measured, "b", 3.5)
    with pytest.raises(EdgecError) as caught:
        load_results([first, second], {first: "nano-1", second: "nano-1"})
    assert first in caught.value.message and second in caught.value.message
    assert "nano-1" in caught.value.message
    assert len(load_results([first, second], {first: "nano-1", second: "nano-2"})
               [next(iter(load_results([first], {})))]) == 2
