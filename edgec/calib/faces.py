"""Face boxes without downloads: OpenCV's bundled Haar cascade, smoothed over time."""
import os
from typing import Dict, Optional, Tuple

import numpy as np

Box = Tuple[int, int, int, int]  # x1, y1, x2, y2


class HaarFaceDetector(object):
    """Largest frontal face per frame; detection runs on a frame scaled to `work_size` pixels
    on its long side, which keeps it fast on large videos."""

    def __init__(self, work_size: int = 320):
        import cv2

        path = os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_default.xml")
        self.cascade = cv2.CascadeClassifier(path)
        if self.cascade.empty():
            raise RuntimeError("OpenCV's Haar cascade %s could not be loaded" % path)
        self.work_size = work_size

    def detect(self, rgb: np.ndarray) -> Optional[Box]:
        import cv2

        height, width = rgb.shape[:2]
        scale = min(1.0, self.work_size / float(max(height, width)))
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        if scale < 1.0:
            gray = cv2.resize(gray, (int(width * scale), int(height * scale)),
                              interpolation=cv2.INTER_AREA)
        min_side = max(24, int(min(gray.shape) * 0.15))
        faces = self.cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5,
                                              minSize=(min_side, min_side))
        if len(faces) == 0:
            return None
        x, y, w, h = max(faces, key=lambda f: f[2] * f[3])
        return (int(x / scale), int(y / scale), int((x + w) / scale), int((y + h) / scale))


def smooth_boxes(boxes: Dict[int, Box], window: int = 5) -> Dict[int, Box]:
    """Each box replaced by the mean of the detected boxes within +-window//2 frames (as
    Wav2Lip's preprocessing does), which steadies the crop against detector jitter."""
    half = window // 2
    smoothed = {}
    for index in boxes:
        near = [boxes[j] for j in range(index - half, index + half + 1) if j in boxes]
        smoothed[index] = tuple(int(round(v)) for v in np.mean(near, axis=0))
    return smoothed


def crop_face(rgb: np.ndarray, box: Box, size: int, pad_bottom: float = 0.1) -> np.ndarray:
    """Crop the box, extended downwards by `pad_bottom` of its height to keep the chin (Wav2Lip
    pads the bottom), clipped to the frame, resized to size x size."""
    import cv2

    x1, y1, x2, y2 = box
    y2 = y2 + int(pad_bottom * (y2 - y1))
    height, width = rgb.shape[:2]
    x1, y1, x2, y2 = max(0, x1), max(0, y1), min(width, x2), min(height, y2)
    crop = rgb[y1:y2, x1:x2]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
