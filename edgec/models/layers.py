"""Quantizable layers of a model (every Conv and ConvTranspose), in definition order, with costs.

Two MAC conventions are reported because they differ for transposed convs:
- true MACs: a transposed conv costs one MAC per input pixel x kernel tap x channel pair;
- output-grid MACs: the transposed conv is counted on its output grid, as thop and the Wav2Lip
  compression paper do. For ordinary convs the two agree.
"""
from dataclasses import asdict, dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d,
              nn.ConvTranspose3d)


@dataclass
class Layer:
    name: str
    module_path: str
    kind: str  # "Conv" or "ConvTranspose"
    in_channels: int
    out_channels: int
    kernel: Tuple[int, ...]
    stride: Tuple[int, ...]
    input_shape: Tuple[int, ...]  # batch 1
    output_shape: Tuple[int, ...]
    params: int
    macs: int
    macs_output_grid: int

    def to_dict(self) -> Dict[str, object]:
        return asdict(self)


def _numel(shape: Sequence[int]) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def io_shapes(model: nn.Module, example_inputs: Sequence[torch.Tensor],
              types=CONV_TYPES + (nn.Linear,), attention: Optional[Dict[str, tuple]] = None
              ) -> Dict[str, Tuple[Tuple[int, ...], ...]]:
    """(input shape, output shape) of every module of `types`, by module path, from one
    no-grad forward pass with hooks. `attention`, where given, receives module path ->
    (q shape, k shape, heads) of every attention product (edgec.models.attention) of the
    same pass."""
    from edgec.models.attention import AttentionCore

    shapes: Dict[str, Tuple[Tuple[int, ...], ...]] = {}
    handles = []
    for path, module in model.named_modules():
        if isinstance(module, types):
            def hook(mod, inputs, output, path=path):
                shapes[path] = (tuple(inputs[0].shape), tuple(output.shape))
            handles.append(module.register_forward_hook(hook))
        elif attention is not None and isinstance(module, AttentionCore):
            def attention_hook(mod, inputs, output, path=path):
                attention[path] = (tuple(inputs[0].shape), tuple(inputs[1].shape), mod.heads)
            handles.append(module.register_forward_hook(attention_hook))
    try:
        with torch.no_grad():
            model(*example_inputs)
    finally:
        for handle in handles:
            handle.remove()
    return shapes


def find_layers(model: nn.Module, example_inputs: Sequence[torch.Tensor],
                namer: Callable[[str], str] = lambda p: p, shapes=None) -> List[Layer]:
    """Describe every conv layer, from `io_shapes` (run here unless given)."""
    if shapes is None:
        shapes = io_shapes(model, example_inputs)

    layers = []
    for path, module in model.named_modules():
        if not isinstance(module, CONV_TYPES) or path not in shapes:
            continue
        in_shape, out_shape = shapes[path]
        transposed = isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d,
                                         nn.ConvTranspose3d))
        per_position = module.in_channels // module.groups * _numel(module.kernel_size)
        # The example batch is 1, but a model may fold more into the conv's batch axis
        # (LatentSync's UNet runs its 16 frames as a batch of 16): all of it is one call's cost.
        images = int(out_shape[0])
        out_grid = images * _numel(out_shape[2:]) * module.out_channels * per_position
        if transposed:
            # Each input pixel scatters a kernel-sized patch into every output channel.
            true_macs = images * _numel(in_shape[2:]) * module.in_channels * (
                module.out_channels // module.groups) * _numel(module.kernel_size)
        else:
            true_macs = out_grid
        layers.append(Layer(
            name=namer(path), module_path=path,
            kind="ConvTranspose" if transposed else "Conv",
            in_channels=module.in_channels, out_channels=module.out_channels,
            kernel=tuple(module.kernel_size), stride=tuple(module.stride),
            input_shape=tuple(in_shape), output_shape=tuple(out_shape),
            params=sum(p.numel() for p in module.parameters(recurse=False)),
            macs=int(true_macs), macs_output_grid=int(out_grid)))
    names = [layer.name for layer in layers]
    if len(set(names)) != len(names):
        raise ValueError("layer names are not unique: %s" % names)
    return layers


def other_cost_layers(model: nn.Module, shapes, calls) -> List[Dict[str, object]]:
    """The costs that are not quantizable layers, in the layer-dict form of Layer.to_dict: each
    nn.Linear (as a 1x1 conv over its tokens), and each attention product, whose softmax
    weights (N x heads x Lq x Lk) are its largest activation (an unfused engine writes and
    reads them)."""
    from edgec.models.attention import AttentionCore

    rows = []
    for path, module in model.named_modules():
        if isinstance(module, nn.Linear) and path in shapes:
            in_shape, out_shape = shapes[path]
            tokens = _numel(in_shape) // module.in_features
            rows.append({"name": path, "module_path": path, "kind": "Linear",
                         "in_channels": module.in_features, "out_channels": module.out_features,
                         "input_shape": list(in_shape), "output_shape": list(out_shape),
                         "params": sum(p.numel() for p in module.parameters(recurse=False)),
                         "macs": int(tokens * module.in_features * module.out_features)})
    for path, (q, k, heads) in calls.items():
        rows.append({"name": path, "module_path": path, "kind": "Attention",
                     "in_channels": q[-1], "out_channels": q[-1],
                     "input_shape": [q[0], heads, q[1], k[1]], "output_shape": list(q),
                     "params": 0, "macs": AttentionCore.macs(q, k)})
    return rows


