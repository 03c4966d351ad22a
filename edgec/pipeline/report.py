"""`edgec report`: merge result.json files from a fleet into the paper's table (precision x model
rows, device columns, speed-up over the FP32 baseline model in brackets), a CSV and a bar chart.

Reads results only through `validate_result`, so a malformed file is named and refused. Many
boards of one kind are the normal case of a fleet: each board's result is kept, a cell gives
the median over the boards of that kind with their spread (min-max, n boards), and the CSV has
one row per board. A second result of the same board (host) for the same model, precision and
batch is refused instead of silently replacing the first.
"""
import csv
import io
import os
from typing import Any, Dict, List, Optional, Tuple

from edgec import artifacts
from edgec.jetson.profiles import fastest_first
from edgec.errors import EdgecError
from edgec.fileio import atomic_write_bytes, atomic_write_text, read_json
from edgec.runtime.results import validate_result

PRECISION_ORDER = ("fp32", "fp16", "mix", "int8")
DEVICE_ORDER = tuple(p.name for p in fastest_first())

Key = Tuple[str, str, str, int]  # device, model, precision, batch


def load_results(paths: List[str], hosts: Optional[Dict[str, str]] = None
                 ) -> Dict[Key, List[Dict[str, Any]]]:
    """{(device, model, precision, batch): [result per board]}. A board is `hosts[path]` (the
    fleet's inventory name) or the result's own hostname."""
    files = []
    for path in paths:
        if os.path.isdir(path):
            files += sorted(os.path.join(folder, name) for folder, _, names in os.walk(path)
                            for name in names if name.endswith(".json"))
        else:
            files.append(path)
    if not files:
        raise EdgecError("no result files given (give result.json files or folders of them)")
    results = {}  # type: Dict[Key, List[Dict[str, Any]]]
    for path in files:
        result = validate_result(read_json(path, "result"), path)
        key = (result["device"]["name"], result["model"]["name"], result["model"]["precision"],
               int(result.get("batch") or result["settings"].get("batch") or 1))
        board = (hosts or {}).get(path) or (result.get("host") or {}).get("hostname") or path
        for other in results.get(key, []):
            if other["_board"] == board:
                raise EdgecError("results %s and %s both measure %s %s on %s at batch %d on "
                                 "the same board (%s); keep one (remove the other from the "
                                 "command line)" % (other["_source"], path, key[1], key[2],
                                                    key[0], key[3], board))
        result["_source"] = path
        result["_board"] = board
        results.setdefault(key, []).append(result)
    return results


