"""The `edgec` command.

Imports are lazy (inside each command) so that `edgec bench` starts fast on a Jetson and needs
neither torch nor onnx. Options shared by several commands are defined once, as decorators,
and assembled per command (like Polygraphy's argument groups).
"""
import json
import os
import sys

import click

from edgec import __version__
from edgec.errors import EdgecError


class EdgecGroup(click.Group):
    """Turns EdgecError into a one-paragraph message and exit status 2, never a traceback."""

    def invoke(self, ctx):
        try:
            return super(EdgecGroup, self).invoke(ctx)
        except EdgecError as exc:
            click.echo("error: %s" % exc.message, err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except ImportError as exc:
            # Workstation stages need the `build` extra; the device path needs only numpy.
            name = getattr(exc, "name", None) or str(exc)
            click.echo("error: this command needs the Python package %r, which is not installed "
                       "here: pip install 'edgec[build]'" % name, err=True)
            sys.exit(2)


def _compose(*decorators):
    def apply(func):
        for decorator in reversed(decorators):
            func = decorator(func)
        return func
    return apply


# -- shared option groups ---------------------------------------------------------------------

model_options = _compose(
    click.option("--model", "model_name", default=None, metavar="NAME|MODULE:FACTORY",
                 help="Zoo model (see `edgec models`) or package.module:factory returning an "
                      "nn.Module."),
    click.option("--input", "inputs", multiple=True, metavar="NAME:SHAPE",
                 help="Input of a factory model, batch axis first, e.g. image:1x3x224x224. "
                      "Repeat per input."),
    click.option("--checkpoint", type=click.Path(dir_okay=False), default=None,
                 help="Weights: an original Wav2Lip checkpoint or a plain state_dict. "
                      "Random weights when omitted."),
    click.option("--onnx", "onnx_path", type=click.Path(dir_okay=False), default=None,
                 help="An ONNX file exported elsewhere, instead of --model."),
    click.option("--grid-sample", type=click.Choice(["auto", "decomposed", "native"]),
                 default="auto", show_default=True,
                 help="Models with a 5-D grid sample (liveportrait-warping): decomposed into "
                      "standard ops (TensorRT 8.2/8.5/10 build it without plugins; the default, "
                      "as edgec targets TensorRT) or native ONNX GridSample, opset 20 (ONNX "
                      "Runtime)."),
)

data_options = _compose(
    click.option("--data", "data_dir", type=click.Path(file_okay=False), default=None,
                 help="Calibration data: a folder of videos (raw LRS2 layout or any), Wav2Lip "
                      "frame folders, or .npz/.npy arrays of model inputs."),
    click.option("-n", "--samples", "n_samples", type=click.IntRange(1), default=10000,
                 show_default=True, help="Frames to sample."),
    click.option("--seed", type=int, default=0, show_default=True, help="Sampling seed."),
    click.option("--reader", type=click.Choice(["wav2lip"]), default=None,
                 help="Turn videos into inputs of this model family (for --onnx models)."),
)

calibration_options = _compose(
    click.option("--method", type=click.Choice(["max", "percentile", "entropy"]),
                 default="percentile", show_default=True,
                 help="How activation thresholds are chosen."),
    click.option("--percentile", type=click.FloatRange(50, 100), default=99.99,
                 show_default=True),
    click.option("--holdout", type=click.FloatRange(0, 0.9), default=0.2, show_default=True,
                 help="Fraction of samples kept out of calibration for quality evaluation."),
)

progress_option = click.option("--progress/--no-progress", default=True,
                               help="Progress bars on stderr (terminals only).")

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")

engine_options = _compose(
    click.option("--workspace", "workspace_mib", type=click.IntRange(16), default=1024,
                 show_default=True, help="TensorRT builder workspace limit, MiB."),
    click.option("--timing-cache", type=click.Path(dir_okay=False), default=None,
                 help="TensorRT timing cache file: read when present, updated after the build "
                      "(reuse it across builds on the same device)."),
    click.option("--dla-core", type=int, default=None,
                 help="Run on this DLA core (Xavier), falling back to the GPU per layer."),
    click.option("--batch-range", default="1", show_default=True, metavar="N|MIN:OPT:MAX",
                 help="Batch sizes the engine accepts (its optimization profile)."),
    click.option("--allow-unmapped-layers", is_flag=True,
                 help="MIX: build even when plan.json names layers TensorRT's parser did not "
                      "produce (they are listed, then left to the builder)."),
)


def _emit_json(obj):
    click.echo(json.dumps(obj, indent=2, sort_keys=True))


def _require_model_or_onnx(model_name, onnx_path):
    if bool(model_name) == bool(onnx_path):
        raise EdgecError("give exactly one of --model and --onnx")


@click.group(cls=EdgecGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edgec")
def main():
    """edgec: compile talking-face generators from PyTorch to TensorRT engines for Jetson."""


@main.command()
@click.argument("name", required=False)
@click.option("--layers", is_flag=True, help="List the quantizable layers of NAME.")
@json_option
def models(name, layers, as_json):
    """List the model zoo with parameters and MACs (batch 1).

    MACs are counted two ways: true MACs (a transposed conv on its input grid, its real cost)
    and output-grid MACs (transposed convs on the output grid, the convention of thop and the
    Wav2Lip compression paper)."""
    from edgec.models.summary import model_summary
    from edgec.models import get_model, model_names

    names = [name] if name else model_names()
    rows = [model_summary(get_model(n), with_layers=layers) for n in names]
    if as_json:
        _emit_json(rows)
        return
    from edgec.tables import format_table

    click.echo(format_table(
        ["model", "params", "GMACs (true)", "GMACs (output grid)", "layers", "inputs"],
        [[r["name"], "{:,}".format(r["params"]), "%.3f" % (r["macs"] / 1e9),
          "%.3f" % (r["macs_output_grid"] / 1e9), str(r["quantizable_layers"]),
          ", ".join("%s %s" % (i["name"], "x".join(map(str, i["shape"]))) for i in r["inputs"])]
         for r in rows]))
    if layers:
        for r in rows:
            click.echo("\n%s layers (definition order):" % r["name"])
            click.echo(format_table(
                ["layer", "kind", "cin", "cout", "kernel", "stride", "params", "MMACs"],
                [[lay["name"], lay["kind"], str(lay["in_channels"]), str(lay["out_channels"]),
                  "x".join(map(str, lay["kernel"])), "x".join(map(str, lay["stride"])),
                  "{:,}".format(lay["params"]), "%.2f" % (lay["macs"] / 1e6)]
                 for lay in r["layers"]]))


@main.command()
@model_options
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder for model.onnx and export.json.")
@click.option("--opset", type=int, default=17, show_default=True)
@click.option("--tolerance", type=float, default=1e-4, show_default=True,
              help="Largest absolute ONNX Runtime vs PyTorch error accepted.")
@json_option
def export(model_name, inputs, checkpoint, onnx_path, grid_sample, out_dir, opset, tolerance,
           as_json):
    """Export a model to ONNX (dynamic batch), simplified, checked, with a parity run against
    PyTorch at batch 1 and 8."""
    _require_model_or_onnx(model_name, onnx_path)
    from edgec.exporter.export import export_zoo_model, import_onnx

    if onnx_path:
        record = import_onnx(onnx_path, out_dir)
    else:
        from edgec.models import resolve_model

        record = export_zoo_model(resolve_model(model_name, inputs, grid_sample), out_dir,
                                  checkpoint,
                                  opset=opset, tolerance=tolerance)
    if as_json:
        _emit_json(record)
        return
    click.echo("wrote %s/model.onnx (%s, %s weights, opset %d, %d quantizable layers)"
               % (out_dir, record["model"], record["weights"], record["opset"],
                  len(record["layers"])))
    for row in record["parity"]["results"]:
        click.echo("  parity batch %d %s: max abs error %.2e, cosine %.8f"
                   % (row["batch"], row["output"], row["max_abs_error"], row["cosine"]))


@main.command()
@model_options
@data_options
@calibration_options
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False))
@progress_option
@json_option
def calibrate(model_name, inputs, checkpoint, onnx_path, grid_sample, data_dir, n_samples, seed,
              reader, method, percentile, holdout, out_dir, progress, as_json):
    """Measure activation ranges on calibration data: writes ranges.json and calib.cache
    (TensorRT's calibration-cache format), plus the model's ONNX and the sample store."""
    from edgec.calib.store import SampleStore
    from edgec.pipeline import StageRunner
    from edgec.stages import ModelSource, calibrated_model

    source = ModelSource(model_name, inputs, checkpoint, onnx_path, reader, grid_sample)
    runner = StageRunner(out_dir)
    onnx_file, store, summary, ranges = calibrated_model(
        runner, source, data_dir, n_samples, seed, method, percentile, holdout, progress)
    result = {"onnx": onnx_file, "samples": store, "ranges": ranges,
              "cache": os.path.join(out_dir, "calib.cache"), "data": summary,
              "stages": runner.log}
    if as_json:
        _emit_json(result)
        return
    _print_data_summary(summary)
    click.echo("wrote %s and %s (%s thresholds, %d samples)"
               % (ranges, result["cache"], method, SampleStore(store).count))
    _print_stage_log(runner.log)


