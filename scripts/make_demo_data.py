"""Regenerate the demo calibration set shipped in edgec/data/demo/ from the held-out portraits
clips (scripts/demo_split.py): the first DEMO_SECONDS of each, a fixed square crop around the
face, 224x224, with the clip's own speech (AAC 16 kHz mono), in the raw LRS2 layout.

    python scripts/make_demo_data.py ../shared/data/portraits
"""
import argparse
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from demo_split import DEMO_SECONDS, HELD_OUT  # noqa: E402

TARGET = os.path.join(ROOT, "edgec", "data", "demo")
SIZE = 224
CROP_SCALE = 2.0  # the crop's side in face-box sides: head, hair and chin, as LRS2 frames


def _square_around(box, width, height):
    x1, y1, x2, y2 = box
    side = int(CROP_SCALE * max(x2 - x1, y2 - y1))
    side = min(side, width, height)
    cx, cy = (x1 + x2) // 2, (y1 + y2) // 2 + (y2 - y1) // 8
    left = min(max(0, cx - side // 2), width - side)
    top = min(max(0, cy - side // 2), height - side)
    return left, top, side


def cut_clip(source, target):
    import cv2

    from edgec.calib.faces import HaarFaceDetector
    from edgec.calib.media import decode_audio, iter_frames, probe_video
    from edgec.calib.mel import SAMPLE_RATE
    from edgec.calib.synthetic import write_clip

    info = probe_video(source)
    fps = int(round(info.fps))
    n_frames = int(DEMO_SECONDS * fps)
    frames = [rgb for _, rgb in iter_frames(source, n_frames)]
    detector = HaarFaceDetector()
    box = next(b for b in (detector.detect(f) for f in frames) if b is not None)
    left, top, side = _square_around(box, frames[0].shape[1], frames[0].shape[0])
    crops = [cv2.resize(f[top:top + side, left:left + side], (SIZE, SIZE),
                        interpolation=cv2.INTER_AREA) for f in frames]
    audio = decode_audio(source)[:int(DEMO_SECONDS * SAMPLE_RATE)]
    write_clip(target, crops, fps, SIZE, audio)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("portraits", help="the portraits data folder (holds videos/)")
    args = parser.parse_args()
    if os.path.isdir(TARGET):
        shutil.rmtree(TARGET)
    for index, name in enumerate(HELD_OUT):
        cut_clip(os.path.join(args.portraits, "videos", name + ".mp4"),
                 os.path.join(TARGET, "pretrain", "spk%d" % index, "%05d.mp4" % index))
    with open(os.path.join(TARGET, "README.md"), "w") as handle:
        handle.write(
            "# Demo calibration set\n\n"
            "Made by `scripts/make_demo_data.py`: the first %g s of three clips of the "
            "LivePortrait project's example videos (%s; MIT licence, Copyright (c) 2024 "
            "Kuaishou Visual Generation and Interaction Center), a fixed crop around the face "
            "at %dx%d, with each clip's own speech, in the raw LRS2 layout. The demo network "
            "(lite-wav2lip-demo.pth) was trained on other clips and never saw these three "
            "people.\n" % (DEMO_SECONDS, ", ".join(HELD_OUT), SIZE, SIZE))
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(TARGET) for f in fs)
    print("wrote %s (%d KB)" % (TARGET, total // 1024))


if __name__ == "__main__":
    main()