def _spread(results: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The boards of one kind: median of their medians, min, max, how many."""
    values = sorted(float(r["latency_ms"]["median"]) for r in results)
    middle = len(values) // 2
    median = values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2
    return {"median_ms": median, "min_ms": values[0], "max_ms": values[-1],
            "boards": len(values)}


def _order(values: List[str], preferred: Tuple[str, ...]) -> List[str]:
    return sorted(values, key=lambda v: (preferred.index(v) if v in preferred else len(preferred),
                                         v))


def _baseline(models: List[str], requested: Optional[str]) -> Optional[str]:
    if requested:
        if requested not in models:
            raise EdgecError("--baseline %s: no results for that model (models: %s)"
                             % (requested, ", ".join(models)))
        return requested
    return "wav2lip" if "wav2lip" in models else None


def build_tables(results: Dict[Key, Dict[str, Any]], baseline: Optional[str] = None
                 ) -> Dict[str, Any]:
    """Per batch: devices (columns), rows (precision, model) and cells (median ms, speed-up)."""
    tables = []
    for batch in sorted(set(k[3] for k in results)):
        keys = [k for k in results if k[3] == batch]
        devices = _order(sorted(set(k[0] for k in keys)), DEVICE_ORDER)
        models = sorted(set(k[1] for k in keys))
        base = _baseline(models, baseline)
        precisions = _order(sorted(set(k[2] for k in keys)), PRECISION_ORDER)
        rows = []
        for precision in precisions:
            for model in models:
                cells = []
                for device in devices:
                    boards = results.get((device, model, precision, batch))
                    if not boards:
                        cells.append(None)
                        continue
                    cell = _spread(boards)
                    reference = results.get((device, base, "fp32", batch)) if base else None
                    cell["speedup"] = (_spread(reference)["median_ms"] / cell["median_ms"]
                                       if reference else None)
                    checks = [(r.get("check") or {}).get("passed") for r in boards]
                    cell["passed"] = False if False in checks else (
                        True if checks and all(checks) else None)
                    cells.append(cell)
                if any(c is not None for c in cells):
                    rows.append({"precision": precision, "model": model, "cells": cells})
        tables.append({"batch": batch, "devices": devices, "baseline": base, "rows": rows})
    return {"tables": tables}


def _cell_text(cell: Optional[Dict[str, Any]]) -> str:
    if cell is None:
        return "—"
    text = "%.2f" % cell["median_ms"]
    if cell["speedup"] is not None:
        text += " (×%.2f)" % cell["speedup"]
    if cell.get("boards", 1) > 1:
        text += " [%.2f-%.2f, %d boards]" % (cell["min_ms"], cell["max_ms"], cell["boards"])
    if cell["passed"] is False:
        text += " ✗ output check failed"
    return text


def markdown(tables: Dict[str, Any]) -> str:
    lines = ["# edgec fleet report", ""]
    for table in tables["tables"]:
        lines.append("## Latency, batch %d (median ms%s)" % (
            table["batch"], "; in brackets: speed-up over FP32 %s on the same device"
            % table["baseline"] if table["baseline"] else ""))
        lines.append("")
        lines.append("| precision | model | " + " | ".join(table["devices"]) + " |")
        lines.append("|---|---|" + "---|" * len(table["devices"]))
        for row in table["rows"]:
            cells = " | ".join(_cell_text(c) for c in row["cells"])
            lines.append("| %s | %s | %s |" % (row["precision"].upper(), row["model"], cells))
        lines.append("")
    lines.append("— : not measured. [a-b, n boards]: the fastest and slowest of n boards of "
                 "that kind, whose median is the number. Every number comes from a result.json "
                 "listed in results.csv (columns `source` and `board`).")
    return "\n".join(lines) + "\n"


def csv_text(results: Dict[Key, List[Dict[str, Any]]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["device", "model", "precision", "batch", "median_ms", "p90_ms", "p99_ms",
                     "throughput_per_s", "backend", "backend_version", "mean_power_mw",
                     "energy_per_frame_mj", "clocks_locked", "gpu_clock_dropped", "check",
                     "source", "board"])
    rows = [(key, result) for key in sorted(results)
            for result in sorted(results[key], key=lambda r: r["_board"])]
    for key, result in rows:
        latency = result["latency_ms"]
        jetson = result.get("jetson") or {}
        power = jetson.get("power") or {}
        clocks = (jetson.get("clock_state") or {}).get("clocks") or {}
        check = result.get("check")
        writer.writerow([key[0], key[1], key[2], key[3], latency["median"], latency.get("p90"),
                         latency.get("p99"), result.get("throughput_per_s"),
                         (result.get("backend") or {}).get("backend"),
                         (result.get("backend") or {}).get("version"),
                         power.get("mean_power_mw"), power.get("energy_per_frame_mj"),
                         clocks.get("locked"), power.get("gpu_clock_dropped"),
                         None if check is None else ("passed" if check["passed"] else "failed"),
                         result["_source"], result["_board"]])
    return buffer.getvalue()


def bar_chart(tables: Dict[str, Any], path: str) -> None:
    """Latency per device, one bar per (model, precision); log scale, since teacher and student
    differ by an order of magnitude."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    table = tables["tables"][0]
    devices = table["devices"]
    rows = table["rows"]
    width = 0.8 / max(len(rows), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(devices) + 0.35 * len(rows)), 4.8))
    colors = plt.get_cmap("tab10")
    positions = np.arange(len(devices))
    for index, row in enumerate(rows):
        values = [c["median_ms"] if c else np.nan for c in row["cells"]]
        bars = ax.bar(positions + (index - (len(rows) - 1) / 2.0) * width, values, width,
                      label="%s %s" % (row["model"], row["precision"].upper()),
                      color=colors(index % 10))
        for bar, value in zip(bars, values):
            if not np.isnan(value):
                ax.annotate("%.2g" % value, (bar.get_x() + bar.get_width() / 2, value),
                            ha="center", va="bottom", fontsize=7, rotation=90,
                            xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(positions)
    ax.set_xticklabels(devices)
    ax.set_yscale("log")
    ax.set_ylabel("median latency, ms (log scale)")
    ax.set_title("Latency per device and precision, batch %d" % table["batch"])
    ax.legend(fontsize=8, ncol=2)
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def write_report(paths: List[str], out_dir: str, baseline: Optional[str] = None,
                 hosts: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """`hosts`: result path -> the board (fleet host) that measured it."""
    results = load_results(paths, hosts)
    tables = build_tables(results, baseline)
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    files = {"markdown": os.path.join(out_dir, artifacts.REPORT_MARKDOWN),
             "csv": os.path.join(out_dir, artifacts.REPORT_CSV),
             "chart": os.path.join(out_dir, artifacts.REPORT_CHART)}
    atomic_write_text(files["markdown"], markdown(tables))
    atomic_write_text(files["csv"], csv_text(results))
    bar_chart(tables, files["chart"])
    return {"files": files, "results": sum(len(r) for r in results.values()),
            "tables": tables}
