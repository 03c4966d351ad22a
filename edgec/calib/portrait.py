"""The portrait reader, for image-input portrait models (LivePortrait's appearance and motion
extractors): 256 x 256 RGB face crops, from videos (audio not needed), Wav2Lip frame folders or
plain image folders.

LivePortrait crops generously around the face (head and some shoulders), so the detected face
box is enlarged PORTRAIT_SCALE times around its centre, kept square, clipped to the frame.
"""
import os
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import numpy as np

from edgec.calib.layout import VIDEO_EXTENSIONS, NoCalibrationData, require_folder, walk_files
from edgec.calib.media import MediaError, iter_frames, probe_video
from edgec.calib.reader_registry import register_reader
from edgec.calib.sampling import SkipLog, plan_samples
from edgec.calib.store import SampleStoreWriter, StoreInput
from edgec.errors import EdgecError

PORTRAIT_SIZE = 256
PORTRAIT_SCALE = 1.8
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
PORTRAIT_STORE_INPUTS = [StoreInput("image", (3, PORTRAIT_SIZE, PORTRAIT_SIZE), "uint8", 255.0)]


def portrait_box(box: Tuple[int, int, int, int], width: int, height: int,
                 scale: float = PORTRAIT_SCALE) -> Tuple[int, int, int, int]:
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1) * scale
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    return (int(max(0, cx - side / 2)), int(max(0, cy - side / 2)),
            int(min(width, cx + side / 2)), int(min(height, cy + side / 2)))


def crop_portrait(rgb: np.ndarray, box: Tuple[int, int, int, int]) -> np.ndarray:
    import cv2

    x1, y1, x2, y2 = portrait_box(box, rgb.shape[1], rgb.shape[0])
    crop = cv2.resize(rgb[y1:y2, x1:x2], (PORTRAIT_SIZE, PORTRAIT_SIZE),
                      interpolation=cv2.INTER_AREA)
    return crop.transpose(2, 0, 1)


def _sources(root: str, skipped: SkipLog) -> List[Tuple[str, int, bool]]:
    """(path, frame count, is_video) for every video and image under root."""
    found = []
    for path in walk_files(root):
        lowered = path.lower()
        if lowered.endswith(VIDEO_EXTENSIONS):
            try:
                info = probe_video(path)
            except MediaError as exc:
                skipped.add("unreadable", "%s (%s)" % (path, exc))
                continue
            if info.n_frames > 0:
                found.append((path, info.n_frames, True))
        elif lowered.endswith(IMAGE_EXTENSIONS):
            found.append((path, 1, False))
    return found


def build_portrait_store(root: str, out_path: str, n: int, seed: int, progress: bool = True):
    from edgec.calib.faces import HaarFaceDetector
    from edgec.progress import progress_bar

    require_folder(root)
    skipped = SkipLog()
    sources = _sources(root, skipped)
    if not sources:
        # Only a folder with no media at all may fall back to arrays: unreadable videos are
        # reported, not passed over.
        error = EdgecError if skipped.total() else NoCalibrationData
        raise error("calibration data %s holds no videos or images for a portrait model "
                    "(%s)" % (root, skipped.summary() or "nothing found"))
    plan = plan_samples([count for _, count, _ in sources], n, seed)
    detector = HaarFaceDetector()
    by_source = OrderedDict()  # type: Dict[int, List[int]]
    for source_id, frame, _ in plan:
        by_source.setdefault(source_id, []).append(frame)
    with SampleStoreWriter(out_path, PORTRAIT_STORE_INPUTS, len(plan)) as writer:
        with progress_bar(total=len(plan), desc="portrait samples", unit="frame",
                          enabled=progress) as bar:
            for source_id, frames in by_source.items():
                path, _, is_video = sources[source_id]
                try:
                    images = _load(path, frames, is_video)
                except (MediaError, OSError, ValueError) as exc:
                    skipped.add("unreadable", "%s (%s)" % (path, exc))
                    bar.update(len(frames))
                    continue
                for frame in frames:
                    rgb = images.get(frame)
                    box = detector.detect(rgb) if rgb is not None else None
                    if box is None:
                        skipped.add("no face found", "%s#%d" % (path, frame))
                    else:
                        writer.append({"image": crop_portrait(rgb, box)})
                    bar.update(1)
        if writer.count == 0:
            raise EdgecError("calibration data %s gave no sample: %s"
                             % (root, skipped.summary()))
        summary = {"layout": "portrait", "sources_found": len(sources),
                   "sources_used": len(by_source), "requested": n, "planned": len(plan),
                   "written": writer.count, "skipped": skipped.to_dict()}
        path_out = writer.close({"source": os.path.abspath(root), "seed": seed,
                                 "reader": "portrait", "summary": summary})
    return path_out, summary


def _load(path: str, frames: List[int], is_video: bool) -> Dict[int, Optional[np.ndarray]]:
    if not is_video:
        import cv2

        bgr = cv2.imread(path)
        if bgr is None:
            raise ValueError("not a readable image")
        return {0: cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)}
    wanted = set(frames)
    images = {}
    for index, rgb in iter_frames(path, max(frames)):
        if index in wanted:
            images[index] = rgb
    return images


register_reader("portrait", build_portrait_store,
                describe="videos (audio not needed), Wav2Lip frame folders or images with faces, "
                         "as 256 x 256 crops")
