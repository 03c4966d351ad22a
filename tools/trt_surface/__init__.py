"""Derive the Python API surface of several TensorRT versions, as data for test doubles.

Run from the repository root (network access to PyPI needed; nothing is installed in the venv):

    python -m tools.trt_surface                      # writes tests/trt_api/surface-*.json
    python -m tools.trt_surface --make-deltas REPO   # also rebuilds tests/trt_api/deltas.json
                                                     # from a git clone of NVIDIA/TensorRT
    python -m tools.trt_surface --check-extractor    # binary extractor vs the 10.13 stubs
    python -m tools.trt_surface --only 10.3          # one surface read straight from its wheel

What it reads, per version (the recipe is in surfaces.py):

* 10.13   the `tensorrt-stubs==10.13.0.35.1` package in this interpreter's site-packages
          (pybind11-stubgen output), parsed with `ast` (stubs.py).
* 11.4    wheel `tensorrt-cu13-bindings==11.4.0.106`.
* 8.6     wheel `tensorrt_bindings==8.6.1` (JetPack 6.0 ships 8.6.2), written as is and the
          base for 8.5.
* 10.3    wheel `tensorrt-cu12-bindings==10.3.0` (JetPack 6.1 and 6.2).
* 10.16   wheel `tensorrt-cu12-bindings==10.16.1.11` (JetPack 7.2).
* 8.4     wheel `nvidia-tensorrt==8.4.1.5` (~740 MB; only its tensorrt.so is read). Used as the
          base for 8.2; it is not written out itself.
* 8.5     = the 8.6.1 wheel's surface with the differences between the binding sources of
          NVIDIA/TensorRT at tags release/8.6 and 8.5.2 (JetPack 5.1 ships 8.5.2) applied.
* 8.2     = the 8.4.1.5 wheel's surface with the differences between the sources at tags
          8.4.1 and 8.2.1 (JetPack 4.6 ships 8.2.1) applied.
          The differences live in tests/trt_api/deltas.json, each entry with its source path;
          `--make-deltas` recomputes them from the `python/src/**.cpp` pybind11 code
          (cpp_bindings.py, deltas.py).

The wheels' `tensorrt.so` is never loaded or imported (nor is `tensorrt`): its module-init code
is disassembled with capstone and abstractly interpreted (elf.py, disasm.py, pybind.py) into
the pybind11 registrations it makes, which become classes, methods, properties, enum members
and functions (events.py). The wheel's `__init__.py` is parsed too (stubs.py). The extractor is
validated against the 10.13 stubs on `tensorrt-cu12-bindings==10.13.0.35`: `--check-extractor`
prints the differences. The output format is described in schema.py.

Modules: wheels.py fetches and reads wheels, surfaces.py says which version comes from where,
__main__.py is the command line.
"""
