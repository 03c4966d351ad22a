"""`edgec predict`: each Jetson's latency for a model before you own the board."""
import click

from edgec.commands.options import json_option
from edgec.commands.output import emit_json
from edgec.jetson.profiles import board_keys


@click.command()
@click.argument("target", metavar="MODEL|ONNX")
@click.option("--device", "devices", multiple=True, default=["all"], show_default=True,
              type=click.Choice(board_keys() + ["all"]),
              help="Device(s) to predict for; repeat the option for several.")
@click.option("--precision", "precisions", multiple=True, default=["all"], show_default=True,
              type=click.Choice(["fp32", "fp16", "int8", "mix", "all"]))
@click.option("--plan", "plan_path", type=click.Path(dir_okay=False), default=None,
              help="MIX plan (plan.json). Default: plan.json beside the ONNX file, or the "
                   "paper's hand-picked plan for wav2lip / lite-wav2lip.")
@click.option("--batch", type=click.IntRange(1), default=1, show_default=True)
@click.option("--fit", "fit_results", multiple=True, type=click.Path(dir_okay=False),
              help="Refit the estimator on the shipped data plus these Jetson result.json or "
                   "profile.json files (repeat); the predictions then use the refitted "
                   "values.")
@click.option("--save-fit", type=click.Path(dir_okay=False), default=None,
              help="Write the refitted estimator here (use it later with --params).")
@click.option("--params", "params_path", type=click.Path(dir_okay=False), default=None,
              help="A fitted estimator from --save-fit (default: the shipped one).")
@json_option
def predict(target, devices, precisions, plan_path, batch, fit_results, save_fit, params_path,
            as_json):
    """Predict batch-N TensorRT latency on each Jetson from per-layer costs (compute at the
    precision's peak, memory traffic at the device's bandwidth, per-layer overhead) and
    efficiency factors fitted to measured latencies, with the estimator's own error.

    A zoo model's costs are its convs, Linear layers and attention products (INT8 and MIX
    quantize the convs; the rest runs in FP16). Each row says whether the engine fits the
    board's memory; for a model that is one stage of a video pipeline (LatentSync's UNet,
    VAE), also the time per window of frames and per frame."""
    from edgec.pipeline.predict import run_predict

    report = run_predict(target, devices, precisions, plan_path, batch, fit_results,
                         params_path, save_fit)
    if as_json:
        emit_json(report)
        return
    _print_predictions(report)


def _error_text(error):
    if not error:
        return "no data on this board at this precision"
    return "%.0f%% median, %.0f%% worst (%d points)%s" % (
        error["median_abs_percent"], error["worst_abs_percent"], error["points"],
        "; %s borrowed" % error["borrowed_class"] if error.get("borrowed_class") else "")


def _print_predictions(report):
    from edgec.tables import format_table

    lobo = report["estimator"]["leave_one_board_out"]
    click.echo("%s, batch %d; predicted engine time (per-call timing overheads of the sources "
               "fitted apart). Estimator error, leave-one-board-out (each board's points "
               "predicted by a fit without that board; %d points): median %.0f%%, worst %.0f%%. "
               "Data: %s." % (report["model"], report["batch"], lobo["points"],
                        lobo["median_abs_percent"], lobo["worst_abs_percent"],
                        ", ".join(report["estimator"]["data"]["sources"])))
    rows = []
    for row in report["rows"]:
        if row["status"] != "ok":
            rows.append([row["device_name"], row["precision"].upper(), "-", "-",
                         "%s: %s" % (row["status"], row["why"]), "-"])
            continue
        top = row["dominant"][0]
        rows.append([row["device_name"], row["precision"].upper(), "%.2f" % row["latency_ms"],
                     "%.0f%%" % (100 * row["overhead_share"]),
                     "%s %.0f%% (%s-bound)" % (top["layer"], 100 * top["share"], top["bound"]),
                     _error_text(row.get("estimator_error"))])
    click.echo(format_table(["device", "precision", "predicted ms", "launch overhead",
                             "dominant layer", "error on this board (leave-one-board-out)"],
                            rows))
    windows = [r for r in report["rows"] if r.get("window")]
    if windows:
        first = windows[0]["window"]
        click.echo("\nPer window of %d frames (%d calls of batch %d: %s):"
                   % (first["frames"], first["calls"], report["batch"], first["what"]))
        click.echo(format_table(
            ["device", "precision", "memory needed / available MiB", "window s", "per frame s"],
            [[r["device_name"], r["precision"].upper(), "%.0f / %.0f"
              % (r["memory_mib"]["needed"], r["memory_mib"]["available"]),
              "%.2f" % (r["window"]["ms"] / 1000.0),
              "%.3f" % (r["window"]["ms_per_frame"] / 1000.0)]
             for r in windows]))
    if report["plan"] and any(r["precision"] == "mix" for r in report["rows"]):
        click.echo("MIX plan: %s" % report["plan"])
