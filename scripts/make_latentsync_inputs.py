"""Write .npz arrays of in-range synthetic LatentSync UNet inputs (edgec.calib.latentsync) into a
folder that `edgec calibrate / sweep --data DIR` reads with its array reader:

    python scripts/make_latentsync_inputs.py --out /tmp/ls-inputs -n 24 [--model latentsync-unet-512]
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    from edgec.calib.latentsync import SOURCE, denoising_samples
    from edgec.fileio import atomic_write_json
    from edgec.models import get_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("-n", type=int, default=24)
    parser.add_argument("--model", default="latentsync-unet")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-file", type=int, default=8, help="samples per .npz file")
    args = parser.parse_args()
    shapes = {i.name: i.shape for i in get_model(args.model).inputs}
    _, frames, latent, _ = shapes["sample"]
    _, tokens, dim = shapes["audio"]
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    for index, start in enumerate(range(0, args.n, args.per_file)):
        arrays = denoising_samples(rng, min(args.per_file, args.n - start), frames, latent,
                                   tokens, dim)
        path = os.path.join(args.out, "inputs_%03d.npz" % index)
        np.savez(path + ".tmp.npz", **arrays)
        os.replace(path + ".tmp.npz", path)
    atomic_write_json(os.path.join(args.out, "SOURCE.json"),
                      {"model": args.model, "samples": args.n, "seed": args.seed,
                       "source": SOURCE})
    print(json.dumps({"out": args.out, "samples": args.n, "source": SOURCE}))


if __name__ == "__main__":
    main()