@main.command()
@model_options
@data_options
@calibration_options
@click.option("--precision", type=click.Choice(["fp16", "int8", "mix"]), required=True)
@click.option("--plan", "plan_path", type=click.Path(dir_okay=False), default=None,
              help="Per-layer precision plan (plan.json from `edgec sweep`); for mix.")
@click.option("--eval-samples", type=click.IntRange(1), default=512, show_default=True,
              help="Held-out samples used to measure quality.")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False))
@progress_option
@json_option
def quantize(model_name, inputs, checkpoint, onnx_path, grid_sample, data_dir, n_samples, seed,
             reader, method, percentile, holdout, precision, plan_path, eval_samples, out_dir,
             progress, as_json):
    """Write model.<precision>.onnx (Q/DQ INT8, FP16 casts) and its quality vs FP32 on
    held-out samples (quality.json), running export and calibration first when needed."""
    from edgec.pipeline import StageRunner
    from edgec.stages import ModelSource, calibrated_model, stage_quantize

    source = ModelSource(model_name, inputs, checkpoint, onnx_path, reader, grid_sample)
    runner = StageRunner(out_dir)
    onnx_file, store, _, ranges = calibrated_model(
        runner, source, data_dir, n_samples, seed, method, percentile, holdout, progress)
    report = stage_quantize(runner, source, onnx_file, ranges, store, precision, plan_path,
                            holdout, eval_samples, progress)
    if as_json:
        _emit_json(dict(report, stages=runner.log))
        return
    _print_quality(report)
    _print_stage_log(runner.log)


