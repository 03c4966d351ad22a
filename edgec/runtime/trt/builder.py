"""Build a TensorRT engine from an edgec build (or unpacked bundle) folder, as small steps.

Each step is a loader in Polygraphy's shape: constructed with the previous step's loader and
its own settings, it does its one job when called and hands its result to the next.

    NetworkFromOnnx       parse the ONNX (Polygraphy: NetworkFromOnnxPath)
    ApplyPlan             plan.json -> per-layer precision, TensorRT 8.x (SetLayerPrecisions)
    CreateConfig          flags, calibrator from calib.cache, profile, workspace, DLA, timing
                          cache (CreateConfig)
    EngineBytesFromNetwork  build (EngineBytesFromNetwork)
    SaveEngine            engine bytes and timing cache written atomically (SaveEngine)
    inspect_engine        the precision each engine layer runs in, from the engine inspector

`build_engine` composes them for one folder and writes the sidecar. Every version difference is
decided in `versions` (tested without TensorRT); the calls here are the real API, type-checked
with mypy against tensorrt-stubs (10.13), and exercised against per-version doubles of the
TensorRT module derived from the released bindings (tests/trt_api). Calls that exist only in
TensorRT 8.x carry a narrow `type: ignore[attr-defined]` with the reason. Python 3.6
compatible.

Executed against a real TensorRT: never (none on the machines edgec is developed on).
"""
import os
import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple  # noqa: F401

from edgec import artifacts
from edgec.errors import EdgecError
from edgec.fileio import atomic_write_bytes, sha256_file
from edgec.runtime.trt import layers as trt_layers
from edgec.runtime.trt.sidecar import make_sidecar, write_sidecar
from edgec.runtime.trt.versions import ApiPaths, BuildStrategy, dims_tuple, dla_settings

if TYPE_CHECKING:  # the real API's types for mypy; imported lazily at run time
    import tensorrt as trt  # noqa: F401,F811


class EngineSettings(object):
    """What the user chose for one build; recorded in the sidecar."""

    def __init__(self, precision, workspace_mib=1024, timing_cache=None, dla_core=None,
                 batch=(1, 1, 1), allow_unmapped=False):
        # type: (str, int, Optional[str], Optional[int], Tuple[int, int, int], bool) -> None
        if not (1 <= batch[0] <= batch[1] <= batch[2]):
            raise EdgecError("--batch-range must be min:opt:max with 1 <= min <= opt <= max, got "
                             "%s" % ":".join(map(str, batch)))
        self.precision = precision
        self.workspace_mib = workspace_mib
        self.timing_cache = timing_cache
        self.dla_core = dla_core
        self.batch = tuple(batch)
        self.allow_unmapped = allow_unmapped

    def to_dict(self):
        # type: () -> Dict[str, Any]
        return {"precision": self.precision, "workspace_mib": self.workspace_mib,
                "timing_cache": self.timing_cache, "dla_core": self.dla_core,
                "batch_range": list(self.batch), "allow_unmapped": self.allow_unmapped}


def parse_batch_range(text):
    # type: (str) -> Tuple[int, int, int]
    """`8` -> (1, 8, 8) is not assumed: `N` means exactly N; `min:opt:max` a range."""
    try:
        parts = [int(p) for p in text.split(":")]
    except ValueError:
        raise EdgecError("--batch-range %r: expected N or MIN:OPT:MAX (integers)" % text)
    if len(parts) == 1:
        return parts[0], parts[0], parts[0]
    if len(parts) != 3:
        raise EdgecError("--batch-range %r: expected N or MIN:OPT:MAX" % text)
    return parts[0], parts[1], parts[2]


def make_logger():
    # type: () -> Any
    """A TensorRT logger that keeps warnings and errors, so a failed step can say what
    TensorRT said; TensorRT's bundled plugins (InstanceNormalization on 8.2/8.5, used by the
    SPADE decoder) are registered with it. No custom plugin is involved."""
    import tensorrt as trt

    class CollectingLogger(trt.ILogger):
        def __init__(self):
            # type: () -> None
            trt.ILogger.__init__(self)
            self.messages = []  # type: List[str]

        def log(self, severity, msg):
            # type: (Any, str) -> None
            if int(severity) <= int(trt.ILogger.Severity.WARNING):
                self.messages.append("%s: %s" % (str(severity).split(".")[-1], msg))

    logger = CollectingLogger()
    trt.init_libnvinfer_plugins(logger, "")
    return logger


