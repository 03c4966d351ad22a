"""Calibration datasets: find clips in a folder, sample N frames deterministically, and stream
the model's exact inputs into a sample store.

Layouts:
- videos: raw LRS2 (`<split>/<speaker>/<utterance>.mp4`, audio inside) or any folder of videos;
  faces are detected (OpenCV's bundled Haar cascade) and boxes smoothed over time;
- frames: Wav2Lip's preprocessed layout (`<speaker>/<utterance>/<frame>.jpg` + `audio.wav`),
  frames already face crops;
- arrays: `.npz` (one array per input name) or `.npy` (single-input models) holding ready model
  inputs with a leading batch axis, for any model.
"""
import os
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from edgec.calib import mel as melmod
from edgec.calib.media import MediaError, decode_audio, iter_frames, probe_video
from edgec.calib.store import SampleStoreWriter, StoreInput
from edgec.errors import EdgecError

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
WAV2LIP_FACE = 96
WAV2LIP_FPS_FRAMES = 25.0  # Wav2Lip's preprocessing writes 25 fps frame folders


class SkipLog(object):
    """Everything skipped, by reason, for the summary and the warnings."""

    def __init__(self):
        self.by_reason = OrderedDict()  # type: Dict[str, List[str]]

    def add(self, reason: str, item: str) -> None:
        self.by_reason.setdefault(reason, []).append(item)

    def to_dict(self) -> Dict[str, object]:
        return {reason: {"count": len(items), "items": items[:50]}
                for reason, items in self.by_reason.items()}

    def total(self) -> int:
        return sum(len(v) for v in self.by_reason.values())


# -- layout detection ---------------------------------------------------------------------------

def _walk_files(root: str) -> List[str]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        found.extend(os.path.join(folder, f) for f in sorted(files))
    return found


def detect_layout(root: str) -> str:
    if not os.path.isdir(root):
        raise EdgecError("calibration data %s: no such folder" % root)
    files = _walk_files(root)
    if any(os.path.basename(f) == "audio.wav" for f in files):
        return "frames"
    if any(f.lower().endswith(VIDEO_EXTENSIONS) for f in files):
        return "videos"
    if any(f.endswith((".npz", ".npy")) for f in files):
        return "arrays"
    raise EdgecError("calibration data %s holds no videos (%s), no Wav2Lip frame folders "
                     "(<speaker>/<utterance>/*.jpg + audio.wav) and no .npz/.npy arrays"
                     % (root, ", ".join(VIDEO_EXTENSIONS)))


# -- Wav2Lip clips ------------------------------------------------------------------------------

def _valid_frames(n_frames: int, fps: float, audio_seconds: float) -> int:
    """Frames whose 16-step mel window lies inside the audio."""
    mel_frames = 1 + int(round(audio_seconds * melmod.SAMPLE_RATE)) // melmod.HOP
    last_start = mel_frames - melmod.MEL_STEP
    if last_start < 0:
        return 0
    return min(n_frames, int(last_start * fps / melmod.MEL_FPS) + 1)


class VideoClip(object):
    def __init__(self, path: str):
        self.path = path
        self.label = path
        info = probe_video(path)
        if info.audio_seconds is None:
            raise MediaError("no audio stream")
        self.fps = info.fps
        self.valid = _valid_frames(info.n_frames, info.fps, info.audio_seconds)

    def load(self, needed: Sequence[int], detector) -> Tuple[np.ndarray, Dict[int, Optional[np.ndarray]]]:
        from edgec.calib.faces import crop_face, smooth_boxes

        mel = melmod.melspectrogram(decode_audio(self.path))
        # Detect on the needed frames and their neighbours, so boxes can be smoothed over time.
        wanted = set()
        for index in needed:
            wanted.update((index - 1, index, index + 1))
        frames, boxes = {}, {}
        for index, rgb in iter_frames(self.path, max(needed) + 1):
            if index in wanted:
                box = detector.detect(rgb)
                if box is not None:
                    boxes[index] = box
            if index in needed:
                frames[index] = rgb
        smoothed = smooth_boxes(boxes, window=3)
        crops = {i: (crop_face(frames[i], smoothed[i], WAV2LIP_FACE)
                     if i in frames and i in smoothed else None) for i in needed}
        return mel, crops


class FrameFolderClip(object):
    """A folder of face crops `<n>.jpg` plus `audio.wav` (Wav2Lip's preprocess output)."""

    def __init__(self, folder: str):
        self.path = folder
        self.label = folder
        self.frames = sorted((f for f in os.listdir(folder) if f.lower().endswith((".jpg", ".png"))),
                             key=lambda f: (len(f), f))
        if not self.frames:
            raise MediaError("no frames")
        audio = os.path.join(folder, "audio.wav")
        info = probe_video_audio_seconds(audio)
        self.fps = WAV2LIP_FPS_FRAMES
        self.valid = _valid_frames(len(self.frames), self.fps, info)

    def load(self, needed: Sequence[int], detector=None):
        import cv2

        mel = melmod.melspectrogram(decode_audio(os.path.join(self.path, "audio.wav")))
        crops = {}
        for index in needed:
            bgr = cv2.imread(os.path.join(self.path, self.frames[index]))
            crops[index] = (None if bgr is None else cv2.resize(
                cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (WAV2LIP_FACE, WAV2LIP_FACE),
                interpolation=cv2.INTER_AREA))
        return mel, crops


