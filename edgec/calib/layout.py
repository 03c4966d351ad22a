"""What a calibration folder holds: its files, and which layout they form."""
import os
from typing import List

from edgec.errors import EdgecError

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
ARRAY_EXTENSIONS = (".npz", ".npy")
FRAME_FOLDER_AUDIO = "audio.wav"  # marks a Wav2Lip preprocessed frame folder


class NoCalibrationData(EdgecError):
    """The folder holds nothing a reader reads; build_store then falls back to arrays."""


def require_folder(root: str) -> None:
    if not os.path.isdir(root):
        raise EdgecError("calibration data %s: no such folder" % root)


def walk_files(root: str) -> List[str]:
    """Every file under root, in a fixed order (sampling depends on it)."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        found.extend(os.path.join(folder, f) for f in sorted(files))
    return found


def array_files(root: str) -> List[str]:
    return [f for f in walk_files(root) if f.endswith(ARRAY_EXTENSIONS)]


def detect_layout(root: str) -> str:
    """"frames", "videos" or "arrays": the first kind the folder holds (media before arrays)."""
    require_folder(root)
    files = walk_files(root)
    if any(os.path.basename(f) == FRAME_FOLDER_AUDIO for f in files):
        return "frames"
    if any(f.lower().endswith(VIDEO_EXTENSIONS) for f in files):
        return "videos"
    if any(f.endswith(ARRAY_EXTENSIONS) for f in files):
        return "arrays"
    raise NoCalibrationData("calibration data %s holds no videos (%s), no Wav2Lip frame folders "
                            "(<speaker>/<utterance>/*.jpg + audio.wav) and no .npz/.npy arrays"
                            % (root, ", ".join(VIDEO_EXTENSIONS)))
