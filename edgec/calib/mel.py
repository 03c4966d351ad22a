"""Wav2Lip's mel spectrogram, in numpy.

16 kHz mono, pre-emphasis 0.97, STFT (n_fft 800, hop 200, Hann window 800, centred with reflect
padding as the librosa version Wav2Lip used), 80 Slaney mel bands 55-7600 Hz, amplitude to dB
with a -100 dB floor, minus ref_level_db 20, symmetric normalisation to [-4, 4].
"""
import numpy as np

SAMPLE_RATE = 16000
N_FFT = 800
HOP = 200
WIN = 800
N_MELS = 80
FMIN = 55.0
FMAX = 7600.0
PREEMPHASIS = 0.97
REF_LEVEL_DB = 20.0
MIN_LEVEL_DB = -100.0
MAX_ABS_VALUE = 4.0
MEL_STEP = 16  # mel frames per video frame window
MEL_FPS = SAMPLE_RATE / HOP  # 80 mel frames per second


def _hz_to_mel(freq):
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    freq = np.asanyarray(freq, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = freq / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(freq >= min_log_hz,
                    min_log_mel + np.log(np.maximum(freq, 1e-10) / min_log_hz) / logstep, mels)


def _mel_to_hz(mels):
    mels = np.asanyarray(mels, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(mels >= min_log_mel, min_log_hz * np.exp(logstep * (mels - min_log_mel)),
                    f_sp * mels)


def mel_filterbank(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=FMIN, fmax=FMAX):
    """Triangular Slaney-normalised mel filters, shape (n_mels, 1 + n_fft // 2)."""
    fft_freqs = np.linspace(0, sr / 2.0, 1 + n_fft // 2)
    mel_points = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    widths = np.diff(mel_points)
    ramps = mel_points[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_points[2:n_mels + 2] - mel_points[:n_mels]))[:, None]
    return weights.astype(np.float32)


_FILTERBANK = None


def stft_magnitude(signal):
    """|STFT|, shape (1 + N_FFT // 2, frames); centred frames, reflect padding."""
    padded = np.pad(signal, N_FFT // 2, mode="reflect")
    n_frames = 1 + (len(padded) - N_FFT) // HOP
    window = np.hanning(WIN + 1)[:-1]  # periodic Hann
    frames = np.lib.stride_tricks.as_strided(
        padded, shape=(n_frames, N_FFT), strides=(padded.strides[0] * HOP, padded.strides[0]))
    return np.abs(np.fft.rfft(frames * window, n=N_FFT, axis=1)).T


def melspectrogram(wav):
    """Normalised mel spectrogram of a 16 kHz mono signal, shape (80, frames), float32."""
    global _FILTERBANK
    if _FILTERBANK is None:
        _FILTERBANK = mel_filterbank()
    wav = np.asarray(wav, dtype=np.float64)
    if len(wav) < 2:
        raise ValueError("audio of %d samples is too short for a mel spectrogram" % len(wav))
    emphasised = np.append(wav[0], wav[1:] - PREEMPHASIS * wav[:-1])
    mel = _FILTERBANK.astype(np.float64) @ stft_magnitude(emphasised)
    min_level = np.exp(MIN_LEVEL_DB / 20 * np.log(10))
    db = 20 * np.log10(np.maximum(min_level, mel)) - REF_LEVEL_DB
    normalised = (2 * MAX_ABS_VALUE) * ((db - MIN_LEVEL_DB) / -MIN_LEVEL_DB) - MAX_ABS_VALUE
    return np.clip(normalised, -MAX_ABS_VALUE, MAX_ABS_VALUE).astype(np.float32)


def mel_window_start(frame_index, fps):
    """First mel frame of video frame `frame_index` (Wav2Lip: int(80 * i / fps))."""
    return int(MEL_FPS * frame_index / float(fps))


def mel_window(mel, frame_index, fps):
    """The (80, 16) window for a video frame, or None when the audio ends before it does."""
    start = mel_window_start(frame_index, fps)
    if start + MEL_STEP > mel.shape[1]:
        return None
    return mel[:, start:start + MEL_STEP]
