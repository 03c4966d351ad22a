"""Activation statistics with PyTorch, on the GPU where one is present: the same tensors, the
same two passes (range, then a 2048-bin |x| histogram over it, binned by the same formula) and
the same record as calibration.ort_observer's ONNX Runtime path, which runs on the CPU only.

Why: on LivePortrait's SPADE decoder (445 GMACs a frame) the two ONNX Runtime passes over a few
hundred samples take longer than the whole sweep should.

The ONNX graph's tensors are named by the exporter, so each float tensor is paired with the
PyTorch value it equals: matched by shape and value on a probe batch run through both (ONNX
Runtime once, on the probe alone). Tensors without a PyTorch counterpart (the inner steps of
an op the exporter decomposed: GELU's erf, a Linear's product before its bias, a grid sample's
index arithmetic) are computed from their nearest paired tensors by the ONNX subgraph that
makes them, in ONNX Runtime on the CPU, batch by batch: only those nodes run there, and the
record says how many.
"""
from typing import Dict, List, Optional, Sequence, Set, Tuple

import numpy as np
import onnx
import torch
from torch import fx

from edgec.quant.calibration.ort_observer import HIST_BINS, ActivationObserver, float_tensors

PROBE_SAMPLES = 1
# What one batch may hold at once: on the GPU (measured on the probe), and on the host (the
# remainder's tensors). LivePortrait's warping module holds 1.8 GB a sample on the host.
DEVICE_MEMORY_BUDGET = 8 << 30
HOST_MEMORY_BUDGET = 4 << 30
# Paired when the largest difference is within this share of the tensor's largest magnitude:
# float32 PyTorch (TF32 off) and ONNX Runtime differ by about 1e-6 of it on the zoo's models.
MATCH_TOLERANCE = 1e-3


class _Recorder(fx.Interpreter):
    """Runs the traced model and hands every wanted node's value to `sink` as it is made (the
    interpreter frees values after their last use, so memory stays the model's own)."""

    def __init__(self, module: fx.GraphModule, wanted: Set[str], sink):
        super().__init__(module)
        self.wanted = wanted
        self.sink = sink

    def run_node(self, node):
        value = super().run_node(node)
        if node.name in self.wanted and isinstance(value, torch.Tensor):
            self.sink(node.name, value)
        return value


def cuda_peak_bytes(run) -> int:
    """Runs run() on the GPU; the most bytes it held beyond what was allocated before."""
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    run()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - before


def traced_model(entry, checkpoint: Optional[str] = None) -> fx.GraphModule:
    """The model as exported (variants applied, BatchNorm folded), traced."""
    from edgec.exporter.fold import fold_batchnorm
    from edgec.exporter.variants import build_export_model

    return fx.symbolic_trace(fold_batchnorm(build_export_model(entry, checkpoint))).eval()


FINGERPRINT_POINTS = 256


def fingerprint(value) -> Tuple[Tuple[int, ...], float, np.ndarray]:
    """(shape, largest magnitude, values at fixed positions): enough to pair two tensors
    without holding a probe's every activation (SPADE's would be gigabytes)."""
    if isinstance(value, torch.Tensor):
        flat = value.detach().reshape(-1)
        positions = torch.from_numpy(_positions(flat.numel())).to(flat.device)
        return (tuple(value.shape), float(flat.abs().max()) if flat.numel() else 0.0,
                flat[positions].cpu().numpy().astype(np.float64))
    flat = np.asarray(value).reshape(-1)
    return (tuple(value.shape), float(np.abs(flat).max()) if flat.size else 0.0,
            flat[_positions(flat.size)].astype(np.float64))


def _positions(count: int) -> np.ndarray:
    if count <= FINGERPRINT_POINTS:
        return np.arange(count)
    return np.random.default_rng(count).choice(count, FINGERPRINT_POINTS, replace=False)


def pair_tensors(onnx_prints: Dict[str, tuple], torch_prints: Dict[str, tuple]
                 ) -> Dict[str, str]:
    """ONNX tensor name -> the fx node whose probe value matches it: the same shape, and the
    largest magnitude and the sampled values within MATCH_TOLERANCE of that magnitude (the
    closest wins)."""
    by_shape = {}  # type: Dict[Tuple[int, ...], List[str]]
    for node, (shape, _, _) in torch_prints.items():
        by_shape.setdefault(shape, []).append(node)
    pairs = {}
    for name, (shape, absmax, points) in onnx_prints.items():
        bound = MATCH_TOLERANCE * max(absmax, 1e-12)
        best = None  # type: Optional[Tuple[float, str]]
        for node in by_shape.get(shape, []):
            _, other_max, other_points = torch_prints[node]
            error = max(abs(other_max - absmax),
                        float(np.abs(other_points - points).max()) if points.size else 0.0)
            if error <= bound and (best is None or error < best[0]):
                best = (error, node)
        if best is not None:
            pairs[name] = best[1]
    return pairs