def _make_cache_calibrator(cache_bytes):
    # type: (bytes) -> Any
    """An EntropyCalibrator2 that never sees data: TensorRT reads every scale from the cache.
    TensorRT 8.x only (implicit quantization; 11.x removed the calibrator classes)."""
    import tensorrt as trt

    class CacheCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self):
            # type: () -> None
            trt.IInt8EntropyCalibrator2.__init__(self)

        def get_batch_size(self):
            # type: () -> int
            return 1

        def get_batch(self, names):
            # type: (List[str]) -> List[int]
            return []  # no batches: every scale must come from the cache

        def read_calibration_cache(self):
            # type: () -> bytes
            return cache_bytes

        def write_calibration_cache(self, cache):
            # type: (Any) -> None
            return None

    return CacheCalibrator()


def calibration_cache_for(paths, cache_path):
    # type: (ApiPaths, str) -> bytes
    """calib.cache with its header rewritten for the running TensorRT: TensorRT compares the
    header's version with its own and ignores (then recalibrates, without data: fails) a cache
    from another version. The scales themselves are version-independent."""
    _, scales = artifacts.read_calib_cache(cache_path)
    return artifacts.format_calib_cache(scales, paths.calibration_cache_header()).encode("ascii")


class ParsedNetwork(object):
    """What parsing leaves: the builder, the network and the parser (which must outlive the
    network: it owns the weights), plus the plan mapping once ApplyPlan ran."""

    def __init__(self, builder, network, parser):
        # type: (trt.Builder, trt.INetworkDefinition, trt.OnnxParser) -> None
        self.builder = builder
        self.network = network
        self.parser = parser
        self.plan_layers = None  # type: Optional[Dict[str, str]]
        self.plan_mapping = None  # type: Optional[Dict[str, Any]]


class NetworkFromOnnx(object):
    def __init__(self, onnx_path, paths, strategy, logger):
        # type: (str, ApiPaths, BuildStrategy, Any) -> None
        self.onnx_path = onnx_path
        self.paths = paths
        self.strategy = strategy
        self.logger = logger

    def __call__(self):
        # type: () -> ParsedNetwork
        import tensorrt as trt

        builder = trt.Builder(self.logger)
        flags = 0
        for name in self.strategy.network_flags:
            flags |= 1 << int(getattr(trt.NetworkDefinitionCreationFlag, name))
        network = builder.create_network(flags)
        parser = trt.OnnxParser(network, self.logger)
        with open(self.onnx_path, "rb") as handle:
            ok = parser.parse(handle.read(), path=self.onnx_path)
        if not ok:
            errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
            raise EdgecError("TensorRT %s cannot parse %s:\n  %s"
                             % (self.paths.version, self.onnx_path,
                                "\n  ".join(errors or self.logger.messages)))
        return ParsedNetwork(builder, network, parser)


def _map_plan(network, plan_layers):
    # type: (trt.INetworkDefinition, Dict[str, str]) -> Tuple[Dict[str, Any], Dict[str, List[str]], List[str]]  # noqa: E501
    """The network's layers by name, and plan layers -> network layers (layers.py's mapping),
    for the plan's precisions (ApplyPlan) and its DLA placement (CreateConfig)."""
    layers = [network.get_layer(index) for index in range(network.num_layers)]
    mapped, unmapped = trt_layers.map_plan_to_layers(
        plan_layers, [(layer.name, str(layer.type).split(".")[-1]) for layer in layers])
    return dict((layer.name, layer) for layer in layers), mapped, unmapped


class ApplyPlan(object):
    """TensorRT 8.x MIX: FP16 layers get precision HALF and HALF outputs, obeyed by the
    builder; INT8 layers get precision INT8 so the builder does not trade them for FP16 when
    that times faster. Plan layers with no TensorRT layer fail the build unless allowed."""

    def __init__(self, network_loader, plan_path, allow_unmapped):
        # type: (Any, str, bool) -> None
        self.network_loader = network_loader
        self.plan_path = plan_path
        self.allow_unmapped = allow_unmapped

    def __call__(self):
        # type: () -> ParsedNetwork
        import tensorrt as trt

        parsed = self.network_loader()
        plan_layers = artifacts.read_plan(self.plan_path, artifacts.ENGINE_LAYER_PRECISIONS)
        by_name, mapped, unmapped = _map_plan(parsed.network, plan_layers)
        if unmapped and not self.allow_unmapped:
            raise EdgecError("plan %s: layers %s have no matching TensorRT layer in the parsed "
                             "network, so their precision cannot be set. Was the plan made for "
                             "this ONNX? (--allow-unmapped-layers builds anyway, leaving them "
                             "to the builder)" % (self.plan_path, unmapped))
        for node, layer_names in sorted(mapped.items()):
            half = plan_layers[node] == "fp16"
            dtype = trt.DataType.HALF if half else trt.DataType.INT8
            for name in layer_names:
                layer = by_name[name]
                layer.precision = dtype  # weak typing: TensorRT 8.x and 10.x (gone in 11)
                if half:
                    for output in range(layer.num_outputs):
                        layer.set_output_type(output, trt.DataType.HALF)
        parsed.plan_layers = plan_layers
        parsed.plan_mapping = {"mapped": mapped, "unmapped": unmapped}
        return parsed


