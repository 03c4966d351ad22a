"""TensorRT backend: load an engine, check its sidecar, allocate device buffers, run.

How tensors are bound differs by API generation, so each generation has one IO class, chosen
once from `versions.ApiPaths`: `BindingsIO` (TensorRT 8.2/8.4: binding indices,
execute_async_v2) and `NamedTensorIO` (8.5+: tensor names, set_tensor_address,
execute_async_v3). The runner itself (the base class checks every feed) is the same for both.
CUDA memory, streams and events through `edgec.runtime.cuda` (ctypes on libcudart). Python 3.6
compatible; no torch, no onnx.

Executed against a real TensorRT: never (none on the machines edgec is developed on); the tests
run it against per-version doubles of the TensorRT module. The CUDA layer it uses is exercised
on a GPU by benchmarks/cuda_runtime_check.py.
"""
import os
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple  # noqa: F401

import numpy as np

from edgec.errors import EdgecError
from edgec.runtime import cuda
from edgec.runtime.runner import Runner, TensorInfo
from edgec.runtime.trt.sidecar import check_compatible, read_sidecar
from edgec.runtime.trt.versions import ApiPaths, dims_tuple

if TYPE_CHECKING:  # the real API's types for mypy; imported lazily at run time
    import tensorrt as trt  # noqa: F401,F811

_DTYPES = {"FLOAT": "float32", "HALF": "float16", "INT8": "int8", "INT32": "int32",
           "INT64": "int64", "BOOL": "bool", "UINT8": "uint8"}


def _dtype_name(trt_dtype):
    # type: (Any) -> str
    key = str(trt_dtype).split(".")[-1]
    if key not in _DTYPES:
        raise EdgecError("engine tensor type %s is not supported by the edgec runtime" % key)
    return _DTYPES[key]


IoRow = Tuple[str, bool, str, Tuple[int, ...]]  # name, is input, dtype, shape at the batch


class NamedTensorIO(object):
    """TensorRT 8.5+: IO tensors by name; device addresses set once, execute_async_v3."""

    def __init__(self, engine, context, engine_path):
        # type: (trt.ICudaEngine, trt.IExecutionContext, str) -> None
        self.engine = engine
        self.context = context
        self.engine_path = engine_path

    def bind_shapes(self, batch):
        # type: (int) -> List[IoRow]
        import tensorrt as trt

        engine = self.engine
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        for name in inputs:
            shape = _at_batch(dims_tuple(engine.get_tensor_shape(name)), batch)
            if not self.context.set_input_shape(name, shape):
                raise _outside_profile(self.engine_path, batch)
        return [(name, name in inputs, _dtype_name(engine.get_tensor_dtype(name)),
                 dims_tuple(self.context.get_tensor_shape(name))) for name in names]

    def attach(self, rows, device):
        # type: (List[IoRow], Dict[str, Any]) -> None
        for name, _, _, _ in rows:
            self.context.set_tensor_address(name, device[name].ptr)

    def enqueue(self, rows, device, stream_handle):
        # type: (List[IoRow], Dict[str, Any], int) -> bool
        return bool(self.context.execute_async_v3(stream_handle))


class BindingsIO(object):
    """TensorRT 8.2/8.4: IO tensors by binding index; a pointer list per execute_async_v2.
    Removed in 10, so absent from the 10.13 stubs mypy reads: the engine and context are
    untyped here, and the 8.2 double (tests/trt_api) checks every name instead."""

    def __init__(self, engine, context, engine_path):
        # type: (Any, Any, str) -> None
        self.engine = engine
        self.context = context
        self.engine_path = engine_path

    def bind_shapes(self, batch):
        # type: (int) -> List[IoRow]
        engine, context = self.engine, self.context
        count = engine.num_bindings
        for index in range(count):
            if engine.binding_is_input(index):
                shape = _at_batch(dims_tuple(engine.get_binding_shape(index)), batch)
                if not context.set_binding_shape(index, shape):
                    raise _outside_profile(self.engine_path, batch)
        return [(engine.get_binding_name(index), bool(engine.binding_is_input(index)),
                 _dtype_name(engine.get_binding_dtype(index)),
                 dims_tuple(context.get_binding_shape(index))) for index in range(count)]

    def attach(self, rows, device):
        # type: (List[IoRow], Dict[str, Any]) -> None
        pass  # bindings travel with every enqueue

    def enqueue(self, rows, device, stream_handle):
        # type: (List[IoRow], Dict[str, Any], int) -> bool
        bindings = [device[name].ptr for name, _, _, _ in rows]
        return bool(self.context.execute_async_v2(bindings=bindings,
                                                  stream_handle=stream_handle))


