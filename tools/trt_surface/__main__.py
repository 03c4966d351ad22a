"""`python -m tools.trt_surface`: writes tests/trt_api/surface-*.json (see the package
docstring); `--make-deltas REPO` first recomputes deltas.json from a NVIDIA/TensorRT clone;
`--check-extractor` prints where the binary extractor differs from the 10.13 stubs, and writes
nothing."""
import argparse
import os
import tempfile
from typing import List, Optional

import tools.trt_surface
from tools.trt_surface import surfaces, wheels
from tools.trt_surface.deltas import make_deltas


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.trt_surface",
                                     description=tools.trt_surface.__doc__.split("\n")[0])
    parser.add_argument("--make-deltas", metavar="TENSORRT_GIT",
                        help="recompute deltas.json from this clone")
    parser.add_argument("--check-extractor", action="store_true",
                        help="compare the binary extractor on the 10.13 wheel with the 10.13 stubs")
    parser.add_argument("--only", metavar="LABEL", action="append",
                        choices=sorted(surfaces.DIRECT),
                        help="write only these surfaces read straight from their wheel "
                             "(repeatable); the others are left as they are")
    parser.add_argument("--out", default=surfaces.OUT_DIR)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    options = parse_args(argv)
    os.makedirs(options.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        disassembler = wheels.x86_64_disassembler(tmp)
        if options.check_extractor:
            for line in surfaces.extractor_differences(disassembler, tmp):
                print(line)
            return
        if options.only:
            surfaces.write_direct_surfaces(options.out, disassembler, tmp, options.only)
            return
        if options.make_deltas:
            surfaces.write_deltas(make_deltas(options.make_deltas))
        deltas = surfaces.read_deltas()
        surfaces.write_stub_surface(options.out)
        surfaces.write_wheel_surfaces(options.out, disassembler, tmp, deltas)
        surfaces.write_direct_surfaces(options.out, disassembler, tmp,
                                       [label for label in surfaces.DIRECT if label != "11.4"])


if __name__ == "__main__":
    main()
