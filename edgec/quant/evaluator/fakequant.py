"""The fast evaluator: the BN-folded PyTorch model with each quantizable conv replaced by a
switchable module that computes FP32, FP16 or INT8 exactly as the Q/DQ ONNX of quant.qdq.writer
does, from the same QuantSpec. Switching a layer's precision is an attribute change, so a sweep
evaluates hundreds of plans without rebuilding anything.

Each switchable conv also absorbs what directly follows it in the graph (a residual Add and a
ReLU): the ONNX ops are the same, but one fused step writes a tensor where three did, and the
sweep's time is mostly such memory passes.

INT8 runs as a convolution over the integer activation codes with the per-channel weight scales
applied afterwards (on CPU, folded into the weights): the same numbers as
dequantize-then-convolve up to float32 rounding. On CUDA the integer convolution runs in TF32
(|q| <= 128 is exact in its 10-bit mantissa, products and sums are float32), on tensor cores.
(Float16 would overflow: the integer sums reach 1e8.) FP16 on CUDA rounds once, after the bias,
as the deployed layer does (see SwitchableConv._fp16_cuda).
"""
import contextlib
import operator
from typing import Dict, List, Optional

import numpy as np
import torch
from torch import fx, nn
from torch.nn import functional as F

from edgec.quant.qdq.spec import ACT_QMAX, ACT_QMIN, PrecisionPlan, QuantSpec, quantize_weight


def fake_quant(x: torch.Tensor, scale: float) -> torch.Tensor:
    """QuantizeLinear + DequantizeLinear (int8, zero point 0), dividing as ONNX Runtime does.
    (torch.fake_quantize_per_tensor_affine multiplies by 1/scale and measured 3x slower here.)"""
    return _codes(x, scale).mul_(scale)


def _codes(x: torch.Tensor, scale: float) -> torch.Tensor:
    """Integer activation codes as float32 values; in place after the division's one new tensor
    (half the time of out-of-place ops, measured on CPU)."""
    return (x.float() / scale).round_().clamp_(ACT_QMIN, ACT_QMAX)


def _half_round(t: torch.Tensor) -> torch.Tensor:
    return t.half().float()


def _is_channels_last(t: torch.Tensor) -> bool:
    return t.dim() == 4 and t.is_contiguous(memory_format=torch.channels_last)


def _codes_of_cat(parts: List[torch.Tensor], scale: float, channels_last: bool):
    """A channel concat and the INT8 input step in one kernel (the concat is never written)."""
    codes = _codes(torch.cat(parts, 1), scale)
    return codes.contiguous(memory_format=torch.channels_last) if channels_last else codes


def _half_round_of_cat(parts: List[torch.Tensor], channels_last: bool):
    rounded = _half_round(torch.cat(parts, 1))
    return rounded.contiguous(memory_format=torch.channels_last) if channels_last else rounded


# What the next layer's input step is, when the epilogue computes it too (see
# SwitchableConv.next_switch).
NEXT_NONE, NEXT_CODES, NEXT_HALF = 0, 1, 2
_NEXT_KIND = {"int8": NEXT_CODES, "fp16": NEXT_HALF}


def _with_next(out, next_kind: int, next_scale: float):
    if next_kind == NEXT_CODES:
        return out, _codes(out, next_scale)
    if next_kind == NEXT_HALF:
        return out, _half_round(out)
    return out


def _epilogue_int8(acc, out_scale, bias, residual, relu: bool, next_kind: int,
                   next_scale: float):
    out = acc * out_scale
    if bias is not None:
        out = out + bias
    if residual is not None:
        out = out + residual
    return _with_next(torch.relu(out) if relu else out, next_kind, next_scale)


def _epilogue_int8_self(acc, out_scale, bias, codes, act_scale: float, relu: bool,
                        next_kind: int, next_scale: float):
    """The residual is the conv's own input, read through the same Q/DQ: codes * scale."""
    out = acc * out_scale + codes * act_scale
    if bias is not None:
        out = out + bias
    return _with_next(torch.relu(out) if relu else out, next_kind, next_scale)


