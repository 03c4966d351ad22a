"""`edgec sweep`: layer-wise INT8 sensitivity and the MIX plan that meets a quality budget."""
import click

from edgec.commands.options import (CALIBRATION, MODEL, SAMPLES, SWEEP, json_option,
                                    output_dir_option, progress_option)
from edgec.commands.output import emit_json, format_metrics, print_stage_log


@click.command()
@MODEL()
@SAMPLES()
@CALIBRATION()
@click.option("--ranges", "ranges_path", type=click.Path(dir_okay=False), default=None,
              help="Use these calibration ranges instead of calibrating in the output folder.")
@SWEEP()
@output_dir_option()
@progress_option
@json_option
def sweep(source, samples, calib, ranges_path, sweep, out_dir, progress, as_json):
    """Layer-wise INT8 sensitivity sweep and automatic MIX plan: writes sensitivity.json,
    sensitivity.png and plan.json (ready for `edgec quantize --precision mix`)."""
    from edgec.pipeline.jobs import run_sweep

    record = run_sweep(source, samples, calib, sweep, out_dir, ranges_path, progress)
    if as_json:
        emit_json(record)
        return
    selection, test = record["selection"], record["test"]
    click.echo("budget %s, chosen on the selection split (%d samples): all FP16 %s; all INT8 %s"
               % (record["budget"], record["samples"], format_metrics(record["all_fp16"]),
                  format_metrics(record["all_int8"])))
    click.echo("plan: %d FP16 layers %s, %.1f%% of MACs in INT8; selection split %s"
               % (len(selection["fp16_layers"]),
                  "(all)" if selection["int8_mac_share"] == 0 else selection["fp16_layers"],
                  100 * selection["int8_mac_share"], format_metrics(selection["metrics"])))
    click.echo("test split (%d samples, chose nothing): plan %s; all FP16 %s; all INT8 %s"
               % (test["split"]["samples"], format_metrics(test["plan"]),
                  format_metrics(test["all_fp16"]), format_metrics(test["all_int8"])))
    if record.get("latency"):
        _print_latency(record["latency"], selection)
    if not test["meets_budget"]:
        click.echo("warning: the plan meets %s on the selection split but not on the test "
                   "split: more evaluation samples (--eval-samples, -n) make the choice "
                   "hold" % record["budget"], err=True)
    click.echo("wrote %s, sensitivity.json and sensitivity.png" % record["plan"])
    print_stage_log(record["stages"])


def _print_latency(latency, selection):
    from edgec.tables import format_table

    mac_plan = latency["mac_share_plan"]

    def listed(fp16_layers):
        if len(fp16_layers) == len(latency["layer_ms"]):
            return "all"
        return ", ".join(fp16_layers) or "-"

    rows = [["this plan (%d FP16 layers)" % len(selection["fp16_layers"]),
             latency["plan"]["predicted_ms"], latency["plan"]["boundaries"],
             listed(selection["fp16_layers"])],
            ["the MAC-share plan (%d FP16 layers, %.1f%% of MACs in INT8)"
             % (len(mac_plan["fp16_layers"]), 100 * mac_plan["int8_mac_share"]),
             mac_plan["predicted_ms"], mac_plan["boundaries"],
             listed(mac_plan["fp16_layers"])],
            ["all FP16", latency["all_fp16"]["predicted_ms"], 0, "all"],
            ["all INT8", latency["all_int8"]["predicted_ms"], 0, "-"]]
    dla = latency["plan"].get("interval_ms") is not None  # --dla: each plan placed on GPU+DLA
    click.echo("predicted latency on %s%s (batch 1; %s):"
               % (latency["target"], ", each plan with its best GPU/DLA placement" if dla else "",
                  "profiles " + ", ".join(latency["profiles"])
                  if latency["profiles"] else "the shipped estimator, no profile"))
    if dla:
        described = [latency["plan"], mac_plan, latency["all_fp16"], latency["all_int8"]]
        click.echo(format_table(
            ["plan", "one frame ms", "frame interval ms", "DLA layers", "boundaries",
             "FP16 layers"],
            [[r[0], "%.3f" % r[1], "%.3f" % d["interval_ms"], str(d["dla_layers"]), str(r[2]),
              r[3]] for r, d in zip(rows, described)]))
    else:
        click.echo(format_table(["plan", "ms", "boundaries", "FP16 layers"],
                                [[r[0], "%.3f" % r[1], str(r[2]), r[3]] for r in rows]))
    if latency["int8_not_faster"]:
        click.echo("INT8 not faster than FP16 on %s for: %s"
                   % (latency["target"], ", ".join(latency["int8_not_faster"])))
    if latency.get("placement"):
        from edgec.quant.search.placement import placement_text

        click.echo(placement_text(latency["placement"]))
