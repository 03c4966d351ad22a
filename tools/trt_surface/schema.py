"""The surface files' format: the working form every reader fills in, and the JSON written.

Working form: {class name: entry}, entry as new_class_entry makes it (properties and attributes
as sets, since readers add to them from several places). Written form, one JSON object per
version (one class per line, so that diffs between regenerations read well):

  {"version", "source", "module_attributes": [...], "functions": {name: [params]},
   "classes": {Name: {"methods": {name: [params without self]},
     "overloads": {name: [[...], ...]} (only when several signatures), "properties": [...],
     "attributes": [...] (class-level constants / nested classes), "bases": [...],
     "enum_members": [...] (enums only; pybind11 enum boilerplate methods are omitted; in value
     order, so a member's index is its value, where every member's value is known),
     "enum_values": {member: value} (only where the values are not exactly 0, 1, 2, ...: gaps,
     flag-like values, aliases)}}}

Nested classes are keyed "Outer.Inner" (e.g. "ILogger.Severity").
"""
import copy
import json
import sys
from typing import Any, Dict, Iterable, List

Params = List[str]
ClassEntry = Dict[str, Any]
Classes = Dict[str, ClassEntry]
Functions = Dict[str, Params]


def new_class_entry() -> ClassEntry:
    return {"methods": {}, "overloads": {}, "properties": set(), "attributes": set(),
            "enum_members": [], "enum_values": {}, "bases": []}


def copy_classes(classes: Classes) -> Classes:
    """An independent copy, so that deriving one version from another leaves the base as it
    was (8.5 from 8.6, 8.2 from 8.4, Logger.Severity from ILogger.Severity)."""
    return copy.deepcopy(classes)


def _finalize_enum(name: str, entry: ClassEntry) -> Dict[str, Any]:
    members = list(entry["enum_members"])
    values = entry.get("enum_values") or {}
    written: Dict[str, Any] = {"enum_members": members}
    if not all(m in values for m in members):
        print("warning: %s: no value for %s; members left in registration order" % (
            name, ", ".join(m for m in members if m not in values)), file=sys.stderr)
        return written
    # value order (stable: aliases keep their registration order), so index == value
    members.sort(key=lambda m: values[m])
    if [values[m] for m in members] != list(range(len(members))):
        written["enum_values"] = {m: values[m] for m in members}
    return written


def _finalize_class(entry: ClassEntry) -> Dict[str, Any]:
    methods = entry["methods"]
    written: Dict[str, Any] = {"methods": {k: methods[k] for k in sorted(methods)}}
    overloads = {k: v for k, v in entry["overloads"].items() if len(v) > 1 and k in methods}
    if overloads:
        written["overloads"] = {k: overloads[k] for k in sorted(overloads)}
    written["properties"] = sorted(set(entry["properties"]))
    return written


def finalize_classes(classes: Classes) -> Dict[str, Dict[str, Any]]:
    """The written form of every class, sorted by name. An enum is written as its members
    (and values); its pybind11 methods and properties are boilerplate, left out."""
    written = {}
    for name in sorted(classes):
        entry = classes[name]
        body = _finalize_enum(name, entry) if entry["enum_members"] else _finalize_class(entry)
        attributes = set(entry["attributes"]) - set(entry["enum_members"])
        if attributes:
            body["attributes"] = sorted(attributes)
        bases = [b for b in entry.get("bases") or () if b != "object"]
        if bases:
            body["bases"] = bases
        written[name] = body
    return written


def render_surface(version: str, source: str, classes: Classes, functions: Functions,
                   module_attributes: Iterable[str]) -> str:
    lines = ["{", '"version": %s,' % json.dumps(version), '"source": %s,' % json.dumps(source),
             '"module_attributes": %s,' % json.dumps(sorted(module_attributes)),
             '"functions": %s,' % json.dumps({k: functions[k] for k in sorted(functions)}),
             '"classes": {']
    lines.append(",\n".join(json.dumps(name) + ": " + json.dumps(body, sort_keys=True)
                            for name, body in finalize_classes(classes).items()))
    lines.append("}}")
    return "\n".join(lines) + "\n"


def write_surface(path: str, version: str, source: str, classes: Classes, functions: Functions,
                  module_attributes: Iterable[str]) -> None:
    text = render_surface(version, source, classes, functions, module_attributes)
    with open(path, "w") as f:
        f.write(text)


def _values(body: Dict[str, Any]) -> Dict[str, int]:
    members = body.get("enum_members", ())
    return body.get("enum_values") or {m: i for i, m in enumerate(members)}


def _signatures(body: Dict[str, Any], method: str) -> List[tuple]:
    return sorted(map(tuple, body.get("overloads", {}).get(method, [body["methods"][method]])))


def surface_differences(reference: Dict[str, Any], other: Dict[str, Any]) -> List[str]:
    """Differences between two written class maps (finalize_classes), as text lines: what
    other misses or adds, enum values and parameter lists that differ."""
    lines = []
    for cls in sorted(set(reference) | set(other)):
        if cls not in other:
            lines.append("missing class " + cls)
            continue
        if cls not in reference:
            lines.append("extra class " + cls)
            continue
        ours, theirs = reference[cls], other[cls]
        for key in ("methods", "properties", "enum_members"):
            names, other_names = set(ours.get(key, ())), set(theirs.get(key, ()))
            lines += ["missing %s %s.%s" % (key, cls, n) for n in sorted(names - other_names)]
            lines += ["extra %s %s.%s" % (key, cls, n) for n in sorted(other_names - names)]
        values, other_values = _values(ours), _values(theirs)
        for member in sorted(set(values) & set(other_values)):
            if values[member] != other_values[member]:
                lines.append("value %s.%s: %s vs %s" % (
                    cls, member, values[member], other_values[member]))
        for method in sorted(set(ours.get("methods", {})) & set(theirs.get("methods", {}))):
            signatures, other_signatures = _signatures(ours, method), _signatures(theirs, method)
            if signatures != other_signatures:
                lines.append("params %s.%s: %s vs %s" % (
                    cls, method, signatures, other_signatures))
    return lines


def add_method(entry: ClassEntry, name: str, params: Params) -> None:
    """A method of a class entry; a second signature of the same name becomes an overload."""
    if name in entry["methods"]:
        overloads = entry["overloads"].setdefault(name, [entry["methods"][name]])
        if params not in overloads:
            overloads.append(params)
    else:
        entry["methods"][name] = params
