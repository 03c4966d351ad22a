"""Multi-head attention written as MatMul and Softmax (every TensorRT version's ONNX parser
imports them; the fused attention op is newer), with its matrix products as one module so
that cost counting (edgec.models.layers.io_shapes, other_cost_layers) sees them."""
import math

import torch
from torch import nn


class AttentionCore(nn.Module):
    """softmax(q k^T / sqrt(d)) v over `heads` heads: q [N, Lq, D], k and v [N, Lk, D]."""

    def __init__(self, heads: int):
        super().__init__()
        self.heads = heads

    def forward(self, q, k, v):
        n, lq, d = q.shape
        lk = k.shape[1]
        hd = d // self.heads
        q = q.reshape(n, lq, self.heads, hd).transpose(1, 2)
        kt = k.reshape(n, lk, self.heads, hd).permute(0, 2, 3, 1)
        v = v.reshape(n, lk, self.heads, hd).transpose(1, 2)
        weights = torch.softmax(torch.matmul(q * (1.0 / math.sqrt(hd)), kt), dim=-1)
        return torch.matmul(weights, v).transpose(1, 2).reshape(n, lq, d)

    @staticmethod
    def macs(q_shape, k_shape) -> int:
        """Both products: N * Lq * Lk * D each."""
        n, lq, d = q_shape
        return int(2 * n * lq * k_shape[1] * d)


class Attention(nn.Module):
    """diffusers' attention naming (to_q, to_k, to_v, to_out.0); `bias` on q/k/v as the
    checkpoint has it."""

    def __init__(self, query_dim: int, heads: int, context_dim: int = None, bias: bool = False):
        super().__init__()
        context_dim = context_dim or query_dim
        self.to_q = nn.Linear(query_dim, query_dim, bias=bias)
        self.to_k = nn.Linear(context_dim, query_dim, bias=bias)
        self.to_v = nn.Linear(context_dim, query_dim, bias=bias)
        self.to_out = nn.ModuleList([nn.Linear(query_dim, query_dim)])
        self.core = AttentionCore(heads)

    def forward(self, x, context=None):
        context = x if context is None else context
        return self.to_out[0](self.core(self.to_q(x), self.to_k(context), self.to_v(context)))
