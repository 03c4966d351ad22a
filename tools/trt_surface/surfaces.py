"""Which surface file comes from which source: the 10.13 stubs, the 11.4 wheel, and 8.5 / 8.2
derived from the 8.6 / 8.4 wheels with deltas.json; and the extractor check against 10.13.

Each file's "source" field says how it was made, in these words.
"""
import json
import os
from typing import Any, Dict, List

from tools.trt_surface import wheels
from tools.trt_surface.deltas import derive_surface
from tools.trt_surface.schema import finalize_classes, surface_differences, write_surface
from tools.trt_surface.stubs import installed_stub_surface

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(ROOT, "tests", "trt_api")
DELTAS = os.path.join(OUT_DIR, "deltas.json")
STUB_SOURCE = ("tensorrt-stubs==10.13.0.35.1 (tensorrt_bindings/tensorrt.pyi and "
               "tensorrt/__init__.pyi, parsed with ast)")
WHEEL_SOURCE = "wheel %s: tensorrt.so module-init code statically interpreted, __init__.py parsed"
DERIVED_SOURCE = ("wheel %s (statically extracted as for 11.4) with tests/trt_api/deltas.json"
                  "['%s'] applied: binding-source differences NVIDIA/TensorRT %s -> %s")
# (version written, wheel it comes from, deltas.json key): JetPack 5.1 ships 8.5.2, 4.6 8.2.1
DERIVED = (("8.5.2", "8.6", "8.5"), ("8.2.1", "8.4", "8.2"))


def write_stub_surface(out_dir: str) -> str:
    """surface-10.13.json from the installed tensorrt-stubs; returns its path."""
    path = os.path.join(out_dir, "surface-10.13.json")
    write_surface(path, "10.13.0.35", STUB_SOURCE, *installed_stub_surface())
    return path


# Parameter names the static reader of module-init code gets wrong, found by comparing with a live
# module of the same family (`python -m tools.trt_surface.live tensorrt_rtx ...`): the name of
# the last parameter of add_normalization(_v2) is taken from a neighbouring method's name string
# in the 10.16 and 11.4 wheels. TensorRT-RTX 1.7.1 (live) and tensorrt-stubs 10.13 both say
# axesMask, as do the 8.6 and 10.3 wheels.
MISREADS = {("INetworkDefinition", "add_normalization"): ["input", "scale", "bias", "axesMask"],
            ("INetworkDefinition", "add_normalization_v2"): ["input", "scale", "bias",
                                                             "axesMask"]}


def correct_misreads(classes: Any) -> Any:
    for (class_name, method), params in MISREADS.items():
        methods = classes.get(class_name, {}).get("methods", {})
        if method in methods:
            methods[method] = list(params)
    return classes


def write_wheel_surfaces(out_dir: str, disassembler: Any, tmp: str,
                         deltas: Dict[str, Any]) -> None:
    """surface-11.4.json from its wheel; surface-8.5.json and surface-8.2.json from the 8.6
    and 8.4 wheels with the deltas applied. Wheels are downloaded into tmp."""
    read: Dict[str, Any] = {}
    for label in ("11.4", "8.6", "8.4"):
        requirement, tries = wheels.WHEELS[label]
        wheel = wheels.download(requirement, tries, tmp)
        classes, functions, attributes = wheels.read_wheel(wheel, disassembler)
        read[label] = (correct_misreads(classes), functions, attributes,
                       os.path.basename(wheel))
        if label == "11.4":
            classes, functions, attributes, name = read[label]
            write_surface(os.path.join(out_dir, "surface-11.4.json"), "11.4.0.106",
                          WHEEL_SOURCE % name, classes, functions, attributes)
        if label == "8.4":
            os.unlink(wheel)  # 740 MB
    for version, base, key in DERIVED:
        classes, functions, attributes, name = read[base]
        delta = deltas[key]
        write_surface(os.path.join(out_dir, "surface-%s.json" % key), version,
                      DERIVED_SOURCE % (name, key, delta["from"], delta["to"]),
                      *derive_surface(classes, functions, attributes, delta))


# Surfaces read straight from one wheel, by label: (version written, its file's label). JetPack
# 6.0 ships 8.6, 6.2 10.3, 7.2 10.16.
DIRECT = {"11.4": "11.4.0.106", "8.6": "8.6.1", "10.3": "10.3.0", "10.16": "10.16.1.11"}


def write_direct_surfaces(out_dir: str, disassembler: Any, tmp: str, labels: List[str]) -> None:
    """surface-<label>.json for each label of DIRECT, from its wheel alone (no deltas)."""
    for label in labels:
        requirement, tries = wheels.WHEELS[label]
        wheel = wheels.download(requirement, tries, tmp)
        classes, functions, attributes = wheels.read_wheel(wheel, disassembler)
        correct_misreads(classes)
        write_surface(os.path.join(out_dir, "surface-%s.json" % label), DIRECT[label],
                      WHEEL_SOURCE % os.path.basename(wheel), classes, functions, attributes)
        os.unlink(wheel)


def extractor_differences(disassembler: Any, tmp: str) -> List[str]:
    """What the binary extractor gets wrong on 10.13: the 10.13 wheel read as the other wheels
    are, against the 10.13 stubs (the reference)."""
    requirement, tries = wheels.WHEELS["10.13-wheel"]
    binary_classes, _, _ = wheels.read_wheel(wheels.download(requirement, tries, tmp),
                                             disassembler)
    stub_classes, _, _ = installed_stub_surface()
    return surface_differences(finalize_classes(stub_classes), finalize_classes(binary_classes))


def write_deltas(deltas: Dict[str, Any], path: str = DELTAS) -> None:
    with open(path, "w") as f:
        json.dump(deltas, f, indent=1, sort_keys=True)
        f.write("\n")


def read_deltas(path: str = DELTAS) -> Dict[str, Any]:
    with open(path) as f:
        return json.load(f)