@main.command()
@model_options
@data_options
@calibration_options
@click.option("--ranges", "ranges_path", type=click.Path(dir_okay=False), default=None,
              help="Use these calibration ranges instead of calibrating in the output folder.")
@click.option("--budget", default="psnr>=40", show_default=True,
              help="Quality the plan must keep vs FP32: psnr>=35, ssim>=0.98, psnr>=fp16-0.5 "
                   "(within 0.5 dB of all-FP16); join terms with commas.")
@click.option("--eval-samples", type=click.IntRange(1), default=512, show_default=True,
              help="Held-out samples each configuration is evaluated on.")
@click.option("--batch-size", type=click.IntRange(1), default=32, show_default=True)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
              show_default=True, help="Where the fake-quant evaluator runs.")
@click.option("--resume", is_flag=True, help="Continue an interrupted sweep in this folder.")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False))
@progress_option
@json_option
def sweep(model_name, inputs, checkpoint, onnx_path, grid_sample, data_dir, n_samples, seed,
          reader, method, percentile, holdout, ranges_path, budget, eval_samples, batch_size,
          device, resume, out_dir, progress, as_json):
    """Layer-wise INT8 sensitivity sweep and automatic MIX plan: writes sensitivity.json,
    sensitivity.png and plan.json (ready for `edgec quantize --precision mix`)."""
    from edgec.pipeline import StageRunner
    from edgec.quant.budget import Budget
    from edgec.stages import ModelSource, calibrated_model, stage_sweep

    Budget.parse(budget)  # reject a bad budget before any work
    source = ModelSource(model_name, inputs, checkpoint, onnx_path, reader, grid_sample)
    runner = StageRunner(out_dir)
    onnx_file, store, _, ranges = calibrated_model(
        runner, source, data_dir, n_samples, seed, method, percentile, holdout, progress,
        ranges_path)
    try:
        plan_path = stage_sweep(runner, source, onnx_file, ranges, store, budget, holdout,
                                eval_samples, batch_size, device, resume, progress)
    except KeyboardInterrupt:
        raise EdgecError("sweep interrupted; its progress is saved: run the same command with "
                         "--resume to continue")
    with open(os.path.join(out_dir, "sensitivity.json")) as handle:
        record = json.load(handle)
    results = record["results"]
    if as_json:
        _emit_json({"plan": plan_path, "selection": results["selection"],
                    "all_fp16": results["all_fp16"], "all_int8": results["all_int8"],
                    "stages": runner.log})
        return
    selection = results["selection"]
    click.echo("budget %s on %d held-out samples: all FP16 %s, all INT8 %s"
               % (results["budget"]["text"], record["settings"]["samples"],
                  _fmt_metrics(results["all_fp16"]), _fmt_metrics(results["all_int8"])))
    click.echo("plan: %d FP16 layers %s, %.1f%% of MACs in INT8, %s (verified)"
               % (len(selection["fp16_layers"]), selection["fp16_layers"],
                  100 * selection["int8_mac_share"], _fmt_metrics(selection["metrics"])))
    click.echo("wrote %s, sensitivity.json and sensitivity.png" % plan_path)
    _print_stage_log(runner.log)


