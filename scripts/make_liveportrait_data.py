"""Calibration arrays for LivePortrait's non-image modules (warping W, SPADE decoder G,
stitching S), made the way the pipeline makes them: portrait crops of real video frames go
through the appearance (F) and motion (M) extractors; source and driving frames are different
frames; W's output feeds G. Weights are random unless a folder of released weights is given.

    python scripts/make_liveportrait_data.py --data edgec/data/demo -n 16 -o lp-data
    edgec build --model liveportrait-warping --data lp-data/warping ...

Writes lp-data/{warping,spade,stitching}/arrays.npz.
"""
import argparse
import io
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from edgec.fileio import atomic_write_bytes  # noqa: E402

WEIGHT_FILES = {"liveportrait-appearance": "appearance_feature_extractor.pth",
                "liveportrait-motion": "motion_extractor.pth",
                "liveportrait-warping": "warping_module.pth"}


def _save(path, arrays):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def main():
    import torch

    from edgec.calib.portrait import build_portrait_store
    from edgec.calib.store import SampleStore
    from edgec.models import get_model
    from edgec.models.liveportrait import posed_keypoints

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="videos or images with faces")
    parser.add_argument("-n", type=int, default=16)
    parser.add_argument("--weights", default=None, help="folder of released .pth files")
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()

    def model(name):
        checkpoint = None
        if args.weights:
            checkpoint = os.path.join(args.weights, WEIGHT_FILES[name])
        return get_model(name).build(checkpoint)

    with tempfile.TemporaryDirectory() as scratch:
        store_path, _ = build_portrait_store(args.data, os.path.join(scratch, "s"), args.n + 1,
                                             seed=0, progress=False)
        images = torch.from_numpy(SampleStore(store_path).get(slice(None))["image"])
    count = images.shape[0] - 1
    appearance, motion = model("liveportrait-appearance"), model("liveportrait-motion")
    warping = model("liveportrait-warping")
    with torch.no_grad():
        keypoints = torch.cat([posed_keypoints(*motion(images[i:i + 1]))
                               for i in range(images.shape[0])])
        source, driving = keypoints[:-1], keypoints[1:]  # driving: the next frame
        features = torch.cat([appearance(images[i:i + 1]) for i in range(count)])
        warped = torch.cat([warping(features[i:i + 1], driving[i:i + 1], source[i:i + 1])[0]
                            for i in range(count)])
    rng = np.random.RandomState(0)
    flat_s, flat_d = source.reshape(count, -1).numpy(), driving.reshape(count, -1).numpy()
    _save(os.path.join(args.output, "warping", "arrays.npz"),
          {"feature_3d": features.numpy(), "kp_driving": driving.numpy(),
           "kp_source": source.numpy()})
    _save(os.path.join(args.output, "spade", "arrays.npz"), {"feature": warped.numpy()})
    # Stitching: source and driving keypoints; lip/eye: keypoints plus closing ratios.
    _save(os.path.join(args.output, "stitching", "arrays.npz"), {
        "stitching_input": np.concatenate([flat_s, flat_d], 1).astype(np.float32),
        "lip_input": np.concatenate([flat_s, rng.uniform(0, 0.5, (count, 2))], 1
                                    ).astype(np.float32),
        "eye_input": np.concatenate([flat_s, rng.uniform(0, 0.5, (count, 3))], 1
                                    ).astype(np.float32)})
    print("wrote %d samples for warping, spade and stitching under %s (weights: %s)"
          % (count, args.output, args.weights or "random"))


if __name__ == "__main__":
    main()
