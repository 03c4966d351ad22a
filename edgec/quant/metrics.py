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


def _gaussian_taps(device, size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float64, device=device) - size // 2
    g = torch.exp(-coords ** 2 / (2 * sigma ** 2))
    return (g / g.sum()).float()


def _blur(t: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian filter, valid region only (11 + 11 taps instead of 121), depthwise
    on contiguous tensors (the fastest form on the CPU, measured)."""
    channels = t.shape[1]
    size = taps.numel()
    t = F.conv2d(t.contiguous(), taps.view(1, 1, size, 1).expand(channels, 1, size, 1),
                 groups=channels)
    return F.conv2d(t, taps.view(1, 1, 1, size).expand(channels, 1, 1, size), groups=channels)


def ssim_per_sample(x: torch.Tensor, y: torch.Tensor, peak: float) -> torch.Tensor:
    """Mean SSIM per sample for (B, C, H, W) tensors (11x11 Gaussian window, sigma 1.5)."""
    taps = _gaussian_taps(x.device)
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    x, y = x.float(), y.float()
    # Second moments from inputs centred on the reference's mean: variances do not change, and
    # float32 no longer cancels them away when the outputs vary little (SSIM above 1 otherwise).
    centre = x.mean(dim=(1, 2, 3), keepdim=True)
    xc, yc = x - centre, y - centre
    moments = _blur(torch.cat([xc, yc, xc * xc, yc * yc, xc * yc], dim=1), taps)
    mu_xc, mu_yc, exx, eyy, exy = moments.chunk(5, dim=1)
    sxx = exx - mu_xc ** 2
    syy = eyy - mu_yc ** 2
    sxy = exy - mu_xc * mu_yc
    mu_x, mu_y = mu_xc + centre, mu_yc + centre
    ssim = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (sxx + syy + c2))
    return ssim.flatten(1).mean(1)


class QualitySums(object):
    """Running sums of (reference, candidate) output differences: plain numbers, so a sweep can
    checkpoint them and resume exactly. The peak is fixed up front (see output_peak) so every
    batch's SSIM uses the same constants."""

    def __init__(self, data: Optional[Dict[str, float]] = None):
        data = data or {}
        self.sq_err = data.get("sq_err", 0.0)
        self.count = data.get("count", 0)
        self.max_err = data.get("max_err", 0.0)
        self.ssim_sum = data.get("ssim_sum", 0.0)
        self.ssim_samples = data.get("ssim_samples", 0)
        self.samples = data.get("samples", 0)

    def update(self, reference: torch.Tensor, candidate: torch.Tensor, peak: float) -> None:
        reference = torch.as_tensor(reference).float().contiguous()
        # contiguous: SSIM's filters run 2x faster than on channels-last tensors
        candidate = torch.as_tensor(candidate).float().to(reference.device).contiguous()
        diff = candidate - reference
        self.sq_err += float((diff * diff).sum(dtype=torch.float64))
        self.count += diff.numel()
        self.max_err = max(self.max_err, float(diff.abs().max()))
        if reference.dim() == 4 and min(reference.shape[2:]) >= 11:
            self.ssim_sum += float(ssim_per_sample(reference, candidate, peak).double().sum())
            self.ssim_samples += reference.shape[0]
        self.samples += reference.shape[0]

    def to_dict(self) -> Dict[str, float]:
        return {"sq_err": self.sq_err, "count": self.count, "max_err": self.max_err,
                "ssim_sum": self.ssim_sum, "ssim_samples": self.ssim_samples,
                "samples": self.samples}

    def result(self, peak: float) -> Dict[str, object]:
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