DEMO_NOTE = ("demo default: building lite-wav2lip with the small calibration set shipped in "
             "edgec (a public-domain photograph animated, synthetic audio). Give --model and "
             "--data for a real build.")


@main.command()
@model_options
@data_options
@calibration_options
@click.option("--precision", type=click.Choice(["fp32", "fp16", "int8", "mix"]), default="mix",
              show_default=True)
@click.option("--budget", default=None,
              help="Quality budget for the MIX plan (see `edgec sweep --help`). Default "
                   "psnr>=40; the demo uses psnr>=fp16-12, since a random network's absolute "
                   "PSNR means little.")
@click.option("--eval-samples", type=click.IntRange(1), default=512, show_default=True)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
              show_default=True, help="Where the sweep's evaluator runs.")
@click.option("--bundle", "bundle_path", type=click.Path(dir_okay=False), default=None,
              help="On the device: verify and unpack this bundle, then build its engine.")
@click.option("-o", "--output", "out_dir", default="edgec-out", show_default=True,
              type=click.Path(file_okay=False))
@engine_options
@progress_option
@json_option
def build(model_name, inputs, checkpoint, onnx_path, grid_sample, data_dir, n_samples, seed,
          reader, method, percentile, holdout, precision, budget, eval_samples, device,
          bundle_path, out_dir, workspace_mib, timing_cache, dla_core, batch_range,
          allow_unmapped_layers, progress, as_json):
    """From checkpoint to deployable bundle: export, calibrate, sweep (MIX), quantize and pack,
    reusing every stage whose inputs are unchanged. With no --model and no --data, builds the
    built-in demo (lite-wav2lip on a small shipped calibration set)."""
    from edgec.runtime.trt_builder import EngineSettings, parse_batch_range

    engine = EngineSettings(precision, workspace_mib, timing_cache, dla_core,
                            parse_batch_range(batch_range), allow_unmapped_layers)
    if bundle_path:
        return _build_from_bundle(bundle_path, out_dir, engine, as_json)
    from edgec.build import run_build

    say = (lambda text: None) if as_json else (lambda text: click.echo(text, err=True))
    demo = not model_name and not onnx_path and not data_dir
    if demo:
        say(DEMO_NOTE)
    if budget is None:
        budget = "psnr>=fp16-12" if demo else "psnr>=40"
    from edgec.quant.budget import Budget

    Budget.parse(budget)
    summary = run_build(model_name, inputs, checkpoint, onnx_path, data_dir, n_samples, seed,
                        reader, method, percentile, holdout, precision, budget, eval_samples,
                        device, out_dir, progress, demo, say, engine, grid_sample)
    if as_json:
        _emit_json(summary)
        return
    from edgec.tables import format_table

    click.echo(format_table(["file", "size", "what"], summary["table"]))
    click.echo("stages: %s" % ", ".join("%s %s" % (s["stage"], "reused" if s["reused"]
                                                   else "%.1fs" % s["seconds"])
                                        for s in summary["stages"]))
    for line in summary["notes"]:
        click.echo(line)