def probe_video_audio_seconds(path: str) -> float:
    if not os.path.isfile(path):
        raise MediaError("no audio.wav")
    return len(decode_audio(path)) / float(melmod.SAMPLE_RATE)


def wav2lip_face_input(target: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(6, 96, 96) uint8: the target crop with its lower half zeroed, then the reference crop."""
    masked = target.copy()
    masked[WAV2LIP_FACE // 2:] = 0
    return np.concatenate([masked, reference], axis=2).transpose(2, 0, 1)


def find_wav2lip_clips(root: str, layout: str, skipped: SkipLog) -> list:
    clips = []
    if layout == "videos":
        candidates = [f for f in _walk_files(root) if f.lower().endswith(VIDEO_EXTENSIONS)]
        make = VideoClip
    else:
        candidates = sorted({os.path.dirname(f) for f in _walk_files(root)
                             if os.path.basename(f) == "audio.wav"})
        make = FrameFolderClip
    for path in candidates:
        try:
            clip = make(path)
        except MediaError as exc:
            reason = "no audio" if "audio" in str(exc) else "unreadable"
            skipped.add(reason, "%s (%s)" % (path, exc))
            continue
        if clip.valid <= 0:
            skipped.add("shorter than one mel window", path)
            continue
        clips.append(clip)
    return clips


def plan_samples(valid_counts: Sequence[int], n: int, seed: int):
    """Deterministic choice of min(n, total) (clip, frame, reference frame) triples, spread
    uniformly over all valid frames; references are other frames of the same clip."""
    rng = np.random.default_rng(seed)
    total = int(sum(valid_counts))
    chosen = np.sort(rng.choice(total, size=min(n, total), replace=False))
    bounds = np.cumsum(valid_counts)
    clip_ids = np.searchsorted(bounds, chosen, side="right")
    starts = bounds - np.asarray(valid_counts)
    frames = chosen - starts[clip_ids]
    plan = []
    for clip_id, frame in zip(clip_ids, frames):
        count = valid_counts[clip_id]
        ref = int(rng.integers(0, count - 1)) if count > 1 else int(frame)
        if count > 1 and ref >= frame:
            ref += 1
        plan.append((int(clip_id), int(frame), ref))
    return plan


WAV2LIP_STORE_INPUTS = [StoreInput("mel", (1, 80, 16), "float32"),
                        StoreInput("face", (6, WAV2LIP_FACE, WAV2LIP_FACE), "uint8", 255.0)]


def build_wav2lip_store(root: str, out_path: str, n: int, seed: int, layout: str,
                        progress: bool = True):
    from edgec.progress import progress_bar

    skipped = SkipLog()
    clips = find_wav2lip_clips(root, layout, skipped)
    if not clips:
        raise EdgecError("calibration data %s: no usable clip (%s)"
                         % (root, _skip_summary(skipped) or "nothing found"))
    plan = plan_samples([c.valid for c in clips], n, seed)
    detector = None
    if layout == "videos":
        from edgec.calib.faces import HaarFaceDetector

        detector = HaarFaceDetector()
    with SampleStoreWriter(out_path, WAV2LIP_STORE_INPUTS, len(plan)) as writer:
        by_clip = OrderedDict()  # type: Dict[int, List[Tuple[int, int]]]
        for clip_id, frame, ref in plan:
            by_clip.setdefault(clip_id, []).append((frame, ref))
        with progress_bar(total=len(plan), desc="calibration samples", unit="frame",
                          enabled=progress) as bar:
            for clip_id, pairs in by_clip.items():
                clip = clips[clip_id]
                needed = sorted({i for pair in pairs for i in pair})
                try:
                    mel, crops = clip.load(needed, detector)
                except (MediaError, ValueError) as exc:
                    skipped.add("unreadable", "%s (%s)" % (clip.label, exc))
                    bar.update(len(pairs))
                    continue
                for frame, ref in pairs:
                    window = melmod.mel_window(mel, frame, clip.fps)
                    if window is None:
                        skipped.add("audio ends before the frame", "%s#%d" % (clip.label, frame))
                    elif crops.get(frame) is None or crops.get(ref) is None:
                        skipped.add("no face found", "%s#%d" % (clip.label, frame))
                    else:
                        writer.append({"mel": window[None],
                                       "face": wav2lip_face_input(crops[frame], crops[ref])})
                    bar.update(1)
        if writer.count == 0:
            raise EdgecError("calibration data %s gave no sample: %s"
                             % (root, _skip_summary(skipped)))
        summary = {"layout": layout, "clips_found": len(clips) + _clips_skipped(skipped),
                   "clips_used": len(by_clip), "requested": n, "planned": len(plan),
                   "written": writer.count, "skipped": skipped.to_dict()}
        path = writer.close({"source": os.path.abspath(root), "seed": seed, "reader": "wav2lip",
                             "summary": summary})
    return path, summary


def _clips_skipped(skipped: SkipLog) -> int:
    return sum(len(v) for k, v in skipped.by_reason.items()
               if k in ("no audio", "unreadable", "shorter than one mel window"))


def _skip_summary(skipped: SkipLog) -> str:
    return "; ".join("%d %s" % (len(v), k) for k, v in skipped.by_reason.items())


# -- arrays ---------------------------------------------------------------------------------------

def build_array_store(root: str, out_path: str, inputs: Sequence[Tuple[str, Tuple[int, ...]]],
                      n: int, seed: int, progress: bool = True):
    """Samples from .npz/.npy files holding ready inputs (leading batch axis)."""
    from edgec.progress import progress_bar

    files = [f for f in _walk_files(root) if f.endswith((".npz", ".npy"))]
    skipped = SkipLog()
    tables = []
    for path in files:
        try:
            if path.endswith(".npy"):
                if len(inputs) != 1:
                    raise ValueError("a .npy file holds one array; the model has inputs %s: "
                                     "use .npz" % [name for name, _ in inputs])
                arrays = {inputs[0][0]: np.load(path, mmap_mode="r", allow_pickle=False)}
            else:
                with np.load(path, allow_pickle=False) as archive:
                    arrays = {name: archive[name] for name, _ in inputs if name in archive}
            rows = _check_arrays(path, arrays, inputs)
            tables.append((path, arrays, rows))
        except (ValueError, OSError, KeyError) as exc:
            skipped.add("unreadable", "%s (%s)" % (path, exc))
    if not tables:
        raise EdgecError("calibration data %s: no usable array file (%s)"
                         % (root, _skip_summary(skipped) or "none found"))
    rng = np.random.default_rng(seed)
    counts = [rows for _, _, rows in tables]
    total = sum(counts)
    chosen = np.sort(rng.choice(total, size=min(n, total), replace=False))
    bounds = np.cumsum(counts)
    specs = [StoreInput(name, shape, "float32") for name, shape in inputs]
    with SampleStoreWriter(out_path, specs, len(chosen)) as writer:
        with progress_bar(total=len(chosen), desc="calibration samples", unit="sample",
                          enabled=progress) as bar:
            for flat in chosen:
                file_id = int(np.searchsorted(bounds, flat, side="right"))
                row = int(flat - (bounds[file_id] - counts[file_id]))
                arrays = tables[file_id][1]
                writer.append({name: np.asarray(arrays[name][row], dtype=np.float32)
                               for name, _ in inputs})
                bar.update(1)
        summary = {"layout": "arrays", "files_found": len(files), "files_used": len(tables),
                   "requested": n, "written": writer.count, "skipped": skipped.to_dict()}
        path = writer.close({"source": os.path.abspath(root), "seed": seed, "reader": "arrays",
                             "summary": summary})
    return path, summary


def _check_arrays(path, arrays, inputs) -> int:
    rows = None
    for name, shape in inputs:
        if name not in arrays:
            raise ValueError("no array named %r" % name)
        got = tuple(arrays[name].shape[1:])
        if got != tuple(shape):
            raise ValueError("array %r has sample shape %s, the model needs %s"
                             % (name, list(got), list(shape)))
        count = arrays[name].shape[0]
        if rows is not None and count != rows:
            raise ValueError("arrays have different sample counts")
        rows = count
    return int(rows or 0)


def _only_arrays(root: str) -> bool:
    files = _walk_files(root) if os.path.isdir(root) else []
    return bool(files) and all(f.endswith((".npz", ".npy")) for f in files
                               if not os.path.basename(f).startswith("."))


def build_store(root: str, out_path: str, inputs, data_family: Optional[str], n: int,
                seed: int, progress: bool = True):
    """Dispatch on the folder's layout. `inputs`: [(name, shape without batch)]."""
    if data_family == "portrait" and not _only_arrays(root):
        from edgec.calib.portrait import build_portrait_store

        return build_portrait_store(root, out_path, n, seed, progress)
    layout = detect_layout(root)
    if layout == "arrays":
        return build_array_store(root, out_path, inputs, n, seed, progress)
    if data_family != "wav2lip":
        raise EdgecError("calibration data %s holds %s, which edgec turns into inputs for "
                         "Wav2Lip-family models only; give this model .npz/.npy arrays of its "
                         "inputs %s" % (root, layout, [name for name, _ in inputs]))
    return build_wav2lip_store(root, out_path, n, seed, layout, progress)
