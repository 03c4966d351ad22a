"""Quality of quantized outputs against FP32 outputs: PSNR, SSIM, max error (torch, CPU or CUDA).

PSNR is computed from the mean squared error over the whole evaluation set, with the peak taken
as the FP32 reference's value range (1.0 for Wav2Lip's sigmoid output); identical outputs are
reported as 200 dB. SSIM uses an 11x11 Gaussian window (sigma 1.5) per channel on 2-D outputs.

The mean hides artifacts (one bad sample among hundreds barely moves it), so results also carry
per-sample PSNR percentiles (the low tail: psnr_p1_db, psnr_p5_db, ...; numpy's linear
interpolation over the samples' PSNRs) and, for models that declare one, the PSNR of a region of
the output (Wav2Lip's lower half: the mouth it generates; the upper half is copied from its
input and dilutes the error).
"""
import functools
import math
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from torch.nn import functional as F

from edgec.quant.quality.budget import PSNR_PERCENTILES

PSNR_IDENTICAL = 200.0


def _gaussian_taps(device, size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float64, device=device) - size // 2
    g = torch.exp(-coords ** 2 / (2 * sigma ** 2))
    return (g / g.sum()).float()


def _band(taps: torch.Tensor, length: int) -> torch.Tensor:
    """(length - size + 1, length) matrix whose rows are the taps slid along: a valid-region
    filter as one matrix product."""
    size = taps.numel()
    band = torch.zeros(length - size + 1, length, dtype=taps.dtype, device=taps.device)
    for row in range(length - size + 1):
        band[row, row:row + size] = taps
    return band


