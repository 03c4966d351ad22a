"""Which TensorRT API path each version takes, decided in one place from the version number.

Pure Python (no TensorRT import), so every decision is tested here without TensorRT. The
builder and the runner ask this module instead of probing attributes, which keeps a missing
attribute an error instead of a silent change of behaviour. Python 3.6 compatible.

Versions that matter: 8.2 (JetPack 4.6.1+), 8.5 (JetPack 5.1), 10 (workstations, JetPack 6),
11 (workstations; JetPack 7.2.2+ on Orin and Thor). The API surfaces of each are in
tests/trt_api (derived from the released bindings), and the tests run the builder and runner
against doubles made from them.
"""
import re
from typing import Any, Dict, List, Optional, Tuple  # noqa: F401

from edgec import artifacts
from edgec.errors import EdgecError

OLDEST_SUPPORTED = (8, 2)


def parse_version(text):
    # type: (str) -> Tuple[int, int, int]
    match = re.match(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    if not match:
        raise EdgecError("cannot read the TensorRT version %r" % text)
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def dims_tuple(dims):
    # type: (Any) -> Tuple[int, ...]
    """A TensorRT Dims as a tuple of ints (Dims indexes; its stubs declare no iteration)."""
    return tuple(int(dims[i]) for i in range(len(dims)))


class ApiPaths(object):
    """The API spelling one TensorRT version needs, as plain names."""

    def __init__(self, version):
        # type: (str) -> None
        self.version = version
        self.number = parse_version(version)
        if self.number[:2] < OLDEST_SUPPORTED:
            raise EdgecError("TensorRT %s is too old: edgec supports 8.2 (JetPack 4.6.1) and "
                             "newer" % version)
        major_minor = self.number[:2]
        # IBuilderConfig.set_memory_pool_limit appeared in 8.4; max_workspace_size before.
        self.workspace = "memory_pool_limit" if major_minor >= (8, 4) else "max_workspace_size"
        # Named-tensor execution (set_tensor_address, execute_async_v3) from 8.5; bindings
        # (execute_async_v2) before, removed in 10.
        self.execution = "tensor_address_v3" if major_minor >= (8, 5) else "bindings_v2"
        # Network creation flags. 8.x: explicit batch is a flag, precision comes from builder
        # flags. 10.x: strongly typed networks (every precision from the ONNX: Q/DQ, casts).
        # 11.x: strong typing is the only mode; EXPLICIT_BATCH is gone and STRONGLY_TYPED is
        # deprecated and ignored ("TensorRT 11.x removes all weak typing APIs": NVIDIA's
        # 10.x-to-11.x migration notes), so no flag is passed.
        self.strongly_typed = self.number[0] >= 10
        if self.number[0] < 10:
            self.network_flags = ["EXPLICIT_BATCH"]
        elif self.number[0] == 10:
            self.network_flags = ["STRONGLY_TYPED"]
        else:
            self.network_flags = []
        # BuilderFlag.FP16/INT8, the INT8 calibrator and per-layer precision (ILayer.precision,
        # set_output_type, OBEY_PRECISION_CONSTRAINTS) are weak-typing APIs: edgec uses them on
        # 8.x only; 11.x removed them.
        self.builder_precision_flags = not self.strongly_typed
        # IEngineInspector and ProfilingVerbosity.DETAILED exist from 8.2.
        self.engine_inspector = major_minor >= (8, 2)
        # OBEY_PRECISION_CONSTRAINTS replaced STRICT_TYPES in 8.2.
        self.precision_constraint_flag = "OBEY_PRECISION_CONSTRAINTS"
        # ICudaEngine.device_memory_size_v2 from 10.1; device_memory_size before (gone in 11).
        self.device_memory_attr = ("device_memory_size_v2" if major_minor >= (10, 1)
                                   else "device_memory_size")
        # Q/DQ weights of a ConvTranspose ([C_in, C_out/g, kH, kW]): TensorRT 8.x kernels take
        # per-input-channel scales (axis 0) only (TensorRT issues 1694, 2380); 8.x builds from
        # the FP32 ONNX and the calibration cache, so edgec's Q/DQ file never reaches it. The
        # Q/DQ file is for 10+, whose ONNX parser takes per-output-channel scales (axis 1) as
        # NVIDIA's ModelOpt ONNX quantizer writes them for TensorRT; `edgec selftest` builds a
        # ConvTranspose with C_in != C_out on the device to confirm it.
        self.deconv_weight_axis = 0 if self.number[0] < 10 else 1
        # DLA: TensorRT dropped it after 10.7 (JetPack 7.2's 10.16 has none) and 11.4.1 brings
        # it back, for AGX Orin on JetPack 7.2.2+ (../shared/REFERENCE.md section 6).
        self.dla = not ((10, 8, 0) <= self.number < (11, 4, 1))

    def calibration_cache_header(self):
        # type: () -> str
        """The header TensorRT writes for an EntropyCalibrator2 cache, which it also expects
        when reading one: TRT-<NV_TENSORRT_VERSION>-EntropyCalibration2."""
        major, minor, patch = self.number
        code = (major * 10000 if major >= 10 else major * 1000) + minor * 100 + patch
        return "TRT-%d-EntropyCalibration2" % code

    def to_dict(self):
        # type: () -> Dict[str, Any]
        return {"version": self.version, "workspace": self.workspace,
                "execution": self.execution, "network_flags": list(self.network_flags),
                "strongly_typed": self.strongly_typed,
                "engine_inspector": self.engine_inspector, "dla": self.dla}


class BuildStrategy(object):
    """How one precision is built on one TensorRT version: which ONNX file, which builder
    flags, whether a calibrator serves calib.cache, whether plan.json becomes per-layer
    precision constraints."""

    def __init__(self, paths, precision):
        # type: (ApiPaths, str) -> None
        if precision not in artifacts.PRECISIONS:
            raise EdgecError("unknown precision %r (expected one of %s)"
                             % (precision, ", ".join(artifacts.PRECISIONS)))
        self.paths = paths
        self.precision = precision
        self.flags = []  # type: List[str]
        self.calibrator = False
        self.layer_constraints = False
        self.network_flags = list(paths.network_flags)
        if paths.strongly_typed:
            # Every precision is in the file: Q/DQ for INT8 layers, FP16 weights and casts.
            self.onnx_file = artifacts.model_onnx(precision)
            return
        self.onnx_file = artifacts.MODEL_ONNX  # FP32 graph; precision comes from flags
        if precision in ("fp16", "int8", "mix"):
            # INT8 layers without an INT8 kernel fall back to FP16, not FP32.
            self.flags.append("FP16")
        if precision in ("int8", "mix"):
            self.flags.append("INT8")
            self.calibrator = True
        if precision == "mix":
            self.flags.append(paths.precision_constraint_flag)
            self.layer_constraints = True

    def needed_files(self):
        # type: () -> List[str]
        files = [self.onnx_file]
        if self.calibrator:
            files.append(artifacts.CALIB_CACHE)
        if self.layer_constraints:
            files.append(artifacts.PLAN_JSON)
        return files

    def to_dict(self):
        # type: () -> Dict[str, Any]
        return {"precision": self.precision, "onnx": self.onnx_file,
                "network_flags": list(self.network_flags), "builder_flags": list(self.flags),
                "calibrator": artifacts.CALIB_CACHE if self.calibrator else None,
                "layer_constraints": self.layer_constraints}


def dla_settings(core, precision, soc_has_dla=True, paths=None):
    # type: (Optional[int], str, bool, Optional[ApiPaths]) -> Optional[Dict[str, Any]]
    """DLA runs FP16 and INT8 only; GPU fallback is always on so unsupported layers run on the
    GPU instead of failing the build. `paths`: the installed TensorRT, which may have no DLA."""
    if core is None:
        return None
    if paths is not None and not paths.dla:
        raise EdgecError("--dla-core %d: TensorRT %s has no DLA support (NVIDIA removed it "
                         "after 10.7; 11.4.1 brings it back for AGX Orin on JetPack 7.2.2+); "
                         "build for the GPU, or on JetPack 6.x (TensorRT 10.3)"
                         % (core, paths.version))
    if not soc_has_dla:
        raise EdgecError("--dla-core %d: this device has no DLA (Xavier, AGX Orin and Orin NX "
                         "have one; Nano, TX2 and Orin Nano none)" % core)
    if precision == "fp32":
        raise EdgecError("--dla-core needs --precision fp16, int8 or mix: the DLA has no FP32")
    if core < 0:
        raise EdgecError("--dla-core must be 0 or 1, got %d" % core)
    return {"core": core, "gpu_fallback": True}