class CreateConfig(object):
    """The builder config for one strategy: precision flags and the cache calibrator (8.x),
    workspace, DLA, detailed profiling (for the inspector), the batch profile and the timing
    cache. Called with the parsed network, like Polygraphy's config loaders."""

    def __init__(self, paths, strategy, settings, calibration_cache=None, devices=None,
                 plan_path=None):
        # type: (ApiPaths, BuildStrategy, EngineSettings, Optional[bytes], Optional[Dict[str, str]], Optional[str]) -> None  # noqa: E501
        self.paths = paths
        self.strategy = strategy
        self.settings = settings
        self.calibration_cache = calibration_cache
        # plan.json's "devices" (layer -> gpu | dla), followed when --dla-core is given.
        self.devices = devices or {}
        self.plan_path = plan_path
        self.placed = {}  # type: Dict[str, List[str]]  # plan layer -> network layers on DLA
        if strategy.calibrator and calibration_cache is None:
            raise EdgecError("a %s build on TensorRT %s needs calib.cache"
                             % (strategy.precision, paths.version))

    def __call__(self, parsed):
        # type: (ParsedNetwork) -> Tuple[trt.IBuilderConfig, Optional[trt.ITimingCache]]
        import tensorrt as trt

        builder, settings = parsed.builder, self.settings
        config = builder.create_builder_config()
        workspace = int(settings.workspace_mib) << 20
        if self.paths.workspace == "memory_pool_limit":
            config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace)
        else:
            config.max_workspace_size = workspace  # type: ignore[attr-defined]  # TensorRT < 8.4
        for flag in self.strategy.flags:
            config.set_flag(getattr(trt.BuilderFlag, flag))
        if self.strategy.calibrator and self.calibration_cache is not None:
            config.int8_calibrator = _make_cache_calibrator(self.calibration_cache)
        self._set_dla(config, builder, parsed.network)
        if self.paths.engine_inspector:
            config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
        config.add_optimization_profile(self._profile(builder, parsed.network))
        return config, self._timing_cache(config)

    def _set_dla(self, config, builder, network):
        # type: (trt.IBuilderConfig, trt.Builder, trt.INetworkDefinition) -> None
        import tensorrt as trt

        dla = dla_settings(self.settings.dla_core, self.settings.precision,
                           builder.num_DLA_cores > 0, self.paths)
        if dla is None:
            return
        if dla["core"] >= builder.num_DLA_cores:
            raise EdgecError("--dla-core %d: this device has %d DLA cores"
                             % (dla["core"], builder.num_DLA_cores))
        config.DLA_core = dla["core"]
        config.set_flag(trt.BuilderFlag.GPU_FALLBACK)
        on_dla = sorted(n for n, d in self.devices.items() if d == "dla")
        if not on_dla:  # no placement: every layer the DLA can run goes there
            config.default_device_type = trt.DeviceType.DLA
            return
        # A placement: its DLA layers go there, everything else stays on the GPU (default).
        by_name, mapped, unmapped = _map_plan(network, dict((n, "dla") for n in on_dla))
        if unmapped:
            raise EdgecError("plan %s places layers %s on the DLA, but the parsed network has "
                             "no convolution of that name: was the plan made for this ONNX?"
                             % (self.plan_path, unmapped[:5]))
        for node, names in sorted(mapped.items()):
            for name in names:
                if not config.can_run_on_DLA(by_name[name]):
                    raise EdgecError(
                        "plan %s places layer %s (TensorRT layer %s) on the DLA, but TensorRT "
                        "%s says the DLA cannot run it; re-plan without --dla, or build "
                        "without --dla-core for the GPU" % (self.plan_path, node, name,
                                                            self.paths.version))
                config.set_device_type(by_name[name], trt.DeviceType.DLA)
            self.placed[node] = names

    def _profile(self, builder, network):
        # type: (trt.Builder, trt.INetworkDefinition) -> trt.IOptimizationProfile
        import tensorrt as trt

        profile = builder.create_optimization_profile()
        low, opt, high = self.settings.batch
        for index in range(network.num_inputs):
            tensor = network.get_input(index)
            dims = list(dims_tuple(tensor.shape))
            if dims and dims[0] >= 0:
                if low == opt == high == dims[0]:
                    continue  # a fixed-batch ONNX at the requested batch: no profile needed
                raise EdgecError("input %s of the ONNX has a fixed batch of %d; it cannot be "
                                 "built for batch range %d:%d:%d (export with a dynamic batch "
                                 "axis)" % (tensor.name, dims[0], low, opt, high))
            rest = dims[1:]
            if any(d < 0 for d in rest):
                raise EdgecError("input %s has dynamic axes other than the batch (%s): edgec "
                                 "builds profiles over the batch axis only" % (tensor.name, dims))
            profile.set_shape(tensor.name, trt.Dims([low] + rest), trt.Dims([opt] + rest),
                              trt.Dims([high] + rest))
        return profile

    def _timing_cache(self, config):
        # type: (trt.IBuilderConfig) -> Optional[trt.ITimingCache]
        path = self.settings.timing_cache
        if not path:
            return None
        data = b""  # type: Any  # an empty buffer starts a new cache
        if os.path.isfile(path):
            with open(path, "rb") as handle:
                data = handle.read()
        cache = config.create_timing_cache(data)
        # A cache from another TensorRT version or GPU is refused by TensorRT, not half-used.
        if not config.set_timing_cache(cache, False):
            raise EdgecError("timing cache %s does not fit this TensorRT/GPU; delete it or give "
                             "another --timing-cache path" % path)
        return cache


