"""Refit the shipped latency estimator (edgec/data/latency_fit.json) on its shipped data
(edgec/data/latency_data.json: the paper's published Jetson latencies) and record its
leave-one-out error. Run after changing the cost model or the data:

    python scripts/fit_latency.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from edgec.fileio import atomic_write_json  # noqa: E402
from edgec.jetson import predict  # noqa: E402
from edgec.pipeline.predict import zoo_layers  # noqa: E402


def main():
    points = predict.fitting_points(zoo_layers)
    record = predict.fit_record(points, [os.path.relpath(predict.DATA_FILE)])
    atomic_write_json(predict.FIT_FILE, record)
    summary = record["leave_one_out"]["summary"]
    print("wrote %s: leave-one-out over %d points, median %.1f%%, worst %.1f%%"
          % (predict.FIT_FILE, summary["points"], summary["median_abs_percent"],
             summary["worst_abs_percent"]))


if __name__ == "__main__":
    main()
