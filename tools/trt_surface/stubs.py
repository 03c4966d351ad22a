"""Surfaces from Python source, parsed with `ast` (never imported): the pybind11-stubgen .pyi
stubs of `tensorrt-stubs` (10.13) and the `__init__.py` of a wheel's tensorrt package, which
adds functions and aliases on top of the extension module.

Stub conventions read here: `self` is dropped (not for static methods, but for `__enter__` /
`__exit__`, which stubgen marks static); `@property` and annotated class attributes are
properties; `Name: typing.ClassVar[Enum]` inside the enum Enum is a member, its value in the
`# value = <Enum.NAME: n>` comment on its line; `__members__`'s comment lists the members in
registration order, the order pybind11 keeps (stubgen sorts by name).
"""
import ast
import copy
import glob
import os
import re
import sysconfig
from typing import Dict, List, Optional, Sequence, Set, Tuple, Union

from tools.trt_surface.schema import (ClassEntry, Classes, Functions, Params, add_method,
                                      new_class_entry)

Surface = Tuple[Classes, Functions, Set[str]]  # classes, functions, module attributes
STUB_VALUE = re.compile(r"#\s*value\s*=\s*<[\w.]+:\s*(-?\d+)>\s*$")
STUB_MEMBERS = re.compile(r"#\s*value\s*=\s*(\{.*\})\s*$")
CLASS_VAR = re.compile(r"^(typing\.)?ClassVar\[(.*)\]$")
# `for name, member in Enum.__members__.items(): setattr(Other, name, member)`
MEMBERS_ITEMS = re.compile(r"^([\w.]+)\.__members__\.items\(\)$")
STUBS_REQUIREMENT = "tensorrt-stubs==10.13.0.35.1"


def split_params(text: str) -> List[str]:
    """A parameter list split at its top-level commas (annotations may hold commas)."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return parts


def fix_stub_text(text: str) -> str:
    """pybind11-stubgen output made parseable, line for line: a parameter named `in` becomes
    `in_`, and each def keeps its parameter names only (defaults may be out of order)."""
    lines = []
    for line in text.splitlines():
        if line.lstrip().startswith("def "):
            line = re.sub(r"([(,]\s*)in(\s*[:,)])", r"\1in_\2", line)
            match = re.match(r"^(\s*def \w+\()(.*)(\)\s*(->.*)?:\s*)$", line)
            if match:
                names = [re.split(r"[:=]", p.strip(), 1)[0].strip()
                         for p in split_params(match.group(2))]
                line = match.group(1) + ", ".join(names) + "):"
        lines.append(line)
    return "\n".join(lines)


def func_params(node: Union[ast.FunctionDef, ast.Lambda], drop_first: bool) -> Params:
    args = node.args
    names = [a.arg for a in args.posonlyargs + args.args]
    if drop_first and names:
        names = names[1:]
    if args.vararg:
        names.append("*" + args.vararg.arg)
    names += [a.arg for a in args.kwonlyargs]
    if args.kwarg:
        names.append("**" + args.kwarg.arg)
    return ["in" if n == "in_" else n for n in names]


def _read_def(entry: ClassEntry, node: ast.FunctionDef) -> None:
    decorators = [ast.unparse(d) for d in node.decorator_list]
    if "property" in decorators:
        entry["properties"].add(node.name)
    elif not any(d.endswith(".setter") or d.endswith(".deleter") for d in decorators):
        has_self = "staticmethod" not in decorators or node.name in ("__enter__", "__exit__")
        add_method(entry, node.name, func_params(node, has_self))


def _read_annotated(entry: ClassEntry, class_name: str, name: str, annotation: ast.expr,
                    comment: str) -> None:
    """`name: Type` in a class body: an enum member, a constant or a property."""
    class_var = CLASS_VAR.match(ast.unparse(annotation))
    if not class_var:
        entry["properties"].add(name)
    elif class_var.group(2).split(".")[-1] == class_name:
        entry["enum_members"].append(name)
        value = STUB_VALUE.search(comment)
        if value:  # `# value = <BuilderFlag.WEIGHTLESS: 19>` (an alias shows its canonical name)
            entry["enum_values"][name] = int(value.group(1))
    else:
        entry["attributes"].add(name)


def parse_stub_class(node: ast.ClassDef, prefix: str, classes: Classes,
                     lines: Sequence[str] = ()) -> None:
    """Add the class node (and its nested classes, as "Outer.Inner") to classes; lines are the
    stub's source lines, for the `# value = ...` comments."""
    full = prefix + node.name
    entry = classes.setdefault(full, new_class_entry())
    entry["bases"] = [ast.unparse(b) for b in node.bases]
    registered: Optional[List[str]] = None  # member names in registration order
    for statement in node.body:
        if isinstance(statement, ast.ClassDef):
            parse_stub_class(statement, full + ".", classes, lines)
            entry["attributes"].add(statement.name)
        elif isinstance(statement, ast.FunctionDef):
            _read_def(entry, statement)
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            line = statement.lineno
            comment = lines[line - 1] if 0 < line <= len(lines) else ""
            if statement.target.id != "__members__":
                _read_annotated(entry, node.name, statement.target.id, statement.annotation,
                                comment)
                continue
            members = STUB_MEMBERS.search(comment)
            if members:
                registered = re.findall(r"'(\w+)':", members.group(1))
        elif isinstance(statement, ast.Assign):
            entry["attributes"].update(t.id for t in statement.targets if isinstance(t, ast.Name))
    if registered and set(registered) == set(entry["enum_members"]):
        entry["enum_members"] = registered


