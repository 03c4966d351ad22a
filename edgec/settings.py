"""The settings objects of the workstation stages, one per option group of the CLI.

Each object is what one group of options means (where the model comes from, which samples, how
thresholds are chosen, how the sweep runs), and says which of its values decide a stage's
output (`key()`, part of the stage cache key). Stages and `edgec build` receive these objects
rather than loose parameters, so adding an option touches its group, its object and its key.

Standard library only and Python 3.6 compatible: `edgec build --bundle` parses the same
command line on a Jetson.
"""
import os
from typing import Any, Callable, Dict, List, Optional, Sequence  # noqa: F401

from edgec.errors import EdgecError
from edgec.fingerprints import file_key, folder_key

DEFAULT_SAMPLES = 10000
DEFAULT_PERCENTILE = 99.99
DEFAULT_HOLDOUT = 0.2
DEFAULT_EVAL_SAMPLES = 512
DEFAULT_SWEEP_BATCH = 32
# Samples the sweep's descriptive configurations are measured on (edgec.quant.search.sweep).
DEFAULT_DESCRIBE_SAMPLES = 1024
DEFAULT_BUDGET = "psnr>=40"
# The shipped latency estimator (edgec.latency.cost_model reads it): a plan chosen for a --target
# depends on it, so the sweep's cache key carries its hash.
LATENCY_FIT_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                                "latency_fit.json")
# How activation thresholds are chosen: from each tensor's statistics
# (edgec.quant.calibration.thresholds), or
# by the model's output error (edgec.quant.search.output_thresholds; needs the PyTorch model).
STATISTIC_METHODS = ("max", "percentile", "entropy", "mse")
CALIBRATION_METHODS = STATISTIC_METHODS + ("output",)


class ModelSource(object):
    """Where the FP32 model comes from: a zoo/factory model (+ checkpoint) or an ONNX file.
    `grid_sample` picks the export variant of models with a 5-D grid sample; `opset` and
    `tolerance` override the entry's declared export settings (None: the entry's).

    `resolve_entry(name, inputs, grid_sample)` finds the zoo entry
    (edgec.models.resolve_model; edgec.models.model_source and the option group pass it): the
    contract imports nothing of the workstation packages, and a device command that never
    reads the entry never loads the zoo."""

    def __init__(self, model_name=None, inputs=(), checkpoint=None, onnx_path=None,
                 grid_sample="auto", opset=None, tolerance=None, resolve_entry=None):
        # type: (Optional[str], Sequence[str], Optional[str], Optional[str], str, Optional[int], Optional[float], Optional[Callable[[str, List[str], str], Any]]) -> None  # noqa: E501
        self.model_name = model_name
        self.inputs = list(inputs)
        self.checkpoint = checkpoint
        self.onnx_path = onnx_path
        self.grid_sample = grid_sample
        self.opset = opset
        self.tolerance = tolerance
        self.resolve_entry = resolve_entry
        self._entry = None  # type: Any

    @property
    def given(self):
        # type: () -> bool
        return bool(self.model_name or self.onnx_path)

    def validate(self):
        # type: () -> ModelSource
        if bool(self.model_name) == bool(self.onnx_path):
            raise EdgecError("give exactly one of --model and --onnx")
        if self.onnx_path:
            given = [flag for flag, value in (("--checkpoint", self.checkpoint),
                                              ("--input", self.inputs),
                                              ("--grid-sample", self.grid_sample != "auto"))
                     if value]
            if given:
                raise EdgecError("%s go%s with --model, not with --onnx (the ONNX file fixes "
                                 "its weights, inputs and ops)"
                                 % (", ".join(given), "es" if len(given) == 1 else ""))
        elif self.inputs and ":" not in str(self.model_name):
            raise EdgecError("--input is for package.module:factory models; zoo model %s "
                             "declares its own inputs (see `edgec models %s`)"
                             % (self.model_name, self.model_name))
        return self

    @property
    def entry(self):
        # type: () -> Any
        """The zoo entry (None for an ONNX file), its export variant chosen."""
        if self._entry is None and self.model_name:
            if self.resolve_entry is None:
                raise RuntimeError("ModelSource(%r) was made without resolve_entry: make it "
                                   "with edgec.models.model_source" % self.model_name)
            self._entry = self.resolve_entry(self.model_name, self.inputs, self.grid_sample)
        return self._entry

    @property
    def label(self):
        # type: () -> str
        """The model's name in records: the zoo name, or the ONNX file's name."""
        import os

        return self.model_name or os.path.basename(str(self.onnx_path))

    def key(self):
        # type: () -> Dict[str, Any]
        if self.onnx_path:
            return {"onnx": file_key(self.onnx_path)}
        return {"model": self.model_name, "inputs": self.inputs,
                "checkpoint": file_key(self.checkpoint) if self.checkpoint else None,
                "variants": self.entry.variant_key(), "opset": self.opset,
                "tolerance": self.tolerance}


