"""Refit the shipped latency estimator (edgec/data/latency_fit.json) on its shipped data
(edgec/data/latency_data.json: the paper's published Jetson latencies;
edgec/data/latency_public.json: published latencies of standard networks) and record its
leave-one-board-out error per board and precision. Run after changing the cost model or the
data:

    python scripts/fit_latency.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from edgec.fileio import atomic_write_json  # noqa: E402
from edgec.latency import cost_model, fit as latency_fit, points  # noqa: E402
from edgec.pipeline.predict import zoo_layers  # noqa: E402


def main():
    fitting = points.fitting_points(zoo_layers)
    record = latency_fit.fit_record(fitting, [os.path.relpath(points.DATA_FILE),
                                              os.path.relpath(points.PUBLIC_FILE)])
    atomic_write_json(cost_model.FIT_FILE, record)
    summary = record["leave_one_board_out"]["summary"]
    print("wrote %s: %d points; leave-one-board-out median %.1f%%, worst %.1f%%; in sample "
          "median %.1f%%" % (cost_model.FIT_FILE, summary["points"], summary["median_abs_percent"],
                             summary["worst_abs_percent"],
                             record["in_sample"]["median_abs_percent"]))
    for key, row in record["leave_one_board_out"]["by_board_precision"].items():
        print("  %-16s %2d points: median %5.1f%%, worst %5.1f%%%s"
              % (key, row["points"], row["median_abs_percent"], row["worst_abs_percent"],
                 "  (no data for %s without this board: borrowed)" % row["borrowed_class"]
                 if row["borrowed_class"] else ""))


if __name__ == "__main__":
    main()
