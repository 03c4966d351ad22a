"""The fast evaluator: the BN-folded PyTorch model with each quantizable conv replaced by a
switchable module that computes FP32, FP16 or INT8 exactly as the Q/DQ ONNX of edgec.quant.qdq
does, from the same QuantSpec. Switching a layer's precision is an attribute change, so a sweep
evaluates hundreds of plans without rebuilding anything.

INT8 on CUDA runs as an integer-valued convolution in TF32 (|q| <= 128 is exact in its 10-bit
mantissa, products and sums are float32), rescaled by s_x * s_w afterwards: the same numbers as
dequantize-then-convolve, on tensor cores. (Float16 would overflow: the integer sums reach 1e8.)
On the CPU it dequantizes and convolves in float32.
"""
import operator
from typing import Dict, List, Optional

import numpy as np
import torch
from torch import fx, nn
from torch.nn import functional as F

from edgec.quant.spec import ACT_QMAX, ACT_QMIN, PrecisionPlan, QuantSpec, quantize_weight


def fake_quant(x: torch.Tensor, scale: float) -> torch.Tensor:
    """QuantizeLinear + DequantizeLinear (int8, zero point 0), dividing as ONNX Runtime does.
    (torch.fake_quantize_per_tensor_affine multiplies by 1/scale and measured 3x slower here.)"""
    return torch.clamp(torch.round(x / scale), ACT_QMIN, ACT_QMAX) * scale


def _half_round(t: torch.Tensor) -> torch.Tensor:
    return t.half().float()


def _quantize_codes(x: torch.Tensor, scale: float) -> torch.Tensor:
    """Integer activation codes, as float32 values."""
    return torch.clamp(torch.round(x.float() / scale), ACT_QMIN, ACT_QMAX)


def _rescale(acc: torch.Tensor, out_scale: torch.Tensor, bias) -> torch.Tensor:
    out = acc.float() * out_scale
    return out + bias if bias is not None else out



_FUSED = {}


def _fused(fn):
    """On CUDA the elementwise chains around each conv are most of a sweep's GPU time; one
    compiled kernel each instead of four. Eager where compilation is unavailable."""
    if fn not in _FUSED:
        try:
            _FUSED[fn] = torch.compile(fn, dynamic=True)
        except Exception:  # no compiler backend: eager is correct, only slower
            _FUSED[fn] = fn
    return _FUSED[fn]


class SwitchableConv(nn.Module):
    """One quantizable layer; `precision` selects the arithmetic."""

    def __init__(self, conv: nn.Module, layer):
        super().__init__()
        self.transposed = isinstance(conv, (nn.ConvTranspose1d, nn.ConvTranspose2d,
                                            nn.ConvTranspose3d))
        self.ndim = conv.weight.dim() - 2
        self.kwargs = dict(stride=conv.stride, padding=conv.padding, dilation=conv.dilation,
                           groups=conv.groups)
        if self.transposed:
            self.kwargs["output_padding"] = conv.output_padding
        weight = conv.weight.detach().float()
        bias = conv.bias.detach().float() if conv.bias is not None else None
        q = quantize_weight(weight.cpu().numpy(), layer.weight_scale, layer.axis)
        shape = [1] * weight.dim()
        shape[layer.axis] = -1
        w_scale = torch.from_numpy(layer.weight_scale).reshape(shape)
        self.register_buffer("weight", weight)
        self.register_buffer("bias", bias)
        self.register_buffer("weight_int", torch.from_numpy(q.astype(np.float32)))
        self.register_buffer("weight_dq", torch.from_numpy(q.astype(np.float32)) * w_scale)
        self.register_buffer("out_scale", (w_scale.reshape(-1) * float(layer.act_scale)))
        # Half-precision copies made once (converting per call cost a third of a GPU sweep).
        self.register_buffer("weight_half", weight.half())
        self.register_buffer("bias_half", bias.half() if bias is not None else None)

        self.act_scale = float(layer.act_scale)
        self.precision = "fp32"
        self.name = layer.name

    def _conv(self, x, weight, bias):
        fn = {(False, 1): F.conv1d, (False, 2): F.conv2d, (False, 3): F.conv3d,
              (True, 1): F.conv_transpose1d, (True, 2): F.conv_transpose2d,
              (True, 3): F.conv_transpose3d}[(self.transposed, self.ndim)]
        return fn(x, weight, bias, **self.kwargs)

    def forward(self, x):
        if self.precision == "fp32":
            return self._conv(x, self.weight, self.bias)
        if self.precision == "fp16":
            if x.is_cuda:
                return self._conv(x.half(), self.weight_half, self.bias_half).float()
            bias = _half_round(self.bias) if self.bias is not None else None
            return _half_round(self._conv(_half_round(x), _half_round(self.weight), bias))
        # int8
        if x.is_cuda:
            q = _fused(_quantize_codes)(x, self.act_scale)
            previous = torch.backends.cudnn.allow_tf32
            torch.backends.cudnn.allow_tf32 = True  # exact here: integer codes, see above
            try:
                acc = self._conv(q, self.weight_int, None)
            finally:
                torch.backends.cudnn.allow_tf32 = previous
            shape = [1, -1] + [1] * self.ndim
            bias = self.bias.reshape(shape) if self.bias is not None else None
            return _fused(_rescale)(acc, self.out_scale.reshape(shape), bias)
        return self._conv(fake_quant(x, self.act_scale), self.weight_dq, self.bias)


