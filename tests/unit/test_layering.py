"""The package is a picture of the pipeline: lower layers never import upper ones.

- The device half (the contract, the runtime, the Jetson modules) imports none of the
  workstation packages: a Jetson runs it with numpy, click and TensorRT alone.
- The workstation stages import no pipeline, command or fleet code: the pipeline composes them.
- quant's packages are in pipeline order and each imports only those before it.

Edges are every import of an edgec module anywhere in a file, as the import-cycle test reads
them (function-level imports included): an upward import fails here as a cycle fails there.
"""
from import_graph import import_graph, module_files

BASE = ("edgec.errors", "edgec.fileio", "edgec.tables", "edgec.versions",
        "edgec.progress")
DEVICE_HALF = ("edgec.artifacts", "edgec.settings", "edgec.fingerprints", "edgec.runtime",
               "edgec.jetson")
WORKSTATION = ("edgec.pipeline", "edgec.quant", "edgec.exporter", "edgec.models", "edgec.calib",
               "edgec.distill", "edgec.fleet", "edgec.latency", "edgec.check", "edgec.commands",
               "edgec.cli")
STAGES = ("edgec.quant", "edgec.exporter", "edgec.models", "edgec.calib", "edgec.distill",
          "edgec.latency", "edgec.check")
ABOVE_STAGES = ("edgec.pipeline", "edgec.commands", "edgec.cli", "edgec.fleet")
QUANT_ORDER = ("edgec.quant.quality", "edgec.quant.calibration", "edgec.quant.qdq",
               "edgec.quant.evaluator", "edgec.quant.quantize", "edgec.quant.search")


def within(module, prefixes):
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def offending(graph, lower, upper):
    """'a -> b' for every module of `lower` importing a module of `upper`."""
    return sorted("%s -> %s" % (module, target) for module, targets in graph.items()
                  if within(module, lower) for target in targets if within(target, upper))


def quant_rank(module):
    for rank, prefix in enumerate(QUANT_ORDER):
        if within(module, (prefix,)):
            return rank
    return None


def quant_upward(graph):
    found = []
    for module, targets in graph.items():
        rank = quant_rank(module)
        if rank is None:
            continue
        found += ["%s -> %s" % (module, t) for t in targets
                  if quant_rank(t) is not None and quant_rank(t) > rank]
    return sorted(found)


def test_the_rules_catch_an_upward_import(tmp_path):
    """The checks on a small package of the same shape: each rule fires on its edge."""
    package = tmp_path / "edgec"
    for folder in ("runtime", "quant", "quant/quality", "quant/search", "pipeline"):
        (package / folder).mkdir(parents=True)
        (package / folder / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "runtime" / "bench.py").write_text("def f():\n    import edgec.pipeline.jobs\n")
    (package / "pipeline" / "jobs.py").write_text("")
    (package / "quant" / "quality" / "metrics.py").write_text(
        "from edgec.quant.search import sweep\n")
    (package / "quant" / "search" / "sweep.py").write_text(
        "from edgec.quant.quality import metrics\nimport edgec.pipeline.jobs\n")
    graph = import_graph(module_files(str(package)))
    assert offending(graph, DEVICE_HALF, WORKSTATION) == ["edgec.runtime.bench -> "
                                                          "edgec.pipeline.jobs"]
    assert offending(graph, STAGES, ABOVE_STAGES) == ["edgec.quant.search.sweep -> "
                                                      "edgec.pipeline.jobs"]
    assert quant_upward(graph) == ["edgec.quant.quality.metrics -> edgec.quant.search.sweep"]


def test_every_quant_module_has_a_place_in_the_order():
    quant = [m for m in module_files() if m.startswith("edgec.quant.")]
    assert quant and [m for m in quant if quant_rank(m) is None] == []


def test_the_device_half_imports_no_workstation_package():
    found = offending(import_graph(module_files()), DEVICE_HALF + BASE, WORKSTATION)
    assert not found, "device half importing workstation code:\n" + "\n".join(found)


def test_workstation_stages_import_no_pipeline_or_command():
    found = offending(import_graph(module_files()), STAGES, ABOVE_STAGES)
    assert not found, "stages importing what composes them:\n" + "\n".join(found)


def test_quant_packages_import_only_those_before_them():
    found = quant_upward(import_graph(module_files()))
    assert not found, "quant importing upwards:\n" + "\n".join(found)