def _build_from_bundle(bundle_path, out_dir, engine, as_json):
    from edgec.runtime.bundle import unpack
    from edgec.runtime.trt_builder import build_in_folder
    from edgec.runtime.trt_detect import tensorrt_version

    manifest = unpack(bundle_path, out_dir)
    if tensorrt_version() is None:
        raise EdgecError("bundle %s verified and unpacked to %s (%d files), but TensorRT is not "
                         "installed on this host, so no engine was built. Run this command on "
                         "the Jetson (or in the L4T container), where TensorRT is present."
                         % (bundle_path, out_dir, len(manifest["files"])))
    sidecar = build_in_folder(out_dir, engine, {"bundle": os.path.basename(bundle_path),
                                                "model": manifest.get("model")})
    if as_json:
        _emit_json(sidecar)
        return
    _print_engine(sidecar, out_dir)


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


@main.command()
@click.argument("build_dir", type=click.Path(file_okay=False))
@click.option("-o", "--output", "bundle_path", required=True, type=click.Path(dir_okay=False),
              help="The bundle to write, e.g. bundle.tar.gz.")
@json_option
def pack(build_dir, bundle_path, as_json):
    """Pack a build folder into a portable bundle (ONNX per precision, plan.json, calib.cache,
    manifest.json with hashes and versions) for `edgec build --bundle` on the device."""
    from edgec.build import bundle_info
    from edgec.runtime.bundle import pack as pack_bundle

    manifest = pack_bundle(build_dir, bundle_path, bundle_info(build_dir))
    if as_json:
        _emit_json(manifest)
        return
    click.echo("wrote %s: %s" % (bundle_path, ", ".join(sorted(manifest["files"]))))


@main.command()
@click.argument("target", type=click.Path(dir_okay=False))
@click.option("--batch", type=click.IntRange(1), default=None,
              help="Batch size (default 1, or the reference's batch).")
@click.option("--iterations", type=click.IntRange(1), default=None,
              help="Measure exactly this many runs.")
@click.option("--duration", type=click.FloatRange(0.1), default=None,
              help="Measure for this many seconds (default 3, at least 10 runs).")
@click.option("--warmup", type=click.FloatRange(0), default=1.0, show_default=True,
              help="Seconds of unmeasured warm-up (at least 3 runs).")
@click.option("--reference", type=click.Path(dir_okay=False), default=None,
              help="An .npz of inputs/<name> and outputs/<name>: run on these inputs and fail "
                   "unless the outputs match.")
@click.option("--min-psnr", type=float, default=30.0, show_default=True,
              help="Output check: lowest PSNR (dB) against the reference.")
@click.option("--max-abs-error", type=float, default=None,
              help="Output check: largest absolute error allowed (off by default).")
@click.option("--save-reference", type=click.Path(dir_okay=False), default=None,
              help="Write this run's inputs and outputs as a reference .npz (run it on the "
                   "FP32 ONNX to check engines against).")
@click.option("--model-name", default=None,
              help="Model name recorded in the result (default: from the sidecar or "
                   "export.json).")
@click.option("--precision", type=click.Choice(["fp32", "fp16", "int8", "mix"]), default=None,
              help="Precision recorded in the result (default: from the file).")
@click.option("--power/--no-power", default=True, show_default=True,
              help="On a Jetson: sample power and clocks during the measured runs.")
@click.option("--power-interval", type=click.IntRange(10), default=100, show_default=True,
              help="Power sampling interval, ms.")
@click.option("-o", "--output", "result_path", default="result.json", show_default=True,
              type=click.Path(dir_okay=False), help="Where result.json goes.")
@json_option
def bench(target, batch, iterations, duration, warmup, reference, min_psnr, max_abs_error,
          save_reference, model_name, precision, power, power_interval, result_path, as_json):
    """Benchmark a TensorRT engine (TensorRT backend) or an ONNX file (ONNX Runtime backend):
    median/p90/p99 latency after a warm-up, throughput, memory, an output check against a
    reference, power and clocks on a Jetson. Writes result.json."""
    from edgec.fileio import atomic_write_json
    from edgec.runtime.bench_session import BenchOptions, run_bench

    options = BenchOptions(batch, iterations, duration, warmup, reference, save_reference,
                           min_psnr, max_abs_error, model_name, precision, power,
                           power_interval)
    result = run_bench(target, options)
    atomic_write_json(result_path, result)
    if as_json:
        _emit_json(result)
    else:
        _print_bench(result, result_path)
    check = result["check"]
    if check is not None and not check["passed"]:
        from edgec.errors import CheckFailed

        raise CheckFailed("output check FAILED against %s: %s (result written to %s)"
                          % (reference, _check_text(check), result_path))