class BuiltEngine(object):
    def __init__(self, serialized, config, parsed):
        # type: (trt.IHostMemory, trt.IBuilderConfig, ParsedNetwork) -> None
        self.serialized = serialized
        self.config = config
        self.parsed = parsed


class EngineBytesFromNetwork(object):
    def __init__(self, network_loader, config_loader, logger, what):
        # type: (Any, CreateConfig, Any, str) -> None
        self.network_loader = network_loader
        self.config_loader = config_loader
        self.logger = logger
        self.what = what  # "a mix engine from model.onnx", for the error

    def __call__(self):
        # type: () -> BuiltEngine
        parsed = self.network_loader()
        config, _ = self.config_loader(parsed)
        serialized = parsed.builder.build_serialized_network(parsed.network, config)
        if serialized is None:
            raise EdgecError("TensorRT %s could not build %s:\n  %s"
                             % (self.config_loader.paths.version, self.what,
                                "\n  ".join(self.logger.messages[-20:]) or "(no message)"))
        return BuiltEngine(serialized, config, parsed)


class SaveEngine(object):
    """The engine file, and the timing cache when one was asked for, written atomically."""

    def __init__(self, engine_loader, engine_path, timing_cache_path=None):
        # type: (Any, str, Optional[str]) -> None
        self.engine_loader = engine_loader
        self.engine_path = engine_path
        self.timing_cache_path = timing_cache_path

    def __call__(self):
        # type: () -> BuiltEngine
        built = self.engine_loader()
        atomic_write_bytes(self.engine_path, bytes(built.serialized))
        if self.timing_cache_path:
            cache = built.config.get_timing_cache()
            atomic_write_bytes(self.timing_cache_path, bytes(cache.serialize()))
        return built


def inspect_engine(paths, built, logger, plan_layers=None):
    # type: (ApiPaths, BuiltEngine, Any, Optional[Dict[str, str]]) -> Dict[str, Any]
    """The precision each engine layer runs in, from the engine inspector where it exists, and
    planned vs built for a MIX plan (on 8.x the plan was applied; on 10+ it is in the ONNX)."""
    import tensorrt as trt

    if not paths.engine_inspector:
        return {"available": False, "why": "TensorRT %s has no engine inspector" % paths.version}
    runtime = trt.Runtime(logger)
    engine = runtime.deserialize_cuda_engine(bytes(built.serialized))
    inspector = engine.create_engine_inspector()
    info = inspector.get_engine_information(trt.LayerInformationFormat.JSON)
    rows = trt_layers.engine_layer_precisions(info)
    counts = {}  # type: Dict[str, int]
    for row in rows:
        key = row["precision"] or "unknown"
        counts[key] = counts.get(key, 0) + 1
    report = {"available": True, "engine_layers": rows, "layer_precision_counts": counts,
              "device_memory_bytes": int(getattr(engine, paths.device_memory_attr))}
    if plan_layers:
        report["planned_vs_built"] = trt_layers.planned_vs_built(plan_layers, rows)
    return report


