"""`edgec pack`: a build folder as a portable bundle for the device."""
import click

from edgec.commands.options import json_option
from edgec.commands.output import emit_json
from edgec.jetson.profiles import board_keys


@click.command()
@click.argument("build_dir", type=click.Path(file_okay=False))
@click.option("-o", "--output", "bundle_path", required=True, type=click.Path(dir_okay=False),
              help="The bundle to write, e.g. bundle.tar.gz.")
@click.option("--target", "targets", multiple=True, type=click.Choice(board_keys()),
              help="Boards the bundle is for (repeat): `edgec check` runs first and a board "
                   "that cannot import the files stops the pack. Default: every board, "
                   "reported only.")
@json_option
def pack(build_dir, bundle_path, targets, as_json):
    """Pack a build folder into a portable bundle (ONNX per precision with any external data
    files, plan.json, calib.cache, manifest.json with hashes and versions) for `edgec build
    --bundle` on the device. Files are streamed, so a bundle of several GB needs little memory."""
    from edgec.pipeline.build import check_notes, pack_build

    notes = check_notes(build_dir, None, list(targets))
    manifest = pack_build(build_dir, bundle_path)
    if as_json:
        emit_json(dict(manifest, check=notes))
        return
    click.echo("wrote %s: %s" % (bundle_path, ", ".join(sorted(manifest["files"]))))
    for note in notes:
        click.echo(note)
