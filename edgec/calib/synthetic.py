"""Small real-format talking-face media made on the spot: mp4 clips (H.264 + AAC) of a real face
photograph moved and scaled per frame, with speech-like audio, in the raw LRS2 layout and in
Wav2Lip's preprocessed layout. Used by the tests and by scripts/make_demo_data.py (nothing is
downloaded: the photograph ships with scikit-image, NASA's public-domain astronaut portrait)."""
import os
from typing import Optional

import numpy as np

from edgec.calib.mel import SAMPLE_RATE


def face_photo() -> np.ndarray:
    """The face region of scikit-image's astronaut photograph, RGB uint8."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[0:260, 120:340])


def speech_like_audio(seconds: float, seed: int = 0, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Voiced syllables: a harmonic series on a wandering pitch, amplitude-modulated at a
    syllable rate, with breath noise. float32 in [-1, 1]."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / float(rate)
    pitch = 120 + 30 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6))
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = np.clip(np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, 6)), 0, None) ** 2
    signal = 0.3 * voice * envelope + 0.01 * rng.standard_normal(len(t))
    return (signal / max(1e-6, np.abs(signal).max()) * 0.8).astype(np.float32)


def _frame(photo: np.ndarray, index: int, size: int, rng_phase: float) -> np.ndarray:
    """The photo scaled and moved a little per frame on a plain background."""
    import cv2

    scale = 0.55 + 0.05 * np.sin(0.21 * index + rng_phase)
    dx = 0.06 * size * np.sin(0.13 * index + rng_phase)
    dy = 0.04 * size * np.cos(0.17 * index + rng_phase)
    h, w = photo.shape[:2]
    fit = scale * size / float(max(h, w))
    matrix = np.array([[fit, 0, (size - w * fit) / 2 + dx], [0, fit, (size - h * fit) / 2 + dy]])
    return cv2.warpAffine(photo, matrix, (size, size), borderValue=(40, 120, 60))


def write_talking_clip(path: str, n_frames: int = 50, fps: int = 25, size: int = 224,
                       seed: int = 0, audio: Optional[np.ndarray] = None,
                       with_audio: bool = True) -> str:
    """An mp4 clip: the moving face, and speech-like audio as long as the video."""
    photo = face_photo()
    phase = float(np.random.default_rng(seed).uniform(0, 6))
    if audio is None:
        audio = speech_like_audio(n_frames / float(fps), seed)
    frames = (_frame(photo, index, size, phase) for index in range(n_frames))
    return write_clip(path, frames, fps, size, audio if with_audio else None)


def write_clip(path: str, frames, fps: int, size: int, audio: Optional[np.ndarray]) -> str:
    """An mp4 (H.264, and AAC 16 kHz mono when `audio` is given) of square RGB frames."""
    import av

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with av.open(path, mode="w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width = video.height = size
        video.pix_fmt = "yuv420p"
        video.options = {"crf": "28", "preset": "veryfast"}
        sound = None
        if audio is not None:
            sound = container.add_stream("aac", rate=SAMPLE_RATE)
            sound.layout = "mono"
        for rgb in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
        if sound is not None:
            chunk = 1024
            audio = np.asarray(audio, dtype=np.float32)
            for start in range(0, len(audio), chunk):
                piece = audio[start:start + chunk].reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(piece, format="flt", layout="mono")
                frame.sample_rate = SAMPLE_RATE
                frame.pts = start
                for packet in sound.encode(frame):
                    container.mux(packet)
            for packet in sound.encode(None):
                container.mux(packet)
    return path


def write_wav(path: str, audio: np.ndarray, rate: int = SAMPLE_RATE) -> str:
    import wave

    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    with wave.open(path, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.tobytes())
    return path


def write_frame_folder(folder: str, n_frames: int = 50, seed: int = 0, crop: int = 128) -> str:
    """Wav2Lip's preprocessed layout: face crops `<i>.jpg` and `audio.wav` at 25 fps."""
    import cv2

    os.makedirs(folder, exist_ok=True)
    photo = face_photo()
    phase = float(np.random.default_rng(seed).uniform(0, 6))
    for index in range(n_frames):
        frame = _frame(photo, index, 224, phase)
        face = cv2.resize(frame[40:190, 40:190], (crop, crop))
        cv2.imwrite(os.path.join(folder, "%d.jpg" % index), cv2.cvtColor(face, cv2.COLOR_RGB2BGR))
    write_wav(os.path.join(folder, "audio.wav"), speech_like_audio(n_frames / 25.0, seed))
    return folder


def write_lrs2_tree(root: str, speakers: int = 2, clips_per_speaker: int = 2,
                    n_frames: int = 40, split: str = "pretrain") -> str:
    """`<root>/<split>/<speaker>/<utterance>.mp4`, as LRS2 is laid out."""
    seed = 0
    for s in range(speakers):
        for c in range(clips_per_speaker):
            write_talking_clip(os.path.join(root, split, "spk%d" % s, "%05d.mp4" % c),
                               n_frames=n_frames, seed=seed)
            seed += 1
    return root
