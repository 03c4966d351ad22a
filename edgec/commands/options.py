"""Option groups shared by several commands (as Polygraphy's argument groups are): each group
adds its click options to a command and hands the command one settings object built from
them, instead of one parameter per option. A command may change an option's default or help,
leave options out (their value then comes from `fixed` or the option's default), and ask which
of a group's options were given on the command line (to refuse combinations that make no sense).

Python 3.6 compatible: `edgec build` and `edgec bench` assemble their options here on a Jetson.
"""
import functools
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple  # noqa: F401

import click

from edgec import settings as edgec_settings
from edgec.jetson.profiles import int8_board_keys


class Opt(object):
    """One click option: its declarations and attributes, and the parameter name it binds."""

    def __init__(self, *decls, **attrs):
        # type: (*str, **Any) -> None
        self.decls = decls
        self.attrs = attrs
        self.name = click.Option(list(decls), **_without_help(attrs)).name

    def decorator(self, **changes):
        # type: (**Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]
        return click.option(*self.decls, **dict(self.attrs, **changes))

    @property
    def default(self):
        # type: () -> Any
        return self.attrs.get("default")


def _without_help(attrs):
    # type: (Dict[str, Any]) -> Dict[str, Any]
    return {k: v for k, v in attrs.items() if k not in ("help", "show_default")}


class OptionGroup(object):
    """Options that together build one object, passed to the command as keyword `dest`."""

    def __init__(self, dest, make, options):
        # type: (str, Callable[..., Any], Sequence[Opt]) -> None
        self.dest = dest
        self.make = make
        self.options = list(options)

    @property
    def names(self):
        # type: () -> List[str]
        return [o.name for o in self.options]

    def __call__(self, omit=(), fixed=None, **changes):
        # type: (Sequence[str], Optional[Dict[str, Any]], **Dict[str, Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]  # noqa: E501
        """A decorator adding this group's options (less `omit`, with per-option attribute
        `changes`) to a command."""
        unknown = sorted((set(omit) | set(changes) | set(fixed or {})) - set(self.names))
        if unknown:
            raise ValueError("option group %s has no options %s" % (self.dest, unknown))
        present = [o for o in self.options if o.name not in omit]
        constant = dict((o.name, o.default) for o in self.options if o.name in omit)
        constant.update(fixed or {})
        make, dest = self.make, self.dest

        def decorate(func):
            @functools.wraps(func)
            def command(*args, **kwargs):
                values = dict((o.name, kwargs.pop(o.name)) for o in present)
                values.update(constant)
                kwargs[dest] = make(**values)
                return func(*args, **kwargs)
            for option in reversed(present):
                command = option.decorator(**changes.get(option.name, {}))(command)
            return command
        return decorate


def given_on_command_line(names):
    # type: (Sequence[str]) -> List[str]
    """Which of these parameters of the running command the user set (not defaults)."""
    from click.core import ParameterSource

    ctx = click.get_current_context()
    return [n for n in names if ctx.get_parameter_source(n) in (ParameterSource.COMMANDLINE,
                                                                  ParameterSource.ENVIRONMENT)]


def option_flags(names):
    # type: (Sequence[str]) -> str
    """--model, --data: the flags of the running command's parameters, for messages."""
    ctx = click.get_current_context()
    flags = {p.name: max(p.opts, key=len) for p in ctx.command.params}
    return ", ".join(flags.get(n, n) for n in names)


class ReaderFamily(click.ParamType):
    """A calibration reader's family, checked against the reader registry when given (the
    registry is workstation code, not loaded to parse a device command's options)."""

    name = "family"

    def convert(self, value, param, ctx):
        from edgec.calib.readers import reader_families

        families = reader_families()
        if value not in families:
            self.fail("%r is not a registered calibration reader (%s)"
                      % (value, ", ".join(families)), param, ctx)
        return value


# -- the groups -------------------------------------------------------------------------------