def remainder_graph(model: onnx.ModelProto, wanted: Sequence[str], available: Set[str]
                    ) -> Tuple[Optional[onnx.ModelProto], List[str]]:
    """The ONNX nodes that compute `wanted` from the `available` tensors (paired ones and graph
    inputs) and the initializers, as a model of its own; and its inputs, in graph order."""
    if not wanted:
        return None, []
    producer = {out: node for node in model.graph.node for out in node.output}
    inits = {t.name for t in model.graph.initializer}
    needed = set()  # type: Set[int]
    inputs = set()  # type: Set[str]
    stack = list(wanted)
    seen = set()  # type: Set[str]
    while stack:
        name = stack.pop()
        if name in seen or not name:
            continue
        seen.add(name)
        if name in inits:
            continue
        if name in available and name not in wanted:
            inputs.add(name)
            continue
        node = producer.get(name)
        if node is None:  # a graph input not paired: it is always given
            inputs.add(name)
            continue
        if id(node) not in needed:
            needed.add(id(node))
            stack.extend(node.input)
            for attribute in node.attribute:  # subgraphs (If, Loop) read outer tensors too
                if attribute.type == onnx.AttributeProto.GRAPH:
                    stack.extend(i for n in attribute.g.node for i in n.input)
    nodes = [n for n in model.graph.node if id(n) in needed]
    used = {i for n in nodes for i in n.input}
    order = [n for n in [i.name for i in model.graph.input] + [o for n in model.graph.node
                                                                for o in n.output]
             if n in inputs]
    given = {i.name: i for i in model.graph.input}
    graph = onnx.helper.make_graph(
        nodes, "edgec_observer_remainder",
        [given[n] if n in given else
         onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in order],
        [onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in wanted],
        [t for t in model.graph.initializer if t.name in used])
    sub = onnx.helper.make_model(graph, opset_imports=list(model.opset_import))
    sub.ir_version = model.ir_version
    return sub, order


class _Stats(object):
    """Running min/max, then the |x| histogram, of one tensor (on the device of its values)."""

    def __init__(self):
        self.lo = float("inf")
        self.hi = float("-inf")
        self.absmax = 0.0
        self.hist = None  # type: Optional[object]
        self.lo_t = None  # type: Optional[torch.Tensor]
        self.hi_t = None  # type: Optional[torch.Tensor]

    def add_range(self, value) -> None:
        if isinstance(value, np.ndarray):
            lo, hi = float(value.min()), float(value.max())
            self.lo, self.hi = min(self.lo, lo), max(self.hi, hi)
            return
        # Kept on the device: no synchronisation per tensor and batch.
        lo, hi = torch.aminmax(value.detach())
        self.lo_t = lo if self.lo_t is None else torch.minimum(self.lo_t, lo)
        self.hi_t = hi if self.hi_t is None else torch.maximum(self.hi_t, hi)

    def finish_range(self) -> None:
        if self.lo_t is not None:
            self.lo = min(self.lo, float(self.lo_t))
            self.hi = max(self.hi, float(self.hi_t))
        self.absmax = max(abs(self.lo), abs(self.hi))

    def add_histogram(self, value) -> None:
        if self.absmax <= 0:
            return
        # float32 |x| times a Python float, truncated: ort_observer's formula, so equal
        # values fall in equal bins on either path.
        if isinstance(value, np.ndarray):
            scaled = np.abs(value.ravel()) * (HIST_BINS / self.absmax)
            counts = np.bincount(np.minimum(scaled.astype(np.int64), HIST_BINS - 1),
                                 minlength=HIST_BINS)
        else:
            scaled = value.detach().reshape(-1).abs() * (HIST_BINS / self.absmax)
            counts = torch.bincount(scaled.long().clamp_(max=HIST_BINS - 1), minlength=HIST_BINS)
        self.hist = counts if self.hist is None else self.hist + counts

    def record(self) -> Dict[str, object]:
        if self.hist is None:
            hist = [0] * HIST_BINS
        elif isinstance(self.hist, np.ndarray):
            hist = self.hist.tolist()
        else:
            hist = self.hist.cpu().tolist()
        return {"min": self.lo, "max": self.hi, "absmax": self.absmax, "histogram": hist}


