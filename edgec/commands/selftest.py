"""`edgec selftest`: a structured first contact with a device. Builds the tiny bundle shipped in
the package at every precision with the installed TensorRT and checks each engine, or, without
TensorRT, says so and checks what it can. Device path: Python 3.6, numpy and TensorRT."""
import contextlib
import os
import sys

import click

from edgec import artifacts
from edgec.commands.options import json_option
from edgec.commands.output import emit_json


@click.command()
@click.option("-o", "--output", "output_path", default=artifacts.SELFTEST_JSON, show_default=True,
              type=click.Path(dir_okay=False), help="Where the record of every check goes.")
@click.option("--keep", "keep_dir", type=click.Path(file_okay=False), default=None,
              help="Keep the unpacked bundle and the built engines in this folder (default: a "
                   "temporary folder, removed afterwards).")
@click.option("--jetson-root", type=click.Path(file_okay=False), default=None,
              help="Where /proc/device-tree and /etc/nv_tegra_release are read from (default: "
                   "$EDGEC_JETSON_ROOT, else /).")
@json_option
def selftest(output_path, keep_dir, jetson_root, as_json):
    """Self-test this device: Jetson detection, tegrastats, the CUDA runtime, the shipped tiny
    bundle (unpacked and verified); with TensorRT, FP32/FP16/INT8/MIX engines built by edgec's
    builder and checked against the bundle's reference outputs, per-layer precision (is the MIX
    plan honoured?), the timing cache, the DLA, CUDA events vs the host clock, and Polygraphy's
    engines as an independent oracle. Writes selftest.json; exit status 1 when a check
    failed."""
    from edgec.errors import CheckFailed
    from edgec.fileio import atomic_write_json
    from edgec.runtime.selftest import FAILED, run_selftest

    if as_json:
        with _stdout_to_stderr():  # what TensorRT and Polygraphy print must not mix into the JSON
            record = run_selftest(keep_dir=keep_dir, jetson_root=jetson_root)
    else:
        record = run_selftest(keep_dir=keep_dir, jetson_root=jetson_root)
    atomic_write_json(output_path, record)
    if as_json:
        emit_json(record)
    else:
        _print_selftest(record, output_path)
    broken = [c["name"] for c in record["checks"] if c["status"] == FAILED]
    if broken:
        raise CheckFailed("self-test FAILED: %s (every check is in %s)"
                          % (", ".join(broken), output_path))


@contextlib.contextmanager
def _stdout_to_stderr():
    """Python's prints and file descriptor 1 (libraries' C++ loggers) go to stderr."""
    sys.stdout.flush()
    saved = None
    try:
        saved = os.dup(1)
        os.dup2(2, 1)
    except OSError:
        saved = None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def _environment_line(env):
    parts = ["Python %s" % env["python"], "numpy %s" % env["numpy"],
             "TensorRT %s" % (env["tensorrt"] or "not installed")]
    cuda = env["cuda"]
    if cuda["available"]:
        parts.append("CUDA runtime %s (%s)" % (cuda["runtime"], cuda["device"]))
    elif cuda["runtime"]:
        parts.append("CUDA runtime %s (no usable GPU)" % cuda["runtime"])
    else:
        parts.append("no CUDA runtime")
    parts.append("ONNX Runtime %s" % (env["onnxruntime"] or "not installed"))
    parts.append("Polygraphy %s" % (env["polygraphy"] or "not installed"))
    board = env["board"]
    where = board["name"] if board else "%s (not a Jetson)" % env["machine"]
    return "edgec %s selftest on %s: %s" % (env["edgec"], where, ", ".join(parts))


def _shorten(text, width=100):
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 3] + "..."


def _print_selftest(record, output_path):
    from edgec.runtime.selftest import FAILED, NO_TENSORRT, PASSED
    from edgec.tables import format_table

    env = record["environment"]
    click.echo(_environment_line(env))
    if env["tensorrt"] is None:
        click.echo(NO_TENSORRT + "; the checks below that need it are skipped.")
    rows = []
    for check in record["checks"]:
        if check["status"] == PASSED:
            detail = check.get("summary") or ""
        elif check["why"] == NO_TENSORRT:
            detail = "no TensorRT here"
        else:
            detail = check["why"] or ""
        rows.append([check["name"], check["status"], _shorten(detail)])
    click.echo(format_table(["check", "status", "detail"], rows))
    for check in record["checks"]:
        if check["status"] != FAILED:
            continue
        click.echo("%s FAILED: %s" % (check["name"], check["why"]))
        for line in check["messages"][-10:]:
            click.echo("  %s" % line)
    counts = record["summary"]
    click.echo("%d passed, %d failed, %d skipped; wrote %s"
               % (counts["passed"], counts["failed"], counts["skipped"], output_path))
