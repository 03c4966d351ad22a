"""`edgec quantize`: the FP16, INT8 or MIX ONNX and its quality against FP32."""
import click

from edgec import settings
from edgec.commands.options import (CALIBRATION, MODEL, SAMPLES, json_option,
                                    output_dir_option, progress_option)
from edgec.commands.output import emit_json, print_quality, print_stage_log


@click.command()
@MODEL()
@SAMPLES()
@CALIBRATION()
@click.option("--precision", type=click.Choice(["fp16", "int8", "mix"]), required=True)
@click.option("--plan", "plan_path", type=click.Path(dir_okay=False), default=None,
              help="Per-layer precision plan (plan.json from `edgec sweep`); for mix.")
@click.option("--eval-samples", type=click.IntRange(1), default=settings.DEFAULT_EVAL_SAMPLES,
              show_default=True, help="Held-out samples used to measure quality.")
@output_dir_option()
@progress_option
@json_option
def quantize(source, samples, calib, precision, plan_path, eval_samples, out_dir, progress,
             as_json):
    """Write model.<precision>.onnx (Q/DQ INT8, FP16 casts) and its quality vs FP32 on
    the test split (quality.json), running export and calibration first when needed."""
    from edgec.pipeline.jobs import run_quantize

    report = run_quantize(source, samples, calib, precision, plan_path, eval_samples, out_dir,
                          progress)
    if as_json:
        emit_json(report)
        return
    print_quality(report)
    print_stage_log(report["stages"])