@main.command()
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
    results.csv and latency.png."""
    from edgec.report import markdown, write_report

    summary = write_report(list(results), out_dir, baseline)
    if as_json:
        _emit_json(summary)
        return
    click.echo(markdown(summary["tables"]))
    click.echo("wrote %s from %d results" % (", ".join(sorted(summary["files"].values())),
                                             summary["results"]))


@main.command()
@click.argument("target", metavar="MODEL|ONNX")
@click.option("--device", "devices", multiple=True, default=["all"], show_default=True,
              type=click.Choice(["nano", "tx2", "xavier-nx", "agx-xavier", "all"]),
              help="Device(s) to predict for; repeat the option for several.")
@click.option("--precision", "precisions", multiple=True, default=["all"], show_default=True,
              type=click.Choice(["fp32", "fp16", "int8", "mix", "all"]))
@click.option("--plan", "plan_path", type=click.Path(dir_okay=False), default=None,
              help="MIX plan (plan.json). Default: plan.json beside the ONNX file, or the "
                   "paper's hand-picked plan for wav2lip / lite-wav2lip.")
@click.option("--batch", type=click.IntRange(1), default=1, show_default=True)
@click.option("--fit", "fit_results", multiple=True, type=click.Path(dir_okay=False),
              help="Refit the estimator on the shipped data plus these Jetson result.json "
                   "files (repeat); the predictions then use the refitted values.")
@click.option("--save-fit", type=click.Path(dir_okay=False), default=None,
              help="Write the refitted estimator here (use it later with --params).")
@click.option("--params", "params_path", type=click.Path(dir_okay=False), default=None,
              help="A fitted estimator from --save-fit (default: the shipped one).")
@json_option
def predict(target, devices, precisions, plan_path, batch, fit_results, save_fit, params_path,
            as_json):
    """Predict batch-N TensorRT latency on each Jetson from per-layer costs (compute at the
    precision's peak, memory traffic at the device's bandwidth, per-layer overhead) and
    efficiency factors fitted to measured latencies, with the estimator's own error."""
    from edgec.predict_command import run_predict

    if save_fit and not fit_results:
        raise EdgecError("--save-fit needs --fit RESULT.json (there is nothing new to save)")
    keys = ["nano", "tx2", "xavier-nx", "agx-xavier"] if "all" in devices else list(devices)
    chosen = ["fp32", "fp16", "int8", "mix"] if "all" in precisions else list(precisions)
    report = run_predict(target, keys, chosen, plan_path, batch, fit_results, params_path)
    if save_fit:
        from edgec.fileio import atomic_write_json

        atomic_write_json(save_fit, report["fit"])
    if as_json:
        _emit_json(report)
        return
    _print_predictions(report)


def _print_predictions(report):
    from edgec.tables import format_table

    loo = report["estimator"]["leave_one_out"]
    click.echo("%s, batch %d. Estimator error (leave-one-out over %d measured points): median "
               "%.0f%%, worst %.0f%%. Fitted on: %s; other devices borrow their values."
               % (report["model"], report["batch"], loo["points"], loo["median_abs_percent"],
                  loo["worst_abs_percent"], ", ".join(report["estimator"]["fitted_devices"])))
    rows = []
    for row in report["rows"]:
        if row["status"] != "ok":
            rows.append([row["device_name"], row["precision"].upper(), "-", "-",
                         "%s: %s" % (row["status"], row["why"])])
            continue
        top = row["dominant"][0]
        rows.append([row["device_name"] + ("" if row["fitted_device"] else " *"),
                     row["precision"].upper(), "%.2f" % row["latency_ms"],
                     "%.0f%%" % (100 * row["overhead_share"]),
                     "%s %.0f%% (%s-bound); %d compute-, %d memory-bound layers"
                     % (top["layer"], 100 * top["share"], top["bound"],
                        row["compute_bound_layers"], row["memory_bound_layers"])])
    click.echo(format_table(["device", "precision", "predicted ms", "launch overhead",
                             "dominant layer"], rows))
    if any(not r.get("fitted_device", True) for r in report["rows"]):
        click.echo("* no measured data for this device: its efficiency and overhead are the "
                   "geometric mean of the fitted devices' (error unknown)")
    if report["plan"] and any(r["precision"] == "mix" for r in report["rows"]):
        click.echo("MIX plan: %s" % report["plan"])