class ResidualQuant(nn.Module):
    """Fake-quantizes the tensor a residual Add reads when the conv beside it is INT8 (the ONNX
    writer routes that Add through the conv's Q/DQ)."""

    def __init__(self, convs: List[SwitchableConv]):
        super().__init__()
        self.convs = convs  # plain list: not submodules, they live elsewhere in the graph

    def forward(self, x):
        for conv in self.convs:
            if conv.precision == "int8":
                return fake_quant(x.float(), conv.act_scale).to(x.dtype)
        return x


class FakeQuantModel(nn.Module):
    def __init__(self, folded_model: nn.Module, layer_paths: Dict[str, str], spec: QuantSpec):
        """`layer_paths`: layer name -> module path in `folded_model`."""
        super().__init__()
        graph_module = fx.symbolic_trace(folded_model)
        modules = dict(graph_module.named_modules())
        self.switches = {}  # type: Dict[str, SwitchableConv]
        consumers = {}  # type: Dict[fx.Node, List[SwitchableConv]]
        path_to_layer = {path: name for name, path in layer_paths.items()}
        for node in list(graph_module.graph.nodes):
            if node.op == "call_module" and node.target in path_to_layer:
                name = path_to_layer[node.target]
                switch = SwitchableConv(modules[node.target], spec.layers[name])
                _replace_submodule(graph_module, node.target, switch)
                self.switches[name] = switch
                consumers.setdefault(node.args[0], []).append(switch)
        missing = sorted(set(layer_paths) - set(self.switches))
        if missing:
            raise RuntimeError("layers %s were not found in the traced model" % missing)
        count = 0
        for node in list(graph_module.graph.nodes):
            if node.op == "call_function" and node.target in (operator.add, torch.add):
                for arg in node.args:
                    if isinstance(arg, fx.Node) and arg in consumers:
                        target = "edgec_residual_quant_%d" % count
                        count += 1
                        graph_module.add_submodule(target, ResidualQuant(consumers[arg]))
                        with graph_module.graph.inserting_before(node):
                            quantized = graph_module.graph.call_module(target, (arg,))
                        node.replace_input_with(arg, quantized)
        graph_module.recompile()
        self.graph_module = graph_module.eval()
        self.spec = spec

    def set_plan(self, plan: PrecisionPlan) -> None:
        for name, switch in self.switches.items():
            switch.precision = plan.of(name)

    def forward(self, *inputs):
        return primary_output(self.graph_module(*inputs))


def primary_output(output):
    """Quality is measured on a model's first output (warping: the warped features; motion:
    the pitch bins), matching the ONNX side, which compares graph output 0."""
    return output[0] if isinstance(output, (tuple, list)) else output


def _replace_submodule(root: nn.Module, path: str, module: nn.Module) -> None:
    parent_path, _, child = path.rpartition(".")
    parent = root.get_submodule(parent_path) if parent_path else root
    setattr(parent, child, module)


def build_evaluator(entry, spec: QuantSpec, checkpoint: Optional[str] = None,
                    device: str = "cpu") -> FakeQuantModel:
    from edgec.exporter.fold import fold_batchnorm

    folded = fold_batchnorm(entry.build(checkpoint))
    paths = {layer.name: layer.module_path for layer in entry.layers(folded)}
    return FakeQuantModel(folded, paths, spec).to(device).eval()
