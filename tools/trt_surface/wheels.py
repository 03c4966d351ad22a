"""TensorRT binding wheels: fetched with `pip download` (never installed) and read without
loading them: the extension module's init code is interpreted abstractly, the package's
__init__.py parsed.

capstone is the one dependency beyond the standard library; where this interpreter lacks it,
it is pip-installed into the run's temporary folder, so nothing is added to the environment.
"""
import glob
import os
import posixpath
import re
import subprocess
import sys
import zipfile
from typing import Any, Dict, List, Set, Tuple

from tools.trt_surface.elf import ElfImage, demangle_all
from tools.trt_surface.events import build_surface
from tools.trt_surface.pybind import RegistrationTracer
from tools.trt_surface.stubs import Surface, apply_init_py

# version label: (requirement, [(python version, platform), ...] to try in turn); the
# bindings wheels are per Python version, and not every version exists for every platform tag
WHEELS: Dict[str, Tuple[str, List[Tuple[str, str]]]] = {
    "11.4": ("tensorrt-cu13-bindings==11.4.0.106",
             [("3.12", "manylinux_2_28_x86_64"), ("3.11", "manylinux_2_28_x86_64"),
              ("3.10", "manylinux_2_28_x86_64")]),
    # JetPack 6.2 ships 10.3, JetPack 7.2 10.16 (the x86-64 wheels have the same bindings)
    "10.3": ("tensorrt-cu12-bindings==10.3.0",
             [("3.10", "manylinux_2_17_x86_64"), ("3.11", "manylinux_2_17_x86_64"),
              ("3.10", "manylinux_2_28_x86_64")]),
    "10.16": ("tensorrt-cu12-bindings==10.16.1.11",
              [("3.12", "manylinux_2_28_x86_64"), ("3.11", "manylinux_2_28_x86_64"),
               ("3.10", "manylinux_2_28_x86_64")]),
    "10.13-wheel": ("tensorrt-cu12-bindings==10.13.0.35",
                    [("3.11", "manylinux_2_28_x86_64"), ("3.11", "manylinux_2_17_x86_64")]),
    "8.6": ("tensorrt_bindings==8.6.1",
            [("3.10", "manylinux_2_17_x86_64"), ("3.8", "manylinux_2_17_x86_64"),
             ("3.11", "manylinux2014_x86_64")]),
    "8.4": ("nvidia-tensorrt==8.4.1.5",
            [("3.8", "manylinux_2_17_x86_64"), ("3.6", "manylinux_2_17_x86_64"),
             ("3.9", "manylinux_2_17_x86_64")]),
}
ENTRY_POINTS = {"PyInit_tensorrt", "tensorrt::pybind11_exec_tensorrt(_object*)"}
EXTENSION = re.compile(r"(^|/)tensorrt(\.cpython[^/]*)?\.so$")


def x86_64_disassembler(tmp: str) -> Any:
    """A capstone disassembler for x86-64 with operand details; capstone is pip-installed into
    tmp when this interpreter has none."""
    try:
        import capstone
    except ImportError:
        target = os.path.join(tmp, "pylib")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", target,
                        "capstone"], check=True)
        sys.path.insert(0, target)
        import capstone
    disassembler = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    disassembler.detail = True
    return disassembler


def download(requirement: str, tries: List[Tuple[str, str]], dest: str) -> str:
    """The path of the wheel for requirement, downloaded into dest."""
    for python_version, platform in tries:
        result = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                                 "--only-binary=:all:", "--python-version", python_version,
                                 "--platform", platform, requirement, "-d", dest],
                                capture_output=True, text=True)
        if result.returncode == 0:
            name = requirement.split("==")[0].replace("-", "_").lower()
            for wheel in sorted(glob.glob(os.path.join(dest, "*.whl"))):
                if os.path.basename(wheel).lower().startswith(name):
                    return wheel
    raise SystemExit("could not download " + requirement)


def read_wheel(path: str, disassembler: Any) -> Surface:
    """The surface of a bindings wheel: its tensorrt extension module's registrations, plus what
    the package's __init__.py adds."""
    with zipfile.ZipFile(path) as wheel:
        extension = next(n for n in wheel.namelist() if EXTENSION.search(n))
        init = posixpath.join(posixpath.dirname(extension), "__init__.py")
        init_text = wheel.read(init).decode() if init in wheel.namelist() else ""
        image = ElfImage(wheel.read(extension))
    demangled = demangle_all(name for name, _ in image.funcs.values())
    events = RegistrationTracer(image, disassembler, demangled).analyse(ENTRY_POINTS)
    classes, functions = build_surface(events)
    attributes: Set[str] = set()
    if init_text:
        apply_init_py(init_text, classes, functions, attributes)
    return classes, functions, attributes
