"""`edgec models`: the zoo with parameters, MACs and inputs; `--layers` lists a model's
quantizable layers."""
import click

from edgec.commands.options import json_option
from edgec.commands.output import emit_json


@click.command()
@click.argument("name", required=False)
@click.option("--layers", is_flag=True, help="List the quantizable layers of NAME.")
@json_option
def models(name, layers, as_json):
    """List the model zoo with parameters and MACs (batch 1), and published figures beside
    them where known.

    MACs count convs, Linear layers and attention's two matrix products, two ways: true MACs
    (a transposed conv on its input grid, its real cost) and output-grid MACs (transposed
    convs on the output grid, the convention of thop and the Wav2Lip compression paper).
    Models of gigabytes are counted on PyTorch's meta device, without building weights."""
    from edgec.models.summary import zoo_summary

    rows = zoo_summary(name, with_layers=layers)
    if as_json:
        emit_json(rows)
        return
    _print_models(rows, layers)


def _print_models(rows, layers):
    from edgec.tables import format_table

    click.echo(format_table(
        ["model", "params", "GMACs (true)", "GMACs (output grid)", "layers", "inputs"],
        [[r["name"], "{:,}".format(r["params"]), "%.3f" % (r["macs"] / 1e9),
          "%.3f" % (r["macs_output_grid"] / 1e9), str(r["quantizable_layers"]),
          ", ".join("%s %s" % (i["name"], "x".join(map(str, i["shape"]))) for i in r["inputs"])]
         for r in rows]))
    public = [(r["name"], f) for r in rows for f in r.get("public_figures", ())]
    if public:
        click.echo("\nPublished figures beside edgec's counts:")
        click.echo(format_table(
            ["model", "figure", "edgec", "published", "ratio", "source"],
            [[name, f["figure"], "{:,}".format(f["edgec"]), "{:,.0f}".format(f["public"]),
              "%.3f" % f["edgec_over_public"], f["source"] + (" (%s)" % f["note"]
                                                              if f["note"] else "")]
             for name, f in public]))
    if not layers:
        return
    for r in rows:
        click.echo("\n%s layers (definition order):" % r["name"])
        click.echo(format_table(
            ["layer", "kind", "cin", "cout", "kernel", "stride", "params", "MMACs"],
            [[lay["name"], lay["kind"], str(lay["in_channels"]), str(lay["out_channels"]),
              "x".join(map(str, lay["kernel"])), "x".join(map(str, lay["stride"])),
              "{:,}".format(lay["params"]), "%.2f" % (lay["macs"] / 1e6)]
             for lay in r["layers"]]))
