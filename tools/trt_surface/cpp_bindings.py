"""The API that pybind11 binding sources (NVIDIA/TensorRT python/src/**.cpp) declare, read from
the C++ text: enough to tell two tags apart, for the versions that have no readable wheel.

Recognised: `py::class_<...>(scope, "Name", ...)` and `py::enum_<...>(scope, "Name", ...)`
(held in a variable or not; a scope that is a class variable makes "Outer.Inner"), the
`.def(...)`, `.def_static(...)`, `.def_property*(...)`, `.def_read*(...)` and `.value(...)`
calls chained after them or on their variable, `py::init<...>(...)` as `__init__`, parameter
names from `"x"_a` / `py::arg("x")`, and module functions `m.def("name", ...)`. Of overloaded
methods the first signature is kept; the deltas only compare names and first signatures.
"""
import re
from typing import Any, Dict, List, Tuple

from tools.trt_surface.schema import Functions, Params

BindingClass = Dict[str, Any]  # {"methods": {name: params}, "properties", "enum_members", "where"}
DEF_CALL = re.compile(r"\s*\.\s*(def|def_static|def_property|def_property_readonly|def_readwrite|"
                      r"def_readonly|def_property_static|def_property_readonly_static|"
                      r"def_readonly_static|value)\s*\(")
CLASS_TEMPLATE = re.compile(r"py::(class_|enum_)\s*<")
QUOTED_NAME = re.compile(r'^"\w+"$')
RAW_STRING = re.compile(r'R"(\w*)\((.*?)\)\1"', flags=re.S)


def string_end(text: str, start: int) -> int:
    """Index just past the string literal whose opening quote is at text[start]."""
    k = start + 1
    while k < len(text) and text[k] != '"':
        k += 2 if text[k] == "\\" else 1
    return k + 1


def bracket_end(text: str, start: int, open_char: str, close_char: str) -> int:
    """Index just past the bracket that closes the one at text[start] (strings skipped)."""
    depth = 0
    j = start
    while j < len(text):
        char = text[j]
        if char == '"':
            j = string_end(text, j)
            continue
        if char == open_char:
            depth += 1
        elif char == close_char:
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return len(text)


def strip_comments(text: str) -> str:
    """C++ source without comments; raw strings become "" and character literals ' ', so that
    brackets and quotes inside them do not count."""
    text = RAW_STRING.sub('""', text)
    out, i = [], 0
    while i < len(text):
        if text.startswith("//", i):
            i = text.find("\n", i)
            i = len(text) if i < 0 else i
        elif text.startswith("/*", i):
            i = text.find("*/", i) + 2
        elif text[i] == '"':
            j = string_end(text, i)
            out.append(text[i:j])
            i = j
        elif text[i] == "'":
            j = text.find("'", i + 1 + (text[i + 1] == "\\"))
            out.append("' '")
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def split_top_level(text: str, separator: str = ",") -> List[str]:
    """text split at separators outside brackets and strings; `<` counts as a bracket only
    after a name (a template), not as less-than."""
    parts, depth, current, i = [], 0, "", 0
    while i < len(text):
        char = text[i]
        if char == '"':
            j = string_end(text, i)
            current += text[i:j]
            i = j
            continue
        if char in "([{<":
            depth += 1 if char != "<" or re.match(r"[\w:]", text[i - 1:i] or " ") else 0
        elif char in ")]}>":
            depth -= 1 if char != ">" or depth > 0 else 0
        if char == separator and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
        i += 1
    if current.strip():
        parts.append(current.strip())
    return parts


def arg_names(args: List[str]) -> Params:
    """The parameter names among a def's arguments: "x"_a and py::arg("x")."""
    names = []
    for arg in args:
        match = re.match(r'^"(\w+)"_a\b', arg) or re.match(r'^py::arg\("(\w+)"\)', arg)
        if match:
            names.append(match.group(1))
    return names


def parse_def_chain(text: str, i: int, entry: BindingClass) -> None:
    """Read the `.def(...)...` calls that follow position i, up to the end of the statement."""
    while True:
        call = DEF_CALL.match(text, i)
        if not call:
            return
        close = bracket_end(text, call.end() - 1, "(", ")")
        args = split_top_level(text[call.end():close - 1])
        kind = call.group(1)
        i = close
        if not args:
            continue
        first = args[0]
        if kind == "value":
            if QUOTED_NAME.match(first):
                entry["enum_members"].append(first.strip('"'))
        elif kind.startswith("def_prop") or kind.startswith("def_read"):
            if QUOTED_NAME.match(first):
                entry["properties"].append(first.strip('"'))
        elif first.startswith("py::init"):
            entry["methods"].setdefault("__init__", arg_names(args[1:]))
        elif QUOTED_NAME.match(first):
            entry["methods"].setdefault(first.strip('"'), arg_names(args[1:]))


def _read_classes(path: str, text: str, classes: Dict[str, BindingClass]) -> Dict[str, str]:
    """Add the py::class_ / py::enum_ definitions in text (with their chained calls) to
    classes; returns {variable: class} for the ones held in variables."""
    class_of_variable: Dict[str, str] = {}
    for template in CLASS_TEMPLATE.finditer(text):
        template_end = bracket_end(text, template.end() - 1, "<", ">")
        opening = re.match(r"\s*(\w+)?\s*([({])", text[template_end:])
        if not opening:
            continue
        variable = opening.group(1)  # py::class_<T> variable(scope, "Name")
        open_at = template_end + opening.start(2)
        close_at = bracket_end(text, open_at, opening.group(2),
                               ")" if opening.group(2) == "(" else "}")
        args = split_top_level(text[open_at + 1:close_at - 1])
        if len(args) < 2 or not QUOTED_NAME.match(args[1]):
            continue
        name = args[1].strip('"')
        scope = args[0]
        if scope in class_of_variable:
            name = class_of_variable[scope] + "." + name
        classes.setdefault(name, {"methods": {}, "properties": [], "enum_members": [],
                                  "where": path})
        # auto variable = py::class_<T>(...)
        before = text[max(0, template.start() - 40):template.start()]
        assigned = re.search(r"(?:auto|py::\w+<[^;]*>)?\s*(\w+)\s*=\s*$", before)
        if variable:
            class_of_variable[variable] = name
        elif assigned:
            class_of_variable[assigned.group(1)] = name
        parse_def_chain(text, close_at, classes[name])
    return class_of_variable


def parse_binding_sources(files: List[Tuple[str, str]]) -> Tuple[Dict[str, BindingClass],
                                                                 Functions]:
    """Classes and module functions that the (path, text) binding sources declare."""
    classes: Dict[str, BindingClass] = {}
    functions: Functions = {}
    for path, text in files:
        text = strip_comments(text)
        class_of_variable = _read_classes(path, text, classes)
        # statements on a class variable: `variable.def(...)...;`
        for variable, name in list(class_of_variable.items()):
            pattern = r"(?<![\w.])" + re.escape(variable) + r"\s*(?=\.\s*(def|value))"
            for statement in re.finditer(pattern, text):
                parse_def_chain(text, statement.end(), classes[name])
        for call in re.finditer(r"(?<![\w.])m\s*\.\s*def\s*\(", text):
            close = bracket_end(text, call.end() - 1, "(", ")")
            args = split_top_level(text[call.end():close - 1])
            if args and QUOTED_NAME.match(args[0]):
                functions[args[0].strip('"')] = arg_names(args[1:])
    return classes, functions
