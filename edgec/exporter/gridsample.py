"""The decomposed form of the models' 5-D grid sample (edgec.models.gridsample.GridSample5d,
torch.nn.functional.grid_sample on N x C x D x H x W, zeros padding).

The models' own form exports as ONNX GridSample (opset 20 defines it for N-D input): ONNX Runtime
runs it; TensorRT 8.x cannot build it (its GridSample support, when present, is 2-D only), so it
would need a plugin on the device. The decomposed form is the same arithmetic in standard ops
(Floor, Gather, Mul, Add, Where...), which every TensorRT version builds without plugins. Each
output point reads its 8 neighbours from the flattened volume with one gather per corner,
weighted by the trilinear weights; corners outside the volume weigh zero (zeros padding).
"""
import torch
from torch import nn

from edgec.models.gridsample import GridSample5d


def _unnormalize(coord: torch.Tensor, size: int, align_corners: bool) -> torch.Tensor:
    if align_corners:
        return (coord + 1) * (0.5 * (size - 1))
    return ((coord + 1) * size - 1) * 0.5


def grid_sample_3d_decomposed(volume: torch.Tensor, grid: torch.Tensor,
                              align_corners: bool = False) -> torch.Tensor:
    """volume N x C x D x H x W, grid N x Do x Ho x Wo x 3 holding (x, y, z) in [-1, 1];
    returns N x C x Do x Ho x Wo, equal to F.grid_sample(..., mode="bilinear",
    padding_mode="zeros")."""
    n, c, d, h, w = volume.shape
    out_shape = grid.shape[1:4]
    points = grid.reshape(n, -1, 3)
    x = _unnormalize(points[..., 0], w, align_corners)
    y = _unnormalize(points[..., 1], h, align_corners)
    z = _unnormalize(points[..., 2], d, align_corners)
    x0f, y0f, z0f = torch.floor(x), torch.floor(y), torch.floor(z)
    fx, fy, fz = x - x0f, y - y0f, z - z0f
    # Corner coordinates and flat indices in int32: a 16 x 64 x 64 volume has 65,536 cells,
    # beyond the integers FP16 holds exactly, and TensorRT may run float arithmetic in FP16.
    x0, y0, z0 = x0f.to(torch.int32), y0f.to(torch.int32), z0f.to(torch.int32)
    zero = torch.zeros((), dtype=torch.int32)
    last_x, last_y, last_z = zero + (w - 1), zero + (h - 1), zero + (d - 1)
    flat = volume.reshape(n, c, d * h * w)
    result = None
    for dz in (0, 1):
        zc = z0 + dz
        wz = fz if dz else 1 - fz
        for dy in (0, 1):
            yc = y0 + dy
            wy = fy if dy else 1 - fy
            for dx in (0, 1):
                xc = x0 + dx
                wx = fx if dx else 1 - fx
                # int32 bounds (Python ints would promote the comparison to int64).
                inside = ((xc >= zero) & (xc <= last_x) & (yc >= zero) & (yc <= last_y)
                          & (zc >= zero) & (zc <= last_z))
                # Clamp so the gather stays in bounds; the weight of an outside corner is 0.
                index = (torch.minimum(torch.maximum(zc, zero), last_z) * (h * w)
                         + torch.minimum(torch.maximum(yc, zero), last_y) * w
                         + torch.minimum(torch.maximum(xc, zero), last_x))
                # torch.gather wants int64; the ONNX pass int32_gather_indices narrows it back.
                values = torch.gather(flat, 2, index.to(torch.int64).unsqueeze(1).expand(
                    n, c, index.shape[1]))
                weight = torch.where(inside, wx * wy * wz, torch.zeros_like(wx))
                term = values * weight.unsqueeze(1)
                result = term if result is None else result + term
    return result.reshape(n, c, out_shape[0], out_shape[1], out_shape[2])


# One call in torch.fx graphs (the sweep's evaluator traces models with fx; its shape arithmetic
# cannot be traced symbolically).
torch.fx.wrap("grid_sample_3d_decomposed")


class DecomposedGridSample5d(nn.Module):
    """GridSample5d computed by grid_sample_3d_decomposed."""

    def __init__(self, align_corners: bool = False):
        super().__init__()
        self.align_corners = align_corners

    def forward(self, volume, grid):
        return grid_sample_3d_decomposed(volume, grid, self.align_corners)


def decompose_grid_samples(model: nn.Module) -> int:
    """Replace every GridSample5d in `model` (in place) by its decomposed form; returns how
    many were replaced."""
    targets = [(parent, name, child) for parent in model.modules()
               for name, child in parent.named_children() if isinstance(child, GridSample5d)]
    for parent, name, child in targets:
        setattr(parent, name, DecomposedGridSample5d(child.align_corners))
    return len(targets)


_INDEX_PASSTHROUGH = ("Unsqueeze", "Expand", "Reshape", "Squeeze")


def int32_gather_indices(model) -> int:
    """In an ONNX model, turn each Cast to int64 whose value only reaches Gather/GatherElements
    index inputs (through Unsqueeze/Expand/Reshape/Squeeze) into a Cast to int32: TensorRT 8.x
    has no int64 tensors. Returns how many Casts changed."""
    from onnx import TensorProto

    consumers = {}
    for node in model.graph.node:
        for position, name in enumerate(node.input):
            consumers.setdefault(name, []).append((node, position))

    def only_indices(name, chain):
        users = consumers.get(name, [])
        if not users:
            return False
        for user, position in users:
            if user.op_type in ("GatherElements", "Gather") and position == 1:
                continue
            if user.op_type in _INDEX_PASSTHROUGH and position == 0 \
                    and only_indices(user.output[0], chain):
                chain.append(user.output[0])
                continue
            return False
        return True

    retyped = set()
    changed = 0
    for node in model.graph.node:
        if node.op_type != "Cast":
            continue
        target = [a for a in node.attribute if a.name == "to"]
        chain = [node.output[0]]
        if target and target[0].i == TensorProto.INT64 and only_indices(node.output[0], chain):
            target[0].i = TensorProto.INT32
            retyped.update(chain)
            changed += 1
    # Recorded int64 types of the retyped tensors are stale: drop them (shape inference
    # recomputes them).
    stale = [v for v in model.graph.value_info if v.name in retyped]
    for value in stale:
        model.graph.value_info.remove(value)
    return changed
