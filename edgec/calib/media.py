"""Decoding video frames and audio with PyAV (FFmpeg's libraries, no external binary)."""
from fractions import Fraction
from typing import Iterator, Optional, Tuple

import numpy as np

from edgec.calib.mel import SAMPLE_RATE


class MediaError(Exception):
    """A file that cannot be decoded; the caller skips it and lists it in the summary."""


class VideoInfo(object):
    def __init__(self, path: str, n_frames: int, fps: float, audio_seconds: Optional[float]):
        self.path = path
        self.n_frames = n_frames
        self.fps = fps
        self.audio_seconds = audio_seconds  # None: no audio stream


def probe_video(path: str) -> VideoInfo:
    """Frame count, frame rate and audio length from the container, without decoding."""
    import av

    try:
        with av.open(path) as container:
            videos = container.streams.video
            if not videos:
                raise MediaError("no video stream")
            video = videos[0]
            fps = float(video.average_rate or video.guessed_rate or 0)
            if fps <= 0:
                raise MediaError("unknown frame rate")
            n_frames = int(video.frames or 0)
            if n_frames <= 0 and video.duration:
                n_frames = int(float(video.duration * video.time_base) * fps)
            if n_frames <= 0 and container.duration:
                n_frames = int(container.duration / 1e6 * fps)
            audio_seconds = None
            if container.streams.audio:
                audio = container.streams.audio[0]
                if audio.duration:
                    audio_seconds = float(audio.duration * audio.time_base)
                elif container.duration:
                    audio_seconds = container.duration / 1e6
            return VideoInfo(path, n_frames, fps, audio_seconds)
    except MediaError:
        raise
    except Exception as exc:  # PyAV raises FFmpeg errors of many kinds for damaged files
        raise MediaError(str(exc).strip() or type(exc).__name__)


def decode_audio(path: str, rate: int = SAMPLE_RATE) -> np.ndarray:
    """The first audio stream as mono float32 at `rate` Hz."""
    import av

    chunks = []
    try:
        with av.open(path) as container:
            if not container.streams.audio:
                raise MediaError("no audio stream")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except MediaError:
        raise
    except Exception as exc:
        raise MediaError(str(exc).strip() or type(exc).__name__)
    if not chunks:
        raise MediaError("empty audio stream")
    return np.concatenate(chunks).astype(np.float32)


def iter_frames(path: str, last_index: int) -> Iterator[Tuple[int, np.ndarray]]:
    """(index, RGB uint8 HxWx3) for frames 0..last_index, decoded in order."""
    import av

    try:
        with av.open(path) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index > last_index:
                    break
                yield index, frame.to_ndarray(format="rgb24")
    except Exception as exc:
        raise MediaError(str(exc).strip() or type(exc).__name__)


def fps_fraction(fps: float) -> Fraction:
    return Fraction(fps).limit_denominator(1001)
