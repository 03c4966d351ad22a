"""The Wav2Lip reader: (mel window, masked face + reference face) inputs from
- videos: raw LRS2 (`<split>/<speaker>/<utterance>.mp4`, audio inside) or any folder of videos;
  faces are detected (OpenCV's bundled Haar cascade) and boxes smoothed over time;
- frames: Wav2Lip's preprocessed layout (`<speaker>/<utterance>/<frame>.jpg` + `audio.wav`),
  frames already face crops.
"""
import os
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from edgec.calib import mel as melmod
from edgec.calib.layout import (FRAME_FOLDER_AUDIO, VIDEO_EXTENSIONS, NoCalibrationData,
                                detect_layout, walk_files)
from edgec.calib.media import MediaError, decode_audio, iter_frames, probe_video
from edgec.calib.reader_registry import register_reader
from edgec.calib.sampling import SkipLog, plan_samples
from edgec.calib.store import SampleStoreWriter, StoreInput
from edgec.errors import EdgecError

WAV2LIP_FACE = 96
WAV2LIP_FPS_FRAMES = 25.0  # Wav2Lip's preprocessing writes 25 fps frame folders
WAV2LIP_STORE_INPUTS = [StoreInput("mel", (1, 80, 16), "float32"),
                        StoreInput("face", (6, WAV2LIP_FACE, WAV2LIP_FACE), "uint8", 255.0)]
# The unmasked target frame: ground truth for training a teacher (not a model input).
WAV2LIP_TARGET = StoreInput("target", (3, WAV2LIP_FACE, WAV2LIP_FACE), "uint8", 255.0)


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
        self.fps = WAV2LIP_FPS_FRAMES
        self.valid = _valid_frames(len(self.frames), self.fps,
                                   _wav_seconds(os.path.join(folder, FRAME_FOLDER_AUDIO)))

    def load(self, needed: Sequence[int], detector=None):
        import cv2

        mel = melmod.melspectrogram(decode_audio(os.path.join(self.path, FRAME_FOLDER_AUDIO)))
        crops = {}
        for index in needed:
            bgr = cv2.imread(os.path.join(self.path, self.frames[index]))
            crops[index] = (None if bgr is None else cv2.resize(
                cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (WAV2LIP_FACE, WAV2LIP_FACE),
                interpolation=cv2.INTER_AREA))
        return mel, crops


def _wav_seconds(path: str) -> float:
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
        candidates = [f for f in walk_files(root) if f.lower().endswith(VIDEO_EXTENSIONS)]
        make = VideoClip
    else:
        candidates = sorted({os.path.dirname(f) for f in walk_files(root)
                             if os.path.basename(f) == FRAME_FOLDER_AUDIO})
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


def build_wav2lip_store(root: str, out_path: str, n: int, seed: int, progress: bool = True,
                        with_target: bool = False):
    from edgec.progress import progress_bar

    layout = detect_layout(root)
    if layout == "arrays":
        raise NoCalibrationData("calibration data %s holds no videos and no Wav2Lip frame "
                                "folders" % root)
    skipped = SkipLog()
    clips = find_wav2lip_clips(root, layout, skipped)
    if not clips:
        raise EdgecError("calibration data %s: no usable clip (%s)"
                         % (root, skipped.summary() or "nothing found"))
    plan = plan_samples([c.valid for c in clips], n, seed)
    detector = None
    if layout == "videos":
        from edgec.calib.faces import HaarFaceDetector

        detector = HaarFaceDetector()
    fields = WAV2LIP_STORE_INPUTS + ([WAV2LIP_TARGET] if with_target else [])
    positions = []  # type: List[List[int]]  # [clip, frame] of each sample: runs of frames
    with SampleStoreWriter(out_path, fields, len(plan)) as writer:
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
                        sample = {"mel": window[None],
                                  "face": wav2lip_face_input(crops[frame], crops[ref])}
                        if with_target:
                            sample["target"] = crops[frame].transpose(2, 0, 1)
                        writer.append(sample)
                        positions.append([clip_id, frame])
                    bar.update(1)
        if writer.count == 0:
            raise EdgecError("calibration data %s gave no sample: %s"
                             % (root, skipped.summary()))
        summary = {"layout": layout, "clips_found": len(clips) + _clips_skipped(skipped),
                   "clips_used": len(by_clip), "requested": n, "planned": len(plan),
                   "written": writer.count, "skipped": skipped.to_dict()}
        path = writer.close({"source": os.path.abspath(root), "seed": seed, "reader": "wav2lip",
                             "positions": positions,
                             "summary": summary})
    return path, summary


def _clips_skipped(skipped: SkipLog) -> int:
    return sum(len(v) for k, v in skipped.by_reason.items()
               if k in ("no audio", "unreadable", "shorter than one mel window"))


register_reader("wav2lip", build_wav2lip_store,
                describe="videos with audio, or Wav2Lip frame folders (<speaker>/<utterance>/"
                         "*.jpg + audio.wav)")