def _epilogue_fp16(acc, bias, residual, relu: bool, next_kind: int, next_scale: float):
    """The FP16 conv's float32 sum plus bias, rounded once to float16 (as TensorRT's fused
    bias does) and cast back to float32, then the float32 Add and ReLU of the graph."""
    out = acc + bias if bias is not None else acc
    out = out.half().float()
    if residual is not None:
        out = out + residual
    return _with_next(torch.relu(out) if relu else out, next_kind, next_scale)


_FUSED = {}


def _fused(fn):
    """On CUDA the elementwise steps around each conv are most of a sweep's GPU time: one
    compiled kernel each. Eager where compilation is unavailable. Casts to float16 are kept
    as written (emulate_precision_casts): inductor would otherwise drop a round trip."""
    if fn not in _FUSED:
        try:
            import torch._dynamo.config as dynamo_config
            import torch._inductor.config as inductor_config
            inductor_config.emulate_precision_casts = True
            # Scales are Python floats, one per layer: symbolic, not one compilation each
            # (specialised, a 51-layer Wav2Lip passed the recompile limit and ran eager).
            if hasattr(dynamo_config, "specialize_float"):
                dynamo_config.specialize_float = False
            # One compilation per combination of the flags (relu, next step, bias, residual):
            # 24 at most, more than dynamo's default limit of 8 (wav2lip hit it and ran eager).
            for limit in ("recompile_limit", "cache_size_limit"):
                if hasattr(dynamo_config, limit):
                    setattr(dynamo_config, limit, max(getattr(dynamo_config, limit), 64))
            _FUSED[fn] = torch.compile(fn, dynamic=True)
        except Exception:  # no compiler backend: eager is correct, only slower
            _FUSED[fn] = fn
    return _FUSED[fn]


@contextlib.contextmanager
def _tf32():
    """TF32 convolutions for operands that TF32 holds exactly (the FP32 reference never)."""
    previous = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = True
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = previous


