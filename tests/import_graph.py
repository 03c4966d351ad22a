"""The import graph of the edgec package, for the import-cycle and layering tests and
benchmarks/tree_shape.py.

The graph has an edge for every import of an edgec module anywhere in a file: at module level,
inside functions (lazy imports hide cycles but do not remove them), and
importlib.import_module("edgec...") with a literal name. `from package import name` points at
package.name when that is a module, else at the package. Importing a submodule also runs its
parent packages' __init__; those implied edges are left out (every package would be a cycle
with the submodules its __init__ re-exports).
"""
import ast
import os
from typing import Dict, List, Set

import edgec

PACKAGE_DIR = os.path.dirname(edgec.__file__)


def module_files(package_dir: str = PACKAGE_DIR) -> Dict[str, str]:
    """Dotted module name -> file, for every .py under the package."""
    root = os.path.dirname(package_dir)
    modules = {}
    for folder, _, files in os.walk(package_dir):
        for filename in files:
            if filename.endswith(".py"):
                path = os.path.join(folder, filename)
                parts = os.path.relpath(path, root)[:-len(".py")].split(os.sep)
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                modules[".".join(parts)] = path
    return modules


def _imported_modules(tree: ast.AST, module: str, is_package: bool, known: Set[str]
                      ) -> Set[str]:
    """The modules of `known` that the imports anywhere in `tree` name."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[:len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            # `from a import b`: the module a.b where there is one, else a (b is defined in a).
            names += ["%s.%s" % (base, alias.name) if "%s.%s" % (base, alias.name) in known
                      else base for alias in node.names]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            names.append(node.args[0].value)
    found = set()
    for name in names:
        # The longest known module the name starts with (`import a.b.c` of a module a.b.c).
        parts = name.split(".")
        while parts and ".".join(parts) not in known:
            parts.pop()
        if parts:
            found.add(".".join(parts))
    return found - {module}


def import_graph(modules: Dict[str, str]) -> Dict[str, Set[str]]:
    """Module -> the package modules it imports."""
    graph = {}
    for module, path in modules.items():
        with open(path) as handle:
            tree = ast.parse(handle.read(), path)
        graph[module] = _imported_modules(tree, module, path.endswith("__init__.py"),
                                          set(modules))
    return graph


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components with more than one module (Tarjan), sorted."""
    index = {}  # type: Dict[str, int]
    low = {}  # type: Dict[str, int]
    stack, on_stack, found = [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)
