"""Regenerate the bundle `edgec selftest` ships (edgec/data/selftest/bundle.tar.gz), with edgec's
own commands, as a user would make one:

1. seeded calibration arrays: smooth random images (a coarse random grid, bilinearly
   upsampled), in one .npz with the model's input name;
2. `edgec build --model edgec.models.selftest_net:SelftestNet --input image:1x3x16x16 --data
   <npz dir> -n 64 --precision mix --budget psnr>=fp16-12 -o <dir>` (export, calibration, sweep,
   MIX quantization, reference.npz);
3. `edgec quantize --precision fp16` and `--precision int8` into the same folder (reusing the
   cached export and calibration);
4. `edgec pack <dir> -o edgec/data/selftest/bundle.tar.gz`.

    python scripts/make_selftest_bundle.py [--work DIR]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_DIR = os.path.join(ROOT, "edgec", "data", "selftest")
BUNDLE = os.path.join(TARGET_DIR, "bundle.tar.gz")
MODEL = "edgec.models.selftest_net:SelftestNet"
INPUT = "image:1x3x16x16"
SAMPLES = 64
IMAGES = 96  # more than SAMPLES, so sampling chooses
SEED = 17
BUDGET = "psnr>=fp16-12"  # relative: a random network's absolute PSNR means little

README = """# Self-test bundle

`bundle.tar.gz` is what `edgec selftest` unpacks and builds on a device: a tiny random-weight
network (`edgec/models/selftest_net.py`: convolutions, a strided convolution, a ConvTranspose
with in_channels != out_channels, ReLUs, a residual Add and a channel Concat; input `image`
1x3x16x16, output 3x16x16) as FP32, FP16, INT8 and MIX ONNX files, with its calibration cache,
MIX plan, quality report and FP32 reference outputs (`reference.npz`). Its calibration data were
{images} seeded smooth random images; the weights are random, so its quality figures describe
quantizing a random network.

Made by edgec itself, with `python scripts/make_selftest_bundle.py`, which runs:

```sh
edgec build --model {model} --input {input} --data <npz dir> -n {samples} \\
    --precision mix --budget '{budget}' --device cpu -o <dir>
edgec quantize --model {model} --input {input} --data <npz dir> -n {samples} \\
    --precision fp16 -o <dir>
edgec quantize ... --precision int8 -o <dir>
edgec pack <dir> -o edgec/data/selftest/bundle.tar.gz
```
"""


def smooth_images(count, seed, size=16, grid=4):
    """8-bit images scaled to [0, 1]: a coarse uniform random grid per channel, bilinearly
    upsampled and rounded to multiples of 1/255 (as decoded images are; it also lets the
    bundle's reference inputs compress)."""
    rng = np.random.RandomState(seed)
    coarse = rng.random_sample((count, 3, grid, grid))
    position = np.linspace(0, grid - 1, size)
    low = np.minimum(np.floor(position).astype(int), grid - 2)
    frac = position - low
    # Along rows, then along columns.
    rows = coarse[:, :, low, :] * (1 - frac)[None, None, :, None] \
        + coarse[:, :, low + 1, :] * frac[None, None, :, None]
    image = rows[:, :, :, low] * (1 - frac) + rows[:, :, :, low + 1] * frac
    return (np.round(image * 255) / 255).astype(np.float32)


def edgec(*args):
    command = [sys.executable, "-m", "edgec.cli"] + [str(a) for a in args]
    print("$ edgec " + " ".join(str(a) for a in args), flush=True)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.check_call(command, cwd=ROOT, env=env)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", help="Keep the data and build folder here (default: a "
                                       "temporary folder, removed afterwards).")
    args = parser.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="edgec-selftest-")
    try:
        data_dir = os.path.join(work, "data")
        out_dir = os.path.join(work, "build")
        os.makedirs(data_dir, exist_ok=True)
        np.savez(os.path.join(data_dir, "calibration.npz"), image=smooth_images(IMAGES, SEED))
        common = ["--model", MODEL, "--input", INPUT, "--data", data_dir, "-n", SAMPLES,
                  "--no-progress", "-o", out_dir]
        edgec("build", "--precision", "mix", "--budget", BUDGET, "--device", "cpu", *common)
        for precision in ("fp16", "int8"):
            edgec("quantize", "--precision", precision, *common)
        os.makedirs(TARGET_DIR, exist_ok=True)
        edgec("pack", out_dir, "-o", BUNDLE)
        with open(os.path.join(TARGET_DIR, "README.md"), "w") as handle:
            handle.write(README.format(images=IMAGES, model=MODEL, input=INPUT,
                                       samples=SAMPLES, budget=BUDGET))
        print("wrote %s (%d KB)" % (BUNDLE, os.path.getsize(BUNDLE) // 1024))
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
