"""The shape of the edgec package, for restructuring notes: modules and lines per package, the
largest modules, imports that run against the layering (the device half importing a workstation
package), and the parameter counts of the workstation entry points people call.

    python benchmarks/tree_shape.py [--json]

Read with `ast` only (nothing is imported), so it measures any checkout, old or new.
"""
import argparse
import ast
import json
import os
import sys
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

try:
    from import_graph import import_graph, module_files
except ImportError:  # a checkout from before the test tiers (e78ff7b and earlier)
    from test_import_cycles import import_graph, module_files

# What runs on a Jetson and may import only itself and the base modules.
DEVICE_HALF = ("edgec.artifacts", "edgec.settings", "edgec.fingerprints", "edgec.runtime",
               "edgec.jetson")
WORKSTATION = ("edgec.pipeline", "edgec.quant", "edgec.exporter", "edgec.models", "edgec.calib",
               "edgec.distill", "edgec.fleet", "edgec.latency", "edgec.commands")
# The workstation stages, which the pipeline composes: they import no pipeline or command.
STAGES = ("edgec.quant", "edgec.exporter", "edgec.models", "edgec.calib", "edgec.distill",
          "edgec.latency")
ABOVE_STAGES = ("edgec.pipeline", "edgec.commands", "edgec.cli")
# (module, function) of the entry points whose parameter lists the restructuring is about; the
# first that exists is counted, so old and new layouts both answer.
ENTRY_POINTS = {
    "calibrate": [("edgec.quant.calibration.calibrate", "calibrate"),
                  ("edgec.quant.calibrate", "calibrate")],
    "quantize": [("edgec.quant.quantize", "quantize")],
    "sweep": [("edgec.quant.search.folder_sweep", "sweep"), ("edgec.quant.sweep_stage", "sweep")],
    "output thresholds": [("edgec.quant.search.output_thresholds", "output_thresholds"),
                          ("edgec.quant.output_search", "output_thresholds")],
    "edgec distill (command)": [("edgec.commands.distill", "distill")],
}


def within(module, prefixes):
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def package_of(module):
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def lines(path):
    with open(path) as handle:
        return sum(1 for _ in handle)


def parameters(path, function):
    """Positional and keyword parameters of a top-level function, and how many are
    keyword-only."""
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            args = node.args
            return {"parameters": len(args.args) + len(args.kwonlyargs),
                    "keyword_only": len(args.kwonlyargs)}
    return None


def measure():
    modules = module_files(os.path.join(ROOT, "edgec"))
    graph = import_graph(modules)
    per_package = defaultdict(lambda: {"modules": 0, "lines": 0})
    for module, path in modules.items():
        package = package_of(module)
        per_package[package]["modules"] += 1
        per_package[package]["lines"] += lines(path)
    largest = sorted(((lines(p), m) for m, p in modules.items()), reverse=True)[:5]
    upward = sorted((m, t) for m, targets in graph.items() if within(m, DEVICE_HALF)
                    for t in targets if within(t, WORKSTATION))
    upward += sorted((m, t) for m, targets in graph.items() if within(m, STAGES)
                     for t in targets if within(t, ABOVE_STAGES))
    entries = {}
    for label, candidates in ENTRY_POINTS.items():
        for module, function in candidates:
            if module in modules:
                entries[label] = dict(parameters(modules[module], function) or {},
                                      where="%s.%s" % (module, function))
                break
    quant_subpackages = sorted({".".join(m.split(".")[:3]) for m in modules
                                if m.startswith("edgec.quant.") and m.count(".") >= 3})
    return {"packages": dict(sorted(per_package.items())),
            "total_lines": sum(p["lines"] for p in per_package.values()),
            "largest_modules": [{"module": m, "lines": n} for n, m in largest],
            "upward_imports": ["%s -> %s" % pair for pair in upward],
            "entry_points": entries, "quant_subpackages": quant_subpackages}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    record = measure()
    if parser.parse_args().json:
        print(json.dumps(record, indent=1))
        return
    print("%-18s %8s %7s" % ("package", "modules", "lines"))
    for package, row in record["packages"].items():
        print("%-18s %8d %7d" % (package, row["modules"], row["lines"]))
    print("total lines %d" % record["total_lines"])
    print("largest: " + ", ".join("%s %d" % (r["module"], r["lines"])
                                  for r in record["largest_modules"]))
    print("quant sub-packages: %s" % (", ".join(record["quant_subpackages"]) or "none"))
    print("upward imports (device half -> workstation, stages -> pipeline): %d"
          % len(record["upward_imports"]))
    for line in record["upward_imports"]:
        print("  " + line)
    for label, row in record["entry_points"].items():
        print("entry %-24s %2d parameters (%d keyword-only)  %s"
              % (label, row.get("parameters", -1), row.get("keyword_only", 0), row["where"]))


if __name__ == "__main__":
    main()
