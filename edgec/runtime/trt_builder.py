"""Build a TensorRT engine from an edgec build (or unpacked bundle) folder.

One function, `build_engine`, for TensorRT 8.2, 8.5 and 10+; the version-dependent choices come
from `trt_versions` (tested without TensorRT), the calls here are the real API, type-checked
with mypy against tensorrt-stubs (10.13). Calls that exist only in TensorRT 8.x carry a narrow
`type: ignore[attr-defined]` with the reason. Python 3.6 compatible.

Executed: never (no TensorRT on the machines edgec is developed on). See README, "TensorRT".
"""
import os
import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple  # noqa: F401

from edgec import artifacts
from edgec.errors import EdgecError
from edgec.fileio import atomic_write_bytes, sha256_file
from edgec.runtime import trt_layers
from edgec.runtime.sidecar import make_sidecar, write_sidecar
from edgec.runtime.trt_versions import ApiPaths, BuildStrategy, dims_tuple, dla_settings

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


def _make_logger():
    # type: () -> Any
    import tensorrt as trt

    class CollectingLogger(trt.ILogger):
        """Keeps warnings and errors so a failed build can say what TensorRT said."""

        def __init__(self):
            # type: () -> None
            trt.ILogger.__init__(self)
            self.messages = []  # type: List[str]

        def log(self, severity, msg):
            # type: (Any, str) -> None
            if int(severity) <= int(trt.ILogger.Severity.WARNING):
                self.messages.append("%s: %s" % (str(severity).split(".")[-1], msg))

    return CollectingLogger()


def _make_cache_calibrator(cache_bytes):
    # type: (bytes) -> trt.IInt8EntropyCalibrator2
    """An EntropyCalibrator2 that never sees data: TensorRT reads every scale from the cache."""
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


def _parse_onnx(builder, logger, paths, strategy, onnx_path):
    # type: (trt.Builder, Any, ApiPaths, BuildStrategy, str) -> Tuple[trt.INetworkDefinition, trt.OnnxParser]  # noqa: E501
    import tensorrt as trt

    flags = 0
    for name in strategy.network_flags:
        flags |= 1 << int(getattr(trt.NetworkDefinitionCreationFlag, name))
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    with open(onnx_path, "rb") as handle:
        ok = parser.parse(handle.read(), path=onnx_path)
    if not ok:
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        raise EdgecError("TensorRT %s cannot parse %s:\n  %s"
                         % (paths.version, onnx_path, "\n  ".join(errors or logger.messages)))
    return network, parser


def _apply_plan(network, plan_layers, allow_unmapped, plan_path):
    # type: (trt.INetworkDefinition, Dict[str, str], bool, str) -> Dict[str, Any]
    """FP16 layers get precision HALF and HALF outputs, obeyed by the builder; INT8 layers get
    precision INT8 so the builder does not trade them for FP16 when that times faster."""
    import tensorrt as trt

    layers = [network.get_layer(index) for index in range(network.num_layers)]
    by_name = {layer.name: layer for layer in layers}
    mapped, unmapped = trt_layers.map_plan_to_layers(
        plan_layers, [(layer.name, str(layer.type).split(".")[-1]) for layer in layers])
    if unmapped and not allow_unmapped:
        raise EdgecError("plan %s: layers %s have no matching TensorRT layer in the parsed "
                         "network, so their precision cannot be set. Was the plan made for this "
                         "ONNX? (--allow-unmapped-layers builds anyway, leaving them to the "
                         "builder)" % (plan_path, unmapped))
    for node, layer_names in mapped.items():
        dtype = trt.DataType.HALF if plan_layers[node] == "fp16" else trt.DataType.INT8
        for name in layer_names:
            layer = by_name[name]
            layer.precision = dtype
            if plan_layers[node] == "fp16":
                for output in range(layer.num_outputs):
                    layer.set_output_type(output, trt.DataType.HALF)
    return {"mapped": mapped, "unmapped": unmapped}


