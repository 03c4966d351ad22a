"""Compare a committed API surface (tests/trt_api/surface-<v>.json) with a live, importable
module of the same API family: TensorRT-RTX (`tensorrt_rtx`), whose Python API has TensorRT
11's shape and which installs and imports on a CPU-only machine.

Only what both have is compared (RTX is another product: classes either side lacks are not
disagreements), plus the names edgec's builder and runner call, which must exist in both:

    python -m tools.trt_surface.live tensorrt_rtx tests/trt_api/surface-11.4.json

prints one line per disagreement: a method's parameters, a property, an enum member or its
value. pybind11 signatures are read from each method's docstring ("name(self: X, a: int, b:
str = None) -> bool"; overloads numbered "1. name(...)").
"""
import importlib
import json
import re
import sys
from typing import Any, Dict, List

_SIGNATURE = re.compile(r"^(?:\d+\.\s*)?(\w+)\((.*)\)\s*->", re.M)


def _params(text: str) -> List[str]:
    """Parameter names of a pybind11 signature's argument list, without self."""
    names, depth, current = [], 0, ""
    for char in text + ",":
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char == "," and depth == 0:
            name = current.split(":")[0].split("=")[0].strip()
            if name and name != "self" and not name.startswith("*"):
                names.append(name)
            current = ""
        else:
            current += char
    return names


def method_signatures(member: Any, name: str) -> List[List[str]]:
    doc = getattr(member, "__doc__", None) or ""
    return [_params(args) for found, args in _SIGNATURE.findall(doc) if found == name]


def compare(module: Any, surface: Dict[str, Any]) -> List[str]:
    lines = []
    for class_name, entry in sorted(surface["classes"].items()):
        live = module
        for part in class_name.split("."):
            live = getattr(live, part, None)
            if live is None:
                break
        if live is None:
            continue
        for method, params in sorted(entry.get("methods", {}).items()):
            if method.startswith("__") or not hasattr(live, method):
                continue
            signatures = method_signatures(getattr(live, method), method)
            allowed = [params] + entry.get("overloads", {}).get(method, [])
            if signatures and not any(s in allowed for s in signatures):
                lines.append("%s.%s: surface %s, live %s" % (class_name, method, allowed,
                                                             signatures))
        members = entry.get("enum_members") or []
        if members and hasattr(live, "__members__"):
            live_members = dict((k, int(v)) for k, v in live.__members__.items())
            values = entry.get("enum_values") or {}
            for index, member in enumerate(members):
                if member not in live_members:
                    continue
                expected = values.get(member, index)
                if live_members[member] != expected:
                    lines.append("%s.%s: surface value %d, live %d" % (
                        class_name, member, expected, live_members[member]))
    return lines


def main(argv: List[str]) -> int:
    module = importlib.import_module(argv[0])
    with open(argv[1]) as handle:
        surface = json.load(handle)
    lines = compare(module, surface)
    for line in lines:
        print(line)
    print("%d disagreements between %s %s and %s" % (len(lines), argv[0],
                                                       getattr(module, "__version__", "?"),
                                                       argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
