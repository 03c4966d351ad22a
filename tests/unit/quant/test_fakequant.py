"""The fast evaluator's building blocks against their definitions (no calibration data)."""
import numpy as np
import pytest
import torch
from torch import nn

from edgec.quant.evaluator import fakequant
from edgec.quant.quality.metrics import GaussianBlur, QualitySums, Reference, ssim_per_sample


class _Layer(object):
    def __init__(self, conv, act_scale=0.05):
        axis = 1 if isinstance(conv, (nn.ConvTranspose2d, nn.ConvTranspose3d)) else 0
        self.weight_scale = (conv.weight.detach().abs().amax(
            dim=tuple(i for i in range(conv.weight.dim()) if i != axis)) / 127).numpy()
        self.axis, self.act_scale, self.name = axis, np.float32(act_scale), "layer"


def _half_step(t: torch.Tensor) -> torch.Tensor:
    """One float16 ulp at each value (the spacing of the float16 grid)."""
    t = t.abs().clamp_min(2.0 ** -14)
    return 2.0 ** (torch.floor(torch.log2(t)) - 10)


@pytest.mark.parametrize("make_conv", [lambda: nn.Conv2d(6, 16, 7, 1, 3),
                                       lambda: nn.Conv2d(16, 24, 3, 2, 1),
                                       lambda: nn.Conv3d(8, 8, 3, 1, 1),
                                       lambda: nn.ConvTranspose2d(8, 4, 3, 2, 1, 1),
                                       lambda: nn.Conv2d(32, 3, 1)],
                         ids=["conv7x7", "conv-stride2", "conv3d", "transposed", "rgb-out"])
def test_fp16_device_path_rounds_once_after_the_bias(monkeypatch, make_conv):
    """The GPU FP16 path (float16-valued operands, float32 sums) agrees with the definition:
    float16 operands, exact sum, bias, one rounding. Run here on CPU tensors, eagerly."""
    monkeypatch.setattr(fakequant, "_fused", lambda fn: fn)
    torch.manual_seed(0)
    conv = make_conv()
    with torch.no_grad():
        conv.bias.uniform_(-3, 3)  # large biases: double rounding would show
        switch = fakequant.SwitchableConv(conv, _Layer(conv))
        x = torch.randn((2, conv.in_channels) + (11,) * (conv.weight.dim() - 2))
        got = switch._fp16_cuda(x, None)
        exact = switch._conv(x.half().double(), switch.weight_half_float.double(),
                             switch.bias_half_float.double())
    expected = exact.half().double()  # one rounding of the exact sum
    # Float32 sums (their order varies with threads) may land on the other side of a
    # rounding boundary: one step, two where the boundary is a power of two. Rounding twice
    # is off by hundreds of steps near zero.
    steps = ((got.double() - expected).abs() / _half_step(expected)).max()
    assert steps <= 2.0
    # Where the sum is exact, they are equal almost everywhere.
    assert (got.double() == expected).float().mean() > 0.99


def test_fusion_keeps_the_graph_output(monkeypatch):
    """Conv + residual Add + ReLU folded into the switch: same output as the unfused graph,
    at every precision, and the Add's quantized residual is this conv's own Q/DQ."""
    from edgec.quant.qdq.spec import LayerQuant, QuantSpec

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(8, 8, 3, 1, 1)
            self.act = nn.ReLU()

        def forward(self, x):
            return self.act(self.conv(x) + x)

    torch.manual_seed(1)
    block = Block().eval()
    layer = _Layer(block.conv)
    quant = LayerQuant("conv", "Conv", "x", "y", 0.05, layer.weight_scale, 0)
    spec = QuantSpec.__new__(QuantSpec)
    spec.layers = {"conv": quant}
    model = fakequant.FakeQuantModel(block, {"conv": "conv"}, spec)
    ops = [n.op for n in model.graph_module.graph.nodes]
    assert ops == ["placeholder", "call_module", "output"]  # add and relu were folded in
    x = torch.randn(2, 8, 10, 10)
    with torch.no_grad():
        switch = model.switches["conv"]
        for precision in ("fp32", "fp16", "int8"):
            switch.precision = precision
            got = model(x)
            if precision == "fp32":
                expected = block(x)
            elif precision == "fp16":
                y = fakequant._half_round(switch._conv(fakequant._half_round(x),
                                                       switch.weight_half_float,
                                                       switch.bias_half_float))
                expected = torch.relu(y + x)
            else:
                xq = fakequant.fake_quant(x, 0.05)
                w = switch.weight_int * torch.from_numpy(layer.weight_scale).view(-1, 1, 1, 1)
                expected = torch.relu(switch._conv(xq, w, switch.bias) + xq)
            assert torch.allclose(got, expected, atol=1e-5), precision


