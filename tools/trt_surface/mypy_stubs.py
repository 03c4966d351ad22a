"""Make a mypy-readable copy of the tensorrt-stubs package (TensorRT 10.13 Python API stubs).

The generated stubs have a few lines Python cannot parse (a parameter named `in`, parameters
without a default after one with a default) and import the unreachable `tensorrt_libs`. This
copies them to OUT_DIR and fixes exactly those lines, mechanically, so that
`MYPYPATH=OUT_DIR mypy ...` checks edgec's TensorRT code against the real API.

    python -m tools.trt_surface.mypy_stubs OUT_DIR      (scripts/test.sh does)
"""
import ast
import os
import re
import sys

from tools.trt_surface.stubs import split_params

PACKAGES = ("tensorrt", "tensorrt_bindings")


def fix_def(line):
    """Rename a parameter called `in`; give `= ...` to parameters that follow a defaulted one."""
    line = re.sub(r"([(,]\s*)in(\s*:)", r"\1in_\2", line)
    match = re.match(r"^(\s*def \w+\()(.*)(\)\s*->.*:\s*)$", line)
    if not match:
        return line
    params, seen_default = [], False
    for param in split_params(match.group(2)):
        name = param.strip()
        if name.startswith("*"):
            seen_default = False if name == "*" else seen_default
            params.append(param)
            continue
        if "=" in param:
            seen_default = True
        elif seen_default:
            param = param.rstrip() + " = ..."
        params.append(param)
    return match.group(1) + ",".join(params) + match.group(3)


def patch_text(text):
    out = []
    for line in text.splitlines():
        if re.match(r"^import tensorrt_libs\b", line):
            continue  # the CUDA library wheel, unreachable here and untyped
        if line.lstrip().startswith("def "):
            line = fix_def(line)
        out.append(line)
    return "\n".join(out) + "\n"


def main(out_dir):
    import importlib.util

    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            sys.exit("tensorrt-stubs is not installed: pip install --no-deps tensorrt-stubs")
        source = list(spec.submodule_search_locations)[0]
        target = os.path.join(out_dir, package)
        os.makedirs(target, exist_ok=True)
        for name in sorted(os.listdir(source)):
            if not name.endswith(".pyi"):
                continue
            with open(os.path.join(source, name)) as handle:
                text = patch_text(handle.read())
            ast.parse(text, filename=os.path.join(source, name))  # must now parse
            with open(os.path.join(target, name), "w") as handle:
                handle.write(text)
    print("patched tensorrt stubs written to %s" % out_dir)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".mypy-stubs")
