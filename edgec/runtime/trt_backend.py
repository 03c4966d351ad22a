"""TensorRT backend: load an engine, check its sidecar, allocate device buffers, run.

Named-tensor execution (execute_async_v3) on TensorRT 8.5+, bindings (execute_async_v2) on 8.2,
chosen by `trt_versions.ApiPaths`. CUDA memory, streams and events through `edgec.runtime.cuda`
(ctypes on libcudart). Python 3.6 compatible; no torch, no onnx.

Executed: never (no TensorRT on the machines edgec is developed on). The CUDA layer it uses is
exercised on a GPU by benchmarks/cuda_runtime_check.py.
"""
import os
from typing import Any, Dict, List, Optional, Tuple  # noqa: F401

import numpy as np

from edgec.errors import EdgecError
from edgec.runtime import cuda
from edgec.runtime.runner import Runner, TensorInfo
from edgec.runtime.sidecar import check_compatible, read_sidecar
from edgec.runtime.trt_versions import ApiPaths, dims_tuple

_DTYPES = {"FLOAT": "float32", "HALF": "float16", "INT8": "int8", "INT32": "int32",
           "INT64": "int64", "BOOL": "bool", "UINT8": "uint8"}


def _dtype_name(trt_dtype):
    # type: (Any) -> str
    key = str(trt_dtype).split(".")[-1]
    if key not in _DTYPES:
        raise EdgecError("engine tensor type %s is not supported by the edgec runtime" % key)
    return _DTYPES[key]


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
        self._io = []  # type: List[Tuple[str, bool, str, Tuple[int, ...]]]
        self._device = {}  # type: Dict[str, Any]
        self._host = {}  # type: Dict[str, Any]

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
        self._io = self._bind_shapes()
        for name, is_input, dtype, shape in self._io:
            host = cuda.PinnedArray(shape, dtype)
            self._host[name] = host
            self._device[name] = cuda.DeviceBuffer(host.nbytes)
        if self.paths.execution == "tensor_address_v3":
            for name, _, _, _ in self._io:
                self.context.set_tensor_address(name, self._device[name].ptr)
        free_after, _ = cuda.memory_info()
        self.device_memory_bytes = max(free_before - free_after, 0)
        self.active = True

    def _bind_shapes(self):
        # type: () -> List[Tuple[str, bool, str, Tuple[int, ...]]]
        """(name, is_input, dtype, shape at self.batch) per IO tensor, input shapes set."""
        import tensorrt as trt

        rows = []  # type: List[Tuple[str, bool, str, Tuple[int, ...]]]
        if self.paths.execution == "tensor_address_v3":
            names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
            for name in names:
                if self.engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT:
                    shape = dims_tuple(self.engine.get_tensor_shape(name))
                    if shape[0] < 0:
                        shape = (self.batch,) + shape[1:]
                    if not self.context.set_input_shape(name, shape):
                        raise EdgecError("engine %s: batch %d is outside its optimization "
                                         "profile" % (self.engine_path, self.batch))
            for name in names:
                is_input = self.engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
                rows.append((name, is_input, _dtype_name(self.engine.get_tensor_dtype(name)),
                             dims_tuple(self.context.get_tensor_shape(name))))
            return rows
        # TensorRT 8.2: bindings API (removed in 10, absent from the 10.13 stubs).
        engine = self.engine
        count = engine.num_bindings  # type: ignore[attr-defined]  # TensorRT 8.x only
        for index in range(count):
            if engine.binding_is_input(index):  # type: ignore[attr-defined]  # 8.x only
                shape = dims_tuple(engine.get_binding_shape(index))  # type: ignore[attr-defined]
                if shape[0] < 0:
                    shape = (self.batch,) + shape[1:]
                if not self.context.set_binding_shape(index, shape):  # type: ignore[attr-defined]
                    raise EdgecError("engine %s: batch %d is outside its optimization profile"
                                     % (self.engine_path, self.batch))
        for index in range(count):
            rows.append((engine.get_binding_name(index),  # type: ignore[attr-defined]  # 8.x
                         bool(engine.binding_is_input(index)),  # type: ignore[attr-defined]
                         _dtype_name(engine.get_binding_dtype(index)),  # type: ignore[attr-defined]  # noqa: E501
                         dims_tuple(self.context.get_binding_shape(index))))  # type: ignore[attr-defined]  # noqa: E501
        return rows

    def inputs(self):
        # type: () -> List[TensorInfo]
        return [TensorInfo(n, s, d) for n, is_in, d, s in self._io if is_in]

    def outputs(self):
        # type: () -> List[TensorInfo]
        return [TensorInfo(n, s, d) for n, is_in, d, s in self._io if not is_in]

    def _enqueue(self):
        # type: () -> None
        if self.paths.execution == "tensor_address_v3":
            ok = self.context.execute_async_v3(self.stream.handle)
        else:
            bindings = [self._device[name].ptr for name, _, _, _ in self._io]
            ok = self.context.execute_async_v2(  # type: ignore[attr-defined]  # 8.x only
                bindings=bindings, stream_handle=self.stream.handle)
        if not ok:
            raise EdgecError("TensorRT failed to enqueue engine %s" % self.engine_path)

    def _stage_inputs(self, feed):
        # type: (Dict[str, np.ndarray]) -> None
        for name, is_input, _, shape in self._io:
            if not is_input:
                continue
            if name not in feed:
                raise EdgecError("engine %s needs input %r" % (self.engine_path, name))
            value = feed[name]
            if tuple(value.shape) != shape:
                raise EdgecError("input %r has shape %s; engine %s was set up for %s"
                                 % (name, tuple(value.shape), self.engine_path, shape))
            self._host[name].array[...] = value

    def timed_infer(self, feed):
        # type: (Dict[str, np.ndarray]) -> Tuple[float, Optional[float]]
        """(end-to-end ms incl. host<->device copies, compute-only ms), from CUDA events on the
        stream, read after the stream has finished."""
        self._stage_inputs(feed)
        start, computed_from, computed_to, end = self._events
        start.record(self.stream)
        for name, is_input, _, _ in self._io:
            if is_input:
                self.stream.copy_to_device(self._device[name], self._host[name])
        computed_from.record(self.stream)
        self._enqueue()
        computed_to.record(self.stream)
        for name, is_input, _, _ in self._io:
            if not is_input:
                self.stream.copy_to_host(self._host[name], self._device[name])
        end.record(self.stream)
        end.synchronize()
        return end.elapsed_ms(start), computed_to.elapsed_ms(computed_from)

    def infer(self, feed):
        # type: (Dict[str, np.ndarray]) -> Dict[str, np.ndarray]
        self.timed_infer(feed)
        return {name: np.array(self._host[name].array)
                for name, is_input, _, _ in self._io if not is_input}

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