class SwitchableConv(nn.Module):
    """One quantizable layer; `precision` selects the arithmetic. `relu` and `residual`
    describe what the graph fusion folded into it (see FakeQuantModel)."""

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
        self.act_scale = float(layer.act_scale)
        self.register_buffer("weight", weight)
        self.register_buffer("bias", bias)
        self.register_buffer("weight_int", torch.from_numpy(q.astype(np.float32)))
        # CPU INT8: the codes convolved with weights carrying both scales (saves a pass).
        self.register_buffer("weight_codes_scaled",
                             torch.from_numpy(q.astype(np.float32)) * w_scale
                             * torch.tensor(self.act_scale, dtype=torch.float32))
        self.register_buffer("out_scale", (w_scale.reshape(-1) * float(layer.act_scale)))
        self.register_buffer("w_scale", w_scale)
        # Rounded copies made once (converting per call cost a third of a GPU sweep).
        self.register_buffer("weight_half_float", weight.half().float())
        self.register_buffer("bias_half_float",
                             bias.half().float() if bias is not None else None)
        self.precision = "fp32"
        self.name = layer.name
        self.relu = False
        self.residual_is_input = False  # the Add reads this conv's own input
        # The switch that alone reads this one's output (a plain list: not a submodule).
        self.next_switch = []  # type: List[SwitchableConv]

    def set_act_scale(self, scale: float) -> None:
        """Another input scale, computed as the constructor computes it (the same floats as an
        evaluator built with it): the output-error threshold search tries several per layer."""
        self.act_scale = float(scale)
        self.weight_codes_scaled = (self.weight_int * self.w_scale
                                    * torch.tensor(self.act_scale, dtype=torch.float32,
                                                   device=self.w_scale.device))
        self.out_scale = self.w_scale.reshape(-1) * self.act_scale

    def _conv(self, x, weight, bias):
        fn = {(False, 1): F.conv1d, (False, 2): F.conv2d, (False, 3): F.conv3d,
              (True, 1): F.conv_transpose1d, (True, 2): F.conv_transpose2d,
              (True, 3): F.conv_transpose3d}[(self.transposed, self.ndim)]
        return fn(x, weight, bias, **self.kwargs)

    def _channel_shape(self):
        return [1, -1] + [1] * self.ndim

    def forward(self, x, residual=None):
        if isinstance(x, tuple):  # a channel concat folded in (see FakeQuantModel)
            if not (x[0].is_cuda and self.precision in ("int8", "fp16")):
                x = torch.cat(x, 1)
        if self.residual_is_input:
            residual = x
        if self.precision == "int8":
            return self._int8(x, residual)
        if self.precision == "fp16":
            if isinstance(x, tuple) or x.is_cuda:
                return self._fp16_cuda(x, residual)
            out = _half_round(self._conv(_half_round(x), self.weight_half_float,
                                         self.bias_half_float))
        else:
            out = self._conv(x, self.weight, self.bias)
        return self._finish(out, residual)

    def _fp16_cuda(self, x, residual):
        """The deployed FP16 layer rounds once, after the bias (TensorRT fuses it). PyTorch's
        float16 convolution rounds its sum, then adds the bias and rounds again; its kernels
        also lost more (measured: 2.1 dB below ONNX Runtime's FP16 near the FP16 level, with
        the bias folded into the sum). So the float16-valued operands are convolved in TF32:
        exact products (a float16 value fits TF32's 10-bit mantissa), float32 sums, the bias,
        one rounding (0.7 dB from ONNX Runtime there)."""
        with _tf32():
            acc = self._conv(self._device_input(x, "fp16"), self.weight_half_float, None)
        bias = (self.bias_half_float.reshape(self._channel_shape())
                if self.bias is not None else None)
        return self._with_next(_fused(_epilogue_fp16), acc, bias, residual, self.relu)

    def _device_input(self, x, precision: str):
        """The input step on CUDA (INT8 codes, or float16 rounding): taken from the layer
        before when its epilogue made it for the precision this layer has now, else one
        compiled kernel (with the concat, where one was folded in)."""
        made = getattr(x, "_edgec_prologue", None)
        if made is not None and made[0] is self and made[1] == precision:
            return made[2]
        if isinstance(x, tuple):
            if precision == "int8":
                return _fused(_codes_of_cat)(list(x), self.act_scale, _is_channels_last(x[0]))
            return _fused(_half_round_of_cat)(list(x), _is_channels_last(x[0]))
        if precision == "int8":
            return _fused(_codes)(x, self.act_scale)
        return _fused(_half_round)(x)

    def _with_next(self, epilogue, *args):
        """On CUDA an epilogue also computes the next layer's input step when this conv's
        output goes to that layer alone: one pass over the tensor fewer. The result rides on
        the output tensor, labelled with the layer and precision it was made for, so a
        partial run that reuses the output checks the label before using it."""
        consumer = self.next_switch[0] if self.next_switch else None
        kind = _NEXT_KIND.get(consumer.precision, NEXT_NONE) if consumer else NEXT_NONE
        scale = consumer.act_scale if kind == NEXT_CODES else 1.0
        result = epilogue(*(args + (kind, scale)))
        if kind == NEXT_NONE:
            return result
        out, prologue = result
        out._edgec_prologue = (consumer, consumer.precision, prologue)
        return out

    def _finish(self, out, residual):
        """Eager epilogue, in place on the conv's fresh output."""
        if residual is not None:
            out = out.add_(residual)
        return out.relu_() if self.relu else out

    def _int8(self, x, residual):
        if not isinstance(x, tuple) and not x.is_cuda:
            codes = _codes(x, self.act_scale)
            out = self._conv(codes, self.weight_codes_scaled, self.bias)
            if self.residual_is_input:
                out = out.add_(codes, alpha=self.act_scale)
                residual = None
            return self._finish(out, residual)
        codes = self._device_input(x, "int8")
        with _tf32():  # exact here: integer codes, see above
            acc = self._conv(codes, self.weight_int, None)
        shape = self._channel_shape()
        bias = self.bias.reshape(shape) if self.bias is not None else None
        if self.residual_is_input:
            return self._with_next(_fused(_epilogue_int8_self), acc,
                                   self.out_scale.reshape(shape), bias, codes, self.act_scale,
                                   self.relu)
        return self._with_next(_fused(_epilogue_int8), acc, self.out_scale.reshape(shape), bias,
                               residual, self.relu)


