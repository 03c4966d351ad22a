import numpy as np
import pytest

from edgec.calib import mel


def _reference_wav2lip_mel(wav):
    """Wav2Lip's audio.melspectrogram, rebuilt from librosa and scipy (independent of edgec)."""
    librosa = pytest.importorskip("librosa")
    from scipy import signal

    emphasised = signal.lfilter([1, -0.97], [1], wav)
    stft = librosa.stft(y=emphasised, n_fft=800, hop_length=200, win_length=800,
                        pad_mode="reflect")
    basis = librosa.filters.mel(sr=16000, n_fft=800, n_mels=80, fmin=55, fmax=7600)
    spec = basis @ np.abs(stft)
    db = 20 * np.log10(np.maximum(1e-5, spec)) - 20
    return np.clip(8 * ((db + 100) / 100) - 4, -4, 4)


def test_matches_wav2lip_reference_on_a_known_signal():
    t = np.arange(16000) / 16000.0
    wav = 0.5 * np.sin(2 * np.pi * 440 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    ours = mel.melspectrogram(wav)
    ref = _reference_wav2lip_mel(wav)
    assert ours.shape == ref.shape == (80, 81)
    assert np.abs(ours - ref).max() < 1e-4


def test_tone_lands_in_its_mel_band():
    t = np.arange(8000) / 16000.0
    spec = mel.melspectrogram(0.5 * np.sin(2 * np.pi * 1000 * t))
    centres = mel._mel_to_hz(np.linspace(mel._hz_to_mel(55), mel._hz_to_mel(7600), 82))[1:-1]
    peak_band = int(np.argmax(spec[:, 10:-10].mean(axis=1)))
    assert abs(centres[peak_band] - 1000) < 60
    assert spec.min() >= -4 and spec.max() <= 4


def test_silence_is_the_floor():
    assert np.all(mel.melspectrogram(np.zeros(4000)) == -4)


def test_window_of_video_frame():
    assert mel.mel_window_start(0, 25) == 0
    assert mel.mel_window_start(5, 25) == 16  # 80 mel frames per second / 25 fps = 3.2
    spec = np.zeros((80, 40), dtype=np.float32)
    assert mel.mel_window(spec, 7, 25).shape == (80, 16)  # start 22, ends at 38
    assert mel.mel_window(spec, 8, 25) is None  # start 25 + 16 > 40