def io_for(paths):
    # type: (ApiPaths) -> Any
    """The IO class of this TensorRT version's API generation."""
    return NamedTensorIO if paths.execution == "tensor_address_v3" else BindingsIO


def _at_batch(shape, batch):
    # type: (Tuple[int, ...], int) -> Tuple[int, ...]
    return (batch,) + shape[1:] if shape and shape[0] < 0 else shape


def _outside_profile(engine_path, batch):
    # type: (str, int) -> EdgecError
    return EdgecError("engine %s: batch %d is outside its optimization profile"
                      % (engine_path, batch))


class TensorRTRunner(Runner):
    backend = "tensorrt"

    def __init__(self, engine_path, batch=1, check_device=True):
        # type: (str, int, bool) -> None
        super(TensorRTRunner, self).__init__()
        self.engine_path = engine_path
        self.batch = batch
        self.check_device = check_device
        self.warnings = []  # type: List[str]
        self.sidecar = None  # type: Optional[Dict[str, Any]]
        self._io = []  # type: List[IoRow]
        self._device = {}  # type: Dict[str, Any]
        self._host = {}  # type: Dict[str, Any]

    def label(self):
        # type: () -> str
        return "engine %s" % self.engine_path

    def activate(self):
        # type: () -> None
        import tensorrt as trt

        if not os.path.isfile(self.engine_path):
            raise EdgecError("engine %s: no such file" % self.engine_path)
        self.paths = ApiPaths(trt.__version__)
        self.device_info = cuda.device_info()
        self.sidecar = read_sidecar(self.engine_path)
        if self.sidecar is None:
            self.warnings.append("engine %s has no sidecar JSON: what it was built for cannot be "
                                 "checked" % self.engine_path)
        elif self.check_device:
            self.warnings += check_compatible(self.engine_path, self.sidecar, trt.__version__,
                                              self.device_info)
        free_before, _ = cuda.memory_info()
        self.logger = trt.Logger(trt.Logger.WARNING)
        trt.init_libnvinfer_plugins(self.logger, "")  # engines may use bundled plugins
        self.runtime = trt.Runtime(self.logger)
        with open(self.engine_path, "rb") as handle:
            self.engine = self.runtime.deserialize_cuda_engine(handle.read())
        if self.engine is None:
            raise EdgecError("TensorRT %s cannot load engine %s (damaged, or built by another "
                             "TensorRT version)" % (trt.__version__, self.engine_path))
        self.context = self.engine.create_execution_context()
        self.stream = cuda.Stream()
        self._events = [cuda.Event() for _ in range(4)]
        self.io = io_for(self.paths)(self.engine, self.context, self.engine_path)
        self._io = self.io.bind_shapes(self.batch)
        for name, is_input, dtype, shape in self._io:
            host = cuda.PinnedArray(shape, dtype)
            self._host[name] = host
            self._device[name] = cuda.DeviceBuffer(host.nbytes)
        self.io.attach(self._io, self._device)
        free_after, _ = cuda.memory_info()
        self.device_memory_bytes = max(free_before - free_after, 0)
        self.active = True

    def inputs(self):
        # type: () -> List[TensorInfo]
        return [TensorInfo(n, s, d) for n, is_in, d, s in self._io if is_in]

    def outputs(self):
        # type: () -> List[TensorInfo]
        return [TensorInfo(n, s, d) for n, is_in, d, s in self._io if not is_in]

    def _timed_infer(self, feed):
        # type: (Dict[str, np.ndarray]) -> Tuple[float, Optional[float]]
        """(end-to-end ms incl. host<->device copies, compute-only ms), from CUDA events on the
        stream, read after the stream has finished. The base class has checked the feed."""
        for name, is_input, _, _ in self._io:
            if is_input:
                self._host[name].array[...] = feed[name]
        start, computed_from, computed_to, end = self._events
        start.record(self.stream)
        for name, is_input, _, _ in self._io:
            if is_input:
                self.stream.copy_to_device(self._device[name], self._host[name])
        computed_from.record(self.stream)
        if not self.io.enqueue(self._io, self._device, self.stream.handle):
            raise EdgecError("TensorRT failed to enqueue engine %s" % self.engine_path)
        computed_to.record(self.stream)
        for name, is_input, _, _ in self._io:
            if not is_input:
                self.stream.copy_to_host(self._host[name], self._device[name])
        end.record(self.stream)
        end.synchronize()
        return end.elapsed_ms(start), computed_to.elapsed_ms(computed_from)

    def _infer(self, feed):
        # type: (Dict[str, np.ndarray]) -> Dict[str, np.ndarray]
        self._timed_infer(feed)
        return {name: np.array(self._host[name].array)
                for name, is_input, _, _ in self._io if not is_input}

    def profile_layers(self, feed, runs):
        # type: (Dict[str, np.ndarray], int) -> Tuple[List[Dict[str, Any]], List[str]]
        """Per-engine-layer times over `runs` enqueues, from TensorRT's IProfiler (enqueue
        reports each layer's time when a profiler is attached: enqueue_emits_profile defaults
        to True on 8.2+), with each layer's precision from the engine inspector where the
        engine was built with detailed profiling verbosity. Run after the timed runs: the
        profiler slows every enqueue. Returns (rows, notes)."""
        import tensorrt as trt

        from edgec.runtime.layer_profile import LayerTimes
        from edgec.runtime.trt import layers as trt_layers

        times = LayerTimes()

        class _Profiler(trt.IProfiler):
            def __init__(self):
                # type: () -> None
                trt.IProfiler.__init__(self)

            def report_layer_time(self, layer_name, ms):
                # type: (str, float) -> None
                times.add(layer_name, ms)

        notes = []  # type: List[str]
        precisions = {}  # type: Dict[str, Optional[str]]
        types = {}  # type: Dict[str, str]
        if self.paths.engine_inspector:
            inspector = self.engine.create_engine_inspector()
            rows = trt_layers.engine_layer_precisions(
                inspector.get_engine_information(trt.LayerInformationFormat.JSON))
            precisions = {r["name"]: r["precision"] for r in rows}
            types = {r["name"]: r["type"] for r in rows}
            if not rows:
                notes.append("the engine inspector reported no layers (engine built without "
                             "detailed profiling verbosity): layer precisions are the "
                             "engine's precision, assumed")
        profiler = _Profiler()
        self.context.profiler = profiler
        for _ in range(runs):
            self._timed_infer(feed)
        if not times.order:
            raise EdgecError("TensorRT reported no layer times for engine %s while profiling"
                             % self.engine_path)
        return times.rows(precisions, types), notes

    def deactivate(self):
        # type: () -> None
        for buffer in list(self._device.values()) + list(self._host.values()):
            buffer.free()
        self._device, self._host = {}, {}
        for event in getattr(self, "_events", []):
            event.destroy()
        if getattr(self, "stream", None) is not None:
            self.stream.destroy()
        # Dropping the references frees TensorRT's objects (pybind ownership).
        self.context = None  # type: ignore[assignment]
        self.engine = None  # type: ignore[assignment]
        self.active = False

    def describe(self):
        # type: () -> Dict[str, Any]
        return {"backend": self.backend, "version": self.paths.version,
                "api": self.paths.to_dict(), "device": self.device_info,
                "engine": os.path.basename(self.engine_path), "sidecar": self.sidecar,
                "device_memory_bytes": self.device_memory_bytes, "warnings": self.warnings}