def _instance_norm(x, eps: float):
    var, mean = torch.var_mean(x, dim=tuple(range(2, x.dim())), keepdim=True, correction=0)
    return (x - mean) * torch.rsqrt(var + eps)


class LayoutInstanceNorm(nn.Module):
    """A parameter-free instance norm that keeps its input's memory layout. PyTorch's own
    reshapes a channels-last tensor into a contiguous copy and back: on LivePortrait's SPADE
    decoder (68 such norms) the copies and the norm took a quarter of a sweep's GPU time."""

    def __init__(self, norm: nn.Module):
        super().__init__()
        self.eps = float(norm.eps)

    def forward(self, x):
        if x.is_cuda:
            return _fused(_instance_norm)(x, self.eps)
        return F.instance_norm(x, eps=self.eps)


_INSTANCE_NORMS = (nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)


def _replace_instance_norms(graph_module: fx.GraphModule) -> None:
    for node in graph_module.graph.nodes:
        if node.op != "call_module":
            continue
        module = graph_module.get_submodule(node.target)
        if (isinstance(module, _INSTANCE_NORMS) and not module.affine
                and not module.track_running_stats):
            _replace_submodule(graph_module, node.target, LayoutInstanceNorm(module))


class ResidualQuant(nn.Module):
    """Fake-quantizes the tensor a residual Add reads when a conv reading the same tensor is
    INT8 (the ONNX writer routes that Add through the conv's Q/DQ)."""

    def __init__(self, convs: List[SwitchableConv]):
        super().__init__()
        self.convs = convs  # plain list: not submodules, they live elsewhere in the graph

    def forward(self, x):
        for conv in self.convs:
            if conv.precision == "int8":
                return fake_quant(x, conv.act_scale).to(x.dtype)
        return x


_ADDS = (operator.add, torch.add)
_RELUS = (torch.relu, F.relu)


def _is_relu(graph_module: fx.GraphModule, node: fx.Node) -> bool:
    if node.op == "call_module":
        module = graph_module.get_submodule(node.target)
        return isinstance(module, nn.ReLU)
    return node.op == "call_function" and node.target in _RELUS and len(node.args) == 1


def _is_identity(graph_module: fx.GraphModule, node: fx.Node) -> bool:
    return node.op == "call_module" and isinstance(graph_module.get_submodule(node.target),
                                                   nn.Identity)


def _switches_above(graph_module: fx.GraphModule, node) -> set:
    """The switchable layers whose outputs `node`'s value depends on (itself included)."""
    found, seen, stack = set(), set(), [node] if isinstance(node, fx.Node) else []
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        if current.op == "call_module" and isinstance(
                graph_module.get_submodule(current.target), SwitchableConv):
            found.add(current)
        stack.extend(current.all_input_nodes)
    return found