class TorchActivationObserver(object):
    """ort_observer.ActivationObserver's interface (`names`, `collect`) over the PyTorch
    model on `device`; `description()` says what ran where."""

    def __init__(self, model: onnx.ModelProto, entry, checkpoint: Optional[str], store,
                 indices, device: str = "cuda", budget: int = DEVICE_MEMORY_BUDGET,
                 host_budget: int = HOST_MEMORY_BUDGET):
        self.names = float_tensors(model)
        self.input_names = [i.name for i in model.graph.input]
        self.torch_inputs = [i.name for i in entry.inputs]
        self.device = device
        self.budget = budget
        self.host_budget = host_budget
        self.module = traced_model(entry, checkpoint).to(device)
        self._pair(model, store, indices)

    def _run(self, batch: Dict[str, np.ndarray], wanted: Set[str], sink) -> None:
        args = [torch.from_numpy(np.ascontiguousarray(batch[n])).to(self.device)
                for n in self.torch_inputs]
        with torch.no_grad():
            _Recorder(self.module, wanted, sink).run(*args)

    def _pair(self, model: onnx.ModelProto, store, indices) -> None:
        probe = store.get(np.asarray(indices)[:PROBE_SAMPLES])
        count = len(next(iter(probe.values())))
        inputs = set(self.input_names)
        observed = set(self.names) - inputs
        onnx_prints, sizes = {}, {}
        for name, value in ActivationObserver(model)._values(probe):
            sizes[name] = value.nbytes / float(count)
            if name in observed:
                onnx_prints[name] = fingerprint(value)
        torch_prints = {}

        def keep(name, value):
            if value.dtype == torch.float32:
                torch_prints[name] = fingerprint(value)
        nodes = {n.name for n in self.module.graph.nodes}
        per_sample = None
        if self.device == "cuda":
            per_sample = cuda_peak_bytes(lambda: self._run(probe, nodes, keep)) / float(count)
        else:
            self._run(probe, nodes, keep)
        self.pairs = pair_tensors(onnx_prints, torch_prints)
        self.unpaired = [n for n in self.names if n not in self.pairs and n not in inputs]
        self.readers = {}  # type: Dict[str, List[str]]  # fx node -> the ONNX tensors it is
        for name, node in self.pairs.items():
            self.readers.setdefault(node, []).append(name)
        self.remainder, self.remainder_inputs = remainder_graph(
            model, self.unpaired, set(self.pairs) | inputs)
        self.session = None
        if self.remainder is not None:
            from edgec.runtime.ort_backend import OnnxRuntimeRunner

            self.session = OnnxRuntimeRunner(self.remainder.SerializeToString())
            self.session.activate()
        # Bytes a sample holds at once: measured on the GPU; on the CPU, every float tensor
        # alive at once (an upper bound). The remainder's inputs and outputs are host memory.
        self.host_bytes = max(sum(sizes.get(n, 0) for n in self.remainder_inputs
                                  + self.unpaired), 1.0)
        self.sample_bytes = max(per_sample or sum(sizes.values()), 1.0)
        if self.device != "cuda":
            self.sample_bytes = max(self.sample_bytes, self.host_bytes)

    def batch_size_for(self, requested: int) -> int:
        return max(1, min(requested, int(self.budget // self.sample_bytes),
                          int(self.host_budget // self.host_bytes)))

    def description(self) -> Dict[str, object]:
        return {"backend": "pytorch", "device": self.device,
                "tensors": len(self.names), "paired_with_pytorch": len(self.pairs),
                "onnx_runtime_remainder": {"tensors": len(self.unpaired),
                                           "nodes": len(self.remainder.graph.node)
                                           if self.remainder is not None else 0,
                                           "device": "cpu"},
                "match_tolerance": MATCH_TOLERANCE, "probe_samples": PROBE_SAMPLES,
                "memory_budget_bytes": {"device": self.budget, "host": self.host_budget},
                "bytes_per_sample": {"device": int(self.sample_bytes),
                                     "host": int(self.host_bytes)}}

    def _values(self, batch: Dict[str, np.ndarray], use) -> None:
        """use(name, value) for every observed tensor of the batch."""
        for name in self.input_names:
            if name in batch and name in self.stats:
                use(name, torch.from_numpy(np.ascontiguousarray(batch[name])).to(self.device))
        readers = self.readers
        frontier = {}  # type: Dict[str, np.ndarray]
        wanted_for_remainder = set(self.remainder_inputs)

        def sink(node, value):
            for name in readers.get(node, ()):
                use(name, value)
                if name in wanted_for_remainder:
                    frontier[name] = value.detach().cpu().numpy()
        self._run(batch, set(readers), sink)
        if self.session is not None:
            feed = {n: (frontier[n] if n in frontier else batch[n])
                    for n in self.remainder_inputs}
            outputs = self.session.session.run(self.unpaired, feed)
            for name, value in zip(self.unpaired, outputs):
                use(name, value)

    def collect(self, store, indices, batch_size: int = 64, progress: bool = True
                ) -> Dict[str, Dict[str, object]]:
        from edgec.progress import progress_bar

        batch_size = self.batch_size_for(batch_size)
        self.stats = {n: _Stats() for n in self.names}
        n_batches = (len(indices) + batch_size - 1) // batch_size
        with progress_bar(2 * n_batches, "activation statistics (PyTorch, %s)" % self.device,
                          "batch", progress) as bar:
            for batch in store.batches(indices, batch_size):
                self._values(batch, lambda name, value: self.stats[name].add_range(value))
                bar.update(1)
            for stats in self.stats.values():
                stats.finish_range()
            for batch in store.batches(indices, batch_size):
                self._values(batch, lambda name, value: self.stats[name].add_histogram(value))
                bar.update(1)
        return {n: s.record() for n, s in self.stats.items()}