def _zoo_entry(name, inputs, grid_sample):
    # type: (str, List[str], str) -> Any
    """The zoo lookup, loaded only when a command reads the model's entry (workstation code)."""
    from edgec.models import resolve_model

    return resolve_model(name, inputs, grid_sample)


MODEL = OptionGroup("source", lambda **v: edgec_settings.ModelSource(resolve_entry=_zoo_entry,
                                                                     **v), [
    Opt("--model", "model_name", default=None, metavar="NAME|MODULE:FACTORY",
        help="Zoo model (see `edgec models`) or package.module:factory returning an "
             "nn.Module."),
    Opt("--input", "inputs", multiple=True, metavar="NAME:SHAPE",
        help="Input of a factory model, batch axis first, e.g. image:1x3x224x224. "
             "Repeat per input."),
    Opt("--checkpoint", type=click.Path(dir_okay=False), default=None,
        help="Weights: an original Wav2Lip checkpoint or a plain state_dict. "
             "Random weights when omitted."),
    Opt("--onnx", "onnx_path", type=click.Path(dir_okay=False), default=None,
        help="An ONNX file exported elsewhere, instead of --model."),
    Opt("--grid-sample", type=click.Choice(["auto", "decomposed", "native"]),
        default="auto", show_default=True,
        help="Models with a 5-D grid sample (liveportrait-warping): decomposed into "
             "standard ops (TensorRT 8.2/8.5/10 build it without plugins; the default, "
             "as edgec targets TensorRT) or native ONNX GridSample, opset 20 (ONNX "
             "Runtime)."),
])

SAMPLES = OptionGroup("samples", lambda **v: edgec_settings.SampleSettings(**v), [
    Opt("--data", "data_dir", type=click.Path(file_okay=False), default=None,
        help="Calibration data: a folder of videos (raw LRS2 layout or any), Wav2Lip "
             "frame folders, or .npz/.npy arrays of model inputs."),
    Opt("-n", "--samples", "count", type=click.IntRange(1),
        default=edgec_settings.DEFAULT_SAMPLES, show_default=True, help="Frames to sample."),
    Opt("--seed", type=int, default=0, show_default=True, help="Sampling seed."),
    Opt("--reader", type=ReaderFamily(), default=None,
        help="Turn videos into inputs of this model family (for --onnx models): a "
             "registered calibration reader (wav2lip, portrait)."),
])

CALIBRATION = OptionGroup("calib", lambda **v: edgec_settings.CalibrationSettings(**v), [
    Opt("--method", type=click.Choice(list(edgec_settings.CALIBRATION_METHODS)),
        default="percentile", show_default=True,
        help="How activation thresholds are chosen: the maximum, a percentile of |x|, "
             "NVIDIA's entropy (KL) calibration, the threshold of least quantization "
             "error of the tensor (mse), or of least error of the model's output with that "
             "layer INT8 (output; needs --model)."),
    Opt("--percentile", type=click.FloatRange(50, 100),
        default=edgec_settings.DEFAULT_PERCENTILE, show_default=True),
    Opt("--holdout", type=click.FloatRange(0, 0.9), default=edgec_settings.DEFAULT_HOLDOUT,
        show_default=True,
        help="Fraction of samples kept out of calibration, halved into the selection split "
             "(the sweep chooses on it) and the test split (every quality figure)."),
    Opt("--calibration-device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
        show_default=True,
        help="Where activation statistics are gathered: cuda runs the PyTorch model on the "
             "GPU (needs --model), cpu runs ONNX Runtime on the CPU; auto takes cuda where "
             "PyTorch sees a GPU and the model is known."),
])

