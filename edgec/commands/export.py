"""`edgec export`: the model as ONNX, simplified, checked and parity-tested against PyTorch."""
import click

from edgec.commands.options import MODEL, json_option, output_dir_option
from edgec.commands.output import emit_json


@click.command()
@MODEL()
@output_dir_option(help="Output folder for model.onnx and export.json.")
@click.option("--opset", type=int, default=None,
              help="ONNX opset (default: the model's, 17 for every zoo model; 20 for the native "
                   "5-D grid sample).")
@click.option("--tolerance", type=float, default=None,
              help="Largest absolute ONNX Runtime vs PyTorch error accepted (default: the "
                   "model's, 1e-4 for every zoo model).")
@json_option
def export(source, out_dir, opset, tolerance, as_json):
    """Export a model to ONNX (dynamic batch), simplified, checked, with a parity run against
    PyTorch at batch 1 and 8; weights beyond 1.8 GiB go to model.onnx.data beside it. The export
    is a cached stage: run again with the same inputs, or followed by calibrate, quantize,
    sweep or build in the same folder, it is reused."""
    from edgec.pipeline.jobs import run_export

    source.opset, source.tolerance = opset, tolerance
    record = run_export(source, out_dir)
    if as_json:
        emit_json(record)
        return
    reused = record["stages"][0]["reused"]
    click.echo("%s %s/model.onnx (%s, %s weights, opset %d, %d quantizable layers)"
               % ("reused (inputs unchanged)" if reused else "wrote", out_dir, record["model"],
                  record["weights"], record["opset"], len(record["layers"])))
    for row in record["parity"]["results"]:
        click.echo("  parity batch %d %s: max abs error %.2e, cosine %.8f"
                   % (row["batch"], row["output"], row["max_abs_error"], row["cosine"]))
