"""Quality of quantized outputs against FP32 outputs: PSNR, SSIM, max error (torch, CPU or CUDA).

PSNR is computed from the mean squared error over the whole evaluation set, with the peak taken
as the FP32 reference's value range (1.0 for Wav2Lip's sigmoid output); identical outputs are
reported as 200 dB. SSIM uses an 11x11 Gaussian window (sigma 1.5) per channel on 2-D outputs.
"""
import math
from typing import Dict, List, Optional

import torch

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


def _blur(t: torch.Tensor, rows: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian filter, valid region only, as two matrix products with band
    matrices (BLAS on either device: faster than depthwise convolutions, measured on both)."""
    return torch.matmul(rows, torch.matmul(t, columns.t()))


class Reference(object):
    """One batch of FP32 outputs, with what every comparison against it reuses (its SSIM
    moments) computed once: a sweep compares each batch with a hundred configurations."""

    def __init__(self, tensor: torch.Tensor, peak: float):
        self.tensor = torch.as_tensor(tensor).float().contiguous()
        self.peak = peak
        self.has_ssim = self.tensor.dim() == 4 and min(self.tensor.shape[2:]) >= 11
        if self.has_ssim:
            x = self.tensor
            taps = _gaussian_taps(x.device)
            # The filter's band matrices, made once per batch shape, not per comparison.
            self.rows, self.columns = _band(taps, x.shape[2]), _band(taps, x.shape[3])
            # Moments of inputs centred on the reference's mean: variances do not change, and
            # float32 no longer cancels them away when the outputs vary little (SSIM above 1
            # otherwise).
            self.centre = x.mean(dim=(1, 2, 3), keepdim=True)
            xc = x - self.centre
            self.mu_xc, exx = _blur(torch.cat([xc, xc * xc], dim=1), self.rows,
                                    self.columns).chunk(2, dim=1)
            self.sxx = exx - self.mu_xc ** 2

    def ssim_per_sample(self, y: torch.Tensor) -> torch.Tensor:
        """Mean SSIM per sample of `y` against this reference (11x11 Gaussian window, sigma
        1.5)."""
        c1, c2 = (0.01 * self.peak) ** 2, (0.03 * self.peak) ** 2
        yc = y.float() - self.centre
        xc = self.tensor - self.centre  # recomputed: cheaper than keeping it for every batch
        mu_yc, eyy, exy = _blur(torch.cat([yc, yc * yc, xc * yc], dim=1), self.rows,
                                self.columns).chunk(3, dim=1)
        syy = eyy - mu_yc ** 2
        sxy = exy - self.mu_xc * mu_yc
        mu_x, mu_y = self.mu_xc + self.centre, mu_yc + self.centre
        ssim = (((2 * mu_x * mu_y + c1) * (2 * sxy + c2))
                / ((mu_x ** 2 + mu_y ** 2 + c1) * (self.sxx + syy + c2)))
        return ssim.flatten(1).mean(1)


def ssim_per_sample(x: torch.Tensor, y: torch.Tensor, peak: float) -> torch.Tensor:
    """Mean SSIM per sample for (B, C, H, W) tensors (11x11 Gaussian window, sigma 1.5)."""
    return Reference(x, peak).ssim_per_sample(y)


class QualitySums(object):
    """Running sums of (reference, candidate) output differences: plain numbers, so a sweep can
    checkpoint them and resume exactly. The peak is fixed up front (see output_peak) so every
    batch's SSIM uses the same constants.

    Per-batch sums stay on the device until they are read (to_dict, result): on a GPU, a sweep
    then queues a whole batch of configurations without waiting for each one's numbers."""

    def __init__(self, data: Optional[Dict[str, float]] = None):
        data = data or {}
        self.sq_err = data.get("sq_err", 0.0)
        self.count = data.get("count", 0)
        self.max_err = data.get("max_err", 0.0)
        self.ssim_sum = data.get("ssim_sum", 0.0)
        self.ssim_samples = data.get("ssim_samples", 0)
        self.samples = data.get("samples", 0)
        self._pending: List[torch.Tensor] = []

    def update(self, reference, candidate: torch.Tensor, peak: float) -> None:
        """`reference`: a Reference, or a tensor of FP32 outputs."""
        if not isinstance(reference, Reference):
            reference = Reference(reference, peak)
        # contiguous: SSIM's filters run 2x faster than on channels-last tensors
        candidate = torch.as_tensor(candidate).float().to(reference.tensor.device).contiguous()
        diff = candidate - reference.tensor
        numbers = [(diff * diff).sum(dtype=torch.float64), diff.abs().max().double()]
        if reference.has_ssim:
            numbers.append(reference.ssim_per_sample(candidate).double().sum())
            self.ssim_samples += diff.shape[0]
        self._pending.append(torch.stack(numbers))
        self.count += diff.numel()
        self.samples += diff.shape[0]

    def _flush(self) -> None:
        """Adds pending batches in the order they came (the same float sums as adding each
        batch at once, so resumed sweeps agree exactly)."""
        for numbers in self._pending:
            values = numbers.tolist()
            self.sq_err += values[0]
            self.max_err = max(self.max_err, values[1])
            if len(values) > 2:
                self.ssim_sum += values[2]
        self._pending = []

    def to_dict(self) -> Dict[str, float]:
        self._flush()
        return {"sq_err": self.sq_err, "count": self.count, "max_err": self.max_err,
                "ssim_sum": self.ssim_sum, "ssim_samples": self.ssim_samples,
                "samples": self.samples}

    def result(self, peak: float) -> Dict[str, object]:
        self._flush()
        mse = self.sq_err / max(1, self.count)
        if not math.isfinite(mse):
            # Inf or NaN outputs (an FP16 overflow, say): no number, and no budget is met.
            return {"psnr_db": None, "ssim": None, "max_abs_error": None, "nonfinite": True,
                    "samples": self.samples}
        psnr = PSNR_IDENTICAL if mse <= 0 else min(PSNR_IDENTICAL,
                                                   10 * math.log10(peak ** 2 / mse))
        return {"psnr_db": round(psnr, 4),
                "ssim": (round(self.ssim_sum / self.ssim_samples, 6) if self.ssim_samples
                         else None),
                "max_abs_error": round(self.max_err, 8), "peak": peak, "samples": self.samples}


def output_peak(references) -> float:
    """The value range of the FP32 reference outputs (1.0 when they are constant)."""
    lo = min(float(r.min()) for r in references)
    hi = max(float(r.max()) for r in references)
    return (hi - lo) if hi > lo else 1.0
