"""What several commands print: JSON for machines, stage logs, data summaries, quality lines.
Python 3.6 compatible (the device commands print through it)."""
import json
from typing import Any, Dict, List  # noqa: F401

import click


def emit_json(obj):
    # type: (Any) -> None
    click.echo(json.dumps(obj, indent=2, sort_keys=True))


def say_on_stderr(as_json):
    # type: (bool) -> Any
    """Progress lines go to stderr, and not at all when stdout carries JSON."""
    if as_json:
        return lambda text: None
    return lambda text: click.echo(text, err=True)


def print_stage_log(log):
    # type: (List[Dict[str, Any]]) -> None
    for row in log:
        click.echo("  stage %-10s %s" % (row["stage"], stage_outcome(row, "ran in %.1f s")))


def stage_outcome(row, ran="%.1fs", why=True):
    # type: (Dict[str, Any], str, bool) -> str
    """How one stage of a run ended: reused, skipped (and why, unless the caller says it
    elsewhere), or its time."""
    if row.get("skipped"):
        return "skipped (%s)" % row["skipped"] if why else "skipped"
    return "reused" if row["reused"] else ran % row["seconds"]


def print_data_summary(summary):
    # type: (Dict[str, Any]) -> None
    click.echo("samples: %s written of %s requested" % (summary.get("written"),
                                                         summary.get("requested")))
    for reason, info in sorted(summary.get("skipped", {}).items()):
        click.echo("warning: skipped %d (%s), e.g. %s"
                   % (info["count"], reason, info["items"][0]), err=True)


def format_metrics(metrics):
    # type: (Dict[str, Any]) -> str
    if metrics.get("psnr_db") is None:
        return "non-finite outputs"
    text = "PSNR %.2f dB" % metrics["psnr_db"]
    if metrics.get("ssim") is not None:
        text += ", SSIM %.5f" % metrics["ssim"]
    if metrics.get("psnr_p5_db") is not None:
        text += ", p5 %.2f dB" % metrics["psnr_p5_db"]
    if metrics.get("region_psnr_db") is not None:
        text += ", region %.2f dB" % metrics["region_psnr_db"]
    if metrics.get("max_abs_error") is not None:
        text += ", max error %.4f" % metrics["max_abs_error"]
    return text


def print_quality(report):
    # type: (Dict[str, Any]) -> None
    quality = report["quality"]
    ort = quality["onnxruntime"]
    click.echo("wrote %s: %s, %d FP16 layers, %d INT8 layers%s"
               % (report["file"], report["precision"], len(report["fp16_layers"]),
                  report["int8_layers"],
                  ", %.1f%% of MACs in INT8" % (100 * report["int8_mac_share"])
                  if report.get("int8_mac_share") is not None else ""))
    click.echo("  quality vs FP32 (ONNX Runtime, %d samples of the test split): %s"
               % (ort["samples"], format_metrics(ort)))
    for line in report.get("calibration_warnings", []):
        click.echo("warning: " + line, err=True)
    if "evaluator_vs_onnxruntime" in quality:
        agree = quality["evaluator_vs_onnxruntime"]
        click.echo("  fast evaluator vs ONNX Runtime: PSNR %.1f dB, max difference %.2e"
                   % (agree["psnr_db"], agree["max_abs_error"]))
    compare = report.get("compare")
    if compare:
        click.echo("  %s" % (compare["skipped"] or "wrote %s: %s on test-split samples"
                             % (compare["path"], " | ".join(p.upper()
                                                            for p in compare["precisions"]))))