def _pixel_major(t: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (H, W, B, C) view: SSIM's maps are stacked along the last dims, so the
    filter sees every map of every sample at a pixel side by side."""
    return t.permute(2, 3, 0, 1)


class GaussianBlur(object):
    """Separable Gaussian filter (valid region) over the first two dims of an (H, W, N)
    tensor of N maps. On CPU: depthwise convolutions with the N maps as channels-last
    channels, which oneDNN vectorises across (3x faster than the matrix products below,
    measured on a (32 x 9)-map batch). On CUDA: two matrix products with band matrices (cuBLAS;
    PyTorch runs depthwise convolutions on a slow kernel there)."""

    def __init__(self, device, size: int = 11, sigma: float = 1.5,
                 method: Optional[str] = None):
        self.taps = _gaussian_taps(device, size, sigma)
        self.method = method or ("bands" if torch.device(device).type == "cuda"
                                 else "depthwise")
        self._made = {}  # type: Dict[object, torch.Tensor]

    def _get(self, key, make):
        if key not in self._made:
            self._made[key] = make()
        return self._made[key]

    def __call__(self, maps: torch.Tensor) -> torch.Tensor:
        height, width, count = maps.shape
        size = self.taps.numel()
        if self.method == "bands":
            rows = self._get(("band", height), lambda: _band(self.taps, height))
            columns = self._get(("band", width), lambda: _band(self.taps, width))
            across = torch.matmul(columns, maps)  # (H, W', N): each row filtered
            return torch.matmul(rows, across.reshape(height, -1)).reshape(
                height - size + 1, width - size + 1, count)
        # (1, N, H, W) with channels-last strides (a batch stride of H*W*N, or PyTorch does
        # not recognise the layout and takes its 6x slower planar path)
        image = maps.reshape(1, height, width, count).permute(0, 3, 1, 2)
        along_w = self._get(("w", count), lambda: self.taps.reshape(1, 1, 1, size).repeat(
            count, 1, 1, 1))
        along_h = self._get(("h", count), lambda: self.taps.reshape(1, 1, size, 1).repeat(
            count, 1, 1, 1))
        out = F.conv2d(F.conv2d(image, along_w, groups=count), along_h, groups=count)
        return out[0].permute(1, 2, 0)


@functools.lru_cache(maxsize=None)
def _blur_on(device: torch.device) -> GaussianBlur:
    """One filter per device, shared by every reference batch: its band matrices and weights
    are made once per shape, not once per batch."""
    return GaussianBlur(device)


def _error_sums(diff: torch.Tensor, sample_dim: int, rows: Optional[Tuple[int, int]],
                row_dim: int) -> List[torch.Tensor]:
    """[max absolute value (1), per-sample sums of squares (B)(, per-sample sums of squares over
    rows r0:r1 of `row_dim` (B))] of a fresh difference tensor (squared in place), float64. The
    squares are summed in float32 over contiguous stretches, then in float64."""
    low, high = torch.aminmax(diff)  # one pass; no |diff| tensor
    max_err = torch.maximum(-low, high).double().reshape(1)
    squares = diff.mul_(diff)

    def per_sample(t):
        if sample_dim == 0:  # batch first: each sample's values are contiguous
            return t.reshape(t.shape[0], -1).sum(dim=1, dtype=torch.float64)
        lead = t.sum(dim=tuple(range(sample_dim)))  # pixel-major: the leading dims first
        return lead.reshape(lead.shape[0], -1).double().sum(dim=1)

    sums = [max_err, per_sample(squares)]
    if rows is not None:
        sums.append(per_sample(squares.narrow(row_dim, rows[0], rows[1] - rows[0])))
    return sums


def region_rows(region: Optional[Tuple[float, float]], height: int) -> Optional[Tuple[int, int]]:
    """Rows [r0, r1) of an output of `height` rows covered by a region given as fractions."""
    if region is None:
        return None
    first, stop = int(round(region[0] * height)), int(round(region[1] * height))
    return (first, stop) if stop > first else None


class Reference(object):
    """One batch of FP32 outputs, with what every comparison against it reuses computed once
    (a sweep compares each batch with a hundred configurations): for image outputs, the
    outputs centred and stored pixel-major, and their SSIM moments."""

    def __init__(self, tensor: torch.Tensor, peak: float,
                 region: Optional[Tuple[float, float]] = None):
        tensor = torch.as_tensor(tensor).float()
        self.peak = peak
        self.device = tensor.device
        self.batch = tensor.shape[0]
        self.per_sample = tensor[0].numel() if self.batch else 0
        self.rows = region_rows(region, tensor.shape[2]) if tensor.dim() == 4 else None
        # elements per sample inside the region
        self.region_per_sample = (self.per_sample // tensor.shape[2] * (self.rows[1] - self.rows[0])
                                  if self.rows else 0)
        self.has_ssim = tensor.dim() == 4 and min(tensor.shape[2:]) >= 11
        if not self.has_ssim:
            self.tensor = tensor
            return
        batch, channels, height, width = tensor.shape
        self.shape = tensor.shape
        self.blur = _blur_on(self.device)
        # Outputs centred on the reference's mean: variances do not change, and float32 no
        # longer cancels them away when the outputs vary little (SSIM above 1 otherwise). The
        # centre is materialised per channel so every map's inner dims stay contiguous.
        self.centre = tensor.mean(dim=(1, 2, 3)).reshape(1, 1, batch, 1).expand(
            1, 1, batch, channels).contiguous()
        stack, (xc, xx) = self._maps(2)
        torch.sub(_pixel_major(tensor), self.centre, out=xc)
        torch.mul(xc, xc, out=xx)
        self.xc = xc.contiguous()
        mu_xc, exx = self._blurred(stack)
        self.mu_xc = mu_xc.clone()  # a view would keep both blurred maps alive
        self.c1, self.c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
        mu_x = self.mu_xc + self.centre
        # The reference's terms of the SSIM formula, so a comparison computes only the
        # candidate's: 2 mu_x, mu_x^2 + c1, sigma_x^2 + c2.
        self.two_mu_x = 2 * mu_x
        self.mu_x_sq_c1 = mu_x * mu_x + self.c1
        self.sxx_c2 = exx - self.mu_xc * self.mu_xc + self.c2

    def _maps(self, count: int):
        """`count` (H, W, B, C) maps in one (H, W, count, B, C) tensor, filtered together."""
        batch, channels, height, width = self.shape
        stack = torch.empty((height, width, count, batch, channels), dtype=torch.float32,
                            device=self.device)
        return stack, stack.unbind(2)

    def _blurred(self, stack: torch.Tensor):
        height, width, count, batch, channels = stack.shape
        out = self.blur(stack.reshape(height, width, -1))
        return out.reshape(out.shape[0], out.shape[1], count, batch, channels).unbind(2)

    def numbers(self, candidate: torch.Tensor) -> torch.Tensor:
        """[max absolute error, sum of per-sample SSIM (0 without SSIM), per-sample sums of
        squared errors (B), per-sample sums over the region (B, with a region only)] of a batch
        of candidate outputs, one float64 tensor on the device (read with split_numbers)."""
        candidate = torch.as_tensor(candidate).float().to(self.device)
        if not self.has_ssim:
            errors = _error_sums(candidate - self.tensor, 0, self.rows, 2)
            ssim = torch.zeros(1, dtype=torch.float64, device=self.device)
        else:
            stack, maps = self._centred_stack(candidate)
            # (H, W, B, C) maps; the centre cancels
            errors = _error_sums(maps[0] - self.xc, 2, self.rows, 0)
            ssim = self._ssim(stack, maps).double().sum().reshape(1)
        return torch.cat([errors[0], ssim] + errors[1:])

    def split_numbers(self, values: List[float]):
        """(max error, SSIM sum, per-sample squared errors, per-sample region squared errors or
        None) from numbers(...).tolist()."""
        batch = self.batch
        region = values[2 + batch:2 + 2 * batch] if self.rows else None
        return values[0], values[1], values[2:2 + batch], region

    def ssim_per_sample(self, y: torch.Tensor) -> torch.Tensor:
        """Mean SSIM per sample of `y` against this reference (11x11 Gaussian window, sigma
        1.5)."""
        return self._ssim(*self._centred_stack(y.float().to(self.device)))

    def _centred_stack(self, candidate: torch.Tensor):
        """The three-map stack for a comparison, its first map the candidate centred on the
        reference's mean."""
        stack, maps = self._maps(3)
        torch.sub(_pixel_major(candidate), self.centre, out=maps[0])
        return stack, maps

    def _ssim(self, stack: torch.Tensor, maps) -> torch.Tensor:
        """Per-sample SSIM from a stack whose first map holds the centred candidate. In place
        on fresh tensors where it can: a sweep calls this for every configuration and batch."""
        c1, c2 = self.c1, self.c2
        yc, yy, xy = maps
        torch.mul(yc, yc, out=yy)
        torch.mul(self.xc, yc, out=xy)
        mu_yc, eyy, exy = self._blurred(stack)
        sxy_term = exy.addcmul_(self.mu_xc, mu_yc, value=-1).mul_(2).add_(c2)
        syy_term = eyy.addcmul_(mu_yc, mu_yc, value=-1).add_(self.sxx_c2)
        mu_y = mu_yc.add_(self.centre)
        numerator = torch.mul(self.two_mu_x, mu_y).add_(c1).mul_(sxy_term)
        denominator = mu_y.mul_(mu_y).add_(self.mu_x_sq_c1).mul_(syy_term)
        ssim = numerator.div_(denominator)
        # Summed over the leading (pixel) dims first: a reduction across contiguous rows,
        # 20x faster than one over strided dims.
        return ssim.sum(dim=(0, 1)).sum(1) / (ssim.numel() // ssim.shape[2])


def psnr_from_mse(mse: float, peak: float) -> float:
    """PSNR in dB for a finite mean squared error; identical outputs give PSNR_IDENTICAL."""
    return PSNR_IDENTICAL if mse <= 0 else min(PSNR_IDENTICAL, 10 * math.log10(peak ** 2 / mse))


def ssim_per_sample(x: torch.Tensor, y: torch.Tensor, peak: float) -> torch.Tensor:
    """Mean SSIM per sample for (B, C, H, W) tensors (11x11 Gaussian window, sigma 1.5)."""
    return Reference(x, peak).ssim_per_sample(y)


class QualitySums(object):
    """Running sums of (reference, candidate) output differences: plain numbers, so a sweep can
    checkpoint them and resume exactly. The peak is fixed up front (see output_peak) so every
    batch's SSIM uses the same constants. Per-sample squared errors are kept (a few floats per
    sample) for the percentiles.

    Per-batch sums stay on the device until they are read (to_dict, result): on a GPU, a sweep
    then queues a whole batch of configurations without waiting for each one's numbers."""

    def __init__(self, data: Optional[Dict[str, object]] = None):
        data = data or {}
        self.count = data.get("count", 0)
        self.max_err = data.get("max_err", 0.0)
        self.ssim_sum = data.get("ssim_sum", 0.0)
        self.ssim_samples = data.get("ssim_samples", 0)
        self.samples = data.get("samples", 0)
        self.sample_sq = list(data.get("sample_sq", []))  # per sample: sum of squared errors
        self.per_sample = data.get("per_sample", 0)  # elements per sample
        self.region_sq = list(data.get("region_sq", []))
        self.region_per_sample = data.get("region_per_sample", 0)
        self._pending = []  # type: List[Tuple[Reference, torch.Tensor]]

    def update(self, reference, candidate: torch.Tensor, peak: float,
               region: Optional[Tuple[float, float]] = None) -> None:
        """`reference`: a Reference, or a tensor of FP32 outputs (then `region`, the rows to
        score separately as fractions of the height, applies)."""
        if not isinstance(reference, Reference):
            reference = Reference(reference, peak, region)
        candidate = torch.as_tensor(candidate)
        self._pending.append((reference, reference.numbers(candidate)))
        if reference.has_ssim:
            self.ssim_samples += candidate.shape[0]
        self.count += candidate.numel()
        self.samples += candidate.shape[0]
        self.per_sample = reference.per_sample
        self.region_per_sample = reference.region_per_sample

    def _flush(self) -> None:
        """Adds pending batches in the order they came (the same float sums as adding each
        batch at once, so resumed sweeps agree exactly)."""
        for reference, numbers in self._pending:
            max_err, ssim_sum, sample_sq, region_sq = reference.split_numbers(numbers.tolist())
            self.max_err = max(self.max_err, max_err)
            self.ssim_sum += ssim_sum
            self.sample_sq.extend(sample_sq)
            if region_sq is not None:
                self.region_sq.extend(region_sq)
        self._pending = []

    @property
    def sq_err(self) -> float:
        return float(sum(self.sample_sq))

    def to_dict(self) -> Dict[str, object]:
        self._flush()
        return {"count": self.count, "max_err": self.max_err,
                "ssim_sum": self.ssim_sum, "ssim_samples": self.ssim_samples,
                "samples": self.samples, "sample_sq": self.sample_sq,
                "per_sample": self.per_sample, "region_sq": self.region_sq,
                "region_per_sample": self.region_per_sample}

    def result(self, peak: float) -> Dict[str, object]:
        self._flush()
        mse = self.sq_err / max(1, self.count)
        if not math.isfinite(mse):
            # Inf or NaN outputs (an FP16 overflow, say): no number, and no budget is met.
            return {"psnr_db": None, "ssim": None, "max_abs_error": None, "nonfinite": True,
                    "samples": self.samples}
        psnr = psnr_from_mse(mse, peak)
        result = {"psnr_db": round(psnr, 4),
                  "ssim": (round(self.ssim_sum / self.ssim_samples, 6) if self.ssim_samples
                           else None),
                  "max_abs_error": round(self.max_err, 8), "peak": peak, "samples": self.samples}
        if self.sample_sq and self.per_sample:
            per_sample = [psnr_from_mse(sq / self.per_sample, peak) for sq in self.sample_sq]
            result["psnr_min_db"] = round(min(per_sample), 4)
            for q, value in zip(PSNR_PERCENTILES, np.percentile(per_sample, PSNR_PERCENTILES)):
                result["psnr_p%d_db" % q] = round(float(value), 4)
        if self.region_sq and self.region_per_sample:
            result["region_psnr_db"] = round(psnr_from_mse(
                sum(self.region_sq) / (self.region_per_sample * len(self.region_sq)), peak), 4)
        return result


def output_peak(references) -> float:
    """The value range of the FP32 reference outputs (1.0 when they are constant)."""
    lo = min(float(r.min()) for r in references)
    hi = max(float(r.max()) for r in references)
    return (hi - lo) if hi > lo else 1.0
