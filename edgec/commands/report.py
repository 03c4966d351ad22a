"""`edgec report`: a fleet's result.json files as one table, a CSV and a chart."""
import click

from edgec.commands.options import json_option
from edgec.commands.output import emit_json


@click.command()
@click.argument("results", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", "out_dir", default="report", show_default=True,
              type=click.Path(file_okay=False))
@click.option("--baseline", default=None,
              help="Model whose FP32 latency the speed-ups are relative to (default wav2lip, "
                   "the paper's teacher, when present).")
@json_option
def report(results, out_dir, baseline, as_json):
    """Merge result.json files (or folders of them) from many devices into report.md (the
    paper's table: precision x model rows, device columns, speed-up in brackets),
    results.csv and latency.png. Many boards of one kind are kept: a cell is their median
    with [min-max, n boards], and results.csv has a row per board; a second result of the
    same board is refused."""
    from edgec.pipeline.report import markdown, write_report

    summary = write_report(list(results), out_dir, baseline)
    if as_json:
        emit_json(summary)
        return
    click.echo(markdown(summary["tables"]))
    click.echo("wrote %s from %d results" % (", ".join(sorted(summary["files"].values())),
                                             summary["results"]))