def _only_user(node: fx.Node) -> Optional[fx.Node]:
    return next(iter(node.users)) if len(node.users) == 1 else None


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
        _replace_instance_norms(graph_module)
        missing = sorted(set(layer_paths) - set(self.switches))
        if missing:
            raise RuntimeError("layers %s were not found in the traced model" % missing)
        graph = graph_module.graph
        for node in list(graph.nodes):  # folded BatchNorms
            if _is_identity(graph_module, node):
                node.replace_all_uses_with(node.args[0])
                graph.erase_node(node)
        count = 0
        for node in list(graph.nodes):
            if node.op == "call_function" and node.target in _ADDS:
                for arg in node.args:
                    if isinstance(arg, fx.Node) and arg in consumers:
                        target = "edgec_residual_quant_%d" % count
                        count += 1
                        graph_module.add_submodule(target, ResidualQuant(consumers[arg]))
                        with graph.inserting_before(node):
                            quantized = graph.call_module(target, (arg,))
                        node.replace_input_with(arg, quantized)
        switch_ids = {id(m) for m in self.switches.values()}
        switch_of = {node: graph_module.get_submodule(node.target) for node in graph.nodes
                     if node.op == "call_module"
                     and id(graph_module.get_submodule(node.target)) in switch_ids}
        for node in switch_of:
            self._fuse_after(graph_module, node, consumers)
        for node, switch in switch_of.items():
            self._fuse_concat_before(graph, node, switch)
        for node, switch in switch_of.items():
            user = _only_user(node)
            if user in switch_of and user.args[0] is node and len(user.args) == 1:
                switch.next_switch = [switch_of[user]]
        graph.lint()
        graph_module.recompile()
        self.graph_module = graph_module.eval()
        self.spec = spec

    @staticmethod
    def _fuse_after(graph_module: fx.GraphModule, node: fx.Node, consumers) -> None:
        """Fold a following residual Add (conv output + one other tensor, nothing else reading
        the conv's output) and a following ReLU into the switch."""
        graph = graph_module.graph
        switch = graph_module.get_submodule(node.target)
        user = _only_user(node)
        if (user is not None and user.op == "call_function" and user.target in _ADDS
                and len(user.args) == 2 and not user.kwargs and user.args.count(node) == 1):
            other = user.args[1] if user.args[0] is node else user.args[0]
            if not isinstance(other, fx.Node):
                return
            if not (_switches_above(graph_module, other)
                    <= _switches_above(graph_module, node.args[0])):
                # A fused conv is recomputed whenever its residual changes: worth it only when
                # the residual changes no more often than the conv's input (a ResNet skip).
                # SPADE adds x's normalised, modulated value to a conv of the conditioning map;
                # fused, that conv was recomputed for every layer upstream of x.
                return
            if (other.op == "call_module" and other.target.startswith("edgec_residual_quant_")
                    and other.args[0] is node.args[0]
                    and graph_module.get_submodule(other.target).convs == [switch]):
                # Read through this conv's own Q/DQ: the switch quantizes it with its input.
                switch.residual_is_input = True
                node.args = (node.args[0],)
                user.replace_all_uses_with(node)
                graph.erase_node(user)
                if not other.users:
                    graph.erase_node(other)
            else:
                # The conv moves to where the Add was: the residual is computed by then.
                user.prepend(node)
                node.args = (node.args[0], other)
                user.replace_all_uses_with(node)
                graph.erase_node(user)
            user = _only_user(node)
        if user is not None and _is_relu(graph_module, user):
            switch.relu = True
            user.replace_all_uses_with(node)
            graph.erase_node(user)

    @staticmethod
    def _fuse_concat_before(graph: fx.Graph, node: fx.Node, switch: SwitchableConv) -> None:
        """A channel concat read by this conv alone becomes the conv's input list: on CUDA
        the concat and the input step are one kernel (U-Net decoders concat before every
        block)."""
        source = node.args[0]
        if not (isinstance(source, fx.Node) and source.op == "call_function"
                and source.target is torch.cat and len(source.users) == 1
                and not switch.residual_is_input):
            return
        dim = source.args[1] if len(source.args) > 1 else source.kwargs.get("dim", 0)
        if dim != 1 or not isinstance(source.args[0], (tuple, list)):
            return
        node.args = (tuple(source.args[0]),) + tuple(node.args[1:])
        graph.erase_node(source)

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
    from edgec.exporter.variants import build_export_model

    # The model as exported (its variants' rewrites applied), so the sweep computes what the
    # ONNX graph does.
    folded = fold_batchnorm(build_export_model(entry, checkpoint))
    paths = {layer.name: layer.module_path for layer in entry.layers(folded)}
    return FakeQuantModel(folded, paths, spec).to(device).eval()
