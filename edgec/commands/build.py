"""`edgec build`: on the workstation, every stage from checkpoint to bundle; on the device
(`--bundle`), the engine from a bundle. Device path: with --bundle it runs on Python 3.6 with
numpy and TensorRT only, so the workstation pipeline is imported only without --bundle."""
import click

from edgec import settings
from edgec.commands.options import (CALIBRATION, ENGINE, MODEL, SAMPLES, SWEEP,
                                    given_on_command_line, json_option, option_flags,
                                    progress_option)
from edgec.commands.output import emit_json, say_on_stderr, stage_outcome
from edgec.errors import EdgecError

DEMO_NOTE = ("demo default: building the shipped demo network (lite-wav2lip distilled from a "
             "Wav2Lip teacher, both trained on 18 public clips) with the calibration set "
             "shipped with it (three other people, their own speech). Give --model and --data "
             "for a real build.")


@click.command()
@MODEL()
@SAMPLES()
@CALIBRATION()
@SWEEP(omit=("resume",), fixed={"resume": True},
       budget={"default": None, "show_default": False,
               "help": "Quality budget for the MIX plan (see `edgec sweep --help`). Default "
                       "psnr>=40; the demo uses psnr>=46 (an RMS error of about one 8-bit "
                       "grey level for the demo network)."},
       eval_samples={"help": "At most this many samples of the selection split (the sweep "
                             "chooses on it) and of the test split (every quality figure)."},
       device={"help": "Where the sweep's evaluator runs."})
@click.option("--bundle", "bundle_path", type=click.Path(dir_okay=False), default=None,
              help="On the device: verify and unpack this bundle, then build its engine "
                   "(refused with the workstation options: model, data, calibration, sweep).")
@click.option("-o", "--output", "out_dir", default="edgec-out", show_default=True,
              type=click.Path(file_okay=False))
@ENGINE()
@progress_option
@json_option
def build(source, samples, calib, sweep, bundle_path, out_dir, engine, progress, as_json):
    """From checkpoint to deployable bundle: export, calibrate, sweep (MIX), quantize and pack,
    reusing every stage whose inputs are unchanged. With no --model and no --data, builds the
    built-in demo: the shipped trained demo network (lite-wav2lip) on the calibration set
    shipped with it."""
    if bundle_path:
        _refuse_workstation_options()
        from edgec.runtime.bundle_build import build_from_bundle

        sidecar = build_from_bundle(bundle_path, out_dir, engine)
        if as_json:
            emit_json(sidecar)
            return
        _print_engine(sidecar, out_dir)
        return
    from edgec.pipeline.build import DEMO_BUDGET, DEMO_HOLDOUT, demo_settings, run_build

    say = say_on_stderr(as_json)
    demo = not source.given and not samples.data_dir
    if demo:
        say(DEMO_NOTE)
        source, samples = demo_settings()
        if not given_on_command_line(["holdout"]):
            calib.holdout = DEMO_HOLDOUT
    if sweep.budget is None:
        sweep.budget = DEMO_BUDGET if demo else settings.DEFAULT_BUDGET
    from edgec.pipeline.stages import check_sweep

    check_sweep(sweep)
    summary = run_build(source, samples, calib, sweep, engine, out_dir, say, progress, demo)
    if as_json:
        emit_json(summary)
        return
    from edgec.tables import format_table

    click.echo(format_table(["file", "size", "what"], summary["table"]))
    # A skipped stage's reason is among the notes.
    click.echo("stages: %s" % ", ".join("%s %s" % (s["stage"], stage_outcome(s, why=False))
                                        for s in summary["stages"]))
    for line in summary["notes"]:
        click.echo(line)


def _refuse_workstation_options():
    given = given_on_command_line(MODEL.names + SAMPLES.names + CALIBRATION.names
                                  + [n for n in SWEEP.names if n != "resume"])
    if given:
        raise EdgecError("--bundle builds the engine from the bundle's own files; %s would be "
                         "ignored there: build on the workstation without --bundle to use %s"
                         % (option_flags(given), "it" if len(given) == 1 else "them"))


def _print_engine(sidecar, out_dir):
    layers = sidecar["layers"]
    click.echo("built %s/model.%s.engine with TensorRT %s for %s (compute capability %s) in "
               "%.1f s" % (out_dir, sidecar["precision"], sidecar["tensorrt"],
                           sidecar["device"]["name"], sidecar["device"]["compute_capability"],
                           sidecar["build_seconds"]))
    if layers.get("available"):
        click.echo("engine layers by precision: %s" % ", ".join(
            "%s %d" % kv for kv in sorted(layers["layer_precision_counts"].items())))
    for node, row in sorted((layers.get("planned_vs_built") or {}).items()):
        if row["built"] != row["planned"]:
            click.echo("  %s: planned %s, built %s" % (node, row["planned"],
                                                       row["built"] or "unknown (fused)"))
    unmapped = (layers.get("plan_mapping") or {}).get("unmapped")
    if unmapped:
        click.echo("warning: plan layers without a TensorRT layer (left to the builder): %s"
                   % ", ".join(unmapped), err=True)
    placement = layers.get("placement")
    if placement and placement["followed"]:
        click.echo("DLA core %d: %d plan layers placed as planned (%s)"
                   % (placement["dla_core"], len(placement["placed"]),
                      ", ".join(sorted(placement["placed"]))))
    elif placement:
        click.echo("warning: %s (%d layers: %s)"
                   % (placement["why"], len(placement["planned_dla_layers"]),
                      ", ".join(placement["planned_dla_layers"])), err=True)
