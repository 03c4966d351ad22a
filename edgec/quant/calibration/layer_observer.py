"""Activation statistics of the quantizable layers' inputs only, taken by forward pre-hooks on
their PyTorch modules: the observer for models whose ONNX keeps its weights in an external data
file (over edgec.exporter.external.EXTERNAL_DATA_ABOVE).

Why: the other two observers see every float tensor of the graph. LatentSync's UNet has 4,501
of them (5 GB of weights): ONNX Runtime would run the whole graph once per group of outputs
that fits the memory budget, on the CPU, and the graph with those outputs added can no longer
be serialized as one protobuf. The Q/DQ writer and the sweep read only the layers' input
scales, and a layer's ONNX input is, by construction of the export, its module's input, so no
pairing by value is needed. What is lost: calib.cache (TensorRT's implicit INT8) holds only
these tensors; the record's `observer.scope` says so.

Same two passes and the same histogram formula as the other observers (calibration.torch_observer
._Stats), on the GPU where one is present.
"""
from typing import Dict, List

import numpy as np
import onnx

from edgec.exporter.onnx_layers import quantizable_nodes
from edgec.quant.calibration.torch_observer import DEVICE_MEMORY_BUDGET, _Stats, cuda_peak_bytes

SCOPE = "quantizable layers' inputs only (the model's weights are in an external data file)"


class LayerInputObserver(object):
    """edgec.quant.calibration.ort_observer.ActivationObserver's interface (`names`, `collect`,
    `description`)."""

    def __init__(self, model: onnx.ModelProto, entry, checkpoint, device: str = "cuda",
                 budget: int = DEVICE_MEMORY_BUDGET):
        import torch

        from edgec.errors import EdgecError
        from edgec.exporter.fold import fold_batchnorm
        from edgec.exporter.variants import build_export_model

        self.device = device
        self.budget = budget
        self.torch_inputs = [i.name for i in entry.inputs]
        folded = fold_batchnorm(build_export_model(entry, checkpoint)).eval()
        paths = {layer.name: layer.module_path for layer in entry.layers(folded)}
        inputs = {node.name: node.input[0] for node in quantizable_nodes(model)}
        missing = sorted(set(inputs) - set(paths))
        if missing:
            raise EdgecError("the PyTorch model of %s has no module for ONNX layers %s"
                             % (entry.name, missing[:5]))
        self.names = []  # type: List[str]
        # module path -> the ONNX tensor it reads; one module per tensor, so a tensor read by
        # several layers (a shared condition) is counted once.
        self.readers = {}  # type: Dict[str, str]
        for layer, tensor in inputs.items():
            if tensor not in self.names:
                self.names.append(tensor)
                self.readers[paths[layer]] = tensor
        self.module = folded.to(device)
        self.sink = None
        for path in self.readers:
            self.module.get_submodule(path).register_forward_pre_hook(self._hook(path))
        self.torch = torch
        self.sample_bytes = None  # type: object

    def _hook(self, path: str):
        tensor = self.readers[path]

        def hook(_module, args):
            if self.sink is not None:
                self.sink(tensor, args[0])
        return hook

    def _run(self, batch: Dict[str, np.ndarray], use) -> None:
        torch = self.torch
        args = [torch.from_numpy(np.ascontiguousarray(batch[n])).to(self.device)
                for n in self.torch_inputs]
        self.sink = use
        try:
            with torch.no_grad():
                self.module(*args)
        finally:
            self.sink = None

    def _measure(self, store, indices) -> None:
        """Bytes one sample holds at once, from a one-sample run (on the GPU: its peak)."""
        probe = store.get(np.asarray(indices)[:1])
        if self.device == "cuda":
            self.sample_bytes = max(cuda_peak_bytes(
                lambda: self._run(probe, lambda name, value: None)), 1)
        else:
            self.sample_bytes = None  # the CPU runs one sample at a time

    def batch_size_for(self, requested: int) -> int:
        if self.sample_bytes is None:
            return 1
        return max(1, min(requested, int(self.budget // self.sample_bytes)))

    def description(self) -> Dict[str, object]:
        return {"backend": "pytorch", "device": self.device, "tensors": len(self.names),
                "scope": SCOPE, "memory_budget_bytes": {"device": self.budget},
                "bytes_per_sample": {"device": int(self.sample_bytes or 0)}}

    def collect(self, store, indices, batch_size: int = 64, progress: bool = True
                ) -> Dict[str, Dict[str, object]]:
        from edgec.progress import progress_bar

        self._measure(store, indices)
        batch_size = self.batch_size_for(batch_size)
        stats = {n: _Stats() for n in self.names}
        n_batches = (len(indices) + batch_size - 1) // batch_size
        with progress_bar(2 * n_batches, "layer-input statistics (PyTorch, %s)" % self.device,
                          "batch", progress) as bar:
            for batch in store.batches(indices, batch_size):
                self._run(batch, lambda name, value: stats[name].add_range(value))
                bar.update(1)
            for stat in stats.values():
                stat.finish_range()
            for batch in store.batches(indices, batch_size):
                self._run(batch, lambda name, value: stats[name].add_histogram(value))
                bar.update(1)
        return {n: s.record() for n, s in stats.items()}