def _configure(builder, network, paths, strategy, settings, folder):
    # type: (trt.Builder, trt.INetworkDefinition, ApiPaths, BuildStrategy, EngineSettings, str) -> Tuple[trt.IBuilderConfig, Optional[trt.ITimingCache]]  # noqa: E501
    import tensorrt as trt

    config = builder.create_builder_config()
    workspace = int(settings.workspace_mib) << 20
    if paths.workspace == "memory_pool_limit":
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace)
    else:
        config.max_workspace_size = workspace  # type: ignore[attr-defined]  # TensorRT < 8.4 only
    for flag in strategy.flags:
        config.set_flag(getattr(trt.BuilderFlag, flag))
    if strategy.calibrator:
        calibration = calibration_cache_for(paths, os.path.join(folder, artifacts.CALIB_CACHE))
        config.int8_calibrator = _make_cache_calibrator(calibration)
    dla = dla_settings(settings.dla_core, settings.precision, builder.num_DLA_cores > 0)
    if dla is not None:
        if dla["core"] >= builder.num_DLA_cores:
            raise EdgecError("--dla-core %d: this device has %d DLA cores"
                             % (dla["core"], builder.num_DLA_cores))
        config.default_device_type = trt.DeviceType.DLA
        config.DLA_core = dla["core"]
        config.set_flag(trt.BuilderFlag.GPU_FALLBACK)
    if paths.engine_inspector:
        config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    profile = builder.create_optimization_profile()
    low, opt, high = settings.batch
    for index in range(network.num_inputs):
        tensor = network.get_input(index)
        dims = list(dims_tuple(tensor.shape))
        if dims and dims[0] >= 0:
            if low == opt == high == dims[0]:
                continue  # a fixed-batch ONNX at the requested batch: no profile needed
            raise EdgecError("input %s of the ONNX has a fixed batch of %d; it cannot be built "
                             "for batch range %d:%d:%d (export with a dynamic batch axis)"
                             % (tensor.name, dims[0], low, opt, high))
        rest = dims[1:]
        if any(d < 0 for d in rest):
            raise EdgecError("input %s has dynamic axes other than the batch (%s): edgec builds "
                             "profiles over the batch axis only" % (tensor.name, dims))
        profile.set_shape(tensor.name, trt.Dims([low] + rest), trt.Dims([opt] + rest),
                          trt.Dims([high] + rest))
    config.add_optimization_profile(profile)
    cache = None
    if settings.timing_cache:
        data = b""  # type: Any  # an empty buffer starts a new cache
        if os.path.isfile(settings.timing_cache):
            with open(settings.timing_cache, "rb") as handle:
                data = handle.read()
        cache = config.create_timing_cache(data)
        # A cache from another TensorRT version or GPU is refused by TensorRT, not half-used.
        if not config.set_timing_cache(cache, False):
            raise EdgecError("timing cache %s does not fit this TensorRT/GPU; delete it or give "
                             "another --timing-cache path" % settings.timing_cache)
    return config, cache


def _engine_report(paths, serialized, plan_layers, logger):
    # type: (ApiPaths, trt.IHostMemory, Optional[Dict[str, str]], Any) -> Dict[str, Any]
    """The precision each engine layer runs in, from the engine inspector where it exists."""
    import tensorrt as trt

    if not paths.engine_inspector:
        return {"available": False, "why": "TensorRT %s has no engine inspector" % paths.version}
    runtime = trt.Runtime(logger)
    engine = runtime.deserialize_cuda_engine(serialized)
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
    import tensorrt as trt

    paths = ApiPaths(tensorrt_version)
    strategy = BuildStrategy(paths, precision)
    missing = [f for f in strategy.needed_files() if not os.path.isfile(os.path.join(folder, f))]
    if missing:
        raise EdgecError("%s lacks %s, needed for a %s engine on TensorRT %s; build them with "
                         "`edgec build --precision %s` on the workstation and pack them"
                         % (folder, ", ".join(missing), precision, tensorrt_version, precision))
    onnx_path = os.path.join(folder, strategy.onnx_file)
    started = time.time()
    logger = _make_logger()
    # TensorRT's bundled plugins (InstanceNormalization on 8.2/8.5, used by the SPADE decoder)
    # are registered before parsing; they ship with TensorRT, no custom plugin is involved.
    trt.init_libnvinfer_plugins(logger, "")
    builder = trt.Builder(logger)
    network, parser = _parse_onnx(builder, logger, paths, strategy, onnx_path)
    plan_layers = None  # type: Optional[Dict[str, str]]
    mapping = None  # type: Optional[Dict[str, Any]]
    if strategy.layer_constraints:
        plan_path = os.path.join(folder, artifacts.PLAN_JSON)
        plan_layers = artifacts.read_plan(plan_path, artifacts.ENGINE_LAYER_PRECISIONS)
        mapping = _apply_plan(network, plan_layers, settings.allow_unmapped, plan_path)
    config, cache = _configure(builder, network, paths, strategy, settings, folder)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise EdgecError("TensorRT %s could not build a %s engine from %s:\n  %s"
                         % (tensorrt_version, precision, onnx_path,
                            "\n  ".join(logger.messages[-20:]) or "(no message)"))
    atomic_write_bytes(engine_path, bytes(serialized))
    if cache is not None and settings.timing_cache:
        atomic_write_bytes(settings.timing_cache, bytes(config.get_timing_cache().serialize()))
    layers = _engine_report(paths, serialized, plan_layers, logger)
    if mapping is not None:
        layers["plan_mapping"] = mapping
    layers["builder_messages"] = logger.messages[-200:]
    sidecar = make_sidecar(tensorrt_version, device, precision, onnx_path,
                           sha256_file(onnx_path), dict(settings.to_dict(),
                                                        strategy=strategy.to_dict()),
                           layers, time.time() - started, source_info)
    write_sidecar(engine_path, sidecar)
    del parser
    return sidecar


def engine_path_for(folder, precision):
    # type: (str, str) -> str
    return os.path.join(folder, artifacts.engine_file(precision))


def build_in_folder(folder, settings, source_info=None):
    # type: (str, EngineSettings, Optional[Dict[str, Any]]) -> Dict[str, Any]
    """Build model.<precision>.engine in an edgec build folder or unpacked bundle, for the GPU
    and TensorRT of this host. Raises EdgecError when TensorRT is absent."""
    from edgec.runtime import cuda
    from edgec.runtime.trt_detect import tensorrt_version

    version = tensorrt_version()
    if version is None:
        raise EdgecError("TensorRT is not installed on this host, so no engine was built from "
                         "%s. Build on the Jetson (or in the L4T container), where TensorRT is "
                         "present: edgec build --bundle BUNDLE.tar.gz" % folder)
    device = cuda.device_info()
    return build_engine(folder, settings.precision, engine_path_for(folder, settings.precision),
                        settings, device, version, source_info)
