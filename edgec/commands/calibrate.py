"""`edgec calibrate`: activation statistics on calibration data -> ranges.json, calib.cache."""
import click

from edgec.commands.options import (CALIBRATION, MODEL, SAMPLES, json_option,
                                    output_dir_option, progress_option)
from edgec.commands.output import emit_json, print_data_summary, print_stage_log


@click.command()
@MODEL()
@SAMPLES()
@CALIBRATION()
@output_dir_option()
@progress_option
@json_option
def calibrate(source, samples, calib, out_dir, progress, as_json):
    """Measure activation ranges on calibration data: writes ranges.json and calib.cache
    (TensorRT's calibration-cache format), plus the model's ONNX and the sample store."""
    from edgec.pipeline.jobs import run_calibrate

    record = run_calibrate(source, samples, calib, out_dir, progress)
    if as_json:
        emit_json(record)
        return
    print_data_summary(record["data"])
    click.echo("wrote %s and %s (%s thresholds, %d samples)"
               % (record["ranges"], record["cache"], record["method"], record["sample_count"]))
    for line in record["warnings"]:
        click.echo("warning: " + line, err=True)
    print_stage_log(record["stages"])