def _module_names(statement: ast.stmt) -> List[str]:
    """The names a module-level assignment binds (`__all__` is not API)."""
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, ast.AnnAssign):
        targets = [statement.target]
    else:
        return []
    return [t.id for t in targets if isinstance(t, ast.Name) and t.id != "__all__"]


def parse_stub(text: str) -> Surface:
    text = fix_stub_text(text)  # keeps the lines where they are, for the value comments
    lines = text.splitlines()
    classes: Classes = {}
    functions: Functions = {}
    attributes: Set[str] = set()
    for statement in ast.parse(text).body:
        if isinstance(statement, ast.ClassDef):
            parse_stub_class(statement, "", classes, lines)
        elif isinstance(statement, ast.FunctionDef):
            functions[statement.name] = func_params(statement, False)
        else:
            attributes.update(_module_names(statement))
    return classes, functions, attributes


def installed_stub_file() -> Optional[str]:
    """tensorrt_bindings/tensorrt.pyi of the tensorrt-stubs package in this interpreter."""
    paths = glob.glob(os.path.join(sysconfig.get_paths()["purelib"], "tensorrt_bindings",
                                   "tensorrt.pyi"))
    return paths[0] if paths else None


def installed_stub_surface() -> Surface:
    """The 10.13 surface: the stubs' tensorrt.pyi, plus what the __init__.pyi beside it adds."""
    path = installed_stub_file()
    if path is None:
        raise SystemExit(STUBS_REQUIREMENT + " is not installed in this interpreter")
    with open(path) as f:
        classes, functions, attributes = parse_stub(f.read())
    init = os.path.join(os.path.dirname(path), "__init__.pyi")
    if os.path.exists(init):
        with open(init) as f:
            tree = ast.parse(fix_stub_text(f.read()))
        for statement in tree.body:
            if isinstance(statement, ast.FunctionDef):
                functions.setdefault(statement.name, func_params(statement, False))
            else:
                attributes.update(_module_names(statement))
    return classes, functions, attributes


class _InitPyReader:
    """Reads a wheel's __init__.py into a surface, statement by statement (and into `if`s)."""

    def __init__(self, classes: Classes, functions: Functions, attributes: Set[str]) -> None:
        self.classes, self.functions, self.attributes = classes, functions, attributes
        self.defs: Dict[str, ast.FunctionDef] = {}

    def read(self, body: List[ast.stmt]) -> None:
        for statement in body:
            if isinstance(statement, ast.If):
                self.read(statement.body)
            elif isinstance(statement, ast.FunctionDef):
                self.defs[statement.name] = statement
                if not statement.name.startswith("_"):
                    self.functions[statement.name] = func_params(statement, False)
            elif isinstance(statement, ast.Assign):
                for target in statement.targets:
                    self.assign(target, statement.value)
            elif isinstance(statement, ast.For):
                self.copy_members(statement)

    def assign(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Name):
            # public names; the version is API even though it is a dunder
            name = target.id
            if name == "__version__" or not (name.startswith("_") or name.isupper()):
                self.attributes.add(name)
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                and target.value.id in self.classes:
            self.assign_class_attribute(target.value.id, target.attr, value)

    def assign_class_attribute(self, cls: str, attr: str, value: ast.expr) -> None:
        """`Class.attr = ...`: a method (a module function or a lambda) or an attribute; an
        attribute that is a class (Logger.Severity = ILogger.Severity) is also a nested class."""
        entry = self.classes[cls]
        if isinstance(value, ast.Name) and value.id in self.defs:
            entry["methods"][attr] = func_params(self.defs[value.id], True)
        elif isinstance(value, ast.Lambda):
            entry["methods"][attr] = func_params(value, True)
        else:
            entry["attributes"].add(attr)
            source = ast.unparse(value)
            if source in self.classes:
                self.classes.setdefault(cls + "." + attr, copy.deepcopy(self.classes[source]))

    def copy_members(self, loop: ast.For) -> None:
        """`for name, member in Enum.__members__.items(): setattr(Other, name, member)`."""
        members_of = MEMBERS_ITEMS.match(ast.unparse(loop.iter))
        call = loop.body[0] if loop.body else None
        if not (members_of and members_of.group(1) in self.classes and isinstance(call, ast.Expr)
                and isinstance(call.value, ast.Call)
                and ast.unparse(call.value.func) == "setattr" and call.value.args):
            return
        target = ast.unparse(call.value.args[0])
        if target in self.classes:
            members = self.classes[members_of.group(1)]["enum_members"]
            self.classes[target]["attributes"].update(members)


def apply_init_py(text: str, classes: Classes, functions: Functions, attributes: Set[str]) -> None:
    """Add what a wheel's tensorrt/__init__.py adds on top of the extension module."""
    _InitPyReader(classes, functions, attributes).read(ast.parse(text).body)
