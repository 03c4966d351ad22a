"""Quality of quantized outputs against FP32 outputs: PSNR, SSIM, max error (torch, CPU or CUDA).

PSNR is computed from the mean squared error over the whole evaluation set, with the peak taken
as the FP32 reference's value range (1.0 for Wav2Lip's sigmoid output); identical outputs are
reported as 200 dB. SSIM uses an 11x11 Gaussian window (sigma 1.5) per channel on 2-D outputs.
"""
import math
from typing import Dict, Optional

import torch
from torch.nn import functional as F

PSNR_IDENTICAL = 200.0


def _gaussian_window(channels: int, device, size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float64, device=device) - size // 2
    g = torch.exp(-coords ** 2 / (2 * sigma ** 2))
    g = (g / g.sum()).float()
    return (g[:, None] * g[None, :]).expand(channels, 1, size, size).contiguous()


def ssim_per_sample(x: torch.Tensor, y: torch.Tensor, peak: float) -> torch.Tensor:
    """Mean SSIM per sample for (B, C, H, W) tensors."""
    channels = x.shape[1]
    window = _gaussian_window(channels, x.device)
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    x, y = x.float(), y.float()
    mu_x = F.conv2d(x, window, groups=channels)
    mu_y = F.conv2d(y, window, groups=channels)
    sxx = F.conv2d(x * x, window, groups=channels) - mu_x ** 2
    syy = F.conv2d(y * y, window, groups=channels) - mu_y ** 2
    sxy = F.conv2d(x * y, window, groups=channels) - mu_x * mu_y
    ssim = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (sxx + syy + c2))
    return ssim.flatten(1).mean(1)


class QualityAccumulator(object):
    """Streams batches of (reference, candidate) outputs and reports PSNR, SSIM, max error."""

    def __init__(self, peak: Optional[float] = None):
        self.peak = peak
        self.sq_err = 0.0
        self.count = 0
        self.max_err = 0.0
        self.ssim_sum = 0.0
        self.samples = 0
        self.ref_min = math.inf
        self.ref_max = -math.inf

    def update(self, reference: torch.Tensor, candidate: torch.Tensor) -> None:
        reference = torch.as_tensor(reference).float()
        candidate = torch.as_tensor(candidate).float().to(reference.device)
        diff = candidate - reference
        self.sq_err += float((diff.double() ** 2).sum())
        self.count += diff.numel()
        self.max_err = max(self.max_err, float(diff.abs().max()))
        self.ref_min = min(self.ref_min, float(reference.min()))
        self.ref_max = max(self.ref_max, float(reference.max()))
        self.samples += reference.shape[0]
        if reference.dim() == 4 and min(reference.shape[2:]) >= 11:
            self.ssim_sum += float(ssim_per_sample(reference, candidate, self._peak()).sum())

    def _peak(self) -> float:
        if self.peak is not None:
            return self.peak
        span = self.ref_max - self.ref_min
        return span if span > 0 else 1.0

    def result(self) -> Dict[str, object]:
        mse = self.sq_err / max(1, self.count)
        peak = self._peak()
        psnr = PSNR_IDENTICAL if mse <= 0 else min(PSNR_IDENTICAL,
                                                   10 * math.log10(peak ** 2 / mse))
        return {"psnr_db": round(psnr, 4), "ssim": (round(self.ssim_sum / self.samples, 6)
                                                    if self.ssim_sum else None),
                "max_abs_error": self.max_err, "mse": mse, "peak": peak,
                "samples": self.samples}


def quality(reference, candidate, peak: Optional[float] = None) -> Dict[str, object]:
    acc = QualityAccumulator(peak)
    acc.update(torch.as_tensor(reference), torch.as_tensor(candidate))
    return acc.result()