class SampleSettings(object):
    """Which calibration samples: the data folder, how many, the seed, and (for ONNX files with
    no zoo entry) which reader turns videos into model inputs."""

    def __init__(self, data_dir=None, count=DEFAULT_SAMPLES, seed=0, reader=None):
        # type: (Optional[str], int, int, Optional[str]) -> None
        self.data_dir = data_dir
        self.count = count
        self.seed = seed
        self.reader = reader

    def require_data(self):
        # type: () -> str
        if not self.data_dir:
            raise EdgecError("--data is required: this command needs calibration data (a "
                             "folder of videos, Wav2Lip frame folders or .npz/.npy arrays)")
        return self.data_dir

    def family(self, source):
        # type: (ModelSource) -> Optional[str]
        """The calibration reader: --reader, else the zoo entry's data family."""
        if self.reader:
            return self.reader
        return source.entry.data_family if source.entry is not None else None

    def key(self, source):
        # type: (ModelSource) -> Dict[str, Any]
        return {"data": folder_key(self.require_data()), "n": self.count, "seed": self.seed,
                "family": self.family(source)}


class CalibrationSettings(object):
    """How activation thresholds are chosen, and the share of samples kept out of calibration
    for quality evaluation."""

    def __init__(self, method="percentile", percentile=DEFAULT_PERCENTILE,
                 holdout=DEFAULT_HOLDOUT, calibration_device="auto"):
        # type: (str, float, float, str) -> None
        self.method = method
        self.percentile = percentile
        self.holdout = holdout
        # auto: PyTorch on the GPU where one is present and the PyTorch model is known, else
        # ONNX Runtime on the CPU; cpu, cuda: that one (cuda needs --model).
        self.calibration_device = calibration_device

    def key(self):
        # type: () -> Dict[str, Any]
        # The device joins the key: the two paths' statistics agree within a bin, not bitwise.
        return {"method": self.method, "percentile": self.percentile, "holdout": self.holdout,
                "device": self.calibration_device}


class SweepSettings(object):
    """The sensitivity sweep and the evaluation of quantized models: the quality budget, the
    held-out samples each configuration (and each quantized file) is evaluated on, the
    evaluator's batch size and device, and whether to continue an interrupted sweep."""

    def __init__(self, budget=DEFAULT_BUDGET, eval_samples=DEFAULT_EVAL_SAMPLES,
                 batch_size=DEFAULT_SWEEP_BATCH, device="auto", resume=False, target=None,
                 profiles=(), describe_samples=DEFAULT_DESCRIBE_SAMPLES, dla=False):
        # type: (Optional[str], int, int, str, bool, Optional[str], Sequence[str], int, bool) -> None  # noqa: E501
        self.budget = budget
        self.target = target  # a Jetson key: the plan minimises its predicted latency
        # With the target's DLA: the plan minimises the frame interval of GPU and DLA working
        # on consecutive frames, and places layers (edgec.quant.search.placement).
        self.dla = dla
        self.profiles = list(profiles)  # profile.json files of that Jetson
        self.eval_samples = eval_samples
        # Configurations that decide no plan (each layer alone INT8, the boundaries) are
        # measured on this many of the selection samples; 0: all of them.
        self.describe_samples = describe_samples
        self.batch_size = batch_size
        self.device = device
        self.resume = resume

    @property
    def budget_text(self):
        # type: () -> str
        """The budget's terms (edgec.quant.quality.budget parses and checks them)."""
        return self.budget or DEFAULT_BUDGET

    def key(self):
        # type: () -> Dict[str, Any]
        # device and resume change how the sweep runs, not what it finds.
        from edgec.fileio import sha256_file

        key = {"budget": self.budget, "eval_samples": self.eval_samples,
               "batch_size": self.batch_size,
               "describe_samples": self.describe_samples}  # type: Dict[str, Any]
        if self.target:
            key.update(target=self.target, profiles=[sha256_file(p) for p in self.profiles],
                       latency_fit=sha256_file(LATENCY_FIT_FILE))
        if self.dla:
            key["dla"] = True
        return key

    def check_target(self):
        # type: () -> SweepSettings
        """Reject --profile without --target, and unreadable or malformed profiles, before any
        work is done."""
        from edgec.runtime.layer_profile import read_profile

        if self.profiles and not self.target:
            raise EdgecError("--profile needs --target (the Jetson the profile was measured on)")
        if self.dla:
            from edgec.jetson.profiles import BY_KEY

            if not self.target:
                raise EdgecError("--dla needs --target: the Jetson whose DLA the plan uses")
            if not BY_KEY[self.target].dla_cores:
                raise EdgecError("--dla: %s has no DLA (Xavier, AGX Orin and Orin NX have one; "
                                 "Orin Nano none); drop --dla to plan for its GPU"
                                 % BY_KEY[self.target].name)
        for path in self.profiles:
            read_profile(path)
        return self
