"""ONNX Runtime backend: runs the same ONNX / Q-DQ files everywhere (CPU here; CUDA or TensorRT
execution providers where installed). What the tests execute. Python 3.6 compatible."""
import os
from typing import Any, Dict, List, Optional, Tuple  # noqa: F401

import numpy as np  # noqa: F401  (type comments)

from edgec.errors import EdgecError
from edgec.runtime.runner import Runner, TensorInfo

_ORT_TYPES = {
    "tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
    "tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(int8)": "int8",
    "tensor(uint8)": "uint8", "tensor(bool)": "bool",
}


class OnnxRuntimeRunner(Runner):
    backend = "onnxruntime"

    def __init__(self, model, providers=None, threads=None, optimize=True, low_memory=False):
        # type: (Any, Optional[List[str]], Optional[int], bool, bool) -> None
        """`model`: a path or serialized ONNX bytes. `low_memory`: no pre-packed copies of
        the weights and no memory arena, for models of several GB (pre-packing keeps a second
        copy of every conv and MatMul weight)."""
        super(OnnxRuntimeRunner, self).__init__()
        self.model = model
        self.providers = providers or ["CPUExecutionProvider"]
        self.threads = threads
        self.optimize = optimize
        self.low_memory = low_memory
        self.session = None  # type: Any

    def activate(self):
        # type: () -> None
        try:
            import onnxruntime as ort
        except ImportError:
            raise EdgecError("the ONNX Runtime backend needs onnxruntime: pip install onnxruntime")
        options = self._options(ort)
        if not self.optimize:
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        source = self.model
        if isinstance(source, str) and not os.path.isfile(source):
            raise EdgecError("ONNX file %s: no such file" % source)
        try:
            self.session = ort.InferenceSession(source, options, providers=self.providers)
        except Exception as exc:  # ORT raises its own exception types per failure
            where = source if isinstance(source, str) else "<in-memory model>"
            raise EdgecError("ONNX Runtime cannot load %s: %s" % (where, str(exc).strip()))
        self.active = True

    def _options(self, ort):
        # type: (Any) -> Any
        """Session options every session of this runner shares (quiet, its thread count)."""
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if self.threads:
            options.intra_op_num_threads = self.threads
        if self.low_memory:
            options.enable_cpu_mem_arena = False
            options.add_session_config_entry("session.disable_prepacking", "1")
        return options

    def deactivate(self):
        # type: () -> None
        self.session = None
        self.active = False

    def _infos(self, values):
        # type: (Any) -> List[TensorInfo]
        return [TensorInfo(v.name, [d if isinstance(d, int) else -1 for d in v.shape],
                           _ORT_TYPES.get(v.type, v.type)) for v in values]

    def inputs(self):
        # type: () -> List[TensorInfo]
        return self._infos(self.session.get_inputs())

    def outputs(self):
        # type: () -> List[TensorInfo]
        return self._infos(self.session.get_outputs())

    def label(self):
        # type: () -> str
        return self.model if isinstance(self.model, str) else "the in-memory ONNX model"

    def _infer(self, feed):
        # type: (Dict[str, np.ndarray]) -> Dict[str, np.ndarray]
        names = [o.name for o in self.session.get_outputs()]
        values = self.session.run(names, feed)
        return dict(zip(names, values))

    def profile_layers(self, feed, runs):
        # type: (Dict[str, np.ndarray], int) -> Tuple[List[Dict[str, Any]], List[str]]
        """Per-node times over `runs` runs from ONNX Runtime's profiler, on a second session
        with profiling on (profiling is a session option); its trace file is read and removed.
        Returns (rows, notes)."""
        import json
        import shutil
        import tempfile

        import onnxruntime as ort

        from edgec.runtime.layer_profile import LayerTimes

        folder = tempfile.mkdtemp(prefix="edgec-ort-profile-")
        try:
            options = self._options(ort)
            options.enable_profiling = True
            options.profile_file_prefix = os.path.join(folder, "trace")
            # Basic optimizations only: the extended ones fuse and re-layout convolutions
            # under generated names ("..._nchwc"), which no edgec layer name matches.
            options.graph_optimization_level = (
                ort.GraphOptimizationLevel.ORT_ENABLE_BASIC if self.optimize
                else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
            session = ort.InferenceSession(self.model, options, providers=self.providers)
            names = [o.name for o in session.get_outputs()]
            for _ in range(runs):
                session.run(names, feed)
            with open(session.end_profiling()) as handle:
                events = json.load(handle)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        times = LayerTimes()
        types = {}  # type: Dict[str, str]
        for event in events:  # Chrome trace events; "dur" in microseconds
            name = str(event.get("name", ""))
            if event.get("cat") == "Node" and name.endswith("_kernel_time"):
                node = name[:-len("_kernel_time")]
                times.add(node, float(event.get("dur", 0)) / 1000.0)
                types[node] = str((event.get("args") or {}).get("op_name", ""))
        if not times.order:
            raise EdgecError("ONNX Runtime's profiler reported no node times for %s"
                             % self.label())
        return times.rows(None, types), ["ONNX Runtime node times (%s), basic graph "
                                         "optimizations" % ", ".join(self.providers)]

    def describe(self):
        # type: () -> Dict[str, Any]
        import onnxruntime as ort

        return {"backend": self.backend, "version": ort.__version__,
                "providers": self.session.get_providers() if self.session else self.providers,
                "threads": self.threads}
