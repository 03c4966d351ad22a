"""Activation statistics of an FP32 ONNX model over calibration samples, with ONNX Runtime.

Every float tensor of the graph (graph inputs and node outputs) is observed, so the TensorRT
cache covers the whole network. Two passes over the sample store: the first finds each tensor's
range, the second fills a fixed-range histogram of |x| (what entropy and percentile calibration
need). Memory stays bounded: one batch of activations at a time.
"""
from typing import Dict, List

import numpy as np
import onnx
from onnx import shape_inference

HIST_BINS = 2048


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


class ActivationObserver(object):
    def __init__(self, model: onnx.ModelProto, threads: int = 0):
        from edgec.runtime.ort_backend import OnnxRuntimeRunner

        self.names = float_tensors(model)
        self.input_names = [i.name for i in model.graph.input]
        self.runner = OnnxRuntimeRunner(_with_outputs(model, self.names), threads=threads or None)
        self.runner.activate()

    def _values(self, batch: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        feed = {k: v for k, v in batch.items() if k in self.input_names}
        out = self.runner.infer(feed)
        out.update({k: v for k, v in feed.items()})
        return out

    def collect(self, store, indices, batch_size: int = 64, progress: bool = True
                ) -> Dict[str, Dict[str, object]]:
        from edgec.progress import progress_bar

        lo = {n: np.inf for n in self.names}
        hi = {n: -np.inf for n in self.names}
        n_batches = (len(indices) + batch_size - 1) // batch_size
        with progress_bar(2 * n_batches, "activation statistics", "batch", progress) as bar:
            for batch in store.batches(indices, batch_size):
                for name, value in self._values(batch).items():
                    if name in lo:
                        lo[name] = min(lo[name], float(value.min()))
                        hi[name] = max(hi[name], float(value.max()))
                bar.update(1)
            absmax = {n: max(abs(lo[n]), abs(hi[n])) for n in self.names}
            hists = {n: np.zeros(HIST_BINS, dtype=np.int64) for n in self.names}
            for batch in store.batches(indices, batch_size):
                for name, value in self._values(batch).items():
                    if name in hists and absmax[name] > 0:
                        scaled = np.abs(value.ravel()) * (HIST_BINS / absmax[name])
                        bins = np.minimum(scaled.astype(np.int64), HIST_BINS - 1)
                        hists[name] += np.bincount(bins, minlength=HIST_BINS)
                bar.update(1)
        return {n: {"min": lo[n], "max": hi[n], "absmax": absmax[n],
                    "histogram": hists[n].tolist()} for n in self.names}