def test_ssim_matches_scikit_image():
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (2, 3, 32, 40)).astype(np.float32)
    y = np.clip(x + rng.normal(0, 0.05, x.shape), 0, 1).astype(np.float32)
    theirs = [structural_similarity(x[i], y[i], channel_axis=0, gaussian_weights=True,
                                    sigma=1.5, use_sample_covariance=False, data_range=1.0)
              for i in range(2)]
    ours = ssim_per_sample(torch.from_numpy(x), torch.from_numpy(y), 1.0).numpy()
    assert np.allclose(ours, theirs, atol=1e-5)
    # The sweep's outputs come channels-last; the pixel-major maps are views of either layout.
    channels_last = [torch.from_numpy(a).contiguous(memory_format=torch.channels_last)
                     for a in (x, y)]
    assert np.allclose(ssim_per_sample(*channels_last, 1.0).numpy(), theirs, atol=1e-5)


def test_blur_methods_agree():
    """The CPU filter (depthwise convolutions) and the CUDA one (band matrix products) give
    the same maps; both run here on CPU tensors."""
    maps = torch.rand(40, 37, 20, generator=torch.Generator().manual_seed(3))
    depthwise = GaussianBlur("cpu", method="depthwise")(maps)
    bands = GaussianBlur("cpu", method="bands")(maps)
    assert depthwise.shape == (30, 27, 20)
    assert torch.allclose(depthwise, bands, atol=1e-6)
    # A constant map stays constant (the taps sum to one).
    flat = GaussianBlur("cpu", method="depthwise")(torch.full((20, 20, 3), 0.25))
    assert torch.allclose(flat, torch.full_like(flat, 0.25), atol=1e-6)


def test_cached_reference_gives_the_same_sums():
    """A Reference computed once per batch and a fresh tensor give identical numbers."""
    rng = torch.Generator().manual_seed(2)
    reference = torch.rand(4, 3, 24, 24, generator=rng)
    candidate = reference + 0.01 * torch.randn(4, 3, 24, 24, generator=rng)
    cached, fresh = QualitySums(), QualitySums()
    prepared = Reference(reference, 1.0)
    for _ in range(2):
        cached.update(prepared, candidate, 1.0)
        fresh.update(reference, candidate, 1.0)
    assert cached.to_dict() == fresh.to_dict()
    assert 30 < cached.result(1.0)["psnr_db"] < 50


def test_concat_folds_into_the_conv_that_reads_it():
    """A decoder's channel concat becomes the conv's input list, and the one-kernel input
    steps that replace it give the same tensors, channels-last kept."""
    from edgec.quant.qdq.spec import LayerQuant, QuantSpec

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(12, 4, 3, 1, 1)

        def forward(self, x, skip):
            return self.conv(torch.cat([x, skip], dim=1))

    block = Decoder().eval()
    spec = QuantSpec.__new__(QuantSpec)
    spec.layers = {"conv": LayerQuant("conv", "Conv", "x", "y", 0.05,
                                      _Layer(block.conv).weight_scale, 0)}
    model = fakequant.FakeQuantModel(block, {"conv": "conv"}, spec)
    assert torch.cat not in [n.target for n in model.graph_module.graph.nodes]
    x, skip = torch.randn(2, 8, 6, 6), torch.randn(2, 4, 6, 6)
    with torch.no_grad():
        for precision in ("fp32", "fp16", "int8"):
            model.switches["conv"].precision = precision
            unfused = model.switches["conv"](torch.cat([x, skip], 1))
            assert torch.equal(model(x, skip), unfused), precision
    parts = [t.contiguous(memory_format=torch.channels_last) for t in (x, skip)]
    codes = fakequant._codes_of_cat(parts, 0.05, True)
    assert codes.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(codes, fakequant._codes(torch.cat(parts, 1), 0.05))
    rounded = fakequant._half_round_of_cat(parts, True)
    assert torch.equal(rounded, torch.cat(parts, 1).half().float())
