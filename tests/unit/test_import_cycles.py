"""No import cycles in the edgec package (the graph: tests/import_graph.py)."""
from import_graph import cycles, import_graph, module_files


def test_the_graph_sees_function_level_and_importlib_imports(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("from pkg.a import thing\n")
    (package / "a.py").write_text("def thing():\n    from pkg import b\n")
    (package / "b.py").write_text("import importlib\nimportlib.import_module('pkg.c')\n")
    (package / "c.py").write_text("from .a import thing\n")
    graph = import_graph(module_files(str(package)))
    assert graph == {"pkg": {"pkg.a"}, "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.c"},
                     "pkg.c": {"pkg.a"}}
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_no_import_cycles_in_edgec():
    found = cycles(import_graph(module_files()))
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_models_do_not_import_the_exporter():
    graph = import_graph(module_files())
    offending = {m: sorted(t for t in targets if t.startswith("edgec.exporter"))
                 for m, targets in graph.items() if m.startswith("edgec.models")}
    assert not any(offending.values()), offending
