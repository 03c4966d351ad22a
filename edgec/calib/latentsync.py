"""In-range synthetic inputs for LatentSync's UNet, shaped like its denoising loop's: no real
latents or audio features, because making those needs the released VAE and Whisper weights,
which edgec never downloads (with them, a user exports the VAE encoder and Whisper entries and
writes the arrays themselves). What is real here is the schedule: timesteps are the 20 DDIM
steps of LatentSync's inference (1000 training steps, SD-1.5's scaled-linear betas, "leading"
spacing with offset 1: 951, 901, ..., 1), and the noisy latents mix a clean stand-in with noise
by that step's cumulative alpha, so early steps are mostly noise and late ones mostly signal,
as the UNet sees them.

Stand-ins: clean latents are smooth unit-variance fields (SD latents times 0.18215 have about
unit variance); the reference latents another such field; the mask channel 1 on the lower half
(the mouth region LatentSync regenerates), the masked latents the clean field with that half
zeroed; the audio tokens standard normal, clipped to the entry's range.
"""
from typing import Dict

import numpy as np

TRAIN_STEPS = 1000
INFERENCE_STEPS = 20
BETA_START, BETA_END = 0.00085, 0.012


def ddim_timesteps(steps: int = INFERENCE_STEPS) -> np.ndarray:
    ratio = TRAIN_STEPS // steps
    return (np.arange(steps) * ratio)[::-1] + 1


def alphas_cumprod() -> np.ndarray:
    betas = np.linspace(BETA_START ** 0.5, BETA_END ** 0.5, TRAIN_STEPS) ** 2
    return np.cumprod(1.0 - betas)


def _smooth_field(rng, shape) -> np.ndarray:
    """Unit-variance noise varying over about two latent pixels (nearest 2x upsampling of a
    half-size field, then a 3-tap blur), shape (..., h, w)."""
    h, w = shape[-2], shape[-1]
    coarse = rng.standard_normal(tuple(shape[:-2]) + ((h + 1) // 2, (w + 1) // 2))
    field = coarse.repeat(2, -2).repeat(2, -1)[..., :h, :w]
    field = (np.roll(field, 1, -1) + field + np.roll(field, -1, -1)) / 3.0
    field = (np.roll(field, 1, -2) + field + np.roll(field, -1, -2)) / 3.0
    return (field - field.mean()) / max(float(field.std()), 1e-6)


def denoising_samples(rng, n: int, frames: int, latent: int, audio_tokens: int,
                      audio_dim: int) -> Dict[str, np.ndarray]:
    """n samples: sample [n, 13, frames, latent, latent], timestep [n], audio [n, frames,
    audio_tokens, audio_dim], float32, within the zoo entry's ranges."""
    steps = ddim_timesteps()
    timestep = steps[rng.integers(0, len(steps), size=n)]
    alpha = alphas_cumprod()[timestep].reshape(n, 1, 1, 1, 1)
    shape = (n, 4, frames, latent, latent)
    clean = _smooth_field(rng, shape)
    noisy = np.sqrt(alpha) * clean + np.sqrt(1.0 - alpha) * rng.standard_normal(shape)
    mask = np.zeros((n, 1, frames, latent, latent))
    mask[..., latent // 2:, :] = 1.0
    masked = clean * (1.0 - mask)
    reference = _smooth_field(rng, shape)
    sample = np.clip(np.concatenate([noisy, mask, masked, reference], axis=1), -4.0, 4.0)
    audio = np.clip(rng.standard_normal((n, frames, audio_tokens, audio_dim)), -3.0, 3.0)
    return {"sample": sample.astype(np.float32), "timestep": timestep.astype(np.float32),
            "audio": audio.astype(np.float32)}


SOURCE = ("synthetic, in range (LatentSync's 20-step DDIM timesteps and noise levels over "
          "stand-in latents and audio tokens: no VAE or Whisper weights here)")