def _check_text(check):
    parts = []
    for name, row in sorted(check["outputs"].items()):
        if "error" in row:
            parts.append("%s: %s" % (name, row["error"]))
        elif not row["finite"]:
            parts.append("%s: non-finite values (NaN or infinity)" % name)
        else:
            parts.append("%s: PSNR %s dB, max abs error %s%s" % (
                name, "inf" if row["psnr_db"] is None else "%.2f" % row["psnr_db"],
                "%.3g" % row["max_abs_error"], ""))
    return "; ".join(parts)


def _print_bench(result, result_path):
    from edgec.tables import format_table

    for warning in result["warnings"]:
        click.echo("warning: %s" % warning, err=True)
    model = result["model"]
    click.echo("%s (%s, %s) on %s, backend %s %s, batch %d, %d runs after %d warm-up runs"
               % (model["file"], model["name"], model["precision"], result["device"]["name"],
                  result["backend"]["backend"], result["backend"]["version"], result["batch"],
                  result["runs"]["measured"]["runs"], result["runs"]["warmup"]["runs"]))
    rows = []
    for label, stats in (("end to end", result["latency_ms"]),
                         ("compute only", result["compute_ms"])):
        if stats is None:
            rows.append([label, "-", "-", "-", "-", "no host-device copies on this backend"])
            continue
        rows.append([label] + ["%.3f" % stats[k] for k in ("median", "p90", "p99", "mean")]
                    + [""])
    click.echo(format_table(["latency (ms)", "median", "p90", "p99", "mean", ""], rows))
    click.echo("throughput %.1f frames/s" % result["throughput_per_s"])
    memory = result["memory"]
    if memory.get("device_bytes") is not None:
        click.echo("device memory %.1f MiB" % (memory["device_bytes"] / 2.0 ** 20))
    if memory.get("host_peak_rss_bytes"):
        click.echo("host peak RSS %.1f MiB" % (memory["host_peak_rss_bytes"] / 2.0 ** 20))
    power = (result.get("jetson") or {}).get("power")
    if power and power.get("mean_power_mw") is not None:
        click.echo("power %.0f mW mean (%s), %.2f mJ per frame, GPU clock dropped: %s"
                   % (power["mean_power_mw"], power["power_rail"], power["energy_per_frame_mj"],
                      power["gpu_clock_dropped"]))
    if result["check"] is not None:
        click.echo("output check %s: %s" % ("passed" if result["check"]["passed"] else "FAILED",
                                            _check_text(result["check"])))
    click.echo("wrote %s" % result_path)


def _fmt_metrics(metrics):
    text = "PSNR %.2f dB" % metrics["psnr_db"]
    if metrics.get("ssim") is not None:
        text += ", SSIM %.5f" % metrics["ssim"]
    return text


def _print_quality(report):
    quality = report["quality"]
    ort = quality["onnxruntime"]
    click.echo("wrote %s: %s, %d FP16 layers, %d INT8 layers%s"
               % (report["file"], report["precision"], len(report["fp16_layers"]),
                  report["int8_layers"],
                  ", %.1f%% of MACs in INT8" % (100 * report["int8_mac_share"])
                  if report.get("int8_mac_share") is not None else ""))
    click.echo("  quality vs FP32 (ONNX Runtime, %d held-out samples): PSNR %.2f dB, SSIM %s, "
               "max error %.4f" % (ort["samples"], ort["psnr_db"], ort["ssim"],
                                   ort["max_abs_error"]))
    if "evaluator_vs_onnxruntime" in quality:
        agree = quality["evaluator_vs_onnxruntime"]
        click.echo("  fast evaluator vs ONNX Runtime: PSNR %.1f dB, max difference %.2e"
                   % (agree["psnr_db"], agree["max_abs_error"]))


def _print_data_summary(summary):
    click.echo("samples: %s written of %s requested" % (summary.get("written"),
                                                         summary.get("requested")))
    for reason, info in sorted(summary.get("skipped", {}).items()):
        click.echo("warning: skipped %d (%s), e.g. %s"
                   % (info["count"], reason, info["items"][0]), err=True)


def _print_stage_log(log):
    for row in log:
        click.echo("  stage %-10s %s" % (row["stage"], "reused" if row["reused"]
                                         else "ran in %.1f s" % row["seconds"]))


if __name__ == "__main__":
    main()
