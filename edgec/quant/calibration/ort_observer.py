"""Activation statistics of an FP32 ONNX model over calibration samples, with ONNX Runtime.

Every float tensor of the graph (graph inputs and node outputs) is observed, so the TensorRT
cache covers the whole network. Two passes over the sample store: the first finds each tensor's
range, the second fills a fixed-range histogram of |x| (what entropy and percentile calibration
need). Memory stays bounded: the observed tensors of one run never exceed MEMORY_BUDGET
(the batch shrinks for large models, and models whose single sample exceeds it are observed
in groups of tensors, one run of the network per group).
"""
from typing import Dict, List

import numpy as np
import onnx
from onnx import shape_inference

HIST_BINS = 2048
MEMORY_BUDGET = 1 << 30  # bytes of observed activations held at once


def float_tensors(model: onnx.ModelProto) -> List[str]:
    """Names of every float32 tensor produced in the graph, in graph order, plus float inputs."""
    inferred = shape_inference.infer_shapes(model)
    types = {v.name: v.type.tensor_type.elem_type for v in
             list(inferred.graph.value_info) + list(inferred.graph.input)
             + list(inferred.graph.output)}
    inits = {t.name for t in model.graph.initializer}
    names = [i.name for i in model.graph.input if i.name not in inits]
    for node in model.graph.node:
        names.extend(o for o in node.output if o)
    return [n for n in names if types.get(n) == onnx.TensorProto.FLOAT]


def _with_outputs(model: onnx.ModelProto, names: List[str]) -> bytes:
    observed = onnx.ModelProto()
    observed.CopyFrom(model)
    existing = {o.name for o in observed.graph.output}
    inputs = {i.name for i in observed.graph.input}
    for name in names:
        if name not in existing and name not in inputs:
            observed.graph.output.append(onnx.helper.make_tensor_value_info(
                name, onnx.TensorProto.FLOAT, None))
    return observed.SerializeToString()


def plan_groups(sizes: Dict[str, int], names: List[str], budget: int) -> List[List[str]]:
    """Split tensors (bytes per sample) into consecutive groups of at most `budget` bytes."""
    groups = []  # type: List[List[str]]
    current, total = [], 0  # type: List[str], int
    for name in names:
        size = sizes.get(name, 0)
        if current and total + size > budget:
            groups.append(current)
            current, total = [], 0
        current.append(name)
        total += size
    if current:
        groups.append(current)
    return groups


class ActivationObserver(object):
    def __init__(self, model: onnx.ModelProto, threads: int = 0, budget: int = MEMORY_BUDGET):
        from edgec.exporter.onnx_layers import _static_shapes
        from edgec.runtime.ort_backend import OnnxRuntimeRunner

        self.names = float_tensors(model)
        self.input_names = [i.name for i in model.graph.input]
        shapes = _static_shapes(model, 1)
        self.sample_bytes = {n: 4 * int(np.prod(shapes[n])) for n in self.names if n in shapes}
        self.budget = budget
        self.groups = plan_groups(self.sample_bytes, self.names, budget)
        self.runner = OnnxRuntimeRunner(_with_outputs(model, self.names), threads=threads or None)
        self.runner.activate()

    def description(self) -> Dict[str, object]:
        return {"backend": "onnxruntime", "device": "cpu", "tensors": len(self.names)}

    def batch_size_for(self, requested: int) -> int:
        """The largest batch (up to `requested`) whose largest group fits the budget."""
        per_sample = max(sum(self.sample_bytes.get(n, 0) for n in g) for g in self.groups)
        return max(1, min(requested, self.budget // max(per_sample, 1)))

    def _values(self, batch: Dict[str, np.ndarray]):
        """(name, value) of every observed tensor, one group of outputs per network run."""
        feed = {k: v for k, v in batch.items() if k in self.input_names}
        for name, value in feed.items():
            yield name, value
        for group in self.groups:
            wanted = [n for n in group if n not in feed]
            if not wanted:
                continue
            values = self.runner.session.run(wanted, feed)
            for name, value in zip(wanted, values):
                yield name, value
            del values

    def collect(self, store, indices, batch_size: int = 64, progress: bool = True
                ) -> Dict[str, Dict[str, object]]:
        from edgec.progress import progress_bar

        batch_size = self.batch_size_for(batch_size)
        lo = {n: np.inf for n in self.names}
        hi = {n: -np.inf for n in self.names}
        n_batches = (len(indices) + batch_size - 1) // batch_size
        with progress_bar(2 * n_batches, "activation statistics", "batch", progress) as bar:
            for batch in store.batches(indices, batch_size):
                for name, value in self._values(batch):
                    if name in lo:
                        lo[name] = min(lo[name], float(value.min()))
                        hi[name] = max(hi[name], float(value.max()))
                bar.update(1)
            absmax = {n: max(abs(lo[n]), abs(hi[n])) for n in self.names}
            hists = {n: np.zeros(HIST_BINS, dtype=np.int64) for n in self.names}
            for batch in store.batches(indices, batch_size):
                for name, value in self._values(batch):
                    if name in hists and absmax[name] > 0:
                        scaled = np.abs(value.ravel()) * (HIST_BINS / absmax[name])
                        bins = np.minimum(scaled.astype(np.int64), HIST_BINS - 1)
                        hists[name] += np.bincount(bins, minlength=HIST_BINS)
                bar.update(1)
        return {n: {"min": lo[n], "max": hi[n], "absmax": absmax[n],
                    "histogram": hists[n].tolist()} for n in self.names}