def build_engine(folder, precision, engine_path, settings, device, tensorrt_version,
                 source_info=None):
    # type: (str, str, str, EngineSettings, Dict[str, Any], str, Optional[Dict[str, Any]]) -> Dict[str, Any]  # noqa: E501
    """Build `engine_path` from the files in `folder`; returns the sidecar (also written)."""
    paths = ApiPaths(tensorrt_version)
    strategy = BuildStrategy(paths, precision)
    missing = [f for f in strategy.needed_files() if not os.path.isfile(os.path.join(folder, f))]
    if missing:
        raise EdgecError("%s lacks %s, needed for a %s engine on TensorRT %s; build them with "
                         "`edgec build --precision %s` on the workstation and pack them"
                         % (folder, ", ".join(missing), precision, tensorrt_version, precision))
    onnx_path = os.path.join(folder, strategy.onnx_file)
    started = time.time()
    logger = make_logger()
    network = NetworkFromOnnx(onnx_path, paths, strategy, logger)  # type: Any
    if strategy.layer_constraints:
        network = ApplyPlan(network, os.path.join(folder, artifacts.PLAN_JSON),
                            settings.allow_unmapped)
    calibration = None
    if strategy.calibrator:
        calibration = calibration_cache_for(paths, os.path.join(folder, artifacts.CALIB_CACHE))
    plan_path = os.path.join(folder, artifacts.PLAN_JSON)
    devices = (artifacts.read_plan_devices(plan_path)
               if precision == "mix" and os.path.isfile(plan_path) else {})
    config = CreateConfig(paths, strategy, settings, calibration, devices, plan_path)
    engine = EngineBytesFromNetwork(network, config, logger,
                                    "a %s engine from %s" % (precision, onnx_path))
    built = SaveEngine(engine, engine_path, settings.timing_cache)()
    plan_layers = built.parsed.plan_layers
    if plan_layers is None and precision == "mix":
        plan_path = os.path.join(folder, artifacts.PLAN_JSON)
        if os.path.isfile(plan_path):  # 10+: the plan is in the Q/DQ ONNX; read it to compare
            plan_layers = artifacts.read_plan(plan_path, artifacts.ENGINE_LAYER_PRECISIONS)
    layers = inspect_engine(paths, built, logger, plan_layers)
    if built.parsed.plan_mapping is not None:
        layers["plan_mapping"] = built.parsed.plan_mapping
    planned_dla = sorted(n for n, d in devices.items() if d == "dla")
    if planned_dla:
        layers["placement"] = {
            "planned_dla_layers": planned_dla, "dla_core": settings.dla_core,
            "placed": config.placed,
            "followed": settings.dla_core is not None,
            "why": None if settings.dla_core is not None else
            "built for the GPU only: the plan places layers on the DLA, give --dla-core N to "
            "follow it"}
    layers["builder_messages"] = logger.messages[-200:]
    sidecar = make_sidecar(tensorrt_version, device, precision, onnx_path,
                           sha256_file(onnx_path), dict(settings.to_dict(),
                                                        strategy=strategy.to_dict()),
                           layers, time.time() - started, source_info)
    write_sidecar(engine_path, sidecar)
    return sidecar


def engine_path_for(folder, precision):
    # type: (str, str) -> str
    return os.path.join(folder, artifacts.engine_file(precision))


def build_in_folder(folder, settings, source_info=None):
    # type: (str, EngineSettings, Optional[Dict[str, Any]]) -> Dict[str, Any]
    """Build model.<precision>.engine in an edgec build folder or unpacked bundle, for the GPU
    and TensorRT of this host. Raises EdgecError when TensorRT is absent."""
    from edgec.runtime import cuda
    from edgec.runtime.trt.detect import tensorrt_version

    version = tensorrt_version()
    if version is None:
        raise EdgecError("TensorRT is not installed on this host, so no engine was built from "
                         "%s. Build on the Jetson (or in the L4T container), where TensorRT is "
                         "present: edgec build --bundle BUNDLE.tar.gz" % folder)
    device = cuda.device_info()
    return build_engine(folder, settings.precision, engine_path_for(folder, settings.precision),
                        settings, device, version, source_info)