SWEEP = OptionGroup("sweep", lambda **v: edgec_settings.SweepSettings(**v), [
    Opt("--budget", default=edgec_settings.DEFAULT_BUDGET, show_default=True,
        help="Quality the plan must keep vs FP32: psnr>=35, ssim>=0.98, psnr>=fp16-0.5 "
             "(within 0.5 dB of all-FP16), psnr_p5>=38 (5th percentile of per-sample PSNR; "
             "p1 p5 p10 p25 p50), maxerr<=0.25 (largest absolute error), region_psnr>=40 "
             "(Wav2Lip family: the generated lower half of the face); join terms with commas."),
    Opt("--eval-samples", type=click.IntRange(1), default=edgec_settings.DEFAULT_EVAL_SAMPLES,
        show_default=True, help="At most this many samples of the selection split (each "
                                "configuration) and of the test split (the reported figures)."),
    Opt("--describe-samples", type=click.IntRange(0),
        default=edgec_settings.DEFAULT_DESCRIBE_SAMPLES, show_default=True,
        help="The sweep's configurations that decide no plan (each layer alone INT8, the "
             "FP16 head/tail boundaries: reported and plotted) are measured on this many of "
             "the selection samples; 0: all. The plan is the same either way."),
    Opt("--batch-size", type=click.IntRange(1), default=edgec_settings.DEFAULT_SWEEP_BATCH,
        show_default=True),
    Opt("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
        show_default=True, help="Where the fake-quant evaluator runs."),
    Opt("--resume", is_flag=True, help="Continue an interrupted sweep in this folder."),
    Opt("--target", type=click.Choice(int8_board_keys()), default=None,
        help="Choose the MIX plan that minimises this Jetson's predicted latency under the "
             "budget (layers whose INT8 is not faster stay FP16; precision boundaries are "
             "charged). Default: the most MACs in INT8. `edgec build` also checks that the "
             "files import on this board's TensorRT (edgec check) and fails where no JetPack "
             "line of it can."),
    Opt("--profile", "profiles", multiple=True, type=click.Path(dir_okay=False),
        help="profile.json of `edgec bench --profile` on the --target board (repeat: e.g. "
             "its FP16 and its INT8 engine): measured layer times replace predicted ones."),
    Opt("--dla", is_flag=True,
        help="Plan for the --target's GPU and DLA together: the plan minimises the frame "
             "interval when consecutive frames overlap on the two (latency breaks ties) and "
             "says GPU or DLA per layer; `edgec build --dla-core N` follows it. Boards with "
             "a DLA: Xavier, AGX Orin, Orin NX."),
])


def _engine_settings(precision, workspace_mib, timing_cache, dla_core, batch_range,
                     allow_unmapped_layers):
    # type: (str, int, Optional[str], Optional[int], str, bool) -> Any
    from edgec.runtime.trt.builder import EngineSettings, parse_batch_range

    return EngineSettings(precision, workspace_mib, timing_cache, dla_core,
                          parse_batch_range(batch_range), allow_unmapped_layers)


ENGINE = OptionGroup("engine", _engine_settings, [
    Opt("--precision", type=click.Choice(["fp32", "fp16", "int8", "mix"]), default="mix",
        show_default=True),
    Opt("--workspace", "workspace_mib", type=click.IntRange(16), default=1024,
        show_default=True, help="TensorRT builder workspace limit, MiB."),
    Opt("--timing-cache", type=click.Path(dir_okay=False), default=None,
        help="TensorRT timing cache file: read when present, updated after the build "
             "(reuse it across builds on the same device)."),
    Opt("--dla-core", type=int, default=None,
        help="Run on this DLA core (Xavier, AGX Orin, Orin NX; not on TensorRT 10.8 to "
             "11.4.0), falling back to the GPU per layer."),
    Opt("--batch-range", default="1", show_default=True, metavar="N|MIN:OPT:MAX",
        help="Batch sizes the engine accepts (its optimization profile)."),
    Opt("--allow-unmapped-layers", is_flag=True,
        help="MIX: build even when plan.json names layers TensorRT's parser did not "
             "produce (they are listed, then left to the builder)."),
])

progress_option = click.option("--progress/--no-progress", default=True,
                               help="Progress bars on stderr (terminals only).")

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")


def output_dir_option(**attrs):
    # type: (**Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]
    attrs.setdefault("required", True)
    return click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False), **attrs)
