"""`edgec bench`: latency, throughput, memory, an output check, and power and clocks on a
Jetson, for a TensorRT engine or an ONNX file. Device path: Python 3.6, numpy and TensorRT."""
import click

from edgec import artifacts
from edgec.commands.options import Opt, OptionGroup, json_option
from edgec.commands.output import emit_json


def _bench_options(**values):
    from edgec.runtime.bench_session import BenchOptions

    return BenchOptions(**values)


BENCH = OptionGroup("options", _bench_options, [
    Opt("--batch", type=click.IntRange(1), default=None,
        help="Batch size (default 1, or the reference's batch)."),
    Opt("--iterations", type=click.IntRange(1), default=None,
        help="Measure exactly this many runs."),
    Opt("--duration", "duration_s", type=click.FloatRange(0.1), default=None,
        help="Measure for this many seconds (default 3, at least 10 runs)."),
    Opt("--warmup", "warmup_s", type=click.FloatRange(0), default=1.0, show_default=True,
        help="Seconds of unmeasured warm-up (at least 3 runs)."),
    Opt("--reference", type=click.Path(dir_okay=False), default=None,
        help="An .npz of inputs/<name> and outputs/<name>: run on these inputs and fail "
             "unless the outputs match."),
    Opt("--min-psnr", type=float, default=30.0, show_default=True,
        help="Output check: lowest PSNR (dB) against the reference."),
    Opt("--max-abs-error", "max_abs", type=float, default=None,
        help="Output check: largest absolute error allowed (off by default)."),
    Opt("--save-reference", type=click.Path(dir_okay=False), default=None,
        help="Write this run's inputs and outputs as a reference .npz (run it on the "
             "FP32 ONNX to check engines against)."),
    Opt("--model-name", default=None,
        help="Model name recorded in the result (default: from the sidecar or "
             "export.json)."),
    Opt("--precision", type=click.Choice(["fp32", "fp16", "int8", "mix"]), default=None,
        help="Precision recorded in the result (default: from the file)."),
    Opt("--power/--no-power", default=True, show_default=True,
        help="On a Jetson: sample power and clocks during the measured runs."),
    Opt("--power-interval", "power_interval_ms", type=click.IntRange(10), default=100,
        show_default=True, help="Power sampling interval, ms."),
    Opt("--profile", "profile", is_flag=False, flag_value=artifacts.PROFILE_JSON,
        default=None, metavar="[PATH]",
        help="After the measured runs, time every layer (TensorRT's profiler; ONNX "
             "Runtime's for ONNX files) and write profile.json (or PATH), which `edgec sweep "
             "--target ... --profile` and `edgec predict --fit` read."),
    Opt("--profile-runs", type=click.IntRange(1), default=20, show_default=True,
        help="Runs the per-layer profile takes the median over."),
])


@click.command()
@click.argument("target", type=click.Path(dir_okay=False))
@BENCH()
@click.option("-o", "--output", "result_path", default=artifacts.RESULT_JSON, show_default=True,
              type=click.Path(dir_okay=False), help="Where result.json goes.")
@json_option
def bench(target, options, result_path, as_json):
    """Benchmark a TensorRT engine (TensorRT backend) or an ONNX file (ONNX Runtime backend):
    median/p90/p99 latency after a warm-up, throughput, memory, an output check against a
    reference, power and clocks on a Jetson. Writes result.json."""
    from edgec.errors import CheckFailed
    from edgec.fileio import atomic_write_json
    from edgec.runtime.bench import check_text
    from edgec.runtime.bench_session import run_bench

    result = run_bench(target, options)
    atomic_write_json(result_path, result)
    if as_json:
        emit_json(result)
    else:
        _print_bench(result, result_path)
    check = result["check"]
    if check is not None and not check["passed"]:
        raise CheckFailed("output check FAILED against %s: %s (result written to %s)"
                          % (options.reference, check_text(check), result_path))


def _print_bench(result, result_path):
    from edgec.runtime.bench import check_text
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
                                            check_text(result["check"])))
    profile = result.get("profile")
    if profile:
        click.echo("per-layer profile: %d layers, %.3f ms in all (profiled, over %d runs); "
                   "wrote %s" % (profile["layers"], profile["total_ms"],
                                 result["settings"]["profile_runs"], profile["file"]))
    click.echo("wrote %s" % result_path)
