"""Regenerate the demo calibration set shipped in edgec/data/demo/.

Four 2-second clips in the raw LRS2 layout (224x224, 25 fps, H.264 + AAC 16 kHz mono): NASA's
public-domain astronaut portrait (shipped with scikit-image), moved and scaled per frame, with
synthesised speech-like audio. Deterministic: the same files every run with the same libraries.

    python scripts/make_demo_data.py
"""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from edgec.calib.synthetic import write_talking_clip  # noqa: E402

TARGET = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "edgec", "data", "demo")


def main():
    if os.path.isdir(TARGET):
        shutil.rmtree(TARGET)
    for index in range(4):
        path = os.path.join(TARGET, "pretrain", "spk%d" % (index // 2), "%05d.mp4" % index)
        write_talking_clip(path, n_frames=50, seed=100 + index)
    with open(os.path.join(TARGET, "README.md"), "w") as handle:
        handle.write(
            "# Demo calibration set\n\n"
            "Made by `scripts/make_demo_data.py`: NASA's public-domain astronaut portrait "
            "(from scikit-image), moved and scaled per frame, with synthesised speech-like "
            "audio, in the raw LRS2 layout. For trying edgec end to end, not for measuring "
            "quality: the faces are one person and the audio is not speech.\n")
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(TARGET) for f in fs)
    print("wrote %s (%d KB)" % (TARGET, total // 1024))


if __name__ == "__main__":
    main()
